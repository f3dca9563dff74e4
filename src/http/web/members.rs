//! The secretary's pages: the member register (search, filter by status,
//! add), a member's record (edit, invite, remove), its CSV export, and
//! `/join/{code}`, where an invited member sets up their account.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::{deny, gate, Layout, Page, WebForm};
use crate::db::models::Member;
use crate::http::auth::Visitor;
use crate::http::error::AppError;
use crate::i18n::Tr;
use crate::service::members::{self, MemberInput, STATUSES};
use crate::service::types::UserRole;
use crate::service::{coop, ServiceError};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/members", get(list).post(create))
        .route("/admin/members.csv", get(export))
        .route("/admin/members/import", get(import_page).post(import))
        .route("/admin/members/{id}", get(show).post(save))
        .route("/admin/members/{id}/invite", post(invite))
        .route("/admin/members/{id}/links", post(add_link))
        .route("/admin/members/{id}/approve", post(approve))
        .route("/admin/members/{id}/decline", post(decline))
        .route("/apply", get(apply_page).post(apply))
        .route("/directory", get(directory))
        .route("/admin/members/{id}/delete", post(delete))
        .route("/join/{code}", get(join_page).post(join))
}

const ROLES: [&str; 4] = ["member", "editor", "moderator", "admin"];

/// A record's fields as the form shows them.
#[derive(Deserialize, Default, Clone)]
struct MemberForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    member_number: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    joined_on: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    groups: String,
    #[serde(default)]
    notes: String,
}

impl MemberForm {
    fn of(m: &Member) -> MemberForm {
        MemberForm {
            csrf: String::new(),
            name: m.name.clone(),
            member_number: m.member_number.clone().unwrap_or_default(),
            email: m.email.clone().unwrap_or_default(),
            phone: m.phone.clone().unwrap_or_default(),
            joined_on: m.joined_on.clone().unwrap_or_default(),
            status: m.status.clone(),
            role: m.role.clone(),
            groups: m.groups.clone(),
            notes: m.notes.clone(),
        }
    }

    fn input(&self) -> MemberInput {
        MemberInput {
            name: Some(self.name.clone()),
            member_number: Some(self.member_number.clone()),
            email: Some(self.email.clone()),
            phone: Some(self.phone.clone()),
            joined_on: Some(self.joined_on.clone()),
            status: Some(self.status.clone()),
            role: Some(self.role.clone()),
            groups: Some(self.groups.clone()),
            notes: Some(self.notes.clone()),
        }
    }
}

#[derive(Template)]
#[template(path = "members.html")]
struct ListPage {
    t: Tr,
    l: Layout,
    notice: Option<String>,
    error: Option<String>,
    q: String,
    status: String,
    count: String,
    items: Vec<Member>,
    statuses: &'static [&'static str],
    roles: &'static [&'static str],
    form: MemberForm,
    errors: Vec<(&'static str, String)>,
}
impl Page for ListPage {}
impl ListPage {
    fn field_error(&self, field: &str) -> Option<String> {
        super::field_messages(&self.errors, field)
    }
}

#[derive(Deserialize, Default)]
struct Filter {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    done: Option<String>,
}

async fn list_page(
    state: &AppState,
    v: Visitor,
    filter: Filter,
    form: MemberForm,
    errors: Vec<(&'static str, String)>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let items = members::list(&state.ctx, &v.caller(), &filter.q, Some(&filter.status)).await?;
    let coop = coop::get_coop(&state.ctx).await?;
    let l = Layout::for_visitor(state, &v, v.t.get("members.title"), coop.as_ref());
    let error = (!errors.is_empty()).then(|| v.t.fill("news.fix", &[("n", &errors.len().to_string())]));
    let form = MemberForm {
        status: if form.status.is_empty() {
            "active".into()
        } else {
            form.status
        },
        role: if form.role.is_empty() {
            "member".into()
        } else {
            form.role
        },
        ..form
    };
    Ok(ListPage {
        notice: filter.done,
        error,
        count: v.t.fill("members.count", &[("n", &items.len().to_string())]),
        q: filter.q,
        status: filter.status,
        items,
        statuses: &STATUSES,
        roles: &ROLES,
        form,
        errors,
        t: v.t,
        l,
    }
    .respond(status))
}

async fn list(
    State(state): State<AppState>,
    v: Visitor,
    Query(f): Query<Filter>,
) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Admin, "/admin/members") {
        return Ok(r);
    }
    list_page(&state, v, f, MemberForm::default(), Vec::new(), StatusCode::OK).await
}

