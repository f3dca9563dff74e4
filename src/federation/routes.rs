//! What peers GET: WebFinger, host-meta, NodeInfo, our actors and their
//! collections, and activities. With authorized fetch on, ActivityPub GETs
//! must be signed by an actor of a server we federate with.

use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use activitypub_federation::protocol::context::WithContext;

use super::json::{self, OrderedCollection, OrderedCollectionPage, AP_CONTENT_TYPE};
use super::objects::tombstone;
use crate::db::models::{Actor, Object};
use crate::http::error::AppError;
use crate::service::coop::{self, INSTANCE_ACTOR_PATH};
use crate::service::{conversation, follows, forums, news, people, Caller};
use crate::state::AppState;

pub const PAGE_SIZE: i64 = 20;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/webfinger", get(webfinger))
        .route("/.well-known/host-meta", get(host_meta))
        .route("/.well-known/nodeinfo", get(nodeinfo_links))
        .route("/nodeinfo/{version}", get(nodeinfo))
        .route(INSTANCE_ACTOR_PATH, get(instance_actor))
        .route("/actors/{handle}", get(actor))
        .route("/actors/{handle}/outbox", get(outbox))
        .route("/actors/{handle}/followers", get(followers))
        .route("/actors/{handle}/following", get(following))
        .route("/actors/{handle}/featured", get(featured))
        // Local users' Person actors (made when they first reply, RSVP or vote).
        .route("/users/{handle}", get(actor))
        .route("/users/{handle}/outbox", get(outbox))
        .route("/users/{handle}/followers", get(followers))
        .route("/users/{handle}/following", get(following))
        .route("/users/{handle}/featured", get(featured))
        .route("/users/{handle}/inbox", post(super::inbox::shared_inbox))
        .route("/activities/{id}", get(activity))
        .route("/notes/{id}", get(note))
        .route("/news/{slug}/{which}", get(content_collection))
        .route("/events/{slug}/{which}", get(content_collection))
        .route("/polls/{slug}/{which}", get(content_collection))
        .route("/threads/{slug}/{which}", get(content_collection))
        .route("/actors/{handle}/moderators", get(moderators))
        .route("/inbox", post(super::inbox::shared_inbox))
        .route("/actors/{handle}/inbox", post(super::inbox::actor_inbox))
        .route(
            &format!("{INSTANCE_ACTOR_PATH}/inbox"),
            post(super::inbox::shared_inbox),
        )
        .route("/authorize_interaction", get(authorize_interaction))
}

/// An ActivityPub JSON response.
pub fn ap_json<T: Serialize>(value: &T) -> Response {
    (
        [
            (header::CONTENT_TYPE, AP_CONTENT_TYPE),
            (header::VARY, "Accept"),
            (header::CACHE_CONTROL, "max-age=60"),
        ],
        Json(value),
    )
        .into_response()
}

/// Whether the client asks for ActivityPub JSON rather than a page.
pub fn wants_activity_json(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    accept.contains("application/activity+json")
        || accept.contains("application/ld+json")
        || (accept.contains("application/json") && !accept.contains("text/html"))
}

/// With authorized fetch on, refuses unsigned GETs and those from blocked
/// servers; our own instance actor and WebFinger stay open (peers need them
/// to verify us).
pub async fn authorize_fetch(state: &AppState, headers: &HeaderMap, path: &str) -> Result<(), AppError> {
    let inst = coop::get_instance(&state.ctx).await?;
    if !inst.authorized_fetch {
        return Ok(());
    }
    verify_get(
        state,
        headers,
        path,
        "This server requires signed fetches (authorized fetch)",
    )
    .await
    .map(|_| ())
}

/// Who fetches what is not open (members-only, followers-only): the
/// remote actor whose signature the GET carries, verified as an inbox POST
/// is; anonymous when unsigned, unless authorized fetch refuses that.
pub async fn fetcher(state: &AppState, headers: &HeaderMap, path: &str) -> Result<Caller, AppError> {
    let signed = headers.contains_key("signature") || headers.contains_key("signature-input");
    if !signed {
        authorize_fetch(state, headers, path).await?;
        return Ok(Caller::Anonymous);
    }
    let actor = verify_get(state, headers, path, "The fetch's signature was not accepted").await?;
    Ok(Caller::Remote { actor: actor.id })
}

