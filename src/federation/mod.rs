//! ActivityPub: discovery (WebFinger, NodeInfo), our actors and collections,
//! the inbox (verify -> handler -> service), and the workers that turn
//! outgoing events into activities and deliver them from the durable queue.
//! See docs/federation.md for everything we send and accept.

pub mod activities;
pub mod actors;
pub mod audience;
pub mod delivery;
pub mod fetch;
pub mod inbox;
pub mod json;
pub mod limits;
pub mod objects;
pub mod outbox;
pub mod routes;
pub mod signatures;

pub use actors::remote::{actor_row, web_link};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::db::models::{Actor, ActorRow};
use crate::service::moderation::{self, DomainPolicy};
use crate::service::{coop, remote, Ctx, ServiceError};
use actors::remote::RemoteActor;
use fetch::{FetchError, Fetched, Fetcher};
use signatures::{PrivateKey, PublicKey, RequestParts, SigError, SignedBy};

/// How long a key refetched on a failed signature is not refetched again.
const KEY_REFRESH_EVERY: std::time::Duration = std::time::Duration::from_secs(300);
/// How long a failed fetch is answered from memory instead of tried again.
const FAILED_FETCH_TTL: std::time::Duration = std::time::Duration::from_secs(180);
/// Fetches that inbox and signed-GET verification may run at once; past
/// this, requests needing one get 503 with Retry-After.
pub const MAX_VERIFY_FETCHES: usize = 16;

/// Shared state of the federation side: the HTTP client and parsed keys.
pub struct Federation {
    pub ctx: Ctx,
    pub fetcher: Fetcher,
    /// Remote public keys by key id, parsed once: (key, owner actor row id).
    public_keys: Mutex<HashMap<String, (PublicKey, Actor)>>,
    /// Local actors' signing keys by actor row id.
    private_keys: Mutex<HashMap<i64, Arc<PrivateKey>>>,
    instance_signer: Mutex<Option<Arc<(PrivateKey, String)>>>,
    /// Signatures already accepted: the same signature twice is a replay (a
    /// peer's retry signs anew), refused even inside the Date window.
    replays: limits::ReplayCache,
    /// Verified inbox requests per remote actor and per remote domain.
    pub actor_rates: limits::RateLimiter,
    pub domain_rates: limits::RateLimiter,
    /// The anonymous "follow from your account" form, per client address.
    pub follow_form_rates: limits::RateLimiter,
    /// Key ids refetched recently because a signature failed.
    refreshed_keys: limits::Recent<()>,
    /// URLs whose fetch failed recently, with the reason.
    failed_fetches: limits::Recent<String>,
    /// Keys fetched but not yet verified (not stored): a flood of forged
    /// requests naming one keyId fetches it once, not once each.
    fetched_keys: limits::Recent<(PublicKey, ActorRow)>,
    fetch_slots: tokio::sync::Semaphore,
    /// Verified activities being processed: each runs to its end even when
    /// its request is dropped, and a shutdown waits for them.
    pub inbox_tasks: tokio_util::task::TaskTracker,
}

#[derive(Debug, thiserror::Error)]
pub enum FedError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("invalid remote document: {0}")]
    Invalid(String),
    #[error("too many remote fetches at once")]
    Busy,
    #[error("this server does not federate with {0}")]
    Blocked(String),
}

impl FedError {
    /// The error for a person: what failed, without client internals
    /// (connection errors, parser positions), which are logged instead.
    pub fn for_people(&self) -> String {
        match self {
            FedError::Fetch(f) => f.public_message().to_string(),
            FedError::Service(_) => "this server hit an error".into(),
            FedError::Invalid(why) => why.clone(),
            FedError::Busy => "too many lookups at once; try again in a minute".into(),
            FedError::Blocked(d) => format!("{d} is blocked or not on the allow-list"),
        }
    }
}

/// A signer's key as found: from our store, or fetched and checked but not
/// stored yet (it is stored only once the request it signed verifies, so a
/// rejected request leaves no actor row behind).
pub struct FoundKey {
    pub key: PublicKey,
    pub actor: FoundActor,
}

pub enum FoundActor {
    Stored(Actor),
    Fetched(ActorRow),
}

