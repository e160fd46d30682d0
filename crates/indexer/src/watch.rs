//! Keeping the graph current while files change, as a stream of typed
//! events.
//!
//! [`Watcher::start`] watches a workspace's directory tree, loads the
//! workspace and builds its [`Graph`]; every [`Watcher::next_batch`] then
//! waits for files to change, re-reads the workspace files that did,
//! updates the graph with [`Graph::upsert`]/[`Graph::remove`] and returns
//! what changed: [`Change`]s (created, deleted, a field's before → after, a
//! link added or removed with its layer) computed by
//! [`change::item_changes`], plus the few events only a watcher has
//! ([`Invalid`], [`ConfigChanged`], [`Rescan`]). Between two batches
//! [`Watcher::graph`] is the graph of the files on disk.
//!
//! ```no_run
//! use nonlinear_indexer::watch::Watcher;
//!
//! let mut watcher = Watcher::start(std::path::Path::new("."))?;
//! let stopper = watcher.stopper(); // e.g. for a Ctrl-C handler: stopper.stop()
//! # drop(stopper);
//! while let Some(batch) = watcher.next_batch() {
//!     for event in &batch {
//!         println!("{}", serde_json::to_string(event)?);
//!     }
//!     let _ready = nonlinear_indexer::query::ready(watcher.graph(), None);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! What it promises:
//!
//! * **Debounced.** Events for a path are delivered once it has been quiet
//!   for [`Options::debounce`] (100 ms); one batch holds everything that
//!   settled together.
//! * **Content, not events, decides.** Every path an event names is read
//!   again and compared with the version the watcher holds, so however an
//!   editor saves — in place, by writing a temporary file and renaming it
//!   over the original (our own atomic writes do that), by moving the
//!   original away first — a save yields exactly the fields that changed,
//!   and a save that changed nothing yields nothing.
//! * **Deletes wait.** A known file found missing is only reported
//!   [`Change::Deleted`] when it is still missing [`Options::grace`]
//!   (300 ms) later: editors that move the original to a backup before
//!   writing the new file are saving, not deleting.
//! * **Moves are updates.** A file that disappears while a file with the
//!   same UUID appears elsewhere is the same item: a `path` field change,
//!   not a delete plus a create.
//! * **The last good version stays.** A file that does not parse (an editor
//!   half-way through writing it, a YAML typo) yields an [`Invalid`] event
//!   naming the file and its first problem; the watcher keeps the version it
//!   had (or none, for a new file), and the next good version is compared
//!   with that. Files that parse with problems (an unknown status, say) are
//!   not invalid: they are items, as `Store::load` reads them. (Unless
//!   [`Options::keep_last_good`] is off: then the item leaves the graph,
//!   as it would be absent from a fresh load.)
//! * **Ignored:** `.git`, `target`, `node_modules`, `.venv` and `__pycache__`
//!   anywhere (the directories `Store::files` skips; top-level ones are not
//!   even watched), `.nonlinear/cache/`, and dot files and directories under
//!   `.nonlinear/` (the `.NAME.123.tmp` files atomic writes go through).
//!   Comments are not in the graph: a comment file that appears, changes
//!   or goes is one [`CommentChanged`] naming it and its item. A `COMPONENT.md` outside `.nonlinear/` counts only where
//!   `Store::files` finds it (not in a git-ignored directory).
//! * **Never worse than a reload.** When the operating system drops events
//!   (a queue overflow) or the watcher reports an error, every workspace file
//!   is read again ([`Rescan`]), so the graph always ends up equal to
//!   [`Graph::build`] of a fresh `Store::load`.
//!
//! The watcher does its work on the thread that calls
//! [`Watcher::next_batch`]: the graph a caller sees is always the one the
//! batches it received describe, and no lock guards it. A caller that
//! shares the watcher with readers (a server, behind a lock) waits on its
//! [`Inbox`] without the lock and takes the lock only for
//! [`Watcher::process`]; a writer that just wrote files calls
//! [`Watcher::refresh`] with their paths to see its own change at once.
//!
//! Debouncing is `notify-debouncer-full`'s, not our own: it pairs the two
//! halves of a rename into one event (so a rename-swap save or a move
//! arrives with both paths in one batch), keeps queued events' paths right
//! across renames, reports a directory removal once, forwards the back end's
//! "rescan" flag, and on macOS (FSEvents, which reports renames unpaired)
//! stitches renames together by file id. `notify` with a hand-written debounce
//! would have to redo all of that.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use notify_debouncer_full::notify::{self, EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache};
use schema::diagnostic::{Code, Diagnostic};
use schema::parse::{self, FileKind};
use schema::store::{Stamp, Store, StoreError};
use schema::text::Pos;
use schema::{Item, Kind, Workspace};

use crate::change::{self, Change, Names};
use crate::graph::{Graph, NodeKind};
use crate::inferred::{self, EDGES_PATH, Inferred};

/// Directories never looked into, wherever they are: the ones
/// `Store::files` skips.
const SKIP_DIRS: &[&str] = &[".git", "target", "node_modules", ".venv", "__pycache__"];

/// Where the write lock lives; nothing in it is a workspace file.
const CACHE_DIR: &str = crate::cache::DIR;

/// Timing of a [`Watcher`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// How long a path must be quiet before its events are delivered.
    pub debounce: Duration,
    /// How long a known file must stay missing before it is reported
    /// deleted.
    pub grace: Duration,
    /// Whether an item whose file stops parsing keeps its last good
    /// version (a live view: an editor half-way through a save) or leaves
    /// the graph (a reader that must answer as a fresh load of the files
    /// would: the daemon).
    pub keep_last_good: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            debounce: Duration::from_millis(100),
            grace: Duration::from_millis(300),
            keep_last_good: true,
        }
    }
}

