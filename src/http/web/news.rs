//! News pages: reading (HTML, or ActivityPub JSON at the same URL), writing,
//! editing, deleting, and each post's federation status; and the "follow
//! from your fediverse account" form.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::{deny, Layout, Page, WebForm};
use crate::db::models::{DeliveryState, Object};
use crate::http::auth::Visitor;
use crate::http::error::AppError;
use crate::http::AppState;
use crate::i18n::Tr;
use crate::service::news::{self, NewsInput};
use crate::service::types::UserRole;
use crate::service::{conversation, coop, ServiceError};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/news", get(archive))
        .route("/news/new", get(new_page).post(create))
        .route("/news/{slug}", get(show))
        .route("/news/{slug}/edit", get(edit_page).post(update))
        .route("/news/{slug}/delete", post(delete))
        .route("/news/{slug}/status", get(status))
        .route("/follow", post(remote_follow))
}

#[derive(Template)]
#[template(path = "news.html")]
struct NewsPage {
    t: Tr,
    l: Layout,
    item: Object,
    slug: String,
    published: String,
    published_iso: String,
    /// (RFC 3339, for people)
    updated: Option<(String, String)>,
    reactions: String,
    can_edit: bool,
    lang: String,
    follow_help: String,
    follow_value: String,
    follow_error: Option<String>,
    /// Draft or scheduled: said on the page (only editors see it then).
    state_note: Option<String>,
    /// The conversation in reading order: (reply, author, date, depth).
    replies: Vec<(Object, crate::db::models::Actor, String, usize)>,
    /// Moderators hide and delete replies.
    can_moderate: bool,
    notice: Option<String>,
    /// For editors: what became of its newsletter, or whether it can be sent.
    newsletter: Option<String>,
    can_send_newsletter: bool,
}
impl Page for NewsPage {}

fn iso(t: chrono::NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[derive(Template)]
#[template(path = "news_list.html")]
struct ArchivePage {
    t: Tr,
    l: Layout,
    items: Vec<super::Teaser>,
    page: i64,
    pages: i64,
    page_text: String,
    can_write: bool,
    lang: String,
    outbox: String,
    /// Drafts and scheduled news, for editors: (teaser, state).
    unpublished: Vec<(super::Teaser, String)>,
}
impl Page for ArchivePage {}

pub const ARCHIVE_PAGE_SIZE: i64 = 20;

#[derive(Deserialize)]
struct PageQuery {
    page: Option<String>,
}

/// All news, newest first, 20 a page, with dates.
async fn archive(
    State(state): State<AppState>,
    v: Visitor,
    axum::extract::Query(q): axum::extract::Query<PageQuery>,
) -> Result<Response, AppError> {
    let page = match q.page.as_deref().map(str::parse::<i64>) {
        None => 1,
        Some(Ok(n)) if n >= 1 => n,
        Some(_) => {
            return Err(AppError::bad_request(
                "The page number must be a whole number from 1.",
            ))
        }
    };
    let coop = coop::get_coop(&state.ctx)
        .await?
        .ok_or_else(|| ServiceError::NotFound("The co-op is not set up yet.".into()))?;
    let (items, total) = news::list_news(&state.ctx, &v.caller(), page - 1, ARCHIVE_PAGE_SIZE).await?;
    let pages = ((total + ARCHIVE_PAGE_SIZE - 1) / ARCHIVE_PAGE_SIZE).max(1);
    if page > pages {
        return Err(AppError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("There are only {pages} pages of news."),
        ));
    }
    let l = Layout::for_visitor(&state, &v, v.t.get("news.archive_title"), Some(&coop));
    let can_write = v.role().is_some_and(|r| r >= UserRole::Editor);
    let unpublished = if can_write && page == 1 {
        news::list_unpublished(&state.ctx)
            .await?
            .iter()
            .map(|o| (super::teaser(o), state_text(&v.t, o).unwrap_or_default()))
            .collect()
    } else {
        Vec::new()
    };
    Ok(ArchivePage {
        unpublished,
        page_text: v.t.fill(
            "news.archive_page",
            &[("page", &page.to_string()), ("pages", &pages.to_string())],
        ),
        can_write,
        lang: super::content_lang(&coop),
        outbox: format!("{}/outbox", coop.ap_id),
        items: items.iter().map(super::teaser).collect(),
        page,
        pages,
        t: v.t,
        l,
    }
    .respond(StatusCode::OK))
}

