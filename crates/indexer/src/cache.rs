//! The persisted index cache: the parsed items of a workspace — components,
//! issues and artifacts, without bodies and without comments — in one file,
//! `.nonlinear/cache/items.bin`, so that a graph query on a large workspace
//! checks every file but parses only the ones that changed.
//!
//! **Never stale.** Every entry records its file's [`Stamp`] (size,
//! modification and change times, inode) and a hash of its content. A load
//! stats every item file; an entry is reused only when the stamp is
//! unchanged *and* older than the cache file itself. The second condition
//! is git's racy-timestamp rule: a file written in the same clock tick as
//! the cache (or on a file system with coarse timestamps) could change
//! again without its stamp changing, so it is re-read and its content hash
//! compared until a later cache write proves it settled. Files whose stamp
//! changed are re-read; an unchanged hash reuses the parsed item (a `touch`
//! or a checkout that rewrote identical bytes costs a read, not a parse).
//! Added and deleted files are found by listing: the listing of
//! `.nonlinear/` is reused only while the stamps of all its directories
//! (which change whenever an entry is added, removed or renamed) hold under
//! the same rule; `COMPONENT.md` files elsewhere are searched for on every
//! load.
//!
//! **Rebuilt transparently.** A missing, truncated or corrupt cache (it
//! carries a checksum), or one written by another format version, is
//! ignored, and the load reads every file and writes a new one. Writing is
//! best effort — a read-only work tree just goes without — and atomic (a
//! temporary file renamed over the old one), so concurrent loads never see
//! half a cache. `NONLINEAR_CACHE=0` turns the cache off.
//!
//! **Kept out of git.** The cache directory holds a `.gitignore` of `*`,
//! whatever the workspace's own ignore files say.

use std::borrow::Cow;
use std::io::{self, Read, Write};
use std::path::Path;

use schema::Item;
use schema::parse::{self, Body, FileKind};
use schema::store::{Stamp, Store};
use serde::{Deserialize, Serialize};

use crate::{Builder, Graph};

/// The cache file, workspace-relative.
pub const FILE: &str = ".nonlinear/cache/items.bin";
/// The cache directory, workspace-relative: derived files only (it
/// ignores itself for git).
pub const DIR: &str = ".nonlinear/cache";
/// Bump when the encoding of [`Item`] or of the cache changes; a cache of
/// another format is rebuilt. `cache_format_is_pinned` in the tests fails
/// when the item encoding changes without this changing too.
pub const FORMAT: u32 = 4;
const MAGIC: &[u8; 8] = b"NLCACHE\0";
/// Items per independently decoded chunk.
const CHUNK: usize = 1024;

