//! The Kubernetes API server's routes: discovery, OpenAPI, and the resource verbs.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::discovery;
use super::openapi;
use super::patch;
use super::protobuf;
use super::select::{FieldSelector, LabelSelector};
use super::status::ApiError;
use super::store::Store;
use super::table;
use super::types::{self, ResourceType};
use super::watch as watch_stream;

/// Shared state of the API server.
#[derive(Debug, Clone)]
pub(super) struct ApiState {
    /// The object store.
    pub store: Arc<Store>,
    /// Verbs to answer with 403.
    pub refuse: Arc<Vec<String>>,
    /// Flips to true when the sandbox shuts down; ends open watches.
    pub shutdown: watch::Receiver<bool>,
    /// `host:port` the server listens on, for `/api`'s serverAddressByClientCIDRs.
    pub address: String,
    /// The proxy's records, counted in `/debug/state`.
    pub telemetry: Arc<super::telemetry::Telemetry>,
    /// Why gateway hosts serve no TLS.
    pub ingress: Arc<super::ingress::IngressState>,
}

/// Largest request body, as a real API server (etcd's 3 MiB request limit).
pub(super) const BODY_LIMIT: usize = 3 * 1024 * 1024;

/// The API server's router.
pub(super) fn router(state: ApiState) -> Router {
    Router::new()
        .route(
            "/version",
            get(|| async { axum::Json(discovery::version()) }),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ok" }))
        .route("/livez", get(|| async { "ok" }))
        .route(
            "/api",
            get(|State(s): State<ApiState>, h: HeaderMap| async move {
                discovery::core(&h, &s.address)
            }),
        )
        .route(
            "/apis",
            get(|h: HeaderMap| async move { discovery::groups(&h) }),
        )
        .route(
            "/openapi/v3",
            get(|| async { axum::Json(openapi::index()) }),
        )
        .route("/openapi/v3/{*gv}", get(openapi_doc))
        .route(
            "/debug/state",
            get(|State(s): State<ApiState>| async move { axum::Json(debug_state(&s)) }),
        )
        .route("/api/{*rest}", axum::routing::any(resource))
        .route("/apis/{*rest}", axum::routing::any(resource))
        .fallback(|uri: Uri| async move { ApiError::no_route(uri.path()) })
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// The store, the mesh and what the proxy recorded, to explain a failing check.
fn debug_state(s: &ApiState) -> serde_json::Value {
    let mut state = s.store.dump();
    state["telemetry"] = serde_json::json!({
        "records": s.telemetry.count(),
        "capacity": super::telemetry::CAPACITY,
    });
    state["ingress"] = serde_json::json!({"tlsProblems": s.ingress.dump()});
    state
}

async fn openapi_doc(axum::extract::Path(gv): axum::extract::Path<String>) -> Response {
    match openapi::document(&gv) {
        Some(d) => axum::Json(d).into_response(),
        None => ApiError::no_route(&format!("/openapi/v3/{gv}")).into_response(),
    }
}

/// Where in the resource tree a request points.
struct Target {
    rtype: &'static ResourceType,
    version: String,
    ns: Option<String>,
    name: Option<String>,
}

enum Parsed {
    Group(String),
    ResourceList(String, String),
    Target(Target),
}

fn parse_path(path: &str) -> Option<Parsed> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group] => return Some(Parsed::Group(group.to_string())),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return None,
    };
    types::group_versions(group)?
        .contains(&version)
        .then_some(())?;
    let (rtype, ns, tail) = match rest {
        [] => return Some(Parsed::ResourceList(group.to_string(), version.to_string())),
        ["namespaces", ns, plural, tail @ ..]
            if types::lookup(group, version, plural).is_some_and(|t| t.namespaced) =>
        {
            (
                types::lookup(group, version, plural)?,
                Some(ns.to_string()),
                tail,
            )
        }
        [plural, tail @ ..] => (types::lookup(group, version, plural)?, None, tail),
    };
    let name = match tail {
        [] => None,
        // The status subresource reads and writes the whole object here.
        [name] | [name, "status"] => Some(name.to_string()),
        _ => return None,
    };
    Some(Parsed::Target(Target {
        rtype,
        version: version.to_string(),
        ns,
        name,
    }))
}

fn param<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn flag(q: &[(String, String)], key: &str) -> bool {
    matches!(param(q, key), Some("1") | Some("true"))
}

/// Sets `apiVersion` to the version the client addressed.
fn as_version(mut obj: Value, t: &Target) -> Value {
    obj["apiVersion"] = json!(t.rtype.api_version(&t.version));
    obj
}

fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    // kubectl's `create` generators send protobuf (with this magic) and never retry as JSON.
    if body.starts_with(b"k8s\0") {
        return protobuf::decode(body).map_err(|e| ApiError::bad_request(e.to_string()));
    }
    serde_json::from_slice(body)
        .or_else(|_| serde_saphyr::from_slice::<Value>(body).map_err(|e| e.to_string()))
        .map_err(|e| {
            ApiError::bad_request(format!("the request body is not valid JSON or YAML: {e}"))
        })
}

