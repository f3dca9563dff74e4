//! The newsletter on the web: the public subscribe form's answer, the
//! confirmation and unsubscribe links (RFC 8058 one-click: a POST without
//! cookies or CSRF token, authenticated by the link's own key), sending a
//! news item, and the editors' page of sent/failed counts.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::{deny, gate, Layout, Page, WebForm};
use crate::http::auth::Visitor;
use crate::http::error::AppError;
use crate::i18n::Tr;
use crate::service::newsletter::{self, NewsletterStatus};
use crate::service::types::UserRole;
use crate::service::{coop, news, ServiceError};
use crate::state::AppState;

const SUBSCRIBES_PER_MINUTE: u32 = 5;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/newsletter/subscribe", post(subscribe))
        .route("/newsletter/confirm", get(confirm_page).post(confirm))
        .route("/newsletter/unsubscribe", get(unsubscribe_page).post(unsubscribe))
        .route("/news/{slug}/newsletter", post(send))
        .route("/admin/newsletters", get(admin_page))
}

#[derive(Template)]
#[template(path = "newsletter_notice.html")]
struct NoticePage {
    t: Tr,
    l: Layout,
    heading: String,
    lines: Vec<String>,
    action: Option<String>,
    button: String,
}
impl Page for NoticePage {}

async fn notice(
    state: &AppState,
    v: Visitor,
    status: StatusCode,
    heading: String,
    lines: Vec<String>,
    action: Option<(String, String)>,
) -> Result<Response, AppError> {
    let coop = coop::get_coop(&state.ctx).await?;
    let l = Layout::for_visitor(state, &v, &heading, coop.as_ref());
    let (action, button) = action.map(|(a, b)| (Some(a), b)).unwrap_or_default();
    Ok(NoticePage {
        heading,
        lines,
        action,
        button,
        t: v.t,
        l,
    }
    .respond(status))
}

#[derive(Deserialize)]
struct SubscribeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

async fn subscribe(
    State(state): State<AppState>,
    v: Visitor,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    WebForm(f): WebForm<SubscribeForm>,
) -> Result<Response, AppError> {
    v.check_csrf(&f.csrf)?;
    // Each request sends a mail to an address someone typed.
    let ip = crate::http::client_ip(&state, &headers, Some(peer));
    if let Err(wait) = state.federation.follow_form_rates.check(
        &format!("subscribe {ip}"),
        SUBSCRIBES_PER_MINUTE,
        chrono::Utc::now().timestamp(),
    ) {
        return Err(AppError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("Too many requests from your address. Wait {wait} seconds and try again."),
        ));
    }
    match newsletter::subscribe(&state.ctx, &f.email).await {
        Ok(()) => {
            let heading = v.t.get("newsletter.check_title").to_string();
            let lines = vec![v.t.fill("newsletter.check_text", &[("email", f.email.trim())])];
            notice(&state, v, StatusCode::OK, heading, lines, None).await
        }
        Err(ServiceError::Invalid { message, .. }) => {
            let heading = v.t.get("newsletter.subscribe_failed").to_string();
            notice(
                &state,
                v,
                StatusCode::UNPROCESSABLE_ENTITY,
                heading,
                vec![message],
                None,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// The link in the mail: a page with a button, so that a mail scanner
/// opening it subscribes nobody.
async fn confirm_page(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<TokenQuery>,
) -> Result<Response, AppError> {
    let email = newsletter::pending(&state.ctx, &q.token).await?;
    let heading = v.t.get("newsletter.confirm_title").to_string();
    let lines = vec![v.t.fill("newsletter.confirm_text", &[("email", &email)])];
    let action = format!(
        "/newsletter/confirm?token={}",
        crate::service::text::percent_encode(&q.token)
    );
    let button = v.t.get("newsletter.confirm_button").to_string();
    notice(&state, v, StatusCode::OK, heading, lines, Some((action, button))).await
}

async fn confirm(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<TokenQuery>,
) -> Result<Response, AppError> {
    let email = newsletter::confirm(&state.ctx, &q.token).await?;
    let heading = v.t.get("newsletter.confirmed_title").to_string();
    let lines = vec![v.t.fill("newsletter.confirmed_text", &[("email", &email)])];
    notice(&state, v, StatusCode::OK, heading, lines, None).await
}

#[derive(Deserialize)]
struct UnsubscribeQuery {
    #[serde(default)]
    e: String,
    #[serde(default)]
    t: String,
}

/// The link in the mail's footer: a page with a button, so that a link
/// checker opening it unsubscribes nobody.
async fn unsubscribe_page(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<UnsubscribeQuery>,
) -> Result<Response, AppError> {
    let email = newsletter::check_unsubscribe(&state.ctx, &q.e, &q.t).await?;
    let heading = v.t.get("newsletter.unsubscribe_title").to_string();
    let lines = vec![v.t.fill("newsletter.unsubscribe_text", &[("email", &email)])];
    let action = format!(
        "/newsletter/unsubscribe?e={}&t={}",
        crate::service::text::percent_encode(&email),
        crate::service::text::percent_encode(&q.t)
    );
    let button = v.t.get("newsletter.unsubscribe_button").to_string();
    notice(&state, v, StatusCode::OK, heading, lines, Some((action, button))).await
}

/// RFC 8058: mail clients post `List-Unsubscribe=One-Click` here; the
/// page's button does the same. The link's key is the authentication.
async fn unsubscribe(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<UnsubscribeQuery>,
) -> Result<Response, AppError> {
    let email = newsletter::unsubscribe(&state.ctx, &q.e, &q.t).await?;
    let heading = v.t.get("newsletter.unsubscribed_title").to_string();
    let lines = vec![v.t.fill("newsletter.unsubscribed_text", &[("email", &email)])];
    notice(&state, v, StatusCode::OK, heading, lines, None).await
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn send(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    v: Visitor,
    WebForm(f): WebForm<CsrfForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Editor, &format!("/news/{slug}"), &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let item = news::get_news(&state.ctx, &slug).await?;
    let sent = newsletter::send(&state.ctx, &caller, item.id).await?;
    let done = v.t.fill("newsletter.planned", &[("title", &sent.title)]);
    Ok(super::back("/admin/newsletters", &done))
}

#[derive(Template)]
#[template(path = "admin_newsletters.html")]
struct AdminPage {
    t: Tr,
    l: Layout,
    notice: Option<String>,
    intro: String,
    items: Vec<NewsletterStatus>,
}
impl Page for AdminPage {}

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

async fn admin_page(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<Done>,
) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Editor, "/admin/newsletters") {
        return Ok(r);
    }
    let caller = v.caller();
    let items = newsletter::list(&state.ctx, &caller).await?;
    let subscribers = newsletter::subscriber_count(&state.ctx, &caller).await?;
    let intro = if crate::service::mail::configured(&state.ctx.config) {
        v.t.fill(
            "newsletter.admin_intro",
            &[("subscribers", &subscribers.to_string())],
        )
    } else {
        v.t.get("newsletter.no_smtp").to_string()
    };
    let coop = coop::get_coop(&state.ctx).await?;
    let l = Layout::for_visitor(&state, &v, v.t.get("newsletter.admin_title"), coop.as_ref());
    Ok(AdminPage {
        notice: q.done,
        intro,
        items,
        t: v.t,
        l,
    }
    .respond(StatusCode::OK))
}
