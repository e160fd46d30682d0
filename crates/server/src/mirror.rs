//! Keeping the configured mirrors — Postgres (`postgres_url` /
//! `NONLINEAR_POSTGRES_URL`) and Neo4j (`neo4j_url` /
//! `NONLINEAR_NEO4J_URL`) — in sync in the background, each on its own
//! task: every batch the watcher applies notes the files it touched; the
//! task writes their rows within [`FLUSH`] (`write` of
//! `indexer::mirror::postgres::Postgres` or `indexer::mirror::neo4j::Neo4j`),
//! or syncs the whole workspace after a config or inferred-links change and
//! at start. A mirror outage never blocks reads or writes, nor the other
//! mirror — files are the truth — the touched paths accumulate and are
//! written when the database is back, retried with backoff up to
//! [`MAX_BACKOFF`].

use std::collections::BTreeSet;
use std::sync::{Arc, Weak};
use std::time::Duration;

use indexer::change::Change;
use indexer::git::Repo;
use indexer::mirror::rows::Delta;
use indexer::mirror::{self, MirrorError, SyncReport, neo4j::Neo4j, postgres::Postgres};
use indexer::watch::Event;
use parking_lot::Mutex;
use serde::Serialize;

use crate::app::App;

/// Longest a noted change waits before it is written.
pub const FLUSH: Duration = Duration::from_millis(100);
/// Longest wait between retries while the mirror is down.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A mirror database and where it is.
#[derive(Debug, Clone)]
pub enum Target {
    Postgres(String),
    Neo4j(String),
}

impl Target {
    /// Its name in `/health`.
    pub fn name(&self) -> &'static str {
        match self {
            Target::Postgres(_) => "postgres",
            Target::Neo4j(_) => "neo4j",
        }
    }
}

/// One mirror's pending work and state, shared by the watcher thread and
/// the mirror's task.
#[derive(Debug)]
pub struct Mirror {
    pub target: Target,
    pending: Mutex<Pending>,
    notify: tokio::sync::Notify,
    state: Mutex<State>,
    /// The commit whose history the audit log holds (Postgres only).
    audited: Mutex<Option<String>>,
}

#[derive(Debug, Default)]
struct Pending {
    paths: BTreeSet<String>,
    full: bool,
}

/// What `/api/v1/health` says about the mirror.
#[derive(Debug, Clone, Default, Serialize)]
pub struct State {
    /// Whether the last attempt succeeded.
    pub ok: bool,
    pub last_error: Option<String>,
    /// Files waiting to be written.
    pub pending: usize,
    /// Successful writes since the server started.
    pub syncs: u64,
}

impl Mirror {
    /// A mirror that starts with a whole-workspace sync.
    pub fn new(target: Target) -> Mirror {
        Mirror {
            target,
            pending: Mutex::new(Pending {
                paths: BTreeSet::new(),
                full: true,
            }),
            notify: tokio::sync::Notify::new(),
            state: Mutex::new(State::default()),
            audited: Mutex::new(None),
        }
    }

    /// The mirrors `config` names.
    pub fn configured(config: &crate::config::Config) -> Vec<Arc<Mirror>> {
        let pg = config.postgres_url.clone().map(Target::Postgres);
        let neo = config.neo4j_url.clone().map(Target::Neo4j);
        pg.into_iter()
            .chain(neo)
            .map(|t| Arc::new(Mirror::new(t)))
            .collect()
    }

    pub fn state(&self) -> State {
        let mut s = self.state.lock().clone();
        let p = self.pending.lock();
        s.pending = p.paths.len() + usize::from(p.full);
        s
    }

