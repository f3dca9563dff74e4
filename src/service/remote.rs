//! What remote servers tell us about themselves and our content: actor
//! profiles, likes and boosts, reports, and the log of received activities.
//! Inbox handlers call these after the activity is verified.

use super::{Ctx, ServiceResult};
use crate::db::models::{Actor, ActorRow};
use crate::db::queries::{actors, content, follows as follow_q, inbox_log as inbox_q};

/// Stores or refreshes a remote actor.
pub async fn save_actor(ctx: &Ctx, row: &ActorRow) -> ServiceResult<Actor> {
    let mut conn = ctx.db.write().await?;
    let id = actors::upsert_remote(&mut conn, row).await?;
    actors::find(&mut conn, id)
        .await?
        .ok_or_else(|| super::ServiceError::Internal("actor vanished after upsert".into()))
}

pub async fn find_actor(ctx: &Ctx, ap_id: &str) -> ServiceResult<Option<Actor>> {
    let mut conn = ctx.db.conn().await?;
    Ok(actors::find_by_ap_id(&mut conn, ap_id).await?)
}

pub async fn find_actor_by_key(ctx: &Ctx, key_id: &str) -> ServiceResult<Option<Actor>> {
    let mut conn = ctx.db.conn().await?;
    Ok(actors::find_by_key_id(&mut conn, key_id).await?)
}

/// Delete(actor): the account is gone; its follows go with it.
pub async fn remove_actor(ctx: &Ctx, actor: &Actor) -> ServiceResult<()> {
    let mut tx = ctx.db.begin().await?;
    follow_q::delete_follows_of(&mut tx, actor.id).await?;
    actors::delete(&mut tx, actor.id).await?;
    tx.commit().await?;
    ctx.cache.followed.clear();
    tracing::info!(actor = %actor.ap_id, "remote actor deleted");
    Ok(())
}

/// Records a received activity whose handling wrote nothing (its writes
/// log it themselves: [`crate::db::Carried`]): false if it was seen
/// before. A transaction, not a lone write, so that it commits with the
/// writes queued beside it.
pub async fn record_activity(ctx: &Ctx, receipt: &crate::db::Receipt) -> ServiceResult<bool> {
    let mut tx = ctx.db.begin().await?;
    let new = receipt.insert_on(&mut tx).await?;
    tx.commit().await?;
    Ok(new)
}

/// Applies `inbox_retention_days`: raw bodies older than it are blanked, and
/// the ids (which de-duplicate retries) are dropped after three times as long.
pub async fn prune_inbox_log(ctx: &Ctx) -> ServiceResult<(usize, usize)> {
    let days = i64::from(ctx.config.inbox_retention_days);
    let now = crate::db::now();
    let (bodies, ids) = (
        now - chrono::Duration::days(days),
        now - chrono::Duration::days((days * 3).max(1)),
    );
    let blanked = ctx
        .db
        .write_in_chunks(move |c, n| Box::pin(inbox_q::blank_inbox_bodies(c, bodies, n)))
        .await?;
    let deleted = ctx
        .db
        .write_in_chunks(move |c, n| Box::pin(inbox_q::delete_inbox_ids(c, ids, n)))
        .await?;
    Ok((blanked, deleted))
}

/// Removes a logged id whose processing failed, so a retry is processed.
pub async fn forget_activity(ctx: &Ctx, activity_id: &str) -> ServiceResult<()> {
    let mut conn = ctx.db.write().await?;
    inbox_q::forget_inbox(&mut conn, activity_id).await?;
    Ok(())
}

/// A Like or Announce of one of our objects; unknown objects are ignored.
pub async fn add_reaction(
    ctx: &Ctx,
    kind: crate::db::models::ReactionKind,
    actor: &Actor,
    object_ap_id: &str,
    activity_id: &str,
) -> ServiceResult<bool> {
    let mut conn = ctx.db.write().await?;
    let Some(object) = content::find_by_ap_id(&mut conn, object_ap_id).await? else {
        return Ok(false);
    };
    Ok(content::add_reaction(&mut conn, kind, actor.id, object.id, activity_id).await?)
}

