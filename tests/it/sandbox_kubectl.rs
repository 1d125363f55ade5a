//! Real kubectl 1.32 against the sandbox API server: every verb the labs use.

use std::time::Duration;

use crate::support::sandbox::{start, start_with, stderr, stdout};
use labctl::sandbox::SandboxConfig;
use serde_json::Value;

const CM: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: demo
  labels:
    app: demo
    tier: front
data:
  greeting: hello
";

#[tokio::test(flavor = "multi_thread")]
async fn get_seeded_state_in_every_output_format() {
    let env = start(2, Duration::ZERO).await;
    let out = env.kubectl_ok(&["get", "cm", "-n", "user1-istio"]).await;
    assert!(out.contains("istio-workshop-install"), "{out}");
    let out = env
        .kubectl_ok(&[
            "get",
            "cm",
            "istio-workshop-install",
            "-n",
            "user2-istio",
            "-o",
            "json",
        ])
        .await;
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["data"]["mesh"]
            .as_str()
            .unwrap()
            .contains("outboundTrafficPolicy:\n  mode: REGISTRY_ONLY")
    );
    assert!(v["metadata"]["uid"].is_string());
    let out = env
        .kubectl_ok(&["get", "svc", "context-scraper", "-o", "yaml"])
        .await;
    assert!(out.contains("port: 8080"), "{out}");
    let out = env
        .kubectl_ok(&[
            "get",
            "svc",
            "context-scraper",
            "-o",
            "jsonpath={.spec.ports[0].port}",
        ])
        .await;
    assert_eq!(out, "8080");
    let out = env.kubectl_ok(&["get", "ns", "-o", "name"]).await;
    assert_eq!(
        out,
        "namespace/user1\nnamespace/user1-istio\nnamespace/user2\nnamespace/user2-istio\n"
    );
    let out = env.kubectl_ok(&["get", "cm", "-A", "-o", "name"]).await;
    assert_eq!(out.lines().count(), 2, "{out}");
    let out = env.kubectl(&["get", "cm", "nope"]).await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("configmaps \"nope\" not found"),
        "{}",
        stderr(&out)
    );
    env.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_creates_then_updates_with_last_applied() {
    let env = start(1, Duration::ZERO).await;
    let f = env.file("cm.yaml", CM);
    let out = env.kubectl_ok(&["apply", "-f", &f]).await;
    assert_eq!(out, "configmap/demo created\n");
    let out = env.kubectl_ok(&["apply", "-f", &f]).await;
    assert_eq!(out, "configmap/demo unchanged\n");
    let f2 = env.file("cm2.yaml", &CM.replace("hello", "bonjour"));
    let out = env.kubectl_ok(&["apply", "-f", &f2]).await;
    assert_eq!(out, "configmap/demo configured\n");
    let v: Value =
        serde_json::from_str(&env.kubectl_ok(&["get", "cm", "demo", "-o", "json"]).await).unwrap();
    assert_eq!(v["data"]["greeting"], "bonjour");
    assert_eq!(v["metadata"]["namespace"], "user1");
    let last = v["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
        .as_str()
        .expect("last-applied annotation");
    assert!(last.contains("bonjour"), "{last}");
    // kubectl create of an existing object is a 409 AlreadyExists.
    let out = env.kubectl(&["create", "-f", &f]).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("AlreadyExists"), "{}", stderr(&out));
    env.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn label_selectors_describe_and_delete() {
    let env = start(1, Duration::ZERO).await;
    env.apply("cm.yaml", CM).await;
    env.apply(
        "other.yaml",
        &CM.replace("name: demo", "name: other")
            .replace("front", "back"),
    )
    .await;
    let names = |sel: &'static str| {
        let env = &env;
        async move {
            env.kubectl_ok(&["get", "cm", "-l", sel, "-o", "name"])
                .await
        }
    };
    assert_eq!(names("tier=front").await, "configmap/demo\n");
    assert_eq!(names("tier!=front").await, "configmap/other\n");
    assert_eq!(names("tier in (front,back)").await.lines().count(), 2);
    assert_eq!(names("tier notin (front)").await, "configmap/other\n");
    assert_eq!(names("!tier").await, "");
    assert_eq!(names("app").await.lines().count(), 2);

    let out = env.kubectl_ok(&["describe", "cm", "demo"]).await;
    assert!(
        out.contains("Name:         demo") && out.contains("greeting"),
        "{out}"
    );
    let out = env
        .kubectl_ok(&["describe", "deploy", "context-scraper"])
        .await;
    assert!(out.contains("context-scraper"), "{out}");

    let out = env.kubectl_ok(&["delete", "cm", "demo"]).await;
    assert_eq!(out, "configmap \"demo\" deleted\n");
    let out = env.kubectl(&["get", "cm", "demo"]).await;
    assert!(stderr(&out).contains("NotFound"), "{}", stderr(&out));
    let out = env.kubectl(&["delete", "cm", "demo"]).await;
    assert!(!out.status.success());
    env.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn patch_merge_json_and_strategic() {
    let env = start(1, Duration::ZERO).await;
    env.apply("cm.yaml", CM).await;
    env.kubectl_ok(&[
        "patch",
        "cm",
        "demo",
        "--type",
        "merge",
        "-p",
        r#"{"data":{"a":"1"}}"#,
    ])
    .await;
    env.kubectl_ok(&[
        "patch",
        "cm",
        "demo",
        "--type",
        "json",
        "-p",
        r#"[{"op":"replace","path":"/data/greeting","value":"hi"},{"op":"remove","path":"/data/a"}]"#,
    ])
    .await;
    env.kubectl_ok(&["patch", "cm", "demo", "-p", r#"{"data":{"b":"2"}}"#])
        .await;
    let data = env
        .kubectl_ok(&["get", "cm", "demo", "-o", "jsonpath={.data}"])
        .await;
    let v: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(v, serde_json::json!({"greeting": "hi", "b": "2"}));
    // A JSON patch whose path does not exist is rejected and changes nothing.
    let out = env
        .kubectl(&[
            "patch",
            "cm",
            "demo",
            "--type",
            "json",
            "-p",
            r#"[{"op":"remove","path":"/data/zz"}]"#,
        ])
        .await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("Invalid") || stderr(&out).contains("invalid"),
        "{}",
        stderr(&out)
    );
    let out = env
        .kubectl(&["patch", "cm", "absent", "-p", r#"{"data":{"b":"2"}}"#])
        .await;
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));
    env.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_for_jsonpath_and_delete() {
    let env = start(1, Duration::ZERO).await;
    let se = env
        .apply(
            "se.yaml",
            "apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata:
  name: egress
spec:
  hosts: [example.com]
  ports: [{number: 80, name: http, protocol: HTTP}]
  location: MESH_EXTERNAL
",
        )
        .await;
    let script = format!(
        "kubectl wait se/egress --for=jsonpath='{{.spec.location}}'=MESH_INTERNAL --timeout=8s & W=$!
         sleep 0.5
         kubectl patch se egress --type merge -p '{{\"spec\":{{\"location\":\"MESH_INTERNAL\"}}}}' >/dev/null
         wait $W || exit 10
         kubectl wait se/egress --for=delete --timeout=8s & D=$!
         sleep 0.5
         kubectl delete -f {se} >/dev/null
         wait $D || exit 11"
    );
    let out = env.bash(&script).await;
    assert!(
        out.status.success(),
        "{:?}\n{}\n{}",
        out.status,
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("serviceentry.networking.istio.io/egress condition met"),
        "{}",
        stdout(&out)
    );
    // Waiting for something that never happens times out and fails.
    let out = env
        .kubectl(&[
            "wait",
            "svc/context-scraper",
            "--for=jsonpath={.spec.type}=NodePort",
            "--timeout=1s",
        ])
        .await;
    assert!(!out.status.success());
    env.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn istio_versions_share_one_object() {
    let env = start(1, Duration::ZERO).await;
    env.apply(
        "se.yaml",
        "apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata: {name: x}
spec: {hosts: [example.com], ports: [{number: 80, name: http, protocol: HTTP}]}
",
    )
    .await;
    for v in ["v1", "v1beta1", "v1alpha3"] {
        let out = env
            .kubectl_ok(&[
                "get",
                &format!("serviceentries.{v}.networking.istio.io"),
                "x",
                "-o",
                "jsonpath={.apiVersion}",
            ])
            .await;
        assert_eq!(out, format!("networking.istio.io/{v}"));
    }
    let out = env.kubectl_ok(&["get", "se", "-o", "name"]).await;
    assert_eq!(out, "serviceentry.networking.istio.io/x\n");
    env.kubectl_ok(&[
        "get",
        "peerauthentications,authorizationpolicies,vs,dr,gw,sidecars,jobs,pods,secrets,events",
    ])
    .await;
    env.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_verbs_are_forbidden() {
    let env = start_with(SandboxConfig {
        users: 1,
        mesh_delay: Duration::ZERO,
        refuse: vec!["delete".into(), "list".into()],
        ..Default::default()
    })
    .await;
    env.kubectl_ok(&["get", "svc", "context-scraper"]).await;
    let out = env.kubectl(&["get", "svc"]).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("forbidden"), "{}", stderr(&out));
    let out = env.kubectl(&["delete", "svc", "context-scraper"]).await;
    assert!(stderr(&out).contains("forbidden"), "{}", stderr(&out));
    env.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_names_are_422() {
    let env = start(1, Duration::ZERO).await;
    let f = env.file("bad.yaml", &CM.replace("name: demo", "name: Not_Valid"));
    let out = env.kubectl(&["create", "-f", &f]).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("is invalid"), "{}", stderr(&out));
    env.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tables_and_create_generators() {
    let env = start(1, Duration::ZERO).await;
    let out = env.kubectl_ok(&["get", "svc"]).await;
    let header: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE"
        ]
    );
    assert!(out.contains("8080/TCP"), "{out}");
    // kubectl sends these as protobuf.
    assert_eq!(
        env.kubectl_ok(&[
            "create",
            "cm",
            "lit",
            "--from-literal=a=b",
            "--from-literal=c=d"
        ])
        .await,
        "configmap/lit created\n"
    );
    assert_eq!(
        env.kubectl_ok(&["create", "ns", "extra"]).await,
        "namespace/extra created\n"
    );
    env.kubectl_ok(&["create", "secret", "generic", "s", "--from-literal=x=y"])
        .await;
    assert_eq!(
        env.kubectl_ok(&["get", "secret", "s", "-o", "jsonpath={.data.x}"])
            .await,
        "eQ=="
    );
    let out = env.kubectl_ok(&["get", "cm", "lit"]).await;
    let row: Vec<&str> = out.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(&row[..2], ["lit", "2"], "{out}");
    env.apply(
        "se.yaml",
        "apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: g}
spec: {hosts: [www.googleapis.com], ports: [{number: 443, name: https, protocol: HTTPS}], location: MESH_EXTERNAL, resolution: DNS}
",
    ).await;
    let out = env.kubectl_ok(&["get", "se"]).await;
    let header: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "HOSTS", "LOCATION", "RESOLUTION", "AGE"]);
    assert!(
        out.contains("[\"www.googleapis.com\"]   MESH_EXTERNAL   DNS"),
        "{out}"
    );
    env.sandbox.shutdown().await;
}
