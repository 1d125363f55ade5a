//! Integration tests: the real labctl binary on fixture workshops.

#[path = "../support/browser.rs"]
mod browser;
mod harness;
mod interactive;
mod lint;
mod list;
#[path = "../support/processes.rs"]
mod processes;
mod reports;
mod run;
mod sandbox_shell;
mod screen;
mod serve;
#[path = "../support/served.rs"]
mod served;
mod signals;
mod student;
