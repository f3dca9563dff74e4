//! Which servers this instance federates with: domain blocks, and the
//! allow-list mode for closed co-op networks.

use super::types::UserRole;
use super::{Caller, Ctx, ServiceError, ServiceResult};
use crate::db::models::DomainBlock;
use crate::db::queries::{
    accounts as accounts_q, deliveries as delivery_q, domains as domain_q, follows as follow_q, instance,
};

/// Federation rules, loaded once per check.
#[derive(Debug, Clone, Default)]
pub struct DomainPolicy {
    pub allowlist_mode: bool,
    pub blocked: Vec<String>,
    pub allowed: Vec<String>,
}

/// The host without port, normalised as rules and checks must compare it:
/// lower case, no trailing dot (`evil.example.` is `evil.example`), and
/// internationalised names in their ASCII (IDNA) form, so that a rule for
/// `xn--bcher-kva.example` also catches `BÜCHER.example`.
pub fn bare_host(host: &str) -> String {
    let h = host.trim().to_lowercase();
    if let Some(rest) = h.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("").to_string();
    }
    let name = match h.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) && !name.contains(':') => name,
        _ => h.as_str(),
    };
    let name = name.trim_end_matches('.');
    match url::Host::parse(name) {
        Ok(url::Host::Domain(d)) => d.trim_end_matches('.').to_string(),
        _ => name.to_string(),
    }
}

/// The port of `host:port`, if any (not of a bare IPv6 address).
fn port_of(host: &str) -> Option<&str> {
    let h = host.trim();
    let (name, port) = h.rsplit_once(':')?;
    let bracketed_or_named = name.ends_with(']') || !name.contains(':');
    (bracketed_or_named && !port.is_empty() && port.chars().all(|c| c.is_ascii_digit())).then_some(port)
}

/// A rule without a port covers the domain, its subdomains and every port;
/// a rule with one (`localhost:18601`, for one instance among several on a
/// host) covers exactly that host and port.
fn matches(rule: &str, host: &str) -> bool {
    let (rule_host, rule_port) = (bare_host(rule), port_of(rule));
    let name = bare_host(host);
    match rule_port {
        Some(p) => name == rule_host && port_of(host) == Some(p),
        None => name == rule_host || name.ends_with(&format!(".{rule_host}")),
    }
}

impl DomainPolicy {
    /// Whether we exchange activities with this host (`host` or `host:port`).
    pub fn allows(&self, host: &str) -> bool {
        if self.blocked.iter().any(|r| matches(r, host)) {
            return false;
        }
        !self.allowlist_mode || self.allowed.iter().any(|r| matches(r, host))
    }

    pub fn allows_url(&self, url: &str) -> bool {
        url::Url::parse(url)
            .ok()
            .and_then(|u| {
                u.host_str().map(|h| match u.port() {
                    Some(p) => self.allows(&format!("{h}:{p}")),
                    None => self.allows(h),
                })
            })
            .unwrap_or(false)
    }
}

/// The current policy (read again at most a second after the last read).
pub async fn policy(ctx: &Ctx) -> ServiceResult<std::sync::Arc<DomainPolicy>> {
    ctx.cache.policy.get(|| read_policy(ctx)).await
}

async fn read_policy(ctx: &Ctx) -> ServiceResult<DomainPolicy> {
    let mut conn = ctx.db.conn().await?;
    let inst = instance::get_or_create(&mut conn).await?;
    let rules = domain_q::list_domain_rules(&mut conn).await?;
    Ok(DomainPolicy {
        allowlist_mode: inst.federation_mode == "allowlist",
        blocked: rules
            .iter()
            .filter(|r| r.mode == "block")
            .map(|r| r.domain.clone())
            .collect(),
        allowed: rules
            .iter()
            .filter(|r| r.mode == "allow")
            .map(|r| r.domain.clone())
            .collect(),
    })
}

pub async fn list_rules(ctx: &Ctx) -> ServiceResult<Vec<DomainBlock>> {
    let mut conn = ctx.db.conn().await?;
    Ok(domain_q::list_domain_rules(&mut conn).await?)
}

/// A rule's domain as stored: normalised host, with its port when one was given.
pub fn check_domain(raw: &str) -> ServiceResult<String> {
    let raw = raw
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let d = bare_host(raw);
    let ok = !d.is_empty()
        && d.len() <= 253
        && d.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if !ok {
        return Err(ServiceError::invalid(
            "domain",
            "Enter a domain such as social.example, optionally with a port (social.example:8443); no https://, no path.",
        ));
    }
    // URLs and stored actors leave the default ports out, so a rule must too.
    Ok(match port_of(raw) {
        Some(p) if p != "443" && p != "80" => format!("{d}:{p}"),
        _ => d,
    })
}

