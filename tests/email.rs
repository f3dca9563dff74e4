//! Email on both databases, through a loopback SMTP catcher: an invitation
//! mailed and used, a password reset by email, a public subscriber's double
//! opt-in, and a newsletter sent to the members and confirmed subscribers
//! with RFC 8058 one-click unsubscribe headers and a plain-text part; a
//! refused address is counted as failed, a temporarily refused one is tried
//! again, members-only news reaches members only, and an unsubscribed
//! address gets no more. Without SMTP settings the newsletter is refused
//! with a message that says what to set.

mod common;

use common::smtp::{Catcher, Mail};
use common::{Api, Backend, TestApp};
use reqwest::Method as M;
use serde_json::json;

both_backends!(newsletters_invitations_and_resets_go_by_email);

/// The first link in a mail that starts with `prefix`.
fn link(mail: &Mail, prefix: &str) -> String {
    let text = mail.text();
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} in {text}"));
    text[start..]
        .split(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
        .next()
        .unwrap()
        .to_string()
}

async fn newsletters_invitations_and_resets_go_by_email(backend: Backend) {
    let catcher = Catcher::start().await;
    let app = TestApp::with_coop_configured(backend, catcher.settings()).await;
    let api = Api::new(&app).await;
    let member = |name: &'static str, email: &'static str| {
        let api = &api;
        async move {
            let (s, m) = api
                .call(
                    M::POST,
                    "/members",
                    Some(json!({"name": name, "email": email, "status": "active"})),
                )
                .await;
            assert_eq!(s, 201, "{m}");
            m["id"].as_i64().unwrap()
        }
    };

    // An invitation goes to the address on the record, and works.
    let ana = member("Ana Sousa", "Ana@Example.test").await;
    let (s, inv) = api
        .call(M::POST, &format!("/members/{ana}/invitations"), None)
        .await;
    assert_eq!(s, 201, "{inv}");
    assert_eq!(inv["emailed_to"], "Ana@Example.test");
    let mail = catcher
        .wait_for("ana@example.test", |m| m.text().contains("/join/"))
        .await;
    assert!(
        mail.header("Subject").unwrap().contains("Tea Growers"),
        "{:?}",
        mail.header("Subject")
    );
    assert!(mail.header("From").unwrap().contains("news@tea.localhost"));
    let join = link(&mail, &app.url("/join/"));
    assert_eq!(join, inv["url"].as_str().unwrap());
    let web = common::client();
    let page = web.get(&join).send().await.unwrap().text().await.unwrap();
    let r = web
        .post(&join)
        .form(&[
            ("csrf", common::csrf_of(&page).as_str()),
            ("username", "ana"),
            ("password", common::PASSWORD),
            ("password_confirm", common::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "the mailed invitation sets up the account");

    // "Forgot your password?" mails a reset link to the record's address;
    // an unknown name gets the same answer and no mail.
    let c = common::client();
    let page = c
        .get(app.url("/login/forgot"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = common::csrf_of(&page);
    for who in ["ana", "nobody-here"] {
        let r = c
            .post(app.url("/login/forgot"))
            .form(&[("csrf", csrf.as_str()), ("account", who)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains("If an account matches"));
    }
    let reset = catcher
        .wait_for("ana@example.test", |m| m.text().contains("/reset?token="))
        .await;
    let reset_link = link(&reset, &app.url("/reset?token="));
    let r = c.get(&reset_link).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.text().await.unwrap().contains("ana"),
        "the link is for ana's account"
    );

    let bo = member("Bo Lindqvist", "bo@example.test").await;
    let _cy = member("Cy Refused", "cy@example.test").await;
    let _di = member("Di Later", "di@example.test").await;
    let ex = member("Ex Member", "ex@example.test").await;
    let (s, _) = api
        .call(
            M::PATCH,
            &format!("/members/{ex}"),
            Some(json!({"status": "left"})),
        )
        .await;
    assert_eq!(s, 200);
    catcher.refuse("cy@example.test", "550 5.1.1 no such mailbox");
    catcher.refuse("di@example.test", "451 4.3.0 try again later");

    // Two public subscribers confirm; a third never does.
    let home = c.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(
        home.contains("/newsletter/subscribe"),
        "the home page offers the newsletter"
    );
    let csrf = common::csrf_of(&home);
    for email in ["sub@example.test", "sub2@example.test", "never@example.test"] {
        let r = c
            .post(app.url("/newsletter/subscribe"))
            .form(&[("csrf", csrf.as_str()), ("email", email)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let r = c
        .post(app.url("/newsletter/subscribe"))
        .form(&[("csrf", csrf.as_str()), ("email", "not an address")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("not an email address"));
    for email in ["sub@example.test", "sub2@example.test"] {
        let m = catcher
            .wait_for(email, |m| m.text().contains("/newsletter/confirm"))
            .await;
        let confirm = link(&m, &app.url("/newsletter/confirm"));
        let r = c.get(&confirm).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(
            r.text().await.unwrap().contains("Yes, subscribe me"),
            "opening the link only asks"
        );
        let r = c.post(&confirm).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains("You are subscribed"));
    }
    let r = c
        .get(app.url("/newsletter/confirm?token=forged"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // Public news, sent as a newsletter.
    let (s, news) = api
        .call(
            M::POST,
            "/news",
            Some(json!({"title": "Harvest report", "body": "The **harvest** is in: 40 tonnes.", "newsletter": true})),
        )
        .await;
    assert_eq!(s, 201, "{news}");
    let id = news["id"].as_i64().unwrap();
    let mail = catcher
        .wait_for("sub@example.test", |m| {
            m.header("Subject").as_deref() == Some("Harvest report")
        })
        .await;
    let unsubscribe = mail.header("List-Unsubscribe").expect("List-Unsubscribe");
    assert!(
        unsubscribe.starts_with('<') && unsubscribe.ends_with('>'),
        "{unsubscribe}"
    );
    assert_eq!(
        mail.header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    assert!(mail.data.contains("multipart/alternative"), "{}", mail.data);
    assert!(mail.data.contains("text/plain") && mail.data.contains("text/html"));
    assert!(
        mail.text().contains("The **harvest** is in: 40 tonnes."),
        "the plain-text part"
    );
    assert!(mail.text().contains("<strong>harvest</strong>"), "the HTML part");
    for to in ["ana@example.test", "bo@example.test", "sub2@example.test"] {
        catcher
            .wait_for(to, |m| m.header("Subject").as_deref() == Some("Harvest report"))
            .await;
    }

    // Counts: one refused for good, one waiting for its retry.
    let counts = loop {
        let (s, n) = api.call(M::GET, &format!("/news/{id}/newsletter"), None).await;
        assert_eq!(s, 200, "{n}");
        if n["sent"] == 4 && n["failed"] == 1 && n["queued"] == 1 {
            break n;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(
        counts["recipients"], 6,
        "members active with an address, and confirmed subscribers: {counts}"
    );
    assert_eq!(counts["status"], "queued");
    for never in ["ex@example.test", "never@example.test"] {
        assert!(
            catcher
                .to(never)
                .iter()
                .all(|m| m.header("Subject").as_deref() != Some("Harvest report")),
            "{never} is not on the list"
        );
    }
    // The retry, when its time comes.
    catcher.accept("di@example.test");
    intercoop::service::mail::send_due(&app.ctx, intercoop::db::now() + chrono::Duration::minutes(2))
        .await
        .unwrap();
    catcher
        .wait_for("di@example.test", |m| {
            m.header("Subject").as_deref() == Some("Harvest report")
        })
        .await;
    let (_, n) = api.call(M::GET, "/newsletters", None).await;
    assert_eq!(n[0]["sent"], 5, "{n}");
    assert_eq!(n[0]["failed"], 1);
    assert_eq!(n[0]["queued"], 0);
    let admin_web = common::login(&app, common::ADMIN, common::PASSWORD).await;
    let page = admin_web
        .get(app.url("/admin/newsletters"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Harvest report") && page.contains("<td>5</td><td>1</td><td>0</td>"),
        "{page}"
    );
    let (s, again) = api.call(M::POST, &format!("/news/{id}/newsletter"), None).await;
    assert_eq!(s, 409, "each item goes out once: {again}");

    // One-click unsubscribe, as a mail client does it: no cookie, no form.
    let url = unsubscribe.trim_start_matches('<').trim_end_matches('>');
    let forged = url.replace("&t=", "&t=x");
    let bare = reqwest::Client::new();
    let r = bare
        .post(&forged)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "a forged link unsubscribes nobody");
    let r = bare.get(url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.text().await.unwrap().contains("Unsubscribe"),
        "opening the link only asks"
    );
    let r = bare
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Members-only news: to members only. The unsubscribed address gets nothing.
    let (s, news) = api
        .call(
            M::POST,
            "/news",
            Some(json!({"title": "Members meeting", "body": "Agenda inside.", "visibility": "members", "newsletter": true})),
        )
        .await;
    assert_eq!(s, 201, "{news}");
    catcher
        .wait_for("bo@example.test", |m| {
            m.header("Subject").as_deref() == Some("Members meeting")
        })
        .await;
    let id2 = news["id"].as_i64().unwrap();
    let n = loop {
        let (_, n) = api.call(M::GET, &format!("/news/{id2}/newsletter"), None).await;
        if n["queued"] == 0 && n["status"] == "queued" {
            break n;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(n["audience"], "members");
    assert_eq!(n["recipients"], 4, "ana, bo, cy, di: {n}");
    for outsider in ["sub@example.test", "sub2@example.test"] {
        assert!(
            catcher
                .to(outsider)
                .iter()
                .all(|m| m.header("Subject").as_deref() != Some("Members meeting")),
            "{outsider} gets no members-only news"
        );
    }
    let _ = bo;
    app.stop().await;

    // Without an SMTP server, the newsletter is refused and says what to set.
    let plain = TestApp::with_coop(backend).await;
    let api = Api::new(&plain).await;
    let (s, e) = api
        .call(
            M::POST,
            "/news",
            Some(json!({"title": "No mail here", "body": "x", "newsletter": true})),
        )
        .await;
    assert_eq!(s, 409, "{e}");
    assert!(e["detail"].as_str().unwrap().contains("smtp_host"), "{e}");
    let (s, list) = api.call(M::GET, "/news", None).await;
    assert_eq!(s, 200);
    assert!(
        !list.to_string().contains("No mail here"),
        "nothing was published half-way"
    );
    plain.stop().await;
}
