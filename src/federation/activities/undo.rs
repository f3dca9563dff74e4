//! `Undo` of a Follow, Join, Like or Announce, embedded or by id. Only the
//! author of the undone activity may undo it.

use serde::Deserialize;

use super::{same_origin, Activity, ActivityRef, Handled, Inbound};
use crate::federation::json::IdRef;
use crate::service::{calendar, follows, remote};

#[derive(Deserialize, Debug)]
pub struct Undo {
    pub id: String,
    pub actor: IdRef,
    #[serde(
        default,
        deserialize_with = "crate::federation::objects::lenient::activity_ref"
    )]
    pub object: ActivityRef,
}

impl Activity for Undo {
    async fn verify(&self, cx: &Inbound<'_>) -> Result<(), Handled> {
        let not_yours = || Handled::forbidden("Only the author of an activity can undo it.");
        if !same_origin(self.object.id(), &cx.signer.ap_id) {
            return Err(not_yours());
        }
        // An embedded activity must be the signer's own, not merely from its server.
        if let ActivityRef::Embedded(inner) = &self.object {
            if inner.actor.as_deref() != Some(cx.signer.ap_id.as_str()) {
                return Err(not_yours());
            }
        }
        Ok(())
    }

    async fn receive(self, cx: &Inbound<'_>) -> Result<(), Handled> {
        let ctx = cx.ctx();
        match &self.object {
            ActivityRef::Embedded(follow) if follow.is_follow() => {
                let followed = follow.object.as_deref().unwrap_or_default();
                if let Some(target) = cx.local_actor(followed).await? {
                    follows::receive_unfollow(ctx, cx.signer, &target, follow.id.as_deref()).await?;
                }
            }
            ActivityRef::Embedded(join) if join.is_join() => {
                let event = join.object.as_deref().unwrap_or_default();
                calendar::receive_leave(ctx, cx.signer, event).await?;
            }
            // Undo(Like) of something in one of our forums: announced too.
            ActivityRef::Embedded(like) if like.kind.as_deref() == Some("Like") && like.object.is_some() => {
                let object = like.object.as_deref().unwrap_or_default();
                let like_id = like.id.as_deref().unwrap_or_default();
                super::in_forum(cx, object, &self.id, || async {
                    Ok(remote::remove_reaction(ctx, cx.signer, like_id).await?)
                })
                .await?;
            }
            // Undo(Like), Undo(Announce), or an Undo naming only the id.
            other => {
                let id = other.id();
                if !remote::remove_reaction(ctx, cx.signer, id).await?
                    && !calendar::receive_undo_join(ctx, cx.signer, id).await?
                {
                    // A bare-id Undo of a Follow.
                    follows::receive_unfollow_by_id(ctx, cx.signer, id).await?;
                }
            }
        }
        Ok(())
    }
}