async fn export(
    State(state): State<AppState>,
    v: Visitor,
    Query(f): Query<Filter>,
) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Admin, "/admin/members") {
        return Ok(r);
    }
    let items = members::list(&state.ctx, &v.caller(), &f.q, Some(&f.status)).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"members.csv\"",
            ),
        ],
        members::to_csv(&items),
    )
        .into_response())
}

pub(crate) struct ReportView {
    summary: String,
    preview: bool,
    refused: usize,
    rows: Vec<members::ImportRow>,
}

#[derive(Template)]
#[template(path = "members_import.html")]
struct ImportPage {
    t: Tr,
    l: Layout,
    error: Option<String>,
    report: Option<ReportView>,
    /// The CSV of a preview, posted again to import it.
    csv: String,
}
impl Page for ImportPage {}

async fn import_view(
    state: &AppState,
    v: Visitor,
    error: Option<String>,
    report: Option<ReportView>,
    csv: String,
    status: StatusCode,
) -> Result<Response, AppError> {
    let coop = coop::get_coop(&state.ctx).await?;
    let l = Layout::for_visitor(state, &v, v.t.get("members.import_title"), coop.as_ref());
    Ok(ImportPage {
        t: v.t,
        l,
        error,
        report,
        csv,
    }
    .respond(status))
}

async fn import_page(State(state): State<AppState>, v: Visitor) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Admin, "/admin/members/import") {
        return Ok(r);
    }
    import_view(&state, v, None, None, String::new(), StatusCode::OK).await
}

