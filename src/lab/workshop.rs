//! Workshops: which pages a folder holds and in what order (mdBook SUMMARY.md,
//! Homeroom/Educates workshop.yaml, Educates Hugo pathways or weights, else natural order).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pulldown_cmark::{Event, Parser, Tag};
use serde_json::Value;

use super::front_matter;
use super::model::Workshop;
use super::parse::{ParseOptions, parse_lab};
use crate::diag::{Code, Diagnostic, Severity};

/// A loaded workshop and what was found wrong with its pages.
pub(crate) struct Loaded {
    /// The labs that could be read, in run order (a page with errors is still here).
    pub workshop: Workshop,
    /// Diagnostics from every page.
    pub diagnostics: Vec<Diagnostic>,
}

/// The pages of a path in run order (with titles the ordering file gives), the
/// book's variables, and what was wrong with the path itself.
pub(crate) fn pages(
    path: &Path,
) -> (
    Vec<(PathBuf, Option<String>)>,
    BTreeMap<String, String>,
    Vec<Diagnostic>,
) {
    match std::fs::metadata(path) {
        Err(e) => {
            let d = Diagnostic::file(
                path,
                Severity::Error,
                Code::UnreadablePath,
                format!("cannot read {}: {e}", path.display()),
            )
            .with_help("give a lab file (.md) or a workshop folder");
            (Vec::new(), BTreeMap::new(), vec![d])
        }
        Ok(m) if m.is_file() && is_markdown(path) => (
            vec![(path.to_path_buf(), None)],
            vars_of(book_holding(path)),
            Vec::new(),
        ),
        Ok(m) if !m.is_dir() => {
            let what = if m.is_file() {
                "is not a markdown page"
            } else {
                "is neither a file nor a folder"
            };
            let d = Diagnostic::file(
                path,
                Severity::Error,
                Code::NoLabs,
                format!("no labs found: {} {what}", path.display()),
            )
            .with_help("give a lab file (.md) or a workshop folder");
            (Vec::new(), BTreeMap::new(), vec![d])
        }
        Ok(_) => {
            let mut diags = book_toml_errors(path);
            let files = match order(path) {
                Ok(files) => files,
                Err(d) => {
                    diags.push(d);
                    Vec::new()
                }
            };
            if files.is_empty() && diags.is_empty() {
                diags.push(
                    Diagnostic::file(
                        path,
                        Severity::Error,
                        Code::NoLabs,
                        format!("no labs found in {}", path.display()),
                    )
                    .with_help("a workshop folder holds lab pages (.md), a SUMMARY.md or a workshop/ folder"),
                );
            }
            (files, book_toml_vars(path), diags)
        }
    }
}

fn is_markdown(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("md") || e.eq_ignore_ascii_case("markdown"))
}

/// A book.toml in the folder (or the one above it, whose `src` it may be)
/// that does not parse: labctl would silently lose its order and variables.
fn book_toml_errors(dir: &Path) -> Vec<Diagnostic> {
    let above = dir
        .canonicalize()
        .ok()
        .and_then(|c| c.parent().map(|p| p.join("book.toml")));
    let mut out = Vec::new();
    for file in std::iter::once(dir.join("book.toml")).chain(above) {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        if let Err(e) = toml::from_str::<toml::Value>(&text) {
            let at = e.span().map(|r| r.start).unwrap_or(0).min(text.len());
            let line = text[..at].matches('\n').count() + 1;
            let col = text[..at].rfind('\n').map(|i| at - i).unwrap_or(at + 1);
            out.push(
                Diagnostic::file(
                    &file,
                    Severity::Error,
                    Code::BadBookToml,
                    format!("{} is not valid TOML: {}", file.display(), e.message()),
                )
                .at(&text, line, col, 1)
                .with_help("fix it: mdBook and labctl read the book's order and variables from it"),
            );
        }
    }
    out
}

/// Reads and parses one page; `title` overrides the page's own.
pub(crate) fn load_page(
    file: &Path,
    title: Option<String>,
    options: ParseOptions,
) -> Result<super::parse::ParsedLab, Diagnostic> {
    let bytes = std::fs::read(file).map_err(|e| {
        Diagnostic::file(
            file,
            Severity::Error,
            Code::UnreadablePath,
            format!("cannot read {}: {e}", file.display()),
        )
        .with_help(
            "the workshop's table of contents names this page; create it or remove the entry",
        )
    })?;
    let mut parsed = parse_lab(file, &bytes, options);
    if let Some(t) = title {
        parsed.lab.title = t;
    }
    Ok(parsed)
}

/// Loads a lab file or a workshop folder.
pub(crate) fn load(path: &Path, options: ParseOptions) -> Loaded {
    let (files, book_vars, mut diagnostics) = pages(path);
    let mut labs = Vec::new();
    for (file, title) in files {
        match load_page(&file, title, options) {
            Ok(parsed) => {
                diagnostics.extend(parsed.diagnostics);
                labs.push(parsed.lab);
            }
            Err(d) => diagnostics.push(d),
        }
    }
    Loaded {
        workshop: Workshop {
            root: path.to_path_buf(),
            labs,
            book_vars,
        },
        diagnostics,
    }
}

