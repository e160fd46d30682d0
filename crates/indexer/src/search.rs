//! Search that forgives typos: a tantivy index over issues, components,
//! artifacts and comments, kept in `.nonlinear/cache/search/`.
//!
//! # Documents
//!
//! One per workspace file (its path is the document's id): title,
//! description or comment text, and the fields filters need — short id,
//! status and its category, labels, assignee, owner, author, priority,
//! estimate, due date, cycle, the keys and ids of the item and everything
//! above it (`under:`), the fields that are empty (`no:`), and the file's
//! modification time (recency). A comment's document also names its item
//! (key, title, id) and is `under:` whatever its item is under.
//!
//! # Queries
//!
//! A query is the filter grammar of `list` (`status:started label:bug
//! under:AUTH …`); its free words are the text. Text matching follows
//! Meilisearch's rules and improves on them:
//!
//! * typos by word length: none up to 4 characters, 1 for 5–8, 2 from 9
//!   (a transposition counts as one);
//! * the last word also matches as a prefix, so the palette can search as
//!   you type;
//! * ranking, most important first: documents with every word, then (only
//!   while the page is not full) those with every word but the last, but
//!   the last two, … — Meilisearch's default matching strategy — and then
//!   any of the words (so a first word that matches nothing cannot hide
//!   the rest); then per
//!   word the best of exact in the title, exact in the text, prefix, typo'd
//!   in the title, typo'd in the text, summed over the words; then the most
//!   recently modified;
//! * a short id or component key typed exactly is the first hit;
//! * `"quoted phrases"` must appear as written (no typos).
//!
//! Filters mean exactly what they mean in `list` (`under:` also takes a
//! comment to its item's subtree); `is:blocked` and `is:ready` are asked of
//! the graph. A query that does not parse is searched as literal words — a
//! search box never answers with an error — and queries are bounded
//! ([`MAX_QUERY_CHARS`], [`MAX_WORDS`]).
//!
//! # Freshness
//!
//! [`SearchIndex::sync`] brings the index up to date with the files the
//! way the item cache does (stamps, git's racy rule, content hashes; see
//! [`crate::cache`]), and also re-indexes documents whose context changed
//! (a parent moved, a status changed category). It commits and reloads the
//! reader before returning, so a search right after an edit sees it. A
//! missing, corrupt or other-version index is rebuilt, never a crash.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use petgraph::stable_graph::NodeIndex;
use rayon::prelude::*;
use schema::filter::{Cmp, Filter, MissingField, Pred};
use schema::model::Category;
use schema::parse::{self, Body, FileKind};
use schema::store::{Stamp, Store};
use schema::{Config, Fields, Item, Kind};
use serde::{Deserialize, Serialize};
use tantivy::collector::{Collector, Count, SegmentCollector, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, ConstScoreQuery, DisjunctionMaxQuery, FuzzyTermQuery, Occur,
    PhraseQuery, RangeQuery, TermQuery,
};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value as _,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer, TokenStream,
};
use tantivy::{DocAddress, DocId, Index, IndexReader, ReloadPolicy, Score, SegmentReader, Term};

use crate::Graph;

/// The index directory, workspace-relative.
pub const DIR: &str = ".nonlinear/cache/search";
/// Bump when documents or the schema change: an index of another version
/// is rebuilt.
pub const VERSION: u32 = 1;
/// Longer queries are cut here (at a character boundary).
pub const MAX_QUERY_CHARS: usize = 512;
/// Words after this many are ignored.
pub const MAX_WORDS: usize = 16;
const TOKENIZER: &str = "nl";
const MANIFEST: &str = "manifest.bin";
/// Changes to the manifest since it was last written whole (see
/// [`SearchIndex::update`]).
const JOURNAL: &str = "journal.bin";
/// A journal past this size is folded into the manifest.
const JOURNAL_MAX: u64 = 4 << 20;
const MANIFEST_MAGIC: &[u8; 8] = b"NLSRCH\0\0";

/// Per-word weights: the best match of a word counts.
const EXACT_TITLE: f32 = 1000.0;
const EXACT_TEXT: f32 = 300.0;
const PREFIX_TITLE: f32 = 200.0;
const PREFIX_TEXT: f32 = 60.0;
const TYPO_TITLE: f32 = 20.0;
const TYPO_TEXT: f32 = 6.0;
/// A short id typed exactly.
const KEY: f32 = 1.0e6;

/// Errors that reach the caller: only the index directory being unusable
/// in a way a rebuild cannot fix (no space, no permission).
#[derive(Debug, thiserror::Error)]
#[error("search index in {path}: {message}")]
pub struct SearchError {
    pub path: PathBuf,
    pub message: String,
}

/// The fields of a document.
#[derive(Debug, Clone, Copy)]
struct F {
    uid: Field,
    kind: Field,
    key: Field,
    key_lc: Field,
    item_id: Field,
    item_key: Field,
    item_title: Field,
    title: Field,
    text: Field,
    status: Field,
    category: Field,
    open: Field,
    labels: Field,
    assignee: Field,
    owner: Field,
    created_by: Field,
    priority: Field,
    estimate: Field,
    due: Field,
    cycle: Field,
    under: Field,
    missing: Field,
    updated: Field,
}

fn schema() -> (Schema, F) {
    let mut b = Schema::builder();
    let text = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TOKENIZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
        .set_stored();
    let f = F {
        uid: b.add_text_field("uid", STRING | STORED),
        kind: b.add_text_field("kind", STRING | STORED),
        key: b.add_text_field("key", STORED),
        key_lc: b.add_text_field("key_lc", STRING),
        item_id: b.add_text_field("item_id", STRING | STORED),
        item_key: b.add_text_field("item_key", STORED),
        item_title: b.add_text_field("item_title", STORED),
        title: b.add_text_field("title", text.clone()),
        text: b.add_text_field("text", text),
        status: b.add_text_field("status", STRING | FAST | STORED),
        category: b.add_text_field("category", STRING),
        open: b.add_text_field("open", STRING),
        labels: b.add_text_field("labels", STRING | FAST),
        assignee: b.add_text_field("assignee", STRING | FAST | STORED),
        owner: b.add_text_field("owner", STRING),
        created_by: b.add_text_field("created_by", STRING),
        priority: b.add_u64_field("priority", INDEXED | STORED),
        estimate: b.add_f64_field("estimate", INDEXED),
        due: b.add_i64_field("due", INDEXED),
        cycle: b.add_text_field("cycle", STRING),
        under: b.add_text_field("under", STRING),
        missing: b.add_text_field("missing", STRING),
        updated: b.add_i64_field("updated", FAST | STORED),
    };
    (b.build(), f)
}

/// Words as the index sees them: split at anything not a letter or digit,
/// lower-cased, accents folded, absurdly long tokens dropped.
fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(64))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// `text` as index words, with their byte ranges in `text`.
fn words(text: &str) -> Vec<(String, usize, usize)> {
    thread_local! {
        static ANALYZER: std::cell::RefCell<TextAnalyzer> = std::cell::RefCell::new(analyzer());
    }
    ANALYZER.with_borrow_mut(|a| words_with(a, text))
}

fn words_with(a: &mut TextAnalyzer, text: &str) -> Vec<(String, usize, usize)> {
    let mut stream = a.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        let t = stream.token();
        out.push((t.text.clone(), t.offset_from, t.offset_to));
    }
    out
}

