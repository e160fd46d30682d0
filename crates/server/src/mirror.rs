//! Keeping the configured Postgres mirror in sync in the background
//! (`mirror_postgres` / `NONLINEAR_POSTGRES_URL`): every batch the watcher
//! applies notes the files it touched; a task writes their rows within
//! [`FLUSH`] (`indexer::mirror::postgres::Postgres::write`), or syncs the
//! whole workspace after a config or inferred-links change and at start.
//! A mirror outage never blocks reads or writes — files are the truth —
//! the touched paths accumulate and are written when the database is back,
//! retried with backoff up to [`MAX_BACKOFF`].

use std::collections::BTreeSet;
use std::sync::{Arc, Weak};
use std::time::Duration;

use indexer::change::Change;
use indexer::mirror::{self, postgres::Postgres};
use indexer::watch::Event;
use parking_lot::Mutex;
use serde::Serialize;

use crate::app::App;

/// Longest a noted change waits before it is written.
pub const FLUSH: Duration = Duration::from_millis(100);
/// Longest wait between retries while the mirror is down.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The mirror's pending work and state, shared by the watcher thread and
/// the mirror task.
#[derive(Debug, Default)]
pub struct Mirror {
    pending: Mutex<Pending>,
    notify: tokio::sync::Notify,
    state: Mutex<State>,
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
    pub fn new() -> Mirror {
        let m = Mirror::default();
        m.pending.lock().full = true;
        m
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

/// The mirror task: runs until the app is gone.
pub async fn run(app: Weak<App>, url: String) {
    let mut backoff = Duration::from_millis(250);
    let mut pg: Option<Postgres> = None;
    loop {
        let mirror = match app.upgrade() {
            Some(a) => match &a.mirror {
                Some(m) => m.clone(),
                None => return,
            },
            None => return,
        };
        let _ = tokio::time::timeout(FLUSH, mirror.notify.notified()).await;
        let Some(app) = app.upgrade() else { return };
        let work = {
            let mut p = mirror.pending.lock();
            if p.paths.is_empty() && !p.full {
                continue;
            }
            std::mem::take(&mut *p)
        };
        let result = flush(&app, &url, &mut pg, &work).await;
        match result {
            Ok(()) => {
                backoff = Duration::from_millis(250);
                let mut s = mirror.state.lock();
                s.ok = true;
                s.last_error = None;
                s.syncs += 1;
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "mirror sync failed");
                {
                    let mut s = mirror.state.lock();
                    s.ok = false;
                    s.last_error = Some(e.to_string());
                }
                // Put the work back; a lost connection is opened again.
                {
                    let mut p = mirror.pending.lock();
                    p.full |= work.full;
                    p.paths.extend(work.paths);
                }
                pg = None;
                drop(app);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

async fn flush(
    app: &Arc<App>,
    url: &str,
    pg: &mut Option<Postgres>,
    work: &Pending,
) -> Result<(), mirror::MirrorError> {
    if pg.is_none() {
        *pg = Some(Postgres::connect(url).await?);
    }
    let pg = pg.as_ref().expect("connected above");
    if work.full {
        let store = app.store.clone();
        let rows = tokio::task::spawn_blocking(move || mirror::rows_of(&store))
            .await
            .map_err(|e| mirror::MirrorError::Database(e.to_string()))?;
        let r = pg.sync(&rows, &Default::default()).await?;
        tracing::info!(
            changes = r.changes(),
            ms = r.elapsed.as_millis() as u64,
            "mirror synced"
        );
        return Ok(());
    }
    let paths: Vec<String> = work.paths.iter().cloned().collect();
    // The graph is read under the watcher's lock, never across an await.
    let (app2, p2) = (app.clone(), paths.clone());
    let mut delta = tokio::task::spawn_blocking(move || {
        let live = app2.live.read();
        mirror::rows::delta(&app2.store, live.graph(), live.inferred(), &p2)
    })
    .await
    .map_err(|e| mirror::MirrorError::Database(e.to_string()))?;
    let orphans = pg.orphans(&delta.gone).await?;
    if !orphans.is_empty() {
        let app2 = app.clone();
        delta = tokio::task::spawn_blocking(move || {
            let live = app2.live.read();
            mirror::rows::reattach(
                &mut delta,
                &app2.store,
                live.graph(),
                live.inferred(),
                &orphans,
            );
            delta
        })
        .await
        .map_err(|e| mirror::MirrorError::Database(e.to_string()))?;
    }
    let r = pg.write(&delta).await?;
    tracing::debug!(
        files = paths.len(),
        ms = r.elapsed.as_millis() as u64,
        "mirror applied"
    );
    Ok(())
}
