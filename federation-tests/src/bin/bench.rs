//! Benchmarks of the federation core, printed as numbers:
//!
//! - inbox throughput: signed activities (Like of a news item, each from one
//!   of 100 remote actors) POSTed over loopback, verified and stored per second;
//! - fan-out: time from publishing one news item until every follower host
//!   has received it, for N followers on M hosts (each host a separate
//!   loopback server with a shared inbox, as Mastodon servers have).
//!
//! Run (release build, SQLite by default):
//!   cargo run --release -p federation-tests --bin bench -- --followers 1000 --hosts 100
//! Options: --inbox N (activities, default 5000), --followers N, --hosts M,
//! --database postgres://... (default: a temp SQLite file).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use intercoop::config::Config;
use intercoop::db::models::ActorRow;
use intercoop::db::queries::{actors, follows as follow_q};
use intercoop::server;
use intercoop::service::coop::{self, SetupInput};
use intercoop::service::news::{self, NewsInput};
use serde_json::json;

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

#[derive(Clone)]
struct HostState {
    host: usize,
    got: Arc<Mutex<HashSet<usize>>>,
}

async fn shared_inbox(State(s): State<HostState>, body: Bytes) -> StatusCode {
    if body.windows(8).any(|w| w == b"\"Create\"") {
        s.got.lock().unwrap().insert(s.host);
    }
    StatusCode::ACCEPTED
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    server::init_tls();
    let inbox_n: usize = arg("--inbox", "5000").parse().expect("--inbox N");
    let followers: usize = arg("--followers", "1000").parse().expect("--followers N");
    let hosts: usize = arg("--hosts", "100").parse().expect("--hosts M");
    let dir = tempfile::tempdir().unwrap();
    let default_db = format!("sqlite://{}", dir.path().join("bench.db").display());
    let database_url = arg("--database", &default_db);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://127.0.0.1:{}", addr.port());
    let mut config = Config::for_test(&base, addr, &database_url, dir.path());
    config.max_connections = arg("--pool", "16").parse().expect("--pool N");
    // The benchmark measures throughput, not the per-sender rate limits.
    config.inbox_rate_per_actor = 0;
    config.inbox_rate_per_domain = 0;
    let prepared = server::prepare(config).await.expect("server prepares");
    let ctx = prepared.state.ctx.clone();
    let token = prepared
        .setup_link
        .as_deref()
        .and_then(|l| l.split("token=").nth(1))
        .unwrap()
        .to_string();
    coop::complete_setup(
        &ctx,
        &token,
        SetupInput {
            coop_name: "Bench Co-op".into(),
            handle: "bench".into(),
            admin_username: "admin".into(),
            admin_email: None,
            password: "correct horse battery staple".into(),
        },
    )
    .await
    .unwrap();
    tokio::spawn(async move {
        let _ = server::serve(prepared, listener, std::future::pending()).await;
    });
    let coop_actor = coop::get_coop(&ctx).await.unwrap().unwrap();
    println!("intercoop bench: database {}", ctx.db.display_url());

    // ---------------------------------------------------------------- inbox
    let signers = federation_tests::sink::Sink::start(Duration::ZERO).await;
    let target = news::publish_news(
        &ctx,
        &intercoop::service::Caller::User {
            id: 1,
            role: intercoop::service::types::UserRole::Admin,
        },
        &NewsInput {
            title: "Bench target".into(),
            body: "Liked many times.".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let inbox_url = url::Url::parse(&format!("{base}/inbox")).unwrap();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    // Warm the key cache: one activity per signer (fetches its actor once).
    let actors_n = 100;
    for i in 0..actors_n {
        let like = json!({"id": format!("{}/likes/warm{i}", signers.base), "type": "Like",
            "actor": signers.actor(&format!("s{i}")), "object": target.ap_id});
        let st = signers
            .post_as(&client, &format!("s{i}"), inbox_url.as_str(), &like)
            .await;
        assert_eq!(st, 202, "warm-up activity accepted");
    }
    // Sign everything first: the sender's cost is not ours to measure.
    let mut requests = Vec::with_capacity(inbox_n);
    for n in 0..inbox_n {
        let i = n % actors_n;
        let actor = signers.actor(&format!("s{i}"));
        let like = json!({"id": format!("{}/likes/{n}", signers.base), "type": "Like", "actor": actor, "object": target.ap_id});
        let body = serde_json::to_vec(&like).unwrap();
        let headers = signers.sign(&format!("s{i}"), &inbox_url, &body);
        requests.push((headers, body));
    }
    let queue = Arc::new(Mutex::new(requests));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let queue = queue.clone();
        let client = client.clone();
        let url = inbox_url.clone();
        tasks.push(tokio::spawn(async move {
            let mut ok = 0usize;
            loop {
                let next = queue.lock().unwrap().pop();
                let Some((headers, body)) = next else { break };
                let mut req = client
                    .post(url.clone())
                    .header("content-type", "application/activity+json");
                for (k, v) in headers {
                    req = req.header(k, v);
                }
                if let Ok(r) = req.body(body).send().await {
                    if r.status() == 202 {
                        ok += 1;
                    }
                }
            }
            ok
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        accepted += t.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "inbox: {accepted}/{inbox_n} signed activities verified and stored in {secs:.2} s = {:.0} activities/s",
        accepted as f64 / secs
    );

    // ---------------------------------------------------------------- fan-out
    let got = Arc::new(Mutex::new(HashSet::new()));
    let mut host_urls = Vec::with_capacity(hosts);
    for h in 0..hosts {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://127.0.0.1:{}", l.local_addr().unwrap().port());
        let app = Router::new()
            .route("/inbox", post(shared_inbox))
            .with_state(HostState {
                host: h,
                got: got.clone(),
            });
        tokio::spawn(async move {
            let _ = axum::serve(l, app).await;
        });
        host_urls.push(url);
    }
    // Followers are written straight to the database (N signed Follows would
    // measure the inbox again, not the fan-out).
    {
        let mut tx = ctx.db.begin().await.unwrap();
        let now = intercoop::db::now();
        for f in 0..followers {
            let host = &host_urls[f % hosts];
            let id = format!("{host}/users/f{f}");
            let row = ActorRow {
                ap_id: id.clone(),
                kind: "Person".into(),
                handle: format!("f{f}"),
                domain: host.trim_start_matches("http://").to_string(),
                inbox: format!("{id}/inbox"),
                shared_inbox: Some(format!("{host}/inbox")),
                created_at: now,
                updated_at: now,
                ..Default::default()
            };
            let actor_id = actors::upsert_remote(&mut tx, &row).await.unwrap();
            follow_q::upsert_follow(
                &mut tx,
                actor_id,
                coop_actor.id,
                intercoop::db::models::FollowState::Accepted,
                Some(&format!("{id}#follow")),
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }
    let started = Instant::now();
    news::publish_news(
        &ctx,
        &intercoop::service::Caller::User {
            id: 1,
            role: intercoop::service::types::UserRole::Admin,
        },
        &NewsInput {
            title: "Fan-out".into(),
            body: "To every follower.".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    loop {
        if got.lock().unwrap().len() >= hosts {
            break;
        }
        if started.elapsed() > Duration::from_secs(300) {
            println!(
                "fan-out: timed out with {} of {hosts} hosts reached",
                got.lock().unwrap().len()
            );
            std::process::exit(1);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    println!(
        "fan-out: 1 news item to {followers} followers on {hosts} hosts ({hosts} shared-inbox deliveries) in {:.3} s",
        started.elapsed().as_secs_f64()
    );
}
