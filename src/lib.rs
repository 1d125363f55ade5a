//! labctl: loads workshop labs written in markdown, runs every command the way a
//! student would, and verifies the outcome.

pub mod cancel;
pub mod exit_code;
pub mod sandbox;

/// Entry point of the binary: parses the command line and runs it.
pub fn run() -> std::process::ExitCode {
    exit_code::Exit::Success.into()
}
