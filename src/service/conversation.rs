//! What happens around an object, whatever its type: likes, boosts and
//! replies. Replies are kept threaded by `in_reply_to` (see
//! `federation::activities::create`); here they are counted and listed.

use super::events::{self, DomainEvent};
use super::types::UserRole;
use super::{people, Caller, Ctx, ServiceError, ServiceResult};
use crate::db::models::{Actor, ContentKind, NewObject, Object, ReactionKind, Visibility};
use crate::db::queries::{accounts as accounts_q, content, outbox as outbox_q};
use crate::db::{DbResult, PooledConn};
use std::collections::HashMap;

/// How many have answered an object: what its `likes`, `shares` and
/// `replies` collections count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Interactions {
    pub likes: i64,
    pub shares: i64,
    pub replies: i64,
}

/// The counts, on a connection the caller holds (the federation worker
/// builds an object inside its own work).
pub async fn interactions_on(conn: &mut PooledConn, object: &Object) -> DbResult<Interactions> {
    Ok(Interactions {
        likes: content::count_reactions(conn, object.id, ReactionKind::Like).await?,
        shares: content::count_reactions(conn, object.id, ReactionKind::Announce).await?,
        replies: content::count_replies(conn, &object.ap_id).await?,
    })
}

pub async fn interactions(ctx: &Ctx, object: &Object) -> ServiceResult<Interactions> {
    let mut conn = ctx.db.conn().await?;
    Ok(interactions_on(&mut conn, object).await?)
}

/// Replies anyone may read, oldest first, a page at a time, with the total
/// (of those shown to everyone). Moderators also get the hidden ones
/// (`hidden_at` set), to show them again.
pub async fn replies(
    ctx: &Ctx,
    caller: &Caller,
    object: &Object,
    page: i64,
    per_page: i64,
) -> ServiceResult<(Vec<(Object, Actor)>, i64)> {
    let policy = super::moderation::policy(ctx).await?;
    let mut conn = ctx.db.conn().await?;
    let total = content::count_replies(&mut conn, &object.ap_id).await?;
    let parent = [object.ap_id.clone()];
    let list = readable_replies(&mut conn, &policy, caller, &parent, page, per_page).await?;
    Ok((list, total))
}

/// One page of the replies to any of `parents` that `caller` may read.
async fn readable_replies(
    conn: &mut PooledConn,
    policy: &super::moderation::DomainPolicy,
    caller: &Caller,
    parents: &[String],
    page: i64,
    per_page: i64,
) -> ServiceResult<Vec<(Object, Actor)>> {
    // Members also read the members-only replies (of members-only forums).
    let open: &[&str] = if caller.can(UserRole::Member) {
        &[
            Visibility::Public.as_str(),
            Visibility::Unlisted.as_str(),
            Visibility::Members.as_str(),
        ]
    } else {
        &[Visibility::Public.as_str(), Visibility::Unlisted.as_str()]
    };
    let with_hidden = caller.can(UserRole::Moderator);
    Ok(content::list_replies(
        conn,
        parents,
        open,
        with_hidden,
        page.clamp(0, 1_000_000) * per_page,
        per_page,
    )
    .await?
    .into_iter()
    // Replies from servers blocked since are not shown.
    .filter(|(_, author)| policy.allows(&author.domain))
    .collect())
}

/// Whether anyone may be served an object: its visibility is open and it
/// is published (not a draft, not scheduled for later). A deleted one is
/// servable too, so that callers can answer 410.
pub fn servable(o: &Object) -> bool {
    Visibility::from_db(&o.visibility).is_open()
        && (o.deleted_at.is_some() || super::news::publication(o) == super::news::Publication::Published)
}

/// Whether `caller` may be served an object: anyone when it is
/// `servable`; once published, a members-only one to members (logged in,
/// or their proved fediverse account's signed fetch) and a followers-only
/// one to members and to the author's accepted followers.
pub async fn readable(ctx: &Ctx, caller: &Caller, o: &Object) -> ServiceResult<bool> {
    if servable(o) {
        return Ok(true);
    }
    let mut conn = ctx.db.conn().await?;
    readable_on(&mut conn, caller, o).await
}

