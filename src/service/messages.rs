//! Direct messages between members, and to and from accounts on other
//! servers as Mastodon's "mentioned people only" Notes. A message is an
//! object (a `Note`, visibility `direct`) of its author's Person with the
//! actors it was sent to; a conversation is everyone in it (author and
//! recipients), so a reply to a group reaches the whole group. Messages
//! are never listed, served or counted anywhere else.

use std::collections::BTreeSet;

use super::events::{self, DomainEvent};
use super::types::{UserRole, Visibility};
use super::{people, Caller, Ctx, ServiceError, ServiceResult};
use crate::db::models::{Actor, ContentKind, NewObject, Object};
use crate::db::queries::{actors, content, messages as msg_q};
use crate::db::{now, PooledConn};

/// At most this many people in one conversation besides the author.
pub const MAX_RECIPIENTS: usize = 20;

/// A message as its conversation shows it.
#[derive(Debug, Clone)]
pub struct Message {
    pub object: Object,
    pub author: Actor,
    /// Not read yet by the viewer (never for their own).
    pub unread: bool,
}

/// The people in it and its newest message.
#[derive(Debug, Clone)]
pub struct Conversation {
    /// The participants' actor ids, sorted and joined with `-`: its address.
    pub key: String,
    /// Everyone in it but the viewer.
    pub others: Vec<Actor>,
    pub last: Message,
    pub unread: usize,
}

fn key_of(ids: &BTreeSet<i64>) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join("-")
}

fn parse_key(key: &str) -> Option<BTreeSet<i64>> {
    key.split('-').map(|p| p.parse().ok()).collect()
}

async fn me(ctx: &Ctx, caller: &Caller) -> ServiceResult<Actor> {
    caller.require(UserRole::Member)?;
    let Caller::User { id, .. } = caller else {
        return Err(ServiceError::Unauthorized("Log in to read your messages.".into()));
    };
    people::person_of(ctx, *id).await
}

/// A member writes to `to` (members here, as their Person, and accounts on
/// other servers); those on other servers get a direct `Create(Note)`.
pub async fn send(ctx: &Ctx, caller: &Caller, to: &[Actor], text: &str) -> ServiceResult<Object> {
    let author = me(ctx, caller).await?;
    let text = super::conversation::member_text(text, "message")?;
    let mut recipients: Vec<&Actor> = to.iter().filter(|a| a.id != author.id).collect();
    recipients.sort_by_key(|a| a.id);
    recipients.dedup_by_key(|a| a.id);
    if recipients.is_empty() {
        return Err(ServiceError::invalid("to", "Say who the message is for."));
    }
    if recipients.len() > MAX_RECIPIENTS {
        return Err(ServiceError::invalid(
            "to",
            format!("Write to at most {MAX_RECIPIENTS} people at once."),
        ));
    }
    let at = now();
    let mut tx = ctx.db.begin().await?;
    let id = super::conversation::insert_member_note(
        &mut tx,
        &ctx.config,
        &author,
        None,
        Visibility::Direct,
        text,
        at,
    )
    .await?;
    // A member who blocks the author does not get it (and the author is
    // not told: a block is not announced).
    let mut delivered = Vec::new();
    for r in &recipients {
        if r.local {
            if let Some(user) = msg_q::user_of_person(&mut tx, r.id).await? {
                if super::notifications::blocks(&mut tx, user.id, author.id).await? {
                    continue;
                }
            }
        }
        delivered.push(*r);
    }
    // The conversation as stored: the notices link to it.
    let mut people: BTreeSet<i64> = delivered.iter().map(|r| r.id).collect();
    people.insert(author.id);
    let link = format!("/messages/{}", key_of(&people));
    let from = if author.name.is_empty() {
        author.handle.clone()
    } else {
        author.name.clone()
    };
    for r in &delivered {
        msg_q::add_recipient(&mut tx, id, r.id).await?;
        if r.local {
            super::notifications::notify_person(
                &mut tx,
                &ctx.config,
                r.id,
                &super::notifications::Notice::new(
                    super::notifications::NoticeKind::Message,
                    Some(author.id),
                    &format!("New message from {from}"),
                    &link,
                ),
            )
            .await?;
        }
    }
    if recipients.iter().any(|r| !r.local) {
        events::record(&mut tx, &DomainEvent::MessageSent { id }, None).await?;
    }
    let object = content::find(&mut tx, id)
        .await?
        .ok_or_else(|| ServiceError::Internal("message vanished after insert".into()))?;
    tx.commit().await?;
    tracing::info!(message = id, recipients = recipients.len(), "message sent");
    Ok(object)
}

