//! Forums as FEP-1b12 groups, end to end on both databases over real HTTP:
//! the Group actor, a follower receiving the group's Announce of what is
//! posted on the web and by peers (Lemmy's Page, Mastodon's mention), bans,
//! locks, the announcements-only rule and a moderator's removal; and two
//! Intercoop instances, one following the other's forum, replying across.

mod common;

use common::peer::Peer;
use common::{Api, Backend, TestApp, ADMIN, PASSWORD};
use intercoop::service::forums;
use serde_json::{json, Value};

both_backends!(
    forum_group_federates,
    peers_post_in_forums,
    two_instances_share_a_forum,
    members_only_forums_stay_inside
);

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

async fn get_ap(url: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(url)
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn text(url: &str) -> (u16, String) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// A forum made through the API, and a peer following its group.
async fn forum_with_follower(app: &TestApp, api: &Api, handle: &str, restricted: bool) -> (String, Peer) {
    let (status, forum) = api
        .call(
            reqwest::Method::POST,
            "/forums",
            Some(
                json!({"handle": handle, "name": "General talk", "description": "Anything **co-op**.",
                        "visibility": "public", "posting_restricted": restricted}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{forum}");
    let group = forum["actor_id"].as_str().unwrap().to_string();
    assert_eq!(group, app.url(&format!("/actors/{handle}")));
    let peer = Peer::start().await;
    let follow = json!({"@context": "https://www.w3.org/ns/activitystreams", "id": peer.id("follow"),
                        "type": "Follow", "actor": peer.actor, "object": group});
    assert_eq!(
        peer.send(app, &format!("/actors/{handle}/inbox"), &follow, false)
            .await,
        202
    );
    let accept = peer.wait_for("Accept", |_| true).await;
    assert_eq!(accept["actor"], group);
    assert_eq!(
        accept["object"]["type"], "Follow",
        "the Follow is embedded, as Lemmy needs"
    );
    (group, peer)
}

/// The thread's id here, from the forum's thread list in the API.
async fn thread_id(api: &Api, forum: &str, title: &str) -> i64 {
    for _ in 0..100 {
        let (_, list) = api
            .call(reqwest::Method::GET, &format!("/forums/{forum}/threads"), None)
            .await;
        if let Some(t) = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["title"] == title)
        {
            return t["id"].as_i64().unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no thread {title:?} in {forum}");
}

async fn forum_group_federates(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let api = Api::new(&app).await;
    let (group, fan) = forum_with_follower(&app, &api, "general", false).await;

    // The group as peers read it: WebFinger, then the Group document.
    let (status, jrd) = get_ap(&app.url(&format!(
        "/.well-known/webfinger?resource=acct:general@{}",
        app.addr
    )))
    .await;
    assert_eq!(status, 200);
    assert!(jrd["links"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["rel"] == "self" && l["href"] == group));
    let (_, doc) = get_ap(&group).await;
    assert_eq!(doc["type"], "Group");
    assert_eq!(doc["preferredUsername"], "general");
    assert_eq!(doc["attributedTo"], format!("{group}/moderators"));
    assert_eq!(doc["postingRestrictedToMods"], false);
    assert!(doc["publicKey"]["publicKeyPem"]
        .as_str()
        .unwrap()
        .contains("BEGIN PUBLIC KEY"));
    assert_eq!(doc["followers"], format!("{group}/followers"));
    let (_, followers) = get_ap(&format!("{group}/followers")).await;
    assert_eq!(followers["totalItems"], 1);

    // A thread posted through the API goes out as the group's Announce of
    // the member's Create(Page).
    let (status, thread) = api
        .call(
            reqwest::Method::POST,
            "/forums/general/threads",
            Some(json!({"title": "Bulk buying of seeds", "body": "Who wants to **share** an order?"})),
        )
        .await;
    assert_eq!(status, 201, "{thread}");
    let page_id = thread["ap_id"].as_str().unwrap().to_string();
    let announce = fan
        .wait_for("Announce", |a| a["object"]["object"]["id"] == page_id)
        .await;
    assert_eq!(announce["actor"], group);
    assert_eq!(announce["to"][0], PUBLIC);
    assert_eq!(announce["cc"][0], format!("{group}/followers"));
    let create = &announce["object"];
    assert_eq!(create["type"], "Create");
    assert_eq!(create["actor"], app.url(&format!("/users/{ADMIN}")));
    let page = &create["object"];
    assert_eq!(page["type"], "Page");
    assert_eq!(page["name"], "Bulk buying of seeds");
    assert_eq!(page["audience"], group);
    assert_eq!(page["to"][0], group, "Lemmy finds the community first in `to`");
    assert!(page["content"]
        .as_str()
        .unwrap()
        .contains("<strong>share</strong>"));

    // The group's outbox lists its announces of threads inline (Lemmy's backfill).
    let (_, outbox) = get_ap(&format!("{group}/outbox")).await;
    assert_eq!(outbox["totalItems"], 1, "{outbox}");
    assert_eq!(outbox["orderedItems"][0]["object"]["object"]["id"], page_id);

    // The thread is served as its Page, and shown on its page and in the forum.
    let (status, served) = get_ap(&page_id).await;
    assert_eq!(status, 200);
    assert_eq!(served["type"], "Page");
    assert_eq!(served["commentsEnabled"], true);
    let (status, html) = text(&page_id).await;
    assert_eq!(status, 200);
    assert!(html.contains("Bulk buying of seeds"));
    let (_, forum_html) = text(&app.url("/forums/general")).await;
    assert!(forum_html.contains("Bulk buying of seeds"));
    assert!(forum_html.contains("/forums/general/feed.rss"));
    let (status, rss) = text(&app.url("/forums/general/feed.rss")).await;
    assert_eq!(status, 200);
    let feed = feed_rs::parser::parse(rss.as_bytes()).expect("the forum's RSS parses");
    assert_eq!(
        feed.entries[0].title.as_ref().unwrap().content,
        "Bulk buying of seeds"
    );

    // Public forums are listed in NodeInfo and on the home page.
    let (_, nodeinfo) = get_ap(&app.url("/nodeinfo/2.1")).await;
    assert_eq!(
        nodeinfo["metadata"]["forums"][0],
        format!("@general@{}", app.addr)
    );
    let (_, home) = text(&app.url("/")).await;
    assert!(home.contains("href=\"/forums/general\""));

    // A member's reply on the web is announced too, with the group as audience.
    let admin = common::login(&app, ADMIN, PASSWORD).await;
    let thread_page = admin.get(&page_id).send().await.unwrap().text().await.unwrap();
    let r = admin
        .post(app.url("/replies/new"))
        .form(&[
            ("csrf", common::csrf_of(&thread_page).as_str()),
            ("to", thread["id"].to_string().as_str()),
            ("text", "Count me in."),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let slug = page_id.rsplit('/').next().unwrap();
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with(&format!("/threads/{slug}")));
    let reply = fan
        .wait_for("Announce", |a| {
            a["object"]["type"] == "Create" && a["object"]["object"]["inReplyTo"] == page_id
        })
        .await;
    assert_eq!(reply["object"]["object"]["audience"], group);

    // Locked: the page says so, and a member's reply is refused.
    let id = thread["id"].as_i64().unwrap();
    let object = intercoop::service::objects::find_local(
        &mut app.ctx.db.conn().await.unwrap(),
        intercoop::db::models::ContentKind::Thread,
        id,
    )
    .await
    .unwrap();
    forums::set_locked(&app.ctx, &common::admin(), &object, true)
        .await
        .unwrap();
    let update = fan
        .wait_for("Announce", |a| {
            a["object"]["type"] == "Update" && a["object"]["object"]["id"] == page_id
        })
        .await;
    assert_eq!(update["object"]["object"]["commentsEnabled"], false);
    let (status, reply) = api
        .call(
            reqwest::Method::POST,
            &format!("/forums/general/threads/{id}/replies"),
            Some(json!({"text": "Too late?"})),
        )
        .await;
    assert_eq!(status, 403, "{reply}");
    assert!(reply["detail"].as_str().unwrap().contains("locked"), "{reply}");

    // A thread of 50 replies stays under 30 KB.
    forums::set_locked(&app.ctx, &common::admin(), &object, false)
        .await
        .unwrap();
    for n in 0..50 {
        intercoop::service::conversation::reply(
            &app.ctx,
            &common::admin(),
            id,
            &format!("Reply number {n}: I can take two bags."),
        )
        .await
        .unwrap();
    }
    let (_, html) = text(&page_id).await;
    assert!(html.contains("Reply number 49"));
    assert!(html.len() < 30_000, "a 50-reply thread is {} bytes", html.len());
}

async fn peers_post_in_forums(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let api = Api::new(&app).await;
    let (group, fan) = forum_with_follower(&app, &api, "general", false).await;
    let lemmy = Peer::start().await;

    // A Lemmy user's post: Create(Page) to the group, `audience` the group.
    let page_id = format!("{}/post/1", lemmy.base);
    let create = json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": lemmy.id("create"), "type": "Create", "actor": lemmy.actor,
        "to": [PUBLIC], "cc": [group], "audience": group,
        "object": {"id": page_id, "type": "Page", "attributedTo": lemmy.actor,
                   "to": [group, PUBLIC], "cc": [], "audience": group,
                   "name": "Solar panels for the warehouse",
                   "content": "<p>Quotes attached <script>alert(1)</script></p>",
                   "mediaType": "text/html", "published": "2026-12-01T10:00:00Z"}
    });
    assert_eq!(lemmy.send(&app, "/inbox", &create, false).await, 202);
    let announced = fan
        .wait_for("Announce", |a| a["object"]["id"] == create["id"])
        .await;
    assert_eq!(announced["object"], create, "the Create is embedded as received");
    let id = thread_id(&api, "general", "Solar panels for the warehouse").await;
    let (status, html) = text(&app.url(&format!("/threads/remote/{id}"))).await;
    assert_eq!(status, 200);
    assert!(html.contains("Quotes attached"));
    assert!(!html.contains("<script>alert"), "remote HTML is sanitised");

    // A comment on it, Lemmy's shape.
    let comment = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": lemmy.id("create"), "type": "Create", "actor": lemmy.actor, "to": [PUBLIC], "cc": [group],
        "object": {"id": format!("{}/comment/1", lemmy.base), "type": "Note", "attributedTo": lemmy.actor,
                   "to": [PUBLIC], "cc": [group], "audience": group, "inReplyTo": page_id,
                   "content": "<p>I know an installer.</p>"}
    });
    assert_eq!(lemmy.send(&app, "/inbox", &comment, false).await, 202);
    fan.wait_for("Announce", |a| a["object"]["id"] == comment["id"])
        .await;
    let (_, html) = text(&app.url(&format!("/threads/remote/{id}"))).await;
    assert!(html.contains("I know an installer."));

    // A Mastodon user mentions the group: a thread titled by its first line.
    let mention = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": lemmy.id("create"), "type": "Create", "actor": lemmy.actor, "to": [PUBLIC], "cc": [group],
        "object": {"id": format!("{}/statuses/9", lemmy.base), "type": "Note", "attributedTo": lemmy.actor,
                   "to": [PUBLIC], "cc": [group],
                   "tag": [{"type": "Mention", "href": group, "name": "@general"}],
                   "content": "<p><span class=\"h-card\"><a href=\"http://x/\" class=\"u-url mention\">@<span>general</span></a></span> Who repairs bikes?</p><p>Mine has a flat.</p>"}
    });
    assert_eq!(lemmy.send(&app, "/inbox", &mention, false).await, 202);
    thread_id(&api, "general", "Who repairs bikes?").await;
    fan.wait_for("Announce", |a| a["object"]["id"] == mention["id"])
        .await;

    // A post naming another author than its sender is refused: the group
    // would vouch for it.
    let forged = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": lemmy.id("create"), "type": "Create", "actor": lemmy.actor, "to": [PUBLIC], "cc": [group],
        "object": {"id": format!("{}/post/forged", lemmy.base), "type": "Page",
                   "attributedTo": "https://victim.example/users/bob",
                   "to": [group, PUBLIC], "audience": group, "name": "Said by bob", "content": "x"}
    });
    assert_eq!(lemmy.send(&app, "/inbox", &forged, false).await, 403);
    // The same post again under a new activity id is not announced twice.
    let mut again = create.clone();
    again["id"] = json!(lemmy.id("create"));
    assert_eq!(lemmy.send(&app, "/inbox", &again, false).await, 202);

    // A forum with threads keeps its audience.
    let forum = forums::find_forum(&app.ctx, &common::admin(), "general")
        .await
        .unwrap();
    let change = forums::update_forum(
        &app.ctx,
        &common::admin(),
        &forum,
        &forums::ForumInput {
            name: "General talk".into(),
            visibility: "members".into(),
            ..Default::default()
        },
    )
    .await;
    assert!(
        matches!(&change, Err(e) if e.field_errors().iter().any(|(f, _)| *f == "visibility")),
        "{change:?}"
    );

    // A moderator's removal reaches the followers, as Lemmy shapes it.
    let mut conn = app.ctx.db.conn().await.unwrap();
    let stored =
        intercoop::db::queries::content::find_by_ap_id(&mut conn, &format!("{}/comment/1", lemmy.base))
            .await
            .unwrap()
            .unwrap();
    drop(conn);
    forums::remove_post(&app.ctx, &common::admin(), &stored, "Off topic")
        .await
        .unwrap();
    let removal = fan
        .wait_for("Announce", |a| a["object"]["type"] == "Delete")
        .await;
    assert_eq!(removal["actor"], group);
    assert_eq!(removal["object"]["object"], stored.ap_id);
    assert_eq!(removal["object"]["summary"], "Off topic");
    assert_eq!(removal["object"]["actor"], app.url(&format!("/users/{ADMIN}")));
    let (_, html) = text(&app.url(&format!("/threads/remote/{id}"))).await;
    assert!(
        !html.contains("I know an installer."),
        "removed replies are not shown"
    );
    let comment_announce = fan
        .wait_for("Announce", |a| a["object"]["id"] == comment["id"])
        .await;
    let (status, _) = get_ap(comment_announce["id"].as_str().unwrap()).await;
    assert_eq!(
        status, 410,
        "the group's Announce of a removed post is no longer served"
    );
    let (status, moderator) = get_ap(&app.url(&format!("/users/{ADMIN}"))).await;
    assert_eq!(status, 200, "peers can check the moderator who removed it");
    assert_eq!(moderator["type"], "Person");
    assert!(
        !fan.inbox
            .lock()
            .unwrap()
            .iter()
            .any(|a| a["object"]["id"] == again["id"]),
        "a repeat is not announced"
    );
    let late = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": lemmy.id("create"), "type": "Create", "actor": lemmy.actor, "to": [PUBLIC], "cc": [group],
        "object": {"id": format!("{}/comment/2", lemmy.base), "type": "Note", "attributedTo": lemmy.actor,
                   "to": [PUBLIC], "cc": [group], "inReplyTo": stored.ap_id, "content": "<p>Why removed?</p>"}
    });
    assert_eq!(
        lemmy.send(&app, "/inbox", &late, false).await,
        403,
        "no replies under a removed post"
    );

    // Banned: the next post is refused with 403 and not announced.
    let sender = intercoop::service::remote::find_actor(&app.ctx, &lemmy.actor)
        .await
        .unwrap()
        .unwrap();
    let forum = forums::find_forum(&app.ctx, &common::admin(), "general")
        .await
        .unwrap();
    forums::ban(&app.ctx, &common::admin(), &forum, &sender, "spam")
        .await
        .unwrap();
    let banned = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": lemmy.id("create"), "type": "Create", "actor": lemmy.actor, "to": [PUBLIC], "cc": [group],
        "object": {"id": format!("{}/post/2", lemmy.base), "type": "Page", "attributedTo": lemmy.actor,
                   "to": [group, PUBLIC], "audience": group, "name": "Buy cheap watches", "content": "spam"}
    });
    assert_eq!(lemmy.send(&app, "/inbox", &banned, false).await, 403);
    let like = json!({"@context": "https://www.w3.org/ns/activitystreams", "id": lemmy.id("like"),
                      "type": "Like", "actor": lemmy.actor, "object": page_id});
    assert_eq!(
        lemmy.send(&app, "/inbox", &like, false).await,
        403,
        "a banned actor's Like too"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(
        !fan.inbox
            .lock()
            .unwrap()
            .iter()
            .any(|a| a["object"]["id"] == banned["id"] || a["object"]["id"] == like["id"]),
        "nothing of a banned actor is announced"
    );
    let (_, list) = api
        .call(reqwest::Method::GET, "/forums/general/threads", None)
        .await;
    assert!(!list.to_string().contains("Buy cheap watches"));
    let follow = json!({"@context": "https://www.w3.org/ns/activitystreams", "id": lemmy.id("follow"),
                        "type": "Follow", "actor": lemmy.actor, "object": group});
    assert_eq!(
        lemmy.send(&app, "/inbox", &follow, false).await,
        403,
        "nor may it follow the forum"
    );

    // An announcements-only forum takes replies but no new threads from peers.
    let (news_group, _) = forum_with_follower(&app, &api, "notices", true).await;
    let other = Peer::start().await;
    let thread = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": other.id("create"), "type": "Create", "actor": other.actor, "to": [PUBLIC], "cc": [news_group],
        "object": {"id": format!("{}/post/3", other.base), "type": "Page", "attributedTo": other.actor,
                   "to": [news_group, PUBLIC], "audience": news_group, "name": "My own notice", "content": "x"}
    });
    assert_eq!(other.send(&app, "/inbox", &thread, false).await, 403);
}

