//! Forums against Fedify (installed from npm): a Fedify actor follows a
//! forum's Group and gets the group's Announce of a thread posted through
//! the API, signed; another Fedify actor's reply in the thread is shown on
//! the thread page and announced, as received, to the follower.

use federation_tests::{eventually, Backend, Instance, Peer};
use serde_json::json;

async fn forums_with_fedify(backend: Backend) {
    let coop = Instance::start(backend, "weavers").await;
    let (status, forum) = coop
        .api(
            reqwest::Method::POST,
            "/forums",
            Some(json!({"handle": "looms", "name": "Looms and yarn", "visibility": "public"})),
        )
        .await;
    assert_eq!(status, 201, "{forum}");
    let group = forum["actor_id"].as_str().unwrap().to_string();
    let bob = Peer::fedify("bob", "draft-cavage-http-signatures-12", "rsa2048").await;
    let alice = Peer::fedify("alice", "rfc9421", "rsa4096").await;
    let r = bob.control("follow", Some(json!({"actor": group}))).await;
    assert_eq!(r["ok"], true, "{r}");
    let accept = bob.wait_for("Accept", |_| true).await;
    assert_eq!(accept["raw"]["actor"], group);
    assert_eq!(accept["httpSignature"]["verified"], true, "{accept}");

    let (status, thread) = coop
        .api(
            reqwest::Method::POST,
            "/forums/looms/threads",
            Some(json!({"title": "Warp tension tips", "body": "What works for linen?"})),
        )
        .await;
    assert_eq!(status, 201, "{thread}");
    let page = thread["ap_id"].as_str().unwrap().to_string();
    let announce = bob
        .wait_for("Announce", |a| a["raw"]["object"]["object"]["id"] == page)
        .await;
    assert_eq!(announce["httpSignature"]["verified"], true, "{announce}");
    assert_eq!(announce["raw"]["actor"], group);
    assert_eq!(announce["raw"]["object"]["type"], "Create");
    assert_eq!(announce["raw"]["object"]["object"]["type"], "Page");
    assert_eq!(announce["raw"]["object"]["object"]["audience"], group);

    // Alice replies from Fedify, addressing the group.
    let reply = alice
        .control(
            "reply",
            Some(json!({"inReplyTo": page, "content": "<p>Wet the warp first.</p>", "to": group})),
        )
        .await;
    assert_eq!(reply["ok"], true, "{reply}");
    let create_id = reply["id"].as_str().unwrap().to_string();
    let passed_on = bob
        .wait_for("Announce", |a| a["raw"]["object"]["id"] == create_id)
        .await;
    assert_eq!(passed_on["raw"]["actor"], group);
    assert_eq!(passed_on["raw"]["object"]["actor"], alice.actor);
    let url = thread["url"].as_str().unwrap().to_string();
    eventually("the reply shows on the thread page", 20, || async {
        let html = reqwest::get(&url).await.ok()?.text().await.ok()?;
        html.contains("Wet the warp first.").then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fedify_forums_on_sqlite() {
    forums_with_fedify(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fedify_forums_on_postgres() {
    forums_with_fedify(Backend::Postgres).await;
}
