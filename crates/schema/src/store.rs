//! The file system side: finding a workspace, reading it in parallel, and
//! writing files atomically under a lock.
//!
//! Writes follow one protocol so that no update is ever silently lost:
//! take the workspace write lock, read the file, compute the edit, check the
//! file still holds what the edit was computed from, write a temporary file
//! in the same directory, fsync it, rename it over the original. A reader
//! sees the old file or the new one, never half of one. Another process that
//! changed the file in between (an editor, a second `nonlinear`) makes the
//! write fail with [`StoreError::Conflict`] instead of being overwritten.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rayon::prelude::*;

use crate::Item;
use crate::diagnostic::{Code, Diagnostic};
use crate::parse::{self, Body, FileKind};
use crate::text::Pos;
use crate::workspace::{PathProbe, Workspace};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "no Non-Linear workspace (.nonlinear/config.yaml) in {0} or any parent; run `nonlinear init`"
    )]
    NotAWorkspace(PathBuf),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "{0} changed on disk while it was being edited; nothing was written, run the command again"
    )]
    Conflict(PathBuf),
    #[error("{0} already exists")]
    Exists(PathBuf),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Threads that read a workspace; see [`Store::load_with`].
pub const IO_THREADS: usize = 32;

/// Directories never searched for workspace files.
const SKIP_DIRS: &[&str] = &[".git", "target", "node_modules", ".venv", "__pycache__"];
/// The directory of every workspace file but `COMPONENT.md`s elsewhere.
const NONLINEAR_DIR: &str = ".nonlinear";

