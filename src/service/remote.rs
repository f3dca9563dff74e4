//! What remote servers tell us about themselves and our content: actor
//! profiles, likes and boosts, reports, and the log of received activities.
//! Inbox handlers call these after the activity is verified.

use super::{Ctx, ServiceResult};
use crate::db::models::{Actor, ActorRow};
use crate::db::queries::{actors, content, federation as fed_q};

/// Stores or refreshes a remote actor.
pub async fn save_actor(ctx: &Ctx, row: &ActorRow) -> ServiceResult<Actor> {
    let mut conn = ctx.db.conn().await?;
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
    fed_q::delete_follows_of(&mut tx, actor.id).await?;
    actors::delete(&mut tx, actor.id).await?;
    tx.commit().await?;
    tracing::info!(actor = %actor.ap_id, "remote actor deleted");
    Ok(())
}

/// Records a received activity id: false if it was seen before.
pub async fn record_activity(
    ctx: &Ctx,
    activity_id: &str,
    kind: &str,
    actor: &str,
    object: Option<&str>,
    raw: &str,
) -> ServiceResult<bool> {
    let mut conn = ctx.db.conn().await?;
    Ok(fed_q::record_inbox(&mut conn, activity_id, kind, actor, object, raw).await?)
}

pub async fn activity_seen(ctx: &Ctx, activity_id: &str) -> ServiceResult<bool> {
    let mut conn = ctx.db.conn().await?;
    Ok(fed_q::inbox_seen(&mut conn, activity_id).await?)
}

/// A Like or Announce of one of our objects; unknown objects are ignored.
pub async fn add_reaction(
    ctx: &Ctx,
    kind: &str,
    actor: &Actor,
    object_ap_id: &str,
    activity_id: &str,
) -> ServiceResult<bool> {
    let mut conn = ctx.db.conn().await?;
    let Some(object) = content::find_by_ap_id(&mut conn, object_ap_id).await? else {
        return Ok(false);
    };
    Ok(content::add_reaction(&mut conn, kind, actor.id, object.id, activity_id).await?)
}

pub async fn remove_reaction(ctx: &Ctx, actor: &Actor, activity_id: &str) -> ServiceResult<bool> {
    let mut conn = ctx.db.conn().await?;
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
    let mut conn = ctx.db.conn().await?;
    fed_q::insert_report(&mut conn, actor.id, activity_id, &objects.join("\n"), content).await?;
    tracing::info!(reporter = %actor.ap_id, "report received");
    Ok(())
}
