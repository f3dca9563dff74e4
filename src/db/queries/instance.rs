use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::models::Instance;
use crate::db::schema::instance;
use crate::db::{now, DbResult, PooledConn};
use crate::q;

/// The one instance row, created on first use.
pub async fn get_or_create(conn: &mut PooledConn) -> DbResult<Instance> {
    let found = q!(conn, |c| instance::table
        .find(1i64)
        .select(Instance::as_select())
        .first(c)
        .await
        .optional())?;
    if let Some(row) = found {
        return Ok(row);
    }
    let created_at = now();
    q!(conn, |c| diesel::insert_into(instance::table)
        .values((instance::id.eq(1i64), instance::created_at.eq(created_at)))
        .on_conflict_do_nothing()
        .execute(c)
        .await)?;
    Ok(q!(conn, |c| instance::table
        .find(1i64)
        .select(Instance::as_select())
        .first(c)
        .await)?)
}

pub async fn set_setup_token(conn: &mut PooledConn, hash: Option<&str>) -> DbResult<()> {
    q!(conn, |c| diesel::update(instance::table.find(1i64))
        .set(instance::setup_token_hash.eq(hash))
        .execute(c)
        .await)?;
    Ok(())
}

/// Marks setup done, only if it was not already: returns false when another
/// request finished setup first.
pub async fn complete_setup(conn: &mut PooledConn, coop_actor: i64, instance_actor: i64) -> DbResult<bool> {
    let at = now();
    let n = q!(conn, |c| diesel::update(
        instance::table
            .find(1i64)
            .filter(instance::setup_completed_at.is_null())
    )
    .set((
        instance::setup_completed_at.eq(at),
        instance::setup_token_hash.eq(None::<String>),
        instance::coop_actor_id.eq(coop_actor),
        instance::instance_actor_id.eq(instance_actor),
    ))
    .execute(c)
    .await)?;
    Ok(n == 1)
}

pub async fn set_federation_mode(conn: &mut PooledConn, mode: &str) -> DbResult<()> {
    q!(conn, |c| diesel::update(instance::table.find(1i64))
        .set(instance::federation_mode.eq(mode))
        .execute(c)
        .await)?;
    Ok(())
}

pub async fn set_authorized_fetch(conn: &mut PooledConn, on: bool) -> DbResult<()> {
    q!(conn, |c| diesel::update(instance::table.find(1i64))
        .set(instance::authorized_fetch.eq(on))
        .execute(c)
        .await)?;
    Ok(())
}

pub async fn set_require_admin_totp(conn: &mut PooledConn, on: bool) -> DbResult<()> {
    q!(conn, |c| diesel::update(instance::table.find(1i64))
        .set(instance::require_admin_totp.eq(on))
        .execute(c)
        .await)?;
    Ok(())
}
