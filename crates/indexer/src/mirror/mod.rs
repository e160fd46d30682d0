//! Mirrors for teams that outgrow one machine: the workspace copied into
//! Postgres and Neo4j, kept in sync and verified. The files stay the
//! truth; a mirror is derived and can be dropped and rebuilt at any time.
//! Users' view: `docs/mirrors.md`.
//!
//! [`rows`] computes what a mirror must hold from the files (and
//! [`audit`] the audit log from git history); each backend makes a
//! database hold exactly that ([`postgres::Postgres::sync`],
//! [`neo4j::Neo4j::sync`], incrementally `apply`) and says where it does
//! not (`verify`).

pub mod audit;
pub mod neo4j;
pub mod postgres;
pub mod rows;

use std::time::Duration;

use schema::store::Store;
use serde::Serialize;

pub use rows::Rows;

/// Why a mirror operation failed.
#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    #[error("cannot connect to the mirror: {0}")]
    Connect(String),
    #[error("cannot migrate the mirror's schema: {0}")]
    Migrate(String),
    #[error("mirror database error: {0}")]
    Database(String),
}

/// What one table's sync did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TableCount {
    pub table: String,
    pub inserted: usize,
    pub updated: usize,
    pub deleted: usize,
}

/// What a sync did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncReport {
    pub tables: Vec<TableCount>,
    #[serde(serialize_with = "millis")]
    pub elapsed: Duration,
}

impl SyncReport {
    /// Rows written or deleted.
    pub fn changes(&self) -> usize {
        self.tables
            .iter()
            .map(|t| t.inserted + t.updated + t.deleted)
            .sum()
    }
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

/// One row that differs between the files and a mirror.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    pub table: String,
    /// The row's primary key, as text.
    pub key: String,
    /// For a mismatched row, the columns that differ.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

/// What `verify` found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Verify {
    /// Rows compared (the files' side).
    pub checked: usize,
    /// In the files, not in the mirror.
    pub missing: Vec<Difference>,
    /// In the mirror, not in the files.
    pub orphans: Vec<Difference>,
    /// In both, with different content.
    pub mismatched: Vec<Difference>,
}

impl Verify {
    pub fn is_clean(&self) -> bool {
        self.missing.is_empty() && self.orphans.is_empty() && self.mismatched.is_empty()
    }

    /// The (table, key) of every mismatched row: what a repair must rewrite
    /// whatever its stored hash says.
    pub fn to_force(&self) -> std::collections::HashSet<(String, String)> {
        self.mismatched
            .iter()
            .map(|d| (d.table.clone(), d.key.clone()))
            .collect()
    }
}

/// A mirror's state.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub schema_version: Option<i64>,
    pub synced_at: Option<String>,
    pub items_at_sync: Option<i64>,
    /// (table, rows).
    pub tables: Vec<(String, i64)>,
}

/// The rows of the workspace in `store` as the files say now: every item
/// with its body and comments, the graph with the analyzer's inferred
/// links.
pub fn rows_of(store: &Store) -> Rows {
    let ws = store.load();
    let (g, inferred) = graph_of(store, &ws);
    rows::rows(&ws, &g, &inferred)
}

/// The graph of a loaded workspace with the analyzer's inferred links (as
/// the watcher keeps it), and those links.
pub fn graph_of(
    store: &Store,
    ws: &schema::Workspace,
) -> (crate::Graph, Vec<crate::inferred::Inferred>) {
    let mut g = crate::Graph::build(ws);
    let inferred = std::fs::read_to_string(store.path(crate::inferred::EDGES_PATH))
        .ok()
        .and_then(|t| crate::inferred::parse(&t).ok())
        .unwrap_or_default();
    g.set_inferred(&inferred);
    (g, inferred)
}
