//! The delivery queue, its attempts, and the health of remote hosts.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamp};
use diesel_async::RunQueryDsl;

use crate::db::models::{Delivery, DeliveryState};
use crate::db::schema::{deliveries, delivery_attempts, hosts};
use crate::db::{now, DbResult, PooledConn};
use crate::q;

fn host_of(inbox: &str) -> String {
    url::Url::parse(inbox)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_string(),
            })
        })
        .unwrap_or_default()
}

/// Queues one delivery per inbox (duplicates ignored), due now.
pub async fn queue_deliveries(conn: &mut PooledConn, outbox_id: i64, inboxes: &[String]) -> DbResult<usize> {
    let at = now();
    let rows: Vec<_> = inboxes
        .iter()
        .map(|inbox| {
            (
                deliveries::outbox_id.eq(outbox_id),
                deliveries::inbox.eq(inbox.clone()),
                deliveries::host.eq(host_of(inbox)),
                deliveries::state.eq(DeliveryState::Pending.as_str()),
                deliveries::attempts.eq(0),
                deliveries::next_attempt_at.eq(at),
                deliveries::created_at.eq(at),
            )
        })
        .collect();
    let mut total = 0;
    match conn {
        // diesel cannot batch an ON CONFLICT insert on SQLite; row by row is
        // fast inside the caller's transaction.
        PooledConn::Sqlite(c) => {
            for row in rows {
                total += diesel::insert_or_ignore_into(deliveries::table)
                    .values(row)
                    .execute(&mut **c)
                    .await?;
            }
        }
        PooledConn::Postgres(c) => {
            for chunk in rows.chunks(1000) {
                total += diesel::insert_into(deliveries::table)
                    .values(chunk)
                    .on_conflict_do_nothing()
                    .execute(&mut **c)
                    .await?;
            }
        }
    }
    Ok(total)
}

/// Claims due deliveries for `lease_until`. PostgreSQL skips rows another
/// process has locked, so several `serve` processes never take the same row;
/// SQLite has one writer at a time, and the single UPDATE is atomic.
pub async fn claim_deliveries(
    conn: &mut PooledConn,
    limit: i64,
    lease_until: NaiveDateTime,
) -> DbResult<Vec<Delivery>> {
    let at = now();
    let sql = match conn {
        PooledConn::Sqlite(_) => {
            "UPDATE deliveries SET claimed_until = ? WHERE id IN (SELECT id FROM deliveries \
             WHERE state = 'pending' AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until < ?) \
             ORDER BY next_attempt_at LIMIT ?) RETURNING *"
        }
        PooledConn::Postgres(_) => {
            "UPDATE deliveries SET claimed_until = $1 WHERE id IN (SELECT id FROM deliveries \
             WHERE state = 'pending' AND next_attempt_at <= $2 AND (claimed_until IS NULL OR claimed_until < $3) \
             ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING *"
        }
    };
    Ok(q!(conn, |c| diesel::sql_query(sql)
        .bind::<Timestamp, _>(lease_until)
        .bind::<Timestamp, _>(at)
        .bind::<Timestamp, _>(at)
        .bind::<BigInt, _>(limit)
        .load(c)
        .await)?)
}

/// The outcome of one attempt, written with the attempt log row.
pub struct Outcome<'a> {
    pub state: DeliveryState,
    pub next_attempt_at: NaiveDateTime,
    pub status: Option<i32>,
    pub error: Option<&'a str>,
    pub duration_ms: i64,
}

pub async fn finish_delivery(conn: &mut PooledConn, d: &Delivery, outcome: &Outcome<'_>) -> DbResult<()> {
    let at = now();
    let delivered_at = (outcome.state == DeliveryState::Delivered).then_some(at);
    let state = outcome.state.as_str();
    q!(conn, |c| diesel::update(deliveries::table.find(d.id))
        .set((
            deliveries::state.eq(state),
            deliveries::attempts.eq(d.attempts + 1),
            deliveries::next_attempt_at.eq(outcome.next_attempt_at),
            deliveries::claimed_until.eq(None::<NaiveDateTime>),
            deliveries::last_status.eq(outcome.status),
            deliveries::last_error.eq(outcome.error),
            deliveries::delivered_at.eq(delivered_at),
        ))
        .execute(c)
        .await)?;
    q!(conn, |c| diesel::insert_into(delivery_attempts::table)
        .values((
            delivery_attempts::delivery_id.eq(d.id),
            delivery_attempts::attempted_at.eq(at),
            delivery_attempts::status.eq(outcome.status),
            delivery_attempts::error.eq(outcome.error),
            delivery_attempts::duration_ms.eq(outcome.duration_ms),
        ))
        .execute(c)
        .await)?;
    Ok(())
}

