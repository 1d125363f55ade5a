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
use crate::lab::parse::{LineIndex, ParseOptions};
use crate::lab::{Lab, Step, StepKind, Workshop};
use crate::vars::{self, Form, PLATFORM_VARS, Sources};

/// Runs `labctl lint`.
pub(crate) fn run(args: &WorkshopArgs, out: Output) -> Exit {
    let options = ParseOptions {
        shell_blocks: args.shell_blocks,
    };
    let (loaded, mut diags) = load_all(&args.paths, options);
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
    let mut found = Findings {
        lab,
        idx: LineIndex::new(&lab.source),
        diags,
    };
    let uses_username = lint_variables(w, lab, sources, &mut found);
    lint_fence_names(lab, &mut found);
    let wd = w.default_workdir();
    for s in &lab.steps {
        lint_step(s, lab, &wd, &mut found);
    }
    lint_images(lab, &mut found);
    if uses_username {
        lint_hardcoded_users(lab, &mut found);
    }
}

/// Where a position is: (line, column, caret width).
type Place = (usize, usize, usize);

/// The diagnostics of one page, with the line index that places them.
struct Findings<'a> {
    lab: &'a Lab,
    // Lines come from one index, so lint stays linear in the number of diagnostics.
    idx: LineIndex<'a>,
    diags: &'a mut Vec<Diagnostic>,
}

impl Findings<'_> {
    /// The first `needle` at or below `line`: the caret goes under the text
    /// itself, as a check's value may sit some lines below the `- kind:` line
    /// it starts on.
    fn at(&self, line: usize, needle: &str, len: usize) -> Place {
        (line.max(1)..line.max(1) + 50)
            .find_map(|ln| {
                let l = self.idx.line_text(ln)?;
                l.find(needle)
                    .map(|c| (ln, l[..c].chars().count() + 1, len))
            })
            .unwrap_or((line, 1, len))
    }

    fn push(&mut self, sev: Severity, code: Code, place: Place, msg: String, help: String) {
        let (line, col, len) = place;
        let d = Diagnostic::file(&self.lab.path, sev, code, msg)
            .at_line(self.idx.line_text(line), line, col, len)
            .with_help(help);
        self.diags.push(d);
    }
}

/// Every text that variables may appear in, with the line where it starts.
fn variable_texts(lab: &Lab) -> Vec<(usize, String)> {
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
    texts
}

/// Undefined variables, once per variable per page (the first use says it
/// all); says whether the page uses a username variable.
fn lint_variables(w: &Workshop, lab: &Lab, sources: &Sources, found: &mut Findings<'_>) -> bool {
    let defined = sources.resolve(&lab.settings.vars);
    let mut uses_username = false;
    let mut reported = BTreeSet::new();
    for (first_line, text) in &variable_texts(lab) {
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
            if defined.contains_key(&u.name)
                || w.book_vars.contains_key(&u.name)
                || !reported.insert(u.name.clone())
            {
                continue;
            }
            undefined_variable(&u, line, &defined, found);
        }
    }
    uses_username
}

