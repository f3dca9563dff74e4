//! Content objects (news now; events, threads and polls share the table) and
//! the reactions counted on them.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::IntoSql;
use diesel_async::RunQueryDsl;

use crate::db::models::{Actor, NewObject, Object, ReactionKind, Visibility};
use crate::db::schema::{actors, objects, reactions};
use crate::db::{now, DbResult, PooledConn};
use crate::q;

pub async fn insert(conn: &mut PooledConn, row: &NewObject) -> DbResult<i64> {
    Ok(q!(conn, |c| diesel::insert_into(objects::table)
        .values(row)
        .returning(objects::id)
        .get_result(c)
        .await)?)
}

/// Sets the ActivityPub id and URL once the row id is known.
pub async fn set_ap_id(conn: &mut PooledConn, id: i64, ap_id: &str) -> DbResult<()> {
    q!(conn, |c| diesel::update(objects::table.find(id))
        .set((objects::ap_id.eq(ap_id), objects::url.eq(Some(ap_id))))
        .execute(c)
        .await)?;
    Ok(())
}

pub async fn find(conn: &mut PooledConn, id: i64) -> DbResult<Option<Object>> {
    Ok(q!(conn, |c| objects::table
        .find(id)
        .select(Object::as_select())
        .first(c)
        .await
        .optional())?)
}

pub async fn find_by_ap_id(conn: &mut PooledConn, ap_id: &str) -> DbResult<Option<Object>> {
    Ok(q!(conn, |c| objects::table
        .filter(objects::ap_id.eq(ap_id))
        .select(Object::as_select())
        .first(c)
        .await
        .optional())?)
}

pub async fn find_local_by_slug(conn: &mut PooledConn, kind: &str, slug: &str) -> DbResult<Option<Object>> {
    Ok(q!(conn, |c| objects::table
        .filter(objects::kind.eq(kind))
        .filter(objects::local.eq(true))
        .filter(objects::slug.eq(slug))
        .select(Object::as_select())
        .first(c)
        .await
        .optional())?)
}

