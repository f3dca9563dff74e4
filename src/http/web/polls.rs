//! Poll pages: the list, each poll (HTML with the vote form and the
//! results, or ActivityPub JSON at the same URL), the form, voting and
//! deleting.

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
use crate::service::polls::{self, Poll, PollInput};
use crate::service::types::UserRole;
use crate::service::{conversation, coop, ServiceError};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/polls", get(list))
        .route("/polls/new", get(new_page).post(create))
        .route("/polls/{slug}", get(show))
        .route("/polls/{slug}/vote", post(vote))
        .route("/polls/{slug}/receipt", post(receipt))
        .route("/polls/{slug}/delete", post(delete))
}

/// A poll in a list.
pub(crate) struct PollTeaser {
    pub slug: String,
    pub question: String,
    pub state: String,
}

pub(crate) fn teaser(t: &Tr, p: &Poll) -> PollTeaser {
    let closes = p.row.closes_at.format("%Y-%m-%d %H:%M UTC").to_string();
    PollTeaser {
        slug: p.object.slug.clone().unwrap_or_default(),
        question: p.object.title.clone(),
        state: if p.is_closed() {
            t.fill(
                "polls.closed_on",
                &[("at", &closes), ("n", &p.voters.to_string())],
            )
        } else {
            t.fill(
                "polls.open_until",
                &[("at", &closes), ("n", &p.voters.to_string())],
            )
        },
    }
}

#[derive(Template)]
#[template(path = "polls_list.html")]
struct ListPage {
    t: Tr,
    l: Layout,
    notice: Option<String>,
    items: Vec<PollTeaser>,
    can_write: bool,
}
impl Page for ListPage {}

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<Done>,
) -> Result<Response, AppError> {
    let coop = coop::get_coop(&state.ctx)
        .await?
        .ok_or_else(|| ServiceError::NotFound("The co-op is not set up yet.".into()))?;
    let items = polls::list_polls(&state.ctx, &v.caller(), false, 0, 100).await?;
    let l = Layout::for_visitor(&state, &v, v.t.get("polls.title"), Some(&coop));
    Ok(ListPage {
        items: items.iter().map(|p| teaser(&v.t, p)).collect(),
        can_write: v.role().is_some_and(|r| r >= UserRole::Editor),
        notice: q.done,
        t: v.t,
        l,
    }
    .respond(StatusCode::OK))
}

/// One option as the page shows it: id, name, votes, percent, chosen.
struct Row {
    id: i64,
    name: String,
    votes: i64,
    percent: i64,
    chosen: bool,
}

#[derive(Template)]
#[template(path = "poll.html")]
struct PollPage {
    t: Tr,
    l: Layout,
    item: Object,
    slug: String,
    rows: Vec<Row>,
    multiple: bool,
    closed: bool,
    state: String,
    voted: bool,
    logged_in: bool,
    can_edit: bool,
    reactions: String,
    replies: Vec<(Object, Actor, String, usize)>,
    can_moderate: bool,
    notice: Option<String>,
    error: Option<String>,
    /// Ballots: the turnout line, the quorum line, and an open ballot's votes.
    ballot: Option<BallotView>,
}
impl Page for PollPage {}

struct BallotView {
    secret: bool,
    turnout: String,
    quorum: Option<String>,
    hidden: Option<String>,
    opens: Option<String>,
    votes: Vec<(String, String, String)>,
}

fn ballot_view(t: &Tr, poll: &Poll, votes: Vec<(String, String, String)>) -> Option<BallotView> {
    let b = poll.ballot.as_ref()?;
    let n = |x: i64| x.to_string();
    let turnout_key = if poll.is_closed() {
        "polls.ballot_result"
    } else {
        "polls.ballot_open"
    };
    let quorum = b.quorum.map(|q| {
        let key = match b.quorum_met {
            Some(true) => "polls.quorum_met",
            Some(false) => "polls.quorum_not_met",
            None => "polls.quorum_pending",
        };
        t.fill(key, &[("q", &n(q))])
    });
    Some(BallotView {
        secret: b.secret,
        turnout: t.fill(turnout_key, &[("cast", &n(b.cast)), ("eligible", &n(b.eligible))]),
        quorum,
        hidden: b.counts_hidden.then(|| t.get("polls.counts_hidden").to_string()),
        opens: b.opens_at.filter(|_| !poll.is_open_yet()).map(|at| {
            t.fill(
                "polls.opens_on",
                &[("at", &at.format("%Y-%m-%d %H:%M UTC").to_string())],
            )
        }),
        votes,
    })
}

async fn show(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<Done>,
    headers: HeaderMap,
    v: Visitor,
) -> Result<Response, AppError> {
    let poll = polls::get_poll(&state.ctx, &slug).await?;
    if crate::federation::routes::wants_activity_json(&headers) {
        return crate::federation::routes::serve_object(
            &state,
            &headers,
            &format!("/polls/{slug}"),
            &poll.object,
        )
        .await;
    }
    render(&state, v, poll, q.done, None, StatusCode::OK).await
}

