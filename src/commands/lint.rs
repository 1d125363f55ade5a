//! `labctl lint`: every diagnostic the parser finds, plus checks that need the
//! workshop around a page (files, images, examiner scripts, variables, users).

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;
use serde_json::json;

use super::{Output, cli_sources, load_all};
use crate::check::examiner::{self, ScriptPathError};
use crate::cli::{Format, WorkshopArgs};
use crate::diag::{self, Code, Diagnostic, Severity};
use crate::exit_code::Exit;
use crate::lab::check_spec::nearest;
use crate::lab::info::{FenceRole, role};
use crate::lab::parse::LineIndex;
use crate::lab::{Lab, Step, StepKind, Workshop};
use crate::vars::{self, Form, PLATFORM_VARS, Sources};

/// Runs `labctl lint`.
pub fn run(args: &WorkshopArgs, out: Output) -> Exit {
    let (loaded, mut diags) = load_all(&args.paths);
    let sources = cli_sources(&args.vars);
    for l in &loaded {
        for lab in &l.workshop.labs {
            lint_lab(&l.workshop, lab, &sources, &mut diags);
        }
    }
    diags.sort_by(|a, b| {
        a.path
            .cmp(&b.path)
            .then(a.line.cmp(&b.line))
            .then(a.column.cmp(&b.column))
    });
    let errors = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diags
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
    let infos = diags.len() - errors - warnings;
    match args.format {
        Format::Json => crate::stdout::print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&json!({"diagnostics": diags}))
                .expect("JSON of plain values")
        )),
        Format::Text => {
            let shown: Vec<Diagnostic> = diags
                .iter()
                .filter(|d| out.verbose || !out.quiet || d.severity == Severity::Error)
                .cloned()
                .collect();
            crate::stdout::print(&format!(
                "{}{}, {}, {}\n",
                diag::render(&shown, out.color),
                super::list::plural(errors, "error"),
                super::list::plural(warnings, "warning"),
                super::list::plural(infos, "info")
            ));
        }
    }
    if errors > 0 {
        Exit::BadInput
    } else {
        Exit::Success
    }
}

fn file_args() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r#"\b(?:kubectl|oc)\s[^|;&]*?(?:\s-f|--filename|--from-file)(?:\s+|=)([^\s;|&)'"]+)"#,
        )
        .expect("static regex")
    })
}

fn hardcoded_user() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\buser\d+\b").expect("static regex"))
}

