//! `nonlinear serve`: the HTTP API, live updates and (later) the web UI
//! over one workspace, on the embedded default — the in-memory graph and
//! the tantivy index — with no database.
//!
//! ```text
//!  HTTP ─► router (middleware: correlation id, metrics, log, timeout,
//!          │        security headers, CORS, body limits)
//!          ├─ reads ───► App.live (Watcher: graph) · App.search · files
//!          ├─ writes ──► App::write: indexer::write → git commit
//!          │                         → Watcher::refresh → events
//!          └─ /ws ─────► Hub (channels, offsets, replay)
//!  files ─► notify ─► watch thread: Watcher::process → search → Hub
//! ```
//!
//! [`start`] binds and serves in the background (tests use port 0);
//! [`run`] is the CLI's blocking entry point.

mod api;
mod app;
mod attach;
mod config;
mod error;
mod events;
mod git;
mod hub;
mod links;
mod memo;
mod metrics;
mod mirror;
mod queries;
mod threads;
mod ws;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::OpenApi;

pub use app::App;
pub use config::{Config, ConfigError};
pub use error::{ApiError, ErrorEnvelope};

/// The OpenAPI 3.1 document, generated from the handlers.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Non-Linear API",
        version = "1",
        description = "A git-native project tracker: components, issues, artifacts and comments as files, served as a graph."
    ),
    paths(
        api::project,
        api::list_nodes,
        api::get_node,
        api::create_node,
        api::update_node,
        api::delete_node,
        api::move_node,
        api::rename_node,
        links::add_link,
        links::remove_link,
        links::attach_artifact,
        links::remove_artifact,
        links::upload,
        links::download,
        threads::list,
        threads::add,
        threads::edit,
        threads::react,
        threads::unreact,
        queries::tree,
        queries::ready,
        queries::blocked,
        queries::critical_path,
        queries::near,
        queries::impact,
        queries::cycles,
        queries::search,
        queries::history,
        queries::diff,
        ws::upgrade,
    ),
    components(schemas(ErrorEnvelope, hub::Envelope, attach::Stored))
)]
pub struct ApiDoc;

/// The OpenAPI document as JSON.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The whole application: API, live updates, health, metrics.
pub fn router(app: Arc<App>) -> Router {
    let config = &app.config;
    let api = Router::new()
        .route("/project", get(api::project))
        .route("/nodes", get(api::list_nodes).post(api::create_node))
        .route(
            "/nodes/{id}",
            get(api::get_node)
                .patch(api::update_node)
                .delete(api::delete_node),
        )
        .route("/nodes/{id}/move", post(api::move_node))
        .route("/nodes/{id}/rename", post(api::rename_node))
        .route(
            "/nodes/{id}/comments",
            get(threads::list).post(threads::add),
        )
        .route("/nodes/{id}/history", get(queries::history))
        .route("/nodes/{id}/artifacts", post(links::attach_artifact))
        .route(
            "/nodes/{id}/artifacts/{artifact}",
            delete(links::remove_artifact),
        )
        .route("/comments/{comment}", patch(threads::edit))
        .route("/comments/{comment}/reactions", post(threads::react))
        .route(
            "/comments/{comment}/reactions/{emoji}",
            delete(threads::unreact),
        )
        .route("/links", post(links::add_link).delete(links::remove_link))
        .route(
            "/attachments",
            post(links::upload).layer(DefaultBodyLimit::max(config.upload_limit + (64 << 10))),
        )
        .route("/attachments/{sha256}", get(links::download))
        .route("/graph/tree", get(queries::tree))
        .route("/graph/ready", get(queries::ready))
        .route("/graph/blocked", get(queries::blocked))
        .route("/graph/critical-path", get(queries::critical_path))
        .route("/graph/near/{id}", get(queries::near))
        .route("/graph/impact/{id}", get(queries::impact))
        .route("/graph/cycles", get(queries::cycles))
        .route("/search", get(queries::search))
        .route("/diff", get(queries::diff))
        .route("/ws", get(ws::upgrade))
        .route("/openapi.json", get(openapi_json))
        .layer(DefaultBodyLimit::max(config.body_limit))
        .layer(middleware::from_fn_with_state(app.clone(), memo::layer));
    let mut router = Router::new()
        .nest("/api/v1", api)
        .route("/health", get(health))
        .route("/metrics", get(metrics_text))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(app.clone(), timeout))
        .layer(middleware::from_fn_with_state(app.clone(), observe));
    router = router
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'",
            ),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ));
    if config.hsts {
        router = router.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        ));
    }
    if !config.cors_origins.is_empty() {
        let origins: Vec<HeaderValue> = config
            .cors_origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        router = router.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
                .allow_headers([
                    header::CONTENT_TYPE,
                    header::IF_MATCH,
                    header::IF_NONE_MATCH,
                    HeaderName::from_static(api::ACTOR),
                ])
                .expose_headers([header::ETAG, header::LOCATION, X_REQUEST_ID]),
        );
    }
    router.with_state(app)
}

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Per request: a correlation id (the client's `X-Request-Id` when it is a
/// sane one), metrics by route, one log line.
async fn observe(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map_or_else(|| uuid::Uuid::new_v4().simple().to_string(), str::to_owned);
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = req.method().clone();
    let t = Instant::now();
    app.metrics.in_flight.inc();
    let mut res = error::REQUEST_ID.scope(id.clone(), next.run(req)).await;
    app.metrics.in_flight.dec();
    let took = t.elapsed();
    let status = res.status();
    app.metrics
        .latency
        .get_or_create(&metrics::RouteLabels {
            method: method.to_string(),
            route: route.clone(),
            status: status.as_u16(),
        })
        .observe(took.as_secs_f64());
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(X_REQUEST_ID, v);
    }
    let code = res
        .extensions()
        .get::<ApiError>()
        .map(|e| e.body.code.clone());
    if status.is_server_error() {
        tracing::error!(request_id = %id, %method, route, status = status.as_u16(), error = code, took_us = took.as_micros() as u64, "request");
    } else {
        tracing::info!(request_id = %id, %method, route, status = status.as_u16(), error = code, took_us = took.as_micros() as u64, "request");
    }
    res
}

