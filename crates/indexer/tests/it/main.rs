//! The integration tests of `nonlinear-indexer`: one binary, one module per
//! area, every expected answer worked out by hand from a workspace written
//! inline (see `support`).
//!
//! * `queries`: ready, blocked, critical path, near, impact, cycles,
//!   progress and tree, one section each.
//! * `lookups`: `find` and `by_path`.
//! * `incremental`: `upsert`/`remove` give the graph a fresh build gives,
//!   whatever the order (known cases plus a property test; 300 cases,
//!   `NONLINEAR_FUZZ_CASES=N` for more).
//! * `export`: DOT, Mermaid and JSON snapshots (`UPDATE_EXPECT=1` rewrites
//!   them; review the diff).
//! * `demo`: invariants of every query on `fixtures/demo`.
//! * `git`: workspaces at revisions, `diff` of two revisions (incremental
//!   and whole agree), `log` of one item across renames, on real
//!   repositories made with `git`.
//! * `watch`: the file watcher on temporary directories: edits, saves by
//!   rename, links, creates, deletes, moves, ignored paths, invalid states.

//! * `cache`: the index cache on temporary directories: never stale
//!   (edits in place with the old mtime put back, renames, racy files,
//!   random change sequences), rebuilt when damaged, invisible to git.

//! * `search`: the search index: typos by word length, prefixes, ranking,
//!   short ids, filters equal to `list`'s, facets, snippets, freshness,
//!   recovery, and any query answered.

//! * `mirror_pg`: the Postgres mirror on a fresh database of a real server:
//!   full and incremental sync, idempotence, verify and repair, an outage
//!   mid-sync, ready work in SQL equal to the engine's.

//! * `write`: every write operation on a temporary workspace, by the text
//!   it leaves (minimal diffs), and its refusals (nothing written).

// `cfg(test)` lets clippy treat the helpers as test code too
// (`allow-unwrap-in-tests`).
#[cfg(test)]
mod cache;
#[cfg(test)]
mod demo;
#[cfg(test)]
mod export;
#[cfg(test)]
mod git;
#[cfg(test)]
mod incremental;
#[cfg(test)]
mod lookups;
#[cfg(test)]
mod mirror_neo4j;
#[cfg(test)]
mod mirror_pg;
#[cfg(test)]
mod queries;
#[cfg(test)]
mod search;
#[cfg(test)]
mod support;
#[cfg(test)]
mod watch;
#[cfg(test)]
mod write;
