//! The federation worker: reads the outgoing events that use cases wrote in
//! their transactions, builds the activity for each, and in one transaction
//! stores it in the outbox, queues one delivery per destination inbox and
//! marks the event done. A crash between two events loses nothing: an
//! unfinished event's claim runs out and it is taken again.

use std::sync::Arc;
use std::time::Duration;

use activitypub_federation::kinds::activity::{
    AcceptType, AnnounceType, CreateType, DeleteType, FollowType, JoinType, RejectType, UndoType, UpdateType,
};
use activitypub_federation::protocol::context::WithContext;
use serde::Serialize;
use tokio::sync::watch;

use super::audience::{self, Audience};
use super::json::{self, ActivityJson, FollowRef, JoinRef};
use super::objects::{self, tombstone};
use super::Federation;
use crate::db::models::{Actor, OutgoingEvent, Visibility};
use crate::db::queries::{actors, content, deliveries as delivery_q, events as event_q, outbox as outbox_q};
use crate::db::{now, DbError};
use crate::service::events::{Consumer, DomainEvent};
use crate::service::news;

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
        let mut conn = fed.ctx.db.write().await?;
        event_q::claim_events(
            &mut conn,
            Consumer::Federation.as_str(),
            32,
            now() + chrono::Duration::seconds(EVENT_LEASE_SECS),
        )
        .await?
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
    kind: String,
    object_id: Option<i64>,
    json: String,
    public: bool,
    inboxes: Vec<String>,
    /// About a members-only object (Create, Update or Delete of it, or a
    /// moderator's removal): `for_members` makes its per-server copies.
    members_only: bool,
}

/// An activity of `actor` around `object`; `id` None makes a new one.
/// Returns its id, its type name and its JSON.
fn wrap<K: Serialize + std::fmt::Display, O: Serialize>(
    fed: &Federation,
    id: Option<&str>,
    kind: K,
    actor: &Actor,
    object: O,
    audience: Audience,
) -> Result<(String, String, String), String> {
    let id = id.map(String::from).unwrap_or_else(|| activity_id(fed));
    let name = kind.to_string();
    let activity = WithContext::new(
        ActivityJson {
            id: id.clone(),
            kind,
            actor: actor.ap_id.clone(),
            object,
            to: audience.to,
            cc: audience.cc,
            published: published(),
        },
        json::context(),
    );
    let body = serde_json::to_string(&activity).map_err(|e| e.to_string())?;
    Ok((id, name, body))
}

async fn process(fed: &Arc<Federation>, event: &OutgoingEvent) -> Result<(), String> {
    let policy = fed.policy().await.map_err(|e| e.to_string())?;
    // The reads' connection goes back to the pool before `finish` takes one
    // for its transaction (a pool of one must not wait on itself).
    let outgoing = {
        let mut conn = fed.ctx.db.conn().await.map_err(|e| e.to_string())?;
        let first = match build(fed, &mut conn, event).await? {
            Some(o) => for_members(fed, &mut conn, o).await?,
            None => Vec::new(),
        };
        // What our members do in our forums, the group announces.
        let announce = match first.first() {
            Some(o) => group_announce(fed, &mut conn, o).await?,
            None => None,
        };
        first.into_iter().chain(announce).collect::<Vec<_>>()
    };
    let outgoing = outgoing
        .into_iter()
        .map(|mut o| {
            o.inboxes.retain(|i| policy.allows_url(i));
            o
        })
        .collect();
    finish(fed, event, outgoing).await
}

