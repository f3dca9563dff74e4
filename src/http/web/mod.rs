//! Server-rendered pages. They work with JavaScript off and stay small (every
//! page well under 30 KB) for members on old phones and weak connections.

use askama::Template;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::auth::{self, Visitor, SESSION_COOKIE};
use super::error::AppError;
use super::AppState;
use crate::db::models::Actor;
use crate::i18n::Tr;
use crate::service::accounts::{LoggedIn, SESSION_DAYS};
use crate::service::coop::{self, ProfileInput, SetupInput};
use crate::service::types::UserRole;
use crate::service::{Caller, ServiceError};

mod accounts;
pub mod events;
mod federation_admin;
pub mod feeds;
pub mod forums;
pub mod media;
pub mod members;
pub mod messages;
pub mod news;
pub mod newsletter;
pub mod notifications;
pub mod polls;
mod replies;
pub mod surveys;

/// Pages every instance has; content pages come with their role
/// (`crate::roles`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(federation_admin::routes())
        .merge(replies::routes())
        .merge(accounts::routes())
        .route("/", get(home))
        .route("/setup", get(setup_page).post(setup_submit))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", get(logout_page).post(logout_submit))
        .route("/admin/settings", get(settings_page).post(settings_submit))
}

pub struct LayoutUser {
    pub username: String,
    pub is_admin: bool,
    pub can_write: bool,
    pub can_moderate: bool,
}

/// What the shared layout (`base.html`) shows around every page.
pub struct Layout {
    pub lang: String,
    pub title: String,
    pub site_name: String,
    pub css: String,
    pub user: Option<LayoutUser>,
    pub csrf: String,
}

impl Layout {
    pub fn anonymous(state: &AppState, t: &Tr, title: &str, site_name: String) -> Layout {
        Layout {
            lang: t.lang.clone(),
            title: title.to_string(),
            site_name,
            css: state.css_path.to_string(),
            user: None,
            csrf: String::new(),
        }
    }

    pub fn for_visitor(state: &AppState, v: &Visitor, title: &str, coop: Option<&Actor>) -> Layout {
        Layout {
            lang: v.t.lang.clone(),
            title: title.to_string(),
            site_name: coop.map(|c| c.name.clone()).unwrap_or_else(|| "Intercoop".into()),
            css: state.css_path.to_string(),
            user: v.user.as_ref().map(|u| LayoutUser {
                username: u.username.clone(),
                is_admin: UserRole::from_db(&u.role) >= UserRole::Admin,
                can_write: UserRole::from_db(&u.role) >= UserRole::Editor,
                can_moderate: UserRole::from_db(&u.role) >= UserRole::Moderator,
            }),
            csrf: v.csrf.clone(),
        }
    }
}

/// Renders a template as an HTML response.
/// "Are you sure?" before a destructive action: says what will happen and
/// posts the same action again with `confirm=yes` (JavaScript-free).
#[derive(Template)]
#[template(path = "confirm.html")]
pub(crate) struct ConfirmPage {
    pub t: Tr,
    pub l: Layout,
    pub heading: String,
    pub consequences: Vec<String>,
    pub action: String,
    /// Extra form fields to post again (name, value).
    pub fields: Vec<(String, String)>,
    pub confirm_label: String,
    pub cancel: String,
}
impl Page for ConfirmPage {}

/// What a confirmation asks; `page` wraps it in the visitor's layout.
pub(crate) struct Confirm {
    pub heading: String,
    pub consequences: Vec<String>,
    pub action: String,
    pub fields: Vec<(String, String)>,
    pub confirm_label: String,
    pub cancel: String,
}

impl Confirm {
    pub async fn page(self, state: &AppState, v: Visitor) -> Result<Response, AppError> {
        let coop = coop::get_coop(&state.ctx).await?;
        let l = Layout::for_visitor(state, &v, &self.heading, coop.as_ref());
        Ok(ConfirmPage {
            heading: self.heading,
            consequences: self.consequences,
            action: self.action,
            fields: self.fields,
            confirm_label: self.confirm_label,
            cancel: self.cancel,
            l,
            t: v.t,
        }
        .respond(StatusCode::OK))
    }
}

