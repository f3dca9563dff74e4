//! Local accounts: creating them, logging in and out, sessions and API tokens.

use chrono::Duration;

use super::types::{check_password, UserRole};
use super::{Caller, Ctx, ServiceError, ServiceResult};
use crate::crypto;
use crate::db::models::{NewApiToken, NewSession, NewUser, Session, User};
use crate::db::queries::accounts as q;
use crate::db::{now, PooledConn};

/// How long a login lasts without being used again.
pub const SESSION_DAYS: i64 = 30;
/// Failed logins allowed per username, and per client address, in the window.
pub const MAX_FAILURES_PER_USER: i64 = 5;
pub const MAX_FAILURES_PER_IP: i64 = 20;
pub const FAILURE_WINDOW_MINUTES: i64 = 15;

pub struct NewAccount {
    pub username: String,
    pub email: Option<String>,
    pub display_name: String,
    pub password: String,
    pub role: UserRole,
}

/// Usernames follow the same rule as handles so that a member can later get
/// a fediverse identity with the same name.
pub fn check_username(raw: &str) -> ServiceResult<String> {
    super::types::Handle::parse("username", raw).map(|h| h.as_str().to_string())
}

pub(super) fn check_email(raw: Option<&str>) -> ServiceResult<Option<String>> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(e) if e.len() <= 254 && e.contains('@') && !e.contains(char::is_whitespace) => {
            Ok(Some(e.to_string()))
        }
        Some(_) => Err(ServiceError::invalid(
            "email",
            "Enter an email address such as name@example.org, or leave it empty.",
        )),
    }
}

/// Argon2 is deliberately slow: keep it off the async workers.
async fn hash_password(password: String) -> ServiceResult<String> {
    tokio::task::spawn_blocking(move || crypto::hash_password(&password))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?
        .map_err(ServiceError::Internal)
}

pub(crate) async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || crypto::verify_password(&password, &hash))
        .await
        .unwrap_or(false)
}

/// Inserts a user on the given connection (which may be a transaction).
pub async fn create_user_on(conn: &mut PooledConn, account: NewAccount) -> ServiceResult<User> {
    let row = new_user_row(conn, account).await?;
    insert_new_user(conn, row).await
}

/// Checks an account and hashes its password: the slow part, which only
/// reads, so that a caller can do it before taking the writer's turn.
pub(crate) async fn new_user_row(conn: &mut PooledConn, account: NewAccount) -> ServiceResult<NewUser> {
    let username = check_username(&account.username)?;
    // Members' Person actors share the handle space (and WebFinger) with
    // the co-op and the instance actor.
    if crate::db::queries::actors::find_local_by_handle(conn, &username)
        .await?
        .is_some()
    {
        return Err(ServiceError::invalid(
            "username",
            format!("{username:?} is the co-op's own handle: choose another username."),
        ));
    }
    let email = check_email(account.email.as_deref())?;
    check_password(&account.password)?;
    let display_name = account.display_name.trim().chars().take(100).collect::<String>();
    let password_hash = hash_password(account.password).await?;
    Ok(NewUser {
        username,
        email,
        display_name,
        password_hash,
        role: account.role.as_str().to_string(),
        created_at: now(),
    })
}

/// Stores what [`new_user_row`] prepared; a taken username is a conflict.
pub(crate) async fn insert_new_user(conn: &mut PooledConn, row: NewUser) -> ServiceResult<User> {
    let id = q::insert_user(conn, &row).await.map_err(|e| {
        if e.is_unique_violation() {
            let username = &row.username;
            ServiceError::Conflict(format!("The username {username:?} is taken: choose another."))
        } else {
            e.into()
        }
    })?;
    q::find_user(conn, id)
        .await?
        .ok_or_else(|| ServiceError::Internal("user vanished after insert".into()))
}

pub async fn create_user(ctx: &Ctx, account: NewAccount) -> ServiceResult<User> {
    // Hashed before the writer's turn, which the user and its audit entry
    // then take together.
    let row = {
        let mut conn = ctx.db.conn().await?;
        new_user_row(&mut conn, account).await?
    };
    let mut tx = ctx.db.begin().await?;
    let user = insert_new_user(&mut tx, row).await?;
    q::audit(&mut tx, Some(user.id), "user.create", &user.username).await?;
    tx.commit().await?;
    Ok(user)
}

