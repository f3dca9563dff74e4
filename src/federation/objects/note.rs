//! Posts from peers: `Note` (Mastodon, Misskey, GoToSocial), `Article`
//! (another co-op's news, WriteFreely, Lemmy posts) and `Page`, whether a
//! post of an actor the co-op follows or a reply in a conversation here;
//! and our members' replies, sent as a `Note` of their Person.

use activitypub_federation::kinds::object::NoteType;
use activitypub_federation::protocol::values::MediaTypeHtml;
use serde::{Deserialize, Serialize};

use super::{collections, lenient, CountedCollection, Interactions};
use crate::db::models::Actor;
use crate::db::models::Object;
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
    /// Its author (one actor; Lemmy also writes a Peertube-style list,
    /// read as absent).
    #[serde(default, deserialize_with = "lenient::id")]
    pub attributed_to: Option<String>,
    /// FEP-1b12: the group it is posted in.
    #[serde(default, deserialize_with = "lenient::id")]
    pub audience: Option<String>,
    /// Mentions (a Mastodon user starting a thread by mentioning a group).
    #[serde(default, deserialize_with = "lenient::tag_hrefs")]
    pub tag: Vec<String>,
}

impl Post {
    /// Everyone it names: its audience, `to`, `cc` and mentions.
    pub fn addressed(&self) -> Vec<String> {
        self.audience
            .iter()
            .chain(&self.to)
            .chain(&self.cc)
            .chain(&self.tag)
            .cloned()
            .collect()
    }

    /// What it addresses that could be an actor here (a forum): not the
    /// public collection, not its author's followers. Most posts name
    /// nothing else, and then nothing needs looking up.
    pub fn addressed_actors(&self, author: &Actor) -> Vec<String> {
        let followers = crate::federation::audience::followers_of(author);
        self.addressed()
            .into_iter()
            .filter(|a| !crate::federation::audience::is_public(a) && *a != followers)
            .collect()
    }

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

/// A member's reply as peers get it.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct NoteJson {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: NoteType,
    pub attributed_to: String,
    pub content: String,
    pub media_type: MediaTypeHtml,
    pub in_reply_to: Option<String>,
    pub url: String,
    pub to: Vec<String>,
    /// The forum's group, for a reply in a forum thread (FEP-1b12).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    pub cc: Vec<String>,
    pub published: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    pub sensitive: bool,
    pub likes: CountedCollection,
    pub shares: CountedCollection,
    pub replies: CountedCollection,
}

pub fn document(
    o: &Object,
    author: &Actor,
    cc: &[String],
    group: Option<&str>,
    counts: &Interactions,
) -> NoteJson {
    let audience = Audience::of(Visibility::from_db(&o.visibility), author, cc);
    let [likes, shares, replies] = collections(counts, &o.ap_id);
    NoteJson {
        id: o.ap_id.clone(),
        kind: NoteType::Note,
        attributed_to: author.ap_id.clone(),
        content: o.content_html.clone(),
        media_type: MediaTypeHtml::Html,
        in_reply_to: o.in_reply_to.clone(),
        url: o.ap_id.clone(),
        to: audience.to,
        audience: group.map(String::from),
        cc: audience.cc,
        published: crate::federation::json::rfc3339(o.published_at.unwrap_or(o.created_at)),
        updated: o.updated_at.map(crate::federation::json::rfc3339),
        sensitive: false,
        likes,
        shares,
        replies,
    }
}
