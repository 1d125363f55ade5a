//! `labctl mdbook` speaks mdBook's preprocessor protocol: `[context, book]` JSON on
//! stdin, the book on stdout. Runs the real binary without needing mdbook itself.

use std::path::PathBuf;
use std::process::Output;

use mdbook_preprocessor::PreprocessorContext;
use mdbook_preprocessor::book::{Book, BookItem, Chapter};
use mdbook_preprocessor::config::Config;

use crate::support::labctl::Labctl;

fn preprocess(config: &str, chapters: &[(&str, &str)]) -> Output {
    let config: Config = config.parse().expect("config");
    let ctx = PreprocessorContext::new(PathBuf::from("."), config, "html".into());
    let mut book = Book::new();
    for (path, content) in chapters {
        book.push_item(Chapter::new(path, content.to_string(), *path, vec![]));
    }
    let input = serde_json::to_vec(&(ctx, book)).unwrap();
    Labctl::new(&["mdbook"]).stdin_bytes(&input).output()
}

fn contents(out: &Output) -> Vec<String> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let book: Book = serde_json::from_slice(&out.stdout).expect("a book on stdout");
    book.items
        .into_iter()
        .filter_map(|i| match i {
            BookItem::Chapter(c) => Some(c.content),
            _ => None,
        })
        .collect()
}

#[test]
fn renders_every_chapter_with_the_book_vars() {
    let out = preprocess(
        "[book]\nsrc = \"labs\"\n[preprocessor.labctl.vars]\nusername = \"user7\"\n",
        &[
            ("one.md", "# One\n\n```execute\necho %username%\n```\n"),
            ("two.md", "# Two\n\nJust prose with `code`.\n"),
        ],
    );
    let pages = contents(&out);
    assert!(
        pages[0].contains("```bash\necho user7\n```"),
        "{}",
        pages[0]
    );
    assert!(pages[0].contains(">Terminal 1</div>"), "{}", pages[0]);
    assert_eq!(pages[1], "# Two\n\nJust prose with `code`.\n");
}

#[test]
fn an_error_exits_2_with_the_diagnostic() {
    let out = preprocess(
        "[book]\nsrc = \"labs\"\n",
        &[("bad.md", "# Bad\n\n```execute\nls\n")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error[unclosed-fence]"), "{stderr}");
    assert!(stderr.contains("--> labs/bad.md:3:1"), "{stderr}");
}

#[test]
fn garbage_input_is_a_clear_error() {
    Labctl::new(&["mdbook"])
        .stdin("not json")
        .run()
        .code(2)
        .stderr_has("could not read the book from mdBook");
}