/// Typos a word of this many characters may carry (Meilisearch's rule).
pub fn typo_budget(word: &str) -> u8 {
    match word.chars().count() {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

/// The index state of one file, to tell next time what changed.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    path: String,
    stamp: Stamp,
    hash: u64,
    /// Hash of what the document takes from other files (ancestors, the
    /// status category, a comment's item).
    context: u64,
}

/// One [`SearchIndex::update`], appended to the journal.
#[derive(Debug, Default, Serialize, Deserialize)]
struct JournalRecord {
    opstamp: u64,
    files: Vec<(String, Stamp)>,
    /// Entries written with a zero stamp: not yet proven settled, so the
    /// next full sync reads them again (and finds them unchanged).
    upserts: Vec<Entry>,
    removes: Vec<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Manifest {
    version: u32,
    /// The tantivy commit this manifest describes.
    opstamp: u64,
    /// The index's files as that commit left them: a file changed behind
    /// our back (or damaged) shows as a different stamp, and the index is
    /// rebuilt instead of read.
    files: Vec<(String, Stamp)>,
    /// By path.
    entries: std::collections::BTreeMap<String, Entry>,
}

/// What a [`SearchIndex::sync`] did.
#[derive(Debug, Clone, Default)]
pub struct SyncReport {
    pub files: usize,
    /// Documents added or replaced.
    pub indexed: usize,
    pub deleted: usize,
    /// Why the index was rebuilt from nothing, if it was.
    pub rebuilt: Option<String>,
    pub took: Duration,
}

/// The search index of one workspace.
pub struct SearchIndex {
    dir: PathBuf,
    index: Index,
    reader: IndexReader,
    f: F,
    manifest: Manifest,
    /// The manifest file's modification time when read (racy rule).
    manifest_mtime: i64,
    /// Why the index on disk could not be used, if it could not.
    rebuilt: Option<String>,
    /// Length of the journal as last read or written.
    journal_len: u64,
    /// Facet bitsets of the segments seen so far.
    facets: FacetCollector,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("dir", &self.dir)
            .field("documents", &self.reader.searcher().num_docs())
            .finish()
    }
}

impl SearchIndex {
    /// Opens the index of the workspace in `store`, creating it (empty)
    /// when it is missing and recreating it when it is unreadable or of
    /// another version. Call [`SearchIndex::sync`] before searching.
    pub fn open(store: &Store) -> Result<SearchIndex, SearchError> {
        let dir = store.path(DIR);
        let _lock = lock(&dir)?;
        match Self::open_existing(&dir) {
            Ok(ix) => Ok(ix),
            Err(why) => {
                let existed = dir.join("meta.json").exists() || dir.join(MANIFEST).exists();
                let mut ix = Self::create(&dir)?;
                // Empty but valid at once: a second process opening now
                // must not take it for a broken index and recreate it.
                ix.write_manifest()?;
                ix.rebuilt = Some(if existed { why } else { "no index yet".into() });
                Ok(ix)
            }
        }
    }

    /// Re-reads the manifest when another process wrote it since we did.
    fn refresh(&mut self) {
        let path = self.dir.join(MANIFEST);
        let Ok(mtime) = std::fs::metadata(&path).map(|m| Stamp::of(&m).mtime_ns) else {
            return;
        };
        let journal = std::fs::metadata(self.dir.join(JOURNAL))
            .map(|m| m.len())
            .unwrap_or(0);
        if mtime == self.manifest_mtime && journal == self.journal_len {
            return;
        }
        let Ok(bytes) = std::fs::read(&path) else {
            return;
        };
        let Ok(mut m) = decode_manifest(&bytes) else {
            return;
        };
        replay_journal(&self.dir, &mut m);
        self.manifest = m;
        self.manifest_mtime = mtime;
        self.journal_len = journal;
        let _ = self.reader.reload();
    }

    fn open_existing(dir: &Path) -> Result<SearchIndex, String> {
        // tantivy trusts its files; a damaged one that slipped past the
        // stamps can make it panic. That is a reason to rebuild, not to
        // crash.
        std::panic::catch_unwind(|| Self::try_open_existing(dir))
            .unwrap_or_else(|_| Err("index unreadable".into()))
    }

    fn try_open_existing(dir: &Path) -> Result<SearchIndex, String> {
        let bytes = std::fs::read(dir.join(MANIFEST)).map_err(|e| format!("manifest: {e}"))?;
        let mtime = std::fs::metadata(dir.join(MANIFEST))
            .map(|m| Stamp::of(&m).mtime_ns)
            .map_err(|e| e.to_string())?;
        let mut manifest = decode_manifest(&bytes)?;
        replay_journal(dir, &mut manifest);
        if index_files(dir) != manifest.files {
            return Err("index files changed since they were written".into());
        }
        let (schema, f) = schema();
        let index = Index::open_in_dir(dir).map_err(|e| format!("index: {e}"))?;
        if index.schema() != schema {
            return Err("index of another schema".into());
        }
        let metas = index.load_metas().map_err(|e| format!("index: {e}"))?;
        if metas.opstamp != manifest.opstamp {
            return Err(format!(
                "index at commit {} but manifest at {}",
                metas.opstamp, manifest.opstamp
            ));
        }
        index.tokenizers().register(TOKENIZER, analyzer());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e| format!("index: {e}"))?;
        // A damaged segment shows when it is read: touch every stored and
        // fast field once, cheaply, through a count of all documents.
        let searcher: tantivy::Searcher = reader.searcher();
        searcher
            .search(&AllQuery, &Count)
            .map_err(|e| format!("index: {e}"))?;
        Ok(SearchIndex {
            dir: dir.to_owned(),
            index,
            reader,
            f,
            manifest,
            manifest_mtime: mtime,
            rebuilt: None,
            journal_len: std::fs::metadata(dir.join(JOURNAL)).map_or(0, |m| m.len()),
            facets: FacetCollector::default(),
        })
    }

    fn create(dir: &Path) -> Result<SearchIndex, SearchError> {
        let err = |message: String| SearchError {
            path: dir.to_owned(),
            message,
        };
        match std::fs::symlink_metadata(dir) {
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(dir),
            Ok(_) => std::fs::remove_file(dir),
            Err(_) => Ok(()),
        }
        .map_err(|e| err(format!("cannot remove: {e}")))?;
        std::fs::create_dir_all(dir).map_err(|e| err(format!("cannot create: {e}")))?;
        if let Some(cache) = dir.parent() {
            crate::cache::make_cache_dir(cache).map_err(|e| err(format!("cannot create: {e}")))?;
        }
        let (schema, f) = schema();
        let index = Index::create_in_dir(dir, schema).map_err(|e| err(e.to_string()))?;
        index.tokenizers().register(TOKENIZER, analyzer());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e| err(e.to_string()))?;
        Ok(SearchIndex {
            dir: dir.to_owned(),
            index,
            reader,
            f,
            manifest: Manifest {
                version: VERSION,
                ..Manifest::default()
            },
            manifest_mtime: i64::MIN,
            rebuilt: None,
            journal_len: 0,
            facets: FacetCollector::default(),
        })
    }

    /// Number of documents.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes the index takes on disk.
    pub fn size_on_disk(&self) -> u64 {
        std::fs::read_dir(&self.dir)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    }

    /// Brings the index up to date with the workspace's files: every file
    /// is checked (stamps, racy rule, content hashes), changed ones are
    /// read and re-indexed, documents of deleted files removed, and
    /// documents whose context in `graph` changed re-indexed. `graph` must
    /// be the graph of the same files. Commits and reloads before
    /// returning.
    pub fn sync(&mut self, store: &Store, graph: &Graph) -> Result<SyncReport, SearchError> {
        self.sync_scope(store, graph, None)
    }

    /// [`SearchIndex::sync`] for the given workspace files only — changed,
    /// added or deleted, as a file watcher reports them — and the
    /// documents they affect (those below a changed item, and its
    /// comments). `graph` must already hold the change. What a server
    /// calls on every change; a search right after it sees the change.
    pub fn update(
        &mut self,
        store: &Store,
        graph: &Graph,
        paths: &[String],
    ) -> Result<SyncReport, SearchError> {
        if self.rebuilt.is_some() {
            // A fresh (empty) index needs everything.
            return self.sync(store, graph);
        }
        let mut scope: std::collections::BTreeSet<String> = paths.iter().cloned().collect();
        let searcher = self.reader.searcher();
        for p in paths {
            // The item's id, from the graph or (deleted) from its document.
            let id = graph
                .by_path(p)
                .and_then(|n| graph.node(n).id())
                .map(|id| id.to_string())
                .or_else(|| {
                    let q = TermQuery::new(
                        Term::from_field_text(self.f.uid, p),
                        IndexRecordOption::Basic,
                    );
                    let top = searcher.search(&q, &TopDocs::with_limit(1).order_by_score());
                    let addr = top.ok()?.first()?.1;
                    let doc: tantivy::TantivyDocument = searcher.doc(addr).ok()?;
                    Some(doc.get_first(self.f.item_id)?.as_str()?.to_owned())
                });
            let Some(id) = id else { continue };
            for field in [self.f.under, self.f.item_id] {
                let q = TermQuery::new(Term::from_field_text(field, &id), IndexRecordOption::Basic);
                let Ok(docs) = searcher.search(&q, &tantivy::collector::DocSetCollector) else {
                    continue;
                };
                for addr in docs {
                    if let Ok(doc) = searcher.doc::<tantivy::TantivyDocument>(addr)
                        && let Some(uid) = doc.get_first(self.f.uid).and_then(|v| v.as_str())
                    {
                        scope.insert(uid.to_owned());
                    }
                }
            }
        }
        let scope: Vec<String> = scope
            .into_iter()
            .filter(|p| p != parse::CONFIG_PATH && parse::classify(p).is_some())
            .collect();
        self.sync_scope(store, graph, Some(scope))
    }

    /// [`SearchIndex::update`] from a batch of the file watcher's events
    /// (see [`crate::watch`]): the files of the items they name; a changed
    /// config or a rescan syncs everything. `graph` is the watcher's graph,
    /// which already holds the batch.
    pub fn apply(
        &mut self,
        store: &Store,
        graph: &Graph,
        events: &[crate::watch::Event],
    ) -> Result<SyncReport, SearchError> {
        use crate::change::Change;
        use crate::watch::Event;
        let mut paths = Vec::new();
        for e in events {
            match e {
                // A rescan's changes are events in the same batch.
                Event::Rescan(_) | Event::Inferred(_) => {}
                Event::Config(_) => return self.sync(store, graph),
                Event::Invalid(_) => {}
                Event::Comment(c) => paths.push(c.path.clone()),
                Event::Change(c) => match c {
                    Change::Created { path, .. } | Change::Deleted { path, .. } => {
                        paths.push(path.clone());
                    }
                    Change::Field {
                        key,
                        field,
                        before,
                        after,
                    } => {
                        if field == "path" {
                            paths.extend(
                                [before, after]
                                    .into_iter()
                                    .filter_map(|v| v.as_str().map(str::to_owned)),
                            );
                        }
                        paths.extend(item_path(graph, key));
                    }
                    Change::LinkAdded { from, .. } | Change::LinkRemoved { from, .. } => {
                        paths.extend(item_path(graph, from));
                    }
                },
            }
        }
        paths.sort();
        paths.dedup();
        self.update(store, graph, &paths)
    }

    fn sync_scope(
        &mut self,
        store: &Store,
        graph: &Graph,
        scope: Option<Vec<String>>,
    ) -> Result<SyncReport, SearchError> {
        let t = Instant::now();
        // One writer at a time, and it starts from what the last one left.
        let _lock = lock(&self.dir)?;
        self.refresh();
        let mut report = SyncReport {
            rebuilt: self.rebuilt.take(),
            ..SyncReport::default()
        };
        let whole = scope.is_none();
        let candidates = match scope {
            Some(s) => s,
            None => {
                let mut files = store.files();
                files.retain(|f| f != parse::CONFIG_PATH);
                files
            }
        };
        let stamps = store.stamps(&candidates);
        // Files that are there; in a scoped update, the others are gone.
        let (files, stamps): (Vec<String>, Vec<Stamp>) = candidates
            .iter()
            .zip(&stamps)
            .filter_map(|(p, st)| Some((p.clone(), (*st)?)))
            .unzip();
        report.files = files.len();
        let contexts: Vec<u64> = files.par_iter().map(|p| context_hash(graph, p)).collect();
        let old = &self.manifest.entries;
        let settled = |st: &Stamp| st.settled_before(self.manifest_mtime);
        let mut keep: Vec<Entry> = Vec::with_capacity(files.len());
        let mut todo: Vec<usize> = Vec::new();
        for (i, path) in files.iter().enumerate() {
            match old.get(path.as_str()) {
                Some(e)
                    if e.stamp == stamps[i] && settled(&stamps[i]) && e.context == contexts[i] =>
                {
                    keep.push((*e).clone());
                }
                _ => todo.push(i),
            }
        }
        let present: std::collections::HashSet<&str> = files.iter().map(String::as_str).collect();
        let gone: Vec<String> = if whole {
            old.keys()
                .filter(|p| !present.contains(String::as_str(p)))
                .cloned()
                .collect()
        } else {
            candidates
                .iter()
                .filter(|p| {
                    !present.contains(String::as_str(p)) && old.contains_key(String::as_str(p))
                })
                .cloned()
                .collect()
        };

        let paths: Vec<String> = todo.iter().map(|&i| files[i].clone()).collect();
        let f = self.f;
        let config = graph.config();
        type Read = Option<(Stamp, u64, Option<tantivy::TantivyDocument>)>;
        let read: Vec<Read> = store.read_each(&paths, |rel, res| {
            let (bytes, stamp) = res.ok()?;
            let hash = xxhash_rust::xxh3::xxh3_64(bytes);
            let Some(FileKind::Item(kind)) = parse::classify(rel) else {
                return Some((stamp, hash, None));
            };
            let (item, _) = parse::parse_item_with(rel, kind, bytes, Body::Keep);
            let doc = item.map(|item| document(&f, &item, graph, config, stamp.mtime_ns));
            Some((stamp, hash, doc))
        });
        // Replace (a document or nothing) or delete, by path.
        let mut ops: Vec<(&str, Option<tantivy::TantivyDocument>)> = Vec::new();
        let mut racy = false;
        for (k, r) in read.into_iter().enumerate() {
            let i = todo[k];
            let path = files[i].as_str();
            let Some((stamp, hash, doc)) = r else {
                // Unreadable now: drop what we had; tried again next time.
                ops.push((path, None));
                continue;
            };
            let unchanged = old
                .get(path)
                .is_some_and(|e| e.hash == hash && e.context == contexts[i]);
            if unchanged {
                racy = true;
            } else {
                ops.push((path, doc));
                report.indexed += 1;
            }
            keep.push(Entry {
                path: path.to_owned(),
                stamp,
                hash,
                context: contexts[i],
            });
        }
        ops.extend(gone.iter().map(|p| (p.as_str(), None)));
        report.deleted = gone.len();
        if !ops.is_empty() {
            let mut w = self.writer(ops.len())?;
            for (path, doc) in ops {
                w.delete_term(Term::from_field_text(f.uid, path));
                if let Some(doc) = doc {
                    w.add_document(doc).map_err(|e| self.err(e))?;
                }
            }
            let opstamp = w.commit().map_err(|e| self.err(e))?;
            w.wait_merging_threads().map_err(|e| self.err(e))?;
            self.manifest.opstamp = opstamp;
            self.reader.reload().map_err(|e| self.err(e))?;
            // Facet bitsets of merged-away segments go.
            let live: std::collections::HashSet<_> = self
                .reader
                .searcher()
                .segment_readers()
                .iter()
                .map(|r| r.segment_id())
                .collect();
            if let Ok(mut c) = self.facets.cache.lock() {
                c.retain(|id, _| live.contains(id));
            }
        }
        let changed = report.indexed > 0 || !gone.is_empty() || racy;
        if whole || report.rebuilt.is_some() {
            let differs = changed || keep.len() != self.manifest.entries.len();
            self.manifest.entries = keep.into_iter().map(|e| (e.path.clone(), e)).collect();
            if differs || report.rebuilt.is_some() {
                self.write_manifest()?;
            }
        } else if changed {
            // Unsettled until a full sync proves them: zero stamps, in
            // memory as in the journal.
            let upserts: Vec<Entry> = keep
                .into_iter()
                .map(|mut e| {
                    e.stamp = Stamp::default();
                    e
                })
                .collect();
            for p in &gone {
                self.manifest.entries.remove(p);
            }
            for e in &upserts {
                self.manifest.entries.insert(e.path.clone(), e.clone());
            }
            self.journal(upserts, gone.clone())?;
        }
        report.took = t.elapsed();
        Ok(report)
    }

    fn writer(&self, docs: usize) -> Result<tantivy::IndexWriter, SearchError> {
        let (threads, memory) = if docs > 10_000 {
            (rayon::current_num_threads().clamp(1, 4), 128 << 20)
        } else {
            (1, 32 << 20)
        };
        // Another process (a second `search`, a server) may be writing:
        // its sync is short, so wait for it rather than fail. Two minutes
        // cover a full build of a 100k-issue workspace.
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            match self.index.writer_with_num_threads(threads, memory) {
                Err(tantivy::TantivyError::LockFailure(..)) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(25));
                }
                other => return other.map_err(|e| self.err(e)),
            }
        }
    }

    fn err(&self, e: impl std::fmt::Display) -> SearchError {
        SearchError {
            path: self.dir.clone(),
            message: e.to_string(),
        }
    }

    fn write_manifest(&mut self) -> Result<(), SearchError> {
        self.manifest.version = VERSION;
        self.manifest.files = index_files(&self.dir);
        let body = postcard::to_stdvec(&self.manifest).map_err(|e| self.err(e))?;
        let mut out = Vec::with_capacity(body.len() + 16);
        out.extend_from_slice(MANIFEST_MAGIC);
        out.extend_from_slice(&xxhash_rust::xxh3::xxh3_64(&body).to_le_bytes());
        out.extend_from_slice(&body);
        let path = self.dir.join(MANIFEST);
        let tmp = self.dir.join(format!(".{MANIFEST}.{}", std::process::id()));
        std::fs::write(&tmp, &out).map_err(|e| self.err(e))?;
        std::fs::rename(&tmp, &path).map_err(|e| self.err(e))?;
        let _ = std::fs::remove_file(self.dir.join(JOURNAL));
        self.journal_len = 0;
        self.manifest_mtime = std::fs::metadata(&path)
            .map(|m| Stamp::of(&m).mtime_ns)
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Records a scoped update in the journal (or, once the journal is
    /// large, writes the manifest whole).
    fn journal(&mut self, upserts: Vec<Entry>, removes: Vec<String>) -> Result<(), SearchError> {
        use std::io::Write;
        let path = self.dir.join(JOURNAL);
        if std::fs::metadata(&path).is_ok_and(|m| m.len() > JOURNAL_MAX) {
            return self.write_manifest();
        }
        self.manifest.files = index_files(&self.dir);
        let record = JournalRecord {
            opstamp: self.manifest.opstamp,
            files: self.manifest.files.clone(),
            upserts,
            removes,
        };
        let body = postcard::to_stdvec(&record).map_err(|e| self.err(e))?;
        let len = u32::try_from(body.len()).map_err(|e| self.err(e))?;
        let mut out = Vec::with_capacity(body.len() + 12);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&xxhash_rust::xxh3::xxh3_64(&body).to_le_bytes());
        out.extend_from_slice(&body);
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(&out))
            .map_err(|e| self.err(e))?;
        self.journal_len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        Ok(())
    }

    /// Runs a query. `me` resolves `@me`; `graph` answers `is:blocked` and
    /// `is:ready` and must be the graph of the indexed files.
    pub fn search(&self, q: &SearchQuery<'_>, graph: &Graph) -> Results {
        let t = Instant::now();
        let plan = Plan::of(q.text, q.me);
        let searcher = self.reader.searcher();
        let f = &self.f;
        let filters = plan.filter_clauses(f);
        let graph_filter = plan.graph_filter();
        let limit = q.limit.max(1);

        let with_filters =
            |core: Box<dyn tantivy::query::Query>| -> Box<dyn tantivy::query::Query> {
                if filters.is_empty() {
                    return core;
                }
                let mut clauses = vec![(Occur::Must, core)];
                clauses.extend(filters.iter().map(|(o, c)| (*o, c.box_clone())));
                Box::new(BooleanQuery::new(clauses))
            };
        let word_queries: Vec<Box<dyn tantivy::query::Query>> = plan
            .words
            .iter()
            .enumerate()
            .map(|(i, w)| word_query(f, w, q.prefix_last && i + 1 == plan.words.len()))
            .collect();
        let phrases: Vec<Box<dyn tantivy::query::Query>> = plan
            .phrases
            .iter()
            .filter_map(|p| phrase_query(f, p))
            .collect();
        let must_phrases = |mut clauses: Vec<(Occur, Box<dyn tantivy::query::Query>)>| {
            clauses.extend(phrases.iter().map(|p| (Occur::Must, p.box_clone())));
            clauses
        };
        // Tier 1: every word. Then, as Meilisearch's default matching
        // strategy does, the words but the last, but the last two, … down
        // to the first word alone: each tier an intersection, a superset
        // of the one before. Then any of the words.
        let tiers: Vec<Box<dyn tantivy::query::Query>> =
            if word_queries.is_empty() && phrases.is_empty() {
                vec![with_filters(Box::new(AllQuery))]
            } else {
                let first = usize::from(!word_queries.is_empty());
                (first.max(1)..=word_queries.len().max(1))
                    .rev()
                    .map(|k| {
                        let clauses = must_phrases(
                            word_queries[..k.min(word_queries.len())]
                                .iter()
                                .map(|w| (Occur::Must, w.box_clone()))
                                .collect(),
                        );
                        with_filters(Box::new(BooleanQuery::new(clauses)))
                    })
                    .chain((word_queries.len() > 1).then(|| {
                        // Last, any word at all: a first word that matches
                        // nothing must not hide the others.
                        let clauses = must_phrases(
                            word_queries
                                .iter()
                                .map(|w| (Occur::Should, w.box_clone()))
                                .collect(),
                        );
                        with_filters(Box::new(BooleanQuery::new(clauses)))
                    }))
                    .collect()
            };

        let recency = move |segment: &SegmentReader| {
            let col = segment
                .fast_fields()
                .i64("updated")
                .ok()
                .map(|c| c.first_or_default_col(0));
            move |doc: DocId, score: Score| (score, col.as_ref().map_or(0, |c| c.get_val(doc)))
        };

        let mut seen = std::collections::HashSet::new();
        let mut ranked: Vec<(u8, f32, DocAddress)> = Vec::new();
        // The short id typed exactly.
        if let Some(key) = &plan.key
            && let Ok(docs) = searcher.search(
                &with_filters(Box::new(TermQuery::new(
                    Term::from_field_text(f.key_lc, key),
                    IndexRecordOption::Basic,
                ))),
                &TopDocs::with_limit(4).order_by_score(),
            )
        {
            for (_, addr) in docs {
                if seen.insert(addr) {
                    ranked.push((0, KEY, addr));
                }
            }
        }
        let mut total = 0;
        let mut facets = Facets::default();
        let want = if graph_filter.is_some() {
            usize::MAX
        } else {
            limit + q.offset
        };
        let all_docs = usize::try_from(searcher.num_docs())
            .unwrap_or(usize::MAX)
            .max(1);
        let by_bitsets = !q.scorers
            && plan.phrases.is_empty()
            && self
                .rank_by_bitsets(
                    &searcher,
                    &plan,
                    q.prefix_last,
                    &filters,
                    want,
                    &mut seen,
                    &mut ranked,
                )
                .map(|(n, fc)| {
                    total = n;
                    facets = fc;
                })
                .is_ok();
        let tiers = if by_bitsets { &[][..] } else { &tiers[..] };
        for (tier, query) in tiers.iter().enumerate() {
            let room = want.saturating_sub(ranked.len());
            // A page filled: the total and facets are those of the tier
            // that filled it, and the wider tiers are not run.
            if tier > 0 && room == 0 {
                break;
            }
            // A wider tier repeats the documents of the narrower ones.
            let fetch = if tier == 0 { room } else { want };
            let top = TopDocs::with_limit(fetch.min(all_docs).max(1)).tweak_score(recency);
            // One pass: the page, and the count and facets (from one
            // bitset of the matches).
            let Ok((docs, (n, fc))) = searcher.search(query.as_ref(), &(top, self.facets.clone()))
            else {
                continue;
            };
            total = n;
            facets = fc;
            for ((score, _), addr) in docs {
                if seen.insert(addr) {
                    ranked.push((tier as u8 + 1, score, addr));
                }
            }
        }
        // The short id hit may sit outside the text's matches: count it.
        total = total.max(ranked.len());

        let mut hits: Vec<Hit> = Vec::new();
        let mut kept = 0;
        let mut facet_hits = Vec::new();
        for (tier, score, addr) in ranked {
            let Ok(doc) = searcher.doc::<tantivy::TantivyDocument>(addr) else {
                continue;
            };
            let hit = self.hit(&doc, &plan, tier, score);
            if let Some(pred) = &graph_filter
                && !pred(graph, &hit)
            {
                continue;
            }
            kept += 1;
            if graph_filter.is_some() {
                facet_hits.push((
                    hit.status.clone(),
                    hit.assignee.clone(),
                    doc_labels(&doc, f),
                ));
            }
            if kept > q.offset && hits.len() < limit {
                hits.push(hit);
            }
        }
        if graph_filter.is_some() {
            total = kept;
            facets = Facets::from_hits(facet_hits);
        }
        Results {
            hits,
            total,
            facets,
            literal: plan.literal,
            words: plan.words.iter().map(|w| w.text.clone()).collect(),
            took: t.elapsed(),
        }
    }

    /// The tiers of [`SearchIndex::search`] ranked with bitsets instead
    /// of scorers: per segment, one bitset per way each word matches (its
    /// [`word_clauses`]) and one of the filters; a tier's matches are
    /// their intersection, a document's score the sum over words of the
    /// best way it matches, and only documents that could still enter the
    /// page have their recency read. Same order and totals as scoring
    /// every match with tantivy's collectors — which cost ~85 ns per
    /// matching document, most of a query on a word that matches half the
    /// workspace — at a few nanoseconds per match. Phrases take the
    /// collectors' path.
    #[allow(clippy::too_many_arguments)]
    fn rank_by_bitsets(
        &self,
        searcher: &tantivy::Searcher,
        plan: &Plan,
        prefix_last: bool,
        filters: &[(Occur, Box<dyn tantivy::query::Query>)],
        want: usize,
        seen: &mut std::collections::HashSet<DocAddress>,
        ranked: &mut Vec<(u8, f32, DocAddress)>,
    ) -> tantivy::Result<(usize, Facets)> {
        use tantivy::query::{EnableScoring, Query as _};
        let f = &self.f;
        let off = EnableScoring::disabled_from_searcher(searcher);
        let n_words = plan.words.len();
        // Per word, its ways of matching, best first.
        let mut words = Vec::with_capacity(n_words);
        for (i, w) in plan.words.iter().enumerate() {
            let mut clauses = word_clauses(f, w, prefix_last && i + 1 == n_words);
            clauses.sort_by(|a, b| b.1.total_cmp(&a.1));
            let mut ways = Vec::with_capacity(clauses.len());
            for (q, weight) in clauses {
                ways.push((q.weight(off)?, weight));
            }
            words.push(ways);
        }
        let filter = if filters.is_empty() {
            None
        } else {
            let q = BooleanQuery::new(filters.iter().map(|(o, c)| (*o, c.box_clone())).collect());
            Some(q.weight(off)?)
        };

        struct Seg<'r> {
            reader: &'r SegmentReader,
            allowed: Vec<u64>,
            /// Per word: per way (best first), its weight and documents.
            ways: Vec<Vec<(f32, Vec<u64>)>>,
            /// Per word: every document it matches.
            any: Vec<Vec<u64>>,
            updated: Option<std::sync::Arc<dyn tantivy::columnar::ColumnValues<i64>>>,
        }
        let mut segs = Vec::new();
        for reader in searcher.segment_readers() {
            let max = reader.max_doc();
            let len = (max as usize).div_ceil(64);
            let mut allowed = match &filter {
                Some(w) => docs_of(w.as_ref(), reader, len)?,
                None => full_bitset(max),
            };
            if let Some(alive) = reader.alive_bitset() {
                let mut live = vec![0u64; len];
                for d in alive.iter_alive() {
                    live[d as usize >> 6] |= 1 << (d & 63);
                }
                and_into(&mut allowed, &live);
            }
            let mut ways = Vec::with_capacity(n_words);
            let mut any = Vec::with_capacity(n_words);
            for word in &words {
                let mut all = vec![0u64; len];
                let mut these = Vec::with_capacity(word.len());
                for (w, weight) in word {
                    let bits = docs_of(w.as_ref(), reader, len)?;
                    or_into(&mut all, &bits);
                    these.push((*weight, bits));
                }
                ways.push(these);
                any.push(all);
            }
            let updated = reader
                .fast_fields()
                .i64("updated")
                .ok()
                .map(|c| c.first_or_default_col(0));
            segs.push(Seg {
                reader,
                allowed,
                ways,
                any,
                updated,
            });
        }

        // The tiers: every word, every word but the last, …, the first
        // word; then any word. With no words, everything the filters allow.
        let mut tiers: Vec<(Vec<usize>, bool)> = (1..=n_words)
            .rev()
            .map(|k| ((0..k).collect(), false))
            .collect();
        if n_words > 1 {
            tiers.push(((0..n_words).collect(), true));
        }
        if n_words == 0 {
            tiers.push((Vec::new(), false));
        }
        let mut total = 0;
        let mut facets = Facets::default();
        for (tier, (used, union)) in tiers.iter().enumerate() {
            let room = want.saturating_sub(ranked.len());
            if tier > 0 && room == 0 {
                break;
            }
            let fetch = if tier == 0 { room } else { want }.max(1);
            // (score, recency, segment, doc), the best `fetch` kept in a
            // min-heap; ties go to the lower address, as in `TopDocs`.
            type Key = (u32, i64, std::cmp::Reverse<(u32, DocId)>);
            let mut heap: std::collections::BinaryHeap<std::cmp::Reverse<Key>> =
                std::collections::BinaryHeap::new();
            let mut counts: Vec<(usize, [HashMap<String, usize>; 3])> = Vec::new();
            let mut tier_matches = Vec::with_capacity(segs.len());
            for seg in &segs {
                let mut matches = seg.allowed.clone();
                if *union {
                    let mut some = vec![0u64; matches.len()];
                    for &w in used {
                        or_into(&mut some, &seg.any[w]);
                    }
                    and_into(&mut matches, &some);
                } else {
                    for &w in used {
                        and_into(&mut matches, &seg.any[w]);
                    }
                }
                counts.push(self.facets.count(seg.reader, &matches)?);
                tier_matches.push(matches);
            }
            // Only documents that can reach the page are scored. A word's
            // ways have distinct weights: with one word, the page comes
            // from its best ways that together match `fetch` documents;
            // with more, when `fetch` documents match every word its best
            // way (the highest score there is), from those alone.
            let restrict = |seg: &Seg<'_>, matches: &[u64], ways: usize| -> Vec<u64> {
                let mut best = vec![if used.len() == 1 { 0 } else { u64::MAX }; matches.len()];
                for &w in used {
                    for (_, bits) in seg.ways[w].iter().take(ways) {
                        if used.len() == 1 {
                            or_into(&mut best, bits);
                        } else {
                            and_into(&mut best, bits);
                        }
                    }
                }
                and_into(&mut best, matches);
                best
            };
            let popcount =
                |bits: &[u64]| bits.iter().map(|w| w.count_ones() as usize).sum::<usize>();
            if !used.is_empty() && fetch < counts.iter().map(|c| c.0).sum() {
                let levels = if used.len() == 1 {
                    segs.first().map_or(0, |s| s.ways[used[0]].len())
                } else {
                    1
                };
                for ways in 1..=levels {
                    let narrowed: Vec<Vec<u64>> = segs
                        .iter()
                        .zip(&tier_matches)
                        .map(|(seg, m)| restrict(seg, m, ways))
                        .collect();
                    if narrowed.iter().map(|b| popcount(b)).sum::<usize>() >= fetch {
                        tier_matches = narrowed;
                        break;
                    }
                }
            }
            for (ord, (seg, matches)) in segs.iter().zip(&tier_matches).enumerate() {
                for_each_bit(matches, |d| {
                    let mut score = if used.is_empty() { 1.0 } else { 0.0 };
                    for &w in used {
                        if let Some((weight, _)) = seg.ways[w]
                            .iter()
                            .find(|(_, bits)| bits[d as usize >> 6] & (1 << (d & 63)) != 0)
                        {
                            score += weight;
                        }
                    }
                    let bits = score.to_bits();
                    if heap.len() >= fetch && heap.peek().is_some_and(|m| bits < (m.0).0) {
                        return;
                    }
                    let updated = seg.updated.as_ref().map_or(0, |c| c.get_val(d));
                    let key = (bits, updated, std::cmp::Reverse((ord as u32, d)));
                    if heap.len() < fetch {
                        heap.push(std::cmp::Reverse(key));
                    } else if heap.peek().is_some_and(|m| key > m.0) {
                        heap.pop();
                        heap.push(std::cmp::Reverse(key));
                    }
                });
            }
            let (n, fc) = FacetCollector::merge(counts);
            total = n;
            facets = fc;
            let mut top: Vec<Key> = heap.into_iter().map(|r| r.0).collect();
            top.sort_unstable_by(|a, b| b.cmp(a));
            for (bits, _, std::cmp::Reverse((ord, d))) in top {
                let addr = DocAddress::new(ord, d);
                if seen.insert(addr) {
                    ranked.push((tier as u8 + 1, f32::from_bits(bits), addr));
                }
            }
        }
        Ok((total, facets))
    }

    fn hit(&self, doc: &tantivy::TantivyDocument, plan: &Plan, tier: u8, score: f32) -> Hit {
        let f = &self.f;
        let s = |field: Field| -> String {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_owned()
        };
        let kind = match s(f.kind).as_str() {
            "component" => Kind::Component,
            "artifact" => Kind::Artifact,
            "comment" => Kind::Comment,
            _ => Kind::Issue,
        };
        let title = s(f.title);
        let text = s(f.text);
        let (item_key, item_title) = if kind == Kind::Comment {
            (s(f.item_key), s(f.item_title))
        } else {
            (s(f.key), title.clone())
        };
        let status = s(f.status);
        let assignee = s(f.assignee);
        Hit {
            kind,
            key: item_key,
            path: s(f.uid),
            title_highlights: highlight(&item_title, plan),
            title: item_title,
            snippet: snippet(&text, plan),
            status: (!status.is_empty()).then_some(status),
            assignee: (!assignee.is_empty() && assignee != "none").then_some(assignee),
            priority: doc
                .get_first(f.priority)
                .and_then(|v| v.as_u64())
                .map(|p| p as u8),
            updated: doc
                .get_first(f.updated)
                .and_then(|v| v.as_i64())
                .unwrap_or(0),
            tier,
            score,
        }
    }
}

