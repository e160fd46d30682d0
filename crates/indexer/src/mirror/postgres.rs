//! The Postgres mirror (sqlx): migrations, sync, verify, status.
//!
//! A sync is one transaction: read the key and stored hash of every row,
//! upsert the rows whose hash changed or that are new — in batches, as
//! arrays through `UNNEST`, never row by row — delete the rows the files
//! no longer have, and record the time. Syncing twice changes nothing the
//! second time. `verify` reads every row back, recomputes its hash from
//! the values it holds (not the stored hash, so a value changed behind the
//! mirror's back shows) and compares with the files.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;
use sqlx::postgres::{PgPool, PgPoolOptions};
// Table names and key expressions in the dynamic statements are constants
// of this module, never input.
use sqlx::{AssertSqlSafe, Postgres as Pg, Transaction};
use uuid::Uuid;

use super::audit::{AuditCommit, AuditPlan, AuditRow, hash_rows};
use super::rows::{
    ActorRow, AttachmentRow, CommentRow, EdgeRow, Keyed, NodeRow, ProjectRow, Rows, differing,
};
use super::{Difference, MirrorError, SyncReport, TableCount, Verify};
use crate::git::CommitInfo;

/// The seed's "unblocked leaves in a subtree" as SQL over the mirror: open
/// issues at or below node `$1` (through `parent_id`) with no open
/// sub-issue and no open blocker — what `query::ready` answers — by key.
pub const READY_SQL: &str = "
WITH RECURSIVE sub(id) AS (
    SELECT $1::uuid
  UNION
    SELECT n.id FROM nl_nodes n JOIN sub ON n.parent_id = sub.id
),
open AS (
    SELECT id FROM nl_nodes
    WHERE kind = 'issue' AND (category IS NULL OR category NOT IN ('completed', 'canceled'))
)
SELECT n.key FROM nl_nodes n JOIN sub ON sub.id = n.id
WHERE n.id IN (SELECT id FROM open)
  AND NOT EXISTS (SELECT 1 FROM nl_edges e JOIN open o ON o.id = e.from_id
                  WHERE e.kind = 'BLOCKS' AND e.to_id = n.id)
  AND NOT EXISTS (SELECT 1 FROM nl_edges e JOIN open o ON o.id = e.to_id
                  WHERE e.kind = 'HAS_CHILD' AND e.from_id = n.id)
ORDER BY n.key COLLATE \"C\"";

/// The seed's "everything within N hops" as SQL over the mirror: the
/// nodes within `$2` edges of node `$1` in either direction, over every
/// layer, never through the project node, with their distance — what
/// `query::near` answers — as (kind, key, distance).
pub const NEAR_SQL: &str = "
WITH RECURSIVE adj(a, b) AS (
    SELECT from_id, to_id FROM nl_edges
  UNION ALL
    SELECT to_id, from_id FROM nl_edges
),
walk(id, d) AS (
    SELECT $1::uuid, 0
  UNION
    SELECT adj.b, walk.d + 1
    FROM walk
    JOIN adj ON adj.a = walk.id
    JOIN nl_nodes n ON n.id = adj.b AND n.kind <> 'project'
    WHERE walk.d < $2
)
SELECT n.kind, n.key, min(w.d)::bigint FROM walk w JOIN nl_nodes n ON n.id = w.id
GROUP BY n.kind, n.key
ORDER BY min(w.d), n.kind, n.key COLLATE \"C\"";

/// Rows per `UNNEST` statement.
const BATCH: usize = 5_000;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// A connection pool to one mirror database.
#[derive(Clone, Debug)]
pub struct Postgres {
    pool: PgPool,
}

