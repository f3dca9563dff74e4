//! Forums as FEP-1b12 groups. A forum is a `Group` actor: ours (made and
//! configured by admins, announcing what is posted in it to its followers)
//! or another server's (a Lemmy community, another co-op's forum) that a
//! moderator subscribed to through their Person. Threads are objects of
//! kind `thread` with a row in `threads` (order, lock, pin); replies are the
//! conversation's Notes. Moderators lock, pin, remove and ban.

use super::events::{self, DomainEvent};
use super::types::{Handle, UserRole};
use super::{people, Caller, Ctx, FieldErrors, ServiceError, ServiceResult};
use crate::db::models::{Actor, ContentKind, FollowState, ForumRow, NewObject, Object, ThreadRow};
use crate::db::queries::{accounts as accounts_q, actors, content, follows as follow_q, forums as forum_q};
use crate::db::{now, PooledConn};

/// Who may read a forum.
pub const VISIBILITIES: [&str; 2] = ["public", "members"];

/// Threads on a forum page.
pub const THREADS_PER_PAGE: i64 = 30;

/// A forum and its actor.
#[derive(Debug, Clone)]
pub struct Forum {
    pub actor: Actor,
    pub row: ForumRow,
}

impl Forum {
    /// How pages name it: `general` here, `general@lemmy.example` elsewhere.
    pub fn key(&self) -> String {
        if self.actor.local {
            self.actor.handle.clone()
        } else {
            format!("{}@{}", self.actor.handle, self.actor.domain)
        }
    }

    pub fn is_public(&self) -> bool {
        self.row.visibility == "public"
    }

    /// Whether `caller` may read it: public forums for everyone, members-only
    /// ones for logged-in members.
    pub fn readable_by(&self, caller: &Caller) -> bool {
        self.is_public() || caller.can(UserRole::Member)
    }
}

/// What an admin sets for one of our forums.
#[derive(Debug, Clone, Default)]
pub struct ForumInput {
    pub handle: String,
    pub name: String,
    pub description: String,
    pub visibility: String,
    pub posting_restricted: bool,
}

fn check_input(input: &ForumInput, errors: &mut FieldErrors) -> (String, String, String) {
    let name = input.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        errors.add("name", "Give the forum a name of 1 to 100 characters.");
    }
    let description = super::text::normalize_newlines(input.description.trim());
    if description.chars().count() > 2000 {
        errors.add("description", "Keep the description under 2,000 characters.");
    }
    let visibility = match input.visibility.trim() {
        "" => "public".to_string(),
        v if VISIBILITIES.contains(&v) => v.to_string(),
        _ => {
            errors.add("visibility", "Choose who can read the forum: public or members.");
            String::new()
        }
    };
    (name, description, visibility)
}

