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

/// Retention of the inbox log, part one: blanks the bodies of at most
/// `limit` entries received before `before`; how many.
pub async fn blank_inbox_bodies(conn: &mut PooledConn, before: NaiveDateTime, limit: i64) -> DbResult<usize> {
    // The rows are picked first: diesel cannot write a delete or update
    // whose subquery reads its own table.
    let ids: Vec<i64> = q!(conn, |c| inbox_log::table
        .select(inbox_log::id)
        .filter(inbox_log::received_at.lt(before))
        .filter(inbox_log::raw.ne(""))
        .limit(limit)
        .load(c)
        .await)?;
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(q!(conn, |c| diesel::update(
        inbox_log::table.filter(inbox_log::id.eq_any(&ids))
    )
    .set(inbox_log::raw.eq(""))
    .execute(c)
    .await)?)
}

/// Part two: deletes at most `limit` entries received before `before`
/// (the ids de-duplicate retries, so they outlive the bodies); how many.
pub async fn delete_inbox_ids(conn: &mut PooledConn, before: NaiveDateTime, limit: i64) -> DbResult<usize> {
    let ids: Vec<i64> = q!(conn, |c| inbox_log::table
        .select(inbox_log::id)
        .filter(inbox_log::received_at.lt(before))
        .limit(limit)
        .load(c)
        .await)?;
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(q!(conn, |c| diesel::delete(
        inbox_log::table.filter(inbox_log::id.eq_any(&ids))
    )
    .execute(c)
    .await)?)
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
