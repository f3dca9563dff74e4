//! The member register: the secretary's list of members (with or without
//! an account here), each member's record, CSV export, and invitations
//! that let a member set up their account. A member's status rules their
//! account: suspended or left, it is deactivated; their role is the
//! account's role.

use chrono::NaiveDateTime;

use super::types::UserRole;
use super::{accounts, Caller, Ctx, FieldErrors, ServiceError, ServiceResult};
use crate::db::models::{Member, MemberFields};
use crate::db::now;
use crate::db::queries::{accounts as accounts_q, members as members_q};

/// The statuses a member has, in the order of a membership.
pub const STATUSES: [&str; 4] = ["applicant", "active", "suspended", "left"];

/// How long an invitation works.
pub const INVITATION_DAYS: i64 = 14;

/// What an admin types or sends for a member. For a change, an absent
/// field keeps the stored value; `null` or `""` clears an optional one.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberInput {
    #[serde(default, deserialize_with = "null_is_empty")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "null_is_empty")]
    pub member_number: Option<String>,
    #[serde(default, deserialize_with = "null_is_empty")]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "null_is_empty")]
    pub phone: Option<String>,
    #[serde(default, deserialize_with = "null_is_empty")]
    pub joined_on: Option<String>,
    #[serde(default, deserialize_with = "null_is_empty")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "null_is_empty")]
    pub role: Option<String>,
    #[serde(default, deserialize_with = "null_is_empty")]
    pub groups: Option<String>,
    #[serde(default, deserialize_with = "null_is_empty")]
    pub notes: Option<String>,
}

/// A present `null` reads as an empty value (clear it), unlike an absent
/// field (keep it).
fn null_is_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v: Option<String> = serde::Deserialize::deserialize(d)?;
    Ok(Some(v.unwrap_or_default()))
}

fn optional(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// E.164: a plus, a country code that does not start with 0, at most 15
/// digits in all. Spaces, dots, dashes and brackets typed are dropped.
pub fn check_phone(raw: &str) -> ServiceResult<String> {
    let cleaned: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')'))
        .collect();
    let digits = cleaned.strip_prefix('+').unwrap_or("");
    if digits.len() < 7
        || digits.len() > 15
        || !digits.chars().all(|c| c.is_ascii_digit())
        || digits.starts_with('0')
    {
        return Err(ServiceError::invalid(
            "phone",
            "Enter the phone number in international form, like +44 7700 900123 (a plus, the country code, then the number).",
        ));
    }
    Ok(format!("+{digits}"))
}

