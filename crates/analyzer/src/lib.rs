//! `nonlinear-analyzer`: Layer-3 links between components inferred from the
//! repository's source files, each with evidence (`file:line`).
//!
//! A deterministic function of the files: components and their code paths
//! come from the workspace (`schema::store`), the sources from a walk of
//! the workspace root that honours `.gitignore` and the skip rules of
//! [`skip`]. Every source file belongs to the component with the most
//! specific path that contains it. So far:
//!
//! - `DEPENDS_ON` from Cargo manifests: a dependency on another crate of the
//!   repository (a `path` dependency, also through `{ workspace = true }`);
//! - `IMPORTS` from Rust sources read with syn: `use`, `extern crate` and
//!   qualified paths whose first segment names another crate of the
//!   repository, as the importing crate's manifest names it (renames with
//!   `package = …`), and through a facade crate's `pub use`.
//!
//! ```no_run
//! let store = schema::store::Store::discover(std::path::Path::new("."))?;
//! let analysis = nonlinear_analyzer::analyze(&store)?;
//! nonlinear_analyzer::write(&store, &analysis)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The analyzer writes two files only: the generated edges file
//! ([`edges::EDGES_PATH`]) and its cache ([`cache::CACHE_PATH`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use schema::Workspace;
use schema::parse::{Body, FileKind};
use schema::store::Store;
use serde::Serialize;

pub mod api;
pub mod cache;
pub mod cargo;
pub mod code;
pub mod ecosys;
pub mod edges;
mod links;
pub mod rust;
pub mod skip;
pub mod sql;

pub use edges::{EDGES_PATH, Edge, EdgeKind, Evidence, Source};

/// What a run found.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    /// Sorted by (kind, from, to).
    pub edges: Vec<Edge>,
    /// Inferred links a component's `suppress:` left out, with the reason.
    pub suppressed: Vec<edges::Suppressed>,
    /// Files that could not be read or parsed; they add no edges.
    pub problems: Vec<Problem>,
    pub stats: Stats,
}

/// A file the analyzer could not use.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Problem {
    pub file: String,
    pub line: u32,
    pub message: String,
}

