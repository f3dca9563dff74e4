//! The inbox: POST /inbox (shared) and /actors/{handle}/inbox.
//!
//! Order of checks: a signature header must be there (else 401 at once, no
//! fetch), the JSON must parse, the sender's server must be allowed, the
//! signature must verify against the signer's key (refetched once on
//! failure, for key rotation), the signer must be the activity's actor (same
//! origin), and the activity id must be new. Only then does a handler run,
//! calling the same `service` functions as the web.
//!
//! Answers: 202 accepted (also for duplicates and types we ignore), 400
//! malformed, 401 unverifiable (Fedify then retries with the other signature
//! spec), 403 blocked or not the actor's own object, 413 oversize.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::json::{self, Incoming};
use super::signatures::{self, RequestParts};
use super::{FedError, Federation};
use crate::db::models::Actor;
use crate::http::error::AppError;
use crate::http::AppState;
use crate::service::{follows, remote};

pub async fn shared_inbox(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    receive(&state, None, &uri, &headers, &body).await
}

pub async fn actor_inbox(
    State(state): State<AppState>,
    Path(handle): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    receive(&state, Some(handle), &uri, &headers, &body).await
}

fn reject(status: StatusCode, code: &'static str, message: String) -> Response {
    tracing::info!(status = status.as_u16(), %message, "inbox refused an activity");
    AppError::new(status, code, message).into_response()
}

fn with_retry_after(mut resp: Response, seconds: u64) -> Response {
    if let Ok(v) = axum::http::HeaderValue::from_str(&seconds.to_string()) {
        resp.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
    }
    resp
}

/// Activity types we act on; only these keep their raw JSON in the log.
const HANDLED: &[&str] = &[
    "Follow", "Undo", "Accept", "Reject", "Like", "Announce", "Create", "Update", "Delete", "Flag", "Block",
];
/// Raw bodies over this are logged without the body.
pub const MAX_LOGGED_BODY: usize = 64 * 1024;

