//! The web shell against the real server: setup, login, logout, CSRF, rate
//! limiting, sessions, errors and page weight, on both databases.

mod common;

use common::{client, csrf_of, login, Backend, TestApp, ADMIN, PASSWORD};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use intercoop::db::schema::{actors, sessions, users};

both_backends!(
    setup_flow,
    login_logout_and_sessions,
    csrf_is_enforced,
    failed_logins_are_rate_limited,
    expired_session_asks_to_log_in_again,
    admin_edits_the_profile,
    errors_are_pages_or_json,
);

async fn setup_flow(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.setup_token().expect("a setup link is printed before setup");
    let c = client();

    // Before setup the home page says so, without a 5xx.
    let home = c.get(app.url("/")).send().await.unwrap();
    assert_eq!(home.status(), 200);
    assert!(home.text().await.unwrap().contains("not set up yet"));

    // A wrong token is refused.
    let bad = c.get(app.url("/setup?token=nope")).send().await.unwrap();
    assert_eq!(bad.status(), 403);
    assert!(bad.text().await.unwrap().contains("setup link is not valid"));

    let page = c
        .get(app.url(&format!("/setup?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csrf = csrf_of(&page.text().await.unwrap());
    let form = |pw2: &'static str, handle: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("token", token.clone()),
            ("coop_name", "Tea Growers".to_string()),
            ("handle", handle.to_string()),
            ("admin_username", ADMIN.to_string()),
            ("admin_email", "alice@example.org".to_string()),
            ("password", PASSWORD.to_string()),
            ("password_confirm", pw2.to_string()),
        ]
    };

    // Mismatched passwords and a bad handle re-show the form with the values kept.
    let r = c
        .post(app.url("/setup"))
        .form(&form("different one!", "tea"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("passwords differ"), "{body}");
    assert!(body.contains("value=\"Tea Growers\""));
    let r = c
        .post(app.url("/setup"))
        .form(&form(PASSWORD, "tea growers"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("letters a-z"));

    // Nothing was written by the failed attempts.
    let mut conn = app.ctx.db.conn().await.unwrap();
    let n: i64 = intercoop::q!(&mut conn, |c| users::table.count().get_result(c).await).unwrap();
    assert_eq!(n, 0, "failed setup writes no user");

    let r = c
        .post(app.url("/setup"))
        .form(&form(PASSWORD, "@Tea"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/admin/settings?welcome=1");
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.starts_with("ic_session=") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax")
    );

    // The new admin is logged in and the co-op exists with its actor keys.
    let settings = c.get(app.url("/admin/settings")).send().await.unwrap();
    assert_eq!(settings.status(), 200);
    let (handle, kind, has_key): (String, String, bool) = intercoop::q!(&mut conn, |c| actors::table
        .filter(actors::local.eq(true))
        .filter(actors::kind.eq("Organization"))
        .select((
            actors::handle,
            actors::kind,
            actors::private_key_pem.is_not_null()
        ))
        .first(c)
        .await)
    .unwrap();
    assert_eq!(
        (handle.as_str(), kind.as_str(), has_key),
        ("tea", "Organization", true)
    );
    let home = client()
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("Tea Growers") && home.contains(&format!("@tea@127.0.0.1:{}", app.addr.port())));

    // The link is single-use: now it leads to the login page.
    let again = client()
        .get(app.url(&format!("/setup?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 303);
    assert_eq!(again.headers()["location"], "/login");
    let r = c
        .post(app.url("/setup"))
        .form(&form(PASSWORD, "other"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a used setup token cannot create a second co-op");
    let n: i64 = intercoop::q!(&mut conn, |c| actors::table.count().get_result(c).await).unwrap();
    assert_eq!(n, 2, "only the co-op and instance actors exist");
}

async fn login_logout_and_sessions(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let c = client();
    let page = c
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page);

    let wrong = c
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", ADMIN),
            ("password", "not the password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let body = wrong.text().await.unwrap();
    assert!(body.contains("Wrong username or password"));
    assert!(
        body.contains(&format!("value=\"{ADMIN}\"")),
        "the username is kept"
    );

    let ok = c
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "Alice"),
            ("password", PASSWORD),
            ("next", "/admin/settings"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 303);
    assert_eq!(ok.headers()["location"], "/admin/settings");
    let session_cookie = ok.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();

    let settings = c.get(app.url("/admin/settings")).send().await.unwrap();
    assert_eq!(settings.status(), 200);
    let html = settings.text().await.unwrap();
    assert!(html.contains("Log out (alice)"));
    let session_csrf = csrf_of(&html);
    assert_ne!(session_csrf, csrf, "a session has its own CSRF token");

    // Logging out ends the session server-side: the old cookie is worthless.
    let out = c
        .post(app.url("/logout"))
        .form(&[("csrf", session_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert!(out.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let replay = client()
        .get(app.url("/admin/settings"))
        .header("cookie", &session_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        replay.status(),
        303,
        "a logged-out session no longer opens admin pages"
    );
    let done = c
        .get(app.url("/logout"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(done.contains("You are logged out"));
}

async fn csrf_is_enforced(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let c = login(&app, ADMIN, PASSWORD).await;
    for forged in ["", "forged-token"] {
        let r = c
            .post(app.url("/admin/settings"))
            .form(&[("csrf", forged), ("name", "Hijacked")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        let body = r.text().await.unwrap();
        assert!(body.contains("Reload the page"), "{body}");
    }
    let coop = intercoop::service::coop::get_coop(&app.ctx)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(coop.name, "Tea Growers", "a forged form changes nothing");

    // The anonymous login form is protected too (double-submit cookie).
    let r = client()
        .post(app.url("/login"))
        .form(&[("csrf", "guess"), ("username", ADMIN), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r
        .headers()
        .get("set-cookie")
        .is_none_or(|v| !v.to_str().unwrap().contains("ic_session")));
}

async fn failed_logins_are_rate_limited(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let c = client();
    let csrf = csrf_of(
        &c.get(app.url("/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    for _ in 0..intercoop::service::accounts::MAX_FAILURES_PER_USER {
        let r = c
            .post(app.url("/login"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("username", ADMIN),
                ("password", "guess guess guess"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    // Even the right password is refused now: the attacker cannot tell it was right.
    let r = c
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", ADMIN),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "900");
    assert!(r.text().await.unwrap().contains("Too many failed logins"));

    // An admin's password reset lifts the block.
    intercoop::service::accounts::reset_password(&app.ctx, ADMIN, "a brand new password")
        .await
        .unwrap();
    login(&app, ADMIN, "a brand new password").await;
}

async fn expired_session_asks_to_log_in_again(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let c = login(&app, ADMIN, PASSWORD).await;
    let mut conn = app.ctx.db.conn().await.unwrap();
    // Setup's own login and this one.
    let before: i64 = intercoop::q!(&mut conn, |c| sessions::table.count().get_result(c).await).unwrap();
    assert_eq!(before, 2);
    let past = intercoop::db::now() - chrono::Duration::days(1);
    intercoop::q!(&mut conn, |c| diesel::update(sessions::table)
        .set(sessions::expires_at.eq(past))
        .execute(c)
        .await)
    .unwrap();
    let r = c.get(app.url("/admin/settings")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(
        to.starts_with("/login?next=/admin/settings") && to.contains("expired=1"),
        "{to}"
    );
    let page = c.get(app.url(&to)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Your session has expired"));
    let left: i64 = intercoop::q!(&mut conn, |c| sessions::table.count().get_result(c).await).unwrap();
    assert_eq!(left, 1, "the expired session row behind the cookie is removed");
}

async fn admin_edits_the_profile(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    intercoop::service::accounts::create_user(
        &app.ctx,
        intercoop::service::accounts::NewAccount {
            username: "bob".into(),
            email: None,
            display_name: String::new(),
            password: PASSWORD.into(),
            role: intercoop::service::types::UserRole::Member,
        },
    )
    .await
    .unwrap();
    // A member may not open the settings.
    let member = login(&app, "bob", PASSWORD).await;
    assert_eq!(
        member
            .get(app.url("/admin/settings"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    // Anonymous visitors are sent to log in.
    let anon = client().get(app.url("/admin/settings")).send().await.unwrap();
    assert_eq!(anon.status(), 303);

    let c = login(&app, ADMIN, PASSWORD).await;
    let csrf = csrf_of(
        &c.get(app.url("/admin/settings"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let fields = |lat: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("name", "Tea Growers of Kericho".to_string()),
            (
                "summary",
                "We grow **tea**.\n\n<script>alert(1)</script>".to_string(),
            ),
            ("website", "https://tea.example".to_string()),
            ("contact_email", "info@tea.example".to_string()),
            ("address", "1 Estate Road, Kericho".to_string()),
            ("latitude", lat.to_string()),
            ("longitude", "35.28".to_string()),
            ("languages", "en, sw".to_string()),
            ("logo_url", String::new()),
        ]
    };
    let bad = c
        .post(app.url("/admin/settings"))
        .form(&fields("123"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let body = bad.text().await.unwrap();
    assert!(body.contains("between -90 and 90") && body.contains("Tea Growers of Kericho"));
    assert_eq!(
        intercoop::service::coop::get_coop(&app.ctx)
            .await
            .unwrap()
            .unwrap()
            .name,
        "Tea Growers",
        "an invalid form saves nothing"
    );

    let ok = c
        .post(app.url("/admin/settings"))
        .form(&fields("-0.37"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 303);
    let saved = c
        .get(app.url("/admin/settings?saved=1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(saved.contains("The profile is saved"));
    let home = client()
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("Tea Growers of Kericho"));
    assert!(home.contains("https://tea.example") && home.contains("1 Estate Road"));
    assert!(home.contains("mlat=-0.37"));
    // The description is Markdown, sanitised: paragraphs and emphasis kept, scripts dropped.
    assert!(
        !home.contains("<script>") && !home.contains("alert(1)"),
        "profile HTML is sanitised"
    );
    assert!(home.contains("<p>We grow <strong>tea</strong>.</p>"), "{home}");
}

async fn errors_are_pages_or_json(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let c = client();
    let page = c.get(app.url("/no/such/page")).send().await.unwrap();
    assert_eq!(page.status(), 404);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(page.text().await.unwrap().contains("Page not found"));

    let api = c.get(app.url("/api/v1/nothing")).send().await.unwrap();
    assert_eq!(api.status(), 404);
    let json: serde_json::Value = api.json().await.unwrap();
    assert_eq!(json["error"], "not_found");
    assert!(json["detail"].as_str().unwrap().len() > 10);

    // Oversize bodies get 413, as a page for forms.
    let big = "x".repeat(intercoop::http::MAX_BODY_BYTES + 10);
    let (status, body) = common::raw_request(
        app.addr,
        "POST",
        "/login",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("accept", "text/html"),
        ],
        format!("username={big}").as_bytes(),
    )
    .await;
    assert_eq!(status, 413);
    assert!(body.contains("too large"), "{body}");

    // Wrong method.
    let r = c.delete(app.url("/login")).send().await.unwrap();
    assert_eq!(r.status(), 405);

    // A malformed form body.
    let r = client()
        .post(app.url("/login"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert!(r.status() == 400 || r.status() == 415, "{}", r.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_small_secure_and_cached() {
    let app = TestApp::with_coop(Backend::Sqlite).await;
    let c = login(&app, ADMIN, PASSWORD).await;
    let home = c.get(app.url("/")).send().await.unwrap();
    for h in [
        "content-security-policy",
        "x-content-type-options",
        "x-frame-options",
        "referrer-policy",
        "x-request-id",
    ] {
        assert!(home.headers().contains_key(h), "missing {h}");
    }
    let html = home.text().await.unwrap();
    let css_path = html
        .split("rel=\"stylesheet\" href=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let css = c.get(app.url(&css_path)).send().await.unwrap();
    assert_eq!(
        css.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let css_len = css.text().await.unwrap().len();
    let anon = client();
    for (who, path) in [
        (&c, "/"),
        (&c, "/admin/settings"),
        (&c, "/logout"),
        (&anon, "/login"),
        (&anon, "/no-such-page"),
    ] {
        let body = who.get(app.url(path)).send().await.unwrap().text().await.unwrap();
        assert!(
            body.len() + css_len < 30 * 1024,
            "{path} weighs {} bytes with CSS",
            body.len() + css_len
        );
        assert!(!body.contains("<script"), "{path} needs no JavaScript");
    }
    // Compression is offered.
    let gz = reqwest::Client::new()
        .get(app.url(&css_path))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    // Health.
    let h: serde_json::Value = c
        .get(app.url("/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(h["status"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_in_translation_is_served() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        let dir = c.locales_dir.clone();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("sw.toml"), "[login]\ntitle = \"Ingia\"\n").unwrap();
    })
    .await;
    let page = client()
        .get(app.url("/login"))
        .header("accept-language", "sw-KE, en;q=0.5")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<h1>Ingia</h1>") && page.contains("lang=\"sw\""),
        "{page}"
    );
    let english = client()
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(english.contains("<h1>Log in</h1>"));
}
