//! A crowd of followers for durability tests and benchmarks: N actors on one
//! loopback server, each with its own inbox (no shared inbox, so every
//! follower is a separate delivery), sharing one RSA key. Deliveries are
//! recorded per actor; an optional delay makes each answer slow.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use intercoop::federation::signatures::{sign_cavage, PrivateKey};
use serde_json::{json, Value};

#[derive(Clone)]
struct SinkState {
    base: String,
    public_pem: String,
    delay: Duration,
    received: Arc<Mutex<HashMap<String, Vec<Value>>>>,
}

pub struct Sink {
    pub base: String,
    key: Arc<PrivateKey>,
    received: Arc<Mutex<HashMap<String, Vec<Value>>>>,
    _server: tokio::task::JoinHandle<()>,
}

async fn actor(State(s): State<SinkState>, Path(name): Path<String>) -> impl axum::response::IntoResponse {
    let id = format!("{}/users/{name}", s.base);
    // Served as ActivityPub JSON: Intercoop refuses other content types.
    let doc = Json(json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": id, "type": "Person", "preferredUsername": name,
        "inbox": format!("{id}/inbox"),
        "publicKey": {"id": format!("{id}#main-key"), "owner": id, "publicKeyPem": s.public_pem}
    }));
    (
        [(axum::http::header::CONTENT_TYPE, "application/activity+json")],
        doc,
    )
}

async fn inbox(State(s): State<SinkState>, Path(name): Path<String>, body: Bytes) -> StatusCode {
    if !s.delay.is_zero() {
        tokio::time::sleep(s.delay).await;
    }
    if let Ok(v) = serde_json::from_slice::<Value>(&body) {
        s.received.lock().unwrap().entry(name).or_default().push(v);
    }
    StatusCode::ACCEPTED
}

impl Sink {
    pub async fn start(delay: Duration) -> Sink {
        Self::start_on(delay, 0).await
    }

    /// On a given port (0: any free one).
    pub async fn start_on(delay: Duration, port: u16) -> Sink {
        intercoop::server::init_tls();
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let (public_pem, private_pem) = intercoop::crypto::generate_actor_keys().unwrap();
        let received = Arc::new(Mutex::new(HashMap::new()));
        let state = SinkState {
            base: base.clone(),
            public_pem,
            delay,
            received: received.clone(),
        };
        let app = Router::new()
            .route("/users/{name}", get(actor))
            .route("/users/{name}/inbox", post(inbox))
            .with_state(state);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Sink {
            base,
            key: Arc::new(PrivateKey::from_pem(&private_pem).unwrap()),
            received,
            _server: server,
        }
    }

    pub fn actor(&self, name: &str) -> String {
        format!("{}/users/{name}", self.base)
    }

    /// The signature headers for a POST of `body` from `name` to `url`.
    pub fn sign(&self, name: &str, url: &url::Url, body: &[u8]) -> Vec<(&'static str, String)> {
        let key_id = format!("{}#main-key", self.actor(name));
        sign_cavage(
            &self.key,
            &key_id,
            "POST",
            url,
            Some(body),
            std::time::SystemTime::now(),
        )
    }

    /// A signed POST of an activity from `name` to `inbox`; returns the status.
    pub async fn post_as(&self, client: &reqwest::Client, name: &str, inbox: &str, activity: &Value) -> u16 {
        let body = serde_json::to_vec(activity).unwrap();
        let url = url::Url::parse(inbox).unwrap();
        let key_id = format!("{}#main-key", self.actor(name));
        let mut req = client
            .post(url.clone())
            .header("content-type", "application/activity+json");
        for (k, v) in sign_cavage(
            &self.key,
            &key_id,
            "POST",
            &url,
            Some(&body),
            std::time::SystemTime::now(),
        ) {
            req = req.header(k, v);
        }
        req.body(body)
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    }

    /// `name` follows `target` (an actor URL whose inbox is `target/inbox`).
    pub async fn follow(&self, client: &reqwest::Client, name: &str, target: &str) -> u16 {
        let f = json!({"@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/follows/{}", self.actor(name), intercoop::crypto::random_token()),
            "type": "Follow", "actor": self.actor(name), "object": target});
        self.post_as(client, name, &format!("{target}/inbox"), &f).await
    }

    /// How many actors received an activity of `kind` about `object_id`, and
    /// the total number of such deliveries (duplicates included).
    pub fn count(&self, kind: &str, object_id: &str) -> (usize, usize) {
        let r = self.received.lock().unwrap();
        let mut actors = 0;
        let mut total = 0;
        for list in r.values() {
            let n = list
                .iter()
                .filter(|a| a["type"] == kind && (a["object"]["id"] == object_id || a["object"] == object_id))
                .count();
            if n > 0 {
                actors += 1;
            }
            total += n;
        }
        (actors, total)
    }
}
