//! A copy of the demo workspace in a fresh git repository, a server on
//! port 0 over it, and a client.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use nonlinear_server::{Config, Running};
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::Value;

/// The demo workspace (`fixtures/demo`) copied into a new git repository
/// with one commit.
pub struct Ws {
    pub dir: tempfile::TempDir,
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read fixture") {
        let e = e.expect("entry");
        let name = e.file_name();
        if name == "cache" {
            continue;
        }
        let (src, dst) = (e.path(), to.join(&name));
        if e.file_type().expect("type").is_dir() {
            copy_dir(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).expect("copy");
        }
    }
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "Setup")
        .env("GIT_AUTHOR_EMAIL", "setup@example.com")
        .env("GIT_COMMITTER_NAME", "Setup")
        .env("GIT_COMMITTER_EMAIL", "setup@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Ws {
    pub fn demo() -> Ws {
        let dir = tempfile::tempdir().expect("tempdir");
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/demo");
        copy_dir(&fixture, dir.path());
        git(dir.path(), &["init", "-q", "-b", "main"]);
        git(dir.path(), &["add", "-A"]);
        git(dir.path(), &["commit", "-q", "-m", "demo"]);
        Ws { dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).expect("read")
    }

    pub fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.path(rel), text).expect("write");
    }

    pub fn git(&self, args: &[&str]) -> String {
        git(self.dir.path(), args)
    }

    pub fn config(&self) -> Config {
        Config {
            workspace: self.dir.path().to_owned(),
            bind: "127.0.0.1:0".parse().expect("addr"),
            ..Config::default()
        }
    }
}

pub struct Server {
    pub running: Running,
    pub base: String,
    pub client: reqwest::Client,
    pub ws: Ws,
}

/// One answer: status, headers, body as JSON (`Null` when it is not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the error envelope and its code; returns the message.
    pub fn error(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert_eq!(self.body["error"]["code"], code, "{}", self.text);
        assert!(self.body["error"]["details"].is_array(), "{}", self.text);
        self.body["error"]["message"]
            .as_str()
            .expect("message")
            .to_owned()
    }
}

impl Server {
    pub async fn start(ws: Ws) -> Server {
        let config = ws.config();
        Server::start_with(ws, config).await
    }

    pub async fn start_with(ws: Ws, config: Config) -> Server {
        let running = nonlinear_server::start(config)
            .await
            .expect("server starts");
        Server {
            base: format!("http://{}", running.addr),
            running,
            client: reqwest::Client::new(),
            ws,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut req = self.client.request(method, self.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        Answer {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: Value, actor: Option<&str>) -> Answer {
        let h: Vec<(&str, &str)> = actor
            .map(|a| ("x-nonlinear-actor", a))
            .into_iter()
            .collect();
        self.call(Method::POST, path, Some(body), &h).await
    }

    pub async fn patch(&self, path: &str, body: Value, headers: &[(&str, &str)]) -> Answer {
        self.call(Method::PATCH, path, Some(body), headers).await
    }

    pub async fn delete(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        self.call(Method::DELETE, path, None, headers).await
    }

    pub async fn stop(self) -> Ws {
        self.running.shutdown().await.expect("clean shutdown");
        self.ws
    }
}

/// Polls `check` until it holds or `limit` passes.
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let t = Instant::now();
    while t.elapsed() < limit {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}
