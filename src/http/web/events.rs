//! Event pages: the calendar (upcoming, and past), each event (HTML, or
//! ActivityPub JSON at the same URL, or iCalendar at `.ics`), the form,
//! cancelling, deleting, RSVP, and the attendee list (HTML and CSV).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::TimeZone;
use serde::Deserialize;

use super::{deny, gate, Layout, Page, WebForm};
use crate::db::models::{Actor, Object};
use crate::http::auth::Visitor;
use crate::http::error::AppError;
use crate::i18n::Tr;
use crate::service::calendar::{self, Event, EventInput};
use crate::service::types::UserRole;
use crate::service::{conversation, coop, ServiceError};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/events", get(list))
        .route("/events.ics", get(calendar_ics))
        .route("/events/new", get(new_page).post(create))
        // `/events/{slug}.ics` is read by `show` (a path segment cannot
        // hold a parameter and a suffix).
        .route("/events/{slug}", get(show))
        .route("/events/{slug}/edit", get(edit_page).post(update))
        .route("/events/{slug}/cancel", post(cancel))
        .route("/events/{slug}/delete", post(delete))
        .route("/events/{slug}/rsvp", post(rsvp))
        .route("/events/{slug}/attendees", get(attendees))
}

/// How an event's time reads: in its own zone, and in UTC.
pub(crate) struct When {
    pub local: String,
    pub utc: String,
    pub start_iso: String,
}

pub(crate) fn when(e: &Event) -> When {
    let tz = e.tz();
    let start = tz.from_utc_datetime(&e.row.starts_at);
    let end = e.row.ends_at.map(|t| tz.from_utc_datetime(&t));
    let same_day = end.is_some_and(|end| end.date_naive() == start.date_naive());
    let local = match end {
        Some(end) if same_day => format!(
            "{}–{} ({})",
            start.format("%a %-d %b %Y, %H:%M"),
            end.format("%H:%M"),
            e.row.timezone
        ),
        Some(end) => format!(
            "{} – {} ({})",
            start.format("%a %-d %b %Y, %H:%M"),
            end.format("%a %-d %b %Y, %H:%M"),
            e.row.timezone
        ),
        None => format!("{} ({})", start.format("%a %-d %b %Y, %H:%M"), e.row.timezone),
    };
    let utc = match e.row.ends_at {
        Some(end) => format!(
            "{} – {} UTC",
            e.row.starts_at.format("%Y-%m-%d %H:%M"),
            end.format("%Y-%m-%d %H:%M")
        ),
        None => format!("{} UTC", e.row.starts_at.format("%Y-%m-%d %H:%M")),
    };
    let iso = |t: chrono::NaiveDateTime| t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    When {
        local,
        utc,
        start_iso: iso(e.row.starts_at),
    }
}

/// An event in a list (the calendar, the home page).
pub(crate) struct EventTeaser {
    pub slug: String,
    pub title: String,
    pub when: When,
    pub place: String,
    pub cancelled: bool,
}

pub(crate) fn teaser(e: &Event) -> EventTeaser {
    EventTeaser {
        slug: e.object.slug.clone().unwrap_or_default(),
        title: e.object.title.clone(),
        when: when(e),
        place: e
            .row
            .location_name
            .clone()
            .or_else(|| e.row.address.clone())
            .or_else(|| e.row.online_url.as_ref().map(|_| "Online".to_string()))
            .unwrap_or_default(),
        cancelled: e.is_cancelled(),
    }
}

#[derive(Template)]
#[template(path = "events_list.html")]
struct ListPage {
    t: Tr,
    l: Layout,
    notice: Option<String>,
    items: Vec<EventTeaser>,
    past: bool,
    can_write: bool,
}
impl Page for ListPage {}

#[derive(Deserialize)]
struct ListQuery {
    past: Option<String>,
    done: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let coop = coop::get_coop(&state.ctx)
        .await?
        .ok_or_else(|| ServiceError::NotFound("The co-op is not set up yet.".into()))?;
    let past = q.past.is_some();
    let items = calendar::list_events(&state.ctx, &v.caller(), !past, 0, 100).await?;
    let title =
        v.t.get(if past { "events.past_title" } else { "events.title" })
            .to_string();
    let l = Layout::for_visitor(&state, &v, &title, Some(&coop));
    Ok(ListPage {
        items: items.iter().map(teaser).collect(),
        past,
        notice: q.done,
        can_write: v.role().is_some_and(|r| r >= UserRole::Editor),
        t: v.t,
        l,
    }
    .respond(StatusCode::OK))
}

