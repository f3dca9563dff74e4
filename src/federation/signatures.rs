//! HTTP signatures: verifying draft-cavage (`Signature`) and RFC 9421
//! (`Signature-Input` + `Signature`) on incoming requests, and signing ours
//! with draft-cavage `rsa-sha256`, which every Mastodon-compatible server
//! accepts.
//!
//! The crypto is `ring` with each key's DER parsed once and cached by the
//! caller: RSA verification is the inbox's main CPU cost, and `ring` verifies
//! several times faster than the pure-Rust `rsa` crate.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ring::signature::{RsaKeyPair, UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use sha2::{Digest, Sha256};

/// How old a signature may be. Mastodon accepts 12 hours
/// (`EXPIRATION_WINDOW_LIMIT`) and Fedify one hour; we follow Mastodon so
/// that retried deliveries from slow queues still verify. Replays inside the
/// window are stopped by de-duplicating activity ids (`inbox_log`).
pub const MAX_AGE_SECS: i64 = 12 * 3600;
/// How far in the future a Date may be (clock skew), as Mastodon's `CLOCK_SKEW_MARGIN`.
pub const MAX_SKEW_SECS: i64 = 3600;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SigError {
    #[error("no Signature header: requests to this inbox must be signed (HTTP Signatures)")]
    Missing,
    #[error("malformed signature header: {0}")]
    Malformed(String),
    #[error("the signature does not cover {0}")]
    NotCovered(&'static str),
    #[error("the request date is outside the accepted window")]
    Expired,
    #[error("the body does not match its digest")]
    DigestMismatch,
    #[error("unsupported signature algorithm {0}")]
    Algorithm(String),
    #[error("the signature does not verify with the signer's key")]
    BadSignature,
    #[error("the signer's key cannot be used: {0}")]
    BadKey(String),
    #[error("the request was signed for another server ({0}), not this one")]
    WrongHost(String),
    #[error("the signature has expired")]
    PastExpiry,
}

/// A public key ready for verification (PKCS#1 DER, as ring wants it).
#[derive(Clone)]
pub struct PublicKey {
    der: Vec<u8>,
}

impl PublicKey {
    pub fn from_pem(pem: &str) -> Result<PublicKey, SigError> {
        let key = rsa::RsaPublicKey::from_public_key_pem(pem.trim())
            .or_else(|_| {
                use rsa::pkcs1::DecodeRsaPublicKey;
                rsa::RsaPublicKey::from_pkcs1_pem(pem.trim())
            })
            .map_err(|e| SigError::BadKey(e.to_string()))?;
        let der = key.to_pkcs1_der().map_err(|e| SigError::BadKey(e.to_string()))?;
        Ok(PublicKey {
            der: der.as_bytes().to_vec(),
        })
    }

    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &self.der)
            .verify(message, signature)
            .is_ok()
    }
}

/// A private key ready for signing.
pub struct PrivateKey {
    pair: RsaKeyPair,
}

impl PrivateKey {
    pub fn from_pem(pem: &str) -> Result<PrivateKey, SigError> {
        let key =
            rsa::RsaPrivateKey::from_pkcs8_pem(pem.trim()).map_err(|e| SigError::BadKey(e.to_string()))?;
        use rsa::pkcs8::EncodePrivateKey;
        let der = key.to_pkcs8_der().map_err(|e| SigError::BadKey(e.to_string()))?;
        let pair = RsaKeyPair::from_pkcs8(der.as_bytes()).map_err(|e| SigError::BadKey(e.to_string()))?;
        Ok(PrivateKey { pair })
    }

    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let rng = ring::rand::SystemRandom::new();
        let mut sig = vec![0u8; self.pair.public().modulus_len()];
        // Signing only fails on a wrong buffer size, which modulus_len rules out.
        let _ = self
            .pair
            .sign(&ring::signature::RSA_PKCS1_SHA256, &rng, message, &mut sig);
        sig
    }
}

/// What a verifier needs from the request.
pub struct RequestParts<'a> {
    pub method: &'a str,
    /// Path and query, as received (`/inbox?x=1`).
    pub path_and_query: &'a str,
    /// The URL the peer sent to (our public base + path), for `@target-uri`.
    pub target_uri: &'a str,
    /// Our configured domain (`host[:port]`): a signed `host` must equal it,
    /// so that a request signed for another server cannot be replayed here.
    pub authority: &'a str,
    pub headers: &'a axum::http::HeaderMap,
    pub body: &'a [u8],
}

