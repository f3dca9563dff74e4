//! Members-only news against Fedify (installed from npm), over real HTTP on
//! loopback: the secretary links a member's Fedify account, the co-op
//! sends it a code in a direct message, the member replies with the code
//! from that account (a Fedify direct Note), and from then on members-only
//! news reaches that account, signed, and its signed fetch reads it; a
//! Fedify follower who is not a member gets neither.

use federation_tests::{eventually, Backend, Instance, Peer};
use serde_json::{json, Value};

fn verified_by_fedify(a: &Value) -> bool {
    a["httpSignature"]["verified"] == true
}

async fn members_only_with_fedify(backend: Backend) {
    let coop = Instance::start(backend, "bakers").await;
    let alice = Peer::fedify("alice", "rfc9421", "rsa2048").await;
    let bob = Peer::fedify("bob", "draft-cavage-http-signatures-12", "rsa2048").await;

    let (status, member) = coop
        .api(
            reqwest::Method::POST,
            "/members",
            Some(json!({"name": "Alice Martin", "status": "active"})),
        )
        .await;
    assert_eq!(status, 201, "{member}");
    let id = member["id"].as_i64().unwrap();
    let (status, link) = coop
        .api(
            reqwest::Method::POST,
            &format!("/members/{id}/links"),
            Some(json!({"account": alice.actor})),
        )
        .await;
    assert_eq!(status, 201, "{link}");
    assert_eq!(link["status"], "waiting");

    // The code arrives as a direct message Fedify verified.
    let dm = alice
        .wait_for("Create", |a| {
            a["raw"]["object"]["content"]
                .as_str()
                .is_some_and(|c| c.contains("Your code to link"))
        })
        .await;
    assert!(verified_by_fedify(&dm), "{dm}");
    assert_eq!(dm["raw"]["object"]["to"], json!([alice.actor]), "{dm}");
    let content = dm["raw"]["object"]["content"].as_str().unwrap();
    let code = content
        .split("<strong>")
        .nth(1)
        .and_then(|s| s.split("</strong>").next())
        .unwrap()
        .to_string();
    // Alice answers from her account, as Mastodon would.
    let r = alice
        .control(
            "dm",
            Some(
                json!({"to": coop.actor(), "content": format!("<p>My code: {code}</p>"),
                        "inReplyTo": dm["raw"]["object"]["id"]}),
            ),
        )
        .await;
    assert_eq!(r["ok"], true, "{r}");
    eventually("the link proved", 30, || async {
        let (_, links) = coop
            .api(reqwest::Method::GET, &format!("/members/{id}/links"), None)
            .await;
        (links["items"][0]["status"] == "verified").then_some(())
    })
    .await;

    for peer in [&alice, &bob] {
        let r = peer.control("follow", Some(json!({"actor": coop.actor()}))).await;
        assert_eq!(r["ok"], true, "{r}");
        peer.wait_for("Accept", |_| true).await;
    }
    let (status, secret) = coop
        .api(
            reqwest::Method::POST,
            "/news",
            Some(json!({"title": "Board minutes", "body": "The board met.", "visibility": "members"})),
        )
        .await;
    assert_eq!(status, 201, "{secret}");
    let secret_url = secret["url"].as_str().unwrap().to_string();
    let (_, open) = coop
        .api(
            reqwest::Method::POST,
            "/news",
            Some(json!({"title": "Open day", "body": "Everyone welcome."})),
        )
        .await;
    let open_url = open["url"].as_str().unwrap().to_string();

    let create = alice
        .wait_for("Create", |a| a["raw"]["object"]["id"] == secret_url)
        .await;
    assert!(verified_by_fedify(&create), "{create}");
    let to = create["raw"]["object"]["to"].as_array().unwrap();
    assert!(to.contains(&json!(alice.actor)), "{create}");
    assert!(!create["raw"].to_string().contains("as#Public"), "{create}");

    bob.wait_for("Create", |a| a["raw"]["object"]["id"] == open_url)
        .await;
    let bob_got = bob.inbox().await;
    assert!(
        !Value::Array(bob_got).to_string().contains("Board minutes"),
        "a follower who is not a member gets no members-only news"
    );

    // Fedify's signed fetch: the member's account reads it, the follower does not.
    let r = alice.control("fetch", Some(json!({"url": secret_url}))).await;
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["document"]["type"], "Article");
    let r = bob.control("fetch", Some(json!({"url": secret_url}))).await;
    assert_eq!(r["ok"], false, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fedify_members_only_on_sqlite() {
    members_only_with_fedify(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fedify_members_only_on_postgres() {
    members_only_with_fedify(Backend::Postgres).await;
}
