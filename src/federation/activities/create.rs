//! `Create` of a post: a vote when it names an option of one of our polls
//! (as Mastodon votes); else kept when it is a reply to something stored
//! here, or a post of an actor the co-op follows. Other content (remote
//! events, polls) is logged until its module reads it.

use serde::Deserialize;

use super::{own_object, Activity, Handled, Inbound, ObjectRef};
use crate::db::models::ContentKind;
use crate::federation::json::IdRef;
use crate::federation::objects::note::Post;
use crate::federation::objects::ObjectBody;
use crate::service::polls::{self, VoteOutcome};
use crate::service::{follows, forums, member_links, notifications, remote, text};

#[derive(Deserialize, Debug)]
pub struct Create {
    pub id: String,
    pub actor: IdRef,
    #[serde(default)]
    pub object: Option<ObjectRef>,
    /// A Linked Data signature by the author's server: present, the Create
    /// can be forwarded and still be trusted by its receivers.
    #[serde(default, deserialize_with = "ld_signature")]
    pub signature: Option<LdSignature>,
}

/// What makes a Linked Data signature (RsaSignature2017, as Mastodon
/// writes it): we do not verify it (receivers do), but forward only one
/// of that shape whose key is on the signer's own server.
#[derive(Deserialize, Debug)]
pub struct LdSignature {
    #[serde(rename = "type")]
    pub kind: String,
    pub creator: String,
    #[serde(rename = "signatureValue")]
    pub value: String,
}

fn ld_signature<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<LdSignature>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(v).ok())
}

/// Keeps a post from an actor the co-op follows, or a reply to something
/// stored here (replies to unknown URLs would let anyone fill the database).
/// `forwardable`: the Create's id when it carries a Linked Data signature.
pub(super) async fn keep_post(
    cx: &Inbound<'_>,
    post: Post,
    forwardable: Option<&str>,
    activity_id: &str,
) -> Result<(), Handled> {
    let ctx = cx.ctx();
    if let Some(outcome) = vote(cx, &post).await? {
        return match outcome {
            VoteOutcome::Counted | VoteOutcome::Duplicate => Ok(()),
            VoteOutcome::Refused(why) => Err(Handled::Refused(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                why.into(),
            )),
        };
    }
    let visibility = post.visibility(cx.signer);
    if visibility == crate::service::types::Visibility::Direct {
        // A member proving their linked account replies with its code.
        if member_links::confirm_from_message(ctx, cx.signer, post.content.as_deref().unwrap_or("")).await? {
            return Ok(());
        }
        // A direct message to members here.
        let addressed = post.addressed();
        let remote = post.into_remote(crate::service::types::Visibility::Direct);
        if remote.ap_id.is_empty() {
            return Err(Handled::bad_request("The message has no id."));
        }
        if !crate::service::messages::receive(ctx, cx.signer, remote, &addressed).await? {
            tracing::debug!(actor = %cx.signer.ap_id, "direct message for nobody here who takes them; not stored");
        }
        return Ok(());
    }
    if !post.tag.is_empty() {
        let addressed: Vec<String> = post.to.iter().chain(&post.cc).cloned().collect();
        let about = notifications::MentioningPost {
            link: post.url.as_deref().or(post.id.as_deref()),
            id: post.id.as_deref(),
            in_reply_to: post.in_reply_to.as_deref(),
            html: post.content.as_deref().unwrap_or(""),
            open: visibility.is_open(),
            addressed: &addressed,
        };
        notifications::mentioned(ctx, cx.signer, &post.tag, &about).await?;
    }
    let named = post.addressed_actors(cx.signer);
    if let Some(place) = forums::place_incoming(ctx, &named, post.in_reply_to.as_deref()).await? {
        return keep_in_forum(cx, post, place, activity_id).await;
    }
    let ours = match post.in_reply_to.as_deref() {
        Some(r) => remote::object_exists(ctx, r).await?,
        None => false,
    };
    let followed = follows::coop_follows(ctx, cx.signer).await?;
    if !ours && !followed {
        tracing::debug!(actor = %cx.signer.ap_id, "post from an actor nobody here follows; not stored");
        return Ok(());
    }
    // A reply into a conversation that is not open to all (members-only
    // news) is not kept or passed on: it would show what it answers.
    if let Some(parent) = post.in_reply_to.as_deref().filter(|_| ours) {
        if !crate::service::conversation::conversation_is_open(ctx, parent).await? {
            tracing::info!(actor = %cx.signer.ap_id, %parent, "reply into a members-only conversation; not stored");
            return Ok(());
        }
    }
    // Pages here are public: followers-only and direct posts are not kept
    // (messages and poll votes get their own modules).
    if !visibility.is_open() {
        tracing::debug!(object = ?post.id, ?visibility, "non-public post not stored");
        return Ok(());
    }
    // A public reply to one of our own objects goes on to our followers,
    // as Mastodon forwards replies (only when signed for forwarding).
    let to_ours = match (&post.in_reply_to, forwardable) {
        (Some(parent), Some(_)) if visibility == crate::service::types::Visibility::Public => {
            remote::local_object_exists(ctx, parent).await?
        }
        _ => false,
    };
    match forwardable.filter(|_| to_ours) {
        Some(activity) => {
            remote::store_and_forward(ctx, cx.signer, post.into_remote(visibility), activity).await?
        }
        None => remote::store_post(ctx, cx.signer, post.into_remote(visibility)).await?,
    }
    Ok(())
}

