//! The mesh: an HTTP forward proxy that routes `service.namespace[:port]` to simulated services.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::kiali;
use super::mesh::{Egress, Mesh};
use super::scraper;
use super::select::{FieldSelector, LabelSelector};
use super::store::Store;
use super::telemetry::{Destination, Protocol, Record, Source, Telemetry, Workload};
use super::types;

/// Shared state of the proxy.
#[derive(Debug, Clone)]
pub struct ProxyState {
    /// The API server's store (which Services exist).
    pub store: Arc<Store>,
    /// The delayed mesh view.
    pub mesh: Arc<Mesh>,
    /// What the proxy saw, for the Kiali graph.
    pub telemetry: Arc<Telemetry>,
}

/// The proxy's router: every request goes to [`forward`].
pub fn router(state: ProxyState) -> Router {
    Router::new().fallback(forward).with_state(state)
}

fn bad_gateway(why: String) -> Response {
    (StatusCode::BAD_GATEWAY, format!("{why}\n")).into_response()
}

/// Splits `context-scraper.user1.svc.cluster.local` into `("context-scraper", "user1")`.
pub fn service_and_namespace(host: &str) -> Option<(&str, &str)> {
    let host = host.trim_end_matches('.');
    let short = host
        .strip_suffix(".svc.cluster.local")
        .or_else(|| host.strip_suffix(".svc"))
        .unwrap_or(host);
    let (svc, ns) = short.split_once('.')?;
    (!svc.is_empty() && !ns.is_empty() && !ns.contains('.')).then_some((svc, ns))
}

async fn forward(State(p): State<ProxyState>, req: Request) -> Response {
    if req.method() == Method::CONNECT {
        return (
            StatusCode::FORBIDDEN,
            "the sandbox mesh does not tunnel CONNECT; use plain http:// URLs for in-mesh services\n",
        )
            .into_response();
    }
    let uri = req.uri();
    let authority = uri.authority().map(|a| a.as_str().to_string()).or_else(|| {
        req.headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
    });
    let Some(authority) = authority else {
        return bad_gateway("no host in the request".into());
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => match p.parse::<u16>() {
            Ok(p) => (h.to_string(), p),
            Err(_) => return bad_gateway(format!("bad port in {authority:?}")),
        },
        None => (authority.clone(), 80),
    };
    if let Some(route) = route_for_host(&p.store, &host) {
        return serve_route(&p, &route, uri.path(), uri.query());
    }
    let Some((svc, ns)) = service_and_namespace(&host) else {
        return bad_gateway(format!(
            "upstream connect error: no route to host {host:?} in the sandbox mesh"
        ));
    };
    let Some(svc_type) = types::by_kind("", "Service") else {
        return bad_gateway("the sandbox knows no Services".into());
    };
    let Ok(service) = p.store.get(svc_type, Some(ns), svc) else {
        return bad_gateway(format!(
            "upstream connect error: no service {svc:?} in namespace {ns:?}"
        ));
    };
    let ports: Vec<u64> = service
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("port").and_then(Value::as_u64))
        .collect();
    if !ports.contains(&u64::from(port)) {
        return bad_gateway(format!(
            "upstream connect error: service {svc}.{ns} does not listen on port {port}"
        ));
    }
    match svc {
        "context-scraper" => scrape(&p, Source::Unknown, ns, uri.path(), uri.query()),
        _ => bad_gateway(format!(
            "upstream connect error: no healthy upstream for {svc}.{ns} (the sandbox simulates only context-scraper)"
        )),
    }
}

/// The `context-scraper` workload of namespace `ns`, as its Deployment labels it.
fn scraper_workload(ns: &str) -> Workload {
    Workload {
        namespace: ns.to_string(),
        name: "context-scraper".into(),
        app: "context-scraper".into(),
        version: "v1".into(),
    }
}

/// A request from `source` to context-scraper in `ns`, and the upstream call it makes, both
/// recorded as the sidecars would report them.
pub fn scrape(
    p: &ProxyState,
    source: Source,
    ns: &str,
    path: &str,
    query: Option<&str>,
) -> Response {
    let view = p.mesh.effective(ns);
    if scraper::calls_upstream(path, query) {
        let egress = view
            .as_ref()
            .map_or(Egress::Passthrough, |v| v.egress(scraper::UPSTREAM_HOST, 443));
        let namespace = ns.to_string();
        let (destination, flags) = match egress {
            Egress::BlackHole => (Destination::BlackHole { namespace }, "UH"),
            Egress::Passthrough => (Destination::Passthrough { namespace }, "-"),
            Egress::Registered(host) => (Destination::ServiceEntry { namespace, host }, "-"),
        };
        p.telemetry.record(Record {
            at: std::time::SystemTime::now(),
            source: Source::Workload(scraper_workload(ns)),
            destination,
            host: scraper::UPSTREAM_HOST.into(),
            protocol: Protocol::Tcp,
            code: None,
            flags,
            bytes: if flags == "-" { 4096 } else { 0 },
        });
    }
    let response = scraper::handle(path, query, view.as_ref());
    p.telemetry.record(Record {
        at: std::time::SystemTime::now(),
        source,
        destination: Destination::Service {
            namespace: ns.to_string(),
            name: "context-scraper".into(),
            workload: Some(scraper_workload(ns)),
        },
        host: format!("context-scraper.{ns}.svc.cluster.local"),
        protocol: Protocol::Http,
        code: Some(response.status().as_u16()),
        flags: "-",
        bytes: axum::body::HttpBody::size_hint(response.body())
            .exact()
            .unwrap_or(0),
    });
    response
}

/// The Route (route.openshift.io) whose `spec.host` is `host`, if any.
pub fn route_for_host(store: &Store, host: &str) -> Option<Value> {
    let rt = types::by_kind("route.openshift.io", "Route")?;
    let (routes, _) = store.list(rt, None, &LabelSelector::default(), &FieldSelector::default());
    routes
        .into_iter()
        .find(|r| r.pointer("/spec/host").and_then(Value::as_str) == Some(host))
}

/// Serves a request that came in on a Route's host: Kiali's graph API for the `kiali` Route.
fn serve_route(p: &ProxyState, route: &Value, path: &str, query: Option<&str>) -> Response {
    let name = route.pointer("/metadata/name").and_then(Value::as_str);
    match name {
        Some("kiali") if path == kiali::GRAPH_PATH => match kiali::GraphQuery::parse(query) {
            Ok(q) => axum::Json(kiali::graph(&p.telemetry, &q)).into_response(),
            Err(e) => (
                StatusCode::BAD_REQUEST,
                axum::Json(serde_json::json!({"error": e})),
            )
                .into_response(),
        },
        Some("kiali") => (StatusCode::NOT_FOUND, "404 page not found\n").into_response(),
        _ => bad_gateway(format!(
            "the Route {:?} has no backend in the sandbox",
            name.unwrap_or("")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::service_and_namespace;

    #[test]
    fn host_forms() {
        assert_eq!(
            service_and_namespace("context-scraper.user1"),
            Some(("context-scraper", "user1"))
        );
        assert_eq!(
            service_and_namespace("context-scraper.user1.svc"),
            Some(("context-scraper", "user1"))
        );
        assert_eq!(
            service_and_namespace("context-scraper.user1.svc.cluster.local"),
            Some(("context-scraper", "user1"))
        );
        assert_eq!(service_and_namespace("www.googleapis.com"), None);
        assert_eq!(service_and_namespace("localhost"), None);
    }
}
