use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::models::{Actor, ActorRow, ProfileChange};
use crate::db::schema::actors;
use crate::db::{DbResult, PooledConn};
use crate::q;

pub async fn insert(conn: &mut PooledConn, row: &ActorRow) -> DbResult<i64> {
    Ok(q!(conn, |c| diesel::insert_into(actors::table)
        .values(row)
        .returning(actors::id)
        .get_result(c)
        .await)?)
}

pub async fn find(conn: &mut PooledConn, id: i64) -> DbResult<Option<Actor>> {
    Ok(q!(conn, |c| actors::table
        .find(id)
        .select(Actor::as_select())
        .first(c)
        .await
        .optional())?)
}

pub async fn find_by_ap_id(conn: &mut PooledConn, ap_id: &str) -> DbResult<Option<Actor>> {
    Ok(q!(conn, |c| actors::table
        .filter(actors::ap_id.eq(ap_id))
        .select(Actor::as_select())
        .first(c)
        .await
        .optional())?)
}

/// The Groups (forums) among `ap_ids`, in one query: an incoming post names
/// a handful of audiences, most of them not actors here.
pub async fn find_groups(conn: &mut PooledConn, ap_ids: &[String]) -> DbResult<Vec<Actor>> {
    Ok(q!(conn, |c| actors::table
        .filter(actors::ap_id.eq_any(ap_ids))
        .filter(actors::kind.eq("Group"))
        .select(Actor::as_select())
        .load(c)
        .await)?)
}

/// A remote actor by its profile page (`url`), as a member pastes it from
/// the browser. Unindexed: for a member's own action, not for the inbox.
pub async fn find_by_url(conn: &mut PooledConn, url: &str) -> DbResult<Option<Actor>> {
    Ok(q!(conn, |c| actors::table
        .filter(actors::url.eq(url))
        .filter(actors::local.eq(false))
        .select(Actor::as_select())
        .first(c)
        .await
        .optional())?)
}

/// The co-op or instance actor by handle (local users' Person actors live
/// under `/users/` and are found with `find_local_person`).
pub async fn find_local_by_handle(conn: &mut PooledConn, handle: &str) -> DbResult<Option<Actor>> {
    Ok(q!(conn, |c| actors::table
        .filter(actors::local.eq(true))
        .filter(actors::kind.ne(PERSON))
        .filter(actors::handle.eq(handle))
        .select(Actor::as_select())
        .first(c)
        .await
        .optional())?)
}

const PERSON: &str = "Person";

/// A local user's Person actor, by username.
pub async fn find_local_person(conn: &mut PooledConn, username: &str) -> DbResult<Option<Actor>> {
    Ok(q!(conn, |c| actors::table
        .filter(actors::local.eq(true))
        .filter(actors::kind.eq(PERSON))
        .filter(actors::handle.eq(username))
        .select(Actor::as_select())
        .first(c)
        .await
        .optional())?)
}

pub async fn update_profile(conn: &mut PooledConn, id: i64, change: &ProfileChange) -> DbResult<()> {
    q!(conn, |c| diesel::update(actors::table.find(id))
        .set(change)
        .execute(c)
        .await)?;
    Ok(())
}

/// Inserts or refreshes a remote actor by its ActivityPub id; returns its row id.
pub async fn upsert_remote(conn: &mut PooledConn, row: &ActorRow) -> DbResult<i64> {
    Ok(q!(conn, |c| diesel::insert_into(actors::table)
        .values(row)
        .on_conflict(actors::ap_id)
        .do_update()
        .set((
            actors::kind.eq(&row.kind),
            actors::handle.eq(&row.handle),
            actors::domain.eq(&row.domain),
            actors::name.eq(&row.name),
            actors::summary.eq(&row.summary),
            actors::url.eq(&row.url),
            actors::inbox.eq(&row.inbox),
            actors::shared_inbox.eq(&row.shared_inbox),
            actors::outbox.eq(&row.outbox),
            actors::followers_url.eq(&row.followers_url),
            actors::public_key_id.eq(&row.public_key_id),
            actors::public_key_pem.eq(&row.public_key_pem),
            actors::icon_url.eq(&row.icon_url),
            actors::image_url.eq(&row.image_url),
            actors::manually_approves_followers.eq(row.manually_approves_followers),
            actors::discoverable.eq(row.discoverable),
            actors::last_fetched_at.eq(row.last_fetched_at),
            actors::updated_at.eq(row.updated_at),
        ))
        .returning(actors::id)
        .get_result(c)
        .await)?)
}

pub async fn find_by_key_id(conn: &mut PooledConn, key_id: &str) -> DbResult<Option<Actor>> {
    Ok(q!(conn, |c| actors::table
        .filter(actors::public_key_id.eq(key_id))
        .select(Actor::as_select())
        .first(c)
        .await
        .optional())?)
}

pub async fn delete(conn: &mut PooledConn, id: i64) -> DbResult<usize> {
    Ok(q!(conn, |c| diesel::delete(actors::table.find(id))
        .execute(c)
        .await)?)
}

pub async fn list_remote(conn: &mut PooledConn) -> DbResult<Vec<Actor>> {
    Ok(q!(conn, |c| actors::table
        .filter(actors::local.eq(false))
        .select(Actor::as_select())
        .load(c)
        .await)?)
}

pub async fn find_by_inbox(conn: &mut PooledConn, inbox: &str) -> DbResult<Option<Actor>> {
    Ok(q!(conn, |c| actors::table
        .filter(actors::local.eq(false))
        .filter(actors::inbox.eq(inbox))
        .select(Actor::as_select())
        .first(c)
        .await
        .optional())?)
}

/// One of our groups' name, description and audience (a public forum is
/// discoverable and takes followers at once; a members-only one approves them).
pub async fn set_group_profile(
    conn: &mut PooledConn,
    id: i64,
    name: &str,
    summary: &str,
    public: bool,
) -> DbResult<()> {
    q!(conn, |c| diesel::update(actors::table.find(id))
        .set((
            actors::name.eq(name),
            actors::summary.eq(summary),
            actors::discoverable.eq(public),
            actors::manually_approves_followers.eq(!public),
            actors::updated_at.eq(crate::db::now()),
        ))
        .execute(c)
        .await)?;
    Ok(())
}

/// A remote actor by `handle@domain` (a forum of another server).
pub async fn find_remote_by_handle(
    conn: &mut PooledConn,
    handle: &str,
    domain: &str,
) -> DbResult<Option<Actor>> {
    Ok(q!(conn, |c| actors::table
        .filter(actors::local.eq(false))
        .filter(actors::handle.eq(handle))
        .filter(actors::domain.eq(domain))
        .select(Actor::as_select())
        .first(c)
        .await
        .optional())?)
}

/// A deleted member's Person: shown as "Former member" under a handle that
/// names nobody, no profile, and no longer served as a Person (its keys
/// stay, to sign the Delete that tells other servers).
pub async fn tombstone(conn: &mut PooledConn, id: i64) -> DbResult<()> {
    let handle = format!("former-member-{id}");
    q!(conn, |c| diesel::update(actors::table.find(id))
        .set((
            actors::kind.eq("Tombstone"),
            actors::handle.eq(&handle),
            actors::url.eq(None::<String>),
            actors::name.eq("Former member"),
            actors::summary.eq(""),
            actors::icon_url.eq(None::<String>),
            actors::image_url.eq(None::<String>),
            actors::website.eq(None::<String>),
            actors::contact_email.eq(None::<String>),
        ))
        .execute(c)
        .await)?;
    Ok(())
}