/// `[book] src` of a book.toml, else `src`.
fn book_src(book_toml: &Path) -> Option<(PathBuf, toml::Value)> {
    let text = std::fs::read_to_string(book_toml).ok()?;
    let v: toml::Value = toml::from_str(&text).ok()?;
    let src = v
        .get("book")
        .and_then(|b| b.get("src"))
        .and_then(|s| s.as_str())
        .unwrap_or("src")
        .to_string();
    Some((book_toml.parent()?.join(src), v))
}

/// The book.toml whose source folder is `dir` (or that sits in `dir`), with its parsed value.
fn find_book(dir: &Path) -> Option<(PathBuf, toml::Value)> {
    if let Some(found) = book_src(&dir.join("book.toml")) {
        return Some(found);
    }
    let canon = dir.canonicalize().ok()?;
    let (src, v) = book_src(&canon.parent()?.join("book.toml"))?;
    (src.canonicalize().ok()? == canon).then_some((canon, v))
}

/// The source folder of the nearest book at or above `dir` (where its pages,
/// and the files their commands use, live).
pub(crate) fn book_source_around(dir: &Path) -> Option<PathBuf> {
    let dir = dir.canonicalize().ok()?;
    let book = dir
        .ancestors()
        .map(|d| d.join("book.toml"))
        .find(|b| b.is_file())?;
    book_src(&book).map(|(src, _)| src).filter(|s| s.is_dir())
}

/// The book whose source folder holds `file`: a page run alone reads the same
/// variables as its workshop folder. The nearest book.toml above the file decides.
fn book_holding(file: &Path) -> Option<toml::Value> {
    let file = file.canonicalize().ok()?;
    let book = file
        .ancestors()
        .skip(1)
        .map(|dir| dir.join("book.toml"))
        .find(|b| b.is_file())?;
    let (src, v) = book_src(&book)?;
    file.starts_with(src.canonicalize().ok()?).then_some(v)
}

fn book_toml_vars(dir: &Path) -> BTreeMap<String, String> {
    vars_of(find_book(dir).map(|(_, v)| v))
}

fn vars_of(book: Option<toml::Value>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some(v) = book
        && let Some(vars) = v
            .get("preprocessor")
            .and_then(|p| p.get("labctl"))
            .and_then(|l| l.get("vars"))
            .and_then(|v| v.as_table())
    {
        for (k, val) in vars {
            out.insert(
                k.clone(),
                val.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| val.to_string()),
            );
        }
    }
    out
}

/// The pages of a folder in run order, with titles where the ordering file gives them.
fn order(dir: &Path) -> Result<Vec<(PathBuf, Option<String>)>, Diagnostic> {
    let summary = if dir.join("SUMMARY.md").is_file() {
        Some(dir.join("SUMMARY.md"))
    } else {
        find_book(dir)
            .map(|(src, _)| src.join("SUMMARY.md"))
            .filter(|p| p.is_file())
    };
    if let Some(summary) = summary {
        return summary_order(&summary);
    }
    let wdir = dir.join("workshop");
    let wfile = std::env::var("WORKSHOP_FILE").unwrap_or_else(|_| "workshop.yaml".into());
    if wdir.join(&wfile).is_file() {
        return homeroom_order(dir, &wdir.join(&wfile));
    }
    if (wdir.join("config.yaml").is_file() || wdir.join("content").is_dir())
        && let Some(files) = hugo_order(&wdir)?
    {
        return Ok(files);
    }
    let mut files = Vec::new();
    collect_md(dir, &mut files);
    files.sort_by(|a, b| natural_cmp(&a.to_string_lossy(), &b.to_string_lossy()));
    Ok(files.into_iter().map(|f| (f, None)).collect())
}

fn read_yaml(path: &Path) -> Result<Value, Diagnostic> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostic::file(
            path,
            Severity::Error,
            Code::UnreadablePath,
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    serde_saphyr::from_str(&text).map_err(|e| {
        let line = e.location().map(|l| l.line() as usize).unwrap_or(1);
        Diagnostic::file(
            path,
            Severity::Error,
            Code::BadYaml,
            format!(
                "{} is not valid YAML: {}",
                path.display(),
                e.to_string().lines().next().unwrap_or("")
            ),
        )
        .at(
            &text,
            line,
            e.location().map(|l| l.column() as usize).unwrap_or(1),
            1,
        )
    })
}

fn summary_order(summary: &Path) -> Result<Vec<(PathBuf, Option<String>)>, Diagnostic> {
    let text = std::fs::read_to_string(summary).map_err(|e| {
        Diagnostic::file(
            summary,
            Severity::Error,
            Code::UnreadablePath,
            format!("cannot read {}: {e}", summary.display()),
        )
    })?;
    let base = summary.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for event in Parser::new(&text) {
        if let Event::Start(Tag::Link { dest_url, .. }) = event {
            let dest = dest_url.split('#').next().unwrap_or("");
            if dest.is_empty() || dest.contains("://") || !dest.ends_with(".md") {
                continue;
            }
            let p = base.join(dest);
            if !out.iter().any(|(q, _)| *q == p) {
                out.push((p, None));
            }
        }
    }
    Ok(out)
}

