//! `/api/v1/members`: the member register (admins only), its CSV export
//! and invitations; `/api/v1/account/links`: a member's own linked
//! fediverse accounts (and `/api/v1/members/{id}/links` for admins).

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::ApiJson;
use crate::db::models::Member;
use crate::federation::json::rfc3339;
use crate::http::auth::ApiUser;
use crate::http::error::AppError;
use crate::service::member_links as link_svc;
use crate::service::members::{self, MemberInput};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/members", get(list).post(create))
        .route("/members/export.csv", get(export))
        .route("/members/import", post(import))
        .route("/members/{id}", get(show).patch(update).delete(delete))
        .route("/members/{id}/invitations", post(invite))
        .route("/members/{id}/links", get(member_links_list).post(member_link))
        .route("/members/{id}/approve", post(approve))
        .route("/members/{id}/decline", post(decline))
        .route("/account/links", get(own_links).post(own_link))
        .route("/account/export", get(export_own))
        .route("/account/links/{id}/confirm", post(confirm_link))
        .route("/account/links/{id}", axum::routing::delete(delete_link))
}

/// Approves an applicant: `200` with their invitation, as for `/invitations`.
async fn approve(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, AppError> {
    let made = members::approve(&state.ctx, &user.caller(), id).await?;
    Ok(Json(invitation_json(&made)))
}

async fn decline(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, AppError> {
    members::decline(&state.ctx, &user.caller(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct ImportQuery {
    #[serde(default)]
    mode: String,
}

/// `POST /api/v1/members/import?mode=preview|all|good_rows` with the CSV
/// as the body: the report of every row; `422` when `all` wrote nothing
/// because a row is bad.
async fn import(
    State(state): State<AppState>,
    user: ApiUser,
    Query(q): Query<ImportQuery>,
    body: String,
) -> Result<Response, AppError> {
    let mode = match q.mode.as_str() {
        "" => members::ImportMode::Preview,
        other => members::ImportMode::from_name(other).ok_or_else(|| {
            AppError::from(crate::service::ServiceError::invalid(
                "mode",
                format!("Unknown mode {other:?}: use preview, all or good_rows."),
            ))
        })?,
    };
    let r = members::import_csv(&state.ctx, &user.caller(), &body, mode).await?;
    let status = if mode == members::ImportMode::All && !r.written && r.refused > 0 {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let rows: Vec<serde_json::Value> = r
        .rows
        .iter()
        .map(|row| {
            serde_json::json!({
                "line": row.line,
                "name": row.name,
                "action": row.action,
                "errors": row.errors.iter().map(|(f, m)| serde_json::json!({"field": f, "message": m})).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok((
        status,
        Json(serde_json::json!({
            "written": r.written,
            "created": r.created,
            "updated": r.updated,
            "refused": r.refused,
            "rows": rows,
        })),
    )
        .into_response())
}

#[derive(Serialize)]
struct LinkJson {
    id: i64,
    member_id: i64,
    /// `@user@server`.
    account: String,
    actor: String,
    /// `verified`, `waiting` (for its code) or `expired` (link it again).
    status: &'static str,
    verified_at: Option<String>,
    code_expires_at: Option<String>,
}

impl From<link_svc::Link> for LinkJson {
    fn from(l: link_svc::Link) -> Self {
        let status = l.status();
        LinkJson {
            id: l.id,
            member_id: l.member_id,
            account: l.handle(),
            actor: l.actor.ap_id.clone(),
            status,
            verified_at: l.verified_at.map(rfc3339),
            code_expires_at: l.code_expires_at.map(rfc3339),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkInput {
    /// `@user@server`, or the actor's URL.
    account: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeInput {
    code: String,
}

fn links_json(list: Vec<link_svc::Link>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "items": list.into_iter().map(LinkJson::from).collect::<Vec<_>>(),
    }))
}

async fn link_for(
    state: &AppState,
    user: &ApiUser,
    member: Option<i64>,
    input: LinkInput,
) -> Result<(StatusCode, Json<LinkJson>), AppError> {
    let actor = crate::http::web::forums::resolve_remote(state, &input.account)
        .await
        .map_err(|why| AppError::from(crate::service::ServiceError::invalid("account", why)))?;
    let link = link_svc::link(&state.ctx, &user.caller(), member, &actor).await?;
    Ok((StatusCode::CREATED, Json(link.into())))
}

async fn own_links(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<Json<serde_json::Value>, AppError> {
    Ok(links_json(
        link_svc::links(&state.ctx, &user.caller(), None).await?,
    ))
}

async fn own_link(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(input): ApiJson<LinkInput>,
) -> Result<(StatusCode, Json<LinkJson>), AppError> {
    link_for(&state, &user, None, input).await
}

async fn member_links_list(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, AppError> {
    Ok(links_json(
        link_svc::links(&state.ctx, &user.caller(), Some(id)).await?,
    ))
}

async fn member_link(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<LinkInput>,
) -> Result<(StatusCode, Json<LinkJson>), AppError> {
    link_for(&state, &user, Some(id), input).await
}

async fn confirm_link(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<CodeInput>,
) -> Result<Json<LinkJson>, AppError> {
    Ok(Json(
        link_svc::confirm(&state.ctx, &user.caller(), id, &input.code)
            .await?
            .into(),
    ))
}

async fn delete_link(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, AppError> {
    link_svc::unlink(&state.ctx, &user.caller(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
pub struct MemberJson {
    id: i64,
    name: String,
    member_number: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    joined_on: Option<String>,
    status: String,
    role: String,
    groups: Vec<String>,
    notes: String,
    has_account: bool,
    created_at: String,
    updated_at: String,
}

impl From<Member> for MemberJson {
    fn from(m: Member) -> Self {
        MemberJson {
            id: m.id,
            groups: m
                .groups
                .lines()
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .map(String::from)
                .collect(),
            name: m.name,
            member_number: m.member_number,
            email: m.email,
            phone: m.phone,
            joined_on: m.joined_on,
            status: m.status,
            role: m.role,
            notes: m.notes,
            has_account: m.user_id.is_some(),
            created_at: rfc3339(m.created_at),
            updated_at: rfc3339(m.updated_at),
        }
    }
}

#[derive(Deserialize)]
struct Filter {
    #[serde(default)]
    q: String,
    status: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    user: ApiUser,
    Query(f): Query<Filter>,
) -> Result<Json<serde_json::Value>, AppError> {
    let items = members::list(&state.ctx, &user.caller(), &f.q, f.status.as_deref()).await?;
    Ok(Json(serde_json::json!({
        "items": items.into_iter().map(MemberJson::from).collect::<Vec<_>>(),
    })))
}

async fn export(
    State(state): State<AppState>,
    user: ApiUser,
    Query(f): Query<Filter>,
) -> Result<Response, AppError> {
    let items = members::list(&state.ctx, &user.caller(), &f.q, f.status.as_deref()).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"members.csv\"",
            ),
        ],
        members::to_csv(&items),
    )
        .into_response())
}

async fn create(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(input): ApiJson<MemberInput>,
) -> Result<(StatusCode, Json<MemberJson>), AppError> {
    let m = members::create(&state.ctx, &user.caller(), input).await?;
    Ok((StatusCode::CREATED, Json(m.into())))
}

async fn show(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<MemberJson>, AppError> {
    Ok(Json(members::get(&state.ctx, &user.caller(), id).await?.into()))
}

async fn update(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<MemberInput>,
) -> Result<Json<MemberJson>, AppError> {
    Ok(Json(
        members::update(&state.ctx, &user.caller(), id, input)
            .await?
            .into(),
    ))
}

async fn delete(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, AppError> {
    members::delete(&state.ctx, &user.caller(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn invite(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
) -> Result<(StatusCode, Json<serde_json::Value>), AppError> {
    let made = members::invite(&state.ctx, &user.caller(), id).await?;
    Ok((StatusCode::CREATED, Json(invitation_json(&made))))
}

fn invitation_json(made: &members::Invitation) -> serde_json::Value {
    serde_json::json!({
        "code": made.code,
        "url": made.url,
        "expires_at": rfc3339(made.expires),
        "emailed_to": made.emailed_to,
    })
}

/// All of the token's user's data (see `service::privacy::export`).
async fn export_own(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<Json<serde_json::Value>, AppError> {
    Ok(Json(crate::service::privacy::export(&state.ctx, &user.0).await?))
}
