//! Forum pages: the list (ours, and those of other servers the co-op
//! follows), a forum (threads pinned first, then by newest activity, paged,
//! and the new-thread form), a thread (HTML, or its `Page` as ActivityPub
//! JSON at the same URL) with its conversation, and moderation: lock, pin,
//! remove, ban; admins create and configure forums.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::{deny, gate, Layout, Page, WebForm};
use crate::db::models::{Actor, Object};
use crate::http::auth::Visitor;
use crate::http::error::AppError;
use crate::i18n::Tr;
use crate::service::forums::{self, Forum, ForumInput, ThreadInput};
use crate::service::types::UserRole;
use crate::service::{conversation, coop, ServiceError};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/forums", get(list))
        .route("/forums/new", get(new_page).post(create))
        .route("/forums/subscribe", post(subscribe))
        .route("/forums/{key}", get(show))
        .route("/forums/{key}/edit", get(edit_page).post(edit))
        .route("/forums/{key}/threads", post(post_thread))
        .route("/forums/{key}/bans", get(bans_page).post(ban))
        .route("/forums/{key}/bans/{actor}/delete", post(unban))
        .route("/forums/{key}/unsubscribe", post(unsubscribe))
        .route("/threads/{slug}", get(show_local_thread))
        .route("/threads/remote/{id}", get(show_remote_thread))
        .route("/threads/{slug}/lock", post(lock))
        .route("/threads/{slug}/pin", post(pin))
        .route("/threads/{slug}/remove", post(remove))
}

fn date(t: chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn who(a: &Actor) -> String {
    let name = if a.name.trim().is_empty() {
        &a.handle
    } else {
        &a.name
    };
    format!("{name} (@{}@{})", a.handle, a.domain)
}

/// Where a thread is shown here.
pub(crate) fn thread_href(o: &Object) -> String {
    if o.local {
        format!("/threads/{}", o.slug.clone().unwrap_or_default())
    } else {
        format!("/threads/remote/{}", o.id)
    }
}

/// A forum in a list.
pub(crate) struct ForumTeaser {
    pub key: String,
    pub name: String,
    pub handle: String,
    pub description: String,
    pub members_only: bool,
    pub pending: bool,
}

pub(crate) fn teaser(state: &AppState, f: &Forum, pending: bool) -> ForumTeaser {
    let domain = if f.actor.local {
        state.ctx.config.domain()
    } else {
        f.actor.domain.clone()
    };
    ForumTeaser {
        key: f.key(),
        name: f.actor.name.clone(),
        handle: format!("@{}@{domain}", f.actor.handle),
        description: if f.actor.local {
            crate::service::text::render_markdown(&f.actor.summary)
        } else {
            crate::service::text::sanitize_html(&f.actor.summary)
        },
        members_only: !f.is_public(),
        pending,
    }
}

#[derive(Template)]
#[template(path = "forums.html")]
struct ListPage {
    t: Tr,
    l: Layout,
    notice: Option<String>,
    error: Option<String>,
    ours: Vec<ForumTeaser>,
    elsewhere: Vec<ForumTeaser>,
    can_admin: bool,
    can_moderate: bool,
}
impl Page for ListPage {}

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
    page: Option<i64>,
}

async fn list_page(
    state: &AppState,
    v: Visitor,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let caller = v.caller();
    let all = forums::list_forums(&state.ctx, &caller).await?;
    let mut ours = Vec::new();
    let mut elsewhere = Vec::new();
    for f in &all {
        if f.actor.local {
            ours.push(teaser(state, f, false));
        } else {
            let pending = forums::subscription_state(&state.ctx, f).await?
                != Some(crate::db::models::FollowState::Accepted);
            elsewhere.push(teaser(state, f, pending));
        }
    }
    let coop = coop::get_coop(&state.ctx).await?;
    let l = Layout::for_visitor(state, &v, v.t.get("forums.title"), coop.as_ref());
    Ok(ListPage {
        notice,
        error,
        ours,
        elsewhere,
        can_admin: caller.can(UserRole::Admin),
        can_moderate: caller.can(UserRole::Moderator),
        t: v.t,
        l,
    }
    .respond(status))
}

async fn list(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<Done>,
) -> Result<Response, AppError> {
    list_page(&state, v, q.done, None, StatusCode::OK).await
}

