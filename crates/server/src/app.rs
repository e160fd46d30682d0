//! The server's state: the watched workspace (graph), the search index,
//! the live-update hub, and the one way writes happen.
//!
//! **One source of events.** Every change — an API write or an edit made
//! outside the server — becomes events the same way: the watcher reads the
//! changed files and diffs them against the versions it holds
//! ([`indexer::watch`]). An API write does not wait for the notification:
//! it asks the watcher to read the files it wrote at once
//! ([`Watcher::refresh`]), so its answer, its events and the next read all
//! see it; the notification that follows finds nothing new.
//!
//! **Locks.** `live` (the watcher and its graph) is read by every request
//! and written only to apply a batch; nobody holds it while waiting for
//! file events. `writes` serializes API writes from edit to commit to
//! events, so commits never interleave, and the watch thread takes it
//! before applying notifications, so the files of a write are always read
//! first by the write itself (its events carry its actor); `writes` is
//! always taken before `live`. the workspace's file lock
//! ([`schema::store::Store::lock`]) keeps other processes (the CLI) out of
//! the same files while one is written.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indexer::search::SearchIndex;
use indexer::watch::{self, Event, Watcher};
use indexer::write::{Touched, WriteError, Writer};
use parking_lot::{Mutex, RwLock};
use schema::store::Store;
use uuid::Uuid;

use crate::Config;
use crate::error::ApiError;
use crate::events;
use crate::git::{Author, Git};
use crate::hub::Hub;
use crate::metrics::Metrics;

pub struct App {
    pub config: Config,
    pub store: Store,
    pub root: PathBuf,
    pub live: RwLock<Watcher>,
    pub search: RwLock<SearchIndex>,
    pub hub: Hub,
    /// Every node's UUID by key, including nodes since deleted (their
    /// events still go to their channel).
    pub ids: Mutex<HashMap<String, Uuid>>,
    writes: Mutex<()>,
    pub git: Option<Git>,
    pub blobs: crate::attach::Blobs,
    pub metrics: Metrics,
    /// Changes applied so far (batches of events): answers computed at one
    /// generation hold until the next ([`crate::memo`]).
    pub generation: AtomicU64,
    /// Commits made, for `git gc --auto` every [`GC_EVERY`].
    commits: AtomicU64,
    pub memo: crate::memo::Memo,
    pub stopper: watch::Stopper,
    /// The mirrors kept in sync (Postgres, Neo4j), those configured.
    pub mirrors: Vec<Arc<crate::mirror::Mirror>>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("root", &self.root).finish()
    }
}

/// What a write did, for its commit and its answer.
#[derive(Debug, Clone)]
pub struct Done<T> {
    pub value: T,
    /// The commit made, if any.
    pub commit: Option<String>,
}

/// A write's result, as the commit needs it.
pub trait Wrote {
    /// Workspace-relative files written (created, modified, deleted, both
    /// ends of a rename).
    fn paths(&self) -> Vec<String>;
    /// `before → after` lines for the commit message.
    fn lines(&self) -> Vec<String>;
}

impl Wrote for indexer::write::Written {
    fn paths(&self) -> Vec<String> {
        touched_paths(&self.files)
    }

    fn lines(&self) -> Vec<String> {
        self.changes
            .iter()
            .map(|c| format!("{}: {} → {}", c.field, short(&c.before), short(&c.after)))
            .collect()
    }
}

impl Wrote for indexer::write::Linked {
    fn paths(&self) -> Vec<String> {
        if self.changed {
            vec![self.path.clone()]
        } else {
            Vec::new()
        }
    }

    fn lines(&self) -> Vec<String> {
        Vec::new()
    }
}

fn touched_paths(files: &[Touched]) -> Vec<String> {
    let mut out = Vec::new();
    for t in files {
        out.push(t.path.clone());
        if let indexer::write::FileAction::Renamed { from } = &t.action {
            out.push(from.clone());
        }
    }
    out
}

