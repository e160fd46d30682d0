//! The HTTP API under `/api/v1`: handlers over the [`App`].
//!
//! Reads answer from the watched graph (and the files, for what the graph
//! does not hold: bodies, comments, ETags); writes go through
//! [`App::write`]. Node references in paths are short ids, component
//! keys or UUIDs, any case.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use indexer::graph::{Graph, NodeKind};
use indexer::json;
use indexer::write::{self, NewArtifact, NewComponent, NewIssue, NewItem};
use petgraph::Direction;
use petgraph::stable_graph::NodeIndex;
use petgraph::visit::EdgeRef;
use schema::model::{ArtifactKind, Fields, Item, Kind};
use schema::parse;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::app::{App, Done};
use crate::error::{ApiError, ApiResult, Json, Path, Query};

pub type AppState = State<Arc<App>>;

/// The header naming the acting member (until authentication exists).
pub const ACTOR: &str = "x-nonlinear-actor";

/// The acting member named by the request, if any; an unknown one is 422.
pub fn actor(app: &App, headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(v) = headers.get(ACTOR) else {
        return Ok(None);
    };
    let handle = v
        .to_str()
        .map_err(|_| ApiError::bad_request(format!("{ACTOR} is not readable text")))?
        .trim()
        .trim_start_matches('@');
    if handle.is_empty() {
        return Ok(None);
    }
    let live = app.live.read();
    match live.graph().config().and_then(|c| c.member(handle)) {
        Some(m) => Ok(Some(m.handle.clone())),
        None => Err(ApiError::invalid(
            Some(ACTOR),
            format!("`{handle}` is not a member of this workspace"),
        )),
    }
}

pub fn if_match(headers: &HeaderMap) -> ApiResult<Option<String>> {
    headers
        .get(header::IF_MATCH)
        .map(|v| {
            v.to_str()
                .map(|s| s.trim().to_owned())
                .map_err(|_| ApiError::bad_request("If-Match is not readable text"))
        })
        .transpose()
        .map(|v| v.filter(|s| s != "*"))
}

/// The commit summary `nonlinear: VERB KEY` of a write on one item.
pub fn summary_of(verb: &'static str) -> impl FnOnce(&write::Written) -> String + Send + 'static {
    move |w| {
        format!(
            "nonlinear: {verb} {}",
            w.short_id.as_deref().unwrap_or(&w.path)
        )
    }
}

/// Runs a write on the blocking pool.
pub async fn run_write<T: crate::app::Wrote + Send + 'static>(
    app: &Arc<App>,
    actor: Option<String>,
    summary: impl FnOnce(&T) -> String + Send + 'static,
    op: impl FnOnce(&write::Writer) -> Result<T, write::WriteError> + Send + 'static,
) -> ApiResult<Done<T>> {
    let app = app.clone();
    let id = crate::error::request_id();
    tokio::task::spawn_blocking(move || {
        crate::error::REQUEST_ID.sync_scope(id, || app.write(actor.as_deref(), summary, op))
    })
    .await
    .map_err(ApiError::internal)?
}

fn not_found(reference: &str) -> ApiError {
    ApiError::not_found(format!("no item {reference} in this workspace"))
}

fn find(g: &Graph, reference: &str) -> ApiResult<NodeIndex> {
    g.find(reference).ok_or_else(|| not_found(reference))
}

/// `{kind, key, title, id}` of a node.
fn summary(g: &Graph, n: NodeIndex) -> Value {
    let node = g.node(n);
    let mut v =
        json!({"kind": node.kind.as_str(), "key": node.key, "title": node.title, "id": node.id()});
    if let Some(i) = node.item.as_ref().and_then(|i| i.issue())
        && let (Some(m), Some(s)) = (v.as_object_mut(), &i.status)
    {
        m.insert("status".into(), json!(s.value));
    }
    v
}

