//! The Postgres mirror against a real server: a fresh database per test
//! (`NONLINEAR_TEST_POSTGRES`, default `postgres://postgres@127.0.0.1:5432/postgres`,
//! is the server to create it on).

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use nonlinear_indexer::mirror::postgres::Postgres;
use nonlinear_indexer::mirror::{self, Rows};
use nonlinear_indexer::{Graph, query};
use schema::store::Store;
use serde_json::Value;
use sqlx::{Connection, Executor, PgConnection};

fn admin_url() -> String {
    std::env::var("NONLINEAR_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A new empty database, dropped when the value is.
struct Db {
    name: String,
    url: String,
}

impl Db {
    async fn new() -> Db {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let name = format!(
            "nl_test_{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            fastrand::u32(..)
        );
        let admin = admin_url();
        let mut c = PgConnection::connect(&admin)
            .await
            .expect("a Postgres server for the mirror tests (tests/run starts one)");
        c.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .expect("create a test database");
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        Db {
            url: format!("{base}/{name}"),
            name,
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let (admin, name) = (admin_url(), self.name.clone());
        // Best effort, on a thread of its own: Drop cannot await.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            rt.block_on(async {
                if let Ok(mut c) = PgConnection::connect(&admin).await {
                    let _ = c
                        .execute(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                        )))
                        .await;
                }
            });
        })
        .join();
    }
}

pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for e in fs::read_dir(from).expect("read dir") {
        let e = e.expect("entry");
        let t = e.file_type().expect("type");
        if t.is_dir() {
            if e.file_name() != "cache" {
                copy_tree(&e.path(), &to.join(e.file_name()));
            }
        } else if t.is_file() {
            fs::copy(e.path(), to.join(e.file_name())).expect("copy");
        }
    }
}

fn demo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/demo"),
        dir.path(),
    );
    dir
}

fn count(r: &mirror::SyncReport, table: &str) -> (usize, usize, usize) {
    let t = r
        .tables
        .iter()
        .find(|t| t.table == table)
        .expect("a table of the report");
    (t.inserted, t.updated, t.deleted)
}

