//! Terminals: persistent shell sessions, one-shot commands, process groups,
//! timeouts, bounded output capture, background steps and interrupts.
//!
//! Design (measured in `benches/terminal_steps.rs` and BENCHMARKS.md): each
//! terminal is one long-lived `bash --noprofile --norc` in its own session
//! with `set -m`. A step is the line `__L`, an alias that `source`s the body
//! from a pipe with stdout/stderr redirected to fresh per-step pipes, then
//! echoes `done ID $? NONCE` on the shell's stdout, a status pipe that no step
//! process inherits. See `terminal.rs`; `affinity.rs` keeps labctl and the
//! shell on one CPU between steps.

pub mod affinity;
mod capture;
pub(crate) mod escapees;
mod oneshot;
pub(crate) mod preflight;
pub(crate) mod process_group;
pub(crate) mod quote;
mod terminal;
mod text_clean;

use std::path::PathBuf;
use std::time::Duration;

pub use capture::Captured;
pub use oneshot::{OneShot, run_once};
pub use terminal::Terminals;
pub use text_clean::clean_terminal_text;

/// How terminals are started.
#[derive(Debug, Clone)]
pub struct ShellConfig {
    /// The shell program; bash (or a bash-compatible shell).
    pub shell: PathBuf,
    /// The first working directory of every terminal.
    pub workdir: PathBuf,
    /// Variables added to the inherited environment.
    pub env: Vec<(String, String)>,
    /// Bytes kept at the head and at the tail of each stream.
    pub capture_cap: usize,
    /// Time between SIGTERM (or SIGINT) and SIGKILL.
    pub grace: Duration,
    /// Set when labctl is pinned to one CPU: shells are pinned there between steps.
    pub colocation: Option<affinity::Colocation>,
    /// The run's cancellation: cuts every grace period short once it turns to kill.
    pub cancel: crate::cancel::Cancel,
}

impl Default for ShellConfig {
    fn default() -> Self {
        ShellConfig {
            shell: PathBuf::from("bash"),
            workdir: PathBuf::from("."),
            env: Vec::new(),
            capture_cap: DEFAULT_CAPTURE_CAP,
            grace: Duration::from_secs(2),
            colocation: None,
            cancel: crate::cancel::Cancel::never(),
        }
    }
}

/// Default bytes kept at the head and at the tail of each stream (1 MiB).
pub const DEFAULT_CAPTURE_CAP: usize = 1 << 20;

/// What one step (or one-shot command, or background step) did.
#[derive(Debug, Clone, Default)]
pub struct StepOutput {
    /// Exit status as the shell reports it (`$?`); None when killed by us or by a signal we could see.
    pub exit_code: Option<i32>,
    /// Signal that ended it (for `$?` > 128, the signal `$?` - 128 stands for).
    pub signal: Option<i32>,
    /// Stopped because it ran longer than its timeout.
    pub timed_out: bool,
    /// Stopped because the run was cancelled.
    pub cancelled: bool,
    /// The step ended its shell (`exit`); the terminal starts afresh on next use.
    pub shell_exited: bool,
    /// Captured standard output.
    pub stdout: Captured,
    /// Captured standard error.
    pub stderr: Captured,
    /// Wall-clock time from start to end.
    pub duration: Duration,
}

impl StepOutput {
    /// True when the step ran to completion with status 0.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out && !self.cancelled
    }
}

/// Why a shell or command could not be run at all (a failing step is not an error).
#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    /// The shell or program could not be started.
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        /// What we tried to run.
        program: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// Terminals are numbered from 1.
    #[error("terminal numbers start at 1, got {0}")]
    BadTerminal(u32),
    /// A one-shot command had neither a script nor an argv.
    #[error("nothing to run: the command has neither a script nor arguments")]
    EmptyCommand,
    /// Setting up the step's files or pipes failed.
    #[error("cannot prepare the step in {path}: {source}")]
    Setup {
        /// The file or directory involved.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The shell stopped answering or went away while starting a background step.
    #[error("terminal {terminal}: the shell {what}")]
    Shell {
        /// The terminal number.
        terminal: u32,
        /// What went wrong, e.g. "exited while starting a background step".
        what: String,
    },
}
