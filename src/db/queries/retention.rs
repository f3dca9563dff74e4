//! The co-op's retention settings and what they remove.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::schema::{instance, mail_queue, objects};
use crate::db::{DbResult, PooledConn};
use crate::q;

/// (remote posts, messages, logs), in days; None keeps for ever.
pub async fn get(conn: &mut PooledConn) -> DbResult<(Option<i64>, Option<i64>, Option<i64>)> {
    Ok(q!(conn, |c| instance::table
        .select((
            instance::retention_remote_days,
            instance::retention_message_days,
            instance::retention_log_days
        ))
        .first(c)
        .await
        .optional())?
    .unwrap_or((None, None, None)))
}

pub async fn set(
    conn: &mut PooledConn,
    remote: Option<i64>,
    messages: Option<i64>,
    logs: Option<i64>,
) -> DbResult<()> {
    q!(conn, |c| diesel::update(instance::table)
        .set((
            instance::retention_remote_days.eq(remote),
            instance::retention_message_days.eq(messages),
            instance::retention_log_days.eq(logs),
        ))
        .execute(c)
        .await)?;
    Ok(())
}

/// Other servers' posts received before `before` that started no
/// conversation here: not replies, not messages, not forum threads, and
/// not answered by anything stored here. Deleted ones stay (their row is
/// what stops an Update bringing them back).
/// At most `limit` of them.
pub async fn delete_remote_posts(
    conn: &mut PooledConn,
    before: NaiveDateTime,
    limit: i64,
) -> DbResult<usize> {
    // Plain SQL: the subquery reads the table the delete works on.
    let sql = match conn {
        PooledConn::Sqlite(_) => {
            "DELETE FROM objects WHERE id IN (SELECT id FROM objects WHERE local = 0 AND in_reply_to IS NULL \
             AND visibility <> 'direct' AND deleted_at IS NULL AND created_at < ? \
             AND id NOT IN (SELECT object_id FROM threads) \
             AND ap_id NOT IN (SELECT in_reply_to FROM objects WHERE in_reply_to IS NOT NULL) LIMIT ?)"
        }
        PooledConn::Postgres(_) => {
            "DELETE FROM objects WHERE id IN (SELECT id FROM objects WHERE local = FALSE AND in_reply_to IS NULL \
             AND visibility <> 'direct' AND deleted_at IS NULL AND created_at < $1 \
             AND id NOT IN (SELECT object_id FROM threads) \
             AND ap_id NOT IN (SELECT in_reply_to FROM objects WHERE in_reply_to IS NOT NULL) LIMIT $2)"
        }
    };
    Ok(q!(conn, |c| diesel::sql_query(sql)
        .bind::<diesel::sql_types::Timestamp, _>(before)
        .bind::<diesel::sql_types::BigInt, _>(limit)
        .execute(c)
        .await)?)
}

/// Direct messages (sent and received) older than `before`.
pub async fn delete_messages(conn: &mut PooledConn, before: NaiveDateTime, limit: i64) -> DbResult<usize> {
    // The rows are picked first: diesel cannot write a delete whose
    // subquery reads its own table.
    let ids: Vec<i64> = q!(conn, |c| objects::table
        .select(objects::id)
        .filter(objects::visibility.eq("direct"))
        .filter(objects::created_at.lt(before))
        .limit(limit)
        .load(c)
        .await)?;
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(q!(conn, |c| diesel::delete(
        objects::table.filter(objects::id.eq_any(&ids))
    )
    .execute(c)
    .await)?)
}

/// Single mails sent or given up on before `before` (a newsletter's mail
/// stays: it is its counts).
pub async fn delete_mail_log(conn: &mut PooledConn, before: NaiveDateTime, limit: i64) -> DbResult<usize> {
    let ids: Vec<i64> = q!(conn, |c| mail_queue::table
        .select(mail_queue::id)
        .filter(mail_queue::status.ne("queued"))
        .filter(mail_queue::newsletter_id.is_null())
        .filter(mail_queue::created_at.lt(before))
        .limit(limit)
        .load(c)
        .await)?;
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(q!(conn, |c| diesel::delete(
        mail_queue::table.filter(mail_queue::id.eq_any(&ids))
    )
    .execute(c)
    .await)?)
}