/// Answers 503 when a request takes longer than the configured timeout.
/// A write already handed to the blocking pool still finishes (and
/// commits); only its answer is lost.
async fn timeout(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    // WebSocket upgrades live as long as the connection.
    if req.uri().path() == "/api/v1/ws" {
        return next.run(req).await;
    }
    match tokio::time::timeout(app.config.request_timeout(), next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the request took too long",
        )
        .into_response(),
    }
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route; the API is under /api/v1 (see /api/v1/openapi.json)")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
}

async fn openapi_json() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(openapi())
}

async fn health(State(app): State<Arc<App>>) -> axum::Json<serde_json::Value> {
    let nodes = app.live.read().graph().node_count();
    let mut v = serde_json::json!({"status": "ok", "nodes": nodes, "epoch": app.hub.epoch()});
    if !app.mirrors.is_empty() {
        v["mirror"] = app
            .mirrors
            .iter()
            .map(|m| (m.target.name().to_owned(), serde_json::json!(m.state())))
            .collect::<serde_json::Map<_, _>>()
            .into();
    }
    axum::Json(v)
}

async fn metrics_text(State(app): State<Arc<App>>) -> Response {
    let text = app.metrics.render(&app);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// A server running in the background.
#[derive(Debug)]
pub struct Running {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting, lets requests in flight finish (writes commit),
    /// then stops watching.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let r = self.task.await.unwrap_or(Ok(()));
        self.app.stopper.stop();
        r
    }
}

/// Loads the workspace and serves it on `config.bind` from a task on the
/// current Tokio runtime.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    let bind = config.bind;
    let app = tokio::task::spawn_blocking(move || App::start(config)).await??;
    for m in &app.mirrors {
        tokio::spawn(mirror::run(Arc::downgrade(&app), m.clone()));
    }
    let listener = tokio::net::TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let router = router(app.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    Ok(Running {
        addr,
        app,
        stop: Some(stop),
        task,
    })
}

/// Sets up logging as configured (once per process; later calls do
/// nothing).
pub fn init_logging(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("NONLINEAR_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if config.log_format == "text" {
        builder.try_init()
    } else {
        builder.json().flatten_event(true).try_init()
    };
}

/// `nonlinear serve`: serves until Ctrl-C or SIGTERM, then shuts down
/// gracefully.
pub fn run(config: Config) -> anyhow::Result<()> {
    init_logging(&config);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let running = start(config).await?;
        let addr = running.addr;
        let local = addr.ip().is_loopback();
        eprintln!(
            "nonlinear: serving {} on http://{addr}{}",
            running.app.root().display(),
            if local {
                " (this machine only: there is no authentication yet; --bind another address to share it)"
            } else {
                " — WARNING: there is no authentication yet; anyone who reaches this address can write"
            }
        );
        shutdown_signal().await;
        eprintln!("nonlinear: shutting down (finishing requests in flight)");
        running.shutdown().await?;
        Ok(())
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
