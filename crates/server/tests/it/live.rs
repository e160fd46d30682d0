//! Live updates over a real WebSocket: an event per mutation kind, outside
//! edits, resuming from an offset, and a lost position.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::support::{Server, Ws};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(s: &Server) -> Socket {
    let url = format!("ws://{}/api/v1/ws", s.running.addr);
    tokio_tungstenite::connect_async(url)
        .await
        .expect("connect")
        .0
}

async fn send(ws: &mut Socket, v: Value) {
    ws.send(Message::Text(v.to_string().into()))
        .await
        .expect("send");
}

/// The next JSON message, within 5 s.
async fn next(ws: &mut Socket) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a message within 5 s")
            .expect("open")
            .expect("frame");
        if let Message::Text(t) = msg {
            return serde_json::from_str(&t).expect("json");
        }
    }
}

/// Messages until one of type `kind`.
async fn until(ws: &mut Socket, kind: &str) -> Value {
    loop {
        let v = next(ws).await;
        if v["type"] == kind {
            return v;
        }
    }
}

async fn subscribe(ws: &mut Socket, channel: &str, from: Option<(&str, u64)>) -> Value {
    let mut m = json!({"op": "subscribe", "channel": channel});
    if let Some((e, o)) = from {
        m["epoch"] = json!(e);
        m["offset"] = json!(o);
    }
    send(ws, m).await;
    until(ws, "subscribed").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_per_mutation_kind() {
    let s = Server::start(Ws::demo()).await;
    let mut ws = connect(&s).await;
    let sub = subscribe(&mut ws, "project:NL", None).await;
    assert_eq!(sub["recovered"], true);
    let node = subscribe(&mut ws, "node:NL-96kc", None).await;
    assert!(
        node["channel"]
            .as_str()
            .expect("channel")
            .starts_with("node:0"),
        "{node}"
    );
    let user = subscribe(&mut ws, "user:ana", None).await;
    assert_eq!(user["channel"], "user:ana");

    let h = [("x-nonlinear-actor", "ben")];
    s.patch(
        "/api/v1/nodes/NL-96kc",
        json!({"status": "in_progress"}),
        &h,
    )
    .await;
    let e = until(&mut ws, "node.status_changed").await;
    assert_eq!(e["data"]["key"], "NL-96kc");
    assert_eq!(e["data"]["before"], "todo");
    assert_eq!(e["data"]["after"], "in_progress");
    assert_eq!(e["actor"], "ben");
    assert!(e["offset"].as_u64().expect("offset") >= 1);

    s.patch("/api/v1/nodes/NL-96kc", json!({"assignee": "ana"}), &h)
        .await;
    let e = until(&mut ws, "assignment.changed").await;
    assert_eq!(e["data"]["after"], "ana");
    // The same event on ana's channel too.
    let mut on_user = false;
    for _ in 0..6 {
        let v = next(&mut ws).await;
        if v["type"] == "assignment.changed" && v["channel"] == "user:ana" {
            on_user = true;
            break;
        }
    }
    assert!(on_user || e["channel"] == "user:ana");

    s.post(
        "/api/v1/nodes/NL-96kc/move",
        json!({"parent": "SEARCH"}),
        Some("ben"),
    )
    .await;
    assert_eq!(
        until(&mut ws, "node.reparented").await["data"]["after"],
        "SEARCH"
    );

    let c = s
        .post(
            "/api/v1/nodes",
            json!({"kind": "issue", "title": "Live one"}),
            Some("ben"),
        )
        .await;
    let key = c.body["short_id"].as_str().expect("key").to_owned();
    let e = until(&mut ws, "node.created").await;
    assert_eq!(e["data"]["key"], key.as_str());
    assert!(e["data"]["id"].is_string());

    s.post(
        "/api/v1/links",
        json!({"from": key, "type": "blocks", "to": "NL-96kc"}),
        Some("ben"),
    )
    .await;
    let e = until(&mut ws, "link.changed").await;
    assert_eq!(e["data"]["layer"], 2);
    assert_eq!(e["data"]["action"], "added");

    s.post(
        "/api/v1/nodes/NL-96kc/comments",
        json!({"body": "On it."}),
        Some("ben"),
    )
    .await;
    let e = until(&mut ws, "comment.added").await;
    assert_eq!(e["data"]["on_key"], "NL-96kc");

    let a = s
        .post(
            "/api/v1/nodes/NL-96kc/artifacts",
            json!({"title": "Spec", "url": "https://x.example/spec"}),
            Some("ben"),
        )
        .await;
    assert_eq!(
        until(&mut ws, "artifact.attached").await["data"]["node"],
        "NL-96kc"
    );
    let akey = a.body["short_id"].as_str().expect("key").to_owned();
    s.delete(&format!("/api/v1/nodes/NL-96kc/artifacts/{akey}"), &[])
        .await;
    until(&mut ws, "artifact.removed").await;

    s.post(
        "/api/v1/links",
        json!({"from": key, "type": "blocks", "to": "NL-96kc"}),
        Some("ben"),
    )
    .await;
    s.delete(
        &format!("/api/v1/links?from={key}&type=blocks&to=NL-96kc"),
        &[],
    )
    .await;
    assert_eq!(
        until(&mut ws, "link.changed").await["data"]["action"],
        "removed"
    );
    s.delete(&format!("/api/v1/nodes/{key}"), &[]).await;
    assert_eq!(
        until(&mut ws, "node.deleted").await["data"]["key"],
        key.as_str()
    );

    // An edit made outside the server: the same event, no actor.
    let file = ".nonlinear/issues/NL-0h36.md";
    let text = s.ws.read(file).replace("status: in_review", "status: done");
    s.ws.write(file, &text);
    let e = until(&mut ws, "node.status_changed").await;
    assert_eq!(e["data"]["key"], "NL-0h36");
    assert_eq!(e["actor"], Value::Null);

    send(&mut ws, json!({"op": "ping"})).await;
    until(&mut ws, "pong").await;
    send(&mut ws, json!({"op": "dance"})).await;
    until(&mut ws, "error").await;
    send(
        &mut ws,
        json!({"op": "subscribe", "channel": "weather:today"}),
    )
    .await;
    until(&mut ws, "error").await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_gets_what_it_missed() {
    let s = Server::start(Ws::demo()).await;
    let mut ws = connect(&s).await;
    subscribe(&mut ws, "project:NL", None).await;
    s.patch("/api/v1/nodes/NL-96kc", json!({"priority": 4}), &[])
        .await;
    let seen = until(&mut ws, "node.updated").await;
    let (epoch, offset) = (
        seen["epoch"].as_str().expect("epoch").to_owned(),
        seen["offset"].as_u64().expect("offset"),
    );
    drop(ws);
    // Missed while away.
    s.patch("/api/v1/nodes/NL-96kc", json!({"priority": 2}), &[])
        .await;
    s.patch("/api/v1/nodes/NL-96kc", json!({"status": "done"}), &[])
        .await;
    let mut ws = connect(&s).await;
    let sub = subscribe(&mut ws, "project:NL", Some((&epoch, offset))).await;
    assert_eq!(sub["recovered"], true, "{sub}");
    let a = next(&mut ws).await;
    let b = next(&mut ws).await;
    assert_eq!(a["offset"].as_u64(), Some(offset + 1));
    assert_eq!(a["data"]["after"], 2);
    assert_eq!(b["offset"].as_u64(), Some(offset + 2));
    assert_eq!(b["type"], "node.status_changed");
    // Live again after the replay, nothing twice.
    s.patch("/api/v1/nodes/NL-96kc", json!({"priority": 3}), &[])
        .await;
    let c = next(&mut ws).await;
    assert_eq!(c["data"]["after"], 3);
    assert_eq!(c["offset"].as_u64(), Some(offset + 3));

    // Another epoch (a restarted server) or an offset no longer kept.
    let mut ws = connect(&s).await;
    let sub = subscribe(&mut ws, "project:NL", Some(("0123456789ab", 1))).await;
    assert_eq!(sub["recovered"], false);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_old_an_offset_is_not_recovered() {
    let ws_dir = Ws::demo();
    let mut config = ws_dir.config();
    config.replay = 2;
    let s = Server::start_with(ws_dir, config).await;
    let mut ws = connect(&s).await;
    let sub = subscribe(&mut ws, "project:NL", None).await;
    let epoch = sub["epoch"].as_str().expect("epoch").to_owned();
    for p in [4, 3, 2, 0] {
        s.patch("/api/v1/nodes/NL-96kc", json!({"priority": p}), &[])
            .await;
    }
    for _ in 0..4 {
        until(&mut ws, "node.updated").await;
    }
    let mut again = connect(&s).await;
    let sub = subscribe(&mut again, "project:NL", Some((&epoch, 1))).await;
    assert_eq!(sub["recovered"], false, "{sub}");
    let sub = subscribe(&mut again, "project:NL", Some((&epoch, 2))).await;
    assert_eq!(sub["recovered"], true, "{sub}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inferred_links_from_the_analyzer_file() {
    let s = Server::start(Ws::demo()).await;
    // The demo's file: GATEWAY depends on AUTH (inferred; its `imports`
    // of AUTH is also written by hand, and the manual link wins).
    let gateway = s.get("/api/v1/nodes/GATEWAY").await;
    let l3 = gateway.body["links"]["layer3"].as_array().expect("layer 3");
    let inferred: Vec<_> = l3.iter().filter(|l| l["source"] == "inferred").collect();
    assert_eq!(inferred.len(), 1, "{l3:?}");
    assert_eq!(inferred[0]["type"], "DEPENDS_ON");
    assert_eq!(inferred[0]["key"], "AUTH");
    assert!(
        l3.iter()
            .any(|l| l["type"] == "IMPORTS" && l["source"] == "manual"),
        "{l3:?}"
    );

    let mut ws = connect(&s).await;
    subscribe(&mut ws, "project:NL", None).await;
    // `nonlinear analyze` finds a new link and loses the old one.
    let file = ".nonlinear/inferred/edges.yaml";
    s.ws.write(
        file,
        "# @generated by nonlinear analyze — do not edit\nversion: 1\nedges:\n  - kind: imports\n    from: WEB\n    to: AUTH\n    source: inferred\n    confidence: 0.90\n    occurrences: 1\n    evidence:\n      - {file: web/src/api.ts, line: 7, note: \"import from lumen-auth\"}\n",
    );
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let e = until(&mut ws, "connection.inferred").await;
        assert_eq!(e["data"]["layer"], 3);
        assert_eq!(e["data"]["source"], "inferred");
        seen.push(e["data"].clone());
    }
    seen.sort_by_key(|d| d["action"].as_str().map(str::to_owned));
    assert_eq!(seen[0]["action"], "added");
    assert_eq!(seen[0]["type"], "IMPORTS");
    assert_eq!(seen[0]["from"], "WEB");
    assert_eq!(seen[0]["evidence"], json!(["web/src/api.ts:7"]));
    assert_eq!(seen[1]["action"], "removed");
    assert_eq!(seen[1]["type"], "DEPENDS_ON");
    let web = s.get("/api/v1/nodes/WEB").await;
    assert!(
        web.body["links"]["layer3"]
            .as_array()
            .expect("layer 3")
            .iter()
            .any(|l| l["type"] == "IMPORTS" && l["source"] == "inferred" && l["key"] == "AUTH"),
        "{}",
        web.text
    );
    // Editing the component's own file re-adds its node: its inferred
    // links stay.
    let component = "web/COMPONENT.md";
    s.ws.write(
        component,
        &s.ws
            .read(component)
            .replace("title: Web app", "title: Web front end"),
    );
    until(&mut ws, "node.updated").await;
    let web = s.get("/api/v1/nodes/WEB").await;
    assert_eq!(web.body["title"], "Web front end");
    assert!(
        web.body["links"]["layer3"]
            .as_array()
            .expect("layer 3")
            .iter()
            .any(|l| l["type"] == "IMPORTS" && l["source"] == "inferred"),
        "{}",
        web.text
    );
    // A file that does not parse keeps the links and says why.
    s.ws.write(file, "version: 7\n");
    let e = until(&mut ws, "file.invalid").await;
    assert_eq!(e["data"]["path"], file);
    // Impact follows inferred links: AUTH's dependents include WEB.
    let impact = s.get("/api/v1/graph/impact/AUTH").await;
    assert!(impact.text.contains("WEB"), "{}", impact.text);
    s.stop().await;
}
