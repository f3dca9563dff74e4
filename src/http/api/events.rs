//! `/api/v1/events`: the co-op's events, and RSVP.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::TimeZone;
use serde::{Deserialize, Serialize};

use super::{double, ApiJson};
use crate::http::auth::ApiUser;
use crate::http::error::AppError;
use crate::service::calendar::{self, Event, EventInput};
use crate::service::types::UserRole;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/events", get(list).post(create))
        .route("/events/{id}", get(show).patch(patch).delete(delete))
        .route("/events/{id}/rsvp", post(rsvp))
        .route("/events/{id}/attendees", get(attendees))
}

#[derive(Serialize)]
pub struct EventJson {
    id: i64,
    visibility: String,
    slug: String,
    url: String,
    ical_url: String,
    title: String,
    body: String,
    content_html: String,
    /// RFC 3339 in UTC; `starts_at_local` in the event's zone.
    starts_at: String,
    ends_at: Option<String>,
    starts_at_local: String,
    timezone: String,
    location_name: Option<String>,
    address: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    online_url: Option<String>,
    capacity: Option<i64>,
    participant_count: i64,
    remaining_capacity: Option<i64>,
    join_mode: String,
    image_url: Option<String>,
    image_alt: Option<String>,
    cancelled: bool,
    published_at: Option<String>,
    updated_at: Option<String>,
}

fn rfc(t: chrono::NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl From<Event> for EventJson {
    fn from(e: Event) -> Self {
        let tz = e.tz();
        EventJson {
            visibility: e.object.visibility.clone(),
            starts_at_local: tz
                .from_utc_datetime(&e.row.starts_at)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            remaining_capacity: e.remaining(),
            cancelled: e.is_cancelled(),
            participant_count: e.participants,
            id: e.object.id,
            slug: e.object.slug.clone().unwrap_or_default(),
            ical_url: format!("{}.ics", e.object.ap_id),
            url: e.object.ap_id,
            title: e.object.title,
            body: e.object.source.unwrap_or_default(),
            content_html: e.object.content_html,
            starts_at: rfc(e.row.starts_at),
            ends_at: e.row.ends_at.map(rfc),
            timezone: e.row.timezone,
            location_name: e.row.location_name,
            address: e.row.address,
            latitude: e.row.latitude,
            longitude: e.row.longitude,
            online_url: e.row.online_url,
            capacity: e.row.capacity,
            join_mode: e.row.join_mode,
            image_url: e.object.image_url,
            image_alt: e.object.image_alt,
            published_at: e.object.published_at.map(rfc),
            updated_at: e.object.updated_at.map(rfc),
        }
    }
}

#[derive(Deserialize)]
struct ListQuery {
    upcoming: Option<bool>,
    page: Option<i64>,
}

async fn list(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
    reader: crate::http::auth::ApiReader,
) -> Result<Json<serde_json::Value>, AppError> {
    let page = q.page.unwrap_or(1).max(1);
    let items =
        calendar::list_events(&state.ctx, &reader.0, q.upcoming.unwrap_or(false), page - 1, 50).await?;
    Ok(Json(serde_json::json!({
        "page": page,
        "items": items.into_iter().map(EventJson::from).collect::<Vec<_>>(),
    })))
}

async fn show(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    reader: crate::http::auth::ApiReader,
) -> Result<Json<EventJson>, AppError> {
    let e = calendar::get_event_by_id(&state.ctx, id).await?;
    if e.object.deleted_at.is_some() {
        return Err(AppError::new(StatusCode::GONE, "gone", "This event was deleted."));
    }
    if !crate::service::conversation::readable(&state.ctx, &reader.0, &e.object).await? {
        return Err(AppError::not_found());
    }
    Ok(Json(e.into()))
}

async fn create(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(input): ApiJson<EventInput>,
) -> Result<(StatusCode, Json<EventJson>), AppError> {
    let e = calendar::create_event(&state.ctx, &user.caller(), &input).await?;
    Ok((StatusCode::CREATED, Json(e.into())))
}

/// Fields sent change; the others keep their value. `null` clears an
/// optional field. `cancelled` cancels or reinstates.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventPatch {
    title: Option<String>,
    body: Option<String>,
    starts_at: Option<String>,
    #[serde(default, deserialize_with = "double")]
    ends_at: Option<Option<String>>,
    timezone: Option<String>,
    #[serde(default, deserialize_with = "double")]
    location_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double")]
    address: Option<Option<String>>,
    #[serde(default, deserialize_with = "double")]
    latitude: Option<Option<f64>>,
    #[serde(default, deserialize_with = "double")]
    longitude: Option<Option<f64>>,
    #[serde(default, deserialize_with = "double")]
    online_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "double")]
    capacity: Option<Option<i64>>,
    join_mode: Option<String>,
    #[serde(default, deserialize_with = "double")]
    image_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "double")]
    image_alt: Option<Option<String>>,
    /// Only the value it has: a published event's visibility is fixed.
    visibility: Option<String>,
    cancelled: Option<bool>,
}

