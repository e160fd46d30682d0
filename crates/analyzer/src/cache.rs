//! The per-file cache, `.nonlinear/cache/analyzer.bin`: what each source
//! file and manifest yielded, keyed by its path and the xxh3 of its content,
//! so a run re-parses only files whose content changed. Any damage or version
//! change means an empty cache (a full run), never an error.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use schema::store::Stamp;

use crate::cargo::Manifest;
use crate::code::CodeFacts;
use crate::rust::RustFacts;

/// Relative to the workspace root; `.nonlinear/cache/` is git-ignored.
pub const CACHE_PATH: &str = ".nonlinear/cache/analyzer.bin";

const MAGIC: &[u8; 8] = b"NLANLZ\0\0";
/// Bump when [`Entry`] or what the analyzer extracts changes.
const FORMAT: u32 = 8;

/// What one source file yielded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The file's stamp, taken before it was read.
    pub stamp: Stamp,
    /// When the run that read it started (ns since the Unix epoch).
    pub read_at_ns: i64,
    /// xxh3 of the file's bytes.
    pub hash: u64,
    /// Lines of the file.
    pub lines: u32,
    /// A generated-code marker was found; `facts` is then empty.
    pub generated: bool,
    /// Rust paths (empty for other languages).
    pub facts: RustFacts,
    /// Imports of other languages, call sites, SQL, services.
    pub code: CodeFacts,
}

/// What the analyzer remembers between runs.
#[derive(Debug, Clone, Default)]
pub struct Cache {
    /// Source path → entry.
    pub files: HashMap<String, Entry>,
    /// Manifest path → (xxh3 of its bytes, what it says).
    pub manifests: HashMap<String, (u64, Manifest)>,
    /// The last walk of the tree, reused while no directory and no ignore
    /// file changed.
    pub listing: Option<Listing>,
}

/// What a walk of the tree found, and what proves it still holds.
///
/// A file added, removed or renamed changes its directory's stamp; a
/// rewrite of `.gitignore` in place does not, so ignore files are stamped
/// too. Stamps count only when settled before the walk started (git's
/// racy rule, [`Stamp::settled_before`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Listing {
    /// When the walk started (ns since the Unix epoch, less the racy
    /// margin).
    pub horizon_ns: i64,
    /// Every directory walked (`.` for the root) with its stamp.
    pub dirs: Vec<(String, Stamp)>,
    /// Ignore files that were read or could appear, with their stamps
    /// (`None`: absent).
    pub controls: Vec<(String, Option<Stamp>)>,
    pub sources: Vec<String>,
    pub manifests: Vec<String>,
    pub other_manifests: Vec<String>,
    pub gitattributes: Vec<String>,
}

/// The encoded form: both maps as vectors sorted by path, and the listing.
type Encoded = (
    Vec<(String, Entry)>,
    Vec<(String, (u64, Manifest))>,
    Option<Listing>,
);

/// Reads the cache; empty when missing, damaged or of another format.
pub fn load(root: &Path) -> Cache {
    let Ok(bytes) = fs::read(root.join(CACHE_PATH)) else {
        return Cache::default();
    };
    let Some(rest) = bytes.strip_prefix(MAGIC.as_slice()) else {
        return Cache::default();
    };
    let (Some(format), Some(body)) = (rest.get(..4), rest.get(4..)) else {
        return Cache::default();
    };
    if format != FORMAT.to_le_bytes() {
        return Cache::default();
    }
    postcard::from_bytes::<Encoded>(body)
        .map(|(files, manifests, listing)| Cache {
            files: files.into_iter().collect(),
            manifests: manifests.into_iter().collect(),
            listing,
        })
        .unwrap_or_default()
}

/// Writes the cache atomically (temporary file, rename), entries sorted by
/// path.
pub fn save(root: &Path, cache: &Cache) -> std::io::Result<()> {
    let mut files: Vec<_> = cache.files.iter().collect();
    files.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut manifests: Vec<_> = cache.manifests.iter().collect();
    manifests.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let body =
        postcard::to_stdvec(&(files, manifests, &cache.listing)).map_err(std::io::Error::other)?;
    let path = root.join(CACHE_PATH);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("bin.{}.tmp", std::process::id()));
    let mut f = fs::File::create(&tmp)?;
    f.write_all(MAGIC)?;
    f.write_all(&FORMAT.to_le_bytes())?;
    f.write_all(&body)?;
    drop(f);
    fs::rename(&tmp, &path)
}

/// How long before a read a file must have last changed for its stamp
/// alone to vouch for the cached entry (git's "racy" rule, with room for
/// file systems with coarse timestamps).
const RACY_NS: i64 = 2_000_000_000;

impl Entry {
    /// Whether the file is certainly unchanged since the entry was made:
    /// the same stamp (size, inode, modification and change times), and a
    /// modification time older than the read by [`RACY_NS`] (a write within
    /// the same timestamp tick as the read could keep the stamp). Setting
    /// the modification time back changes the change time.
    pub fn unchanged(&self, now: &Stamp) -> bool {
        self.stamp == *now && self.stamp.mtime_ns < self.read_at_ns - RACY_NS
    }
}
