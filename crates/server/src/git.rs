//! Committing API writes, in process with gix: what `git add -A -- paths`
//! followed by `git commit --only -- paths` does, without running git.
//!
//! Only the files a write touched are committed: the new commit's tree is
//! `HEAD`'s with just those paths changed (added, modified, or removed
//! when the file is gone). Other staged or unstaged edits in the work tree
//! stay as they are, uncommitted; in the index only the committed paths'
//! entries change (object id, mode, stat), so `git status` shows them
//! clean. When `HEAD` is unborn the first commit holds the written files
//! only, with no parent; the rest of the work tree stays untracked until
//! someone commits it. Files go in as `git add` puts them: clean filters
//! and end-of-line conversion from `.gitattributes` and `core.autocrlf`
//! apply, the executable bit follows the file (the index's, when
//! `core.fileMode` is off), and a new file that `.gitignore` ignores is
//! refused. During a merge or a cherry-pick nothing is committed, as git
//! refuses partial commits then.
//!
//! The acting member is the author. The committer is whoever git would
//! name (`GIT_COMMITTER_*`, then `committer.*` and `user.*` in the
//! configuration), else the server's own identity. The message is cleaned
//! up as `git commit -m` does. Unlike the `git` program this runs no hooks
//! and signs nothing.
//!
//! Each commit holds git's `.git/index.lock` from start to end, so it
//! fails rather than wait when another git process is at work, and
//! re-reads `HEAD`, the index and any configuration file that changed.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use gix::bstr::{BStr, BString, ByteSlice};
use gix::index::entry::{Flags, Mode, Stage, Stat};
use gix::objs::tree::EntryKind;
use gix::{ObjectId, ThreadSafeRepository};
use parking_lot::Mutex;

/// The committer when the repository's config names nobody: git would
/// refuse to commit.
const SERVER_NAME: &str = "Non-Linear server";
const SERVER_EMAIL: &str = "server@nonlinear.invalid";

/// The repository holding a workspace, to commit API writes to. Shared
/// between threads; the caller runs one commit at a time.
#[derive(Debug)]
pub struct Git {
    repo: Mutex<Opened>,
    /// The workspace's directory in the work tree: `` or `a/b/`.
    prefix: String,
}

/// The repository as last opened, and the configuration it read.
#[derive(Debug)]
struct Opened {
    repo: ThreadSafeRepository,
    /// Each configuration file that gave a value, and the repository's
    /// own, with its stamp then: when one changes, the repository is
    /// opened again (and its object database with it, so not every time).
    config: Vec<(PathBuf, Option<Stamp>)>,
}

type Stamp = (std::time::SystemTime, u64);