async fn verify_get(
    state: &AppState,
    headers: &HeaderMap,
    path: &str,
    what: &str,
) -> Result<Actor, AppError> {
    let target = state.ctx.config.url(path);
    let domain = state.ctx.config.domain();
    let parts = super::signatures::RequestParts {
        method: "GET",
        path_and_query: path,
        target_uri: &target,
        authority: &domain,
        headers,
        body: b"",
    };
    let unauthorized = |why: &str| {
        tracing::info!(%path, why, "a signed GET was refused");
        AppError::new(StatusCode::UNAUTHORIZED, "unauthorized", format!("{what}: {why}"))
    };
    let claimed = super::signatures::claimed_key(&parts).map_err(|e| unauthorized(&e.to_string()))?;
    if !state.federation.policy().await?.allows_url(&claimed.key_id) {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Your server is blocked here.",
        ));
    }
    state
        .federation
        .authenticate(&parts, &claimed, None)
        .await
        .map_err(|e| {
            tracing::info!(%path, detail = %e.detail, "a signed GET was refused");
            AppError::new(e.status, "unauthorized", format!("{what}: {}", e.message))
        })
}

// ---------------------------------------------------------------- WebFinger and friends

#[derive(Deserialize)]
struct WebfingerQuery {
    resource: Option<String>,
}

#[derive(Serialize)]
struct Link {
    rel: &'static str,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    href: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    template: Option<String>,
}

#[derive(Serialize)]
struct Jrd {
    subject: String,
    aliases: Vec<String>,
    links: Vec<Link>,
}

/// Finds the local actor a WebFinger resource names: `acct:handle@domain`,
/// the actor URL, or the profile page.
async fn resolve_resource(state: &AppState, resource: &str) -> Result<Option<Actor>, AppError> {
    let config = &state.ctx.config;
    let domain = config.domain();
    let mut by_acct = false;
    let handle = if let Some(acct) = resource.strip_prefix("acct:") {
        by_acct = true;
        let acct = acct.trim_start_matches('@');
        match acct.rsplit_once('@') {
            Some((h, d)) if d.eq_ignore_ascii_case(&domain) => h.to_ascii_lowercase(),
            _ => return Ok(None),
        }
    } else if let Some(path) = resource.strip_prefix(&config.url("")) {
        match path.trim_end_matches('/') {
            "" => return Ok(coop::get_coop(&state.ctx).await?),
            INSTANCE_ACTOR_PATH => coop::INSTANCE_ACTOR_HANDLE.to_string(),
            p => match (p.strip_prefix("/actors/"), p.strip_prefix("/users/")) {
                (Some(h), _) => h.to_string(),
                (_, Some(u)) => return Ok(people::find_person(&state.ctx, u).await?),
                _ => return Ok(None),
            },
        }
    } else {
        return Ok(None);
    };
    // The co-op's handle first; members' accounts by username after
    // (an `/actors/` URL names the co-op only).
    match coop::find_local_actor(&state.ctx, &handle).await? {
        // A members-only forum is not found by WebFinger.
        Some(a)
            if forums::forum_of_actor(&state.ctx, &a)
                .await?
                .is_some_and(|f| !f.is_public()) =>
        {
            Ok(None)
        }
        Some(a) => Ok(Some(a)),
        None if by_acct => Ok(people::find_person(&state.ctx, &handle).await?),
        None => Ok(None),
    }
}

async fn webfinger(
    State(state): State<AppState>,
    Query(q): Query<WebfingerQuery>,
) -> Result<Response, AppError> {
    let Some(resource) = q.resource.filter(|r| !r.is_empty()) else {
        return Err(AppError::bad_request(
            "Give ?resource=acct:handle@domain or an actor URL.",
        ));
    };
    let Some(actor) = resolve_resource(&state, &resource).await? else {
        return Err(AppError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("No account {resource} here."),
        ));
    };
    let config = &state.ctx.config;
    let profile = if actor.kind == "Group" {
        config.url(&format!("/forums/{}", actor.handle))
    } else {
        config.url("/")
    };
    let jrd = Jrd {
        subject: format!("acct:{}@{}", actor.handle, config.domain()),
        aliases: vec![actor.ap_id.clone(), profile.clone()],
        links: vec![
            Link {
                rel: "self",
                kind: Some(AP_CONTENT_TYPE),
                href: Some(actor.ap_id.clone()),
                template: None,
            },
            Link {
                rel: "http://webfinger.net/rel/profile-page",
                kind: Some("text/html"),
                href: Some(profile),
                template: None,
            },
            Link {
                rel: "http://ostatus.org/schema/1.0/subscribe",
                kind: None,
                href: None,
                template: Some(config.url("/authorize_interaction?uri={uri}")),
            },
        ],
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/jrd+json"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        Json(jrd),
    )
        .into_response())
}

