//! How a failed step is explained (cli.md, "Console"): where, the command as
//! run, each failing check with expected vs actual, output tails, tries and time.

use crate::event::{CheckStatus, StepOutcome, StepResult};

/// Lines of each stream shown under a failure.
pub const SHOWN_LINES: usize = 20;

/// One line: what went wrong.
pub fn headline(s: &StepResult) -> String {
    match s.outcome {
        StepOutcome::TimedOut => format!("step {} timed out", s.id),
        StepOutcome::Interrupted => format!("step {} was interrupted", s.id),
        StepOutcome::Error => format!(
            "step {} could not be run: {}",
            s.id,
            s.reason.clone().unwrap_or_else(|| first_problem(s))
        ),
        _ => format!("step {} failed: {}", s.id, first_problem(s)),
    }
}

/// The hint of the first failing check that has one.
pub fn first_hint(s: &StepResult) -> Option<&str> {
    s.checks
        .iter()
        .filter(|c| matches!(c.outcome, CheckStatus::Failed | CheckStatus::Error))
        .find_map(|c| c.hint.as_deref())
}

fn first_problem(s: &StepResult) -> String {
    s.checks
        .iter()
        .find(|c| matches!(c.outcome, CheckStatus::Failed | CheckStatus::Error))
        .map(|c| c.description.clone())
        .unwrap_or_else(|| s.reason.clone().unwrap_or_else(|| "see the output".into()))
}

fn last_lines(text: &str, n: usize) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].to_vec()
}

/// The failure block, uncoloured, each line prefixed by `indent`.
pub fn block(s: &StepResult, indent: &str) -> Vec<String> {
    let mut out = vec![format!("{indent}{}:{}", s.path.display(), s.line)];
    for (i, l) in s.command.lines().enumerate() {
        out.push(format!("{indent}{} {l}", if i == 0 { "$" } else { ">" }));
    }
    if let Some(r) = &s.reason {
        out.push(format!("{indent}{r}"));
    }
    for c in s
        .checks
        .iter()
        .filter(|c| matches!(c.outcome, CheckStatus::Failed | CheckStatus::Error))
    {
        let mark = if c.outcome == CheckStatus::Error {
            "!"
        } else {
            "✗"
        };
        out.push(format!("{indent}{mark} {}", c.description));
        if let Some(m) = &c.message {
            for l in m.lines() {
                out.push(format!("{indent}    {l}"));
            }
        }
        if let Some(h) = &c.hint {
            out.push(format!("{indent}    hint: {h}"));
        }
    }
    for (name, text) in [("stdout", &s.stdout), ("stderr", &s.stderr)] {
        if text.trim().is_empty() {
            continue;
        }
        let lines = last_lines(text, SHOWN_LINES);
        out.push(format!("{indent}{name} (last {} lines):", lines.len()));
        out.extend(lines.iter().map(|l| format!("{indent}  | {l}")));
    }
    out.push(format!(
        "{indent}{} {} in {}",
        s.tries,
        if s.tries == 1 { "try" } else { "tries" },
        humantime::format_duration(std::time::Duration::from_millis(
            s.duration_ms - s.duration_ms % 10
        ))
    ));
    out
}

/// `850ms` or `3.1s`.
pub fn duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else {
        format!("{:.1}s", ms as f64 / 1000.0)
    }
}

/// The failure block as plain text.
pub fn plain(s: &StepResult) -> String {
    block(s, "").join("\n")
}
