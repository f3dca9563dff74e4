//! The mail queue, newsletters, their public subscribers and the addresses
//! that unsubscribed.

use std::collections::BTreeSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamp};
use diesel_async::RunQueryDsl;

use crate::db::models::{Newsletter, QueuedMail};
use crate::db::schema::{instance, mail_queue, members, newsletters, subscribers, unsubscribed, users};
use crate::db::{now, DbResult, PooledConn};
use crate::q;

/// The key of the unsubscribe links, made on first use. Two processes
/// racing here both read back the one that was stored first.
pub async fn mail_secret(conn: &mut PooledConn) -> DbResult<String> {
    let fresh = crate::crypto::random_token();
    q!(conn, |c| diesel::update(
        instance::table.filter(instance::mail_secret.is_null())
    )
    .set(instance::mail_secret.eq(Some(&fresh)))
    .execute(c)
    .await)?;
    let stored: Option<String> = q!(conn, |c| instance::table
        .select(instance::mail_secret)
        .first(c)
        .await
        .optional())?
    .flatten();
    Ok(stored.unwrap_or(fresh))
}

/// One mail for one address, sent as soon as the worker takes it.
pub async fn push(conn: &mut PooledConn, kind: &str, to: &str, subject: &str, body: &str) -> DbResult<()> {
    let at = now();
    q!(conn, |c| diesel::insert_into(mail_queue::table)
        .values((
            mail_queue::kind.eq(kind),
            mail_queue::to_addr.eq(to),
            mail_queue::subject.eq(subject),
            mail_queue::body_text.eq(body),
            mail_queue::next_attempt_at.eq(at),
            mail_queue::created_at.eq(at),
        ))
        .execute(c)
        .await)?;
    Ok(())
}

/// A newsletter's mail, one row per address (its text stays on the newsletter).
pub async fn push_newsletter(
    conn: &mut PooledConn,
    newsletter: i64,
    subject: &str,
    to: &[String],
) -> DbResult<()> {
    let at = now();
    for chunk in to.chunks(500) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|addr| {
                (
                    mail_queue::kind.eq("newsletter"),
                    mail_queue::to_addr.eq(addr.as_str()),
                    mail_queue::subject.eq(subject),
                    mail_queue::body_text.eq(""),
                    mail_queue::newsletter_id.eq(Some(newsletter)),
                    mail_queue::next_attempt_at.eq(at),
                    mail_queue::created_at.eq(at),
                )
            })
            .collect();
        match conn {
            // SQLite takes one row per statement here (no DEFAULT keyword
            // in a multi-row insert); inside one transaction that is fast.
            PooledConn::Sqlite(c) => {
                for row in rows {
                    diesel::insert_into(mail_queue::table)
                        .values(row)
                        .execute(&mut **c)
                        .await?;
                }
            }
            PooledConn::Postgres(c) => {
                diesel::insert_into(mail_queue::table)
                    .values(&rows)
                    .execute(&mut **c)
                    .await?;
            }
        }
    }
    Ok(())
}

/// Takes up to `limit` mails that are due and not leased by another worker.
pub async fn claim(
    conn: &mut PooledConn,
    limit: i64,
    at: NaiveDateTime,
    lease_until: NaiveDateTime,
) -> DbResult<Vec<QueuedMail>> {
    let sql = match conn {
        PooledConn::Sqlite(_) => {
            "UPDATE mail_queue SET leased_until = ? WHERE id IN (SELECT id FROM mail_queue \
             WHERE status = 'queued' AND next_attempt_at <= ? AND (leased_until IS NULL OR leased_until < ?) \
             ORDER BY id LIMIT ?) RETURNING *"
        }
        PooledConn::Postgres(_) => {
            "UPDATE mail_queue SET leased_until = $1 WHERE id IN (SELECT id FROM mail_queue \
             WHERE status = 'queued' AND next_attempt_at <= $2 AND (leased_until IS NULL OR leased_until < $3) \
             ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING *"
        }
    };
    let mut rows: Vec<QueuedMail> = q!(conn, |c| diesel::sql_query(sql)
        .bind::<Timestamp, _>(lease_until)
        .bind::<Timestamp, _>(at)
        .bind::<Timestamp, _>(at)
        .bind::<BigInt, _>(limit)
        .load(c)
        .await)?;
    rows.sort_by_key(|r| r.id);
    Ok(rows)
}

