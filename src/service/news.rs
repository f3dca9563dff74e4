//! News: the co-op's articles. Each change is written with its outgoing event
//! (`news.created`, `news.updated`, `news.deleted`) in one transaction; the
//! federation worker turns the events into Create, Update and Delete for the
//! followers. This module knows nothing of ActivityPub.

use super::events::{self, DomainEvent};
#[cfg(test)]
use super::text::slugify;
use super::text::{first_paragraph, markdown_images, normalize_newlines, render_markdown};
use super::types::{optional_url, UserRole};
use super::{coop, Caller, Ctx, ServiceError, ServiceResult};
use crate::db::models::{NewObject, Object};
use crate::db::now;
use crate::db::queries::{
    accounts as accounts_q, content, deliveries as delivery_q, events as event_q, outbox as outbox_q,
};
use chrono::NaiveDateTime;

pub const KIND: &str = crate::db::models::ContentKind::News.as_str();

/// What an editor types.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct NewsInput {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub summary: String,
    /// Markdown.
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub image_url: String,
    #[serde(default)]
    pub image_alt: String,
    /// Save without publishing.
    #[serde(default)]
    pub draft: bool,
    /// When to publish: RFC 3339, or `YYYY-MM-DDTHH:MM` (a form's
    /// datetime-local) taken as UTC. Empty or absent: now. A future time
    /// schedules the publication; the followers hear of it then.
    #[serde(default)]
    pub published_at: Option<String>,
    /// Also send it by email, when published, to the members (and, for
    /// public news, to the newsletter's subscribers).
    #[serde(default)]
    pub newsletter: bool,
    /// `public` (default), `unlisted`, `followers` or `members`.
    #[serde(default)]
    pub visibility: String,
}

/// Where a news item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Publication {
    Draft,
    Scheduled(NaiveDateTime),
    Published,
}

pub fn publication(o: &Object) -> Publication {
    match o.published_at {
        _ if o.status == "draft" => Publication::Draft,
        Some(at) if at > now() => Publication::Scheduled(at),
        _ => Publication::Published,
    }
}

/// Reads a publication time as people and scripts write it.
pub fn parse_publish_time(raw: &str) -> ServiceResult<Option<NaiveDateTime>> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(raw) {
        return Ok(Some(t.naive_utc()));
    }
    for format in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(raw, format) {
            return Ok(Some(t));
        }
    }
    Err(ServiceError::invalid(
        "published_at",
        "Give the publication time as 2026-12-24T09:00 (UTC), or leave it empty to publish now.",
    ))
}

#[derive(Debug)]
struct Checked {
    title: String,
    summary: String,
    source: String,
    html: String,
    image_url: Option<String>,
    image_alt: Option<String>,
}

/// Validates news. `previous` is the stored version on an edit: a summary
/// equal to the automatic one of the previous text was not written by the
/// editor (the form shows it back), so it is regenerated from the new text.
fn check(input: &NewsInput, previous: Option<&Object>, local_mode: bool) -> ServiceResult<Checked> {
    // Every problem is reported at once, each for its field.
    let mut errors = super::FieldErrors::default();
    for (field, text) in [
        ("title", &input.title),
        ("summary", &input.summary),
        ("body", &input.body),
        ("image_url", &input.image_url),
        ("image_alt", &input.image_alt),
    ] {
        if text.contains('\0') {
            errors.add(
                field,
                "The text contains a NUL character, which cannot be stored: remove it and try again.",
            );
        }
    }
    let title = input.title.trim().to_string();
    if title.is_empty() || title.chars().count() > 200 {
        errors.add("title", "Give the news a title of 1 to 200 characters.");
    }
    let source = normalize_newlines(input.body.trim());
    if source.is_empty() {
        errors.add("body", "Write the news text.");
    }
    if source.len() > 100_000 {
        errors.add("body", "The text is too long: keep it under 100,000 characters.");
    }
    let mut summary = input.summary.split_whitespace().collect::<Vec<_>>().join(" ");
    // Also the automatic summary of a CRLF text stored before line endings
    // were normalised (the whole body, flattened).
    let was_automatic = previous.is_some_and(|p| {
        let old = p.source.as_deref().unwrap_or("");
        summary == first_paragraph(&normalize_newlines(old)) || summary == first_paragraph(old)
    });
    if summary.is_empty() || was_automatic {
        summary = first_paragraph(&source);
    }
    if summary.chars().count() > 500 {
        errors.add(
            "summary",
            "Keep the summary under 500 characters: it is what Mastodon shows.",
        );
    }
    for (url, alt) in markdown_images(&source) {
        let https = url.starts_with("https://") || (local_mode && url.starts_with("http://"));
        if !https {
            errors.add(
                "body",
                format!("The image {url} needs an https:// address (pictures in the text are loaded from the web)."),
            );
        }
        if alt.trim().is_empty() {
            errors.add(
                "body",
                format!("The image {url} needs a description for people who cannot see it: write it in ![description]({url})."),
            );
        }
    }
    let image_url = errors
        .take(optional_url("image_url", &input.image_url))?
        .flatten();
    // Pages load images over https only (the CSP), except in local mode.
    if image_url.as_deref().is_some_and(|u| u.starts_with("http:")) && !local_mode {
        errors.add(
            "image_url",
            "The image address must start with https:// (browsers do not show http images on a secure site).",
        );
    }
    errors.take(parse_publish_time(input.published_at.as_deref().unwrap_or("")))?;
    errors.take(super::objects::content_visibility(&input.visibility))?;
    errors.finish()?;
    let image_alt = Some(input.image_alt.trim().to_string()).filter(|a| !a.is_empty() && image_url.is_some());
    Ok(Checked {
        html: render_markdown(&source),
        title,
        summary,
        source,
        image_url,
        image_alt,
    })
}