    /// Notes what a batch of watcher events touched (the graph holds the
    /// batch already).
    pub fn note(&self, g: &indexer::Graph, batch: &[Event]) {
        let mut p = self.pending.lock();
        let path_of = |key: &str| {
            g.find(key)
                .and_then(|n| g.node(n).item.as_ref().map(|i| i.path.clone()))
        };
        for e in batch {
            match e {
                Event::Change(c) => match c {
                    Change::Created { path, .. } | Change::Deleted { path, .. } => {
                        p.paths.insert(path.clone());
                    }
                    Change::Field {
                        key,
                        field,
                        before,
                        after,
                    } => {
                        if field == "path" {
                            for v in [before, after] {
                                if let Some(s) = v.as_str() {
                                    p.paths.insert(s.to_owned());
                                }
                            }
                        }
                        p.paths.extend(path_of(key));
                    }
                    Change::LinkAdded { from, .. } | Change::LinkRemoved { from, .. } => {
                        p.paths.extend(path_of(from));
                    }
                },
                Event::Comment(c) => {
                    p.paths.insert(c.path.clone());
                }
                Event::Config(_) | Event::Inferred(_) | Event::Rescan(_) => p.full = true,
                Event::Invalid(_) => {}
            }
        }
        drop(p);
        self.notify.notify_one();
    }
}

/// An open connection to a mirror.
enum Conn {
    Postgres(Postgres),
    /// The driver is blocking: used from blocking threads.
    Neo4j(Arc<Neo4j>),
}

impl Conn {
    async fn open(target: &Target) -> Result<Conn, MirrorError> {
        Ok(match target {
            Target::Postgres(url) => Conn::Postgres(Postgres::connect(url).await?),
            Target::Neo4j(url) => {
                let url = url.clone();
                Conn::Neo4j(Arc::new(blocking(move || Neo4j::connect(&url)).await?))
            }
        })
    }

    async fn sync(&self, rows: mirror::Rows) -> Result<SyncReport, MirrorError> {
        match self {
            Conn::Postgres(pg) => pg.sync(&rows, &Default::default()).await,
            Conn::Neo4j(neo) => {
                let neo = neo.clone();
                blocking(move || neo.sync(&rows)).await
            }
        }
    }

    async fn orphans(&self, gone: &[String]) -> Result<Vec<uuid::Uuid>, MirrorError> {
        match self {
            Conn::Postgres(pg) => pg.orphans(gone).await,
            Conn::Neo4j(neo) => {
                let (neo, gone) = (neo.clone(), gone.to_vec());
                blocking(move || neo.orphans(&gone)).await
            }
        }
    }

    async fn write(&self, delta: Delta) -> Result<SyncReport, MirrorError> {
        match self {
            Conn::Postgres(pg) => pg.write(&delta).await,
            Conn::Neo4j(neo) => {
                let neo = neo.clone();
                blocking(move || neo.write(&delta)).await
            }
        }
    }
}

/// Runs `f` on a blocking thread.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, MirrorError> + Send + 'static,
) -> Result<T, MirrorError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| MirrorError::Database(e.to_string()))?
}