/// Published (not draft, not scheduled for later), not deleted, local
/// objects of a kind, newest publication first.
/// Published local objects of a kind whose visibility is one of `shown`
/// (public for anyone; members also see members-only ones), newest first.
pub async fn list_local(
    conn: &mut PooledConn,
    kind: &str,
    shown: &[&'static str],
    offset: i64,
    limit: i64,
) -> DbResult<Vec<Object>> {
    let at = now();
    let shown = shown.to_vec();
    Ok(q!(conn, |c| objects::table
        .filter(objects::kind.eq(kind))
        .filter(objects::local.eq(true))
        .filter(objects::deleted_at.is_null())
        .filter(objects::status.eq("published"))
        .filter(crate::one_of!(objects::visibility, shown))
        .filter(objects::published_at.le(at))
        .order((objects::published_at.desc(), objects::id.desc()))
        .offset(offset)
        .limit(limit)
        .select(Object::as_select())
        .load(c)
        .await)?)
}

pub async fn count_local(conn: &mut PooledConn, kind: &str, shown: &[&'static str]) -> DbResult<i64> {
    let at = now();
    let shown = shown.to_vec();
    Ok(q!(conn, |c| objects::table
        .filter(objects::kind.eq(kind))
        .filter(objects::local.eq(true))
        .filter(objects::deleted_at.is_null())
        .filter(objects::status.eq("published"))
        .filter(crate::one_of!(objects::visibility, shown))
        .filter(objects::published_at.le(at))
        .count()
        .get_result(c)
        .await)?)
}

/// Drafts and scheduled objects of a kind, for editors: soonest first.
pub async fn list_unpublished(conn: &mut PooledConn, kind: &str) -> DbResult<Vec<Object>> {
    let at = now();
    Ok(q!(conn, |c| objects::table
        .filter(objects::kind.eq(kind))
        .filter(objects::local.eq(true))
        .filter(objects::deleted_at.is_null())
        .filter(objects::status.eq("draft").or(objects::published_at.gt(at)))
        .order(objects::id.desc())
        .limit(100)
        .select(Object::as_select())
        .load(c)
        .await)?)
}

/// Sets the publication state and time (publishing a draft, rescheduling).
pub async fn set_visibility(conn: &mut PooledConn, id: i64, visibility: &str) -> DbResult<()> {
    q!(conn, |c| diesel::update(objects::table.find(id))
        .set(objects::visibility.eq(visibility))
        .execute(c)
        .await)?;
    Ok(())
}

pub async fn set_publication(
    conn: &mut PooledConn,
    id: i64,
    status: &str,
    published_at: Option<NaiveDateTime>,
) -> DbResult<()> {
    q!(conn, |c| diesel::update(objects::table.find(id))
        .set((objects::status.eq(status), objects::published_at.eq(published_at)))
        .execute(c)
        .await)?;
    Ok(())
}

pub async fn slug_taken(conn: &mut PooledConn, kind: &str, slug: &str) -> DbResult<bool> {
    let n: i64 = q!(conn, |c| objects::table
        .filter(objects::kind.eq(kind))
        .filter(objects::slug.eq(slug))
        .count()
        .get_result(c)
        .await)?;
    Ok(n > 0)
}

pub struct ContentChange<'a> {
    pub title: &'a str,
    pub summary: &'a str,
    pub content_html: &'a str,
    pub source: &'a str,
    pub image_url: Option<&'a str>,
    pub image_alt: Option<&'a str>,
}

pub async fn update_content(conn: &mut PooledConn, id: i64, change: &ContentChange<'_>) -> DbResult<()> {
    let at = now();
    q!(conn, |c| diesel::update(objects::table.find(id))
        .set((
            objects::title.eq(change.title),
            objects::summary.eq(change.summary),
            objects::content_html.eq(change.content_html),
            objects::source.eq(Some(change.source)),
            objects::image_url.eq(change.image_url),
            objects::image_alt.eq(change.image_alt),
            objects::updated_at.eq(Some(at)),
        ))
        .execute(c)
        .await)?;
    Ok(())
}

/// How many objects an actor authored here (deleted ones too: their
/// Delete must still verify against the author's key).
pub async fn count_by_author(conn: &mut PooledConn, author_id: i64) -> DbResult<i64> {
    Ok(q!(conn, |c| objects::table
        .filter(objects::author_id.eq(author_id))
        .count()
        .get_result(c)
        .await)?)
}

/// Marks an object as changed now (its `updated` for peers).
pub async fn touch(conn: &mut PooledConn, id: i64) -> DbResult<()> {
    let at = now();
    q!(conn, |c| diesel::update(objects::table.find(id))
        .set(objects::updated_at.eq(Some(at)))
        .execute(c)
        .await)?;
    Ok(())
}

pub async fn mark_deleted(conn: &mut PooledConn, id: i64) -> DbResult<()> {
    let at = now();
    q!(conn, |c| diesel::update(objects::table.find(id))
        .set(objects::deleted_at.eq(Some(at)))
        .execute(c)
        .await)?;
    Ok(())
}

/// Hides an object from pages and collections, or shows it again.
pub async fn set_hidden(conn: &mut PooledConn, id: i64, hidden: bool) -> DbResult<()> {
    let at = hidden.then(now);
    q!(conn, |c| diesel::update(objects::table.find(id))
        .set(objects::hidden_at.eq(at))
        .execute(c)
        .await)?;
    Ok(())
}

/// Hides every object of an actor not hidden yet (its server was blocked).
pub async fn hide_all_of(conn: &mut PooledConn, author_id: i64) -> DbResult<usize> {
    let at = now();
    Ok(q!(conn, |c| diesel::update(
        objects::table
            .filter(objects::author_id.eq(author_id))
            .filter(objects::hidden_at.is_null())
    )
    .set(objects::hidden_at.eq(Some(at)))
    .execute(c)
    .await)?)
}

/// Adds a like or announce once; returns false if it was already there.
pub async fn add_reaction(
    conn: &mut PooledConn,
    kind: ReactionKind,
    actor_id: i64,
    object_id: i64,
    ap_id: &str,
) -> DbResult<bool> {
    let at = now();
    let n = q!(conn, |c| diesel::insert_into(reactions::table)
        .values((
            reactions::kind.eq(kind.as_str()),
            reactions::actor_id.eq(actor_id),
            reactions::object_id.eq(object_id),
            reactions::ap_id.eq(ap_id),
            reactions::created_at.eq(at),
        ))
        .on_conflict_do_nothing()
        .execute(c)
        .await)?;
    Ok(n == 1)
}

pub async fn remove_reaction(conn: &mut PooledConn, ap_id: &str, actor_id: i64) -> DbResult<usize> {
    Ok(q!(conn, |c| diesel::delete(
        reactions::table
            .filter(reactions::ap_id.eq(ap_id))
            .filter(reactions::actor_id.eq(actor_id))
    )
    .execute(c)
    .await)?)
}

pub async fn count_reactions(conn: &mut PooledConn, object_id: i64, kind: ReactionKind) -> DbResult<i64> {
    let kind = kind.as_str();
    Ok(q!(conn, |c| reactions::table
        .filter(reactions::object_id.eq(object_id))
        .filter(reactions::kind.eq(kind))
        .count()
        .get_result(c)
        .await)?)
}

pub async fn count_replies(conn: &mut PooledConn, ap_id: &str) -> DbResult<i64> {
    let open = [Visibility::Public.as_str(), Visibility::Unlisted.as_str()];
    Ok(q!(conn, |c| objects::table
        .filter(objects::in_reply_to.eq(ap_id))
        .filter(objects::deleted_at.is_null())
        .filter(objects::hidden_at.is_null())
        .filter(crate::one_of!(objects::visibility, open))
        .count()
        .get_result(c)
        .await)?)
}

/// Replies to any of `parents` that anyone may read, with their authors,
/// oldest first (a conversation reads top down).
pub async fn list_replies(
    conn: &mut PooledConn,
    parents: &[String],
    open: &[&str],
    with_hidden: bool,
    offset: i64,
    limit: i64,
) -> DbResult<Vec<(Object, Actor)>> {
    Ok(q!(conn, |c| objects::table
        .inner_join(actors::table)
        .filter(objects::in_reply_to.eq_any(parents))
        .filter(objects::deleted_at.is_null())
        .filter(
            objects::hidden_at
                .is_null()
                .or(with_hidden.into_sql::<diesel::sql_types::Bool>())
        )
        .filter(crate::one_of!(objects::visibility, open))
        .order((objects::created_at.asc(), objects::id.asc()))
        .offset(offset)
        .limit(limit)
        .select((Object::as_select(), Actor::as_select()))
        .load(c)
        .await)?)
}

/// Remote posts (not replies) with their authors, newest first.
pub async fn list_remote(conn: &mut PooledConn, limit: i64) -> DbResult<Vec<(Object, Actor)>> {
    Ok(q!(conn, |c| objects::table
        .inner_join(actors::table)
        .filter(objects::local.eq(false))
        .filter(objects::deleted_at.is_null())
        .filter(objects::in_reply_to.is_null())
        // Forum threads are shown in their forum.
        .filter(objects::kind.ne(crate::db::models::ContentKind::Thread.as_str()))
        .filter(objects::hidden_at.is_null())
        .filter(objects::visibility.eq(Visibility::Public.as_str()))
        .order(objects::id.desc())
        .limit(limit)
        .select((Object::as_select(), Actor::as_select()))
        .load(c)
        .await)?)
}

/// Everything an actor wrote here that is not deleted, oldest first.
pub async fn by_author(conn: &mut PooledConn, author_id: i64) -> DbResult<Vec<Object>> {
    Ok(q!(conn, |c| objects::table
        .filter(objects::author_id.eq(author_id))
        .filter(objects::deleted_at.is_null())
        .order(objects::id.asc())
        .select(Object::as_select())
        .load(c)
        .await)?)
}
