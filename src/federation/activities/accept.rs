//! `Accept` of a Follow we sent; `Reject` shares the rules (reject.rs).

use serde::Deserialize;

use super::{Activity, ActivityRef, Handled, Inbound};
use crate::federation::json::IdRef;
use crate::service::follows;

#[derive(Deserialize, Debug)]
pub struct Accept {
    pub id: String,
    pub actor: IdRef,
    #[serde(
        default,
        deserialize_with = "crate::federation::objects::lenient::activity_ref"
    )]
    pub object: ActivityRef,
}

/// The Follow answered, embedded, must be one addressed to the signer.
pub(super) fn verify_answer(object: &ActivityRef, cx: &Inbound<'_>) -> Result<(), Handled> {
    if let ActivityRef::Embedded(follow) = object {
        if follow.object.as_deref() != Some(cx.signer.ap_id.as_str()) {
            return Err(Handled::forbidden(
                "Only the followed actor can accept or reject a Follow.",
            ));
        }
    }
    Ok(())
}

/// Answers name our Follow embedded (with its actor, one of ours) or by id.
pub(super) async fn receive_answer(
    object: ActivityRef,
    cx: &Inbound<'_>,
    accepted: bool,
) -> Result<(), Handled> {
    let local = match &object {
        ActivityRef::Embedded(follow) => match follow.actor.as_deref() {
            Some(actor) => cx.local_actor(actor).await?,
            None => None,
        },
        ActivityRef::Id(_) | ActivityRef::Nothing => None,
    };
    let follow_id = object.id().to_string();
    match local {
        Some(local) => {
            follows::receive_follow_answer(cx.ctx(), cx.signer, &local, &follow_id, accepted).await?
        }
        None => follows::receive_follow_answer_by_id(cx.ctx(), cx.signer, &follow_id, accepted).await?,
    }
    Ok(())
}

impl Activity for Accept {
    async fn verify(&self, cx: &Inbound<'_>) -> Result<(), Handled> {
        verify_answer(&self.object, cx)
    }

    async fn receive(self, cx: &Inbound<'_>) -> Result<(), Handled> {
        receive_answer(self.object, cx, true).await
    }
}