fn with_etag(mut r: Response, etag: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(etag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

// ---------------------------------------------------------------------
// Project

/// The workspace: project, workflow, labels, priorities, members, cycles.
#[utoipa::path(get, path = "/api/v1/project", tag = "project",
    responses((status = 200, description = "The project and its config", body = Object)))]
pub async fn project(State(app): AppState) -> ApiResult<Json<Value>> {
    let live = app.live.read();
    let g = live.graph();
    let count = |k: NodeKind| g.nodes_of(k).count();
    let mut v = json!({
        "counts": {
            "components": count(NodeKind::Component),
            "issues": count(NodeKind::Issue),
            "artifacts": count(NodeKind::Artifact),
        },
        "live": {"epoch": app.hub.epoch()},
        "committing": app.git.is_some(),
        "attachments": app.blobs.backend,
    });
    if let (Some(c), Some(m)) = (g.config(), v.as_object_mut()) {
        m.insert("key".into(), json!(c.key));
        m.insert("name".into(), json!(c.name));
        m.insert(
            "statuses".into(),
            c.statuses
                .iter()
                .map(|s| json!({"key": s.key, "name": s.name, "category": s.category.as_str()}))
                .collect(),
        );
        m.insert(
            "labels".into(),
            c.labels
                .iter()
                .map(|l| json!({"name": l.name, "color": l.color, "description": l.description}))
                .collect(),
        );
        m.insert(
            "priorities".into(),
            c.priorities
                .iter()
                .map(|p| json!({"value": p.value, "name": p.name}))
                .collect(),
        );
        m.insert(
            "members".into(),
            c.members
                .iter()
                .map(|p| json!({"handle": p.handle, "name": p.name, "email": p.email, "kind": p.kind}))
                .collect(),
        );
        m.insert(
            "cycles".into(),
            c.cycles
                .iter()
                .map(|p| json!({"key": p.key, "name": p.name, "starts": p.starts.map(|d| d.to_string()), "ends": p.ends.map(|d| d.to_string())}))
                .collect(),
        );
    }
    Ok(Json(v))
}

// ---------------------------------------------------------------------
// Nodes: read

/// A node with its context: parent, children, links by layer, artifacts,
/// comments, progress, description as Markdown and sanitized HTML.
#[utoipa::path(get, path = "/api/v1/nodes/{id}", tag = "nodes",
    params(("id" = String, Path, description = "Short id, component key or UUID", example = "NL-96kc")),
    responses(
        (status = 200, description = "The node; its ETag in the header and the body", body = Object),
        (status = 304, description = "Unchanged (If-None-Match)"),
        (status = 404, description = "No such node", body = crate::error::ErrorEnvelope)))]
pub async fn get_node(
    State(app): AppState,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let uri = uri.to_string();
    let generation = app.generation.load(std::sync::atomic::Ordering::Acquire);
    let (body, etag, hit) = match app.memo.nodes.get(&app.store, &uri, generation) {
        Some(kept) => (kept.body.clone(), kept.etag.clone(), true),
        None => {
            let mut read = Vec::new();
            let (v, etag) = node_detail_reading(&app, &id, &mut read)?;
            let body = axum::body::Bytes::from(serde_json::to_vec(&v).map_err(ApiError::internal)?);
            app.memo.nodes.keep(
                uri,
                crate::memo::NodeKept {
                    generation,
                    read,
                    body: body.clone(),
                    etag: etag.clone(),
                },
                app.generation.load(std::sync::atomic::Ordering::Acquire),
            );
            (body, etag, false)
        }
    };
    if let Some(etag) = &etag
        && headers
            .get(header::IF_NONE_MATCH)
            .and_then(|h| h.to_str().ok())
            .is_some_and(|h| h.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        return Ok(with_etag(StatusCode::NOT_MODIFIED.into_response(), etag));
    }
    let mut r = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response();
    if hit {
        r.headers_mut()
            .insert(crate::memo::MEMO, HeaderValue::from_static("hit"));
    }
    Ok(match etag {
        Some(e) => with_etag(r, &e),
        None => r,
    })
}

