//! The engine: walks the plan for each user, drives terminals and checks, and
//! emits events. It knows no output format.

pub(crate) mod observe;
pub(crate) mod prompt;
pub(crate) mod runner;
mod user_run;

pub(crate) use user_run::StepJudge;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{Mutex, Semaphore, mpsc};

use crate::cancel::Cancel;
use crate::event::{Event, EventKind, Stats, UserName};
use crate::plan::PlannedLab;
use crate::vars::Vars;

/// What kind of run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Run every step and its checks.
    Run,
    /// State checks only; no step runs.
    CheckOnly,
}

/// Settings shared by every user of a run.
#[derive(Debug, Clone)]
pub(crate) struct EngineConfig {
    /// Run or check.
    pub mode: Mode,
    /// Terminal shell.
    pub shell: PathBuf,
    /// Environment added to every terminal and check script (e.g. the sandbox's).
    pub env: Vec<(String, String)>,
    /// Step timeout when neither step nor lab sets one.
    pub default_timeout: Duration,
    /// Go on after a failed step.
    pub keep_going: bool,
    /// `check --no-wait`: every state check is tried once, whatever its `within`.
    pub no_wait: bool,
    /// Documented-output drift fails.
    pub strict_output: bool,
    /// Vacuous state checks fail.
    pub strict_checks: bool,
    /// Bytes kept per stream end.
    pub capture_cap: usize,
    /// SIGTERM → SIGKILL grace.
    pub grace: Duration,
    /// Where `workshop/examiner/tests` lives.
    pub workshop_root: PathBuf,
    /// Kubeconfig choice and the run's kube connections.
    pub kube: Arc<crate::check::kube::KubeOptions>,
    /// Set when labctl pinned itself to one CPU (single-user runs).
    pub colocation: Option<crate::shell::affinity::Colocation>,
}

/// One user's share of the run.
#[derive(Debug, Clone)]
pub(crate) struct UserPlan {
    /// None for a single-user run.
    pub user: UserName,
    /// Fan-out variables (for the report).
    pub vars: Vars,
    /// Labs with this user's variables filled.
    pub labs: Vec<PlannedLab>,
    /// This user's working directory.
    pub workdir: PathBuf,
    /// Extra environment for this user (e.g. a kubeconfig with their namespace).
    pub env: Vec<(String, String)>,
    /// Hides this user's secrets in everything reported.
    pub redactor: crate::redact::Redactor,
}

/// Sends events stamped with time.
#[derive(Clone)]
pub(crate) struct EventSink {
    tx: mpsc::UnboundedSender<Event>,
    start: Instant,
}

impl EventSink {
    /// A sink and the receiving end for reporters.
    pub(crate) fn new() -> (EventSink, mpsc::UnboundedReceiver<Event>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            EventSink {
                tx,
                start: Instant::now(),
            },
            rx,
        )
    }

    /// Emits one event (dropped if every reporter is gone).
    pub(crate) fn emit(&self, kind: EventKind) {
        let _ = self.tx.send(Event {
            at: SystemTime::now(),
            elapsed: self.start.elapsed(),
            kind,
        });
    }
}

/// An expected-output fence whose text drifted from what the command printed.
#[derive(Debug, Clone)]
pub(crate) struct OutputUpdate {
    /// The lab file.
    pub path: PathBuf,
    /// The lab's bytes as parsed (the file must still hold them).
    pub source: String,
    /// Byte range of the fence body.
    pub body_span: std::ops::Range<usize>,
    /// The fence body as written.
    pub expected: String,
    /// What the command printed (that stream).
    pub actual: String,
    /// A strict (```output) fence.
    pub strict: bool,
}

/// What the run ended with.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunSummary {
    /// Totals.
    pub stats: Stats,
    /// Fences that drifted, for --update-output.
    pub updates: Vec<OutputUpdate>,
}

/// Runs every user's plan, at most `jobs` users at once.
pub(crate) async fn run(
    cfg: Arc<EngineConfig>,
    users: Vec<UserPlan>,
    jobs: usize,
    sink: EventSink,
    cancel: Cancel,
    prompter: Option<Box<dyn prompt::Prompter>>,
) -> RunSummary {
    sink.emit(EventKind::RunStarted {
        users: users.iter().map(|u| u.user.clone()).collect(),
    });
    let semaphore = Arc::new(Semaphore::new(jobs.max(1)));
    let prompter = Arc::new(Mutex::new(prompter));
    let mut tasks = Vec::new();
    for plan in users {
        let (cfg, sink, cancel, semaphore, prompter) = (
            cfg.clone(),
            sink.clone(),
            cancel.clone(),
            semaphore.clone(),
            prompter.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let _permit = semaphore
                .acquire_owned()
                .await
                .expect("semaphore stays open");
            user_run::run_user(&cfg, plan, &sink, &cancel, &prompter).await
        }));
    }
    let mut summary = RunSummary::default();
    for t in tasks {
        match t.await {
            Ok(s) => {
                let st = &mut summary.stats;
                st.passed += s.stats.passed;
                st.failed += s.stats.failed;
                st.skipped += s.stats.skipped;
                st.warnings += s.stats.warnings;
                summary.updates.extend(s.updates);
            }
            Err(e) => {
                sink.emit(EventKind::RunCancelling {
                    reason: format!("a user's run panicked: {e}"),
                });
                summary.stats.failed += 1;
            }
        }
    }
    summary.stats.interrupted = cancel.is_cancelled();
    sink.emit(EventKind::RunFinished {
        stats: summary.stats,
    });
    summary
}
