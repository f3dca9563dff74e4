//! Email out: mail is queued in `mail_queue` by the use case that causes
//! it, in its own transaction, and this worker sends it through the SMTP
//! server of the config. A mail survives a restart and an SMTP server that
//! is down: a temporary failure (4xx, no connection) is tried again later,
//! with growing waits; a permanent one (5xx, a bad address) is given up at
//! once and counted as failed. Rows are leased, so several processes share
//! the queue and a crash only delays a mail.

use std::time::Duration;

use chrono::NaiveDateTime;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::watch;

use super::{Ctx, ServiceError, ServiceResult};
use crate::config::{Config, Smtp, SmtpTls};
use crate::db::models::{Newsletter, QueuedMail};
use crate::db::queries::mail as mail_q;
use crate::db::{now, PooledConn};

/// Waits before the 2nd, 3rd ... attempt; after the last, the mail fails.
const RETRY_WAITS_SECS: &[i64] = &[60, 300, 1800, 7200, 43_200];
/// Long enough for a whole batch at the SMTP timeout (30 s a mail), so
/// that no other worker takes a mail still being sent.
const LEASE_SECS: i64 = 900;
const BATCH: i64 = 20;

/// Why a mail is sent: kept on the row, for the logs and the counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    Invitation,
    PasswordReset,
    /// A subscriber's double opt-in.
    Confirm,
    /// A notice the user asked for (a message, a reply, an application).
    Notice,
}

impl MailKind {
    fn as_str(self) -> &'static str {
        match self {
            MailKind::Invitation => "invitation",
            MailKind::PasswordReset => "reset",
            MailKind::Confirm => "confirm",
            MailKind::Notice => "notice",
        }
    }
}

pub fn configured(config: &Config) -> bool {
    config.smtp.is_some()
}

/// The error for a feature that needs mail on an instance without it.
pub fn not_configured() -> ServiceError {
    ServiceError::Conflict(
        "Email is not set up on this server: an admin sets smtp_host and email_from in intercoop.toml (see the README) and restarts it.".into(),
    )
}

/// An address as stored and compared: trimmed, lowercased, checked.
pub fn check_address(field: &'static str, raw: &str) -> ServiceResult<String> {
    let email = raw.trim().to_lowercase();
    if email.len() > 254 || email.parse::<lettre::Address>().is_err() {
        return Err(ServiceError::invalid(
            field,
            "This is not an email address: write it like name@example.org.",
        ));
    }
    Ok(email)
}

/// Queues one mail in the caller's transaction. Without an SMTP server
/// nothing is queued and `false` comes back (the caller then shows the
/// link to pass on by hand).
pub async fn queue(
    conn: &mut PooledConn,
    config: &Config,
    kind: MailKind,
    to: &str,
    subject: &str,
    body: &str,
) -> ServiceResult<bool> {
    if !configured(config) {
        return Ok(false);
    }
    mail_q::push(conn, kind.as_str(), to, subject, body).await?;
    Ok(true)
}

/// The key of an address's unsubscribe link: an HMAC of the address, so
/// that no table of links is needed and a link works for years.
pub fn unsubscribe_token(secret: &str, email: &str) -> String {
    use base64::Engine;
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, format!("unsubscribe\n{email}").as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&tag.as_ref()[..18])
}

pub fn unsubscribe_url(config: &Config, secret: &str, email: &str) -> String {
    config.url(&format!(
        "/newsletter/unsubscribe?e={}&t={}",
        super::text::percent_encode(email),
        unsubscribe_token(secret, email)
    ))
}

pub async fn run(ctx: Ctx, mut stop: watch::Receiver<bool>) {
    loop {
        let busy = match send_due(&ctx, now()).await {
            Ok(n) => n > 0,
            Err(e) => {
                tracing::error!(error = %e, "mail worker: batch failed");
                false
            }
        };
        if *stop.borrow() {
            break;
        }
        if !busy {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.changed() => break,
            }
        }
    }
}