/// Which spec a request was signed with, and by which key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedBy {
    pub key_id: String,
    pub spec: Spec,
    /// The decoded signature bytes: the replay cache is keyed on them.
    pub signature: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spec {
    DraftCavage,
    Rfc9421,
}

fn header(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.iter().map(|v| v.trim()).collect::<Vec<_>>().join(", "))
}

pub fn sha256_b64(body: &[u8]) -> String {
    B64.encode(Sha256::digest(body))
}

/// The one value of a header that must appear at most once: two
/// `Signature` lines must never become "use the one that verifies".
fn single(headers: &axum::http::HeaderMap, name: &str) -> Result<Option<String>, SigError> {
    let mut values = headers.get_all(name).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(SigError::Malformed(format!("more than one {name} header")));
    }
    match first {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(|s| Some(s.trim().to_string()))
            .map_err(|_| SigError::Malformed(format!("the {name} header is not text"))),
    }
}

/// A key id must be an http(s) URL: anything else cannot name a key we could fetch.
fn check_key_id(key_id: &str) -> Result<(), SigError> {
    match url::Url::parse(key_id) {
        Ok(u) if (u.scheme() == "https" || u.scheme() == "http") && u.host_str().is_some() => Ok(()),
        _ => Err(SigError::Malformed(format!(
            "the keyId {:?} is not an http(s) URL",
            key_id.chars().take(200).collect::<String>()
        ))),
    }
}

/// The key id the request claims, before anything is verified: the caller
/// uses it to find (or fetch) the key.
pub fn claimed_key(parts: &RequestParts) -> Result<SignedBy, SigError> {
    let signature_header = single(parts.headers, "signature")?;
    if let Some(input) = single(parts.headers, "signature-input")? {
        let sig = parse_rfc9421(&input, signature_header.as_deref().unwrap_or_default())?;
        let key_id = sig
            .params
            .get("keyid")
            .cloned()
            .ok_or(SigError::Malformed("no keyid".into()))?;
        check_key_id(&key_id)?;
        return Ok(SignedBy {
            key_id,
            spec: Spec::Rfc9421,
            signature: sig.signature,
        });
    }
    let raw = signature_header.ok_or(SigError::Missing)?;
    let fields = parse_cavage(&raw)?;
    let key_id = fields
        .get("keyId")
        .cloned()
        .ok_or(SigError::Malformed("no keyId".into()))?;
    check_key_id(&key_id)?;
    let signature = B64
        .decode(fields.get("signature").map(String::as_str).unwrap_or(""))
        .map_err(|_| SigError::Malformed("signature is not base64".into()))?;
    if signature.is_empty() {
        return Err(SigError::Malformed("empty signature".into()));
    }
    Ok(SignedBy {
        key_id,
        spec: Spec::DraftCavage,
        signature,
    })
}

/// Verifies the request's signature with `key` at time `now` (unix seconds).
pub fn verify(parts: &RequestParts, key: &PublicKey, now: i64) -> Result<SignedBy, SigError> {
    let claimed = claimed_key(parts)?;
    match claimed.spec {
        Spec::DraftCavage => verify_cavage(parts, key, now)?,
        Spec::Rfc9421 => verify_rfc9421(parts, key, now)?,
    }
    Ok(claimed)
}

fn check_age(created: i64, now: i64) -> Result<(), SigError> {
    if created > now + MAX_SKEW_SECS || created < now - MAX_AGE_SECS {
        return Err(SigError::Expired);
    }
    Ok(())
}

// ---------------------------------------------------------------- draft-cavage

fn parse_cavage(raw: &str) -> Result<BTreeMap<String, String>, SigError> {
    let mut out = BTreeMap::new();
    let mut rest = raw.trim();
    while !rest.is_empty() {
        let (key, after) = rest
            .split_once('=')
            .ok_or_else(|| SigError::Malformed("expected key=\"value\" pairs".into()))?;
        let after = after.trim_start();
        let (value, tail) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted
                .find('"')
                .ok_or_else(|| SigError::Malformed("unterminated quote".into()))?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        out.insert(key.trim().to_string(), value.to_string());
        rest = tail.trim_start().trim_start_matches(',').trim_start();
    }
    Ok(out)
}