pub async fn remove_reaction(ctx: &Ctx, actor: &Actor, activity_id: &str) -> ServiceResult<bool> {
    let mut conn = ctx.db.write().await?;
    Ok(content::remove_reaction(&mut conn, activity_id, actor.id).await? > 0)
}

/// A Flag: kept for the co-op's moderators.
pub async fn store_report(
    ctx: &Ctx,
    actor: &Actor,
    activity_id: &str,
    objects: &[String],
    content: &str,
) -> ServiceResult<()> {
    let mut conn = ctx.db.write().await?;
    inbox_q::insert_report(&mut conn, actor.id, activity_id, &objects.join("\n"), content).await?;
    tracing::info!(reporter = %actor.ap_id, "report received");
    Ok(())
}

/// A post from an actor the co-op follows (another co-op's news), stored so
/// that members see it. Its HTML is sanitised here.
pub struct RemotePost {
    pub ap_id: String,
    pub ap_type: String,
    /// What it is here (`news` for another co-op's Article, else `note`).
    pub kind: &'static str,
    pub title: String,
    pub summary: String,
    pub content_html: String,
    pub url: Option<String>,
    pub in_reply_to: Option<String>,
    pub visibility: super::types::Visibility,
    pub published_at: Option<chrono::NaiveDateTime>,
}

pub async fn store_post(ctx: &Ctx, author: &Actor, post: RemotePost) -> ServiceResult<()> {
    store(ctx, author, post, After::Nothing).await.map(|_| ())
}

/// A thread or reply posted in a forum (ours, or another server's that the
/// co-op subscribed to): stored with its thread's row (a new thread) or
/// moving its thread up (a reply). `thread` is the thread answered.
/// Whether anything changed (false for a repeat, or a removed post).
pub async fn store_in_forum(
    ctx: &Ctx,
    author: &Actor,
    post: RemotePost,
    forum_id: i64,
    thread: Option<&crate::db::models::ThreadRow>,
) -> ServiceResult<bool> {
    store(ctx, author, post, After::Forum { forum_id, thread }).await
}

/// What else storing a remote post does, in the same transaction.
enum After<'a> {
    Nothing,
    /// Forward the received Create (by its id in the inbox log).
    Forward(&'a str),
    Forum {
        forum_id: i64,
        thread: Option<&'a crate::db::models::ThreadRow>,
    },
}

/// A public reply to one of our objects that its author's server signed
/// itself (a Linked Data signature, which lets others trust it from us):
/// stored, and forwarded as received to the co-op's followers, as Mastodon
/// forwards replies to its posts, so that their servers show the whole
/// conversation. `activity_id` names the received Create in the inbox log.
pub async fn store_and_forward(
    ctx: &Ctx,
    author: &Actor,
    post: RemotePost,
    activity_id: &str,
) -> ServiceResult<()> {
    store(ctx, author, post, After::Forward(activity_id))
        .await
        .map(|_| ())
}