async fn resource(
    State(s): State<ApiState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return ApiError::too_large(BODY_LIMIT).into_response();
        }
        Err(e) => return ApiError::bad_request(e.body_text()).into_response(),
    };
    let q = match query {
        Ok(Query(q)) => q,
        Err(e) => {
            return ApiError::bad_request(format!("malformed query string: {e}")).into_response();
        }
    };
    match handle(&s, &method, &uri, &headers, &q, &body) {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// A Kubernetes API verb, as RBAC names it (and `--refuse` lists it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Get,
    List,
    Watch,
    Create,
    Update,
    Patch,
    Delete,
    DeleteCollection,
}

impl Verb {
    /// The verb of `method` on `t` (a collection when `t` names no object).
    fn of(method: &Method, t: &Target, q: &[(String, String)]) -> Result<Verb, ApiError> {
        Ok(match (method.as_str(), &t.name) {
            ("GET", None) if flag(q, "watch") => Verb::Watch,
            ("GET", None) => Verb::List,
            ("GET", Some(_)) => Verb::Get,
            ("POST", None) => Verb::Create,
            ("PUT", Some(_)) => Verb::Update,
            ("PATCH", Some(_)) => Verb::Patch,
            ("DELETE", Some(_)) => Verb::Delete,
            ("DELETE", None) => Verb::DeleteCollection,
            (m, _) => return Err(ApiError::method_not_allowed(m)),
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Watch => "watch",
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Patch => "patch",
            Verb::Delete => "delete",
            Verb::DeleteCollection => "deletecollection",
        }
    }
}

fn handle(
    s: &ApiState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    q: &[(String, String)],
    body: &[u8],
) -> Result<Response, ApiError> {
    let t = match parse_path(uri.path()) {
        None => return Err(ApiError::no_route(uri.path())),
        Some(Parsed::Group(g)) => {
            return discovery::group(&g)
                .map(|v| axum::Json(v).into_response())
                .ok_or_else(|| ApiError::no_route(uri.path()));
        }
        Some(Parsed::ResourceList(g, v)) => {
            return discovery::resource_list(&g, &v)
                .map(|v| axum::Json(v).into_response())
                .ok_or_else(|| ApiError::no_route(uri.path()));
        }
        Some(Parsed::Target(t)) => t,
    };
    let verb = Verb::of(method, &t, q)?;
    if s.refuse.iter().any(|r| r == verb.as_str()) {
        return Err(ApiError::forbidden(
            verb.as_str(),
            t.rtype.group,
            t.rtype.plural,
            t.name.as_deref(),
            t.ns.as_deref(),
        ));
    }
    let store = &s.store;
    let ns = t.ns.as_deref();
    let name = t.name.as_deref().unwrap_or_default();
    let json_ok = |code: StatusCode, v: Value| (code, axum::Json(v)).into_response();
    let obj = match verb {
        Verb::Get => return get_one(store, &t, headers, q),
        Verb::List | Verb::DeleteCollection => {
            if !t.rtype.namespaced && ns.is_some() {
                return Err(ApiError::no_route(uri.path()));
            }
            return list_many(store, &t, headers, q, verb == Verb::DeleteCollection);
        }
        Verb::Watch => return watch(s, &t, headers, q),
        Verb::Create => {
            let obj = store.create(t.rtype, ns, parse_body(body)?)?;
            return Ok(json_ok(StatusCode::CREATED, as_version(obj, &t)));
        }
        Verb::Update => store.update(t.rtype, ns, name, parse_body(body)?)?,
        Verb::Patch => patch_object(store, &t, headers, body)?,
        Verb::Delete => store.delete(t.rtype, ns, name)?,
    };
    Ok(json_ok(StatusCode::OK, as_version(obj, &t)))
}

/// One object, as JSON or as kubectl's table.
fn get_one(
    store: &Store,
    t: &Target,
    headers: &HeaderMap,
    q: &[(String, String)],
) -> Result<Response, ApiError> {
    let name = t.name.as_deref().unwrap_or_default();
    let obj = store.get(t.rtype, t.ns.as_deref(), name)?;
    if table::wanted(headers) {
        let rv = obj
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let obj = as_version(obj.clone(), t);
        return Ok(table_response(table::table(
            t.rtype,
            &[obj],
            rv,
            param(q, "includeObject"),
        )));
    }
    Ok(axum::Json(as_version(obj, t)).into_response())
}

/// The selected objects as a List (or kubectl's table); with `delete`, they
/// are deleted and the List is empty.
fn list_many(
    store: &Store,
    t: &Target,
    headers: &HeaderMap,
    q: &[(String, String)],
    delete: bool,
) -> Result<Response, ApiError> {
    let labels = LabelSelector::parse(param(q, "labelSelector").unwrap_or_default())?;
    let fields = FieldSelector::parse(param(q, "fieldSelector").unwrap_or_default())?;
    let (items, rv) = store.list(t.rtype, t.ns.as_deref(), &labels, &fields);
    let mut items: Vec<Value> = items.into_iter().map(|o| as_version(o, t)).collect();
    if delete {
        for o in &items {
            let name = o
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let o_ns = o.pointer("/metadata/namespace").and_then(Value::as_str);
            // Already gone (deleted concurrently) is what the caller wanted.
            let _ = store.delete(t.rtype, o_ns, name);
        }
        items.clear();
    } else if table::wanted(headers) {
        return Ok(table_response(table::table(
            t.rtype,
            &items,
            &rv.to_string(),
            param(q, "includeObject"),
        )));
    }
    // Built by hand: json!() would copy every item once more through to_value.
    let mut list = serde_json::Map::new();
    list.insert(
        "kind".into(),
        Value::String(format!("{}List", t.rtype.kind)),
    );
    list.insert(
        "apiVersion".into(),
        Value::String(t.rtype.api_version(&t.version)),
    );
    list.insert(
        "metadata".into(),
        json!({"resourceVersion": rv.to_string()}),
    );
    list.insert("items".into(), Value::Array(items));
    Ok(axum::Json(Value::Object(list)).into_response())
}

fn table_response(t: Value) -> Response {
    let mut r = axum::Json(t).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static(table::CONTENT_TYPE),
    );
    r
}

