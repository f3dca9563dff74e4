//! Messages on the web: a member's conversations (`/messages`, unread
//! ones marked), one conversation (`/messages/{key}`) with its answer
//! form, a new message to members here (`name`) or elsewhere
//! (`@name@server`), and whether other servers may write to them.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::{deny, gate, Layout, Page, WebForm};
use crate::db::models::Actor;
use crate::http::auth::Visitor;
use crate::http::error::AppError;
use crate::i18n::Tr;
use crate::service::messages::{self, Conversation, Message};
use crate::service::types::UserRole;
use crate::service::{coop, ServiceError};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/messages", get(list).post(create))
        .route("/messages/settings", post(settings))
        .route("/messages/{key}", get(show).post(answer))
}

pub(crate) fn who(a: &Actor) -> String {
    if a.local {
        format!("@{}", a.handle)
    } else {
        format!("@{}@{}", a.handle, a.domain)
    }
}

fn when(t: chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[derive(Template)]
#[template(path = "messages.html")]
struct ListPage {
    t: Tr,
    l: Layout,
    notice: Option<String>,
    conversations: Vec<Conversation>,
    open: bool,
    to: String,
    text: String,
    errors: Vec<(&'static str, String)>,
}
impl Page for ListPage {}
impl ListPage {
    fn field_error(&self, field: &str) -> Option<String> {
        super::field_messages(&self.errors, field)
    }
    fn names(&self, c: &Conversation) -> String {
        c.others.iter().map(who).collect::<Vec<_>>().join(", ")
    }
    fn when(&self, m: &Message) -> String {
        when(m.object.created_at)
    }
}

#[derive(Template)]
#[template(path = "message_thread.html")]
struct ThreadPage {
    t: Tr,
    l: Layout,
    key: String,
    names: String,
    messages: Vec<Message>,
    /// Everyone in it but the viewer: each can be blocked or muted.
    others: Vec<Actor>,
    text: String,
    errors: Vec<(&'static str, String)>,
}
impl Page for ThreadPage {}
impl ThreadPage {
    fn field_error(&self, field: &str) -> Option<String> {
        super::field_messages(&self.errors, field)
    }
    fn who(&self, a: &Actor) -> String {
        who(a)
    }
    fn when(&self, m: &Message) -> String {
        when(m.object.created_at)
    }
    /// Written by someone else in it: it can be reported.
    fn by_someone_else(&self, m: &Message) -> bool {
        self.others.iter().any(|o| o.id == m.author.id)
    }
}

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

async fn list_page(
    state: &AppState,
    v: Visitor,
    notice: Option<String>,
    to: String,
    text: String,
    errors: Vec<(&'static str, String)>,
) -> Result<Response, AppError> {
    let conversations = messages::conversations(&state.ctx, &v.caller()).await?;
    let coop = coop::get_coop(&state.ctx).await?;
    let l = Layout::for_visitor(state, &v, v.t.get("messages.title"), coop.as_ref());
    let open = v.user.as_ref().is_some_and(|u| u.open_to_messages);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(ListPage {
        t: v.t,
        l,
        notice,
        conversations,
        open,
        to,
        text,
        errors,
    }
    .respond(status))
}

async fn list(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<Done>,
) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Member, "/messages") {
        return Ok(r);
    }
    list_page(&state, v, q.done, String::new(), String::new(), Vec::new()).await
}

#[derive(Deserialize)]
struct NewForm {
    #[serde(default)]
    csrf: String,
    /// Usernames here, or `@name@server`, separated by commas or spaces.
    #[serde(default)]
    to: String,
    #[serde(default)]
    text: String,
}

/// The actors typed in a "to" field: `name` (a member here) or
/// `@name@server` (anyone on the fediverse); or what is wrong with one.
pub(crate) async fn recipients(state: &AppState, typed: &str) -> Result<Vec<Actor>, ServiceError> {
    let mut out = Vec::new();
    let ours = state.ctx.config.domain();
    for word in typed
        .split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|w| !w.is_empty())
    {
        let bare = word.trim_start_matches('@');
        let url = word.starts_with("https://") || word.starts_with("http://");
        let local = match bare.split_once('@') {
            _ if url => None,
            None => Some(bare),
            Some((name, host)) if host.eq_ignore_ascii_case(&ours) => Some(name),
            Some(_) => None,
        };
        let actor = match local {
            Some(name) => messages::local_recipient(&state.ctx, name).await?,
            None => super::forums::resolve_remote(state, word)
                .await
                .map_err(|why| ServiceError::invalid("to", why))?,
        };
        out.push(actor);
    }
    if out.is_empty() {
        return Err(ServiceError::invalid(
            "to",
            "Say who the message is for: a username here, or @name@server.",
        ));
    }
    Ok(out)
}

async fn create(
    State(state): State<AppState>,
    v: Visitor,
    WebForm(f): WebForm<NewForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Member, "/messages", &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let sent = match recipients(&state, &f.to).await {
        Ok(to) => messages::send(&state.ctx, &caller, &to, &f.text).await,
        Err(e) => Err(e),
    };
    match sent {
        Ok(_) => {
            let convs = messages::conversations(&state.ctx, &caller).await?;
            let to = convs.first().map(|c| c.key.clone()).unwrap_or_default();
            Ok(Redirect::to(&format!("/messages/{to}")).into_response())
        }
        Err(e @ ServiceError::Invalid { .. }) => {
            list_page(&state, v, None, f.to, f.text, e.field_errors()).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn show(
    State(state): State<AppState>,
    Path(key): Path<String>,
    v: Visitor,
) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Member, &format!("/messages/{key}")) {
        return Ok(r);
    }
    thread_page(&state, v, key, String::new(), Vec::new()).await
}

async fn thread_page(
    state: &AppState,
    v: Visitor,
    key: String,
    text: String,
    errors: Vec<(&'static str, String)>,
) -> Result<Response, AppError> {
    let (messages, others) = messages::conversation(&state.ctx, &v.caller(), &key).await?;
    let names = others.iter().map(who).collect::<Vec<_>>().join(", ");
    let coop = coop::get_coop(&state.ctx).await?;
    let l = Layout::for_visitor(state, &v, &names, coop.as_ref());
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(ThreadPage {
        t: v.t,
        l,
        key,
        names,
        messages,
        others,
        text,
        errors,
    }
    .respond(status))
}

#[derive(Deserialize)]
struct AnswerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
}

async fn answer(
    State(state): State<AppState>,
    Path(key): Path<String>,
    v: Visitor,
    WebForm(f): WebForm<AnswerForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Member, &format!("/messages/{key}"), &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    match messages::answer(&state.ctx, &caller, &key, &f.text).await {
        Ok(_) => Ok(Redirect::to(&format!("/messages/{key}")).into_response()),
        Err(e @ ServiceError::Invalid { .. }) => thread_page(&state, v, key, f.text, e.field_errors()).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct SettingsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    open: String,
}

async fn settings(
    State(state): State<AppState>,
    v: Visitor,
    WebForm(f): WebForm<SettingsForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Member, "/messages", &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    messages::set_open(&state.ctx, &caller, f.open == "on").await?;
    let done = super::url_encode(v.t.get("messages.saved"));
    Ok(Redirect::to(&format!("/messages?done={done}")).into_response())
}
