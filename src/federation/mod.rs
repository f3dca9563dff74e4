//! ActivityPub: discovery (WebFinger, NodeInfo), our actors and collections,
//! the inbox (verify -> handler -> service), and the workers that turn
//! outgoing events into activities and deliver them from the durable queue.
//! See docs/federation.md for everything we send and accept.

pub mod delivery;
pub mod fetch;
pub mod inbox;
pub mod json;
pub mod outbox;
pub mod routes;
pub mod signatures;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::db::models::{Actor, ActorRow};
use crate::db::now;
use crate::service::moderation::{self, DomainPolicy};
use crate::service::{coop, remote, Ctx, ServiceError};
use fetch::{FetchError, Fetcher};
use signatures::{PrivateKey, PublicKey};

/// Shared state of the federation side: the HTTP client and parsed keys.
pub struct Federation {
    pub ctx: Ctx,
    pub fetcher: Fetcher,
    /// Remote public keys by key id, parsed once: (key, owner actor row id).
    public_keys: Mutex<HashMap<String, (PublicKey, Actor)>>,
    /// Local actors' signing keys by actor row id.
    private_keys: Mutex<HashMap<i64, Arc<PrivateKey>>>,
    instance_signer: Mutex<Option<Arc<(PrivateKey, String)>>>,
    /// Signatures already accepted, with when: the same signature twice is a
    /// replay (a peer's retry signs anew), refused even inside the Date window.
    seen_signatures: Mutex<HashMap<String, i64>>,
    /// Domain rules, re-read at most once a second: every inbox POST and
    /// delivery consults them.
    policy: Mutex<Option<(std::time::Instant, Arc<DomainPolicy>)>>,
}

#[derive(Debug, thiserror::Error)]
pub enum FedError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("invalid remote document: {0}")]
    Invalid(String),
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
            seen_signatures: Mutex::new(HashMap::new()),
            policy: Mutex::new(None),
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

    /// A signed GET of an ActivityPub document.
    pub async fn get(&self, url: &str) -> Result<serde_json::Value, FetchError> {
        let signer = self.instance_signer().await;
        self.fetcher.get_json(url, signer.as_deref()).await
    }

    /// The current domain policy (blocks, allow-list), cached for a second.
    pub async fn policy(&self) -> Result<Arc<DomainPolicy>, ServiceError> {
        if let Some((at, p)) = self.policy.lock().expect("policy cache").as_ref() {
            if at.elapsed() < std::time::Duration::from_secs(1) {
                return Ok(p.clone());
            }
        }
        let fresh = Arc::new(moderation::policy(&self.ctx).await?);
        *self.policy.lock().expect("policy cache") = Some((std::time::Instant::now(), fresh.clone()));
        Ok(fresh)
    }

    /// Remembers a verified signature; false if it was already used.
    pub fn first_use_of_signature(&self, signature: &str, now: i64) -> bool {
        let mut seen = self.seen_signatures.lock().expect("signature cache");
        if seen.len() > 100_000 {
            seen.retain(|_, at| *at > now - signatures::MAX_AGE_SECS);
        }
        seen.insert(signature.to_string(), now).is_none()
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
    /// rotated its key).
    pub async fn public_key(&self, key_id: &str, refresh: bool) -> Result<(PublicKey, Actor), FedError> {
        if !refresh {
            if let Some(found) = self.cached_key(key_id) {
                return Ok(found);
            }
            if let Some(actor) = remote::find_actor_by_key(&self.ctx, key_id).await? {
                if let Some(pem) = &actor.public_key_pem {
                    let key = PublicKey::from_pem(pem).map_err(|e| FedError::Invalid(e.to_string()))?;
                    self.cache_key(key_id, key.clone(), actor.clone());
                    return Ok((key, actor));
                }
            }
        }
        let doc_url = key_id.split('#').next().unwrap_or(key_id);
        let doc = self.get(doc_url).await?;
        // Mastodon-style key ids point into the actor document; others point
        // at a key object whose owner is the actor.
        let actor_doc = if doc.get("inbox").is_some() {
            doc
        } else if let Some(owner) = doc.get("owner").and_then(|o| o.as_str()) {
            self.get(owner).await?
        } else {
            return Err(FedError::Invalid(format!(
                "{key_id} is neither an actor nor a key with an owner"
            )));
        };
        let actor = self.save_actor_doc(actor_doc, doc_url).await?;
        if actor.public_key_id.as_deref() != Some(key_id) {
            return Err(FedError::Invalid(format!(
                "the actor {} does not own the key {key_id}",
                actor.ap_id
            )));
        }
        let pem = actor.public_key_pem.clone().unwrap_or_default();
        let key = PublicKey::from_pem(&pem).map_err(|e| FedError::Invalid(e.to_string()))?;
        self.cache_key(key_id, key.clone(), actor.clone());
        Ok((key, actor))
    }

    /// Fetches (or refreshes) a remote actor by its id.
    pub async fn fetch_actor(&self, ap_id: &str) -> Result<Actor, FedError> {
        let doc = self.get(ap_id).await?;
        self.save_actor_doc(doc, ap_id).await
    }

    /// A known actor, fetched if we have never seen it.
    pub async fn actor(&self, ap_id: &str) -> Result<Actor, FedError> {
        match remote::find_actor(&self.ctx, ap_id).await? {
            Some(a) => Ok(a),
            None => self.fetch_actor(ap_id).await,
        }
    }

    /// Stores an actor document after checking that it lives where it says.
    pub async fn save_actor_doc(
        &self,
        doc: serde_json::Value,
        fetched_from: &str,
    ) -> Result<Actor, FedError> {
        // A refreshed profile replaces what the key cache holds for it.
        let parsed: json::RemoteActor =
            serde_json::from_value(doc).map_err(|e| FedError::Invalid(format!("actor document: {e}")))?;
        let row = actor_row(&parsed, fetched_from)?;
        if row.ap_id.starts_with(&self.ctx.config.url("/")) {
            return Err(FedError::Invalid(
                "a remote document claims one of our own ids".into(),
            ));
        }
        let actor = remote::save_actor(&self.ctx, &row).await?;
        self.public_keys
            .lock()
            .expect("key cache")
            .retain(|_, (_, a)| a.id != actor.id);
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

/// Converts a remote actor document into our row, refusing one whose id,
/// inbox or key live on another origin than where it was fetched.
pub fn actor_row(a: &json::RemoteActor, fetched_from: &str) -> Result<ActorRow, FedError> {
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
    let key = a
        .public_key
        .as_ref()
        .map(|k| k.to_vec())
        .unwrap_or_default()
        .into_iter()
        .find(|k| k.owner.as_deref().is_none_or(|o| o == a.id));
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
            &crate::service::news::sanitize_html(a.summary.as_deref().unwrap_or("")),
            10_000,
        ),
        url: a.url.as_ref().and_then(json::first_url),
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
        icon_url: a.icon.as_ref().and_then(json::first_url),
        image_url: a.image.as_ref().and_then(json::first_url),
        manually_approves_followers: a.manually_approves_followers.unwrap_or(false),
        discoverable: a.discoverable.unwrap_or(false),
        last_fetched_at: Some(at),
        created_at: at,
        updated_at: at,
    })
}
