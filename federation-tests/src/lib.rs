//! The federation test harness: real `intercoop serve` processes (SQLite or a
//! fresh database in the throwaway PostgreSQL of ./test.sh) and independent
//! peers (Fedify on Node 22, a Python peer), all on 127.0.0.1.
//!
//! Peers are installed by `federation-tests/setup-peers.sh`, which ./test.sh
//! runs; the intercoop binary is the one `cargo test --workspace` builds.

pub mod load;
pub mod sink;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const ADMIN: &str = "admin";
pub const PASSWORD: &str = "correct horse battery staple";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn intercoop_bin() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("target"));
    let bin = target.join("debug/intercoop");
    assert!(
        bin.exists(),
        "{} is missing: run ./test.sh (cargo test --workspace builds it)",
        bin.display()
    );
    bin
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh database URL: a file in `dir`, or a new PostgreSQL database.
fn fresh_database(backend: Backend, dir: &Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.join("intercoop.db").display()),
        Backend::Postgres => {
            let admin = std::env::var("INTERCOOP_TEST_POSTGRES_URL")
                .expect("PostgreSQL tests need INTERCOOP_TEST_POSTGRES_URL: run ./test.sh");
            let name = format!("fed_{}_{}", std::process::id(), free_port());
            let status = std::process::Command::new("psql")
                .args([admin.as_str(), "-q", "-c", &format!("CREATE DATABASE {name}")])
                .status()
                .expect("psql runs");
            assert!(status.success(), "create the test database");
            let mut url = url::Url::parse(&admin).unwrap();
            url.set_path(&format!("/{name}"));
            url.to_string()
        }
    }
}

