//! The JSON API under `/api/v1`, documented in docs/api.md. Authentication is
//! `Authorization: Bearer <token>`; errors are `{"error": code, "detail": text}`.

use axum::extract::{FromRequest, Path, Request, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

mod events;
mod forums;
mod members;
mod messages;
mod polls;
mod safety;
mod surveys;

use super::auth::ApiUser;
use super::error::AppError;
use super::AppState;
use crate::db::models::{Actor, User};
use crate::service::coop::{self, ProfileInput};
use crate::service::news::{self, NewsInput};
use crate::service::types::UserRole;
use crate::service::{accounts, follows, ServiceError};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/instance", get(instance))
        .route("/me", get(me))
        .route("/coop", get(get_coop).patch(patch_coop))
        .route("/users", get(users))
        .route("/audit", get(audit))
        .route("/follow_requests", get(follow_requests))
        .route("/follow_requests/{id}/authorize", post(authorize_follow))
        .route("/follow_requests/{id}/reject", post(reject_follow))
}

/// The co-op role's content: news, events, polls.
pub fn coop_routes() -> Router<AppState> {
    Router::new()
        .route("/news", get(list_news).post(create_news))
        .route("/news/{id}", get(get_news).patch(patch_news).delete(delete_news))
        .route(
            "/news/{id}/newsletter",
            get(news_newsletter).post(send_newsletter),
        )
        .route("/newsletters", get(newsletters))
        .merge(events::routes())
        .merge(polls::routes())
        .merge(forums::routes())
        .merge(members::routes())
        .merge(messages::routes())
        .merge(surveys::routes())
        .merge(safety::routes())
}

#[derive(Serialize)]
struct NewsJson {
    id: i64,
    slug: String,
    url: String,
    title: String,
    summary: String,
    body: String,
    content_html: String,
    image_url: Option<String>,
    image_alt: Option<String>,
    published_at: Option<String>,
    updated_at: Option<String>,
    /// `draft`, `scheduled` (published_at is in the future) or `published`.
    status: &'static str,
    /// `public`, `unlisted`, `followers` or `members`.
    visibility: String,
}

impl From<crate::db::models::Object> for NewsJson {
    fn from(o: crate::db::models::Object) -> Self {
        let status = match news::publication(&o) {
            news::Publication::Draft => "draft",
            news::Publication::Scheduled(_) => "scheduled",
            news::Publication::Published => "published",
        };
        NewsJson {
            status,
            visibility: o.visibility.clone(),
            id: o.id,
            slug: o.slug.unwrap_or_default(),
            url: o.url.unwrap_or(o.ap_id),
            title: o.title,
            summary: o.summary,
            body: o.source.unwrap_or_default(),
            content_html: o.content_html,
            image_url: o.image_url,
            image_alt: o.image_alt,
            published_at: o.published_at.map(|t| t.and_utc().to_rfc3339()),
            updated_at: o.updated_at.map(|t| t.and_utc().to_rfc3339()),
        }
    }
}

#[derive(serde::Deserialize)]
struct PageQuery {
    page: Option<i64>,
}

async fn list_news(
    State(state): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<PageQuery>,
    reader: crate::http::auth::ApiReader,
) -> Result<Json<serde_json::Value>, AppError> {
    let page = q.page.unwrap_or(1).max(1);
    let (items, total) = news::list_news(&state.ctx, &reader.0, page - 1, 20).await?;
    Ok(Json(serde_json::json!({
        "total": total,
        "page": page,
        "items": items.into_iter().map(NewsJson::from).collect::<Vec<_>>(),
    })))
}

async fn get_news(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    reader: crate::http::auth::ApiReader,
) -> Result<Json<NewsJson>, AppError> {
    let item = news::get_news_by_id(&state.ctx, id).await?;
    if item.deleted_at.is_some() {
        return Err(AppError::new(StatusCode::GONE, "gone", "This news was deleted."));
    }
    // Drafts and scheduled news are not served; members-only news only to members.
    if !crate::service::conversation::readable(&state.ctx, &reader.0, &item).await? {
        return Err(AppError::not_found());
    }
    Ok(Json(item.into()))
}

