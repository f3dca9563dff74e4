//! ActivityStreams documents as typed serde structs: what we publish (actors,
//! articles, activities, collections) and what we read from peers. All
//! conversion between our rows and ActivityStreams happens here.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::db::models::{Actor, Object};

pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";
pub const AS_CONTEXT: &str = "https://www.w3.org/ns/activitystreams";
pub const AP_CONTENT_TYPE: &str = "application/activity+json";

/// The JSON-LD context of our documents: ActivityStreams, security (public
/// keys) and the Mastodon terms peers look for.
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
            "value": "schema:value"
        }
    ])
}

fn rfc3339(t: chrono::NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct PublicKeyJson {
    pub id: String,
    pub owner: String,
    pub public_key_pem: String,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    pub shared_inbox: String,
}

#[derive(Serialize, Debug)]
pub struct PropertyValue {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
    pub value: String,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ActorJson {
    #[serde(rename = "@context")]
    pub context: Value,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub preferred_username: String,
    pub name: String,
    pub summary: String,
    pub url: String,
    pub inbox: String,
    pub outbox: String,
    pub followers: String,
    pub following: String,
    pub featured: String,
    pub endpoints: Endpoints,
    pub public_key: PublicKeyJson,
    pub manually_approves_followers: bool,
    pub discoverable: bool,
    pub indexable: bool,
    pub published: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon: Option<Image>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachment: Vec<PropertyValue>,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A local actor as an ActivityPub document: the co-op as `Organization`,
/// the instance actor as `Application` (FEP-2677).
pub fn actor(a: &Actor, profile_url: &str, shared_inbox: &str) -> ActorJson {
    let mut attachment = Vec::new();
    if let Some(w) = &a.website {
        let shown = escape(
            w.trim_start_matches("https://")
                .trim_start_matches("http://")
                .trim_end_matches('/'),
        );
        attachment.push(PropertyValue {
            kind: "PropertyValue",
            name: "Website".into(),
            value: format!(
                "<a href=\"{}\" rel=\"me nofollow noopener noreferrer\" target=\"_blank\">{shown}</a>",
                escape(w)
            ),
        });
    }
    if let Some(e) = &a.contact_email {
        attachment.push(PropertyValue {
            kind: "PropertyValue",
            name: "Contact".into(),
            value: format!("<a href=\"mailto:{0}\">{0}</a>", escape(e)),
        });
    }
    if let Some(addr) = &a.address {
        attachment.push(PropertyValue {
            kind: "PropertyValue",
            name: "Address".into(),
            value: escape(addr),
        });
    }
    // The description is Markdown, shown the same here as on the home page.
    let summary = crate::service::text::render_markdown(&a.summary);
    ActorJson {
        context: context(),
        id: a.ap_id.clone(),
        kind: a.kind.clone(),
        preferred_username: a.handle.clone(),
        name: a.name.clone(),
        summary,
        url: profile_url.to_string(),
        inbox: a.inbox.clone(),
        outbox: a.outbox.clone().unwrap_or_else(|| format!("{}/outbox", a.ap_id)),
        followers: a
            .followers_url
            .clone()
            .unwrap_or_else(|| format!("{}/followers", a.ap_id)),
        following: format!("{}/following", a.ap_id),
        featured: format!("{}/featured", a.ap_id),
        endpoints: Endpoints {
            shared_inbox: shared_inbox.to_string(),
        },
        public_key: PublicKeyJson {
            id: a
                .public_key_id
                .clone()
                .unwrap_or_else(|| format!("{}#main-key", a.ap_id)),
            owner: a.ap_id.clone(),
            public_key_pem: a.public_key_pem.clone().unwrap_or_default(),
        },
        manually_approves_followers: a.manually_approves_followers,
        discoverable: a.discoverable,
        indexable: a.discoverable,
        published: rfc3339(a.created_at),
        icon: a.icon_url.as_ref().map(|u| Image {
            kind: "Image".into(),
            url: u.clone(),
            name: None,
        }),
        attachment,
    }
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    pub content: String,
    pub media_type: &'static str,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ArticleJson {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
    pub summary: String,
    pub content: String,
    pub media_type: &'static str,
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
}

/// News as an `Article`. Mastodon shows an Article as its name, summary and
/// a link, so the summary is always filled.
pub fn article(o: &Object, author: &Actor) -> ArticleJson {
    let followers = author
        .followers_url
        .clone()
        .unwrap_or_else(|| format!("{}/followers", author.ap_id));
    let mut content = o.content_html.clone();
    if let Some(img) = &o.image_url {
        // Servers that drop attachments of Articles still show the picture.
        content = format!(
            "{content}<p><a href=\"{0}\">{1}</a></p>",
            escape(img),
            escape(o.image_alt.as_deref().unwrap_or("Image"))
        );
    }
    ArticleJson {
        id: o.ap_id.clone(),
        kind: "Article",
        name: o.title.clone(),
        summary: o.summary.clone(),
        content,
        media_type: "text/html",
        url: o.url.clone().unwrap_or_else(|| o.ap_id.clone()),
        attributed_to: author.ap_id.clone(),
        to: vec![PUBLIC.into()],
        cc: vec![followers],
        published: rfc3339(o.published_at.unwrap_or(o.created_at)),
        updated: o.updated_at.map(rfc3339),
        attachment: o
            .image_url
            .iter()
            .map(|u| Image {
                kind: "Image".into(),
                url: u.clone(),
                name: o.image_alt.clone(),
            })
            .collect(),
        source: o.source.as_ref().map(|s| Source {
            content: s.clone(),
            media_type: "text/markdown",
        }),
        sensitive: false,
    }
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Tombstone {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub former_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<String>,
}

pub fn tombstone(o: &Object) -> Tombstone {
    Tombstone {
        id: o.ap_id.clone(),
        kind: "Tombstone",
        former_type: o.ap_type.clone(),
        deleted: o.deleted_at.map(rfc3339),
    }
}

/// An activity we send. `object` is embedded (Mastodon and Fedify accept
/// embedded objects and do not need to fetch them).
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ActivityJson<O: Serialize> {
    #[serde(rename = "@context")]
    pub context: Value,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub actor: String,
    pub object: O,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
}

#[derive(Serialize, Debug)]
pub struct FollowRef {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub actor: String,
    pub object: String,
}

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

/// An incoming activity: the fields every handler needs, typed; the object
/// stays JSON until the handler for the type reads it.
#[derive(Deserialize, Debug)]
pub struct Incoming {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: TypeField,
    pub actor: IdRef,
    #[serde(default)]
    pub object: Option<Value>,
    #[serde(default)]
    pub content: Option<String>,
}

impl Incoming {
    pub fn object_id(&self) -> Option<String> {
        match &self.object {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Object(m)) => m.get("id").and_then(Value::as_str).map(String::from),
            _ => None,
        }
    }

    pub fn object_type(&self) -> Option<String> {
        match &self.object {
            Some(Value::Object(m)) => match m.get("type") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Array(a)) => a.first().and_then(Value::as_str).map(String::from),
                _ => None,
            },
            _ => None,
        }
    }

    /// The embedded object parsed as an activity (for Undo).
    pub fn inner(&self) -> Option<Incoming> {
        self.object.clone().and_then(|v| serde_json::from_value(v).ok())
    }
}

/// A remote actor document.
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct RemoteActor {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: TypeField,
    #[serde(default)]
    pub preferred_username: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub url: Option<Value>,
    pub inbox: String,
    #[serde(default)]
    pub outbox: Option<String>,
    #[serde(default)]
    pub followers: Option<String>,
    #[serde(default)]
    pub endpoints: Option<RemoteEndpoints>,
    #[serde(default)]
    pub public_key: Option<OneOrMany<RemoteKey>>,
    #[serde(default)]
    pub icon: Option<Value>,
    #[serde(default)]
    pub image: Option<Value>,
    #[serde(default)]
    pub manually_approves_followers: Option<bool>,
    #[serde(default)]
    pub discoverable: Option<bool>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct RemoteEndpoints {
    #[serde(default)]
    pub shared_inbox: Option<String>,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct RemoteKey {
    pub id: String,
    #[serde(default)]
    pub owner: Option<String>,
    pub public_key_pem: String,
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