/// Counts of one run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    /// Components with a code path.
    pub components: usize,
    pub manifests: usize,
    /// Manifests parsed in this run; the rest came from the cache.
    pub manifests_parsed: usize,
    pub crates: usize,
    /// Rust files analyzed (not skipped).
    pub rust_files: usize,
    /// Other files analyzed: sources of the tree-sitter languages,
    /// `.proto`, `.sql` and configuration files.
    pub other_files: usize,
    /// Lines of those files.
    pub lines: u64,
    /// Files parsed in this run; the rest came from the cache.
    pub parsed: usize,
    pub cached: usize,
    /// Files read (and hashed) in this run; a cached file whose stamp
    /// vouches for it is not read.
    pub read: usize,
    pub skipped_generated: usize,
    pub skipped_vendored: usize,
    /// Source files no component owns.
    pub unowned: usize,
    /// Whether the tree was walked; `false` when the last walk's listing
    /// still held (no directory and no ignore file changed).
    pub walked: bool,
    #[serde(skip)]
    pub elapsed: Duration,
    /// Wall time of each phase of the run (walk, sources, manifests,
    /// index, edges).
    #[serde(skip)]
    pub phases: Vec<(&'static str, Duration)>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Analyzes the workspace's repository with the cache in
/// `.nonlinear/cache/analyzer.bin` (read, and rewritten when it changed).
pub fn analyze(store: &Store) -> Result<Analysis, Error> {
    // Components are all the analyzer needs of the workspace.
    let files: Vec<String> = store
        .item_files()
        .into_iter()
        .filter(|f| {
            matches!(
                schema::parse::classify(f),
                Some(FileKind::Config | FileKind::Item(schema::Kind::Component))
            )
        })
        .collect();
    let ws = store.load_files(&files, Body::Drop);
    let root = store.root();
    let mut cache = cache::load(root);
    let before = (cache.files.len(), cache.manifests.len());
    let analysis = run(root, &ws, &mut cache);
    // Every entry left is a file of this run: the cache changed when a file
    // was read (new content or a new stamp), a manifest parsed, or a file
    // is gone.
    if analysis.stats.read > 0
        || analysis.stats.walked
        || analysis.stats.manifests_parsed > 0
        || (cache.files.len(), cache.manifests.len()) != before
    {
        cache::save(root, &cache).map_err(|source| Error::Io {
            path: cache::CACHE_PATH.into(),
            source,
        })?;
    }
    Ok(analysis)
}

/// Analyzes the files under `root` for the components of `ws`, without a
/// cache on disk: `cache` is read and updated in place (entries of files
/// that are gone are removed).
pub fn run(root: &Path, ws: &Workspace, cache: &mut cache::Cache) -> Analysis {
    let start = Instant::now();
    let mut clock = Instant::now();
    let mut phase = |stats: &mut Stats, name: &'static str| {
        stats.phases.push((name, clock.elapsed()));
        clock = Instant::now();
    };
    let mut stats = Stats::default();
    let mut problems = Vec::new();
    let owners = Owners::new(ws);
    stats.components = owners.count;

    let files = match cache.listing.as_ref().and_then(|l| relist(root, l)) {
        Some(files) => {
            stats.walked = false;
            files
        }
        None => {
            let (files, listing) = walk(root);
            cache.listing = Some(listing);
            stats.walked = true;
            files
        }
    };
    phase(&mut stats, "walk");
    let analyzer_config = ws
        .config
        .as_ref()
        .map(|c| c.analyzer.clone())
        .unwrap_or_default();
    let attrs = skip::Attributes::with_config(
        files
            .gitattributes
            .iter()
            .filter_map(|p| Some((p.as_str(), read_text(root, p).ok()?)))
            .collect::<Vec<_>>()
            .iter()
            .map(|(p, t)| (*p, t.as_str())),
        &analyzer_config,
    );

    let paths: Vec<&String> = files
        .manifests
        .iter()
        .filter(|p| attrs.skipped(p).is_none())
        .collect();
    let (manifests, manifest_hashes) = read_manifests(
        root,
        &paths,
        std::mem::take(&mut cache.manifests),
        &mut stats,
        &mut problems,
    );
    stats.manifests = manifests.len();
    let crates = Crates::new(&manifests);
    stats.crates = crates.list.len();

    // Sources, in parallel, through the cache.
    let mut sources = Vec::new();
    for (path, stamp) in &files.sources {
        match attrs.skipped(path) {
            Some(skip::Skipped::Generated) => stats.skipped_generated += 1,
            Some(skip::Skipped::Vendored) => stats.skipped_vendored += 1,
            None => sources.push((path.as_str(), *stamp)),
        }
    }
    cache.files = read_sources(
        root,
        &sources,
        std::mem::take(&mut cache.files),
        &mut stats,
        &mut problems,
    );
    // The other ecosystems' manifests are few and small: read every run.
    phase(&mut stats, "sources");
    let others: Vec<(ecosys::ManifestKind, ecosys::Package)> = files
        .other_manifests
        .par_iter()
        .filter(|p| attrs.skipped(p).is_none())
        .filter_map(|path| {
            let kind = ecosys::ManifestKind::of(path.rsplit('/').next().unwrap_or(path))?;
            Some((path, kind, read_text(root, path)))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .filter_map(|(path, kind, text)| {
            let parsed = text.map_err(|e| io_problem(path, &e)).and_then(|t| {
                ecosys::parse(kind, path, &t).map_err(|(line, message)| Problem {
                    file: path.clone(),
                    line,
                    message: format!("not parsed: {message}"),
                })
            });
            match parsed {
                Ok(p) => Some((kind, p)),
                Err(p) => {
                    problems.push(p);
                    None
                }
            }
        })
        .collect();
    stats.manifests += others.len();
    let mut sorted: Vec<(&String, &cache::Entry)> = cache.files.iter().collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
    phase(&mut stats, "manifests");
    let index = {
        let packages: Vec<ecosys::Package> = others.iter().map(|(_, p)| p.clone()).collect();
        ecosys::Index::new(
            &packages,
            sorted
                .iter()
                .map(|(p, _)| p.as_str())
                .filter(|p| p.ends_with(".py") || p.ends_with(".pyi")),
            sorted
                .iter()
                .filter_map(|(p, e)| Some((p.as_str(), e.code.package.as_deref()?))),
        )
    };

    phase(&mut stats, "index");
    // The passes are independent: Rust's on one core, the rest on the other.
    let ((mut builder, unowned), (others_links, api_links)) = rayon::join(
        || {
            let mut b = EdgeBuilder::default();
            let mut unowned = 0;
            depends_on(&manifests, &crates, &owners, &mut b);
            imports(
                &cache.files,
                &sorted,
                &crates,
                &owners,
                &mut b,
                &mut unowned,
            );
            (b, unowned)
        },
        || {
            rayon::join(
                || {
                    let mut b = EdgeBuilder::default();
                    links::depends_on(&others, &index, &owners, &mut b);
                    links::imports(&sorted, &index, &owners, &mut b);
                    b
                },
                || {
                    let mut b = EdgeBuilder::default();
                    links::calls_api(&sorted, &owners, &mut b);
                    links::shares_db(&sorted, &owners, &mut b);
                    b
                },
            )
        },
    );
    stats.unowned = unowned;
    builder.merge(others_links);
    builder.merge(api_links);
    phase(&mut stats, "links");
    let (edges, suppressed) = builder.finish(&manual_links(ws), &suppressions(ws), &mut problems);
    phase(&mut stats, "edges");
    drop(crates);
    cache.manifests = manifests
        .into_iter()
        .zip(manifest_hashes)
        .map(|(m, h)| (m.path.clone(), (h, m)))
        .collect();
    problems.sort();
    stats.elapsed = start.elapsed();
    Analysis {
        edges,
        suppressed,
        problems,
        stats,
    }
}

/// Reads and parses manifests in parallel; a manifest whose hash is in
/// `old` is not parsed again. Returns the manifests and their hashes.
fn read_manifests(
    root: &Path,
    paths: &[&String],
    old_manifests: HashMap<String, (u64, cargo::Manifest)>,
    stats: &mut Stats,
    problems: &mut Vec<Problem>,
) -> (Vec<cargo::Manifest>, Vec<u64>) {
    let read: Vec<(&String, ManifestRead)> = paths
        .par_iter()
        .map(|path| {
            let r = fs::read(root.join(path))
                .map_err(|e| io_problem(path, &e))
                .and_then(|bytes| {
                    let hash = xxhash_rust::xxh3::xxh3_64(&bytes);
                    if old_manifests.get(*path).is_some_and(|(h, _)| *h == hash) {
                        return Ok((hash, None));
                    }
                    let text = String::from_utf8(bytes).map_err(|_| Problem {
                        file: (*path).clone(),
                        line: 1,
                        message: "not UTF-8".into(),
                    })?;
                    cargo::parse(path, &text)
                        .map(|m| (hash, Some(m)))
                        .map_err(|e| Problem {
                            file: (*path).clone(),
                            line: 1,
                            message: e.message,
                        })
                });
            (*path, r)
        })
        .collect();
    let mut old_manifests = old_manifests;
    let mut manifests = Vec::new();
    let mut manifest_hashes = Vec::new();
    for (path, r) in read {
        match r {
            Ok((hash, parsed)) => {
                let m = match parsed {
                    Some(m) => {
                        stats.manifests_parsed += 1;
                        m
                    }
                    None => {
                        old_manifests
                            .remove(path)
                            .expect("a cache hit has an entry")
                            .1
                    }
                };
                manifests.push(m);
                manifest_hashes.push(hash);
            }
            Err(p) => problems.push(p),
        }
    }
    (manifests, manifest_hashes)
}

/// Reads Rust sources in parallel through the cache `old` (see
/// [`cache::Entry::unchanged`]); returns the entries of this run.
fn read_sources(
    root: &Path,
    rust_files: &[(&str, Option<schema::store::Stamp>)],
    mut old: HashMap<String, cache::Entry>,
    stats: &mut Stats,
    problems: &mut Vec<Problem>,
) -> HashMap<String, cache::Entry> {
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    let read_problems = Mutex::new(Vec::new());
    let results: Vec<(&str, Cached)> = rust_files
        .par_iter()
        .filter_map(|&(path, stamp)| {
            // An old enough unchanged stamp: not even read.
            if let Some(st) = &stamp
                && old.get(path).is_some_and(|e| e.unchanged(st))
            {
                return Some((path, Cached::Same));
            }
            let bytes = match fs::read(root.join(path)) {
                Ok(b) => b,
                Err(e) => {
                    read_problems
                        .lock()
                        .expect("no panics while holding the lock")
                        .push(io_problem(path, &e));
                    return None;
                }
            };
            let hash = xxhash_rust::xxh3::xxh3_64(&bytes);
            if old.get(path).is_some_and(|e| e.hash == hash) {
                return Some((path, Cached::Restamp(stamp.unwrap_or_default())));
            }
            let Ok(text) = std::str::from_utf8(&bytes) else {
                read_problems
                    .lock()
                    .expect("no panics while holding the lock")
                    .push(Problem {
                        file: path.to_owned(),
                        line: 1,
                        message: "not UTF-8".into(),
                    });
                return None;
            };
            let generated = skip::is_generated(text);
            let (facts, code) = if generated {
                Default::default()
            } else {
                extract(path, text)
            };
            let lines = text.lines().count() as u32;
            Some((
                path,
                Cached::No(Box::new(cache::Entry {
                    stamp: stamp.unwrap_or_default(),
                    read_at_ns: now_ns,
                    hash,
                    lines,
                    generated,
                    facts,
                    code,
                })),
            ))
        })
        .collect();
    problems.extend(
        read_problems
            .into_inner()
            .expect("no panics while holding the lock"),
    );
    // Entries are updated in place: a run with one changed file moves
    // nothing but that file's entry.
    let paths: Vec<&str> = results.iter().map(|(p, _)| *p).collect();
    for (path, parsed) in results {
        let e = match parsed {
            Cached::No(e) => {
                stats.parsed += 1;
                stats.read += 1;
                let e = old.entry(path.to_owned()).insert_entry(*e);
                e.into_mut()
            }
            Cached::Same => {
                stats.cached += 1;
                old.get_mut(path).expect("a cache hit has an entry")
            }
            Cached::Restamp(stamp) => {
                stats.cached += 1;
                stats.read += 1;
                let e = old.get_mut(path).expect("a cache hit has an entry");
                e.stamp = stamp;
                e.read_at_ns = now_ns;
                e
            }
        };
        if e.generated {
            stats.skipped_generated += 1;
        } else {
            if path.ends_with(".rs") {
                stats.rust_files += 1;
            } else {
                stats.other_files += 1;
            }
            stats.lines += u64::from(e.lines);
            if let Some((line, message)) = e.facts.error.as_ref().or(e.code.error.as_ref()) {
                problems.push(Problem {
                    file: path.to_owned(),
                    line: *line,
                    message: format!("not parsed: {message}"),
                });
            }
        }
    }
    // Entries of files that are gone (or failed to read) leave.
    if old.len() > paths.len() {
        let listed: std::collections::HashSet<&str> = paths.into_iter().collect();
        old.retain(|p, _| listed.contains(p.as_str()));
    }
    old
}

/// What the analyzer keeps of a file, by its kind.
fn extract(path: &str, text: &str) -> (rust::RustFacts, code::CodeFacts) {
    match SourceKind::of(path) {
        Some(SourceKind::Rust) => {
            let (r, c) = rust::facts(text);
            (r, code::derive(c))
        }
        Some(SourceKind::Code(lang)) => (
            rust::RustFacts::default(),
            code::derive(code::facts(lang, text)),
        ),
        Some(SourceKind::Proto) => (rust::RustFacts::default(), code::proto(text)),
        Some(SourceKind::Sql) => (
            rust::RustFacts::default(),
            code::CodeFacts {
                tables: sql::tables_in_file(text),
                ..Default::default()
            },
        ),
        Some(SourceKind::Config) => (
            rust::RustFacts::default(),
            code::CodeFacts {
                strings: sql::urls_in_text(text),
                ..Default::default()
            },
        ),
        None => Default::default(),
    }
}

/// A manifest's hash and, when it was parsed in this run (not cached), what
/// it says.
type ManifestRead = Result<(u64, Option<cargo::Manifest>), Problem>;

/// What the cache held for a file.
enum Cached {
    /// The entry holds (the stamp says so).
    Same,
    /// The entry holds (same content), with a new stamp.
    Restamp(schema::store::Stamp),
    /// Parsed in this run.
    No(Box<cache::Entry>),
}

impl Analysis {
    /// The generated edges file.
    pub fn render(&self) -> String {
        edges::render(&self.edges, &self.suppressed)
    }

    /// Edge counts by kind.
    pub fn counts(&self) -> BTreeMap<EdgeKind, usize> {
        let mut m = BTreeMap::new();
        for e in &self.edges {
            *m.entry(e.kind).or_insert(0) += 1;
        }
        m
    }
}

/// Writes [`edges::EDGES_PATH`] when its content differs; returns whether
/// it did.
pub fn write(store: &Store, analysis: &Analysis) -> Result<bool, Error> {
    let text = analysis.render();
    let path = store.path(EDGES_PATH);
    if fs::read(&path).is_ok_and(|old| old == text.as_bytes()) {
        return Ok(false);
    }
    let err = |source| Error::Io {
        path: EDGES_PATH.into(),
        source,
    };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(err)?;
    }
    let tmp = path.with_extension(format!("yaml.{}.tmp", std::process::id()));
    fs::write(&tmp, text).map_err(err)?;
    fs::rename(&tmp, &path).map_err(err)?;
    Ok(true)
}

/// Whether [`edges::EDGES_PATH`] holds exactly what `analysis` renders.
pub fn up_to_date(store: &Store, analysis: &Analysis) -> bool {
    fs::read(store.path(EDGES_PATH)).is_ok_and(|old| old == analysis.render().as_bytes())
}

// ---------------------------------------------------------------------------
// Walk

#[derive(Default)]
struct Files {
    /// Files whose content the analyzer reads, with the stamp taken while
    /// listing (before any read): sources in every language, `.proto` and
    /// `.sql` files, configuration that may hold database URLs.
    sources: Vec<(String, Option<schema::store::Stamp>)>,
    manifests: Vec<String>,
    /// Manifests of the other ecosystems ([`ecosys::ManifestKind`]).
    other_manifests: Vec<String>,
    gitattributes: Vec<String>,
}

/// What kind of file the analyzer reads a path as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SourceKind {
    Rust,
    Code(code::Lang),
    Proto,
    Sql,
    /// Configuration that may name databases (`.env`, `*.properties`,
    /// `*.yaml`, `*.yml`, `*.ini`, `*.toml`, `*.conf`).
    Config,
}

