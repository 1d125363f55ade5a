//! The ingress gateway: each user's `istio-ingressgateway` Route host, served by the mesh
//! proxy as Istio's gateway would from the user's Gateways, VirtualServices and
//! AuthorizationPolicies; HTTPS arrives through the proxy's `CONNECT` and is real TLS (rustls),
//! with the certificates of the Secret a Gateway's `credentialName` names.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::select::{FieldSelector, LabelSelector};
use super::store::Store;
use super::telemetry::{Source, Workload};
use super::types;

/// The gateway's Route (and workload) name in `userK-istio`.
pub(super) const GATEWAY_NAME: &str = "istio-ingressgateway";

/// The labels of the gateway's pods, which Gateways and AuthorizationPolicies select.
const GATEWAY_LABELS: &[(&str, &str)] = &[("istio", "ingressgateway"), ("app", GATEWAY_NAME)];

/// Why a host serves no TLS, kept for `/debug/state`.
#[derive(Debug, Default)]
pub(super) struct IngressState {
    problems: Mutex<BTreeMap<String, String>>,
    /// TLS configs already built.
    pub tls: TlsConfigs,
}

impl IngressState {
    /// Notes why `host` serves no TLS now (or clears it with `None`).
    pub(super) fn note(&self, host: &str, problem: Option<String>) {
        let mut p = self.problems.lock().unwrap_or_else(|e| e.into_inner());
        match problem {
            Some(why) => p.insert(host.to_string(), why),
            None => p.remove(host),
        };
    }

    /// Every host's problem, for `/debug/state`.
    pub(super) fn dump(&self) -> Value {
        let p = self.problems.lock().unwrap_or_else(|e| e.into_inner());
        serde_json::json!(*p)
    }
}

/// The gateway's own workload in `namespace` (`userK-istio`).
pub(super) fn gateway_workload(namespace: &str) -> Workload {
    Workload {
        namespace: namespace.to_string(),
        name: GATEWAY_NAME.into(),
        app: GATEWAY_NAME.into(),
        version: "unknown".into(),
    }
}

fn list(store: &Store, group: &str, kind: &str, ns: Option<&str>) -> Vec<Value> {
    let Some(rt) = types::by_kind(group, kind) else {
        return Vec::new();
    };
    store
        .list(rt, ns, &LabelSelector::default(), &FieldSelector::default())
        .0
}

fn strs(v: Option<&Value>) -> Vec<&str> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

