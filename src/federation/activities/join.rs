//! `Join` of one of our events (Mobilizon, Gancio, Fedify): accepted while
//! there is room, else rejected, either answer naming the Join.

use serde::Deserialize;

use super::{Activity, Handled, Inbound};
use crate::federation::json::IdRef;
use crate::federation::objects::lenient;
use crate::service::calendar;

#[derive(Deserialize, Debug)]
pub struct Join {
    pub id: String,
    pub actor: IdRef,
    #[serde(default, deserialize_with = "lenient::id")]
    pub object: Option<String>,
}

impl Activity for Join {
    async fn verify(&self, _cx: &Inbound<'_>) -> Result<(), Handled> {
        if self.object.as_deref().unwrap_or("").is_empty() {
            return Err(Handled::bad_request(
                "The Join has no object: name the event to join in \"object\".",
            ));
        }
        Ok(())
    }

    async fn receive(self, cx: &Inbound<'_>) -> Result<(), Handled> {
        let event = self.object.unwrap_or_default();
        if calendar::receive_join(cx.ctx(), cx.signer, &event, &self.id)
            .await?
            .is_none()
        {
            tracing::info!(object = %event, "Join of something that is not one of our events; ignored");
        }
        Ok(())
    }
}
