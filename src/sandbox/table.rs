//! Server-side printing (`meta.k8s.io/v1 Table`), so `kubectl get` shows the columns a real
//! cluster shows (Istio's printer columns included) and expected output matches.

use std::time::SystemTime;

use axum::http::{HeaderMap, header};
use serde_json::{Value, json};

use super::types::ResourceType;

/// Whether kubectl asked for a Table.
pub(super) fn wanted(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.replace(' ', "").contains("as=Table;v=v1;g=meta.k8s.io"))
}

/// The Content-Type of a Table response.
pub(super) const CONTENT_TYPE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";

/// `k8s.io/apimachinery/pkg/util/duration.HumanDuration`, which the real server uses for AGE.
pub(super) fn human_duration(secs: i64) -> String {
    if secs < 0 {
        return "<invalid>".into();
    }
    let (m, h, d) = (secs / 60, secs / 3600, secs / 86_400);
    let y = d / 365;
    if secs < 120 {
        format!("{secs}s")
    } else if m < 10 {
        match secs % 60 {
            0 => format!("{m}m"),
            s => format!("{m}m{s}s"),
        }
    } else if m < 180 {
        format!("{m}m")
    } else if h < 8 {
        match m % 60 {
            0 => format!("{h}h"),
            mm => format!("{h}h{mm}m"),
        }
    } else if h < 48 {
        format!("{h}h")
    } else if h < 24 * 8 {
        match h % 24 {
            0 => format!("{d}d"),
            hh => format!("{d}d{hh}h"),
        }
    } else if h < 24 * 365 * 2 {
        format!("{d}d")
    } else if h < 24 * 365 * 8 {
        match d % 365 {
            0 => format!("{y}y"),
            dd => format!("{y}y{dd}d"),
        }
    } else {
        format!("{y}y")
    }
}

fn age(obj: &Value) -> String {
    let created = obj
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
        .and_then(|t| humantime::parse_rfc3339(t).ok());
    match created {
        Some(t) => {
            let secs = match SystemTime::now().duration_since(t) {
                Ok(d) => d.as_secs() as i64,
                Err(e) => -(e.duration().as_secs() as i64),
            };
            human_duration(secs)
        }
        None => "<unknown>".into(),
    }
}

fn s<'a>(obj: &'a Value, ptr: &str) -> &'a str {
    obj.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

fn or_none(v: String) -> String {
    if v.is_empty() { "<none>".into() } else { v }
}

fn count(obj: &Value, ptr: &str) -> usize {
    obj.pointer(ptr)
        .and_then(Value::as_object)
        .map_or(0, |m| m.len())
}

fn list(obj: &Value, ptr: &str) -> String {
    let items: Vec<String> = obj
        .pointer(ptr)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
        .collect();
    items.join(",")
}

fn ports(obj: &Value) -> String {
    let ps: Vec<String> = obj
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            match p.get("nodePort").and_then(Value::as_u64) {
                Some(n) => format!("{}:{n}/{proto}", p["port"]),
                None => format!("{}/{proto}", p["port"]),
            }
        })
        .collect();
    or_none(ps.join(","))
}

/// A pod's Ready (ready/all containers), Status (phase) and Restarts.
fn pod_cells(o: &Value) -> Vec<Value> {
    let total = o
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let ready = o
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .map_or(0, |c| {
            c.iter().filter(|c| c["ready"] == json!(true)).count()
        });
    let phase = s(o, "/status/phase");
    vec![
        json!(format!("{ready}/{total}")),
        json!(if phase.is_empty() { "Pending" } else { phase }),
        json!(0),
    ]
}

/// A deployment's Ready, Up-to-date and Available replicas.
fn deployment_cells(o: &Value) -> Vec<Value> {
    let n = |p: &str| o.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    vec![
        json!(format!(
            "{}/{}",
            n("/status/readyReplicas"),
            n("/spec/replicas")
        )),
        json!(n("/status/updatedReplicas")),
        json!(n("/status/availableReplicas")),
    ]
}

/// Column names (after NAME) and the function giving their cells.
type Columns = (&'static [&'static str], fn(&Value) -> Vec<Value>);

