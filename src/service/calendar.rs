//! Events: the co-op's meetings and days out, and who comes. Each change is
//! written with its domain event in one transaction; federation turns them
//! into Create/Update/Delete of an `Event` (to the followers and to everyone
//! who joined) and into the Accept or Reject of a Join. No ActivityPub here.

use chrono::{NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use super::events::{self, DomainEvent};
use super::text::{first_paragraph, normalize_newlines, render_markdown};
use super::types::{optional_url, UserRole};
use super::{coop, people, Caller, Ctx, FieldErrors, ServiceError, ServiceResult};
use crate::db::models::{Actor, ContentKind, EventRow, NewObject, Object};
use crate::db::now;
use crate::db::queries::{accounts as accounts_q, calendar as calendar_q, content, outbox as outbox_q};

pub const KIND: ContentKind = ContentKind::Event;

/// Anyone may join (up to the capacity).
pub const JOIN_FREE: &str = "free";
/// No new participants.
pub const JOIN_CLOSED: &str = "closed";

/// What an editor types, or a script sends.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct EventInput {
    #[serde(default)]
    pub title: String,
    /// Markdown.
    #[serde(default)]
    pub body: String,
    /// `2026-12-24T18:00` in the event's time zone, or RFC 3339 with an offset.
    #[serde(default)]
    pub starts_at: String,
    #[serde(default)]
    pub ends_at: String,
    /// An IANA zone such as `Europe/Paris`; empty: UTC.
    #[serde(default)]
    pub timezone: String,
    #[serde(default)]
    pub location_name: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub latitude: Option<f64>,
    #[serde(default)]
    pub longitude: Option<f64>,
    #[serde(default)]
    pub online_url: String,
    #[serde(default)]
    pub capacity: Option<i64>,
    /// `free` or `closed`.
    #[serde(default)]
    pub join_mode: String,
    /// A picture (an upload's address, or any https image) and its description.
    #[serde(default)]
    pub image_url: String,
    #[serde(default)]
    pub image_alt: String,
    /// `public` (default), `unlisted`, `followers` or `members`; fixed once published.
    #[serde(default)]
    pub visibility: String,
}

/// An event as pages, feeds and peers show it.
#[derive(Debug, Clone)]
pub struct Event {
    pub object: Object,
    pub row: EventRow,
    pub participants: i64,
}

impl Event {
    pub fn tz(&self) -> Tz {
        self.row.timezone.parse().unwrap_or(Tz::UTC)
    }

    pub fn is_cancelled(&self) -> bool {
        self.row.cancelled_at.is_some()
    }

    /// Places left, when there is a capacity.
    pub fn remaining(&self) -> Option<i64> {
        self.row.capacity.map(|c| (c - self.participants).max(0))
    }

    /// Why a new participant cannot join now, if they cannot.
    pub fn closed_because(&self) -> Option<&'static str> {
        if self.object.deleted_at.is_some() {
            Some("This event was deleted.")
        } else if self.is_cancelled() {
            Some("This event is cancelled.")
        } else if self.row.join_mode == JOIN_CLOSED {
            Some("This event takes no new participants.")
        } else if self.remaining() == Some(0) {
            Some("This event is full.")
        } else if self.row.ends_at.unwrap_or(self.row.starts_at) < now() {
            Some("This event is over.")
        } else {
            None
        }
    }
}

/// Reads a time as people and scripts write it: RFC 3339 (its offset is
/// kept), or a local date and time in `tz` (a form's datetime-local).
pub fn parse_local_time(field: &'static str, raw: &str, tz: Tz) -> ServiceResult<Option<NaiveDateTime>> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(raw) {
        return Ok(Some(t.naive_utc()));
    }
    for format in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(raw, format) {
            // A time skipped by a clock change reads as the hour after.
            let local = tz.from_local_datetime(&t).earliest().or_else(|| {
                tz.from_local_datetime(&(t + chrono::Duration::hours(1)))
                    .earliest()
            });
            if let Some(local) = local {
                return Ok(Some(local.naive_utc()));
            }
        }
    }
    Err(ServiceError::invalid(
        field,
        "Give the time as 2026-12-24T18:00 (in the event's time zone), or leave it empty.",
    ))
}

#[derive(Debug)]
struct Checked {
    title: String,
    summary: String,
    source: String,
    html: String,
    image_url: Option<String>,
    image_alt: Option<String>,
    row: EventRow,
}