fn verify_cavage(parts: &RequestParts, key: &PublicKey, now: i64) -> Result<(), SigError> {
    let raw = single(parts.headers, "signature")?.ok_or(SigError::Missing)?;
    let fields = parse_cavage(&raw)?;
    match fields.get("algorithm").map(String::as_str) {
        None | Some("rsa-sha256") | Some("hs2019") => {}
        Some(other) => return Err(SigError::Algorithm(other.to_string())),
    }
    let covered: Vec<String> = fields
        .get("headers")
        .map(|h| h.split_whitespace().map(|s| s.to_ascii_lowercase()).collect())
        .unwrap_or_else(|| vec!["date".into()]);
    let covers = |name: &str| covered.iter().any(|c| c == name);
    if !covers("(request-target)") {
        return Err(SigError::NotCovered("(request-target)"));
    }
    if !covers("host") {
        return Err(SigError::NotCovered("host"));
    }
    let host = header(parts.headers, "host").unwrap_or_default();
    if !host.eq_ignore_ascii_case(parts.authority) {
        return Err(SigError::WrongHost(host.chars().take(100).collect()));
    }
    // `expires` (hs2019) in the past ends the signature whether or not
    // `(expires)` is in the covered list.
    if let Some(expires) = fields.get("expires") {
        let expires: i64 = expires
            .trim()
            .parse::<f64>()
            .map_err(|_| SigError::Malformed("expires is not a number".into()))?
            as i64;
        if expires < now {
            return Err(SigError::PastExpiry);
        }
    }
    if !parts.body.is_empty() || parts.method.eq_ignore_ascii_case("POST") {
        if !covers("digest") {
            return Err(SigError::NotCovered("digest"));
        }
        let digest = header(parts.headers, "digest").ok_or(SigError::NotCovered("digest"))?;
        let expected = sha256_b64(parts.body);
        let ok = digest.split(',').any(|d| {
            d.trim()
                .split_once('=')
                .is_some_and(|(alg, v)| alg.eq_ignore_ascii_case("sha-256") && v == expected)
        });
        if !ok {
            return Err(SigError::DigestMismatch);
        }
    }
    // The time: (created) for hs2019, else the Date header.
    let created = if covers("(created)") {
        fields
            .get("created")
            .and_then(|c| c.parse::<i64>().ok())
            .ok_or_else(|| SigError::Malformed("(created) without created=".into()))?
    } else if covers("date") {
        let date = header(parts.headers, "date").ok_or(SigError::NotCovered("date"))?;
        httpdate::parse_http_date(&date)
            .map_err(|_| SigError::Malformed("unreadable Date header".into()))?
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    } else {
        return Err(SigError::NotCovered("date"));
    };
    check_age(created, now)?;

    let mut lines = Vec::with_capacity(covered.len());
    for name in &covered {
        let value = match name.as_str() {
            "(request-target)" => format!("{} {}", parts.method.to_ascii_lowercase(), parts.path_and_query),
            "(created)" => fields.get("created").cloned().unwrap_or_default(),
            "(expires)" => fields.get("expires").cloned().unwrap_or_default(),
            h => header(parts.headers, h)
                .ok_or_else(|| SigError::Malformed(format!("signed header {h} is absent")))?,
        };
        lines.push(format!("{name}: {value}"));
    }
    let signature = B64
        .decode(fields.get("signature").map(String::as_str).unwrap_or(""))
        .map_err(|_| SigError::Malformed("signature is not base64".into()))?;
    if key.verify(lines.join("\n").as_bytes(), &signature) {
        Ok(())
    } else {
        Err(SigError::BadSignature)
    }
}

