//! Polls: a question with options, open until a time. Fediverse users vote
//! from their own apps (federation reads their vote and calls `receive_vote`),
//! local users on the web. New counts go out as an update shortly after a
//! vote (votes in the same few seconds share it), and the final counts at
//! the closing time, from an event recorded when the poll was made.
//!
//! A ballot is a poll for the register's active members only: one member,
//! one vote (ICA Principle 2), whether from the web or from their linked
//! fediverse account, with an opening time and an optional quorum. A secret
//! ballot keeps who voted (`ballot_voters`) apart from what was voted
//! (`ballot_choices`, under a receipt's hash), and shows no counts until it
//! closes. At the close its result and the list of who was eligible go into
//! the audit log.

use chrono::NaiveDateTime;

use super::events::{self, DomainEvent};
use super::text::escape_html;
use super::types::UserRole;
use super::{coop, people, Caller, Ctx, FieldErrors, ServiceError, ServiceResult};
use crate::db::models::{Actor, ContentKind, NewObject, Object, PollOption, PollRow};
use crate::db::now;
use crate::db::queries::{
    accounts as accounts_q, content, events as event_q, members as members_q, outbox as outbox_q,
    polls as poll_q,
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
    /// A member ballot (members-only, one vote per member).
    #[serde(default)]
    pub ballot: bool,
    /// A secret ballot: nobody, admins included, sees who chose what.
    #[serde(default)]
    pub secret: bool,
    /// Votes needed for the result to stand.
    #[serde(default)]
    pub quorum: Option<i64>,
    /// When voting opens (default: now), as `closes_at`.
    #[serde(default)]
    pub opens_at: String,
}

#[derive(Debug, Clone)]
pub struct Poll {
    pub object: Object,
    pub row: PollRow,
    /// Options in order, with their vote counts.
    /// Options in order, with their vote counts (zero for a secret ballot
    /// still open: see `counts_hidden`).
    pub options: Vec<(PollOption, i64)>,
    pub voters: i64,
    /// A ballot's standing: eligible members, votes cast, quorum.
    pub ballot: Option<BallotState>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BallotState {
    pub secret: bool,
    /// Active members (counted when the ballot closed, or now while open).
    pub eligible: i64,
    pub cast: i64,
    pub quorum: Option<i64>,
    /// None while open, or without a quorum.
    pub quorum_met: Option<bool>,
    pub opens_at: Option<NaiveDateTime>,
    /// Counts of a secret ballot are shown only once it has closed.
    pub counts_hidden: bool,
}

impl Poll {
    pub fn is_closed(&self) -> bool {
        self.row.closes_at <= now()
    }