/// Takes the lock that serializes processes opening or writing the index
/// in `dir` (`search.lock` beside it, which a rebuild never deletes);
/// released when the returned file is dropped.
fn lock(dir: &Path) -> Result<std::fs::File, SearchError> {
    let err = |e: std::io::Error| SearchError {
        path: dir.to_owned(),
        message: format!("cannot lock: {e}"),
    };
    let path = dir.with_extension("lock");
    if let Some(parent) = path.parent() {
        crate::cache::make_cache_dir(parent).map_err(err)?;
    }
    let f = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(err)?;
    f.lock().map_err(err)?;
    Ok(f)
}

/// The index's own files (not ours, not lock files) with their stamps,
/// sorted.
fn index_files(dir: &Path) -> Vec<(String, Stamp)> {
    let mut out: Vec<(String, Stamp)> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().into_string().ok()?;
                    if name.starts_with('.') || name == MANIFEST || name == JOURNAL {
                        return None;
                    }
                    Some((name, Stamp::of(&e.metadata().ok()?)))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Applies the journal's intact records to `m`, in order; a torn or
/// damaged record ends the replay (what follows it is lost, and the
/// opstamp check then asks for a rebuild if that mattered).
fn replay_journal(dir: &Path, m: &mut Manifest) {
    let Ok(bytes) = std::fs::read(dir.join(JOURNAL)) else {
        return;
    };
    let mut at = 0;
    while at + 12 <= bytes.len() {
        let len: Option<[u8; 4]> = bytes.get(at..at + 4).and_then(|b| b.try_into().ok());
        let sum: Option<[u8; 8]> = bytes.get(at + 4..at + 12).and_then(|b| b.try_into().ok());
        let (Some(len), Some(sum)) = (len, sum) else {
            break;
        };
        let len = u32::from_le_bytes(len) as usize;
        let sum = u64::from_le_bytes(sum);
        let Some(body) = bytes.get(at + 12..at + 12 + len) else {
            break;
        };
        if xxhash_rust::xxh3::xxh3_64(body) != sum {
            break;
        }
        let Ok(r) = postcard::from_bytes::<JournalRecord>(body) else {
            break;
        };
        m.opstamp = r.opstamp;
        m.files = r.files;
        for p in r.removes {
            m.entries.remove(&p);
        }
        for e in r.upserts {
            m.entries.insert(e.path.clone(), e);
        }
        at += 12 + len;
    }
}

/// The file of the item `key` names, if the graph has it.
fn item_path(graph: &Graph, key: &str) -> Option<String> {
    let n = graph.find(key)?;
    Some(graph.node(n).item.as_ref()?.path.clone())
}

fn doc_labels(doc: &tantivy::TantivyDocument, f: &F) -> Vec<String> {
    doc.get_all(f.labels)
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

fn decode_manifest(bytes: &[u8]) -> Result<Manifest, String> {
    if bytes.len() < 16 || &bytes[..8] != MANIFEST_MAGIC {
        return Err("manifest: not a manifest".into());
    }
    let sum = u64::from_le_bytes(bytes[8..16].try_into().map_err(|_| "manifest: short")?);
    let body = &bytes[16..];
    if xxhash_rust::xxh3::xxh3_64(body) != sum {
        return Err("manifest: checksum mismatch".into());
    }
    let m: Manifest = postcard::from_bytes(body).map_err(|e| format!("manifest: {e}"))?;
    if m.version != VERSION {
        return Err(format!(
            "index version {}, this version uses {VERSION}",
            m.version
        ));
    }
    Ok(m)
}

/// A search request.
#[derive(Debug, Clone, Copy)]
pub struct SearchQuery<'a> {
    /// Words and filters, in the grammar of `list`.
    pub text: &'a str,
    /// The acting member, for `@me`.
    pub me: Option<&'a str>,
    pub limit: usize,
    pub offset: usize,
    /// Match the last word as a prefix too (as you type).
    pub prefix_last: bool,
    /// Rank by scoring every match with tantivy's collectors instead of
    /// with bitsets: the reference the bitset ranking is tested against.
    #[doc(hidden)]
    pub scorers: bool,
}

impl<'a> SearchQuery<'a> {
    pub fn new(text: &'a str) -> SearchQuery<'a> {
        SearchQuery {
            text,
            me: None,
            limit: 20,
            offset: 0,
            prefix_last: true,
            scorers: false,
        }
    }
}

/// One result.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub kind: Kind,
    /// The item's short id or key; for a comment, its item's.
    pub key: String,
    /// The file of the document (for a comment, the comment's file).
    pub path: String,
    /// The item's title; for a comment, its item's.
    pub title: String,
    /// Byte ranges of `title` that matched.
    pub title_highlights: Vec<(usize, usize)>,
    pub snippet: Snippet,
    pub status: Option<String>,
    pub assignee: Option<String>,
    pub priority: Option<u8>,
    /// Modification time of the file, nanoseconds since the epoch.
    pub updated: i64,
    /// 0: the short id typed; 1: every word matched; 2: all but the last
    /// word; 3: all but the last two; …; the last tier: any word.
    pub tier: u8,
    pub score: f32,
}

/// A piece of the text around the matches.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Snippet {
    pub text: String,
    /// Byte ranges of `text` that matched.
    pub highlights: Vec<(usize, usize)>,
}

