//! The index cache on real directories: whatever happens to the files —
//! edits in place (even ones that put the old modification time back),
//! saves by rename, new, deleted and renamed files, `COMPONENT.md` files
//! beside code, a `touch` — a load through the cache gives the graph a
//! fresh read of the files gives, and reads only what it must. A missing,
//! corrupt or foreign cache file is rebuilt, and git never sees the cache.

use std::process::Command;
use std::time::{Duration, SystemTime};

use nonlinear_indexer::Graph;
use nonlinear_indexer::cache::{self, FILE, Report};
use schema::parse::Body;

use crate::support::{CONFIG, TempWs, component_file, issue_file, signature};

/// The config and issues NL-a … NL-e, NL-a blocking NL-b.
struct Ws(TempWs);

impl std::ops::Deref for Ws {
    type Target = TempWs;
    fn deref(&self) -> &TempWs {
        &self.0
    }
}

impl Ws {
    fn new() -> Ws {
        let ws = Ws(TempWs::new(CONFIG));
        ws.put(issue_file("NL-a", "blocks: [NL-b]"));
        for key in ["NL-b", "NL-c", "NL-d", "NL-e"] {
            ws.put(issue_file(key, ""));
        }
        ws
    }

    /// Loads through the cache and checks the graph against a fresh read.
    ///
    /// Waits a clock tick first: file times come from the kernel's coarse
    /// clock, so a file written in the same tick as the cache is (rightly)
    /// racy and read again, which would muddle the counts tests check.
    #[track_caller]
    fn load(&self) -> (Graph, Report) {
        tick();
        let (g, report) = cache::graph(&self.store);
        let fresh = Graph::from_workspace(self.store.load_items(Body::Drop));
        assert_eq!(
            signature(&g),
            signature(&fresh),
            "the cached graph differs from the files ({report:?})"
        );
        (g, report)
    }

    /// A load that finds the cache fully valid.
    #[track_caller]
    fn load_clean(&self) -> Graph {
        let (g, r) = self.load();
        assert_eq!((r.read, r.parsed, r.written), (0, 0, false), "{r:?}");
        assert_eq!(r.reused, r.files, "{r:?}");
        g
    }
}

fn status(g: &Graph, key: &str) -> String {
    let n = g.find(key).expect("the issue is in the graph");
    let issue = g
        .node(n)
        .item
        .as_ref()
        .and_then(|i| i.issue())
        .expect("an issue");
    issue.status.as_ref().expect("a status").value.clone()
}

/// Waits until the coarse clock file times come from has moved on.
fn tick() {
    std::thread::sleep(Duration::from_millis(20));
}

#[test]
fn first_load_builds_the_cache_and_the_second_reads_no_file() {
    let ws = Ws::new();
    let (_, r) = ws.load();
    assert!(r.invalid.is_some(), "no cache yet: {r:?}");
    assert_eq!((r.files, r.parsed, r.written), (5, 5, true), "{r:?}");
    assert!(ws.path(FILE).is_file());
    tick();
    let g = ws.load_clean();
    assert_eq!(
        g.node_count(),
        1 + 2 + 5,
        "project, two cycles, five issues"
    );
}

#[test]
fn an_edit_in_place_is_seen_even_with_the_old_mtime_and_size_put_back() {
    let ws = Ws::new();
    let rel = ".nonlinear/issues/NL-c.md";
    tick();
    ws.load();
    tick();
    ws.load_clean();
    let before = ws.mtime(rel);
    let text = ws.read(rel);
    // `todo` → `done`: same length, and the old mtime restored.
    let edited = text.replace("status: todo", "status: done");
    assert_eq!(edited.len(), text.len());
    ws.write(rel, &edited);
    ws.set_mtime(rel, before);
    let (g, r) = ws.load();
    assert_eq!(status(&g, "NL-c"), "done");
    assert_eq!((r.read, r.parsed, r.written), (1, 1, true), "{r:?}");
    tick();
    ws.load_clean();
}