/// Who a commit is by.
#[derive(Debug, Clone)]
pub struct Author {
    pub name: String,
    pub email: String,
}

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// `.git/index.lock` exists: another git process is at work (or died
    /// and left it).
    #[error("cannot lock the index ({}): {message}", path.display())]
    Locked { path: PathBuf, message: String },
    /// A merge or cherry-pick is in progress; git refuses partial commits.
    #[error("cannot do a partial commit during a {0}")]
    InProgress(&'static str),
    /// A path git would not add.
    #[error("{path}: {reason}")]
    Path { path: String, reason: String },
    /// Reading or writing the repository failed.
    #[error("{step}: {message}")]
    Repo { step: &'static str, message: String },
}

impl GitError {
    fn repo(step: &'static str) -> impl FnOnce(gix::Error) -> GitError {
        move |e| GitError::Repo {
            step,
            message: format!("{e:#}"),
        }
    }

    fn io(step: &'static str) -> impl FnOnce(std::io::Error) -> GitError {
        move |e| GitError::Repo {
            step,
            message: e.to_string(),
        }
    }

    fn path(path: &BStr, reason: impl Into<String>) -> GitError {
        GitError::Path {
            path: path.to_string(),
            reason: reason.into(),
        }
    }
}

/// One committed path: its new blob, or `None` when it is gone.
struct Change {
    /// Relative to the top of the work tree.
    path: BString,
    file: Option<File>,
}

struct File {
    id: ObjectId,
    mode: Mode,
    stat: Stat,
}

impl Git {
    /// The repository whose work tree holds `root`, if there is one.
    pub fn detect(root: &Path) -> Option<Git> {
        let repo = ThreadSafeRepository::discover_with_environment_overrides(root).ok()?;
        let top = std::fs::canonicalize(repo.to_thread_local().workdir()?).ok()?;
        let here = std::fs::canonicalize(root).ok()?;
        let mut prefix = String::new();
        for c in here.strip_prefix(&top).ok()?.components() {
            prefix.push_str(c.as_os_str().to_str()?);
            prefix.push('/');
        }
        Some(Git {
            repo: Mutex::new(Opened::new(repo)),
            prefix,
        })
    }

    /// Commits `paths` (workspace-relative; created, modified or deleted)
    /// with `message`. Returns the new commit's abbreviated id, or `None`
    /// when the files already match `HEAD` (their index entries are still
    /// brought up to date, as `git add` would).
    pub fn commit(
        &self,
        paths: &[String],
        message: &str,
        author: &Author,
    ) -> Result<Option<String>, GitError> {
        if paths.is_empty() {
            return Ok(None);
        }
        let t = std::time::Instant::now();
        let mut repo = self.repo.lock().current()?;
        let index_path = repo.index_path();
        let mut lock = gix::lock::File::acquire_to_update_resource(
            &index_path,
            gix::lock::acquire::Fail::Immediately,
            None,
            0,
        )
        .map_err(|e| GitError::Locked {
            path: index_path.clone(),
            message: format!("{e:#}"),
        })?;
        for (file, doing) in [("MERGE_HEAD", "merge"), ("CHERRY_PICK_HEAD", "cherry-pick")] {
            if repo.git_dir().join(file).exists() {
                return Err(GitError::InProgress(doing));
            }
        }
        let mut index = if index_path.exists() {
            // Like git, which verifies the index's checksum only in `fsck`
            // (it costs a hash of the whole file: 3 ms for 30 000 entries).
            let skip_hash = true;
            gix::index::File::at(
                &index_path,
                repo.object_hash(),
                skip_hash,
                Default::default(),
            )
            .map_err(GitError::repo("read the index"))?
        } else {
            gix::index::File::from_state(gix::index::State::new(repo.object_hash()), index_path)
        };
        if index.is_sparse() {
            return Err(GitError::Repo {
                step: "read the index",
                message: "a sparse index is not supported".into(),
            });
        }

        let parent = repo.head().map_err(GitError::repo("read HEAD"))?.id();
        let parent = parent.map(|id| id.detach());
        let base = match parent {
            Some(id) => repo
                .find_commit(id)
                .and_then(|c| c.tree_id())
                .map_err(GitError::repo("read HEAD's tree"))?
                .detach(),
            None => ObjectId::empty_tree(repo.object_hash()),
        };

        let read = t.elapsed();
        let changes = self.stage(&repo, &index, paths)?;
        let staged = t.elapsed();
        let tree = write_tree(&repo, base, &changes)?;
        let treed = t.elapsed();
        let index_changed = update_index(&mut index, &changes);
        if index_changed {
            write_index(&repo, &mut index, &mut lock)?;
        }
        let indexed = t.elapsed();
        if tree == base {
            if index_changed {
                commit_lock(lock)?;
            }
            return Ok(None);
        }

        let message = cleanup(message);
        if message.is_empty() {
            return Err(GitError::Repo {
                step: "commit",
                message: "empty commit message".into(),
            });
        }
        let (committer_name, committer_email) = committer(&mut repo)?;
        let time = gix::date::Time::now_local_or_utc();
        let author = gix::actor::Signature {
            name: ident_part(&author.name, "author name")?.into(),
            email: ident_part(&author.email, "author email")?.into(),
            time,
        };
        let committer = gix::actor::Signature {
            name: committer_name,
            email: committer_email,
            time,
        };
        let (mut a, mut c) = Default::default();
        let id = repo
            .commit_as(
                committer.to_ref(&mut c),
                author.to_ref(&mut a),
                "HEAD",
                message,
                tree,
                parent,
            )
            .map_err(GitError::repo("commit"))?;
        let short = id.shorten_or_id().to_string();
        if index_changed {
            // As git: the commit stands even if its index cannot follow.
            commit_lock(lock)?;
        }
        let us = |d: std::time::Duration| d.as_micros() as u64;
        tracing::debug!(
            read_us = us(read),
            staged_us = us(staged),
            tree_us = us(treed),
            index_us = us(indexed),
            done_us = us(t.elapsed()),
            "committed"
        );
        Ok(Some(short))
    }

    /// Writes the blobs of `paths` that exist and says which are gone, as
    /// `git add -A -- paths` would see them.
    fn stage(
        &self,
        repo: &gix::Repository,
        index: &gix::index::State,
        paths: &[String],
    ) -> Result<Vec<Change>, GitError> {
        let top = repo.workdir().ok_or_else(|| GitError::Repo {
            step: "find the work tree",
            message: "the repository is bare".into(),
        })?;
        let config = repo.config_snapshot();
        let file_mode = config.boolean("core.fileMode").unwrap_or(true);
        let symlinks = config.boolean("core.symlinks").unwrap_or(true);
        let protect = gix::validate::path::component::Options {
            protect_windows: cfg!(windows),
            protect_hfs: config
                .boolean("core.protectHFS")
                .unwrap_or(cfg!(target_os = "macos")),
            protect_ntfs: config.boolean("core.protectNTFS").unwrap_or(true),
        };
        let paths: BTreeSet<String> = paths
            .iter()
            .map(|p| format!("{}{p}", self.prefix))
            .collect();
        // Built on first use: deletions need neither.
        let mut pipeline = None;
        let mut excludes = None;
        let mut changes = Vec::with_capacity(paths.len());
        for rel in paths {
            let abs = top.join(&rel);
            let path = BString::from(rel);
            for part in path.split(|b| *b == b'/') {
                if part.is_empty() || part == b"." || part == b".." {
                    return Err(GitError::path(path.as_ref(), "not a normal relative path"));
                }
                gix::validate::path::component(part.as_bstr(), None, protect)
                    .map_err(|e| GitError::path(path.as_ref(), e.to_string()))?;
            }
            let stat = match gix::index::fs::Metadata::from_path_no_follow(&abs) {
                Ok(md) if md.is_dir() => {
                    return Err(GitError::path(path.as_ref(), "a directory, not a file"));
                }
                Ok(md) => Some(md),
                // Gone, or a parent directory is now a file.
                Err(e)
                    if gix::fs::io_err::is_not_found(e.kind(), e.raw_os_error())
                        || e.kind() == std::io::ErrorKind::NotADirectory =>
                {
                    None
                }
                Err(e) => return Err(GitError::path(path.as_ref(), e.to_string())),
            };
            // The entry `git add` consults: stage 0, else a conflict's.
            let known = index
                .entry_range(path.as_ref())
                .map(|r| index.entry(r.start));
            if let Some(e) = known
                && e.flags.contains(Flags::SKIP_WORKTREE)
            {
                return Err(GitError::path(
                    path.as_ref(),
                    "outside the sparse-checkout definition",
                ));
            }
            let Some(md) = stat else {
                changes.push(Change { path, file: None });
                continue;
            };
            if known.is_none() {
                let stack = match &mut excludes {
                    Some(s) => s,
                    None => excludes.insert(
                        repo.excludes(index, None, Default::default())
                            .map_err(GitError::repo("read .gitignore"))?,
                    ),
                };
                let ignored = stack
                    .at_entry(path.as_bstr(), Some(Mode::FILE))
                    .map_err(GitError::repo("read .gitignore"))?
                    .is_excluded();
                if ignored {
                    return Err(GitError::path(
                        path.as_ref(),
                        "ignored by a .gitignore file; git would not add it",
                    ));
                }
            }
            let pipeline = match &mut pipeline {
                Some(p) => p,
                None => {
                    let attributes = repo
                        .attributes_only(
                            index,
                            gix::worktree::stack::state::attributes::Source::WorktreeThenIdMapping,
                        )
                        .map_err(GitError::repo("read .gitattributes"))?;
                    pipeline.insert(
                        gix::filter::Pipeline::new(repo, attributes.detach())
                            .map_err(GitError::repo("set up filters"))?,
                    )
                }
            };
            let Some((id, kind, _)) = pipeline
                .worktree_file_to_object(path.as_bstr(), index)
                .map_err(GitError::repo("write a blob"))?
            else {
                // Gone since the stat.
                changes.push(Change { path, file: None });
                continue;
            };
            let found = match kind {
                EntryKind::Blob => Mode::FILE,
                EntryKind::BlobExecutable => Mode::FILE_EXECUTABLE,
                EntryKind::Link => Mode::SYMLINK,
                EntryKind::Tree | EntryKind::Commit => {
                    return Err(GitError::path(path.as_ref(), "a directory, not a file"));
                }
            };
            let mode = mode_like_git(found, known.map(|e| e.mode), file_mode, symlinks);
            let stat =
                Stat::from_fs(&md).map_err(|e| GitError::path(path.as_ref(), e.to_string()))?;
            changes.push(Change {
                path,
                file: Some(File { id, mode, stat }),
            });
        }
        Ok(changes)
    }
}

impl Opened {
    fn new(repo: ThreadSafeRepository) -> Opened {
        let local = repo.to_thread_local();
        let mut files: BTreeSet<PathBuf> = local
            .config_snapshot()
            .plumbing()
            .sections()
            .filter_map(|s| s.meta().path.clone())
            .collect();
        files.insert(local.common_dir().join("config"));
        let config = files
            .into_iter()
            .map(|f| {
                let s = stamp(&f);
                (f, s)
            })
            .collect();
        Opened { repo, config }
    }

    /// A handle on the repository with its configuration as it is now
    /// (`git config` edits show at once, as they did for the `git`
    /// program; a configuration file created since is not noticed).
    fn current(&mut self) -> Result<gix::Repository, GitError> {
        if self.config.iter().any(|(f, s)| stamp(f) != *s) {
            let mut repo = self.repo.to_thread_local();
            repo.reload()
                .map_err(GitError::repo("open the repository"))?;
            *self = Opened::new(repo.into_sync());
        }
        Ok(self.repo.to_thread_local())
    }
}

fn stamp(file: &Path) -> Option<Stamp> {
    let md = std::fs::metadata(file).ok()?;
    Some((md.modified().ok()?, md.len()))
}

/// `HEAD`'s tree (`base`) with `changes` applied, written.
fn write_tree(
    repo: &gix::Repository,
    base: ObjectId,
    changes: &[Change],
) -> Result<ObjectId, GitError> {
    // The plumbing editor: gix's own checks every entry of every changed
    // tree for existence (10 000 lookups for a directory of 10 000 issues);
    // the paths we add are validated in `stage`.
    let mut editor = repo
        .edit_tree(base)
        .map_err(GitError::repo("read HEAD's tree"))?
        .detach();
    for c in changes {
        let parts = c.path.split(|b| *b == b'/');
        match &c.file {
            Some(f) => {
                let kind = match f.mode {
                    Mode::FILE_EXECUTABLE => EntryKind::BlobExecutable,
                    Mode::SYMLINK => EntryKind::Link,
                    _ => EntryKind::Blob,
                };
                editor.upsert(parts, kind, f.id)
            }
            None => editor.remove_leaf(parts),
        }
        .map_err(|e| GitError::path(c.path.as_ref(), format!("{e:#}")))?;
    }
    editor
        .write(|tree| repo.write_object(tree).map(|id| id.detach()))
        .map_err(GitError::repo("write the tree"))
}

/// Brings the index entries of `changes` in line with them; the others
/// stay as they are. Says whether anything changed.
fn update_index(index: &mut gix::index::State, changes: &[Change]) -> bool {
    let mut changed = false;
    let mut doomed = Vec::new();
    let mut new = Vec::new();
    for c in changes {
        let path: &BStr = c.path.as_ref();
        if let Some(range) = index.entry_range(path) {
            for i in range {
                // A conflict's stages go once the path is added or removed.
                if c.file.is_none() || index.entry(i).stage() != Stage::Unconflicted {
                    doomed.push(i);
                }
            }
        }
        let Some(f) = &c.file else { continue };
        match index.entry_mut_by_path_and_stage(path, Stage::Unconflicted) {
            Some(e) => {
                if e.id != f.id || e.mode != f.mode || e.stat != f.stat || !e.flags.is_empty() {
                    e.id = f.id;
                    e.mode = f.mode;
                    e.stat = f.stat;
                    e.flags = Flags::empty();
                    changed = true;
                }
            }
            None => new.push((c.path.as_bstr(), f)),
        }
    }
    doomed.sort_unstable();
    for i in doomed.into_iter().rev() {
        index.remove_entry_at_index(i);
        changed = true;
    }
    if !new.is_empty() {
        for (path, f) in new {
            index.dangerously_push_entry(f.stat, f.id, Flags::empty(), f.mode, path);
        }
        index.sort_entries();
        changed = true;
    }
    changed
}

/// Writes `index` to the lock file (still beside the index). In memory
/// first, hashed in one go: `gix::index::File::write_to` hashes as it
/// writes, a few bytes at a time, which takes longer than the hash itself.
fn write_index(
    repo: &gix::Repository,
    index: &mut gix::index::File,
    lock: &mut gix::lock::File,
) -> Result<(), GitError> {
    // git rebuilds the cache tree when it next needs one.
    index.remove_tree();
    let skip_hash = repo
        .config_snapshot()
        .boolean("index.skipHash")
        .unwrap_or(false);
    let state: &gix::index::State = index;
    let mut data = Vec::with_capacity(state.entries().len() * 160);
    state
        .write_to(
            &mut data,
            gix::index::write::Options {
                skip_hash,
                ..Default::default()
            },
        )
        .map_err(GitError::repo("write the index"))?;
    let checksum = if skip_hash {
        repo.object_hash().null()
    } else {
        let mut hasher = gix::hash::hasher(repo.object_hash());
        hasher.update(&data);
        hasher.try_finalize().map_err(|e| GitError::Repo {
            step: "write the index",
            message: e.to_string(),
        })?
    };
    data.extend_from_slice(checksum.as_slice());
    lock.write_all(&data)
        .map_err(GitError::io("write the index"))
}

/// Replaces the index with the lock file's content.
fn commit_lock(lock: gix::lock::File) -> Result<(), GitError> {
    lock.commit().map(drop).map_err(|e| GitError::Repo {
        step: "replace the index",
        message: e.error.to_string(),
    })
}

/// The mode git gives a file it adds (`ce_mode_from_stat`): without
/// `core.symlinks` a file stays a link if the index says so; without
/// `core.fileMode` a file keeps the index's executable bit.
fn mode_like_git(found: Mode, known: Option<Mode>, file_mode: bool, symlinks: bool) -> Mode {
    let regular = |m: Mode| m == Mode::FILE || m == Mode::FILE_EXECUTABLE;
    if found == Mode::SYMLINK {
        return found;
    }
    match known {
        Some(k) if !symlinks && k == Mode::SYMLINK => k,
        Some(k) if !file_mode && regular(k) => k,
        _ if !file_mode => Mode::FILE,
        _ => found,
    }
}

/// The committer's name and email: what git would use, else the server.
fn committer(repo: &mut gix::Repository) -> Result<(BString, BString), GitError> {
    let who = match repo.committer() {
        Some(c) => c,
        None => Ok(repo
            .committer_or_set_fallback(SERVER_NAME, SERVER_EMAIL)
            .map_err(GitError::repo("read the committer"))?),
    }
    .map_err(GitError::repo("read the committer"))?;
    Ok((
        ident_part(&who.name.to_str_lossy(), "committer name")?.into(),
        ident_part(&who.email.to_str_lossy(), "committer email")?.into(),
    ))
}

/// `s` as git (2.38 on) writes it in a commit header: without leading and
/// trailing "crud" (whitespace, `,:;<>"\'`) and without `<`, `>` and
/// newlines.
fn ident_part(s: &str, what: &str) -> Result<String, GitError> {
    let crud = |c: char| c <= ' ' || ",:;<>\"\\'".contains(c);
    let out: String = s
        .trim_matches(crud)
        .chars()
        .filter(|c| !matches!(c, '\n' | '<' | '>'))
        .collect();
    if out.is_empty() {
        return Err(GitError::Repo {
            step: "commit",
            message: format!("empty {what} not allowed ({s:?})"),
        });
    }
    Ok(out)
}

/// `message` cleaned up as `git commit -m` does (`--cleanup=whitespace`):
/// trailing whitespace stripped, runs of empty lines made one, no empty
/// lines at either end, one final newline.
fn cleanup(message: &str) -> String {
    let mut out = String::with_capacity(message.len() + 1);
    let mut blank = false;
    for line in message.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank = !out.is_empty();
            continue;
        }
        if blank {
            out.push('\n');
            blank = false;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_cleaned_like_git_commit_m() {
        assert_eq!(cleanup("a\n"), "a\n");
        assert_eq!(cleanup("\n\na  \n\n\n\nb\t\n\n"), "a\n\nb\n");
        assert_eq!(
            cleanup("s\n\nx: 1 → 2\n\nNonlinear-Actor: ada\n"),
            "s\n\nx: 1 → 2\n\nNonlinear-Actor: ada\n"
        );
    }

    #[test]
    fn identities_lose_crud_like_git() {
        assert_eq!(ident_part(" Ada <L> ; ", "n").expect("ok"), "Ada L");
        assert_eq!(ident_part("Ada Jr.", "n").expect("ok"), "Ada Jr.");
        assert_eq!(ident_part("a\nb@x", "e").expect("ok"), "ab@x");
        assert!(ident_part(" <> ", "n").is_err());
    }

    #[test]
    fn modes_follow_core_filemode_and_symlinks() {
        let (f, x, l) = (Mode::FILE, Mode::FILE_EXECUTABLE, Mode::SYMLINK);
        assert_eq!(mode_like_git(x, Some(f), true, true), x);
        assert_eq!(mode_like_git(f, Some(x), false, true), x);
        assert_eq!(mode_like_git(x, None, false, true), f);
        assert_eq!(mode_like_git(f, Some(l), true, false), l);
        assert_eq!(mode_like_git(f, Some(l), true, true), f);
    }
}
