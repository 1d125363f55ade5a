//! `PeerAuthentication` (security.istio.io): with mTLS `STRICT`, a workload's sidecar accepts
//! only mutual TLS from other sidecars, so a client outside the mesh (the student's terminal)
//! is refused, while meshed callers (the ingress gateway) pass.

use serde_json::Value;

use super::select::{FieldSelector, LabelSelector};
use super::store::Store;
use super::types;

/// The labels of the one workload the sandbox runs, context-scraper.
const SCRAPER_LABELS: &[(&str, &str)] = &[("app", "context-scraper"), ("version", "v1")];

fn policies(store: &Store, ns: &str) -> Vec<Value> {
    let Some(rt) = types::by_kind("security.istio.io", "PeerAuthentication") else {
        return Vec::new();
    };
    store
        .list(
            rt,
            Some(ns),
            &LabelSelector::default(),
            &FieldSelector::default(),
        )
        .0
}

fn selects_scraper(policy: &Value) -> bool {
    policy
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .is_none_or(|m| {
            m.iter().all(|(k, v)| {
                SCRAPER_LABELS
                    .iter()
                    .any(|(sk, sv)| k == sk && v.as_str() == Some(sv))
            })
        })
}

fn mode(policy: &Value) -> Option<&str> {
    policy.pointer("/spec/mtls/mode").and_then(Value::as_str)
}

/// Whether context-scraper in `ns` takes mutual TLS only. The most specific policy wins, as in
/// Istio: one selecting the workload, then the namespace's, then the mesh-wide one in the
/// control plane's namespace (`NS-istio`, each user's own).
pub(super) fn strict_for_scraper(store: &Store, ns: &str) -> bool {
    let local = policies(store, ns);
    let selecting = local
        .iter()
        .filter(|p| p.pointer("/spec/selector").is_some() && selects_scraper(p))
        .find_map(|p| mode(p));
    let namespace_wide = local
        .iter()
        .filter(|p| p.pointer("/spec/selector").is_none())
        .find_map(|p| mode(p));
    let mesh_wide = || {
        policies(store, &format!("{ns}-istio"))
            .iter()
            .filter(|p| p.pointer("/spec/selector").is_none())
            .find_map(|p| mode(p).map(str::to_string))
    };
    match selecting.or(namespace_wide) {
        Some(m) => m == "STRICT",
        None => mesh_wide().as_deref() == Some("STRICT"),
    }
}
