//! The graph engine: every reader's view of a workspace as one graph of
//! four layers — components (L1), issues (L2), code connections (L3),
//! artifacts (L4) — plus cycles.
//!
//! [`Graph::build`] turns a loaded [`schema::Workspace`] into a petgraph
//! graph with O(1) lookup by id, short id and path; [`Graph::upsert`] and
//! [`Graph::remove`] keep it current one file at a time. [`query`] answers
//! the questions (ready work, blocked chains, critical path, neighbourhoods,
//! impact, cycles, progress, trees); [`export`] draws subgraphs;
//! [`change`] describes what changed between two versions of an item, and
//! [`watch`] keeps a graph current as files change, streaming those changes.
//! [`cache`] persists parsed items so a large workspace loads without
//! re-parsing; [`search`] is the typo-tolerant full-text index; [`git`]
//! reads workspaces at any revision. [`write`] holds the operations that
//! change a workspace (create, set, link, comment, react, rename, delete),
//! shared by the command line and the server.
//!
//! ```
//! use nonlinear_indexer::{Graph, query};
//! use schema::Workspace;
//!
//! let config = "key: NL\nstatuses:\n  - {key: todo, category: unstarted}\n  - {key: done, category: completed}\n";
//! let a = "---\nid: 0193a6f0-0000-7000-8000-000000000001\nshort_id: NL-aaaa\ntitle: A\nstatus: todo\nblocks: [NL-bbbb]\n---\n";
//! let b = "---\nid: 0193a6f0-0000-7000-8000-000000000002\nshort_id: NL-bbbb\ntitle: B\nstatus: todo\n---\n";
//! let ws = Workspace::from_files([
//!     (".nonlinear/config.yaml", config.as_bytes()),
//!     (".nonlinear/issues/NL-aaaa.md", a.as_bytes()),
//!     (".nonlinear/issues/NL-bbbb.md", b.as_bytes()),
//! ]);
//! let g = Graph::build(&ws);
//! let ready: Vec<&str> = query::ready(&g, None).iter().map(|&n| g.node(n).key.as_str()).collect();
//! assert_eq!(ready, ["NL-aaaa"]); // NL-bbbb waits for NL-aaaa
//! ```

pub mod cache;
pub mod change;
pub mod export;
pub mod git;
pub mod graph;
pub mod inferred;
pub mod json;
pub mod mirror;
pub mod query;
pub mod rules;
pub mod search;
pub mod watch;
pub mod write;

pub use graph::{Builder, Edge, EdgeKind, Graph, GraphScope, Node, NodeKind, Source};
