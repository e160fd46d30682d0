//! The graph engine's queries, search, and history from git.

use axum::extract::State;
use axum::http::HeaderMap;
use indexer::query;
use indexer::search::SearchQuery;
use petgraph::stable_graph::NodeIndex;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;

use crate::api::{AppState, actor};
use crate::error::{ApiError, ApiResult, Json, Path, Query};

fn find(g: &indexer::Graph, reference: &str, what: &str) -> ApiResult<NodeIndex> {
    g.find(reference).ok_or_else(|| {
        ApiError::not_found(format!("no item {reference} in this workspace"))
            .with_detail(Some(what), "no such node")
    })
}

fn layers(spec: Option<&str>) -> ApiResult<Vec<u8>> {
    let Some(spec) = spec else {
        return Ok(Vec::new());
    };
    spec.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| match s.parse::<u8>() {
            Ok(l @ 1..=4) => Ok(l),
            _ => Err(ApiError::bad_request(format!(
                "layers takes 1, 2, 3 and 4, comma-separated; found `{s}`"
            ))
            .with_detail(Some("layers"), "not a layer")),
        })
        .collect()
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TreeParams {
    /// The subtree's root (default: the project).
    pub root: Option<String>,
    /// Comma-separated layers to show (1 components, 2 issues, 3 code
    /// links, 4 artifacts); default all.
    pub layers: Option<String>,
    /// Levels below the root (default: all, bounded).
    pub depth: Option<usize>,
}

/// The decomposition tree with progress roll-ups.
#[utoipa::path(get, path = "/api/v1/graph/tree", tag = "graph", params(TreeParams),
    responses((status = 200, description = "The tree", body = Object),
        (status = 400, description = "Bad layers", body = crate::error::ErrorEnvelope),
        (status = 404, description = "No such root", body = crate::error::ErrorEnvelope)))]