/// Counts over every document that matched (not just the page).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Facets {
    pub status: Vec<(String, usize)>,
    pub labels: Vec<(String, usize)>,
    pub assignee: Vec<(String, usize)>,
}

impl Facets {
    fn from_maps(maps: [HashMap<String, usize>; 3]) -> Facets {
        let [status, labels, assignee] = maps.map(|m| {
            let mut v: Vec<(String, usize)> = m.into_iter().filter(|(k, _)| k != "none").collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            v
        });
        Facets {
            status,
            labels,
            assignee,
        }
    }

    fn from_hits(hits: Vec<(Option<String>, Option<String>, Vec<String>)>) -> Facets {
        let mut maps: [HashMap<String, usize>; 3] = Default::default();
        for (status, assignee, labels) in hits {
            if let Some(s) = status {
                *maps[0].entry(s).or_default() += 1;
            }
            for l in labels {
                *maps[1].entry(l).or_default() += 1;
            }
            if let Some(a) = assignee {
                *maps[2].entry(a).or_default() += 1;
            }
        }
        Facets::from_maps(maps)
    }
}

/// The answer to a query.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    pub hits: Vec<Hit>,
    /// Documents that matched in all.
    pub total: usize,
    pub facets: Facets,
    /// The query did not parse as filters and was searched as words.
    pub literal: bool,
    /// The words searched for, as the index sees them.
    pub words: Vec<String>,
    #[serde(skip)]
    pub took: Duration,
}

