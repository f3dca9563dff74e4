//! Rows as diesel reads and writes them. Services convert them into their own
//! typed values where a field has rules (handles, roles).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = instance)]
pub struct Instance {
    pub id: i64,
    pub setup_token_hash: Option<String>,
    pub setup_completed_at: Option<NaiveDateTime>,
    pub coop_actor_id: Option<i64>,
    pub instance_actor_id: Option<i64>,
    pub default_language: String,
    pub created_at: NaiveDateTime,
    pub federation_mode: String,
    pub authorized_fetch: bool,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = actors)]
pub struct Actor {
    pub id: i64,
    pub ap_id: String,
    pub kind: String,
    pub handle: String,
    pub domain: String,
    pub local: bool,
    pub name: String,
    pub summary: String,
    pub url: Option<String>,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    pub outbox: Option<String>,
    pub followers_url: Option<String>,
    pub public_key_id: Option<String>,
    pub public_key_pem: Option<String>,
    pub private_key_pem: Option<String>,
    pub icon_url: Option<String>,
    pub image_url: Option<String>,
    pub website: Option<String>,
    pub contact_email: Option<String>,
    pub address: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub languages: String,
    pub manually_approves_followers: bool,
    pub discoverable: bool,
    pub last_fetched_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable, AsChangeset, Default)]
#[diesel(table_name = actors)]
pub struct ActorRow {
    pub ap_id: String,
    pub kind: String,
    pub handle: String,
    pub domain: String,
    pub local: bool,
    pub name: String,
    pub summary: String,
    pub url: Option<String>,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    pub outbox: Option<String>,
    pub followers_url: Option<String>,
    pub public_key_id: Option<String>,
    pub public_key_pem: Option<String>,
    pub private_key_pem: Option<String>,
    pub icon_url: Option<String>,
    pub image_url: Option<String>,
    pub manually_approves_followers: bool,
    pub discoverable: bool,
    pub last_fetched_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The co-op profile fields an admin edits.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = actors, treat_none_as_null = true)]
pub struct ProfileChange {
    pub name: String,
    pub summary: String,
    pub website: Option<String>,
    pub contact_email: Option<String>,
    pub address: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub languages: String,
    pub icon_url: Option<String>,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
    pub display_name: String,
    pub password_hash: String,
    pub role: String,
    pub disabled: bool,
    pub created_at: NaiveDateTime,
    pub last_login_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser {
    pub username: String,
    pub email: Option<String>,
    pub display_name: String,
    pub password_hash: String,
    pub role: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id: i64,
    pub token_hash: String,
    pub user_id: i64,
    pub csrf_token: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession {
    pub token_hash: String,
    pub user_id: i64,
    pub csrf_token: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub token_hash: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = api_tokens)]
pub struct NewApiToken {
    pub user_id: i64,
    pub name: String,
    pub token_hash: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Default, Queryable, Selectable)]
#[diesel(table_name = objects)]
pub struct Object {
    pub id: i64,
    pub ap_id: String,
    pub kind: String,
    pub ap_type: String,
    pub author_id: i64,
    pub in_reply_to: Option<String>,
    pub visibility: String,
    pub title: String,
    pub summary: String,
    pub content_html: String,
    pub source: Option<String>,
    pub slug: Option<String>,
    pub image_url: Option<String>,
    pub image_alt: Option<String>,
    pub url: Option<String>,
    pub local: bool,
    pub published_at: Option<NaiveDateTime>,
    pub updated_at: Option<NaiveDateTime>,
    pub deleted_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    /// `draft` or `published` (published with a future `published_at` is scheduled).
    pub status: String,
}

#[derive(Debug, Clone, Insertable, Default)]
#[diesel(table_name = objects)]
pub struct NewObject {
    pub ap_id: String,
    pub kind: String,
    pub ap_type: String,
    pub author_id: i64,
    pub in_reply_to: Option<String>,
    pub visibility: String,
    pub title: String,
    pub summary: String,
    pub content_html: String,
    pub source: Option<String>,
    pub slug: Option<String>,
    pub image_url: Option<String>,
    pub image_alt: Option<String>,
    pub url: Option<String>,
    pub local: bool,
    pub published_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    /// None: the column default (`published`).
    pub status: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = follows)]
pub struct Follow {
    pub id: i64,
    pub follower_id: i64,
    pub followed_id: i64,
    pub state: String,
    pub ap_id: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = outgoing_events)]
pub struct OutgoingEvent {
    pub id: i64,
    pub kind: String,
    pub subject_id: i64,
    pub detail: String,
    pub created_at: NaiveDateTime,
    pub claimed_until: Option<NaiveDateTime>,
    pub processed_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxItem {
    pub id: i64,
    pub ap_id: String,
    pub actor_id: i64,
    pub kind: String,
    pub object_id: Option<i64>,
    pub json: String,
    pub public: bool,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = deliveries)]
pub struct Delivery {
    pub id: i64,
    pub outbox_id: i64,
    pub inbox: String,
    pub host: String,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub claimed_until: Option<NaiveDateTime>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = domain_blocks)]
pub struct DomainBlock {
    pub id: i64,
    pub domain: String,
    pub mode: String,
    pub reason: String,
    pub created_at: NaiveDateTime,
}
