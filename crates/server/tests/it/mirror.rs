//! `serve` keeping its mirrors in sync in the background: Postgres on a
//! fresh database of a real server (`NONLINEAR_TEST_POSTGRES`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`), looked at with `psql`;
//! Neo4j on a `kglite-bolt-server` of the test's own.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{Server, Ws};

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
        .expect("psql");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

struct Db(String);

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

/// Waits until `/health` says the mirror `name` is in sync.
async fn healthy(s: &Server, name: &str, limit: Duration) {
    let ok = crate::support::eventually(limit, || async {
        s.get("/health").await.body["mirror"][name]["ok"] == true
    })
    .await;
    assert!(ok, "{}", s.get("/health").await.text);
}

/// Waits until `/health` says the mirror `name` is failing, with work
/// pending.
async fn outage_shows(s: &Server, name: &str) {
    let ok = crate::support::eventually(Duration::from_secs(10), || async {
        let h = s.get("/health").await.body;
        h["mirror"][name]["ok"] == false && h["mirror"][name]["pending"].as_u64() >= Some(1)
    })
    .await;
    assert!(ok, "the outage shows: {}", s.get("/health").await.text);
}

/// Waits until `sql` answers `want` (the mirror is eventually consistent).
async fn until(url: &str, sql: &str, want: &str, limit: Duration) -> Duration {
    let t = Instant::now();
    loop {
        let got = Command::new("psql")
            .args([url, "-Atc", sql])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default();
        if got == want {
            return t.elapsed();
        }
        assert!(
            t.elapsed() < limit,
            "{sql}: {got:?} after {limit:?}, wanted {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_reach_the_mirror_and_an_outage_catches_up() {
    let name = format!(
        "nl_serve_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
    );
    psql(&admin(), &format!("CREATE DATABASE {name}"));
    let _db = Db(name.clone());
    let base = admin()
        .rsplit_once('/')
        .map(|(b, _)| b.to_owned())
        .expect("a URL");
    let url = format!("{base}/{name}");

    let ws = Ws::demo();
    let mut config = ws.config();
    config.postgres_url = Some(url.clone());
    let s = Server::start_with(ws, config).await;

    // The first sync copies the workspace.
    let issues = s.get("/api/v1/nodes?kind=issue&limit=500").await;
    let key = issues.body["items"][0]["short_id"]
        .as_str()
        .expect("an issue")
        .to_owned();
    until(
        &url,
        &format!("SELECT count(*) FROM nl_nodes WHERE key = '{key}'"),
        "1",
        Duration::from_secs(20),
    )
    .await;
    // The first sync (and the audit log) done, the health says so.
    healthy(&s, "postgres", Duration::from_secs(20)).await;

    // An API write shows in the mirror within a moment.
    let u = s
        .patch(
            &format!("/api/v1/nodes/{key}"),
            json!({"title": "Mirrored by serve"}),
            &[],
        )
        .await;
    assert_eq!(u.status, 200, "{}", u.text);
    let lag = until(
        &url,
        &format!("SELECT title FROM nl_nodes WHERE key = '{key}'"),
        "Mirrored by serve",
        Duration::from_secs(5),
    )
    .await;
    eprintln!("write → mirror: {lag:?}");
    // The write's commit reaches the audit log.
    until(
        &url,
        &format!(
            "SELECT count(*) FROM nl_audit WHERE item_key = '{key}' AND field = 'title'
             AND after = '\"Mirrored by serve\"'"
        ),
        "1",
        Duration::from_secs(5),
    )
    .await;

    // The database refuses connections: writes still work, the health
    // says the mirror is failing, and it catches up when it is back.
    psql(
        &admin(),
        &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"),
    );
    psql(
        &admin(),
        &format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"),
    );
    let u = s
        .patch(
            &format!("/api/v1/nodes/{key}"),
            json!({"title": "Written during the outage"}),
            &[],
        )
        .await;
    assert_eq!(
        u.status, 200,
        "a mirror outage never blocks a write: {}",
        u.text
    );
    outage_shows(&s, "postgres").await;
    psql(
        &admin(),
        &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"),
    );
    until(
        &url,
        &format!("SELECT title FROM nl_nodes WHERE key = '{key}'"),
        "Written during the outage",
        Duration::from_secs(40),
    )
    .await;
    healthy(&s, "postgres", Duration::from_secs(5)).await;
    s.running.shutdown().await.expect("shutdown");
}

/// Waits until the Cypher `query` (one column, `v`) answers `want`.
async fn neo_until(url: &str, query: &str, want: serde_json::Value, limit: Duration) -> Duration {
    let t = Instant::now();
    loop {
        let (u, q) = (url.to_owned(), query.to_owned());
        let got = tokio::task::spawn_blocking(move || {
            indexer::mirror::neo4j::Neo4j::connect(&u)
                .and_then(|n| n.column(&q, Default::default(), &["v"]))
                .ok()
                .and_then(|rows| rows.into_iter().next())
                .and_then(|mut r| r.pop())
        })
        .await
        .expect("query");
        if got.as_ref() == Some(&want) {
            return t.elapsed();
        }
        assert!(
            t.elapsed() < limit,
            "{query}: {got:?} after {limit:?}, wanted {want}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_reach_the_neo4j_mirror_and_a_restart_catches_up() {
    let mut bolt = Bolt::start();
    let ws = Ws::demo();
    let mut config = ws.config();
    config.neo4j_url = Some(bolt.url.clone());
    let s = Server::start_with(ws, config).await;

    let nodes = s.get("/api/v1/nodes?limit=500").await;
    let issues: Vec<&serde_json::Value> = nodes.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|n| n["kind"] == "issue")
        .collect();
    let all = issues.len();
    let key = issues[0]["short_id"].as_str().expect("an issue").to_owned();
    let count = "MATCH (n:Issue) RETURN count(n) AS v";
    neo_until(&bolt.url, count, json!(all), Duration::from_secs(20)).await;
    healthy(&s, "neo4j", Duration::from_secs(20)).await;

    // An API write shows in the graph within a moment.
    let u = s
        .patch(
            &format!("/api/v1/nodes/{key}"),
            json!({"title": "Mirrored by serve"}),
            &[],
        )
        .await;
    assert_eq!(u.status, 200, "{}", u.text);
    let title = format!("MATCH (n:Issue {{key: '{key}'}}) RETURN n.title AS v");
    let lag = neo_until(
        &bolt.url,
        &title,
        json!("Mirrored by serve"),
        Duration::from_secs(5),
    )
    .await;
    eprintln!("write → Neo4j mirror: {lag:?}");

    // The Bolt server goes away: writes still work, the health says the
    // mirror is failing; it comes back empty and the mirror is whole again.
    bolt.stop();
    let u = s
        .patch(
            &format!("/api/v1/nodes/{key}"),
            json!({"title": "Written during the outage"}),
            &[],
        )
        .await;
    assert_eq!(
        u.status, 200,
        "a mirror outage never blocks a write: {}",
        u.text
    );
    outage_shows(&s, "neo4j").await;
    bolt.restart();
    neo_until(
        &bolt.url,
        &title,
        json!("Written during the outage"),
        Duration::from_secs(40),
    )
    .await;
    neo_until(&bolt.url, count, json!(all), Duration::from_secs(5)).await;
    healthy(&s, "neo4j", Duration::from_secs(5)).await;
    s.running.shutdown().await.expect("shutdown");
}
