//! Forum threads as a `Page`, Lemmy's shape for a post in a community:
//! `name` is the title, `audience` (FEP-1b12) and `to` name the group,
//! `commentsEnabled` is false once locked, `stickied` once pinned.

use activitypub_federation::kinds::object::PageType;
use activitypub_federation::protocol::values::{MediaTypeHtml, MediaTypeMarkdown};
use serde::Serialize;

use super::article::Source;
use super::{collections, CountedCollection, Interactions};
use crate::db::models::{Actor, Object, ThreadRow, Visibility};
use crate::federation::audience::Audience;
use crate::federation::json::rfc3339;

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct PageJson {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: PageType,
    pub attributed_to: String,
    pub name: String,
    pub content: String,
    pub media_type: MediaTypeHtml,
    pub source: Source,
    pub url: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub audience: String,
    pub comments_enabled: bool,
    pub stickied: bool,
    pub sensitive: bool,
    pub published: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    pub likes: CountedCollection,
    pub shares: CountedCollection,
    pub replies: CountedCollection,
}

pub fn document(
    o: &Object,
    thread: &ThreadRow,
    author: &Actor,
    group: &Actor,
    counts: &Interactions,
) -> PageJson {
    // Lemmy addresses a post to the community and the public.
    let mut audience = Audience::of(Visibility::from_db(&o.visibility), author, &[]);
    audience.to.insert(0, group.ap_id.clone());
    let [likes, shares, replies] = collections(counts, &o.ap_id);
    PageJson {
        id: o.ap_id.clone(),
        kind: PageType::Page,
        attributed_to: author.ap_id.clone(),
        name: o.title.clone(),
        content: o.content_html.clone(),
        media_type: MediaTypeHtml::Html,
        source: Source {
            content: o.source.clone().unwrap_or_default(),
            media_type: MediaTypeMarkdown::Markdown,
        },
        url: o.url.clone().unwrap_or_else(|| o.ap_id.clone()),
        to: audience.to,
        cc: audience.cc,
        audience: group.ap_id.clone(),
        comments_enabled: !thread.locked,
        stickied: thread.pinned,
        sensitive: false,
        published: rfc3339(o.published_at.unwrap_or(o.created_at)),
        updated: o.updated_at.map(rfc3339),
        likes,
        shares,
        replies,
    }
}