impl FoundActor {
    pub fn ap_id(&self) -> &str {
        match self {
            FoundActor::Stored(a) => &a.ap_id,
            FoundActor::Fetched(r) => &r.ap_id,
        }
    }
}

/// Why a signed request was not authenticated: the status to answer, what
/// to tell the peer, and what to log (which may name network causes the
/// peer must not learn).
#[derive(Debug)]
pub struct AuthError {
    pub status: axum::http::StatusCode,
    pub message: String,
    pub detail: String,
}

impl AuthError {
    fn unauthorized(message: impl Into<String>) -> AuthError {
        let message = message.into();
        AuthError {
            status: axum::http::StatusCode::UNAUTHORIZED,
            detail: message.clone(),
            message,
        }
    }

    fn from_key(key_id: &str, e: FedError) -> AuthError {
        use axum::http::StatusCode;
        let short: String = key_id.chars().take(300).collect();
        match e {
            FedError::Busy => AuthError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                message: "Too many key lookups in progress; retry in a minute.".into(),
                detail: format!("fetch slots full for {short}"),
            },
            FedError::Blocked(d) => AuthError {
                status: StatusCode::FORBIDDEN,
                message: "This server does not federate with yours.".into(),
                detail: format!("blocked domain {d}"),
            },
            FedError::Fetch(f) => AuthError {
                status: StatusCode::UNAUTHORIZED,
                message: format!("Cannot get the key {short}: {}.", f.public_message()),
                detail: format!("key {short}: {f}"),
            },
            FedError::Service(s) => AuthError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                message: "The key could not be looked up; retry later.".into(),
                detail: format!("key {short}: {s}"),
            },
            FedError::Invalid(why) => AuthError {
                status: StatusCode::UNAUTHORIZED,
                message: format!("Cannot use the key {short}: {why}"),
                detail: format!("key {short}: {why}"),
            },
        }
    }
}

impl From<crate::db::DbError> for FedError {
    fn from(e: crate::db::DbError) -> Self {
        FedError::Service(e.into())
    }
}

impl Federation {
    pub fn new(ctx: Ctx) -> Arc<Federation> {
        let config = ctx.config.clone();
        Arc::new(Federation {
            fetcher: Fetcher::new(config.local_mode(), &config.domain()),
            ctx,
            public_keys: Mutex::new(HashMap::new()),
            private_keys: Mutex::new(HashMap::new()),
            instance_signer: Mutex::new(None),
            replays: limits::ReplayCache::new(signatures::MAX_AGE_SECS + signatures::MAX_SKEW_SECS, 200_000),
            actor_rates: limits::RateLimiter::new(100_000),
            domain_rates: limits::RateLimiter::new(100_000),
            follow_form_rates: limits::RateLimiter::new(100_000),
            refreshed_keys: limits::Recent::new(KEY_REFRESH_EVERY, 50_000),
            failed_fetches: limits::Recent::new(FAILED_FETCH_TTL, 50_000),
            fetched_keys: limits::Recent::new(FAILED_FETCH_TTL, 10_000),
            fetch_slots: tokio::sync::Semaphore::new(MAX_VERIFY_FETCHES),
            inbox_tasks: tokio_util::task::TaskTracker::new(),
        })
    }

    /// The instance actor's key: our fetches are always signed with it, so
    /// servers with authorized fetch answer us. None before setup.
    async fn instance_signer(&self) -> Option<Arc<(PrivateKey, String)>> {
        if let Some(s) = self.instance_signer.lock().expect("signer").clone() {
            return Some(s);
        }
        let inst = coop::get_instance(&self.ctx).await.ok()?;
        let mut conn = self.ctx.db.conn().await.ok()?;
        let actor = crate::db::queries::actors::find(&mut conn, inst.instance_actor_id?)
            .await
            .ok()??;
        let key = PrivateKey::from_pem(actor.private_key_pem.as_deref()?).ok()?;
        let signer = Arc::new((key, actor.public_key_id?));
        *self.instance_signer.lock().expect("signer") = Some(signer.clone());
        Some(signer)
    }

    /// A signed GET of an ActivityPub document, with where it was finally served from.
    pub async fn get(&self, url: &str) -> Result<Fetched, FetchError> {
        let signer = self.instance_signer().await;
        self.fetcher
            .get(url, signer.as_deref(), fetch::Expect::ActivityJson)
            .await
    }