#[derive(Template)]
#[template(path = "event.html")]
struct EventPage {
    t: Tr,
    l: Layout,
    item: Object,
    slug: String,
    when: When,
    location_name: Option<String>,
    address: Option<String>,
    map_url: Option<String>,
    online_url: Option<String>,
    cancelled: bool,
    going_text: String,
    going: bool,
    /// Why nobody new can join, if so.
    closed: Option<String>,
    logged_in: bool,
    can_edit: bool,
    reactions: String,
    replies: Vec<(Object, Actor, String, usize)>,
    can_moderate: bool,
    notice: Option<String>,
    error: Option<String>,
}
impl Page for EventPage {}

#[derive(Deserialize)]
struct ShowQuery {
    done: Option<String>,
}

async fn show(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<ShowQuery>,
    headers: HeaderMap,
    v: Visitor,
) -> Result<Response, AppError> {
    if let Some(slug) = slug.strip_suffix(".ics") {
        let event = calendar::get_event(&state.ctx, slug).await?;
        if !conversation::readable(&state.ctx, &v.caller(), &event.object).await? {
            return Err(AppError::not_found());
        }
        return ics(&state, &[event], slug).await;
    }
    let event = calendar::get_event(&state.ctx, &slug).await?;
    if crate::federation::routes::wants_activity_json(&headers) {
        return crate::federation::routes::serve_object(
            &state,
            &headers,
            &format!("/events/{slug}"),
            &event.object,
        )
        .await;
    }
    render(&state, v, event, q.done, None, StatusCode::OK).await
}

async fn render(
    state: &AppState,
    v: Visitor,
    event: Event,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    if event.object.deleted_at.is_some() {
        // Only what was open says it is gone; the rest was never there.
        if !crate::db::models::Visibility::from_db(&event.object.visibility).is_open() {
            return Err(AppError::not_found());
        }
        return Err(AppError::new(StatusCode::GONE, "gone", "This event was deleted."));
    }

    let caller = v.caller();
    if !conversation::readable(&state.ctx, &caller, &event.object).await? {
        return Err(AppError::not_found());
    }
    let replies = super::news::conversation_of(state, &caller, &event.object).await?;
    let counts = conversation::interactions(&state.ctx, &event.object).await?;
    let reactions = super::news::reactions_text(&v.t, &counts);
    let going = calendar::is_going(
        &state.ctx,
        v.user.as_ref().and_then(|u| u.actor_id),
        event.object.id,
    )
    .await?;
    let coop = coop::get_coop(&state.ctx).await?;
    let l = Layout::for_visitor(state, &v, &event.object.title, coop.as_ref());
    let going_text = match event.remaining() {
        Some(left) => v.t.fill(
            "events.going_capacity",
            &[
                ("n", &event.participants.to_string()),
                ("left", &left.to_string()),
            ],
        ),
        None => {
            v.t.fill("events.going", &[("n", &event.participants.to_string())])
        }
    };
    let map_url = match (event.row.latitude, event.row.longitude) {
        (Some(lat), Some(lon)) => Some(format!(
            "https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=16/{lat}/{lon}"
        )),
        _ => None,
    };
    Ok(EventPage {
        when: when(&event),
        slug: event.object.slug.clone().unwrap_or_default(),
        location_name: event.row.location_name.clone(),
        address: event.row.address.clone(),
        online_url: event.row.online_url.clone(),
        cancelled: event.is_cancelled(),
        closed: event.closed_because().map(String::from),
        map_url,
        going_text,
        going,
        logged_in: v.user.is_some(),
        can_edit: caller.can(UserRole::Editor),
        can_moderate: caller.can(UserRole::Moderator),
        reactions,
        replies,
        notice,
        error,
        item: event.object,
        t: v.t,
        l,
    }
    .respond(status))
}