/// What a load found and did, for tests, benchmarks and the curious
/// (`NONLINEAR_CACHE_REPORT=1` makes the graph verbs print it).
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Item files in the workspace.
    pub files: usize,
    /// Entries taken from the cache without reading their file.
    pub reused: usize,
    /// Files read because their stamp changed or was racy.
    pub read: usize,
    /// Files parsed: read and found with new content (or new to the cache).
    pub parsed: usize,
    /// Whether `.nonlinear/` had to be listed again.
    pub listed: bool,
    /// Why the cache file could not be used, if it could not.
    pub invalid: Option<String>,
    /// Whether a new cache file was written.
    pub written: bool,
    /// Wall time of each phase.
    pub phases: Vec<(&'static str, std::time::Duration)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry<'a> {
    path: &'a str,
    stamp: Stamp,
    hash: u64,
}

/// The cache file's contents, items still encoded.
#[derive(Serialize, Deserialize)]
struct Contents<'a> {
    /// Stamps of the directories whose listing is `listed`.
    #[serde(borrow)]
    dirs: Vec<(&'a str, Stamp)>,
    /// The files found under `.nonlinear/` (sorted).
    #[serde(borrow)]
    listed: Vec<&'a str>,
    /// One per item file, sorted by path.
    #[serde(borrow)]
    entries: Vec<Entry<'a>>,
    /// Length and checksum (xxh3) of each chunk; the chunks follow this
    /// table in the file. Chunk `c` holds the items of entries
    /// `c * CHUNK ..` back to back, each an `Option<Item>` (`None` for a
    /// file that did not parse).
    chunks: Vec<(u32, u64)>,
}

/// The cache file, open, with its table of contents read.
struct Old {
    file: std::fs::File,
    mtime_ns: i64,
    table: Vec<u8>,
    /// Where the first chunk starts.
    chunks_at: u64,
}

/// A listing of `.nonlinear/`: its files, and its directories' stamps.
type Listing<'a> = (Vec<Cow<'a, str>>, Vec<(Cow<'a, str>, Stamp)>);

/// Where the item of one file comes from.
#[derive(Clone, Copy)]
enum Source {
    /// Cache entry `j`.
    Cached(usize),
    /// The `k`th file read.
    Read(usize),
}

/// A file that was read.
enum Fresh {
    /// Same content as cache entry `j`.
    Same(Stamp, u64, usize),
    New(Stamp, u64, Option<Box<Item>>),
    /// Unreadable (vanished, a symlink): no entry, so it is tried again
    /// next time; `check` is the command that reports it.
    Failed,
}

fn enabled() -> bool {
    std::env::var_os("NONLINEAR_CACHE").is_none_or(|v| v != "0" && v != "off")
}

/// Loads the graph of the workspace in `store` through the cache, updating
/// the cache when anything changed. Never fails: a problem with the cache
/// only costs a full read.
pub fn graph(store: &Store) -> (Graph, Report) {
    let (builder, mut report) = match attempt(store, true) {
        Ok(done) => done,
        Err(why) => {
            // The cache passed its checksums but its items did not decode
            // (a format change without a FORMAT bump): read every file
            // instead, and replace it.
            let (builder, mut report) =
                attempt(store, false).expect("without a cache there is nothing to decode");
            report.invalid = Some(why);
            (builder, report)
        }
    };
    let t = std::time::Instant::now();
    let graph = builder.finish();
    report.phases.push(("link", t.elapsed()));
    (graph, report)
}

/// Finds out which cached items still hold, reads the files that changed,
/// then adds every item in path order to a graph builder while the next
/// chunk of the cache is decoded on a second thread. Items move from the
/// decoder into the graph one chunk at a time: no second copy of the
/// workspace is ever held.
fn attempt(store: &Store, use_old: bool) -> Result<(Builder, Report), String> {
    let mut report = Report::default();
    let mut clock = std::time::Instant::now();
    let mut phase = |report: &mut Report, name| {
        report.phases.push((name, clock.elapsed()));
        clock = std::time::Instant::now();
    };
    let on = enabled();
    if on {
        // Before `.nonlinear/` is stamped: creating the cache directory
        // later would change that stamp and cost the next load a listing.
        let _ = make_cache_dir(&store.path(DIR));
    }
    let old = if on && use_old {
        read_cache(&store.path(FILE))
    } else {
        Err("the cache is off (NONLINEAR_CACHE=0) or unusable".to_owned())
    };
    let (contents, cache_mtime) = match &old {
        Ok(old) => match decode(old) {
            Ok(c) => (Some(c), old.mtime_ns),
            Err(e) => {
                report.invalid = Some(e);
                (None, i64::MIN)
            }
        },
        Err(e) => {
            report.invalid = Some(e.clone());
            (None, i64::MIN)
        }
    };
    phase(&mut report, "open");
    // A stamp proves a file unchanged only if it predates the cache.
    let settled = |st: &Stamp| st.settled_before(cache_mtime);

    let ((config, _), (listing, files, stamps)) = rayon::join(
        || store.config(),
        || {
            let (listing, components) = rayon::join(
                || {
                    let c = contents.as_ref()?;
                    let names: Vec<&str> = c.dirs.iter().map(|(d, _)| *d).collect();
                    let now = store.stamps(&names);
                    let same = !c.dirs.is_empty()
                        && c.dirs
                            .iter()
                            .zip(&now)
                            .all(|((_, was), is)| is.as_ref() == Some(was) && settled(was));
                    same.then(|| {
                        let listed = c.listed.iter().map(|&f| Cow::Borrowed(f)).collect();
                        let dirs = c
                            .dirs
                            .iter()
                            .map(|&(d, st)| (Cow::Borrowed(d), st))
                            .collect();
                        (listed, dirs)
                    })
                },
                || store.component_files(),
            );
            let relisted = listing.is_none();
            let (listed, dirs): Listing<'_> = listing.unwrap_or_else(|| {
                let (mut listed, dirs) = store.item_dirs_listing();
                listed.sort_unstable();
                (
                    listed.into_iter().map(Cow::Owned).collect(),
                    dirs.into_iter()
                        .map(|(d, st)| (Cow::Owned(d), st))
                        .collect(),
                )
            });
            let mut files: Vec<Cow<'_, str>> = listed
                .iter()
                .filter(|f| f.as_ref() != parse::CONFIG_PATH)
                .cloned()
                .chain(components.into_iter().map(Cow::Owned))
                .collect();
            files.sort_unstable();
            files.dedup();
            let stamps = store.stamps(&files);
            ((listed, dirs, relisted), files, stamps)
        },
    );
    let (listed, dirs, relisted) = listing;
    report.listed = relisted;
    report.files = files.len();
    phase(&mut report, "stat");

    // Match files to cache entries (both sorted by path).
    let old_entries: &[Entry] = contents.as_ref().map_or(&[], |c| &c.entries);
    let mut matched: Vec<Option<usize>> = Vec::with_capacity(files.len());
    let mut j = 0;
    for f in &files {
        while j < old_entries.len() && old_entries[j].path < f.as_ref() {
            j += 1;
        }
        matched.push((j < old_entries.len() && old_entries[j].path == f.as_ref()).then_some(j));
    }
    let mut sources = Vec::with_capacity(files.len());
    let mut to_read = Vec::new();
    for i in 0..files.len() {
        let keep = matched[i].filter(|&j| {
            let e = &old_entries[j];
            stamps[i].as_ref() == Some(&e.stamp) && settled(&e.stamp)
        });
        sources.push(match keep {
            Some(j) => Source::Cached(j),
            None => {
                to_read.push(i);
                Source::Read(to_read.len() - 1)
            }
        });
    }
    report.reused = files.len() - to_read.len();
    report.read = to_read.len();
    let read_paths: Vec<String> = to_read.iter().map(|&i| files[i].to_string()).collect();
    let fresh: Vec<Fresh> = store.read_each(&read_paths, |rel, res| {
        let Ok((bytes, stamp)) = res else {
            return Fresh::Failed;
        };
        let hash = xxhash_rust::xxh3::xxh3_64(bytes);
        let was = files
            .binary_search_by(|f| f.as_ref().cmp(rel))
            .ok()
            .and_then(|i| matched[i])
            .filter(|&j| old_entries[j].hash == hash);
        if let Some(j) = was {
            return Fresh::Same(stamp, hash, j);
        }
        let item = match parse::classify(rel) {
            Some(FileKind::Item(kind)) => parse::parse_item_with(rel, kind, bytes, Body::Drop)
                .0
                .map(Box::new),
            _ => None,
        };
        Fresh::New(stamp, hash, item)
    });
    report.parsed = fresh.iter().filter(|f| matches!(f, Fresh::New(..))).count();
    phase(&mut report, "read");

    let changed =
        contents.is_none() || relisted || !to_read.is_empty() || old_entries.len() != files.len();
    let mut out = (changed && on).then(|| Encoder::new(files.len()));

    let mut builder = Builder::new(config, files.len());
    let mut fresh: Vec<Option<Fresh>> = fresh.into_iter().map(Some).collect();
    let chunks: &[(u32, u64)] = contents.as_ref().map_or(&[], |c| &c.chunks);
    let file = old.as_ref().ok().map(|o| (&o.file, o.chunks_at));
    // Chunks with at least one item still needed, in order.
    let mut wanted = vec![false; chunks.len()];
    for s in &sources {
        let j = match s {
            Source::Cached(j) => Some(*j),
            Source::Read(k) => match &fresh[*k] {
                Some(Fresh::Same(_, _, j)) => Some(*j),
                _ => None,
            },
        };
        if let Some(j) = j {
            wanted[j / CHUNK] = true;
        }
    }
    let decoded = std::thread::scope(|scope| {
        let (tx, rx) =
            std::sync::mpsc::sync_channel::<(usize, Result<Vec<Option<Item>>, String>)>(2);
        let total = old_entries.len();
        let wanted = &wanted;
        scope.spawn(move || {
            let Some((file, mut at)) = file else {
                return;
            };
            // One buffer for every chunk: the file is never in memory whole.
            let mut buf = Vec::new();
            for (c, &(len, sum)) in chunks.iter().enumerate() {
                let start = at;
                at += u64::from(len);
                if !wanted[c] {
                    continue;
                }
                let count = CHUNK.min(total - c * CHUNK);
                let items = read_chunk(file, start, len, sum, &mut buf)
                    .and_then(|bytes| decode_chunk(bytes, count));
                if tx.send((c, items)).is_err() {
                    return;
                }
            }
        });
        let mut current: Option<(usize, Vec<Option<Item>>)> = None;
        let mut take_cached = |j: usize| -> Result<Option<Item>, String> {
            let c = j / CHUNK;
            while current.as_ref().is_none_or(|(have, _)| *have != c) {
                let (have, items) = rx.recv().map_err(|_| "cache decoder stopped".to_owned())?;
                current = Some((have, items?));
            }
            let (_, items) = current.as_mut().expect("just filled");
            Ok(items.get_mut(j % CHUNK).and_then(Option::take))
        };
        for (i, s) in sources.iter().enumerate() {
            let (entry, item) = match *s {
                Source::Cached(j) => (old_entries[j].clone(), take_cached(j)?),
                Source::Read(k) => match fresh[k].take() {
                    Some(Fresh::Same(stamp, hash, j)) => (
                        Entry {
                            path: &files[i],
                            stamp,
                            hash,
                        },
                        take_cached(j)?,
                    ),
                    Some(Fresh::New(stamp, hash, item)) => (
                        Entry {
                            path: &files[i],
                            stamp,
                            hash,
                        },
                        item.map(|i| *i),
                    ),
                    Some(Fresh::Failed) | None => continue,
                },
            };
            if let Some(out) = &mut out {
                out.push(entry, item.as_ref());
            }
            if let Some(item) = item {
                builder.push(item);
            }
        }
        Ok::<_, String>(())
    });
    decoded?;
    phase(&mut report, "decode");
    if let Some(out) = out {
        report.written = out.write(store, &dirs, &listed).is_ok();
        phase(&mut report, "write");
    }
    Ok((builder, report))
}

