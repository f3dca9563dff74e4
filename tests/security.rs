//! The hardening rules that are not about one signature: what is served
//! after a deletion, open redirects, bounded work (key refetches, failed
//! fetches, concurrent fetches, rates), bounded storage (the inbox log,
//! replies), the login limiter under concurrency, and links from remote
//! data. Real server, real signatures, fake remote servers on loopback.
//! Forged and mismatched signatures are in tests/hostile.rs.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use common::{Backend, TestApp, ADMIN, PASSWORD};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use intercoop::db::schema::{inbox_log, objects, outbox};
use intercoop::federation::signatures::{sign_cavage, PrivateKey};
use intercoop::service::news::{self, NewsInput};
use serde_json::{json, Value};

/// How a fake actor's document is served.
#[derive(Clone, Copy, PartialEq)]
enum Serve {
    Normal,
    /// Answers 500.
    Broken,
    /// Answers after 12 s (past our 10 s fetch timeout).
    Hang,
}

#[derive(Clone)]
struct FakeState {
    base: String,
    public_pem: String,
    modes: Arc<Mutex<HashMap<String, Serve>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    /// Extra fields merged into actor documents.
    extra: Arc<Mutex<HashMap<String, Value>>>,
}

/// A remote server with any number of actors sharing one key.
struct Fake {
    base: String,
    key: PrivateKey,
    state: FakeState,
}

async fn fake_actor(State(s): State<FakeState>, Path(name): Path<String>) -> Response {
    *s.hits.lock().unwrap().entry(name.clone()).or_default() += 1;
    let mode = s
        .modes
        .lock()
        .unwrap()
        .get(&name)
        .copied()
        .unwrap_or(Serve::Normal);
    match mode {
        Serve::Broken => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Serve::Hang => tokio::time::sleep(Duration::from_secs(12)).await,
        Serve::Normal => {}
    }
    let id = format!("{}/users/{name}", s.base);
    let mut doc = json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": id, "type": "Person", "preferredUsername": name,
        "inbox": format!("{id}/inbox"),
        "publicKey": {"id": format!("{id}#main-key"), "owner": id, "publicKeyPem": s.public_pem}
    });
    if let Some(Value::Object(extra)) = s.extra.lock().unwrap().get(&name) {
        for (k, v) in extra {
            doc[k] = v.clone();
        }
    }
    (
        [(axum::http::header::CONTENT_TYPE, "application/activity+json")],
        doc.to_string(),
    )
        .into_response()
}

