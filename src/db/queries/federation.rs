//! Follows, the inbox log, outgoing events, the outbox, the delivery queue,
//! host health and domain blocks.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamp};
use diesel_async::RunQueryDsl;

use crate::db::models::{Actor, Delivery, DomainBlock, Follow, OutboxItem, OutgoingEvent};
use crate::db::schema::{
    actors, deliveries, delivery_attempts, domain_blocks, follows, hosts, inbox_log, outbox, outgoing_events,
    reports,
};
use crate::db::{now, DbResult, PooledConn};
use crate::q;

// ---------------------------------------------------------------- follows

/// Creates or updates the follow of `follower` to `followed`.
pub async fn upsert_follow(
    conn: &mut PooledConn,
    follower_id: i64,
    followed_id: i64,
    state: &str,
    ap_id: Option<&str>,
) -> DbResult<()> {
    let at = now();
    q!(conn, |c| diesel::insert_into(follows::table)
        .values((
            follows::follower_id.eq(follower_id),
            follows::followed_id.eq(followed_id),
            follows::state.eq(state),
            follows::ap_id.eq(ap_id),
            follows::created_at.eq(at),
        ))
        .on_conflict((follows::follower_id, follows::followed_id))
        .do_update()
        .set((follows::state.eq(state), follows::ap_id.eq(ap_id)))
        .execute(c)
        .await)?;
    Ok(())
}

pub async fn find_follow(
    conn: &mut PooledConn,
    follower_id: i64,
    followed_id: i64,
) -> DbResult<Option<Follow>> {
    Ok(q!(conn, |c| follows::table
        .filter(follows::follower_id.eq(follower_id))
        .filter(follows::followed_id.eq(followed_id))
        .select(Follow::as_select())
        .first(c)
        .await
        .optional())?)
}

pub async fn delete_follow(conn: &mut PooledConn, follower_id: i64, followed_id: i64) -> DbResult<usize> {
    Ok(q!(conn, |c| diesel::delete(
        follows::table
            .filter(follows::follower_id.eq(follower_id))
            .filter(follows::followed_id.eq(followed_id))
    )
    .execute(c)
    .await)?)
}

pub async fn delete_follow_by_ap_id(conn: &mut PooledConn, follower_id: i64, ap_id: &str) -> DbResult<usize> {
    Ok(q!(conn, |c| diesel::delete(
        follows::table
            .filter(follows::follower_id.eq(follower_id))
            .filter(follows::ap_id.eq(ap_id))
    )
    .execute(c)
    .await)?)
}

/// Removes every follow to or from an actor (it was deleted or blocked).
pub async fn delete_follows_of(conn: &mut PooledConn, actor_id: i64) -> DbResult<usize> {
    Ok(q!(conn, |c| diesel::delete(
        follows::table.filter(
            follows::follower_id
                .eq(actor_id)
                .or(follows::followed_id.eq(actor_id))
        )
    )
    .execute(c)
    .await)?)
}

/// Accepted followers of a local actor, oldest first, with paging.
pub async fn followers(
    conn: &mut PooledConn,
    followed_id: i64,
    offset: i64,
    limit: i64,
) -> DbResult<Vec<Actor>> {
    Ok(q!(conn, |c| follows::table
        .inner_join(actors::table.on(actors::id.eq(follows::follower_id)))
        .filter(follows::followed_id.eq(followed_id))
        .filter(follows::state.eq("accepted"))
        .order(follows::id.asc())
        .offset(offset)
        .limit(limit)
        .select(Actor::as_select())
        .load(c)
        .await)?)
}

pub async fn count_followers(conn: &mut PooledConn, followed_id: i64) -> DbResult<i64> {
    Ok(q!(conn, |c| follows::table
        .filter(follows::followed_id.eq(followed_id))
        .filter(follows::state.eq("accepted"))
        .count()
        .get_result(c)
        .await)?)
}

/// Actors a local actor follows (accepted), with paging.
pub async fn following(
    conn: &mut PooledConn,
    follower_id: i64,
    offset: i64,
    limit: i64,
) -> DbResult<Vec<Actor>> {
    Ok(q!(conn, |c| follows::table
        .inner_join(actors::table.on(actors::id.eq(follows::followed_id)))
        .filter(follows::follower_id.eq(follower_id))
        .filter(follows::state.eq("accepted"))
        .order(follows::id.asc())
        .offset(offset)
        .limit(limit)
        .select(Actor::as_select())
        .load(c)
        .await)?)
}

