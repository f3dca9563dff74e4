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

use super::activities::{Envelope, Handled, Inbound, InboxActivity};
use super::json;
use super::signatures::{self, RequestParts};
use crate::db::{Carried, Receipt, ReceiptState};
use crate::http::error::AppError;
use crate::service::remote;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

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

/// Raw bodies over this are logged without the body.
pub const MAX_LOGGED_BODY: usize = 64 * 1024;

async fn receive(
    state: &AppState,
    handle: Option<String>,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &Bytes,
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
    // Fields we skip are not parsed, so serde's nesting limit does not
    // guard them: no activity needs more than this.
    if nesting(body) > MAX_NESTING {
        return reject(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("The JSON is nested more than {MAX_NESTING} levels deep."),
        );
    }
    let envelope: Envelope = match serde_json::from_slice(body) {
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
    let activity = match InboxActivity::parse(&envelope, body) {
        Ok(a) => a,
        Err(e) => {
            return reject(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("The {} could not be read: {e}", clip(envelope.kind.first())),
            )
        }
    };
    let actor_id = envelope.actor.id().to_string();
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
    if json::origin(&envelope.id).as_deref() != Some(actor_origin.as_str()) {
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
    // From here the activity is processed to its end even if this request
    // is dropped (the sender hung up, or the request timed out): cut short
    // once its id is logged, it would be taken for a duplicate when the
    // sender retries, and lost.
    use tracing::Instrument as _;
    let raw = if activity.is_handled() && body.len() <= MAX_LOGGED_BODY {
        String::from_utf8_lossy(body).into_owned()
    } else {
        String::new()
    };
    let kind = envelope.kind.first().to_string();
    let carried = Arc::new(Carried::new(Receipt {
        kind: clip(&kind),
        actor: actor_id,
        object: activity.object_id(),
        raw,
        activity_id: envelope.id,
    }));
    let task_state = state.clone();
    let task_carried = carried.clone();
    // In the request's span, so that its logs keep the request's id.
    let task = async move { process(&task_state, &task_carried, &kind, activity, signer).await };
    match fed.inbox_tasks.spawn(task.in_current_span()).await {
        Ok(resp) => resp,
        Err(e) => {
            let r = carried.receipt();
            tracing::error!(error = %e, id = %r.activity_id, kind = %r.kind, "inbox handler panicked");
            forget(state, &carried).await;
            not_processed()
        }
    }
}

/// Runs a verified activity's handler, whose first write logs its id
/// (de-duplication: of two copies arriving together, one logs it and is
/// applied, the other finds it and is ignored). A handler that wrote
/// nothing has it logged afterwards.
async fn process(
    state: &AppState,
    carried: &Arc<Carried>,
    kind: &str,
    activity: InboxActivity,
    signer: crate::db::models::Actor,
) -> Response {
    let id = &carried.receipt().activity_id;
    if !activity.is_handled() {
        tracing::debug!(%kind, %id, "activity type not handled; accepted and ignored");
    }
    let ctx = state.ctx.receiving(carried.clone());
    let outcome = activity
        .run(&Inbound {
            fed: &state.federation,
            ctx: &ctx,
            signer: &signer,
            announced_by: None,
        })
        .await;
    if carried.state() == ReceiptState::Duplicate {
        tracing::debug!(%id, "duplicate activity ignored");
        return StatusCode::ACCEPTED.into_response();
    }
    match outcome {
        Ok(()) => {}
        Err(failed) => {
            forget(state, carried).await;
            return match failed {
                Handled::Refused(status, msg) => reject(status, "invalid", msg),
                Handled::Failed(e) => {
                    tracing::error!(error = %e, %id, %kind, "inbox handler failed");
                    not_processed()
                }
            };
        }
    }
    if carried.state() == ReceiptState::Pending {
        // Nothing was written: logged now, so that a copy is known as one.
        let r = carried.receipt();
        if let Err(e) = remote::record_activity(&state.ctx, r).await {
            return AppError::from(e).into_response();
        }
    }
    StatusCode::ACCEPTED.into_response()
}

/// An activity that was not processed forgets its id, so that a corrected
/// or retried copy is not taken for a duplicate. Only an id this handling
/// logged: one logged by another copy is that copy's.
async fn forget(state: &AppState, carried: &Carried) {
    if carried.state() != ReceiptState::Logged {
        return;
    }
    if let Err(e) = remote::forget_activity(&state.ctx, &carried.receipt().activity_id).await {
        tracing::warn!(error = %e, "could not forget a failed activity");
    }
}

fn not_processed() -> Response {
    AppError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "The activity could not be processed; retry later.",
    )
    .into_response()
}

/// Deeper JSON than this is refused.
const MAX_NESTING: usize = 64;

/// The deepest nesting of arrays and objects, strings skipped.
fn nesting(body: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in body {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Remote text echoed in a message, shortened.
fn clip(s: &str) -> String {
    s.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn nesting_skips_strings() {
        assert_eq!(super::nesting(br#"{"a":[1,{"b":"[[[{{"}]}"#), 3);
        assert_eq!(super::nesting(br#"{"a":"\"[["}"#), 1);
        assert_eq!(super::nesting(b"[[[]]]"), 3);
    }
}
