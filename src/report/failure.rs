//! How a failed step is explained (cli.md, "Console"): where, the command as
//! run, each failing check with expected vs actual, then the output tails,
//! tries and time; warnings after it, a drift diff cut to its changed lines.

use crate::event::{CheckResult, CheckStatus, StepOutcome, StepResult};

/// Lines of each stream shown under a failure.
pub(crate) const SHOWN_LINES: usize = 20;

/// Changed lines of a drift diff shown when the step failed anyway.
pub(crate) const DRIFT_LINES: usize = 20;

fn failed_checks(s: &StepResult) -> impl Iterator<Item = &CheckResult> {
    s.checks.iter().filter(|c| c.outcome.is_failure())
}

/// One line: what went wrong.
pub(crate) fn headline(s: &StepResult) -> String {
    format!("step {} {}", s.id, problem(s))
}

/// What went wrong, without naming the step: `timed out`, `failed: exit
/// status is 0`, `could not be run: …`.
pub(crate) fn problem(s: &StepResult) -> String {
    match s.outcome {
        StepOutcome::TimedOut => "timed out".into(),
        StepOutcome::Interrupted => "was interrupted".into(),
        StepOutcome::Error => format!(
            "could not be run: {}",
            s.reason.clone().unwrap_or_else(|| first_problem(s))
        ),
        _ => format!("failed: {}", first_problem(s)),
    }
}

/// The hint of the first failing check that has one.
pub(crate) fn first_hint(s: &StepResult) -> Option<&str> {
    s.checks
        .iter()
        .filter(|c| c.outcome.is_failure())
        .find_map(|c| c.hint.as_deref())
}

fn first_problem(s: &StepResult) -> String {
    failed_checks(s)
        .next()
        .map(|c| c.description.clone())
        .unwrap_or_else(|| s.reason.clone().unwrap_or_else(|| "see the output".into()))
}

/// The kind of what failed: the first failed check's kind (`exit`, `json`,
/// `http`, `kube`, `output`...), `timeout` or `error` without one.
pub(crate) fn kind(s: &StepResult) -> String {
    match failed_checks(s).next() {
        Some(c) => c.kind.name().into(),
        None if s.outcome == StepOutcome::TimedOut => "timeout".into(),
        None if s.outcome == StepOutcome::Interrupted => "interrupted".into(),
        None => "error".into(),
    }
}

/// The `actual:` part of a check's message, on one line.
fn actual(c: &CheckResult) -> Option<String> {
    let m = c.message.as_deref()?;
    let found = m
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("actual:"))
        .map(str::trim)
        .unwrap_or_else(|| m.lines().next().unwrap_or("").trim());
    (!found.is_empty()).then(|| found.to_string())
}

/// The failure in the book's words: "Expected: The command succeeds (exit
/// status 0); got: 1". Falls back to the check's description.
pub(crate) fn plain_message(s: &StepResult) -> String {
    let Some(c) = failed_checks(s).next() else {
        return match s.outcome {
            StepOutcome::TimedOut => format!("The step {} did not finish in time", s.id),
            StepOutcome::Interrupted => format!("The step {} was interrupted", s.id),
            _ => s
                .reason
                .clone()
                .unwrap_or_else(|| format!("The step {} could not be run", s.id)),
        };
    };
    let what = if c.plain.is_empty() {
        &c.description
    } else {
        &c.plain
    };
    let mut m = format!("Expected: {what}");
    if let Some(a) = actual(c) {
        m.push_str("; got: ");
        m.push_str(&a);
    }
    if s.outcome == StepOutcome::TimedOut {
        m.push_str(" (the step timed out)");
    }
    m
}

fn last_lines(text: &str, n: usize) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].to_vec()
}

