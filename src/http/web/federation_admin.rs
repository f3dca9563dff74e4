//! The admin's federation page: followers (with removal), following other
//! co-ops, domain blocks and allow-list mode, authorized fetch, and the
//! delivery queue's state.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::{deny, gate, ConfirmPage, Layout, Page, WebForm};
use crate::db::models::DomainBlock;
use crate::http::auth::Visitor;
use crate::http::error::AppError;
use crate::http::AppState;
use crate::i18n::Tr;
use crate::service::types::UserRole;
use crate::service::{coop, follows, moderation, ServiceError};

const HERE: &str = "/admin/federation";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(HERE, get(page))
        .route("/admin/federation/followers/{id}/remove", post(remove_follower))
        .route("/admin/federation/requests/{id}/approve", post(approve_request))
        .route("/admin/federation/requests/{id}/decline", post(decline_request))
        .route("/admin/federation/follow", post(follow))
        .route("/admin/federation/following/{id}/remove", post(unfollow))
        .route("/admin/federation/mode", post(mode))
        .route("/admin/federation/domains", post(add_domain))
        .route("/admin/federation/domains/{id}/remove", post(remove_domain))
        .route("/admin/federation/authorized-fetch", post(authorized_fetch))
}

#[derive(Template)]
#[template(path = "federation_admin.html")]
struct AdminPage {
    t: Tr,
    l: Layout,
    notice: Option<String>,
    error: Option<String>,
    queue: String,
    follower_total: i64,
    followers: Vec<(i64, String)>,
    /// Follow requests waiting for approval: (actor row id, who).
    requests: Vec<(i64, String)>,
    following: Vec<(i64, String)>,
    allowlist: bool,
    mode_text: String,
    rules: Vec<DomainBlock>,
    authorized_fetch: bool,
    /// Open reports (listed on /admin/reports).
    reports: usize,
}
impl Page for AdminPage {}

#[derive(Deserialize)]
struct Notice {
    done: Option<String>,
}

async fn render(
    state: &AppState,
    v: Visitor,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let coop = coop::get_coop(&state.ctx)
        .await?
        .ok_or_else(|| ServiceError::NotFound("The co-op is not set up yet.".into()))?;
    let (followers, follower_total) = follows::list_followers(&state.ctx, &coop, 0, 200).await?;
    let following = follows::list_following(&state.ctx, &coop)
        .await?
        .into_iter()
        .map(|(a, st)| {
            let name = if a.name.is_empty() {
                a.handle.clone()
            } else {
                a.name.clone()
            };
            (a.id, format!("{name} · @{}@{} ({st})", a.handle, a.domain))
        })
        .collect();
    let inst = coop::get_instance(&state.ctx).await?;
    let (pending, failed) = coop::delivery_counts(&state.ctx).await?;
    let allowlist = inst.federation_mode == "allowlist";
    let l = Layout::for_visitor(state, &v, v.t.get("fedadmin.title"), Some(&coop));
    let reports = crate::service::notifications::open_reports(&state.ctx, &v.caller())
        .await?
        .len();
    Ok(AdminPage {
        queue: v.t.fill(
            "fedadmin.queue",
            &[("pending", &pending.to_string()), ("failed", &failed.to_string())],
        ),
        mode_text: v
            .t
            .get(if allowlist {
                "fedadmin.mode_allowlist"
            } else {
                "fedadmin.mode_open"
            })
            .to_string(),
        t: v.t,
        l,
        notice,
        error,
        follower_total,
        followers: followers.iter().map(|a| (a.id, who(a))).collect(),
        requests: follows::list_follow_requests(&state.ctx, &coop)
            .await?
            .iter()
            .map(|a| (a.id, who(a)))
            .collect(),
        following,
        allowlist,
        rules: moderation::list_rules(&state.ctx).await?,
        authorized_fetch: inst.authorized_fetch,
        reports,
    }
    .respond(status))
}

async fn page(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<Notice>,
) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Admin, HERE) {
        return Ok(r);
    }
    render(&state, v, q.done, None, StatusCode::OK).await
}

