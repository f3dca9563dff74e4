//! What a member is told about: messages, replies to what they wrote,
//! remote posts that mention them, RSVPs to the co-op's events (for its editors) and applications (for
//! admins), on the notifications page and, for the kinds they chose, by
//! email. Also the member's own safety: blocks (no messages or notices
//! from that account), mutes (messages still come, without notices), and
//! reports to the co-op's moderators, who can forward a report about a
//! remote account to its server as a `Flag`.
//!
//! Notices are written in the transaction of what caused them.

use super::events::{self, DomainEvent};
use super::mail::{self, MailKind};
use super::types::UserRole;
use super::{people, Caller, Ctx, ServiceError, ServiceResult};
use crate::config::Config;
use crate::db::models::{Actor, Object};
use crate::db::queries::notifications::{self as notes_q, Notification, ReportRow};
use crate::db::queries::{actors, content, mail as mail_q, messages as msg_q};
use crate::db::PooledConn;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    Message,
    Reply,
    Mention,
    Rsvp,
    Application,
}

impl NoticeKind {
    pub const ALL: [NoticeKind; 5] = [
        NoticeKind::Message,
        NoticeKind::Reply,
        NoticeKind::Mention,
        NoticeKind::Rsvp,
        NoticeKind::Application,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Message => "message",
            NoticeKind::Reply => "reply",
            NoticeKind::Mention => "mention",
            NoticeKind::Rsvp => "rsvp",
            NoticeKind::Application => "application",
        }
    }

    pub fn parse(s: &str) -> Option<NoticeKind> {
        NoticeKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What a notification says.
pub struct Notice<'a> {
    pub kind: NoticeKind,
    /// Whom it is about: a member who blocks or mutes them is not told.
    pub actor: Option<i64>,
    pub text: &'a str,
    /// A local path, or a mentioning post's page on its own server.
    pub link: &'a str,
    /// A mention: the post's ActivityPub id, which a report of it names
    /// (servers look up a Flag's objects by id, and a post's page may be
    /// another address).
    pub object: Option<&'a str>,
}

impl<'a> Notice<'a> {
    pub fn new(kind: NoticeKind, actor: Option<i64>, text: &'a str, link: &'a str) -> Notice<'a> {
        Notice {
            kind,
            actor,
            text,
            link,
            object: None,
        }
    }
}

/// Tells `user` (unless they block or mute the notice's actor), and emails
/// them when they asked for this kind by email and their record has an
/// address.
pub async fn notify_user(
    conn: &mut PooledConn,
    config: &Config,
    user: i64,
    notice: &Notice<'_>,
) -> ServiceResult<()> {
    let &Notice {
        kind,
        actor,
        text,
        link,
        object,
    } = notice;
    if let Some(a) = actor {
        if notes_q::block_kind(conn, user, a).await?.is_some() {
            return Ok(());
        }
    }
    notes_q::insert(conn, user, kind.as_str(), actor, text, link, object).await?;
    let wanted = mail_q::email_notices(conn, user).await?;
    if wanted.split(',').any(|k| k == kind.as_str()) {
        if let Some(address) = mail_q::address_of_user(conn, user).await? {
            // A mention links to the post on its own server.
            let link = if link.starts_with("https://") || link.starts_with("http://") {
                link.to_string()
            } else {
                config.url(link)
            };
            let body = format!(
                "{text}\n\n{link}\n\nYou chose to get these by email; change it on {}.\n",
                config.url("/account")
            );
            mail::queue(conn, config, MailKind::Notice, &address, text, &body).await?;
        }
    }
    Ok(())
}

/// Tells the member whose Person `person` is.
pub async fn notify_person(
    conn: &mut PooledConn,
    config: &Config,
    person: i64,
    notice: &Notice<'_>,
) -> ServiceResult<()> {
    if Some(person) == notice.actor {
        return Ok(());
    }
    if let Some(user) = msg_q::user_of_person(conn, person).await?.filter(|u| !u.disabled) {
        notify_user(conn, config, user.id, notice).await?;
    }
    Ok(())
}

