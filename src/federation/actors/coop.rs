//! Our actors as documents: the co-op as `Organization` and the instance
//! actor as `Application` (FEP-2677) share one shape, with the Mastodon
//! terms (`discoverable`, `featured`, profile fields) peers look for.

use activitypub_federation::protocol::context::WithContext;
use serde::Serialize;

use crate::db::models::Actor;
use crate::federation::json::{escape, rfc3339, Image};

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
    /// A forum's moderators collection (Lemmy reads `attributedTo`, older
    /// Lemmy and Mbin `moderators`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributed_to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moderators: Option<String>,
    /// An announcements-only forum: only moderators start threads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub posting_restricted_to_mods: Option<bool>,
}

/// A local actor as an ActivityPub document: the co-op as `Organization`,
/// the instance actor as `Application` (FEP-2677).
pub fn document(a: &Actor, profile_url: &str, shared_inbox: &str) -> ActorJson {
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
        icon: a.icon_url.as_ref().map(|u| Image::new(u, None, None)),
        attachment,
        attributed_to: None,
        moderators: None,
        posting_restricted_to_mods: None,
    }
}

/// A forum's Group: its moderators collection and posting rule added.
pub fn with_forum(mut doc: ActorJson, posting_restricted: bool) -> ActorJson {
    let moderators = format!("{}/moderators", doc.id);
    doc.attributed_to = Some(moderators.clone());
    doc.moderators = Some(moderators);
    doc.posting_restricted_to_mods = Some(posting_restricted);
    doc
}

/// A local actor's document with the shared inbox, as embedded in an
/// Update (no `@context`; `served` adds it). `forum`: a forum's posting
/// rule, when the actor is one of our forums.
pub fn for_config(config: &crate::config::Config, a: &Actor, forum: Option<bool>) -> ActorJson {
    let profile = if a.kind == "Group" {
        config.url(&format!("/forums/{}", a.handle))
    } else {
        config.url("/")
    };
    let doc = document(a, &profile, &config.url("/inbox"));
    match forum {
        Some(restricted) => with_forum(doc, restricted),
        None => doc,
    }
}

/// A local actor's document as served at its id.
pub fn served(config: &crate::config::Config, a: &Actor, forum: Option<bool>) -> WithContext<ActorJson> {
    WithContext::new(for_config(config, a, forum), crate::federation::json::context())
}