/// A remote account as the lists show it.
fn who(a: &crate::db::models::Actor) -> String {
    format!("@{}@{} ({})", a.handle, a.domain, a.ap_id)
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn answer_request(
    state: &AppState,
    v: &Visitor,
    id: i64,
    csrf: &str,
    approve: bool,
) -> Result<Response, AppError> {
    let caller = match gate(v, UserRole::Admin, HERE, csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let coop = coop::get_coop(&state.ctx)
        .await?
        .ok_or_else(|| ServiceError::NotFound("The co-op is not set up yet.".into()))?;
    let follower = follows::answer_follow_request(&state.ctx, &caller, &coop, id, approve).await?;
    let handle = format!("@{}@{}", follower.handle, follower.domain);
    let key = if approve {
        "fedadmin.approved"
    } else {
        "fedadmin.declined"
    };
    Ok(done(&v.t.fill(key, &[("who", &handle)])))
}

async fn approve_request(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    v: Visitor,
    WebForm(f): WebForm<CsrfForm>,
) -> Result<Response, AppError> {
    answer_request(&state, &v, id, &f.csrf, true).await
}

async fn decline_request(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    v: Visitor,
    WebForm(f): WebForm<CsrfForm>,
) -> Result<Response, AppError> {
    answer_request(&state, &v, id, &f.csrf, false).await
}

fn done(what: &str) -> Response {
    Redirect::to(&format!("{HERE}?done={}", super::url_encode(what))).into_response()
}

/// Checks the admin and the CSRF token; returns the admin's user id.
#[derive(Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

/// The confirmation page for an action of this page.
async fn confirm_page(
    state: &AppState,
    v: &Visitor,
    heading: String,
    consequences: Vec<String>,
    action: String,
    fields: Vec<(String, String)>,
    confirm_label: &str,
) -> Result<Response, AppError> {
    let coop = coop::get_coop(&state.ctx).await?;
    let l = Layout::for_visitor(state, v, &heading, coop.as_ref());
    Ok(ConfirmPage {
        t: v.t.clone(),
        l,
        heading,
        consequences,
        action,
        fields,
        confirm_label: confirm_label.to_string(),
        cancel: HERE.to_string(),
    }
    .respond(StatusCode::OK))
}

async fn remove_follower(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    v: Visitor,
    WebForm(f): WebForm<ConfirmForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Admin, HERE, &f.csrf)? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let coop = coop::get_coop(&state.ctx)
        .await?
        .ok_or_else(AppError::not_found)?;
    let who = coop::find_actor(&state.ctx, id)
        .await?
        .map(|a| format!("@{}@{}", a.handle, a.domain))
        .ok_or_else(|| ServiceError::NotFound("This account does not follow the co-op.".into()))?;
    if f.confirm != "yes" {
        return confirm_page(
            &state,
            &v,
            v.t.fill("fedadmin.remove_confirm_heading", &[("who", &who)]),
            vec![v.t.fill("fedadmin.remove_consequence", &[("who", &who)])],
            format!("/admin/federation/followers/{id}/remove"),
            vec![],
            v.t.get("fedadmin.remove"),
        )
        .await;
    }
    follows::remove_follower(&state.ctx, &caller, &coop, id).await?;
    Ok(done(&v.t.fill("fedadmin.removed", &[("who", &who)])))
}

#[derive(Deserialize)]
struct FollowForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    actor: String,
}