pub async fn mark_sent(conn: &mut PooledConn, id: i64, at: NaiveDateTime) -> DbResult<()> {
    q!(conn, |c| diesel::update(mail_queue::table.find(id))
        .set((
            mail_queue::status.eq("sent"),
            mail_queue::sent_at.eq(Some(at)),
            mail_queue::attempts.eq(mail_queue::attempts + 1),
            mail_queue::leased_until.eq(None::<NaiveDateTime>),
            mail_queue::last_error.eq(None::<String>),
        ))
        .execute(c)
        .await)?;
    Ok(())
}

/// A failed attempt: tried again at `retry_at`, or given up on (`None`).
pub async fn mark_failed(
    conn: &mut PooledConn,
    id: i64,
    error: &str,
    retry_at: Option<NaiveDateTime>,
) -> DbResult<()> {
    let status = if retry_at.is_some() { "queued" } else { "failed" };
    let next = retry_at.unwrap_or_else(now);
    q!(conn, |c| diesel::update(mail_queue::table.find(id))
        .set((
            mail_queue::status.eq(status),
            mail_queue::attempts.eq(mail_queue::attempts + 1),
            mail_queue::next_attempt_at.eq(next),
            mail_queue::leased_until.eq(None::<NaiveDateTime>),
            mail_queue::last_error.eq(Some(error)),
        ))
        .execute(c)
        .await)?;
    Ok(())
}

/// (queued, sent, failed) for one newsletter.
pub async fn counts(conn: &mut PooledConn, newsletter: i64) -> DbResult<(i64, i64, i64)> {
    let rows: Vec<(String, i64)> = q!(conn, |c| mail_queue::table
        .filter(mail_queue::newsletter_id.eq(newsletter))
        .group_by(mail_queue::status)
        .select((mail_queue::status, diesel::dsl::count_star()))
        .load(c)
        .await)?;
    let of = |s: &str| rows.iter().find(|(k, _)| k == s).map(|(_, n)| *n).unwrap_or(0);
    Ok((of("queued"), of("sent"), of("failed")))
}

// ---------------------------------------------------------------- newsletters

pub async fn insert_newsletter(
    conn: &mut PooledConn,
    object: i64,
    audience: &str,
    created_by: i64,
) -> DbResult<i64> {
    let at = now();
    Ok(q!(conn, |c| diesel::insert_into(newsletters::table)
        .values((
            newsletters::object_id.eq(object),
            newsletters::audience.eq(audience),
            newsletters::created_by.eq(Some(created_by)),
            newsletters::created_at.eq(at),
        ))
        .returning(newsletters::id)
        .get_result(c)
        .await)?)
}

pub async fn delete_newsletter(conn: &mut PooledConn, id: i64) -> DbResult<()> {
    q!(conn, |c| diesel::delete(newsletters::table.find(id))
        .execute(c)
        .await)?;
    Ok(())
}

pub async fn newsletter(conn: &mut PooledConn, id: i64) -> DbResult<Option<Newsletter>> {
    Ok(q!(conn, |c| newsletters::table
        .find(id)
        .select(Newsletter::as_select())
        .first(c)
        .await
        .optional())?)
}

pub async fn newsletter_of(conn: &mut PooledConn, object: i64) -> DbResult<Option<Newsletter>> {
    Ok(q!(conn, |c| newsletters::table
        .filter(newsletters::object_id.eq(object))
        .select(Newsletter::as_select())
        .first(c)
        .await
        .optional())?)
}

pub async fn list_newsletters(conn: &mut PooledConn) -> DbResult<Vec<Newsletter>> {
    Ok(q!(conn, |c| newsletters::table
        .order(newsletters::id.desc())
        .select(Newsletter::as_select())
        .limit(200)
        .load(c)
        .await)?)
}

pub async fn set_newsletter_queued(
    conn: &mut PooledConn,
    id: i64,
    subject: &str,
    text: &str,
    html: &str,
    recipients: i64,
) -> DbResult<()> {
    let at = now();
    q!(conn, |c| diesel::update(newsletters::table.find(id))
        .set((
            newsletters::status.eq("queued"),
            newsletters::subject.eq(subject),
            newsletters::body_text.eq(text),
            newsletters::body_html.eq(html),
            newsletters::recipients.eq(recipients),
            newsletters::queued_at.eq(Some(at)),
        ))
        .execute(c)
        .await)?;
    Ok(())
}