// ---------------------------------------------------------------------
// Documents

/// The document of one item file.
fn document(
    f: &F,
    item: &Item,
    graph: &Graph,
    config: Option<&Config>,
    mtime_ns: i64,
) -> tantivy::TantivyDocument {
    let mut d = tantivy::TantivyDocument::default();
    d.add_text(f.uid, &item.path);
    d.add_text(f.kind, item.kind().as_str());
    d.add_i64(f.updated, mtime_ns);
    let lc = |s: &str| s.strip_prefix('@').unwrap_or(s).to_lowercase();
    if let Fields::Comment(c) = &item.fields {
        // Found by its item's key and title, but matched on its own text.
        let on = comment_item(graph, &item.path);
        if let Some(n) = on {
            let node = graph.node(n);
            d.add_text(f.item_key, &node.key);
            d.add_text(f.item_title, &node.title);
            if let Some(id) = node.id() {
                d.add_text(f.item_id, id.to_string());
            }
            for u in under(graph, n) {
                d.add_text(f.under, u);
            }
        } else if let Some(on) = &c.on {
            d.add_text(f.item_id, on.value.to_string());
        }
        d.add_text(f.text, &item.body);
        d.add_text(
            f.created_by,
            c.author.as_ref().map_or("none".into(), |a| lc(&a.value)),
        );
        d.add_text(f.owner, "none");
        d.add_text(f.cycle, "none");
        return d;
    }
    d.add_text(f.key, item.short_str());
    d.add_text(f.key_lc, item.short_str().to_lowercase());
    if let Some(id) = &item.id {
        d.add_text(f.item_id, id.value.to_string());
    }
    d.add_text(f.title, item.title_str());
    let mut text = item.body.clone();
    if let Fields::Artifact(a) = &item.fields {
        for v in [&a.url, &a.file].into_iter().flatten() {
            text.push('\n');
            text.push_str(&v.value);
        }
    }
    d.add_text(f.text, &text);
    for l in item.labels() {
        d.add_text(f.labels, l.value.to_lowercase());
    }
    if item.labels().is_empty() {
        d.add_text(f.missing, "label");
    }
    if item.parent().is_none() {
        d.add_text(f.missing, "parent");
    }
    if let Some(n) = graph.by_path(&item.path) {
        for u in under(graph, n) {
            d.add_text(f.under, u);
        }
    }
    let owner = item
        .component()
        .and_then(|c| c.owner.as_ref())
        .map_or("none".into(), |o| lc(&o.value));
    d.add_text(f.owner, owner);
    let created_by = match &item.fields {
        Fields::Issue(i) => i.created_by.as_ref(),
        Fields::Artifact(a) => a.created_by.as_ref(),
        _ => None,
    };
    d.add_text(
        f.created_by,
        created_by.map_or("none".into(), |b| lc(&b.value)),
    );
    match item.issue() {
        Some(i) => {
            let status = i.status.as_ref().map(|s| s.value.as_str());
            if let Some(s) = status {
                d.add_text(f.status, s.to_lowercase());
            }
            if let Some(s) = status {
                let known = config.and_then(|c| c.status(s)).map(|s| s.category);
                if let Some(c) = known {
                    d.add_text(f.category, c.as_str());
                }
                let open = known.unwrap_or(Category::Unstarted).is_open();
                d.add_text(f.open, if open { "open" } else { "closed" });
            }
            d.add_text(
                f.assignee,
                i.assignee.as_ref().map_or("none".into(), |a| lc(&a.value)),
            );
            d.add_u64(
                f.priority,
                u64::from(i.priority.as_ref().map_or(0, |p| p.value)),
            );
            if let Some(e) = &i.estimate {
                d.add_f64(f.estimate, e.value);
            }
            if let Some(due) = &i.due {
                d.add_i64(f.due, date_number(due.value));
            }
            d.add_text(
                f.cycle,
                i.cycle
                    .as_ref()
                    .map_or("none".into(), |c| c.value.to_lowercase()),
            );
            for (missing, yes) in [
                ("assignee", i.assignee.is_none()),
                ("cycle", i.cycle.is_none()),
                ("estimate", i.estimate.is_none()),
                ("priority", i.priority.as_ref().is_none_or(|p| p.value == 0)),
                ("due", i.due.is_none()),
            ] {
                if yes {
                    d.add_text(f.missing, missing);
                }
            }
        }
        None => d.add_text(f.cycle, "none"),
    }
    d
}

