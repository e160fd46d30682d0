//! Attachments: uploaded files in a content-addressed store (`sha256/<hex>`
//! plus a `sha256/<hex>.json` with the first name and type it was uploaded
//! with) — a local directory by default, an S3-compatible bucket when
//! configured. Both through `object_store`.
//!
//! What is accepted is decided by the bytes: the type is sniffed from the
//! content's magic numbers (`infer`) and must be on the allowlist, and it
//! must agree with the file name's extension, so an HTML page named
//! `.png` is refused. Text (UTF-8, no NUL) is accepted only under a text
//! extension and always served as `text/plain`. Names are only metadata —
//! never part of a storage path — and are cleaned of directories and
//! control characters.

use std::path::Path;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::StatusCode;
use object_store::ObjectStore;
use object_store::path::Path as ObjectPath;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Config;
use crate::error::ApiError;

/// Types accepted, with the extensions each may be uploaded under.
const ALLOWED: &[(&str, &[&str])] = &[
    ("image/png", &["png"]),
    ("image/jpeg", &["jpg", "jpeg"]),
    ("image/gif", &["gif"]),
    ("image/webp", &["webp"]),
    ("application/pdf", &["pdf"]),
    ("application/zip", &["zip"]),
    ("application/gzip", &["gz", "tgz"]),
];

/// Extensions of the text files accepted (served as `text/plain`).
const TEXT: &[&str] = &[
    "txt", "md", "markdown", "log", "csv", "json", "yaml", "yml", "diff", "patch",
];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Stored {
    /// Hex SHA-256 of the content: the attachment's id.
    pub sha256: String,
    /// The cleaned file name.
    pub name: String,
    pub mime_type: String,
    pub size: u64,
    /// Where to download it.
    pub url: String,
}

pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    pub backend: &'static str,
    limit: usize,
}

impl std::fmt::Debug for Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blobs")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Blobs {
    pub fn open(config: &Config, root: &Path) -> anyhow::Result<Blobs> {
        let (store, backend): (Arc<dyn ObjectStore>, _) = match &config.s3_bucket {
            Some(bucket) => {
                let mut b = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
                if let Some(e) = &config.s3_endpoint {
                    b = b
                        .with_endpoint(e)
                        .with_allow_http(e.starts_with("http://"))
                        .with_virtual_hosted_style_request(false);
                }
                if let Some(r) = &config.s3_region {
                    b = b.with_region(r);
                }
                if let (Some(k), Some(s)) = (&config.s3_access_key_id, &config.s3_secret_access_key)
                {
                    b = b.with_access_key_id(k).with_secret_access_key(s);
                }
                (Arc::new(b.build()?), "s3")
            }
            None => {
                let dir = root.join(&config.attachments_dir);
                std::fs::create_dir_all(&dir)?;
                // Blobs stay out of git (an object store is their home);
                // the artifacts that point at them are in git.
                let ignore = dir.join(".gitignore");
                if !ignore.exists() {
                    std::fs::write(&ignore, "*\n")?;
                }
                (
                    Arc::new(object_store::local::LocalFileSystem::new_with_prefix(&dir)?),
                    "local",
                )
            }
        };
        Ok(Blobs {
            store,
            backend,
            limit: config.upload_limit,
        })
    }

    /// Checks and stores one upload.
    pub async fn put(&self, name: &str, bytes: Bytes) -> Result<Stored, ApiError> {
        if bytes.is_empty() {
            return Err(ApiError::invalid(Some("file"), "the file is empty"));
        }
        if bytes.len() > self.limit {
            return Err(too_large(self.limit));
        }
        let name = clean_name(name);
        let mime = sniff(&name, &bytes)?;
        let sha = hex(&Sha256::digest(&bytes));
        let stored = Stored {
            url: format!("/api/v1/attachments/{sha}"),
            sha256: sha.clone(),
            name,
            mime_type: mime.to_owned(),
            size: bytes.len() as u64,
        };
        let meta_path = ObjectPath::from(format!("sha256/{sha}.json"));
        // Content-addressed: the same bytes are stored once; the first
        // upload's name and type stay.
        if let Ok(existing) = self.store.get(&meta_path).await
            && let Ok(b) = existing.bytes().await
            && let Ok(s) = serde_json::from_slice::<Stored>(&b)
        {
            return Ok(s);
        }
        self.store
            .put(&ObjectPath::from(format!("sha256/{sha}")), bytes.into())
            .await
            .map_err(ApiError::internal)?;
        let meta = serde_json::to_vec(&stored).map_err(ApiError::internal)?;
        self.store
            .put(&meta_path, Bytes::from(meta).into())
            .await
            .map_err(ApiError::internal)?;
        Ok(stored)
    }

    /// One attachment and its bytes.
    pub async fn get(&self, sha: &str) -> Result<(Stored, Bytes), ApiError> {
        if sha.len() != 64
            || !sha
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return Err(ApiError::not_found(format!("no attachment {sha}")));
        }
        let missing = |e: object_store::Error| match e {
            object_store::Error::NotFound { .. } => {
                ApiError::not_found(format!("no attachment {sha}"))
            }
            e => ApiError::internal(e),
        };
        let meta = self
            .store
            .get(&ObjectPath::from(format!("sha256/{sha}.json")))
            .await
            .map_err(missing)?
            .bytes()
            .await
            .map_err(ApiError::internal)?;
        let meta: Stored = serde_json::from_slice(&meta).map_err(ApiError::internal)?;
        let bytes = self
            .store
            .get(&ObjectPath::from(format!("sha256/{sha}")))
            .await
            .map_err(missing)?
            .bytes()
            .await
            .map_err(ApiError::internal)?;
        Ok((meta, bytes))
    }
}

