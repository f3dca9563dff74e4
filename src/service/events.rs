//! Domain events: what happened, written by a use case in the same
//! transaction as its change, for the channels that tell the world
//! (federation now; email and SMS later). Typed, so that a consumer's
//! `match` lists every event and a new one does not compile until each
//! consumer handles it.
//!
//! Stored in `outgoing_events` as `kind` (a stable name, also used to find
//! a subject's pending events), `subject_id` and `detail` (this enum as JSON),
//! one row per consumer that reads the event (`DomainEvent::consumers`).
//! Each consumer claims and finishes its own rows, so one channel's
//! progress or failure never holds back another, and several processes can
//! share a consumer's work (rows are claimed with a lease, not read through
//! a single cursor that would serialise them and skip events not yet due).

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::{ServiceError, ServiceResult};
use crate::db::queries::events as event_q;
use crate::db::PooledConn;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event")]
pub enum DomainEvent {
    /// News became public (now, or at its scheduled time).
    NewsPublished {
        id: i64,
    },
    /// Published news was edited.
    NewsUpdated {
        id: i64,
    },
    NewsDeleted {
        id: i64,
    },
    /// An event was published (events are public on creation).
    EventPublished {
        id: i64,
    },
    /// Its time, place or text changed, or it was cancelled: to the
    /// followers and to everyone who joined.
    EventUpdated {
        id: i64,
    },
    EventDeleted {
        id: i64,
    },
    /// The answer to a remote actor's Join of one of our events.
    JoinAnswered {
        object: i64,
        remote: i64,
        join_id: String,
        accepted: bool,
    },
    PollPublished {
        id: i64,
    },
    /// New counts, or the poll closed (recorded at creation, due at its end).
    PollUpdated {
        id: i64,
    },
    PollDeleted {
        id: i64,
    },
    /// A member replied from the web, as their Person.
    ReplyPublished {
        id: i64,
    },
    /// A member's reply was deleted (by a moderator).
    ReplyDeleted {
        id: i64,
    },
    /// A remote reply to one of our objects, to pass on to the co-op's
    /// followers as received (`activity`: its id in the inbox log).
    ReplyForwarded {
        activity: String,
        from: i64,
        /// The stored reply: deleting it takes back what is not sent yet.
        reply: i64,
    },
    /// A local actor's profile changed.
    ProfileUpdated {
        actor: i64,
    },
    /// `remote` follows `local`; the follow was accepted.
    FollowAccepted {
        local: i64,
        remote: i64,
        follow_id: String,
    },
    /// `local` removed its follower `remote`.
    FollowRejected {
        local: i64,
        remote: i64,
        follow_id: String,
    },
    /// `local` asks to follow `remote`.
    FollowRequested {
        local: i64,
        remote: i64,
        follow_id: String,
    },
    /// `local` stopped following `remote`.
    FollowUndone {
        local: i64,
        remote: i64,
        follow_id: String,
    },
    /// A member started a thread in a forum (ours: the group announces it;
    /// another server's: it goes to that group).
    ThreadPublished {
        id: i64,
    },
    /// A thread was locked, unlocked, pinned or unpinned.
    ThreadUpdated {
        id: i64,
    },
    /// A moderator removed a thread or a reply from one of our forums:
    /// a Delete by the moderator's Person, announced by the group.
    PostRemoved {
        id: i64,
        forum: i64,
        moderator: i64,
        reason: String,
    },
    /// An activity received for one of our forums (`activity` names it in
    /// the inbox log), to announce as received to the forum's followers.
    ForumAnnounce {
        forum: i64,
        activity: String,
    },
    /// A member linked a fediverse account: the co-op sends it the code
    /// that proves the member controls it, in a direct message. The code is
    /// in the event (the message carries it anyway); the link keeps only
    /// its hash, and it works for an hour.
    LinkCodeSent {
        link: i64,
        actor: i64,
        code: String,
    },
    /// A member wrote a direct message to someone on another server.
    MessageSent {
        id: i64,
    },
    /// A member deleted their account: its Person is a tombstone, and
    /// other servers get a `Delete` of it.
    AccountDeleted {
        actor: i64,
    },
    /// A ballot's closing time: its result and who was eligible go into
    /// the audit log (recorded at creation, due at its end).
    BallotClosed {
        id: i64,
    },
    /// A moderator forwards a member's report about the remote account
    /// `to`: a `Flag` from this instance to its server.
    ReportForwarded {
        report: i64,
        to: i64,
    },
    /// A newsletter's time (its news item's publication): its mail is
    /// queued, one per address.
    NewsletterDue {
        id: i64,
    },
}

