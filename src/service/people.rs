//! Local users as fediverse actors: each gets a `Person` at
//! `/users/{username}` with its own keys the first time they act in a
//! conversation (a reply, an RSVP, a vote), so that peers see who it was.

use super::{coop, Ctx, ServiceError, ServiceResult};
use crate::db::models::Actor;
use crate::db::queries::{accounts as accounts_q, actors};

pub const PERSON_PATH: &str = "/users";

/// The user's Person actor, made on first need.
pub async fn person_of(ctx: &Ctx, user_id: i64) -> ServiceResult<Actor> {
    let user = {
        let mut conn = ctx.db.conn().await?;
        let user = accounts_q::find_user(&mut conn, user_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound("That account no longer exists.".into()))?;
        if let Some(actor_id) = user.actor_id {
            if let Some(actor) = actors::find(&mut conn, actor_id).await? {
                return Ok(actor);
            }
        }
        user
    };
    let name = if user.display_name.trim().is_empty() {
        user.username.clone()
    } else {
        user.display_name.clone()
    };
    let path = format!("{PERSON_PATH}/{}", user.username);
    // RSA key generation takes a moment: off the async workers.
    let row = {
        let ctx2 = ctx.clone();
        let username = user.username.clone();
        tokio::task::spawn_blocking(move || coop::local_actor_row(&ctx2, "Person", &username, &path, &name))
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))??
    };
    // Not listed in directories or search: a member's account exists for
    // their replies, not as a public profile.
    let row = crate::db::models::ActorRow {
        discoverable: false,
        ..row
    };
    let mut tx = ctx.db.begin().await?;
    // Two first actions at once: the second finds the first's actor.
    let actor_id = match actors::find_by_ap_id(&mut tx, &row.ap_id).await? {
        Some(existing) => existing.id,
        None => actors::insert(&mut tx, &row).await?,
    };
    accounts_q::set_actor(&mut tx, user.id, actor_id).await?;
    let actor = actors::find(&mut tx, actor_id)
        .await?
        .ok_or_else(|| ServiceError::Internal("person vanished after insert".into()))?;
    tx.commit().await?;
    tracing::info!(user = %user.username, actor = %actor.ap_id, "person actor created");
    Ok(actor)
}

/// A local Person by username, for its actor document and WebFinger: only
/// once it has published (a reply, a thread, a moderator's removal; a vote
/// or an RSVP federates nothing, and must not make a member's username
/// findable).
pub async fn find_person(ctx: &Ctx, username: &str) -> ServiceResult<Option<Actor>> {
    let mut conn = ctx.db.conn().await?;
    let Some(person) = actors::find_local_person(&mut conn, username).await? else {
        return Ok(None);
    };
    let published = crate::db::queries::content::count_by_author(&mut conn, person.id).await?
        + crate::db::queries::outbox::count_by_actor(&mut conn, person.id).await?;
    // Or the member takes messages from other servers, who must find them.
    let open = crate::db::queries::messages::user_of_person(&mut conn, person.id)
        .await?
        .is_some_and(|u| u.open_to_messages && !u.disabled);
    Ok((published > 0 || open).then_some(person))
}
