//! Every route over real HTTP, including each error code.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::support::{Server, Ws, eventually};

const ANA: Option<&str> = Some("ana");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_health_metrics_openapi_and_headers() {
    let s = Server::start(Ws::demo()).await;
    let p = s.get("/api/v1/project").await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert_eq!(p.body["key"], "NL");
    assert_eq!(p.body["statuses"][0]["key"], "backlog");
    assert!(p.body["members"].as_array().expect("members").len() >= 6);
    assert_eq!(p.body["cycles"][1]["key"], "c26");
    assert_eq!(p.body["counts"]["issues"], 105);
    assert_eq!(p.body["committing"], true);
    // Security headers on every answer.
    assert!(
        p.header("content-security-policy")
            .expect("csp")
            .contains("script-src 'self'")
    );
    assert_eq!(p.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(p.header("x-frame-options"), Some("DENY"));
    assert!(
        p.header("strict-transport-security").is_none(),
        "HSTS only behind TLS"
    );
    assert!(p.header("x-request-id").is_some());

    let h = s.get("/health").await;
    assert_eq!(h.body["status"], "ok");

    let o = s.get("/api/v1/openapi.json").await;
    assert_eq!(o.status, 200);
    assert!(
        o.body["openapi"]
            .as_str()
            .expect("version")
            .starts_with("3.1"),
        "{}",
        o.body["openapi"]
    );
    for path in [
        "/api/v1/nodes/{id}",
        "/api/v1/links",
        "/api/v1/graph/ready",
        "/api/v1/search",
        "/api/v1/attachments",
    ] {
        assert!(
            o.body["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }

    let m = s.get("/metrics").await;
    assert_eq!(m.status, 200);
    for name in [
        "nonlinear_http_request_duration_seconds_bucket",
        "route=\"/api/v1/project\"",
        "nonlinear_http_requests_in_flight",
        "nonlinear_websocket_connections",
        "nonlinear_events_published",
        "nonlinear_search_index_documents",
        "nonlinear_graph_nodes",
    ] {
        assert!(m.text.contains(name), "{name} not in /metrics:\n{}", m.text);
    }

    // Unknown route, wrong method: the envelope too.
    s.get("/api/v1/nope").await.error(404, "not_found");
    s.call(Method::PUT, "/api/v1/project", None, &[])
        .await
        .error(405, "method_not_allowed");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_read_list_and_paginate() {
    let s = Server::start(Ws::demo()).await;
    let n = s.get("/api/v1/nodes/NL-0h36").await;
    assert_eq!(n.status, 200, "{}", n.text);
    assert_eq!(n.body["title"], "Rotate session tokens on privilege change");
    assert_eq!(n.body["parent_node"]["key"], "AUTH");
    assert!(
        n.body["description_html"]
            .as_str()
            .expect("html")
            .contains("<li>")
    );
    let etag = n.header("etag").expect("etag").to_owned();
    assert_eq!(n.body["etag"], etag.as_str());
    // By UUID and in any case, too.
    let id = n.body["id"].as_str().expect("id").to_owned();
    assert_eq!(
        s.get(&format!("/api/v1/nodes/{id}")).await.body["short_id"],
        "NL-0h36"
    );
    assert_eq!(s.get("/api/v1/nodes/nl-0h36").await.status, 200);
    // Conditional GET.
    let same = s
        .call(
            Method::GET,
            "/api/v1/nodes/NL-0h36",
            None,
            &[("if-none-match", &etag)],
        )
        .await;
    assert_eq!(same.status, 304);
    // A component: children and links by layer.
    let auth = s.get("/api/v1/nodes/AUTH").await;
    assert!(auth.body["children"].as_array().expect("children").len() >= 5);
    assert!(auth.body["progress"]["total"].as_u64().expect("progress") > 0);
    s.get("/api/v1/nodes/NL-zzzz").await.error(404, "not_found");

    // List with a filter, a page at a time.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/nodes?q=status:todo&limit=7&cursor={c}"),
            None => "/api/v1/nodes?q=status:todo&limit=7".into(),
        };
        let page = s.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.text);
        for it in page.body["items"].as_array().expect("items") {
            assert_eq!(it["status"], "todo");
            seen.push(it["short_id"].as_str().expect("key").to_owned());
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let todo = s.ws.path(".nonlinear/issues");
    let expected = std::fs::read_dir(todo)
        .expect("issues")
        .filter(|e| {
            std::fs::read_to_string(e.as_ref().expect("entry").path())
                .expect("read")
                .contains("\nstatus: todo\n")
        })
        .count();
    assert_eq!(seen.len(), expected);
    let mut dedup = seen.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), seen.len(), "pages overlap");
    s.get("/api/v1/nodes?q=status:")
        .await
        .error(400, "bad_request");
    s.get("/api/v1/nodes?cursor=%%%")
        .await
        .error(400, "bad_request");
    s.get("/api/v1/nodes?limit=many")
        .await
        .error(400, "bad_request");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_update_and_commit() {
    let s = Server::start(Ws::demo()).await;
    // Unrelated uncommitted edit in the work tree: it stays uncommitted.
    s.ws.write("README.md", "local notes, not for the API\n");

    let c = s
        .post(
            "/api/v1/nodes",
            json!({"kind": "issue", "title": "Cache album covers", "status": "todo", "priority": "high",
                   "labels": ["performance"], "assignee": "ben", "parent": "ALBUMS", "description": "Covers are slow."}),
            ANA,
        )
        .await;
    assert_eq!(c.status, 201, "{}", c.text);
    let key = c.body["short_id"].as_str().expect("key").to_owned();
    assert_eq!(
        c.header("location"),
        Some(format!("/api/v1/nodes/{key}").as_str())
    );
    assert_eq!(c.body["priority"], 2);
    assert_eq!(c.body["parent_node"]["key"], "ALBUMS");
    assert!(c.body["commit"].is_string(), "{}", c.text);
    let file = format!(".nonlinear/issues/{key}.md");
    assert!(s.ws.read(&file).contains("title: Cache album covers"));
    let log = s.ws.git(&["log", "-1", "--format=%an <%ae>%n%s%n%b"]);
    assert!(
        log.starts_with("Ana Ribeiro <ana@lumen.example>\nnonlinear: create "),
        "{log}"
    );
    assert!(log.contains("Nonlinear-Actor: ana"), "{log}");
    let status = s.ws.git(&["status", "--porcelain"]);
    assert_eq!(
        status.trim(),
        "M README.md",
        "only the unrelated edit is left"
    );

    // Update with the ETag; a stale one is refused and changes nothing.
    let etag = c.header("etag").expect("etag").to_owned();
    let u = s
        .patch(
            &format!("/api/v1/nodes/{key}"),
            json!({"status": "in_progress", "labels": ["performance", "backend"], "description": "Covers are slow.\n\nMeasured: 900 ms."}),
            &[("if-match", &etag), ("x-nonlinear-actor", "ben")],
        )
        .await;
    assert_eq!(u.status, 200, "{}", u.text);
    assert_eq!(u.body["status"], "in_progress");
    assert_eq!(u.body["labels"], json!(["performance", "backend"]));
    assert!(
        u.body["description"]
            .as_str()
            .expect("d")
            .contains("900 ms")
    );
    let new_etag = u.header("etag").expect("etag").to_owned();
    assert_ne!(new_etag, etag);
    let log = s.ws.git(&["log", "-1", "--format=%an%n%B"]);
    assert!(log.contains("status: todo → in_progress"), "{log}");
    assert!(log.starts_with("Ben Okafor"), "{log}");
    let before = s.ws.read(&file);
    let stale = s
        .patch(
            &format!("/api/v1/nodes/{key}"),
            json!({"status": "done"}),
            &[("if-match", &etag)],
        )
        .await;
    stale.error(409, "conflict");
    assert_eq!(s.ws.read(&file), before, "a refused write changes nothing");

    // Validation: field details.
    let bad = s
        .patch(
            &format!("/api/v1/nodes/{key}"),
            json!({"status": "shipped"}),
            &[],
        )
        .await;
    bad.error(422, "validation_failed");
    assert_eq!(
        bad.body["error"]["details"][0]["field"], "status",
        "{}",
        bad.text
    );
    let bad = s
        .patch(
            &format!("/api/v1/nodes/{key}"),
            json!({"colour": "red"}),
            &[],
        )
        .await;
    assert_eq!(bad.body["error"]["details"][0]["field"], "colour");
    bad.error(422, "validation_failed");
    s.patch("/api/v1/nodes/NL-zzzz", json!({"status": "done"}), &[])
        .await
        .error(404, "not_found");
    // Malformed JSON is 400; a body of the wrong shape 422.
    let raw = s
        .client
        .post(s.url("/api/v1/nodes"))
        .header("content-type", "application/json")
        .body("{\"kind\": ")
        .send()
        .await
        .expect("send");
    assert_eq!(raw.status(), 400);
    let env: serde_json::Value = raw.json().await.expect("json");
    assert_eq!(env["error"]["code"], "bad_request");
    s.post("/api/v1/nodes", json!({"kind": "issue"}), ANA)
        .await
        .error(422, "validation_failed");
    s.post(
        "/api/v1/nodes",
        json!({"kind": "issue", "title": "x", "url": "http://a"}),
        ANA,
    )
    .await
    .error(422, "validation_failed");
    // An unknown acting member.
    s.post(
        "/api/v1/nodes",
        json!({"kind": "issue", "title": "x"}),
        Some("mallory"),
    )
    .await
    .error(422, "validation_failed");
    // A component whose key is taken.
    s.post(
        "/api/v1/nodes",
        json!({"kind": "component", "title": "Auth again", "key": "AUTH"}),
        ANA,
    )
    .await
    .error(409, "conflict");

    // Move, rename, delete.
    let m = s
        .post(
            &format!("/api/v1/nodes/{key}/move"),
            json!({"parent": "SEARCH"}),
            ANA,
        )
        .await;
    assert_eq!(m.status, 200, "{}", m.text);
    assert_eq!(m.body["parent_node"]["key"], "SEARCH");
    s.post("/api/v1/nodes/API/move", json!({"parent": "AUTH"}), ANA)
        .await
        .error(422, "validation_failed");
    let r = s
        .post(
            &format!("/api/v1/nodes/{key}/rename"),
            json!({"to": "NL-covers"}),
            ANA,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["short_id"], "NL-covers");
    assert!(s.ws.path(".nonlinear/issues/NL-covers.md").exists());
    s.post(
        "/api/v1/nodes/NL-covers/rename",
        json!({"to": "NL-0h36"}),
        ANA,
    )
    .await
    .error(409, "conflict");
    s.delete("/api/v1/nodes/NL-eeeb", &[])
        .await
        .error(422, "validation_failed");
    let d = s.delete("/api/v1/nodes/NL-covers", &[]).await;
    assert_eq!(d.status, 200, "{}", d.text);
    assert!(!s.ws.path(".nonlinear/issues/NL-covers.md").exists());
    s.get("/api/v1/nodes/NL-covers")
        .await
        .error(404, "not_found");
    assert!(
        s.ws.git(&["log", "-1", "--format=%s"])
            .starts_with("nonlinear: delete NL-covers")
    );
    assert_eq!(s.ws.git(&["status", "--porcelain"]).trim(), "M README.md");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_comments_artifacts() {
    let s = Server::start(Ws::demo()).await;
    let l = s
        .post(
            "/api/v1/links",
            json!({"from": "NL-0h36", "type": "blocks", "to": "NL-96kc"}),
            ANA,
        )
        .await;
    assert_eq!(l.status, 201, "{}", l.text);
    assert_eq!(l.body["layer"], 2);
    assert_eq!(l.body["type"], "BLOCKS");
    let again = s
        .post(
            "/api/v1/links",
            json!({"from": "NL-0h36", "type": "blocks", "to": "NL-96kc"}),
            ANA,
        )
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["changed"], false);
    s.post(
        "/api/v1/links",
        json!({"from": "NL-96kc", "type": "blocks", "to": "NL-0h36"}),
        ANA,
    )
    .await
    .error(422, "validation_failed");
    let c3 = s
        .post(
            "/api/v1/links",
            json!({"from": "SEARCH", "type": "calls_api", "to": "AUTH"}),
            ANA,
        )
        .await;
    assert_eq!(c3.status, 201, "{}", c3.text);
    assert_eq!(c3.body["layer"], 3);
    let search = s.get("/api/v1/nodes/SEARCH").await;
    let l3 = search.body["links"]["layer3"].as_array().expect("layer 3");
    assert!(
        l3.iter()
            .any(|e| e["key"] == "AUTH" && e["type"] == "CALLS_API" && e["source"] == "manual"),
        "{l3:?}"
    );
    s.post(
        "/api/v1/links",
        json!({"from": "SEARCH", "type": "blocks", "to": "AUTH"}),
        ANA,
    )
    .await
    .error(422, "validation_failed");
    s.post(
        "/api/v1/links",
        json!({"from": "NL-0h36", "type": "loves", "to": "NL-96kc"}),
        ANA,
    )
    .await
    .error(422, "validation_failed");
    let u = s
        .delete("/api/v1/links?from=NL-0h36&type=blocks&to=NL-96kc", &[])
        .await;
    assert_eq!(u.status, 200, "{}", u.text);
    assert_eq!(u.body["changed"], true);
    s.delete("/api/v1/links?from=NL-0h36", &[])
        .await
        .error(400, "bad_request");

    // Comments: an acting member is required; replies nest; only the author edits.
    s.post(
        "/api/v1/nodes/NL-0h36/comments",
        json!({"body": "hi"}),
        None,
    )
    .await
    .error(403, "forbidden");
    let c = s
        .post(
            "/api/v1/nodes/NL-0h36/comments",
            json!({"body": "Reviewing now."}),
            ANA,
        )
        .await;
    assert_eq!(c.status, 201, "{}", c.text);
    let cid = c.body["id"].as_str().expect("id").to_owned();
    let r = s
        .post(
            "/api/v1/nodes/NL-0h36/comments",
            json!({"body": "Thanks!", "reply_to": cid}),
            Some("dev"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let thread = s.get("/api/v1/nodes/NL-0h36/comments").await;
    let top = thread.body["items"].as_array().expect("items");
    let mine = top
        .iter()
        .find(|t| t["id"] == cid.as_str())
        .expect("comment listed");
    assert_eq!(
        mine["replies"][0]["body"]
            .as_str()
            .or(mine["replies"][0]["description"].as_str())
            .map(str::trim),
        Some("Thanks!")
    );
    s.post("/api/v1/nodes/NL-0h36/comments", json!({"body": " "}), ANA)
        .await
        .error(422, "validation_failed");
    s.patch(
        &format!("/api/v1/comments/{cid}"),
        json!({"body": "mine now"}),
        &[("x-nonlinear-actor", "dev")],
    )
    .await
    .error(403, "forbidden");
    let e = s
        .patch(
            &format!("/api/v1/comments/{cid}"),
            json!({"body": "Reviewed: LGTM."}),
            &[
                ("x-nonlinear-actor", "ana"),
                ("if-match", c.header("etag").expect("etag")),
            ],
        )
        .await;
    assert_eq!(e.status, 200, "{}", e.text);
    assert!(e.body["edited_at"].is_string());
    s.patch(
        &format!("/api/v1/comments/{cid}"),
        json!({"body": "again"}),
        &[
            ("x-nonlinear-actor", "ana"),
            ("if-match", c.header("etag").expect("etag")),
        ],
    )
    .await
    .error(409, "conflict");
    let re = s
        .post(
            &format!("/api/v1/comments/{cid}/reactions"),
            json!({"emoji": "rocket"}),
            Some("dev"),
        )
        .await;
    assert_eq!(re.status, 200, "{}", re.text);
    assert_eq!(re.body["reactions"]["rocket"], json!(["dev"]));
    let un = s
        .delete(
            &format!("/api/v1/comments/{cid}/reactions/rocket"),
            &[("x-nonlinear-actor", "dev")],
        )
        .await;
    assert_eq!(un.status, 200, "{}", un.text);
    s.post(
        "/api/v1/comments/00000000-0000-7000-8000-000000000000/reactions",
        json!({"emoji": "eyes"}),
        ANA,
    )
    .await
    .error(404, "not_found");

    // Artifacts.
    let a = s
        .post(
            "/api/v1/nodes/NL-0h36/artifacts",
            json!({"title": "PR #419", "url": "https://git.example/pr/419"}),
            ANA,
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let akey = a.body["short_id"].as_str().expect("key").to_owned();
    let node = s.get("/api/v1/nodes/NL-0h36").await;
    assert!(
        node.body["artifacts"]
            .as_array()
            .expect("artifacts")
            .iter()
            .any(|x| x["short_id"] == akey.as_str())
    );
    s.delete(&format!("/api/v1/nodes/NL-96kc/artifacts/{akey}"), &[])
        .await
        .error(422, "validation_failed");
    let d = s
        .delete(&format!("/api/v1/nodes/NL-0h36/artifacts/{akey}"), &[])
        .await;
    assert_eq!(d.status, 200, "{}", d.text);
    assert_eq!(d.body["deleted"], true);
    s.post(
        "/api/v1/nodes/NL-0h36/artifacts",
        json!({"title": "x", "kind": "video"}),
        ANA,
    )
    .await
    .error(422, "validation_failed");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_search_history_diff() {
    let s = Server::start(Ws::demo()).await;
    let t = s.get("/api/v1/graph/tree?root=API&layers=1").await;
    assert_eq!(t.status, 200, "{}", t.text);
    assert_eq!(t.body["short_id"], "API");
    assert_eq!(t.body["children"].as_array().expect("children").len(), 5);
    s.get("/api/v1/graph/tree?layers=7")
        .await
        .error(400, "bad_request");
    s.get("/api/v1/graph/tree?root=NOPE")
        .await
        .error(404, "not_found");
    let r = s.get("/api/v1/graph/ready?limit=3").await;
    assert_eq!(r.body["items"][0]["short_id"], "NL-3t0x", "{}", r.text);
    assert!(r.body["total"].as_u64().expect("total") > 3);
    let mine = s
        .call(
            Method::GET,
            "/api/v1/graph/ready?q=assignee:@me",
            None,
            &[("x-nonlinear-actor", "dev")],
        )
        .await;
    for it in mine.body["items"].as_array().expect("items") {
        assert_eq!(it["assignee"], "dev");
    }
    let b = s.get("/api/v1/graph/blocked").await;
    assert!(!b.body.as_array().expect("blocked").is_empty());
    let cp = s.get("/api/v1/graph/critical-path").await;
    assert!(cp.body["length"].as_f64().expect("length") > 0.0);
    let near = s.get("/api/v1/graph/near/NL-0h36?hops=1").await;
    assert!(
        near.body
            .as_array()
            .expect("near")
            .iter()
            .any(|n| n["short_id"] == "AUTH")
    );
    let imp = s.get("/api/v1/graph/impact/AUTH").await;
    assert_eq!(imp.status, 200, "{}", imp.text);
    s.get("/api/v1/graph/impact/NL-0h36")
        .await
        .error(422, "validation_failed");
    assert!(s.get("/api/v1/graph/cycles").await.body.is_array());

    let found = s.get("/api/v1/search?q=rotat%20sesion%20tokns").await;
    assert_eq!(found.status, 200, "{}", found.text);
    assert_eq!(found.body["hits"][0]["key"], "NL-0h36", "{}", found.text);
    let weird = s.get("/api/v1/search?q=%22%28%5B%7B").await;
    assert_eq!(
        weird.status, 200,
        "malformed queries are words: {}",
        weird.text
    );
    s.get("/api/v1/search").await.error(400, "bad_request");

    // History and diff from git.
    let u = s
        .patch(
            "/api/v1/nodes/NL-0h36",
            json!({"status": "done"}),
            &[("x-nonlinear-actor", "ana")],
        )
        .await;
    assert_eq!(u.status, 200, "{}", u.text);
    let h = s.get("/api/v1/nodes/NL-0h36/history").await;
    assert_eq!(h.status, 200, "{}", h.text);
    assert!(
        h.text.contains("in_review") && h.text.contains("done"),
        "{}",
        h.text
    );
    let d = s.get("/api/v1/diff?from=HEAD~1&to=HEAD").await;
    assert_eq!(d.status, 200, "{}", d.text);
    assert!(d.text.contains("NL-0h36"), "{}", d.text);
    s.get("/api/v1/diff?from=nope")
        .await
        .error(404, "not_found");
    s.get("/api/v1/nodes/NL-zzzz/history")
        .await
        .error(404, "not_found");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_edits_show_without_restart() {
    let s = Server::start(Ws::demo()).await;
    let file = ".nonlinear/issues/NL-96kc.md";
    let text =
        s.ws.read(file)
            .replace("status: todo", "status: in_progress");
    s.ws.write(file, &text);
    let ok = eventually(Duration::from_secs(5), || async {
        s.get("/api/v1/nodes/NL-96kc").await.body["status"] == "in_progress"
    })
    .await;
    assert!(ok, "an editor's save shows in the API");
    // A branch switch: the file goes back.
    s.ws.git(&["stash", "-q"]);
    let ok = eventually(Duration::from_secs(5), || async {
        s.get("/api/v1/nodes/NL-96kc").await.body["status"] == "todo"
    })
    .await;
    assert!(ok, "git stash shows in the API");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_errors_carry_a_correlation_id() {
    let s = Server::start(Ws::demo()).await;
    // git cannot commit while another process holds the index.
    std::fs::write(s.ws.path(".git/index.lock"), "").expect("lock");
    let r = s
        .patch("/api/v1/nodes/NL-96kc", json!({"priority": 4}), &[])
        .await;
    r.error(500, "internal");
    let id = r.body["error"]["correlation_id"].as_str().expect("id");
    assert_eq!(r.header("x-request-id"), Some(id));
    assert!(
        !r.text.contains(".git"),
        "no internals in the answer: {}",
        r.text
    );
    std::fs::remove_file(s.ws.path(".git/index.lock")).expect("unlock");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_limits_hsts_and_graceful_shutdown() {
    let ws = Ws::demo();
    let mut config = ws.config();
    config.cors_origins = vec!["https://app.example".into()];
    config.hsts = true;
    let s = Server::start_with(ws, config).await;
    let pre = s
        .call(
            Method::OPTIONS,
            "/api/v1/nodes/NL-96kc",
            None,
            &[
                ("origin", "https://app.example"),
                ("access-control-request-method", "PATCH"),
                (
                    "access-control-request-headers",
                    "content-type,if-match,x-nonlinear-actor",
                ),
            ],
        )
        .await;
    assert!(pre.status.is_success(), "{}", pre.status);
    assert_eq!(
        pre.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    let other = s
        .call(
            Method::GET,
            "/api/v1/project",
            None,
            &[("origin", "https://evil.example")],
        )
        .await;
    assert!(other.header("access-control-allow-origin").is_none());
    assert!(
        other
            .header("strict-transport-security")
            .expect("hsts")
            .contains("max-age=")
    );

    // Bodies over the limit (1 MiB) are refused before any work.
    let big = json!({"kind": "issue", "title": "x", "description": "y".repeat(2 << 20)});
    s.post("/api/v1/nodes", big, ANA)
        .await
        .error(413, "payload_too_large");

    // Shutting down lets a write in flight finish and commit.
    let client = s.client.clone();
    let url = s.url("/api/v1/nodes/NL-96kc");
    let write = tokio::spawn(async move {
        client
            .patch(url)
            .json(&json!({"title": "Written while shutting down"}))
            .send()
            .await
            .map(|r| r.status().as_u16())
    });
    tokio::time::sleep(Duration::from_millis(5)).await;
    let ws = s.stop().await;
    let status = write.await.expect("task");
    let text = ws.read(".nonlinear/issues/NL-96kc.md");
    match status {
        // Accepted before the listener closed: written and committed.
        Ok(200) => {
            assert!(text.contains("title: Written while shutting down"));
            assert!(
                ws.git(&["log", "-1", "--format=%s"])
                    .starts_with("nonlinear: update NL-96kc")
            );
        }
        // Refused at the door: nothing written.
        _ => assert!(!text.contains("Written while shutting down")),
    }
    assert!(ws.git(&["status", "--porcelain"]).trim().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remembered_answers_end_with_a_change() {
    let s = Server::start(Ws::demo()).await;
    let first = s.get("/api/v1/graph/ready?limit=500").await;
    let again = s.get("/api/v1/graph/ready?limit=500").await;
    assert_eq!(first.text, again.text);
    assert_eq!(again.header("x-nonlinear-memo"), Some("hit"));
    // Another acting member is another answer (`@me`).
    let mine = s
        .call(
            Method::GET,
            "/api/v1/graph/ready?limit=500",
            None,
            &[("x-nonlinear-actor", "dev")],
        )
        .await;
    assert!(mine.header("x-nonlinear-memo").is_none());
    // A node's answer reads its file and comments: remembered with their
    // stamps, which prove nothing for files changed in the last 50 ms (the
    // test copied them a moment ago).
    tokio::time::sleep(Duration::from_millis(120)).await;
    let n = s.get("/api/v1/nodes/NL-96kc").await;
    assert_eq!(
        s.get("/api/v1/nodes/NL-96kc")
            .await
            .header("x-nonlinear-memo"),
        Some("hit")
    );
    // A comment written outside shows at once, before the watcher has
    // read it: the comments' directory changed.
    let thread = ".nonlinear/comments/01a1f388-ef7f-706c-964d-08a9aa649a6c";
    std::fs::create_dir_all(s.ws.path(thread)).expect("mkdir");
    s.ws.write(
        &format!("{thread}/01a1f388-ef7f-706c-964d-08a9aa649a6d.md"),
        "---\nid: 01a1f388-ef7f-706c-964d-08a9aa649a6d\nauthor: ana\ncreated_at: 2026-11-20T11:00:00Z\n---\nWritten in an editor.\n",
    );
    let commented = s.get("/api/v1/nodes/NL-96kc").await;
    assert!(commented.header("x-nonlinear-memo").is_none());
    assert!(
        commented.text.contains("Written in an editor."),
        "{}",
        commented.text
    );
    let list = "/api/v1/nodes?q=status:todo";
    s.get(list).await;
    assert_eq!(s.get(list).await.header("x-nonlinear-memo"), Some("hit"));
    assert!(
        first.text.contains("NL-96kc"),
        "NL-96kc is ready in the demo"
    );
    // An API write ends them.
    s.patch("/api/v1/nodes/NL-96kc", json!({"status": "done"}), &[])
        .await;
    let after = s.get("/api/v1/graph/ready?limit=500").await;
    assert!(after.header("x-nonlinear-memo").is_none());
    assert!(!after.text.contains("NL-96kc"));
    let n2 = s.get("/api/v1/nodes/NL-96kc").await;
    assert_eq!(n2.body["status"], "done");
    assert_ne!(n2.header("etag"), n.header("etag"));
    // So does an edit made outside.
    s.get("/api/v1/nodes/NL-96kc").await;
    let file = ".nonlinear/issues/NL-96kc.md";
    s.ws.write(
        file,
        &s.ws.read(file).replace("status: done", "status: todo"),
    );
    // The graph follows once the watcher has read the file.
    let back = eventually(Duration::from_secs(5), || async {
        s.get("/api/v1/graph/ready?limit=500")
            .await
            .text
            .contains("NL-96kc")
    })
    .await;
    assert!(back, "the outside edit ended the remembered ready answer");
    assert!(s.get(list).await.text.contains("NL-96kc"));
    s.stop().await;
}
