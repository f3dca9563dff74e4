//! Polls: a question with options, open until a time. Fediverse users vote
//! from their own apps (federation reads their vote and calls `receive_vote`),
//! local users on the web. New counts go out as an update shortly after a
//! vote (votes in the same few seconds share it), and the final counts at
//! the closing time, from an event recorded when the poll was made.

use chrono::NaiveDateTime;

use super::events::{self, DomainEvent};
use super::text::escape_html;
use super::types::UserRole;
use super::{coop, people, Caller, Ctx, FieldErrors, ServiceError, ServiceResult};
use crate::db::models::{Actor, ContentKind, NewObject, Object, PollOption, PollRow};
use crate::db::now;
use crate::db::queries::{
    accounts as accounts_q, content, events as event_q, outbox as outbox_q, polls as poll_q,
};

pub const KIND: ContentKind = ContentKind::Poll;

/// How long new counts wait for more votes before they go out.
const UPDATE_DELAY_SECS: i64 = 2;

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct PollInput {
    #[serde(default)]
    pub question: String,
    #[serde(default)]
    pub options: Vec<String>,
    /// Several options per voter (`anyOf`), rather than one (`oneOf`).
    #[serde(default)]
    pub multiple: bool,
    /// RFC 3339, or `YYYY-MM-DDTHH:MM` in UTC.
    #[serde(default)]
    pub closes_at: String,
    /// `public` (default), `unlisted`, `followers` or `members`.
    #[serde(default)]
    pub visibility: String,
}

#[derive(Debug, Clone)]
pub struct Poll {
    pub object: Object,
    pub row: PollRow,
    /// Options in order, with their vote counts.
    pub options: Vec<(PollOption, i64)>,
    pub voters: i64,
}

impl Poll {
    pub fn is_closed(&self) -> bool {
        self.row.closes_at <= now()
    }
}

#[derive(Debug)]
struct Checked {
    question: String,
    options: Vec<String>,
    closes_at: NaiveDateTime,
}

fn check(input: &PollInput) -> ServiceResult<Checked> {
    let mut errors = FieldErrors::default();
    let question = input.question.split_whitespace().collect::<Vec<_>>().join(" ");
    if question.is_empty() || question.chars().count() > 300 || question.contains('\0') {
        errors.add("question", "Ask a question of 1 to 300 characters.");
    }
    let mut options: Vec<String> = Vec::new();
    for raw in &input.options {
        let o = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if o.is_empty() {
            continue;
        }
        if o.chars().count() > 100 || o.contains('\0') {
            errors.add(
                "options",
                format!("Keep each option under 100 characters: {o:.40}..."),
            );
        } else if options.contains(&o) {
            errors.add("options", format!("The option {o:?} is there twice."));
        } else {
            options.push(o);
        }
    }
    if !(2..=10).contains(&options.len()) {
        errors.add("options", "Give 2 to 10 different options.");
    }
    let closes_at = errors.take(super::news::parse_publish_time(&input.closes_at).map_err(|_| {
        ServiceError::invalid(
            "closes_at",
            "Give the closing time as 2026-12-24T18:00 (UTC) or in RFC 3339.",
        )
    }))?;
    let closes_at = match closes_at {
        Some(Some(t)) if t <= now() => {
            errors.add("closes_at", "The closing time is in the past: pick a later one.");
            None
        }
        Some(Some(t)) if t > now() + chrono::Duration::days(366) => {
            errors.add("closes_at", "A poll stays open for at most a year.");
            None
        }
        Some(Some(t)) => Some(t),
        Some(None) => {
            errors.add("closes_at", "Say when the poll closes.");
            None
        }
        None => None,
    };
    errors.finish()?;
    Ok(Checked {
        question,
        options,
        closes_at: closes_at.unwrap_or_default(),
    })
}

/// Publishes a poll as the co-op. Its close is recorded now, due at its
/// end, so the final counts federate without anyone asking.
pub async fn create_poll(ctx: &Ctx, caller: &Caller, input: &PollInput) -> ServiceResult<Poll> {
    let by_user = caller.require(UserRole::Editor)?;
    let checked = check(input)?;
    let visibility = super::objects::content_visibility(&input.visibility)?;
    let coop = coop::get_coop(ctx)
        .await?
        .ok_or_else(|| ServiceError::NotFound("The co-op is not set up yet.".into()))?;
    let at = now();
    let mut tx = ctx.db.begin().await?;
    let (id, slug) = super::objects::insert_local(
        &mut tx,
        &ctx.config,
        KIND,
        NewObject {
            ap_type: "Question".into(),
            author_id: coop.id,
            visibility: visibility.as_str().into(),
            title: checked.question.clone(),
            summary: String::new(),
            content_html: format!("<p>{}</p>", escape_html(&checked.question)),
            source: Some(checked.question),
            published_at: Some(at),
            created_at: at,
            ..Default::default()
        },
    )
    .await?;
    poll_q::insert(
        &mut tx,
        &PollRow {
            object_id: id,
            multiple: input.multiple,
            closes_at: checked.closes_at,
        },
        &checked.options,
    )
    .await?;
    events::record(&mut tx, &DomainEvent::PollPublished { id }, None).await?;
    events::record(&mut tx, &DomainEvent::PollUpdated { id }, Some(checked.closes_at)).await?;
    accounts_q::audit(&mut tx, Some(by_user), "poll.publish", &slug).await?;
    tx.commit().await?;
    get_poll_by_id(ctx, id).await
}

