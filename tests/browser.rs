//! A real browser (Debian's headless Chromium through chromedriver) walks
//! through setup, logout and login, writing and deleting news and the
//! federation page, at a 320 px phone width and at 1280 px, with JavaScript
//! off. No page may be wider than the screen. Screenshots go to
//! target/screenshots/.

mod common;

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Backend, TestApp, ADMIN, PASSWORD};
use serde_json::{json, Value};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The few WebDriver (W3C) calls the test needs, over plain HTTP.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
}

impl Browser {
    async fn start() -> Browser {
        let chromedriver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        assert!(
            std::path::Path::new(&chromedriver).exists() && std::path::Path::new(&chromium).exists(),
            "browser tests need Debian's chromium and chromium-driver: ./test.sh installs them"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // Its own process group, so that Drop can end chromedriver and the
        // browsers it started together, even when the test fails.
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(r) = http.get(format!("{base}/status")).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "chromedriver answers"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let data_dir = tempfile::tempdir().unwrap().keep();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=320,900",
                    format!("--user-data-dir={}", data_dir.display()),
                ],
                // Members on old phones may have no JavaScript: the pages must not need it.
                "prefs": {"profile.managed_default_content_settings.javascript": 2}
            }
        }}});
        let r: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("a WebDriver session: {r}"))
            .to_string();
        let b = Browser {
            driver,
            base,
            session,
            http,
        };
        // A 320 px wide phone screen (headless windows cannot be made that narrow).
        b.call(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            json!({"cmd": "Emulation.setDeviceMetricsOverride",
                   "params": {"width": 320, "height": 800, "deviceScaleFactor": 1, "mobile": true}}),
        )
        .await;
        b
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{}", self.base, self.session, path);
        let req = self.http.request(method.clone(), url);
        let req = if method == reqwest::Method::GET {
            req
        } else {
            req.json(&body)
        };
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        if v["value"].get("error").is_some() {
            panic!("WebDriver {path}: {v}");
        }
        v["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", json!({ "url": url }))
            .await;
    }

    async fn find(&self, css: &str) -> String {
        let v = self
            .call(
                reqwest::Method::POST,
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_string()
    }

    async fn fill(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            json!({ "text": text }),
        )
        .await;
    }

    async fn clear(&self, css: &str) {
        let id = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/clear"), json!({}))
            .await;
    }

    async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/click"), json!({}))
            .await;
    }

    async fn text(&self, css: &str) -> String {
        let id = self.find(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{id}/text"), json!({}))
            .await
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Waits for a navigation that a click started to land.
    async fn wait_for_url(&self, want: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let url = self.current_url().await;
            if want(&url) || started.elapsed() > Duration::from_secs(10) {
                return url;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn quit(&self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
    }

    async fn current_url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", json!({}))
            .await
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Emulates a screen `width` CSS pixels wide.
    async fn set_width(&self, width: u32) {
        self.call(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            json!({"cmd": "Emulation.setDeviceMetricsOverride",
                   "params": {"width": width, "height": 800, "deviceScaleFactor": 1, "mobile": width < 600}}),
        )
        .await;
    }

    /// The width of the laid-out page (not of the window): wider than the
    /// screen means sideways scrolling. Read from the browser's layout
    /// metrics, which need no JavaScript in the page.
    async fn content_width(&self) -> f64 {
        let m = self
            .call(
                reqwest::Method::POST,
                "/goog/cdp/execute",
                json!({"cmd": "Page.getLayoutMetrics", "params": {}}),
            )
            .await;
        m["cssContentSize"]["width"].as_f64().unwrap()
    }

    /// The laid-out width once layout has settled: right after a navigation
    /// Chromium may still report the 980 px default viewport for a moment, so
    /// a too-wide answer is measured again a few times before it counts.
    async fn settled_width(&self, limit: f64) -> f64 {
        let mut width = self.content_width().await;
        for _ in 0..10 {
            if width <= limit {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            width = self.content_width().await;
        }
        width
    }

    /// The page is no wider than a 320 px screen.
    async fn page_fits_width(&self) -> bool {
        self.settled_width(320.0).await <= 320.0
    }

    async fn css(&self, css: &str, property: &str) -> String {
        let id = self.find(css).await;
        self.call(
            reqwest::Method::GET,
            &format!("/element/{id}/css/{property}"),
            json!({}),
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    async fn rect_width(&self, css: &str) -> f64 {
        self.rect(css).await["width"].as_f64().unwrap()
    }

    async fn rect_height(&self, css: &str) -> f64 {
        self.rect(css).await["height"].as_f64().unwrap()
    }

    async fn rect(&self, css: &str) -> Value {
        let id = self.find(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{id}/rect"), json!({}))
            .await
    }

    async fn log_in(&self, app: &TestApp) {
        self.goto(&app.url("/login")).await;
        self.fill("#username", ADMIN).await;
        self.fill("#password", PASSWORD).await;
        self.click("main button[type=submit]").await;
        self.wait_for_url(|u| !u.contains("/login")).await;
    }

    async fn screenshot(&self, name: &str) {
        use base64::Engine;
        let png = self.call(reqwest::Method::GET, "/screenshot", json!({})).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), bytes).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_then_logout_and_login_in_a_real_browser() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let b = Browser::start().await;

    b.goto(app.setup_link.as_deref().unwrap()).await;
    assert_eq!(b.text("h1").await, "Set up your co-op");
    assert!(b.page_fits_width().await, "the setup page fits a 320 px screen");
    b.screenshot("setup").await;
    b.fill("#coop_name", "Riverside Bakers").await;
    b.fill("#handle", "riverside").await;
    b.fill("#admin_username", ADMIN).await;
    b.fill("#admin_email", "alice@example.org").await;
    b.fill("#password", PASSWORD).await;
    b.fill("#password_confirm", PASSWORD).await;
    b.click("button[type=submit]").await;
    let at = b.wait_for_url(|u| u.ends_with("/admin/settings?welcome=1")).await;
    assert!(at.ends_with("/admin/settings?welcome=1"), "{at}");
    assert_eq!(b.text("h1").await, "Co-op settings");
    // The next steps, with the address to share.
    let welcome = b.text("#welcome-heading").await;
    assert!(welcome.contains("Welcome"), "{welcome}");
    assert!(b.text("section.notice").await.contains("@riverside@"));
    b.screenshot("settings-welcome").await;

    b.goto(&app.url("/")).await;
    assert_eq!(b.text("h1").await, "Riverside Bakers");
    assert!(b.page_fits_width().await, "the home page fits a 320 px screen");
    b.screenshot("home").await;

    // Log out with the button in the header, then log back in.
    b.click("nav button").await;
    b.wait_for_url(|u| u.ends_with("/logout")).await;
    assert!(b.text("main").await.contains("You are logged out"));
    b.goto(&app.url("/admin/settings")).await;
    assert!(b.current_url().await.contains("/login?next=/admin/settings"));
    b.fill("#username", ADMIN).await;
    b.fill("#password", "wrong password!").await;
    b.click("button[type=submit]").await;
    b.wait_for_url(|u| u.ends_with("/login")).await;
    assert!(b.text(".error").await.contains("Wrong username or password"));
    b.screenshot("login-error").await;
    b.fill("#password", PASSWORD).await;
    b.click("main button[type=submit]").await;
    let at = b.wait_for_url(|u| u.ends_with("/admin/settings")).await;
    assert!(at.ends_with("/admin/settings"), "{at}");
    assert!(b.text("nav").await.contains("alice"));
    b.quit().await;
}

/// A local server with one very wide image (SVG), so that the test loads
/// nothing from outside loopback.
async fn wide_image_server() -> String {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let app = axum::Router::new().route(
        "/wide.svg",
        get(|| async {
            (
                [(axum::http::header::CONTENT_TYPE, "image/svg+xml")],
                r#"<svg xmlns="http://www.w3.org/2000/svg" width="2000" height="400"><rect width="2000" height="400" fill="green"/></svg>"#,
            )
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn news_and_admin_pages_fit_a_phone() {
    let app = TestApp::with_coop(Backend::Sqlite).await;
    let images = wide_image_server().await;
    let long_link = format!("https://example.org/{}", "a-very-long-path-segment".repeat(12));
    let item = intercoop::service::news::publish_news(
        &app.ctx,
        &common::admin(),
        &intercoop::service::news::NewsInput {
            title: "Harvest day".into(),
            body: format!(
                "Bring baskets.\n\nThe map: {long_link}\n\nAWordWithoutAnyBreaksThatIsFarTooLongForAPhoneScreenToShowOnOneLine\n\n| Day | Place |\n|---|---|\n| Friday | {long_link} |"
            ),
            image_url: format!("{images}/wide.svg"),
            image_alt: "The field".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let slug = item.slug.clone().unwrap();
    let b = Browser::start().await;
    b.log_in(&app).await;

    for (name, path) in [
        ("news-320", format!("/news/{slug}")),
        ("news-status-320", format!("/news/{slug}/status")),
        ("federation-320", "/admin/federation".to_string()),
        ("home-logged-in-320", "/".to_string()),
        ("news-new-320", "/news/new".to_string()),
    ] {
        b.goto(&app.url(&path)).await;
        let width = b.settled_width(320.0).await;
        b.screenshot(name).await;
        assert!(width <= 320.0, "{path} is {width} px wide at 320 px");
    }
    // The image is scaled to the screen, not 2000 px.
    b.goto(&app.url(&format!("/news/{slug}"))).await;
    assert!(b.rect_width("article img").await <= 320.0);

    // The Block/Allow radios are small controls beside their labels, in a fieldset.
    b.goto(&app.url("/admin/federation")).await;
    assert!(b.rect_width("input[type=radio]").await < 40.0);
    assert!(b.text("fieldset legend").await.contains("Rule"));

    // The edit page: Delete is set apart and looks unlike Save, and asks first.
    b.goto(&app.url(&format!("/news/{slug}/edit"))).await;
    assert!(b.page_fits_width().await);
    let save = b.css("main form button[type=submit]", "background-color").await;
    let delete = b.css("button.danger", "background-color").await;
    assert_ne!(save, delete, "Delete must not look like Save");
    assert!(b.text(".danger-zone h2").await.contains("Delete"));
    assert!(b.rect_width("#body").await > 0.0);
    let summary_h = {
        let id = b.find("#summary").await;
        b.call(reqwest::Method::GET, &format!("/element/{id}/rect"), json!({}))
            .await["height"]
            .as_f64()
            .unwrap()
    };
    let body_h = {
        let id = b.find("#body").await;
        b.call(reqwest::Method::GET, &format!("/element/{id}/rect"), json!({}))
            .await["height"]
            .as_f64()
            .unwrap()
    };
    assert!(
        body_h > summary_h * 2.0,
        "the text box is taller than the summary ({body_h} vs {summary_h})"
    );
    b.screenshot("news-edit-320").await;
    b.click("button.danger").await;
    b.wait_for_url(|u| u.ends_with("/delete")).await;
    assert!(b.text("h1").await.contains("Delete “Harvest day”?"));
    assert!(b.page_fits_width().await);
    b.screenshot("confirm-delete-320").await;
    assert!(
        intercoop::service::news::get_news(&app.ctx, &slug)
            .await
            .unwrap()
            .deleted_at
            .is_none(),
        "nothing is deleted before confirming"
    );
    b.click("button.danger").await;
    b.wait_for_url(|u| u.contains("done=")).await;
    assert!(b.text(".notice").await.contains("was deleted"));
    b.screenshot("deleted-notice-320").await;

    // The same pages on a desktop screen.
    b.set_width(1280).await;
    for (name, path) in [
        ("home-1280", "/".to_string()),
        ("federation-1280", "/admin/federation".to_string()),
        ("news-new-1280", "/news/new".to_string()),
    ] {
        b.goto(&app.url(&path)).await;
        let width = b.settled_width(1280.0).await;
        b.screenshot(name).await;
        assert!(width <= 1280.0, "{path} is {width} px wide at 1280 px");
    }
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_in_a_real_browser() {
    let app = TestApp::with_coop(Backend::Sqlite).await;
    intercoop::service::accounts::create_user(
        &app.ctx,
        intercoop::service::accounts::NewAccount {
            username: "dora".into(),
            email: None,
            display_name: "Dora".into(),
            password: "dora's long password".into(),
            role: intercoop::service::types::UserRole::Member,
        },
    )
    .await
    .unwrap();
    let b = Browser::start().await;
    b.log_in(&app).await;

    // An admin makes Dora an editor from the users page.
    b.goto(&app.url("/admin/users")).await;
    assert!(b.page_fits_width().await, "the users page fits a 320 px screen");
    b.screenshot("users-320").await;
    let dora = intercoop::service::accounts::list_users(&app.ctx)
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.username == "dora")
        .unwrap();
    b.click(&format!("#role-{} option[value=editor]", dora.id)).await;
    b.click(&format!("form[action='/admin/users/{}/role'] button", dora.id))
        .await;
    b.wait_for_url(|u| u.contains("done=")).await;
    assert!(b.text(".notice").await.contains("dora is now editor"));
    let dora = intercoop::service::accounts::find_user(&app.ctx, dora.id)
        .await
        .unwrap();
    assert_eq!(dora.role, "editor");

    // The admin changes their own password on the account page.
    b.goto(&app.url("/account")).await;
    assert!(b.page_fits_width().await, "the account page fits a 320 px screen");
    b.screenshot("account-320").await;
    b.fill("#current_password", PASSWORD).await;
    b.fill("#password", "a brand new long password").await;
    b.fill("#password_confirm", "a brand new long password").await;
    b.click("form[action='/account/password'] button").await;
    b.wait_for_url(|u| u.contains("done=")).await;
    assert!(b.text(".notice").await.contains("Your password is changed"));
    assert!(intercoop::service::accounts::log_in(
        &app.ctx,
        ADMIN,
        "a brand new long password",
        None,
        "192.0.2.1"
    )
    .await
    .is_ok());
    b.quit().await;
}

/// A fediverse server's WebFinger with a subscribe template, and the page
/// the template leads to, on loopback.
async fn fake_mastodon() -> String {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let b = base.clone();
    let app = axum::Router::new()
        .route(
            "/.well-known/webfinger",
            get(move || {
                let b = b.clone();
                async move {
                    axum::Json(json!({"subject": "acct:ann@x", "links": [{
                        "rel": "http://ostatus.org/schema/1.0/subscribe",
                        "template": format!("{b}/authorize_interaction?uri={{uri}}")}]}))
                }
            }),
        )
        .route(
            "/authorize_interaction",
            get(|| async {
                axum::response::Html(
                    "<!doctype html><title>Follow</title><h1>Follow page of Ann's server</h1>",
                )
            }),
        );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writing_reading_and_following_in_a_real_browser() {
    let a = TestApp::with_coop(Backend::Sqlite).await;
    let bees = TestApp::with_coop(Backend::Sqlite).await;
    intercoop::service::coop::update_profile(
        &bees.ctx,
        &common::admin(),
        &intercoop::service::coop::ProfileInput {
            name: "Bee Keepers".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let masto = fake_mastodon().await;
    let b = Browser::start().await;
    b.log_in(&a).await;

    // Written in the browser's own form, which sends CRLF line breaks.
    b.goto(&a.url("/news/new")).await;
    b.fill("#title", "Work day").await;
    b.fill(
        "#body",
        "Saturday we paint the barn.\n\n- brushes\n- ladders\n\n| a | b |\n|---|---|",
    )
    .await;
    b.click("button[value=publish]").await;
    b.wait_for_url(|u| u.ends_with("/news/work-day")).await;
    let item = intercoop::service::news::get_news(&a.ctx, "work-day")
        .await
        .unwrap();
    assert_eq!(item.summary, "Saturday we paint the barn.");
    b.screenshot("news-written-320").await;
    // An edit with the automatic summary left as shown regenerates it.
    b.goto(&a.url("/news/work-day/edit")).await;
    b.clear("#body").await;
    b.fill("#body", "Sunday, not Saturday.\n\nSame barn.").await;
    b.click("button[value=publish]").await;
    b.wait_for_url(|u| u.ends_with("/news/work-day")).await;
    let item = intercoop::service::news::get_news(&a.ctx, "work-day")
        .await
        .unwrap();
    assert_eq!(item.summary, "Sunday, not Saturday.");

    // The archive, two pages.
    for i in 1..=20 {
        intercoop::service::news::publish_news(
            &a.ctx,
            &common::admin(),
            &intercoop::service::news::NewsInput {
                title: format!("Notice {i}"),
                body: "Text.".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    b.goto(&a.url("/news")).await;
    assert!(b.text("nav.pager").await.contains("Page 1 of 2"));
    assert!(b.page_fits_width().await);
    b.screenshot("archive-320").await;
    b.click("a[rel=next]").await;
    b.wait_for_url(|u| u.ends_with("/news?page=2")).await;
    assert!(b.text("main").await.contains("Work day"));
    b.screenshot("archive-page-2-320").await;

    // Follow another Intercoop co-op by its address.
    b.goto(&a.url("/admin/federation")).await;
    b.fill("#actor", &format!("@tea@127.0.0.1:{}", bees.addr.port()))
        .await;
    b.click("form[action='/admin/federation/follow'] button").await;
    b.wait_for_url(|u| u.contains("done=")).await;
    let started = Instant::now();
    loop {
        b.goto(&a.url("/admin/federation")).await;
        if b.text("main").await.contains("Bee Keepers · @tea@127.0.0.1") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the followed co-op is listed by name"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    b.screenshot("federation-following-320").await;

    // A visitor follows from their own server with a profile link.
    b.goto(&a.url("/")).await;
    b.click("details.follow-box summary").await;
    b.fill("#account", &format!("{masto}/@ann")).await;
    b.click("form.follow button").await;
    let at = b.wait_for_url(|u| u.starts_with(&masto)).await;
    assert!(
        at.starts_with(&format!("{masto}/authorize_interaction?uri=")),
        "{at}"
    );
    assert!(b.text("h1").await.contains("Follow page of Ann's server"));
    b.quit().await;
}

/// Sets an input's value as a person picking it would (date and time
/// pickers take keystrokes in the browser's locale order otherwise).
async fn set_value(b: &Browser, css: &str, value: &str) {
    b.call(
        reqwest::Method::POST,
        "/execute/sync",
        json!({"script": "document.querySelector(arguments[0]).value = arguments[1];", "args": [css, value]}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_polls_and_replies_in_a_real_browser() {
    let app = TestApp::with_coop(Backend::Sqlite).await;
    let b = Browser::start().await;
    b.log_in(&app).await;

    // An editor creates an event on a phone.
    b.goto(&app.url("/events/new")).await;
    assert!(b.settled_width(320.0).await <= 320.0);
    b.screenshot("event-new-320").await;
    b.fill("#title", "General meeting").await;
    set_value(&b, "#starts_at", "2030-04-12T18:00").await;
    set_value(&b, "#ends_at", "2030-04-12T20:00").await;
    b.clear("#timezone").await;
    b.fill("#timezone", "Europe/Paris").await;
    b.fill("#location_name", "The barn").await;
    b.fill("#capacity", "40").await;
    b.fill("#body", "Agenda: the budget.").await;
    b.click("main form button[type=submit]").await;
    b.wait_for_url(|u| u.ends_with("/events/general-meeting")).await;
    assert!(b.text("main").await.contains("18:00–20:00 (Europe/Paris)"));
    // RSVP.
    b.click("form[action$='/rsvp'] button").await;
    b.wait_for_url(|u| u.contains("done=")).await;
    assert!(b.text(".notice").await.contains("You are down as coming"));
    assert!(b.text("main").await.contains("1 going · 39 places left"));
    assert!(b.settled_width(320.0).await <= 320.0);
    b.screenshot("event-320").await;
    // A reply, from the member's own account.
    b.fill("#reply-text", "I will bring the minutes.").await;
    b.click("form[action='/replies/new'] button").await;
    b.wait_for_url(|u| u.contains("#reply-")).await;
    assert!(b.text(".reply").await.contains("I will bring the minutes."));
    b.screenshot("event-replied-320").await;

    // A poll, voted on.
    let closes = (chrono::Utc::now() + chrono::Duration::days(3))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    b.goto(&app.url("/polls/new")).await;
    assert!(b.settled_width(320.0).await <= 320.0);
    b.fill("#question", "Which day?").await;
    b.fill("#option-1", "Friday").await;
    b.fill("#option-2", "Saturday").await;
    set_value(&b, "#closes_at", &closes).await;
    b.screenshot("poll-new-320").await;
    b.click("main form button[type=submit]").await;
    b.wait_for_url(|u| u.ends_with("/polls/which-day")).await;
    b.screenshot("poll-320").await;
    b.click("input[name=option]").await;
    b.click("form[action$='/vote'] button").await;
    b.wait_for_url(|u| u.contains("done=")).await;
    assert!(b.text("table.results").await.contains("Friday ✓"));
    assert!(b.settled_width(320.0).await <= 320.0);
    b.screenshot("poll-voted-320").await;

    // The home page shows what is coming and what is open.
    b.goto(&app.url("/")).await;
    let home = b.text("main").await;
    assert!(
        home.contains("General meeting") && home.contains("Which day?"),
        "{home}"
    );
    assert!(b.settled_width(320.0).await <= 320.0);
    b.screenshot("home-events-polls-320").await;
    // Every one of these pages stays small for old phones and weak links.
    for path in [
        "/",
        "/events",
        "/events/general-meeting",
        "/polls/which-day",
        "/events/new",
        "/polls/new",
    ] {
        let size = reqwest::get(app.url(path))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .len();
        assert!(size < 30_000, "{path} is {size} bytes");
    }
    b.quit().await;
}

/// An admin opens a forum, a member starts a thread and replies, and a
/// moderator pins and locks it, all on a 320 px phone without JavaScript.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forums_in_a_real_browser() {
    let app = TestApp::with_coop(Backend::Sqlite).await;
    let b = Browser::start().await;
    b.log_in(&app).await;

    b.goto(&app.url("/forums/new")).await;
    assert!(b.settled_width(320.0).await <= 320.0);
    b.fill("#handle", "general").await;
    b.fill("#name", "General talk").await;
    b.fill("#description", "Anything about the **co-op**.").await;
    b.screenshot("forum-new-320").await;
    b.click("main form button[type=submit]").await;
    b.wait_for_url(|u| u.ends_with("/forums/general")).await;
    assert!(b.text("main").await.contains("@general@"));

    b.fill("#title", "Bulk order of seeds").await;
    b.fill("#body", "Who wants to share an order?").await;
    b.click("form[action$='/threads'] button").await;
    b.wait_for_url(|u| u.ends_with("/threads/bulk-order-of-seeds"))
        .await;
    b.fill("#reply-text", "Count me in for two bags.").await;
    b.click("form[action='/replies/new'] button").await;
    b.wait_for_url(|u| u.contains("#reply-")).await;
    assert!(b.text(".reply").await.contains("Count me in for two bags."));
    b.click("form[action$='/pin'] button").await;
    b.wait_for_url(|u| u.ends_with("/threads/bulk-order-of-seeds"))
        .await;
    b.click("form[action$='/lock'] button").await;
    b.wait_for_url(|u| u.ends_with("/threads/bulk-order-of-seeds"))
        .await;
    assert!(b.text("main").await.contains("This thread is locked"));
    assert!(
        !b.text("main").await.contains("Send the reply"),
        "a locked thread has no reply form"
    );
    assert!(b.settled_width(320.0).await <= 320.0);
    b.screenshot("thread-320").await;

    b.goto(&app.url("/forums/general")).await;
    let page = b.text("main").await;
    assert!(
        page.contains("Pinned") && page.contains("Locked") && page.contains("1 reply"),
        "{page}"
    );
    assert!(b.settled_width(320.0).await <= 320.0);
    b.screenshot("forum-320").await;
    b.goto(&app.url("/forums")).await;
    assert!(b.settled_width(320.0).await <= 320.0);
    b.screenshot("forums-320").await;
    for path in [
        "/forums",
        "/forums/general",
        "/threads/bulk-order-of-seeds",
        "/forums/new",
    ] {
        let size = reqwest::get(app.url(path))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .len();
        assert!(size < 30_000, "{path} is {size} bytes");
    }
    b.quit().await;
}

/// The secretary's week in a real browser at a phone's width: invite a
/// member (the invitation is mailed), approve an application, change a
/// role, and send news as a newsletter, whose counts then show.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secretarys_flow_in_a_real_browser() {
    let catcher = common::smtp::Catcher::start().await;
    let app = TestApp::with_coop_configured(Backend::Sqlite, catcher.settings()).await;
    let api = common::Api::new(&app).await;
    let b = Browser::start().await;
    b.set_width(320).await;
    b.log_in(&app).await;

    // Invite: a new record, and its invitation by email.
    b.goto(&app.url("/admin/members")).await;
    b.fill("#name", "Ana Sousa").await;
    b.fill("#email", "ana@example.test").await;
    b.click("#status-field option[value=active]").await;
    b.click("form[method=post][action='/admin/members'] button[type=submit]")
        .await;
    let record = b
        .wait_for_url(|u| u.contains("/admin/members/") && u.contains("done="))
        .await;
    b.click("form[action$='/invite'] button").await;
    b.wait_for_url(|u| u.ends_with("/invite")).await;
    assert!(
        b.text("main").await.contains("emailed to ana@example.test"),
        "{}",
        b.text("main").await
    );
    assert!(b.settled_width(320.0).await <= 320.0);
    b.screenshot("secretary-invite-320").await;
    catcher
        .wait_for("ana@example.test", |m| m.text().contains("/join/"))
        .await;

    // Change her role on the record.
    let ana_id: i64 = record
        .split("/admin/members/")
        .nth(1)
        .and_then(|r| r.split('?').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    b.goto(&app.url(&format!("/admin/members/{ana_id}"))).await;
    b.click("#role option[value=editor]").await;
    b.click(&format!(
        "form[action='/admin/members/{ana_id}'] button[type=submit]"
    ))
    .await;
    b.wait_for_url(|u| u.contains("done=")).await;
    let (_, ana) = api
        .call(reqwest::Method::GET, &format!("/members/{ana_id}"), None)
        .await;
    assert_eq!(ana["role"], "editor", "{ana}");
    b.screenshot("secretary-role-320").await;

    // Approve an application sent from the public form.
    let c = common::client();
    let form = c
        .get(app.url("/apply"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    c.post(app.url("/apply"))
        .form(&[
            ("csrf", common::csrf_of(&form).as_str()),
            ("name", "Bo Lindqvist"),
            ("email", "bo@example.test"),
            ("message", "I grow tea on the hill."),
        ])
        .send()
        .await
        .unwrap();
    let (_, applicants) = api
        .call(reqwest::Method::GET, "/members?status=applicant", None)
        .await;
    let bo_id = applicants["items"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{applicants}"));
    b.goto(&app.url("/notifications")).await;
    assert!(b.text("main").await.contains("Bo Lindqvist applied to join"));
    b.screenshot("secretary-notifications-320").await;
    b.goto(&app.url(&format!("/admin/members/{bo_id}"))).await;
    b.click("form[action$='/approve'] button").await;
    b.wait_for_url(|u| u.ends_with("/approve")).await;
    assert!(b.text("main").await.contains("emailed to bo@example.test"));
    b.screenshot("secretary-approve-320").await;
    catcher
        .wait_for("bo@example.test", |m| m.text().contains("/join/"))
        .await;

    // News, also sent as the newsletter; its counts on the newsletters page.
    b.goto(&app.url("/news/new")).await;
    b.fill("#title", "Tasting on Saturday").await;
    b.fill("#body", "Bring a cup. **Everyone** is welcome.").await;
    b.click("#newsletter").await;
    b.screenshot("secretary-newsletter-form-320").await;
    b.click("button[value=publish]").await;
    b.wait_for_url(|u| u.contains("/news/tasting-on-saturday")).await;
    for to in ["ana@example.test", "bo@example.test"] {
        catcher
            .wait_for(to, |m| {
                m.header("Subject").as_deref() == Some("Tasting on Saturday")
            })
            .await;
    }
    let started = Instant::now();
    loop {
        let (_, list) = api.call(reqwest::Method::GET, "/newsletters", None).await;
        if list[0]["sent"] == 2 && list[0]["queued"] == 0 {
            assert_eq!(list[0]["failed"], 0);
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{list}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    b.goto(&app.url("/admin/newsletters")).await;
    let page = b.text("main").await;
    assert!(
        page.contains("Tasting on Saturday") && page.contains("everyone"),
        "{page}"
    );
    assert!(b.settled_width(320.0).await <= 320.0);
    // A heading keeps its words whole (the table scrolls within itself):
    // "Recipients" broken letter by letter was ten lines tall.
    let heading = b.rect_height("th:nth-child(4)").await;
    assert!(heading < 50.0, "the heading is {heading} px tall");
    b.screenshot("secretary-newsletters-320").await;
    b.quit().await;
}