/// Opens the cache file and reads its header and table of contents.
///
/// Layout: magic, format (u32 LE), length and checksum (xxh3) of the
/// table (u64 LE each), the table ([`Contents`] in postcard), the chunks.
fn read_cache(path: &Path) -> Result<Old, String> {
    open_table(path, MAGIC, FORMAT)
}

/// Opens a chunked cache file (see [`read_cache`]) of the given kind.
fn open_table(path: &Path, magic: &[u8; 8], format_wanted: u32) -> Result<Old, String> {
    let mut file = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let meta = file.metadata().map_err(|e| format!("cannot stat: {e}"))?;
    let mtime_ns = Stamp::of(&meta).mtime_ns;
    let mut header = [0u8; HEADER];
    file.read_exact(&mut header)
        .map_err(|_| "not a cache file".to_owned())?;
    if &header[..magic.len()] != magic {
        return Err("not a cache file".into());
    }
    let (format, rest) = header[magic.len()..].split_at(4);
    let format = u32::from_le_bytes(format.try_into().map_err(|_| "short header")?);
    if format != format_wanted {
        return Err(format!(
            "format {format}, this version reads {format_wanted}"
        ));
    }
    let (len, sum) = rest.split_at(8);
    let len = u64::from_le_bytes(len.try_into().map_err(|_| "short header")?);
    let sum = u64::from_le_bytes(sum.try_into().map_err(|_| "short header")?);
    if len > meta.len() {
        return Err("checksum mismatch (truncated or corrupt)".into());
    }
    let mut table = vec![0; usize::try_from(len).map_err(|_| "oversized table")?];
    file.read_exact(&mut table)
        .map_err(|_| "checksum mismatch (truncated or corrupt)".to_owned())?;
    if xxhash_rust::xxh3::xxh3_64(&table) != sum {
        return Err("checksum mismatch (truncated or corrupt)".into());
    }
    Ok(Old {
        file,
        mtime_ns,
        table,
        chunks_at: HEADER as u64 + len,
    })
}