/// An activity about a members-only object becomes one copy per server of
/// the members' proved accounts, each naming (in its `to` and its object's)
/// only that server's members: Mastodon shows a non-public post to the
/// accounts it names. Anything else passes unchanged.
async fn for_members(
    fed: &Arc<Federation>,
    conn: &mut crate::db::PooledConn,
    outgoing: Outgoing,
) -> Result<Vec<Outgoing>, String> {
    if !outgoing.members_only {
        return Ok(vec![outgoing]);
    }
    let recipients = audience::member_recipients(conn)
        .await
        .map_err(|e| e.to_string())?;
    if recipients.is_empty() {
        return Ok(vec![outgoing]);
    }
    let activity: serde_json::Value = serde_json::from_str(&outgoing.json).map_err(|e| e.to_string())?;
    let mut copies = Vec::new();
    for (actors, inboxes) in recipients {
        let mut copy = activity.clone();
        let id = activity_id(fed);
        copy["id"] = serde_json::Value::String(id.clone());
        add_to(&mut copy, &actors);
        if copy.get("object").is_some_and(serde_json::Value::is_object) {
            add_to(&mut copy["object"], &actors);
        }
        copies.push(Outgoing {
            ap_id: id,
            actor_id: outgoing.actor_id,
            kind: outgoing.kind.clone(),
            object_id: outgoing.object_id,
            json: serde_json::to_string(&copy).map_err(|e| e.to_string())?,
            public: false,
            inboxes,
            members_only: false,
        });
    }
    Ok(copies)
}

/// Adds `actors` to a document's `to` (a list, or one value, or none).
fn add_to(doc: &mut serde_json::Value, actors: &[String]) {
    let mut to = match doc.get("to") {
        Some(serde_json::Value::Array(list)) => list.clone(),
        Some(serde_json::Value::Null) | None => Vec::new(),
        Some(one) => vec![one.clone()],
    };
    to.extend(actors.iter().cloned().map(serde_json::Value::String));
    doc["to"] = serde_json::Value::Array(to);
}

/// The Announce by one of our forums' groups of an activity (FEP-1b12),
/// embedded as it is, to the group's followers.
/// `object_id`: the object the announced activity is about, so that the
/// Announce is blanked with it when it is deleted or removed.
fn announce(
    fed: &Federation,
    group: &Actor,
    activity: serde_json::Value,
    object_id: Option<i64>,
    inboxes: Vec<String>,
) -> Result<Outgoing, String> {
    let (ap_id, kind, body) = wrap(
        fed,
        None,
        AnnounceType::Announce,
        group,
        activity,
        Audience::of(Visibility::Public, group, &[]),
    )?;
    Ok(Outgoing {
        ap_id,
        actor_id: group.id,
        kind,
        object_id,
        json: body,
        public: true,
        inboxes,
        members_only: false,
    })
}

/// When an activity we built (a member's thread, reply, edit, delete, or a
/// moderator's removal) is about an object in one of our forums: the
/// group's Announce of it.
async fn group_announce(
    fed: &Arc<Federation>,
    conn: &mut crate::db::PooledConn,
    outgoing: &Outgoing,
) -> Result<Option<Outgoing>, String> {
    let Some(object_id) = outgoing.object_id else {
        return Ok(None);
    };
    if outgoing.kind == AnnounceType::Announce.to_string() {
        return Ok(None);
    }
    let Some(object) = content::find(conn, object_id).await.map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let Some((_, _, group)) = crate::db::queries::forums::placement(conn, &object)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    if !group.local || group.id == outgoing.actor_id {
        return Ok(None);
    }
    // A members-only forum's posts are not announced to anyone yet (its
    // members' accounts come with the members work).
    let open = Visibility::from_db(&object.visibility).is_open();
    if !open {
        return Ok(None);
    }
    let activity: serde_json::Value = serde_json::from_str(&outgoing.json).map_err(|e| e.to_string())?;
    let inboxes = audience::followers_inboxes(conn, &group)
        .await
        .map_err(|e| e.to_string())?;
    announce(fed, &group, activity, Some(object.id), inboxes).map(Some)
}

