//! Workspaces at git revisions, read from the object database without a
//! checkout (gix): [`workspace_at`], the semantic diff of two revisions
//! ([`diff_revs`]) and the field-level history of one item ([`log`]).
//!
//! This module and [`Repo`] are the only I/O in this crate, and it only
//! reads: objects, refs and the repository config.
//!
//! **The workspace at a revision.** The workspace root is found the way
//! [`schema::store::Store::discover`] finds it on disk, in the revision's
//! tree: the nearest of the starting directory (relative to the
//! repository's top) and its parents that holds `.nonlinear/config.yaml`.
//! Its tree is walked; every file [`schema::parse::classify`] accepts is
//! read and parsed; [`Workspace::new`] builds the rest. Artifact files are
//! checked against the same tree ([`TreeProbe`]).
//!
//! **Diff, fast.** [`Repo::diff`] diffs the two workspace trees (gix's tree
//! diff skips every subtree whose id did not change) and parses the files
//! that differ on both sides. Problems introduced and fixed need `check` on
//! both sides, and `check`'s rules span files, so the unchanged items that
//! any rule about a changed file can look at are parsed once and shared by
//! both sides: every component, issue and artifact (bodies dropped), and
//! the comments of every item whose comments could read differently (the
//! changed comments' threads, and the comments on items created, deleted,
//! moved or re-identified). Comments elsewhere, two-thirds of a large
//! workspace, are not read: a rule about them looks only at their own
//! thread and the item they are on, which are unchanged. A changed
//! `config.yaml` changes every item's checks, so then both sides are read
//! whole ([`Repo::diff_full`] always does; tests compare the two).

use std::cell::OnceCell;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use gix::ObjectId;
use gix::bstr::ByteSlice;
use rayon::prelude::*;

use crate::cache::by_blob::ByBlob;
use schema::parse::{self, Body, FileKind};
use schema::{Config, Diagnostic, Item, Kind, PathProbe, Workspace};

use crate::change::{self, Change, Diff, Names};

/// Directories never searched for `COMPONENT.md` files, as on disk
/// (`schema::store`): nobody commits workspace files there, and skipping
/// them keeps the walk of a large repository short.
const SKIP_DIRS: &[&str] = &[".git", "target", "node_modules", ".venv", "__pycache__"];

/// What went wrong reading a repository. User problems inside workspace
/// files are diagnostics, never errors.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{}: not in a git repository ({message})", path.display())]
    Open { path: PathBuf, message: String },
    #[error("`{rev}` is not a commit in {}: {message}", repo.display())]
    Rev {
        rev: String,
        repo: PathBuf,
        message: String,
    },
    #[error(
        "no Non-Linear workspace (.nonlinear/config.yaml) at {rev} in /{dir} or any parent directory"
    )]
    NoWorkspace { rev: String, dir: String },
    #[error("{rev}: cannot read {path}: {message}")]
    Read {
        rev: String,
        path: String,
        message: String,
    },
    #[error("no item {reference} at {rev}")]
    NoItem { reference: String, rev: String },
}

/// A git repository, seen from a directory in its work tree.
#[derive(Debug, Clone)]
pub struct Repo {
    repo: gix::ThreadSafeRepository,
    /// The directory we started in, relative to the repository's top: ``
    /// or `a/b/`.
    start: String,
    dir: PathBuf,
}

/// A revision, resolved to a commit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rev {
    /// As it was given (`main`, `HEAD~2`, an abbreviated id).
    pub spec: String,
    /// The commit id, in full.
    pub commit: String,
    /// The commit id, abbreviated as git would.
    pub short: String,
    #[serde(skip)]
    id: ObjectId,
    #[serde(skip)]
    tree: ObjectId,
}

/// The workspace at one revision.
#[derive(Debug)]
pub struct At {
    pub rev: Rev,
    /// The workspace root relative to the repository's top: `` or `a/b/`.
    pub prefix: String,
    pub workspace: Workspace,
    /// Artifact files are checked against the revision's tree.
    pub probe: TreeProbe,
    /// How many workspace files there were.
    pub files: usize,
    /// The tree of the workspace root.
    root: Option<ObjectId>,
}

/// The semantic diff of two revisions.
#[derive(Debug)]
pub struct RevDiff {
    pub from: Rev,
    pub to: Rev,
    /// The workspace root relative to the repository's top.
    pub prefix: String,
    /// Workspace files that differ.
    pub files: usize,
    /// Whether only what the changed files can affect was read (false: a
    /// changed `config.yaml`, a side without the workspace, or
    /// [`Repo::diff_full`]).
    pub incremental: bool,
    pub diff: Diff,
    /// The two sides as read. In an incremental diff they hold every
    /// component, issue and artifact (bodies only for changed files) but
    /// only the comment threads the change touched; use
    /// [`Repo::workspace_at`] for a whole workspace. (Handed back rather
    /// than dropped: a command about to exit need not free them.)
    pub old: Workspace,
    pub new: Workspace,
}

/// One commit in the history of an item.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogEntry {
    /// Abbreviated commit id.
    pub commit: String,
    /// Full commit id.
    pub id: String,
    pub author: String,
    pub email: String,
    /// Author date, ISO 8601 with the author's offset.
    pub date: String,
    /// Seconds since the epoch of the author date.
    pub time: i64,
    /// The first line of the commit message.
    pub summary: String,
    /// The item's file after this commit (workspace-relative).
    pub path: String,
    pub changes: Vec<Change>,
}

/// A commit of a history, without its changes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CommitInfo {
    /// Full commit id.
    pub id: String,
    /// Its first parent, none for a root commit.
    pub parent: Option<String>,
    pub author: String,
    pub email: String,
    /// Author date, ISO 8601 with the author's offset.
    pub date: String,
    /// Seconds since the epoch of the author date.
    pub time: i64,
    /// The first line of the commit message.
    pub summary: String,
}