/// One VEVENT per event, with the co-op as organiser; cancelled events
/// stay in the calendar with STATUS:CANCELLED, as calendar apps expect.
async fn ics(state: &AppState, events: &[Event], name: &str) -> Result<Response, AppError> {
    use icalendar::{Component, EventLike, EventStatus};
    let coop = coop::get_coop(&state.ctx).await?;
    let mut cal = icalendar::Calendar::new();
    if let Some(c) = &coop {
        cal.name(&c.name);
    }
    for e in events {
        let mut ev = icalendar::Event::new();
        ev.uid(&e.object.ap_id)
            .summary(&e.object.title)
            .url(&e.object.ap_id)
            .starts(e.row.starts_at.and_utc())
            .ends(
                e.row
                    .ends_at
                    .unwrap_or(e.row.starts_at + chrono::Duration::hours(1))
                    .and_utc(),
            )
            .timestamp(e.object.updated_at.unwrap_or(e.object.created_at).and_utc())
            .status(if e.is_cancelled() {
                EventStatus::Cancelled
            } else {
                EventStatus::Confirmed
            });
        let description = e
            .object
            .source
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| e.object.summary.clone());
        let description = match &e.row.online_url {
            Some(u) => format!("{description}\n\n{u}"),
            None => description,
        };
        if !description.trim().is_empty() {
            ev.description(&description);
        }
        let place: Vec<&str> = [e.row.location_name.as_deref(), e.row.address.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        if !place.is_empty() {
            ev.location(&place.join(", "));
        } else if let Some(u) = &e.row.online_url {
            ev.location(u);
        }
        if let Some(c) = &coop {
            ev.add_property(
                "ORGANIZER",
                format!("CN={}:{}", c.name.replace([';', ':', '"'], " "), c.ap_id),
            );
        }
        cal.push(ev.done());
    }
    let body = cal.done().to_string();
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{}.ics\"", name.replace(['"', '\\', '/'], "")),
            ),
        ],
        body,
    )
        .into_response())
}

/// `/events.ics`: the co-op's calendar, upcoming events and those of the
/// last 30 days (so a just-cancelled or past event does not vanish).
async fn calendar_ics(State(state): State<AppState>) -> Result<Response, AppError> {
    let mut events =
        calendar::list_events(&state.ctx, &crate::service::Caller::Anonymous, false, 0, 500).await?;
    let since = crate::db::now() - chrono::Duration::days(30);
    events.retain(|e| e.row.ends_at.unwrap_or(e.row.starts_at) >= since);
    ics(&state, &events, "events").await
}

// ------------------------------------------------------------- the form

/// The form's fields as typed (numbers too, so that a wrong one is shown
/// back rather than lost).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct EventFields {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    starts_at: String,
    #[serde(default)]
    ends_at: String,
    #[serde(default)]
    timezone: String,
    #[serde(default)]
    location_name: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    latitude: String,
    #[serde(default)]
    longitude: String,
    #[serde(default)]
    online_url: String,
    #[serde(default)]
    capacity: String,
    #[serde(default)]
    closed: String,
    #[serde(default)]
    image_url: String,
    #[serde(default)]
    image_alt: String,
    #[serde(default)]
    visibility: String,
}

impl EventFields {
    fn of(e: &Event) -> EventFields {
        let tz = e.tz();
        let local = |t: chrono::NaiveDateTime| tz.from_utc_datetime(&t).format("%Y-%m-%dT%H:%M").to_string();
        EventFields {
            title: e.object.title.clone(),
            body: e.object.source.clone().unwrap_or_default(),
            starts_at: local(e.row.starts_at),
            ends_at: e.row.ends_at.map(local).unwrap_or_default(),
            timezone: e.row.timezone.clone(),
            location_name: e.row.location_name.clone().unwrap_or_default(),
            address: e.row.address.clone().unwrap_or_default(),
            latitude: e.row.latitude.map(|l| l.to_string()).unwrap_or_default(),
            longitude: e.row.longitude.map(|l| l.to_string()).unwrap_or_default(),
            online_url: e.row.online_url.clone().unwrap_or_default(),
            capacity: e.row.capacity.map(|c| c.to_string()).unwrap_or_default(),
            closed: if e.row.join_mode == calendar::JOIN_CLOSED {
                "on".into()
            } else {
                String::new()
            },
            image_url: e.object.image_url.clone().unwrap_or_default(),
            image_alt: e.object.image_alt.clone().unwrap_or_default(),
            visibility: e.object.visibility.clone(),
        }
    }