/// A moderator's removal of a post from one of our forums: a Delete by
/// their Person naming the post, with the reason as `summary` (Lemmy's
/// shape for a mod removal). The group's Announce carries it to the
/// followers (`group_announce`).
async fn removal(
    fed: &Arc<Federation>,
    conn: &mut crate::db::PooledConn,
    object_id: i64,
    forum_id: i64,
    moderator_id: i64,
    reason: &str,
) -> Result<Option<Outgoing>, String> {
    let (Some(object), Some(group), Some(moderator)) = (
        content::find(conn, object_id).await.map_err(|e| e.to_string())?,
        actors::find(conn, forum_id).await.map_err(|e| e.to_string())?,
        actors::find(conn, moderator_id)
            .await
            .map_err(|e| e.to_string())?,
    ) else {
        return Ok(None);
    };
    let id = activity_id(fed);
    let mut audience = Audience::of(Visibility::Public, &moderator, std::slice::from_ref(&group.ap_id));
    audience.cc.retain(|c| *c != audience::followers_of(&moderator));
    let doc = WithContext::new(
        serde_json::json!({
            "id": id,
            "type": "Delete",
            "actor": moderator.ap_id,
            "object": object.ap_id,
            "summary": reason,
            "to": audience.to,
            "cc": audience.cc,
            "audience": group.ap_id,
            "published": published(),
        }),
        json::context(),
    );
    let body = serde_json::to_string(&doc).map_err(|e| e.to_string())?;
    Ok(Some(Outgoing {
        ap_id: id,
        actor_id: moderator.id,
        kind: DeleteType::Delete.to_string(),
        object_id: Some(object.id),
        json: body,
        public: false,
        inboxes: Vec::new(),
        members_only: Visibility::from_db(&object.visibility) == Visibility::Members,
    }))
}

/// An activity received for one of our forums, announced as received
/// (from the inbox log) to the forum's followers.
async fn announce_received(
    fed: &Arc<Federation>,
    conn: &mut crate::db::PooledConn,
    forum_id: i64,
    activity_id: &str,
) -> Result<Option<Outgoing>, String> {
    let Some(group) = actors::find(conn, forum_id).await.map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let raw = crate::db::queries::inbox_log::raw_of(conn, activity_id)
        .await
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    let Ok(activity) = serde_json::from_str::<serde_json::Value>(&raw) else {
        // Too large to keep, or pruned: nothing to pass on.
        return Ok(None);
    };
    let inboxes = audience::followers_inboxes(conn, &group)
        .await
        .map_err(|e| e.to_string())?;
    // What it is about, by id (embedded or bare).
    let about = activity
        .get("object")
        .and_then(|o| o.get("id").or(Some(o)))
        .and_then(serde_json::Value::as_str)
        .map(String::from);
    let object_id = match about {
        Some(ap_id) => content::find_by_ap_id(conn, &ap_id)
            .await
            .map_err(|e| e.to_string())?
            .map(|o| o.id),
        None => None,
    };
    announce(fed, &group, activity, object_id, inboxes).map(Some)
}