/// A channel that reads domain events. Email and SMS join here; a new
/// consumer then appears in every event's `consumers` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumer {
    /// ActivityPub: `federation::outbox` builds and queues the activity.
    Federation,
    /// The instance's own follow-ups, run by `service::jobs`.
    Local,
}

impl Consumer {
    pub fn as_str(self) -> &'static str {
        match self {
            Consumer::Federation => "federation",
            Consumer::Local => "local",
        }
    }
}

impl DomainEvent {
    /// Who reads this event. Listed per event so that adding a consumer or
    /// an event forces the choice here.
    pub fn consumers(&self) -> &'static [Consumer] {
        match self {
            DomainEvent::NewsPublished { .. }
            | DomainEvent::NewsUpdated { .. }
            | DomainEvent::NewsDeleted { .. }
            | DomainEvent::EventPublished { .. }
            | DomainEvent::EventUpdated { .. }
            | DomainEvent::EventDeleted { .. }
            | DomainEvent::JoinAnswered { .. }
            | DomainEvent::PollPublished { .. }
            | DomainEvent::PollUpdated { .. }
            | DomainEvent::PollDeleted { .. }
            | DomainEvent::ReplyPublished { .. }
            | DomainEvent::ReplyDeleted { .. }
            | DomainEvent::ReplyForwarded { .. }
            | DomainEvent::ProfileUpdated { .. }
            | DomainEvent::FollowAccepted { .. }
            | DomainEvent::FollowRejected { .. }
            | DomainEvent::FollowRequested { .. }
            | DomainEvent::FollowUndone { .. }
            | DomainEvent::ThreadPublished { .. }
            | DomainEvent::ThreadUpdated { .. }
            | DomainEvent::PostRemoved { .. }
            | DomainEvent::ForumAnnounce { .. }
            | DomainEvent::LinkCodeSent { .. }
            | DomainEvent::MessageSent { .. }
            | DomainEvent::AccountDeleted { .. }
            | DomainEvent::ReportForwarded { .. } => &[Consumer::Federation],
            DomainEvent::BallotClosed { .. } | DomainEvent::NewsletterDue { .. } => &[Consumer::Local],
        }
    }

    /// The stored kind: stable names, kept from before events were typed so
    /// that rows queued by an older version still decode.
    pub fn kind(&self) -> &'static str {
        match self {
            DomainEvent::NewsPublished { .. } => "news.created",
            DomainEvent::NewsUpdated { .. } => "news.updated",
            DomainEvent::NewsDeleted { .. } => "news.deleted",
            DomainEvent::EventPublished { .. } => "event.created",
            DomainEvent::EventUpdated { .. } => "event.updated",
            DomainEvent::EventDeleted { .. } => "event.deleted",
            DomainEvent::JoinAnswered { .. } => "event.join_answered",
            DomainEvent::PollPublished { .. } => "poll.created",
            DomainEvent::PollUpdated { .. } => "poll.updated",
            DomainEvent::PollDeleted { .. } => "poll.deleted",
            DomainEvent::ReplyPublished { .. } => "reply.created",
            DomainEvent::ReplyDeleted { .. } => "reply.deleted",
            DomainEvent::ReplyForwarded { .. } => "reply.forwarded",
            DomainEvent::ProfileUpdated { .. } => "actor.updated",
            DomainEvent::FollowAccepted { .. } => "follow.accepted",
            DomainEvent::FollowRejected { .. } => "follow.rejected",
            DomainEvent::FollowRequested { .. } => "follow.requested",
            DomainEvent::FollowUndone { .. } => "follow.undone",
            DomainEvent::ThreadPublished { .. } => "thread.created",
            DomainEvent::ThreadUpdated { .. } => "thread.updated",
            DomainEvent::PostRemoved { .. } => "forum.removed",
            DomainEvent::ForumAnnounce { .. } => "forum.announce",
            DomainEvent::LinkCodeSent { .. } => "member.link_code",
            DomainEvent::MessageSent { .. } => "message.created",
            DomainEvent::BallotClosed { .. } => "ballot.closed",
            DomainEvent::NewsletterDue { .. } => "newsletter.due",
            DomainEvent::ReportForwarded { .. } => "report.forwarded",
            DomainEvent::AccountDeleted { .. } => "actor.deleted",
        }
    }

    /// The row the event is about (an object, or for follows the remote actor).
    pub fn subject(&self) -> i64 {
        match self {
            DomainEvent::NewsPublished { id }
            | DomainEvent::NewsUpdated { id }
            | DomainEvent::NewsDeleted { id }
            | DomainEvent::EventPublished { id }
            | DomainEvent::EventUpdated { id }
            | DomainEvent::EventDeleted { id }
            | DomainEvent::PollPublished { id }
            | DomainEvent::PollUpdated { id }
            | DomainEvent::PollDeleted { id }
            | DomainEvent::ReplyPublished { id }
            | DomainEvent::ReplyDeleted { id }
            | DomainEvent::ThreadPublished { id }
            | DomainEvent::ThreadUpdated { id }
            | DomainEvent::PostRemoved { id, .. } => *id,
            DomainEvent::ForumAnnounce { forum, .. } => *forum,
            DomainEvent::ReportForwarded { report, .. } => *report,
            DomainEvent::LinkCodeSent { link, .. } => *link,
            DomainEvent::MessageSent { id }
            | DomainEvent::BallotClosed { id }
            | DomainEvent::NewsletterDue { id } => *id,
            DomainEvent::JoinAnswered { object, .. } => *object,
            DomainEvent::ReplyForwarded { from, .. } => *from,
            DomainEvent::ProfileUpdated { actor } | DomainEvent::AccountDeleted { actor } => *actor,
            DomainEvent::FollowAccepted { remote, .. }
            | DomainEvent::FollowRejected { remote, .. }
            | DomainEvent::FollowRequested { remote, .. }
            | DomainEvent::FollowUndone { remote, .. } => *remote,
        }
    }

    /// Reads a stored event. Rows written before events were typed carry an
    /// empty detail, or "local id\nFollow id" for follows.
    pub fn decode(kind: &str, subject_id: i64, detail: &str) -> Result<DomainEvent, String> {
        if let Ok(e) = serde_json::from_str::<DomainEvent>(detail) {
            return Ok(e);
        }
        let legacy_follow = || -> Result<(i64, String), String> {
            let (local, follow_id) = detail
                .split_once('\n')
                .ok_or_else(|| format!("a {kind} event without its follow"))?;
            let local = local
                .parse()
                .map_err(|_| format!("a {kind} event with a bad actor id"))?;
            Ok((local, follow_id.to_string()))
        };
        Ok(match kind {
            "news.created" => DomainEvent::NewsPublished { id: subject_id },
            "news.updated" => DomainEvent::NewsUpdated { id: subject_id },
            "news.deleted" => DomainEvent::NewsDeleted { id: subject_id },
            "actor.updated" => DomainEvent::ProfileUpdated { actor: subject_id },
            "follow.accepted" | "follow.rejected" | "follow.requested" | "follow.undone" => {
                let (local, follow_id) = legacy_follow()?;
                let remote = subject_id;
                match kind {
                    "follow.accepted" => DomainEvent::FollowAccepted {
                        local,
                        remote,
                        follow_id,
                    },
                    "follow.rejected" => DomainEvent::FollowRejected {
                        local,
                        remote,
                        follow_id,
                    },
                    "follow.requested" => DomainEvent::FollowRequested {
                        local,
                        remote,
                        follow_id,
                    },
                    _ => DomainEvent::FollowUndone {
                        local,
                        remote,
                        follow_id,
                    },
                }
            }
            other => return Err(format!("unknown event kind {other:?}")),
        })
    }
}