    /// A fetch made to verify a request: refused while the same URL failed
    /// recently, and only [`MAX_VERIFY_FETCHES`] at once.
    async fn get_for_verification(&self, url: &str) -> Result<Fetched, FedError> {
        if let Some(why) = self.failed_fetches.get(url) {
            return Err(FedError::Invalid(format!("{why} (it failed moments ago)")));
        }
        let _slot = self.fetch_slots.try_acquire().map_err(|_| FedError::Busy)?;
        match self.get(url).await {
            Ok(f) => Ok(f),
            Err(e) => {
                tracing::info!(%url, error = %e, "fetch for verification failed");
                self.failed_fetches.insert(url, e.public_message().to_string());
                Err(e.into())
            }
        }
    }

    /// The current domain policy (blocks, allow-list): every inbox POST
    /// and delivery consults it, so it is read again at most once a second.
    pub async fn policy(&self) -> Result<Arc<DomainPolicy>, ServiceError> {
        moderation::policy(&self.ctx).await
    }

    /// The signing key of a local actor.
    pub async fn private_key(&self, actor_id: i64) -> Result<Arc<PrivateKey>, FedError> {
        if let Some(k) = self.private_keys.lock().expect("key cache").get(&actor_id) {
            return Ok(k.clone());
        }
        let mut conn = self.ctx.db.conn().await?;
        let actor = crate::db::queries::actors::find(&mut conn, actor_id)
            .await?
            .ok_or_else(|| FedError::Invalid(format!("no actor {actor_id}")))?;
        let pem = actor
            .private_key_pem
            .ok_or_else(|| FedError::Invalid(format!("actor {actor_id} has no private key")))?;
        let key = Arc::new(PrivateKey::from_pem(&pem).map_err(|e| FedError::Invalid(e.to_string()))?);
        self.private_keys
            .lock()
            .expect("key cache")
            .insert(actor_id, key.clone());
        Ok(key)
    }

    fn cached_key(&self, key_id: &str) -> Option<(PublicKey, Actor)> {
        self.public_keys.lock().expect("key cache").get(key_id).cloned()
    }

    fn cache_key(&self, key_id: &str, key: PublicKey, actor: Actor) {
        let mut cache = self.public_keys.lock().expect("key cache");
        // A bound, so that a flood of new signers cannot grow it without limit.
        if cache.len() > 50_000 {
            cache.clear();
        }
        cache.insert(key_id.to_string(), (key, actor));
    }