impl SourceKind {
    fn of(path: &str) -> Option<SourceKind> {
        let name = path.rsplit('/').next().unwrap_or(path);
        if name.ends_with(".rs") {
            return Some(SourceKind::Rust);
        }
        if let Some(l) = code::Lang::of(name) {
            return Some(SourceKind::Code(l));
        }
        if name == "Cargo.toml" || name == "pyproject.toml" || name == "Cargo.lock" {
            return None;
        }
        let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
        match ext {
            "proto" => Some(SourceKind::Proto),
            "sql" => Some(SourceKind::Sql),
            "properties" | "yaml" | "yml" | "ini" | "toml" | "conf" => Some(SourceKind::Config),
            _ if name == ".env" || name.starts_with(".env.") => Some(SourceKind::Config),
            _ => None,
        }
    }
}

/// Ignore files the walker honours at any depth.
const IGNORE_FILES: &[&str] = &[".gitignore", ".ignore"];

/// Lists the files the analyzer reads, sorted: `.gitignore` honoured
/// (ignore files above `root` and the user's global excludes are not read:
/// the result is a function of the tree), [`skip::SKIP_DIRS`] never
/// entered, symbolic links not followed. Returns the listing to reuse too.
fn walk(root: &Path) -> (Files, cache::Listing) {
    let horizon_ns = schema::store::Stamp::horizon_now();
    let found = Mutex::new((
        Files::default(),
        cache::Listing {
            horizon_ns,
            ..cache::Listing::default()
        },
    ));
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .parents(false)
        .git_global(false)
        .require_git(false)
        .filter_entry(|e| {
            !(e.file_type().is_some_and(|t| t.is_dir())
                && e.depth() > 0
                && skip::SKIP_DIRS.contains(&e.file_name().to_string_lossy().as_ref()))
        })
        .build_parallel();
    walker.run(|| {
        let found = &found;
        Box::new(move |entry| {
            let Ok(e) = entry else {
                return ignore::WalkState::Continue;
            };
            let Some(rel) = e.path().strip_prefix(root).ok().and_then(|p| p.to_str()) else {
                return ignore::WalkState::Continue;
            };
            let rel = rel.replace('\\', "/");
            if e.file_type().is_some_and(|t| t.is_dir()) {
                // Stamped before the walker reads it.
                let stamp = e.metadata().ok().map(|m| schema::store::Stamp::of(&m));
                let rel = if rel.is_empty() { ".".to_owned() } else { rel };
                let mut f = found.lock().expect("no panics while holding the lock");
                match stamp {
                    Some(st) => f.1.dirs.push((rel, st)),
                    // Unstampable: never reuse this listing.
                    None => f.1.horizon_ns = i64::MIN,
                }
                return ignore::WalkState::Continue;
            }
            if !e.file_type().is_some_and(|t| t.is_file()) {
                return ignore::WalkState::Continue;
            }
            let name = rel.rsplit('/').next().unwrap_or("");
            let source = SourceKind::of(&rel).is_some();
            let stamp = (source || IGNORE_FILES.contains(&name))
                .then(|| e.metadata().ok().map(|m| schema::store::Stamp::of(&m)));
            let mut f = found.lock().expect("no panics while holding the lock");
            if name == "Cargo.toml" {
                f.0.manifests.push(rel);
            } else if ecosys::ManifestKind::of(name).is_some() {
                f.0.other_manifests.push(rel);
            } else if IGNORE_FILES.contains(&name) {
                f.1.controls.push((rel, stamp.flatten()));
            } else if let Some(stamp) = stamp {
                f.0.sources.push((rel, stamp));
            } else if name == ".gitattributes" {
                f.0.gitattributes.push(rel);
            }
            ignore::WalkState::Continue
        })
    });
    let (mut f, mut listing) = found
        .into_inner()
        .expect("no panics while holding the lock");
    f.sources.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    f.manifests.sort_unstable();
    f.other_manifests.sort_unstable();
    f.gitattributes.sort_unstable();
    // `.git/info/exclude` is read but lives in a skipped directory.
    let exclude = ".git/info/exclude";
    let st = fs::symlink_metadata(root.join(exclude))
        .ok()
        .map(|m| schema::store::Stamp::of(&m));
    listing.controls.push((exclude.to_owned(), st));
    listing.controls.sort_by(|a, b| a.0.cmp(&b.0));
    listing.dirs.sort_by(|a, b| a.0.cmp(&b.0));
    listing.sources = f.sources.iter().map(|(p, _)| p.clone()).collect();
    listing.manifests = f.manifests.clone();
    listing.other_manifests = f.other_manifests.clone();
    listing.gitattributes = f.gitattributes.clone();
    (f, listing)
}

