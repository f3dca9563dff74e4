//! `/api/v1/polls`: the co-op's polls, with their counts, and voting.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::ApiJson;
use crate::http::auth::ApiUser;
use crate::http::error::AppError;
use crate::service::polls::{self, Poll, PollInput};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/polls", get(list).post(create))
        .route("/polls/{id}", get(show).delete(delete))
        .route("/polls/{id}/votes", post(vote))
        .route("/polls/{id}/receipt", post(receipt))
}

#[derive(Serialize)]
struct OptionJson {
    id: i64,
    title: String,
    votes_count: i64,
}

#[derive(Serialize)]
pub struct PollJson {
    id: i64,
    visibility: String,
    slug: String,
    url: String,
    question: String,
    multiple: bool,
    closes_at: String,
    closed: bool,
    voters_count: i64,
    votes_count: i64,
    options: Vec<OptionJson>,
    /// Ballots only: eligible members, votes cast, quorum.
    #[serde(skip_serializing_if = "Option::is_none")]
    ballot: Option<polls::BallotState>,
    /// A secret ballot's receipt, in the answer to the vote only.
    #[serde(skip_serializing_if = "Option::is_none")]
    receipt: Option<String>,
}

impl From<Poll> for PollJson {
    fn from(p: Poll) -> Self {
        PollJson {
            visibility: p.object.visibility.clone(),
            closed: p.is_closed(),
            id: p.object.id,
            slug: p.object.slug.clone().unwrap_or_default(),
            url: p.object.ap_id.clone(),
            question: p.object.title.clone(),
            multiple: p.row.multiple,
            closes_at: p
                .row
                .closes_at
                .and_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            voters_count: p.voters,
            ballot: p.ballot.clone(),
            receipt: None,
            votes_count: p.options.iter().map(|(_, n)| n).sum(),
            options: p
                .options
                .into_iter()
                .map(|(o, n)| OptionJson {
                    id: o.id,
                    title: o.name,
                    votes_count: n,
                })
                .collect(),
        }
    }
}

async fn list(
    State(state): State<AppState>,
    reader: crate::http::auth::ApiReader,
) -> Result<Json<serde_json::Value>, AppError> {
    let items = polls::list_polls(&state.ctx, &reader.0, false, 0, 50).await?;
    Ok(Json(serde_json::json!({
        "items": items.into_iter().map(PollJson::from).collect::<Vec<_>>(),
    })))
}

async fn show(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    reader: crate::http::auth::ApiReader,
) -> Result<Json<PollJson>, AppError> {
    let p = polls::get_poll_by_id(&state.ctx, id).await?;
    if p.object.deleted_at.is_some() {
        return Err(AppError::new(StatusCode::GONE, "gone", "This poll was deleted."));
    }
    if !crate::service::conversation::readable(&state.ctx, &reader.0, &p.object).await? {
        return Err(AppError::not_found());
    }
    Ok(Json(p.into()))
}

async fn create(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(input): ApiJson<PollInput>,
) -> Result<(StatusCode, Json<PollJson>), AppError> {
    let p = polls::create_poll(&state.ctx, &user.caller(), &input).await?;
    Ok((StatusCode::CREATED, Json(p.into())))
}

async fn delete(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, AppError> {
    polls::delete_poll(&state.ctx, &user.caller(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Vote {
    /// Option ids (one, unless the poll takes several).
    choices: Vec<i64>,
}

async fn vote(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
    ApiJson(v): ApiJson<Vote>,
) -> Result<Json<PollJson>, AppError> {
    let (poll, receipt) = polls::vote(&state.ctx, &user.caller(), id, &v.choices).await?;
    let mut json = PollJson::from(poll);
    json.receipt = receipt;
    Ok(Json(json))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Receipt {
    receipt: String,
}

/// Whether a secret ballot counted the vote with this receipt, and for what.
async fn receipt(
    State(state): State<AppState>,
    reader: crate::http::auth::ApiReader,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<Receipt>,
) -> Result<Json<serde_json::Value>, AppError> {
    let option = polls::check_receipt(&state.ctx, &reader.0, id, &r.receipt).await?;
    Ok(Json(
        serde_json::json!({ "counted": option.is_some(), "option": option }),
    ))
}
