//! Configuration: built-in defaults, then `intercoop.toml`, then `INTERCOOP_*`
//! environment variables, validated once at start into typed values. A bad
//! value stops the start with a message naming the key, the value and what is
//! allowed.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use url::Url;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Coop,
    Federation,
    Directory,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Coop => "coop",
            Role::Federation => "federation",
            Role::Directory => "directory",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The public URL, without trailing slash (`https://coop.example`).
    pub base_url: Url,
    pub listen: SocketAddr,
    pub database_url: String,
    pub roles: Vec<Role>,
    pub media_dir: PathBuf,
    /// Uploads on S3-compatible object storage instead of `media_dir`.
    pub media_s3: Option<S3Config>,
    pub locales_dir: PathBuf,
    pub log_level: String,
    pub log_format: LogFormat,
    pub trust_proxy: bool,
    pub max_connections: usize,
    /// Verified inbox activities accepted per minute from one remote actor
    /// (0: no limit); past it, 429 with Retry-After.
    pub inbox_rate_per_actor: u32,
    /// The same per remote domain.
    pub inbox_rate_per_domain: u32,
    /// Days the raw JSON of received activities is kept (their ids, which
    /// de-duplicate, are kept three times as long).
    pub inbox_retention_days: u32,
    /// Seconds a page rendered for anonymous visitors is served again
    /// (0: never).
    pub page_cache_seconds: u32,
    /// Where mail goes out; `None`: this instance sends no email.
    pub smtp: Option<Smtp>,
}

/// A bucket on S3-compatible object storage, reached path-style
/// (`endpoint/bucket/key`) with Signature Version 4.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Config {
    pub endpoint: Url,
    pub bucket: String,
    pub region: String,
    pub access_key: String,
    pub secret_key: String,
}

// The secret key stays out of logs and panics.
impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint.as_str())
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

/// How the SMTP server is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// STARTTLS, required (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// Plain text: only to a server on this machine.
    None,
}

#[derive(Debug, Clone)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The sender, `news@coop.example` or `Our Co-op <news@coop.example>`.
    pub from: String,
}

pub const DEFAULT_INBOX_RATE_PER_ACTOR: u32 = 600;
pub const DEFAULT_INBOX_RATE_PER_DOMAIN: u32 = 6000;
pub const DEFAULT_INBOX_RETENTION_DAYS: u32 = 30;

#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub key: String,
    pub value: String,
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "configuration key `{}` has the value {:?}: {}",
            self.key, self.value, self.problem
        )
    }
}

impl std::error::Error for ConfigError {}

fn err(key: &str, value: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.into(),
        value: value.into(),
        problem: problem.into(),
    }
}

/// Every key the file and the environment may set, as raw text before
/// validation. `deny_unknown_fields` turns a misspelt key into an error.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    base_url: Option<String>,
    listen: Option<String>,
    database_url: Option<String>,
    roles: Option<Vec<String>>,
    media_dir: Option<String>,
    media_s3_endpoint: Option<String>,
    media_s3_bucket: Option<String>,
    media_s3_region: Option<String>,
    media_s3_access_key: Option<String>,
    media_s3_secret_key: Option<String>,
    locales_dir: Option<String>,
    log_level: Option<String>,
    log_format: Option<String>,
    trust_proxy: Option<bool>,
    max_connections: Option<u32>,
    inbox_rate_per_actor: Option<u32>,
    inbox_rate_per_domain: Option<u32>,
    inbox_retention_days: Option<u32>,
    page_cache_seconds: Option<u32>,
    smtp_host: Option<String>,
    smtp_port: Option<u16>,
    smtp_tls: Option<String>,
    smtp_username: Option<String>,
    smtp_password: Option<String>,
    email_from: Option<String>,
}

pub const KEYS: &[&str] = &[
    "base_url",
    "listen",
    "database_url",
    "roles",
    "media_dir",
    "media_s3_endpoint",
    "media_s3_bucket",
    "media_s3_region",
    "media_s3_access_key",
    "media_s3_secret_key",
    "locales_dir",
    "log_level",
    "log_format",
    "trust_proxy",
    "max_connections",
    "inbox_rate_per_actor",
    "inbox_rate_per_domain",
    "inbox_retention_days",
    "page_cache_seconds",
    "smtp_host",
    "smtp_port",
    "smtp_tls",
    "smtp_username",
    "smtp_password",
    "email_from",
];

