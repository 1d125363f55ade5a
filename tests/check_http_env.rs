//! labctl's own environment must not route check requests: only the step environment
//! does. Alone in its binary because it sets process environment variables.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;

use axum::Router;
use axum::routing::get;
use labctl::cancel::Cancel;
use labctl::check::{CheckContext, ScriptRequest, ScriptRunner, TryOutput, for_spec};
use labctl::lab::check_spec::parse_check;
use serde_json::json;

struct NoRunner;

impl ScriptRunner for NoRunner {
    fn run<'a>(
        &'a self,
        _req: ScriptRequest,
    ) -> Pin<Box<dyn Future<Output = Result<TryOutput, String>> + Send + 'a>> {
        Box::pin(async { Err("no scripts".to_string()) })
    }
}

#[tokio::test]
async fn process_proxy_variables_are_ignored() {
    // SAFETY: this binary has one test and sets the variables before any thread reads them.
    unsafe {
        for k in ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"] {
            std::env::set_var(k, "http://127.0.0.1:1");
        }
        std::env::remove_var("NO_PROXY");
        std::env::remove_var("no_proxy");
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = Router::new().route("/", get(|| async { "direct" }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let (kind, _) =
        parse_check(&json!({"http": format!("http://127.0.0.1:{port}/"), "body": "direct"}))
            .unwrap();
    let cancel = Cancel::never();
    let ctx = CheckContext {
        output: None,
        env: &[],
        workdir: Path::new("."),
        runner: &NoRunner,
        cancel: &cancel,
        kube: None,
    };
    let o = for_spec(&kind).evaluate(&ctx).await.unwrap();
    assert!(o.passed, "{o:?}");
}
