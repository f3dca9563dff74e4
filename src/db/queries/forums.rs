//! Forums (group actors, ours and followed ones), their threads' order,
//! locks and pins, and bans.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::models::{Actor, ForumRow, Object, ThreadRow};
use crate::db::schema::{actors, forum_bans, forums, objects, threads};
use crate::db::{now, DbResult, PooledConn};
use crate::q;

pub async fn insert(conn: &mut PooledConn, row: &ForumRow) -> DbResult<()> {
    q!(conn, |c| diesel::insert_into(forums::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c)
        .await)?;
    Ok(())
}

pub async fn find(conn: &mut PooledConn, actor_id: i64) -> DbResult<Option<ForumRow>> {
    Ok(q!(conn, |c| forums::table
        .find(actor_id)
        .select(ForumRow::as_select())
        .first(c)
        .await
        .optional())?)
}

pub async fn update(
    conn: &mut PooledConn,
    actor_id: i64,
    visibility: &str,
    restricted: bool,
) -> DbResult<()> {
    q!(conn, |c| diesel::update(forums::table.find(actor_id))
        .set((
            forums::visibility.eq(visibility),
            forums::posting_restricted.eq(restricted),
        ))
        .execute(c)
        .await)?;
    Ok(())
}

pub async fn delete(conn: &mut PooledConn, actor_id: i64) -> DbResult<()> {
    q!(conn, |c| diesel::delete(forums::table.find(actor_id))
        .execute(c)
        .await)?;
    Ok(())
}

/// Every forum with its actor: ours first, then by name.
pub async fn list(conn: &mut PooledConn) -> DbResult<Vec<(ForumRow, Actor)>> {
    Ok(q!(conn, |c| forums::table
        .inner_join(actors::table.on(actors::id.eq(forums::actor_id)))
        .order((actors::local.desc(), actors::name.asc(), actors::id.asc()))
        .select((ForumRow::as_select(), Actor::as_select()))
        .load(c)
        .await)?)
}

pub async fn insert_thread(conn: &mut PooledConn, row: &ThreadRow) -> DbResult<()> {
    q!(conn, |c| diesel::insert_into(threads::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c)
        .await)?;
    Ok(())
}

pub async fn find_thread(conn: &mut PooledConn, object_id: i64) -> DbResult<Option<ThreadRow>> {
    Ok(q!(conn, |c| threads::table
        .find(object_id)
        .select(ThreadRow::as_select())
        .first(c)
        .await
        .optional())?)
}

pub async fn set_locked(conn: &mut PooledConn, object_id: i64, locked: bool) -> DbResult<()> {
    q!(conn, |c| diesel::update(threads::table.find(object_id))
        .set(threads::locked.eq(locked))
        .execute(c)
        .await)?;
    Ok(())
}

pub async fn set_pinned(conn: &mut PooledConn, object_id: i64, pinned: bool) -> DbResult<()> {
    q!(conn, |c| diesel::update(threads::table.find(object_id))
        .set(threads::pinned.eq(pinned))
        .execute(c)
        .await)?;
    Ok(())
}

/// A reply moves its thread up the forum.
pub async fn touch(conn: &mut PooledConn, object_id: i64, at: NaiveDateTime) -> DbResult<()> {
    q!(conn, |c| diesel::update(threads::table.find(object_id))
        .set(threads::last_activity_at.eq(at))
        .execute(c)
        .await)?;
    Ok(())
}

/// A forum's threads that are shown (not deleted or hidden), pinned first,
/// then by newest activity, with their authors.
pub async fn list_threads(
    conn: &mut PooledConn,
    forum_id: i64,
    offset: i64,
    limit: i64,
) -> DbResult<Vec<(ThreadRow, Object, Actor)>> {
    Ok(q!(conn, |c| threads::table
        .inner_join(objects::table.inner_join(actors::table))
        .filter(threads::forum_id.eq(forum_id))
        .filter(objects::deleted_at.is_null())
        .filter(objects::hidden_at.is_null())
        .order((
            threads::pinned.desc(),
            threads::last_activity_at.desc(),
            threads::object_id.desc(),
        ))
        .offset(offset)
        .limit(limit)
        .select((ThreadRow::as_select(), Object::as_select(), Actor::as_select()))
        .load(c)
        .await)?)
}

