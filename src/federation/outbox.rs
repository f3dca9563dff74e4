//! The federation worker: reads the outgoing events that use cases wrote in
//! their transactions, builds the activity for each, and in one transaction
//! stores it in the outbox, queues one delivery per destination inbox and
//! marks the event done. A crash between two events loses nothing: an
//! unfinished event's claim runs out and it is taken again.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

use super::json::{self, ActivityJson, FollowRef, PUBLIC};
use super::Federation;
use crate::db::models::{Actor, OutgoingEvent};
use crate::db::queries::{actors, content, federation as fed_q};
use crate::db::{now, DbError};
use crate::service::{follows, news};

const EVENT_LEASE_SECS: i64 = 30;

pub async fn run(fed: Arc<Federation>, mut stop: watch::Receiver<bool>) {
    loop {
        let busy = match process_batch(&fed).await {
            Ok(n) => n > 0,
            Err(e) => {
                tracing::error!(error = %e, "federation worker: batch failed");
                false
            }
        };
        if *stop.borrow() {
            break;
        }
        if !busy {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                _ = stop.changed() => break,
            }
        }
    }
}

/// Claims and processes one batch; returns how many events were handled.
pub async fn process_batch(fed: &Arc<Federation>) -> Result<usize, DbError> {
    let events = {
        let mut conn = fed.ctx.db.conn().await?;
        fed_q::claim_events(&mut conn, 32, now() + chrono::Duration::seconds(EVENT_LEASE_SECS)).await?
    };
    let n = events.len();
    for event in events {
        if let Err(e) = process(fed, &event).await {
            // The claim runs out and the event is retried.
            tracing::error!(error = %e, event = event.id, kind = %event.kind, "could not build the activity; will retry");
        }
    }
    Ok(n)
}

fn activity_id(fed: &Federation) -> String {
    fed.ctx
        .config
        .url(&format!("/activities/{}", crate::crypto::random_token()))
}

