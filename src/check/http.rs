//! `http:` — a request made by labctl itself.
use super::{Check, CheckContext, CheckError, Evaluation};
use crate::lab::check_spec::HttpCheck;

/// Runs an `http:` check.
pub struct HttpChecker<'s>(pub &'s HttpCheck);

impl Check for HttpChecker<'_> {
    fn evaluate<'a>(&'a self, _ctx: &'a CheckContext<'a>) -> Evaluation<'a> {
        Box::pin(async move { Err(CheckError::Unsupported("todo")) })
    }
}