fn none() -> HashSet<(String, String)> {
    HashSet::new()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_sync_is_idempotent_and_verifies() {
    let db = Db::new().await;
    let dir = demo();
    // Text that COPY must escape: tabs, backslashes, CR LF, quotes in an
    // array element, a lone `\N`.
    fs::write(
        dir.path().join(".nonlinear/issues/NL-esc1.md"),
        "---\nid: 0193a6f0-0000-7000-8000-00000000e5c1\nshort_id: NL-esc1\ntitle: \"tab\\there \\\\ back \\\\N\"\nstatus: todo\nlabels: [\"we\\\"ird\\\\\"]\nestimate: 0.1\n---\nline one\r\nline\ttwo \\N \\\\ end\n",
    )
    .expect("write");
    let rows = mirror::rows_of(&Store::at(dir.path()));
    let pg = Postgres::connect(&db.url)
        .await
        .expect("connect and migrate");
    let first = pg.sync(&rows, &none()).await.expect("sync");
    assert_eq!(count(&first, "nl_nodes"), (rows.nodes.len(), 0, 0));
    assert_eq!(count(&first, "nl_edges"), (rows.edges.len(), 0, 0));
    assert_eq!(count(&first, "nl_comments"), (rows.comments.len(), 0, 0));
    assert!(rows.comments.len() > 3 && rows.edges.len() > 20);
    // The demo's file artifacts have attachment rows.
    assert_eq!(
        count(&first, "nl_attachments"),
        (rows.attachments.len(), 0, 0)
    );
    assert!(
        rows.attachments.iter().any(|a| a.storage == "file"
            && a.file.as_deref() == Some("docs/design/share-link-states.svg")
            && a.size == Some(1455)),
        "{:?}",
        rows.attachments
    );
    // Inferred links arrive with their evidence.
    assert!(
        rows.edges
            .iter()
            .any(|e| e.source == "inferred" && !e.evidence.is_empty() && e.confidence.is_some())
    );
    // Twice: nothing to do.
    let second = pg.sync(&rows, &none()).await.expect("sync");
    assert_eq!(second.changes(), 0, "{second:?}");
    let v = pg.verify(&rows).await.expect("verify");
    assert!(v.is_clean(), "{v:?}");
    // Connecting again migrates nothing and keeps the rows.
    let again = Postgres::connect(&db.url).await.expect("connect");
    let s = again.status().await.expect("status");
    assert_eq!(s.schema_version, Some(5));
    assert!(s.synced_at.is_some());
    let nodes = s.tables.iter().find(|(t, _)| t == "nl_nodes").map(|t| t.1);
    assert_eq!(nodes, Some(rows.nodes.len() as i64));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_changes_touch_only_their_rows() {
    let db = Db::new().await;
    let dir = demo();
    let store = Store::at(dir.path());
    let pg = Postgres::connect(&db.url).await.expect("connect");
    pg.sync(&mirror::rows_of(&store), &none())
        .await
        .expect("sync");

    // One issue's status changes, one issue is deleted, a new one is
    // created under a component and blocks another.
    let ws = store.load();
    let issues: Vec<&schema::Item> = ws
        .items
        .iter()
        .filter(|i| i.kind() == schema::Kind::Issue)
        .collect();
    let (a, b) = (issues[0], issues[1]);
    let text = fs::read_to_string(store.path(&a.path)).expect("read");
    let status = a
        .issue()
        .and_then(|i| i.status.as_ref())
        .map(|s| s.value.clone())
        .expect("a status");
    let to = if status == "done" { "todo" } else { "done" };
    fs::write(
        store.path(&a.path),
        text.replacen(&format!("status: {status}"), &format!("status: {to}"), 1),
    )
    .expect("write");
    // Comments on the deleted issue go with it, like `nonlinear rm` does.
    let b_id = b.id.as_ref().expect("an id").value;
    let b_comments = ws
        .items
        .iter()
        .filter(|i| match &i.fields {
            schema::model::Fields::Comment(c) => c.on.as_ref().is_some_and(|o| o.value == b_id),
            _ => false,
        })
        .count();
    let _ = fs::remove_dir_all(store.path(&format!(".nonlinear/comments/{b_id}")));
    // Links to the deleted issue would dangle: count them as going too.
    fs::remove_file(store.path(&b.path)).expect("delete");
    let component = ws
        .items
        .iter()
        .find(|i| i.kind() == schema::Kind::Component)
        .expect("a component");
    fs::write(
        store.path(".nonlinear/issues/NL-mirr.md"),
        format!(
            "---\nid: 0193a6f0-0000-7000-8000-00000000abcd\nshort_id: NL-mirr\ntitle: Mirrored\nstatus: todo\nparent: {}\nblocks: [{}]\n---\nA *new* issue.\n",
            component.short_str(),
            a.short_str()
        ),
    )
    .expect("create");
    let before = pg.verify(&mirror::rows_of(&store)).await.expect("verify");
    assert!(!before.is_clean());
    let rows = mirror::rows_of(&store);
    let r = pg.sync(&rows, &none()).await.expect("sync");
    let (ins, upd, del) = count(&r, "nl_nodes");
    assert_eq!((ins, del), (1, 1), "{r:?}");
    assert!(upd >= 1, "{r:?}");
    let (ins, _, _) = count(&r, "nl_edges");
    assert!(ins >= 2, "HAS_CHILD and BLOCKS of the new issue: {r:?}");
    assert_eq!(count(&r, "nl_comments").2, b_comments);
    assert!(pg.verify(&rows).await.expect("verify").is_clean());
    // The new issue's row holds its content.
    let (title, html, parent): (String, String, Option<uuid::Uuid>) = sqlx::query_as(
        "SELECT title, description_html, parent_id FROM nl_nodes WHERE key = 'NL-mirr'",
    )
    .fetch_one(pg.pool())
    .await
    .expect("the new row");
    assert_eq!(title, "Mirrored");
    assert!(html.contains("<em>new</em>"), "{html}");
    assert_eq!(parent, component.id.as_ref().map(|i| i.value));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_catches_changes_behind_the_mirrors_back_and_repair_fixes_them() {
    let db = Db::new().await;
    let dir = demo();
    let rows = mirror::rows_of(&Store::at(dir.path()));
    let pg = Postgres::connect(&db.url).await.expect("connect");
    pg.sync(&rows, &none()).await.expect("sync");
    let issue = rows
        .nodes
        .iter()
        .find(|n| n.kind == "issue")
        .expect("an issue");
    let comment = &rows.comments[0];
    // A title edited in SQL (the stored hash still says the old one), an
    // orphan row, a missing comment.
    sqlx::query("UPDATE nl_nodes SET title = 'edited in SQL', labels = '{x}' WHERE id = $1")
        .bind(issue.id)
        .execute(pg.pool())
        .await
        .expect("update");
    sqlx::query(
        "INSERT INTO nl_actors (handle, name, email, kind, hash) VALUES ('ghost', 'Ghost', NULL, 'user', 0)",
    )
    .execute(pg.pool())
    .await
    .expect("insert");
    sqlx::query("DELETE FROM nl_comments WHERE id = $1")
        .bind(comment.id)
        .execute(pg.pool())
        .await
        .expect("delete");
    let v = pg.verify(&rows).await.expect("verify");
    assert_eq!(v.mismatched.len(), 1, "{v:?}");
    assert_eq!(v.mismatched[0].key, issue.id.to_string());
    assert_eq!(v.mismatched[0].fields, ["labels", "title"]);
    assert_eq!(
        (v.orphans[0].table.as_str(), v.orphans[0].key.as_str()),
        ("nl_actors", "ghost")
    );
    assert_eq!(v.missing[0].key, comment.id.to_string());
    // A plain sync trusts the stored hash and misses the edit; a repair
    // rewrites what verify found.
    pg.sync(&rows, &v.to_force()).await.expect("repair");
    let after = pg.verify(&rows).await.expect("verify");
    assert!(after.is_clean(), "{after:?}");
}

/// The connection dies in the middle of a sync: the files are untouched,
/// the transaction leaves the mirror as it was, and the next sync brings
/// it to a verified state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_mid_sync_recovers_to_a_verified_state() {
    let db = Db::new().await;
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, text) in schema::synth::generate(&schema::synth::Shape::with_issues(3000), 7) {
        let p = dir.path().join(path);
        fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
        fs::write(p, text).expect("write");
    }
    let rows = mirror::rows_of(&Store::at(dir.path()));
    let pg = Postgres::connect(&db.url).await.expect("connect");
    let killer = {
        let (admin, name) = (admin_url(), db.name.clone());
        tokio::spawn(async move {
            let mut c = PgConnection::connect(&admin).await.expect("admin");
            // Kill every session of the test database until one dies.
            for _ in 0..200 {
                let killed: Vec<(bool,)> = sqlx::query_as(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                     WHERE datname = $1 AND pid <> pg_backend_pid() AND state = 'active'",
                )
                .bind(&name)
                .fetch_all(&mut c)
                .await
                .expect("terminate");
                if !killed.is_empty() {
                    return true;
                }
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
            false
        })
    };
    let first = pg.sync(&rows, &none()).await;
    let killed = killer.await.expect("the killer");
    if killed && first.is_err() {
        // Killed inside the transaction: nothing of it is left.
        let fresh = Postgres::connect(&db.url).await.expect("connect");
        let s = fresh.status().await.expect("status");
        assert!(s.tables.iter().all(|(_, n)| *n == 0), "{s:?}");
        assert_eq!(s.synced_at, None);
    }
    // Whatever happened, syncing again converges (the pool reconnects).
    let mut last = None;
    for _ in 0..5 {
        match pg.sync(&rows, &none()).await {
            Ok(r) => {
                last = Some(r);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    assert!(last.is_some(), "the sync after the outage succeeds");
    assert!(pg.verify(&rows).await.expect("verify").is_clean());
}

/// The seed's example query, unblocked leaves in a subtree, as SQL over
/// the mirror gives what the in-memory engine gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_work_in_sql_equals_the_engine() {
    let db = Db::new().await;
    let dir = demo();
    let store = Store::at(dir.path());
    let rows: Rows = mirror::rows_of(&store);
    let pg = Postgres::connect(&db.url).await.expect("connect");
    pg.sync(&rows, &none()).await.expect("sync");
    let ws = store.load();
    let g = Graph::build(&ws);
    for root in g
        .nodes_of(nonlinear_indexer::NodeKind::Component)
        .chain(std::iter::once(g.project()))
    {
        let mut want: Vec<String> = query::ready(&g, Some(root))
            .into_iter()
            .map(|n| g.node(n).key.clone())
            .collect();
        want.sort();
        let root_id = row_id(&rows, &g, root);
        let got: Vec<(String,)> = sqlx::query_as(mirror::postgres::READY_SQL)
            .bind(root_id)
            .fetch_all(pg.pool())
            .await
            .expect("ready in SQL");
        let got: Vec<String> = got.into_iter().map(|r| r.0).collect();
        assert_eq!(got, want, "under {}", g.node(root).key);
    }
}

/// The seed's other example, everything within 3 hops, as SQL over the
/// mirror gives what `query::near` gives, from every node of the demo.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hops_in_sql_equals_the_engine() {
    let db = Db::new().await;
    let dir = demo();
    let store = Store::at(dir.path());
    let rows: Rows = mirror::rows_of(&store);
    let pg = Postgres::connect(&db.url).await.expect("connect");
    pg.sync(&rows, &none()).await.expect("sync");
    let (g, _) = mirror::graph_of(&store, &store.load());
    for n in g.inner().node_indices() {
        let mut want: Vec<(String, String, i64)> = query::near(&g, n, 3, &[])
            .into_iter()
            .map(|(m, d)| {
                let node = g.node(m);
                (node.kind.as_str().to_owned(), node.key.clone(), d as i64)
            })
            .collect();
        want.sort();
        let id = row_id(&rows, &g, n);
        let mut got: Vec<(String, String, i64)> = sqlx::query_as(mirror::postgres::NEAR_SQL)
            .bind(id)
            .bind(3_i32)
            .fetch_all(pg.pool())
            .await
            .expect("near in SQL");
        got.sort();
        assert_eq!(got, want, "from {}", g.node(n).key);
    }
}

/// Applying the delta of the changed files leaves the mirror exactly as a
/// whole-workspace sync would: edits, a deletion (with its comments), a
/// new issue with links, a new comment, a file moved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applying_a_delta_equals_a_full_sync() {
    let db = Db::new().await;
    let dir = demo();
    let store = Store::at(dir.path());
    let pg = Postgres::connect(&db.url).await.expect("connect");
    pg.sync(&mirror::rows_of(&store), &none())
        .await
        .expect("sync");

    let changed = change_the_demo(&store);
    // The watcher's graph after the change: here, built again.
    let (g, inferred) = mirror::graph_of(&store, &store.load());
    pg.apply(&store, &g, &inferred, &changed)
        .await
        .expect("apply");
    let full = mirror::rows_of(&store);
    let v = pg.verify(&full).await.expect("verify");
    assert!(v.is_clean(), "{v:?}");
}

/// Changes the demo's files as a mirror must follow: a title edited, an
/// issue deleted with its comments, a new issue blocking another and a
/// comment on it, a file moved (same id), a component with sub-components
/// deleted. The paths it touched.
pub fn change_the_demo(store: &Store) -> Vec<String> {
    let ws = store.load();
    let issues: Vec<&schema::Item> = ws
        .items
        .iter()
        .filter(|i| i.kind() == schema::Kind::Issue)
        .collect();
    let (a, b, c) = (issues[0], issues[1], issues[2]);
    let mut changed: Vec<String> = Vec::new();
    // Edit a title.
    let text = fs::read_to_string(store.path(&a.path)).expect("read");
    fs::write(
        store.path(&a.path),
        text.replacen(&format!("title: {}", a.title_str()), "title: Edited", 1),
    )
    .expect("write");
    changed.push(a.path.clone());
    // Delete an issue and its comments.
    let b_id = b.id.as_ref().expect("an id").value;
    for i in &ws.items {
        if let schema::model::Fields::Comment(cm) = &i.fields
            && cm.on.as_ref().is_some_and(|o| o.value == b_id)
        {
            fs::remove_file(store.path(&i.path)).expect("remove a comment");
            changed.push(i.path.clone());
        }
    }
    fs::remove_file(store.path(&b.path)).expect("remove");
    changed.push(b.path.clone());
    // A new issue blocking `a`, and a comment on it.
    let new = ".nonlinear/issues/NL-delt.md";
    fs::write(
        store.path(new),
        format!(
            "---\nid: 0193a6f0-0000-7000-8000-00000000d001\nshort_id: NL-delt\ntitle: Delta\nstatus: todo\nblocks: [{}]\n---\n",
            a.short_str()
        ),
    )
    .expect("create");
    changed.push(new.into());
    let comment = ".nonlinear/comments/0193a6f0-0000-7000-8000-00000000d001/0193a6f0-0000-7000-8000-00000000d002.md";
    fs::create_dir_all(store.path(comment).parent().expect("dir")).expect("mkdir");
    fs::write(
        store.path(comment),
        "---\nid: 0193a6f0-0000-7000-8000-00000000d002\nauthor: ana\ncreated_at: 2026-11-28T01:00:00Z\n---\nFirst!\n",
    )
    .expect("comment");
    changed.push(comment.into());
    // An uploaded attachment attached to it.
    let upload = ".nonlinear/artifacts/NL-upld.md";
    fs::write(
        store.path(upload),
        format!(
            "---\nid: 0193a6f0-0000-7000-8000-00000000d003\nshort_id: NL-upld\ntitle: Screenshot\nkind: embed\nurl: /api/v1/attachments/{}\nmime_type: image/png\nsize: 42\nattached_to: [NL-delt]\n---\n",
            "ab".repeat(32)
        ),
    )
    .expect("artifact");
    changed.push(upload.into());
    // Move `c` to another file name (same id).
    let moved = ".nonlinear/issues/NL-moved.md";
    fs::rename(store.path(&c.path), store.path(moved)).expect("move");
    changed.push(c.path.clone());
    changed.push(moved.into());

    // An issue moves to another component (a reparent).
    let components: Vec<&schema::Item> = ws
        .items
        .iter()
        .filter(|i| i.kind() == schema::Kind::Component)
        .collect();
    let (moving, from) = issues
        .iter()
        .skip(3)
        .find_map(|i| Some((*i, i.issue()?.parent.as_ref()?.value.clone())))
        .expect("an issue with a parent");
    let to = components
        .iter()
        .map(|c| c.short_str())
        .find(|k| *k != from)
        .expect("another component");
    let text = fs::read_to_string(store.path(&moving.path)).expect("read");
    assert!(text.contains(&format!("parent: {from}\n")), "{text}");
    fs::write(
        store.path(&moving.path),
        text.replacen(&format!("parent: {from}\n"), &format!("parent: {to}\n"), 1),
    )
    .expect("reparent");
    changed.push(moving.path.clone());

    // A component with children goes: they hang from the project now.
    let parent = ws
        .items
        .iter()
        .filter(|i| i.kind() == schema::Kind::Component)
        .find(|p| {
            ws.items.iter().any(|i| {
                i.component()
                    .and_then(|c| c.parent.as_ref())
                    .is_some_and(|r| r.value == p.short_str())
            })
        })
        .expect("a component with sub-components");
    fs::remove_file(store.path(&parent.path)).expect("remove the parent");
    changed.push(parent.path.clone());

    changed
}

/// The audit log from git history: each commit's changes; a later sync
/// computes new commits only; a rewritten branch is followed; rows changed
/// behind the mirror's back are found and written again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_follows_the_history() {
    use nonlinear_indexer::git::Repo;
    use nonlinear_indexer::mirror::audit;
    let db = Db::new().await;
    let g = crate::git::Git::new();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/demo"),
        &g.root,
    );
    let c1 = g.commit("the demo");
    let store = Store::at(&g.root);
    let ws = store.load();
    let items = ws
        .items
        .iter()
        .filter(|i| i.kind() != schema::Kind::Comment)
        .count();
    let (issue, status) = ws
        .items
        .iter()
        .find_map(|i| {
            let s = i.issue()?.status.as_ref()?.value.clone();
            (s != "done").then(|| (i.clone(), s))
        })
        .expect("an open issue");
    let text = fs::read_to_string(store.path(&issue.path)).expect("read");
    fs::write(
        store.path(&issue.path),
        text.replacen(&format!("status: {status}"), "status: done", 1),
    )
    .expect("write");
    let c2 = g.commit("done");

    let pg = Postgres::connect(&db.url).await.expect("connect");
    let repo = Repo::open(&g.root).expect("repo");
    let plan = audit::plan(&repo, "HEAD", &pg.audit_known().await.expect("known")).expect("plan");
    assert_eq!(plan.new.len(), 2);
    let t = pg.write_audit(&plan, &[]).await.expect("write");
    assert_eq!((t.inserted, t.deleted), (2, 0));
    let created: (i64,) =
        sqlx::query_as("SELECT count(*) FROM nl_audit WHERE commit_id = $1 AND event = 'created'")
            .bind(&c1)
            .fetch_one(pg.pool())
            .await
            .expect("count");
    assert_eq!(
        created.0 as usize, items,
        "the root commit creates every item"
    );
    type Row = (
        String,
        String,
        Option<String>,
        Option<Value>,
        Option<Value>,
        String,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT a.item_key, a.event, a.field, a.before, a.after, c.author
             FROM nl_audit a JOIN nl_audit_commits c USING (commit_id)
             WHERE commit_id = $1 ORDER BY seq",
    )
    .bind(&c2)
    .fetch_all(pg.pool())
    .await
    .expect("rows");
    assert_eq!(
        rows,
        [(
            issue.short_str().to_owned(),
            "field".to_owned(),
            Some("status".to_owned()),
            Some(Value::from(status)),
            Some(Value::from("done")),
            "Ana Lima".to_owned()
        )]
    );
    let chain = repo.chain("HEAD").expect("chain");
    assert!(pg.verify_audit(&chain).await.expect("verify").is_clean());

    // A third commit: only it is computed.
    g.remove(&issue.path);
    let c3 = g.commit("gone");
    let plan = audit::plan(&repo, "HEAD", &pg.audit_known().await.expect("known")).expect("plan");
    assert_eq!(plan.new.len(), 1);
    assert_eq!(plan.new[0].info.id, c3);
    assert_eq!(plan.new[0].rows[0].event, "deleted");
    pg.write_audit(&plan, &[]).await.expect("write");

    // The branch is rewritten: the dropped commit leaves the log.
    g.git(&["reset", "-q", "--hard", &c2]);
    let c4 = g.commit("instead");
    let plan = audit::plan(&repo, "HEAD", &pg.audit_known().await.expect("known")).expect("plan");
    assert_eq!(plan.new.len(), 1);
    let t = pg.write_audit(&plan, &[]).await.expect("write");
    assert_eq!((t.inserted, t.deleted), (1, 1));
    let known = pg.audit_known().await.expect("known");
    assert!(known.contains(&c4) && !known.contains(&c3));
    let chain = repo.chain("HEAD").expect("chain");
    assert!(pg.verify_audit(&chain).await.expect("verify").is_clean());

    // A row edited behind the mirror's back; a repair writes it again.
    sqlx::query("UPDATE nl_audit SET after = '\"open\"' WHERE commit_id = $1")
        .bind(&c2)
        .execute(pg.pool())
        .await
        .expect("tamper");
    let v = pg.verify_audit(&chain).await.expect("verify");
    assert_eq!(v.mismatched.len(), 1, "{v:?}");
    assert_eq!(
        (
            v.mismatched[0].key.as_str(),
            v.mismatched[0].fields.as_slice()
        ),
        (c2.as_str(), &["changes".to_owned()][..])
    );
    let known: HashSet<String> = pg
        .audit_known()
        .await
        .expect("known")
        .into_iter()
        .filter(|k| *k != c2)
        .collect();
    let plan = audit::plan(&repo, "HEAD", &known).expect("plan");
    pg.write_audit(&plan, std::slice::from_ref(&c2))
        .await
        .expect("repair");
    assert!(pg.verify_audit(&chain).await.expect("verify").is_clean());
}

/// The id of node `n`'s row.
pub fn row_id(rows: &Rows, g: &Graph, n: petgraph::stable_graph::NodeIndex) -> uuid::Uuid {
    let node = g.node(n);
    rows.nodes
        .iter()
        .find(|r| r.key == node.key && r.kind == node.kind.as_str())
        .expect("the node's row")
        .id
}
