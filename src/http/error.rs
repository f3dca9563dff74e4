//! Errors at the HTTP edge. Every failure becomes one [`AppError`]: a status,
//! a stable code and a message that says what went wrong and what to do. The
//! `render_errors` middleware shows it as JSON (`{"error", "detail"}`) to API
//! and ActivityPub clients and as a page to people, and gives the same
//! treatment to errors raised by the framework's own layers (413, 408, 405...).

use askama::Template;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;

use super::web::{Layout, Page};
use super::AppState;
use crate::i18n::Tr;
use crate::service::ServiceError;

#[derive(Debug, Clone)]
pub struct AppError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// For a refused form or body: each field's message (`fields` in JSON).
    pub fields: Vec<(&'static str, String)>,
}

/// Marks a response whose body is already the final error (set by
/// [`AppError`]), as opposed to a framework's plain-text one.
#[derive(Clone)]
struct Rendered(AppError);

impl AppError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        AppError {
            status,
            code,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "There is nothing at this address. Check the link, or start again from the home page.",
        )
    }

    pub fn csrf() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "This form has expired or did not come from this site. Reload the page and send it again.",
        )
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// The default for a status raised by a framework layer, with no message of ours.
    fn for_status(status: StatusCode) -> Self {
        let (code, message) = match status.as_u16() {
            400 => (
                "bad_request",
                "The request could not be read. Check its format and try again.",
            ),
            401 => (
                "unauthorized",
                "Authentication is required: log in, or send a valid API token.",
            ),
            403 => ("forbidden", "You are not allowed to do this."),
            404 => return Self::not_found(),
            405 => ("method_not_allowed", "This address does not accept this method."),
            408 => ("timeout", "The request took too long. Try again in a moment."),
            413 => (
                "payload_too_large",
                "The request body is too large: the limit is 1 MB. Send something smaller.",
            ),
            415 => (
                "unsupported_media_type",
                "The request body has the wrong Content-Type.",
            ),
            422 => (
                "invalid",
                "The request was understood but a value is not acceptable.",
            ),
            429 => ("rate_limited", "Too many requests. Wait a little and try again."),
            503 => (
                "unavailable",
                "The service is temporarily unavailable. Try again in a moment.",
            ),
            _ if status.is_server_error() => (
                "internal",
                "The server hit an error. Try again; if it keeps happening, tell the co-op's administrators.",
            ),
            _ => ("error", "The request failed."),
        };
        Self::new(status, code, message)
    }
}

impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid { .. } => AppError {
                fields: e.field_errors(),
                ..AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.to_string())
            },
            ServiceError::NotFound(m) => AppError::new(StatusCode::NOT_FOUND, "not_found", m),
            ServiceError::Unauthorized(m) => AppError::new(StatusCode::UNAUTHORIZED, "unauthorized", m),
            ServiceError::Forbidden(m) => AppError::new(StatusCode::FORBIDDEN, "forbidden", m),
            ServiceError::Conflict(m) => AppError::new(StatusCode::CONFLICT, "conflict", m),
            ServiceError::RateLimited(m) => AppError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", m),
            ServiceError::Unavailable(m) => AppError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", m),
            ServiceError::Db(crate::db::DbError::Connect(m)) => {
                tracing::error!(error = %m, "database unavailable");
                AppError::for_status(StatusCode::SERVICE_UNAVAILABLE)
            }
            other => {
                tracing::error!(error = %other, "request failed");
                AppError::for_status(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

impl From<crate::db::DbError> for AppError {
    fn from(e: crate::db::DbError) -> Self {
        ServiceError::from(e).into()
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = Json(self.json());
        let mut resp = (self.status, body).into_response();
        resp.extensions_mut().insert(Rendered(self));
        resp
    }
}

impl AppError {
    /// `{"error", "detail"}`, and `fields` for a refused body.
    fn json(&self) -> serde_json::Value {
        let mut json = serde_json::json!({"error": self.code, "detail": self.message});
        if !self.fields.is_empty() {
            let mut fields = serde_json::Map::new();
            for (field, message) in &self.fields {
                // A field with two problems says both.
                let joined = match fields.get(*field).and_then(|v| v.as_str()) {
                    Some(before) => format!("{before} {message}"),
                    None => message.clone(),
                };
                fields.insert(field.to_string(), serde_json::Value::String(joined));
            }
            json["fields"] = serde_json::Value::Object(fields);
        }
        json
    }
}

/// Whether the client wants JSON: the API, ActivityPub clients, or an explicit Accept.
pub fn wants_json(path: &str, headers: &HeaderMap) -> bool {
    // Machine endpoints answer errors in JSON whatever the client accepts.
    let machine = path.starts_with("/api/")
        || path == "/healthz"
        || path.starts_with("/.well-known/")
        || path.starts_with("/nodeinfo/")
        || path == "/inbox"
        || path.ends_with("/inbox")
        || path.ends_with("/outbox")
        || path.ends_with("/followers")
        || path.ends_with("/following")
        || path.starts_with("/activities/");
    if machine {
        return true;
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    accept.contains("json") || (ctype.contains("json") && !accept.contains("html"))
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    t: Tr,
    l: Layout,
    heading: String,
    message: String,
}

impl Page for ErrorPage {}

pub async fn render_errors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let headers = req.headers().clone();
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let ours = resp.extensions().get::<Rendered>().map(|r| r.0.clone());
    let content_type = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    // A page, or a document a handler built on purpose (an ActivityPub
    // Tombstone with its 410), is already the answer.
    if content_type.starts_with("text/html") || (ours.is_none() && content_type.starts_with("application/")) {
        return resp;
    }
    let error = match ours {
        Some(e) => e,
        None => {
            // A framework layer's plain-text error: log it once, replace its body.
            tracing::info!(status = status.as_u16(), %path, "request rejected");
            AppError::for_status(status)
        }
    };
    let mut out = if wants_json(&path, &headers) {
        (status, Json(error.json())).into_response()
    } else {
        let t = state.i18n.pick(
            headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()),
            "en",
        );
        let heading = match status.as_u16() {
            404 => t.get("error.not_found").to_string(),
            403 => t.get("error.forbidden").to_string(),
            429 => t.get("error.rate_limited").to_string(),
            410 => t.get("error.gone").to_string(),
            _ => t.get("error.title").to_string(),
        };
        let message = match error.code {
            "not_found" if error.message == AppError::not_found().message => {
                t.get("error.not_found_detail").to_string()
            }
            "csrf" => t.get("error.csrf").to_string(),
            "payload_too_large" => t.get("error.too_large").to_string(),
            "timeout" => t.get("error.timeout").to_string(),
            "internal" => t.get("error.internal").to_string(),
            _ => error.message.clone(),
        };
        let site_name = crate::service::coop::get_coop(&state.ctx)
            .await
            .ok()
            .flatten()
            .map(|c| c.name)
            .unwrap_or_else(|| "Intercoop".into());
        let l = Layout::anonymous(&state, &t, &heading, site_name);
        let page = ErrorPage {
            t,
            l,
            heading,
            message,
        };
        (
            status,
            Html(page.render().unwrap_or_else(|_| error.message.clone())),
        )
            .into_response()
    };
    // Keep headers such as WWW-Authenticate, Retry-After and Set-Cookie.
    for (name, value) in resp.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().append(name.clone(), value.clone());
        }
    }
    out
}
