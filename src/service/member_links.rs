//! Members' own fediverse accounts (Mastodon, Misskey, GoToSocial...),
//! linked to their record so that members-only life reaches them where
//! they already are. A link counts once proved: the co-op sends a short
//! code to that account in a direct message, and the member types it here
//! (or, without an account here, replies to the message with it). A proved
//! link of an active member has its follow of the co-op approved on its
//! own, receives members-only posts, and may fetch them signed; suspending
//! the member or removing the link stops all three.

use chrono::NaiveDateTime;

use super::events::{self, DomainEvent};
use super::types::UserRole;
use super::{Caller, Ctx, ServiceError, ServiceResult};
use crate::db::models::{Actor, FollowState, Member, MemberAccount};
use crate::db::queries::{accounts as accounts_q, follows as follow_q, members as members_q};
use crate::db::{now, DbResult, PooledConn};

/// How long a code works.
pub const CODE_MINUTES: i64 = 60;
/// Wrong codes before a code stops working.
pub const MAX_ATTEMPTS: i64 = 5;

/// A linked account as its member sees it.
#[derive(Debug, Clone)]
pub struct Link {
    pub id: i64,
    pub member_id: i64,
    pub actor: Actor,
    pub verified_at: Option<NaiveDateTime>,
    /// While waiting for its code: until when the code works.
    pub code_expires_at: Option<NaiveDateTime>,
}

impl Link {
    fn of(row: MemberAccount, actor: Actor) -> Link {
        Link {
            id: row.id,
            member_id: row.member_id,
            actor,
            verified_at: row.verified_at,
            code_expires_at: row.code_expires_at.filter(|_| row.attempts < MAX_ATTEMPTS),
        }
    }

    /// `verified`, `waiting` (for its code) or `expired` (link it again).
    pub fn status(&self) -> &'static str {
        match (self.verified_at, self.code_expires_at) {
            (Some(_), _) => "verified",
            (None, Some(at)) if at > crate::db::now() => "waiting",
            _ => "expired",
        }
    }

    /// `@user@server` of the linked actor.
    pub fn handle(&self) -> String {
        format!("@{}@{}", self.actor.handle, self.actor.domain)
    }
}

/// The record a caller may manage links of: their own, or (an admin) any.
async fn record_for(conn: &mut PooledConn, caller: &Caller, member_id: Option<i64>) -> ServiceResult<Member> {
    let user = caller.require(UserRole::Member)?;
    let own = members_q::find_by_user(conn, user).await?;
    match member_id {
        None => own.ok_or_else(|| {
            ServiceError::NotFound(
                "Your account is not in the co-op's member register yet: ask the secretary to add you, then link your fediverse account."
                    .into(),
            )
        }),
        Some(id) if own.as_ref().is_some_and(|m| m.id == id) => Ok(own.expect("checked")),
        Some(id) => {
            caller.require(UserRole::Admin)?;
            members_q::find(conn, id)
                .await?
                .ok_or_else(|| ServiceError::NotFound(format!("There is no member {id} in the register.")))
        }
    }
}

/// Links `actor` to a member (the caller's own record, or any for an
/// admin) and queues the direct message with its code. Linking again sends
/// a new code.
pub async fn link(ctx: &Ctx, caller: &Caller, member_id: Option<i64>, actor: &Actor) -> ServiceResult<Link> {
    let by = caller.require(UserRole::Member)?;
    if actor.local {
        return Err(ServiceError::invalid(
            "account",
            "That is an account on this server: link the account you use on another fediverse server.",
        ));
    }
    if !matches!(actor.kind.as_str(), "Person" | "Service" | "Application") {
        return Err(ServiceError::invalid(
            "account",
            format!(
                "{} is a {}, not a person's account: enter the address you post from.",
                actor.ap_id, actor.kind
            ),
        ));
    }
    let mut tx = ctx.db.begin().await?;
    let member = record_for(&mut tx, caller, member_id).await?;
    if member.status == "suspended" || member.status == "left" {
        return Err(ServiceError::Conflict(format!(
            "{} is {}: only current members link accounts.",
            member.name, member.status
        )));
    }
    if let Some(existing) = members_q::link_of_actor(&mut tx, actor.id).await? {
        if existing.member_id != member.id && existing.verified_at.is_some() {
            return Err(ServiceError::Conflict(
                "That account is already linked to another member: they can remove the link from their account page."
                    .into(),
            ));
        }
    }
    let code = crate::crypto::short_code();
    let expires = now() + chrono::Duration::minutes(CODE_MINUTES);
    let id = members_q::upsert_link(
        &mut tx,
        member.id,
        actor.id,
        &crate::crypto::token_hash(&code),
        expires,
    )
    .await?;
    events::record(
        &mut tx,
        &DomainEvent::LinkCodeSent {
            link: id,
            actor: actor.id,
            code,
        },
        None,
    )
    .await?;
    accounts_q::audit(
        &mut tx,
        Some(by),
        "member.link",
        &format!("{} {} {}", member.id, member.name, actor.ap_id),
    )
    .await?;
    let row = members_q::find_link(&mut tx, id)
        .await?
        .ok_or_else(|| ServiceError::Internal("link vanished after insert".into()))?;
    tx.commit().await?;
    tracing::info!(member = member.id, actor = %actor.ap_id, "account link started; code sent");
    Ok(Link::of(row, actor.clone()))
}

