//! The co-op this instance hosts: first-run setup and its public profile.

use super::accounts::{self, LoggedIn, NewAccount};
use super::types::{optional_url, Handle, UserRole};
use super::{Caller, Ctx, ServiceError, ServiceResult};
use crate::crypto;
use crate::db::models::{Actor, ActorRow, DeliveryState, Instance, ProfileChange};
use crate::db::queries::{accounts as accounts_q, actors, instance};
use crate::db::{now, PooledConn};

/// The path of a local actor; its `ap_id` is the base URL plus this.
pub fn actor_path(handle: &str) -> String {
    format!("/actors/{handle}")
}

/// The instance actor (FEP-2677) lives at a fixed path under a reserved handle.
pub const INSTANCE_ACTOR_HANDLE: &str = "instance.actor";
pub const INSTANCE_ACTOR_PATH: &str = "/actor";

pub async fn get_instance(ctx: &Ctx) -> ServiceResult<Instance> {
    let mut conn = ctx.db.conn().await?;
    Ok(instance::get_or_create(&mut conn).await?)
}

/// When setup is not done, makes a fresh one-time setup token and returns the
/// link to print. Every start replaces the previous token.
pub async fn prepare_setup(ctx: &Ctx) -> ServiceResult<Option<String>> {
    let mut conn = ctx.db.write().await?;
    let inst = instance::get_or_create(&mut conn).await?;
    if inst.setup_completed_at.is_some() {
        return Ok(None);
    }
    let token = crypto::random_token();
    instance::set_setup_token(&mut conn, Some(&crypto::token_hash(&token))).await?;
    Ok(Some(ctx.config.url(&format!("/setup?token={token}"))))
}

/// Whether a setup token is the current one (and setup is still open).
pub async fn check_setup_token(ctx: &Ctx, token: &str) -> ServiceResult<()> {
    let inst = get_instance(ctx).await?;
    if inst.setup_completed_at.is_some() {
        return Err(ServiceError::Conflict(
            "This co-op is already set up. Log in instead.".into(),
        ));
    }
    match inst.setup_token_hash {
        Some(hash) if crypto::constant_time_eq(&hash, &crypto::token_hash(token)) => Ok(()),
        _ => Err(ServiceError::Forbidden(
            "This setup link is not valid. Use the link printed by `intercoop serve` when it last started (restart it for a new one)."
                .into(),
        )),
    }
}

pub struct SetupInput {
    pub coop_name: String,
    pub handle: String,
    pub admin_username: String,
    pub admin_email: Option<String>,
    pub password: String,
}

fn check_name(raw: &str) -> ServiceResult<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ServiceError::invalid(
            "name",
            "Give the co-op's name, 1 to 100 characters.",
        ));
    }
    Ok(name.to_string())
}

pub(super) fn local_actor_row(
    ctx: &Ctx,
    kind: &str,
    handle: &str,
    path: &str,
    name: &str,
) -> ServiceResult<ActorRow> {
    let (public_key, private_key) = crypto::generate_actor_keys().map_err(ServiceError::Internal)?;
    let ap_id = ctx.config.url(path);
    let at = now();
    Ok(ActorRow {
        ap_id: ap_id.clone(),
        kind: kind.into(),
        handle: handle.into(),
        domain: ctx.config.domain(),
        local: true,
        name: name.into(),
        inbox: format!("{ap_id}/inbox"),
        shared_inbox: Some(ctx.config.url("/inbox")),
        outbox: Some(format!("{ap_id}/outbox")),
        followers_url: Some(format!("{ap_id}/followers")),
        public_key_id: Some(format!("{ap_id}#main-key")),
        public_key_pem: Some(public_key),
        private_key_pem: Some(private_key),
        discoverable: true,
        created_at: at,
        updated_at: at,
        ..Default::default()
    })
}