const HEADER: usize = MAGIC.len() + 4 + 8 + 8;

/// Decodes the table of contents and checks it against the file's size.
fn decode(old: &Old) -> Result<Contents<'_>, String> {
    let c: Contents<'_> =
        postcard::from_bytes(&old.table).map_err(|e| format!("undecodable: {e}"))?;
    if c.chunks.len() != c.entries.len().div_ceil(CHUNK) {
        return Err("chunk count does not match the entries".into());
    }
    check_size(old, &c.chunks)?;
    Ok(c)
}

/// Whether the chunks the table lists fill the rest of the file exactly.
fn check_size(old: &Old, chunks: &[(u32, u64)]) -> Result<(), String> {
    let chunks: u64 = chunks.iter().map(|&(len, _)| u64::from(len)).sum();
    let size = old.file.metadata().map_err(|e| e.to_string())?.len();
    if old.chunks_at + chunks != size {
        return Err("checksum mismatch (truncated or corrupt)".into());
    }
    Ok(())
}

/// Reads chunk bytes into `buf` and checks them.
fn read_chunk<'b>(
    file: &std::fs::File,
    at: u64,
    len: u32,
    sum: u64,
    buf: &'b mut Vec<u8>,
) -> Result<&'b [u8], String> {
    buf.resize(len as usize, 0);
    read_exact_at(file, buf, at).map_err(|e| format!("cannot read: {e}"))?;
    if xxhash_rust::xxh3::xxh3_64(buf) != sum {
        return Err("checksum mismatch in an item chunk".into());
    }
    Ok(buf)
}