/// The member types the code their account received: the link is proved.
pub async fn confirm(ctx: &Ctx, caller: &Caller, link_id: i64, typed: &str) -> ServiceResult<Link> {
    let by = caller.require(UserRole::Member)?;
    let mut tx = ctx.db.begin().await?;
    let (row, actor) = link_row(&mut tx, link_id).await?;
    record_for(&mut tx, caller, Some(row.member_id)).await?;
    if row.verified_at.is_some() {
        return Ok(Link::of(row, actor));
    }
    let expired = row.attempts >= MAX_ATTEMPTS || row.code_expires_at.is_none_or(|at| at <= now());
    if expired {
        return Err(ServiceError::Conflict(
            "This code no longer works (it expired, or was typed wrong too often): link the account again to get a new one."
                .into(),
        ));
    }
    let code = crate::crypto::normalize_short_code(typed);
    let hash = code.as_deref().map(crate::crypto::token_hash);
    let matches = hash
        .as_deref()
        .zip(row.code_hash.as_deref())
        .is_some_and(|(a, b)| crate::crypto::constant_time_eq(a, b));
    if !matches {
        let n = members_q::count_wrong_code(&mut tx, row.id).await?;
        tx.commit().await?;
        let left = (MAX_ATTEMPTS - n).max(0);
        return Err(ServiceError::invalid(
            "code",
            if left == 0 {
                "That is not the code, and it was the last try: link the account again to get a new code."
                    .to_string()
            } else {
                format!(
                    "That is not the code sent to {}: check the direct message there ({left} tries left).",
                    actor.ap_id
                )
            },
        ));
    }
    let hash = hash.expect("matched");
    proved(&mut tx, &row, &actor, &hash).await?;
    accounts_q::audit(
        &mut tx,
        Some(by),
        "member.link_verified",
        &format!("{} {}", row.member_id, actor.ap_id),
    )
    .await?;
    let (row, actor) = link_row(&mut tx, link_id).await?;
    tx.commit().await?;
    Ok(Link::of(row, actor))
}

