//! Where uploads' bytes live: `media_dir` on this machine (one process, or
//! several sharing a directory), or a bucket on S3-compatible object storage
//! (AWS S3, MinIO, Garage, Ceph...), so that every process of a scaled-out
//! instance serves every upload. Files are written once under a random name
//! and never changed, so neither backend needs locking.
//!
//! The S3 client is small on purpose: two operations (PUT and GET of an
//! object, plus HEAD of the bucket at start), signed with AWS Signature
//! Version 4 over path-style URLs (`endpoint/bucket/key`), which every
//! S3-compatible server accepts. Its requests go to the address the admin
//! configured, not through the federation client: object storage is often
//! on a private network, where federation fetches must never go.

use std::path::PathBuf;
use std::time::Duration;

use ring::hmac;
use sha2::{Digest, Sha256};
use url::Url;

use crate::config::{Config, S3Config};
use crate::crypto::hex;

/// A failure of the store, worded for the admin who reads the log.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(String);

pub enum MediaStore {
    Dir(PathBuf),
    S3(S3),
}

impl MediaStore {
    pub fn new(config: &Config) -> MediaStore {
        match &config.media_s3 {
            Some(s3) => MediaStore::S3(S3::new(s3.clone())),
            None => MediaStore::Dir(config.media_dir.clone()),
        }
    }

    /// At start, so that a wrong setting stops the start instead of the
    /// first upload: the directory can be created, or the bucket answers to
    /// these credentials.
    pub async fn check(&self) -> Result<(), StoreError> {
        match self {
            MediaStore::Dir(dir) => tokio::fs::create_dir_all(dir).await.map_err(|e| {
                StoreError(format!(
                    "cannot create media_dir {}: {e}. Check the permissions or set media_dir.",
                    dir.display()
                ))
            }),
            MediaStore::S3(s3) => s3.check().await,
        }
    }

    /// Stores `name` (written once: names are random).
    pub async fn put(&self, name: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), StoreError> {
        match self {
            MediaStore::Dir(dir) => {
                let io = |e: std::io::Error| {
                    StoreError(format!("cannot write to media_dir {}: {e}", dir.display()))
                };
                tokio::fs::create_dir_all(dir).await.map_err(io)?;
                tokio::fs::write(dir.join(name), bytes).await.map_err(io)
            }
            MediaStore::S3(s3) => s3.put(name, bytes, content_type).await,
        }
    }

    /// The bytes of `name`, `None` when there is no such file. `name` must
    /// already be checked to be a plain file name.
    pub async fn get(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            MediaStore::Dir(dir) => match tokio::fs::read(dir.join(name)).await {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(StoreError(format!(
                    "cannot read {name} from media_dir {}: {e}",
                    dir.display()
                ))),
            },
            MediaStore::S3(s3) => s3.get(name).await,
        }
    }

    /// For the start-up log line.
    pub fn describe(&self) -> String {
        match self {
            MediaStore::Dir(dir) => format!("media_dir {}", dir.display()),
            MediaStore::S3(s3) => format!("bucket {} at {}", s3.config.bucket, s3.config.endpoint),
        }
    }
}

pub struct S3 {
    config: S3Config,
    client: reqwest::Client,
}

const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

impl S3 {
    fn new(config: S3Config) -> S3 {
        // reqwest is built without a default TLS provider; a Ctx can be made
        // before (or without) the server's start-up, which installs it too.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        S3 { config, client }
    }

    /// The path of the bucket, or of `key` in it, under the endpoint's own path.
    fn path(&self, key: Option<&str>) -> String {
        let base = self.config.endpoint.path().trim_end_matches('/');
        match key {
            Some(k) => format!("{base}/{}/{}", self.config.bucket, uri_encode(k)),
            None => format!("{base}/{}", self.config.bucket),
        }
    }

    fn host(&self) -> String {
        let host = self.config.endpoint.host_str().unwrap_or("");
        match self.config.endpoint.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        }
    }

    /// Sends one signed request.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<(Vec<u8>, &str)>,
    ) -> Result<reqwest::Response, StoreError> {
        let payload_hash = match &body {
            Some((bytes, _)) => hex(&Sha256::digest(bytes)),
            None => EMPTY_SHA256.to_string(),
        };
        let amz_date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        let headers = [
            ("host", self.host()),
            ("x-amz-content-sha256", payload_hash.clone()),
            ("x-amz-date", amz_date.clone()),
        ];
        let authorization = authorization(
            &self.config,
            method.as_str(),
            path,
            &headers,
            &payload_hash,
            &amz_date,
        );
        let mut url = self.config.endpoint.clone();
        url.set_path(path);
        let mut req = self
            .client
            .request(method.clone(), url)
            .header("x-amz-content-sha256", payload_hash)
            .header("x-amz-date", amz_date)
            .header("authorization", authorization);
        if let Some((bytes, content_type)) = body {
            req = req.header("content-type", content_type).body(bytes);
        }
        req.send().await.map_err(|e| {
            StoreError(format!(
                "the object store at {} did not answer {method} {path}: {e}. Check media_s3_endpoint and that the server runs.",
                self.config.endpoint
            ))
        })
    }

    /// A refusal, with what the store said (S3 answers in XML with a `<Code>`).
    async fn refused(&self, what: &str, r: reqwest::Response) -> StoreError {
        let status = r.status();
        let body = r.text().await.unwrap_or_default();
        let code = body
            .split("<Code>")
            .nth(1)
            .and_then(|rest| rest.split("</Code>").next())
            .unwrap_or("");
        let hint = match status.as_u16() {
            403 => " Check media_s3_access_key, media_s3_secret_key and media_s3_region, and that the key may read and write the bucket.",
            404 => " Create the bucket, or correct media_s3_bucket.",
            _ => "",
        };
        StoreError(format!(
            "the object store refused to {what} ({status}{}{code}).{hint}",
            if code.is_empty() { "" } else { ", " }
        ))
    }

    async fn check(&self) -> Result<(), StoreError> {
        let r = self.send(reqwest::Method::HEAD, &self.path(None), None).await?;
        if r.status().is_success() {
            return Ok(());
        }
        Err(self
            .refused(&format!("show bucket {}", self.config.bucket), r)
            .await)
    }

    async fn put(&self, name: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), StoreError> {
        let path = self.path(Some(name));
        let r = self
            .send(reqwest::Method::PUT, &path, Some((bytes, content_type)))
            .await?;
        if r.status().is_success() {
            Ok(())
        } else {
            Err(self.refused(&format!("store {name}"), r).await)
        }
    }

    async fn get(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let r = self
            .send(reqwest::Method::GET, &self.path(Some(name)), None)
            .await?;
        match r.status().as_u16() {
            200 => r
                .bytes()
                .await
                .map(|b| Some(b.to_vec()))
                .map_err(|e| StoreError(format!("the object store broke off sending {name}: {e}"))),
            404 => Ok(None),
            _ => Err(self.refused(&format!("send {name}"), r).await),
        }
    }
}