/// Tells every account with `role` or a higher one.
pub async fn notify_role(
    conn: &mut PooledConn,
    config: &Config,
    role: UserRole,
    notice: &Notice<'_>,
) -> ServiceResult<()> {
    let roles: Vec<&str> = [
        UserRole::Member,
        UserRole::Editor,
        UserRole::Moderator,
        UserRole::Admin,
    ]
    .into_iter()
    .filter(|r| *r >= role)
    .map(|r| r.as_str())
    .collect();
    for user in notes_q::users_with_role(conn, &roles).await? {
        notify_user(conn, config, user, notice).await?;
    }
    Ok(())
}

/// A reply to `parent_ap_id` by `author`: its author is told (a member's
/// Person: that member; the co-op's own content: its editors).
pub async fn reply_posted(
    conn: &mut PooledConn,
    config: &Config,
    parent_ap_id: &str,
    author: &Actor,
) -> ServiceResult<()> {
    let Some(parent) = content::find_by_ap_id(conn, parent_ap_id).await? else {
        return Ok(());
    };
    if !parent.local {
        return Ok(());
    }
    let Some(parent_author) = actors::find(conn, parent.author_id).await? else {
        return Ok(());
    };
    let who = if author.name.is_empty() {
        author.handle.clone()
    } else {
        author.name.clone()
    };
    let what = if parent.title.is_empty() {
        "your post".to_string()
    } else {
        format!("\u{201c}{}\u{201d}", parent.title)
    };
    let text = format!("{who} replied to {what}");
    let link = local_path(config, &parent);
    if parent_author.kind == "Person" {
        notify_person(
            conn,
            config,
            parent_author.id,
            &Notice::new(NoticeKind::Reply, Some(author.id), &text, &link),
        )
        .await
    } else {
        notify_role(
            conn,
            config,
            UserRole::Editor,
            &Notice::new(NoticeKind::Reply, Some(author.id), &text, &link),
        )
        .await
    }
}

/// Mentions read from one post, at most (a post naming the whole
/// register would otherwise notify everyone).
const MAX_MENTIONS: usize = 20;

/// A remote post (not a direct message) that mentions members here tells
/// each of them, linking to the post on its server: it is stored here only
/// when something else keeps it (a reply to us, a followed author), and a
/// mention alone must still reach the member, as on Mastodon. A
/// followers-only post tells only those it addresses; the author of what
/// it answers here already has the reply notice; an edit tells nobody twice.
pub async fn mentioned(
    ctx: &Ctx,
    author: &Actor,
    mentions: &[String],
    post: &MentioningPost<'_>,
) -> ServiceResult<usize> {
    let Some(link) = post
        .link
        .filter(|l| l.starts_with("https://") || l.starts_with("http://"))
    else {
        return Ok(0);
    };
    // Reading the remote HTML is done before taking the writer's turn.
    let who = if author.name.is_empty() {
        author.handle.clone()
    } else {
        author.name.clone()
    };
    let excerpt = super::text::title_from_html(post.html);
    let text = if excerpt.is_empty() {
        format!("{who} mentioned you")
    } else {
        format!("{who} mentioned you: {excerpt}")
    };
    let mut conn = ctx.db.write().await?;
    let answered = match post.in_reply_to {
        Some(parent) => content::find_by_ap_id(&mut conn, parent)
            .await?
            .filter(|p| p.local)
            .map(|p| p.author_id),
        None => None,
    };
    let mut told = Vec::new();
    for href in mentions.iter().take(MAX_MENTIONS) {
        if !post.open && !post.addressed.contains(href) {
            continue;
        }
        let Some(person) = actors::find_by_ap_id(&mut conn, href).await? else {
            continue;
        };
        if !person.local
            || person.kind != "Person"
            || Some(person.id) == answered
            || told.contains(&person.id)
        {
            continue;
        }
        told.push(person.id);
        let Some(user) = msg_q::user_of_person(&mut conn, person.id)
            .await?
            .filter(|u| !u.disabled)
        else {
            continue;
        };
        if notes_q::exists(&mut conn, user.id, NoticeKind::Mention.as_str(), link).await? {
            continue;
        }
        let notice = Notice {
            object: post.id,
            ..Notice::new(NoticeKind::Mention, Some(author.id), &text, link)
        };
        notify_user(&mut conn, &ctx.config, user.id, &notice).await?;
    }
    Ok(told.len())
}