/// The detail JSON of a node and the ETag of its file.
pub fn node_detail(app: &App, reference: &str) -> ApiResult<(Value, Option<String>)> {
    node_detail_reading(app, reference, &mut Vec::new())
}

/// [`node_detail`], adding each file and directory it reads to `read`
/// with its stamp from before reading it.
fn node_detail_reading(
    app: &App,
    reference: &str,
    read: &mut Vec<(String, Option<schema::store::Stamp>)>,
) -> ApiResult<(Value, Option<String>)> {
    let live = app.live.read();
    let g = live.graph();
    let n = find(g, reference)?;
    let node = g.node(n);
    let Some(item) = &node.item else {
        // The project and cycles have no file.
        let mut v = summary(g, n);
        if let Some(m) = v.as_object_mut() {
            m.insert(
                "issues".into(),
                g.inner()
                    .edges_directed(n, Direction::Outgoing)
                    .map(|e| summary(g, e.target()))
                    .collect(),
            );
        }
        return Ok((v, None));
    };
    read.push((item.path.clone(), app.store.stamp(&item.path)));
    let bytes = match app.store.read(&item.path) {
        Ok(b) => b,
        Err(_) => return Err(not_found(reference)),
    };
    let etag = write::etag(&bytes);
    let fresh = parse::parse_item(&item.path, item.kind(), &bytes).0;
    let item = fresh.as_ref().unwrap_or(item);
    let mut v = json::detail(item, g.config());
    let Some(m) = v.as_object_mut() else {
        return Ok((v, Some(etag)));
    };
    m.insert("etag".into(), json!(etag));
    m.insert(
        "parent_node".into(),
        g.parent(n).map_or(Value::Null, |p| summary(g, p)),
    );
    let mut children = Vec::new();
    let mut artifacts = Vec::new();
    let mut links: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (dir, name) in [(Direction::Outgoing, "out"), (Direction::Incoming, "in")] {
        for e in g.inner().edges_directed(n, dir) {
            let other = if dir == Direction::Outgoing {
                e.target()
            } else {
                e.source()
            };
            let w = e.weight();
            match (w.kind, dir) {
                (indexer::graph::EdgeKind::HasChild, Direction::Outgoing) => {
                    children.push(summary(g, other));
                }
                (indexer::graph::EdgeKind::HasChild, _) => {}
                (indexer::graph::EdgeKind::HasArtifact, Direction::Outgoing) => {
                    artifacts.push(json::node(g, other));
                }
                _ => {
                    let mut s = summary(g, other);
                    if let Some(o) = s.as_object_mut() {
                        o.insert("type".into(), json!(w.kind));
                        o.insert("direction".into(), json!(name));
                        o.insert("layer".into(), json!(w.layer));
                        o.insert("source".into(), json!(w.source));
                    }
                    links
                        .entry(format!("layer{}", w.layer))
                        .or_default()
                        .push(s);
                }
            }
        }
    }
    children.sort_by(|a, b| a["key"].as_str().cmp(&b["key"].as_str()));
    m.insert("children".into(), children.into());
    m.insert("artifacts".into(), artifacts.into());
    m.insert("links".into(), json!(links));
    m.insert("progress".into(), json!(json::progress_of(g, n)));
    if matches!(item.kind(), Kind::Issue | Kind::Component) {
        m.insert(
            "comments".into(),
            item.id
                .as_ref()
                .map_or_else(Vec::new, |id| comments_of(app, id.value, g, read))
                .into(),
        );
    }
    Ok((v, Some(etag)))
}

