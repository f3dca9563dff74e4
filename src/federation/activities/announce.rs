//! `Announce`: a boost of one of our objects (counted in its `shares`), or
//! a group's announce (FEP-1b12) of an activity in a forum the co-op
//! follows (a Lemmy community, another co-op's forum), which is applied as
//! if its actor had sent it here.

use serde::Deserialize;
use serde_json::Value;

use super::like::react;
use super::{Activity, Envelope, Handled, Inbound, InboxActivity};
use crate::db::models::ReactionKind;
use crate::federation::json::IdRef;
use crate::service::forums;

#[derive(Deserialize, Debug)]
pub struct Announce {
    pub id: String,
    pub actor: IdRef,
    #[serde(default)]
    pub object: Announced,
}

/// What is announced: an id, or an embedded activity kept as received.
#[derive(Debug, Default)]
pub struct Announced {
    pub id: Option<String>,
    pub activity: Option<Value>,
}

impl<'de> Deserialize<'de> for Announced {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::String(id) => Announced {
                id: Some(id),
                activity: None,
            },
            v @ Value::Object(_) => Announced {
                id: v.get("id").and_then(Value::as_str).map(String::from),
                // An activity has an actor; an embedded object (Lemmy also
                // announces the bare Page) is read as a boost of its id.
                activity: v.get("actor").is_some().then_some(v).filter(|v| {
                    !matches!(
                        v.get("type").and_then(Value::as_str),
                        Some("Note" | "Page" | "Article" | "Question" | "Event")
                    )
                }),
            },
            _ => Announced::default(),
        })
    }
}

/// Types a group may announce to us; an Announce inside an Announce is not.
const ANNOUNCEABLE: &[&str] = &["Create", "Update", "Delete", "Like", "Undo"];

impl Activity for Announce {
    async fn verify(&self, _cx: &Inbound<'_>) -> Result<(), Handled> {
        Ok(())
    }

    async fn receive(self, cx: &Inbound<'_>) -> Result<(), Handled> {
        let Some(activity) = self.object.activity else {
            return react(cx, ReactionKind::Announce, self.object.id, &self.id).await;
        };
        if cx.signer.kind != "Group" {
            tracing::info!(announce = %self.id, "announce of an activity by a non-group; logged");
            return Ok(());
        }
        let Some(forum) = forums::forum_of_actor(cx.ctx(), cx.signer).await? else {
            tracing::info!(group = %cx.signer.ap_id, "announce from a group the co-op does not follow; not stored");
            return Ok(());
        };
        if forum.actor.local {
            return Ok(());
        }
        receive_announced(cx, activity).await
    }
}

/// Applies an activity a followed group announced. Trusted as embedded when
/// its actor is on the group's server (the group vouches for its own
/// users); from another server, a Create or Update is trusted only in the
/// version its origin serves (fetched by id), and anything else is logged.
async fn receive_announced(cx: &Inbound<'_>, activity: Value) -> Result<(), Handled> {
    let Ok(envelope) = serde_json::from_value::<Envelope>(activity.clone()) else {
        return Err(Handled::bad_request(
            "The announced activity needs an id, a type and an actor.",
        ));
    };
    let kind = envelope.kind.first().to_string();
    if !ANNOUNCEABLE.contains(&kind.as_str()) {
        tracing::info!(%kind, "announced activity of a type not applied; logged");
        return Ok(());
    }
    let actor_id = envelope.actor.id().to_string();
    if !super::same_origin(&envelope.id, &actor_id) {
        return Err(Handled::forbidden(
            "The announced activity's id is not on its actor's server.",
        ));
    }
    let mut activity = activity;
    if !super::same_origin(&actor_id, &cx.signer.ap_id) {
        if kind != "Create" && kind != "Update" {
            tracing::info!(%kind, actor = %actor_id, "announced activity from a third server; not applied");
            return Ok(());
        }
        let Some(object_id) = activity
            .get("object")
            .and_then(|o| o.get("id").or(Some(o)))
            .and_then(Value::as_str)
            .map(String::from)
        else {
            return Err(Handled::bad_request("The announced Create names no object."));
        };
        let fetched = cx
            .fed
            .get(&object_id)
            .await
            .map_err(|e| Handled::bad_request(e.to_string()))?;
        // The document must be the object named, served from where its id says.
        let doc_id = fetched.doc.get("id").and_then(Value::as_str).unwrap_or_default();
        if doc_id != object_id {
            return Err(Handled::forbidden(
                "The announced object's origin serves another id.",
            ));
        }
        crate::federation::check_identity(doc_id, &fetched)?;
        let doc = fetched.doc.clone();
        let author = doc
            .get("attributedTo")
            .and_then(|a| a.as_str().or_else(|| a.get("id").and_then(Value::as_str)));
        if author != Some(actor_id.as_str()) {
            return Err(Handled::forbidden(
                "The announced object's origin names another author.",
            ));
        }
        activity["object"] = doc;
    }
    let actor = match crate::service::remote::find_actor(cx.ctx(), &actor_id).await? {
        Some(a) => a,
        None => cx.fed.fetch_actor(&actor_id).await?,
    };
    if actor.local {
        // Ours, coming back from the group: already here.
        return Ok(());
    }
    if !crate::service::moderation::policy(cx.ctx())
        .await?
        .allows(&actor.domain)
    {
        return Ok(());
    }
    let body = serde_json::to_vec(&activity).map_err(|e| Handled::Failed(e.to_string()))?;
    let inner = InboxActivity::parse(&envelope, &body).map_err(|e| Handled::bad_request(e.to_string()))?;
    let inner_cx = Inbound {
        fed: cx.fed,
        ctx: cx.ctx,
        signer: &actor,
        announced_by: Some(cx.signer.id),
    };
    Box::pin(inner.run(&inner_cx)).await
}