/// A direct Note from another server. Kept when it names one of our
/// members who takes messages from other servers, or who wrote to the
/// sender before; the others it names stay in the conversation. Returns
/// whether it was kept.
pub async fn receive(
    ctx: &Ctx,
    sender: &Actor,
    post: super::remote::RemotePost,
    addressed: &[String],
) -> ServiceResult<bool> {
    let mut tx = ctx.db.begin().await?;
    if content::find_by_ap_id(&mut tx, &post.ap_id).await?.is_some() {
        // A repeat (the same Note again): kept once.
        return Ok(true);
    }
    let mut local = Vec::new();
    let mut others = Vec::new();
    for id in addressed {
        let Some(actor) = actors::find_by_ap_id(&mut tx, id).await? else {
            continue;
        };
        if actor.id == sender.id {
            continue;
        }
        if actor.local && actor.kind == "Person" {
            let Some(user) = msg_q::user_of_person(&mut tx, actor.id).await? else {
                continue;
            };
            let welcome =
                user.open_to_messages || msg_q::has_written_to(&mut tx, actor.id, sender.id).await?;
            let blocked = super::notifications::blocks(&mut tx, user.id, sender.id).await?;
            if !user.disabled && welcome && !blocked && !local.iter().any(|a: &Actor| a.id == actor.id) {
                local.push(actor);
            }
        } else if !actor.local && !others.iter().any(|a: &Actor| a.id == actor.id) {
            others.push(actor);
        }
    }
    if local.is_empty() {
        return Ok(false);
    }
    let at = now();
    let id = content::insert(
        &mut tx,
        &NewObject {
            ap_id: post.ap_id.clone(),
            kind: ContentKind::Note.as_str().into(),
            ap_type: post.ap_type.clone(),
            author_id: sender.id,
            in_reply_to: post.in_reply_to.clone(),
            visibility: Visibility::Direct.as_str().into(),
            content_html: super::text::sanitize_html(&post.content_html),
            url: post.url.clone(),
            local: false,
            published_at: Some(post.published_at.unwrap_or(at).min(at)),
            created_at: at,
            ..Default::default()
        },
    )
    .await?;
    for a in local.iter().chain(others.iter().take(MAX_RECIPIENTS)) {
        msg_q::add_recipient(&mut tx, id, a.id).await?;
    }
    let mut people: BTreeSet<i64> = local
        .iter()
        .chain(others.iter().take(MAX_RECIPIENTS))
        .map(|a| a.id)
        .collect();
    people.insert(sender.id);
    let link = format!("/messages/{}", key_of(&people));
    let from = format!("@{}@{}", sender.handle, sender.domain);
    for a in &local {
        super::notifications::notify_person(
            &mut tx,
            &ctx.config,
            a.id,
            &super::notifications::Notice::new(
                super::notifications::NoticeKind::Message,
                Some(sender.id),
                &format!("New message from {from}"),
                &link,
            ),
        )
        .await?;
    }
    tx.commit().await?;
    tracing::info!(from = %sender.ap_id, message = id, "direct message received");
    Ok(true)
}

/// The people in a message: its author and recipients.
fn participants(o: &Object, recipients: &[(i64, i64, Option<chrono::NaiveDateTime>)]) -> BTreeSet<i64> {
    let mut set: BTreeSet<i64> = recipients
        .iter()
        .filter(|(m, _, _)| *m == o.id)
        .map(|(_, a, _)| *a)
        .collect();
    set.insert(o.author_id);
    set
}

/// Whether the actor wrote or received message `o`.
pub(super) async fn takes_part(conn: &mut PooledConn, o: &Object, actor: i64) -> ServiceResult<bool> {
    let recipients = msg_q::recipients_of(conn, &[o.id]).await?;
    Ok(participants(o, &recipients).contains(&actor))
}

async fn load(ctx: &Ctx, viewer: &Actor) -> ServiceResult<Vec<(BTreeSet<i64>, Message)>> {
    let mut conn = ctx.db.conn().await?;
    let objects = msg_q::messages_of(&mut conn, viewer.id, 1000).await?;
    let ids: Vec<i64> = objects.iter().map(|o| o.id).collect();
    let recipients = msg_q::recipients_of(&mut conn, &ids).await?;
    let mut out = Vec::with_capacity(objects.len());
    let mut authors: std::collections::HashMap<i64, Actor> = Default::default();
    for o in objects {
        let people = participants(&o, &recipients);
        let unread = recipients
            .iter()
            .any(|(m, a, read)| *m == o.id && *a == viewer.id && read.is_none());
        let author = match authors.get(&o.author_id) {
            Some(a) => a.clone(),
            None => {
                let Some(a) = actors::find(&mut conn, o.author_id).await? else {
                    continue;
                };
                authors.insert(a.id, a.clone());
                a
            }
        };
        out.push((
            people,
            Message {
                object: o,
                author,
                unread,
            },
        ));
    }
    Ok(out)
}

