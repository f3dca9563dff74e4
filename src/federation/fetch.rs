//! Outgoing HTTP for federation: fetching remote actors and objects (signed
//! by our instance actor) and delivering activities. Every request is
//! guarded: no private, loopback or link-local address outside local mode
//! (the check runs on every resolved address and on IP-literal URLs, so DNS
//! rebinding and redirects cannot get around it), https only outside local
//! mode, no proxy from the environment, at most 3 redirects (followed here,
//! not by reqwest, so that the final URL is known and a signed GET is never
//! re-sent to another origin), a 1 MB response cap and a 10 s timeout.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

use super::signatures::{sign_cavage, PrivateKey};

pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
pub const TIMEOUT: Duration = Duration::from_secs(10);
pub const MAX_REDIRECTS: usize = 3;
pub const AP_ACCEPT: &str =
    "application/activity+json, application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("refusing to contact {0}: it is a private, loopback or link-local address")]
    Forbidden(String),
    #[error("{0} is not an http(s) URL")]
    BadUrl(String),
    #[error("the remote server answered {status} for {url}")]
    Status { status: u16, url: String },
    #[error("the remote server's answer is over {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
    #[error("the remote server's answer is not valid JSON: {0}")]
    NotJson(String),
    #[error("could not reach {url}: {cause}")]
    Network { url: String, cause: String },
    #[error("{url} answered with the content type {content_type:?}, not ActivityPub JSON (application/activity+json)")]
    ContentType { url: String, content_type: String },
    #[error("too many redirects from {0}")]
    TooManyRedirects(String),
}

impl FetchError {
    /// A description that names what failed but not the network's answer:
    /// for error bodies sent to a remote peer or an anonymous visitor, so
    /// that they cannot be used to probe which hosts and ports answer.
    pub fn public_message(&self) -> &'static str {
        match self {
            FetchError::Forbidden(_) | FetchError::BadUrl(_) => "the address is not one this server fetches",
            FetchError::Status { .. } | FetchError::Network { .. } | FetchError::TooManyRedirects(_) => {
                "the document could not be fetched"
            }
            FetchError::TooLarge | FetchError::NotJson(_) | FetchError::ContentType { .. } => {
                "the document is not a usable ActivityPub document"
            }
        }
    }
}

/// What a fetch returned, and where it was finally served from: identity
/// checks compare a document's `id` with `final_url`, never with the URL we
/// asked for (an open redirect would otherwise let one origin speak for another).
#[derive(Debug, Clone)]
pub struct Fetched {
    pub doc: serde_json::Value,
    pub final_url: url::Url,
    /// A redirect crossed to another origin on the way.
    pub cross_origin: bool,
}

/// Which answers a GET accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// `application/activity+json`, or `application/ld+json` with the
    /// ActivityStreams profile (as Mastodon's `valid_activitypub_content_type?`).
    ActivityJson,
    /// Any JSON (WebFinger's JRD).
    Json,
}

/// Whether a Content-Type names ActivityPub JSON.
pub fn is_activity_json(content_type: &str) -> bool {
    let mut parts = content_type.split(';').map(str::trim);
    let mime = parts.next().unwrap_or("").to_ascii_lowercase();
    match mime.as_str() {
        "application/activity+json" => true,
        "application/ld+json" => parts.any(|p| {
            p.split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("profile")
                    && v.trim()
                        .trim_matches('"')
                        .split_whitespace()
                        .any(|p| p == "https://www.w3.org/ns/activitystreams")
            })
        }),
        _ => false,
    }
}

