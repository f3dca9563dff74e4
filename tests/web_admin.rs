//! What an admin meets writing news and running federation on the web:
//! destructive actions ask first and say what they did, news written in the
//! browser form (CRLF) gets the right summary and keeps it right on edit
//! (http images outside local mode: src/service/news.rs), domain rules keep their port
//! and hide the blocked server's posts, and no template needs inline styles
//! (the CSP forbids them).

mod common;

use common::{csrf_of, login, Backend, TestApp, ADMIN, PASSWORD};
use intercoop::service::news::{self, NewsInput};

both_backends!(
    destructive_actions_ask_first,
    news_from_the_form,
    drafts_schedules_and_previews
);

async fn page_csrf(c: &reqwest::Client, url: &str) -> String {
    csrf_of(&c.get(url).send().await.unwrap().text().await.unwrap())
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default()
}

fn decoded(s: &str) -> String {
    url::form_urlencoded::parse(s.split_once('?').map(|(_, q)| q).unwrap_or("").as_bytes())
        .find(|(k, _)| k == "done")
        .map(|(_, v)| v.to_string())
        .unwrap_or_default()
}

async fn destructive_actions_ask_first(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let c = login(&app, ADMIN, PASSWORD).await;
    let item = news::publish_news(
        &app.ctx,
        &common::admin(),
        &NewsInput {
            title: "Old minutes".into(),
            body: "Text.".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let slug = item.slug.clone().unwrap();

    // Delete: the first post shows what will happen and changes nothing.
    let csrf = page_csrf(&c, &app.url(&format!("/news/{slug}/edit"))).await;
    let r = c
        .post(app.url(&format!("/news/{slug}/delete")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("Delete “Old minutes”?"), "{page}");
    assert!(page.contains("0 followers") && page.contains("cannot be undone"));
    assert!(page.contains("name=\"confirm\" value=\"yes\""));
    assert!(news::get_news(&app.ctx, &slug)
        .await
        .unwrap()
        .deleted_at
        .is_none());
    let r = c
        .post(app.url(&format!("/news/{slug}/delete")))
        .form(&[("csrf", csrf.as_str()), ("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let to = location(&r);
    assert!(decoded(&to).contains("“Old minutes” was deleted"), "{to}");
    let home = c.get(app.url(&to)).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("was deleted"), "the home page says what happened");
    assert!(news::get_news(&app.ctx, &slug)
        .await
        .unwrap()
        .deleted_at
        .is_some());

    // Block: asks first, with what it drops; keeps the port of host:port.
    let csrf = page_csrf(&c, &app.url("/admin/federation")).await;
    let form = |confirm: &'static str| {
        let mut f = vec![
            ("csrf", csrf.clone()),
            ("domain", "localhost:18601".to_string()),
            ("mode", "block".to_string()),
            ("reason", "spam".to_string()),
        ];
        if !confirm.is_empty() {
            f.push(("confirm", confirm.to_string()));
        }
        f
    };
    let r = c
        .post(app.url("/admin/federation/domains"))
        .form(&form(""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("Block localhost:18601?"), "{page}");
    assert!(page.contains("drops 0 followers and 0 accounts"), "{page}");
    assert!(intercoop::service::moderation::list_rules(&app.ctx)
        .await
        .unwrap()
        .is_empty());
    let r = c
        .post(app.url("/admin/federation/domains"))
        .form(&form("yes"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(decoded(&location(&r)).contains("localhost:18601 blocked"));
    let rules = intercoop::service::moderation::list_rules(&app.ctx)
        .await
        .unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].domain, "localhost:18601", "the port is kept");

    // Allow-list mode asks first too; leaving it does not need to.
    let r = c
        .post(app.url("/admin/federation/mode"))
        .form(&[("csrf", csrf.as_str()), ("allowlist", "on")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Federate only with allowed servers?"));
    assert_eq!(
        intercoop::service::coop::get_instance(&app.ctx)
            .await
            .unwrap()
            .federation_mode,
        "open"
    );
    let r = c
        .post(app.url("/admin/federation/mode"))
        .form(&[("csrf", csrf.as_str()), ("allowlist", "on"), ("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        intercoop::service::coop::get_instance(&app.ctx)
            .await
            .unwrap()
            .federation_mode,
        "allowlist"
    );
}

async fn news_from_the_form(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let c = login(&app, ADMIN, PASSWORD).await;
    let csrf = page_csrf(&c, &app.url("/news/new")).await;
    // What a browser sends: CRLF line breaks.
    let body = "The general meeting is on Friday.\r\n\r\n- bring the minutes\r\n- bring a chair\r\n\r\n| a | b |\r\n|---|---|";
    let r = c
        .post(app.url("/news/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("title", "General meeting"),
            ("summary", ""),
            ("body", body),
            ("image_url", "javascript:alert(1)"),
            ("image_alt", "Chairs"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "a bad image address is refused");
    let page = r.text().await.unwrap();
    assert!(page.contains("https://"), "{page}");
    assert!(page.contains("bring the minutes"), "what was typed is kept");
    let r = c
        .post(app.url("/news/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("title", "General meeting"),
            ("summary", ""),
            ("body", body),
            ("image_url", ""),
            ("image_alt", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (items, _) = news::list_news(&app.ctx, &intercoop::service::Caller::Anonymous, 0, 10)
        .await
        .unwrap();
    let item = &items[0];
    assert_eq!(item.summary, "The general meeting is on Friday.");
    assert!(!item.source.as_deref().unwrap().contains('\r'));

    // The edit form shows the automatic summary; saving a new text with it
    // unchanged regenerates it, as the Update then carries.
    let slug = item.slug.clone().unwrap();
    let edit = c
        .get(app.url(&format!("/news/{slug}/edit")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(edit.contains(">The general meeting is on Friday.</textarea>"));
    let r = c
        .post(app.url(&format!("/news/{slug}/edit")))
        .form(&[
            ("csrf", csrf_of(&edit).as_str()),
            ("title", "General meeting"),
            ("summary", "The general meeting is on Friday."),
            (
                "body",
                "The general meeting moves to Saturday.\r\n\r\nSame place.",
            ),
            ("image_url", ""),
            ("image_alt", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let item = news::get_news(&app.ctx, &slug).await.unwrap();
    assert_eq!(item.summary, "The general meeting moves to Saturday.");
}

/// The CSP has `style-src 'self'` and no `unsafe-inline`: a `style=`
/// attribute or a `<style>` element in a template would be ignored by the
/// browser, so none may exist.
#[test]
fn no_template_needs_inline_styles() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap().to_lowercase();
        assert!(
            !text.contains("style=") && !text.contains("<style"),
            "{} carries inline styles, which the CSP blocks: move them to static/style.css",
            path.display()
        );
        checked += 1;
    }
    assert!(checked >= 10, "the templates were found");
}

/// A blocked server's posts leave the home page at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_servers_posts_leave_the_home_page() {
    let app = TestApp::with_coop(Backend::Sqlite).await;
    let mut conn = app.ctx.db.conn().await.unwrap();
    let row = intercoop::db::models::ActorRow {
        ap_id: "https://other.example/actors/bees".into(),
        kind: "Organization".into(),
        handle: "bees".into(),
        domain: "other.example".into(),
        name: "Bee Keepers".into(),
        inbox: "https://other.example/actors/bees/inbox".into(),
        ..Default::default()
    };
    let id = intercoop::db::queries::actors::upsert_remote(&mut conn, &row)
        .await
        .unwrap();
    drop(conn);
    let bees = intercoop::service::coop::find_actor(&app.ctx, id)
        .await
        .unwrap()
        .unwrap();
    intercoop::service::remote::store_post(
        &app.ctx,
        &bees,
        intercoop::service::remote::RemotePost {
            ap_id: "https://other.example/news/honey".into(),
            ap_type: "Article".into(),
            kind: "news",
            title: "Honey harvest".into(),
            summary: "Lots of honey.".into(),
            content_html: "<p>Lots of honey.</p>".into(),
            url: None,
            in_reply_to: None,
            visibility: intercoop::service::types::Visibility::Public,
            published_at: None,
        },
    )
    .await
    .unwrap();
    let home = || async { reqwest::get(app.url("/")).await.unwrap().text().await.unwrap() };
    assert!(home().await.contains("Honey harvest"));
    intercoop::service::moderation::block_domain(&app.ctx, &common::admin(), "other.example", "")
        .await
        .unwrap();
    assert!(!home().await.contains("Honey harvest"));
}

async fn outbox_creates(app: &TestApp, object_id: i64) -> i64 {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use intercoop::db::schema::outbox;
    let mut conn = app.ctx.db.conn().await.unwrap();
    intercoop::q!(&mut conn, |c| outbox::table
        .filter(outbox::object_id.eq(object_id))
        .filter(outbox::kind.eq("Create"))
        .count()
        .get_result::<i64>(c)
        .await)
    .unwrap()
}

async fn drafts_schedules_and_previews(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let c = login(&app, ADMIN, PASSWORD).await;
    let anon = common::client();
    let csrf = page_csrf(&c, &app.url("/news/new")).await;
    let fields = |action: &'static str, title: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("action", action.to_string()),
            ("title", title.to_string()),
            ("summary", String::new()),
            (
                "body",
                "First **line**.\r\n\r\nhttps://coop.example/map".to_string(),
            ),
            ("image_url", String::new()),
            ("image_alt", String::new()),
            ("published_at", String::new()),
        ]
    };
    // Preview: the rendered text under the form; nothing saved.
    let r = c
        .post(app.url("/news/new"))
        .form(&fields("preview", "Plans"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("<strong>line</strong>") && page.contains("href=\"https://coop.example/map\""));
    assert!(page.contains("Summary shown on Mastodon: First line."), "{page}");
    assert!(page.contains(">First **line**."), "the form keeps the text");
    assert!(news::list_unpublished(&app.ctx).await.unwrap().is_empty());
    assert_eq!(
        news::list_news(&app.ctx, &intercoop::service::Caller::Anonymous, 0, 10)
            .await
            .unwrap()
            .1,
        0
    );

    // A draft: saved, not public, not federated.
    let r = c
        .post(app.url("/news/new"))
        .form(&fields("draft", "Plans"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let drafts = news::list_unpublished(&app.ctx).await.unwrap();
    assert_eq!(drafts.len(), 1);
    let draft = &drafts[0];
    let slug = draft.slug.clone().unwrap();
    assert_eq!(
        anon.get(app.url(&format!("/news/{slug}")))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert!(!anon
        .get(app.url("/news"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .contains("Plans"));
    let mine = c
        .get(app.url("/news"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(mine.contains("Drafts and scheduled") && mine.contains("Plans"));
    let shown = c
        .get(app.url(&format!("/news/{slug}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(shown.contains("This is a draft"));
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(outbox_creates(&app, draft.id).await, 0, "a draft is not sent");

    // Publishing the draft from its edit page: public and federated.
    let edit = c
        .get(app.url(&format!("/news/{slug}/edit")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(edit.contains("Save as draft"));
    let r = c
        .post(app.url(&format!("/news/{slug}/edit")))
        .form(&fields("publish", "Plans"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        anon.get(app.url(&format!("/news/{slug}")))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let started = std::time::Instant::now();
    while outbox_creates(&app, draft.id).await == 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "the Create goes out"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Published news cannot go back to draft.
    let r = c
        .post(app.url(&format!("/news/{slug}/edit")))
        .form(&fields("draft", "Plans"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);

    // Scheduled: hidden and unsent until its time, then both.
    let at = chrono::Utc::now() + chrono::Duration::seconds(3);
    let item = news::publish_news(
        &app.ctx,
        &common::admin(),
        &NewsInput {
            title: "Later".into(),
            body: "Soon.".into(),
            published_at: Some(at.to_rfc3339()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let later = format!("/news/{}", item.slug.clone().unwrap());
    assert_eq!(anon.get(app.url(&later)).send().await.unwrap().status(), 404);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(outbox_creates(&app, item.id).await, 0, "not before its time");
    let started = std::time::Instant::now();
    while outbox_creates(&app, item.id).await == 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(12),
            "sent at its time"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(chrono::Utc::now() >= at);
    assert_eq!(anon.get(app.url(&later)).send().await.unwrap().status(), 200);
}

/// A session that ran out while writing: Publish leads to the login, and
/// the login back to the form with the text in it, in that browser only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_survives_an_expired_session() {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let app = TestApp::with_coop(Backend::Sqlite).await;
    let c = login(&app, ADMIN, PASSWORD).await;
    let csrf = page_csrf(&c, &app.url("/news/new")).await;
    {
        use intercoop::db::schema::sessions;
        let mut conn = app.ctx.db.conn().await.unwrap();
        let past = intercoop::db::now() - chrono::Duration::days(1);
        intercoop::q!(&mut conn, |c| diesel::update(sessions::table)
            .set(sessions::expires_at.eq(past))
            .execute(c)
            .await)
        .unwrap();
    }
    let r = c
        .post(app.url("/news/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("action", "publish"),
            ("title", "Long letter"),
            ("body", "Three pages I do not want to type again."),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let to = location(&r);
    assert_eq!(to, "/login?next=/news/new%3Fresume%3D1&expired=1&kept=1");
    let login_page = c.get(app.url(&to)).send().await.unwrap().text().await.unwrap();
    assert!(login_page.contains("What you wrote is kept"));
    let r = c
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf_of(&login_page).as_str()),
            ("username", ADMIN),
            ("password", PASSWORD),
            ("next", "/news/new?resume=1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/news/new?resume=1");
    // Another browser of the same editor gets an empty form: the text is bound to the cookie.
    let other = login(&app, ADMIN, PASSWORD).await;
    let elsewhere = other
        .get(app.url("/news/new?resume=1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!elsewhere.contains("Long letter"));
    let form = c
        .get(app.url("/news/new?resume=1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        form.contains("value=\"Long letter\"") && form.contains("Three pages I do not want to type again.")
    );
    assert!(form.contains("your text was kept"));
    // Given back once.
    let again = c
        .get(app.url("/news/new?resume=1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!again.contains("Long letter"));

    // Someone who was never logged in has nothing kept.
    let anon = common::client();
    let csrf = page_csrf(&anon, &app.url("/login")).await;
    let r = anon
        .post(app.url("/news/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("action", "publish"),
            ("title", "Spam"),
            ("body", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), "/login?next=/news/new");
    assert!(r
        .headers()
        .get("set-cookie")
        .is_none_or(|c| !c.to_str().unwrap().contains("ic_kept")));
}

/// A form shows every problem at once, each next to its field and tied to
/// it for screen readers; the rules say which field they are about.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_shows_every_error_at_its_field() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let c = common::client();
    let link = app.setup_link.clone().unwrap();
    let page = c.get(&link).send().await.unwrap().text().await.unwrap();
    let token = app.setup_token().unwrap();
    let r = c
        .post(app.url("/setup"))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("token", token.as_str()),
            ("coop_name", " "),
            ("handle", "tea growers"),
            ("admin_username", "Ä"),
            ("admin_email", ""),
            ("password", "short"),
            ("password_confirm", "other"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("5 things to fix"), "{page}");
    assert_eq!(page.matches("aria-invalid=\"true\"").count(), 5, "{page}");
    for id in [
        "coop_name",
        "handle",
        "admin_username",
        "password",
        "password_confirm",
    ] {
        assert!(
            page.contains(&format!("id=\"{id}-error\"")),
            "{id} has its message"
        );
    }
    assert!(page.contains("The handle: use only letters"));
    assert!(page.contains("The username: use only letters"));
    assert!(page.contains("value=\"tea growers\""), "what was typed is kept");
}
