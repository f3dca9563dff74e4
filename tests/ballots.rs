//! Member ballots on both databases, over real HTTP: one member, one vote,
//! on the web or from the member's linked fediverse account (a scripted
//! peer sending Mastodon's vote shape), a non-member's vote refused on
//! both paths, a secret ballot whose counts stay hidden until it closes
//! and whose receipt checks, an open ballot that lists its votes, and at
//! the close a result that states eligible voters, votes cast and quorum,
//! kept with the eligible list in the audit log.

mod common;

use common::peer::Peer;
use common::{Api, Backend, TestApp, PASSWORD};
use reqwest::Method as M;
use serde_json::{json, Value};

both_backends!(ballots_count_one_vote_per_member);

fn coop_actor(app: &TestApp) -> String {
    app.url("/actors/tea")
}

async fn page(web: &reqwest::Client, url: String) -> String {
    web.get(url).send().await.unwrap().text().await.unwrap()
}

/// Votes on the web for the option named `choice` of `poll` (its API
/// JSON): the status and the page.
async fn vote_on_web(app: &TestApp, web: &reqwest::Client, poll: &Value, choice: &str) -> (u16, String) {
    let slug = poll["slug"].as_str().unwrap();
    let html = page(web, app.url(&format!("/polls/{slug}"))).await;
    let option = poll["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["title"] == choice)
        .unwrap_or_else(|| panic!("no option {choice} in {poll}"))["id"]
        .to_string();
    let r = web
        .post(app.url(&format!("/polls/{slug}/vote")))
        .form(&[
            ("csrf", common::csrf_of(&html).as_str()),
            ("option", option.as_str()),
        ])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn vote_note(peer: &Peer, app: &TestApp, question: &str, choice: &str) -> Value {
    json!({"@context": "https://www.w3.org/ns/activitystreams", "id": peer.id("vote"), "type": "Create",
           "actor": peer.actor, "to": [coop_actor(app)],
           "object": {"id": peer.id("note"), "type": "Note", "attributedTo": peer.actor, "name": choice,
                      "inReplyTo": question, "to": [coop_actor(app)]}})
}

async fn ballots_count_one_vote_per_member(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let api = Api::new(&app).await;
    let (_ana, ana) = common::member(&api, "Ana Sousa", "ana").await;
    let (bo_id, bo) = common::member(&api, "Bo Lindqvist", "bo").await;
    let (_, _cy) = common::member(&api, "Cy Okafor", "cy").await;
    // Dee has an account but is not in the register: she reads members'
    // pages (no record), but a ballot is for the register's members.
    common::new_user(&app, "dee", intercoop::service::types::UserRole::Member)
        .await
        .unwrap();

    // Bo's Mastodon account, linked by the secretary and proved by Bo's
    // direct reply with the code.
    let bo_peer = Peer::start().await;
    let outsider = Peer::start().await;
    let (status, link) = api
        .call(
            M::POST,
            &format!("/members/{bo_id}/links"),
            Some(json!({"account": bo_peer.actor})),
        )
        .await;
    assert_eq!(status, 201, "{link}");
    let dm = bo_peer
        .wait_for("Create", |a| {
            a["object"]["content"]
                .as_str()
                .is_some_and(|c| c.contains("Your code to link"))
        })
        .await;
    let content = dm["object"]["content"].as_str().unwrap();
    let code = content
        .split("<strong>")
        .nth(1)
        .and_then(|s| s.split("</strong>").next())
        .unwrap();
    let reply = json!({"@context": "https://www.w3.org/ns/activitystreams", "id": bo_peer.id("create"),
        "type": "Create", "actor": bo_peer.actor, "to": [coop_actor(&app)],
        "object": {"id": bo_peer.id("note"), "type": "Note", "attributedTo": bo_peer.actor,
                   "inReplyTo": dm["object"]["id"], "to": [coop_actor(&app)],
                   "content": format!("<p>{code}</p>")}});
    assert_eq!(bo_peer.send(&app, "/inbox", &reply, true).await, 202);

    // Both ballots close in a few seconds, so the test sees the close.
    let closes = (chrono::Utc::now() + chrono::Duration::seconds(8)).to_rfc3339();
    let (status, bad) = api
        .call(
            M::POST,
            "/polls",
            Some(
                json!({"question": "Secret?", "options": ["Yes", "No"], "closes_at": closes,
                        "secret": true, "quorum": 2}),
            ),
        )
        .await;
    assert_eq!(status, 422, "a secret poll must be a ballot: {bad}");
    assert!(bad.to_string().contains("Member ballot"), "{bad}");
    let (status, secret) = api
        .call(
            M::POST,
            "/polls",
            Some(
                json!({"question": "Do we join the regional federation?", "options": ["Yes", "No"],
                        "closes_at": closes, "ballot": true, "secret": true, "quorum": 2}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{secret}");
    assert_eq!(secret["visibility"], "members", "a ballot is members-only");
    assert_eq!(secret["ballot"]["eligible"], 3, "{secret}");
    let (status, open) = api
        .call(
            M::POST,
            "/polls",
            Some(
                json!({"question": "Who chairs the assembly?", "options": ["Ana", "Cy"],
                        "closes_at": closes, "ballot": true, "quorum": 3}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{open}");
    let secret_slug = secret["slug"].as_str().unwrap();
    let open_slug = open["slug"].as_str().unwrap();
    let secret_url = secret["url"].as_str().unwrap();

    // Ana votes on the web and gets her receipt, once.
    let (status, html) = vote_on_web(&app, &ana, &secret, "Yes").await;
    assert_eq!(status, 200, "{html}");
    let receipt = html
        .split("Your receipt is ")
        .nth(1)
        .and_then(|s| s.split(':').next())
        .unwrap_or_else(|| panic!("no receipt in {html}"))
        .trim()
        .to_string();
    assert_eq!(receipt.len(), 9, "{receipt}");
    // Once only.
    let (status, html) = vote_on_web(&app, &ana, &secret, "No").await;
    assert_eq!(status, 409);
    assert!(html.contains("already voted"), "{html}");
    // Dee is not in the register: refused, with the reason.
    let dee = common::login(&app, "dee", PASSWORD).await;
    let (status, html) = vote_on_web(&app, &dee, &secret, "No").await;
    assert_eq!(status, 403, "{html}");
    assert!(html.contains("active members"), "{html}");

    // An outsider's vote is refused; so is any vote from the fediverse on a
    // secret ballot (its Note would tie the voter to the choice): Bo votes
    // on the web.
    assert_eq!(
        outsider
            .send(
                &app,
                "/inbox",
                &vote_note(&outsider, &app, secret_url, "No"),
                true
            )
            .await,
        422
    );
    assert_eq!(
        bo_peer
            .send(&app, "/inbox", &vote_note(&bo_peer, &app, secret_url, "No"), true)
            .await,
        422
    );
    let (status, html) = vote_on_web(&app, &bo, &secret, "No").await;
    assert_eq!(status, 200, "{html}");

    // While open: turnout shows, counts do not.
    let (_, now) = api.call(M::GET, &format!("/polls/{}", secret["id"]), None).await;
    assert_eq!(now["ballot"]["cast"], 2, "{now}");
    assert_eq!(now["ballot"]["counts_hidden"], true);
    assert_eq!(
        now["votes_count"], 0,
        "no counts of a secret ballot while it is open: {now}"
    );
    // Ana checks her receipt; a made-up one is unknown.
    let html = page(&ana, app.url(&format!("/polls/{secret_slug}"))).await;
    let r = ana
        .post(app.url(&format!("/polls/{secret_slug}/receipt")))
        .form(&[
            ("csrf", common::csrf_of(&html).as_str()),
            ("receipt", receipt.to_lowercase().as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("is counted, for “Yes”"));
    let (status, unknown) = api
        .call(
            M::POST,
            &format!("/polls/{}/receipt", secret["id"]),
            Some(json!({"receipt": "AAAA-BBBB"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(unknown["counted"], false);

    // The open ballot: Ana on the web, Bo from his linked account; one
    // member, one vote, so his web vote after it is refused.
    assert_eq!(vote_on_web(&app, &ana, &open, "Cy").await.0, 303);
    let open_url = open["url"].as_str().unwrap();
    assert_eq!(
        bo_peer
            .send(&app, "/inbox", &vote_note(&bo_peer, &app, open_url, "Ana"), true)
            .await,
        202
    );
    let (status, html) = vote_on_web(&app, &bo, &open, "Cy").await;
    assert_eq!(status, 409, "{html}");
    assert!(html.contains("already voted"), "{html}");
    let html = page(&ana, app.url(&format!("/polls/{open_slug}"))).await;
    assert!(html.contains("Ana Sousa</a>: Cy"), "{html}");
    let html = page(&ana, app.url(&format!("/polls/{secret_slug}"))).await;
    assert!(
        !html.contains("Ana Sousa</a>: Yes"),
        "a secret ballot lists no votes"
    );

    // After the close: counts, turnout and quorum; the audit log keeps
    // the result and who was eligible.
    tokio::time::sleep(std::time::Duration::from_secs(9)).await;
    let mut audit = Value::Null;
    for _ in 0..50 {
        let (_, a) = api.call(M::GET, "/audit?action=ballot.", None).await;
        if a.as_array().is_some_and(|a| a.len() >= 4) {
            audit = a;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let (_, done) = api.call(M::GET, &format!("/polls/{}", secret["id"]), None).await;
    assert_eq!(done["closed"], true);
    assert_eq!(done["ballot"]["counts_hidden"], false);
    assert_eq!(done["options"][0]["votes_count"], 1, "{done}");
    assert_eq!(done["options"][1]["votes_count"], 1, "{done}");
    assert_eq!(done["ballot"]["eligible"], 3);
    assert_eq!(done["ballot"]["quorum_met"], true);
    let (_, done_open) = api.call(M::GET, &format!("/polls/{}", open["id"]), None).await;
    assert_eq!(done_open["ballot"]["quorum_met"], false, "{done_open}");
    let results: Vec<&str> = audit
        .as_array()
        .unwrap_or_else(|| panic!("no ballot entries in the audit log: {audit}"))
        .iter()
        .filter(|e| e["action"] == "ballot.result")
        .filter_map(|e| e["detail"].as_str())
        .collect();
    assert!(
        results
            .iter()
            .any(|d| d.contains("eligible 3, cast 2, quorum 2 met")),
        "{audit}"
    );
    assert!(
        results
            .iter()
            .any(|d| d.contains("eligible 3, cast 2, quorum 3 not met")),
        "{audit}"
    );
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "ballot.eligible"
                && e["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains("Bo Lindqvist") && d.contains("Cy Okafor"))),
        "{audit}"
    );
    // The admin's page and its CSV show the same.
    let admin = common::login(&app, common::ADMIN, PASSWORD).await;
    let html = page(&admin, app.url("/admin/audit?action=ballot.")).await;
    assert!(html.contains("quorum 2 met"), "{html}");
    let csv = page(&admin, app.url("/admin/audit.csv")).await;
    assert!(csv.starts_with("at,by,action,detail\r\n"), "{csv}");
    assert!(csv.contains("member.create"), "{csv}");
    // A member who is not an admin cannot read it.
    assert_eq!(
        ana.get(app.url("/admin/audit")).send().await.unwrap().status(),
        403
    );
    // After the close, no more votes.
    let cy = common::login(&app, "cy", PASSWORD).await;
    let html = page(&cy, app.url(&format!("/polls/{secret_slug}"))).await;
    let option = done["options"][0]["id"].to_string();
    let r = cy
        .post(app.url(&format!("/polls/{secret_slug}/vote")))
        .form(&[
            ("csrf", common::csrf_of(&html).as_str()),
            ("option", option.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("This ballot is closed."));
    app.stop().await;
}