/// The stored fields after `input` is applied to `base` (None for a new
/// member), every problem gathered for its field.
async fn fields(
    conn: &mut crate::db::PooledConn,
    base: Option<&Member>,
    input: MemberInput,
) -> ServiceResult<MemberFields> {
    let mut errors = FieldErrors::default();
    let keep = |new: Option<String>, old: Option<&Option<String>>| match new {
        Some(v) => optional(Some(v)),
        None => old.cloned().flatten(),
    };
    let name = match input.name {
        Some(n) => n.trim().to_string(),
        None => base.map(|b| b.name.clone()).unwrap_or_default(),
    };
    if name.is_empty() || name.chars().count() > 200 {
        errors.add("name", "Give the member's name (at most 200 characters).");
    }
    let member_number = keep(input.member_number, base.map(|b| &b.member_number));
    if let Some(n) = &member_number {
        if n.chars().count() > 50 {
            errors.add("member_number", "Keep the member number under 50 characters.");
        } else if members_q::number_taken(conn, n, base.map(|b| b.id)).await? {
            errors.add(
                "member_number",
                format!("Member number {n} is already another member's: check the number."),
            );
        }
    }
    let email = match keep(input.email, base.map(|b| &b.email)) {
        Some(e) => errors.take(accounts::check_email(Some(&e)))?.flatten(),
        None => None,
    };
    let phone = match keep(input.phone, base.map(|b| &b.phone)) {
        Some(p) => errors.take(check_phone(&p))?,
        None => None,
    };
    let joined_on = keep(input.joined_on, base.map(|b| &b.joined_on));
    if let Some(d) = &joined_on {
        if chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err() {
            errors.add("joined_on", "Enter the join date as YYYY-MM-DD, like 2024-03-31.");
        }
    }
    let status = match input.status {
        Some(s) => s.trim().to_ascii_lowercase(),
        None => base.map(|b| b.status.clone()).unwrap_or_else(|| "active".into()),
    };
    if !STATUSES.contains(&status.as_str()) {
        errors.add("status", "Choose a status: applicant, active, suspended or left.");
    }
    let role = match input.role {
        Some(r) => r.trim().to_ascii_lowercase(),
        None => base.map(|b| b.role.clone()).unwrap_or_else(|| "member".into()),
    };
    if let Err(e) = UserRole::parse(&role) {
        errors.add("role", e.to_string());
    }
    let groups = match input.groups {
        Some(g) => super::text::normalize_newlines(g.trim()),
        None => base.map(|b| b.groups.clone()).unwrap_or_default(),
    };
    let notes = match input.notes {
        Some(n) => super::text::normalize_newlines(n.trim()),
        None => base.map(|b| b.notes.clone()).unwrap_or_default(),
    };
    if groups.chars().count() > 2000 || notes.chars().count() > 10_000 {
        errors.add(
            "notes",
            "Keep groups under 2,000 and notes under 10,000 characters.",
        );
    }
    errors.finish()?;
    Ok(MemberFields {
        name,
        member_number,
        email,
        phone,
        joined_on,
        status,
        role,
        groups,
        notes,
        updated_at: now(),
    })
}

pub async fn list(
    ctx: &Ctx,
    caller: &Caller,
    search: &str,
    status: Option<&str>,
) -> ServiceResult<Vec<Member>> {
    caller.require(UserRole::Admin)?;
    let status = status.map(str::trim).filter(|s| !s.is_empty());
    if let Some(s) = status {
        if !STATUSES.contains(&s) {
            return Err(ServiceError::invalid(
                "status",
                "Filter by applicant, active, suspended or left.",
            ));
        }
    }
    let mut conn = ctx.db.conn().await?;
    Ok(members_q::list(&mut conn, search.trim(), status).await?)
}

pub async fn get(ctx: &Ctx, caller: &Caller, id: i64) -> ServiceResult<Member> {
    caller.require(UserRole::Admin)?;
    let mut conn = ctx.db.conn().await?;
    members_q::find(&mut conn, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("There is no member {id} in the register.")))
}

pub async fn create(ctx: &Ctx, caller: &Caller, input: MemberInput) -> ServiceResult<Member> {
    let by = caller.require(UserRole::Admin)?;
    let mut tx = ctx.db.begin().await?;
    let m = create_on(&mut tx, by, input).await?;
    tx.commit().await?;
    Ok(m)
}

async fn create_on(conn: &mut crate::db::PooledConn, by: i64, input: MemberInput) -> ServiceResult<Member> {
    let f = fields(conn, None, input).await?;
    let id = members_q::insert(conn, &f).await?;
    accounts_q::audit(conn, Some(by), "member.create", &format!("{id} {}", f.name)).await?;
    members_q::find(conn, id)
        .await?
        .ok_or_else(|| ServiceError::Internal("member vanished after insert".into()))
}

/// Changes a record. A member with an account: their role becomes the
/// account's, and a suspended or departed member's account is
/// deactivated (active again when they are).
pub async fn update(ctx: &Ctx, caller: &Caller, id: i64, input: MemberInput) -> ServiceResult<Member> {
    let by = caller.require(UserRole::Admin)?;
    let mut tx = ctx.db.begin().await?;
    let m = update_on(&mut tx, by, id, input).await?;
    tx.commit().await?;
    Ok(m)
}

