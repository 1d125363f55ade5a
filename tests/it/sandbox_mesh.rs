//! The mesh proxy and context-scraper, driven with real curl and kubectl.

use std::time::Duration;

use crate::support::sandbox::{Env, start, stderr, stdout};
use serde_json::Value;

const DELAY: Duration = Duration::from_millis(300);
const SEARCH: &str = "context-scraper.user1:8080/scrape/custom_search?term==skynet";

const SERVICE_ENTRY: &str = "apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata:
  name: context-scraper-egress
spec:
  hosts:
  - www.googleapis.com
  ports:
  - number: 443
    name: https
    protocol: HTTPS
  resolution: DNS
  location: MESH_EXTERNAL
  exportTo:
  - \".\"
";

/// `curl` through the proxy: (status code, parsed body).
async fn search(env: &Env, url: &str) -> (u16, Value) {
    let out = env
        .bash(&format!("curl -s -w '\\n%{{http_code}}' '{url}'"))
        .await;
    let text = stdout(&out);
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", ""));
    let code = code
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("no status from curl: {text:?} {}", stderr(&out)));
    (
        code,
        serde_json::from_str(body).unwrap_or(Value::String(body.to_string())),
    )
}

fn assert_blocked(code: u16, body: &Value) {
    assert_eq!(code, 500, "{body}");
    assert_eq!(body["oops"]["name"], "RequestError");
    assert_eq!(body["oops"]["message"], "Error: read ECONNRESET");
    assert_eq!(body["oops"]["cause"]["code"], "ECONNRESET");
    assert_eq!(body["oops"]["error"]["syscall"], "read");
    assert!(
        body["oops"]["options"]["uri"]
            .as_str()
            .unwrap()
            .contains("key=AIza")
    );
}

fn assert_results(code: u16, body: &Value) {
    assert_eq!(code, 200, "{body}");
    let items = body.as_array().expect("an array of results");
    assert!(!items.is_empty());
    assert!(
        items
            .iter()
            .all(|i| i["link"].is_string() && i["thumbnail"][0]["src"].is_string())
    );
}

