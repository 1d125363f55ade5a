//! The plan: labs with variables filled for one user, step selection
//! (--from/--to/--only) and user specs (--users). Immutable once built.

use std::path::Path;

use crate::diag::{Code, Diagnostic, Severity};
use crate::lab::check_spec::{CheckSpec, hint_of, parse_check};
use crate::lab::{Lab, Step, Workshop};
use crate::vars::{self, Form, Sources, VarProblem, Vars};

/// A step with its variables filled.
#[derive(Debug, Clone)]
pub struct PlannedStep {
    /// The step as parsed.
    pub step: std::sync::Arc<Step>,
    /// The body with variables filled.
    pub command: String,
    /// Checks with variables filled and re-typed.
    pub checks: Vec<CheckSpec>,
    /// Expected output text with variables filled.
    pub expected_text: Option<String>,
    /// Chosen by --from/--to/--only.
    pub selected: bool,
    /// The step's number: its 1-based position among all steps of the run, the
    /// one `list`, the console, the reports and `--only N` share.
    pub number: usize,
}

/// A lab with its variables filled.
#[derive(Debug, Clone)]
pub struct PlannedLab {
    /// The lab as parsed (shared: every user's plan points at the same page).
    pub lab: std::sync::Arc<Lab>,
    /// The values used.
    pub vars: Vars,
    /// Preconditions, filled.
    pub preconditions: Vec<CheckSpec>,
    /// Steps, filled.
    pub steps: Vec<PlannedStep>,
    /// Setup and cleanup scripts, filled.
    pub setup: Option<String>,
    /// Runs after the last step, also after a failure.
    pub cleanup: Option<String>,
}

/// How strictly variables are filled.
#[derive(Debug, Clone, Copy)]
pub struct FillMode {
    /// Accept values outside the safe character set.
    pub allow_unsafe: bool,
    /// Report required variables that have no value (off for `list`).
    pub require_defined: bool,
}

struct Filler<'a> {
    lab: &'a Lab,
    vars: &'a Vars,
    mode: FillMode,
    diags: Vec<Diagnostic>,
    /// Undefined variables already reported: once per variable per lab.
    undefined: std::collections::BTreeSet<String>,
}

impl Filler<'_> {
    fn report(&mut self, problems: Vec<VarProblem>, line_of: impl Fn(usize) -> usize) {
        for p in problems {
            let (u, msg, help) = match p {
                VarProblem::Undefined(u)
                    if self.mode.require_defined && self.undefined.insert(u.name.clone()) =>
                {
                    let shown = match u.form {
                        Form::Percent => format!("%{}%", u.name),
                        Form::Template => format!("{{{{ {} }}}}", u.name),
                    };
                    let help = format!(
                        "pass --var {0}=VALUE, set LABCTL_VAR_{0}, or add `{0}` under `labctl: vars:` in the front matter",
                        u.name
                    );
                    (u, format!("undefined variable `{shown}` in lab `{}`", self.lab.title), help)
                }
                VarProblem::Undefined(_) => continue,
                VarProblem::Unsafe(u, value) => (
                    u.clone(),
                    format!("the value of `{}` ({value:?}) is unsafe to paste into a shell command", u.name),
                    "values may hold only letters, digits and ._:/@+=,- ; pass --allow-unsafe-vars if you trust it".to_string(),
                ),
            };
            let line = line_of(u.range.start);
            let needle = match u.form {
                Form::Percent => format!("%{}%", u.name),
                Form::Template => u.name.clone(),
            };
            // A check's value may sit some lines below its `- kind:` line: point at the variable.
            let (line, col) = self
                .lab
                .source
                .lines()
                .enumerate()
                .skip(line.saturating_sub(1))
                .take(50)
                .find_map(|(i, l)| l.find(&needle).map(|c| (i + 1, l[..c].chars().count() + 1)))
                .unwrap_or((line, 1));
            self.diags.push(
                Diagnostic::file(
                    &self.lab.path,
                    Severity::Error,
                    if msg.starts_with("undefined") {
                        Code::UndefinedVariable
                    } else {
                        Code::UnsafeVariable
                    },
                    msg,
                )
                .at(&self.lab.source, line, col, needle.len())
                .with_help(help),
            );
        }
    }

    fn text(&mut self, text: &str, first_line: usize) -> String {
        let (out, problems) = vars::substitute(text, self.vars, self.mode.allow_unsafe);
        self.report(problems, |off| {
            first_line + text[..off].matches('\n').count()
        });
        out
    }

    fn checks(&mut self, checks: &[CheckSpec]) -> Vec<CheckSpec> {
        let mut out = Vec::new();
        for c in checks {
            if !vars::mentions_variable(&c.raw) {
                out.push(c.clone());
                continue;
            }
            let mut problems = Vec::new();
            let raw =
                vars::substitute_value(&c.raw, self.vars, self.mode.allow_unsafe, &mut problems);
            self.report(problems, |_| c.line);
            // Re-typing compiles regexes and JSONPaths again: only when a value changed.
            if raw == c.raw {
                out.push(c.clone());
                continue;
            }
            match parse_check(&raw) {
                Ok((kind, timing)) => out.push(CheckSpec {
                    hint: hint_of(&raw),
                    line: c.line,
                    raw,
                    timing,
                    kind,
                }),
                // A value made a pattern invalid: keep the unfilled check, report where.
                Err(e) => {
                    self.diags.push(
                        Diagnostic::file(&self.lab.path, Severity::Error, e.code, e.message).at(
                            &self.lab.source,
                            c.line,
                            1,
                            1,
                        ),
                    );
                    out.push(c.clone());
                }
            }
        }
        out
    }
}