/// Puts a claimed delivery back without counting an attempt (its host is
/// marked unreachable, or the domain became blocked).
pub async fn postpone_delivery(
    conn: &mut PooledConn,
    id: i64,
    until: NaiveDateTime,
    state: DeliveryState,
    why: &str,
) -> DbResult<()> {
    let state = state.as_str();
    q!(conn, |c| diesel::update(deliveries::table.find(id))
        .set((
            deliveries::next_attempt_at.eq(until),
            deliveries::claimed_until.eq(None::<NaiveDateTime>),
            deliveries::state.eq(state),
            deliveries::last_error.eq(Some(why)),
        ))
        .execute(c)
        .await)?;
    Ok(())
}

pub async fn deliveries_for_outbox(conn: &mut PooledConn, outbox_id: i64) -> DbResult<Vec<Delivery>> {
    Ok(q!(conn, |c| deliveries::table
        .filter(deliveries::outbox_id.eq(outbox_id))
        .order(deliveries::id.asc())
        .select(Delivery::as_select())
        .load(c)
        .await)?)
}

pub async fn count_deliveries_by_state(conn: &mut PooledConn, state: DeliveryState) -> DbResult<i64> {
    let state = state.as_str();
    Ok(q!(conn, |c| deliveries::table
        .filter(deliveries::state.eq(state))
        .count()
        .get_result(c)
        .await)?)
}

/// Stops pending deliveries to a domain (it was blocked).
pub async fn cancel_deliveries_to_host(conn: &mut PooledConn, host: &str) -> DbResult<usize> {
    Ok(q!(conn, |c| diesel::update(
        deliveries::table
            .filter(deliveries::state.eq(DeliveryState::Pending.as_str()))
            .filter(
                deliveries::host
                    .eq(host)
                    .or(deliveries::host.like(format!("%.{host}")))
            )
    )
    .set((
        deliveries::state.eq(DeliveryState::Cancelled.as_str()),
        deliveries::last_error.eq(Some("the domain is blocked"))
    ))
    .execute(c)
    .await)?)
}

/// Hosts with recent failures: `(host, unreachable since)`.
pub async fn troubled_hosts(conn: &mut PooledConn) -> DbResult<Vec<(String, Option<NaiveDateTime>)>> {
    Ok(q!(conn, |c| hosts::table
        .filter(hosts::consecutive_failures.gt(0))
        .select((hosts::host, hosts::unreachable_since))
        .load(c)
        .await)?)
}

pub async fn host_succeeded(conn: &mut PooledConn, host: &str) -> DbResult<()> {
    let at = now();
    q!(conn, |c| diesel::insert_into(hosts::table)
        .values((
            hosts::host.eq(host),
            hosts::consecutive_failures.eq(0),
            hosts::last_success_at.eq(Some(at)),
        ))
        .on_conflict(hosts::host)
        .do_update()
        .set((
            hosts::consecutive_failures.eq(0),
            hosts::unreachable_since.eq(None::<NaiveDateTime>),
            hosts::last_success_at.eq(Some(at)),
        ))
        .execute(c)
        .await)?;
    Ok(())
}

/// Counts a failure; marks the host unreachable at `threshold` failures in a row.
pub async fn host_failed(conn: &mut PooledConn, host: &str, threshold: i32) -> DbResult<()> {
    let at = now();
    q!(conn, |c| diesel::insert_into(hosts::table)
        .values((hosts::host.eq(host), hosts::consecutive_failures.eq(1)))
        .on_conflict(hosts::host)
        .do_update()
        .set(hosts::consecutive_failures.eq(hosts::consecutive_failures + 1))
        .execute(c)
        .await)?;
    q!(conn, |c| diesel::update(
        hosts::table
            .find(host)
            .filter(hosts::consecutive_failures.ge(threshold))
            .filter(hosts::unreachable_since.is_null())
    )
    .set(hosts::unreachable_since.eq(Some(at)))
    .execute(c)
    .await)?;
    Ok(())
}