impl Fake {
    async fn start() -> Fake {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let (public_pem, private) = intercoop::crypto::generate_actor_keys().unwrap();
        let state = FakeState {
            base: base.clone(),
            public_pem,
            modes: Default::default(),
            hits: Default::default(),
            extra: Default::default(),
        };
        let app = Router::new()
            .route("/users/{name}", get(fake_actor))
            .route(
                "/users/{name}/inbox",
                axum::routing::post(|| async { StatusCode::ACCEPTED }),
            )
            .route("/inbox", axum::routing::post(|| async { StatusCode::ACCEPTED }))
            .with_state(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Fake {
            base,
            key: PrivateKey::from_pem(&private).unwrap(),
            state,
        }
    }

    fn actor(&self, name: &str) -> String {
        format!("{}/users/{name}", self.base)
    }

    fn id(&self) -> String {
        format!("{}/activities/{}", self.base, intercoop::crypto::random_token())
    }

    fn hits(&self, name: &str) -> usize {
        self.state.hits.lock().unwrap().get(name).copied().unwrap_or(0)
    }

    fn serve(&self, name: &str, mode: Serve) {
        self.state.modes.lock().unwrap().insert(name.into(), mode);
    }

    /// POSTs `activity` to the app's shared inbox, signed as `name` with
    /// `key` (the real key unless forging). Returns status and headers.
    async fn post_with(
        &self,
        app: &TestApp,
        name: &str,
        key: &PrivateKey,
        activity: &Value,
    ) -> (u16, reqwest::header::HeaderMap) {
        let body = serde_json::to_vec(activity).unwrap();
        let url = url::Url::parse(&app.url("/inbox")).unwrap();
        let key_id = format!("{}#main-key", self.actor(name));
        let mut req = reqwest::Client::new()
            .post(url.clone())
            .header("content-type", "application/activity+json");
        for (k, v) in sign_cavage(
            key,
            &key_id,
            "POST",
            &url,
            Some(&body),
            std::time::SystemTime::now(),
        ) {
            req = req.header(k, v);
        }
        let resp = req.body(body).send().await.unwrap();
        (resp.status().as_u16(), resp.headers().clone())
    }

    async fn post(&self, app: &TestApp, name: &str, activity: &Value) -> u16 {
        self.post_with(app, name, &self.key, activity).await.0
    }

    fn like(&self, name: &str, object: &str) -> Value {
        json!({"id": self.id(), "type": "Like", "actor": self.actor(name), "object": object})
    }

    fn follow(&self, name: &str, app: &TestApp) -> Value {
        json!({"id": self.id(), "type": "Follow", "actor": self.actor(name), "object": app.url("/actors/tea")})
    }
}

async fn publish(app: &TestApp, title: &str) -> intercoop::db::models::Object {
    news::publish_news(
        &app.ctx,
        &common::admin(),
        &NewsInput {
            title: title.into(),
            body: format!("{title}: the first paragraph.\n\nMore text."),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// The outbox rows (kind, ap_id, json) of an object, once the worker wrote `n` of them.
async fn outbox_rows(app: &TestApp, object_id: i64, n: usize) -> Vec<(String, String, String)> {
    let started = Instant::now();
    loop {
        let mut conn = app.ctx.db.conn().await.unwrap();
        let rows: Vec<(String, String, String)> = intercoop::q!(&mut conn, |c| outbox::table
            .filter(outbox::object_id.eq(object_id))
            .order(outbox::id.asc())
            .select((outbox::kind, outbox::ap_id, outbox::json))
            .load(c)
            .await)
        .unwrap();
        if rows.len() >= n {
            return rows;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the outbox worker wrote {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn get_ap(url: &str) -> (u16, String) {
    let resp = reqwest::Client::new()
        .get(url)
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn count_objects(app: &TestApp) -> i64 {
    let mut conn = app.ctx.db.conn().await.unwrap();
    intercoop::q!(&mut conn, |c| objects::table.count().get_result(c).await).unwrap()
}

both_backends!(
    deleted_news_is_not_served,
    bounded_storage_of_the_inbox_log,
    replies_only_to_what_is_stored,
    rates_per_actor_and_domain,
);

async fn deleted_news_is_not_served(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let item = publish(&app, "Secret plans").await;
    news::update_news(
        &app.ctx,
        &common::admin(),
        item.id,
        &NewsInput {
            title: "Secret plans, revised".into(),
            body: "Even more secret.".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let rows = outbox_rows(&app, item.id, 2).await;
    let (create_id, update_id) = (rows[0].1.clone(), rows[1].1.clone());
    assert_eq!(get_ap(&create_id).await.0, 200, "served while the news exists");
    let (status, page) = get_ap(&app.url("/actors/tea/outbox?page=1")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Secret plans"));

    news::delete_news(&app.ctx, &common::admin(), item.id)
        .await
        .unwrap();
    let rows = outbox_rows(&app, item.id, 3).await;
    for (kind, id, body) in &rows {
        if kind != "Delete" {
            assert_eq!(body, "", "the stored {kind} JSON is blanked");
            let (status, text) = get_ap(id).await;
            assert_eq!(status, 410, "{kind} {id} is gone");
            assert!(!text.contains("secret"), "{text}");
        }
    }
    for id in [&create_id, &update_id] {
        let (_, text) = get_ap(id).await;
        assert!(
            !text.to_lowercase().contains("secret"),
            "old versions stay hidden: {text}"
        );
    }
    let (_, page) = get_ap(&app.url("/actors/tea/outbox?page=1")).await;
    assert!(!page.contains("Secret"), "{page}");
    let (_, collection) = get_ap(&app.url("/actors/tea/outbox")).await;
    let collection: Value = serde_json::from_str(&collection).unwrap();
    assert_eq!(collection["totalItems"], 0);
    let (status, _) = get_ap(&item.ap_id).await;
    assert_eq!(status, 410, "the article itself is a Tombstone");
}

async fn bounded_storage_of_the_inbox_log(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let fake = Fake::start().await;
    let item = publish(&app, "Harvest").await;
    let raws = |app: &TestApp| {
        let ctx = app.ctx.clone();
        async move {
            let mut conn = ctx.db.conn().await.unwrap();
            intercoop::q!(&mut conn, |c| inbox_log::table
                .order(inbox_log::id.asc())
                .select((inbox_log::kind, inbox_log::raw))
                .load::<(String, String)>(c)
                .await)
            .unwrap()
        }
    };
    assert_eq!(fake.post(&app, "ann", &fake.like("ann", &item.ap_id)).await, 202);
    let odd = json!({"id": fake.id(), "type": "EmojiReact", "actor": fake.actor("ann"), "object": item.ap_id,
        "content": "x".repeat(50_000)});
    assert_eq!(fake.post(&app, "ann", &odd).await, 202);
    let big = json!({"id": fake.id(), "type": "Create", "actor": fake.actor("ann"),
        "object": {"id": format!("{}/notes/1", fake.base), "type": "Note", "content": "y".repeat(70_000)}});
    assert_eq!(fake.post(&app, "ann", &big).await, 202);
    let logged = raws(&app).await;
    assert_eq!(logged.len(), 3, "every id is logged, for de-duplication");
    assert!(logged[0].1.contains("Like"), "a handled type keeps its body");
    assert_eq!(logged[1].1, "", "an unhandled type keeps no body");
    assert_eq!(logged[2].1, "", "a body over the cap is not kept");

    // Retention: bodies go after inbox_retention_days, ids after three times that.
    let age = |days: i64| {
        let ctx = app.ctx.clone();
        async move {
            let mut conn = ctx.db.conn().await.unwrap();
            let at = intercoop::db::now() - chrono::Duration::days(days);
            intercoop::q!(&mut conn, |c| diesel::update(inbox_log::table)
                .set(inbox_log::received_at.eq(at))
                .execute(c)
                .await)
            .unwrap();
        }
    };
    age(31).await;
    let (blanked, deleted) = intercoop::service::remote::prune_inbox_log(&app.ctx)
        .await
        .unwrap();
    assert_eq!((blanked, deleted), (1, 0));
    assert!(raws(&app).await.iter().all(|(_, raw)| raw.is_empty()));
    // The id still de-duplicates: the same Like again is not counted twice.
    age(91).await;
    let (_, deleted) = intercoop::service::remote::prune_inbox_log(&app.ctx)
        .await
        .unwrap();
    assert_eq!(deleted, 3);
}

async fn replies_only_to_what_is_stored(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let fake = Fake::start().await;
    let item = publish(&app, "Meeting").await;
    let reply = |n: u32, to: &str| {
        json!({"id": fake.id(), "type": "Create", "actor": fake.actor("bo"),
            "object": {"id": format!("{}/notes/{n}", fake.base), "type": "Note", "inReplyTo": to,
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "content": "<p>Agreed <script>alert(1)</script><a href=\"javascript:x\">me</a></p>"}})
    };
    let before = count_objects(&app).await;
    // To something that is not here (ours by URL, or elsewhere): not stored.
    assert_eq!(
        fake.post(&app, "bo", &reply(1, &app.url("/news/no-such-post")))
            .await,
        202
    );
    assert_eq!(
        fake.post(&app, "bo", &reply(2, "https://elsewhere.example/notes/9"))
            .await,
        202
    );
    assert_eq!(count_objects(&app).await, before);
    // To our news, and to that reply: stored, sanitised.
    assert_eq!(fake.post(&app, "bo", &reply(3, &item.ap_id)).await, 202);
    assert_eq!(
        fake.post(&app, "bo", &reply(4, &format!("{}/notes/3", fake.base)))
            .await,
        202
    );
    assert_eq!(count_objects(&app).await, before + 2);
    let mut conn = app.ctx.db.conn().await.unwrap();
    let html: Vec<String> = intercoop::q!(&mut conn, |c| objects::table
        .filter(objects::local.eq(false))
        .select(objects::content_html)
        .load(c)
        .await)
    .unwrap();
    for h in html {
        assert!(!h.contains("<script") && !h.contains("javascript:"), "{h}");
    }
}

async fn rates_per_actor_and_domain(backend: Backend) {
    let app = TestApp::with_coop_configured(backend, |c| {
        c.inbox_rate_per_actor = 3;
        c.inbox_rate_per_domain = 5;
    })
    .await;
    let fake = Fake::start().await;
    let item = publish(&app, "Rates").await;
    // The windows are clock minutes: start well inside one, so that the
    // requests below do not straddle two.
    let second = chrono::Utc::now().timestamp() % 60;
    if second > 40 {
        tokio::time::sleep(std::time::Duration::from_secs((61 - second) as u64)).await;
    }
    for _ in 0..3 {
        assert_eq!(fake.post(&app, "cy", &fake.like("cy", &item.ap_id)).await, 202);
    }
    let (status, headers) = fake
        .post_with(&app, "cy", &fake.key, &fake.like("cy", &item.ap_id))
        .await;
    assert_eq!(status, 429, "the fourth in a minute from one actor");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    // Three in this minute are forgotten one second into the next (the
    // window slides): 61 s when they came in its first second.
    assert!((1..=61).contains(&retry), "retry after {retry} s");
    // Another actor of the same server has its own allowance, until the domain's runs out.
    assert_eq!(fake.post(&app, "dee", &fake.like("dee", &item.ap_id)).await, 202);
    assert_eq!(fake.post(&app, "dee", &fake.like("dee", &item.ap_id)).await, 202);
    assert_eq!(fake.post(&app, "dee", &fake.like("dee", &item.ap_id)).await, 429);
}

/// A key refetch on a bad signature happens at most once per few minutes,
/// and a failed fetch is remembered instead of retried on every request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_refetches_and_failed_fetches_are_bounded() {
    let app = TestApp::with_coop(Backend::Sqlite).await;
    let fake = Fake::start().await;
    assert_eq!(fake.post(&app, "eve", &fake.follow("eve", &app)).await, 202);
    assert_eq!(fake.hits("eve"), 1);
    let (_, other) = intercoop::crypto::generate_actor_keys().unwrap();
    let forger = PrivateKey::from_pem(&other).unwrap();
    let (status, _) = fake
        .post_with(&app, "eve", &forger, &fake.follow("eve", &app))
        .await;
    assert_eq!(status, 401);
    assert_eq!(fake.hits("eve"), 2, "one refetch, in case the key rotated");
    for _ in 0..5 {
        let (status, _) = fake
            .post_with(&app, "eve", &forger, &fake.follow("eve", &app))
            .await;
        assert_eq!(status, 401);
    }
    assert_eq!(fake.hits("eve"), 2, "no further refetches for a while");
    // The genuine key still works.
    assert_eq!(
        fake.post(&app, "eve", &fake.like("eve", &app.url("/actors/tea")))
            .await,
        202
    );

    fake.serve("fay", Serve::Broken);
    for _ in 0..4 {
        assert_eq!(fake.post(&app, "fay", &fake.follow("fay", &app)).await, 401);
    }
    assert_eq!(fake.hits("fay"), 1, "a failed fetch is not repeated at once");
}

/// Inbox-triggered fetches are capped: past the cap, 503 with Retry-After
/// instead of more outgoing connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_key_fetches_are_capped() {
    let app = Arc::new(TestApp::with_coop(Backend::Sqlite).await);
    let fake = Arc::new(Fake::start().await);
    let n = intercoop::federation::MAX_VERIFY_FETCHES;
    let mut hanging = Vec::new();
    for i in 0..n {
        let name = format!("slow{i}");
        fake.serve(&name, Serve::Hang);
        let (app, fake) = (app.clone(), fake.clone());
        hanging.push(tokio::spawn(async move {
            fake.post(&app, &name, &fake.follow(&name, &app)).await
        }));
    }
    // Wait until all of them are fetching.
    let started = Instant::now();
    while (0..n).any(|i| fake.hits(&format!("slow{i}")) == 0) {
        assert!(started.elapsed() < Duration::from_secs(8), "the fetches started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, headers) = fake
        .post_with(&app, "quick", &fake.key, &fake.follow("quick", &app))
        .await;
    assert_eq!(status, 503);
    assert!(headers.contains_key("retry-after"));
    assert_eq!(fake.hits("quick"), 0, "nothing fetched past the cap");
    for h in hanging {
        assert_eq!(h.await.unwrap(), 401, "a key that times out is refused");
    }
    // Slots free again.
    assert_eq!(fake.post(&app, "quick", &fake.follow("quick", &app)).await, 202);
}

/// Links from remote profiles reach our pages only when they are http(s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_links_are_http_only() {
    let app = TestApp::with_coop(Backend::Sqlite).await;
    let fake = Fake::start().await;
    fake.state.extra.lock().unwrap().insert(
        "gus".into(),
        json!({"url": "javascript:alert(1)", "icon": {"type": "Image", "url": "data:text/html,<script>x</script>"},
               "image": {"type": "Image", "url": "https://img.example/banner.png"}}),
    );
    assert_eq!(fake.post(&app, "gus", &fake.follow("gus", &app)).await, 202);
    let gus = intercoop::service::remote::find_actor(&app.ctx, &fake.actor("gus"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(gus.url, None);
    assert_eq!(gus.icon_url, None);
    assert_eq!(gus.image_url.as_deref(), Some("https://img.example/banner.png"));
}

/// `/authorize_interaction` and the login `next` only send people to our own origin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_open_redirects() {
    let app = TestApp::with_coop(Backend::Sqlite).await;
    let c = common::client();
    let item = publish(&app, "Open").await;
    let location = |r: &reqwest::Response| {
        r.headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_string())
    };
    let ours = c
        .get(app.url("/authorize_interaction"))
        .query(&[("uri", item.ap_id.as_str())])
        .send()
        .await
        .unwrap();
    assert!(ours.status().is_redirection());
    assert_eq!(location(&ours).unwrap(), item.ap_id.trim_start_matches(&app.base));
    let port = app.addr.port();
    for bad in [
        "https://evil.example/".to_string(),
        "//evil.example/x".to_string(),
        "/\\evil.example".to_string(),
        format!("http://127.0.0.1:{port}@evil.example/"),
        format!("http://127.0.0.1:{port}.evil.example/"),
        format!("{}//evil.example/", app.base),
        format!("{}/\\evil.example", app.base),
        "/news".to_string(),
        "javascript:alert(1)".to_string(),
    ] {
        let r = c
            .get(app.url("/authorize_interaction"))
            .query(&[("uri", bad.as_str())])
            .send()
            .await
            .unwrap();
        let to = location(&r).unwrap_or_default();
        assert!(
            !to.contains("evil") && !to.starts_with("//") && !to.contains('\\'),
            "{bad} -> {} {to}",
            r.status()
        );
    }
    // Login: a hostile `next` lands on the home page.
    for bad in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "/\t/evil.example",
    ] {
        let c = common::client();
        let page = c
            .get(app.url("/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let r = c
            .post(app.url("/login"))
            .form(&[
                ("csrf", common::csrf_of(&page).as_str()),
                ("username", ADMIN),
                ("password", PASSWORD),
                ("next", bad),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(location(&r).unwrap(), "/", "{bad}");
    }
}

/// The anonymous follow form: rate-limited per address, and the same answer
/// whether or not something listens at the host:port given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_form_is_limited_and_reveals_nothing() {
    let app = TestApp::with_coop(Backend::Sqlite).await;
    let fake = Fake::start().await;
    let c = common::client();
    let page = c.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    let csrf = common::csrf_of(&page);
    let closed = "@x@127.0.0.1:1".to_string();
    let open = format!("@x@{}", fake.base.trim_start_matches("http://"));
    let mut texts = Vec::new();
    for account in [&closed, &open] {
        let r = c
            .post(app.url("/follow"))
            .header("accept", "application/json")
            .form(&[("csrf", csrf.as_str()), ("account", account.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let body: Value = r.json().await.unwrap();
        texts.push(
            body["detail"]
                .as_str()
                .unwrap_or_default()
                .replace(account.trim_start_matches('@'), "ACCOUNT"),
        );
    }
    assert_eq!(
        texts[0], texts[1],
        "a closed port and an answering server look the same"
    );
    assert!(
        !texts[0].contains("refused") && !texts[0].contains("404"),
        "{}",
        texts[0]
    );
    let mut limited = false;
    for _ in 0..12 {
        let r = c
            .post(app.url("/follow"))
            .form(&[("csrf", csrf.as_str()), ("account", closed.as_str())])
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            assert!(r.headers().contains_key("retry-after"));
            limited = true;
            break;
        }
    }
    assert!(limited, "the form is rate-limited per address");
}

/// Concurrent wrong guesses cannot all pass the count: the attempt is
/// recorded before the password is checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_login_guesses_are_all_counted() {
    let app = TestApp::with_coop(Backend::Sqlite).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let ctx = app.ctx.clone();
        tasks.push(tokio::spawn(async move {
            intercoop::service::accounts::log_in(&ctx, ADMIN, &format!("guess {i}"), None, "203.0.113.9")
                .await
        }));
    }
    let mut wrong = 0;
    for t in tasks {
        match t.await.unwrap() {
            Err(intercoop::service::ServiceError::Unauthorized(_)) => wrong += 1,
            Err(intercoop::service::ServiceError::RateLimited(_)) => {}
            other => panic!("unexpected {:?}", other.map(|_| ())),
        }
    }
    assert!(
        wrong <= intercoop::service::accounts::MAX_FAILURES_PER_USER as usize,
        "{wrong} guesses were checked"
    );
    // And the right password is refused too while the limit holds.
    assert!(matches!(
        intercoop::service::accounts::log_in(&app.ctx, ADMIN, PASSWORD, None, "203.0.113.9").await,
        Err(intercoop::service::ServiceError::RateLimited(_))
    ));
}

/// Our signed instance-actor GET is never re-sent to another origin by a
/// redirect (the other server could replay it); same-origin hops are signed.
/// And an inbox 401 names what failed, not the network's answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_fetches_do_not_follow_redirects_to_other_origins() {
    use axum::http::HeaderMap;
    use axum::response::Redirect;
    let app = TestApp::with_coop(Backend::Sqlite).await;
    let seen: Arc<Mutex<Vec<(String, bool)>>> = Default::default();
    let serve = |seen: Arc<Mutex<Vec<(String, bool)>>>| {
        move |Path(p): Path<String>, headers: HeaderMap| {
            let seen = seen.clone();
            async move {
                seen.lock()
                    .unwrap()
                    .push((p.clone(), headers.contains_key("signature")));
                let l = headers["host"].to_str().unwrap().to_string();
                let id = format!("http://{l}/doc/{p}");
                (
                    [(axum::http::header::CONTENT_TYPE, "application/activity+json")],
                    json!({"id": id, "type": "Person", "inbox": format!("{id}/inbox")}).to_string(),
                )
            }
        }
    };
    let other = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other_base = format!("http://127.0.0.1:{}", other.local_addr().unwrap().port());
    let other_app = Router::new().route("/doc/{p}", get(serve(seen.clone())));
    tokio::spawn(async move {
        let _ = axum::serve(other, other_app).await;
    });
    let first = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let first_base = format!("http://127.0.0.1:{}", first.local_addr().unwrap().port());
    let to_other = format!("{other_base}/doc/moved");
    let first_app = Router::new()
        .route("/doc/{p}", get(serve(seen.clone())))
        .route(
            "/away",
            get(move || async move { Redirect::temporary(&to_other) }),
        )
        .route("/here", get(|| async { Redirect::temporary("/doc/local") }));
    tokio::spawn(async move {
        let _ = axum::serve(first, first_app).await;
    });
    let fed = intercoop::federation::Federation::new(app.ctx.clone());
    fed.fetch_actor(&format!("{first_base}/here")).await.unwrap();
    fed.fetch_actor(&format!("{first_base}/away")).await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![("local".to_string(), true), ("moved".to_string(), false)],
        "signed on the same origin, unsigned after crossing to another"
    );

    // An unreachable key: the 401 says the key could not be fetched, not why.
    let (_, private) = intercoop::crypto::generate_actor_keys().unwrap();
    let key = PrivateKey::from_pem(&private).unwrap();
    let actor = "http://127.0.0.1:1/users/nobody";
    let activity = json!({"id": "http://127.0.0.1:1/a/1", "type": "Follow", "actor": actor,
        "object": app.url("/actors/tea")});
    let body = serde_json::to_vec(&activity).unwrap();
    let url = url::Url::parse(&app.url("/inbox")).unwrap();
    let mut req = reqwest::Client::new().post(url.clone());
    for (k, v) in sign_cavage(
        &key,
        &format!("{actor}#k"),
        "POST",
        &url,
        Some(&body),
        std::time::SystemTime::now(),
    ) {
        req = req.header(k, v);
    }
    let resp = req.body(body).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let text = resp.text().await.unwrap().to_lowercase();
    assert!(text.contains("could not be fetched"), "{text}");
    for leak in ["refused", "tcp", "connect", "os error", "dns"] {
        assert!(!text.contains(leak), "the 401 body leaks {leak:?}: {text}");
    }
}

/// A file on the victim's own server (an upload) that claims to be the
/// victim's actor, with the attacker's key: the claimed id is fetched and
/// serves the real actor, which does not list that key. 401, nothing changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_same_server_document_cannot_speak_for_another_account() {
    let app = TestApp::with_coop(Backend::Sqlite).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let (victim_pem, victim_private) = intercoop::crypto::generate_actor_keys().unwrap();
    let (evil_pem, evil_private) = intercoop::crypto::generate_actor_keys().unwrap();
    let victim = format!("{base}/users/victim");
    let upload = format!("{base}/files/x.json");
    let ap = |v: Value| {
        (
            [(axum::http::header::CONTENT_TYPE, "application/activity+json")],
            v.to_string(),
        )
    };
    let victim_doc = json!({"id": victim, "type": "Person", "inbox": format!("{victim}/inbox"),
        "publicKey": {"id": format!("{victim}#main-key"), "owner": victim, "publicKeyPem": victim_pem}});
    let planted = json!({"id": victim, "type": "Person", "inbox": format!("{victim}/inbox"),
        "publicKey": {"id": format!("{upload}#k"), "owner": victim, "publicKeyPem": evil_pem}});
    let router = Router::new()
        .route(
            "/users/victim",
            get(move || {
                let d = victim_doc.clone();
                async move { ap(d) }
            }),
        )
        .route(
            "/files/x.json",
            get(move || {
                let d = planted.clone();
                async move { ap(d) }
            }),
        )
        .route(
            "/users/victim/inbox",
            axum::routing::post(|| async { StatusCode::ACCEPTED }),
        );
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let send = |key: PrivateKey, key_id: String, activity: Value| {
        let url = url::Url::parse(&app.url("/inbox")).unwrap();
        async move {
            let body = serde_json::to_vec(&activity).unwrap();
            let mut req = reqwest::Client::new().post(url.clone());
            for (k, v) in sign_cavage(
                &key,
                &key_id,
                "POST",
                &url,
                Some(&body),
                std::time::SystemTime::now(),
            ) {
                req = req.header(k, v);
            }
            req.body(body).send().await.unwrap().status().as_u16()
        }
    };
    let follow = |n: u32| json!({"id": format!("{base}/a/{n}"), "type": "Follow", "actor": victim, "object": app.url("/actors/tea")});
    assert_eq!(
        send(
            PrivateKey::from_pem(&victim_private).unwrap(),
            format!("{victim}#main-key"),
            follow(1)
        )
        .await,
        202
    );
    let before = intercoop::service::remote::find_actor(&app.ctx, &victim)
        .await
        .unwrap()
        .unwrap();
    let status = send(
        PrivateKey::from_pem(&evil_private).unwrap(),
        format!("{upload}#k"),
        follow(2),
    )
    .await;
    assert_eq!(status, 401);
    let after = intercoop::service::remote::find_actor(&app.ctx, &victim)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        after.public_key_pem, before.public_key_pem,
        "the victim's key is not replaced"
    );
    assert_eq!(after.public_key_id, before.public_key_id);
}