async fn render(
    state: &AppState,
    v: Visitor,
    poll: Poll,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    if poll.object.deleted_at.is_some() {
        // Only what was open says it is gone; the rest was never there.
        if !crate::db::models::Visibility::from_db(&poll.object.visibility).is_open() {
            return Err(AppError::not_found());
        }
        return Err(AppError::new(StatusCode::GONE, "gone", "This poll was deleted."));
    }

    let caller = v.caller();
    if !conversation::readable(&state.ctx, &caller, &poll.object).await? {
        return Err(AppError::not_found());
    }
    let chosen = polls::choices(
        &state.ctx,
        v.user.as_ref().and_then(|u| u.actor_id),
        poll.object.id,
    )
    .await?;
    let ballot_voted = match &v.user {
        Some(u) => polls::has_voted(&state.ctx, u.id, &poll).await?,
        None => false,
    };
    let votes = polls::open_ballot_votes(&state.ctx, &caller, &poll).await?;
    let ballot = ballot_view(&v.t, &poll, votes);
    let total: i64 = poll.options.iter().map(|(_, n)| n).sum();
    let rows = poll
        .options
        .iter()
        .map(|(o, n)| Row {
            id: o.id,
            name: o.name.clone(),
            votes: *n,
            percent: if total > 0 { n * 100 / total } else { 0 },
            chosen: chosen.contains(&o.id),
        })
        .collect();
    let replies = super::news::conversation_of(state, &caller, &poll.object).await?;
    let counts = conversation::interactions(&state.ctx, &poll.object).await?;
    let coop = coop::get_coop(&state.ctx).await?;
    let l = Layout::for_visitor(state, &v, &poll.object.title, coop.as_ref());
    Ok(PollPage {
        state: teaser(&v.t, &poll).state,
        slug: poll.object.slug.clone().unwrap_or_default(),
        multiple: poll.row.multiple,
        closed: poll.is_closed(),
        voted: !chosen.is_empty() || ballot_voted,
        ballot,
        logged_in: v.user.is_some(),
        can_edit: caller.can(UserRole::Editor),
        can_moderate: caller.can(UserRole::Moderator),
        reactions: super::news::reactions_text(&v.t, &counts),
        rows,
        replies,
        notice,
        error,
        item: poll.object,
        t: v.t,
        l,
    }
    .respond(status))
}

