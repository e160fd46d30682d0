//! A subgraph as Graphviz DOT, Mermaid or JSON.

use std::collections::HashSet;
use std::fmt::Write as _;

use petgraph::stable_graph::NodeIndex;
use petgraph::visit::{EdgeRef, IntoEdgeReferences};

use crate::graph::{Graph, NodeKind};
use crate::query;

/// Output formats of [`render`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Dot,
    Mermaid,
    Json,
}

/// The nodes below `root` (itself included; the whole graph when `None`)
/// and the edges among them whose layer is in `layers` (all when empty).
pub fn render(g: &Graph, root: Option<NodeIndex>, layers: &[u8], format: Format) -> String {
    let mut nodes: Vec<NodeIndex> = match root {
        Some(r) => std::iter::once(r).chain(query::descendants(g, r)).collect(),
        None => g.inner().node_indices().collect(),
    };
    // Artifacts and cycles hang off the subtree through their own edges.
    let mut set: HashSet<NodeIndex> = nodes.iter().copied().collect();
    for &n in nodes.clone().iter() {
        for e in g.inner().edges(n) {
            let t = e.target();
            if matches!(g.node(t).kind, NodeKind::Artifact | NodeKind::Cycle) && set.insert(t) {
                nodes.push(t);
            }
        }
    }
    nodes.sort_by(|a, b| {
        (g.node(*a).kind, &g.node(*a).key).cmp(&(g.node(*b).kind, &g.node(*b).key))
    });
    let keep_layer = |l: u8| layers.is_empty() || layers.contains(&l);
    let nodes: Vec<NodeIndex> = nodes
        .into_iter()
        .filter(|&n| match g.node(n).kind {
            // The structure stays whatever the layers: edges of every layer
            // start or end at components.
            NodeKind::Project | NodeKind::Component => true,
            NodeKind::Issue | NodeKind::Cycle => keep_layer(2),
            NodeKind::Artifact => keep_layer(4),
        })
        .collect();
    let set: HashSet<NodeIndex> = nodes.iter().copied().collect();
    let mut edges: Vec<(NodeIndex, NodeIndex, &'static str, u8)> = g
        .inner()
        .edge_references()
        .filter(|e| set.contains(&e.source()) && set.contains(&e.target()))
        .filter(|e| keep_layer(e.weight().layer))
        .map(|e| {
            (
                e.source(),
                e.target(),
                e.weight().kind.as_str(),
                e.weight().layer,
            )
        })
        .collect();
    edges.sort_by(|a, b| {
        (&g.node(a.0).key, &g.node(a.1).key, a.2).cmp(&(&g.node(b.0).key, &g.node(b.1).key, b.2))
    });
    let name = |n: NodeIndex| {
        let node = g.node(n);
        format!("{}_{}", node.kind.as_str(), sanitize(&node.key))
    };
    let mut out = String::new();
    match format {
        Format::Dot => {
            out.push_str("digraph nonlinear {\n  rankdir=LR;\n");
            for &n in &nodes {
                let node = g.node(n);
                let shape = match node.kind {
                    NodeKind::Project => "doubleoctagon",
                    NodeKind::Component => "box",
                    NodeKind::Issue => "ellipse",
                    NodeKind::Artifact => "note",
                    NodeKind::Cycle => "hexagon",
                };
                let _ = writeln!(
                    out,
                    "  {} [shape={shape}, label=\"{}\\n{}\"];",
                    name(n),
                    dot_escape(&node.key),
                    dot_escape(&node.title)
                );
            }
            for (a, b, kind, _) in &edges {
                let _ = writeln!(out, "  {} -> {} [label=\"{kind}\"];", name(*a), name(*b));
            }
            out.push_str("}\n");
        }
        Format::Mermaid => {
            out.push_str("flowchart LR\n");
            for &n in &nodes {
                let node = g.node(n);
                let label = mermaid_escape(&format!("{} {}", node.key, node.title));
                let _ = match node.kind {
                    NodeKind::Component | NodeKind::Project => {
                        writeln!(out, "  {}[\"{label}\"]", name(n))
                    }
                    NodeKind::Issue => writeln!(out, "  {}(\"{label}\")", name(n)),
                    NodeKind::Artifact => writeln!(out, "  {}[/\"{label}\"/]", name(n)),
                    NodeKind::Cycle => writeln!(out, "  {}{{{{\"{label}\"}}}}", name(n)),
                };
            }
            for (a, b, kind, _) in &edges {
                let _ = writeln!(out, "  {} -->|{kind}| {}", name(*a), name(*b));
            }
        }
        Format::Json => {
            let nodes: Vec<_> = nodes
                .iter()
                .map(|&n| {
                    let node = g.node(n);
                    serde_json::json!({
                        "key": node.key,
                        "kind": node.kind,
                        "title": node.title,
                        "id": node.id().map(|i| i.to_string()),
                        "path": node.item.as_ref().map(|i| i.path.clone()),
                    })
                })
                .collect();
            let edges: Vec<_> = edges
                .iter()
                .map(|(a, b, kind, layer)| {
                    serde_json::json!({
                        "from": g.node(*a).key,
                        "to": g.node(*b).key,
                        "kind": kind,
                        "layer": layer,
                    })
                })
                .collect();
            out =
                serde_json::to_string_pretty(&serde_json::json!({"nodes": nodes, "edges": edges}))
                    .unwrap_or_default();
            out.push('\n');
        }
    }
    out
}

fn sanitize(key: &str) -> String {
    key.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn mermaid_escape(s: &str) -> String {
    s.replace('"', "#quot;")
}