/// A mirror's task: runs until the app is gone.
pub async fn run(app: Weak<App>, mirror: Arc<Mirror>) {
    let mut backoff = Duration::from_millis(250);
    let mut conn: Option<Conn> = None;
    let mut repo: Option<Repo> = None;
    loop {
        let _ = tokio::time::timeout(FLUSH, mirror.notify.notified()).await;
        let Some(app) = app.upgrade() else { return };
        // The audit log follows the branch: commits made by writes and
        // outside them alike.
        let head = match &mirror.target {
            Target::Postgres(_) => head(&app, &mut repo),
            Target::Neo4j(_) => None,
        };
        let moved = head.is_some() && *mirror.audited.lock() != head;
        let work = {
            let mut p = mirror.pending.lock();
            if p.paths.is_empty() && !p.full && !moved {
                continue;
            }
            std::mem::take(&mut *p)
        };
        let mut result = flush(&app, &mirror.target, &mut conn, &work).await;
        if let (Ok(()), Some(head), Some(Conn::Postgres(pg)), Some(repo)) =
            (&result, &head, &conn, &repo)
            && moved
        {
            result = audit(pg, repo, head).await;
            if result.is_ok() {
                *mirror.audited.lock() = Some(head.clone());
            }
        }
        match result {
            Ok(()) => {
                backoff = Duration::from_millis(250);
                let mut s = mirror.state.lock();
                s.ok = true;
                s.last_error = None;
                s.syncs += 1;
            }
            Err(e) => {
                tracing::warn!(mirror = mirror.target.name(), error = %e, retry_in_ms = backoff.as_millis() as u64, "mirror sync failed");
                {
                    let mut s = mirror.state.lock();
                    s.ok = false;
                    s.last_error = Some(e.to_string());
                }
                // The next attempt is a whole sync (it writes only what
                // differs): whatever the database went through meanwhile —
                // restarted empty, restored from a backup — it converges.
                // A lost connection is opened again.
                {
                    let mut p = mirror.pending.lock();
                    p.full = true;
                    p.paths.extend(work.paths);
                }
                conn = None;
                drop(app);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// The commit `HEAD` names, when the workspace is in a repository with
/// commits (the repository opened once).
fn head(app: &App, repo: &mut Option<Repo>) -> Option<String> {
    if repo.is_none() {
        *repo = Repo::open(app.root()).ok();
    }
    repo.as_ref()?.rev("HEAD").ok().map(|r| r.commit)
}

/// Brings the audit log up to the commit `head`: the changes of the
/// commits it lacks, computed from history on a blocking thread.
async fn audit(pg: &Postgres, repo: &Repo, head: &str) -> Result<(), MirrorError> {
    let known = pg.audit_known().await?;
    let (repo, head) = (repo.clone(), head.to_owned());
    let plan = blocking(move || {
        mirror::audit::plan(&repo, &head, &known)
            .map_err(|e| MirrorError::Database(format!("the audit log's history: {e}")))
    })
    .await?;
    let t = pg.write_audit(&plan, &[]).await?;
    tracing::debug!(commits = t.inserted, gone = t.deleted, "audit log written");
    Ok(())
}

async fn flush(
    app: &Arc<App>,
    target: &Target,
    conn: &mut Option<Conn>,
    work: &Pending,
) -> Result<(), MirrorError> {
    if conn.is_none() {
        *conn = Some(Conn::open(target).await?);
    }
    let conn = conn.as_ref().expect("connected above");
    if !work.full && work.paths.is_empty() {
        return Ok(());
    }
    if work.full {
        let store = app.store.clone();
        let rows = blocking(move || Ok(mirror::rows_of(&store))).await?;
        let r = conn.sync(rows).await?;
        tracing::info!(
            mirror = target.name(),
            changes = r.changes(),
            ms = r.elapsed.as_millis() as u64,
            "mirror synced"
        );
        return Ok(());
    }
    let paths: Vec<String> = work.paths.iter().cloned().collect();
    // The graph is read under the watcher's lock, never across an await.
    let (app2, p2) = (app.clone(), paths.clone());
    let mut delta = blocking(move || {
        let live = app2.live.read();
        Ok(mirror::rows::delta(
            &app2.store,
            live.graph(),
            live.inferred(),
            &p2,
        ))
    })
    .await?;
    let orphans = conn.orphans(&delta.gone).await?;
    if !orphans.is_empty() {
        let app2 = app.clone();
        delta = blocking(move || {
            let live = app2.live.read();
            mirror::rows::reattach(
                &mut delta,
                &app2.store,
                live.graph(),
                live.inferred(),
                &orphans,
            );
            Ok(delta)
        })
        .await?;
    }
    let r = conn.write(delta).await?;
    tracing::debug!(
        mirror = target.name(),
        files = paths.len(),
        ms = r.elapsed.as_millis() as u64,
        "mirror applied"
    );
    Ok(())
}
