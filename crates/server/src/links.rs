//! Links (Layer 2 and manual Layer 3), artifacts (Layer 4) and attachment
//! uploads.

use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use indexer::write::{self, NewArtifact, NewItem};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::api::{AppState, actor, artifact_kind, run_write, summary_of};
use crate::error::{ApiError, ApiResult, Json, Path, Query};

/// A link between two nodes.
#[derive(Debug, Clone, Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LinkBody {
    pub from: String,
    /// `blocks`, `blocked_by`, `relates_to`, `duplicates` (issues);
    /// `depends_on`, `imports`, `calls_api`, `shares_db` (components);
    /// `attached_to` (artifact → node).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: String,
    pub to: String,
}

fn linked_json(l: &write::Linked, commit: Option<String>) -> Value {
    json!({
        "changed": l.changed,
        "source": l.source,
        "link": l.field.key(),
        "type": l.field.edge(),
        "layer": l.field.layer(),
        "target": l.target,
        "path": l.path,
        "commit": commit,
    })
}

/// Adds a link; answers 201 when it is new, 200 when it was there.
#[utoipa::path(post, path = "/api/v1/links", tag = "links", request_body = LinkBody,
    responses(
        (status = 201, description = "Linked", body = Object),
        (status = 200, description = "Already linked", body = Object),
        (status = 404, description = "No such node", body = crate::error::ErrorEnvelope),
        (status = 422, description = "Wrong kinds, unknown type, self link or a cycle", body = crate::error::ErrorEnvelope)))]
pub async fn add_link(
    State(app): AppState,
    headers: HeaderMap,
    Json(b): Json<LinkBody>,
) -> ApiResult<Response> {
    let me = actor(&app, &headers)?;
    let done = run_write(
        &app,
        me,
        |l: &write::Linked| {
            format!(
                "nonlinear: link {} {} {}",
                l.source,
                l.field.key(),
                l.target
            )
        },
        move |w| w.link(&b.from, &b.kind, &b.to),
    )
    .await?;
    let status = if done.value.changed {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(linked_json(&done.value, done.commit))).into_response())
}

/// Removes a link (any spelling of the reference in the file).
#[utoipa::path(delete, path = "/api/v1/links", tag = "links", params(LinkBody),
    responses(
        (status = 200, description = "Unlinked, or was not linked (`changed`)", body = Object),
        (status = 404, description = "No such node", body = crate::error::ErrorEnvelope),
        (status = 422, description = "Unknown type or wrong kinds", body = crate::error::ErrorEnvelope)))]
pub async fn remove_link(
    State(app): AppState,
    headers: HeaderMap,
    Query(b): Query<LinkBody>,
) -> ApiResult<Json<Value>> {
    let me = actor(&app, &headers)?;
    let done = run_write(
        &app,
        me,
        |l: &write::Linked| {
            format!(
                "nonlinear: unlink {} {} {}",
                l.source,
                l.field.key(),
                l.target
            )
        },
        move |w| w.unlink(&b.from, &b.kind, &b.to),
    )
    .await?;
    Ok(Json(linked_json(&done.value, done.commit)))
}

/// An artifact to attach: a link or embed (`url`), a repository file
/// (`file`), or an uploaded attachment (`attachment`, its sha256).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachArtifact {
    pub title: String,
    /// link, file or embed (default: link; embed for an attachment).
    pub kind: Option<String>,
    pub url: Option<String>,
    pub file: Option<String>,
    pub attachment: Option<String>,
    pub mime_type: Option<String>,
}

/// Creates an artifact attached to the node.
#[utoipa::path(post, path = "/api/v1/nodes/{id}/artifacts", tag = "artifacts", request_body = AttachArtifact,
    params(("id" = String, Path, description = "Short id, component key or UUID", example = "NL-96kc")),
    responses(
        (status = 201, description = "The artifact", body = Object),
        (status = 404, description = "No such node or attachment", body = crate::error::ErrorEnvelope),
        (status = 422, description = "Invalid", body = crate::error::ErrorEnvelope)))]
pub async fn attach_artifact(
    State(app): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(b): Json<AttachArtifact>,
) -> ApiResult<Response> {
    let me = actor(&app, &headers)?;
    let (mut url, mut mime, mut kind) = (b.url, b.mime_type, b.kind);
    if let Some(sha) = &b.attachment {
        if url.is_some() || b.file.is_some() {
            return Err(ApiError::invalid(
                Some("attachment"),
                "give one of url, file and attachment",
            ));
        }
        let (meta, _) = app.blobs.get(sha).await?;
        url = Some(meta.url);
        mime = mime.or(Some(meta.mime_type));
        kind = kind.or(Some("embed".into()));
    }
    let new = NewItem::Artifact(NewArtifact {
        title: b.title,
        kind: artifact_kind(kind.as_deref())?,
        url,
        file: b.file,
        on: vec![id],
        mime_type: mime,
    });
    let done = run_write(&app, me, summary_of("attach"), move |w| w.create(new)).await?;
    let key = done
        .value
        .short_id
        .clone()
        .unwrap_or(done.value.path.clone());
    crate::api::written(&app, &key, StatusCode::CREATED, done.commit)
}