fn name_of(v: &Value) -> &str {
    v.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn ns_of(v: &Value) -> &str {
    v.pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Whether a label map (a selector's `matchLabels` or a Gateway's `selector`) picks the gateway.
fn selects_gateway(labels: Option<&Value>) -> bool {
    labels.and_then(Value::as_object).is_none_or(|m| {
        m.iter().all(|(k, v)| {
            GATEWAY_LABELS
                .iter()
                .any(|(gk, gv)| k == gk && v.as_str() == Some(gv))
        })
    })
}

/// Whether a Gateway or VirtualService host pattern (`*`, `*.example.com`, `ns/host`) covers `host`.
fn host_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.rsplit_once('/').map_or(pattern, |(_, h)| h);
    pattern == "*"
        || pattern.eq_ignore_ascii_case(host)
        || pattern
            .strip_prefix('*')
            .is_some_and(|suffix| host.ends_with(suffix))
}

/// One `servers[]` entry of a Gateway that selects the ingress gateway.
#[derive(Debug, Clone)]
pub(super) struct Server {
    /// The Gateway, `namespace/name`.
    pub gateway: String,
    /// `tls.mode` (`SIMPLE`, `MUTUAL`), `None` for plain HTTP.
    pub tls_mode: Option<String>,
    /// `tls.credentialName`.
    pub credential: Option<String>,
}

/// The user's Gateway servers for `host` on `port`, from Gateways in `user` and `user-istio`.
pub(super) fn servers(store: &Store, user: &str, host: &str, port: u16) -> Vec<Server> {
    let mut out = Vec::new();
    for ns in [user.to_string(), format!("{user}-istio")] {
        for gw in list(store, "networking.istio.io", "Gateway", Some(&ns)) {
            if !selects_gateway(gw.pointer("/spec/selector")) {
                continue;
            }
            let servers = gw.pointer("/spec/servers").and_then(Value::as_array);
            for s in servers.into_iter().flatten() {
                let number = s.pointer("/port/number").and_then(Value::as_u64);
                let hosts = strs(s.get("hosts"));
                if number != Some(u64::from(port)) || !hosts.iter().any(|p| host_matches(p, host)) {
                    continue;
                }
                let tls = s.get("tls");
                let mode = tls.and_then(|t| t.get("mode")).and_then(Value::as_str);
                out.push(Server {
                    gateway: format!("{}/{}", ns_of(&gw), name_of(&gw)),
                    tls_mode: mode
                        .filter(|m| *m != "PASSTHROUGH" || tls.is_some())
                        .map(str::to_string),
                    credential: tls
                        .and_then(|t| t.get("credentialName"))
                        .and_then(Value::as_str)
                        .map(str::to_string),
                });
            }
        }
    }
    out
}

/// Where a VirtualService sends a request: `(service, namespace, port)`.
fn route(
    store: &Store,
    user: &str,
    server: &Server,
    host: &str,
    path: &str,
) -> Option<(String, String, Option<u16>)> {
    let (gw_ns, gw_name) = server.gateway.split_once('/')?;
    for ns in [user.to_string(), format!("{user}-istio")] {
        for vs in list(store, "networking.istio.io", "VirtualService", Some(&ns)) {
            let binds =
                strs(vs.pointer("/spec/gateways"))
                    .iter()
                    .any(|g| match g.split_once('/') {
                        Some((n, name)) => n == gw_ns && name == gw_name,
                        None => *g == gw_name && ns == gw_ns,
                    });
            if !binds
                || !strs(vs.pointer("/spec/hosts"))
                    .iter()
                    .any(|p| host_matches(p, host))
            {
                continue;
            }
            let http = vs.pointer("/spec/http").and_then(Value::as_array);
            for r in http.into_iter().flatten() {
                let matches = r.get("match").and_then(Value::as_array);
                let ok = matches.is_none_or(|ms| {
                    ms.is_empty() || ms.iter().any(|m| uri_matches(m.get("uri"), path))
                });
                if !ok {
                    continue;
                }
                let dest = r.pointer("/route/0/destination")?;
                let dhost = dest.get("host").and_then(Value::as_str)?;
                let port = dest
                    .pointer("/port/number")
                    .and_then(Value::as_u64)
                    .and_then(|p| u16::try_from(p).ok());
                let (svc, svc_ns) = match super::proxy::service_and_namespace(dhost) {
                    Some((s, n)) => (s.to_string(), n.to_string()),
                    None => (dhost.to_string(), ns_of(&vs).to_string()),
                };
                return Some((svc, svc_ns, port));
            }
        }
    }
    None
}

fn uri_matches(m: Option<&Value>, path: &str) -> bool {
    let Some(m) = m else { return true };
    if let Some(p) = m.get("prefix").and_then(Value::as_str) {
        return path.starts_with(p);
    }
    if let Some(p) = m.get("exact").and_then(Value::as_str) {
        return path == p;
    }
    if let Some(p) = m.get("regex").and_then(Value::as_str) {
        return regex::Regex::new(&format!("^(?:{p})$")).is_ok_and(|r| r.is_match(path));
    }
    true
}

/// Istio's path patterns: exact, `prefix*`, `*suffix`, `*`.
fn path_matches(pattern: &str, path: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    if let Some(prefix) = pattern.strip_suffix('*') {
        return path.starts_with(prefix);
    }
    if let Some(suffix) = pattern.strip_prefix('*') {
        return path.ends_with(suffix);
    }
    pattern == path
}

fn in_block(block: &str, ip: Ipv4Addr) -> bool {
    let (addr, bits) = block.split_once('/').unwrap_or((block, "32"));
    let (Ok(addr), Ok(bits)) = (addr.parse::<Ipv4Addr>(), bits.parse::<u32>()) else {
        return false;
    };
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits.min(32))
    };
    u32::from(addr) & mask == u32::from(ip) & mask
}

