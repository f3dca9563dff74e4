//! Users, their sessions, API tokens, login attempts and the audit log.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::models::{ApiToken, NewApiToken, NewSession, NewUser, Session, User};
use crate::db::schema::{api_tokens, audit_log, login_attempts, password_resets, sessions, users};
use crate::db::{now, DbResult, PooledConn};
use crate::q;

pub async fn insert_user(conn: &mut PooledConn, user: &NewUser) -> DbResult<i64> {
    Ok(q!(conn, |c| diesel::insert_into(users::table)
        .values(user)
        .returning(users::id)
        .get_result(c)
        .await)?)
}

pub async fn find_user(conn: &mut PooledConn, id: i64) -> DbResult<Option<User>> {
    Ok(q!(conn, |c| users::table
        .find(id)
        .select(User::as_select())
        .first(c)
        .await
        .optional())?)
}

pub async fn find_user_by_username(conn: &mut PooledConn, username: &str) -> DbResult<Option<User>> {
    Ok(q!(conn, |c| users::table
        .filter(users::username.eq(username))
        .select(User::as_select())
        .first(c)
        .await
        .optional())?)
}

pub async fn list_users(conn: &mut PooledConn) -> DbResult<Vec<User>> {
    Ok(q!(conn, |c| users::table
        .order(users::id.asc())
        .select(User::as_select())
        .load(c)
        .await)?)
}

pub async fn count_users(conn: &mut PooledConn) -> DbResult<i64> {
    Ok(q!(conn, |c| users::table.count().get_result(c).await)?)
}

pub async fn set_password_hash(conn: &mut PooledConn, user_id: i64, hash: &str) -> DbResult<usize> {
    Ok(q!(conn, |c| diesel::update(users::table.find(user_id))
        .set(users::password_hash.eq(hash))
        .execute(c)
        .await)?)
}

pub async fn touch_last_login(conn: &mut PooledConn, user_id: i64) -> DbResult<()> {
    let at = now();
    q!(conn, |c| diesel::update(users::table.find(user_id))
        .set(users::last_login_at.eq(Some(at)))
        .execute(c)
        .await)?;
    Ok(())
}

pub async fn insert_session(conn: &mut PooledConn, session: &NewSession) -> DbResult<i64> {
    Ok(q!(conn, |c| diesel::insert_into(sessions::table)
        .values(session)
        .returning(sessions::id)
        .get_result(c)
        .await)?)
}

pub async fn find_session(conn: &mut PooledConn, token_hash: &str) -> DbResult<Option<Session>> {
    Ok(q!(conn, |c| sessions::table
        .filter(sessions::token_hash.eq(token_hash))
        .select(Session::as_select())
        .first(c)
        .await
        .optional())?)
}

pub async fn delete_session(conn: &mut PooledConn, token_hash: &str) -> DbResult<()> {
    q!(conn, |c| diesel::delete(
        sessions::table.filter(sessions::token_hash.eq(token_hash))
    )
    .execute(c)
    .await)?;
    Ok(())
}

pub async fn delete_sessions_of_user(conn: &mut PooledConn, user_id: i64) -> DbResult<()> {
    q!(conn, |c| diesel::delete(
        sessions::table.filter(sessions::user_id.eq(user_id))
    )
    .execute(c)
    .await)?;
    Ok(())
}

pub async fn delete_expired_sessions(conn: &mut PooledConn, before: NaiveDateTime) -> DbResult<usize> {
    Ok(q!(conn, |c| diesel::delete(
        sessions::table.filter(sessions::expires_at.lt(before))
    )
    .execute(c)
    .await)?)
}

pub async fn insert_api_token(conn: &mut PooledConn, token: &NewApiToken) -> DbResult<i64> {
    Ok(q!(conn, |c| diesel::insert_into(api_tokens::table)
        .values(token)
        .returning(api_tokens::id)
        .get_result(c)
        .await)?)
}

pub async fn find_api_token(conn: &mut PooledConn, token_hash: &str) -> DbResult<Option<ApiToken>> {
    Ok(q!(conn, |c| api_tokens::table
        .filter(api_tokens::token_hash.eq(token_hash))
        .filter(api_tokens::revoked_at.is_null())
        .select(ApiToken::as_select())
        .first(c)
        .await
        .optional())?)
}

