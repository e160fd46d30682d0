//! The demo workspace in `fixtures/demo` and the `generate` command.

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::{Repo, nl_in, walk};

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/demo");

/// Rows of a `list`/`ready` text answer, checking its `N of TOTAL` line.
#[track_caller]
fn rows(stdout: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = stdout.lines().collect();
    let summary = lines.pop().expect("a summary line");
    let (shown, total) = summary
        .trim_end_matches(" items")
        .trim_end_matches(" item")
        .split_once(" of ")
        .unwrap_or_else(|| panic!("not a summary: {summary:?}"));
    assert_eq!(shown.parse::<usize>().ok(), Some(lines.len()), "{stdout}");
    assert!(total.parse::<usize>().is_ok_and(|t| t >= lines.len()));
    lines
}

#[test]
fn demo_fixture_checks_clean_and_lists_rows() {
    // Read-only commands only: the fixture is part of the repository.
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = nl_in(here, &["-C", DEMO, "check"]).code(0);
    assert!(run.stdout.starts_with("ok: "), "{run}");
    assert!(
        run.stdout.ends_with(" files checked, no problems\n"),
        "{run}"
    );

    let run = nl_in(here, &["-C", DEMO, "list"]).code(0);
    let listed = rows(&run.stdout);
    assert!(listed.len() >= 3, "{run}");
    for row in &listed {
        assert!(row.starts_with(char::is_alphabetic), "{row:?}");
        assert!(row.contains("  "), "columns: {row:?}");
    }

    let run = nl_in(here, &["-C", DEMO, "ready"]).code(0);
    let ready = rows(&run.stdout);
    assert!(!ready.is_empty(), "{run}");
    assert!(ready.len() <= listed.len());
    // Every ready row is also a listed issue.
    for row in &ready {
        let id = row.split_whitespace().next().expect("an id");
        assert!(
            listed
                .iter()
                .any(|l| l.split_whitespace().next() == Some(id)),
            "{id} is ready but not listed"
        );
    }

    // The JSON agrees with the text.
    let v = nl_in(here, &["-C", DEMO, "ready", "--json"]).code(0).json();
    assert_eq!(v["total"].as_u64(), Some(ready.len() as u64));
    // Ready issues are open and nothing open blocks them.
    let blocked = nl_in(here, &["-C", DEMO, "blocked", "--json"])
        .code(0)
        .json();
    let blocked: Vec<&str> = blocked
        .as_array()
        .expect("an array")
        .iter()
        .filter_map(|b| b["issue"]["short_id"].as_str())
        .collect();
    assert!(!blocked.is_empty(), "the demo has blocked issues");
    for item in v["items"].as_array().expect("items") {
        assert_eq!(item["kind"], "issue");
        assert!(
            matches!(
                item["status_category"].as_str(),
                Some("backlog" | "unstarted" | "started")
            ),
            "{item:#}"
        );
        let id = item["short_id"].as_str().expect("a short id");
        assert!(!blocked.contains(&id), "{id} is ready and blocked");
    }
}

/// Every file under `dir` with its bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    walk(dir, &mut |rel, bytes| {
        files.insert(rel.to_owned(), bytes.to_vec());
    });
    files
}

#[test]
fn generate_is_deterministic_and_checks_clean() {
    let repo = Repo::new();
    let gen_into = |name: &str| {
        let dir = repo.path(name);
        let run = nl_in(
            repo.root(),
            &["generate", name, "--issues", "200", "--seed", "7", "--json"],
        )
        .code(0);
        let v = run.json();
        assert_eq!(v["issues"], 200);
        assert_eq!(v["seed"], 7);
        (dir, v["files"].as_u64().expect("a file count"))
    };
    let (a, files_a) = gen_into("one");
    let (b, files_b) = gen_into("two");
    assert_eq!(files_a, files_b);
    let (ta, tb) = (tree(&a), tree(&b));
    assert_eq!(ta.len() as u64, files_a);
    assert_eq!(
        ta.keys().collect::<Vec<_>>(),
        tb.keys().collect::<Vec<_>>(),
        "same file names"
    );
    for (path, bytes) in &ta {
        assert!(tb[path] == *bytes, "{path} differs between the two runs");
    }
    let issues = ta
        .keys()
        .filter(|p| p.starts_with(".nonlinear/issues/"))
        .count();
    assert_eq!(issues, 200);

    // Every file written is a workspace file but `.nonlinear/.gitignore`.
    assert_eq!(ta[".nonlinear/.gitignore"], b"cache/\n");
    let run = nl_in(&a, &["check"]).code(0);
    assert_eq!(
        run.stdout,
        format!("ok: {} files checked, no problems\n", files_a - 1)
    );
    // Another seed gives another workspace.
    nl_in(
        repo.root(),
        &["generate", "three", "--issues", "200", "--seed", "8"],
    )
    .code(0);
    assert_ne!(tree(&repo.path("three")), ta);
    // Refused over an existing workspace.
    let run = nl_in(repo.root(), &["generate", "one", "--issues", "1"]).code(1);
    assert!(run.stderr.contains("already holds a workspace"), "{run}");
    assert_eq!(tree(&a), ta, "a refused generate changed files");
}

#[test]
fn generate_writes_relative_to_c_wherever_c_is_written() {
    let repo = Repo::new();
    std::fs::create_dir(repo.path("elsewhere")).expect("mkdir");
    for (args, made) in [
        (
            &["-C", "elsewhere", "generate", "ws", "--issues", "3"][..],
            "elsewhere/ws",
        ),
        (
            &["generate", "ws2", "--issues", "3", "-C", "elsewhere"],
            "elsewhere/ws2",
        ),
    ] {
        nl_in(repo.root(), args).code(0);
        assert!(
            repo.path(&format!("{made}/.nonlinear/config.yaml"))
                .is_file(),
            "{args:?}"
        );
    }
    assert!(!repo.path("ws").exists());
    assert!(!repo.path("ws2").exists());
    // A `-C` directory that does not exist is an I/O error, nothing written.
    let run = nl_in(repo.root(), &["-C", "missing", "generate", "ws3"]).code(2);
    assert!(!run.stderr.contains("panicked"), "{run}");
    assert!(!repo.path("missing").exists());
}

/// The demo's generated `.nonlinear/inferred/edges.yaml` is what the
/// analyzer computes from its code today (checked on a copy: `analyze`
/// writes its cache).
#[test]
fn demo_inferred_links_are_up_to_date() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut files = Vec::new();
    walk(Path::new(DEMO), &mut |rel, bytes| {
        if !rel.starts_with(".nonlinear/cache/") {
            files.push((rel.to_owned(), bytes.to_vec()));
        }
    });
    for (rel, bytes) in &files {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
        std::fs::write(p, bytes).expect("copy");
    }
    let run = nl_in(dir.path(), &["analyze", "--check"]);
    assert_eq!(
        run.code, 0,
        "run `nonlinear analyze` in fixtures/demo: {run}"
    );
}
