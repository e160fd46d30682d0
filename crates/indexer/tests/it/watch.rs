//! The watcher on a real directory: every test writes a workspace into a
//! temporary directory, starts a [`Watcher`] on it, changes files the way
//! people and editors do, and checks the batch of events that comes back
//! and that the graph equals a fresh build of the files on disk. Nothing
//! sleeps: each step waits for the watcher's next batch (with a timeout), and
//! "no event" is shown by a later change being the only thing reported.

use std::path::{Path, PathBuf};
use std::time::Duration;

use nonlinear_indexer::graph::{EdgeKind, Graph, NodeKind};
use nonlinear_indexer::watch::Watcher;
use schema::store::Store;
use serde_json::json;

use crate::support::{CONFIG, CONFIG_PATH, component_file, issue_file, signature, uuid_of};

/// Long enough for a loaded CI machine; a passing test never waits for it.
const TIMEOUT: Duration = Duration::from_secs(20);

struct Ws {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Ws {
    /// The config and issues NL-a (todo) and NL-b (todo), on disk.
    fn new() -> Ws {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let root = dir.path().canonicalize().expect("canonical temp dir");
        let ws = Ws { _dir: dir, root };
        ws.write(CONFIG_PATH, CONFIG);
        for (path, text) in [issue_file("NL-a", ""), issue_file("NL-b", "")] {
            ws.write(&path, &text);
        }
        ws
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir -p");
        std::fs::write(path, text).expect("write");
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).expect("read")
    }

    /// Saves like our own writes and many editors do: a temporary file in the
    /// same directory, renamed over the original.
    fn write_by_rename(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        let name = path.file_name().and_then(|n| n.to_str()).expect("a name");
        let tmp = path.with_file_name(format!(".{name}.4242.tmp"));
        std::fs::write(&tmp, text).expect("write the temporary file");
        std::fs::rename(&tmp, &path).expect("rename over the original");
    }

    /// A watcher with the default timing: a writer stalled for longer than
    /// the debounce between truncating a file and writing it would show the
    /// empty file (an `invalid` event); 100 ms is margin enough on a loaded
    /// machine.
    fn watch(&self) -> Watcher {
        Watcher::start(&self.root).expect("the watcher starts")
    }
}

/// The next batch, as JSON values (the shape `watch --json` prints).
///
/// Leaves out `invalid` events for empty files: `fs::write` truncates the
/// file, then writes it, and a writer preempted in between for longer than
/// the debounce (a loaded machine) shows the watcher an empty file, which it
/// rightly reports. No test writes an empty file on purpose.
#[track_caller]
fn next(w: &mut Watcher) -> Vec<serde_json::Value> {
    loop {
        let batch = w.next_batch_timeout(TIMEOUT).expect("not stopped");
        assert!(!batch.is_empty(), "no event within {TIMEOUT:?}");
        let batch: Vec<serde_json::Value> = batch
            .iter()
            .map(|e| serde_json::to_value(e).expect("serializes"))
            .filter(|e| !(e["event"] == "invalid" && e["diagnostic"]["code"] == "empty-file"))
            .collect();
        if !batch.is_empty() {
            return batch;
        }
    }
}

/// The graph is the one a fresh load of the directory gives.
#[track_caller]
fn assert_current(w: &Watcher, root: &Path) {
    let fresh = Graph::build(&Store::at(root).load());
    assert_eq!(signature(w.graph()), signature(&fresh));
}

fn field(key: &str, field: &str, before: &str, after: &str) -> serde_json::Value {
    json!({"event": "field", "key": key, "field": field, "before": before, "after": after})
}

