//! Members' notifications, blocks, reports and the retention settings, on
//! both databases over real HTTP: a message, a reply and an application
//! become notifications (a message also by email when asked for); a block
//! stops a member's messages and notices; a report reaches the moderators,
//! and one about a remote account is forwarded to its server as a Flag
//! from the instance actor without the reporter's name; retention removes
//! old messages and leaves the rest.

mod common;

use common::peer::Peer;
use common::smtp::Catcher;
use common::{Api, Backend, TestApp};
use reqwest::Method as M;
use serde_json::{json, Value};

both_backends!(members_are_notified_and_protected);

async fn notices(api: &Api) -> Vec<Value> {
    let (s, n) = api.call(M::GET, "/notifications", None).await;
    assert_eq!(s, 200, "{n}");
    n.as_array().unwrap().clone()
}

async fn members_are_notified_and_protected(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = TestApp::with_coop_configured(backend, catcher.settings()).await;
    let admin = Api::new(&app).await;
    let (_, _ana_web) = common::member(&admin, "Ana Sousa", "ana").await;
    let (bo_id, bo_web) = common::member(&admin, "Bo Lindqvist", "bo").await;
    let (s, _) = admin
        .call(
            M::PATCH,
            &format!("/members/{bo_id}"),
            Some(json!({"email": "bo@example.test"})),
        )
        .await;
    assert_eq!(s, 200);
    let ana = Api::for_user(&app, "ana").await;
    let bo = Api::for_user(&app, "bo").await;

    // Bo asks for messages by email.
    let page = bo_web
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("notice_message"),
        "the account page offers email notices"
    );
    let r = bo_web
        .post(app.url("/account/email"))
        .form(&[
            ("csrf", common::csrf_of(&page).as_str()),
            ("newsletter", "true"),
            ("notice_message", "true"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);

    // A message is a notification, and a mail.
    let (s, _) = ana
        .call(
            M::POST,
            "/messages",
            Some(json!({"to": ["bo"], "text": "Tea on Friday?"})),
        )
        .await;
    assert_eq!(s, 201);
    let n = notices(&bo).await;
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(n[0]["kind"], "message");
    assert!(n[0]["text"].as_str().unwrap().contains("Ana Sousa"), "{n:?}");
    assert!(n[0]["read_at"].is_null());
    let link = n[0]["link"].as_str().unwrap().to_string();
    assert!(link.starts_with("/messages/"), "{link}");
    let mail = catcher
        .wait_for("bo@example.test", |m| {
            m.text().contains("New message from Ana Sousa")
        })
        .await;
    assert!(
        mail.text().contains(&app.url(&link)),
        "the mail links to the conversation"
    );
    let page = bo_web
        .get(app.url("/notifications"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("New message from Ana Sousa") && page.contains(&link),
        "{page}"
    );
    let r = bo_web
        .post(app.url("/notifications/read"))
        .form(&[("csrf", common::csrf_of(&page).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(!notices(&bo).await[0]["read_at"].is_null(), "marked read");

    // A reply to the co-op's news tells its editors; an application its admins.
    let (_, news) = admin
        .call(M::POST, "/news", Some(json!({"title": "Harvest", "body": "In."})))
        .await;
    let page = bo_web
        .get(app.url("/news/harvest"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = bo_web
        .post(app.url("/replies/new"))
        .form(&[
            ("csrf", common::csrf_of(&page).as_str()),
            ("to", &news["id"].to_string()),
            ("text", "Well done!"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let c = common::client();
    let page = c
        .get(app.url("/apply"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = c
        .post(app.url("/apply"))
        .form(&[
            ("csrf", common::csrf_of(&page).as_str()),
            ("name", "Cy Newcomer"),
            ("email", "cy@example.test"),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    let kinds: Vec<String> = notices(&admin)
        .await
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_string())
        .collect();
    assert!(
        kinds.contains(&"reply".to_string()) && kinds.contains(&"application".to_string()),
        "{kinds:?}"
    );
    assert!(
        notices(&ana).await.is_empty(),
        "nothing for a member not concerned"
    );

    // Bo blocks Ana: her messages no longer reach him, nor their notices.
    let (s, e) = bo
        .call(M::POST, "/account/blocks", Some(json!({"account": "ana"})))
        .await;
    assert_eq!(s, 204, "{e}");
    let (s, _) = ana
        .call(
            M::POST,
            "/messages",
            Some(json!({"to": ["bo"], "text": "Are you there?"})),
        )
        .await;
    assert_eq!(s, 201, "the sender is not told");
    assert!(
        notices(&bo).await.is_empty(),
        "while blocked, nothing from her is listed"
    );
    let (_, conversations) = bo.call(M::GET, "/messages", None).await;
    assert!(
        !conversations.to_string().contains("Are you there?"),
        "{conversations}"
    );
    let (_, blocks) = bo.call(M::GET, "/account/blocks", None).await;
    assert_eq!(blocks[0]["kind"], "block");
    let ana_actor = blocks[0]["actor_id"].as_i64().unwrap();
    let (s, _) = bo
        .call(M::DELETE, &format!("/account/blocks/{ana_actor}"), None)
        .await;
    assert_eq!(s, 204);
    let (s, sent) = ana
        .call(
            M::POST,
            "/messages",
            Some(json!({"to": ["bo"], "text": "Third try"})),
        )
        .await;
    assert_eq!(s, 201);
    assert_eq!(
        notices(&bo).await.len(),
        2,
        "unblocked: the first and the third, not the blocked one"
    );

    // Bo reports Ana's message: the moderators see it; it stays here.
    let (s, r) = bo
        .call(
            M::POST,
            "/reports",
            Some(json!({"object": sent["id"], "comment": "Pushy"})),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let (s, r) = ana
        .call(M::POST, "/reports", Some(json!({"object": sent["id"]})))
        .await;
    assert_eq!(s, 422, "one's own message is not reported: {r}");
    let (s, _) = ana.call(M::GET, "/reports", None).await;
    assert_eq!(s, 403, "reports are for moderators");
    let (_, reports) = admin.call(M::GET, "/reports", None).await;
    assert_eq!(reports[0]["comment"], "Pushy");
    assert_eq!(
        reports[0]["forwardable"], false,
        "Ana is here: nobody to forward to"
    );

    // A Mastodon user writes to Bo (who takes messages from other servers);
    // Bo reports it, a moderator forwards it: a Flag from the instance.
    let page = bo_web
        .get(app.url("/messages"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = bo_web
        .post(app.url("/messages/settings"))
        .form(&[("csrf", common::csrf_of(&page).as_str()), ("open", "on")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let peer = Peer::start().await;
    let note_id = peer.id("note");
    let dm = json!({"@context": "https://www.w3.org/ns/activitystreams", "id": peer.id("create"), "type": "Create",
        "actor": peer.actor, "to": [app.url("/users/bo")], "cc": [],
        "object": {"id": note_id, "type": "Note", "attributedTo": peer.actor, "to": [app.url("/users/bo")], "cc": [],
                   "content": "<p>Buy cheap tea</p>", "tag": [{"type": "Mention", "href": app.url("/users/bo"), "name": "@bo"}]}});
    assert_eq!(peer.send(&app, "/inbox", &dm, false).await, 202);
    assert!(notices(&bo).await[0]["text"]
        .as_str()
        .unwrap()
        .contains("New message from @"));
    let (s, r) = bo
        .call(
            M::POST,
            "/reports",
            Some(json!({"object": note_id, "comment": "Spam"})),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let (_, reports) = admin.call(M::GET, "/reports", None).await;
    let remote = reports
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["comment"] == "Spam")
        .unwrap()
        .clone();
    assert_eq!(remote["forwardable"], true);
    let page = common::login(&app, common::ADMIN, common::PASSWORD).await;
    let html = page
        .get(app.url("/admin/reports"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Spam") && html.contains("Forward to their server"),
        "{html}"
    );
    let (s, _) = admin
        .call(M::POST, &format!("/reports/{}/forward", remote["id"]), None)
        .await;
    assert_eq!(s, 202);
    let flag = peer.wait_for("Flag", |_| true).await;
    assert_eq!(
        flag["actor"],
        app.url("/actor"),
        "from the instance actor: {flag}"
    );
    assert_eq!(flag["object"], json!([peer.actor, note_id]));
    assert_eq!(flag["content"], "Spam");
    assert!(
        !flag.to_string().contains("/users/bo"),
        "the reporter is not named: {flag}"
    );
    let (s, _) = admin
        .call(M::POST, &format!("/reports/{}/forward", remote["id"]), None)
        .await;
    assert_eq!(s, 409, "once");
    let (s, _) = admin
        .call(M::POST, &format!("/reports/{}/resolve", remote["id"]), None)
        .await;
    assert_eq!(s, 204);

    // A public post on the peer's server mentions Bo (not a reply, from
    // nobody the co-op follows: not stored): Bo is told, with its link.
    let before = notices(&bo).await.len();
    let post_id = peer.id("note");
    let mention = |kind: &str, id: &str, to: Value, cc: Value| {
        json!({"@context": "https://www.w3.org/ns/activitystreams", "id": peer.id(kind), "type": kind,
            "actor": peer.actor, "to": to, "cc": cc,
            "object": {"id": post_id, "type": "Note", "attributedTo": peer.actor, "to": to, "cc": cc,
                       "url": format!("{id}.html"),
                       "content": "<p><span class=\"h-card\"><a href=\"x\">@bo</a></span> the tea co-op in Lyon wants to meet yours</p>",
                       "tag": [{"type": "Mention", "href": app.url("/users/bo"), "name": "@bo"},
                               {"type": "Mention", "href": app.url("/users/ana"), "name": "@ana"}]}})
    };
    let public = json!(["https://www.w3.org/ns/activitystreams#Public"]);
    let followers = json!([format!("{}/followers", peer.actor)]);
    let create = mention("Create", &post_id, public.clone(), json!([app.url("/users/bo")]));
    assert_eq!(peer.send(&app, "/inbox", &create, false).await, 202);
    let n = notices(&bo).await;
    assert_eq!(n.len(), before + 1, "{n:?}");
    assert_eq!(n[0]["kind"], "mention");
    assert_eq!(n[0]["link"], format!("{post_id}.html"), "the post on its server");
    assert!(
        n[0]["text"]
            .as_str()
            .unwrap()
            .ends_with("mentioned you: the tea co-op in Lyon wants to meet yours"),
        "{n:?}"
    );
    assert_eq!(
        notices(&ana)
            .await
            .iter()
            .filter(|n| n["kind"] == "mention")
            .count(),
        1,
        "Ana is mentioned in a public post too"
    );
    let update = mention("Update", &post_id, public, json!([app.url("/users/bo")]));
    assert_eq!(peer.send(&app, "/inbox", &update, false).await, 202);
    assert_eq!(notices(&bo).await.len(), before + 1, "an edit tells nobody twice");
    let public_post = post_id;
    // Followers-only, addressed to Bo alone: Ana (mentioned, not addressed) hears nothing.
    let post_id = peer.id("note");
    let private = json!({"@context": "https://www.w3.org/ns/activitystreams", "id": peer.id("create"), "type": "Create",
        "actor": peer.actor, "to": followers, "cc": [app.url("/users/bo")],
        "object": {"id": post_id, "type": "Note", "attributedTo": peer.actor, "to": followers, "cc": [app.url("/users/bo")],
                   "content": "<p>@bo @ana between us</p>",
                   "tag": [{"type": "Mention", "href": app.url("/users/bo"), "name": "@bo"},
                           {"type": "Mention", "href": app.url("/users/ana"), "name": "@ana"}]}});
    assert_eq!(peer.send(&app, "/inbox", &private, false).await, 202);
    assert_eq!(notices(&bo).await[0]["link"], post_id, "no url: its id");
    assert_eq!(
        notices(&ana)
            .await
            .iter()
            .filter(|n| n["kind"] == "mention")
            .count(),
        1,
        "a followers-only post tells only whom it addresses"
    );

    // Not stored here, a mention is reported by the notice that told of
    // it: the notifications page links to the form, and the report names
    // the account and the post's id (not its page: servers look up a
    // Flag's objects by id), so that it can be forwarded.
    let notice = notices(&bo)
        .await
        .iter()
        .find(|n| n["link"] == format!("{public_post}.html"))
        .expect("the public post's notice")["id"]
        .clone();
    let html = bo_web
        .get(app.url("/notifications"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form_link = format!("/report?notice={notice}");
    assert!(html.contains(&form_link), "{html}");
    let form = bo_web
        .get(app.url(&form_link))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        form.contains("the tea co-op in Lyon wants to meet yours"),
        "the form shows what is reported: {form}"
    );
    let r = bo_web
        .post(app.url("/report"))
        .form(&[
            ("csrf", common::csrf_of(&form).as_str()),
            ("notice", notice.to_string().as_str()),
            ("comment", "Harassment"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (s, _) = ana
        .call(M::POST, "/reports", Some(json!({"notice": notice})))
        .await;
    assert_eq!(s, 404, "nobody reports by another member's notice");
    let (s, _) = bo
        .call(M::POST, "/reports", Some(json!({"notice": notice, "object": 1})))
        .await;
    assert_eq!(s, 422, "a notice or an object, not both");
    let (_, reports) = admin.call(M::GET, "/reports", None).await;
    let by_notice = reports
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["comment"] == "Harassment")
        .unwrap()
        .clone();
    assert_eq!(by_notice["objects"], json!([peer.actor, public_post]));
    assert_eq!(by_notice["forwardable"], true);
    let (s, _) = admin
        .call(M::POST, &format!("/reports/{}/forward", by_notice["id"]), None)
        .await;
    assert_eq!(s, 202);
    let flag = peer.wait_for("Flag", |f| f["content"] == "Harassment").await;
    assert_eq!(flag["object"], json!([peer.actor, public_post]));

    // Retention: messages older than a day go; the news stays.
    let (s, e) = admin
        .call(M::PUT, "/retention", Some(json!({"message_days": 0})))
        .await;
    assert_eq!(s, 422, "{e}");
    let (s, r) = admin
        .call(
            M::PUT,
            "/retention",
            Some(json!({"message_days": 1, "log_days": 30})),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let (_, audit) = admin.call(M::GET, "/audit?action=settings.retention", None).await;
    assert!(audit.to_string().contains("messages 1"), "{audit}");
    {
        use diesel_async::RunQueryDsl;
        let mut conn = app.ctx.db.conn().await.unwrap();
        let old = (chrono::Utc::now() - chrono::Duration::days(3)).naive_utc();
        let sql = match &conn {
            intercoop::db::PooledConn::Sqlite(_) => {
                "UPDATE objects SET created_at = ? WHERE visibility = 'direct'"
            }
            intercoop::db::PooledConn::Postgres(_) => {
                "UPDATE objects SET created_at = $1 WHERE visibility = 'direct'"
            }
        };
        intercoop::q!(&mut conn, |c| diesel::sql_query(sql)
            .bind::<diesel::sql_types::Timestamp, _>(old)
            .execute(c)
            .await)
        .unwrap();
    }
    let pruned = intercoop::service::privacy::apply_retention(&app.ctx)
        .await
        .unwrap();
    assert_eq!(pruned.messages, 4, "three from Ana and one from the peer");
    let (_, conversations) = bo.call(M::GET, "/messages", None).await;
    assert_eq!(conversations, json!({"items": []}), "{conversations}");
    let r = c.get(app.url("/news/harvest")).send().await.unwrap();
    assert_eq!(r.status(), 200, "news is not touched");
    app.stop().await;
}
