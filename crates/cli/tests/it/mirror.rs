//! `nonlinear mirror` against a real Postgres (a fresh database; the
//! server is `NONLINEAR_TEST_POSTGRES`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`), driven with `psql`.

use std::process::Command;

use crate::support::{Repo, nl_in};

#[path = "../../../../tests/support/bolt.rs"]
mod bolt;
use bolt::Bolt;

fn admin() -> String {
    std::env::var("NONLINEAR_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-Atc", sql])
        .output()
        .expect("psql (tests/run checks for it)");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

struct Db(String);

impl Db {
    fn new() -> (Db, String) {
        let name = format!("nl_cli_{}_{}", std::process::id(), fastrand_u32());
        psql(&admin(), &format!("CREATE DATABASE {name}"));
        let base = admin()
            .rsplit_once('/')
            .map(|(b, _)| b.to_owned())
            .expect("a URL");
        let url = format!("{base}/{name}");
        (Db(name), url)
    }
}

fn fastrand_u32() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
}

impl Drop for Db {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                &admin(),
                "-Atc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.0),
            ])
            .output();
    }
}

#[test]
fn sync_verify_repair_status() {
    let (_db, url) = Db::new();
    let repo = Repo::with_files(&[
        (
            ".nonlinear/config.yaml",
            "version: 1\nkey: NL\nstatuses:\n  - {key: todo, category: unstarted}\n  - {key: done, category: completed}\nmembers:\n  - {handle: ana, name: Ana}\n",
        ),
        (
            ".nonlinear/issues/NL-aaaa.md",
            "---\nid: 0193a6f0-0000-7000-8000-0000000000a1\nshort_id: NL-aaaa\ntitle: First\nstatus: todo\n---\nBody *one*.\n",
        ),
        (
            ".nonlinear/issues/NL-bbbb.md",
            "---\nid: 0193a6f0-0000-7000-8000-0000000000a2\nshort_id: NL-bbbb\ntitle: Second\nstatus: todo\nblocks: [NL-aaaa]\n---\n",
        ),
    ]);
    // No database named: a usage error.
    let run = nl_in(repo.root(), &["mirror", "status"]);
    assert_eq!(run.code, 2, "{run}");

    let run = repo.nl(&["mirror", "sync", "--postgres", &url]).code(0);
    assert!(run.stdout.contains("nl_nodes     +3 ~0 -0"), "{run}");
    let run = repo.nl(&["mirror", "sync", "--postgres", &url]).code(0);
    assert!(run.stdout.contains("postgres: 0 rows changed"), "{run}");
    assert_eq!(
        psql(
            &url,
            "SELECT key || ' ' || status FROM nl_nodes WHERE kind = 'issue' ORDER BY key"
        ),
        "NL-aaaa todo\nNL-bbbb todo"
    );
    repo.nl(&["mirror", "verify", "--postgres", &url]).code(0);
    // The audit log holds the history: one commit creating both issues.
    assert_eq!(
        psql(
            &url,
            "SELECT c.summary || ' ' || a.item_key || ' ' || a.event FROM nl_audit a
             JOIN nl_audit_commits c USING (commit_id) ORDER BY a.item_key"
        ),
        "initial NL-aaaa created\ninitial NL-bbbb created\ninitial NL-bbbb link_added"
    );

    // A change through the CLI reaches the mirror on the next sync.
    repo.nl(&["set", "NL-aaaa", "status", "done"]).code(0);
    repo.nl(&["mirror", "verify", "--postgres", &url]).code(1);
    let run = repo
        .nl(&["mirror", "sync", "--postgres", &url, "--json"])
        .code(0);
    let nodes = &run.json()["tables"][2];
    assert_eq!(
        (nodes["table"].as_str(), nodes["updated"].as_u64()),
        (Some("nl_nodes"), Some(1))
    );

    // A row edited behind the mirror's back: verify names the field,
    // --repair puts it back.
    psql(
        &url,
        "UPDATE nl_nodes SET title = 'hacked' WHERE key = 'NL-bbbb'",
    );
    let run = repo.nl(&["mirror", "verify", "--postgres", &url]).code(1);
    assert!(
        run.stdout
            .contains("mismatch  nl_nodes 0193a6f0-0000-7000-8000-0000000000a2 (title)"),
        "{run}"
    );
    repo.nl(&["mirror", "verify", "--repair", "--postgres", &url])
        .code(0);
    assert_eq!(
        psql(&url, "SELECT title FROM nl_nodes WHERE key = 'NL-bbbb'"),
        "Second"
    );
    // So is an audit row.
    psql(&url, "UPDATE nl_audit SET event = 'deleted'");
    let run = repo.nl(&["mirror", "verify", "--postgres", &url]).code(1);
    assert!(run.stdout.contains("(changes)"), "{run}");
    repo.nl(&["mirror", "verify", "--repair", "--postgres", &url])
        .code(0);
    assert_eq!(
        psql(
            &url,
            "SELECT count(*) FROM nl_audit WHERE event = 'created'"
        ),
        "2"
    );

    let run = repo
        .nl(&["mirror", "status", "--postgres", &url, "--json"])
        .code(0);
    let v = run.json();
    assert_eq!(v["schema_version"], 5);
    assert!(v["synced_at"].is_string());
}

/// The Neo4j mirror through the CLI, on a `kglite-bolt-server` of its own.
#[test]
fn neo4j_sync_verify_status() {
    let bolt = Bolt::start();
    let url = bolt.url.clone();
    let repo = Repo::with_files(&[
        (
            ".nonlinear/config.yaml",
            "version: 1\nkey: NL\nstatuses:\n  - {key: todo, category: unstarted}\n",
        ),
        (
            ".nonlinear/issues/NL-aaaa.md",
            "---\nid: 0193a6f0-0000-7000-8000-0000000000a1\nshort_id: NL-aaaa\ntitle: First\nstatus: todo\n---\n",
        ),
        (
            ".nonlinear/issues/NL-bbbb.md",
            "---\nid: 0193a6f0-0000-7000-8000-0000000000a2\nshort_id: NL-bbbb\ntitle: Second\nstatus: todo\nblocks: [NL-aaaa]\n---\n",
        ),
    ]);
    let run = repo.nl(&["mirror", "sync", "--neo4j", &url]).code(0);
    assert!(run.stdout.contains("nodes          +3 ~0 -0"), "{run}");
    repo.nl(&["mirror", "verify", "--neo4j", &url]).code(0);
    repo.nl(&["set", "NL-aaaa", "title", "Renamed"]).code(0);
    repo.nl(&["mirror", "verify", "--neo4j", &url]).code(1);
    repo.nl(&["mirror", "sync", "--neo4j", &url]).code(0);
    repo.nl(&["mirror", "verify", "--neo4j", &url]).code(0);
    let v = repo
        .nl(&["mirror", "status", "--neo4j", &url, "--json"])
        .code(0)
        .json();
    assert_eq!(v["schema_version"], 2);
}
