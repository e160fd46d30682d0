//! Workspaces written inline, and helpers that turn query results into keys.
//!
//! ```text
//! let g = Spec::new()
//!     .component("API", "parent: APP")
//!     .issue("NL-a", "status: done; blocks: [NL-b]")
//!     .issue("NL-b", "")
//!     .graph();
//! assert_eq!(keys(&g, query::ready(&g, None)), ["NL-b"]);
//! ```
//!
//! Fields are YAML lines separated by `;`. Every item gets a UUID derived
//! from its key ([`uuid_of`]) and the title `<key> title` unless the fields
//! set one; issues get `status: todo` unless the fields set a status;
//! artifacts are links unless the fields say otherwise.

use std::fmt::Write as _;

use nonlinear_indexer::graph::{EdgeKind, Graph, NodeKind};
use nonlinear_indexer::query::Tree;
use petgraph::stable_graph::NodeIndex;
use petgraph::visit::{EdgeRef, IntoEdgeReferences};
use schema::{Item, Workspace};

/// The workflow of the brief: one status per category, and two cycles.
pub const CONFIG: &str = "\
version: 1
key: NL
name: Demo
statuses:
  - {key: backlog, category: backlog}
  - {key: todo, category: unstarted}
  - {key: in_progress, category: started}
  - {key: done, category: completed}
  - {key: canceled, category: canceled}
cycles:
  - {key: c1, name: Cycle one}
  - {key: c2, name: Cycle two}
";

pub const CONFIG_PATH: &str = ".nonlinear/config.yaml";

/// A stable UUID for a key (FNV-1a of the lower-cased key in the last 48
/// bits), so that a file written twice has the same id.
pub fn uuid_of(key: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.to_ascii_lowercase().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("0193a6f0-0000-7000-8000-{:012x}", h & 0xffff_ffff_ffff)
}

/// The text of an item file: front matter from `fields` plus defaults.
fn front(key: &str, fields: &str, defaults: &[(&str, String)]) -> String {
    let lines: Vec<&str> = fields
        .split(';')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let has = |k: &str| lines.iter().any(|l| l.starts_with(&format!("{k}:")));
    let mut out = String::from("---\n");
    if !has("id") {
        let _ = writeln!(out, "id: {}", uuid_of(key));
    }
    let _ = writeln!(out, "short_id: {key}");
    if !has("title") {
        let _ = writeln!(out, "title: {key} title");
    }
    for (k, v) in defaults {
        if !has(k) {
            let _ = writeln!(out, "{k}: {v}");
        }
    }
    for l in lines {
        out.push_str(l);
        out.push('\n');
    }
    out.push_str("---\n");
    out
}

pub fn issue_file(key: &str, fields: &str) -> (String, String) {
    (
        format!(".nonlinear/issues/{key}.md"),
        front(key, fields, &[("status", "todo".into())]),
    )
}

pub fn component_file(key: &str, fields: &str) -> (String, String) {
    (
        format!(".nonlinear/components/{key}.md"),
        front(key, fields, &[]),
    )
}

pub fn artifact_file(key: &str, fields: &str) -> (String, String) {
    (
        format!(".nonlinear/artifacts/{key}.md"),
        front(
            key,
            fields,
            &[
                ("kind", "link".into()),
                ("url", format!("https://example.com/{key}")),
            ],
        ),
    )
}

/// A workspace written inline: the config plus item files.
#[derive(Debug, Clone)]
pub struct Spec {
    pub config: String,
    pub files: Vec<(String, String)>,
}

impl Spec {
    pub fn new() -> Spec {
        Spec {
            config: CONFIG.to_owned(),
            files: Vec::new(),
        }
    }

    pub fn issue(mut self, key: &str, fields: &str) -> Spec {
        self.files.push(issue_file(key, fields));
        self
    }

    pub fn component(mut self, key: &str, fields: &str) -> Spec {
        self.files.push(component_file(key, fields));
        self
    }

    pub fn artifact(mut self, key: &str, fields: &str) -> Spec {
        self.files.push(artifact_file(key, fields));
        self
    }

    /// Any file, at any path.
    pub fn file(mut self, path: &str, text: &str) -> Spec {
        self.files.push((path.to_owned(), text.to_owned()));
        self
    }

    pub fn workspace(&self) -> Workspace {
        workspace(&self.config, &self.files)
    }

    pub fn graph(&self) -> Graph {
        Graph::build(&self.workspace())
    }
}

/// Parses `config` and `files`; panics on a file the reader finds broken, so
/// that a typo in a test's fixture cannot pass silently.
pub fn workspace(config: &str, files: &[(String, String)]) -> Workspace {
    let ws = Workspace::from_files(
        std::iter::once((CONFIG_PATH, config.as_bytes()))
            .chain(files.iter().map(|(p, t)| (p.as_str(), t.as_bytes()))),
    );
    assert!(
        ws.file_diagnostics.is_empty(),
        "fixture does not parse: {:#?}",
        ws.file_diagnostics
    );
    ws
}

/// The parsed item of one file.
pub fn item(path: &str, text: &str) -> Item {
    let Some(schema::parse::FileKind::Item(kind)) = schema::parse::classify(path) else {
        panic!("{path} is not an item file");
    };
    let (item, diags) = schema::parse::parse_item(path, kind, text.as_bytes());
    assert!(diags.is_empty(), "{path} does not parse: {diags:#?}");
    item.expect("an item")
}