/// The failure block, uncoloured, each line prefixed by `indent`: where, the
/// command, the failed checks, then the output tails (a stream whose tail a
/// failed check already quotes is not repeated), tries and time.
pub(crate) fn block(s: &StepResult, indent: &str) -> Vec<String> {
    let mut out = vec![format!("{indent}{}:{}", s.path.display(), s.line)];
    for (i, l) in s.command.lines().enumerate() {
        out.push(format!("{indent}{} {l}", if i == 0 { "$" } else { ">" }));
    }
    if let Some(r) = &s.reason {
        out.push(format!("{indent}{r}"));
    }
    let mut quoted = String::new();
    for c in failed_checks(s) {
        let mark = if c.outcome == CheckStatus::Error {
            "!"
        } else {
            "✗"
        };
        out.push(format!("{indent}{mark} {}", c.description));
        if let Some(m) = &c.message {
            quoted.push_str(m);
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
        let tail = lines.join("\n");
        if tail.trim().len() > 1 && squash(&quoted).contains(&squash(&tail)) {
            out.push(format!("{indent}{name}: as quoted above"));
            continue;
        }
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

/// Text with all whitespace removed, to see whether a check quoted a stream
/// (JSON is re-indented when quoted).
fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// A warning as shown: a drift diff of a step that failed anyway is cut to
/// its changed lines (at most DRIFT_LINES); the failure is what matters.
pub(crate) fn warning_lines(w: &str, step_failed: bool) -> Vec<String> {
    let lines: Vec<&str> = w.lines().collect();
    if !step_failed || !w.starts_with("drift:") {
        return lines.into_iter().map(str::to_string).collect();
    }
    let mut out = vec![lines.first().copied().unwrap_or("").to_string()];
    let changed: Vec<&str> = lines[1..]
        .iter()
        .copied()
        .filter(|l| {
            (l.starts_with('-') || l.starts_with('+'))
                && !l.starts_with("---")
                && !l.starts_with("+++")
        })
        .collect();
    out.extend(changed.iter().take(DRIFT_LINES).map(|l| l.to_string()));
    if changed.len() > DRIFT_LINES {
        out.push(format!(
            "… {} more changed lines",
            changed.len() - DRIFT_LINES
        ));
    }
    out
}

/// `850ms` or `3.1s`.
pub(crate) fn duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else {
        format!("{:.1}s", ms as f64 / 1000.0)
    }
}

/// The failure block as plain text.
pub(crate) fn plain(s: &StepResult) -> String {
    block(s, "").join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_of_a_failed_step_keeps_changed_lines_only() {
        let mut w = String::from(
            "drift: output differs from the documented output at line 9: x\n--- expected\n+++ actual\n@@ -1,40 +1,40 @@\n",
        );
        for i in 0..30 {
            w.push_str(&format!(" same {i}\n-old {i}\n+new {i}\n"));
        }
        let shown = warning_lines(&w, true);
        assert_eq!(shown.len(), 1 + DRIFT_LINES + 1, "{shown:?}");
        assert!(
            shown[1..=DRIFT_LINES]
                .iter()
                .all(|l| l.starts_with(['-', '+']))
        );
        assert_eq!(shown.last().unwrap(), "… 40 more changed lines");
        assert_eq!(warning_lines(&w, false).len(), w.lines().count());
    }

    #[test]
    fn plain_message_uses_the_books_wording_and_the_actual_value() {
        let mut s = StepResult::new(
            "a:1".into(),
            "a.md".into(),
            3,
            crate::lab::TerminalSel::One(1),
            "false".into(),
        );
        s.outcome = StepOutcome::Failed;
        s.checks.push(CheckResult {
            kind: crate::event::CheckResultKind::Check(crate::lab::CheckKind::Exit),
            description: "exit status is 0".into(),
            outcome: CheckStatus::Failed,
            message: Some("expected: 0\n  actual: 1".into()),
            plain: "The command succeeds (exit status 0)".into(),
            hint: None,
            line: 0,
        });
        assert_eq!(
            plain_message(&s),
            "Expected: The command succeeds (exit status 0); got: 1"
        );
        assert_eq!(kind(&s), "exit");
        assert_eq!(headline(&s), "step a:1 failed: exit status is 0");
    }
}