/// One event of a batch. Serialized as one JSON object with an `event` tag:
/// a [`Change`] as it serializes itself (`created`, `deleted`, `field`,
/// `link_added`, `link_removed`), or `invalid`, `config`, `inferred`,
/// `rescan`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Event {
    Change(Change),
    Comment(CommentChanged),
    Invalid(Invalid),
    Config(ConfigChanged),
    Inferred(InferredChanged),
    Rescan(Rescan),
}

/// The analyzer's file of inferred Layer-3 links changed
/// ([`crate::inferred`]): the links it adds and the ones it no longer
/// has. A link whose evidence or confidence changed is in `added` with
/// its new values. The graph holds the new set.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "event", rename = "inferred")]
pub struct InferredChanged {
    pub path: String,
    pub added: Vec<Inferred>,
    pub removed: Vec<Inferred>,
}

/// A comment file appeared, changed or went away. Comments are not in the
/// graph; the watcher only tells which one, on which item.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "event", rename = "comment")]
pub struct CommentChanged {
    /// Workspace-relative path (`.nonlinear/comments/<item>/<comment>.md`).
    pub path: String,
    /// The UUID of the item commented on (the directory's name).
    pub on: String,
    /// The comment's UUID (the file's stem).
    pub id: String,
    pub action: CommentAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CommentAction {
    Created,
    Updated,
    Deleted,
}

/// A workspace file that does not parse (or cannot be read). The watcher
/// keeps the last version that did; nothing else about the file changed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "event", rename = "invalid")]
pub struct Invalid {
    /// Workspace-relative path.
    pub path: String,
    /// The first problem, as `check --format json` prints diagnostics.
    pub diagnostic: Diagnostic,
}

/// `.nonlinear/config.yaml` changed (or was removed); the graph was rebuilt
/// with the new config (workflow categories, cycles, project name).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "event", rename = "config")]
pub struct ConfigChanged {
    pub path: String,
}

/// The file system watcher lost track (events dropped, or an error), or
/// [`Watcher::rescan`] was called: the workspace was scanned again, and
/// the changes found are in the same batch.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "event", rename = "rescan")]
pub struct Rescan {
    pub reason: String,
    /// Item and comment files read again: the ones whose stamp changed
    /// since they were last read (or too recently to tell).
    pub read: usize,
}

/// Why a watcher could not start.
#[derive(Debug)]
pub enum WatchError {
    /// No workspace, or it could not be read.
    Store(StoreError),
    /// The operating system's file watcher refused (e.g. too many watches).
    Notify(notify::Error),
}

impl fmt::Display for WatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WatchError::Store(e) => e.fmt(f),
            WatchError::Notify(e) => write!(f, "cannot watch the workspace: {e}"),
        }
    }
}

impl std::error::Error for WatchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WatchError::Store(e) => Some(e),
            WatchError::Notify(e) => Some(e),
        }
    }
}

impl From<StoreError> for WatchError {
    fn from(e: StoreError) -> WatchError {
        WatchError::Store(e)
    }
}

impl From<notify::Error> for WatchError {
    fn from(e: notify::Error) -> WatchError {
        WatchError::Notify(e)
    }
}

#[derive(Debug)]
enum Msg {
    Fs(DebounceEventResult),
    Stop,
}

/// Ends a watcher's stream from another thread (a signal handler, a server
/// shutting down): its [`Watcher::next_batch`] returns `None`.
#[derive(Debug, Clone)]
pub struct Stopper(mpsc::Sender<Msg>);

impl Stopper {
    pub fn stop(&self) {
        // The watcher is gone already when this fails: nothing to stop.
        let _ = self.0.send(Msg::Stop);
    }
}

/// A workspace being watched: its graph, kept current, and the stream of
/// what changed. Dropping it stops watching.
#[derive(Debug)]
pub struct Watcher {
    store: Store,
    root: PathBuf,
    options: Options,
    debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
    tx: mpsc::Sender<Msg>,
    rx: Inbox,
    /// Top-level directories watched recursively (the root itself is
    /// watched without its subdirectories).
    watched: BTreeSet<String>,
    graph: Graph,
    /// Items the graph has no node for (neither UUID nor short id), by path.
    loose: HashMap<String, Item>,
    /// Paths of every item the watcher holds: the graph's and `loose`'s.
    known: BTreeSet<String>,
    /// The config file as last applied (`None`: there was none).
    config: Option<Vec<u8>>,
    /// Known files found missing, and when they count as deleted.
    missing: BTreeMap<String, Instant>,
    /// Files last found invalid, with the problem reported: reading one
    /// again unchanged reports nothing.
    invalid: HashMap<String, Diagnostic>,
    /// Comment files, with what was seen of them.
    comments: BTreeMap<String, SeenComment>,
    /// Each item file's [`Stamp`] from before it was last read, and when
    /// it was taken: a notification or rescan reads only files whose stamp
    /// changed (or is too recent to prove anything: [`schema::store::RACY`]). Reading
    /// every file again on a rescan would itself flood inotify's queue
    /// (every open is an event) and cause the next rescan.
    stamps: HashMap<String, SeenFile>,
    /// Each comment directory's stamp from before it was last listed: a
    /// rescan lists only the ones whose stamp changed.
    comment_dirs: HashMap<String, SeenFile>,
    /// The analyzer's inferred links, as the graph holds them.
    inferred: Vec<Inferred>,
    /// Item and comment files read since start (for [`Rescan::read`]).
    reads: usize,
    /// When the watcher started (nanoseconds since the epoch): a comment
    /// file listed then and not modified since is not an edit.
    started_ns: i64,
    stopped: bool,
    /// The cookie file of a [`Watcher::sync`] in progress, and whether its
    /// notification has arrived.
    cookie: Option<(String, bool)>,
    /// Cookies made so far (each has a new name).
    cookies: u64,
}

/// A file's stamp, taken before reading it, and the horizon it proves
/// anything from ([`Stamp::horizon_now`] then).
#[derive(Debug, Clone, Copy)]
struct SeenFile {
    stamp: Stamp,
    horizon: i64,
}