/// What `mentioned` reads of a post.
pub struct MentioningPost<'a> {
    /// Its page (or id) on its server.
    pub link: Option<&'a str>,
    /// Its ActivityPub id.
    pub id: Option<&'a str>,
    pub in_reply_to: Option<&'a str>,
    /// Its content (as received: only its first line is read, as text).
    pub html: &'a str,
    /// Public or unlisted.
    pub open: bool,
    /// Its `to` and `cc`.
    pub addressed: &'a [String],
}

/// The path of a local object's page (its URL without the origin).
pub fn local_path(config: &Config, o: &Object) -> String {
    let url = o.url.clone().unwrap_or_else(|| o.ap_id.clone());
    url.strip_prefix(config.url("").as_str())
        .map(str::to_string)
        .unwrap_or(url)
}

fn user_of(caller: &Caller) -> ServiceResult<i64> {
    caller.require(UserRole::Member)
}

pub async fn list(ctx: &Ctx, caller: &Caller) -> ServiceResult<Vec<Notification>> {
    let user = user_of(caller)?;
    let mut conn = ctx.db.conn().await?;
    Ok(notes_q::list(&mut conn, user, 200).await?)
}

pub async fn unread(ctx: &Ctx, caller: &Caller) -> ServiceResult<i64> {
    let user = user_of(caller)?;
    let mut conn = ctx.db.conn().await?;
    Ok(notes_q::unread_count(&mut conn, user).await?)
}

pub async fn mark_read(ctx: &Ctx, caller: &Caller) -> ServiceResult<usize> {
    let user = user_of(caller)?;
    let mut conn = ctx.db.write().await?;
    Ok(notes_q::mark_all_read(&mut conn, user).await?)
}

/// The kinds the caller gets by email.
pub async fn email_kinds(ctx: &Ctx, caller: &Caller) -> ServiceResult<Vec<NoticeKind>> {
    let user = user_of(caller)?;
    let mut conn = ctx.db.conn().await?;
    Ok(mail_q::email_notices(&mut conn, user)
        .await?
        .split(',')
        .filter_map(NoticeKind::parse)
        .collect())
}

pub async fn set_email_kinds(ctx: &Ctx, caller: &Caller, kinds: &[String]) -> ServiceResult<()> {
    let user = user_of(caller)?;
    let mut chosen = Vec::new();
    for k in kinds.iter().filter(|k| !k.is_empty()) {
        let kind = NoticeKind::parse(k).ok_or_else(|| {
            ServiceError::invalid(
                "notices",
                format!(
                    "Unknown kind of notice {k:?}: choose from message, reply, mention, rsvp, application."
                ),
            )
        })?;
        if !chosen.contains(&kind.as_str()) {
            chosen.push(kind.as_str());
        }
    }
    let mut conn = ctx.db.write().await?;
    mail_q::set_email_notices(&mut conn, user, &chosen.join(",")).await?;
    Ok(())
}

// ---------------------------------------------------------------- blocks and mutes

/// Whether `user` blocks `actor` (a mute lets messages through).
pub async fn blocks(conn: &mut PooledConn, user: i64, actor: i64) -> ServiceResult<bool> {
    Ok(notes_q::block_kind(conn, user, actor).await?.as_deref() == Some("block"))
}

