//! The sandbox API server over raw HTTP: discovery, OpenAPI, streaming watches, debug state.

use std::time::Duration;

use crate::support::sandbox::start;
use serde_json::Value;

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn get_json(c: &reqwest::Client, url: &str) -> (u16, Value) {
    let r = c.get(url).send().await.unwrap();
    let code = r.status().as_u16();
    (code, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn version_discovery_and_openapi() {
    let env = start(1, Duration::ZERO).await;
    let api = env.sandbox.api_url();
    let c = http();
    let (code, v) = get_json(&c, &format!("{api}/version")).await;
    assert_eq!(code, 200);
    assert!(v["gitVersion"].as_str().unwrap().starts_with("v1.32."));
    let (_, v) = get_json(&c, &format!("{api}/api/v1")).await;
    let cm = v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "configmaps")
        .unwrap();
    assert_eq!(cm["shortNames"][0], "cm");
    let (_, v) = get_json(&c, &format!("{api}/apis/security.istio.io/v1beta1")).await;
    assert_eq!(v["resources"].as_array().unwrap().len(), 2);
    let r = c
        .get(format!("{api}/apis"))
        .header(
            "Accept",
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["content-type"],
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    );
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["kind"], "APIGroupDiscoveryList");
    let istio = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["metadata"]["name"] == "networking.istio.io")
        .unwrap();
    assert_eq!(istio["versions"].as_array().unwrap().len(), 3);
    let (code, _) = get_json(&c, &format!("{api}/openapi/v2")).await;
    assert_eq!(code, 404);
    let (_, idx) = get_json(&c, &format!("{api}/openapi/v3")).await;
    let url = idx["paths"]["apis/networking.istio.io/v1alpha3"]["serverRelativeURL"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, doc) = get_json(&c, &format!("{api}{url}")).await;
    let text = doc.to_string();
    assert!(text.contains("fieldValidation") && text.contains("\"kind\":\"ServiceEntry\""));
    let (code, v) = get_json(&c, &format!("{api}/apis/nope.example.com/v1")).await;
    assert_eq!((code, v["kind"].as_str()), (404, Some("Status")));
    env.sandbox.shutdown().await;
}

/// Reads one newline-terminated JSON event from a streaming response.
async fn next_event(resp: &mut reqwest::Response, buf: &mut Vec<u8>) -> Value {
    loop {
        if let Some(i) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=i).collect();
            return serde_json::from_slice(&line).unwrap();
        }
        let chunk = tokio::time::timeout(Duration::from_secs(3), resp.chunk())
            .await
            .expect("an event arrives while the watch is open")
            .unwrap()
            .expect("the watch is still open");
        buf.extend_from_slice(&chunk);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_streams_events_replays_history_and_bookmarks() {
    let env = start(1, Duration::ZERO).await;
    let api = env.sandbox.api_url();
    let c = http();
    let coll = format!("{api}/api/v1/namespaces/user1/configmaps");
    let (_, list) = get_json(&c, &coll).await;
    let rv = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();

    let mut live = c
        .get(format!("{coll}?watch=1&resourceVersion={rv}"))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    let r = c
        .post(&coll)
        .json(&serde_json::json!({"metadata": {"name": "w1"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let mut buf = Vec::new();
    let ev = next_event(&mut live, &mut buf).await;
    assert_eq!(
        (
            ev["type"].as_str(),
            ev["object"]["metadata"]["name"].as_str()
        ),
        (Some("ADDED"), Some("w1"))
    );
    c.delete(format!("{coll}/w1")).send().await.unwrap();
    let ev = next_event(&mut live, &mut buf).await;
    assert_eq!(ev["type"], "DELETED");

    // A watch from the old resourceVersion replays both changes.
    let mut replay = c
        .get(format!("{coll}?watch=true&resourceVersion={rv}"))
        .send()
        .await
        .unwrap();
    let mut buf = Vec::new();
    assert_eq!(next_event(&mut replay, &mut buf).await["type"], "ADDED");
    assert_eq!(next_event(&mut replay, &mut buf).await["type"], "DELETED");

    // Streaming lists end their initial events with an annotated bookmark.
    let mut streaming = c
        .get(format!(
            "{api}/api/v1/namespaces/user1/services?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true"
        ))
        .send()
        .await
        .unwrap();
    let mut buf = Vec::new();
    assert_eq!(
        next_event(&mut streaming, &mut buf).await["object"]["metadata"]["name"],
        "context-scraper"
    );
    let bm = next_event(&mut streaming, &mut buf).await;
    assert_eq!(bm["type"], "BOOKMARK");
    assert_eq!(
        bm["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );

    // timeoutSeconds ends the stream.
    let r = c
        .get(format!("{coll}?watch=1&timeoutSeconds=1"))
        .send()
        .await
        .unwrap();
    let body = tokio::time::timeout(Duration::from_secs(3), r.text())
        .await
        .expect("the watch times out");
    assert_eq!(body.unwrap(), "");
    env.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn status_errors_and_debug_state() {
    let env = start(1, Duration::ZERO).await;
    let api = env.sandbox.api_url();
    let c = http();
    let coll = format!("{api}/api/v1/namespaces/user1/configmaps");
    let r = c
        .post(&coll)
        .json(&serde_json::json!({"metadata": {"name": "c"}}))
        .send()
        .await
        .unwrap();
    let created: Value = r.json().await.unwrap();
    // A PUT based on an old resourceVersion conflicts.
    let mut stale = created.clone();
    c.put(format!("{coll}/c"))
        .json(&created)
        .send()
        .await
        .unwrap();
    stale["data"] = serde_json::json!({"x": "y"});
    let r = c
        .put(format!("{coll}/c"))
        .json(&stale)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["reason"], "Conflict");
    let r = c.post(&coll).body("not json").send().await.unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .patch(format!("{coll}/c"))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let (code, state) = get_json(&c, &format!("{api}/debug/state")).await;
    assert_eq!(code, 200);
    assert_eq!(state["mesh"]["user1"]["effective"]["mode"], "REGISTRY_ONLY");
    assert!(state["objects"]["configmaps"].as_array().unwrap().len() >= 2);
    env.sandbox.shutdown().await;
}

/// An oversized body is answered like a real API server: a `Status` 413, not axum's text.
#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_body_gets_a_kubernetes_status_413() {
    let env = start(1, Duration::ZERO).await;
    let api = env.sandbox.api_url();
    let big = format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"big"}},"data":{{"x":"{}"}}}}"#,
        "a".repeat(4 << 20)
    );
    let r = http()
        .post(format!("{api}/api/v1/namespaces/user1/configmaps"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    let v: Value = r.json().await.expect("a JSON Status");
    assert_eq!(
        (v["kind"].as_str(), v["code"].as_u64(), v["reason"].as_str()),
        (Some("Status"), Some(413), Some("RequestEntityTooLarge"))
    );
}
