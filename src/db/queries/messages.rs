//! Direct messages: objects of visibility `direct` and their recipients.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::models::Object;
use crate::db::schema::{message_recipients, objects};
use crate::db::{now, DbResult, PooledConn};
use crate::q;

pub async fn add_recipient(conn: &mut PooledConn, object_id: i64, actor_id: i64) -> DbResult<()> {
    q!(conn, |c| diesel::insert_into(message_recipients::table)
        .values((
            message_recipients::object_id.eq(object_id),
            message_recipients::actor_id.eq(actor_id),
        ))
        .on_conflict_do_nothing()
        .execute(c)
        .await)?;
    Ok(())
}

/// The newest direct messages `actor_id` sent or received, at most `limit`.
pub async fn messages_of(conn: &mut PooledConn, actor_id: i64, limit: i64) -> DbResult<Vec<Object>> {
    let received = message_recipients::table
        .filter(message_recipients::actor_id.eq(actor_id))
        .select(message_recipients::object_id);
    Ok(q!(conn, |c| objects::table
        .filter(objects::visibility.eq("direct"))
        .filter(objects::deleted_at.is_null())
        .filter(objects::author_id.eq(actor_id).or(objects::id.eq_any(received)))
        .order((objects::created_at.desc(), objects::id.desc()))
        .limit(limit)
        .select(Object::as_select())
        .load(c)
        .await)?)
}

/// (object, recipient, read_at) for these messages.
pub async fn recipients_of(
    conn: &mut PooledConn,
    object_ids: &[i64],
) -> DbResult<Vec<(i64, i64, Option<chrono::NaiveDateTime>)>> {
    let ids = object_ids.to_vec();
    Ok(q!(conn, |c| message_recipients::table
        .filter(message_recipients::object_id.eq_any(ids.clone()))
        .select((
            message_recipients::object_id,
            message_recipients::actor_id,
            message_recipients::read_at,
        ))
        .load(c)
        .await)?)
}

pub async fn mark_read(conn: &mut PooledConn, actor_id: i64, object_ids: &[i64]) -> DbResult<()> {
    let ids = object_ids.to_vec();
    q!(conn, |c| diesel::update(
        message_recipients::table
            .filter(message_recipients::actor_id.eq(actor_id))
            .filter(message_recipients::object_id.eq_any(ids.clone()))
            .filter(message_recipients::read_at.is_null())
    )
    .set(message_recipients::read_at.eq(Some(now())))
    .execute(c)
    .await)?;
    Ok(())
}

pub async fn unread_count(conn: &mut PooledConn, actor_id: i64) -> DbResult<i64> {
    Ok(q!(conn, |c| message_recipients::table
        .filter(message_recipients::actor_id.eq(actor_id))
        .filter(message_recipients::read_at.is_null())
        .count()
        .get_result(c)
        .await)?)
}

/// Whether `a` ever sent `b` a direct message.
pub async fn has_written_to(conn: &mut PooledConn, a: i64, b: i64) -> DbResult<bool> {
    let n: i64 = q!(conn, |c| objects::table
        .inner_join(message_recipients::table)
        .filter(objects::author_id.eq(a))
        .filter(message_recipients::actor_id.eq(b))
        .count()
        .get_result(c)
        .await)?;
    Ok(n > 0)
}

/// The local account behind a Person actor.
pub async fn user_of_person(
    conn: &mut PooledConn,
    actor_id: i64,
) -> DbResult<Option<crate::db::models::User>> {
    use crate::db::schema::users;
    Ok(q!(conn, |c| users::table
        .filter(users::actor_id.eq(Some(actor_id)))
        .select(crate::db::models::User::as_select())
        .first(c)
        .await
        .optional())?)
}

pub async fn set_open(conn: &mut PooledConn, user_id: i64, open: bool) -> DbResult<()> {
    use crate::db::schema::users;
    q!(conn, |c| diesel::update(users::table.find(user_id))
        .set(users::open_to_messages.eq(open))
        .execute(c)
        .await)?;
    Ok(())
}