async fn receive(
    state: &AppState,
    handle: Option<String>,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let fed = &state.federation;
    let config = &state.ctx.config;
    if let Some(h) = &handle {
        match crate::service::coop::find_local_actor(&state.ctx, h).await {
            Ok(Some(_)) => {}
            Ok(None) => return AppError::not_found().into_response(),
            Err(e) => return AppError::from(e).into_response(),
        }
    }
    let path_and_query = uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/inbox")
        .to_string();
    let target = config.url(&path_and_query);
    let domain = config.domain();
    let parts = RequestParts {
        method: "POST",
        path_and_query: &path_and_query,
        target_uri: &target,
        authority: &domain,
        headers,
        body,
    };
    // No (usable) signature: refuse before parsing or fetching anything.
    let claimed = match signatures::claimed_key(&parts) {
        Ok(c) => c,
        Err(e) => return reject(StatusCode::UNAUTHORIZED, "unauthorized", e.to_string()),
    };
    // serde skips unknown fields without checking their UTF-8, and NUL
    // (`\u0000`) is valid JSON that PostgreSQL text cannot store: refuse both
    // here, so that no field of a stored activity can hold them.
    if std::str::from_utf8(body).is_err() {
        return reject(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "The body is not UTF-8: JSON must be UTF-8 (RFC 8259).".into(),
        );
    }
    if body.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
        return reject(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "The activity contains a NUL character (\\u0000), which this server does not store.".into(),
        );
    }
    let activity: Incoming = match serde_json::from_slice(body) {
        Ok(a) => a,
        Err(e) if e.is_data() => {
            return reject(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("Not an activity (it needs id, type and actor): {e}"),
            )
        }
        Err(e) => {
            return reject(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("The body is not JSON: {e}"),
            )
        }
    };
    let actor_id = activity.actor.id().to_string();
    let Some(actor_origin) = json::origin(&actor_id) else {
        return reject(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("The actor {:?} is not a URL.", clip(&actor_id)),
        );
    };
    let policy = match fed.policy().await {
        Ok(p) => p,
        Err(e) => return AppError::from(e).into_response(),
    };
    if !policy.allows_url(&actor_id) || !policy.allows_url(&claimed.key_id) {
        return reject(
            StatusCode::FORBIDDEN,
            "forbidden",
            "This server does not federate with yours.".into(),
        );
    }
    if json::origin(&claimed.key_id).as_deref() != Some(actor_origin.as_str()) {
        return reject(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            format!(
                "The signing key {} does not belong to the actor's server.",
                clip(&claimed.key_id)
            ),
        );
    }
    if json::origin(&activity.id).as_deref() != Some(actor_origin.as_str()) {
        return reject(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "The activity id is not on the actor's server.".into(),
        );
    }
    let signer = match fed.authenticate(&parts, &claimed, Some(&actor_id)).await {
        Ok(a) => a,
        Err(e) => {
            tracing::info!(status = e.status.as_u16(), detail = %e.detail, "inbox refused a signature");
            let resp = AppError::new(
                e.status,
                if e.status == StatusCode::UNAUTHORIZED {
                    "unauthorized"
                } else {
                    "refused"
                },
                e.message,
            )
            .into_response();
            return if e.status == StatusCode::SERVICE_UNAVAILABLE {
                with_retry_after(resp, 30)
            } else {
                resp
            };
        }
    };
    // Rates are counted on verified requests only: counting unverified ones
    // would let anyone exhaust a peer's allowance with forged posts.
    let now = chrono::Utc::now().timestamp();
    let limited = fed
        .actor_rates
        .check(&signer.ap_id, config.inbox_rate_per_actor, now)
        .and_then(|_| {
            fed.domain_rates
                .check(&signer.domain, config.inbox_rate_per_domain, now)
        });
    if let Err(wait) = limited {
        let resp = reject(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("Too many activities from {}; retry in {wait} s.", signer.domain),
        );
        return with_retry_after(resp, wait);
    }
    // Recording the id first makes de-duplication atomic: of two copies
    // arriving together, one inserts and is processed, the other is a duplicate.
    let kind = activity.kind.first().to_string();
    let raw_text = if HANDLED.contains(&kind.as_str()) && body.len() <= MAX_LOGGED_BODY {
        String::from_utf8_lossy(body)
    } else {
        std::borrow::Cow::Borrowed("")
    };
    match remote::record_activity(
        &state.ctx,
        &activity.id,
        &clip(&kind),
        &actor_id,
        activity.object_id().as_deref(),
        &raw_text,
    )
    .await
    {
        Ok(true) => {}
        Ok(false) => {
            tracing::debug!(id = %activity.id, "duplicate activity ignored");
            return StatusCode::ACCEPTED.into_response();
        }
        Err(e) => return AppError::from(e).into_response(),
    }
    let outcome = handle_activity(fed, &signer, &activity).await;
    if !matches!(outcome, Ok(())) {
        // Not processed: forget the id so that a corrected or retried copy is not taken for a duplicate.
        if let Err(e) = remote::forget_activity(&state.ctx, &activity.id).await {
            tracing::warn!(error = %e, "could not forget a failed activity");
        }
    }
    match outcome {
        Ok(()) => {}
        Err(Handled::Refused(status, msg)) => return reject(status, "invalid", msg),
        Err(Handled::Failed(e)) => {
            tracing::error!(error = %e, id = %activity.id, %kind, "inbox handler failed");
            return AppError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "The activity could not be processed; retry later.",
            )
            .into_response();
        }
    }
    StatusCode::ACCEPTED.into_response()
}

/// Remote text echoed in a message, shortened.
fn clip(s: &str) -> String {
    s.chars().take(200).collect()
}