pub(super) async fn readable_on(conn: &mut PooledConn, caller: &Caller, o: &Object) -> ServiceResult<bool> {
    if servable(o) {
        return Ok(true);
    }
    if o.deleted_at.is_some() || super::news::publication(o) != super::news::Publication::Published {
        return Ok(false);
    }
    let member = super::member_links::is_member(conn, caller).await?;
    Ok(match Visibility::from_db(&o.visibility) {
        Visibility::Members => member,
        Visibility::Followers => {
            member
                || match caller {
                    Caller::Remote { actor } => {
                        crate::db::queries::follows::find_follow(conn, *actor, o.author_id)
                            .await?
                            .is_some_and(|f| f.state() == crate::db::models::FollowState::Accepted)
                    }
                    _ => false,
                }
        }
        _ => false,
    })
}

/// One of our objects by its id, when it is `servable`.
pub async fn find_open_local(ctx: &Ctx, ap_id: &str) -> ServiceResult<Option<Object>> {
    let mut conn = ctx.db.conn().await?;
    Ok(content::find_by_ap_id(&mut conn, ap_id)
        .await?
        .filter(|o| o.local && servable(o)))
}

/// How deep a conversation is shown; deeper replies are shown at this depth.
pub const THREAD_DEPTH: usize = 4;
/// At most this many replies are shown under an object.
pub const THREAD_SIZE: usize = 200;

/// The conversation under an object, in reading order: each reply followed
/// by the replies to it, with its depth (0 for a direct reply). Replies to a
/// hidden reply are not shown to visitors (their parent is not either).
pub async fn thread(
    ctx: &Ctx,
    caller: &Caller,
    object: &Object,
) -> ServiceResult<Vec<(Object, Actor, usize)>> {
    // One query per level (all the replies to the level above at once),
    // not one per reply; a chain deeper than 16, which any peer could
    // make, is cut there. Upper levels fill first, so when a conversation
    // has more than THREAD_SIZE replies it is the deepest that are left out.
    let policy = super::moderation::policy(ctx).await?;
    let mut conn = ctx.db.conn().await?;
    let mut children: HashMap<String, Vec<(Object, Actor)>> = HashMap::new();
    let mut parents = vec![object.ap_id.clone()];
    let mut kept = 0;
    for _ in 0..16 {
        if parents.is_empty() || kept >= THREAD_SIZE {
            break;
        }
        let room = (THREAD_SIZE - kept) as i64;
        let level = readable_replies(&mut conn, &policy, caller, &parents, 0, room).await?;
        kept += level.len();
        parents = level.iter().map(|(r, _)| r.ap_id.clone()).collect();
        for (reply, author) in level {
            let parent = reply.in_reply_to.clone().unwrap_or_default();
            children.entry(parent).or_default().push((reply, author));
        }
    }
    drop(conn);
    // Reading order: each reply followed by the replies to it.
    let mut out = Vec::with_capacity(kept);
    let mut stack: Vec<(Object, Actor, usize)> = Vec::new();
    let top = children.remove(&object.ap_id).unwrap_or_default();
    stack.extend(top.into_iter().rev().map(|(r, a)| (r, a, 0)));
    while let Some((reply, author, depth)) = stack.pop() {
        if let Some(below) = children.remove(&reply.ap_id) {
            stack.extend(below.into_iter().rev().map(|(r, a)| (r, a, depth + 1)));
        }
        out.push((reply, author, depth.min(THREAD_DEPTH - 1)));
    }
    Ok(out)
}

/// A reply kept here, by row id, for moderation.
async fn find_reply(conn: &mut PooledConn, id: i64) -> ServiceResult<Object> {
    content::find(conn, id)
        .await?
        .filter(|o| o.in_reply_to.is_some() && o.deleted_at.is_none())
        .ok_or_else(|| ServiceError::NotFound("There is no such reply (it may have been deleted).".into()))
}

/// A moderator hides a reply from the page and the `replies` collection,
/// or shows it again. Returns the reply.
pub async fn hide_reply(ctx: &Ctx, caller: &Caller, id: i64, hidden: bool) -> ServiceResult<Object> {
    let by_user = caller.require(UserRole::Moderator)?;
    let mut tx = ctx.db.begin().await?;
    let reply = find_reply(&mut tx, id).await?;
    content::set_hidden(&mut tx, id, hidden).await?;
    let action = if hidden { "reply.hide" } else { "reply.show" };
    accounts_q::audit(&mut tx, Some(by_user), action, &reply.ap_id).await?;
    tx.commit().await?;
    Ok(reply)
}