    pub fn is_open_yet(&self) -> bool {
        self.row.opens_at.is_none_or(|t| t <= now())
    }
}

#[derive(Debug)]
struct Checked {
    question: String,
    options: Vec<String>,
    closes_at: NaiveDateTime,
    opens_at: Option<NaiveDateTime>,
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
    let opens_at = match super::news::parse_publish_time(&input.opens_at) {
        Ok(t) => t,
        Err(_) => {
            errors.add(
                "opens_at",
                "Give the opening time as 2026-12-24T18:00 (UTC) or in RFC 3339.",
            );
            None
        }
    };
    if let (Some(open), Some(close)) = (opens_at, closes_at) {
        if open >= close {
            errors.add("opens_at", "Voting must open before it closes.");
        }
    }
    if input.ballot {
        if input.multiple {
            errors.add("multiple", "A ballot takes one choice per member.");
        }
        if !matches!(input.visibility.as_str(), "" | "members") {
            errors.add(
                "visibility",
                "A ballot is for the co-op's members: leave its visibility at members.",
            );
        }
        if input.quorum.is_some_and(|q| !(1..=10_000_000).contains(&q)) {
            errors.add("quorum", "Give the quorum as a number of votes, 1 or more.");
        }
    } else {
        if input.secret {
            errors.add(
                "secret",
                "Only a member ballot can be secret: tick \"Member ballot\" too.",
            );
        }
        if input.quorum.is_some() {
            errors.add(
                "quorum",
                "Only a member ballot has a quorum: tick \"Member ballot\" too.",
            );
        }
        if opens_at.is_some() {
            errors.add(
                "opens_at",
                "Only a member ballot has an opening time: tick \"Member ballot\" too.",
            );
        }
    }
    errors.finish()?;
    Ok(Checked {
        question,
        options,
        closes_at: closes_at.unwrap_or_default(),
        opens_at,
    })
}

/// Publishes a poll as the co-op. Its close is recorded now, due at its
/// end, so the final counts federate without anyone asking.
pub async fn create_poll(ctx: &Ctx, caller: &Caller, input: &PollInput) -> ServiceResult<Poll> {
    let by_user = caller.require(UserRole::Editor)?;
    let checked = check(input)?;
    let visibility = if input.ballot {
        crate::db::models::Visibility::Members
    } else {
        super::objects::content_visibility(&input.visibility)?
    };
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
            ballot: input.ballot,
            secret: input.ballot && input.secret,
            quorum: input.quorum.filter(|_| input.ballot),
            opens_at: checked.opens_at,
            eligible: None,
        },
        &checked.options,
    )
    .await?;
    events::record(&mut tx, &DomainEvent::PollPublished { id }, None).await?;
    events::record(&mut tx, &DomainEvent::PollUpdated { id }, Some(checked.closes_at)).await?;
    if input.ballot {
        events::record(
            &mut tx,
            &DomainEvent::BallotClosed { id },
            Some(checked.closes_at),
        )
        .await?;
    }
    let action = if input.ballot {
        "ballot.publish"
    } else {
        "poll.publish"
    };
    accounts_q::audit(&mut tx, Some(by_user), action, &slug).await?;
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
    event_q::finish_events_about(&mut tx, DomainEvent::BallotClosed { id }.kind(), id).await?;
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
    let closed = row.closes_at <= now();
    let hidden = row.secret && !closed;
    let mut options = poll_q::options(conn, object.id, row.secret).await?;
    if hidden {
        for (_, n) in &mut options {
            *n = 0;
        }
    }
    let (voters, ballot) = if row.ballot {
        let cast = poll_q::ballot_turnout(conn, object.id).await?;
        let eligible = match row.eligible {
            Some(n) => n,
            None => members_q::count_active(conn).await?,
        };
        let state = BallotState {
            secret: row.secret,
            eligible,
            cast,
            quorum: row.quorum,
            quorum_met: row.quorum.filter(|_| closed).map(|q| cast >= q),
            opens_at: row.opens_at,
            counts_hidden: hidden,
        };
        (cast, Some(state))
    } else {
        (poll_q::voters(conn, object.id).await?, None)
    };
    Ok(Poll {
        object,
        row,
        options,
        voters,
        ballot,
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
    if poll.row.ballot {
        return Err(ServiceError::Internal(
            "a ballot's vote goes through cast_ballot".into(),
        ));
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
    schedule_count_update(&mut tx, poll.object.id).await?;
    tx.commit().await?;
    Ok(VoteOutcome::Counted)
}

/// New counts go out a few seconds after a vote; votes in those seconds
/// share the one update already waiting.
async fn schedule_count_update(tx: &mut crate::db::PooledConn, id: i64) -> ServiceResult<()> {
    let due = now() + chrono::Duration::seconds(UPDATE_DELAY_SECS);
    if !event_q::pending_by(tx, DomainEvent::PollUpdated { id }.kind(), id, due).await? {
        events::record(tx, &DomainEvent::PollUpdated { id }, Some(due)).await?;
    }
    Ok(())
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
    if poll.row.ballot {
        let member = {
            let mut conn = ctx.db.conn().await?;
            super::member_links::member_of_actor(&mut conn, remote.id).await?
        };
        if poll.row.secret {
            // The vote's Note names the choice and its author: keeping it, or
            // its id, would tie this voter to their choice.
            tracing::info!(poll = %question_ap_id, "secret ballot vote from the fediverse refused");
            return Ok(Some(VoteOutcome::Refused(
                "This ballot is secret: vote on the co-op's website, where your choice is kept apart from your name.",
            )));
        }
        let Some(member) = member else {
            tracing::info!(actor = %remote.ap_id, poll = %question_ap_id, "ballot vote refused: not a member's linked account");
            return Ok(Some(VoteOutcome::Refused(
                "This ballot is for the co-op's active members: link your account to your membership first.",
            )));
        };
        let outcome = cast_ballot(ctx, &poll, member.id, remote, option, Some(note_id)).await?;
        tracing::info!(actor = %remote.ap_id, poll = %question_ap_id, outcome = ?outcome.0, "ballot vote received");
        return Ok(Some(outcome.0));
    }
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

/// Records a member's one vote in a ballot: who voted always, and what
/// was chosen either beside the voter (open ballot) or under the hash of a
/// new receipt only (secret ballot; the receipt is returned, once).
async fn cast_ballot(
    ctx: &Ctx,
    poll: &Poll,
    member_id: i64,
    actor: &Actor,
    name: &str,
    ap_id: Option<&str>,
) -> ServiceResult<(VoteOutcome, Option<String>)> {
    if poll.object.deleted_at.is_some() {
        return Ok((VoteOutcome::Refused("This ballot was deleted."), None));
    }
    if poll.is_closed() {
        return Ok((VoteOutcome::Refused("This ballot is closed."), None));
    }
    if !poll.is_open_yet() {
        return Ok((
            VoteOutcome::Refused("This ballot is not open yet: come back at its opening time."),
            None,
        ));
    }
    let Some((option, _)) = poll.options.iter().find(|(o, _)| o.name == name) else {
        return Ok((
            VoteOutcome::Refused("There is no such option in this ballot."),
            None,
        ));
    };
    let mut tx = ctx.db.begin().await?;
    poll_q::lock(&mut tx, poll.object.id).await?;
    // Again under the lock: the close's result is written under it too.
    if now() >= poll.row.closes_at {
        return Ok((VoteOutcome::Refused("This ballot is closed."), None));
    }
    if !poll_q::record_voter(&mut tx, poll.object.id, member_id, ap_id).await? {
        if let Some(note) = ap_id {
            if poll_q::ballot_note_counted(&mut tx, poll.object.id, note).await? {
                return Ok((VoteOutcome::Duplicate, None));
            }
        }
        return Ok((
            VoteOutcome::Refused("This member has already voted in this ballot: one member, one vote."),
            None,
        ));
    }
    let receipt = if poll.row.secret {
        let receipt = crate::crypto::short_code();
        poll_q::secret_choice(
            &mut tx,
            poll.object.id,
            option.id,
            &crate::crypto::token_hash(&receipt),
        )
        .await?;
        Some(receipt)
    } else {
        poll_q::vote(&mut tx, poll.object.id, option.id, actor.id, ap_id).await?;
        schedule_count_update(&mut tx, poll.object.id).await?;
        None
    };
    tx.commit().await?;
    Ok((VoteOutcome::Counted, receipt))
}

/// The register's record of a logged-in user, when it may vote in ballots.
async fn voting_member(ctx: &Ctx, caller: &Caller) -> ServiceResult<crate::db::models::Member> {
    let mut conn = ctx.db.conn().await?;
    super::member_links::active_member(&mut conn, caller)
        .await?
        .ok_or_else(|| {
            ServiceError::Forbidden(
                "Ballots are for the co-op's active members, one vote each: your account is not an active member's in the register. Ask the secretary."
                    .into(),
            )
        })
}

/// Whether a logged-in user's member record voted in this ballot.
pub async fn has_voted(ctx: &Ctx, user_id: i64, poll: &Poll) -> ServiceResult<bool> {
    if !poll.row.ballot {
        return Ok(false);
    }
    let mut conn = ctx.db.conn().await?;
    let Some(member) = members_q::find_by_user(&mut conn, user_id).await? else {
        return Ok(false);
    };
    Ok(poll_q::has_voted(&mut conn, poll.object.id, member.id).await?)
}

/// What a receipt of a secret ballot counted for, for a member to check
/// their vote; None when no choice has that receipt.
pub async fn check_receipt(
    ctx: &Ctx,
    caller: &Caller,
    id: i64,
    receipt: &str,
) -> ServiceResult<Option<String>> {
    let poll = get_poll_by_id(ctx, id).await?;
    if !super::conversation::readable(ctx, caller, &poll.object).await? {
        return Err(ServiceError::NotFound(format!("There is no poll with id {id}.")));
    }
    if !poll.row.secret {
        return Err(ServiceError::invalid(
            "receipt",
            "Only secret ballots have receipts: an open ballot lists its votes.",
        ));
    }
    let Some(code) = crate::crypto::normalize_short_code(receipt) else {
        return Ok(None);
    };
    let mut conn = ctx.db.conn().await?;
    let option = poll_q::receipt_option(&mut conn, id, &crate::crypto::token_hash(&code)).await?;
    Ok(option.and_then(|oid| {
        poll.options
            .iter()
            .find(|(o, _)| o.id == oid)
            .map(|(o, _)| o.name.clone())
    }))
}

/// An open ballot's votes (voter name, address, option), for those who may
/// read it; a secret ballot lists none.
pub async fn open_ballot_votes(
    ctx: &Ctx,
    caller: &Caller,
    poll: &Poll,
) -> ServiceResult<Vec<(String, String, String)>> {
    if !poll.row.ballot
        || poll.row.secret
        || !super::conversation::readable(ctx, caller, &poll.object).await?
    {
        return Ok(Vec::new());
    }
    let mut conn = ctx.db.conn().await?;
    Ok(poll_q::open_votes(&mut conn, poll.object.id)
        .await?
        .into_iter()
        .filter_map(|(name, ap_id, oid)| {
            let option = poll.options.iter().find(|(o, _)| o.id == oid)?;
            Some((name, ap_id, option.0.name.clone()))
        })
        .collect())
}

/// At a ballot's close (a `Local` job): counts the eligible members once,
/// and writes the result and the eligible list into the audit log.
pub async fn record_ballot_result(ctx: &Ctx, id: i64) -> ServiceResult<()> {
    let mut tx = ctx.db.begin().await?;
    poll_q::lock(&mut tx, id).await?;
    let Some(object) = content::find(&mut tx, id).await? else {
        return Ok(());
    };
    if object.deleted_at.is_some() {
        return Ok(());
    }
    let eligible = members_q::active_roll(&mut tx).await?;
    if !poll_q::set_eligible(&mut tx, id, eligible.len() as i64).await? {
        // Written already (a retried job).
        return Ok(());
    }
    let poll = poll_on(&mut tx, object).await?;
    let Some(state) = &poll.ballot else {
        return Ok(());
    };
    let counts = poll
        .options
        .iter()
        .map(|(o, n)| format!("{}: {n}", o.name))
        .collect::<Vec<_>>()
        .join("; ");
    let quorum = match (state.quorum, state.quorum_met) {
        (Some(q), Some(true)) => format!("quorum {q} met"),
        (Some(q), _) => format!("quorum {q} not met"),
        (None, _) => "no quorum".to_string(),
    };
    let slug = poll.object.slug.clone().unwrap_or_default();
    let result = format!(
        "{slug}: {:?}; eligible {}, cast {}, {quorum}; {counts}",
        poll.object.title, state.eligible, state.cast
    );
    accounts_q::audit(&mut tx, None, "ballot.result", &result).await?;
    let list = eligible
        .iter()
        .map(|(name, number)| match number {
            Some(n) => format!("{name} (#{n})"),
            None => name.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ");
    accounts_q::audit(&mut tx, None, "ballot.eligible", &format!("{slug}: {list}")).await?;
    tx.commit().await?;
    tracing::info!(ballot = %slug, eligible = state.eligible, cast = state.cast, "ballot closed; result recorded");
    Ok(())
}

/// A logged-in user votes on the web, by option ids; a secret ballot's
/// receipt comes back with the poll (shown once).
pub async fn vote(
    ctx: &Ctx,
    caller: &Caller,
    id: i64,
    option_ids: &[i64],
) -> ServiceResult<(Poll, Option<String>)> {
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
    if poll.row.ballot {
        let member = voting_member(ctx, caller).await?;
        let [name] = names.as_slice() else {
            return Err(ServiceError::invalid("option", "A ballot takes one choice."));
        };
        return match cast_ballot(ctx, &poll, member.id, &person, name, None).await? {
            (VoteOutcome::Refused(why), _) => Err(ServiceError::Conflict(why.into())),
            (_, receipt) => Ok((get_poll_by_id(ctx, id).await?, receipt)),
        };
    }
    match cast(ctx, &poll, &person, &names, None).await? {
        VoteOutcome::Counted | VoteOutcome::Duplicate => Ok((get_poll_by_id(ctx, id).await?, None)),
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
            ..Default::default()
        };
        let c = check(&ok).unwrap();
        assert_eq!(c.question, "Which day?");
        assert_eq!(c.options, ["Monday", "Friday"]);
        let bad = PollInput {
            question: "".into(),
            options: vec!["A".into(), "A".into()],
            multiple: false,
            closes_at: "2001-01-01T00:00".into(),
            ..Default::default()
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