impl SeenFile {
    fn now(stamp: Stamp) -> SeenFile {
        SeenFile {
            stamp,
            horizon: Stamp::horizon_now(),
        }
    }

    /// Whether the file is still as read: the same stamp, of a file that
    /// had settled when it was taken (git's racy rule).
    fn holds(&self, now: Option<Stamp>) -> bool {
        now == Some(self.stamp) && self.stamp.settled_before(self.horizon)
    }
}

/// Where comment files live, with the trailing `/`.
const COMMENTS_PREFIX: &str = ".nonlinear/comments/";

/// A comment file as last seen: its stamp and content hash, unknown (`None`,
/// 0) for the files listed at start and not looked at since.
#[derive(Debug, Clone, Copy)]
struct SeenComment {
    stamp: Option<SeenFile>,
    hash: u64,
}

/// The receiving end of a [`Watcher`]'s notifications, for a caller that
/// shares the watcher behind a lock (a server): [`Inbox::wait`] blocks
/// without the watcher, [`Watcher::process`] then applies what it got.
#[derive(Debug, Clone)]
pub struct Inbox(Arc<Mutex<mpsc::Receiver<Msg>>>);

/// What [`Inbox::wait`] received; hand it to [`Watcher::process`].
#[derive(Debug)]
pub struct Wake(Vec<Msg>);

impl Inbox {
    /// Waits for notifications until `until` (for ever when `None`), and
    /// takes every one that has arrived. An empty `Wake` means the time
    /// ran out (or the watcher is gone).
    pub fn wait(&self, until: Option<Instant>) -> Wake {
        let rx = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let first = match until {
            None => rx.recv().unwrap_or(Msg::Stop),
            Some(t) => match rx.recv_timeout(t.saturating_duration_since(Instant::now())) {
                Ok(m) => m,
                Err(mpsc::RecvTimeoutError::Timeout) => return Wake(Vec::new()),
                Err(mpsc::RecvTimeoutError::Disconnected) => Msg::Stop,
            },
        };
        let mut msgs = vec![first];
        msgs.extend(rx.try_iter());
        Wake(msgs)
    }
}

/// What reading one workspace file found.
enum Read {
    Item(Box<Item>),
    Invalid(Box<Diagnostic>),
    Absent,
}

impl Watcher {
    /// Watches the workspace containing `start` with the default
    /// [`Options`]. Returns once the watches are in place and the workspace
    /// is loaded: every change made after this returns is reported.
    ///
    /// The workspace is loaded *after* the watches are set up, so a change
    /// made while it loads is not lost (at worst it is read twice and found
    /// unchanged); this is why the watcher loads it itself rather than take
    /// one the caller loaded earlier.
    pub fn start(start: &Path) -> Result<Watcher, WatchError> {
        Watcher::start_with(start, Options::default())
    }

