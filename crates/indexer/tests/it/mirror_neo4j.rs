//! The Neo4j mirror against a real Bolt server: `kglite-bolt-server` (on
//! the PATH; `tests/run` installs it), one fresh in-memory graph per test
//! on a free port.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use neo4j::ValueSend;
use nonlinear_indexer::mirror::{self, neo4j::Neo4j};
use nonlinear_indexer::{NodeKind, query};
use schema::store::Store;

/// A Bolt server of its own, stopped when dropped.
struct Bolt {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Bolt {
    fn start() -> Bolt {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let bin = std::env::var("NONLINEAR_TEST_BOLT_SERVER")
            .unwrap_or_else(|_| "kglite-bolt-server".into());
        let child = Command::new(&bin)
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
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{bin} (tests/run installs it): {e}"));
        let t = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "the Bolt server listens"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Bolt {
            child,
            url: format!("bolt://127.0.0.1:{port}"),
            _dir: dir,
        }
    }
}

impl Drop for Bolt {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn demo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    crate::mirror_pg::copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/demo"),
        dir.path(),
    );
    dir
}

#[test]
fn sync_is_idempotent_verifies_and_follows_changes() {
    let bolt = Bolt::start();
    let dir = demo();
    let store = Store::at(dir.path());
    let rows = mirror::rows_of(&store);
    let neo = Neo4j::connect(&bolt.url).expect("connect and migrate");
    assert_eq!(neo.schema_version().expect("version"), Some(1));
    let first = neo.sync(&rows).expect("sync");
    assert_eq!(first.tables[0].inserted, rows.nodes.len(), "{first:?}");
    assert_eq!(first.tables[1].inserted, rows.edges.len(), "{first:?}");
    let second = neo.sync(&rows).expect("sync");
    assert_eq!(second.changes(), 0, "{second:?}");
    let v = neo.verify(&rows).expect("verify");
    assert!(v.is_clean(), "{v:?}");
    // Connecting again applies no migration twice.
    let again = Neo4j::connect(&bolt.url).expect("connect");
    assert_eq!(
        again
            .column(
                "MATCH (m:Migration) RETURN count(m) AS n",
                Default::default(),
                &["n"]
            )
            .expect("count")[0][0],
        serde_json::json!(1)
    );

    // A title edited behind the mirror's back, an orphan node.
    let issue = rows
        .nodes
        .iter()
        .find(|n| n.kind == "issue")
        .expect("an issue");
    let p = |k: &str, v: &str| -> std::collections::HashMap<String, ValueSend> {
        [(k.to_owned(), ValueSend::String(v.to_owned()))]
            .into_iter()
            .collect()
    };
    neo.column(
        "MATCH (n:Issue {id: $id}) SET n.title = 'edited in Cypher' RETURN n.id AS id",
        p("id", &issue.id.to_string()),
        &["id"],
    )
    .expect("edit");
    neo.column(
        "CREATE (n:Issue {id: $id, key: 'NL-ghost'}) RETURN n.id AS id",
        p("id", "00000000-0000-0000-0000-000000000001"),
        &["id"],
    )
    .expect("orphan");
    let v = neo.verify(&rows).expect("verify");
    assert_eq!(v.mismatched.len(), 1, "{v:?}");
    assert_eq!(v.mismatched[0].fields, ["title"]);
    assert_eq!(v.orphans.len(), 1, "{v:?}");
    // A repair rewrites what verify found.
    neo.sync_forced(&rows, &v.to_force()).expect("repair");
    let v = neo.verify(&rows).expect("verify");
    assert!(v.is_clean(), "{v:?}");

    // The files change: a title, a deleted issue; a sync follows.
    let ws = store.load();
    let gone = ws
        .items
        .iter()
        .filter(|i| i.kind() == schema::Kind::Issue)
        .nth(3)
        .expect("an issue");
    std::fs::remove_file(store.path(&gone.path)).expect("delete");
    let rows = mirror::rows_of(&store);
    let r = neo.sync(&rows).expect("sync");
    assert_eq!(r.tables[0].deleted, 1, "the deleted issue: {r:?}");
    assert!(r.tables[1].deleted >= 1, "its relationships: {r:?}");
    let v = neo.verify(&rows).expect("verify");
    assert!(v.is_clean(), "{v:?}");
}

/// The seed's "unblocked leaves in a subtree" as Cypher over the mirror
/// equals the engine's answer under every component.
#[test]
fn ready_work_in_cypher_equals_the_engine() {
    let bolt = Bolt::start();
    let dir = demo();
    let store = Store::at(dir.path());
    let rows = mirror::rows_of(&store);
    let neo = Neo4j::connect(&bolt.url).expect("connect");
    neo.sync(&rows).expect("sync");
    let (g, _) = mirror::graph_of(&store, &store.load());
    for root in g.nodes_of(NodeKind::Component).chain([g.project()]) {
        let mut want: Vec<String> = query::ready(&g, Some(root))
            .into_iter()
            .map(|n| g.node(n).key.clone())
            .collect();
        want.sort();
        let id = rows
            .nodes
            .iter()
            .find(|r| r.key == g.node(root).key && r.kind == g.node(root).kind.as_str())
            .expect("the root's row")
            .id;
        let got: Vec<String> = neo
            .column(
                mirror::neo4j::READY_CYPHER,
                [("root".to_owned(), ValueSend::String(id.to_string()))]
                    .into_iter()
                    .collect(),
                &["key"],
            )
            .expect("ready in Cypher")
            .into_iter()
            .map(|r| r[0].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(got, want, "under {}", g.node(root).key);
    }
}
