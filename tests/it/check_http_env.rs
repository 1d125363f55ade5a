//! labctl's own proxies route check requests only when the step environment sets
//! none (issue 12: `check` in the sandbox shell or behind a corporate proxy).
//! Alone in its own test process, started with the proxy variables set.

use std::path::Path;

use axum::Router;
use axum::routing::get;
use labctl::cancel::Cancel;
use labctl::check::{CheckContext, for_spec};
use labctl::lab::check_spec::parse_check;
use serde_json::json;

use crate::support::alone::alone;

use crate::support::no_scripts::NoScripts;

#[tokio::test]
async fn process_proxies_apply_only_when_the_step_environment_sets_none() {
    // Nothing listens at the proxy: a request sent through it cannot succeed.
    let proxy = Some("http://127.0.0.1:1");
    let env = [
        ("HTTP_PROXY", proxy),
        ("http_proxy", proxy),
        ("ALL_PROXY", proxy),
        ("all_proxy", proxy),
        ("NO_PROXY", None),
        ("no_proxy", None),
    ];
    if !alone(
        "check_http_env::process_proxies_apply_only_when_the_step_environment_sets_none",
        &env,
    ) {
        return;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = Router::new().route("/", get(|| async { "direct" }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let (kind, _) =
        parse_check(&json!({"http": format!("http://127.0.0.1:{port}/"), "body": "direct"}))
            .unwrap();
    let cancel = Cancel::never();
    let judge = |env: &'static [(String, String)]| {
        let kind = kind.clone();
        let cancel = &cancel;
        async move {
            let ctx = CheckContext {
                output: None,
                env,
                workdir: Path::new("."),
                runner: &NoScripts,
                cancel,
                kube: None,
            };
            for_spec(&kind).evaluate(&ctx).await
        }
    };
    // No proxy variable in the step environment: labctl's own proxy is used.
    let through_process_proxy = judge(&[]).await;
    assert!(
        !matches!(&through_process_proxy, Ok(o) if o.passed),
        "{through_process_proxy:?}"
    );
    // The step environment sets one: it decides, labctl's own are ignored.
    let step_env: &'static [(String, String)] = Box::leak(Box::new([(
        "NO_PROXY".to_string(),
        "127.0.0.1".to_string(),
    )]));
    let o = judge(step_env).await.unwrap();
    assert!(o.passed, "{o:?}");
}