/// The files of the last walk, when it still holds: every directory and
/// ignore file has the stamp it had, settled before that walk. The sources
/// are stamped again (their content may have changed in place).
fn relist(root: &Path, l: &cache::Listing) -> Option<Files> {
    // One parallel pass over directories, ignore files and sources.
    let paths: Vec<&str> = l
        .dirs
        .iter()
        .map(|(d, _)| d.as_str())
        .chain(l.controls.iter().map(|(c, _)| c.as_str()))
        .chain(l.sources.iter().map(String::as_str))
        .collect();
    let now = schema::store::Store::at(root).stamps(&paths);
    let (dirs, rest) = now.split_at(l.dirs.len());
    let (controls, sources) = rest.split_at(l.controls.len());
    let dirs_hold = l
        .dirs
        .iter()
        .zip(dirs)
        .all(|((_, was), is)| is.as_ref() == Some(was) && was.settled_before(l.horizon_ns));
    let controls_hold = l
        .controls
        .iter()
        .zip(controls)
        .all(|((_, was), is)| was == is && was.is_none_or(|w| w.settled_before(l.horizon_ns)));
    if !(dirs_hold && controls_hold) {
        return None;
    }
    Some(Files {
        sources: l
            .sources
            .iter()
            .cloned()
            .zip(sources.iter().copied())
            .collect(),
        manifests: l.manifests.clone(),
        other_manifests: l.other_manifests.clone(),
        gitattributes: l.gitattributes.clone(),
    })
}

