//! This repository as a fixture: its crates copied into a temporary
//! workspace whose components point at them; the crate graph is known.

use std::fs;
use std::path::Path;

use nonlinear_analyzer::EdgeKind;

use crate::{CONFIG, analyze, component, pairs, write_files};

/// Copies a directory tree (files only; symbolic links are skipped).
pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for e in fs::read_dir(from).expect("read dir") {
        let e = e.expect("dir entry");
        let t = e.file_type().expect("file type");
        if t.is_dir() {
            copy_tree(&e.path(), &to.join(e.file_name()));
        } else if t.is_file() {
            fs::copy(e.path(), to.join(e.file_name())).expect("copy");
        }
    }
}

#[test]
fn this_repository_crate_graph() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    fs::copy(repo.join("Cargo.toml"), root.join("Cargo.toml")).expect("copy the root manifest");
    let crates = [
        ("ANALYZER", "analyzer"),
        ("CLI", "cli"),
        ("INDEXER", "indexer"),
        ("SCHEMA", "schema"),
        ("SERVER", "server"),
    ];
    let mut files = vec![(".nonlinear/config.yaml".to_owned(), CONFIG.to_owned())];
    for (i, (key, name)) in crates.iter().enumerate() {
        copy_tree(
            &repo.join("crates").join(name),
            &root.join("crates").join(name),
        );
        files.push(component(i as u32 + 1, key, &format!("crates/{name}"), ""));
    }
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    write_files(root, &files);

    let a = analyze(root);
    assert!(a.problems.is_empty(), "{:?}", a.problems);
    let expected: Vec<(String, String)> = [
        ("ANALYZER", "SCHEMA"),
        ("CLI", "ANALYZER"),
        ("CLI", "INDEXER"),
        ("CLI", "SCHEMA"),
        ("CLI", "SERVER"),
        ("INDEXER", "SCHEMA"),
        ("SERVER", "INDEXER"),
        ("SERVER", "SCHEMA"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    assert_eq!(pairs(&a, EdgeKind::DependsOn), expected);
    assert_eq!(pairs(&a, EdgeKind::Imports), expected);
    // Every edge says where it comes from.
    for e in &a.edges {
        assert!(!e.evidence.is_empty());
        for ev in &e.evidence {
            assert!(root.join(&ev.file).is_file(), "{ev:?}");
            assert!(ev.line >= 1);
        }
    }
}