/// Fills one lab's variables.
pub fn fill_lab(
    lab: &std::sync::Arc<Lab>,
    vars: &Vars,
    mode: FillMode,
) -> (PlannedLab, Vec<Diagnostic>) {
    let mut f = Filler {
        lab,
        vars,
        mode,
        diags: Vec::new(),
        undefined: Default::default(),
    };
    let preconditions = f.checks(&lab.preconditions);
    let mut steps = Vec::new();
    for (i, s) in lab.steps.iter().enumerate() {
        let body_line = s.span.line + 1;
        let command = f.text(&s.body, body_line);
        let checks = f.checks(&s.checks);
        let expected_text = s
            .expected
            .as_ref()
            .map(|e| f.text(&e.text, e.span.line + 1));
        steps.push(PlannedStep {
            step: s.clone(),
            command,
            checks,
            expected_text,
            selected: true,
            number: i + 1,
        });
    }
    let setup = lab.settings.setup.as_ref().map(|t| f.text(t, 1));
    let cleanup = lab.settings.cleanup.as_ref().map(|t| f.text(t, 1));
    let planned = PlannedLab {
        lab: lab.clone(),
        vars: vars.clone(),
        preconditions,
        steps,
        setup,
        cleanup,
    };
    (planned, f.diags)
}

/// Fills every lab of a workshop for one set of sources.
pub fn fill_workshop(
    w: &Workshop,
    sources: &Sources,
    mode: FillMode,
) -> (Vec<PlannedLab>, Vec<Diagnostic>) {
    let mut sources = sources.clone();
    sources.book = w.book_vars.clone();
    let mut labs = Vec::new();
    let mut diags = Vec::new();
    for lab in &w.labs {
        let vars = sources.resolve(&lab.settings.vars);
        let (p, d) = fill_lab(&std::sync::Arc::new(lab.clone()), &vars, mode);
        labs.push(p);
        diags.extend(d);
    }
    (labs, diags)
}

/// A step reference: id, 1-based index in the run, or FILE:LINE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepRef {
    /// `name` or `lab-stem:n`.
    Id(String),
    /// 1-based position among all steps of the run.
    Index(usize),
    /// The step whose fence is on (or spans) this line of this file.
    FileLine(String, usize),
}

impl StepRef {
    /// Parses a STEP argument.
    pub fn parse(s: &str) -> StepRef {
        if let Ok(n) = s.parse::<usize>() {
            return StepRef::Index(n);
        }
        if let Some((file, line)) = s.rsplit_once(':')
            && file.ends_with(".md")
            && let Ok(l) = line.parse()
        {
            return StepRef::FileLine(file.to_string(), l);
        }
        StepRef::Id(s.to_string())
    }

    fn matches(&self, lab_path: &Path, step: &Step, position: usize) -> bool {
        match self {
            StepRef::Id(id) => step.id == *id,
            StepRef::Index(n) => position == *n,
            StepRef::FileLine(file, line) => {
                let p = lab_path.to_string_lossy();
                (p == file.as_str()
                    || p.ends_with(&format!("/{file}"))
                    || lab_path
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy() == *file))
                    && step.span.line <= *line
                    && *line <= step.span.line + step.body.lines().count() + 1
            }
        }
    }
}

/// A `--from`, `--to` or `--only` that names no step of the run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no step matches `{0}`; `labctl list` shows step ids")]
pub struct UnknownStep(pub StepRef);

/// --from/--to/--only.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// First step to run.
    pub from: Option<StepRef>,
    /// Last step to run.
    pub to: Option<StepRef>,
    /// Only these steps.
    pub only: Vec<StepRef>,
}

