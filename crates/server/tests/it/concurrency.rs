//! Many clients writing the same issues at once: every accepted write is
//! in the files and in git, every rejected one got 409, nothing is lost or
//! corrupt.

use std::sync::Arc;

use serde_json::json;

use crate::support::{Server, Ws};

const ISSUES: [&str; 4] = ["NL-96kc", "NL-0h36", "NL-3t0x", "NL-5ejg"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_clients_fifty_writes_each() {
    let s = Arc::new(Server::start(Ws::demo()).await);
    let mut tasks = Vec::new();
    for c in 0..20 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut accepted = Vec::new();
            let mut rejected = 0;
            for w in 0..50 {
                let key = ISSUES[(c + w) % ISSUES.len()];
                let got = s.get(&format!("/api/v1/nodes/{key}")).await;
                let etag = got.header("etag").expect("etag").to_owned();
                let title = format!("client {c} write {w}");
                let r = s
                    .patch(
                        &format!("/api/v1/nodes/{key}"),
                        json!({"title": title}),
                        &[("if-match", &etag)],
                    )
                    .await;
                match r.status.as_u16() {
                    200 => accepted.push((key, title)),
                    409 => {
                        r.error(409, "conflict");
                        rejected += 1;
                    }
                    other => panic!("write answered {other}: {}", r.text),
                }
            }
            (accepted, rejected)
        }));
    }
    let mut accepted = Vec::new();
    let mut rejected = 0;
    for t in tasks {
        let (a, r) = t.await.expect("client");
        accepted.extend(a);
        rejected += r;
    }
    assert_eq!(accepted.len() + rejected, 1000);
    assert!(!accepted.is_empty());
    // Every accepted title is a commit of its file, in order of acceptance
    // per file; the last one is in the file now.
    let log =
        s.ws.git(&["log", "--format=%B%x00", "-p", "--", ".nonlinear/issues"]);
    for (key, title) in &accepted {
        assert!(
            log.contains(&format!("+title: {title}\n")),
            "{key} ← {title} not committed"
        );
    }
    let commits = s.ws.git(&["rev-list", "--count", "HEAD"]);
    assert_eq!(
        commits.trim().parse::<usize>().expect("count"),
        accepted.len() + 1
    );
    for key in ISSUES {
        let rel = format!(".nonlinear/issues/{key}.md");
        let text = s.ws.read(&rel);
        let (item, diags) = schema::parse::parse_item(&rel, schema::Kind::Issue, text.as_bytes());
        let item = item.expect("the file parses");
        assert!(
            diags.iter().all(|d| d.severity != schema::Severity::Error),
            "{rel}: {diags:?}"
        );
        let title = item.title.expect("title").value;
        if accepted.iter().any(|(k, _)| *k == key) {
            assert!(
                accepted.iter().any(|(k, t)| *k == key && *t == title),
                "{key}'s title {title:?} is no accepted write"
            );
        }
    }
    assert!(s.ws.git(&["status", "--porcelain"]).trim().is_empty());
    match Arc::try_unwrap(s) {
        Ok(s) => {
            s.stop().await;
        }
        Err(_) => panic!("clients still hold the server"),
    }
}