#[test]
fn status_edited_in_place_and_by_rename() {
    let ws = Ws::new();
    let mut w = ws.watch();
    let a = ".nonlinear/issues/NL-a.md";

    // (a) In place.
    ws.write(
        a,
        &ws.read(a).replace("status: todo", "status: in_progress"),
    );
    assert_eq!(
        next(&mut w),
        [field("NL-a", "status", "todo", "in_progress")]
    );
    assert_current(&w, &ws.root);

    // (b) Temporary file renamed over the original: the same one event, no
    // delete, no create, nothing for the temporary file.
    ws.write_by_rename(
        a,
        &ws.read(a).replace("status: in_progress", "status: done"),
    );
    assert_eq!(
        next(&mut w),
        [field("NL-a", "status", "in_progress", "done")]
    );
    assert_current(&w, &ws.root);
    let n = w.graph().find("NL-a").expect("NL-a");
    assert!(!w.graph().is_open_issue(n), "done is a closed category");
    let n = w.graph().find("NL-a").expect("NL-a");

    // Original moved to a backup, new file written, backup deleted (vim's
    // `writebackup`, Emacs): a save, not a delete and a create.
    let backup = ws.path(".nonlinear/issues/NL-a.md~");
    let text = ws.read(a).replace("status: done", "status: todo");
    std::fs::rename(ws.path(a), &backup).expect("move to the backup");
    ws.write(a, &text);
    std::fs::remove_file(&backup).expect("delete the backup");
    assert_eq!(next(&mut w), [field("NL-a", "status", "done", "todo")]);
    assert_current(&w, &ws.root);

    // Our own atomic write (lock, compare, temp file, rename).
    let store = Store::at(&ws.root);
    let lock = store.lock().expect("the write lock");
    let before = store.read(a).expect("read");
    let after = String::from_utf8(before.clone())
        .expect("UTF-8")
        .replace("title: NL-a title", "title: Renamed");
    store
        .write(&lock, a, Some(&before), after.as_bytes())
        .expect("written");
    assert_eq!(
        next(&mut w),
        [field("NL-a", "title", "NL-a title", "Renamed")]
    );
    assert_eq!(w.graph().node(n).title, "Renamed");
    assert_current(&w, &ws.root);
}

#[test]
fn links_created_deleted_moved() {
    let ws = Ws::new();
    let mut w = ws.watch();
    let a = ".nonlinear/issues/NL-a.md";

    // (c) A `blocks` entry.
    ws.write(a, &issue_file("NL-a", "blocks: [NL-b]").1);
    assert_eq!(
        next(&mut w),
        [
            json!({"event": "link_added", "from": "NL-a", "kind": "BLOCKS", "to": "NL-b", "layer": 2})
        ]
    );
    let g = w.graph();
    let (na, nb) = (g.find("NL-a").expect("a"), g.find("NL-b").expect("b"));
    assert_eq!(g.out(na, EdgeKind::Blocks).collect::<Vec<_>>(), [nb]);
    assert_current(&w, &ws.root);

    // (d) A new issue.
    let (c, text) = issue_file("NL-c", "title: Third; blocks: [NL-a]");
    ws.write_by_rename(&c, &text);
    assert_eq!(
        next(&mut w),
        [
            json!({"event": "created", "key": "NL-c", "kind": "issue", "path": c, "title": "Third"}),
            json!({"event": "link_added", "from": "NL-c", "kind": "BLOCKS", "to": "NL-a", "layer": 2}),
        ]
    );
    assert_current(&w, &ws.root);

    // A move keeps the UUID: one `path` change.
    let moved = ".nonlinear/issues/done/NL-c.md";
    std::fs::create_dir_all(ws.path(".nonlinear/issues/done")).expect("mkdir");
    std::fs::rename(ws.path(&c), ws.path(moved)).expect("move");
    assert_eq!(
        next(&mut w),
        [json!({"event": "field", "key": "NL-c", "field": "path", "before": c, "after": moved})]
    );
    assert_eq!(
        w.graph()
            .by_path(moved)
            .map(|n| w.graph().node(n).key.as_str()),
        Some("NL-c")
    );
    assert_current(&w, &ws.root);

    // (e) Deleted, with its link.
    std::fs::remove_file(ws.path(moved)).expect("delete");
    assert_eq!(
        next(&mut w),
        [
            json!({"event": "deleted", "key": "NL-c", "kind": "issue", "path": moved, "title": "Third"}),
            json!({"event": "link_removed", "from": "NL-c", "kind": "BLOCKS", "to": "NL-a", "layer": 2}),
        ]
    );
    assert!(w.graph().find("NL-c").is_none());
    assert_current(&w, &ws.root);

    // (g) After all that, every node and edge as a fresh build has them.
    let g = w.graph();
    assert_eq!(
        g.nodes_of(NodeKind::Issue).count(),
        2,
        "NL-a and NL-b are left"
    );
}

