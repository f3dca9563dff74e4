//! Events' own fields and who takes part in them.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::models::{Actor, EventRow, Object};
use crate::db::schema::{actors, events, objects, participations};
use crate::db::{now, DbResult, PooledConn};
use crate::q;

pub async fn insert(conn: &mut PooledConn, row: &EventRow) -> DbResult<()> {
    q!(conn, |c| diesel::insert_into(events::table)
        .values(row)
        .execute(c)
        .await)?;
    Ok(())
}

pub async fn update(conn: &mut PooledConn, row: &EventRow) -> DbResult<()> {
    q!(conn, |c| diesel::update(events::table.find(row.object_id))
        .set(row)
        .execute(c)
        .await)?;
    Ok(())
}

pub async fn find(conn: &mut PooledConn, object_id: i64) -> DbResult<Option<EventRow>> {
    Ok(q!(conn, |c| events::table
        .find(object_id)
        .select(EventRow::as_select())
        .first(c)
        .await
        .optional())?)
}

/// The co-op's public events, not deleted: those ending (or starting, when
/// they have no end) from `from` on, soonest first; or, with `from` None,
/// every one, newest start first.
pub async fn list(
    conn: &mut PooledConn,
    from: Option<NaiveDateTime>,
    shown: &[&'static str],
    offset: i64,
    limit: i64,
) -> DbResult<Vec<(Object, EventRow)>> {
    let shown = shown.to_vec();
    // Boxed per backend: the filters are the same, the query types are not.
    macro_rules! base {
        () => {
            objects::table
                .inner_join(events::table)
                // The kind lets SQLite walk the events through the objects'
                // (kind, local, published_at) index; without it, it scanned
                // every object (100,000 replies: 50 ms for a home page).
                .filter(objects::kind.eq(crate::db::models::ContentKind::Event.as_str()))
                .filter(objects::local.eq(true))
                .filter(objects::deleted_at.is_null())
                .filter(crate::one_of!(objects::visibility, shown))
                .into_boxed()
        };
    }
    Ok(match from {
        Some(from) => q!(conn, |c| base!()
            .filter(
                events::ends_at
                    .ge(from)
                    .or(events::ends_at.is_null().and(events::starts_at.ge(from)))
            )
            .order((events::starts_at.asc(), objects::id.asc()))
            .offset(offset)
            .limit(limit)
            .select((Object::as_select(), EventRow::as_select()))
            .load(c)
            .await)?,
        None => q!(conn, |c| base!()
            .order((events::starts_at.desc(), objects::id.desc()))
            .offset(offset)
            .limit(limit)
            .select((Object::as_select(), EventRow::as_select()))
            .load(c)
            .await)?,
    })
}

/// Adds a participant once; false if they were already in.
pub async fn join(
    conn: &mut PooledConn,
    object_id: i64,
    actor_id: i64,
    ap_id: Option<&str>,
) -> DbResult<bool> {
    let at = now();
    let n = q!(conn, |c| diesel::insert_into(participations::table)
        .values((
            participations::object_id.eq(object_id),
            participations::actor_id.eq(actor_id),
            participations::ap_id.eq(ap_id),
            participations::created_at.eq(at),
        ))
        .on_conflict_do_nothing()
        .execute(c)
        .await)?;
    Ok(n == 1)
}

pub async fn set_join_id(conn: &mut PooledConn, object_id: i64, actor_id: i64, ap_id: &str) -> DbResult<()> {
    q!(conn, |c| diesel::update(
        participations::table
            .filter(participations::object_id.eq(object_id))
            .filter(participations::actor_id.eq(actor_id))
    )
    .set(participations::ap_id.eq(Some(ap_id)))
    .execute(c)
    .await)?;
    Ok(())
}

/// Takes the row of an event (PostgreSQL: `FOR UPDATE`) so that two Joins
/// at once cannot both take the last place. SQLite writes one transaction
/// at a time already.
pub async fn lock(conn: &mut PooledConn, object_id: i64) -> DbResult<()> {
    if let PooledConn::Postgres(c) = conn {
        diesel::sql_query("SELECT object_id FROM events WHERE object_id = $1 FOR UPDATE")
            .bind::<diesel::sql_types::BigInt, _>(object_id)
            .execute(&mut **c)
            .await?;
    }
    Ok(())
}

pub async fn leave(conn: &mut PooledConn, object_id: i64, actor_id: i64) -> DbResult<bool> {
    let n = q!(conn, |c| diesel::delete(
        participations::table
            .filter(participations::object_id.eq(object_id))
            .filter(participations::actor_id.eq(actor_id))
    )
    .execute(c)
    .await)?;
    Ok(n > 0)
}

/// The event a Join (by its id) was for, with the participant.
pub async fn find_by_join(conn: &mut PooledConn, join_id: &str) -> DbResult<Option<(i64, i64)>> {
    Ok(q!(conn, |c| participations::table
        .filter(participations::ap_id.eq(join_id))
        .select((participations::object_id, participations::actor_id))
        .first(c)
        .await
        .optional())?)
}

pub async fn count(conn: &mut PooledConn, object_id: i64) -> DbResult<i64> {
    Ok(q!(conn, |c| participations::table
        .filter(participations::object_id.eq(object_id))
        .count()
        .get_result(c)
        .await)?)
}

/// Participants of each of `object_ids`, in one query (a list page's).
pub async fn counts(
    conn: &mut PooledConn,
    object_ids: &[i64],
) -> DbResult<std::collections::HashMap<i64, i64>> {
    let rows: Vec<(i64, i64)> = q!(conn, |c| participations::table
        .filter(participations::object_id.eq_any(object_ids))
        .group_by(participations::object_id)
        .select((participations::object_id, diesel::dsl::count_star()))
        .load(c)
        .await)?;
    Ok(rows.into_iter().collect())
}

pub async fn is_participant(conn: &mut PooledConn, object_id: i64, actor_id: i64) -> DbResult<bool> {
    let n: i64 = q!(conn, |c| participations::table
        .filter(participations::object_id.eq(object_id))
        .filter(participations::actor_id.eq(actor_id))
        .count()
        .get_result(c)
        .await)?;
    Ok(n > 0)
}

/// The participants with their actors, in the order they joined.
pub async fn participants(conn: &mut PooledConn, object_id: i64) -> DbResult<Vec<(NaiveDateTime, Actor)>> {
    Ok(q!(conn, |c| participations::table
        .inner_join(actors::table)
        .filter(participations::object_id.eq(object_id))
        .order(participations::id.asc())
        .select((participations::created_at, Actor::as_select()))
        .load(c)
        .await)?)
}

/// The inboxes of remote participants (shared inbox where they have one),
/// each once: they hear of changes to the event they joined.
pub async fn participant_inboxes(conn: &mut PooledConn, object_id: i64) -> DbResult<Vec<String>> {
    let rows: Vec<(String, Option<String>)> = q!(conn, |c| participations::table
        .inner_join(actors::table)
        .filter(participations::object_id.eq(object_id))
        .filter(actors::local.eq(false))
        .select((actors::inbox, actors::shared_inbox))
        .load(c)
        .await)?;
    let mut out: Vec<String> = rows.into_iter().map(|(i, s)| s.unwrap_or(i)).collect();
    out.sort();
    out.dedup();
    Ok(out)
}