async fn follow(
    State(state): State<AppState>,
    v: Visitor,
    WebForm(f): WebForm<FollowForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Admin, HERE, &f.csrf)? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let coop = coop::get_coop(&state.ctx)
        .await?
        .ok_or_else(AppError::not_found)?;
    let typed = f.actor.trim();
    // `@handle@domain` (or a profile link) is looked up with WebFinger; an
    // actor URL is fetched as it is.
    let target = if typed.starts_with("https://") || typed.starts_with("http://") {
        match crate::service::types::parse_account(typed) {
            Some((user, domain)) if !typed.contains("/actors/") && !typed.contains("/users/") => {
                match state.federation.resolve_account(&user, &domain).await {
                    Ok(id) => id,
                    Err(_) => typed.to_string(),
                }
            }
            _ => typed.to_string(),
        }
    } else {
        let Some((user, domain)) = crate::service::types::parse_account(typed) else {
            let msg = "Enter the other co-op's address as @handle@domain, or its actor URL.".to_string();
            return render(&state, v, None, Some(msg), StatusCode::UNPROCESSABLE_ENTITY).await;
        };
        match state.federation.resolve_account(&user, &domain).await {
            Ok(id) => id,
            Err(e) => {
                tracing::info!(%typed, error = %e, "following: WebFinger lookup failed");
                let msg = format!(
                    "Could not find {user}@{domain}: {}. Check the address.",
                    e.for_people()
                );
                return render(&state, v, None, Some(msg), StatusCode::UNPROCESSABLE_ENTITY).await;
            }
        }
    };
    let target = target.as_str();
    let remote = match state.federation.fetch_actor(target).await {
        Ok(a) => a,
        Err(e) => {
            tracing::info!(%target, error = %e, "following: the actor could not be loaded");
            let msg = format!(
                "Could not load {target}: {}. Check the address (@handle@domain, or the actor URL of the other co-op).",
                e.for_people()
            );
            return render(&state, v, None, Some(msg), StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    if !moderation::policy(&state.ctx).await?.allows(&remote.domain) {
        return render(
            &state,
            v,
            None,
            Some("That server is blocked or not on the allow-list.".into()),
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    match follows::follow_actor(&state.ctx, &caller, &coop, &remote).await {
        Ok(()) => Ok(done("Follow request sent.")),
        Err(e @ (ServiceError::Conflict(_) | ServiceError::Invalid { .. })) => {
            render(
                &state,
                v,
                None,
                Some(e.to_string()),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn unfollow(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    v: Visitor,
    WebForm(f): WebForm<ConfirmForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Admin, HERE, &f.csrf)? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let coop = coop::get_coop(&state.ctx)
        .await?
        .ok_or_else(AppError::not_found)?;
    follows::unfollow_actor(&state.ctx, &caller, &coop, id).await?;
    Ok(done("No longer following."))
}

#[derive(Deserialize)]
struct ModeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    allowlist: String,
    #[serde(default)]
    confirm: String,
}

async fn mode(
    State(state): State<AppState>,
    v: Visitor,
    WebForm(f): WebForm<ModeForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Admin, HERE, &f.csrf)? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let on = f.allowlist == "on";
    if !on {
        moderation::set_allowlist_mode(&state.ctx, &caller, false).await?;
        return Ok(done(v.t.get("fedadmin.allowlist_off")));
    }
    let impact = moderation::allowlist_impact(&state.ctx).await?;
    let numbers = [
        ("followers", impact.followers.to_string()),
        ("following", impact.following.to_string()),
    ];
    let numbers: Vec<(&str, &str)> = numbers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    if f.confirm != "yes" {
        return confirm_page(
            &state,
            &v,
            v.t.get("fedadmin.allowlist_confirm_heading").to_string(),
            vec![v.t.fill("fedadmin.allowlist_consequence", &numbers)],
            "/admin/federation/mode".into(),
            vec![("allowlist".into(), "on".into())],
            v.t.get("fedadmin.close"),
        )
        .await;
    }
    moderation::set_allowlist_mode(&state.ctx, &caller, true).await?;
    Ok(done(&v.t.fill("fedadmin.allowlist_on", &numbers)))
}

#[derive(Deserialize)]
struct DomainForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    domain: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    confirm: String,
}

async fn add_domain(
    State(state): State<AppState>,
    v: Visitor,
    WebForm(f): WebForm<DomainForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Admin, HERE, &f.csrf)? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    if f.mode == "allow" {
        return match moderation::allow_domain(&state.ctx, &caller, &f.domain).await {
            Ok(d) => Ok(done(&v.t.fill("fedadmin.allowed", &[("domain", &d)]))),
            Err(ServiceError::Invalid { message, .. }) => {
                render(&state, v, None, Some(message), StatusCode::UNPROCESSABLE_ENTITY).await
            }
            Err(e) => Err(e.into()),
        };
    }
    let (domain, impact) = match moderation::check_domain(&f.domain) {
        Ok(d) => {
            let impact = moderation::block_impact(&state.ctx, &d).await?;
            (d, impact)
        }
        Err(ServiceError::Invalid { message, .. }) => {
            return render(&state, v, None, Some(message), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => return Err(e.into()),
    };
    let values = [
        ("domain", domain.clone()),
        ("followers", impact.followers.to_string()),
        ("following", impact.following.to_string()),
    ];
    let values: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    if f.confirm != "yes" {
        return confirm_page(
            &state,
            &v,
            v.t.fill("fedadmin.block_confirm_heading", &values),
            vec![
                v.t.fill("fedadmin.block_consequence", &values),
                v.t.get("fedadmin.block_reversible").to_string(),
            ],
            "/admin/federation/domains".into(),
            vec![
                ("domain".into(), domain.clone()),
                ("reason".into(), f.reason.clone()),
                ("mode".into(), "block".into()),
            ],
            v.t.get("fedadmin.block"),
        )
        .await;
    }
    moderation::block_domain(&state.ctx, &caller, &domain, &f.reason).await?;
    Ok(done(&v.t.fill("fedadmin.blocked", &values)))
}

async fn remove_domain(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    v: Visitor,
    WebForm(f): WebForm<ConfirmForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Admin, HERE, &f.csrf)? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    moderation::remove_rule(&state.ctx, &caller, id).await?;
    Ok(done("Rule removed."))
}

#[derive(Deserialize)]
struct FetchForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    on: String,
}

async fn authorized_fetch(
    State(state): State<AppState>,
    v: Visitor,
    WebForm(f): WebForm<FetchForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Admin, HERE, &f.csrf)? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    moderation::set_authorized_fetch(&state.ctx, &caller, f.on == "on").await?;
    Ok(done("Authorized fetch changed."))
}