async fn update_on(
    tx: &mut crate::db::PooledConn,
    by: i64,
    id: i64,
    input: MemberInput,
) -> ServiceResult<Member> {
    let old = members_q::find(tx, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("There is no member {id} in the register.")))?;
    let f = fields(tx, Some(&old), input).await?;
    if let Some(user_id) = old.user_id {
        let role = UserRole::parse(&f.role)?;
        let disabled = f.status == "suspended" || f.status == "left";
        let was_admin = old.role == "admin" && old.status == "active";
        if was_admin
            && (role != UserRole::Admin || disabled)
            && accounts_q::count_active_admins(tx).await? <= 1
        {
            return Err(ServiceError::Conflict(
                "This is the co-op's last admin: make another member admin first.".into(),
            ));
        }
        accounts_q::set_role(tx, user_id, role.as_str()).await?;
        accounts_q::set_disabled(tx, user_id, disabled).await?;
        if disabled {
            accounts_q::delete_sessions_of_user(tx, user_id).await?;
        }
    }
    let was_active = old.status == "active";
    if was_active && f.status != "active" {
        let actors = super::member_links::linked_actor_ids(tx, id).await?;
        super::member_links::end_follows(tx, &actors).await?;
    }
    members_q::update(tx, id, &f).await?;
    let what = changes(&old, &f);
    accounts_q::audit(tx, Some(by), "member.update", &format!("{id} {}: {what}", f.name)).await?;
    members_q::find(tx, id)
        .await?
        .ok_or_else(|| ServiceError::Internal("member vanished after update".into()))
}

/// Which fields changed, for the audit log (values of status and role;
/// only the names of the others, which may be private).
fn changes(old: &Member, new: &MemberFields) -> String {
    let mut out = Vec::new();
    if old.status != new.status {
        out.push(format!("status {} -> {}", old.status, new.status));
    }
    if old.role != new.role {
        out.push(format!("role {} -> {}", old.role, new.role));
    }
    for (name, changed) in [
        ("name", old.name != new.name),
        ("member_number", old.member_number != new.member_number),
        ("email", old.email != new.email),
        ("phone", old.phone != new.phone),
        ("joined_on", old.joined_on != new.joined_on),
        ("groups", old.groups != new.groups),
        ("notes", old.notes != new.notes),
    ] {
        if changed {
            out.push(name.to_string());
        }
    }
    if out.is_empty() {
        "no change".into()
    } else {
        out.join(", ")
    }
}

/// Removes a record from the register, with its linked fediverse
/// accounts. Their account here, if any, is deactivated and its sessions
/// end (a removed member reads nothing for members); their posts stay, as
/// the co-op's history.
pub async fn delete(ctx: &Ctx, caller: &Caller, id: i64) -> ServiceResult<()> {
    let by = caller.require(UserRole::Admin)?;
    let mut tx = ctx.db.begin().await?;
    let m = members_q::find(&mut tx, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("There is no member {id} in the register.")))?;
    if let Some(user_id) = m.user_id {
        let active_admin = m.role == "admin" && m.status == "active";
        if active_admin && accounts_q::count_active_admins(&mut tx).await? <= 1 {
            return Err(ServiceError::Conflict(
                "This is the co-op's last admin: make another member admin first.".into(),
            ));
        }
        accounts_q::set_disabled(&mut tx, user_id, true).await?;
        accounts_q::delete_sessions_of_user(&mut tx, user_id).await?;
    }
    let actors = super::member_links::linked_actor_ids(&mut tx, id).await?;
    super::member_links::end_follows(&mut tx, &actors).await?;
    members_q::delete(&mut tx, id).await?;
    accounts_q::audit(&mut tx, Some(by), "member.delete", &format!("{id} {}", m.name)).await?;
    tx.commit().await?;
    Ok(())
}

/// The register as CSV (RFC 4180), for a spreadsheet.
pub fn to_csv(list: &[Member]) -> String {
    let f = super::text::csv_field;
    let mut out = String::from("member_number,name,email,phone,joined_on,status,role,groups,notes\r\n");
    for m in list {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\r\n",
            f(m.member_number.as_deref().unwrap_or("")),
            f(&m.name),
            f(m.email.as_deref().unwrap_or("")),
            f(m.phone.as_deref().unwrap_or("")),
            f(m.joined_on.as_deref().unwrap_or("")),
            f(&m.status),
            f(&m.role),
            f(&m.groups.replace('\n', "; ")),
            f(&m.notes),
        ));
    }
    out
}