/// Stores or updates; whether anything changed.
async fn store(ctx: &Ctx, author: &Actor, post: RemotePost, after: After<'_>) -> ServiceResult<bool> {
    // Sanitising is the costly part: done before taking the writer's turn,
    // which the other writers wait for.
    let html = crate::service::text::sanitize_html(&post.content_html);
    let mut tx = ctx.db.begin().await?;
    if let Some(existing) = content::find_by_ap_id(&mut tx, &post.ap_id).await? {
        if existing.author_id != author.id {
            tx.rollback().await?;
            return Err(super::ServiceError::invalid(
                "object",
                "That object belongs to another actor.",
            ));
        }
        // Deleted here (by its author, or by a moderator): an Update does
        // not bring it back.
        if existing.deleted_at.is_some() {
            tx.rollback().await?;
            return Ok(false);
        }
        let title: String = post.title.chars().take(300).collect();
        let summary: String = post.summary.chars().take(2000).collect();
        if existing.title == title && existing.summary == summary && existing.content_html == html {
            tx.rollback().await?;
            return Ok(false);
        }
        content::update_content(
            &mut tx,
            existing.id,
            &content::ContentChange {
                title: &post.title,
                summary: &post.summary,
                content_html: &html,
                source: "",
                image_url: None,
                image_alt: None,
            },
        )
        .await?;
        tx.commit().await?;
        return Ok(true);
    }
    let at = crate::db::now();
    let parent = post.in_reply_to.clone();
    let reply = content::insert(
        &mut tx,
        &crate::db::models::NewObject {
            ap_id: post.ap_id,
            kind: post.kind.into(),
            ap_type: post.ap_type,
            author_id: author.id,
            in_reply_to: post.in_reply_to,
            visibility: post.visibility.as_str().into(),
            title: post.title.chars().take(300).collect(),
            summary: post.summary.chars().take(2000).collect(),
            content_html: html,
            url: post.url,
            local: false,
            published_at: post.published_at,
            created_at: crate::db::now(),
            ..Default::default()
        },
    )
    .await?;
    if let Some(parent) = &parent {
        super::notifications::reply_posted(&mut tx, &ctx.config, parent, author).await?;
    }
    match after {
        After::Nothing => {}
        After::Forward(activity) => {
            super::events::record(
                &mut tx,
                &super::events::DomainEvent::ReplyForwarded {
                    activity: activity.to_string(),
                    from: author.id,
                    reply,
                },
                None,
            )
            .await?;
        }
        After::Forum {
            thread: Some(thread), ..
        } => crate::db::queries::forums::touch(&mut tx, thread.object_id, at).await?,
        After::Forum {
            forum_id,
            thread: None,
        } => {
            crate::db::queries::forums::insert_thread(
                &mut tx,
                &crate::db::models::ThreadRow {
                    object_id: reply,
                    forum_id,
                    locked: false,
                    pinned: false,
                    last_activity_at: at,
                },
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(true)
}

/// Whether `ap_id` is one of our own objects (not deleted).
pub async fn local_object_exists(ctx: &Ctx, ap_id: &str) -> ServiceResult<bool> {
    let mut conn = ctx.db.conn().await?;
    Ok(content::find_by_ap_id(&mut conn, ap_id)
        .await?
        .is_some_and(|o| o.local && o.deleted_at.is_none()))
}

/// Delete of a remote post: only its author may.
pub async fn delete_post(ctx: &Ctx, author: &Actor, ap_id: &str) -> ServiceResult<bool> {
    // Looked up in the transaction: a connection held beside it would be
    // one fewer for the writers queued behind it.
    let mut tx = ctx.db.begin().await?;
    match content::find_by_ap_id(&mut tx, ap_id).await? {
        Some(o) if o.author_id == author.id && !o.local => {
            content::mark_deleted(&mut tx, o.id).await?;
            // A forum's Announces of it are no longer served.
            crate::db::queries::outbox::redact_outbox_for_object(&mut tx, o.id).await?;
            tx.commit().await?;
            Ok(true)
        }
        _ => {
            tx.rollback().await?;
            Ok(false)
        }
    }
}

/// Whether an object (ours, or a remote post or reply we keep) is stored here.
pub async fn object_exists(ctx: &Ctx, ap_id: &str) -> ServiceResult<bool> {
    let mut conn = ctx.db.conn().await?;
    Ok(content::find_by_ap_id(&mut conn, ap_id)
        .await?
        .is_some_and(|o| o.deleted_at.is_none()))
}

/// Posts received from followed actors, newest first; those of servers
/// blocked since (or outside the allow-list) are not shown.
pub async fn list_remote_posts(
    ctx: &Ctx,
    limit: i64,
) -> ServiceResult<Vec<(crate::db::models::Object, Actor)>> {
    let policy = super::moderation::policy(ctx).await?;
    let mut conn = ctx.db.conn().await?;
    Ok(content::list_remote(&mut conn, limit)
        .await?
        .into_iter()
        .filter(|(_, author)| policy.allows(&author.domain))
        .collect())
}