fn read_text(root: &Path, rel: &str) -> std::io::Result<String> {
    fs::read_to_string(root.join(rel))
}

fn io_problem(path: &str, e: &std::io::Error) -> Problem {
    Problem {
        file: path.to_owned(),
        line: 1,
        message: e.to_string(),
    }
}

// ---------------------------------------------------------------------------
// Ownership

/// Components by code path.
struct Owners {
    /// Normalized directory (`""` for the root) → key; of two components
    /// with the same path, the smaller key.
    by_dir: HashMap<String, String>,
    /// Components with a code path.
    count: usize,
}

impl Owners {
    fn new(ws: &Workspace) -> Owners {
        let mut list: Vec<(String, String)> = ws
            .items
            .iter()
            .filter_map(|item| {
                let c = item.component()?;
                let path = c.repo.path.as_ref()?.value.as_str();
                let key = item.short_id.as_ref()?.value.clone();
                Some((normalize(path), key))
            })
            .collect();
        list.sort();
        let count = list.len();
        let mut by_dir = HashMap::new();
        for (dir, key) in list {
            by_dir.entry(dir).or_insert(key);
        }
        Owners { by_dir, count }
    }

    /// The component owning a workspace-relative file path: the one with
    /// the nearest enclosing directory.
    fn of(&self, file: &str) -> Option<&str> {
        let mut dir = file;
        while let Some((parent, _)) = dir.rsplit_once('/') {
            if let Some(k) = self.by_dir.get(parent) {
                return Some(k);
            }
            dir = parent;
        }
        self.by_dir.get("").map(String::as_str)
    }
}

