//! `/api/v1/surveys`: making surveys (editors), answering them (a member's
//! token; one question at a time or all at once), and their results.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ApiJson;
use crate::http::auth::{ApiReader, ApiUser};
use crate::http::error::AppError;
use crate::service::surveys::{self, SurveyInput, SurveyView};
use crate::service::ServiceError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/surveys", get(list).post(create))
        .route("/surveys/{id}", get(show).delete(delete))
        .route("/surveys/{id}/results", get(results))
        .route("/surveys/{id}/responses", axum::routing::post(respond))
        .route("/surveys/{id}/answers/{question}", put(answer_one))
}

#[derive(Serialize)]
struct QuestionJson {
    id: i64,
    kind: String,
    prompt: String,
    required: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    choices: Vec<String>,
}

#[derive(Serialize)]
struct SurveyJson {
    id: i64,
    slug: String,
    url: String,
    title: String,
    description: String,
    audience: String,
    opens_at: String,
    closes_at: String,
    open: bool,
    questions: Vec<QuestionJson>,
    /// A link survey's address to share (editors only).
    #[serde(skip_serializing_if = "Option::is_none")]
    share_url: Option<String>,
}

fn rfc3339(t: chrono::NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn to_json(state: &AppState, v: SurveyView, editor: bool) -> SurveyJson {
    let url = state.ctx.config.url(&format!("/surveys/{}", v.survey.slug));
    let share_url = v
        .survey
        .link_token
        .as_ref()
        .filter(|_| editor)
        .map(|k| format!("{url}?key={k}"));
    SurveyJson {
        open: v.is_open(),
        id: v.survey.id,
        slug: v.survey.slug.clone(),
        url,
        title: v.survey.title.clone(),
        description: v.survey.description.clone(),
        audience: v.survey.audience.clone(),
        opens_at: rfc3339(v.survey.opens_at),
        closes_at: rfc3339(v.survey.closes_at),
        questions: v
            .questions
            .iter()
            .map(|q| QuestionJson {
                id: q.id,
                kind: q.kind.clone(),
                prompt: q.prompt.clone(),
                required: q.required,
                choices: q.choices().into_iter().map(String::from).collect(),
            })
            .collect(),
        share_url,
    }
}

async fn list(State(state): State<AppState>, reader: ApiReader) -> Result<Json<Value>, AppError> {
    let items = surveys::list(&state.ctx, &reader.0).await?;
    let items: Vec<Value> = items
        .into_iter()
        .map(|s| {
            serde_json::json!({"id": s.id, "slug": s.slug, "title": s.title, "audience": s.audience,
                               "opens_at": rfc3339(s.opens_at), "closes_at": rfc3339(s.closes_at)})
        })
        .collect();
    Ok(Json(serde_json::json!({ "items": items })))
}

async fn create(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(input): ApiJson<SurveyInput>,
) -> Result<(StatusCode, Json<SurveyJson>), AppError> {
    let view = surveys::create(&state.ctx, &user.caller(), &input).await?;
    Ok((StatusCode::CREATED, Json(to_json(&state, view, true))))
}

async fn show(
    State(state): State<AppState>,
    reader: ApiReader,
    Path(id): Path<i64>,
) -> Result<Json<SurveyJson>, AppError> {
    let editor = reader.0.can(crate::service::types::UserRole::Editor);
    let view = surveys::open_by_id(&state.ctx, &reader.0, id, None).await?;
    Ok(Json(to_json(&state, view, editor)))
}

async fn delete(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, AppError> {
    surveys::delete(&state.ctx, &user.caller(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn results(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Value>, AppError> {
    let (_, res) = surveys::results(&state.ctx, &user.caller(), id).await?;
    Ok(Json(
        serde_json::to_value(res).map_err(|e| ServiceError::Internal(e.to_string()))?,
    ))
}

/// An answer as JSON: a string or number, or a list for multiple choice.
fn raw_values(v: &Value) -> Result<Vec<String>, AppError> {
    let one = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(AppError::bad_request(
            "Give each answer as a string, a number, or a list of them (multiple choice).",
        )),
    };
    match v {
        Value::Array(items) => items.iter().map(one).collect(),
        Value::Null => Ok(Vec::new()),
        other => Ok(vec![one(other)?]),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Responses {
    /// Question id → answer.
    answers: HashMap<String, Value>,
}

async fn respond(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<Responses>,
) -> Result<StatusCode, AppError> {
    let caller = user.caller();
    let view = surveys::open_by_id(&state.ctx, &caller, id, None).await?;
    let who = surveys::respondent(&state.ctx, &caller, &view, None).await?;
    let mut answers = HashMap::new();
    for (k, v) in &body.answers {
        let qid = k.parse::<i64>().map_err(|_| {
            AppError::bad_request(
                "Key each answer by its question's id, as in \"answers\": {\"12\": \"Yes\"}.",
            )
        })?;
        answers.insert(qid, raw_values(v)?);
    }
    surveys::answer_all(&state.ctx, &view, &who, &answers).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OneAnswer {
    value: Value,
}

async fn answer_one(
    State(state): State<AppState>,
    user: ApiUser,
    Path((id, question)): Path<(i64, i64)>,
    ApiJson(body): ApiJson<OneAnswer>,
) -> Result<StatusCode, AppError> {
    let caller = user.caller();
    let view = surveys::open_by_id(&state.ctx, &caller, id, None).await?;
    let who = surveys::respondent(&state.ctx, &caller, &view, None).await?;
    surveys::answer(&state.ctx, &view, &who, question, &raw_values(&body.value)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
