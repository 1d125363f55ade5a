//! SIGINT, SIGTERM and SIGHUP, handled in one place (as cargo-nextest's
//! `signal.rs` does): each starts the same orderly stop.
//!
//! - The first signal cancels the run: every running step's processes get
//!   SIGTERM, then SIGKILL after the grace period; nothing new starts.
//! - A second signal leaves no grace: SIGKILL now. So does the stop taking
//!   longer than the grace plus [`STOP_SLACK`] (a step or check that does not
//!   listen), which keeps the reports on disk within a few seconds.
//! - The reports are written and the temp dirs removed by the normal end of
//!   the command; only if that has not happened [`LAST_RESORT`] after the
//!   stop turned to kill (something blocks that cannot be interrupted, such
//!   as opening a FIFO) does labctl exit at once, so signals always end it.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::cancel::CancelHandle;
use crate::exit_code::Exit;

/// How long past the grace period an orderly stop may take before it turns to kill.
pub(crate) const STOP_SLACK: Duration = Duration::from_secs(1);
/// How long after the stop turned to kill labctl waits for its own end.
pub(crate) const LAST_RESORT: Duration = Duration::from_secs(3);
/// The environment variable that sets the grace period (`LABCTL_GRACE=5s`).
pub(crate) const GRACE_VAR: &str = "LABCTL_GRACE";
/// The grace period when `LABCTL_GRACE` is not set.
pub(crate) const DEFAULT_GRACE: Duration = Duration::from_secs(2);

/// A signal that stops labctl.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopSignal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM (CI cancellation, `timeout`, `kill`).
    Terminate,
    /// SIGHUP (the terminal or the pod went away).
    Hangup,
}

impl StopSignal {
    /// What labctl exits with after this signal (128 + its number).
    pub(crate) fn exit(self) -> Exit {
        match self {
            StopSignal::Interrupt => Exit::Interrupted,
            StopSignal::Terminate => Exit::Terminated,
            StopSignal::Hangup => Exit::HungUp,
        }
    }

    fn name(self) -> &'static str {
        match self {
            StopSignal::Interrupt => "interrupted",
            StopSignal::Terminate => "terminated (SIGTERM)",
            StopSignal::Hangup => "hung up (SIGHUP)",
        }
    }
}

/// `LABCTL_GRACE` is not a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{GRACE_VAR}: {reason}")]
pub(crate) struct GraceError {
    /// What the duration parser said of the value.
    reason: String,
}

/// The grace period from `LABCTL_GRACE` (a duration such as `500ms` or `5s`).
pub(crate) fn grace_from_env() -> Result<Duration, GraceError> {
    match std::env::var(GRACE_VAR) {
        Ok(v) => crate::lab::check_spec::parse_duration_str(&v).map_err(|e| GraceError {
            reason: e.to_string(),
        }),
        Err(_) => Ok(DEFAULT_GRACE),
    }
}

/// Listens for the stop signals while a command runs.
pub(crate) struct Signals {
    first: Arc<OnceLock<StopSignal>>,
    task: tokio::task::JoinHandle<()>,
}

impl Signals {
    /// Starts listening; `handle` is cancelled on the first signal and killed
    /// on the second (or when the stop outlasts `grace` + [`STOP_SLACK`]).
    pub(crate) fn listen(handle: CancelHandle, grace: Duration) -> std::io::Result<Signals> {
        let mut streams = [
            (StopSignal::Interrupt, signal(SignalKind::interrupt())?),
            (StopSignal::Terminate, signal(SignalKind::terminate())?),
            (StopSignal::Hangup, signal(SignalKind::hangup())?),
        ];
        let first = Arc::new(OnceLock::new());
        let seen = first.clone();
        let task = tokio::spawn(async move {
            let sig = next(&mut streams).await;
            let _ = seen.set(sig);
            handle.cancel();
            eprintln!(
                "\n{}: stopping running steps (again to stop at once)",
                sig.name()
            );
            tokio::select! {
                _ = next(&mut streams) => eprintln!("stopping at once"),
                _ = tokio::time::sleep(grace + STOP_SLACK) => {}
            }
            handle.kill();
            tokio::select! {
                _ = next(&mut streams) => {}
                _ = tokio::time::sleep(LAST_RESORT) => {}
            }
            eprintln!("error: labctl could not stop in time; exiting now");
            std::process::exit(sig.exit().code().into());
        });
        Ok(Signals { first, task })
    }

    /// The first stop signal received, if any.
    pub(crate) fn received(&self) -> Option<StopSignal> {
        self.first.get().copied()
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn next(streams: &mut [(StopSignal, Signal); 3]) -> StopSignal {
    let [(a, sa), (b, sb), (c, sc)] = streams;
    tokio::select! {
        _ = sa.recv() => *a,
        _ = sb.recv() => *b,
        _ = sc.recv() => *c,
    }
}