/// Signs a request with draft-cavage `rsa-sha256`. Returns the headers to
/// add: Date, Digest (when there is a body) and Signature.
pub fn sign_cavage(
    key: &PrivateKey,
    key_id: &str,
    method: &str,
    url: &url::Url,
    body: Option<&[u8]>,
    date: std::time::SystemTime,
) -> Vec<(&'static str, String)> {
    let host = match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or("")),
        None => url.host_str().unwrap_or("").to_string(),
    };
    let mut target = url.path().to_string();
    if let Some(q) = url.query() {
        target.push('?');
        target.push_str(q);
    }
    let date = httpdate::fmt_http_date(date);
    let mut headers = vec![("date", date.clone())];
    let mut names = vec!["(request-target)", "host", "date"];
    let mut lines = vec![
        format!("(request-target): {} {target}", method.to_ascii_lowercase()),
        format!("host: {host}"),
        format!("date: {date}"),
    ];
    if let Some(body) = body {
        let digest = format!("SHA-256={}", sha256_b64(body));
        lines.push(format!("digest: {digest}"));
        names.push("digest");
        headers.push(("digest", digest));
    }
    let signature = B64.encode(key.sign(lines.join("\n").as_bytes()));
    headers.push((
        "signature",
        format!(
            "keyId=\"{key_id}\",algorithm=\"rsa-sha256\",headers=\"{}\",signature=\"{signature}\"",
            names.join(" ")
        ),
    ));
    headers
}

// ---------------------------------------------------------------- RFC 9421

struct Rfc9421Sig {
    components: Vec<String>,
    params: BTreeMap<String, String>,
    /// The inner list and parameters exactly as sent: the `@signature-params` value.
    params_text: String,
    signature: Vec<u8>,
}