pub async fn reset_password(ctx: &Ctx, username: &str, password: &str) -> ServiceResult<()> {
    check_password(password)?;
    let mut conn = ctx.db.conn().await?;
    let user = q::find_user_by_username(&mut conn, username)
        .await?
        .ok_or_else(|| {
            ServiceError::NotFound(format!(
                "There is no user {username:?}: list them with `intercoop admin list-users`."
            ))
        })?;
    // No connection is held while the password is hashed.
    drop(conn);
    let hash = hash_password(password.to_string()).await?;
    let mut tx = ctx.db.begin().await?;
    q::set_password_hash(&mut tx, user.id, &hash).await?;
    // A new password ends every open login: whoever knew the old one is out.
    q::delete_sessions_of_user(&mut tx, user.id).await?;
    q::clear_failed_logins(&mut tx, &user.username).await?;
    q::audit(&mut tx, Some(user.id), "user.reset_password", "").await?;
    tx.commit().await?;
    Ok(())
}

pub async fn list_users(ctx: &Ctx) -> ServiceResult<Vec<User>> {
    let mut conn = ctx.db.conn().await?;
    Ok(q::list_users(&mut conn).await?)
}

/// A new login: the plain session token for the cookie, and its CSRF token.
pub struct LoggedIn {
    pub user: User,
    pub session_token: String,
    pub csrf_token: String,
}

/// Creates a session for a user whose identity is already proven.
pub async fn start_session(conn: &mut PooledConn, user: User) -> ServiceResult<LoggedIn> {
    let session_token = crypto::random_token();
    let csrf_token = crypto::random_token();
    let created_at = now();
    q::insert_session(
        conn,
        &NewSession {
            token_hash: crypto::token_hash(&session_token),
            user_id: user.id,
            csrf_token: csrf_token.clone(),
            created_at,
            expires_at: created_at + Duration::days(SESSION_DAYS),
        },
    )
    .await?;
    q::touch_last_login(conn, user.id).await?;
    Ok(LoggedIn {
        user,
        session_token,
        csrf_token,
    })
}

/// Checks a username and password, within the rate limit.
/// Logs in with a password and, for an account with two-factor
/// authentication, the code of the moment (`code`; without it the answer
/// asks for it, field `code`). A wrong code counts as a failed login.
pub async fn log_in(
    ctx: &Ctx,
    username: &str,
    password: &str,
    code: Option<&str>,
    client_ip: &str,
) -> ServiceResult<LoggedIn> {
    let username = username.trim().trim_start_matches('@').to_ascii_lowercase();
    let since = now() - Duration::minutes(FAILURE_WINDOW_MINUTES);
    // The attempt is recorded before the password is checked (and cleared
    // only on success), so that concurrent guesses all count against each
    // other: none can slip through between a count and a record.
    {
        let mut conn = ctx.db.write().await?;
        q::record_failed_login(&mut conn, &username, client_ip).await?;
    }
    // No connection is held while the password is verified.
    let user = {
        let mut conn = ctx.db.conn().await?;
        let (by_user, by_ip) = q::count_failed_logins(&mut conn, &username, client_ip, since).await?;
        if by_user > MAX_FAILURES_PER_USER || by_ip > MAX_FAILURES_PER_IP {
            tracing::warn!(%username, %client_ip, by_user, by_ip, "login refused: too many failed attempts");
            return Err(ServiceError::RateLimited(format!(
                "Too many failed logins. Wait {FAILURE_WINDOW_MINUTES} minutes and try again, or ask an admin to reset your password."
            )));
        }
        q::find_user_by_username(&mut conn, &username).await?
    };
    // Verify against a real hash when the user is unknown, so that timing does
    // not tell which usernames exist.
    static UNKNOWN_USER_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let stored = match &user {
        Some(u) => u.password_hash.clone(),
        None => UNKNOWN_USER_HASH
            .get_or_init(|| crypto::hash_password("no such user").unwrap_or_default())
            .clone(),
    };
    let ok = verify_password(password.to_string(), stored).await;
    match user {
        Some(user) if ok && !user.disabled => {
            let code = code.map(str::trim).filter(|c| !c.is_empty());
            if user.totp_enabled && code.is_none() {
                // The attempt stays counted until a full success: clearing
                // here would let someone with the password guess codes forever.
                return Err(ServiceError::invalid(
                    "code",
                    "Enter the 6-digit code from your authenticator app, with your password.",
                ));
            }
            let mut conn = ctx.db.write().await?;
            if let Some(code) = code.filter(|_| user.totp_enabled) {
                if !spend_totp(&mut conn, &user, code).await? {
                    tracing::info!(user = %user.username, %client_ip, "login failed: wrong or used two-factor code");
                    return Err(ServiceError::Unauthorized(
                        "That code is wrong or was used already. Wait for the next code from your app and try again."
                            .into(),
                    ));
                }
            }
            q::clear_failed_logins(&mut conn, &username).await?;
            let logged_in = start_session(&mut conn, user).await?;
            tracing::info!(user = %logged_in.user.username, "logged in");
            Ok(logged_in)
        }
        Some(user) if ok => {
            let mut conn = ctx.db.write().await?;
            q::clear_failed_logins(&mut conn, &username).await?;
            tracing::info!(user = %user.username, "login refused: account disabled");
            Err(ServiceError::Forbidden(
                "This account is disabled. Ask an admin of the co-op.".into(),
            ))
        }
        _ => {
            tracing::info!(%username, %client_ip, "login failed: wrong username or password");
            Err(ServiceError::Unauthorized(
                "Wrong username or password. Check both and try again.".into(),
            ))
        }
    }
}

