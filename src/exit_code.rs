//! The exit statuses of labctl, named in one place (cli.md, "Exit status").

use std::process::ExitCode;

/// What a labctl invocation ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything ran and passed (warnings allowed).
    Success,
    /// At least one step or check failed or timed out.
    Failed,
    /// The input is wrong; nothing was run.
    BadInput,
    /// The environment is wrong (sandbox, kubeconfig).
    Environment,
    /// Interrupted by Ctrl-C (SIGINT); reports were still written.
    Interrupted,
    /// Stopped by SIGTERM; reports were still written.
    Terminated,
    /// Stopped by SIGHUP; reports were still written.
    HungUp,
}

impl Exit {
    /// The numeric status for the process.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failed => 1,
            Exit::BadInput => 2,
            Exit::Environment => 3,
            Exit::Interrupted => 130,
            Exit::Terminated => 143,
            Exit::HungUp => 129,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}
