//! A member's notifications page, reporting a post or message to the
//! moderators (and the moderators' reports page), and blocks and mutes.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::{back, deny, gate, Layout, Page, WebForm};
use crate::db::queries::notifications::Notification;
use crate::http::auth::Visitor;
use crate::http::error::AppError;
use crate::i18n::Tr;
use crate::service::coop;
use crate::service::notifications::{self as notes, Report};
use crate::service::types::UserRole;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/notifications", get(list))
        .route("/notifications/read", post(mark_read))
        .route("/report", get(report_page).post(report))
        .route("/admin/reports", get(reports_page))
        .route("/admin/reports/{id}/forward", post(forward))
        .route("/admin/reports/{id}/resolve", post(resolve))
        .route("/account/blocks", post(block))
        .route("/account/blocks/{actor}/delete", post(unblock))
        .route("/admin/retention", get(retention_page).post(save_retention))
}

#[derive(Template)]
#[template(path = "admin_retention.html")]
struct RetentionPage {
    t: Tr,
    l: Layout,
    notice: Option<String>,
    error: Option<String>,
    remote_days: String,
    message_days: String,
    log_days: String,
}
impl Page for RetentionPage {}

fn days_text(d: Option<i64>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

async fn retention_form(
    state: &AppState,
    v: Visitor,
    notice: Option<String>,
    error: Option<String>,
    shown: Option<RetentionForm>,
) -> Result<Response, AppError> {
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let (remote_days, message_days, log_days) = match shown {
        Some(f) => (f.remote_days, f.message_days, f.log_days),
        None => {
            let r = crate::service::privacy::retention(&state.ctx, &v.caller()).await?;
            (
                days_text(r.remote_days),
                days_text(r.message_days),
                days_text(r.log_days),
            )
        }
    };
    let l = layout(state, &v, v.t.get("retention.title")).await?;
    Ok(RetentionPage {
        notice,
        error,
        remote_days,
        message_days,
        log_days,
        t: v.t,
        l,
    }
    .respond(status))
}

async fn retention_page(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<Done>,
) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Admin, "/admin/retention") {
        return Ok(r);
    }
    retention_form(&state, v, q.done, None, None).await
}

#[derive(Deserialize)]
struct RetentionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    remote_days: String,
    #[serde(default)]
    message_days: String,
    #[serde(default)]
    log_days: String,
}

