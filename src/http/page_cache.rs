//! Rendered pages for anonymous visitors, kept for `page_cache_seconds`
//! (1 s by default). Anonymous readers of a co-op's home page, its news,
//! events, polls and forums all see the same page but for one thing: the
//! CSRF token of their forms (the follow form, the newsletter form). The
//! page is rendered once with a placeholder where the token goes
//! (`Visitor` in fill mode), and each visitor gets a copy with their own
//! token. A post shared on Mastodon brings every server's link-preview
//! fetcher and hundreds of readers within seconds; on a Raspberry Pi that is
//! the difference between rendering each page once a second and hundreds
//! of times. When a page expires, one request renders it again while the
//! others still get the page as it was.
//!
//! What is never cached: a visitor with a session cookie (logged in, or
//! one that expired and shows a notice), any query string (notices after a
//! form, pages of lists, search), a request that wants JSON (ActivityPub
//! peers negotiate on the same paths), and any answer but a 200 HTML page.
//! A change made through this process (any form, API call or inbox
//! delivery) empties the cache, so a change is seen at once; other
//! processes of a scaled-out instance see it within the cache's lifetime,
//! as they see a domain block.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// Stands for the visitor's CSRF token in a cached page: letters and
/// digits only, so HTML escaping leaves it as it is, and never a token
/// (those are 43 characters of base64).
pub const CSRF_PLACEHOLDER: &str = "icCsrfPlaceholder0c9a4f1e";

/// Marks a request whose page is being rendered for the cache.
#[derive(Clone, Copy)]
pub struct Filling;

/// Beyond this many pages (paths × languages) the cache starts again, so a
/// crawler cannot make it grow without bound.
const MAX_ENTRIES: usize = 512;
/// A cached page is at most this big; larger ones are served uncached.
const MAX_PAGE_BYTES: usize = 2 * 1024 * 1024;
/// Read back in fill mode, the page must come whole (it carries the
/// placeholder): no HTML page comes near this.
const MAX_READ_BYTES: usize = 64 * 1024 * 1024;

/// A rendered page, shared by every visitor it is served to.
struct Page {
    headers: HeaderMap,
    /// The page with `CSRF_PLACEHOLDER` for the token.
    body: String,
}

struct Entry {
    at: Instant,
    page: Arc<Page>,
    /// When one request started rendering the expired page again; until it
    /// is done the others get the page as it was, instead of all rendering
    /// it at once (a hundred concurrent renders of a news page at each
    /// expiry).
    refreshing: Option<Instant>,
}

/// What the cache has for a request.
enum Lookup {
    Page(Arc<Page>),
    /// Nothing to serve: this request renders the page.
    Fill,
}

/// A refresh not done by then is taken to have failed; another request tries.
const REFRESH_GIVE_UP: Duration = Duration::from_secs(10);

pub struct PageCache {
    ttl: Duration,
    pages: Mutex<HashMap<(String, String), Entry>>,
}

impl PageCache {
    pub fn new(ttl: Duration) -> PageCache {
        PageCache {
            ttl,
            pages: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, key: &(String, String)) -> Lookup {
        let Ok(mut pages) = self.pages.lock() else {
            return Lookup::Fill;
        };
        let Some(e) = pages.get_mut(key) else {
            return Lookup::Fill;
        };
        let fresh = e.at.elapsed() < self.ttl;
        let refreshed_by_another = e.refreshing.is_some_and(|t| t.elapsed() < REFRESH_GIVE_UP);
        if fresh || refreshed_by_another {
            return Lookup::Page(e.page.clone());
        }
        e.refreshing = Some(Instant::now());
        Lookup::Fill
    }

    /// The page rendered for `key` cannot be kept (not a 200 HTML page any
    /// more): nobody gets the old one either.
    fn forget(&self, key: &(String, String)) {
        if let Ok(mut pages) = self.pages.lock() {
            pages.remove(key);
        }
    }

    fn put(&self, key: (String, String), headers: HeaderMap, body: String) {
        if let Ok(mut pages) = self.pages.lock() {
            if pages.len() >= MAX_ENTRIES {
                pages.retain(|_, e| e.at.elapsed() < self.ttl);
                if pages.len() >= MAX_ENTRIES {
                    pages.clear();
                }
            }
            pages.insert(
                key,
                Entry {
                    at: Instant::now(),
                    page: Arc::new(Page { headers, body }),
                    refreshing: None,
                },
            );
        }
    }

    pub fn clear(&self) {
        if let Ok(mut pages) = self.pages.lock() {
            pages.clear();
        }
    }
}

/// The pages anonymous visitors share.
fn cacheable_path(path: &str) -> bool {
    path == "/"
        || ["/news", "/events", "/polls", "/forums"]
            .iter()
            .any(|p| path == *p || path.strip_prefix(p).is_some_and(|rest| rest.starts_with('/')))
}

fn anonymous_page_request(req: &Request) -> bool {
    let h = req.headers();
    let has_session = super::auth::cookie(h, super::auth::SESSION_COOKIE).is_some();
    let wants_json = h
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("json"));
    req.method() == Method::GET
        && req.uri().query().is_none()
        && cacheable_path(req.uri().path())
        && !has_session
        && !wants_json
        && !h.contains_key(header::AUTHORIZATION)
}