/// Instance B's co-op follows A's forum from the web; a thread posted on A
/// reaches B; B's member replies as their own Person; both show the reply.
async fn two_instances_share_a_forum(backend: Backend) {
    let a = TestApp::with_coop(backend).await;
    let b = TestApp::with_coop(backend).await;
    let api_a = Api::new(&a).await;
    let (group, _fan) = forum_with_follower(&a, &api_a, "general", false).await;

    let on_b = common::login(&b, ADMIN, PASSWORD).await;
    let list = on_b
        .get(b.url("/forums"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = on_b
        .post(b.url("/forums/subscribe"))
        .form(&[
            ("csrf", common::csrf_of(&list).as_str()),
            ("address", group.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    // A accepts at once; B then lists the forum as followed.
    let key = format!("general@{}", a.addr);
    let mut accepted = false;
    for _ in 0..100 {
        let f = forums::find_forum(&b.ctx, &common::admin(), &key).await.unwrap();
        if forums::subscription_state(&b.ctx, &f).await.unwrap()
            == Some(intercoop::db::models::FollowState::Accepted)
        {
            accepted = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(accepted, "A's group accepted B's follow");

    let (status, thread) = api_a
        .call(
            reqwest::Method::POST,
            "/forums/general/threads",
            Some(json!({"title": "Joint training day", "body": "For both co-ops' new members."})),
        )
        .await;
    assert_eq!(status, 201);
    let api_b = Api::new(&b).await;
    let on_b_id = thread_id(&api_b, &key, "Joint training day").await;
    // A thread for A's forum sent to B by anyone but A's group is not B's to keep.
    let stranger = Peer::start().await;
    let sneaky = json!({"@context": "https://www.w3.org/ns/activitystreams", "id": stranger.id("create"),
                        "type": "Create", "actor": stranger.actor, "to": [PUBLIC], "cc": [group],
                        "object": {"id": format!("{}/post/1", stranger.base), "type": "Page",
                                   "attributedTo": stranger.actor, "to": [group, PUBLIC], "audience": group,
                                   "name": "Not announced", "content": "x"}});
    assert_eq!(stranger.send(&b, "/inbox", &sneaky, false).await, 202);
    let (_, list) = api_b
        .call(reqwest::Method::GET, &format!("/forums/{key}/threads"), None)
        .await;
    assert!(!list.to_string().contains("Not announced"), "{list}");

    // B's member replies on B's copy of the thread.
    let page = on_b
        .get(b.url(&format!("/threads/remote/{on_b_id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Joint training day"));
    let r = on_b
        .post(b.url("/replies/new"))
        .form(&[
            ("csrf", common::csrf_of(&page).as_str()),
            ("to", on_b_id.to_string().as_str()),
            ("text", "We will bring the projector."),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with(&format!("/threads/remote/{on_b_id}")));
    let (_, on_b_page) = text(&b.url(&format!("/threads/remote/{on_b_id}"))).await;
    assert!(on_b_page.contains("We will bring the projector."));

    // A gets it in its group's inbox and shows it under the thread.
    let thread_url = thread["url"].as_str().unwrap().to_string();
    let mut shown = false;
    for _ in 0..150 {
        let (_, html) = text(&thread_url).await;
        if html.contains("We will bring the projector.") {
            shown = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(shown, "A shows B's member's reply");
    let (_, html) = text(&thread_url).await;
    assert!(
        html.contains(&format!("@{ADMIN}@{}", b.addr)),
        "as B's member's own account"
    );
}

/// A members-only forum: nothing of it reaches anyone outside the co-op,
/// and members read and write in it on the web.
async fn members_only_forums_stay_inside(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let api = Api::new(&app).await;
    // A peer follows the co-op, so it would hear of anything public.
    let peer = Peer::start().await;
    let f = json!({"@context": "https://www.w3.org/ns/activitystreams", "id": peer.id("follow"),
                   "type": "Follow", "actor": peer.actor, "object": app.url("/actors/tea")});
    assert_eq!(peer.send(&app, "/actors/tea/inbox", &f, false).await, 202);
    peer.wait_for("Accept", |_| true).await;
    let (status, forum) = api
        .call(
            reqwest::Method::POST,
            "/forums",
            Some(json!({"handle": "board", "name": "Board room", "visibility": "members"})),
        )
        .await;
    assert_eq!(status, 201, "{forum}");
    let group = forum["actor_id"].as_str().unwrap().to_string();
    let (status, thread) = api
        .call(
            reqwest::Method::POST,
            "/forums/board/threads",
            Some(json!({"title": "Salary review", "body": "Confidential figures."})),
        )
        .await;
    assert_eq!(status, 201, "{thread}");
    let id = thread["id"].as_i64().unwrap();
    let (status, _) = api
        .call(
            reqwest::Method::POST,
            &format!("/forums/board/threads/{id}/replies"),
            Some(json!({"text": "Agreed, in confidence."})),
        )
        .await;
    assert_eq!(status, 201);
    let page = thread["ap_id"].as_str().unwrap().to_string();

    // Members read it on the web, replies included.
    let member = common::login(&app, ADMIN, PASSWORD).await;
    let html = member.get(&page).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Confidential figures.") && html.contains("Agreed, in confidence."));

    // Nobody else gets anything: pages, JSON, WebFinger, feeds, lists.
    for url in [
        page.clone(),
        app.url("/forums/board"),
        app.url("/forums/board/feed.rss"),
        app.url("/api/v1/forums/board"),
    ] {
        assert_eq!(text(&url).await.0, 404, "{url}");
    }
    assert_eq!(get_ap(&page).await.0, 404);
    assert_eq!(get_ap(&group).await.0, 404);
    assert_eq!(get_ap(&format!("{page}/replies")).await.0, 404);
    assert_eq!(
        get_ap(&app.url(&format!(
            "/.well-known/webfinger?resource=acct:board@{}",
            app.addr
        )))
        .await
        .0,
        404
    );
    let (_, nodeinfo) = get_ap(&app.url("/nodeinfo/2.1")).await;
    assert!(!nodeinfo.to_string().contains("board"), "{nodeinfo}");
    assert_eq!(nodeinfo["usage"]["localPosts"], 0, "{nodeinfo}");
    let (_, home) = text(&app.url("/")).await;
    assert!(!home.contains("Board room"));
    let (_, list) = text(&app.url("/forums")).await;
    assert!(!list.contains("Board room"));
    let (_, outbox) = get_ap(&app.url(&format!("/users/{ADMIN}/outbox?page=1"))).await;
    assert!(!outbox.to_string().contains("Salary"), "{outbox}");

    // Peers may neither follow it nor post in it.
    let follow = json!({"@context": "https://www.w3.org/ns/activitystreams", "id": peer.id("follow"),
                        "type": "Follow", "actor": peer.actor, "object": group});
    assert_eq!(peer.send(&app, "/inbox", &follow, false).await, 403);
    let post = json!({"@context": "https://www.w3.org/ns/activitystreams", "id": peer.id("create"),
                      "type": "Create", "actor": peer.actor, "to": [PUBLIC], "cc": [group],
                      "object": {"id": format!("{}/post/1", peer.base), "type": "Page", "attributedTo": peer.actor,
                                 "to": [group, PUBLIC], "audience": group, "name": "Let me in", "content": "x"}});
    assert_eq!(peer.send(&app, "/inbox", &post, false).await, 403);

    // And the follower of the co-op heard nothing of the thread or its reply.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let got = peer.inbox.lock().unwrap().clone();
    assert!(
        !got.iter()
            .any(|a| a.to_string().contains("Salary") || a.to_string().contains("in confidence")),
        "{got:?}"
    );
}
