//! `labctl list`: the plan as a readable outline or as JSON.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use super::{Output, cli_sources, print_diagnostics};
use crate::cli::{Format, WorkshopArgs};
use crate::diag::{Diagnostic, Severity};
use crate::exit_code::Exit;
use crate::lab::check_spec::CheckSpec;
use crate::lab::parse::ParseOptions;
use crate::lab::workshop;
use crate::lab::{Step, StepKind, TerminalSel};
use crate::plan::{FillMode, PlannedLab, PlannedStep, fill_lab};
use crate::vars::Sources;

/// Runs `labctl list`.
pub(crate) fn run(args: &WorkshopArgs, out: Output) -> Exit {
    // One page at a time: parse, fill, render, drop (bounded memory), on every
    // core; output is printed only once every page parsed, so bad input prints
    // nothing but its diagnostics.
    let (jobs, mut errors) = pages(args);
    let options = ParseOptions {
        shell_blocks: args.shell_blocks,
    };
    let results = in_parallel(jobs.len(), |i| {
        render(&jobs[i], options, args.format, out.color)
    });
    let (mut text, mut json_labs, mut steps) = (String::new(), Vec::new(), 0);
    let labs = results.len();
    for r in results {
        match r {
            Ok(page) => {
                text.push_str(&page.outline.render(steps));
                if let Some(mut j) = page.json {
                    number_steps(&mut j, steps);
                    json_labs.push(j);
                }
                steps += page.steps;
            }
            Err(d) => errors.extend(d),
        }
    }
    if !errors.is_empty() {
        print_diagnostics(&errors, out);
        return Exit::BadInput;
    }
    match args.format {
        Format::Json => crate::stdout::print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&json!({"version": 1, "labs": json_labs}))
                .expect("JSON of plain values")
        )),
        Format::Text => crate::stdout::print(&format!("{text}{}\n", counted(labs, steps))),
    }
    Exit::Success
}

/// A page to list: its file, its title, and where its variables come from.
type Page = (PathBuf, Option<String>, Arc<Sources>);

/// Every page of every path, in order, and the errors finding them.
fn pages(args: &WorkshopArgs) -> (Vec<Page>, Vec<Diagnostic>) {
    let sources = cli_sources(&args.vars);
    let mut errors = Vec::new();
    let mut jobs = Vec::new();
    for path in &args.paths {
        let (files, book_vars, diags) = workshop::pages(path);
        errors.extend(diags.into_iter().filter(|d| d.severity == Severity::Error));
        let mut sources = sources.clone();
        sources.book = book_vars;
        let sources = Arc::new(sources);
        jobs.extend(
            files
                .into_iter()
                .map(|(file, title)| (file, title, sources.clone())),
        );
    }
    (jobs, errors)
}

