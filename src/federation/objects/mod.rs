//! Objects, one file per type: how each is written for peers and read from
//! them. `IncomingObject` is what an activity may carry; the activity
//! handlers match on it, never on JSON.

pub mod article;
pub mod event;
pub mod note;
pub mod page;
pub mod question;
pub mod tombstone;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::actors::remote::RemoteActor;
use super::json::TypeField;
use crate::db::models::{Actor, ContentKind, Object};
use crate::db::PooledConn;
use crate::service::{calendar, conversation, polls, ServiceResult};
use activitypub_federation::kinds::collection::CollectionType;

/// An object embedded in an incoming activity: its `id` and `type`, and
/// its body read by the module of that type.
#[derive(Debug)]
pub struct IncomingObject {
    pub id: Option<String>,
    pub kind: String,
    pub body: ObjectBody,
}

#[derive(Debug)]
pub enum ObjectBody {
    /// Note, Article or Page: a post or a reply.
    Post(Box<note::Post>),
    /// An actor document (Update of a profile), or why it could not be read.
    Actor(Result<Box<RemoteActor>, String>),
    /// A type no module reads yet (Event, Question...): logged, and so
    /// de-duplicated, until its module handles it.
    Other,
}

#[derive(Deserialize)]
struct Head {
    #[serde(default, deserialize_with = "lenient::string")]
    id: Option<String>,
    #[serde(rename = "type", default)]
    kind: Option<TypeField>,
}

impl IncomingObject {
    /// Reads an embedded object by its `type`. Fields of the wrong shape
    /// are read as absent, as peers differ; nothing here fails.
    pub fn read(doc: Value) -> IncomingObject {
        let head = Head::deserialize(&doc).unwrap_or(Head { id: None, kind: None });
        let kind = head
            .kind
            .as_ref()
            .map(|k| k.first().to_string())
            .unwrap_or_default();
        let body = match kind.as_str() {
            "Note" | "Article" | "Page" => match serde_json::from_value(doc) {
                Ok(post) => ObjectBody::Post(Box::new(post)),
                Err(_) => ObjectBody::Other,
            },
            "Person" | "Organization" | "Group" | "Service" | "Application" => ObjectBody::Actor(
                serde_json::from_value(doc)
                    .map(Box::new)
                    .map_err(|e| format!("actor document: {e}")),
            ),
            _ => ObjectBody::Other,
        };
        IncomingObject {
            id: head.id.filter(|i| !i.is_empty()),
            kind,
            body,
        }
    }
}

impl<'de> Deserialize<'de> for IncomingObject {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(IncomingObject::read)
    }
}

/// Field readers that take what peers send: a field of an unexpected shape
/// reads as absent instead of refusing the whole document.
pub mod lenient {
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::String(s) => Some(s),
            _ => None,
        })
    }

    /// An id, bare or as an embedded object's `id`.
    pub fn id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(id_of(&Value::deserialize(d)?))
    }

    fn id_of(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Object(m) => m.get("id").and_then(Value::as_str).map(String::from),
            _ => None,
        }
    }

    /// Ids given as one or many (addressing, `Flag` objects).
    pub fn ids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Array(items) => items.iter().filter_map(id_of).collect(),
            other => id_of(&other).into_iter().collect(),
        })
    }

    /// The `href`s of Mention tags.
    pub fn tag_hrefs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        let v = Value::deserialize(d)?;
        let items = match v {
            Value::Array(items) => items,
            other => vec![other],
        };
        Ok(items
            .iter()
            .filter(|t| t.get("type").and_then(Value::as_str) == Some("Mention"))
            .filter_map(|t| t.get("href").and_then(Value::as_str).map(String::from))
            .collect())
    }

    /// An activity's `object` that is an activity: any shape reads.
    pub fn activity_ref<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<crate::federation::activities::ActivityRef, D::Error> {
        Ok(serde_json::from_value(Value::deserialize(d)?).unwrap_or_default())
    }

    /// The first entry of a `type` (a string, or a JSON-LD array of them).
    pub fn first_type<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::String(s) => Some(s),
            Value::Array(items) => items.first().and_then(Value::as_str).map(String::from),
            _ => None,
        })
    }

    /// The first URL of a `url`, `icon` or `image` (string, Link, Image or array).
    pub fn url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(super::super::json::first_url(&Value::deserialize(d)?))
    }
}

pub use crate::service::conversation::Interactions;

/// A collection named and counted inside an object; `first` where its
/// items can be paged (replies).
#[derive(Serialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct CountedCollection {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: CollectionType,
    pub total_items: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<String>,
}

/// The collection URLs of an object: `{id}/likes`, `{id}/shares`, `{id}/replies`.
pub fn collection_id(object_ap_id: &str, which: &str) -> String {
    format!("{object_ap_id}/{which}")
}

/// The three collections of an object, counted.
pub fn collections(counts: &Interactions, object_ap_id: &str) -> [CountedCollection; 3] {
    let counted = |which: &str, total: i64, paged: bool| {
        let id = collection_id(object_ap_id, which);
        CountedCollection {
            first: paged.then(|| format!("{id}?page=1")),
            id,
            kind: CollectionType::Collection,
            total_items: total,
        }
    };
    [
        counted("likes", counts.likes, false),
        counted("shares", counts.shares, false),
        counted("replies", counts.replies, true),
    ]
}

/// One of our objects as peers get it, whatever its type.
#[derive(Serialize, Debug)]
#[serde(untagged)]
pub enum Document {
    Article(Box<article::ArticleJson>),
    Event(Box<event::EventJson>),
    Question(Box<question::QuestionJson>),
    Note(Box<note::NoteJson>),
    Page(Box<page::PageJson>),
}

/// The document of a local object by its kind, with its current counts;
/// None for what other servers serve (remote posts).
pub async fn document(
    conn: &mut PooledConn,
    object: &Object,
    author: &Actor,
) -> ServiceResult<Option<Document>> {
    let counts = conversation::interactions_on(conn, object).await?;
    let upload = match &object.image_url {
        Some(url) => crate::service::media::find_by_url(conn, url).await?,
        None => None,
    };
    let upload = upload.as_ref();
    Ok(match ContentKind::from_db(&object.kind) {
        ContentKind::News => Some(Document::Article(Box::new(article::document(
            object, author, &counts, upload,
        )))),
        ContentKind::Event => {
            let e = calendar::event_on(conn, object.clone()).await?;
            Some(Document::Event(Box::new(event::document(
                &e, author, &counts, upload,
            ))))
        }
        ContentKind::Poll => {
            let p = polls::poll_on(conn, object.clone()).await?;
            Some(Document::Question(Box::new(question::document(
                &p, author, &counts,
            ))))
        }
        // A member's reply; remote posts are served by their own servers.
        ContentKind::Note if object.local => {
            let related = crate::federation::audience::related(conn, object).await?;
            Some(Document::Note(Box::new(note::document(
                object,
                author,
                &related.cc,
                related.audience.as_deref(),
                &counts,
            ))))
        }
        ContentKind::Note => None,
        ContentKind::Thread if object.local => {
            use crate::db::queries::{actors, forums};
            let Some(thread) = forums::find_thread(conn, object.id).await? else {
                return Ok(None);
            };
            let Some(group) = actors::find(conn, thread.forum_id).await? else {
                return Ok(None);
            };
            Some(Document::Page(Box::new(page::document(
                object, &thread, author, &group, &counts,
            ))))
        }
        ContentKind::Thread => None,
    })
}