pub async fn delete_poll(ctx: &Ctx, caller: &Caller, id: i64) -> ServiceResult<()> {
    let by_user = caller.require(UserRole::Editor)?;
    let poll = get_poll_by_id(ctx, id).await?;
    if poll.object.deleted_at.is_some() {
        return Ok(());
    }
    let mut tx = ctx.db.begin().await?;
    content::mark_deleted(&mut tx, id).await?;
    outbox_q::redact_outbox_for_object(&mut tx, id).await?;
    // The close would federate counts of a poll that is gone.
    event_q::finish_events_about(&mut tx, DomainEvent::PollUpdated { id }.kind(), id).await?;
    events::record(&mut tx, &DomainEvent::PollDeleted { id }, None).await?;
    accounts_q::audit(
        &mut tx,
        Some(by_user),
        "poll.delete",
        poll.object.slug.as_deref().unwrap_or(""),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn poll_on(conn: &mut crate::db::PooledConn, object: Object) -> ServiceResult<Poll> {
    let row = poll_q::find(conn, object.id)
        .await?
        .ok_or_else(|| ServiceError::Internal(format!("poll {} has no poll row", object.id)))?;
    let options = poll_q::options(conn, object.id).await?;
    let voters = poll_q::voters(conn, object.id).await?;
    Ok(Poll {
        object,
        row,
        options,
        voters,
    })
}

pub async fn get_poll_by_id(ctx: &Ctx, id: i64) -> ServiceResult<Poll> {
    let mut conn = ctx.db.conn().await?;
    let object = super::objects::find_local(&mut conn, KIND, id).await?;
    poll_on(&mut conn, object).await
}

pub async fn get_poll(ctx: &Ctx, slug: &str) -> ServiceResult<Poll> {
    let mut conn = ctx.db.conn().await?;
    let object = super::objects::find_local_by_slug(&mut conn, KIND, slug).await?;
    poll_on(&mut conn, object).await
}

/// Polls `caller` may read (members also see members-only ones), newest
/// first; `open_only` keeps those still open.
pub async fn list_polls(
    ctx: &Ctx,
    caller: &Caller,
    open_only: bool,
    page: i64,
    per_page: i64,
) -> ServiceResult<Vec<Poll>> {
    let shown = super::member_links::listed(ctx, caller).await?;
    let mut conn = ctx.db.conn().await?;
    let objects = if open_only {
        // Open ones are chosen in the query, so a page of closed polls
        // cannot hide older open ones.
        let mut open = Vec::new();
        for id in poll_q::open_ids(&mut conn, now(), 200).await? {
            if let Some(o) = content::find(&mut conn, id).await? {
                let published = super::news::publication(&o) == super::news::Publication::Published;
                if o.deleted_at.is_none() && published && shown.contains(&o.visibility.as_str()) {
                    open.push(o);
                }
            }
            if open.len() as i64 >= per_page {
                break;
            }
        }
        open
    } else {
        content::list_local(
            &mut conn,
            KIND.as_str(),
            shown,
            page.clamp(0, 1_000_000) * per_page,
            per_page,
        )
        .await?
    };
    let mut out = Vec::new();
    for o in objects {
        out.push(poll_on(&mut conn, o).await?);
    }
    Ok(out)
}

/// Why a vote was not counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoteOutcome {
    Counted,
    /// The same choice again: counted once.
    Duplicate,
    Refused(&'static str),
}

/// Records `actor`'s choices and, when anything changed, schedules the
/// update of the counts.
async fn cast(
    ctx: &Ctx,
    poll: &Poll,
    actor: &Actor,
    names: &[String],
    ap_id: Option<&str>,
) -> ServiceResult<VoteOutcome> {
    if poll.object.deleted_at.is_some() {
        return Ok(VoteOutcome::Refused("This poll was deleted."));
    }
    if poll.is_closed() {
        return Ok(VoteOutcome::Refused("This poll is closed."));
    }
    let mut chosen = Vec::new();
    for name in names {
        match poll.options.iter().find(|(o, _)| o.name == *name) {
            Some((o, _)) => chosen.push(o.id),
            None => return Ok(VoteOutcome::Refused("There is no such option in this poll.")),
        }
    }
    if chosen.is_empty() {
        return Ok(VoteOutcome::Refused("Choose an option."));
    }
    let mut tx = ctx.db.begin().await?;
    poll_q::lock(&mut tx, poll.object.id).await?;
    let before = poll_q::choices_of(&mut tx, poll.object.id, actor.id).await?;
    if !poll.row.multiple && (chosen.len() > 1 || before.iter().any(|b| !chosen.contains(b))) {
        return Ok(if before == chosen {
            VoteOutcome::Duplicate
        } else {
            VoteOutcome::Refused("This poll takes one choice, and this voter has already chosen.")
        });
    }
    let mut added = false;
    for option in chosen {
        added |= poll_q::vote(&mut tx, poll.object.id, option, actor.id, ap_id).await?;
    }
    if !added {
        return Ok(VoteOutcome::Duplicate);
    }
    let id = poll.object.id;
    let due = now() + chrono::Duration::seconds(UPDATE_DELAY_SECS);
    if !event_q::pending_by(&mut tx, DomainEvent::PollUpdated { id }.kind(), id, due).await? {
        events::record(&mut tx, &DomainEvent::PollUpdated { id }, Some(due)).await?;
    }
    tx.commit().await?;
    Ok(VoteOutcome::Counted)
}

/// A vote from a fediverse user: a Note naming the option, in reply to
/// the question. None when the question is not one of ours.
pub async fn receive_vote(
    ctx: &Ctx,
    remote: &Actor,
    question_ap_id: &str,
    option: &str,
    note_id: &str,
) -> ServiceResult<Option<VoteOutcome>> {
    let poll = {
        let mut conn = ctx.db.conn().await?;
        let Some(object) = content::find_by_ap_id(&mut conn, question_ap_id)
            .await?
            .filter(|o| o.kind == KIND.as_str() && o.local)
        else {
            return Ok(None);
        };
        poll_on(&mut conn, object).await?
    };
    // A poll not open to all takes the votes of those who may read it.
    let reader = Caller::Remote { actor: remote.id };
    if !super::conversation::readable(ctx, &reader, &poll.object).await? {
        tracing::info!(actor = %remote.ap_id, poll = %question_ap_id, "vote refused: not for this actor");
        return Ok(Some(VoteOutcome::Refused(
            "This poll is for the co-op's members: link your account to your membership first.",
        )));
    }
    let outcome = cast(ctx, &poll, remote, &[option.to_string()], Some(note_id)).await?;
    tracing::info!(actor = %remote.ap_id, poll = %question_ap_id, ?outcome, "vote received");
    Ok(Some(outcome))
}

/// Whether a Note id was a vote (votes are not replies).
pub async fn is_vote(ctx: &Ctx, note_id: &str) -> ServiceResult<bool> {
    let mut conn = ctx.db.conn().await?;
    Ok(poll_q::is_vote(&mut conn, note_id).await?)
}

/// A logged-in user votes on the web, by option ids.
pub async fn vote(ctx: &Ctx, caller: &Caller, id: i64, option_ids: &[i64]) -> ServiceResult<Poll> {
    let Caller::User { id: user_id, .. } = caller else {
        return Err(ServiceError::Unauthorized("Log in to vote.".into()));
    };
    caller.require(UserRole::Member)?;
    let poll = get_poll_by_id(ctx, id).await?;
    if !super::conversation::readable(ctx, caller, &poll.object).await? {
        return Err(ServiceError::NotFound(format!("There is no poll with id {id}.")));
    }
    let names: Vec<String> = option_ids
        .iter()
        .filter_map(|oid| poll.options.iter().find(|(o, _)| o.id == *oid))
        .map(|(o, _)| o.name.clone())
        .collect();
    if names.len() != option_ids.len() {
        return Err(ServiceError::invalid(
            "option",
            "Choose one of the poll's options.",
        ));
    }
    let person = people::person_of(ctx, *user_id).await?;
    match cast(ctx, &poll, &person, &names, None).await? {
        VoteOutcome::Counted | VoteOutcome::Duplicate => get_poll_by_id(ctx, id).await,
        VoteOutcome::Refused(why) => Err(ServiceError::Conflict(why.into())),
    }
}

/// The option ids a user chose, to show their vote back.
pub async fn choices(ctx: &Ctx, user_actor: Option<i64>, id: i64) -> ServiceResult<Vec<i64>> {
    let Some(actor) = user_actor else {
        return Ok(Vec::new());
    };
    let mut conn = ctx.db.conn().await?;
    Ok(poll_q::choices_of(&mut conn, id, actor).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_checked() {
        let later = (now() + chrono::Duration::days(2))
            .format("%Y-%m-%dT%H:%M")
            .to_string();
        let ok = PollInput {
            question: " Which  day? ".into(),
            options: vec!["Monday".into(), " ".into(), "Friday".into()],
            multiple: false,
            closes_at: later.clone(),
            visibility: String::new(),
        };
        let c = check(&ok).unwrap();
        assert_eq!(c.question, "Which day?");
        assert_eq!(c.options, ["Monday", "Friday"]);
        let bad = PollInput {
            question: "".into(),
            options: vec!["A".into(), "A".into()],
            multiple: false,
            closes_at: "2001-01-01T00:00".into(),
            visibility: String::new(),
        };
        let fields: Vec<&str> = check(&bad)
            .unwrap_err()
            .field_errors()
            .iter()
            .map(|(f, _)| *f)
            .collect();
        assert_eq!(fields, ["question", "options", "options", "closes_at"]);
    }
}
