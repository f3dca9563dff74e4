//! Posts from peers: `Note` (Mastodon, Misskey, GoToSocial), `Article`
//! (another co-op's news, WriteFreely, Lemmy posts) and `Page`, whether a
//! post of an actor the co-op follows or a reply in a conversation here.

use serde::Deserialize;

use super::lenient;
use crate::db::models::Actor;
use crate::federation::audience::Audience;
use crate::service::remote::RemotePost;
use crate::service::types::Visibility;

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Post {
    #[serde(default, deserialize_with = "lenient::string")]
    pub id: Option<String>,
    #[serde(rename = "type", default, deserialize_with = "lenient::string")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub summary: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub content: Option<String>,
    #[serde(default, deserialize_with = "lenient::url")]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "lenient::id")]
    pub in_reply_to: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub published: Option<String>,
    #[serde(default, deserialize_with = "lenient::ids")]
    pub to: Vec<String>,
    #[serde(default, deserialize_with = "lenient::ids")]
    pub cc: Vec<String>,
}

impl Post {
    /// Who may see it, read from its addressing.
    pub fn visibility(&self, author: &Actor) -> Visibility {
        Audience {
            to: self.to.clone(),
            cc: self.cc.clone(),
        }
        .visibility(author)
    }

    /// What the service stores (it sanitises the HTML).
    pub fn into_remote(self, visibility: Visibility) -> RemotePost {
        let ap_type = self.kind.unwrap_or_else(|| "Note".into());
        RemotePost {
            ap_id: self.id.unwrap_or_default(),
            // Another co-op's news is news here too.
            kind: if ap_type == "Article" { "news" } else { "note" },
            ap_type,
            title: self.name.unwrap_or_default(),
            summary: self.summary.unwrap_or_default(),
            content_html: self.content.unwrap_or_default(),
            url: crate::federation::web_link(self.url),
            in_reply_to: self.in_reply_to,
            visibility,
            published_at: self
                .published
                .and_then(|p| chrono::DateTime::parse_from_rfc3339(&p).ok())
                .map(|d| d.naive_utc()),
        }
    }
}
