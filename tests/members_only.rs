//! Members-only life on both databases, over real HTTP with scripted
//! peers: a member invited into an account links their fediverse account
//! (proved by the code the co-op sends it, typed here or replied), its
//! follow is approved on its own, members-only news reaches it and no
//! other follower, and a non-member, a removed member and a guessed URL get
//! nothing through the web, the API, ActivityPub fetches (signed and
//! unsigned), feeds, iCal or the outbox.

mod common;

use common::peer::Peer;
use common::{Api, Backend, TestApp, PASSWORD};
use intercoop::federation::signatures::sign_cavage;
use reqwest::Method as M;
use serde_json::{json, Value};

both_backends!(members_only_reaches_members_and_nobody_else);

fn coop_actor(app: &TestApp) -> String {
    app.url("/actors/tea")
}

/// The code in the co-op's direct message to `peer`.
async fn code_sent_to(peer: &Peer) -> (String, Value) {
    let dm = peer
        .wait_for("Create", |a| {
            a["object"]["content"]
                .as_str()
                .is_some_and(|c| c.contains("Your code to link"))
        })
        .await;
    let content = dm["object"]["content"].as_str().unwrap();
    let code = content
        .split("<strong>")
        .nth(1)
        .and_then(|s| s.split("</strong>").next())
        .unwrap()
        .to_string();
    (code, dm)
}

