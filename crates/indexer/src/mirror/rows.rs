//! The rows a mirror holds, computed from the files: what `sync` writes and
//! what `verify` compares. Each row hashes to a content hash (xxh3 of its
//! canonical JSON) that is the same whether the row was built from the
//! files or read back from a database, so a value changed behind the
//! mirror's back is a different hash.

use std::collections::HashMap;

use petgraph::visit::{EdgeRef, IntoEdgeReferences};
use schema::model::{Fields, Item};
use schema::{Kind, Workspace};
use serde::Serialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::graph::{EdgeKind, NodeKind, Source};
use crate::inferred::Inferred;
use crate::{Graph, json};

/// Namespace of the ids of nodes that have no file (the project, cycles):
/// UUIDv5 of `kind:key` in it.
const NAMESPACE: Uuid = Uuid::from_u128(0x0193_a6f0_0000_7000_8000_6e6c_6d69_7272);

/// The id of a node without a file.
pub fn synthetic_id(kind: NodeKind, key: &str) -> Uuid {
    Uuid::new_v5(&NAMESPACE, format!("{}:{key}", kind.as_str()).as_bytes())
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ProjectRow {
    pub key: String,
    pub name: String,
    pub config: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ActorRow {
    pub handle: String,
    pub name: String,
    pub email: Option<String>,
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct NodeRow {
    pub id: Uuid,
    pub kind: String,
    pub key: String,
    pub title: String,
    pub path: Option<String>,
    pub status: Option<String>,
    pub category: Option<String>,
    pub priority: Option<i16>,
    pub assignee: Option<String>,
    pub cycle: Option<String>,
    pub estimate: Option<f64>,
    pub labels: Vec<String>,
    pub parent_id: Option<Uuid>,
    pub description: String,
    pub description_html: String,
    pub fields: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct EdgeRow {
    pub from_id: Uuid,
    pub kind: String,
    pub to_id: Uuid,
    pub source: String,
    pub layer: i16,
    pub confidence: Option<f64>,
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct CommentRow {
    pub id: Uuid,
    pub node_id: Uuid,
    pub path: String,
    pub author: Option<String>,
    pub created_at: Option<String>,
    pub edited_at: Option<String>,
    pub reply_to: Option<String>,
    pub body: String,
    pub body_html: String,
    pub reactions: Value,
}

/// Everything a mirror holds.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    pub project: Vec<ProjectRow>,
    pub actors: Vec<ActorRow>,
    pub nodes: Vec<NodeRow>,
    pub edges: Vec<EdgeRow>,
    pub comments: Vec<CommentRow>,
}

/// A row's identity within its table and its content hash.
pub trait Keyed: Serialize {
    /// The primary key, as text.
    fn key(&self) -> String;

    fn hash(&self) -> i64 {
        let v = canonical(&serde_json::to_value(self).expect("rows serialize"));
        let bytes = serde_json::to_vec(&v).expect("values serialize");
        xxhash_rust::xxh3::xxh3_64(&bytes) as i64
    }
}

impl Keyed for ProjectRow {
    fn key(&self) -> String {
        self.key.clone()
    }
}
impl Keyed for ActorRow {
    fn key(&self) -> String {
        self.handle.clone()
    }
}
impl Keyed for NodeRow {
    fn key(&self) -> String {
        self.id.to_string()
    }
}
impl Keyed for EdgeRow {
    fn key(&self) -> String {
        format!(
            "{} {} {} {}",
            self.from_id, self.kind, self.to_id, self.source
        )
    }
}
impl Keyed for CommentRow {
    fn key(&self) -> String {
        self.id.to_string()
    }
}

/// Objects with their keys sorted, at every depth: JSON from a file and
/// from a `jsonb` column (which orders keys its own way) hash alike.
pub fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                out.insert(k.clone(), canonical(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        v => v.clone(),
    }
}

/// The names of the fields in which two rows differ.
pub fn differing<T: Serialize>(a: &T, b: &T) -> Vec<String> {
    let (Value::Object(a), Value::Object(b)) = (
        canonical(&serde_json::to_value(a).expect("rows serialize")),
        canonical(&serde_json::to_value(b).expect("rows serialize")),
    ) else {
        return vec!["(row)".into()];
    };
    a.iter()
        .filter(|(k, v)| b.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
        .collect()
}

/// The rows of a workspace (loaded with bodies and comments), its graph
/// and the analyzer's inferred links.
pub fn rows(ws: &Workspace, g: &Graph, inferred: &[Inferred]) -> Rows {
    let config = ws.config.as_ref();
    let mut out = Rows::default();
    if let Some(c) = config {
        out.project.push(ProjectRow {
            key: c.key.clone(),
            name: c.name.clone(),
            config: json!({
                "statuses": c.statuses.iter().map(|s| json!({"key": s.key, "name": s.name, "category": s.category.as_str()})).collect::<Vec<_>>(),
                "labels": c.labels.iter().map(|l| json!({"name": l.name, "color": l.color, "description": l.description})).collect::<Vec<_>>(),
                "priorities": c.priorities.iter().map(|p| json!({"value": p.value, "name": p.name})).collect::<Vec<_>>(),
                "cycles": c.cycles.iter().map(|y| json!({"key": y.key, "name": y.name, "starts": y.starts.map(|d| d.to_string()), "ends": y.ends.map(|d| d.to_string())})).collect::<Vec<_>>(),
            }),
        });
        for m in &c.members {
            out.actors.push(ActorRow {
                handle: m.handle.clone(),
                name: m.name.clone(),
                email: m.email.clone(),
                kind: match m.kind {
                    schema::model::MemberKind::User => "user",
                    schema::model::MemberKind::Agent => "agent",
                }
                .to_owned(),
            });
        }
    }
    let inner = g.inner();
    let id_of = |n: petgraph::stable_graph::NodeIndex| -> Uuid {
        let node = g.node(n);
        node.id()
            .unwrap_or_else(|| synthetic_id(node.kind, &node.key))
    };
    // Bodies live in the workspace; the graph holds items without them
    // when it was built from the cache.
    let bodies: HashMap<&str, &Item> = ws
        .items
        .iter()
        .filter(|i| i.kind() != Kind::Comment)
        .map(|i| (i.path.as_str(), i))
        .collect();
    for n in inner.node_indices() {
        let node = g.node(n);
        let parent = inner
            .edges_directed(n, petgraph::Direction::Incoming)
            .find(|e| e.weight().kind == EdgeKind::HasChild)
            .map(|e| id_of(e.source()))
            .filter(|_| node.kind != NodeKind::Project);
        let mut row = NodeRow {
            id: id_of(n),
            kind: node.kind.as_str().to_owned(),
            key: node.key.clone(),
            title: node.title.clone(),
            path: None,
            status: None,
            category: node.category.map(|c| c.as_str().to_owned()),
            priority: None,
            assignee: None,
            cycle: None,
            estimate: None,
            labels: Vec::new(),
            parent_id: parent,
            description: String::new(),
            description_html: String::new(),
            fields: Value::Null,
        };
        if let Some(item) = &node.item {
            let full = bodies.get(item.path.as_str()).copied().unwrap_or(item);
            row.path = Some(item.path.clone());
            row.description = full.body.clone();
            row.description_html = schema::markdown::to_html(&full.body);
            row.fields = json::item(full, config);
            match &item.fields {
                Fields::Issue(i) => {
                    row.status = i.status.as_ref().map(|s| s.value.clone());
                    row.priority = Some(i.priority.as_ref().map_or(0, |p| i16::from(p.value)));
                    row.assignee = i.assignee.as_ref().map(|s| s.value.clone());
                    row.cycle = i.cycle.as_ref().map(|s| s.value.clone());
                    row.estimate = i.estimate.as_ref().map(|e| e.value);
                    row.labels = i.labels.iter().map(|l| l.value.clone()).collect();
                }
                Fields::Component(c) => {
                    row.labels = c.labels.iter().map(|l| l.value.clone()).collect();
                }
                _ => {}
            }
        }
        out.nodes.push(row);
    }
    let by_key: HashMap<(EdgeKind, &str, &str), &Inferred> =
        inferred.iter().map(|e| (e.key(), e)).collect();
    for e in inner.edge_references() {
        let w = e.weight();
        let (a, b) = (g.node(e.source()), g.node(e.target()));
        let found = (w.source == Source::Inferred)
            .then(|| by_key.get(&(w.kind, a.key.as_str(), b.key.as_str())))
            .flatten();
        out.edges.push(EdgeRow {
            from_id: id_of(e.source()),
            kind: w.kind.as_str().to_owned(),
            to_id: id_of(e.target()),
            source: match w.source {
                Source::Manual => "manual",
                Source::Inferred => "inferred",
            }
            .to_owned(),
            layer: i16::from(w.layer),
            confidence: found.map(|f| f.confidence),
            evidence: found.map(|f| f.evidence.clone()).unwrap_or_default(),
        });
    }
    // A link written twice in a file is one edge.
    out.edges.sort_by_key(Keyed::key);
    out.edges.dedup_by(|a, b| a.key() == b.key());
    for item in ws.items.iter().filter(|i| i.kind() == Kind::Comment) {
        let (Fields::Comment(c), Some(id)) = (&item.fields, &item.id) else {
            continue;
        };
        let Some(on) = &c.on else { continue };
        let reactions: Map<String, Value> = c
            .reactions
            .iter()
            .map(|(emoji, who)| {
                (
                    emoji.clone(),
                    Value::Array(who.iter().map(|h| Value::String(h.value.clone())).collect()),
                )
            })
            .collect();
        out.comments.push(CommentRow {
            id: id.value,
            node_id: on.value,
            path: item.path.clone(),
            author: c.author.as_ref().map(|a| a.value.clone()),
            created_at: c.created_at.as_ref().map(|t| t.value.to_string()),
            edited_at: c.edited_at.as_ref().map(|t| t.value.to_string()),
            reply_to: c.reply_to.as_ref().map(|r| r.value.clone()),
            body: item.body.clone(),
            body_html: schema::markdown::to_html(&item.body),
            reactions: Value::Object(reactions),
        });
    }
    out
}
