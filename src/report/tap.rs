//! The TAP report (TAP version 14): a test point per (user, step) in run
//! order, named `<user>.<lab> <step id>` like the JUnit testcases; skipped
//! steps carry `# SKIP reason`; a failure carries a YAML block (2-space
//! indent, values as JSON strings, which YAML 1.2 reads as they are) with the
//! plain-English message, the check kind, the file and line, and the failure
//! block.

use std::fmt::Write as _;
use std::path::PathBuf;

use super::collect::Collected;
use super::failure;
use super::groups::{class_name, lab_file};
use super::{ReportError, Reporter, write_atomic};
use crate::event::{Event, EventKind, StepOutcome};

/// Collects the run and writes TAP at RunFinished.
pub(crate) struct TapReporter {
    path: PathBuf,
    run: Collected,
}

impl TapReporter {
    /// A reporter writing to `path`.
    pub(crate) fn new(path: PathBuf) -> Self {
        TapReporter {
            path,
            run: Collected::default(),
        }
    }
}

/// A description may not hold `#` (it starts a directive) or a line break.
fn describe(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('#', "\\#")
        .replace(['\n', '\r'], " ")
}

fn yaml_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// The TAP document.
pub(crate) fn document(run: &Collected) -> String {
    let mut out = String::from("TAP version 14\n");
    let mut n = 0;
    for u in &run.users {
        for lab in &u.labs {
            let class = class_name(&u.user, lab);
            let file = lab_file(lab).display().to_string();
            for s in &lab.steps {
                n += 1;
                let name = describe(&format!("{class} {}", s.id));
                match s.outcome {
                    StepOutcome::Passed => {
                        let _ = writeln!(out, "ok {n} - {name}");
                    }
                    StepOutcome::Skipped => {
                        let why = describe(s.reason.as_deref().unwrap_or("not run"));
                        let _ = writeln!(out, "ok {n} - {name} # SKIP {why}");
                    }
                    StepOutcome::Failed
                    | StepOutcome::TimedOut
                    | StepOutcome::Error
                    | StepOutcome::Interrupted => {
                        let _ = writeln!(out, "not ok {n} - {name}");
                        let _ = writeln!(out, "  ---");
                        let _ =
                            writeln!(out, "  message: {}", yaml_str(&failure::plain_message(s)));
                        let _ = writeln!(out, "  severity: fail");
                        let _ = writeln!(out, "  check: {}", yaml_str(&failure::kind(s)));
                        let _ = writeln!(out, "  at:");
                        let _ = writeln!(out, "    file: {}", yaml_str(&file));
                        let _ = writeln!(out, "    line: {}", s.line);
                        let _ = writeln!(out, "  duration_ms: {}", s.duration_ms);
                        let _ = writeln!(out, "  details: {}", yaml_str(&failure::plain(s)));
                        let _ = writeln!(out, "  ...");
                    }
                }
            }
        }
    }
    let _ = writeln!(out, "1..{n}");
    if run.stats.interrupted {
        out.push_str("# interrupted: steps not reached are not listed\n");
    }
    out
}

impl Reporter for TapReporter {
    fn event(&mut self, event: &Event) -> Result<(), ReportError> {
        self.run.apply(event);
        if let EventKind::RunFinished { .. } = event.kind {
            write_atomic("tap", &self.path, document(&self.run).as_bytes())?;
        }
        Ok(())
    }
}
