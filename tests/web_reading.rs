//! What a visitor reads and how people follow: the news archive, link
//! previews (Open Graph), the favicon, the profile shown as Markdown with
//! languages by name, deleted news, JSON errors from machine endpoints, the
//! visitor's follow form (address forms, errors that keep the form), and an
//! admin following another co-op by @handle@domain between two instances,
//! and the pages anonymous visitors share (the page cache).

mod common;

use std::time::{Duration, Instant};

use axum::routing::get;
use common::{client, csrf_of, login, Backend, TestApp, ADMIN, PASSWORD};
use intercoop::service::coop::ProfileInput;
use intercoop::service::news::{self, NewsInput};
use serde_json::{json, Value};

both_backends!(archive_and_previews, following_another_coop_by_handle);

async fn text(url: &str) -> (u16, String) {
    let r = client().get(url).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn archive_and_previews(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    for i in 1..=25 {
        news::publish_news(
            &app.ctx,
            &common::admin(),
            &NewsInput {
                title: format!("Bulletin {i:02}"),
                body: format!("Issue {i} of the bulletin.\n\nMore."),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    let (status, page1) = text(&app.url("/news")).await;
    assert_eq!(status, 200);
    assert_eq!(page1.matches("<article class=\"teaser\"").count(), 20);
    assert!(
        page1.contains("Bulletin 25") && !page1.contains("Bulletin 05"),
        "newest first"
    );
    assert!(page1.contains("<time datetime=\""), "dates are machine-readable");
    assert!(page1.contains("Page 1 of 2") && page1.contains("href=\"/news?page=2\""));
    let (_, page2) = text(&app.url("/news?page=2")).await;
    assert_eq!(page2.matches("<article class=\"teaser\"").count(), 5);
    assert!(page2.contains("Bulletin 01") && page2.contains("href=\"/news?page=1\""));
    assert_eq!(text(&app.url("/news?page=3")).await.0, 404);
    assert_eq!(text(&app.url("/news?page=abc")).await.0, 400);

    // Home: the 10 latest with dates, a link to all news, a title said once.
    let (_, home) = text(&app.url("/")).await;
    assert_eq!(home.matches("<article class=\"teaser\"").count(), 10);
    assert!(home.contains("<time datetime=") && home.contains("href=\"/news\""));
    assert!(
        home.contains("<title>Tea Growers</title>"),
        "not 'Tea Growers · Tea Growers'"
    );

    // A news page previews in chat apps and Mastodon.
    let (items, _) = news::list_news(&app.ctx, &intercoop::service::Caller::Anonymous, 0, 1)
        .await
        .unwrap();
    let item = &items[0];
    let (_, page) = text(&app.url(&format!("/news/{}", item.slug.as_deref().unwrap()))).await;
    for tag in [
        "<meta property=\"og:type\" content=\"article\">".to_string(),
        "<meta property=\"og:title\" content=\"Bulletin 25\">".to_string(),
        "<meta property=\"og:description\" content=\"Issue 25 of the bulletin.\">".to_string(),
        format!("<meta property=\"og:url\" content=\"{}\">", item.ap_id),
        "<meta name=\"twitter:card\" content=\"summary\">".to_string(),
    ] {
        assert!(page.contains(&tag), "missing {tag}");
    }
    assert!(
        page.contains("action=\"/follow\""),
        "the follow form is on news pages too"
    );

    let icon = client().get(app.url("/favicon.ico")).send().await.unwrap();
    assert_eq!(icon.status(), 200);
    assert_eq!(icon.headers()["content-type"], "image/x-icon");
    assert!(icon.bytes().await.unwrap().starts_with(&[0, 0, 1, 0]));

    // Deleted news says so, as a page for people and a Tombstone for peers.
    news::delete_news(&app.ctx, &common::admin(), item.id)
        .await
        .unwrap();
    let (status, gone) = text(&app.url(&format!("/news/{}", item.slug.as_deref().unwrap()))).await;
    assert_eq!(status, 410);
    assert!(gone.contains("This news was deleted") && !gone.contains("Something went wrong"));

    // Machine endpoints answer errors in JSON even to a client that asks for nothing.
    let wf = client()
        .get(app.url("/.well-known/webfinger?resource=acct:nobody@nowhere.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(wf.status(), 404);
    assert!(wf.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let body: Value = wf.json().await.unwrap();
    assert_eq!(body["error"], "not_found");

    // The profile: Markdown description, address lines, languages by name, lang tags.
    intercoop::service::coop::update_profile(
        &app.ctx,
        &common::admin(),
        &ProfileInput {
            name: "Tea Growers".into(),
            summary: "We grow *tea*.\n\nAnd we share.".into(),
            address: "1 Estate Road\nKericho".into(),
            languages: "en, sw".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let (_, home) = text(&app.url("/")).await;
    assert!(
        home.contains("<p>We grow <em>tea</em>.</p>\n<p>And we share.</p>"),
        "{home}"
    );
    assert!(home.contains("1 Estate Road<br>Kericho"));
    assert!(home.contains("English, Kiswahili"));
    assert!(home.contains("<article class=\"teaser\" lang=\"en\">"));
}

/// A fediverse server with a WebFinger subscribe template, on loopback.
async fn fake_mastodon() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let b = base.clone();
    let app = axum::Router::new().route(
        "/.well-known/webfinger",
        get(move || {
            let b = b.clone();
            async move {
                axum::Json(json!({
                    "subject": "acct:ann@x",
                    "links": [{"rel": "http://ostatus.org/schema/1.0/subscribe",
                               "template": format!("{b}/authorize_interaction?uri={{uri}}")}]
                }))
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_visitor_follow_form_takes_what_people_type() {
    let app = TestApp::with_coop(Backend::Sqlite).await;
    let masto = fake_mastodon().await;
    let host = masto.trim_start_matches("http://").to_string();
    let c = client();
    let csrf = csrf_of(&c.get(app.url("/")).send().await.unwrap().text().await.unwrap());
    for typed in [
        format!("@ann@{host}"),
        format!("ann@{host}"),
        format!("{masto}/@ann"),
    ] {
        let r = c
            .post(app.url("/follow"))
            .form(&[("csrf", csrf.as_str()), ("account", typed.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{typed}");
        let to = r.headers()["location"].to_str().unwrap().to_string();
        assert!(
            to.starts_with(&format!("{masto}/authorize_interaction?uri=")),
            "{typed} -> {to}"
        );
        assert!(to.contains("actors%2Ftea"));
    }
    // Unreachable: the home page again, the form open with the message and the text kept.
    let r = c
        .post(app.url("/follow"))
        .form(&[("csrf", csrf.as_str()), ("account", "@ann@127.0.0.1:1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("value=\"@ann@127.0.0.1:1\""),
        "what was typed is kept"
    );
    assert!(page.contains("aria-invalid=\"true\"") && page.contains("Could not find a follow page"));
    assert!(page.contains("<details class=\"follow-box\" open>"));
}

async fn following_another_coop_by_handle(backend: Backend) {
    let a = TestApp::with_coop(backend).await;
    let b = TestApp::with_coop(backend).await;
    intercoop::service::coop::update_profile(
        &b.ctx,
        &common::admin(),
        &ProfileInput {
            name: "Bee Keepers".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let admin = login(&a, ADMIN, PASSWORD).await;
    let csrf = csrf_of(
        &admin
            .get(a.url("/admin/federation"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let handle = format!("@tea@127.0.0.1:{}", b.addr.port());
    let r = admin
        .post(a.url("/admin/federation/follow"))
        .form(&[("csrf", csrf.as_str()), ("actor", handle.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    let started = Instant::now();
    loop {
        let page = admin
            .get(a.url("/admin/federation"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if page.contains(&format!(
            "Bee Keepers · @tea@127.0.0.1:{} (accepted)",
            b.addr.port()
        )) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the followed co-op is listed by name: {page}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A handle that does not resolve: a message for people, the page kept.
    let r = admin
        .post(a.url("/admin/federation/follow"))
        .form(&[("csrf", csrf.as_str()), ("actor", "@nobody@127.0.0.1:1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("Could not find nobody@127.0.0.1:1"), "{page}");
    assert!(
        !page.contains("error sending request") && !page.contains("tcp connect"),
        "{page}"
    );
}

/// Entering another Intercoop co-op's address in the visitor's form: that
/// co-op's subscribe page says why it cannot follow (co-ops have no
/// personal timelines) instead of failing silently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_coops_address_in_the_visitor_form_says_why_not() {
    let a = TestApp::with_coop(Backend::Sqlite).await;
    let b = TestApp::with_coop(Backend::Sqlite).await;
    let c = client();
    let csrf = csrf_of(&c.get(a.url("/")).send().await.unwrap().text().await.unwrap());
    let r = c
        .post(a.url("/follow"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("account", &format!("@tea@127.0.0.1:{}", b.addr.port())),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with(&b.url("/authorize_interaction?uri=")), "{to}");
    let there = c.get(&to).send().await.unwrap();
    assert_eq!(there.status(), 404);
    let text = there.text().await.unwrap();
    assert!(text.contains("no personal accounts to follow"), "{text}");
}

both_backends!(news_feeds_parse);

/// RSS 2.0 and Atom carry the published news, escaped, newest first, and
/// a feed parser reads them back.
async fn news_feeds_parse(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    for title in ["Seeds & <soil>", "Harvest \"day\""] {
        news::publish_news(
            &app.ctx,
            &common::admin(),
            &NewsInput {
                title: title.into(),
                body: "Bring **boots** & gloves.".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    news::publish_news(
        &app.ctx,
        &common::admin(),
        &NewsInput {
            title: "Not yet".into(),
            body: "Draft.".into(),
            draft: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    for (path, kind) in [("/news.rss", "rss"), ("/news.atom", "atom")] {
        let r = client().get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let ct = r.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.contains(kind), "{path}: {ct}");
        let body = r.bytes().await.unwrap();
        let feed = feed_rs::parser::parse(&body[..]).unwrap_or_else(|e| panic!("{path} does not parse: {e}"));
        let titles: Vec<String> = feed
            .entries
            .iter()
            .map(|e| e.title.as_ref().unwrap().content.clone())
            .collect();
        assert_eq!(titles, vec!["Harvest \"day\"", "Seeds & <soil>"], "{path}");
        let link = &feed.entries[0].links[0].href;
        assert!(link.starts_with(&app.url("/news/")), "{path}: {link}");
        let content = feed.entries[0]
            .content
            .as_ref()
            .and_then(|c| c.body.clone())
            .unwrap_or_default();
        assert!(content.contains("<strong>boots</strong>"), "{path}: {content}");
    }
    let (_, home) = text(&app.url("/")).await;
    assert!(home.contains("type=\"application/rss+xml\""));
    assert!(home.contains("type=\"application/atom+xml\""));
}

/// Anonymous visitors share one rendering of a page, each with their own
/// form token; a change made through the server shows at once; logged-in
/// people and ActivityPub peers never get the shared page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_visitors_share_pages_with_their_own_tokens() {
    let app = TestApp::with_coop_configured(Backend::Sqlite, |c| c.page_cache_seconds = 300).await;
    let publish = |title: &'static str| {
        let ctx = app.ctx.clone();
        async move {
            news::publish_news(
                &ctx,
                &common::admin(),
                &NewsInput {
                    title: title.into(),
                    body: "The pressing starts on Monday.".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
        }
    };
    publish("Pressing day").await;
    let (ann, bob) = (client(), client());
    let page = |c: &reqwest::Client, path: &str| {
        let r = c.get(app.url(path)).send();
        async move { r.await.unwrap().text().await.unwrap() }
    };
    let for_ann = page(&ann, "/").await;
    let for_bob = page(&bob, "/").await;
    assert!(for_ann.contains("Pressing day") && for_bob.contains("Pressing day"));
    let (ann_token, bob_token) = (csrf_of(&for_ann), csrf_of(&for_bob));
    assert_ne!(ann_token, bob_token, "each visitor has their own token");
    assert!(!for_bob.contains(intercoop::http::page_cache::CSRF_PLACEHOLDER));

    // A browser taking gzip gets the shared page compressed once, with its
    // own token in it: one valid gzip stream, not compressed again per hit.
    let gz = ann
        .get(app.url("/"))
        .header("accept-encoding", "gzip, deflate, br")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    assert!(gz.headers()["vary"].to_str().unwrap().contains("accept-encoding"));
    let zipped = gz.bytes().await.unwrap();
    let mut unzipped = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&zipped[..]), &mut unzipped)
        .expect("a whole gzip stream, CRC and length included");
    assert_eq!(unzipped, for_ann, "the same page, Ann's token in it");
    assert!(
        zipped.len() < for_ann.len() * 3 / 4,
        "compressed: {} of {} bytes",
        zipped.len(),
        for_ann.len()
    );
    // A token cookie planted with markup is never spliced into the page.
    let planted = reqwest::Client::new()
        .get(app.url("/"))
        .header("cookie", "ic_csrf=x\"><script>alert(1)</script>")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(planted.contains("Pressing day"));
    assert!(!planted.contains("<script>alert(1)"), "escaped, not spliced");

    // One that takes only brotli is compressed by the usual layer.
    let br = bob
        .get(app.url("/"))
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap();
    assert_eq!(br.headers()["content-encoding"], "br");

    // Written behind the web's back (as another process would): the shared
    // page is the one rendered before, for its lifetime.
    publish("Cider tasting").await;
    assert!(
        !page(&bob, "/").await.contains("Cider tasting"),
        "served from the cache"
    );

    // Bob's token from the shared page is his: his form goes through.
    let r = bob
        .post(app.url("/follow"))
        .form(&[("csrf", bob_token.as_str()), ("account", "@ann@127.0.0.1:1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "the lookup fails, not the CSRF check");
    let r = bob
        .post(app.url("/follow"))
        .form(&[("csrf", ann_token.as_str()), ("account", "@ann@127.0.0.1:1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "another visitor's token is refused");

    // That POST went through the server: the next visitor sees the news.
    assert!(page(&client(), "/").await.contains("Cider tasting"));

    // A logged-in editor never gets the shared page.
    let admin = login(&app, ADMIN, PASSWORD).await;
    assert!(page(&client(), "/").await.contains("Cider tasting"));
    publish("Harvest photos").await;
    assert!(
        !page(&client(), "/").await.contains("Harvest photos"),
        "still shared"
    );
    assert!(
        page(&admin, "/").await.contains("Harvest photos"),
        "not for the editor"
    );

    // A news page cached as HTML still answers a peer with ActivityPub JSON.
    let slug_page = page(&client(), "/news").await;
    let slug = slug_page
        .split("href=\"/news/")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a news link")
        .to_string();
    let html = page(&client(), &format!("/news/{slug}")).await;
    assert!(html.contains("<html"));
    let r = client()
        .get(app.url(&format!("/news/{slug}")))
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.expect("JSON for a peer");
    assert!(v["type"].is_string(), "{v}");
}
