//! Integration tests: the real labctl binary on fixture workshops.

mod harness;
mod interactive;
mod lint;
mod list;
#[path = "../support/processes.rs"]
mod processes;
mod run;
mod sandbox_shell;
mod screen;
mod signals;
mod student;