/// A thread or reply in a forum. In ours: refused (403) from a banned
/// actor, in a locked thread, or as a new thread of an announcements-only
/// forum; else stored and announced by the group (FEP-1b12). In another
/// server's forum that the co-op follows: stored (its group decides).
async fn keep_in_forum(
    cx: &Inbound<'_>,
    post: Post,
    place: forums::Placement,
    activity_id: &str,
) -> Result<(), Handled> {
    let ctx = cx.ctx();
    let forum = &place.forum;
    // A group passes posts on as received: the author named must be the signer.
    if post
        .attributed_to
        .as_deref()
        .is_some_and(|a| a != cx.signer.ap_id)
    {
        return Err(Handled::forbidden(
            "The post's attributedTo is not the actor who sent it.",
        ));
    }
    // Another server's forum: its group decides what is a thread there, so
    // a new thread comes only through its Announce (or from the group).
    let from_group = cx.announced_by == Some(forum.actor.id) || cx.signer.id == forum.actor.id;
    if !forum.actor.local && place.thread.is_none() && !from_group {
        tracing::info!(group = %forum.actor.ap_id, actor = %cx.signer.ap_id, "thread for a followed forum not announced by its group; not stored");
        return Ok(());
    }
    if forum.actor.local {
        forums::refuse_banned(ctx, forum, cx.signer).await?;
        let mut conn = ctx.db.conn().await.map_err(|e| Handled::Failed(e.to_string()))?;
        forums::check_post(&mut conn, forum, place.thread.as_ref(), cx.signer, false).await?;
    }
    let visibility = post.visibility(cx.signer);
    if !visibility.is_open() {
        tracing::debug!(object = ?post.id, ?visibility, "non-public forum post not stored");
        return Ok(());
    }
    let new_thread = place.thread.is_none();
    let mut remote = post.into_remote(visibility);
    if new_thread {
        remote.kind = ContentKind::Thread.as_str();
        if remote.title.trim().is_empty() {
            remote.title = text::title_from_html(&remote.content_html);
        }
        if remote.title.trim().is_empty() {
            return Err(Handled::bad_request(
                "A new thread needs a title: a `name`, or a first line of text.",
            ));
        }
    } else {
        remote.kind = ContentKind::Note.as_str();
    }
    let changed =
        remote::store_in_forum(ctx, cx.signer, remote, forum.actor.id, place.thread.as_ref()).await?;
    // A repeat (the same post under a new activity id) is not announced again.
    if changed {
        forums::announce_received(ctx, forum, activity_id).await?;
    }
    Ok(())
}

/// A poll vote: a Note with a `name` (the option) and no text, in reply to
/// one of our Questions. None when it is not one.
async fn vote(cx: &Inbound<'_>, post: &Post) -> Result<Option<VoteOutcome>, Handled> {
    let (Some(name), Some(question), Some(id)) = (&post.name, &post.in_reply_to, &post.id) else {
        return Ok(None);
    };
    if post.content.as_deref().is_some_and(|c| !c.trim().is_empty()) {
        return Ok(None);
    }
    Ok(polls::receive_vote(cx.ctx(), cx.signer, question, name, id).await?)
}

impl Activity for Create {
    async fn verify(&self, cx: &Inbound<'_>) -> Result<(), Handled> {
        own_object("Create", self.object.as_ref(), cx).map(|_| ())
    }

    async fn receive(self, cx: &Inbound<'_>) -> Result<(), Handled> {
        match self.object {
            Some(ObjectRef::Embedded(o)) => match o.body {
                ObjectBody::Post(post) => {
                    let signed = self.signature.as_ref().is_some_and(|s| {
                        !s.kind.is_empty()
                            && !s.value.is_empty()
                            && super::same_origin(&s.creator, &cx.signer.ap_id)
                    });
                    let forwardable = signed.then_some(self.id.as_str());
                    keep_post(cx, *post, forwardable, &self.id).await
                }
                ObjectBody::Actor(_) | ObjectBody::Other => {
                    tracing::info!(kind = %o.kind, object = ?o.id, "content activity logged");
                    Ok(())
                }
            },
            _ => {
                tracing::info!(activity = %self.id, "Create by reference logged");
                Ok(())
            }
        }
    }
}