    /// The service's input; numbers that do not read are reported with the
    /// service's own checks, all at once.
    fn input(&self) -> (EventInput, Vec<(&'static str, String)>) {
        let mut errors = Vec::new();
        let mut number = |field: &'static str, raw: &str, what: &str| -> Option<f64> {
            let raw = raw.trim().replace(',', ".");
            if raw.is_empty() {
                return None;
            }
            match raw.parse::<f64>() {
                Ok(n) if n.is_finite() => Some(n),
                _ => {
                    errors.push((field, format!("{what} is a number, like 4.25.")));
                    None
                }
            }
        };
        let latitude = number("latitude", &self.latitude, "The latitude");
        let longitude = number("longitude", &self.longitude, "The longitude");
        let capacity = number("capacity", &self.capacity, "The capacity").map(|c| c as i64);
        (
            EventInput {
                title: self.title.clone(),
                body: self.body.clone(),
                starts_at: self.starts_at.clone(),
                ends_at: self.ends_at.clone(),
                timezone: self.timezone.clone(),
                location_name: self.location_name.clone(),
                address: self.address.clone(),
                latitude,
                longitude,
                online_url: self.online_url.clone(),
                capacity,
                join_mode: if self.closed == "on" {
                    calendar::JOIN_CLOSED.into()
                } else {
                    calendar::JOIN_FREE.into()
                },
                image_url: self.image_url.clone(),
                image_alt: self.image_alt.clone(),
                visibility: self.visibility.clone(),
            },
            errors,
        )
    }
}

#[derive(Deserialize)]
struct EventForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    fields: EventFields,
}

#[derive(Template)]
#[template(path = "event_form.html")]
struct FormPage {
    t: Tr,
    l: Layout,
    heading: String,
    action: String,
    submit: String,
    /// For an existing event: its slug (cancel and delete) and state.
    existing: Option<(String, bool)>,
    form: EventFields,
    error: Option<String>,
    errors: Vec<(&'static str, String)>,
    zones: Vec<&'static str>,
}
impl Page for FormPage {}

/// A form input: (name, label key, value, input type).
type Field<'a> = (&'static str, &'static str, &'a str, &'static str);

impl FormPage {
    fn field_error(&self, field: &str) -> Option<String> {
        super::field_messages(&self.errors, field)
    }

    fn top_fields(&self) -> Vec<Field<'_>> {
        let f = &self.form;
        vec![
            ("title", "events.f_title", &f.title, "text"),
            ("starts_at", "events.f_starts", &f.starts_at, "datetime-local"),
            ("ends_at", "events.f_ends", &f.ends_at, "datetime-local"),
        ]
    }

    fn place_fields(&self) -> Vec<Field<'_>> {
        let f = &self.form;
        vec![
            ("location_name", "events.f_place", &f.location_name, "text"),
            ("address", "events.f_address", &f.address, "text"),
            ("latitude", "events.f_latitude", &f.latitude, "text"),
            ("longitude", "events.f_longitude", &f.longitude, "text"),
            ("online_url", "events.f_online", &f.online_url, "url"),
            ("capacity", "events.f_capacity", &f.capacity, "number"),
            ("image_url", "events.f_image", &f.image_url, "url"),
            ("image_alt", "events.f_image_alt", &f.image_alt, "text"),
        ]
    }
}

/// Zones suggested in the form (any IANA name is accepted; the whole list
/// would weigh more than the page).
fn zones() -> Vec<&'static str> {
    vec![
        "UTC",
        "Europe/London",
        "Europe/Lisbon",
        "Europe/Paris",
        "Europe/Berlin",
        "Europe/Madrid",
        "Europe/Rome",
        "Europe/Athens",
        "Europe/Kyiv",
        "Europe/Istanbul",
        "Africa/Lagos",
        "Africa/Nairobi",
        "Africa/Johannesburg",
        "Africa/Cairo",
        "Asia/Kolkata",
        "Asia/Dhaka",
        "Asia/Jakarta",
        "Asia/Manila",
        "Asia/Tokyo",
        "Australia/Sydney",
        "America/Sao_Paulo",
        "America/Bogota",
        "America/Mexico_City",
        "America/New_York",
        "America/Chicago",
        "America/Denver",
        "America/Los_Angeles",
        "America/Toronto",
    ]
}

