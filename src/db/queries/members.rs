//! The member register and its invitations.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::models::{Member, MemberFields};
use crate::db::schema::{invitations, members};
use crate::db::{now, DbResult, PooledConn};
use crate::q;

diesel::define_sql_function! {
    /// SQL `lower`, on both databases (PostgreSQL's LIKE is case-sensitive).
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

diesel::define_sql_function! {
    #[sql_name = "lower"]
    fn lower_opt(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

pub async fn insert(conn: &mut PooledConn, fields: &MemberFields) -> DbResult<i64> {
    let at = now();
    Ok(q!(conn, |c| diesel::insert_into(members::table)
        .values((fields, members::created_at.eq(at)))
        .returning(members::id)
        .get_result(c)
        .await)?)
}

pub async fn update(conn: &mut PooledConn, id: i64, fields: &MemberFields) -> DbResult<()> {
    q!(conn, |c| diesel::update(members::table.find(id))
        .set(fields)
        .execute(c)
        .await)?;
    Ok(())
}

pub async fn delete(conn: &mut PooledConn, id: i64) -> DbResult<usize> {
    Ok(q!(conn, |c| diesel::delete(members::table.find(id))
        .execute(c)
        .await)?)
}

pub async fn find(conn: &mut PooledConn, id: i64) -> DbResult<Option<Member>> {
    Ok(q!(conn, |c| members::table
        .find(id)
        .select(Member::as_select())
        .first(c)
        .await
        .optional())?)
}

pub async fn find_by_user(conn: &mut PooledConn, user_id: i64) -> DbResult<Option<Member>> {
    Ok(q!(conn, |c| members::table
        .filter(members::user_id.eq(user_id))
        .select(Member::as_select())
        .first(c)
        .await
        .optional())?)
}

/// Whether another member (not `except`) has this member number.
pub async fn number_taken(conn: &mut PooledConn, number: &str, except: Option<i64>) -> DbResult<bool> {
    let except = except.unwrap_or(-1);
    let n: i64 = q!(conn, |c| members::table
        .filter(members::member_number.eq(number))
        .filter(members::id.ne(except))
        .count()
        .get_result(c)
        .await)?;
    Ok(n > 0)
}

/// Members by name, optionally only those whose name, number, email or
/// phone contains `search` (whatever the case), or of one status.
pub async fn list(conn: &mut PooledConn, search: &str, status: Option<&str>) -> DbResult<Vec<Member>> {
    let pattern = format!("%{}%", search.replace(['%', '_'], "").to_lowercase());
    let status = status.map(String::from);
    Ok(q!(conn, |c| {
        let mut query = members::table.into_boxed();
        if !search.is_empty() {
            query = query.filter(
                lower(members::name)
                    .like(pattern.clone())
                    .or(lower_opt(members::member_number).like(pattern.clone()))
                    .or(lower_opt(members::email).like(pattern.clone()))
                    .or(members::phone.like(pattern.clone())),
            );
        }
        if let Some(s) = status.clone() {
            query = query.filter(members::status.eq(s));
        }
        query
            .order((members::name.asc(), members::id.asc()))
            .limit(5000)
            .select(Member::as_select())
            .load(c)
            .await
    })?)
}

pub async fn set_user(conn: &mut PooledConn, id: i64, user_id: i64) -> DbResult<()> {
    q!(conn, |c| diesel::update(members::table.find(id))
        .set((members::user_id.eq(Some(user_id)), members::updated_at.eq(now())))
        .execute(c)
        .await)?;
    Ok(())
}

pub async fn insert_invitation(
    conn: &mut PooledConn,
    member_id: i64,
    token_hash: &str,
    expires_at: NaiveDateTime,
) -> DbResult<()> {
    q!(conn, |c| diesel::insert_into(invitations::table)
        .values((
            invitations::member_id.eq(member_id),
            invitations::token_hash.eq(token_hash),
            invitations::created_at.eq(now()),
            invitations::expires_at.eq(expires_at),
        ))
        .execute(c)
        .await)?;
    Ok(())
}

/// The member an unused, unexpired invitation is for.
pub async fn invitation_member(conn: &mut PooledConn, token_hash: &str) -> DbResult<Option<i64>> {
    Ok(q!(conn, |c| invitations::table
        .filter(invitations::token_hash.eq(token_hash))
        .filter(invitations::used_at.is_null())
        .filter(invitations::expires_at.gt(now()))
        .select(invitations::member_id)
        .first(c)
        .await
        .optional())?)
}

/// Marks an invitation used; false when another request used it first.
pub async fn use_invitation(conn: &mut PooledConn, token_hash: &str) -> DbResult<bool> {
    let n = q!(conn, |c| diesel::update(
        invitations::table
            .filter(invitations::token_hash.eq(token_hash))
            .filter(invitations::used_at.is_null())
            .filter(invitations::expires_at.gt(now()))
    )
    .set(invitations::used_at.eq(Some(now())))
    .execute(c)
    .await)?;
    Ok(n == 1)
}
