//! Kiali's graph API (`/kiali/api/namespaces/graph`) over the proxy's telemetry, in the JSON
//! shape Kiali answers, so a check written against the sandbox holds against a real Kiali.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::telemetry::{Destination, Labels, Protocol, Source, Telemetry, Workload};

/// The path students' checks call.
pub(super) const GRAPH_PATH: &str = "/kiali/api/namespaces/graph";

/// Kiali's default window when no `duration` is given.
const DEFAULT_WINDOW: Duration = Duration::from_secs(600);

/// `graphType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GraphType {
    /// One node per workload.
    Workload,
    /// One node per app label.
    App,
    /// One node per app and version.
    VersionedApp,
    /// Service nodes only.
    Service,
}

impl GraphType {
    fn parse(s: &str) -> Option<GraphType> {
        Some(match s {
            "workload" => GraphType::Workload,
            "app" => GraphType::App,
            "versionedApp" => GraphType::VersionedApp,
            "service" => GraphType::Service,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            GraphType::Workload => "workload",
            GraphType::App => "app",
            GraphType::VersionedApp => "versionedApp",
            GraphType::Service => "service",
        }
    }
}

/// What a graph request asks for; unknown parameters are ignored, as Kiali ignores them.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct GraphQuery {
    /// `namespaces=a,b`.
    pub namespaces: Vec<String>,
    /// `graphType`.
    pub graph_type: GraphType,
    /// `duration=60s`.
    pub window: Duration,
    /// `injectServiceNodes` (default true).
    pub service_nodes: bool,
}

/// A graph query parameter Kiali would refuse; the text is Kiali's own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum BadQuery {
    /// `graphType` names no graph type.
    #[error("Invalid graphType [{0}]")]
    GraphType(String),
    /// `duration` is not a duration.
    #[error("Invalid duration [{0}]")]
    Duration(String),
}

impl GraphQuery {
    /// Reads the query string; a bad `graphType` or `duration` is an error, as in Kiali.
    pub(super) fn parse(query: Option<&str>) -> Result<GraphQuery, BadQuery> {
        let mut q = GraphQuery {
            namespaces: Vec::new(),
            graph_type: GraphType::VersionedApp,
            window: DEFAULT_WINDOW,
            service_nodes: true,
        };
        for (k, v) in query
            .unwrap_or("")
            .split('&')
            .filter_map(|kv| kv.split_once('='))
        {
            match k {
                "namespaces" => {
                    q.namespaces = v
                        .split(',')
                        .map(|n| n.trim().to_string())
                        .filter(|n| !n.is_empty())
                        .collect();
                }
                "graphType" => {
                    q.graph_type =
                        GraphType::parse(v).ok_or_else(|| BadQuery::GraphType(v.to_string()))?;
                }
                "duration" => {
                    q.window = crate::lab::check_spec::parse_duration_str(v)
                        .map_err(|_| BadQuery::Duration(v.to_string()))?;
                }
                "injectServiceNodes" => q.service_nodes = v != "false",
                _ => {}
            }
        }
        Ok(q)
    }
}

/// A node's identity in the graph; its id is derived from it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Node {
    Unknown,
    Workload(Workload),
    App {
        namespace: String,
        app: String,
        version: Option<String>,
    },
    Service {
        namespace: String,
        name: String,
        external_host: Option<String>,
    },
}

impl Node {
    fn id(&self) -> String {
        match self {
            Node::Unknown => "unknown".into(),
            Node::Workload(w) => format!("wl_{}_{}", w.namespace, w.name),
            Node::App {
                namespace,
                app,
                version: Some(v),
            } => format!("app_{namespace}_{app}_{v}"),
            Node::App { namespace, app, .. } => format!("app_{namespace}_{app}"),
            Node::Service {
                namespace, name, ..
            } => format!("svc_{namespace}_{name}"),
        }
    }

    fn data(&self, traffic: Value) -> Value {
        let mut d = match self {
            Node::Unknown => json!({
                "nodeType": "unknown", "namespace": "unknown", "workload": "unknown",
                "app": "unknown", "service": "unknown", "isInaccessible": true,
            }),
            Node::Workload(w) => json!({
                "nodeType": "workload", "namespace": w.namespace, "workload": w.name,
                "app": w.app, "version": w.version,
            }),
            Node::App {
                namespace,
                app,
                version,
            } => {
                let mut d = json!({"nodeType": "app", "namespace": namespace, "app": app});
                if let Some(v) = version {
                    d["version"] = json!(v);
                }
                d
            }
            Node::Service {
                namespace,
                name,
                external_host,
            } => {
                let mut d = json!({"nodeType": "service", "namespace": namespace, "service": name});
                if let Some(h) = external_host {
                    d["isServiceEntry"] = json!({"hosts": [h], "location": "MESH_EXTERNAL"});
                }
                d
            }
        };
        d["id"] = json!(self.id());
        d["traffic"] = traffic;
        json!({"data": d})
    }
}

