//! What a member controls about their own data: downloading all of it, and
//! deleting their account (its content removed or kept anonymised, and a
//! `Delete` of their Person federated so that other servers drop it too).

use serde_json::{json, Value};

use super::events::{self, DomainEvent};
use super::types::UserRole;
use super::{Ctx, ServiceError, ServiceResult};
use crate::db::models::{Object, User};
use crate::db::queries::{
    accounts as accounts_q, actors as actors_q, content, members as members_q, messages as messages_q,
    outbox as outbox_q,
};

fn iso(t: chrono::NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn object_json(o: &Object) -> Value {
    json!({
        "id": o.ap_id,
        "kind": o.kind,
        "type": o.ap_type,
        "visibility": o.visibility,
        "title": o.title,
        "content_html": o.content_html,
        "source": o.source,
        "in_reply_to": o.in_reply_to,
        "published": o.published_at.map(iso),
    })
}

/// Everything stored about a user: the account, their register record and
/// linked accounts, what they wrote (replies, threads, messages), the
/// messages they received, and `outbox`, an ActivityPub `OrderedCollection`
/// of every activity their Person sent, as sent.
pub async fn export(ctx: &Ctx, user: &User) -> ServiceResult<Value> {
    let mut conn = ctx.db.conn().await?;
    let member = members_q::find_by_user(&mut conn, user.id).await?;
    let links = match &member {
        Some(m) => members_q::links_of(&mut conn, m.id)
            .await?
            .into_iter()
            .map(|(l, a)| json!({"account": a.ap_id, "proved": l.verified_at.map(iso)}))
            .collect(),
        None => Vec::new(),
    };
    let (posts, messages, outbox) = match user.actor_id {
        Some(actor) => {
            let written: Vec<Value> = content::by_author(&mut conn, actor)
                .await?
                .iter()
                .filter(|o| o.visibility != "direct")
                .map(object_json)
                .collect();
            let messages: Vec<Value> = messages_q::messages_of(&mut conn, actor, 100_000)
                .await?
                .iter()
                .map(|o| {
                    let mut v = object_json(o);
                    v["sent"] = json!(o.author_id == actor);
                    v
                })
                .collect();
            let items: Vec<Value> = outbox_q::all_by_actor(&mut conn, actor)
                .await?
                .into_iter()
                .filter_map(|i| serde_json::from_str::<Value>(&i.json).ok())
                .collect();
            (written, messages, items)
        }
        None => (Vec::new(), Vec::new(), Vec::new()),
    };
    let person = match user.actor_id {
        Some(a) => actors_q::find(&mut conn, a).await?.map(|a| a.ap_id),
        None => None,
    };
    Ok(json!({
        "exported_at": iso(crate::db::now()),
        "instance": ctx.config.url(""),
        "account": {
            "username": user.username,
            "display_name": user.display_name,
            "email": user.email,
            "role": user.role,
            "created_at": iso(user.created_at),
            "last_login_at": user.last_login_at.map(iso),
            "takes_messages_from_elsewhere": user.open_to_messages,
            "two_factor": user.totp_enabled,
            "fediverse_actor": person,
        },
        "member": member.map(|m| json!({
            "name": m.name, "member_number": m.member_number, "email": m.email, "phone": m.phone,
            "joined_on": m.joined_on, "status": m.status, "role": m.role, "groups": m.groups,
            "directory_shows": m.directory,
        })),
        "linked_accounts": links,
        "posts": posts,
        "messages": messages,
        "outbox": {
            "@context": "https://www.w3.org/ns/activitystreams",
            "type": "OrderedCollection",
            "totalItems": outbox.len(),
            "orderedItems": outbox,
        },
    }))
}

/// What happens to what a deleted account wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentChoice {
    /// Removed here; other servers are told to drop the account and its posts.
    Remove,
    /// Kept here under "a former member"; other servers drop the account.
    Anonymise,
}

impl ContentChoice {
    pub fn from_name(name: &str) -> ServiceResult<ContentChoice> {
        match name {
            "remove" | "" => Ok(ContentChoice::Remove),
            "anonymise" | "anonymize" => Ok(ContentChoice::Anonymise),
            _ => Err(ServiceError::invalid(
                "content",
                "Choose what happens to your posts: remove or anonymise.",
            )),
        }
    }
}