/// The comments on item `id`, oldest first, each with its `replies`.
fn comments_of(
    app: &App,
    id: uuid::Uuid,
    g: &Graph,
    read: &mut Vec<(String, Option<schema::store::Stamp>)>,
) -> Vec<Value> {
    let dir = format!("{}/{id}", parse::COMMENTS_DIR);
    read.push((dir.clone(), app.store.stamp(&dir)));
    let Ok(entries) = std::fs::read_dir(app.store.path(&dir)) else {
        return Vec::new();
    };
    let mut all: Vec<Item> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            if name.starts_with('.') || !name.ends_with(".md") {
                return None;
            }
            let rel = format!("{dir}/{name}");
            read.push((rel.clone(), app.store.stamp(&rel)));
            let bytes = app.store.read(&rel).ok()?;
            parse::parse_item(&rel, Kind::Comment, &bytes).0
        })
        .collect();
    all.sort_by(|a, b| {
        created(a)
            .cmp(&created(b))
            .then_with(|| a.path.cmp(&b.path))
    });
    let mut by_parent: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut roots = Vec::new();
    for c in all.iter().rev() {
        let id =
            c.id.as_ref()
                .map(|i| i.value.to_string())
                .unwrap_or_default();
        let mut v = json::detail(c, g.config());
        if let Some(m) = v.as_object_mut() {
            m.insert(
                "replies".into(),
                by_parent
                    .remove(&id)
                    .map(|mut r| {
                        r.reverse();
                        r
                    })
                    .unwrap_or_default()
                    .into(),
            );
        }
        let reply_to = match &c.fields {
            Fields::Comment(f) => f.reply_to.as_ref().map(|r| r.value.clone()),
            _ => None,
        };
        match reply_to {
            Some(r)
                if all
                    .iter()
                    .any(|o| o.id.as_ref().is_some_and(|i| i.value.to_string() == r)) =>
            {
                by_parent.entry(r).or_default().push(v);
            }
            _ => roots.push(v),
        }
    }
    roots.reverse();
    roots
}

fn created(c: &Item) -> Option<String> {
    match &c.fields {
        Fields::Comment(f) => f.created_at.as_ref().map(|t| t.value.to_string()),
        _ => None,
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// A filter in the grammar of `nonlinear list`
    /// (`status:started label:bug -label:wontfix "text"`).
    pub q: Option<String>,
    /// Page size (1–500, default 50).
    pub limit: Option<usize>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// Components, issues and artifacts matching a filter, in path order, a
/// page at a time.
#[utoipa::path(get, path = "/api/v1/nodes", tag = "nodes", params(ListParams),
    responses(
        (status = 200, description = "`{items, next_cursor}`", body = Object),
        (status = 400, description = "Malformed filter or cursor", body = crate::error::ErrorEnvelope)))]
pub async fn list_nodes(
    State(app): AppState,
    Query(p): Query<ListParams>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let me = actor(&app, &headers)?;
    let filter = filter(p.q.as_deref())?;
    let limit = p.limit.unwrap_or(50).clamp(1, 500);
    let after = match &p.cursor {
        Some(c) => Some(decode_cursor(c)?),
        None => None,
    };
    let live = app.live.read();
    let g = live.graph();
    let scope = indexer::GraphScope {
        graph: g,
        me: me.as_deref(),
    };
    let mut items = Vec::with_capacity(limit);
    let mut next = None;
    for item in live.items() {
        if after
            .as_ref()
            .is_some_and(|a| item.path.as_str() <= a.as_str())
        {
            continue;
        }
        if !filter.matches(item, &scope) {
            continue;
        }
        if items.len() == limit {
            next = items
                .last()
                .and_then(|v: &Value| v["path"].as_str())
                .map(encode_cursor);
            break;
        }
        items.push(json::item(item, g.config()));
    }
    // Moved in: `json!` would copy every item through serialization.
    let mut m = serde_json::Map::new();
    m.insert("items".into(), items.into());
    m.insert("next_cursor".into(), next.into());
    Ok(Json(Value::Object(m)))
}

