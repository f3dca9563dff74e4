//! Federation against the real server over real HTTP on loopback: a scripted
//! peer (its own keys, actor document and inbox) follows the co-op with
//! draft-cavage and RFC 9421 signatures, receives news, and tries forged,
//! replayed and malformed requests. Two intercoop instances follow each
//! other. The independent implementations (Fedify) are in federation-tests/.

mod common;

use common::peer::{ap, send_raw, Peer};

use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use common::{Backend, TestApp, ADMIN};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use intercoop::db::schema::{deliveries, follows, inbox_log};
use intercoop::federation::signatures::{sign_cavage, PrivateKey};
use intercoop::service::news::{self, NewsInput};
use serde_json::{json, Value};

async fn count(app: &TestApp, table: &str) -> i64 {
    let mut conn = app.ctx.db.conn().await.unwrap();
    match table {
        "follows" => intercoop::q!(&mut conn, |c| follows::table.count().get_result(c).await).unwrap(),
        "inbox_log" => intercoop::q!(&mut conn, |c| inbox_log::table.count().get_result(c).await).unwrap(),
        _ => unreachable!(),
    }
}

fn coop_actor(app: &TestApp) -> String {
    app.url("/actors/tea")
}

fn follow(peer: &Peer, app: &TestApp) -> Value {
    json!({"@context": "https://www.w3.org/ns/activitystreams", "id": peer.id("follow"), "type": "Follow",
           "actor": peer.actor, "object": coop_actor(app)})
}

both_backends!(
    discovery_documents,
    follow_receive_news_and_unfollow,
    hostile_requests_are_refused_and_not_stored,
    a_peer_that_is_down_gets_the_news_later,
    two_coops_follow_each_other,
    actor_updates_reports_and_deletion,
    approved_followers_and_conversations,
);