impl Postgres {
    /// Connects (a few seconds at most) and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Postgres, MirrorError> {
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(|e| MirrorError::Connect(e.to_string()))?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| MirrorError::Migrate(e.to_string()))?;
        Ok(Postgres { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Makes the mirror hold exactly `rows`. Rows in `force` (table, key)
    /// are rewritten even when their stored hash matches (`verify
    /// --repair`: the stored hash no longer describes the row).
    pub async fn sync(
        &self,
        rows: &Rows,
        force: &HashSet<(String, String)>,
    ) -> Result<SyncReport, MirrorError> {
        let start = std::time::Instant::now();
        let mut tx = self.pool.begin().await.map_err(db)?;
        let mut report = SyncReport::default();
        report
            .tables
            .push(table(&mut tx, "nl_project", "key", &rows.project, force).await?);
        report
            .tables
            .push(table(&mut tx, "nl_actors", "handle", &rows.actors, force).await?);
        report
            .tables
            .push(table(&mut tx, "nl_nodes", "id::text", &rows.nodes, force).await?);
        report.tables.push(
            table(
                &mut tx,
                "nl_edges",
                "from_id::text || ' ' || kind || ' ' || to_id::text || ' ' || source",
                &rows.edges,
                force,
            )
            .await?,
        );
        report
            .tables
            .push(table(&mut tx, "nl_comments", "id::text", &rows.comments, force).await?);
        report.tables.push(
            table(
                &mut tx,
                "nl_attachments",
                "artifact_id::text",
                &rows.attachments,
                force,
            )
            .await?,
        );
        let items = (rows.nodes.len() + rows.comments.len()) as i64;
        sqlx::query(
            "INSERT INTO nl_sync (one, synced_at, items) VALUES (true, now(), $1)
             ON CONFLICT (one) DO UPDATE SET synced_at = now(), items = $1",
        )
        .bind(items)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        report.elapsed = start.elapsed();
        Ok(report)
    }

    /// Brings the rows of the files `paths` (workspace-relative, changed,
    /// added or deleted) up to date, in one transaction, without reading
    /// the other files: `g` is the graph with the change applied (the
    /// watcher's), `inferred` the analyzer's links. Rows of gone files
    /// leave with their nodes' edges; touched nodes get their incident
    /// edges replaced; nodes whose parent went away are re-read. The
    /// result is what [`sync`](Postgres::sync) would make of it.
    pub async fn apply(
        &self,
        store: &schema::store::Store,
        g: &crate::Graph,
        inferred: &[crate::inferred::Inferred],
        paths: &[String],
    ) -> Result<SyncReport, MirrorError> {
        let mut d = super::rows::delta(store, g, inferred, paths);
        let orphans = self.orphans(&d.gone).await?;
        super::rows::reattach(&mut d, store, g, inferred, &orphans);
        self.write(&d).await
    }

    /// The nodes whose parent is a node of one of the `gone` files: their
    /// rows must be computed again (see [`super::rows::reattach`]).
    pub async fn orphans(&self, gone: &[String]) -> Result<Vec<Uuid>, MirrorError> {
        if gone.is_empty() {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_as::<_, (Uuid,)>(
            "SELECT id FROM nl_nodes
             WHERE parent_id IN (SELECT id FROM nl_nodes WHERE path = ANY($1))
               AND (path IS NULL OR NOT (path = ANY($1)))",
        )
        .bind(gone)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .into_iter()
        .map(|r| r.0)
        .collect())
    }

    /// Writes a [`Delta`](super::rows::Delta) in one transaction.
    pub async fn write(&self, d: &super::rows::Delta) -> Result<SyncReport, MirrorError> {
        let start = std::time::Instant::now();
        let mut tx = self.pool.begin().await.map_err(db)?;
        let gone_ids: Vec<Uuid> =
            sqlx::query_as::<_, (Uuid,)>("SELECT id FROM nl_nodes WHERE path = ANY($1)")
                .bind(&d.gone)
                .fetch_all(&mut *tx)
                .await
                .map_err(db)?
                .into_iter()
                .map(|r| r.0)
                .collect();
        let mut ids: Vec<Uuid> = d.touched.clone();
        ids.extend(&gone_ids);
        let edges_gone =
            sqlx::query("DELETE FROM nl_edges WHERE from_id = ANY($1) OR to_id = ANY($1)")
                .bind(&ids)
                .execute(&mut *tx)
                .await
                .map_err(db)?
                .rows_affected() as usize;
        let nodes_gone = sqlx::query("DELETE FROM nl_nodes WHERE path = ANY($1)")
            .bind(&d.gone)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected() as usize;
        let comments_gone = sqlx::query("DELETE FROM nl_comments WHERE path = ANY($1)")
            .bind(&d.gone)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected() as usize;
        for chunk in with_hashes(&d.rows.nodes).chunks(BATCH) {
            NodeRow::upsert(&mut tx, chunk).await.map_err(db)?;
        }
        for chunk in with_hashes(&d.rows.edges).chunks(BATCH) {
            EdgeRow::upsert(&mut tx, chunk).await.map_err(db)?;
        }
        for chunk in with_hashes(&d.rows.comments).chunks(BATCH) {
            CommentRow::upsert(&mut tx, chunk).await.map_err(db)?;
        }
        // An artifact's attachment row goes with its file, or when the file
        // no longer names stored content.
        let node_ids: Vec<Uuid> = d.rows.nodes.iter().map(|r| r.id).collect();
        let attachments_gone =
            sqlx::query("DELETE FROM nl_attachments WHERE path = ANY($1) OR artifact_id = ANY($2)")
                .bind(&d.gone)
                .bind(&node_ids)
                .execute(&mut *tx)
                .await
                .map_err(db)?
                .rows_affected() as usize;
        for chunk in with_hashes(&d.rows.attachments).chunks(BATCH) {
            AttachmentRow::upsert(&mut tx, chunk).await.map_err(db)?;
        }
        sqlx::query(
            "INSERT INTO nl_sync (one, synced_at, items) VALUES (true, now(), 0)
             ON CONFLICT (one) DO UPDATE SET synced_at = now()",
        )
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(SyncReport {
            tables: vec![
                TableCount {
                    table: "nl_nodes".into(),
                    inserted: 0,
                    updated: d.rows.nodes.len(),
                    deleted: nodes_gone,
                },
                TableCount {
                    table: "nl_edges".into(),
                    inserted: d.rows.edges.len(),
                    updated: 0,
                    deleted: edges_gone,
                },
                TableCount {
                    table: "nl_comments".into(),
                    inserted: 0,
                    updated: d.rows.comments.len(),
                    deleted: comments_gone,
                },
                TableCount {
                    table: "nl_attachments".into(),
                    inserted: d.rows.attachments.len(),
                    updated: 0,
                    deleted: attachments_gone,
                },
            ],
            elapsed: start.elapsed(),
        })
    }

    /// The commits the audit log holds.
    pub async fn audit_known(&self) -> Result<HashSet<String>, MirrorError> {
        Ok(
            sqlx::query_as::<_, (String,)>("SELECT commit_id FROM nl_audit_commits")
                .fetch_all(&self.pool)
                .await
                .map_err(db)?
                .into_iter()
                .map(|r| r.0)
                .collect(),
        )
    }

    /// Writes an [`AuditPlan`] in one transaction: commits no longer on
    /// the chain and those in `replace` leave with their rows, the plan's
    /// new commits arrive with theirs.
    pub async fn write_audit(
        &self,
        plan: &AuditPlan,
        replace: &[String],
    ) -> Result<TableCount, MirrorError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let chain: Vec<String> = plan.chain.iter().map(|c| c.id.clone()).collect();
        let deleted = sqlx::query(
            "DELETE FROM nl_audit_commits WHERE NOT (commit_id = ANY($1)) OR commit_id = ANY($2)",
        )
        .bind(&chain)
        .bind(replace)
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected() as usize;
        for chunk in plan.new.chunks(BATCH) {
            let col = |f: fn(&AuditCommit) -> String| chunk.iter().map(f).collect::<Vec<_>>();
            sqlx::query(
                "INSERT INTO nl_audit_commits (commit_id, parent_id, position, author, email, at,
                 summary, hash)
                 SELECT u.id, u.parent, u.position, u.author, u.email, to_timestamp(u.time),
                     u.summary, u.hash
                 FROM UNNEST($1::text[], $2::text[], $3::int4[], $4::text[], $5::text[],
                     $6::int8[], $7::text[], $8::int8[])
                     AS u(id, parent, position, author, email, time, summary, hash)",
            )
            .bind(col(|c| c.info.id.clone()))
            .bind(
                chunk
                    .iter()
                    .map(|c| c.info.parent.clone())
                    .collect::<Vec<_>>(),
            )
            .bind(chunk.iter().map(|c| c.position).collect::<Vec<_>>())
            .bind(col(|c| c.info.author.clone()))
            .bind(col(|c| c.info.email.clone()))
            .bind(chunk.iter().map(|c| c.info.time).collect::<Vec<_>>())
            .bind(col(|c| c.info.summary.clone()))
            .bind(chunk.iter().map(AuditCommit::hash).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        let rows: Vec<&AuditRow> = plan.new.iter().flat_map(|c| &c.rows).collect();
        for chunk in rows.chunks(BATCH) {
            sqlx::query(
                "INSERT INTO nl_audit (commit_id, seq, item_key, event, field, before, after)
                 SELECT * FROM UNNEST($1::text[], $2::int4[], $3::text[], $4::text[],
                     $5::text[], $6::jsonb[], $7::jsonb[])",
            )
            .bind(
                chunk
                    .iter()
                    .map(|r| r.commit_id.clone())
                    .collect::<Vec<_>>(),
            )
            .bind(chunk.iter().map(|r| r.seq).collect::<Vec<_>>())
            .bind(chunk.iter().map(|r| r.item_key.clone()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|r| r.event.clone()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|r| r.field.clone()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|r| r.before.clone()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|r| r.after.clone()).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(TableCount {
            table: "nl_audit_commits".into(),
            inserted: plan.new.len(),
            updated: 0,
            deleted,
        })
    }

    /// Compares the audit log with the chain: commits missing or no longer
    /// on it, and commits whose metadata or changes (their hash computed
    /// again from the rows held) differ from what was written.
    pub async fn verify_audit(&self, chain: &[CommitInfo]) -> Result<Verify, MirrorError> {
        type Held = (String, Option<String>, i32, String, String, String, i64);
        let held: Vec<Held> = sqlx::query_as(
            "SELECT commit_id, parent_id, position, author, email, summary, hash
             FROM nl_audit_commits",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT commit_id, seq, item_key, event, field, before, after
             FROM nl_audit ORDER BY commit_id, seq",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let mut by_commit: HashMap<&str, Vec<AuditRow>> = HashMap::new();
        for r in &rows {
            by_commit
                .entry(r.commit_id.as_str())
                .or_default()
                .push(r.clone());
        }
        let mut held: BTreeMap<String, Held> = held.into_iter().map(|h| (h.0.clone(), h)).collect();
        let mut v = Verify {
            checked: chain.len(),
            ..Verify::default()
        };
        let diff = |key: &str, fields: Vec<String>| Difference {
            table: "nl_audit_commits".into(),
            key: key.to_owned(),
            fields,
        };
        for (position, c) in chain.iter().enumerate() {
            let Some(h) = held.remove(&c.id) else {
                v.missing.push(diff(&c.id, Vec::new()));
                continue;
            };
            let mut fields = Vec::new();
            if h.1 != c.parent {
                fields.push("parent_id".to_owned());
            }
            if h.2 as usize != position {
                fields.push("position".to_owned());
            }
            if h.3 != c.author {
                fields.push("author".to_owned());
            }
            if h.4 != c.email {
                fields.push("email".to_owned());
            }
            if h.5 != c.summary {
                fields.push("summary".to_owned());
            }
            let rows = by_commit.get(c.id.as_str()).map_or(&[][..], Vec::as_slice);
            if hash_rows(rows) != h.6 {
                fields.push("changes".to_owned());
            }
            if !fields.is_empty() {
                v.mismatched.push(diff(&c.id, fields));
            }
        }
        for k in held.into_keys() {
            v.orphans.push(diff(&k, Vec::new()));
        }
        Ok(v)
    }

    /// Compares every row with the files.
    pub async fn verify(&self, rows: &Rows) -> Result<Verify, MirrorError> {
        let mut v = Verify::default();
        compare(
            &mut v,
            "nl_project",
            &rows.project,
            self.fetch::<ProjectRow>("SELECT key, name, config FROM nl_project")
                .await?,
        );
        compare(
            &mut v,
            "nl_actors",
            &rows.actors,
            self.fetch::<ActorRow>("SELECT handle, name, email, kind FROM nl_actors")
                .await?,
        );
        compare(
            &mut v,
            "nl_nodes",
            &rows.nodes,
            self.fetch::<NodeRow>(
                "SELECT id, kind, key, title, path, status, category, priority, assignee, cycle,
                        estimate, labels, parent_id, description, description_html, fields
                 FROM nl_nodes",
            )
            .await?,
        );
        compare(
            &mut v,
            "nl_edges",
            &rows.edges,
            self.fetch::<EdgeRow>(
                "SELECT from_id, kind, to_id, source, layer, confidence, evidence FROM nl_edges",
            )
            .await?,
        );
        compare(
            &mut v,
            "nl_comments",
            &rows.comments,
            self.fetch::<CommentRow>(
                "SELECT id, node_id, path, author, created_at, edited_at, reply_to, body,
                        body_html, reactions
                 FROM nl_comments",
            )
            .await?,
        );
        compare(
            &mut v,
            "nl_attachments",
            &rows.attachments,
            self.fetch::<AttachmentRow>(
                "SELECT artifact_id, path, storage, sha256, file, url, mime_type, size
                 FROM nl_attachments",
            )
            .await?,
        );
        Ok(v)
    }

    async fn fetch<T>(&self, sql: &'static str) -> Result<Vec<T>, MirrorError>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
    {
        sqlx::query_as::<_, T>(sql)
            .fetch_all(&self.pool)
            .await
            .map_err(db)
    }

    /// Row counts, the schema version and the last sync.
    pub async fn status(&self) -> Result<super::Status, MirrorError> {
        let mut tables = Vec::new();
        for t in [
            "nl_project",
            "nl_actors",
            "nl_nodes",
            "nl_edges",
            "nl_comments",
            "nl_attachments",
            "nl_audit_commits",
            "nl_audit",
        ] {
            let (n,): (i64,) = sqlx::query_as(AssertSqlSafe(format!("SELECT count(*) FROM {t}")))
                .fetch_one(&self.pool)
                .await
                .map_err(db)?;
            tables.push((t.to_owned(), n));
        }
        let version: Option<(i64,)> =
            sqlx::query_as("SELECT max(version) FROM _sqlx_migrations WHERE success")
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?;
        let synced: Option<(String, i64)> = sqlx::query_as(
            "SELECT to_char(synced_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), items
             FROM nl_sync",
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        Ok(super::Status {
            schema_version: version.map(|v| v.0),
            synced_at: synced.as_ref().map(|s| s.0.clone()),
            items_at_sync: synced.map(|s| s.1),
            tables,
        })
    }
}

fn db(e: sqlx::Error) -> MirrorError {
    MirrorError::Database(e.to_string())
}

/// A row type with its table.
trait PgTable: Keyed + Sized {
    /// Writes `rows` (insert or update by primary key) in one statement.
    /// The table's columns, in the order [`PgTable::copy_row`] writes them.
    const COLUMNS: &'static str;

    /// Writes the row with its hash as a line of `COPY … FROM STDIN` text.
    fn copy_row(&self, hash: i64, w: &mut CopyText);

    /// Writes `rows` — each with its [`Keyed::hash`], computed once by
    /// the caller — (insert or update by primary key) in one statement.
    async fn upsert(
        tx: &mut Transaction<'static, Pg>,
        rows: &[(&Self, i64)],
    ) -> Result<(), sqlx::Error>;
}

/// Syncs one table: the keys and stored hashes it has, then upserts of
/// what changed and deletes of what is gone.
async fn table<T: PgTable>(
    tx: &mut Transaction<'static, Pg>,
    name: &str,
    key_sql: &str,
    rows: &[T],
    force: &HashSet<(String, String)>,
) -> Result<TableCount, MirrorError> {
    let have: Vec<(String, i64)> =
        sqlx::query_as(AssertSqlSafe(format!("SELECT {key_sql}, hash FROM {name}")))
            .fetch_all(&mut **tx)
            .await
            .map_err(db)?;
    let have: HashMap<String, i64> = have.into_iter().collect();
    let mut changed: Vec<(&T, i64)> = Vec::new();
    let mut keys = HashSet::with_capacity(rows.len());
    let mut count = TableCount {
        table: name.to_owned(),
        ..TableCount::default()
    };
    for r in rows {
        let k = r.key();
        let h = r.hash();
        match have.get(&k) {
            None => {
                count.inserted += 1;
                changed.push((r, h));
            }
            Some(&old) if old != h || force.contains(&(name.to_owned(), k.clone())) => {
                count.updated += 1;
                changed.push((r, h));
            }
            Some(_) => {}
        }
        keys.insert(k);
    }
    if have.is_empty() {
        // A first load: COPY, several times faster than inserts.
        copy_in(tx, name, &changed).await.map_err(db)?;
    } else {
        for chunk in changed.chunks(BATCH) {
            T::upsert(tx, chunk).await.map_err(db)?;
        }
    }
    let gone: Vec<String> = have.into_keys().filter(|k| !keys.contains(k)).collect();
    count.deleted = gone.len();
    for chunk in gone.chunks(BATCH) {
        sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM {name} WHERE {key_sql} = ANY($1)"
        )))
        .bind(chunk)
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    }
    Ok(count)
}

fn compare<T: Keyed + PartialEq>(v: &mut Verify, table: &str, want: &[T], have: Vec<T>) {
    let mut have: BTreeMap<String, T> = have.into_iter().map(|r| (r.key(), r)).collect();
    v.checked += want.len();
    for w in want {
        let k = w.key();
        match have.remove(&k) {
            None => v.missing.push(Difference {
                table: table.to_owned(),
                key: k,
                fields: Vec::new(),
            }),
            Some(h) => {
                if h.hash() != w.hash() {
                    v.mismatched.push(Difference {
                        table: table.to_owned(),
                        key: k,
                        fields: differing(w, &h),
                    });
                }
            }
        }
    }
    for k in have.into_keys() {
        v.orphans.push(Difference {
            table: table.to_owned(),
            key: k,
            fields: Vec::new(),
        });
    }
}

/// Inserts `rows` (with their hashes) into the table `name` with one
/// `COPY FROM STDIN` in text format, sent in pieces of about a megabyte.
async fn copy_in<T: PgTable>(
    tx: &mut Transaction<'static, Pg>,
    name: &str,
    rows: &[(&T, i64)],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut copy = tx
        .copy_in_raw(&format!("COPY {name} ({}) FROM STDIN", T::COLUMNS))
        .await?;
    let mut w = CopyText::default();
    for (r, h) in rows {
        r.copy_row(*h, &mut w);
        w.end();
        if w.buf.len() >= 1 << 20 {
            copy.send(std::mem::take(&mut w.buf).into_bytes()).await?;
        }
    }
    copy.send(w.buf.into_bytes()).await?;
    copy.finish().await?;
    Ok(())
}

/// A `COPY` text-format encoder: tab-separated fields, `\N` for NULL,
/// backslash escapes for backslash, tab, newline and carriage return.
#[derive(Debug, Default)]
struct CopyText {
    buf: String,
    /// Whether the current line has a field already.
    started: bool,
}

impl CopyText {
    fn sep(&mut self) {
        if self.started {
            self.buf.push('\t');
        }
        self.started = true;
    }

    fn escaped(&mut self, s: &str) {
        for c in s.chars() {
            match c {
                '\\' => self.buf.push_str("\\\\"),
                '\t' => self.buf.push_str("\\t"),
                '\n' => self.buf.push_str("\\n"),
                '\r' => self.buf.push_str("\\r"),
                c => self.buf.push(c),
            }
        }
    }

    fn text(&mut self, s: &str) {
        self.sep();
        self.escaped(s);
    }

    fn opt(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.text(s),
            None => self.null(),
        }
    }

    fn null(&mut self) {
        self.sep();
        self.buf.push_str("\\N");
    }

    fn display(&mut self, v: impl std::fmt::Display) {
        self.text(&v.to_string());
    }

    fn opt_display<D: std::fmt::Display>(&mut self, v: Option<D>) {
        match v {
            Some(v) => self.display(v),
            None => self.null(),
        }
    }

    fn json(&mut self, v: &Value) {
        self.text(&v.to_string());
    }

    /// A `text[]` literal: `{"a","b"}`, elements quoted and escaped.
    fn array(&mut self, items: &[String]) {
        let mut lit = String::from("{");
        for (i, s) in items.iter().enumerate() {
            if i > 0 {
                lit.push(',');
            }
            lit.push('"');
            for c in s.chars() {
                if c == '"' || c == '\\' {
                    lit.push('\\');
                }
                lit.push(c);
            }
            lit.push('"');
        }
        lit.push('}');
        self.text(&lit);
    }

    fn end(&mut self) {
        self.buf.push('\n');
        self.started = false;
    }
}

/// Rows with their hashes.
fn with_hashes<T: Keyed>(rows: &[T]) -> Vec<(&T, i64)> {
    rows.iter().map(|r| (r, r.hash())).collect()
}

fn json_strings(v: &[String]) -> Value {
    Value::Array(v.iter().cloned().map(Value::String).collect())
}

impl PgTable for ProjectRow {
    const COLUMNS: &'static str = "key, name, config, hash";

    fn copy_row(&self, hash: i64, w: &mut CopyText) {
        w.text(&self.key);
        w.text(&self.name);
        w.json(&self.config);
        w.display(hash);
    }

    async fn upsert(
        tx: &mut Transaction<'static, Pg>,
        rows: &[(&Self, i64)],
    ) -> Result<(), sqlx::Error> {
        let hash: Vec<i64> = rows.iter().map(|r| r.1).collect();
        let rows: Vec<&Self> = rows.iter().map(|r| r.0).collect();
        let key: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
        let name: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        let config: Vec<Value> = rows.iter().map(|r| r.config.clone()).collect();
        let (key, name): (Vec<String>, Vec<String>) = (
            key.into_iter().map(str::to_owned).collect(),
            name.into_iter().map(str::to_owned).collect(),
        );
        sqlx::query(
            "INSERT INTO nl_project (key, name, config, hash)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::jsonb[], $4::bigint[])
         ON CONFLICT (key) DO UPDATE SET name = EXCLUDED.name, config = EXCLUDED.config,
             hash = EXCLUDED.hash",
        )
        .bind(key)
        .bind(name)
        .bind(config)
        .bind(hash)
        .execute(&mut **tx)
        .await
        .map(|_| ())
    }
}

impl PgTable for ActorRow {
    const COLUMNS: &'static str = "handle, name, email, kind, hash";

    fn copy_row(&self, hash: i64, w: &mut CopyText) {
        w.text(&self.handle);
        w.text(&self.name);
        w.opt(self.email.as_deref());
        w.text(&self.kind);
        w.display(hash);
    }

    async fn upsert(
        tx: &mut Transaction<'static, Pg>,
        rows: &[(&Self, i64)],
    ) -> Result<(), sqlx::Error> {
        let hash: Vec<i64> = rows.iter().map(|r| r.1).collect();
        let rows: Vec<&Self> = rows.iter().map(|r| r.0).collect();
        let handle: Vec<String> = rows.iter().map(|r| r.handle.clone()).collect();
        let name: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
        let email: Vec<Option<String>> = rows.iter().map(|r| r.email.clone()).collect();
        let kind: Vec<String> = rows.iter().map(|r| r.kind.clone()).collect();
        sqlx::query(
            "INSERT INTO nl_actors (handle, name, email, kind, hash)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[])
         ON CONFLICT (handle) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email,
             kind = EXCLUDED.kind, hash = EXCLUDED.hash",
        )
        .bind(handle)
        .bind(name)
        .bind(email)
        .bind(kind)
        .bind(hash)
        .execute(&mut **tx)
        .await
        .map(|_| ())
    }
}

impl PgTable for NodeRow {
    const COLUMNS: &'static str = "id, kind, key, title, path, status, category, priority, assignee, cycle, estimate, labels, parent_id, description, description_html, fields, hash";

    fn copy_row(&self, hash: i64, w: &mut CopyText) {
        w.display(self.id);
        w.text(&self.kind);
        w.text(&self.key);
        w.text(&self.title);
        w.opt(self.path.as_deref());
        w.opt(self.status.as_deref());
        w.opt(self.category.as_deref());
        w.opt_display(self.priority);
        w.opt(self.assignee.as_deref());
        w.opt(self.cycle.as_deref());
        // Rust prints floats so that they read back exactly.
        w.opt_display(self.estimate);
        w.array(&self.labels);
        w.opt_display(self.parent_id);
        w.text(&self.description);
        w.text(&self.description_html);
        w.json(&self.fields);
        w.display(hash);
    }

    async fn upsert(
        tx: &mut Transaction<'static, Pg>,
        rows: &[(&Self, i64)],
    ) -> Result<(), sqlx::Error> {
        let hash: Vec<i64> = rows.iter().map(|r| r.1).collect();
        let rows: Vec<&Self> = rows.iter().map(|r| r.0).collect();
        let id: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let kind: Vec<String> = rows.iter().map(|r| r.kind.clone()).collect();
        let key: Vec<String> = rows.iter().map(|r| r.key.clone()).collect();
        let title: Vec<String> = rows.iter().map(|r| r.title.clone()).collect();
        let path: Vec<Option<String>> = rows.iter().map(|r| r.path.clone()).collect();
        let status: Vec<Option<String>> = rows.iter().map(|r| r.status.clone()).collect();
        let category: Vec<Option<String>> = rows.iter().map(|r| r.category.clone()).collect();
        let priority: Vec<Option<i16>> = rows.iter().map(|r| r.priority).collect();
        let assignee: Vec<Option<String>> = rows.iter().map(|r| r.assignee.clone()).collect();
        let cycle: Vec<Option<String>> = rows.iter().map(|r| r.cycle.clone()).collect();
        let estimate: Vec<Option<f64>> = rows.iter().map(|r| r.estimate).collect();
        // Arrays of arrays do not survive UNNEST: labels travel as JSON.
        let labels: Vec<Value> = rows.iter().map(|r| json_strings(&r.labels)).collect();
        let parent: Vec<Option<Uuid>> = rows.iter().map(|r| r.parent_id).collect();
        let description: Vec<String> = rows.iter().map(|r| r.description.clone()).collect();
        let html: Vec<String> = rows.iter().map(|r| r.description_html.clone()).collect();
        let fields: Vec<Value> = rows.iter().map(|r| r.fields.clone()).collect();
        sqlx::query(
            "INSERT INTO nl_nodes (id, kind, key, title, path, status, category, priority,
             assignee, cycle, estimate, labels, parent_id, description, description_html,
             fields, hash)
         SELECT u.id, u.kind, u.key, u.title, u.path, u.status, u.category, u.priority,
             u.assignee, u.cycle, u.estimate,
             ARRAY(SELECT jsonb_array_elements_text(u.labels)), u.parent_id,
             u.description, u.description_html, u.fields, u.hash
         FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],
             $6::text[], $7::text[], $8::smallint[], $9::text[], $10::text[],
             $11::float8[], $12::jsonb[], $13::uuid[], $14::text[], $15::text[],
             $16::jsonb[], $17::bigint[])
             AS u(id, kind, key, title, path, status, category, priority, assignee, cycle,
                  estimate, labels, parent_id, description, description_html, fields, hash)
         ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, key = EXCLUDED.key,
             title = EXCLUDED.title, path = EXCLUDED.path, status = EXCLUDED.status,
             category = EXCLUDED.category, priority = EXCLUDED.priority,
             assignee = EXCLUDED.assignee, cycle = EXCLUDED.cycle,
             estimate = EXCLUDED.estimate, labels = EXCLUDED.labels,
             parent_id = EXCLUDED.parent_id, description = EXCLUDED.description,
             description_html = EXCLUDED.description_html, fields = EXCLUDED.fields,
             hash = EXCLUDED.hash",
        )
        .bind(id)
        .bind(kind)
        .bind(key)
        .bind(title)
        .bind(path)
        .bind(status)
        .bind(category)
        .bind(priority)
        .bind(assignee)
        .bind(cycle)
        .bind(estimate)
        .bind(labels)
        .bind(parent)
        .bind(description)
        .bind(html)
        .bind(fields)
        .bind(hash)
        .execute(&mut **tx)
        .await
        .map(|_| ())
    }
}