/// Everyone a local actor follows or asked to follow, with the state.
pub async fn all_followed(conn: &mut PooledConn, follower_id: i64) -> DbResult<Vec<(Actor, String)>> {
    Ok(q!(conn, |c| follows::table
        .inner_join(actors::table.on(actors::id.eq(follows::followed_id)))
        .filter(follows::follower_id.eq(follower_id))
        .order(follows::id.asc())
        .select((Actor::as_select(), follows::state))
        .load(c)
        .await)?)
}

pub async fn count_following(conn: &mut PooledConn, follower_id: i64) -> DbResult<i64> {
    Ok(q!(conn, |c| follows::table
        .filter(follows::follower_id.eq(follower_id))
        .filter(follows::state.eq("accepted"))
        .count()
        .get_result(c)
        .await)?)
}

/// The distinct inboxes to deliver a followers-addressed activity to: the
/// shared inbox where a server has one, else the personal inbox.
pub async fn follower_inboxes(conn: &mut PooledConn, followed_id: i64) -> DbResult<Vec<String>> {
    let rows: Vec<(String, Option<String>)> = q!(conn, |c| follows::table
        .inner_join(actors::table.on(actors::id.eq(follows::follower_id)))
        .filter(follows::followed_id.eq(followed_id))
        .filter(follows::state.eq("accepted"))
        .select((actors::inbox, actors::shared_inbox))
        .load(c)
        .await)?;
    let mut inboxes: Vec<String> = rows
        .into_iter()
        .map(|(inbox, shared)| shared.filter(|s| !s.is_empty()).unwrap_or(inbox))
        .filter(|i| !i.is_empty())
        .collect();
    inboxes.sort();
    inboxes.dedup();
    Ok(inboxes)
}

// ---------------------------------------------------------------- inbox log and reports

/// Records a received activity id; false when it was already seen (a replay
/// or a retried delivery).
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

