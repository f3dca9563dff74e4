//! The member register and its invitations.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::models::{Actor, Member, MemberAccount, MemberFields};
use crate::db::schema::{actors, invitations, member_accounts, members};
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

// ---------------------------------------------------------------- linked fediverse accounts

/// A new or renewed link of `actor_id` to a member, waiting for its code.
/// An actor is linked to one member at most: linking it again (by the same
/// member, or after another removed it) starts over.
pub async fn upsert_link(
    conn: &mut PooledConn,
    member_id: i64,
    actor_id: i64,
    code_hash: &str,
    expires_at: NaiveDateTime,
) -> DbResult<i64> {
    q!(conn, |c| diesel::delete(
        member_accounts::table.filter(member_accounts::actor_id.eq(actor_id))
    )
    .execute(c)
    .await)?;
    Ok(q!(conn, |c| diesel::insert_into(member_accounts::table)
        .values((
            member_accounts::member_id.eq(member_id),
            member_accounts::actor_id.eq(actor_id),
            member_accounts::code_hash.eq(Some(code_hash)),
            member_accounts::code_expires_at.eq(Some(expires_at)),
            member_accounts::created_at.eq(now()),
        ))
        .returning(member_accounts::id)
        .get_result(c)
        .await)?)
}

pub async fn find_link(conn: &mut PooledConn, id: i64) -> DbResult<Option<MemberAccount>> {
    Ok(q!(conn, |c| member_accounts::table
        .find(id)
        .select(MemberAccount::as_select())
        .first(c)
        .await
        .optional())?)
}

pub async fn link_of_actor(conn: &mut PooledConn, actor_id: i64) -> DbResult<Option<MemberAccount>> {
    Ok(q!(conn, |c| member_accounts::table
        .filter(member_accounts::actor_id.eq(actor_id))
        .select(MemberAccount::as_select())
        .first(c)
        .await
        .optional())?)
}

/// A member's linked accounts with their actors, oldest first.
pub async fn links_of(conn: &mut PooledConn, member_id: i64) -> DbResult<Vec<(MemberAccount, Actor)>> {
    Ok(q!(conn, |c| member_accounts::table
        .inner_join(actors::table)
        .filter(member_accounts::member_id.eq(member_id))
        .order(member_accounts::id.asc())
        .select((MemberAccount::as_select(), Actor::as_select()))
        .load(c)
        .await)?)
}

/// One more wrong code; returns how many there have been.
pub async fn count_wrong_code(conn: &mut PooledConn, id: i64) -> DbResult<i64> {
    Ok(q!(conn, |c| diesel::update(member_accounts::table.find(id))
        .set(member_accounts::attempts.eq(member_accounts::attempts + 1))
        .returning(member_accounts::attempts)
        .get_result(c)
        .await)?)
}

/// Marks a link proved, if its code is still the one given; false when it
/// was proved, renewed or removed meanwhile.
pub async fn verify_link(conn: &mut PooledConn, id: i64, code_hash: &str) -> DbResult<bool> {
    let n = q!(conn, |c| diesel::update(
        member_accounts::table
            .find(id)
            .filter(member_accounts::code_hash.eq(code_hash))
    )
    .set((
        member_accounts::verified_at.eq(Some(now())),
        member_accounts::code_hash.eq(None::<String>),
        member_accounts::code_expires_at.eq(None::<NaiveDateTime>),
    ))
    .execute(c)
    .await)?;
    Ok(n == 1)
}

pub async fn delete_link(conn: &mut PooledConn, id: i64) -> DbResult<usize> {
    Ok(q!(conn, |c| diesel::delete(member_accounts::table.find(id))
        .execute(c)
        .await)?)
}

/// The member behind a verified linked actor, when the member is active.
pub async fn active_member_of_actor(conn: &mut PooledConn, actor_id: i64) -> DbResult<Option<Member>> {
    Ok(q!(conn, |c| member_accounts::table
        .inner_join(members::table)
        .filter(member_accounts::actor_id.eq(actor_id))
        .filter(member_accounts::verified_at.is_not_null())
        .filter(members::status.eq("active"))
        .select(Member::as_select())
        .first(c)
        .await
        .optional())?)
}

/// The verified linked accounts of active members: who members-only
/// posts are delivered to.
pub async fn linked_actors(conn: &mut PooledConn) -> DbResult<Vec<Actor>> {
    Ok(q!(conn, |c| member_accounts::table
        .inner_join(members::table)
        .inner_join(actors::table)
        .filter(member_accounts::verified_at.is_not_null())
        .filter(members::status.eq("active"))
        .filter(actors::local.eq(false))
        .order(actors::id.asc())
        .select(Actor::as_select())
        .load(c)
        .await)?)
}

pub async fn find_by_number(conn: &mut PooledConn, number: &str) -> DbResult<Option<Member>> {
    Ok(q!(conn, |c| members::table
        .filter(members::member_number.eq(number))
        .select(Member::as_select())
        .first(c)
        .await
        .optional())?)
}

/// Active members who show something in the directory, by name.
pub async fn directory(conn: &mut PooledConn) -> DbResult<Vec<Member>> {
    Ok(q!(conn, |c| members::table
        .filter(members::status.eq("active"))
        .filter(members::directory.ne(""))
        .order((members::name.asc(), members::id.asc()))
        .limit(5000)
        .select(Member::as_select())
        .load(c)
        .await)?)
}

pub async fn set_directory(conn: &mut PooledConn, id: i64, fields: &str) -> DbResult<()> {
    q!(conn, |c| diesel::update(members::table.find(id))
        .set((members::directory.eq(fields), members::updated_at.eq(now())))
        .execute(c)
        .await)?;
    Ok(())
}

/// Active members: those with a vote in ballots.
pub async fn count_active(conn: &mut PooledConn) -> DbResult<i64> {
    Ok(q!(conn, |c| members::table
        .filter(members::status.eq("active"))
        .count()
        .get_result(c)
        .await)?)
}

/// Every active member's name and number, in order: a ballot's roll.
pub async fn active_roll(conn: &mut PooledConn) -> DbResult<Vec<(String, Option<String>)>> {
    Ok(q!(conn, |c| members::table
        .filter(members::status.eq("active"))
        .order((members::name.asc(), members::id.asc()))
        .select((members::name, members::member_number))
        .load(c)
        .await)?)
}

/// The register keeps a member's record when their account goes (the
/// co-op's own record); it only no longer points at the account.
pub async fn unlink_user(conn: &mut PooledConn, user_id: i64) -> DbResult<()> {
    q!(conn, |c| diesel::update(
        members::table.filter(members::user_id.eq(user_id))
    )
    .set(members::user_id.eq(None::<i64>))
    .execute(c)
    .await)?;
    Ok(())
}