/// An admin opens a forum: a Group actor `@handle@our.domain` with its own
/// keys. Handles are shared with the co-op, the instance actor and members'
/// usernames (one WebFinger namespace).
pub async fn create_forum(ctx: &Ctx, caller: &Caller, input: &ForumInput) -> ServiceResult<Forum> {
    let by_user = caller.require(UserRole::Admin)?;
    let mut errors = FieldErrors::default();
    let handle = errors.take(Handle::parse("handle", &input.handle))?;
    let (name, description, visibility) = check_input(input, &mut errors);
    if let Some(h) = &handle {
        let mut conn = ctx.db.conn().await?;
        let taken = actors::find_local_by_handle(&mut conn, h.as_str())
            .await?
            .is_some()
            || accounts_q::find_user_by_username(&mut conn, h.as_str())
                .await?
                .is_some()
            || h.as_str() == super::coop::INSTANCE_ACTOR_HANDLE;
        if taken {
            errors.add(
                "handle",
                format!(
                    "@{} is already taken here (by the co-op, a forum or a member): choose another handle.",
                    h.as_str()
                ),
            );
        }
    }
    errors.finish()?;
    let handle = handle.ok_or_else(|| ServiceError::Internal("handle checked above".into()))?;
    let path = format!("/actors/{}", handle.as_str());
    let row = {
        let ctx2 = ctx.clone();
        let (h, n) = (handle.as_str().to_string(), name.clone());
        tokio::task::spawn_blocking(move || super::coop::local_actor_row(&ctx2, "Group", &h, &path, &n))
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))??
    };
    let public = visibility == "public";
    let row = crate::db::models::ActorRow {
        summary: description,
        discoverable: public,
        // Members-only forums approve their followers.
        manually_approves_followers: !public,
        ..row
    };
    let mut tx = ctx.db.begin().await?;
    let actor_id = actors::insert(&mut tx, &row).await?;
    forum_q::insert(
        &mut tx,
        &ForumRow {
            actor_id,
            visibility,
            posting_restricted: input.posting_restricted,
            subscribed_by: None,
            created_at: now(),
        },
    )
    .await?;
    accounts_q::audit(&mut tx, Some(by_user), "forum.create", handle.as_str()).await?;
    tx.commit().await?;
    forum_by_actor(ctx, actor_id).await
}

/// An admin changes a forum's name, description, audience or posting rule;
/// its followers get the new profile (Update of the Group).
pub async fn update_forum(
    ctx: &Ctx,
    caller: &Caller,
    forum: &Forum,
    input: &ForumInput,
) -> ServiceResult<Forum> {
    let by_user = caller.require(UserRole::Admin)?;
    if !forum.actor.local {
        return Err(ServiceError::Forbidden(
            "That forum is on another server: only its own admins change it.".into(),
        ));
    }
    let mut errors = FieldErrors::default();
    let (name, description, visibility) = check_input(input, &mut errors);
    let mut tx = ctx.db.begin().await?;
    // What was posted was posted for that audience: a forum with threads
    // keeps it (a members-only discussion must not become public, nor a
    // public one pretend it was never public).
    if visibility != forum.row.visibility
        && !visibility.is_empty()
        && forum_q::count_threads(&mut tx, forum.actor.id).await? > 0
    {
        errors.add(
            "visibility",
            "A forum with threads keeps who can read it: open a new forum for the other audience.",
        );
    }
    errors.finish()?;
    let members_only = visibility == "members";
    if members_only {
        // Nobody outside hears from it any more.
        crate::db::queries::follows::delete_follows_of_followed(&mut tx, forum.actor.id).await?;
    }
    actors::set_group_profile(
        &mut tx,
        forum.actor.id,
        &name,
        &description,
        visibility == "public",
    )
    .await?;
    forum_q::update(&mut tx, forum.actor.id, &visibility, input.posting_restricted).await?;
    if !members_only {
        events::record(
            &mut tx,
            &DomainEvent::ProfileUpdated {
                actor: forum.actor.id,
            },
            None,
        )
        .await?;
    }
    accounts_q::audit(&mut tx, Some(by_user), "forum.update", &forum.actor.handle).await?;
    tx.commit().await?;
    forum_by_actor(ctx, forum.actor.id).await
}

async fn forum_by_actor(ctx: &Ctx, actor_id: i64) -> ServiceResult<Forum> {
    let mut conn = ctx.db.conn().await?;
    forum_on(&mut conn, actor_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("That forum no longer exists.".into()))
}

async fn forum_on(conn: &mut PooledConn, actor_id: i64) -> ServiceResult<Option<Forum>> {
    let Some(row) = forum_q::find(conn, actor_id).await? else {
        return Ok(None);
    };
    Ok(actors::find(conn, actor_id)
        .await?
        .map(|actor| Forum { actor, row }))
}