/// Detaches an artifact from the node; an artifact attached to nothing
/// else is deleted.
#[utoipa::path(delete, path = "/api/v1/nodes/{id}/artifacts/{artifact}", tag = "artifacts",
    params(("id" = String, Path, description = "The node"), ("artifact" = String, Path, description = "The artifact")),
    responses(
        (status = 200, description = "`{removed, deleted, commit}`", body = Object),
        (status = 404, description = "No such node or artifact", body = crate::error::ErrorEnvelope),
        (status = 422, description = "Not an artifact of this node", body = crate::error::ErrorEnvelope)))]
pub async fn remove_artifact(
    State(app): AppState,
    Path((id, artifact)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let me = actor(&app, &headers)?;
    let targets = {
        let live = app.live.read();
        let g = live.graph();
        let a = g
            .find(&artifact)
            .ok_or_else(|| ApiError::not_found(format!("no artifact {artifact}")))?;
        let n = g
            .find(&id)
            .ok_or_else(|| ApiError::not_found(format!("no item {id} in this workspace")))?;
        let attached: Vec<_> = g
            .incoming(a, indexer::graph::EdgeKind::HasArtifact)
            .collect();
        if !attached.contains(&n) {
            return Err(ApiError::invalid(
                Some("artifact"),
                format!("{artifact} is not attached to {id}"),
            ));
        }
        attached.len()
    };
    let (a2, id2) = (artifact.clone(), id.clone());
    let done = if targets > 1 {
        let d = run_write(
            &app,
            me,
            |l: &write::Linked| format!("nonlinear: detach {} from {}", l.source, l.target),
            move |w| w.unlink(&a2, "attached_to", &id2),
        )
        .await?;
        (false, d.commit)
    } else {
        let d = run_write(&app, me, summary_of("delete"), move |w| w.delete(&a2, None)).await?;
        (true, d.commit)
    };
    Ok(Json(
        json!({"removed": artifact, "from": id, "deleted": done.0, "commit": done.1}),
    ))
}

/// Uploads one file (multipart field `file`). Its type is sniffed from the
/// content and must be allowed and agree with the name; at most the
/// upload limit (25 MB by default).
#[utoipa::path(post, path = "/api/v1/attachments", tag = "attachments",
    request_body(content_type = "multipart/form-data", content = Object, description = "One part named `file`"),
    responses(
        (status = 201, description = "Stored", body = crate::attach::Stored),
        (status = 400, description = "No file part", body = crate::error::ErrorEnvelope),
        (status = 413, description = "Too large", body = crate::error::ErrorEnvelope),
        (status = 415, description = "Type not allowed or disguised", body = crate::error::ErrorEnvelope),
        (status = 422, description = "Empty", body = crate::error::ErrorEnvelope)))]
pub async fn upload(State(app): AppState, mut form: Multipart) -> ApiResult<Response> {
    let limit = app.config.upload_limit;
    loop {
        let field = form.next_field().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                crate::attach::too_large(limit)
            } else {
                ApiError::bad_request(format!("malformed multipart body: {}", e.body_text()))
            }
        })?;
        let Some(mut field) = field else {
            return Err(ApiError::bad_request("no part named `file` in the form")
                .with_detail(Some("file"), "missing"));
        };
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("file").to_owned();
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                crate::attach::too_large(limit)
            } else {
                ApiError::bad_request(format!("malformed multipart body: {}", e.body_text()))
            }
        })? {
            if bytes.len() + chunk.len() > limit {
                return Err(crate::attach::too_large(limit));
            }
            bytes.extend_from_slice(&chunk);
        }
        let stored = app.blobs.put(&name, bytes.into()).await?;
        return Ok((StatusCode::CREATED, Json(stored)).into_response());
    }
}

/// Downloads an attachment: always as a download (`Content-Disposition:
/// attachment`), with its sniffed type, never sniffed again by the browser.
#[utoipa::path(get, path = "/api/v1/attachments/{sha256}", tag = "attachments",
    params(("sha256" = String, Path, description = "The attachment's id")),
    responses(
        (status = 200, description = "The bytes"),
        (status = 404, description = "No such attachment", body = crate::error::ErrorEnvelope)))]
pub async fn download(State(app): AppState, Path(sha): Path<String>) -> ApiResult<Response> {
    let (meta, bytes) = app.blobs.get(&sha).await?;
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    let ct = if meta.mime_type == "text/plain" {
        "text/plain; charset=utf-8".to_owned()
    } else {
        meta.mime_type.clone()
    };
    if let Ok(v) = HeaderValue::from_str(&ct) {
        h.insert(header::CONTENT_TYPE, v);
    }
    let ascii: String = meta
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = meta
        .name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", meta.sha256)) {
        h.insert(header::ETAG, v);
    }
    Ok(r)
}