/// An invitation as made: the code is shown once (only its hash is kept).
#[derive(Debug, Clone)]
pub struct Invitation {
    pub code: String,
    pub url: String,
    pub expires: NaiveDateTime,
    /// The address it was mailed to, when the record has one and this
    /// server sends mail.
    pub emailed_to: Option<String>,
}

/// A new single-use invitation for a member without an account.
pub async fn invite(ctx: &Ctx, caller: &Caller, id: i64) -> ServiceResult<Invitation> {
    let by = caller.require(UserRole::Admin)?;
    let mut tx = ctx.db.begin().await?;
    let made = invite_on(&mut tx, ctx, by, id).await?;
    tx.commit().await?;
    Ok(made)
}

async fn invite_on(tx: &mut crate::db::PooledConn, ctx: &Ctx, by: i64, id: i64) -> ServiceResult<Invitation> {
    let m = members_q::find(tx, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("There is no member {id} in the register.")))?;
    if m.user_id.is_some() {
        return Err(ServiceError::Conflict(format!(
            "{} already has an account: a password link from the users page helps them back in.",
            m.name
        )));
    }
    if m.status == "suspended" || m.status == "left" {
        return Err(ServiceError::Conflict(format!(
            "{} is {}: make them an applicant or active member first.",
            m.name, m.status
        )));
    }
    let code = crate::crypto::random_token();
    let expires = now() + chrono::Duration::days(INVITATION_DAYS);
    members_q::insert_invitation(tx, m.id, &crate::crypto::token_hash(&code), expires).await?;
    accounts_q::audit(tx, Some(by), "member.invite", &format!("{} {}", m.id, m.name)).await?;
    let url = ctx.config.url(&format!("/join/{code}"));
    let mut emailed_to = None;
    if let Some(email) = m.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        let coop = super::coop::coop_actor_on(tx).await?;
        let coop_name = coop.map(|c| c.name).unwrap_or_else(|| ctx.config.domain());
        let body = format!(
            "Hello {},\n\n{coop_name} invites you to set up your account as a member.\n\n\
             Open this link and choose a username and a password (it works once, until {}):\n{url}\n\n\
             If you did not expect this, ignore this mail.\n",
            m.name,
            expires.format("%Y-%m-%d %H:%M UTC")
        );
        let subject = format!("Your invitation to {coop_name}");
        if super::mail::queue(
            tx,
            &ctx.config,
            super::mail::MailKind::Invitation,
            email,
            &subject,
            &body,
        )
        .await?
        {
            emailed_to = Some(email.to_string());
        }
    }
    Ok(Invitation {
        code,
        url,
        expires,
        emailed_to,
    })
}

/// The member an invitation code is for, while it works.
pub async fn invited(ctx: &Ctx, code: &str) -> ServiceResult<Member> {
    let gone = || {
        ServiceError::NotFound(
            "This invitation has expired or was already used: ask the co-op's secretary for a new one."
                .into(),
        )
    };
    let mut conn = ctx.db.conn().await?;
    let id = members_q::invitation_member(&mut conn, &crate::crypto::token_hash(code))
        .await?
        .ok_or_else(gone)?;
    members_q::find(&mut conn, id).await?.ok_or_else(gone)
}

