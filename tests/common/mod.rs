//! The test rig: starts the real server on a random loopback port with a
//! fresh database (a temp-file SQLite, or a new database in the throwaway
//! PostgreSQL that ./test.sh starts), and gives an HTTP client for it.
#![allow(dead_code)]

pub mod peer;
pub mod smtp;

use std::net::SocketAddr;

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use intercoop::config::Config;
use intercoop::server;
use intercoop::service::coop::{self, SetupInput};
use intercoop::service::Ctx;
use tokio::sync::oneshot;

pub const ADMIN: &str = "alice";
pub const PASSWORD: &str = "correct horse battery staple";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each named `async fn(Backend)` once per database backend.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::common::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::common::Backend::Postgres).await
                }
            }
        )*
    };
}

/// The admin URL of the throwaway PostgreSQL server.
pub fn postgres_admin_url() -> String {
    std::env::var("INTERCOOP_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "PostgreSQL tests need INTERCOOP_TEST_POSTGRES_URL. Run ./test.sh, which starts a throwaway PostgreSQL."
        )
    })
}

/// A fresh, empty database URL for the backend, kept alive by `dir`.
pub async fn fresh_database(backend: Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.join("test.db").display()),
        Backend::Postgres => {
            let admin = postgres_admin_url();
            let name = format!(
                "t_{}",
                intercoop::crypto::random_token()
                    .to_ascii_lowercase()
                    .replace(['-', '_'], "")
            )
            .chars()
            .take(40)
            .collect::<String>();
            let mut conn = AsyncPgConnection::establish(&admin)
                .await
                .expect("connect to the test PostgreSQL");
            conn.batch_execute(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create a test database");
            let mut url = url::Url::parse(&admin).expect("admin URL");
            url.set_path(&format!("/{name}"));
            url.to_string()
        }
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub setup_link: Option<String>,
    pub ctx: Ctx,
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

impl TestApp {
    /// A new instance, not set up yet.
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    /// A new instance; `adjust` may change the configuration first.
    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = fresh_database(backend, dir.path()).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let base = format!("http://127.0.0.1:{}", addr.port());
        let mut config = Config::for_test(&base, addr, &database_url, dir.path());
        adjust(&mut config);
        let prepared = server::prepare(config).await.expect("server prepares");
        let setup_link = prepared.setup_link.clone();
        let ctx = prepared.state.ctx.clone();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            server::serve(prepared, listener, async {
                let _ = rx.await;
            })
            .await
            .expect("server runs");
        });
        TestApp {
            addr,
            base,
            setup_link,
            ctx,
            backend,
            dir,
            shutdown: Some(tx),
            handle: Some(handle),
        }
    }

    /// A set-up instance: the co-op "Tea Growers" (@tea) and its admin.
    pub async fn with_coop(backend: Backend) -> TestApp {
        Self::with_coop_configured(backend, |_| {}).await
    }

    /// A set-up instance whose configuration `adjust` may change first.
    pub async fn with_coop_configured(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let app = Self::spawn_with(backend, adjust).await;
        let token = app.setup_token().expect("fresh instance has a setup link");
        coop::complete_setup(
            &app.ctx,
            &token,
            SetupInput {
                coop_name: "Tea Growers".into(),
                handle: "tea".into(),
                admin_username: ADMIN.into(),
                admin_email: None,
                password: PASSWORD.into(),
            },
        )
        .await
        .expect("setup completes");
        app
    }

    pub fn setup_token(&self) -> Option<String> {
        self.setup_link
            .as_ref()
            .and_then(|l| l.split("token=").nth(1))
            .map(String::from)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A browser-like client: keeps cookies, does not follow redirects (tests
/// look at them).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The value of the hidden `csrf` field in a page.
pub fn csrf_of(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("page has a csrf field")
        .to_string()
}

/// Logs in through the web form; returns the client holding the session.
pub async fn login(app: &TestApp, username: &str, password: &str) -> reqwest::Client {
    login_at(&app.base, username, password).await
}

/// Logs in through the web form of the server at `base`.
pub async fn login_at(base: &str, username: &str, password: &str) -> reqwest::Client {
    let c = client();
    let page = c
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let resp = c
        .post(format!("{base}/login"))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303, "login as {username} succeeds");
    c
}

/// Sends one HTTP/1.1 request over a plain socket and reads the whole answer.
/// For oversize bodies: the server may answer 413 and close before the body
/// is written, which an HTTP client reports as a broken pipe; here write
/// errors are ignored and the answer is read all the same.
pub async fn raw_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = s.write_all(head.as_bytes()).await;
    let _ = s.write_all(body).await;
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("an HTTP status line");
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// The first admin (user 1, made by setup), as a use case sees them.
#[allow(dead_code)]
pub fn admin() -> intercoop::service::Caller {
    intercoop::service::Caller::User {
        id: 1,
        role: intercoop::service::types::UserRole::Admin,
    }
}

/// The JSON API with an admin's token.
#[allow(dead_code)]
pub struct Api {
    pub client: reqwest::Client,
    pub token: String,
    pub base: String,
}

#[allow(dead_code)]
impl Api {
    /// The API with a token of `username`.
    pub async fn for_user(app: &TestApp, username: &str) -> Api {
        Api {
            client: reqwest::Client::new(),
            token: intercoop::service::accounts::create_api_token(&app.ctx, username, "test")
                .await
                .unwrap(),
            base: app.url("/api/v1"),
        }
    }

    pub async fn new(app: &TestApp) -> Api {
        Api {
            client: reqwest::Client::new(),
            token: intercoop::service::accounts::create_api_token(&app.ctx, ADMIN, "test")
                .await
                .unwrap(),
            base: app.url("/api/v1"),
        }
    }

    /// The status and the body (JSON, or the text as a JSON string).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }
}

#[allow(dead_code)]
/// An active member with an account here, logged in.
pub async fn member(api: &Api, name: &str, username: &str) -> (i64, reqwest::Client) {
    let (status, m) = api
        .call(
            reqwest::Method::POST,
            "/members",
            Some(serde_json::json!({"name": name, "status": "active"})),
        )
        .await;
    assert_eq!(status, 201, "{m}");
    let id = m["id"].as_i64().unwrap();
    let (_, inv) = api
        .call(reqwest::Method::POST, &format!("/members/{id}/invitations"), None)
        .await;
    let join = inv["url"].as_str().unwrap().to_string();
    let web = client();
    let page = web.get(&join).send().await.unwrap().text().await.unwrap();
    let r = web
        .post(&join)
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("username", username),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    (id, web)
}

/// An account (no register record) with the test password.
#[allow(dead_code)]
pub async fn new_user(
    app: &TestApp,
    username: &str,
    role: intercoop::service::types::UserRole,
) -> intercoop::service::ServiceResult<intercoop::db::models::User> {
    intercoop::service::accounts::create_user(
        &app.ctx,
        intercoop::service::accounts::NewAccount {
            username: username.into(),
            email: None,
            display_name: String::new(),
            password: PASSWORD.into(),
            role,
        },
    )
    .await
}
