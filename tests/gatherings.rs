//! Events and polls end to end, on both databases, over real HTTP with the
//! scripted peer: the API and the web make them, followers get
//! Create/Update/Delete of `Event` and `Question`, remote Joins are
//! answered, Mastodon-shaped votes are counted once, the poll closes by
//! itself, and iCalendar and feeds parse back.

mod common;

use common::peer::Peer;
use common::{Api, Backend, TestApp, ADMIN};
use serde_json::{json, Value};

both_backends!(
    events_with_rsvp,
    polls_with_votes,
    members_reply_as_themselves,
    replies_are_forwarded_to_followers,
    several_choice_polls
);

fn coop_actor(app: &TestApp) -> String {
    app.url("/actors/tea")
}

/// A peer that follows the co-op, accepted.
async fn follower(app: &TestApp) -> Peer {
    let peer = Peer::start().await;
    let f = json!({"@context": "https://www.w3.org/ns/activitystreams", "id": peer.id("follow"),
                   "type": "Follow", "actor": peer.actor, "object": coop_actor(app)});
    assert_eq!(peer.send(app, "/actors/tea/inbox", &f, false).await, 202);
    peer.wait_for("Accept", |_| true).await;
    peer
}

async fn get_ap(url: &str) -> Value {
    reqwest::Client::new()
        .get(url)
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn text(url: &str) -> (u16, String) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn events_with_rsvp(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let api = Api::new(&app).await;
    let fan = follower(&app).await;

    let (status, created) = api
        .call(
            reqwest::Method::POST,
            "/events",
            Some(json!({
                "title": "General meeting", "body": "Agenda: the **budget**.",
                "starts_at": "2030-04-12T18:00", "ends_at": "2030-04-12T20:00",
                "timezone": "Europe/Paris", "location_name": "The barn", "address": "1 Farm Lane, Lyon",
                "latitude": 45.76, "longitude": 4.83, "capacity": 2
            })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["starts_at"], "2030-04-12T16:00:00Z");
    assert_eq!(created["starts_at_local"], "2030-04-12T18:00:00+02:00");
    let id = created["id"].as_i64().unwrap();
    let url = created["url"].as_str().unwrap().to_string();
    let slug = created["slug"].as_str().unwrap().to_string();

    // Followers get the Event with what Mobilizon reads.
    let create = fan.wait_for("Create", |a| a["object"]["id"] == url).await;
    let ev = &create["object"];
    assert_eq!(ev["type"], "Event");
    assert_eq!(ev["name"], "General meeting");
    assert_eq!(ev["startTime"], "2030-04-12T18:00:00+02:00");
    assert_eq!(ev["endTime"], "2030-04-12T20:00:00+02:00");
    assert_eq!(ev["timezone"], "Europe/Paris");
    assert_eq!(ev["location"]["type"], "Place");
    assert_eq!(ev["location"]["name"], "The barn");
    assert_eq!(ev["location"]["address"]["type"], "PostalAddress");
    assert_eq!(ev["location"]["address"]["streetAddress"], "1 Farm Lane, Lyon");
    assert_eq!(ev["location"]["latitude"], 45.76);
    assert_eq!(ev["maximumAttendeeCapacity"], 2);
    assert_eq!(ev["participantCount"], 0);
    assert_eq!(ev["joinMode"], "free");
    assert_eq!(ev["ical:status"], "CONFIRMED");
    assert!(ev["content"]
        .as_str()
        .unwrap()
        .contains("<strong>budget</strong>"));
    assert_eq!(ev["to"][0], "https://www.w3.org/ns/activitystreams#Public");

    // A remote Join is accepted, naming the Join.
    let ann = Peer::start().await;
    let join = json!({"@context": "https://www.w3.org/ns/activitystreams", "id": ann.id("join"),
                      "type": "Join", "actor": ann.actor, "object": url});
    assert_eq!(ann.send(&app, "/inbox", &join, true).await, 202);
    let accept = ann.wait_for("Accept", |_| true).await;
    assert_eq!(accept["object"]["id"], join["id"]);
    assert_eq!(accept["object"]["type"], "Join");
    assert_eq!(accept["object"]["object"], url);
    assert_eq!(accept["actor"], coop_actor(&app));
    let fetched = get_ap(&url).await;
    assert_eq!(fetched["participantCount"], 1);
    assert_eq!(fetched["remainingAttendeeCapacity"], 1);
    // The same Join again (a retry with a new id) counts once, and is accepted again.
    let again = json!({"@context": "https://www.w3.org/ns/activitystreams", "id": ann.id("join"),
                       "type": "Join", "actor": ann.actor, "object": url});
    assert_eq!(ann.send(&app, "/inbox", &again, false).await, 202);
    ann.wait_for("Accept", |a| a["object"]["id"] == again["id"]).await;
    assert_eq!(get_ap(&url).await["participantCount"], 1);

    // A member says they come on the web; the event is then full.
    let admin = common::login(&app, ADMIN, common::PASSWORD).await;
    let page = admin
        .get(app.url(&format!("/events/{slug}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("18:00–20:00 (Europe/Paris)"), "{page}");
    assert!(page.contains("2030-04-12 16:00 – 2030-04-12 18:00 UTC"), "{page}");
    assert!(page.contains(&format!("href=\"/events/{slug}.ics\"")));
    let r = admin
        .post(app.url(&format!("/events/{slug}/rsvp")))
        .form(&[("csrf", common::csrf_of(&page).as_str()), ("value", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = admin
        .get(app.url(&format!("/events/{slug}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("You are down as coming."), "{page}");
    // An RSVP federates nothing: it does not make the member's account findable.
    let host = url::Url::parse(&app.url("/")).unwrap();
    let finger = reqwest::get(app.url(&format!(
        "/.well-known/webfinger?resource=acct:{ADMIN}@{}:{}",
        host.host_str().unwrap(),
        host.port().unwrap()
    )))
    .await
    .unwrap();
    assert_eq!(finger.status(), 404);
    let person = reqwest::Client::new()
        .get(app.url(&format!("/users/{ADMIN}")))
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(person.status(), 404);
    assert_eq!(get_ap(&url).await["participantCount"], 2);
    let bob = Peer::start().await;
    let full = json!({"@context": "https://www.w3.org/ns/activitystreams", "id": bob.id("join"),
                      "type": "Join", "actor": bob.actor, "object": url});
    assert_eq!(bob.send(&app, "/inbox", &full, false).await, 202);
    let reject = bob.wait_for("Reject", |_| true).await;
    assert_eq!(reject["object"]["id"], full["id"]);
    assert_eq!(get_ap(&url).await["participantCount"], 2);

    // Organisers see who comes, and download it.
    let csv = admin
        .get(app.url(&format!("/events/{slug}/attendees?format=csv")))
        .send()
        .await
        .unwrap();
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = csv.text().await.unwrap();
    assert!(csv.starts_with("name,account,profile,joined_at\r\n"), "{csv}");
    assert!(csv.contains(&ann.actor), "{csv}");
    assert!(csv.contains(&format!(",{ADMIN}@127.0.0.1")), "{csv}");
    let anonymous = common::client()
        .get(app.url(&format!("/events/{slug}/attendees?format=csv")))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 303, "the attendee list is not public");
    assert!(anonymous.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/login"));

    // A change of time reaches followers and participants alike.
    let (status, patched) = api
        .call(
            reqwest::Method::PATCH,
            &format!("/events/{id}"),
            Some(json!({"starts_at": "2030-04-12T19:00", "ends_at": null})),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["ends_at"], Value::Null);
    for peer in [&fan, &ann] {
        let update = peer
            .wait_for("Update", |a| {
                a["object"]["startTime"] == "2030-04-12T19:00:00+02:00"
            })
            .await;
        assert_eq!(update["object"]["participantCount"], 2);
    }

    // Leave, and Undo of a Join, take the participant out.
    let leave = json!({"@context": "https://www.w3.org/ns/activitystreams", "id": ann.id("leave"),
                       "type": "Leave", "actor": ann.actor, "object": url});
    assert_eq!(ann.send(&app, "/inbox", &leave, false).await, 202);
    assert_eq!(get_ap(&url).await["participantCount"], 1);
    assert_eq!(
        bob.send(
            &app,
            "/inbox",
            &{
                let mut j = full.clone();
                j["id"] = json!(bob.id("join"));
                j
            },
            false
        )
        .await,
        202
    );
    bob.wait_for("Accept", |_| true).await;
    assert_eq!(get_ap(&url).await["participantCount"], 2);
    let undo = json!({"@context": "https://www.w3.org/ns/activitystreams", "id": bob.id("undo"),
                      "type": "Undo", "actor": bob.actor,
                      "object": {"id": full["id"], "type": "Join", "actor": bob.actor, "object": url}});
    assert_eq!(bob.send(&app, "/inbox", &undo, false).await, 202);
    assert_eq!(get_ap(&url).await["participantCount"], 1);
    // Someone else cannot take a participant out.
    let forged = json!({"@context": "https://www.w3.org/ns/activitystreams", "id": ann.id("undo"),
                        "type": "Undo", "actor": ann.actor,
                        "object": {"id": bob.id("join"), "type": "Join", "actor": bob.actor, "object": url}});
    assert_eq!(ann.send(&app, "/inbox", &forged, false).await, 403);

    // Cancelled: said on the page, to followers, and in iCalendar.
    let (status, c) = api
        .call(
            reqwest::Method::PATCH,
            &format!("/events/{id}"),
            Some(json!({"cancelled": true})),
        )
        .await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["cancelled"], true);
    fan.wait_for("Update", |a| a["object"]["ical:status"] == "CANCELLED")
        .await;
    let (_, page) = text(&app.url(&format!("/events/{slug}"))).await;
    assert!(page.contains("This event is cancelled."), "{page}");
    for path in ["/events.ics".to_string(), format!("/events/{slug}.ics")] {
        let r = reqwest::get(app.url(&path)).await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/calendar"));
        let body = r.text().await.unwrap();
        let cal: icalendar::Calendar = body.parse().unwrap_or_else(|e| panic!("{path}: {e}\n{body}"));
        let events: Vec<&icalendar::Event> = cal
            .components
            .iter()
            .filter_map(|c| match c {
                icalendar::CalendarComponent::Event(e) => Some(e),
                _ => None,
            })
            .collect();
        assert_eq!(events.len(), 1, "{body}");
        use icalendar::{Component, EventLike};
        assert_eq!(events[0].get_summary(), Some("General meeting"));
        assert_eq!(events[0].get_uid(), Some(url.as_str()));
        assert_eq!(events[0].get_status(), Some(icalendar::EventStatus::Cancelled));
        assert!(body.contains("DTSTART:20300412T170000Z"), "{body}");
        assert_eq!(events[0].get_location(), Some("The barn, 1 Farm Lane, Lyon"));
    }
    // Still listed as upcoming, marked.
    let (_, list) = api
        .call(reqwest::Method::GET, "/events?upcoming=true", None)
        .await;
    assert_eq!(list["items"][0]["id"], id);
    let (_, home) = text(&app.url("/")).await;
    assert!(home.contains(&format!("/events/{slug}")) && home.contains("href=\"/events.ics\""));

    // Deleted: a Delete to followers, 410 after.
    let (status, _) = api
        .call(reqwest::Method::DELETE, &format!("/events/{id}"), None)
        .await;
    assert_eq!(status, 204);
    fan.wait_for("Delete", |a| a["object"]["id"] == url).await;
    let r = reqwest::Client::new()
        .get(&url)
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 410);
    // Joining a deleted event is rejected.
    let late = json!({"@context": "https://www.w3.org/ns/activitystreams", "id": bob.id("join"),
                      "type": "Join", "actor": bob.actor, "object": url});
    assert_eq!(bob.send(&app, "/inbox", &late, false).await, 202);
    bob.wait_for("Reject", |a| a["object"]["id"] == late["id"]).await;

    // Bad input: every field's problem at once, in the API's error shape.
    let (status, err) = api
        .call(
            reqwest::Method::POST,
            "/events",
            Some(json!({"title": "", "starts_at": "soon", "timezone": "Mars/Base", "capacity": 0})),
        )
        .await;
    assert_eq!(status, 422, "{err}");
    for field in ["title", "starts_at", "timezone", "capacity"] {
        assert!(err["fields"][field].is_string(), "{field}: {err}");
    }
    assert!(err["detail"].as_str().unwrap().contains("Mars/Base"), "{err}");
}

/// A Mastodon vote: a Note naming the option, in reply to the Question,
/// addressed only to the co-op.
fn vote(peer: &Peer, app: &TestApp, question: &str, option: &str) -> Value {
    let note = format!("{}/notes/{}", peer.base, intercoop::crypto::random_token());
    json!({"@context": "https://www.w3.org/ns/activitystreams", "id": format!("{note}/activity"),
           "type": "Create", "actor": peer.actor, "to": [coop_actor(app)],
           "object": {"id": note, "type": "Note", "name": option, "attributedTo": peer.actor,
                      "to": [coop_actor(app)], "inReplyTo": question}})
}

async fn polls_with_votes(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let api = Api::new(&app).await;
    let fan = follower(&app).await;
    let closes = (chrono::Utc::now() + chrono::Duration::seconds(6))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (status, poll) = api
        .call(
            reqwest::Method::POST,
            "/polls",
            Some(
                json!({"question": "Which day for the assembly?", "options": ["Monday", "Friday", "Saturday"],
                        "multiple": false, "closes_at": closes}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{poll}");
    let id = poll["id"].as_i64().unwrap();
    let url = poll["url"].as_str().unwrap().to_string();
    let slug = poll["slug"].as_str().unwrap().to_string();
    let create = fan.wait_for("Create", |a| a["object"]["id"] == url).await;
    let q = &create["object"];
    assert_eq!(q["type"], "Question");
    assert_eq!(q["endTime"], closes);
    assert_eq!(q["votersCount"], 0);
    assert!(q.get("closed").is_none());
    assert!(q.get("anyOf").is_none());
    let names: Vec<&str> = q["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Monday", "Friday", "Saturday"]);
    assert_eq!(q["oneOf"][1]["replies"]["totalItems"], 0);

    // A Mastodon user votes; the same vote again is counted once.
    let voter = Peer::start().await;
    assert_eq!(
        voter
            .send(&app, "/inbox", &vote(&voter, &app, &url, "Friday"), false)
            .await,
        202
    );
    assert_eq!(
        voter
            .send(&app, "/inbox", &vote(&voter, &app, &url, "Friday"), true)
            .await,
        202
    );
    // A second, different choice in a one-choice poll is refused.
    assert_eq!(
        voter
            .send(&app, "/inbox", &vote(&voter, &app, &url, "Monday"), false)
            .await,
        422
    );
    // An option that does not exist is refused.
    assert_eq!(
        voter
            .send(&app, "/inbox", &vote(&voter, &app, &url, "Sunday"), false)
            .await,
        422
    );
    let (_, counted) = api
        .call(reqwest::Method::GET, &format!("/polls/{id}"), None)
        .await;
    assert_eq!(counted["voters_count"], 1, "{counted}");
    assert_eq!(counted["options"][1]["votes_count"], 1);
    // The new counts go to followers and to the voter.
    for peer in [&fan, &voter] {
        let update = peer
            .wait_for("Update", |a| {
                a["object"]["id"] == url && a["object"]["votersCount"] == 1
            })
            .await;
        assert_eq!(update["object"]["oneOf"][1]["replies"]["totalItems"], 1);
    }
    // Votes are not replies.
    let fetched = get_ap(&url).await;
    assert_eq!(fetched["replies"]["totalItems"], 0);

    // A member votes on the web.
    let admin = common::login(&app, ADMIN, common::PASSWORD).await;
    let page = admin
        .get(app.url(&format!("/polls/{slug}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let monday = counted["options"][0]["id"].as_i64().unwrap().to_string();
    assert!(
        page.contains(&format!("name=\"option\" value=\"{monday}\"")),
        "{page}"
    );
    let r = admin
        .post(app.url(&format!("/polls/{slug}/vote")))
        .form(&[
            ("csrf", common::csrf_of(&page).as_str()),
            ("option", monday.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = admin
        .get(app.url(&format!("/polls/{slug}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Monday ✓"), "{page}");
    let (_, counted) = api
        .call(reqwest::Method::GET, &format!("/polls/{id}"), None)
        .await;
    assert_eq!(counted["voters_count"], 2);

    // The poll closes by itself: the final counts go out, no request needed.
    let closed = fan
        .wait_for("Update", |a| {
            a["object"]["id"] == url && a["object"]["closed"].is_string()
        })
        .await;
    assert_eq!(closed["object"]["votersCount"], 2);
    assert_eq!(closed["object"]["oneOf"][0]["replies"]["totalItems"], 1);
    let late = Peer::start().await;
    assert_eq!(
        late.send(&app, "/inbox", &vote(&late, &app, &url, "Saturday"), false)
            .await,
        422
    );
    let (_, counted) = api
        .call(reqwest::Method::GET, &format!("/polls/{id}"), None)
        .await;
    assert_eq!(counted["closed"], true);
    assert_eq!(counted["voters_count"], 2);

    // The everything feed carries it; feeds parse.
    for path in ["/feed.rss", "/feed.atom"] {
        let body = reqwest::get(app.url(path)).await.unwrap().bytes().await.unwrap();
        let feed = feed_rs::parser::parse(&body[..]).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(
            feed.entries.iter().any(|e| e
                .title
                .as_ref()
                .is_some_and(|t| t.content == "Which day for the assembly?")),
            "{path}"
        );
    }
}

async fn members_reply_as_themselves(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let fan = follower(&app).await;
    let item = intercoop::service::news::publish_news(
        &app.ctx,
        &common::admin(),
        &intercoop::service::news::NewsInput {
            title: "Jam season".into(),
            body: "The jam is in.".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let slug = item.slug.clone().unwrap();
    let admin = common::login(&app, ADMIN, common::PASSWORD).await;
    let page = admin
        .get(app.url(&format!("/news/{slug}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("action=\"/replies/new\""),
        "logged-in members get the reply form"
    );
    let r = admin
        .post(app.url("/replies/new"))
        .form(&[
            ("csrf", common::csrf_of(&page).as_str()),
            ("to", item.id.to_string().as_str()),
            ("text", "Count me in for **Saturday**. <script>alert(1)</script>"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(&format!("/news/{slug}?done=")), "{location}");

    // It federates as a Note of the member's own Person, answering the news.
    let person = app.url(&format!("/users/{ADMIN}"));
    let create = fan.wait_for("Create", |a| a["actor"] == person).await;
    let note = &create["object"];
    assert_eq!(note["type"], "Note");
    assert_eq!(note["attributedTo"], person);
    assert_eq!(note["inReplyTo"], item.ap_id);
    assert!(note["content"]
        .as_str()
        .unwrap()
        .contains("<strong>Saturday</strong>"));
    assert!(!note["content"].as_str().unwrap().contains("<script"), "{note}");
    assert_eq!(note["to"][0], "https://www.w3.org/ns/activitystreams#Public");
    assert!(
        note["cc"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| *c == json!(format!("{}/followers", coop_actor(&app)))),
        "{note}"
    );
    let note_id = note["id"].as_str().unwrap().to_string();

    // The Person and its WebFinger are there for peers to verify and mention.
    let actor = get_ap(&person).await;
    assert_eq!(actor["type"], "Person");
    assert_eq!(actor["preferredUsername"], ADMIN);
    assert!(actor["publicKey"]["publicKeyPem"]
        .as_str()
        .unwrap()
        .contains("BEGIN PUBLIC KEY"));
    let domain = url::Url::parse(&app.url("/")).unwrap();
    let domain = format!("{}:{}", domain.host_str().unwrap(), domain.port().unwrap());
    let finger: Value =
        reqwest::get(app.url(&format!("/.well-known/webfinger?resource=acct:{ADMIN}@{domain}")))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(finger["links"][0]["href"], person);
    // The co-op's own handle still answers as the co-op.
    let coop: Value = reqwest::get(app.url(&format!("/.well-known/webfinger?resource=acct:tea@{domain}")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(coop["links"][0]["href"], coop_actor(&app));
    assert_eq!(get_ap(&note_id).await["id"], note_id);
    let html = common::client().get(&note_id).send().await.unwrap();
    assert_eq!(html.status(), 303);
    assert!(html.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with(&format!("/news/{slug}#reply-")));

    // A peer answers the member; the conversation shows both, threaded.
    let reply = json!({"@context": "https://www.w3.org/ns/activitystreams", "id": fan.id("create"),
        "type": "Create", "actor": fan.actor,
        "object": {"id": format!("{}/notes/1", fan.base), "type": "Note", "attributedTo": fan.actor,
                   "content": "<p>Saturday it is <img src=x onerror=alert(1)></p>", "inReplyTo": note_id,
                   "to": ["https://www.w3.org/ns/activitystreams#Public"]}});
    assert_eq!(fan.send(&app, "/inbox", &reply, false).await, 202);
    let (_, page) = text(&app.url(&format!("/news/{slug}"))).await;
    assert!(
        page.contains("Count me in for <strong>Saturday</strong>"),
        "{page}"
    );
    assert!(
        page.contains("class=\"reply depth-1\"") && page.contains("Saturday it is"),
        "{page}"
    );
    assert!(
        !page.contains("onerror") && !page.contains("alert(1)</script>"),
        "{page}"
    );
    assert_eq!(get_ap(&item.ap_id).await["replies"]["totalItems"], 1);

    // A moderator deletes the member's reply: the Delete federates.
    let id = note_id.rsplit('/').next().unwrap().to_string();
    let page = admin
        .get(app.url(&format!("/news/{slug}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = admin
        .post(app.url(&format!("/replies/{id}/delete")))
        .form(&[("csrf", common::csrf_of(&page).as_str()), ("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let delete = fan.wait_for("Delete", |a| a["actor"] == person).await;
    assert_eq!(delete["object"]["id"], note_id);
    let gone = reqwest::Client::new()
        .get(&note_id)
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 410, "a deleted reply answers with its Tombstone");
}

/// As Mastodon does: a public reply to one of our posts that its author's
/// server signed for forwarding (a Linked Data signature) goes on to our
/// followers as received; one without is kept but not passed on.
async fn replies_are_forwarded_to_followers(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let fan = follower(&app).await;
    // The replier follows the co-op too: it must not get its own reply back.
    let replier = follower(&app).await;
    let item = intercoop::service::news::publish_news(
        &app.ctx,
        &common::admin(),
        &intercoop::service::news::NewsInput {
            title: "Work day".into(),
            body: "Paint the barn.".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let reply = |signed: bool| {
        let note = format!("{}/notes/{}", replier.base, intercoop::crypto::random_token());
        let mut a = json!({"@context": "https://www.w3.org/ns/activitystreams", "id": format!("{note}/activity"),
            "type": "Create", "actor": replier.actor,
            "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": [coop_actor(&app)],
            "object": {"id": note, "type": "Note", "attributedTo": replier.actor, "content": "<p>I bring brushes.</p>",
                       "inReplyTo": item.ap_id, "to": ["https://www.w3.org/ns/activitystreams#Public"]}});
        if signed {
            a["signature"] = json!({"type": "RsaSignature2017", "creator": format!("{}#main-key", replier.actor),
                                    "created": "2026-12-01T10:00:00Z", "signatureValue": "c2lnbmVk"});
        }
        a
    };
    let plain = reply(false);
    assert_eq!(replier.send(&app, "/inbox", &plain, false).await, 202);
    // A "signature" that is not one (or by another server's key) is not trusted for forwarding.
    let mut fake = reply(true);
    fake["signature"] = json!({});
    assert_eq!(replier.send(&app, "/inbox", &fake, false).await, 202);
    let mut foreign = reply(true);
    foreign["signature"]["creator"] = json!("https://elsewhere.example/users/x#main-key");
    assert_eq!(replier.send(&app, "/inbox", &foreign, false).await, 202);
    let signed = reply(true);
    assert_eq!(replier.send(&app, "/inbox", &signed, false).await, 202);
    let forwarded = fan.wait_for("Create", |a| a["id"] == signed["id"]).await;
    assert_eq!(forwarded, signed, "forwarded byte for byte, signature and all");
    // The others were kept, not passed on.
    assert_eq!(get_ap(&item.ap_id).await["replies"]["totalItems"], 4);
    for not_forwarded in [&plain, &fake, &foreign] {
        assert!(!fan
            .inbox
            .lock()
            .unwrap()
            .iter()
            .any(|a| a["id"] == not_forwarded["id"]));
    }
    // Not back to the sender's own server.
    replier
        .wait_for("Create", |a| a["object"]["id"] == item.ap_id)
        .await;
    assert!(!replier
        .inbox
        .lock()
        .unwrap()
        .iter()
        .any(|a| a["id"] == signed["id"]));
}

/// `anyOf`: one voter may choose several options, each once; they count as
/// one voter.
async fn several_choice_polls(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let api = Api::new(&app).await;
    let closes =
        (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (status, poll) = api
        .call(
            reqwest::Method::POST,
            "/polls",
            Some(
                json!({"question": "What shall we bring?", "options": ["Bread", "Jam", "Tea"],
                        "multiple": true, "closes_at": closes}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{poll}");
    let url = poll["url"].as_str().unwrap().to_string();
    let doc = get_ap(&url).await;
    assert!(doc.get("oneOf").is_none());
    assert_eq!(doc["anyOf"].as_array().unwrap().len(), 3);
    let voter = Peer::start().await;
    for option in ["Bread", "Tea", "Tea"] {
        assert_eq!(
            voter
                .send(&app, "/inbox", &vote(&voter, &app, &url, option), false)
                .await,
            202
        );
    }
    let id = poll["id"].as_i64().unwrap();
    let (_, counted) = api
        .call(reqwest::Method::GET, &format!("/polls/{id}"), None)
        .await;
    assert_eq!(counted["voters_count"], 1, "{counted}");
    assert_eq!(counted["votes_count"], 2, "{counted}");
    let votes: Vec<i64> = counted["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["votes_count"].as_i64().unwrap())
        .collect();
    assert_eq!(votes, [1, 0, 1]);
    // A member picks two at once on the web.
    let admin = common::login(&app, ADMIN, common::PASSWORD).await;
    let slug = poll["slug"].as_str().unwrap();
    let page = admin
        .get(app.url(&format!("/polls/{slug}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("type=\"checkbox\""), "{page}");
    let jam = counted["options"][1]["id"].as_i64().unwrap().to_string();
    let tea = counted["options"][2]["id"].as_i64().unwrap().to_string();
    let r = admin
        .post(app.url(&format!("/polls/{slug}/vote")))
        .form(&[
            ("csrf", common::csrf_of(&page).as_str()),
            ("option", jam.as_str()),
            ("option", tea.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, counted) = api
        .call(reqwest::Method::GET, &format!("/polls/{id}"), None)
        .await;
    assert_eq!(counted["voters_count"], 2);
    let votes: Vec<i64> = counted["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["votes_count"].as_i64().unwrap())
        .collect();
    assert_eq!(votes, [1, 1, 2]);
}