/// The invited person chooses a username and password: their account is
/// made with the member's role, linked to their record (an applicant
/// becomes active), the code is spent, and they are logged in.
pub async fn accept_invitation(
    ctx: &Ctx,
    code: &str,
    username: &str,
    password: &str,
    confirm: &str,
) -> ServiceResult<accounts::LoggedIn> {
    let member = invited(ctx, code).await?;
    if password != confirm {
        return Err(ServiceError::invalid(
            "password_confirm",
            "The two passwords differ: type the same password twice.",
        ));
    }
    // Hashed before the transaction: the writers queued behind it would
    // wait for argon2.
    let row = accounts::new_user_row(
        &mut ctx.db.conn().await?,
        accounts::NewAccount {
            username: username.to_string(),
            email: member.email.clone(),
            display_name: member.name.clone(),
            password: password.to_string(),
            role: UserRole::parse(&member.role)?,
        },
    )
    .await?;
    let mut tx = ctx.db.begin().await?;
    if !members_q::use_invitation(&mut tx, &crate::crypto::token_hash(code)).await? {
        return Err(ServiceError::NotFound(
            "This invitation was used a moment ago: ask the co-op's secretary for a new one.".into(),
        ));
    }
    let user = accounts::insert_new_user(&mut tx, row).await?;
    members_q::set_user(&mut tx, member.id, user.id).await?;
    if member.status == "applicant" {
        members_q::update(
            &mut tx,
            member.id,
            &MemberFields {
                name: member.name.clone(),
                member_number: member.member_number.clone(),
                email: member.email.clone(),
                phone: member.phone.clone(),
                joined_on: member
                    .joined_on
                    .clone()
                    .or_else(|| Some(now().format("%Y-%m-%d").to_string())),
                status: "active".into(),
                role: member.role.clone(),
                groups: member.groups.clone(),
                notes: member.notes.clone(),
                updated_at: now(),
            },
        )
        .await?;
    }
    accounts_q::audit(
        &mut tx,
        Some(user.id),
        "member.joined",
        &format!("{} {}", member.id, user.username),
    )
    .await?;
    let logged_in = accounts::start_session(&mut tx, user).await?;
    tx.commit().await?;
    Ok(logged_in)
}

/// What an import does with its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// Checks every row and writes nothing: the preview.
    Preview,
    /// Writes only when every row is good.
    All,
    /// Writes the good rows and reports the others.
    GoodRows,
}

impl ImportMode {
    /// By the name forms and the API use: `preview`, `all`, `good_rows`.
    pub fn from_name(name: &str) -> Option<ImportMode> {
        match name {
            "preview" => Some(ImportMode::Preview),
            "all" => Some(ImportMode::All),
            "good_rows" => Some(ImportMode::GoodRows),
            _ => None,
        }
    }
}

