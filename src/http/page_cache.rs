//! Rendered pages for anonymous visitors, kept for `page_cache_seconds`
//! (1 s by default). Anonymous readers of a co-op's home page, its news,
//! events, polls, forums and threads all see the same page but for one thing: the
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
    /// The page cut at each `CSRF_PLACEHOLDER`: the visitor's token goes
    /// between two parts.
    parts: Vec<String>,
    /// The same page gzipped, for the browsers that accept it (all do);
    /// none if compressing failed, and then it is sent uncompressed.
    gzip: Option<Gzipped>,
}

impl Page {
    fn new(headers: HeaderMap, body: &str) -> Page {
        let parts: Vec<String> = body.split(CSRF_PLACEHOLDER).map(str::to_string).collect();
        let gzip = Gzipped::new(&parts);
        Page { headers, parts, gzip }
    }

    fn filled(&self, csrf: &str) -> Vec<u8> {
        let total: usize = self.parts.iter().map(String::len).sum();
        let mut out = Vec::with_capacity(total + csrf.len() * self.parts.len());
        for (i, part) in self.parts.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(csrf.as_bytes());
            }
            out.extend_from_slice(part.as_bytes());
        }
        out
    }
}

/// A page compressed once, so that no visitor's request compresses it
/// again (per hit that was most of a cached page's cost for a browser),
/// yet each visitor's token is in it.
///
/// One gzip member holds one DEFLATE stream, which is a series of blocks:
/// each part of the page is compressed on its own and ends on a byte
/// boundary (a sync flush), and the token goes between them as a stored
/// (uncompressed) block written per request. The gzip trailer's CRC-32 of
/// the whole page is combined from the parts' and the token's.
struct Gzipped {
    /// The compressed parts; the last one ends the stream.
    deflated: Vec<Vec<u8>>,
    crcs: Vec<crc32fast::Hasher>,
    /// The uncompressed length of the page without its tokens.
    len: usize,
}

/// Level 6, gzip's own default: the page is compressed once a second at
/// most, so the better ratio costs nothing per visitor.
const GZIP_LEVEL: u32 = 6;

impl Gzipped {
    fn new(parts: &[String]) -> Option<Gzipped> {
        let last = parts.len().saturating_sub(1);
        Some(Gzipped {
            deflated: parts
                .iter()
                .enumerate()
                .map(|(i, p)| deflate(p.as_bytes(), i == last))
                .collect::<Option<_>>()?,
            crcs: parts
                .iter()
                .map(|p| {
                    let mut h = crc32fast::Hasher::new();
                    h.update(p.as_bytes());
                    h
                })
                .collect(),
            len: parts.iter().map(String::len).sum(),
        })
    }

    fn filled(&self, csrf: &str) -> Vec<u8> {
        // Tokens are short: a stored block holds up to 65,535 bytes.
        let token = &csrf.as_bytes()[..csrf.len().min(u16::MAX as usize)];
        let size: usize = self.deflated.iter().map(Vec::len).sum();
        let mut out = Vec::with_capacity(size + 18 + (token.len() + 5) * self.deflated.len());
        // ID1 ID2, deflate, no flags, no time, no extra flags, unknown OS.
        out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
        let mut crc = crc32fast::Hasher::new();
        let mut token_crc = crc32fast::Hasher::new();
        token_crc.update(token);
        for (i, (part, part_crc)) in self.deflated.iter().zip(&self.crcs).enumerate() {
            if i > 0 {
                // A stored block, not the last: BFINAL 0, BTYPE 00, padded
                // to the byte; then LEN and its complement, little-endian.
                let n = token.len() as u16;
                out.push(0);
                out.extend_from_slice(&n.to_le_bytes());
                out.extend_from_slice(&(!n).to_le_bytes());
                out.extend_from_slice(token);
                crc.combine(&token_crc);
            }
            out.extend_from_slice(part);
            crc.combine(part_crc);
        }
        let len = self.len + token.len() * self.deflated.len().saturating_sub(1);
        out.extend_from_slice(&crc.finalize().to_le_bytes());
        out.extend_from_slice(&(len as u32).to_le_bytes());
        out
    }
}

/// Raw DEFLATE of `data`, ending on a byte boundary (a sync flush) so that
/// another block can follow, or ending the stream when `last`.
fn deflate(data: &[u8], last: bool) -> Option<Vec<u8>> {
    use flate2::{Compress, Compression, FlushCompress, Status};
    let mut c = Compress::new(Compression::new(GZIP_LEVEL), false);
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(data.len() / 3 + 64);
    loop {
        if out.capacity() - out.len() < 64 {
            out.reserve(out.capacity().max(1024));
        }
        let read = usize::try_from(c.total_in())
            .unwrap_or(data.len())
            .min(data.len());
        let status = c.compress_vec(&data[read..], &mut out, flush);
        let read_all = usize::try_from(c.total_in()).is_ok_and(|n| n >= data.len());
        match status {
            Ok(Status::StreamEnd) => break,
            // A flush is complete once it leaves room in the output.
            Ok(_) if !last && read_all && out.len() < out.capacity() => break,
            Ok(_) => {}
            // Compressing into a growing Vec does not fail; were it to, the
            // stream would be wrong, so the page is sent uncompressed.
            Err(_) => return None,
        }
    }
    Some(out)
}

