//! The newsletter: a news item also sent by email to the co-op's active
//! members and, for public news, to people who subscribed and confirmed
//! their address (double opt-in). Every mail has a one-click unsubscribe
//! (RFC 8058) and a plain-text part.
//!
//! Sending is planned in the news item's transaction and expanded into one
//! queued mail per address by the jobs worker at the item's publication
//! time (`DomainEvent::NewsletterDue`), so a scheduled item goes out when
//! it is published, and a list of thousands costs the request nothing.

use chrono::NaiveDateTime;
use serde::Serialize;

use super::caller::Caller;
use super::events::{self, DomainEvent};
use super::mail::{self, MailKind};
use super::types::UserRole;
use super::{Ctx, ServiceError, ServiceResult};
use crate::crypto;
use crate::db::models::{Newsletter, Object};
use crate::db::queries::accounts as accounts_q;
use crate::db::queries::content;
use crate::db::queries::mail as mail_q;
use crate::db::{now, PooledConn};

/// A confirmation link works this long.
const CONFIRM_DAYS: i64 = 7;

/// A newsletter with what became of its mail.
#[derive(Debug, Clone, Serialize)]
pub struct NewsletterStatus {
    #[serde(flatten)]
    pub newsletter: Newsletter,
    pub title: String,
    pub slug: Option<String>,
    pub queued: i64,
    pub sent: i64,
    pub failed: i64,
}

/// Who a news item's newsletter goes to: public news to members and
/// subscribers, anything narrower to members only.
fn audience_of(object: &Object) -> &'static str {
    match object.visibility.as_str() {
        "public" | "unlisted" => "everyone",
        _ => "members",
    }
}

/// Plans the newsletter of a news item in the caller's transaction: due at
/// the item's publication (now, or its scheduled time).
pub async fn plan_on(conn: &mut PooledConn, ctx: &Ctx, by_user: i64, object: &Object) -> ServiceResult<i64> {
    if !mail::configured(&ctx.config) {
        return Err(mail::not_configured());
    }
    if object.kind != "news" || object.deleted_at.is_some() {
        return Err(ServiceError::NotFound("There is no such news item.".into()));
    }
    let Some(published) = object.published_at.filter(|_| object.status == "published") else {
        return Err(ServiceError::invalid(
            "newsletter",
            "A draft is not sent: publish the news item (now or at a set time) and it goes out then.",
        ));
    };
    match mail_q::newsletter_of(conn, object.id).await? {
        Some(n) if n.status == "cancelled" => mail_q::delete_newsletter(conn, n.id).await?,
        Some(_) => {
            return Err(ServiceError::Conflict(
                "This news item was already sent as a newsletter: each goes out once.".into(),
            ))
        }
        None => {}
    }
    let id = mail_q::insert_newsletter(conn, object.id, audience_of(object), by_user).await?;
    let at = now();
    events::record(
        conn,
        &DomainEvent::NewsletterDue { id },
        (published > at).then_some(published),
    )
    .await?;
    accounts_q::audit(
        conn,
        Some(by_user),
        "newsletter.send",
        object.slug.as_deref().unwrap_or(""),
    )
    .await?;
    Ok(id)
}

/// Whether a news item has a newsletter planned or sent.
pub async fn planned(conn: &mut PooledConn, news_id: i64) -> ServiceResult<bool> {
    Ok(mail_q::newsletter_of(conn, news_id)
        .await?
        .is_some_and(|n| n.status != "cancelled"))
}

/// Sends a published (or scheduled) news item as a newsletter.
pub async fn send(ctx: &Ctx, caller: &Caller, news_id: i64) -> ServiceResult<NewsletterStatus> {
    let by = caller.require(UserRole::Editor)?;
    let mut tx = ctx.db.begin().await?;
    let object = content::find(&mut tx, news_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("There is no such news item.".into()))?;
    let id = plan_on(&mut tx, ctx, by, &object).await?;
    tx.commit().await?;
    status(ctx, caller, id).await
}

pub async fn status(ctx: &Ctx, caller: &Caller, id: i64) -> ServiceResult<NewsletterStatus> {
    caller.require(UserRole::Editor)?;
    let mut conn = ctx.db.conn().await?;
    let n = mail_q::newsletter(&mut conn, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("There is no such newsletter.".into()))?;
    with_counts(&mut conn, n).await
}

/// The newsletter of a news item, if it was sent as one.
pub async fn of_news(ctx: &Ctx, caller: &Caller, news_id: i64) -> ServiceResult<Option<NewsletterStatus>> {
    if !caller.can(UserRole::Editor) {
        return Ok(None);
    }
    let mut conn = ctx.db.conn().await?;
    match mail_q::newsletter_of(&mut conn, news_id).await? {
        Some(n) => Ok(Some(with_counts(&mut conn, n).await?)),
        None => Ok(None),
    }
}

