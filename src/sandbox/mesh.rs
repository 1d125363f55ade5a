//! The mesh control plane's view per user, delivered to the proxy after a propagation delay.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

/// Name of the ConfigMap holding each user's mesh config (in namespace `userK-istio`).
pub(super) const MESH_CONFIGMAP: &str = "istio-workshop-install";

/// What the proxy knows about one user's mesh at one moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(super) struct MeshView {
    /// `outboundTrafficPolicy.mode`: `ALLOW_ANY` or `REGISTRY_ONLY`.
    pub mode: String,
    /// `(host, port)` pairs registered by ServiceEntries visible in the user's namespace.
    pub registry: Vec<(String, u16)>,
}

/// How a sidecar sends a request for an outside host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Egress {
    /// A ServiceEntry registers the host (the entry's host as written, maybe `*.example.com`).
    Registered(String),
    /// Not registered, but `ALLOW_ANY` lets it out (Envoy's PassthroughCluster).
    Passthrough,
    /// Not registered under `REGISTRY_ONLY`: dropped (Envoy's BlackHoleCluster).
    BlackHole,
}

impl Egress {
    /// Whether the request leaves the mesh.
    pub(super) fn leaves(&self) -> bool {
        !matches!(self, Egress::BlackHole)
    }
}

impl MeshView {
    /// Whether a sidecar in this mesh lets a request to `host:port` leave.
    pub(super) fn allows(&self, host: &str, port: u16) -> bool {
        self.egress(host, port).leaves()
    }

    /// How a sidecar in this mesh routes a request to `host:port`.
    pub(super) fn egress(&self, host: &str, port: u16) -> Egress {
        let registered = self.registry.iter().find(|(h, p)| {
            *p == port
                && (h == host
                    || h.strip_prefix("*.")
                        .is_some_and(|suffix| host.ends_with(&format!(".{suffix}"))))
        });
        match registered {
            Some((h, _)) => Egress::Registered(h.clone()),
            None if self.mode == "ALLOW_ANY" => Egress::Passthrough,
            None => Egress::BlackHole,
        }
    }
}

/// Reads `outboundTrafficPolicy.mode` from a mesh ConfigMap; `None` when its YAML is unreadable
/// (istiod keeps the previous config then).
pub(super) fn mode_from_configmap(cm: Option<&Value>) -> Option<String> {
    let Some(cm) = cm else {
        // Istio's default when no mesh config is installed.
        return Some("ALLOW_ANY".into());
    };
    let Some(text) = cm.pointer("/data/mesh").and_then(Value::as_str) else {
        return Some("ALLOW_ANY".into());
    };
    let mesh: Value = serde_saphyr::from_str(text).ok()?;
    Some(
        mesh.pointer("/outboundTrafficPolicy/mode")
            .and_then(Value::as_str)
            .unwrap_or("ALLOW_ANY")
            .to_string(),
    )
}

/// The `(host, port)` pairs a ServiceEntry in the user's own namespace contributes.
pub(super) fn registry_entries(se: &Value) -> Vec<(String, u16)> {
    let spec = se.get("spec");
    let visible = match spec
        .and_then(|s| s.get("exportTo"))
        .and_then(Value::as_array)
    {
        None => true,
        Some(list) => list
            .iter()
            .any(|e| matches!(e.as_str(), Some(".") | Some("*"))),
    };
    if !visible {
        return Vec::new();
    }
    let hosts = spec.and_then(|s| s.get("hosts")).and_then(Value::as_array);
    let ports = spec.and_then(|s| s.get("ports")).and_then(Value::as_array);
    let mut out = Vec::new();
    for h in hosts.into_iter().flatten().filter_map(Value::as_str) {
        for p in ports.into_iter().flatten() {
            let n = p.get("number").and_then(|n| {
                n.as_u64()
                    .or_else(|| n.as_str().and_then(|s| s.parse().ok()))
            });
            if let Some(n) = n.and_then(|n| u16::try_from(n).ok()) {
                out.push((h.to_string(), n));
            }
        }
    }
    out
}