/// The preview, or the import itself when the preview's button posts the
/// same text again.
async fn import(
    State(state): State<AppState>,
    v: Visitor,
    mut form: axum::extract::Multipart,
) -> Result<Response, AppError> {
    let (mut csrf, mut mode, mut file, mut pasted) =
        (String::new(), String::new(), Vec::new(), String::new());
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        AppError::bad_request(format!("The form could not be read ({e}): try again."))
    };
    while let Some(field) = form.next_field().await.map_err(unreadable)? {
        match field.name().unwrap_or("") {
            "csrf" => csrf = field.text().await.map_err(unreadable)?,
            "mode" => mode = field.text().await.map_err(unreadable)?,
            "file" => file = field.bytes().await.map_err(unreadable)?.to_vec(),
            "csv" => pasted = field.text().await.map_err(unreadable)?,
            _ => {}
        }
    }
    let caller = match gate(&v, UserRole::Admin, "/admin/members/import", &csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let csv = if file.is_empty() {
        pasted
    } else {
        match String::from_utf8(file) {
            Ok(s) => s,
            Err(_) => {
                let why =
                    "The file is not UTF-8 text: save it from the spreadsheet as \"CSV UTF-8\".".to_string();
                return import_view(
                    &state,
                    v,
                    Some(why),
                    None,
                    String::new(),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
        }
    };
    let csv = crate::service::text::normalize_newlines(&csv);
    if csv.trim().is_empty() {
        let why = v.t.get("members.import_empty").to_string();
        return import_view(
            &state,
            v,
            Some(why),
            None,
            String::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    // The upload form asks for a preview; its buttons for the import.
    let mode = members::ImportMode::from_name(&mode).unwrap_or(members::ImportMode::Preview);
    match members::import_csv(&state.ctx, &caller, &csv, mode).await {
        Ok(r) => {
            let n = |x: usize| x.to_string();
            let counts = [
                ("created", n(r.created)),
                ("updated", n(r.updated)),
                ("refused", n(r.refused)),
            ];
            let counts: Vec<(&str, &str)> = counts.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (key, status) = match mode {
                members::ImportMode::Preview => ("members.import_preview_summary", StatusCode::OK),
                _ if r.written => ("members.import_done", StatusCode::OK),
                _ => ("members.import_refused", StatusCode::UNPROCESSABLE_ENTITY),
            };
            let report = ReportView {
                summary: v.t.fill(key, &counts),
                preview: mode == members::ImportMode::Preview,
                refused: r.refused,
                rows: r.rows,
            };
            import_view(&state, v, None, Some(report), csv, status).await
        }
        Err(e @ ServiceError::Invalid { .. }) => {
            import_view(
                &state,
                v,
                Some(e.to_string()),
                None,
                String::new(),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn create(
    State(state): State<AppState>,
    v: Visitor,
    WebForm(f): WebForm<MemberForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Admin, "/admin/members", &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    match members::create(&state.ctx, &caller, f.input()).await {
        Ok(m) => {
            let done = super::url_encode(&v.t.fill("members.added", &[("name", &m.name)]));
            Ok(Redirect::to(&format!("/admin/members/{}?done={done}", m.id)).into_response())
        }
        Err(e @ ServiceError::Invalid { .. }) => {
            let errors = e.field_errors();
            list_page(
                &state,
                v,
                Filter::default(),
                f,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "member.html")]
struct RecordPage {
    t: Tr,
    l: Layout,
    notice: Option<String>,
    error: Option<String>,
    heading: String,
    id: i64,
    has_account: bool,
    applicant: bool,
    invitation: Option<String>,
    invitation_help: String,
    statuses: &'static [&'static str],
    roles: &'static [&'static str],
    form: MemberForm,
    links: Vec<super::accounts::LinkRow>,
    errors: Vec<(&'static str, String)>,
}
impl Page for RecordPage {}
impl RecordPage {
    fn field_error(&self, field: &str) -> Option<String> {
        super::field_messages(&self.errors, field)
    }
}

/// What a record page shows besides the record.
#[derive(Default)]
struct Shown {
    notice: Option<String>,
    error: Option<String>,
    invitation: Option<(String, String)>,
    emailed_to: Option<String>,
    form: Option<MemberForm>,
    errors: Vec<(&'static str, String)>,
}

async fn record_page(
    state: &AppState,
    v: Visitor,
    id: i64,
    shown: Shown,
    status: StatusCode,
) -> Result<Response, AppError> {
    let m = members::get(&state.ctx, &v.caller(), id).await?;
    let links = crate::service::member_links::links(&state.ctx, &v.caller(), Some(id))
        .await?
        .iter()
        .map(super::accounts::LinkRow::of)
        .collect();
    let coop = coop::get_coop(&state.ctx).await?;
    let l = Layout::for_visitor(state, &v, &m.name, coop.as_ref());
    let (invitation, until) = match shown.invitation {
        Some((link, until)) => (Some(link), until),
        None => (None, String::new()),
    };
    Ok(RecordPage {
        notice: shown.notice,
        error: shown.error,
        heading: m.name.clone(),
        id: m.id,
        has_account: m.user_id.is_some(),
        applicant: m.status == "applicant" && m.user_id.is_none(),
        invitation,
        invitation_help: match &shown.emailed_to {
            Some(to) => {
                v.t.fill("members.invitation_emailed", &[("until", &until), ("email", to)])
            }
            None => v.t.fill("members.invitation_help", &[("until", &until)]),
        },
        statuses: &STATUSES,
        roles: &ROLES,
        form: shown.form.unwrap_or_else(|| MemberForm::of(&m)),
        links,
        errors: shown.errors,
        t: v.t,
        l,
    }
    .respond(status))
}

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

async fn show(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<Done>,
    v: Visitor,
) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Admin, &format!("/admin/members/{id}")) {
        return Ok(r);
    }
    let shown = Shown {
        notice: q.done,
        ..Default::default()
    };
    record_page(&state, v, id, shown, StatusCode::OK).await
}

async fn save(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    v: Visitor,
    WebForm(f): WebForm<MemberForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Admin, &format!("/admin/members/{id}"), &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    match members::update(&state.ctx, &caller, id, f.input()).await {
        Ok(_) => {
            let done = super::url_encode(v.t.get("members.saved"));
            Ok(Redirect::to(&format!("/admin/members/{id}?done={done}")).into_response())
        }
        Err(e @ ServiceError::Invalid { .. }) => {
            let shown = Shown {
                errors: e.field_errors(),
                form: Some(f),
                ..Default::default()
            };
            record_page(&state, v, id, shown, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(ServiceError::Conflict(msg)) => {
            let shown = Shown {
                error: Some(msg),
                form: Some(f),
                ..Default::default()
            };
            record_page(&state, v, id, shown, StatusCode::CONFLICT).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

async fn invite(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    v: Visitor,
    WebForm(f): WebForm<ConfirmForm>,
) -> Result<Response, AppError> {
    invitation_made(state, id, v, f, false).await
}

/// Approve: the applicant becomes active and the invitation link is
/// shown once, to send them.
async fn approve(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    v: Visitor,
    WebForm(f): WebForm<ConfirmForm>,
) -> Result<Response, AppError> {
    invitation_made(state, id, v, f, true).await
}

/// A new invitation (for an applicant, with the approval), shown on the
/// record page on this answer only (its hash is kept).
async fn invitation_made(
    state: AppState,
    id: i64,
    v: Visitor,
    f: ConfirmForm,
    approving: bool,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Admin, &format!("/admin/members/{id}"), &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let made = if approving {
        members::approve(&state.ctx, &caller, id).await
    } else {
        members::invite(&state.ctx, &caller, id).await
    };
    match made {
        Ok(made) => {
            let shown = Shown {
                invitation: Some((
                    made.url.clone(),
                    made.expires.format("%Y-%m-%d %H:%M UTC").to_string(),
                )),
                emailed_to: made.emailed_to,
                ..Default::default()
            };
            record_page(&state, v, id, shown, StatusCode::OK).await
        }
        Err(ServiceError::Conflict(msg)) => {
            let shown = Shown {
                error: Some(msg),
                ..Default::default()
            };
            record_page(&state, v, id, shown, StatusCode::CONFLICT).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn decline(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    v: Visitor,
    WebForm(f): WebForm<ConfirmForm>,
) -> Result<Response, AppError> {
    removal(state, id, v, f, Removal::Decline).await
}

#[derive(Template)]
#[template(path = "directory.html")]
struct DirectoryPage {
    t: Tr,
    l: Layout,
    entries: Vec<members::DirectoryEntry>,
}
impl Page for DirectoryPage {}

async fn directory(State(state): State<AppState>, v: Visitor) -> Result<Response, AppError> {
    if let Some(r) = deny(&v, UserRole::Member, "/directory") {
        return Ok(r);
    }
    let entries = members::directory(&state.ctx, &v.caller()).await?;
    let coop = coop::get_coop(&state.ctx).await?;
    let l = Layout::for_visitor(&state, &v, v.t.get("directory.title"), coop.as_ref());
    Ok(DirectoryPage { t: v.t, l, entries }.respond(StatusCode::OK))
}

#[derive(Template)]
#[template(path = "apply.html")]
struct ApplyPage {
    t: Tr,
    l: Layout,
    intro: String,
    sent: bool,
    error: Option<String>,
    form: members::Application,
    errors: Vec<(&'static str, String)>,
}
impl Page for ApplyPage {}
impl ApplyPage {
    fn field_error(&self, field: &str) -> Option<String> {
        super::field_messages(&self.errors, field)
    }
}

async fn apply_view(
    state: &AppState,
    v: Visitor,
    sent: bool,
    form: members::Application,
    errors: Vec<(&'static str, String)>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let coop = coop::get_coop(&state.ctx).await?;
    let l = Layout::for_visitor(state, &v, v.t.get("apply.title"), coop.as_ref());
    let name = coop.as_ref().map(|c| c.name.clone()).unwrap_or_default();
    Ok(ApplyPage {
        intro: v.t.fill("apply.intro", &[("coop", &name)]),
        t: v.t,
        l,
        sent,
        error,
        form,
        errors,
    }
    .respond(status))
}

async fn apply_page(State(state): State<AppState>, v: Visitor) -> Result<Response, AppError> {
    apply_view(
        &state,
        v,
        false,
        Default::default(),
        Vec::new(),
        None,
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
struct ApplyForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    form: members::Application,
}

/// Anyone applies to join; a few per minute from one address.
async fn apply(
    State(state): State<AppState>,
    v: Visitor,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
    WebForm(f): WebForm<ApplyForm>,
) -> Result<Response, AppError> {
    v.check_csrf(&f.csrf)?;
    let ip = crate::http::client_ip(&state, &headers, Some(peer));
    if let Err(wait) =
        state
            .federation
            .follow_form_rates
            .check(&format!("apply {ip}"), 5, chrono::Utc::now().timestamp())
    {
        let why = v.t.fill("apply.too_many", &[("wait", &wait.to_string())]);
        return apply_view(
            &state,
            v,
            false,
            f.form,
            Vec::new(),
            Some(why),
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await;
    }
    match members::apply(&state.ctx, f.form.clone()).await {
        Ok(_) => {
            apply_view(
                &state,
                v,
                true,
                Default::default(),
                Vec::new(),
                None,
                StatusCode::OK,
            )
            .await
        }
        Err(e @ ServiceError::Invalid { .. }) => {
            let errors = e.field_errors();
            apply_view(
                &state,
                v,
                false,
                f.form,
                errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct LinkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    account: String,
}

/// The secretary links a member's fediverse account; the co-op sends it
/// the code, and the member proves the link by replying with it.
async fn add_link(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    v: Visitor,
    WebForm(f): WebForm<LinkForm>,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Admin, &format!("/admin/members/{id}"), &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let refused = |why: String| Shown {
        errors: vec![("account", why)],
        ..Default::default()
    };
    let actor = match super::forums::resolve_remote(&state, &f.account).await {
        Ok(a) => a,
        Err(why) => return record_page(&state, v, id, refused(why), StatusCode::UNPROCESSABLE_ENTITY).await,
    };
    match crate::service::member_links::link(&state.ctx, &caller, Some(id), &actor).await {
        Ok(link) => {
            let done = super::url_encode(&v.t.fill("members.link_sent", &[("handle", &link.handle())]));
            Ok(Redirect::to(&format!("/admin/members/{id}?done={done}")).into_response())
        }
        Err(e @ ServiceError::Invalid { .. }) => {
            let why = e.to_string();
            record_page(&state, v, id, refused(why), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(ServiceError::Conflict(why)) => {
            record_page(&state, v, id, refused(why), StatusCode::CONFLICT).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn delete(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    v: Visitor,
    WebForm(f): WebForm<ConfirmForm>,
) -> Result<Response, AppError> {
    removal(state, id, v, f, Removal::Delete).await
}

/// What takes a record out of the register: declining an application, or
/// removing a member.
#[derive(Clone, Copy)]
enum Removal {
    Decline,
    Delete,
}

impl Removal {
    /// The route and the first word of its strings (`members.delete_confirm`...).
    fn name(self) -> &'static str {
        match self {
            Removal::Decline => "decline",
            Removal::Delete => "delete",
        }
    }
}

/// Asks first (saying what will happen), then removes the record.
async fn removal(
    state: AppState,
    id: i64,
    v: Visitor,
    f: ConfirmForm,
    what: Removal,
) -> Result<Response, AppError> {
    let caller = match gate(&v, UserRole::Admin, &format!("/admin/members/{id}"), &f.csrf)? {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let m = members::get(&state.ctx, &caller, id).await?;
    let name = what.name();
    if f.confirm != "yes" {
        return super::Confirm {
            heading: v.t.fill(&format!("members.{name}_confirm"), &[("name", &m.name)]),
            consequences: vec![v.t.get(&format!("members.{name}_consequence")).to_string()],
            action: format!("/admin/members/{id}/{name}"),
            fields: vec![],
            confirm_label: v.t.get(&format!("members.{name}")).to_string(),
            cancel: format!("/admin/members/{id}"),
        }
        .page(&state, v)
        .await;
    }
    match what {
        Removal::Decline => members::decline(&state.ctx, &caller, id).await?,
        Removal::Delete => members::delete(&state.ctx, &caller, id).await?,
    }
    let done_key = match what {
        Removal::Decline => "members.declined",
        Removal::Delete => "members.deleted",
    };
    let done = super::url_encode(&v.t.fill(done_key, &[("name", &m.name)]));
    Ok(Redirect::to(&format!("/admin/members?done={done}")).into_response())
}

#[derive(Template)]
#[template(path = "join.html")]
struct JoinPage {
    t: Tr,
    l: Layout,
    intro: String,
    code: String,
    username: String,
    error: Option<String>,
}
impl Page for JoinPage {}

async fn join_form(
    state: &AppState,
    v: Visitor,
    code: String,
    username: String,
    error: Option<String>,
) -> Result<Response, AppError> {
    let member = members::invited(&state.ctx, &code).await?;
    let coop = coop::get_coop(&state.ctx).await?;
    let l = Layout::for_visitor(state, &v, v.t.get("join.title"), coop.as_ref());
    let coop_name = coop.as_ref().map(|c| c.name.clone()).unwrap_or_default();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(JoinPage {
        intro: v
            .t
            .fill("join.intro", &[("name", &member.name), ("coop", &coop_name)]),
        code,
        username,
        error,
        t: v.t,
        l,
    }
    .respond(status))
}

async fn join_page(
    State(state): State<AppState>,
    Path(code): Path<String>,
    v: Visitor,
) -> Result<Response, AppError> {
    join_form(&state, v, code, String::new(), None).await
}

#[derive(Deserialize)]
struct JoinForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

async fn join(
    State(state): State<AppState>,
    Path(code): Path<String>,
    v: Visitor,
    WebForm(f): WebForm<JoinForm>,
) -> Result<Response, AppError> {
    v.check_csrf(&f.csrf)?;
    match members::accept_invitation(&state.ctx, &code, &f.username, &f.password, &f.password_confirm).await {
        Ok(logged_in) => Ok(super::redirect_with_session(&state, "/account", &logged_in)),
        Err(ServiceError::Invalid { message, .. }) => {
            join_form(&state, v, code, f.username, Some(message)).await
        }
        Err(e) => Err(e.into()),
    }
}