fn undefined_variable(u: &vars::Use, line: usize, defined: &vars::Vars, found: &mut Findings<'_>) {
    let (shown, needle) = match u.form {
        Form::Percent => (format!("%{}%", u.name), format!("%{}%", u.name)),
        _ => (format!("{{{{ {} }}}}", u.name), u.name.clone()),
    };
    let place = found.at(line, &needle, needle.len());
    if PLATFORM_VARS.contains(&u.name.as_str()) {
        // `labctl run` refuses it without a value, so lint does too.
        found.push(
            Severity::Error,
            Code::UndefinedVariable,
            place,
            format!("undefined variable `{shown}` (a platform supplies it; labctl needs a value)"),
            format!(
                "pass --var {0}=VALUE or --users, set LABCTL_VAR_{0}, or give it a value in book.toml [preprocessor.labctl.vars]",
                u.name
            ),
        );
    } else if u.form == Form::Template {
        found.push(
            Severity::Error,
            Code::UndefinedVariable,
            place,
            format!("undefined variable `{shown}`"),
            format!(
                "define it: --var {0}=VALUE, LABCTL_VAR_{0}, or `labctl: vars:` in the front matter",
                u.name
            ),
        );
    } else if u.name.len() > 3 {
        let known = defined
            .keys()
            .map(String::as_str)
            .chain(PLATFORM_VARS.iter().copied());
        if let Some(n) = nearest(&u.name, known).filter(|n| strsim::jaro_winkler(n, &u.name) > 0.88)
        {
            found.push(
                Severity::Warning,
                Code::UndefinedVariable,
                place,
                format!("`{shown}` is not a variable and stays as written"),
                format!("did you mean `%{n}%`?"),
            );
        }
    }
}

/// Images the page shows that do not exist (paths are relative to the page).
fn lint_images(lab: &Lab, found: &mut Findings<'_>) {
    let lab_dir = lab.path.parent().map(Path::to_path_buf).unwrap_or_default();
    for (url, span) in &lab.images {
        if url.contains("://") || url.starts_with("data:") || url.starts_with('/') {
            continue;
        }
        let p = lab_dir.join(url.split(['#', '?']).next().unwrap_or(url));
        if !p.exists() {
            found.push(
                Severity::Warning,
                Code::MissingImage,
                (span.line, span.col, span.len.min(80)),
                format!("image `{url}` does not exist (looked for {})", p.display()),
                "add the image or fix the path; paths are relative to the page".into(),
            );
        }
    }
}

/// A literal `userN` on a page that otherwise gives each student their own name.
fn lint_hardcoded_users(lab: &Lab, found: &mut Findings<'_>) {
    for s in &lab.steps {
        for (i, l) in s.body.lines().enumerate() {
            if let Some(m) = hardcoded_user().find(l) {
                let line = s.span.line + 1 + i;
                found.push(
                    Severity::Warning,
                    Code::HardcodedUser,
                    found.at(line, m.as_str(), m.len()),
                    format!(
                        "`{}` is hard-coded where the lab uses a username variable",
                        m.as_str()
                    ),
                    "write %username% (or {{ session_namespace }}) so every student gets their own"
                        .into(),
                );
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

fn lint_fence_names(lab: &Lab, found: &mut Findings<'_>) {
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
        found.push(
            Severity::Warning,
            Code::UnknownFence,
            found.at(line, word, word.len()),
            format!("```{word} is not a fence labctl knows, so this block is prose"),
            format!("did you mean `{known}`?"),
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

fn lint_step(s: &Step, lab: &Lab, wd: &Path, found: &mut Findings<'_>) {
    let fence = (s.span.line, s.span.col, 3);
    if s.kind == StepKind::Execute && s.checks.is_empty() && s.expected.is_none() && !s.background {
        found.push(
            Severity::Info,
            Code::UncheckedStep,
            fence,
            format!(
                "step `{}` has no check and no expected output: only its exit status is verified",
                s.id
            ),
            "add a ```verify block or the expected output after it".into(),
        );
    }
    if s.background_auto {
        found.push(
            Severity::Info,
            Code::AutoBackground,
            fence,
            format!(
                "step `{}` never ends on its own: it runs in the background and is stopped with Ctrl-C",
                s.id
            ),
            "write background=false in its attributes if it does end".into(),
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
            found.push(
                Severity::Error,
                code,
                found.at(s.span.line + 1, &e.name, e.name.len()),
                err.to_string(),
                help,
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
                found.push(Severity::Warning, Code::MissingFile, found.at(line, f, f.len()), format!("`{f}` does not exist relative to the working directory {}", wd.display()), "commands run in the workshop folder unless --workdir says otherwise; add the file or fix the path".into());
            }
        }
    }
}