/// Whether the request takes gzip (`Accept-Encoding`, RFC 9110 12.5.3):
/// named, or `*`, without `q=0`.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|item| {
            let mut fields = item.split(';').map(str::trim);
            let coding = fields.next().unwrap_or("");
            let refused = fields.any(|f| {
                f.strip_prefix("q=")
                    .or_else(|| f.strip_prefix("Q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            let named = coding.eq_ignore_ascii_case("gzip");
            (named || coding == "*").then_some((named, !refused))
        })
        // gzip named decides; `*` only when it is not.
        .max_by_key(|(named, _)| *named)
        .is_some_and(|(_, taken)| taken)
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

    fn put(&self, key: (String, String), page: Arc<Page>) {
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
                    page,
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
        || ["/news", "/events", "/polls", "/forums", "/threads"]
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
    // The token goes into the page as it is, unescaped: a cookie someone
    // planted with other characters is rendered (and escaped) the usual way.
    if csrf.is_empty()
        || !csrf
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return next.run(req).await;
    }
    let language = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(64)
        .collect::<String>();
    let key = (req.uri().path().to_string(), language);
    let gzip = accepts_gzip(req.headers());
    if let Lookup::Page(p) = cache.get(&key) {
        return serve_page(&p, &csrf, gzip);
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
        let page = Arc::new(Page::new(headers, text));
        cache.put(key, page.clone());
        return serve_page(&page, &csrf, gzip);
    }
    cache.forget(&key);
    let mut resp = Response::new(Body::from(text.replace(CSRF_PLACEHOLDER, &csrf)));
    *resp.status_mut() = parts.status;
    *resp.headers_mut() = headers;
    resp
}

/// A cached page with the visitor's token, gzipped when they take it (the
/// compression layer leaves a response that has its encoding alone).
fn serve_page(page: &Page, csrf: &str, gzip: bool) -> Response {
    let mut headers = page.headers.clone();
    headers.append(header::VARY, header::HeaderValue::from_static("accept-encoding"));
    let body = match page.gzip.as_ref().filter(|_| gzip) {
        Some(zipped) => {
            headers.insert(header::CONTENT_ENCODING, header::HeaderValue::from_static("gzip"));
            zipped.filled(csrf)
        }
        None => page.filled(csrf),
    };
    let mut resp = Response::new(Body::from(body));
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
            "/threads/sharing-the-press",
            "/threads/remote/12",
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
            "/threadsx",
        ] {
            assert!(!cacheable_path(p), "{p}");
        }
    }

    #[test]
    fn entries_expire_and_are_bounded() {
        let c = PageCache::new(Duration::from_millis(50));
        let key = |i: usize| (format!("/news/{i}"), String::new());
        let body = |l: Lookup| match l {
            Lookup::Page(p) => Some(String::from_utf8(p.filled("")).unwrap()),
            Lookup::Fill => None,
        };
        let page = |b: &str| Arc::new(Page::new(HeaderMap::new(), b));
        c.put(key(0), page("a"));
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
        c.put(key(0), page("b"));
        assert_eq!(body(c.get(&key(0))), Some("b".into()), "then the new one");
        c.forget(&key(0));
        assert_eq!(
            body(c.get(&key(0))),
            None,
            "a page that cannot be kept is not served"
        );
        let c = PageCache::new(Duration::from_secs(60));
        for i in 0..MAX_ENTRIES + 10 {
            c.put(key(i), page("p"));
        }
        assert!(c.pages.lock().unwrap().len() <= MAX_ENTRIES);
    }

    fn gunzip(data: &[u8]) -> String {
        use std::io::Read;
        let mut out = String::new();
        flate2::read::GzDecoder::new(data)
            .read_to_string(&mut out)
            .expect("a valid gzip stream, CRC and length included");
        out
    }

    #[test]
    fn each_visitor_gets_the_gzipped_page_with_their_token() {
        let text = format!(
            "<html><form><input name=csrf value={CSRF_PLACEHOLDER}></form>{}<form><input value={CSRF_PLACEHOLDER}></form></html>",
            "<p>The harvest went well.</p>".repeat(2000)
        );
        let page = Page::new(HeaderMap::new(), &text);
        let expected = text.replace(CSRF_PLACEHOLDER, "tokenA");
        assert_eq!(String::from_utf8(page.filled("tokenA")).unwrap(), expected);
        let zipped = page.gzip.as_ref().unwrap().filled("tokenA");
        assert!(
            zipped.len() < text.len() / 10,
            "compressed: {} bytes",
            zipped.len()
        );
        assert_eq!(gunzip(&zipped), expected);
        assert_eq!(
            gunzip(&page.gzip.as_ref().unwrap().filled("tokenB")),
            text.replace(CSRF_PLACEHOLDER, "tokenB")
        );
        // A page with no form, and an empty one, are whole streams too.
        for t in ["<p>no form</p>", ""] {
            assert_eq!(
                gunzip(&Page::new(HeaderMap::new(), t).gzip.unwrap().filled("x")),
                t
            );
        }
        // Forms at the very start and end leave empty parts.
        let edge = format!("{CSRF_PLACEHOLDER}middle{CSRF_PLACEHOLDER}");
        assert_eq!(
            gunzip(&Page::new(HeaderMap::new(), &edge).gzip.unwrap().filled("t")),
            "tmiddlet"
        );
    }

    #[test]
    fn gzip_is_served_only_when_accepted() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::ACCEPT_ENCODING, v.parse().unwrap());
            m
        };
        for yes in ["gzip, deflate, br, zstd", "br;q=1.0, gzip;q=0.8", "*", "GZIP"] {
            assert!(accepts_gzip(&h(yes)), "{yes}");
        }
        for no in [
            "br",
            "identity",
            "gzip;q=0",
            "gzip; q=0.0, br",
            "x-gzip2",
            "gzip;q=0, *",
            "*, gzip;q=0",
        ] {
            assert!(!accepts_gzip(&h(no)), "{no}");
        }
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
