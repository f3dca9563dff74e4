//! Uploaded images.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::models::MediaRow;
use crate::db::schema::media;
use crate::db::{DbResult, PooledConn};
use crate::q;

pub async fn insert(conn: &mut PooledConn, row: &MediaRow) -> DbResult<i64> {
    Ok(q!(conn, |c| diesel::insert_into(media::table)
        .values(row)
        .returning(media::id)
        .get_result(c)
        .await)?)
}

pub async fn find_by_token(conn: &mut PooledConn, token: &str) -> DbResult<Option<MediaRow>> {
    Ok(q!(conn, |c| media::table
        .filter(media::token.eq(token))
        .select(MediaRow::as_select())
        .first(c)
        .await
        .optional())?)
}

/// The newest uploads, for the media page.
pub async fn recent(conn: &mut PooledConn, limit: i64) -> DbResult<Vec<MediaRow>> {
    Ok(q!(conn, |c| media::table
        .order(media::id.desc())
        .limit(limit)
        .select(MediaRow::as_select())
        .load(c)
        .await)?)
}