/// The caller's conversations, the newest first.
pub async fn conversations(ctx: &Ctx, caller: &Caller) -> ServiceResult<Vec<Conversation>> {
    let viewer = me(ctx, caller).await?;
    let mut by_key: Vec<Conversation> = Vec::new();
    let mut conn = ctx.db.conn().await?;
    for (people, m) in load(ctx, &viewer).await? {
        let key = key_of(&people);
        if let Some(c) = by_key.iter_mut().find(|c| c.key == key) {
            c.unread += usize::from(m.unread);
            continue;
        }
        let mut others = Vec::new();
        for id in people.iter().filter(|id| **id != viewer.id) {
            if let Some(a) = actors::find(&mut conn, *id).await? {
                others.push(a);
            }
        }
        by_key.push(Conversation {
            key,
            others,
            unread: usize::from(m.unread),
            last: m,
        });
    }
    Ok(by_key)
}

/// One conversation, oldest first, marked read for the caller; with its
/// other participants.
pub async fn conversation(
    ctx: &Ctx,
    caller: &Caller,
    key: &str,
) -> ServiceResult<(Vec<Message>, Vec<Actor>)> {
    let viewer = me(ctx, caller).await?;
    let missing = || ServiceError::NotFound("There is no such conversation in your messages.".into());
    let wanted = parse_key(key).ok_or_else(missing)?;
    if !wanted.contains(&viewer.id) {
        return Err(missing());
    }
    let mut list: Vec<Message> = load(ctx, &viewer)
        .await?
        .into_iter()
        .filter(|(people, _)| *people == wanted)
        .map(|(_, m)| m)
        .collect();
    if list.is_empty() {
        return Err(missing());
    }
    list.reverse();
    let unread: Vec<i64> = list.iter().filter(|m| m.unread).map(|m| m.object.id).collect();
    // A conversation read again has nothing to mark: it takes no writer's turn.
    if !unread.is_empty() {
        let mut conn = ctx.db.write().await?;
        msg_q::mark_read(&mut conn, viewer.id, &unread).await?;
    }
    let mut conn = ctx.db.conn().await?;
    let mut others = Vec::new();
    for id in wanted.iter().filter(|id| **id != viewer.id) {
        if let Some(a) = actors::find(&mut conn, *id).await? {
            others.push(a);
        }
    }
    Ok((list, others))
}

/// Answers a conversation: to everyone in it but the caller.
pub async fn answer(ctx: &Ctx, caller: &Caller, key: &str, text: &str) -> ServiceResult<Object> {
    let (_, others) = conversation(ctx, caller, key).await?;
    send(ctx, caller, &others, text).await
}

/// How many messages the caller has not read.
pub async fn unread(ctx: &Ctx, caller: &Caller) -> ServiceResult<i64> {
    let viewer = me(ctx, caller).await?;
    let mut conn = ctx.db.conn().await?;
    Ok(msg_q::unread_count(&mut conn, viewer.id).await?)
}

/// Whether the caller takes messages from other servers, and the change.
pub async fn set_open(ctx: &Ctx, caller: &Caller, open: bool) -> ServiceResult<()> {
    let Caller::User { id, .. } = caller else {
        return Err(ServiceError::Unauthorized("Log in first.".into()));
    };
    caller.require(UserRole::Member)?;
    // Their Person must exist to be found.
    people::person_of(ctx, *id).await?;
    let mut conn = ctx.db.write().await?;
    msg_q::set_open(&mut conn, *id, open).await?;
    Ok(())
}

/// A member here by username, as the Person messages come from and go to.
pub async fn local_recipient(ctx: &Ctx, username: &str) -> ServiceResult<Actor> {
    let user = {
        let mut conn = ctx.db.conn().await?;
        crate::db::queries::accounts::find_user_by_username(&mut conn, username).await?
    };
    match user.filter(|u| !u.disabled) {
        Some(u) => people::person_of(ctx, u.id).await,
        None => Err(ServiceError::invalid(
            "to",
            format!("There is no member {username} here: check the username, or write @name@server for someone elsewhere."),
        )),
    }
}