fn date(t: chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%d").to_string()
}

#[derive(Deserialize)]
struct ShowQuery {
    done: Option<String>,
}

async fn show(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    axum::extract::Query(q): axum::extract::Query<ShowQuery>,
    headers: HeaderMap,
    v: Visitor,
) -> Result<Response, AppError> {
    let item = news::get_news(&state.ctx, &slug).await?;
    if crate::federation::routes::wants_activity_json(&headers) {
        return crate::federation::routes::serve_object(&state, &headers, &format!("/news/{slug}"), &item)
            .await;
    }
    if item.deleted_at.is_some() {
        // Only what was open says it is gone; the rest was never there.
        if !crate::db::models::Visibility::from_db(&item.visibility).is_open() {
            return Err(AppError::not_found());
        }
        return Err(AppError::new(StatusCode::GONE, "gone", "This news was deleted."));
    }

    let editor = v.role().is_some_and(|r| r >= UserRole::Editor);
    // Drafts and scheduled news: only editors see them; members-only news,
    // members too.
    let state_note = state_text(&v.t, &item);
    if !editor && !conversation::readable(&state.ctx, &v.caller(), &item).await? {
        return Err(AppError::not_found());
    }
    let replies = conversation_of(&state, &v.caller(), &item).await?;
    let coop = coop::get_coop(&state.ctx).await?;
    let counts = conversation::interactions(&state.ctx, &item).await?;
    let reactions = reactions_text(&v.t, &counts);
    let l = Layout::for_visitor(&state, &v, &item.title, coop.as_ref());
    let can_edit = v.role().is_some_and(|r| r >= UserRole::Editor);
    let v_can_moderate = v.caller().can(UserRole::Moderator);
    let follow_help = coop
        .as_ref()
        .map(|c| {
            v.t.fill(
                "home.follow_help",
                &[("handle", &format!("@{}@{}", c.handle, c.domain))],
            )
        })
        .unwrap_or_default();
    let at = item.published_at.unwrap_or(item.created_at);
    let sent = crate::service::newsletter::of_news(&state.ctx, &v.caller(), item.id)
        .await?
        .filter(|n| n.newsletter.status != "cancelled");
    let can_send_newsletter = can_edit
        && sent.is_none()
        && crate::service::mail::configured(&state.ctx.config)
        && item.status == "published";
    let newsletter = sent.map(|n| {
        v.t.fill(
            "newsletter.already_sent",
            &[
                ("sent", &n.sent.to_string()),
                ("failed", &n.failed.to_string()),
                ("queued", &n.queued.to_string()),
            ],
        )
    });
    Ok(NewsPage {
        newsletter,
        can_send_newsletter,
        published: date(at),
        published_iso: iso(at),
        updated: item.updated_at.map(|u| (iso(u), date(u))),
        lang: coop.as_ref().map(super::content_lang).unwrap_or_default(),
        follow_help,
        follow_value: String::new(),
        follow_error: None,
        state_note,
        t: v.t,
        l,
        slug,
        item,
        reactions,
        can_edit,
        replies,
        can_moderate: v_can_moderate,
        notice: q.done,
    }
    .respond(StatusCode::OK))
}

/// The conversation under a content page, in reading order:
/// (reply, author, date, depth).
pub(crate) async fn conversation_of(
    state: &AppState,
    caller: &crate::service::Caller,
    item: &Object,
) -> Result<Vec<(Object, crate::db::models::Actor, String, usize)>, AppError> {
    Ok(conversation::thread(&state.ctx, caller, item)
        .await?
        .into_iter()
        .map(|(r, a, depth)| {
            let at = date(r.published_at.unwrap_or(r.created_at));
            (r, a, at, depth)
        })
        .collect())
}

/// "3 likes · 1 boost · 2 replies".
pub(crate) fn reactions_text(t: &Tr, counts: &conversation::Interactions) -> String {
    t.fill(
        "news.reactions",
        &[
            ("likes", &counts.likes.to_string()),
            ("boosts", &counts.shares.to_string()),
            ("replies", &counts.replies.to_string()),
        ],
    )
}

