//! Accounts on the web: changing one's password and display name, seeing
//! and ending sessions, and admins adding users (with a one-time password
//! link), changing roles, deactivating and sending a new password link.

mod common;

use common::{client, csrf_of, login, Backend, TestApp, ADMIN, PASSWORD};

both_backends!(own_account, admins_manage_users, the_last_admin_survives_a_race);

async fn get(c: &reqwest::Client, url: &str) -> (u16, String) {
    let r = c.get(url).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn post(c: &reqwest::Client, url: &str, form: &[(&str, &str)]) -> (u16, String, String) {
    let r = c.post(url).form(form).send().await.unwrap();
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, location, r.text().await.unwrap())
}

async fn own_account(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let phone = login(&app, ADMIN, PASSWORD).await;
    let laptop = login(&app, ADMIN, PASSWORD).await;
    let (status, page) = get(&laptop, &app.url("/account")).await;
    assert_eq!(status, 200);
    // The setup's own login, the phone's and the laptop's.
    assert_eq!(
        page.matches("<time datetime=").count(),
        3,
        "every login is listed"
    );
    assert!(page.contains("this browser") && page.contains("Sign out everywhere else"));
    let csrf = csrf_of(&page);

    // Display name.
    let (status, to, _) = post(
        &laptop,
        &app.url("/account/profile"),
        &[("csrf", &csrf), ("display_name", "Alice Wanjiru")],
    )
    .await;
    assert_eq!(status, 303);
    assert!(get(&laptop, &app.url(&to))
        .await
        .1
        .contains("value=\"Alice Wanjiru\""));

    // A wrong current password: the error sits next to its field.
    let new = "a much longer new password";
    let (status, _, page) = post(
        &laptop,
        &app.url("/account/password"),
        &[
            ("csrf", &csrf),
            ("current_password", "not it at all"),
            ("password", new),
            ("password_confirm", new),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("id=\"current_password\" name=\"current_password\" type=\"password\" required autocomplete=\"current-password\" aria-invalid=\"true\" aria-describedby=\"current_password-error\""));
    assert!(page.contains("id=\"current_password-error\">The current password is not right"));
    // Mismatched confirmation.
    let (status, _, page) = post(
        &laptop,
        &app.url("/account/password"),
        &[
            ("csrf", &csrf),
            ("current_password", PASSWORD),
            ("password", new),
            ("password_confirm", "something else!"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("id=\"password_confirm-error\""));
    // Right: changed; the other session ends, this one stays.
    let (status, to, _) = post(
        &laptop,
        &app.url("/account/password"),
        &[
            ("csrf", &csrf),
            ("current_password", PASSWORD),
            ("password", new),
            ("password_confirm", new),
        ],
    )
    .await;
    assert_eq!(status, 303);
    assert!(get(&laptop, &app.url(&to))
        .await
        .1
        .contains("Your password is changed"));
    let (status, _) = {
        let r = phone.get(app.url("/account")).send().await.unwrap();
        (r.status().as_u16(), ())
    };
    assert_eq!(status, 303, "the phone's session ended");
    let again = login(&app, ADMIN, new).await;
    assert_eq!(get(&again, &app.url("/account")).await.0, 200);

    // Ending the other sessions from the account page.
    let page = get(&again, &app.url("/account")).await.1;
    let (status, _, _) = post(
        &again,
        &app.url("/account/sessions/end-others"),
        &[("csrf", &csrf_of(&page))],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(
        laptop.get(app.url("/account")).send().await.unwrap().status(),
        303
    );
    assert_eq!(get(&again, &app.url("/account")).await.0, 200);
}

async fn admins_manage_users(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let admin = login(&app, ADMIN, PASSWORD).await;
    let page = get(&admin, &app.url("/admin/users")).await.1;
    let csrf = csrf_of(&page);

    // Add Dora as an editor: the page gives a one-time link.
    let (status, _, page) = post(
        &admin,
        &app.url("/admin/users"),
        &[
            ("csrf", &csrf),
            ("username", "dora"),
            ("email", "dora@example.org"),
            ("role", "editor"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(page.contains("dora was added"), "{page}");
    let link = page
        .split("<code>")
        .nth(1)
        .and_then(|s| s.split("</code>").next())
        .unwrap()
        .to_string();
    let path = link.trim_start_matches(&app.base).to_string();
    assert!(path.starts_with("/reset?token="));

    // Dora sets her password through it and is logged in.
    let dora = client();
    let (status, form) = get(&dora, &app.url(&path)).await;
    assert_eq!(status, 200);
    assert!(form.contains("for the account dora"));
    let token = path.trim_start_matches("/reset?token=");
    let dora_password = "dora's own long password";
    let (status, to, _) = post(
        &dora,
        &app.url("/reset"),
        &[
            ("csrf", &csrf_of(&form)),
            ("token", token),
            ("password", dora_password),
            ("password_confirm", dora_password),
        ],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(to, "/account");
    assert!(get(&dora, &app.url("/account"))
        .await
        .1
        .contains("<strong>dora</strong> · editor"));
    // The link works once.
    assert_eq!(get(&client(), &app.url(&path)).await.0, 404);

    // Dora may write but not manage users.
    assert_eq!(get(&dora, &app.url("/admin/users")).await.0, 403);

    // Role change on the web.
    let users = intercoop::service::accounts::list_users(&app.ctx).await.unwrap();
    let dora_id = users.iter().find(|u| u.username == "dora").unwrap().id;
    let alice_id = users.iter().find(|u| u.username == ADMIN).unwrap().id;
    let (status, to, _) = post(
        &admin,
        &app.url(&format!("/admin/users/{dora_id}/role")),
        &[("csrf", &csrf), ("role", "moderator")],
    )
    .await;
    assert_eq!(status, 303);
    assert!(get(&admin, &app.url(&to))
        .await
        .1
        .contains("dora is now moderator"));
    // The only admin cannot demote themselves.
    let (status, _, page) = post(
        &admin,
        &app.url(&format!("/admin/users/{alice_id}/role")),
        &[("csrf", &csrf), ("role", "member")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("only admin"));

    // Deactivate: asks first; then Dora is logged out and cannot log in.
    let (status, _, page) = post(
        &admin,
        &app.url(&format!("/admin/users/{dora_id}/disable")),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, 200);
    assert!(page.contains("Deactivate dora?"));
    let (status, _, _) = post(
        &admin,
        &app.url(&format!("/admin/users/{dora_id}/disable")),
        &[("csrf", &csrf), ("confirm", "yes")],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(dora.get(app.url("/account")).send().await.unwrap().status(), 303);
    assert!(matches!(
        intercoop::service::accounts::log_in(&app.ctx, "dora", dora_password, None, "198.51.100.7").await,
        Err(intercoop::service::ServiceError::Forbidden(_))
    ));
    // A new password link for someone: shown once, to give them.
    let (status, _, page) = post(
        &admin,
        &app.url(&format!("/admin/users/{alice_id}/reset")),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, 200);
    assert!(page.contains("One-time link for alice"));
}

/// Two admins demoting each other at the same moment: one of them stays
/// admin (on PostgreSQL the admin rows are locked while counting).
async fn the_last_admin_survives_a_race(backend: Backend) {
    use intercoop::service::accounts as acc;
    use intercoop::service::types::UserRole;
    use intercoop::service::Caller;
    let app = TestApp::with_coop(backend).await;
    for round in 0..5 {
        let bob = acc::create_user(
            &app.ctx,
            acc::NewAccount {
                username: format!("bob{round}"),
                email: None,
                display_name: String::new(),
                password: "a long enough password".into(),
                role: UserRole::Admin,
            },
        )
        .await
        .unwrap();
        let alice = acc::list_users(&app.ctx)
            .await
            .unwrap()
            .into_iter()
            .find(|u| u.role == "admin" && u.id != bob.id)
            .unwrap();
        let (as_alice, as_bob) = (Caller::for_user(&alice), Caller::for_user(&bob));
        let (a, b) = tokio::join!(
            acc::admin_set_role(&app.ctx, &as_alice, bob.id, UserRole::Member),
            acc::admin_set_role(&app.ctx, &as_bob, alice.id, UserRole::Member),
        );
        let admins = acc::list_users(&app.ctx)
            .await
            .unwrap()
            .into_iter()
            .filter(|u| u.role == "admin" && !u.disabled)
            .count();
        assert!(
            admins >= 1,
            "round {round}: no admin left ({:?}, {:?})",
            a.is_ok(),
            b.is_ok()
        );
        // Put things back for the next round: whoever is still admin promotes the other.
        let users = acc::list_users(&app.ctx).await.unwrap();
        let admin = users.iter().find(|u| u.role == "admin").unwrap().clone();
        for u in users.iter().filter(|u| u.role != "admin") {
            acc::admin_set_role(&app.ctx, &Caller::for_user(&admin), u.id, UserRole::Admin)
                .await
                .unwrap();
        }
        acc::admin_set_role(&app.ctx, &Caller::for_user(&admin), bob.id, UserRole::Member)
            .await
            .unwrap();
    }
}