/// A GET of ActivityPub JSON, signed by `peer` when given.
async fn ap_get(app: &TestApp, path: &str, by: Option<&Peer>) -> (u16, String) {
    let url = url::Url::parse(&app.url(path)).unwrap();
    let mut req = reqwest::Client::new()
        .get(url.clone())
        .header("accept", "application/activity+json");
    if let Some(peer) = by {
        for (k, v) in sign_cavage(
            &peer.key,
            &peer.key_id(),
            "GET",
            &url,
            None,
            std::time::SystemTime::now(),
        ) {
            req = req.header(k, v);
        }
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn text(c: &reqwest::Client, url: String) -> (u16, String) {
    let r = c.get(url).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn members_only_reaches_members_and_nobody_else(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let api = Api::new(&app).await;
    // The co-op approves its followers one by one.
    let (status, _) = api
        .call(
            M::PATCH,
            "/coop",
            Some(json!({"manually_approves_followers": true})),
        )
        .await;
    assert_eq!(status, 200);

    // Ana is invited and sets up her account.
    let (status, ana) = api
        .call(
            M::POST,
            "/members",
            Some(json!({"name": "Ana Sousa", "status": "applicant"})),
        )
        .await;
    assert_eq!(status, 201, "{ana}");
    let ana_id = ana["id"].as_i64().unwrap();
    let (_, inv) = api
        .call(M::POST, &format!("/members/{ana_id}/invitations"), None)
        .await;
    let join = inv["url"].as_str().unwrap().to_string();
    let ana_web = common::client();
    let page = ana_web.get(&join).send().await.unwrap().text().await.unwrap();
    let r = ana_web
        .post(&join)
        .form(&[
            ("csrf", common::csrf_of(&page).as_str()),
            ("username", "ana"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);

    // Three servers: Ana's Mastodon account (linked on the web, proved by
    // a reply), her second account (linked and proved through the API),
    // and an outsider who follows the co-op.
    let ana_peer = Peer::start().await;
    let ana_second = Peer::start().await;
    let outsider = Peer::start().await;

    let (_, account) = text(&ana_web, app.url("/account")).await;
    assert!(account.contains("Your fediverse accounts"), "{account}");
    let r = ana_web
        .post(app.url("/account/links"))
        .form(&[
            ("csrf", common::csrf_of(&account).as_str()),
            ("account", ana_peer.actor.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (code, dm) = code_sent_to(&ana_peer).await;
    assert_eq!(dm["actor"], coop_actor(&app));
    assert_eq!(
        dm["object"]["to"],
        json!([ana_peer.actor]),
        "a direct message: {dm}"
    );
    assert!(
        dm.to_string().find("as#Public").is_none(),
        "the code is never public: {dm}"
    );
    let (_, account) = text(&ana_web, app.url("/account")).await;
    assert!(account.contains("waiting for its code"), "{account}");

    // A wrong code typed on the web is refused and counted.
    let link_id = account
        .split("/account/links/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let r = ana_web
        .post(app.url(&format!("/account/links/{link_id}/confirm")))
        .form(&[
            ("csrf", common::csrf_of(&account).as_str()),
            ("code", "AAAA-AAAA"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("4 tries left"));

    // Before the link is proved, Ana's account's follow waits.
    let follow = |peer: &Peer| {
        json!({"@context": "https://www.w3.org/ns/activitystreams", "id": peer.id("follow"),
               "type": "Follow", "actor": peer.actor, "object": coop_actor(&app)})
    };
    assert_eq!(
        ana_peer.send(&app, "/inbox", &follow(&ana_peer), false).await,
        202
    );
    let (_, waiting) = api.call(M::GET, "/follow_requests", None).await;
    assert_eq!(waiting.as_array().unwrap().len(), 1, "{waiting}");

    // She replies to the co-op's message with the code: proved, and her
    // waiting follow is approved.
    let reply = json!({"@context": "https://www.w3.org/ns/activitystreams", "id": ana_peer.id("create"),
        "type": "Create", "actor": ana_peer.actor, "to": [coop_actor(&app)],
        "object": {"id": ana_peer.id("note"), "type": "Note", "attributedTo": ana_peer.actor,
                   "inReplyTo": dm["object"]["id"], "to": [coop_actor(&app)],
                   "content": format!("<p><span class=\"h-card\">@tea</span> here it is: {}</p>", code.to_lowercase())}});
    assert_eq!(ana_peer.send(&app, "/inbox", &reply, true).await, 202);
    ana_peer.wait_for("Accept", |_| true).await;
    let (_, waiting) = api.call(M::GET, "/follow_requests", None).await;
    assert_eq!(waiting, json!([]), "the member's follow no longer waits");
    let (_, account) = text(&ana_web, app.url("/account")).await;
    assert!(account.contains("linked"), "{account}");

    // Her second account: linked and proved through the API with her token.
    let ana_api = Api {
        client: reqwest::Client::new(),
        token: intercoop::service::accounts::create_api_token(&app.ctx, "ana", "test")
            .await
            .unwrap(),
        base: app.url("/api/v1"),
    };
    let (status, link) = ana_api
        .call(
            M::POST,
            "/account/links",
            Some(json!({"account": ana_second.actor})),
        )
        .await;
    assert_eq!(status, 201, "{link}");
    assert_eq!(link["status"], "waiting");
    let (code2, _) = code_sent_to(&ana_second).await;
    let link2 = link["id"].as_i64().unwrap();
    let (status, done) = ana_api
        .call(
            M::POST,
            &format!("/account/links/{link2}/confirm"),
            Some(json!({"code": code2})),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "verified");
    // The follow of a proved account is approved at once.
    assert_eq!(
        ana_second.send(&app, "/inbox", &follow(&ana_second), true).await,
        202
    );
    ana_second.wait_for("Accept", |_| true).await;
    // The outsider's follow waits, and the admin approves it: a follower,
    // not a member.
    assert_eq!(outsider.send(&app, "/inbox", &follow(&outsider), true).await, 202);
    let (_, waiting) = api.call(M::GET, "/follow_requests", None).await;
    let req = waiting[0]["id"].as_i64().unwrap();
    let (status, _) = api
        .call(M::POST, &format!("/follow_requests/{req}/authorize"), None)
        .await;
    assert_eq!(status, 200);
    outsider.wait_for("Accept", |_| true).await;

    // Members-only news, an event and a poll, then a public marker.
    let (status, secret) = api
        .call(
            M::POST,
            "/news",
            Some(json!({"title": "Board minutes", "body": "The board met on Tuesday.", "visibility": "members"})),
        )
        .await;
    assert_eq!(status, 201, "{secret}");
    assert_eq!(secret["visibility"], "members");
    let secret_url = secret["url"].as_str().unwrap().to_string();
    let secret_path = format!("/news/{}", secret["slug"].as_str().unwrap());
    let (status, event) = api
        .call(
            M::POST,
            "/events",
            Some(
                json!({"title": "General assembly", "body": "Members vote.", "starts_at": "2030-05-01T18:00",
                        "timezone": "UTC", "location_name": "The barn", "visibility": "members"}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{event}");
    let event_slug = event["slug"].as_str().unwrap().to_string();
    let (status, bad) = api
        .call(
            M::POST,
            "/news",
            Some(json!({"title": "x", "body": "y", "visibility": "secret"})),
        )
        .await;
    assert_eq!(status, 422, "{bad}");
    let (_, marker) = api
        .call(
            M::POST,
            "/news",
            Some(json!({"title": "Open day", "body": "Everyone welcome."})),
        )
        .await;
    let marker_url = marker["url"].as_str().unwrap().to_string();

    // Delivered to both of Ana's accounts, each copy naming only its own
    // server's member and the members collection, never the public.
    for peer in [&ana_peer, &ana_second] {
        let create = peer.wait_for("Create", |a| a["object"]["id"] == secret_url).await;
        let to = create["object"]["to"].as_array().unwrap();
        assert!(to.contains(&json!(peer.actor)), "{create}");
        assert!(to.contains(&json!(app.url("/collections/members"))), "{create}");
        assert_eq!(to.len(), 2, "no other member is named: {create}");
        assert!(!create.to_string().contains("as#Public"), "{create}");
    }
    // The outsider gets the public news, never the members' items.
    outsider
        .wait_for("Create", |a| a["object"]["id"] == marker_url)
        .await;
    ana_peer
        .wait_for("Create", |a| a["object"]["id"] == marker_url)
        .await;
    let outsider_got = outsider.inbox.lock().unwrap().clone();
    assert!(
        !outsider_got
            .iter()
            .any(|a| a.to_string().contains("Board minutes") || a.to_string().contains("General assembly")),
        "{outsider_got:?}"
    );

    // The web: Ana reads it and sees it listed; anonymous visitors and a
    // guessed URL get 404, and it is in no public list or feed.
    let (status, html) = text(&ana_web, app.url(&secret_path)).await;
    assert_eq!(status, 200);
    assert!(html.contains("The board met on Tuesday."));
    assert!(text(&ana_web, app.url("/news")).await.1.contains("Board minutes"));
    let anon = common::client();
    assert_eq!(text(&anon, app.url(&secret_path)).await.0, 404);
    assert_eq!(
        text(&anon, app.url(&format!("/events/{event_slug}"))).await.0,
        404
    );
    assert_eq!(
        text(&anon, app.url(&format!("/events/{event_slug}.ics"))).await.0,
        404
    );
    assert_eq!(
        text(&ana_web, app.url(&format!("/events/{event_slug}"))).await.0,
        200
    );
    for path in [
        "/",
        "/news",
        "/events",
        "/news.rss",
        "/news.atom",
        "/feed.rss",
        "/feed.atom",
        "/events.ics",
    ] {
        let (status, body) = text(&anon, app.url(path)).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            body.contains("Open day") || path.contains("events"),
            "{path} lists public news"
        );
        assert!(
            !body.contains("Board minutes") && !body.contains("General assembly"),
            "{path} leaks members-only items"
        );
    }
    // Outbox and NodeInfo: public only.
    let (_, outbox) = ap_get(&app, "/actors/tea/outbox?page=1", Some(&ana_peer)).await;
    assert!(
        outbox.contains("Open day") && !outbox.contains("Board minutes"),
        "{outbox}"
    );

    // A non-member's reply into the members-only conversation is not kept
    // (nor passed on), and their Join of the members-only event is not taken.
    let intrusion = json!({"@context": "https://www.w3.org/ns/activitystreams", "id": outsider.id("create"),
        "type": "Create", "actor": outsider.actor, "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {"id": outsider.id("note"), "type": "Note", "attributedTo": outsider.actor,
                   "inReplyTo": secret_url, "to": ["https://www.w3.org/ns/activitystreams#Public"],
                   "content": "<p>Leaked reply</p>"}});
    assert_eq!(outsider.send(&app, "/inbox", &intrusion, true).await, 202);
    let join = json!({"@context": "https://www.w3.org/ns/activitystreams", "id": outsider.id("join"),
        "type": "Join", "actor": outsider.actor, "object": event["url"]});
    assert_eq!(outsider.send(&app, "/inbox", &join, true).await, 202);
    assert!(!text(&ana_web, app.url(&secret_path))
        .await
        .1
        .contains("Leaked reply"));
    let (_, ev) = api.call(M::GET, &format!("/events/{}", event["id"]), None).await;
    assert_eq!(ev["participant_count"], 0, "{ev}");

    // The API: anonymous 404 and not listed; a member's token reads it.
    let secret_id = secret["id"].as_i64().unwrap();
    let r = reqwest::get(app.url(&format!("/api/v1/news/{secret_id}")))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let list = reqwest::get(app.url("/api/v1/news"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!list.contains("Board minutes"), "{list}");
    let (status, _) = ana_api.call(M::GET, &format!("/news/{secret_id}"), None).await;
    assert_eq!(status, 200);
    let (_, list) = ana_api.call(M::GET, "/news", None).await;
    assert!(list.to_string().contains("Board minutes"));

    // ActivityPub: unsigned and a follower's signed fetch get 404; the
    // member's proved account gets the document.
    assert_eq!(ap_get(&app, &secret_path, None).await.0, 404);
    assert_eq!(ap_get(&app, &secret_path, Some(&outsider)).await.0, 404);
    let (status, doc) = ap_get(&app, &secret_path, Some(&ana_peer)).await;
    assert_eq!(status, 200, "{doc}");
    let doc: Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(doc["type"], "Article");
    assert_eq!(doc["to"], json!([app.url("/collections/members")]));
    // A forged signature gets what a missing page gets (it must not confirm a guess).
    let forged = {
        let url = url::Url::parse(&app.url(&secret_path)).unwrap();
        let (_, other) = intercoop::crypto::generate_actor_keys().unwrap();
        let key = intercoop::federation::signatures::PrivateKey::from_pem(&other).unwrap();
        let mut req = reqwest::Client::new()
            .get(url.clone())
            .header("accept", "application/activity+json");
        for (k, v) in sign_cavage(
            &key,
            &ana_peer.key_id(),
            "GET",
            &url,
            None,
            std::time::SystemTime::now(),
        ) {
            req = req.header(k, v);
        }
        req.send().await.unwrap().status().as_u16()
    };
    assert_eq!(forged, 404);
    // A non-member's vote on a members-only poll is refused.
    let (status, poll) = api
        .call(
            M::POST,
            "/polls",
            Some(json!({"question": "Which date?", "options": ["May", "June"],
                        "closes_at": (intercoop::db::now() + chrono::Duration::days(30)).format("%Y-%m-%dT%H:%M").to_string(),
                        "visibility": "members"})),
        )
        .await;
    assert_eq!(status, 201, "{poll}");
    let vote = |peer: &Peer| {
        json!({"@context": "https://www.w3.org/ns/activitystreams", "id": peer.id("vote"), "type": "Create",
               "actor": peer.actor, "to": [coop_actor(&app)],
               "object": {"id": peer.id("note"), "type": "Note", "attributedTo": peer.actor, "name": "May",
                          "inReplyTo": poll["url"], "to": [coop_actor(&app)]}})
    };
    assert_eq!(outsider.send(&app, "/inbox", &vote(&outsider), true).await, 422);
    assert_eq!(ana_peer.send(&app, "/inbox", &vote(&ana_peer), true).await, 202);
    let (_, counted) = api.call(M::GET, &format!("/polls/{}", poll["id"]), None).await;
    assert_eq!(counted["voters_count"], 1, "{counted}");

    // Ana is suspended: her session ends, her accounts get nothing more
    // and their signed fetches are refused.
    let (status, _) = api
        .call(
            M::PATCH,
            &format!("/members/{ana_id}"),
            Some(json!({"status": "suspended"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(text(&ana_web, app.url(&secret_path)).await.0, 404);
    // The follows her link approved end, since the co-op approves its followers.
    ana_peer.wait_for("Reject", |_| true).await;
    // (A second apart: the same signature twice is refused as a replay.)
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(ap_get(&app, &secret_path, Some(&ana_peer)).await.0, 404);
    let (_, later) = api
        .call(
            M::POST,
            "/news",
            Some(
                json!({"title": "Second minutes", "body": "Not for the suspended.", "visibility": "members"}),
            ),
        )
        .await;
    let (_, marker2) = api
        .call(
            M::POST,
            "/news",
            Some(json!({"title": "Open day two", "body": "Welcome."})),
        )
        .await;
    let marker2_url = marker2["url"].as_str().unwrap().to_string();
    // (Her accounts follow no longer: the marker shows at the outsider.)
    outsider
        .wait_for("Create", |a| a["object"]["id"] == marker2_url)
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let got = ana_peer.inbox.lock().unwrap().clone();
    assert!(
        !got.iter().any(|a| a["object"]["id"] == later["url"]),
        "a suspended member's account gets no members-only news"
    );

    // Removed from the register: her links go with the record.
    let (status, _) = api.call(M::DELETE, &format!("/members/{ana_id}"), None).await;
    assert_eq!(status, 204);
    let (_, links) = api.call(M::GET, &format!("/members/{ana_id}/links"), None).await;
    assert_eq!(links["error"], "not_found", "{links}");
    {
        let mut conn = app.ctx.db.conn().await.unwrap();
        let audit = intercoop::db::queries::accounts::recent_audit(&mut conn, 200)
            .await
            .unwrap();
        for action in ["member.link", "member.link_verified", "member.delete"] {
            assert!(audit.iter().any(|(a, _)| a == action), "{action} audited");
        }
    }
    app.stop().await;
}