    /// The key for a key id: from memory, the database, or fetched from the
    /// signer's server. `refresh` skips the caches (the signer may have
    /// rotated its key); it happens at most once per key per few minutes.
    ///
    /// A fetched key is trusted only when: each document's `id` is the URL
    /// it was finally served from (or on that origin, with no cross-origin
    /// redirect); a key document's `owner` is on the key's origin (checked
    /// before the owner is fetched); the actor is on the key's origin and
    /// lists this key id; and the answers were ActivityPub JSON.
    pub async fn public_key(&self, key_id: &str, refresh: bool) -> Result<FoundKey, FedError> {
        let key_url =
            url::Url::parse(key_id).map_err(|_| FedError::Invalid("the key id is not a URL".into()))?;
        if !self.policy().await?.allows_url(key_id) {
            return Err(FedError::Blocked(key_url.host_str().unwrap_or("").to_string()));
        }
        if !refresh {
            if let Some((key, actor)) = self.cached_key(key_id) {
                return Ok(FoundKey {
                    key,
                    actor: FoundActor::Stored(actor),
                });
            }
            if let Some(actor) = remote::find_actor_by_key(&self.ctx, key_id).await? {
                if let Some(pem) = &actor.public_key_pem {
                    let key = PublicKey::from_pem(pem).map_err(|e| FedError::Invalid(e.to_string()))?;
                    self.cache_key(key_id, key.clone(), actor.clone());
                    return Ok(FoundKey {
                        key,
                        actor: FoundActor::Stored(actor),
                    });
                }
            }
            if let Some((key, row)) = self.fetched_keys.get(key_id) {
                return Ok(FoundKey {
                    key,
                    actor: FoundActor::Fetched(row),
                });
            }
        } else {
            if self.refreshed_keys.get(key_id).is_some() {
                return Err(FedError::Invalid(
                    "the key was refetched moments ago and still does not verify".into(),
                ));
            }
            self.refreshed_keys.insert(key_id, ());
        }
        let mut doc_url = key_url.clone();
        doc_url.set_fragment(None);
        let fetched = self.get_for_verification(doc_url.as_str()).await?;
        // Mastodon-style key ids point into the actor document; others point
        // at a key object whose owner is the actor.
        let actor_doc = if fetched.doc.get("inbox").is_some() {
            fetched
        } else if let Some(owner) = fetched.doc.get("owner").and_then(|o| o.as_str()) {
            let id = fetched.doc.get("id").and_then(|v| v.as_str()).unwrap_or("");
            if id.is_empty() {
                return Err(FedError::Invalid("the key document has no id".into()));
            }
            check_identity(id, &fetched)?;
            if id.split('#').next() != key_id.split('#').next() {
                return Err(FedError::Invalid(format!(
                    "the key document is {id}, not {key_id}"
                )));
            }
            if json::origin(owner) != json::origin(key_id) {
                return Err(FedError::Invalid(format!(
                    "the key's owner {owner} is on another server than the key"
                )));
            }
            self.get_for_verification(owner).await?
        } else {
            return Err(FedError::Invalid(format!(
                "{key_id} is neither an actor nor a key with an owner"
            )));
        };
        let (parsed, actor_doc) = self.canonical_actor(actor_doc, true).await?;
        if json::origin(&parsed.id) != json::origin(key_id) {
            return Err(FedError::Invalid(format!(
                "the actor {} is on another server than its key",
                parsed.id
            )));
        }
        let row = actor_row(&parsed, actor_doc.final_url.as_str(), Some(key_id))?;
        self.refuse_own_ids(&row)?;
        let key = PublicKey::from_pem(row.public_key_pem.as_deref().unwrap_or_default())
            .map_err(|e| FedError::Invalid(e.to_string()))?;
        self.fetched_keys.insert(key_id, (key.clone(), row.clone()));
        Ok(FoundKey {
            key,
            actor: FoundActor::Fetched(row),
        })
    }

    /// Stores the signer of a request that verified, and caches its key.
    pub async fn accept_key(&self, key_id: &str, found: FoundKey) -> Result<Actor, FedError> {
        match found.actor {
            // `public_key` cached it when it found it.
            FoundActor::Stored(a) => Ok(a),
            FoundActor::Fetched(row) => {
                self.fetched_keys.remove(key_id);
                let actor = remote::save_actor(&self.ctx, &row).await?;
                self.forget_actor(actor.id);
                self.cache_key(key_id, found.key, actor.clone());
                Ok(actor)
            }
        }
    }

    /// Authenticates a signed request: finds the key (refetched once on a
    /// bad signature, for key rotation), verifies, refuses a reused
    /// signature, and only then stores a newly fetched signer. With
    /// `expected_actor`, the key must belong to that actor.
    pub async fn authenticate(
        &self,
        parts: &RequestParts<'_>,
        claimed: &SignedBy,
        expected_actor: Option<&str>,
    ) -> Result<Actor, AuthError> {
        let key_id = claimed.key_id.as_str();
        let now = chrono::Utc::now().timestamp();
        let check_owner = |found: &FoundKey| match expected_actor {
            Some(expected) if found.actor.ap_id() != expected => Err(AuthError::unauthorized(format!(
                "Signed by {} but the activity's actor is {expected}.",
                found.actor.ap_id()
            ))),
            _ => Ok(()),
        };
        let found = self
            .public_key(key_id, false)
            .await
            .map_err(|e| AuthError::from_key(key_id, e))?;
        check_owner(&found)?;
        let (verified, found) = match signatures::verify(parts, &found.key, now) {
            Ok(v) => (v, found),
            Err(SigError::BadSignature) if matches!(found.actor, FoundActor::Stored(_)) => {
                let fresh = self
                    .public_key(key_id, true)
                    .await
                    .map_err(|e| AuthError::from_key(key_id, e))?;
                check_owner(&fresh)?;
                let v = signatures::verify(parts, &fresh.key, now)
                    .map_err(|e| AuthError::unauthorized(format!("{e}.")))?;
                (v, fresh)
            }
            Err(e) => return Err(AuthError::unauthorized(format!("{e}."))),
        };
        if !self.replays.first_use(key_id, &verified.signature, now) {
            return Err(AuthError::unauthorized(
                "This signature was already used (a replay); sign each request anew.",
            ));
        }
        self.accept_key(key_id, found)
            .await
            .map_err(|e| AuthError::from_key(key_id, e))
    }