pub trait Page: Template + Sized {
    fn respond(self, status: StatusCode) -> Response {
        match self.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "template failed to render");
                AppError::from(ServiceError::Internal(e.to_string())).into_response()
            }
        }
    }
}

/// Browsers send textarea line breaks as CRLF; every form value reaches the
/// services with LF only, so that paragraph rules and Markdown see the same
/// text whichever client sent it.
async fn normalize_line_endings(req: Request) -> Result<Request, AppError> {
    let (parts, body) = req.into_parts();
    // The router's body limit has already bounded the size.
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|_| AppError::bad_request("The form could not be read. Reload the page and try again."))?;
    let has_cr = bytes.windows(3).any(|w| w.eq_ignore_ascii_case(b"%0D"));
    let body = if has_cr {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in url::form_urlencoded::parse(&bytes) {
            out.append_pair(&k, &crate::service::text::normalize_newlines(&v));
        }
        axum::body::Body::from(out.finish())
    } else {
        axum::body::Body::from(bytes)
    };
    Ok(Request::from_parts(parts, body))
}

/// A form body; a malformed or oversize one gets our error page, not the
/// framework's plain text.
pub struct WebForm<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequest<S> for WebForm<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let req = normalize_line_endings(req).await?;
        match Form::<T>::from_request(req, state).await {
            Ok(Form(v)) => Ok(WebForm(v)),
            Err(rej) => {
                tracing::info!(status = rej.status().as_u16(), detail = %rej.body_text(), "form rejected");
                Err(match rej.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => AppError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "payload_too_large",
                        "What you sent is too large. Send something smaller.",
                    ),
                    _ => AppError::bad_request("The form could not be read. Reload the page and try again."),
                })
            }
        }
    }
}

pub(crate) use crate::service::text::percent_encode as url_encode;

/// A path as the login's `next` value: it stays readable; only what would
/// end the query value is escaped, and control characters are dropped.
pub(crate) fn next_value(path: &str) -> String {
    path.replace('%', "%25")
        .replace('&', "%26")
        .replace('?', "%3F")
        .replace('#', "%23")
        .replace(|c: char| c.is_control(), "")
}

/// Only local paths are followed after login, so a crafted link cannot send
/// someone to another site.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    next.filter(|n| n.starts_with('/'))
        .and_then(|n| crate::service::types::local_redirect_target("http://intercoop.invalid/", n))
        .unwrap_or_else(|| "/".to_string())
}

/// Back to `to` with a notice (`done`) the page shows; `to` may carry a
/// query and a `#fragment` already.
pub(crate) fn back(to: &str, done: &str) -> Response {
    let (path, fragment) = match to.split_once('#') {
        Some((p, f)) => (p, format!("#{f}")),
        None => (to, String::new()),
    };
    let sep = if path.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{path}{sep}done={}{fragment}", url_encode(done))).into_response()
}

pub(crate) fn redirect_with_session(state: &AppState, to: &str, logged_in: &LoggedIn) -> Response {
    let mut resp = Redirect::to(to).into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        auth::set_cookie(
            state,
            SESSION_COOKIE,
            &logged_in.session_token,
            Some(SESSION_DAYS * 86_400),
        ),
    );
    resp
}

// ---------------------------------------------------------------- home

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    t: Tr,
    l: Layout,
    coop: Actor,
    news: Vec<Teaser>,
    events: Vec<events::EventTeaser>,
    polls: Vec<polls::PollTeaser>,
    forums: Vec<forums::ForumTeaser>,
    remote_posts: Vec<(crate::db::models::Object, Actor)>,
    can_write: bool,
    summary_html: String,
    address_lines: Vec<String>,
    language_names: String,
    lang: String,
    map_url: Option<String>,
    follow_help: String,
    follow_value: String,
    follow_error: Option<String>,
    notice: Option<String>,
    /// The newsletter's subscribe form (when this server sends mail).
    subscribe: bool,
}
impl Page for HomePage {}

