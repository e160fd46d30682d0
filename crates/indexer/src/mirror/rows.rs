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

use petgraph::stable_graph::NodeIndex;

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

/// What an artifact's file says of content stored for it: an uploaded
/// attachment (`storage` `attachment`, by `sha256`) or a repository file
/// (`storage` `file`, at `file`).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AttachmentRow {
    pub artifact_id: Uuid,
    /// The artifact's file.
    pub path: String,
    pub storage: String,
    pub sha256: Option<String>,
    pub file: Option<String>,
    pub url: Option<String>,
    pub mime_type: Option<String>,
    pub size: Option<i64>,
}

/// Everything a mirror holds.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    pub project: Vec<ProjectRow>,
    pub actors: Vec<ActorRow>,
    pub nodes: Vec<NodeRow>,
    pub edges: Vec<EdgeRow>,
    pub comments: Vec<CommentRow>,
    pub attachments: Vec<AttachmentRow>,
}

/// A row's identity within its table and its content hash.
pub trait Keyed: Serialize {
    /// The primary key, as text.
    fn key(&self) -> String;

    fn hash(&self) -> i64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        feed(&mut h, &serde_json::to_value(self).expect("rows serialize"));
        h.digest() as i64
    }
}

/// Feeds a JSON value to a hasher in a canonical form: objects by sorted
/// key (a database gives them back in its own order), every value tagged
/// with its type and strings with their length, so that no two values
/// feed the same bytes.
fn feed(h: &mut xxhash_rust::xxh3::Xxh3, v: &Value) {
    match v {
        Value::Null => h.update(b"n"),
        Value::Bool(b) => h.update(if *b { b"t" } else { b"f" }),
        Value::Number(n) => {
            h.update(b"#");
            h.update(n.to_string().as_bytes());
            h.update(b";");
        }
        Value::String(s) => {
            h.update(b"s");
            h.update(&(s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        }
        Value::Array(a) => {
            h.update(b"[");
            h.update(&(a.len() as u64).to_le_bytes());
            for x in a {
                feed(h, x);
            }
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            h.update(b"{");
            h.update(&(keys.len() as u64).to_le_bytes());
            for k in keys {
                h.update(&(k.len() as u64).to_le_bytes());
                h.update(k.as_bytes());
                feed(h, &m[k]);
            }
        }
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
impl Keyed for AttachmentRow {
    fn key(&self) -> String {
        self.artifact_id.to_string()
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
    // Bodies live in the workspace; the graph holds items without them
    // when it was built from the cache.
    let bodies: HashMap<&str, &Item> = ws
        .items
        .iter()
        .filter(|i| i.kind() != Kind::Comment)
        .map(|i| (i.path.as_str(), i))
        .collect();
    for n in inner.node_indices() {
        let full = g
            .node(n)
            .item
            .as_ref()
            .map(|item| bodies.get(item.path.as_str()).copied().unwrap_or(item));
        out.nodes.push(node_row(g, n, full, config));
    }
    let by_key = inferred_by_key(inferred);
    for e in inner.edge_references() {
        out.edges.push(edge_row(g, e, &by_key));
    }
    // A link written twice in a file is one edge.
    out.edges.sort_by_key(Keyed::key);
    out.edges.dedup_by(|a, b| a.key() == b.key());
    out.comments = ws.items.iter().filter_map(comment_row).collect();
    out.attachments = ws.items.iter().filter_map(attachment_row).collect();
    out
}

/// The path under which the server serves uploaded attachments.
const ATTACHMENTS_URL: &str = "/api/v1/attachments/";

/// The attachment row of an artifact with stored content.
fn attachment_row(item: &Item) -> Option<AttachmentRow> {
    let (Fields::Artifact(a), Some(id)) = (&item.fields, &item.id) else {
        return None;
    };
    let url = a.url.as_ref().map(|u| u.value.clone());
    let sha = url
        .as_deref()
        .and_then(|u| u.strip_prefix(ATTACHMENTS_URL))
        .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_owned);
    let file = a.file.as_ref().map(|f| f.value.clone());
    let storage = match (&sha, &file) {
        (Some(_), _) => "attachment",
        (None, Some(_)) => "file",
        (None, None) => return None,
    };
    Some(AttachmentRow {
        artifact_id: id.value,
        path: item.path.clone(),
        storage: storage.to_owned(),
        sha256: sha,
        file,
        url,
        mime_type: a.mime_type.clone(),
        size: a.size.map(|s| s as i64),
    })
}

type InferredByKey<'a> = HashMap<(EdgeKind, &'a str, &'a str), &'a Inferred>;

fn inferred_by_key(inferred: &[Inferred]) -> InferredByKey<'_> {
    inferred.iter().map(|e| (e.key(), e)).collect()
}

fn id_of(g: &Graph, n: NodeIndex) -> Uuid {
    let node = g.node(n);
    node.id()
        .unwrap_or_else(|| synthetic_id(node.kind, &node.key))
}

/// The row of node `n`; `full` is its item with its body (the graph's may
/// have none).
fn node_row(
    g: &Graph,
    n: NodeIndex,
    full: Option<&Item>,
    config: Option<&schema::Config>,
) -> NodeRow {
    let node = g.node(n);
    let parent = g
        .inner()
        .edges_directed(n, petgraph::Direction::Incoming)
        .find(|e| e.weight().kind == EdgeKind::HasChild)
        .map(|e| id_of(g, e.source()))
        .filter(|_| node.kind != NodeKind::Project);
    let mut row = NodeRow {
        id: id_of(g, n),
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
    if let (Some(item), Some(full)) = (&node.item, full) {
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
    row
}

fn edge_row(
    g: &Graph,
    e: petgraph::stable_graph::EdgeReference<'_, crate::graph::Edge>,
    by_key: &InferredByKey<'_>,
) -> EdgeRow {
    let w = e.weight();
    let (a, b) = (g.node(e.source()), g.node(e.target()));
    let found = (w.source == Source::Inferred)
        .then(|| by_key.get(&(w.kind, a.key.as_str(), b.key.as_str())))
        .flatten();
    EdgeRow {
        from_id: id_of(g, e.source()),
        kind: w.kind.as_str().to_owned(),
        to_id: id_of(g, e.target()),
        source: match w.source {
            Source::Manual => "manual",
            Source::Inferred => "inferred",
        }
        .to_owned(),
        layer: i16::from(w.layer),
        confidence: found.map(|f| f.confidence),
        evidence: found.map(|f| f.evidence.clone()).unwrap_or_default(),
    }
}

fn comment_row(item: &Item) -> Option<CommentRow> {
    {
        let (Fields::Comment(c), Some(id)) = (&item.fields, &item.id) else {
            return None;
        };
        let on = c.on.as_ref()?;
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
        Some(CommentRow {
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
        })
    }
}

/// Marks node `n` touched: its incident edges are rewritten.
fn touch(d: &mut Delta, g: &Graph, n: NodeIndex, by_key: &InferredByKey<'_>) {
    d.touched.push(id_of(g, n));
    d.kinds.insert(id_of(g, n), g.node(n).kind.as_str());
    for e in g
        .inner()
        .edges_directed(n, petgraph::Direction::Outgoing)
        .chain(g.inner().edges_directed(n, petgraph::Direction::Incoming))
    {
        for end in [e.source(), e.target()] {
            d.kinds.insert(id_of(g, end), g.node(end).kind.as_str());
        }
        d.rows.edges.push(edge_row(g, e, by_key));
    }
}

/// Node `n`'s row, its body read from its file (the graph's item may have
/// none).
pub fn node_row_from_file(
    store: &schema::store::Store,
    g: &Graph,
    n: NodeIndex,
    config: Option<&schema::Config>,
) -> NodeRow {
    let full = g.node(n).item.as_ref().and_then(|item| {
        store
            .load_files(std::slice::from_ref(&item.path), schema::parse::Body::Keep)
            .items
            .into_iter()
            .next()
    });
    node_row(g, n, full.as_ref().or(g.node(n).item.as_ref()), config)
}

/// Adds to `d` the rows of the nodes `ids` (whose parent went away) as
/// the graph has them now.
pub fn reattach(
    d: &mut Delta,
    store: &schema::store::Store,
    g: &Graph,
    inferred: &[Inferred],
    ids: &[Uuid],
) {
    let by_key = inferred_by_key(inferred);
    for id in ids {
        if let Some(n) = g.find(&id.to_string()) {
            d.rows
                .nodes
                .push(node_row_from_file(store, g, n, g.config()));
            touch(d, g, n, &by_key);
        }
    }
    d.rows.edges.sort_by_key(Keyed::key);
    d.rows.edges.dedup_by(|a, b| a.key() == b.key());
    d.rows.nodes.sort_by_key(|r| r.id);
    d.rows.nodes.dedup_by_key(|r| r.id);
}

/// What changed files mean for a mirror: the rows of the items and
/// comments they now hold, the nodes whose edges must be rewritten, and
/// the paths that no longer hold anything.
#[derive(Debug, Clone, Default)]
pub struct Delta {
    /// Rows to upsert (no project or actor rows: a config change needs a
    /// full sync).
    pub rows: Rows,
    /// Nodes whose incident edges are replaced by `rows.edges`.
    pub touched: Vec<Uuid>,
    /// Files that are gone or no longer parse: their rows leave.
    pub gone: Vec<String>,
    /// The kind (`NodeKind::as_str`) of every node `rows` names, ends of
    /// edges included: what a graph mirror labels them.
    pub kinds: HashMap<Uuid, &'static str>,
}

/// The [`Delta`] of the files `paths` (workspace-relative): each is read
/// again from `store`; `g` is the graph with the change applied (the
/// watcher's), `inferred` the analyzer's links.
pub fn delta(
    store: &schema::store::Store,
    g: &Graph,
    inferred: &[Inferred],
    paths: &[String],
) -> Delta {
    let ws = store.load_files(paths, schema::parse::Body::Keep);
    let config = g.config();
    let by_key = inferred_by_key(inferred);
    let mut d = Delta::default();
    let mut present = std::collections::HashSet::new();
    for item in &ws.items {
        present.insert(item.path.as_str());
        if item.kind() == Kind::Comment {
            d.rows.comments.extend(comment_row(item));
            continue;
        }
        d.rows.attachments.extend(attachment_row(item));
        let Some(n) = g.by_path(&item.path) else {
            continue;
        };
        d.rows.nodes.push(node_row(g, n, Some(item), config));
        touch(&mut d, g, n, &by_key);
        // Children whose parent this file now is (a reference that
        // dangled before): their `parent_id` changes too.
        for c in g.out(n, EdgeKind::HasChild).collect::<Vec<_>>() {
            d.rows.nodes.push(node_row_from_file(store, g, c, config));
            touch(&mut d, g, c, &by_key);
        }
    }
    d.rows.edges.sort_by_key(Keyed::key);
    d.rows.edges.dedup_by(|a, b| a.key() == b.key());
    d.rows.nodes.sort_by_key(|r| r.id);
    d.rows.nodes.dedup_by_key(|r| r.id);
    d.touched.sort();
    d.touched.dedup();
    d.gone = paths
        .iter()
        .filter(|p| !present.contains(p.as_str()))
        .cloned()
        .collect();
    d
}
