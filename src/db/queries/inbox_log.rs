//! The inbox log (received activity ids, for de-duplication) and reports.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::schema::{inbox_log, reports};
use crate::db::{now, DbResult, PooledConn};
use crate::q;

/// A received activity's body as it came (empty once pruned or when too
/// large to keep).
pub async fn raw_of(conn: &mut PooledConn, activity_id: &str) -> DbResult<Option<String>> {
    Ok(q!(conn, |c| inbox_log::table
        .filter(inbox_log::activity_id.eq(activity_id))
        .select(inbox_log::raw)
        .first(c)
        .await
        .optional())?)
}

/// Retention of the inbox log: bodies older than `bodies_before` are
/// blanked, rows older than `ids_before` deleted (the ids de-duplicate
/// retries, so they outlive the bodies). Returns (blanked, deleted).
pub async fn prune_inbox_log(
    conn: &mut PooledConn,
    bodies_before: NaiveDateTime,
    ids_before: NaiveDateTime,
) -> DbResult<(usize, usize)> {
    let blanked = q!(conn, |c| diesel::update(
        inbox_log::table
            .filter(inbox_log::received_at.lt(bodies_before))
            .filter(inbox_log::raw.ne(""))
    )
    .set(inbox_log::raw.eq(""))
    .execute(c)
    .await)?;
    let deleted = q!(conn, |c| diesel::delete(
        inbox_log::table.filter(inbox_log::received_at.lt(ids_before))
    )
    .execute(c)
    .await)?;
    Ok((blanked, deleted))
}

/// Records a received activity id; false when it was already seen (a replay
/// or a retried delivery).
pub async fn record_inbox(
    conn: &mut PooledConn,
    activity_id: &str,
    kind: &str,
    actor: &str,
    object: Option<&str>,
    raw: &str,
) -> DbResult<bool> {
    let at = now();
    let n = q!(conn, |c| diesel::insert_into(inbox_log::table)
        .values((
            inbox_log::activity_id.eq(activity_id),
            inbox_log::kind.eq(kind),
            inbox_log::actor.eq(actor),
            inbox_log::object.eq(object),
            inbox_log::raw.eq(raw),
            inbox_log::received_at.eq(at),
        ))
        .on_conflict_do_nothing()
        .execute(c)
        .await)?;
    Ok(n == 1)
}

pub async fn forget_inbox(conn: &mut PooledConn, activity_id: &str) -> DbResult<()> {
    q!(conn, |c| diesel::delete(
        inbox_log::table.filter(inbox_log::activity_id.eq(activity_id))
    )
    .execute(c)
    .await)?;
    Ok(())
}

pub async fn insert_report(
    conn: &mut PooledConn,
    actor_id: i64,
    activity_id: &str,
    objects: &str,
    content: &str,
) -> DbResult<()> {
    let at = now();
    q!(conn, |c| diesel::insert_into(reports::table)
        .values((
            reports::actor_id.eq(actor_id),
            reports::activity_id.eq(activity_id),
            reports::objects.eq(objects),
            reports::content.eq(content),
            reports::created_at.eq(at),
        ))
        .execute(c)
        .await)?;
    Ok(())
}