/// A thread as the forum page lists it.
struct ThreadLine {
    href: String,
    title: String,
    by: String,
    when: String,
    replies: String,
    pinned: bool,
    locked: bool,
}

#[derive(Template)]
#[template(path = "forum.html")]
struct ForumPage {
    t: Tr,
    l: Layout,
    notice: Option<String>,
    error: Option<String>,
    key: String,
    ap_id: String,
    name: String,
    handle: String,
    description: String,
    follow_help: String,
    public: bool,
    local: bool,
    pending: bool,
    restricted: bool,
    threads: Vec<ThreadLine>,
    page: i64,
    pages: i64,
    page_label: String,
    can_admin: bool,
    can_moderate: bool,
    form_title: String,
    form_body: String,
}
impl Page for ForumPage {}

/// What a forum page shows beside its threads: a notice, or the thread
/// form sent back with its error.
#[derive(Default)]
struct Shown {
    notice: Option<String>,
    error: Option<String>,
    form: ThreadInput,
}

async fn render_forum(
    state: &AppState,
    v: Visitor,
    forum: Forum,
    page: i64,
    shown: Shown,
    status: StatusCode,
) -> Result<Response, AppError> {
    let Shown { notice, error, form } = shown;
    let caller = v.caller();
    let (items, pages) = forums::threads(&state.ctx, &forum, page).await?;
    let page = page.clamp(1, pages);
    let threads = items
        .iter()
        .map(|th| ThreadLine {
            href: thread_href(&th.object),
            title: th.object.title.clone(),
            by: v.t.fill("forums.by", &[("who", &who(&th.author))]),
            when: date(th.thread.last_activity_at),
            replies: if th.replies == 1 {
                v.t.get("forums.replies_one").to_string()
            } else {
                v.t.fill("forums.replies_count", &[("n", &th.replies.to_string())])
            },
            pinned: th.thread.pinned,
            locked: th.thread.locked,
        })
        .collect();
    let pending = !forum.actor.local
        && forums::subscription_state(&state.ctx, &forum).await?
            != Some(crate::db::models::FollowState::Accepted);
    let t_handle = teaser(state, &forum, pending);
    let coop = coop::get_coop(&state.ctx).await?;
    let l = Layout::for_visitor(state, &v, &forum.actor.name, coop.as_ref());
    Ok(ForumPage {
        notice,
        error,
        key: forum.key(),
        ap_id: forum.actor.ap_id.clone(),
        name: forum.actor.name.clone(),
        follow_help: v.t.fill("forums.follow_help", &[("handle", &t_handle.handle)]),
        handle: t_handle.handle,
        description: t_handle.description,
        public: forum.is_public(),
        local: forum.actor.local,
        pending,
        restricted: forum.row.posting_restricted,
        threads,
        page,
        pages,
        page_label: v.t.fill(
            "forums.page",
            &[("n", &page.to_string()), ("of", &pages.to_string())],
        ),
        can_admin: caller.can(UserRole::Admin),
        can_moderate: caller.can(UserRole::Moderator),
        form_title: form.title,
        form_body: form.body,
        t: v.t,
        l,
    }
    .respond(status))
}

