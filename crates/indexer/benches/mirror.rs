//! Speed of the Postgres mirror, as a Markdown table: a full sync of a
//! generated workspace into an empty database, a second sync with nothing
//! to do, a sync after one issue changed (rows recomputed from all files),
//! verify, and the ready-work query answered by the in-memory engine and
//! by SQL (recursive CTE) over the mirror.
//!
//! `cargo bench -p nonlinear-indexer --bench mirror [-- SIZES…]` (default
//! 1000 10000 100000); the server is `NONLINEAR_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), where a database is
//! created and dropped for each size.

use std::path::Path;
use std::time::{Duration, Instant};

use nonlinear_indexer::mirror::{self, postgres::Postgres};
use nonlinear_indexer::{Graph, query};
use schema::store::Store;
use sqlx::{Connection, Executor, PgConnection};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000, 10_000, 100_000]
    } else {
        sizes
    };
    let admin = std::env::var("NONLINEAR_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    println!(
        "| issues | rows (nodes, edges, comments) | rows from files | full sync | sync, nothing changed | one issue changed: all rows + sync | one issue changed: apply | verify | ready in memory | ready in SQL | Neo4j (kglite) full sync | Neo4j sync, nothing changed | Neo4j one issue changed: apply | ready in Cypher |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for n in sizes {
        let ws_dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../target/bench-ws-mirror")
            .join(n.to_string());
        if !ws_dir.join(".nonlinear/config.yaml").exists() {
            for (path, text) in schema::synth::generate(&schema::synth::Shape::with_issues(n), 42) {
                let p = ws_dir.join(path);
                std::fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
                std::fs::write(p, text).expect("write");
            }
        }
        let store = Store::at(&ws_dir);
        let t = Instant::now();
        let rows = mirror::rows_of(&store);
        let from_files = t.elapsed();
        let name = format!("nl_bench_{n}");
        rt.block_on(async {
            let mut c = PgConnection::connect(&admin)
                .await
                .expect("the Postgres server");
            let _ = c
                .execute(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .await;
            c.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .await
                .expect("create");
            let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
            let pg = Postgres::connect(&format!("{base}/{name}"))
                .await
                .expect("connect");
            let none = Default::default();
            let t = Instant::now();
            pg.sync(&rows, &none).await.expect("sync");
            let full = t.elapsed();
            let t = Instant::now();
            let again = pg.sync(&rows, &none).await.expect("sync");
            let nothing = t.elapsed();
            assert_eq!(again.changes(), 0);
            // One issue's title changes on disk.
            let issue = rows
                .nodes
                .iter()
                .find(|r| r.kind == "issue")
                .expect("an issue");
            let path = store.path(issue.path.as_deref().expect("a file"));
            let text = std::fs::read_to_string(&path).expect("read");
            std::fs::write(&path, text.replacen("title: ", "title: Changed ", 1)).expect("write");
            let t = Instant::now();
            let changed_rows = mirror::rows_of(&store);
            let r = pg.sync(&changed_rows, &none).await.expect("sync");
            let one = t.elapsed();
            assert!(r.changes() >= 1);
            // The same change the way `serve` sees it: the watcher's graph
            // holds the new version, the mirror gets that one file's rows.
            let ws = store.load();
            let (mut g, inferred) = mirror::graph_of(&store, &ws);
            let rel = issue.path.clone().expect("a file");
            // Five new titles, then the original back (not timed).
            let versions: Vec<String> = (0..5)
                .map(|k| text.replacen("title: ", &format!("title: Again {k} "), 1))
                .chain([text.clone()])
                .collect();
            let mut applied = Vec::new();
            for v in &versions {
                std::fs::write(&path, v).expect("write");
                let t = Instant::now();
                let item = store
                    .load_files(std::slice::from_ref(&rel), schema::parse::Body::Drop)
                    .items
                    .into_iter()
                    .next()
                    .expect("the item");
                g.upsert(item);
                pg.apply(&store, &g, &inferred, std::slice::from_ref(&rel))
                    .await
                    .expect("apply");
                applied.push(t.elapsed());
            }
            applied.truncate(5);
            applied.sort();
            let changed_rows = mirror::rows_of(&store);
            let t = Instant::now();
            let v = pg.verify(&changed_rows).await.expect("verify");
            let verify = t.elapsed();
            assert!(v.is_clean(), "{v:?}");
            // Ready work under the project, both ways.
            let g = Graph::build(&ws);
            let project_id = changed_rows
                .nodes
                .iter()
                .find(|r| r.kind == "project")
                .expect("the project")
                .id;
            let mem = median(|| {
                let t = Instant::now();
                std::hint::black_box(query::ready(&g, Some(g.project())));
                t.elapsed()
            });
            let mut sql = Vec::new();
            for _ in 0..5 {
                let t = Instant::now();
                let keys: Vec<(String,)> = sqlx::query_as(mirror::postgres::READY_SQL)
                    .bind(project_id)
                    .fetch_all(pg.pool())
                    .await
                    .expect("ready in SQL");
                sql.push(t.elapsed());
                std::hint::black_box(keys);
            }
            sql.sort();
            let (neo_full, neo_nothing, neo_apply, neo_ready) =
                neo4j_columns(&changed_rows, project_id, &store, &rel, &text);
            println!(
                "| {n} | {} ({}, {}, {}) | {} | {} | {} | {} | {} | {} | {} | {} | {neo_full} | {neo_nothing} | {neo_apply} | {neo_ready} |",
                rows.nodes.len() + rows.edges.len() + rows.comments.len(),
                rows.nodes.len(),
                rows.edges.len(),
                rows.comments.len(),
                fmt(from_files),
                fmt(full),
                fmt(nothing),
                fmt(one),
                fmt(applied[2]),
                fmt(verify),
                fmt(mem),
                fmt(sql[2])
            );
            drop(pg);
            let _ = c
                .execute(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .await;
        });
    }
}

/// The Neo4j columns, on a `kglite-bolt-server` started for the purpose
/// (in memory); "n/a" when it is not installed. `rel` is the file of an
/// issue whose text is `text`: its title is changed and applied (median
/// of five), then put back.
fn neo4j_columns(
    rows: &mirror::Rows,
    project: uuid::Uuid,
    store: &Store,
    rel: &str,
    text: &str,
) -> (String, String, String, String) {
    let na = || ("n/a".into(), "n/a".into(), "n/a".into(), "n/a".into());
    let Ok(dir) = tempfile::tempdir() else {
        return na();
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(7687);
    let Ok(mut child) = std::process::Command::new("kglite-bolt-server")
        .arg("--graph")
        .arg(dir.path().join("g.kgl"))
        .args([
            "--storage",
            "memory",
            "--bind",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    else {
        return na();
    };
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() && t.elapsed().as_secs() < 20 {
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = (|| {
        let neo = mirror::neo4j::Neo4j::connect(&format!("bolt://127.0.0.1:{port}")).ok()?;
        let t = Instant::now();
        neo.sync(rows).ok()?;
        let full = t.elapsed();
        let t = Instant::now();
        let again = neo.sync(rows).ok()?;
        let nothing = t.elapsed();
        assert_eq!(again.changes(), 0);
        let (mut g, inferred) = mirror::graph_of(store, &store.load());
        let path = store.path(rel);
        let mut applied = Vec::new();
        for k in 0..6 {
            let v = if k < 5 {
                text.replacen("title: ", &format!("title: Neo {k} "), 1)
            } else {
                text.to_owned()
            };
            std::fs::write(&path, v).expect("write");
            let t = Instant::now();
            let item = store
                .load_files(&[rel.to_owned()], schema::parse::Body::Drop)
                .items
                .into_iter()
                .next()
                .expect("the item");
            g.upsert(item);
            neo.apply(store, &g, &inferred, &[rel.to_owned()]).ok()?;
            applied.push(t.elapsed());
        }
        applied.truncate(5);
        applied.sort();
        let p: std::collections::HashMap<String, neo4j::ValueSend> = [(
            "root".to_owned(),
            neo4j::ValueSend::String(project.to_string()),
        )]
        .into_iter()
        .collect();
        let ready = median(|| {
            let t = Instant::now();
            std::hint::black_box(
                neo.column(mirror::neo4j::READY_CYPHER, p.clone(), &["key"])
                    .expect("ready in Cypher"),
            );
            t.elapsed()
        });
        Some((fmt(full), fmt(nothing), fmt(applied[2]), fmt(ready)))
    })();
    let _ = child.kill();
    let _ = child.wait();
    out.unwrap_or_else(na)
}

fn median(mut f: impl FnMut() -> Duration) -> Duration {
    let mut v: Vec<Duration> = (0..5).map(|_| f()).collect();
    v.sort();
    v[2]
}

fn fmt(d: Duration) -> String {
    if d.as_secs_f64() >= 1.0 {
        format!("{:.2} s", d.as_secs_f64())
    } else {
        format!("{:.1} ms", d.as_secs_f64() * 1000.0)
    }
}