/// The forums `caller` may read: ours first, then those of other servers.
pub async fn list_forums(ctx: &Ctx, caller: &Caller) -> ServiceResult<Vec<Forum>> {
    let mut conn = ctx.db.conn().await?;
    Ok(forum_q::list(&mut conn)
        .await?
        .into_iter()
        .map(|(row, actor)| Forum { actor, row })
        .filter(|f| f.readable_by(caller))
        .collect())
}

/// Public forums of ours, for NodeInfo and the home page.
pub async fn public_local_forums(ctx: &Ctx) -> ServiceResult<Vec<Forum>> {
    Ok(list_forums(ctx, &Caller::Anonymous)
        .await?
        .into_iter()
        .filter(|f| f.actor.local)
        .collect())
}

/// A forum by its key (`general`, or `general@lemmy.example`), if `caller`
/// may read it; a members-only forum is not found for others.
pub async fn find_forum(ctx: &Ctx, caller: &Caller, key: &str) -> ServiceResult<Forum> {
    let missing = || ServiceError::NotFound(format!("There is no forum {key} here."));
    let mut conn = ctx.db.conn().await?;
    let actor = match key.split_once('@') {
        None => actors::find_local_by_handle(&mut conn, &key.to_ascii_lowercase()).await?,
        Some((handle, domain)) => actors::find_remote_by_handle(&mut conn, handle, domain).await?,
    }
    .ok_or_else(missing)?;
    let forum = forum_on(&mut conn, actor.id).await?.ok_or_else(missing)?;
    if !forum.readable_by(caller) {
        return Err(missing());
    }
    Ok(forum)
}

/// The forum of an actor (a Group we keep a forum for), whoever reads.
pub async fn forum_of_actor(ctx: &Ctx, actor: &Actor) -> ServiceResult<Option<Forum>> {
    let mut conn = ctx.db.conn().await?;
    forum_on(&mut conn, actor.id).await
}

/// A thread as lists show it.
#[derive(Debug, Clone)]
pub struct ThreadItem {
    pub object: Object,
    pub thread: ThreadRow,
    pub author: Actor,
    pub replies: i64,
}

/// One page of a forum's threads (pinned first, then newest activity) and
/// the number of pages.
pub async fn threads(ctx: &Ctx, forum: &Forum, page: i64) -> ServiceResult<(Vec<ThreadItem>, i64)> {
    let policy = super::moderation::policy(ctx).await?;
    let mut conn = ctx.db.conn().await?;
    let total = forum_q::count_threads(&mut conn, forum.actor.id).await?;
    let pages = ((total + THREADS_PER_PAGE - 1) / THREADS_PER_PAGE).max(1);
    let page = page.clamp(1, pages);
    let rows = forum_q::list_threads(
        &mut conn,
        forum.actor.id,
        (page - 1) * THREADS_PER_PAGE,
        THREADS_PER_PAGE,
    )
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (thread, object, author) in rows {
        if !policy.allows(&author.domain) {
            continue;
        }
        let replies = content::count_replies(&mut conn, &object.ap_id).await?;
        out.push(ThreadItem {
            object,
            thread,
            author,
            replies,
        });
    }
    Ok((out, pages))
}

/// A thread and its forum, if `caller` may read them.
pub async fn thread_of(ctx: &Ctx, caller: &Caller, object: &Object) -> ServiceResult<(Forum, ThreadRow)> {
    let missing = || ServiceError::NotFound("There is no such thread (it may have been removed).".into());
    let mut conn = ctx.db.conn().await?;
    let thread = forum_q::find_thread(&mut conn, object.id)
        .await?
        .ok_or_else(missing)?;
    let forum = forum_on(&mut conn, thread.forum_id).await?.ok_or_else(missing)?;
    if !forum.readable_by(caller) || object.deleted_at.is_some() {
        return Err(missing());
    }
    if object.hidden_at.is_some() && !caller.can(UserRole::Moderator) {
        return Err(missing());
    }
    Ok((forum, thread))
}