/// `2026-12-01` as the number 20261201: ordered like the dates.
fn date_number(d: jiff::civil::Date) -> i64 {
    i64::from(d.year()) * 10_000 + i64::from(d.month()) * 100 + i64::from(d.day())
}

/// The item a comment file is on: the name of its directory.
fn comment_item(graph: &Graph, path: &str) -> Option<NodeIndex> {
    let dir = path.strip_prefix(parse::COMMENTS_DIR)?.strip_prefix('/')?;
    let (id, _) = dir.split_once('/')?;
    graph.find(id)
}

/// The lower-cased keys and ids of `n` and every item above it.
fn under(graph: &Graph, n: NodeIndex) -> Vec<String> {
    let mut out = Vec::new();
    let mut at = Some(n);
    for _ in 0..crate::query::MAX_TREE_DEPTH {
        let Some(x) = at else { break };
        let node = graph.node(x);
        if node.item.is_some() {
            out.push(node.key.to_lowercase());
            if let Some(id) = node.id() {
                out.push(id.to_string());
            }
        }
        at = graph.parent(x);
    }
    out
}

/// What a file's document takes from elsewhere: its place in the tree,
/// its status category (from the config), a comment's item.
fn context_hash(graph: &Graph, path: &str) -> u64 {
    // Persisted in the manifest: a hash whose algorithm is fixed (std's
    // default hasher may change between Rust releases).
    let mut h = xxhash_rust::xxh3::Xxh3Default::new();
    let n = if path.starts_with(parse::COMMENTS_DIR) {
        let n = comment_item(graph, path);
        if let Some(n) = n {
            graph.node(n).title.hash(&mut h);
            graph.node(n).key.hash(&mut h);
        }
        n
    } else {
        let n = graph.by_path(path);
        if let Some(n) = n {
            graph.node(n).category.map(Category::as_str).hash(&mut h);
        }
        n
    };
    if let Some(n) = n {
        under(graph, n).hash(&mut h);
    }
    h.finish()
}

// ---------------------------------------------------------------------
// Queries

/// One word of the text.
#[derive(Debug, Clone)]
struct Word {
    text: String,
}

/// A parsed query: text words, phrases, filters.
struct Plan {
    words: Vec<Word>,
    phrases: Vec<Vec<String>>,
    filter: Filter,
    /// The text as a short id, when it is one word that could be one.
    key: Option<String>,
    me: Option<String>,
    literal: bool,
    /// Which text words matched, remembered across the hits of one search
    /// (texts share most of their words).
    seen: std::cell::RefCell<HashMap<String, bool>>,
}

impl Plan {
    fn of(text: &str, me: Option<&str>) -> Plan {
        let mut cut = text.len().min(MAX_QUERY_CHARS);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let text = &text[..cut];
        let (filter, literal) = match Filter::parse(text) {
            Ok(f) => (f, false),
            // Not filters: every word is text.
            Err(_) => (
                Filter {
                    terms: vec![schema::filter::Term {
                        negated: false,
                        pred: Pred::Text(text.replace('"', " ").to_lowercase()),
                    }],
                },
                true,
            ),
        };
        let mut words = Vec::new();
        let mut phrases = Vec::new();
        let mut rest = Vec::new();
        for t in filter.terms {
            match t.pred {
                Pred::Text(s) if !t.negated => {
                    // Only a quoted term can hold a space: a phrase.
                    let quoted = !literal && s.contains(char::is_whitespace);
                    let ws: Vec<String> = self::words(&s).into_iter().map(|w| w.0).collect();
                    if quoted && ws.len() > 1 {
                        phrases.push(ws);
                    } else {
                        words.extend(ws.into_iter().map(|text| Word { text }));
                    }
                }
                Pred::Text(_) => rest.push(t),
                _ => rest.push(t),
            }
        }
        words.truncate(MAX_WORDS);
        phrases.truncate(MAX_WORDS);
        let trimmed = text.trim();
        let key = (words.len() <= 2
            && phrases.is_empty()
            && !trimmed.contains(char::is_whitespace)
            && schema::ids::is_short_id(trimmed))
        .then(|| trimmed.to_lowercase());
        Plan {
            words,
            phrases,
            filter: Filter { terms: rest },
            key,
            me: me.map(|m| m.strip_prefix('@').unwrap_or(m).to_lowercase()),
            literal,
            seen: Default::default(),
        }
    }

    /// Whether the text word `w` matches the query, as the query matched.
    fn matches_word(&self, w: &str) -> bool {
        if let Some(&yes) = self.seen.borrow().get(w) {
            return yes;
        }
        let last = self.words.len();
        let yes = self
            .words
            .iter()
            .enumerate()
            .any(|(i, q)| word_matches(w, &q.text, i + 1 == last))
            || self.phrases.iter().flatten().any(|p| p == w);
        self.seen.borrow_mut().insert(w.to_owned(), yes);
        yes
    }

    /// The filters as index clauses. `is:blocked` and `is:ready` are left
    /// to [`Plan::graph_filter`]; negated text excludes documents with the
    /// word.
    fn filter_clauses(&self, f: &F) -> Vec<(Occur, Box<dyn tantivy::query::Query>)> {
        let mut out = Vec::new();
        for t in &self.filter.terms {
            let Some(q) = self.pred_query(f, &t.pred) else {
                continue;
            };
            out.push((
                if t.negated {
                    Occur::MustNot
                } else {
                    Occur::Must
                },
                q,
            ));
        }
        if !out.is_empty() && out.iter().all(|(o, _)| *o == Occur::MustNot) {
            out.push((Occur::Must, Box::new(AllQuery)));
        }
        out
    }

