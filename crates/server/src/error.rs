//! The error contract: every error is
//! `{"error": {"code", "message", "details": [{"field", "message"}]}}`
//! with 400 malformed, 404 missing, 409 conflict, 422 validation, 500
//! internal (with a correlation id that is also in the log). Nothing
//! internal — paths outside the workspace, stack traces, library messages —
//! reaches a response.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use indexer::write::WriteError;
use serde::Serialize;

tokio::task_local! {
    /// The correlation id of the request being handled.
    pub static REQUEST_ID: String;
}

/// The current request's correlation id ("-" outside a request).
pub fn request_id() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "-".to_owned())
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Detail {
    /// The field at fault (a JSON key of the request, or a front matter key).
    pub field: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable, machine-readable: `bad_request`, `not_found`, `conflict`,
    /// `validation_failed`, `forbidden`, `payload_too_large`,
    /// `unsupported_media_type`, `timeout`, `internal`, …
    pub code: String,
    pub message: String,
    pub details: Vec<Detail>,
    /// For `internal` errors: quote it to whoever reads the server's log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: ErrorBody {
                code: code.to_owned(),
                message: message.into(),
                details: Vec::new(),
                correlation_id: None,
            },
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 422 with the field at fault.
    pub fn invalid(field: Option<&str>, message: impl Into<String>) -> ApiError {
        let message = message.into();
        let mut e = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            message.clone(),
        );
        e.body.details.push(Detail {
            field: field.map(str::to_owned),
            message,
        });
        e
    }

    /// 500: logs `cause` with a correlation id and answers with the id only.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        let id = request_id();
        tracing::error!(correlation_id = %id, error = %cause, "internal error");
        let mut e = ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("internal error; correlation id {id}"),
        );
        e.body.correlation_id = Some(id);
        e
    }

    pub fn with_detail(mut self, field: Option<&str>, message: impl Into<String>) -> ApiError {
        self.body.details.push(Detail {
            field: field.map(str::to_owned),
            message: message.into(),
        });
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (
            self.status,
            axum::Json(ErrorEnvelope {
                error: self.body.clone(),
            }),
        )
            .into_response();
        // Handlers' errors are logged once here, with their request.
        r.extensions_mut().insert(self);
        r
    }
}

impl From<WriteError> for ApiError {
    fn from(e: WriteError) -> ApiError {
        match e {
            WriteError::NotFound(m) => ApiError::not_found(m),
            WriteError::Invalid { field, message } => ApiError::invalid(field.as_deref(), message),
            WriteError::Conflict(m) => ApiError::conflict(m),
            WriteError::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", m),
            e @ (WriteError::Config(_) | WriteError::Io(_)) => ApiError::internal(e),
        }
    }
}

/// Extractor rejections (bad JSON, bad query string, bad path) in the
/// envelope.
macro_rules! rejection {
    ($t:ty) => {
        impl From<$t> for ApiError {
            fn from(r: $t) -> ApiError {
                let status = r.status();
                let code = match status {
                    StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
                    StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
                    StatusCode::UNPROCESSABLE_ENTITY => "validation_failed",
                    _ => "bad_request",
                };
                let mut e = ApiError::new(status, code, r.body_text());
                if status == StatusCode::UNPROCESSABLE_ENTITY {
                    let m = e.body.message.clone();
                    e = e.with_detail(None, m);
                }
                e
            }
        }
    };
}

rejection!(axum::extract::rejection::JsonRejection);
rejection!(axum::extract::rejection::QueryRejection);
rejection!(axum::extract::rejection::PathRejection);

/// `axum::Json` whose rejections are [`ApiError`]s.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Query` whose rejections are [`ApiError`]s.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// `axum::extract::Path` whose rejections are [`ApiError`]s.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);
