//! Speed of the server on generated workspaces.
//!
//! `cargo bench -p nonlinear-server --bench serve [-- SIZES…]` (default
//! 10000 100000 issues) writes a workspace in a git repository under
//! `target/bench-ws-serve/N` when it is missing, starts the server in
//! process (committing, like `serve`), and measures:
//!
//! * reads with `wrk` (Debian's `wrk`; the row says so when it is
//!   missing): get an issue, list with a filter, ready, search — requests
//!   per second and p99 with 2 threads and 32 connections for 5 s, wrk on
//!   the same 2-core machine as the server. Each twice: the same URL again
//!   and again (answered from the server's remembered answers after the
//!   first), and "computed", every URL unique so every answer is computed;
//! * writes: 200 sequential `PATCH` status changes (edit → file → commit →
//!   event on a WebSocket), p50/p99 from request to the event, and to the
//!   answer (which also waits for the search index);
//! * outside edits: 100 files saved as an editor does (write a temporary
//!   file, rename it over) → the WebSocket event, p50/p99;
//! * start-up time and the process's resident memory once serving.
//!
//! Prints Markdown tables.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![10_000, 100_000]
    } else {
        sizes
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-ws-serve");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut read_rows = Vec::new();
    let mut other_rows = Vec::new();
    for n in sizes {
        let dir = root.join(n.to_string());
        prepare(&dir, n);
        let (reads, other) = rt.block_on(measure(&dir, n));
        read_rows.extend(reads);
        other_rows.push(other);
    }
    println!("\n| issues | read | requests/s | p50 | p99 |");
    println!("|---:|---|---:|---:|---:|");
    for r in read_rows {
        println!("{r}");
    }
    println!(
        "\n| issues | start-up | RSS serving | write → event p50 | p99 | write → answer p50 | p99 | editor save → event p50 | p99 |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in other_rows {
        println!("{r}");
    }
}

fn prepare(dir: &PathBuf, n: usize) {
    if dir.join(".git").exists() {
        // Leftovers of a previous run: back to its one commit.
        git(dir, &["reset", "-q", "--hard"]);
        git(dir, &["clean", "-q", "-fdx", "-e", ".nonlinear/cache"]);
        return;
    }
    let _ = std::fs::remove_dir_all(dir);
    eprintln!("writing a {n}-issue workspace in {}", dir.display());
    for (p, text) in schema::synth::generate(&schema::synth::Shape::with_issues(n), 42) {
        let path = dir.join(p);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "generated"]);
}

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.com")
        .env("GIT_COMMITTER_NAME", "bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.com")
        .status()
        .expect("git")
        .success();
    assert!(ok, "git {args:?}");
}

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_event(ws: &mut Socket, kind: &str, key: &str) {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("an event within 10 s")
            .expect("open")
            .expect("frame");
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).expect("json");
            if v["type"] == kind && v["data"]["key"] == key {
                return;
            }
        }
    }
}

