//! Real kubectl 1.32 against the sandbox API server.

mod sandbox_common;

use std::time::Duration;

use sandbox_common::start;

#[tokio::test(flavor = "multi_thread")]
async fn get_seeded_configmap() {
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
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["data"]["mesh"]
            .as_str()
            .unwrap()
            .contains("outboundTrafficPolicy:\n  mode: REGISTRY_ONLY")
    );
    env.sandbox.shutdown().await;
}
