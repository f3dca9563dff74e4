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

pub async fn find_local_by_handle(conn: &mut PooledConn, handle: &str) -> DbResult<Option<Actor>> {
    Ok(q!(conn, |c| actors::table
        .filter(actors::local.eq(true))
        .filter(actors::handle.eq(handle))
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