/// One row of an import and what came of it.
#[derive(Debug, Clone)]
pub struct ImportRow {
    /// The row's line in the file (the header is line 1).
    pub line: usize,
    pub name: String,
    /// `create`, or `update` of the member with that number.
    pub action: &'static str,
    /// Empty for a good row.
    pub errors: Vec<(&'static str, String)>,
}

#[derive(Debug, Clone)]
pub struct ImportReport {
    pub rows: Vec<ImportRow>,
    /// Whether anything was written.
    pub written: bool,
    pub created: usize,
    pub updated: usize,
    pub refused: usize,
}

/// The columns an import reads: the export's.
pub const CSV_COLUMNS: [&str; 9] = [
    "member_number",
    "name",
    "email",
    "phone",
    "joined_on",
    "status",
    "role",
    "groups",
    "notes",
];

/// At most this many rows in one import.
pub const MAX_IMPORT_ROWS: usize = 5000;

/// Imports members from CSV with the export's columns (any order, a
/// header row first; only `name` is required). A row whose member number
/// is in the register updates that member, any other row adds one. Every
/// row is checked as a form would be, in one transaction, so the preview
/// reports what writing would do (a number used twice in the file
/// included); the mode decides whether it is kept.
pub async fn import_csv(
    ctx: &Ctx,
    caller: &Caller,
    text: &str,
    mode: ImportMode,
) -> ServiceResult<ImportReport> {
    let by = caller.require(UserRole::Admin)?;
    let bad_file = |why: String| ServiceError::invalid("file", why);
    let rows = super::text::parse_csv(text).map_err(|e| bad_file(format!("This is not a CSV file: {e}.")))?;
    let mut rows = rows.into_iter();
    let header: Vec<String> = rows
        .next()
        .ok_or_else(|| {
            bad_file("The file is empty: export the register to see the columns it needs.".into())
        })?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let unknown: Vec<&str> = header
        .iter()
        .map(String::as_str)
        .filter(|h| !CSV_COLUMNS.contains(h))
        .collect();
    if !unknown.is_empty() {
        return Err(bad_file(format!(
            "Unknown columns: {}. The columns are {}.",
            unknown.join(", "),
            CSV_COLUMNS.join(", ")
        )));
    }
    if !header.iter().any(|h| h == "name") {
        return Err(bad_file(
            "The file needs a name column (the first row names the columns).".into(),
        ));
    }
    let rows: Vec<Vec<String>> = rows.collect();
    if rows.len() > MAX_IMPORT_ROWS {
        return Err(bad_file(format!(
            "The file has {} rows: import at most {MAX_IMPORT_ROWS} at a time.",
            rows.len()
        )));
    }
    let mut tx = ctx.db.begin().await?;
    let mut report = ImportReport {
        rows: Vec::new(),
        written: false,
        created: 0,
        updated: 0,
        refused: 0,
    };
    let mut numbers_seen: std::collections::HashMap<String, usize> = Default::default();
    for (i, cells) in rows.into_iter().enumerate() {
        let line = i + 2;
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let mut input = MemberInput::default();
        let mut errors = Vec::new();
        if cells.len() != header.len() {
            errors.push((
                "file",
                format!(
                    "This row has {} fields where the header has {}.",
                    cells.len(),
                    header.len()
                ),
            ));
        }
        for (column, cell) in header.iter().zip(&cells) {
            let value = super::text::csv_value(cell.trim()).to_string();
            let slot = match column.as_str() {
                "member_number" => &mut input.member_number,
                "name" => &mut input.name,
                "email" => &mut input.email,
                "phone" => &mut input.phone,
                "joined_on" => &mut input.joined_on,
                "status" => &mut input.status,
                "role" => &mut input.role,
                // The export writes one group per line as "a; b".
                "groups" => {
                    input.groups = Some(value.split(';').map(str::trim).collect::<Vec<_>>().join("\n"));
                    continue;
                }
                _ => &mut input.notes,
            };
            *slot = Some(value);
        }
        // Blank cells keep the defaults of a new member (active, member).
        for slot in [&mut input.status, &mut input.role] {
            if slot.as_deref().is_some_and(|s| s.is_empty()) {
                *slot = None;
            }
        }
        let name = input.name.clone().unwrap_or_default();
        if let Some(n) = input.member_number.as_deref().filter(|n| !n.is_empty()) {
            match numbers_seen.get(n) {
                Some(first) => errors.push((
                    "member_number",
                    format!("Member number {n} is on line {first} too: each member once per file."),
                )),
                None => {
                    numbers_seen.insert(n.to_string(), line);
                }
            }
        }
        let existing = match input.member_number.as_deref().filter(|n| !n.is_empty()) {
            Some(n) => members_q::find_by_number(&mut tx, n).await?,
            None => None,
        };
        let action = if existing.is_some() { "update" } else { "create" };
        if errors.is_empty() {
            let done = match &existing {
                Some(m) => update_on(&mut tx, by, m.id, input).await.map(|_| ()),
                None => create_on(&mut tx, by, input).await.map(|_| ()),
            };
            match done {
                Ok(()) if action == "create" => report.created += 1,
                Ok(()) => report.updated += 1,
                Err(e @ ServiceError::Invalid { .. }) => errors = e.field_errors(),
                Err(ServiceError::Conflict(why)) => errors.push(("status", why)),
                Err(e) => return Err(e),
            }
        }
        if !errors.is_empty() {
            report.refused += 1;
        }
        report.rows.push(ImportRow {
            line,
            name,
            action,
            errors,
        });
    }
    let keep = match mode {
        ImportMode::Preview => false,
        ImportMode::All => report.refused == 0,
        ImportMode::GoodRows => true,
    };
    if keep && report.created + report.updated > 0 {
        accounts_q::audit(
            &mut tx,
            Some(by),
            "member.import",
            &format!(
                "{} added, {} updated, {} rows refused",
                report.created, report.updated, report.refused
            ),
        )
        .await?;
        tx.commit().await?;
        report.written = true;
    }
    // Otherwise the transaction is dropped: nothing was written.
    Ok(report)
}

/// What someone who wants to join types on the co-op's application form.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Application {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    /// Why they want to join, or anything the co-op asks.
    #[serde(default)]
    pub message: String,
}