#[cfg(unix)]
fn read_exact_at(file: &std::fs::File, buf: &mut [u8], at: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, at)
}

#[cfg(not(unix))]
fn read_exact_at(file: &std::fs::File, buf: &mut [u8], at: u64) -> io::Result<()> {
    use std::io::Seek;
    let mut f = file;
    f.seek(io::SeekFrom::Start(at))?;
    f.read_exact(buf)
}

/// Decodes the `count` items of one chunk.
fn decode_chunk(mut bytes: &[u8], count: usize) -> Result<Vec<Option<Item>>, String> {
    let mut items = Vec::with_capacity(count);
    for _ in 0..count {
        let (item, rest) = postcard::take_from_bytes::<Option<Item>>(bytes)
            .map_err(|e| format!("undecodable item: {e}"))?;
        items.push(item);
        bytes = rest;
    }
    if !bytes.is_empty() {
        return Err("trailing bytes after a chunk's items".into());
    }
    Ok(items)
}

/// A new cache file, built as the items stream past.
struct Encoder<'a> {
    entries: Vec<Entry<'a>>,
    chunks: Vec<Vec<u8>>,
    failed: bool,
}

impl<'a> Encoder<'a> {
    fn new(files: usize) -> Encoder<'a> {
        Encoder {
            entries: Vec::with_capacity(files),
            chunks: Vec::with_capacity(files.div_ceil(CHUNK)),
            failed: false,
        }
    }

    fn push(&mut self, entry: Entry<'a>, item: Option<&Item>) {
        if self.entries.len().is_multiple_of(CHUNK) {
            self.chunks.push(Vec::with_capacity(CHUNK * 256));
        }
        self.entries.push(entry);
        let chunk = self.chunks.last_mut().expect("a chunk was just pushed");
        // `Option<&Item>` encodes like `Option<Item>`.
        match postcard::to_io(&item, &mut *chunk) {
            Ok(_) => {}
            Err(_) => self.failed = true,
        }
    }

    fn write(
        self,
        store: &Store,
        dirs: &[(Cow<'_, str>, Stamp)],
        listed: &[Cow<'_, str>],
    ) -> io::Result<()> {
        if self.failed {
            return Err(io::Error::other("an item did not encode"));
        }
        let chunks = chunk_table(&self.chunks)?;
        let contents = Contents {
            dirs: dirs.iter().map(|(d, st)| (d.as_ref(), *st)).collect(),
            listed: listed.iter().map(AsRef::as_ref).collect(),
            entries: self.entries,
            chunks,
        };
        let table = postcard::to_stdvec(&contents).map_err(io::Error::other)?;
        let path = store.path(FILE);
        make_cache_dir(path.parent().expect("the cache file is in a directory"))?;
        write_file(&path, MAGIC, FORMAT, &table, &self.chunks)
    }
}

/// Creates `.nonlinear/cache/` (or `dir` in general) with a `.gitignore`
/// of `*`, so git never sees what is derived, whatever the repository's
/// own ignore files say.
pub(crate) fn make_cache_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        std::fs::write(
            &ignore,
            "# Non-Linear's cache: derived from the files, never committed.\n*\n",
        )?;
    }
    Ok(())
}

