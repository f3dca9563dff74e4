//! `/api/v1/members`: the member register (admins only), its CSV export
//! and invitations.

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
use crate::service::members::{self, MemberInput};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/members", get(list).post(create))
        .route("/members/export.csv", get(export))
        .route("/members/{id}", get(show).patch(update).delete(delete))
        .route("/members/{id}/invitations", post(invite))
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
    let (code, expires) = members::invite(&state.ctx, &user.caller(), id).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "code": code,
            "url": state.ctx.config.url(&format!("/join/{code}")),
            "expires_at": rfc3339(expires),
        })),
    ))
}