impl PgTable for EdgeRow {
    const COLUMNS: &'static str = "from_id, kind, to_id, source, layer, confidence, evidence, hash";

    fn copy_row(&self, hash: i64, w: &mut CopyText) {
        w.display(self.from_id);
        w.text(&self.kind);
        w.display(self.to_id);
        w.text(&self.source);
        w.display(self.layer);
        w.opt_display(self.confidence);
        w.array(&self.evidence);
        w.display(hash);
    }

    async fn upsert(
        tx: &mut Transaction<'static, Pg>,
        rows: &[(&Self, i64)],
    ) -> Result<(), sqlx::Error> {
        let hash: Vec<i64> = rows.iter().map(|r| r.1).collect();
        let rows: Vec<&Self> = rows.iter().map(|r| r.0).collect();
        let from: Vec<Uuid> = rows.iter().map(|r| r.from_id).collect();
        let kind: Vec<String> = rows.iter().map(|r| r.kind.clone()).collect();
        let to: Vec<Uuid> = rows.iter().map(|r| r.to_id).collect();
        let source: Vec<String> = rows.iter().map(|r| r.source.clone()).collect();
        let layer: Vec<i16> = rows.iter().map(|r| r.layer).collect();
        let confidence: Vec<Option<f64>> = rows.iter().map(|r| r.confidence).collect();
        let evidence: Vec<Value> = rows.iter().map(|r| json_strings(&r.evidence)).collect();
        sqlx::query(
            "INSERT INTO nl_edges (from_id, kind, to_id, source, layer, confidence, evidence, hash)
         SELECT u.from_id, u.kind, u.to_id, u.source, u.layer, u.confidence,
             ARRAY(SELECT jsonb_array_elements_text(u.evidence)), u.hash
         FROM UNNEST($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::smallint[],
             $6::float8[], $7::jsonb[], $8::bigint[])
             AS u(from_id, kind, to_id, source, layer, confidence, evidence, hash)
         ON CONFLICT (from_id, kind, to_id, source) DO UPDATE SET layer = EXCLUDED.layer,
             confidence = EXCLUDED.confidence, evidence = EXCLUDED.evidence,
             hash = EXCLUDED.hash",
        )
        .bind(from)
        .bind(kind)
        .bind(to)
        .bind(source)
        .bind(layer)
        .bind(confidence)
        .bind(evidence)
        .bind(hash)
        .execute(&mut **tx)
        .await
        .map(|_| ())
    }
}

