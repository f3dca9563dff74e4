//! Hostile input against the real inbox, one table row per attack.
//!
//! Every row sends one request over a raw socket to a freshly started server
//! (so that Host, duplicate header lines, framing and sizes are exactly what
//! the row says) and checks three things: the status, the change in the rows
//! of `actors`, `follows`, `inbox_log`, `objects`, `reactions` and `reports`,
//! and any probe the row adds (a stored actor left untouched, a URL never
//! fetched, stored HTML free of active content). A refused request must leave
//! every table as it was.
//!
//! The peers are fake servers on loopback, each on its own port and so its
//! own origin. They serve actor and key documents with whatever status,
//! content type, body or redirect a row sets, and count the requests they
//! get. Together the tables show that forged, stale, replayed or misaddressed
//! signatures are refused; that a key is believed only when its document
//! lives where it claims and is served as ActivityPub JSON; that nobody can
//! undo, delete, accept or rewrite what belongs to another actor; that
//! malformed, oversize and odd requests get a clean 4xx; and that rate limits
//! and domain blocks hold. Each scenario runs all its rows, then reports every
//! failing row at once, so one run shows the whole picture.

mod common;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::{Backend, TestApp};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use intercoop::config::Config;
use intercoop::db::schema::{actors, follows, inbox_log, objects, reactions, reports};
use intercoop::federation::signatures::{sha256_b64, PrivateKey};
use intercoop::service::news::NewsInput;
use intercoop::service::remote::find_actor;
use serde_json::{json, Value};

const AP: &str = "application/activity+json";
const AP_CT: Option<&str> = Some(AP);
const AS: &str = "https://www.w3.org/ns/activitystreams";
const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

// ---------------------------------------------------------------- expectations

/// Row-count changes, in the order of [`TABLES`]; [`ANY`] skips a table.
#[derive(Clone, Copy, Debug)]
struct D([i64; 6]);

const TABLES: [&str; 6] = [
    "actors",
    "follows",
    "inbox_log",
    "objects",
    "reactions",
    "reports",
];
const ANY: i64 = i64::MIN;
/// Nothing changes: what every refused request must leave behind.
const Z: D = D([0; 6]);
/// Accepted and ignored, or refused: only the inbox log may differ.
const IGNORED: D = d(0, 0, ANY, 0, 0, 0);

const fn d(a: i64, f: i64, i: i64, o: i64, r: i64, p: i64) -> D {
    D([a, f, i, o, r, p])
}

impl D {
    fn matches(&self, got: &[i64; 6]) -> bool {
        self.0.iter().zip(got.iter()).all(|(w, g)| *w == ANY || w == g)
    }
}

fn show(v: &[i64; 6]) -> String {
    let parts: Vec<String> = TABLES
        .iter()
        .zip(v.iter())
        .map(|(t, n)| {
            if *n == ANY {
                format!("{t} any")
            } else {
                format!("{t} {n:+}")
            }
        })
        .collect();
    parts.join(", ")
}

const S202: &[u16] = &[202];
const S400: &[u16] = &[400];
const S401: &[u16] = &[401];
const S403: &[u16] = &[403];
const S404: &[u16] = &[404];
const S405: &[u16] = &[405];
const S413: &[u16] = &[413];
const S429: &[u16] = &[429];
const S400_401: &[u16] = &[400, 401];
/// Huge headers: hyper's 431 or our own 400.
const HUGE: &[u16] = &[400, 431];
/// "Changes nothing": accepted and ignored, or refused outright.
const NOOP: &[u16] = &[202, 403];
/// Rewriting someone else's object: ignored, invalid or forbidden.
const NOT_YOURS: &[u16] = &[202, 400, 403];
/// How a refusal of an object without id may put it.
const NO_ID: &[&str] = &["no id", "no object id"];

/// One attack: how to build it from the fixture, and what must come of it.
struct Case {
    name: &'static str,
    want: &'static [u16],
    delta: D,
    build: fn(&Fx) -> Req,
}

fn row(name: &'static str, want: &'static [u16], delta: D, build: fn(&Fx) -> Req) -> Case {
    Case {
        name,
        want,
        delta,
        build,
    }
}

/// Markers of active content that sanitised HTML never keeps (compared after
/// lowercasing and dropping whitespace, so `jav&#x09;ascript:` counts too).
const ACTIVE: &str =
    "<script javascript: onerror onload onclick <iframe <img <svg <object <embed <style <form <math data:text/html";