/// A thread by its page: ours by slug (`/threads/{slug}`), another
/// server's by row id (`/threads/remote/{id}`).
pub async fn find_thread(
    ctx: &Ctx,
    caller: &Caller,
    local_slug: Option<&str>,
    remote_id: Option<i64>,
) -> ServiceResult<(Object, Forum, ThreadRow)> {
    let missing = || ServiceError::NotFound("There is no such thread (it may have been removed).".into());
    let object = {
        let mut conn = ctx.db.conn().await?;
        match (local_slug, remote_id) {
            (Some(slug), _) => {
                content::find_local_by_slug(&mut conn, ContentKind::Thread.as_str(), slug).await?
            }
            (None, Some(id)) => content::find(&mut conn, id)
                .await?
                .filter(|o| !o.local && o.kind == ContentKind::Thread.as_str()),
            (None, None) => None,
        }
    }
    .ok_or_else(missing)?;
    let (forum, thread) = thread_of(ctx, caller, &object).await?;
    Ok((object, forum, thread))
}

/// What a member writes to start a thread.
#[derive(Debug, Clone, Default)]
pub struct ThreadInput {
    pub title: String,
    pub body: String,
}

/// Whether `author` may post in `forum`: not banned, the thread not
/// locked, and (for a new thread in an announcements-only forum) a
/// moderator. `thread` is None for a new thread.
pub async fn check_post(
    conn: &mut PooledConn,
    forum: &Forum,
    thread: Option<&ThreadRow>,
    author: &Actor,
    is_moderator: bool,
) -> ServiceResult<()> {
    if forum_q::is_banned(conn, forum.actor.id, author.id).await? {
        return Err(ServiceError::Forbidden(format!(
            "{} is banned from the forum {}.",
            author.ap_id, forum.actor.name
        )));
    }
    if let Some(t) = thread {
        let root = content::find(conn, t.object_id).await?;
        if root.is_none_or(|r| r.deleted_at.is_some() || r.hidden_at.is_some()) {
            return Err(ServiceError::Forbidden(
                "This thread was removed: it takes no replies.".into(),
            ));
        }
    }
    match thread {
        Some(t) if t.locked => Err(ServiceError::Forbidden(
            "This thread is locked: it takes no new replies.".into(),
        )),
        None if forum.row.posting_restricted && !is_moderator => Err(ServiceError::Forbidden(format!(
            "Only moderators start threads in {} (announcements); reply to a thread instead.",
            forum.actor.name
        ))),
        _ => Ok(()),
    }
}

/// A member starts a thread, as their Person: a `Page` with the group as
/// its `audience`. In our forum the group announces it to its followers;
/// in another server's, it goes to that group.
pub async fn post_thread(
    ctx: &Ctx,
    caller: &Caller,
    forum: &Forum,
    input: &ThreadInput,
) -> ServiceResult<Object> {
    let Caller::User { id: user_id, .. } = caller else {
        return Err(ServiceError::Unauthorized("Log in to start a thread.".into()));
    };
    let by_user = caller.require(UserRole::Member)?;
    let mut errors = FieldErrors::default();
    let title = input.title.trim().to_string();
    if title.is_empty() || title.chars().count() > 200 {
        errors.add("title", "Give the thread a title of 1 to 200 characters.");
    }
    let body = super::text::normalize_newlines(input.body.trim());
    if body.chars().count() > 20_000 || body.contains('\0') {
        errors.add(
            "body",
            "Keep the text under 20,000 characters, without NUL characters.",
        );
    }
    errors.finish()?;
    let person = people::person_of(ctx, *user_id).await?;
    let at = now();
    let mut tx = ctx.db.begin().await?;
    check_post(&mut tx, forum, None, &person, caller.can(UserRole::Moderator)).await?;
    let (id, _) = super::objects::insert_local(
        &mut tx,
        &ctx.config,
        ContentKind::Thread,
        NewObject {
            ap_type: "Page".into(),
            author_id: person.id,
            visibility: if forum.is_public() {
                crate::db::models::Visibility::Public
            } else {
                crate::db::models::Visibility::Members
            }
            .as_str()
            .into(),
            title,
            content_html: super::text::render_markdown(&body),
            source: Some(body),
            published_at: Some(at),
            created_at: at,
            ..Default::default()
        },
    )
    .await?;
    forum_q::insert_thread(
        &mut tx,
        &ThreadRow {
            object_id: id,
            forum_id: forum.actor.id,
            locked: false,
            pinned: false,
            last_activity_at: at,
        },
    )
    .await?;
    events::record(&mut tx, &DomainEvent::ThreadPublished { id }, None).await?;
    accounts_q::audit(&mut tx, Some(by_user), "thread.publish", &forum.actor.ap_id).await?;
    let object = content::find(&mut tx, id)
        .await?
        .ok_or_else(|| ServiceError::Internal("thread vanished after insert".into()))?;
    tx.commit().await?;
    Ok(object)
}