impl PgTable for CommentRow {
    const COLUMNS: &'static str = "id, node_id, path, author, created_at, edited_at, reply_to, body, body_html, reactions, hash";

    fn copy_row(&self, hash: i64, w: &mut CopyText) {
        w.display(self.id);
        w.display(self.node_id);
        w.text(&self.path);
        w.opt(self.author.as_deref());
        w.opt(self.created_at.as_deref());
        w.opt(self.edited_at.as_deref());
        w.opt(self.reply_to.as_deref());
        w.text(&self.body);
        w.text(&self.body_html);
        w.json(&self.reactions);
        w.display(hash);
    }

    async fn upsert(
        tx: &mut Transaction<'static, Pg>,
        rows: &[(&Self, i64)],
    ) -> Result<(), sqlx::Error> {
        let hash: Vec<i64> = rows.iter().map(|r| r.1).collect();
        let rows: Vec<&Self> = rows.iter().map(|r| r.0).collect();
        let id: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let node: Vec<Uuid> = rows.iter().map(|r| r.node_id).collect();
        let path: Vec<String> = rows.iter().map(|r| r.path.clone()).collect();
        let author: Vec<Option<String>> = rows.iter().map(|r| r.author.clone()).collect();
        let created: Vec<Option<String>> = rows.iter().map(|r| r.created_at.clone()).collect();
        let edited: Vec<Option<String>> = rows.iter().map(|r| r.edited_at.clone()).collect();
        let reply: Vec<Option<String>> = rows.iter().map(|r| r.reply_to.clone()).collect();
        let body: Vec<String> = rows.iter().map(|r| r.body.clone()).collect();
        let html: Vec<String> = rows.iter().map(|r| r.body_html.clone()).collect();
        let reactions: Vec<Value> = rows.iter().map(|r| r.reactions.clone()).collect();
        sqlx::query(
            "INSERT INTO nl_comments (id, node_id, path, author, created_at, edited_at, reply_to,
             body, body_html, reactions, hash)
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[],
             $6::text[], $7::text[], $8::text[], $9::text[], $10::jsonb[], $11::bigint[])
         ON CONFLICT (id) DO UPDATE SET node_id = EXCLUDED.node_id, path = EXCLUDED.path,
             author = EXCLUDED.author, created_at = EXCLUDED.created_at,
             edited_at = EXCLUDED.edited_at, reply_to = EXCLUDED.reply_to,
             body = EXCLUDED.body, body_html = EXCLUDED.body_html,
             reactions = EXCLUDED.reactions, hash = EXCLUDED.hash",
        )
        .bind(id)
        .bind(node)
        .bind(path)
        .bind(author)
        .bind(created)
        .bind(edited)
        .bind(reply)
        .bind(body)
        .bind(html)
        .bind(reactions)
        .bind(hash)
        .execute(&mut **tx)
        .await
        .map(|_| ())
    }
}