async fn create_news(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(input): ApiJson<NewsInput>,
) -> Result<(StatusCode, Json<NewsJson>), AppError> {
    let item = news::publish_news(&state.ctx, &user.caller(), &input).await?;
    Ok((StatusCode::CREATED, Json(item.into())))
}

/// Fields sent change; the others keep their value.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NewsPatch {
    title: Option<String>,
    summary: Option<String>,
    body: Option<String>,
    image_url: Option<String>,
    image_alt: Option<String>,
    /// Keep (or take back) as a draft; publishing a draft is `draft: false`.
    draft: Option<bool>,
    /// Reschedule (RFC 3339); only before publication.
    published_at: Option<String>,
    /// Changes only before publication.
    visibility: Option<String>,
    /// Also send it by email once it is published (once per item).
    newsletter: Option<bool>,
}

async fn patch_news(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
    ApiJson(patch): ApiJson<NewsPatch>,
) -> Result<Json<NewsJson>, AppError> {
    user.require(UserRole::Editor)?;
    let current = news::get_news_by_id(&state.ctx, id).await?;
    let was_draft = news::publication(&current) == news::Publication::Draft;
    let input = NewsInput {
        title: patch.title.unwrap_or(current.title),
        summary: patch.summary.unwrap_or(current.summary),
        body: patch.body.unwrap_or(current.source.unwrap_or_default()),
        image_url: patch.image_url.unwrap_or(current.image_url.unwrap_or_default()),
        image_alt: patch.image_alt.unwrap_or(current.image_alt.unwrap_or_default()),
        draft: patch.draft.unwrap_or(was_draft),
        published_at: patch.published_at,
        visibility: patch.visibility.unwrap_or_default(),
        newsletter: patch.newsletter.unwrap_or(false),
    };
    Ok(Json(
        news::update_news(&state.ctx, &user.caller(), id, &input)
            .await?
            .into(),
    ))
}

/// `201` with the newsletter's state; it goes out at the item's publication.
async fn send_newsletter(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
) -> Result<(StatusCode, Json<crate::service::newsletter::NewsletterStatus>), AppError> {
    let sent = crate::service::newsletter::send(&state.ctx, &user.caller(), id).await?;
    Ok((StatusCode::CREATED, Json(sent)))
}

async fn news_newsletter(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<crate::service::newsletter::NewsletterStatus>, AppError> {
    user.require(UserRole::Editor)?;
    crate::service::newsletter::of_news(&state.ctx, &user.caller(), id)
        .await?
        .map(Json)
        .ok_or_else(|| {
            crate::service::ServiceError::NotFound("This news item was not sent as a newsletter.".into())
                .into()
        })
}

async fn newsletters(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<Json<Vec<crate::service::newsletter::NewsletterStatus>>, AppError> {
    Ok(Json(
        crate::service::newsletter::list(&state.ctx, &user.caller()).await?,
    ))
}

async fn delete_news(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, AppError> {
    news::delete_news(&state.ctx, &user.caller(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Uploads, mounted with their own body limit: `POST /api/v1/media`
/// (multipart: `file`, and `description`, required).
pub fn upload_routes() -> Router<AppState> {
    Router::new().route("/media", post(upload_media))
}

async fn upload_media(
    State(state): State<AppState>,
    user: ApiUser,
    form: axum::extract::Multipart,
) -> Result<(StatusCode, Json<serde_json::Value>), AppError> {
    let (file, description, _) = super::web::media::read_upload(form).await?;
    let m = crate::service::media::upload_image(&state.ctx, &user.caller(), file, &description).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "id": m.row.id,
            "type": "image",
            "url": m.url,
            "preview_url": m.thumbnail_url,
            "media_type": m.row.media_type,
            "description": m.row.alt,
            "blurhash": m.row.blurhash,
            "meta": {
                "original": {"width": m.row.width, "height": m.row.height},
                "small": {"width": m.row.thumb_width, "height": m.row.thumb_height},
            },
        })),
    ))
}

/// A field that may be absent (keep), `null` (clear) or a value (set).
pub(crate) fn double<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A JSON body; malformed JSON, wrong types and wrong Content-Type get a
/// JSON error that says which.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rej) => {
                let status = rej.status();
                let code = match status {
                    StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
                    StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
                    StatusCode::UNPROCESSABLE_ENTITY => "invalid",
                    _ => "bad_request",
                };
                tracing::info!(status = status.as_u16(), detail = %rej.body_text(), "API body rejected");
                Err(AppError::new(status, code, rej.body_text()))
            }
        }
    }
}