/// A moderator deletes a reply kept here. A reply from another server
/// stays on its server; this server drops its copy and will not keep it
/// again from an Update (`remote::store_post` leaves deleted rows alone).
/// A member's reply is ours: its Delete federates.
pub async fn delete_reply(ctx: &Ctx, caller: &Caller, id: i64) -> ServiceResult<Object> {
    let by_user = caller.require(UserRole::Moderator)?;
    let mut tx = ctx.db.begin().await?;
    let reply = find_reply(&mut tx, id).await?;
    content::mark_deleted(&mut tx, id).await?;
    // Our Creates of it, or a forum's Announces of a remote one.
    outbox_q::redact_outbox_for_object(&mut tx, id).await?;
    if reply.local {
        events::record(&mut tx, &DomainEvent::ReplyDeleted { id }, None).await?;
    }
    accounts_q::audit(&mut tx, Some(by_user), "reply.delete", &reply.ap_id).await?;
    tx.commit().await?;
    Ok(reply)
}

/// What a member typed for a reply or a message: trimmed, LF line ends,
/// 1 to 5,000 characters, no NUL. `what` names it in the messages.
pub(crate) fn member_text(text: &str, what: &str) -> ServiceResult<String> {
    let text = super::text::normalize_newlines(text.trim());
    if text.is_empty() {
        return Err(ServiceError::invalid("text", format!("Write your {what} first.")));
    }
    if text.chars().count() > 5000 || text.contains('\0') {
        return Err(ServiceError::invalid(
            "text",
            format!("Keep the {what} under 5,000 characters, without NUL characters."),
        ));
    }
    Ok(text)
}

/// Stores a member's Note (a reply, a message) of their Person, at
/// `/notes/{id}`; returns its id.
pub(crate) async fn insert_member_note(
    conn: &mut PooledConn,
    config: &crate::config::Config,
    person: &Actor,
    in_reply_to: Option<String>,
    visibility: Visibility,
    text: String,
    at: chrono::NaiveDateTime,
) -> ServiceResult<i64> {
    let id = content::insert(
        conn,
        &NewObject {
            ap_id: format!("urn:intercoop:pending:{}", crate::crypto::random_token()),
            kind: ContentKind::Note.as_str().into(),
            ap_type: "Note".into(),
            author_id: person.id,
            in_reply_to,
            visibility: visibility.as_str().into(),
            content_html: super::text::render_markdown(&text),
            source: Some(text),
            local: true,
            published_at: Some(at),
            created_at: at,
            ..Default::default()
        },
    )
    .await?;
    content::set_ap_id(conn, id, &config.url(&format!("{NOTE_PATH}/{id}"))).await?;
    Ok(id)
}

/// Where members' replies live: `/notes/{id}`.
pub const NOTE_PATH: &str = "/notes";

/// What a member may answer: something the caller may read here that is
/// ours, a reply in one of our conversations, or a thread of a forum (ours
/// or another server's); not hidden, not deleted.
async fn answerable(conn: &mut PooledConn, caller: &Caller, id: i64) -> ServiceResult<Object> {
    let nothing =
        || ServiceError::NotFound("There is nothing to reply to there (it may have been deleted).".into());
    let o = content::find(conn, id)
        .await?
        .filter(|o| {
            o.deleted_at.is_none()
                && o.hidden_at.is_none()
                && (o.local || o.in_reply_to.is_some() || o.kind == ContentKind::Thread.as_str())
        })
        .ok_or_else(nothing)?;
    // Members-only forums' posts are members-only rows too.
    if !readable_on(conn, caller, &o).await? {
        return Err(nothing());
    }
    Ok(o)
}

/// What a member would answer at `/replies/new?to=ID`.
pub async fn answerable_by_id(ctx: &Ctx, caller: &Caller, id: i64) -> ServiceResult<Object> {
    let mut conn = ctx.db.conn().await?;
    answerable(&mut conn, caller, id).await
}

/// The first object of the conversation `ap_id` belongs to (`ap_id`'s own
/// object when it answers nothing known here), climbing at most `parents`
/// levels above it.
async fn conversation_root(
    conn: &mut PooledConn,
    ap_id: &str,
    parents: usize,
) -> ServiceResult<Option<Object>> {
    let Some(mut current) = content::find_by_ap_id(conn, ap_id).await? else {
        return Ok(None);
    };
    for _ in 0..parents {
        let Some(parent) = current.in_reply_to.clone() else {
            break;
        };
        match content::find_by_ap_id(conn, &parent).await? {
            Some(p) => current = p,
            None => break,
        }
    }
    Ok(Some(current))
}