async fn form_page(
    state: &AppState,
    v: Visitor,
    existing: Option<&Event>,
    form: EventFields,
    errors: Vec<(&'static str, String)>,
) -> Result<FormPage, AppError> {
    let coop = coop::get_coop(&state.ctx).await?;
    let (heading, action, submit) = match existing {
        None => (
            v.t.get("events.heading_new").to_string(),
            "/events/new".to_string(),
            v.t.get("events.publish").to_string(),
        ),
        Some(e) => (
            v.t.get("events.heading_edit").to_string(),
            format!("/events/{}/edit", e.object.slug.as_deref().unwrap_or("")),
            v.t.get("events.save").to_string(),
        ),
    };
    let l = Layout::for_visitor(state, &v, &heading, coop.as_ref());
    let error = (!errors.is_empty()).then(|| v.t.fill("news.fix", &[("n", &errors.len().to_string())]));
    Ok(FormPage {
        existing: existing.map(|e| (e.object.slug.clone().unwrap_or_default(), e.is_cancelled())),
        t: v.t,
        l,
        heading,
        action,
        submit,
        form,
        error,
        errors,
        zones: zones(),
    })
}

async fn new_page(State(state): State<AppState>, v: Visitor) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Editor, "/events/new") {
        return Ok(r);
    }
    let form = EventFields {
        timezone: "UTC".into(),
        ..Default::default()
    };
    Ok(form_page(&state, v, None, form, Vec::new())
        .await?
        .respond(StatusCode::OK))
}

async fn create(
    State(state): State<AppState>,
    v: Visitor,
    WebForm(f): WebForm<EventForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Editor, "/events/new", &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let (input, mut errors) = f.fields.input();
    if !errors.is_empty() {
        // A number that does not read is not dropped: nothing is published.
        return Ok(form_page(&state, v, None, f.fields, errors)
            .await?
            .respond(StatusCode::UNPROCESSABLE_ENTITY));
    }
    match calendar::create_event(&state.ctx, &caller, &input).await {
        Ok(e) => Ok(Redirect::to(&format!("/events/{}", e.object.slug.unwrap_or_default())).into_response()),
        Err(e @ ServiceError::Invalid { .. }) => {
            errors.extend(e.field_errors());
            Ok(form_page(&state, v, None, f.fields, errors)
                .await?
                .respond(StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(e) => Err(e.into()),
    }
}

async fn edit_page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    v: Visitor,
) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Editor, &format!("/events/{slug}/edit")) {
        return Ok(r);
    }
    let event = calendar::get_event(&state.ctx, &slug).await?;
    if event.object.deleted_at.is_some() {
        return Err(AppError::new(StatusCode::GONE, "gone", "This event was deleted."));
    }
    let form = EventFields::of(&event);
    Ok(form_page(&state, v, Some(&event), form, Vec::new())
        .await?
        .respond(StatusCode::OK))
}