fn published() -> Option<String> {
    Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

struct Outgoing {
    ap_id: String,
    actor_id: i64,
    kind: &'static str,
    object_id: Option<i64>,
    json: String,
    public: bool,
    inboxes: Vec<String>,
}

/// An activity of `actor` around `object`; `id` None makes a new one.
fn wrap<O: Serialize>(
    fed: &Federation,
    id: Option<&str>,
    kind: &'static str,
    actor: &Actor,
    object: O,
    to: Vec<String>,
    cc: Vec<String>,
) -> (String, String) {
    let id = id.map(String::from).unwrap_or_else(|| activity_id(fed));
    let activity = ActivityJson {
        context: json::context(),
        id: id.clone(),
        kind,
        actor: actor.ap_id.clone(),
        object,
        to,
        cc,
        published: published(),
    };
    (id, serde_json::to_string(&activity).unwrap_or_default())
}

async fn process(fed: &Arc<Federation>, event: &OutgoingEvent) -> Result<(), String> {
    let policy = fed.policy().await.map_err(|e| e.to_string())?;
    // The reads' connection goes back to the pool before `finish` takes one
    // for its transaction (a pool of one must not wait on itself).
    let outgoing = {
        let mut conn = fed.ctx.db.conn().await.map_err(|e| e.to_string())?;
        build(fed, &mut conn, event).await?
    };
    let outgoing = outgoing.map(|mut o| {
        o.inboxes.retain(|i| policy.allows_url(i));
        o
    });
    finish(fed, event, outgoing).await
}

/// The activity for an event, or None when there is nothing to send.
async fn build(
    fed: &Arc<Federation>,
    conn: &mut crate::db::PooledConn,
    event: &OutgoingEvent,
) -> Result<Option<Outgoing>, String> {
    let outgoing = match event.kind.as_str() {
        news::EVENT_CREATED | news::EVENT_UPDATED | news::EVENT_DELETED => {
            let Some(object) = content::find(conn, event.subject_id)
                .await
                .map_err(|e| e.to_string())?
            else {
                return Ok(None);
            };
            // Deleted before its Create or Update went out: nothing to send
            // but the Delete.
            if object.deleted_at.is_some() && event.kind != news::EVENT_DELETED {
                return Ok(None);
            }
            let author = actors::find(conn, object.author_id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or("the author is gone")?;
            let followers = author.followers_url.clone().unwrap_or_default();
            let (kind, (ap_id, body)) = match event.kind.as_str() {
                news::EVENT_CREATED => (
                    "Create",
                    wrap(
                        fed,
                        None,
                        "Create",
                        &author,
                        json::article(&object, &author),
                        vec![PUBLIC.into()],
                        vec![followers.clone()],
                    ),
                ),
                news::EVENT_UPDATED => (
                    "Update",
                    wrap(
                        fed,
                        None,
                        "Update",
                        &author,
                        json::article(&object, &author),
                        vec![PUBLIC.into()],
                        vec![followers.clone()],
                    ),
                ),
                _ => (
                    "Delete",
                    wrap(
                        fed,
                        None,
                        "Delete",
                        &author,
                        json::tombstone(&object),
                        vec![PUBLIC.into()],
                        vec![followers.clone()],
                    ),
                ),
            };
            let inboxes = fed_q::follower_inboxes(conn, author.id)
                .await
                .map_err(|e| e.to_string())?;
            Outgoing {
                ap_id,
                actor_id: author.id,
                kind,
                object_id: Some(object.id),
                json: body,
                public: true,
                inboxes,
            }
        }
        // The four follow events share their shape: the detail is "local
        // actor id\nFollow id", the subject is the remote actor, and the
        // activity goes to the remote actor's own inbox.
        follows::EVENT_ACCEPTED
        | follows::EVENT_REJECTED
        | follows::EVENT_UNDONE
        | follows::EVENT_REQUESTED => {
            let (local_id, follow_id) = event.detail.split_once('\n').unwrap_or(("", ""));
            let local_id: i64 = local_id.parse().map_err(|_| "bad event detail")?;
            let local = actors::find(conn, local_id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or("local actor gone")?;
            let Some(remote) = actors::find(conn, event.subject_id)
                .await
                .map_err(|e| e.to_string())?
            else {
                return Ok(None);
            };
            let to = vec![remote.ap_id.clone()];
            let (kind, ap_id, body) = match event.kind.as_str() {
                // Our own Follow carries the id stored with the follow row, so
                // that the Accept (and a later Undo) can name it.
                follows::EVENT_REQUESTED => {
                    let (id, body) = wrap(
                        fed,
                        Some(follow_id),
                        "Follow",
                        &local,
                        remote.ap_id.clone(),
                        to,
                        vec![],
                    );
                    ("Follow", id, body)
                }
                kind => {
                    // Accept/Reject answer the remote's Follow of us; Undo takes back ours.
                    let (name, follower, followed) = match kind {
                        follows::EVENT_ACCEPTED => ("Accept", &remote, &local),
                        follows::EVENT_REJECTED => ("Reject", &remote, &local),
                        _ => ("Undo", &local, &remote),
                    };
                    let follow = FollowRef {
                        id: follow_id.to_string(),
                        kind: "Follow",
                        actor: follower.ap_id.clone(),
                        object: followed.ap_id.clone(),
                    };
                    let (id, body) = wrap(fed, None, name, &local, follow, to, vec![]);
                    (name, id, body)
                }
            };
            Outgoing {
                ap_id,
                actor_id: local.id,
                kind,
                object_id: None,
                json: body,
                public: false,
                inboxes: vec![remote.inbox.clone()],
            }
        }
        crate::service::coop::EVENT_PROFILE_UPDATED => {
            let Some(actor) = actors::find(conn, event.subject_id)
                .await
                .map_err(|e| e.to_string())?
            else {
                return Ok(None);
            };
            let c = &fed.ctx.config;
            let doc = json::actor(&actor, &c.url("/"), &c.url("/inbox"));
            let mut object = serde_json::to_value(&doc).map_err(|e| e.to_string())?;
            if let Some(m) = object.as_object_mut() {
                m.remove("@context");
            }
            let followers = actor.followers_url.clone().unwrap_or_default();
            let (ap_id, body) = wrap(
                fed,
                None,
                "Update",
                &actor,
                object,
                vec![PUBLIC.into()],
                vec![followers],
            );
            let inboxes = fed_q::follower_inboxes(conn, actor.id)
                .await
                .map_err(|e| e.to_string())?;
            Outgoing {
                ap_id,
                actor_id: actor.id,
                kind: "Update",
                object_id: None,
                json: body,
                public: true,
                inboxes,
            }
        }
        other => {
            tracing::debug!(kind = %other, "outgoing event with nothing to federate");
            return Ok(None);
        }
    };
    Ok(Some(outgoing))
}

/// Stores the activity and its deliveries and marks the event done, in one transaction.
async fn finish(
    fed: &Arc<Federation>,
    event: &OutgoingEvent,
    outgoing: Option<Outgoing>,
) -> Result<(), String> {
    let mut tx = fed.ctx.db.begin().await.map_err(|e| e.to_string())?;
    if let Some(o) = outgoing {
        let outbox_id = fed_q::insert_outbox(
            &mut tx,
            &fed_q::NewOutbox {
                ap_id: &o.ap_id,
                actor_id: o.actor_id,
                kind: o.kind,
                object_id: o.object_id,
                json: &o.json,
                public: o.public,
            },
        )
        .await
        .map_err(|e| e.to_string())?;
        let queued = fed_q::queue_deliveries(&mut tx, outbox_id, &o.inboxes)
            .await
            .map_err(|e| e.to_string())?;
        // A Create built while the object was being deleted must not
        // outlive the Delete.
        if o.kind == "Delete" {
            if let Some(object_id) = o.object_id {
                fed_q::redact_outbox_for_object(&mut tx, object_id)
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        tracing::info!(activity = %o.ap_id, kind = o.kind, inboxes = queued, "activity queued for delivery");
    }
    fed_q::finish_event(&mut tx, event.id)
        .await
        .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())
}
