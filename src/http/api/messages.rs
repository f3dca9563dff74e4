//! `/api/v1/messages`: a member's conversations, one conversation, and
//! sending (to `name` here or `@name@server`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::ApiJson;
use crate::federation::json::rfc3339;
use crate::http::auth::ApiUser;
use crate::http::error::AppError;
use crate::service::messages::{self, Message};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/messages", get(list).post(send))
        .route("/messages/{key}", get(show))
}

#[derive(Serialize)]
struct MessageJson {
    id: String,
    from: String,
    content_html: String,
    created_at: String,
    unread: bool,
}

impl From<Message> for MessageJson {
    fn from(m: Message) -> Self {
        MessageJson {
            id: m.object.ap_id,
            from: m.author.ap_id,
            content_html: m.object.content_html,
            created_at: rfc3339(m.object.created_at),
            unread: m.unread,
        }
    }
}

async fn list(State(state): State<AppState>, user: ApiUser) -> Result<Json<serde_json::Value>, AppError> {
    let items: Vec<serde_json::Value> = messages::conversations(&state.ctx, &user.caller())
        .await?
        .into_iter()
        .map(|c| {
            serde_json::json!({
                "key": c.key,
                "with": c.others.iter().map(|a| a.ap_id.clone()).collect::<Vec<_>>(),
                "unread": c.unread,
                "last": MessageJson::from(c.last),
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "items": items })))
}

async fn show(
    State(state): State<AppState>,
    user: ApiUser,
    Path(key): Path<String>,
) -> Result<Json<serde_json::Value>, AppError> {
    let (list, others) = messages::conversation(&state.ctx, &user.caller(), &key).await?;
    Ok(Json(serde_json::json!({
        "key": key,
        "with": others.iter().map(|a| a.ap_id.clone()).collect::<Vec<_>>(),
        "items": list.into_iter().map(MessageJson::from).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendInput {
    /// Usernames here or `@name@server`.
    to: Vec<String>,
    text: String,
}

async fn send(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(input): ApiJson<SendInput>,
) -> Result<(StatusCode, Json<serde_json::Value>), AppError> {
    let to = crate::http::web::messages::recipients(&state, &input.to.join(",")).await?;
    let o = messages::send(&state.ctx, &user.caller(), &to, &input.text).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({"id": o.ap_id, "content_html": o.content_html})),
    ))
}