async fn show(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(q): Query<Done>,
    headers: HeaderMap,
    v: Visitor,
) -> Result<Response, AppError> {
    let forum = forums::find_forum(&state.ctx, &v.caller(), &key).await?;
    // Our forum's Group document answers at its page too.
    if forum.actor.local && forum.is_public() && crate::federation::routes::wants_activity_json(&headers) {
        return Ok(Redirect::to(&forum.actor.ap_id).into_response());
    }
    render_forum(
        &state,
        v,
        forum,
        q.page.unwrap_or(1),
        Shown {
            notice: q.done,
            ..Default::default()
        },
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
struct ThreadForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
}

async fn post_thread(
    State(state): State<AppState>,
    Path(key): Path<String>,
    v: Visitor,
    WebForm(f): WebForm<ThreadForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Member, &format!("/forums/{key}"), &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let forum = forums::find_forum(&state.ctx, &caller, &key).await?;
    let input = ThreadInput {
        title: f.title,
        body: f.body,
    };
    match forums::post_thread(&state.ctx, &caller, &forum, &input).await {
        Ok(o) => Ok(Redirect::to(&thread_href(&o)).into_response()),
        Err(e @ ServiceError::Invalid { .. }) => {
            let msg = e.to_string();
            render_forum(
                &state,
                v,
                forum,
                1,
                Shown {
                    notice: None,
                    error: Some(msg),
                    form: input,
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(ServiceError::Forbidden(msg)) => {
            render_forum(
                &state,
                v,
                forum,
                1,
                Shown {
                    notice: None,
                    error: Some(msg),
                    form: input,
                },
                StatusCode::FORBIDDEN,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "forum_form.html")]
struct FormPage {
    t: Tr,
    l: Layout,
    heading: String,
    action: String,
    submit: String,
    creating: bool,
    handle: String,
    handle_help: String,
    name: String,
    description: String,
    visibility: String,
    restricted: bool,
    error: Option<String>,
    errors: Vec<(&'static str, String)>,
}
impl Page for FormPage {}

impl FormPage {
    fn field_error(&self, field: &str) -> Option<String> {
        super::field_messages(&self.errors, field)
    }
}

async fn form_page(
    state: &AppState,
    v: Visitor,
    editing: Option<&Forum>,
    input: ForumInput,
    errors: Vec<(&'static str, String)>,
) -> Result<FormPage, AppError> {
    let coop = coop::get_coop(&state.ctx).await?;
    let heading =
        v.t.get(if editing.is_some() {
            "forums.heading_edit"
        } else {
            "forums.heading_new"
        })
        .to_string();
    let l = Layout::for_visitor(state, &v, &heading, coop.as_ref());
    let error = (!errors.is_empty()).then(|| v.t.fill("news.fix", &[("n", &errors.len().to_string())]));
    Ok(FormPage {
        l,
        heading,
        action: match editing {
            Some(f) => format!("/forums/{}/edit", f.key()),
            None => "/forums/new".into(),
        },
        submit: v
            .t
            .get(if editing.is_some() {
                "forums.save"
            } else {
                "forums.create"
            })
            .to_string(),
        creating: editing.is_none(),
        handle_help: v
            .t
            .fill("forums.handle_help", &[("domain", &state.ctx.config.domain())]),
        handle: input.handle,
        name: input.name,
        description: input.description,
        visibility: input.visibility,
        restricted: input.posting_restricted,
        error,
        errors,
        t: v.t,
    })
}

async fn new_page(State(state): State<AppState>, v: Visitor) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Admin, "/forums/new") {
        return Ok(r);
    }
    Ok(form_page(&state, v, None, ForumInput::default(), Vec::new())
        .await?
        .respond(StatusCode::OK))
}

#[derive(Deserialize)]
struct ForumForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    handle: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    visibility: String,
    #[serde(default)]
    posting_restricted: String,
}

impl ForumForm {
    fn input(self) -> ForumInput {
        ForumInput {
            handle: self.handle,
            name: self.name,
            description: self.description,
            visibility: self.visibility,
            posting_restricted: self.posting_restricted == "on",
        }
    }
}

async fn create(
    State(state): State<AppState>,
    v: Visitor,
    WebForm(f): WebForm<ForumForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Admin, "/forums/new", &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let input = f.input();
    match forums::create_forum(&state.ctx, &caller, &input).await {
        Ok(forum) => Ok(Redirect::to(&format!("/forums/{}", forum.key())).into_response()),
        Err(e @ ServiceError::Invalid { .. }) => {
            let errors = e.field_errors();
            Ok(form_page(&state, v, None, input, errors)
                .await?
                .respond(StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(e) => Err(e.into()),
    }
}

async fn edit_page(
    State(state): State<AppState>,
    Path(key): Path<String>,
    v: Visitor,
) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Admin, &format!("/forums/{key}/edit")) {
        return Ok(r);
    }
    let forum = forums::find_forum(&state.ctx, &v.caller(), &key).await?;
    let input = ForumInput {
        handle: forum.actor.handle.clone(),
        name: forum.actor.name.clone(),
        description: forum.actor.summary.clone(),
        visibility: forum.row.visibility.clone(),
        posting_restricted: forum.row.posting_restricted,
    };
    Ok(form_page(&state, v, Some(&forum), input, Vec::new())
        .await?
        .respond(StatusCode::OK))
}

async fn edit(
    State(state): State<AppState>,
    Path(key): Path<String>,
    v: Visitor,
    WebForm(f): WebForm<ForumForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Admin, &format!("/forums/{key}/edit"), &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let forum = forums::find_forum(&state.ctx, &caller, &key).await?;
    let input = f.input();
    match forums::update_forum(&state.ctx, &caller, &forum, &input).await {
        Ok(forum) => {
            let done = super::url_encode(v.t.get("settings.saved"));
            Ok(Redirect::to(&format!("/forums/{}?done={done}", forum.key())).into_response())
        }
        Err(e @ ServiceError::Invalid { .. }) => {
            let errors = e.field_errors();
            Ok(form_page(&state, v, Some(&forum), input, errors)
                .await?
                .respond(StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(e) => Err(e.into()),
    }
}

/// `@handle@domain`, Lemmy's `!community@domain`, or an actor URL, loaded
/// as a remote actor; or why not, for the person who typed it.
pub(crate) async fn resolve_remote(state: &AppState, typed: &str) -> Result<Actor, String> {
    let typed = typed.trim();
    let target = if typed.starts_with("https://") || typed.starts_with("http://") {
        typed.to_string()
    } else {
        let as_acct = typed.trim_start_matches('!').trim_start_matches('@');
        let Some((user, domain)) = crate::service::types::parse_account(&format!("@{as_acct}")) else {
            return Err(
                "Enter the address as @name@server.example (or !community@server.example), or the URL."
                    .into(),
            );
        };
        state
            .federation
            .resolve_account(&user, &domain)
            .await
            .map_err(|e| {
                format!(
                    "Could not find {user}@{domain}: {}. Check the address.",
                    e.for_people()
                )
            })?
    };
    let actor = state
        .federation
        .fetch_actor(&target)
        .await
        .map_err(|e| format!("Could not load {target}: {}. Check the address.", e.for_people()))?;
    let allowed = crate::service::moderation::policy(&state.ctx)
        .await
        .map_err(|e| e.to_string())?
        .allows(&actor.domain);
    if !allowed {
        return Err("That server is blocked or not on the allow-list.".into());
    }
    Ok(actor)
}

#[derive(Deserialize)]
struct AddressForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    address: String,
}

async fn subscribe(
    State(state): State<AppState>,
    v: Visitor,
    WebForm(f): WebForm<AddressForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Moderator, "/forums", &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let group = match resolve_remote(&state, &f.address).await {
        Ok(a) => a,
        Err(msg) => return list_page(&state, v, None, Some(msg), StatusCode::UNPROCESSABLE_ENTITY).await,
    };
    match forums::subscribe(&state.ctx, &caller, &group).await {
        Ok(forum) => {
            let done = super::url_encode(&v.t.fill("forums.subscribed", &[("name", &forum.actor.name)]));
            Ok(Redirect::to(&format!("/forums?done={done}")).into_response())
        }
        Err(ServiceError::Invalid { message, .. }) => {
            list_page(&state, v, None, Some(message), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "thread.html")]
struct ThreadPage {
    t: Tr,
    l: Layout,
    notice: Option<String>,
    item: Object,
    forum_key: String,
    forum_name: String,
    forum_local: bool,
    by: String,
    when: String,
    origin: String,
    pinned: bool,
    locked: bool,
    reactions: String,
    replies: Vec<(Object, Actor, String, usize)>,
    can_moderate: bool,
}
impl Page for ThreadPage {}

async fn render_thread(
    state: &AppState,
    v: Visitor,
    object: Object,
    forum: Forum,
    thread: crate::db::models::ThreadRow,
    notice: Option<String>,
) -> Result<Response, AppError> {
    let caller = v.caller();
    let author = coop::find_actor(&state.ctx, object.author_id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let replies = super::news::conversation_of(state, &caller, &object).await?;
    let counts = conversation::interactions(&state.ctx, &object).await?;
    let coop = coop::get_coop(&state.ctx).await?;
    let l = Layout::for_visitor(state, &v, &object.title, coop.as_ref());
    Ok(ThreadPage {
        notice,
        forum_key: forum.key(),
        forum_name: forum.actor.name.clone(),
        forum_local: forum.actor.local,
        by: who(&author),
        when: date(object.published_at.unwrap_or(object.created_at)),
        origin: author.domain.clone(),
        pinned: thread.pinned,
        locked: thread.locked,
        reactions: super::news::reactions_text(&v.t, &counts),
        replies,
        can_moderate: caller.can(UserRole::Moderator),
        item: object,
        t: v.t,
        l,
    }
    .respond(StatusCode::OK))
}

async fn show_local_thread(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<Done>,
    headers: HeaderMap,
    v: Visitor,
) -> Result<Response, AppError> {
    let (object, forum, thread) = match forums::find_thread(&state.ctx, &v.caller(), Some(&slug), None).await
    {
        Ok(found) => found,
        Err(ServiceError::NotFound(msg)) => {
            // A removed thread: gone, as its Delete said.
            let mut conn = state.ctx.db.conn().await?;
            let gone = crate::db::queries::content::find_local_by_slug(&mut conn, "thread", &slug)
                .await?
                .is_some_and(|o| o.deleted_at.is_some());
            if gone {
                return Err(AppError::new(
                    StatusCode::GONE,
                    "gone",
                    "This thread was removed.",
                ));
            }
            return Err(ServiceError::NotFound(msg).into());
        }
        Err(e) => return Err(e.into()),
    };
    if crate::federation::routes::wants_activity_json(&headers) {
        if !forum.is_public() {
            return Err(AppError::not_found());
        }
        crate::federation::routes::authorize_fetch(&state, &headers, &format!("/threads/{slug}")).await?;
        return crate::federation::routes::object_response(&state, &object).await;
    }
    render_thread(&state, v, object, forum, thread, q.done).await
}

async fn show_remote_thread(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<Done>,
    v: Visitor,
) -> Result<Response, AppError> {
    let (object, forum, thread) = forums::find_thread(&state.ctx, &v.caller(), None, Some(id)).await?;
    render_thread(&state, v, object, forum, thread, q.done).await
}

#[derive(Deserialize)]
struct FlagForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    on: String,
}

async fn thread_by_id(state: &AppState, v: &Visitor, id: i64) -> Result<Object, AppError> {
    let mut conn = state.ctx.db.conn().await?;
    let object = crate::db::queries::content::find(&mut conn, id)
        .await?
        .filter(|o| o.deleted_at.is_none())
        .ok_or_else(AppError::not_found)?;
    drop(conn);
    if object.kind == "thread" {
        forums::thread_of(&state.ctx, &v.caller(), &object).await?;
    }
    Ok(object)
}

async fn flag(state: AppState, id: i64, v: Visitor, f: FlagForm, lock: bool) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Moderator, "/forums", &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let object = thread_by_id(&state, &v, id).await?;
    let on = f.on == "on";
    if lock {
        forums::set_locked(&state.ctx, &caller, &object, on).await?;
    } else {
        forums::set_pinned(&state.ctx, &caller, &object, on).await?;
    }
    Ok(Redirect::to(&thread_href(&object)).into_response())
}

async fn lock(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    v: Visitor,
    WebForm(f): WebForm<FlagForm>,
) -> Result<Response, AppError> {
    flag(state, id, v, f, true).await
}

async fn pin(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    v: Visitor,
    WebForm(f): WebForm<FlagForm>,
) -> Result<Response, AppError> {
    flag(state, id, v, f, false).await
}

#[derive(Deserialize)]
struct RemoveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    reason: String,
}

/// Removes a thread or a reply (with a confirmation first, and a reason).
async fn remove(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    v: Visitor,
    WebForm(f): WebForm<RemoveForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Moderator, "/forums", &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let object = thread_by_id(&state, &v, id).await?;
    let back = match conversation::root_of(&state.ctx, &object).await? {
        Some(root) if object.kind != "thread" => thread_href(&root),
        _ => thread_href(&object),
    };
    if f.confirm != "yes" {
        let what = if object.title.is_empty() {
            crate::service::text::title_from_html(&object.content_html)
        } else {
            object.title.clone()
        };
        return super::Confirm {
            heading: format!("{} {what}", v.t.get("forums.remove_confirm")),
            consequences: vec![v.t.get("forums.remove_consequence").to_string()],
            action: format!("/threads/{id}/remove"),
            fields: vec![("reason".into(), f.reason.clone())],
            confirm_label: v.t.get("forums.remove").to_string(),
            cancel: back,
        }
        .page(&state, v)
        .await;
    }
    let forum = forums::remove_post(&state.ctx, &caller, &object, &f.reason).await?;
    let done = super::url_encode(v.t.get("forums.removed"));
    let to = if object.kind == "thread" {
        format!("/forums/{}?done={done}", forum.key())
    } else {
        format!("{back}?done={done}")
    };
    Ok(Redirect::to(&to).into_response())
}

#[derive(Template)]
#[template(path = "forum_bans.html")]
struct BansPage {
    t: Tr,
    l: Layout,
    notice: Option<String>,
    error: Option<String>,
    heading: String,
    key: String,
    bans: Vec<(Actor, String)>,
}
impl Page for BansPage {}

async fn render_bans(
    state: &AppState,
    v: Visitor,
    forum: Forum,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let bans = forums::bans(&state.ctx, &v.caller(), &forum).await?;
    let heading = v.t.fill("forums.ban_heading", &[("name", &forum.actor.name)]);
    let coop = coop::get_coop(&state.ctx).await?;
    let l = Layout::for_visitor(state, &v, &heading, coop.as_ref());
    Ok(BansPage {
        notice,
        error,
        heading,
        key: forum.key(),
        bans,
        t: v.t,
        l,
    }
    .respond(status))
}

async fn bans_page(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(q): Query<Done>,
    v: Visitor,
) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Moderator, &format!("/forums/{key}/bans")) {
        return Ok(r);
    }
    let forum = forums::find_forum(&state.ctx, &v.caller(), &key).await?;
    render_bans(&state, v, forum, q.done, None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct BanForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    reason: String,
}

async fn ban(
    State(state): State<AppState>,
    Path(key): Path<String>,
    v: Visitor,
    WebForm(f): WebForm<BanForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Moderator, &format!("/forums/{key}/bans"), &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let forum = forums::find_forum(&state.ctx, &caller, &key).await?;
    let known = crate::service::remote::find_actor(&state.ctx, f.actor.trim()).await?;
    let actor = match known {
        Some(a) => a,
        None => match resolve_remote(&state, &f.actor).await {
            Ok(a) => a,
            Err(msg) => {
                return render_bans(
                    &state,
                    v,
                    forum,
                    None,
                    Some(msg),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
        },
    };
    forums::ban(&state.ctx, &caller, &forum, &actor, &f.reason).await?;
    let done = super::url_encode(&v.t.fill("forums.banned", &[("who", &actor.ap_id)]));
    Ok(Redirect::to(&format!("/forums/{key}/bans?done={done}")).into_response())
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

async fn unban(
    State(state): State<AppState>,
    Path((key, actor)): Path<(String, i64)>,
    v: Visitor,
    WebForm(f): WebForm<CsrfOnly>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Moderator, &format!("/forums/{key}/bans"), &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let forum = forums::find_forum(&state.ctx, &caller, &key).await?;
    forums::unban(&state.ctx, &caller, &forum, actor).await?;
    Ok(Redirect::to(&format!("/forums/{key}/bans")).into_response())
}

/// Stops following another server's forum (a confirmation first).
async fn unsubscribe(
    State(state): State<AppState>,
    Path(key): Path<String>,
    v: Visitor,
    WebForm(f): WebForm<RemoveForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Moderator, &format!("/forums/{key}"), &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let forum = forums::find_forum(&state.ctx, &caller, &key).await?;
    if f.confirm != "yes" {
        return super::Confirm {
            heading: v
                .t
                .fill("forums.unsubscribe_confirm", &[("name", &forum.actor.name)]),
            consequences: vec![v.t.get("forums.unsubscribe_consequence").to_string()],
            action: format!("/forums/{key}/unsubscribe"),
            fields: vec![],
            confirm_label: v.t.get("forums.unsubscribe").to_string(),
            cancel: format!("/forums/{key}"),
        }
        .page(&state, v)
        .await;
    }
    forums::unsubscribe(&state.ctx, &caller, &forum).await?;
    let done = super::url_encode(&v.t.fill("forums.unsubscribed", &[("name", &forum.actor.name)]));
    Ok(Redirect::to(&format!("/forums?done={done}")).into_response())
}
