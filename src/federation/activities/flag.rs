//! `Flag`: a report from another server's moderators or users, kept for
//! ours with its (sanitised) text.

use serde::Deserialize;

use super::{Activity, Handled, Inbound};
use crate::federation::json::IdRef;
use crate::federation::objects::lenient;
use crate::service::remote;

#[derive(Deserialize, Debug)]
pub struct Flag {
    pub id: String,
    pub actor: IdRef,
    #[serde(default, deserialize_with = "lenient::ids")]
    pub object: Vec<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub content: Option<String>,
}

impl Activity for Flag {
    async fn verify(&self, _cx: &Inbound<'_>) -> Result<(), Handled> {
        Ok(())
    }

    async fn receive(self, cx: &Inbound<'_>) -> Result<(), Handled> {
        let text = crate::service::text::sanitize_html(self.content.as_deref().unwrap_or(""));
        remote::store_report(cx.ctx(), cx.signer, &self.id, &self.object, &text).await?;
        Ok(())
    }
}