#[derive(Serialize)]
pub struct CoopJson {
    pub handle: String,
    pub address: String,
    pub name: String,
    pub summary: String,
    pub url: String,
    pub actor: String,
    pub website: Option<String>,
    pub contact_email: Option<String>,
    pub postal_address: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub languages: Vec<String>,
    pub logo_url: Option<String>,
    /// Follows wait for an admin's approval.
    pub manually_approves_followers: bool,
}

fn coop_json(state: &AppState, a: Actor) -> CoopJson {
    CoopJson {
        address: format!("@{}@{}", a.handle, a.domain),
        handle: a.handle,
        name: a.name,
        summary: a.summary,
        url: state.ctx.config.url("/"),
        actor: a.ap_id,
        website: a.website,
        contact_email: a.contact_email,
        postal_address: a.address,
        latitude: a.latitude,
        longitude: a.longitude,
        languages: a
            .languages
            .split(',')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        logo_url: a.icon_url,
        manually_approves_followers: a.manually_approves_followers,
    }
}

#[derive(Serialize)]
struct UserJson {
    id: i64,
    username: String,
    display_name: String,
    role: String,
    created_at: String,
    last_login_at: Option<String>,
}

impl From<User> for UserJson {
    fn from(u: User) -> Self {
        UserJson {
            id: u.id,
            username: u.username,
            display_name: u.display_name,
            role: u.role,
            created_at: u.created_at.and_utc().to_rfc3339(),
            last_login_at: u.last_login_at.map(|t| t.and_utc().to_rfc3339()),
        }
    }
}

async fn instance(State(state): State<AppState>) -> Result<Json<serde_json::Value>, AppError> {
    let coop = coop::get_coop(&state.ctx).await?;
    let config = &state.ctx.config;
    Ok(Json(serde_json::json!({
        "software": "intercoop",
        "version": env!("CARGO_PKG_VERSION"),
        "domain": config.domain(),
        "base_url": config.url(""),
        "roles": config.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "setup_complete": coop.is_some(),
        "languages": state.i18n.languages(),
        "coop": coop.map(|c| coop_json(&state, c)),
    })))
}

async fn me(user: ApiUser) -> Json<UserJson> {
    Json(user.0.into())
}

async fn get_coop(State(state): State<AppState>) -> Result<Json<CoopJson>, AppError> {
    let coop = coop::get_coop(&state.ctx).await?.ok_or_else(|| {
        ServiceError::NotFound("The co-op is not set up yet: open the setup link printed at start.".into())
    })?;
    Ok(Json(coop_json(&state, coop)))
}

/// Applies a JSON merge patch of profile fields to the current profile: the
/// fields sent change, the others stay; `null` clears an optional field.
fn merge_profile(
    mut profile: ProfileInput,
    patch: serde_json::Map<String, serde_json::Value>,
) -> Result<ProfileInput, AppError> {
    use serde_json::Value;
    let invalid = |field: &str, expected: &str| {
        AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("`{field}` must be {expected}."),
        )
    };
    for (key, value) in patch {
        let text = |expected: &str| match &value {
            Value::String(s) => Ok(s.clone()),
            Value::Null => Ok(String::new()),
            _ => Err(invalid(&key, expected)),
        };
        match key.as_str() {
            "name" => profile.name = text("a string")?,
            "summary" => profile.summary = text("a string or null")?,
            "website" => profile.website = text("a URL string or null")?,
            "contact_email" => profile.contact_email = text("an email string or null")?,
            "postal_address" => profile.address = text("a string or null")?,
            "logo_url" => profile.logo_url = text("a URL string or null")?,
            "manually_approves_followers" => match value {
                Value::Bool(on) => profile.approve_followers = if on { "on".into() } else { String::new() },
                _ => return Err(invalid(&key, "true or false")),
            },
            "latitude" | "longitude" => {
                let v = match &value {
                    Value::Number(n) => n.to_string(),
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    _ => return Err(invalid(&key, "a number or null")),
                };
                if key == "latitude" {
                    profile.latitude = v;
                } else {
                    profile.longitude = v;
                }
            }
            "languages" => {
                profile.languages = match &value {
                    Value::Array(items) => items
                        .iter()
                        .map(|i| i.as_str().map(String::from).ok_or_else(|| invalid(&key, "a list of language codes")))
                        .collect::<Result<Vec<_>, _>>()?
                        .join(","),
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    _ => return Err(invalid(&key, "a list of language codes")),
                }
            }
            other => {
                return Err(AppError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid",
                    format!(
                        "Unknown field `{other}`. Allowed: name, summary, website, contact_email, postal_address, latitude, longitude, languages, logo_url."
                    ),
                ))
            }
        }
    }
    Ok(profile)
}

