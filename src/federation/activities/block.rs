//! `Block` of one of our actors: the blocker stops receiving anything.

use serde::Deserialize;

use super::{Activity, Handled, Inbound};
use crate::federation::json::IdRef;
use crate::federation::objects::lenient;
use crate::service::follows;

#[derive(Deserialize, Debug)]
pub struct Block {
    pub id: String,
    pub actor: IdRef,
    #[serde(default, deserialize_with = "lenient::id")]
    pub object: Option<String>,
}

impl Activity for Block {
    async fn verify(&self, _cx: &Inbound<'_>) -> Result<(), Handled> {
        Ok(())
    }

    async fn receive(self, cx: &Inbound<'_>) -> Result<(), Handled> {
        if let Some(target) = cx.local_actor(self.object.as_deref().unwrap_or_default()).await? {
            follows::receive_unfollow(cx.ctx(), cx.signer, &target, None).await?;
        }
        tracing::info!(blocker = %cx.signer.ap_id, "blocked by a remote actor");
        Ok(())
    }
}
