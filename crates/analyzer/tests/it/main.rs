//! Integration tests of the analyzer: real files in temporary directories.

mod fixture;
mod incremental;
mod polyglot;
mod props;
mod this_repo;

use std::fs;
use std::path::Path;

use nonlinear_analyzer::{Analysis, EdgeKind};
use schema::store::Store;

/// Writes `(path, text)` files under `root`.
pub fn write_files(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let p = root.join(path);
        fs::create_dir_all(p.parent().expect("a file has a directory")).expect("mkdir");
        fs::write(&p, text).expect("write a fixture file");
    }
}

/// Writes a workspace: the config, the `components` (as
/// [`component`] makes them) and the other `files`.
pub fn write_workspace(root: &Path, components: &[(String, String)], files: &[(&str, &str)]) {
    write_files(root, &[(".nonlinear/config.yaml", CONFIG)]);
    for (path, text) in components {
        write_files(root, &[(path, text)]);
    }
    write_files(root, files);
}

pub const CONFIG: &str = "version: 1\nkey: NL\nstatuses:\n  - {key: todo, category: unstarted}\n";

/// A component file in `.nonlinear/components/` with the given code path
/// and extra front matter lines.
pub fn component(n: u32, key: &str, path: &str, extra: &str) -> (String, String) {
    (
        format!(".nonlinear/components/{key}.md"),
        format!(
            "---\nid: 01900000-0000-7000-8000-{n:012}\nshort_id: {key}\ntitle: {key}\nrepo: {{path: {path}}}\n{extra}---\n"
        ),
    )
}

/// Runs the analyzer on a workspace root (with its cache).
pub fn analyze(root: &Path) -> Analysis {
    nonlinear_analyzer::analyze(&Store::at(root)).expect("analysis runs")
}

/// The (from, to) pairs of one kind of edge.
pub fn pairs(a: &Analysis, kind: EdgeKind) -> Vec<(String, String)> {
    a.edges
        .iter()
        .filter(|e| e.kind == kind)
        .map(|e| (e.from.clone(), e.to.clone()))
        .collect()
}
