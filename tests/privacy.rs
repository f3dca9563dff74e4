//! A member's own data on both databases, over real HTTP with a scripted
//! peer: the export holds their record, what they wrote, their messages
//! and the ActivityPub outbox of what their Person sent; deleting the
//! account takes the password, removes what they wrote, ends their
//! sessions and tokens, and federates a signed `Delete` of their Person.

mod common;

use common::peer::Peer;
use common::{Api, Backend, TestApp, PASSWORD};
use reqwest::Method as M;
use serde_json::json;

both_backends!(members_export_and_delete_their_data);

async fn members_export_and_delete_their_data(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let api = Api::new(&app).await;
    let (_, ana_web) = common::member(&api, "Ana Sousa", "ana").await;
    let ana = Api::for_user(&app, "ana").await;
    // A fediverse friend of Ana's, who also follows the co-op.
    let peer = Peer::start().await;
    let follow = json!({"@context": "https://www.w3.org/ns/activitystreams", "id": peer.id("follow"),
                        "type": "Follow", "actor": peer.actor, "object": app.url("/actors/tea")});
    assert_eq!(peer.send(&app, "/inbox", &follow, false).await, 202);
    let (status, sent) = ana
        .call(
            M::POST,
            "/messages",
            Some(json!({"to": [peer.actor], "text": "Our **honey** is ready"})),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    peer.wait_for("Create", |c| {
        c["object"]["content"].as_str().unwrap_or("").contains("honey")
    })
    .await;

    // The export: account, record, message, and the outbox as sent.
    let (status, data) = ana.call(M::GET, "/account/export", None).await;
    assert_eq!(status, 200, "{data}");
    assert_eq!(data["account"]["username"], "ana");
    assert_eq!(data["member"]["name"], "Ana Sousa");
    assert_eq!(data["account"]["fediverse_actor"], app.url("/users/ana"));
    assert!(
        data["messages"][0]["content_html"]
            .as_str()
            .unwrap()
            .contains("<strong>honey</strong>"),
        "{data}"
    );
    assert_eq!(data["messages"][0]["sent"], true);
    let outbox = &data["outbox"];
    assert_eq!(outbox["type"], "OrderedCollection");
    assert!(
        outbox["orderedItems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["type"] == "Create" && a["object"]["content"].as_str().unwrap_or("").contains("honey")),
        "{outbox}"
    );
    // The web gives the same as a file.
    let r = ana_web.get(app.url("/account/export")).send().await.unwrap();
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("ana-data.json"));
    assert!(r.text().await.unwrap().contains("Ana Sousa"));

    // What the account had of its own: a notice and a block.
    let (s, _) = api
        .call(
            M::POST,
            "/messages",
            Some(json!({"to": ["ana"], "text": "Hello"})),
        )
        .await;
    assert_eq!(s, 201);
    let (s, e) = ana
        .call(M::POST, "/account/blocks", Some(json!({"account": peer.actor})))
        .await;
    assert_eq!(s, 204, "{e}");
    let own_rows = |app: &TestApp| {
        let db = app.ctx.db.clone();
        async move {
            use diesel::prelude::*;
            use diesel_async::RunQueryDsl;
            use intercoop::db::schema::{member_blocks, notifications, users};
            let mut conn = db.conn().await.unwrap();
            let ana: i64 = intercoop::q!(&mut conn, |c| users::table
                .filter(users::username.eq("ana"))
                .select(users::id)
                .first(c)
                .await)
            .unwrap();
            let n: i64 = intercoop::q!(&mut conn, |c| notifications::table
                .filter(notifications::user_id.eq(ana))
                .count()
                .get_result(c)
                .await)
            .unwrap();
            let b: i64 = intercoop::q!(&mut conn, |c| member_blocks::table
                .filter(member_blocks::user_id.eq(ana))
                .count()
                .get_result(c)
                .await)
            .unwrap();
            (n, b)
        }
    };
    assert_eq!(own_rows(&app).await, (1, 1));

    // Deleting: a wrong password changes nothing.
    let page = ana_web
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = common::csrf_of(&page);
    let r = ana_web
        .post(app.url("/account/delete"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("password", "not it"),
            ("content", "remove"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("The password is wrong"));
    assert_eq!(ana.call(M::GET, "/account/export", None).await.0, 200);
    let r = ana_web
        .post(app.url("/account/delete"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("password", PASSWORD),
            ("content", "remove"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(own_rows(&app).await, (0, 0), "her notices and blocks are gone");

    // Other servers are told, by the Person itself.
    let delete = peer
        .wait_for("Delete", |d| d["object"] == app.url("/users/ana"))
        .await;
    assert_eq!(delete["actor"], app.url("/users/ana"), "{delete}");
    // Her session, token and login are gone; her Person is not served.
    assert_eq!(ana.call(M::GET, "/account/export", None).await.0, 401);
    let r = ana_web.get(app.url("/account")).send().await.unwrap();
    assert_eq!(r.status(), 303, "logged out");
    let r = common::client()
        .get(app.url("/users/ana"))
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let web = common::client();
    let login = web
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = web
        .post(app.url("/login"))
        .form(&[
            ("csrf", common::csrf_of(&login).as_str()),
            ("username", "ana"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The register keeps the co-op's record, without the account; the
    // audit log has the deletion.
    let (_, members) = api.call(M::GET, "/members", None).await;
    let record = members
        .as_array()
        .or_else(|| members["items"].as_array())
        .unwrap()
        .iter()
        .find(|m| m["name"] == "Ana Sousa")
        .cloned()
        .unwrap_or_else(|| panic!("{members}"));
    assert!(
        record["user_id"].is_null() || record.get("has_account") == Some(&json!(false)),
        "{record}"
    );
    // The account cannot be brought back, nor its name taken again (with
    // it the fediverse address of the deleted Person).
    let users = intercoop::service::accounts::list_users(&app.ctx).await.unwrap();
    let shell = users
        .iter()
        .find(|u| u.username == "ana")
        .expect("the name stays reserved");
    assert!(shell.disabled && shell.email.is_none() && shell.display_name.is_empty());
    assert!(
        intercoop::service::accounts::admin_set_disabled(&app.ctx, &common::admin(), shell.id, false)
            .await
            .is_err()
    );
    assert!(
        intercoop::service::accounts::admin_reset_link(&app.ctx, &common::admin(), shell.id)
            .await
            .is_err()
    );
    let again = common::new_user(&app, "ana", intercoop::service::types::UserRole::Member).await;
    assert!(again.is_err(), "the name of a deleted account is not given out");
    let (_, audit) = api.call(M::GET, "/audit?action=user.delete_self", None).await;
    assert_eq!(audit.as_array().unwrap().len(), 1, "{audit}");
    app.stop().await;
}
