//! Two-factor authentication over real HTTP: an admin enrols an
//! authenticator (the code computed here from the key the page shows, as
//! an app would), logs in with password and code, a code works once, and
//! once the co-op requires it of admins an admin without it acts as a
//! member on the web and through the API until they set it up.

mod common;

use common::{Api, Backend, TestApp, ADMIN, PASSWORD};
use intercoop::crypto::{base32_decode, totp_code};
use reqwest::Method as M;

both_backends!(admins_log_in_with_a_second_factor);

/// The code an authenticator app shows at a 30-second `step`.
fn code(secret: &str, step: u64) -> String {
    format!("{:06}", totp_code(&base32_decode(secret).unwrap(), step))
}

async fn login_form(app: &TestApp, username: &str, code: Option<&str>) -> reqwest::Response {
    let web = common::client();
    let page = web
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut form = vec![
        ("csrf", common::csrf_of(&page)),
        ("username", username.to_string()),
        ("password", PASSWORD.to_string()),
    ];
    if let Some(c) = code {
        form.push(("code", c.to_string()));
    }
    web.post(app.url("/login")).form(&form).send().await.unwrap()
}

async fn admins_log_in_with_a_second_factor(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let api = Api::new(&app).await;
    let alice = common::login(&app, ADMIN, PASSWORD).await;
    let page = alice
        .get(app.url("/account/2fa"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Two-factor authentication is off."), "{page}");
    let r = alice
        .post(app.url("/account/2fa/start"))
        .form(&[
            ("csrf", common::csrf_of(&page)),
            ("password", PASSWORD.to_string()),
        ])
        .send()
        .await
        .unwrap();
    let page = r.text().await.unwrap();
    let secret = page
        .split("<code id=\"secret\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap_or_else(|| panic!("no key shown: {page}"))
        .to_string();
    assert!(page.contains("otpauth://totp/"), "{page}");
    // Codes are taken from one step, so a 30-second edge cannot change them.
    let step = chrono::Utc::now().timestamp() as u64 / 30;
    let csrf = common::csrf_of(&page);
    let r = alice
        .post(app.url("/account/2fa/confirm"))
        .form(&[("csrf", csrf.clone()), ("code", "000000".into())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "a wrong code does not turn it on");
    let r = alice
        .post(app.url("/account/2fa/confirm"))
        .form(&[("csrf", csrf), ("code", code(&secret, step))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);

    // The password alone no longer logs in: the page asks for the code.
    let r = login_form(&app, ADMIN, None).await;
    assert_eq!(r.status(), 401);
    let page = r.text().await.unwrap();
    assert!(page.contains("name=\"code\""), "{page}");
    assert!(page.contains("6-digit code"), "{page}");
    // The code already spent at enrolment does not work again; the next one does, once.
    let used = code(&secret, step);
    assert_eq!(login_form(&app, ADMIN, Some(&used)).await.status(), 401);
    let next = code(&secret, step + 1);
    assert_eq!(login_form(&app, ADMIN, Some(&next)).await.status(), 303);
    let replay = login_form(&app, ADMIN, Some(&next)).await;
    assert_eq!(replay.status(), 401);
    assert!(replay.text().await.unwrap().contains("used already"));

    // A second admin without it; the co-op then requires it of admins.
    common::new_user(&app, "bob", intercoop::service::types::UserRole::Admin)
        .await
        .unwrap();
    let bob_api = Api::for_user(&app, "bob").await;
    assert_eq!(bob_api.call(M::GET, "/members", None).await.0, 200);
    let bob = common::login(&app, "bob", PASSWORD).await;
    let users = bob
        .get(app.url("/admin/users"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // Bob cannot require what he does not use himself.
    let r = bob
        .post(app.url("/admin/users/require-2fa"))
        .form(&[("csrf", common::csrf_of(&users)), ("on", "yes".into())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("own account first"));
    let users = alice
        .get(app.url("/admin/users"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = alice
        .post(app.url("/admin/users/require-2fa"))
        .form(&[("csrf", common::csrf_of(&users)), ("on", "yes".into())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);

    // Now Bob acts as a member until he sets it up.
    assert_eq!(
        bob.get(app.url("/admin/members")).send().await.unwrap().status(),
        403
    );
    assert_eq!(bob_api.call(M::GET, "/members", None).await.0, 403);
    let r = login_form(&app, "bob", None).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/account/2fa", "sent to set it up");
    let page = bob
        .get(app.url("/account/2fa"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("acts as a member"), "{page}");
    // Alice cannot turn hers off while it is required.
    let page = alice
        .get(app.url("/account/2fa"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = alice
        .post(app.url("/account/2fa/disable"))
        .form(&[
            ("csrf", common::csrf_of(&page)),
            ("password", PASSWORD.into()),
            ("code", code(&secret, step + 1)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    // Each step is in the audit log.
    let (_, audit) = api.call(M::GET, "/audit?action=", None).await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"user.totp_on"), "{actions:?}");
    assert!(actions.contains(&"settings.require_admin_totp"), "{actions:?}");
    app.stop().await;
}