    fn pred_query(&self, f: &F, p: &Pred) -> Option<Box<dyn tantivy::query::Query>> {
        let term = |field: Field, v: &str| -> Box<dyn tantivy::query::Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, v),
                IndexRecordOption::Basic,
            ))
        };
        let any = |qs: Vec<Box<dyn tantivy::query::Query>>| -> Box<dyn tantivy::query::Query> {
            Box::new(BooleanQuery::new(
                qs.into_iter().map(|q| (Occur::Should, q)).collect(),
            ))
        };
        let handle = |h: &str| -> String {
            let h = h.strip_prefix('@').unwrap_or(h).to_lowercase();
            if h == "me" {
                self.me.clone().unwrap_or_else(|| "\u{0}".into())
            } else {
                h
            }
        };
        Some(match p {
            Pred::Kind(kinds) => any(kinds.iter().map(|k| term(f.kind, k.as_str())).collect()),
            Pred::Status(ss) => any(ss
                .iter()
                .flat_map(|s| {
                    let s = s.to_lowercase();
                    [term(f.status, &s), term(f.category, &s)]
                })
                .collect()),
            Pred::Label(ls) => any(ls
                .iter()
                .map(|l| term(f.labels, &l.to_lowercase()))
                .collect()),
            Pred::Assignee(hs) => any(hs.iter().map(|h| term(f.assignee, &handle(h))).collect()),
            Pred::Owner(hs) => any(hs.iter().map(|h| term(f.owner, &handle(h))).collect()),
            Pred::CreatedBy(hs) => any(hs.iter().map(|h| term(f.created_by, &handle(h))).collect()),
            Pred::Cycle(cs) => any(cs
                .iter()
                .map(|c| term(f.cycle, &c.to_lowercase()))
                .collect()),
            Pred::Under(rs) => any(rs
                .iter()
                .map(|r| term(f.under, &r.trim().to_lowercase()))
                .collect()),
            Pred::Open(open) => term(f.open, if *open { "open" } else { "closed" }),
            Pred::Missing(m) => term(
                f.missing,
                match m {
                    MissingField::Assignee => "assignee",
                    MissingField::Label => "label",
                    MissingField::Cycle => "cycle",
                    MissingField::Parent => "parent",
                    MissingField::Estimate => "estimate",
                    MissingField::Priority => "priority",
                    MissingField::Due => "due",
                },
            ),
            Pred::Priority(cs) => any(cs.iter().map(|&(c, p)| priority_query(f, c, p)).collect()),
            Pred::Estimate(cs) => any(cs
                .iter()
                .map(|&(c, e)| {
                    let (lo, hi) = bounds(c, e);
                    Box::new(RangeQuery::new(
                        lo.map(|v| Term::from_field_f64(f.estimate, v)),
                        hi.map(|v| Term::from_field_f64(f.estimate, v)),
                    )) as Box<dyn tantivy::query::Query>
                })
                .collect()),
            Pred::Due(cs) => any(cs
                .iter()
                .map(|&(c, d)| {
                    let (lo, hi) = bounds(c, date_number(d));
                    Box::new(RangeQuery::new(
                        lo.map(|v| Term::from_field_i64(f.due, v)),
                        hi.map(|v| Term::from_field_i64(f.due, v)),
                    )) as Box<dyn tantivy::query::Query>
                })
                .collect()),
            Pred::Text(s) => {
                // Negated text: documents with all these words exactly.
                let ws = self::words(s);
                if ws.is_empty() {
                    return None;
                }
                Box::new(BooleanQuery::new(
                    ws.iter()
                        .map(|(w, ..)| {
                            (
                                Occur::Must,
                                Box::new(BooleanQuery::new(vec![
                                    (Occur::Should, term_text(f.title, w)),
                                    (Occur::Should, term_text(f.text, w)),
                                ]))
                                    as Box<dyn tantivy::query::Query>,
                            )
                        })
                        .collect(),
                ))
            }
            Pred::Blocked | Pred::Ready => return None,
        })
    }

    /// `is:blocked` / `is:ready` terms, checked against the graph.
    #[allow(clippy::type_complexity)]
    fn graph_filter(&self) -> Option<Box<dyn Fn(&Graph, &Hit) -> bool + '_>> {
        let terms: Vec<(bool, bool)> = self
            .filter
            .terms
            .iter()
            .filter_map(|t| match t.pred {
                Pred::Blocked => Some((t.negated, true)),
                Pred::Ready => Some((t.negated, false)),
                _ => None,
            })
            .collect();
        if terms.is_empty() {
            return None;
        }
        Some(Box::new(move |g: &Graph, hit: &Hit| {
            let n = if hit.kind == Kind::Comment {
                None
            } else {
                g.by_path(&hit.path)
            };
            terms.iter().all(|&(negated, blocked)| {
                let yes = n.is_some_and(|n| {
                    if g.node(n).kind != crate::NodeKind::Issue {
                        return false;
                    }
                    if blocked {
                        g.open_blocker_count(n) > 0
                    } else {
                        g.is_open_issue(n)
                            && g.open_blocker_count(n) == 0
                            && g.open_child_count(n) == 0
                    }
                });
                yes != negated
            })
        }))
    }
}

fn bounds<T: Copy>(c: Cmp, v: T) -> (std::ops::Bound<T>, std::ops::Bound<T>) {
    use std::ops::Bound::{Excluded, Included, Unbounded};
    match c {
        Cmp::Lt => (Unbounded, Excluded(v)),
        Cmp::Le => (Unbounded, Included(v)),
        Cmp::Eq => (Included(v), Included(v)),
        Cmp::Ge => (Included(v), Unbounded),
        Cmp::Gt => (Excluded(v), Unbounded),
    }
}

/// `priority:<=2` as `list` means it: 0 is "none", never more urgent than
/// anything.
fn priority_query(f: &F, c: Cmp, p: u8) -> Box<dyn tantivy::query::Query> {
    use std::ops::Bound::{Excluded, Included};
    let (mut lo, hi) = bounds(c, u64::from(p));
    if p != 0 && matches!(c, Cmp::Lt | Cmp::Le) {
        lo = Included(1);
    }
    if p == 0 && c == Cmp::Lt {
        lo = Excluded(0);
    }
    Box::new(RangeQuery::new(
        lo.map(|v| Term::from_field_u64(f.priority, v)),
        hi.map(|v| Term::from_field_u64(f.priority, v)),
    ))
}

fn term_text(field: Field, w: &str) -> Box<dyn tantivy::query::Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, w),
        IndexRecordOption::Basic,
    ))
}

/// One word: the best of exact, prefix and typo'd matches, in the title
/// and in the text.
fn word_query(f: &F, w: &Word, prefix: bool) -> Box<dyn tantivy::query::Query> {
    Box::new(DisjunctionMaxQuery::new(
        word_clauses(f, w, prefix)
            .into_iter()
            .map(|(q, s)| -> Box<dyn tantivy::query::Query> {
                Box::new(ConstScoreQuery::new(q, s))
            })
            .collect(),
    ))
}

/// The ways one word matches, each with its weight: exact in the title and
/// in the text, then (as a prefix, and typo'd) in each.
fn word_clauses(f: &F, w: &Word, prefix: bool) -> Vec<(Box<dyn tantivy::query::Query>, f32)> {
    let mut ds: Vec<(Box<dyn tantivy::query::Query>, f32)> = vec![
        (term_text(f.title, &w.text), EXACT_TITLE),
        (term_text(f.text, &w.text), EXACT_TEXT),
    ];
    let typos = typo_budget(&w.text);
    for (field, exact, typo) in [
        (f.title, PREFIX_TITLE, TYPO_TITLE),
        (f.text, PREFIX_TEXT, TYPO_TEXT),
    ] {
        let t = Term::from_field_text(field, &w.text);
        if prefix {
            ds.push((
                Box::new(FuzzyTermQuery::new_prefix(t.clone(), 0, true)),
                exact,
            ));
        }
        if typos > 0 {
            // The typo'd prefix automaton covers the typo'd word: one
            // automaton, not two (each reads every posting it matches).
            let fuzzy = if prefix {
                FuzzyTermQuery::new_prefix(t, typos, true)
            } else {
                FuzzyTermQuery::new(t, typos, true)
            };
            ds.push((Box::new(fuzzy), typo));
        }
    }
    ds
}

fn phrase_query(f: &F, words: &[String]) -> Option<Box<dyn tantivy::query::Query>> {
    if words.len() < 2 {
        return None;
    }
    let phrase = |field: Field| -> Box<dyn tantivy::query::Query> {
        Box::new(PhraseQuery::new(
            words
                .iter()
                .map(|w| Term::from_field_text(field, w))
                .collect(),
        ))
    };
    Some(Box::new(BooleanQuery::new(vec![
        (
            Occur::Should,
            Box::new(ConstScoreQuery::new(phrase(f.title), EXACT_TITLE)),
        ),
        (
            Occur::Should,
            Box::new(ConstScoreQuery::new(phrase(f.text), EXACT_TEXT)),
        ),
    ])))
}

// ---------------------------------------------------------------------
// Highlights and snippets

/// Whether an indexed word `have` matches a query word, by the rules the
/// query used.
fn word_matches(have: &str, want: &str, prefix: bool) -> bool {
    if have == want || (prefix && have.starts_with(want)) {
        return true;
    }
    let budget = usize::from(typo_budget(want));
    if budget == 0 {
        return false;
    }
    // Lengths alone rule most words out.
    let (h, w) = (have.chars().count(), want.chars().count());
    if h + budget < w || (!prefix && h > w + budget) {
        return false;
    }
    if osa_distance(have, want) <= budget {
        return true;
    }
    // A typo'd prefix: some prefix of `have` within the budget.
    prefix
        && (want.chars().count().saturating_sub(budget)..=want.chars().count() + budget).any(|n| {
            let p: String = have.chars().take(n).collect();
            p.chars().count() == n && osa_distance(&p, want) <= budget
        })
}

