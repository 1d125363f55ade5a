//! The student's progress: each step's last outcome and check results, kept in
//! a JSON file in the working folder so a reload or a restart shows where they were.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::event::CheckStatus;

/// File name of the progress file in the working folder.
pub(crate) const FILE_NAME: &str = ".labctl-progress.json";

/// Where a step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Outcome {
    /// Never run or checked (or reset).
    NotStarted,
    /// Running or being checked now.
    Running,
    /// Its checks held.
    Passed,
    /// A check failed (or could not be evaluated).
    Failed,
}

/// One check's result as the page shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CheckView {
    /// exit, stdout, json, http, kube, command, output.
    pub kind: String,
    /// The check in plain English.
    pub sentence: String,
    /// passed, failed, error, skipped.
    pub outcome: CheckStatus,
    /// What was expected, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// What was found, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// Anything more: a diff, the nodes a JSONPath found, why it could not be evaluated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The author's hint for this check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// A step's last result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StepRecord {
    /// Where it stands.
    pub outcome: Outcome,
    /// run, check or interrupt.
    pub action: String,
    /// Exit status of the command, for runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Why it failed or what happened, one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Check results in page order.
    pub checks: Vec<CheckView>,
    /// Seconds since the epoch.
    pub at: u64,
}

/// Every step's record, as stored.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Progress {
    /// By step id.
    pub steps: BTreeMap<String, StepRecord>,
}

/// The progress file and its contents.
#[derive(Debug)]
pub(crate) struct ProgressFile {
    path: PathBuf,
    /// What it holds.
    pub progress: Progress,
}

impl ProgressFile {
    /// Reads `dir/FILE_NAME`; a missing or unreadable file is a fresh start.
    pub(crate) fn open(dir: &Path) -> ProgressFile {
        let path = dir.join(FILE_NAME);
        let progress = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        ProgressFile { path, progress }
    }

    /// Records a step's result and saves.
    pub(crate) fn record(&mut self, id: &str, rec: StepRecord) -> std::io::Result<()> {
        self.progress.steps.insert(id.to_string(), rec);
        self.save()
    }

    /// Forgets everything (the page's Reset).
    pub(crate) fn reset(&mut self) -> std::io::Result<()> {
        self.progress = Progress::default();
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Written to a temporary file and renamed, so a crash never leaves half a file.
    fn save(&self) -> std::io::Result<()> {
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(&self.progress)?)?;
        std::fs::rename(&tmp, &self.path)
    }
}

/// Seconds since the epoch, now.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_a_restart_and_reset_clears_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = ProgressFile::open(dir.path());
        assert!(f.progress.steps.is_empty());
        f.record(
            "a",
            StepRecord {
                outcome: Outcome::Passed,
                action: "run".into(),
                exit_code: Some(0),
                reason: None,
                checks: Vec::new(),
                at: 1,
            },
        )
        .unwrap();
        let again = ProgressFile::open(dir.path());
        assert_eq!(again.progress.steps["a"].outcome, Outcome::Passed);
        let mut again = again;
        again.reset().unwrap();
        assert!(ProgressFile::open(dir.path()).progress.steps.is_empty());
    }
}