/// The thread at the root of a conversation, with its forum, if the
/// object is in one (a thread, or a reply under one).
pub async fn placement_of(
    conn: &mut PooledConn,
    object: &Object,
) -> ServiceResult<Option<(Forum, ThreadRow, Object)>> {
    let Some((thread, root, group)) = forum_q::placement(conn, object).await? else {
        return Ok(None);
    };
    Ok(forum_q::find(conn, group.id)
        .await?
        .map(|row| (Forum { actor: group, row }, thread, root)))
}

/// Moderators lock a thread (no new replies) or unlock it.
pub async fn set_locked(ctx: &Ctx, caller: &Caller, object: &Object, locked: bool) -> ServiceResult<()> {
    set_flag(ctx, caller, object, locked, true).await
}

/// Moderators pin a thread to the top of its forum, or unpin it.
pub async fn set_pinned(ctx: &Ctx, caller: &Caller, object: &Object, pinned: bool) -> ServiceResult<()> {
    set_flag(ctx, caller, object, pinned, false).await
}

async fn set_flag(ctx: &Ctx, caller: &Caller, object: &Object, on: bool, lock: bool) -> ServiceResult<()> {
    let by_user = caller.require(UserRole::Moderator)?;
    let mut tx = ctx.db.begin().await?;
    let thread = forum_q::find_thread(&mut tx, object.id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("There is no such thread.".into()))?;
    if lock {
        forum_q::set_locked(&mut tx, thread.object_id, on).await?;
    } else {
        forum_q::set_pinned(&mut tx, thread.object_id, on).await?;
    }
    // Our own threads tell peers (commentsEnabled, stickied); another
    // server's thread keeps the change here.
    if object.local {
        events::record(&mut tx, &DomainEvent::ThreadUpdated { id: object.id }, None).await?;
    }
    let action = match (lock, on) {
        (true, true) => "thread.lock",
        (true, false) => "thread.unlock",
        (false, true) => "thread.pin",
        (false, false) => "thread.unpin",
    };
    accounts_q::audit(&mut tx, Some(by_user), action, &object.ap_id).await?;
    tx.commit().await?;
    Ok(())
}

