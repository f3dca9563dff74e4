//! The delivery queue survives kill -9 in the middle of a fan-out: after the
//! restart every follower gets the news. Also on PostgreSQL, two `serve`
//! processes share one queue without sending anything twice.

use std::time::Duration;

use federation_tests::sink::Sink;
use federation_tests::{eventually, Backend, Instance};

const FOLLOWERS: usize = 60;

async fn followed_by_crowd(coop: &Instance, sink: &Sink) {
    let client = reqwest::Client::new();
    for i in 0..FOLLOWERS {
        assert_eq!(sink.follow(&client, &format!("u{i}"), &coop.actor()).await, 202);
    }
    eventually("all followers accepted", 60, || async {
        (coop.follower_count().await == FOLLOWERS as i64).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_fan_out_loses_nothing() {
    let mut coop = Instance::start(Backend::Sqlite, "durable").await;
    // Each answer takes 150 ms and a host gets 4 at a time: the fan-out
    // takes about 2 s, long enough to kill the sender in the middle.
    let sink = Sink::start(Duration::from_millis(150)).await;
    followed_by_crowd(&coop, &sink).await;

    let item = coop
        .publish("Survives a crash", "Delivered even if the server dies.")
        .await;
    let url = item["url"].as_str().unwrap().to_string();
    eventually("some deliveries done", 30, || async {
        (sink.count("Create", &url).0 >= 5).then_some(())
    })
    .await;
    coop.kill9().await;
    let (before, _) = sink.count("Create", &url);
    assert!(
        before < FOLLOWERS,
        "killed in the middle of the fan-out ({before} delivered)"
    );

    // Restart on the same database: claims of the dead process run out and
    // the rest is delivered.
    coop.spawn().await;
    eventually("every follower has the news after the restart", 90, || async {
        (sink.count("Create", &url).0 == FOLLOWERS).then_some(())
    })
    .await;
    let (_, total) = sink.count("Create", &url);
    // Only attempts in flight at the kill can repeat (at most the concurrency).
    assert!(
        total <= FOLLOWERS + 16,
        "{total} deliveries for {FOLLOWERS} followers"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_postgres_queue_without_doubles() {
    let first = Instance::start(Backend::Postgres, "shared").await;
    // A second `serve` on the same database (another port: two app processes
    // behind one load balancer).
    let second = first.sibling().await;
    let sink = Sink::start(Duration::from_millis(20)).await;
    followed_by_crowd(&first, &sink).await;
    let item = second
        .publish("Fan-out by two workers", "Each follower once.")
        .await;
    let url = item["url"].as_str().unwrap().to_string();
    eventually("every follower has the news", 60, || async {
        (sink.count("Create", &url).0 == FOLLOWERS).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (actors, total) = sink.count("Create", &url);
    assert_eq!(
        (actors, total),
        (FOLLOWERS, FOLLOWERS),
        "each follower got it exactly once"
    );
}
