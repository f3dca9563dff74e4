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
    pub require_admin_totp: bool,
}

#[derive(Debug, Clone, Default, Queryable, Selectable)]
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
    pub manually_approves_followers: bool,
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
    /// Their own Person actor, made on first need.
    pub actor_id: Option<i64>,
    /// Takes direct messages from other servers (and is findable for them).
    pub open_to_messages: bool,
    /// Base32, from enrolment on; it counts once `totp_enabled`.
    pub totp_secret: Option<String>,
    pub totp_enabled: bool,
    /// The last 30-second step whose code was used: each code works once.
    pub totp_last_step: Option<i64>,
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
    /// Hidden by a moderator: not served, listed or counted.
    pub hidden_at: Option<NaiveDateTime>,
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
    /// The channel this copy of the event is for (`service::events::Consumer`).
    pub consumer: String,
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

/// States of a follow row. The text stored for each is written here only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowState {
    /// Asked, not yet accepted (our Follow awaiting its Accept, or a
    /// remote Follow awaiting an admin's approval).
    Pending,
    Accepted,
}

impl FollowState {
    pub fn as_str(self) -> &'static str {
        match self {
            FollowState::Pending => "pending",
            FollowState::Accepted => "accepted",
        }
    }

    pub fn from_db(raw: &str) -> FollowState {
        if raw == "accepted" {
            FollowState::Accepted
        } else {
            FollowState::Pending
        }
    }
}

impl Follow {
    pub fn state(&self) -> FollowState {
        FollowState::from_db(&self.state)
    }
}

/// States of a delivery row. The text stored for each is written here only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Delivered,
    Failed,
    Cancelled,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 4] = [
        DeliveryState::Delivered,
        DeliveryState::Pending,
        DeliveryState::Failed,
        DeliveryState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
            DeliveryState::Cancelled => "cancelled",
        }
    }

    pub fn from_db(raw: &str) -> DeliveryState {
        DeliveryState::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .unwrap_or(DeliveryState::Failed)
    }
}

impl Delivery {
    pub fn state(&self) -> DeliveryState {
        DeliveryState::from_db(&self.state)
    }
}

/// Kinds of reaction rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReactionKind {
    Like,
    Announce,
}

impl ReactionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReactionKind::Like => "like",
            ReactionKind::Announce => "announce",
        }
    }
}

/// What an object is here, stored in `objects.kind`. Every module that
/// builds, serves or lists objects matches on it, so a new content type
/// is a new variant and the compiler lists the places to fill in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentKind {
    /// A co-op's news (ours, or another co-op's Article).
    News,
    /// A co-op's event (an `Event`), with its row in `events`.
    Event,
    /// A co-op's poll (a `Question`), with its rows in `polls` and `poll_options`.
    Poll,
    /// A post or reply from another server, or a local user's reply.
    Note,
    /// A forum thread (a `Page`, Lemmy's shape), ours or another server's,
    /// with its row in `threads`.
    Thread,
}

impl ContentKind {
    pub const ALL: [ContentKind; 5] = [
        ContentKind::News,
        ContentKind::Event,
        ContentKind::Poll,
        ContentKind::Note,
        ContentKind::Thread,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            ContentKind::News => "news",
            ContentKind::Event => "event",
            ContentKind::Poll => "poll",
            ContentKind::Note => "note",
            ContentKind::Thread => "thread",
        }
    }

    pub fn from_db(raw: &str) -> ContentKind {
        match raw {
            "news" => ContentKind::News,
            "event" => ContentKind::Event,
            "poll" => ContentKind::Poll,
            "thread" => ContentKind::Thread,
            _ => ContentKind::Note,
        }
    }

    /// Where the co-op's objects of this kind live: `/{path}/{slug}`.
    pub const fn path(self) -> &'static str {
        match self {
            ContentKind::News => "news",
            ContentKind::Event => "events",
            ContentKind::Poll => "polls",
            ContentKind::Note => "notes",
            ContentKind::Thread => "threads",
        }
    }
}

/// Who may see an object. Stored in `objects.visibility` by these names;
/// `federation::audience` turns it into addressing and inboxes, and every
/// list, page and collection reads it before showing an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Visibility {
    /// Everyone; listed on pages, feeds and the outbox.
    #[default]
    Public,
    /// Everyone with the link; not listed (Mastodon's "quiet public").
    Unlisted,
    /// The author's followers.
    Followers,
    /// The co-op's members only.
    Members,
    /// The people it mentions.
    Direct,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Unlisted => "unlisted",
            Visibility::Followers => "followers",
            Visibility::Members => "members",
            Visibility::Direct => "direct",
        }
    }

    /// By name (empty is public); None for an unknown name.
    pub fn from_name(raw: &str) -> Option<Visibility> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "" | "public" => Some(Visibility::Public),
            "unlisted" => Some(Visibility::Unlisted),
            "followers" => Some(Visibility::Followers),
            "members" => Some(Visibility::Members),
            "direct" => Some(Visibility::Direct),
            _ => None,
        }
    }

    /// Read back from the database; an unknown value shows the least.
    pub fn from_db(raw: &str) -> Visibility {
        Visibility::from_name(raw).unwrap_or(Visibility::Direct)
    }

    /// Readable without logging in or signing a fetch.
    pub fn is_open(self) -> bool {
        matches!(self, Visibility::Public | Visibility::Unlisted)
    }

    /// Shown in public lists: home, archive, feeds, outbox, counts.
    pub fn is_listed(self) -> bool {
        self == Visibility::Public
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Default)]
#[diesel(table_name = events, treat_none_as_null = true)]
pub struct EventRow {
    pub object_id: i64,
    pub starts_at: NaiveDateTime,
    pub ends_at: Option<NaiveDateTime>,
    pub timezone: String,
    pub location_name: Option<String>,
    pub address: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub online_url: Option<String>,
    pub capacity: Option<i64>,
    pub join_mode: String,
    pub category: Option<String>,
    pub comments_enabled: bool,
    pub cancelled_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = participations)]
