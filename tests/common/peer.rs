//! A scripted fediverse peer for the federation tests: one Person with its
//! own keys and actor document, an inbox that records what arrives, and
//! signed POSTs (draft-cavage or RFC 9421) to the app.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use intercoop::federation::signatures::{sign_cavage, sign_rfc9421, PrivateKey};
use serde_json::{json, Value};

use super::TestApp;

/// A minimal fediverse server: one Person, an inbox that records what arrives.
pub struct Peer {
    pub base: String,
    pub actor: String,
    pub key: PrivateKey,
    pub inbox: Arc<Mutex<Vec<Value>>>,
    /// When false the inbox answers 503, as a server that is down.
    pub up: Arc<Mutex<bool>>,
    _server: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct PeerState {
    actor_doc: Value,
    inbox: Arc<Mutex<Vec<Value>>>,
    up: Arc<Mutex<bool>>,
}

/// A document served as ActivityPub JSON (we refuse other content types).
pub fn ap(v: Value) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [(axum::http::header::CONTENT_TYPE, "application/activity+json")],
        v.to_string(),
    )
        .into_response()
}

async fn peer_inbox(State(s): State<PeerState>, body: Bytes) -> StatusCode {
    if !*s.up.lock().unwrap() {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    if let Ok(v) = serde_json::from_slice::<Value>(&body) {
        s.inbox.lock().unwrap().push(v);
    }
    StatusCode::ACCEPTED
}

impl Peer {
    pub async fn start() -> Peer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let (public, private) = intercoop::crypto::generate_actor_keys().unwrap();
        let actor = format!("{base}/users/pat");
        let actor_doc = json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": actor, "type": "Person", "preferredUsername": "pat", "name": "Pat <b>Member</b>",
            "summary": "<p>Hi<script>alert(1)</script></p>",
            "inbox": format!("{actor}/inbox"), "outbox": format!("{actor}/outbox"),
            "endpoints": {"sharedInbox": format!("{base}/inbox")},
            "publicKey": {"id": format!("{actor}#main-key"), "owner": actor, "publicKeyPem": public}
        });
        let inbox = Arc::new(Mutex::new(Vec::new()));
        let up = Arc::new(Mutex::new(true));
        let state = PeerState {
            actor_doc,
            inbox: inbox.clone(),
            up: up.clone(),
        };
        let app = Router::new()
            .route(
                "/users/pat",
                get(|State(s): State<PeerState>| async move { ap(s.actor_doc) }),
            )
            .route("/users/pat/inbox", post(peer_inbox))
            .route("/inbox", post(peer_inbox))
            .with_state(state);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Peer {
            base,
            actor,
            key: PrivateKey::from_pem(&private).unwrap(),
            inbox,
            up,
            _server: server,
        }
    }

    pub fn key_id(&self) -> String {
        format!("{}#main-key", self.actor)
    }

    pub fn id(&self, what: &str) -> String {
        format!(
            "{}/activities/{what}-{}",
            self.base,
            intercoop::crypto::random_token()
        )
    }

    /// POSTs a signed activity; returns the status.
    pub async fn send(&self, app: &TestApp, path: &str, activity: &Value, rfc9421: bool) -> u16 {
        let body = serde_json::to_vec(activity).unwrap();
        let url = url::Url::parse(&app.url(path)).unwrap();
        let headers = if rfc9421 {
            sign_rfc9421(
                &self.key,
                &self.key_id(),
                "POST",
                &url,
                &body,
                chrono::Utc::now().timestamp(),
            )
        } else {
            sign_cavage(
                &self.key,
                &self.key_id(),
                "POST",
                &url,
                Some(&body),
                std::time::SystemTime::now(),
            )
        };
        send_raw(&url, &headers, body).await
    }

    /// POSTs a signed activity to one of several processes behind one
    /// public address: signed for `public`, sent to `process` with the
    /// public `Host`, as a reverse proxy passes it on.
    pub async fn send_via(&self, public: &str, process: &str, path: &str, activity: &Value) -> u16 {
        let body = serde_json::to_vec(activity).unwrap();
        let signed_for = url::Url::parse(&format!("{public}{path}")).unwrap();
        let mut headers = sign_cavage(
            &self.key,
            &self.key_id(),
            "POST",
            &signed_for,
            Some(&body),
            std::time::SystemTime::now(),
        );
        headers.push(("host", signed_for.authority().to_string()));
        send_raw(
            &url::Url::parse(&format!("{process}{path}")).unwrap(),
            &headers,
            body,
        )
        .await
    }

    /// The activities of `kind` received so far that match.
    pub fn received(&self, kind: &str, pred: impl Fn(&Value) -> bool) -> usize {
        self.inbox
            .lock()
            .unwrap()
            .iter()
            .filter(|v| v["type"] == kind && pred(v))
            .count()
    }

    pub async fn wait_for(&self, kind: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let started = Instant::now();
        loop {
            if let Some(v) = self
                .inbox
                .lock()
                .unwrap()
                .iter()
                .find(|v| v["type"] == kind && pred(v))
                .cloned()
            {
                return v;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "no {kind} arrived at the peer"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

pub async fn send_raw(url: &url::Url, headers: &[(&str, String)], body: Vec<u8>) -> u16 {
    let mut req = reqwest::Client::new()
        .post(url.clone())
        .header("content-type", "application/activity+json");
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let resp = req.body(body).send().await.unwrap();
    let status = resp.status().as_u16();
    if std::env::var("PEER_DEBUG").is_ok() {
        eprintln!("{status}: {}", resp.text().await.unwrap_or_default());
    }
    status
}