/// A person applies to join: an applicant's record for the secretary to
/// approve or decline. They need a way to be answered (an email address
/// or a phone number).
pub async fn apply(ctx: &Ctx, application: Application) -> ServiceResult<Member> {
    let mut errors = FieldErrors::default();
    if application.email.trim().is_empty() && application.phone.trim().is_empty() {
        errors.add(
            "email",
            "Give an email address or a phone number, so that the co-op can answer you.",
        );
    }
    let message = super::text::normalize_newlines(application.message.trim());
    if message.chars().count() > 5000 || message.contains('\0') {
        errors.add("message", "Keep your message under 5,000 characters.");
    }
    let input = MemberInput {
        name: Some(application.name),
        email: Some(application.email),
        phone: Some(application.phone),
        status: Some("applicant".into()),
        role: Some("member".into()),
        notes: Some(if message.is_empty() {
            format!("Applied on {}.", now().format("%Y-%m-%d"))
        } else {
            format!("Applied on {}: {message}", now().format("%Y-%m-%d"))
        }),
        ..Default::default()
    };
    let mut tx = ctx.db.begin().await?;
    let f = errors.take(fields(&mut tx, None, input).await)?;
    errors.finish()?;
    let f = f.ok_or_else(|| ServiceError::Internal("a refused application without its errors".into()))?;
    let id = members_q::insert(&mut tx, &f).await?;
    accounts_q::audit(&mut tx, None, "member.apply", &format!("{id} {}", f.name)).await?;
    super::notifications::notify_role(
        &mut tx,
        &ctx.config,
        UserRole::Admin,
        &super::notifications::Notice::new(
            super::notifications::NoticeKind::Application,
            None,
            &format!("{} applied to join", f.name),
            &format!("/admin/members/{id}"),
        ),
    )
    .await?;
    let m = members_q::find(&mut tx, id)
        .await?
        .ok_or_else(|| ServiceError::Internal("member vanished after insert".into()))?;
    tx.commit().await?;
    tracing::info!(member = id, "membership application received");
    Ok(m)
}

/// The secretary approves an application: the applicant becomes an active
/// member, and gets an invitation (the code, shown once, to send them).
pub async fn approve(ctx: &Ctx, caller: &Caller, id: i64) -> ServiceResult<Invitation> {
    let by = caller.require(UserRole::Admin)?;
    let mut tx = ctx.db.begin().await?;
    let m = members_q::find(&mut tx, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("There is no member {id} in the register.")))?;
    if m.status != "applicant" {
        return Err(ServiceError::Conflict(format!(
            "{} is {}, not an applicant: nothing to approve.",
            m.name, m.status
        )));
    }
    update_on(
        &mut tx,
        by,
        id,
        MemberInput {
            status: Some("active".into()),
            joined_on: Some(
                m.joined_on
                    .clone()
                    .unwrap_or_else(|| now().format("%Y-%m-%d").to_string()),
            ),
            ..Default::default()
        },
    )
    .await?;
    accounts_q::audit(&mut tx, Some(by), "member.approve", &format!("{id} {}", m.name)).await?;
    // Approved and invited together, or neither.
    let made = invite_on(&mut tx, ctx, by, id).await?;
    tx.commit().await?;
    Ok(made)
}

