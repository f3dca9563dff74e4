//! Validated values: once built, they cannot hold invalid data.

use std::fmt;

use super::ServiceError;

/// A local handle (`mycoop` in `@mycoop@coop.example`): 1–30 characters of
/// lowercase ASCII letters, digits and underscores, which every fediverse
/// server accepts in WebFinger and mentions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handle(String);

impl Handle {
    pub fn parse(field: &'static str, raw: &str) -> Result<Handle, ServiceError> {
        let h = raw.trim().trim_start_matches('@').to_ascii_lowercase();
        if h.is_empty() || h.len() > 30 {
            return Err(ServiceError::invalid(field, "Use 1 to 30 characters."));
        }
        if !h
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(ServiceError::invalid(
                field,
                "Use only letters a-z, digits and underscores (no spaces or accents).",
            ));
        }
        Ok(Handle(h))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a local account may do. Ordered: each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum UserRole {
    Member,
    Editor,
    Moderator,
    Admin,
}

impl UserRole {
    pub fn as_str(self) -> &'static str {
        match self {
            UserRole::Member => "member",
            UserRole::Editor => "editor",
            UserRole::Moderator => "moderator",
            UserRole::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Result<UserRole, ServiceError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "member" => Ok(UserRole::Member),
            "editor" => Ok(UserRole::Editor),
            "moderator" => Ok(UserRole::Moderator),
            "admin" => Ok(UserRole::Admin),
            other => Err(ServiceError::invalid(
                "role",
                format!("Unknown role {other:?}: use admin, moderator, editor or member."),
            )),
        }
    }

    /// Roles read back from the database; an unknown value grants the least.
    pub fn from_db(raw: &str) -> UserRole {
        UserRole::parse(raw).unwrap_or(UserRole::Member)
    }
}

/// Password rules: long enough to resist guessing, short enough for argon2.
pub fn check_password(password: &str) -> Result<(), ServiceError> {
    let n = password.chars().count();
    if n < 10 {
        return Err(ServiceError::invalid(
            "password",
            "The password is too short: use at least 10 characters (a few words work well).",
        ));
    }
    if n > 256 {
        return Err(ServiceError::invalid(
            "password",
            "The password is too long: use at most 256 characters.",
        ));
    }
    Ok(())
}

/// An optional http(s) URL typed into a form; empty means none.
pub fn optional_url(field: &'static str, raw: &str) -> Result<Option<String>, ServiceError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    match url::Url::parse(raw) {
        Ok(u) if u.scheme() == "https" || u.scheme() == "http" => Ok(Some(u.to_string())),
        _ => Err(ServiceError::invalid(
            field,
            "Enter a full web address starting with https://, or leave it empty.",
        )),
    }
}

/// Where a redirect built from a visitor-supplied URL may go: a path on this
/// instance only. The candidate is parsed against our base URL and its
/// origin compared, so `//evil.example`, `/\\evil.example`, `https:evil.example`
/// and control characters all fall back to `/`.
pub fn local_redirect_target(base: &str, candidate: &str) -> Option<String> {
    if candidate.is_empty()
        || candidate.chars().any(|c| c.is_control() || c == '\\')
        || candidate.starts_with("//")
    {
        return None;
    }
    let base = url::Url::parse(base).ok()?;
    let resolved = base.join(candidate).ok()?;
    if resolved.origin() != base.origin() {
        return None;
    }
    let mut out = resolved.path().to_string();
    if let Some(q) = resolved.query() {
        out.push('?');
        out.push_str(q);
    }
    if let Some(f) = resolved.fragment() {
        out.push('#');
        out.push_str(f);
    }
    // A path starting with `//` would be read by browsers as another host.
    (!out.starts_with("//")).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_normalised_and_checked() {
        assert_eq!(Handle::parse("h", " @MyCoop ").unwrap().as_str(), "mycoop");
        assert!(Handle::parse("h", "my coop").is_err());
        assert!(Handle::parse("h", "café").is_err());
        assert!(Handle::parse("h", "").is_err());
        assert!(Handle::parse("h", &"a".repeat(31)).is_err());
    }

    #[test]
    fn roles_order_and_parse() {
        assert!(UserRole::Admin > UserRole::Moderator);
        assert!(UserRole::Editor > UserRole::Member);
        assert_eq!(UserRole::parse("Editor").unwrap(), UserRole::Editor);
        assert!(UserRole::parse("owner").is_err());
        assert_eq!(UserRole::from_db("garbage"), UserRole::Member);
    }
}