impl Selection {
    /// Marks steps selected; an unknown STEP is an error naming it.
    pub fn apply(&self, labs: &mut [PlannedLab]) -> Result<(), UnknownStep> {
        number_steps(labs);
        let mut positions = Vec::new();
        for (li, l) in labs.iter().enumerate() {
            for (si, s) in l.steps.iter().enumerate() {
                positions.push((li, si, s.number, l.lab.path.clone(), s.step.clone()));
            }
        }
        let find = |r: &StepRef| {
            positions
                .iter()
                .position(|(_, _, pos, path, step)| r.matches(path, step, *pos))
                .ok_or_else(|| UnknownStep(r.clone()))
        };
        let from = self.from.as_ref().map(find).transpose()?.unwrap_or(0);
        let to = self
            .to
            .as_ref()
            .map(find)
            .transpose()?
            .unwrap_or(positions.len().saturating_sub(1));
        let only: Vec<usize> = self.only.iter().map(find).collect::<Result<_, _>>()?;
        for (k, (li, si, ..)) in positions.iter().enumerate() {
            let chosen = if only.is_empty() {
                k >= from && k <= to
            } else {
                only.contains(&k)
            };
            labs[*li].steps[*si].selected = chosen;
        }
        Ok(())
    }
}

/// Numbers the steps of a run 1, 2, 3... across its labs, in run order.
pub fn number_steps(labs: &mut [PlannedLab]) {
    for (n, s) in labs.iter_mut().flat_map(|l| l.steps.iter_mut()).enumerate() {
        s.number = n + 1;
    }
}

impl std::fmt::Display for StepRef {
    /// As the user wrote it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepRef::Id(s) => f.write_str(s),
            StepRef::Index(n) => write!(f, "{n}"),
            StepRef::FileLine(file, l) => write!(f, "{file}:{l}"),
        }
    }
}

/// One user of a fan-out run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// `username`.
    pub name: String,
    /// `user_index` (1-based position in the spec).
    pub index: usize,
    /// Extra variables from `@FILE` lines.
    pub vars: Vars,
}

impl User {
    /// Fan-out variables for this user.
    pub fn variables(&self) -> Vars {
        let mut v = self.vars.clone();
        v.insert("username".into(), self.name.clone());
        // A users-file line may pin its index: `labctl job` gives each pod a
        // one-line file and must keep the index of the whole spec.
        v.entry("user_index".into())
            .or_insert_with(|| self.index.to_string());
        v
    }
}

/// Parses `user1..user40`, `1..40`, `alice,bob` or `@FILE`.
pub fn parse_users(spec: &str) -> Result<Vec<User>, String> {
    let mut names: Vec<(String, Vars)> = Vec::new();
    if let Some(file) = spec.strip_prefix('@') {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read the users file {file}: {e}"))?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.split_whitespace();
            let name = parts.next().unwrap_or_default().to_string();
            let mut vars = Vars::new();
            for kv in parts {
                let (k, v) = kv
                    .split_once('=')
                    .ok_or_else(|| format!("{file}:{}: `{kv}` is not k=v", n + 1))?;
                vars.insert(k.to_string(), v.to_string());
            }
            names.push((name, vars));
        }
    } else {
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if let Some((a, b)) = part.split_once("..") {
                let split = |s: &str| {
                    let digits = s.len() - s.trim_end_matches(|c: char| c.is_ascii_digit()).len();
                    let (prefix, num) = s.split_at(s.len() - digits);
                    num.parse::<usize>()
                        .map(|n| (prefix.to_string(), n))
                        .map_err(|_| {
                            format!("`{part}` is not a range such as user1..user40 or 1..40")
                        })
                };
                let (pa, na) = split(a)?;
                let (pb, nb) = split(b)?;
                if pa != pb && !pb.is_empty() {
                    return Err(format!(
                        "`{part}`: both ends of a range need the same prefix"
                    ));
                }
                if nb < na {
                    return Err(format!("`{part}`: the range runs backwards"));
                }
                let prefix = if pa.is_empty() {
                    "user".to_string()
                } else {
                    pa
                };
                names.extend((na..=nb).map(|n| (format!("{prefix}{n}"), Vars::new())));
            } else {
                names.push((part.to_string(), Vars::new()));
            }
        }
    }
    if names.is_empty() {
        return Err(format!("`{spec}` names no users"));
    }
    for (n, _) in &names {
        if !vars::is_safe(n) || n.is_empty() {
            return Err(format!(
                "user name `{n}` may hold only letters, digits and ._:/@+=,-"
            ));
        }
    }
    Ok(names
        .into_iter()
        .enumerate()
        .map(|(i, (name, vars))| User {
            name,
            index: i + 1,
            vars,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_specs() {
        let u = parse_users("user1..user3").unwrap();
        assert_eq!(
            u.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
            ["user1", "user2", "user3"]
        );
        assert_eq!(parse_users("1..2").unwrap()[1].name, "user2");
        assert_eq!(parse_users("alice,bob").unwrap()[1].index, 2);
        assert!(parse_users("5..1").is_err());
    }

    #[test]
    fn step_refs() {
        assert_eq!(StepRef::parse("3"), StepRef::Index(3));
        assert_eq!(StepRef::parse("egress:2"), StepRef::Id("egress:2".into()));
        assert_eq!(
            StepRef::parse("labs/egress.md:40"),
            StepRef::FileLine("labs/egress.md".into(), 40)
        );
    }
}