/// The secretary declines an application: the record is removed.
pub async fn decline(ctx: &Ctx, caller: &Caller, id: i64) -> ServiceResult<()> {
    let by = caller.require(UserRole::Admin)?;
    let mut tx = ctx.db.begin().await?;
    let m = members_q::find(&mut tx, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("There is no member {id} in the register.")))?;
    if m.status != "applicant" || m.user_id.is_some() {
        return Err(ServiceError::Conflict(format!(
            "{} is {}, not an applicant: set their status instead.",
            m.name, m.status
        )));
    }
    members_q::delete(&mut tx, id).await?;
    accounts_q::audit(&mut tx, Some(by), "member.decline", &format!("{id} {}", m.name)).await?;
    tx.commit().await?;
    Ok(())
}

/// The fields a member may show in the directory, in the order shown.
pub const DIRECTORY_FIELDS: [&str; 4] = ["name", "email", "phone", "groups"];

/// A member as the directory shows them: only what they chose.
#[derive(Debug, Clone)]
pub struct DirectoryEntry {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub groups: Vec<String>,
}

fn shows(m: &Member, field: &str) -> bool {
    m.directory.split(',').any(|f| f.trim() == field)
}

/// The members' directory, for active members logged in here: each
/// active member who chose to be listed, with the fields they chose.
pub async fn directory(ctx: &Ctx, caller: &Caller) -> ServiceResult<Vec<DirectoryEntry>> {
    caller.require(UserRole::Member)?;
    let mut conn = ctx.db.conn().await?;
    if !super::member_links::is_member(&mut conn, caller).await? {
        return Err(ServiceError::Forbidden(
            "The directory is for the co-op's active members.".into(),
        ));
    }
    Ok(members_q::directory(&mut conn)
        .await?
        .into_iter()
        .map(|m| DirectoryEntry {
            name: shows(&m, "name").then(|| m.name.clone()),
            email: m.email.clone().filter(|_| shows(&m, "email")),
            phone: m.phone.clone().filter(|_| shows(&m, "phone")),
            groups: if shows(&m, "groups") {
                m.groups
                    .lines()
                    .map(str::trim)
                    .filter(|g| !g.is_empty())
                    .map(String::from)
                    .collect()
            } else {
                Vec::new()
            },
        })
        .filter(|e| e.name.is_some() || e.email.is_some() || e.phone.is_some() || !e.groups.is_empty())
        .collect())
}

/// What the caller shows in the directory; None without a record.
pub async fn own_directory(ctx: &Ctx, caller: &Caller) -> ServiceResult<Option<Vec<String>>> {
    let Caller::User { id, .. } = caller else {
        return Ok(None);
    };
    let mut conn = ctx.db.conn().await?;
    Ok(members_q::find_by_user(&mut conn, *id).await?.map(|m| {
        DIRECTORY_FIELDS
            .iter()
            .filter(|f| shows(&m, f))
            .map(|f| f.to_string())
            .collect()
    }))
}

/// A member chooses what the directory shows of them (nothing: not listed).
pub async fn set_directory(ctx: &Ctx, caller: &Caller, fields: &[String]) -> ServiceResult<()> {
    let user = caller.require(UserRole::Member)?;
    if let Some(bad) = fields.iter().find(|f| !DIRECTORY_FIELDS.contains(&f.as_str())) {
        return Err(ServiceError::invalid(
            "directory",
            format!("Unknown field {bad:?}: choose among name, email, phone and groups."),
        ));
    }
    let mut tx = ctx.db.begin().await?;
    let m = members_q::find_by_user(&mut tx, user).await?.ok_or_else(|| {
        ServiceError::NotFound("Your account is not in the member register: ask the secretary.".into())
    })?;
    let chosen: Vec<&str> = DIRECTORY_FIELDS
        .iter()
        .copied()
        .filter(|f| fields.iter().any(|x| x == f))
        .collect();
    members_q::set_directory(&mut tx, m.id, &chosen.join(",")).await?;
    accounts_q::audit(
        &mut tx,
        Some(user),
        "member.directory",
        &format!("{} {}", m.id, chosen.join(",")),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