/// Records an event in the caller's transaction; with `due`, consumers take
/// it only from then on (a scheduled publication).
pub async fn record(
    conn: &mut PooledConn,
    event: &DomainEvent,
    due: Option<NaiveDateTime>,
) -> ServiceResult<()> {
    let detail = serde_json::to_string(event).map_err(|e| ServiceError::Internal(e.to_string()))?;
    for consumer in event.consumers() {
        event_q::push_event_due(
            conn,
            consumer.as_str(),
            event.kind(),
            event.subject(),
            &detail,
            due,
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_and_old_rows_still_decode() {
        let e = DomainEvent::FollowAccepted {
            local: 1,
            remote: 7,
            follow_id: "https://peer.example/f/1".into(),
        };
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(DomainEvent::decode(e.kind(), e.subject(), &json).unwrap(), e);
        // As an older version queued them.
        assert_eq!(
            DomainEvent::decode("follow.accepted", 7, "1\nhttps://peer.example/f/1").unwrap(),
            e
        );
        assert_eq!(
            DomainEvent::decode("news.created", 3, "").unwrap(),
            DomainEvent::NewsPublished { id: 3 }
        );
        assert!(DomainEvent::decode("poll.closed", 3, "").is_err());
        let e = DomainEvent::PollUpdated { id: 3 };
        assert_eq!(
            DomainEvent::decode(e.kind(), 3, &serde_json::to_string(&e).unwrap()).unwrap(),
            e
        );
        assert!(DomainEvent::decode("follow.accepted", 7, "garbage").is_err());
    }
}