pub fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("attachments are limited to {} MB", limit >> 20),
    )
}

/// The type of `bytes`, if it is allowed under `name`'s extension.
fn sniff(name: &str, bytes: &[u8]) -> Result<&'static str, ApiError> {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let refuse = |m: String| {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            m,
        )
        .with_detail(Some("file"), "type not allowed or not what the name says"))
    };
    if let Some(kind) = infer::get(bytes) {
        let mime = kind.mime_type();
        return match ALLOWED.iter().find(|(m, _)| *m == mime) {
            Some((m, exts)) if exts.contains(&ext.as_str()) => Ok(m),
            Some((m, exts)) => refuse(format!(
                "the content is {m}, but the name `{name}` says otherwise (expected .{})",
                exts.join(" or .")
            )),
            None => refuse(format!("{mime} files are not accepted")),
        };
    }
    let text = !bytes.contains(&0) && std::str::from_utf8(bytes).is_ok();
    if text && TEXT.contains(&ext.as_str()) {
        return Ok("text/plain");
    }
    if text {
        return refuse(format!(
            "the content is text, which is accepted only as .{}; `{name}` is not",
            TEXT.join(", .")
        ));
    }
    refuse("the content's type is not recognized; accepted: images (png, jpeg, gif, webp), pdf, zip, gzip and text".into())
}

/// A file name without directories, control characters or characters
/// that are trouble in a `Content-Disposition` header; `file` if nothing
/// is left.
pub fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | ':' | '|' | '?' | '*' | ';'))
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    let mut out: String = cleaned.chars().take(200).collect();
    if out.is_empty() {
        out = "file".into();
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(clean_name("../../x"), "x");
        assert_eq!(clean_name("..\\..\\evil.png"), "evil.png");
        assert_eq!(clean_name("a\u{0}b\nc.txt"), "abc.txt");
        assert_eq!(clean_name(".."), "file");
        assert_eq!(clean_name(""), "file");
        assert_eq!(clean_name(".bashrc"), "bashrc");
        assert_eq!(clean_name("report \"final\".pdf"), "report final.pdf");
    }

    #[test]
    fn types_by_content() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(sniff("a.png", png).ok(), Some("image/png"));
        assert!(sniff("a.jpg", png).is_err());
        assert!(sniff("a.png", b"<html><script>alert(1)</script></html>").is_err());
        assert!(sniff("a.html", b"<html></html>").is_err());
        assert_eq!(sniff("notes.md", b"# hi").ok(), Some("text/plain"));
        assert!(sniff("a.bin", b"\x00\x01\x02").is_err());
    }
}
