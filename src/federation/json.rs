//! What every ActivityStreams document shares: our JSON-LD context, the
//! activity and collection envelopes we send, and the shapes peers use for
//! references (`IdRef`, `TypeField`, `OneOrMany`). Types have their own
//! modules: `objects/`, `actors/`, `activities/`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const AS_CONTEXT: &str = "https://www.w3.org/ns/activitystreams";
pub const AP_CONTENT_TYPE: &str = "application/activity+json";

/// The JSON-LD context of our documents: ActivityStreams, security (public
/// keys), the Mastodon terms peers look for, and Mobilizon's event terms.
pub fn context() -> Value {
    serde_json::json!([
        AS_CONTEXT,
        "https://w3id.org/security/v1",
        {
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "toot": "http://joinmastodon.org/ns#",
            "discoverable": "toot:discoverable",
            "indexable": "toot:indexable",
            "featured": {"@id": "toot:featured", "@type": "@id"},
            "schema": "http://schema.org#",
            "PropertyValue": "schema:PropertyValue",
            "value": "schema:value",
            "votersCount": "toot:votersCount",
            "mz": "https://joinmobilizon.org/ns#",
            "ical": "http://www.w3.org/2002/12/cal/ical#",
            "pt": "https://joinpeertube.org/ns#",
            "joinMode": {"@id": "mz:joinMode", "@type": "mz:joinModeType"},
            "participantCount": {"@id": "mz:participantCount", "@type": "schema:Integer"},
            "timezone": {"@id": "mz:timezone", "@type": "schema:Text"},
            "isOnline": {"@id": "mz:isOnline", "@type": "schema:Boolean"},
            "repliesModerationOption": {"@id": "mz:repliesModerationOption", "@type": "mz:repliesModerationOptionType"},
            "anonymousParticipationEnabled": {"@id": "mz:anonymousParticipationEnabled", "@type": "schema:Boolean"},
            "commentsEnabled": {"@id": "pt:commentsEnabled", "@type": "schema:Boolean"},
            "maximumAttendeeCapacity": "schema:maximumAttendeeCapacity",
            "remainingAttendeeCapacity": "schema:remainingAttendeeCapacity",
            "category": "schema:category",
            "PostalAddress": "schema:PostalAddress",
            "address": {"@id": "schema:address", "@type": "schema:PostalAddress"},
            "streetAddress": "schema:streetAddress",
            "status": "ical:status",
            "draft": "mz:draft",
            "blurhash": "toot:blurhash"
        }
    ])
}

pub fn rfc3339(t: chrono::NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[derive(Serialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    #[serde(rename = "type")]
    pub kind: activitypub_federation::kinds::object::ImageType,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Known for our uploads: what Mastodon uses to lay out and preview.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blurhash: Option<String>,
}

impl Image {
    /// An image by URL; `upload` fills in what we know of our own uploads.
    pub fn new(url: &str, name: Option<String>, upload: Option<&crate::db::models::MediaRow>) -> Image {
        Image {
            kind: activitypub_federation::kinds::object::ImageType::Image,
            url: url.to_string(),
            name,
            media_type: upload.map(|m| m.media_type.clone()),
            width: upload.map(|m| m.width),
            height: upload.map(|m| m.height),
            blurhash: upload.and_then(|m| m.blurhash.clone()),
        }
    }
}

pub use crate::service::text::escape_html as escape;

/// An activity we send, wrapped in `WithContext` with `context()`.
/// `object` is embedded (Mastodon and Fedify accept embedded objects and
/// do not need to fetch them).
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ActivityJson<K: Serialize, O: Serialize> {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: K,
    pub actor: String,
    pub object: O,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
}

/// A peer's activity named inside our Accept, Reject or Undo: its id with
/// its type, actor and object, as Mastodon embeds them.
#[derive(Serialize, Debug)]
pub struct InnerRef<K> {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: K,
    pub actor: String,
    pub object: String,
}

pub type FollowRef = InnerRef<activitypub_federation::kinds::activity::FollowType>;
pub type JoinRef = InnerRef<activitypub_federation::kinds::activity::JoinType>;

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct OrderedCollection {
    #[serde(rename = "@context")]
    pub context: &'static str,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub total_items: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ordered_items: Option<Vec<Value>>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct OrderedCollectionPage {
    #[serde(rename = "@context")]
    pub context: &'static str,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub part_of: String,
    pub total_items: i64,
    pub ordered_items: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev: Option<String>,
}

// ---------------------------------------------------------------- what peers send

/// A reference that peers send either as a bare id or as an embedded object.
#[derive(Deserialize, Debug, Clone)]
#[serde(untagged)]
pub enum IdRef {
    Id(String),
    Object { id: String },
}

impl IdRef {
    pub fn id(&self) -> &str {
        match self {
            IdRef::Id(s) | IdRef::Object { id: s } => s,
        }
    }
}

/// `type` may be a string or (JSON-LD) an array of strings.
#[derive(Deserialize, Debug, Clone)]
#[serde(untagged)]
pub enum TypeField {
    One(String),
    Many(Vec<String>),
}

impl TypeField {
    pub fn first(&self) -> &str {
        match self {
            TypeField::One(s) => s,
            TypeField::Many(v) => v.first().map(String::as_str).unwrap_or(""),
        }
    }
}

#[derive(Deserialize, Debug, Clone)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T: Clone> OneOrMany<T> {
    pub fn to_vec(&self) -> Vec<T> {
        match self {
            OneOrMany::One(t) => vec![t.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// The first URL in an `icon`, `image` or `url` value (string, Link, Image or array).
pub fn first_url(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(m) => m.get("url").or_else(|| m.get("href")).and_then(first_url),
        Value::Array(a) => a.iter().find_map(first_url),
        _ => None,
    }
}

/// The origin (scheme, host, port) of a URL, for same-origin checks.
pub fn origin(url: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()
        .map(|u| u.origin().ascii_serialization())
}
