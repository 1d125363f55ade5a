//! `/version` and API discovery, legacy (`/api/v1`, `/apis/G/V`) and aggregated (v2).

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::types::{self, ResourceType, VERBS};

/// The Kubernetes version the sandbox claims; kubectl 1.32's dispatcher needs 1.32 or later.
pub(super) fn version() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.3",
        "gitCommit": "32cc146f75aad04beaaa245a7157eb35063a9f99",
        "gitTreeState": "clean",
        "buildDate": "2025-03-11T19:52:21Z",
        "goVersion": "go1.23.6",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

const AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Whether the client asked for aggregated discovery v2.
pub(super) fn wants_aggregated(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|m| m.replace(' ', "").starts_with(AGGREGATED))
}

fn json_response(v: Value, content_type: &'static str) -> Response {
    let mut r = axum::Json(v).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn gv_for_group(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

/// `GET /api`.
pub(super) fn core(headers: &HeaderMap, server: &str) -> Response {
    if wants_aggregated(headers) {
        return json_response(aggregated(|g| g.is_empty()), AGGREGATED);
    }
    json_response(
        json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server}]
        }),
        "application/json",
    )
}

fn group_entry(group: &str) -> Value {
    let versions = types::group_versions(group).unwrap_or(&[]);
    let gvs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": gv_for_group(group, v), "version": v}))
        .collect();
    json!({"name": group, "versions": gvs, "preferredVersion": gvs.first()})
}

/// `GET /apis`.
pub(super) fn groups(headers: &HeaderMap) -> Response {
    if wants_aggregated(headers) {
        return json_response(aggregated(|g| !g.is_empty()), AGGREGATED);
    }
    let groups: Vec<Value> = types::groups()
        .into_iter()
        .filter(|g| !g.is_empty())
        .map(group_entry)
        .collect();
    json_response(
        json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
        "application/json",
    )
}

/// `GET /apis/GROUP`, or `None` for an unknown group.
pub(super) fn group(name: &str) -> Option<Value> {
    types::group_versions(name)?;
    let mut g = group_entry(name);
    g["kind"] = json!("APIGroup");
    g["apiVersion"] = json!("v1");
    Some(g)
}

fn in_gv<'a>(group: &'a str, version: &'a str) -> impl Iterator<Item = &'static ResourceType> + 'a {
    types::TYPES
        .iter()
        .filter(move |t| t.group == group && t.versions.contains(&version))
}

/// `GET /api/v1` or `/apis/G/V`, or `None` if nothing is served there.
pub(super) fn resource_list(group: &str, version: &str) -> Option<Value> {
    let resources: Vec<Value> = in_gv(group, version)
        .map(|t| {
            let r = json!({
                "name": t.plural,
                "singularName": t.singular,
                "namespaced": t.namespaced,
                "kind": t.kind,
                "verbs": VERBS,
            });
            with_names(r, t)
        })
        .collect();
    if resources.is_empty() {
        return None;
    }
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv_for_group(group, version),
        "resources": resources
    }))
}

/// Adds the short names and categories `kubectl get` resolves, when the type has any.
fn with_names(mut resource: Value, t: &ResourceType) -> Value {
    if !t.short_names.is_empty() {
        resource["shortNames"] = json!(t.short_names);
    }
    if !t.categories.is_empty() {
        resource["categories"] = json!(t.categories);
    }
    resource
}

/// An `APIGroupDiscoveryList` (v2) over the groups `pick` selects.
fn aggregated(pick: impl Fn(&str) -> bool) -> Value {
    let items: Vec<Value> = types::groups()
        .into_iter()
        .filter(|g| pick(g))
        .map(|group| {
            let versions: Vec<Value> = types::group_versions(group)
                .unwrap_or(&[])
                .iter()
                .map(|version| {
                    let resources: Vec<Value> = in_gv(group, version)
                        .map(|t| {
                            let r = json!({
                                "resource": t.plural,
                                "responseKind": {"group": group, "version": version, "kind": t.kind},
                                "scope": if t.namespaced { "Namespaced" } else { "Cluster" },
                                "singularResource": t.singular,
                                "verbs": VERBS,
                            });
                            with_names(r, t)
                        })
                        .collect();
                    json!({"version": version, "resources": resources, "freshness": "Current"})
                })
                .collect();
            let metadata = if group.is_empty() {
                json!({"creationTimestamp": null})
            } else {
                json!({"name": group, "creationTimestamp": null})
            };
            json!({"metadata": metadata, "versions": versions})
        })
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items
    })
}