fn optional_text(raw: &str) -> Option<String> {
    Some(raw.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|s| !s.is_empty())
}

fn check(input: &EventInput, local_mode: bool) -> ServiceResult<Checked> {
    let mut errors = FieldErrors::default();
    for (field, text) in [
        ("title", &input.title),
        ("body", &input.body),
        ("location_name", &input.location_name),
        ("address", &input.address),
    ] {
        if text.contains('\0') {
            errors.add(
                field,
                "The text contains a NUL character: remove it and try again.",
            );
        }
    }
    let title = input.title.trim().to_string();
    if title.is_empty() || title.chars().count() > 200 {
        errors.add("title", "Give the event a title of 1 to 200 characters.");
    }
    let source = normalize_newlines(input.body.trim());
    if source.len() > 100_000 {
        errors.add("body", "The text is too long: keep it under 100,000 characters.");
    }
    let zone = input.timezone.trim();
    let tz: Tz = if zone.is_empty() {
        Tz::UTC
    } else {
        match zone.parse() {
            Ok(tz) => tz,
            Err(_) => {
                errors.add(
                    "timezone",
                    format!("Unknown time zone {zone:?}: use a name such as Europe/Paris or America/Bogota."),
                );
                Tz::UTC
            }
        }
    };
    let starts_at = errors
        .take(parse_local_time("starts_at", &input.starts_at, tz))?
        .flatten();
    if starts_at.is_none() && !errors.has("starts_at") {
        errors.add("starts_at", "Say when the event starts, as 2026-12-24T18:00.");
    }
    let ends_at = errors
        .take(parse_local_time("ends_at", &input.ends_at, tz))?
        .flatten();
    for (field, t) in [("starts_at", starts_at), ("ends_at", ends_at)] {
        use chrono::Datelike;
        if t.is_some_and(|t| !(1970..=2200).contains(&t.year())) {
            errors.add(field, "Give a date between 1970 and 2200.");
        }
    }
    if let (Some(s), Some(e)) = (starts_at, ends_at) {
        if e < s {
            errors.add("ends_at", "The event ends before it starts: check the end time.");
        }
    }
    let location_name = optional_text(&input.location_name);
    let address = optional_text(&input.address);
    for (field, value, limit) in [("location_name", &location_name, 200), ("address", &address, 500)] {
        if value.as_ref().is_some_and(|v| v.chars().count() > limit) {
            errors.add(field, format!("Keep it under {limit} characters."));
        }
    }
    if input
        .latitude
        .is_some_and(|l| !(-90.0..=90.0).contains(&l) || !l.is_finite())
    {
        errors.add("latitude", "The latitude is between -90 and 90.");
    }
    if input
        .longitude
        .is_some_and(|l| !(-180.0..=180.0).contains(&l) || !l.is_finite())
    {
        errors.add("longitude", "The longitude is between -180 and 180.");
    }
    if input.latitude.is_some() != input.longitude.is_some() {
        errors.add(
            "longitude",
            "Give both the latitude and the longitude, or neither.",
        );
    }
    let online_url = errors
        .take(optional_url("online_url", &input.online_url))?
        .flatten();
    if input.capacity.is_some_and(|c| !(1..=1_000_000).contains(&c)) {
        errors.add(
            "capacity",
            "The capacity is a number of people, at least 1; leave it empty for no limit.",
        );
    }
    let image_url = errors
        .take(optional_url("image_url", &input.image_url))?
        .flatten();
    if image_url.as_deref().is_some_and(|u| u.starts_with("http:")) && !local_mode {
        errors.add(
            "image_url",
            "The picture's address must start with https:// (browsers do not show http images on a secure site).",
        );
    }
    let image_alt = optional_text(&input.image_alt);
    if image_url.is_some() && image_alt.is_none() {
        errors.add("image_alt", "Describe the picture for people who cannot see it.");
    }
    let join_mode = match input.join_mode.trim() {
        "" | JOIN_FREE => JOIN_FREE,
        JOIN_CLOSED => JOIN_CLOSED,
        other => {
            errors.add(
                "join_mode",
                format!("Unknown join mode {other:?}: use free or closed."),
            );
            JOIN_FREE
        }
    };
    errors.finish()?;
    let summary = if source.is_empty() {
        String::new()
    } else {
        first_paragraph(&source)
    };
    Ok(Checked {
        html: render_markdown(&source),
        title,
        summary,
        source,
        image_alt: image_alt.filter(|_| image_url.is_some()),
        image_url,
        row: EventRow {
            object_id: 0,
            starts_at: starts_at.unwrap_or_default(),
            ends_at,
            timezone: tz.name().to_string(),
            location_name,
            address,
            latitude: input.latitude,
            longitude: input.longitude,
            online_url,
            capacity: input.capacity,
            join_mode: join_mode.into(),
            category: Some("MEETING".into()),
            comments_enabled: true,
            cancelled_at: None,
        },
    })
}