/// The columns of each type; NAME comes first and AGE last.
fn columns(rt: &ResourceType) -> Columns {
    match (rt.group, rt.plural) {
        ("", "namespaces") => (&["Status"], |o| vec![json!(s(o, "/status/phase"))]),
        ("", "configmaps") => (&["Data"], |o| {
            vec![json!(count(o, "/data") + count(o, "/binaryData"))]
        }),
        ("", "secrets") => (&["Type"], |o| vec![json!(s(o, "/type"))]),
        ("", "services") => (&["Type", "Cluster-IP", "External-IP", "Port(s)"], |o| {
            vec![
                json!(s(o, "/spec/type")),
                json!(or_none(s(o, "/spec/clusterIP").to_string())),
                json!(or_none(list(o, "/spec/externalIPs"))),
                json!(ports(o)),
            ]
        }),
        ("", "pods") => (&["Ready", "Status", "Restarts"], pod_cells),
        ("apps", "deployments") => (&["Ready", "Up-to-date", "Available"], deployment_cells),
        ("batch", "jobs") => (&["Completions"], |o| {
            let n = |p: &str| o.pointer(p).and_then(Value::as_u64);
            vec![json!(format!(
                "{}/{}",
                n("/status/succeeded").unwrap_or(0),
                n("/spec/completions").unwrap_or(1)
            ))]
        }),
        ("networking.istio.io", "serviceentries") => (&["Hosts", "Location", "Resolution"], |o| {
            vec![
                json!(format!(
                    "[\"{}\"]",
                    list(o, "/spec/hosts").replace(',', "\",\"")
                )),
                json!(s(o, "/spec/location")),
                json!(s(o, "/spec/resolution")),
            ]
        }),
        ("networking.istio.io", "virtualservices") => (&["Gateways", "Hosts"], |o| {
            let quoted = |p: &str| {
                let l = list(o, p);
                if l.is_empty() {
                    String::new()
                } else {
                    format!("[\"{}\"]", l.replace(',', "\",\""))
                }
            };
            vec![
                json!(quoted("/spec/gateways")),
                json!(quoted("/spec/hosts")),
            ]
        }),
        ("networking.istio.io", "destinationrules") => {
            (&["Host"], |o| vec![json!(s(o, "/spec/host"))])
        }
        ("security.istio.io", "peerauthentications") => {
            (&["Mode"], |o| vec![json!(s(o, "/spec/mtls/mode"))])
        }
        ("security.istio.io", "authorizationpolicies") => {
            (&["Action"], |o| vec![json!(s(o, "/spec/action"))])
        }
        _ => (&[], |_| Vec::new()),
    }
}

/// A Table of `objects`; rows carry the full object when `include_object` is `Object`, else
/// their metadata (which kubectl needs for `-A`, `--show-labels`).
pub(super) fn table(
    rt: &ResourceType,
    objects: &[Value],
    rv: &str,
    include_object: Option<&str>,
) -> Value {
    let (names, cells) = columns(rt);
    let mut defs = vec![
        json!({"name": "Name", "type": "string", "format": "name", "description": "Name of the object", "priority": 0}),
    ];
    for n in names {
        defs.push(
            json!({"name": n, "type": "string", "format": "", "description": "", "priority": 0}),
        );
    }
    defs.push(json!({"name": "Age", "type": "string", "format": "", "description": "Time since creation", "priority": 0}));
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let mut c = vec![json!(s(o, "/metadata/name"))];
            c.extend(cells(o));
            c.push(json!(age(o)));
            let object = match include_object {
                Some("Object") => o.clone(),
                Some("None") => Value::Null,
                _ => json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}),
            };
            json!({"cells": c, "object": object})
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv},
        "columnDefinitions": defs,
        "rows": rows
    })
}

#[cfg(test)]
mod tests {
    use super::human_duration;

    #[test]
    fn ages_like_kubectl() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(119), "119s");
        assert_eq!(human_duration(150), "2m30s");
        assert_eq!(human_duration(600), "10m");
        assert_eq!(human_duration(3 * 3600 + 120), "3h2m");
        assert_eq!(human_duration(30 * 3600), "30h");
        assert_eq!(human_duration(3 * 86_400), "3d");
    }
}