pub enum SessionCheck {
    Valid(Box<(User, Session)>),
    Expired,
    Unknown,
}

/// Looks up the session behind a cookie. An expired session is deleted.
pub async fn check_session(ctx: &Ctx, session_token: &str) -> ServiceResult<SessionCheck> {
    let mut conn = ctx.db.conn().await?;
    let hash = crypto::token_hash(session_token);
    let Some(session) = q::find_session(&mut conn, &hash).await? else {
        return Ok(SessionCheck::Unknown);
    };
    if session.expires_at <= now() {
        drop(conn);
        let mut conn = ctx.db.write().await?;
        q::delete_session(&mut conn, &hash).await?;
        return Ok(SessionCheck::Expired);
    }
    match q::find_user(&mut conn, session.user_id).await? {
        Some(mut user) if !user.disabled => {
            enforce_admin_totp(&mut conn, &mut user).await?;
            Ok(SessionCheck::Valid(Box::new((user, session))))
        }
        _ => Ok(SessionCheck::Unknown),
    }
}

/// Once the co-op requires two-factor authentication of admins, an admin
/// without it acts as a member (the account page says why and sets it up):
/// a stolen admin password alone then opens nothing an admin can do.
async fn enforce_admin_totp(conn: &mut PooledConn, user: &mut User) -> ServiceResult<()> {
    if lacks_required_totp(conn, user).await? {
        user.role = UserRole::Member.as_str().to_string();
    }
    Ok(())
}

/// An admin without two-factor authentication while the co-op requires it.
async fn lacks_required_totp(conn: &mut PooledConn, user: &User) -> ServiceResult<bool> {
    Ok(user.role == UserRole::Admin.as_str()
        && !user.totp_enabled
        && crate::db::queries::instance::get_or_create(conn)
            .await?
            .require_admin_totp)
}

/// Whether an account acts below its role until it sets up two-factor
/// authentication.
pub async fn admin_needs_totp(ctx: &Ctx, user_id: i64) -> ServiceResult<bool> {
    let mut conn = ctx.db.conn().await?;
    let Some(user) = q::find_user(&mut conn, user_id).await? else {
        return Ok(false);
    };
    lacks_required_totp(&mut conn, &user).await
}

async fn spend_totp(conn: &mut PooledConn, user: &User, code: &str) -> ServiceResult<bool> {
    let Some(secret) = &user.totp_secret else {
        return Ok(false);
    };
    let unix = chrono::Utc::now().timestamp().max(0) as u64;
    match crypto::totp_check(secret, code, unix) {
        Some(step) => Ok(q::use_totp_step(conn, user.id, step as i64).await?),
        None => Ok(false),
    }
}

/// Starts enrolment: a new secret (shown once, as text and as an
/// `otpauth://` address for the app), which counts after `totp_confirm`.
pub async fn totp_begin(
    ctx: &Ctx,
    user: &User,
    password: &str,
    issuer: &str,
) -> ServiceResult<(String, String)> {
    if user.totp_enabled {
        return Err(ServiceError::Conflict(
            "Two-factor authentication is already on. Turn it off first to set up a new app.".into(),
        ));
    }
    // A stolen session alone must not be able to lock the owner out.
    if !verify_password(password.to_string(), user.password_hash.clone()).await {
        return Err(ServiceError::Conflict(
            "The password is wrong: type your current password to set it up.".into(),
        ));
    }
    let secret = crypto::totp_secret();
    let mut conn = ctx.db.write().await?;
    q::set_totp(&mut conn, user.id, Some(&secret), false).await?;
    let label = super::text::percent_encode(&format!("{issuer}:{}", user.username));
    let uri = format!(
        "otpauth://totp/{label}?secret={secret}&issuer={}&algorithm=SHA1&digits=6&period=30",
        super::text::percent_encode(issuer)
    );
    Ok((secret, uri))
}