/// A moderator removes a thread or a reply from one of our forums: it is
/// no longer shown or served, and the removal (a Delete by the moderator's
/// Person, Lemmy's shape) is announced to the forum's followers.
pub async fn remove_post(ctx: &Ctx, caller: &Caller, object: &Object, reason: &str) -> ServiceResult<Forum> {
    let Caller::User { id: user_id, .. } = caller else {
        return Err(ServiceError::Unauthorized("Log in first.".into()));
    };
    let by_user = caller.require(UserRole::Moderator)?;
    let reason: String = reason.trim().chars().take(500).collect();
    let placement = {
        let mut conn = ctx.db.conn().await?;
        placement_of(&mut conn, object).await?
    };
    let Some((forum, _, _)) = placement else {
        return Err(ServiceError::NotFound("That post is not in a forum.".into()));
    };
    if !forum.actor.local {
        return Err(ServiceError::Forbidden(
            "That forum is on another server: its own moderators remove posts there. Hide it here instead."
                .into(),
        ));
    }
    let moderator = people::person_of(ctx, *user_id).await?;
    let mut tx = ctx.db.begin().await?;
    content::mark_deleted(&mut tx, object.id).await?;
    // Our Creates of it and the group's Announces of it are no longer served.
    crate::db::queries::outbox::redact_outbox_for_object(&mut tx, object.id).await?;
    events::record(
        &mut tx,
        &DomainEvent::PostRemoved {
            id: object.id,
            forum: forum.actor.id,
            moderator: moderator.id,
            reason,
        },
        None,
    )
    .await?;
    accounts_q::audit(&mut tx, Some(by_user), "forum.remove", &object.ap_id).await?;
    tx.commit().await?;
    Ok(forum)
}

