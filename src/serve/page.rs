//! The workshop page: every lab rendered by the book's renderer (one renderer
//! for the book and the browser), turned into HTML, beside the terminal pane.

use std::path::Path;

use pulldown_cmark::{Options, Parser, html};

use crate::diag::Diagnostic;
use crate::lab::Workshop as LoadedWorkshop;
use crate::mdbook::render::render_chapter;
use crate::vars::Sources;

/// The whole page, or the diagnostics of a lab that cannot be rendered.
pub(crate) fn render(
    workshops: &[LoadedWorkshop],
    sources: &Sources,
    terminals: &[u32],
) -> Result<String, Vec<Diagnostic>> {
    let mut labs = String::new();
    let mut title = None;
    let mut index = 0;
    for w in workshops {
        let mut sources = sources.clone();
        sources.book = w.book_vars.clone();
        for lab in &w.labs {
            title.get_or_insert_with(|| lab.title.clone());
            let markdown = render_chapter(&lab.source, &lab.path, &sources)?;
            labs.push_str(&format!(
                "<section class=\"lab\" data-lab=\"{index}\" id=\"lab-{index}\">\n<div class=\"lab-progress\"><div class=\"bar\"><span></span></div><span class=\"count\"></span></div>\n{}\n</section>\n",
                to_html(&markdown)
            ));
            index += 1;
        }
    }
    let tabs: String = terminals
        .iter()
        .map(|n| {
            format!(
                "<button class=\"tab\" role=\"tab\" data-tab=\"{n}\">Terminal {n}<span class=\"tab-state\"></span></button>"
            )
        })
        .collect();
    let panes: String = terminals
        .iter()
        .map(|n| {
            format!(
                "<div class=\"terminal\" data-terminal=\"{n}\" tabindex=\"0\" aria-label=\"Terminal {n}\"><pre class=\"screen\"></pre><div class=\"exited\" hidden><p>The shell of terminal {n} exited.</p><button data-action=\"new-shell\" data-terminal-restart=\"{n}\">New shell</button></div></div>"
            )
        })
        .collect();
    Ok(PAGE
        .replace("{{title}}", &escape(title.as_deref().unwrap_or("Workshop")))
        .replace("{{labs}}", &labs)
        .replace("{{tabs}}", &tabs)
        .replace("{{panes}}", &panes))
}

const PAGE: &str = include_str!("assets/page.html");

fn to_html(markdown: &str) -> String {
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut out = String::with_capacity(markdown.len() * 2);
    html::push_html(&mut out, Parser::new_ext(markdown, opts));
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A file next to the labs (images), or None when `rel` is not one to serve:
/// outside the folder, hidden, or a markdown page.
pub(crate) fn workshop_file(root: &Path, rel: &str) -> Option<std::path::PathBuf> {
    let rel = Path::new(rel);
    let safe = rel.components().all(|c| match c {
        std::path::Component::Normal(s) => !s.to_string_lossy().starts_with('.'),
        _ => false,
    });
    let is_page = rel.extension().is_some_and(|e| e == "md");
    (safe && !is_page).then(|| root.join(rel))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_inside_the_folder() {
        let root = Path::new("/w");
        assert_eq!(
            workshop_file(root, "images/a.svg"),
            Some("/w/images/a.svg".into())
        );
        assert_eq!(workshop_file(root, "../etc/passwd"), None);
        assert_eq!(workshop_file(root, ".labctl-progress.json"), None);
        assert_eq!(workshop_file(root, "lab.md"), None);
    }
}
