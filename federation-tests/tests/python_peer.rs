//! Intercoop against bovine (a Python ActivityPub implementation from PyPI):
//! its signatures verified by us, ours verified by it.

use federation_tests::{eventually, Backend, Instance, Peer};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bovine_peer_follows_and_receives_news() {
    let coop = Instance::start(Backend::Sqlite, "potters").await;
    let carol = Peer::python("carol").await;

    let found = carol.control("lookup", Some(json!({"url": coop.actor()}))).await;
    assert_eq!(found["ok"], true, "{found}");
    assert_eq!(found["type"], "Organization");
    assert_eq!(found["preferredUsername"], "potters");

    let r = carol
        .control("follow", Some(json!({"actor": coop.actor()})))
        .await;
    assert_eq!(r["ok"], true, "our inbox accepts bovine's signature: {r}");
    let accept = carol.wait_for("Accept", |a| a["verified"] == true).await;
    assert_eq!(accept["actor"], coop.actor());
    assert_eq!(coop.follower_count().await, 1);

    let item = coop.publish("Kiln open day", "Come and fire a pot.").await;
    let url = item["url"].as_str().unwrap().to_string();
    let create = carol
        .wait_for("Create", |a| {
            a["verified"] == true && (a["object"]["id"] == url || a["raw"]["object"]["id"] == url)
        })
        .await;
    assert_eq!(create["actor"], coop.actor());

    let r = carol
        .control("unfollow", Some(json!({"actor": coop.actor()})))
        .await;
    assert_eq!(r["ok"], true, "{r}");
    eventually("bovine's Undo removes the follower", 30, || async {
        (coop.follower_count().await == 0).then_some(())
    })
    .await;
}
