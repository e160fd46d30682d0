//! The audit log a mirror holds, derived from git history: the commits of
//! the first-parent chain from `HEAD` and, for each, its changes (the
//! semantic diff from its first parent). History does not change under a
//! commit id, so a sync computes the changes of new commits only and drops
//! the commits no longer on the chain (a rewritten branch).

use std::collections::HashSet;

use serde::Serialize;
use serde_json::{Value, json};

use crate::change::Change;
use crate::git::{CommitInfo, GitError, Repo};

/// One change of one commit, as a row.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AuditRow {
    pub commit_id: String,
    pub seq: i32,
    pub item_key: String,
    pub event: String,
    pub field: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// A commit of the chain and its rows.
#[derive(Debug, Clone)]
pub struct AuditCommit {
    pub info: CommitInfo,
    /// Its place on the chain: 0 for the root commit.
    pub position: i32,
    pub rows: Vec<AuditRow>,
}

impl AuditCommit {
    /// The content hash of its rows (xxh3 of their JSON, in order).
    pub fn hash(&self) -> i64 {
        hash_rows(&self.rows)
    }
}

/// The content hash of a commit's rows, however they were obtained (JSON
/// objects compared by content, not key order).
pub fn hash_rows(rows: &[AuditRow]) -> i64 {
    let v = super::rows::canonical(&serde_json::to_value(rows).expect("rows serialize"));
    let bytes = serde_json::to_vec(&v).expect("values serialize");
    xxhash_rust::xxh3::xxh3_64(&bytes) as i64
}

/// What a sync of the audit log writes.
#[derive(Debug, Clone, Default)]
pub struct AuditPlan {
    /// The whole chain, oldest first: commits outside it leave.
    pub chain: Vec<CommitInfo>,
    /// The commits of the chain a mirror does not hold yet, with rows.
    pub new: Vec<AuditCommit>,
}

/// The rows of one change.
fn row(commit: &str, seq: usize, c: &Change) -> AuditRow {
    let (event, field, before, after) = match c {
        Change::Created {
            kind, path, title, ..
        } => (
            "created",
            None,
            None,
            Some(json!({"kind": kind.as_str(), "path": path, "title": title})),
        ),
        Change::Deleted {
            kind, path, title, ..
        } => (
            "deleted",
            None,
            Some(json!({"kind": kind.as_str(), "path": path, "title": title})),
            None,
        ),
        Change::Field {
            field,
            before,
            after,
            ..
        } => (
            "field",
            Some(field.clone()),
            Some(before.clone()),
            Some(after.clone()),
        ),
        Change::LinkAdded {
            kind, to, layer, ..
        } => (
            "link_added",
            Some(kind.as_str().to_owned()),
            None,
            Some(json!({"to": to, "layer": layer})),
        ),
        Change::LinkRemoved {
            kind, to, layer, ..
        } => (
            "link_removed",
            Some(kind.as_str().to_owned()),
            Some(json!({"to": to, "layer": layer})),
            None,
        ),
    };
    // A JSON null stands for an absent value, as SQL NULL does.
    let nonnull = |v: Option<Value>| v.filter(|v| !v.is_null());
    AuditRow {
        commit_id: commit.to_owned(),
        seq: seq as i32,
        item_key: c.key().to_owned(),
        event: event.to_owned(),
        field,
        before: nonnull(before),
        after: nonnull(after),
    }
}

/// The audit log of the chain from `spec` (`HEAD`) that a mirror holding
/// the commits `known` lacks: the changes of each new commit, computed
/// from history.
pub fn plan(repo: &Repo, spec: &str, known: &HashSet<String>) -> Result<AuditPlan, GitError> {
    let chain = repo.chain(spec)?;
    let mut new = Vec::new();
    for (position, info) in chain.iter().enumerate() {
        if known.contains(&info.id) {
            continue;
        }
        let rows = repo
            .changes_of(info)?
            .iter()
            .enumerate()
            .map(|(seq, c)| row(&info.id, seq, c))
            .collect();
        new.push(AuditCommit {
            info: info.clone(),
            position: position as i32,
            rows,
        });
    }
    Ok(AuditPlan { chain, new })
}