/// A workspace on disk.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// A store rooted at `root` (the directory holding `.nonlinear/`).
    pub fn at(root: impl Into<PathBuf>) -> Store {
        Store { root: root.into() }
    }

    /// Finds the workspace containing `start`: the nearest ancestor with a
    /// `.nonlinear/config.yaml`.
    pub fn discover(start: &Path) -> Result<Store, StoreError> {
        let start = fs::canonicalize(start).map_err(io_err(start))?;
        for dir in start.ancestors() {
            if dir.join(parse::CONFIG_PATH).is_file() {
                return Ok(Store::at(dir));
            }
        }
        Err(StoreError::NotAWorkspace(start))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Workspace-relative paths of every workspace file, sorted.
    ///
    /// `.nonlinear/` is our own folder with a fixed layout, so it is listed
    /// with plain `read_dir` calls fanned out over its subdirectories (one
    /// per commented item): no ignore-file lookups, no `stat` per entry.
    /// The rest of the repository is searched for `COMPONENT.md` files
    /// honouring `.gitignore`, in parallel with the first walk.
    pub fn files(&self) -> Vec<String> {
        let (mut files, components) = rayon::join(
            || {
                #[cfg(unix)]
                let listed = fast::list(&self.root, ".nonlinear", None);
                #[cfg(not(unix))]
                let listed = list_tree(&self.root, ".nonlinear");
                listed
            },
            || self.component_files(),
        );
        files.extend(components);
        files.sort_unstable();
        files
    }

    /// [`Store::files`] without the comments: the config, components,
    /// issues and artifacts, which is all a graph needs. At 100k issues the
    /// 200k comment files in 100k directories are most of a listing.
    pub fn item_files(&self) -> Vec<String> {
        let (mut files, components) = rayon::join(
            || {
                let mut files = Vec::new();
                if self.path(parse::CONFIG_PATH).is_file() {
                    files.push(parse::CONFIG_PATH.to_owned());
                }
                for dir in [
                    parse::ISSUES_DIR,
                    parse::COMPONENTS_DIR,
                    parse::ARTIFACTS_DIR,
                ] {
                    #[cfg(unix)]
                    files.extend(fast::list(&self.root, dir, None));
                    #[cfg(not(unix))]
                    files.extend(list_tree(&self.root, dir));
                }
                files
            },
            || self.component_files(),
        );
        files.extend(components);
        files.sort_unstable();
        files
    }

    /// `COMPONENT.md` files outside `.nonlinear/`, honouring `.gitignore`;
    /// unsorted.
    pub fn component_files(&self) -> Vec<String> {
        let found = Mutex::new(Vec::new());
        let root = &self.root;
        let top = root.join(".nonlinear");
        let walker = ignore::WalkBuilder::new(root)
            .hidden(false)
            .require_git(false)
            .filter_entry(move |e| {
                if !e.file_type().is_some_and(|t| t.is_dir()) {
                    return true;
                }
                let name = e.file_name().to_string_lossy();
                !(SKIP_DIRS.contains(&name.as_ref()) || (name == ".nonlinear" && e.path() == top))
            })
            .build_parallel();
        walker.run(|| {
            let found = &found;
            Box::new(move |entry| {
                if let Ok(e) = entry
                    && e.file_name() == parse::COMPONENT_FILE
                    && e.file_type().is_some_and(|t| t.is_file())
                    && let Some(rel) = e.path().strip_prefix(root).ok().and_then(|p| p.to_str())
                {
                    let rel = rel.replace('\\', "/");
                    if parse::classify(&rel).is_some() {
                        found
                            .lock()
                            .expect("no panics while holding the lock")
                            .push(rel);
                    }
                }
                ignore::WalkState::Continue
            })
        });
        found
            .into_inner()
            .expect("no panics while holding the lock")
    }

    /// The files [`Store::item_files`] finds under `.nonlinear/` (config,
    /// issues, components, artifacts; not the `COMPONENT.md` files elsewhere),
    /// unsorted, with the [`Stamp`] of every directory listed, taken before
    /// it was read: while those stamps hold, so does the listing.
    ///
    /// `.nonlinear/` itself is among the stamped directories: an item
    /// directory created, removed or moved back into it changes its stamp,
    /// not the stamps of the item directories that were there before.
    pub fn item_dirs_listing(&self) -> (Vec<String>, Vec<(String, Stamp)>) {
        let mut first = Vec::new();
        if let Some(st) = self.stamp(NONLINEAR_DIR) {
            first.push((NONLINEAR_DIR.to_owned(), st));
        }
        let stamps = Mutex::new(first);
        let mut files = Vec::new();
        if self.path(parse::CONFIG_PATH).is_file() {
            files.push(parse::CONFIG_PATH.to_owned());
        }
        for dir in [
            parse::ISSUES_DIR,
            parse::COMPONENTS_DIR,
            parse::ARTIFACTS_DIR,
        ] {
            #[cfg(unix)]
            files.extend(fast::list(&self.root, dir, Some(&stamps)));
            #[cfg(not(unix))]
            {
                if let Some(st) = self.stamp(dir) {
                    stamps
                        .lock()
                        .expect("no panics while holding the lock")
                        .push((dir.to_owned(), st));
                }
                files.extend(list_tree(&self.root, dir));
            }
        }
        let mut stamps = stamps
            .into_inner()
            .expect("no panics while holding the lock");
        stamps.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        (files, stamps)
    }

    /// The [`Stamp`] of a workspace file or directory, `None` when it is
    /// missing or unreadable. Symbolic links are not followed.
    pub fn stamp(&self, rel: &str) -> Option<Stamp> {
        fs::symlink_metadata(self.path(rel))
            .ok()
            .map(|m| Stamp::of(&m))
    }

    /// [`Store::stamp`] of many files, in parallel. Sorted input is fastest:
    /// files in one directory are looked up relative to it.
    pub fn stamps<P: AsRef<str> + Sync>(&self, rels: &[P]) -> Vec<Option<Stamp>> {
        #[cfg(unix)]
        {
            fast::stamps(&self.root, rels)
        }
        #[cfg(not(unix))]
        {
            rels.par_iter().map(|r| self.stamp(r.as_ref())).collect()
        }
    }

    /// Reads the given workspace files in parallel (like
    /// [`Store::load_files`]: size-limited, symbolic links refused) and
    /// calls `f` with each one's bytes and the [`Stamp`] of what was read.
    pub fn read_each<R: Send>(
        &self,
        rels: &[String],
        f: impl Fn(&str, io::Result<(&[u8], Stamp)>) -> R + Sync,
    ) -> Vec<R> {
        on_io_pool(|| {
            #[cfg(unix)]
            let root = fast::Root::open(&self.root);
            rels.par_iter()
                .map(|rel| {
                    let stamp = std::cell::Cell::new(Stamp::default());
                    let open = || {
                        #[cfg(unix)]
                        let file = root.file(&self.root, rel)?;
                        #[cfg(not(unix))]
                        let file = File::open(self.path(rel))?;
                        // Before reading: a change after this shows as a
                        // newer stamp next time, never as a stale one.
                        stamp.set(Stamp::of(&file.metadata()?));
                        Ok(file)
                    };
                    with_opened(open, |bytes| f(rel, bytes.map(|b| (b, stamp.get()))))
                })
                .collect()
        })
    }

    /// Reads and parses the whole workspace, in parallel.
    pub fn load(&self) -> Workspace {
        self.load_with(Body::Keep).0
    }

    /// Reads and parses the whole workspace, in parallel; also returns how
    /// many workspace files there were.
    ///
    /// Runs on a pool of [`IO_THREADS`] threads, whatever the core count:
    /// with a cold page cache, reading 300k small files is waiting on the
    /// disk, and more reads in flight finish sooner (100k issues: 15.5 s
    /// with 2 threads, 5.2 s with 32); with a warm cache the extra threads
    /// cost nothing measurable. `RAYON_NUM_THREADS`, when set, wins.
    pub fn load_with(&self, body: Body) -> (Workspace, usize) {
        on_io_pool(|| {
            let files = self.files();
            (self.load_files(&files, body), files.len())
        })
    }

    /// [`Store::load`], also returning the [`Stamp`] of every file, taken
    /// before it was read (a file changed in between has a stamp that no
    /// longer holds).
    pub fn load_stamped(&self) -> (Workspace, Vec<(String, Stamp)>) {
        on_io_pool(|| {
            let files = self.files();
            let stamps = self.stamps(&files);
            let stamped = files
                .iter()
                .zip(stamps)
                .filter_map(|(f, s)| Some((f.clone(), s?)))
                .collect();
            (self.load_files(&files, Body::Keep), stamped)
        })
    }

    /// Reads and parses [`Store::item_files`]: the workspace without its
    /// comments, for graph queries.
    pub fn load_items(&self, body: Body) -> Workspace {
        on_io_pool(|| self.load_files(&self.item_files(), body))
    }

    /// Reads and parses the given workspace files, in parallel.
    pub fn load_files(&self, files: &[String], body: Body) -> Workspace {
        let (config, mut diags) = if files.iter().any(|f| f == parse::CONFIG_PATH) {
            self.config()
        } else {
            (None, Vec::new())
        };
        #[cfg(unix)]
        let root = fast::Root::open(&self.root);
        // An indexed parallel map writes results in place; `Option<Item>`
        // has the size of `Item`, so `filter_map` (unlike `flatten`) reuses
        // the allocation and the peak holds one copy of the items, not two.
        let (items, item_diags): (Vec<Option<Item>>, Vec<Vec<Diagnostic>>) = files
            .par_iter()
            .map(|rel| {
                let Some(FileKind::Item(kind)) = parse::classify(rel) else {
                    return (None, Vec::new());
                };
                // Opening relative to the workspace root saves the kernel
                // resolving the same leading directories 300k times.
                #[cfg(unix)]
                let open = || root.file(&self.root, rel);
                #[cfg(not(unix))]
                let open = || File::open(self.path(rel));
                with_opened(open, |bytes| match bytes {
                    Ok(bytes) => parse::parse_item_with(rel, kind, bytes, body),
                    Err(e) => (None, vec![read_error(rel, &e)]),
                })
            })
            .unzip();
        #[allow(clippy::filter_map_identity, reason = "`flatten` would copy")]
        let items: Vec<Item> = items.into_iter().filter_map(|i| i).collect();
        diags.extend(item_diags.into_iter().flatten());
        Workspace::new(config, items, diags)
    }

    /// Reads and parses `.nonlinear/config.yaml`.
    pub fn config(&self) -> (Option<crate::Config>, Vec<Diagnostic>) {
        match read_limited(&self.path(parse::CONFIG_PATH)) {
            Ok(bytes) => parse::parse_config(parse::CONFIG_PATH, &bytes),
            Err(e) => (None, vec![read_error(parse::CONFIG_PATH, &e)]),
        }
    }

    /// Finds the file of the item a short id names without reading the
    /// workspace: issues and artifacts are named `<short id>.md`, components
    /// under `.nonlinear/components/` `<KEY>.md`. `None` when the reference
    /// is a UUID or the item lives elsewhere (a `COMPONENT.md`); callers then
    /// load the workspace and resolve.
    pub fn locate(&self, reference: &str) -> Option<String> {
        parse::candidate_paths(reference)
            .into_iter()
            .find(|rel| self.path(rel).is_file())
    }

    /// Reads one workspace file.
    pub fn read(&self, rel: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.path(rel);
        read_limited(&path).map_err(io_err(&path))
    }

    /// Takes the workspace write lock, waiting for other writers.
    pub fn lock(&self) -> Result<WriteLock, StoreError> {
        let dir = self.path(".nonlinear/cache");
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let path = dir.join("write.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        file.lock().map_err(io_err(&path))?;
        Ok(WriteLock { _file: file })
    }

    /// Replaces `rel` with `new` if it still holds `expected` (`None`: the
    /// file must not exist yet). Atomic: readers see the old or the new file.
    pub fn write(
        &self,
        _lock: &WriteLock,
        rel: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> Result<(), StoreError> {
        let path = self.path(rel);
        match (expected, fs::read(&path)) {
            (None, Ok(_)) => return Err(StoreError::Exists(path)),
            (None, Err(e)) if e.kind() == io::ErrorKind::NotFound => {}
            (Some(want), Ok(have)) if want == have.as_slice() => {}
            (Some(_), Ok(_)) => return Err(StoreError::Conflict(path)),
            (Some(_), Err(e)) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StoreError::Conflict(path));
            }
            (_, Err(e)) => return Err(StoreError::Io { path, source: e }),
        }
        let dir = path.parent().expect("workspace files live in a directory");
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let tmp = dir.join(format!(
            ".{}.{}.tmp",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
            std::process::id()
        ));
        let result = (|| {
            let mut f = File::create(&tmp)?;
            f.write_all(new)?;
            f.sync_all()?;
            fs::rename(&tmp, &path)
        })();
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            return Err(StoreError::Io { path, source: e });
        }
        // The new file is in place; a failed directory sync only weakens
        // durability across a crash, and reporting it as a failed write
        // would send the user retrying into a conflict.
        let _ = sync_dir(dir);
        Ok(())
    }

    /// Moves `from` to `to` if `from` still holds `expected` and `to` does
    /// not exist.
    pub fn rename(
        &self,
        _lock: &WriteLock,
        from: &str,
        expected: &[u8],
        to: &str,
    ) -> Result<(), StoreError> {
        let (src, dst) = (self.path(from), self.path(to));
        if dst.exists() {
            return Err(StoreError::Exists(dst));
        }
        match fs::read(&src) {
            Ok(have) if have == expected => {}
            Ok(_) => return Err(StoreError::Conflict(src)),
            Err(e) => {
                return Err(StoreError::Io {
                    path: src,
                    source: e,
                });
            }
        }
        if let Some(dir) = dst.parent() {
            fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
        fs::rename(&src, &dst).map_err(io_err(&src))?;
        // As in `write`: the move happened whatever the directory sync says.
        for dir in [dst.parent(), src.parent()].into_iter().flatten() {
            let _ = sync_dir(dir);
        }
        Ok(())
    }

    /// Deletes `rel` if it still holds `expected`. Deleting the last comment
    /// of an item also removes its directory under `.nonlinear/comments/`.
    pub fn remove(&self, _lock: &WriteLock, rel: &str, expected: &[u8]) -> Result<(), StoreError> {
        let path = self.path(rel);
        match fs::read(&path) {
            Ok(have) if have == expected => {}
            Ok(_) => return Err(StoreError::Conflict(path)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StoreError::Conflict(path));
            }
            Err(e) => return Err(StoreError::Io { path, source: e }),
        }
        fs::remove_file(&path).map_err(io_err(&path))?;
        let dir = path.parent().expect("workspace files live in a directory");
        let thread = rel.rsplit_once('/').is_some_and(|(d, _)| {
            d.rsplit_once('/')
                .is_some_and(|(p, _)| p == parse::COMMENTS_DIR)
        });
        // Fails, harmlessly, while other comments are left.
        if thread && fs::remove_dir(dir).is_ok() {
            let _ = dir.parent().map(sync_dir);
        } else {
            // As in `write`: the file is gone whatever the sync says.
            let _ = sync_dir(dir);
        }
        Ok(())
    }
}

