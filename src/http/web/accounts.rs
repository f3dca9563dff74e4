//! Accounts on the web: one's own account page (display name, password,
//! sessions, linked fediverse accounts), the admins' user management (add with a one-time password
//! link, change role, deactivate, new password link), and the page where a
//! one-time link sets a password.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::{back, deny, gate, url_encode, ConfirmPage, Layout, Page, WebForm};
use crate::db::models::User;
use crate::http::auth::Visitor;
use crate::http::error::AppError;
use crate::http::AppState;
use crate::i18n::Tr;
use crate::service::accounts as acc;
use crate::service::types::UserRole;
use crate::service::{coop, member_links, ServiceError};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account", get(account_page))
        .route("/account/profile", post(save_profile))
        .route("/account/password", post(change_password))
        .route("/account/export", get(export_data))
        .route("/account/delete", post(delete_account))
        .route("/account/2fa", get(two_factor_page))
        .route("/account/2fa/start", post(two_factor_start))
        .route("/account/2fa/confirm", post(two_factor_confirm))
        .route("/account/2fa/disable", post(two_factor_disable))
        .route("/admin/users/require-2fa", post(require_two_factor))
        .route("/account/sessions/{id}/end", post(end_session))
        .route("/account/sessions/end-others", post(end_others))
        .route("/account/links", post(add_link))
        .route("/account/directory", post(save_directory))
        .route("/account/email", post(save_email))
        .route("/account/links/{id}/confirm", post(confirm_link))
        .route("/account/links/{id}/delete", post(remove_link))
        .route("/admin/users", get(users_page).post(create_user))
        .route("/admin/audit", get(audit_page))
        .route("/admin/audit.csv", get(audit_export))
        .route("/admin/users/{id}/role", post(set_role))
        .route("/admin/users/{id}/disable", post(disable))
        .route("/admin/users/{id}/enable", post(enable))
        .route("/admin/users/{id}/reset", post(reset_link))
        .route("/reset", get(reset_page).post(reset_submit))
        .route("/login/forgot", get(forgot_page).post(forgot_submit))
}

#[derive(Template)]
#[template(path = "forgot.html")]
struct ForgotPage {
    t: Tr,
    l: Layout,
    notice: Option<String>,
    error: Option<String>,
}
impl Page for ForgotPage {}

async fn forgot_form(
    state: &AppState,
    v: Visitor,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let coop = coop::get_coop(&state.ctx).await?;
    let l = Layout::for_visitor(state, &v, v.t.get("login.forgot"), coop.as_ref());
    Ok(ForgotPage {
        notice,
        error,
        t: v.t,
        l,
    }
    .respond(status))
}