    /// [`Watcher::start`] with other timing.
    pub fn start_with(start: &Path, options: Options) -> Result<Watcher, WatchError> {
        let store = Store::discover(start)?;
        let root = store.root().to_owned();
        let (tx, rx) = mpsc::channel();
        let events = tx.clone();
        let debouncer = notify_debouncer_full::new_debouncer(options.debounce, None, move |r| {
            // The watcher is being dropped when this fails.
            let _ = events.send(Msg::Fs(r));
        })?;
        let mut w = Watcher {
            store,
            root,
            options,
            debouncer,
            tx,
            rx: Inbox(Arc::new(Mutex::new(rx))),
            watched: BTreeSet::new(),
            graph: Graph::build(&Workspace::default()),
            loose: HashMap::new(),
            known: BTreeSet::new(),
            config: None,
            missing: BTreeMap::new(),
            invalid: HashMap::new(),
            comments: BTreeMap::new(),
            stamps: HashMap::new(),
            comment_dirs: HashMap::new(),
            inferred: Vec::new(),
            reads: 0,
            started_ns: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)),
            stopped: false,
            cookie: None,
            cookies: 0,
        };
        // Where [`Watcher::sync`] puts its cookies: it must exist before
        // the watches are placed, or the first cookie could be made before
        // its directory is watched. Best effort: a read-only work tree has
        // no cookies, and `sync` then falls back to a rescan.
        let _ = crate::cache::make_cache_dir(&w.root.join(CACHE_DIR));
        w.debouncer.watch(&w.root, RecursiveMode::NonRecursive)?;
        for entry in std::fs::read_dir(&w.root).map_err(|source| StoreError::Io {
            path: w.root.clone(),
            source,
        })? {
            let Ok(entry) = entry else { continue };
            if let Ok(name) = entry.file_name().into_string()
                && entry.file_type().is_ok_and(|t| t.is_dir())
                && !SKIP_DIRS.contains(&name.as_str())
            {
                match w.debouncer.watch(entry.path(), RecursiveMode::Recursive) {
                    Ok(()) => {
                        w.watched.insert(name);
                    }
                    // Gone already, or unreadable: `Store::files` skips
                    // such a directory too.
                    Err(notify::Error {
                        kind: notify::ErrorKind::PathNotFound,
                        ..
                    }) if name != ".nonlinear" => {}
                    Err(notify::Error {
                        kind: notify::ErrorKind::Io(e),
                        ..
                    }) if name != ".nonlinear"
                        && matches!(
                            e.kind(),
                            io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
                        ) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        w.config = w.store.read(parse::CONFIG_PATH).ok();
        // Stamps first, then the files: a file changed in between has a
        // stamp that no longer holds, and is read again when noticed.
        // The comment directories' stamps before they are listed.
        w.comment_dirs = w
            .comment_dir_stamps()
            .into_iter()
            .map(|(rel, stamp)| (rel, SeenFile::now(stamp)))
            .collect();
        let horizon = Stamp::horizon_now();
        let (ws, stamped) = w.store.load_stamped();
        let mut comment_stamps = HashMap::new();
        for (rel, stamp) in stamped {
            let seen = SeenFile { stamp, horizon };
            if rel.starts_with(COMMENTS_PREFIX) {
                comment_stamps.insert(rel, seen);
            } else {
                w.stamps.insert(rel, seen);
            }
        }
        w.graph = Graph::build(&ws);
        // A bad file shows as `invalid` when it is next written.
        if let Ok(text) = std::fs::read_to_string(w.root.join(EDGES_PATH))
            && let Ok(edges) = inferred::parse(&text)
        {
            w.inferred = edges;
            w.graph.set_inferred(&w.inferred);
        }
        for item in ws.items {
            if item.kind() == Kind::Comment {
                let stamp = comment_stamps.get(&item.path).copied();
                w.comments.insert(item.path, SeenComment { stamp, hash: 0 });
                continue;
            }
            w.known.insert(item.path.clone());
            if w.graph.by_path(&item.path).is_none() {
                w.loose.insert(item.path.clone(), item);
            }
        }
        Ok(w)
    }

    /// The workspace root (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The graph of the files as of the last batch returned.
    /// The analyzer's inferred links the graph holds.
    pub fn inferred(&self) -> &[Inferred] {
        &self.inferred
    }

    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The item the watcher holds for workspace file `path`: the last
    /// version that parsed.
    pub fn item(&self, path: &str) -> Option<&Item> {
        self.graph
            .by_path(path)
            .and_then(|n| self.graph.node(n).item.as_ref())
            .or_else(|| self.loose.get(path))
    }

    /// Every item the watcher holds (components, issues, artifacts), in
    /// path order.
    pub fn items(&self) -> impl Iterator<Item = &Item> + '_ {
        self.known.iter().filter_map(|p| self.item(p))
    }

    /// A handle that ends the stream from another thread.
    pub fn stopper(&self) -> Stopper {
        Stopper(self.tx.clone())
    }

    /// Waits for the next batch of events (never an empty one) and returns
    /// it, the graph already updated. `None` once stopped.
    pub fn next_batch(&mut self) -> Option<Vec<Event>> {
        self.next_until(None)
    }

    /// [`Watcher::next_batch`], giving up after `timeout`: then the batch is
    /// empty.
    pub fn next_batch_timeout(&mut self, timeout: Duration) -> Option<Vec<Event>> {
        self.next_until(Some(Instant::now() + timeout))
    }

    fn next_until(&mut self, deadline: Option<Instant>) -> Option<Vec<Event>> {
        loop {
            let until = match (self.wake_at(), deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let wake = if until.is_some_and(|t| t <= Instant::now()) {
                Wake(Vec::new())
            } else {
                self.rx.wait(until)
            };
            let out = self.process(wake)?;
            if !out.is_empty() {
                return Some(out);
            }
            if deadline.is_some_and(|d| d <= Instant::now()) {
                return Some(Vec::new());
            }
        }
    }

    /// The receiving end, to wait on without holding the watcher.
    pub fn inbox(&self) -> Inbox {
        self.rx.clone()
    }

    /// When [`Watcher::process`] has work even without notifications: a
    /// missing file's grace period ends.
    pub fn wake_at(&self) -> Option<Instant> {
        self.missing.values().min().copied()
    }

    /// Applies what an [`Inbox::wait`] received (and missing files whose
    /// grace has run out) and returns the events, the graph already
    /// updated; possibly none. `None` once stopped.
    pub fn process(&mut self, wake: Wake) -> Option<Vec<Event>> {
        if self.stopped {
            return None;
        }
        let mut results = Vec::new();
        for m in wake.0 {
            match m {
                Msg::Fs(r) => results.push(r),
                Msg::Stop => self.stopped = true,
            }
        }
        let now = Instant::now();
        let due: BTreeSet<String> = self
            .missing
            .iter()
            .filter(|&(_, &t)| t <= now)
            .map(|(p, _)| p.clone())
            .collect();
        let mut out = if due.is_empty() {
            Vec::new()
        } else {
            self.apply(due, now, false)
        };
        if !results.is_empty() {
            out.extend(self.on_fs(results));
        }
        if self.stopped && out.is_empty() {
            return None;
        }
        Some(out)
    }

    /// Reads `paths` (workspace-relative files) again now, without waiting
    /// for their notifications, and returns what changed: a writer that
    /// just wrote them sees its change in the graph at once. A missing file
    /// the watcher knows is deleted at once (no grace). The notifications
    /// that follow find nothing new.
    pub fn refresh<I: IntoIterator<Item = String>>(&mut self, paths: I) -> Vec<Event> {
        let files: BTreeSet<String> = paths.into_iter().filter(|p| !ignored(p)).collect();
        self.apply(files, Instant::now(), true)
    }

    /// Brings the graph up to date with every change made to the files
    /// before this call, and returns what changed — a reader's guarantee
    /// that what it sees is never stale, without waiting out the
    /// debounce or reading every file. Works as watchman's "sync to now":
    /// it creates a cookie file in `.nonlinear/cache/` and processes
    /// notifications until the cookie's own arrives. The operating system
    /// queues notifications in order, and the debouncer releases a path's
    /// events in the order they came, so every change made before the
    /// cookie has been applied by then. Files found missing count as
    /// deleted at once (no [`Options::grace`]: what is gone now is gone
    /// for this reader). Costs about one debounce interval; a watcher made
    /// for readers uses a short one.
    ///
    /// When the cookie cannot be made or its notification does not come
    /// within `timeout` (a read-only or unwatchable cache directory), the
    /// watcher rescans instead: slower, never wrong.
    pub fn sync(&mut self, timeout: Duration) -> Vec<Event> {
        self.cookies += 1;
        let rel = format!("{CACHE_DIR}/.sync-{}-{}", std::process::id(), self.cookies);
        let path = self.root.join(&rel);
        let made = std::fs::File::create(&path).is_ok();
        self.cookie = Some((rel, false));
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        let mut arrived = false;
        while made && !self.stopped {
            let wake = self.rx.wait(Some(deadline));
            if wake.0.is_empty() && Instant::now() >= deadline {
                break;
            }
            out.extend(self.process(wake).unwrap_or_default());
            if self.cookie.as_ref().is_some_and(|(_, seen)| *seen) {
                arrived = true;
                break;
            }
        }
        self.cookie = None;
        let _ = std::fs::remove_file(&path);
        if !arrived {
            out.extend(self.rescan("a sync's cookie file did not come back"));
        }
        let missing: BTreeSet<String> = self.missing.keys().cloned().collect();
        if !missing.is_empty() {
            out.extend(self.apply(missing, Instant::now(), true));
        }
        out
    }

    /// Turns debounced file system events into events of ours.
    fn on_fs(&mut self, results: Vec<DebounceEventResult>) -> Vec<Event> {
        let mut paths = BTreeSet::new();
        let mut lost = None;
        for r in results {
            match r {
                Ok(events) => {
                    for e in events {
                        // Opening and reading a file or directory changes
                        // nothing; and our own reads would be reported back
                        // to us, for ever.
                        if matches!(e.event.kind, EventKind::Access(_)) {
                            continue;
                        }
                        let cookie = self.cookie.as_ref().is_some_and(|(c, _)| {
                            e.event
                                .paths
                                .iter()
                                .any(|p| self.rel(p).as_deref() == Some(c))
                        });
                        if cookie && let Some((_, seen)) = &mut self.cookie {
                            *seen = true;
                        }
                        if e.need_rescan() {
                            lost = Some("the file system dropped events".to_owned());
                        }
                        paths.extend(e.event.paths);
                    }
                }
                Err(errors) => {
                    let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
                    lost = Some(format!("the file watcher failed: {}", errors.join("; ")));
                }
            }
        }
        let now = Instant::now();
        if let Some(reason) = lost {
            return self.rescan(reason);
        }
        let mut files = BTreeSet::new();
        for p in paths {
            let Some(rel) = self.rel(&p) else { continue };
            if rel.is_empty() || ignored(&rel) {
                continue;
            }
            let newly_watched = !rel.contains('/') && self.track_top_level(&rel);
            if parse::classify(&rel).is_some() || rel == EDGES_PATH {
                files.insert(rel);
                continue;
            }
            // Maybe a directory created, moved or removed with files in it:
            // the files the watcher holds below it, and the ones there now.
            let prefix = format!("{rel}/");
            files.extend(
                self.known
                    .range(prefix.clone()..)
                    .take_while(|k| k.starts_with(&prefix))
                    .cloned(),
            );
            files.extend(
                self.comments
                    .range(prefix.clone()..)
                    .take_while(|(k, _)| k.starts_with(&prefix))
                    .map(|(k, _)| k.clone()),
            );
            if newly_watched || self.root.join(&rel).is_dir() {
                self.list(&rel, &mut files);
            }
        }
        self.apply(files, now, false)
    }

    /// Scans the workspace again, as when the operating system drops
    /// events, and returns what changed: first a [`Rescan`] event saying
    /// why and how many files had to be read again.
    pub fn rescan(&mut self, reason: impl Into<String>) -> Vec<Event> {
        let before = self.reads;
        let files = self.rescan_files();
        let changes = self.apply(files, Instant::now(), false);
        let mut out = vec![Event::Rescan(Rescan {
            reason: reason.into(),
            read: self.reads - before,
        })];
        out.extend(changes);
        out
    }

    /// Every file a rescan looks at: the workspace's files now and the ones
    /// the watcher holds. Opening a file or directory is itself an inotify
    /// event, so a rescan opens as little as it can — or its own events
    /// would overflow the queue again and cause the next rescan, for ever:
    /// the item directories are listed (three opens), each comment
    /// directory only when its stamp changed, and files are read by
    /// [`Watcher::apply`] only when their stamp changed.
    fn rescan_files(&mut self) -> BTreeSet<String> {
        let mut files: BTreeSet<String> = self.store.item_files().into_iter().collect();
        files.extend(self.known.iter().cloned());
        files.insert(parse::CONFIG_PATH.to_owned());
        for (dir, stamp) in self.comment_dir_stamps() {
            // A directory whose stamp holds has the files the watcher
            // knows, added below with all the others.
            if !self
                .comment_dirs
                .get(&dir)
                .is_some_and(|s| s.holds(Some(stamp)))
            {
                self.comment_dirs.insert(dir.clone(), SeenFile::now(stamp));
                self.list(&dir, &mut files);
            }
        }
        files.extend(self.comments.keys().cloned());
        files
    }

    /// The stamp of every directory in `.nonlinear/comments` (one per
    /// commented item), without opening them.
    fn comment_dir_stamps(&self) -> Vec<(String, Stamp)> {
        let Ok(entries) = std::fs::read_dir(self.root.join(parse::COMMENTS_DIR)) else {
            return Vec::new();
        };
        let dirs: Vec<String> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                (!name.starts_with('.') && e.file_type().ok()?.is_dir())
                    .then(|| format!("{}/{name}", parse::COMMENTS_DIR))
            })
            .collect();
        let stamps = self.store.stamps(&dirs);
        dirs.into_iter()
            .zip(stamps)
            .filter_map(|(d, s)| Some((d, s?)))
            .collect()
    }

    /// Starts or stops watching the top-level directory `name` as it
    /// appears or goes; whether it is newly watched.
    fn track_top_level(&mut self, name: &str) -> bool {
        let path = self.root.join(name);
        let is_dir = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
        if is_dir && !self.watched.contains(name) && !SKIP_DIRS.contains(&name) {
            // A directory that cannot be watched (gone again, out of
            // watches) is read now and missed later; nothing better to do.
            if self
                .debouncer
                .watch(&path, RecursiveMode::Recursive)
                .is_ok()
            {
                self.watched.insert(name.to_owned());
            }
            return true;
        }
        if !is_dir && self.watched.remove(name) {
            // Already gone with the directory, most likely.
            let _ = self.debouncer.unwatch(&path);
        }
        false
    }

    /// Adds the workspace files below directory `rel` (recursively) to
    /// `files`.
    fn list(&self, rel: &str, files: &mut BTreeSet<String>) {
        let Ok(entries) = std::fs::read_dir(self.root.join(rel)) else {
            return;
        };
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let path = format!("{rel}/{name}");
            if ignored(&path) {
                continue;
            }
            match entry.file_type() {
                Ok(t) if t.is_dir() => self.list(&path, files),
                Ok(_) if parse::classify(&path).is_some() || path == EDGES_PATH => {
                    files.insert(path);
                }
                _ => {}
            }
        }
    }

    /// The workspace-relative, `/`-separated form of an absolute path.
    fn rel(&self, path: &Path) -> Option<String> {
        let rel = path.strip_prefix(&self.root).ok()?.to_str()?;
        Some(rel.replace('\\', "/"))
    }

    /// Reads `files` again and brings the graph up to date with them.
    fn apply(&mut self, files: BTreeSet<String>, now: Instant, at_once: bool) -> Vec<Event> {
        let mut out = Vec::new();
        if files.contains(EDGES_PATH) {
            out.extend(self.reload_inferred());
        }
        // Inferred edges join components: a component re-added, or the
        // graph rebuilt for a new config, lost the ones at its nodes.
        let touches_components = files.iter().any(|f| {
            matches!(
                parse::classify(f),
                Some(FileKind::Config | FileKind::Item(Kind::Component))
            )
        });
        let changes = self.apply_items(files, now, at_once);
        if (touches_components && !self.inferred.is_empty() && !changes.is_empty())
            || !out.is_empty()
        {
            self.graph.set_inferred(&self.inferred);
        }
        out.extend(changes);
        out
    }

    /// Reads the analyzer's file of inferred links again; the event if the
    /// links changed.
    fn reload_inferred(&mut self) -> Option<Event> {
        let edges = match std::fs::read_to_string(self.root.join(EDGES_PATH)) {
            Ok(text) => match inferred::parse(&text) {
                Ok(edges) => edges,
                Err(diagnostic) => return self.invalid(EDGES_PATH.to_owned(), diagnostic),
            },
            Err(e) if absent(&e) => Vec::new(),
            Err(e) => {
                let diagnostic = Diagnostic::new(
                    Code::Io,
                    EDGES_PATH,
                    Pos::START,
                    format!("cannot read file: {e}"),
                );
                return self.invalid(EDGES_PATH.to_owned(), diagnostic);
            }
        };
        self.invalid.remove(EDGES_PATH);
        let old = std::mem::replace(&mut self.inferred, edges);
        let before: HashMap<_, &Inferred> = old.iter().map(|e| (e.key(), e)).collect();
        let after: HashSet<_> = self.inferred.iter().map(Inferred::key).collect();
        let added: Vec<Inferred> = self
            .inferred
            .iter()
            .filter(|e| before.get(&e.key()) != Some(e))
            .cloned()
            .collect();
        let removed: Vec<Inferred> = old
            .iter()
            .filter(|e| !after.contains(&e.key()))
            .cloned()
            .collect();
        if added.is_empty() && removed.is_empty() {
            return None;
        }
        Some(Event::Inferred(InferredChanged {
            path: EDGES_PATH.to_owned(),
            added,
            removed,
        }))
    }

    /// Reads item and config `files` again and brings the graph up to date
    /// with them.
    fn apply_items(&mut self, files: BTreeSet<String>, now: Instant, at_once: bool) -> Vec<Event> {
        let mut out = Vec::new();
        if files.contains(parse::CONFIG_PATH) {
            out.extend(self.reload_config());
        }
        // Components outside `.nonlinear/` count where `Store::files` finds
        // them (it honours `.gitignore`); listing is only worth it when one
        // of them exists.
        let outside_exists = files
            .iter()
            .any(|f| !f.starts_with(".nonlinear/") && self.root.join(f).is_file());
        let listed: Option<HashSet<String>> =
            outside_exists.then(|| self.store.component_files().into_iter().collect());

        // Read everything first; then pair moves; then touch the graph.
        let mut present: Vec<(String, Item)> = Vec::new();
        let mut gone: Vec<String> = Vec::new();
        for rel in files {
            let Some(FileKind::Item(kind)) = parse::classify(&rel) else {
                continue;
            };
            if kind == Kind::Comment {
                out.extend(self.comment(rel));
                continue;
            }
            let listed_here =
                rel.starts_with(".nonlinear/") || listed.as_ref().is_some_and(|l| l.contains(&rel));
            let read = if listed_here {
                let stamp = self.store.stamp(&rel);
                if !at_once
                    && self.known.contains(&rel)
                    && self.stamps.get(&rel).is_some_and(|s| s.holds(stamp))
                {
                    // Not written since it was read.
                    self.missing.remove(&rel);
                    continue;
                }
                match stamp {
                    Some(stamp) => {
                        self.stamps.insert(rel.clone(), SeenFile::now(stamp));
                    }
                    None => {
                        self.stamps.remove(&rel);
                    }
                }
                self.reads += 1;
                self.read(&rel, kind)
            } else {
                Read::Absent
            };
            if !matches!(read, Read::Invalid(_)) {
                self.invalid.remove(&rel);
            }
            match read {
                Read::Item(item) => {
                    self.missing.remove(&rel);
                    present.push((rel, *item));
                }
                Read::Invalid(diagnostic) => {
                    self.missing.remove(&rel);
                    if !self.options.keep_last_good && self.known.contains(&rel) {
                        gone.push(rel.clone());
                    }
                    out.extend(self.invalid(rel, *diagnostic));
                }
                Read::Absent if self.known.contains(&rel) && at_once => {
                    self.missing.remove(&rel);
                    gone.push(rel);
                }
                Read::Absent if self.known.contains(&rel) => {
                    let at = *self
                        .missing
                        .entry(rel.clone())
                        .or_insert(now + self.options.grace);
                    if at <= now {
                        self.missing.remove(&rel);
                        gone.push(rel);
                    }
                }
                Read::Absent => {
                    self.missing.remove(&rel);
                }
            }
        }

        // (old path, new item): `None` for a delete, and the old path is
        // the new one except for moves.
        let mut updates: Vec<(Option<String>, Option<Item>)> = Vec::new();
        for (rel, item) in present {
            if self.known.contains(&rel) {
                if self.item(&rel) != Some(&item) {
                    updates.push((Some(rel), Some(item)));
                }
                continue;
            }
            // A new file: the item of a missing one, moved? The old path's
            // own event may come in a later batch (or never: a move into a
            // directory created a moment before can outrun its watch), so
            // a known file with the UUID that is no longer there counts too.
            let id = item.id.as_ref().map(|i| i.value);
            let moved_from = id.and_then(|id| {
                let has_id = |p: &String| {
                    self.item(p).and_then(|i| i.id.as_ref()).map(|i| i.value) == Some(id)
                };
                self.missing
                    .keys()
                    .chain(gone.iter())
                    .find(|p| has_id(p))
                    .cloned()
                    .or_else(|| {
                        let n = self.graph.find(&id.to_string())?;
                        let path = &self.graph.node(n).item.as_ref()?.path;
                        (path != &rel && !self.root.join(path).exists()).then(|| path.clone())
                    })
            });
            if let Some(from) = &moved_from {
                self.missing.remove(from);
                gone.retain(|g| g != from);
            }
            updates.push((moved_from, Some(item)));
        }
        updates.extend(gone.into_iter().map(|g| (Some(g), None)));
        if updates.is_empty() {
            return out;
        }

        let olds: Vec<Option<Item>> = updates
            .iter()
            .map(|(old, _)| old.as_deref().and_then(|p| self.item(p)).cloned())
            .collect();
        let old_names = Resolved::of(&self.graph, olds.iter().flatten());
        for (old, new) in &updates {
            if let Some(old) = old
                && new.as_ref().is_none_or(|n| n.path != *old)
            {
                self.graph.remove(old);
                self.loose.remove(old);
                self.known.remove(old);
                self.stamps.remove(old);
            }
        }
        for (_, new) in &updates {
            if let Some(item) = new {
                let path = item.path.clone();
                if self.graph.upsert(item.clone()).is_some() {
                    self.loose.remove(&path);
                } else {
                    self.loose.insert(path.clone(), item.clone());
                }
                self.known.insert(path);
            }
        }
        let new_names = Resolved::of(&self.graph, updates.iter().filter_map(|(_, n)| n.as_ref()));

        let mut changes: Vec<(String, Vec<Change>)> = updates
            .iter()
            .zip(&olds)
            .map(|((old_path, new), old)| {
                let at = new
                    .as_ref()
                    .map(|n| n.path.clone())
                    .or_else(|| old_path.clone())
                    .unwrap_or_default();
                let changes =
                    change::item_changes(old.as_ref(), new.as_ref(), &old_names, &new_names);
                (at, changes)
            })
            .collect();
        changes.sort_by(|a, b| a.0.cmp(&b.0));
        out.extend(changes.into_iter().flat_map(|(_, c)| c).map(Event::Change));
        out
    }

    /// The event for comment file `rel`, read again, if it changed.
    fn comment(&mut self, rel: String) -> Option<Event> {
        let mut parts = rel.rsplit('/');
        let id = parts.next()?.strip_suffix(".md")?.to_owned();
        let on = parts.next()?.to_owned();
        // Reading a file can change its access time, which inotify reports
        // like an edit: a file whose stamp did not change was not edited.
        let stamp = match std::fs::symlink_metadata(self.root.join(&rel)) {
            Ok(m) if m.is_file() => Stamp::of(&m),
            Ok(_) => return None,
            Err(e) if absent(&e) => {
                self.comments.remove(&rel)?;
                return Some(Event::Comment(CommentChanged {
                    path: rel,
                    on,
                    id,
                    action: CommentAction::Deleted,
                }));
            }
            Err(_) => return None,
        };
        let seen = self.comments.get(&rel).copied();
        if seen.is_some_and(|s| s.stamp.is_some_and(|f| f.holds(Some(stamp)))) {
            return None;
        }
        let horizon = Stamp::horizon_now();
        self.reads += 1;
        let Ok(bytes) = std::fs::read(self.root.join(&rel)) else {
            return None;
        };
        let hash = xxhash_rust::xxh3::xxh3_64(&bytes).max(1);
        self.comments.insert(
            rel.clone(),
            SeenComment {
                stamp: Some(SeenFile { stamp, horizon }),
                hash,
            },
        );
        let action = match seen {
            None => CommentAction::Created,
            Some(s) if s.hash == hash => return None,
            // Listed at start and not written since.
            Some(s)
                if s.hash == 0
                    && stamp.mtime_ns < self.started_ns
                    && stamp.ctime_ns < self.started_ns =>
            {
                return None;
            }
            Some(_) => CommentAction::Updated,
        };
        Some(Event::Comment(CommentChanged {
            path: rel,
            on,
            id,
            action,
        }))
    }

    /// The event for a file found invalid, unless it was already reported
    /// with the same problem.
    fn invalid(&mut self, path: String, diagnostic: Diagnostic) -> Option<Event> {
        if self.invalid.get(&path) == Some(&diagnostic) {
            return None;
        }
        self.invalid.insert(path.clone(), diagnostic.clone());
        Some(Event::Invalid(Invalid { path, diagnostic }))
    }

    /// Reads one item file.
    fn read(&self, rel: &str, kind: Kind) -> Read {
        match self.store.read(rel) {
            Ok(bytes) => match parse::parse_item(rel, kind, &bytes) {
                (Some(item), _) => Read::Item(Box::new(item)),
                (None, diags) => {
                    Read::Invalid(Box::new(diags.into_iter().next().unwrap_or_else(|| {
                        Diagnostic::new(Code::Io, rel, Pos::START, "the file does not parse")
                    })))
                }
            },
            Err(StoreError::Io { source, .. }) if absent(&source) => Read::Absent,
            Err(e) => Read::Invalid(Box::new(Diagnostic::new(
                Code::Io,
                rel,
                Pos::START,
                format!("cannot read file: {e}"),
            ))),
        }
    }

    /// Applies a changed config: the graph is rebuilt with it.
    fn reload_config(&mut self) -> Option<Event> {
        let bytes = match self.store.read(parse::CONFIG_PATH) {
            Ok(b) => Some(b),
            Err(StoreError::Io { source, .. }) if absent(&source) => None,
            Err(e) => {
                let diagnostic = Diagnostic::new(
                    Code::Io,
                    parse::CONFIG_PATH,
                    Pos::START,
                    format!("cannot read file: {e}"),
                );
                return self.invalid(parse::CONFIG_PATH.to_owned(), diagnostic);
            }
        };
        if bytes == self.config {
            self.invalid.remove(parse::CONFIG_PATH);
            return None;
        }
        let config = match &bytes {
            None => None,
            Some(b) => match parse::parse_config(parse::CONFIG_PATH, b) {
                (Some(c), _) => Some(c),
                (None, diags) => {
                    let diagnostic = diags.into_iter().next().unwrap_or_else(|| {
                        Diagnostic::new(
                            Code::Io,
                            parse::CONFIG_PATH,
                            Pos::START,
                            "the file does not parse",
                        )
                    });
                    return self.invalid(parse::CONFIG_PATH.to_owned(), diagnostic);
                }
            },
        };
        self.config = bytes;
        self.invalid.remove(parse::CONFIG_PATH);
        let items: Vec<Item> = self.items().cloned().collect();
        self.graph = Graph::build(&Workspace::new(config, items, Vec::new()));
        Some(Event::Config(ConfigChanged {
            path: parse::CONFIG_PATH.to_owned(),
        }))
    }
}

