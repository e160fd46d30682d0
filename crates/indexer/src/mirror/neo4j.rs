//! The Neo4j mirror over Bolt (the `neo4j` crate, which speaks Bolt 4.4
//! and 5.x: Neo4j 5 and 2025, and `kglite-bolt-server` in the tests).
//!
//! Topology and lightweight properties only, as the seed has it: nodes
//! labelled `Project`, `Cycle`, `Component`, `Issue`, `Artifact` with
//! `id`, `key`, `title`, `path`, `status`, `category`, `priority`,
//! `assignee`, `cycle`, `estimate`, `labels`, `parent_id`; one
//! relationship type per edge kind with `source` (`manual`/`inferred`),
//! `layer`, `confidence`, `evidence`. Content (descriptions, comments)
//! lives in Postgres. Every node and relationship carries `hash`, the
//! content hash a sync compares.
//!
//! Versioned Cypher migrations are applied once each and recorded as
//! `(:Migration {version})` nodes. A sync is one explicit transaction of
//! batched `UNWIND … MERGE … SET n += r.props` upserts and deletes of what
//! the files no longer have. The driver is blocking: async callers run it
//! on a blocking thread.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use neo4j::ValueReceive;
use neo4j::ValueSend;
use neo4j::address::Address;
use neo4j::driver::auth::AuthToken;
use neo4j::driver::{ConnectionConfig, Driver, DriverConfig, Record};
use neo4j::session::SessionConfig;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::rows::{EdgeRow, Keyed, NodeRow, Rows, differing};
use super::{Difference, MirrorError, SyncReport, TableCount, Verify};

/// Rows per `UNWIND` statement.
const BATCH: usize = 5_000;

/// The node labels, by node kind.
const LABELS: &[(&str, &str)] = &[
    ("project", "Project"),
    ("cycle", "Cycle"),
    ("component", "Component"),
    ("issue", "Issue"),
    ("artifact", "Artifact"),
];

/// The labels of nodes that have a file (`path`).
const FILE_LABELS: &[&str] = &["Component", "Issue", "Artifact"];

/// Relationship types (the graph's edge kinds).
const TYPES: &[&str] = &[
    "HAS_CHILD",
    "BLOCKS",
    "RELATES_TO",
    "DUPLICATES",
    "DEPENDS_ON",
    "IMPORTS",
    "CALLS_API",
    "SHARES_DB",
    "HAS_ARTIFACT",
    "IN_CYCLE",
];

/// The migrations, in order: (version, statements).
const MIGRATIONS: &[(i64, &[&str])] = &[
    (
        1,
        &[
            "CREATE INDEX comp_id IF NOT EXISTS FOR (c:Component) ON (c.id)",
            "CREATE INDEX comp_short IF NOT EXISTS FOR (c:Component) ON (c.key)",
            "CREATE INDEX issue_id IF NOT EXISTS FOR (i:Issue) ON (i.id)",
            "CREATE INDEX issue_short IF NOT EXISTS FOR (i:Issue) ON (i.key)",
            "CREATE INDEX issue_status IF NOT EXISTS FOR (i:Issue) ON (i.status)",
            "CREATE INDEX issue_assignee IF NOT EXISTS FOR (i:Issue) ON (i.assignee)",
            "CREATE INDEX artifact_id IF NOT EXISTS FOR (a:Artifact) ON (a.id)",
            "CREATE INDEX cycle_id IF NOT EXISTS FOR (y:Cycle) ON (y.id)",
            "CREATE INDEX project_id IF NOT EXISTS FOR (p:Project) ON (p.id)",
        ],
    ),
    (
        2,
        &[
            "CREATE INDEX comp_path IF NOT EXISTS FOR (c:Component) ON (c.path)",
            "CREATE INDEX issue_path IF NOT EXISTS FOR (i:Issue) ON (i.path)",
            "CREATE INDEX artifact_path IF NOT EXISTS FOR (a:Artifact) ON (a.path)",
        ],
    ),
];

