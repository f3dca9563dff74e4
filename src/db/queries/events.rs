//! Outgoing domain events: one row per event and consumer, claimed with a lease.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamp};
use diesel_async::RunQueryDsl;

use crate::db::models::OutgoingEvent;
use crate::db::schema::outgoing_events;
use crate::db::{now, DbResult, PooledConn};
use crate::q;

/// Written by a use case in the same transaction as its change.
/// An event that workers take only from `due` on (a scheduled publication).
pub async fn push_event_due(
    conn: &mut PooledConn,
    consumer: &str,
    kind: &str,
    subject_id: i64,
    detail: &str,
    due: Option<NaiveDateTime>,
) -> DbResult<()> {
    let at = now();
    q!(conn, |c| diesel::insert_into(outgoing_events::table)
        .values((
            outgoing_events::consumer.eq(consumer),
            outgoing_events::kind.eq(kind),
            outgoing_events::subject_id.eq(subject_id),
            outgoing_events::detail.eq(detail),
            outgoing_events::created_at.eq(at),
            outgoing_events::due_at.eq(due),
        ))
        .execute(c)
        .await)?;
    Ok(())
}

/// Marks the unprocessed events of a kind about a subject done without
/// acting on them (a scheduled publication taken back to draft).
pub async fn finish_events_about(conn: &mut PooledConn, kind: &str, subject_id: i64) -> DbResult<usize> {
    let at = now();
    Ok(q!(conn, |c| diesel::update(
        outgoing_events::table
            .filter(outgoing_events::kind.eq(kind))
            .filter(outgoing_events::subject_id.eq(subject_id))
            .filter(outgoing_events::processed_at.is_null())
    )
    .set(outgoing_events::processed_at.eq(Some(at)))
    .execute(c)
    .await)?)
}

/// Whether an unprocessed event of a kind about a subject is due by
/// `until` (a change already on its way, that a new one can join).
pub async fn pending_by(
    conn: &mut PooledConn,
    kind: &str,
    subject_id: i64,
    until: NaiveDateTime,
) -> DbResult<bool> {
    let n: i64 = q!(conn, |c| outgoing_events::table
        .filter(outgoing_events::kind.eq(kind))
        .filter(outgoing_events::subject_id.eq(subject_id))
        .filter(outgoing_events::processed_at.is_null())
        .filter(
            outgoing_events::due_at
                .is_null()
                .or(outgoing_events::due_at.le(until))
        )
        // One being built may have read the state before this change.
        .filter(outgoing_events::claimed_until.is_null())
        .count()
        .get_result(c)
        .await)?;
    Ok(n > 0)
}

/// Moves the unprocessed events of a kind about a subject to `due`.
pub async fn reschedule_events(
    conn: &mut PooledConn,
    kind: &str,
    subject_id: i64,
    due: Option<NaiveDateTime>,
) -> DbResult<usize> {
    Ok(q!(conn, |c| diesel::update(
        outgoing_events::table
            .filter(outgoing_events::kind.eq(kind))
            .filter(outgoing_events::subject_id.eq(subject_id))
            .filter(outgoing_events::processed_at.is_null())
    )
    .set(outgoing_events::due_at.eq(due))
    .execute(c)
    .await)?)
}

/// Claims up to `limit` unprocessed events for `lease`: another process (or
/// this one after a crash) takes them again only when the lease ran out.
pub async fn claim_events(
    conn: &mut PooledConn,
    consumer: &str,
    limit: i64,
    lease_until: NaiveDateTime,
) -> DbResult<Vec<OutgoingEvent>> {
    let at = now();
    let sql = match conn {
        PooledConn::Sqlite(_) => {
            "UPDATE outgoing_events SET claimed_until = ? WHERE id IN (SELECT id FROM outgoing_events \
             WHERE consumer = ? AND processed_at IS NULL AND (claimed_until IS NULL OR claimed_until < ?) \
             AND (due_at IS NULL OR due_at <= ?) ORDER BY id LIMIT ?) \
             RETURNING *"
        }
        PooledConn::Postgres(_) => {
            "UPDATE outgoing_events SET claimed_until = $1 WHERE id IN (SELECT id FROM outgoing_events \
             WHERE consumer = $2 AND processed_at IS NULL AND (claimed_until IS NULL OR claimed_until < $3) \
             AND (due_at IS NULL OR due_at <= $4) ORDER BY id LIMIT $5 \
             FOR UPDATE SKIP LOCKED) RETURNING *"
        }
    };
    let mut rows: Vec<OutgoingEvent> = q!(conn, |c| diesel::sql_query(sql)
        .bind::<Timestamp, _>(lease_until)
        .bind::<diesel::sql_types::Text, _>(consumer)
        .bind::<Timestamp, _>(at)
        .bind::<Timestamp, _>(at)
        .bind::<BigInt, _>(limit)
        .load(c)
        .await)?;
    rows.sort_by_key(|r| r.id);
    Ok(rows)
}

pub async fn finish_event(conn: &mut PooledConn, id: i64) -> DbResult<()> {
    let at = now();
    q!(conn, |c| diesel::update(outgoing_events::table.find(id))
        .set(outgoing_events::processed_at.eq(Some(at)))
        .execute(c)
        .await)?;
    Ok(())
}
