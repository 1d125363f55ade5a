//! `labctl mdbook`: mdBook 0.5's preprocessor protocol. mdBook asks
//! `labctl mdbook supports RENDERER`, then pipes `[context, book]` JSON in and
//! reads the book back; each chapter goes through [`render::render_chapter`].

pub(crate) mod plain_english;
pub(crate) mod render;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;

use mdbook_preprocessor::PreprocessorContext;
use mdbook_preprocessor::book::{Book, BookItem};

use crate::diag::{self, Diagnostic};
use crate::exit_code::Exit;
use crate::vars::{Sources, Vars};

pub(crate) use render::render_chapter;

/// Why the book could not be preprocessed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BookError {
    /// mdBook's input was not what the protocol promises.
    #[error("could not read the book from mdBook on stdin: {0}")]
    Input(String),
    /// `[preprocessor.labctl.vars]` is not a table of plain values.
    #[error("`[preprocessor.labctl.vars]` in book.toml: {0}")]
    Vars(String),
    /// Some pages have errors; the diagnostics say where.
    #[error(
        "{count} error(s) in the book's pages; fix them (`labctl lint` shows the same) and build again"
    )]
    Pages {
        /// Every error, in chapter order.
        diagnostics: Vec<Diagnostic>,
        count: usize,
    },
    /// Writing the book back failed.
    #[error("could not write the book to stdout: {0}")]
    Output(String),
}

/// Runs the preprocessor with the words after `labctl mdbook`; `color` is
/// decided at the edge, as for every command.
pub(crate) fn run(args: &[String], color: bool) -> Exit {
    match args {
        [] => {}
        [cmd, renderer] if cmd == "supports" => {
            // Only HTML has the CSS and the copy buttons the rendering relies on.
            return if renderer == "html" {
                Exit::Success
            } else {
                Exit::Failed
            };
        }
        _ => {
            eprintln!(
                "error: `labctl mdbook` takes no arguments but `supports RENDERER`; mdBook runs it (see book.toml)"
            );
            return Exit::BadInput;
        }
    }
    match preprocess_stdio() {
        Ok(()) => Exit::Success,
        Err(BookError::Pages { diagnostics, count }) => {
            eprint!("{}", diag::render(&diagnostics, color));
            eprintln!(
                "error: {}",
                BookError::Pages {
                    diagnostics: Vec::new(),
                    count
                }
            );
            Exit::BadInput
        }
        Err(e) => {
            eprintln!("error: {e}");
            Exit::BadInput
        }
    }
}

fn preprocess_stdio() -> Result<(), BookError> {
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .map_err(|e| BookError::Input(e.to_string()))?;
    let (ctx, book) = mdbook_preprocessor::parse_input(input.as_slice())
        .map_err(|e| BookError::Input(format!("{e:#}")))?;
    let book = preprocess(&ctx, book, &Sources::env_vars())?;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, &book).map_err(|e| BookError::Output(e.to_string()))?;
    out.flush().map_err(|e| BookError::Output(e.to_string()))
}

/// Renders every chapter of `book`; `env` holds `LABCTL_VAR_*` values.
pub(crate) fn preprocess(
    ctx: &PreprocessorContext,
    mut book: Book,
    env: &Vars,
) -> Result<Book, BookError> {
    let sources = Sources {
        env: env.clone(),
        book: book_vars(ctx)?,
        ..Sources::default()
    };
    let src_dir: PathBuf = ctx.config.book.src.clone();
    let mut diagnostics = Vec::new();
    book.for_each_mut(|item| {
        let BookItem::Chapter(ch) = item else { return };
        let Some(source) = &ch.source_path else {
            return;
        };
        let path = src_dir.join(source);
        match render_chapter(&ch.content, &path, &sources) {
            Ok(rendered) => ch.content = rendered,
            Err(d) => diagnostics.extend(d),
        }
    });
    if diagnostics.is_empty() {
        Ok(book)
    } else {
        Err(BookError::Pages {
            count: diagnostics.len(),
            diagnostics,
        })
    }
}

/// `[preprocessor.labctl.vars]`: the values students see in the rendered book.
fn book_vars(ctx: &PreprocessorContext) -> Result<Vars, BookError> {
    let table: Option<BTreeMap<String, serde_json::Value>> = ctx
        .config
        .get("preprocessor.labctl.vars")
        .map_err(|e| BookError::Vars(format!("{e:#}")))?;
    table
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => Ok((k, s)),
            serde_json::Value::Number(n) => Ok((k, n.to_string())),
            serde_json::Value::Bool(b) => Ok((k, b.to_string())),
            other => Err(BookError::Vars(format!(
                "`{k}` must be a string, found `{other}`"
            ))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mdbook_preprocessor::book::Chapter;
    use mdbook_preprocessor::config::Config;

    fn ctx(toml: &str) -> PreprocessorContext {
        let config: Config = toml.parse().expect("config");
        PreprocessorContext::new(PathBuf::from("."), config, "html".into())
    }

    #[test]
    fn fills_book_vars_and_env_wins() {
        let c = ctx("[book]\nsrc = \"labs\"\n[preprocessor.labctl.vars]\nusername = \"user1\"\n");
        let mut book = Book::new();
        book.push_item(Chapter::new(
            "Lab",
            "```execute\necho %username%\n```\n".into(),
            "lab.md",
            vec![],
        ));
        let out = preprocess(&c, book.clone(), &Vars::new()).unwrap();
        let BookItem::Chapter(ch) = &out.items[0] else {
            panic!()
        };
        assert!(ch.content.contains("echo user1"), "{}", ch.content);
        let env = Vars::from([("username".to_string(), "alice".to_string())]);
        let out = preprocess(&c, book, &env).unwrap();
        let BookItem::Chapter(ch) = &out.items[0] else {
            panic!()
        };
        assert!(ch.content.contains("echo alice"), "{}", ch.content);
    }

    #[test]
    fn page_errors_name_the_file_under_src() {
        let c = ctx("[book]\nsrc = \"labs\"\n");
        let mut book = Book::new();
        book.push_item(Chapter::new(
            "Bad",
            "```execute\nls\n".into(),
            "bad.md",
            vec![],
        ));
        match preprocess(&c, book, &Vars::new()) {
            Err(BookError::Pages { diagnostics, count }) => {
                assert_eq!(count, 1);
                assert_eq!(diagnostics[0].path, PathBuf::from("labs/bad.md"));
                assert_eq!(diagnostics[0].code, "unclosed-fence");
            }
            other => panic!("{other:?}"),
        }
    }
}
