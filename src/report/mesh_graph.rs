//! A user's mesh traffic graph, read from Kiali's graph JSON and drawn as an
//! inline SVG for the HTML report: workloads, services, the blackhole and
//! passthrough clusters and outside hosts, edges coloured by response. The
//! layout is layered and deterministic (same graph, same picture), so reports
//! diff cleanly; the markup is well-formed XML, as the rest of the page.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use serde_json::Value;

use super::html::escape;
use crate::event::UserName;

/// Each user's graph, by the user as the report names them (None in a single-user run).
pub(crate) type MeshGraphs = BTreeMap<UserName, MeshGraph>;

/// What a node stands for; it picks the node's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum NodeKind {
    /// A workload, app or versioned app.
    Workload,
    /// A service inside the mesh.
    Service,
    /// A ServiceEntry's outside host.
    ServiceEntry,
    /// Where REGISTRY_ONLY sends unknown hosts.
    BlackHole,
    /// Where ALLOW_ANY lets unknown hosts through.
    Passthrough,
    /// A source outside the mesh.
    Unknown,
}

/// How an edge's responses went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Health {
    /// 2xx/3xx, or TCP without an Envoy flag.
    Ok,
    /// Some 4xx.
    Degraded,
    /// 5xx, a reset or other Envoy flag, or the blackhole.
    Failing,
}

/// One node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GraphNode {
    /// Kiali's id (edges refer to it).
    pub id: String,
    /// Shape.
    pub kind: NodeKind,
    /// What is written under it.
    pub label: String,
    /// Its namespace, when it has one.
    pub namespace: String,
}

/// One edge.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GraphEdge {
    /// Source node id.
    pub source: String,
    /// Target node id.
    pub target: String,
    /// Colour.
    pub health: Health,
    /// The response codes (or Envoy flags) it carried, e.g. `200` or `UH`.
    pub label: String,
}

/// A graph ready to draw.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct MeshGraph {
    /// Nodes, in Kiali's order.
    pub nodes: Vec<GraphNode>,
    /// Edges whose ends are both nodes.
    pub edges: Vec<GraphEdge>,
}

fn text<'a>(d: &'a Value, key: &str) -> &'a str {
    d.get(key).and_then(Value::as_str).unwrap_or("")
}

fn node_from(d: &Value) -> Option<GraphNode> {
    let id = text(d, "id");
    if id.is_empty() || text(d, "nodeType") == "box" {
        return None;
    }
    let service = text(d, "service");
    let entry_host = d["isServiceEntry"]["hosts"]
        .as_array()
        .and_then(|h| h.first())
        .and_then(Value::as_str);
    let (kind, label) = match text(d, "nodeType") {
        "service" if entry_host.is_some() => {
            (NodeKind::ServiceEntry, entry_host.unwrap_or(service))
        }
        "service" if service == "BlackHoleCluster" => (NodeKind::BlackHole, service),
        "service" if service == "PassthroughCluster" => (NodeKind::Passthrough, service),
        "service" => (NodeKind::Service, service),
        "unknown" => (NodeKind::Unknown, "unknown"),
        "app" => (NodeKind::Workload, text(d, "app")),
        _ => (NodeKind::Workload, text(d, "workload")),
    };
    let label = match (kind, text(d, "version")) {
        (NodeKind::Workload, v) if text(d, "nodeType") == "app" && !v.is_empty() => {
            format!("{label} {v}")
        }
        _ => label.to_string(),
    };
    Some(GraphNode {
        id: id.to_string(),
        kind,
        label: if label.is_empty() {
            id.to_string()
        } else {
            label
        },
        namespace: text(d, "namespace").to_string(),
    })
}

/// Colour and label of an edge from its `traffic.responses` (code → flags → percent).
fn judge(responses: &Value, target: NodeKind) -> (Health, String) {
    let mut health = Health::Ok;
    let mut labels = Vec::new();
    if let Some(codes) = responses.as_object() {
        for (code, r) in codes {
            let flags: Vec<&str> = r["flags"]
                .as_object()
                .map(|f| f.keys().map(String::as_str).filter(|f| *f != "-").collect())
                .unwrap_or_default();
            let failing = code.starts_with('5') || !flags.is_empty();
            if failing {
                health = Health::Failing;
            } else if code.starts_with('4') && health == Health::Ok {
                health = Health::Degraded;
            }
            labels.push(match (code.as_str(), flags.is_empty()) {
                ("-", true) => "tcp".to_string(),
                ("-", false) => flags.join(","),
                (c, true) => c.to_string(),
                (c, false) => format!("{c} {}", flags.join(",")),
            });
        }
    }
    if target == NodeKind::BlackHole {
        health = Health::Failing;
    }
    (health, labels.join(" "))
}

