//! The delivery worker: claims due rows of the durable `deliveries` queue,
//! signs each activity (draft-cavage rsa-sha256) and POSTs it, then records
//! the outcome. Retries back off like Mastodon's (Sidekiq's) schedule, about
//! 16 attempts over two days; a host that keeps failing is marked
//! unreachable and probed once an hour until it answers; 410 Gone drops the
//! followers behind that inbox.
//!
//! Claims are leases: a row claimed by a process that dies (kill -9) is taken
//! again when its lease runs out, so nothing is lost. On PostgreSQL several
//! processes claim with `FOR UPDATE SKIP LOCKED` and never take the same row.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use rand::Rng;
use tokio::sync::{watch, Semaphore};

use super::signatures::sign_cavage;
use super::Federation;
use crate::db::models::{Delivery, DeliveryState};
use crate::db::queries::{deliveries as delivery_q, follows as follow_q, outbox as outbox_q};
use crate::db::{now, DbError};

/// Deliveries in flight at once, and to any one host.
pub const CONCURRENCY: usize = 64;
pub const PER_HOST: usize = 4;
/// How long a claim holds a row; longer than one attempt can take.
pub const LEASE_SECS: i64 = 30;
/// Give up after this many attempts or this age.
pub const MAX_ATTEMPTS: i32 = 16;
pub const MAX_AGE_HOURS: i64 = 48;
/// Consecutive failures after which a host is marked unreachable.
pub const UNREACHABLE_AFTER: i32 = 8;

/// The wait before the next attempt: Sidekiq's `attempts^4 + 15 + rand(30) *
/// (attempts + 1)` seconds, which Mastodon's delivery workers use.
pub fn backoff(attempts: i32) -> chrono::Duration {
    let n = attempts.max(1) as i64;
    let jitter = rand::thread_rng().gen_range(0..30) * (n + 1);
    chrono::Duration::seconds(n.pow(4) + 15 + jitter)
}

/// Per-host limits, created on first use.
#[derive(Default)]
struct HostLimits {
    hosts: std::sync::Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl HostLimits {
    fn get(&self, host: &str) -> Arc<Semaphore> {
        let mut m = self.hosts.lock().expect("host limits");
        if m.len() > 10_000 {
            m.retain(|_, s| s.available_permits() < PER_HOST);
        }
        m.entry(host.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(PER_HOST)))
            .clone()
    }
}

/// An activity ready to send: body, sending actor id, its key id.
type Prepared = Arc<(String, i64, String)>;
/// Failing hosts and since when they are unreachable (if they are).
type Troubled = Arc<HashMap<String, Option<NaiveDateTime>>>;

/// What every attempt would otherwise read from the database again: the
/// activity being fanned out, and which hosts have been failing.
#[derive(Default)]
pub struct Caches {
    /// outbox id -> (body, sending actor id, its key id)
    activities: std::sync::Mutex<HashMap<i64, Prepared>>,
    /// Hosts with failures, re-read at most once a second; the others skip
    /// the host-health bookkeeping entirely.
    troubled: std::sync::Mutex<Option<(Instant, Troubled)>>,
}