#[test]
fn added_deleted_renamed_and_rename_saved_files_are_seen() {
    let ws = Ws::new();
    ws.load();
    tick();
    ws.put(issue_file("NL-f", "blocks: [NL-a]"));
    std::fs::remove_file(ws.path(".nonlinear/issues/NL-e.md")).expect("delete");
    std::fs::rename(
        ws.path(".nonlinear/issues/NL-d.md"),
        ws.path(".nonlinear/issues/NL-d2.md"),
    )
    .expect("rename");
    // A save by rename, as editors and our own writes do.
    let (rel, text) = issue_file("NL-b", "status: in_progress");
    let tmp = ws.path(".nonlinear/issues/.NL-b.md.tmp");
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, ws.path(&rel)).expect("rename over");
    let (g, r) = ws.load();
    assert!(
        r.listed,
        "entries changed, so the directory is listed: {r:?}"
    );
    assert!(g.find("NL-f").is_some() && g.find("NL-e").is_none());
    assert_eq!(status(&g, "NL-b"), "in_progress");
    assert_eq!(
        g.node(g.find("NL-d").expect("NL-d moved, same id"))
            .item
            .as_ref()
            .map(|i| i.path.as_str()),
        Some(".nonlinear/issues/NL-d2.md")
    );
    tick();
    ws.load_clean();
}

/// An item directory moved out of `.nonlinear/` and back (or created,
/// or removed whole) changes no stamp of the item directories the listing
/// saw — only `.nonlinear/`'s own. Found by the daemon's tests: the issues
/// came back and the cache did not see them.
#[test]
fn an_item_directory_moved_away_and_back_is_seen() {
    let ws = Ws::new();
    ws.load();
    tick();
    let issues = ws.path(".nonlinear/issues");
    let away = ws.path("issues-away");
    std::fs::rename(&issues, &away).expect("move away");
    let (g, r) = ws.load();
    assert!(r.listed && g.find("NL-a").is_none(), "{r:?}");
    tick();
    std::fs::rename(&away, &issues).expect("move back");
    let (g, r) = ws.load();
    assert!(r.listed && g.find("NL-a").is_some(), "{r:?}");
    tick();
    ws.load_clean();
}

#[test]
fn component_files_beside_code_come_and_go() {
    let ws = Ws::new();
    ws.load();
    tick();
    let (_, text) = component_file("PAY", "");
    ws.write("services/pay/COMPONENT.md", &text);
    let (g, r) = ws.load();
    assert!(g.find("PAY").is_some(), "{r:?}");
    tick();
    ws.load_clean();
    std::fs::remove_file(ws.path("services/pay/COMPONENT.md")).expect("delete");
    let (g, _) = ws.load();
    assert!(g.find("PAY").is_none());
}

#[test]
fn a_touch_costs_a_read_not_a_parse() {
    let ws = Ws::new();
    ws.load();
    tick();
    ws.set_mtime(".nonlinear/issues/NL-a.md", SystemTime::now());
    let (_, r) = ws.load();
    assert_eq!((r.read, r.parsed), (1, 0), "{r:?}");
}

#[test]
fn a_file_as_new_as_the_cache_is_checked_on_every_load() {
    // Git's racy-timestamp rule: a stamp is proof only when it is older
    // than the cache. A file modified "after" the cache (here: in the
    // future) is read and its content compared each time.
    let ws = Ws::new();
    let rel = ".nonlinear/issues/NL-b.md";
    let future = SystemTime::now() + Duration::from_secs(3600);
    ws.set_mtime(rel, future);
    ws.load();
    for _ in 0..2 {
        let (_, r) = ws.load();
        assert_eq!((r.read, r.parsed), (1, 0), "{r:?}");
    }
    // Changed in place, stamp restored as far as we can: still seen.
    ws.write(rel, &ws.read(rel).replace("status: todo", "status: done"));
    ws.set_mtime(rel, future);
    let (g, _) = ws.load();
    assert_eq!(status(&g, "NL-b"), "done");
}

#[test]
fn a_broken_file_is_left_out_until_it_is_fixed() {
    let ws = Ws::new();
    ws.load();
    tick();
    let rel = ".nonlinear/issues/NL-c.md";
    let good = ws.read(rel);
    ws.write(rel, "---\ntitle: [unclosed\n");
    let (g, _) = ws.load();
    assert!(g.find("NL-c").is_none());
    tick();
    let (g, r) = ws.load();
    assert!(g.find("NL-c").is_none());
    assert_eq!(
        r.read, 0,
        "a file that does not parse is cached as such: {r:?}"
    );
    ws.write(rel, &good);
    let (g, _) = ws.load();
    assert!(g.find("NL-c").is_some());
}