/// Turns two-factor authentication on once a code from the new secret is right.
pub async fn totp_confirm(ctx: &Ctx, user_id: i64, code: &str) -> ServiceResult<()> {
    let mut tx = ctx.db.begin().await?;
    let user = q::find_user(&mut tx, user_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("There is no such user.".into()))?;
    if user.totp_secret.is_none() || user.totp_enabled {
        return Err(ServiceError::Conflict(
            "Start the setup again: there is no new secret waiting for a code.".into(),
        ));
    }
    let secret = user.totp_secret.clone().unwrap_or_default();
    q::set_totp(&mut tx, user.id, Some(&secret), true).await?;
    if !spend_totp(&mut tx, &user, code).await? {
        return Err(ServiceError::invalid(
            "code",
            "That code does not match: check the phone's time, then type the code your app shows now.",
        ));
    }
    q::audit(&mut tx, Some(user.id), "user.totp_on", &user.username).await?;
    tx.commit().await?;
    Ok(())
}

/// Turns it off, with the password and a current code.
pub async fn totp_disable(ctx: &Ctx, user_id: i64, password: &str, code: &str) -> ServiceResult<()> {
    // The password is checked before the transaction: the writers queued
    // behind it (and those committing with it) would wait for argon2.
    let hash = q::find_user(&mut ctx.db.conn().await?, user_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("There is no such user.".into()))?
        .password_hash;
    let password_ok = verify_password(password.to_string(), hash.clone()).await;
    let mut tx = ctx.db.begin().await?;
    let user = q::find_user(&mut tx, user_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("There is no such user.".into()))?;
    if !user.totp_enabled {
        return Ok(());
    }
    let required = crate::db::queries::instance::get_or_create(&mut tx)
        .await?
        .require_admin_totp;
    if required && user.role == UserRole::Admin.as_str() {
        return Err(ServiceError::Conflict(
            "The co-op requires two-factor authentication of admins: it stays on for your account.".into(),
        ));
    }
    // A password changed in between is checked against the new hash.
    if !password_ok || user.password_hash != hash {
        return Err(ServiceError::invalid("password", "The password is wrong."));
    }
    if !spend_totp(&mut tx, &user, code).await? {
        return Err(ServiceError::invalid(
            "code",
            "That code is wrong or was used already.",
        ));
    }
    q::set_totp(&mut tx, user.id, None, false).await?;
    q::audit(&mut tx, Some(user.id), "user.totp_off", &user.username).await?;
    tx.commit().await?;
    Ok(())
}

/// The co-op's rule: admins must use two-factor authentication. The admin
/// who turns it on must use it already, or they would lose admin at once.
pub async fn set_require_admin_totp(ctx: &Ctx, caller: &Caller, on: bool) -> ServiceResult<()> {
    let by = caller.require(UserRole::Admin)?;
    let mut tx = ctx.db.begin().await?;
    let me = q::find_user(&mut tx, by)
        .await?
        .ok_or_else(|| ServiceError::NotFound("There is no such user.".into()))?;
    if on && !me.totp_enabled {
        return Err(ServiceError::Conflict(
            "Set up two-factor authentication on your own account first (Account page), then require it of admins."
                .into(),
        ));
    }
    crate::db::queries::instance::set_require_admin_totp(&mut tx, on).await?;
    q::audit(
        &mut tx,
        Some(by),
        "settings.require_admin_totp",
        if on { "on" } else { "off" },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn log_out(ctx: &Ctx, session_token: &str) -> ServiceResult<()> {
    let mut conn = ctx.db.write().await?;
    q::delete_session(&mut conn, &crypto::token_hash(session_token)).await?;
    Ok(())
}

pub async fn delete_expired_sessions(ctx: &Ctx) -> ServiceResult<usize> {
    let mut conn = ctx.db.write().await?;
    Ok(q::delete_expired_sessions(&mut conn, now()).await?)
}

/// API tokens carry a prefix so that a leaked one is easy to recognise in logs
/// and by secret scanners.
pub const API_TOKEN_PREFIX: &str = "icp_";

/// Creates an API token for a user; the plain token is returned once.
pub async fn create_api_token(ctx: &Ctx, username: &str, name: &str) -> ServiceResult<String> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(ServiceError::invalid(
            "name",
            "Give the token a name of 1 to 100 characters, such as the app that will use it.",
        ));
    }
    let mut tx = ctx.db.begin().await?;
    let user = q::find_user_by_username(&mut tx, username)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("There is no user {username:?}.")))?;
    let token = format!("{API_TOKEN_PREFIX}{}", crypto::random_token());
    q::insert_api_token(
        &mut tx,
        &NewApiToken {
            user_id: user.id,
            name: name.to_string(),
            token_hash: crypto::token_hash(&token),
            created_at: now(),
        },
    )
    .await?;
    q::audit(&mut tx, Some(user.id), "api_token.create", name).await?;
    tx.commit().await?;
    Ok(token)
}