pub const DEFAULT_CONFIG_PATH: &str = "intercoop.toml";

impl Config {
    /// Loads the file at `path` (optional unless `required`) and the process
    /// environment.
    pub fn load(path: &Path, required: bool) -> Result<Config, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        let file = match std::fs::read_to_string(path) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => None,
            Err(e) => {
                return Err(err(
                    "config",
                    path.display().to_string(),
                    format!("cannot read the configuration file: {e}. Create it with `intercoop init` or fix the path."),
                ))
            }
        };
        Self::from_sources(file.as_deref(), &path.display().to_string(), &env)
    }

    /// The layering itself, free of the process environment so tests can
    /// drive it.
    pub fn from_sources(
        file: Option<&str>,
        file_name: &str,
        env: &BTreeMap<String, String>,
    ) -> Result<Config, ConfigError> {
        let mut raw: RawConfig = match file {
            Some(text) => toml::from_str(text).map_err(|e| {
                let msg = e.message().to_string();
                // toml names an unknown key in its message; pull it out for ours.
                let key = msg
                    .strip_prefix("unknown field `")
                    .and_then(|rest| rest.split('`').next())
                    .unwrap_or("config");
                err(
                    key,
                    file_name,
                    format!(
                        "{} in {file_name}. Allowed keys: {}.",
                        msg.lines().next().unwrap_or("invalid TOML"),
                        KEYS.join(", ")
                    ),
                )
            })?,
            None => RawConfig::default(),
        };
        apply_env(&mut raw, env)?;
        validate(raw)
    }

    /// Local mode: the public URL points at this machine, so plain http is
    /// allowed and federation may reach loopback peers (tests, development).
    pub fn local_mode(&self) -> bool {
        is_local_host(&self.base_url)
    }

    /// The host (and port, if any) as peers see it: `coop.example` or `localhost:8080`.
    pub fn domain(&self) -> String {
        match self.base_url.port() {
            Some(p) => format!("{}:{p}", self.base_url.host_str().unwrap_or("localhost")),
            None => self.base_url.host_str().unwrap_or("localhost").to_string(),
        }
    }

    /// An absolute URL under the public base.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url.as_str().trim_end_matches('/'), path)
    }

    /// A configuration for tests and tools: everything default but the given values.
    pub fn for_test(base_url: &str, listen: SocketAddr, database_url: &str, data_dir: &Path) -> Config {
        let mut env = BTreeMap::new();
        env.insert("INTERCOOP_BASE_URL".into(), base_url.into());
        env.insert("INTERCOOP_LISTEN".into(), listen.to_string());
        env.insert("INTERCOOP_DATABASE_URL".into(), database_url.into());
        env.insert(
            "INTERCOOP_MEDIA_DIR".into(),
            data_dir.join("media").display().to_string(),
        );
        env.insert(
            "INTERCOOP_LOCALES_DIR".into(),
            data_dir.join("locales").display().to_string(),
        );
        // Tests change data behind the web's back (through the use cases)
        // and read the page at once; the page cache's own test turns it on.
        env.insert("INTERCOOP_PAGE_CACHE_SECONDS".into(), "0".into());
        Config::from_sources(None, "", &env).expect("test configuration is valid")
    }
}