/// Sends one batch of the mail due at `at`; returns how many were taken.
/// (`at` is a parameter so that a test can run the retries of later.)
pub async fn send_due(ctx: &Ctx, at: NaiveDateTime) -> ServiceResult<usize> {
    let Some(smtp) = ctx.config.smtp.as_ref() else {
        return Ok(0);
    };
    let rows = {
        let mut conn = ctx.db.write().await?;
        mail_q::claim(&mut conn, BATCH, at, at + chrono::Duration::seconds(LEASE_SECS)).await?
    };
    if rows.is_empty() {
        return Ok(0);
    }
    let transport = transport(smtp, &ctx.config).map_err(ServiceError::Internal)?;
    let secret = {
        let mut conn = ctx.db.write().await?;
        mail_q::mail_secret(&mut conn).await?
    };
    let mut newsletter: Option<Newsletter> = None;
    let n = rows.len();
    for row in rows {
        if let Some(id) = row.newsletter_id {
            if newsletter.as_ref().is_none_or(|n| n.id != id) {
                let mut conn = ctx.db.conn().await?;
                // Its news deleted or hidden since: what is not sent yet stays unsent.
                newsletter = match mail_q::newsletter(&mut conn, id).await? {
                    Some(n) => crate::db::queries::content::find(&mut conn, n.object_id)
                        .await?
                        .filter(|o| o.deleted_at.is_none() && o.hidden_at.is_none())
                        .map(|_| n),
                    None => None,
                };
            }
        }
        let outcome = match build(&ctx.config, smtp, &secret, &row, newsletter.as_ref()) {
            Ok(message) => transport.send(message).await.map(|_| ()).map_err(|e| {
                let permanent = e.is_permanent();
                (e.to_string(), permanent)
            }),
            Err(e) => Err((e, true)),
        };
        let mut conn = ctx.db.write().await?;
        match outcome {
            Ok(()) => {
                mail_q::mark_sent(&mut conn, row.id, now()).await?;
                tracing::info!(mail = row.id, kind = %row.kind, "mail sent");
            }
            Err((error, permanent)) => {
                let retry = RETRY_WAITS_SECS
                    .get(row.attempts as usize)
                    .filter(|_| !permanent)
                    .map(|s| at + chrono::Duration::seconds(*s));
                tracing::warn!(mail = row.id, kind = %row.kind, error = %error, retry = ?retry, "mail not sent");
                mail_q::mark_failed(&mut conn, row.id, &error, retry).await?;
            }
        }
    }
    Ok(n)
}

fn transport(smtp: &Smtp, config: &Config) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let builder = match smtp.tls {
        SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
            .map_err(|e| format!("SMTP server {}: {e}", smtp.host))?,
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
            .map_err(|e| format!("SMTP server {}: {e}", smtp.host))?,
        SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
    };
    let mut builder = builder
        .port(smtp.port)
        .timeout(Some(Duration::from_secs(30)))
        .hello_name(ClientId::Domain(
            config.base_url.host_str().unwrap_or("localhost").to_string(),
        ));
    if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    Ok(builder.build())
}

/// The message for one row; `Err` (a bad address, say) is permanent.
fn build(
    config: &Config,
    smtp: &Smtp,
    secret: &str,
    row: &QueuedMail,
    newsletter: Option<&Newsletter>,
) -> Result<Message, String> {
    let from: Mailbox = smtp
        .from
        .parse()
        .map_err(|e| format!("email_from {:?}: {e}", smtp.from))?;
    let to: Mailbox = row
        .to_addr
        .parse()
        .map_err(|e| format!("address {:?}: {e}", row.to_addr))?;
    let host = config.base_url.host_str().unwrap_or("localhost");
    let builder = Message::builder()
        .from(from)
        .to(to)
        .subject(row.subject.clone())
        .message_id(Some(format!("<{}@{host}>", crate::crypto::random_token())));
    let message = match (row.newsletter_id, newsletter) {
        (Some(_), Some(n)) => {
            // RFC 8058: a mail client's "unsubscribe" button posts to this
            // address, without cookies or a form to fill in.
            let url = unsubscribe_url(config, secret, &row.to_addr);
            let footer_text = format!(
                "\n\n--\nYou get this newsletter from {}. To stop it: {url}\n",
                config.domain()
            );
            let footer_html = format!(
                "<hr><p style=\"font-size:small\">You get this newsletter from {}. <a href=\"{}\">Unsubscribe</a>.</p>",
                super::text::escape_html(&config.domain()),
                super::text::escape_html(&url)
            );
            builder
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{url}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".into(),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Id"),
                    format!("<newsletter.{host}>"),
                ))
                .multipart(MultiPart::alternative_plain_html(
                    format!("{}{footer_text}", n.body_text),
                    format!("{}{footer_html}", n.body_html),
                ))
        }
        (Some(id), None) => return Err(format!("newsletter {id} is gone, or its news was deleted")),
        (None, _) => builder
            .header(ContentType::TEXT_PLAIN)
            .body(row.body_text.clone()),
    };
    message.map_err(|e| format!("cannot build the mail: {e}"))
}