/// The activity for an event, or None when there is nothing to send. The
/// match lists every domain event: a new one does not compile until it is
/// handled here.
async fn build(
    fed: &Arc<Federation>,
    conn: &mut crate::db::PooledConn,
    event: &OutgoingEvent,
) -> Result<Option<Outgoing>, String> {
    let domain_event = match DomainEvent::decode(&event.kind, event.subject_id, &event.detail) {
        Ok(e) => e,
        Err(why) => {
            // A row no version of this code can read: retrying will not help.
            tracing::error!(event = event.id, %why, "unreadable outgoing event; skipped");
            return Ok(None);
        }
    };
    match domain_event {
        DomainEvent::NewsPublished { id }
        | DomainEvent::EventPublished { id }
        | DomainEvent::PollPublished { id }
        | DomainEvent::ReplyPublished { id }
        | DomainEvent::ThreadPublished { id } => object_activity(fed, conn, id, Change::Create).await,
        DomainEvent::NewsUpdated { id }
        | DomainEvent::EventUpdated { id }
        | DomainEvent::PollUpdated { id }
        | DomainEvent::ThreadUpdated { id } => object_activity(fed, conn, id, Change::Update).await,
        DomainEvent::PostRemoved {
            id,
            forum,
            moderator,
            reason,
        } => removal(fed, conn, id, forum, moderator, &reason).await,
        DomainEvent::ForumAnnounce { forum, activity } => {
            announce_received(fed, conn, forum, &activity).await
        }
        DomainEvent::NewsDeleted { id }
        | DomainEvent::EventDeleted { id }
        | DomainEvent::PollDeleted { id }
        | DomainEvent::ReplyDeleted { id } => object_activity(fed, conn, id, Change::Delete).await,
        DomainEvent::JoinAnswered {
            object,
            remote,
            join_id,
            accepted,
        } => join_answer(fed, conn, object, remote, &join_id, accepted).await,
        DomainEvent::ReplyForwarded {
            activity,
            from,
            reply,
        } => forward(conn, &activity, from, reply).await,
        DomainEvent::ProfileUpdated { actor } => profile_update(fed, conn, actor).await,
        DomainEvent::LinkCodeSent { link, actor, code } => link_code(fed, conn, link, actor, &code).await,
        DomainEvent::MessageSent { id } => message(fed, conn, id).await,
        DomainEvent::AccountDeleted { actor } => account_deleted(fed, conn, actor).await,
        DomainEvent::ReportForwarded { report, to } => report_forwarded(fed, conn, report, to).await,
        // Local only: never queued for this consumer.
        DomainEvent::BallotClosed { .. } | DomainEvent::NewsletterDue { .. } => Ok(None),
        DomainEvent::FollowRequested {
            local,
            remote,
            follow_id,
        } => follow_activity(fed, conn, FollowKind::Follow, local, remote, &follow_id).await,
        DomainEvent::FollowAccepted {
            local,
            remote,
            follow_id,
        } => follow_activity(fed, conn, FollowKind::Accept, local, remote, &follow_id).await,
        DomainEvent::FollowRejected {
            local,
            remote,
            follow_id,
        } => follow_activity(fed, conn, FollowKind::Reject, local, remote, &follow_id).await,
        DomainEvent::FollowUndone {
            local,
            remote,
            follow_id,
        } => follow_activity(fed, conn, FollowKind::Undo, local, remote, &follow_id).await,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    Create,
    Update,
    Delete,
}

/// Create, Update or Delete of one of our objects (Article, Event,
/// Question, a member's Note), to the audience its visibility names and to
/// those it concerns (`audience::related`).
async fn object_activity(
    fed: &Arc<Federation>,
    conn: &mut crate::db::PooledConn,
    object_id: i64,
    change: Change,
) -> Result<Option<Outgoing>, String> {
    let Some(object) = content::find(conn, object_id).await.map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    // Deleted before its Create or Update went out, or taken back to draft
    // or a later time after this event was claimed: nothing to send now.
    if change != Change::Delete
        && (object.deleted_at.is_some() || news::publication(&object) != news::Publication::Published)
    {
        return Ok(None);
    }
    let author = actors::find(conn, object.author_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the author is gone")?;
    let visibility = Visibility::from_db(&object.visibility);
    let related = audience::related(conn, &object)
        .await
        .map_err(|e| e.to_string())?;
    let audience = Audience::of(visibility, &author, &related.cc);
    // Listed in the outbox and served at its id: public objects only.
    let public = visibility.is_listed();
    let (ap_id, kind, body) = match change {
        Change::Delete => wrap(
            fed,
            None,
            DeleteType::Delete,
            &author,
            tombstone::document(&object),
            audience,
        )?,
        Change::Create | Change::Update => {
            let Some(doc) = objects::document(conn, &object, &author)
                .await
                .map_err(|e| e.to_string())?
            else {
                return Ok(None);
            };
            if change == Change::Create {
                wrap(fed, None, CreateType::Create, &author, doc, audience)?
            } else {
                wrap(fed, None, UpdateType::Update, &author, doc, audience)?
            }
        }
    };
    let mut inboxes = audience::inboxes(conn, visibility, &author, &[])
        .await
        .map_err(|e| e.to_string())?;
    // Those it concerns hear of it only when it is not members-only.
    if visibility.is_open() {
        inboxes.extend(related.inboxes);
    }
    inboxes.sort();
    inboxes.dedup();
    Ok(Some(Outgoing {
        ap_id,
        actor_id: author.id,
        kind,
        object_id: Some(object.id),
        json: body,
        public,
        inboxes,
        members_only: visibility == Visibility::Members,
    }))
}

/// Accept or Reject of a remote actor's Join of one of our events, naming
/// the Join, to the actor.
async fn join_answer(
    fed: &Arc<Federation>,
    conn: &mut crate::db::PooledConn,
    object_id: i64,
    remote_id: i64,
    join_id: &str,
    accepted: bool,
) -> Result<Option<Outgoing>, String> {
    let (Some(object), Some(remote)) = (
        content::find(conn, object_id).await.map_err(|e| e.to_string())?,
        actors::find(conn, remote_id).await.map_err(|e| e.to_string())?,
    ) else {
        return Ok(None);
    };
    let organizer = actors::find(conn, object.author_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the organizer is gone")?;
    let join = JoinRef {
        id: join_id.to_string(),
        kind: JoinType::Join,
        actor: remote.ap_id.clone(),
        object: object.ap_id.clone(),
    };
    let to = Audience::only(&remote);
    let (ap_id, kind, body) = if accepted {
        wrap(fed, None, AcceptType::Accept, &organizer, join, to)?
    } else {
        wrap(fed, None, RejectType::Reject, &organizer, join, to)?
    };
    Ok(Some(Outgoing {
        ap_id,
        actor_id: organizer.id,
        kind,
        object_id: Some(object.id),
        json: body,
        public: false,
        inboxes: vec![remote.inbox.clone()],
        members_only: false,
    }))
}

/// A remote reply passed on, byte for byte as received, to the co-op's
/// followers (but not back to the sender's server). The HTTP signature is
/// ours; receivers trust the content by its own Linked Data signature, or
/// fetch it from its origin.
async fn forward(
    conn: &mut crate::db::PooledConn,
    activity_id: &str,
    from: i64,
    reply: i64,
) -> Result<Option<Outgoing>, String> {
    // Deleted or hidden by a moderator since: not passed on.
    let shown = content::find(conn, reply)
        .await
        .map_err(|e| e.to_string())?
        .is_some_and(|r| r.deleted_at.is_none() && r.hidden_at.is_none());
    if !shown {
        return Ok(None);
    }
    let raw = crate::db::queries::inbox_log::raw_of(conn, activity_id)
        .await
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    if raw.is_empty() {
        // Too large to keep, or pruned: nothing to pass on.
        return Ok(None);
    }
    let coop_id = crate::db::queries::instance::get_or_create(conn)
        .await
        .map_err(|e| e.to_string())?
        .coop_actor_id;
    let Some(coop) = (match coop_id {
        Some(id) => actors::find(conn, id).await.map_err(|e| e.to_string())?,
        None => None,
    }) else {
        return Ok(None);
    };
    let sender = actors::find(conn, from).await.map_err(|e| e.to_string())?;
    let sender_origin = sender.as_ref().and_then(|s| json::origin(&s.ap_id));
    let inboxes = audience::followers_inboxes(conn, &coop)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|i| json::origin(i) != sender_origin)
        .collect();
    Ok(Some(Outgoing {
        ap_id: activity_id.to_string(),
        actor_id: coop.id,
        kind: CreateType::Create.to_string(),
        object_id: Some(reply),
        json: raw,
        public: false,
        inboxes,
        members_only: false,
    }))
}

/// The direct message that proves a member's linked account: a Note from
/// the co-op that mentions only that account (Mastodon's "mentioned people
/// only"), with the code to type on the member's account page or to send
/// back in a reply. Not sent when the link was removed or renewed since.
async fn link_code(
    fed: &Arc<Federation>,
    conn: &mut crate::db::PooledConn,
    link: i64,
    actor_id: i64,
    code: &str,
) -> Result<Option<Outgoing>, String> {
    let current = crate::db::queries::members::find_link(conn, link)
        .await
        .map_err(|e| e.to_string())?
        .is_some_and(|l| l.verified_at.is_none() && l.actor_id == actor_id);
    let (Some(recipient), Some(coop)) = (
        actors::find(conn, actor_id).await.map_err(|e| e.to_string())?,
        crate::service::coop::coop_actor_on(conn)
            .await
            .map_err(|e| e.to_string())?,
    ) else {
        return Ok(None);
    };
    if !current {
        return Ok(None);
    }
    let esc = crate::service::text::escape_html;
    let profile = recipient.url.clone().unwrap_or_else(|| recipient.ap_id.clone());
    let content = format!(
        "<p><span class=\"h-card\"><a href=\"{}\" class=\"u-url mention\">@<span>{}</span></a></span> Your code to link this account to {} at {}: <strong>{}</strong></p><p>Type it on your account page there, or reply to this message with it. It works for {} minutes. If you did not ask for this, ignore this message.</p>",
        esc(&profile),
        esc(&recipient.handle),
        esc(&coop.name),
        esc(&fed.ctx.config.domain()),
        esc(code),
        crate::service::member_links::CODE_MINUTES,
    );
    let id = activity_id(fed);
    let note = serde_json::json!({
        "id": format!("{id}/note"),
        "type": "Note",
        "attributedTo": coop.ap_id,
        "content": content,
        "to": [recipient.ap_id],
        "cc": [],
        "tag": [{"type": "Mention", "href": recipient.ap_id, "name": format!("@{}@{}", recipient.handle, recipient.domain)}],
        "published": published(),
    });
    let (ap_id, kind, body) = wrap(
        fed,
        Some(&id),
        CreateType::Create,
        &coop,
        note,
        Audience::only(&recipient),
    )?;
    Ok(Some(Outgoing {
        ap_id,
        actor_id: coop.id,
        kind,
        object_id: None,
        json: body,
        public: false,
        inboxes: vec![recipient.inbox.clone()],
        members_only: false,
    }))
}

/// A member's report, forwarded by a moderator: a `Flag` of the reported
/// account and post from the instance actor (as Mastodon forwards them),
/// to that account's server; the reporting member is not named.
async fn report_forwarded(
    fed: &Arc<Federation>,
    conn: &mut crate::db::PooledConn,
    report: i64,
    to: i64,
) -> Result<Option<Outgoing>, String> {
    let row = crate::db::queries::notifications::find_report(conn, report)
        .await
        .map_err(|e| e.to_string())?;
    let target = actors::find(conn, to).await.map_err(|e| e.to_string())?;
    let instance = crate::service::coop::instance_actor(&fed.ctx)
        .await
        .map_err(|e| e.to_string())?;
    let (Some(row), Some(target), Some(instance)) = (row, target, instance) else {
        return Ok(None);
    };
    let id = activity_id(fed);
    let objects: Vec<&str> = row.objects.lines().collect();
    let json = serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": id,
        "type": "Flag",
        "actor": instance.ap_id,
        "object": objects,
        "content": row.content,
        "to": [target.ap_id],
    });
    Ok(Some(Outgoing {
        ap_id: id,
        actor_id: instance.id,
        kind: "Flag".into(),
        object_id: None,
        json: json.to_string(),
        public: false,
        inboxes: vec![target
            .shared_inbox
            .clone()
            .unwrap_or_else(|| target.inbox.clone())],
        members_only: false,
    }))
}