/// Optimal-string-alignment distance (Levenshtein plus adjacent
/// transpositions), as tantivy's automata count typos.
fn osa_distance(a: &str, b: &str) -> usize {
    // Three rolling rows on the stack for words up to 64 characters (the
    // index drops longer ones).
    const MAX: usize = 65;
    let mut ac = ['\0'; MAX];
    let mut bc = ['\0'; MAX];
    let (mut n, mut m) = (0, 0);
    for c in a.chars() {
        if n == MAX - 1 {
            return usize::MAX;
        }
        ac[n] = c;
        n += 1;
    }
    for c in b.chars() {
        if m == MAX - 1 {
            return usize::MAX;
        }
        bc[m] = c;
        m += 1;
    }
    let mut prev2 = [0usize; MAX];
    let mut prev: [usize; MAX] = std::array::from_fn(|j| j);
    let mut cur = [0usize; MAX];
    for i in 1..=n {
        cur[0] = i;
        for j in 1..=m {
            let cost = usize::from(ac[i - 1] != bc[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && ac[i - 1] == bc[j - 2] && ac[i - 2] == bc[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
        }
        prev2 = prev;
        prev = cur;
    }
    prev[m]
}

/// Byte ranges of `text` whose words match the query.
fn highlight(text: &str, plan: &Plan) -> Vec<(usize, usize)> {
    words(text)
        .into_iter()
        .filter(|(w, ..)| plan.matches_word(w))
        .map(|(_, a, b)| (a, b))
        .collect()
}

/// About this many characters of text around the first match.
const SNIPPET_CHARS: usize = 160;

fn snippet(text: &str, plan: &Plan) -> Snippet {
    let text = text.trim();
    let marks = highlight(text, plan);
    let Some(&(first, _)) = marks.first() else {
        let end = floor_char(text, SNIPPET_CHARS.min(text.len()));
        let mut s = text[..end].replace('\n', " ");
        if end < text.len() {
            s.push('…');
        }
        return Snippet {
            text: s,
            highlights: Vec::new(),
        };
    };
    let start = floor_char(text, first.saturating_sub(SNIPPET_CHARS / 3));
    // Start at a word boundary.
    let start = if start == 0 {
        0
    } else {
        text[start..]
            .find(char::is_whitespace)
            .map_or(start, |i| start + i + 1)
            .min(first)
    };
    let end = floor_char(text, (start + SNIPPET_CHARS).min(text.len()));
    let prefix = if start > 0 { "…" } else { "" };
    let mut out = String::from(prefix);
    out.push_str(&text[start..end].replace('\n', " "));
    let shift = prefix.len();
    let highlights = marks
        .into_iter()
        .filter(|&(a, b)| a >= start && b <= end)
        .map(|(a, b)| (a - start + shift, b - start + shift))
        .collect();
    if end < text.len() {
        out.push('…');
    }
    Snippet {
        text: out,
        highlights,
    }
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

// ---------------------------------------------------------------------
// Facets

/// Counts of status, labels and assignee values over every match: the
/// matches are gathered in a bitset, then intersected with one bitset per
/// value (built once per segment and kept), so a count costs a few
/// thousand word operations, not a column lookup per matching document.
#[derive(Clone, Default)]
struct FacetCollector {
    cache: FacetCache,
}

/// Per-segment bitsets of each facet value, by segment.
type FacetCache = std::sync::Arc<
    std::sync::Mutex<HashMap<tantivy::index::SegmentId, std::sync::Arc<SegmentFacets>>>,
>;

/// For each facet field, each value and the documents that have it.
struct SegmentFacets {
    fields: [Vec<(String, Vec<u64>)>; 3],
}

impl SegmentFacets {
    fn build(reader: &SegmentReader) -> tantivy::Result<SegmentFacets> {
        let ff = reader.fast_fields();
        let words = (reader.max_doc() as usize).div_ceil(64);
        let mut fields: [Vec<(String, Vec<u64>)>; 3] = Default::default();
        for (out, name) in fields.iter_mut().zip(["status", "labels", "assignee"]) {
            let Some(col) = ff.str(name)? else { continue };
            let mut bits: Vec<Vec<u64>> = vec![Vec::new(); col.num_terms()];
            for doc in 0..reader.max_doc() {
                for ord in col.term_ords(doc) {
                    if let Some(b) = bits.get_mut(ord as usize) {
                        if b.is_empty() {
                            b.resize(words, 0);
                        }
                        b[doc as usize >> 6] |= 1 << (doc & 63);
                    }
                }
            }
            let mut s = String::new();
            for (ord, b) in bits.into_iter().enumerate() {
                if !b.is_empty()
                    && col.ord_to_str(ord as u64, &mut s).unwrap_or(false)
                    && !s.is_empty()
                    && s != "none"
                {
                    out.push((s.clone(), b));
                }
            }
        }
        Ok(SegmentFacets { fields })
    }
}

struct FacetSegment {
    facets: std::sync::Arc<SegmentFacets>,
    matches: Vec<u64>,
}

impl FacetCollector {
    /// The facets of one segment, built on first use and kept.
    fn segment(&self, reader: &SegmentReader) -> tantivy::Result<std::sync::Arc<SegmentFacets>> {
        let id = reader.segment_id();
        let cached = self.cache.lock().ok().and_then(|c| c.get(&id).cloned());
        Ok(match cached {
            Some(f) => f,
            None => {
                let f = std::sync::Arc::new(SegmentFacets::build(reader)?);
                if let Ok(mut c) = self.cache.lock() {
                    c.insert(id, f.clone());
                }
                f
            }
        })
    }

    /// The number of `matches` in one segment and their facet counts.
    fn count(
        &self,
        reader: &SegmentReader,
        matches: &[u64],
    ) -> tantivy::Result<(usize, [HashMap<String, usize>; 3])> {
        let facets = self.segment(reader)?;
        Ok(facet_counts(&facets, matches))
    }

    /// The segments' counts, summed.
    fn merge(fruits: Vec<(usize, [HashMap<String, usize>; 3])>) -> (usize, Facets) {
        let mut maps: [HashMap<String, usize>; 3] = Default::default();
        let total = fruits.iter().map(|f| f.0).sum();
        for (_, fruit) in fruits {
            for (into, from) in maps.iter_mut().zip(fruit) {
                for (k, v) in from {
                    *into.entry(k).or_default() += v;
                }
            }
        }
        (total, Facets::from_maps(maps))
    }
}

/// How many documents `matches` holds, and how many of them have each
/// facet value.
fn facet_counts(facets: &SegmentFacets, matches: &[u64]) -> (usize, [HashMap<String, usize>; 3]) {
    let mut out: [HashMap<String, usize>; 3] = Default::default();
    for (values, map) in facets.fields.iter().zip(&mut out) {
        for (value, bits) in values {
            let n: u32 = bits
                .iter()
                .zip(matches)
                .map(|(a, b)| (a & b).count_ones())
                .sum();
            if n > 0 {
                map.insert(value.clone(), n as usize);
            }
        }
    }
    let n = matches.iter().map(|w| w.count_ones() as usize).sum();
    (n, out)
}

/// The documents of one segment a weight matches, as a bitset of `len`
/// words (deleted documents included: callers intersect with the live
/// ones).
fn docs_of(
    weight: &dyn tantivy::query::Weight,
    reader: &SegmentReader,
    len: usize,
) -> tantivy::Result<Vec<u64>> {
    use tantivy::DocSet as _;
    let mut bits = vec![0u64; len];
    let mut scorer = weight.scorer(reader, 1.0)?;
    let mut d = scorer.doc();
    while d != tantivy::TERMINATED {
        if let Some(w) = bits.get_mut(d as usize >> 6) {
            *w |= 1 << (d & 63);
        }
        d = scorer.advance();
    }
    Ok(bits)
}

/// Every document below `max`.
fn full_bitset(max: DocId) -> Vec<u64> {
    let mut bits = vec![u64::MAX; (max as usize).div_ceil(64)];
    if !max.is_multiple_of(64)
        && let Some(last) = bits.last_mut()
    {
        *last = (1u64 << (max % 64)) - 1;
    }
    bits
}

fn and_into(a: &mut [u64], b: &[u64]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x &= y;
    }
}

fn or_into(a: &mut [u64], b: &[u64]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x |= y;
    }
}

/// Calls `f` with each document of a bitset, in order.
fn for_each_bit(bits: &[u64], mut f: impl FnMut(DocId)) {
    for (i, &w) in bits.iter().enumerate() {
        let mut w = w;
        while w != 0 {
            let b = w.trailing_zeros();
            f((i as u32) << 6 | b);
            w &= w - 1;
        }
    }
}

impl Collector for FacetCollector {
    /// The number of matches, and the facets.
    type Fruit = (usize, Facets);
    type Child = FacetSegment;

    fn for_segment(
        &self,
        _: tantivy::SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<FacetSegment> {
        Ok(FacetSegment {
            facets: self.segment(reader)?,
            matches: vec![0; (reader.max_doc() as usize).div_ceil(64)],
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(
        &self,
        fruits: Vec<(usize, [HashMap<String, usize>; 3])>,
    ) -> tantivy::Result<(usize, Facets)> {
        Ok(FacetCollector::merge(fruits))
    }
}

impl SegmentCollector for FacetSegment {
    type Fruit = (usize, [HashMap<String, usize>; 3]);

    fn collect(&mut self, doc: DocId, _: Score) {
        if let Some(w) = self.matches.get_mut(doc as usize >> 6) {
            *w |= 1 << (doc & 63);
        }
    }

    fn harvest(self) -> Self::Fruit {
        facet_counts(&self.facets, &self.matches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typo_budgets_follow_word_length() {
        assert_eq!(typo_budget("auth"), 0);
        assert_eq!(typo_budget("login"), 1);
        assert_eq!(typo_budget("redirect"), 1);
        assert_eq!(typo_budget("migration"), 2);
    }

    #[test]
    fn osa_counts_a_transposition_as_one() {
        assert_eq!(osa_distance("login", "lgoin"), 1);
        assert_eq!(osa_distance("migration", "migartion"), 1);
        assert_eq!(osa_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn long_queries_are_cut_at_a_character_boundary() {
        let q = "é".repeat(1000);
        let p = Plan::of(&q, None);
        assert!(p.words.iter().map(|w| w.text.len()).sum::<usize>() <= MAX_QUERY_CHARS);
        let many = (0..100)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(Plan::of(&many, None).words.len(), MAX_WORDS);
    }

    #[test]
    fn malformed_queries_are_words() {
        let p = Plan::of("status: \"unterminated bogus:key", None);
        assert!(p.literal);
        assert_eq!(
            p.words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>(),
            ["status", "unterminated", "bogus", "key"]
        );
    }
}