/// An actor known here by `@name@server`, a member's username, or its id.
pub async fn find_account(ctx: &Ctx, account: &str) -> ServiceResult<Actor> {
    let mut conn = ctx.db.conn().await?;
    let a = account.trim().trim_start_matches('@');
    // A profile's address as pasted from the browser, or its id.
    let by_url = if a.starts_with("https://") || a.starts_with("http://") {
        match actors::find_by_ap_id(&mut conn, a).await? {
            Some(x) => Some(x),
            None => actors::find_by_url(&mut conn, a).await?,
        }
    } else {
        None
    };
    let found = match by_url {
        Some(x) => Some(x),
        None if a.contains("://") => None,
        None => match a.split_once('@') {
            Some((name, domain)) => {
                match actors::find_remote_by_handle(&mut conn, name, &domain.to_lowercase()).await? {
                    Some(x) => Some(x),
                    None => actors::find_local_person(&mut conn, name)
                        .await?
                        .filter(|_| domain == ctx.config.domain()),
                }
            }
            None => match a.parse::<i64>() {
                Ok(id) => actors::find(&mut conn, id).await?,
                Err(_) => actors::find_local_person(&mut conn, &a.to_lowercase()).await?,
            },
        },
    };
    found.ok_or_else(|| {
        ServiceError::invalid(
            "account",
            format!("No account {account:?} is known here: give @name@server as it appears on their messages, the address of their profile, or a member's username."),
        )
    })
}

pub async fn set_block(ctx: &Ctx, caller: &Caller, actor: &Actor, kind: &str) -> ServiceResult<()> {
    let user = user_of(caller)?;
    if !matches!(kind, "block" | "mute") {
        return Err(ServiceError::invalid("kind", "Choose block or mute."));
    }
    let me = people::person_of(ctx, user).await?;
    if me.id == actor.id {
        return Err(ServiceError::invalid(
            "account",
            "You cannot block or mute yourself.",
        ));
    }
    // The old rule's removal and the new one's insert, together.
    let mut tx = ctx.db.begin().await?;
    notes_q::set_block(&mut tx, user, actor.id, kind).await?;
    tx.commit().await?;
    tracing::info!(kind, "a member blocked or muted an account");
    Ok(())
}

pub async fn remove_block(ctx: &Ctx, caller: &Caller, actor: i64) -> ServiceResult<()> {
    let user = user_of(caller)?;
    let mut conn = ctx.db.write().await?;
    notes_q::remove_block(&mut conn, user, actor).await?;
    Ok(())
}

pub async fn blocked(ctx: &Ctx, caller: &Caller) -> ServiceResult<Vec<(Actor, String)>> {
    let user = user_of(caller)?;
    let mut conn = ctx.db.conn().await?;
    Ok(notes_q::blocks_of(&mut conn, user).await?)
}

// ---------------------------------------------------------------- reports

/// A report as moderators see it.
#[derive(Debug, Clone)]
pub struct Report {
    pub row: ReportRow,
    /// Who reported: a remote actor (a Flag received) or a member's Person.
    pub reporter: Actor,
    pub objects: Vec<String>,
    /// The reported account lives on another server: the report can go there.
    pub forwardable: bool,
}

/// A post or message the caller can see and did not write: what can be
/// reported.
async fn reportable_on(
    conn: &mut PooledConn,
    caller: &Caller,
    person: &Actor,
    object_id: i64,
) -> ServiceResult<Object> {
    let missing = || ServiceError::NotFound("There is no such post or message to report.".into());
    let o = content::find(conn, object_id).await?.ok_or_else(missing)?;
    let visible = if o.visibility == "direct" {
        super::messages::takes_part(conn, &o, person.id).await?
    } else {
        // On the same connection: it may be a transaction's.
        super::conversation::readable_on(conn, caller, &o).await?
    };
    if !visible || o.deleted_at.is_some() {
        return Err(missing());
    }
    if o.author_id == person.id {
        return Err(ServiceError::invalid(
            "object",
            "This is your own post: delete it instead.",
        ));
    }
    Ok(o)
}