async fn the_coop(ctx: &Ctx) -> ServiceResult<Actor> {
    coop::get_coop(ctx)
        .await?
        .ok_or_else(|| ServiceError::NotFound("The co-op is not set up yet.".into()))
}

/// Publishes an event as the co-op; its followers get a Create(Event).
pub async fn create_event(ctx: &Ctx, caller: &Caller, input: &EventInput) -> ServiceResult<Event> {
    let by_user = caller.require(UserRole::Editor)?;
    let checked = check(input, ctx.config.local_mode())?;
    let visibility = super::objects::content_visibility(&input.visibility)?;
    let coop = the_coop(ctx).await?;
    let at = now();
    let mut tx = ctx.db.begin().await?;
    let (id, slug) = super::objects::insert_local(
        &mut tx,
        &ctx.config,
        KIND,
        NewObject {
            ap_type: "Event".into(),
            author_id: coop.id,
            visibility: visibility.as_str().into(),
            title: checked.title,
            summary: checked.summary,
            content_html: checked.html,
            source: Some(checked.source),
            image_url: checked.image_url,
            image_alt: checked.image_alt,
            published_at: Some(at),
            created_at: at,
            ..Default::default()
        },
    )
    .await?;
    calendar_q::insert(
        &mut tx,
        &EventRow {
            object_id: id,
            ..checked.row
        },
    )
    .await?;
    events::record(&mut tx, &DomainEvent::EventPublished { id }, None).await?;
    accounts_q::audit(&mut tx, Some(by_user), "event.publish", &slug).await?;
    tx.commit().await?;
    tracing::info!(slug = %slug, "event published");
    get_event_by_id(ctx, id).await
}

/// Saves an edit; followers and participants get an Update(Event).
pub async fn update_event(ctx: &Ctx, caller: &Caller, id: i64, input: &EventInput) -> ServiceResult<Event> {
    let by_user = caller.require(UserRole::Editor)?;
    let existing = get_event_by_id(ctx, id).await?;
    if existing.object.deleted_at.is_some() {
        return Err(ServiceError::NotFound("This event was deleted.".into()));
    }
    let checked = check(input, ctx.config.local_mode())?;
    super::objects::edited_visibility(&existing.object, &input.visibility, true)?;
    let mut tx = ctx.db.begin().await?;
    content::update_content(
        &mut tx,
        id,
        &content::ContentChange {
            title: &checked.title,
            summary: &checked.summary,
            content_html: &checked.html,
            source: &checked.source,
            image_url: checked.image_url.as_deref(),
            image_alt: checked.image_alt.as_deref(),
        },
    )
    .await?;
    calendar_q::update(
        &mut tx,
        &EventRow {
            object_id: id,
            cancelled_at: existing.row.cancelled_at,
            category: existing.row.category.clone(),
            comments_enabled: existing.row.comments_enabled,
            ..checked.row
        },
    )
    .await?;
    events::record(&mut tx, &DomainEvent::EventUpdated { id }, None).await?;
    accounts_q::audit(
        &mut tx,
        Some(by_user),
        "event.update",
        existing.object.slug.as_deref().unwrap_or(""),
    )
    .await?;
    tx.commit().await?;
    get_event_by_id(ctx, id).await
}

