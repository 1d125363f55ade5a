//! A `ScriptRunner` for checks that must never run a script (http, kube,
//! output): a script asked for is an error naming that.

use std::future::Future;
use std::pin::Pin;

use labctl::check::{ScriptError, ScriptRequest, ScriptRunner, TryOutput};

/// Refuses every script.
pub struct NoScripts;

impl ScriptRunner for NoScripts {
    fn run<'a>(
        &'a self,
        _req: ScriptRequest,
    ) -> Pin<Box<dyn Future<Output = Result<TryOutput, ScriptError>> + Send + 'a>> {
        Box::pin(async { Err(ScriptError::Start("this test runs no scripts".into())) })
    }
}