/// True for addresses a federation request must never reach outside local
/// mode: loopback, private ranges, link-local (cloud metadata lives at
/// 169.254.169.254), unique-local, unspecified, multicast, documentation and
/// shared (CGNAT) ranges.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                // Benchmarking (RFC 2544): often routed inside data centres.
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_forbidden(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            // IPv4-compatible (::a.b.c.d, deprecated but still routed by some
            // stacks): judge the embedded address.
            if seg[..6].iter().all(|s| *s == 0) && !v6.is_loopback() && !v6.is_unspecified() {
                let [a, b] = [seg[6].to_be_bytes(), seg[7].to_be_bytes()];
                return is_forbidden(IpAddr::V4(std::net::Ipv4Addr::new(a[0], a[1], b[0], b[1])));
            }
            // 6to4 (2002::/16) wraps an IPv4 address: judge that one.
            if seg[0] == 0x2002 {
                let [a, b] = [seg[1].to_be_bytes(), seg[2].to_be_bytes()];
                if is_forbidden(IpAddr::V4(std::net::Ipv4Addr::new(a[0], a[1], b[0], b[1]))) {
                    return true;
                }
            }
            // IPv4-translated (::ffff:0:a.b.c.d, RFC 2765).
            if seg[..4].iter().all(|s| *s == 0) && seg[4] == 0xffff && seg[5] == 0 {
                let [a, b] = [seg[6].to_be_bytes(), seg[7].to_be_bytes()];
                return is_forbidden(IpAddr::V4(std::net::Ipv4Addr::new(a[0], a[1], b[0], b[1])));
            }
            v6.is_loopback()
                // Site-local (fec0::/10, deprecated but routed by some networks).
                || (seg[0] & 0xffc0) == 0xfec0
                // NAT64 (64:ff9b::/96 and the local-use 64:ff9b:1::/48) reach
                // IPv4 space, private ranges included.
                || (seg[0] == 0x64 && seg[1] == 0xff9b)
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
                || (seg[0] == 0x2001 && seg[1] == 0x0db8)
        }
    }
}

/// Name resolution, behind a trait so the guard can be tested with a fake
/// resolver and no network at all.
pub trait Lookup: Send + Sync + 'static {
    fn lookup(&self, host: String) -> futures::future::BoxFuture<'static, std::io::Result<Vec<IpAddr>>>;
}

/// The system resolver.
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(&self, host: String) -> futures::future::BoxFuture<'static, std::io::Result<Vec<IpAddr>>> {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    }
}

/// A resolver for reqwest that drops forbidden addresses.
pub struct GuardedResolver<L> {
    pub lookup: L,
    pub allow_private: bool,
}

impl<L: Lookup> GuardedResolver<L> {
    pub async fn resolve_checked(&self, host: &str) -> Result<Vec<IpAddr>, FetchError> {
        let ips = self
            .lookup
            .lookup(host.to_string())
            .await
            .map_err(|e| FetchError::Network {
                url: host.to_string(),
                cause: e.to_string(),
            })?;
        let allowed: Vec<IpAddr> = ips
            .into_iter()
            .filter(|ip| self.allow_private || !is_forbidden(*ip))
            .collect();
        if allowed.is_empty() {
            return Err(FetchError::Forbidden(host.to_string()));
        }
        Ok(allowed)
    }
}

