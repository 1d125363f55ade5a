//! `labctl list`: the plan as a readable outline or as JSON.

use serde_json::{Value, json};

use super::{Output, load_all, parse_var_args, print_diagnostics};
use crate::cli::{Format, ListArgs};
use crate::diag::{Severity, has_errors};
use crate::exit_code::Exit;
use crate::lab::{StepKind, TerminalSel};
use crate::plan::{FillMode, PlannedLab, fill_workshop};
use crate::vars::Sources;

/// Runs `labctl list`.
pub fn run(args: &ListArgs, out: Output) -> Exit {
    let cli_vars = match parse_var_args(&args.vars) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::BadInput;
        }
    };
    let (loaded, diags) = load_all(&args.paths);
    if has_errors(&diags) {
        print_diagnostics(
            &diags
                .into_iter()
                .filter(|d| d.severity == Severity::Error)
                .collect::<Vec<_>>(),
            out,
        );
        return Exit::BadInput;
    }
    let sources = Sources {
        cli: cli_vars,
        env: Sources::env_vars(),
        ..Sources::default()
    };
    // list never fails on an undefined variable: it shows it unfilled.
    let mode = FillMode {
        allow_unsafe: true,
        require_defined: false,
    };
    let labs: Vec<PlannedLab> = loaded
        .iter()
        .flat_map(|l| fill_workshop(&l.workshop, &sources, mode).0)
        .collect();
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&to_json(&labs)).expect("JSON of plain values")
        ),
        Format::Text => print!("{}", to_text(&labs, out.color)),
    }
    Exit::Success
}

/// `terminal` as cli.md shows it: a number, "all", or null.
pub fn terminal_json(t: TerminalSel) -> Value {
    match t {
        TerminalSel::One(n) => json!(n),
        TerminalSel::All => json!("all"),
        TerminalSel::None => Value::Null,
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

/// The JSON plan (cli.md).
pub fn to_json(labs: &[PlannedLab]) -> Value {
    let labs: Vec<Value> = labs
        .iter()
        .map(|l| {
            let steps: Vec<Value> = l
                .steps
                .iter()
                .map(|p| {
                    let s = &p.step;
                    let command = match &s.examiner {
                        Some(e) => std::iter::once(e.name.clone()).chain(e.args.iter().cloned()).collect::<Vec<_>>().join(" "),
                        None => p.command.clone(),
                    };
                    json!({
                        "id": s.id,
                        "name": s.name,
                        "line": s.span.line,
                        "kind": kind_name(s.kind),
                        "terminal": terminal_json(s.terminal),
                        "command": command,
                        "background": s.background,
                        "checks": p.checks.iter().map(|c| json!({"kind": c.kind.name(), "line": c.line, "description": c.kind.describe()})).collect::<Vec<_>>(),
                        "expected_output": s.expected.as_ref().map(|e| json!({"line": e.span.line, "mode": e.mode})),
                    })
                })
                .collect();
            json!({
                "path": l.lab.path,
                "title": l.lab.title,
                "preconditions": l.preconditions.iter().map(|c| json!({"kind": c.kind.name(), "line": c.line, "description": c.kind.describe()})).collect::<Vec<_>>(),
                "steps": steps,
            })
        })
        .collect();
    json!({"version": 1, "labs": labs})
}

/// The readable outline (also `run --dry-run`).
pub fn to_text(labs: &[PlannedLab], color: bool) -> String {
    let bold = console::Style::new().bold().force_styling(color);
    let dim = console::Style::new().dim().force_styling(color);
    let mut s = String::new();
    let mut steps_total = 0;
    for l in labs {
        s.push_str(&format!(
            "{} {}\n",
            bold.apply_to(&l.lab.title),
            dim.apply_to(format!("({})", l.lab.path.display()))
        ));
        for c in &l.preconditions {
            s.push_str(&format!("   precondition: {}\n", c.kind.describe()));
        }
        for (i, p) in l.steps.iter().enumerate() {
            steps_total += 1;
            let st = &p.step;
            let where_ = match st.terminal {
                TerminalSel::One(n) => format!("T{n}"),
                TerminalSel::All => "all".into(),
                TerminalSel::None => "--".into(),
            };
            let first = match &st.examiner {
                Some(e) => format!("examiner test {}", e.name),
                None => p
                    .command
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("")
                    .to_string(),
            };
            let more = if p.command.lines().filter(|l| !l.trim().is_empty()).count() > 1 {
                " …"
            } else {
                ""
            };
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
            let flags = if flags.is_empty() {
                String::new()
            } else {
                format!(" [{}]", flags.join(", "))
            };
            s.push_str(&format!(
                "{:>4}. {:<4} {}{more}{} {}\n",
                i + 1,
                where_,
                first,
                flags,
                dim.apply_to(format!("{} :{}", st.id, st.span.line))
            ));
            for c in &p.checks {
                s.push_str(&format!("         ✓ {}\n", c.kind.describe()));
            }
            if let Some(e) = &st.expected {
                s.push_str(&format!(
                    "         ≈ expected output ({}, line {})\n",
                    if e.mode == crate::lab::OutputMode::Strict {
                        "strict"
                    } else {
                        "documented"
                    },
                    e.span.line
                ));
            }
        }
        s.push('\n');
    }
    s.push_str(&format!("{} labs, {} steps\n", labs.len(), steps_total));
    s
}
