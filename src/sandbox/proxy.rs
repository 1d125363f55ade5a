//! The mesh: an HTTP forward proxy that routes `service.namespace[:port]` to simulated services.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::ingress;
use super::kiali;
use super::mesh::{Egress, Mesh};
use super::peer_auth;
use super::scraper;
use super::select::{FieldSelector, LabelSelector};
use super::store::Store;
use super::telemetry::{Destination, Labels, Protocol, Record, Source, Telemetry, Workload};
use super::types;

/// Shared state of the proxy.
#[derive(Debug, Clone)]
pub(super) struct ProxyState {
    /// The API server's store (which Services exist).
    pub store: Arc<Store>,
    /// The delayed mesh view.
    pub mesh: Arc<Mesh>,
    /// What the proxy saw, for the Kiali graph.
    pub telemetry: Arc<Telemetry>,
    /// Why gateway hosts serve no TLS, for `/debug/state`.
    pub ingress: Arc<ingress::IngressState>,
}

/// The proxy's router: every request goes to [`forward`].
pub(super) fn router(state: ProxyState) -> Router {
    Router::new().fallback(forward).with_state(state)
}

fn bad_gateway(why: String) -> Response {
    (StatusCode::BAD_GATEWAY, format!("{why}\n")).into_response()
}

/// Splits `context-scraper.user1.svc.cluster.local` into `("context-scraper", "user1")`.
pub(super) fn service_and_namespace(host: &str) -> Option<(&str, &str)> {
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
        return connect(p, req);
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
        let r = ingress::Request {
            path: uri.path(),
            method: req.method().as_str(),
            client: std::net::Ipv4Addr::LOCALHOST,
            headers: req.headers(),
        };
        return serve_route(&p, &route, &host, port, &r, uri.query());
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
        "context-scraper" if peer_auth::strict_for_scraper(&p.store, ns) => refused_plaintext(),
        "context-scraper" => scrape(&p, Source::Unknown, ns, uri.path(), uri.query()),
        _ => bad_gateway(format!(
            "upstream connect error: no healthy upstream for {svc}.{ns} (the sandbox simulates only context-scraper)"
        )),
    }
}

/// What a plain-text client gets from a sidecar that takes mutual TLS only: the connection
/// ends with no reply (the body fails before the head is flushed, so hyper drops it unsent).
fn refused_plaintext() -> Response {
    let reset = futures::stream::once(async {
        Err::<axum::body::Bytes, _>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "PeerAuthentication STRICT: plain text refused",
        ))
    });
    Response::new(axum::body::Body::from_stream(reset))
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
pub(super) fn scrape(
    p: &ProxyState,
    source: Source,
    ns: &str,
    path: &str,
    query: Option<&str>,
) -> Response {
    let view = p.mesh.effective(ns);
    if scraper::calls_upstream(path, query) {
        let egress = view.as_ref().map_or(Egress::Passthrough, |v| {
            v.egress(scraper::UPSTREAM_HOST, 443)
        });
        let namespace = ns.to_string();
        let (destination, flags) = match egress {
            Egress::BlackHole => (Destination::BlackHole { namespace }, "UH"),
            Egress::Passthrough => (Destination::Passthrough { namespace }, "-"),
            Egress::Registered(host) => (Destination::ServiceEntry { namespace, host }, "-"),
        };
        p.telemetry.record(Record {
            at: std::time::SystemTime::now(),
            labels: Labels {
                source: Source::Workload(scraper_workload(ns)),
                destination,
                host: scraper::UPSTREAM_HOST.into(),
                protocol: Protocol::Tcp,
                code: None,
                flags,
            },
            bytes: if flags == "-" { 4096 } else { 0 },
        });
    }
    let response = scraper::handle(path, query, view.as_ref());
    p.telemetry.record(Record {
        at: std::time::SystemTime::now(),
        labels: Labels {
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
        },
        bytes: axum::body::HttpBody::size_hint(response.body())
            .exact()
            .unwrap_or(0),
    });
    response
}

