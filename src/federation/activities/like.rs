//! `Like` of one of our objects, counted in its `likes` collection.

use serde::Deserialize;

use super::{Activity, Handled, Inbound};
use crate::db::models::ReactionKind;
use crate::federation::json::IdRef;
use crate::federation::objects::lenient;
use crate::service::remote;

#[derive(Deserialize, Debug)]
pub struct Like {
    pub id: String,
    pub actor: IdRef,
    #[serde(default, deserialize_with = "lenient::id")]
    pub object: Option<String>,
}

/// Likes and Announces are kept only for objects stored here.
pub(super) async fn react(
    cx: &Inbound<'_>,
    kind: ReactionKind,
    object: Option<String>,
    id: &str,
) -> Result<(), Handled> {
    let object = object.unwrap_or_default();
    super::in_forum(cx, &object, id, || async {
        Ok(remote::add_reaction(cx.ctx(), kind, cx.signer, &object, id).await?)
    })
    .await
}

impl Activity for Like {
    async fn verify(&self, _cx: &Inbound<'_>) -> Result<(), Handled> {
        Ok(())
    }

    async fn receive(self, cx: &Inbound<'_>) -> Result<(), Handled> {
        react(cx, ReactionKind::Like, self.object, &self.id).await
    }
}
