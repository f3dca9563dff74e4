//! Incoming activities, one type per file. Each is a serde struct with
//! `verify` (origin, authorship, audience: may read, never writes) and
//! `receive` (calls the same `service` functions as the web), run by the
//! inbox after the signature is verified and the id is new. The shape is
//! that of `activitypub_federation`'s `Activity` trait (see
//! docs/architecture.md for why it is our own trait).
//!
//! `InboxActivity` is the one place that reads the `type` string.

pub mod accept;
pub mod announce;
pub mod block;
pub mod create;
pub mod delete;
pub mod flag;
pub mod follow;
pub mod join;
pub mod leave;
pub mod like;
pub mod reject;
pub mod undo;
pub mod update;

use std::sync::Arc;

use axum::http::StatusCode;
use serde::Deserialize;

use super::json::{self, IdRef, TypeField};
use super::objects::{lenient, IncomingObject};
use super::{FedError, Federation};
use crate::db::models::Actor;
use crate::service::{remote, Ctx, ServiceError};

/// What a handler sees: the federation side and the verified signer, who
/// is the activity's actor.
pub struct Inbound<'a> {
    pub fed: &'a Arc<Federation>,
    /// The federation's context, carrying the activity's receipt: the
    /// handler's first write logs it (see [`crate::db::Carried`]).
    pub ctx: &'a Ctx,
    pub signer: &'a Actor,
    /// The followed group whose Announce carried this activity, if any:
    /// only its announces (or the group itself) start threads in its forum.
    pub announced_by: Option<i64>,
}

impl Inbound<'_> {
    pub fn ctx(&self) -> &Ctx {
        self.ctx
    }

    /// The local actor an activity names, if it is one of ours.
    pub async fn local_actor(&self, id: &str) -> Result<Option<Actor>, Handled> {
        let Some(actor) = remote::find_actor(self.ctx(), id).await? else {
            return Ok(None);
        };
        Ok(actor.local.then_some(actor))
    }
}

/// Why an activity was not processed.
#[derive(Debug)]
pub enum Handled {
    /// The sender's fault: answered with this status and message.
    Refused(StatusCode, String),
    /// Ours: 500, and the sender retries.
    Failed(String),
}

impl Handled {
    pub fn forbidden(message: impl Into<String>) -> Handled {
        Handled::Refused(StatusCode::FORBIDDEN, message.into())
    }

    pub fn bad_request(message: impl Into<String>) -> Handled {
        Handled::Refused(StatusCode::BAD_REQUEST, message.into())
    }
}

impl From<ServiceError> for Handled {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid { message, .. } => Handled::bad_request(message),
            ServiceError::Forbidden(message) => Handled::forbidden(message),
            ServiceError::NotFound(message) => Handled::Refused(StatusCode::NOT_FOUND, message),
            ServiceError::Conflict(message) => Handled::Refused(StatusCode::CONFLICT, message),
            other => Handled::Failed(other.to_string()),
        }
    }
}

impl From<FedError> for Handled {
    fn from(e: FedError) -> Self {
        match e {
            FedError::Service(s) => s.into(),
            other => Handled::bad_request(other.to_string()),
        }
    }
}

