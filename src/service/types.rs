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
        // The message names its field: a form may have a handle and a username.
        let what = if field == "handle" {
            "The handle"
        } else {
            "The username"
        };
        if h.is_empty() || h.len() > 30 {
            return Err(ServiceError::invalid(
                field,
                format!("{what}: use 1 to 30 characters."),
            ));
        }
        if !h
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(ServiceError::invalid(
                field,
                format!("{what}: use only letters a-z, digits and underscores (no spaces or accents)."),
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

pub use crate::db::models::{ContentKind, Visibility};

/// A visibility as forms and the API write it.
pub fn parse_visibility(raw: &str) -> Result<Visibility, ServiceError> {
    Visibility::from_name(raw).ok_or_else(|| {
        ServiceError::invalid(
            "visibility",
            format!(
                "Unknown visibility {:?}: use public, unlisted, followers, members or direct.",
                raw.trim()
            ),
        )
    })
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

/// A fediverse account as people write it: `@you@server`, `you@server`,
/// or a profile link (`https://server/@you`, `https://server/users/you`,
/// `https://server/@you@elsewhere`). Returns (user, domain with port).
pub fn parse_account(input: &str) -> Option<(String, String)> {
    let input = input.trim();
    if input.starts_with("https://") || input.starts_with("http://") {
        let url = url::Url::parse(input).ok()?;
        let host = url.host_str()?.to_string();
        let domain = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host,
        };
        let segments: Vec<&str> = url.path_segments()?.filter(|s| !s.is_empty()).collect();
        let user = match segments.as_slice() {
            [one] => one.strip_prefix('@')?,
            ["users" | "u" | "profile" | "accounts", name] => name,
            _ => return None,
        };
        return match user.split_once('@') {
            // A remote account shown on this server: the account is elsewhere.
            Some((u, d)) if !u.is_empty() && !d.is_empty() => Some((u.to_string(), d.to_string())),
            Some(_) => None,
            None if !user.is_empty() => Some((user.to_string(), domain)),
            None => None,
        };
    }
    let (user, domain) = input.trim_start_matches('@').split_once('@')?;
    let ok = !user.is_empty()
        && !domain.is_empty()
        && !domain.contains(['/', '@', ' '])
        && !user.contains([' ', '/']);
    ok.then(|| (user.to_string(), domain.to_ascii_lowercase()))
}

/// Languages by their own names ("English, Kiswahili") from the stored
/// codes; an unknown code is shown as it is.
pub fn language_names(codes: &str) -> String {
    codes
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| language_name(c).unwrap_or(c).to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Endonyms of the languages co-ops most often use.
pub fn language_name(code: &str) -> Option<&'static str> {
    let base = code.split(['-', '_']).next().unwrap_or(code).to_ascii_lowercase();
    Some(match base.as_str() {
        "af" => "Afrikaans",
        "am" => "አማርኛ",
        "ar" => "العربية",
        "bn" => "বাংলা",
        "ca" => "Català",
        "cs" => "Čeština",
        "cy" => "Cymraeg",
        "da" => "Dansk",
        "de" => "Deutsch",
        "el" => "Ελληνικά",
        "en" => "English",
        "eo" => "Esperanto",
        "es" => "Español",
        "eu" => "Euskara",
        "fa" => "فارسی",
        "fi" => "Suomi",
        "fr" => "Français",
        "ga" => "Gaeilge",
        "gl" => "Galego",
        "gn" => "Avañe'ẽ",
        "ha" => "Hausa",
        "he" => "עברית",
        "hi" => "हिन्दी",
        "ht" => "Kreyòl ayisyen",
        "hu" => "Magyar",
        "id" => "Bahasa Indonesia",
        "ig" => "Igbo",
        "it" => "Italiano",
        "ja" => "日本語",
        "ko" => "한국어",
        "lg" => "Luganda",
        "ms" => "Bahasa Melayu",
        "mr" => "मराठी",
        "ne" => "नेपाली",
        "nl" => "Nederlands",
        "no" | "nb" => "Norsk",
        "pl" => "Polski",
        "pt" => "Português",
        "qu" => "Runa Simi",
        "ro" => "Română",
        "ru" => "Русский",
        "rw" => "Kinyarwanda",
        "so" => "Soomaali",
        "sv" => "Svenska",
        "sw" => "Kiswahili",
        "ta" => "தமிழ்",
        "te" => "తెలుగు",
        "th" => "ไทย",
        "tl" => "Tagalog",
        "tr" => "Türkçe",
        "uk" => "Українська",
        "ur" => "اردو",
        "vi" => "Tiếng Việt",
        "xh" => "isiXhosa",
        "yo" => "Yorùbá",
        "zh" => "中文",
        "zu" => "isiZulu",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_as_people_write_them() {
        let p = |s: &str| parse_account(s);
        let ann = Some(("ann".to_string(), "social.example".to_string()));
        assert_eq!(p("@ann@social.example"), ann);
        assert_eq!(p("ann@Social.Example"), ann);
        assert_eq!(p(" https://social.example/@ann "), ann);
        assert_eq!(p("https://social.example/users/ann"), ann);
        assert_eq!(
            p("https://big.example/@ann@social.example"),
            ann,
            "a remote profile page names the account's own server"
        );
        assert_eq!(
            p("http://127.0.0.1:8080/@bo"),
            Some(("bo".into(), "127.0.0.1:8080".into()))
        );
        for bad in [
            "ann",
            "@ann",
            "ann@",
            "https://social.example/",
            "https://social.example/a/b/c",
            "a b@c.example",
        ] {
            assert_eq!(p(bad), None, "{bad}");
        }
    }

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