/// A real intercoop process with its co-op set up and an API token.
pub struct Instance {
    pub port: u16,
    pub base: String,
    pub token: String,
    pub handle: String,
    database_url: String,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Instance {
    pub async fn start(backend: Backend, handle: &str) -> Instance {
        Self::start_on(backend, handle, "127.0.0.1").await
    }

    /// An instance whose public URL names `host` (Lemmy refuses IP
    /// addresses in ids: `localhost` then).
    pub async fn start_on(backend: Backend, handle: &str, host: &str) -> Instance {
        intercoop::server::init_tls();
        let dir = tempfile::tempdir().unwrap();
        let database_url = fresh_database(backend, dir.path());
        let port = free_port();
        let mut inst = Instance {
            port,
            base: format!("http://{host}:{port}"),
            token: String::new(),
            handle: handle.to_string(),
            database_url,
            dir,
            child: None,
        };
        let setup_link = inst.spawn().await.expect("a fresh instance prints a setup link");
        inst.setup(&setup_link).await;
        inst
    }

    fn command(&self) -> Command {
        let mut c = Command::new(intercoop_bin());
        for (k, _) in std::env::vars() {
            if k.starts_with("INTERCOOP_") {
                c.env_remove(k);
            }
        }
        c.current_dir(self.dir.path())
            .env("INTERCOOP_BASE_URL", &self.base)
            .env("INTERCOOP_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("INTERCOOP_DATABASE_URL", &self.database_url)
            .env("INTERCOOP_LOG_LEVEL", "info")
            .kill_on_drop(true);
        c
    }

    /// Starts `serve`; returns the setup link if it printed one.
    pub async fn spawn(&mut self) -> Option<String> {
        let log = std::fs::File::create(self.dir.path().join("serve.log")).unwrap();
        let mut child = self
            .command()
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("intercoop serve starts");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut link = None;
        let mut running = false;
        loop {
            // After the "running" line, the setup link (if any) follows at once.
            let wait = Duration::from_secs(if running { 2 } else { 60 });
            match tokio::time::timeout(wait, lines.next_line()).await {
                Ok(Ok(Some(line))) => {
                    if line.contains("/setup?token=") {
                        link = Some(line.trim().to_string());
                        break;
                    }
                    running |= line.contains("Intercoop is running");
                }
                _ => break,
            }
        }
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.child = Some(child);
        self.wait_healthy().await;
        link
    }

    async fn wait_healthy(&self) {
        let started = Instant::now();
        loop {
            if let Ok(r) = reqwest::get(self.url("/healthz")).await {
                if r.status().is_success() {
                    return;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "intercoop answers /healthz; log: {}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("serve.log")).unwrap_or_default()
    }

    async fn setup(&mut self, link: &str) {
        let c = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let page = c.get(link).send().await.unwrap().text().await.unwrap();
        let csrf = page
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("the setup form has a CSRF field")
            .to_string();
        let token = link.split("token=").nth(1).unwrap().to_string();
        let r = c
            .post(format!("{}/setup", self.base))
            .form(&[
                ("csrf", csrf.as_str()),
                ("token", token.as_str()),
                ("coop_name", &format!("Co-op {}", self.handle)),
                ("handle", self.handle.as_str()),
                ("admin_username", ADMIN),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "setup succeeds");
        let out = self
            .command()
            .args([
                "admin",
                "create-token",
                "--username",
                ADMIN,
                "--name",
                "federation-tests",
            ])
            .output()
            .await
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        self.token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    }

    pub fn actor(&self) -> String {
        format!("{}/actors/{}", self.base, self.handle)
    }

    /// A URL on this process (which may differ from the public base when
    /// several processes serve one co-op).
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// A second `serve` process on the same database and public URL, on its
    /// own port, as behind a load balancer.
    pub async fn sibling(&self) -> Instance {
        let mut other = Instance {
            port: free_port(),
            base: self.base.clone(),
            token: self.token.clone(),
            handle: self.handle.clone(),
            database_url: self.database_url.clone(),
            dir: tempfile::tempdir().unwrap(),
            child: None,
        };
        other.spawn().await;
        other
    }

    pub async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = reqwest::Client::new()
            .request(method, self.url(&format!("/api/v1{path}")))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn publish(&self, title: &str, body: &str) -> Value {
        let (status, v) = self
            .api(
                reqwest::Method::POST,
                "/news",
                Some(json!({"title": title, "body": body})),
            )
            .await;
        assert_eq!(status, 201, "{v}");
        v
    }

    /// An ActivityPub GET of one of this instance's documents.
    pub async fn ap_get(&self, url: &str) -> Value {
        reqwest::Client::new()
            .get(url)
            .header("accept", "application/activity+json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn follower_count(&self) -> i64 {
        self.ap_get(&format!("{}/followers", self.actor())).await["totalItems"]
            .as_i64()
            .unwrap()
    }

    /// kill -9: no graceful anything.
    pub async fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            if let Some(pid) = c.id() {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
            let _ = c.wait().await;
        }
    }
}

/// Polls `check` until it returns Some, or fails after `secs`.
pub async fn eventually<T, F, Fut>(what: &str, secs: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            started.elapsed() < Duration::from_secs(secs),
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A peer process with the common control API (Fedify or Python).
pub struct Peer {
    pub actor: String,
    pub base: String,
    _child: Child,
}

fn node_bin() -> PathBuf {
    if let Ok(p) = std::env::var("FEDIFY_NODE") {
        return PathBuf::from(p);
    }
    let arch = if cfg!(target_arch = "aarch64") {
        "arm64"
    } else {
        "x64"
    };
    let p = root().join(format!(
        "federation-tests/.node/node_modules/node-linux-{arch}/bin/node"
    ));
    assert!(
        p.exists(),
        "Node 22 for Fedify is missing: run federation-tests/setup-peers.sh (./test.sh does)"
    );
    p
}

impl Peer {
    async fn spawn(mut cmd: Command) -> Peer {
        intercoop::server::init_tls();
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("the peer starts");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let actor = tokio::time::timeout(Duration::from_secs(60), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(a) = line.strip_prefix("READY ") {
                    return a.trim().to_string();
                }
            }
            panic!("the peer exited before READY")
        })
        .await
        .expect("the peer prints READY");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let u = url::Url::parse(&actor).unwrap();
        let base = format!("http://127.0.0.1:{}", u.port().unwrap());
        Peer {
            actor,
            base,
            _child: child,
        }
    }

    /// Fedify 2.3.6 on Node 22. `first_knock` is "rfc9421" or "draft-cavage-http-signatures-12".
    pub async fn fedify(name: &str, first_knock: &str, key_type: &str) -> Peer {
        let mut cmd = Command::new(node_bin());
        cmd.arg(root().join("federation-tests/peers/fedify/peer.mjs"))
            .args([
                "--port",
                "0",
                "--name",
                name,
                "--first-knock",
                first_knock,
                "--key-type",
                key_type,
            ]);
        Peer::spawn(cmd).await
    }

    /// The Python peer (federation-tests/peers/python), if installed.
    pub async fn python(name: &str) -> Peer {
        let py = root().join("federation-tests/.venv/bin/python");
        assert!(
            py.exists(),
            "the Python peer is missing: run federation-tests/setup-peers.sh (./test.sh does)"
        );
        let port = free_port();
        let mut cmd = Command::new(py);
        cmd.arg(root().join("federation-tests/peers/python/peer.py"))
            .args(["--port", &port.to_string(), "--name", name]);
        Peer::spawn(cmd).await
    }

    pub async fn control(&self, path: &str, body: Option<Value>) -> Value {
        let c = reqwest::Client::new();
        let url = format!("{}/control/{path}", self.base);
        let req = match body {
            Some(b) => c.post(url).json(&b),
            None => c.get(url),
        };
        req.send().await.unwrap().json().await.unwrap()
    }

    pub async fn inbox(&self) -> Vec<Value> {
        self.control("inbox", None).await["activities"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Waits for an activity of `kind` matching `pred` in the peer's inbox.
    pub async fn wait_for(&self, kind: &str, pred: impl Fn(&Value) -> bool) -> Value {
        eventually(&format!("{kind} at the peer"), 30, || async {
            self.inbox()
                .await
                .into_iter()
                .find(|a| a["type"] == kind && pred(a))
        })
        .await
    }
}