/// The node of a reference; panics when the graph has none.
pub fn n(g: &Graph, reference: &str) -> NodeIndex {
    g.find(reference)
        .unwrap_or_else(|| panic!("no node for {reference}"))
}

pub fn key(g: &Graph, n: NodeIndex) -> &str {
    g.node(n).key.as_str()
}

pub fn keys(g: &Graph, nodes: impl IntoIterator<Item = NodeIndex>) -> Vec<&str> {
    nodes.into_iter().map(|n| key(g, n)).collect()
}

/// Keys, sorted: for results whose order is not part of the contract.
pub fn sorted_keys(g: &Graph, nodes: impl IntoIterator<Item = NodeIndex>) -> Vec<&str> {
    let mut out = keys(g, nodes);
    out.sort_unstable();
    out
}

pub fn dist(g: &Graph, nodes: impl IntoIterator<Item = (NodeIndex, usize)>) -> Vec<(&str, usize)> {
    nodes.into_iter().map(|(n, d)| (key(g, n), d)).collect()
}

/// A tree as indented lines: `key` per node, two spaces per level, and the
/// Layer-3 links after ` -> `.
pub fn show_tree(g: &Graph, t: &Tree) -> String {
    fn walk(g: &Graph, t: &Tree, depth: usize, out: &mut String) {
        let _ = write!(out, "{}{}", "  ".repeat(depth), key(g, t.node));
        if !t.links.is_empty() {
            let links: Vec<String> = t
                .links
                .iter()
                .map(|(k, n)| format!("{} {}", k.as_str(), key(g, *n)))
                .collect();
            let _ = write!(out, " -> {}", links.join(", "));
        }
        out.push('\n');
        for c in &t.children {
            walk(g, c, depth + 1, out);
        }
    }
    let mut out = String::new();
    walk(g, t, 0, &mut out);
    out
}

/// One edge, by the keys of its ends.
pub type EdgeRow = (String, EdgeKind, String, u8);

/// Everything that makes two graphs the same graph, independent of node
/// indices: nodes as `(kind, key, title, category, path, id)` and edges as
/// `(from key, kind, to key, layer)`, both sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub nodes: Vec<(NodeKind, String, String, String, String, String)>,
    pub edges: Vec<EdgeRow>,
}

pub fn signature(g: &Graph) -> Signature {
    let inner = g.inner();
    let mut nodes: Vec<_> = inner
        .node_indices()
        .map(|i| {
            let node = g.node(i);
            (
                node.kind,
                node.key.clone(),
                node.title.clone(),
                format!("{:?}", node.category),
                node.item.as_ref().map_or(String::new(), |i| i.path.clone()),
                node.id().map_or(String::new(), |i| i.to_string()),
            )
        })
        .collect();
    nodes.sort();
    let mut edges: Vec<EdgeRow> = inner
        .edge_references()
        .map(|e| {
            assert_eq!(e.weight().source, nonlinear_indexer::Source::Manual);
            (
                g.node(e.source()).key.clone(),
                e.weight().kind,
                g.node(e.target()).key.clone(),
                e.weight().layer,
            )
        })
        .collect();
    edges.sort();
    assert_eq!(nodes.len(), g.node_count());
    assert_eq!(edges.len(), g.edge_count());
    Signature { nodes, edges }
}

/// Edges as `(from, kind, to, layer)` with `&str` keys, for assertions.
pub fn edges(g: &Graph) -> Vec<(String, &'static str, String, u8)> {
    signature(g)
        .edges
        .into_iter()
        .map(|(a, k, b, l)| (a, k.as_str(), b, l))
        .collect()
}

/// A workspace on disk, in a temporary directory, for tests that need real
/// files (the cache, search).
pub struct TempWs {
    _dir: tempfile::TempDir,
    pub root: std::path::PathBuf,
    pub store: schema::store::Store,
}

impl TempWs {
    /// A directory holding only `config` as the workspace config.
    pub fn new(config: &str) -> TempWs {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let root = dir.path().canonicalize().expect("canonical temp dir");
        let ws = TempWs {
            _dir: dir,
            store: schema::store::Store::at(&root),
            root,
        };
        ws.write(CONFIG_PATH, config);
        ws
    }

    pub fn path(&self, rel: &str) -> std::path::PathBuf {
        self.root.join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir -p");
        std::fs::write(path, text).expect("write");
    }

    /// Writes a file made by [`issue_file`] and friends.
    pub fn put(&self, (rel, text): (String, String)) {
        self.write(&rel, &text);
    }

    /// [`TempWs::put`] with a Markdown body after the front matter.
    pub fn put_with_body(&self, (rel, front): (String, String), body: &str) {
        self.write(&rel, &format!("{front}{body}\n"));
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).expect("read")
    }

    pub fn set_mtime(&self, rel: &str, t: std::time::SystemTime) {
        std::fs::File::options()
            .write(true)
            .open(self.path(rel))
            .expect("open")
            .set_modified(t)
            .expect("set the modification time");
    }

    pub fn mtime(&self, rel: &str) -> std::time::SystemTime {
        std::fs::metadata(self.path(rel))
            .expect("stat")
            .modified()
            .expect("mtime")
    }
}
