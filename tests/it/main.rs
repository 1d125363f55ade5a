//! Integration tests: the real labctl binary on fixture workshops.

mod bad_input;
mod examiner;
mod harness;
mod http_body;
mod lint;
mod list;
#[path = "../support/processes.rs"]
mod processes;
mod report_targets;
mod run;
mod secrets;
mod signals;
mod working_copies;
mod xml_reports;
