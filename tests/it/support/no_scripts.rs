//! A `ScriptRunner` for checks that must never run a script (http, kube,
//! output): a script asked for is an error naming that.

use std::future::Future;
use std::pin::Pin;

use labctl::check::{ScriptRequest, ScriptRunner, TryOutput};

/// Refuses every script.
pub struct NoScripts;

impl ScriptRunner for NoScripts {
    fn run<'a>(
        &'a self,
        _req: ScriptRequest,
    ) -> Pin<Box<dyn Future<Output = Result<TryOutput, String>> + Send + 'a>> {
        Box::pin(async { Err("this test runs no scripts".to_string()) })
    }
}
