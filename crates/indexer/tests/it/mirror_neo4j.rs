//! The Neo4j mirror against a real Bolt server: `kglite-bolt-server` (on
//! the PATH; `tests/run` installs it), one fresh in-memory graph per test
//! on a free port.

use std::path::Path;

use neo4j::ValueSend;
use nonlinear_indexer::mirror::{self, neo4j::Neo4j};
use nonlinear_indexer::{NodeKind, query};
use schema::store::Store;

#[path = "../../../../tests/support/bolt.rs"]
mod bolt;
use bolt::Bolt;

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
    assert_eq!(neo.schema_version().expect("version"), Some(2));
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
        serde_json::json!(2)
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
        let id = crate::mirror_pg::row_id(&rows, &g, root);
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

/// Applying the delta of the changed files leaves the graph exactly as a
/// whole sync would (the changes of the Postgres test: edits, a deletion
/// with comments, a new issue with links, a move, a parent removed).
#[test]
fn applying_a_delta_equals_a_full_sync() {
    let bolt = Bolt::start();
    let dir = demo();
    let store = Store::at(dir.path());
    let neo = Neo4j::connect(&bolt.url).expect("connect");
    neo.sync(&mirror::rows_of(&store)).expect("sync");
    let changed = crate::mirror_pg::change_the_demo(&store);
    let (g, inferred) = mirror::graph_of(&store, &store.load());
    neo.apply(&store, &g, &inferred, &changed).expect("apply");
    let full = mirror::rows_of(&store);
    let v = neo.verify(&full).expect("verify");
    assert!(v.is_clean(), "{v:?}");
    // Nothing left for a sync to do.
    let r = neo.sync(&full).expect("sync");
    assert_eq!(r.changes(), 0, "{r:?}");
}

/// The seed's other example, everything within 3 hops, as Cypher over the
/// mirror gives what `query::near` gives, from every node of the demo.
#[test]
fn three_hops_in_cypher_equals_the_engine() {
    let bolt = Bolt::start();
    let dir = demo();
    let store = Store::at(dir.path());
    let rows = mirror::rows_of(&store);
    let neo = Neo4j::connect(&bolt.url).expect("connect");
    neo.sync(&rows).expect("sync");
    let (g, _) = mirror::graph_of(&store, &store.load());
    let cypher = mirror::neo4j::near_cypher(3);
    for n in g.inner().node_indices() {
        let mut want: Vec<(String, String, i64)> = query::near(&g, n, 3, &[])
            .into_iter()
            .map(|(m, d)| {
                let node = g.node(m);
                (node.kind.as_str().to_owned(), node.key.clone(), d as i64)
            })
            .collect();
        want.sort();
        let id = crate::mirror_pg::row_id(&rows, &g, n);
        let mut got: Vec<(String, String, i64)> = neo
            .column(
                &cypher,
                [("id".to_owned(), ValueSend::String(id.to_string()))]
                    .into_iter()
                    .collect(),
                &["kind", "key", "d"],
            )
            .expect("near in Cypher")
            .into_iter()
            .map(|r| {
                (
                    r[0].as_str().unwrap_or_default().to_owned(),
                    r[1].as_str().unwrap_or_default().to_owned(),
                    r[2].as_i64().unwrap_or(-1),
                )
            })
            .collect();
        got.sort();
        assert_eq!(got, want, "from {}", g.node(n).key);
    }
}

/// A TCP proxy in front of the Bolt server that can cut every connection
/// once the client has sent `armed` bytes: a network outage in the middle
/// of a transaction.
struct Cutter {
    url: String,
    armed: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    cuts: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Cutter {
    fn new(port: u16) -> Cutter {
        use std::io::{Read, Write};
        use std::net::{Shutdown, TcpListener, TcpStream};
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!(
            "bolt://127.0.0.1:{}",
            listener.local_addr().expect("addr").port()
        );
        let armed = Arc::new(AtomicUsize::new(usize::MAX));
        let cuts = Arc::new(AtomicUsize::new(0));
        let (a, c) = (armed.clone(), cuts.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(("127.0.0.1", port)) else {
                    continue;
                };
                let (mut c_in, mut s_out) = (
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                );
                let (a, cuts) = (a.clone(), c.clone());
                let (client2, server2) = (
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                );
                // Client → server, counting down the armed bytes.
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16 * 1024];
                    loop {
                        let n = match c_in.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        let left = a.load(Ordering::SeqCst);
                        if left != usize::MAX {
                            if left <= n {
                                a.store(usize::MAX, Ordering::SeqCst);
                                cuts.fetch_add(1, Ordering::SeqCst);
                                let _ = client2.shutdown(Shutdown::Both);
                                let _ = server2.shutdown(Shutdown::Both);
                                break;
                            }
                            a.store(left - n, Ordering::SeqCst);
                        }
                        if s_out.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
                let (mut s_in, mut c_out) = (server, client);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut s_in, &mut c_out);
                    let _ = c_out.shutdown(Shutdown::Both);
                });
            }
        });
        Cutter { url, armed, cuts }
    }

    /// Cuts the connections once `bytes` more have gone to the server.
    fn arm(&self, bytes: usize) {
        self.armed.store(bytes, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The network fails in the middle of a sync's transaction: the sync
/// reports an error, the graph holds what it held before (the transaction
/// never committed), and the next sync brings it to a verified state.
#[test]
fn an_outage_mid_sync_recovers_to_a_verified_state() {
    let bolt = Bolt::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |files: Vec<(String, String)>| {
        for (path, text) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        }
    };
    write(schema::synth::generate(
        &schema::synth::Shape::with_issues(2000),
        7,
    ));
    let store = Store::at(dir.path());
    let before = mirror::rows_of(&store);
    let direct = Neo4j::connect(&bolt.url).expect("connect");
    direct.sync(&before).expect("sync");

    // Every issue's title changes: a sync of a few hundred kilobytes.
    for item in store.load().items {
        if item.kind() == schema::Kind::Issue {
            let path = store.path(&item.path);
            let text = std::fs::read_to_string(&path).expect("read");
            let title = format!("title: {}", item.title_str());
            std::fs::write(
                &path,
                text.replacen(&title, &format!("{title} (renamed)"), 1),
            )
            .expect("write");
        }
    }
    let after = mirror::rows_of(&store);
    let cutter = Cutter::new(bolt.port);
    let proxied = Neo4j::connect(&cutter.url).expect("connect through the proxy");
    cutter.arm(20_000);
    let r = proxied.sync(&after);
    assert!(r.is_err(), "the cut connection fails the sync: {r:?}");
    assert_eq!(
        cutter.cuts.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "cut once"
    );
    // Nothing of the broken transaction is left.
    let v = direct.verify(&before).expect("verify");
    assert!(v.is_clean(), "the graph is as before the sync: {v:?}");
    // The next sync converges.
    let r = direct.sync(&after).expect("sync again");
    assert!(r.changes() > 0, "{r:?}");
    let v = direct.verify(&after).expect("verify");
    assert!(v.is_clean(), "{v:?}");
}