/// Iterates over batches until stopped.
impl Iterator for Watcher {
    type Item = Vec<Event>;

    fn next(&mut self) -> Option<Vec<Event>> {
        self.next_batch()
    }
}

/// Whether a read error means there is no file (any more).
fn absent(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::IsADirectory | io::ErrorKind::NotADirectory
    )
}

/// Whether a workspace-relative path is never a workspace file nor holds
/// one.
fn ignored(rel: &str) -> bool {
    if rel == CACHE_DIR || rel.starts_with(".nonlinear/cache/") {
        return true;
    }
    let mut parts = rel.split('/');
    let in_nonlinear = parts.next() == Some(".nonlinear");
    rel.split('/').any(|c| SKIP_DIRS.contains(&c))
        || (in_nonlinear && parts.any(|c| c.starts_with('.')))
}

/// References named through a graph (the target's short id or key), as
/// written when they name no item. Resolved up front, so that the old
/// version of a file is named through the graph before a batch and the new
/// one through the graph after it.
struct Resolved(HashMap<String, String>);

impl Resolved {
    fn of<'a>(graph: &Graph, items: impl Iterator<Item = &'a Item>) -> Resolved {
        let mut names = HashMap::new();
        for item in items {
            for (_, r) in item.references() {
                let r = r.value.trim();
                if names.contains_key(r) {
                    continue;
                }
                let name = graph
                    .find(r)
                    .map(|n| graph.node(n))
                    .filter(|n| {
                        matches!(
                            n.kind,
                            NodeKind::Component | NodeKind::Issue | NodeKind::Artifact
                        ) && !n.key.is_empty()
                    })
                    .map_or_else(|| r.to_owned(), |n| n.key.clone());
                names.insert(r.to_owned(), name);
            }
        }
        Resolved(names)
    }
}

