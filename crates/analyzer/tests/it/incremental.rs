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