async fn actor_updates_reports_and_deletion(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let peer = Peer::start().await;
    assert_eq!(peer.send(&app, "/inbox", &follow(&peer, &app), false).await, 202);
    peer.wait_for("Accept", |_| true).await;

    // Update(Person) refreshes the cached profile, sanitised.
    let mut doc: Value = reqwest::get(&peer.actor).await.unwrap().json().await.unwrap();
    doc["name"] = json!("Pat Renamed");
    doc["summary"] = json!("<p>New <img src=x onerror=alert(1)> bio</p>");
    let update = json!({"id": peer.id("update"), "type": "Update", "actor": peer.actor, "object": doc});
    assert_eq!(peer.send(&app, "/inbox", &update, false).await, 202);
    let cached = intercoop::service::remote::find_actor(&app.ctx, &peer.actor)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cached.name, "Pat Renamed");
    assert!(!cached.summary.contains("onerror"), "{}", cached.summary);

    // A Flag is kept for the moderators and shown on their reports page.
    let flag = json!({"id": peer.id("flag"), "type": "Flag", "actor": peer.actor,
        "object": [coop_actor(&app)], "content": "Spam <script>x</script> here"});
    assert_eq!(peer.send(&app, "/inbox", &flag, false).await, 202);
    let admin = common::login(&app, ADMIN, common::PASSWORD).await;
    let page = admin
        .get(app.url("/admin/reports"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Spam") && page.contains(&peer.actor),
        "the report is listed: {page}"
    );
    let fed_page = admin
        .get(app.url("/admin/federation"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        fed_page.contains("Open reports: 1"),
        "the federation page counts it"
    );
    assert!(!page.contains("<script>x"), "report text is sanitised");

    // Delete(actor): the account is gone, so is its follow.
    assert_eq!(count(&app, "follows").await, 1);
    let delete =
        json!({"id": peer.id("delete"), "type": "Delete", "actor": peer.actor, "object": peer.actor});
    assert_eq!(peer.send(&app, "/inbox", &delete, false).await, 202);
    assert_eq!(count(&app, "follows").await, 0);
    assert!(intercoop::service::remote::find_actor(&app.ctx, &peer.actor)
        .await
        .unwrap()
        .is_none());
}

async fn discovery_documents(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let c = reqwest::Client::new();
    let domain = format!("127.0.0.1:{}", app.addr.port());
    let wf: Value = c
        .get(app.url(&format!("/.well-known/webfinger?resource=acct:tea@{domain}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(wf["subject"], format!("acct:tea@{domain}"));
    let links = wf["links"].as_array().unwrap();
    assert!(links
        .iter()
        .any(|l| l["rel"] == "self" && l["href"] == coop_actor(&app)));
    assert!(links
        .iter()
        .any(|l| l["rel"] == "http://ostatus.org/schema/1.0/subscribe"));
    // By actor URL too; unknown accounts are 404.
    let by_url = c
        .get(app.url(&format!("/.well-known/webfinger?resource={}", coop_actor(&app))))
        .send()
        .await
        .unwrap();
    assert_eq!(by_url.status(), 200);
    let missing = c
        .get(app.url(&format!("/.well-known/webfinger?resource=acct:nobody@{domain}")))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let actor: Value = c
        .get(coop_actor(&app))
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(actor["type"], "Organization");
    assert_eq!(actor["preferredUsername"], "tea");
    assert_eq!(actor["endpoints"]["sharedInbox"], app.url("/inbox"));
    assert!(actor["publicKey"]["publicKeyPem"]
        .as_str()
        .unwrap()
        .contains("BEGIN PUBLIC KEY"));
    assert_eq!(actor["publicKey"]["owner"], coop_actor(&app));
    // A browser asking for the actor is sent to the profile page.
    let html = common::client().get(coop_actor(&app)).send().await.unwrap();
    assert_eq!(html.status(), 303);

    let ni_links: Value = c
        .get(app.url("/.well-known/nodeinfo"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(ni_links["links"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["rel"] == "https://www.w3.org/ns/activitystreams#Application"));
    let ni: Value = c
        .get(app.url("/nodeinfo/2.1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ni["software"]["name"], "intercoop");
    assert_eq!(ni["openRegistrations"], false);
    assert_eq!(ni["metadata"]["roles"], json!(["coop"]));
    let inst: Value = c
        .get(app.url("/actor"))
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(inst["type"], "Application");
    let outbox: Value = c
        .get(app.url("/actors/tea/outbox"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(outbox["type"], "OrderedCollection");
    assert_eq!(outbox["totalItems"], 0);
}

async fn publish(app: &TestApp, title: &str) -> intercoop::db::models::Object {
    news::publish_news(
        &app.ctx,
        &common::admin(),
        &NewsInput {
            title: title.into(),
            body: format!("{title}: the first paragraph.\n\nMore **text**."),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

async fn follow_receive_news_and_unfollow(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let peer = Peer::start().await;
    let f = follow(&peer, &app);
    assert_eq!(peer.send(&app, "/actors/tea/inbox", &f, false).await, 202);
    let accept = peer.wait_for("Accept", |_| true).await;
    assert_eq!(accept["object"]["id"], f["id"]);
    assert_eq!(accept["actor"], coop_actor(&app));
    assert_eq!(count(&app, "follows").await, 1);
    // The cached actor's HTML was sanitised.
    let cached = intercoop::service::remote::find_actor(&app.ctx, &peer.actor)
        .await
        .unwrap()
        .unwrap();
    assert!(!cached.summary.contains("<script"));

    let item = publish(&app, "Harvest festival").await;
    let create = peer.wait_for("Create", |_| true).await;
    assert_eq!(create["object"]["type"], "Article");
    assert_eq!(create["object"]["name"], "Harvest festival");
    assert_eq!(
        create["object"]["summary"],
        "Harvest festival: the first paragraph."
    );
    assert!(create["object"]["content"]
        .as_str()
        .unwrap()
        .contains("<strong>text</strong>"));
    assert_eq!(create["object"]["attributedTo"], coop_actor(&app));
    assert_eq!(
        create["to"],
        json!(["https://www.w3.org/ns/activitystreams#Public"])
    );
    // The Article is at its URL, as JSON for peers and HTML for people.
    let doc: Value = reqwest::Client::new()
        .get(&item.ap_id)
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["id"], item.ap_id);
    let page = common::client()
        .get(&item.ap_id)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<h1>Harvest festival</h1>"));

    news::update_news(
        &app.ctx,
        &common::admin(),
        item.id,
        &NewsInput {
            title: "Harvest festival (moved)".into(),
            body: "Now on Sunday.".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let update = peer.wait_for("Update", |_| true).await;
    assert_eq!(update["object"]["name"], "Harvest festival (moved)");
    news::delete_news(&app.ctx, &common::admin(), item.id)
        .await
        .unwrap();
    let delete = peer.wait_for("Delete", |_| true).await;
    assert_eq!(delete["object"]["type"], "Tombstone");
    assert_eq!(delete["object"]["id"], item.ap_id);
    let gone = reqwest::Client::new()
        .get(&item.ap_id)
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 410);

    // Likes are counted; Undo(Follow) signed with RFC 9421 removes the follower.
    let like = json!({"id": peer.id("like"), "type": "Like", "actor": peer.actor, "object": item.ap_id});
    assert_eq!(peer.send(&app, "/inbox", &like, true).await, 202);
    let undo = json!({"id": peer.id("undo"), "type": "Undo", "actor": peer.actor, "object": f});
    assert_eq!(peer.send(&app, "/inbox", &undo, true).await, 202);
    assert_eq!(count(&app, "follows").await, 0);
}

async fn hostile_requests_are_refused_and_not_stored(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let peer = Peer::start().await;
    let url = url::Url::parse(&app.url("/inbox")).unwrap();
    let f = follow(&peer, &app);
    let body = serde_json::to_vec(&f).unwrap();

    // Unsigned: 401 before anything is fetched or stored.
    assert_eq!(send_raw(&url, &[], body.clone()).await, 401);
    // Signed by a key that is not the actor's (forged): 401.
    let (_, other_private) = intercoop::crypto::generate_actor_keys().unwrap();
    let forger = PrivateKey::from_pem(&other_private).unwrap();
    let forged = sign_cavage(
        &forger,
        &peer.key_id(),
        "POST",
        &url,
        Some(&body),
        std::time::SystemTime::now(),
    );
    assert_eq!(send_raw(&url, &forged, body.clone()).await, 401);
    // A valid signature over another body (tampered in transit): 401.
    let signed = sign_cavage(
        &peer.key,
        &peer.key_id(),
        "POST",
        &url,
        Some(&body),
        std::time::SystemTime::now(),
    );
    let mut tampered = f.clone();
    tampered["object"] = json!("https://elsewhere.example/actor");
    assert_eq!(
        send_raw(&url, &signed, serde_json::to_vec(&tampered).unwrap()).await,
        401
    );
    // Too old a Date: 401.
    let old = std::time::SystemTime::now() - Duration::from_secs(13 * 3600);
    let stale = sign_cavage(&peer.key, &peer.key_id(), "POST", &url, Some(&body), old);
    assert_eq!(send_raw(&url, &stale, body.clone()).await, 401);
    assert_eq!(count(&app, "follows").await, 0, "nothing refused is stored");
    assert_eq!(count(&app, "inbox_log").await, 0);

    // The genuine request works once; the same signed request replayed is refused.
    assert_eq!(send_raw(&url, &signed, body.clone()).await, 202);
    assert_eq!(send_raw(&url, &signed, body.clone()).await, 401);
    assert_eq!(count(&app, "inbox_log").await, 1);
    // The same activity signed anew (a peer's retry, here with the other spec)
    // is accepted but not processed twice.
    assert_eq!(peer.send(&app, "/inbox", &f, true).await, 202);
    assert_eq!(count(&app, "inbox_log").await, 1);

    // Malformed JSON and non-activities: 400. Unknown types: 202, ignored.
    let garbage = b"{not json".to_vec();
    let h = sign_cavage(
        &peer.key,
        &peer.key_id(),
        "POST",
        &url,
        Some(&garbage),
        std::time::SystemTime::now(),
    );
    assert_eq!(send_raw(&url, &h, garbage).await, 400);
    assert_eq!(
        peer.send(&app, "/inbox", &json!({"type": "Follow"}), false).await,
        400
    );
    let odd =
        json!({"id": peer.id("x"), "type": "EmojiReact", "actor": peer.actor, "object": coop_actor(&app)});
    assert_eq!(peer.send(&app, "/inbox", &odd, false).await, 202);
    // A Create of an object on another server than the actor's: refused.
    let spoof = json!({"id": peer.id("create"), "type": "Create", "actor": peer.actor,
        "object": {"id": "https://victim.example/notes/1", "type": "Note", "content": "fake"}});
    assert_eq!(peer.send(&app, "/inbox", &spoof, false).await, 403);
    // An actor claiming to be someone on another server: 401.
    let claim = json!({"id": "https://victim.example/a/1", "type": "Follow", "actor": "https://victim.example/users/v",
        "object": coop_actor(&app)});
    assert_eq!(peer.send(&app, "/inbox", &claim, false).await, 401);
    // Oversize bodies: 413.
    let big = vec![b' '; intercoop::http::MAX_BODY_BYTES + 1];
    let (status, _) = common::raw_request(
        app.addr,
        "POST",
        "/inbox",
        &[("content-type", "application/activity+json")],
        &big,
    )
    .await;
    assert_eq!(status, 413);

    // A blocked domain's Follow is refused and its existing follow dropped.
    assert_eq!(count(&app, "follows").await, 1);
    intercoop::service::moderation::block_domain(&app.ctx, &common::admin(), "127.0.0.1", "test")
        .await
        .unwrap();
    assert_eq!(
        count(&app, "follows").await,
        0,
        "the block drops existing follows"
    );
    // The federation side re-reads domain rules at most once a second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(peer.send(&app, "/inbox", &follow(&peer, &app), false).await, 403);
    assert_eq!(count(&app, "follows").await, 0);
}

async fn make_due(app: &TestApp) {
    let mut conn = app.ctx.db.conn().await.unwrap();
    let now = intercoop::db::now();
    intercoop::q!(&mut conn, |c| diesel::update(
        deliveries::table.filter(deliveries::state.eq("pending"))
    )
    .set(deliveries::next_attempt_at.eq(now))
    .execute(c)
    .await)
    .unwrap();
}

async fn a_peer_that_is_down_gets_the_news_later(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let peer = Peer::start().await;
    assert_eq!(peer.send(&app, "/inbox", &follow(&peer, &app), false).await, 202);
    peer.wait_for("Accept", |_| true).await;
    *peer.up.lock().unwrap() = false;
    let item = publish(&app, "While you were away").await;
    // The first attempt fails and is recorded with its reason and next time.
    let started = Instant::now();
    loop {
        let status = news::federation_status(&app.ctx, item.id).await.unwrap();
        if let Some(d) = status.as_slice().first().and_then(|(_, d)| d.as_slice().first()) {
            if d.attempts >= 1 {
                assert_eq!(d.state, "pending");
                assert_eq!(d.last_status, Some(503));
                assert!(d.next_attempt_at > intercoop::db::now());
                break;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(15), "first attempt made");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The peer comes back; when the retry is due, the news arrives.
    *peer.up.lock().unwrap() = true;
    make_due(&app).await;
    let create = peer.wait_for("Create", |_| true).await;
    assert_eq!(create["object"]["name"], "While you were away");
    // The outcome is recorded just after the peer answers.
    let started = Instant::now();
    while news::federation_status(&app.ctx, item.id).await.unwrap()[0].1[0].state != "delivered" {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the delivery is recorded as delivered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn two_coops_follow_each_other(backend: Backend) {
    let a = TestApp::with_coop(backend).await;
    let b = TestApp::with_coop(backend).await;
    for (from, to) in [(&a, &b), (&b, &a)] {
        let remote = from.fetch_actor(&coop_actor(to)).await;
        let local = intercoop::service::coop::get_coop(&from.ctx)
            .await
            .unwrap()
            .unwrap();
        intercoop::service::follows::follow_actor(&from.ctx, &common::admin(), &local, &remote)
            .await
            .unwrap();
    }
    // Both follows are accepted.
    for app in [&a, &b] {
        let started = Instant::now();
        loop {
            let local = intercoop::service::coop::get_coop(&app.ctx)
                .await
                .unwrap()
                .unwrap();
            let following = intercoop::service::follows::list_following(&app.ctx, &local)
                .await
                .unwrap();
            if following.iter().any(|(_, st)| st == "accepted") {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(15), "follow accepted");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    publish(&b, "News from B").await;
    publish(&a, "News from A").await;
    for (app, title) in [(&a, "News from B"), (&b, "News from A")] {
        let started = Instant::now();
        loop {
            let posts = intercoop::service::remote::list_remote_posts(&app.ctx, 10)
                .await
                .unwrap();
            if posts.iter().any(|(o, _)| o.title == title) {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(15), "{title} arrived");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let home = common::client()
            .get(app.url("/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            home.contains(title),
            "the home page shows the followed co-op's news"
        );
    }
    // A stops following B: B's server gets Undo(Follow) and drops the follower.
    let a_coop = intercoop::service::coop::get_coop(&a.ctx).await.unwrap().unwrap();
    let b_on_a = intercoop::service::remote::find_actor(&a.ctx, &coop_actor(&b))
        .await
        .unwrap()
        .unwrap();
    intercoop::service::follows::unfollow_actor(&a.ctx, &common::admin(), &a_coop, b_on_a.id)
        .await
        .unwrap();
    let b_coop = intercoop::service::coop::get_coop(&b.ctx).await.unwrap().unwrap();
    let started = Instant::now();
    while intercoop::service::follows::list_followers(&b.ctx, &b_coop, 0, 10)
        .await
        .unwrap()
        .1
        != 0
    {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "B no longer counts A as a follower"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl TestApp {
    async fn fetch_actor(&self, url: &str) -> intercoop::db::models::Actor {
        let fed = intercoop::federation::Federation::new(self.ctx.clone());
        fed.fetch_actor(url).await.unwrap()
    }
}

/// Remote servers that hang, loop, answer garbage or too much, or lie about
/// who they are: each fetch fails with a clear error and stores nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_remote_servers_fail_cleanly() {
    use axum::response::Redirect;
    let app = TestApp::with_coop(Backend::Sqlite).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let elsewhere = base.replace("127.0.0.1", "localhost");
    let router = Router::new()
        .route(
            "/hang",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                "late"
            }),
        )
        .route("/loop", get(|| async { Redirect::to("/loop") }))
        .route(
            "/garbage",
            get(|| async {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/activity+json")],
                    "<html>not json</html>",
                )
            }),
        )
        .route("/html", get(|| async { "<html>a web page</html>" }))
        .route(
            "/huge",
            get(|| async {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/activity+json")],
                    "[".to_string() + &"1,".repeat(600_000) + "1]",
                )
            }),
        )
        .route(
            "/liar",
            get(move || {
                let id = format!("{elsewhere}/users/someone");
                async move { ap(json!({"id": id, "type": "Person", "inbox": format!("{id}/inbox")})) }
            }),
        );
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let fed = intercoop::federation::Federation::new(app.ctx.clone());
    let started = Instant::now();
    let e = fed
        .fetch_actor(&format!("{base}/hang"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "a hanging server is cut off by the timeout"
    );
    assert!(e.contains("could not reach"), "{e}");
    let e = fed
        .fetch_actor(&format!("{base}/loop"))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("redirect"), "{e}");
    let e = fed
        .fetch_actor(&format!("{base}/garbage"))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("not valid JSON"), "{e}");
    let e = fed
        .fetch_actor(&format!("{base}/html"))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("content type"), "{e}");
    let e = fed
        .fetch_actor(&format!("{base}/huge"))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("over"), "{e}");
    let e = fed
        .fetch_actor(&format!("{base}/liar"))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("but was served from"), "{e}");
    let mut conn = app.ctx.db.conn().await.unwrap();
    let remote = intercoop::db::queries::actors::list_remote(&mut conn)
        .await
        .unwrap();
    assert!(remote.is_empty(), "nothing was stored from hostile servers");
}

/// A Raspberry Pi setting: one database connection. Nothing may wait for a
/// second connection while holding the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_database_connection_is_enough() {
    let app = TestApp::with_coop_configured(Backend::Sqlite, |c| c.max_connections = 1).await;
    let peer = Peer::start().await;
    assert_eq!(peer.send(&app, "/inbox", &follow(&peer, &app), false).await, 202);
    peer.wait_for("Accept", |_| true).await;
    publish(&app, "Small but working").await;
    let create = peer.wait_for("Create", |_| true).await;
    assert_eq!(create["object"]["name"], "Small but working");
}

async fn get_ap(url: &str) -> Value {
    reqwest::Client::new()
        .get(url)
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// With "approve each new follower" on, a Follow waits: no Accept, not in
/// the followers; the admin's Approve sends the Accept naming the Follow,
/// and Decline sends a Reject. Likes, boosts and replies are counted in
/// the Article's collections, and replies are shown under the news.
async fn approved_followers_and_conversations(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let admin = common::login(&app, common::ADMIN, common::PASSWORD).await;
    let settings = page(&admin, app.url("/admin/settings")).await;
    assert!(settings.contains("name=\"approve_followers\""));
    let saved = admin
        .post(app.url("/admin/settings"))
        .form(&[
            ("csrf", common::csrf_of(&settings).as_str()),
            ("name", "Tea Growers"),
            ("approve_followers", "on"),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        saved.status().is_success() || saved.status().is_redirection(),
        "{}",
        saved.status()
    );
    let actor = get_ap(&coop_actor(&app)).await;
    assert_eq!(actor["manuallyApprovesFollowers"], true);

    let peer = Peer::start().await;
    let f = follow(&peer, &app);
    assert_eq!(peer.send(&app, "/actors/tea/inbox", &f, false).await, 202);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        !peer.inbox.lock().unwrap().iter().any(|v| v["type"] == "Accept"),
        "a follow waiting for approval is not accepted"
    );
    let followers = get_ap(&app.url("/actors/tea/followers")).await;
    assert_eq!(followers["totalItems"], 0);
    assert_eq!(answer_request(&app, &admin, &peer, "approve").await, 303);
    let accept = peer.wait_for("Accept", |_| true).await;
    assert_eq!(accept["object"]["id"], f["id"]);
    assert_eq!(get_ap(&app.url("/actors/tea/followers")).await["totalItems"], 1);

    // A second account is declined: Reject, and no follow is left.
    let other = Peer::start().await;
    let f2 = follow(&other, &app);
    assert_eq!(other.send(&app, "/actors/tea/inbox", &f2, false).await, 202);
    let cached2 = intercoop::service::remote::find_actor(&app.ctx, &other.actor)
        .await
        .unwrap()
        .unwrap();
    let requests = intercoop::service::follows::list_follow_requests(&app.ctx, &the_coop(&app).await)
        .await
        .unwrap();
    assert_eq!(
        requests.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![cached2.id]
    );
    assert_eq!(answer_request(&app, &admin, &other, "decline").await, 303);
    let reject = other.wait_for("Reject", |_| true).await;
    assert_eq!(reject["object"]["id"], f2["id"]);
    assert_eq!(count(&app, "follows").await, 1);

    // Turning approval off accepts whoever is waiting, as Mastodon does.
    let third = Peer::start().await;
    let f3 = follow(&third, &app);
    assert_eq!(third.send(&app, "/actors/tea/inbox", &f3, false).await, 202);
    let settings = page(&admin, app.url("/admin/settings")).await;
    let saved = admin
        .post(app.url("/admin/settings"))
        .form(&[
            ("csrf", common::csrf_of(&settings).as_str()),
            ("name", "Tea Growers"),
        ])
        .send()
        .await
        .unwrap();
    assert!(saved.status().is_success() || saved.status().is_redirection());
    let accept3 = third.wait_for("Accept", |_| true).await;
    assert_eq!(accept3["object"]["id"], f3["id"]);
    assert_eq!(get_ap(&app.url("/actors/tea/followers")).await["totalItems"], 2);

    // Conversations: a Like, a boost and a reply are counted and shown.
    let item = publish(&app, "Open day").await;
    let article = get_ap(&item.ap_id).await;
    assert_eq!(article["replies"]["totalItems"], 0);
    assert_eq!(article["likes"]["id"], format!("{}/likes", item.ap_id));
    let like = json!({"id": peer.id("like"), "type": "Like", "actor": peer.actor, "object": item.ap_id});
    assert_eq!(peer.send(&app, "/inbox", &like, false).await, 202);
    let boost = json!({"id": peer.id("boost"), "type": "Announce", "actor": peer.actor, "object": item.ap_id,
                       "to": ["https://www.w3.org/ns/activitystreams#Public"]});
    assert_eq!(peer.send(&app, "/inbox", &boost, false).await, 202);
    let reply_id = format!("{}/notes/1", peer.base);
    let reply = json!({"id": peer.id("create"), "type": "Create", "actor": peer.actor,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {"id": reply_id, "type": "Note", "attributedTo": peer.actor, "inReplyTo": item.ap_id,
                   "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": [format!("{}/followers", peer.actor)],
                   "content": "<p>We will bring <b>scones</b><script>alert(1)</script></p>"}});
    assert_eq!(peer.send(&app, "/inbox", &reply, false).await, 202);
    // A followers-only reply is not shown on the public page.
    let private = json!({"id": peer.id("create"), "type": "Create", "actor": peer.actor,
        "object": {"id": format!("{}/notes/2", peer.base), "type": "Note", "inReplyTo": item.ap_id,
                   "to": [format!("{}/followers", peer.actor)], "content": "<p>secret plans</p>"}});
    assert_eq!(peer.send(&app, "/inbox", &private, false).await, 202);
    let article = get_ap(&item.ap_id).await;
    assert_eq!(article["likes"]["totalItems"], 1);
    assert_eq!(article["shares"]["totalItems"], 1);
    assert_eq!(article["replies"]["totalItems"], 1);
    let replies = get_ap(&format!("{}/replies?page=1", item.ap_id)).await;
    assert_eq!(replies["orderedItems"], json!([reply_id]));
    assert_eq!(get_ap(&format!("{}/likes", item.ap_id)).await["totalItems"], 1);
    let html = page(&common::client(), &item.ap_id).await;
    assert!(html.contains("<b>scones</b>"), "the reply is shown");
    assert!(!html.contains("<script>alert"), "and sanitised");
    assert!(
        !html.contains("secret plans"),
        "a followers-only reply is not shown"
    );

    // A reply to the reply is shown under it, one level in.
    let nested = json!({"id": other.id("create"), "type": "Create", "actor": other.actor,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {"id": format!("{}/notes/9", other.base), "type": "Note", "inReplyTo": reply_id,
                   "to": ["https://www.w3.org/ns/activitystreams#Public"], "content": "<p>Rhubarb from us</p>"}});
    assert_eq!(other.send(&app, "/inbox", &nested, false).await, 202);
    let html = page(&common::client(), &item.ap_id).await;
    let (first, second) = (
        html.find("scones").unwrap(),
        html.find("Rhubarb from us").unwrap(),
    );
    assert!(first < second, "the answer follows the reply it answers");
    assert!(html.contains("class=\"reply depth-1\""), "and is nested under it");

    // Moderation: anonymous visitors cannot hide; a moderator (the admin)
    // hides the reply from the page and the collection, shows it again,
    // then deletes it, and the author's Update does not bring it back.
    let stored = intercoop::service::remote::find_actor(&app.ctx, &peer.actor)
        .await
        .unwrap()
        .unwrap();
    let reply_row = {
        let mut conn = app.ctx.db.conn().await.unwrap();
        intercoop::db::queries::content::find_by_ap_id(&mut conn, &reply_id)
            .await
            .unwrap()
            .unwrap()
    };
    assert_eq!(reply_row.author_id, stored.id);
    let anon = common::client();
    let anon_page = page(&anon, &item.ap_id).await;
    assert!(!anon_page.contains("/hide"), "visitors get no moderation buttons");
    let refused = anon
        .post(app.url(&format!("/replies/{}/hide", reply_row.id)))
        .form(&[("csrf", common::csrf_of(&anon_page).as_str()), ("hidden", "on")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 303, "anonymous: sent to the login");
    let moderate = |verb: &'static str, fields: Vec<(&'static str, &'static str)>| {
        let admin = admin.clone();
        let url = app.url(&format!("/replies/{}/{verb}", reply_row.id));
        let page_url = item.ap_id.clone();
        async move {
            let page = page(&admin, &page_url).await;
            let csrf = common::csrf_of(&page);
            let mut form = vec![("csrf", csrf.as_str())];
            form.extend(fields.iter().copied());
            admin
                .post(url)
                .form(&form)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(moderate("hide", vec![("hidden", "on")]).await, 303);
    let public = page(&common::client(), &item.ap_id).await;
    assert!(!public.contains("scones"), "a hidden reply is not shown");
    assert_eq!(get_ap(&item.ap_id).await["replies"]["totalItems"], 0);
    assert_eq!(
        get_ap(&format!("{}/replies?page=1", item.ap_id)).await["orderedItems"],
        json!([])
    );
    let for_moderator = page(&admin, &item.ap_id).await;
    assert!(
        for_moderator.contains("scones"),
        "moderators still see it, to show it again"
    );
    assert_eq!(moderate("hide", vec![("hidden", "off")]).await, 303);
    assert_eq!(get_ap(&item.ap_id).await["replies"]["totalItems"], 1);
    assert_eq!(moderate("delete", vec![]).await, 200, "deleting asks first");
    assert_eq!(get_ap(&item.ap_id).await["replies"]["totalItems"], 1);
    assert_eq!(moderate("delete", vec![("confirm", "yes")]).await, 303);
    assert_eq!(get_ap(&item.ap_id).await["replies"]["totalItems"], 0);
    let mut edit = reply.clone();
    edit["id"] = json!(peer.id("update"));
    edit["type"] = json!("Update");
    edit["object"]["content"] = json!("<p>scones, edited</p>");
    assert_eq!(peer.send(&app, "/inbox", &edit, false).await, 202);
    let public = page(&common::client(), &item.ap_id).await;
    assert!(
        !public.contains("scones"),
        "an Update does not bring a deleted reply back"
    );

    // Blocking the replier's server hides what it wrote here, counts too.
    let mut again = reply.clone();
    again["id"] = json!(peer.id("create"));
    again["object"]["id"] = json!(format!("{}/notes/3", peer.base));
    again["object"]["content"] = json!("<p>jam too</p>");
    assert_eq!(peer.send(&app, "/inbox", &again, false).await, 202);
    assert_eq!(get_ap(&item.ap_id).await["replies"]["totalItems"], 1);
    intercoop::service::moderation::block_domain(&app.ctx, &common::admin(), "127.0.0.1", "test")
        .await
        .unwrap();
    assert_eq!(get_ap(&item.ap_id).await["replies"]["totalItems"], 0);
}

async fn the_coop(app: &TestApp) -> intercoop::db::models::Actor {
    intercoop::service::coop::get_coop(&app.ctx)
        .await
        .unwrap()
        .unwrap()
}

/// The admin approves or declines `peer`'s follow request from the Federation page.
async fn answer_request(app: &TestApp, admin: &reqwest::Client, peer: &Peer, verb: &str) -> u16 {
    let page = page(admin, app.url("/admin/federation")).await;
    let cached = intercoop::service::remote::find_actor(&app.ctx, &peer.actor)
        .await
        .unwrap()
        .unwrap();
    let action = format!("/admin/federation/requests/{}/{verb}", cached.id);
    assert!(page.contains(&action), "the request is listed for the admin");
    admin
        .post(app.url(&action))
        .form(&[("csrf", common::csrf_of(&page).as_str())])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A page's HTML as `client` sees it.
async fn page(client: &reqwest::Client, url: impl reqwest::IntoUrl) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}