pub async fn list(ctx: &Ctx, caller: &Caller) -> ServiceResult<Vec<NewsletterStatus>> {
    caller.require(UserRole::Editor)?;
    let mut conn = ctx.db.conn().await?;
    let mut out = Vec::new();
    for n in mail_q::list_newsletters(&mut conn).await? {
        out.push(with_counts(&mut conn, n).await?);
    }
    Ok(out)
}

async fn with_counts(conn: &mut PooledConn, n: Newsletter) -> ServiceResult<NewsletterStatus> {
    let (queued, sent, failed) = mail_q::counts(conn, n.id).await?;
    let object = content::find(conn, n.object_id).await?;
    Ok(NewsletterStatus {
        title: object.as_ref().map(|o| o.title.clone()).unwrap_or_default(),
        slug: object.and_then(|o| o.slug),
        newsletter: n,
        queued,
        sent,
        failed,
    })
}

/// The due newsletter becomes one queued mail per address (the jobs
/// worker, at the news item's publication). Done once: a second run finds
/// it queued already.
pub async fn queue_issue(ctx: &Ctx, id: i64) -> ServiceResult<()> {
    let mut tx = ctx.db.begin().await?;
    let Some(n) = mail_q::newsletter(&mut tx, id).await? else {
        return Ok(());
    };
    if n.status != "planned" {
        return Ok(());
    }
    let object = content::find(&mut tx, n.object_id).await?;
    let live = object
        .as_ref()
        .is_some_and(|o| o.deleted_at.is_none() && o.hidden_at.is_none() && o.status == "published");
    if let Some(later) = object
        .as_ref()
        .filter(|_| live)
        .and_then(|o| o.published_at)
        .filter(|p| *p > now())
    {
        // Its publication was moved later: the newsletter follows it.
        events::record(&mut tx, &DomainEvent::NewsletterDue { id }, Some(later)).await?;
        tx.commit().await?;
        return Ok(());
    }
    let Some(object) = object.filter(|_| live) else {
        // Deleted or taken back to draft before its time: nothing goes out.
        mail_q::set_newsletter_status(&mut tx, id, "cancelled").await?;
        tx.commit().await?;
        tracing::info!(
            newsletter = id,
            "newsletter cancelled: its news is no longer published"
        );
        return Ok(());
    };
    // Claimed once: a second worker (or a retried job) finds it taken.
    if mail_q::claim_newsletter(&mut tx, id).await? == 0 {
        return Ok(());
    }
    let mut to = mail_q::member_addresses(&mut tx).await?;
    // Visibility may have narrowed since it was planned: the narrower wins.
    if n.audience == "everyone" && audience_of(&object) == "everyone" {
        to.extend(mail_q::confirmed_subscribers(&mut tx).await?);
    }
    let unsubscribed = mail_q::unsubscribed_addresses(&mut tx).await?;
    let to: Vec<String> = to.into_iter().filter(|a| !unsubscribed.contains(a)).collect();
    let (text, html) = bodies(ctx, &object);
    mail_q::set_newsletter_queued(&mut tx, id, &object.title, &text, &html, to.len() as i64).await?;
    mail_q::push_newsletter(&mut tx, id, &object.title, &to).await?;
    tx.commit().await?;
    tracing::info!(newsletter = id, recipients = to.len(), "newsletter queued");
    Ok(())
}

/// The plain-text part (the Markdown the editor wrote, which reads as
/// text) and the HTML part, with links made absolute for a mail reader.
fn bodies(ctx: &Ctx, o: &Object) -> (String, String) {
    let link = o.url.clone().unwrap_or_else(|| o.ap_id.clone());
    let source = o.source.clone().unwrap_or_else(|| o.summary.clone());
    let text = format!("{}\n\n{}\n\nOn the web: {link}", o.title, source.trim());
    let base = ctx.config.url("");
    let content = o
        .content_html
        .replace("src=\"/", &format!("src=\"{base}/"))
        .replace("href=\"/", &format!("href=\"{base}/"));
    let image = match (&o.image_url, &o.image_alt) {
        (Some(src), alt) => {
            let src = if src.starts_with('/') {
                format!("{base}{src}")
            } else {
                src.clone()
            };
            format!(
                "<p><img src=\"{}\" alt=\"{}\" style=\"max-width:100%\"></p>",
                super::text::escape_html(&src),
                super::text::escape_html(alt.as_deref().unwrap_or(""))
            )
        }
        (None, _) => String::new(),
    };
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif;max-width:40em;margin:auto\"><h1>{}</h1>{image}{content}<p><a href=\"{}\">Read it on the web</a></p></body></html>",
        super::text::escape_html(&o.title),
        super::text::escape_html(&link)
    );
    (text, html)
}

// ---------------------------------------------------------------- subscribers