/// The `q` parameter as a filter (400 with the problem when it is not one).
pub fn filter(q: Option<&str>) -> ApiResult<schema::filter::Filter> {
    schema::filter::Filter::parse(q.unwrap_or("")).map_err(|e| {
        ApiError::bad_request(format!("bad filter: {e}")).with_detail(Some("q"), e.to_string())
    })
}

fn encode_cursor(path: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(path)
}

fn decode_cursor(c: &str) -> ApiResult<String> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            ApiError::bad_request("the cursor is not one this server gave")
                .with_detail(Some("cursor"), "malformed")
        })
}

// ---------------------------------------------------------------------
// Nodes: write

/// A string or a number (priorities, estimates).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Scalar {
    Text(String),
    Number(f64),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Scalar::Text(s) => s.clone(),
            Scalar::Number(n) => n.to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CreateKind {
    Issue,
    Component,
    Artifact,
}

/// A new component, issue or artifact. Which fields apply depends on
/// `kind`; the others are refused.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateNode {
    pub kind: CreateKind,
    pub title: String,
    pub description: Option<String>,
    /// Issues: a status key or name (default: the workflow's first).
    pub status: Option<String>,
    /// Issues: 0–4 or none/urgent/high/medium/low.
    pub priority: Option<Scalar>,
    #[serde(default)]
    pub labels: Vec<String>,
    pub assignee: Option<String>,
    /// Issues: a component or issue; components: a component.
    pub parent: Option<String>,
    pub cycle: Option<String>,
    pub estimate: Option<Scalar>,
    /// Issues: YYYY-MM-DD.
    pub due: Option<String>,
    /// Components: the key (default: from the title).
    pub key: Option<String>,
    /// Components: the code path.
    pub path: Option<String>,
    pub owner: Option<String>,
    /// Artifacts: link, file or embed.
    pub artifact_kind: Option<String>,
    pub url: Option<String>,
    /// Artifacts of kind file: the repository path.
    pub file: Option<String>,
    /// Artifacts: the items it is attached to.
    #[serde(default)]
    pub on: Vec<String>,
    pub mime_type: Option<String>,
}

fn refuse_fields(kind: &str, fields: &[(&str, bool)]) -> ApiResult<()> {
    for (name, present) in fields {
        if *present {
            return Err(ApiError::invalid(
                Some(name),
                format!("`{name}` does not apply to {kind}"),
            ));
        }
    }
    Ok(())
}

fn new_item(c: CreateNode) -> ApiResult<NewItem> {
    Ok(match c.kind {
        CreateKind::Issue => {
            refuse_fields(
                "an issue",
                &[
                    ("key", c.key.is_some()),
                    ("path", c.path.is_some()),
                    ("owner", c.owner.is_some()),
                    ("artifact_kind", c.artifact_kind.is_some()),
                    ("url", c.url.is_some()),
                    ("file", c.file.is_some()),
                    ("on", !c.on.is_empty()),
                    ("mime_type", c.mime_type.is_some()),
                ],
            )?;
            NewItem::Issue(NewIssue {
                title: c.title,
                status: c.status,
                priority: c.priority.map(|p| p.text()),
                labels: c.labels,
                assignee: c.assignee,
                parent: c.parent,
                cycle: c.cycle,
                estimate: c.estimate.map(|p| p.text()),
                due: c.due,
                body: c.description.unwrap_or_default(),
            })
        }
        CreateKind::Component => {
            refuse_fields(
                "a component",
                &[
                    ("status", c.status.is_some()),
                    ("priority", c.priority.is_some()),
                    ("assignee", c.assignee.is_some()),
                    ("cycle", c.cycle.is_some()),
                    ("estimate", c.estimate.is_some()),
                    ("due", c.due.is_some()),
                    ("artifact_kind", c.artifact_kind.is_some()),
                    ("url", c.url.is_some()),
                    ("file", c.file.is_some()),
                    ("on", !c.on.is_empty()),
                    ("mime_type", c.mime_type.is_some()),
                ],
            )?;
            NewItem::Component(NewComponent {
                title: c.title,
                key: c.key,
                path: c.path,
                parent: c.parent,
                owner: c.owner,
                labels: c.labels,
                body: c.description.unwrap_or_default(),
            })
        }
        CreateKind::Artifact => {
            refuse_fields(
                "an artifact",
                &[
                    ("status", c.status.is_some()),
                    ("priority", c.priority.is_some()),
                    ("assignee", c.assignee.is_some()),
                    ("cycle", c.cycle.is_some()),
                    ("estimate", c.estimate.is_some()),
                    ("due", c.due.is_some()),
                    ("key", c.key.is_some()),
                    ("path", c.path.is_some()),
                    ("owner", c.owner.is_some()),
                    ("parent", c.parent.is_some()),
                    ("labels", !c.labels.is_empty()),
                    ("description", c.description.is_some()),
                ],
            )?;
            NewItem::Artifact(NewArtifact {
                title: c.title,
                kind: artifact_kind(c.artifact_kind.as_deref())?,
                url: c.url,
                file: c.file,
                on: c.on,
                mime_type: c.mime_type,
            })
        }
    })
}