async fn host_meta(State(state): State<AppState>) -> Response {
    let template = state.ctx.config.url("/.well-known/webfinger?resource={uri}");
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\">\n  <Link rel=\"lrdd\" template=\"{template}\"/>\n</XRD>\n"
    );
    (
        [(header::CONTENT_TYPE, "application/xrd+xml; charset=utf-8")],
        xml,
    )
        .into_response()
}

async fn nodeinfo_links(State(state): State<AppState>) -> Json<Value> {
    let c = &state.ctx.config;
    Json(serde_json::json!({
        "links": [
            {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0", "href": c.url("/nodeinfo/2.0")},
            {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": c.url("/nodeinfo/2.1")},
            // FEP-2677: where to find the instance actor.
            {"rel": "https://www.w3.org/ns/activitystreams#Application", "href": c.url(INSTANCE_ACTOR_PATH)}
        ]
    }))
}

async fn nodeinfo(State(state): State<AppState>, Path(version): Path<String>) -> Result<Response, AppError> {
    let version = version.trim_end_matches(".json");
    if version != "2.0" && version != "2.1" {
        return Err(AppError::not_found());
    }
    let (users, posts) = coop::usage(&state.ctx).await?;
    let coop = coop::get_coop(&state.ctx).await?;
    let c = &state.ctx.config;
    let mut software = serde_json::json!({"name": "intercoop", "version": env!("CARGO_PKG_VERSION")});
    if version == "2.1" {
        software["repository"] = Value::String(env!("CARGO_PKG_REPOSITORY").into());
    }
    let body = serde_json::json!({
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": false,
        "usage": {"users": {"total": users, "activeMonth": users, "activeHalfyear": users}, "localPosts": posts},
        "metadata": {
            "nodeName": coop.as_ref().map(|c| c.name.clone()).unwrap_or_default(),
            "nodeDescription": coop.as_ref().map(|c| c.summary.clone()).unwrap_or_default(),
            "roles": c.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            "coop": coop.as_ref().map(|c| format!("@{}@{}", c.handle, c.domain)),
            // Public forums, as fediverse apps follow them.
            "forums": forums::public_local_forums(&state.ctx).await?.iter().map(|f| format!("@{}@{}", f.actor.handle, c.domain())).collect::<Vec<_>>(),
        }
    });
    let profile =
        format!("application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/{version}#\"");
    Ok(([(header::CONTENT_TYPE, profile)], Json(body)).into_response())
}

// ---------------------------------------------------------------- actors and collections

/// The local actor a path names: `/actors/{handle}` (the co-op) or
/// `/users/{username}` (a member's Person).
async fn local_actor(state: &AppState, uri: &axum::http::Uri, handle: &str) -> Result<Actor, AppError> {
    let found = if uri.path().starts_with(&format!("{}/", people::PERSON_PATH)) {
        people::find_person(&state.ctx, handle).await?
    } else {
        coop::find_local_actor(&state.ctx, handle).await?
    };
    found
        .filter(|a| !super::actors::instance::is_instance(a))
        .ok_or_else(AppError::not_found)
}

async fn render_actor(state: &AppState, a: &Actor) -> Result<Response, AppError> {
    let forum = forums::forum_of_actor(&state.ctx, a).await?;
    if forum.as_ref().is_some_and(|f| !f.is_public()) {
        // A members-only forum's profile is for signed fetches of members
        // (see the members issue); until then it is not served.
        return Err(AppError::not_found());
    }
    let restricted = forum.map(|f| f.row.posting_restricted);
    Ok(ap_json(&super::actors::coop::served(
        &state.ctx.config,
        a,
        restricted,
    )))
}

async fn actor(
    State(state): State<AppState>,
    Path(handle): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let a = local_actor(&state, &uri, &handle).await?;
    if !wants_activity_json(&headers) {
        let page = if a.kind == "Group" {
            format!("/forums/{}", a.handle)
        } else {
            "/".to_string()
        };
        return Ok(Redirect::to(&page).into_response());
    }
    authorize_fetch(&state, &headers, uri.path()).await?;
    render_actor(&state, &a).await
}

async fn instance_actor(State(state): State<AppState>) -> Result<Response, AppError> {
    let a = coop::instance_actor(&state.ctx)
        .await?
        .ok_or_else(AppError::not_found)?;
    render_actor(&state, &a).await
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<i64>,
}

fn collection(id: String, total: i64, paged: bool) -> OrderedCollection {
    let last_page = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    OrderedCollection {
        context: json::AS_CONTEXT,
        first: paged.then(|| format!("{id}?page=1")),
        last: paged.then(|| format!("{id}?page={last_page}")),
        id,
        kind: "OrderedCollection",
        total_items: total,
        ordered_items: (!paged).then(Vec::new),
    }
}

fn page(id: &str, n: i64, total: i64, items: Vec<Value>) -> OrderedCollectionPage {
    let last_page = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    OrderedCollectionPage {
        context: json::AS_CONTEXT,
        id: format!("{id}?page={n}"),
        kind: "OrderedCollectionPage",
        part_of: id.to_string(),
        total_items: total,
        ordered_items: items,
        next: (n < last_page).then(|| format!("{id}?page={}", n + 1)),
        prev: (n > 1).then(|| format!("{id}?page={}", n - 1)),
    }
}

fn path_of(uri: &axum::http::Uri) -> &str {
    uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
}

async fn outbox(
    State(state): State<AppState>,
    Path(handle): Path<String>,
    Query(q): Query<PageQuery>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let a = local_actor(&state, &uri, &handle).await?;
    authorize_fetch(&state, &headers, path_of(&uri)).await?;
    let id = format!("{}/outbox", a.ap_id);
    if let Some(forum) = forums::forum_of_actor(&state.ctx, &a).await? {
        if !forum.is_public() {
            return Err(AppError::not_found());
        }
        return Ok(ap_json(&group_outbox(&state, &a, id).await?));
    }
    let n = q.page.unwrap_or(1).max(1);
    let (items, total) = news::public_activities(&state.ctx, a.id, n - 1, PAGE_SIZE).await?;
    match q.page {
        None => Ok(ap_json(&collection(id, total, true))),
        Some(_) => {
            let items = items
                .into_iter()
                .filter_map(|o| serde_json::from_str::<Value>(&o.json).ok())
                .map(|mut v| {
                    if let Some(m) = v.as_object_mut() {
                        m.remove("@context");
                    }
                    v
                })
                .collect();
            Ok(ap_json(&page(&id, n, total, items)))
        }
    }
}

/// A forum group's outbox: its newest announces of threads, inline and
/// unpaged, as Lemmy reads a community's outbox (every item an Announce of
/// a Create of a Page) to show a new subscriber the recent threads.
async fn group_outbox(state: &AppState, group: &Actor, id: String) -> Result<OrderedCollection, AppError> {
    let (items, _) = news::public_activities(&state.ctx, group.id, 0, PAGE_SIZE).await?;
    let items: Vec<Value> = items
        .into_iter()
        .filter_map(|o| serde_json::from_str::<Value>(&o.json).ok())
        .filter(|v| {
            v["type"] == "Announce"
                && v["object"]["type"] == "Create"
                && v["object"]["object"]["type"] == "Page"
        })
        .map(|mut v| {
            if let Some(m) = v.as_object_mut() {
                m.remove("@context");
            }
            v
        })
        .collect();
    let mut c = collection(id, items.len() as i64, false);
    c.ordered_items = Some(items);
    Ok(c)
}

async fn follow_collection(
    state: &AppState,
    handle: &str,
    q: PageQuery,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    followers: bool,
) -> Result<Response, AppError> {
    let a = local_actor(state, uri, handle).await?;
    if forums::forum_of_actor(&state.ctx, &a)
        .await?
        .is_some_and(|f| !f.is_public())
    {
        return Err(AppError::not_found());
    }
    let suffix = if followers { "followers" } else { "following" };
    authorize_fetch(state, headers, path_of(uri)).await?;
    let id = format!("{}/{suffix}", a.ap_id);
    let n = q.page.unwrap_or(1).max(1);
    let (list, total) = if followers {
        follows::list_followers(&state.ctx, &a, n - 1, PAGE_SIZE).await?
    } else {
        follows::list_followed(&state.ctx, &a, n - 1, PAGE_SIZE).await?
    };
    match q.page {
        None => Ok(ap_json(&collection(id, total, true))),
        Some(_) => {
            let items = list.into_iter().map(|a| Value::String(a.ap_id)).collect();
            Ok(ap_json(&page(&id, n, total, items)))
        }
    }
}

async fn followers(
    State(state): State<AppState>,
    Path(handle): Path<String>,
    Query(q): Query<PageQuery>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    follow_collection(&state, &handle, q, &uri, &headers, true).await
}

async fn following(
    State(state): State<AppState>,
    Path(handle): Path<String>,
    Query(q): Query<PageQuery>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    follow_collection(&state, &handle, q, &uri, &headers, false).await
}

async fn featured(
    State(state): State<AppState>,
    Path(handle): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, AppError> {
    let a = local_actor(&state, &uri, &handle).await?;
    let id = format!("{}/featured", a.ap_id);
    // A forum's pinned threads; other actors pin nothing yet.
    let pinned = match forums::forum_of_actor(&state.ctx, &a).await? {
        Some(f) if f.is_public() => forums::pinned(&state.ctx, &f).await?,
        _ => Vec::new(),
    };
    let mut c = collection(id, pinned.len() as i64, false);
    c.ordered_items = Some(pinned.into_iter().map(Value::String).collect());
    Ok(ap_json(&c))
}

/// A forum's moderators (`attributedTo` of its Group), as Lemmy reads them.
async fn moderators(
    State(state): State<AppState>,
    Path(handle): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let a = local_actor(&state, &uri, &handle).await?;
    authorize_fetch(&state, &headers, uri.path()).await?;
    if !forums::forum_of_actor(&state.ctx, &a)
        .await?
        .is_some_and(|f| f.is_public())
    {
        return Err(AppError::not_found());
    }
    let list = forums::moderators(&state.ctx).await?;
    let mut c = collection(format!("{}/moderators", a.ap_id), list.len() as i64, false);
    c.ordered_items = Some(list.into_iter().map(Value::String).collect());
    Ok(ap_json(&c))
}

/// A public activity we sent, by id.
async fn activity(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    authorize_fetch(&state, &headers, &format!("/activities/{id}")).await?;
    let ap_id = state.ctx.config.url(&format!("/activities/{id}"));
    let item = match news::find_activity(&state.ctx, &ap_id).await? {
        Some(item) if item.public => item,
        // The activity of a deleted object: gone, and says nothing of what it held.
        Some(redacted) if redacted.json.is_empty() => {
            let mut r = ap_json(&serde_json::json!({
                "@context": json::AS_CONTEXT,
                "id": ap_id,
                "type": "Tombstone",
            }));
            *r.status_mut() = StatusCode::GONE;
            return Ok(r);
        }
        _ => return Err(AppError::not_found()),
    };
    let v: Value = serde_json::from_str(&item.json)
        .map_err(|e| AppError::from(crate::service::ServiceError::Internal(e.to_string())))?;
    Ok(ap_json(&v))
}

/// A member's reply: its Note for peers, or its place in the conversation
/// for people.
async fn note(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let id: i64 = id.parse().map_err(|_| AppError::not_found())?;
    let note = conversation::find_local_note(&state.ctx, id)
        .await?
        .filter(|n| n.hidden_at.is_none() && conversation::servable(n))
        .ok_or_else(AppError::not_found)?;
    if !wants_activity_json(&headers) {
        let page = conversation::root_of(&state.ctx, &note)
            .await?
            .and_then(|r| crate::service::types::local_redirect_target(&state.ctx.config.url("/"), &r.ap_id))
            .unwrap_or_else(|| "/".into());
        return Ok(Redirect::to(&format!("{page}#reply-{id}")).into_response());
    }
    authorize_fetch(&state, &headers, &format!("/notes/{id}")).await?;
    object_response(&state, &note).await
}

/// One of our objects as ActivityPub JSON, by its type (or a Tombstone,
/// 410, once deleted). Callers have checked who may read it.
/// One of our objects as ActivityPub JSON for the fetch at `path`: open
/// ones to anyone (signed under authorized fetch), members-only and
/// followers-only ones to the signed fetch of an actor allowed to read
/// them, and 404 otherwise (as if it did not exist).
pub async fn serve_object(
    state: &AppState,
    headers: &HeaderMap,
    path: &str,
    object: &Object,
) -> Result<Response, AppError> {
    if conversation::servable(object) {
        authorize_fetch(state, headers, path).await?;
    } else {
        // Whatever fails, the answer is the one for a URL that does not
        // exist: a refused signature must not confirm a guessed title.
        let caller = fetcher(state, headers, path).await.unwrap_or(Caller::Anonymous);
        if !conversation::readable(&state.ctx, &caller, object).await? {
            return Err(AppError::not_found());
        }
    }
    object_response(state, object).await
}

pub async fn object_response(state: &AppState, object: &Object) -> Result<Response, AppError> {
    if object.deleted_at.is_some() {
        let mut r = ap_json(&WithContext::new(tombstone::document(object), json::context()));
        *r.status_mut() = StatusCode::GONE;
        return Ok(r);
    }
    let author = coop::find_actor(&state.ctx, object.author_id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let mut conn = state
        .ctx
        .db
        .conn()
        .await
        .map_err(crate::service::ServiceError::from)?;
    // Remote posts are served by their own servers.
    let doc = super::objects::document(&mut conn, object, &author)
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok(ap_json(&WithContext::new(doc, json::context())))
}

#[derive(Clone, Copy)]
enum Answers {
    Replies,
    Likes,
    Shares,
}

/// An object's `replies` (paged, the reply ids), `likes` or `shares`
/// (counted only, as Mastodon serves them).
async fn object_collection(
    state: &AppState,
    path: &str,
    object_path: &str,
    which: Answers,
    q: PageQuery,
    headers: &HeaderMap,
) -> Result<Response, AppError> {
    authorize_fetch(state, headers, path).await?;
    let object = conversation::find_open_local(&state.ctx, &state.ctx.config.url(object_path))
        .await?
        .filter(|o| o.deleted_at.is_none())
        .ok_or_else(AppError::not_found)?;
    let counts = conversation::interactions(&state.ctx, &object).await?;
    let [likes, shares, replies] = super::objects::collections(&counts, &object.ap_id);
    let counted = match which {
        Answers::Likes => likes,
        Answers::Shares => shares,
        Answers::Replies => replies,
    };
    let id = counted.id.clone();
    match (which, q.page) {
        (Answers::Replies, Some(n)) => {
            let n = n.max(1);
            let (items, total) =
                conversation::replies(&state.ctx, &Caller::Anonymous, &object, n - 1, PAGE_SIZE).await?;
            let items = items.into_iter().map(|(o, _)| Value::String(o.ap_id)).collect();
            Ok(ap_json(&page(&id, n, total, items)))
        }
        (Answers::Replies, None) => Ok(ap_json(&collection(id, counted.total_items, true))),
        _ => Ok(ap_json(&WithContext::new(
            counted,
            Value::String(json::AS_CONTEXT.into()),
        ))),
    }
}

/// `/{news,events,polls}/{slug}/replies`, `/likes` or `/shares`, of the
/// object at the path before it.
async fn content_collection(
    State(state): State<AppState>,
    Path((slug, which)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let which = match which.as_str() {
        "likes" => Answers::Likes,
        "shares" => Answers::Shares,
        "replies" => Answers::Replies,
        _ => return Err(AppError::not_found()),
    };
    let kind = uri
        .path()
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("news");
    let object = format!("/{kind}/{slug}");
    object_collection(&state, path_of(&uri), &object, which, q, &headers).await
}

/// The subscribe template of our WebFinger: someone asks to interact with a
/// URI from this instance. Co-op instances have no personal timelines, so
/// local URIs open directly and remote ones are explained.
async fn authorize_interaction(
    State(state): State<AppState>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let uri = q.get("uri").cloned().unwrap_or_default();
    // Only absolute URLs on our own origin open here: a relative or
    // look-alike `uri` must not turn this into an open redirect.
    if url::Url::parse(&uri).is_ok() {
        if let Some(path) = crate::service::types::local_redirect_target(&state.ctx.config.url("/"), &uri) {
            return Redirect::to(&path).into_response();
        }
    }
    AppError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "This is a co-op's instance: it has no personal accounts to follow or reply from. Open the link on your own fediverse server instead.",
    )
    .into_response()
}