impl PgTable for AttachmentRow {
    const COLUMNS: &'static str =
        "artifact_id, path, storage, sha256, file, url, mime_type, size, hash";

    fn copy_row(&self, hash: i64, w: &mut CopyText) {
        w.display(self.artifact_id);
        w.text(&self.path);
        w.text(&self.storage);
        w.opt(self.sha256.as_deref());
        w.opt(self.file.as_deref());
        w.opt(self.url.as_deref());
        w.opt(self.mime_type.as_deref());
        w.opt_display(self.size);
        w.display(hash);
    }

    async fn upsert(
        tx: &mut Transaction<'static, Pg>,
        rows: &[(&Self, i64)],
    ) -> Result<(), sqlx::Error> {
        let hash: Vec<i64> = rows.iter().map(|r| r.1).collect();
        let rows: Vec<&Self> = rows.iter().map(|r| r.0).collect();
        let id: Vec<Uuid> = rows.iter().map(|r| r.artifact_id).collect();
        let path: Vec<String> = rows.iter().map(|r| r.path.clone()).collect();
        let storage: Vec<String> = rows.iter().map(|r| r.storage.clone()).collect();
        let sha: Vec<Option<String>> = rows.iter().map(|r| r.sha256.clone()).collect();
        let file: Vec<Option<String>> = rows.iter().map(|r| r.file.clone()).collect();
        let url: Vec<Option<String>> = rows.iter().map(|r| r.url.clone()).collect();
        let mime: Vec<Option<String>> = rows.iter().map(|r| r.mime_type.clone()).collect();
        let size: Vec<Option<i64>> = rows.iter().map(|r| r.size).collect();
        sqlx::query(
            "INSERT INTO nl_attachments (artifact_id, path, storage, sha256, file, url,
             mime_type, size, hash)
         SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],
             $6::text[], $7::text[], $8::bigint[], $9::bigint[])
         ON CONFLICT (artifact_id) DO UPDATE SET path = EXCLUDED.path,
             storage = EXCLUDED.storage, sha256 = EXCLUDED.sha256, file = EXCLUDED.file,
             url = EXCLUDED.url, mime_type = EXCLUDED.mime_type, size = EXCLUDED.size,
             hash = EXCLUDED.hash",
        )
        .bind(id)
        .bind(path)
        .bind(storage)
        .bind(sha)
        .bind(file)
        .bind(url)
        .bind(mime)
        .bind(size)
        .bind(hash)
        .execute(&mut **tx)
        .await
        .map(|_| ())
    }
}
