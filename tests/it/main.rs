//! Integration tests: the real labctl binary on fixture workshops.

mod harness;
mod list;
mod lint;
