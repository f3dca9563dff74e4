//! Forums against a real Lemmy 0.17.4 (built from crates.io by
//! setup-lemmy.sh), on loopback with its own database in the throwaway
//! PostgreSQL: a Lemmy user subscribes to an Intercoop forum and gets a
//! thread posted on the web; a Lemmy user's post and comment in that forum
//! appear on the Intercoop thread; the co-op follows a Lemmy community and
//! shows its posts.
//!
//! Lemmy compares hosts without ports and refuses IP addresses in ids, so
//! the co-op runs as `localhost` and Lemmy as `lemmy.test` (a loopback name
//! that setup-lemmy.sh adds to /etc/hosts).

use std::path::PathBuf;
use std::time::Duration;

use federation_tests::{eventually, free_port, Backend, Instance};
use serde_json::{json, Value};
use tokio::process::{Child, Command};

const LEMMY_HOST: &str = "lemmy.test";

fn lemmy_bin() -> PathBuf {
    let bin = std::env::var("LEMMY").map(PathBuf::from).unwrap_or_else(|_| {
        let cache = std::env::var("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache"));
        cache.join("intercoop-peers/lemmy-0.17.4/lemmy_server")
    });
    assert!(
        bin.exists(),
        "{} is missing: run ./test.sh (federation-tests/setup-lemmy.sh builds Lemmy once)",
        bin.display()
    );
    bin
}

struct Lemmy {
    base: String,
    jwt: String,
    client: reqwest::Client,
    dir: tempfile::TempDir,
    _child: Child,
}

