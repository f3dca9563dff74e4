//! Moderating a conversation: hide a reply (reversible) or delete this
//! server's copy of it (with confirmation). Replies belong to whatever they
//! answer, so these routes serve every content type.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::Router;
use serde::Deserialize;

use super::{gate, ConfirmPage, Layout, Page, WebForm};
use crate::db::models::Object;
use crate::http::error::AppError;
use crate::service::types::{local_redirect_target, UserRole};
use crate::service::{conversation, coop};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/replies/{id}/hide", post(hide))
        .route("/replies/{id}/delete", post(delete))
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
        let coop = coop::get_coop(&state.ctx).await?;
        let l = Layout::for_visitor(&state, &v, &heading, coop.as_ref());
        return Ok(ConfirmPage {
            consequences: vec![v.t.get("replies.delete_consequence").to_string()],
            action: format!("/replies/{id}/delete"),
            fields: vec![],
            confirm_label: v.t.get("replies.delete").to_string(),
            cancel: "/".into(),
            heading,
            l,
            t: v.t,
        }
        .respond(StatusCode::OK));
    }
    let reply = conversation::delete_reply(&state.ctx, &caller, id).await?;
    Ok(back_to(&state, &reply, v.t.get("replies.deleted")))
}