/// A news item in a list: what the home page and the archive show.
pub(crate) struct Teaser {
    pub slug: String,
    pub title: String,
    pub summary: String,
    /// For people (`2026-12-01`) and for `<time datetime>` (RFC 3339).
    pub date: String,
    pub datetime: String,
}

pub(crate) fn teaser(o: &crate::db::models::Object) -> Teaser {
    let at = o.published_at.unwrap_or(o.created_at);
    Teaser {
        slug: o.slug.clone().unwrap_or_default(),
        title: o.title.clone(),
        summary: o.summary.clone(),
        date: at.format("%Y-%m-%d").to_string(),
        datetime: at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

/// The co-op's first language: the `lang` of its content.
pub(crate) fn content_lang(coop: &Actor) -> String {
    coop.languages
        .split(',')
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .to_string()
}

#[derive(Template)]
#[template(path = "not_set_up.html")]
struct NotSetUpPage {
    t: Tr,
    l: Layout,
}
impl Page for NotSetUpPage {}

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

async fn home(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<Done>,
) -> Result<Response, AppError> {
    render_home(&state, v, q.done, String::new(), None).await
}

/// The home page; with `follow_error`, the follow form shows the error and
/// keeps what was typed.
pub(crate) async fn render_home(
    state: &AppState,
    v: Visitor,
    notice: Option<String>,
    follow_value: String,
    follow_error: Option<String>,
) -> Result<Response, AppError> {
    let Some(coop) = coop::get_coop(&state.ctx).await? else {
        let l = Layout::for_visitor(state, &v, v.t.get("site.not_set_up"), None);
        return Ok(NotSetUpPage { t: v.t, l }.respond(StatusCode::OK));
    };
    let l = Layout::for_visitor(state, &v, &coop.name, Some(&coop));
    let map_url = match (coop.latitude, coop.longitude) {
        (Some(lat), Some(lon)) => Some(format!(
            "https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=16/{lat}/{lon}"
        )),
        _ => None,
    };
    let follow_help = v.t.fill(
        "home.follow_help",
        &[("handle", &format!("@{}@{}", coop.handle, coop.domain))],
    );
    let news = crate::service::news::latest_news(&state.ctx, &v.caller(), 10).await?;
    let remote_posts = crate::service::remote::list_remote_posts(&state.ctx, 10).await?;
    let upcoming = crate::service::calendar::list_events(&state.ctx, &v.caller(), true, 0, 3).await?;
    let open_polls: Vec<polls::PollTeaser> =
        crate::service::polls::list_polls(&state.ctx, &v.caller(), true, 0, 3)
            .await?
            .iter()
            .map(|p| polls::teaser(&v.t, p))
            .collect();
    let can_write = v.role().is_some_and(|r| r >= UserRole::Editor);
    let status = if follow_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(HomePage {
        t: v.t,
        l,
        summary_html: crate::service::text::render_markdown(&coop.summary),
        address_lines: coop
            .address
            .as_deref()
            .unwrap_or("")
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect(),
        language_names: crate::service::types::language_names(&coop.languages),
        lang: content_lang(&coop),
        coop,
        news: news.iter().map(teaser).collect(),
        events: upcoming.iter().map(events::teaser).collect(),
        polls: open_polls,
        forums: crate::service::forums::public_local_forums(&state.ctx)
            .await?
            .iter()
            .map(|f| forums::teaser(state, f, false))
            .collect(),
        remote_posts,
        can_write,
        map_url,
        follow_help,
        follow_value,
        follow_error,
        notice,
        subscribe: crate::service::mail::configured(&state.ctx.config),
    }
    .respond(status))
}

// ---------------------------------------------------------------- setup

#[derive(Deserialize, Default)]
struct SetupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    coop_name: String,
    #[serde(default)]
    handle: String,
    #[serde(default)]
    admin_username: String,
    #[serde(default)]
    admin_email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    t: Tr,
    l: Layout,
    token: String,
    form: SetupForm,
    handle_help: String,
    error: Option<String>,
    /// (field, message), each shown next to its field.
    errors: Vec<(&'static str, String)>,
}
impl Page for SetupPage {}

impl SetupPage {
    fn field_error(&self, field: &str) -> Option<String> {
        field_messages(&self.errors, field)
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

fn setup_form_page(
    state: &AppState,
    v: Visitor,
    token: String,
    form: SetupForm,
    error: Option<String>,
) -> SetupPage {
    let l = Layout::for_visitor(state, &v, v.t.get("setup.title"), None);
    let handle_help =
        v.t.fill("setup.handle_help", &[("domain", &state.ctx.config.domain())]);
    SetupPage {
        t: v.t,
        l,
        token,
        form,
        handle_help,
        error,
        errors: Vec::new(),
    }
}

async fn setup_page(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<TokenQuery>,
) -> Result<Response, AppError> {
    match coop::check_setup_token(&state.ctx, &q.token).await {
        Err(ServiceError::Conflict(_)) => return Ok(Redirect::to("/login").into_response()),
        Err(e) => return Err(e.into()),
        Ok(()) => {}
    }
    Ok(setup_form_page(&state, v, q.token, SetupForm::default(), None).respond(StatusCode::OK))
}

async fn setup_submit(
    State(state): State<AppState>,
    v: Visitor,
    WebForm(mut form): WebForm<SetupForm>,
) -> Result<Response, AppError> {
    v.check_csrf(&form.csrf)?;
    let token = std::mem::take(&mut form.token);
    let input = SetupInput {
        coop_name: form.coop_name.clone(),
        handle: form.handle.clone(),
        admin_username: form.admin_username.clone(),
        admin_email: Some(form.admin_email.clone()),
        password: std::mem::take(&mut form.password),
    };
    // Every problem at once, each next to its field.
    let mut errors = match coop::check_setup_input(&input) {
        Ok(()) => Vec::new(),
        Err(e @ ServiceError::Invalid { .. }) => e.field_errors(),
        Err(e) => return Err(e.into()),
    };
    if input.password != form.password_confirm {
        errors.push(("password_confirm", v.t.get("setup.password_mismatch").to_string()));
    }
    form.password_confirm.clear();
    if !errors.is_empty() && !token.is_empty() {
        let mut page = setup_form_page(&state, v, token, form, None);
        page.error = Some(page.t.fill("setup.fix", &[("n", &errors.len().to_string())]));
        page.errors = errors;
        return Ok(page.respond(StatusCode::UNPROCESSABLE_ENTITY));
    }
    match coop::complete_setup(&state.ctx, &token, input).await {
        Ok(logged_in) => Ok(redirect_with_session(
            &state,
            "/admin/settings?welcome=1",
            &logged_in,
        )),
        Err(ServiceError::Invalid { message, .. }) | Err(ServiceError::Conflict(message))
            if !token.is_empty() =>
        {
            Ok(setup_form_page(&state, v, token, form, Some(message))
                .respond(StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------- login / logout

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
    /// What was typed is kept for after the login.
    kept: Option<String>,
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    /// The two-factor code, for accounts that use it.
    #[serde(default)]
    code: String,
    next: Option<String>,
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    t: Tr,
    l: Layout,
    next: String,
    username: String,
    /// The account uses two-factor authentication: ask for the code.
    ask_code: bool,
    notice: Option<String>,
    error: Option<String>,
    /// "Forgot your password?" works when this server sends mail.
    can_reset: bool,
}
impl Page for LoginPage {}

async fn login_form(
    state: &AppState,
    v: Visitor,
    next: String,
    username: String,
    notice: Option<String>,
    error: Option<String>,
) -> LoginPage {
    let coop = coop::get_coop(&state.ctx).await.ok().flatten();
    let l = Layout::for_visitor(state, &v, v.t.get("login.title"), coop.as_ref());
    LoginPage {
        t: v.t,
        l,
        next,
        username,
        ask_code: false,
        notice,
        error,
        can_reset: crate::service::mail::configured(&state.ctx.config),
    }
}

async fn login_page(State(state): State<AppState>, v: Visitor, Query(q): Query<LoginQuery>) -> Response {
    let next = safe_next(q.next.as_deref());
    if v.user.is_some() {
        return Redirect::to(&next).into_response();
    }
    let notice = if q.kept.is_some() {
        Some(v.t.get("login.kept").to_string())
    } else if v.session_expired || q.expired.is_some() {
        Some(v.t.get("login.expired").to_string())
    } else if next != "/" {
        Some(v.t.get("login.required").to_string())
    } else {
        None
    };
    login_form(&state, v, next, String::new(), notice, None)
        .await
        .respond(StatusCode::OK)
}

async fn login_submit(
    State(state): State<AppState>,
    v: Visitor,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
    WebForm(form): WebForm<LoginForm>,
) -> Result<Response, AppError> {
    v.check_csrf(&form.csrf)?;
    let next = safe_next(form.next.as_deref());
    let ip = super::client_ip(&state, &headers, Some(peer));
    let code = Some(form.code.as_str()).filter(|c| !c.trim().is_empty());
    match crate::service::accounts::log_in(&state.ctx, &form.username, &form.password, code, &ip).await {
        Ok(logged_in) => {
            // An admin the co-op requires two-factor of goes to set it up.
            let next = if crate::service::accounts::admin_needs_totp(&state.ctx, logged_in.user.id).await? {
                "/account/2fa".to_string()
            } else {
                next
            };
            Ok(redirect_with_session(&state, &next, &logged_in))
        }
        Err(ServiceError::Invalid {
            field: "code",
            message,
            ..
        }) => {
            let mut page = login_form(&state, v, next, form.username, None, Some(message)).await;
            page.ask_code = true;
            Ok(page.respond(StatusCode::UNAUTHORIZED))
        }
        Err(
            e @ (ServiceError::Unauthorized(_) | ServiceError::RateLimited(_) | ServiceError::Forbidden(_)),
        ) => {
            let status = match &e {
                ServiceError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
                ServiceError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::FORBIDDEN,
            };
            let mut page = login_form(&state, v, next, form.username, None, Some(e.to_string())).await;
            page.ask_code = !form.code.trim().is_empty();
            let mut resp = page.respond(status);
            if status == StatusCode::TOO_MANY_REQUESTS {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("900"));
            }
            Ok(resp)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "logout.html")]
struct LogoutPage {
    t: Tr,
    l: Layout,
}
impl Page for LogoutPage {}

async fn logout_page(State(state): State<AppState>, v: Visitor) -> Response {
    let coop = coop::get_coop(&state.ctx).await.ok().flatten();
    let l = Layout::for_visitor(&state, &v, v.t.get("logout.title"), coop.as_ref());
    LogoutPage { t: v.t, l }.respond(StatusCode::OK)
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

async fn logout_submit(
    State(state): State<AppState>,
    v: Visitor,
    headers: axum::http::HeaderMap,
    WebForm(form): WebForm<CsrfOnly>,
) -> Result<Response, AppError> {
    if v.user.is_some() {
        v.check_csrf(&form.csrf)?;
        if let Some(token) = auth::cookie(&headers, SESSION_COOKIE) {
            crate::service::accounts::log_out(&state.ctx, &token).await?;
        }
    }
    let mut resp = Redirect::to("/logout").into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        auth::set_cookie(&state, SESSION_COOKIE, "", Some(0)),
    );
    Ok(resp)
}

// ---------------------------------------------------------------- admin settings

/// The response for a visitor who may not see a page: not logged in, the
/// login page; role too low, 403. None when they may.
/// The prologue of a form POST that needs a role: the role (else the
/// login or a 403 page) and the CSRF token. Gives the caller for the use case.
pub(crate) fn gate(
    v: &Visitor,
    role: UserRole,
    here: &str,
    csrf: &str,
) -> Result<Result<Caller, Response>, AppError> {
    if let Some(r) = deny(v, role, here) {
        return Ok(Err(r));
    }
    v.check_csrf(csrf)?;
    Ok(Ok(v.caller()))
}

/// For pages that need a role: nothing when the visitor has it, else the
/// login (with a way back) or a 403 page. The rule is `Caller::require`.
pub(crate) fn deny(v: &Visitor, role: UserRole, here: &str) -> Option<Response> {
    match v.caller().require(role) {
        Ok(_) => None,
        Err(ServiceError::Forbidden(message)) => {
            Some(AppError::new(StatusCode::FORBIDDEN, "forbidden", message).into_response())
        }
        Err(_) => {
            let expired = if v.session_expired { "&expired=1" } else { "" };
            Some(Redirect::to(&format!("/login?next={}{expired}", next_value(here))).into_response())
        }
    }
}

#[derive(Template)]
#[template(path = "admin_settings.html")]
struct SettingsPage {
    t: Tr,
    l: Layout,
    form: ProfileInput,
    saved: bool,
    error: Option<String>,
    /// (field, message), each shown next to its field.
    errors: Vec<(&'static str, String)>,
    /// Right after setup: the next steps, with the co-op's address to share.
    welcome: Option<String>,
}
impl Page for SettingsPage {}

impl SettingsPage {
    fn field_error(&self, field: &str) -> Option<String> {
        field_messages(&self.errors, field)
    }
}

/// The messages for one field of a refused form, joined.
pub(crate) fn field_messages(errors: &[(&'static str, String)], field: &str) -> Option<String> {
    let msgs: Vec<&str> = errors
        .iter()
        .filter(|(f, _)| *f == field)
        .map(|(_, m)| m.as_str())
        .collect();
    (!msgs.is_empty()).then(|| msgs.join(" "))
}

#[derive(Deserialize)]
struct SavedQuery {
    saved: Option<String>,
    welcome: Option<String>,
}

async fn settings_page(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<SavedQuery>,
) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Admin, "/admin/settings") {
        return Ok(r);
    }
    let coop = coop::get_coop(&state.ctx)
        .await?
        .ok_or_else(|| ServiceError::NotFound("The co-op is not set up yet.".into()))?;
    let l = Layout::for_visitor(&state, &v, v.t.get("settings.title"), Some(&coop));
    let welcome = q
        .welcome
        .is_some()
        .then(|| format!("@{}@{}", coop.handle, coop.domain));
    Ok(SettingsPage {
        t: v.t,
        l,
        form: ProfileInput::from_actor(&coop),
        saved: q.saved.is_some(),
        error: None,
        errors: Vec::new(),
        welcome,
    }
    .respond(StatusCode::OK))
}

#[derive(Deserialize)]
struct SettingsForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    profile: ProfileInput,
}

async fn settings_submit(
    State(state): State<AppState>,
    v: Visitor,
    WebForm(form): WebForm<SettingsForm>,
) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Admin, "/admin/settings") {
        return Ok(r);
    }
    v.check_csrf(&form.csrf)?;
    match coop::update_profile(&state.ctx, &v.caller(), &form.profile).await {
        Ok(_) => Ok(Redirect::to("/admin/settings?saved=1").into_response()),
        Err(e @ ServiceError::Invalid { .. }) => {
            let coop = coop::get_coop(&state.ctx).await?;
            let l = Layout::for_visitor(&state, &v, v.t.get("settings.title"), coop.as_ref());
            let errors = e.field_errors();
            Ok(SettingsPage {
                error: Some(v.t.fill("settings.fix", &[("n", &errors.len().to_string())])),
                t: v.t,
                l,
                form: form.profile,
                saved: false,
                errors,
                welcome: None,
            }
            .respond(StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_only_follows_local_paths() {
        assert_eq!(safe_next(Some("/admin/settings")), "/admin/settings");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
        assert_eq!(safe_next(Some("/news?page=2")), "/news?page=2");
        for bad in [
            "/\tevil",
            "/\r\n//evil.example",
            "/\u{0}x",
            "https:evil.example",
            "/..//evil.example",
            "\\\\evil.example",
            "javascript:alert(1)",
            "//evil.example/%2e%2e",
            " //evil.example",
        ] {
            assert!(!safe_next(Some(bad)).starts_with("//"), "{bad:?}");
            assert!(
                !safe_next(Some(bad)).contains("evil.example") || safe_next(Some(bad)).starts_with('/'),
                "{bad:?}"
            );
        }
        assert_eq!(safe_next(Some("/\tevil")), "/");
        assert_eq!(safe_next(Some("https:evil.example")), "/");
        assert_eq!(safe_next(Some("/..//evil.example")), "/");
    }
}