async fn save_retention(
    State(state): State<AppState>,
    v: Visitor,
    WebForm(f): WebForm<RetentionForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Admin, "/admin/retention", &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let parse = |s: &str| -> Result<Option<i64>, ()> {
        let s = s.trim();
        if s.is_empty() {
            Ok(None)
        } else {
            s.parse().map(Some).map_err(|_| ())
        }
    };
    let parsed = (parse(&f.remote_days), parse(&f.message_days), parse(&f.log_days));
    let (Ok(remote_days), Ok(message_days), Ok(log_days)) = parsed else {
        let e = v.t.get("retention.not_number").to_string();
        return retention_form(&state, v, None, Some(e), Some(f)).await;
    };
    let r = crate::service::privacy::Retention {
        remote_days,
        message_days,
        log_days,
    };
    match crate::service::privacy::set_retention(&state.ctx, &caller, r).await {
        Ok(_) => Ok(back("/admin/retention", v.t.get("retention.saved"))),
        Err(crate::service::ServiceError::Invalid { message, .. }) => {
            retention_form(&state, v, None, Some(message), Some(f)).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn layout(state: &AppState, v: &Visitor, title: &str) -> Result<Layout, AppError> {
    let coop = coop::get_coop(&state.ctx).await?;
    Ok(Layout::for_visitor(state, v, title, coop.as_ref()))
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct ListPage {
    t: Tr,
    l: Layout,
    items: Vec<Notification>,
    unread: usize,
}
impl Page for ListPage {}

async fn list(State(state): State<AppState>, v: Visitor) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Member, "/notifications") {
        return Ok(r);
    }
    let items = notes::list(&state.ctx, &v.caller()).await?;
    let unread = items.iter().filter(|n| n.read_at.is_none()).count();
    let l = layout(&state, &v, v.t.get("notifications.title")).await?;
    Ok(ListPage {
        items,
        unread,
        t: v.t,
        l,
    }
    .respond(StatusCode::OK))
}

async fn mark_read(
    State(state): State<AppState>,
    v: Visitor,
    WebForm(f): WebForm<CsrfForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Member, "/notifications", &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    notes::mark_read(&state.ctx, &caller).await?;
    Ok(Redirect::to("/notifications").into_response())
}

#[derive(Template)]
#[template(path = "report_form.html")]
struct ReportPage {
    t: Tr,
    l: Layout,
    /// What is reported: a stored post or message, or (when `notice` is
    /// set) the mention a notification tells of.
    object: i64,
    notice: i64,
    excerpt: String,
}
impl Page for ReportPage {}

#[derive(Deserialize)]
struct ObjectQuery {
    #[serde(default)]
    object: i64,
    #[serde(default)]
    notice: i64,
}

async fn report_page(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<ObjectQuery>,
) -> Result<Response, AppError> {
    let here = if q.notice > 0 {
        format!("/report?notice={}", q.notice)
    } else {
        format!("/report?object={}", q.object)
    };
    if let Some(r) = deny(&v, UserRole::Member, &here) {
        return Ok(r);
    }
    // Only what the member can see is offered (the report itself checks again).
    let excerpt = if q.notice > 0 {
        notes::reportable_mention(&state.ctx, &v.caller(), q.notice).await?
    } else {
        notes::reportable(&state.ctx, &v.caller(), q.object).await?
    };
    let l = layout(&state, &v, v.t.get("safety.report_title")).await?;
    Ok(ReportPage {
        object: q.object,
        notice: q.notice,
        excerpt,
        t: v.t,
        l,
    }
    .respond(StatusCode::OK))
}

#[derive(Deserialize)]
struct ReportForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    object: i64,
    #[serde(default)]
    notice: i64,
    #[serde(default)]
    comment: String,
}

async fn report(
    State(state): State<AppState>,
    v: Visitor,
    WebForm(f): WebForm<ReportForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Member, "/notifications", &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    if f.notice > 0 {
        notes::report_mention(&state.ctx, &caller, f.notice, &f.comment).await?;
    } else {
        notes::report(&state.ctx, &caller, f.object, &f.comment).await?;
    }
    Ok(back("/", v.t.get("safety.report_sent")))
}

#[derive(Template)]
#[template(path = "admin_reports.html")]
struct ReportsPage {
    t: Tr,
    l: Layout,
    notice: Option<String>,
    reports: Vec<Report>,
}
impl Page for ReportsPage {}

async fn reports_page(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<Done>,
) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Moderator, "/admin/reports") {
        return Ok(r);
    }
    let reports = notes::open_reports(&state.ctx, &v.caller()).await?;
    let l = layout(&state, &v, v.t.get("safety.reports_title")).await?;
    Ok(ReportsPage {
        notice: q.done,
        reports,
        t: v.t,
        l,
    }
    .respond(StatusCode::OK))
}

async fn forward(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    v: Visitor,
    WebForm(f): WebForm<CsrfForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Moderator, "/admin/reports", &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    notes::forward_report(&state.ctx, &caller, id).await?;
    Ok(back("/admin/reports", v.t.get("safety.done_forward")))
}

async fn resolve(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    v: Visitor,
    WebForm(f): WebForm<CsrfForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Moderator, "/admin/reports", &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    notes::resolve_report(&state.ctx, &caller, id).await?;
    Ok(back("/admin/reports", v.t.get("safety.done_resolve")))
}

#[derive(Deserialize)]
struct BlockForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    kind: String,
    /// The page to go back to (a conversation, or the account page).
    #[serde(default)]
    back: String,
}

/// Our own page to return to (the shared open-redirect check), else the
/// account page.
fn back_to(to: &str) -> String {
    match super::safe_next(Some(to)) {
        page if page == "/" => "/account".to_string(),
        page => page,
    }
}

async fn block(
    State(state): State<AppState>,
    v: Visitor,
    WebForm(f): WebForm<BlockForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Member, "/account", &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let actor = notes::find_account(&state.ctx, &f.account).await?;
    notes::set_block(&state.ctx, &caller, &actor, &f.kind).await?;
    let done = v.t.get(if f.kind == "block" {
        "safety.done_block"
    } else {
        "safety.done_mute"
    });
    Ok(back(&back_to(&f.back), done))
}

async fn unblock(
    State(state): State<AppState>,
    Path(actor): Path<i64>,
    v: Visitor,
    WebForm(f): WebForm<CsrfForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Member, "/account", &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    notes::remove_block(&state.ctx, &caller, actor).await?;
    Ok(back("/account#blocks", v.t.get("safety.done_unblock")))
}