pub async fn count_threads(conn: &mut PooledConn, forum_id: i64) -> DbResult<i64> {
    Ok(q!(conn, |c| threads::table
        .inner_join(objects::table)
        .filter(threads::forum_id.eq(forum_id))
        .filter(objects::deleted_at.is_null())
        .filter(objects::hidden_at.is_null())
        .count()
        .get_result(c)
        .await)?)
}

/// Threads of public local forums, for NodeInfo.
pub async fn count_public_local_threads(conn: &mut PooledConn) -> DbResult<i64> {
    Ok(q!(conn, |c| threads::table
        .inner_join(objects::table)
        .inner_join(forums::table.on(forums::actor_id.eq(threads::forum_id)))
        .filter(objects::local.eq(true))
        .filter(objects::deleted_at.is_null())
        .filter(objects::hidden_at.is_null())
        .filter(forums::visibility.eq("public"))
        .count()
        .get_result(c)
        .await)?)
}

/// Pinned threads of a forum (its `featured` collection), newest first.
pub async fn pinned_ids(conn: &mut PooledConn, forum_id: i64) -> DbResult<Vec<String>> {
    Ok(q!(conn, |c| threads::table
        .inner_join(objects::table)
        .filter(threads::forum_id.eq(forum_id))
        .filter(threads::pinned.eq(true))
        .filter(objects::deleted_at.is_null())
        .filter(objects::hidden_at.is_null())
        .order(threads::object_id.desc())
        .limit(50)
        .select(objects::ap_id)
        .load(c)
        .await)?)
}

pub async fn ban(conn: &mut PooledConn, forum_id: i64, actor_id: i64, reason: &str) -> DbResult<()> {
    q!(conn, |c| diesel::insert_into(forum_bans::table)
        .values((
            forum_bans::forum_id.eq(forum_id),
            forum_bans::actor_id.eq(actor_id),
            forum_bans::reason.eq(reason),
            forum_bans::created_at.eq(now()),
        ))
        .on_conflict_do_nothing()
        .execute(c)
        .await)?;
    Ok(())
}

pub async fn unban(conn: &mut PooledConn, forum_id: i64, actor_id: i64) -> DbResult<usize> {
    Ok(q!(conn, |c| diesel::delete(
        forum_bans::table
            .filter(forum_bans::forum_id.eq(forum_id))
            .filter(forum_bans::actor_id.eq(actor_id))
    )
    .execute(c)
    .await)?)
}

pub async fn is_banned(conn: &mut PooledConn, forum_id: i64, actor_id: i64) -> DbResult<bool> {
    let n: i64 = q!(conn, |c| forum_bans::table
        .filter(forum_bans::forum_id.eq(forum_id))
        .filter(forum_bans::actor_id.eq(actor_id))
        .count()
        .get_result(c)
        .await)?;
    Ok(n > 0)
}

pub async fn bans(conn: &mut PooledConn, forum_id: i64) -> DbResult<Vec<(Actor, String)>> {
    Ok(q!(conn, |c| forum_bans::table
        .inner_join(actors::table.on(actors::id.eq(forum_bans::actor_id)))
        .filter(forum_bans::forum_id.eq(forum_id))
        .order(forum_bans::id.desc())
        .select((Actor::as_select(), forum_bans::reason))
        .load(c)
        .await)?)
}

/// The thread at the root of a conversation (the object itself when it is
/// a thread; replies climb at most 16 levels), and its forum's group.
pub async fn placement(
    conn: &mut PooledConn,
    object: &Object,
) -> DbResult<Option<(ThreadRow, Object, Actor)>> {
    let mut current = object.clone();
    for _ in 0..16 {
        if current.kind == crate::db::models::ContentKind::Thread.as_str() {
            let Some(thread) = find_thread(conn, current.id).await? else {
                return Ok(None);
            };
            let group = crate::db::queries::actors::find(conn, thread.forum_id).await?;
            return Ok(group.map(|g| (thread, current, g)));
        }
        let Some(parent) = current.in_reply_to.clone() else {
            return Ok(None);
        };
        match crate::db::queries::content::find_by_ap_id(conn, &parent).await? {
            Some(p) => current = p,
            None => return Ok(None),
        }
    }
    Ok(None)
}