/// A relative path with `.` and `..` resolved and no leading `./` or
/// trailing `/`; `""` for the root.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split(['/', '\\']) {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

fn join(dir: &str, rel: &str) -> String {
    normalize(&format!("{dir}/{rel}"))
}

// ---------------------------------------------------------------------------
// Crates

/// A package of the repository.
struct Crate<'m> {
    manifest: &'m cargo::Manifest,
    package: &'m cargo::Package,
    /// Extern names its sources use → (crate index, the dependency).
    externs: HashMap<String, (usize, Option<&'m cargo::Dependency>)>,
}

struct Crates<'m> {
    list: Vec<Crate<'m>>,
    by_dir: HashMap<&'m str, usize>,
    /// Library name → crate, for sources outside every crate.
    by_lib: HashMap<&'m str, usize>,
}

/// A dependency resolved to a crate of the repository.
struct LocalDep<'m> {
    dep: &'m cargo::Dependency,
    target: usize,
    extern_name: String,
}

impl<'m> Crates<'m> {
    fn new(manifests: &'m [cargo::Manifest]) -> Crates<'m> {
        let mut list = Vec::new();
        let mut by_dir = HashMap::new();
        let mut by_lib = HashMap::new();
        for m in manifests {
            if let Some(p) = &m.package {
                by_dir.insert(m.dir.as_str(), list.len());
                by_lib.entry(p.lib_name.as_str()).or_insert(list.len());
                list.push(Crate {
                    manifest: m,
                    package: p,
                    externs: HashMap::new(),
                });
            }
        }
        let mut crates = Crates {
            list,
            by_dir,
            by_lib,
        };
        let roots: Vec<&cargo::Manifest> = manifests
            .iter()
            .filter(|m| m.workspace_deps.is_some())
            .collect();
        for i in 0..crates.list.len() {
            let mut externs = HashMap::new();
            externs.insert(crates.list[i].package.lib_name.clone(), (i, None));
            for d in crates.local_deps(i, &roots) {
                externs.insert(d.extern_name, (d.target, Some(d.dep)));
            }
            crates.list[i].externs = externs;
        }
        crates
    }

    /// The dependencies of crate `i` on crates of the repository.
    fn local_deps(&self, i: usize, roots: &[&'m cargo::Manifest]) -> Vec<LocalDep<'m>> {
        let m = self.list[i].manifest;
        let mut out = Vec::new();
        for dep in &m.dependencies {
            let (dir, package) = if let Some(p) = &dep.path {
                (join(&m.dir, p), dep.package.clone())
            } else if dep.workspace {
                // The nearest enclosing manifest with a `[workspace]`.
                let Some(root) = roots
                    .iter()
                    .filter(|r| {
                        r.dir.is_empty()
                            || m.dir == r.dir
                            || m.dir.starts_with(&format!("{}/", r.dir))
                    })
                    .max_by_key(|r| r.dir.len())
                else {
                    continue;
                };
                let Some(w) = root.workspace_deps.as_ref().and_then(|w| w.get(&dep.key)) else {
                    continue;
                };
                let Some(p) = &w.path else { continue };
                (
                    join(&root.dir, p),
                    dep.package.clone().or_else(|| w.package.clone()),
                )
            } else {
                continue;
            };
            let Some(&target) = self.by_dir.get(dir.as_str()) else {
                continue;
            };
            let extern_name = if package.is_some() {
                dep.key.replace('-', "_")
            } else {
                self.list[target].package.lib_name.clone()
            };
            out.push(LocalDep {
                dep,
                target,
                extern_name,
            });
        }
        out
    }

    /// The crate a source file belongs to: the nearest enclosing package.
    fn of(&self, file: &str) -> Option<usize> {
        let mut dir = file;
        while let Some((parent, _)) = dir.rsplit_once('/') {
            if let Some(&i) = self.by_dir.get(parent) {
                return Some(i);
            }
            dir = parent;
        }
        self.by_dir.get("").copied()
    }
}

// ---------------------------------------------------------------------------
// Edges

/// Edges being collected. Evidence is kept as borrowed parts and only the
/// kept few become strings: a large tree has hundreds of thousands.
#[derive(Default)]
struct EdgeBuilder<'a> {
    /// (kind, from, to) → (confidence, evidence).
    edges: BTreeMap<(EdgeKind, &'a str, &'a str), (f32, Vec<Pending<'a>>)>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Pending<'a> {
    file: &'a str,
    line: u32,
    dependency: Option<edges::Dependency>,
    note: Note<'a>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Note<'a> {
    Text(String),
    /// An import of another language, as written.
    Import {
        spec: &'a str,
        type_only: bool,
    },
    Ref {
        r: &'a rust::Ref,
        /// The package the path names.
        package: &'a str,
        /// The package that re-exports it, when through a facade.
        facade: Option<&'a str>,
    },
}

impl Note<'_> {
    fn render(&self) -> String {
        match self {
            Note::Text(t) => t.clone(),
            Note::Import { spec, type_only } => {
                let kind = if *type_only {
                    "type-only import"
                } else {
                    "import"
                };
                format!("{kind} `{spec}`")
            }
            Note::Ref { r, package, facade } => {
                let how = match r.kind {
                    rust::RefKind::Use => "use",
                    rust::RefKind::ExternCrate => "extern crate",
                    rust::RefKind::Path => "path",
                };
                let shown = match &r.second {
                    Some(s) => format!("{}::{s}", r.first),
                    None => r.first.clone(),
                };
                match facade {
                    Some(f) => format!("{how} `{shown}`, re-exported by {f} from {package}"),
                    None => format!("{how} `{shown}` ({package})"),
                }
            }
        }
    }
}

impl<'a> EdgeBuilder<'a> {
    /// Takes in the edges another builder collected.
    fn merge(&mut self, other: EdgeBuilder<'a>) {
        for (key, (confidence, evidence)) in other.edges {
            let e = self.edges.entry(key).or_insert((0.0, Vec::new()));
            e.0 = e.0.max(confidence);
            e.1.extend(evidence);
        }
    }

    fn add(
        &mut self,
        kind: EdgeKind,
        from: &'a str,
        to: &'a str,
        confidence: f32,
        ev: Pending<'a>,
    ) {
        if from == to {
            return;
        }
        let e = self
            .edges
            .entry((kind, from, to))
            .or_insert((0.0, Vec::new()));
        e.0 = e.0.max(confidence);
        e.1.push(ev);
    }

    /// The edges, without those a component suppresses (returned apart);
    /// a suppression that matches no edge is a problem (it is stale).
    fn finish(
        self,
        manual: &BTreeSet<(EdgeKind, String, String)>,
        suppress: &[Suppress],
        problems: &mut Vec<Problem>,
    ) -> (Vec<Edge>, Vec<edges::Suppressed>) {
        let mut suppressed = Vec::new();
        let mut used = vec![false; suppress.len()];
        let edges = self
            .edges
            .into_iter()
            .filter(|((kind, from, to), (_, evidence))| {
                let hit = suppress
                    .iter()
                    .position(|s| s.kind == *kind && s.from == *from && s.to == *to);
                let Some(i) = hit else { return true };
                used[i] = true;
                suppressed.push(edges::Suppressed {
                    kind: *kind,
                    from: (*from).to_owned(),
                    to: (*to).to_owned(),
                    reason: suppress[i].reason.clone(),
                    occurrences: evidence.len() as u32,
                });
                false
            })
            .map(|((kind, from, to), (confidence, mut evidence))| {
                evidence.sort_unstable();
                evidence.dedup();
                let mut kept: Vec<Evidence> = evidence
                    .iter()
                    .take(edges::MAX_EVIDENCE)
                    .map(|p| Evidence {
                        file: p.file.to_owned(),
                        line: p.line,
                        dependency: p.dependency,
                        note: p.note.render(),
                    })
                    .collect();
                kept.sort();
                Edge {
                    also_manual: manual.contains(&(kind, from.to_owned(), to.to_owned())),
                    from: from.to_owned(),
                    to: to.to_owned(),
                    kind,
                    source: Source::Inferred,
                    confidence,
                    occurrences: evidence.len() as u32,
                    evidence: kept,
                }
            })
            .collect();
        for (s, used) in suppress.iter().zip(used) {
            if !used {
                problems.push(Problem {
                    file: s.file.clone(),
                    line: s.line,
                    message: format!(
                        "`suppress` of {} {} → {}: the analyzer infers no such link (remove the suppression)",
                        s.kind.field(),
                        s.from,
                        s.to
                    ),
                });
            }
        }
        (edges, suppressed)
    }
}

/// A component's `suppress:` entry, resolved to keys.
struct Suppress {
    kind: EdgeKind,
    from: String,
    to: String,
    reason: String,
    file: String,
    line: u32,
}

fn suppressions(ws: &Workspace) -> Vec<Suppress> {
    let mut out = Vec::new();
    for item in &ws.items {
        let Some(c) = item.component() else { continue };
        for s in &c.suppress {
            let kind = match s.kind.as_str() {
                "depends_on" => EdgeKind::DependsOn,
                "imports" => EdgeKind::Imports,
                "calls_api" => EdgeKind::CallsApi,
                "shares_db" => EdgeKind::SharesDb,
                _ => continue,
            };
            let to = ws
                .resolve(&s.to.value)
                .map_or_else(|| s.to.value.clone(), |t| t.short_str().to_owned());
            out.push(Suppress {
                kind,
                from: item.short_str().to_owned(),
                to,
                reason: s.reason.clone(),
                file: item.path.clone(),
                line: s.to.pos.line,
            });
        }
    }
    out
}

/// Links declared in component files, by key.
fn manual_links(ws: &Workspace) -> BTreeSet<(EdgeKind, String, String)> {
    let mut out = BTreeSet::new();
    for item in &ws.items {
        let Some(c) = item.component() else { continue };
        let from = item.short_str();
        for (kind, refs) in [
            (EdgeKind::DependsOn, &c.depends_on),
            (EdgeKind::Imports, &c.imports),
            (EdgeKind::CallsApi, &c.calls_api),
            (EdgeKind::SharesDb, &c.shares_db),
        ] {
            for r in refs {
                if let Some(to) = ws.resolve(&r.value) {
                    out.insert((kind, from.to_owned(), to.short_str().to_owned()));
                }
            }
        }
    }
    out
}

/// `DEPENDS_ON`: a crate's dependency on another crate of the repository.
fn depends_on<'a>(
    manifests: &'a [cargo::Manifest],
    crates: &Crates<'a>,
    owners: &'a Owners,
    out: &mut EdgeBuilder<'a>,
) {
    let roots: Vec<&cargo::Manifest> = manifests
        .iter()
        .filter(|m| m.workspace_deps.is_some())
        .collect();
    for (i, c) in crates.list.iter().enumerate() {
        let Some(from) = owners.of(&c.manifest.path) else {
            continue;
        };
        for d in crates.local_deps(i, &roots) {
            let target = &crates.list[d.target];
            let Some(to) = owners.of(&target.manifest.path) else {
                continue;
            };
            let mut note = format!("`{}` on {}", d.dep.key, target.package.name);
            if d.dep.workspace {
                note.push_str(", from [workspace.dependencies]");
            }
            out.add(
                EdgeKind::DependsOn,
                from,
                to,
                1.0,
                Pending {
                    file: &c.manifest.path,
                    line: d.dep.line,
                    dependency: Some(edges::Dependency {
                        kind: d.dep.kind,
                        optional: d.dep.optional,
                    }),
                    note: Note::Text(note),
                },
            );
        }
    }
}

/// `IMPORTS`: paths in Rust files naming another crate of the repository.
fn imports<'a>(
    entries: &'a HashMap<String, cache::Entry>,
    sorted: &[(&'a String, &'a cache::Entry)],
    crates: &Crates<'a>,
    owners: &'a Owners,
    out: &mut EdgeBuilder<'a>,
    unowned: &mut usize,
) {
    // Each crate's root file, for its re-exports.
    let roots: Vec<Option<&rust::RustFacts>> = crates
        .list
        .iter()
        .map(|c| {
            let path = join(&c.manifest.dir, &c.package.lib_path);
            entries.get(&path).map(|e| &e.facts)
        })
        .collect();
    let crate_owner: Vec<Option<&str>> = crates
        .list
        .iter()
        .map(|c| owners.of(&c.manifest.path))
        .collect();
    for &(path, entry) in sorted {
        if entry.generated {
            continue;
        }
        let Some(from) = owners.of(path) else {
            *unowned += 1;
            continue;
        };
        let own = crates.of(path);
        for r in &entry.facts.refs {
            let (target, confidence) = match own {
                Some(i) => match crates.list[i].externs.get(&r.first) {
                    Some(&(t, _)) if t == i => continue,
                    Some(&(t, _)) => (t, 1.0),
                    None => continue,
                },
                None => match crates.by_lib.get(r.first.as_str()) {
                    Some(&t) => (t, 0.7),
                    None => continue,
                },
            };
            let t = &crates.list[target];
            if let Some(to) = crate_owner[target] {
                out.add(
                    EdgeKind::Imports,
                    from,
                    to,
                    confidence,
                    Pending {
                        file: path,
                        line: r.line,
                        dependency: None,
                        note: Note::Ref {
                            r,
                            package: &t.package.name,
                            facade: None,
                        },
                    },
                );
            }
            // Through a facade: `facade::Thing` where the facade's root
            // re-exports `Thing` from another crate.
            let (Some(second), Some(facts)) = (&r.second, roots[target]) else {
                continue;
            };
            let via = facts
                .reexports
                .iter()
                .find(|(name, _)| name == second)
                .map(|(_, src)| (src, 0.9))
                .or_else(|| match facts.globs.as_slice() {
                    [g] if !facts.defined.contains(second) => Some((g, 0.8)),
                    _ => None,
                });
            let Some((src, conf)) = via else { continue };
            let Some(&(u, _)) = t.externs.get(src) else {
                continue;
            };
            if u == target {
                continue;
            }
            let to = crate_owner[u];
            let u = &crates.list[u];
            if let Some(to) = to {
                out.add(
                    EdgeKind::Imports,
                    from,
                    to,
                    confidence * conf,
                    Pending {
                        file: path,
                        line: r.line,
                        dependency: None,
                        note: Note::Ref {
                            r,
                            package: &u.package.name,
                            facade: Some(&t.package.name),
                        },
                    },
                );
            }
        }
    }
}
