//! Activities we sent (the outbox), and their redaction when an object is deleted.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::models::{DeliveryState, OutboxItem};
use crate::db::schema::{deliveries, outbox};
use crate::db::{now, DbResult, PooledConn};
use crate::q;

pub struct NewOutbox<'a> {
    pub ap_id: &'a str,
    pub actor_id: i64,
    pub kind: &'a str,
    pub object_id: Option<i64>,
    pub json: &'a str,
    pub public: bool,
}

pub async fn insert_outbox(conn: &mut PooledConn, item: &NewOutbox<'_>) -> DbResult<i64> {
    let at = now();
    Ok(q!(conn, |c| diesel::insert_into(outbox::table)
        .values((
            outbox::ap_id.eq(item.ap_id),
            outbox::actor_id.eq(item.actor_id),
            outbox::kind.eq(item.kind),
            outbox::object_id.eq(item.object_id),
            outbox::json.eq(item.json),
            outbox::public.eq(item.public),
            outbox::created_at.eq(at),
        ))
        .returning(outbox::id)
        .get_result(c)
        .await)?)
}

pub async fn find_outbox(conn: &mut PooledConn, id: i64) -> DbResult<Option<OutboxItem>> {
    Ok(q!(conn, |c| outbox::table
        .find(id)
        .select(OutboxItem::as_select())
        .first(c)
        .await
        .optional())?)
}

pub async fn find_outbox_by_ap_id(conn: &mut PooledConn, ap_id: &str) -> DbResult<Option<OutboxItem>> {
    Ok(q!(conn, |c| outbox::table
        .filter(outbox::ap_id.eq(ap_id))
        .select(OutboxItem::as_select())
        .first(c)
        .await
        .optional())?)
}

/// Public Create activities of an actor, newest first: the outbox collection.
pub async fn public_outbox(
    conn: &mut PooledConn,
    actor_id: i64,
    offset: i64,
    limit: i64,
) -> DbResult<Vec<OutboxItem>> {
    Ok(q!(conn, |c| outbox::table
        .filter(outbox::actor_id.eq(actor_id))
        .filter(outbox::public.eq(true))
        // A forum group's outbox is its Announces.
        .filter(crate::one_of!(outbox::kind, ["Create", "Announce"]))
        .order(outbox::id.desc())
        .offset(offset)
        .limit(limit)
        .select(OutboxItem::as_select())
        .load(c)
        .await)?)
}

pub async fn count_public_outbox(conn: &mut PooledConn, actor_id: i64) -> DbResult<i64> {
    Ok(q!(conn, |c| outbox::table
        .filter(outbox::actor_id.eq(actor_id))
        .filter(outbox::public.eq(true))
        // A forum group's outbox is its Announces.
        .filter(crate::one_of!(outbox::kind, ["Create", "Announce"]))
        .count()
        .get_result(c)
        .await)?)
}

/// A deleted object's Create and Update activities: their stored JSON is
/// blanked and they stop being public, so neither the outbox, nor
/// `/activities/{id}`, nor an old Update id reveals what was deleted; their
/// pending deliveries are cancelled. Returns how many activities were blanked.
pub async fn redact_outbox_for_object(conn: &mut PooledConn, object_id: i64) -> DbResult<usize> {
    let n = q!(conn, |c| diesel::update(
        outbox::table
            .filter(outbox::object_id.eq(object_id))
            .filter(crate::one_of!(outbox::kind, ["Create", "Update", "Announce"]))
    )
    .set((outbox::json.eq(""), outbox::public.eq(false)))
    .execute(c)
    .await)?;
    q!(conn, |c| diesel::update(
        deliveries::table
            .filter(deliveries::state.eq(DeliveryState::Pending.as_str()))
            .filter(
                deliveries::outbox_id.eq_any(
                    outbox::table
                        .filter(outbox::object_id.eq(object_id))
                        .filter(outbox::kind.eq_any(["Create", "Update", "Announce"]))
                        .select(outbox::id)
                )
            )
    )
    .set((
        deliveries::state.eq(DeliveryState::Cancelled.as_str()),
        deliveries::last_error.eq(Some("the object was deleted"))
    ))
    .execute(c)
    .await)?;
    Ok(n)
}

/// Outbox activities about one object, oldest first (Create, Update, Delete).
pub async fn outbox_for_object(conn: &mut PooledConn, object_id: i64) -> DbResult<Vec<OutboxItem>> {
    Ok(q!(conn, |c| outbox::table
        .filter(outbox::object_id.eq(object_id))
        .order(outbox::id.asc())
        .select(OutboxItem::as_select())
        .load(c)
        .await)?)
}

/// How many activities an actor has in the outbox (a moderator's removal
/// makes their Person one that peers must be able to fetch).
pub async fn count_by_actor(conn: &mut PooledConn, actor_id: i64) -> DbResult<i64> {
    Ok(q!(conn, |c| outbox::table
        .filter(outbox::actor_id.eq(actor_id))
        .count()
        .get_result(c)
        .await)?)
}

/// Every activity an actor sent, oldest first (a member's data export).
pub async fn all_by_actor(conn: &mut PooledConn, actor_id: i64) -> DbResult<Vec<OutboxItem>> {
    Ok(q!(conn, |c| outbox::table
        .filter(outbox::actor_id.eq(actor_id))
        .order(outbox::id.asc())
        .select(OutboxItem::as_select())
        .load(c)
        .await)?)
}
