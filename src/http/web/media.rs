//! Pictures: editors upload them (with a description) and get the address
//! to use in news, events or as the co-op's logo; everyone is served them
//! from `media_dir`, cached for a year (a new upload gets a new name).

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::{deny, Layout, Page};
use crate::http::auth::Visitor;
use crate::http::error::AppError;
use crate::i18n::Tr;
use crate::service::media::{self, Media};
use crate::service::types::UserRole;
use crate::service::{coop, ServiceError};
use crate::state::AppState;

/// Reading pictures, and the upload page.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/media", get(page))
        .route("/media/{file}", get(serve))
}

/// The upload itself, mounted with the larger body limit of uploads.
pub fn upload_routes() -> Router<AppState> {
    Router::new().route("/media", axum::routing::post(upload))
}

#[derive(Template)]
#[template(path = "media.html")]
struct MediaPage {
    t: Tr,
    l: Layout,
    items: Vec<Media>,
    notice: Option<String>,
    error: Option<String>,
    alt: String,
}
impl Page for MediaPage {}

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

async fn render(
    state: &AppState,
    v: Visitor,
    notice: Option<String>,
    error: Option<String>,
    alt: String,
    status: StatusCode,
) -> Result<Response, AppError> {
    let items = media::recent(&state.ctx, &v.caller()).await?;
    let coop = coop::get_coop(&state.ctx).await?;
    let l = Layout::for_visitor(state, &v, v.t.get("media.title"), coop.as_ref());
    Ok(MediaPage {
        items,
        notice,
        error,
        alt,
        t: v.t,
        l,
    }
    .respond(status))
}

async fn page(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<Done>,
) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Editor, "/media") {
        return Ok(r);
    }
    render(&state, v, q.done, None, String::new(), StatusCode::OK).await
}

/// The fields of an upload form or API call: the file and its description.
pub(crate) async fn read_upload(mut form: Multipart) -> Result<(Vec<u8>, String, String), AppError> {
    let mut file = Vec::new();
    let mut alt = String::new();
    let mut csrf = String::new();
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "The file is over 10 MB: make it smaller first.",
            )
        } else {
            AppError::bad_request(format!("The upload could not be read ({e}): try again."))
        }
    };
    while let Some(field) = form.next_field().await.map_err(unreadable)? {
        match field.name().unwrap_or("") {
            "file" => file = field.bytes().await.map_err(unreadable)?.to_vec(),
            "alt" | "description" => alt = field.text().await.map_err(unreadable)?,
            "csrf" => csrf = field.text().await.map_err(unreadable)?,
            _ => {}
        }
    }
    Ok((file, alt, csrf))
}

async fn upload(State(state): State<AppState>, v: Visitor, form: Multipart) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Editor, "/media") {
        return Ok(r);
    }
    let (file, alt, csrf) = read_upload(form).await?;
    v.check_csrf(&csrf)?;
    match media::upload_image(&state.ctx, &v.caller(), file, &alt).await {
        Ok(m) => {
            let done = super::url_encode(v.t.get("media.uploaded"));
            Ok(Redirect::to(&format!("/media?done={done}#media-{}", m.row.token)).into_response())
        }
        Err(e @ ServiceError::Invalid { .. }) => {
            render(
                &state,
                v,
                None,
                Some(e.to_string()),
                alt,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn serve(State(state): State<AppState>, Path(file): Path<String>) -> Result<Response, AppError> {
    let (bytes, media_type) = media::read_file(&state.ctx, &file).await?;
    Ok((
        [
            (header::CONTENT_TYPE, media_type),
            // Names are unguessable and never reused: cache for good.
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        bytes,
    )
        .into_response())
}
