//! The JSON report (schema in cli.md), written atomically at the end of the run.

use std::path::PathBuf;

use serde_json::json;

use super::collect::Collected;
use super::{ReportError, Reporter, write_atomic};
use crate::event::{Event, EventKind, LabOutcome};

/// Collects the run and writes JSON at RunFinished.
pub(crate) struct JsonReporter {
    path: PathBuf,
    run: Collected,
}

impl JsonReporter {
    /// A reporter writing to `path`.
    pub(crate) fn new(path: PathBuf) -> Self {
        JsonReporter {
            path,
            run: Collected::default(),
        }
    }
}

/// The report document.
pub(crate) fn document(run: &Collected) -> serde_json::Value {
    let runs: Vec<_> = run
        .users
        .iter()
        .map(|u| {
            let ended = |o: LabOutcome| u.labs.iter().any(|l| l.outcome == o);
            let outcome = if ended(LabOutcome::Interrupted) {
                LabOutcome::Interrupted
            } else if ended(LabOutcome::Failed) {
                LabOutcome::Failed
            } else {
                LabOutcome::Passed
            };
            json!({
                "user": u.user,
                "vars": u.vars,
                "outcome": outcome,
                "labs": u.labs.iter().map(|l| json!({
                    "path": l.path,
                    "file": l.file,
                    "stem": l.stem,
                    "title": l.title,
                    "outcome": l.outcome,
                    "steps": l.steps.iter().map(|s| s.as_ref()).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "version": 1,
        "outcome": run.outcome(),
        "started_at": humantime::format_rfc3339_millis(run.started_at).to_string(),
        "duration_ms": run.duration.as_millis() as u64,
        "runs": runs,
    })
}

impl Reporter for JsonReporter {
    fn event(&mut self, event: &Event) -> Result<(), ReportError> {
        self.run.apply(event);
        if let EventKind::RunFinished { .. } = event.kind {
            let text = serde_json::to_string_pretty(&document(&self.run)).map_err(|e| {
                ReportError::Build {
                    format: "json",
                    message: e.to_string(),
                }
            })?;
            write_atomic("json", &self.path, text.as_bytes())?;
        }
        Ok(())
    }
}