async fn update(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    v: Visitor,
    WebForm(f): WebForm<EventForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Editor, &format!("/events/{slug}/edit"), &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let event = calendar::get_event(&state.ctx, &slug).await?;
    let (input, mut errors) = f.fields.input();
    if !errors.is_empty() {
        return Ok(form_page(&state, v, Some(&event), f.fields, errors)
            .await?
            .respond(StatusCode::UNPROCESSABLE_ENTITY));
    }
    match calendar::update_event(&state.ctx, &caller, event.object.id, &input).await {
        Ok(_) => {
            let done = super::url_encode(v.t.get("events.saved"));
            Ok(Redirect::to(&format!("/events/{slug}?done={done}")).into_response())
        }
        Err(e @ ServiceError::Invalid { .. }) => {
            errors.extend(e.field_errors());
            Ok(form_page(&state, v, Some(&event), f.fields, errors)
                .await?
                .respond(StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
    /// `on` cancels, `off` reinstates; `yes`/`no` for RSVP.
    #[serde(default)]
    value: String,
}

async fn cancel(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    v: Visitor,
    WebForm(f): WebForm<ActionForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Editor, &format!("/events/{slug}"), &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let event = calendar::get_event(&state.ctx, &slug).await?;
    let cancelling = f.value != "off";
    if cancelling && f.confirm != "yes" {
        let heading =
            v.t.fill("events.cancel_heading", &[("title", &event.object.title)]);
        return super::Confirm {
            consequences: vec![v.t.fill(
                "events.cancel_consequence",
                &[("n", &event.participants.to_string())],
            )],
            action: format!("/events/{slug}/cancel"),
            fields: vec![("value".into(), "on".into())],
            confirm_label: v.t.get("events.cancel").to_string(),
            cancel: format!("/events/{slug}"),
            heading,
        }
        .page(&state, v)
        .await;
    }
    calendar::set_cancelled(&state.ctx, &caller, event.object.id, cancelling).await?;
    let done = super::url_encode(v.t.get(if cancelling {
        "events.cancelled_done"
    } else {
        "events.reinstated"
    }));
    Ok(Redirect::to(&format!("/events/{slug}?done={done}")).into_response())
}

async fn delete(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    v: Visitor,
    WebForm(f): WebForm<ActionForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Editor, &format!("/events/{slug}"), &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let event = calendar::get_event(&state.ctx, &slug).await?;
    if f.confirm != "yes" {
        let heading =
            v.t.fill("news.delete_confirm_heading", &[("title", &event.object.title)]);
        return super::Confirm {
            consequences: vec![
                v.t.get("events.delete_consequence").to_string(),
                v.t.get("news.delete_irreversible").to_string(),
            ],
            action: format!("/events/{slug}/delete"),
            fields: vec![],
            confirm_label: v.t.get("events.delete").to_string(),
            cancel: format!("/events/{slug}"),
            heading,
        }
        .page(&state, v)
        .await;
    }
    calendar::delete_event(&state.ctx, &caller, event.object.id).await?;
    let done = super::url_encode(&v.t.fill("events.deleted", &[("title", &event.object.title)]));
    Ok(Redirect::to(&format!("/events?done={done}")).into_response())
}

async fn rsvp(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    v: Visitor,
    WebForm(f): WebForm<ActionForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Member, &format!("/events/{slug}"), &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let event = calendar::get_event(&state.ctx, &slug).await?;
    let going = f.value != "no";
    match calendar::rsvp(&state.ctx, &caller, event.object.id, going).await {
        Ok(_) => {
            let done = super::url_encode(v.t.get(if going {
                "events.rsvp_yes_done"
            } else {
                "events.rsvp_no_done"
            }));
            Ok(Redirect::to(&format!("/events/{slug}?done={done}")).into_response())
        }
        Err(ServiceError::Conflict(why)) => {
            render(&state, v, event, None, Some(why), StatusCode::CONFLICT).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "attendees.html")]
struct AttendeesPage {
    t: Tr,
    l: Layout,
    slug: String,
    title: String,
    list: Vec<(String, Actor)>,
}
impl Page for AttendeesPage {}

#[derive(Deserialize)]
struct AttendeesQuery {
    format: Option<String>,
}

async fn attendees(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<AttendeesQuery>,
    v: Visitor,
) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Editor, &format!("/events/{slug}/attendees")) {
        return Ok(r);
    }
    let event = calendar::get_event(&state.ctx, &slug).await?;
    let list = calendar::attendees(&state.ctx, &v.caller(), event.object.id).await?;
    if q.format.as_deref() == Some("csv") {
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{slug}-attendees.csv\""),
                ),
            ],
            calendar::attendees_csv(&list),
        )
            .into_response());
    }
    let coop = coop::get_coop(&state.ctx).await?;
    let title =
        v.t.fill("events.attendees_title", &[("title", &event.object.title)]);
    let l = Layout::for_visitor(&state, &v, &title, coop.as_ref());
    Ok(AttendeesPage {
        list: list
            .into_iter()
            .map(|(at, a)| (at.format("%Y-%m-%d %H:%M UTC").to_string(), a))
            .collect(),
        slug,
        title,
        t: v.t,
        l,
    }
    .respond(StatusCode::OK))
}