impl MeshGraph {
    /// Reads Kiali's graph JSON (`elements.nodes[].data`, `elements.edges[].data`);
    /// boxes and edges to unknown ids are left out, so a real Kiali's extras do no harm.
    pub(crate) fn from_kiali(v: &Value) -> MeshGraph {
        let empty = Vec::new();
        let list = |k: &str| v["elements"][k].as_array().unwrap_or(&empty).clone();
        let nodes: Vec<GraphNode> = list("nodes")
            .iter()
            .filter_map(|n| node_from(&n["data"]))
            .collect();
        let kinds: HashMap<&str, NodeKind> =
            nodes.iter().map(|n| (n.id.as_str(), n.kind)).collect();
        let edges = list("edges")
            .iter()
            .filter_map(|e| {
                let d = &e["data"];
                let (source, target) = (text(d, "source"), text(d, "target"));
                let (&_, &target_kind) = (kinds.get(source)?, kinds.get(target)?);
                let (health, label) = judge(&d["traffic"]["responses"], target_kind);
                Some(GraphEdge {
                    source: source.to_string(),
                    target: target.to_string(),
                    health,
                    label,
                })
            })
            .collect();
        MeshGraph { nodes, edges }
    }

    /// Each node's position in `nodes`, by id.
    fn index(&self) -> HashMap<&str, usize> {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.as_str(), i))
            .collect()
    }

    /// True when there is nothing to draw (no traffic in the window).
    pub(crate) fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