async fn forgot_page(State(state): State<AppState>, v: Visitor) -> Result<Response, AppError> {
    forgot_form(&state, v, None, None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct ForgotForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    account: String,
}

async fn forgot_submit(
    State(state): State<AppState>,
    v: Visitor,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
    WebForm(f): WebForm<ForgotForm>,
) -> Result<Response, AppError> {
    v.check_csrf(&f.csrf)?;
    // Each request may send a mail: a few per minute per address.
    let ip = crate::http::client_ip(&state, &headers, Some(peer));
    if let Err(wait) =
        state
            .federation
            .follow_form_rates
            .check(&format!("forgot {ip}"), 5, chrono::Utc::now().timestamp())
    {
        return Err(AppError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("Too many requests from your address. Wait {wait} seconds and try again."),
        ));
    }
    match acc::request_reset(&state.ctx, &f.account).await {
        Ok(()) => {
            let sent = v.t.get("login.forgot_sent").to_string();
            forgot_form(&state, v, Some(sent), None, StatusCode::OK).await
        }
        Err(ServiceError::Invalid { message, .. }) => {
            forgot_form(&state, v, None, Some(message), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

// ---------------------------------------------------------------- one's own account

/// A linked fediverse account on the account page.
pub(crate) struct LinkRow {
    pub id: i64,
    pub handle: String,
    pub profile: String,
    pub verified: bool,
    /// While its code works: until when (UTC).
    pub waiting_until: Option<String>,
}

impl LinkRow {
    pub(crate) fn of(l: &crate::service::member_links::Link) -> LinkRow {
        LinkRow {
            id: l.id,
            handle: l.handle(),
            profile: l.actor.url.clone().unwrap_or_else(|| l.actor.ap_id.clone()),
            verified: l.status() == "verified",
            waiting_until: l
                .code_expires_at
                .filter(|_| l.status() == "waiting")
                .map(|at| at.format("%H:%M UTC").to_string()),
        }
    }
}

struct SessionRow {
    id: i64,
    started: String,
    started_iso: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    t: Tr,
    l: Layout,
    notice: Option<String>,
    username: String,
    role: String,
    display_name: String,
    sessions: Vec<SessionRow>,
    /// The member's linked fediverse accounts; None without a record in
    /// the register.
    links: Option<Vec<LinkRow>>,
    /// What the member shows in the directory; None without a record.
    directory: Option<Vec<String>>,
    /// The address typed in the link form, kept when it is refused.
    link_address: String,
    /// (field, message): shown next to the field it is about.
    errors: Vec<(&'static str, String)>,
    /// This server sends mail.
    mail: bool,
    /// The member gets the newsletter; None without an address on record.
    newsletter: Option<bool>,
    /// (kind, its label, chosen by email)
    notices: Vec<(&'static str, String, bool)>,
    /// Accounts the member blocks or mutes: (actor, kind).
    blocks: Vec<(crate::db::models::Actor, String)>,
}
impl Page for AccountPage {}

impl AccountPage {
    fn field_error(&self, field: &str) -> Option<String> {
        super::field_messages(&self.errors, field)
    }
    fn directory_fields(&self) -> [&'static str; 4] {
        crate::service::members::DIRECTORY_FIELDS
    }
    fn shows(&self, shown: &[String], field: &str) -> bool {
        shown.iter().any(|s| s == field)
    }
}

/// The logged-in user, or the response that sends a visitor to log in.
fn signed_in(v: &Visitor, here: &str) -> Result<(User, i64), Box<Response>> {
    if let Some(r) = deny(v, UserRole::Member, here) {
        return Err(Box::new(r));
    }
    match (&v.user, &v.session) {
        (Some(u), Some(s)) => Ok((u.clone(), s.id)),
        _ => Err(Box::new(Redirect::to("/login").into_response())),
    }
}

async fn render_account(
    state: &AppState,
    v: Visitor,
    notice: Option<String>,
    errors: Vec<(&'static str, String)>,
) -> Result<Response, AppError> {
    render_account_with(state, v, notice, errors, String::new()).await
}

async fn render_account_with(
    state: &AppState,
    v: Visitor,
    notice: Option<String>,
    errors: Vec<(&'static str, String)>,
    link_address: String,
) -> Result<Response, AppError> {
    let (user, current) = match signed_in(&v, "/account") {
        Ok(x) => x,
        Err(r) => return Ok(*r),
    };
    let sessions = acc::list_sessions(&state.ctx, &user)
        .await?
        .into_iter()
        .map(|s| SessionRow {
            id: s.id,
            started: s.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            started_iso: s.created_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            current: s.id == current,
        })
        .collect();
    let links = match member_links::links(&state.ctx, &v.caller(), None).await {
        Ok(list) => Some(list.iter().map(LinkRow::of).collect()),
        Err(ServiceError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let directory = crate::service::members::own_directory(&state.ctx, &v.caller()).await?;
    let newsletter = crate::service::newsletter::member_choice(&state.ctx, &v.caller()).await?;
    let chosen = crate::service::notifications::email_kinds(&state.ctx, &v.caller()).await?;
    let notices = crate::service::notifications::NoticeKind::ALL
        .into_iter()
        .map(|k| {
            let label = v.t.get(&format!("notifications.kind_{}", k.as_str())).to_string();
            (k.as_str(), label, chosen.contains(&k))
        })
        .collect();
    let blocks = crate::service::notifications::blocked(&state.ctx, &v.caller()).await?;
    let coop = coop::get_coop(&state.ctx).await?;
    let l = Layout::for_visitor(state, &v, v.t.get("account.title"), coop.as_ref());
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(AccountPage {
        t: v.t,
        l,
        notice,
        username: user.username,
        role: user.role,
        display_name: user.display_name,
        sessions,
        links,
        directory,
        link_address,
        errors,
        mail: crate::service::mail::configured(&state.ctx.config),
        newsletter,
        notices,
        blocks,
    }
    .respond(status))
}

#[derive(Deserialize)]
struct EmailForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    newsletter: bool,
    #[serde(default)]
    notice_message: bool,
    #[serde(default)]
    notice_reply: bool,
    #[serde(default)]
    notice_mention: bool,
    #[serde(default)]
    notice_rsvp: bool,
    #[serde(default)]
    notice_application: bool,
}

async fn save_email(
    State(state): State<AppState>,
    v: Visitor,
    WebForm(f): WebForm<EmailForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Member, "/account", &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let kinds: Vec<String> = [
        (f.notice_message, "message"),
        (f.notice_reply, "reply"),
        (f.notice_mention, "mention"),
        (f.notice_rsvp, "rsvp"),
        (f.notice_application, "application"),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .map(|(_, k)| k.to_string())
    .collect();
    crate::service::notifications::set_email_kinds(&state.ctx, &caller, &kinds).await?;
    if crate::service::newsletter::member_choice(&state.ctx, &caller)
        .await?
        .is_some()
    {
        crate::service::newsletter::set_member_choice(&state.ctx, &caller, f.newsletter).await?;
    }
    Ok(back("/account", v.t.get("notifications.saved")))
}

async fn account_page(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<Done>,
) -> Result<Response, AppError> {
    render_account(&state, v, q.done, Vec::new()).await
}

#[derive(Deserialize)]
struct ProfileForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    display_name: String,
}

async fn save_profile(
    State(state): State<AppState>,
    v: Visitor,
    WebForm(f): WebForm<ProfileForm>,
) -> Result<Response, AppError> {
    let (user, _) = match signed_in(&v, "/account") {
        Ok(x) => x,
        Err(r) => return Ok(*r),
    };
    v.check_csrf(&f.csrf)?;
    match acc::set_display_name(&state.ctx, &user, &f.display_name).await {
        Ok(()) => Ok(back("/account", v.t.get("account.saved"))),
        Err(e @ ServiceError::Invalid { .. }) => render_account(&state, v, None, e.field_errors()).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

async fn change_password(
    State(state): State<AppState>,
    v: Visitor,
    WebForm(f): WebForm<PasswordForm>,
) -> Result<Response, AppError> {
    let (user, current) = match signed_in(&v, "/account") {
        Ok(x) => x,
        Err(r) => return Ok(*r),
    };
    v.check_csrf(&f.csrf)?;
    match acc::change_password(
        &state.ctx,
        &user,
        current,
        &f.current_password,
        &f.password,
        &f.password_confirm,
    )
    .await
    {
        Ok(()) => Ok(back("/account", v.t.get("account.password_changed"))),
        Err(e @ ServiceError::Invalid { .. }) => render_account(&state, v, None, e.field_errors()).await,
        Err(e) => Err(e.into()),
    }
}

async fn end_session(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    v: Visitor,
    WebForm(f): WebForm<CsrfForm>,
) -> Result<Response, AppError> {
    let (user, _) = match signed_in(&v, "/account") {
        Ok(x) => x,
        Err(r) => return Ok(*r),
    };
    v.check_csrf(&f.csrf)?;
    acc::end_session(&state.ctx, &user, id).await?;
    Ok(back("/account", v.t.get("account.ended")))
}

async fn end_others(
    State(state): State<AppState>,
    v: Visitor,
    WebForm(f): WebForm<CsrfForm>,
) -> Result<Response, AppError> {
    let (user, current) = match signed_in(&v, "/account") {
        Ok(x) => x,
        Err(r) => return Ok(*r),
    };
    v.check_csrf(&f.csrf)?;
    let n = acc::end_other_sessions(&state.ctx, &user, current).await?;
    Ok(back(
        "/account",
        &v.t.fill("account.ended_others", &[("n", &n.to_string())]),
    ))
}

// ---------------------------------------------------------------- the members' directory

/// The ticked fields of the directory form.
async fn save_directory(
    State(state): State<AppState>,
    v: Visitor,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    if let Err(r) = signed_in(&v, "/account") {
        return Ok(*r);
    }
    let mut csrf = String::new();
    let mut fields = Vec::new();
    for (k, val) in url::form_urlencoded::parse(&body) {
        match k.as_ref() {
            "csrf" => csrf = val.into_owned(),
            "show" => fields.push(val.into_owned()),
            _ => {}
        }
    }
    v.check_csrf(&csrf)?;
    crate::service::members::set_directory(&state.ctx, &v.caller(), &fields).await?;
    Ok(back("/account", v.t.get("account.directory_saved")))
}

// ---------------------------------------------------------------- linked fediverse accounts

#[derive(Deserialize)]
struct LinkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    account: String,
}

/// Links the member's account on another server: the co-op sends it a
/// code in a direct message.
async fn add_link(
    State(state): State<AppState>,
    v: Visitor,
    WebForm(f): WebForm<LinkForm>,
) -> Result<Response, AppError> {
    if let Err(r) = signed_in(&v, "/account") {
        return Ok(*r);
    }
    v.check_csrf(&f.csrf)?;
    let actor = match super::forums::resolve_remote(&state, &f.account).await {
        Ok(a) => a,
        Err(why) => return render_account_with(&state, v, None, vec![("account", why)], f.account).await,
    };
    match member_links::link(&state.ctx, &v.caller(), None, &actor).await {
        Ok(link) => Ok(back(
            "/account",
            &v.t.fill("account.link_sent", &[("handle", &link.handle())]),
        )),
        Err(e @ ServiceError::Invalid { .. }) => {
            render_account_with(&state, v, None, e.field_errors(), f.account).await
        }
        Err(ServiceError::Conflict(why)) => {
            render_account_with(&state, v, None, vec![("account", why)], f.account).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

async fn confirm_link(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    v: Visitor,
    WebForm(f): WebForm<CodeForm>,
) -> Result<Response, AppError> {
    if let Err(r) = signed_in(&v, "/account") {
        return Ok(*r);
    }
    v.check_csrf(&f.csrf)?;
    match member_links::confirm(&state.ctx, &v.caller(), id, &f.code).await {
        Ok(link) => Ok(back(
            "/account",
            &v.t.fill("account.link_done", &[("handle", &link.handle())]),
        )),
        Err(e @ ServiceError::Invalid { .. }) => render_account(&state, v, None, e.field_errors()).await,
        Err(ServiceError::Conflict(why)) => render_account(&state, v, None, vec![("code", why)]).await,
        Err(e) => Err(e.into()),
    }
}

async fn remove_link(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    v: Visitor,
    WebForm(f): WebForm<CsrfForm>,
) -> Result<Response, AppError> {
    if let Err(r) = signed_in(&v, "/account") {
        return Ok(*r);
    }
    v.check_csrf(&f.csrf)?;
    member_links::unlink(&state.ctx, &v.caller(), id).await?;
    Ok(back("/account", v.t.get("account.link_removed")))
}

// ---------------------------------------------------------------- admins

const USERS: &str = "/admin/users";
const ROLES: &[&str] = &["member", "editor", "moderator", "admin"];

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    t: Tr,
    l: Layout,
    notice: Option<String>,
    error: Option<String>,
    /// (what it is for, the link)
    link: Option<(String, String)>,
    users: Vec<User>,
    roles: &'static [&'static str],
    require_2fa: bool,
}
impl Page for UsersPage {}

async fn render_users(
    state: &AppState,
    v: Visitor,
    notice: Option<String>,
    error: Option<String>,
    link: Option<(String, String)>,
) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Admin, USERS) {
        return Ok(r);
    }
    let coop = coop::get_coop(&state.ctx).await?;
    let l = Layout::for_visitor(state, &v, v.t.get("users.title"), coop.as_ref());
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(UsersPage {
        require_2fa: coop::get_instance(&state.ctx).await?.require_admin_totp,
        t: v.t,
        l,
        notice,
        error,
        link,
        users: acc::list_users(&state.ctx).await?,
        roles: ROLES,
    }
    .respond(status))
}

/// All of one's data as one JSON file (with their ActivityPub outbox).
async fn export_data(State(state): State<AppState>, v: Visitor) -> Result<Response, AppError> {
    let (user, _) = match signed_in(&v, "/account") {
        Ok(x) => x,
        Err(r) => return Ok(*r),
    };
    let data = crate::service::privacy::export(&state.ctx, &user).await?;
    let body = serde_json::to_string_pretty(&data).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let disposition = format!("attachment; filename=\"{}-data.json\"", user.username);
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/json".to_string()),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

#[derive(Deserialize)]
struct DeleteAccountForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    content: String,
}

async fn delete_account(
    State(state): State<AppState>,
    v: Visitor,
    WebForm(f): WebForm<DeleteAccountForm>,
) -> Result<Response, AppError> {
    let (user, _) = match signed_in(&v, "/account") {
        Ok(x) => x,
        Err(r) => return Ok(*r),
    };
    v.check_csrf(&f.csrf)?;
    let result = match crate::service::privacy::ContentChoice::from_name(&f.content) {
        Ok(choice) => crate::service::privacy::delete_account(&state.ctx, &user, &f.password, choice).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => {
            let done = url_encode(v.t.get("account.deleted"));
            let mut resp = Redirect::to(&format!("/?done={done}")).into_response();
            resp.headers_mut().append(
                axum::http::header::SET_COOKIE,
                crate::http::auth::set_cookie(&state, crate::http::auth::SESSION_COOKIE, "", Some(0)),
            );
            Ok(resp)
        }
        Err(e @ (ServiceError::Invalid { .. } | ServiceError::Conflict(_))) => {
            // Shown in the delete form, not beside the password change's fields.
            let errors = match e {
                ServiceError::Conflict(m) => vec![("delete", m)],
                e => e.field_errors().into_iter().map(|(_, m)| ("delete", m)).collect(),
            };
            render_account(&state, v, None, errors).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "two_factor.html")]
struct TwoFactorPage {
    t: Tr,
    l: Layout,
    enabled: bool,
    required: bool,
    /// While setting up: the secret and its otpauth:// address.
    setup: Option<(String, String)>,
    notice: Option<String>,
    error: Option<String>,
}
impl Page for TwoFactorPage {}

async fn render_two_factor(
    state: &AppState,
    v: Visitor,
    setup: Option<(String, String)>,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let (user, _) = match signed_in(&v, "/account/2fa") {
        Ok(x) => x,
        Err(r) => return Ok(*r),
    };
    let required = acc::admin_needs_totp(&state.ctx, user.id).await?;
    let coop = coop::get_coop(&state.ctx).await?;
    let l = Layout::for_visitor(state, &v, v.t.get("totp.title"), coop.as_ref());
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(TwoFactorPage {
        enabled: user.totp_enabled,
        required,
        setup,
        notice,
        error,
        t: v.t,
        l,
    }
    .respond(status))
}

async fn two_factor_page(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<Done>,
) -> Result<Response, AppError> {
    render_two_factor(&state, v, None, q.done, None).await
}

async fn two_factor_start(
    State(state): State<AppState>,
    v: Visitor,
    WebForm(f): WebForm<TotpForm>,
) -> Result<Response, AppError> {
    let (user, _) = match signed_in(&v, "/account/2fa") {
        Ok(x) => x,
        Err(r) => return Ok(*r),
    };
    v.check_csrf(&f.csrf)?;
    let issuer = coop::get_coop(&state.ctx)
        .await?
        .map(|c| c.name)
        .unwrap_or_else(|| state.ctx.config.domain());
    match acc::totp_begin(&state.ctx, &user, &f.password, &issuer).await {
        Ok(setup) => render_two_factor(&state, v, Some(setup), None, None).await,
        Err(ServiceError::Conflict(m)) => render_two_factor(&state, v, None, None, Some(m)).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct TotpForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
}

async fn two_factor_confirm(
    State(state): State<AppState>,
    v: Visitor,
    WebForm(f): WebForm<TotpForm>,
) -> Result<Response, AppError> {
    let (user, _) = match signed_in(&v, "/account/2fa") {
        Ok(x) => x,
        Err(r) => return Ok(*r),
    };
    v.check_csrf(&f.csrf)?;
    match acc::totp_confirm(&state.ctx, user.id, &f.code).await {
        Ok(()) => Ok(back("/account/2fa", v.t.get("totp.on_done"))),
        Err(ServiceError::Invalid { message, .. }) | Err(ServiceError::Conflict(message)) => {
            // The secret stays waiting: show it again with the reason.
            let secret = user.totp_secret.clone().filter(|_| !user.totp_enabled);
            let setup = secret.map(|s| (s.clone(), String::new()));
            render_two_factor(&state, v, setup, None, Some(message)).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn two_factor_disable(
    State(state): State<AppState>,
    v: Visitor,
    WebForm(f): WebForm<TotpForm>,
) -> Result<Response, AppError> {
    let (user, _) = match signed_in(&v, "/account/2fa") {
        Ok(x) => x,
        Err(r) => return Ok(*r),
    };
    v.check_csrf(&f.csrf)?;
    match acc::totp_disable(&state.ctx, user.id, &f.password, &f.code).await {
        Ok(()) => Ok(back("/account/2fa", v.t.get("totp.off_done"))),
        Err(ServiceError::Invalid { message, .. }) | Err(ServiceError::Conflict(message)) => {
            render_two_factor(&state, v, None, None, Some(message)).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct RequireForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    on: String,
}

async fn require_two_factor(
    State(state): State<AppState>,
    v: Visitor,
    WebForm(f): WebForm<RequireForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Admin, USERS, &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    match acc::set_require_admin_totp(&state.ctx, &caller, f.on == "yes").await {
        Ok(()) => Ok(back(USERS, v.t.get("account.saved"))),
        Err(ServiceError::Conflict(m)) => render_users(&state, v, None, Some(m), None).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
struct AuditPage {
    t: Tr,
    l: Layout,
    action: String,
    entries: Vec<crate::service::accounts::AuditEntry>,
}
impl Page for AuditPage {}

#[derive(Deserialize)]
struct AuditFilter {
    #[serde(default)]
    action: String,
}

/// Who changed which member, role or setting, and when: the admins' record.
async fn audit_page(
    State(state): State<AppState>,
    v: Visitor,
    Query(f): Query<AuditFilter>,
) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Admin, "/admin/audit") {
        return Ok(r);
    }
    let entries = crate::service::accounts::audit_log(&state.ctx, &v.caller(), &f.action, 500).await?;
    let coop = crate::service::coop::get_coop(&state.ctx).await?;
    let l = Layout::for_visitor(&state, &v, v.t.get("audit.title"), coop.as_ref());
    Ok(AuditPage {
        action: f.action,
        entries,
        t: v.t,
        l,
    }
    .respond(StatusCode::OK))
}

async fn audit_export(
    State(state): State<AppState>,
    v: Visitor,
    Query(f): Query<AuditFilter>,
) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Admin, "/admin/audit") {
        return Ok(r);
    }
    let entries = crate::service::accounts::audit_log(&state.ctx, &v.caller(), &f.action, 100_000).await?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit.csv\"",
            ),
        ],
        crate::service::accounts::audit_csv(&entries),
    )
        .into_response())
}

async fn users_page(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<Done>,
) -> Result<Response, AppError> {
    render_users(&state, v, q.done, None, None).await
}

/// The admin behind a form, after the CSRF check.
fn reset_url(state: &AppState, token: &str) -> String {
    state.ctx.config.url(&format!("/reset?token={token}"))
}

#[derive(Deserialize)]
struct NewUserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

async fn create_user(
    State(state): State<AppState>,
    v: Visitor,
    WebForm(f): WebForm<NewUserForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Admin, USERS, &f.csrf)? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let role = UserRole::parse(&f.role).unwrap_or(UserRole::Member);
    match acc::admin_create_user(&state.ctx, &caller, &f.username, &f.email, role).await {
        Ok((user, token)) => {
            let text = v.t.fill(
                "users.created",
                &[
                    ("user", &user.username),
                    ("hours", &acc::RESET_LINK_HOURS.to_string()),
                ],
            );
            let link = reset_url(&state, &token);
            render_users(&state, v, None, None, Some((text, link))).await
        }
        Err(e @ (ServiceError::Invalid { .. } | ServiceError::Conflict(_))) => {
            render_users(&state, v, None, Some(e.to_string()), None).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct RoleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
}

async fn set_role(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    v: Visitor,
    WebForm(f): WebForm<RoleForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Admin, USERS, &f.csrf)? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let Ok(role) = UserRole::parse(&f.role) else {
        return render_users(
            &state,
            v,
            None,
            Some("Choose member, editor, moderator or admin.".into()),
            None,
        )
        .await;
    };
    match acc::admin_set_role(&state.ctx, &caller, id, role).await {
        Ok(user) => Ok(back(
            USERS,
            &v.t.fill(
                "users.role_changed",
                &[("user", &user.username), ("role", role.as_str())],
            ),
        )),
        Err(ServiceError::Invalid { message, .. }) => {
            render_users(&state, v, None, Some(message), None).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn disable(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    v: Visitor,
    WebForm(f): WebForm<CsrfForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Admin, USERS, &f.csrf)? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let target = acc::find_user(&state.ctx, id).await?;
    if f.confirm != "yes" {
        let heading =
            v.t.fill("users.disable_confirm_heading", &[("user", &target.username)]);
        let coop = coop::get_coop(&state.ctx).await?;
        let l = Layout::for_visitor(&state, &v, &heading, coop.as_ref());
        return Ok(ConfirmPage {
            consequences: vec![v
                .t
                .fill("users.disable_consequence", &[("user", &target.username)])],
            action: format!("/admin/users/{id}/disable"),
            fields: vec![],
            confirm_label: v.t.get("users.disable").to_string(),
            cancel: USERS.to_string(),
            heading,
            l,
            t: v.t,
        }
        .respond(StatusCode::OK));
    }
    match acc::admin_set_disabled(&state.ctx, &caller, id, true).await {
        Ok(user) => Ok(back(
            USERS,
            &v.t.fill("users.disabled_done", &[("user", &user.username)]),
        )),
        Err(ServiceError::Invalid { message, .. }) => {
            render_users(&state, v, None, Some(message), None).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn enable(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    v: Visitor,
    WebForm(f): WebForm<CsrfForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Admin, USERS, &f.csrf)? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let user = acc::admin_set_disabled(&state.ctx, &caller, id, false).await?;
    Ok(back(
        USERS,
        &v.t.fill("users.enabled_done", &[("user", &user.username)]),
    ))
}

async fn reset_link(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    v: Visitor,
    WebForm(f): WebForm<CsrfForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Admin, USERS, &f.csrf)? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let user = acc::find_user(&state.ctx, id).await?;
    let token = acc::admin_reset_link(&state.ctx, &caller, id).await?;
    let text = v.t.fill(
        "users.link_for",
        &[
            ("user", &user.username),
            ("hours", &acc::RESET_LINK_HOURS.to_string()),
        ],
    );
    render_users(&state, v, None, None, Some((text, reset_url(&state, &token)))).await
}

// ---------------------------------------------------------------- one-time password links

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetPage {
    t: Tr,
    l: Layout,
    intro: String,
    token: String,
    username: String,
    error: Option<String>,
}
impl Page for ResetPage {}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

async fn reset_form(
    state: &AppState,
    v: Visitor,
    token: String,
    error: Option<String>,
) -> Result<Response, AppError> {
    let Some(user) = acc::reset_link_user(&state.ctx, &token).await? else {
        return Err(AppError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            v.t.get("reset.invalid"),
        ));
    };
    let coop = coop::get_coop(&state.ctx).await?;
    let l = Layout::for_visitor(state, &v, v.t.get("reset.title"), coop.as_ref());
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(ResetPage {
        intro: v.t.fill("reset.intro", &[("user", &user.username)]),
        t: v.t,
        l,
        token,
        username: user.username,
        error,
    }
    .respond(status))
}

async fn reset_page(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<TokenQuery>,
) -> Result<Response, AppError> {
    reset_form(&state, v, q.token, None).await
}

#[derive(Deserialize)]
struct ResetForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

async fn reset_submit(
    State(state): State<AppState>,
    v: Visitor,
    WebForm(f): WebForm<ResetForm>,
) -> Result<Response, AppError> {
    v.check_csrf(&f.csrf)?;
    match acc::use_reset_link(&state.ctx, &f.token, &f.password, &f.password_confirm).await {
        Ok(logged_in) => Ok(super::redirect_with_session(&state, "/account", &logged_in)),
        Err(ServiceError::Invalid { message, .. }) => reset_form(&state, v, f.token, Some(message)).await,
        Err(e) => Err(e.into()),
    }
}
