//! `Leave` of one of our events: the actor no longer takes part.

use serde::Deserialize;

use super::{Activity, Handled, Inbound};
use crate::federation::json::IdRef;
use crate::federation::objects::lenient;
use crate::service::calendar;

#[derive(Deserialize, Debug)]
pub struct Leave {
    pub id: String,
    pub actor: IdRef,
    #[serde(default, deserialize_with = "lenient::id")]
    pub object: Option<String>,
}

impl Activity for Leave {
    async fn verify(&self, _cx: &Inbound<'_>) -> Result<(), Handled> {
        Ok(())
    }

    async fn receive(self, cx: &Inbound<'_>) -> Result<(), Handled> {
        calendar::receive_leave(cx.ctx(), cx.signer, self.object.as_deref().unwrap_or("")).await?;
        Ok(())
    }
}