pub struct Participation {
    pub id: i64,
    pub object_id: i64,
    pub actor_id: i64,
    pub ap_id: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = polls)]
pub struct PollRow {
    pub object_id: i64,
    pub multiple: bool,
    pub closes_at: NaiveDateTime,
    /// Open only to active members of the register, one vote each.
    pub ballot: bool,
    /// Who voted is kept apart from what was voted (ballots only).
    pub secret: bool,
    pub quorum: Option<i64>,
    pub opens_at: Option<NaiveDateTime>,
    /// Eligible members, counted when the ballot closed.
    pub eligible: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = poll_options)]
pub struct PollOption {
    pub id: i64,
    pub object_id: i64,
    pub position: i64,
    pub name: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = media)]
pub struct MediaRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub token: String,
    pub user_id: Option<i64>,
    pub media_type: String,
    pub width: i64,
    pub height: i64,
    pub thumb_width: i64,
    pub thumb_height: i64,
    pub alt: String,
    pub blurhash: Option<String>,
    pub bytes: i64,
    pub created_at: NaiveDateTime,
}

/// A forum: ours, or another server's group a member subscribed to. Its
/// name, description, keys and handle are on its `actors` row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = forums)]
pub struct ForumRow {
    pub actor_id: i64,
    pub visibility: String,
    pub posting_restricted: bool,
    pub subscribed_by: Option<i64>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = threads)]
pub struct ThreadRow {
    pub object_id: i64,
    pub forum_id: i64,
    pub locked: bool,
    pub pinned: bool,
    pub last_activity_at: NaiveDateTime,
}

/// A member in the register (with or without an account here).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = members)]
pub struct Member {
    pub id: i64,
    pub name: String,
    pub member_number: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub joined_on: Option<String>,
    pub status: String,
    pub role: String,
    pub groups: String,
    pub notes: String,
    pub user_id: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// What they show in the members' directory (comma-separated fields).
    pub directory: String,
}

/// A fediverse account a member linked to their record; it counts once
/// `verified_at` is set (the member proved they control it).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = member_accounts)]
pub struct MemberAccount {
    pub id: i64,
    pub member_id: i64,
    pub actor_id: i64,
    pub code_hash: Option<String>,
    pub code_expires_at: Option<NaiveDateTime>,
    pub attempts: i64,
    pub verified_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

/// A member's fields as stored, whole (a new record, or a changed one).
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = members, treat_none_as_null = true)]
pub struct MemberFields {
    pub name: String,
    pub member_number: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub joined_on: Option<String>,
    pub status: String,
    pub role: String,
    pub groups: String,
    pub notes: String,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = crate::db::schema::surveys)]
pub struct Survey {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub audience: String,
    #[serde(skip)]
    pub link_token: Option<String>,
    pub opens_at: NaiveDateTime,
    pub closes_at: NaiveDateTime,
    #[serde(skip)]
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = crate::db::schema::survey_questions)]
pub struct SurveyQuestion {
    pub id: i64,
    #[serde(skip)]
    pub survey_id: i64,
    pub position: i64,
    pub kind: String,
    pub prompt: String,
    pub required: bool,
    #[serde(skip)]
    pub options: String,
}

impl SurveyQuestion {
    /// The choices of a single or multiple choice question, in order.
    pub fn choices(&self) -> Vec<&str> {
        self.options.lines().filter(|l| !l.trim().is_empty()).collect()
    }
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = crate::db::schema::newsletters)]
pub struct Newsletter {
    pub id: i64,
    pub object_id: i64,
    pub audience: String,
    pub status: String,
    pub subject: String,
    #[serde(skip)]
    pub body_text: String,
    #[serde(skip)]
    pub body_html: String,
    pub recipients: i64,
    #[serde(skip)]
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub queued_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = crate::db::schema::mail_queue)]
pub struct QueuedMail {
    pub id: i64,
    pub kind: String,
    pub to_addr: String,
    pub subject: String,
    pub body_text: String,
    pub newsletter_id: Option<i64>,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: NaiveDateTime,
    pub leased_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
}