/// The vote form: `option` once (radio) or several times (checkboxes).
async fn vote(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    v: Visitor,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let mut csrf = String::new();
    let mut options = Vec::new();
    for (k, val) in url::form_urlencoded::parse(&body) {
        match k.as_ref() {
            "csrf" => csrf = val.into_owned(),
            "option" => match val.parse::<i64>() {
                Ok(id) => options.push(id),
                Err(_) => return Err(AppError::bad_request("Choose one of the poll's options.")),
            },
            _ => {}
        }
    }
    let caller = match gate(&v, UserRole::Member, &format!("/polls/{slug}"), &csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let poll = polls::get_poll(&state.ctx, &slug).await?;
    if options.is_empty() {
        let msg = v.t.get("polls.choose").to_string();
        return render(&state, v, poll, None, Some(msg), StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    match polls::vote(&state.ctx, &caller, poll.object.id, &options).await {
        // The receipt is shown this once, so the page is not a redirect.
        Ok((poll, Some(code))) => {
            let notice = v.t.fill("polls.receipt", &[("code", &code)]);
            render(&state, v, poll, Some(notice), None, StatusCode::OK).await
        }
        Ok((_, None)) => {
            let done = super::url_encode(v.t.get("polls.voted"));
            Ok(Redirect::to(&format!("/polls/{slug}?done={done}")).into_response())
        }
        Err(ServiceError::Conflict(why)) | Err(ServiceError::Invalid { message: why, .. }) => {
            render(&state, v, poll, None, Some(why), StatusCode::CONFLICT).await
        }
        Err(ServiceError::Forbidden(why)) => {
            render(&state, v, poll, None, Some(why), StatusCode::FORBIDDEN).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct ReceiptForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    receipt: String,
}

/// A member checks that the vote with their receipt was counted.
async fn receipt(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    v: Visitor,
    WebForm(f): WebForm<ReceiptForm>,
) -> Result<Response, AppError> {
    v.check_csrf(&f.csrf)?;
    let poll = polls::get_poll(&state.ctx, &slug).await?;
    match polls::check_receipt(&state.ctx, &v.caller(), poll.object.id, &f.receipt).await? {
        Some(option) => {
            let code = f.receipt.trim().to_uppercase();
            let notice =
                v.t.fill("polls.receipt_ok", &[("code", &code), ("option", &option)]);
            render(&state, v, poll, Some(notice), None, StatusCode::OK).await
        }
        None => {
            let error = v.t.get("polls.receipt_unknown").to_string();
            render(&state, v, poll, None, Some(error), StatusCode::NOT_FOUND).await
        }
    }
}

#[derive(Template)]
#[template(path = "poll_form.html")]
struct FormPage {
    t: Tr,
    l: Layout,
    question: String,
    options: Vec<String>,
    multiple: bool,
    closes_at: String,
    visibility: String,
    ballot: bool,
    secret: bool,
    quorum: String,
    opens_at: String,
    error: Option<String>,
    errors: Vec<(&'static str, String)>,
}
impl Page for FormPage {}

impl FormPage {
    fn field_error(&self, field: &str) -> Option<String> {
        super::field_messages(&self.errors, field)
    }
}

/// Six option fields, the typed ones first.
fn option_fields(mut typed: Vec<String>) -> Vec<String> {
    typed.retain(|o| !o.trim().is_empty());
    while typed.len() < 6 {
        typed.push(String::new());
    }
    typed
}

async fn form_page(
    state: &AppState,
    v: Visitor,
    input: PollInput,
    errors: Vec<(&'static str, String)>,
) -> Result<FormPage, AppError> {
    let coop = coop::get_coop(&state.ctx).await?;
    let heading = v.t.get("polls.heading_new");
    let l = Layout::for_visitor(state, &v, heading, coop.as_ref());
    let error = (!errors.is_empty()).then(|| v.t.fill("news.fix", &[("n", &errors.len().to_string())]));
    Ok(FormPage {
        l,
        question: input.question,
        options: option_fields(input.options),
        multiple: input.multiple,
        closes_at: input.closes_at,
        visibility: input.visibility,
        ballot: input.ballot,
        secret: input.secret,
        quorum: input.quorum.map(|q| q.to_string()).unwrap_or_default(),
        opens_at: input.opens_at,
        error,
        errors,
        t: v.t,
    })
}

async fn new_page(State(state): State<AppState>, v: Visitor) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Editor, "/polls/new") {
        return Ok(r);
    }
    let week = (crate::db::now() + chrono::Duration::days(7))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let input = PollInput {
        closes_at: week,
        ..Default::default()
    };
    Ok(form_page(&state, v, input, Vec::new())
        .await?
        .respond(StatusCode::OK))
}

async fn create(
    State(state): State<AppState>,
    v: Visitor,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let mut csrf = String::new();
    let mut input = PollInput::default();
    for (k, val) in url::form_urlencoded::parse(&body) {
        match k.as_ref() {
            "csrf" => csrf = val.into_owned(),
            "question" => input.question = val.into_owned(),
            "option" => input.options.push(val.into_owned()),
            "multiple" => input.multiple = val == "on",
            "visibility" => input.visibility = val.to_string(),
            "closes_at" => input.closes_at = val.into_owned(),
            "opens_at" => input.opens_at = val.into_owned(),
            "ballot" => input.ballot = val == "on",
            "secret" => input.secret = val == "on",
            "quorum" if !val.trim().is_empty() => match val.trim().parse::<i64>() {
                Ok(q) => input.quorum = Some(q),
                // Out of range on purpose: the check explains it.
                Err(_) => input.quorum = Some(0),
            },
            _ => {}
        }
    }
    if input.ballot && input.visibility == "public" {
        // The form's default; a ballot is members-only anyway.
        input.visibility.clear();
    }
    let caller = match gate(&v, UserRole::Editor, "/polls/new", &csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    match polls::create_poll(&state.ctx, &caller, &input).await {
        Ok(p) => Ok(Redirect::to(&format!("/polls/{}", p.object.slug.unwrap_or_default())).into_response()),
        Err(e @ ServiceError::Invalid { .. }) => {
            let errors = e.field_errors();
            Ok(form_page(&state, v, input, errors)
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

async fn delete(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    v: Visitor,
    WebForm(f): WebForm<DeleteForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Editor, &format!("/polls/{slug}"), &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let poll = polls::get_poll(&state.ctx, &slug).await?;
    if f.confirm != "yes" {
        let heading =
            v.t.fill("news.delete_confirm_heading", &[("title", &poll.object.title)]);
        return super::Confirm {
            consequences: vec![
                v.t.get("polls.delete_consequence").to_string(),
                v.t.get("news.delete_irreversible").to_string(),
            ],
            action: format!("/polls/{slug}/delete"),
            fields: vec![],
            confirm_label: v.t.get("polls.delete").to_string(),
            cancel: format!("/polls/{slug}"),
            heading,
        }
        .page(&state, v)
        .await;
    }
    polls::delete_poll(&state.ctx, &caller, poll.object.id).await?;
    let done = super::url_encode(&v.t.fill("events.deleted", &[("title", &poll.object.title)]));
    Ok(Redirect::to(&format!("/polls?done={done}")).into_response())
}
