//! Actors of other servers: their documents as peers serve them, and the
//! checks that turn one into our row (same origin for id, inbox and key;
//! the key listed and owned by the actor; HTML sanitised).

use serde::Deserialize;
use serde_json::Value;

use crate::db::models::ActorRow;
use crate::db::now;
use crate::federation::json::{self, OneOrMany, TypeField};
use crate::federation::FedError;

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

/// Only http(s) links from remote data reach our pages.
pub fn web_link(u: Option<String>) -> Option<String> {
    u.filter(|u| url::Url::parse(u).is_ok_and(|p| p.scheme() == "https" || p.scheme() == "http"))
}

/// Converts a remote actor document into our row, refusing one whose id,
/// inbox or key live on another origin than where it was fetched. With
/// `key_id`, the actor must list that key, and that is the key kept.
pub fn actor_row(a: &RemoteActor, fetched_from: &str, key_id: Option<&str>) -> Result<ActorRow, FedError> {
    let origin = json::origin(&a.id).ok_or_else(|| FedError::Invalid(format!("bad actor id {}", a.id)))?;
    if json::origin(fetched_from).as_deref() != Some(origin.as_str()) {
        return Err(FedError::Invalid(format!(
            "the actor {} was served by another origin ({fetched_from})",
            a.id
        )));
    }
    if json::origin(&a.inbox).as_deref() != Some(origin.as_str()) {
        return Err(FedError::Invalid(format!(
            "the inbox of {} is on another origin",
            a.id
        )));
    }
    let keys = a.public_key.as_ref().map(|k| k.to_vec()).unwrap_or_default();
    let key = match key_id {
        Some(wanted) => Some(keys.into_iter().find(|k| k.id == wanted).ok_or_else(|| {
            FedError::Invalid(format!("the actor {} does not list the key {wanted}", a.id))
        })?),
        None => keys
            .into_iter()
            .find(|k| k.owner.as_deref().is_none_or(|o| o == a.id)),
    };
    if let Some(owner) = key.as_ref().and_then(|k| k.owner.as_deref()) {
        if owner != a.id {
            return Err(FedError::Invalid(format!(
                "the key of {} is owned by {owner}",
                a.id
            )));
        }
    }
    if let Some(k) = &key {
        if json::origin(&k.id).as_deref() != Some(origin.as_str()) {
            return Err(FedError::Invalid(format!(
                "the key of {} is on another origin",
                a.id
            )));
        }
    }
    let url = url::Url::parse(&a.id).map_err(|_| FedError::Invalid(format!("bad actor id {}", a.id)))?;
    let domain = match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or("")),
        None => url.host_str().unwrap_or("").to_string(),
    };
    let clip = |s: &str, n: usize| s.chars().take(n).collect::<String>();
    let at = now();
    Ok(ActorRow {
        ap_id: a.id.clone(),
        kind: clip(a.kind.first(), 40),
        handle: clip(
            a.preferred_username.as_deref().unwrap_or_else(|| {
                url.path_segments()
                    .and_then(|mut s| s.next_back())
                    .unwrap_or("unknown")
            }),
            100,
        ),
        domain,
        local: false,
        name: clip(a.name.as_deref().unwrap_or(""), 200),
        // Remote HTML is sanitised before it is stored.
        summary: clip(
            &crate::service::text::sanitize_html(a.summary.as_deref().unwrap_or("")),
            10_000,
        ),
        url: web_link(a.url.as_ref().and_then(json::first_url)),
        inbox: a.inbox.clone(),
        shared_inbox: a
            .endpoints
            .as_ref()
            .and_then(|e| e.shared_inbox.clone())
            .filter(|s| json::origin(s).as_deref() == Some(origin.as_str())),
        outbox: a.outbox.clone(),
        followers_url: a.followers.clone(),
        public_key_id: key.as_ref().map(|k| k.id.clone()),
        public_key_pem: key.map(|k| k.public_key_pem),
        private_key_pem: None,
        icon_url: web_link(a.icon.as_ref().and_then(json::first_url)),
        image_url: web_link(a.image.as_ref().and_then(json::first_url)),
        manually_approves_followers: a.manually_approves_followers.unwrap_or(false),
        discoverable: a.discoverable.unwrap_or(false),
        last_fetched_at: Some(at),
        created_at: at,
        updated_at: at,
    })
}