/// Publishes news as the co-op, or saves it as a draft, or schedules it
/// (`published_at` in the future: its Create goes out then). Returns the
/// stored object.
pub async fn publish_news(ctx: &Ctx, caller: &Caller, input: &NewsInput) -> ServiceResult<Object> {
    let by_user = caller.require(UserRole::Editor)?;
    let checked = check(input, None, ctx.config.local_mode())?;
    let when = parse_publish_time(input.published_at.as_deref().unwrap_or(""))?;
    let visibility = super::objects::content_visibility(&input.visibility)?;
    let coop = coop::get_coop(ctx)
        .await?
        .ok_or_else(|| ServiceError::NotFound("The co-op is not set up yet.".into()))?;
    let mut tx = ctx.db.begin().await?;
    let at = now();
    let published_at = if input.draft {
        None
    } else {
        Some(when.unwrap_or(at))
    };
    let (id, slug) = super::objects::insert_local(
        &mut tx,
        &ctx.config,
        crate::db::models::ContentKind::News,
        NewObject {
            ap_type: "Article".into(),
            author_id: coop.id,
            visibility: visibility.as_str().into(),
            title: checked.title,
            summary: checked.summary,
            content_html: checked.html,
            source: Some(checked.source),
            image_url: checked.image_url,
            image_alt: checked.image_alt,
            published_at,
            created_at: at,
            status: Some(if input.draft { "draft" } else { "published" }.into()),
            ..Default::default()
        },
    )
    .await?;
    if let Some(p) = published_at {
        // A scheduled item's Create waits until its time.
        events::record(&mut tx, &DomainEvent::NewsPublished { id }, (p > at).then_some(p)).await?;
    }
    let action = match published_at {
        None => "news.draft",
        Some(p) if p > at => "news.schedule",
        Some(_) => "news.publish",
    };
    accounts_q::audit(&mut tx, Some(by_user), action, &slug).await?;
    let object = content::find(&mut tx, id)
        .await?
        .ok_or_else(|| ServiceError::Internal("news vanished after insert".into()))?;
    // A draft's box is kept for when it is published (from its edit form).
    if input.newsletter && !input.draft {
        super::newsletter::plan_on(&mut tx, ctx, by_user, &object).await?;
    }
    tx.commit().await?;
    tracing::info!(slug = %slug, action, "news saved");
    Ok(object)
}

/// What publishing `input` would show: the summary and the HTML, with the
/// same checks as publishing (for the form's Preview).
pub fn preview_news(
    ctx: &Ctx,
    input: &NewsInput,
    previous: Option<&Object>,
) -> ServiceResult<(String, String)> {
    let checked = check(input, previous, ctx.config.local_mode())?;
    Ok((checked.summary, checked.html))
}

/// Drafts and scheduled news, for editors.
pub async fn list_unpublished(ctx: &Ctx) -> ServiceResult<Vec<Object>> {
    let mut conn = ctx.db.conn().await?;
    Ok(content::list_unpublished(&mut conn, KIND).await?)
}

pub async fn get_news(ctx: &Ctx, slug: &str) -> ServiceResult<Object> {
    let mut conn = ctx.db.conn().await?;
    super::objects::find_local_by_slug(&mut conn, crate::db::models::ContentKind::News, slug).await
}