impl Names for Resolved {
    fn name(&self, reference: &str) -> String {
        let r = reference.trim();
        self.0.get(r).cloned().unwrap_or_else(|| r.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignored_paths() {
        for p in [
            ".git/HEAD",
            "target/debug/COMPONENT.md",
            "web/node_modules/x/COMPONENT.md",
            ".nonlinear/cache",
            ".nonlinear/cache/write.lock",
            ".nonlinear/issues/.NL-a.md.123.tmp",
            ".nonlinear/issues/.hidden/NL-a.md",
        ] {
            assert!(ignored(p), "{p}");
        }
        for p in [
            ".nonlinear/issues/NL-a.md",
            ".nonlinear/config.yaml",
            "src/api/COMPONENT.md",
            ".github/COMPONENT.md",
            "targets/COMPONENT.md",
        ] {
            assert!(!ignored(p), "{p}");
        }
    }

    #[test]
    fn event_json() {
        let e = Event::Invalid(Invalid {
            path: ".nonlinear/issues/NL-a.md".into(),
            diagnostic: Diagnostic::new(
                Code::YamlSyntax,
                ".nonlinear/issues/NL-a.md",
                Pos { line: 2, col: 3 },
                "bad",
            ),
        });
        assert_eq!(
            serde_json::to_string(&e).expect("serializes"),
            r#"{"event":"invalid","path":".nonlinear/issues/NL-a.md","diagnostic":{"severity":"error","code":"yaml-syntax","path":".nonlinear/issues/NL-a.md","line":2,"col":3,"len":1,"message":"bad"}}"#
        );
        let e = Event::Config(ConfigChanged {
            path: ".nonlinear/config.yaml".into(),
        });
        assert_eq!(
            serde_json::to_string(&e).expect("serializes"),
            r#"{"event":"config","path":".nonlinear/config.yaml"}"#
        );
        let e = Event::Rescan(Rescan {
            reason: "x".into(),
            read: 2,
        });
        assert_eq!(
            serde_json::to_string(&e).expect("serializes"),
            r#"{"event":"rescan","reason":"x","read":2}"#
        );
    }
}