/// What blocking a domain would drop: the followers of local actors on it,
/// and the local actors' follows of accounts on it.
pub struct BlockImpact {
    pub followers: i64,
    pub following: i64,
}

pub async fn block_impact(ctx: &Ctx, domain: &str) -> ServiceResult<BlockImpact> {
    let domain = check_domain(domain)?;
    let mut conn = ctx.db.conn().await?;
    let ids = domain_q::actors_of_domain(&mut conn, &domain).await?;
    let policy = DomainPolicy {
        blocked: vec![domain],
        ..Default::default()
    };
    let mut impact = BlockImpact {
        followers: 0,
        following: 0,
    };
    for id in ids {
        let Some(actor) = crate::db::queries::actors::find(&mut conn, id).await? else {
            continue;
        };
        // actors_of_domain is a superset for port rules; the policy decides.
        if policy.allows(&actor.domain) {
            continue;
        }
        let (as_follower, as_followed) = follow_q::count_follows_of(&mut conn, id).await?;
        impact.followers += as_follower;
        impact.following += as_followed;
    }
    Ok(impact)
}

/// How many remote actors' follows allow-list mode would drop now.
pub async fn allowlist_impact(ctx: &Ctx) -> ServiceResult<BlockImpact> {
    let p = DomainPolicy {
        allowlist_mode: true,
        ..(*policy(ctx).await?).clone()
    };
    let mut conn = ctx.db.conn().await?;
    let mut impact = BlockImpact {
        followers: 0,
        following: 0,
    };
    for actor in crate::db::queries::actors::list_remote(&mut conn).await? {
        if !p.allows(&actor.domain) {
            let (as_follower, as_followed) = follow_q::count_follows_of(&mut conn, actor.id).await?;
            impact.followers += as_follower;
            impact.following += as_followed;
        }
    }
    Ok(impact)
}

/// Blocks a domain: inbound refused, outbound stopped, existing follows
/// dropped, and its actors' posts and replies kept here hidden (counts
/// and collections leave them out; lifting the block does not show them
/// again, as with Mastodon's suspension).
pub async fn block_domain(ctx: &Ctx, caller: &Caller, domain: &str, reason: &str) -> ServiceResult<String> {
    let by_user = caller.require(UserRole::Admin)?;
    let domain = check_domain(domain)?;
    let mut tx = ctx.db.begin().await?;
    domain_q::add_domain_rule(&mut tx, &domain, "block", reason.trim()).await?;
    let rule = DomainPolicy {
        blocked: vec![domain.clone()],
        ..Default::default()
    };
    for actor_id in domain_q::actors_of_domain(&mut tx, &domain).await? {
        let on_it = crate::db::queries::actors::find(&mut tx, actor_id)
            .await?
            .is_some_and(|a| !rule.allows(&a.domain));
        if on_it {
            follow_q::delete_follows_of(&mut tx, actor_id).await?;
            crate::db::queries::content::hide_all_of(&mut tx, actor_id).await?;
        }
    }
    delivery_q::cancel_deliveries_to_host(&mut tx, &domain).await?;
    accounts_q::audit(&mut tx, Some(by_user), "domain.block", &domain).await?;
    tx.commit().await?;
    ctx.cache.policy.clear();
    ctx.cache.followed.clear();
    tracing::info!(%domain, "domain blocked");
    Ok(domain)
}

pub async fn allow_domain(ctx: &Ctx, caller: &Caller, domain: &str) -> ServiceResult<String> {
    let by_user = caller.require(UserRole::Admin)?;
    let domain = check_domain(domain)?;
    let mut tx = ctx.db.begin().await?;
    domain_q::add_domain_rule(&mut tx, &domain, "allow", "").await?;
    accounts_q::audit(&mut tx, Some(by_user), "domain.allow", &domain).await?;
    tx.commit().await?;
    ctx.cache.policy.clear();
    ctx.cache.followed.clear();
    Ok(domain)
}

pub async fn remove_rule(ctx: &Ctx, caller: &Caller, id: i64) -> ServiceResult<()> {
    let by_user = caller.require(UserRole::Admin)?;
    let mut tx = ctx.db.begin().await?;
    domain_q::remove_domain_rule(&mut tx, id).await?;
    accounts_q::audit(&mut tx, Some(by_user), "domain.rule_remove", &id.to_string()).await?;
    tx.commit().await?;
    ctx.cache.policy.clear();
    ctx.cache.followed.clear();
    Ok(())
}