    /// Fetches (or refreshes) a remote actor by its id.
    pub async fn fetch_actor(&self, ap_id: &str) -> Result<Actor, FedError> {
        let fetched = self.get(ap_id).await?;
        let (parsed, fetched) = self.canonical_actor(fetched, false).await?;
        let row = actor_row(&parsed, fetched.final_url.as_str(), None)?;
        self.store_actor_row(row).await
    }

    /// The actor document as its own URL serves it. A document that names
    /// another id on the same server (no cross-origin redirect) is not taken
    /// at its word: that id is fetched, and must serve itself. Otherwise a
    /// user-uploaded file on a server could speak for any of its accounts
    /// (Mastodon's `fetch_resource` does the same).
    async fn canonical_actor(
        &self,
        fetched: Fetched,
        for_verification: bool,
    ) -> Result<(RemoteActor, Fetched), FedError> {
        let parse = |f: &Fetched| -> Result<RemoteActor, FedError> {
            serde_json::from_value(f.doc.clone())
                .map_err(|e| FedError::Invalid(format!("actor document: {e}")))
        };
        let parsed = parse(&fetched)?;
        check_identity(&parsed.id, &fetched)?;
        if same_document(&parsed.id, &fetched.final_url) {
            return Ok((parsed, fetched));
        }
        let again = if for_verification {
            self.get_for_verification(&parsed.id).await?
        } else {
            self.get(&parsed.id).await?
        };
        let again_parsed = parse(&again)?;
        if again_parsed.id != parsed.id || !same_document(&again_parsed.id, &again.final_url) {
            return Err(FedError::Invalid(format!(
                "{} does not serve itself (it answers as {} from {})",
                parsed.id, again_parsed.id, again.final_url
            )));
        }
        Ok((again_parsed, again))
    }

    /// The WebFinger document of `user@domain` (https, or http in local mode).
    pub async fn webfinger(&self, user: &str, domain: &str) -> Result<serde_json::Value, FetchError> {
        let scheme = if self.fetcher.allow_private() {
            "http"
        } else {
            "https"
        };
        let url = format!("{scheme}://{domain}/.well-known/webfinger?resource=acct:{user}@{domain}");
        Ok(self.fetcher.get(&url, None, fetch::Expect::Json).await?.doc)
    }

    /// The actor id behind `@user@domain`: WebFinger's `self` link.
    pub async fn resolve_account(&self, user: &str, domain: &str) -> Result<String, FedError> {
        let jrd = self.webfinger(user, domain).await?;
        jrd.get("links")
            .and_then(|l| l.as_array())
            .and_then(|links| {
                links.iter().find_map(|l| {
                    let rel = l.get("rel").and_then(|v| v.as_str());
                    let kind = l.get("type").and_then(|v| v.as_str()).unwrap_or("");
                    (rel == Some("self") && (fetch::is_activity_json(kind) || kind.contains("activity+json")))
                        .then(|| l.get("href").and_then(|h| h.as_str()).map(String::from))
                        .flatten()
                })
            })
            .ok_or_else(|| FedError::Invalid(format!("{user}@{domain} has no ActivityPub actor")))
    }