/// An activity we act on.
pub(crate) trait Activity: Sized {
    /// Checks that need no write: who may send it, about what.
    async fn verify(&self, cx: &Inbound<'_>) -> Result<(), Handled>;
    /// Applies it through `service`.
    async fn receive(self, cx: &Inbound<'_>) -> Result<(), Handled>;
}

/// The fields every activity has, read before the signature is checked.
#[derive(Deserialize, Debug)]
pub struct Envelope {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: TypeField,
    pub actor: IdRef,
}

/// An activity's `object` when it is an activity (Undo, Accept, Reject):
/// by id, or embedded. Anything else (absent, a number) names nothing, and
/// the handler finds nothing to act on.
#[derive(Deserialize, Debug, Default)]
#[serde(untagged)]
pub enum ActivityRef {
    Id(String),
    Embedded(Inner),
    #[default]
    Nothing,
}

/// An embedded activity, read leniently: what is missing reads as absent.
#[derive(Deserialize, Debug)]
pub struct Inner {
    #[serde(default, deserialize_with = "lenient::string")]
    pub id: Option<String>,
    #[serde(rename = "type", default, deserialize_with = "lenient::first_type")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "lenient::id")]
    pub actor: Option<String>,
    #[serde(default, deserialize_with = "lenient::id")]
    pub object: Option<String>,
}

impl Inner {
    /// An embedded Follow (Undo of a follow), as opposed to a Like or Announce.
    pub fn is_follow(&self) -> bool {
        self.kind.as_deref() == Some("Follow")
    }

    /// An embedded Join (Undo of an RSVP).
    pub fn is_join(&self) -> bool {
        self.kind.as_deref() == Some("Join")
    }
}

impl ActivityRef {
    pub fn id(&self) -> &str {
        match self {
            ActivityRef::Id(id) => id,
            ActivityRef::Embedded(inner) => inner.id.as_deref().unwrap_or(""),
            ActivityRef::Nothing => "",
        }
    }
}

/// An activity's `object` when it is content or an actor (Create, Update,
/// Delete): by id, or embedded and read by its type's module.
#[derive(Deserialize, Debug)]
#[serde(untagged)]
pub enum ObjectRef {
    Id(String),
    Embedded(IncomingObject),
}

impl ObjectRef {
    pub fn id(&self) -> Option<&str> {
        match self {
            ObjectRef::Id(id) => Some(id.as_str()),
            ObjectRef::Embedded(o) => o.id.as_deref(),
        }
        .filter(|id| !id.is_empty())
    }
}

/// An activity about an object in one of our forums (a Like, a Delete, an
/// Undo): refused from an actor banned there; `apply` runs, and when it
/// changed something the group announces the activity to its followers.
pub(super) async fn in_forum<F, Fut>(
    cx: &Inbound<'_>,
    object: &str,
    activity_id: &str,
    apply: F,
) -> Result<(), Handled>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<bool, Handled>>,
{
    let forum = crate::service::forums::local_forum_of(cx.ctx(), object).await?;
    if let Some(f) = &forum {
        crate::service::forums::refuse_banned(cx.ctx(), f, cx.signer).await?;
    }
    let changed = apply().await?;
    match &forum {
        Some(f) if changed => crate::service::forums::announce_received(cx.ctx(), f, activity_id).await?,
        _ => {}
    }
    Ok(())
}

/// Whether two URLs share an origin (scheme, host, port).
pub fn same_origin(a: &str, b: &str) -> bool {
    json::origin(a).is_some() && json::origin(a) == json::origin(b)
}

/// Every activity type we read. A new one is a new variant, and the
/// compiler lists the matches that must handle it.
#[derive(Debug)]
pub enum InboxActivity {
    Follow(follow::Follow),
    Accept(accept::Accept),
    Reject(reject::Reject),
    Undo(undo::Undo),
    Create(create::Create),
    Update(update::Update),
    Delete(delete::Delete),
    Like(like::Like),
    Announce(announce::Announce),
    Flag(flag::Flag),
    Block(block::Block),
    Join(join::Join),
    Leave(leave::Leave),
    /// Accepted (202) and logged, not acted on.
    Unknown,
}

impl InboxActivity {
    /// Reads the body as the type its envelope names.
    pub fn parse(envelope: &Envelope, body: &[u8]) -> Result<InboxActivity, serde_json::Error> {
        use serde_json::from_slice as read;
        Ok(match envelope.kind.first() {
            "Follow" => InboxActivity::Follow(read(body)?),
            "Accept" => InboxActivity::Accept(read(body)?),
            "Reject" => InboxActivity::Reject(read(body)?),
            "Undo" => InboxActivity::Undo(read(body)?),
            "Create" => InboxActivity::Create(read(body)?),
            "Update" => InboxActivity::Update(read(body)?),
            "Delete" => InboxActivity::Delete(read(body)?),
            "Like" => InboxActivity::Like(read(body)?),
            "Announce" => InboxActivity::Announce(read(body)?),
            "Flag" => InboxActivity::Flag(read(body)?),
            "Block" => InboxActivity::Block(read(body)?),
            "Join" => InboxActivity::Join(read(body)?),
            "Leave" => InboxActivity::Leave(read(body)?),
            _ => InboxActivity::Unknown,
        })
    }

    /// Types we act on keep their raw JSON in the inbox log.
    pub fn is_handled(&self) -> bool {
        !matches!(self, InboxActivity::Unknown)
    }

    /// The id of what it is about, for the inbox log.
    pub fn object_id(&self) -> Option<String> {
        match self {
            InboxActivity::Follow(a) => a.object.clone(),
            InboxActivity::Accept(a) => Some(a.object.id().to_string()),
            InboxActivity::Reject(a) => Some(a.object.id().to_string()),
            InboxActivity::Undo(a) => Some(a.object.id().to_string()),
            InboxActivity::Create(a) => a.object.as_ref().and_then(|o| o.id()).map(String::from),
            InboxActivity::Update(a) => a.object.as_ref().and_then(|o| o.id()).map(String::from),
            InboxActivity::Delete(a) => a.object.as_ref().and_then(|o| o.id()).map(String::from),
            InboxActivity::Like(a) => a.object.clone(),
            InboxActivity::Announce(a) => a.object.id.clone(),
            InboxActivity::Flag(a) => a.object.first().cloned(),
            InboxActivity::Block(a) => a.object.clone(),
            InboxActivity::Join(a) => a.object.clone(),
            InboxActivity::Leave(a) => a.object.clone(),
            InboxActivity::Unknown => None,
        }
        .filter(|id| !id.is_empty())
    }

    /// Verifies, then receives.
    pub async fn run(self, cx: &Inbound<'_>) -> Result<(), Handled> {
        async fn run<A: Activity>(a: A, cx: &Inbound<'_>) -> Result<(), Handled> {
            a.verify(cx).await?;
            a.receive(cx).await
        }
        match self {
            InboxActivity::Follow(a) => run(a, cx).await,
            InboxActivity::Accept(a) => run(a, cx).await,
            InboxActivity::Reject(a) => run(a, cx).await,
            InboxActivity::Undo(a) => run(a, cx).await,
            InboxActivity::Create(a) => run(a, cx).await,
            InboxActivity::Update(a) => run(a, cx).await,
            InboxActivity::Delete(a) => run(a, cx).await,
            InboxActivity::Like(a) => run(a, cx).await,
            InboxActivity::Announce(a) => run(a, cx).await,
            InboxActivity::Flag(a) => run(a, cx).await,
            InboxActivity::Block(a) => run(a, cx).await,
            InboxActivity::Join(a) => run(a, cx).await,
            InboxActivity::Leave(a) => run(a, cx).await,
            InboxActivity::Unknown => Ok(()),
        }
    }
}

/// Create, Update and Delete: an actor may only create, change or delete
/// what lives on its own server, and the object must say which it is.
pub(super) fn own_object<'a>(
    kind: &str,
    object: Option<&'a ObjectRef>,
    cx: &Inbound<'_>,
) -> Result<&'a str, Handled> {
    let Some(id) = object.and_then(ObjectRef::id) else {
        return Err(Handled::bad_request(format!(
            "The {kind} has no object id: its object needs an \"id\"."
        )));
    };
    if !same_origin(id, &cx.signer.ap_id) {
        return Err(Handled::forbidden(format!("{id} is not on the actor's server")));
    }
    Ok(id)
}