/// Held while writing; released on drop.
#[derive(Debug)]
pub struct WriteLock {
    _file: File,
}

/// Checks paths against the work tree.
impl PathProbe for Store {
    fn exists(&self, path: &str) -> bool {
        !path.split('/').any(|c| c == "..") && self.root.join(path).is_file()
    }
}

/// What a file or directory looked like when it was last seen: size,
/// modification and status-change times (nanoseconds) and inode. Writing a
/// file, replacing it by rename, or adding or removing a directory entry
/// changes its stamp; caches use it to skip files that did not change, the
/// way git's index does (and, like git, treat a stamp as proof only when
/// it is older than the cache that recorded it: see `indexer::cache`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Stamp {
    pub len: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    pub ino: u64,
}

/// File times come from a coarse clock (a few milliseconds): a stamp taken
/// at a moment proves nothing about a file written less than this before.
pub const RACY: std::time::Duration = std::time::Duration::from_millis(50);

impl Stamp {
    /// Whether the file was last written and changed before `ns`
    /// (nanoseconds since the epoch). Git's racy rule: an unchanged stamp
    /// proves an unchanged file only for a file written before the stamp
    /// was recorded, by more than the file clock's granularity — else a
    /// second write in the same tick could leave the same stamp.
    pub fn settled_before(&self, ns: i64) -> bool {
        self.mtime_ns < ns && self.ctime_ns < ns
    }

