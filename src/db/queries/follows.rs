//! Follow rows (both directions) and the inboxes of an actor's followers.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::models::{Actor, Follow, FollowState};
use crate::db::schema::{actors, follows};
use crate::db::{now, DbResult, PooledConn};
use crate::q;

/// Creates or updates the follow of `follower` to `followed`.
pub async fn upsert_follow(
    conn: &mut PooledConn,
    follower_id: i64,
    followed_id: i64,
    state: FollowState,
    ap_id: Option<&str>,
) -> DbResult<()> {
    let at = now();
    let state = state.as_str();
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
    followers_in(conn, followed_id, FollowState::Accepted, offset, limit).await
}

/// Followers of a local actor whose follow is in `state`, oldest first.
async fn followers_in(
    conn: &mut PooledConn,
    followed_id: i64,
    state: FollowState,
    offset: i64,
    limit: i64,
) -> DbResult<Vec<Actor>> {
    Ok(q!(conn, |c| follows::table
        .inner_join(actors::table.on(actors::id.eq(follows::follower_id)))
        .filter(follows::followed_id.eq(followed_id))
        .filter(follows::state.eq(state.as_str()))
        .order(follows::id.asc())
        .offset(offset)
        .limit(limit)
        .select(Actor::as_select())
        .load(c)
        .await)?)
}

/// Remote actors waiting for a local actor to approve their follow, oldest first.
pub async fn follow_requests(conn: &mut PooledConn, followed_id: i64) -> DbResult<Vec<Actor>> {
    followers_in(conn, followed_id, FollowState::Pending, 0, 500).await
}

pub async fn count_followers(conn: &mut PooledConn, followed_id: i64) -> DbResult<i64> {
    Ok(q!(conn, |c| follows::table
        .filter(follows::followed_id.eq(followed_id))
        .filter(follows::state.eq(FollowState::Accepted.as_str()))
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
        .filter(follows::state.eq(FollowState::Accepted.as_str()))
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

/// The ids of the actors a local actor follows (accepted).
pub async fn followed_ids(conn: &mut PooledConn, follower_id: i64) -> DbResult<Vec<i64>> {
    Ok(q!(conn, |c| follows::table
        .filter(follows::follower_id.eq(follower_id))
        .filter(follows::state.eq(FollowState::Accepted.as_str()))
        .select(follows::followed_id)
        .load(c)
        .await)?)
}

pub async fn count_following(conn: &mut PooledConn, follower_id: i64) -> DbResult<i64> {
    Ok(q!(conn, |c| follows::table
        .filter(follows::follower_id.eq(follower_id))
        .filter(follows::state.eq(FollowState::Accepted.as_str()))
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
        .filter(follows::state.eq(FollowState::Accepted.as_str()))
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

/// The follow (by any local follower) whose Follow activity had this id.
pub async fn find_follow_by_ap_id(conn: &mut PooledConn, ap_id: &str) -> DbResult<Option<Follow>> {
    Ok(q!(conn, |c| follows::table
        .filter(follows::ap_id.eq(ap_id))
        .select(Follow::as_select())
        .first(c)
        .await
        .optional())?)
}

/// How many follows an actor is in: (follows where the actor is the follower, follows where it is followed).
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

/// Ends every follow of an actor (a forum that became members-only).
pub async fn delete_follows_of_followed(conn: &mut PooledConn, followed_id: i64) -> DbResult<usize> {
    Ok(q!(conn, |c| diesel::delete(
        follows::table.filter(follows::followed_id.eq(followed_id))
    )
    .execute(c)
    .await)?)
}
