//! Followers of the co-op: remote Follow requests, Undo, and an admin
//! removing a follower. Each change writes its outgoing event (the Accept or
//! Reject to send) in the same transaction.

use super::events::{self, DomainEvent};
use super::types::UserRole;
use super::{Caller, Ctx, ServiceError, ServiceResult};
use crate::db::models::{Actor, FollowState};
use crate::db::queries::{accounts as accounts_q, actors, follows as follow_q};

/// The co-op follows a remote actor: a pending follow until its Accept comes.
pub async fn follow_actor(ctx: &Ctx, caller: &Caller, local: &Actor, remote: &Actor) -> ServiceResult<()> {
    let by_user = caller.require(UserRole::Admin)?;
    if remote.local {
        return Err(ServiceError::invalid("actor", "That is this co-op itself."));
    }
    let mut tx = ctx.db.begin().await?;
    if let Some(existing) = follow_q::find_follow(&mut tx, local.id, remote.id).await? {
        if existing.state() == FollowState::Accepted {
            return Err(ServiceError::Conflict(format!(
                "The co-op already follows {}.",
                remote.ap_id
            )));
        }
    }
    let follow_id = ctx
        .config
        .url(&format!("/activities/{}", crate::crypto::random_token()));
    follow_q::upsert_follow(
        &mut tx,
        local.id,
        remote.id,
        FollowState::Pending,
        Some(&follow_id),
    )
    .await?;
    let event = DomainEvent::FollowRequested {
        local: local.id,
        remote: remote.id,
        follow_id: follow_id.clone(),
    };
    events::record(&mut tx, &event, None).await?;
    accounts_q::audit(&mut tx, Some(by_user), "follow.request", &remote.ap_id).await?;
    tx.commit().await?;
    ctx.cache.followed.clear();
    Ok(())
}

/// The co-op stops following a remote actor; its server gets Undo(Follow).
pub async fn unfollow_actor(ctx: &Ctx, caller: &Caller, local: &Actor, remote_id: i64) -> ServiceResult<()> {
    let by_user = caller.require(UserRole::Admin)?;
    let mut tx = ctx.db.begin().await?;
    let follow = follow_q::find_follow(&mut tx, local.id, remote_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("The co-op does not follow this account.".into()))?;
    follow_q::delete_follow(&mut tx, local.id, remote_id).await?;
    let follow_id = follow.ap_id.unwrap_or_default();
    let event = DomainEvent::FollowUndone {
        local: local.id,
        remote: remote_id,
        follow_id,
    };
    events::record(&mut tx, &event, None).await?;
    let remote = actors::find(&mut tx, remote_id)
        .await?
        .map(|a| a.ap_id)
        .unwrap_or_default();
    accounts_q::audit(&mut tx, Some(by_user), "follow.undo", &remote).await?;
    tx.commit().await?;
    ctx.cache.followed.clear();
    Ok(())
}

/// Whether the co-op follows `actor` (accepted), from the set kept for a
/// second ([`crate::service::cache`]): the inbox asks for every post.
pub async fn coop_follows(ctx: &Ctx, actor: &Actor) -> ServiceResult<bool> {
    let followed = ctx
        .cache
        .followed
        .get(|| async {
            let Some(coop) = crate::service::coop::get_coop(ctx).await? else {
                return Ok(Default::default());
            };
            let mut conn = ctx.db.conn().await?;
            Ok(follow_q::followed_ids(&mut conn, coop.id)
                .await?
                .into_iter()
                .collect())
        })
        .await?;
    Ok(followed.contains(&actor.id))
}

pub async fn list_following(ctx: &Ctx, follower: &Actor) -> ServiceResult<Vec<(Actor, String)>> {
    let mut conn = ctx.db.conn().await?;
    Ok(follow_q::all_followed(&mut conn, follower.id).await?)
}

