//! Integration tests: the real labctl binary on fixture workshops.

mod bad_input;
mod board;
#[path = "../support/browser.rs"]
mod browser;
mod examiner;
mod harness;
mod http_body;
mod interactive;
mod lint;
mod list;
#[path = "../support/processes.rs"]
mod processes;
mod report_targets;
mod reports;
mod run;
mod sandbox_shell;
mod screen;
mod secrets;
mod serve;
#[path = "../support/served.rs"]
mod served;
mod signals;
mod student;
mod working_copies;
mod xml_reports;
