//! Uploads: the type from the bytes, the size limit, names cleaned.

use reqwest::multipart::{Form, Part};
use serde_json::json;

use crate::support::{Answer, Server, Ws};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\0\0\0\0IEND\xaeB`\x82";

async fn upload(s: &Server, name: &str, bytes: Vec<u8>, declared: &str) -> Answer {
    let part = Part::bytes(bytes)
        .file_name(name.to_owned())
        .mime_str(declared)
        .expect("mime");
    let res = s
        .client
        .post(s.url("/api/v1/attachments"))
        .multipart(Form::new().part("file", part))
        .send()
        .await
        .expect("upload");
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.expect("body");
    Answer {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or_default(),
        text,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_checked_by_content() {
    let s = Server::start(Ws::demo()).await;
    let ok = upload(&s, "../../nl-escape-test.png", PNG.to_vec(), "image/png").await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    assert_eq!(
        ok.body["name"], "nl-escape-test.png",
        "directories are dropped"
    );
    assert_eq!(ok.body["mime_type"], "image/png");
    let sha = ok.body["sha256"].as_str().expect("sha").to_owned();
    // Nothing escaped the store.
    let up = s.ws.dir.path().parent().expect("parent");
    assert!(!up.join("nl-escape-test.png").exists());
    assert!(
        !up.parent()
            .expect("grandparent")
            .join("nl-escape-test.png")
            .exists()
    );
    let get = s
        .client
        .get(s.url(&format!("/api/v1/attachments/{sha}")))
        .send()
        .await
        .expect("get");
    assert_eq!(get.status(), 200);
    assert_eq!(get.headers()["content-type"], "image/png");
    assert!(
        get.headers()["content-disposition"]
            .to_str()
            .expect("cd")
            .starts_with("attachment; filename=\"nl-escape-test.png\"")
    );
    assert_eq!(get.headers()["x-content-type-options"], "nosniff");
    assert_eq!(get.bytes().await.expect("bytes").as_ref(), PNG);

    // An HTML page dressed as a PNG, whatever the client declares.
    upload(
        &s,
        "cat.png",
        b"<html><script>alert(1)</script></html>".to_vec(),
        "image/png",
    )
    .await
    .error(415, "unsupported_media_type");
    upload(&s, "page.html", b"<html></html>".to_vec(), "text/html")
        .await
        .error(415, "unsupported_media_type");
    upload(&s, "a.jpg", PNG.to_vec(), "image/jpeg")
        .await
        .error(415, "unsupported_media_type");
    // Control characters in the name are dropped (a tab is the one HTTP
    // lets through in a header).
    let t = upload(&s, "notes\t.md", b"# Notes\n".to_vec(), "text/markdown").await;
    assert_eq!(t.status, 201, "{}", t.text);
    assert_eq!(t.body["name"], "notes.md");
    assert_eq!(t.body["mime_type"], "text/plain");
    upload(&s, "empty.png", Vec::new(), "image/png")
        .await
        .error(422, "validation_failed");
    let mut big = PNG.to_vec();
    big.resize(25 * 1024 * 1024 + 1, 0);
    upload(&s, "big.png", big, "image/png")
        .await
        .error(413, "payload_too_large");
    s.get("/api/v1/attachments/0000")
        .await
        .error(404, "not_found");
    s.get(&format!("/api/v1/attachments/{}", "a".repeat(64)))
        .await
        .error(404, "not_found");
    let none = s
        .client
        .post(s.url("/api/v1/attachments"))
        .multipart(Form::new().text("other", "x"))
        .send()
        .await
        .expect("send");
    assert_eq!(none.status(), 400);

    // Attached to an issue as an artifact.
    let a = s
        .post(
            "/api/v1/nodes/NL-96kc/artifacts",
            json!({"title": "Screenshot", "attachment": sha}),
            Some("ana"),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.body["url"], format!("/api/v1/attachments/{sha}").as_str());
    assert_eq!(a.body["mime_type"], "image/png");
    s.stop().await;
}

/// An S3-compatible server (moto's, from PyPI; `tests/run` installs it) on
/// a free port, stopped when dropped.
struct S3 {
    child: std::process::Child,
    endpoint: String,
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn s3() -> Option<S3> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("addr")
        .port();
    let child = match std::process::Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            // CI installs it (tests/run); only a bare `cargo test` may lack it.
            assert!(
                std::env::var_os("CI").is_none(),
                "moto_server is needed for the S3 test: {e}"
            );
            eprintln!("SKIPPED: moto_server not installed (pip install 'moto[server]')");
            return None;
        }
    };
    let s3 = S3 {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.get(&s3.endpoint).send().await.is_ok() {
            return Some(s3);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("moto_server did not start");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_in_an_s3_bucket() {
    let Some(s3) = s3().await else { return };
    let client = reqwest::Client::new();
    let made = client
        .put(format!("{}/nonlinear-attachments", s3.endpoint))
        .send()
        .await
        .expect("create bucket");
    assert!(made.status().is_success(), "{}", made.status());
    let ws = Ws::demo();
    let mut config = ws.config();
    config.s3_bucket = Some("nonlinear-attachments".into());
    config.s3_endpoint = Some(s3.endpoint.clone());
    config.s3_region = Some("us-east-1".into());
    config.s3_access_key_id = Some("test".into());
    config.s3_secret_access_key = Some("test".into());
    let s = Server::start_with(ws, config).await;
    assert_eq!(s.get("/api/v1/project").await.body["attachments"], "s3");
    let ok = upload(&s, "shot.png", PNG.to_vec(), "image/png").await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    let sha = ok.body["sha256"].as_str().expect("sha").to_owned();
    // In the bucket, not on disk: another server over another workspace,
    // sharing only the bucket, serves it.
    assert!(!s.ws.path(".nonlinear/attachments").exists());
    let other_ws = Ws::demo();
    let mut other_config = other_ws.config();
    other_config.s3_bucket = Some("nonlinear-attachments".into());
    other_config.s3_endpoint = Some(s3.endpoint.clone());
    other_config.s3_region = Some("us-east-1".into());
    other_config.s3_access_key_id = Some("test".into());
    other_config.s3_secret_access_key = Some("test".into());
    let other = Server::start_with(other_ws, other_config).await;
    let get = other
        .client
        .get(other.url(&format!("/api/v1/attachments/{sha}")))
        .send()
        .await
        .expect("get");
    assert_eq!(get.status(), 200);
    assert_eq!(get.headers()["content-type"], "image/png");
    assert_eq!(get.bytes().await.expect("bytes").as_ref(), PNG);
    other.stop().await;
    s.get(&format!("/api/v1/attachments/{}", "b".repeat(64)))
        .await
        .error(404, "not_found");
    s.stop().await;
}
