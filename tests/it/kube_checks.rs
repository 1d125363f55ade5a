//! `kube:` checks against the in-process sandbox API server, through kube-rs.

use std::time::Duration;

use kube::api::{Api, DeleteParams, DynamicObject, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::GroupVersionKind;
use kube::{Client, Config};
use labctl::cancel::Cancel;
use labctl::check::kube::{KubeOptions, connect::connect, preflight};
use labctl::check::retry::Eventually;
use labctl::check::{CheckContext, CheckError, for_spec};
use labctl::lab::check_spec::parse_check;
use labctl::sandbox::{Sandbox, SandboxConfig};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::support::no_scripts::NoScripts;

/// A sandbox, its step environment, the run's kube options and a client to change things.
struct Fx {
    sandbox: Sandbox,
    env: Vec<(String, String)>,
    opts: KubeOptions,
    client: Client,
}

async fn fx(refuse: &[&str]) -> Fx {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sandbox = Sandbox::start(SandboxConfig {
        users: 2,
        mesh_delay: Duration::ZERO,
        refuse: refuse.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    })
    .await
    .expect("sandbox starts");
    let kc = Kubeconfig::read_from(sandbox.kubeconfig_path()).unwrap();
    let cfg = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .unwrap();
    let client = Client::try_from(cfg).unwrap();
    Fx {
        env: sandbox.env(),
        sandbox,
        opts: KubeOptions::default(),
        client,
    }
}

impl Fx {
    /// Evaluates `spec` with its timing, as the engine does.
    async fn check(&self, spec: Value) -> Eventually {
        let (kind, timing) = parse_check(&spec).expect("spec parses");
        let cancel = Cancel::never();
        let dir = std::env::temp_dir();
        let ctx = CheckContext {
            output: None,
            env: &self.env,
            workdir: &dir,
            runner: &NoScripts,
            cancel: &cancel,
            kube: Some(&self.opts),
        };
        for_spec(&kind).evaluate_within(&ctx, &timing).await
    }

    /// An `Api` for `group/version/kind` in `ns`.
    async fn api(&self, group: &str, version: &str, kind: &str, ns: &str) -> Api<DynamicObject> {
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let (ar, _) = kube::discovery::pinned_kind(&self.client, &gvk)
            .await
            .unwrap();
        Api::namespaced_with(self.client.clone(), ns, &ar)
    }

    /// Creates an object from JSON (kind and apiVersion inside).
    async fn create(&self, ns: &str, obj: Value) {
        let av = obj["apiVersion"].as_str().unwrap();
        let (group, version) = av.rsplit_once('/').unwrap_or(("", av));
        let api = self
            .api(group, version, obj["kind"].as_str().unwrap(), ns)
            .await;
        let o: DynamicObject = serde_json::from_value(obj).unwrap();
        api.create(&PostParams::default(), &o).await.unwrap();
    }

    async fn configmap(&self, ns: &str, name: &str, labels: Value) {
        self.create(
            ns,
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": name, "labels": labels}, "data": {"k": "v"}}),
        )
        .await;
    }
}

fn passed(ev: &Eventually) -> bool {
    ev.passed()
}

fn failed_message(ev: &Eventually) -> String {
    match &ev.result {
        Ok(o) => {
            assert!(!o.passed, "expected a failure: {o:?}");
            format!(
                "{} | expected {} | actual {} | {}",
                o.description,
                o.expected,
                o.actual,
                o.message.clone().unwrap_or_default()
            )
        }
        Err(e) => panic!("expected a failed check, got an error: {e}"),
    }
}

fn error_text(ev: &Eventually) -> String {
    match &ev.result {
        Err(e) => e.to_string(),
        Ok(o) => panic!("expected an error, got {o:?}"),
    }
}

fn egress(hosts: &[&str]) -> Value {
    json!({"apiVersion": "networking.istio.io/v1alpha3", "kind": "ServiceEntry",
           "metadata": {"name": "context-scraper-egress"},
           "spec": {"hosts": hosts, "location": "MESH_EXTERNAL", "resolution": "DNS",
                    "ports": [{"number": 443, "name": "https", "protocol": "TLS"}]}})
}

#[tokio::test(flavor = "multi_thread")]
async fn exists_and_json_over_the_seeded_configmap() {
    let f = fx(&[]).await;
    let ev = f
        .check(json!({"kube": "v1/ConfigMap", "name": "istio-workshop-install", "namespace": "user1-istio"}))
        .await;
    assert!(passed(&ev), "{ev:?}");
    let ev = f
        .check(
            json!({"kube": "v1/ConfigMap", "name": "istio-workshop-install",
                      "namespace": "%username%-istio".replace("%username%", "user2"),
                      "json": "$.data.*", "any": {"matches": "mode: REGISTRY_ONLY"}}),
        )
        .await;
    assert!(passed(&ev), "{ev:?}");
    // Not there in the context's namespace (user1).
    let ev = f
        .check(json!({"kube": "v1/ConfigMap", "name": "istio-workshop-install"}))
        .await;
    let msg = failed_message(&ev);
    assert!(msg.contains("not found") && msg.contains("user1"), "{msg}");
    f.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn default_namespace_comes_from_the_kubeconfig_context() {
    let f = fx(&[]).await;
    f.configmap("user1", "mine", json!({})).await;
    let ev = f
        .check(json!({"kube": "v1/ConfigMap", "name": "mine"}))
        .await;
    assert!(passed(&ev), "{ev:?}");
    assert!(
        ev.result.as_ref().unwrap().description.contains("in user1"),
        "{ev:?}"
    );
    f.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn subset_match_passes_in_any_order_and_fails_with_a_yaml_diff() {
    let f = fx(&[]).await;
    f.create("user1", egress(&["www.googleapis.com", "api.example.com"]))
        .await;
    let ev = f
        .check(json!({"kube": "networking.istio.io/v1alpha3/ServiceEntry",
                      "name": "context-scraper-egress", "namespace": "user1",
                      "fields": {"spec": {"hosts": ["api.example.com", "www.googleapis.com"],
                                          "location": "MESH_EXTERNAL",
                                          "ports": [{"number": 443}]}}}))
        .await;
    assert!(passed(&ev), "{ev:?}");
    let ev = f
        .check(json!({"kube": "networking.istio.io/v1alpha3/ServiceEntry",
                      "name": "context-scraper-egress", "namespace": "user1",
                      "fields": {"spec": {"hosts": ["www.googleapis.com"], "location": "MESH_INTERNAL"}}}))
        .await;
    let msg = failed_message(&ev);
    eprintln!("{msg}");
    assert!(
        msg.contains("--- expected") && msg.contains("+++ actual"),
        "{msg}"
    );
    assert!(msg.contains("-  location: MESH_INTERNAL"), "{msg}");
    assert!(msg.contains("+  location: MESH_EXTERNAL"), "{msg}");
    // Only the matching part of the object is shown.
    assert!(
        !msg.contains("uid") && !msg.contains("resolution") && !msg.contains("api.example.com"),
        "{msg}"
    );
    // A typed scalar: the number 443 is not the string "443".
    let ev = f
        .check(json!({"kube": "networking.istio.io/v1alpha3/ServiceEntry",
                      "name": "context-scraper-egress", "namespace": "user1",
                      "fields": {"spec": {"ports": [{"number": "443"}]}}}))
        .await;
    failed_message(&ev);
    f.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn absent_passes_on_404_and_fails_when_present() {
    let f = fx(&[]).await;
    let ev = f
        .check(json!({"kube": "networking.istio.io/v1alpha3/ServiceEntry",
                      "name": "forbidden", "namespace": "user1", "absent": true}))
        .await;
    assert!(passed(&ev), "{ev:?}");
    let ev = f
        .check(
            json!({"kube": "v1/ConfigMap", "name": "istio-workshop-install",
                      "namespace": "user1-istio", "absent": true}),
        )
        .await;
    let msg = failed_message(&ev);
    assert!(msg.contains("exists"), "{msg}");
    f.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn selector_counts() {
    let f = fx(&[]).await;
    for n in ["a", "b", "c"] {
        f.configmap("user1", n, json!({"app": "demo"})).await;
    }
    f.configmap("user1", "other", json!({"app": "other"})).await;
    let check = |count: Value| json!({"kube": "v1/ConfigMap", "namespace": "user1", "selector": "app=demo", "count": count});
    assert!(passed(&f.check(check(json!(3))).await));
    assert!(passed(&f.check(check(json!({"min": 2}))).await));
    let msg = failed_message(&f.check(check(json!(2))).await);
    assert!(msg.contains("3 objects: a, b, c"), "{msg}");
    let ev = f
        .check(json!({"kube": "v1/ConfigMap", "namespace": "user1", "selector": "app=none", "absent": true}))
        .await;
    assert!(passed(&ev), "{ev:?}");
    // Every selected object must contain the fields.
    let ev = f
        .check(
            json!({"kube": "v1/ConfigMap", "namespace": "user1", "selector": "app=demo",
                      "fields": {"data": {"k": "v"}}}),
        )
        .await;
    assert!(passed(&ev), "{ev:?}");
    f.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn condition_ready() {
    let f = fx(&[]).await;
    let mut ready = egress(&["a.example.com"]);
    ready["metadata"]["name"] = json!("ready");
    ready["status"] = json!({"conditions": [
        {"type": "Reconciled", "status": "False"},
        {"type": "Ready", "status": "True", "reason": "Accepted"}]});
    f.create("user1", ready).await;
    let mut not_ready = egress(&["b.example.com"]);
    not_ready["metadata"]["name"] = json!("not-ready");
    not_ready["status"] = json!({"conditions": [
        {"type": "Ready", "status": "False", "reason": "Pending", "message": "waiting for istiod"}]});
    f.create("user1", not_ready).await;
    let se = |name: &str, cond: &str| json!({"kube": "networking.istio.io/v1alpha3/ServiceEntry", "name": name, "condition": cond});
    assert!(passed(&f.check(se("ready", "Ready")).await));
    let msg = failed_message(&f.check(se("not-ready", "Ready")).await);
    assert!(
        msg.contains("Ready=False") && msg.contains("waiting for istiod"),
        "{msg}"
    );
    let msg = failed_message(&f.check(se("ready", "Programmed")).await);
    assert!(msg.contains("no Programmed condition"), "{msg}");
    // The sandbox's Deployment controller sets Available.
    let ev = f
        .check(json!({"kube": "apps/v1/Deployment", "name": "context-scraper", "condition": "Available"}))
        .await;
    assert!(passed(&ev), "{ev:?}");
    f.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_late_create_passes_through_the_watch_at_once() {
    let f = fx(&[]).await;
    let spec = json!({"kube": "v1/ConfigMap", "name": "late", "within": "10s"});
    let started = Instant::now();
    let (ev, created) = tokio::join!(f.check(spec), async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        f.configmap("user1", "late", json!({})).await;
        Instant::now()
    });
    let passed_at = started + ev.elapsed;
    assert!(passed(&ev), "{ev:?}");
    let lag = passed_at.saturating_duration_since(created);
    eprintln!("passed {lag:?} after the create");
    assert!(
        lag < Duration::from_millis(500),
        "passed {lag:?} after the create"
    );
    assert!(ev.elapsed >= Duration::from_secs(2), "{ev:?}");
    assert!(
        ev.result.as_ref().unwrap().message.is_none(),
        "no polling note: {ev:?}"
    );
    f.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deletion_is_observed_through_the_watch() {
    let f = fx(&[]).await;
    f.configmap("user1", "doomed", json!({})).await;
    let spec = json!({"kube": "v1/ConfigMap", "name": "doomed", "absent": true, "within": "10s"});
    let api = f.api("", "v1", "ConfigMap", "user1").await;
    let (ev, deleted) = tokio::join!(f.check(spec), async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        api.delete("doomed", &DeleteParams::default())
            .await
            .unwrap();
        Instant::now()
    });
    assert!(passed(&ev), "{ev:?}");
    assert!(ev.elapsed >= Duration::from_secs(1), "{ev:?}");
    let _ = deleted;
    f.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn within_fails_at_the_deadline_with_the_last_verdict() {
    let f = fx(&[]).await;
    let ev = f
        .check(json!({"kube": "v1/ConfigMap", "name": "never", "within": "1s"}))
        .await;
    let msg = failed_message(&ev);
    assert!(msg.contains("not found"), "{msg}");
    assert!(
        ev.elapsed >= Duration::from_secs(1) && ev.elapsed < Duration::from_secs(10),
        "{ev:?}"
    );
    f.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_kind_suggests_the_right_one() {
    let f = fx(&[]).await;
    let ev = f
        .check(json!({"kube": "networking.istio.io/v1alpha3/ServiceEntr", "name": "x"}))
        .await;
    assert_eq!(
        error_text(&ev),
        "no kind ServiceEntr in group networking.istio.io; did you mean ServiceEntry?"
    );
    let ev = f.check(json!({"kube": "v1/ConfigMapp", "name": "x"})).await;
    assert!(
        error_text(&ev).contains("did you mean ConfigMap?"),
        "{ev:?}"
    );
    let ev = f
        .check(json!({"kube": "networking.istio.io/v9/ServiceEntry", "name": "x"}))
        .await;
    assert!(
        error_text(&ev).contains("does not serve version v9"),
        "{ev:?}"
    );
    f.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_runs_once_per_group() {
    let f = fx(&[]).await;
    f.create("user1", egress(&["a.example.com"])).await;
    for _ in 0..3 {
        let ev = f
            .check(json!({"kube": "networking.istio.io/v1alpha3/ServiceEntry", "name": "context-scraper-egress"}))
            .await;
        assert!(passed(&ev), "{ev:?}");
        let ev = f
            .check(json!({"kube": "v1/ConfigMap", "name": "istio-workshop-install", "namespace": "user1-istio"}))
            .await;
        assert!(passed(&ev), "{ev:?}");
    }
    let conn = connect(&f.opts, &f.env).await.unwrap();
    assert_eq!(conn.discoveries(), 2);
    f.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn preflight_names_what_it_looked_for() {
    let env = vec![(
        "KUBECONFIG".to_string(),
        "/nonexistent/kube/config".to_string(),
    )];
    let e = preflight(None, &env).await.unwrap_err().to_string();
    assert!(e.contains("KUBECONFIG=/nonexistent/kube/config"), "{e}");
    let opts = KubeOptions::new(Some("/nonexistent/explicit".into()), None);
    let e = preflight(Some(&opts), &[]).await.unwrap_err().to_string();
    assert!(e.contains("/nonexistent/explicit"), "{e}");
    // Nothing anywhere: only decidable when labctl's own environment names nothing either.
    if std::env::var_os("KUBECONFIG").is_none()
        && std::env::var_os("KUBERNETES_SERVICE_HOST").is_none()
    {
        let home = tempfile::tempdir().unwrap();
        let env = vec![("HOME".to_string(), home.path().display().to_string())];
        let e = preflight(None, &env).await.unwrap_err().to_string();
        assert!(
            e.contains("KUBECONFIG (not set)")
                && e.contains(&format!("{}/.kube/config", home.path().display()))
                && e.contains("KUBERNETES_SERVICE_HOST"),
            "{e}"
        );
    }
    // A sandbox's environment is enough.
    let f = fx(&[]).await;
    preflight(None, &f.env).await.unwrap();
    let opts = KubeOptions::new(Some(f.sandbox.kubeconfig_path().into()), None);
    preflight(Some(&opts), &[]).await.unwrap();
    let opts = KubeOptions::new(None, Some("nope".into()));
    let e = preflight(Some(&opts), &f.env)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("nope"), "{e}");
    f.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_watch_falls_back_to_polling() {
    let f = fx(&["watch"]).await;
    let spec =
        json!({"kube": "v1/ConfigMap", "name": "late", "within": "10s", "interval": "200ms"});
    let (ev, _) = tokio::join!(f.check(spec), async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        f.configmap("user1", "late", json!({})).await;
    });
    assert!(passed(&ev), "{ev:?}");
    let note = ev
        .result
        .as_ref()
        .unwrap()
        .message
        .clone()
        .unwrap_or_default();
    assert!(note.contains("watch refused (403); polling"), "{ev:?}");
    assert!(ev.tries > 1, "{ev:?}");
    f.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_get_names_verb_resource_and_namespace() {
    let f = fx(&["get"]).await;
    let ev = f
        .check(json!({"kube": "networking.istio.io/v1alpha3/ServiceEntry", "name": "x", "namespace": "user1"}))
        .await;
    assert_eq!(
        error_text(&ev),
        "forbidden: cannot get serviceentries.networking.istio.io in namespace user1"
    );
    assert!(matches!(ev.result, Err(CheckError::Kube(_))));
    f.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_api_is_retried_then_reported() {
    // A port nothing listens on any more.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:{port}\n\
             users:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n\
             current-context: x\n"
        ),
    )
    .unwrap();
    let env = vec![("KUBECONFIG".to_string(), path.display().to_string())];
    let opts = KubeOptions::default();
    let (kind, timing) = parse_check(
        &json!({"kube": "v1/ConfigMap", "name": "x", "within": "1s", "interval": "300ms"}),
    )
    .unwrap();
    let cancel = Cancel::never();
    let ctx = CheckContext {
        output: None,
        env: &env,
        workdir: dir.path(),
        runner: &NoScripts,
        cancel: &cancel,
        kube: Some(&opts),
    };
    let started = Instant::now();
    let ev = for_spec(&kind).evaluate_within(&ctx, &timing).await;
    assert!(ev.tries >= 2, "{ev:?}");
    // Gave up at its 1 s deadline rather than hanging on the refusing server.
    assert!(started.elapsed() < Duration::from_secs(10), "{ev:?}");
    let e = error_text(&ev);
    assert!(e.contains("could not discover v1/ConfigMap"), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_stops_a_watch_at_once() {
    let f = fx(&[]).await;
    let (kind, timing) =
        parse_check(&json!({"kube": "v1/ConfigMap", "name": "never", "within": "30s"})).unwrap();
    let (handle, cancel) = labctl::cancel::pair();
    let dir = std::env::temp_dir();
    let ctx = CheckContext {
        output: None,
        env: &f.env,
        workdir: &dir,
        runner: &NoScripts,
        cancel: &cancel,
        kube: Some(&f.opts),
    };
    let check = for_spec(&kind);
    let (ev, _) = tokio::join!(check.evaluate_within(&ctx, &timing), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        handle.cancel();
    });
    assert!(matches!(ev.result, Err(CheckError::Cancelled)), "{ev:?}");
    // Far below the check's 30 s: the cancel (at 0.3 s) ended it.
    assert!(ev.elapsed < Duration::from_secs(15), "{ev:?}");
    f.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kubeconfigs_that_differ_only_in_namespace_share_client_and_discovery() {
    // Fan-out gives each user a kubeconfig of their own namespace: one client
    // and one discovery serve them all, each check still in its own namespace.
    let f = fx(&[]).await;
    let text = std::fs::read_to_string(f.sandbox.kubeconfig_path()).unwrap();
    assert!(text.contains("namespace: user1") && text.contains("token: sandbox-token"));
    let dir = tempfile::tempdir().unwrap();
    let env_with = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let mut env = f.env.clone();
        env.retain(|(k, _)| k != "KUBECONFIG");
        env.push(("KUBECONFIG".into(), path.display().to_string()));
        env
    };
    let user2 = env_with(
        "user2",
        text.replace("namespace: user1", "namespace: user2"),
    );
    let other_token = env_with("other", text.replace("sandbox-token", "another-token"));

    let one = connect(&f.opts, &f.env).await.unwrap();
    let two = connect(&f.opts, &user2).await.unwrap();
    let other = connect(&f.opts, &other_token).await.unwrap();
    assert_eq!(
        (one.namespace.as_str(), two.namespace.as_str()),
        ("user1", "user2")
    );
    one.resolve("v1", "ConfigMap").await.unwrap();
    two.resolve("v1", "ConfigMap").await.unwrap();
    assert_eq!(
        one.discoveries(),
        1,
        "the second user reused the first's discovery"
    );
    assert_eq!(two.discoveries(), 1);
    other.resolve("v1", "ConfigMap").await.unwrap();
    assert_eq!(
        other.discoveries(),
        1,
        "another identity discovers on its own"
    );
    assert_eq!(one.discoveries(), 1);
    f.sandbox.shutdown().await;
}
