//! `/api/v1/forums`: our forums (and the other servers' forums the co-op
//! follows), their threads, and posting threads and replies.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::ApiJson;
use crate::db::models::Object;
use crate::federation::json::rfc3339;
use crate::http::auth::ApiUser;
use crate::http::error::AppError;
use crate::service::forums::{self, Forum, ForumInput, ThreadInput};
use crate::service::{conversation, Caller, ServiceError};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/forums", get(list).post(create))
        .route("/forums/{handle}", get(show))
        .route("/forums/{handle}/threads", get(threads).post(create_thread))
        .route("/forums/{handle}/threads/{id}", get(thread))
        .route("/forums/{handle}/threads/{id}/replies", post(reply))
}

#[derive(Serialize)]
struct ForumJson {
    handle: String,
    /// `@handle@domain`: what fediverse apps follow.
    acct: String,
    name: String,
    description: String,
    visibility: String,
    posting_restricted: bool,
    local: bool,
    url: String,
    actor_id: String,
}

fn forum_json(state: &AppState, f: &Forum) -> ForumJson {
    let domain = if f.actor.local {
        state.ctx.config.domain()
    } else {
        f.actor.domain.clone()
    };
    ForumJson {
        handle: f.key(),
        acct: format!("@{}@{domain}", f.actor.handle),
        name: f.actor.name.clone(),
        description: f.actor.summary.clone(),
        visibility: f.row.visibility.clone(),
        posting_restricted: f.row.posting_restricted,
        local: f.actor.local,
        url: state.ctx.config.url(&format!("/forums/{}", f.key())),
        actor_id: f.actor.ap_id.clone(),
    }
}

#[derive(Serialize)]
struct ThreadJson {
    id: i64,
    title: String,
    content_html: String,
    ap_id: String,
    url: String,
    author: String,
    pinned: bool,
    locked: bool,
    replies_count: i64,
    published_at: String,
    last_activity_at: String,
}

fn thread_json(state: &AppState, item: &forums::ThreadItem) -> ThreadJson {
    ThreadJson {
        id: item.object.id,
        title: item.object.title.clone(),
        content_html: item.object.content_html.clone(),
        ap_id: item.object.ap_id.clone(),
        url: state
            .ctx
            .config
            .url(&crate::http::web::forums::thread_href(&item.object)),
        author: item.author.ap_id.clone(),
        pinned: item.thread.pinned,
        locked: item.thread.locked,
        replies_count: item.replies,
        published_at: rfc3339(item.object.published_at.unwrap_or(item.object.created_at)),
        last_activity_at: rfc3339(item.thread.last_activity_at),
    }
}