/// The `Authorization` header of AWS Signature Version 4 for a request
/// without a query string. `headers` are the signed ones, lower-case and in
/// order.
fn authorization(
    config: &S3Config,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    payload_hash: &str,
    amz_date: &str,
) -> String {
    let date = &amz_date[..8];
    let canonical_headers: String = headers
        .iter()
        .map(|(k, v)| format!("{k}:{}\n", v.trim()))
        .collect();
    let signed_headers = headers.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(";");
    let canonical_request =
        format!("{method}\n{path}\n\n{canonical_headers}\n{signed_headers}\n{payload_hash}");
    let scope = format!("{date}/{}/s3/aws4_request", config.region);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );
    let mut key = format!("AWS4{}", config.secret_key).into_bytes();
    for part in [date, config.region.as_str(), "s3", "aws4_request"] {
        key = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &key), part.as_bytes())
            .as_ref()
            .to_vec();
    }
    let signature = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, &key),
        string_to_sign.as_bytes(),
    );
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={}",
        config.access_key,
        hex(signature.as_ref())
    )
}

/// S3's URI encoding of an object key: every byte but the unreserved ones
/// and `/` is percent-encoded.
fn uri_encode(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Checks an endpoint setting: an http(s) URL without query, for path-style requests.
pub fn parse_endpoint(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim_end_matches('/')).map_err(|e| {
        format!("not a URL ({e}); expected the object store's address, such as https://s3.example.org")
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("expected an http:// or https:// address, such as https://s3.example.org".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("give the address without ?query or #fragment".into());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(endpoint: &str, region: &str, access: &str, secret: &str) -> S3Config {
        S3Config {
            endpoint: parse_endpoint(endpoint).unwrap(),
            bucket: "media".into(),
            region: region.into(),
            access_key: access.into(),
            secret_key: secret.into(),
        }
    }

    /// AWS's own example ("GET Object", Signature Version 4 documentation
    /// for S3), also what botocore computes for it.
    #[test]
    fn signs_as_aws_documents() {
        let c = config(
            "https://examplebucket.s3.amazonaws.com",
            "us-east-1",
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        );
        let headers = [
            ("host", "examplebucket.s3.amazonaws.com".to_string()),
            ("range", "bytes=0-9".to_string()),
            ("x-amz-content-sha256", EMPTY_SHA256.to_string()),
            ("x-amz-date", "20130524T000000Z".to_string()),
        ];
        let auth = authorization(&c, "GET", "/test.txt", &headers, EMPTY_SHA256, "20130524T000000Z");
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    /// A path-style PUT to a server on a port, as botocore 1.44 signs it.
    #[test]
    fn signs_path_style_with_a_port_as_botocore_does() {
        let c = config("http://127.0.0.1:9000", "garage", "intercoop", "s3cr3t");
        let s3 = S3::new(c.clone());
        let hash = hex(&Sha256::digest(b"hello"));
        let path = s3.path(Some("abc.jpg"));
        assert_eq!(path, "/media/abc.jpg");
        let headers = [
            ("host", s3.host()),
            ("x-amz-content-sha256", hash.clone()),
            ("x-amz-date", "20261203T100000Z".to_string()),
        ];
        let auth = authorization(&c, "PUT", &path, &headers, &hash, "20261203T100000Z");
        assert!(
            auth.ends_with("Signature=3f98435e6660fdb825c158a445be2b0f071f7794c9ea901502750e6a16f20ac9"),
            "{auth}"
        );
    }

    #[test]
    fn keys_and_endpoints() {
        assert_eq!(uri_encode("a b+c.jpg"), "a%20b%2Bc.jpg");
        let s3 = S3::new(config("https://s3.example.org/store/", "us-east-1", "k", "s"));
        assert_eq!(s3.path(Some("x-thumb.png")), "/store/media/x-thumb.png");
        assert_eq!(s3.host(), "s3.example.org");
        assert!(parse_endpoint("ftp://s3.example.org").is_err());
        assert!(parse_endpoint("https://s3.example.org/?x=1").is_err());
    }
}