fn workload_node(w: &Workload, t: GraphType) -> Node {
    match t {
        GraphType::Workload => Node::Workload(w.clone()),
        GraphType::App => Node::App {
            namespace: w.namespace.clone(),
            app: w.app.clone(),
            version: None,
        },
        GraphType::VersionedApp => Node::App {
            namespace: w.namespace.clone(),
            app: w.app.clone(),
            version: Some(w.version.clone()),
        },
        GraphType::Service => service_node(&w.namespace, &w.app),
    }
}

fn service_node(namespace: &str, name: &str) -> Node {
    Node::Service {
        namespace: namespace.to_string(),
        name: name.to_string(),
        external_host: None,
    }
}

/// The hops one record draws: source → service, and service → workload when service nodes are
/// injected into a workload or app graph.
fn hops(r: &Labels, q: &GraphQuery) -> Vec<(Node, Node)> {
    let src = match &r.source {
        Source::Unknown => Node::Unknown,
        Source::Workload(w) => workload_node(w, q.graph_type),
    };
    let (svc, backend) = match &r.destination {
        Destination::Service {
            namespace,
            name,
            workload,
        } => (service_node(namespace, name), workload.as_ref()),
        Destination::BlackHole { namespace } => (service_node(namespace, "BlackHoleCluster"), None),
        Destination::Passthrough { namespace } => {
            (service_node(namespace, "PassthroughCluster"), None)
        }
        Destination::ServiceEntry { namespace, host } => (
            Node::Service {
                namespace: namespace.clone(),
                name: host.clone(),
                external_host: Some(host.clone()),
            },
            None,
        ),
    };
    match (q.graph_type, backend) {
        (GraphType::Service, _) | (_, None) => vec![(src, svc)],
        (t, Some(w)) if q.service_nodes => vec![(src, svc.clone()), (svc, workload_node(w, t))],
        (t, Some(w)) => vec![(src, workload_node(w, t))],
    }
}

/// What one edge carried.
#[derive(Default)]
struct EdgeTraffic {
    protocol: Option<Protocol>,
    requests: u64,
    bytes: u64,
    /// code (`-` for TCP) → flags → count
    codes: BTreeMap<String, BTreeMap<&'static str, u64>>,
    /// code → host → count
    hosts: BTreeMap<String, BTreeMap<String, u64>>,
}

fn percent(part: u64, whole: u64) -> String {
    format!("{:.1}", part as f64 * 100.0 / whole.max(1) as f64)
}

fn rate(n: u64, window: Duration) -> String {
    format!("{:.2}", n as f64 / window.as_secs_f64().max(1.0))
}

impl EdgeTraffic {
    /// Adds `n` requests like `r` carrying `bytes` in all.
    fn add(&mut self, r: &Labels, n: u64, bytes: u64) {
        self.protocol.get_or_insert(r.protocol);
        self.requests += n;
        self.bytes += bytes;
        let code = r.code.map_or_else(|| "-".to_string(), |c| c.to_string());
        *self
            .codes
            .entry(code.clone())
            .or_default()
            .entry(r.flags)
            .or_default() += n;
        *self
            .hosts
            .entry(code)
            .or_default()
            .entry(r.host.clone())
            .or_default() += n;
    }

    fn to_json(&self, window: Duration) -> Value {
        let protocol = self.protocol.unwrap_or(Protocol::Http);
        let mut rates = serde_json::Map::new();
        match protocol {
            Protocol::Http => {
                rates.insert("http".into(), json!(rate(self.requests, window)));
                rates.insert("httpPercentReq".into(), json!("100.0"));
                let errors: u64 = self
                    .codes
                    .iter()
                    .filter(|(c, _)| c.starts_with('5') || c.starts_with('4'))
                    .flat_map(|(_, f)| f.values())
                    .sum();
                if errors > 0 {
                    rates.insert(
                        "httpPercentErr".into(),
                        json!(percent(errors, self.requests)),
                    );
                }
            }
            Protocol::Tcp => {
                rates.insert("tcp".into(), json!(rate(self.bytes, window)));
            }
        }
        let mut responses = serde_json::Map::new();
        for (code, flags) in &self.codes {
            let total: u64 = flags.values().sum();
            let flags: serde_json::Map<String, Value> = flags
                .iter()
                .map(|(f, n)| (f.to_string(), json!(percent(*n, total))))
                .collect();
            let hosts: serde_json::Map<String, Value> = self.hosts[code]
                .iter()
                .map(|(h, n)| (h.clone(), json!(percent(*n, total))))
                .collect();
            responses.insert(code.clone(), json!({"flags": flags, "hosts": hosts}));
        }
        json!({"protocol": protocol.as_str(), "rates": rates, "responses": responses})
    }
}

