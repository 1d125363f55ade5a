//! The mesh: an HTTP forward proxy that routes `service.namespace[:port]` to simulated services.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::mesh::Mesh;
use super::scraper;
use super::store::Store;
use super::types;

/// Shared state of the proxy.
#[derive(Debug, Clone)]
pub struct ProxyState {
    /// The API server's store (which Services exist).
    pub store: Arc<Store>,
    /// The delayed mesh view.
    pub mesh: Arc<Mesh>,
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
        "context-scraper" => {
            let view = p.mesh.effective(ns);
            scraper::handle(uri.path(), uri.query(), view.as_ref())
        }
        _ => bad_gateway(format!(
            "upstream connect error: no healthy upstream for {svc}.{ns} (the sandbox simulates only context-scraper)"
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
