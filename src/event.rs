//! Events: the only thing the engine tells the world. Reporters consume them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// One thing that happened, with when.
#[derive(Debug, Clone)]
pub struct Event {
    /// Wall-clock time.
    pub at: SystemTime,
    /// Since the run started.
    pub elapsed: Duration,
    /// What happened.
    pub kind: EventKind,
}

/// Which user a lab or step belongs to (None in a single-user run).
pub type UserName = Option<String>;

/// What happened.
#[derive(Debug, Clone)]
pub enum EventKind {
    /// The run begins.
    RunStarted {
        /// Users in order (one None for a single-user run).
        users: Vec<UserName>,
        /// Selected steps per user.
        steps_per_user: usize,
    },
    /// A user's run begins.
    UserStarted {
        /// The user.
        user: UserName,
        /// The user's variables (redacted).
        vars: std::collections::BTreeMap<String, String>,
    },
    /// A user's run ended.
    UserFinished {
        /// The user.
        user: UserName,
        /// Steps passed, failed, skipped for this user.
        stats: Stats,
    },
    /// A lab begins for a user.
    LabStarted {
        /// The user.
        user: UserName,
        /// Lab file.
        path: PathBuf,
        /// Lab title.
        title: String,
    },
    /// A step begins.
    StepStarted {
        /// The user.
        user: UserName,
        /// Step id.
        id: String,
        /// 1-based position among the user's selected steps.
        position: usize,
        /// Selected steps for this user.
        total: usize,
        /// The command as run (redacted).
        command: String,
    },
    /// A try failed and the step or check will try again.
    TryFailedWillRetry {
        /// The user.
        user: UserName,
        /// Step id.
        id: String,
        /// Tries so far.
        tries: u32,
        /// Why it failed.
        message: String,
    },
    /// A step ended, with everything known about it.
    StepFinished {
        /// The user.
        user: UserName,
        /// The result.
        result: Arc<StepResult>,
    },
    /// A lab ended for a user.
    LabFinished {
        /// The user.
        user: UserName,
        /// Everything about the lab.
        result: Arc<LabResult>,
    },
    /// The run is stopping early.
    RunCancelling {
        /// Why.
        reason: String,
    },
    /// The run ended.
    RunFinished {
        /// Totals.
        stats: Stats,
    },
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepOutcome {
    /// Ran and every check held.
    Passed,
    /// A check failed.
    Failed,
    /// Killed by its timeout.
    TimedOut,
    /// Not run.
    Skipped,
    /// Could not be run or judged.
    Error,
    /// Stopped by a signal to labctl (Ctrl-C, SIGTERM, SIGHUP) while it ran;
    /// its output so far and its tries are kept.
    Interrupted,
}

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// Held.
    Passed,
    /// Did not hold.
    Failed,
    /// Could not be evaluated.
    Error,
    /// Not evaluated (e.g. output checks under `labctl check`).
    Skipped,
}

/// One check's result. Deserialisable so `labctl report merge` can read JSON
/// reports back; fields the JSON report leaves out come back as defaults.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CheckResult {
    /// Kind name (exit, stdout, json, http, kube, command, output).
    pub kind: String,
    /// What it asserts.
    pub description: String,
    /// How it ended.
    pub outcome: CheckStatus,
    /// Why it failed, with expected vs actual.
    pub message: Option<String>,
    /// What it asserts in plain English, as the book's "Check your work" box
    /// words it ("The command succeeds (exit status 0)"); empty when unknown.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub plain: String,
    /// The check's `hint:` for the student, when it did not hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Line in the page (0 for implicit checks).
    #[serde(skip, default)]
    pub line: usize,
    /// Tries made.
    #[serde(skip, default)]
    pub tries: u32,
}

/// One step's result (read back from JSON reports by `labctl report merge`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StepResult {
    /// Step id.
    pub id: String,
    /// `name` attribute.
    pub name: Option<String>,
    /// The step's number in the run (as `list` shows it and `--only N` takes);
    /// none for preconditions, setup and cleanup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<usize>,
    /// Line of the fence.
    pub line: usize,
    /// Terminal: number, "all" or null.
    pub terminal: serde_json::Value,
    /// The command as run (variables filled, secrets redacted).
    pub command: String,
    /// How it ended.
    pub outcome: StepOutcome,
    /// Exit status of the last try.
    pub exit_code: Option<i32>,
    /// Tries made.
    pub tries: u32,
    /// Time taken.
    pub duration_ms: u64,
    /// Every check.
    pub checks: Vec<CheckResult>,
    /// Warnings (drift, vacuous checks).
    pub warnings: Vec<String>,
    /// Why it was skipped or errored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Lab file (not in the JSON report: the lab carries it).
    #[serde(skip, default)]
    pub path: PathBuf,
    /// Tail of stdout (redacted).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stdout: String,
    /// Tail of stderr (redacted).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stderr: String,
}

impl StepResult {
    /// A result not yet run: skipped, no tries, no checks.
    pub fn new(
        id: String,
        path: PathBuf,
        line: usize,
        terminal: serde_json::Value,
        command: String,
    ) -> StepResult {
        StepResult {
            id,
            name: None,
            number: None,
            line,
            terminal,
            command,
            outcome: StepOutcome::Skipped,
            exit_code: None,
            tries: 0,
            duration_ms: 0,
            checks: Vec::new(),
            warnings: Vec::new(),
            reason: None,
            path,
            stdout: String::new(),
            stderr: String::new(),
        }
    }
}

/// One lab's result for one user.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct LabResult {
    /// Lab file, as given on the command line.
    pub path: PathBuf,
    /// Lab file relative to its source root (the enclosing git checkout, else
    /// the workshop folder): the same wherever labctl runs from. Reports that
    /// CI systems key on (JUnit, annotations) use it.
    #[serde(default)]
    pub file: PathBuf,
    /// The lab's file stem (as in default step ids).
    #[serde(default)]
    pub stem: String,
    /// Title.
    pub title: String,
    /// passed, failed, interrupted.
    pub outcome: String,
    /// Steps in order (preconditions appear as a step with id `<stem>:preconditions`).
    pub steps: Vec<Arc<StepResult>>,
}

/// Totals at the end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Steps passed.
    pub passed: usize,
    /// Steps failed, timed out or in error.
    pub failed: usize,
    /// Steps skipped.
    pub skipped: usize,
    /// Warnings.
    pub warnings: usize,
    /// Ctrl-C.
    pub interrupted: bool,
}

impl Stats {
    /// Counts one step.
    pub fn add(&mut self, r: &StepResult) {
        match r.outcome {
            StepOutcome::Passed => self.passed += 1,
            StepOutcome::Failed
            | StepOutcome::TimedOut
            | StepOutcome::Error
            | StepOutcome::Interrupted => self.failed += 1,
            StepOutcome::Skipped => self.skipped += 1,
        }
        self.warnings += r.warnings.len();
    }
}