impl Lemmy {
    async fn start() -> Lemmy {
        intercoop::server::init_tls();
        let admin = std::env::var("INTERCOOP_TEST_POSTGRES_URL")
            .expect("Lemmy needs the throwaway PostgreSQL: run ./test.sh");
        let name = format!("lemmy_{}_{}", std::process::id(), free_port());
        let status = std::process::Command::new("psql")
            .args([admin.as_str(), "-q", "-c", &format!("CREATE DATABASE {name}")])
            .status()
            .expect("psql runs");
        assert!(status.success(), "create Lemmy's database");
        let mut db = url::Url::parse(&admin).unwrap();
        db.set_path(&format!("/{name}"));
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("lemmy.hjson");
        std::fs::write(
            &config,
            format!(
                "{{\n  hostname: \"{LEMMY_HOST}:{port}\"\n  bind: \"127.0.0.1\"\n  port: {port}\n  tls_enabled: false\n  setup: {{ admin_username: \"lemmy\", admin_password: \"lemmylemmy\", site_name: \"Lemmy test\" }}\n}}\n"
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("lemmy.log")).unwrap();
        let child = Command::new(lemmy_bin())
            .env("LEMMY_CONFIG_LOCATION", &config)
            .env("LEMMY_DATABASE_URL", db.as_str())
            .env("RUST_LOG", "warn,lemmy_apub=info")
            .stdout(std::process::Stdio::from(log.try_clone().unwrap()))
            .stderr(std::process::Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .expect("lemmy_server starts");
        let base = format!("http://{LEMMY_HOST}:{port}");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let mut lemmy = Lemmy {
            base,
            jwt: String::new(),
            client,
            dir,
            _child: child,
        };
        let site = format!("{}/api/v3/site", lemmy.base);
        eventually("Lemmy answers", 90, || {
            let c = lemmy.client.clone();
            let site = site.clone();
            async move {
                match c.get(&site).send().await {
                    Ok(r) if r.status().is_success() => Some(()),
                    _ => None,
                }
            }
        })
        .await;
        let login = lemmy
            .post(
                "/api/v3/user/login",
                json!({"username_or_email": "lemmy", "password": "lemmylemmy"}),
            )
            .await;
        lemmy.jwt = login["jwt"]
            .as_str()
            .expect("Lemmy login gives a JWT")
            .to_string();
        // Plain http between loopback names, before anything federates
        // (Lemmy reads the flag once), and room for a test's posts.
        let site = lemmy
            .put(
                "/api/v3/site",
                json!({"federation_debug": true, "registration_mode": "closed", "rate_limit_post": 999, "rate_limit_comment": 999,
                       "rate_limit_message": 999, "rate_limit_search": 999}),
            )
            .await;
        assert!(site.get("site_view").is_some(), "site settings saved: {site}");
        lemmy
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("lemmy.log")).unwrap_or_default()
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Value {
        let r = req.send().await.expect("Lemmy answers");
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return json!({"error": body, "status": status.as_u16()});
        }
        body
    }

    async fn post(&self, path: &str, mut body: Value) -> Value {
        if !self.jwt.is_empty() {
            body["auth"] = json!(self.jwt);
        }
        self.send(self.client.post(format!("{}{path}", self.base)).json(&body))
            .await
    }

    async fn put(&self, path: &str, mut body: Value) -> Value {
        body["auth"] = json!(self.jwt);
        self.send(self.client.put(format!("{}{path}", self.base)).json(&body))
            .await
    }

    async fn get(&self, path: &str, query: &[(&str, String)]) -> Value {
        let mut q: Vec<(&str, String)> = query.to_vec();
        q.push(("auth", self.jwt.clone()));
        self.send(self.client.get(format!("{}{path}", self.base)).query(&q))
            .await
    }

    /// Lemmy's id of a community, resolving it (fetching it) if needed.
    async fn resolve_community(&self, url: &str) -> i64 {
        let r = self
            .get("/api/v3/resolve_object", &[("q", url.to_string())])
            .await;
        r["community"]["community"]["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("Lemmy resolves {url}: {r}\nLemmy log:\n{}", self.log()))
    }
}

async fn forum_threads(coop: &Instance, key: &str) -> Vec<Value> {
    let (_, list) = coop
        .api(reqwest::Method::GET, &format!("/forums/{key}/threads"), None)
        .await;
    list["items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forums_with_a_real_lemmy() {
    let lemmy = Lemmy::start().await;
    let coop = Instance::start_on(Backend::Sqlite, "bakers", "localhost").await;
    let (status, forum) = coop
        .api(
            reqwest::Method::POST,
            "/forums",
            Some(json!({"handle": "general", "name": "Bakers' general talk",
                        "description": "Flour, ovens and everything else.", "visibility": "public"})),
        )
        .await;
    assert_eq!(status, 201, "{forum}");
    let group = forum["actor_id"].as_str().unwrap().to_string();
    // A thread from before anyone on Lemmy knew the forum.
    let (status, _) = coop
        .api(
            reqwest::Method::POST,
            "/forums/general/threads",
            Some(json!({"title": "Welcome to the bakers' forum", "body": "Introduce yourself."})),
        )
        .await;
    assert_eq!(status, 201);
    eventually("the welcome thread is announced", 10, || async {
        let doc = coop.ap_get(&format!("{group}/outbox")).await;
        (doc["totalItems"] == 1).then_some(())
    })
    .await;

    // A Lemmy user subscribes to the forum: Lemmy fetches the Group, sends
    // Follow, and our Accept makes the subscription.
    let community = lemmy.resolve_community(&group).await;
    let r = lemmy
        .post(
            "/api/v3/community/follow",
            json!({"community_id": community, "follow": true}),
        )
        .await;
    assert!(r.get("community_view").is_some(), "{r}");
    eventually("Lemmy's subscription is accepted", 30, || async {
        let c = lemmy
            .get("/api/v3/community", &[("id", community.to_string())])
            .await;
        (c["community_view"]["subscribed"] == "Subscribed").then_some(())
    })
    .await;

    // A thread posted on the web (through the API) reaches the Lemmy user.
    let (status, thread) = coop
        .api(
            reqwest::Method::POST,
            "/forums/general/threads",
            Some(json!({"title": "Sourdough starter swap", "body": "Bring a jar on **Friday**."})),
        )
        .await;
    assert_eq!(status, 201, "{thread}");
    let posts = || async {
        let list = lemmy
            .get(
                "/api/v3/post/list",
                &[("community_id", community.to_string()), ("sort", "New".into())],
            )
            .await;
        list["posts"].as_array().cloned().unwrap_or_default()
    };
    let seen = eventually("the thread shows in Lemmy", 30, || async {
        posts()
            .await
            .into_iter()
            .find(|p| p["post"]["name"] == "Sourdough starter swap")
    })
    .await;
    assert_eq!(seen["post"]["ap_id"], thread["ap_id"]);
    // Lemmy read the group's outbox when it first fetched it.
    assert!(
        posts()
            .await
            .iter()
            .any(|p| p["post"]["name"] == "Welcome to the bakers' forum"),
        "Lemmy backfills the threads from before the subscription"
    );

    // A Lemmy user's post and comment in the forum appear on our thread page.
    let created = lemmy
        .post(
            "/api/v3/post",
            json!({"name": "Rye flour supplier?", "community_id": community, "body": "Looking for **organic** rye."}),
        )
        .await;
    let post_id = created["post_view"]["post"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("Lemmy made the post: {created}"));
    let ours = eventually("Lemmy's post arrives as a thread", 30, || async {
        forum_threads(&coop, "general")
            .await
            .into_iter()
            .find(|t| t["title"] == "Rye flour supplier?")
    })
    .await;
    let comment = lemmy
        .post(
            "/api/v3/comment",
            json!({"content": "The mill in Ledbury sells it.", "post_id": post_id}),
        )
        .await;
    assert!(comment.get("comment_view").is_some(), "{comment}");
    let page_url = ours["url"].as_str().unwrap().to_string();
    eventually("the comment shows on the thread page", 30, || async {
        let html = reqwest::get(&page_url).await.ok()?.text().await.ok()?;
        (html.contains("The mill in Ledbury sells it.") && html.contains("organic")).then_some(())
    })
    .await;

    // The co-op follows a Lemmy community and shows its posts.
    let made = lemmy
        .post(
            "/api/v3/community",
            json!({"name": "gardening", "title": "Gardening"}),
        )
        .await;
    let garden = made["community_view"]["community"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("Lemmy made the community: {made}"));
    let garden_url = made["community_view"]["community"]["actor_id"]
        .as_str()
        .unwrap()
        .to_string();
    let web = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login_page = web
        .get(coop.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = |html: &str| {
        html.split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap()
            .to_string()
    };
    let r = web
        .post(coop.url("/login"))
        .form(&[
            ("csrf", csrf(&login_page)),
            ("username", federation_tests::ADMIN.into()),
            ("password", federation_tests::PASSWORD.into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let list = web
        .get(coop.url("/forums"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = web
        .post(coop.url("/forums/subscribe"))
        .form(&[("csrf", csrf(&list)), ("address", garden_url.clone())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    let key = format!(
        "gardening@{LEMMY_HOST}:{}",
        garden_url
            .split(':')
            .nth(2)
            .and_then(|p| p.split('/').next())
            .unwrap()
    );
    eventually("Lemmy accepts the co-op's follow", 30, || async {
        let html = web
            .get(coop.url("/forums"))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        (html.contains("Gardening") && !html.contains("waiting for the forum to accept")).then_some(())
    })
    .await;
    let p = lemmy
        .post(
            "/api/v3/post",
            json!({"name": "When to sow beans", "community_id": garden, "body": "After the last frost."}),
        )
        .await;
    assert!(p.get("post_view").is_some(), "{p}");
    let shown = eventually("the Lemmy post shows in the followed forum", 30, || async {
        forum_threads(&coop, &key)
            .await
            .into_iter()
            .find(|t| t["title"] == "When to sow beans")
    })
    .await;
    let html = reqwest::get(shown["url"].as_str().unwrap())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("After the last frost."), "{html}");
    let forum_page = reqwest::get(coop.url(&format!("/forums/{key}")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(forum_page.contains("When to sow beans"));
}
