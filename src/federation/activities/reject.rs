//! `Reject` of a Follow we sent: the follow ends. Same rules as Accept.

use serde::Deserialize;

use super::accept::{receive_answer, verify_answer};
use super::{Activity, ActivityRef, Handled, Inbound};
use crate::federation::json::IdRef;

#[derive(Deserialize, Debug)]
pub struct Reject {
    pub id: String,
    pub actor: IdRef,
    #[serde(
        default,
        deserialize_with = "crate::federation::objects::lenient::activity_ref"
    )]
    pub object: ActivityRef,
}

impl Activity for Reject {
    async fn verify(&self, cx: &Inbound<'_>) -> Result<(), Handled> {
        verify_answer(&self.object, cx)
    }

    async fn receive(self, cx: &Inbound<'_>) -> Result<(), Handled> {
        receive_answer(self.object, cx, false).await
    }
}