/// Each node's layer: the longest path from a node nothing calls, so callers
/// sit left of what they call; a cycle is cut at the node first reached.
fn layers(g: &MeshGraph) -> Vec<usize> {
    let index = g.index();
    let mut layer = vec![0usize; g.nodes.len()];
    // Bellman-Ford style relaxation, bounded by the node count: terminates on cycles too.
    for _ in 0..g.nodes.len() {
        let mut changed = false;
        for e in &g.edges {
            let (s, t) = (index[e.source.as_str()], index[e.target.as_str()]);
            if s != t && layer[t] < layer[s] + 1 && layer[s] + 1 < g.nodes.len() {
                layer[t] = layer[s] + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    layer
}

const COL: f64 = 230.0;
const ROW: f64 = 90.0;
const MARGIN: f64 = 60.0;
const R: f64 = 16.0;

/// Where each node sits: (x, y) by node index.
fn positions(g: &MeshGraph) -> Vec<(f64, f64)> {
    let layer = layers(g);
    let mut columns: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, l) in layer.iter().enumerate() {
        columns.entry(*l).or_default().push(i);
    }
    // The first column's labels are centred under their nodes: leave room for the longest.
    let left = g
        .nodes
        .iter()
        .zip(&layer)
        .filter(|(_, l)| **l == 0)
        .map(|(n, _)| n.label.chars().count() as f64 * 3.6 + 12.0)
        .fold(MARGIN, f64::max);
    let mut pos = vec![(0.0, 0.0); g.nodes.len()];
    for (l, mut members) in columns {
        members.sort_by(|a, b| {
            let (a, b) = (&g.nodes[*a], &g.nodes[*b]);
            (a.kind, &a.label, &a.id).cmp(&(b.kind, &b.label, &b.id))
        });
        for (row, i) in members.into_iter().enumerate() {
            pos[i] = (left + l as f64 * COL, MARGIN + row as f64 * ROW);
        }
    }
    pos
}

fn shape(kind: NodeKind, x: f64, y: f64) -> String {
    let class = match kind {
        NodeKind::BlackHole => "node bad",
        NodeKind::ServiceEntry | NodeKind::Passthrough => "node outside",
        _ => "node",
    };
    match kind {
        NodeKind::Workload | NodeKind::Unknown => {
            format!("<circle class=\"{class}\" cx=\"{x}\" cy=\"{y}\" r=\"{R}\" />")
        }
        NodeKind::Service | NodeKind::BlackHole | NodeKind::Passthrough => format!(
            "<polygon class=\"{class}\" points=\"{},{} {},{} {},{}\" />",
            x,
            y - R - 2.0,
            x + R + 2.0,
            y + R - 2.0,
            x - R - 2.0,
            y + R - 2.0
        ),
        NodeKind::ServiceEntry => format!(
            "<polygon class=\"{class}\" points=\"{x},{} {},{y} {x},{} {},{y}\" />",
            y - R - 2.0,
            x + R + 2.0,
            y + R + 2.0,
            x - R - 2.0
        ),
    }
}

fn health_class(h: Health) -> &'static str {
    match h {
        Health::Ok => "ok",
        Health::Degraded => "degraded",
        Health::Failing => "failing",
    }
}

const STYLE: &str = "
.mesh-graph .bg { fill: #ffffff; stroke: #d0d7de; }
.mesh-graph .node { fill: #eef3fb; stroke: #335f9c; stroke-width: 2; }
.mesh-graph .node.outside { fill: #f3eefb; stroke: #6f42c1; }
.mesh-graph .node.bad { fill: #ffebe9; stroke: #cf222e; }
.mesh-graph text { fill: #1f2328; font: 12px system-ui, sans-serif; }
.mesh-graph text.ns { fill: #59636e; font-size: 10px; }
.mesh-graph .ok { color: #1a7f37; }
.mesh-graph .degraded { color: #9a6700; }
.mesh-graph .failing { color: #cf222e; }
.mesh-graph path.line { fill: none; stroke: currentColor; stroke-width: 2.5; }
.mesh-graph path.arrow { fill: currentColor; }
.mesh-graph text.code { fill: currentColor; font-size: 11px; font-weight: bold; }
@media (prefers-color-scheme: dark) {
  .mesh-graph .bg { fill: #0d1117; stroke: #3d444d; }
  .mesh-graph .node { fill: #16243a; stroke: #6ea8fe; }
  .mesh-graph .node.outside { fill: #2a1f3d; stroke: #b392f0; }
  .mesh-graph .node.bad { fill: #3d1418; stroke: #ff7b72; }
  .mesh-graph text { fill: #e6edf3; }
  .mesh-graph text.ns { fill: #9198a1; }
  .mesh-graph .ok { color: #3fb950; }
  .mesh-graph .degraded { color: #d29922; }
  .mesh-graph .failing { color: #ff7b72; }
}
";

/// The graph as an `<svg>` element (empty string for an empty graph).
pub(crate) fn svg(g: &MeshGraph) -> String {
    if g.is_empty() {
        return String::new();
    }
    let pos = positions(g);
    let index = g.index();
    let width = pos.iter().map(|p| p.0).fold(0.0, f64::max) + MARGIN + 120.0;
    let height = pos.iter().map(|p| p.1).fold(0.0, f64::max) + MARGIN + 20.0;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"mesh-graph\" role=\"img\" \
         width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">\
         <title>Mesh traffic graph</title><style>{STYLE}</style><defs>"
    );
    for h in [Health::Ok, Health::Degraded, Health::Failing] {
        let c = health_class(h);
        let _ = write!(
            s,
            "<marker id=\"arrow-{c}\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" \
             markerUnits=\"userSpaceOnUse\" markerWidth=\"11\" markerHeight=\"11\" \
             orient=\"auto\"><path class=\"arrow {c}\" d=\"M0,0 L10,5 L0,10 z\" /></marker>"
        );
    }
    let _ = write!(
        s,
        "</defs><rect class=\"bg\" x=\"0.5\" y=\"0.5\" width=\"{}\" height=\"{}\" rx=\"6\" />",
        width - 1.0,
        height - 1.0
    );
    for e in &g.edges {
        edge(
            &mut s,
            e,
            pos[index[e.source.as_str()]],
            pos[index[e.target.as_str()]],
        );
    }
    for (n, &at) in g.nodes.iter().zip(&pos) {
        node(&mut s, n, at);
    }
    s.push_str("</svg>");
    s
}

/// One edge from `(x1, y1)` to `(x2, y2)`, coloured by its health, its code beside it.
fn edge(s: &mut String, e: &GraphEdge, (x1, y1): (f64, f64), (x2, y2): (f64, f64)) {
    let c = health_class(e.health);
    // Forward edges leave the right side; others bow below, clear of the nodes.
    let (sx, tx, bend) = if x2 > x1 {
        (x1 + R + 4.0, x2 - R - 6.0, 0.0)
    } else {
        (x1, x2, ROW * 0.6)
    };
    let (mx, my) = ((sx + tx) / 2.0, (y1 + y2) / 2.0 + bend);
    // A sloping edge's code sits beside the curve, not on it.
    let (lx, anchor) = if y1 == y2 {
        (mx, "middle")
    } else {
        (mx + 12.0, "start")
    };
    let _ = write!(
        s,
        "<g class=\"link {c}\" data-source=\"{}\" data-target=\"{}\">\
         <path class=\"line\" marker-end=\"url(#arrow-{c})\" \
         d=\"M{sx},{y1} C{mx},{} {mx},{} {tx},{y2}\" />\
         <text class=\"code\" x=\"{lx}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text></g>",
        escape(&e.source),
        escape(&e.target),
        y1 + bend,
        y2 + bend,
        my - 6.0,
        escape(&e.label),
    );
}

/// One node at `(x, y)`: its shape, its label, and its namespace under it.
fn node(s: &mut String, n: &GraphNode, (x, y): (f64, f64)) {
    let _ = write!(
        s,
        "<g class=\"mesh-node\" data-id=\"{}\">{}<text x=\"{x}\" y=\"{}\" \
         text-anchor=\"middle\">{}</text>",
        escape(&n.id),
        shape(n.kind, x, y),
        y + R + 16.0,
        escape(&n.label),
    );
    if !n.namespace.is_empty() && n.kind != NodeKind::Unknown {
        let _ = write!(
            s,
            "<text class=\"ns\" x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            y + R + 29.0,
            escape(&n.namespace)
        );
    }
    s.push_str("</g>");
}

/// The report's block for one user: a heading and the SVG, or nothing when
/// the run has no graph for them or it is empty.
pub(crate) fn section(graphs: &MeshGraphs, user: &UserName) -> String {
    match graphs.get(user) {
        Some(g) if !g.is_empty() => format!(
            "<div class=\"mesh\"><h3>Mesh traffic</h3>\n{}\n<p class=\"mesh-legend\">\
             green: 2xx · amber: 4xx · red: 5xx, reset or blackhole</p></div>\n",
            svg(g)
        ),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn egress_blocked() -> Value {
        json!({"elements": {
        "nodes": [
            {"data": {"id": "wl", "nodeType": "workload", "namespace": "user1", "workload": "context-scraper"}},
            {"data": {"id": "bh", "nodeType": "service", "namespace": "user1", "service": "BlackHoleCluster"}},
            {"data": {"id": "se", "nodeType": "service", "namespace": "user1", "service": "www.googleapis.com",
                      "isServiceEntry": {"hosts": ["www.googleapis.com"], "location": "MESH_EXTERNAL"}}},
            {"data": {"id": "unknown", "nodeType": "unknown"}},
            {"data": {"id": "box", "nodeType": "box"}}
        ],
        "edges": [
            {"data": {"source": "wl", "target": "bh", "traffic": {"protocol": "tcp",
                "responses": {"-": {"flags": {"UH": "100.0"}}}}}},
            {"data": {"source": "wl", "target": "se", "traffic": {"protocol": "tcp",
                "responses": {"-": {"flags": {"-": "100.0"}}}}}},
            {"data": {"source": "unknown", "target": "wl", "traffic": {"protocol": "http",
                "responses": {"500": {"flags": {"-": "100.0"}}}}}},
            {"data": {"source": "wl", "target": "missing"}}
        ]}})
    }

    #[test]
    fn reads_kinds_and_judges_edges() {
        let g = MeshGraph::from_kiali(&egress_blocked());
        let kinds: Vec<NodeKind> = g.nodes.iter().map(|n| n.kind).collect();
        assert_eq!(
            kinds,
            [
                NodeKind::Workload,
                NodeKind::BlackHole,
                NodeKind::ServiceEntry,
                NodeKind::Unknown
            ]
        );
        assert_eq!(g.edges.len(), 3, "the edge to a missing node is left out");
        assert_eq!(
            (g.edges[0].health, g.edges[0].label.as_str()),
            (Health::Failing, "UH")
        );
        assert_eq!(
            (g.edges[1].health, g.edges[1].label.as_str()),
            (Health::Ok, "tcp")
        );
        assert_eq!(g.edges[2].health, Health::Failing);
    }

    #[test]
    fn layers_put_callers_left_and_survive_cycles() {
        let mut g = MeshGraph::from_kiali(&egress_blocked());
        let p = positions(&g);
        assert!(p[3].0 < p[0].0 && p[0].0 < p[1].0, "{p:?}");
        g.nodes[3].label = "istio-ingressgateway".into();
        assert!(
            positions(&g)[3].0 >= 20.0 * 3.6 + 12.0,
            "the label fits left of the node"
        );
        g.edges.push(GraphEdge {
            source: "bh".into(),
            target: "unknown".into(),
            health: Health::Ok,
            label: String::new(),
        });
        assert_eq!(positions(&g).len(), 4);
        assert_eq!(svg(&g), svg(&g.clone()), "deterministic");
    }

    #[test]
    fn empty_graph_draws_nothing() {
        let g = MeshGraph::from_kiali(&json!({"elements": {"nodes": [], "edges": []}}));
        assert_eq!(svg(&g), "");
        let mut all = MeshGraphs::new();
        all.insert(None, g);
        assert_eq!(section(&all, &None), "");
        assert_eq!(section(&all, &Some("x".into())), "");
    }
}