pub fn artifact_kind(k: Option<&str>) -> ApiResult<ArtifactKind> {
    match k.unwrap_or("link") {
        "link" => Ok(ArtifactKind::Link),
        "file" => Ok(ArtifactKind::File),
        "embed" => Ok(ArtifactKind::Embed),
        other => Err(ApiError::invalid(
            Some("artifact_kind"),
            format!("artifact_kind is link, file or embed; got `{other}`"),
        )),
    }
}

/// The answer to a write: the node as it is now, with its ETag, and the
/// commit made.
pub fn written(
    app: &App,
    reference: &str,
    status: StatusCode,
    commit: Option<String>,
) -> ApiResult<Response> {
    let (mut v, etag) = node_detail(app, reference)?;
    if let Some(m) = v.as_object_mut() {
        m.insert("commit".into(), json!(commit));
    }
    let r = (status, Json(v)).into_response();
    Ok(match etag {
        Some(e) => with_etag(r, &e),
        None => r,
    })
}

/// Creates a component, issue or artifact; committed as the acting member.
#[utoipa::path(post, path = "/api/v1/nodes", tag = "nodes", request_body = CreateNode,
    params(("x-nonlinear-actor" = Option<String>, Header, description = "Acting member's handle", example = "ana")),
    responses(
        (status = 201, description = "Created; the node as GET returns it", body = Object),
        (status = 400, description = "Malformed", body = crate::error::ErrorEnvelope),
        (status = 409, description = "Key already used", body = crate::error::ErrorEnvelope),
        (status = 422, description = "Invalid value", body = crate::error::ErrorEnvelope)))]
pub async fn create_node(
    State(app): AppState,
    headers: HeaderMap,
    Json(body): Json<CreateNode>,
) -> ApiResult<Response> {
    let me = actor(&app, &headers)?;
    let new = new_item(body)?;
    let done = run_write(&app, me, summary_of("create"), move |w| w.create(new)).await?;
    let key = done
        .value
        .short_id
        .clone()
        .unwrap_or_else(|| done.value.path.clone());
    let mut r = written(&app, &key, StatusCode::CREATED, done.commit)?;
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/nodes/{key}")) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(r)
}

/// Fields to change: any of `title`, `status`, `assignee`, `labels`,
/// `priority`, `estimate`, `parent`, `cycle`, `due` (issues); `title`,
/// `labels`, `owner`, `parent` (components); `title`, `url` (artifacts);
/// and `description` (the Markdown body). `null` clears a field;
/// `labels` takes the new list, or a string `+a,-b` of changes.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // The handler reads the body as a map; this documents it.
pub struct UpdateNode {
    title: Option<String>,
    status: Option<String>,
    assignee: Option<String>,
    labels: Option<Vec<String>>,
    priority: Option<Scalar>,
    estimate: Option<Scalar>,
    parent: Option<String>,
    cycle: Option<String>,
    due: Option<String>,
    owner: Option<String>,
    url: Option<String>,
    description: Option<String>,
}