pub async fn tree(State(app): AppState, Query(p): Query<TreeParams>) -> ApiResult<Json<Value>> {
    let layers = layers(p.layers.as_deref())?;
    let live = app.live.read();
    let g = live.graph();
    let root = match &p.root {
        Some(r) => find(g, r, "root")?,
        None => g.project(),
    };
    Ok(Json(indexer::json::tree(
        g,
        &query::tree(g, root, &layers, p.depth),
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReadyParams {
    /// Only below this component or issue.
    pub under: Option<String>,
    /// A filter in the grammar of `nonlinear list`.
    pub q: Option<String>,
    /// At most this many (default 50, at most 500).
    pub limit: Option<usize>,
}

/// Ready work: open issues with no open sub-issues and no open blockers,
/// most urgent first.
#[utoipa::path(get, path = "/api/v1/graph/ready", tag = "graph", params(ReadyParams),
    responses((status = 200, description = "`{total, items}`", body = Object),
        (status = 400, description = "Bad filter", body = crate::error::ErrorEnvelope),
        (status = 404, description = "No such node", body = crate::error::ErrorEnvelope)))]
pub async fn ready(
    State(app): AppState,
    Query(p): Query<ReadyParams>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let me = actor(&app, &headers)?;
    let filter = crate::api::filter(p.q.as_deref())?;
    let live = app.live.read();
    let g = live.graph();
    let under = p
        .under
        .as_deref()
        .map(|u| find(g, u, "under"))
        .transpose()?;
    let scope = indexer::GraphScope {
        graph: g,
        me: me.as_deref(),
    };
    let mut issues: Vec<NodeIndex> = query::ready_unordered(g, under);
    if !filter.is_empty() {
        issues.retain(|&n| {
            g.node(n)
                .item
                .as_ref()
                .is_some_and(|i| filter.matches(i, &scope))
        });
    }
    let total = issues.len();
    query::first_for_work(g, &mut issues, p.limit.unwrap_or(50).clamp(1, 500));
    Ok(Json(indexer::json::page(g, &issues, total)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BlockedParams {
    /// Only this issue's chain.
    pub of: Option<String>,
}

/// Blocked issues with their chains of open blockers.
#[utoipa::path(get, path = "/api/v1/graph/blocked", tag = "graph", params(BlockedParams),
    responses((status = 200, description = "Blocked issues", body = [Object]),
        (status = 404, description = "No such node", body = crate::error::ErrorEnvelope)))]
pub async fn blocked(
    State(app): AppState,
    Query(p): Query<BlockedParams>,
) -> ApiResult<Json<Value>> {
    let live = app.live.read();
    let g = live.graph();
    let of = p.of.as_deref().map(|r| find(g, r, "of")).transpose()?;
    Ok(Json(indexer::json::blocked(g, &query::blocked(g, of))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnderParams {
    /// Only below this component or issue.
    pub under: Option<String>,
}

/// The critical path through BLOCKS, weighted by estimate, with slack.
#[utoipa::path(get, path = "/api/v1/graph/critical-path", tag = "graph", params(UnderParams),
    responses((status = 200, description = "The path and schedule", body = Object),
        (status = 404, description = "No such node", body = crate::error::ErrorEnvelope)))]
pub async fn critical_path(
    State(app): AppState,
    Query(p): Query<UnderParams>,
) -> ApiResult<Json<Value>> {
    let live = app.live.read();
    let g = live.graph();
    let under = p
        .under
        .as_deref()
        .map(|u| find(g, u, "under"))
        .transpose()?;
    Ok(Json(indexer::json::critical_path(
        g,
        &query::critical_path(g, under),
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NearParams {
    /// How far (default 1, at most 6).
    pub hops: Option<usize>,
    /// Comma-separated layers to follow; default all.
    pub layers: Option<String>,
}

/// The k-hop neighbourhood of a node.
#[utoipa::path(get, path = "/api/v1/graph/near/{id}", tag = "graph",
    params(("id" = String, Path, description = "Short id, component key or UUID", example = "NL-96kc"), NearParams),
    responses((status = 200, description = "Nodes with their distance", body = [Object]),
        (status = 400, description = "Bad layers", body = crate::error::ErrorEnvelope),
        (status = 404, description = "No such node", body = crate::error::ErrorEnvelope)))]
pub async fn near(
    State(app): AppState,
    Path(id): Path<String>,
    Query(p): Query<NearParams>,
) -> ApiResult<Json<Value>> {
    let layers = layers(p.layers.as_deref())?;
    let live = app.live.read();
    let g = live.graph();
    let start = find(g, &id, "id")?;
    let found = query::near(g, start, p.hops.unwrap_or(1).min(6), &layers);
    Ok(Json(indexer::json::near(g, &found)))
}

/// Components that depend on this one through Layer 3 (transitively) and
/// their open issues.
#[utoipa::path(get, path = "/api/v1/graph/impact/{id}", tag = "graph",
    params(("id" = String, Path, description = "A component", example = "AUTH")),
    responses((status = 200, description = "Dependents and issues", body = Object),
        (status = 404, description = "No such node", body = crate::error::ErrorEnvelope),
        (status = 422, description = "Not a component", body = crate::error::ErrorEnvelope)))]
pub async fn impact(State(app): AppState, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let live = app.live.read();
    let g = live.graph();
    let c = find(g, &id, "id")?;
    if g.node(c).kind != indexer::graph::NodeKind::Component {
        return Err(ApiError::invalid(
            Some("id"),
            format!("{id} is not a component"),
        ));
    }
    Ok(Json(indexer::json::impact(g, c, &query::impact(g, c))))
}

/// Every cycle in BLOCKS and HAS_CHILD.
#[utoipa::path(get, path = "/api/v1/graph/cycles", tag = "graph",
    responses((status = 200, description = "Cycles", body = [Object])))]
pub async fn cycles(State(app): AppState) -> ApiResult<Json<Value>> {
    let live = app.live.read();
    let g = live.graph();
    Ok(Json(indexer::json::cycles(g, &query::cycles(g))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Words and filters (`lgoin redirct status:open`); typos forgiven,
    /// the last word matched as a prefix.
    pub q: String,
    /// Page size (default 20, at most 100).
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

/// Typo-tolerant search over issues, components, artifacts and comments,
/// with facets and highlights.
#[utoipa::path(get, path = "/api/v1/search", tag = "search", params(SearchParams),
    responses((status = 200, description = "`{hits, total, facets, literal, words}`", body = Object)))]
pub async fn search(
    State(app): AppState,
    Query(p): Query<SearchParams>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let me = actor(&app, &headers)?;
    let live = app.live.read();
    let index = app.search.read();
    let results = index.search(
        &SearchQuery {
            text: &p.q,
            me: me.as_deref(),
            limit: p.limit.unwrap_or(20).clamp(1, 100),
            offset: p.offset.unwrap_or(0).min(10_000),
            ..SearchQuery::new(&p.q)
        },
        live.graph(),
    );
    let mut v = serde_json::to_value(&results).map_err(ApiError::internal)?;
    if let Some(m) = v.as_object_mut() {
        m.insert("took_ms".into(), json!(results.took.as_secs_f64() * 1e3));
    }
    Ok(Json(v))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// Start from this revision (default HEAD).
    pub rev: Option<String>,
}

/// Field-level history of a node from git: commit, author, date, field,
/// before → after, following renames.
#[utoipa::path(get, path = "/api/v1/nodes/{id}/history", tag = "history",
    params(("id" = String, Path, description = "Short id, component key or UUID", example = "NL-96kc"), HistoryParams),
    responses((status = 200, description = "The history", body = Object),
        (status = 404, description = "No such node, revision or repository", body = crate::error::ErrorEnvelope)))]
pub async fn history(
    State(app): AppState,
    Path(id): Path<String>,
    Query(p): Query<HistoryParams>,
) -> ApiResult<Json<Value>> {
    let root = app.root.clone();
    let rev = p.rev.unwrap_or_else(|| "HEAD".into());
    let log = tokio::task::spawn_blocking(move || indexer::git::log(&root, &rev, &id))
        .await
        .map_err(ApiError::internal)?
        .map_err(git_error)?;
    Ok(Json(
        serde_json::to_value(&log).map_err(ApiError::internal)?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiffParams {
    pub from: String,
    /// Default HEAD.
    pub to: Option<String>,
}

/// The semantic diff between two revisions: items created and removed,
/// field changes, links by layer, check problems introduced and fixed.
#[utoipa::path(get, path = "/api/v1/diff", tag = "history", params(DiffParams),
    responses((status = 200, description = "The diff", body = Object),
        (status = 404, description = "No such revision or repository", body = crate::error::ErrorEnvelope)))]
pub async fn diff(State(app): AppState, Query(p): Query<DiffParams>) -> ApiResult<Json<Value>> {
    let root = app.root.clone();
    let to = p.to.unwrap_or_else(|| "HEAD".into());
    let d = tokio::task::spawn_blocking(move || indexer::git::diff_revs(&root, &p.from, &to))
        .await
        .map_err(ApiError::internal)?
        .map_err(git_error)?;
    Ok(Json(json!({
        "from": d.from,
        "to": d.to,
        "files": d.files,
        "diff": d.diff,
    })))
}

/// Git errors the client caused (a revision that is not there, no
/// repository) are 404; the rest are internal.
fn git_error(e: indexer::git::GitError) -> ApiError {
    use indexer::git::GitError as G;
    match &e {
        G::Rev { rev, .. } => ApiError::not_found(format!("`{rev}` is not a commit here")),
        G::Open { .. } => ApiError::not_found("the workspace is not in a git repository"),
        G::NoWorkspace { rev, .. } => {
            ApiError::not_found(format!("there is no workspace at {rev}"))
        }
        G::NoItem { reference, rev } => {
            ApiError::not_found(format!("no item {reference} at {rev}"))
        }
        _ => ApiError::internal(e),
    }
}