fn lint_lab(w: &Workshop, lab: &Lab, sources: &Sources, diags: &mut Vec<Diagnostic>) {
    let defined = sources.resolve(&lab.settings.vars);
    let book: BTreeSet<&String> = w.book_vars.keys().collect();
    let src = &lab.source;
    // The caret goes under the text itself: a check's value may sit some lines
    // below the `- kind:` line it starts on. Lines come from one index, so
    // lint stays linear in the number of diagnostics.
    let idx = LineIndex::new(src);
    let at = |line: usize, needle: &str, len: usize| -> (usize, usize, usize) {
        (line.max(1)..line.max(1) + 50)
            .find_map(|ln| {
                let l = idx.line_text(ln)?;
                l.find(needle)
                    .map(|c| (ln, l[..c].chars().count() + 1, len))
            })
            .unwrap_or((line, 1, len))
    };
    let mut push = |sev: Severity,
                    code: Code,
                    (line, col, len): (usize, usize, usize),
                    msg: String,
                    help: Option<String>| {
        let d = Diagnostic::file(&lab.path, sev, code, msg).at_line(
            idx.line_text(line),
            line,
            col,
            len,
        );
        diags.push(Diagnostic { help, ..d });
    };
    let mut uses_username = false;
    // Every text that variables may appear in, with the line where it starts.
    let mut texts: Vec<(usize, String)> = Vec::new();
    for s in &lab.steps {
        texts.push((s.span.line + 1, s.body.clone()));
        for c in &s.checks {
            texts.push((c.line, serde_json::to_string(&c.raw).unwrap_or_default()));
        }
        if let Some(e) = &s.expected {
            texts.push((e.span.line + 1, e.text.clone()));
        }
    }
    for c in &lab.preconditions {
        texts.push((c.line, serde_json::to_string(&c.raw).unwrap_or_default()));
    }
    texts.sort_by_key(|(line, _)| *line);
    let mut reported = BTreeSet::new();
    for (first_line, text) in &texts {
        for u in vars::uses(text) {
            let line = first_line
                + if text.starts_with('{') {
                    0
                } else {
                    text[..u.range.start].matches('\n').count()
                };
            if matches!(
                u.name.as_str(),
                "username" | "session_namespace" | "project_namespace"
            ) {
                uses_username = true;
            }
            // Once per variable per lab: the first use says it all.
            if defined.contains_key(&u.name)
                || book.contains(&u.name)
                || !reported.insert(u.name.clone())
            {
                continue;
            }
            let shown = if u.form == Form::Percent {
                format!("%{}%", u.name)
            } else {
                format!("{{{{ {} }}}}", u.name)
            };
            let needle = if u.form == Form::Percent {
                shown.clone()
            } else {
                u.name.clone()
            };
            if PLATFORM_VARS.contains(&u.name.as_str()) {
                // `labctl run` refuses it without a value, so lint does too.
                push(
                    Severity::Error,
                    Code::UndefinedVariable,
                    at(line, &needle, needle.len()),
                    format!(
                        "undefined variable `{shown}` (a platform supplies it; labctl needs a value)"
                    ),
                    Some(format!(
                        "pass --var {0}=VALUE or --users, set LABCTL_VAR_{0}, or give it a value in book.toml [preprocessor.labctl.vars]",
                        u.name
                    )),
                );
            } else if u.form == Form::Template {
                push(
                    Severity::Error,
                    Code::UndefinedVariable,
                    at(line, &needle, needle.len()),
                    format!("undefined variable `{shown}`"),
                    Some(format!(
                        "define it: --var {0}=VALUE, LABCTL_VAR_{0}, or `labctl: vars:` in the front matter",
                        u.name
                    )),
                );
            } else if u.name.len() > 3 {
                let known = defined
                    .keys()
                    .map(String::as_str)
                    .chain(PLATFORM_VARS.iter().copied())
                    .collect::<Vec<_>>();
                if let Some(n) =
                    nearest(&u.name, known).filter(|n| strsim::jaro_winkler(n, &u.name) > 0.88)
                {
                    push(
                        Severity::Warning,
                        Code::UndefinedVariable,
                        at(line, &needle, needle.len()),
                        format!("`{shown}` is not a variable and stays as written"),
                        Some(format!("did you mean `%{n}%`?")),
                    );
                }
            }
        }
    }
    lint_fence_names(lab, &mut push, &at);
    let wd = w.default_workdir();
    let lab_dir = lab.path.parent().map(Path::to_path_buf).unwrap_or_default();
    for s in &lab.steps {
        lint_step(s, lab, &wd, &mut push, &at);
    }
    for (url, span) in &lab.images {
        if url.contains("://") || url.starts_with("data:") || url.starts_with('/') {
            continue;
        }
        let p = lab_dir.join(url.split(['#', '?']).next().unwrap_or(url));
        if !p.exists() {
            push(
                Severity::Warning,
                Code::MissingImage,
                (span.line, span.col, span.len.min(80)),
                format!("image `{url}` does not exist (looked for {})", p.display()),
                Some("add the image or fix the path; paths are relative to the page".into()),
            );
        }
    }
    if uses_username {
        for s in &lab.steps {
            for (i, l) in s.body.lines().enumerate() {
                if let Some(m) = hardcoded_user().find(l) {
                    let line = s.span.line + 1 + i;
                    push(Severity::Warning, Code::HardcodedUser, at(line, m.as_str(), m.len()), format!("`{}` is hard-coded where the lab uses a username variable", m.as_str()), Some("write %username% (or {{ session_namespace }}) so every student gets their own".into()));
                }
            }
        }
    }
}