/// A moderator bans an actor from one of our forums: their activities to
/// it are refused from now on (403) and not announced, and their follow of
/// the group ends.
pub async fn ban(
    ctx: &Ctx,
    caller: &Caller,
    forum: &Forum,
    actor: &Actor,
    reason: &str,
) -> ServiceResult<()> {
    let by_user = caller.require(UserRole::Moderator)?;
    if !forum.actor.local {
        return Err(ServiceError::Forbidden(
            "Bans apply to this co-op's own forums.".into(),
        ));
    }
    let mut tx = ctx.db.begin().await?;
    forum_q::ban(&mut tx, forum.actor.id, actor.id, reason.trim()).await?;
    // Nor does it hear from the forum any more.
    follow_q::delete_follow(&mut tx, actor.id, forum.actor.id).await?;
    accounts_q::audit(&mut tx, Some(by_user), "forum.ban", &actor.ap_id).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn unban(ctx: &Ctx, caller: &Caller, forum: &Forum, actor_id: i64) -> ServiceResult<()> {
    let by_user = caller.require(UserRole::Moderator)?;
    let mut tx = ctx.db.begin().await?;
    forum_q::unban(&mut tx, forum.actor.id, actor_id).await?;
    accounts_q::audit(&mut tx, Some(by_user), "forum.unban", &actor_id.to_string()).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn bans(ctx: &Ctx, caller: &Caller, forum: &Forum) -> ServiceResult<Vec<(Actor, String)>> {
    caller.require(UserRole::Moderator)?;
    let mut conn = ctx.db.conn().await?;
    Ok(forum_q::bans(&mut conn, forum.actor.id).await?)
}

/// A moderator subscribes the co-op to another server's group (a Lemmy
/// community, another co-op's forum): the co-op's actor follows it (Lemmy
/// takes follows from an Organization), and once it accepts, its threads
/// appear here as a forum that members reply in.
pub async fn subscribe(ctx: &Ctx, caller: &Caller, group: &Actor) -> ServiceResult<Forum> {
    let by_user = caller.require(UserRole::Moderator)?;
    if group.local {
        return Err(ServiceError::invalid(
            "actor",
            "That forum is already this co-op's own.",
        ));
    }
    if group.kind != "Group" {
        return Err(ServiceError::invalid(
            "actor",
            format!("{} is a {}, not a forum (a Group).", group.ap_id, group.kind),
        ));
    }
    let person = super::coop::get_coop(ctx)
        .await?
        .ok_or_else(|| ServiceError::NotFound("The co-op is not set up yet.".into()))?;
    let mut tx = ctx.db.begin().await?;
    forum_q::insert(
        &mut tx,
        &ForumRow {
            actor_id: group.id,
            visibility: "public".into(),
            posting_restricted: false,
            subscribed_by: Some(person.id),
            created_at: now(),
        },
    )
    .await?;
    let accepted = follow_q::find_follow(&mut tx, person.id, group.id)
        .await?
        .is_some_and(|f| f.state() == FollowState::Accepted);
    if !accepted {
        let follow_id = ctx
            .config
            .url(&format!("/activities/{}", crate::crypto::random_token()));
        follow_q::upsert_follow(
            &mut tx,
            person.id,
            group.id,
            FollowState::Pending,
            Some(&follow_id),
        )
        .await?;
        events::record(
            &mut tx,
            &DomainEvent::FollowRequested {
                local: person.id,
                remote: group.id,
                follow_id,
            },
            None,
        )
        .await?;
    }
    accounts_q::audit(&mut tx, Some(by_user), "forum.subscribe", &group.ap_id).await?;
    tx.commit().await?;
    ctx.cache.followed.clear();
    forum_by_actor(ctx, group.id).await
}

/// A moderator stops following another server's group: its server gets
/// Undo(Follow), and the forum leaves our list (its threads stay stored
/// but are no longer listed; a new subscription shows them again).
pub async fn unsubscribe(ctx: &Ctx, caller: &Caller, forum: &Forum) -> ServiceResult<()> {
    let by_user = caller.require(UserRole::Moderator)?;
    if forum.actor.local {
        return Err(ServiceError::invalid("forum", "That forum is this co-op's own."));
    }
    let mut tx = ctx.db.begin().await?;
    if let Some(follower) = forum.row.subscribed_by {
        if let Some(follow) = follow_q::find_follow(&mut tx, follower, forum.actor.id).await? {
            follow_q::delete_follow(&mut tx, follower, forum.actor.id).await?;
            events::record(
                &mut tx,
                &DomainEvent::FollowUndone {
                    local: follower,
                    remote: forum.actor.id,
                    follow_id: follow.ap_id.unwrap_or_default(),
                },
                None,
            )
            .await?;
        }
    }
    forum_q::delete(&mut tx, forum.actor.id).await?;
    accounts_q::audit(&mut tx, Some(by_user), "forum.unsubscribe", &forum.actor.ap_id).await?;
    tx.commit().await?;
    ctx.cache.followed.clear();
    Ok(())
}

/// Whether the subscription to another server's group was accepted.
pub async fn subscription_state(ctx: &Ctx, forum: &Forum) -> ServiceResult<Option<FollowState>> {
    let Some(by) = forum.row.subscribed_by else {
        return Ok(None);
    };
    let mut conn = ctx.db.conn().await?;
    Ok(follow_q::find_follow(&mut conn, by, forum.actor.id)
        .await?
        .map(|f| f.state()))
}

/// Where an incoming post goes: the forum it is addressed to (a group in
/// its `audience`, `to` or `cc`) or the forum of the thread it answers.
pub struct Placement {
    pub forum: Forum,
    /// The thread answered; None for a new thread.
    pub thread: Option<ThreadRow>,
}

/// Finds the forum of an incoming post. `addressed`: its audience, to and
/// cc; `in_reply_to`: what it answers.
pub async fn place_incoming(
    ctx: &Ctx,
    addressed: &[String],
    in_reply_to: Option<&str>,
) -> ServiceResult<Option<Placement>> {
    if let Some(parent) = in_reply_to {
        let mut conn = ctx.db.conn().await?;
        let Some(parent) = content::find_by_ap_id(&mut conn, parent).await? else {
            return Ok(None);
        };
        let Some((forum, thread, _)) = placement_of(&mut conn, &parent).await? else {
            return Ok(None);
        };
        if forum.actor.local && (parent.deleted_at.is_some() || parent.hidden_at.is_some()) {
            return Err(ServiceError::Forbidden(
                "What this answers was removed from the forum: it takes no replies.".into(),
            ));
        }
        return Ok(Some(Placement {
            forum,
            thread: Some(thread),
        }));
    }
    // A post that names more audiences than any real one does is read as
    // far as its first few hundred (one query, within any bind limit).
    let addressed = &addressed[..addressed.len().min(256)];
    if addressed.is_empty() {
        return Ok(None);
    }
    let mut conn = ctx.db.conn().await?;
    let mut groups = actors::find_groups(&mut conn, addressed).await?;
    // The first addressed that is a forum, as the post names them.
    groups.sort_by_key(|g| addressed.iter().position(|a| *a == g.ap_id));
    for group in groups {
        if let Some(forum) = forum_on(&mut conn, group.id).await? {
            return Ok(Some(Placement { forum, thread: None }));
        }
    }
    Ok(None)
}

/// The forum of one of our objects that an activity (Like, Delete, Undo)
/// is about, when the forum is ours: the activity is then announced.
pub async fn local_forum_of(ctx: &Ctx, object_ap_id: &str) -> ServiceResult<Option<Forum>> {
    let mut conn = ctx.db.conn().await?;
    let Some(object) = content::find_by_ap_id(&mut conn, object_ap_id).await? else {
        return Ok(None);
    };
    Ok(placement_of(&mut conn, &object)
        .await?
        .map(|(forum, _, _)| forum)
        .filter(|f| f.actor.local))
}

/// Refuses an actor banned from `forum` (403 to the sender).
pub async fn refuse_banned(ctx: &Ctx, forum: &Forum, actor: &Actor) -> ServiceResult<()> {
    if forum.actor.local && !forum.is_public() && !actor.local {
        return Err(ServiceError::Forbidden(format!(
            "{} is for the co-op's members.",
            forum.actor.name
        )));
    }
    let mut conn = ctx.db.conn().await?;
    if forum_q::is_banned(&mut conn, forum.actor.id, actor.id).await? {
        return Err(ServiceError::Forbidden(format!(
            "{} is banned from the forum {}.",
            actor.ap_id, forum.actor.name
        )));
    }
    Ok(())
}

/// Queues the announce of a received activity to one of our forums'
/// followers. Called after the activity was applied; if this fails the
/// inbox answers 500 and forgets the id, so the sender's retry applies it
/// again (idempotently) and queues the announce then.
pub async fn announce_received(ctx: &Ctx, forum: &Forum, activity_id: &str) -> ServiceResult<()> {
    if !forum.actor.local {
        return Ok(());
    }
    let mut conn = ctx.db.write().await?;
    events::record(
        &mut conn,
        &DomainEvent::ForumAnnounce {
            forum: forum.actor.id,
            activity: activity_id.to_string(),
        },
        None,
    )
    .await?;
    Ok(())
}

/// A reply moved its thread up.
pub async fn touch_thread(conn: &mut PooledConn, thread: &ThreadRow) -> ServiceResult<()> {
    forum_q::touch(conn, thread.object_id, now()).await?;
    Ok(())
}

/// Moderators of our forums as peers see them (the `moderators`
/// collection): the Persons of the co-op's moderators and admins that
/// other servers can fetch (those that have published).
pub async fn moderators(ctx: &Ctx) -> ServiceResult<Vec<String>> {
    let mut conn = ctx.db.conn().await?;
    let mut out = Vec::new();
    for user in accounts_q::list_users(&mut conn).await? {
        if user.disabled || UserRole::from_db(&user.role) < UserRole::Moderator {
            continue;
        }
        let Some(actor_id) = user.actor_id else { continue };
        if content::count_by_author(&mut conn, actor_id).await? == 0 {
            continue;
        }
        if let Some(a) = actors::find(&mut conn, actor_id).await? {
            out.push(a.ap_id);
        }
    }
    Ok(out)
}

/// A forum's pinned threads (its `featured` collection).
pub async fn pinned(ctx: &Ctx, forum: &Forum) -> ServiceResult<Vec<String>> {
    let mut conn = ctx.db.conn().await?;
    Ok(forum_q::pinned_ids(&mut conn, forum.actor.id).await?)
}