/// A direct message from `actor` to the co-op: when it carries the code of
/// that actor's pending link, the link is proved (a member without an
/// account here replies to the co-op's message). False when it is not such
/// a message.
pub async fn confirm_from_message(ctx: &Ctx, actor: &Actor, text: &str) -> ServiceResult<bool> {
    let mut tx = ctx.db.begin().await?;
    let Some(row) = members_q::link_of_actor(&mut tx, actor.id).await? else {
        return Ok(false);
    };
    let live = row.verified_at.is_none()
        && row.attempts < MAX_ATTEMPTS
        && row.code_expires_at.is_some_and(|at| at > now());
    let Some(stored) = row.code_hash.as_deref().filter(|_| live) else {
        return Ok(false);
    };
    // The code is a word of the reply (`K7Q2-M9XD`, in any case).
    let found = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter_map(crate::crypto::normalize_short_code)
        .map(|c| crate::crypto::token_hash(&c))
        .find(|h| crate::crypto::constant_time_eq(h, stored));
    let Some(hash) = found else {
        // A reply that is not the code counts as a wrong try, as on the web.
        members_q::count_wrong_code(&mut tx, row.id).await?;
        tx.commit().await?;
        return Ok(false);
    };
    proved(&mut tx, &row, actor, &hash).await?;
    accounts_q::audit(
        &mut tx,
        None,
        "member.link_verified",
        &format!("{} {} (by reply)", row.member_id, actor.ap_id),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(member = row.member_id, actor = %actor.ap_id, "account link proved by a reply");
    Ok(true)
}

/// Marks a link proved and approves the account's waiting follow of the co-op.
async fn proved(conn: &mut PooledConn, row: &MemberAccount, actor: &Actor, hash: &str) -> ServiceResult<()> {
    if !members_q::verify_link(conn, row.id, hash).await? {
        return Err(ServiceError::Conflict(
            "This link changed meanwhile: reload the page and try again.".into(),
        ));
    }
    if let Some(coop) = super::coop::coop_actor_on(conn).await? {
        let waiting = follow_q::find_follow(conn, actor.id, coop.id)
            .await?
            .filter(|f| f.state() == FollowState::Pending);
        if let Some(follow) = waiting {
            follow_q::upsert_follow(
                conn,
                actor.id,
                coop.id,
                FollowState::Accepted,
                follow.ap_id.as_deref(),
            )
            .await?;
            let event = DomainEvent::FollowAccepted {
                local: coop.id,
                remote: actor.id,
                follow_id: follow.ap_id.unwrap_or_default(),
            };
            events::record(conn, &event, None).await?;
        }
    }
    Ok(())
}

async fn link_row(conn: &mut PooledConn, id: i64) -> ServiceResult<(MemberAccount, Actor)> {
    let gone =
        || ServiceError::NotFound("There is no such linked account (it may have been removed).".into());
    let row = members_q::find_link(conn, id).await?.ok_or_else(gone)?;
    let actor = crate::db::queries::actors::find(conn, row.actor_id)
        .await?
        .ok_or_else(gone)?;
    Ok((row, actor))
}

/// The accounts linked to a member (the caller's own, or any for an admin).
pub async fn links(ctx: &Ctx, caller: &Caller, member_id: Option<i64>) -> ServiceResult<Vec<Link>> {
    let mut conn = ctx.db.conn().await?;
    let member = record_for(&mut conn, caller, member_id).await?;
    Ok(members_q::links_of(&mut conn, member.id)
        .await?
        .into_iter()
        .map(|(row, actor)| Link::of(row, actor))
        .collect())
}

/// Removes a link: members-only posts stop reaching that account.
pub async fn unlink(ctx: &Ctx, caller: &Caller, link_id: i64) -> ServiceResult<()> {
    let by = caller.require(UserRole::Member)?;
    let mut tx = ctx.db.begin().await?;
    let (row, actor) = link_row(&mut tx, link_id).await?;
    record_for(&mut tx, caller, Some(row.member_id)).await?;
    members_q::delete_link(&mut tx, row.id).await?;
    if row.verified_at.is_some() {
        end_follows(&mut tx, &[row.actor_id]).await?;
    }
    accounts_q::audit(
        &mut tx,
        Some(by),
        "member.unlink",
        &format!("{} {}", row.member_id, actor.ap_id),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// When a member's accounts stop counting (suspended, removed, a link
/// taken away) and the co-op approves its followers, their follows that
/// the link had approved end: each gets `Reject(Follow)`, and may ask
/// again like anyone.
pub(crate) async fn end_follows(conn: &mut PooledConn, actor_ids: &[i64]) -> ServiceResult<()> {
    let Some(coop) = super::coop::coop_actor_on(conn).await? else {
        return Ok(());
    };
    if !coop.manually_approves_followers {
        return Ok(());
    }
    for &actor in actor_ids {
        let Some(follow) = follow_q::find_follow(conn, actor, coop.id).await? else {
            continue;
        };
        follow_q::delete_follow(conn, actor, coop.id).await?;
        let event = DomainEvent::FollowRejected {
            local: coop.id,
            remote: actor,
            follow_id: follow.ap_id.unwrap_or_default(),
        };
        events::record(conn, &event, None).await?;
    }
    Ok(())
}

/// The actors of a member's proved links.
pub(crate) async fn linked_actor_ids(conn: &mut PooledConn, member_id: i64) -> DbResult<Vec<i64>> {
    Ok(members_q::links_of(conn, member_id)
        .await?
        .into_iter()
        .filter(|(row, _)| row.verified_at.is_some())
        .map(|(row, _)| row.actor_id)
        .collect())
}

/// The active member behind a proved linked account, if any.
pub async fn member_of_actor(conn: &mut PooledConn, actor_id: i64) -> DbResult<Option<Member>> {
    members_q::active_member_of_actor(conn, actor_id).await
}

/// The active register entry behind a caller: a logged-in account's, or a
/// proved linked account's. Ballots and surveys count these (one member,
/// one voice), where `is_member` also lets an account without an entry read.
pub async fn active_member(conn: &mut PooledConn, caller: &Caller) -> DbResult<Option<Member>> {
    Ok(match caller {
        Caller::User { id, .. } => members_q::find_by_user(conn, *id)
            .await?
            .filter(|m| m.status == "active"),
        Caller::Remote { actor } => member_of_actor(conn, *actor).await?,
        Caller::Anonymous => None,
    })
}

/// The visibilities a caller's lists show: public for anyone; for members
/// also followers-only and members-only items. Feeds, the outbox, NodeInfo
/// and sitemaps stay public whoever asks.
pub async fn listed(ctx: &Ctx, caller: &Caller) -> ServiceResult<&'static [&'static str]> {
    const PUBLIC: &[&str] = &["public"];
    const MEMBERS: &[&str] = &["public", "followers", "members"];
    if matches!(caller, Caller::Anonymous) {
        return Ok(PUBLIC);
    }
    let mut conn = ctx.db.conn().await?;
    Ok(if is_member(&mut conn, caller).await? {
        MEMBERS
    } else {
        PUBLIC
    })
}

/// Whether the caller reads what is for members: a logged-in account
/// (deactivated ones are anonymous) whose record, if it has one, is active;
/// or a remote actor proved as an active member's account.
pub async fn is_member(conn: &mut PooledConn, caller: &Caller) -> DbResult<bool> {
    match caller {
        Caller::Anonymous => Ok(false),
        Caller::User { id, .. } => Ok(members_q::find_by_user(conn, *id)
            .await?
            .is_none_or(|m| m.status == "active")),
        Caller::Remote { actor } => Ok(member_of_actor(conn, *actor).await?.is_some()),
    }
}
