//! Integration tests: the real labctl binary on fixture workshops.

mod harness;
mod lint;
mod list;
mod run;
