//! News as an `Article`. Mastodon shows an Article as its name, summary and
//! a link, so the summary is always filled; Lemmy, WriteFreely and other
//! co-ops show the whole text.

use activitypub_federation::kinds::object::ArticleType;
use activitypub_federation::protocol::values::{MediaTypeHtml, MediaTypeMarkdown};
use serde::Serialize;

use super::{collections, CountedCollection, Interactions};
use crate::db::models::Visibility;
use crate::db::models::{Actor, MediaRow, Object};
use crate::federation::audience::Audience;
use crate::federation::json::{escape, rfc3339, Image};

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    pub content: String,
    pub media_type: MediaTypeMarkdown,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ArticleJson {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: ArticleType,
    pub name: String,
    pub summary: String,
    pub content: String,
    pub media_type: MediaTypeHtml,
    pub url: String,
    pub attributed_to: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub published: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachment: Vec<Image>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    pub sensitive: bool,
    pub likes: CountedCollection,
    pub shares: CountedCollection,
    pub replies: CountedCollection,
}

/// `upload`: the image's upload here, when it is one of ours.
pub fn document(o: &Object, author: &Actor, counts: &Interactions, upload: Option<&MediaRow>) -> ArticleJson {
    let mut content = o.content_html.clone();
    if let Some(img) = &o.image_url {
        // Servers that drop attachments of Articles still show the picture.
        content = format!(
            "{content}<p><a href=\"{0}\">{1}</a></p>",
            escape(img),
            escape(o.image_alt.as_deref().unwrap_or("Image"))
        );
    }
    let audience = Audience::of(Visibility::from_db(&o.visibility), author, &[]);
    let [likes, shares, replies] = collections(counts, &o.ap_id);
    ArticleJson {
        id: o.ap_id.clone(),
        kind: ArticleType::Article,
        name: o.title.clone(),
        summary: o.summary.clone(),
        content,
        media_type: MediaTypeHtml::Html,
        url: o.url.clone().unwrap_or_else(|| o.ap_id.clone()),
        attributed_to: author.ap_id.clone(),
        to: audience.to,
        cc: audience.cc,
        published: rfc3339(o.published_at.unwrap_or(o.created_at)),
        updated: o.updated_at.map(rfc3339),
        attachment: o
            .image_url
            .iter()
            .map(|u| Image::new(u, o.image_alt.clone(), upload))
            .collect(),
        source: o.source.as_ref().map(|s| Source {
            content: s.clone(),
            media_type: MediaTypeMarkdown::Markdown,
        }),
        sensitive: false,
        likes,
        shares,
        replies,
    }
}