/// What an AuthorizationPolicy sees of a request.
pub(super) struct Request<'r> {
    /// The path, without the query.
    pub path: &'r str,
    /// The method.
    pub method: &'r str,
    /// The client's address.
    pub client: Ipv4Addr,
    /// The request headers.
    pub headers: &'r HeaderMap,
}

/// A list field where any entry may match, and `not` fields where none may; absent fields hold.
fn field(obj: &Value, key: &str, not_key: &str, test: impl Fn(&str) -> bool) -> bool {
    let yes = obj.get(key).and_then(Value::as_array);
    let no = strs(obj.get(not_key));
    yes.is_none_or(|l| l.iter().filter_map(Value::as_str).any(&test)) && !no.iter().any(|v| test(v))
}

fn rule_matches(rule: &Value, r: &Request<'_>) -> bool {
    let from = rule.get("from").and_then(Value::as_array);
    let from_ok = from.is_none_or(|fs| {
        fs.iter().any(|f| {
            let s = f.get("source").unwrap_or(&Value::Null);
            field(s, "ipBlocks", "notIpBlocks", |b| in_block(b, r.client))
                && field(s, "remoteIpBlocks", "notRemoteIpBlocks", |b| in_block(b, r.client))
                // Outside clients carry no mesh identity.
                && s.get("principals").is_none()
                && s.get("namespaces").is_none()
        })
    });
    let to = rule.get("to").and_then(Value::as_array);
    let to_ok = to.is_none_or(|ts| {
        ts.iter().any(|t| {
            let o = t.get("operation").unwrap_or(&Value::Null);
            field(o, "paths", "notPaths", |p| path_matches(p, r.path))
                && field(o, "methods", "notMethods", |m| {
                    m.eq_ignore_ascii_case(r.method)
                })
        })
    });
    let when = rule.get("when").and_then(Value::as_array);
    let when_ok = when.is_none_or(|ws| {
        ws.iter().all(|w| {
            let key = w.get("key").and_then(Value::as_str).unwrap_or("");
            let header = key
                .strip_prefix("request.headers[")
                .and_then(|k| k.strip_suffix(']'));
            let value = header
                .and_then(|h| r.headers.get(h))
                .and_then(|v| v.to_str().ok());
            field(w, "values", "notValues", |v| {
                value == Some(v) || (v == "*" && value.is_some())
            }) && value.is_some()
        })
    });
    from_ok && to_ok && when_ok
}

/// Why the gateway's AuthorizationPolicies refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum Refused {
    /// A DENY policy has a rule that matches.
    #[error("denied by {namespace}/{policy}")]
    Denied {
        /// The policy's namespace (the user's istio namespace).
        namespace: String,
        /// Its name.
        policy: String,
    },
    /// There are ALLOW policies and none has a rule that matches.
    #[error("no ALLOW policy in {namespace} matches")]
    NotAllowed {
        /// The user's istio namespace.
        namespace: String,
    },
}

/// Istio's verdict for a request at the gateway: `Err` with the policy that refused it.
pub(super) fn authorize(store: &Store, user: &str, r: &Request<'_>) -> Result<(), Refused> {
    let ns = format!("{user}-istio");
    let policies: Vec<Value> = list(store, "security.istio.io", "AuthorizationPolicy", Some(&ns))
        .into_iter()
        .filter(|p| selects_gateway(p.pointer("/spec/selector/matchLabels")))
        .collect();
    let action = |p: &Value| {
        p.pointer("/spec/action")
            .and_then(Value::as_str)
            .unwrap_or("ALLOW")
            .to_string()
    };
    let any_rule = |p: &Value| {
        p.pointer("/spec/rules")
            .and_then(Value::as_array)
            .is_some_and(|rs| rs.iter().any(|rule| rule_matches(rule, r)))
    };
    if let Some(p) = policies.iter().find(|p| action(p) == "DENY" && any_rule(p)) {
        return Err(Refused::Denied {
            policy: name_of(p).to_string(),
            namespace: ns,
        });
    }
    let allows: Vec<&Value> = policies.iter().filter(|p| action(p) == "ALLOW").collect();
    if !allows.is_empty() && !allows.iter().any(|p| any_rule(p)) {
        return Err(Refused::NotAllowed { namespace: ns });
    }
    Ok(())
}