/// The Route (route.openshift.io) whose `spec.host` is `host`, if any.
pub(super) fn route_for_host(store: &Store, host: &str) -> Option<Value> {
    let rt = types::by_kind("route.openshift.io", "Route")?;
    let (routes, _) = store.list(
        rt,
        None,
        &LabelSelector::default(),
        &FieldSelector::default(),
    );
    routes
        .into_iter()
        .find(|r| r.pointer("/spec/host").and_then(Value::as_str) == Some(host))
}

/// The user whose ingress gateway Route `route` is.
fn gateway_user(route: &Value) -> Option<String> {
    let name = route.pointer("/metadata/name").and_then(Value::as_str)?;
    let ns = route
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)?;
    (name == ingress::GATEWAY_NAME)
        .then(|| ns.strip_suffix("-istio").map(str::to_string))
        .flatten()
}

/// Serves a request that came in on a Route's host: Kiali's graph API for the `kiali` Route,
/// the ingress gateway for `istio-ingressgateway`.
fn serve_route(
    p: &ProxyState,
    route: &Value,
    host: &str,
    port: u16,
    req: &ingress::Request<'_>,
    query: Option<&str>,
) -> Response {
    if let Some(user) = gateway_user(route) {
        return ingress::handle(p, &user, host, port, req, query);
    }
    let path = req.path;
    let name = route.pointer("/metadata/name").and_then(Value::as_str);
    match name {
        Some("kiali") if path == kiali::GRAPH_PATH => match kiali::GraphQuery::parse(query) {
            Ok(q) => axum::Json(kiali::graph(&p.telemetry, &q)).into_response(),
            Err(e) => (
                StatusCode::BAD_REQUEST,
                axum::Json(serde_json::json!({"error": e.to_string()})),
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

/// `CONNECT host:443` to an ingress gateway's Route host: a tunnel whose far end is the
/// gateway's TLS; any other CONNECT is refused, as before.
fn connect(p: ProxyState, req: Request) -> Response {
    let target = req
        .uri()
        .authority()
        .map(|a| (a.host().to_string(), a.port_u16()));
    let user = match &target {
        Some((host, Some(443))) => route_for_host(&p.store, host).and_then(|r| gateway_user(&r)),
        _ => None,
    };
    let (Some((host, _)), Some(user)) = (target, user) else {
        return (
            StatusCode::FORBIDDEN,
            "the sandbox mesh tunnels CONNECT only to an ingress gateway's Route host on port 443\n",
        )
            .into_response();
    };
    tokio::spawn(async move {
        if let Ok(upgraded) = hyper::upgrade::on(req).await {
            serve_tls(p, user, host, hyper_util::rt::TokioIo::new(upgraded)).await;
        }
    });
    StatusCode::OK.into_response()
}

/// The gateway's end of a tunnel: TLS for the host the client names (SNI) from its Gateway's
/// Secret, then HTTP/1.1 over it. No usable config: the handshake fails and the debug state
/// says why, as istiod's logs would.
async fn serve_tls<IO>(p: ProxyState, user: String, host: String, io: IO)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let acceptor = tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), io);
    let Ok(start) = acceptor.await else { return };
    let sni = start
        .client_hello()
        .server_name()
        .map_or(host, str::to_string);
    let config = match p.ingress.tls.get(&p.store, &user, &sni) {
        Ok(c) => {
            p.ingress.note(&sni, None);
            c
        }
        Err(why) => {
            p.ingress.note(&sni, Some(why.to_string()));
            return;
        }
    };
    let Ok(tls) = start.into_stream(config).await else {
        return;
    };
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let p = p.clone();
        let user = user.clone();
        let sni = sni.clone();
        async move {
            let r = ingress::Request {
                path: req.uri().path(),
                method: req.method().as_str(),
                client: std::net::Ipv4Addr::LOCALHOST,
                headers: req.headers(),
            };
            let resp = ingress::handle(&p, &user, &sni, 443, &r, req.uri().query());
            Ok::<_, std::convert::Infallible>(resp)
        }
    });
    // A client that goes away mid-request is its own business.
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
        .await;
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