impl<L: Lookup> reqwest::dns::Resolve for GuardedResolver<L> {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        let fut = self.lookup.lookup(host.clone());
        let allow_private = self.allow_private;
        Box::pin(async move {
            let ips = fut
                .await
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            let addrs: Vec<SocketAddr> = ips
                .into_iter()
                .filter(|ip| allow_private || !is_forbidden(*ip))
                .map(|ip| SocketAddr::new(ip, 0))
                .collect();
            if addrs.is_empty() {
                return Err(Box::new(FetchError::Forbidden(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Checks a URL before any request (and before each redirect): https only
/// outside local mode, and IP literals (which skip DNS) not private.
pub fn check_url(url: &url::Url, allow_private: bool) -> Result<(), FetchError> {
    let scheme_ok = url.scheme() == "https" || (allow_private && url.scheme() == "http");
    if !scheme_ok {
        return Err(FetchError::BadUrl(url.to_string()));
    }
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        Some(url::Host::Domain(d)) if d == "localhost" || d.ends_with(".localhost") => {
            Some(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST))
        }
        Some(url::Host::Domain(_)) => None,
        None => return Err(FetchError::BadUrl(url.to_string())),
    };
    if let Some(ip) = ip {
        if !allow_private && is_forbidden(ip) {
            return Err(FetchError::Forbidden(url.to_string()));
        }
    }
    Ok(())
}

/// The HTTP client for federation, and the key our GETs are signed with.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    allow_private: bool,
}

impl Fetcher {
    /// `allow_private` is true only in local mode (tests, development).
    pub fn new(allow_private: bool, domain: &str) -> Fetcher {
        let user_agent = format!("Intercoop/{} (+https://{domain}/)", env!("CARGO_PKG_VERSION"));
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .user_agent(user_agent)
            .dns_resolver(Arc::new(GuardedResolver {
                lookup: SystemLookup,
                allow_private,
            }))
            // Redirects are followed by `get`, hop by hop; deliveries never follow them.
            .redirect(reqwest::redirect::Policy::none())
            // HTTP(S)_PROXY from the environment would route around the address guard.
            .no_proxy()
            .build()
            .expect("the HTTP client configuration is valid");
        Fetcher {
            client,
            allow_private,
        }
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub fn allow_private(&self) -> bool {
        self.allow_private
    }

    /// GETs a JSON document, signed with `signer` (key, key id) when given.
    /// Redirects are followed here (at most [`MAX_REDIRECTS`]), each hop
    /// checked like the first; the signature is only sent to the origin we
    /// were asked to fetch from, so that a redirect cannot carry our signed
    /// instance-actor GET to another server.
    pub async fn get(
        &self,
        url: &str,
        signer: Option<&(PrivateKey, String)>,
        expect: Expect,
    ) -> Result<Fetched, FetchError> {
        let first = url::Url::parse(url).map_err(|_| FetchError::BadUrl(url.to_string()))?;
        let mut current = first.clone();
        let mut cross_origin = false;
        for _ in 0..=MAX_REDIRECTS {
            check_url(&current, self.allow_private)?;
            let mut req = self.client.get(current.clone()).header("accept", AP_ACCEPT);
            if let Some(signer) = signer.filter(|_| current.origin() == first.origin()) {
                for (k, v) in sign_cavage(
                    &signer.0,
                    &signer.1,
                    "GET",
                    &current,
                    None,
                    std::time::SystemTime::now(),
                ) {
                    req = req.header(k, v);
                }
            }
            let resp = req.send().await.map_err(|e| FetchError::Network {
                url: current.to_string(),
                cause: e.to_string(),
            })?;
            let status = resp.status();
            if status.is_redirection() {
                let next = resp
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| current.join(l).ok())
                    .ok_or_else(|| FetchError::Status {
                        status: status.as_u16(),
                        url: current.to_string(),
                    })?;
                cross_origin |= next.origin() != current.origin();
                current = next;
                continue;
            }
            if !status.is_success() {
                return Err(FetchError::Status {
                    status: status.as_u16(),
                    url: current.to_string(),
                });
            }
            let content_type = resp
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            if expect == Expect::ActivityJson && !is_activity_json(&content_type) {
                return Err(FetchError::ContentType {
                    url: current.to_string(),
                    content_type,
                });
            }
            let body = read_capped(resp).await?;
            let doc = serde_json::from_slice(&body).map_err(|e| FetchError::NotJson(e.to_string()))?;
            return Ok(Fetched {
                doc,
                final_url: current,
                cross_origin,
            });
        }
        Err(FetchError::TooManyRedirects(url.to_string()))
    }

    /// GETs an ActivityPub document; see [`Fetcher::get`].
    pub async fn get_json(
        &self,
        url: &str,
        signer: Option<&(PrivateKey, String)>,
    ) -> Result<serde_json::Value, FetchError> {
        Ok(self.get(url, signer, Expect::ActivityJson).await?.doc)
    }
}

/// Reads a response body, refusing more than [`MAX_RESPONSE_BYTES`].
pub async fn read_capped(resp: reqwest::Response) -> Result<Vec<u8>, FetchError> {
    if resp
        .content_length()
        .is_some_and(|n| n as usize > MAX_RESPONSE_BYTES)
    {
        return Err(FetchError::TooLarge);
    }
    let url = resp.url().to_string();
    let mut stream = resp.bytes_stream();
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| FetchError::Network {
            url: url.clone(),
            cause: e.to_string(),
        })?;
        if out.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(FetchError::TooLarge);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A resolver that answers from a table: no network.
    struct FakeLookup(Vec<IpAddr>);

    impl Lookup for FakeLookup {
        fn lookup(&self, _host: String) -> futures::future::BoxFuture<'static, std::io::Result<Vec<IpAddr>>> {
            let ips = self.0.clone();
            Box::pin(async move { Ok(ips) })
        }
    }

    #[test]
    fn forbidden_ranges() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fc00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b::808:808",
            "198.18.0.1",
            "198.19.255.254",
            "::10.0.0.1",
            "::127.0.0.1",
            "fec0::1",
            "2002:a00:1::1",
            "2002:7f00:1::1",
            "::ffff:0:10.0.0.1",
        ] {
            assert!(is_forbidden(ip.parse().unwrap()), "{ip} must be refused");
        }
        for ip in [
            "93.184.216.34",
            "2606:4700::1111",
            "8.8.8.8",
            "198.20.0.1",
            "::8.8.8.8",
        ] {
            assert!(!is_forbidden(ip.parse().unwrap()), "{ip} is public");
        }
    }

