//! Comments: threads, replies, edits by their author, reactions.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use indexer::write;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::api::{AppState, actor, if_match, node_detail, run_write};
use crate::error::{ApiError, ApiResult, Json, Path};

/// The comment thread of a node: oldest first, replies nested.
#[utoipa::path(get, path = "/api/v1/nodes/{id}/comments", tag = "comments",
    params(("id" = String, Path, description = "Short id, component key or UUID", example = "NL-96kc")),
    responses(
        (status = 200, description = "`{items}`", body = Object),
        (status = 404, description = "No such node", body = crate::error::ErrorEnvelope)))]
pub async fn list(State(app): AppState, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let (v, _) = node_detail(&app, &id)?;
    Ok(Json(
        json!({"items": v.get("comments").cloned().unwrap_or(json!([]))}),
    ))
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    /// Markdown.
    pub body: String,
    /// The comment answered (its UUID), on the same node.
    pub reply_to: Option<String>,
}

fn comment_json(app: &crate::app::App, path: &str) -> ApiResult<(Value, String)> {
    let bytes = app
        .store
        .read(path)
        .map_err(|_| ApiError::not_found(format!("comment file {path} is gone")))?;
    let etag = write::etag(&bytes);
    let (item, _) = schema::parse::parse_item(path, schema::Kind::Comment, &bytes);
    let item = item.ok_or_else(|| ApiError::internal(format!("{path} does not parse")))?;
    let mut v = indexer::json::detail(&item, None);
    if let Some(m) = v.as_object_mut() {
        m.insert("etag".into(), json!(etag));
    }
    Ok((v, etag))
}

fn answer(
    app: &crate::app::App,
    done: &crate::app::Done<write::Written>,
    status: StatusCode,
) -> ApiResult<Response> {
    let (mut v, etag) = comment_json(app, &done.value.path)?;
    if let Some(m) = v.as_object_mut() {
        m.insert("commit".into(), json!(done.commit));
    }
    let mut r = (status, Json(v)).into_response();
    if let Ok(e) = HeaderValue::from_str(&etag) {
        r.headers_mut().insert(header::ETAG, e);
    }
    Ok(r)
}

/// Comments on a node (or replies to a comment on it) as the acting
/// member, who is required.
#[utoipa::path(post, path = "/api/v1/nodes/{id}/comments", tag = "comments", request_body = NewComment,
    params(("id" = String, Path, description = "Short id, component key or UUID", example = "NL-96kc"),
        ("x-nonlinear-actor" = Option<String>, Header, description = "Acting member's handle (required)", example = "ana")),
    responses(
        (status = 201, description = "The comment", body = Object),
        (status = 403, description = "No acting member", body = crate::error::ErrorEnvelope),
        (status = 404, description = "No such node or comment", body = crate::error::ErrorEnvelope),
        (status = 422, description = "Empty", body = crate::error::ErrorEnvelope)))]
pub async fn add(
    State(app): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(b): Json<NewComment>,
) -> ApiResult<Response> {
    let me = actor(&app, &headers)?;
    let on = id.clone();
    let done = run_write(
        &app,
        me,
        move |_: &write::Written| format!("nonlinear: comment on {on}"),
        move |w| w.comment(&id, &b.body, b.reply_to.as_deref()),
    )
    .await?;
    answer(&app, &done, StatusCode::CREATED)
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditComment {
    pub body: String,
}

/// Edits a comment's text; only its author may. With `If-Match`, refused
/// when it changed since.
#[utoipa::path(patch, path = "/api/v1/comments/{comment}", tag = "comments", request_body = EditComment,
    params(("comment" = String, Path, description = "The comment's UUID"),
        ("if-match" = Option<String>, Header, description = "ETag of the comment"),
        ("x-nonlinear-actor" = Option<String>, Header, description = "Acting member's handle (the author)", example = "ana")),
    responses(
        (status = 200, description = "The comment", body = Object),
        (status = 403, description = "Not the author", body = crate::error::ErrorEnvelope),
        (status = 404, description = "No such comment", body = crate::error::ErrorEnvelope),
        (status = 409, description = "Stale If-Match", body = crate::error::ErrorEnvelope),
        (status = 422, description = "Empty", body = crate::error::ErrorEnvelope)))]
pub async fn edit(
    State(app): AppState,
    Path(comment): Path<String>,
    headers: HeaderMap,
    Json(b): Json<EditComment>,
) -> ApiResult<Response> {
    let me = actor(&app, &headers)?;
    let expect = if_match(&headers)?;
    let c = comment.clone();
    let done = run_write(
        &app,
        me,
        move |_: &write::Written| format!("nonlinear: edit comment {c}"),
        move |w| w.edit_comment(&comment, &b.body, expect.as_deref()),
    )
    .await?;
    answer(&app, &done, StatusCode::OK)
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct React {
    /// An emoji name: `+1`, `rocket`, `eyes`, …
    pub emoji: String,
}

/// Adds the acting member's reaction.
#[utoipa::path(post, path = "/api/v1/comments/{comment}/reactions", tag = "comments", request_body = React,
    params(("comment" = String, Path, description = "The comment's UUID"),
        ("x-nonlinear-actor" = Option<String>, Header, description = "Acting member's handle (required)", example = "ana")),
    responses(
        (status = 200, description = "The comment", body = Object),
        (status = 403, description = "No acting member", body = crate::error::ErrorEnvelope),
        (status = 404, description = "No such comment", body = crate::error::ErrorEnvelope),
        (status = 422, description = "Not an emoji name", body = crate::error::ErrorEnvelope)))]
pub async fn react(
    State(app): AppState,
    Path(comment): Path<String>,
    headers: HeaderMap,
    Json(b): Json<React>,
) -> ApiResult<Response> {
    let me = actor(&app, &headers)?;
    let c = comment.clone();
    let done = run_write(
        &app,
        me,
        move |_: &write::Written| format!("nonlinear: react on comment {c}"),
        move |w| w.react(&comment, &b.emoji),
    )
    .await?;
    answer(&app, &done, StatusCode::OK)
}

/// Takes the acting member's reaction back.
#[utoipa::path(delete, path = "/api/v1/comments/{comment}/reactions/{emoji}", tag = "comments",
    params(("comment" = String, Path, description = "The comment's UUID"), ("emoji" = String, Path, description = "The emoji name"),
        ("x-nonlinear-actor" = Option<String>, Header, description = "Acting member's handle (required)", example = "ana")),
    responses(
        (status = 200, description = "The comment", body = Object),
        (status = 403, description = "No acting member", body = crate::error::ErrorEnvelope),
        (status = 404, description = "No such comment", body = crate::error::ErrorEnvelope)))]
pub async fn unreact(
    State(app): AppState,
    Path((comment, emoji)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let me = actor(&app, &headers)?;
    let c = comment.clone();
    let done = run_write(
        &app,
        me,
        move |_: &write::Written| format!("nonlinear: unreact on comment {c}"),
        move |w| w.remove_reaction(&comment, &emoji),
    )
    .await?;
    answer(&app, &done, StatusCode::OK)
}
