//! Surveys on both databases, over real HTTP: an editor makes one through
//! the API, two members answer it (one on the web, one through the API,
//! question by question too) and can change their answers, a non-member
//! is refused, and the results show counts, means, SVG charts and a CSV;
//! a link survey takes anonymous answers, one per browser.

mod common;

use common::{Api, Backend, TestApp, PASSWORD};
use reqwest::Method as M;
use serde_json::json;

both_backends!(surveys_are_answered_and_counted);

async fn surveys_are_answered_and_counted(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let api = Api::new(&app).await;
    let (_, ana) = common::member(&api, "Ana Sousa", "ana").await;
    let (_, _bo) = common::member(&api, "Bo Lindqvist", "bo").await;
    common::new_user(&app, "dee", intercoop::service::types::UserRole::Member)
        .await
        .unwrap();
    let closes = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();

    let (status, bad) = api
        .call(
            M::POST,
            "/surveys",
            Some(json!({"title": "Empty", "closes_at": closes,
                        "questions": [{"kind": "single", "prompt": "Pick", "options": ["Only one"]}]})),
        )
        .await;
    assert_eq!(status, 422, "{bad}");
    assert!(
        bad.to_string().contains("Question 1: give 2 to 20 choices"),
        "{bad}"
    );

    let (status, survey) = api
        .call(
            M::POST,
            "/surveys",
            Some(json!({"title": "How is the shop doing?", "closes_at": closes, "questions": [
                {"kind": "single", "prompt": "Which day do you shop?", "required": true, "options": ["Monday", "Friday"]},
                {"kind": "multiple", "prompt": "What do you buy?", "options": ["Tea", "Coffee", "Honey"]},
                {"kind": "scale", "prompt": "How happy are you?", "required": true},
                {"kind": "number", "prompt": "How many visits a month?"},
                {"kind": "text", "prompt": "Anything else?"}
            ]})),
        )
        .await;
    assert_eq!(status, 201, "{survey}");
    let id = survey["id"].as_i64().unwrap();
    let slug = survey["slug"].as_str().unwrap().to_string();
    let q: Vec<i64> = survey["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["id"].as_i64().unwrap())
        .collect();
    assert_eq!(q.len(), 5);

    // Ana answers on the web.
    let html = ana
        .get(app.url(&format!("/surveys/{slug}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Which day do you shop?"), "{html}");
    let csrf = common::csrf_of(&html);
    let send = |fields: Vec<(String, String)>| {
        let ana = ana.clone();
        let url = app.url(&format!("/surveys/{slug}"));
        async move { ana.post(url).form(&fields).send().await.unwrap() }
    };
    let field = |qid: i64, v: &str| (format!("a{qid}"), v.to_string());
    // A required question left out: nothing is saved, and the page says which.
    let r = send(vec![("csrf".into(), csrf.clone()), field(q[0], "#1")]).await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Question 3 (How happy are you?): This question needs an answer."));
    let r = send(vec![
        ("csrf".into(), csrf.clone()),
        field(q[0], "#1"),
        field(q[1], "#1"),
        field(q[1], "#3"),
        field(q[2], "4"),
        field(q[3], "6"),
        field(q[4], "More honey, please <script>"),
    ])
    .await;
    assert_eq!(r.status(), 303);
    // Bo answers through the API, then changes one answer on its own.
    let bo_api = Api::for_user(&app, "bo").await;
    let (status, body) = bo_api
        .call(
            M::POST,
            &format!("/surveys/{id}/responses"),
            Some(json!({"answers": {q[0].to_string(): "Friday", q[1].to_string(): ["Tea"], q[2].to_string(): 2, q[3].to_string(): "3"}})),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, _) = bo_api
        .call(
            M::PUT,
            &format!("/surveys/{id}/answers/{}", q[2]),
            Some(json!({"value": 5})),
        )
        .await;
    assert_eq!(status, 204);
    let (status, bad) = bo_api
        .call(
            M::PUT,
            &format!("/surveys/{id}/answers/{}", q[2]),
            Some(json!({"value": 9})),
        )
        .await;
    assert_eq!(status, 422, "{bad}");
    // Ana changes her mind: still one response from her.
    let r = send(vec![
        ("csrf".into(), csrf.clone()),
        field(q[0], "#1"),
        field(q[1], "#1"),
        field(q[1], "#3"),
        field(q[2], "3"),
        field(q[3], "6"),
        field(q[4], "More honey, please <script>"),
    ])
    .await;
    assert_eq!(r.status(), 303);
    // Dee is not in the register: no survey for her.
    let dee_api = Api::for_user(&app, "dee").await;
    let (status, _) = dee_api
        .call(
            M::POST,
            &format!("/surveys/{id}/responses"),
            Some(json!({"answers": {q[0].to_string(): "1"}})),
        )
        .await;
    assert_eq!(status, 404);
    let dee = common::login(&app, "dee", PASSWORD).await;
    let r = dee
        .get(app.url(&format!("/surveys/{slug}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // Results: two responses, counts, means.
    let (status, res) = api.call(M::GET, &format!("/surveys/{id}/results"), None).await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["responses"], 2, "{res}");
    assert_eq!(
        res["questions"][0]["counts"],
        json!([["Monday", 1], ["Friday", 1]])
    );
    assert_eq!(
        res["questions"][1]["counts"],
        json!([["Tea", 2], ["Coffee", 0], ["Honey", 1]])
    );
    assert_eq!(res["questions"][2]["mean"], 4.0, "(3 + 5) / 2: {res}");
    assert_eq!(res["questions"][3]["mean"], 4.5);
    assert_eq!(
        res["questions"][4]["texts"],
        json!(["More honey, please <script>"])
    );
    let (status, _) = Api::for_user(&app, "ana")
        .await
        .call(M::GET, &format!("/surveys/{id}/results"), None)
        .await;
    assert_eq!(status, 403, "results are for editors");
    let admin = common::login(&app, common::ADMIN, PASSWORD).await;
    let page = admin
        .get(app.url(&format!("/surveys/{slug}/results")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<svg") && page.contains("role=\"img\""), "{page}");
    assert!(page.contains("<title>What do you buy?</title>"), "{page}");
    assert!(page.contains("2 responses"), "{page}");
    assert!(!page.contains("<script>"), "answers are escaped: {page}");
    let csv = admin
        .get(app.url(&format!("/surveys/{slug}/results.csv")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[0].starts_with("updated_at,Which day do you shop?,What do you buy?"),
        "{csv}"
    );
    assert!(
        lines[1].contains(",Monday,Tea; Honey,3,6,\"More honey, please <script>\""),
        "{csv}"
    );
    assert!(lines[2].contains(",Friday,Tea,5,3,"), "{csv}");

    // A link survey: anyone with the address answers, once per browser.
    let (status, link) = api
        .call(
            M::POST,
            "/surveys",
            Some(
                json!({"title": "Open day feedback", "audience": "link", "closes_at": closes,
                        "questions": [{"kind": "scale", "prompt": "Did you enjoy it?", "required": true}]}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{link}");
    let share = link["share_url"].as_str().unwrap().to_string();
    let visitor = common::client();
    let r = visitor
        .get(app.url(&format!("/surveys/{}", link["slug"].as_str().unwrap())))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "without the key, a visitor is asked to log in");
    assert!(r.headers()["location"].to_str().unwrap().starts_with("/login"));
    let html = visitor.get(&share).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Did you enjoy it?"), "{html}");
    let lq = link["questions"][0]["id"].as_i64().unwrap();
    for value in ["2", "5"] {
        let r = visitor
            .post(&share)
            .form(&[
                ("csrf", common::csrf_of(&html)),
                (format!("a{lq}").as_str(), value.to_string()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
    }
    let (_, res) = api
        .call(M::GET, &format!("/surveys/{}/results", link["id"]), None)
        .await;
    assert_eq!(res["responses"], 1, "one browser, one response, changed: {res}");
    assert_eq!(res["questions"][0]["mean"], 5.0);
    app.stop().await;
}
