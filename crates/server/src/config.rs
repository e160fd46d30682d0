//! Server configuration: defaults, then a TOML file, then `NONLINEAR_*`
//! environment variables, then command-line flags (the CLI applies those).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Everything `serve` can be told. Field names are the TOML keys; each has
/// an environment variable `NONLINEAR_<KEY>` (upper case).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The workspace (or any directory inside it).
    pub workspace: PathBuf,
    /// Where to listen. Loopback by default: until authentication exists,
    /// anyone who can reach the port can write.
    pub bind: SocketAddr,
    /// Commit every API write to git (when the workspace is in a git
    /// repository).
    pub commit: bool,
    /// Origins allowed to call the API from a browser (CORS). Empty: same
    /// origin only.
    pub cors_origins: Vec<String>,
    /// Largest JSON request body, in bytes.
    pub body_limit: usize,
    /// Largest attachment, in bytes.
    pub upload_limit: usize,
    /// A request that takes longer is answered 503 (a write in progress
    /// still finishes and commits).
    pub request_timeout_ms: u64,
    /// How long a file must be quiet before an outside edit is picked up.
    pub debounce_ms: u64,
    /// Send `Strict-Transport-Security` (set when a TLS proxy is in front).
    pub hsts: bool,
    /// `json` (one object per line) or `text`.
    pub log_format: String,
    /// Local directory of the attachment store (content-addressed). Relative
    /// paths are relative to the workspace root.
    pub attachments_dir: PathBuf,
    /// An S3-compatible bucket for attachments instead of the directory;
    /// credentials come from the usual `AWS_*` variables.
    pub s3_bucket: Option<String>,
    /// The S3 endpoint (MinIO: `http://127.0.0.1:9000`).
    pub s3_endpoint: Option<String>,
    pub s3_region: Option<String>,
    /// S3 credentials; without them the usual `AWS_*` variables apply.
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key: Option<String>,
    /// Per-connection WebSocket send queue; a client that falls this far
    /// behind is disconnected (it reconnects with its offsets).
    pub ws_queue: usize,
    /// Events kept per channel for clients that reconnect.
    pub replay: usize,
    /// A Postgres mirror to keep in sync in the background
    /// (`docs/mirrors.md`); none by default.
    pub postgres_url: Option<String>,
    /// A Neo4j mirror (`bolt://[user:password@]host:port`) to keep in sync
    /// the same way; none by default.
    pub neo4j_url: Option<String>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            workspace: PathBuf::from("."),
            bind: SocketAddr::from(([127, 0, 0, 1], 7373)),
            commit: true,
            cors_origins: Vec::new(),
            body_limit: 1 << 20,
            upload_limit: 25 << 20,
            request_timeout_ms: 30_000,
            debounce_ms: 20,
            hsts: false,
            log_format: "json".into(),
            attachments_dir: PathBuf::from(".nonlinear/attachments"),
            s3_bucket: None,
            s3_endpoint: None,
            s3_region: None,
            s3_access_key_id: None,
            s3_secret_access_key: None,
            ws_queue: 1024,
            replay: 1024,
            postgres_url: None,
            neo4j_url: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("${var}: {message}")]
    Env { var: String, message: String },
}

impl Config {
    /// Defaults, overridden by `file` (when given) and then by the
    /// environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
                    path: path.to_owned(),
                    message: e.to_string(),
                })?;
                toml::from_str(&text).map_err(|e| ConfigError::File {
                    path: path.to_owned(),
                    message: e.to_string(),
                })?
            }
            None => Config::default(),
        };
        config.apply_env(|k| std::env::var(k).ok())?;
        Ok(config)
    }

    /// Applies `NONLINEAR_*` variables as `get` returns them.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(var: &str, v: &str) -> Result<T, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            v.trim().parse().map_err(|e: T::Err| ConfigError::Env {
                var: var.to_owned(),
                message: format!("`{v}`: {e}"),
            })
        }
        let var = |k: &str| get(&format!("NONLINEAR_{k}")).filter(|v| !v.is_empty());
        if let Some(v) = var("WORKSPACE") {
            self.workspace = v.into();
        }
        if let Some(v) = var("BIND") {
            self.bind = parse("NONLINEAR_BIND", &v)?;
        }
        if let Some(v) = var("COMMIT") {
            self.commit = parse("NONLINEAR_COMMIT", &v)?;
        }
        if let Some(v) = var("CORS_ORIGINS") {
            self.cors_origins = v
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect();
        }
        if let Some(v) = var("BODY_LIMIT") {
            self.body_limit = parse("NONLINEAR_BODY_LIMIT", &v)?;
        }
        if let Some(v) = var("UPLOAD_LIMIT") {
            self.upload_limit = parse("NONLINEAR_UPLOAD_LIMIT", &v)?;
        }
        if let Some(v) = var("REQUEST_TIMEOUT_MS") {
            self.request_timeout_ms = parse("NONLINEAR_REQUEST_TIMEOUT_MS", &v)?;
        }
        if let Some(v) = var("DEBOUNCE_MS") {
            self.debounce_ms = parse("NONLINEAR_DEBOUNCE_MS", &v)?;
        }
        if let Some(v) = var("HSTS") {
            self.hsts = parse("NONLINEAR_HSTS", &v)?;
        }
        if let Some(v) = var("LOG_FORMAT") {
            self.log_format = v;
        }
        if let Some(v) = var("ATTACHMENTS_DIR") {
            self.attachments_dir = v.into();
        }
        if let Some(v) = var("POSTGRES_URL") {
            self.postgres_url = Some(v);
        }
        if let Some(v) = var("NEO4J_URL") {
            self.neo4j_url = Some(v);
        }
        if let Some(v) = var("S3_BUCKET") {
            self.s3_bucket = Some(v);
        }
        if let Some(v) = var("S3_ENDPOINT") {
            self.s3_endpoint = Some(v);
        }
        if let Some(v) = var("S3_REGION") {
            self.s3_region = Some(v);
        }
        if let Some(v) = var("S3_ACCESS_KEY_ID") {
            self.s3_access_key_id = Some(v);
        }
        if let Some(v) = var("S3_SECRET_ACCESS_KEY") {
            self.s3_secret_access_key = Some(v);
        }
        if let Some(v) = var("WS_QUEUE") {
            self.ws_queue = parse("NONLINEAR_WS_QUEUE", &v)?;
        }
        if let Some(v) = var("REPLAY") {
            self.replay = parse("NONLINEAR_REPLAY", &v)?;
        }
        Ok(())
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_env() {
        let mut c: Config =
            toml::from_str("bind = \"0.0.0.0:9000\"\ncommit = false\n").expect("valid");
        assert_eq!(c.bind.port(), 9000);
        assert!(!c.commit);
        c.apply_env(|k| match k {
            "NONLINEAR_BIND" => Some("127.0.0.1:1234".into()),
            "NONLINEAR_CORS_ORIGINS" => Some("https://a.example, https://b.example".into()),
            _ => None,
        })
        .expect("valid");
        assert_eq!(c.bind.port(), 1234);
        assert_eq!(c.cors_origins.len(), 2);
        let e = c
            .apply_env(|k| (k == "NONLINEAR_COMMIT").then(|| "maybe".into()))
            .expect_err("invalid");
        assert!(e.to_string().contains("NONLINEAR_COMMIT"), "{e}");
        let e = toml::from_str::<Config>("bnid = 1").expect_err("invalid");
        assert!(e.to_string().contains("bnid"), "{e}");
    }
}