/// Takes a planned newsletter for queueing; 0 if another run took it.
pub async fn claim_newsletter(conn: &mut PooledConn, id: i64) -> DbResult<usize> {
    Ok(q!(conn, |c| diesel::update(
        newsletters::table
            .find(id)
            .filter(newsletters::status.eq("planned"))
    )
    .set(newsletters::status.eq("queued"))
    .execute(c)
    .await)?)
}

pub async fn set_newsletter_status(conn: &mut PooledConn, id: i64, status: &str) -> DbResult<()> {
    q!(conn, |c| diesel::update(newsletters::table.find(id))
        .set(newsletters::status.eq(status))
        .execute(c)
        .await)?;
    Ok(())
}

/// Active members' addresses, lowercased.
pub async fn member_addresses(conn: &mut PooledConn) -> DbResult<BTreeSet<String>> {
    let rows: Vec<Option<String>> = q!(conn, |c| members::table
        .filter(members::status.eq("active"))
        .filter(members::email.is_not_null())
        .select(members::email)
        .load(c)
        .await)?;
    Ok(rows
        .into_iter()
        .flatten()
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty())
        .collect())
}

pub async fn confirmed_subscribers(conn: &mut PooledConn) -> DbResult<BTreeSet<String>> {
    let rows: Vec<String> = q!(conn, |c| subscribers::table
        .filter(subscribers::confirmed_at.is_not_null())
        .select(subscribers::email)
        .load(c)
        .await)?;
    Ok(rows.into_iter().collect())
}

pub async fn unsubscribed_addresses(conn: &mut PooledConn) -> DbResult<BTreeSet<String>> {
    let rows: Vec<String> = q!(conn, |c| unsubscribed::table
        .select(unsubscribed::email)
        .load(c)
        .await)?;
    Ok(rows.into_iter().collect())
}

pub async fn is_unsubscribed(conn: &mut PooledConn, email: &str) -> DbResult<bool> {
    let n: i64 = q!(conn, |c| unsubscribed::table
        .filter(unsubscribed::email.eq(email))
        .count()
        .get_result(c)
        .await)?;
    Ok(n > 0)
}

// ---------------------------------------------------------------- subscribers

/// Whether `email` is already a confirmed subscriber.
pub async fn subscriber_confirmed(conn: &mut PooledConn, email: &str) -> DbResult<bool> {
    let n: i64 = q!(conn, |c| subscribers::table
        .filter(subscribers::email.eq(email))
        .filter(subscribers::confirmed_at.is_not_null())
        .count()
        .get_result(c)
        .await)?;
    Ok(n > 0)
}

/// Records a request to subscribe, waiting for its confirmation (a new
/// request replaces the code of an earlier one).
pub async fn request_subscription(conn: &mut PooledConn, email: &str, confirm_hash: &str) -> DbResult<()> {
    let at = now();
    let updated = q!(conn, |c| diesel::update(
        subscribers::table
            .filter(subscribers::email.eq(email))
            .filter(subscribers::confirmed_at.is_null())
    )
    .set((
        subscribers::confirm_hash.eq(Some(confirm_hash)),
        subscribers::created_at.eq(at)
    ))
    .execute(c)
    .await)?;
    if updated == 0 {
        q!(conn, |c| diesel::insert_into(subscribers::table)
            .values((
                subscribers::email.eq(email),
                subscribers::confirm_hash.eq(Some(confirm_hash)),
                subscribers::created_at.eq(at),
            ))
            .execute(c)
            .await)?;
    }
    Ok(())
}

/// The address waiting for confirmation with this code, if still valid.
pub async fn pending_subscription(
    conn: &mut PooledConn,
    confirm_hash: &str,
    since: NaiveDateTime,
) -> DbResult<Option<String>> {
    Ok(q!(conn, |c| subscribers::table
        .filter(subscribers::confirm_hash.eq(confirm_hash))
        .filter(subscribers::created_at.ge(since))
        .select(subscribers::email)
        .first(c)
        .await
        .optional())?)
}