async fn patch(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
    ApiJson(p): ApiJson<EventPatch>,
) -> Result<Json<EventJson>, AppError> {
    user.require(UserRole::Editor)?;
    let caller = user.caller();
    let e = calendar::get_event_by_id(&state.ctx, id).await?;
    let tz = e.tz();
    let local = |t: chrono::NaiveDateTime| tz.from_utc_datetime(&t).to_rfc3339();
    let text = |patch: Option<Option<String>>, current: Option<String>| match patch {
        Some(v) => v.unwrap_or_default(),
        None => current.unwrap_or_default(),
    };
    let only_cancel = p.title.is_none()
        && p.body.is_none()
        && p.starts_at.is_none()
        && p.ends_at.is_none()
        && p.timezone.is_none()
        && p.location_name.is_none()
        && p.address.is_none()
        && p.latitude.is_none()
        && p.longitude.is_none()
        && p.online_url.is_none()
        && p.capacity.is_none()
        && p.join_mode.is_none()
        && p.image_url.is_none()
        && p.image_alt.is_none()
        && p.visibility.is_none();
    if !only_cancel {
        let input = EventInput {
            title: p.title.unwrap_or(e.object.title.clone()),
            body: p.body.unwrap_or(e.object.source.clone().unwrap_or_default()),
            starts_at: p.starts_at.unwrap_or_else(|| local(e.row.starts_at)),
            ends_at: text(p.ends_at, e.row.ends_at.map(local)),
            timezone: p.timezone.unwrap_or(e.row.timezone.clone()),
            location_name: text(p.location_name, e.row.location_name.clone()),
            address: text(p.address, e.row.address.clone()),
            latitude: p.latitude.unwrap_or(e.row.latitude),
            longitude: p.longitude.unwrap_or(e.row.longitude),
            online_url: text(p.online_url, e.row.online_url.clone()),
            capacity: p.capacity.unwrap_or(e.row.capacity),
            join_mode: p.join_mode.unwrap_or(e.row.join_mode.clone()),
            image_url: text(p.image_url, e.object.image_url.clone()),
            image_alt: text(p.image_alt, e.object.image_alt.clone()),
            visibility: p.visibility.unwrap_or_default(),
        };
        calendar::update_event(&state.ctx, &caller, id, &input).await?;
    }
    let e = match p.cancelled {
        Some(c) => calendar::set_cancelled(&state.ctx, &caller, id, c).await?,
        None => calendar::get_event_by_id(&state.ctx, id).await?,
    };
    Ok(Json(e.into()))
}

async fn delete(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, AppError> {
    calendar::delete_event(&state.ctx, &user.caller(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rsvp {
    /// Coming (the default) or no longer coming.
    #[serde(default = "yes")]
    going: bool,
}

fn yes() -> bool {
    true
}

async fn rsvp(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, AppError> {
    // An empty body says "coming".
    let going = if body.iter().all(u8::is_ascii_whitespace) {
        true
    } else {
        serde_json::from_slice::<Rsvp>(&body)
            .map_err(|e| {
                AppError::bad_request(format!(
                    "The body must be {{\"going\": true}} or {{\"going\": false}}: {e}"
                ))
            })?
            .going
    };
    let e = calendar::rsvp(&state.ctx, &user.caller(), id, going).await?;
    Ok(Json(serde_json::json!({
        "going": going,
        "event": EventJson::from(e),
    })))
}

async fn attendees(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, AppError> {
    let list = calendar::attendees(&state.ctx, &user.caller(), id).await?;
    Ok(Json(serde_json::json!({
        "total": list.len(),
        "items": list.into_iter().map(|(at, a)| serde_json::json!({
            "name": a.name,
            "account": format!("@{}@{}", a.handle, a.domain),
            "actor": a.ap_id,
            "local": a.local,
            "joined_at": rfc(at),
        })).collect::<Vec<_>>(),
    })))
}