fn patch_object(
    store: &Store,
    t: &Target,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let media = ct.split(';').next().unwrap_or_default().trim();
    let name = t.name.as_deref().unwrap_or_default();
    let ns = t.ns.as_deref();
    match media {
        "application/merge-patch+json" | "application/strategic-merge-patch+json" => {
            let mut p: Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("the patch is not valid JSON: {e}")))?;
            if media.starts_with("application/strategic") {
                patch::strip_directives(&mut p);
            }
            store.patch(t.rtype, ns, name, false, |obj| {
                patch::merge(obj, &p);
                Ok(())
            })
        }
        "application/json-patch+json" => {
            let p: Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("the patch is not valid JSON: {e}")))?;
            store.patch(t.rtype, ns, name, false, |obj| {
                patch::json_patch(obj, &p)
                    .map_err(|e| ApiError::invalid(t.rtype.kind, name, &e.to_string()))
            })
        }
        "application/apply-patch+yaml" => {
            let p = parse_body(body)?;
            store.patch(t.rtype, ns, name, true, |obj| {
                patch::merge(obj, &p);
                Ok(())
            })
        }
        other => Err(ApiError::unsupported_media(other)),
    }
}

fn watch(
    s: &ApiState,
    t: &Target,
    headers: &HeaderMap,
    q: &[(String, String)],
) -> Result<Response, ApiError> {
    let labels = LabelSelector::parse(param(q, "labelSelector").unwrap_or_default())?;
    let fields = FieldSelector::parse(param(q, "fieldSelector").unwrap_or_default())?;
    let send_initial = flag(q, "sendInitialEvents");
    let since = match param(q, "resourceVersion") {
        None | Some("") | Some("0") => None,
        _ if send_initial => None,
        Some(rv) => Some(
            rv.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {rv:?}")))?,
        ),
    };
    let timeout = param(q, "timeoutSeconds")
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(1800));
    let start = s.store.watch(t.rtype, t.ns.as_deref(), since)?;
    let req = watch_stream::WatchRequest {
        rtype: t.rtype,
        version: t.version.clone(),
        namespace: t.ns.clone(),
        labels,
        fields,
        bookmarks: flag(q, "allowWatchBookmarks"),
        initial_events_end: send_initial,
        table: table::wanted(headers).then(|| param(q, "includeObject").map(str::to_string)),
        timeout,
    };
    let body = watch_stream::body(req, start.initial, start.rv, start.rx, s.shutdown.clone());
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let Some(Parsed::Target(t)) = parse_path("/api/v1/namespaces/user1/configmaps/x") else {
            panic!("not a target")
        };
        assert_eq!(
            (t.rtype.plural, t.ns.as_deref(), t.name.as_deref()),
            ("configmaps", Some("user1"), Some("x"))
        );
        let Some(Parsed::Target(t)) = parse_path("/api/v1/namespaces/user1") else {
            panic!()
        };
        assert_eq!(
            (t.rtype.plural, t.ns, t.name.as_deref()),
            ("namespaces", None, Some("user1"))
        );
        let Some(Parsed::Target(t)) =
            parse_path("/apis/networking.istio.io/v1alpha3/serviceentries")
        else {
            panic!()
        };
        assert_eq!((t.rtype.kind, t.ns, t.name), ("ServiceEntry", None, None));
        assert!(parse_path("/apis/networking.istio.io/v9/serviceentries").is_none());
        assert!(matches!(
            parse_path("/apis/apps/v1"),
            Some(Parsed::ResourceList(..))
        ));
        assert!(parse_path("/api/v1/namespaces/u/configmaps/x/y/z").is_none());
    }
}