/// Timestamped views per user; the proxy reads the one in force `delay` ago.
#[derive(Debug)]
pub(super) struct Mesh {
    delay: Duration,
    history: Mutex<HashMap<String, VecDeque<(Instant, MeshView)>>>,
}

impl Mesh {
    /// A mesh whose changes take `delay` to reach the proxy.
    pub(super) fn new(delay: Duration) -> Mesh {
        Mesh {
            delay,
            history: Mutex::new(HashMap::new()),
        }
    }

    /// Records the control plane's new view for `user` (a no-op if unchanged).
    pub(super) fn record(&self, user: &str, view: MeshView) {
        let mut h = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let q = h.entry(user.to_string()).or_default();
        if q.back().map(|(_, v)| v) == Some(&view) {
            return;
        }
        q.push_back((Instant::now(), view));
        // Keep one entry at or before the cutoff; older ones can never be read again.
        let cutoff = Instant::now().checked_sub(self.delay);
        while let (Some(cutoff), true) = (cutoff, q.len() > 1) {
            if q[1].0 <= cutoff {
                q.pop_front();
            } else {
                break;
            }
        }
    }

    /// The latest view recorded for `user` (what the control plane knows now).
    pub(super) fn latest(&self, user: &str) -> Option<MeshView> {
        let h = self.history.lock().unwrap_or_else(|e| e.into_inner());
        h.get(user).and_then(|q| q.back()).map(|(_, v)| v.clone())
    }

    /// The view the proxy acts on for `user`: the newest one at least `delay` old (the first
    /// recorded one if none is that old yet, so seeded state holds from the start).
    pub(super) fn effective(&self, user: &str) -> Option<MeshView> {
        let h = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let q = h.get(user)?;
        let now = Instant::now();
        q.iter()
            .rev()
            .find(|(t, _)| now.duration_since(*t) >= self.delay)
            .or_else(|| q.front())
            .map(|(_, v)| v.clone())
    }

    /// Every user's latest and effective view, for `/debug/state`.
    pub(super) fn dump(&self) -> Value {
        let users: Vec<String> = {
            let h = self.history.lock().unwrap_or_else(|e| e.into_inner());
            let mut u: Vec<String> = h.keys().cloned().collect();
            u.sort();
            u
        };
        let mut out = serde_json::Map::new();
        for u in users {
            out.insert(
                u.clone(),
                serde_json::json!({"latest": self.latest(&u), "effective": self.effective(&u)}),
            );
        }
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mode_parsing() {
        let cm = json!({"data": {"mesh": "accessLogFile: /dev/stdout\noutboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n"}});
        assert_eq!(
            mode_from_configmap(Some(&cm)).as_deref(),
            Some("REGISTRY_ONLY")
        );
        assert_eq!(mode_from_configmap(None).as_deref(), Some("ALLOW_ANY"));
        let bad = json!({"data": {"mesh": "a: [unclosed"}});
        assert_eq!(mode_from_configmap(Some(&bad)), None);
    }

    #[test]
    fn service_entry_visibility() {
        let se = json!({"spec": {"hosts": ["www.googleapis.com"], "ports": [{"number": 443}], "exportTo": ["."]}});
        assert_eq!(
            registry_entries(&se),
            vec![("www.googleapis.com".to_string(), 443)]
        );
        let hidden = json!({"spec": {"hosts": ["www.googleapis.com"], "ports": [{"number": 443}], "exportTo": ["other"]}});
        assert!(registry_entries(&hidden).is_empty());
        let view = MeshView {
            mode: "REGISTRY_ONLY".into(),
            registry: vec![("*.googleapis.com".into(), 443)],
        };
        assert!(view.allows("www.googleapis.com", 443));
        assert!(!view.allows("www.googleapis.com", 80));
    }

    #[test]
    fn delay_hides_recent_changes() {
        let m = Mesh::new(Duration::from_millis(200));
        let blocked = MeshView {
            mode: "REGISTRY_ONLY".into(),
            registry: vec![],
        };
        let open = MeshView {
            mode: "ALLOW_ANY".into(),
            registry: vec![],
        };
        m.record("user1", blocked.clone());
        m.record("user1", open.clone());
        assert_eq!(m.effective("user1"), Some(blocked));
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(m.effective("user1"), Some(open));
    }
}
