//! kube-rs against the sandbox API server: list, get, discovery, watch and await_condition.

use std::time::Duration;

use crate::support::sandbox::{Env, start};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::GroupVersionKind;
use kube::runtime::{WatchStreamExt, wait::await_condition, watcher};
use kube::{Client, Config};

async fn client(env: &Env) -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kc = Kubeconfig::read_from(env.sandbox.kubeconfig_path()).expect("kubeconfig parses");
    let cfg = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("kubeconfig loads");
    Client::try_from(cfg).expect("client builds")
}

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": name, "labels": {"app": "kube-rs"}},
        "data": {"k": "v"}
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn list_get_create_delete() {
    let env = start(3, Duration::ZERO).await;
    let c = client(&env).await;
    let namespaces: Api<Namespace> = Api::all(c.clone());
    assert_eq!(
        namespaces
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        6
    );
    let svc: Api<Service> = Api::namespaced(c.clone(), "user3");
    let s = svc.get("context-scraper").await.unwrap();
    assert_eq!(s.spec.unwrap().ports.unwrap()[0].port, 8080);
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "user1");
    cms.create(&PostParams::default(), &cm("a")).await.unwrap();
    let err = cms
        .create(&PostParams::default(), &cm("a"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 409),
        "{err:?}"
    );
    let listed = cms
        .list(&ListParams::default().labels("app=kube-rs"))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    let all: Api<ConfigMap> = Api::all(c.clone());
    assert_eq!(
        all.list(&ListParams::default()).await.unwrap().items.len(),
        4
    );
    let patched = cms
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"data": {"k": "w"}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.data.unwrap()["k"], "w");
    let applied = cms
        .patch(
            "b",
            &PatchParams::apply("labctl-test"),
            &Patch::Apply(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}, "data": {"x": "1"}})),
        )
        .await
        .unwrap();
    assert_eq!(applied.data.unwrap()["x"], "1");
    cms.delete("a", &DeleteParams::default()).await.unwrap();
    let err = cms.get("a").await.unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 404 && s.reason == "NotFound"),
        "{err:?}"
    );
    env.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dynamic_istio_objects_through_discovery() {
    let env = start(1, Duration::ZERO).await;
    let c = client(&env).await;
    let gvk = GroupVersionKind::gvk("networking.istio.io", "v1alpha3", "ServiceEntry");
    let (ar, _caps) = kube::discovery::pinned_kind(&c, &gvk).await.unwrap();
    assert_eq!(ar.plural, "serviceentries");
    let api: Api<DynamicObject> = Api::namespaced_with(c.clone(), "user1", &ar);
    let mut se = DynamicObject::new("egress", &ar);
    se.data =
        serde_json::json!({"spec": {"hosts": ["www.googleapis.com"], "ports": [{"number": 443}]}});
    api.create(&PostParams::default(), &se).await.unwrap();
    let got = api.get("egress").await.unwrap();
    assert_eq!(got.data["spec"]["hosts"][0], "www.googleapis.com");
    let discovery = kube::Discovery::new(c).run().await.unwrap();
    assert!(discovery.groups().any(|g| g.name() == "security.istio.io"));
    env.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn watcher_sees_a_create_and_await_condition_returns() {
    let env = start(1, Duration::ZERO).await;
    let c = client(&env).await;
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "user1");
    let stream = watcher(cms.clone(), watcher::Config::default()).applied_objects();
    let seen = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(cm) = stream.try_next().await.expect("watch stream") {
            if cm.metadata.name.as_deref() == Some("watched") {
                return cm;
            }
        }
        panic!("watch ended without the create")
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let waiter = tokio::spawn(await_condition(
        cms.clone(),
        "watched",
        |o: Option<&ConfigMap>| {
            o.and_then(|c| c.data.as_ref())
                .is_some_and(|d| d.get("k").map(String::as_str) == Some("done"))
        },
    ));
    cms.create(&PostParams::default(), &cm("watched"))
        .await
        .unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), seen)
        .await
        .expect("watcher saw the create")
        .unwrap();
    assert_eq!(got.data.unwrap()["k"], "v");
    cms.patch(
        "watched",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"data": {"k": "done"}})),
    )
    .await
    .unwrap();
    let done = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("await_condition returned");
    assert!(done.unwrap().unwrap().is_some());
    env.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_ends_open_watches_and_frees_the_port() {
    let env = start(1, Duration::ZERO).await;
    let c = client(&env).await;
    let cms: Api<ConfigMap> = Api::namespaced(c, "user1");
    let mut raw = cms
        .watch(&kube::api::WatchParams::default(), "0")
        .await
        .unwrap()
        .boxed();
    // The watch is open (its first event, if any, arrives); now shut down under it.
    let _ = tokio::time::timeout(Duration::from_millis(200), raw.next()).await;
    let api = env.sandbox.api_url();
    let addr = api.trim_start_matches("http://").to_string();
    tokio::time::timeout(Duration::from_secs(5), env.sandbox.shutdown())
        .await
        .expect("shutdown is quick");
    let end = tokio::time::timeout(Duration::from_secs(3), async {
        while let Some(Ok(_)) = raw.next().await {}
    })
    .await;
    assert!(end.is_ok(), "the watch stream ended");
    assert!(
        tokio::net::TcpStream::connect(&addr).await.is_err(),
        "nothing listens on {addr} any more"
    );
}