fn is_local_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn apply_env(raw: &mut RawConfig, env: &BTreeMap<String, String>) -> Result<(), ConfigError> {
    for (name, value) in env {
        let Some(key) = name.strip_prefix("INTERCOOP_") else {
            continue;
        };
        let key = key.to_ascii_lowercase();
        let v = value.clone();
        match key.as_str() {
            "base_url" => raw.base_url = Some(v),
            "listen" => raw.listen = Some(v),
            "database_url" => raw.database_url = Some(v),
            "roles" => {
                raw.roles = Some(
                    v.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect(),
                )
            }
            "media_dir" => raw.media_dir = Some(v),
            "media_s3_endpoint" => raw.media_s3_endpoint = Some(v),
            "media_s3_bucket" => raw.media_s3_bucket = Some(v),
            "media_s3_region" => raw.media_s3_region = Some(v),
            "media_s3_access_key" => raw.media_s3_access_key = Some(v),
            "media_s3_secret_key" => raw.media_s3_secret_key = Some(v),
            "smtp_host" => raw.smtp_host = Some(v),
            "smtp_port" => {
                raw.smtp_port = Some(
                    v.parse()
                        .map_err(|_| err(name, &v, "expected a port number, such as 587"))?,
                )
            }
            "smtp_tls" => raw.smtp_tls = Some(v),
            "smtp_username" => raw.smtp_username = Some(v),
            "smtp_password" => raw.smtp_password = Some(v),
            "email_from" => raw.email_from = Some(v),
            "locales_dir" => raw.locales_dir = Some(v),
            "log_level" => raw.log_level = Some(v),
            "log_format" => raw.log_format = Some(v),
            "trust_proxy" => {
                raw.trust_proxy = Some(match v.to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" => true,
                    "false" | "0" | "no" => false,
                    _ => return Err(err(name, v, "expected true or false")),
                })
            }
            "max_connections" => {
                raw.max_connections = Some(
                    v.parse()
                        .map_err(|_| err(name, &v, "expected a whole number from 1 to 256"))?,
                )
            }
            "inbox_rate_per_actor"
            | "inbox_rate_per_domain"
            | "inbox_retention_days"
            | "page_cache_seconds" => {
                let n: u32 = v
                    .parse()
                    .map_err(|_| err(name, &v, "expected a whole number (0 or more)"))?;
                match key.as_str() {
                    "inbox_rate_per_actor" => raw.inbox_rate_per_actor = Some(n),
                    "inbox_rate_per_domain" => raw.inbox_rate_per_domain = Some(n),
                    "page_cache_seconds" => raw.page_cache_seconds = Some(n),
                    _ => raw.inbox_retention_days = Some(n),
                }
            }
            // Not configuration keys: the config file path itself, and the
            // variables our tools and tests use.
            "config" | "log" => {}
            _ if key.starts_with("test_") || key.starts_with("admin_") => {}
            _ => {
                return Err(err(
                    name,
                    value,
                    format!(
                        "unknown setting. Allowed: {}",
                        KEYS.iter()
                            .map(|k| format!("INTERCOOP_{}", k.to_ascii_uppercase()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ))
            }
        }
    }
    Ok(())
}

fn validate(raw: RawConfig) -> Result<Config, ConfigError> {
    let smtp = smtp(&raw)?;
    let media_s3 = media_s3(&raw)?;
    let listen_text = raw.listen.unwrap_or_else(|| "127.0.0.1:8080".into());
    let listen: SocketAddr = listen_text.parse().map_err(|_| {
        err(
            "listen",
            &listen_text,
            "expected an address and port such as 127.0.0.1:8080 or [::]:8080",
        )
    })?;

    let base_text = raw
        .base_url
        .unwrap_or_else(|| format!("http://localhost:{}", listen.port()));
    let base_url = Url::parse(base_text.trim_end_matches('/')).map_err(|e| {
        err(
            "base_url",
            &base_text,
            format!("not a URL ({e}); expected the public address, such as https://coop.example"),
        )
    })?;
    if base_url.path() != "/" || base_url.query().is_some() || base_url.fragment().is_some() {
        return Err(err(
            "base_url",
            &base_text,
            "must be a bare origin without a path, such as https://coop.example: Intercoop serves from the root of its domain",
        ));
    }
    match base_url.scheme() {
        "https" => {}
        "http" if is_local_host(&base_url) => {}
        "http" => {
            return Err(err(
                "base_url",
                &base_text,
                "plain http is only allowed for localhost; a public instance needs https (fediverse servers refuse plain http)",
            ))
        }
        _ => return Err(err("base_url", &base_text, "must start with https:// (or http://localhost)")),
    }

    let database_url = raw
        .database_url
        .unwrap_or_else(|| "sqlite://./data/intercoop.db".into());
    let sqlite_path_ok = database_url
        .strip_prefix("sqlite://")
        .is_some_and(|p| !p.is_empty() && p != ":memory:");
    let pg_ok = database_url.starts_with("postgres://") || database_url.starts_with("postgresql://");
    if !sqlite_path_ok && !pg_ok {
        return Err(err(
            "database_url",
            crate::db::redact_url(&database_url),
            "expected sqlite://PATH (a file, e.g. sqlite://./data/intercoop.db) or postgres://USER:PASSWORD@HOST/DATABASE",
        ));
    }

    let roles_raw = raw.roles.unwrap_or_else(|| vec!["coop".into()]);
    let mut roles = Vec::new();
    for r in &roles_raw {
        let role = match r.as_str() {
            "coop" => Role::Coop,
            "federation" => Role::Federation,
            "directory" => Role::Directory,
            _ => {
                return Err(err(
                    "roles",
                    r,
                    "each role must be one of: coop, federation, directory",
                ))
            }
        };
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    if roles.is_empty() {
        return Err(err(
            "roles",
            "[]",
            "give at least one role: coop, federation, directory",
        ));
    }
    roles.sort();

    let log_level = raw.log_level.unwrap_or_else(|| "info".into());
    if !["error", "warn", "info", "debug", "trace"].contains(&log_level.as_str()) {
        return Err(err(
            "log_level",
            &log_level,
            "expected one of: error, warn, info, debug, trace",
        ));
    }
    let log_format = match raw.log_format.as_deref().unwrap_or("pretty") {
        "pretty" => LogFormat::Pretty,
        "json" => LogFormat::Json,
        other => return Err(err("log_format", other, "expected pretty or json")),
    };
    let max_connections = raw.max_connections.unwrap_or(8);
    if !(1..=256).contains(&max_connections) {
        return Err(err(
            "max_connections",
            max_connections.to_string(),
            "expected a whole number from 1 to 256",
        ));
    }
    let media_dir = PathBuf::from(raw.media_dir.unwrap_or_else(|| "./data/media".into()));
    let locales_dir = PathBuf::from(raw.locales_dir.unwrap_or_else(|| "./locales".into()));

    Ok(Config {
        base_url,
        listen,
        database_url,
        roles,
        media_dir,
        media_s3,
        locales_dir,
        log_level,
        log_format,
        trust_proxy: raw.trust_proxy.unwrap_or(false),
        max_connections: max_connections as usize,
        inbox_rate_per_actor: raw.inbox_rate_per_actor.unwrap_or(DEFAULT_INBOX_RATE_PER_ACTOR),
        inbox_rate_per_domain: raw.inbox_rate_per_domain.unwrap_or(DEFAULT_INBOX_RATE_PER_DOMAIN),
        inbox_retention_days: raw.inbox_retention_days.unwrap_or(DEFAULT_INBOX_RETENTION_DAYS),
        page_cache_seconds: raw.page_cache_seconds.unwrap_or(1),
        smtp,
    })
}

fn media_s3(raw: &RawConfig) -> Result<Option<S3Config>, ConfigError> {
    let set = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(String::from)
    };
    let Some(endpoint_text) = set(&raw.media_s3_endpoint) else {
        for (key, v) in [
            ("media_s3_bucket", &raw.media_s3_bucket),
            ("media_s3_access_key", &raw.media_s3_access_key),
            ("media_s3_secret_key", &raw.media_s3_secret_key),
        ] {
            if set(v).is_some() {
                return Err(err(
                    key,
                    if key == "media_s3_secret_key" { "(hidden)".into() } else { set(v).unwrap_or_default() },
                    "set media_s3_endpoint too (the object store's address), or remove the media_s3_ settings to keep uploads in media_dir",
                ));
            }
        }
        return Ok(None);
    };
    let endpoint = crate::storage::parse_endpoint(&endpoint_text)
        .map_err(|p| err("media_s3_endpoint", &endpoint_text, p))?;
    let bucket = set(&raw.media_s3_bucket).unwrap_or_default();
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !bucket.starts_with(['-', '.'])
        && !bucket.ends_with(['-', '.']);
    if !bucket_ok {
        return Err(err(
            "media_s3_bucket",
            &bucket,
            "expected the bucket's name: 3 to 63 lower-case letters, digits, dots or hyphens, such as coop-media",
        ));
    }
    let (Some(access_key), Some(secret_key)) = (set(&raw.media_s3_access_key), set(&raw.media_s3_secret_key))
    else {
        return Err(err(
            "media_s3_access_key",
            set(&raw.media_s3_access_key).unwrap_or_default(),
            "set media_s3_access_key and media_s3_secret_key (put the secret in INTERCOOP_MEDIA_S3_SECRET_KEY)",
        ));
    };
    Ok(Some(S3Config {
        endpoint,
        bucket,
        region: set(&raw.media_s3_region).unwrap_or_else(|| "us-east-1".into()),
        access_key,
        secret_key,
    }))
}

fn smtp(raw: &RawConfig) -> Result<Option<Smtp>, ConfigError> {
    let Some(host) = raw.smtp_host.clone().filter(|h| !h.trim().is_empty()) else {
        if let Some(from) = &raw.email_from {
            return Err(err(
                "email_from",
                from,
                "set smtp_host too: without an SMTP server no mail goes out",
            ));
        }
        return Ok(None);
    };
    let tls = match raw.smtp_tls.as_deref().unwrap_or("starttls") {
        "starttls" => SmtpTls::Starttls,
        "tls" => SmtpTls::Tls,
        "none" => SmtpTls::None,
        other => {
            return Err(err(
                "smtp_tls",
                other,
                "expected starttls (port 587), tls (port 465) or none",
            ))
        }
    };
    let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if tls == SmtpTls::None && !loopback {
        return Err(err(
            "smtp_tls",
            "none",
            format!("mail and the SMTP password would cross the network in clear to {host}: use starttls or tls (none is only for a server on this machine)"),
        ));
    }
    let from = raw.email_from.clone().unwrap_or_default();
    let address = from
        .rsplit_once('<')
        .map(|(_, a)| a.trim_end_matches('>'))
        .unwrap_or(&from)
        .trim();
    if address
        .split_once('@')
        .is_none_or(|(l, d)| l.is_empty() || !d.contains('.') && d != "localhost")
    {
        return Err(err(
            "email_from",
            &from,
            "expected the sender address mail comes from, such as news@coop.example or \"Our Co-op <news@coop.example>\"",
        ));
    }
    let port = raw.smtp_port.unwrap_or(match tls {
        SmtpTls::Starttls => 587,
        SmtpTls::Tls => 465,
        SmtpTls::None => 25,
    });
    if raw.smtp_username.is_some() != raw.smtp_password.is_some() {
        return Err(err(
            "smtp_username",
            raw.smtp_username.clone().unwrap_or_default(),
            "set smtp_username and smtp_password together, or neither",
        ));
    }
    Ok(Some(Smtp {
        host,
        port,
        tls,
        username: raw.smtp_username.clone(),
        password: raw.smtp_password.clone(),
        from,
    }))
}

/// The file `intercoop init` writes: every key, commented, with its default.
pub const TEMPLATE: &str = r#"# Intercoop configuration. Every key is optional; the value shown is the default.
# Each key can also be set from the environment as INTERCOOP_<KEY>, e.g.
# INTERCOOP_DATABASE_URL, which wins over this file.

# The public address of this instance. Fediverse servers reach it here, so it
# must be https:// for any real domain. http://localhost is allowed for trying
# Intercoop out ("local mode").
# base_url = "http://localhost:8080"

# Where the HTTP server listens. Behind a reverse proxy keep 127.0.0.1.
# listen = "127.0.0.1:8080"

# The database: a SQLite file (built in, nothing to install) or PostgreSQL
# (for federations, directories and several app processes).
# database_url = "sqlite://./data/intercoop.db"
# database_url = "postgres://intercoop:secret@localhost/intercoop"

# Database connections kept open.
# max_connections = 8

# Activities per minute the inbox accepts from one remote account and from one
# remote server, after their signatures verify; past that it answers 429 with
# Retry-After (senders retry later). 0 turns a limit off.
# inbox_rate_per_actor = 600
# inbox_rate_per_domain = 6000

# Days the raw JSON of received activities is kept for troubleshooting. Their
# ids (which stop duplicates) are kept three times as long.
# inbox_retention_days = 30

# What this instance is: "coop" (a co-op's home), "federation" (a network of
# co-ops), "directory" (a regional map of co-ops). One or more. This version
# builds the coop role; the other two are accepted and add nothing yet.
# roles = ["coop"]

# Seconds a page rendered for anonymous visitors (the home page, news, events,
# polls, forums) is served again before it is rendered anew; each visitor still
# gets their own form tokens, and a change made on this instance shows at once.
# 0 renders every page for every visitor.
# page_cache_seconds = 1

# Where uploaded images are stored.
# media_dir = "./data/media"

# Or on S3-compatible object storage (AWS S3, MinIO, Garage, Ceph), so that
# several processes serve the same uploads; media_dir is then not used. The
# bucket must exist; requests are path-style (endpoint/bucket/key). Put the
# secret in INTERCOOP_MEDIA_S3_SECRET_KEY rather than here.
# media_s3_endpoint = "https://s3.example.org"
# media_s3_bucket = "coop-media"
# media_s3_region = "us-east-1"
# media_s3_access_key = ""
# media_s3_secret_key = ""

# Extra translations: put es.toml, fr.toml, sw.toml ... here, with the same keys
# as the built-in English catalog (locales/en.toml in the source).
# locales_dir = "./locales"

# Logging: error, warn, info, debug or trace; "pretty" for people, "json" for
# log collectors.
# log_level = "info"
# log_format = "pretty"

# Set to true when a reverse proxy on this machine forwards requests, so that
# the client address is read from X-Forwarded-For (used by login rate limits).
# trust_proxy = false

# Email (invitations, password resets, notices and the newsletter) goes out
# through an SMTP server. Without smtp_host no mail is sent. smtp_tls is
# starttls (port 587), tls (port 465) or none (only for a server on this
# machine). Put the password in INTERCOOP_SMTP_PASSWORD rather than here.
# smtp_host = "smtp.example.org"
# smtp_port = 587
# smtp_tls = "starttls"
# smtp_username = "news@coop.example"
# smtp_password = ""
# email_from = "Our Co-op <news@coop.example>"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_give_a_local_sqlite_instance() {
        let c = Config::from_sources(None, "", &env(&[])).unwrap();
        assert_eq!(c.base_url.as_str(), "http://localhost:8080/");
        assert_eq!(c.database_url, "sqlite://./data/intercoop.db");
        assert_eq!(c.roles, vec![Role::Coop]);
        assert!(c.local_mode());
        assert_eq!(c.domain(), "localhost:8080");
    }

    #[test]
    fn the_template_parses_and_gives_the_defaults() {
        let c = Config::from_sources(Some(TEMPLATE), "intercoop.toml", &env(&[])).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
    }

    #[test]
    fn environment_wins_over_the_file() {
        let file = "base_url = \"https://a.example\"\nlisten = \"0.0.0.0:9000\"\n";
        let c = Config::from_sources(
            Some(file),
            "f.toml",
            &env(&[
                ("INTERCOOP_BASE_URL", "https://b.example"),
                ("INTERCOOP_ROLES", "directory, coop"),
            ]),
        )
        .unwrap();
        assert_eq!(c.base_url.as_str(), "https://b.example/");
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.roles, vec![Role::Coop, Role::Directory]);
        assert!(!c.local_mode());
    }

    #[test]
    fn public_domain_requires_https() {
        let e = Config::from_sources(None, "", &env(&[("INTERCOOP_BASE_URL", "http://coop.example")]))
            .unwrap_err();
        assert_eq!(e.key, "base_url");
        assert!(e.problem.contains("https"), "{e}");
    }

    #[test]
    fn bad_values_name_key_value_and_what_is_allowed() {
        let cases = [
            ("INTERCOOP_LISTEN", "localhost", "listen"),
            ("INTERCOOP_DATABASE_URL", "mysql://x", "database_url"),
            ("INTERCOOP_ROLES", "coop,bank", "roles"),
            ("INTERCOOP_LOG_LEVEL", "loud", "log_level"),
            ("INTERCOOP_LOG_FORMAT", "xml", "log_format"),
            ("INTERCOOP_MAX_CONNECTIONS", "0", "max_connections"),
            ("INTERCOOP_TRUST_PROXY", "maybe", "INTERCOOP_TRUST_PROXY"),
            ("INTERCOOP_BASE_URL", "https://coop.example/sub", "base_url"),
        ];
        for (k, v, key) in cases {
            let e = Config::from_sources(None, "", &env(&[(k, v)])).unwrap_err();
            assert_eq!(e.key, key, "{k}={v}");
            let text = e.to_string();
            assert!(text.contains(key), "{text}");
            assert!(
                text.contains("expected") || text.contains("must") || text.contains("each role"),
                "{text}"
            );
        }
    }

    #[test]
    fn unknown_keys_are_refused_in_file_and_environment() {
        let e = Config::from_sources(Some("databse_url = \"x\"\n"), "intercoop.toml", &env(&[])).unwrap_err();
        assert_eq!(e.key, "databse_url");
        assert!(e.problem.contains("database_url"), "lists allowed keys: {e}");
        let e = Config::from_sources(None, "", &env(&[("INTERCOOP_LISTN", "x")])).unwrap_err();
        assert_eq!(e.key, "INTERCOOP_LISTN");
    }

    #[test]
    fn smtp_settings_are_checked() {
        let load = |pairs: &[(&str, &str)]| Config::from_sources(None, "", &env(pairs));
        assert!(load(&[]).unwrap().smtp.is_none(), "no mail unless asked");
        let c = load(&[
            ("INTERCOOP_SMTP_HOST", "smtp.example.org"),
            ("INTERCOOP_EMAIL_FROM", "Tea <news@tea.example>"),
        ])
        .unwrap();
        let smtp = c.smtp.unwrap();
        assert_eq!((smtp.port, smtp.tls), (587, SmtpTls::Starttls));
        let e = load(&[
            ("INTERCOOP_SMTP_HOST", "smtp.example.org"),
            ("INTERCOOP_SMTP_TLS", "none"),
            ("INTERCOOP_EMAIL_FROM", "news@tea.example"),
        ])
        .unwrap_err();
        assert_eq!(e.key, "smtp_tls", "plain text only to this machine");
        assert_eq!(
            load(&[("INTERCOOP_EMAIL_FROM", "news@tea.example")])
                .unwrap_err()
                .key,
            "email_from"
        );
        assert_eq!(
            load(&[
                ("INTERCOOP_SMTP_HOST", "smtp.example.org"),
                ("INTERCOOP_EMAIL_FROM", "news")
            ])
            .unwrap_err()
            .key,
            "email_from"
        );
        assert_eq!(
            load(&[
                ("INTERCOOP_SMTP_HOST", "smtp.example.org"),
                ("INTERCOOP_EMAIL_FROM", "news@tea.example"),
                ("INTERCOOP_SMTP_USERNAME", "news"),
            ])
            .unwrap_err()
            .key,
            "smtp_username"
        );
    }

    #[test]
    fn malformed_toml_is_reported_with_the_file_name() {
        let e = Config::from_sources(Some("listen = \n"), "my.toml", &env(&[])).unwrap_err();
        assert!(e.to_string().contains("my.toml"), "{e}");
    }

    #[test]
    fn database_password_is_not_echoed() {
        let e = Config::from_sources(
            None,
            "",
            &env(&[("INTERCOOP_DATABASE_URL", "mysql://u:hunter2@h/db")]),
        )
        .unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
    #[test]
    fn object_storage_settings_are_checked() {
        let load = |pairs: &[(&str, &str)]| Config::from_sources(None, "", &env(pairs));
        let full = [
            ("INTERCOOP_MEDIA_S3_ENDPOINT", "http://127.0.0.1:9000/"),
            ("INTERCOOP_MEDIA_S3_BUCKET", "coop-media"),
            ("INTERCOOP_MEDIA_S3_ACCESS_KEY", "intercoop"),
            ("INTERCOOP_MEDIA_S3_SECRET_KEY", "hunter2"),
        ];
        let c = load(&full).unwrap();
        let s3 = c.media_s3.clone().expect("object storage configured");
        assert_eq!(s3.endpoint.as_str(), "http://127.0.0.1:9000/");
        assert_eq!(s3.region, "us-east-1");
        assert!(
            !format!("{c:?}").contains("hunter2"),
            "the secret stays out of logs"
        );
        assert!(load(&[]).unwrap().media_s3.is_none(), "media_dir by default");
        let wrong = |key: &str, value: &str| {
            let mut pairs = full.to_vec();
            pairs.retain(|(k, _)| *k != key);
            if !value.is_empty() {
                pairs.push((key, value));
            }
            load(&pairs).unwrap_err()
        };
        assert_eq!(
            wrong("INTERCOOP_MEDIA_S3_BUCKET", "Coop_Media").key,
            "media_s3_bucket"
        );
        assert_eq!(
            wrong("INTERCOOP_MEDIA_S3_ENDPOINT", "s3.example.org").key,
            "media_s3_endpoint"
        );
        assert_eq!(
            wrong("INTERCOOP_MEDIA_S3_SECRET_KEY", "").key,
            "media_s3_access_key"
        );
        let e = wrong("INTERCOOP_MEDIA_S3_ENDPOINT", "");
        assert_eq!(
            e.key, "media_s3_bucket",
            "a bucket without an endpoint is a mistake: {e}"
        );
    }
}
