//! Intercoop against Fedify 2.3.6 (an independent ActivityPub framework,
//! installed from npm), over real HTTP on loopback, on SQLite and PostgreSQL.

use federation_tests::{eventually, Backend, Instance, Peer};
use serde_json::{json, Value};

/// Fedify's own check of the HTTP signature on what we sent it.
fn verified_by_fedify(a: &Value) -> bool {
    a["httpSignature"]["verified"] == true
}

async fn fedify_follows_and_receives_news(backend: Backend) {
    let coop = Instance::start(backend, "bakers").await;
    // Two Fedify peers: one signs with RFC 9421 first, the other with
    // draft-cavage, so both of our verifiers are exercised; one has an
    // RSA-4096 key as Fedify generates by default.
    let alice = Peer::fedify("alice", "rfc9421", "rsa2048").await;
    let bob = Peer::fedify("bob", "draft-cavage-http-signatures-12", "rsa4096").await;

    // Fedify looks up the co-op and validates the actor.
    let found = alice.control("lookup", Some(json!({"url": coop.actor()}))).await;
    assert_eq!(found["ok"], true, "{found}");
    assert_eq!(found["type"], "Organization");
    assert_eq!(found["preferredUsername"], "bakers");
    assert_eq!(found["inbox"], format!("{}/inbox", coop.actor()));
    assert_eq!(found["sharedInbox"], coop.url("/inbox"));
    assert_eq!(found["publicKeyId"], format!("{}#main-key", coop.actor()));

    for peer in [&alice, &bob] {
        let r = peer.control("follow", Some(json!({"actor": coop.actor()}))).await;
        assert_eq!(r["ok"], true, "{r}");
        let accept = peer.wait_for("Accept", |_| true).await;
        assert!(
            verified_by_fedify(&accept),
            "Fedify verifies our Accept's signature: {accept}"
        );
    }
    assert_eq!(coop.follower_count().await, 2);

    // Which spec did each peer's Follow finally use? Both were accepted by us
    // at the first knock (no fallback to the other spec).
    for (peer, spec) in [(&alice, "rfc9421"), (&bob, "draft-cavage-http-signatures-12")] {
        let outgoing = peer.control("outgoing", None).await;
        let posts: Vec<&Value> = outgoing["requests"]
            .as_array()
            .map(|v| {
                v.iter()
                    .filter(|r| {
                        r["method"] == "POST" && r["url"].as_str().is_some_and(|u| u.starts_with(&coop.base))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let first = posts.first().expect("the peer POSTed its Follow to us");
        assert_eq!(first["spec"], spec, "{first}");
        assert!(
            first["status"].as_u64().unwrap_or(0) < 300,
            "first knock accepted: {first}"
        );
    }

    let item = coop
        .publish(
            "Bread for the assembly",
            "We bake for **everyone**.\n\nSee you there.",
        )
        .await;
    let url = item["url"].as_str().unwrap().to_string();
    for peer in [&alice, &bob] {
        let create = peer.wait_for("Create", |a| a["raw"]["object"]["id"] == url).await;
        assert!(verified_by_fedify(&create), "{create}");
        let object = &create["raw"]["object"];
        assert_eq!(object["type"], "Article");
        assert_eq!(object["name"], "Bread for the assembly");
        assert_eq!(object["summary"], "We bake for everyone.");
    }

    let id = item["id"].as_i64().unwrap();
    let (status, _) = coop
        .api(
            reqwest::Method::PATCH,
            &format!("/news/{id}"),
            Some(json!({"title": "Bread (moved to Friday)"})),
        )
        .await;
    assert_eq!(status, 200);
    let update = alice
        .wait_for("Update", |a| a["raw"]["object"]["id"] == url)
        .await;
    assert_eq!(update["raw"]["object"]["name"], "Bread (moved to Friday)");
    let (status, _) = coop
        .api(reqwest::Method::DELETE, &format!("/news/{id}"), None)
        .await;
    assert_eq!(status, 204);
    bob.wait_for("Delete", |a| {
        a["raw"]["object"]["id"] == url || a["object"] == url || a["object"]["id"] == url
    })
    .await;

    // Fedify's Undo(Follow) removes the follower.
    let r = alice
        .control("unfollow", Some(json!({"actor": coop.actor()})))
        .await;
    assert_eq!(r["ok"], true, "{r}");
    eventually("the follower is removed", 30, || async {
        (coop.follower_count().await == 1).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fedify_on_sqlite() {
    fedify_follows_and_receives_news(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fedify_on_postgres() {
    fedify_follows_and_receives_news(Backend::Postgres).await;
}

/// Blocking a domain refuses its Follow with 403, and the peer sees no Accept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_fedify_follow_is_refused() {
    let coop = Instance::start(Backend::Sqlite, "closed").await;
    let peer = Peer::fedify("mallory", "rfc9421", "rsa2048").await;
    // The admin blocks the peer's host on the federation page.
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = c
        .get(coop.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = login
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let r = c
        .post(coop.url("/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", federation_tests::ADMIN),
            ("password", federation_tests::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = c
        .get(coop.url("/admin/federation"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let r = c
        .post(coop.url("/admin/federation/domains"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("domain", "127.0.0.1"),
            ("mode", "block"),
            ("reason", "test"),
            // Blocking asks for confirmation first; this is the confirmed post.
            ("confirm", "yes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = peer.control("follow", Some(json!({"actor": coop.actor()}))).await;
    // Fedify reports the refused delivery as an error.
    assert_eq!(r["ok"], false, "{r}");
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert!(peer.inbox().await.iter().all(|a| a["type"] != "Accept"));
    assert_eq!(coop.follower_count().await, 0);
}