/// A remote actor asks to follow a local one. Actors that approve their
/// followers (`manuallyApprovesFollowers`) keep the request pending for an
/// admin, except the co-op for a member's proved account; the others
/// accept at once, the Accept queued with the follow row.
/// A repeated Follow of an accepted follow is accepted again (the first
/// Accept may have been lost).
pub async fn receive_follow(
    ctx: &Ctx,
    follower: &Actor,
    followed: &Actor,
    follow_id: &str,
) -> ServiceResult<()> {
    if !followed.local {
        return Err(ServiceError::invalid(
            "object",
            "Only local actors can be followed here.",
        ));
    }
    let mut tx = ctx.db.begin().await?;
    let accepted = follow_q::find_follow(&mut tx, follower.id, followed.id)
        .await?
        .is_some_and(|f| f.state() == FollowState::Accepted);
    // A member's proved account needs no approval to follow the co-op.
    let member = followed.kind == "Organization"
        && super::member_links::member_of_actor(&mut tx, follower.id)
            .await?
            .is_some();
    if followed.manually_approves_followers && !accepted && !member {
        follow_q::upsert_follow(
            &mut tx,
            follower.id,
            followed.id,
            FollowState::Pending,
            Some(follow_id),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(follower = %follower.ap_id, followed = %followed.handle, "follow request waits for approval");
        return Ok(());
    }
    follow_q::upsert_follow(
        &mut tx,
        follower.id,
        followed.id,
        FollowState::Accepted,
        Some(follow_id),
    )
    .await?;
    // The event carries the Follow id the Accept must name.
    let event = DomainEvent::FollowAccepted {
        local: followed.id,
        remote: follower.id,
        follow_id: follow_id.to_string(),
    };
    events::record(&mut tx, &event, None).await?;
    tx.commit().await?;
    tracing::info!(follower = %follower.ap_id, followed = %followed.handle, "new follower");
    Ok(())
}

/// Accepts every pending follow request of `followed`, in the caller's
/// transaction (the co-op stopped approving followers one by one).
pub(crate) async fn accept_all_requests(
    conn: &mut crate::db::PooledConn,
    followed: &Actor,
) -> ServiceResult<usize> {
    let waiting = follow_q::follow_requests(conn, followed.id).await?;
    for follower in &waiting {
        let Some(follow) = follow_q::find_follow(conn, follower.id, followed.id).await? else {
            continue;
        };
        follow_q::upsert_follow(
            conn,
            follower.id,
            followed.id,
            FollowState::Accepted,
            follow.ap_id.as_deref(),
        )
        .await?;
        let event = DomainEvent::FollowAccepted {
            local: followed.id,
            remote: follower.id,
            follow_id: follow.ap_id.unwrap_or_default(),
        };
        events::record(conn, &event, None).await?;
    }
    Ok(waiting.len())
}

/// Follow requests waiting for an admin.
pub async fn list_follow_requests(ctx: &Ctx, followed: &Actor) -> ServiceResult<Vec<Actor>> {
    let mut conn = ctx.db.conn().await?;
    Ok(follow_q::follow_requests(&mut conn, followed.id).await?)
}

/// An admin approves or declines a pending follow request; the follower's
/// server gets Accept or Reject naming its Follow.
pub async fn answer_follow_request(
    ctx: &Ctx,
    caller: &Caller,
    followed: &Actor,
    follower_id: i64,
    approve: bool,
) -> ServiceResult<Actor> {
    let by_user = caller.require(UserRole::Admin)?;
    let mut tx = ctx.db.begin().await?;
    let follow = follow_q::find_follow(&mut tx, follower_id, followed.id)
        .await?
        .filter(|f| f.state() == FollowState::Pending)
        .ok_or_else(|| {
            ServiceError::NotFound("There is no such follow request (it may have been answered).".into())
        })?;
    let follower = actors::find(&mut tx, follower_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("That account is gone.".into()))?;
    let follow_id = follow.ap_id.clone().unwrap_or_default();
    let event = if approve {
        follow_q::upsert_follow(
            &mut tx,
            follower_id,
            followed.id,
            FollowState::Accepted,
            follow.ap_id.as_deref(),
        )
        .await?;
        DomainEvent::FollowAccepted {
            local: followed.id,
            remote: follower_id,
            follow_id,
        }
    } else {
        follow_q::delete_follow(&mut tx, follower_id, followed.id).await?;
        DomainEvent::FollowRejected {
            local: followed.id,
            remote: follower_id,
            follow_id,
        }
    };
    events::record(&mut tx, &event, None).await?;
    let action = if approve {
        "follower.approve"
    } else {
        "follower.decline"
    };
    accounts_q::audit(&mut tx, Some(by_user), action, &follower.ap_id).await?;
    tx.commit().await?;
    Ok(follower)
}

/// Undo(Follow): the follower leaves. With `follow_id` (an embedded Follow),
/// it must be the Follow we stored, else nothing changes.
pub async fn receive_unfollow(
    ctx: &Ctx,
    follower: &Actor,
    followed: &Actor,
    follow_id: Option<&str>,
) -> ServiceResult<bool> {
    let mut conn = ctx.db.write().await?;
    if let Some(id) = follow_id {
        let stored = follow_q::find_follow(&mut conn, follower.id, followed.id).await?;
        if stored.is_some_and(|f| f.ap_id.as_deref().is_some_and(|a| a != id)) {
            tracing::info!(follower = %follower.ap_id, %id, "Undo names another Follow than the one stored; ignored");
            return Ok(false);
        }
    }
    let n = follow_q::delete_follow(&mut conn, follower.id, followed.id).await?;
    if n > 0 {
        tracing::info!(follower = %follower.ap_id, followed = %followed.handle, "follower left");
    }
    Ok(n > 0)
}

/// Undo naming only the Follow's id.
pub async fn receive_unfollow_by_id(ctx: &Ctx, follower: &Actor, follow_id: &str) -> ServiceResult<bool> {
    let mut conn = ctx.db.write().await?;
    let n = follow_q::delete_follow_by_ap_id(&mut conn, follower.id, follow_id).await?;
    Ok(n > 0)
}

/// Accept or Reject of a Follow we sent (embedded, with its id): it must
/// be the Follow we stored, else nothing changes.
pub async fn receive_follow_answer(
    ctx: &Ctx,
    followed: &Actor,
    local: &Actor,
    follow_id: &str,
    accepted: bool,
) -> ServiceResult<()> {
    let mut conn = ctx.db.write().await?;
    let Some(follow) = follow_q::find_follow(&mut conn, local.id, followed.id).await? else {
        return Ok(());
    };
    if follow.ap_id.as_deref().is_some_and(|id| id != follow_id) {
        tracing::info!(followed = %followed.ap_id, %follow_id, "answer to a Follow we did not send; ignored");
        return Ok(());
    }
    if accepted {
        // Keep the Follow's id: an Undo later must name it.
        follow_q::upsert_follow(
            &mut conn,
            local.id,
            followed.id,
            FollowState::Accepted,
            follow.ap_id.as_deref(),
        )
        .await?;
    } else {
        follow_q::delete_follow(&mut conn, local.id, followed.id).await?;
    }
    ctx.cache.followed.clear();
    Ok(())
}

/// Accept or Reject naming our Follow only by its id.
pub async fn receive_follow_answer_by_id(
    ctx: &Ctx,
    followed: &Actor,
    follow_id: &str,
    accepted: bool,
) -> ServiceResult<()> {
    let mut conn = ctx.db.write().await?;
    let Some(follow) = follow_q::find_follow_by_ap_id(&mut conn, follow_id).await? else {
        return Ok(());
    };
    // Only the followed actor may answer.
    if follow.followed_id != followed.id {
        return Ok(());
    }
    if accepted {
        follow_q::upsert_follow(
            &mut conn,
            follow.follower_id,
            followed.id,
            FollowState::Accepted,
            Some(follow_id),
        )
        .await?;
    } else {
        follow_q::delete_follow(&mut conn, follow.follower_id, followed.id).await?;
    }
    ctx.cache.followed.clear();
    Ok(())
}

/// An admin removes a follower: the follow ends and the follower's server is
/// told with Reject(Follow), as Mastodon does for "remove from followers".
pub async fn remove_follower(
    ctx: &Ctx,
    caller: &Caller,
    followed: &Actor,
    follower_id: i64,
) -> ServiceResult<()> {
    let by_user = caller.require(UserRole::Admin)?;
    let mut tx = ctx.db.begin().await?;
    let follow = follow_q::find_follow(&mut tx, follower_id, followed.id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("This account does not follow the co-op.".into()))?;
    follow_q::delete_follow(&mut tx, follower_id, followed.id).await?;
    let follow_id = follow.ap_id.unwrap_or_default();
    let event = DomainEvent::FollowRejected {
        local: followed.id,
        remote: follower_id,
        follow_id,
    };
    events::record(&mut tx, &event, None).await?;
    let follower = actors::find(&mut tx, follower_id)
        .await?
        .map(|a| a.ap_id)
        .unwrap_or_default();
    accounts_q::audit(&mut tx, Some(by_user), "follower.remove", &follower).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn list_followers(
    ctx: &Ctx,
    followed: &Actor,
    page: i64,
    per_page: i64,
) -> ServiceResult<(Vec<Actor>, i64)> {
    let mut conn = ctx.db.conn().await?;
    let total = follow_q::count_followers(&mut conn, followed.id).await?;
    let list = follow_q::followers(
        &mut conn,
        followed.id,
        page.clamp(0, 1_000_000) * per_page,
        per_page,
    )
    .await?;
    Ok((list, total))
}

/// Actors `actor` follows (accepted), a page at a time, with the total.
pub async fn list_followed(
    ctx: &Ctx,
    actor: &Actor,
    page: i64,
    per_page: i64,
) -> ServiceResult<(Vec<Actor>, i64)> {
    let mut conn = ctx.db.conn().await?;
    let total = follow_q::count_following(&mut conn, actor.id).await?;
    let list =
        follow_q::following(&mut conn, actor.id, page.clamp(0, 1_000_000) * per_page, per_page).await?;
    Ok((list, total))
}