/// Chunks for `write_file`: their length and checksum, for the table.
fn chunk_table(chunks: &[Vec<u8>]) -> io::Result<Vec<(u32, u64)>> {
    chunks
        .iter()
        .map(|c| {
            let len = u32::try_from(c.len()).map_err(io::Error::other)?;
            Ok((len, xxhash_rust::xxh3::xxh3_64(c)))
        })
        .collect()
}

/// Writes a chunked cache file atomically: a temporary file in the same
/// directory, renamed over `path`.
fn write_file(
    path: &Path,
    magic: &[u8; 8],
    format: u32,
    table: &[u8],
    chunks: &[Vec<u8>],
) -> io::Result<()> {
    let dir = path.parent().expect("the cache file is in a directory");
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("cache");
    let tmp = dir.join(format!(
        ".{name}.{}.{:x}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let result = (|| {
        let mut f = io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp)?);
        f.write_all(magic)?;
        f.write_all(&format.to_le_bytes())?;
        f.write_all(&(table.len() as u64).to_le_bytes())?;
        f.write_all(&xxhash_rust::xxh3::xxh3_64(table).to_le_bytes())?;
        f.write_all(table)?;
        for c in chunks {
            f.write_all(c)?;
        }
        f.into_inner().map_err(io::IntoInnerError::into_error)?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Items parsed from git blobs, keyed by path and blob id: the parse of a
/// blob never changes, so this cache can never be stale. `diff` between
/// two revisions of a large workspace reads the unchanged files of both
/// from here instead of decompressing and parsing every blob (see
/// [`crate::git`]). It lives in the repository's git directory
/// (`nonlinear/items-by-blob.bin`), out of any work tree, and holds the
/// files of the last read that added to it. Only files that parsed without
/// a problem are kept; the others are parsed every time, so their
/// diagnostics are always there.
pub(crate) mod by_blob {
    use std::path::{Path, PathBuf};

    use rayon::prelude::*;
    use schema::Item;
    use serde::{Deserialize, Serialize};

    use super::{CHUNK, check_size, chunk_table, decode_chunk, open_table, read_chunk, write_file};

    const MAGIC: &[u8; 8] = b"NLBLOBS\0";
    /// Versioned with the workspace cache: both encode [`Item`].
    const FORMAT: u32 = super::FORMAT;

    #[derive(Serialize, Deserialize)]
    struct Table<'a> {
        /// Path and blob id of each item, sorted.
        #[serde(borrow)]
        keys: Vec<(&'a str, &'a [u8])>,
        chunks: Vec<(u32, u64)>,
    }

    pub(crate) struct ByBlob {
        path: PathBuf,
    }

    impl ByBlob {
        pub(crate) fn in_git_dir(git_dir: &Path) -> ByBlob {
            ByBlob {
                path: git_dir.join("nonlinear").join("items-by-blob.bin"),
            }
        }

        /// The cached item of each `(path, blob)`, `None` where there is
        /// none. Never fails: an unreadable cache is an empty one.
        pub(crate) fn get(&self, files: &[(&str, &[u8])]) -> Vec<Option<Item>> {
            self.try_get(files)
                .unwrap_or_else(|_| files.iter().map(|_| None).collect())
        }

        fn try_get(&self, files: &[(&str, &[u8])]) -> Result<Vec<Option<Item>>, String> {
            if !super::enabled() {
                return Err("off".into());
            }
            let old = open_table(&self.path, MAGIC, FORMAT)?;
            let table: Table<'_> =
                postcard::from_bytes(&old.table).map_err(|e| format!("undecodable: {e}"))?;
            if table.chunks.len() != table.keys.len().div_ceil(CHUNK) {
                return Err("chunk count does not match the keys".into());
            }
            check_size(&old, &table.chunks)?;
            let at: Vec<Option<usize>> = files
                .iter()
                .map(|key| table.keys.binary_search(key).ok())
                .collect();
            let mut wanted = vec![false; table.chunks.len()];
            for j in at.iter().flatten() {
                wanted[j / CHUNK] = true;
            }
            let mut offsets = Vec::with_capacity(table.chunks.len());
            let mut o = old.chunks_at;
            for &(len, _) in &table.chunks {
                offsets.push(o);
                o += u64::from(len);
            }
            let mut chunks: Vec<Option<Vec<Option<Item>>>> = (0..table.chunks.len())
                .into_par_iter()
                .map_init(Vec::new, |buf, c| {
                    if !wanted[c] {
                        return Ok(None);
                    }
                    let (len, sum) = table.chunks[c];
                    let count = CHUNK.min(table.keys.len() - c * CHUNK);
                    read_chunk(&old.file, offsets[c], len, sum, buf)
                        .and_then(|bytes| decode_chunk(bytes, count))
                        .map(Some)
                })
                .collect::<Result<_, String>>()?;
            Ok(at
                .into_iter()
                .map(|j| {
                    let j = j?;
                    chunks[j / CHUNK].as_mut()?.get_mut(j % CHUNK)?.take()
                })
                .collect())
        }

        /// Replaces the cache with these items (sorted by path and blob id
        /// here). Best effort: a read-only git directory goes without.
        pub(crate) fn put(&self, mut items: Vec<(&str, &[u8], &Item)>) {
            items.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
            items.dedup_by(|a, b| (a.0, a.1) == (b.0, b.1));
            let chunks: Result<Vec<Vec<u8>>, postcard::Error> = items
                .par_chunks(CHUNK)
                .map(|chunk| {
                    let mut out = Vec::with_capacity(chunk.len() * 256);
                    for (_, _, item) in chunk {
                        postcard::to_io(&Some(*item), &mut out)?;
                    }
                    Ok(out)
                })
                .collect();
            let Ok(chunks) = chunks else {
                return;
            };
            let Ok(table) = chunk_table(&chunks) else {
                return;
            };
            let table = Table {
                keys: items.iter().map(|(p, k, _)| (*p, *k)).collect(),
                chunks: table,
            };
            let Ok(bytes) = postcard::to_stdvec(&table) else {
                return;
            };
            if let Some(dir) = self.path.parent()
                && std::fs::create_dir_all(dir).is_ok()
            {
                let _ = write_file(&self.path, MAGIC, FORMAT, &bytes, &chunks);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The encoding of one item of every kind, pinned. When this snapshot
    /// changes (a field was added, moved or retyped in `schema::model`),
    /// bump [`FORMAT`] — otherwise old caches would decode into garbage or
    /// fail — then update the snapshot with `UPDATE_EXPECT=1`.
    #[test]
    fn cache_format_is_pinned() {
        let files: [(&str, &str); 3] = [
            (
                ".nonlinear/issues/NL-a.md",
                "---\nid: 0193a6f0-0000-7000-8000-000000000001\nshort_id: NL-a\ntitle: A\nstatus: todo\nlabels: [bug]\nassignee: ana\ncreated_at: 2026-01-02T03:04:05Z\npriority: 2\nestimate: 1.5\ndue: 2026-02-03\nparent: WEB\nblocks: [NL-b]\nextra_field: {x: 1}\n---\nbody\n",
            ),
            (
                ".nonlinear/components/WEB.md",
                "---\nid: 0193a6f0-0000-7000-8000-000000000002\nshort_id: WEB\ntitle: Web\nrepo: {path: web, branch: main}\ndepends_on: [API]\n---\n",
            ),
            (
                ".nonlinear/artifacts/NL-x.md",
                "---\nid: 0193a6f0-0000-7000-8000-000000000003\nshort_id: NL-x\ntitle: Spec\nkind: link\nurl: https://example.com/spec\nattached_to: [NL-a]\n---\n",
            ),
        ];
        let mut hex = String::new();
        for (path, text) in files {
            let Some(FileKind::Item(kind)) = parse::classify(path) else {
                panic!("{path} is an item file");
            };
            let item = parse::parse_item_with(path, kind, text.as_bytes(), Body::Drop).0;
            let bytes = postcard::to_stdvec(&item).expect("encodes");
            let back: Option<Item> = postcard::from_bytes(&bytes).expect("decodes");
            assert_eq!(back, item, "{path} round-trips");
            for line in bytes.chunks(32) {
                for b in line {
                    hex.push_str(&format!("{b:02x}"));
                }
                hex.push('\n');
            }
            hex.push('\n');
        }
        expect_test::expect![[r#"
            01192e6e6f6e6c696e6561722f6973737565732f4e4c2d612e6d6401100193a6
            f0000070008000000000000001020501044e4c2d61030b010141040801010474
            6f646f05090103627567060a0103616e61070b0001cad6b9950d00080d000102
            090b01000000000000f83f0a0b01d41f02030b0601035745420c0901044e4c2d
            620d0a0000010b65787472615f6669656c640201000178000e0f000131000e12
            0e0e00

            011c2e6e6f6e6c696e6561722f636f6d706f6e656e74732f5745422e6d640110
            0193a6f000007000800000000000000202050103574542030b01035765620408
            00000000000103776562050e01046d61696e00000103415049060e0000000000
            00

            011c2e6e6f6e6c696e6561722f6172746966616374732f4e4c2d782e6d640110
            0193a6f0000070008000000000000003020501044e4c2d78030b010453706563
            04080201000507011868747470733a2f2f6578616d706c652e636f6d2f737065
            63060600000001044e4c2d61070f00000000

        "#]]
        .assert_eq(&hex);
    }
}