/// Answers a request the gateway received on `port` for `host`.
pub(super) fn handle(
    p: &super::proxy::ProxyState,
    user: &str,
    host: &str,
    port: u16,
    req: &Request<'_>,
    query: Option<&str>,
) -> Response {
    let Some(server) = servers(&p.store, user, host, port)
        .into_iter()
        .find(|s| (port == 443) == s.tls_mode.is_some())
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if authorize(&p.store, user, req).is_err() {
        return (StatusCode::FORBIDDEN, "RBAC: access denied").into_response();
    }
    let Some((svc, ns, _port)) = route(&p.store, user, &server, host, req.path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let gw = gateway_workload(&format!("{user}-istio"));
    match svc.as_str() {
        "context-scraper" => super::proxy::scrape(p, Source::Workload(gw), &ns, req.path, query),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("no healthy upstream for {svc}.{ns}"),
        )
            .into_response(),
    }
}

/// The decoded `data[key]` of a Secret.
fn secret_data(secret: &Value, key: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let b64 = secret.get("data")?.get(key)?.as_str()?;
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

/// What a TLS config is built from: equal material, equal config.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct TlsMaterial {
    /// `secret NS/NAME`, for messages.
    origin: String,
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
    /// The client CA, for MUTUAL.
    client_ca_pem: Option<Vec<u8>>,
}

/// Why a host serves no TLS: what the Gateway or its Secret lacks, as istiod would say.
#[derive(Debug, thiserror::Error)]
pub(super) enum NoTls {
    /// No Gateway server terminates TLS for the host.
    #[error("no Gateway server with tls mode SIMPLE or MUTUAL for {host} on port 443")]
    NoServer {
        /// The host the client asked for (SNI).
        host: String,
    },
    /// The server names no Secret.
    #[error("Gateway {gateway} has no tls.credentialName")]
    NoCredential {
        /// The Gateway.
        gateway: String,
    },
    /// The sandbox's API has no Secret type (a bug in its type table).
    #[error("the sandbox knows no Secrets")]
    NoSecretType,
    /// The Secret the server names does not exist.
    #[error(
        "Gateway {gateway}: secret {namespace}/{name} not found (create it with oc create secret tls {name} -n {namespace})"
    )]
    SecretMissing {
        /// The Gateway.
        gateway: String,
        /// The user's istio namespace.
        namespace: String,
        /// The credentialName.
        name: String,
    },
    /// The Secret lacks a key TLS needs.
    #[error("{origin} has no {key}")]
    KeyMissing {
        /// `secret NS/NAME`.
        origin: String,
        /// `tls.crt` or `tls.key`.
        key: &'static str,
    },
    /// MUTUAL, and no client CA in the Secret nor in its `-cacert` twin.
    #[error("{origin}: MUTUAL needs ca.crt (in the secret, or in {name}-cacert)")]
    NoClientCa {
        /// `secret NS/NAME`.
        origin: String,
        /// The credentialName.
        name: String,
    },
    /// The Secret's certificate, key or CA is not usable.
    #[error("{origin}: {what}")]
    Unusable {
        /// `secret NS/NAME`.
        origin: String,
        /// What rustls said, mostly after the key it was about (`tls.crt: ...`).
        what: String,
    },
    /// rustls has no protocol version the ring provider supports (a build problem).
    #[error("{0}")]
    Protocols(rustls::Error),
}

