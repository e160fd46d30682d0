//! Answers to reads, remembered until the workspace changes.
//!
//! Every GET of the graph, the nodes and search is a pure function of the
//! workspace as the server holds it (and of the acting member, for `@me`).
//! The server counts the changes it applies ([`App::generation`]); an
//! answer computed at one generation is served again, byte for byte, until
//! the next change. A change only ever bumps the count after the graph and
//! the search index hold it, and an answer is kept only if no change
//! happened while it was computed, so a remembered answer is never older
//! than what a fresh one would say.
//!
//! A single node's answer also reads more than the watcher holds — its
//! file (for the body and ETag) and its comments — which can be ahead of
//! the watcher. It is kept apart ([`Nodes`]) with the [`Stamp`] of every
//! file and directory it read, and served again only while the generation
//! and every stamp are unchanged; like git's index, a stamp counts only
//! when the file is older than the answer by more than the file system's
//! clock granularity (a file changed in the last
//! [`schema::store::RACY`] is not kept).
//!
//! Not remembered: conditional requests (`If-None-Match`) on the generic
//! routes, answers other than 200, git history and diffs, attachments.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::{Body, Bytes};
use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;

use schema::store::{Stamp, Store};

use crate::app::App;

/// Set on an answer served from memory (for operators and tests).
pub const MEMO: axum::http::HeaderName = axum::http::HeaderName::from_static("x-nonlinear-memo");

/// Answers kept at most; past it, the memory starts over.
const CAPACITY: usize = 4096;
/// Larger answers are not kept.
const MAX_BODY: usize = 4 << 20;

#[derive(Debug, Default)]
pub struct Memo {
    inner: Mutex<Inner>,
    pub nodes: Nodes,
}

/// Single nodes' answers by request URI, each with the stamps of what it
/// read.
#[derive(Debug, Default)]
pub struct Nodes {
    inner: Mutex<HashMap<String, Arc<NodeKept>>>,
}

#[derive(Debug)]
pub struct NodeKept {
    pub generation: u64,
    /// Workspace-relative files and directories read, each with its stamp
    /// taken before reading it (`None`: it was missing).
    pub read: Vec<(String, Option<Stamp>)>,
    pub body: Bytes,
    pub etag: Option<String>,
}

impl Nodes {
    /// The answer kept for `uri`, if the workspace is still at
    /// `generation` and nothing it read has changed.
    pub fn get(&self, store: &Store, uri: &str, generation: u64) -> Option<Arc<NodeKept>> {
        let kept = self.inner.lock().get(uri)?.clone();
        (kept.generation == generation && kept.read.iter().all(|(rel, s)| store.stamp(rel) == *s))
            .then_some(kept)
    }

    /// Keeps `kept` for `uri` unless the workspace changed while it was
    /// computed (`now` is the generation after) or a file it read is too
    /// recent for its stamp to prove anything.
    pub fn keep(&self, uri: String, kept: NodeKept, now: u64) {
        if kept.generation != now {
            return;
        }
        let horizon = Stamp::horizon_now();
        if kept
            .read
            .iter()
            .any(|(_, s)| s.is_some_and(|s| !s.settled_before(horizon)))
        {
            return;
        }
        let mut inner = self.inner.lock();
        if inner.len() >= CAPACITY {
            inner.clear();
        }
        inner.insert(uri, Arc::new(kept));
    }
}

#[derive(Debug, Default)]
struct Inner {
    generation: u64,
    answers: HashMap<(String, Option<HeaderValue>), Arc<Kept>>,
}

#[derive(Debug)]
struct Kept {
    headers: HeaderMap,
    body: Bytes,
}

fn cacheable(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/api/v1/") else {
        return false;
    };
    // Only answers computed from the watcher's state and the search index:
    // a node's own answer reads its file (body, ETag) and comments, which
    // can be ahead of the watcher — remembered, it could outlive an edit
    // the watcher then finds to be no change at all (saved and undone
    // within one debounce).
    rest == "project" || rest == "search" || rest == "nodes" || rest.starts_with("graph/")
}

pub async fn layer(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    // Under `nest`, the request's URI has lost the `/api/v1` prefix.
    let uri = req
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| req.uri().clone(), |o| o.0.clone());
    if req.method() != Method::GET
        || req.headers().contains_key(header::IF_NONE_MATCH)
        || !cacheable(uri.path())
    {
        return next.run(req).await;
    }
    let key = (
        uri.to_string(),
        req.headers().get(crate::api::ACTOR).cloned(),
    );
    let generation = app.generation.load(Ordering::Acquire);
    {
        let inner = app.memo.inner.lock();
        if inner.generation == generation
            && let Some(kept) = inner.answers.get(&key)
        {
            let kept = kept.clone();
            drop(inner);
            let mut r = (StatusCode::OK, kept.body.clone()).into_response();
            *r.headers_mut() = kept.headers.clone();
            r.headers_mut()
                .insert(MEMO, HeaderValue::from_static("hit"));
            return r;
        }
    }
    let res = next.run(req).await;
    if res.status() != StatusCode::OK {
        return res;
    }
    let (parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return crate::error::ApiError::internal("an answer exceeded 4 MB").into_response();
    };
    {
        let mut inner = app.memo.inner.lock();
        // Kept only when nothing changed while it was computed.
        if app.generation.load(Ordering::Acquire) == generation {
            if inner.generation != generation || inner.answers.len() >= CAPACITY {
                inner.answers.clear();
                inner.generation = generation;
            }
            inner.answers.insert(
                key,
                Arc::new(Kept {
                    headers: parts.headers.clone(),
                    body: bytes.clone(),
                }),
            );
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}
