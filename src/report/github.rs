//! GitHub Actions: one `::error` workflow command per failed step (grouped
//! over users, so 20 users failing one step make one annotation on that
//! step's line, not 20), printed on stdout where the runner reads them, and a
//! Markdown job summary (the users x steps matrix and the grouped failures)
//! appended to `$GITHUB_STEP_SUMMARY` when it is set.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use super::collect::Collected;
use super::failure;
use super::groups::{columns, failure_groups, user_label};
use super::{ReportError, Reporter};
use crate::event::{Event, EventKind, StepOutcome};

/// Collects the run; prints annotations and writes the summary at RunFinished.
pub(crate) struct GithubReporter {
    summary: Option<PathBuf>,
    run: Collected,
}

impl GithubReporter {
    /// A reporter whose summary goes to `$GITHUB_STEP_SUMMARY`, if set.
    pub(crate) fn from_env() -> Self {
        GithubReporter {
            summary: std::env::var_os("GITHUB_STEP_SUMMARY")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            run: Collected::default(),
        }
    }
}

/// Escapes a workflow command's message (what follows `::`).
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value (`file=`, `title=`).
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// The `::error` lines, one per failed step (and problem).
pub(crate) fn annotations(run: &Collected) -> String {
    let mut out = String::new();
    let fan_out = run.users.iter().any(|u| u.user.is_some());
    for g in failure_groups(run) {
        let mut message = String::new();
        if fan_out {
            let _ = write!(message, "{} {}: ", g.users.join(", "), g.problem);
        }
        message.push_str(&failure::plain_message(&g.first));
        let _ = writeln!(
            out,
            "::error file={},line={},title={}::{}",
            escape_property(&g.file.display().to_string()),
            g.first.line,
            escape_property(&g.id),
            escape_data(&message)
        );
    }
    out
}

fn cell(o: StepOutcome) -> &'static str {
    match o {
        StepOutcome::Passed => "✓",
        StepOutcome::Skipped => "⊘",
        StepOutcome::Failed
        | StepOutcome::TimedOut
        | StepOutcome::Error
        | StepOutcome::Interrupted => "✗",
    }
}

/// Markdown table cells cannot hold `|` or line breaks.
fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The job summary in Markdown.
pub(crate) fn summary(run: &Collected) -> String {
    let st = run.stats;
    let mut h = String::new();
    let _ = writeln!(
        h,
        "## labctl: {}\n\n{} passed, {} failed, {} skipped in {}\n",
        run.outcome(),
        st.passed,
        st.failed,
        st.skipped,
        failure::duration(run.duration.as_millis() as u64)
    );
    let ids = columns(run);
    if !ids.is_empty() {
        let _ = writeln!(
            h,
            "| user | {} |",
            (1..=ids.len())
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(" | ")
        );
        let _ = writeln!(h, "|---|{}", "---|".repeat(ids.len()));
        for u in &run.users {
            let cells: Vec<&str> = ids
                .iter()
                .map(|id| {
                    u.labs
                        .iter()
                        .flat_map(|l| l.steps.iter())
                        .find(|s| s.id == *id)
                        .map_or(" ", |s| cell(s.outcome))
                })
                .collect();
            let _ = writeln!(h, "| {} | {} |", md(user_label(u)), cells.join(" | "));
        }
        let legend: Vec<String> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| format!("{} `{}`", i + 1, md(id)))
            .collect();
        let _ = writeln!(h, "\nSteps: {}\n", legend.join(", "));
    }
    let groups = failure_groups(run);
    if !groups.is_empty() {
        h.push_str("### Failures\n\n");
        for g in groups {
            let _ = writeln!(
                h,
                "- **{}** failed `{}` ({}:{}): {}",
                md(&g.users.join(", ")),
                md(&g.id),
                g.file.display(),
                g.first.line,
                md(&failure::plain_message(&g.first))
            );
            let _ = writeln!(
                h,
                "  <details><summary>details ({})</summary>\n\n  ```text\n{}\n  ```\n  </details>\n",
                md(&g.users[0]),
                failure::block(&g.first, "  ")
                    .join("\n")
                    .replace("```", "'''")
            );
        }
    }
    h
}

impl Reporter for GithubReporter {
    fn event(&mut self, event: &Event) -> Result<(), ReportError> {
        self.run.apply(event);
        if let EventKind::RunFinished { .. } = event.kind {
            crate::stdout::print(&annotations(&self.run));
            if let Some(path) = &self.summary {
                append(path, &summary(&self.run))?;
            }
        }
        Ok(())
    }
}

/// Appends to the summary file: other steps of the job write there too.
pub(crate) fn append(path: &std::path::Path, text: &str) -> Result<(), ReportError> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|source| ReportError::Write {
            format: "github",
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_command_escapes() {
        assert_eq!(escape_data("50% a\nb\r"), "50%25 a%0Ab%0D");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }
}