/// Someone asks for the newsletter: a confirmation link goes to the
/// address. The answer is the same whether or not it was subscribed, so
/// the form tells nobody who reads the newsletter.
pub async fn subscribe(ctx: &Ctx, raw_email: &str) -> ServiceResult<()> {
    if !mail::configured(&ctx.config) {
        return Err(mail::not_configured());
    }
    let email = mail::check_address("email", raw_email)?;
    let mut tx = ctx.db.begin().await?;
    if mail_q::subscriber_confirmed(&mut tx, &email).await? {
        return Ok(());
    }
    let token = crypto::random_token();
    mail_q::request_subscription(&mut tx, &email, &crypto::token_hash(&token)).await?;
    let coop = super::coop::coop_actor_on(&mut tx).await?;
    let name = coop.map(|c| c.name).unwrap_or_else(|| ctx.config.domain());
    let link = ctx.config.url(&format!("/newsletter/confirm?token={token}"));
    let body = format!(
        "Someone, hopefully you, asked for the newsletter of {name} at this address.\n\n\
         To confirm, open this link (it works for {CONFIRM_DAYS} days):\n{link}\n\n\
         If it was not you, ignore this mail: nothing more will come.\n"
    );
    mail::queue(
        &mut tx,
        &ctx.config,
        MailKind::Confirm,
        &email,
        &format!("Confirm your subscription to {name}"),
        &body,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The address a confirmation link is for, before it is used (the link's
/// page asks for a click: mail scanners open links on their own).
pub async fn pending(ctx: &Ctx, token: &str) -> ServiceResult<String> {
    let mut conn = ctx.db.conn().await?;
    let since = now() - chrono::Duration::days(CONFIRM_DAYS);
    mail_q::pending_subscription(&mut conn, &crypto::token_hash(token), since)
        .await?
        .ok_or_else(|| {
            ServiceError::NotFound(
                "This confirmation link has expired or was already used: ask for the newsletter again on the co-op's home page.".into(),
            )
        })
}

/// The confirmation link; returns the address now subscribed.
pub async fn confirm(ctx: &Ctx, token: &str) -> ServiceResult<String> {
    let mut conn = ctx.db.write().await?;
    let since = now() - chrono::Duration::days(CONFIRM_DAYS);
    mail_q::confirm_subscription(&mut conn, &crypto::token_hash(token), since)
        .await?
        .ok_or_else(|| {
            ServiceError::NotFound(
                "This confirmation link has expired or was already used: ask for the newsletter again on the co-op's home page.".into(),
            )
        })
}

/// Whether an unsubscribe link is genuine.
pub async fn check_unsubscribe(ctx: &Ctx, email: &str, token: &str) -> ServiceResult<String> {
    let email = email.trim().to_lowercase();
    // mail_secret is a write: an UPDATE on every call, that sets it the first time.
    let secret = {
        let mut conn = ctx.db.write().await?;
        mail_q::mail_secret(&mut conn).await?
    };
    if !crypto::constant_time_eq(&mail::unsubscribe_token(&secret, &email), token) {
        return Err(ServiceError::NotFound(
            "This unsubscribe link is not complete: open the whole link from the mail, or use the unsubscribe button of your mail program.".into(),
        ));
    }
    Ok(email)
}

/// One-click unsubscribe (RFC 8058) and the button of the page.
pub async fn unsubscribe(ctx: &Ctx, email: &str, token: &str) -> ServiceResult<String> {
    let email = check_unsubscribe(ctx, email, token).await?;
    let mut conn = ctx.db.write().await?;
    mail_q::unsubscribe(&mut conn, &email).await?;
    tracing::info!("newsletter: an address unsubscribed");
    Ok(email)
}

/// A member's own choice, on their account page: `None` when their
/// register record has no address.
pub async fn member_choice(ctx: &Ctx, caller: &Caller) -> ServiceResult<Option<bool>> {
    let user = caller.require(UserRole::Member)?;
    let mut conn = ctx.db.conn().await?;
    let Some(email) = mail_q::address_of_user(&mut conn, user).await? else {
        return Ok(None);
    };
    Ok(Some(!mail_q::is_unsubscribed(&mut conn, &email).await?))
}

pub async fn set_member_choice(ctx: &Ctx, caller: &Caller, on: bool) -> ServiceResult<()> {
    let user = caller.require(UserRole::Member)?;
    let mut conn = ctx.db.write().await?;
    let email = mail_q::address_of_user(&mut conn, user).await?.ok_or_else(|| {
        ServiceError::invalid(
            "newsletter",
            "Your register record has no email address: ask the secretary to add it.",
        )
    })?;
    if on {
        mail_q::resubscribe(&mut conn, &email).await?;
    } else {
        mail_q::unsubscribe(&mut conn, &email).await?;
    }
    Ok(())
}

/// Confirmed subscribers, for the admin page.
pub async fn subscriber_count(ctx: &Ctx, caller: &Caller) -> ServiceResult<i64> {
    caller.require(UserRole::Editor)?;
    let mut conn = ctx.db.conn().await?;
    Ok(mail_q::subscriber_count(&mut conn).await?)
}

/// Housekeeping: requests to subscribe never confirmed, past their link.
pub async fn expire(ctx: &Ctx) -> ServiceResult<usize> {
    let mut conn = ctx.db.write().await?;
    let at: NaiveDateTime = now();
    Ok(mail_q::delete_unconfirmed_before(&mut conn, at - chrono::Duration::days(CONFIRM_DAYS)).await?)
}