/// Names the co-op, creates its actor, the instance actor and the first admin,
/// and logs the admin in: all or nothing.
/// Every problem of a setup form at once, each for its field.
pub fn check_setup_input(input: &SetupInput) -> ServiceResult<()> {
    let mut errors = super::FieldErrors::default();
    errors.take(check_name(&input.coop_name))?;
    errors.take(Handle::parse("handle", &input.handle))?;
    errors.take(accounts::check_username(&input.admin_username))?;
    let same = input
        .admin_username
        .trim()
        .eq_ignore_ascii_case(input.handle.trim().trim_start_matches('@'));
    if same
        || input
            .admin_username
            .trim()
            .eq_ignore_ascii_case(INSTANCE_ACTOR_HANDLE)
    {
        errors.add(
            "admin_username",
            "Your username must differ from the co-op's handle: members' accounts and the co-op share addresses.",
        );
    }
    errors.take(super::types::check_password(&input.password))?;
    errors.finish()
}

pub async fn complete_setup(ctx: &Ctx, token: &str, input: SetupInput) -> ServiceResult<LoggedIn> {
    check_setup_token(ctx, token).await?;
    // Validate the account before the slow key generation.
    check_setup_input(&input)?;
    let name = check_name(&input.coop_name)?;
    let handle = Handle::parse("handle", &input.handle)?;

    // RSA key generation takes a moment: off the async workers.
    let (coop_row, instance_row) = {
        let ctx2 = ctx.clone();
        let (h, n) = (handle.to_string(), name.clone());
        tokio::task::spawn_blocking(move || -> ServiceResult<(ActorRow, ActorRow)> {
            let coop = local_actor_row(&ctx2, "Organization", &h, &actor_path(&h), &n)?;
            let mut inst = local_actor_row(
                &ctx2,
                "Application",
                INSTANCE_ACTOR_HANDLE,
                INSTANCE_ACTOR_PATH,
                &n,
            )?;
            // The instance actor only signs fetches; it has no followers.
            inst.manually_approves_followers = true;
            inst.discoverable = false;
            Ok((coop, inst))
        })
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))??
    };

    let mut tx = ctx.db.begin().await?;
    let coop_id = actors::insert(&mut tx, &coop_row).await?;
    let instance_actor_id = actors::insert(&mut tx, &instance_row).await?;
    let admin = accounts::create_user_on(
        &mut tx,
        NewAccount {
            username: input.admin_username,
            email: input.admin_email,
            display_name: String::new(),
            password: input.password,
            role: UserRole::Admin,
        },
    )
    .await?;
    if !instance::complete_setup(&mut tx, coop_id, instance_actor_id).await? {
        return Err(ServiceError::Conflict(
            "This co-op is already set up. Log in instead.".into(),
        ));
    }
    accounts_q::audit(&mut tx, Some(admin.id), "setup.complete", handle.as_str()).await?;
    let logged_in = accounts::start_session(&mut tx, admin).await?;
    tx.commit().await?;
    ctx.cache.coop.clear();
    tracing::info!(coop = %handle, admin = %logged_in.user.username, "setup complete");
    Ok(logged_in)
}

/// A local actor by handle (the co-op, or the instance actor's reserved handle).
pub async fn find_local_actor(ctx: &Ctx, handle: &str) -> ServiceResult<Option<Actor>> {
    let mut conn = ctx.db.conn().await?;
    Ok(actors::find_local_by_handle(&mut conn, handle).await?)
}

/// Any actor we store, by row id.
pub async fn find_actor(ctx: &Ctx, id: i64) -> ServiceResult<Option<Actor>> {
    let mut conn = ctx.db.conn().await?;
    Ok(actors::find(&mut conn, id).await?)
}

/// The instance actor, once setup is done.
pub async fn instance_actor(ctx: &Ctx) -> ServiceResult<Option<Actor>> {
    match get_instance(ctx).await?.instance_actor_id {
        Some(id) => find_actor(ctx, id).await,
        None => Ok(None),
    }
}

/// Accounts and published news, for NodeInfo.
pub async fn usage(ctx: &Ctx) -> ServiceResult<(i64, i64)> {
    let mut conn = ctx.db.conn().await?;
    let users = accounts_q::count_users(&mut conn).await?;
    // Every kind of content counts; `count_local` takes only public,
    // published local objects.
    let mut posts = 0;
    for kind in crate::db::models::ContentKind::ALL {
        posts += match kind {
            // Threads of members-only forums are not counted.
            crate::db::models::ContentKind::Thread => {
                crate::db::queries::forums::count_public_local_threads(&mut conn).await?
            }
            _ => crate::db::queries::content::count_local(&mut conn, kind.as_str(), &["public"]).await?,
        };
    }
    Ok((users, posts))
}