/// Deletes one's own account, after the password. The account row stays
/// only as an empty, disabled shell (`deleted-{id}`), sessions and tokens
/// go, the register keeps the co-op's record of the member (without the
/// account), and the Person becomes a tombstone whose `Delete` federates.
pub async fn delete_account(
    ctx: &Ctx,
    user: &User,
    password: &str,
    choice: ContentChoice,
) -> ServiceResult<()> {
    if !super::accounts::verify_password(password.to_string(), user.password_hash.clone()).await {
        return Err(ServiceError::invalid(
            "password",
            "The password is wrong: type your current password to delete the account.",
        ));
    }
    let mut tx = ctx.db.begin().await?;
    // The stored role: a session's may be lowered (two-factor required).
    let stored = accounts_q::find_user(&mut tx, user.id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("There is no such user.".into()))?;
    if stored.role == UserRole::Admin.as_str() && accounts_q::count_active_admins(&mut tx).await? <= 1 {
        return Err(ServiceError::Conflict(
            "You are the co-op's only admin: make someone else admin before deleting your account.".into(),
        ));
    }
    if let Some(actor) = user.actor_id {
        if choice == ContentChoice::Remove {
            // Messages stay with their recipients (from "Former member"):
            // they are the recipients' copies too.
            let written = content::by_author(&mut tx, actor).await?;
            for o in written.into_iter().filter(|o| o.visibility != "direct") {
                content::mark_deleted(&mut tx, o.id).await?;
                outbox_q::redact_outbox_for_object(&mut tx, o.id).await?;
            }
        }
        actors_q::tombstone(&mut tx, actor).await?;
        events::record(&mut tx, &DomainEvent::AccountDeleted { actor }, None).await?;
    }
    accounts_q::scrub_user(&mut tx, user.id).await?;
    members_q::unlink_user(&mut tx, user.id).await?;
    crate::db::queries::notifications::forget_user(&mut tx, user.id).await?;
    let how = match choice {
        ContentChoice::Remove => "content removed",
        ContentChoice::Anonymise => "content anonymised",
    };
    accounts_q::audit(
        &mut tx,
        Some(user.id),
        "user.delete_self",
        &format!("{} ({how})", user.id),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user = user.id, how, "account deleted by its owner");
    Ok(())
}

// ---------------------------------------------------------------- retention

/// How long the co-op keeps what it does not need for ever, in days
/// (`None`: kept). Set by its admins; applied hourly by housekeeping.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Other servers' posts that started no conversation here.
    #[serde(default)]
    pub remote_days: Option<i64>,
    /// Direct messages, sent and received.
    #[serde(default)]
    pub message_days: Option<i64>,
    /// Logs: single mails sent, read notifications. (The inbox log has its
    /// own setting, `inbox_retention_days`.)
    #[serde(default)]
    pub log_days: Option<i64>,
}

/// What one pass removed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pruned {
    pub remote_posts: usize,
    pub messages: usize,
    pub logs: usize,
}

impl Pruned {
    pub fn total(&self) -> usize {
        self.remote_posts + self.messages + self.logs
    }
}

pub async fn retention(ctx: &Ctx, caller: &super::Caller) -> ServiceResult<Retention> {
    caller.require(UserRole::Admin)?;
    let mut conn = ctx.db.conn().await?;
    let (remote_days, message_days, log_days) = crate::db::queries::retention::get(&mut conn).await?;
    Ok(Retention {
        remote_days,
        message_days,
        log_days,
    })
}

pub async fn set_retention(ctx: &Ctx, caller: &super::Caller, r: Retention) -> ServiceResult<Retention> {
    let by = caller.require(UserRole::Admin)?;
    for (field, v) in [
        ("remote_days", r.remote_days),
        ("message_days", r.message_days),
        ("log_days", r.log_days),
    ] {
        if v.is_some_and(|d| !(1..=36_500).contains(&d)) {
            return Err(ServiceError::invalid(
                field,
                "Give a number of days from 1 to 36500, or leave it empty to keep everything.",
            ));
        }
    }
    let mut tx = ctx.db.begin().await?;
    crate::db::queries::retention::set(&mut tx, r.remote_days, r.message_days, r.log_days).await?;
    let show = |v: Option<i64>| v.map(|d| d.to_string()).unwrap_or_else(|| "keep".into());
    crate::db::queries::accounts::audit(
        &mut tx,
        Some(by),
        "settings.retention",
        &format!(
            "remote {} messages {} logs {}",
            show(r.remote_days),
            show(r.message_days),
            show(r.log_days)
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(r)
}

/// Removes what is past its time under the co-op's settings.
pub async fn apply_retention(ctx: &Ctx) -> ServiceResult<Pruned> {
    use crate::db::queries::retention as ret_q;
    let (remote, messages, logs) = ret_q::get(&mut ctx.db.conn().await?).await?;
    let at = crate::db::now();
    let before = |days: i64| at - chrono::Duration::days(days);
    let mut pruned = Pruned::default();
    if let Some(d) = remote {
        let t = before(d);
        pruned.remote_posts = ctx
            .db
            .write_in_chunks(move |c, n| Box::pin(ret_q::delete_remote_posts(c, t, n)))
            .await?;
    }
    if let Some(d) = messages {
        let t = before(d);
        pruned.messages = ctx
            .db
            .write_in_chunks(move |c, n| Box::pin(ret_q::delete_messages(c, t, n)))
            .await?;
    }
    if let Some(d) = logs {
        let t = before(d);
        pruned.logs = ctx
            .db
            .write_in_chunks(move |c, n| Box::pin(ret_q::delete_mail_log(c, t, n)))
            .await?
            + ctx
                .db
                .write_in_chunks(move |c, n| {
                    Box::pin(crate::db::queries::notifications::delete_read_before(c, t, n))
                })
                .await?;
    }
    Ok(pruned)
}