/// A JSON value as the writer reads a field value.
fn field_text(field: &str, v: &Value) -> ApiResult<String> {
    Ok(match v {
        Value::Null => "none".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) if field == "labels" => {
            let names: Vec<&str> = a
                .iter()
                .map(|x| {
                    x.as_str().ok_or_else(|| {
                        ApiError::invalid(Some("labels"), "labels is a list of label names")
                    })
                })
                .collect::<ApiResult<_>>()?;
            if names.is_empty() {
                "none".into()
            } else {
                names.join(",")
            }
        }
        _ => {
            return Err(ApiError::invalid(
                Some(field),
                format!("`{field}` takes a string, a number or null"),
            ));
        }
    })
}

/// Changes fields and/or the description. With `If-Match`, refused (409)
/// when the file changed since that ETag.
#[utoipa::path(patch, path = "/api/v1/nodes/{id}", tag = "nodes", request_body = UpdateNode,
    params(("id" = String, Path, description = "Short id, component key or UUID", example = "NL-96kc"),
        ("if-match" = Option<String>, Header, description = "ETag from GET"),
        ("x-nonlinear-actor" = Option<String>, Header, description = "Acting member's handle", example = "ana")),
    responses(
        (status = 200, description = "The node after the change", body = Object),
        (status = 404, description = "No such node", body = crate::error::ErrorEnvelope),
        (status = 409, description = "Stale If-Match", body = crate::error::ErrorEnvelope),
        (status = 422, description = "Invalid value", body = crate::error::ErrorEnvelope)))]
pub async fn update_node(
    State(app): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Map<String, Value>>,
) -> ApiResult<Response> {
    let me = actor(&app, &headers)?;
    let expect = if_match(&headers)?;
    const FIELDS: &[&str] = &[
        "title",
        "status",
        "assignee",
        "labels",
        "priority",
        "estimate",
        "parent",
        "cycle",
        "due",
        "owner",
        "url",
        "description",
    ];
    let mut pairs = Vec::new();
    let mut description = None;
    for (k, v) in &body {
        if !FIELDS.contains(&k.as_str()) {
            return Err(ApiError::invalid(
                Some(k),
                format!("unknown field `{k}`; fields are {}", FIELDS.join(", ")),
            ));
        }
        if k == "description" {
            description = Some(match v {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                _ => {
                    return Err(ApiError::invalid(
                        Some("description"),
                        "description is a string (Markdown)",
                    ));
                }
            });
        } else {
            pairs.push((k.clone(), field_text(k, v)?));
        }
    }
    if pairs.is_empty() && description.is_none() {
        return Err(ApiError::invalid(
            None,
            "nothing to change: name at least one field",
        ));
    }
    let target = id.clone();
    let done = run_write(&app, me, summary_of("update"), move |w| {
        let mut out: Option<write::Written> = None;
        if !pairs.is_empty() {
            out = Some(w.set(&target, &pairs, expect.as_deref())?);
        }
        if let Some(d) = description {
            // The second edit is checked against the first's result.
            let tag = out.as_ref().and_then(|o| o.etag.clone()).or(expect);
            let more = w.set_body(&target, &d, tag.as_deref())?;
            out = Some(match out {
                Some(mut o) => {
                    o.changes.extend(more.changes);
                    o.files.extend(more.files);
                    o.etag = more.etag;
                    o
                }
                None => more,
            });
        }
        out.ok_or_else(|| write::WriteError::Invalid {
            field: None,
            message: "nothing to change".into(),
        })
    })
    .await?;
    let key = done.value.short_id.clone().unwrap_or(id);
    written(&app, &key, StatusCode::OK, done.commit)
}