/// The Gateway server and Secret(s) behind `host`'s TLS, or why there are none.
fn tls_material(store: &Store, user: &str, host: &str) -> Result<TlsMaterial, NoTls> {
    let server = servers(store, user, host, 443)
        .into_iter()
        .find(|s| matches!(s.tls_mode.as_deref(), Some("SIMPLE") | Some("MUTUAL")))
        .ok_or_else(|| NoTls::NoServer {
            host: host.to_string(),
        })?;
    let ns = format!("{user}-istio");
    let credential = server
        .credential
        .clone()
        .ok_or_else(|| NoTls::NoCredential {
            gateway: server.gateway.clone(),
        })?;
    let secret_type = types::by_kind("", "Secret").ok_or(NoTls::NoSecretType)?;
    let secret = store
        .get(secret_type, Some(&ns), &credential)
        .map_err(|_| NoTls::SecretMissing {
            gateway: server.gateway.clone(),
            namespace: ns.clone(),
            name: credential.clone(),
        })?;
    let data = |key: &str| secret_data(&secret, key);
    let origin = format!("secret {ns}/{credential}");
    let key_missing = |key| NoTls::KeyMissing {
        origin: origin.clone(),
        key,
    };
    let cert_pem = data("tls.crt").ok_or_else(|| key_missing("tls.crt"))?;
    let key_pem = data("tls.key").ok_or_else(|| key_missing("tls.key"))?;
    let client_ca_pem = if server.tls_mode.as_deref() == Some("MUTUAL") {
        Some(
            data("ca.crt")
                .or_else(|| {
                    let s = store
                        .get(secret_type, Some(&ns), &format!("{credential}-cacert"))
                        .ok()?;
                    secret_data(&s, "ca.crt")
                })
                .ok_or_else(|| NoTls::NoClientCa {
                    origin: origin.clone(),
                    name: credential.clone(),
                })?,
        )
    } else {
        None
    };
    Ok(TlsMaterial {
        origin,
        cert_pem,
        key_pem,
        client_ca_pem,
    })
}

/// Builds the rustls config; parsing an RSA key is the costly part, hence [`TlsConfigs`].
fn build_tls_config(m: &TlsMaterial) -> Result<Arc<rustls::ServerConfig>, NoTls> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let unusable = |what: String| NoTls::Unusable {
        origin: m.origin.clone(),
        what,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&m.cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| unusable(format!("tls.crt: {e}")))?;
    if certs.is_empty() {
        return Err(unusable("tls.crt holds no certificate".into()));
    }
    let key =
        PrivateKeyDer::from_pem_slice(&m.key_pem).map_err(|e| unusable(format!("tls.key: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(NoTls::Protocols)?;
    let builder = if let Some(ca_pem) = &m.client_ca_pem {
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(ca_pem) {
            let c = c.map_err(|e| unusable(format!("ca.crt: {e}")))?;
            roots.add(c).map_err(|e| unusable(format!("ca.crt: {e}")))?;
        }
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| unusable(format!("ca.crt: {e}")))?;
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let mut cfg = builder
        .with_single_cert(certs, key)
        .map_err(|e| unusable(e.to_string()))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// Built TLS configs by their material: a handshake reads the Secrets afresh (a changed
/// Secret takes effect at once) but parses a key only once.
#[derive(Debug, Default)]
pub(super) struct TlsConfigs {
    built: Mutex<HashMap<TlsMaterial, Arc<rustls::ServerConfig>>>,
}

/// Configs kept at most; students make a handful of certificates.
const TLS_CONFIGS_KEPT: usize = 64;

impl TlsConfigs {
    /// The TLS server config for `host` from the Gateway's Secret, or why there is none.
    pub(super) fn get(
        &self,
        store: &Store,
        user: &str,
        host: &str,
    ) -> Result<Arc<rustls::ServerConfig>, NoTls> {
        let m = tls_material(store, user, host)?;
        if let Some(c) = self.built.lock().unwrap_or_else(|e| e.into_inner()).get(&m) {
            return Ok(c.clone());
        }
        let cfg = build_tls_config(&m)?;
        let mut built = self.built.lock().unwrap_or_else(|e| e.into_inner());
        if built.len() >= TLS_CONFIGS_KEPT {
            built.clear();
        }
        built.insert(m, cfg.clone());
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(path_matches("/scrape/*", "/scrape/custom_search"));
        assert!(!path_matches("/scrape/*", "/healthz"));
        assert!(path_matches("*/custom_search", "/scrape/custom_search"));
        assert!(in_block("127.0.0.0/8", Ipv4Addr::LOCALHOST));
        assert!(!in_block("10.0.0.0/8", Ipv4Addr::LOCALHOST));
        assert!(host_matches("*", "a.b"));
        assert!(host_matches(
            "*.apps.sandbox.local",
            "gw.apps.sandbox.local"
        ));
        assert!(host_matches("user1/gw.x", "gw.x"));
    }
}