/// Fence words labctl acts on: one edit away from one of them is a typo that
/// would silently turn a step or its checks into prose.
const FENCE_WORDS: &[&str] = &[
    "execute",
    "execute-all",
    "terminal:execute",
    "terminal:execute-all",
    "terminal:interrupt",
    "terminal:interrupt-all",
    "examiner:execute-test",
    "verify",
    "output",
];

fn lint_fence_names(
    lab: &Lab,
    push: &mut Push<'_>,
    at: &dyn Fn(usize, &str, usize) -> (usize, usize, usize),
) {
    use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag};
    for (ev, range) in Parser::new(&lab.source).into_offset_iter() {
        let Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) = ev else {
            continue;
        };
        let word = info
            .split(|c: char| c.is_whitespace() || c == '{')
            .next()
            .unwrap_or("");
        if word.is_empty() || role(word) != FenceRole::Prose {
            continue;
        }
        let Some(known) = FENCE_WORDS
            .iter()
            .find(|k| strsim::levenshtein(word, k) == 1 || transposed(word, k))
        else {
            continue;
        };
        let line = lab.source[..range.start].matches('\n').count() + 1;
        push(
            Severity::Warning,
            Code::UnknownFence,
            at(line, word, word.len()),
            format!("```{word} is not a fence labctl knows, so this block is prose"),
            Some(format!("did you mean `{known}`?")),
        );
    }
}

/// Two neighbouring letters swapped (`exectue`), one edit as a typist sees it.
fn transposed(word: &str, known: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (word.chars().collect(), known.chars().collect());
    if a.len() != b.len() {
        return false;
    }
    let diff: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
    diff.len() == 2
        && diff[1] == diff[0] + 1
        && a[diff[0]] == b[diff[1]]
        && a[diff[1]] == b[diff[0]]
}

type Push<'a> = dyn FnMut(Severity, Code, (usize, usize, usize), String, Option<String>) + 'a;

fn lint_step(
    s: &Step,
    lab: &Lab,
    wd: &Path,
    push: &mut Push<'_>,
    at: &dyn Fn(usize, &str, usize) -> (usize, usize, usize),
) {
    let fence = (s.span.line, s.span.col, 3);
    if s.kind == StepKind::Execute && s.checks.is_empty() && s.expected.is_none() && !s.background {
        push(
            Severity::Info,
            Code::UncheckedStep,
            fence,
            format!(
                "step `{}` has no check and no expected output: only its exit status is verified",
                s.id
            ),
            Some("add a ```verify block or the expected output after it".into()),
        );
    }
    if s.background_auto {
        push(
            Severity::Info,
            Code::AutoBackground,
            fence,
            format!(
                "step `{}` never ends on its own: it runs in the background and is stopped with Ctrl-C",
                s.id
            ),
            Some("write background=false in its attributes if it does end".into()),
        );
    }
    if let Some(e) = &s.examiner {
        let root = examiner::root_of(&lab.path).unwrap_or_default();
        if let Err(err) = examiner::script_in(&root, &e.name) {
            let (code, help) = match &err {
                ScriptPathError::Escapes { .. } => (
                    Code::ExaminerOutside,
                    "name a script inside workshop/examiner/tests/; labctl never runs one outside it"
                        .to_string(),
                ),
                ScriptPathError::Missing { .. } => (
                    Code::ExaminerMissing,
                    format!("add an executable script at workshop/examiner/tests/{}", e.name),
                ),
            };
            push(
                Severity::Error,
                code,
                at(s.span.line + 1, &e.name, e.name.len()),
                err.to_string(),
                Some(help),
            );
        }
    }
    for (i, l) in s.body.lines().enumerate() {
        for c in file_args().captures_iter(l) {
            let f = &c[1];
            if f == "-"
                || f.contains("://")
                || f.contains('%')
                || f.contains("{{")
                || f.contains('$')
                || f.contains('*')
            {
                continue;
            }
            let p = wd.join(f);
            if !p.exists() {
                let line = s.span.line + 1 + i;
                push(Severity::Warning, Code::MissingFile, at(line, f, f.len()), format!("`{f}` does not exist relative to the working directory {}", wd.display()), Some("commands run in the workshop folder unless --workdir says otherwise; add the file or fix the path".into()));
            }
        }
    }
}
