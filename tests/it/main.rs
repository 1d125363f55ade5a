//! Integration tests: the real labctl binary on fixture workshops.

mod board;
#[path = "../support/browser.rs"]
mod browser;
mod harness;
mod lint;
mod list;
#[path = "../support/processes.rs"]
mod processes;
mod run;
mod serve;
#[path = "../support/served.rs"]
mod served;
mod signals;