pub async fn get_news_by_id(ctx: &Ctx, id: i64) -> ServiceResult<Object> {
    let mut conn = ctx.db.conn().await?;
    super::objects::find_local(&mut conn, crate::db::models::ContentKind::News, id).await
}

/// Published news that `caller` may read (members also see members-only
/// news), newest first, with the total.
pub async fn list_news(
    ctx: &Ctx,
    caller: &Caller,
    page: i64,
    per_page: i64,
) -> ServiceResult<(Vec<Object>, i64)> {
    let shown = super::member_links::listed(ctx, caller).await?;
    let mut conn = ctx.db.conn().await?;
    let total = content::count_local(&mut conn, KIND, shown).await?;
    let items = content::list_local(
        &mut conn,
        KIND,
        shown,
        page.clamp(0, 1_000_000) * per_page,
        per_page,
    )
    .await?;
    Ok((items, total))
}

/// The latest `n` news `caller` may read, for the home page and the feeds,
/// which do not count the rest (counting is most of the cost with
/// thousands of items).
pub async fn latest_news(ctx: &Ctx, caller: &Caller, n: i64) -> ServiceResult<Vec<Object>> {
    let shown = super::member_links::listed(ctx, caller).await?;
    let mut conn = ctx.db.conn().await?;
    Ok(content::list_local(&mut conn, KIND, shown, 0, n).await?)
}

/// Saves an edit. Published news stays published (its Update federates); a
/// draft is published, or stays a draft with `draft`; a scheduled item can
/// be moved, and its Create goes out with what it says at that time.
pub async fn update_news(ctx: &Ctx, caller: &Caller, id: i64, input: &NewsInput) -> ServiceResult<Object> {
    let by_user = caller.require(UserRole::Editor)?;
    let existing = get_news_by_id(ctx, id).await?;
    if existing.deleted_at.is_some() {
        return Err(ServiceError::NotFound("This news was deleted.".into()));
    }
    let checked = check(input, Some(&existing), ctx.config.local_mode())?;
    let when = parse_publish_time(input.published_at.as_deref().unwrap_or(""))?;
    let before = publication(&existing);
    let visibility =
        super::objects::edited_visibility(&existing, &input.visibility, before == Publication::Published)?;
    if input.draft && before == Publication::Published {
        return Err(ServiceError::invalid(
            "draft",
            "This news is already published and its followers have it: it cannot go back to draft. Edit it, or delete it.",
        ));
    }
    let mut tx = ctx.db.begin().await?;
    content::update_content(
        &mut tx,
        id,
        &content::ContentChange {
            title: &checked.title,
            summary: &checked.summary,
            content_html: &checked.html,
            source: &checked.source,
            image_url: checked.image_url.as_deref(),
            image_alt: checked.image_alt.as_deref(),
        },
    )
    .await?;
    if let Some(v) = visibility {
        content::set_visibility(&mut tx, id, v.as_str()).await?;
    }
    let at = now();
    let action = match before {
        Publication::Published => {
            events::record(&mut tx, &DomainEvent::NewsUpdated { id }, None).await?;
            "news.update"
        }
        Publication::Draft if input.draft => "news.update_draft",
        Publication::Draft => {
            let p = when.unwrap_or(at);
            content::set_publication(&mut tx, id, "published", Some(p)).await?;
            events::record(&mut tx, &DomainEvent::NewsPublished { id }, (p > at).then_some(p)).await?;
            if p > at {
                "news.schedule"
            } else {
                "news.publish"
            }
        }
        Publication::Scheduled(_) if input.draft => {
            content::set_publication(&mut tx, id, "draft", None).await?;
            event_q::finish_events_about(&mut tx, DomainEvent::NewsPublished { id }.kind(), id).await?;
            "news.unschedule"
        }
        Publication::Scheduled(old) => {
            let p = when.unwrap_or(old);
            content::set_publication(&mut tx, id, "published", Some(p)).await?;
            event_q::reschedule_events(
                &mut tx,
                DomainEvent::NewsPublished { id }.kind(),
                id,
                (p > at).then_some(p),
            )
            .await?;
            // A planned newsletter goes out with it, earlier as well as later.
            if let Some(n) = crate::db::queries::mail::newsletter_of(&mut tx, id).await? {
                event_q::reschedule_events(
                    &mut tx,
                    DomainEvent::NewsletterDue { id: n.id }.kind(),
                    n.id,
                    (p > at).then_some(p),
                )
                .await?;
            }
            "news.reschedule"
        }
    };
    accounts_q::audit(
        &mut tx,
        Some(by_user),
        action,
        existing.slug.as_deref().unwrap_or(""),
    )
    .await?;
    let object = content::find(&mut tx, id)
        .await?
        .ok_or_else(|| ServiceError::Internal("news vanished".into()))?;
    if input.newsletter && !input.draft && !super::newsletter::planned(&mut tx, id).await? {
        super::newsletter::plan_on(&mut tx, ctx, by_user, &object).await?;
    }
    tx.commit().await?;
    Ok(object)
}