/// Cancels (or, with `cancelled` false, reinstates) an event: it stays on
/// its page and in calendars, marked as cancelled, and everyone hears of it.
pub async fn set_cancelled(ctx: &Ctx, caller: &Caller, id: i64, cancelled: bool) -> ServiceResult<Event> {
    let by_user = caller.require(UserRole::Editor)?;
    let existing = get_event_by_id(ctx, id).await?;
    if existing.object.deleted_at.is_some() {
        return Err(ServiceError::NotFound("This event was deleted.".into()));
    }
    if existing.is_cancelled() == cancelled {
        return Ok(existing);
    }
    let mut tx = ctx.db.begin().await?;
    calendar_q::update(
        &mut tx,
        &EventRow {
            cancelled_at: cancelled.then(now),
            ..existing.row.clone()
        },
    )
    .await?;
    content::touch(&mut tx, id).await?;
    events::record(&mut tx, &DomainEvent::EventUpdated { id }, None).await?;
    let action = if cancelled {
        "event.cancel"
    } else {
        "event.reinstate"
    };
    accounts_q::audit(
        &mut tx,
        Some(by_user),
        action,
        existing.object.slug.as_deref().unwrap_or(""),
    )
    .await?;
    tx.commit().await?;
    get_event_by_id(ctx, id).await
}

