//! Integration tests: the real labctl binary on fixture workshops.

mod harness;
mod lint;
mod list;
#[path = "../support/processes.rs"]
mod processes;
mod run;
mod signals;
mod report_targets;
mod secrets;
mod xml_reports;
mod http_body;
mod working_copies;
mod examiner;
mod bad_input;