/// Turns user1's mesh to ALLOW_ANY the way a student would: kubectl get the
/// mesh config, change its outbound mode, kubectl patch it back.
async fn allow_any(env: &Env) {
    let mesh = env
        .kubectl_ok(&[
            "get",
            "cm",
            "istio-workshop-install",
            "-n",
            "user1-istio",
            "-o",
            "jsonpath={.data.mesh}",
        ])
        .await;
    assert!(mesh.contains("mode: REGISTRY_ONLY"), "{mesh}");
    let patched = mesh.replace("mode: REGISTRY_ONLY", "mode: ALLOW_ANY");
    let patch = serde_json::json!({"data": {"mesh": patched}}).to_string();
    env.kubectl_ok(&[
        "patch",
        "cm",
        "istio-workshop-install",
        "-n",
        "user1-istio",
        "--type",
        "merge",
        "-p",
        &patch,
    ])
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn blocked_by_default_with_fresh_ids() {
    let env = start(2, DELAY).await;
    let (code, a) = search(&env, &format!("http://{SEARCH}")).await;
    assert_blocked(code, &a);
    let (code, b) = search(&env, SEARCH).await;
    assert_blocked(code, &b);
    assert_ne!(
        a["oops"]["options"]["headers"],
        b["oops"]["options"]["headers"]
    );
    // The long service name reaches the same scraper.
    let (code, c) = search(
        &env,
        "context-scraper.user2.svc.cluster.local:8080/scrape/custom_search?term=x",
    )
    .await;
    assert_blocked(code, &c);
    env.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn service_entry_allows_after_the_delay() {
    // Longer than DELAY so a slow kubectl on a busy machine cannot outlast it before the first curl.
    const DELAY: Duration = Duration::from_millis(600);
    let env = start(2, DELAY).await;
    let f = env.apply("se.yaml", SERVICE_ENTRY).await;
    // The control plane has not pushed the change yet.
    let (code, body) = search(&env, SEARCH).await;
    assert_blocked(code, &body);
    tokio::time::sleep(DELAY + Duration::from_millis(100)).await;
    let (code, body) = search(&env, SEARCH).await;
    assert_results(code, &body);
    // Only user1 declared the egress.
    let (code, body) = search(
        &env,
        "context-scraper.user2:8080/scrape/custom_search?term=x",
    )
    .await;
    assert_blocked(code, &body);
    // Deleting it blocks again, after the delay.
    env.kubectl_ok(&["delete", "-f", &f]).await;
    tokio::time::sleep(DELAY + Duration::from_millis(100)).await;
    let (code, body) = search(&env, SEARCH).await;
    assert_blocked(code, &body);
    env.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn service_entry_exported_elsewhere_does_not_count() {
    let env = start(1, Duration::ZERO).await;
    env.apply("se.yaml", &SERVICE_ENTRY.replace("\".\"", "other-ns"))
        .await;
    let (code, body) = search(&env, SEARCH).await;
    assert_blocked(code, &body);
    env.apply("se80.yaml", &SERVICE_ENTRY.replace("443", "80"))
        .await;
    let (code, body) = search(&env, SEARCH).await;
    assert_blocked(code, &body);
    env.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn allow_any_via_kubectl_patch() {
    let env = start(1, Duration::ZERO).await;
    allow_any(&env).await;
    let (code, body) = search(&env, SEARCH).await;
    assert_results(code, &body);
    env.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_hosts_are_bad_gateway() {
    let env = start(1, Duration::ZERO).await;
    for url in [
        "http://www.example.com/",
        "http://context-scraper.user9:8080/scrape/custom_search?term=x",
        "http://context-scraper.user1:9999/",
        "http://nothing.user1:8080/",
    ] {
        let out = env
            .bash(&format!("curl -s -o /dev/null -w '%{{http_code}}' '{url}'"))
            .await;
        assert_eq!(stdout(&out), "502", "{url}");
    }
    let out = env
        .bash("curl -s -o /dev/null -w '%{http_code}' -p -x \"$HTTP_PROXY\" http://www.example.com:443/")
        .await;
    assert_ne!(stdout(&out), "200");
    env.sandbox.shutdown().await;
}

/// The egress lab as a student types it, in one shell.
#[tokio::test(flavor = "multi_thread")]
async fn egress_lab_end_to_end_in_bash() {
    let env = start(1, DELAY).await;
    let f = env.file("se.yaml", SERVICE_ENTRY);
    let script = format!(
        "set -e
oc describe cm/istio-workshop-install -n user1-istio | grep outboundTrafficPolicy -A 1
echo ---
curl -s context-scraper.user1:8080/scrape/custom_search?term==skynet | jq -c .oops.message
echo ---
oc apply -f {f}
curl -s context-scraper.user1:8080/scrape/custom_search?term==skynet | jq -c .oops.message
sleep 0.5
echo ---
curl -s context-scraper.user1:8080/scrape/custom_search?term==skynet | jq -r '.[0].title'
oc get serviceentry -n user1 -o name
"
    );
    let out = env.bash(&script).await;
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let parts: Vec<&str> = stdout(&out).leak().split("---\n").collect();
    assert_eq!(parts[0], "outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n");
    assert_eq!(parts[1], "\"Error: read ECONNRESET\"\n");
    assert_eq!(
        parts[2],
        "serviceentry.networking.istio.io/context-scraper-egress created\n\"Error: read ECONNRESET\"\n"
    );
    assert!(parts[3].to_lowercase().contains("skynet"), "{}", parts[3]);
    assert!(parts[3].ends_with("serviceentry.networking.istio.io/context-scraper-egress\n"));
    env.sandbox.shutdown().await;
}

const GRAPH: &str = "kiali-user1-istio.apps.sandbox.local/kiali/api/namespaces/graph";

/// user1's Kiali graph for `query` through the proxy, as the lab's checks fetch it.
async fn graph(env: &Env, query: &str) -> Value {
    let (code, body) = search(env, &format!("http://{GRAPH}{query}")).await;
    assert_eq!(code, 200, "{body}");
    body
}

/// `source node -> target node` for each edge, by the nodes' Kiali names.
fn edges(g: &Value) -> Vec<(String, String)> {
    let nodes = g["elements"]["nodes"].as_array().unwrap();
    let label = |id: &Value| {
        let n = nodes.iter().find(|n| &n["data"]["id"] == id).unwrap();
        let d = &n["data"];
        match d["nodeType"].as_str().unwrap() {
            "service" => d["service"].as_str().unwrap().to_string(),
            "workload" => d["workload"].as_str().unwrap().to_string(),
            other => other.to_string(),
        }
    };
    g["elements"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (label(&e["data"]["source"]), label(&e["data"]["target"])))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn kiali_graph_shows_the_blackhole_then_the_service_entry() {
    let env = start(2, DELAY).await;
    let route = env
        .kubectl_ok(&[
            "get",
            "route",
            "kiali",
            "-n",
            "user1-istio",
            "-o",
            "jsonpath={.spec.host}",
        ])
        .await;
    assert_eq!(route, "kiali-user1-istio.apps.sandbox.local");
    let (code, body) = search(&env, SEARCH).await;
    assert_blocked(code, &body);
    let g = graph(
        &env,
        "?namespaces=user1&graphType=workload&duration=60s&bogus=1",
    )
    .await;
    assert_eq!(g["graphType"], "workload");
    assert_eq!(g["duration"], 60);
    let e = edges(&g);
    assert!(
        e.contains(&("context-scraper".into(), "BlackHoleCluster".into())),
        "{e:?}"
    );
    assert!(!e.iter().any(|(_, t)| t == "www.googleapis.com"), "{e:?}");
    let blackhole = g["elements"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["data"]["target"] == "svc_user1_BlackHoleCluster")
        .unwrap();
    assert_eq!(
        blackhole["data"]["traffic"]["responses"]["-"]["hosts"]["www.googleapis.com"],
        "100.0"
    );

    let f = env.file("se.yaml", SERVICE_ENTRY);
    env.kubectl_ok(&["apply", "-n", "user1", "-f", &f]).await;
    tokio::time::sleep(DELAY * 2).await;
    let (code, body) = search(&env, SEARCH).await;
    assert_results(code, &body);
    let g = graph(&env, "?namespaces=user1&graphType=workload&duration=60s").await;
    let se = g["elements"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["data"]["isServiceEntry"].is_object())
        .expect("a ServiceEntry node");
    assert_eq!(
        se["data"]["isServiceEntry"]["hosts"][0],
        "www.googleapis.com"
    );
    assert_eq!(se["data"]["isServiceEntry"]["location"], "MESH_EXTERNAL");
    assert!(edges(&g).contains(&("context-scraper".into(), "www.googleapis.com".into())));
    // The service graph draws services only.
    let s = graph(&env, "?namespaces=user1&graphType=service&duration=60s").await;
    assert!(
        s["elements"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| ["service", "unknown"].contains(&n["data"]["nodeType"].as_str().unwrap())),
        "{s}"
    );
    // A user who never called the scraper has an empty graph; so has an unknown namespace.
    for q in ["?namespaces=user2&duration=60s", "?namespaces=nobody"] {
        let g = graph(&env, q).await;
        assert_eq!(g["elements"]["nodes"], serde_json::json!([]), "{q}: {g}");
        assert_eq!(g["elements"]["edges"], serde_json::json!([]), "{q}: {g}");
    }
    // Only the window asked for counts.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let g = graph(&env, "?namespaces=user1&duration=1s").await;
    assert_eq!(g["elements"]["edges"], serde_json::json!([]), "{g}");
    env.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kiali_graph_with_allow_any_shows_passthrough() {
    let env = start(1, Duration::ZERO).await;
    allow_any(&env).await;
    let (code, body) = search(&env, SEARCH).await;
    assert_results(code, &body);
    let e = edges(&graph(&env, "?namespaces=user1&graphType=workload&duration=60s").await);
    assert!(
        e.contains(&("context-scraper".into(), "PassthroughCluster".into())),
        "{e:?}"
    );
    assert!(!e.iter().any(|(_, t)| t == "BlackHoleCluster"), "{e:?}");
    env.sandbox.shutdown().await;
}