/// The user behind a bearer token, if the token is valid and not revoked.
pub async fn authenticate_token(ctx: &Ctx, token: &str) -> ServiceResult<Option<User>> {
    let mut conn = ctx.db.conn().await?;
    let Some(row) = q::find_api_token(&mut conn, &crypto::token_hash(token)).await? else {
        return Ok(None);
    };
    let user = match q::find_user(&mut conn, row.user_id)
        .await?
        .filter(|u| !u.disabled)
    {
        Some(mut user) => {
            enforce_admin_totp(&mut conn, &mut user).await?;
            Some(user)
        }
        None => None,
    };
    // Given back before queueing for the turn: connections held by tasks
    // waiting in that queue could leave none for the writer ahead of them.
    drop(conn);
    // Only a real token's last use is written, in the writers' queue: an
    // unknown token takes no turn from the inbox's writes.
    let mut write = ctx.db.write().await?;
    q::touch_api_token(&mut write, row.id).await?;
    Ok(user)
}

// ---------------------------------------------------------------- a person's own account

/// Changes one's password: the current one must be right. Every other
/// session ends (whoever knew the old password is out); this one stays.
pub async fn change_password(
    ctx: &Ctx,
    user: &User,
    current_session_id: i64,
    current: &str,
    new: &str,
    confirm: &str,
) -> ServiceResult<()> {
    if !verify_password(current.to_string(), user.password_hash.clone()).await {
        return Err(ServiceError::invalid(
            "current_password",
            "The current password is not right: type the one you log in with now.",
        ));
    }
    if new != confirm {
        return Err(ServiceError::invalid(
            "password_confirm",
            "The two new passwords differ: type the same password twice.",
        ));
    }
    check_password(new)?;
    let hash = hash_password(new.to_string()).await?;
    let mut tx = ctx.db.begin().await?;
    q::set_password_hash(&mut tx, user.id, &hash).await?;
    q::delete_other_sessions(&mut tx, user.id, current_session_id).await?;
    // A link handed out before no longer resets the new password.
    q::delete_password_resets(&mut tx, user.id).await?;
    q::audit(&mut tx, Some(user.id), "user.change_password", "").await?;
    tx.commit().await?;
    Ok(())
}

pub async fn set_display_name(ctx: &Ctx, user: &User, name: &str) -> ServiceResult<()> {
    let name = name.trim();
    if name.chars().count() > 100 {
        return Err(ServiceError::invalid(
            "display_name",
            "Keep the display name under 100 characters.",
        ));
    }
    let mut conn = ctx.db.write().await?;
    q::set_display_name(&mut conn, user.id, name).await?;
    Ok(())
}

pub async fn list_sessions(ctx: &Ctx, user: &User) -> ServiceResult<Vec<crate::db::models::Session>> {
    let mut conn = ctx.db.conn().await?;
    Ok(q::list_sessions(&mut conn, user.id).await?)
}

/// Ends one of one's sessions (another device), or all but this one.
pub async fn end_session(ctx: &Ctx, user: &User, session_id: i64) -> ServiceResult<()> {
    let mut conn = ctx.db.write().await?;
    if q::delete_session_of_user(&mut conn, user.id, session_id).await? == 0 {
        return Err(ServiceError::NotFound("That session has already ended.".into()));
    }
    Ok(())
}