/// Deliveries waiting and given up, for the admin's view of the queue.
pub async fn delivery_counts(ctx: &Ctx) -> ServiceResult<(i64, i64)> {
    let mut conn = ctx.db.conn().await?;
    let pending =
        crate::db::queries::deliveries::count_deliveries_by_state(&mut conn, DeliveryState::Pending).await?;
    let failed =
        crate::db::queries::deliveries::count_deliveries_by_state(&mut conn, DeliveryState::Failed).await?;
    Ok((pending, failed))
}

pub(crate) async fn coop_actor_on(conn: &mut PooledConn) -> ServiceResult<Option<Actor>> {
    let inst = instance::get_or_create(conn).await?;
    match inst.coop_actor_id {
        Some(id) => Ok(actors::find(conn, id).await?),
        None => Ok(None),
    }
}

/// The co-op's actor, or None before setup.
pub async fn get_coop(ctx: &Ctx) -> ServiceResult<Option<Actor>> {
    let coop = ctx
        .cache
        .coop
        .get(|| async {
            let mut conn = ctx.db.conn().await?;
            coop_actor_on(&mut conn).await
        })
        .await?;
    Ok((*coop).clone())
}

/// The profile fields as typed into the admin form or sent to the API.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct ProfileInput {
    pub name: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub website: String,
    #[serde(default)]
    pub contact_email: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub latitude: String,
    #[serde(default)]
    pub longitude: String,
    #[serde(default)]
    pub languages: String,
    #[serde(default)]
    pub logo_url: String,
    /// "on" when follows wait for an admin's approval (a form checkbox).
    #[serde(default)]
    pub approve_followers: String,
}

impl ProfileInput {
    /// The current profile, as the form shows it.
    pub fn from_actor(coop: &Actor) -> ProfileInput {
        ProfileInput {
            name: coop.name.clone(),
            summary: coop.summary.clone(),
            website: coop.website.clone().unwrap_or_default(),
            contact_email: coop.contact_email.clone().unwrap_or_default(),
            address: coop.address.clone().unwrap_or_default(),
            latitude: coop.latitude.map(|v| v.to_string()).unwrap_or_default(),
            longitude: coop.longitude.map(|v| v.to_string()).unwrap_or_default(),
            languages: coop.languages.replace(',', ", "),
            logo_url: coop.icon_url.clone().unwrap_or_default(),
            approve_followers: if coop.manually_approves_followers {
                "on".into()
            } else {
                String::new()
            },
        }
    }
}

fn parse_coordinate(field: &'static str, raw: &str, limit: f64) -> ServiceResult<Option<f64>> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    match raw.replace(',', ".").parse::<f64>() {
        Ok(v) if v.is_finite() && v.abs() <= limit => Ok(Some(v)),
        _ => Err(ServiceError::invalid(
            field,
            format!("Enter a number between -{limit} and {limit} (decimal degrees, e.g. -1.2921), or leave it empty."),
        )),
    }
}

