//! `/api/v1/notifications`, `/api/v1/account/blocks` and `/api/v1/reports`:
//! what a member is told about, whom they block or mute, and reports to
//! the moderators (who can forward one to the reported account's server).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::ApiJson;
use crate::db::queries::notifications::Notification;
use crate::federation::json::rfc3339;
use crate::http::auth::ApiUser;
use crate::http::error::AppError;
use crate::service::notifications as notes;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/notifications", get(list))
        .route("/notifications/read", post(mark_read))
        .route("/account/blocks", get(blocks).post(block))
        .route("/account/blocks/{actor}", delete(unblock))
        .route("/reports", get(reports).post(report))
        .route("/reports/{id}/forward", post(forward))
        .route("/reports/{id}/resolve", post(resolve))
        .route("/retention", get(retention).put(set_retention))
}

async fn retention(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<Json<crate::service::privacy::Retention>, AppError> {
    Ok(Json(
        crate::service::privacy::retention(&state.ctx, &user.caller()).await?,
    ))
}

async fn set_retention(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(r): ApiJson<crate::service::privacy::Retention>,
) -> Result<Json<crate::service::privacy::Retention>, AppError> {
    Ok(Json(
        crate::service::privacy::set_retention(&state.ctx, &user.caller(), r).await?,
    ))
}

async fn list(State(state): State<AppState>, user: ApiUser) -> Result<Json<Vec<Notification>>, AppError> {
    Ok(Json(notes::list(&state.ctx, &user.caller()).await?))
}

async fn mark_read(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<Json<serde_json::Value>, AppError> {
    let n = notes::mark_read(&state.ctx, &user.caller()).await?;
    Ok(Json(serde_json::json!({ "marked": n })))
}

#[derive(Serialize)]
struct BlockJson {
    actor_id: i64,
    account: String,
    ap_id: String,
    kind: String,
}

async fn blocks(State(state): State<AppState>, user: ApiUser) -> Result<Json<Vec<BlockJson>>, AppError> {
    Ok(Json(
        notes::blocked(&state.ctx, &user.caller())
            .await?
            .into_iter()
            .map(|(a, kind)| BlockJson {
                actor_id: a.id,
                account: format!("@{}@{}", a.handle, a.domain),
                ap_id: a.ap_id,
                kind,
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BlockInput {
    /// `@name@server`, a member's username, or an actor id.
    account: String,
    /// `block` (default) or `mute`.
    #[serde(default)]
    kind: Option<String>,
}

async fn block(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(input): ApiJson<BlockInput>,
) -> Result<StatusCode, AppError> {
    let actor = notes::find_account(&state.ctx, &input.account).await?;
    notes::set_block(
        &state.ctx,
        &user.caller(),
        &actor,
        input.kind.as_deref().unwrap_or("block"),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn unblock(
    State(state): State<AppState>,
    user: ApiUser,
    Path(actor): Path<i64>,
) -> Result<StatusCode, AppError> {
    notes::remove_block(&state.ctx, &user.caller(), actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
struct ReportJson {
    id: i64,
    reporter: String,
    objects: Vec<String>,
    comment: String,
    created_at: String,
    forwarded_at: Option<String>,
    forwardable: bool,
}

async fn reports(State(state): State<AppState>, user: ApiUser) -> Result<Json<Vec<ReportJson>>, AppError> {
    Ok(Json(
        notes::open_reports(&state.ctx, &user.caller())
            .await?
            .into_iter()
            .map(|r| ReportJson {
                id: r.row.id,
                reporter: r.reporter.ap_id,
                objects: r.objects,
                comment: r.row.content,
                created_at: rfc3339(r.row.created_at),
                forwarded_at: r.row.forwarded_at.map(rfc3339),
                forwardable: r.forwardable,
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportInput {
    /// The post or message: its id, or its ActivityPub id (as
    /// `/api/v1/messages` gives them).
    #[serde(default)]
    object: serde_json::Value,
    /// Or, for a post elsewhere that mentioned the member and is not
    /// stored here: the id of the notification that told of it.
    #[serde(default)]
    notice: Option<i64>,
    #[serde(default)]
    comment: String,
}

async fn report(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(input): ApiJson<ReportInput>,
) -> Result<(StatusCode, Json<serde_json::Value>), AppError> {
    if input.notice.is_some() && !input.object.is_null() {
        return Err(AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "Give either object (a post or message) or notice (a mention's notification), not both.",
        ));
    }
    let id = match input.notice {
        Some(notice) => notes::report_mention(&state.ctx, &user.caller(), notice, &input.comment).await?,
        None => {
            let object = match &input.object {
                serde_json::Value::Number(n) => n.as_i64().unwrap_or(0),
                serde_json::Value::String(ap_id) => notes::object_by_ap_id(&state.ctx, ap_id).await?,
                _ => 0,
            };
            notes::report(&state.ctx, &user.caller(), object, &input.comment).await?
        }
    };
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": id }))))
}

async fn forward(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, AppError> {
    notes::forward_report(&state.ctx, &user.caller(), id).await?;
    Ok(StatusCode::ACCEPTED)
}

async fn resolve(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, AppError> {
    notes::resolve_report(&state.ctx, &user.caller(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