async fn measure(dir: &Path, n: usize) -> (Vec<String>, String) {
    let before = rss_mb();
    let t = Instant::now();
    let running = nonlinear_server::start(nonlinear_server::Config {
        workspace: dir.to_owned(),
        bind: "127.0.0.1:0".parse().expect("addr"),
        ..nonlinear_server::Config::default()
    })
    .await
    .expect("server starts");
    let startup = t.elapsed();
    let base = format!("http://{}", running.addr);
    let client = reqwest::Client::new();

    // Material: some issue keys and a title word.
    let page: Value = client
        .get(format!("{base}/api/v1/nodes?q=type:issue&limit=200"))
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let keys: Vec<(String, String)> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| {
            Some((
                i["short_id"].as_str()?.to_owned(),
                i["status"].as_str()?.to_owned(),
            ))
        })
        .collect();
    let word = page["items"][0]["title"]
        .as_str()
        .and_then(|t| t.split_whitespace().max_by_key(|w| w.len()))
        .unwrap_or("search")
        .to_lowercase();

    let mut reads = Vec::new();
    let script = dir.join(".nonlinear/cache/bench-unique.lua");
    std::fs::write(&script, UNIQUE).expect("write the wrk script");
    for (name, path) in [
        ("get issue", format!("/api/v1/nodes/{}", keys[7].0)),
        (
            "list with filter",
            "/api/v1/nodes?q=status:todo%20priority:%3C=2&limit=50".to_owned(),
        ),
        ("ready", "/api/v1/graph/ready?limit=50".to_owned()),
        ("search", format!("/api/v1/search?q={word}")),
    ] {
        let url = format!("{base}{path}");
        reads.push(format!("| {n} | {name} | {} |", wrk(&url, None)));
        reads.push(format!(
            "| {n} | {name}, computed | {} |",
            wrk(&url, Some(&script))
        ));
    }

    // Writes, seen as events.
    let url = format!("ws://{}/api/v1/ws", running.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("ws");
    ws.send(Message::Text(
        json!({"op": "subscribe", "channel": format!("project:{}", "NL")})
            .to_string()
            .into(),
    ))
    .await
    .expect("subscribe");
    let mut writes = Vec::new();
    let mut answers = Vec::new();
    for i in 0..200 {
        let (key, was) = &keys[i % keys.len()];
        let status = if was == "in_progress" {
            "todo"
        } else {
            "in_progress"
        };
        let t = Instant::now();
        // The event arrives before the answer (which waits for the search
        // index): each is timed from the request on its own.
        let request = client
            .patch(format!("{base}/api/v1/nodes/{key}"))
            .json(&json!({"status": status}))
            .send();
        let answer = tokio::spawn(async move {
            let r = request.await.expect("patch");
            let took = t.elapsed();
            assert!(
                r.status().is_success(),
                "{}",
                r.text().await.unwrap_or_default()
            );
            took
        });
        next_event(&mut ws, "node.status_changed", key).await;
        writes.push(t.elapsed());
        answers.push(answer.await.expect("the request"));
    }

    // Editor saves: write a temporary file, rename it over the original.
    let mut saves = Vec::new();
    for (i, (key, _)) in keys.iter().rev().take(100).enumerate() {
        let rel = format!(".nonlinear/issues/{key}.md");
        let text = std::fs::read_to_string(dir.join(&rel)).expect("read");
        let Some(at) = text.find("\ntitle: ") else {
            continue;
        };
        let end = text[at + 1..].find('\n').map_or(text.len(), |e| at + 1 + e);
        let new = format!(
            "{}\ntitle: Saved in an editor {i}{}",
            &text[..at],
            &text[end..]
        );
        let tmp = dir.join(format!(".nonlinear/issues/.{key}.md.swp"));
        let t = Instant::now();
        std::fs::write(&tmp, new).expect("write");
        std::fs::rename(&tmp, dir.join(&rel)).expect("rename");
        next_event(&mut ws, "node.updated", key).await;
        saves.push(t.elapsed());
    }
    let rss = rss_mb() - before;
    running.shutdown().await.expect("shutdown");
    let other = format!(
        "| {n} | {:.2} s | {rss:.0} MB | {} | {} | {} | {} | {} | {} |",
        startup.as_secs_f64(),
        ms(pct(&mut writes, 0.5)),
        ms(pct(&mut writes, 0.99)),
        ms(pct(&mut answers, 0.5)),
        ms(pct(&mut answers, 0.99)),
        ms(pct(&mut saves, 0.5)),
        ms(pct(&mut saves, 0.99)),
    );
    (reads, other)
}

/// A wrk script that makes every request's URL unique (an ignored query
/// parameter), so that no answer is remembered: what computing one costs.
const UNIQUE: &str = r#"
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function init(args)
  n = 0
end
function request()
  n = n + 1
  local sep = string.find(wrk.path, "?", 1, true) and "&" or "?"
  return wrk.format(nil, wrk.path .. sep .. "nocache=" .. tid .. "-" .. n)
end
"#;

/// `requests/s | p50 | p99` from wrk, or why not.
fn wrk(url: &str, script: Option<&Path>) -> String {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t2", "-c32", "-d5s", "--latency"]);
    if let Some(s) = script {
        cmd.arg("-s").arg(s);
    }
    let out = cmd.arg(url).output();
    let Ok(out) = out else {
        return "wrk not installed (apt install wrk) | | ".into();
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |prefix: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("?")
            .to_owned()
    };
    let non2xx = text
        .lines()
        .find(|l| l.contains("Non-2xx"))
        .map(|l| format!(" ({})", l.trim()))
        .unwrap_or_default();
    format!(
        "{}{non2xx} | {} | {}",
        field("Requests/sec:"),
        field("50%"),
        field("99%")
    )
}