async fn patch_coop(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(patch): ApiJson<serde_json::Map<String, serde_json::Value>>,
) -> Result<Json<CoopJson>, AppError> {
    user.require(UserRole::Admin)?;
    let current = coop::get_coop(&state.ctx)
        .await?
        .ok_or_else(|| ServiceError::NotFound("The co-op is not set up yet.".into()))?;
    let input = merge_profile(ProfileInput::from_actor(&current), patch)?;
    let updated = coop::update_profile(&state.ctx, &user.caller(), &input).await?;
    Ok(Json(coop_json(&state, updated)))
}

/// A remote account waiting for approval (Mastodon's follow_requests).
#[derive(serde::Serialize)]
struct FollowRequestJson {
    id: i64,
    actor: String,
    acct: String,
    name: String,
}

impl From<Actor> for FollowRequestJson {
    fn from(a: Actor) -> Self {
        FollowRequestJson {
            id: a.id,
            acct: format!("{}@{}", a.handle, a.domain),
            actor: a.ap_id,
            name: a.name,
        }
    }
}

async fn the_coop(state: &AppState) -> Result<Actor, AppError> {
    Ok(coop::get_coop(&state.ctx)
        .await?
        .ok_or_else(|| ServiceError::NotFound("The co-op is not set up yet.".into()))?)
}

async fn follow_requests(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<Json<Vec<FollowRequestJson>>, AppError> {
    user.require(UserRole::Admin)?;
    let coop = the_coop(&state).await?;
    let list = follows::list_follow_requests(&state.ctx, &coop).await?;
    Ok(Json(list.into_iter().map(FollowRequestJson::from).collect()))
}

async fn authorize_follow(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<FollowRequestJson>, AppError> {
    let coop = the_coop(&state).await?;
    let follower = follows::answer_follow_request(&state.ctx, &user.caller(), &coop, id, true).await?;
    Ok(Json(follower.into()))
}

async fn reject_follow(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<FollowRequestJson>, AppError> {
    let coop = the_coop(&state).await?;
    let follower = follows::answer_follow_request(&state.ctx, &user.caller(), &coop, id, false).await?;
    Ok(Json(follower.into()))
}

#[derive(Deserialize)]
struct AuditQuery {
    /// A prefix of the action: `member.`, `ballot.`, `user.role`...
    #[serde(default)]
    action: String,
    #[serde(default)]
    limit: Option<i64>,
}

/// The audit log of admin actions, newest first (admins only).
async fn audit(
    State(state): State<AppState>,
    user: ApiUser,
    axum::extract::Query(q): axum::extract::Query<AuditQuery>,
) -> Result<Json<Vec<accounts::AuditEntry>>, AppError> {
    let entries = accounts::audit_log(&state.ctx, &user.caller(), &q.action, q.limit.unwrap_or(500)).await?;
    Ok(Json(entries))
}

async fn users(State(state): State<AppState>, user: ApiUser) -> Result<Json<Vec<UserJson>>, AppError> {
    user.require(UserRole::Admin)?;
    Ok(Json(
        accounts::list_users(&state.ctx)
            .await?
            .into_iter()
            .map(UserJson::from)
            .collect(),
    ))
}
