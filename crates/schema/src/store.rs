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

use crate::diagnostic::{Code, Diagnostic};
use crate::parse::{self, FileKind};
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

/// Directories never searched for workspace files.
const SKIP_DIRS: &[&str] = &[".git", "target", "node_modules", ".venv", "__pycache__"];

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
    pub fn files(&self) -> Vec<String> {
        let found = Mutex::new(Vec::new());
        let walker = ignore::WalkBuilder::new(&self.root)
            .hidden(false)
            .require_git(false)
            .filter_entry(|e| {
                let name = e.file_name().to_string_lossy();
                !(e.file_type().is_some_and(|t| t.is_dir())
                    && (SKIP_DIRS.contains(&name.as_ref())
                        || (name == "cache"
                            && e.path().parent().is_some_and(|p| p.ends_with(".nonlinear")))))
            })
            .build_parallel();
        walker.run(|| {
            let found = &found;
            let root = &self.root;
            Box::new(move |entry| {
                if let Ok(e) = entry
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
        let mut files = found
            .into_inner()
            .expect("no panics while holding the lock");
        files.sort_unstable();
        files
    }

    /// Reads and parses the whole workspace, in parallel.
    pub fn load(&self) -> Workspace {
        self.load_files(&self.files())
    }

    /// Reads and parses the given workspace files, in parallel.
    pub fn load_files(&self, files: &[String]) -> Workspace {
        // Transient, one per file, moved straight into the workspace: boxing
        // would only add an allocation per item.
        #[allow(clippy::large_enum_variant)]
        enum Parsed {
            Config(Option<crate::Config>, Vec<Diagnostic>),
            Item(Option<crate::Item>, Vec<Diagnostic>),
        }
        let parsed: Vec<Parsed> = files
            .par_iter()
            .filter_map(|rel| {
                let kind = parse::classify(rel)?;
                let bytes = match read_limited(&self.path(rel)) {
                    Ok(b) => b,
                    Err(e) => {
                        return Some(Parsed::Item(
                            None,
                            vec![Diagnostic::new(
                                Code::Io,
                                rel,
                                Pos::START,
                                format!("cannot read file: {e}"),
                            )],
                        ));
                    }
                };
                Some(match kind {
                    FileKind::Config => {
                        let (c, d) = parse::parse_config(rel, &bytes);
                        Parsed::Config(c, d)
                    }
                    FileKind::Item(k) => {
                        let (i, d) = parse::parse_item(rel, k, &bytes);
                        Parsed::Item(i, d)
                    }
                })
            })
            .collect();
        let mut config = None;
        let mut items = Vec::with_capacity(parsed.len());
        let mut diags = Vec::new();
        for p in parsed {
            match p {
                Parsed::Config(c, d) => {
                    config = c;
                    diags.extend(d);
                }
                Parsed::Item(i, d) => {
                    items.extend(i);
                    diags.extend(d);
                }
            }
        }
        Workspace::new(config, items, diags)
    }

    /// Finds the file of the item a short id names without reading the
    /// workspace: issues and artifacts are named `<short id>.md`, components
    /// under `.nonlinear/components/` `<KEY>.md`. `None` when the reference
    /// is a UUID or the item lives elsewhere (a `COMPONENT.md`); callers then
    /// load the workspace and resolve.
    pub fn locate(&self, reference: &str) -> Option<String> {
        let r = reference.trim();
        if !crate::ids::is_short_id(r) {
            return None;
        }
        let mut names = vec![r.to_owned()];
        if let Some((prefix, suffix)) = r.rsplit_once('-') {
            names.push(format!(
                "{}-{}",
                prefix.to_ascii_uppercase(),
                suffix.to_ascii_lowercase()
            ));
        }
        names.push(r.to_ascii_uppercase());
        for dir in [
            parse::ISSUES_DIR,
            parse::ARTIFACTS_DIR,
            parse::COMPONENTS_DIR,
        ] {
            for name in &names {
                let rel = format!("{dir}/{name}.md");
                if self.path(&rel).is_file() {
                    return Some(rel);
                }
            }
        }
        None
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
        fs::rename(&src, &dst).map_err(io_err(&src))
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
        !path.split('/').any(|c| c == "..") && self.root.join(path).exists()
    }
}

fn read_limited(path: &Path) -> io::Result<Vec<u8>> {
    let meta = fs::metadata(path)?;
    if meta.len() > crate::text::MAX_FILE_SIZE as u64 {
        // Let the parser report the size without reading a huge file.
        let mut v = vec![0u8; crate::text::MAX_FILE_SIZE + 1];
        use io::Read;
        File::open(path)?.read_exact(&mut v)?;
        return Ok(v);
    }
    fs::read(path)
}