pub async fn end_other_sessions(ctx: &Ctx, user: &User, current_session_id: i64) -> ServiceResult<usize> {
    let mut tx = ctx.db.begin().await?;
    let n = q::delete_other_sessions(&mut tx, user.id, current_session_id).await?;
    q::audit(&mut tx, Some(user.id), "user.end_sessions", &n.to_string()).await?;
    tx.commit().await?;
    Ok(n)
}

// ---------------------------------------------------------------- admins managing users

/// How long a one-time password link works.
pub const RESET_LINK_HOURS: i64 = 72;

pub async fn find_user(ctx: &Ctx, id: i64) -> ServiceResult<User> {
    let mut conn = ctx.db.conn().await?;
    q::find_user(&mut conn, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("There is no such user.".into()))
}

/// A new one-time password link for a user; the plain token is returned once
/// and only its hash is stored.
async fn issue_reset_link(conn: &mut PooledConn, user_id: i64) -> ServiceResult<String> {
    // Only the newest link works.
    q::delete_password_resets(conn, user_id).await?;
    let token = crypto::random_token();
    q::insert_password_reset(
        conn,
        user_id,
        &crypto::token_hash(&token),
        now() + Duration::hours(RESET_LINK_HOURS),
    )
    .await?;
    Ok(token)
}

/// An admin creates an account; the person sets their own password with the
/// returned one-time link token.
pub async fn admin_create_user(
    ctx: &Ctx,
    by: &Caller,
    username: &str,
    email: &str,
    role: UserRole,
) -> ServiceResult<(User, String)> {
    let by = by.require(UserRole::Admin)?;
    // Hashed before the transaction, as in `create_user`.
    let row = new_user_row(
        &mut ctx.db.conn().await?,
        NewAccount {
            username: username.to_string(),
            email: Some(email.to_string()),
            display_name: String::new(),
            // Nobody knows it: the person chooses theirs through the link.
            password: crypto::random_token(),
            role,
        },
    )
    .await?;
    let mut tx = ctx.db.begin().await?;
    let user = insert_new_user(&mut tx, row).await?;
    let token = issue_reset_link(&mut tx, user.id).await?;
    q::audit(&mut tx, Some(by), "user.create", &user.username).await?;
    tx.commit().await?;
    Ok((user, token))
}

/// Changes a user's role; the last active admin stays admin.
pub async fn admin_set_role(ctx: &Ctx, by: &Caller, user_id: i64, role: UserRole) -> ServiceResult<User> {
    let by = by.require(UserRole::Admin)?;
    let mut tx = ctx.db.begin().await?;
    let user = q::find_user(&mut tx, user_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("There is no such user.".into()))?;
    let demoting_admin = UserRole::from_db(&user.role) == UserRole::Admin && role != UserRole::Admin;
    if demoting_admin && !user.disabled && q::count_active_admins(&mut tx).await? <= 1 {
        return Err(ServiceError::invalid(
            "role",
            "This is the co-op's only admin: make someone else admin first.",
        ));
    }
    q::set_role(&mut tx, user_id, role.as_str()).await?;
    q::audit(
        &mut tx,
        Some(by),
        "user.role",
        &format!("{} {}", user.username, role.as_str()),
    )
    .await?;
    tx.commit().await?;
    find_user(ctx, user_id).await
}

/// Deactivates (its sessions end, it cannot log in) or reactivates an account.
pub async fn admin_set_disabled(ctx: &Ctx, by: &Caller, user_id: i64, disabled: bool) -> ServiceResult<User> {
    let by = by.require(UserRole::Admin)?;
    if disabled && by == user_id {
        return Err(ServiceError::invalid(
            "user",
            "You cannot deactivate your own account: ask another admin.",
        ));
    }
    let mut tx = ctx.db.begin().await?;
    let user = q::find_user(&mut tx, user_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("There is no such user.".into()))?;
    if disabled
        && UserRole::from_db(&user.role) == UserRole::Admin
        && !user.disabled
        && q::count_active_admins(&mut tx).await? <= 1
    {
        return Err(ServiceError::invalid(
            "user",
            "This is the co-op's only admin: it cannot be deactivated.",
        ));
    }
    if !disabled && user.password_hash == q::DELETED_ACCOUNT {
        return Err(ServiceError::invalid(
            "user",
            "This account was deleted by its owner: it cannot be used again.",
        ));
    }
    q::set_disabled(&mut tx, user_id, disabled).await?;
    if disabled {
        q::delete_sessions_of_user(&mut tx, user_id).await?;
    }
    q::audit(
        &mut tx,
        Some(by),
        if disabled { "user.disable" } else { "user.enable" },
        &user.username,
    )
    .await?;
    tx.commit().await?;
    find_user(ctx, user_id).await
}