/// Extra probes a row asks for after its request.
#[derive(Clone)]
enum Check {
    /// A fake server's path was requested exactly this many times in all.
    Hits(Hits, String, usize),
    /// The stored actor still has this name and public key.
    ActorIs(String, String, Option<String>),
    ActorPresent(String),
    /// The first actor follows the second in this state (None: no follow).
    Follow(String, String, Option<&'static str>),
    /// The object is stored and its HTML has none of [`ACTIVE`].
    Clean(String),
    NotStored(String),
    NotDeleted(String),
    ContentLacks(String, &'static str),
    /// The answer has this header (lowercase name).
    Header(&'static str),
    /// The answer's body mentions one of these (lowercase) phrases.
    BodyHas(&'static [&'static str]),
}

// ---------------------------------------------------------------- fake servers

type Hits = Arc<Mutex<HashMap<String, usize>>>;

/// What a fake server answers on one path.
#[derive(Clone)]
struct Route {
    status: u16,
    ctype: Option<String>,
    body: Vec<u8>,
    location: Option<String>,
}

#[derive(Clone, Default)]
struct FakeState {
    routes: Arc<Mutex<HashMap<String, Route>>>,
    hits: Hits,
}

/// A scripted fediverse server on its own loopback port, so its own origin.
struct Fake {
    base: String,
    state: FakeState,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn fake_answer(State(s): State<FakeState>, method: Method, uri: Uri) -> Response {
    let path = uri.path().to_string();
    *s.hits.lock().unwrap().entry(path.clone()).or_insert(0) += 1;
    // The co-op's own deliveries (its Accepts) may land on any inbox path;
    // a 410 there would make it drop the follower.
    if method == Method::POST {
        return StatusCode::ACCEPTED.into_response();
    }
    let route = s.routes.lock().unwrap().get(&path).cloned();
    let Some(r) = route else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut resp = axum::http::Response::builder().status(r.status);
    if let Some(ct) = &r.ctype {
        resp = resp.header("content-type", ct.as_str());
    }
    if let Some(to) = &r.location {
        resp = resp.header("location", to.as_str());
    }
    resp.body(Body::from(r.body)).unwrap()
}

impl Fake {
    async fn start() -> Fake {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let state = FakeState::default();
        let app = Router::new().fallback(fake_answer).with_state(state.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Fake { base, state, server }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn put(&self, path: &str, status: u16, ctype: Option<&str>, body: impl Into<Vec<u8>>) {
        let route = Route {
            status,
            ctype: ctype.map(String::from),
            body: body.into(),
            location: None,
        };
        self.state.routes.lock().unwrap().insert(path.to_string(), route);
    }

    fn doc(&self, path: &str, doc: &Value) {
        self.put(path, 200, AP_CT, doc.to_string());
    }

    fn redirect(&self, path: &str, to: &str) {
        let route = Route {
            status: 302,
            ctype: None,
            body: Vec::new(),
            location: Some(to.to_string()),
        };
        self.state.routes.lock().unwrap().insert(path.to_string(), route);
    }

    fn hits(&self) -> Hits {
        self.state.hits.clone()
    }

    fn hit_count(&self, path: &str) -> usize {
        self.state.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

fn actor_doc(id: &str, key_id: &str, pem: &str) -> Value {
    let name = id.rsplit('/').next().unwrap_or("x");
    json!({
        "@context": [AS, "https://w3id.org/security/v1"],
        "id": id, "type": "Person", "preferredUsername": name, "name": format!("Member {name}"),
        "summary": "<p>Grows tea.</p>", "inbox": format!("{id}/inbox"), "outbox": format!("{id}/outbox"),
        "publicKey": {"id": key_id, "owner": id, "publicKeyPem": pem}
    })
}

fn key_doc(id: &str, owner: &str, pem: &str) -> Value {
    json!({"@context": "https://w3id.org/security/v1", "id": id, "type": "Key", "owner": owner,
           "publicKeyPem": pem})
}

/// RSA keys are slow to make: five for the whole run, shared by all scenarios.
fn key_pairs() -> &'static [(String, String)] {
    static KEYS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    KEYS.get_or_init(|| {
        (0..5)
            .map(|_| intercoop::crypto::generate_actor_keys().unwrap())
            .collect()
    })
}

// ---------------------------------------------------------------- requests

/// A request exactly as it goes on the wire: the row controls every header
/// line but Connection and the body framing.
#[derive(Clone)]
struct Req {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// A Content-Length that lies about the body.
    length: Option<String>,
    chunked: bool,
    checks: Vec<Check>,
}

fn h(name: &str, value: &str) -> (String, String) {
    (name.to_string(), value.to_string())
}

fn header_of(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

fn set_header(headers: &mut Vec<(String, String)>, name: &str, value: String) {
    match headers.iter().position(|(n, _)| n.eq_ignore_ascii_case(name)) {
        Some(i) => headers[i].1 = value,
        None => headers.push((name.to_string(), value)),
    }
}

// Builders read as a list of knobs, one per line.
#[rustfmt::skip]
impl Req {
    fn body(mut self, body: impl Into<Vec<u8>>) -> Req { self.body = body.into(); self }
    /// Replaces a header after signing (or adds it).
    fn hdr(mut self, name: &str, value: impl Into<String>) -> Req { set_header(&mut self.headers, name, value.into()); self }
    fn without(mut self, name: &str) -> Req { self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name)); self }
    /// Adds one more header line, after the others.
    fn push(mut self, name: &str, value: impl Into<String>) -> Req { self.headers.push((name.into(), value.into())); self }
    /// Adds one more header line before the first line of that name.
    fn push_first(mut self, name: &str, value: impl Into<String>) -> Req {
        let at = self.headers.iter().position(|(n, _)| n.eq_ignore_ascii_case(name)).unwrap_or(self.headers.len());
        self.headers.insert(at, (name.into(), value.into()));
        self
    }
    fn check(mut self, c: Check) -> Req { self.checks.push(c); self }
    fn header(&self, name: &str) -> String { header_of(&self.headers, name).expect("the header is sent") }
}

/// How a request is signed; every field can be bent by a row.
#[derive(Clone)]
struct Sig {
    rfc: bool,
    key: Arc<PrivateKey>,
    key_id: Option<String>,
    alg: Option<String>,
    covered: Vec<String>,
    created: Option<i64>,
    expires: Option<i64>,
    /// Values signed in place of what is sent: a signature for another request.
    fake: Vec<(String, String)>,
    /// Sent in place of the computed signature.
    value: Option<String>,
    mangle: Option<fn(String) -> String>,
    /// The label of the RFC 9421 Signature header (Signature-Input keeps sig1).
    label: Option<String>,
}

/// A request before its signature is computed.
#[derive(Clone)]
struct Draft {
    method: String,
    path: String,
    /// Our base URL, for `@target-uri`.
    target: String,
    authority: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    sig: Sig,
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn date_at(offset_secs: i64) -> String {
    httpdate::fmt_http_date(SystemTime::UNIX_EPOCH + Duration::from_secs((now() + offset_secs) as u64))
}

fn flip(s: String) -> String {
    let mut bytes = s.into_bytes();
    bytes[0] = if bytes[0] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

fn signature_text(sig: &Sig, message: &str) -> String {
    let text = match &sig.value {
        Some(v) => v.clone(),
        None => B64.encode(sig.key.sign(message.as_bytes())),
    };
    match sig.mangle {
        Some(m) => m(text),
        None => text,
    }
}

#[rustfmt::skip]
impl Draft {
    fn to(mut self, path: &str) -> Draft { self.path = path.to_string(); self }
    fn key(self, w: &Who) -> Draft { self.with_key(&w.key) }
    fn with_key(mut self, key: &Arc<PrivateKey>) -> Draft { self.sig.key = key.clone(); self }
    fn kid(mut self, key_id: impl Into<String>) -> Draft { self.sig.key_id = Some(key_id.into()); self }
    fn no_kid(mut self) -> Draft { self.sig.key_id = None; self }
    fn alg(mut self, alg: &str) -> Draft { self.sig.alg = Some(alg.to_string()); self }
    fn cover(mut self, names: &[&str]) -> Draft { self.sig.covered = strings(names); self }
    fn created(mut self, at: Option<i64>) -> Draft { self.sig.created = at; self }
    fn expires(mut self, at: i64) -> Draft { self.sig.expires = Some(at); self }
    /// Signs `value` for `name` instead of what is sent.
    fn fake(mut self, name: &str, value: impl Into<String>) -> Draft { self.sig.fake.push((name.into(), value.into())); self }
    /// Sets a header before signing, so the signature covers the new value.
    fn set(mut self, name: &str, value: impl Into<String>) -> Draft { set_header(&mut self.headers, name, value.into()); self }
    fn date(self, offset_secs: i64) -> Draft { self.set("Date", date_at(offset_secs)) }
    fn value(mut self, v: impl Into<String>) -> Draft { self.sig.value = Some(v.into()); self }
    fn mangle(mut self, m: fn(String) -> String) -> Draft { self.sig.mangle = Some(m); self }
    fn label(mut self, label: &str) -> Draft { self.sig.label = Some(label.to_string()); self }
}

impl Draft {
    /// Computes the signature the way a peer would and adds its headers.
    fn req(self) -> Req {
        let Draft {
            method,
            path,
            target,
            authority,
            mut headers,
            body,
            sig,
        } = self;
        let value_of = |name: &str| -> String {
            if let Some((_, v)) = sig.fake.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
                return v.clone();
            }
            match name {
                "(request-target)" => format!("{} {path}", method.to_ascii_lowercase()),
                "(created)" => sig.created.map(|t| t.to_string()).unwrap_or_default(),
                "(expires)" => sig.expires.map(|t| t.to_string()).unwrap_or_default(),
                "@method" => method.to_ascii_uppercase(),
                "@target-uri" => format!("{target}{path}"),
                "@authority" => authority.clone(),
                "@path" => path.split('?').next().unwrap_or_default().to_string(),
                "@request-target" => path.clone(),
                other => header_of(&headers, other).unwrap_or_default(),
            }
        };
        let lines: Vec<String> = if sig.rfc {
            sig.covered
                .iter()
                .map(|c| format!("\"{c}\": {}", value_of(c)))
                .collect()
        } else {
            sig.covered
                .iter()
                .map(|c| format!("{c}: {}", value_of(c)))
                .collect()
        };
        if sig.rfc {
            let list: Vec<String> = sig.covered.iter().map(|c| format!("\"{c}\"")).collect();
            let mut params = format!("({})", list.join(" "));
            if let Some(a) = &sig.alg {
                params.push_str(&format!(";alg=\"{a}\""));
            }
            if let Some(k) = &sig.key_id {
                params.push_str(&format!(";keyid=\"{k}\""));
            }
            if let Some(t) = sig.created {
                params.push_str(&format!(";created={t}"));
            }
            if let Some(t) = sig.expires {
                params.push_str(&format!(";expires={t}"));
            }
            let base = format!("{}\n\"@signature-params\": {params}", lines.join("\n"));
            let signature = signature_text(&sig, &base);
            let label = sig.label.as_deref().unwrap_or("sig1");
            headers.push(h("Signature-Input", &format!("sig1={params}")));
            headers.push(h("Signature", &format!("{label}=:{signature}:")));
        } else {
            let signature = signature_text(&sig, &lines.join("\n"));
            let mut params = Vec::new();
            if let Some(k) = &sig.key_id {
                params.push(format!("keyId=\"{k}\""));
            }
            if let Some(a) = &sig.alg {
                params.push(format!("algorithm=\"{a}\""));
            }
            if !sig.covered.is_empty() {
                params.push(format!("headers=\"{}\"", sig.covered.join(" ")));
            }
            if let Some(t) = sig.created {
                params.push(format!("created={t}"));
            }
            if let Some(t) = sig.expires {
                params.push(format!("expires={t}"));
            }
            params.push(format!("signature=\"{signature}\""));
            headers.push(h("Signature", &params.join(",")));
        }
        Req {
            method,
            path,
            headers,
            body,
            length: None,
            chunked: false,
            checks: Vec::new(),
        }
    }
}

/// The server's answer to one raw request.
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

/// Sends one request over a plain socket, exactly as built, and reads the
/// whole answer. Status 0 means no answer at all.
async fn send(addr: SocketAddr, r: &Req) -> Resp {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut rd, mut wr) = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the app")
        .into_split();
    let mut head = format!("{} {} HTTP/1.1\r\n", r.method, r.path);
    for (k, v) in &r.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("Connection: close\r\n");
    if r.chunked {
        head.push_str("Transfer-Encoding: chunked\r\n\r\n");
    } else {
        let length = r.length.clone().unwrap_or_else(|| r.body.len().to_string());
        head.push_str(&format!("Content-Length: {length}\r\n\r\n"));
    }
    let mut bytes = head.into_bytes();
    if r.chunked {
        for chunk in r.body.chunks(64 * 1024) {
            bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            bytes.extend_from_slice(chunk);
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"0\r\n\r\n");
    } else {
        bytes.extend_from_slice(&r.body);
    }
    // Written from its own task: a server that answers early (413, 431) and
    // stops reading must not leave us blocked in a write. The write half is
    // returned, not dropped, so that it stays open until the answer is read:
    // a half-closed socket looks like a client that went away.
    let writer = tokio::spawn(async move {
        let _ = wr.write_all(&bytes).await;
        wr
    });
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(40), rd.read_to_end(&mut out)).await;
    writer.abort();
    parse_answer(&out)
}

fn parse_answer(raw: &[u8]) -> Resp {
    let text = String::from_utf8_lossy(raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text.as_str(), ""));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Resp {
        status,
        headers,
        body: body.to_string(),
    }
}

// ---------------------------------------------------------------- the fixture

/// An actor of a peer: its id, its key id and the key it signs with.
#[derive(Clone)]
struct Who {
    actor: String,
    key_id: String,
    key: Arc<PrivateKey>,
    origin: String,
}

/// The world every row is built in: the co-op, its news item, three members
/// of two honest peers (`a` and `c` share a server, `b` has its own), two
/// spare actors for the rate limits, and two servers run by the attacker.
struct Fx {
    addr: SocketAddr,
    base: String,
    domain: String,
    coop: String,
    news: String,
    /// An event (capacity 2) and a one-choice poll (Friday, Saturday).
    event: String,
    poll: String,
    /// The forum's group (@general), one of its threads, and a locked one.
    forum: String,
    thread: String,
    locked: String,
    a: Who,
    b: Who,
    c: Who,
    s0: Who,
    s1: Who,
    p1: Fake,
    p2: Fake,
    evil: Fake,
    other: Fake,
    keys: Vec<Arc<PrivateKey>>,
    pems: Vec<String>,
    /// Activities and ids kept by one row for the rows after it.
    memo: Mutex<HashMap<String, Value>>,
    /// Name and key of each member as stored after setup.
    snap: Mutex<HashMap<String, (String, Option<String>)>>,
    /// The previous row's request, for replays.
    last: Mutex<Option<Req>>,
}

fn str_of(v: &Value) -> String {
    v.as_str().expect("a string").to_string()
}

fn drop_key(mut v: Value, key: &str) -> Value {
    v.as_object_mut().unwrap().remove(key);
    v
}

impl Fx {
    /// `warm`: a, b and c follow the co-op, and the co-op asks to follow b,
    /// so that their rows exist before the table runs.
    async fn new(app: &TestApp, warm: bool) -> Fx {
        let pairs = key_pairs();
        let keys: Vec<Arc<PrivateKey>> = pairs
            .iter()
            .map(|(_, private)| Arc::new(PrivateKey::from_pem(private).unwrap()))
            .collect();
        let pems: Vec<String> = pairs.iter().map(|(public, _)| public.clone()).collect();
        let p1 = Fake::start().await;
        let p2 = Fake::start().await;
        let evil = Fake::start().await;
        let other = Fake::start().await;
        let member = |fake: &Fake, name: &str, k: usize| {
            let actor = fake.url(&format!("/users/{name}"));
            let key_id = format!("{actor}#main-key");
            fake.doc(&format!("/users/{name}"), &actor_doc(&actor, &key_id, &pems[k]));
            Who {
                actor,
                key_id,
                key: keys[k].clone(),
                origin: fake.base.clone(),
            }
        };
        let (a, c, s0, s1) = (
            member(&p1, "a", 0),
            member(&p1, "c", 2),
            member(&p1, "s0", 4),
            member(&p1, "s1", 4),
        );
        let b = member(&p2, "b", 1);
        let input = NewsInput {
            title: "Harvest festival".into(),
            body: "Come and pick tea with us.".into(),
            ..Default::default()
        };
        let news = intercoop::service::news::publish_news(&app.ctx, &common::admin(), &input)
            .await
            .unwrap()
            .ap_id;
        let event = intercoop::service::calendar::create_event(
            &app.ctx,
            &common::admin(),
            &intercoop::service::calendar::EventInput {
                title: "Picking day".into(),
                starts_at: "2031-05-01T09:00".into(),
                capacity: Some(2),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .object
        .ap_id;
        let poll = intercoop::service::polls::create_poll(
            &app.ctx,
            &common::admin(),
            &intercoop::service::polls::PollInput {
                question: "Which day?".into(),
                options: vec!["Friday".into(), "Saturday".into()],
                multiple: false,
                closes_at: (intercoop::db::now() + chrono::Duration::days(30))
                    .format("%Y-%m-%dT%H:%M")
                    .to_string(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .object
        .ap_id;
        let general = intercoop::service::forums::create_forum(
            &app.ctx,
            &common::admin(),
            &intercoop::service::forums::ForumInput {
                handle: "general".into(),
                name: "General".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let thread_of = |title: &'static str| {
            let general = general.clone();
            let ctx = app.ctx.clone();
            async move {
                intercoop::service::forums::post_thread(
                    &ctx,
                    &common::admin(),
                    &general,
                    &intercoop::service::forums::ThreadInput {
                        title: title.into(),
                        body: "Text.".into(),
                    },
                )
                .await
                .unwrap()
            }
        };
        let thread = thread_of("Open thread").await.ap_id;
        let locked_thread = thread_of("Locked thread").await;
        intercoop::service::forums::set_locked(&app.ctx, &common::admin(), &locked_thread, true)
            .await
            .unwrap();
        let fx = Fx {
            addr: app.addr,
            base: app.base.clone(),
            domain: format!("127.0.0.1:{}", app.addr.port()),
            coop: app.url("/actors/tea"),
            news,
            event,
            poll,
            forum: general.actor.ap_id.clone(),
            thread,
            locked: locked_thread.ap_id,
            a,
            b,
            c,
            s0,
            s1,
            p1,
            p2,
            evil,
            other,
            keys,
            pems,
            memo: Mutex::default(),
            snap: Mutex::default(),
            last: Mutex::new(None),
        };
        if warm {
            fx.warm(app).await;
        }
        fx
    }

    async fn warm(&self, app: &TestApp) {
        for (name, w) in [("a", &self.a), ("b", &self.b), ("c", &self.c)] {
            let follow = self.follow(w);
            self.keep(&format!("follow:{name}"), &follow);
            let r = send(self.addr, &self.cv(w, &follow).req()).await;
            assert_eq!(r.status, 202, "setup: {name} follows the co-op: {}", r.body);
        }
        for w in [&self.a, &self.b, &self.c] {
            let stored = find_actor(&app.ctx, &w.actor)
                .await
                .unwrap()
                .expect("setup stored the member");
            let entry = (stored.name, stored.public_key_pem);
            self.snap.lock().unwrap().insert(w.actor.clone(), entry);
        }
        let coop = intercoop::service::coop::get_coop(&app.ctx)
            .await
            .unwrap()
            .unwrap();
        let b = find_actor(&app.ctx, &self.b.actor).await.unwrap().unwrap();
        intercoop::service::follows::follow_actor(&app.ctx, &common::admin(), &coop, &b)
            .await
            .unwrap();
        let mut conn = app.ctx.db.conn().await.unwrap();
        let pending = intercoop::db::queries::follows::find_follow(&mut conn, coop.id, b.id)
            .await
            .unwrap()
            .expect("the co-op's follow of b");
        self.keep("coopfollow", &json!(pending.ap_id.expect("the Follow's id")));
    }

    fn cvb(&self, w: &Who, body: Vec<u8>) -> Draft {
        let headers = vec![
            h("Host", &self.domain),
            h("Date", &date_at(0)),
            h("Digest", &format!("SHA-256={}", sha256_b64(&body))),
            h("Content-Type", AP),
        ];
        self.draft(w, body, headers, false)
    }

    fn rfb(&self, w: &Who, body: Vec<u8>) -> Draft {
        let headers = vec![
            h("Host", &self.domain),
            h("Content-Digest", &format!("sha-256=:{}:", sha256_b64(&body))),
            h("Content-Type", AP),
        ];
        self.draft(w, body, headers, true)
    }

    fn draft(&self, w: &Who, body: Vec<u8>, headers: Vec<(String, String)>, rfc: bool) -> Draft {
        let (alg, covered, created) = if rfc {
            let covered = ["@method", "@target-uri", "@authority", "content-digest"];
            ("rsa-v1_5-sha256", strings(&covered), Some(now()))
        } else {
            let covered = ["(request-target)", "host", "date", "digest"];
            ("rsa-sha256", strings(&covered), None)
        };
        Draft {
            method: "POST".into(),
            path: "/inbox".into(),
            target: self.base.clone(),
            authority: self.domain.clone(),
            headers,
            body,
            sig: Sig {
                rfc,
                key: w.key.clone(),
                key_id: Some(w.key_id.clone()),
                alg: Some(alg.into()),
                covered,
                created,
                expires: None,
                fake: Vec::new(),
                value: None,
                mangle: None,
                label: None,
            },
        }
    }

    fn plain(&self, method: &str, path: &str, body: impl Into<Vec<u8>>) -> Req {
        Req {
            method: method.into(),
            path: path.into(),
            headers: vec![h("Host", &self.domain), h("Content-Type", AP)],
            body: body.into(),
            length: None,
            chunked: false,
            checks: Vec::new(),
        }
    }

    fn note(&self, w: &Who, html: &str, reply_to: Option<&str>) -> Value {
        let id = format!("{}/notes/{}", w.origin, intercoop::crypto::random_token());
        let mut n = json!({"id": id, "type": "Note", "attributedTo": w.actor, "content": html,
                           "to": [PUBLIC], "cc": [], "published": "2025-06-01T12:00:00Z"});
        if let Some(r) = reply_to {
            n["inReplyTo"] = json!(r);
        }
        n
    }

    /// Serves the attacker actor's document (bent by `tweak`) and signs a Follow.
    fn evil_follow(&self, name: &str, ctype: Option<&str>, tweak: impl FnOnce(&mut Value)) -> Req {
        let w = self.evil_who(name);
        let mut doc = self.doc_of(&w.actor, &w.key_id);
        tweak(&mut doc);
        self.evil
            .put(&format!("/users/{name}"), 200, ctype, doc.to_string());
        self.follow_as(&w)
    }

    /// Makes a document claim to be the victim, keeping the attacker's key.
    fn impersonate(&self, doc: &mut Value) {
        doc["id"] = json!(self.a.actor);
        doc["inbox"] = json!(format!("{}/inbox", self.a.actor));
        doc["publicKey"]["owner"] = json!(self.a.actor);
        doc["name"] = json!("Evil twin");
    }

    /// An actor at `actor` signing with the attacker's key.
    fn who(&self, actor: &str, key_id: &str) -> Who {
        let origin = url::Url::parse(actor)
            .ok()
            .map(|u| u.origin())
            .filter(|o| o.is_tuple())
            .map(|o| o.ascii_serialization())
            .unwrap_or_else(|| actor.to_string());
        Who {
            actor: actor.to_string(),
            key_id: key_id.to_string(),
            key: self.keys[3].clone(),
            origin,
        }
    }
}

/// The words rows are written in, one line each.
#[rustfmt::skip]
impl Fx {
    fn keep(&self, key: &str, v: &Value) { self.memo.lock().unwrap().insert(key.to_string(), v.clone()); }
    fn got(&self, key: &str) -> Value {
        let found = self.memo.lock().unwrap().get(key).cloned();
        found.unwrap_or_else(|| panic!("no {key} kept by an earlier row"))
    }
    /// The previous row's request, without its probes.
    fn last(&self) -> Req { let mut r = self.last.lock().unwrap().clone().expect("a previous row"); r.checks.clear(); r }
    fn intact(&self, w: &Who) -> Check {
        let (name, pem) = self.snap.lock().unwrap().get(&w.actor).cloned().expect("a snapshot taken in setup");
        Check::ActorIs(w.actor.clone(), name, pem)
    }
    fn following(&self, w: &Who) -> Check { Check::Follow(w.actor.clone(), self.coop.clone(), Some("accepted")) }
    fn coop_follows_b(&self, state: &'static str) -> Check {
        Check::Follow(self.coop.clone(), self.b.actor.clone(), Some(state))
    }
    /// The victim (`a`, a follower since setup) must come out of an attack as it was, still following.
    fn guard_victim(&self, r: Req) -> Req { r.check(self.intact(&self.a)).check(self.following(&self.a)) }
    fn evil_who(&self, name: &str) -> Who {
        let actor = self.evil.url(&format!("/users/{name}"));
        self.who(&actor, &format!("{actor}#main-key"))
    }
    /// A Follow signed by an attacker actor whose document the row set up.
    fn evil_signed(&self, name: &str) -> Req { self.follow_as(&self.evil_who(name)) }
    /// A Follow from an actor and key on a private or odd address.
    fn bait(&self, origin: &str) -> Req {
        self.follow_as(&self.who(&format!("{origin}/users/x"), &format!("{origin}/users/x#main-key")))
    }
    fn id(&self, w: &Who, kind: &str) -> String {
        format!("{}/activities/{kind}-{}", w.origin, intercoop::crypto::random_token())
    }
    fn act(&self, w: &Who, kind: &str, object: Value) -> Value {
        json!({"@context": AS, "id": self.id(w, &kind.to_ascii_lowercase()), "type": kind,
               "actor": w.actor, "object": object, "to": [PUBLIC]})
    }
    fn follow(&self, w: &Who) -> Value { self.act(w, "Follow", json!(self.coop)) }
    fn send_as(&self, w: &Who, kind: &str, object: Value) -> Req { self.cv(w, &self.act(w, kind, object)).req() }
    /// Sends an activity and keeps it under `key` for later rows.
    fn kept(&self, w: &Who, key: &str, kind: &str, object: Value) -> Req {
        let activity = self.act(w, kind, object);
        self.keep(key, &activity);
        self.cv(w, &activity).req()
    }
    /// A reply that must be stored, sanitised; its id is kept as "reply".
    fn reply(&self, w: &Who, html: &str, to: &str) -> Req {
        let note = self.note(w, html, Some(to));
        let id = str_of(&note["id"]);
        self.keep("reply", &note["id"]);
        self.send_as(w, "Create", note).check(Check::Clean(id))
    }
    /// A post that must not be stored.
    fn orphan(&self, w: &Who, reply_to: Option<&str>) -> Req {
        let note = self.note(w, "<p>Anyone?</p>", reply_to);
        let id = str_of(&note["id"]);
        self.send_as(w, "Create", note).check(Check::NotStored(id))
    }
    /// A draft-cavage request to the shared inbox, as Mastodon signs it.
    fn cv(&self, w: &Who, activity: &Value) -> Draft { self.cvb(w, serde_json::to_vec(activity).unwrap()) }
    /// An RFC 9421 request to the shared inbox, as Fedify signs it.
    fn rf(&self, w: &Who, activity: &Value) -> Draft { self.rfb(w, serde_json::to_vec(activity).unwrap()) }
    /// `a` re-following the co-op: accepted when signed well, a no-op then.
    fn cva(&self) -> Draft { self.cv(&self.a, &self.follow(&self.a)) }
    fn rfa(&self) -> Draft { self.rf(&self.a, &self.follow(&self.a)) }
    /// Any body, well signed by `a`.
    fn ja(&self, body: impl Into<Vec<u8>>) -> Req { self.cvb(&self.a, body.into()).req() }
    /// `a`'s Follow of the co-op as bytes: a body to sign or to swap in.
    fn body_a(&self) -> Vec<u8> { serde_json::to_vec(&self.follow(&self.a)).unwrap() }
    fn follow_as(&self, w: &Who) -> Req { self.cv(w, &self.follow(w)).req() }
    /// An actor document with the attacker's key.
    fn doc_of(&self, id: &str, key_id: &str) -> Value { actor_doc(id, key_id, &self.pems[3]) }
    fn fid(&self) -> String { self.id(&self.a, "x") }
    /// `w` deletes c's reply, which must stay.
    fn delete_reply(&self, w: &Who) -> Req {
        let id = self.got("reply:c")["id"].clone();
        self.send_as(w, "Delete", id.clone()).check(Check::NotDeleted(str_of(&id)))
    }
    /// c's reply rewritten to say "pwned" and sent by `w`: the stored reply must not change.
    fn rewrite(&self, w: &Who, kind: &str) -> Req {
        let mut note = self.got("reply:c");
        note["content"] = json!("pwned");
        note["attributedTo"] = json!(w.actor);
        let id = str_of(&note["id"]);
        self.send_as(w, kind, note).check(Check::ContentLacks(id, "pwned"))
    }
    /// `a`'s Follow with one field replaced, well signed.
    fn bent(&self, field: &str, v: Value) -> Req { let mut act = self.follow(&self.a); act[field] = v; self.ja(act.to_string()) }
    /// An attacker actor's document made to claim the victim's id (its key stays the attacker's).
    fn victim_doc(&self, w: &Who) -> Value { let mut doc = self.doc_of(&w.actor, &w.key_id); self.impersonate(&mut doc); doc }
}

impl Fx {
    /// A Mastodon-shaped vote: a Note named after the option, no content.
    fn vote(&self, w: &Who, name: Value) -> Req {
        let id = format!("{}/notes/{}", w.origin, intercoop::crypto::random_token());
        let note = json!({"id": id, "type": "Note", "attributedTo": w.actor, "name": name,
                          "inReplyTo": self.poll, "to": [self.coop]});
        self.send_as(w, "Create", note)
    }
}

// ---------------------------------------------------------------- the runner

async fn counts(app: &TestApp) -> [i64; 6] {
    let mut conn = app.ctx.db.conn().await.unwrap();
    let n_actors = intercoop::q!(&mut conn, |c| actors::table.count().get_result::<i64>(c).await).unwrap();
    let n_follows = intercoop::q!(&mut conn, |c| follows::table.count().get_result::<i64>(c).await).unwrap();
    let n_inbox = intercoop::q!(&mut conn, |c| inbox_log::table.count().get_result::<i64>(c).await).unwrap();
    let n_objects = intercoop::q!(&mut conn, |c| objects::table.count().get_result::<i64>(c).await).unwrap();
    let n_reactions =
        intercoop::q!(&mut conn, |c| reactions::table.count().get_result::<i64>(c).await).unwrap();
    let n_reports = intercoop::q!(&mut conn, |c| reports::table.count().get_result::<i64>(c).await).unwrap();
    [n_actors, n_follows, n_inbox, n_objects, n_reactions, n_reports]
}

async fn object(app: &TestApp, id: &str) -> Option<intercoop::db::models::Object> {
    let mut conn = app.ctx.db.conn().await.unwrap();
    intercoop::db::queries::content::find_by_ap_id(&mut conn, id)
        .await
        .unwrap()
}

async fn follow_state(app: &TestApp, from: &str, to: &str) -> Option<String> {
    let follower = find_actor(&app.ctx, from).await.unwrap()?;
    let followed = find_actor(&app.ctx, to).await.unwrap()?;
    let mut conn = app.ctx.db.conn().await.unwrap();
    intercoop::db::queries::follows::find_follow(&mut conn, follower.id, followed.id)
        .await
        .unwrap()
        .map(|f| f.state)
}

async fn run_check(app: &TestApp, check: &Check, resp: &Resp) -> Result<(), String> {
    match check {
        Check::Hits(hits, path, want) => {
            let got = hits.lock().unwrap().get(path).copied().unwrap_or(0);
            if got == *want {
                Ok(())
            } else {
                Err(format!("{path} was requested {got} time(s), want {want}"))
            }
        }
        Check::ActorIs(id, name, pem) => match find_actor(&app.ctx, id).await.unwrap() {
            Some(a) if a.name == *name && a.public_key_pem == *pem => Ok(()),
            Some(a) => Err(format!("{id} was overwritten (its name is now {:?})", a.name)),
            None => Err(format!("{id} is gone")),
        },
        Check::ActorPresent(id) => match find_actor(&app.ctx, id).await.unwrap() {
            Some(_) => Ok(()),
            None => Err(format!("{id} is gone")),
        },
        Check::Follow(from, to, want) => {
            let got = follow_state(app, from, to).await;
            if got.as_deref() == *want {
                Ok(())
            } else {
                Err(format!("the follow {from} -> {to} is {got:?}, want {want:?}"))
            }
        }
        Check::Clean(id) => match object(app, id).await {
            None => Err(format!("{id} was not stored")),
            Some(o) => {
                let html: String = o
                    .content_html
                    .to_ascii_lowercase()
                    .chars()
                    .filter(|c| !c.is_whitespace() && !c.is_control())
                    .collect();
                match ACTIVE.split(' ').find(|bad| html.contains(*bad)) {
                    Some(bad) => Err(format!("the stored HTML keeps {bad}: {}", o.content_html)),
                    None => Ok(()),
                }
            }
        },
        Check::NotStored(id) => match object(app, id).await {
            Some(_) => Err(format!("{id} was stored")),
            None => Ok(()),
        },
        Check::NotDeleted(id) => match object(app, id).await {
            Some(o) if o.deleted_at.is_none() => Ok(()),
            Some(_) => Err(format!("{id} was deleted")),
            None => Err(format!("{id} is missing")),
        },
        Check::ContentLacks(id, text) => match object(app, id).await {
            Some(o) if !o.content_html.contains(*text) => Ok(()),
            Some(o) => Err(format!("{id} now says {:?}", o.content_html)),
            None => Err(format!("{id} is missing")),
        },
        Check::Header(name) => {
            if resp.headers.iter().any(|(n, _)| n.as_str() == *name) {
                Ok(())
            } else {
                Err(format!("the answer has no {name} header"))
            }
        }
        Check::BodyHas(phrases) => {
            let body = resp.body.to_ascii_lowercase();
            if phrases.iter().any(|p| body.contains(*p)) {
                Ok(())
            } else {
                Err(format!("the answer mentions none of {phrases:?}"))
            }
        }
    }
}

/// Runs every row in order (later rows may use what earlier ones kept) and
/// returns one line per failing row.
async fn run(app: &TestApp, fx: &Fx, table: &str, cases: Vec<Case>) -> Vec<String> {
    let mut failures = Vec::new();
    for case in cases {
        let before = counts(app).await;
        let req = (case.build)(fx);
        let resp = send(fx.addr, &req).await;
        let after = counts(app).await;
        let got: [i64; 6] = std::array::from_fn(|i| after[i] - before[i]);
        let mut why = Vec::new();
        for check in &req.checks {
            if let Err(e) = run_check(app, check, &resp).await {
                why.push(e);
            }
        }
        if !case.want.contains(&resp.status) || !case.delta.matches(&got) || !why.is_empty() {
            let answer: String = resp.body.chars().filter(|c| !c.is_control()).take(160).collect();
            let probes = if why.is_empty() {
                String::new()
            } else {
                format!("; {}", why.join("; "))
            };
            failures.push(format!(
                "[{table}] {}: status {} (want {:?}); rows {} (want {}){probes} | answer: {answer}",
                case.name,
                resp.status,
                case.want,
                show(&got),
                show(&case.delta.0),
            ));
        }
        *fx.last.lock().unwrap() = Some(req);
    }
    failures
}

fn finish(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} hostile case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------- scenarios

both_backends!(
    signatures,
    fetched_identity,
    malformed_requests,
    authorization,
    hostile_html,
    gatherings,
    forum_posts,
    replays_and_retries,
    rate_limit_per_actor,
    rate_limit_per_domain,
    blocked_domain,
);

fn unlimited(c: &mut Config) {
    c.inbox_rate_per_actor = 0;
    c.inbox_rate_per_domain = 0;
}

/// What a scenario's instance has seen before its tables run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Setup {
    /// a, b and c follow the co-op, and the co-op asks to follow b.
    Warm,
    /// No traffic at all, and the rows start early in a calendar minute: the
    /// limiter counts per calendar minute, so a table straddling a minute
    /// boundary would see its counts reset half-way.
    RateLimited,
}

/// A fresh instance configured by `adjust`, its fixture, and the tables run
/// in order on it; every failing row of every table is reported together.
async fn scenario(backend: Backend, adjust: fn(&mut Config), setup: Setup, tables: Vec<(&str, Vec<Case>)>) {
    let app = TestApp::with_coop_configured(backend, adjust).await;
    let fx = Fx::new(&app, setup == Setup::Warm).await;
    if setup == Setup::RateLimited {
        let second = now().rem_euclid(60);
        if second > 30 {
            tokio::time::sleep(Duration::from_secs((61 - second) as u64)).await;
        }
    }
    let mut failures = Vec::new();
    for (name, cases) in tables {
        failures.extend(run(&app, &fx, name, cases).await);
    }
    finish(&failures);
}

async fn signatures(backend: Backend) {
    let tables = vec![("draft-cavage", cavage_cases()), ("rfc9421", rfc9421_cases())];
    scenario(backend, unlimited, Setup::Warm, tables).await;
}

async fn fetched_identity(backend: Backend) {
    let tables = vec![("fetch", fetch_cases()), ("ssrf", ssrf_cases())];
    scenario(backend, unlimited, Setup::Warm, tables).await;
}

async fn malformed_requests(backend: Backend) {
    let tables = vec![
        ("json", malformed_cases()),
        ("paths", path_cases()),
        ("sizes", size_cases()),
    ];
    scenario(backend, unlimited, Setup::Warm, tables).await;
}

async fn authorization(backend: Backend) {
    let tables = vec![("authorization", authorization_cases())];
    scenario(backend, unlimited, Setup::Warm, tables).await;
}

async fn hostile_html(backend: Backend) {
    let tables = vec![("html", html_cases())];
    scenario(backend, unlimited, Setup::Warm, tables).await;
}

async fn gatherings(backend: Backend) {
    let tables = vec![("gatherings", gathering_cases())];
    scenario(backend, unlimited, Setup::Warm, tables).await;
}

async fn forum_posts(backend: Backend) {
    let tables = vec![("forums", forum_cases())];
    scenario(backend, unlimited, Setup::Warm, tables).await;
}

async fn replays_and_retries(backend: Backend) {
    let tables = vec![("replay", replay_cases())];
    scenario(backend, unlimited, Setup::Warm, tables).await;
}

async fn rate_limit_per_actor(backend: Backend) {
    let adjust = |c: &mut Config| {
        c.inbox_rate_per_actor = 5;
        c.inbox_rate_per_domain = 0;
    };
    let tables = vec![("rate per actor", per_actor_rate_cases())];
    scenario(backend, adjust, Setup::RateLimited, tables).await;
}

async fn rate_limit_per_domain(backend: Backend) {
    let adjust = |c: &mut Config| {
        c.inbox_rate_per_actor = 0;
        c.inbox_rate_per_domain = 6;
    };
    let tables = vec![("rate per domain", per_domain_rate_cases())];
    scenario(backend, adjust, Setup::RateLimited, tables).await;
}

async fn blocked_domain(backend: Backend) {
    let app = TestApp::with_coop_configured(backend, unlimited).await;
    let fx = Fx::new(&app, true).await;
    // Every peer here is on 127.0.0.1, so the block is the last thing this
    // instance sees. The federation side re-reads domain rules at most once a second.
    intercoop::service::moderation::block_domain(&app.ctx, &common::admin(), "127.0.0.1", "test")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    finish(&run(&app, &fx, "blocked", blocked_cases()).await);
}

fn all_tables() -> Vec<(&'static str, Vec<Case>)> {
    vec![
        ("draft-cavage", cavage_cases()),
        ("rfc9421", rfc9421_cases()),
        ("fetch", fetch_cases()),
        ("ssrf", ssrf_cases()),
        ("json", malformed_cases()),
        ("paths", path_cases()),
        ("sizes", size_cases()),
        ("authorization", authorization_cases()),
        ("html", html_cases()),
        ("replay", replay_cases()),
        ("rate per actor", per_actor_rate_cases()),
        ("rate per domain", per_domain_rate_cases()),
        ("blocked", blocked_cases()),
    ]
}

/// The suite's promise of breadth, checked without a server; names are
/// unique per table so that a failure points at one row.
#[test]
fn the_tables_hold_at_least_150_cases() {
    let mut total = 0;
    for (table, cases) in all_tables() {
        let mut names = HashSet::new();
        for c in &cases {
            assert!(names.insert(c.name), "[{table}] {} appears twice", c.name);
            assert!(!c.want.is_empty(), "[{table}] {} expects no status", c.name);
        }
        total += cases.len();
    }
    assert!(total >= 150, "only {total} hostile cases");
}

// ---------------------------------------------------------------- signatures
//
// The tables are `rustfmt::skip`: its call-width rule would spread every row
// over five lines, and a table is read row by row.

#[rustfmt::skip]
fn cavage_cases() -> Vec<Case> {
    let ok = d(0, 0, 1, 0, 0, 0);
    vec![
        row("a well-signed Follow is accepted (control)", S202, ok, |f| f.cva().req()),
        row("a Date 11 hours old is still inside the window", S202, ok, |f| f.cva().date(-11 * 3600).req()),
        row("a Date 50 minutes ahead is tolerated skew", S202, ok, |f| f.cva().date(50 * 60).req()),
        row("no Signature header", S401, Z, |f| f.cva().req().without("signature")),
        row("Signature: garbage", S401, Z, |f| f.cva().req().hdr("Signature", "garbage")),
        row("an empty Signature header", S401, Z, |f| f.cva().req().hdr("Signature", "")),
        row("an unterminated quote", S401, Z, |f| {
            let k = f.a.key_id.clone();
            f.cva().req().hdr("Signature", format!("keyId=\"{k},signature=\"abc"))
        }),
        row("keyId missing", S401, Z, |f| f.cva().no_kid().req()),
        row("keyId empty", S401, Z, |f| f.cva().kid("").req()),
        row("keyId blank", S401, Z, |f| f.cva().kid("  ").req()),
        row("keyId not a URL", S401, Z, |f| f.cva().kid("not a url").req()),
        row("keyId javascript:", S401, Z, |f| f.cva().kid("javascript:alert(1)").req()),
        row("keyId ftp://", S401, Z, |f| {
            let k = f.a.key_id.replacen("http://", "ftp://", 1);
            f.cva().kid(k).req()
        }),
        row("keyId https:// while the actor is http://", S401, Z, |f| {
            let k = f.a.key_id.replacen("http://", "https://", 1);
            f.cva().kid(k).req()
        }),
        row("keyId relative", S401, Z, |f| f.cva().kid("/users/a#main-key").req()),
        // The Signature line then passes the 8 KB header-line cap: 431 before any parsing.
        row("keyId 8 KB long", &[401, 431], Z, |f| {
            let k = format!("{}/users/{}#main-key", f.p1.base, "a".repeat(8000));
            f.cva().kid(k).req()
        }),
        row("keyId with unicode", S401, Z,
            |f| { let k = format!("{}/users/\u{e4}\u{2603}#main-key", f.p1.base); f.cva().kid(k).req() }),
        row("keyId with another fragment", S401, Z,
            |f| { let k = format!("{}#other-key", f.a.actor); f.cva().kid(k).req() }),
        row("keyId with a query", S401, Z,
            |f| { let k = format!("{}?x=1#main-key", f.a.actor); f.cva().kid(k).req() }),
        row("keyId on another server at a made-up path", S401, Z,
            |f| f.cva().kid(f.p2.url("/users/a#main-key")).req()),
        row("keyId of an actor on another server", S401, Z,
            |f| f.cva().kid(f.b.key_id.clone()).key(&f.b).req()),
        row("signed by another actor of the same server", S401, Z, |f| f.cv(&f.c, &f.follow(&f.a)).req()),
        row("signed with a key that is not the actor's", S401, Z, |f| f.cva().key(&f.c).req()),
        row("a signature of random bytes", S401, Z, |f| f.cva().value(B64.encode([7u8; 256])).req()),
        row("a signature that is not base64", S401, Z, |f| f.cva().value("!!not base64!!").req()),
        row("a truncated signature", S401, Z, |f| f.cva().mangle(|s| s[..s.len() - 8].to_string()).req()),
        row("a signature with one character changed", S401, Z, |f| f.cva().mangle(flip).req()),
        row("the body changed after signing", S401, Z,
            |f| { let other = f.body_a(); f.cva().req().body(other) }),
        row("the body changed and its Digest recomputed", S401, Z, |f| {
            let other = f.body_a();
            let digest = format!("SHA-256={}", sha256_b64(&other));
            f.cva().req().body(other).hdr("Digest", digest)
        }),
        row("signed for the co-op's inbox, sent to the shared one", S401, Z,
            |f| f.cva().fake("(request-target)", "post /actors/tea/inbox").req()),
        row("signed as a GET", S401, Z, |f| f.cva().fake("(request-target)", "get /inbox").req()),
        row("the Digest header missing", S401, Z, |f| f.cva().req().without("digest")),
        row("a Digest labelled SHA-512", S401, Z, |f| {
            let body = f.body_a();
            let digest = format!("SHA-512={}", sha256_b64(&body));
            f.cvb(&f.a, body).set("Digest", digest).req()
        }),
        row("digest not covered", S401, Z, |f| f.cva().cover(&["(request-target)", "host", "date"]).req()),
        row("host not covered", S401, Z, |f| f.cva().cover(&["(request-target)", "date", "digest"]).req()),
        row("(request-target) not covered", S401, Z, |f| f.cva().cover(&["host", "date", "digest"]).req()),
        row("no headers parameter (only Date implied)", S401, Z, |f| f.cva().cover(&[]).req()),
        row("a Date 13 hours old", S401, Z, |f| f.cva().date(-13 * 3600).req()),
        row("a Date 2 hours ahead", S401, Z, |f| f.cva().date(2 * 3600).req()),
        row("an unreadable Date", S401, Z, |f| f.cva().set("Date", "yesterday").req()),
        row("a covered Date that is not sent", S401, Z, |f| f.cva().req().without("date")),
        row("(expires) covered and past", S401, Z, |f| {
            f.cva()
                .cover(&["(request-target)", "host", "date", "digest", "(expires)"])
                .expires(now() - 60)
                .req()
        }),
        row("expires= past, not covered", S401, Z, |f| f.cva().expires(now() - 60).req()),
        row("hs2019 with (created) 13 hours old", S401, Z, |f| {
            f.cva()
                .alg("hs2019")
                .cover(&["(request-target)", "(created)", "host", "digest"])
                .created(Some(now() - 13 * 3600))
                .req()
        }),
        row("hs2019 with (created) 2 hours ahead", S401, Z, |f| {
            f.cva()
                .alg("hs2019")
                .cover(&["(request-target)", "(created)", "host", "digest"])
                .created(Some(now() + 2 * 3600))
                .req()
        }),
        row("algorithm hmac-sha256", S401, Z, |f| f.cva().alg("hmac-sha256").req()),
        row("algorithm ed25519 with an RSA key", S401, Z, |f| f.cva().alg("ed25519").req()),
        row("algorithm none", S401, Z, |f| f.cva().alg("none").req()),
        row("Host of another server, the signature valid for it", S401, Z,
            |f| f.cva().set("Host", "evil.example").req()),
        row("Host localhost:PORT, the signature valid for it", S401, Z,
            |f| f.cva().set("Host", format!("localhost:{}", f.addr.port())).req()),
        row("our Host, signed for another", S401, Z, |f| f.cva().fake("host", "evil.example").req()),
        row("no Host header", S400_401, Z, |f| f.cva().req().without("host")),
        row("two Host headers", S400_401, Z, |f| f.cva().req().push("Host", "evil.example")),
        row("two Signature headers: valid, then garbage", S401, Z,
            |f| f.cva().req().push("Signature", "keyId=\"x\",signature=\"eA==\"")),
        row("two Signature headers: garbage, then valid", S401, Z,
            |f| f.cva().req().push_first("Signature", "keyId=\"x\",signature=\"eA==\"")),
        row("the same valid Signature header twice", S401, Z,
            |f| { let r = f.cva().req(); let v = r.header("signature"); r.push("Signature", v) }),
    ]
}

#[rustfmt::skip]
fn rfc9421_cases() -> Vec<Case> {
    let ok = d(0, 0, 1, 0, 0, 0);
    vec![
        row("a well-signed Follow is accepted (control)", S202, ok, |f| f.rfa().req()),
        row("created 11 hours ago is still accepted", S202, ok,
            |f| f.rfa().created(Some(now() - 11 * 3600)).req()),
        row("sent to the co-op's own inbox (control)", S202, ok, |f| f.rfa().to("/actors/tea/inbox").req()),
        row("signed with another key", S401, Z, |f| f.rfa().key(&f.c).req()),
        row("the body changed after signing", S401, Z,
            |f| { let other = f.body_a(); f.rfa().req().body(other) }),
        row("the body changed and Content-Digest recomputed", S401, Z, |f| {
            let other = f.body_a();
            let digest = format!("sha-256=:{}:", sha256_b64(&other));
            f.rfa().req().body(other).hdr("Content-Digest", digest)
        }),
        row("@target-uri of another server", S401, Z, |f| {
            f.rfa()
                .fake("@target-uri", "https://evil.example/inbox")
                .fake("@authority", "evil.example")
                .req()
        }),
        row("@target-uri of the co-op's inbox, sent to the shared one", S401, Z,
            |f| { let uri = format!("{}/actors/tea/inbox", f.base); f.rfa().fake("@target-uri", uri).req() }),
        row("@authority of another server", S401, Z, |f| f.rfa().fake("@authority", "evil.example").req()),
        row("@method GET", S401, Z, |f| f.rfa().fake("@method", "GET").req()),
        row("Host of another server, everything signed for it", S401, Z, |f| {
            f.rfa()
                .set("Host", "evil.example")
                .fake("@authority", "evil.example")
                .fake("@target-uri", "http://evil.example/inbox")
                .req()
        }),
        row("created 13 hours ago", S401, Z, |f| f.rfa().created(Some(now() - 13 * 3600)).req()),
        row("created 2 hours ahead", S401, Z, |f| f.rfa().created(Some(now() + 2 * 3600)).req()),
        row("expires in the past", S401, Z, |f| f.rfa().expires(now() - 60).req()),
        row("created old, expires far ahead", S401, Z,
            |f| f.rfa().created(Some(now() - 13 * 3600)).expires(now() + 3600).req()),
        row("no created parameter", S401, Z, |f| f.rfa().created(None).req()),
        row("alg ed25519 with an RSA key", S401, Z, |f| f.rfa().alg("ed25519").req()),
        row("alg hmac-sha256", S401, Z, |f| f.rfa().alg("hmac-sha256").req()),
        row("no keyid", S401, Z, |f| f.rfa().no_kid().req()),
        row("keyid empty", S401, Z, |f| f.rfa().kid("").req()),
        row("keyid not a URL", S401, Z, |f| f.rfa().kid("not a url").req()),
        row("keyid on another server", S401, Z, |f| f.rfa().kid(f.b.key_id.clone()).key(&f.b).req()),
        row("signed by another actor of the same server", S401, Z, |f| f.rf(&f.c, &f.follow(&f.a)).req()),
        row("content-digest not covered", S401, Z,
            |f| f.rfa().cover(&["@method", "@target-uri", "@authority"]).req()),
        row("the Content-Digest header missing", S401, Z, |f| f.rfa().req().without("content-digest")),
        row("a Content-Digest labelled sha-512", S401, Z, |f| {
            let body = f.body_a();
            let digest = format!("sha-512=:{}:", sha256_b64(&body));
            f.rfb(&f.a, body).set("Content-Digest", digest).req()
        }),
        row("neither @target-uri nor @path covered", S401, Z,
            |f| f.rfa().cover(&["@method", "@authority", "content-digest"]).req()),
        row("an unknown derived component", S401, Z,
            |f| f.rfa().cover(&["@method", "@target-uri", "@authority", "content-digest", "@foo"]).req()),
        row("Signature under another label than Signature-Input", S401, Z, |f| f.rfa().label("sig2").req()),
        row("Signature-Input garbage", S401, Z, |f| f.rfa().req().hdr("Signature-Input", "sig1=garbage")),
        row("Signature-Input without Signature", S401, Z, |f| f.rfa().req().without("signature")),
        row("a Signature that is not a byte sequence", S401, Z, |f| f.rfa().value("***").req()),
        row("a truncated signature", S401, Z, |f| f.rfa().mangle(|s| s[..s.len() - 8].to_string()).req()),
        row("a signature with one character changed", S401, Z, |f| f.rfa().mangle(flip).req()),
        row("two Signature-Input lines", S401, Z,
            |f| { let r = f.rfa().req(); let v = r.header("signature-input"); r.push("Signature-Input", v) }),
        row("two Signature lines", S401, Z,
            |f| { let r = f.rfa().req(); let v = r.header("signature"); r.push("Signature", v) }),
    ]
}

// ---------------------------------------------------------------- whose key is it

#[rustfmt::skip]
fn fetch_cases() -> Vec<Case> {
    let joined = d(1, 1, 1, 0, 0, 0);
    vec![
        row("actor document as application/json", S401, Z,
            |f| f.evil_follow("json", Some("application/json"), |_| {})),
        row("actor document as text/html", S401, Z, |f| f.evil_follow("html", Some("text/html"), |_| {})),
        row("actor document as text/plain", S401, Z, |f| f.evil_follow("plain", Some("text/plain"), |_| {})),
        row("actor document without a content type", S401, Z, |f| f.evil_follow("untyped", None, |_| {})),
        row("ld+json with the ActivityStreams profile is accepted", S202, joined, |f| {
            let ct = "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";
            f.evil_follow("ld", Some(ct), |_| {})
        }),
        row("activity+json with a charset is accepted", S202, joined,
            |f| f.evil_follow("charset", Some("application/activity+json; charset=utf-8"), |_| {})),
        row("keyId redirects to another origin serving its own document", S401, Z, |f| {
            let there = f.other.url("/users/x7");
            f.other.doc("/users/x7", &f.doc_of(&there, &format!("{there}#main-key")));
            f.evil.redirect("/users/x7", &there);
            f.evil_signed("x7")
        }),
        row("keyId redirects to another origin serving the original id", S401, Z, |f| {
            let here = f.evil.url("/users/x8");
            f.other.doc("/users/x8", &f.doc_of(&here, &format!("{here}#main-key")));
            f.evil.redirect("/users/x8", &f.other.url("/users/x8"));
            f.evil_signed("x8")
        }),
        row("keyId redirects to an honest actor's document on another origin", S401, Z, |f| {
            f.evil.redirect("/users/x34", &f.p2.url("/users/b"));
            f.evil_signed("x34").check(f.intact(&f.b))
        }),
        row("a same-origin redirect to a document with its own id is accepted", S202, joined, |f| {
            let (key_id, id) = (f.evil.url("/users/x9#main-key"), f.evil.url("/people/x9"));
            f.evil.doc("/people/x9", &f.doc_of(&id, &key_id));
            f.evil.redirect("/users/x9", &id);
            f.follow_as(&f.who(&id, &key_id))
        }),
        // As Mastodon: an id that differs from where the document came from
        // (same origin) is fetched, and must serve itself.
        row("a document claiming another id on its own origin that serves itself", S202, joined, |f| {
            let (key_id, id) = (f.evil.url("/users/x10#main-key"), f.evil.url("/users/y10"));
            f.evil.doc("/users/x10", &f.doc_of(&id, &key_id));
            f.evil.doc("/users/y10", &f.doc_of(&id, &key_id));
            f.follow_as(&f.who(&id, &key_id))
        }),
        row("a document claiming another id on its own origin that does not serve it", S401, Z, |f| {
            let (key_id, id) = (f.evil.url("/users/x10b#main-key"), f.evil.url("/users/y10b"));
            f.evil.doc("/users/x10b", &f.doc_of(&id, &key_id));
            f.follow_as(&f.who(&id, &key_id))
        }),
        row("a document claiming an id on another origin", S401, Z, |f| {
            let (id, key_id) = (f.other.url("/users/x11"), f.evil.url("/users/x11#main-key"));
            f.evil_follow("x11", AP_CT, |doc| *doc = f.doc_of(&id, &key_id))
        }),
        row("a redirect out to another origin and back", S401, Z, |f| {
            let id = f.evil.url("/users/x12");
            f.evil.doc("/final12", &f.doc_of(&id, &format!("{id}#main-key")));
            f.other.redirect("/bounce12", &f.evil.url("/final12"));
            f.evil.redirect("/users/x12", &f.other.url("/bounce12"));
            f.evil_signed("x12")
        }),
        row("a key whose owner is on another origin; the owner is never fetched", S401, Z, |f| {
            let (key_id, owner) = (f.evil.url("/keys/k13"), f.other.url("/users/o13"));
            f.evil.doc("/keys/k13", &key_doc(&key_id, &owner, &f.pems[3]));
            f.other.doc("/users/o13", &f.doc_of(&owner, &key_id));
            let never = Check::Hits(f.other.hits(), "/users/o13".into(), 0);
            f.follow_as(&f.who(&f.evil.url("/users/o13"), &key_id)).check(never)
        }),
        row("a key whose owner does not list it", S401, Z, |f| {
            let (key_id, owner) = (f.evil.url("/keys/k14"), f.evil.url("/users/o14"));
            f.evil.doc("/keys/k14", &key_doc(&key_id, &owner, &f.pems[3]));
            f.evil.doc("/users/o14", &f.doc_of(&owner, &format!("{owner}#main-key")));
            f.follow_as(&f.who(&owner, &key_id))
        }),
        row("a key whose owner lists it is accepted", S202, joined, |f| {
            let (key_id, owner) = (f.evil.url("/keys/k15"), f.evil.url("/users/o15"));
            f.evil.doc("/keys/k15", &key_doc(&key_id, &owner, &f.pems[3]));
            f.evil.doc("/users/o15", &f.doc_of(&owner, &key_id));
            f.follow_as(&f.who(&owner, &key_id))
        }),
        row("a key document served as text/html", S401, Z, |f| {
            let (key_id, owner) = (f.evil.url("/keys/k16"), f.evil.url("/users/o16"));
            f.evil.put("/keys/k16", 200, Some("text/html"), key_doc(&key_id, &owner, &f.pems[3]).to_string());
            f.evil.doc("/users/o16", &f.doc_of(&owner, &key_id));
            f.follow_as(&f.who(&owner, &key_id))
        }),
        row("a key's owner document served as application/json", S401, Z, |f| {
            let (key_id, owner) = (f.evil.url("/keys/k17"), f.evil.url("/users/o17"));
            f.evil.doc("/keys/k17", &key_doc(&key_id, &owner, &f.pems[3]));
            f.evil.put("/users/o17", 200, Some("application/json"), f.doc_of(&owner, &key_id).to_string());
            f.follow_as(&f.who(&owner, &key_id))
        }),
        row("the actor's publicKey.id differs from the keyId", S401, Z, |f| {
            let other_key = f.evil.url("/users/x18#other-key");
            f.evil_follow("x18", AP_CT, |doc| doc["publicKey"]["id"] = json!(other_key))
        }),
        row("the actor's publicKey is owned by someone else", S401, Z, |f| {
            let someone = f.evil.url("/users/someone");
            f.evil_follow("x19", AP_CT, |doc| doc["publicKey"]["owner"] = json!(someone))
        }),
        row("an actor without a publicKey", S401, Z,
            |f| f.evil_follow("x20", AP_CT, |doc| *doc = drop_key(doc.take(), "publicKey"))),
        row("a publicKeyPem that is not a key", S401, Z, |f| {
            let pem = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
            f.evil_follow("x21", AP_CT, |doc| doc["publicKey"]["publicKeyPem"] = json!(pem))
        }),
        row("an actor document over 1 MB", S401, Z,
            |f| f.evil_follow("x22", AP_CT, |doc| doc["summary"] = json!("x".repeat(1_100_000)))),
        row("an actor document that is not JSON", S401, Z,
            |f| { f.evil.put("/users/x23", 200, AP_CT, "<html>hello</html>"); f.evil_signed("x23") }),
        row("an actor document answering 500", S401, Z,
            |f| { f.evil.put("/users/x24", 500, AP_CT, "{}"); f.evil_signed("x24") }),
        row("an actor document answering 404", S401, Z, |f| f.evil_signed("x25")),
        row("an actor document answering 410 Gone", S401, Z, |f| {
            let gone = json!({"id": f.evil.url("/users/x26"), "type": "Tombstone"}).to_string();
            f.evil.put("/users/x26", 410, AP_CT, gone);
            f.evil_signed("x26")
        }),
        row("a redirect loop", S401, Z,
            |f| { f.evil.redirect("/users/x27", &f.evil.url("/users/x27")); f.evil_signed("x27") }),
        row("five redirects in a row", S401, Z, |f| {
            let w = f.evil_who("x28");
            f.evil.redirect("/users/x28", &f.evil.url("/hop28/1"));
            for i in 1..5 {
                f.evil.redirect(&format!("/hop28/{i}"), &f.evil.url(&format!("/hop28/{}", i + 1)));
            }
            f.evil.doc("/hop28/5", &f.doc_of(&w.actor, &w.key_id));
            f.follow_as(&w)
        }),
        row("a redirect to a closed port", S401, Z,
            |f| { f.evil.redirect("/users/x29", "http://127.0.0.1:1/users/x29"); f.evil_signed("x29") }),
        row("an inbox on another origin", S401, Z, |f| {
            let inbox = f.other.url("/users/x30/inbox");
            f.evil_follow("x30", AP_CT, |doc| doc["inbox"] = json!(inbox))
        }),
        row("an actor document that is a JSON array", S401, Z, |f| {
            let w = f.evil_who("x31");
            f.evil.doc("/users/x31", &json!([f.doc_of(&w.actor, &w.key_id)]));
            f.follow_as(&w)
        }),
        row("an actor document without id", S401, Z,
            |f| f.evil_follow("x32", AP_CT, |doc| *doc = drop_key(doc.take(), "id"))),
        row("an actor document whose id is a number", S401, Z,
            |f| f.evil_follow("x33", AP_CT, |doc| doc["id"] = json!(33))),
        // The victim `a` followed the co-op in setup; its row must survive all of these.
        row("victim: a document on another origin claims its id", S401, Z,
            |f| f.guard_victim(f.evil_follow("v1", AP_CT, |doc| *doc = f.victim_doc(&f.evil_who("v1"))))),
        row("victim: its id claimed through a cross-origin redirect", S401, Z, |f| {
            f.other.doc("/v2", &f.victim_doc(&f.evil_who("v2")));
            f.evil.redirect("/users/v2", &f.other.url("/v2"));
            f.guard_victim(f.evil_signed("v2"))
        }),
        row("victim: its id claimed through a same-origin redirect", S401, Z, |f| {
            f.evil.doc("/people/v3", &f.victim_doc(&f.evil_who("v3")));
            f.evil.redirect("/users/v3", &f.evil.url("/people/v3"));
            f.guard_victim(f.evil_signed("v3"))
        }),
        row("victim: a key document naming it as owner; it is not fetched", S401, Z, |f| {
            let key_id = f.evil.url("/keys/v4");
            f.evil.doc("/keys/v4", &key_doc(&key_id, &f.a.actor, &f.pems[3]));
            let not_again = Check::Hits(f.p1.hits(), "/users/a".into(), f.p1.hit_count("/users/a"));
            f.guard_victim(f.follow_as(&f.who(&f.evil.url("/users/v4"), &key_id))).check(not_again)
        }),
        row("victim: its activity signed with a key on the attacker's server", S401, Z, |f| {
            f.evil.doc("/users/v5", &f.victim_doc(&f.evil_who("v5")));
            f.guard_victim(f.follow_as(&f.who(&f.a.actor, &f.evil.url("/users/v5#main-key"))))
        }),
        row("victim: its keyId, the attacker's key", S401, Z,
            |f| f.guard_victim(f.cva().with_key(&f.keys[3]).req())),
        row("victim: Update(Person) of it from the attacker's accepted actor", S403, Z,
            |f| { let w = f.evil_who("ld"); f.guard_victim(f.send_as(&w, "Update", f.victim_doc(&w))) }),
    ]
}

/// Key ids on private, loopback or odd addresses: nothing to fetch there may
/// give a key, and nothing may be stored.
#[rustfmt::skip]
fn ssrf_cases() -> Vec<Case> {
    vec![
        row("a closed loopback port", S401, Z, |f| f.bait("http://127.0.0.1:1")),
        row("IPv6 loopback", S401, Z, |f| f.bait("http://[::1]:1")),
        row("localhost's discard port", S401, Z, |f| f.bait("http://localhost:9")),
        row("0.0.0.0", S401, Z, |f| f.bait("http://0.0.0.0:1")),
        row("the short form 127.1", S401, Z, |f| f.bait("http://127.1:1")),
        row("a decimal IP", S401, Z, |f| f.bait("http://2130706433:1")),
        row("a hexadecimal IP", S401, Z, |f| f.bait("http://0x7f000001:1")),
        row("IPv4-mapped IPv6 loopback", S401, Z, |f| f.bait("http://[::ffff:127.0.0.1]:1")),
        row("userinfo before a loopback host", S401, Z, |f| f.bait("http://user:pass@127.0.0.1:1")),
        row("localhost. with a trailing dot", S401, Z, |f| f.bait("http://localhost.:1")),
        row("our own co-op's key id", S401, Z,
            |f| { let w = f.who(&f.coop, &format!("{}#main-key", f.coop)); f.follow_as(&w) }),
        row("our instance actor's key id", S401, Z, |f| {
            let actor = format!("{}/actor", f.base);
            let w = f.who(&actor, &format!("{actor}#main-key"));
            f.follow_as(&w)
        }),
        row("our health endpoint", S401, Z, |f| {
            let actor = format!("{}/healthz", f.base);
            let w = f.who(&actor, &format!("{actor}#main-key"));
            f.follow_as(&w)
        }),
        row("our own inbox", S401, Z, |f| {
            let actor = format!("{}/inbox", f.base);
            let w = f.who(&actor, &format!("{actor}#main-key"));
            f.follow_as(&w)
        }),
        row("a file: URL", S400_401, Z, |f| {
            let w = f.who("file:///etc/passwd", "file:///etc/passwd#main-key");
            f.follow_as(&w)
        }),
        row("a gopher: URL", S400_401, Z, |f| f.bait("gopher://127.0.0.1:70")),
    ]
}

// ---------------------------------------------------------------- malformed requests

#[rustfmt::skip]
fn malformed_cases() -> Vec<Case> {
    let logged = d(0, 0, ANY, 0, 0, 0);
    vec![
        row("truncated JSON", S400, Z, |f| { let s = f.follow(&f.a).to_string(); f.ja(&s[..s.len() / 2]) }),
        row("a top-level array", S400, Z, |f| f.ja(json!([f.follow(&f.a)]).to_string())),
        row("a top-level number", S400, Z, |f| f.ja("42")),
        row("a top-level null", S400, Z, |f| f.ja("null")),
        row("a top-level string", S400, Z, |f| f.ja("\"Follow\"")),
        row("an empty body", S400, Z, |f| f.ja("")),
        row("10 000 nested arrays", S400, Z, |f| {
            let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
            let (id, actor) = (f.fid(), &f.a.actor);
            f.ja(format!(r#"{{"id":"{id}","type":"Note","actor":"{actor}","object":{deep}}}"#))
        }),
        row("10 000 nested objects", S400, Z, |f| {
            let deep = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
            let (id, actor) = (f.fid(), &f.a.actor);
            f.ja(format!(r#"{{"id":"{id}","type":"Note","actor":"{actor}","object":{deep}}}"#))
        }),
        row("duplicate actor keys", S400_401, Z, |f| {
            let (id, a, c, coop) = (f.fid(), &f.a.actor, &f.c.actor, &f.coop);
            f.ja(format!(r#"{{"id":"{id}","type":"Follow","actor":"{a}","actor":"{c}","object":"{coop}"}}"#))
        }),
        row("duplicate id keys, the second elsewhere", S400, Z, |f| {
            let (id, a, coop) = (f.fid(), &f.a.actor, &f.coop);
            let other = "http://elsewhere.example/1";
            f.ja(format!(r#"{{"id":"{id}","id":"{other}","type":"Follow","actor":"{a}","object":"{coop}"}}"#))
        }),
        row("invalid UTF-8 in a string", S400, Z, |f| {
            let (id, a, coop) = (f.fid(), &f.a.actor, &f.coop);
            let mut b = format!(r#"{{"id":"{id}","type":"Follow","actor":"{a}","object":"{coop}","name":""#)
                .into_bytes();
            b.extend_from_slice(&[0xff, 0xfe, 0xc3]);
            b.extend_from_slice(b"\"}");
            f.ja(b)
        }),
        row("a UTF-16 body", S400, Z, |f| {
            let s = f.follow(&f.a).to_string();
            f.ja(s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect::<Vec<u8>>())
        }),
        row("a UTF-8 byte-order mark", &[202, 400], logged,
            |f| { let mut b = vec![0xef_u8, 0xbb, 0xbf]; b.extend(f.body_a()); f.ja(b) }),
        row("id is an object", S400, Z, |f| f.bent("id", json!({"id": f.fid()}))),
        row("id is a number", S400, Z, |f| f.bent("id", json!(7))),
        row("id missing", S400, Z, |f| f.ja(drop_key(f.follow(&f.a), "id").to_string())),
        row("type missing", S400, Z, |f| f.ja(drop_key(f.follow(&f.a), "type").to_string())),
        row("actor missing", S400, Z, |f| f.ja(drop_key(f.follow(&f.a), "actor").to_string())),
        row("id empty", S400, Z, |f| f.bent("id", json!(""))),
        row("id on another server than the actor", S400, Z,
            |f| f.bent("id", json!("http://elsewhere.example/activities/1"))),
        row("actor is not a URL", S400, Z, |f| f.bent("actor", json!("pat"))),
        row("actor is an array of two actors", S400_401, Z,
            |f| f.bent("actor", json!([f.a.actor, f.c.actor]))),
        row("actor is an object without id", S400, Z, |f| f.bent("actor", json!({"type": "Person"}))),
        row("type is null", S400, Z, |f| f.bent("type", Value::Null)),
        row("type is a number", S400, Z, |f| f.bent("type", json!(3))),
        row("type is an array", &[202, 400], logged, |f| f.bent("type", json!(["Follow", "Undo"]))),
        row("a lowercase type is not a Follow", S202, logged, |f| f.bent("type", json!("follow"))),
        row("an unknown activity type is accepted and ignored", S202, logged,
            |f| f.send_as(&f.a, "EmojiReact", json!(f.news))),
        row("trailing garbage after the object", S400, Z, |f| f.ja(format!("{} trailing", f.follow(&f.a)))),
        row("a comment inside the JSON", S400, Z,
            |f| { let s = f.follow(&f.a).to_string(); f.ja(format!("{{/* hi */ {}", &s[1..])) }),
        row("a NaN literal", S400, Z,
            |f| { let s = f.follow(&f.a).to_string(); f.ja(s.replacen('{', "{\"n\":NaN,", 1)) }),
        row("a Create whose object has no id", S400, Z, |f| {
            let note = drop_key(f.note(&f.a, "<p>x</p>", Some(&f.news)), "id");
            f.send_as(&f.a, "Create", note).check(Check::BodyHas(NO_ID))
        }),
        row("an Update whose object has no id", S400, Z, |f| {
            let note = drop_key(f.note(&f.a, "<p>x</p>", Some(&f.news)), "id");
            f.send_as(&f.a, "Update", note).check(Check::BodyHas(NO_ID))
        }),
        row("900 KB of content in a post nobody asked for", S202, logged, |f| {
            let note = f.note(&f.a, &"A".repeat(900_000), None);
            let id = str_of(&note["id"]);
            f.send_as(&f.a, "Create", note).check(Check::NotStored(id))
        }),
    ]
}

#[rustfmt::skip]
fn path_cases() -> Vec<Case> {
    vec![
        row("POST to the co-op's inbox (control)", S202, d(0, 0, 1, 0, 0, 0),
            |f| f.cva().to("/actors/tea/inbox").req()),
        row("GET /inbox", S405, Z, |f| f.plain("GET", "/inbox", "")),
        row("HEAD /inbox", S405, Z, |f| f.plain("HEAD", "/inbox", "")),
        row("PUT /inbox", S405, Z, |f| f.plain("PUT", "/inbox", f.follow(&f.a).to_string())),
        row("DELETE /inbox", S405, Z, |f| f.plain("DELETE", "/inbox", "")),
        row("GET /actors/tea/inbox", S405, Z, |f| f.plain("GET", "/actors/tea/inbox", "")),
        row("PATCH /actors/tea/inbox", S405, Z,
            |f| f.plain("PATCH", "/actors/tea/inbox", f.follow(&f.a).to_string())),
        row("POST to the outbox", S405, Z, |f| f.cva().to("/actors/tea/outbox").req()),
        row("an inbox of nobody", S404, Z, |f| f.cva().to("/actors/nobody/inbox").req()),
        row("an inbox of nobody, unsigned", &[401, 404], Z,
            |f| f.cva().to("/actors/nobody/inbox").req().without("signature")),
        row("encoded traversal /actors/..%2f..%2fetc/inbox", S404, Z,
            |f| f.cva().to("/actors/..%2f..%2fetc/inbox").req()),
        row("encoded dots /actors/%2e%2e/inbox", S404, Z, |f| f.cva().to("/actors/%2e%2e/inbox").req()),
        row("raw dot segments /actors/tea/../../inbox", &[400, 404], Z,
            |f| f.cva().to("/actors/tea/../../inbox").req()),
        row("an empty handle", S404, Z, |f| f.cva().to("/actors//inbox").req()),
        row("a trailing slash", S404, Z, |f| f.cva().to("/inbox/").req()),
        row("a double slash", &[400, 404], Z, |f| f.cva().to("//inbox").req()),
        row("a NUL in the handle", &[400, 404], Z, |f| f.cva().to("/actors/tea%00/inbox").req()),
        row("a path past the inbox", S404, Z, |f| f.cva().to("/actors/tea/inbox/../../../etc/passwd").req()),
        row("a bidi override in the handle", S404, Z, |f| f.cva().to("/actors/%E2%80%AEaet/inbox").req()),
    ]
}

#[rustfmt::skip]
fn size_cases() -> Vec<Case> {
    vec![
        row("a body one byte over the limit", S413, Z,
            |f| f.plain("POST", "/inbox", vec![b' '; intercoop::http::MAX_BODY_BYTES + 1])),
        row("a 5 MB body", S413, Z, |f| f.plain("POST", "/inbox", vec![b'['; 5 * 1024 * 1024])),
        row("a Content-Length over the limit, a short body", S413, Z, |f| {
            let mut r = f.plain("POST", "/inbox", "{}");
            r.length = Some((intercoop::http::MAX_BODY_BYTES + 1).to_string());
            r
        }),
        row("a chunked body over the limit", S413, Z, |f| {
            let mut r = f.plain("POST", "/inbox", vec![b' '; intercoop::http::MAX_BODY_BYTES + 1]);
            r.chunked = true;
            r
        }),
        row("a well-signed activity over the limit", S413, Z, |f| {
            let note = f.note(&f.a, &"A".repeat(intercoop::http::MAX_BODY_BYTES), None);
            f.send_as(&f.a, "Create", note)
        }),
        row("a 100 KB header value", HUGE, Z, |f| f.cva().req().push("X-Padding", "a".repeat(100 * 1024))),
        row("200 headers", HUGE, Z, |f| {
            let mut r = f.cva().req();
            for i in 0..200 {
                r = r.push(&format!("X-Filler-{i}"), "1");
            }
            r
        }),
        row("a 100 KB Signature header", HUGE, Z, |f| {
            let k = f.a.key_id.clone();
            let sig = "A".repeat(100 * 1024);
            f.cva().req().hdr("Signature", format!("keyId=\"{k}\",signature=\"{sig}\""))
        }),
        row("a 1 MB header", HUGE, Z, |f| f.cva().req().push("X-Padding", "b".repeat(1024 * 1024))),
    ]
}

// ---------------------------------------------------------------- events and polls

/// Joins, leaves and votes from peers, honest and not: none may take
/// someone else out, overfill an event, vote twice or vote for what is not
/// an option. Participations and votes are checked through the API's counts
/// in tests/gatherings.rs; here the status and the stored rows.
#[rustfmt::skip]
fn gathering_cases() -> Vec<Case> {
    let ok = d(0, 0, 1, 0, 0, 0);
    let refused = d(0, 0, ANY, 0, 0, 0);
    vec![
        row("b joins the event", S202, ok, |f| f.kept(&f.b, "join:b", "Join", json!(f.event))),
        row("a Join whose object is a number", S400, refused, |f| f.send_as(&f.a, "Join", json!(7))),
        row("a Join whose object is missing", S400, refused, |f| f.ja(drop_key(f.act(&f.a, "Join", json!(null)), "object").to_string())),
        row("a Join of something that is not our event", S202, ok, |f| f.send_as(&f.a, "Join", json!(f.news))),
        row("a Join of an address on another server", S202, ok, |f| f.send_as(&f.a, "Join", json!(f.evil.url("/events/x")))),
        row("a undoes b's Join, embedded", S403, refused, |f| f.send_as(&f.a, "Undo", f.got("join:b"))),
        row("a undoes b's Join by bare id", NOOP, refused, |f| f.send_as(&f.a, "Undo", f.got("join:b")["id"].clone())),
        row("a leaves an event it never joined", S202, ok, |f| f.send_as(&f.a, "Leave", json!(f.event))),
        row("a Leave whose object is an object", S202, ok, |f| f.send_as(&f.a, "Leave", json!({"id": f.event, "type": "Event"}))),
        row("c joins (the event is now full)", S202, ok, |f| f.send_as(&f.c, "Join", json!(f.event))),
        row("a joins a full event (Rejected, not stored)", S202, ok, |f| f.send_as(&f.a, "Join", json!(f.event))),
        row("b votes Friday", S202, ok, |f| f.vote(&f.b, json!("Friday"))),
        row("b votes Friday again", S202, ok, |f| f.vote(&f.b, json!("Friday"))),
        row("b votes Saturday too in a one-choice poll", &[422], refused, |f| f.vote(&f.b, json!("Saturday"))),
        row("a votes for an option that does not exist", &[422], refused, |f| f.vote(&f.a, json!("Sunday"))),
        row("a votes with a 10 KB option name", &[422], refused, |f| f.vote(&f.a, json!("F".repeat(10_000)))),
        // Addressed to the co-op alone, it is not a public reply either: not kept.
        row("a vote whose name is an array is no vote", S202, ok, |f| f.vote(&f.a, json!(["Friday"]))),
        row("a 'vote' with hostile content is a reply, sanitised", S202, d(0, 0, 1, 1, 0, 0), |f| {
            let mut note = f.note(&f.c, "<p>Friday<script>alert(1)</script></p>", Some(&f.poll));
            note["name"] = json!("Friday");
            let id = str_of(&note["id"]);
            f.send_as(&f.c, "Create", note).check(Check::Clean(id))
        }),
    ]
}

/// Posts into a forum, in the shapes Lemmy and Mastodon send and in
/// broken ones, and group announces from actors that are no group.
#[rustfmt::skip]
fn forum_cases() -> Vec<Case> {
    let stored = d(0, 0, 1, 1, 0, 0);
    let refused = d(0, 0, ANY, 0, 0, 0);
    vec![
        row("b posts a Lemmy-shaped Page to the forum", S202, stored, |f| {
            let id = format!("{}/post/{}", f.b.origin, intercoop::crypto::random_token());
            let page = json!({"id": id, "type": "Page", "attributedTo": f.b.actor, "to": [f.forum, PUBLIC],
                              "audience": f.forum, "name": "Seeds", "content": "<p>Who has seeds?</p>"});
            f.send_as(&f.b, "Create", page).check(Check::Clean(id))
        }),
        row("a Page to the forum with hostile HTML is sanitised", S202, stored, |f| {
            let id = format!("{}/post/{}", f.a.origin, intercoop::crypto::random_token());
            let page = json!({"id": id, "type": "Page", "attributedTo": f.a.actor, "to": [f.forum, PUBLIC],
                              "name": "<img src=x onerror=alert(1)>Hi",
                              "content": "<p>Hi<script>alert(1)</script><iframe src=\"http://x\"></iframe></p>"});
            f.send_as(&f.a, "Create", page).check(Check::Clean(id))
        }),
        row("a Page to the forum with no name and no text", S400, refused, |f| {
            let id = format!("{}/post/{}", f.a.origin, intercoop::crypto::random_token());
            let page = json!({"id": id, "type": "Page", "attributedTo": f.a.actor, "to": [f.forum, PUBLIC]});
            f.send_as(&f.a, "Create", page)
        }),
        row("a Mastodon mention of the forum that is only the mention", S400, refused, |f| {
            let mut note = f.note(&f.c, "<p><a href=\"x\">@general</a></p>", None);
            note["cc"] = json!([f.forum]);
            f.send_as(&f.c, "Create", note)
        }),
        row("a Page with a 10 KB name is kept, its title cut", S202, stored, |f| {
            let id = format!("{}/post/{}", f.c.origin, intercoop::crypto::random_token());
            let page = json!({"id": id, "type": "Page", "attributedTo": f.c.actor, "to": [f.forum, PUBLIC],
                              "name": "N".repeat(10_000), "content": "x"});
            f.send_as(&f.c, "Create", page)
        }),
        row("a reply in the open thread", S202, stored, |f| {
            let note = f.note(&f.b, "<p>Me too.</p>", Some(&f.thread));
            f.send_as(&f.b, "Create", note)
        }),
        row("a reply in the locked thread is refused", S403, refused, |f| {
            let note = f.note(&f.b, "<p>Late.</p>", Some(&f.locked));
            let id = str_of(&note["id"]);
            f.send_as(&f.b, "Create", note).check(Check::NotStored(id))
        }),
        row("a followers-only post to the forum is not kept", S202, refused, |f| {
            let mut note = f.note(&f.a, "<p>Psst</p>", None);
            note["to"] = json!([format!("{}/followers", f.a.actor)]);
            note["cc"] = json!([f.forum]);
            f.send_as(&f.a, "Create", note)
        }),
        row("a Person announcing an embedded Create is only logged", S202, refused, |f| {
            let inner = f.act(&f.c, "Create", f.note(&f.c, "<p>Forged</p>", Some(&f.thread)));
            f.send_as(&f.a, "Announce", inner)
        }),
        row("an Announce embedding an Announce is only logged", S202, refused, |f| {
            let inner = f.act(&f.a, "Announce", json!(f.thread));
            f.send_as(&f.a, "Announce", inner)
        }),
    ]
}

// ---------------------------------------------------------------- authorization

#[rustfmt::skip]
fn authorization_cases() -> Vec<Case> {
    let liked = d(0, 0, 1, 0, 1, 0);
    let ok = d(0, 0, 1, 0, 0, 0);
    vec![
        row("b likes the news", S202, liked, |f| f.kept(&f.b, "like:b", "Like", json!(f.news))),
        row("c likes the news", S202, liked, |f| f.kept(&f.c, "like:c", "Like", json!(f.news))),
        row("b boosts the news", S202, liked, |f| f.kept(&f.b, "announce:b", "Announce", json!(f.news))),
        row("c replies to the news", S202, d(0, 0, 1, 1, 0, 0), |f| {
            let note = f.note(&f.c, "<p>Count me in.</p>", Some(&f.news));
            f.keep("reply:c", &note);
            f.send_as(&f.c, "Create", note)
        }),
        row("a undoes b's Like by bare id", NOOP, IGNORED,
            |f| f.send_as(&f.a, "Undo", f.got("like:b")["id"].clone())),
        row("a undoes c's Like by bare id (same server)", NOOP, IGNORED,
            |f| f.send_as(&f.a, "Undo", f.got("like:c")["id"].clone())),
        row("a undoes b's Announce by bare id", NOOP, IGNORED,
            |f| f.send_as(&f.a, "Undo", f.got("announce:b")["id"].clone())),
        row("a undoes b's Like, embedded", S403, Z, |f| f.send_as(&f.a, "Undo", f.got("like:b"))),
        row("a undoes c's Like, embedded", S403, Z, |f| f.send_as(&f.a, "Undo", f.got("like:c"))),
        row("a undoes c's Like embedded with its actor rewritten to a", NOOP, IGNORED, |f| {
            let mut like = f.got("like:c");
            like["actor"] = json!(f.a.actor);
            f.send_as(&f.a, "Undo", like)
        }),
        row("a undoes b's Follow, embedded", S403, Z,
            |f| f.send_as(&f.a, "Undo", f.got("follow:b")).check(f.following(&f.b))),
        row("a undoes c's Follow, embedded", S403, Z,
            |f| f.send_as(&f.a, "Undo", f.got("follow:c")).check(f.following(&f.c))),
        row("a undoes c's Follow by bare id", NOOP, IGNORED, |f| {
            let id = f.got("follow:c")["id"].clone();
            f.send_as(&f.a, "Undo", id).check(f.following(&f.c))
        }),
        row("a undoes b's Follow by bare id", NOOP, IGNORED, |f| {
            let id = f.got("follow:b")["id"].clone();
            f.send_as(&f.a, "Undo", id).check(f.following(&f.b))
        }),
        row("a deletes c's reply (same server)", S202, IGNORED, |f| f.delete_reply(&f.a)),
        row("b deletes c's reply (another server)", S403, Z, |f| f.delete_reply(&f.b)),
        row("a rewrites c's reply (same server)", NOT_YOURS, IGNORED, |f| f.rewrite(&f.a, "Update")),
        row("b rewrites c's reply (another server)", S403, Z, |f| f.rewrite(&f.b, "Update")),
        row("a creates a post under the id of c's reply", NOT_YOURS, IGNORED, |f| f.rewrite(&f.a, "Create")),
        row("b creates a post with an id on c's server", S403, Z, |f| {
            let mut note = f.note(&f.b, "pwned", Some(&f.news));
            note["id"] = json!(format!("{}/notes/forged", f.c.origin));
            let id = str_of(&note["id"]);
            f.send_as(&f.b, "Create", note).check(Check::NotStored(id))
        }),
        row("a deletes the co-op's news", S403, Z,
            |f| f.send_as(&f.a, "Delete", json!(f.news)).check(Check::NotDeleted(f.news.clone()))),
        row("a rewrites the co-op's news", S403, Z, |f| {
            let article = json!({"id": f.news, "type": "Article", "content": "pwned"});
            f.send_as(&f.a, "Update", article).check(Check::ContentLacks(f.news.clone(), "pwned"))
        }),
        row("a deletes actor c (same server)", NOOP, IGNORED, |f| {
            f.send_as(&f.a, "Delete", json!(f.c.actor))
                .check(Check::ActorPresent(f.c.actor.clone()))
                .check(f.following(&f.c))
        }),
        row("b deletes actor a", S403, Z, |f| {
            f.send_as(&f.b, "Delete", json!(f.a.actor))
                .check(Check::ActorPresent(f.a.actor.clone()))
                .check(f.following(&f.a))
        }),
        row("a rewrites c's profile (same server)", NOOP, IGNORED, |f| {
            let mut doc = f.doc_of(&f.c.actor, &f.c.key_id);
            doc["name"] = json!("Pwned");
            f.send_as(&f.a, "Update", doc).check(f.intact(&f.c))
        }),
        row("b rewrites a's profile", S403, Z, |f| {
            let mut doc = f.doc_of(&f.a.actor, &f.a.key_id);
            doc["name"] = json!("Pwned");
            f.send_as(&f.b, "Update", doc).check(f.intact(&f.a))
        }),
        row("a accepts the co-op's Follow of b, embedded", S403, Z,
            |f| f.send_as(&f.a, "Accept", coop_follow(f)).check(f.coop_follows_b("pending"))),
        row("a rejects the co-op's Follow of b, embedded", S403, Z,
            |f| f.send_as(&f.a, "Reject", coop_follow(f)).check(f.coop_follows_b("pending"))),
        row("a accepts the co-op's Follow of b by id", NOOP, IGNORED,
            |f| f.send_as(&f.a, "Accept", f.got("coopfollow")).check(f.coop_follows_b("pending"))),
        row("a rejects the co-op's Follow of b by id", NOOP, IGNORED,
            |f| f.send_as(&f.a, "Reject", f.got("coopfollow")).check(f.coop_follows_b("pending"))),
        row("c rejects a Follow whose object is a", S403, Z, |f| {
            let mut follow = coop_follow(f);
            follow["object"] = json!(f.a.actor);
            f.send_as(&f.c, "Reject", follow).check(f.coop_follows_b("pending"))
        }),
        // Controls: the owners themselves may do all of it.
        row("b accepts the co-op's Follow (control)", S202, ok,
            |f| f.send_as(&f.b, "Accept", coop_follow(f)).check(f.coop_follows_b("accepted"))),
        row("b undoes its own Like (control)", S202, d(0, 0, 1, 0, -1, 0),
            |f| f.send_as(&f.b, "Undo", f.got("like:b"))),
        row("c deletes its own reply (control)", S202, ok,
            |f| f.send_as(&f.c, "Delete", f.got("reply:c")["id"].clone())),
        row("a reports the news (control)", S202, d(0, 0, 1, 0, 0, 1),
            |f| f.send_as(&f.a, "Flag", json!([f.news]))),
        row("a undoes its own Follow (control)", S202, d(0, -1, 1, 0, 0, 0),
            |f| f.send_as(&f.a, "Undo", f.got("follow:a"))),
    ]
}

/// The Follow the co-op sent b in setup, as b would embed it in its answer.
fn coop_follow(f: &Fx) -> Value {
    json!({"id": f.got("coopfollow"), "type": "Follow", "actor": f.coop, "object": f.b.actor})
}

// ---------------------------------------------------------------- replies and HTML

#[rustfmt::skip]
fn html_cases() -> Vec<Case> {
    let stored = d(0, 0, 1, 1, 0, 0);
    let dropped = d(0, 0, ANY, 0, 0, 0);
    vec![
        row("<script> in a reply", S202, stored,
            |f| f.reply(&f.a, "<p>Hello</p><script>alert(1)</script>", &f.news)),
        row("<img onerror>", S202, stored,
            |f| f.reply(&f.a, "<p>pic</p><img src=x onerror=alert(1)>", &f.news)),
        row("a javascript: link", S202, stored,
            |f| f.reply(&f.a, "<a href=\"javascript:alert(1)\">click</a>", &f.news)),
        row("a JaVaScRiPt: link", S202, stored,
            |f| f.reply(&f.a, "<a href=\"JaVaScRiPt:alert(1)\">click</a>", &f.news)),
        row("a javascript: link with an encoded tab", S202, stored,
            |f| f.reply(&f.a, "<a href=\"jav&#x09;ascript:alert(1)\">click</a>", &f.news)),
        row("a javascript: link with entity-encoded letters", S202, stored,
            |f| f.reply(&f.a, "<a href=\"&#106;avascript:alert(1)\">click</a>", &f.news)),
        row("<svg onload> around a script", S202, stored,
            |f| f.reply(&f.a, "<svg onload=alert(1)><script>alert(2)</script></svg><p>ok</p>", &f.news)),
        row("<iframe> with a javascript: src", S202, stored,
            |f| f.reply(&f.a, "<iframe src=\"javascript:alert(1)\"></iframe><p>ok</p>", &f.news)),
        row("event handlers on allowed tags", S202, stored,
            |f| f.reply(&f.a, "<p onclick=\"alert(1)\" onload=\"alert(2)\">tap</p>", &f.news)),
        row("a split script tag", S202, stored,
            |f| f.reply(&f.a, "<scr<script>ipt>alert(1)</scr</script>ipt><p>ok</p>", &f.news)),
        row("math/style mutation XSS", S202, stored, |f| {
            let html = "<math><mi><style><img src=x onerror=alert(1)></style></mi></math><p>ok</p>";
            f.reply(&f.a, html, &f.news)
        }),
        row("a data: URL link", S202, stored, |f| {
            let html = "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>";
            f.reply(&f.a, html, &f.news)
        }),
        row("<object> and <embed>", S202, stored, |f| {
            let html = "<object data=\"javascript:alert(1)\"></object><embed src=\"javascript:alert(2)\"><p>ok</p>";
            f.reply(&f.a, html, &f.news)
        }),
        row("a <form> with a javascript: action", S202, stored,
            |f| f.reply(&f.a, "<form action=\"javascript:alert(1)\"><input></form><p>ok</p>", &f.news)),
        row("a <style> block", S202, stored,
            |f| f.reply(&f.a, "<style>body{background:url(javascript:alert(1))}</style><p>ok</p>", &f.news)),
        row("inReplyTo given as an object", S202, stored, |f| {
            let mut note = f.note(&f.a, "<p>ok</p><script>alert(1)</script>", None);
            note["inReplyTo"] = json!({"id": f.news, "type": "Article"});
            let id = str_of(&note["id"]);
            f.keep("reply", &note["id"]);
            f.send_as(&f.a, "Create", note).check(Check::Clean(id))
        }),
        row("a reply to a stored reply is stored", S202, stored,
            |f| f.reply(&f.c, "<p>me too<script>alert(1)</script></p>", &str_of(&f.got("reply")))),
        row("and a reply to that one, from another server", S202, stored,
            |f| f.reply(&f.b, "<p>and me<img src=x onerror=alert(1)></p>", &str_of(&f.got("reply")))),
        row("a reply to an unknown URL on our server is not stored", S202, dropped,
            |f| f.orphan(&f.a, Some(&format!("{}/news/does-not-exist", f.base)))),
        row("a reply to an unknown URL elsewhere is not stored", S202, dropped, |f| {
            f.orphan(&f.a, Some("http://elsewhere.example/notes/1"))
        }),
        row("a reply to a reply that was never stored", S202, dropped,
            |f| f.orphan(&f.a, Some(&format!("{}/notes/never", f.a.origin)))),
        row("a post that is no reply, from an actor nobody follows", S202, dropped, |f| f.orphan(&f.a, None)),
    ]
}

// ---------------------------------------------------------------- replays and retries

#[rustfmt::skip]
fn replay_cases() -> Vec<Case> {
    let ok = d(0, 0, 1, 0, 0, 0);
    vec![
        row("b's new Like is accepted", S202, d(0, 0, 1, 0, 1, 0),
            |f| f.send_as(&f.b, "Like", json!(f.news))),
        row("the same request byte for byte (a replay)", S401, Z, |f| f.last()),
        row("the same Like signed anew for the co-op's inbox", S202, Z,
            |f| f.cvb(&f.b, f.last().body).to("/actors/tea/inbox").req()),
        row("the same Like signed anew with RFC 9421", S202, Z, |f| f.rfb(&f.b, f.last().body).req()),
        row("that RFC 9421 request replayed", S401, Z, |f| f.last()),
        row("the same Like signed with its headers in another order", S202, Z,
            |f| f.cvb(&f.b, f.last().body).cover(&["digest", "date", "host", "(request-target)"]).req()),
        row("the same id with another body, freshly signed", S202, Z, |f| {
            let mut like: Value = serde_json::from_slice(&f.last().body).unwrap();
            like["content"] = json!("again");
            f.cv(&f.b, &like).req()
        }),
        row("a's new Follow is accepted", S202, ok, |f| f.cva().req()),
        row("its signature replayed on the co-op's inbox", S401, Z,
            |f| { let mut r = f.last(); r.path = "/actors/tea/inbox".into(); r }),
        row("its signature replayed with another Date", S401, Z, |f| f.last().hdr("Date", date_at(-5))),
        row("a Follow refused for a wrong key", S401, Z, |f| {
            let follow = f.follow(&f.a);
            f.keep("retry", &follow);
            f.cv(&f.a, &follow).key(&f.c).req()
        }),
        row("the same Follow correctly signed is then accepted", S202, ok,
            |f| f.cv(&f.a, &f.got("retry")).req()),
        row("a Flag is stored", S202, d(0, 0, 1, 0, 0, 1), |f| f.send_as(&f.a, "Flag", json!([f.news]))),
        row("the Flag retried with a new signature is not stored twice", S202, Z,
            |f| f.rfb(&f.a, f.last().body).req()),
        // The Undo names the Follow now stored: the one just accepted.
        row("a undoes its Follow", S202, d(0, -1, 1, 0, 0, 0), |f| f.send_as(&f.a, "Undo", f.got("retry"))),
        row("the Undo retried with a new signature", S202, Z, |f| f.rfb(&f.a, f.last().body).req()),
        row("a follows again with a new id", S202, d(0, 1, 1, 0, 0, 0), |f| f.cva().req()),
    ]
}

// ---------------------------------------------------------------- rate limits and blocks

#[rustfmt::skip]
fn per_actor_rate_cases() -> Vec<Case> {
    let first = d(1, 1, 1, 0, 0, 0);
    let again = d(0, 0, 1, 0, 0, 0);
    vec![
        row("s0's 1st activity this minute", S202, first, |f| f.follow_as(&f.s0)),
        row("s0's 2nd", S202, again, |f| f.follow_as(&f.s0)),
        row("s0's 3rd", S202, again, |f| f.follow_as(&f.s0)),
        row("s0's 4th", S202, again, |f| f.follow_as(&f.s0)),
        row("s0's 5th", S202, again, |f| f.follow_as(&f.s0)),
        row("s0's 6th is over the limit", S429, Z,
            |f| f.follow_as(&f.s0).check(Check::Header("retry-after"))),
        row("s0's 7th, signed with RFC 9421", S429, Z,
            |f| f.rf(&f.s0, &f.follow(&f.s0)).req().check(Check::Header("retry-after"))),
        row("s0's 8th, to the co-op's inbox", S429, Z,
            |f| f.cv(&f.s0, &f.follow(&f.s0)).to("/actors/tea/inbox").req()),
        row("another actor of the same server is not held back", S202, first, |f| f.follow_as(&f.s1)),
        row("and its 2nd passes too", S202, again, |f| f.follow_as(&f.s1)),
    ]
}

#[rustfmt::skip]
fn per_domain_rate_cases() -> Vec<Case> {
    let first = d(1, 1, 1, 0, 0, 0);
    let again = d(0, 0, 1, 0, 0, 0);
    // Six a minute for the whole server: s0 and s1 share it.
    vec![
        row("s0's 1st", S202, first, |f| f.follow_as(&f.s0)),
        row("s0's 2nd", S202, again, |f| f.follow_as(&f.s0)),
        row("s0's 3rd", S202, again, |f| f.follow_as(&f.s0)),
        row("s1's 1st", S202, first, |f| f.follow_as(&f.s1)),
        row("s1's 2nd", S202, again, |f| f.follow_as(&f.s1)),
        row("s1's 3rd", S202, again, |f| f.follow_as(&f.s1)),
        row("s0 past the server's limit", S429, Z,
            |f| f.follow_as(&f.s0).check(Check::Header("retry-after"))),
        row("s1 past the server's limit", S429, Z,
            |f| f.rf(&f.s1, &f.follow(&f.s1)).req().check(Check::Header("retry-after"))),
        // Whether its key is fetched before the limit applies is the server's choice.
        row("a third actor of that server", S429, d(ANY, 0, 0, 0, 0, 0), |f| f.follow_as(&f.a)),
    ]
}

#[rustfmt::skip]
fn blocked_cases() -> Vec<Case> {
    vec![
        row("a known follower's Follow", S403, Z, |f| f.cva().req()),
        row("the same signed with RFC 9421", S403, Z, |f| f.rfa().req()),
        row("to the co-op's inbox", S403, Z, |f| f.cva().to("/actors/tea/inbox").req()),
        row("a Like from another port of the blocked host", S403, Z,
            |f| f.send_as(&f.b, "Like", json!(f.news))),
        row("a Flag", S403, Z, |f| f.send_as(&f.c, "Flag", json!([f.news]))),
        row("a reply to our news", S403, Z, |f| f.orphan(&f.a, Some(&f.news))),
        row("a stranger's first activity, refused before its key is fetched", S403, Z, |f| {
            let w = f.evil_who("blk");
            f.evil.doc("/users/blk", &f.doc_of(&w.actor, &w.key_id));
            let never = Check::Hits(f.evil.hits(), "/users/blk".into(), 0);
            f.follow_as(&w).check(never)
        }),
        row("unsigned, from the blocked host", &[401, 403], Z, |f| f.cva().req().without("signature")),
    ]
}