/// Deletes an event: its URL answers 410 and everyone gets a Delete.
pub async fn delete_event(ctx: &Ctx, caller: &Caller, id: i64) -> ServiceResult<()> {
    let by_user = caller.require(UserRole::Editor)?;
    let existing = get_event_by_id(ctx, id).await?;
    if existing.object.deleted_at.is_some() {
        return Ok(());
    }
    let mut tx = ctx.db.begin().await?;
    content::mark_deleted(&mut tx, id).await?;
    outbox_q::redact_outbox_for_object(&mut tx, id).await?;
    events::record(&mut tx, &DomainEvent::EventDeleted { id }, None).await?;
    accounts_q::audit(
        &mut tx,
        Some(by_user),
        "event.delete",
        existing.object.slug.as_deref().unwrap_or(""),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// An event by its object, with its own fields and its participant count
/// (federation builds its document from this).
pub async fn event_on(conn: &mut crate::db::PooledConn, object: Object) -> ServiceResult<Event> {
    let row = calendar_q::find(conn, object.id)
        .await?
        .ok_or_else(|| ServiceError::Internal(format!("event {} has no event row", object.id)))?;
    let participants = calendar_q::count(conn, object.id).await?;
    Ok(Event {
        object,
        row,
        participants,
    })
}

pub async fn get_event_by_id(ctx: &Ctx, id: i64) -> ServiceResult<Event> {
    let mut conn = ctx.db.conn().await?;
    let object = super::objects::find_local(&mut conn, KIND, id).await?;
    event_on(&mut conn, object).await
}

pub async fn get_event(ctx: &Ctx, slug: &str) -> ServiceResult<Event> {
    let mut conn = ctx.db.conn().await?;
    let object = super::objects::find_local_by_slug(&mut conn, KIND, slug).await?;
    event_on(&mut conn, object).await
}

/// Events `caller` may read (members also see members-only ones): with
/// `upcoming`, those not over yet, soonest first; otherwise all, latest first.
pub async fn list_events(
    ctx: &Ctx,
    caller: &Caller,
    upcoming: bool,
    page: i64,
    per_page: i64,
) -> ServiceResult<Vec<Event>> {
    let shown = super::member_links::listed(ctx, caller).await?;
    let mut conn = ctx.db.conn().await?;
    let rows = calendar_q::list(
        &mut conn,
        upcoming.then(now),
        shown,
        page.clamp(0, 1_000_000) * per_page,
        per_page,
    )
    .await?;
    let ids: Vec<i64> = rows.iter().map(|(o, _)| o.id).collect();
    let counts = calendar_q::counts(&mut conn, &ids).await?;
    let mut out = Vec::with_capacity(rows.len());
    for (object, row) in rows {
        let participants = counts.get(&object.id).copied().unwrap_or(0);
        out.push(Event {
            object,
            row,
            participants,
        });
    }
    Ok(out)
}

/// What came of a Join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinOutcome {
    Accepted,
    Rejected(&'static str),
}

/// A remote actor's Join: accepted while there is room, else rejected;
/// either way they get an answer naming their Join. A repeated Join of a
/// participant is accepted again (their first Accept may have been lost).
pub async fn receive_join(
    ctx: &Ctx,
    remote: &Actor,
    event_ap_id: &str,
    join_id: &str,
) -> ServiceResult<Option<JoinOutcome>> {
    // An event not open to all takes Joins from those who may read it;
    // anyone else is answered as for an unknown event.
    let found = {
        let mut conn = ctx.db.conn().await?;
        content::find_by_ap_id(&mut conn, event_ap_id).await?
    };
    if let Some(o) = found.filter(|o| o.kind == KIND.as_str() && o.local) {
        if !super::conversation::readable(ctx, &Caller::Remote { actor: remote.id }, &o).await? {
            tracing::info!(actor = %remote.ap_id, event = %event_ap_id, "Join refused: not for this actor");
            return Ok(None);
        }
    }
    let mut tx = ctx.db.begin().await?;
    let Some(object) = content::find_by_ap_id(&mut tx, event_ap_id)
        .await?
        .filter(|o| o.kind == KIND.as_str() && o.local)
    else {
        return Ok(None);
    };
    calendar_q::lock(&mut tx, object.id).await?;
    let event = event_on(&mut tx, object).await?;
    let already = calendar_q::is_participant(&mut tx, event.object.id, remote.id).await?;
    let outcome = match event.closed_because() {
        _ if already => {
            // The newest Join is the one an Undo will name.
            calendar_q::set_join_id(&mut tx, event.object.id, remote.id, join_id).await?;
            JoinOutcome::Accepted
        }
        Some(why) => JoinOutcome::Rejected(why),
        None => {
            calendar_q::join(&mut tx, event.object.id, remote.id, Some(join_id)).await?;
            rsvp_notice(&mut tx, &ctx.config, &event.object, remote).await?;
            JoinOutcome::Accepted
        }
    };
    events::record(
        &mut tx,
        &DomainEvent::JoinAnswered {
            object: event.object.id,
            remote: remote.id,
            join_id: join_id.to_string(),
            accepted: outcome == JoinOutcome::Accepted,
        },
        None,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(actor = %remote.ap_id, event = %event_ap_id, ?outcome, "join answered");
    Ok(Some(outcome))
}

/// A remote actor's Leave of an event (or Undo of their Join).
pub async fn receive_leave(ctx: &Ctx, remote: &Actor, event_ap_id: &str) -> ServiceResult<bool> {
    let mut conn = ctx.db.write().await?;
    let Some(object) = content::find_by_ap_id(&mut conn, event_ap_id).await? else {
        return Ok(false);
    };
    let left = calendar_q::leave(&mut conn, object.id, remote.id).await?;
    if left {
        tracing::info!(actor = %remote.ap_id, event = %event_ap_id, "participant left");
    }
    Ok(left)
}

/// Undo of a Join named by its id.
pub async fn receive_undo_join(ctx: &Ctx, remote: &Actor, join_id: &str) -> ServiceResult<bool> {
    let mut conn = ctx.db.write().await?;
    match calendar_q::find_by_join(&mut conn, join_id).await? {
        Some((object_id, actor_id)) if actor_id == remote.id => {
            Ok(calendar_q::leave(&mut conn, object_id, actor_id).await?)
        }
        _ => Ok(false),
    }
}

/// A logged-in user says they come (or no longer come).
pub async fn rsvp(ctx: &Ctx, caller: &Caller, id: i64, going: bool) -> ServiceResult<Event> {
    let Caller::User { id: user_id, .. } = caller else {
        return Err(ServiceError::Unauthorized("Log in to say you are coming.".into()));
    };
    caller.require(UserRole::Member)?;
    let event = get_event_by_id(ctx, id).await?;
    if !super::conversation::readable(ctx, caller, &event.object).await? {
        return Err(ServiceError::NotFound(format!("There is no event with id {id}.")));
    }
    let person = people::person_of(ctx, *user_id).await?;
    let mut tx = ctx.db.begin().await?;
    if going {
        calendar_q::lock(&mut tx, id).await?;
        let object = content::find(&mut tx, id)
            .await?
            .ok_or_else(|| ServiceError::NotFound("This event is gone.".into()))?;
        let event = event_on(&mut tx, object).await?;
        let already = calendar_q::is_participant(&mut tx, id, person.id).await?;
        if !already {
            if let Some(why) = event.closed_because() {
                return Err(ServiceError::Conflict(why.into()));
            }
            calendar_q::join(&mut tx, id, person.id, None).await?;
            rsvp_notice(&mut tx, &ctx.config, &event.object, &person).await?;
        }
    } else {
        calendar_q::leave(&mut tx, id, person.id).await?;
    }
    tx.commit().await?;
    get_event_by_id(ctx, id).await
}

/// The co-op's editors (who organise its events) hear of each new RSVP.
async fn rsvp_notice(
    conn: &mut crate::db::PooledConn,
    config: &crate::config::Config,
    event: &Object,
    who: &Actor,
) -> ServiceResult<()> {
    let name = if who.name.is_empty() {
        format!("@{}@{}", who.handle, who.domain)
    } else {
        who.name.clone()
    };
    super::notifications::notify_role(
        conn,
        config,
        UserRole::Editor,
        &super::notifications::Notice::new(
            super::notifications::NoticeKind::Rsvp,
            Some(who.id),
            &format!("{name} is going to \u{201c}{}\u{201d}", event.title),
            &super::notifications::local_path(config, event),
        ),
    )
    .await
}

/// Whether the user is down as coming.
pub async fn is_going(ctx: &Ctx, user_actor: Option<i64>, id: i64) -> ServiceResult<bool> {
    let Some(actor_id) = user_actor else {
        return Ok(false);
    };
    let mut conn = ctx.db.conn().await?;
    Ok(calendar_q::is_participant(&mut conn, id, actor_id).await?)
}

/// Who comes, for the organisers.
pub async fn attendees(ctx: &Ctx, caller: &Caller, id: i64) -> ServiceResult<Vec<(NaiveDateTime, Actor)>> {
    caller.require(UserRole::Editor)?;
    let mut conn = ctx.db.conn().await?;
    Ok(calendar_q::participants(&mut conn, id).await?)
}

/// The attendee list as CSV (RFC 4180), for a spreadsheet.
pub fn attendees_csv(list: &[(NaiveDateTime, Actor)]) -> String {
    let field = super::text::csv_field;
    let mut out = String::from("name,account,profile,joined_at\r\n");
    for (at, actor) in list {
        // Without the leading @, which spreadsheets read as a formula.
        let account = format!("{}@{}", actor.handle, actor.domain);
        out.push_str(&format!(
            "{},{},{},{}\r\n",
            field(&actor.name),
            field(&account),
            field(&actor.ap_id),
            at.format("%Y-%m-%dT%H:%M:%SZ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> EventInput {
        EventInput {
            title: "General meeting".into(),
            body: "Agenda: the budget.".into(),
            starts_at: "2030-04-12T18:00".into(),
            ends_at: "2030-04-12T20:00".into(),
            timezone: "Europe/Paris".into(),
            ..Default::default()
        }
    }

    #[test]
    fn local_times_are_read_in_the_event_zone() {
        let c = check(&input(), false).unwrap();
        // 18:00 in Paris in April 2030 (summer time) is 16:00 UTC.
        assert_eq!(c.row.starts_at.to_string(), "2030-04-12 16:00:00");
        assert_eq!(c.row.timezone, "Europe/Paris");
        let rfc = EventInput {
            starts_at: "2030-04-12T18:00:00+02:00".into(),
            ..input()
        };
        assert_eq!(check(&rfc, false).unwrap().row.starts_at, c.row.starts_at);
    }

    #[test]
    fn every_problem_is_reported() {
        let bad = EventInput {
            title: "".into(),
            starts_at: "tomorrow".into(),
            timezone: "Mars/Olympus".into(),
            latitude: Some(91.0),
            capacity: Some(0),
            online_url: "javascript:alert(1)".into(),
            ..Default::default()
        };
        let fields: Vec<&str> = check(&bad, false)
            .unwrap_err()
            .field_errors()
            .iter()
            .map(|(f, _)| *f)
            .collect();
        for f in [
            "title",
            "timezone",
            "starts_at",
            "latitude",
            "longitude",
            "online_url",
            "capacity",
        ] {
            assert!(fields.contains(&f), "{f} in {fields:?}");
        }
        let backwards = EventInput {
            ends_at: "2030-04-12T17:00".into(),
            ..input()
        };
        assert!(matches!(
            check(&backwards, false),
            Err(ServiceError::Invalid { field: "ends_at", .. })
        ));
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let actor = Actor {
            name: "=HYPERLINK(\"x\")".into(),
            handle: "ann".into(),
            domain: "peer.example".into(),
            ap_id: "https://peer.example/u/ann".into(),
            ..Default::default()
        };
        let csv = attendees_csv(&[(NaiveDateTime::default(), actor)]);
        assert!(csv.starts_with("name,account,profile,joined_at\r\n"));
        assert!(
            csv.contains("\"'=HYPERLINK(\"\"x\"\")\",ann@peer.example,"),
            "{csv}"
        );
    }
}
