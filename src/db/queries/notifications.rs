//! Notifications, members' blocks and mutes, and members' reports.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::models::Actor;
use crate::db::schema::{actors, member_blocks, notifications, reports, users};
use crate::db::{now, DbResult, PooledConn};
use crate::q;

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = notifications)]
pub struct Notification {
    pub id: i64,
    #[serde(skip)]
    pub user_id: i64,
    pub kind: String,
    #[serde(skip)]
    pub actor_id: Option<i64>,
    pub text: String,
    pub link: String,
    pub created_at: NaiveDateTime,
    pub read_at: Option<NaiveDateTime>,
    /// A mention: the post's ActivityPub id.
    #[serde(skip)]
    pub object: Option<String>,
}

pub async fn insert(
    conn: &mut PooledConn,
    user: i64,
    kind: &str,
    actor: Option<i64>,
    text: &str,
    link: &str,
    object: Option<&str>,
) -> DbResult<()> {
    let at = now();
    q!(conn, |c| diesel::insert_into(notifications::table)
        .values((
            notifications::user_id.eq(user),
            notifications::kind.eq(kind),
            notifications::actor_id.eq(actor),
            notifications::text.eq(text),
            notifications::link.eq(link),
            notifications::created_at.eq(at),
            notifications::object.eq(object),
        ))
        .execute(c)
        .await)?;
    Ok(())
}

/// A deleted account's notices, blocks and mutes (its row stays, scrubbed).
pub async fn forget_user(conn: &mut PooledConn, user: i64) -> DbResult<()> {
    q!(conn, |c| diesel::delete(
        notifications::table.filter(notifications::user_id.eq(user))
    )
    .execute(c)
    .await)?;
    q!(conn, |c| diesel::delete(
        member_blocks::table.filter(member_blocks::user_id.eq(user))
    )
    .execute(c)
    .await)?;
    Ok(())
}

/// Whether `user` was already told of `kind` at `link` (an edited post
/// mentioning them again tells them once).
pub async fn exists(conn: &mut PooledConn, user: i64, kind: &str, link: &str) -> DbResult<bool> {
    let n: i64 = q!(conn, |c| notifications::table
        .filter(notifications::user_id.eq(user))
        .filter(notifications::kind.eq(kind))
        .filter(notifications::link.eq(link))
        .count()
        .get_result(c)
        .await)?;
    Ok(n > 0)
}

/// A user's notifications, newest first, leaving out those from actors
/// they have since blocked or muted.
pub async fn list(conn: &mut PooledConn, user: i64, limit: i64) -> DbResult<Vec<Notification>> {
    let hidden = member_blocks::table
        .filter(member_blocks::user_id.eq(user))
        .select(member_blocks::actor_id);
    Ok(q!(conn, |c| notifications::table
        .filter(notifications::user_id.eq(user))
        .filter(
            notifications::actor_id
                .is_null()
                .or(notifications::actor_id.assume_not_null().ne_all(hidden))
        )
        .order(notifications::id.desc())
        .limit(limit)
        .select(Notification::as_select())
        .load(c)
        .await)?)
}

/// One of a user's notifications.
pub async fn find_of_user(conn: &mut PooledConn, user: i64, id: i64) -> DbResult<Option<Notification>> {
    Ok(q!(conn, |c| notifications::table
        .filter(notifications::id.eq(id))
        .filter(notifications::user_id.eq(user))
        .select(Notification::as_select())
        .first(c)
        .await
        .optional())?)
}

pub async fn unread_count(conn: &mut PooledConn, user: i64) -> DbResult<i64> {
    Ok(q!(conn, |c| notifications::table
        .filter(notifications::user_id.eq(user))
        .filter(notifications::read_at.is_null())
        .count()
        .get_result(c)
        .await)?)
}

pub async fn mark_all_read(conn: &mut PooledConn, user: i64) -> DbResult<usize> {
    let at = now();
    Ok(q!(conn, |c| diesel::update(
        notifications::table
            .filter(notifications::user_id.eq(user))
            .filter(notifications::read_at.is_null())
    )
    .set(notifications::read_at.eq(Some(at)))
    .execute(c)
    .await)?)
}

pub async fn delete_read_before(conn: &mut PooledConn, before: NaiveDateTime, limit: i64) -> DbResult<usize> {
    // The rows are picked first: diesel cannot write a delete whose
    // subquery reads its own table.
    let ids: Vec<i64> = q!(conn, |c| notifications::table
        .select(notifications::id)
        .filter(notifications::read_at.is_not_null())
        .filter(notifications::created_at.lt(before))
        .limit(limit)
        .load(c)
        .await)?;
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(q!(conn, |c| diesel::delete(
        notifications::table.filter(notifications::id.eq_any(&ids))
    )
    .execute(c)
    .await)?)
}