/// What the graph mirror holds of a node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GraphNode {
    pub id: String,
    pub key: String,
    pub title: String,
    pub path: Option<String>,
    pub status: Option<String>,
    pub category: Option<String>,
    pub priority: Option<i64>,
    pub assignee: Option<String>,
    pub cycle: Option<String>,
    pub estimate: Option<f64>,
    pub labels: Vec<String>,
    pub parent_id: Option<String>,
}

impl Keyed for GraphNode {
    fn key(&self) -> String {
        self.id.clone()
    }
}

impl GraphNode {
    fn of(r: &NodeRow) -> GraphNode {
        GraphNode {
            id: r.id.to_string(),
            key: r.key.clone(),
            title: r.title.clone(),
            path: r.path.clone(),
            status: r.status.clone(),
            category: r.category.clone(),
            priority: r.priority.map(i64::from),
            assignee: r.assignee.clone(),
            cycle: r.cycle.clone(),
            estimate: r.estimate,
            labels: r.labels.clone(),
            parent_id: r.parent_id.map(|p| p.to_string()),
        }
    }
}

/// What the graph holds: (label, id) → hash of every node, and the key of
/// every relationship ([`Keyed::key`] of an [`EdgeRow`]) → its hash.
type Held = (HashMap<(String, String), i64>, HashMap<String, i64>);

/// A connection to one Bolt server.
pub struct Neo4j {
    driver: Driver,
}

impl std::fmt::Debug for Neo4j {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Neo4j").finish_non_exhaustive()
    }
}

fn db(e: impl std::fmt::Display) -> MirrorError {
    MirrorError::Database(e.to_string())
}

/// A Bolt URL's parts: host, port, (user, password), and whether to route
/// (`neo4j://`, a cluster) or talk to that server only (`bolt://`).
type BoltUrl = (String, u16, Option<(String, String)>, bool);

/// `bolt://[user:password@]host[:port]` (or `neo4j://…`) → its parts.
fn parse_url(url: &str) -> Result<BoltUrl, MirrorError> {
    let (rest, routing) = match url.strip_prefix("bolt://") {
        Some(r) => (r, false),
        None => (
            url.strip_prefix("neo4j://")
                .ok_or_else(|| MirrorError::Connect(format!("{url}: not a bolt:// URL")))?,
            true,
        ),
    };
    let rest = rest.trim_end_matches('/');
    let (auth, host) = match rest.rsplit_once('@') {
        Some((a, h)) => {
            let (u, p) = a.split_once(':').unwrap_or((a, ""));
            (Some((u.to_owned(), p.to_owned())), h)
        }
        None => (None, rest),
    };
    let (host, port) = match host.rsplit_once(':') {
        Some((h, p)) => (
            h.to_owned(),
            p.parse()
                .map_err(|_| MirrorError::Connect(format!("{url}: bad port")))?,
        ),
        None => (host.to_owned(), 7687),
    };
    Ok((host, port, auth, routing))
}

