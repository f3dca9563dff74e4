//! Events as an ActivityStreams `Event` with the terms Mobilizon reads
//! (`joinMode`, `participantCount`, `maximumAttendeeCapacity`, `timezone`,
//! `ical:status`, a `Place` with a schema.org `PostalAddress`, the online
//! address as a `Link` named "Website"). Mastodon shows an Event as its name
//! and a link; Mobilizon and Gancio as an event people can join.

use activitypub_federation::kinds::object::{EventType, PlaceType};
use activitypub_federation::protocol::values::MediaTypeHtml;
use chrono::TimeZone;
use serde::Serialize;

use super::{collections, CountedCollection, Interactions};
use crate::db::models::{Actor, Visibility};
use crate::federation::audience::Audience;
use crate::service::calendar::Event;

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct PostalAddress {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub street_address: String,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Place {
    #[serde(rename = "type")]
    pub kind: PlaceType,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<PostalAddress>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latitude: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub longitude: Option<f64>,
}

/// The online address, as Mobilizon writes and reads it.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub href: String,
    pub media_type: &'static str,
    pub name: &'static str,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct EventJson {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub summary: String,
    pub content: String,
    pub media_type: MediaTypeHtml,
    pub url: String,
    pub attributed_to: String,
    /// Mobilizon's organizer.
    pub actor: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub published: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    /// In the event's zone, with its offset (as Mobilizon sends them).
    pub start_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    pub timezone: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Place>,
    pub attachment: Vec<Link>,
    /// The event's picture (Mobilizon's banner).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<crate::federation::json::Image>,
    pub is_online: bool,
    pub join_mode: String,
    pub maximum_attendee_capacity: Option<i64>,
    pub remaining_attendee_capacity: Option<i64>,
    pub participant_count: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    pub comments_enabled: bool,
    pub replies_moderation_option: &'static str,
    pub anonymous_participation_enabled: bool,
    pub draft: bool,
    /// CONFIRMED or CANCELLED; both spellings, as Mobilizon 4 reads either.
    #[serde(rename = "ical:status")]
    pub ical_status: &'static str,
    pub status: &'static str,
    pub likes: CountedCollection,
    pub shares: CountedCollection,
    pub replies: CountedCollection,
}

pub fn document(
    e: &Event,
    author: &Actor,
    counts: &Interactions,
    upload: Option<&crate::db::models::MediaRow>,
) -> EventJson {
    let o = &e.object;
    let tz = e.tz();
    let zoned = |t: chrono::NaiveDateTime| {
        tz.from_utc_datetime(&t)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let audience = Audience::of(Visibility::from_db(&o.visibility), author, &[]);
    let [likes, shares, replies] = collections(counts, &o.ap_id);
    let location = (e.row.location_name.is_some() || e.row.address.is_some() || e.row.latitude.is_some())
        .then(|| Place {
            kind: PlaceType::Place,
            name: e
                .row
                .location_name
                .clone()
                .or_else(|| e.row.address.clone())
                .unwrap_or_default(),
            address: e.row.address.clone().map(|a| PostalAddress {
                kind: "PostalAddress",
                street_address: a,
            }),
            latitude: e.row.latitude,
            longitude: e.row.longitude,
        });
    let status = if e.is_cancelled() {
        "CANCELLED"
    } else {
        "CONFIRMED"
    };
    EventJson {
        id: o.ap_id.clone(),
        kind: EventType::Event,
        name: o.title.clone(),
        summary: o.summary.clone(),
        content: o.content_html.clone(),
        media_type: MediaTypeHtml::Html,
        url: o.url.clone().unwrap_or_else(|| o.ap_id.clone()),
        attributed_to: author.ap_id.clone(),
        actor: author.ap_id.clone(),
        to: audience.to,
        cc: audience.cc,
        published: crate::federation::json::rfc3339(o.published_at.unwrap_or(o.created_at)),
        updated: o.updated_at.map(crate::federation::json::rfc3339),
        start_time: zoned(e.row.starts_at),
        end_time: e.row.ends_at.map(zoned),
        timezone: e.row.timezone.clone(),
        location,
        attachment: e
            .row
            .online_url
            .iter()
            .map(|u| Link {
                kind: "Link",
                href: u.clone(),
                media_type: "text/html",
                name: "Website",
            })
            .collect(),
        image: o
            .image_url
            .as_deref()
            .map(|u| crate::federation::json::Image::new(u, o.image_alt.clone(), upload)),
        is_online: e.row.online_url.is_some() && e.row.location_name.is_none() && e.row.address.is_none(),
        // Mobilizon knows free, restricted and invite: closed is "invite only".
        join_mode: if e.row.join_mode == crate::service::calendar::JOIN_CLOSED {
            "invite".into()
        } else {
            e.row.join_mode.clone()
        },
        maximum_attendee_capacity: e.row.capacity,
        remaining_attendee_capacity: e.remaining(),
        participant_count: e.participants,
        category: e.row.category.clone(),
        comments_enabled: e.row.comments_enabled,
        replies_moderation_option: if e.row.comments_enabled {
            "allow_all"
        } else {
            "closed"
        },
        anonymous_participation_enabled: false,
        draft: false,
        ical_status: status,
        status,
        likes,
        shares,
        replies,
    }
}