#[derive(Template)]
#[template(path = "news_form.html")]
struct FormPage {
    t: Tr,
    l: Layout,
    heading: String,
    action: String,
    submit: String,
    delete_action: Option<String>,
    form: NewsInput,
    error: Option<String>,
    /// (field, message), each shown next to its field.
    errors: Vec<(&'static str, String)>,
    notice: Option<String>,
    /// (summary, HTML) after Preview.
    preview: Option<(String, String)>,
    /// Drafts can be saved as drafts; published news only edited.
    can_draft: bool,
    /// What the news is now: draft, scheduled for ..., published.
    state_text: Option<String>,
    /// This server sends mail and the item has no newsletter yet.
    offer_newsletter: bool,
}
impl Page for FormPage {}

impl FormPage {
    /// The messages for one field, joined.
    fn field_error(&self, field: &str) -> Option<String> {
        super::field_messages(&self.errors, field)
    }
}

#[derive(Deserialize)]
struct NewsForm {
    #[serde(default)]
    csrf: String,
    /// Which button: `publish` (or save), `draft`, `preview`.
    #[serde(default)]
    action: String,
    /// The "also send by email" checkbox (a flattened bool would not
    /// parse from a form's text).
    #[serde(default)]
    newsletter: Option<String>,
    #[serde(flatten)]
    input: NewsInput,
}

impl NewsForm {
    fn input(&self) -> NewsInput {
        NewsInput {
            draft: self.action == "draft",
            newsletter: self.newsletter.is_some(),
            ..self.input.clone()
        }
    }
}

#[derive(Deserialize)]
struct ResumeQuery {
    resume: Option<String>,
}

/// The form's current state, shown above it.
fn state_text(t: &Tr, o: &Object) -> Option<String> {
    match news::publication(o) {
        news::Publication::Draft => Some(t.get("news.state_draft").to_string()),
        news::Publication::Scheduled(at) => Some(t.fill(
            "news.state_scheduled",
            &[("at", &at.format("%Y-%m-%d %H:%M UTC").to_string())],
        )),
        news::Publication::Published => None,
    }
}

/// The cookie that names a kept text: only the browser that typed it gets
/// it back (a link cannot plant text in someone else's form).
const KEPT_COOKIE: &str = "ic_kept";
/// Texts larger than this are not kept in memory.
const MAX_KEPT_BYTES: usize = 200 * 1024;

/// A POST whose session ran out: the text is kept for this browser, and
/// the login leads back to the form with it. Without an expired session
/// (someone who was never logged in) nothing is kept.
fn keep_for_login(state: &AppState, v: &Visitor, back_to: &str, input: NewsInput) -> Response {
    let size = input.title.len()
        + input.summary.len()
        + input.body.len()
        + input.image_url.len()
        + input.image_alt.len();
    // The path comes from the request: escaped so that it cannot end the query.
    let back_to = super::next_value(back_to);
    if !v.session_expired || size > MAX_KEPT_BYTES {
        return Redirect::to(&format!("/login?next={back_to}")).into_response();
    }
    let token = crate::crypto::random_token();
    state.pending_news.insert(&token, input);
    let mut resp =
        Redirect::to(&format!("/login?next={back_to}%3Fresume%3D1&expired=1&kept=1")).into_response();
    resp.headers_mut().append(
        axum::http::header::SET_COOKIE,
        crate::http::auth::set_cookie(state, KEPT_COOKIE, &token, Some(3600)),
    );
    resp
}

/// The text kept for this browser, once: it is forgotten when given back.
fn take_kept(state: &AppState, headers: &HeaderMap, resume: bool) -> Option<NewsInput> {
    if !resume {
        return None;
    }
    let token = crate::http::auth::cookie(headers, KEPT_COOKIE)?;
    let kept = state.pending_news.get(&token);
    state.pending_news.remove(&token);
    kept
}

struct FormExtras {
    error: Option<String>,
    errors: Vec<(&'static str, String)>,
    notice: Option<String>,
    preview: Option<(String, String)>,
    existing: Option<Object>,
}

async fn form_page(
    state: &AppState,
    v: Visitor,
    slug: Option<&str>,
    form: NewsInput,
    extras: FormExtras,
) -> Result<FormPage, AppError> {
    let coop = coop::get_coop(&state.ctx).await?;
    let (heading, action, delete_action) = match slug {
        None => (
            v.t.get("news.heading_new").to_string(),
            "/news/new".to_string(),
            None,
        ),
        Some(s) => (
            v.t.get("news.heading_edit").to_string(),
            format!("/news/{s}/edit"),
            Some(format!("/news/{s}/delete")),
        ),
    };
    let published = extras
        .existing
        .as_ref()
        .is_some_and(|o| news::publication(o) == news::Publication::Published);
    let submit = if published {
        v.t.get("news.save").to_string()
    } else {
        v.t.get("news.publish").to_string()
    };
    let state_text = extras.existing.as_ref().and_then(|o| state_text(&v.t, o));
    let offer_newsletter = crate::service::mail::configured(&state.ctx.config)
        && match &extras.existing {
            Some(o) => crate::service::newsletter::of_news(&state.ctx, &v.caller(), o.id)
                .await?
                .is_none_or(|n| n.newsletter.status == "cancelled"),
            None => true,
        };
    let l = Layout::for_visitor(state, &v, &heading, coop.as_ref());
    Ok(FormPage {
        t: v.t,
        l,
        heading,
        action,
        submit,
        delete_action,
        form,
        error: extras.error,
        errors: extras.errors,
        notice: extras.notice,
        preview: extras.preview,
        can_draft: !published,
        state_text,
        offer_newsletter,
    })
}

/// A refused form: a count at the top, each message at its field.
fn invalid(t: &Tr, e: &ServiceError, existing: Option<Object>) -> FormExtras {
    let errors = e.field_errors();
    FormExtras {
        error: Some(t.fill("news.fix", &[("n", &errors.len().to_string())])),
        errors,
        notice: None,
        preview: None,
        existing,
    }
}

fn plain(error: Option<String>) -> FormExtras {
    FormExtras {
        error,
        errors: Vec::new(),
        notice: None,
        preview: None,
        existing: None,
    }
}

async fn new_page(
    State(state): State<AppState>,
    v: Visitor,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<ResumeQuery>,
) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Editor, "/news/new") {
        return Ok(r);
    }
    let kept = take_kept(&state, &headers, q.resume.is_some());
    let mut extras = plain(None);
    if kept.is_some() {
        extras.notice = Some(v.t.get("news.kept").to_string());
    }
    Ok(form_page(&state, v, None, kept.unwrap_or_default(), extras)
        .await?
        .respond(StatusCode::OK))
}