/// Accounts with at least `roles` (active ones).
pub async fn users_with_role(conn: &mut PooledConn, roles: &[&str]) -> DbResult<Vec<i64>> {
    Ok(q!(conn, |c| users::table
        .filter(users::role.eq_any(roles))
        .filter(users::disabled.eq(false))
        .select(users::id)
        .load(c)
        .await)?)
}

// ---------------------------------------------------------------- blocks and mutes

/// `block`, `mute`, or nothing.
pub async fn block_kind(conn: &mut PooledConn, user: i64, actor: i64) -> DbResult<Option<String>> {
    Ok(q!(conn, |c| member_blocks::table
        .filter(member_blocks::user_id.eq(user))
        .filter(member_blocks::actor_id.eq(actor))
        .select(member_blocks::kind)
        .first(c)
        .await
        .optional())?)
}

pub async fn set_block(conn: &mut PooledConn, user: i64, actor: i64, kind: &str) -> DbResult<()> {
    remove_block(conn, user, actor).await?;
    let at = now();
    q!(conn, |c| diesel::insert_into(member_blocks::table)
        .values((
            member_blocks::user_id.eq(user),
            member_blocks::actor_id.eq(actor),
            member_blocks::kind.eq(kind),
            member_blocks::created_at.eq(at),
        ))
        .execute(c)
        .await)?;
    Ok(())
}

pub async fn remove_block(conn: &mut PooledConn, user: i64, actor: i64) -> DbResult<usize> {
    Ok(q!(conn, |c| diesel::delete(
        member_blocks::table
            .filter(member_blocks::user_id.eq(user))
            .filter(member_blocks::actor_id.eq(actor))
    )
    .execute(c)
    .await)?)
}

pub async fn blocks_of(conn: &mut PooledConn, user: i64) -> DbResult<Vec<(Actor, String)>> {
    Ok(q!(conn, |c| member_blocks::table
        .inner_join(actors::table.on(actors::id.eq(member_blocks::actor_id)))
        .filter(member_blocks::user_id.eq(user))
        .order(member_blocks::id.desc())
        .select((Actor::as_select(), member_blocks::kind))
        .load(c)
        .await)?)
}

// ---------------------------------------------------------------- reports

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = reports)]
pub struct ReportRow {
    pub id: i64,
    pub actor_id: i64,
    pub activity_id: String,
    pub objects: String,
    pub content: String,
    pub created_at: NaiveDateTime,
    pub resolved_at: Option<NaiveDateTime>,
    pub reporter_user_id: Option<i64>,
    pub forwarded_at: Option<NaiveDateTime>,
}

pub async fn insert_member_report(
    conn: &mut PooledConn,
    reporter_actor: i64,
    reporter_user: i64,
    activity_id: &str,
    objects: &str,
    content: &str,
) -> DbResult<i64> {
    let at = now();
    Ok(q!(conn, |c| diesel::insert_into(reports::table)
        .values((
            reports::actor_id.eq(reporter_actor),
            reports::reporter_user_id.eq(Some(reporter_user)),
            reports::activity_id.eq(activity_id),
            reports::objects.eq(objects),
            reports::content.eq(content),
            reports::created_at.eq(at),
        ))
        .returning(reports::id)
        .get_result(c)
        .await)?)
}

pub async fn find_report(conn: &mut PooledConn, id: i64) -> DbResult<Option<ReportRow>> {
    Ok(q!(conn, |c| reports::table
        .find(id)
        .select(ReportRow::as_select())
        .first(c)
        .await
        .optional())?)
}

/// Unresolved reports with their reporter's actor, newest first.
pub async fn open_reports(conn: &mut PooledConn, limit: i64) -> DbResult<Vec<(ReportRow, Actor)>> {
    Ok(q!(conn, |c| reports::table
        .inner_join(actors::table.on(actors::id.eq(reports::actor_id)))
        .filter(reports::resolved_at.is_null())
        .order(reports::id.desc())
        .limit(limit)
        .select((ReportRow::as_select(), Actor::as_select()))
        .load(c)
        .await)?)
}

pub async fn set_forwarded(conn: &mut PooledConn, id: i64) -> DbResult<()> {
    let at = now();
    q!(conn, |c| diesel::update(reports::table.find(id))
        .set(reports::forwarded_at.eq(Some(at)))
        .execute(c)
        .await)?;
    Ok(())
}

pub async fn resolve(conn: &mut PooledConn, id: i64) -> DbResult<usize> {
    let at = now();
    Ok(q!(conn, |c| diesel::update(
        reports::table.find(id).filter(reports::resolved_at.is_null())
    )
    .set(reports::resolved_at.eq(Some(at)))
    .execute(c)
    .await)?)
}