#[test]
fn ignored_paths_yield_nothing() {
    let ws = Ws::new();
    std::fs::create_dir_all(ws.path(".git")).expect("mkdir .git");
    std::fs::create_dir_all(ws.path("target")).expect("mkdir target");
    let mut w = ws.watch();

    // (f) Files in `.git/`, `target/`, `node_modules/`, `.nonlinear/cache/`,
    // and an abandoned temporary file of an atomic write, all shaped like
    // workspace files.
    let (_, text) = issue_file("NL-z", "");
    ws.write(".git/COMPONENT.md", &component_file("GIT", "").1);
    ws.write(".git/objects/ab/cdef", "blob");
    ws.write("target/debug/COMPONENT.md", &component_file("T1", "").1);
    ws.write("crates/x/target/COMPONENT.md", &component_file("T2", "").1);
    ws.write(
        "web/node_modules/p/COMPONENT.md",
        &component_file("T3", "").1,
    );
    ws.write(".nonlinear/cache/write.lock", "");
    ws.write(".nonlinear/cache/issues/NL-z.md", &text);
    ws.write(".nonlinear/issues/.NL-z.md.77.tmp", &text);
    ws.write(".nonlinear/issues/.trash/NL-z.md", &text);
    ws.write(".nonlinear/issues/NL-z.md.orig", &text);
    ws.write("src/main.rs", "fn main() {}\n");

    // A real change after them: it is all that is reported.
    let b = ".nonlinear/issues/NL-b.md";
    ws.write(b, &ws.read(b).replace("status: todo", "status: done"));
    assert_eq!(next(&mut w), [field("NL-b", "status", "todo", "done")]);
    // And nothing late either.
    ws.write(b, &ws.read(b).replace("status: done", "status: todo"));
    assert_eq!(next(&mut w), [field("NL-b", "status", "done", "todo")]);
    assert_current(&w, &ws.root);
    assert!(w.graph().find("NL-z").is_none());
    assert!(w.graph().find("T2").is_none());
}

#[test]
fn invalid_states_keep_the_last_good_version() {
    let ws = Ws::new();
    let mut w = ws.watch();
    let a = ".nonlinear/issues/NL-a.md";
    let good = ws.read(a);

    // Half-written: no closing `---`.
    ws.write(a, good.trim_end().trim_end_matches("---"));
    let batch = next(&mut w);
    assert_eq!(batch.len(), 1, "{batch:#?}");
    assert_eq!(batch[0]["event"], "invalid");
    assert_eq!(batch[0]["path"], a);
    assert_eq!(batch[0]["diagnostic"]["code"], "unterminated-front-matter");
    assert!(
        w.graph().find("NL-a").is_some(),
        "the last good version stays"
    );

    // Fixed, with a change: compared with the last good version.
    ws.write(a, &good.replace("status: todo", "status: done"));
    assert_eq!(next(&mut w), [field("NL-a", "status", "todo", "done")]);
    assert_current(&w, &ws.root);

    // A new file that never parsed: reported, then gone without a trace.
    let c = ".nonlinear/issues/NL-c.md";
    ws.write(c, "---\ntitle: [unclosed\n---\n");
    let batch = next(&mut w);
    assert_eq!(batch.len(), 1, "{batch:#?}");
    assert_eq!(batch[0]["event"], "invalid");
    assert_eq!(batch[0]["path"], c);
    // Someone reading every file and directory (here: a full load) is no
    // reason to report it again.
    let _ = Store::at(&ws.root).load();
    // Nor is writing the same broken text again.
    ws.write(c, "---\ntitle: [unclosed\n---\n");
    ws.write(a, &good);
    assert_eq!(next(&mut w), [field("NL-a", "status", "done", "todo")]);
    std::fs::remove_file(ws.path(c)).expect("delete");
    ws.write(a, &good.replace("status: todo", "status: backlog"));
    assert_eq!(next(&mut w), [field("NL-a", "status", "todo", "backlog")]);
    assert_current(&w, &ws.root);
}

#[test]
fn config_and_components_outside_nonlinear() {
    let ws = Ws::new();
    ws.write(".gitignore", "/dist/\n");
    let mut w = ws.watch();

    // A cycle appears in the config: the graph is rebuilt with it.
    ws.write(
        CONFIG_PATH,
        &format!("{CONFIG}  - {{key: c3, name: Cycle three}}\n"),
    );
    let batch = next(&mut w);
    assert_eq!(batch, [json!({"event": "config", "path": CONFIG_PATH})]);
    assert!(w.graph().find("c3").is_some());
    assert_current(&w, &ws.root);

    // A COMPONENT.md next to the code, in a new directory.
    let (_, api) = component_file("API", "title: The API");
    ws.write("src/api/COMPONENT.md", &api);
    assert_eq!(
        next(&mut w),
        [
            json!({"event": "created", "key": "API", "kind": "component", "path": "src/api/COMPONENT.md", "title": "The API"})
        ]
    );
    assert_current(&w, &ws.root);

    // One in a git-ignored directory is not a workspace file; the next
    // change is all that is reported.
    ws.write("dist/COMPONENT.md", &component_file("DIST", "").1);
    ws.write("src/api/COMPONENT.md", &api.replace("The API", "API"));
    assert_eq!(next(&mut w), [field("API", "title", "The API", "API")]);
    assert!(w.graph().find("DIST").is_none());
    assert_current(&w, &ws.root);

    // The whole directory goes.
    std::fs::remove_dir_all(ws.path("src")).expect("rm -r src");
    assert_eq!(
        next(&mut w),
        [
            json!({"event": "deleted", "key": "API", "kind": "component", "path": "src/api/COMPONENT.md", "title": "API"})
        ]
    );
    assert_current(&w, &ws.root);
}