async fn create(
    State(state): State<AppState>,
    v: Visitor,
    WebForm(form): WebForm<NewsForm>,
) -> Result<Response, AppError> {
    let input = form.input();
    if v.user.is_none() {
        return Ok(keep_for_login(&state, &v, "/news/new", input));
    }
    if let Some(r) = deny(&v, UserRole::Editor, "/news/new") {
        return Ok(r);
    }
    v.check_csrf(&form.csrf)?;
    if form.action == "preview" {
        return preview(&state, v, None, input, None).await;
    }
    match news::publish_news(&state.ctx, &v.caller(), &input).await {
        Ok(item) => Ok(Redirect::to(&format!("/news/{}", item.slug.unwrap_or_default())).into_response()),
        Err(ServiceError::Invalid { message, .. }) => {
            Ok(form_page(&state, v, None, input, plain(Some(message)))
                .await?
                .respond(StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(e) => Err(e.into()),
    }
}

/// The form again with the rendered text below it; nothing is saved.
async fn preview(
    state: &AppState,
    v: Visitor,
    slug: Option<&str>,
    input: NewsInput,
    existing: Option<Object>,
) -> Result<Response, AppError> {
    let (status, extras) = match news::preview_news(&state.ctx, &input, existing.as_ref()) {
        Ok(p) => (
            StatusCode::OK,
            FormExtras {
                error: None,
                errors: Vec::new(),
                notice: None,
                preview: Some(p),
                existing,
            },
        ),
        Err(e @ ServiceError::Invalid { .. }) => {
            (StatusCode::UNPROCESSABLE_ENTITY, invalid(&v.t, &e, existing))
        }
        Err(e) => return Err(e.into()),
    };
    Ok(form_page(state, v, slug, input, extras).await?.respond(status))
}

async fn edit_page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    v: Visitor,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<ResumeQuery>,
) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Editor, &format!("/news/{slug}/edit")) {
        return Ok(r);
    }
    let item = news::get_news(&state.ctx, &slug).await?;
    let kept = take_kept(&state, &headers, q.resume.is_some());
    let notice = kept.as_ref().map(|_| v.t.get("news.kept").to_string());
    let form = kept.unwrap_or_else(|| NewsInput {
        title: item.title.clone(),
        summary: item.summary.clone(),
        body: item.source.clone().unwrap_or_default(),
        image_url: item.image_url.clone().unwrap_or_default(),
        image_alt: item.image_alt.clone().unwrap_or_default(),
        draft: false,
        newsletter: false,
        published_at: match news::publication(&item) {
            news::Publication::Scheduled(at) => Some(at.format("%Y-%m-%dT%H:%M").to_string()),
            _ => None,
        },
        visibility: item.visibility.clone(),
    });
    let extras = FormExtras {
        error: None,
        errors: Vec::new(),
        notice,
        preview: None,
        existing: Some(item),
    };
    Ok(form_page(&state, v, Some(&slug), form, extras)
        .await?
        .respond(StatusCode::OK))
}