/// A one-time link for a user to set a new password (the old one keeps
/// working until the link is used).
pub async fn admin_reset_link(ctx: &Ctx, by: &Caller, user_id: i64) -> ServiceResult<String> {
    let by = by.require(UserRole::Admin)?;
    let user = find_user(ctx, user_id).await?;
    if user.password_hash == q::DELETED_ACCOUNT {
        return Err(ServiceError::Conflict(
            "This account was deleted by its owner: it cannot be used again.".into(),
        ));
    }
    // Together: the old links go only if the new one is stored.
    let mut tx = ctx.db.begin().await?;
    let token = issue_reset_link(&mut tx, user.id).await?;
    q::audit(&mut tx, Some(by), "user.reset_link", &user.username).await?;
    tx.commit().await?;
    Ok(token)
}

/// "Forgot your password?": a reset link goes by email to the address on
/// the register record of the account named (by username or address).
/// The answer is the same whether or not such an account exists.
pub async fn request_reset(ctx: &Ctx, who: &str) -> ServiceResult<()> {
    if !super::mail::configured(&ctx.config) {
        return Err(super::mail::not_configured());
    }
    let who = who.trim();
    if who.is_empty() {
        return Err(ServiceError::invalid(
            "account",
            "Write your username or your email address.",
        ));
    }
    let mut tx = ctx.db.begin().await?;
    let users: Vec<(i64, Option<String>)> = if who.contains('@') {
        let email = who.to_lowercase();
        crate::db::queries::mail::users_with_address(&mut tx, &email)
            .await?
            .into_iter()
            .map(|(id, _)| (id, Some(email.clone())))
            .collect()
    } else {
        match q::find_user_by_username(&mut tx, &who.to_lowercase()).await? {
            Some(u) if !u.disabled => vec![(
                u.id,
                crate::db::queries::mail::address_of_user(&mut tx, u.id).await?,
            )],
            _ => Vec::new(),
        }
    };
    for (user_id, email) in users {
        let Some(email) = email else { continue };
        let Some(user) = q::find_user(&mut tx, user_id).await? else {
            continue;
        };
        if user.disabled || user.password_hash == q::DELETED_ACCOUNT {
            continue;
        }
        // Added beside earlier links, not instead of them: a stranger who
        // knows the username must not cancel a link an admin handed over.
        let token = crypto::random_token();
        q::insert_password_reset(
            &mut tx,
            user.id,
            &crypto::token_hash(&token),
            now() + Duration::hours(RESET_LINK_HOURS),
        )
        .await?;
        let link = ctx.config.url(&format!("/reset?token={token}"));
        let body = format!(
            "Someone, hopefully you, asked to choose a new password for the account {} at {}.\n\n\
             Open this link to choose it (it works once, for {RESET_LINK_HOURS} hours):\n{link}\n\n\
             If it was not you, ignore this mail: your password stays as it is.\n",
            user.username,
            ctx.config.domain()
        );
        super::mail::queue(
            &mut tx,
            &ctx.config,
            super::mail::MailKind::PasswordReset,
            &email,
            "Choose a new password",
            &body,
        )
        .await?;
        q::audit(&mut tx, Some(user.id), "user.reset_requested", "").await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The account a reset link is for, if it still works.
pub async fn reset_link_user(ctx: &Ctx, token: &str) -> ServiceResult<Option<User>> {
    let mut conn = ctx.db.conn().await?;
    match q::password_reset_valid(&mut conn, &crypto::token_hash(token)).await? {
        Some(id) => Ok(q::find_user(&mut conn, id).await?.filter(|u| !u.disabled)),
        None => Ok(None),
    }
}

/// Sets a password through a one-time link and logs the person in.
pub async fn use_reset_link(
    ctx: &Ctx,
    token: &str,
    password: &str,
    confirm: &str,
) -> ServiceResult<LoggedIn> {
    if password != confirm {
        return Err(ServiceError::invalid(
            "password_confirm",
            "The two passwords differ: type the same password twice.",
        ));
    }
    check_password(password)?;
    // The (cheap) link check before the (slow) hash: junk tokens cost nothing.
    if reset_link_user(ctx, token).await?.is_none() {
        return Err(ServiceError::NotFound(
            "This link has expired or was already used: ask an admin of the co-op for a new one.".into(),
        ));
    }
    let hash = hash_password(password.to_string()).await?;
    let mut tx = ctx.db.begin().await?;
    let Some(user_id) = q::use_password_reset(&mut tx, &crypto::token_hash(token)).await? else {
        return Err(ServiceError::NotFound(
            "This link has expired or was already used: ask an admin of the co-op for a new one.".into(),
        ));
    };
    let user = q::find_user(&mut tx, user_id)
        .await?
        .filter(|u| !u.disabled)
        .ok_or_else(|| ServiceError::Forbidden("This account is deactivated.".into()))?;
    q::set_password_hash(&mut tx, user.id, &hash).await?;
    q::delete_sessions_of_user(&mut tx, user.id).await?;
    q::delete_password_resets(&mut tx, user.id).await?;
    q::clear_failed_logins(&mut tx, &user.username).await?;
    q::audit(&mut tx, Some(user.id), "user.set_password", "").await?;
    let user = q::find_user(&mut tx, user_id)
        .await?
        .ok_or_else(|| ServiceError::Internal("user vanished".into()))?;
    if user.totp_enabled {
        // A reset link is no second factor: the login asks for the code.
        tx.commit().await?;
        return Err(ServiceError::Conflict(
            "Your password is changed. Log in with it and the code from your authenticator app.".into(),
        ));
    }
    let logged_in = start_session(&mut tx, user).await?;
    tx.commit().await?;
    Ok(logged_in)
}

// ---------------------------------------------------------------- API tokens from the CLI

/// Active tokens with their owner, for `intercoop admin list-tokens`.
pub async fn list_tokens(
    ctx: &Ctx,
    username: Option<&str>,
) -> ServiceResult<Vec<(crate::db::models::ApiToken, String)>> {
    let mut conn = ctx.db.conn().await?;
    let mut out = Vec::new();
    for user in q::list_users(&mut conn).await? {
        if username.is_some_and(|u| u != user.username) {
            continue;
        }
        for token in q::list_api_tokens(&mut conn, user.id).await? {
            out.push((token, user.username.clone()));
        }
    }
    Ok(out)
}

/// Revokes a token by id; it stops working at once.
pub async fn revoke_token(ctx: &Ctx, token_id: i64) -> ServiceResult<String> {
    let tokens = list_tokens(ctx, None).await?;
    let Some((token, owner)) = tokens.into_iter().find(|(t, _)| t.id == token_id) else {
        return Err(ServiceError::NotFound(format!(
            "There is no active token {token_id}: see `intercoop admin list-tokens`."
        )));
    };
    let mut tx = ctx.db.begin().await?;
    q::revoke_api_token(&mut tx, token.user_id, token.id).await?;
    q::audit(&mut tx, Some(token.user_id), "api_token.revoke", &token.name).await?;
    tx.commit().await?;
    Ok(format!("{} ({owner})", token.name))
}

/// One line of the audit log: when, by whom (None: the instance itself, as
/// a ballot's close), what, and about what.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditEntry {
    pub at: chrono::NaiveDateTime,
    pub by: Option<String>,
    pub action: String,
    pub detail: String,
}

/// The audit log for admins, newest first; `action` is a prefix filter.
pub async fn audit_log(
    ctx: &Ctx,
    caller: &Caller,
    action: &str,
    limit: i64,
) -> ServiceResult<Vec<AuditEntry>> {
    caller.require(UserRole::Admin)?;
    let mut conn = ctx.db.conn().await?;
    Ok(
        q::audit_entries(&mut conn, action.trim(), limit.clamp(1, 100_000))
            .await?
            .into_iter()
            .map(|(at, by, action, detail)| AuditEntry {
                at,
                by,
                action,
                detail,
            })
            .collect(),
    )
}

/// The audit log as CSV (RFC 4180), for the co-op's records.
pub fn audit_csv(entries: &[AuditEntry]) -> String {
    let f = super::text::csv_field;
    let mut out = String::from("at,by,action,detail\r\n");
    for e in entries {
        out.push_str(&format!(
            "{},{},{},{}\r\n",
            e.at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            f(e.by.as_deref().unwrap_or("")),
            f(&e.action),
            f(&e.detail),
        ));
    }
    out
}
