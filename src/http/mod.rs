//! HTTP: the router, its middleware, and the pieces every page and API call
//! shares. Handlers parse the request, call a `service` function and render;
//! they hold no business rules.

pub mod api;
pub mod auth;
pub mod error;
pub mod page_cache;
pub mod web;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// The largest request body we read: enough for any activity or form, small
/// enough that a hostile peer cannot exhaust a Raspberry Pi's memory.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Requests that take longer get 408: a slow client must not hold a worker.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Uploads: a picture and its form fields.
pub const UPLOAD_BODY_BYTES: usize = crate::service::media::MAX_UPLOAD_BYTES + 64 * 1024;
/// 10 MB over a weak connection takes minutes.
pub const UPLOAD_TIMEOUT: Duration = Duration::from_secs(300);

pub use crate::state::AppState;
use crate::state::CSS;

/// Request ids: a per-process random prefix and a counter, cheap and unique
/// enough to find one request's lines in the log.
#[derive(Clone)]
struct MakeRequestIds {
    prefix: Arc<str>,
    next: Arc<AtomicU64>,
}

impl MakeRequestId for MakeRequestIds {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}

pub fn router(state: AppState) -> Router {
    let security_headers = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            // No scripts and no inline styles at all; images may come from
            // other servers (remote avatars, logos). Local mode also loads
            // http images, which it accepts (tests/web.rs checks templates
            // carry no style= attribute, so this CSP is all pages need).
            HeaderValue::from_static(if state.ctx.config.local_mode() {
                "default-src 'none'; style-src 'self'; img-src 'self' http: https: data:; form-action 'self' http: https:; frame-ancestors 'none'; base-uri 'none'"
            } else {
                "default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action 'self' https:; frame-ancestors 'none'; base-uri 'none'"
            }),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("interest-cohort=(), geolocation=(), camera=(), microphone=()"),
        ));
    let hsts = (!state.ctx.config.local_mode()).then(|| {
        SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        )
    });

    let mut prefix = [0u8; 3];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut prefix);
    let ids = MakeRequestIds {
        prefix: crate::crypto::hex(&prefix).into(),
        next: Arc::new(AtomicU64::new(1)),
    };

    crate::roles::routes(&state.ctx.config)
        .route("/healthz", get(healthz))
        .route("/static/{file}", get(static_file))
        .route("/favicon.ico", get(favicon))
        .fallback(not_found)
        .layer(
            ServiceBuilder::new()
                .layer(CatchPanicLayer::new())
                .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    REQUEST_TIMEOUT,
                )),
        )
        // Uploads: routes added after the layer above are outside it, and
        // get their own, larger limit and timeout.
        .merge(
            crate::roles::upload_routes(&state.ctx.config).layer(
                ServiceBuilder::new()
                    .layer(CatchPanicLayer::new())
                    .layer(RequestBodyLimitLayer::new(UPLOAD_BODY_BYTES))
                    .layer(DefaultBodyLimit::max(UPLOAD_BODY_BYTES))
                    .layer(TimeoutLayer::with_status_code(
                        StatusCode::REQUEST_TIMEOUT,
                        UPLOAD_TIMEOUT,
                    )),
            ),
        )
        .layer(middleware::from_fn(refuse_odd_requests))
        // Outside the limits above, so that their 413/408/500 get our error body too.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            error::render_errors,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), page_cache::serve))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::ensure_csrf_cookie,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(ids))
                .layer(
                    TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                        let id = req
                            .headers()
                            .get("x-request-id")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("-");
                        tracing::info_span!("request", id, method = %req.method(), path = %req.uri().path())
                    }),
                )
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(CompressionLayer::new())
                .layer(security_headers)
                .option_layer(hsts),
        )
        .with_state(state)
}

/// Header size caps, like nginx's default `large_client_header_buffers`: no
/// legitimate peer sends more, and a 100 KB `Signature` would otherwise be parsed.
pub const MAX_HEADER_LINE_BYTES: usize = 8 * 1024;
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Refuses, before any handler: oversized headers (431), and a NUL byte in
/// the path or query (400), which no page uses and PostgreSQL text cannot hold.
async fn refuse_odd_requests(req: axum::extract::Request, next: middleware::Next) -> Response {
    let mut total = 0;
    for (name, value) in req.headers() {
        let line = name.as_str().len() + value.len();
        total += line;
        if line > MAX_HEADER_LINE_BYTES || total > MAX_HEADER_BYTES {
            tracing::info!(header = %name, line, total, "request headers too large");
            return error::AppError::new(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "headers_too_large",
                format!(
                    "The request headers are too large (at most {MAX_HEADER_LINE_BYTES} bytes a line, {MAX_HEADER_BYTES} in all)."
                ),
            )
            .into_response();
        }
    }
    let uri = req.uri();
    let has_nul = |s: &str| s.contains("%00") || s.contains('\0');
    if has_nul(uri.path()) || uri.query().is_some_and(has_nul) {
        return error::AppError::bad_request("The address contains a NUL character.").into_response();
    }
    next.run(req).await
}

async fn not_found() -> error::AppError {
    error::AppError::not_found()
}

/// Liveness and readiness in one: 200 when the database answers.
async fn healthz(State(state): State<AppState>) -> Response {
    match state.ctx.db.ping().await {
        Ok(()) => Json(serde_json::json!({"status": "ok", "database": "ok"})).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                // The driver's text (host names, users, paths) is logged, not shown.
                Json(serde_json::json!({"status": "error", "database": "database unavailable"})),
            )
                .into_response()
        }
    }
}

/// A 16 px icon (1 KB), so browsers and link previews find one.
const FAVICON: &[u8] = include_bytes!("../../static/favicon.ico");

async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/x-icon"),
            (header::CACHE_CONTROL, "public, max-age=604800"),
        ],
        FAVICON,
    )
        .into_response()
}

async fn static_file(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    if format!("/static/{file}") == *state.css_path {
        (
            [
                (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            CSS,
        )
            .into_response()
    } else {
        error::AppError::not_found().into_response()
    }
}

/// The client's address: the TCP peer, or with `trust_proxy` the address the
/// reverse proxy put last in X-Forwarded-For.
pub fn client_ip(state: &AppState, headers: &axum::http::HeaderMap, peer: Option<SocketAddr>) -> String {
    if state.ctx.config.trust_proxy {
        if let Some(ip) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            return ip.to_string();
        }
    }
    peer.map(|p| p.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}