/// Whether a conversation is open to all: the object answered and the
/// first of its conversation are. Replies from other servers into a
/// conversation that is not (members-only news, say) are not kept or
/// passed on: they would show what it answers to anyone.
pub async fn conversation_is_open(ctx: &Ctx, parent_ap_id: &str) -> ServiceResult<bool> {
    let mut conn = ctx.db.conn().await?;
    let open = |o: &Object| Visibility::from_db(&o.visibility).is_open();
    let parent_open = content::find_by_ap_id(&mut conn, parent_ap_id)
        .await?
        .is_none_or(|p| open(&p) && (!p.local || servable(&p)));
    let root_open = conversation_root(&mut conn, parent_ap_id, 16)
        .await?
        .is_none_or(|r| open(&r) && (!r.local || servable(&r)));
    Ok(parent_open && root_open)
}

/// A logged-in member replies to `parent_id` from the web. The reply is a
/// `Note` of their own Person actor, public, shown in the conversation and
/// sent to the author answered and to the co-op's followers.
pub async fn reply(ctx: &Ctx, caller: &Caller, parent_id: i64, text: &str) -> ServiceResult<Object> {
    let Caller::User { id: user_id, .. } = caller else {
        return Err(ServiceError::Unauthorized("Log in to reply.".into()));
    };
    let by_user = caller.require(UserRole::Member)?;
    let text = member_text(text, "reply")?;
    let (parent, root_open) = {
        let mut conn = ctx.db.conn().await?;
        let parent = answerable(&mut conn, caller, parent_id).await?;
        let root_open = conversation_root(&mut conn, &parent.ap_id, 16)
            .await?
            .is_none_or(|r| Visibility::from_db(&r.visibility).is_open());
        (parent, root_open)
    };
    let person = people::person_of(ctx, *user_id).await?;
    let at = crate::db::now();
    let mut tx = ctx.db.begin().await?;
    // In a forum: not when banned or the thread is locked; the thread
    // moves up.
    if let Some((forum, thread, _)) = super::forums::placement_of(&mut tx, &parent).await? {
        super::forums::check_post(
            &mut tx,
            &forum,
            Some(&thread),
            &person,
            caller.can(UserRole::Moderator),
        )
        .await?;
        super::forums::touch_thread(&mut tx, &thread).await?;
    }
    // In a conversation that is not open to all (members-only news, a
    // members-only forum), the reply is members-only too.
    let visibility = if !root_open || !Visibility::from_db(&parent.visibility).is_open() {
        Visibility::Members
    } else {
        Visibility::Public
    };
    let id = insert_member_note(
        &mut tx,
        &ctx.config,
        &person,
        Some(parent.ap_id.clone()),
        visibility,
        text,
        at,
    )
    .await?;
    events::record(&mut tx, &DomainEvent::ReplyPublished { id }, None).await?;
    accounts_q::audit(&mut tx, Some(by_user), "reply.publish", &parent.ap_id).await?;
    super::notifications::reply_posted(&mut tx, &ctx.config, &parent.ap_id, &person).await?;
    let reply = content::find(&mut tx, id)
        .await?
        .ok_or_else(|| ServiceError::Internal("reply vanished after insert".into()))?;
    tx.commit().await?;
    Ok(reply)
}

/// The page a reply is shown on: the local object (or forum thread) at
/// the root of its conversation (replies of replies climb to it).
pub async fn root_of(ctx: &Ctx, reply: &Object) -> ServiceResult<Option<Object>> {
    let Some(parent) = &reply.in_reply_to else {
        return Ok(None);
    };
    let mut conn = ctx.db.conn().await?;
    // A chain that breaks or runs past 16 levels ends on an object that
    // still answers something: no page.
    // Sixteen objects in all, the one answered included.
    Ok(conversation_root(&mut conn, parent, 15)
        .await?
        .filter(|r| (r.local || r.kind == ContentKind::Thread.as_str()) && r.in_reply_to.is_none()))
}

/// A member's reply by id, for its `/notes/{id}` document.
pub async fn find_local_note(ctx: &Ctx, id: i64) -> ServiceResult<Option<Object>> {
    let mut conn = ctx.db.conn().await?;
    Ok(content::find(&mut conn, id)
        .await?
        .filter(|o| o.local && o.kind == ContentKind::Note.as_str()))
}
