//! Polls as a Mastodon-style `Question`: `oneOf` or `anyOf` options, each a
//! `Note` whose `replies.totalItems` is its vote count, `votersCount`,
//! `endTime`, and `closed` (the time) once over. Mastodon users vote from
//! their app with a `Note` named after the option in reply to it.

use activitypub_federation::kinds::activity::QuestionType;
use activitypub_federation::kinds::collection::CollectionType;
use activitypub_federation::kinds::object::NoteType;
use serde::Serialize;

use super::{collections, CountedCollection, Interactions};
use crate::db::models::{Actor, Visibility};
use crate::federation::audience::Audience;
use crate::federation::json::rfc3339;
use crate::service::polls::Poll;

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Total {
    #[serde(rename = "type")]
    pub kind: CollectionType,
    pub total_items: i64,
}

#[derive(Serialize, Debug)]
pub struct Choice {
    #[serde(rename = "type")]
    pub kind: NoteType,
    pub name: String,
    pub replies: Total,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct QuestionJson {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: QuestionType,
    pub content: String,
    pub url: String,
    pub attributed_to: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub published: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    pub end_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed: Option<String>,
    pub voters_count: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<Choice>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub any_of: Option<Vec<Choice>>,
    pub sensitive: bool,
    pub likes: CountedCollection,
    pub shares: CountedCollection,
    pub replies: CountedCollection,
}

pub fn document(p: &Poll, author: &Actor, counts: &Interactions) -> QuestionJson {
    let o = &p.object;
    let audience = Audience::of(Visibility::from_db(&o.visibility), author, &[]);
    let [likes, shares, replies] = collections(counts, &o.ap_id);
    let choices: Vec<Choice> = p
        .options
        .iter()
        .map(|(option, votes)| Choice {
            kind: NoteType::Note,
            name: option.name.clone(),
            replies: Total {
                kind: CollectionType::Collection,
                total_items: *votes,
            },
        })
        .collect();
    let (one_of, any_of) = if p.row.multiple {
        (None, Some(choices))
    } else {
        (Some(choices), None)
    };
    QuestionJson {
        id: o.ap_id.clone(),
        kind: QuestionType::Question,
        content: o.content_html.clone(),
        url: o.url.clone().unwrap_or_else(|| o.ap_id.clone()),
        attributed_to: author.ap_id.clone(),
        to: audience.to,
        cc: audience.cc,
        published: rfc3339(o.published_at.unwrap_or(o.created_at)),
        updated: o.updated_at.map(rfc3339),
        end_time: rfc3339(p.row.closes_at),
        closed: p.is_closed().then(|| rfc3339(p.row.closes_at)),
        voters_count: p.voters,
        one_of,
        any_of,
        sensitive: false,
        likes,
        shares,
        replies,
    }
}