async fn update(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    v: Visitor,
    WebForm(form): WebForm<NewsForm>,
) -> Result<Response, AppError> {
    let input = form.input();
    if v.user.is_none() {
        return Ok(keep_for_login(&state, &v, &format!("/news/{slug}/edit"), input));
    }
    if let Some(r) = deny(&v, UserRole::Editor, &format!("/news/{slug}/edit")) {
        return Ok(r);
    }
    v.check_csrf(&form.csrf)?;
    let item = news::get_news(&state.ctx, &slug).await?;
    if form.action == "preview" {
        return preview(&state, v, Some(&slug), input, Some(item)).await;
    }
    match news::update_news(&state.ctx, &v.caller(), item.id, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("/news/{slug}")).into_response()),
        Err(e @ ServiceError::Invalid { .. }) => {
            let extras = invalid(&v.t, &e, Some(item));
            Ok(form_page(&state, v, Some(&slug), input, extras)
                .await?
                .respond(StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct DeleteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

/// Deleting asks first, on a page that says what will happen.
async fn delete(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    v: Visitor,
    WebForm(form): WebForm<DeleteForm>,
) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Editor, &format!("/news/{slug}/edit")) {
        return Ok(r);
    }
    v.check_csrf(&form.csrf)?;
    let item = news::get_news(&state.ctx, &slug).await?;
    let coop = coop::get_coop(&state.ctx)
        .await?
        .ok_or_else(|| ServiceError::NotFound("The co-op is not set up yet.".into()))?;
    let (_, followers) = crate::service::follows::list_followers(&state.ctx, &coop, 0, 0).await?;
    let values = [
        ("title", item.title.clone()),
        ("followers", followers.to_string()),
    ];
    let values: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    if form.confirm != "yes" {
        let heading = v.t.fill("news.delete_confirm_heading", &values);
        let l = Layout::for_visitor(&state, &v, &heading, Some(&coop));
        return Ok(super::ConfirmPage {
            consequences: vec![
                v.t.fill("news.delete_consequence", &values),
                v.t.get("news.delete_irreversible").to_string(),
            ],
            action: format!("/news/{slug}/delete"),
            fields: vec![],
            confirm_label: v.t.get("news.delete").to_string(),
            cancel: format!("/news/{slug}/edit"),
            heading,
            l,
            t: v.t,
        }
        .respond(StatusCode::OK));
    }
    news::delete_news(&state.ctx, &v.caller(), item.id).await?;
    let done = v.t.fill("news.deleted", &values);
    Ok(Redirect::to(&format!("/?done={}", super::url_encode(&done))).into_response())
}

struct StatusRow {
    inbox: String,
    state: String,
    detail: String,
}

struct ActivityStatus {
    kind: String,
    created: String,
    summary: String,
    rows: Vec<StatusRow>,
}

#[derive(Template)]
#[template(path = "news_status.html")]
struct StatusPage {
    t: Tr,
    l: Layout,
    slug: String,
    title: String,
    activities: Vec<ActivityStatus>,
}
impl Page for StatusPage {}

/// Per post: which inboxes got each activity, which are pending or failing
/// and why, and when the next attempt is.
async fn status(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    v: Visitor,
) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Editor, &format!("/news/{slug}/status")) {
        return Ok(r);
    }
    let item = news::get_news(&state.ctx, &slug).await?;
    let report = news::federation_status(&state.ctx, item.id).await?;
    let activities = report
        .into_iter()
        .map(|(activity, deliveries)| {
            let count = |s: DeliveryState| deliveries.iter().filter(|d| d.state() == s).count().to_string();
            let summary = v.t.fill(
                "status.summary",
                &[
                    ("delivered", &count(DeliveryState::Delivered)),
                    ("pending", &count(DeliveryState::Pending)),
                    ("failed", &count(DeliveryState::Failed)),
                    ("total", &deliveries.len().to_string()),
                ],
            );
            let rows = deliveries
                .into_iter()
                .map(|d| {
                    let detail = match d.state() {
                        DeliveryState::Delivered => format!(
                            "{} · {}",
                            d.last_status.map(|s| s.to_string()).unwrap_or_default(),
                            d.delivered_at
                                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                                .unwrap_or_default()
                        ),
                        DeliveryState::Pending => format!(
                            "attempts {} · next {} UTC{}",
                            d.attempts,
                            d.next_attempt_at.format("%Y-%m-%d %H:%M:%S"),
                            d.last_error.map(|e| format!(" · {e}")).unwrap_or_default()
                        ),
                        _ => d.last_error.unwrap_or_default(),
                    };
                    StatusRow {
                        inbox: d.inbox,
                        state: d.state,
                        detail,
                    }
                })
                .collect();
            ActivityStatus {
                kind: activity.kind,
                created: activity.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                summary,
                rows,
            }
        })
        .collect();
    let coop = coop::get_coop(&state.ctx).await?;
    let l = Layout::for_visitor(&state, &v, v.t.get("status.title"), coop.as_ref());
    Ok(StatusPage {
        t: v.t,
        l,
        slug,
        title: item.title,
        activities,
    }
    .respond(StatusCode::OK))
}

