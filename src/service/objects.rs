//! What every local content type shares when it is stored: a unique slug
//! under its path, and the ActivityPub id that the slug gives.

use super::text::slugify;
use super::{ServiceError, ServiceResult};
use crate::db::models::{ContentKind, NewObject};
use crate::db::queries::content;
use crate::db::PooledConn;

/// Slugs that are pages: `/{path}/new`, and the feed and calendar names.
const RESERVED: &[&str] = &["new", "edit", "rss", "atom", "ics", "remote"];

/// Inserts a local object of `kind` (its `slug`, `ap_id` and `url` are
/// set here from the title) and returns its id and slug.
pub async fn insert_local(
    conn: &mut PooledConn,
    config: &crate::config::Config,
    kind: ContentKind,
    mut row: NewObject,
) -> ServiceResult<(i64, String)> {
    let base = slugify(&row.title);
    let mut slug = base.clone();
    let mut n = 2;
    // Static pages under the same path (`/events/new`) win over a slug.
    while RESERVED.contains(&slug.as_str()) || content::slug_taken(conn, kind.as_str(), &slug).await? {
        slug = format!("{base}-{n}");
        n += 1;
    }
    // The ap_id needs the slug; a unique placeholder until the row exists.
    row.ap_id = format!("urn:intercoop:pending:{}", crate::crypto::random_token());
    row.kind = kind.as_str().into();
    row.slug = Some(slug.clone());
    row.local = true;
    let id = content::insert(conn, &row).await?;
    content::set_ap_id(conn, id, &config.url(&format!("/{}/{slug}", kind.path()))).await?;
    Ok((id, slug))
}

/// What people call a kind, in "There is no event at ...".
fn noun(kind: ContentKind) -> &'static str {
    match kind {
        ContentKind::News => "news",
        ContentKind::Event => "event",
        ContentKind::Poll => "poll",
        ContentKind::Note => "reply",
        ContentKind::Thread => "thread",
    }
}

/// One of our objects of `kind` by row id, or a 404 that says what is missing.
pub async fn find_local(
    conn: &mut PooledConn,
    kind: ContentKind,
    id: i64,
) -> ServiceResult<crate::db::models::Object> {
    content::find(conn, id)
        .await?
        .filter(|o| o.kind == kind.as_str() && o.local)
        .ok_or_else(|| ServiceError::NotFound(format!("There is no {} with id {id}.", noun(kind))))
}

/// One of our objects of `kind` by slug, or a 404 naming its address.
pub async fn find_local_by_slug(
    conn: &mut PooledConn,
    kind: ContentKind,
    slug: &str,
) -> ServiceResult<crate::db::models::Object> {
    content::find_local_by_slug(conn, kind.as_str(), slug)
        .await?
        .ok_or_else(|| {
            ServiceError::NotFound(format!("There is no {} at /{}/{slug}.", noun(kind), kind.path()))
        })
}

/// A content type's visibility as typed: `public` (also empty),
/// `unlisted`, `followers` or `members`; `direct` is for messages.
pub fn content_visibility(raw: &str) -> ServiceResult<crate::db::models::Visibility> {
    use crate::db::models::Visibility;
    match super::types::parse_visibility(raw)? {
        Visibility::Direct => Err(ServiceError::invalid(
            "visibility",
            "Choose public, unlisted, followers or members: direct is for messages.",
        )),
        v => Ok(v),
    }
}

/// The visibility an edit asks for: None keeps the stored one (empty, or
/// unchanged). Once published it cannot change (its readers have it, and
/// peers do not take back what they were shown): delete and publish again.
pub fn edited_visibility(
    existing: &crate::db::models::Object,
    raw: &str,
    published: bool,
) -> ServiceResult<Option<crate::db::models::Visibility>> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    let wanted = content_visibility(raw)?;
    if wanted.as_str() == existing.visibility {
        return Ok(None);
    }
    if published {
        return Err(ServiceError::invalid(
            "visibility",
            format!(
                "This is already published as {}: its visibility cannot change now. Delete it and publish it again if it must.",
                existing.visibility
            ),
        ));
    }
    Ok(Some(wanted))
}