/// `f(0..n)` on every core, the results in order.
fn in_parallel<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(n.max(1));
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, T)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            break mine;
                        }
                        mine.push((i, f(i)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a list worker panicked"))
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// One page rendered on its own; its steps are numbered in the run later.
struct Rendered {
    json: Option<Value>,
    outline: Outline,
    steps: usize,
}

/// Parses and fills one page; its errors when it has any.
fn render(
    page: &Page,
    options: ParseOptions,
    format: Format,
    color: bool,
) -> Result<Rendered, Vec<Diagnostic>> {
    let (file, title, sources) = page;
    let parsed = workshop::load_page(file, title.clone(), options).map_err(|d| vec![d])?;
    let errs: Vec<_> = parsed
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .cloned()
        .collect();
    if !errs.is_empty() {
        return Err(errs);
    }
    let vars = sources.resolve(&parsed.lab.settings.vars);
    // list never fails on an undefined variable: it shows it unfilled.
    let mode = FillMode {
        allow_unsafe: true,
        require_defined: false,
    };
    let (planned, _) = fill_lab(&Arc::new(parsed.lab), &vars, mode);
    let steps = planned.steps.len();
    Ok(match format {
        Format::Json => Rendered {
            json: Some(lab_json(&planned)),
            outline: Outline { lines: Vec::new() },
            steps,
        },
        Format::Text => Rendered {
            json: None,
            outline: lab_outline(&planned, color),
            steps,
        },
    })
}

/// Numbers a page's steps after the `before` steps of the pages ahead of it.
fn number_steps(lab: &mut Value, before: usize) {
    if let Some(list) = lab.get_mut("steps").and_then(Value::as_array_mut) {
        for (i, step) in list.iter_mut().enumerate() {
            step["number"] = json!(before + i + 1);
        }
    }
}

fn kind_name(k: StepKind) -> &'static str {
    match k {
        StepKind::Execute => "execute",
        StepKind::Check => "check",
        StepKind::Interrupt => "interrupt",
        StepKind::Manual => "manual",
    }
}

/// One lab of the JSON plan (cli.md).
pub(crate) fn lab_json(l: &PlannedLab) -> Value {
    let checks = |checks: &[CheckSpec]| -> Vec<Value> {
        checks
            .iter()
            .map(|c| json!({"kind": c.kind.name(), "line": c.line, "description": c.kind.describe()}))
            .collect()
    };
    let steps: Vec<Value> = l
        .steps
        .iter()
        .map(|p| {
            let s = &p.step;
            let command = match &s.examiner {
                Some(e) => std::iter::once(e.name.clone())
                    .chain(e.args.iter().cloned())
                    .collect::<Vec<_>>()
                    .join(" "),
                None => p.command.clone(),
            };
            json!({
                "id": s.id,
                "name": s.name,
                "line": s.span.line,
                "kind": kind_name(s.kind),
                "terminal": s.terminal,
                "command": command,
                "background": s.background,
                "checks": checks(&p.checks),
                "expected_output": s.expected.as_ref().map(|e| json!({"line": e.span.line, "mode": e.mode})),
            })
        })
        .collect();
    json!({
        "path": l.lab.path,
        "title": l.lab.title,
        "preconditions": checks(&l.preconditions),
        "steps": steps,
    })
}

/// The readable outline of labs with a closing count (also `run --dry-run`).
pub(crate) fn to_text(labs: &[PlannedLab], color: bool) -> String {
    let mut s: String = labs
        .iter()
        .map(|l| lab_outline(l, color).render(0))
        .collect();
    let steps: usize = labs.iter().map(|l| l.steps.len()).sum();
    s.push_str(&counted(labs.len(), steps));
    s.push('\n');
    s
}

/// "1 lab, 3 steps".
pub(crate) fn counted(labs: usize, steps: usize) -> String {
    format!("{}, {}", plural(labs, "lab"), plural(steps, "step"))
}

/// "1 error", "2 errors".
pub(crate) fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// One lab's outline, its step numbers kept apart so a page rendered alone can
/// be numbered in its run (`list` renders pages in parallel, then numbers them in order).
pub(crate) struct Outline {
    lines: Vec<(Option<usize>, String)>,
}

impl Outline {
    /// The text, each step's number moved on by `offset`.
    pub(crate) fn render(&self, offset: usize) -> String {
        let mut s = String::new();
        for (n, line) in &self.lines {
            if let Some(n) = n {
                s.push_str(&format!("{:>4}. ", n + offset));
            }
            s.push_str(line);
        }
        s
    }
}

/// The readable outline of one lab; checks are marked as planned (○), not passed.
pub(crate) fn lab_outline(l: &PlannedLab, color: bool) -> Outline {
    let bold = console::Style::new().bold().force_styling(color);
    let dim = console::Style::new().dim().force_styling(color);
    let mut lines: Vec<(Option<usize>, String)> = Vec::new();
    let mut s = format!(
        "{} {}\n",
        bold.apply_to(&l.lab.title),
        dim.apply_to(format!("({})", l.lab.path.display()))
    );
    for c in &l.preconditions {
        s.push_str(&format!("   precondition: {}\n", c.kind.describe()));
    }
    for p in &l.steps {
        lines.push((None, std::mem::take(&mut s)));
        lines.push((Some(p.number), step_line(p, &dim)));
        for c in &p.checks {
            s.push_str(&format!("         ○ {}\n", c.kind.describe()));
        }
        if let Some(e) = &p.step.expected {
            let mode = if e.mode == crate::lab::OutputMode::Strict {
                "strict"
            } else {
                "documented"
            };
            s.push_str(&format!(
                "         ≈ expected output ({mode}, line {})\n",
                e.span.line
            ));
        }
    }
    s.push('\n');
    lines.push((None, s));
    Outline { lines }
}

/// A step's line after its number: terminal, first command line, flags, id and line.
fn step_line(p: &PlannedStep, dim: &console::Style) -> String {
    let st = &p.step;
    let where_ = match st.terminal {
        TerminalSel::One(n) => format!("T{n}"),
        TerminalSel::All => "all".into(),
        TerminalSel::None => "--".into(),
    };
    let mut commands = p.command.lines().filter(|l| !l.trim().is_empty());
    let first = match &st.examiner {
        Some(e) => format!("examiner test {}", e.name),
        None => commands.next().unwrap_or("").to_string(),
    };
    let more = if p.command.lines().filter(|l| !l.trim().is_empty()).count() > 1 {
        " …"
    } else {
        ""
    };
    format!(
        "{:<4} {}{more}{} {}\n",
        where_,
        first,
        step_flags(st),
        dim.apply_to(format!("{} :{}", st.id, st.span.line))
    )
}

/// ` [check, background, skip: why]`, or nothing for a plain step.
fn step_flags(st: &Step) -> String {
    let mut flags = Vec::new();
    if st.kind != StepKind::Execute {
        flags.push(kind_name(st.kind).to_string());
    }
    if st.background {
        flags.push(if st.background_auto {
            "background (auto)".into()
        } else {
            "background".into()
        });
    }
    if let Some(r) = &st.skip {
        flags.push(format!("skip: {r}"));
    }
    if flags.is_empty() {
        String::new()
    } else {
        format!(" [{}]", flags.join(", "))
    }
}