/// Remote-follow lookups one client address may start per minute.
const REMOTE_FOLLOWS_PER_MINUTE: u32 = 10;

#[derive(Deserialize)]
struct FollowForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    account: String,
}

/// "Follow from your fediverse account": sends the visitor to their own
/// server's follow page (the WebFinger subscribe template).
async fn remote_follow(
    State(state): State<AppState>,
    v: Visitor,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    WebForm(form): WebForm<FollowForm>,
) -> Result<Response, AppError> {
    v.check_csrf(&form.csrf)?;
    // Each submission makes this server fetch a URL the visitor chose.
    let ip = crate::http::client_ip(&state, &headers, Some(peer));
    if let Err(wait) = state.federation.follow_form_rates.check(
        &ip,
        REMOTE_FOLLOWS_PER_MINUTE,
        chrono::Utc::now().timestamp(),
    ) {
        let mut resp = AppError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("Too many follow lookups from your address. Wait {wait} seconds and try again."),
        )
        .into_response();
        if let Ok(v) = axum::http::HeaderValue::from_str(&wait.to_string()) {
            resp.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
        return Ok(resp);
    }
    let coop = coop::get_coop(&state.ctx)
        .await?
        .ok_or_else(|| ServiceError::NotFound("The co-op is not set up yet.".into()))?;
    match state
        .federation
        .remote_follow_url(&form.account, &coop.ap_id)
        .await
    {
        Ok(url) => Ok(Redirect::to(&url).into_response()),
        // A person gets the home page again, the form open with the
        // message and what they typed; a script gets the JSON error.
        Err(message) if !crate::http::error::wants_json("/follow", &headers) => {
            super::render_home(&state, v, None, form.account.clone(), Some(message)).await
        }
        Err(message) => Err(AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            message,
        )),
    }
}