/// Keeps posts from actors a local actor follows, and replies to our posts.
async fn store_post_if_wanted(fed: &Arc<Federation>, signer: &Actor, a: &Incoming) -> Result<(), Handled> {
    let ctx = &fed.ctx;
    let Some(Value::Object(o)) = &a.object else {
        return Ok(());
    };
    let text = |k: &str| o.get(k).and_then(Value::as_str).map(String::from);
    let in_reply_to = o.get("inReplyTo").and_then(|v| match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(m) => m.get("id").and_then(Value::as_str).map(String::from),
        _ => None,
    });
    // A reply is kept only when it answers something stored here (one of
    // our objects, or a reply already kept): replies to unknown URLs would
    // let anyone fill the database.
    let ours = match in_reply_to.as_deref() {
        Some(r) => remote::object_exists(ctx, r).await?,
        None => false,
    };
    let followed = match crate::service::coop::get_coop(ctx).await? {
        Some(coop) => follows::is_following(ctx, &coop, signer).await?,
        None => false,
    };
    if !ours && !followed {
        tracing::debug!(actor = %signer.ap_id, "post from an actor nobody here follows; not stored");
        return Ok(());
    }
    // Only public posts are shown on the co-op's pages; followers-only and
    // direct posts are not stored here.
    let addressed_public = ["to", "cc"].iter().any(|k| match o.get(*k) {
        Some(Value::String(s)) => is_public(s),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).any(is_public),
        _ => false,
    });
    if !addressed_public {
        tracing::debug!(object = ?o.get("id"), "non-public post not stored");
        return Ok(());
    }
    let post = remote::RemotePost {
        ap_id: text("id").unwrap_or_default(),
        ap_type: text("type").unwrap_or_else(|| "Note".into()),
        title: text("name").unwrap_or_default(),
        summary: text("summary").unwrap_or_default(),
        content_html: text("content").unwrap_or_default(),
        url: super::web_link(o.get("url").and_then(json::first_url)),
        in_reply_to,
        published_at: text("published")
            .and_then(|p| chrono::DateTime::parse_from_rfc3339(&p).ok())
            .map(|d| d.naive_utc()),
    };
    remote::store_post(ctx, signer, post).await?;
    Ok(())
}

fn is_public(s: &str) -> bool {
    s == json::PUBLIC || s == "as:Public" || s == "Public"
}

enum Handled {
    Refused(StatusCode, String),
    Failed(String),
}

impl From<crate::service::ServiceError> for Handled {
    fn from(e: crate::service::ServiceError) -> Self {
        match e {
            crate::service::ServiceError::Invalid { message, .. } => {
                Handled::Refused(StatusCode::BAD_REQUEST, message)
            }
            other => Handled::Failed(other.to_string()),
        }
    }
}

impl From<FedError> for Handled {
    fn from(e: FedError) -> Self {
        match e {
            FedError::Service(s) => s.into(),
            other => Handled::Refused(StatusCode::BAD_REQUEST, other.to_string()),
        }
    }
}

/// The local actor an activity addresses (the co-op when it names it).
async fn local_target(fed: &Arc<Federation>, id: &str) -> Result<Option<Actor>, Handled> {
    let Some(actor) = remote::find_actor(&fed.ctx, id).await? else {
        return Ok(None);
    };
    Ok(actor.local.then_some(actor))
}

fn same_origin(a: &str, b: &str) -> bool {
    json::origin(a).is_some() && json::origin(a) == json::origin(b)
}