fn in_scope(r: &Labels, namespaces: &[String]) -> bool {
    let src_ns = match &r.source {
        Source::Unknown => None,
        Source::Workload(w) => Some(w.namespace.as_str()),
    };
    let dst_ns = r.destination.namespace();
    namespaces
        .iter()
        .any(|n| src_ns == Some(n.as_str()) || dst_ns == n)
}

/// The graph for `q` over what `telemetry` recorded within its window.
pub(super) fn graph(telemetry: &Telemetry, q: &GraphQuery) -> Value {
    let mut edges: HashMap<(Node, Node), EdgeTraffic> = HashMap::new();
    telemetry.counts_within(q.window, |counts| {
        for (labels, c) in counts.filter(|(l, _)| in_scope(l, &q.namespaces)) {
            for hop in hops(labels, q) {
                edges
                    .entry(hop)
                    .or_default()
                    .add(labels, c.records, c.bytes);
            }
        }
    });
    let mut edges: Vec<((Node, Node), EdgeTraffic)> = edges.into_iter().collect();
    edges.sort_by(|a, b| a.0.cmp(&b.0));
    // node → protocol → (in, out) requests or bytes
    let mut nodes: BTreeMap<Node, BTreeMap<Protocol, (u64, u64)>> = BTreeMap::new();
    for ((src, dst), t) in &edges {
        let p = t.protocol.unwrap_or(Protocol::Http);
        let n = if p == Protocol::Tcp {
            t.bytes
        } else {
            t.requests
        };
        nodes
            .entry(src.clone())
            .or_default()
            .entry(p)
            .or_default()
            .1 += n;
        nodes
            .entry(dst.clone())
            .or_default()
            .entry(p)
            .or_default()
            .0 += n;
    }
    let node_json: Vec<Value> = nodes
        .iter()
        .map(|(node, by_protocol)| {
            let traffic: Vec<Value> = by_protocol
                .iter()
                .map(|(p, (i, o))| {
                    let mut rates = serde_json::Map::new();
                    let name = p.as_str();
                    if *i > 0 {
                        rates.insert(format!("{name}In"), json!(rate(*i, q.window)));
                    }
                    if *o > 0 {
                        rates.insert(format!("{name}Out"), json!(rate(*o, q.window)));
                    }
                    json!({"protocol": name, "rates": rates})
                })
                .collect();
            node.data(json!(traffic))
        })
        .collect();
    let edge_json: Vec<Value> = edges
        .iter()
        .map(|((src, dst), t)| {
            let (s, d) = (src.id(), dst.id());
            json!({"data": {"id": format!("{s}->{d}"), "source": s, "target": d,
                "traffic": t.to_json(q.window)}})
        })
        .collect();
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    json!({
        "timestamp": now,
        "duration": q.window.as_secs(),
        "graphType": q.graph_type.as_str(),
        "elements": {"nodes": node_json, "edges": edge_json},
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::telemetry::{Record, blackholed};

    fn scraper() -> Workload {
        Workload {
            namespace: "user1".into(),
            name: "context-scraper".into(),
            app: "context-scraper".into(),
            version: "v1".into(),
        }
    }

    fn blocked() -> Record {
        blackholed(Source::Workload(scraper()), SystemTime::now())
    }

    #[test]
    fn query_defaults_and_errors() {
        let q = GraphQuery::parse(Some("namespaces=user1&graphType=workload&duration=60s&x=1"))
            .unwrap();
        assert_eq!(q.namespaces, ["user1"]);
        assert_eq!(q.graph_type, GraphType::Workload);
        assert_eq!(q.window, Duration::from_secs(60));
        assert!(GraphQuery::parse(Some("graphType=pie")).is_err());
    }

    #[test]
    fn blackhole_edge_and_other_namespaces_empty() {
        let t = Telemetry::default();
        t.record(blocked());
        let q = GraphQuery::parse(Some("namespaces=user1&graphType=workload")).unwrap();
        let g = graph(&t, &q);
        let edges = g["elements"]["edges"].as_array().unwrap();
        assert_eq!(edges.len(), 1);
        assert_eq!(edges[0]["data"]["target"], "svc_user1_BlackHoleCluster");
        assert_eq!(
            edges[0]["data"]["traffic"]["responses"]["-"]["flags"]["UH"],
            "100.0"
        );
        let q2 = GraphQuery::parse(Some("namespaces=user2")).unwrap();
        assert_eq!(graph(&t, &q2)["elements"]["nodes"], json!([]));
    }
}
