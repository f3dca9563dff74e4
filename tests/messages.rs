//! Direct messages on both databases, over real HTTP: members of two
//! Intercoop instances write to each other (a group message with a member
//! here too, and an answer), a Mastodon-shaped direct Note from a scripted
//! peer reaches a member who takes messages from other servers (and not
//! one who does not), with its unread state; messages are nowhere public.

mod common;

use common::peer::Peer;
use common::{Api, Backend, TestApp, PASSWORD};
use intercoop::service::accounts::{self, NewAccount};
use intercoop::service::types::UserRole;
use reqwest::Method as M;
use serde_json::{json, Value};

both_backends!(members_write_across_servers);

async fn member(app: &TestApp, name: &str) -> Api {
    accounts::create_user(
        &app.ctx,
        NewAccount {
            username: name.into(),
            email: None,
            display_name: name.into(),
            password: PASSWORD.into(),
            role: UserRole::Member,
        },
    )
    .await
    .unwrap();
    Api {
        client: reqwest::Client::new(),
        token: accounts::create_api_token(&app.ctx, name, "test").await.unwrap(),
        base: app.url("/api/v1"),
    }
}

/// Waits until `who` has a conversation whose last message contains `text`.
async fn conversation_with(who: &Api, text: &str) -> Value {
    for _ in 0..150 {
        let (_, list) = who.call(M::GET, "/messages", None).await;
        if let Some(c) = list["items"].as_array().and_then(|l| {
            l.iter()
                .find(|c| c["last"]["content_html"].as_str().unwrap_or("").contains(text))
        }) {
            return c.clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no conversation with {text:?} arrived");
}

async fn members_write_across_servers(backend: Backend) {
    let a = TestApp::with_coop(backend).await;
    let b = TestApp::with_coop(backend).await;
    let ana = member(&a, "ana").await;
    let carla = member(&a, "carla").await;
    let bob = member(&b, "bob").await;

    // Bob takes messages from other servers (on his messages page).
    let bob_web = common::login(&b, "bob", PASSWORD).await;
    let page = bob_web
        .get(b.url("/messages"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("People on other fediverse servers may write to me"),
        "{page}"
    );
    let r = bob_web
        .post(b.url("/messages/settings"))
        .form(&[("csrf", common::csrf_of(&page).as_str()), ("open", "on")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);

    // Ana writes to Bob (another server) and Carla (here) at once.
    let (status, sent) = ana
        .call(
            M::POST,
            "/messages",
            Some(json!({"to": [format!("@bob@{}", b.ctx.config.domain()), "carla"], "text": "Shall our co-ops **share** a stall?"})),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    let at_bob = conversation_with(&bob, "share").await;
    assert_eq!(at_bob["unread"], 1, "{at_bob}");
    assert_eq!(at_bob["with"], json!([a.url("/users/ana")]));
    let at_carla = conversation_with(&carla, "share").await;
    assert_eq!(
        at_carla["with"].as_array().unwrap().len(),
        2,
        "a group conversation: {at_carla}"
    );

    // Reading it marks it read; Bob answers from his server.
    let key = at_bob["key"].as_str().unwrap();
    let (_, thread) = bob.call(M::GET, &format!("/messages/{key}"), None).await;
    assert!(thread["items"][0]["content_html"]
        .as_str()
        .unwrap()
        .contains("<strong>share</strong>"));
    let (_, list) = bob.call(M::GET, "/messages", None).await;
    assert_eq!(list["items"][0]["unread"], 0, "{list}");
    let (status, _) = bob
        .call(
            M::POST,
            "/messages",
            Some(json!({"to": [a.url("/users/ana")], "text": "Yes, Saturday works."})),
        )
        .await;
    assert_eq!(status, 201);
    let answer = conversation_with(&ana, "Saturday works").await;
    assert_eq!(answer["with"], json!([b.url("/users/bob")]));

    // A Mastodon user writes to Carla, who takes nothing from other
    // servers: not kept. Once she opens her messages, it is.
    let peer = Peer::start().await;
    let dm = |text: &str| {
        json!({"@context": "https://www.w3.org/ns/activitystreams", "id": peer.id("create"), "type": "Create",
               "actor": peer.actor, "to": [a.url("/users/carla")], "cc": [],
               "object": {"id": peer.id("note"), "type": "Note", "attributedTo": peer.actor,
                          "to": [a.url("/users/carla")], "cc": [], "content": format!("<p>{text}<script>x</script></p>"),
                          "tag": [{"type": "Mention", "href": a.url("/users/carla"), "name": "@carla"}]}})
    };
    assert_eq!(peer.send(&a, "/inbox", &dm("First try"), false).await, 202);
    let carla_web = common::login(&a, "carla", PASSWORD).await;
    let page = carla_web
        .get(a.url("/messages"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("First try"));
    let r = carla_web
        .post(a.url("/messages/settings"))
        .form(&[("csrf", common::csrf_of(&page).as_str()), ("open", "on")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        peer.send(&a, "/inbox", &dm("Hello from Mastodon"), true).await,
        202
    );
    let from_peer = conversation_with(&carla, "Hello from Mastodon").await;
    assert!(
        !from_peer["last"]["content_html"]
            .as_str()
            .unwrap()
            .contains("<script"),
        "sanitised"
    );
    let page = carla_web
        .get(a.url("/messages"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("1 unread"), "{page}");
    let thread = carla_web
        .get(a.url(&format!("/messages/{}", from_peer["key"].as_str().unwrap())))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(thread.contains("Hello from Mastodon"));
    // Carla's answer goes to the peer as a direct Note naming only it.
    let (status, _) = carla
        .call(
            M::POST,
            "/messages",
            Some(json!({"to": [peer.actor], "text": "Hi back"})),
        )
        .await;
    assert_eq!(status, 201);
    let create = peer
        .wait_for("Create", |c| {
            c["object"]["content"].as_str().unwrap_or("").contains("Hi back")
        })
        .await;
    assert_eq!(create["object"]["to"], json!([peer.actor]));
    assert_eq!(create["to"], json!([peer.actor]));
    assert_eq!(create["object"]["tag"][0]["type"], "Mention");
    assert!(!create.to_string().contains("as#Public"));

    // Nowhere public: not its note page, nor the home page, nor someone
    // else's messages.
    let note = sent["id"].as_str().unwrap();
    let r = reqwest::Client::new()
        .get(note)
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let home = reqwest::get(a.url("/")).await.unwrap().text().await.unwrap();
    assert!(!home.contains("share") && !home.contains("Hello from Mastodon"));
    let admin = Api::new(&a).await;
    let (_, theirs) = admin.call(M::GET, "/messages", None).await;
    assert_eq!(theirs["items"], json!([]));
    let (status, _) = admin
        .call(
            M::GET,
            &format!("/messages/{}", at_carla["key"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 404, "a conversation one is not in does not exist");
    a.stop().await;
    b.stop().await;
}