    #[tokio::test]
    async fn the_resolver_drops_private_answers() {
        let guard = GuardedResolver {
            lookup: FakeLookup(vec![
                "10.0.0.7".parse().unwrap(),
                "169.254.169.254".parse().unwrap(),
            ]),
            allow_private: false,
        };
        assert!(matches!(
            guard.resolve_checked("evil.example").await,
            Err(FetchError::Forbidden(_))
        ));
        // A name that resolves to one public and one private address keeps only the public one.
        let mixed = GuardedResolver {
            lookup: FakeLookup(vec![
                "10.0.0.7".parse().unwrap(),
                "93.184.216.34".parse().unwrap(),
            ]),
            allow_private: false,
        };
        assert_eq!(
            mixed.resolve_checked("mixed.example").await.unwrap(),
            vec!["93.184.216.34".parse::<IpAddr>().unwrap()]
        );
        // Local mode allows them.
        let local = GuardedResolver {
            lookup: FakeLookup(vec!["127.0.0.1".parse().unwrap()]),
            allow_private: true,
        };
        assert!(local.resolve_checked("localhost").await.is_ok());
    }

    /// A proxy from the environment would carry requests past the address
    /// guard: the client must ignore HTTP(S)_PROXY. The proxy named here
    /// does not exist, so the fetch only succeeds if it is ignored.
    #[tokio::test]
    async fn environment_proxies_are_ignored() {
        const PROXY_VARS: [&str; 6] = [
            "HTTP_PROXY",
            "http_proxy",
            "HTTPS_PROXY",
            "https_proxy",
            "ALL_PROXY",
            "all_proxy",
        ];
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        crate::server::init_tls();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let body = r#"{"id":"x"}"#;
                let _ = s
                    .write_all(
                        format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/activity+json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        )
                        .as_bytes(),
                    )
                    .await;
            }
        });
        for var in PROXY_VARS {
            std::env::set_var(var, "http://127.0.0.1:1");
        }
        let fetcher = Fetcher::new(true, "coop.example");
        let got = fetcher
            .get_json(&format!("http://127.0.0.1:{port}/a"), None)
            .await;
        for var in PROXY_VARS {
            std::env::remove_var(var);
        }
        assert_eq!(got.unwrap()["id"], "x");
    }

    #[test]
    fn activity_json_content_types() {
        assert!(is_activity_json("application/activity+json"));
        assert!(is_activity_json("application/activity+json; charset=utf-8"));
        assert!(is_activity_json(
            "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\""
        ));
        assert!(!is_activity_json("application/ld+json"));
        assert!(!is_activity_json("application/json"));
        assert!(!is_activity_json("text/html"));
        assert!(!is_activity_json(""));
    }

    #[test]
    fn ip_literal_urls_are_checked_without_dns() {
        let u = |s: &str| url::Url::parse(s).unwrap();
        assert!(matches!(
            check_url(&u("https://169.254.169.254/latest"), false),
            Err(FetchError::Forbidden(_))
        ));
        assert!(matches!(
            check_url(&u("https://[::1]/x"), false),
            Err(FetchError::Forbidden(_))
        ));
        assert!(matches!(
            check_url(&u("https://localhost:8080/"), false),
            Err(FetchError::Forbidden(_))
        ));
        assert!(matches!(
            check_url(&u("ftp://peer.example/"), false),
            Err(FetchError::BadUrl(_))
        ));
        assert!(check_url(&u("https://peer.example/users/a"), false).is_ok());
        // Outside local mode only https, including where a redirect points.
        assert!(matches!(
            check_url(&u("http://peer.example/users/a"), false),
            Err(FetchError::BadUrl(_))
        ));
        assert!(check_url(&u("http://127.0.0.1:9000/"), true).is_ok());
    }
}