pub async fn list_api_tokens(conn: &mut PooledConn, user_id: i64) -> DbResult<Vec<ApiToken>> {
    Ok(q!(conn, |c| api_tokens::table
        .filter(api_tokens::user_id.eq(user_id))
        .filter(api_tokens::revoked_at.is_null())
        .order(api_tokens::id.asc())
        .select(ApiToken::as_select())
        .load(c)
        .await)?)
}

pub async fn revoke_api_token(conn: &mut PooledConn, user_id: i64, token_id: i64) -> DbResult<usize> {
    let at = now();
    Ok(q!(conn, |c| diesel::update(
        api_tokens::table
            .filter(api_tokens::id.eq(token_id))
            .filter(api_tokens::user_id.eq(user_id))
    )
    .set(api_tokens::revoked_at.eq(Some(at)))
    .execute(c)
    .await)?)
}

pub async fn touch_api_token(conn: &mut PooledConn, token_id: i64) -> DbResult<()> {
    let at = now();
    q!(conn, |c| diesel::update(api_tokens::table.find(token_id))
        .set(api_tokens::last_used_at.eq(Some(at)))
        .execute(c)
        .await)?;
    Ok(())
}

pub async fn record_failed_login(conn: &mut PooledConn, username: &str, ip: &str) -> DbResult<()> {
    let at = now();
    q!(conn, |c| diesel::insert_into(login_attempts::table)
        .values((
            login_attempts::username.eq(username),
            login_attempts::ip.eq(ip),
            login_attempts::attempted_at.eq(at),
        ))
        .execute(c)
        .await)?;
    Ok(())
}

/// Failed attempts since `since`, counted for this username and for this address.
pub async fn count_failed_logins(
    conn: &mut PooledConn,
    username: &str,
    ip: &str,
    since: NaiveDateTime,
) -> DbResult<(i64, i64)> {
    let by_user = q!(conn, |c| login_attempts::table
        .filter(login_attempts::username.eq(username))
        .filter(login_attempts::attempted_at.gt(since))
        .count()
        .get_result::<i64>(c)
        .await)?;
    let by_ip = q!(conn, |c| login_attempts::table
        .filter(login_attempts::ip.eq(ip))
        .filter(login_attempts::attempted_at.gt(since))
        .count()
        .get_result::<i64>(c)
        .await)?;
    Ok((by_user, by_ip))
}

pub async fn clear_failed_logins(conn: &mut PooledConn, username: &str) -> DbResult<()> {
    q!(conn, |c| diesel::delete(
        login_attempts::table.filter(login_attempts::username.eq(username))
    )
    .execute(c)
    .await)?;
    Ok(())
}

pub async fn audit(conn: &mut PooledConn, user_id: Option<i64>, action: &str, detail: &str) -> DbResult<()> {
    let at = now();
    q!(conn, |c| diesel::insert_into(audit_log::table)
        .values((
            audit_log::user_id.eq(user_id),
            audit_log::action.eq(action),
            audit_log::detail.eq(detail),
            audit_log::created_at.eq(at),
        ))
        .execute(c)
        .await)?;
    Ok(())
}

pub async fn list_sessions(conn: &mut PooledConn, user_id: i64) -> DbResult<Vec<Session>> {
    let at = now();
    Ok(q!(conn, |c| sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::expires_at.gt(at))
        .order(sessions::id.desc())
        .select(Session::as_select())
        .load(c)
        .await)?)
}

pub async fn delete_session_of_user(conn: &mut PooledConn, user_id: i64, session_id: i64) -> DbResult<usize> {
    Ok(q!(conn, |c| diesel::delete(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::id.eq(session_id))
    )
    .execute(c)
    .await)?)
}

pub async fn delete_other_sessions(conn: &mut PooledConn, user_id: i64, keep_id: i64) -> DbResult<usize> {
    Ok(q!(conn, |c| diesel::delete(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::id.ne(keep_id))
    )
    .execute(c)
    .await)?)
}

pub async fn set_display_name(conn: &mut PooledConn, user_id: i64, name: &str) -> DbResult<()> {
    q!(conn, |c| diesel::update(users::table.find(user_id))
        .set(users::display_name.eq(name))
        .execute(c)
        .await)?;
    Ok(())
}

