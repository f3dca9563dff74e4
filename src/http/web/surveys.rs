//! Survey pages: the list, the form that makes one, answering (members, or
//! anyone with a link survey's address), and the results with server-drawn
//! SVG bar charts (no JavaScript) and their CSV.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::{deny, gate, Layout, Page, WebForm};
use crate::db::models::Survey;
use crate::http::auth::{cookie, set_cookie, Visitor};
use crate::http::error::AppError;
use crate::i18n::Tr;
use crate::service::surveys::{self, QuestionInput, Results, SurveyInput, SurveyView};
use crate::service::text::escape_html;
use crate::service::types::UserRole;
use crate::service::{coop, ServiceError};
use crate::state::AppState;

/// An anonymous respondent of a link survey: one response per browser.
const RESPONDENT_COOKIE: &str = "ic_respondent";
/// Question slots on the new-survey form (empty ones are left out).
const FORM_QUESTIONS: usize = 8;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/surveys", get(list))
        .route("/surveys/new", get(new_page).post(create))
        .route("/surveys/{slug}", get(show).post(answer))
        .route("/surveys/{slug}/results", get(results))
        .route("/surveys/{slug}/results.csv", get(export))
        .route("/surveys/{slug}/delete", post(delete))
}

async fn layout(state: &AppState, v: &Visitor, title: &str) -> Result<Layout, AppError> {
    let coop = coop::get_coop(&state.ctx).await?;
    Ok(Layout::for_visitor(state, v, title, coop.as_ref()))
}

fn period(t: &Tr, s: &Survey) -> String {
    let f = |at: chrono::NaiveDateTime| at.format("%Y-%m-%d %H:%M UTC").to_string();
    let now = crate::db::now();
    let key = if s.closes_at <= now {
        "surveys.closed_on"
    } else if s.opens_at > now {
        "surveys.opens_on"
    } else {
        "surveys.open_until"
    };
    t.fill(key, &[("opens", &f(s.opens_at)), ("closes", &f(s.closes_at))])
}

#[derive(Template)]
#[template(path = "surveys_list.html")]
struct ListPage {
    t: Tr,
    l: Layout,
    notice: Option<String>,
    items: Vec<(Survey, String)>,
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
    if v.user.is_none() {
        return Ok(Redirect::to("/login?next=/surveys").into_response());
    }
    let items = surveys::list(&state.ctx, &v.caller()).await?;
    let l = layout(&state, &v, v.t.get("surveys.title")).await?;
    Ok(ListPage {
        items: items
            .into_iter()
            .map(|s| (period(&v.t, &s), s))
            .map(|(p, s)| (s, p))
            .collect(),
        can_write: v.caller().can(UserRole::Editor),
        notice: q.done,
        t: v.t,
        l,
    }
    .respond(StatusCode::OK))
}

/// One question slot of the new-survey form.
#[derive(Default, Clone)]
struct QuestionSlot {
    kind: String,
    prompt: String,
    required: bool,
    options: String,
}

#[derive(Template)]
#[template(path = "survey_form.html")]
struct FormPage {
    t: Tr,
    l: Layout,
    title: String,
    description: String,
    audience: String,
    opens_at: String,
    closes_at: String,
    slots: Vec<QuestionSlot>,
    /// (kind, its name in the visitor's language)
    kinds: Vec<(&'static str, String)>,
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
    input: &SurveyInput,
    errors: Vec<(&'static str, String)>,
) -> Result<FormPage, AppError> {
    let l = layout(state, &v, v.t.get("surveys.new")).await?;
    let mut slots: Vec<QuestionSlot> = input
        .questions
        .iter()
        .map(|q| QuestionSlot {
            kind: q.kind.clone(),
            prompt: q.prompt.clone(),
            required: q.required,
            options: q.options.join("\n"),
        })
        .collect();
    slots.retain(|s| !s.prompt.trim().is_empty());
    while slots.len() < FORM_QUESTIONS {
        slots.push(QuestionSlot {
            kind: "single".into(),
            ..Default::default()
        });
    }
    let error = (!errors.is_empty()).then(|| v.t.fill("news.fix", &[("n", &errors.len().to_string())]));
    Ok(FormPage {
        title: input.title.clone(),
        description: input.description.clone(),
        audience: input.audience.clone(),
        opens_at: input.opens_at.clone(),
        closes_at: input.closes_at.clone(),
        slots,
        kinds: surveys::KINDS
            .iter()
            .map(|k| (*k, v.t.get(&format!("surveys.kind_{k}")).to_string()))
            .collect(),
        error,
        errors,
        l,
        t: v.t,
    })
}

async fn new_page(State(state): State<AppState>, v: Visitor) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Editor, "/surveys/new") {
        return Ok(r);
    }
    let input = SurveyInput {
        audience: "members".into(),
        closes_at: (crate::db::now() + chrono::Duration::days(14))
            .format("%Y-%m-%dT%H:%M")
            .to_string(),
        ..Default::default()
    };
    Ok(form_page(&state, v, &input, Vec::new())
        .await?
        .respond(StatusCode::OK))
}

