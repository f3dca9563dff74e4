//! `Follow` of one of our actors. Accepted at once, or kept pending for an
//! admin when the actor sets `manuallyApprovesFollowers`.

use axum::http::StatusCode;
use serde::Deserialize;

use super::{Activity, Handled, Inbound};
use crate::federation::actors::instance;
use crate::federation::json::IdRef;
use crate::federation::objects::lenient;
use crate::service::follows;

#[derive(Deserialize, Debug)]
pub struct Follow {
    pub id: String,
    pub actor: IdRef,
    #[serde(default, deserialize_with = "lenient::id")]
    pub object: Option<String>,
}

impl Activity for Follow {
    async fn verify(&self, _cx: &Inbound<'_>) -> Result<(), Handled> {
        if self.object.as_deref().is_none_or(str::is_empty) {
            return Err(Handled::bad_request("Follow without object"));
        }
        Ok(())
    }

    async fn receive(self, cx: &Inbound<'_>) -> Result<(), Handled> {
        let object = self.object.unwrap_or_default();
        let Some(target) = cx.local_actor(&object).await? else {
            return Err(Handled::Refused(
                StatusCode::NOT_FOUND,
                format!("{object} is not an actor here"),
            ));
        };
        if instance::is_instance(&target) {
            return Err(Handled::bad_request("The instance actor cannot be followed."));
        }
        // A forum's banned actors and, for a members-only forum, everyone
        // from elsewhere (members' accounts come with the members work).
        if let Some(forum) = crate::service::forums::forum_of_actor(cx.ctx(), &target).await? {
            crate::service::forums::refuse_banned(cx.ctx(), &forum, cx.signer).await?;
        }
        follows::receive_follow(cx.ctx(), cx.signer, &target, &self.id).await?;
        Ok(())
    }
}
