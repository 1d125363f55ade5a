//! The workshop's starting state for each user.

use serde_json::{Value, json};

use super::ingress::GATEWAY_NAME;
use super::mesh::MESH_CONFIGMAP;
use super::scraper;
use super::status::ApiError;
use super::store::Store;
use super::types;

/// The domain of the sandbox's Routes, as an OpenShift cluster's `apps.DOMAIN`.
pub const APPS_DOMAIN: &str = "apps.sandbox.local";

/// The mesh config istiod reads for `user`; egress is locked down (`REGISTRY_ONLY`).
pub(super) fn mesh_config(user: &str) -> String {
    format!(
        "accessLogEncoding: JSON
accessLogFile: /dev/stdout
defaultConfig:
  discoveryAddress: istiod-{user}-istio.{user}-istio.svc:15012
  holdApplicationUntilProxyStarts: true
  proxyMetadata:
    ISTIO_META_DNS_CAPTURE: \"true\"
  tracing:
    sampling: 100
    zipkin:
      address: zipkin.{user}-istio:9411
enableAutoMtls: true
enablePrometheusMerge: true
enableTracing: true
outboundTrafficPolicy:
  mode: REGISTRY_ONLY
rootNamespace: {user}-istio
trustDomain: cluster.local
"
    )
}

fn create(
    store: &Store,
    kind: &str,
    group: &str,
    ns: Option<&str>,
    obj: Value,
) -> Result<(), ApiError> {
    let rt = types::by_kind(group, kind).ok_or_else(|| ApiError::no_route(kind))?;
    store.create(rt, ns, obj).map(|_| ())
}

/// Creates namespaces, the mesh ConfigMap and the context-scraper for each of `users`.
pub(super) fn seed(store: &Store, users: &[String]) -> Result<(), ApiError> {
    for (i, user) in users.iter().enumerate() {
        let istio = format!("{user}-istio");
        for ns in [user, &istio] {
            create(
                store,
                "Namespace",
                "",
                None,
                json!({"metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns, "workshop/user": user}}}),
            )?;
        }
        seed_istio(store, user, &istio)?;
        seed_scraper(store, user, i + 1)?;
    }
    Ok(())
}

/// The mesh ConfigMap and the Routes to Kiali and the ingress gateway in `istio`.
fn seed_istio(store: &Store, user: &str, istio: &str) -> Result<(), ApiError> {
    create(
        store,
        "ConfigMap",
        "",
        Some(istio),
        json!({
            "metadata": {"name": MESH_CONFIGMAP, "labels": {"app": "istio", "istio.io/rev": "default", "release": "istio"}},
            "data": {"mesh": mesh_config(user), "meshNetworks": "networks: {}"}
        }),
    )?;
    let kiali = json!({"app": "kiali"});
    create_route(store, istio, "kiali", kiali, "http")?;
    let gateway = json!({"app": GATEWAY_NAME, "istio": "ingressgateway"});
    create_route(store, istio, GATEWAY_NAME, gateway, "http2")
}

/// An OpenShift Route `name` to the Service of the same name in `ns`.
fn create_route(
    store: &Store,
    ns: &str,
    name: &str,
    labels: Value,
    target_port: &str,
) -> Result<(), ApiError> {
    create(
        store,
        "Route",
        "route.openshift.io",
        Some(ns),
        json!({
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "host": format!("{name}-{ns}.{APPS_DOMAIN}"),
                "to": {"kind": "Service", "name": name, "weight": 100},
                "port": {"targetPort": target_port}
            }
        }),
    )
}

/// The context-scraper's Service and Deployment in `user`'s namespace, the `k`th.
fn seed_scraper(store: &Store, user: &str, k: usize) -> Result<(), ApiError> {
    let labels = json!({"app": "context-scraper", "version": "v1"});
    create(
        store,
        "Service",
        "",
        Some(user),
        json!({
            "metadata": {"name": "context-scraper", "labels": labels},
            "spec": {
                "type": "ClusterIP",
                "clusterIP": format!("172.30.{}.{}", 100 + k / 250, 10 + k % 240),
                "selector": {"app": "context-scraper"},
                "ports": [{"name": "http", "port": scraper::PORT, "protocol": "TCP", "targetPort": scraper::PORT}]
            }
        }),
    )?;
    create(
        store,
        "Deployment",
        "apps",
        Some(user),
        json!({
            "metadata": {"name": "context-scraper", "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "context-scraper"}},
                "template": {
                    "metadata": {"labels": labels, "annotations": {"sidecar.istio.io/inject": "true"}},
                    "spec": {"containers": [{
                        "name": "context-scraper",
                        "image": "quay.io/workshop/context-scraper:v1",
                        "ports": [{"containerPort": scraper::PORT, "name": "http"}]
                    }]}
                }
            }
        }),
    )?;
    Ok(())
}