/// Switches between open federation and the allow-list; entering allow-list
/// mode drops follows from servers not on the list.
pub async fn set_allowlist_mode(ctx: &Ctx, caller: &Caller, on: bool) -> ServiceResult<()> {
    let by_user = caller.require(UserRole::Admin)?;
    let mut tx = ctx.db.begin().await?;
    instance::set_federation_mode(&mut tx, if on { "allowlist" } else { "open" }).await?;
    accounts_q::audit(
        &mut tx,
        Some(by_user),
        "federation.mode",
        if on { "allowlist" } else { "open" },
    )
    .await?;
    tx.commit().await?;
    ctx.cache.policy.clear();
    ctx.cache.followed.clear();
    if on {
        let policy = policy(ctx).await?;
        // Every remote actor is read without the writer's turn; only the
        // deletes take it.
        let outside: Vec<i64> = {
            let mut conn = ctx.db.conn().await?;
            crate::db::queries::actors::list_remote(&mut conn)
                .await?
                .into_iter()
                .filter(|actor| !policy.allows(&actor.domain))
                .map(|actor| actor.id)
                .collect()
        };
        if !outside.is_empty() {
            let mut conn = ctx.db.write().await?;
            for id in outside {
                follow_q::delete_follows_of(&mut conn, id).await?;
            }
        }
    }
    Ok(())
}

/// Authorized fetch: ActivityPub GETs must be signed by an allowed server.
pub async fn set_authorized_fetch(ctx: &Ctx, caller: &Caller, on: bool) -> ServiceResult<()> {
    let by_user = caller.require(UserRole::Admin)?;
    let mut tx = ctx.db.begin().await?;
    instance::set_authorized_fetch(&mut tx, on).await?;
    accounts_q::audit(
        &mut tx,
        Some(by_user),
        "federation.authorized_fetch",
        if on { "on" } else { "off" },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod normalise_tests {
    use super::*;

    #[test]
    fn hosts_are_normalised_before_rules_apply() {
        assert_eq!(bare_host("Evil.Example."), "evil.example");
        assert_eq!(bare_host("evil.example.:443"), "evil.example");
        assert_eq!(bare_host("BÜCHER.example"), "xn--bcher-kva.example");
        let policy = DomainPolicy {
            blocked: vec!["xn--bcher-kva.example".into(), "evil.example".into()],
            ..Default::default()
        };
        assert!(!policy.allows("bücher.example"));
        assert!(!policy.allows("EVIL.EXAMPLE."));
        assert!(!policy.allows_url("https://sub.evil.example./users/x"));
        assert!(policy.allows("good.example"));
    }

    #[test]
    fn port_rules_cover_one_instance() {
        assert_eq!(check_domain("localhost:18601").unwrap(), "localhost:18601");
        assert_eq!(check_domain("https://Social.Example/").unwrap(), "social.example");
        assert_eq!(
            check_domain("evil.example:443").unwrap(),
            "evil.example",
            "default ports are left out"
        );
        let policy = DomainPolicy {
            blocked: vec!["localhost:18601".into()],
            ..Default::default()
        };
        assert!(!policy.allows("localhost:18601"));
        assert!(!policy.allows_url("http://localhost:18601/users/a"));
        assert!(
            policy.allows("localhost:18602"),
            "another port is another instance"
        );
        assert!(policy.allows("localhost"));
        let wide = DomainPolicy {
            blocked: vec!["localhost".into()],
            ..Default::default()
        };
        assert!(
            !wide.allows("localhost:18602"),
            "a rule without a port covers every port"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_cover_subdomains_and_ports() {
        let p = DomainPolicy {
            blocked: vec!["bad.example".into()],
            ..Default::default()
        };
        assert!(!p.allows("bad.example"));
        assert!(!p.allows("social.bad.example:8443"));
        assert!(p.allows("notbad.example"));
        let closed = DomainPolicy {
            allowlist_mode: true,
            allowed: vec!["coops.example".into()],
            ..Default::default()
        };
        assert!(closed.allows("a.coops.example"));
        assert!(!closed.allows("mastodon.example"));
        assert_eq!(bare_host("[::1]:8080"), "::1");
        assert_eq!(bare_host("Host.Example:443"), "host.example");
        assert!(check_domain("https://x.example/").is_ok());
        assert!(check_domain("a b").is_err());
    }
}
