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
pub fn mesh_config(user: &str) -> String {
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
pub fn seed(store: &Store, users: &[String]) -> Result<(), ApiError> {
    for (i, user) in users.iter().enumerate() {
        let k = i + 1;
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
        create(
            store,
            "ConfigMap",
            "",
            Some(&istio),
            json!({
                "metadata": {"name": MESH_CONFIGMAP, "labels": {"app": "istio", "istio.io/rev": "default", "release": "istio"}},
                "data": {"mesh": mesh_config(user), "meshNetworks": "networks: {}"}
            }),
        )?;
        create(
            store,
            "Route",
            "route.openshift.io",
            Some(&istio),
            json!({
                "metadata": {"name": "kiali", "labels": {"app": "kiali"}},
                "spec": {
                    "host": format!("kiali-{istio}.{APPS_DOMAIN}"),
                    "to": {"kind": "Service", "name": "kiali", "weight": 100},
                    "port": {"targetPort": "http"}
                }
            }),
        )?;
        create(
            store,
            "Route",
            "route.openshift.io",
            Some(&istio),
            json!({
                "metadata": {"name": GATEWAY_NAME, "labels": {"app": GATEWAY_NAME, "istio": "ingressgateway"}},
                "spec": {
                    "host": format!("{GATEWAY_NAME}-{istio}.{APPS_DOMAIN}"),
                    "to": {"kind": "Service", "name": GATEWAY_NAME, "weight": 100},
                    "port": {"targetPort": "http2"}
                }
            }),
        )?;
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
    }
    Ok(())
}