fn send(v: &Value) -> ValueSend {
    match v {
        Value::Null => ValueSend::Null,
        Value::Bool(b) => ValueSend::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => ValueSend::Integer(i),
            None => ValueSend::Float(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => ValueSend::String(s.clone()),
        Value::Array(a) => ValueSend::List(a.iter().map(send).collect()),
        Value::Object(m) => ValueSend::Map(m.iter().map(|(k, v)| (k.clone(), send(v))).collect()),
    }
}

fn receive(v: ValueReceive) -> Value {
    match v {
        ValueReceive::Boolean(b) => Value::Bool(b),
        ValueReceive::Integer(i) => Value::from(i),
        ValueReceive::Float(f) => Value::from(f),
        ValueReceive::String(s) => Value::String(s),
        ValueReceive::List(l) => Value::Array(l.into_iter().map(receive).collect()),
        ValueReceive::Map(m) => {
            Value::Object(m.into_iter().map(|(k, v)| (k, receive(v))).collect())
        }
        _ => Value::Null,
    }
}

fn take(r: &mut Record, key: &str) -> Value {
    r.take_value(key).map_or(Value::Null, receive)
}

/// The properties of a row (as JSON), with its hash (computed once by
/// the caller, which compared it already).
fn props<T: Keyed>(row: &T, hash: i64) -> ValueSend {
    send(&props_json(row, hash))
}

/// [`props`] as JSON.
fn props_json<T: Keyed>(row: &T, hash: i64) -> Value {
    let mut v = serde_json::to_value(row).expect("rows serialize");
    if let Value::Object(m) = &mut v {
        m.insert("hash".into(), Value::from(hash));
    }
    v
}

fn params(pairs: Vec<(&str, ValueSend)>) -> HashMap<String, ValueSend> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

impl Neo4j {
    /// Connects, checks the server answers, and applies the migrations not
    /// applied yet.
    pub fn connect(url: &str) -> Result<Neo4j, MirrorError> {
        let (host, port, auth, routing) = parse_url(url)?;
        let token = match auth {
            Some((u, p)) => AuthToken::new_basic_auth(u, p),
            None => AuthToken::new_none_auth(),
        };
        let driver = Driver::new(
            // The driver routes by default: a `bolt://` server's advertised
            // address would be used instead of the one given.
            ConnectionConfig::new(Address::from((host.as_str(), port))).with_routing(routing),
            DriverConfig::new().with_auth(Arc::new(token)),
        );
        driver
            .verify_connectivity()
            .map_err(|e| MirrorError::Connect(e.to_string()))?;
        let n = Neo4j { driver };
        n.migrate()?;
        Ok(n)
    }

    fn read(&self, q: &str, p: HashMap<String, ValueSend>) -> Result<Vec<Record>, MirrorError> {
        Ok(self
            .driver
            .execute_query(q)
            .with_parameters(p)
            .run()
            .map_err(db)?
            .records)
    }

    fn migrate(&self) -> Result<(), MirrorError> {
        let done: HashSet<i64> = self
            .read("MATCH (m:Migration) RETURN m.version AS v", HashMap::new())
            .map_err(|e| MirrorError::Migrate(e.to_string()))?
            .into_iter()
            .filter_map(|mut r| take(&mut r, "v").as_i64())
            .collect();
        for (version, statements) in MIGRATIONS {
            if done.contains(version) {
                continue;
            }
            for s in *statements {
                self.read(s, HashMap::new())
                    .map_err(|e| MirrorError::Migrate(format!("{s}: {e}")))?;
            }
            self.read(
                "MERGE (m:Migration {version: $v})",
                params(vec![("v", ValueSend::Integer(*version))]),
            )
            .map_err(|e| MirrorError::Migrate(e.to_string()))?;
        }
        Ok(())
    }

    /// The highest migration applied.
    pub fn schema_version(&self) -> Result<Option<i64>, MirrorError> {
        Ok(self
            .read(
                "MATCH (m:Migration) RETURN max(m.version) AS v",
                HashMap::new(),
            )?
            .into_iter()
            .next()
            .and_then(|mut r| take(&mut r, "v").as_i64()))
    }

    /// (label, id, hash) of every node, and (type, from, to, source, hash)
    /// of every relationship.
    fn have(&self) -> Result<Held, MirrorError> {
        let mut nodes = HashMap::new();
        for (_, label) in LABELS {
            for mut r in self.read(
                &format!("MATCH (n:{label}) RETURN n.id AS id, n.hash AS h"),
                HashMap::new(),
            )? {
                let id = take(&mut r, "id").as_str().unwrap_or_default().to_owned();
                nodes.insert(
                    ((*label).to_owned(), id),
                    take(&mut r, "h").as_i64().unwrap_or(0),
                );
            }
        }
        let mut edges = HashMap::new();
        for t in TYPES {
            for mut r in self.read(
                &format!(
                    "MATCH (a)-[e:{t}]->(b) RETURN a.id AS a, b.id AS b, e.source AS s, e.hash AS h"
                ),
                HashMap::new(),
            )? {
                let k = format!(
                    "{} {t} {} {}",
                    take(&mut r, "a").as_str().unwrap_or_default(),
                    take(&mut r, "b").as_str().unwrap_or_default(),
                    take(&mut r, "s").as_str().unwrap_or_default()
                );
                edges.insert(k, take(&mut r, "h").as_i64().unwrap_or(0));
            }
        }
        Ok((nodes, edges))
    }

    /// Makes the graph hold exactly the nodes and edges of `rows`, in one
    /// transaction.
    pub fn sync(&self, rows: &Rows) -> Result<SyncReport, MirrorError> {
        self.sync_forced(rows, &HashSet::new())
    }

    /// [`Neo4j::sync`], rewriting also the nodes and relationships in
    /// `force` (`(table, key)` as [`Verify`] names them) whatever their
    /// stored hash says: `verify --repair`.
    pub fn sync_forced(
        &self,
        rows: &Rows,
        force: &HashSet<(String, String)>,
    ) -> Result<SyncReport, MirrorError> {
        let start = std::time::Instant::now();
        let (have_nodes, have_edges) = self.have()?;
        let label_of: HashMap<Uuid, &str> = rows
            .nodes
            .iter()
            .filter_map(|n| Some((n.id, label(&n.kind)?)))
            .collect();
        // Nodes by label: upserts, and ids to delete.
        let mut node_up: BTreeMap<&str, Vec<ValueSend>> = BTreeMap::new();
        let mut wanted: HashSet<(String, String)> = HashSet::new();
        let mut nodes = TableCount {
            table: "nodes".into(),
            ..TableCount::default()
        };
        for r in &rows.nodes {
            let Some(l) = label(&r.kind) else { continue };
            let g = GraphNode::of(r);
            let hash = g.hash();
            let k = (l.to_owned(), g.id.clone());
            match have_nodes.get(&k) {
                None => nodes.inserted += 1,
                Some(&h) if h != hash || force.contains(&("nodes".to_owned(), g.id.clone())) => {
                    nodes.updated += 1
                }
                Some(_) => {
                    wanted.insert(k);
                    continue;
                }
            }
            node_up.entry(l).or_default().push(node_value(&g, hash));
            wanted.insert(k);
        }
        let mut node_gone: BTreeMap<String, Vec<ValueSend>> = BTreeMap::new();
        for (k, _) in have_nodes {
            if !wanted.contains(&k) {
                nodes.deleted += 1;
                node_gone
                    .entry(k.0)
                    .or_default()
                    .push(ValueSend::String(k.1));
            }
        }
        // Relationships by (type, from label, to label).
        let mut edges = TableCount {
            table: "relationships".into(),
            ..TableCount::default()
        };
        let mut edge_up: BTreeMap<(String, &str, &str), Vec<ValueSend>> = BTreeMap::new();
        let mut wanted_edges = HashSet::new();
        for e in &rows.edges {
            let (Some(a), Some(b)) = (label_of.get(&e.from_id), label_of.get(&e.to_id)) else {
                continue;
            };
            let k = format!("{} {} {} {}", e.from_id, e.kind, e.to_id, e.source);
            let h = e.hash();
            match have_edges.get(&k) {
                None => edges.inserted += 1,
                Some(&old)
                    if old != h || force.contains(&("relationships".to_owned(), k.clone())) =>
                {
                    edges.updated += 1
                }
                Some(_) => {
                    wanted_edges.insert(k);
                    continue;
                }
            }
            wanted_edges.insert(k);
            edge_up
                .entry((e.kind.clone(), *a, *b))
                .or_default()
                .push(edge_value(e, h));
        }
        let mut edge_gone: BTreeMap<String, Vec<ValueSend>> = BTreeMap::new();
        for k in have_edges.keys() {
            if wanted_edges.contains(k) {
                continue;
            }
            let parts: Vec<&str> = k.splitn(4, ' ').collect();
            if let [a, t, b, s] = parts.as_slice() {
                edges.deleted += 1;
                edge_gone
                    .entry((*t).to_owned())
                    .or_default()
                    .push(send(&serde_json::json!({"from": a, "to": b, "source": s})));
            }
        }
        let mut statements = Vec::new();
        for (t, list) in &edge_gone {
            batched(
                &mut statements,
                format!(
                    "UNWIND $rows AS r MATCH (a {{id: r.from}})-[e:{t} {{source: r.source}}]->(b {{id: r.to}}) DELETE e"
                ),
                list,
            );
        }
        for (l, ids) in &node_gone {
            batched(
                &mut statements,
                format!("UNWIND $rows AS id MATCH (n:{l} {{id: id}}) DETACH DELETE n"),
                ids,
            );
        }
        upserts(&mut statements, &node_up, &edge_up);
        self.transaction(&statements)?;
        Ok(SyncReport {
            tables: vec![nodes, edges],
            elapsed: start.elapsed(),
        })
    }

    /// Runs `statements` in one explicit transaction: all or nothing.
    fn transaction(&self, statements: &Statements) -> Result<(), MirrorError> {
        if statements.is_empty() {
            return Ok(());
        }
        let mut session = self.driver.session(SessionConfig::new());
        // The driver's error type is large; it is the closure's, not ours.
        #[allow(clippy::result_large_err)]
        session
            .transaction()
            .run(|tx| {
                for (q, p) in statements {
                    tx.query(q.as_str())
                        .with_parameters(p.clone())
                        .run()?
                        .consume()?;
                }
                tx.commit()
            })
            .map_err(db)
    }

    /// Brings the nodes and relationships of the files `paths` up to date
    /// from `g` (the graph with the change applied: the watcher's), in one
    /// transaction, as [`Postgres::apply`](super::postgres::Postgres::apply)
    /// does for its tables: the result is what [`Neo4j::sync`] would make
    /// of it.
    pub fn apply(
        &self,
        store: &schema::store::Store,
        g: &crate::Graph,
        inferred: &[crate::inferred::Inferred],
        paths: &[String],
    ) -> Result<SyncReport, MirrorError> {
        let mut d = super::rows::delta(store, g, inferred, paths);
        let orphans = self.orphans(&d.gone)?;
        super::rows::reattach(&mut d, store, g, inferred, &orphans);
        self.write(&d)
    }

    /// The nodes whose parent is a node of one of the `gone` files (see
    /// [`super::rows::reattach`]).
    pub fn orphans(&self, gone: &[String]) -> Result<Vec<Uuid>, MirrorError> {
        if gone.is_empty() {
            return Ok(Vec::new());
        }
        let list = || ValueSend::List(gone.iter().cloned().map(ValueSend::String).collect());
        let mut out = Vec::new();
        for l in FILE_LABELS {
            for mut r in self.read(
                &format!(
                    "UNWIND $paths AS p MATCH (n:{l} {{path: p}})-[:HAS_CHILD]->(c) \
                     WHERE c.path IS NULL OR NOT c.path IN $paths RETURN DISTINCT c.id AS id"
                ),
                params(vec![("paths", list())]),
            )? {
                if let Some(id) = take(&mut r, "id").as_str().and_then(|s| s.parse().ok()) {
                    out.push(id);
                }
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Writes a [`Delta`](super::rows::Delta) in one transaction: the
    /// nodes of gone files leave with their relationships, every touched
    /// node's relationships are replaced, the delta's nodes and
    /// relationships are upserted.
    pub fn write(&self, d: &super::rows::Delta) -> Result<SyncReport, MirrorError> {
        let start = std::time::Instant::now();
        let label_of = |id: &Uuid| d.kinds.get(id).and_then(|k| label(k));
        let mut statements = Statements::new();
        let gone: Vec<ValueSend> = d.gone.iter().cloned().map(ValueSend::String).collect();
        for l in FILE_LABELS {
            batched(
                &mut statements,
                format!("UNWIND $rows AS p MATCH (n:{l} {{path: p}}) DETACH DELETE n"),
                &gone,
            );
        }
        let mut touched: BTreeMap<&str, Vec<ValueSend>> = BTreeMap::new();
        for id in &d.touched {
            if let Some(l) = label_of(id) {
                touched
                    .entry(l)
                    .or_default()
                    .push(ValueSend::String(id.to_string()));
            }
        }
        for (l, ids) in &touched {
            batched(
                &mut statements,
                format!("UNWIND $rows AS id MATCH (n:{l} {{id: id}})-[e]-() DELETE e"),
                ids,
            );
        }
        // Only the properties that differ from what the graph holds are
        // set: a small write is what a one-file change should cost (and
        // kglite-bolt-server takes ~10 ms per property set at 100k nodes).
        let mut by_label: BTreeMap<&str, Vec<(GraphNode, i64)>> = BTreeMap::new();
        for r in &d.rows.nodes {
            if let Some(l) = label(&r.kind) {
                let g = GraphNode::of(r);
                let hash = g.hash();
                by_label.entry(l).or_default().push((g, hash));
            }
        }
        let mut node_up: BTreeMap<&str, Vec<ValueSend>> = BTreeMap::new();
        for (l, nodes) in &by_label {
            let ids = nodes
                .iter()
                .map(|(g, _)| ValueSend::String(g.id.clone()))
                .collect();
            let mut held: HashMap<String, serde_json::Map<String, Value>> = HashMap::new();
            for mut r in self.read(
                &format!("UNWIND $ids AS id MATCH (n:{l} {{id: id}}) RETURN n.id AS id, properties(n) AS p"),
                params(vec![("ids", ValueSend::List(ids))]),
            )? {
                // A node of a gone file is deleted below, then created
                // again (a moved file): all its properties are set.
                if let (Value::String(id), Value::Object(p)) = (take(&mut r, "id"), take(&mut r, "p"))
                    && !p
                        .get("path")
                        .and_then(Value::as_str)
                        .is_some_and(|path| d.gone.iter().any(|g| g == path))
                {
                    held.insert(id, p);
                }
            }
            for (g, hash) in nodes {
                let Value::Object(want) = props_json(g, *hash) else {
                    continue;
                };
                let set = match held.get(&g.id) {
                    None => want,
                    Some(have) => {
                        let mut set = serde_json::Map::new();
                        for (k, v) in &want {
                            if have.get(k).unwrap_or(&Value::Null) != v {
                                set.insert(k.clone(), v.clone());
                            }
                        }
                        for k in have.keys() {
                            if !want.contains_key(k) && k != "id" {
                                set.insert(k.clone(), Value::Null);
                            }
                        }
                        set
                    }
                };
                if set.is_empty() {
                    continue;
                }
                let mut m = HashMap::new();
                m.insert("id".to_owned(), ValueSend::String(g.id.clone()));
                m.insert("props".to_owned(), send(&Value::Object(set)));
                node_up.entry(l).or_default().push(ValueSend::Map(m));
            }
        }
        let mut edge_up: BTreeMap<(String, &str, &str), Vec<ValueSend>> = BTreeMap::new();
        for e in &d.rows.edges {
            if let (Some(a), Some(b)) = (label_of(&e.from_id), label_of(&e.to_id)) {
                edge_up
                    .entry((e.kind.clone(), a, b))
                    .or_default()
                    .push(edge_value(e, e.hash()));
            }
        }
        upserts(&mut statements, &node_up, &edge_up);
        self.transaction(&statements)?;
        Ok(SyncReport {
            tables: vec![
                TableCount {
                    table: "nodes".into(),
                    inserted: 0,
                    updated: d.rows.nodes.len(),
                    deleted: d.gone.len(),
                },
                TableCount {
                    table: "relationships".into(),
                    inserted: d.rows.edges.len(),
                    updated: 0,
                    deleted: 0,
                },
            ],
            elapsed: start.elapsed(),
        })
    }

    /// Compares every node and relationship with the files: the hash is
    /// computed again from the properties the graph holds.
    pub fn verify(&self, rows: &Rows) -> Result<Verify, MirrorError> {
        let mut v = Verify::default();
        let want: BTreeMap<String, GraphNode> = rows
            .nodes
            .iter()
            .filter(|r| label(&r.kind).is_some())
            .map(|r| (r.id.to_string(), GraphNode::of(r)))
            .collect();
        let mut have: BTreeMap<String, GraphNode> = BTreeMap::new();
        for (_, l) in LABELS {
            for mut r in self.read(
                &format!(
                    "MATCH (n:{l}) RETURN n.id AS id, n.key AS key, n.title AS title, n.path AS path, \
                     n.status AS status, n.category AS category, n.priority AS priority, \
                     n.assignee AS assignee, n.cycle AS cycle, n.estimate AS estimate, \
                     n.labels AS labels, n.parent_id AS parent_id"
                ),
                HashMap::new(),
            )? {
                let s = |r: &mut Record, k: &str| take(r, k).as_str().map(str::to_owned);
                let g = GraphNode {
                    id: s(&mut r, "id").unwrap_or_default(),
                    key: s(&mut r, "key").unwrap_or_default(),
                    title: s(&mut r, "title").unwrap_or_default(),
                    path: s(&mut r, "path"),
                    status: s(&mut r, "status"),
                    category: s(&mut r, "category"),
                    priority: take(&mut r, "priority").as_i64(),
                    assignee: s(&mut r, "assignee"),
                    cycle: s(&mut r, "cycle"),
                    estimate: take(&mut r, "estimate").as_f64(),
                    labels: take(&mut r, "labels")
                        .as_array()
                        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
                        .unwrap_or_default(),
                    parent_id: s(&mut r, "parent_id"),
                };
                have.insert(g.id.clone(), g);
            }
        }
        v.checked += want.len();
        for (k, w) in &want {
            match have.remove(k) {
                None => v.missing.push(diff("nodes", k, Vec::new())),
                Some(h) if h.hash() != w.hash() => {
                    v.mismatched.push(diff("nodes", k, differing(w, &h)))
                }
                Some(_) => {}
            }
        }
        for k in have.into_keys() {
            v.orphans.push(diff("nodes", &k, Vec::new()));
        }
        // Relationships.
        let want: BTreeMap<String, &EdgeRow> = rows.edges.iter().map(|e| (e.key(), e)).collect();
        let mut have: BTreeMap<String, EdgeRow> = BTreeMap::new();
        for t in TYPES {
            for mut r in self.read(
                &format!(
                    "MATCH (a)-[e:{t}]->(b) RETURN a.id AS a, b.id AS b, e.source AS source, \
                     e.layer AS layer, e.confidence AS confidence, e.evidence AS evidence"
                ),
                HashMap::new(),
            )? {
                let id = |v: Value| {
                    v.as_str()
                        .and_then(|s| s.parse::<Uuid>().ok())
                        .unwrap_or_default()
                };
                let e = EdgeRow {
                    from_id: id(take(&mut r, "a")),
                    kind: (*t).to_owned(),
                    to_id: id(take(&mut r, "b")),
                    source: take(&mut r, "source")
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    layer: take(&mut r, "layer").as_i64().unwrap_or(0) as i16,
                    confidence: take(&mut r, "confidence").as_f64(),
                    evidence: take(&mut r, "evidence")
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| x.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default(),
                };
                have.insert(e.key(), e);
            }
        }
        v.checked += want.len();
        for (k, w) in &want {
            match have.remove(k) {
                None => v.missing.push(diff("relationships", k, Vec::new())),
                Some(h) if h.hash() != w.hash() => {
                    v.mismatched
                        .push(diff("relationships", k, differing(*w, &h)))
                }
                Some(_) => {}
            }
        }
        for k in have.into_keys() {
            v.orphans.push(diff("relationships", &k, Vec::new()));
        }
        Ok(v)
    }

    /// Nodes per label and relationships in all.
    pub fn counts(&self) -> Result<Vec<(String, i64)>, MirrorError> {
        let mut out = Vec::new();
        for (_, l) in LABELS {
            let n = self
                .column(
                    &format!("MATCH (n:{l}) RETURN count(n) AS n"),
                    HashMap::new(),
                    &["n"],
                )?
                .first()
                .and_then(|r| r[0].as_i64())
                .unwrap_or(0);
            out.push(((*l).to_owned(), n));
        }
        let mut rels = 0;
        for t in TYPES {
            rels += self
                .column(
                    &format!("MATCH ()-[e:{t}]->() RETURN count(e) AS n"),
                    HashMap::new(),
                    &["n"],
                )?
                .first()
                .and_then(|r| r[0].as_i64())
                .unwrap_or(0);
        }
        out.push(("relationships".to_owned(), rels));
        Ok(out)
    }

    /// Runs a read query; the values of `column` in each record.
    pub fn column(
        &self,
        q: &str,
        p: HashMap<String, ValueSend>,
        columns: &[&str],
    ) -> Result<Vec<Vec<Value>>, MirrorError> {
        Ok(self
            .read(q, p)?
            .into_iter()
            .map(|mut r| columns.iter().map(|c| take(&mut r, c)).collect())
            .collect())
    }
}

fn diff(table: &str, key: &str, fields: Vec<String>) -> Difference {
    Difference {
        table: table.to_owned(),
        key: key.to_owned(),
        fields,
    }
}

/// Statements of one transaction: Cypher and its parameters.
type Statements = Vec<(String, HashMap<String, ValueSend>)>;

/// Adds `query` once per [`BATCH`] of `rows`, bound to `$rows`.
fn batched(statements: &mut Statements, query: String, rows: &[ValueSend]) {
    for chunk in rows.chunks(BATCH) {
        statements.push((
            query.clone(),
            params(vec![("rows", ValueSend::List(chunk.to_vec()))]),
        ));
    }
}

/// Node upserts by label, then relationship upserts by (type, from label,
/// to label): both ends are matched by label and id.
fn upserts(
    statements: &mut Statements,
    nodes: &BTreeMap<&str, Vec<ValueSend>>,
    edges: &BTreeMap<(String, &str, &str), Vec<ValueSend>>,
) {
    for (l, list) in nodes {
        batched(
            statements,
            format!("UNWIND $rows AS r MERGE (n:{l} {{id: r.id}}) SET n += r.props"),
            list,
        );
    }
    for ((t, a, b), list) in edges {
        batched(
            statements,
            format!(
                "UNWIND $rows AS r MATCH (a:{a} {{id: r.from}}) MATCH (b:{b} {{id: r.to}}) \
                 MERGE (a)-[e:{t} {{source: r.source}}]->(b) SET e += r.props"
            ),
            list,
        );
    }
}

fn node_value(g: &GraphNode, hash: i64) -> ValueSend {
    let mut m = HashMap::new();
    m.insert("id".to_owned(), ValueSend::String(g.id.clone()));
    m.insert("props".to_owned(), props(g, hash));
    ValueSend::Map(m)
}

fn label(kind: &str) -> Option<&'static str> {
    LABELS.iter().find(|(k, _)| *k == kind).map(|(_, l)| *l)
}

fn edge_value(e: &EdgeRow, hash: i64) -> ValueSend {
    let mut props = serde_json::json!({
        "source": e.source,
        "layer": e.layer,
        "confidence": e.confidence,
        "evidence": e.evidence,
        "hash": hash,
    });
    if e.confidence.is_none()
        && let Value::Object(m) = &mut props
    {
        m.remove("confidence");
    }
    send(&serde_json::json!({
        "from": e.from_id.to_string(),
        "to": e.to_id.to_string(),
        "source": e.source,
        "props": props,
    }))
}

/// The seed's "unblocked leaves in a subtree" in Cypher: open issues at or
/// below the node `$root` through `HAS_CHILD` (at most 256 levels, as
/// everywhere) with no open sub-issue and no open blocker; by key.
pub const READY_CYPHER: &str = "
MATCH (root {id: $root})-[:HAS_CHILD*0..256]->(i:Issue)
WHERE i.category IS NULL OR NOT i.category IN ['completed', 'canceled']
OPTIONAL MATCH (b:Issue)-[:BLOCKS]->(i)
  WHERE b.category IS NULL OR NOT b.category IN ['completed', 'canceled']
OPTIONAL MATCH (i)-[:HAS_CHILD]->(c:Issue)
  WHERE c.category IS NULL OR NOT c.category IN ['completed', 'canceled']
WITH i, count(DISTINCT b) AS blockers, count(DISTINCT c) AS children
WHERE blockers = 0 AND children = 0
RETURN DISTINCT i.key AS key
ORDER BY key";

/// The seed's "everything within N hops" in Cypher: the nodes within
/// `hops` relationships of the node `$id` in either direction, over every
/// layer, never through the project node, with their distance — what
/// `query::near` answers — as `kind`, `key`, `d`. The bound is part of
/// the pattern (Cypher takes no parameter there), so every variable-length
/// pattern stays bounded.
pub fn near_cypher(hops: u32) -> String {
    format!(
        "MATCH p = (s {{id: $id}})-[*0..{hops}]-(n)
WHERE none(x IN tail(nodes(p)) WHERE x:Project)
RETURN toLower(labels(n)[0]) AS kind, n.key AS key, min(length(p)) AS d
ORDER BY d, kind, key"
    )
}