    /// The time before which a file must have been written for a stamp
    /// recorded now to prove anything: now, less [`RACY`].
    pub fn horizon_now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| {
                i64::try_from(d.saturating_sub(RACY).as_nanos()).unwrap_or(i64::MAX)
            })
    }

    pub fn of(m: &fs::Metadata) -> Stamp {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Stamp {
                len: m.len(),
                mtime_ns: m.mtime().saturating_mul(1_000_000_000) + m.mtime_nsec(),
                ctime_ns: m.ctime().saturating_mul(1_000_000_000) + m.ctime_nsec(),
                ino: m.ino(),
            }
        }
        #[cfg(not(unix))]
        {
            let ns = |t: io::Result<std::time::SystemTime>| {
                t.ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
            };
            Stamp {
                len: m.len(),
                mtime_ns: ns(m.modified()),
                ctime_ns: ns(m.created()),
                ino: 0,
            }
        }
    }
}

/// Runs `work` on a pool of [`IO_THREADS`] threads; see
/// [`Store::load_with`].
fn on_io_pool<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    if std::env::var_os("RAYON_NUM_THREADS").is_some() {
        return work();
    }
    match rayon::ThreadPoolBuilder::new()
        .num_threads(IO_THREADS)
        .thread_name(|i| format!("nonlinear-load-{i}"))
        .build()
    {
        Ok(pool) => pool.install(work),
        Err(_) => work(),
    }
}