pub async fn set_actor(conn: &mut PooledConn, user_id: i64, actor_id: i64) -> DbResult<()> {
    q!(conn, |c| diesel::update(users::table.find(user_id))
        .set(users::actor_id.eq(Some(actor_id)))
        .execute(c)
        .await)?;
    Ok(())
}

pub async fn set_role(conn: &mut PooledConn, user_id: i64, role: &str) -> DbResult<()> {
    q!(conn, |c| diesel::update(users::table.find(user_id))
        .set(users::role.eq(role))
        .execute(c)
        .await)?;
    Ok(())
}

pub async fn set_disabled(conn: &mut PooledConn, user_id: i64, disabled: bool) -> DbResult<()> {
    q!(conn, |c| diesel::update(users::table.find(user_id))
        .set(users::disabled.eq(disabled))
        .execute(c)
        .await)?;
    Ok(())
}

/// Active admins: the last one cannot be demoted or deactivated. Call it in
/// the transaction that makes the change: on PostgreSQL the admin rows are
/// locked (`FOR UPDATE`), so that two concurrent demotions cannot both see
/// "two admins" and leave none; on SQLite `BEGIN IMMEDIATE` already
/// serialises writers.
pub async fn count_active_admins(conn: &mut PooledConn) -> DbResult<i64> {
    match conn {
        PooledConn::Postgres(c) => Ok(users::table
            .filter(users::role.eq("admin"))
            .filter(users::disabled.eq(false))
            .select(users::id)
            .for_update()
            .load::<i64>(&mut **c)
            .await?
            .len() as i64),
        PooledConn::Sqlite(c) => Ok(users::table
            .filter(users::role.eq("admin"))
            .filter(users::disabled.eq(false))
            .count()
            .get_result(&mut **c)
            .await?),
    }
}

pub async fn insert_password_reset(
    conn: &mut PooledConn,
    user_id: i64,
    token_hash: &str,
    expires_at: NaiveDateTime,
) -> DbResult<()> {
    let at = now();
    q!(conn, |c| diesel::insert_into(password_resets::table)
        .values((
            password_resets::user_id.eq(user_id),
            password_resets::token_hash.eq(token_hash),
            password_resets::created_at.eq(at),
            password_resets::expires_at.eq(expires_at),
        ))
        .execute(c)
        .await)?;
    Ok(())
}

/// Marks an unused, unexpired reset link used and returns its user: the
/// update is the check, so a link works once even if used twice at once.
pub async fn use_password_reset(conn: &mut PooledConn, token_hash: &str) -> DbResult<Option<i64>> {
    let Some(user) = password_reset_valid(conn, token_hash).await? else {
        return Ok(None);
    };
    let at = now();
    let n = q!(conn, |c| diesel::update(
        password_resets::table
            .filter(password_resets::token_hash.eq(token_hash))
            .filter(password_resets::used_at.is_null())
    )
    .set(password_resets::used_at.eq(Some(at)))
    .execute(c)
    .await)?;
    Ok((n == 1).then_some(user))
}

/// The user of a reset link that can still be used.
pub async fn password_reset_valid(conn: &mut PooledConn, token_hash: &str) -> DbResult<Option<i64>> {
    let at = now();
    Ok(q!(conn, |c| password_resets::table
        .filter(password_resets::token_hash.eq(token_hash))
        .filter(password_resets::used_at.is_null())
        .filter(password_resets::expires_at.gt(at))
        .select(password_resets::user_id)
        .first(c)
        .await
        .optional())?)
}

/// Drops a user's reset links (after a password change, or for a new link).
pub async fn delete_password_resets(conn: &mut PooledConn, user_id: i64) -> DbResult<usize> {
    Ok(q!(conn, |c| diesel::delete(
        password_resets::table.filter(password_resets::user_id.eq(user_id))
    )
    .execute(c)
    .await)?)
}

/// The newest audit entries: (action, detail), newest first.
pub async fn recent_audit(conn: &mut PooledConn, limit: i64) -> DbResult<Vec<(String, String)>> {
    Ok(q!(conn, |c| audit_log::table
        .order(audit_log::id.desc())
        .limit(limit)
        .select((audit_log::action, audit_log::detail))
        .load(c)
        .await)?)
}

