//! Conversations on the web: members reply (as their own Person actor),
//! moderators hide a reply (reversible) or delete it (with confirmation).
//! Replies belong to whatever they answer, so these routes serve every
//! content type.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::{gate, Layout, Page, WebForm};
use crate::db::models::Object;
use crate::http::error::AppError;
use crate::service::types::{local_redirect_target, UserRole};
use crate::service::{conversation, coop};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/replies/{id}/hide", post(hide))
        .route("/replies/{id}/delete", post(delete))
        .route("/replies/new", get(new_page).post(create))
}

#[derive(Deserialize)]
struct ReplyForm {
    #[serde(default)]
    csrf: String,
    /// `on` hides, anything else shows again.
    #[serde(default)]
    hidden: String,
    #[serde(default)]
    confirm: String,
}

/// The page of what the reply answers, with a notice.
fn back_to(state: &AppState, reply: &Object, notice: &str) -> Response {
    let page = reply
        .in_reply_to
        .as_deref()
        .and_then(|r| local_redirect_target(&state.ctx.config.url("/"), r))
        .unwrap_or_else(|| "/".into());
    let sep = if page.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{page}{sep}done={}#replies", super::url_encode(notice))).into_response()
}

async fn hide(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    v: super::Visitor,
    WebForm(f): WebForm<ReplyForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Moderator, "/", &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let hidden = f.hidden == "on";
    let reply = conversation::hide_reply(&state.ctx, &caller, id, hidden).await?;
    let notice = v.t.get(if hidden { "replies.hidden" } else { "replies.shown" });
    Ok(back_to(&state, &reply, notice))
}

async fn delete(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    v: super::Visitor,
    WebForm(f): WebForm<ReplyForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Moderator, "/", &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    if f.confirm != "yes" {
        let heading = v.t.get("replies.delete_heading").to_string();
        return super::Confirm {
            consequences: vec![v.t.get("replies.delete_consequence").to_string()],
            action: format!("/replies/{id}/delete"),
            fields: vec![],
            confirm_label: v.t.get("replies.delete").to_string(),
            cancel: "/".into(),
            heading,
        }
        .page(&state, v)
        .await;
    }
    let reply = conversation::delete_reply(&state.ctx, &caller, id).await?;
    Ok(back_to(&state, &reply, v.t.get("replies.deleted")))
}

#[derive(Deserialize)]
struct NewReplyForm {
    #[serde(default)]
    csrf: String,
    /// The object answered (row id).
    #[serde(default)]
    to: i64,
    #[serde(default)]
    text: String,
}

/// The page to come back to after replying to `object`: its own page when
/// it is one of ours, else the page of its conversation.
async fn page_of(state: &AppState, object: &Object) -> Result<String, AppError> {
    let root = if object.local && object.in_reply_to.is_none() {
        Some(object.clone())
    } else {
        conversation::root_of(&state.ctx, object).await?
    };
    // Another server's forum thread is shown here at /threads/remote/{id}.
    if let Some(r) = root.as_ref().filter(|r| !r.local) {
        return Ok(format!("/threads/remote/{}", r.id));
    }
    Ok(root
        .and_then(|r| local_redirect_target(&state.ctx.config.url("/"), &r.ap_id))
        .unwrap_or_else(|| "/".into()))
}

async fn create(
    State(state): State<AppState>,
    v: super::Visitor,
    WebForm(f): WebForm<NewReplyForm>,
) -> Result<Response, AppError> {
    let caller = match gate(
        &v,
        UserRole::Member,
        &format!("/replies/new?to={}", f.to),
        &f.csrf,
    )? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let reply = conversation::reply(&state.ctx, &caller, f.to, &f.text).await?;
    let page = page_of(&state, &reply).await?;
    let done = super::url_encode(v.t.get("replies.sent"));
    Ok(Redirect::to(&format!("{page}?done={done}#reply-{}", reply.id)).into_response())
}

#[derive(Template)]
#[template(path = "reply_form.html")]
struct ReplyPage {
    t: crate::i18n::Tr,
    l: Layout,
    heading: String,
    parent: Object,
    back: String,
}
impl Page for ReplyPage {}

#[derive(Deserialize)]
struct ToQuery {
    to: Option<i64>,
}

/// The form to answer one reply of a conversation.
async fn new_page(
    State(state): State<AppState>,
    v: super::Visitor,
    axum::extract::Query(q): axum::extract::Query<ToQuery>,
) -> Result<Response, AppError> {
    let Some(to) = q.to else {
        return Err(AppError::bad_request("Say what to reply to: /replies/new?to=ID."));
    };
    if let Some(r) = super::deny(&v, UserRole::Member, &format!("/replies/new?to={to}")) {
        return Ok(r);
    }
    let parent = conversation::answerable_by_id(&state.ctx, &v.caller(), to).await?;
    let author = coop::find_actor(&state.ctx, parent.author_id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let who = format!("@{}@{}", author.handle, author.domain);
    let heading = v.t.fill("replies.replying_to", &[("who", &who)]);
    let coop = coop::get_coop(&state.ctx).await?;
    let l = Layout::for_visitor(&state, &v, &heading, coop.as_ref());
    Ok(ReplyPage {
        back: page_of(&state, &parent).await?,
        heading,
        parent,
        l,
        t: v.t,
    }
    .respond(StatusCode::OK))
}