/// Deletes news: the row stays as a tombstone so that its URL answers 410 and
/// followers get a Delete.
pub async fn delete_news(ctx: &Ctx, caller: &Caller, id: i64) -> ServiceResult<()> {
    let by_user = caller.require(UserRole::Editor)?;
    let existing = get_news_by_id(ctx, id).await?;
    if existing.deleted_at.is_some() {
        return Ok(());
    }
    let mut tx = ctx.db.begin().await?;
    content::mark_deleted(&mut tx, id).await?;
    outbox_q::redact_outbox_for_object(&mut tx, id).await?;
    // Only what went out is taken back: a draft or a scheduled item never
    // reached anyone, and a Delete would tell them it existed.
    match publication(&existing) {
        Publication::Published => events::record(&mut tx, &DomainEvent::NewsDeleted { id }, None).await?,
        Publication::Draft | Publication::Scheduled(_) => {
            event_q::finish_events_about(&mut tx, DomainEvent::NewsPublished { id }.kind(), id).await?;
        }
    }
    accounts_q::audit(
        &mut tx,
        Some(by_user),
        "news.delete",
        existing.slug.as_deref().unwrap_or(""),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Each activity sent about an object with its deliveries, oldest first.
pub async fn federation_status(
    ctx: &Ctx,
    object_id: i64,
) -> ServiceResult<Vec<(crate::db::models::OutboxItem, Vec<crate::db::models::Delivery>)>> {
    let mut conn = ctx.db.conn().await?;
    let mut out = Vec::new();
    for item in outbox_q::outbox_for_object(&mut conn, object_id).await? {
        let deliveries = delivery_q::deliveries_for_outbox(&mut conn, item.id).await?;
        out.push((item, deliveries));
    }
    Ok(out)
}

/// An actor's public Create activities as sent, newest first, a page at a
/// time, with the total: the outbox collection.
pub async fn public_activities(
    ctx: &Ctx,
    actor_id: i64,
    page: i64,
    per_page: i64,
) -> ServiceResult<(Vec<crate::db::models::OutboxItem>, i64)> {
    let mut conn = ctx.db.conn().await?;
    let total = outbox_q::count_public_outbox(&mut conn, actor_id).await?;
    let items =
        outbox_q::public_outbox(&mut conn, actor_id, page.clamp(0, 1_000_000) * per_page, per_page).await?;
    Ok((items, total))
}

/// An activity the co-op sent, by its id (callers serve only public ones;
/// those of deleted objects have been blanked).
pub async fn find_activity(ctx: &Ctx, ap_id: &str) -> ServiceResult<Option<crate::db::models::OutboxItem>> {
    let mut conn = ctx.db.conn().await?;
    Ok(outbox_q::find_outbox_by_ap_id(&mut conn, ap_id).await?)
}

#[cfg(test)]
mod tests {
    use super::super::text::sanitize_html;
    use super::*;

    #[test]
    fn markdown_is_rendered_and_sanitised() {
        let html = render_markdown(
            "Hello **co-op**\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) [y](https://a.example)",
        );
        assert!(html.contains("<strong>co-op</strong>"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("javascript:"));
        assert!(html.contains("href=\"https://a.example\""));
        assert!(html.contains("rel=\"nofollow noopener noreferrer\""));
    }

    #[test]
    fn markdown_has_images_tables_headings_and_autolinks() {
        let html = render_markdown(
            "# Harvest\n\n![The field](https://img.example/f.jpg)\n\n| Day | Place |\n|---|---|\n| Fri | Barn |\n\nSee https://coop.example/map. And `https://not.a.link`.",
        );
        assert!(html.contains("<h1>Harvest</h1>"), "{html}");
        assert!(
            html.contains("<img src=\"https://img.example/f.jpg\" alt=\"The field\">"),
            "{html}"
        );
        assert!(
            html.contains("<table>") && html.contains("<td>Barn</td>"),
            "{html}"
        );
        assert!(
            html.contains("<a href=\"https://coop.example/map\" rel=\"nofollow noopener noreferrer\">https://coop.example/map</a>."),
            "{html}"
        );
        assert!(html.contains("<code>https://not.a.link</code>"), "{html}");
        // Remote HTML still may not carry images or tables.
        let remote = sanitize_html("<img src=\"https://x/y\"><table><tr><td>x</td></tr></table>");
        assert!(!remote.contains("<img") && !remote.contains("<table"), "{remote}");
    }

    #[test]
    fn images_need_https_and_a_description() {
        let base = NewsInput {
            title: "T".into(),
            ..Default::default()
        };
        let no_alt = NewsInput {
            body: "![](https://img.example/a.png)".into(),
            ..base.clone()
        };
        assert!(matches!(
            check(&no_alt, None, false),
            Err(ServiceError::Invalid { field: "body", .. })
        ));
        let http = NewsInput {
            body: "![A cow](http://img.example/a.png)".into(),
            ..base.clone()
        };
        assert!(matches!(
            check(&http, None, false),
            Err(ServiceError::Invalid { field: "body", .. })
        ));
        let ok = NewsInput {
            body: "![A cow](https://img.example/a.png)".into(),
            ..base
        };
        assert!(check(&ok, None, false).is_ok());
    }

    #[test]
    fn every_error_is_reported_at_once() {
        let bad = NewsInput {
            title: " ".into(),
            body: "".into(),
            image_url: "ftp://x".into(),
            published_at: Some("next tuesday".into()),
            ..Default::default()
        };
        let e = check(&bad, None, false).unwrap_err();
        let fields: Vec<&str> = e.field_errors().iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["title", "body", "image_url", "published_at"]);
    }

    #[test]
    fn summary_and_slug() {
        assert_eq!(
            first_paragraph("# Title\n\nThe harvest is **in** & good.\n\nMore."),
            "The harvest is in & good."
        );
        assert_eq!(slugify("Assemblée générale 2026!"), "assemblee-generale-2026");
        assert_eq!(slugify("!!!"), "news");
    }

    #[test]
    fn inputs_are_checked() {
        let ok = NewsInput {
            title: "Harvest".into(),
            body: "It is in.".into(),
            ..Default::default()
        };
        assert_eq!(check(&ok, None, false).unwrap().summary, "It is in.");
        let no_title = NewsInput {
            title: " ".into(),
            ..ok.clone()
        };
        assert!(matches!(
            check(&no_title, None, false),
            Err(ServiceError::Invalid { field: "title", .. })
        ));
        let bad_image = NewsInput {
            image_url: "data:x".into(),
            ..ok.clone()
        };
        assert!(matches!(
            check(&bad_image, None, false),
            Err(ServiceError::Invalid {
                field: "image_url",
                ..
            })
        ));
        // http images: refused on a real site (the CSP would block them), fine in local mode.
        let http_image = NewsInput {
            image_url: "http://img.example/a.png".into(),
            ..ok
        };
        assert!(matches!(
            check(&http_image, None, false),
            Err(ServiceError::Invalid {
                field: "image_url",
                ..
            })
        ));
        assert!(check(&http_image, None, true).is_ok());
    }

    fn stored(source: &str, summary: &str) -> Object {
        Object {
            source: Some(source.into()),
            summary: summary.into(),
            ..Default::default()
        }
    }

    #[test]
    fn crlf_bodies_get_the_first_paragraph_as_summary() {
        let form = NewsInput {
            title: "Meeting".into(),
            body: "The meeting is on Friday.\r\n\r\n- item one\r\n- item two\r\n\r\n| a | b |\r\n|---|---|"
                .into(),
            ..Default::default()
        };
        let c = check(&form, None, false).unwrap();
        assert_eq!(c.summary, "The meeting is on Friday.");
        assert!(!c.source.contains('\r'));
    }

    #[test]
    fn an_automatic_summary_follows_edits_a_written_one_stays() {
        let before = stored("Old first paragraph.\n\nRest.", "Old first paragraph.");
        // The form shows the automatic summary back; saving it unchanged is not "writing" it.
        let edit = NewsInput {
            title: "T".into(),
            body: "New first paragraph.\r\n\r\nRest.".into(),
            summary: "Old first paragraph.".into(),
            ..Default::default()
        };
        assert_eq!(
            check(&edit, Some(&before), false).unwrap().summary,
            "New first paragraph."
        );
        let written = NewsInput {
            summary: "A summary I wrote.".into(),
            ..edit
        };
        assert_eq!(
            check(&written, Some(&before), false).unwrap().summary,
            "A summary I wrote."
        );
    }
}