async fn list(State(state): State<AppState>) -> Result<Json<serde_json::Value>, AppError> {
    let all = forums::list_forums(&state.ctx, &Caller::Anonymous).await?;
    Ok(Json(serde_json::json!({
        "items": all.iter().map(|f| forum_json(&state, f)).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewForum {
    handle: String,
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    visibility: String,
    #[serde(default)]
    posting_restricted: bool,
}

async fn create(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(f): ApiJson<NewForum>,
) -> Result<(StatusCode, Json<ForumJson>), AppError> {
    let input = ForumInput {
        handle: f.handle,
        name: f.name,
        description: f.description,
        visibility: f.visibility,
        posting_restricted: f.posting_restricted,
    };
    let forum = forums::create_forum(&state.ctx, &user.caller(), &input).await?;
    Ok((StatusCode::CREATED, Json(forum_json(&state, &forum))))
}

async fn show(
    State(state): State<AppState>,
    Path(handle): Path<String>,
) -> Result<Json<ForumJson>, AppError> {
    let forum = forums::find_forum(&state.ctx, &Caller::Anonymous, &handle).await?;
    Ok(Json(forum_json(&state, &forum)))
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<i64>,
}

async fn threads(
    State(state): State<AppState>,
    Path(handle): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Json<serde_json::Value>, AppError> {
    let forum = forums::find_forum(&state.ctx, &Caller::Anonymous, &handle).await?;
    let page = q.page.unwrap_or(1).max(1);
    let (items, pages) = forums::threads(&state.ctx, &forum, page).await?;
    Ok(Json(serde_json::json!({
        "page": page,
        "pages": pages,
        "items": items.iter().map(|t| thread_json(&state, t)).collect::<Vec<_>>(),
    })))
}

/// A thread of `handle` by id, if it is one of that forum's.
async fn find(state: &AppState, caller: &Caller, handle: &str, id: i64) -> Result<(Forum, Object), AppError> {
    let forum = forums::find_forum(&state.ctx, caller, handle).await?;
    let object = {
        let mut conn = state.ctx.db.conn().await?;
        crate::db::queries::content::find(&mut conn, id).await?
    }
    .filter(|o| o.kind == "thread")
    .ok_or_else(|| ServiceError::NotFound(format!("There is no thread {id} in {handle}.")))?;
    let (of, _) = forums::thread_of(&state.ctx, caller, &object).await?;
    if of.actor.id != forum.actor.id {
        return Err(ServiceError::NotFound(format!("There is no thread {id} in {handle}.")).into());
    }
    Ok((forum, object))
}

async fn thread(
    State(state): State<AppState>,
    Path((handle, id)): Path<(String, i64)>,
) -> Result<Json<serde_json::Value>, AppError> {
    let caller = Caller::Anonymous;
    let (_, object) = find(&state, &caller, &handle, id).await?;
    let replies = conversation::thread(&state.ctx, &caller, &object).await?;
    Ok(Json(serde_json::json!({
        "id": object.id,
        "title": object.title,
        "content_html": object.content_html,
        "ap_id": object.ap_id,
        "replies": replies.iter().map(|(r, a, depth)| serde_json::json!({
            "id": r.id,
            "ap_id": r.ap_id,
            "in_reply_to": r.in_reply_to,
            "author": a.ap_id,
            "content_html": r.content_html,
            "depth": depth,
        })).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewThread {
    title: String,
    #[serde(default)]
    body: String,
}

async fn create_thread(
    State(state): State<AppState>,
    user: ApiUser,
    Path(handle): Path<String>,
    ApiJson(t): ApiJson<NewThread>,
) -> Result<(StatusCode, Json<serde_json::Value>), AppError> {
    let caller = user.caller();
    let forum = forums::find_forum(&state.ctx, &caller, &handle).await?;
    let o = forums::post_thread(
        &state.ctx,
        &caller,
        &forum,
        &ThreadInput {
            title: t.title,
            body: t.body,
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "id": o.id,
            "title": o.title,
            "ap_id": o.ap_id,
            "url": state.ctx.config.url(&crate::http::web::forums::thread_href(&o)),
        })),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewReply {
    text: String,
    /// A reply in the thread to answer; the thread itself when absent.
    #[serde(default)]
    in_reply_to: Option<i64>,
}

async fn reply(
    State(state): State<AppState>,
    user: ApiUser,
    Path((handle, id)): Path<(String, i64)>,
    ApiJson(r): ApiJson<NewReply>,
) -> Result<(StatusCode, Json<serde_json::Value>), AppError> {
    let caller = user.caller();
    let (_, thread) = find(&state, &caller, &handle, id).await?;
    let parent = r.in_reply_to.unwrap_or(thread.id);
    if parent != thread.id {
        let mut conn = state.ctx.db.conn().await?;
        let in_thread = match crate::db::queries::content::find(&mut conn, parent).await? {
            Some(p) => forums::placement_of(&mut conn, &p)
                .await?
                .is_some_and(|(_, t, _)| t.object_id == thread.id),
            None => false,
        };
        if !in_thread {
            return Err(ServiceError::NotFound(format!("There is no reply {parent} in thread {id}.")).into());
        }
    }
    let o = conversation::reply(&state.ctx, &caller, parent, &r.text).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({"id": o.id, "ap_id": o.ap_id, "in_reply_to": o.in_reply_to})),
    ))
}
