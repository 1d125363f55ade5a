//! The OpenAPI v3 documents `kubectl apply` reads to decide it may use server-side validation.

use serde_json::{Value, json};

use super::types::{self, ResourceType};

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `GET /openapi/v3`: one entry per served group-version.
pub(super) fn index() -> Value {
    let mut paths = serde_json::Map::new();
    for group in types::groups() {
        for version in types::group_versions(group).unwrap_or(&[]) {
            let p = gv_path(group, version);
            paths.insert(
                p.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash=SANDBOX{}", p.len())}),
            );
        }
    }
    json!({"paths": paths})
}

fn item_path(t: &ResourceType, version: &str) -> String {
    let base = format!("/{}", gv_path(t.group, version));
    if t.namespaced {
        format!("{base}/namespaces/{{namespace}}/{}/{{name}}", t.plural)
    } else {
        format!("{base}/{}/{{name}}", t.plural)
    }
}

/// `GET /openapi/v3/api/v1` or `/openapi/v3/apis/G/V`: a PATCH operation per kind carrying
/// `x-kubernetes-group-version-kind` and a `fieldValidation` parameter.
pub(super) fn document(gv: &str) -> Option<Value> {
    let (group, version) = match gv.strip_prefix("api/") {
        Some(v) => ("", v),
        None => gv.strip_prefix("apis/")?.split_once('/')?,
    };
    let mut paths = serde_json::Map::new();
    for t in types::TYPES
        .iter()
        .filter(|t| t.group == group && t.versions.contains(&version))
    {
        let gvk = json!({"group": group, "version": version, "kind": t.kind});
        let op = |verb: &str| {
            json!({
                "description": format!("{verb} the specified {}", t.kind),
                "operationId": format!("{verb}{}", t.kind),
                "x-kubernetes-action": verb,
                "x-kubernetes-group-version-kind": gvk,
                "parameters": [
                    {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                    {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                    {"name": "fieldValidation", "in": "query",
                     "description": "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields.",
                     "schema": {"type": "string", "uniqueItems": true}},
                    {"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": true}}
                ],
                "responses": {"200": {"description": "OK"}}
            })
        };
        paths.insert(
            item_path(t, version),
            json!({
                "get": {"operationId": format!("read{}", t.kind), "x-kubernetes-action": "get",
                        "x-kubernetes-group-version-kind": gvk, "responses": {"200": {"description": "OK"}}},
                "put": op("put"),
                "patch": op("patch"),
                "parameters": [
                    {"name": "name", "in": "path", "required": true, "schema": {"type": "string", "uniqueItems": true}},
                ]
            }),
        );
    }
    if paths.is_empty() {
        return None;
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.3"},
        "paths": paths,
        "components": {"schemas": {}}
    }))
}
