//! The JSON API: bearer-token authentication, roles and errors.

mod common;

use common::{Backend, TestApp, ADMIN, PASSWORD};
use intercoop::service::accounts::{self, NewAccount};
use intercoop::service::types::UserRole;

both_backends!(tokens_authenticate, admin_updates_coop_through_the_api);

async fn tokens_authenticate(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let c = reqwest::Client::new();

    let none = c.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(none.status(), 401);
    assert!(none.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    let body: serde_json::Value = none.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized");
    assert!(body["detail"].as_str().unwrap().contains("create-token"));

    let wrong = c
        .get(app.url("/api/v1/me"))
        .bearer_auth("icp_madeup")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let token = accounts::create_api_token(&app.ctx, ADMIN, "phone app")
        .await
        .unwrap();
    assert!(token.starts_with("icp_"));
    let me: serde_json::Value = c
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], ADMIN);
    assert_eq!(me["role"], "admin");

    // The token is stored hashed: the plain value is nowhere in the database.
    let mut conn = app.ctx.db.conn().await.unwrap();
    let tokens = intercoop::db::queries::accounts::list_api_tokens(&mut conn, me["id"].as_i64().unwrap())
        .await
        .unwrap();
    assert_eq!(tokens.len(), 1);
    assert_ne!(tokens[0].token_hash, token);
    assert!(tokens[0].last_used_at.is_some());

    // A revoked token stops working.
    intercoop::db::queries::accounts::revoke_api_token(&mut conn, tokens[0].user_id, tokens[0].id)
        .await
        .unwrap();
    let revoked = c
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 401);

    // A session cookie is not an API credential.
    let browser = common::login(&app, ADMIN, PASSWORD).await;
    assert_eq!(
        browser.get(app.url("/api/v1/me")).send().await.unwrap().status(),
        401
    );
}

async fn admin_updates_coop_through_the_api(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let c = reqwest::Client::new();
    accounts::create_user(
        &app.ctx,
        NewAccount {
            username: "eve".into(),
            email: None,
            display_name: String::new(),
            password: PASSWORD.into(),
            role: UserRole::Editor,
        },
    )
    .await
    .unwrap();
    let admin = accounts::create_api_token(&app.ctx, ADMIN, "script")
        .await
        .unwrap();
    let editor = accounts::create_api_token(&app.ctx, "eve", "script")
        .await
        .unwrap();

    let public: serde_json::Value = c
        .get(app.url("/api/v1/coop"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(public["handle"], "tea");
    assert_eq!(public["name"], "Tea Growers");

    let forbidden = c
        .patch(app.url("/api/v1/coop"))
        .bearer_auth(&editor)
        .json(&serde_json::json!({"name": "Taken over"}))
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), 403);
    assert_eq!(
        c.get(app.url("/api/v1/users"))
            .bearer_auth(&editor)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );

    let malformed = c
        .patch(app.url("/api/v1/coop"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let e: serde_json::Value = malformed.json().await.unwrap();
    assert_eq!(e["error"], "bad_request");

    let wrong_type = c
        .patch(app.url("/api/v1/coop"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"name": 42}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), 422);

    let invalid = c
        .patch(app.url("/api/v1/coop"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"latitude": 200, "longitude": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), 422);
    let e: serde_json::Value = invalid.json().await.unwrap();
    assert!(e["detail"].as_str().unwrap().contains("between -90 and 90"));

    // A partial update changes only the fields sent.
    let ok = c
        .patch(app.url("/api/v1/coop"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"summary": "Fair tea.", "latitude": -0.37, "longitude": 35.28, "languages": ["en", "sw"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let updated: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(updated["name"], "Tea Growers");
    assert_eq!(updated["summary"], "Fair tea.");
    assert_eq!(updated["latitude"], -0.37);
    assert_eq!(updated["languages"], serde_json::json!(["en", "sw"]));

    let users: serde_json::Value = c
        .get(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(users.as_array().unwrap().len(), 2);
    assert!(users[0].get("password_hash").is_none());
}
