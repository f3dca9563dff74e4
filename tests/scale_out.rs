//! Several `intercoop serve` processes on one PostgreSQL, as behind a
//! reverse proxy: what one process does, the other sees. Real processes
//! (the built binary), real HTTP, one database, and uploads on a real
//! S3-compatible server (moto, which checks the requests' signatures).

mod common;

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::peer::Peer;
use common::{csrf_of, Backend, TestApp, ADMIN, PASSWORD};
use serde_json::{json, Value};

/// One `intercoop serve`, killed when dropped.
struct Process {
    child: Child,
    base: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `intercoop serve` for `public` (the address the proxy answers on) on
/// `port`, with its own media directory under `dir` and `env` added.
fn serve_command(public: &str, port: u16, database_url: &str, dir: &Path, env: &[(&str, String)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_intercoop"));
    for (k, _) in std::env::vars() {
        if k.starts_with("INTERCOOP_") {
            c.env_remove(k);
        }
    }
    c.arg("serve")
        .env("INTERCOOP_BASE_URL", public)
        .env("INTERCOOP_LISTEN", format!("127.0.0.1:{port}"))
        .env("INTERCOOP_DATABASE_URL", database_url)
        .env("INTERCOOP_MEDIA_DIR", dir.join(format!("media-{port}")))
        .env("INTERCOOP_LOCALES_DIR", dir.join("locales"))
        .env("INTERCOOP_LOG_LEVEL", "warn")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null());
    c
}

/// moto's S3 server (federation-tests/peers/s3), killed when dropped.
struct ObjectStore {
    child: Child,
    /// The `INTERCOOP_MEDIA_S3_*` settings for its bucket.
    env: Vec<(&'static str, String)>,
}

impl Drop for ObjectStore {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ObjectStore {
    fn start() -> ObjectStore {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let python = root.join("federation-tests/.venv/bin/python");
        assert!(
            python.exists(),
            "moto (the local S3 server) is missing: run federation-tests/setup-peers.sh (./test.sh does)"
        );
        let mut child = Command::new(python)
            .arg(root.join("federation-tests/peers/s3/moto_s3.py"))
            .args(["--port", &free_port().to_string(), "--bucket", "coop-media"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("its stdout"))
            .read_line(&mut line)
            .expect("moto prints its settings");
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("moto printed {line:?}: {e}"));
        let s = |k: &str| v[k].as_str().expect("a setting").to_string();
        ObjectStore {
            env: vec![
                ("INTERCOOP_MEDIA_S3_ENDPOINT", s("endpoint")),
                ("INTERCOOP_MEDIA_S3_BUCKET", s("bucket")),
                ("INTERCOOP_MEDIA_S3_REGION", s("region")),
                ("INTERCOOP_MEDIA_S3_ACCESS_KEY", s("access_key")),
                ("INTERCOOP_MEDIA_S3_SECRET_KEY", s("secret_key")),
            ],
            child,
        }
    }
}

impl Process {
    async fn start(
        public: &str,
        port: u16,
        database_url: &str,
        dir: &Path,
        env: &[(&str, String)],
    ) -> Process {
        let child = serve_command(public, port, database_url, dir, env)
            .stderr(Stdio::inherit())
            .spawn()
            .expect("intercoop serve starts");
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            if let Ok(r) = reqwest::get(format!("{base}/healthz")).await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{base} did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Process { child, base }
    }
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// A small picture to upload.
fn png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 40, |x, y| image::Rgb([x as u8 * 4, y as u8 * 6, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_postgresql() {
    // Set up the co-op, then hand its database to two processes: A on the
    // public address, B on another port behind the same (imagined) proxy.
    let app = TestApp::with_coop(Backend::Postgres).await;
    assert_eq!(app.backend, Backend::Postgres);
    let ctx = app.ctx.clone();
    let public = app.base.clone();
    let host = public.trim_start_matches("http://").to_string();
    let database_url = ctx.config.database_url.clone();
    let port_a = app.addr.port();
    app.stop().await;
    let dir = tempfile::tempdir().unwrap();
    // Uploads go to object storage; each process has its own (unused) media_dir.
    let store = ObjectStore::start();

    // A process whose key the store refuses does not start, and says why.
    let mut wrong = store.env.clone();
    wrong.retain(|(k, _)| *k != "INTERCOOP_MEDIA_S3_SECRET_KEY");
    wrong.push(("INTERCOOP_MEDIA_S3_SECRET_KEY", "not-the-secret".into()));
    let out = serve_command(&public, free_port(), &database_url, dir.path(), &wrong)
        .output()
        .expect("intercoop serve runs");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "started with a refused key: {said}");
    assert!(
        said.contains("SignatureDoesNotMatch") || said.contains("403"),
        "the refusal is explained: {said}"
    );
    assert!(said.contains("media_s3_secret_key"), "and what to check: {said}");

    let a = Process::start(&public, port_a, &database_url, dir.path(), &store.env).await;
    let b = Process::start(&public, free_port(), &database_url, dir.path(), &store.env).await;
    let on = |p: &Process, path: &str| format!("{}{path}", p.base);

    // A login made through A is a session on B.
    let browser = common::login_at(&a.base, ADMIN, PASSWORD).await;
    let admin_page = |client: &reqwest::Client| {
        client
            .get(on(&b, "/admin/federation"))
            .header("host", &host)
            .send()
    };
    let anonymous = admin_page(&common::client()).await.unwrap();
    assert_eq!(
        anonymous.status(),
        303,
        "without the session, B sends to the login"
    );
    let r = admin_page(&browser).await.unwrap();
    assert_eq!(r.status(), 200, "B knows the session made on A");
    let fed_page = r.text().await.unwrap();
    let csrf = csrf_of(&fed_page);

    // A follower that talks to B; one Accept comes back, from one process.
    let peer = Peer::start().await;
    let coop_actor = format!("{public}/actors/tea");
    let follow = json!({"@context": "https://www.w3.org/ns/activitystreams", "id": peer.id("follow"),
        "type": "Follow", "actor": peer.actor, "object": coop_actor});
    assert_eq!(peer.send_via(&public, &b.base, "/inbox", &follow).await, 202);
    peer.wait_for("Accept", |_| true).await;

    // News scheduled through A's API is sent once, by whichever process
    // takes the job first, not once per process.
    let token = intercoop::service::accounts::create_api_token(&ctx, ADMIN, "scale-out")
        .await
        .unwrap();
    let api = reqwest::Client::new();
    let at = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let r = api
        .post(on(&a, "/api/v1/news"))
        .bearer_auth(&token)
        .json(&json!({"title": "Harvest", "body": "The harvest starts on Monday.", "published_at": at}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let news: Value = r.json().await.unwrap();
    assert_eq!(news["status"], "scheduled");
    let news_id = news["url"].as_str().unwrap().to_string();
    let is_it = |v: &Value| v["object"]["id"] == news_id.as_str();
    assert_eq!(peer.received("Create", is_it), 0, "not before its time");
    peer.wait_for("Create", is_it).await;
    // Both processes poll every half second: give the other time to send it too.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        peer.received("Create", is_it),
        1,
        "the scheduled news is sent once"
    );
    assert_eq!(
        peer.received("Accept", |_| true),
        1,
        "the follow is accepted once"
    );

    // An upload through A is served by B.
    let picture = png();
    let form = reqwest::multipart::Form::new()
        .text("description", "The field")
        .part(
            "file",
            reqwest::multipart::Part::bytes(picture).file_name("field.png"),
        );
    let r = api
        .post(on(&a, "/api/v1/media"))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let media: Value = r.json().await.unwrap();
    let url = media["url"].as_str().unwrap().to_string();
    let path = url.strip_prefix(&public).expect("a URL on the public address");
    let from_a = reqwest::get(on(&a, path)).await.unwrap().bytes().await.unwrap();
    let r = reqwest::Client::new()
        .get(on(&b, path))
        .header("host", &host)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "B serves what was uploaded through A");
    assert_eq!(r.bytes().await.unwrap(), from_a);
    assert!(from_a.starts_with(b"\x89PNG"), "the picture itself");
    let on_disk: Vec<_> = walk(dir.path());
    assert!(
        !on_disk.iter().any(|p| p.extension().is_some_and(|e| e == "png")),
        "uploads are in the bucket, not in a media_dir: {on_disk:?}"
    );
    // The object store stops: the picture is unavailable, clearly, not lost.
    let missing = path.replace(".png", "-thumb.png");
    drop(store);
    let r = reqwest::Client::new()
        .get(on(&b, &missing))
        .header("host", &host)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503, "storage down is not a 404");
    assert!(r.text().await.unwrap().contains("try again"));

    // A domain block made on A applies to what arrives at B.
    let note = |n: u32| {
        json!({"@context": "https://www.w3.org/ns/activitystreams", "id": peer.id("create"),
            "type": "Create", "actor": peer.actor, "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "object": {"id": format!("{}/notes/{n}", peer.base), "type": "Note", "attributedTo": peer.actor,
                "to": ["https://www.w3.org/ns/activitystreams#Public"], "content": "<p>Hello</p>"}})
    };
    assert_eq!(peer.send_via(&public, &b.base, "/inbox", &note(1)).await, 202);
    let peer_domain = peer.base.trim_start_matches("http://").to_string();
    let r = browser
        .post(on(&a, "/admin/federation/domains"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("domain", peer_domain.as_str()),
            ("mode", "block"),
            ("reason", "spam"),
            ("confirm", "yes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "the block is made on A");
    // Each process reads the policy again after at most a second.
    let started = Instant::now();
    let mut n = 2;
    loop {
        let status = peer.send_via(&public, &b.base, "/inbox", &note(n)).await;
        if status == 403 {
            break;
        }
        assert_eq!(status, 202);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "B still takes the blocked domain's posts"
        );
        n += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop((a, b));
}