/// Deletes a node: its file, its comments, and the links other items hold
/// to it. Refused while it has children.
#[utoipa::path(delete, path = "/api/v1/nodes/{id}", tag = "nodes",
    params(("id" = String, Path, description = "Short id, component key or UUID", example = "NL-96kc"),
        ("if-match" = Option<String>, Header, description = "ETag from GET")),
    responses(
        (status = 200, description = "Deleted: `{deleted, files, commit}`", body = Object),
        (status = 404, description = "No such node", body = crate::error::ErrorEnvelope),
        (status = 409, description = "Stale If-Match", body = crate::error::ErrorEnvelope),
        (status = 422, description = "Has children", body = crate::error::ErrorEnvelope)))]
pub async fn delete_node(
    State(app): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let me = actor(&app, &headers)?;
    let expect = if_match(&headers)?;
    let target = id.clone();
    let done = run_write(&app, me, summary_of("delete"), move |w| {
        w.delete(&target, expect.as_deref())
    })
    .await?;
    Ok(Json(json!({
        "deleted": done.value.short_id.unwrap_or(id),
        "files": done.value.files.iter().map(|f| f.path.clone()).collect::<Vec<_>>(),
        "commit": done.commit,
    })))
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveNode {
    /// The new parent (a component, or an issue for a sub-issue); `null`
    /// to detach.
    pub parent: Option<String>,
}

/// Reparents a node.
#[utoipa::path(post, path = "/api/v1/nodes/{id}/move", tag = "nodes", request_body = MoveNode,
    params(("id" = String, Path, description = "Short id, component key or UUID", example = "NL-96kc"),
        ("if-match" = Option<String>, Header, description = "ETag from GET")),
    responses(
        (status = 200, description = "The node after the move", body = Object),
        (status = 404, description = "No such node", body = crate::error::ErrorEnvelope),
        (status = 409, description = "Stale If-Match", body = crate::error::ErrorEnvelope),
        (status = 422, description = "Wrong kind of parent, or a cycle", body = crate::error::ErrorEnvelope)))]
pub async fn move_node(
    State(app): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<MoveNode>,
) -> ApiResult<Response> {
    let me = actor(&app, &headers)?;
    let expect = if_match(&headers)?;
    let target = id.clone();
    let parent = body.parent.unwrap_or_else(|| "none".into());
    let done = run_write(&app, me, summary_of("move"), move |w| {
        w.set(&target, &[("parent".into(), parent)], expect.as_deref())
    })
    .await?;
    let key = done.value.short_id.clone().unwrap_or(id);
    written(&app, &key, StatusCode::OK, done.commit)
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameNode {
    /// The new short id (or component key).
    pub to: String,
}

/// Renames a short id, rewriting every reference to it.
#[utoipa::path(post, path = "/api/v1/nodes/{id}/rename", tag = "nodes", request_body = RenameNode,
    params(("id" = String, Path, description = "Short id, component key or UUID", example = "NL-96kc")),
    responses(
        (status = 200, description = "The node under its new id", body = Object),
        (status = 404, description = "No such node", body = crate::error::ErrorEnvelope),
        (status = 409, description = "The id is taken", body = crate::error::ErrorEnvelope),
        (status = 422, description = "Not a valid id", body = crate::error::ErrorEnvelope)))]
pub async fn rename_node(
    State(app): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<RenameNode>,
) -> ApiResult<Response> {
    let me = actor(&app, &headers)?;
    let to = body.to;
    let (from, new) = (id.clone(), to.clone());
    let done = run_write(
        &app,
        me,
        move |_: &write::Written| format!("nonlinear: rename {id} to {to}"),
        move |w| w.rename(&from, &new),
    )
    .await?;
    let key = done
        .value
        .short_id
        .clone()
        .unwrap_or(done.value.path.clone());
    written(&app, &key, StatusCode::OK, done.commit)
}
