//! `Update` of the signer's own profile, or of a post kept here (only its
//! author's server may send it, and only the author's object changes).

use serde::Deserialize;

use super::create::keep_post;
use super::{own_object, Activity, Handled, Inbound, ObjectRef};
use crate::federation::json::IdRef;
use crate::federation::objects::ObjectBody;

#[derive(Deserialize, Debug)]
pub struct Update {
    pub id: String,
    pub actor: IdRef,
    #[serde(default)]
    pub object: Option<ObjectRef>,
}

impl Activity for Update {
    async fn verify(&self, cx: &Inbound<'_>) -> Result<(), Handled> {
        own_object("Update", self.object.as_ref(), cx).map(|_| ())
    }

    async fn receive(self, cx: &Inbound<'_>) -> Result<(), Handled> {
        let Some(ObjectRef::Embedded(o)) = self.object else {
            tracing::info!(activity = %self.id, "Update by reference logged");
            return Ok(());
        };
        match o.body {
            // Another actor's document, even from the same server, is not
            // the signer's to change.
            ObjectBody::Actor(doc) if o.id.as_deref() == Some(cx.signer.ap_id.as_str()) => {
                let doc = doc.map_err(Handled::bad_request)?;
                cx.fed.save_actor_doc(cx.ctx(), &doc, &cx.signer.ap_id).await?;
                Ok(())
            }
            ObjectBody::Actor(_) => Ok(()),
            ObjectBody::Post(post) => keep_post(cx, *post, None, &self.id).await,
            ObjectBody::Other => {
                tracing::info!(kind = %o.kind, object = ?o.id, "content activity logged");
                Ok(())
            }
        }
    }
}
