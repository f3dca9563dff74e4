//! `Announce` (a boost) of one of our objects, counted in its `shares`.

use serde::Deserialize;

use super::like::react;
use super::{Activity, Handled, Inbound};
use crate::db::models::ReactionKind;
use crate::federation::json::IdRef;
use crate::federation::objects::lenient;

#[derive(Deserialize, Debug)]
pub struct Announce {
    pub id: String,
    pub actor: IdRef,
    #[serde(default, deserialize_with = "lenient::id")]
    pub object: Option<String>,
}

impl Activity for Announce {
    async fn verify(&self, _cx: &Inbound<'_>) -> Result<(), Handled> {
        Ok(())
    }

    async fn receive(self, cx: &Inbound<'_>) -> Result<(), Handled> {
        react(cx, ReactionKind::Announce, self.object, &self.id).await
    }
}