/// The [`CommitInfo`] of a commit met on a walk.
fn commit_info(
    info: &gix::revision::walk::Info<'_>,
    commit: &gix::Commit<'_>,
) -> gix::Result<CommitInfo> {
    let sig = commit.author()?;
    let time = sig.time().unwrap_or_default();
    Ok(CommitInfo {
        id: info.id.to_string(),
        parent: info.parent_ids().next().map(|p| p.to_string()),
        author: sig.name.trim().to_str_lossy().into_owned(),
        email: sig.email.trim().to_str_lossy().into_owned(),
        date: time.format_or_unix(gix::date::time::format::ISO8601_STRICT),
        time: time.seconds,
        summary: commit
            .message()
            .map(|m| m.summary().to_str_lossy().into_owned())
            .unwrap_or_default(),
    })
}

/// The history of one item, newest first.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ItemLog {
    /// The item's key at the starting revision.
    pub key: String,
    pub title: String,
    pub path: String,
    pub entries: Vec<LogEntry>,
}

/// Answers [`PathProbe`] from a tree: is there a file at this
/// workspace-relative path?
#[derive(Debug, Clone, Default)]
pub struct TreeProbe {
    /// Every file of the tree, shared with the probe of a tree that
    /// differs by `added` and `removed`.
    paths: std::sync::Arc<HashSet<String>>,
    added: HashSet<String>,
    removed: HashSet<String>,
}

impl TreeProbe {
    fn new(paths: HashSet<String>) -> TreeProbe {
        TreeProbe {
            paths: std::sync::Arc::new(paths),
            ..TreeProbe::default()
        }
    }

    /// The probe of a tree with `added` files more and `removed` fewer.
    fn with_changes(&self, added: Vec<String>, removed: Vec<String>) -> TreeProbe {
        TreeProbe {
            paths: self.paths.clone(),
            added: added.into_iter().collect(),
            removed: removed.into_iter().collect(),
        }
    }
}

impl PathProbe for TreeProbe {
    fn exists(&self, path: &str) -> bool {
        // As on disk, `a//b` and `a/./b` name `a/b`; `..` never exists.
        let mut parts = Vec::new();
        for c in path.split('/') {
            match c {
                "" | "." => {}
                ".." => return false,
                c => parts.push(c),
            }
        }
        let path = parts.join("/");
        self.added.contains(&path) || (self.paths.contains(&path) && !self.removed.contains(&path))
    }
}

/// The workspace at `rev`, for the repository and directory `dir` is in.
pub fn workspace_at(dir: &Path, rev: &str) -> Result<Workspace, GitError> {
    Ok(Repo::open(dir)?.workspace_at(rev)?.workspace)
}

/// The semantic diff of the workspace from `a` to `b`; see [`Repo::diff`].
pub fn diff_revs(dir: &Path, a: &str, b: &str) -> Result<RevDiff, GitError> {
    Repo::open(dir)?.diff(a, b)
}

/// The history of one item from `rev` back; see [`Repo::log`].
pub fn log(dir: &Path, rev: &str, reference: &str) -> Result<ItemLog, GitError> {
    Repo::open(dir)?.log(rev, reference)
}

/// Workspace files: workspace-relative path and blob.
type Files = Vec<(String, ObjectId)>;

/// A file that differs: its path and its blob on each side (absent: no
/// such file there).
type Changed = (String, Option<ObjectId>, Option<ObjectId>);

/// Parsed files.
#[derive(Debug, Default, Clone)]
struct Parsed {
    config: Option<Config>,
    items: Vec<Item>,
    diags: Vec<Diagnostic>,
}

impl Parsed {
    fn workspace(self) -> Workspace {
        Workspace::new(self.config, self.items, self.diags)
    }
}

/// A tree walk's result.
#[derive(Debug, Default)]
struct Listing {
    files: Files,
    /// Every file (blob or symlink) path.
    paths: HashSet<String>,
}

impl Repo {
    /// The repository `dir` is in.
    pub fn open(dir: &Path) -> Result<Repo, GitError> {
        let err = |message: String| GitError::Open {
            path: dir.to_owned(),
            message,
        };
        let repo = gix::discover(dir).map_err(|e| err(e.to_string()))?;
        let start = match repo.workdir() {
            Some(top) => {
                let top = std::fs::canonicalize(top).map_err(|e| err(e.to_string()))?;
                let here = std::fs::canonicalize(dir).map_err(|e| err(e.to_string()))?;
                match here.strip_prefix(&top) {
                    Ok(rel) => rel
                        .components()
                        .map(|c| format!("{}/", c.as_os_str().to_string_lossy()))
                        .collect(),
                    Err(_) => String::new(),
                }
            }
            None => String::new(),
        };
        Ok(Repo {
            repo: repo.into_sync(),
            start,
            dir: dir.to_owned(),
        })
    }

    /// A handle for this thread.
    fn local(&self) -> gix::Repository {
        let mut r = self.repo.to_thread_local();
        // Trees are looked up again and again along a history.
        r.object_cache_size_if_unset(16 << 20);
        r
    }

    /// Resolves `spec` to a commit.
    pub fn rev(&self, spec: &str) -> Result<Rev, GitError> {
        let repo = self.local();
        let err = |message: String| GitError::Rev {
            rev: spec.to_owned(),
            repo: self.dir.clone(),
            message,
        };
        let id = repo
            .rev_parse_single(spec)
            .map_err(|e| err(e.to_string()))?;
        let commit = id
            .object()
            .and_then(|o| o.peel_to_commit())
            .map_err(|e| err(e.to_string()))?;
        let tree = commit.tree_id().map_err(|e| err(e.to_string()))?.detach();
        Ok(Rev {
            spec: spec.to_owned(),
            commit: commit.id.to_string(),
            short: commit.id().shorten_or_id().to_string(),
            id: commit.id,
            tree,
        })
    }