/// Confirms the request with this code, if it is younger than `since`;
/// returns the address.
pub async fn confirm_subscription(
    conn: &mut PooledConn,
    confirm_hash: &str,
    since: NaiveDateTime,
) -> DbResult<Option<String>> {
    let email: Option<String> = q!(conn, |c| subscribers::table
        .filter(subscribers::confirm_hash.eq(confirm_hash))
        .filter(subscribers::created_at.ge(since))
        .select(subscribers::email)
        .first(c)
        .await
        .optional())?;
    let Some(email) = email else { return Ok(None) };
    let at = now();
    q!(conn, |c| diesel::update(
        subscribers::table.filter(subscribers::email.eq(&email))
    )
    .set((
        subscribers::confirmed_at.eq(Some(at)),
        subscribers::confirm_hash.eq(None::<String>)
    ))
    .execute(c)
    .await)?;
    q!(conn, |c| diesel::delete(
        unsubscribed::table.filter(unsubscribed::email.eq(&email))
    )
    .execute(c)
    .await)?;
    Ok(Some(email))
}

/// Stops all newsletter mail to `email`, subscriber or member.
pub async fn unsubscribe(conn: &mut PooledConn, email: &str) -> DbResult<()> {
    let at = now();
    q!(conn, |c| diesel::delete(
        subscribers::table.filter(subscribers::email.eq(email))
    )
    .execute(c)
    .await)?;
    if !is_unsubscribed(conn, email).await? {
        q!(conn, |c| diesel::insert_into(unsubscribed::table)
            .values((unsubscribed::email.eq(email), unsubscribed::at.eq(at)))
            .execute(c)
            .await)?;
    }
    Ok(())
}

/// A member choosing the newsletter again on their account page.
pub async fn resubscribe(conn: &mut PooledConn, email: &str) -> DbResult<()> {
    q!(conn, |c| diesel::delete(
        unsubscribed::table.filter(unsubscribed::email.eq(email))
    )
    .execute(c)
    .await)?;
    Ok(())
}

/// Pending requests never confirmed, older than `before`.
pub async fn delete_unconfirmed_before(conn: &mut PooledConn, before: NaiveDateTime) -> DbResult<usize> {
    Ok(q!(conn, |c| diesel::delete(
        subscribers::table
            .filter(subscribers::confirmed_at.is_null())
            .filter(subscribers::created_at.lt(before))
    )
    .execute(c)
    .await)?)
}

pub async fn subscriber_count(conn: &mut PooledConn) -> DbResult<i64> {
    Ok(q!(conn, |c| subscribers::table
        .filter(subscribers::confirmed_at.is_not_null())
        .count()
        .get_result(c)
        .await)?)
}

// ---------------------------------------------------------------- notices

pub async fn email_notices(conn: &mut PooledConn, user: i64) -> DbResult<String> {
    Ok(q!(conn, |c| users::table
        .find(user)
        .select(users::email_notices)
        .first(c)
        .await
        .optional())?
    .unwrap_or_default())
}

pub async fn set_email_notices(conn: &mut PooledConn, user: i64, kinds: &str) -> DbResult<()> {
    q!(conn, |c| diesel::update(users::table.find(user))
        .set(users::email_notices.eq(kinds))
        .execute(c)
        .await)?;
    Ok(())
}

/// The address on the register record linked to this account, if any.
pub async fn address_of_user(conn: &mut PooledConn, user: i64) -> DbResult<Option<String>> {
    let email: Option<Option<String>> = q!(conn, |c| members::table
        .filter(members::user_id.eq(Some(user)))
        .select(members::email)
        .first(c)
        .await
        .optional())?;
    Ok(email
        .flatten()
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty()))
}

/// Accounts (id, username) whose register record has this address.
pub async fn users_with_address(conn: &mut PooledConn, email: &str) -> DbResult<Vec<(i64, String)>> {
    Ok(q!(conn, |c| members::table
        .inner_join(users::table.on(members::user_id.eq(users::id.nullable())))
        .filter(trim(lower(members::email)).eq(email))
        .filter(users::disabled.eq(false))
        .select((users::id, users::username))
        .load(c)
        .await)?)
}

diesel::define_sql_function! {
    /// Both databases' `trim` (spaces at both ends).
    fn trim(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

diesel::define_sql_function! {
    fn lower(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}
