//! Events and polls against Fedify (installed from npm), over real HTTP on
//! loopback: a Fedify actor joins an event (our Accept is signed and names
//! its Join), leaves it, hears of its changes; a Fedify actor votes the way
//! Mastodon does, once, and the new counts and the close reach a follower.

use federation_tests::{eventually, Backend, Instance, Peer};
use serde_json::{json, Value};

fn verified_by_fedify(a: &Value) -> bool {
    a["httpSignature"]["verified"] == true
}

async fn fetched(peer: &Peer, url: &str) -> Value {
    let r = peer.control("fetch", Some(json!({"url": url}))).await;
    assert_eq!(r["ok"], true, "{r}");
    r["document"].clone()
}

async fn events_and_polls_with_fedify(backend: Backend) {
    let coop = Instance::start(backend, "bakers").await;
    let alice = Peer::fedify("alice", "rfc9421", "rsa2048").await;
    let bob = Peer::fedify("bob", "draft-cavage-http-signatures-12", "rsa2048").await;
    // Bob follows the co-op; Alice only takes part.
    let r = bob.control("follow", Some(json!({"actor": coop.actor()}))).await;
    assert_eq!(r["ok"], true, "{r}");
    bob.wait_for("Accept", |_| true).await;

    let (status, event) = coop
        .api(
            reqwest::Method::POST,
            "/events",
            Some(
                json!({"title": "Harvest day", "body": "Bring boots.", "starts_at": "2030-09-14T09:00",
                        "ends_at": "2030-09-14T17:00", "timezone": "Europe/Lisbon",
                        "location_name": "North field", "capacity": 30}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{event}");
    let url = event["url"].as_str().unwrap().to_string();
    let create = bob.wait_for("Create", |a| a["raw"]["object"]["id"] == url).await;
    assert!(verified_by_fedify(&create), "{create}");
    assert_eq!(create["raw"]["object"]["type"], "Event");

    // Fedify's Join gets a signed Accept naming it.
    let join = alice
        .control("join", Some(json!({"object": url, "to": coop.actor()})))
        .await;
    assert_eq!(join["ok"], true, "{join}");
    let join_id = join["id"].as_str().unwrap().to_string();
    let accept = alice
        .wait_for("Accept", |a| {
            a["raw"]["object"]["id"] == join_id || a["raw"]["object"] == join_id
        })
        .await;
    assert!(verified_by_fedify(&accept), "{accept}");
    assert_eq!(accept["raw"]["object"]["type"], "Join");
    let state = alice.control("state", None).await;
    assert!(
        state["joins"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["state"] == "accepted"),
        "Fedify took the Accept as the answer to its Join: {state}"
    );
    // Fedify fetches the Event (signed) and reads the count.
    let doc = fetched(&alice, &url).await;
    assert_eq!(doc["type"], "Event");
    assert_eq!(doc["participantCount"], 1);
    assert_eq!(doc["remainingAttendeeCapacity"], 29);
    assert_eq!(doc["startTime"], "2030-09-14T09:00:00+01:00");

    // A change of place reaches the participant, not only the follower.
    let id = event["id"].as_i64().unwrap();
    let (status, _) = coop
        .api(
            reqwest::Method::PATCH,
            &format!("/events/{id}"),
            Some(json!({"location_name": "South field"})),
        )
        .await;
    assert_eq!(status, 200);
    for peer in [&alice, &bob] {
        let update = peer
            .wait_for("Update", |a| {
                a["raw"]["object"]["location"]["name"] == "South field"
            })
            .await;
        assert!(verified_by_fedify(&update), "{update}");
    }

    // Fedify's Leave takes Alice out.
    let r = alice
        .control("leave", Some(json!({"object": url, "to": coop.actor()})))
        .await;
    assert_eq!(r["ok"], true, "{r}");
    eventually("the participant is removed", 30, || async {
        (fetched(&alice, &url).await["participantCount"] == 0).then_some(())
    })
    .await;

    // A poll; Alice votes as Mastodon does, twice; it counts once.
    let closes = (chrono::Utc::now() + chrono::Duration::seconds(8))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (status, poll) = coop
        .api(
            reqwest::Method::POST,
            "/polls",
            Some(json!({"question": "Bread or cake?", "options": ["Bread", "Cake"], "closes_at": closes})),
        )
        .await;
    assert_eq!(status, 201, "{poll}");
    let question = poll["url"].as_str().unwrap().to_string();
    bob.wait_for("Create", |a| a["raw"]["object"]["id"] == question)
        .await;
    for _ in 0..2 {
        let r = alice
            .control(
                "vote",
                Some(json!({"question": question, "name": "Bread", "to": coop.actor()})),
            )
            .await;
        assert_eq!(r["ok"], true, "{r}");
    }
    let pid = poll["id"].as_i64().unwrap();
    let (_, counts) = coop
        .api(reqwest::Method::GET, &format!("/polls/{pid}"), None)
        .await;
    assert_eq!(counts["voters_count"], 1, "{counts}");
    assert_eq!(counts["options"][0]["votes_count"], 1);
    let update = bob
        .wait_for("Update", |a| {
            a["raw"]["object"]["id"] == question && a["raw"]["object"]["votersCount"] == 1
        })
        .await;
    assert!(verified_by_fedify(&update), "{update}");
    assert_eq!(update["raw"]["object"]["oneOf"][0]["replies"]["totalItems"], 1);
    // It closes by itself, and the follower hears of it.
    bob.wait_for("Update", |a| {
        a["raw"]["object"]["id"] == question && a["raw"]["object"]["closed"].is_string()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fedify_events_and_polls_on_sqlite() {
    events_and_polls_with_fedify(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fedify_events_and_polls_on_postgres() {
    events_and_polls_with_fedify(Backend::Postgres).await;
}