/// The row id of an object known here by its ActivityPub id (0 if none:
/// the report then says there is no such post).
pub async fn object_by_ap_id(ctx: &Ctx, ap_id: &str) -> ServiceResult<i64> {
    let mut conn = ctx.db.conn().await?;
    Ok(content::find_by_ap_id(&mut conn, ap_id)
        .await?
        .map(|o| o.id)
        .unwrap_or(0))
}

/// The text of what would be reported, for the report form.
pub async fn reportable(ctx: &Ctx, caller: &Caller, object_id: i64) -> ServiceResult<String> {
    let user = user_of(caller)?;
    let person = people::person_of(ctx, user).await?;
    let mut conn = ctx.db.conn().await?;
    let o = reportable_on(&mut conn, caller, &person, object_id).await?;
    let text = super::text::title_from_html(&o.content_html);
    Ok(if o.title.is_empty() { text } else { o.title })
}

/// A member reports a post or message they can see to the moderators.
pub async fn report(ctx: &Ctx, caller: &Caller, object_id: i64, comment: &str) -> ServiceResult<i64> {
    let user = user_of(caller)?;
    let person = people::person_of(ctx, user).await?;
    let mut tx = ctx.db.begin().await?;
    let o = reportable_on(&mut tx, caller, &person, object_id).await?;
    let missing = || ServiceError::NotFound("There is no such post or message to report.".into());
    let author = actors::find(&mut tx, o.author_id).await?.ok_or_else(missing)?;
    file_report(ctx, tx, &person, user, &author, &o.ap_id, comment).await
}

/// The mention a notification tells of, when it is one a member can
/// report by it: a post on another server that mentioned them and was not
/// stored here (nobody here follows its author), so that it has no page
/// here to report from. With the account that wrote it.
async fn reportable_mention_on(
    conn: &mut PooledConn,
    user: i64,
    person: &Actor,
    notice_id: i64,
) -> ServiceResult<(Notification, Actor)> {
    let missing =
        || ServiceError::NotFound("There is no such mention to report: it may have been removed.".into());
    let notice = notes_q::find_of_user(conn, user, notice_id)
        .await?
        .filter(|n| n.kind == NoticeKind::Mention.as_str())
        .ok_or_else(missing)?;
    let author = match notice.actor_id {
        Some(id) => actors::find(conn, id).await?.ok_or_else(missing)?,
        None => return Err(missing()),
    };
    if author.id == person.id {
        return Err(ServiceError::invalid(
            "notice",
            "This is your own post: delete it instead.",
        ));
    }
    Ok((notice, author))
}

/// The text of the mention a notification tells of, for the report form.
pub async fn reportable_mention(ctx: &Ctx, caller: &Caller, notice_id: i64) -> ServiceResult<String> {
    let user = user_of(caller)?;
    let person = people::person_of(ctx, user).await?;
    let mut conn = ctx.db.conn().await?;
    let (notice, _) = reportable_mention_on(&mut conn, user, &person, notice_id).await?;
    Ok(notice.text)
}

/// A member reports a post that mentioned them, by the notification that
/// told them of it: the report names its author and its address, as a
/// report of a stored post does, so that moderators can forward it.
pub async fn report_mention(ctx: &Ctx, caller: &Caller, notice_id: i64, comment: &str) -> ServiceResult<i64> {
    let user = user_of(caller)?;
    let person = people::person_of(ctx, user).await?;
    let mut tx = ctx.db.begin().await?;
    let (notice, author) = reportable_mention_on(&mut tx, user, &person, notice_id).await?;
    // The post is named by its id (servers look up a Flag's objects by
    // id), else (a notice from before ids were kept) by its page as its
    // server sent it. Either only as a URL on the author's own server,
    // parsed and written out again (no line breaks that would add lines to
    // the report's list of objects).
    let same_server = |u: &url::Url| url::Url::parse(&author.ap_id).is_ok_and(|a| a.origin() == u.origin());
    let object = notice
        .object
        .iter()
        .chain(std::iter::once(&notice.link))
        .find_map(|u| url::Url::parse(u).ok().filter(same_server))
        .map(String::from)
        .unwrap_or_else(|| author.ap_id.clone());
    file_report(ctx, tx, &person, user, &author, &object, comment).await
}