async fn handle_activity(fed: &Arc<Federation>, signer: &Actor, a: &Incoming) -> Result<(), Handled> {
    let ctx = &fed.ctx;
    let kind = a.kind.first();
    match kind {
        "Follow" => {
            let object = a
                .object_id()
                .ok_or_else(|| Handled::Refused(StatusCode::BAD_REQUEST, "Follow without object".into()))?;
            let Some(target) = local_target(fed, &object).await? else {
                return Err(Handled::Refused(
                    StatusCode::NOT_FOUND,
                    format!("{object} is not an actor here"),
                ));
            };
            if target.kind == "Application" {
                return Err(Handled::Refused(
                    StatusCode::BAD_REQUEST,
                    "The instance actor cannot be followed.".into(),
                ));
            }
            follows::receive_follow(ctx, signer, &target, &a.id).await?;
        }
        "Undo" => {
            let inner = a.inner();
            let inner_kind = a.object_type().unwrap_or_default();
            let inner_id = a.object_id().unwrap_or_default();
            if !same_origin(&inner_id, &signer.ap_id) {
                return Err(Handled::Refused(
                    StatusCode::FORBIDDEN,
                    "Only the author of an activity can undo it.".into(),
                ));
            }
            // An embedded activity must be the signer's own, not merely from its server.
            if let Some(inner) = &inner {
                if inner.actor.id() != signer.ap_id {
                    return Err(Handled::Refused(
                        StatusCode::FORBIDDEN,
                        "Only the author of an activity can undo it.".into(),
                    ));
                }
            }
            match (inner_kind.as_str(), inner) {
                ("Follow", Some(inner)) => {
                    let object = inner.object_id().unwrap_or_default();
                    if let Some(target) = local_target(fed, &object).await? {
                        follows::receive_unfollow(ctx, signer, &target, Some(&inner.id)).await?;
                    }
                }
                // Undo(Like), Undo(Announce), or an Undo naming only the id.
                _ => {
                    if !remote::remove_reaction(ctx, signer, &inner_id).await? {
                        // A bare-id Undo of a Follow.
                        follows::receive_unfollow_by_id(ctx, signer, &inner_id).await?;
                    }
                }
            }
        }
        "Accept" | "Reject" => {
            // Answers to Follows we sent: the object is our Follow, embedded
            // or by id.
            let inner = a.inner();
            if let Some(follow) = &inner {
                // The Follow answered must be one addressed to the signer.
                if follow.object_id().as_deref() != Some(signer.ap_id.as_str()) {
                    return Err(Handled::Refused(
                        StatusCode::FORBIDDEN,
                        "Only the followed actor can accept or reject a Follow.".into(),
                    ));
                }
            }
            let local = match &inner {
                Some(follow) => local_target(fed, follow.actor.id())
                    .await?
                    .map(|l| (l, follow.id.clone())),
                None => None,
            };
            match local {
                Some((local, follow_id)) => {
                    follows::receive_follow_answer(ctx, signer, &local, &follow_id, kind == "Accept").await?
                }
                None => {
                    let follow_id = a.object_id().unwrap_or_default();
                    follows::receive_follow_answer_by_id(ctx, signer, &follow_id, kind == "Accept").await?;
                }
            }
        }
        "Like" | "Announce" => {
            let object = a.object_id().unwrap_or_default();
            let reaction = if kind == "Like" { "like" } else { "announce" };
            remote::add_reaction(ctx, reaction, signer, &object, &a.id).await?;
        }
        "Create" | "Update" | "Delete" => {
            let Some(object_id) = a.object_id().filter(|id| !id.is_empty()) else {
                return Err(Handled::Refused(
                    StatusCode::BAD_REQUEST,
                    format!("The {kind} has no object id: its object needs an \"id\"."),
                ));
            };
            // An actor may only create, change or delete what lives on its own server.
            if !same_origin(&object_id, &signer.ap_id) {
                return Err(Handled::Refused(
                    StatusCode::FORBIDDEN,
                    format!("{object_id} is not on the actor's server"),
                ));
            }
            let object_type = a.object_type().unwrap_or_default();
            match (kind, object_type.as_str()) {
                ("Update", "Person" | "Organization" | "Group" | "Service" | "Application") => {
                    if object_id == signer.ap_id {
                        if let Some(doc) = a.object.clone() {
                            fed.save_actor_doc(doc, &signer.ap_id).await?;
                        }
                    }
                }
                ("Delete", _) if object_id == signer.ap_id => {
                    remote::remove_actor(ctx, signer).await?;
                    fed.forget_actor(signer.id);
                }
                ("Delete", _) => {
                    remote::delete_post(ctx, signer, &object_id).await?;
                }
                ("Create" | "Update", "Article" | "Note" | "Page") => {
                    store_post_if_wanted(fed, signer, a).await?;
                }
                // Other content (events, polls, questions) is logged, and so
                // de-duplicated, by the caller until its module handles it.
                _ => {
                    tracing::info!(%kind, %object_type, object = %object_id, "content activity logged");
                }
            }
        }
        "Flag" => {
            let objects: Vec<String> = match &a.object {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(|i| {
                        i.as_str()
                            .map(String::from)
                            .or_else(|| i.get("id").and_then(Value::as_str).map(String::from))
                    })
                    .collect(),
                Some(Value::String(s)) => vec![s.clone()],
                Some(v) => v
                    .get("id")
                    .and_then(Value::as_str)
                    .map(String::from)
                    .into_iter()
                    .collect(),
                None => Vec::new(),
            };
            let text = crate::service::text::sanitize_html(a.content.as_deref().unwrap_or(""));
            remote::store_report(ctx, signer, &a.id, &objects, &text).await?;
        }
        "Block" => {
            // A remote account blocks our co-op: stop sending it anything.
            let object = a.object_id().unwrap_or_default();
            if let Some(target) = local_target(fed, &object).await? {
                follows::receive_unfollow(ctx, signer, &target, None).await?;
            }
            tracing::info!(blocker = %signer.ap_id, "blocked by a remote actor");
        }
        other => {
            tracing::debug!(kind = %other, id = %a.id, "activity type not handled; accepted and ignored");
        }
    }
    Ok(())
}