impl Caches {
    async fn activity(&self, fed: &Federation, outbox_id: i64) -> Result<Prepared, String> {
        if let Some(a) = self.activities.lock().expect("activity cache").get(&outbox_id) {
            return Ok(a.clone());
        }
        let mut conn = fed.ctx.db.conn().await.map_err(|e| e.to_string())?;
        let item = outbox_q::find_outbox(&mut conn, outbox_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the activity is gone")?;
        let actor = crate::db::queries::actors::find(&mut conn, item.actor_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the sending actor is gone")?;
        let entry = Arc::new((item.json, actor.id, actor.public_key_id.unwrap_or_default()));
        let mut cache = self.activities.lock().expect("activity cache");
        if cache.len() > 256 {
            cache.clear();
        }
        cache.insert(outbox_id, entry.clone());
        Ok(entry)
    }

    async fn troubled_hosts(&self, fed: &Federation) -> Result<Troubled, DbError> {
        if let Some((at, map)) = self.troubled.lock().expect("host cache").as_ref() {
            if at.elapsed() < Duration::from_secs(1) {
                return Ok(map.clone());
            }
        }
        let mut conn = fed.ctx.db.conn().await?;
        let map = Arc::new(
            delivery_q::troubled_hosts(&mut conn)
                .await?
                .into_iter()
                .collect::<HashMap<_, _>>(),
        );
        *self.troubled.lock().expect("host cache") = Some((Instant::now(), map.clone()));
        Ok(map)
    }

    fn forget_hosts(&self) {
        *self.troubled.lock().expect("host cache") = None;
    }
}

pub async fn run(fed: Arc<Federation>, mut stop: watch::Receiver<bool>) {
    let caches = Arc::new(Caches::default());
    let all = Arc::new(Semaphore::new(CONCURRENCY));
    let hosts = Arc::new(HostLimits::default());
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        if *stop.borrow() {
            break;
        }
        // With every slot busy, wait for one to free up: sleeping instead
        // (as an empty claim does) held a full queue to 64 sends per pause,
        // a third of the fan-out benchmark's time.
        let first = tokio::select! {
            p = all.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = stop.changed() => break,
        };
        // One claim (a write) for several slots, not one per finished send.
        if all.available_permits() + 1 < CONCURRENCY / 8 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Claim only as many as there are free slots.
        let free = all.available_permits() as i64 + 1;
        let claimed = match claim(&fed, free).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!(error = %e, "delivery worker: claim failed");
                Vec::new()
            }
        };
        let idle = claimed.is_empty();
        let mut first = Some(first);
        for d in claimed {
            let permit = match first.take() {
                Some(p) => p,
                None => match all.clone().acquire_owned().await {
                    Ok(p) => p,
                    Err(_) => break,
                },
            };
            let host_limit = hosts.get(&d.host);
            let fed = fed.clone();
            let caches = caches.clone();
            tasks.spawn(async move {
                let _permit = permit;
                let Ok(_host) = host_limit.acquire_owned().await else { return };
                if let Err(e) = deliver(&fed, &caches, &d).await {
                    tracing::error!(error = %e, delivery = d.id, "delivery bookkeeping failed; the lease will expire and it is retried");
                }
            });
        }
        drop(first);
        while tasks.try_join_next().is_some() {}
        if idle {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                _ = stop.changed() => break,
            }
        }
    }
    // Let attempts in flight finish (the graceful-shutdown budget bounds it).
    while tasks.join_next().await.is_some() {}
}

async fn claim(fed: &Federation, limit: i64) -> Result<Vec<Delivery>, DbError> {
    let mut conn = fed.ctx.db.write().await?;
    delivery_q::claim_deliveries(
        &mut conn,
        limit.min(256),
        now() + chrono::Duration::seconds(LEASE_SECS),
    )
    .await
}