/// The audit log, newest first, with the acting user's name; `action`
/// filters on a prefix (`member.` for the register).
pub async fn audit_entries(
    conn: &mut PooledConn,
    action: &str,
    limit: i64,
) -> DbResult<Vec<(NaiveDateTime, Option<String>, String, String)>> {
    // `_` stays: as a LIKE wildcard it also matches itself, and action
    // names use it (`user.delete_self`).
    // Action names are lowercase; PostgreSQL's LIKE, unlike SQLite's, minds case.
    let pattern = format!("{}%", action.replace('%', "").to_lowercase());
    let rows: Vec<(NaiveDateTime, Option<i64>, String, String)> = q!(conn, |c| audit_log::table
        .filter(audit_log::action.like(pattern.clone()))
        .order(audit_log::id.desc())
        .limit(limit)
        .select((
            audit_log::created_at,
            audit_log::user_id,
            audit_log::action,
            audit_log::detail
        ))
        .load(c)
        .await)?;
    let mut ids: Vec<i64> = rows.iter().filter_map(|r| r.1).collect();
    ids.sort_unstable();
    ids.dedup();
    let names: Vec<(i64, String)> = q!(conn, |c| users::table
        .filter(users::id.eq_any(ids.clone()))
        .select((users::id, users::username))
        .load(c)
        .await)?;
    Ok(rows
        .into_iter()
        .map(|(at, user, action, detail)| {
            let name = user.and_then(|u| names.iter().find(|(id, _)| *id == u).map(|(_, n)| n.clone()));
            (at, name, action, detail)
        })
        .collect())
}

/// Stores a user's TOTP state (a new secret at enrolment, or none).
pub async fn set_totp(
    conn: &mut PooledConn,
    user_id: i64,
    secret: Option<&str>,
    enabled: bool,
) -> DbResult<()> {
    q!(conn, |c| diesel::update(users::table.find(user_id))
        .set((
            users::totp_secret.eq(secret),
            users::totp_enabled.eq(enabled),
            users::totp_last_step.eq(None::<i64>),
        ))
        .execute(c)
        .await)?;
    Ok(())
}

/// Spends a TOTP step: false when it (or a later one) was used already, so
/// a code seen over a shoulder or replayed does not work twice.
pub async fn use_totp_step(conn: &mut PooledConn, user_id: i64, step: i64) -> DbResult<bool> {
    let n = q!(conn, |c| diesel::update(users::table.find(user_id).filter(
        users::totp_last_step.is_null().or(users::totp_last_step.lt(step))
    ))
    .set(users::totp_last_step.eq(Some(step)))
    .execute(c)
    .await)?;
    Ok(n == 1)
}

/// The password hash of a deleted account: no password verifies against
/// it, and it marks the account as one that cannot be enabled again.
pub const DELETED_ACCOUNT: &str = "!deleted";

/// What is left of a deleted account: a row that cannot log in, act or be
/// enabled again, and says nothing more about the person. It keeps its
/// username, so that nobody can take the name (and with it the fediverse
/// address of the deleted Person); audit entries keep their id.
pub async fn scrub_user(conn: &mut PooledConn, user_id: i64) -> DbResult<()> {
    q!(conn, |c| diesel::update(users::table.find(user_id))
        .set((
            users::email.eq(None::<String>),
            users::display_name.eq(""),
            users::role.eq("member"),
            users::password_hash.eq(DELETED_ACCOUNT),
            users::disabled.eq(true),
            users::open_to_messages.eq(false),
            users::totp_secret.eq(None::<String>),
            users::totp_enabled.eq(false),
        ))
        .execute(c)
        .await)?;
    q!(conn, |c| diesel::delete(
        api_tokens::table.filter(api_tokens::user_id.eq(user_id))
    )
    .execute(c)
    .await)?;
    q!(conn, |c| diesel::delete(
        sessions::table.filter(sessions::user_id.eq(user_id))
    )
    .execute(c)
    .await)?;
    q!(conn, |c| diesel::delete(
        password_resets::table.filter(password_resets::user_id.eq(user_id))
    )
    .execute(c)
    .await)?;
    Ok(())
}