/// Stores a member's report of `object` by `author`, tells the moderators,
/// and commits.
async fn file_report(
    ctx: &Ctx,
    mut tx: crate::db::Tx,
    person: &Actor,
    user: i64,
    author: &Actor,
    object: &str,
    comment: &str,
) -> ServiceResult<i64> {
    let comment: String = comment.trim().chars().take(2000).collect();
    let id = notes_q::insert_member_report(
        &mut tx,
        person.id,
        user,
        &ctx.config
            .url(&format!("/reports/{}", crate::crypto::random_token())),
        &if object == author.ap_id {
            author.ap_id.clone()
        } else {
            format!("{}\n{}", author.ap_id, object)
        },
        &comment,
    )
    .await?;
    notify_role(
        &mut tx,
        &ctx.config,
        UserRole::Moderator,
        &Notice::new(
            NoticeKind::Application,
            None,
            "A member reported a post or message",
            "/admin/reports",
        ),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(report = id, "a member reported a post");
    Ok(id)
}

pub async fn open_reports(ctx: &Ctx, caller: &Caller) -> ServiceResult<Vec<Report>> {
    caller.require(UserRole::Moderator)?;
    let mut conn = ctx.db.conn().await?;
    let mut out = Vec::new();
    for (row, reporter) in notes_q::open_reports(&mut conn, 100).await? {
        let objects: Vec<String> = row.objects.lines().map(String::from).collect();
        let mut forwardable = false;
        if row.reporter_user_id.is_some() && row.forwarded_at.is_none() {
            if let Some(first) = objects.first() {
                forwardable = actors::find_by_ap_id(&mut conn, first)
                    .await?
                    .is_some_and(|a| !a.local);
            }
        }
        out.push(Report {
            row,
            reporter,
            objects,
            forwardable,
        });
    }
    Ok(out)
}

/// Sends a member's report about a remote account to its server, as a
/// `Flag` from this instance (the member is not named).
pub async fn forward_report(ctx: &Ctx, caller: &Caller, id: i64) -> ServiceResult<()> {
    let by = caller.require(UserRole::Moderator)?;
    let mut tx = ctx.db.begin().await?;
    let row = notes_q::find_report(&mut tx, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("There is no such report.".into()))?;
    if row.reporter_user_id.is_none() {
        return Err(ServiceError::Conflict(
            "This report came from another server: it is theirs to act on.".into(),
        ));
    }
    if row.forwarded_at.is_some() {
        return Err(ServiceError::Conflict(
            "This report was already forwarded.".into(),
        ));
    }
    let target = match row.objects.lines().next() {
        Some(ap_id) => actors::find_by_ap_id(&mut tx, ap_id).await?,
        None => None,
    };
    let Some(target) = target.filter(|a| !a.local) else {
        return Err(ServiceError::Conflict(
            "The reported account is on this server: there is nobody to forward to.".into(),
        ));
    };
    notes_q::set_forwarded(&mut tx, id).await?;
    events::record(
        &mut tx,
        &DomainEvent::ReportForwarded {
            report: id,
            to: target.id,
        },
        None,
    )
    .await?;
    crate::db::queries::accounts::audit(&mut tx, Some(by), "report.forward", &target.ap_id).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn resolve_report(ctx: &Ctx, caller: &Caller, id: i64) -> ServiceResult<()> {
    let by = caller.require(UserRole::Moderator)?;
    let mut tx = ctx.db.begin().await?;
    if notes_q::resolve(&mut tx, id).await? == 0 {
        return Err(ServiceError::NotFound("There is no such open report.".into()));
    }
    crate::db::queries::accounts::audit(&mut tx, Some(by), "report.resolve", &id.to_string()).await?;
    tx.commit().await?;
    Ok(())
}
