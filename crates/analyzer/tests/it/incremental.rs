//! Determinism and the cache.

use std::fs;

use schema::store::Store;

use crate::analyze;
use crate::fixture::write_fixture;

#[test]
fn two_runs_write_identical_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    write_fixture(dir.path());
    let store = Store::at(dir.path());
    let first = analyze(dir.path());
    assert!(nonlinear_analyzer::write(&store, &first).expect("write"));
    let written = fs::read(store.path(nonlinear_analyzer::EDGES_PATH)).expect("read");
    // Without the cache, and with it: the same bytes.
    fs::remove_file(store.path(nonlinear_analyzer::cache::CACHE_PATH)).expect("cache exists");
    let second = analyze(dir.path());
    assert_eq!(second.stats.cached, 0);
    let third = analyze(dir.path());
    assert_eq!(third.stats.parsed, 0);
    for a in [&second, &third] {
        assert_eq!(a.render().as_bytes(), written.as_slice());
        assert!(nonlinear_analyzer::up_to_date(&store, a));
        assert!(!nonlinear_analyzer::write(&store, a).expect("write"));
    }
}

#[test]
fn one_changed_file_is_parsed_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    write_fixture(dir.path());
    let store = Store::at(dir.path());
    let first = analyze(dir.path());
    assert_eq!(
        first.stats.parsed,
        first.stats.rust_files + 1,
        "{:?}",
        first.stats
    );
    nonlinear_analyzer::write(&store, &first).expect("write");

    // The facade stops using `shared`: FACADE → UTIL IMPORTS goes away.
    let lib = dir.path().join("crates/facade/src/lib.rs");
    let text = fs::read_to_string(&lib).expect("read");
    fs::write(&lib, text.replace("    shared::helper();\n", "")).expect("write");
    let second = analyze(dir.path());
    assert_eq!(second.stats.parsed, 1, "{:?}", second.stats);
    assert_eq!(second.stats.cached, first.stats.parsed - 1);
    assert!(!nonlinear_analyzer::up_to_date(&store, &second));
    let gone = |a: &nonlinear_analyzer::Analysis| {
        a.edges.iter().any(|e| {
            e.kind == nonlinear_analyzer::EdgeKind::Imports && e.from == "FACADE" && e.to == "UTIL"
        })
    };
    assert!(gone(&first));
    assert!(!gone(&second));

    // A removed file leaves the cache.
    fs::remove_file(dir.path().join("crates/app/tests/it.rs")).expect("remove");
    let third = analyze(dir.path());
    assert_eq!(third.stats.parsed, 0);
    assert_eq!(third.stats.cached, first.stats.parsed - 1);
    let fourth = analyze(dir.path());
    assert_eq!(fourth.stats.cached, third.stats.cached);
}

/// Sets every file's modification time an hour back, as after a checkout
/// long ago.
fn backdate(dir: &std::path::Path) {
    for e in fs::read_dir(dir).expect("read dir") {
        let e = e.expect("dir entry");
        if e.file_type().expect("file type").is_dir() {
            backdate(&e.path());
        } else {
            let f = fs::File::options()
                .write(true)
                .open(e.path())
                .expect("open");
            f.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3600))
                .expect("set the modification time");
        }
    }
}

#[test]
fn old_unchanged_files_are_not_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    write_fixture(dir.path());
    backdate(dir.path());
    let first = analyze(dir.path());
    assert_eq!(first.stats.read, first.stats.parsed);
    let second = analyze(dir.path());
    assert_eq!((second.stats.read, second.stats.parsed), (0, 0));
    // Same size, new content: the stamp differs, the file is read.
    let lib = dir.path().join("crates/util/src/lib.rs");
    let text = fs::read_to_string(&lib).expect("read");
    fs::write(&lib, text.replace("helper", "helpex")).expect("write");
    let third = analyze(dir.path());
    assert_eq!((third.stats.read, third.stats.parsed), (1, 1));
    assert_eq!(third.render(), first.render());
}

/// Sets the modification time of every file and directory an hour back.
fn backdate_all(dir: &std::path::Path) {
    backdate(dir);
    fn dirs(d: &std::path::Path) {
        for e in fs::read_dir(d).expect("read dir") {
            let e = e.expect("dir entry");
            if e.file_type().expect("file type").is_dir() {
                dirs(&e.path());
            }
        }
        fs::File::open(d)
            .expect("open a directory")
            .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3600))
            .expect("set the modification time");
    }
    dirs(dir);
    // Setting a time changes the change time: let it settle (the racy
    // rule does not trust a stamp younger than `schema::store::RACY`).
    std::thread::sleep(schema::store::RACY * 2);
}

/// What a run without any cache finds.
fn fresh(dir: &std::path::Path) -> String {
    let _ = fs::remove_file(dir.join(nonlinear_analyzer::cache::CACHE_PATH));
    analyze(dir).render()
}

/// The walk's listing is reused while no directory and no ignore file
/// changed, and every change to the tree is still seen: an added file, a
/// `.gitignore` rewritten in place (its directory's stamp does not move), a
/// removed file.
#[test]
fn the_listing_is_reused_until_the_tree_changes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    crate::this_repo::copy_tree(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/polyglot"),
        root,
    );
    fs::write(root.join(".gitignore"), "# nothing yet\n").expect("write");
    backdate_all(root);
    let first = analyze(root);
    assert!(first.stats.walked);
    let second = analyze(root);
    assert!(!second.stats.walked, "{:?}", second.stats);
    assert_eq!(second.render(), first.render());

    // An added file: its directory changed.
    fs::write(
        root.join("billing/src/billing/extra.py"),
        "import requests\n\ndef f():\n    return requests.get(\"http://web/api/invoices/1\")\n",
    )
    .expect("write");
    let third = analyze(root);
    assert!(third.stats.walked);
    let text = third.render();
    assert_eq!(text, fresh(root));

    // `.gitignore` rewritten in place to leave AUTHCLIENT out.
    backdate_all(root);
    analyze(root);
    assert!(!analyze(root).stats.walked);
    let before = fs::metadata(root).expect("stat").modified().expect("mtime");
    fs::write(root.join(".gitignore"), "authclient/\n").expect("write");
    assert_eq!(
        fs::metadata(root).expect("stat").modified().expect("mtime"),
        before
    );
    let fourth = analyze(root);
    assert!(fourth.stats.walked);
    assert!(
        !fourth
            .edges
            .iter()
            .any(|e| e.from == "AUTHCLIENT" || e.to == "AUTHCLIENT")
    );
    assert_eq!(fourth.render(), fresh(root));

    // A removed file.
    backdate_all(root);
    analyze(root);
    fs::remove_file(root.join("auth/migrations/001_init.sql")).expect("remove");
    let fifth = analyze(root);
    assert!(fifth.stats.walked);
    assert_eq!(fifth.render(), fresh(root));
}