async fn create(
    State(state): State<AppState>,
    v: Visitor,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let mut csrf = String::new();
    let mut input = SurveyInput::default();
    let mut slots: Vec<QuestionInput> = vec![QuestionInput::default(); FORM_QUESTIONS];
    for (k, val) in url::form_urlencoded::parse(&body) {
        match k.as_ref() {
            "csrf" => csrf = val.into_owned(),
            "title" => input.title = val.into_owned(),
            "description" => input.description = val.into_owned(),
            "audience" => input.audience = val.into_owned(),
            "opens_at" => input.opens_at = val.into_owned(),
            "closes_at" => input.closes_at = val.into_owned(),
            other => {
                // q3_prompt, q3_kind, q3_required, q3_options
                let Some((n, field)) = other.strip_prefix('q').and_then(|r| r.split_once('_')) else {
                    continue;
                };
                let Some(slot) = n.parse::<usize>().ok().and_then(|n| slots.get_mut(n)) else {
                    continue;
                };
                match field {
                    "prompt" => slot.prompt = val.into_owned(),
                    "kind" => slot.kind = val.into_owned(),
                    "required" => slot.required = val == "on",
                    "options" => slot.options = vec![val.into_owned()],
                    _ => {}
                }
            }
        }
    }
    input.questions = slots;
    let caller = match gate(&v, UserRole::Editor, "/surveys/new", &csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    match surveys::create(&state.ctx, &caller, &input).await {
        Ok(view) => {
            let done = super::url_encode(&v.t.fill("surveys.created", &[("title", &view.survey.title)]));
            Ok(Redirect::to(&format!("/surveys?done={done}")).into_response())
        }
        Err(e @ ServiceError::Invalid { .. }) => {
            let errors = e.field_errors();
            Ok(form_page(&state, v, &input, errors)
                .await?
                .respond(StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(e) => Err(e.into()),
    }
}

/// One question as the answer form shows it.
struct QuestionView {
    id: i64,
    number: usize,
    kind: String,
    prompt: String,
    required: bool,
    /// (value sent, label, chosen)
    choices: Vec<(String, String, bool)>,
    value: String,
}

#[derive(Template)]
#[template(path = "survey.html")]
struct SurveyPage {
    t: Tr,
    l: Layout,
    survey: Survey,
    period: String,
    open: bool,
    answered: bool,
    key: String,
    questions: Vec<QuestionView>,
    can_edit: bool,
    notice: Option<String>,
    error: Option<String>,
    errors: Vec<String>,
}
impl Page for SurveyPage {}

#[derive(Deserialize)]
struct KeyQuery {
    key: Option<String>,
    done: Option<String>,
}

fn question_views(view: &SurveyView, answers: &HashMap<i64, Vec<String>>) -> Vec<QuestionView> {
    view.questions
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let given = answers.get(&q.id).cloned().unwrap_or_default();
            let choices = q
                .choices()
                .iter()
                .enumerate()
                .map(|(p, c)| {
                    let value = format!("#{}", p + 1);
                    let chosen = given.iter().any(|g| *g == value || g == c);
                    (value, c.to_string(), chosen)
                })
                .collect();
            QuestionView {
                id: q.id,
                number: i + 1,
                kind: q.kind.clone(),
                prompt: q.prompt.clone(),
                required: q.required,
                choices,
                value: given.join("\n"),
            }
        })
        .collect()
}

/// Stored answers as the form's values: choices numbered from 1.
fn stored_as_form(view: &SurveyView, stored: HashMap<i64, String>) -> HashMap<i64, Vec<String>> {
    stored
        .into_iter()
        .map(|(qid, v)| {
            let choice = view
                .questions
                .iter()
                .any(|q| q.id == qid && matches!(q.kind.as_str(), "single" | "multiple"));
            let values = if choice {
                v.split(',')
                    .filter_map(|p| p.parse::<usize>().ok())
                    .map(|p| format!("#{}", p + 1))
                    .collect()
            } else {
                vec![v]
            };
            (qid, values)
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
async fn render(
    state: &AppState,
    v: Visitor,
    view: SurveyView,
    key: String,
    answers: HashMap<i64, Vec<String>>,
    answered: bool,
    notice: Option<String>,
    errors: Vec<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let l = layout(state, &v, &view.survey.title).await?;
    let error = (!errors.is_empty()).then(|| v.t.fill("news.fix", &[("n", &errors.len().to_string())]));
    Ok(SurveyPage {
        period: period(&v.t, &view.survey),
        open: view.is_open(),
        questions: question_views(&view, &answers),
        can_edit: v.caller().can(UserRole::Editor),
        survey: view.survey,
        answered,
        key,
        notice,
        error,
        errors,
        l,
        t: v.t,
    }
    .respond(status))
}

async fn show(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<KeyQuery>,
    headers: HeaderMap,
    v: Visitor,
) -> Result<Response, AppError> {
    let caller = v.caller();
    let view = match surveys::open_for(&state.ctx, &caller, &slug, q.key.as_deref()).await {
        Ok(view) => view,
        Err(ServiceError::NotFound(_)) if v.user.is_none() && q.key.is_none() => {
            return Ok(Redirect::to(&format!("/login?next=/surveys/{slug}")).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    // A link survey's anonymous respondent gets their cookie now, so the
    // answers they send are theirs to change later.
    let mut visitor = cookie(&headers, RESPONDENT_COOKIE);
    let mut new_cookie = None;
    if view.survey.audience == "link" && visitor.is_none() {
        let token = crate::crypto::random_token();
        new_cookie = Some(set_cookie(
            &state,
            RESPONDENT_COOKIE,
            &token,
            Some(366 * 24 * 3600),
        ));
        visitor = Some(token);
    }
    let (answers, answered) = match surveys::respondent(&state.ctx, &caller, &view, visitor.as_deref()).await
    {
        Ok(who) => {
            let stored = surveys::answers_of(&state.ctx, &view, &who).await?;
            let answered = !stored.is_empty();
            (stored_as_form(&view, stored), answered)
        }
        Err(_) => (HashMap::new(), false),
    };
    let mut resp = render(
        &state,
        v,
        view,
        q.key.unwrap_or_default(),
        answers,
        answered,
        q.done,
        Vec::new(),
        StatusCode::OK,
    )
    .await?;
    if let Some(c) = new_cookie {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(resp)
}

async fn answer(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<KeyQuery>,
    headers: HeaderMap,
    v: Visitor,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let mut csrf = String::new();
    let mut answers: HashMap<i64, Vec<String>> = HashMap::new();
    for (k, val) in url::form_urlencoded::parse(&body) {
        if k == "csrf" {
            csrf = val.into_owned();
        } else if let Some(id) = k.strip_prefix('a').and_then(|n| n.parse::<i64>().ok()) {
            answers.entry(id).or_default().push(val.into_owned());
        }
    }
    v.check_csrf(&csrf)?;
    let caller = v.caller();
    let view = surveys::open_for(&state.ctx, &caller, &slug, q.key.as_deref()).await?;
    let visitor = cookie(&headers, RESPONDENT_COOKIE);
    let key = q.key.clone().unwrap_or_default();
    let who = match surveys::respondent(&state.ctx, &caller, &view, visitor.as_deref()).await {
        Ok(who) => who,
        Err(ServiceError::Forbidden(m)) | Err(ServiceError::Invalid { message: m, .. }) => {
            return render(
                &state,
                v,
                view,
                key,
                answers,
                false,
                None,
                vec![m],
                StatusCode::FORBIDDEN,
            )
            .await;
        }
        Err(e) => return Err(e.into()),
    };
    match surveys::answer_all(&state.ctx, &view, &who, &answers).await {
        Ok(()) => {
            let done = super::url_encode(v.t.get("surveys.thanks"));
            let key = q
                .key
                .map(|k| format!("key={}&", super::url_encode(&k)))
                .unwrap_or_default();
            Ok(Redirect::to(&format!("/surveys/{slug}?{key}done={done}")).into_response())
        }
        Err(e @ ServiceError::Invalid { .. }) => {
            let errors = e.field_errors().into_iter().map(|(_, m)| m).collect();
            render(
                &state,
                v,
                view,
                key,
                answers,
                false,
                None,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(ServiceError::Conflict(m)) => {
            render(
                &state,
                v,
                view,
                key,
                answers,
                false,
                None,
                vec![m],
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// A horizontal bar chart as SVG markup: each row's label, bar and count,
/// with a `<title>` and `role="img"` for screen readers (the page also has
/// the numbers as a table).
pub(crate) fn bar_chart(title: &str, rows: &[(String, i64)]) -> String {
    const ROW: i64 = 28;
    const LABEL: i64 = 180;
    const BAR: i64 = 240;
    let max = rows.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let height = ROW * rows.len() as i64 + 8;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\" viewBox=\"0 0 480 {height}\" width=\"100%\" aria-label=\"{t}\"><title>{t}</title>",
        t = escape_html(title)
    );
    for (i, (label, n)) in rows.iter().enumerate() {
        let y = 4 + ROW * i as i64;
        let w = BAR * n / max;
        let short: String = label.chars().take(28).collect();
        let short = if short.len() < label.len() {
            format!("{short}…")
        } else {
            short
        };
        svg.push_str(&format!(
            "<text x=\"0\" y=\"{ty}\" font-size=\"13\">{l}</text><rect x=\"{LABEL}\" y=\"{y}\" width=\"{w}\" height=\"{bh}\" fill=\"currentColor\" opacity=\"0.75\"/><text x=\"{tx}\" y=\"{ty}\" font-size=\"13\">{n}</text>",
            ty = y + 15,
            l = escape_html(&short),
            bh = ROW - 8,
            tx = LABEL + w + 6,
        ));
    }
    svg.push_str("</svg>");
    svg
}

struct ResultView {
    prompt: String,
    answered: String,
    chart: Option<String>,
    rows: Vec<(String, i64)>,
    mean: Option<String>,
    texts: Vec<String>,
}

#[derive(Template)]
#[template(path = "survey_results.html")]
struct ResultsPage {
    t: Tr,
    l: Layout,
    survey: Survey,
    period: String,
    responses: String,
    items: Vec<ResultView>,
    share: Option<String>,
}
impl Page for ResultsPage {}

async fn results_of(state: &AppState, v: &Visitor, slug: &str) -> Result<(SurveyView, Results), AppError> {
    let view = surveys::open_for(&state.ctx, &v.caller(), slug, None).await?;
    Ok(surveys::results(&state.ctx, &v.caller(), view.survey.id).await?)
}

async fn results(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    v: Visitor,
) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Editor, &format!("/surveys/{slug}/results")) {
        return Ok(r);
    }
    let (view, res) = results_of(&state, &v, &slug).await?;
    let items = res
        .questions
        .iter()
        .map(|q| ResultView {
            prompt: q.prompt.clone(),
            answered: v.t.fill("surveys.answered", &[("n", &q.answered.to_string())]),
            chart: (!q.counts.is_empty()).then(|| bar_chart(&q.prompt, &q.counts)),
            rows: q.counts.clone(),
            mean: q.mean.map(|m| format!("{m:.2}")),
            texts: q.texts.clone(),
        })
        .collect();
    let share = view
        .survey
        .link_token
        .as_ref()
        .map(|k| state.ctx.config.url(&format!("/surveys/{slug}?key={k}")));
    let l = layout(&state, &v, &view.survey.title).await?;
    Ok(ResultsPage {
        period: period(&v.t, &view.survey),
        responses: v
            .t
            .fill("surveys.responses", &[("n", &res.responses.to_string())]),
        survey: view.survey,
        items,
        share,
        l,
        t: v.t,
    }
    .respond(StatusCode::OK))
}

async fn export(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    v: Visitor,
) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Editor, &format!("/surveys/{slug}/results")) {
        return Ok(r);
    }
    let (view, res) = results_of(&state, &v, &slug).await?;
    let disposition = format!("attachment; filename=\"{slug}.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        surveys::results_csv(&view, &res),
    )
        .into_response())
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
    let caller = match gate(&v, UserRole::Editor, &format!("/surveys/{slug}"), &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let view = surveys::open_for(&state.ctx, &caller, &slug, None).await?;
    if f.confirm != "yes" {
        let heading =
            v.t.fill("news.delete_confirm_heading", &[("title", &view.survey.title)]);
        return super::Confirm {
            consequences: vec![v.t.get("surveys.delete_consequence").to_string()],
            action: format!("/surveys/{slug}/delete"),
            fields: vec![],
            confirm_label: v.t.get("surveys.delete").to_string(),
            cancel: format!("/surveys/{slug}"),
            heading,
        }
        .page(&state, v)
        .await;
    }
    surveys::delete(&state.ctx, &caller, view.survey.id).await?;
    let done = super::url_encode(&v.t.fill("events.deleted", &[("title", &view.survey.title)]));
    Ok(Redirect::to(&format!("/surveys?done={done}")).into_response())
}