#[test]
fn a_damaged_or_foreign_cache_is_rebuilt() {
    let ws = Ws::new();
    ws.load();
    let cache = ws.path(FILE);
    let good = std::fs::read(&cache).expect("the cache");
    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x55;
    let mut other_format = good.clone();
    other_format[8] = other_format[8].wrapping_add(1);
    let cases: [(&str, Vec<u8>, &str); 5] = [
        ("empty", Vec::new(), "not a cache file"),
        (
            "garbage",
            b"hello, world; not a cache at all".to_vec(),
            "not a cache file",
        ),
        ("truncated", good[..good.len() / 2].to_vec(), "checksum"),
        ("one byte flipped", flipped, "checksum"),
        ("another format", other_format, "format"),
    ];
    for (what, bytes, why) in cases {
        std::fs::write(&cache, bytes).expect("damage the cache");
        tick();
        let (_, r) = ws.load();
        let invalid = r.invalid.clone().unwrap_or_default();
        assert!(invalid.contains(why), "{what}: {r:?}");
        assert!(r.written, "{what}: rewritten: {r:?}");
        tick();
        ws.load_clean();
    }
    std::fs::remove_dir_all(ws.path(".nonlinear/cache")).expect("delete the cache directory");
    let (_, r) = ws.load();
    assert!(r.written, "{r:?}");
}

#[test]
fn git_never_sees_the_cache() {
    let ws = Ws::new();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(&ws.root)
            .env("GIT_AUTHOR_NAME", "Ana")
            .env("GIT_AUTHOR_EMAIL", "ana@example.com")
            .env("GIT_COMMITTER_NAME", "Ana")
            .env("GIT_COMMITTER_EMAIL", "ana@example.com")
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-qm", "workspace"]);
    ws.load();
    assert!(ws.path(FILE).is_file());
    assert_eq!(git(&["status", "--porcelain", "--untracked-files=all"]), "");
}

#[test]
fn many_random_changes_never_leave_it_stale() {
    let ws = Ws::new();
    let mut rng = fastrand::Rng::with_seed(7);
    let statuses = ["backlog", "todo", "in_progress", "done", "canceled"];
    let mut keys: Vec<String> = ["NL-a", "NL-b", "NL-c", "NL-d", "NL-e"]
        .map(String::from)
        .to_vec();
    let mut next = 0;
    for step in 0..60 {
        match rng.u8(0..6) {
            0 => {
                next += 1;
                let key = format!("NL-n{next}");
                let blocks = &keys[rng.usize(0..keys.len())];
                ws.put(issue_file(&key, &format!("blocks: [{blocks}]")));
                keys.push(key);
            }
            1 if keys.len() > 2 => {
                let key = keys.swap_remove(rng.usize(0..keys.len()));
                std::fs::remove_file(ws.path(&format!(".nonlinear/issues/{key}.md")))
                    .expect("delete");
            }
            2 => {
                let key = &keys[rng.usize(0..keys.len())];
                let s = statuses[rng.usize(0..statuses.len())];
                let rel = format!(".nonlinear/issues/{key}.md");
                let before = ws.mtime(&rel);
                ws.put(issue_file(key, &format!("status: {s}")));
                if rng.bool() {
                    ws.set_mtime(&rel, before);
                }
            }
            3 => {
                let key = &keys[rng.usize(0..keys.len())];
                ws.set_mtime(&format!(".nonlinear/issues/{key}.md"), SystemTime::now());
            }
            4 => {
                let a = &keys[rng.usize(0..keys.len())];
                let b = &keys[rng.usize(0..keys.len())];
                ws.put(issue_file(a, &format!("blocks: [{b}]; status: todo")));
            }
            _ => {
                // Several loads in a row with nothing changed.
            }
        }
        let (_, r) = ws.load();
        assert_eq!(r.files, keys.len(), "step {step}: {r:?}");
    }
}