    /// Used by the web page's "Follow from your fediverse account": looks up the
    /// visitor's server with WebFinger and returns its subscribe template filled
    /// with our actor.
    pub async fn remote_follow_url(&self, handle: &str, actor_id: &str) -> Result<String, String> {
        let Some((user, domain)) = crate::service::types::parse_account(handle) else {
            return Err(
                "Enter your fediverse address, such as @you@mastodon.social, or the link to your profile."
                    .to_string(),
            );
        };
        let handle = format!("{user}@{domain}");
        // One answer for every failure (unreachable, refused, not JSON, no
        // template): this form is anonymous, and must not tell a visitor which
        // hosts and ports answer.
        let not_found = || {
            format!(
                "Could not find a follow page for {handle}: the server did not answer, or does not offer following from a link. Check the address, or search for the co-op's address from your own app."
            )
        };
        let jrd = match self.webfinger(&user, &domain).await {
            Ok(jrd) => jrd,
            Err(e) => {
                tracing::info!(%handle, error = %e, "remote follow: WebFinger lookup failed");
                return Err(not_found());
            }
        };
        let template = jrd
            .get("links")
            .and_then(|l| l.as_array())
            .and_then(|links| {
                links.iter().find_map(|l| {
                    (l.get("rel").and_then(serde_json::Value::as_str)
                        == Some("http://ostatus.org/schema/1.0/subscribe"))
                    .then(|| {
                        l.get("template")
                            .and_then(serde_json::Value::as_str)
                            .map(String::from)
                    })
                    .flatten()
                })
            })
            .ok_or_else(not_found)?;
        let target = template.replace("{uri}", &crate::service::text::percent_encode(actor_id));
        match url::Url::parse(&target) {
            Ok(u) if u.scheme() == "https" || (u.scheme() == "http" && self.fetcher.allow_private()) => {
                Ok(u.to_string())
            }
            _ => Err(not_found()),
        }
    }

    /// Stores an actor document that arrived inside a verified activity
    /// (Update of the signer itself).
    /// An actor's document sent in an `Update`: stored through the
    /// handler's `ctx`, so that the write logs the activity's id (a late
    /// copy of an older Update must not roll the profile or key back).
    pub async fn save_actor_doc(
        &self,
        ctx: &Ctx,
        doc: &RemoteActor,
        fetched_from: &str,
    ) -> Result<Actor, FedError> {
        let row = actor_row(doc, fetched_from, None)?;
        self.store_actor_row_in(ctx, row).await
    }

    fn refuse_own_ids(&self, row: &ActorRow) -> Result<(), FedError> {
        if json::origin(&row.ap_id) == json::origin(&self.ctx.config.url("/")) {
            return Err(FedError::Invalid(
                "a remote document claims one of our own ids".into(),
            ));
        }
        Ok(())
    }

    async fn store_actor_row(&self, row: ActorRow) -> Result<Actor, FedError> {
        self.store_actor_row_in(&self.ctx, row).await
    }

    async fn store_actor_row_in(&self, ctx: &Ctx, row: ActorRow) -> Result<Actor, FedError> {
        self.refuse_own_ids(&row)?;
        let actor = remote::save_actor(ctx, &row).await?;
        // A refreshed profile replaces what the key cache holds for it.
        self.forget_actor(actor.id);
        Ok(actor)
    }

    /// Drops a deleted actor from the key cache.
    pub fn forget_actor(&self, actor_id: i64) {
        self.public_keys
            .lock()
            .expect("key cache")
            .retain(|_, (_, a)| a.id != actor_id);
    }
}

/// Whether a fetched document may be the object it says it is: its id is the
/// URL it was finally served from, or on that origin when no redirect crossed
/// origins. An open redirect or a user-uploaded file on one server must not
/// let it speak for another.
pub fn check_identity(claimed_id: &str, fetched: &Fetched) -> Result<(), FedError> {
    let claimed = url::Url::parse(claimed_id).map_err(|_| {
        FedError::Invalid(if claimed_id.is_empty() {
            "the document has no id".into()
        } else {
            "the document's id is not a URL".into()
        })
    })?;
    let strip = |u: &url::Url| {
        let mut u = u.clone();
        u.set_fragment(None);
        u
    };
    if strip(&claimed) == strip(&fetched.final_url)
        || (!fetched.cross_origin && claimed.origin() == fetched.final_url.origin())
    {
        return Ok(());
    }
    Err(FedError::Invalid(format!(
        "the document says it is {claimed_id} but was served from {}",
        fetched.final_url
    )))
}

/// Whether an id names the URL a document came from (fragments aside).
fn same_document(id: &str, url: &url::Url) -> bool {
    let Ok(mut id) = url::Url::parse(id) else {
        return false;
    };
    let mut url = url.clone();
    id.set_fragment(None);
    url.set_fragment(None);
    id == url
}