#[test]
fn stopper_ends_the_stream() {
    let ws = Ws::new();
    let mut w = ws.watch();
    let stop = w.stopper();
    std::thread::spawn(move || stop.stop());
    assert_eq!(w.next_batch(), None);
    assert_eq!(w.next_batch_timeout(Duration::from_millis(1)), None);
}

#[test]
fn comments_added_edited_read_and_deleted() {
    let ws = Ws::new();
    let on = uuid_of("NL-a");
    let old = format!(".nonlinear/comments/{on}/0193a6f0-0000-7000-8000-00000000000a.md");
    let comment = |body: &str| {
        format!(
            "---\nid: 0193a6f0-0000-7000-8000-00000000000a\nauthor: ana\ncreated_at: 2026-11-01T10:00:00Z\n---\n{body}\n"
        )
    };
    ws.write(&old, &comment("Listed at start."));
    let mut w = ws.watch();
    // Reading files (a search index build does) changes access times, which
    // inotify reports like edits: no event.
    let _ = ws.read(&old);
    std::fs::File::open(ws.path(&old)).expect("open");
    assert!(
        w.next_batch_timeout(Duration::from_millis(400))
            .expect("not stopped")
            .is_empty()
    );
    ws.write(&old, &comment("Edited."));
    assert_eq!(
        next(&mut w),
        [
            json!({"event": "comment", "path": old, "on": on, "id": "0193a6f0-0000-7000-8000-00000000000a", "action": "updated"})
        ]
    );
    let new = format!(".nonlinear/comments/{on}/0193a6f0-0000-7000-8000-00000000000b.md");
    ws.write_by_rename(&new, &comment("A new one.").replace("0a\n", "0b\n"));
    let batch = next(&mut w);
    assert_eq!(batch.len(), 1, "{batch:?}");
    assert_eq!(batch[0]["action"], "created");
    std::fs::remove_file(ws.path(&old)).expect("rm");
    assert_eq!(next(&mut w)[0]["action"], "deleted");
    // The whole thread goes with its directory.
    std::fs::remove_dir_all(ws.path(&format!(".nonlinear/comments/{on}"))).expect("rm -r");
    let batch = next(&mut w);
    assert_eq!(batch[0]["action"], "deleted");
    assert_eq!(batch[0]["path"], new.as_str());
}

#[test]
fn a_rescan_reads_only_what_changed() {
    let ws = Ws::new();
    let on = uuid_of("NL-a");
    let comment = format!(".nonlinear/comments/{on}/0193a6f0-0000-7000-8000-00000000000a.md");
    ws.write(
        &comment,
        "---\nid: 0193a6f0-0000-7000-8000-00000000000a\nauthor: ana\ncreated_at: 2026-11-01T10:00:00Z\n---\nHi.\n",
    );
    // Files written a moment ago prove nothing by their stamps (the file
    // clock is coarse): let them settle.
    std::thread::sleep(Duration::from_millis(120));
    let mut w = ws.watch();
    // Nothing changed: nothing is read (every open would be an inotify
    // event, and a rescan that read everything would cause the next).
    let out: Vec<serde_json::Value> = w
        .rescan("asked")
        .iter()
        .map(|e| serde_json::to_value(e).expect("serializes"))
        .collect();
    assert_eq!(
        out,
        [json!({"event": "rescan", "reason": "asked", "read": 0})]
    );

    // Changed behind the watcher's back (it has not seen the
    // notification yet): read, and reported.
    let path = ".nonlinear/issues/NL-a.md";
    ws.write(path, &ws.read(path).replace("status: todo", "status: done"));
    let out: Vec<serde_json::Value> = w
        .rescan("asked")
        .iter()
        .map(|e| serde_json::to_value(e).expect("serializes"))
        .collect();
    assert_eq!(out[0]["read"], 1, "{out:?}");
    assert_eq!(out[1..], [field("NL-a", "status", "todo", "done")]);
    assert_current(&w, &ws.root);
}
