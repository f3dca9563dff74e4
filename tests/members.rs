//! The member register end to end on both databases: the API (admins
//! only, every field checked), the CSV export, invitations that set up an
//! account, and a status that rules the account.

mod common;

use common::{Backend, TestApp, ADMIN, PASSWORD};
use intercoop::service::accounts;
use serde_json::{json, Value};

both_backends!(
    directory_shows_what_members_chose,
    applications_are_approved_or_declined,
    csv_round_trip_with_a_bad_row,
    register_through_the_api,
    invitation_makes_an_account,
    secretary_uses_the_web_pages
);

/// The secretary adds a member on the web, sees the record and makes an
/// invitation link; a bad phone number is shown next to its field.
async fn secretary_uses_the_web_pages(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let c = common::login(&app, ADMIN, PASSWORD).await;
    let page = c
        .get(app.url("/admin/members"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Add a member"));
    let csrf = common::csrf_of(&page);
    let bad = c
        .post(app.url("/admin/members"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "Cai"),
            ("phone", "12"),
            ("status", "active"),
            ("role", "member"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let html = bad.text().await.unwrap();
    assert!(
        html.contains("international form"),
        "the phone's message is shown"
    );
    assert!(html.contains("value=\"Cai\""), "what was typed is kept");
    let r = c
        .post(app.url("/admin/members"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "Cai Jones"),
            ("member_number", "7"),
            ("phone", "+33 6 12 34 56 78"),
            ("status", "applicant"),
            ("role", "member"),
            ("groups", "Board"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let record_url = app.url(r.headers()["location"].to_str().unwrap());
    let record = c.get(&record_url).send().await.unwrap().text().await.unwrap();
    assert!(
        record.contains("Cai Jones") && record.contains("+33612345678"),
        "{record}"
    );
    let id = record_url
        .split("/admin/members/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let invited = c
        .post(app.url(&format!("/admin/members/{id}/invite")))
        .form(&[("csrf", common::csrf_of(&record).as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(invited.contains(&app.url("/join/")), "the link is shown once");
    let list = c
        .get(app.url("/admin/members?q=cai"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains("Cai Jones"));
    let csv = c
        .get(app.url("/admin/members.csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains("7,Cai Jones"), "{csv}");
}

async fn call(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(method, app.url(&format!("/api/v1{path}")))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn register_through_the_api(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let token = accounts::create_api_token(&app.ctx, ADMIN, "test").await.unwrap();
    use reqwest::Method as M;

    let (status, ana) = call(
        &app,
        &token,
        M::POST,
        "/members",
        Some(
            json!({"name": "Ana Souza", "member_number": "0042", "email": "ana@example.org",
                    "phone": "+44 7700 900123", "status": "active", "role": "member"}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{ana}");
    assert_eq!(ana["phone"], "+447700900123", "stored in E.164");
    assert_eq!(ana["has_account"], false);
    let id = ana["id"].as_i64().unwrap();

    // Every bad field at once, each named.
    let (status, bad) = call(
        &app,
        &token,
        M::POST,
        "/members",
        Some(json!({"name": "", "member_number": "0042", "email": "not an email",
                    "phone": "07700 900123", "status": "honorary", "role": "king", "joined_on": "31/03/2024"})),
    )
    .await;
    assert_eq!(status, 422, "{bad}");
    let fields: Vec<&str> = bad["fields"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for f in [
        "name",
        "member_number",
        "email",
        "phone",
        "status",
        "role",
        "joined_on",
    ] {
        assert!(fields.contains(&f), "{f} is reported: {bad}");
    }
    let (status, _) = call(
        &app,
        &token,
        M::POST,
        "/members",
        Some(json!({"name": "X", "shoe_size": 42})),
    )
    .await;
    assert_eq!(status, 422, "unknown fields are refused");

    // PATCH changes what it names; null clears an optional field.
    let (status, patched) = call(
        &app,
        &token,
        M::PATCH,
        &format!("/members/{id}"),
        Some(json!({"status": "suspended", "email": null, "groups": "Board\nHarvest team"})),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["status"], "suspended");
    assert_eq!(patched["email"], Value::Null);
    assert_eq!(patched["member_number"], "0042", "untouched fields stay");
    assert_eq!(patched["groups"], json!(["Board", "Harvest team"]));

    // Search and filter.
    call(
        &app,
        &token,
        M::POST,
        "/members",
        Some(json!({"name": "=HYPERLINK(\"http://x\")", "status": "applicant"})),
    )
    .await;
    let (_, found) = call(&app, &token, M::GET, "/members?q=souza", None).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    let (_, applicants) = call(&app, &token, M::GET, "/members?status=applicant", None).await;
    assert_eq!(applicants["items"].as_array().unwrap().len(), 1);

    // CSV: one row per member; formulas (and a leading +, which a
    // spreadsheet reads as one) are defused with a quote mark.
    let csv = reqwest::Client::new()
        .get(app.url("/api/v1/members/export.csv"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.starts_with("member_number,name,email,phone,joined_on,status,role,groups,notes\r\n"));
    assert!(
        csv.contains("0042,Ana Souza,,'+447700900123,,suspended,member,Board; Harvest team,"),
        "{csv}"
    );
    assert!(csv.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{csv}");

    // Members of lower roles see nothing of the register.
    accounts::create_user(
        &app.ctx,
        accounts::NewAccount {
            username: "ed".into(),
            email: None,
            display_name: "Ed".into(),
            password: PASSWORD.into(),
            role: intercoop::service::types::UserRole::Editor,
        },
    )
    .await
    .unwrap();
    let ed = accounts::create_api_token(&app.ctx, "ed", "test").await.unwrap();
    for (m, path) in [
        (M::GET, "/members".to_string()),
        (M::GET, format!("/members/{id}")),
        (M::DELETE, format!("/members/{id}")),
    ] {
        let (status, _) = call(&app, &ed, m, &path, None).await;
        assert_eq!(status, 403, "{path}");
    }
    let anonymous = common::client()
        .get(app.url("/admin/members"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 303, "the register page needs a login");
    let csv = common::client()
        .get(app.url("/admin/members.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 303, "so does its CSV");

    let (status, _) = call(&app, &token, M::DELETE, &format!("/members/{id}"), None).await;
    assert_eq!(status, 204);
    let (status, _) = call(&app, &token, M::GET, &format!("/members/{id}"), None).await;
    assert_eq!(status, 404);

    // Each change is in the audit log.
    let mut conn = app.ctx.db.conn().await.unwrap();
    let actions: Vec<String> = intercoop::db::queries::accounts::recent_audit(&mut conn, 50)
        .await
        .unwrap()
        .into_iter()
        .map(|(action, _)| action)
        .collect();
    for a in ["member.create", "member.update", "member.delete"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}

async fn invitation_makes_an_account(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let token = accounts::create_api_token(&app.ctx, ADMIN, "test").await.unwrap();
    use reqwest::Method as M;
    let (_, bea) = call(
        &app,
        &token,
        M::POST,
        "/members",
        Some(
            json!({"name": "Bea Lind", "status": "applicant", "role": "editor", "email": "bea@example.org"}),
        ),
    )
    .await;
    let id = bea["id"].as_i64().unwrap();
    let (status, inv) = call(&app, &token, M::POST, &format!("/members/{id}/invitations"), None).await;
    assert_eq!(status, 201, "{inv}");
    let url = inv["url"].as_str().unwrap().to_string();

    // The invited person sets up their account on the web and is logged in.
    let c = common::client();
    let page = c.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Bea Lind"), "{page}");
    let r = c
        .post(&url)
        .form(&[
            ("csrf", common::csrf_of(&page).as_str()),
            ("username", "bea"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let account = c.get(app.url("/account")).send().await.unwrap();
    assert_eq!(account.status(), 200, "logged in after joining");
    let (_, record) = call(&app, &token, M::GET, &format!("/members/{id}"), None).await;
    assert_eq!(record["has_account"], true);
    assert_eq!(record["status"], "active", "an applicant who joins is active");
    let user = accounts::list_users(&app.ctx)
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.username == "bea")
        .unwrap();
    assert_eq!(user.role, "editor", "the account takes the member's role");

    // The code works once.
    let again = common::client().get(&url).send().await.unwrap();
    assert_eq!(again.status(), 404);
    let (status, _) = call(&app, &token, M::POST, &format!("/members/{id}/invitations"), None).await;
    assert_eq!(status, 409, "a member with an account gets no invitation");

    // Suspended: the account is deactivated and its sessions end.
    let (status, _) = call(
        &app,
        &token,
        M::PATCH,
        &format!("/members/{id}"),
        Some(json!({"status": "suspended"})),
    )
    .await;
    assert_eq!(status, 200);
    let after = c.get(app.url("/account")).send().await.unwrap();
    assert_ne!(after.status(), 200, "a suspended member's session ends");
    let login = accounts::log_in(&app.ctx, "bea", PASSWORD, None, "127.0.0.1").await;
    assert!(login.is_err(), "and they cannot log in");
    let (status, _) = call(
        &app,
        &token,
        M::PATCH,
        &format!("/members/{id}"),
        Some(json!({"status": "active"})),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        accounts::log_in(&app.ctx, "bea", PASSWORD, None, "127.0.0.1")
            .await
            .is_ok(),
        "active again"
    );

    // The last admin cannot be demoted through the register.
    let (_, admin_record) = call(
        &app,
        &token,
        M::POST,
        "/members",
        Some(json!({"name": "Admin", "role": "admin"})),
    )
    .await;
    let admin_id = admin_record["id"].as_i64().unwrap();
    let mut conn = app.ctx.db.conn().await.unwrap();
    intercoop::db::queries::members::set_user(&mut conn, admin_id, 1)
        .await
        .unwrap();
    drop(conn);
    let (status, body) = call(
        &app,
        &token,
        M::PATCH,
        &format!("/members/{admin_id}"),
        Some(json!({"role": "member"})),
    )
    .await;
    assert_eq!(status, 409, "{body}");
}

/// POSTs CSV to the import route.
async fn import(app: &TestApp, token: &str, mode: &str, csv: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(app.url(&format!("/api/v1/members/import?mode={mode}")))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

/// The export read back by the import: existing members are updated, not
/// doubled, the quote that defused a phone's `+` is taken off again, and a
/// bad row is reported with its line and field; nothing is written until
/// every row is good, unless the admin imports the good rows only.
async fn csv_round_trip_with_a_bad_row(backend: Backend) {
    use reqwest::Method as M;
    let app = TestApp::with_coop(backend).await;
    let token = accounts::create_api_token(&app.ctx, ADMIN, "test").await.unwrap();
    for body in [
        json!({"name": "Ana Souza", "member_number": "1", "phone": "+44 7700 900123", "groups": "Board\nHarvest"}),
        json!({"name": "Bo Li", "member_number": "2", "email": "bo@example.org"}),
    ] {
        let (status, m) = call(&app, &token, M::POST, "/members", Some(body)).await;
        assert_eq!(status, 201, "{m}");
    }
    let exported = reqwest::Client::new()
        .get(app.url("/api/v1/members/export.csv"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(exported.contains("'+447700900123"), "{exported}");
    // The secretary adds two rows in the spreadsheet, one with a bad phone
    // and a number already used in the file.
    let edited = format!(
        "{exported}3,Cai Jones,cai@example.org,,2025-01-31,active,member,,\r\n,Dee Bad,,12,,active,member,,\r\n3,Eve Again,,,,active,member,,\r\n"
    );
    let (status, preview) = import(&app, &token, "preview", &edited).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["written"], false);
    assert_eq!(
        preview["updated"], 2,
        "the exported members are matched by number: {preview}"
    );
    assert_eq!(preview["created"], 1);
    assert_eq!(preview["refused"], 2);
    let rows = preview["rows"].as_array().unwrap();
    let dee = rows.iter().find(|r| r["name"] == "Dee Bad").unwrap();
    assert_eq!(dee["line"], 5);
    assert_eq!(dee["errors"][0]["field"], "phone", "{dee}");
    let eve = rows.iter().find(|r| r["name"] == "Eve Again").unwrap();
    assert_eq!(
        eve["errors"][0]["field"], "member_number",
        "a number used twice in the file: {eve}"
    );
    let (_, list) = call(&app, &token, M::GET, "/members", None).await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        2,
        "a preview writes nothing"
    );

    let (status, all) = import(&app, &token, "all", &edited).await;
    assert_eq!(status, 422, "{all}");
    assert_eq!(all["written"], false);
    let (_, list) = call(&app, &token, M::GET, "/members", None).await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        2,
        "nothing written while a row is bad"
    );

    let (status, good) = import(&app, &token, "good_rows", &edited).await;
    assert_eq!(status, 200, "{good}");
    assert_eq!(good["written"], true);
    assert_eq!(good["created"], 1);
    let (_, list) = call(&app, &token, M::GET, "/members", None).await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{list}");
    let ana = items.iter().find(|m| m["name"] == "Ana Souza").unwrap();
    assert_eq!(ana["phone"], "+447700900123", "the defusing quote is taken off");
    assert_eq!(ana["groups"], json!(["Board", "Harvest"]));
    let cai = items.iter().find(|m| m["name"] == "Cai Jones").unwrap();
    assert_eq!(cai["joined_on"], "2025-01-31");

    // Not CSV with the register's columns: one clear error, nothing else.
    let (status, bad) = import(&app, &token, "preview", "nom,courriel\r\nAna,a@b\r\n").await;
    assert_eq!(status, 422);
    assert!(
        bad["detail"]
            .as_str()
            .unwrap()
            .contains("Unknown columns: nom, courriel"),
        "{bad}"
    );
    let (status, _) = import(&app, &token, "preview", "name\r\n\"unclosed\r\n").await;
    assert_eq!(status, 422);

    // The secretary's page: a preview of an uploaded file lists the bad row.
    let c = common::login(&app, ADMIN, PASSWORD).await;
    let page = c
        .get(app.url("/admin/members/import"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = reqwest::multipart::Form::new()
        .text("csrf", common::csrf_of(&page))
        .text("mode", "preview")
        .part(
            "file",
            reqwest::multipart::Part::bytes(
                "name,phone\r\nFay,12\r\nGus,+33612345678\r\n".as_bytes().to_vec(),
            )
            .file_name("members.csv"),
        );
    let r = c
        .post(app.url("/admin/members/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("international form"), "{html}");
    assert!(html.contains("Import the good rows only"), "{html}");
    let (_, list) = call(&app, &token, M::GET, "/members", None).await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        3,
        "the page's preview wrote nothing"
    );
    let mut conn = app.ctx.db.conn().await.unwrap();
    let audit = intercoop::db::queries::accounts::recent_audit(&mut conn, 50)
        .await
        .unwrap();
    assert!(audit.iter().any(|(a, _)| a == "member.import"));
}

/// Someone applies on the public form; the secretary approves one
/// application (an invitation link comes with it) and declines another.
async fn applications_are_approved_or_declined(backend: Backend) {
    use reqwest::Method as M;
    let app = TestApp::with_coop(backend).await;
    let token = accounts::create_api_token(&app.ctx, ADMIN, "test").await.unwrap();
    let visitor = common::client();
    let home = visitor
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        home.contains("href=\"/apply\""),
        "the home page leads to the form"
    );
    let page = visitor
        .get(app.url("/apply"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = common::csrf_of(&page);
    let r = visitor
        .post(app.url("/apply"))
        .form(&[("csrf", csrf.as_str()), ("name", "Hal"), ("phone", "12")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("international form") && html.contains("value=\"Hal\""),
        "{html}"
    );
    for (name, email) in [("Hal Berg", "hal@example.org"), ("Ivy Spam", "ivy@example.org")] {
        let r = visitor
            .post(app.url("/apply"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("name", name),
                ("email", email),
                ("message", "I grow tea in the valley."),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(r
            .text()
            .await
            .unwrap()
            .contains("your application is with the co-op"));
    }
    let (_, list) = call(&app, &token, M::GET, "/members?status=applicant", None).await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    let hal = items.iter().find(|m| m["name"] == "Hal Berg").unwrap();
    assert!(hal["notes"].as_str().unwrap().contains("I grow tea"), "{hal}");
    let hal_id = hal["id"].as_i64().unwrap();
    let ivy_id = items.iter().find(|m| m["name"] == "Ivy Spam").unwrap()["id"]
        .as_i64()
        .unwrap();

    // Approving on the record page: active, with an invitation link shown.
    let admin = common::login(&app, ADMIN, PASSWORD).await;
    let record = admin
        .get(app.url(&format!("/admin/members/{hal_id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(record.contains("Approve and make an invitation link"), "{record}");
    let r = admin
        .post(app.url(&format!("/admin/members/{hal_id}/approve")))
        .form(&[("csrf", common::csrf_of(&record).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains(&app.url("/join/")));
    let (_, hal) = call(&app, &token, M::GET, &format!("/members/{hal_id}"), None).await;
    assert_eq!(hal["status"], "active");
    let (status, _) = call(&app, &token, M::POST, &format!("/members/{hal_id}/approve"), None).await;
    assert_eq!(status, 409, "approved once");

    // Declining asks first, then removes the record.
    let r = admin
        .post(app.url(&format!("/admin/members/{ivy_id}/decline")))
        .form(&[("csrf", common::csrf_of(&record).as_str())])
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("Decline Ivy Spam"));
    let r = admin
        .post(app.url(&format!("/admin/members/{ivy_id}/decline")))
        .form(&[("csrf", common::csrf_of(&record).as_str()), ("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (status, _) = call(&app, &token, M::GET, &format!("/members/{ivy_id}"), None).await;
    assert_eq!(status, 404);
    let mut conn = app.ctx.db.conn().await.unwrap();
    let audit = intercoop::db::queries::accounts::recent_audit(&mut conn, 50)
        .await
        .unwrap();
    for a in [
        "member.apply",
        "member.approve",
        "member.decline",
        "member.invite",
    ] {
        assert!(audit.iter().any(|(x, _)| x == a), "{a} audited");
    }
}

/// A member with an account, set up through an invitation: their id and
/// logged-in client.
async fn joined(app: &TestApp, token: &str, body: Value, username: &str) -> (i64, reqwest::Client) {
    use reqwest::Method as M;
    let (status, m) = call(app, token, M::POST, "/members", Some(body)).await;
    assert_eq!(status, 201, "{m}");
    let id = m["id"].as_i64().unwrap();
    let (_, inv) = call(app, token, M::POST, &format!("/members/{id}/invitations"), None).await;
    let url = inv["url"].as_str().unwrap().to_string();
    let c = common::client();
    let page = c.get(&url).send().await.unwrap().text().await.unwrap();
    let r = c
        .post(&url)
        .form(&[
            ("csrf", common::csrf_of(&page).as_str()),
            ("username", username),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    (id, c)
}

/// Each member chooses what the directory shows of them; only active
/// members read it.
async fn directory_shows_what_members_chose(backend: Backend) {
    use reqwest::Method as M;
    let app = TestApp::with_coop(backend).await;
    let token = accounts::create_api_token(&app.ctx, ADMIN, "test").await.unwrap();
    let (_, ana) = joined(
        &app,
        &token,
        json!({"name": "Ana Souza", "phone": "+44 7700 900123", "email": "ana@example.org", "groups": "Board"}),
        "ana",
    )
    .await;
    let (_, bob) = joined(
        &app,
        &token,
        json!({"name": "Bob Hidden", "email": "bob@example.org"}),
        "bob",
    )
    .await;
    let (cai_id, cai) = joined(&app, &token, json!({"name": "Cai Gone"}), "cai").await;
    let base = app.url("");
    let choose = |c: reqwest::Client, fields: Vec<&'static str>| {
        let base = base.clone();
        async move {
            let page = c
                .get(format!("{base}/account"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(page.contains("id=\"directory\""), "{page}");
            let mut form = vec![("csrf".to_string(), common::csrf_of(&page))];
            form.extend(fields.into_iter().map(|f| ("show".to_string(), f.to_string())));
            let r = c
                .post(format!("{base}/account/directory"))
                .form(&form)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 303);
            c
        }
    };
    let ana = choose(ana, vec!["name", "phone"]).await;
    let _bob = choose(bob, vec![]).await;
    let _cai = choose(cai, vec!["name"]).await;
    let (_, _) = call(
        &app,
        &token,
        M::PATCH,
        &format!("/members/{cai_id}"),
        Some(json!({"status": "left"})),
    )
    .await;

    let page = ana.get(app.url("/directory")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Ana Souza") && html.contains("+447700900123"),
        "{html}"
    );
    assert!(
        !html.contains("ana@example.org"),
        "an email not chosen is not shown"
    );
    assert!(!html.contains("Board"), "groups not chosen are not shown");
    assert!(
        !html.contains("Bob Hidden") && !html.contains("bob@example.org"),
        "not listed"
    );
    assert!(!html.contains("Cai Gone"), "a member who left is not listed");
    let anon = common::client().get(app.url("/directory")).send().await.unwrap();
    assert_ne!(anon.status(), 200, "visitors do not read it");
    let anon_html = anon.text().await.unwrap();
    assert!(!anon_html.contains("Ana Souza"));
}