/// Makes a rename in `dir` durable: without this a crash right after
/// `nonlinear set` returned could bring back the old file.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn read_error(rel: &str, e: &io::Error) -> Diagnostic {
    #[cfg(unix)]
    if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
        return Diagnostic::new(
            Code::Io,
            rel,
            Pos::START,
            "is a symbolic link; workspace files must be regular files (links are not followed)",
        );
    }
    Diagnostic::new(Code::Io, rel, Pos::START, format!("cannot read file: {e}"))
}

/// Reads a file, but never more than one byte past the size limit: the
/// parser reports an oversized file without us reading all of it. Costs
/// open, two reads and close; `fs::read` would add a `stat` for its size
/// hint, which is a fifth of the time on a 300k-file workspace.
fn read_limited(path: &Path) -> io::Result<Vec<u8>> {
    use io::Read;
    let file = File::open(path)?;
    let mut buf = Vec::with_capacity(8 * 1024);
    file.take(crate::text::MAX_FILE_SIZE as u64 + 1)
        .read_to_end(&mut buf)?;
    Ok(buf)
}

/// Calls `f` with the bytes of the file `open` opens, read into a buffer reused across
/// calls on this thread (limited like [`read_limited`]). The buffer is
/// zeroed once and read into directly: per file this costs open, a read
/// that fills what the file holds, the read that finds its end, and close —
/// no allocation, no `stat`, no growing.
fn with_opened<R>(
    open: impl FnOnce() -> io::Result<File>,
    f: impl FnOnce(io::Result<&[u8]>) -> R,
) -> R {
    use io::Read;
    const START: usize = 64 * 1024;
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUF.with(|cell| {
        let mut fresh = Vec::new();
        let mut shared = cell.try_borrow_mut();
        // Only a re-entrant call (none today) would find the buffer taken.
        let buf = match &mut shared {
            Ok(b) => &mut **b,
            Err(_) => &mut fresh,
        };
        if buf.len() < START {
            buf.resize(START, 0);
        }
        let read = (|| {
            let mut file = open()?;
            let mut filled = 0;
            loop {
                if filled == buf.len() {
                    if filled > crate::text::MAX_FILE_SIZE {
                        return Ok(filled);
                    }
                    buf.resize((buf.len() * 2).min(crate::text::MAX_FILE_SIZE + 1), 0);
                }
                match file.read(&mut buf[filled..]) {
                    Ok(0) => return Ok(filled),
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        })();
        let result = f(read.map(|n| &buf[..n]));
        if buf.len() > 4 * START {
            // Don't keep a megabyte per thread for one oversized file.
            buf.truncate(START);
            buf.shrink_to_fit();
        }
        result
    })
}

/// Workspace-relative paths of the files under `root/rel`, recursively,
/// skipping `.nonlinear/cache` and dot files; unsorted. (Unix uses
/// [`fast::list`].) Unreadable
/// directories are skipped like missing ones: the files in them are not
/// workspace files we could report on anyway.
#[cfg(not(unix))]
fn list_tree(root: &Path, rel: &str) -> Vec<String> {
    let Ok(entries) = fs::read_dir(root.join(rel)) else {
        return Vec::new();
    };
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for entry in entries.flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let path = format!("{rel}/{name}");
        match entry.file_type() {
            Ok(t) if t.is_dir() => {
                if path != ".nonlinear/cache" {
                    dirs.push(path);
                }
            }
            Ok(t) if t.is_file() => {
                if parse::classify(&path).is_some() {
                    files.push(path);
                }
            }
            _ => {}
        }
    }
    if dirs.len() > 1 {
        files.par_extend(dirs.par_iter().flat_map_iter(|d| list_tree(root, d)));
    } else {
        for d in &dirs {
            files.extend(list_tree(root, d));
        }
    }
    files
}

/// Directory walking and opening through file descriptors on Unix:
/// `openat` on a name instead of a path the kernel resolves from `/` for
/// each of 300k files, and no `fstat` per directory (which `opendir` does).
#[cfg(unix)]
mod fast {
    use std::fs::File;
    use std::io;
    use std::os::fd::{BorrowedFd, OwnedFd};
    use std::path::Path;

    use rayon::prelude::*;
    use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags};

    use std::sync::Mutex;

    use super::Stamp;
    use crate::parse;

    const DIR: OFlags = OFlags::RDONLY
        .union(OFlags::DIRECTORY)
        .union(OFlags::CLOEXEC);
    /// `NOFOLLOW`: a symlinked item file must not pull a file from outside
    /// the repository into the workspace (a later write would replace the
    /// link, not its target); opening one fails and `check` reports it.
    const FILE: OFlags = OFlags::RDONLY
        .union(OFlags::CLOEXEC)
        .union(OFlags::NOCTTY)
        .union(OFlags::NOFOLLOW);

    /// The workspace root, held open.
    pub(super) struct Root(Option<OwnedFd>);

    impl Root {
        pub(super) fn open(root: &Path) -> Root {
            Root(rustix::fs::open(root, DIR, Mode::empty()).ok())
        }

        /// Opens the workspace file `rel` for reading.
        pub(super) fn file(&self, root: &Path, rel: &str) -> io::Result<File> {
            match &self.0 {
                Some(fd) => Ok(File::from(rustix::fs::openat(
                    fd,
                    rel,
                    FILE,
                    Mode::empty(),
                )?)),
                None => File::open(root.join(rel)),
            }
        }
    }

    /// Workspace-relative paths of the workspace files under `root/rel`,
    /// recursively, skipping dot files and `.nonlinear/cache`; unsorted.
    /// Unreadable directories are skipped like missing ones: the files in
    /// them are not workspace files we could report on.
    /// With `stamps`, also records the [`Stamp`] of every directory listed.
    pub(super) fn list(root: &Path, rel: &str, stamps: Option<&Stamps>) -> Vec<String> {
        match rustix::fs::open(root.join(rel), DIR, Mode::empty()) {
            Ok(fd) => dir(fd, rel, stamps),
            Err(_) => Vec::new(),
        }
    }

    pub(super) type Stamps = Mutex<Vec<(String, Stamp)>>;

    #[allow(
        clippy::useless_conversion,
        reason = "time_t is 32 bits on some targets"
    )]
    fn stamp(st: &rustix::fs::Stat) -> Stamp {
        Stamp {
            len: u64::try_from(st.st_size).unwrap_or(0),
            mtime_ns: i64::from(st.st_mtime).saturating_mul(1_000_000_000)
                + i64::try_from(st.st_mtime_nsec).unwrap_or(0),
            ctime_ns: i64::from(st.st_ctime).saturating_mul(1_000_000_000)
                + i64::try_from(st.st_ctime_nsec).unwrap_or(0),
            ino: st.st_ino,
        }
    }

    /// `Stamp`s of the files `rels` (workspace-relative), in parallel; each
    /// looked up relative to its directory, opened once per run of files
    /// that share it.
    pub(super) fn stamps<P: AsRef<str> + Sync>(root: &Path, rels: &[P]) -> Vec<Option<Stamp>> {
        let Ok(root_fd) = rustix::fs::open(root, DIR, Mode::empty()) else {
            return vec![None; rels.len()];
        };
        rels.par_iter()
            .with_min_len(1024)
            .map_init(
                || (String::new(), None::<OwnedFd>),
                |(open_dir, fd), rel| {
                    let rel = rel.as_ref();
                    let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel));
                    if fd.is_none() || open_dir != parent {
                        *fd = if parent.is_empty() {
                            rustix::fs::openat(&root_fd, ".", DIR, Mode::empty()).ok()
                        } else {
                            rustix::fs::openat(&root_fd, parent, DIR, Mode::empty()).ok()
                        };
                        parent.clone_into(open_dir);
                    }
                    let at = fd.as_ref()?;
                    rustix::fs::statat(at, name, AtFlags::SYMLINK_NOFOLLOW)
                        .ok()
                        .map(|st| stamp(&st))
                },
            )
            .collect()
    }

    fn dir(fd: OwnedFd, rel: &str, stamps: Option<&Stamps>) -> Vec<String> {
        if let Some(stamps) = stamps
            && let Ok(st) = rustix::fs::fstat(&fd)
        {
            stamps
                .lock()
                .expect("no panics while holding the lock")
                .push((rel.to_owned(), stamp(&st)));
        }
        let Ok(mut entries) = Dir::new(fd) else {
            return Vec::new();
        };
        let mut files = Vec::new();
        let mut dirs = Vec::new();
        let mut unknown = Vec::new();
        for entry in entries.by_ref() {
            let Ok(entry) = entry else {
                break;
            };
            let name = entry.file_name().to_bytes();
            if name.starts_with(b".") {
                continue;
            }
            let Ok(name) = std::str::from_utf8(name) else {
                continue;
            };
            match entry.file_type() {
                FileType::Directory => dirs.push(name.to_owned()),
                // Symlinks are listed so that `check` names them, but never
                // followed (see `FILE`).
                FileType::RegularFile | FileType::Symlink => {
                    let path = format!("{rel}/{name}");
                    if parse::classify(&path).is_some() {
                        files.push(path);
                    }
                }
                // Some file systems do not fill in the type.
                FileType::Unknown => unknown.push(name.to_owned()),
                _ => {}
            }
        }
        let Ok(at) = entries.fd() else {
            return files;
        };
        for name in unknown {
            match rustix::fs::statat(at, name.as_str(), AtFlags::SYMLINK_NOFOLLOW)
                .map(|st| FileType::from_raw_mode(st.st_mode))
            {
                Ok(FileType::Directory) => dirs.push(name),
                Ok(FileType::RegularFile | FileType::Symlink) => {
                    let path = format!("{rel}/{name}");
                    if parse::classify(&path).is_some() {
                        files.push(path);
                    }
                }
                _ => {}
            }
        }
        let sub = |name: &String| -> Vec<String> {
            let path = format!("{rel}/{name}");
            if path == ".nonlinear/cache" {
                return Vec::new();
            }
            subdir(at, name, &path, stamps)
        };
        if dirs.len() > 1 {
            files.par_extend(dirs.par_iter().flat_map_iter(sub));
        } else {
            for d in &dirs {
                files.extend(sub(d));
            }
        }
        files
    }

    fn subdir(at: BorrowedFd<'_>, name: &str, path: &str, stamps: Option<&Stamps>) -> Vec<String> {
        match rustix::fs::openat(at, name, DIR, Mode::empty()) {
            Ok(fd) => dir(fd, path, stamps),
            Err(_) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system's temporary directory, removed
    /// on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let dir = std::env::temp_dir().join(format!(
                "nonlinear-store-{name}-{}-{nanos}",
                std::process::id()
            ));
            fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn remove_is_compare_and_swap_and_tidies_comment_threads() {
        let tmp = TempDir::new("remove");
        let store = Store::at(&tmp.0);
        let lock = store.lock().unwrap();
        let thread = ".nonlinear/comments/0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a01";
        let (c1, c2) = (format!("{thread}/c1.md"), format!("{thread}/c2.md"));
        let issue = ".nonlinear/issues/NL-aaaa.md";
        for rel in [c1.as_str(), c2.as_str(), issue] {
            store.write(&lock, rel, None, b"one").unwrap();
        }

        // Changed since it was read: refused, the file stays.
        let err = store.remove(&lock, issue, b"two").unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
        assert!(store.path(issue).is_file());
        // Removed; its directory (not a thread) stays even when empty.
        store.remove(&lock, issue, b"one").unwrap();
        assert!(!store.path(issue).exists());
        assert!(store.path(".nonlinear/issues").is_dir());
        // Already gone: a conflict too, never a silent success.
        let err = store.remove(&lock, issue, b"one").unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");

        // A thread's directory goes with its last comment.
        store.remove(&lock, &c1, b"one").unwrap();
        assert!(store.path(thread).is_dir());
        store.remove(&lock, &c2, b"one").unwrap();
        assert!(!store.path(thread).exists());
        assert!(store.path(".nonlinear/comments").is_dir());
    }
}