/// One attempt: send, then record the outcome.
pub async fn deliver(fed: &Arc<Federation>, caches: &Caches, d: &Delivery) -> Result<(), DbError> {
    // Everything read from caches first: a task never waits for a second
    // pool connection while it holds one (64 tasks share a smaller pool).
    let policy = fed.policy().await.map_err(|e| DbError::Connect(e.to_string()))?;
    let troubled = caches.troubled_hosts(fed).await?;
    let at = now();
    let skip = if !policy.allows(&d.host) {
        // Blocked since it was queued: cancel without sending.
        Some((at, DeliveryState::Cancelled, "the domain is blocked"))
    } else if at - d.created_at > chrono::Duration::hours(MAX_AGE_HOURS) {
        Some((
            at,
            DeliveryState::Failed,
            "gave up: not delivered within 48 hours",
        ))
    } else {
        match troubled.get(&d.host).copied() {
            // Unreachable host: one probe per hour, the rest wait.
            Some(Some(since)) if d.next_attempt_at < since + chrono::Duration::hours(1) && d.attempts > 0 => {
                Some((
                    at + chrono::Duration::hours(1),
                    DeliveryState::Pending,
                    "host unreachable; waiting for it to answer",
                ))
            }
            _ => None,
        }
    };
    if let Some((until, state, why)) = skip {
        let mut conn = fed.ctx.db.write().await?;
        return delivery_q::postpone_delivery(&mut conn, d.id, until, state, why).await;
    }

    let started = Instant::now();
    let result = send(fed, caches, d).await;
    let duration_ms = started.elapsed().as_millis() as i64;
    // The outcome's writes wait for the writer's turn, not on SQLite's lock.
    let mut conn = fed.ctx.db.write().await?;
    let attempts = d.attempts + 1;
    let retry_at = |attempts: i32| -> NaiveDateTime { now() + backoff(attempts) };
    match result {
        Ok(status) if (200..300).contains(&status) => {
            // Healthy hosts need no bookkeeping; a recovering one is reset.
            if troubled.contains_key(&d.host) {
                delivery_q::host_succeeded(&mut conn, &d.host).await?;
                caches.forget_hosts();
            }
            delivery_q::finish_delivery(
                &mut conn,
                d,
                &delivery_q::Outcome {
                    state: DeliveryState::Delivered,
                    next_attempt_at: at,
                    status: Some(status as i32),
                    error: None,
                    duration_ms,
                },
            )
            .await
        }
        Ok(410) => {
            // The account is gone: stop following-based deliveries to it.
            let removed = drop_followers_behind(&mut conn, &d.inbox).await?;
            tracing::info!(inbox = %d.inbox, removed, "410 Gone: followers behind this inbox removed");
            delivery_q::finish_delivery(
                &mut conn,
                d,
                &delivery_q::Outcome {
                    state: DeliveryState::Failed,
                    next_attempt_at: at,
                    status: Some(410),
                    error: Some("410 Gone: the recipient no longer exists"),
                    duration_ms,
                },
            )
            .await
        }
        Ok(status) if (400..500).contains(&status) && status != 408 && status != 429 => {
            // The peer refuses this activity; repeating it will not help.
            if troubled.contains_key(&d.host) {
                delivery_q::host_succeeded(&mut conn, &d.host).await?;
                caches.forget_hosts();
            }
            let msg = format!("refused by the recipient with {status}");
            delivery_q::finish_delivery(
                &mut conn,
                d,
                &delivery_q::Outcome {
                    state: DeliveryState::Failed,
                    next_attempt_at: at,
                    status: Some(status as i32),
                    error: Some(&msg),
                    duration_ms,
                },
            )
            .await
        }
        other => {
            let (status, msg) = match other {
                Ok(s) => (Some(s as i32), format!("the recipient answered {s}")),
                Err(e) => (None, e),
            };
            delivery_q::host_failed(&mut conn, &d.host, UNREACHABLE_AFTER).await?;
            caches.forget_hosts();
            let give_up = attempts >= MAX_ATTEMPTS;
            tracing::info!(inbox = %d.inbox, attempts, error = %msg, give_up, "delivery failed");
            delivery_q::finish_delivery(
                &mut conn,
                d,
                &delivery_q::Outcome {
                    state: if give_up {
                        DeliveryState::Failed
                    } else {
                        DeliveryState::Pending
                    },
                    next_attempt_at: if give_up { at } else { retry_at(attempts) },
                    status,
                    error: Some(&msg),
                    duration_ms,
                },
            )
            .await
        }
    }
}

async fn drop_followers_behind(conn: &mut crate::db::PooledConn, inbox: &str) -> Result<usize, DbError> {
    let mut removed = 0;
    if let Some(actor) = crate::db::queries::actors::find_by_inbox(conn, inbox).await? {
        removed += follow_q::delete_follows_of(conn, actor.id).await?;
    }
    Ok(removed)
}

/// Signs and POSTs one activity; the HTTP status, or why it could not be sent.
async fn send(fed: &Arc<Federation>, caches: &Caches, d: &Delivery) -> Result<u16, String> {
    let activity = caches.activity(fed, d.outbox_id).await?;
    let (body, actor_id, key_id) = (&activity.0, activity.1, &activity.2);
    let key = fed.private_key(actor_id).await.map_err(|e| e.to_string())?;
    let url = url::Url::parse(&d.inbox).map_err(|_| format!("bad inbox URL {}", d.inbox))?;
    super::fetch::check_url(&url, fed.fetcher.allow_private()).map_err(|e| e.to_string())?;
    let mut req = fed
        .fetcher
        .client()
        .post(url.clone())
        .header("content-type", super::json::AP_CONTENT_TYPE)
        .header("accept", super::fetch::AP_ACCEPT);
    for (k, v) in sign_cavage(
        &key,
        key_id,
        "POST",
        &url,
        Some(body.as_bytes()),
        std::time::SystemTime::now(),
    ) {
        req = req.header(k, v);
    }
    let resp = req.body(body.clone()).send().await.map_err(|e| {
        if e.is_timeout() {
            "timed out".to_string()
        } else if e.is_connect() {
            format!("could not connect: {e}")
        } else {
            e.to_string()
        }
    })?;
    Ok(resp.status().as_u16())
}
