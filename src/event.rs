//! Events: the only thing the engine tells the world. Reporters consume them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::lab::{CheckKind, TerminalSel};

/// One thing that happened, with when.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    /// Wall-clock time.
    pub at: SystemTime,
    /// Since the run started.
    pub elapsed: Duration,
    /// What happened.
    pub kind: EventKind,
}

/// Which user a lab or step belongs to (None in a single-user run).
pub(crate) type UserName = Option<String>;

/// What happened.
#[derive(Debug, Clone)]
pub(crate) enum EventKind {
    /// The run begins.
    RunStarted {
        /// Users in order (one None for a single-user run).
        users: Vec<UserName>,
    },
    /// A user's run begins.
    UserStarted {
        user: UserName,
        /// The user's variables (redacted).
        vars: std::collections::BTreeMap<String, String>,
    },
    /// A user's run ended.
    UserFinished {
        user: UserName,
        /// Steps passed, failed, skipped for this user.
        stats: Stats,
    },
    /// A lab begins for a user.
    LabStarted {
        user: UserName,
        /// Lab file.
        path: PathBuf,
        /// Lab title.
        title: String,
    },
    /// A step begins.
    StepStarted {
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
        user: UserName,
        result: Arc<StepResult>,
    },
    /// A lab ended for a user.
    LabFinished {
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
pub(crate) enum StepOutcome {
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

impl StepOutcome {
    /// Failed, timed out, in error, or interrupted while it ran: a step that
    /// did not do its work (a skipped step is not a failure).
    pub(crate) fn is_failure(self) -> bool {
        matches!(
            self,
            StepOutcome::Failed
                | StepOutcome::TimedOut
                | StepOutcome::Error
                | StepOutcome::Interrupted
        )
    }
}

/// How a lab ended for a user; summed up, how a user's run or the whole run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LabOutcome {
    /// No step failed.
    Passed,
    /// A step failed, timed out or could not be run.
    Failed,
    /// The run was stopped by a signal.
    Interrupted,
}

impl LabOutcome {
    /// The word reports use (`passed`, `failed`, `interrupted`), as serialised.
    pub(crate) fn name(self) -> &'static str {
        match self {
            LabOutcome::Passed => "passed",
            LabOutcome::Failed => "failed",
            LabOutcome::Interrupted => "interrupted",
        }
    }
}

impl std::fmt::Display for LabOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a check result judged: a check kind of the page, or one the engine
/// adds (the expected-output fence, a vacuous state check, an examiner test).
/// Serialised as one word (`kube`, `output`), as reports have always shown it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CheckResultKind {
    /// A check written on the page.
    Check(CheckKind),
    /// The expected-output fence.
    Output,
    /// A state check that held before its step ran (`--strict-checks`).
    Vacuous,
    /// An Educates examiner test.
    Examiner,
}

impl CheckResultKind {
    /// The word reports use, as serialised.
    pub(crate) fn name(self) -> &'static str {
        match self {
            CheckResultKind::Check(k) => k.as_str(),
            CheckResultKind::Output => "output",
            CheckResultKind::Vacuous => "vacuous",
            CheckResultKind::Examiner => "examiner",
        }
    }

    /// The kind a report's word names, if any.
    fn from_name(word: &str) -> Option<CheckResultKind> {
        let engine = [
            CheckResultKind::Output,
            CheckResultKind::Vacuous,
            CheckResultKind::Examiner,
        ];
        CheckKind::BY_PRECEDENCE
            .into_iter()
            .map(CheckResultKind::Check)
            .chain(engine)
            .find(|k| k.name() == word)
    }
}

impl From<CheckKind> for CheckResultKind {
    fn from(k: CheckKind) -> CheckResultKind {
        CheckResultKind::Check(k)
    }
}

impl serde::Serialize for CheckResultKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for CheckResultKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let word = String::deserialize(d)?;
        CheckResultKind::from_name(&word)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown check kind `{word}`")))
    }
}

/// The reports' form of a terminal selection: its number, `"all"`, or null.
impl serde::Serialize for TerminalSel {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            TerminalSel::One(n) => s.serialize_u32(*n),
            TerminalSel::All => s.serialize_str("all"),
            TerminalSel::None => s.serialize_none(),
        }
    }
}

impl<'de> serde::Deserialize<'de> for TerminalSel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<TerminalSel, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Written {
            One(u32),
            Word(String),
        }
        match Option::<Written>::deserialize(d)? {
            None => Ok(TerminalSel::None),
            Some(Written::One(n)) => Ok(TerminalSel::One(n)),
            Some(Written::Word(w)) if w == "all" => Ok(TerminalSel::All),
            Some(Written::Word(w)) => Err(serde::de::Error::custom(format!(
                "terminal `{w}`: expected a number, \"all\" or null"
            ))),
        }
    }
}

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CheckStatus {
    /// Held.
    Passed,
    /// Did not hold.
    Failed,
    /// Could not be evaluated.
    Error,
    /// Not evaluated (e.g. output checks under `labctl check`).
    Skipped,
}

impl CheckStatus {
    /// Did not hold or could not be evaluated: a check the student must see.
    pub(crate) fn is_failure(self) -> bool {
        matches!(self, CheckStatus::Failed | CheckStatus::Error)
    }
}

/// One check's result. Deserialisable so `labctl report merge` can read JSON
/// reports back; fields the JSON report leaves out come back as defaults.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct CheckResult {
    /// What it judged.
    pub kind: CheckResultKind,
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
}

/// One step's result (read back from JSON reports by `labctl report merge`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct StepResult {
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
    /// The terminal it ran in.
    pub terminal: TerminalSel,
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
    pub(crate) fn new(
        id: String,
        path: PathBuf,
        line: usize,
        terminal: TerminalSel,
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
pub(crate) struct LabResult {
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
    pub title: String,
    /// How it ended.
    pub outcome: LabOutcome,
    /// Steps in order (preconditions appear as a step with id `<stem>:preconditions`).
    pub steps: Vec<Arc<StepResult>>,
}

/// Totals at the end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Stats {
    /// Steps passed.
    pub passed: usize,
    /// Steps failed, timed out or in error.
    pub failed: usize,
    /// Steps skipped.
    pub skipped: usize,
    pub warnings: usize,
    /// Ctrl-C.
    pub interrupted: bool,
}

impl Stats {
    /// Counts one step.
    pub(crate) fn add(&mut self, r: &StepResult) {
        match r.outcome {
            StepOutcome::Passed => self.passed += 1,
            StepOutcome::Skipped => self.skipped += 1,
            StepOutcome::Failed
            | StepOutcome::TimedOut
            | StepOutcome::Error
            | StepOutcome::Interrupted => self.failed += 1,
        }
        self.warnings += r.warnings.len();
    }
}
