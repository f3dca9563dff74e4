//! `Delete` of the signer itself (its rows and follows go) or of one of
//! its posts kept here (replaced by nothing: deleted posts are not shown).

use serde::Deserialize;

use super::{own_object, Activity, Handled, Inbound, ObjectRef};
use crate::federation::json::IdRef;
use crate::service::remote;

#[derive(Deserialize, Debug)]
pub struct Delete {
    pub id: String,
    pub actor: IdRef,
    #[serde(default)]
    pub object: Option<ObjectRef>,
}

impl Activity for Delete {
    async fn verify(&self, cx: &Inbound<'_>) -> Result<(), Handled> {
        own_object("Delete", self.object.as_ref(), cx).map(|_| ())
    }

    async fn receive(self, cx: &Inbound<'_>) -> Result<(), Handled> {
        let id = self.object.as_ref().and_then(ObjectRef::id).unwrap_or_default();
        if id == cx.signer.ap_id {
            remote::remove_actor(cx.ctx(), cx.signer).await?;
            cx.fed.forget_actor(cx.signer.id);
        } else {
            super::in_forum(cx, id, &self.id, || async {
                Ok(remote::delete_post(cx.ctx(), cx.signer, id).await?)
            })
            .await?;
        }
        Ok(())
    }
}