/// A member's direct message, to the recipients on other servers: a
/// `Create(Note)` addressed to the recipients only, each named in a
/// `Mention` (Mastodon's "mentioned people only").
async fn message(
    fed: &Arc<Federation>,
    conn: &mut crate::db::PooledConn,
    id: i64,
) -> Result<Option<Outgoing>, String> {
    let Some(object) = content::find(conn, id).await.map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    if object.deleted_at.is_some() {
        return Ok(None);
    }
    let author = actors::find(conn, object.author_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the author is gone")?;
    let mut recipients = Vec::new();
    for (_, actor_id, _) in crate::db::queries::messages::recipients_of(conn, &[id])
        .await
        .map_err(|e| e.to_string())?
    {
        if let Some(a) = actors::find(conn, actor_id).await.map_err(|e| e.to_string())? {
            recipients.push(a);
        }
    }
    let to: Vec<String> = recipients.iter().map(|a| a.ap_id.clone()).collect();
    let tags: Vec<serde_json::Value> = recipients
        .iter()
        .map(|a| serde_json::json!({"type": "Mention", "href": a.ap_id, "name": format!("@{}@{}", a.handle, a.domain)}))
        .collect();
    let note = serde_json::json!({
        "id": object.ap_id,
        "type": "Note",
        "attributedTo": author.ap_id,
        "content": object.content_html,
        "to": to,
        "cc": [],
        "tag": tags,
        "inReplyTo": object.in_reply_to,
        "published": object.published_at.map(json::rfc3339),
        "directMessage": true,
    });
    let audience = Audience { to, cc: Vec::new() };
    let (ap_id, kind, body) = wrap(fed, None, CreateType::Create, &author, note, audience)?;
    let mut inboxes: Vec<String> = recipients
        .iter()
        .filter(|a| !a.local)
        .map(|a| a.inbox.clone())
        .collect();
    inboxes.sort();
    inboxes.dedup();
    Ok(Some(Outgoing {
        ap_id,
        actor_id: author.id,
        kind,
        object_id: Some(object.id),
        json: body,
        public: false,
        inboxes,
        members_only: false,
    }))
}

/// Update of a local actor's profile, to its followers.
async fn profile_update(
    fed: &Arc<Federation>,
    conn: &mut crate::db::PooledConn,
    actor_id: i64,
) -> Result<Option<Outgoing>, String> {
    let Some(actor) = actors::find(conn, actor_id).await.map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let forum = crate::db::queries::forums::find(conn, actor.id)
        .await
        .map_err(|e| e.to_string())?
        .map(|f| f.posting_restricted);
    let doc = super::actors::coop::for_config(&fed.ctx.config, &actor, forum);
    let (ap_id, kind, body) = wrap(
        fed,
        None,
        UpdateType::Update,
        &actor,
        doc,
        Audience::of(Visibility::Public, &actor, &[]),
    )?;
    let inboxes = audience::inboxes(conn, Visibility::Public, &actor, &[])
        .await
        .map_err(|e| e.to_string())?;
    Ok(Some(Outgoing {
        ap_id,
        actor_id: actor.id,
        kind,
        object_id: None,
        json: body,
        public: true,
        inboxes,
        members_only: false,
    }))
}

/// `Delete` of a member's Person, as Mastodon sends when an account goes:
/// to its followers, the co-op's followers (who saw its replies) and the
/// servers of those it wrote to.
async fn account_deleted(
    fed: &Arc<Federation>,
    conn: &mut crate::db::PooledConn,
    actor_id: i64,
) -> Result<Option<Outgoing>, String> {
    let e = |e: DbError| e.to_string();
    let Some(person) = actors::find(conn, actor_id).await.map_err(e)? else {
        return Ok(None);
    };
    let (ap_id, kind, body) = wrap(
        fed,
        None,
        DeleteType::Delete,
        &person,
        person.ap_id.clone(),
        Audience::of(Visibility::Public, &person, &[]),
    )?;
    let mut inboxes = audience::inboxes(conn, Visibility::Public, &person, &[])
        .await
        .map_err(e)?;
    let instance = crate::db::queries::instance::get_or_create(conn)
        .await
        .map_err(e)?;
    if let Some(coop) = instance.coop_actor_id {
        if let Some(coop) = actors::find(conn, coop).await.map_err(e)? {
            inboxes.extend(
                audience::inboxes(conn, Visibility::Public, &coop, &[])
                    .await
                    .map_err(e)?,
            );
        }
    }
    let messages = crate::db::queries::messages::messages_of(conn, actor_id, 10_000)
        .await
        .map_err(e)?;
    let ids: Vec<i64> = messages
        .iter()
        .filter(|m| m.author_id == actor_id)
        .map(|m| m.id)
        .collect();
    for (_, recipient, _) in crate::db::queries::messages::recipients_of(conn, &ids)
        .await
        .map_err(e)?
    {
        if let Some(a) = actors::find(conn, recipient)
            .await
            .map_err(e)?
            .filter(|a| !a.local)
        {
            inboxes.push(a.shared_inbox.unwrap_or(a.inbox));
        }
    }
    inboxes.sort();
    inboxes.dedup();
    Ok(Some(Outgoing {
        ap_id,
        actor_id: person.id,
        kind,
        object_id: None,
        json: body,
        public: true,
        inboxes,
        members_only: false,
    }))
}

#[derive(Clone, Copy)]
enum FollowKind {
    /// Our Follow of a remote actor.
    Follow,
    /// Answers to a remote actor's Follow of us.
    Accept,
    Reject,
    /// Taking back our Follow.
    Undo,
}

/// The four follow activities share their shape: between a local and a
/// remote actor, to the remote actor's own inbox, naming the Follow by id.
async fn follow_activity(
    fed: &Arc<Federation>,
    conn: &mut crate::db::PooledConn,
    kind: FollowKind,
    local_id: i64,
    remote_id: i64,
    follow_id: &str,
) -> Result<Option<Outgoing>, String> {
    let local = actors::find(conn, local_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("local actor gone")?;
    let Some(remote) = actors::find(conn, remote_id).await.map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let to = Audience::only(&remote);
    let (ap_id, kind, body) = match kind {
        // Our own Follow carries the id stored with the follow row, so that
        // the Accept (and a later Undo) can name it.
        FollowKind::Follow => wrap(
            fed,
            Some(follow_id),
            FollowType::Follow,
            &local,
            remote.ap_id.clone(),
            to,
        )?,
        FollowKind::Accept | FollowKind::Reject | FollowKind::Undo => {
            let (follower, followed) = match kind {
                FollowKind::Accept | FollowKind::Reject => (&remote, &local),
                _ => (&local, &remote),
            };
            let follow = FollowRef {
                id: follow_id.to_string(),
                kind: FollowType::Follow,
                actor: follower.ap_id.clone(),
                object: followed.ap_id.clone(),
            };
            match kind {
                FollowKind::Accept => wrap(fed, None, AcceptType::Accept, &local, follow, to)?,
                FollowKind::Reject => wrap(fed, None, RejectType::Reject, &local, follow, to)?,
                _ => wrap(fed, None, UndoType::Undo, &local, follow, to)?,
            }
        }
    };
    Ok(Some(Outgoing {
        ap_id,
        actor_id: local.id,
        kind,
        object_id: None,
        json: body,
        public: false,
        inboxes: vec![remote.inbox.clone()],
        members_only: false,
    }))
}

/// Stores the activity and its deliveries and marks the event done, in one transaction.
async fn finish(fed: &Arc<Federation>, event: &OutgoingEvent, outgoing: Vec<Outgoing>) -> Result<(), String> {
    let mut tx = fed.ctx.db.begin().await.map_err(|e| e.to_string())?;
    for o in outgoing {
        let outbox_id = outbox_q::insert_outbox(
            &mut tx,
            &outbox_q::NewOutbox {
                ap_id: &o.ap_id,
                actor_id: o.actor_id,
                kind: &o.kind,
                object_id: o.object_id,
                json: &o.json,
                public: o.public,
            },
        )
        .await
        .map_err(|e| e.to_string())?;
        let queued = delivery_q::queue_deliveries(&mut tx, outbox_id, &o.inboxes)
            .await
            .map_err(|e| e.to_string())?;
        // A Create built while the object was being deleted must not
        // outlive the Delete.
        if o.kind == DeleteType::Delete.to_string() {
            if let Some(object_id) = o.object_id {
                outbox_q::redact_outbox_for_object(&mut tx, object_id)
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        tracing::info!(activity = %o.ap_id, kind = %o.kind, inboxes = queued, "activity queued for delivery");
    }
    event_q::finish_event(&mut tx, event.id)
        .await
        .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())
}