/// Splits a structured-field dictionary at top-level commas.
fn split_members(raw: &str) -> Vec<&str> {
    let (mut out, mut start, mut depth, mut quoted) = (Vec::new(), 0, 0i32, false);
    let bytes = raw.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' if i == 0 || bytes[i - 1] != b'\\' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => depth -= 1,
            b',' if !quoted && depth == 0 => {
                out.push(raw[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(raw[start..].trim());
    out.into_iter().filter(|s| !s.is_empty()).collect()
}

fn parse_rfc9421(input: &str, signature: &str) -> Result<Rfc9421Sig, SigError> {
    // We verify the first signature; Fedify and Mastodon send one.
    let member = split_members(input)
        .into_iter()
        .next()
        .ok_or_else(|| SigError::Malformed("empty Signature-Input".into()))?;
    let (label, value) = member
        .split_once('=')
        .ok_or_else(|| SigError::Malformed("Signature-Input needs label=(...)".into()))?;
    let value = value.trim();
    let inner = value
        .strip_prefix('(')
        .and_then(|v| v.split_once(')'))
        .ok_or_else(|| SigError::Malformed("Signature-Input needs an inner list".into()))?;
    let components = inner
        .0
        .split_whitespace()
        .map(|c| c.trim_matches('"').to_string())
        .collect::<Vec<_>>();
    let mut params = BTreeMap::new();
    for p in inner.1.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        params.insert(k.to_string(), v.trim_matches('"').to_string());
    }
    let sig_member = split_members(signature)
        .into_iter()
        .find(|m| m.split_once('=').is_some_and(|(l, _)| l.trim() == label.trim()))
        .ok_or_else(|| SigError::Malformed(format!("no Signature for label {label}")))?;
    let b64 = sig_member
        .split_once('=')
        .map(|(_, v)| v.trim().trim_matches(':'))
        .unwrap_or("");
    let signature = B64
        .decode(b64)
        .map_err(|_| SigError::Malformed("Signature is not a byte sequence".into()))?;
    Ok(Rfc9421Sig {
        components,
        params,
        params_text: value.to_string(),
        signature,
    })
}

fn verify_rfc9421(parts: &RequestParts, key: &PublicKey, now: i64) -> Result<(), SigError> {
    let input = single(parts.headers, "signature-input")?.ok_or(SigError::Missing)?;
    let sig = parse_rfc9421(&input, &single(parts.headers, "signature")?.unwrap_or_default())?;
    match sig.params.get("alg").map(String::as_str) {
        None | Some("rsa-v1_5-sha256") => {}
        Some(other) => return Err(SigError::Algorithm(other.to_string())),
    }
    let created = sig
        .params
        .get("created")
        .and_then(|c| c.parse::<i64>().ok())
        .ok_or_else(|| SigError::Malformed("no created parameter".into()))?;
    check_age(created, now)?;
    if let Some(expires) = sig.params.get("expires") {
        let expires: i64 = expires
            .parse()
            .map_err(|_| SigError::Malformed("expires is not an integer".into()))?;
        if expires < now {
            return Err(SigError::PastExpiry);
        }
    }
    let covers = |name: &str| sig.components.iter().any(|c| c == name);
    // Bound to this server and path: `@target-uri` holds both; otherwise
    // `@authority` with `@path` (or `@request-target`). Their values are
    // computed from our configured base URL, never from the request.
    let bound =
        covers("@target-uri") || (covers("@authority") && (covers("@path") || covers("@request-target")));
    if !bound {
        return Err(SigError::NotCovered("@target-uri (or @authority and @path)"));
    }
    if covers("host") {
        let host = header(parts.headers, "host").unwrap_or_default();
        if !host.eq_ignore_ascii_case(parts.authority) {
            return Err(SigError::WrongHost(host.chars().take(100).collect()));
        }
    }
    if !parts.body.is_empty() || parts.method.eq_ignore_ascii_case("POST") {
        if !covers("content-digest") {
            return Err(SigError::NotCovered("content-digest"));
        }
        let digest = header(parts.headers, "content-digest").ok_or(SigError::NotCovered("content-digest"))?;
        let expected = sha256_b64(parts.body);
        let ok = split_members(&digest).iter().any(|m| {
            m.split_once('=')
                .is_some_and(|(alg, v)| alg.trim() == "sha-256" && v.trim().trim_matches(':') == expected)
        });
        if !ok {
            return Err(SigError::DigestMismatch);
        }
    }
    let url = url::Url::parse(parts.target_uri).map_err(|_| SigError::Malformed("bad target URI".into()))?;
    let authority = parts.authority;
    let mut base = String::new();
    for c in &sig.components {
        let value = match c.as_str() {
            "@method" => parts.method.to_ascii_uppercase(),
            "@target-uri" => parts.target_uri.to_string(),
            "@authority" => authority.to_ascii_lowercase(),
            "@scheme" => url.scheme().to_string(),
            "@path" => url.path().to_string(),
            "@query" => format!("?{}", url.query().unwrap_or("")),
            "@request-target" => parts.path_and_query.to_string(),
            h if h.starts_with('@') => return Err(SigError::Malformed(format!("unsupported component {h}"))),
            h => header(parts.headers, h)
                .ok_or_else(|| SigError::Malformed(format!("signed header {h} is absent")))?,
        };
        base.push_str(&format!("\"{c}\": {value}\n"));
    }
    base.push_str(&format!("\"@signature-params\": {}", sig.params_text));
    if key.verify(base.as_bytes(), &sig.signature) {
        Ok(())
    } else {
        Err(SigError::BadSignature)
    }
}

/// Signs with RFC 9421 the way Fedify does; used by our tests to exercise the
/// verifier as a peer would.
pub fn sign_rfc9421(
    key: &PrivateKey,
    key_id: &str,
    method: &str,
    url: &url::Url,
    body: &[u8],
    created: i64,
) -> Vec<(&'static str, String)> {
    let digest = format!("sha-256=:{}:", sha256_b64(body));
    let authority = match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or("")),
        None => url.host_str().unwrap_or("").to_string(),
    };
    let params = format!(
        "(\"@method\" \"@target-uri\" \"@authority\" \"content-digest\");alg=\"rsa-v1_5-sha256\";keyid=\"{key_id}\";created={created}"
    );
    let base = format!(
        "\"@method\": {}\n\"@target-uri\": {url}\n\"@authority\": {authority}\n\"content-digest\": {digest}\n\"@signature-params\": {params}",
        method.to_ascii_uppercase()
    );
    let sig = B64.encode(key.sign(base.as_bytes()));
    vec![
        ("content-digest", digest),
        ("signature-input", format!("sig1={params}")),
        ("signature", format!("sig1=:{sig}:")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderName, HeaderValue};

    fn keys() -> (PrivateKey, PublicKey) {
        let (public, private) = crate::crypto::generate_actor_keys().unwrap();
        (
            PrivateKey::from_pem(&private).unwrap(),
            PublicKey::from_pem(&public).unwrap(),
        )
    }

    fn to_map(h: &[(&str, String)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in h {
            m.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        m
    }

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    #[test]
    fn cavage_round_trip_and_tampering() {
        let (private, public) = keys();
        let url = url::Url::parse("https://coop.example/inbox").unwrap();
        let body = br#"{"type":"Follow"}"#;
        let mut h = sign_cavage(
            &private,
            "https://peer.example/u#k",
            "POST",
            &url,
            Some(body),
            std::time::SystemTime::now(),
        );
        h.push(("host", "coop.example".into()));
        let headers = to_map(&h);
        let parts = RequestParts {
            method: "POST",
            path_and_query: "/inbox",
            target_uri: url.as_str(),
            authority: url.authority(),
            headers: &headers,
            body,
        };
        let by = verify(&parts, &public, now()).unwrap();
        assert_eq!(by.key_id, "https://peer.example/u#k");
        assert_eq!(by.spec, Spec::DraftCavage);

        // Another body: digest mismatch. Another path: bad signature. Too old: expired.
        let other = RequestParts { body: b"{}", ..parts };
        assert_eq!(verify(&other, &public, now()), Err(SigError::DigestMismatch));
        let moved = RequestParts {
            path_and_query: "/actors/x/inbox",
            ..parts
        };
        assert_eq!(verify(&moved, &public, now()), Err(SigError::BadSignature));
        assert_eq!(
            verify(&parts, &public, now() + MAX_AGE_SECS + 10),
            Err(SigError::Expired)
        );
        let (_, stranger) = keys();
        assert_eq!(verify(&parts, &stranger, now()), Err(SigError::BadSignature));
    }

    #[test]
    fn rfc9421_round_trip_and_tampering() {
        let (private, public) = keys();
        let url = url::Url::parse("http://127.0.0.1:8080/actors/tea/inbox").unwrap();
        let body = br#"{"type":"Create"}"#;
        let headers = to_map(&sign_rfc9421(
            &private,
            "http://peer/u#k",
            "POST",
            &url,
            body,
            now(),
        ));
        let parts = RequestParts {
            method: "POST",
            path_and_query: "/actors/tea/inbox",
            target_uri: url.as_str(),
            authority: url.authority(),
            headers: &headers,
            body,
        };
        assert_eq!(verify(&parts, &public, now()).unwrap().spec, Spec::Rfc9421);
        let other = RequestParts {
            body: b"{\"type\":\"Delete\"}",
            ..parts
        };
        assert_eq!(verify(&other, &public, now()), Err(SigError::DigestMismatch));
        let elsewhere = RequestParts {
            target_uri: "http://127.0.0.1:8080/inbox",
            ..parts
        };
        assert_eq!(verify(&elsewhere, &public, now()), Err(SigError::BadSignature));
        assert_eq!(
            verify(&parts, &public, now() - MAX_AGE_SECS - 10),
            Err(SigError::Expired)
        );
    }

    #[test]
    fn unsigned_and_malformed_are_refused() {
        let headers = HeaderMap::new();
        let parts = RequestParts {
            method: "POST",
            path_and_query: "/inbox",
            target_uri: "https://coop.example/inbox",
            authority: "coop.example",
            headers: &headers,
            body: b"{}",
        };
        assert_eq!(claimed_key(&parts), Err(SigError::Missing));
        let headers = to_map(&[("signature", "garbage".into())]);
        let parts = RequestParts {
            headers: &headers,
            ..parts
        };
        assert!(matches!(claimed_key(&parts), Err(SigError::Malformed(_))));
        // A keyId that is not an http(s) URL is malformed, whatever else is there.
        for key_id in [
            "",
            " ",
            "not a url",
            "javascript:alert(1)",
            "ftp://peer.example/k",
            "urn:x",
        ] {
            let headers = to_map(&[(
                "signature",
                format!("keyId=\"{key_id}\",headers=\"date\",signature=\"AAAA\""),
            )]);
            let parts = RequestParts {
                headers: &headers,
                ..parts
            };
            assert!(
                matches!(claimed_key(&parts), Err(SigError::Malformed(_))),
                "{key_id:?}"
            );
        }
    }

    fn signed_cavage(private: &PrivateKey, url: &url::Url, body: &[u8], host: &str) -> HeaderMap {
        let mut h = sign_cavage(
            private,
            "https://peer.example/u#k",
            "POST",
            url,
            Some(body),
            std::time::SystemTime::now(),
        );
        h.push(("host", host.into()));
        to_map(&h)
    }

    #[test]
    fn a_request_signed_for_another_server_is_refused() {
        let (private, public) = keys();
        // Signed (validly) for other.example, then sent to us with its own Host.
        let theirs = url::Url::parse("https://other.example/inbox").unwrap();
        let body = br#"{"type":"Follow"}"#;
        let headers = signed_cavage(&private, &theirs, body, "other.example");
        let parts = RequestParts {
            method: "POST",
            path_and_query: "/inbox",
            target_uri: "https://coop.example/inbox",
            authority: "coop.example",
            headers: &headers,
            body,
        };
        assert_eq!(
            verify(&parts, &public, now()),
            Err(SigError::WrongHost("other.example".into()))
        );
        // RFC 9421: @target-uri and @authority are ours, so theirs do not verify.
        let headers = to_map(&sign_rfc9421(
            &private,
            "https://peer.example/u#k",
            "POST",
            &theirs,
            body,
            now(),
        ));
        let parts = RequestParts {
            headers: &headers,
            ..parts
        };
        assert_eq!(verify(&parts, &public, now()), Err(SigError::BadSignature));
    }

    #[test]
    fn duplicate_signature_headers_are_refused() {
        let (private, public) = keys();
        let url = url::Url::parse("https://coop.example/inbox").unwrap();
        let body = br#"{"type":"Follow"}"#;
        let mut headers = signed_cavage(&private, &url, body, "coop.example");
        headers.append(
            "signature",
            HeaderValue::from_static("keyId=\"https://evil.example/k\",signature=\"AAAA\""),
        );
        let parts = RequestParts {
            method: "POST",
            path_and_query: "/inbox",
            target_uri: url.as_str(),
            authority: "coop.example",
            headers: &headers,
            body,
        };
        assert!(matches!(claimed_key(&parts), Err(SigError::Malformed(_))));
        assert!(matches!(
            verify(&parts, &public, now()),
            Err(SigError::Malformed(_))
        ));
        let mut headers = to_map(&sign_rfc9421(
            &private,
            "https://peer.example/k",
            "POST",
            &url,
            body,
            now(),
        ));
        headers.append(
            "signature-input",
            HeaderValue::from_static("sig2=(\"@method\");keyid=\"https://evil.example/k\""),
        );
        let parts = RequestParts {
            headers: &headers,
            ..parts
        };
        assert!(matches!(claimed_key(&parts), Err(SigError::Malformed(_))));
    }

    #[test]
    fn past_expiry_is_refused() {
        let (private, public) = keys();
        let url = url::Url::parse("https://coop.example/inbox").unwrap();
        let body = br#"{"type":"Follow"}"#;
        let created = now() - 60;
        let expires = now() - 10;
        let digest = format!("SHA-256={}", sha256_b64(body));
        let base = format!(
            "(request-target): post /inbox\nhost: coop.example\n(created): {created}\n(expires): {expires}\ndigest: {digest}"
        );
        let sig = B64.encode(private.sign(base.as_bytes()));
        let headers = to_map(&[
            ("host", "coop.example".into()),
            ("digest", digest),
            (
                "signature",
                format!("keyId=\"https://peer.example/k\",algorithm=\"hs2019\",created={created},expires={expires},headers=\"(request-target) host (created) (expires) digest\",signature=\"{sig}\""),
            ),
        ]);
        let parts = RequestParts {
            method: "POST",
            path_and_query: "/inbox",
            target_uri: url.as_str(),
            authority: "coop.example",
            headers: &headers,
            body,
        };
        assert_eq!(verify(&parts, &public, now()), Err(SigError::PastExpiry));
        // The same signature before it expired verifies: only the expiry refused it.
        assert!(verify(&parts, &public, expires - 5).is_ok());
    }

    #[test]
    fn cavage_without_digest_coverage_is_refused() {
        let (private, public) = keys();
        let url = url::Url::parse("https://coop.example/inbox").unwrap();
        // A GET-style signature replayed on a POST: no digest covered.
        let mut h = sign_cavage(
            &private,
            "https://peer.example/k",
            "POST",
            &url,
            None,
            std::time::SystemTime::now(),
        );
        h.push(("host", "coop.example".into()));
        let headers = to_map(&h);
        let parts = RequestParts {
            method: "POST",
            path_and_query: "/inbox",
            target_uri: url.as_str(),
            authority: url.authority(),
            headers: &headers,
            body: b"{}",
        };
        assert_eq!(
            verify(&parts, &public, now()),
            Err(SigError::NotCovered("digest"))
        );
    }
}