/// A JSON value for a commit message: `none`, bare strings, `[a, b]`.
fn short(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "none".into(),
        serde_json::Value::String(s) => {
            let line = s.lines().next().unwrap_or_default();
            if line.chars().count() > 60 || s.contains('\n') {
                format!("{}…", line.chars().take(60).collect::<String>())
            } else {
                line.to_owned()
            }
        }
        serde_json::Value::Array(a) => {
            format!("[{}]", a.iter().map(short).collect::<Vec<_>>().join(", "))
        }
        v => v.to_string(),
    }
}

impl App {
    /// Loads and watches the workspace, opens (and brings up to date) its
    /// search index, and starts the thread that applies file changes.
    pub fn start(config: Config) -> anyhow::Result<Arc<App>> {
        let t = Instant::now();
        let store = Store::discover(&config.workspace)?;
        let root = store.root().to_owned();
        let watcher = Watcher::start_with(
            &root,
            watch::Options {
                debounce: Duration::from_millis(config.debounce_ms.max(1)),
                ..watch::Options::default()
            },
        )?;
        let mut search = SearchIndex::open(&store)?;
        let sync = search.sync(&store, watcher.graph())?;
        let ids = watcher
            .graph()
            .inner()
            .node_indices()
            .filter_map(|n| {
                let node = watcher.graph().node(n);
                Some((node.key.clone(), node.id()?))
            })
            .collect();
        let git = if config.commit {
            Git::detect(&root)
        } else {
            None
        };
        let blobs = crate::attach::Blobs::open(&config, &root)?;
        let stopper = watcher.stopper();
        let inbox = watcher.inbox();
        tracing::info!(
            workspace = %root.display(),
            nodes = watcher.graph().node_count(),
            search_documents = search.len(),
            search_indexed = sync.indexed,
            committing = git.is_some(),
            took_ms = t.elapsed().as_millis() as u64,
            "workspace loaded"
        );
        let mirrors = crate::mirror::Mirror::configured(&config);
        let app = Arc::new(App {
            hub: Hub::new(config.replay, config.ws_queue),
            metrics: Metrics::new(),
            config,
            store,
            root,
            live: RwLock::new(watcher),
            search: RwLock::new(search),
            ids: Mutex::new(ids),
            writes: Mutex::new(()),
            git,
            blobs,
            stopper,
            generation: AtomicU64::new(0),
            commits: AtomicU64::new(0),
            memo: crate::memo::Memo::default(),
            mirrors,
        });
        let weak = Arc::downgrade(&app);
        std::thread::Builder::new()
            .name("nonlinear-watch".into())
            .spawn(move || watch_loop(&weak, &inbox))?;
        Ok(app)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Publishes a batch of watcher events (already applied to the graph):
    /// the hub first (an event goes out as soon as the graph holds it), then
    /// the search index (a tantivy commit, ~15 ms), then the generation
    /// that ends remembered answers. An API write answers only after all
    /// three, so its client's next search sees it; a client reacting to an
    /// event within those milliseconds may search the index before it.
    fn publish(&self, watcher: &Watcher, batch: &[Event], actor: Option<&str>) {
        if batch.is_empty() {
            return;
        }
        let t = Instant::now();
        events::publish(self, watcher.graph(), batch, actor);
        for m in &self.mirrors {
            m.note(watcher.graph(), batch);
        }
        let published = t.elapsed();
        if let Err(e) = self
            .search
            .write()
            .apply(&self.store, watcher.graph(), batch)
        {
            tracing::error!(error = %e, "search index update failed");
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
        tracing::debug!(
            events = batch.len(),
            publish_us = published.as_micros() as u64,
            search_us = (t.elapsed() - published).as_micros() as u64,
            "published"
        );
    }

    /// Runs one write as `actor` (a member handle): edits the files through
    /// [`Writer`], commits them (when committing), and applies and
    /// publishes the change before answering. Blocking: call from
    /// `spawn_blocking`.
    pub fn write<T: Wrote>(
        &self,
        actor: Option<&str>,
        summary: impl FnOnce(&T) -> String,
        op: impl FnOnce(&Writer) -> Result<T, WriteError>,
    ) -> Result<Done<T>, ApiError> {
        let t = Instant::now();
        let _serial = self.writes.lock();
        let waited = t.elapsed();
        let writer = Writer::open(self.store.clone())
            .map_err(ApiError::from)?
            .with_actor(actor.map(str::to_owned));
        let author = author(writer.config(), actor);
        let value = op(&writer)?;
        let edited = t.elapsed();
        let paths = value.paths();
        let mut commit = None;
        if let Some(git) = &self.git
            && !paths.is_empty()
        {
            let mut message = format!("{}\n", summary(&value));
            let lines = value.lines();
            if !lines.is_empty() {
                message.push('\n');
                for l in lines {
                    message.push_str(&l);
                    message.push('\n');
                }
            }
            message.push_str(&format!(
                "\nNonlinear-Actor: {}\n",
                actor.unwrap_or("anonymous")
            ));
            // The files are written: a failed commit leaves them in the
            // work tree (uncommitted), and the client is told.
            commit = git
                .commit(&paths, &message, &author)
                .map_err(ApiError::internal)?;
            if commit.is_some()
                && self.commits.fetch_add(1, Ordering::Relaxed) % GC_EVERY == GC_EVERY - 1
            {
                gc_in_background(&self.root);
            }
        }
        let committed = t.elapsed();
        let mut live = self.live.write();
        let batch = live.refresh(paths);
        let refreshed = t.elapsed();
        let live = parking_lot::RwLockWriteGuard::downgrade(live);
        self.publish(&live, &batch, actor);
        self.metrics.writes.inc();
        let us = |d: Duration| d.as_micros() as u64;
        tracing::debug!(
            waited_us = us(waited),
            edited_us = us(edited),
            committed_us = us(committed),
            refreshed_us = us(refreshed),
            done_us = us(t.elapsed()),
            "write applied"
        );
        Ok(Done { value, commit })
    }
}

/// Commits between two `git gc --auto` runs. Commits are made in process,
/// and nothing else would pack the loose objects each one leaves.
const GC_EVERY: u64 = 100;

/// Runs `git gc --auto` without waiting for it (it does nothing when there
/// is nothing to pack; it takes no lock our commits need).
fn gc_in_background(root: &Path) {
    let root = root.to_owned();
    std::thread::spawn(move || {
        let r = std::process::Command::new("git")
            .arg("-C")
            .arg(&root)
            .args(["gc", "--auto", "--quiet"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        if let Err(e) = r {
            tracing::warn!(error = %e, "git gc --auto did not run");
        }
    });
}

/// The commit author for `actor`: the member's name and email from the
/// config; made up from the handle when the member has no email.
fn author(config: &schema::Config, actor: Option<&str>) -> Author {
    let member = actor.and_then(|a| config.member(a));
    match (actor, member) {
        (_, Some(m)) => Author {
            name: if m.name.is_empty() {
                m.handle.clone()
            } else {
                m.name.clone()
            },
            email: m
                .email
                .clone()
                .unwrap_or_else(|| format!("{}@nonlinear.invalid", m.handle)),
        },
        (Some(a), None) => Author {
            name: a.to_owned(),
            email: format!("{a}@nonlinear.invalid"),
        },
        _ => Author {
            name: "Non-Linear API".into(),
            email: "api@nonlinear.invalid".into(),
        },
    }
}

/// Applies file changes as they come until the server stops (the watcher
/// is stopped, or the app is gone).
fn watch_loop(app: &std::sync::Weak<App>, inbox: &watch::Inbox) {
    loop {
        let until = {
            let Some(app) = app.upgrade() else { return };
            app.live.read().wake_at()
        };
        // Wake at least once a second to notice the app is gone.
        let cap = Instant::now() + Duration::from_secs(1);
        let wake = inbox.wait(Some(until.map_or(cap, |u| u.min(cap))));
        let Some(app) = app.upgrade() else { return };
        // After any API write in progress: its own files are then read by
        // its refresh (and attributed to its actor), not here.
        let _serial = app.writes.lock();
        let mut live = app.live.write();
        let Some(batch) = live.process(wake) else {
            return;
        };
        let live = parking_lot::RwLockWriteGuard::downgrade(live);
        app.publish(&live, &batch, None);
    }
}