    /// The best common ancestor of `a` and `b` (for `A...B`), as a full
    /// commit id.
    pub fn merge_base(&self, a: &str, b: &str) -> Result<String, GitError> {
        let (ra, rb) = (self.rev(a)?, self.rev(b)?);
        let repo = self.local();
        let err = |message: String| GitError::Rev {
            rev: format!("{a}...{b}"),
            repo: self.dir.clone(),
            message,
        };
        match repo.merge_base(ra.id, rb.id) {
            Ok(Some(id)) => Ok(id.to_string()),
            Ok(None) => Err(err("no common ancestor".into())),
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// Maps a gix error reading `path` at `rev`.
    fn read_err(rev: &Rev, path: &str) -> impl Fn(gix::Error) -> GitError {
        let (rev, path) = (rev.spec.clone(), path.to_owned());
        move |e| GitError::Read {
            rev: rev.clone(),
            path: path.clone(),
            message: e.to_string(),
        }
    }

    /// The workspace root at `rev`: the nearest of the starting directory
    /// and its parents whose tree holds `.nonlinear/config.yaml`.
    fn root_of(&self, repo: &gix::Repository, rev: &Rev) -> Result<Option<String>, GitError> {
        let mut candidates = vec![self.start.clone()];
        let mut at = self.start.trim_end_matches('/');
        while !at.is_empty() {
            at = at.rsplit_once('/').map_or("", |(parent, _)| parent);
            candidates.push(if at.is_empty() {
                String::new()
            } else {
                format!("{at}/")
            });
        }
        for c in candidates {
            let path = format!("{c}{}", parse::CONFIG_PATH);
            if let Some((_, mode)) =
                lookup(repo, rev.tree, &path).map_err(Self::read_err(rev, &path))?
                && mode.is_blob()
            {
                return Ok(Some(c));
            }
        }
        Ok(None)
    }

    /// The tree of directory `prefix` at `rev`, if there is one.
    fn subtree(
        &self,
        repo: &gix::Repository,
        rev: &Rev,
        prefix: &str,
    ) -> Result<Option<ObjectId>, GitError> {
        let dir = prefix.trim_end_matches('/');
        if dir.is_empty() {
            return Ok(Some(rev.tree));
        }
        Ok(lookup(repo, rev.tree, dir)
            .map_err(Self::read_err(rev, dir))?
            .filter(|(_, mode)| mode.is_tree())
            .map(|(id, _)| id))
    }

    /// The starting directory relative to the repository's top (`` or
    /// `a/b/`).
    pub fn start(&self) -> &str {
        &self.start
    }

    /// The whole workspace at `rev`, its root found from the starting
    /// directory.
    pub fn workspace_at(&self, spec: &str) -> Result<At, GitError> {
        let repo = self.local();
        let rev = self.rev(spec)?;
        let Some(prefix) = self.root_of(&repo, &rev)? else {
            return Err(GitError::NoWorkspace {
                rev: rev.spec,
                dir: self.start.clone(),
            });
        };
        self.load_at(&repo, rev, prefix)
    }

    /// The whole workspace at `rev` rooted exactly at `prefix` (relative to
    /// the repository's top, `` or `a/b/`); `None` when that directory has
    /// no `.nonlinear/` there.
    pub fn workspace_in(&self, spec: &str, prefix: &str) -> Result<Option<At>, GitError> {
        let repo = self.local();
        let rev = self.rev(spec)?;
        let root = self.subtree(&repo, &rev, prefix)?;
        let Some(root) = root else { return Ok(None) };
        let dir = format!("{prefix}.nonlinear");
        if !lookup(&repo, root, ".nonlinear")
            .map_err(Self::read_err(&rev, &dir))?
            .is_some_and(|(_, m)| m.is_tree())
        {
            return Ok(None);
        }
        self.load_at(&repo, rev, prefix.to_owned()).map(Some)
    }

    fn load_at(&self, repo: &gix::Repository, rev: Rev, prefix: String) -> Result<At, GitError> {
        let root = self.subtree(repo, &rev, &prefix)?;
        let listing = match root {
            Some(t) => self.list(repo, &rev, t, false)?,
            None => Listing::default(),
        };
        let parsed = self.parse(&rev, &listing.files, &|_| Body::Keep)?;
        Ok(At {
            files: listing.files.len(),
            workspace: parsed.workspace(),
            probe: TreeProbe::new(listing.paths),
            prefix,
            rev,
            root,
        })
    }

    /// The bytes of workspace file `rel` at revision `rev`, in the
    /// workspace whose root is `prefix` (as in [`RevDiff::prefix`]); `None`
    /// when there is no such file.
    pub fn read_in(&self, rev: &Rev, prefix: &str, rel: &str) -> Result<Option<Vec<u8>>, GitError> {
        let repo = self.local();
        let Some(root) = self.subtree(&repo, rev, prefix)? else {
            return Ok(None);
        };
        let Some((id, mode)) = lookup(&repo, root, rel).map_err(Self::read_err(rev, rel))? else {
            return Ok(None);
        };
        if !mode.is_blob() {
            return Ok(None);
        }
        let object = repo.find_object(id).map_err(Self::read_err(rev, rel))?;
        Ok(Some(object.detach().data))
    }

    /// The bytes of workspace file `rel` at `at`'s revision.
    pub fn read(&self, at: &At, rel: &str) -> Option<Vec<u8>> {
        let repo = self.local();
        let (id, mode) = lookup(&repo, at.root?, rel).ok()??;
        if !mode.is_blob() {
            return None;
        }
        Some(repo.find_object(id).ok()?.detach().data)
    }

    /// Walks the tree `root` (the workspace root): every workspace file and
    /// every path. `skip_comments` leaves `.nonlinear/comments/` out.
    fn list(
        &self,
        repo: &gix::Repository,
        rev: &Rev,
        root: ObjectId,
        skip_comments: bool,
    ) -> Result<Listing, GitError> {
        let mut out = Listing::default();
        let mut comment_dirs = Vec::new();
        walk(repo, root, String::new(), &mut out, &mut |path, id| {
            if path == ".nonlinear/comments/" {
                if !skip_comments {
                    comment_dirs.push(id);
                }
                false
            } else {
                true
            }
        })
        .map_err(Self::read_err(rev, "the tree"))?;
        // One directory per commented item: many small trees, read in
        // parallel.
        if let Some(dir) = comment_dirs.pop() {
            let subdirs =
                children(repo, dir).map_err(Self::read_err(rev, ".nonlinear/comments"))?;
            let parts: Vec<Listing> = subdirs
                .into_par_iter()
                .map_init(
                    || self.local(),
                    |repo, (name, id, mode)| {
                        let mut l = Listing::default();
                        let path = format!("{}/{name}", parse::COMMENTS_DIR);
                        if mode.is_tree() {
                            walk(repo, id, format!("{path}/"), &mut l, &mut |_, _| true)?;
                        } else if mode.is_blob_or_symlink() {
                            l.paths.insert(path);
                        }
                        Ok(l)
                    },
                )
                .collect::<Result<_, gix::Error>>()
                .map_err(Self::read_err(rev, ".nonlinear/comments"))?;
            for p in parts {
                out.files.extend(p.files);
                out.paths.extend(p.paths);
            }
        }
        out.files.sort_unstable();
        Ok(out)
    }

    /// Reads and parses `files` in parallel; `body` says whose bodies to
    /// keep.
    fn parse(
        &self,
        rev: &Rev,
        files: &[(String, ObjectId)],
        body: &(dyn Fn(&str) -> Body + Sync),
    ) -> Result<Parsed, GitError> {
        type One = (Option<Config>, Option<Item>, Vec<Diagnostic>);
        let one =
            |repo: &gix::Repository, (path, id): &(String, ObjectId)| -> Result<One, GitError> {
                let object = repo.find_object(*id).map_err(Self::read_err(rev, path))?;
                // Never more than one byte past the limit, as on disk: the
                // parser reports the file as too large.
                let bytes = &object.data[..object.data.len().min(schema::text::MAX_FILE_SIZE + 1)];
                Ok(match parse::classify(path) {
                    Some(FileKind::Config) => {
                        let (c, d) = parse::parse_config(path, bytes);
                        (c, None, d)
                    }
                    Some(FileKind::Item(kind)) => {
                        let (i, d) = parse::parse_item_with(path, kind, bytes, body(path));
                        (None, i, d)
                    }
                    None => (None, None, Vec::new()),
                })
            };
        // Files read whole without bodies can come from the blob cache.
        let cache = files
            .iter()
            .all(|(p, _)| body(p) == Body::Drop)
            .then(|| ByBlob::in_git_dir(self.repo.to_thread_local().common_dir()));
        let mut cached = match &cache {
            Some(c) => {
                let keys: Vec<(&str, &[u8])> = files
                    .iter()
                    .map(|(p, id)| (p.as_str(), id.as_bytes()))
                    .collect();
                c.get(&keys)
            }
            None => Vec::new(),
        };
        let missing: Vec<usize> = (0..files.len())
            .filter(|&i| cached.get(i).is_none_or(Option::is_none))
            .collect();
        // Chunks, so that each thread sets up a repository handle (and its
        // pack cache) a few times, not once per file.
        let chunk = (missing.len() / (4 * rayon::current_num_threads())).clamp(64, 4096);
        let parsed: Vec<Vec<One>> = missing
            .par_chunks(chunk)
            .map(|chunk| {
                let repo = self.repo.to_thread_local();
                chunk
                    .iter()
                    .map(|&i| one(&repo, &files[i]))
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<_, _>>()?;
        let mut parsed = parsed.into_iter().flatten();
        let mut out = Parsed::default();
        out.items.reserve(files.len());
        // Which items came out clean (no problem to report), for the cache.
        let mut clean = Vec::with_capacity(files.len());
        let mut fresh = false;
        let mut missing = missing.into_iter().peekable();
        for i in 0..files.len() {
            if missing.peek() == Some(&i) {
                missing.next();
                let Some((c, item, d)) = parsed.next() else {
                    break;
                };
                if c.is_some() {
                    out.config = c;
                }
                if let Some(item) = item {
                    if d.is_empty() {
                        clean.push(i);
                        fresh = true;
                    }
                    out.items.push(item);
                }
                out.diags.extend(d);
            } else if let Some(item) = cached.get_mut(i).and_then(Option::take) {
                clean.push(i);
                out.items.push(item);
            }
        }
        if let Some(cache) = cache
            && fresh
        {
            // `clean` and the items were pushed in the same order, but
            // items with problems sit between them: match by path.
            let by_path: HashMap<&str, &Item> =
                out.items.iter().map(|i| (i.path.as_str(), i)).collect();
            let entries = clean
                .iter()
                .filter_map(|&i| {
                    let (path, id) = &files[i];
                    Some((path.as_str(), id.as_bytes(), *by_path.get(path.as_str())?))
                })
                .collect();
            cache.put(entries);
        }
        Ok(out)
    }

    /// The semantic diff of the workspace from revision `a` to `b`: every
    /// change of the items whose files differ, and the problems that
    /// introduced and fixed. Parses only what the changed files can affect
    /// (see the module documentation).
    pub fn diff(&self, a: &str, b: &str) -> Result<RevDiff, GitError> {
        self.diff_with(a, b, false)
    }

    /// [`Repo::diff`], reading both sides whole.
    pub fn diff_full(&self, a: &str, b: &str) -> Result<RevDiff, GitError> {
        self.diff_with(a, b, true)
    }

    fn diff_with(&self, a: &str, b: &str, full: bool) -> Result<RevDiff, GitError> {
        let repo = self.local();
        let (ra, rb) = (self.rev(a)?, self.rev(b)?);
        let prefix = match self.root_of(&repo, &rb)? {
            Some(p) => p,
            None => self
                .root_of(&repo, &ra)?
                .ok_or_else(|| GitError::NoWorkspace {
                    rev: format!("{a} or {b}"),
                    dir: self.start.clone(),
                })?,
        };
        // A side without `.nonlinear/` has no workspace: no items, and no
        // problems either (not even a missing config).
        let present = |rev: &Rev| -> Result<Option<ObjectId>, GitError> {
            let root = self.subtree(&repo, rev, &prefix)?;
            Ok(match root {
                Some(t) => lookup(&repo, t, ".nonlinear")
                    .map_err(Self::read_err(rev, ".nonlinear"))?
                    .filter(|(_, m)| m.is_tree())
                    .map(|_| t),
                None => None,
            })
        };
        let (ta, tb) = (present(&ra)?, present(&rb)?);

        // The files that differ, and every path added or removed (for
        // artifact files).
        let mut changed: Vec<Changed> = Vec::new();
        let (mut added, mut removed) = (Vec::new(), Vec::new());
        if let (Some(ta), Some(tb)) = (ta, tb) {
            let (old, new) = (
                repo.find_tree(ta)
                    .map_err(Self::read_err(&ra, "the tree"))?,
                repo.find_tree(tb)
                    .map_err(Self::read_err(&rb, "the tree"))?,
            );
            let mut rec = gix::diff::tree::Recorder::default();
            gix::diff::tree(
                gix::objs::TreeRefIter::from_bytes(&old.data, ta.kind()),
                gix::objs::TreeRefIter::from_bytes(&new.data, tb.kind()),
                gix::diff::tree::State::default(),
                &repo.objects,
                &mut rec,
            )
            .map_err(|e| GitError::Read {
                rev: format!("{a}..{b}"),
                path: "the trees".into(),
                message: e.to_string(),
            })?;
            use gix::diff::tree::recorder::Change as C;
            for c in rec.records {
                let (path, old, new) = match c {
                    C::Addition {
                        entry_mode,
                        oid,
                        path,
                        ..
                    } => (path, None, Some((oid, entry_mode))),
                    C::Deletion {
                        entry_mode,
                        oid,
                        path,
                        ..
                    } => (path, Some((oid, entry_mode)), None),
                    C::Modification {
                        previous_entry_mode,
                        previous_oid,
                        entry_mode,
                        oid,
                        path,
                    } => (
                        path,
                        Some((previous_oid, previous_entry_mode)),
                        Some((oid, entry_mode)),
                    ),
                };
                let Ok(path) = path.to_str() else { continue };
                let file = |side: Option<(ObjectId, gix::objs::tree::EntryMode)>| {
                    side.filter(|(_, m)| m.is_blob_or_symlink())
                };
                let (old, new) = (file(old), file(new));
                match (old, new) {
                    (Some(_), None) => removed.push(path.to_owned()),
                    (None, Some(_)) => added.push(path.to_owned()),
                    _ => {}
                }
                let blob = |side: Option<(ObjectId, gix::objs::tree::EntryMode)>| {
                    side.filter(|(_, m)| m.is_blob()).map(|(id, _)| id)
                };
                let (old, new) = (blob(old), blob(new));
                if (old.is_some() || new.is_some()) && parse::classify(path).is_some() {
                    changed.push((path.to_owned(), old, new));
                }
            }
        }
        let config_changed = changed.iter().any(|(p, ..)| p == parse::CONFIG_PATH);
        let incremental = !full && ta.is_some() && tb.is_some() && !config_changed;
        if !incremental {
            return self.diff_whole(ra, rb, prefix, (ta, tb), changed);
        }
        let tb = tb.expect("incremental");

        // Both sides of every changed file, bodies kept.
        let changed_paths: HashSet<&str> = changed.iter().map(|(p, ..)| p.as_str()).collect();
        let side = |pick: fn(&Changed) -> Option<ObjectId>| {
            changed
                .iter()
                .filter_map(|c| Some((c.0.clone(), pick(c)?)))
                .collect::<Files>()
        };
        let (sa, sb) = (side(|c| c.1), side(|c| c.2));
        let (sa, sb) = rayon::join(
            || self.parse(&ra, &sa, &|_| Body::Keep),
            || self.parse(&rb, &sb, &|_| Body::Keep),
        );
        let (sa, sb) = (sa?, sb?);

        // Comment threads whose checks can differ: those of changed
        // comments, and those on items that are new, gone, moved or have a
        // new id or short id.
        let mut threads: BTreeSet<String> = BTreeSet::new();
        for i in sa.items.iter().chain(&sb.items) {
            if i.kind() == Kind::Comment
                && let Some((dir, _)) = i.path.rsplit_once('/')
            {
                threads.insert(format!("{dir}/"));
            }
        }
        let identity = |i: &Item| {
            (
                i.id.as_ref().map(|x| x.value),
                i.short_id.as_ref().map(|s| s.value.clone()),
            )
        };
        let by_path = |items: &[Item]| -> HashMap<String, (Option<uuid::Uuid>, Option<String>)> {
            items
                .iter()
                .filter(|i| i.kind() != Kind::Comment)
                .map(|i| (i.path.clone(), identity(i)))
                .collect()
        };
        let (old_ids, new_ids) = (by_path(&sa.items), by_path(&sb.items));
        for (path, id) in old_ids.iter().chain(&new_ids) {
            let (o, n) = (old_ids.get(path), new_ids.get(path));
            if o != n
                && let Some(uuid) = id.0
            {
                threads.insert(format!("{}/{uuid}/", parse::COMMENTS_DIR));
            }
        }

        // The unchanged files both sides share: everything but comments,
        // plus those threads.
        let mut listing = self.list(&repo, &rb, tb, true)?;
        for dir in &threads {
            let path = dir.trim_end_matches('/');
            if let Some((id, mode)) = lookup(&repo, tb, path).map_err(Self::read_err(&rb, path))?
                && mode.is_tree()
            {
                walk(&repo, id, dir.clone(), &mut listing, &mut |_, _| true)
                    .map_err(Self::read_err(&rb, path))?;
            }
        }
        let shared: Files = listing
            .files
            .iter()
            .filter(|(p, _)| !changed_paths.contains(p.as_str()))
            .cloned()
            .collect();
        let shared = self.parse(&rb, &shared, &|_| Body::Drop)?;

        let (old_changed, new_changed) = (sa.items.clone(), sb.items.clone());
        // The old side gets a copy of the shared items, the new side takes
        // them.
        let Parsed {
            config,
            items: shared_items,
            diags: shared_diags,
        } = shared;
        let old_items: Vec<Item> = shared_items.iter().cloned().chain(sa.items).collect();
        let old_diags: Vec<Diagnostic> = shared_diags.iter().cloned().chain(sa.diags).collect();
        let old_config = config.clone();
        let (old, new) = rayon::join(
            || Workspace::new(old_config, old_items, old_diags),
            || {
                let (mut items, mut diags) = (shared_items, shared_diags);
                items.extend(sb.items);
                diags.extend(sb.diags);
                Workspace::new(config, items, diags)
            },
        );
        let new_probe = TreeProbe::new(listing.paths);
        let old_probe = new_probe.with_changes(removed, added);
        let (old_problems, new_problems) =
            rayon::join(|| old.check(&old_probe), || new.check(&new_probe));
        let diff = Diff::of(
            &old_changed,
            &new_changed,
            &old,
            &new,
            old_problems,
            new_problems,
        );
        Ok(RevDiff {
            from: ra,
            to: rb,
            prefix,
            files: changed.len(),
            incremental: true,
            diff,
            old,
            new,
        })
    }

    /// The diff reading both sides whole (either may be absent).
    fn diff_whole(
        &self,
        ra: Rev,
        rb: Rev,
        prefix: String,
        (ta, tb): (Option<ObjectId>, Option<ObjectId>),
        changed: Vec<Changed>,
    ) -> Result<RevDiff, GitError> {
        let repo = self.local();
        let list = |rev: &Rev, t: Option<ObjectId>| -> Result<Listing, GitError> {
            match t {
                Some(t) => self.list(&repo, rev, t, false),
                None => Ok(Listing::default()),
            }
        };
        let (la, lb) = (list(&ra, ta)?, list(&rb, tb)?);
        // Without a tree diff (a side is absent), every file changed.
        let changed: HashSet<String> = if ta.is_some() && tb.is_some() {
            changed.into_iter().map(|c| c.0).collect()
        } else {
            la.files
                .iter()
                .chain(&lb.files)
                .map(|f| f.0.clone())
                .collect()
        };
        let body = |p: &str| {
            if changed.contains(p) {
                Body::Keep
            } else {
                Body::Drop
            }
        };
        let (pa, pb) = rayon::join(
            || self.parse(&ra, &la.files, &body),
            || self.parse(&rb, &lb.files, &body),
        );
        let (old, new) = (pa?.workspace(), pb?.workspace());
        let pick = |ws: &Workspace| -> Vec<Item> {
            ws.items
                .iter()
                .filter(|i| changed.contains(&i.path))
                .cloned()
                .collect()
        };
        let (old_changed, new_changed) = (pick(&old), pick(&new));
        let (pa, pb) = (TreeProbe::new(la.paths), TreeProbe::new(lb.paths));
        let problems = |ws: &Workspace, t: Option<ObjectId>, probe: &TreeProbe| {
            if t.is_some() {
                ws.check(probe)
            } else {
                Vec::new()
            }
        };
        let (old_problems, new_problems) =
            rayon::join(|| problems(&old, ta, &pa), || problems(&new, tb, &pb));
        let diff = Diff::of(
            &old_changed,
            &new_changed,
            &old,
            &new,
            old_problems,
            new_problems,
        );
        Ok(RevDiff {
            from: ra,
            to: rb,
            prefix,
            files: changed.len(),
            incremental: false,
            diff,
            old,
            new,
        })
    }

    /// The first-parent chain from `spec`, oldest first: the commits whose
    /// trees the branch went through (merged branches count as their
    /// merge commit).
    pub fn chain(&self, spec: &str) -> Result<Vec<CommitInfo>, GitError> {
        let repo = self.local();
        let rev = self.rev(spec)?;
        let walk = repo
            .rev_walk([rev.id])
            .first_parent_only()
            .all()
            .map_err(|e| Self::read_err(&rev, "the history")(e))?;
        let mut out = Vec::new();
        for info in walk {
            let info = info.map_err(|e| Self::read_err(&rev, "the history")(e))?;
            let commit = info.object().map_err(Self::read_err(&rev, "a commit"))?;
            out.push(commit_info(&info, &commit).map_err(Self::read_err(&rev, "a commit"))?);
        }
        out.reverse();
        Ok(out)
    }

    /// What commit `c` of a [`Repo::chain`] did to the items: the semantic
    /// diff from its first parent (from nothing for a root commit). A
    /// commit outside the workspace changes nothing.
    pub fn changes_of(&self, c: &CommitInfo) -> Result<Vec<Change>, GitError> {
        match &c.parent {
            Some(p) => match self.diff(p, &c.id) {
                Ok(d) => Ok(d.diff.changes),
                Err(GitError::NoWorkspace { .. }) => Ok(Vec::new()),
                Err(e) => Err(e),
            },
            None => match self.workspace_at(&c.id) {
                Ok(at) => Ok(change::workspace_changes(
                    &Workspace::default(),
                    &at.workspace,
                )),
                Err(GitError::NoWorkspace { .. }) => Ok(Vec::new()),
                Err(e) => Err(e),
            },
        }
    }

    /// The field-level history of the item `reference` names at `rev`,
    /// newest first: one entry per commit on the first-parent chain from
    /// `rev` that changed the item's file (merged branches count as their
    /// merge commit). A file renamed with the item's UUID kept (a short-id
    /// rename, a move) is followed. Ends at the commit that created the
    /// item.
    pub fn log(&self, spec: &str, reference: &str) -> Result<ItemLog, GitError> {
        let repo = self.local();
        let rev = self.rev(spec)?;
        let Some(prefix) = self.root_of(&repo, &rev)? else {
            return Err(GitError::NoWorkspace {
                rev: rev.spec,
                dir: self.start.clone(),
            });
        };
        let start = OnceCell::new();
        let (path, mut blob, item) = self.locate(&repo, &rev, &prefix, reference, &start)?;
        let names = LazyNames {
            repo: self,
            rev: &rev.spec,
            ws: &start,
        };
        let uuid = item.id.as_ref().map(|i| i.value);
        let mut out = ItemLog {
            key: item.short_str_or_path().to_owned(),
            title: item.title_str().to_owned(),
            path: path.clone(),
            entries: Vec::new(),
        };
        let mut path = path;
        let mut current = item;
        let walk = repo
            .rev_walk([rev.id])
            .first_parent_only()
            .all()
            .map_err(|e| Self::read_err(&rev, "the history")(e))?;
        for info in walk {
            let info = info.map_err(|e| Self::read_err(&rev, "the history")(e))?;
            let commit = info.object().map_err(Self::read_err(&rev, "a commit"))?;
            let parent = info.parent_ids().next().map(|p| p.detach());
            let parent_tree = match parent {
                Some(p) => Some(
                    repo.find_commit(p)
                        .and_then(|c| c.tree_id().map(|t| t.detach()))
                        .map_err(Self::read_err(&rev, "a commit"))?,
                ),
                None => None,
            };
            // The item's file in the parent: the same path holding the same
            // item, or a file that changed in this commit holding it.
            let mut before: Option<(String, ObjectId, Item)> = None;
            if let Some(pt) = parent_tree {
                let full = format!("{prefix}{path}");
                if let Some((id, mode)) =
                    lookup(&repo, pt, &full).map_err(Self::read_err(&rev, &full))?
                    && mode.is_blob()
                {
                    if id == blob {
                        continue;
                    }
                    let old = self.parse_one(&repo, &rev, &path, id)?;
                    if old.as_ref().is_some_and(|o| same_item(o, uuid, &path)) {
                        before = old.map(|o| (path.clone(), id, o));
                    }
                }
                if before.is_none() && uuid.is_some() {
                    before = self.renamed_from(&repo, &rev, &prefix, pt, &commit, uuid)?;
                }
            }
            let c = commit_info(&info, &commit).map_err(Self::read_err(&rev, "a commit"))?;
            let entry = |changes: Vec<Change>| LogEntry {
                commit: info.id().shorten_or_id().to_string(),
                id: c.id.clone(),
                author: c.author.clone(),
                email: c.email.clone(),
                date: c.date.clone(),
                time: c.time,
                summary: c.summary.clone(),
                path: path.clone(),
                changes,
            };
            match before {
                Some((old_path, old_blob, old)) => {
                    let changes = change::item_changes(Some(&old), Some(&current), &names, &names);
                    if !changes.is_empty() {
                        out.entries.push(entry(changes));
                    }
                    path = old_path;
                    blob = old_blob;
                    current = old;
                }
                None => {
                    let changes = change::item_changes(None, Some(&current), &names, &names);
                    out.entries.push(entry(changes));
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Finds the item `reference` names at `rev`: by file name when it can
    /// (`<short id>.md`), by loading the workspace otherwise.
    fn locate(
        &self,
        repo: &gix::Repository,
        rev: &Rev,
        prefix: &str,
        reference: &str,
        ws: &OnceCell<Option<Workspace>>,
    ) -> Result<(String, ObjectId, Item), GitError> {
        let r = reference.trim();
        for rel in parse::candidate_paths(r) {
            let full = format!("{prefix}{rel}");
            if let Some((id, mode)) =
                lookup(repo, rev.tree, &full).map_err(Self::read_err(rev, &full))?
                && mode.is_blob()
                && let Some(item) = self.parse_one(repo, rev, &rel, id)?
                && item
                    .short_id
                    .as_ref()
                    .is_some_and(|s| s.value.eq_ignore_ascii_case(r))
            {
                return Ok((rel, id, item));
            }
        }
        let at = self.workspace_at(&rev.spec)?;
        let found = at
            .workspace
            .resolve(r)
            .filter(|i| i.kind() != Kind::Comment)
            .cloned();
        let _ = ws.set(Some(at.workspace));
        let Some(item) = found else {
            return Err(GitError::NoItem {
                reference: r.to_owned(),
                rev: rev.spec.clone(),
            });
        };
        let full = format!("{prefix}{}", item.path);
        let (id, _) = lookup(repo, rev.tree, &full)
            .map_err(Self::read_err(rev, &full))?
            .ok_or_else(|| GitError::NoItem {
                reference: r.to_owned(),
                rev: rev.spec.clone(),
            })?;
        Ok((item.path.clone(), id, item))
    }

    /// Parses one workspace file, bodies kept.
    fn parse_one(
        &self,
        repo: &gix::Repository,
        rev: &Rev,
        rel: &str,
        id: ObjectId,
    ) -> Result<Option<Item>, GitError> {
        let Some(FileKind::Item(kind)) = parse::classify(rel) else {
            return Ok(None);
        };
        let object = repo.find_object(id).map_err(Self::read_err(rev, rel))?;
        let bytes = &object.data[..object.data.len().min(schema::text::MAX_FILE_SIZE + 1)];
        Ok(parse::parse_item(rel, kind, bytes).0)
    }

    /// Where the item with `uuid` was before `commit`, if one of the files
    /// that commit removed or rewrote held it in the parent tree `parent`.
    fn renamed_from(
        &self,
        repo: &gix::Repository,
        rev: &Rev,
        prefix: &str,
        parent: ObjectId,
        commit: &gix::Commit<'_>,
        uuid: Option<uuid::Uuid>,
    ) -> Result<Option<(String, ObjectId, Item)>, GitError> {
        let tree = commit
            .tree_id()
            .map_err(Self::read_err(rev, "a commit"))?
            .detach();
        let dir = prefix.trim_end_matches('/');
        let (old, new) = if dir.is_empty() {
            (Some(parent), Some(tree))
        } else {
            let sub = |t| -> Result<Option<ObjectId>, GitError> {
                Ok(lookup(repo, t, dir)
                    .map_err(Self::read_err(rev, dir))?
                    .filter(|(_, m)| m.is_tree())
                    .map(|(id, _)| id))
            };
            (sub(parent)?, sub(tree)?)
        };
        let Some(old) = old else { return Ok(None) };
        let empty = gix::objs::TreeRefIter::from_bytes(&[], old.kind());
        let old_tree = repo.find_tree(old).map_err(Self::read_err(rev, dir))?;
        let new_tree = match new {
            Some(n) => Some(repo.find_tree(n).map_err(Self::read_err(rev, dir))?),
            None => None,
        };
        let mut rec = gix::diff::tree::Recorder::default();
        gix::diff::tree(
            gix::objs::TreeRefIter::from_bytes(&old_tree.data, old.kind()),
            new_tree.as_ref().map_or(empty, |t| {
                gix::objs::TreeRefIter::from_bytes(&t.data, old.kind())
            }),
            gix::diff::tree::State::default(),
            &repo.objects,
            &mut rec,
        )
        .map_err(|e| GitError::Read {
            rev: rev.spec.clone(),
            path: "a tree".into(),
            message: e.to_string(),
        })?;
        use gix::diff::tree::recorder::Change as C;
        for c in rec.records {
            let (path, id, mode) = match c {
                C::Deletion {
                    path,
                    oid,
                    entry_mode,
                    ..
                }
                | C::Modification {
                    path,
                    previous_oid: oid,
                    previous_entry_mode: entry_mode,
                    ..
                } => (path, oid, entry_mode),
                C::Addition { .. } => continue,
            };
            let Ok(path) = path.to_str() else { continue };
            if !mode.is_blob()
                || !matches!(parse::classify(path), Some(FileKind::Item(k)) if k != Kind::Comment)
            {
                continue;
            }
            if let Some(item) = self.parse_one(repo, rev, path, id)?
                && item.id.as_ref().map(|i| i.value) == uuid
            {
                return Ok(Some((path.to_owned(), id, item)));
            }
        }
        Ok(None)
    }
}

/// Whether `item` (found at `path`) is the item we follow.
fn same_item(item: &Item, uuid: Option<uuid::Uuid>, path: &str) -> bool {
    match (item.id.as_ref().map(|i| i.value), uuid) {
        (Some(a), Some(b)) => a == b,
        _ => item.path == path,
    }
}

/// Names for `log`: references as written, except UUIDs, which are shown
/// as the short id they have at the starting revision (loading that
/// workspace the first time one is met).
struct LazyNames<'a> {
    repo: &'a Repo,
    rev: &'a str,
    ws: &'a OnceCell<Option<Workspace>>,
}

impl Names for LazyNames<'_> {
    fn name(&self, reference: &str) -> String {
        let r = reference.trim();
        if schema::ids::parse_uuid(r).is_none() {
            return r.to_owned();
        }
        let ws = self
            .ws
            .get_or_init(|| self.repo.workspace_at(self.rev).ok().map(|a| a.workspace));
        match ws {
            Some(ws) => ws.name(r),
            None => r.to_owned(),
        }
    }
}

/// The entry at `path` (`/`-separated) below `tree`.
fn lookup(
    repo: &gix::Repository,
    tree: ObjectId,
    path: &str,
) -> Result<Option<(ObjectId, gix::objs::tree::EntryMode)>, gix::Error> {
    let tree = repo.find_tree(tree)?;
    let entry = tree.lookup_entry(path.split('/').filter(|c| !c.is_empty()))?;
    Ok(entry.map(|e| (e.object_id(), e.mode())))
}

/// The entries of one tree: name, id, mode.
fn children(
    repo: &gix::Repository,
    tree: ObjectId,
) -> Result<Vec<(String, ObjectId, gix::objs::tree::EntryMode)>, gix::Error> {
    let tree = repo.find_tree(tree)?;
    let mut out = Vec::new();
    for e in tree.iter() {
        let e = e?;
        if let Ok(name) = e.filename().to_str() {
            out.push((name.to_owned(), e.object_id(), e.mode()));
        }
    }
    Ok(out)
}

/// Walks `tree` (whose path is `base`, `` or ending in `/`), adding every
/// workspace file and every path to `out`. `enter(dir path with a trailing
/// `/`, id)` says whether to descend into a directory. Iterative: trees
/// can be deep.
fn walk(
    repo: &gix::Repository,
    tree: ObjectId,
    base: String,
    out: &mut Listing,
    enter: &mut dyn FnMut(&str, ObjectId) -> bool,
) -> Result<(), gix::Error> {
    let mut stack = vec![(base, tree)];
    while let Some((base, tree)) = stack.pop() {
        for (name, id, mode) in children(repo, tree)? {
            let path = format!("{base}{name}");
            if mode.is_tree() {
                if !path.starts_with(".nonlinear/") && SKIP_DIRS.contains(&name.as_str()) {
                    continue;
                }
                let dir = format!("{path}/");
                if enter(&dir, id) {
                    stack.push((dir, id));
                }
            } else if mode.is_blob_or_symlink() {
                if mode.is_blob() && parse::classify(&path).is_some() {
                    out.files.push((path.clone(), id));
                }
                out.paths.insert(path);
            }
        }
    }
    Ok(())
}
