//! What happens around an object, whatever its type: likes, boosts and
//! replies. Replies are kept threaded by `in_reply_to` (see
//! `federation::activities::create`); here they are counted and listed.

use super::{Ctx, ServiceResult};
use crate::db::models::{Actor, Object, ReactionKind, Visibility};
use crate::db::queries::content;
use crate::db::{DbResult, PooledConn};

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

/// Replies anyone may read, oldest first, a page at a time, with the total.
pub async fn replies(
    ctx: &Ctx,
    object: &Object,
    page: i64,
    per_page: i64,
) -> ServiceResult<(Vec<(Object, Actor)>, i64)> {
    let policy = super::moderation::policy(ctx).await?;
    let mut conn = ctx.db.conn().await?;
    let total = content::count_replies(&mut conn, &object.ap_id).await?;
    let open = [Visibility::Public.as_str(), Visibility::Unlisted.as_str()];
    let list = content::list_replies(&mut conn, &object.ap_id, &open, page.max(0) * per_page, per_page)
        .await?
        .into_iter()
        // Replies from servers blocked since are not shown.
        .filter(|(_, author)| policy.allows(&author.domain))
        .collect();
    Ok((list, total))
}

/// One of our objects by its id, when anyone may read it: published, not
/// deleted or hidden by its visibility. Deleted ones come back too, so
/// that callers can answer 410.
pub async fn find_open_local(ctx: &Ctx, ap_id: &str) -> ServiceResult<Option<Object>> {
    let mut conn = ctx.db.conn().await?;
    Ok(content::find_by_ap_id(&mut conn, ap_id).await?.filter(|o| {
        o.local
            && Visibility::from_db(&o.visibility).is_open()
            && (o.deleted_at.is_some() || super::news::publication(o) == super::news::Publication::Published)
    }))
}
