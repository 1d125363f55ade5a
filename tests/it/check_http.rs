//! `http:` checks against a real loopback server, directly and through a forward proxy.

use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::get;
use labctl::cancel::Cancel;
use labctl::check::{CheckContext, CheckError, CheckOutcome, for_spec};
use labctl::lab::check_spec::parse_check;
use serde_json::{Value, json};

use crate::support::no_scripts::NoScripts;

async fn serve(app: Router) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

/// The server the checks ask.
async fn origin() -> u16 {
    let app = Router::new()
        .route(
            "/results",
            get(|| async {
                (
                    [("x-lab", "egress"), ("content-type", "application/json")],
                    json!([{"link": "https://a.example", "n": 1}, {"link": "https://b.example", "n": 2}])
                        .to_string(),
                )
            }),
        )
        .route(
            "/oops",
            get(|| async {
                axum::Json(json!({"oops": {"name": "RequestError", "cause": {"code": "ECONNRESET"}}}))
            }),
        )
        .route("/teapot", get(|| async { (StatusCode::IM_A_TEAPOT, "short and stout") }));
    serve(app).await
}

/// A forward proxy: records each absolute URL it is asked for, fetches it and
/// answers with a `via` header, so a test can tell the request went through it.
async fn proxy(seen: Arc<Mutex<Vec<String>>>) -> u16 {
    async fn forward(State(seen): State<Arc<Mutex<Vec<String>>>>, uri: Uri) -> impl IntoResponse {
        seen.lock().unwrap().push(uri.to_string());
        let direct = reqwest::Client::builder().no_proxy().build().unwrap();
        let resp = direct.get(uri.to_string()).send().await.unwrap();
        let status = StatusCode::from_u16(resp.status().as_u16()).unwrap();
        let mut headers = HeaderMap::new();
        for (k, v) in resp.headers() {
            headers.insert(k.clone(), v.clone());
        }
        headers.insert("via", "1.1 test-proxy".parse().unwrap());
        (status, headers, resp.text().await.unwrap())
    }
    serve(Router::new().fallback(forward).with_state(seen)).await
}

async fn eval(spec: Value, env: &[(String, String)]) -> Result<CheckOutcome, CheckError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (kind, _) = parse_check(&spec).expect("valid check");
    let cancel = Cancel::never();
    let ctx = CheckContext {
        output: None,
        env,
        workdir: Path::new("."),
        runner: &NoScripts,
        cancel: &cancel,
        kube: None,
    };
    for_spec(&kind).evaluate(&ctx).await
}

#[tokio::test]
async fn status_headers_body_and_json() {
    let port = origin().await;
    let url = format!("http://127.0.0.1:{port}/results");
    let o = eval(
        json!({"http": url, "status": 200, "headers": {"x-lab": "egress", "content-type": {"contains": "json"}},
               "body": {"contains": "https://a.example"}, "json": "$[*].link", "each": {"matches": "^https://"}}),
        &[],
    )
    .await
    .unwrap();
    assert!(o.passed, "{o:?}");

    let o = eval(json!({"http": url, "json": "$[*].link", "count": 3}), &[])
        .await
        .unwrap();
    assert!(!o.passed);
    assert!(o.actual.starts_with("2 nodes"), "{o:?}");

    let o = eval(json!({"http": url, "headers": {"x-lab": "ingress"}}), &[])
        .await
        .unwrap();
    assert!(!o.passed);
    assert_eq!(o.actual, "egress");

    let o = eval(
        json!({"http": url, "headers": {"x-missing": {"contains": "a"}}}),
        &[],
    )
    .await
    .unwrap();
    assert!(!o.passed);
    assert_eq!(o.actual, "no x-missing header");

    let oops = format!("http://127.0.0.1:{port}/oops");
    let o = eval(
        json!({"http": oops, "json": "$.oops.cause.code", "equals": "ECONNRESET"}),
        &[],
    )
    .await
    .unwrap();
    assert!(o.passed, "{o:?}");
}

#[tokio::test]
async fn wrong_status_fails_and_shows_the_body() {
    let port = origin().await;
    let o = eval(
        json!({"http": format!("http://127.0.0.1:{port}/teapot"), "status": 200}),
        &[],
    )
    .await
    .unwrap();
    assert!(!o.passed);
    assert!(o.actual.contains("418"), "{o:?}");
    assert!(o.message.unwrap().contains("short and stout"));
}

#[tokio::test]
async fn body_that_is_not_json_cannot_be_evaluated() {
    let port = origin().await;
    let e = eval(
        json!({"http": format!("http://127.0.0.1:{port}/teapot"), "json": "$.a", "exists": true}),
        &[],
    )
    .await
    .unwrap_err();
    assert!(matches!(e, CheckError::NotJson { .. }), "{e}");
}

#[tokio::test]
async fn connection_refused_is_an_error_not_a_failure() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e = eval(
        json!({"http": format!("http://127.0.0.1:{port}/"), "status": 200}),
        &[],
    )
    .await
    .unwrap_err();
    assert!(matches!(e, CheckError::Http { .. }), "{e}");
}

#[tokio::test]
async fn goes_through_the_proxy_of_the_step_environment() {
    let port = origin().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let pport = proxy(seen.clone()).await;
    let url = format!("http://127.0.0.1:{port}/results");
    let env = vec![(
        "HTTP_PROXY".to_string(),
        format!("http://127.0.0.1:{pport}"),
    )];
    let o = eval(
        json!({"http": url, "status": 200, "headers": {"via": {"contains": "test-proxy"}}, "json": "$[0].n", "equals": 1}),
        &env,
    )
    .await
    .unwrap();
    assert!(o.passed, "{o:?}");
    assert_eq!(*seen.lock().unwrap(), vec![url.clone()]);

    // NO_PROXY bypasses it.
    let mut env = env.clone();
    env.push(("NO_PROXY".to_string(), "127.0.0.1".to_string()));
    let o = eval(
        json!({"http": url, "status": 200, "headers": {"via": {"not-contains": "test-proxy"}}}),
        &env,
    )
    .await
    .unwrap();
    assert!(o.passed, "{o:?}");
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "the proxy was not asked again"
    );

    // Lower case wins, as with curl.
    let env = vec![
        (
            "http_proxy".to_string(),
            format!("http://127.0.0.1:{pport}"),
        ),
        ("HTTP_PROXY".to_string(), "http://127.0.0.1:1".to_string()),
    ];
    let o = eval(
        json!({"http": url, "headers": {"via": {"contains": "test-proxy"}}}),
        &env,
    )
    .await
    .unwrap();
    assert!(o.passed, "{o:?}");
    assert_eq!(seen.lock().unwrap().len(), 2);
}