fn content_page(content: &Path, name: &str) -> PathBuf {
    let direct = content.join(format!("{name}.md"));
    if direct.is_file() {
        return direct;
    }
    for index in ["_index.md", "index.md"] {
        let p = content.join(name).join(index);
        if p.is_file() {
            return p;
        }
    }
    direct
}

fn homeroom_order(
    root: &Path,
    workshop_yaml: &Path,
) -> Result<Vec<(PathBuf, Option<String>)>, Diagnostic> {
    let w = read_yaml(workshop_yaml)?;
    let modules = read_yaml(&root.join("workshop/modules.yaml")).ok();
    let activate = w
        .pointer("/modules/activate")
        .and_then(|a| a.as_array())
        .ok_or_else(|| {
            Diagnostic::file(
                workshop_yaml,
                Severity::Error,
                Code::BadWorkshop,
                format!("{} has no `modules.activate` list", workshop_yaml.display()),
            )
            .with_help("list the pages in order under modules: activate:")
        })?;
    let content = root.join("workshop/content");
    Ok(activate
        .iter()
        .filter_map(|m| m.as_str())
        .map(|name| {
            let title = modules
                .as_ref()
                .and_then(|m| m.get("modules"))
                .and_then(|m| m.get(name))
                .and_then(|m| m.get("name"))
                .and_then(|n| n.as_str())
                .map(str::to_string);
            (content_page(&content, name), title)
        })
        .collect())
}

fn hugo_order(wdir: &Path) -> Result<Option<Vec<(PathBuf, Option<String>)>>, Diagnostic> {
    let content = wdir.join("content");
    if wdir.join("config.yaml").is_file() {
        let cfg = read_yaml(&wdir.join("config.yaml"))?;
        if let Some(pathways) = cfg.get("pathways") {
            let default = pathways.get("default").and_then(|d| d.as_str());
            let paths = pathways.get("paths");
            let chosen = default
                .and_then(|d| paths.and_then(|p| p.get(d)))
                .or_else(|| {
                    paths
                        .and_then(|p| p.as_object())
                        .and_then(|m| m.values().next())
                });
            if let Some(steps) = chosen
                .and_then(|c| c.get("steps"))
                .and_then(|s| s.as_array())
            {
                return Ok(Some(
                    steps
                        .iter()
                        .filter_map(|s| s.as_str())
                        .map(|s| (content_page(&content, s), None))
                        .collect(),
                ));
            }
        }
    }
    if !content.is_dir() {
        return Ok(None);
    }
    let mut files = Vec::new();
    collect_md(&content, &mut files);
    let mut weighted: Vec<(Option<f64>, PathBuf)> = files
        .into_iter()
        .map(|f| {
            (
                std::fs::read_to_string(&f)
                    .ok()
                    .and_then(|t| front_matter::weight(&t)),
                f,
            )
        })
        .collect();
    weighted.sort_by(|(wa, a), (wb, b)| match (wa, wb) {
        (Some(x), Some(y)) if x != y => x.total_cmp(y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        _ => natural_cmp(&a.to_string_lossy(), &b.to_string_lossy()),
    });
    Ok(Some(weighted.into_iter().map(|(_, f)| (f, None)).collect()))
}

fn collect_md(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "target" || name == "node_modules" {
            continue;
        }
        if p.is_dir() {
            collect_md(&p, out);
        } else if name.ends_with(".md") {
            out.push(p);
        }
    }
}

/// Natural order: digit runs compare as numbers, so lab1.2 sorts before lab1.10.
pub(crate) fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return Ordering::Equal,
            (None, _) => return Ordering::Less,
            (_, None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let n = x.iter().take_while(|c| c.is_ascii_digit()).count();
                let m = y.iter().take_while(|c| c.is_ascii_digit()).count();
                let (na, nb) = (
                    std::str::from_utf8(&x[..n]).unwrap_or("0"),
                    std::str::from_utf8(&y[..m]).unwrap_or("0"),
                );
                let (ta, tb) = (na.trim_start_matches('0'), nb.trim_start_matches('0'));
                let ord = ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb));
                if ord != Ordering::Equal {
                    return ord;
                }
                x = &x[n..];
                y = &y[m..];
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(d);
                }
                x = &x[1..];
                y = &y[1..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::natural_cmp;
    use std::cmp::Ordering;

    #[test]
    fn natural_order() {
        assert_eq!(natural_cmp("lab1.2.md", "lab1.10.md"), Ordering::Less);
        assert_eq!(natural_cmp("a10", "a9"), Ordering::Greater);
        assert_eq!(natural_cmp("a", "a"), Ordering::Equal);
    }
}