/// The middleware (inside `ensure_csrf_cookie`, which gives every anonymous
/// visitor a token first).
pub async fn serve(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let cache = &state.page_cache;
    if req.method() != Method::GET && req.method() != Method::HEAD {
        // Forms, API calls and the inbox (a reply from another server)
        // change what pages show: the next visitor sees the change.
        let resp = next.run(req).await;
        cache.clear();
        return resp;
    }
    if cache.ttl.is_zero() || !anonymous_page_request(&req) {
        return next.run(req).await;
    }
    let csrf = super::auth::anonymous_csrf(&req);
    let language = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(64)
        .collect::<String>();
    let key = (req.uri().path().to_string(), language);
    if let Lookup::Page(p) = cache.get(&key) {
        return page(StatusCode::OK, p.headers.clone(), &p.body, &csrf);
    }
    req.extensions_mut().insert(Filling);
    let resp = next.run(req).await;
    let (parts, body) = resp.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_READ_BYTES).await {
        Ok(b) => b,
        Err(e) => {
            // The handler's body failed: the page was rendered for the
            // placeholder, so it cannot be sent as it is.
            tracing::error!(path = %key.0, error = %e, "a page for anonymous visitors could not be read back");
            cache.forget(&key);
            return Response::builder()
                .status(StatusCode::INTERNAL_SERVER_ERROR)
                .body(Body::from("The page could not be built. Try again."))
                .unwrap_or_default();
        }
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        // Not text (a picture, a calendar file): no token in it either.
        cache.forget(&key);
        return Response::from_parts(parts, Body::from(bytes));
    };
    let mut headers = parts.headers;
    headers.remove(header::CONTENT_LENGTH);
    let html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if parts.status == StatusCode::OK
        && html
        && text.len() <= MAX_PAGE_BYTES
        && !headers.contains_key(header::SET_COOKIE)
    {
        cache.put(key, headers.clone(), text.to_string());
    } else {
        cache.forget(&key);
    }
    page(parts.status, headers, text, &csrf)
}

fn page(status: StatusCode, headers: HeaderMap, body: &str, csrf: &str) -> Response {
    let mut resp = Response::new(Body::from(body.replace(CSRF_PLACEHOLDER, csrf)));
    *resp.status_mut() = status;
    *resp.headers_mut() = headers;
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_pages_are_shared() {
        for p in [
            "/",
            "/news",
            "/news/harvest",
            "/events/work-day",
            "/forums/garden/threads/1",
        ] {
            assert!(cacheable_path(p), "{p}");
        }
        for p in [
            "/newsletter",
            "/news.rss",
            "/admin",
            "/login",
            "/media/x.png",
            "/api/v1/news",
            "/eventsx",
        ] {
            assert!(!cacheable_path(p), "{p}");
        }
    }

    #[test]
    fn entries_expire_and_are_bounded() {
        let c = PageCache::new(Duration::from_millis(50));
        let key = |i: usize| (format!("/news/{i}"), String::new());
        let body = |l: Lookup| match l {
            Lookup::Page(p) => Some(p.body.clone()),
            Lookup::Fill => None,
        };
        c.put(key(0), HeaderMap::new(), "a".into());
        assert_eq!(body(c.get(&key(0))), Some("a".into()));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(
            body(c.get(&key(0))),
            None,
            "expired: this request renders it again"
        );
        assert_eq!(
            body(c.get(&key(0))),
            Some("a".into()),
            "meanwhile the others get the page as it was"
        );
        c.put(key(0), HeaderMap::new(), "b".into());
        assert_eq!(body(c.get(&key(0))), Some("b".into()), "then the new one");
        c.forget(&key(0));
        assert_eq!(
            body(c.get(&key(0))),
            None,
            "a page that cannot be kept is not served"
        );
        let c = PageCache::new(Duration::from_secs(60));
        for i in 0..MAX_ENTRIES + 10 {
            c.put(key(i), HeaderMap::new(), "p".into());
        }
        assert!(c.pages.lock().unwrap().len() <= MAX_ENTRIES);
    }
}