/// The follow (by any local follower) whose Follow activity had this id.
pub async fn find_follow_by_ap_id(conn: &mut PooledConn, ap_id: &str) -> DbResult<Option<Follow>> {
    Ok(q!(conn, |c| follows::table
        .filter(follows::ap_id.eq(ap_id))
        .select(Follow::as_select())
        .first(c)
        .await
        .optional())?)
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

/// Unresolved reports with their reporter, newest first.
pub async fn open_reports(
    conn: &mut PooledConn,
    limit: i64,
) -> DbResult<Vec<(String, String, String, NaiveDateTime)>> {
    Ok(q!(conn, |c| reports::table
        .inner_join(actors::table.on(actors::id.eq(reports::actor_id)))
        .filter(reports::resolved_at.is_null())
        .order(reports::id.desc())
        .limit(limit)
        .select((
            actors::ap_id,
            reports::objects,
            reports::content,
            reports::created_at
        ))
        .load(c)
        .await)?)
}

// ---------------------------------------------------------------- outgoing events

/// Written by a use case in the same transaction as its change.
/// An event that workers take only from `due` on (a scheduled publication).
pub async fn push_event_due(
    conn: &mut PooledConn,
    kind: &str,
    subject_id: i64,
    detail: &str,
    due: Option<NaiveDateTime>,
) -> DbResult<()> {
    let at = now();
    q!(conn, |c| diesel::insert_into(outgoing_events::table)
        .values((
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
    limit: i64,
    lease_until: NaiveDateTime,
) -> DbResult<Vec<OutgoingEvent>> {
    let at = now();
    let sql = match conn {
        PooledConn::Sqlite(_) => {
            "UPDATE outgoing_events SET claimed_until = ? WHERE id IN (SELECT id FROM outgoing_events \
             WHERE processed_at IS NULL AND (claimed_until IS NULL OR claimed_until < ?) \
             AND (due_at IS NULL OR due_at <= ?) ORDER BY id LIMIT ?) \
             RETURNING *"
        }
        PooledConn::Postgres(_) => {
            "UPDATE outgoing_events SET claimed_until = $1 WHERE id IN (SELECT id FROM outgoing_events \
             WHERE processed_at IS NULL AND (claimed_until IS NULL OR claimed_until < $2) \
             AND (due_at IS NULL OR due_at <= $3) ORDER BY id LIMIT $4 \
             FOR UPDATE SKIP LOCKED) RETURNING *"
        }
    };
    let mut rows: Vec<OutgoingEvent> = q!(conn, |c| diesel::sql_query(sql)
        .bind::<Timestamp, _>(lease_until)
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

// ---------------------------------------------------------------- outbox

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
        .filter(outbox::kind.eq("Create"))
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
        .filter(outbox::kind.eq("Create"))
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
            .filter(outbox::kind.eq_any(["Create", "Update"]))
    )
    .set((outbox::json.eq(""), outbox::public.eq(false)))
    .execute(c)
    .await)?;
    q!(conn, |c| diesel::update(
        deliveries::table.filter(deliveries::state.eq("pending")).filter(
            deliveries::outbox_id.eq_any(
                outbox::table
                    .filter(outbox::object_id.eq(object_id))
                    .filter(outbox::kind.eq_any(["Create", "Update"]))
                    .select(outbox::id)
            )
        )
    )
    .set((
        deliveries::state.eq("cancelled"),
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

// ---------------------------------------------------------------- deliveries

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
                deliveries::state.eq("pending"),
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
    pub state: &'a str,
    pub next_attempt_at: NaiveDateTime,
    pub status: Option<i32>,
    pub error: Option<&'a str>,
    pub duration_ms: i64,
}

pub async fn finish_delivery(conn: &mut PooledConn, d: &Delivery, outcome: &Outcome<'_>) -> DbResult<()> {
    let at = now();
    let delivered_at = (outcome.state == "delivered").then_some(at);
    q!(conn, |c| diesel::update(deliveries::table.find(d.id))
        .set((
            deliveries::state.eq(outcome.state),
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
    state: &str,
    why: &str,
) -> DbResult<()> {
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

pub async fn count_deliveries_by_state(conn: &mut PooledConn, state: &str) -> DbResult<i64> {
    Ok(q!(conn, |c| deliveries::table
        .filter(deliveries::state.eq(state))
        .count()
        .get_result(c)
        .await)?)
}

/// Stops pending deliveries to a domain (it was blocked).
pub async fn cancel_deliveries_to_host(conn: &mut PooledConn, host: &str) -> DbResult<usize> {
    Ok(q!(conn, |c| diesel::update(
        deliveries::table.filter(deliveries::state.eq("pending")).filter(
            deliveries::host
                .eq(host)
                .or(deliveries::host.like(format!("%.{host}")))
        )
    )
    .set((
        deliveries::state.eq("cancelled"),
        deliveries::last_error.eq(Some("the domain is blocked"))
    ))
    .execute(c)
    .await)?)
}

// ---------------------------------------------------------------- hosts

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

// ---------------------------------------------------------------- domain blocks

pub async fn list_domain_rules(conn: &mut PooledConn) -> DbResult<Vec<DomainBlock>> {
    Ok(q!(conn, |c| domain_blocks::table
        .order(domain_blocks::domain.asc())
        .select(DomainBlock::as_select())
        .load(c)
        .await)?)
}

pub async fn add_domain_rule(conn: &mut PooledConn, domain: &str, mode: &str, reason: &str) -> DbResult<()> {
    let at = now();
    q!(conn, |c| diesel::insert_into(domain_blocks::table)
        .values((
            domain_blocks::domain.eq(domain),
            domain_blocks::mode.eq(mode),
            domain_blocks::reason.eq(reason),
            domain_blocks::created_at.eq(at),
        ))
        .on_conflict_do_nothing()
        .execute(c)
        .await)?;
    Ok(())
}

pub async fn remove_domain_rule(conn: &mut PooledConn, id: i64) -> DbResult<usize> {
    Ok(q!(conn, |c| diesel::delete(domain_blocks::table.find(id))
        .execute(c)
        .await)?)
}

/// Remote actors of a domain (and its subdomains).
/// (follows where the actor is the follower, follows where it is followed).
pub async fn count_follows_of(conn: &mut PooledConn, actor_id: i64) -> DbResult<(i64, i64)> {
    let as_follower = q!(conn, |c| follows::table
        .filter(follows::follower_id.eq(actor_id))
        .count()
        .get_result::<i64>(c)
        .await)?;
    let as_followed = q!(conn, |c| follows::table
        .filter(follows::followed_id.eq(actor_id))
        .count()
        .get_result::<i64>(c)
        .await)?;
    Ok((as_follower, as_followed))
}

pub async fn actors_of_domain(conn: &mut PooledConn, domain: &str) -> DbResult<Vec<i64>> {
    Ok(q!(conn, |c| actors::table
        .filter(actors::local.eq(false))
        .filter(
            actors::domain
                .eq(domain)
                .or(actors::domain.like(format!("{domain}:%")))
                .or(actors::domain.like(format!("%.{domain}")))
                .or(actors::domain.like(format!("%.{domain}:%"))),
        )
        .select(actors::id)
        .load(c)
        .await)?)
}