fn check_profile(input: &ProfileInput) -> ServiceResult<ProfileChange> {
    // Every problem is reported at once, each for its field.
    let mut errors = super::FieldErrors::default();
    let name = errors.take(check_name(&input.name))?.unwrap_or_default();
    let summary = input.summary.trim().to_string();
    if summary.chars().count() > 5000 {
        errors.add(
            "summary",
            "The description is too long: use at most 5000 characters.",
        );
    }
    let contact_email = match input.contact_email.trim() {
        "" => None,
        e if e.contains('@') && !e.contains(char::is_whitespace) && e.len() <= 254 => Some(e.to_string()),
        _ => {
            errors.add(
                "contact_email",
                "Enter an email address such as info@example.coop, or leave it empty.",
            );
            None
        }
    };
    let address = Some(input.address.trim().to_string()).filter(|a| !a.is_empty());
    if address.as_ref().is_some_and(|a| a.chars().count() > 500) {
        errors.add("address", "The address is too long: use at most 500 characters.");
    }
    let latitude = errors
        .take(parse_coordinate("latitude", &input.latitude, 90.0))?
        .flatten();
    let longitude = errors
        .take(parse_coordinate("longitude", &input.longitude, 180.0))?
        .flatten();
    if latitude.is_some() != longitude.is_some() {
        errors.add("latitude", "Give both latitude and longitude, or neither.");
    }
    let mut languages = Vec::new();
    for code in input
        .languages
        .split([',', ' '])
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        let code = code.to_ascii_lowercase();
        if !(2..=3).contains(&code.len()) || !code.chars().all(|c| c.is_ascii_lowercase()) {
            errors.add(
                "languages",
                format!("{code:?} is not a language code: use two- or three-letter codes separated by commas, such as en, fr, sw."),
            );
            continue;
        }
        if !languages.contains(&code) {
            languages.push(code);
        }
    }
    let website = errors.take(optional_url("website", &input.website))?.flatten();
    let icon_url = errors.take(optional_url("logo_url", &input.logo_url))?.flatten();
    errors.finish()?;
    Ok(ProfileChange {
        name,
        summary,
        website,
        contact_email,
        address,
        latitude,
        longitude,
        languages: languages.join(","),
        icon_url,
        manually_approves_followers: matches!(input.approve_followers.trim(), "on" | "true" | "yes" | "1"),
        updated_at: now(),
    })
}

/// Saves the co-op's profile. Returns the updated actor.
pub async fn update_profile(ctx: &Ctx, caller: &Caller, input: &ProfileInput) -> ServiceResult<Actor> {
    let by_user = caller.require(UserRole::Admin)?;
    let change = check_profile(input)?;
    let mut tx = ctx.db.begin().await?;
    let coop = coop_actor_on(&mut tx)
        .await?
        .ok_or_else(|| ServiceError::NotFound("The co-op is not set up yet.".into()))?;
    let unlocking = coop.manually_approves_followers && !change.manually_approves_followers;
    actors::update_profile(&mut tx, coop.id, &change).await?;
    if unlocking {
        // As Mastodon does on unlocking: whoever was waiting is accepted.
        super::follows::accept_all_requests(&mut tx, &coop).await?;
    }
    super::events::record(
        &mut tx,
        &super::events::DomainEvent::ProfileUpdated { actor: coop.id },
        None,
    )
    .await?;
    accounts_q::audit(&mut tx, Some(by_user), "coop.update_profile", "").await?;
    let updated = actors::find(&mut tx, coop.id)
        .await?
        .ok_or_else(|| ServiceError::Internal("co-op actor vanished".into()))?;
    tx.commit().await?;
    ctx.cache.coop.clear();
    Ok(updated)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ProfileInput {
        ProfileInput {
            name: "Tea Growers".into(),
            latitude: "-1,29".into(),
            longitude: "36.82".into(),
            languages: "en, SW".into(),
            ..Default::default()
        }
    }

    #[test]
    fn profile_values_are_normalised() {
        let c = check_profile(&input()).unwrap();
        assert_eq!(c.latitude, Some(-1.29));
        assert_eq!(c.languages, "en,sw");
        assert_eq!(c.website, None);
    }

    #[test]
    fn profile_errors_name_the_field() {
        type Case = (fn(&mut ProfileInput), &'static str);
        let cases: Vec<Case> = vec![
            (|i| i.name = " ".into(), "name"),
            (|i| i.latitude = "91".into(), "latitude"),
            (|i| i.longitude = "".into(), "latitude"),
            (|i| i.website = "javascript:alert(1)".into(), "website"),
            (|i| i.languages = "english".into(), "languages"),
            (|i| i.contact_email = "nope".into(), "contact_email"),
        ];
        for (change, field) in cases {
            let mut i = input();
            change(&mut i);
            match check_profile(&i) {
                Err(ServiceError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("expected an error on {field}, got {other:?}"),
            }
        }
    }
}
