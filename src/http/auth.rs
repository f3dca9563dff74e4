//! Who is asking: the session cookie for people, bearer tokens for the API,
//! and CSRF tokens for every form.
//!
//! CSRF: a logged-in visitor's forms carry the token stored with their session;
//! an anonymous visitor's forms (login, setup) carry the value of a random
//! `ic_csrf` cookie (double submit). Both cookies are HttpOnly and SameSite=Lax.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::error::AppError;
use super::AppState;
use crate::crypto;
use crate::db::models::{Session, User};
use crate::i18n::Tr;
use crate::service::accounts::{self, SessionCheck};
use crate::service::types::UserRole;
use crate::service::Caller;

pub const SESSION_COOKIE: &str = "ic_session";
pub const CSRF_COOKIE: &str = "ic_csrf";

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// A `Set-Cookie` value. `Secure` everywhere but local mode, where the
/// instance is served over plain http.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age_secs: Option<i64>) -> HeaderValue {
    let secure = if state.ctx.config.local_mode() {
        ""
    } else {
        "; Secure"
    };
    let age = match max_age_secs {
        Some(s) => format!("; Max-Age={s}"),
        None => String::new(),
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax{secure}{age}"
    ))
    .expect("cookie values are base64url")
}

/// The anonymous CSRF value set on this request when the visitor had none.
#[derive(Clone)]
struct NewCsrfCookie(String);

pub async fn ensure_csrf_cookie(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if cookie(req.headers(), CSRF_COOKIE).is_some() {
        return next.run(req).await;
    }
    let value = crypto::random_token();
    req.extensions_mut().insert(NewCsrfCookie(value.clone()));
    let mut resp = next.run(req).await;
    resp.headers_mut()
        .append(header::SET_COOKIE, set_cookie(&state, CSRF_COOKIE, &value, None));
    resp
}

/// An anonymous visitor's CSRF token: their cookie's, or the one
/// `ensure_csrf_cookie` is setting on this response.
fn anonymous_token(headers: &axum::http::HeaderMap, extensions: &axum::http::Extensions) -> String {
    cookie(headers, CSRF_COOKIE)
        .or_else(|| extensions.get::<NewCsrfCookie>().map(|c| c.0.clone()))
        .unwrap_or_default()
}

/// The same, for the page cache, which runs before any extractor.
pub(crate) fn anonymous_csrf(req: &Request) -> String {
    anonymous_token(req.headers(), req.extensions())
}

/// A visitor of the web pages, logged in or not.
pub struct Visitor {
    pub user: Option<User>,
    pub session: Option<Session>,
    /// The token this visitor's forms must carry.
    pub csrf: String,
    /// The session cookie was there but its session has expired.
    pub session_expired: bool,
    pub t: Tr,
}

impl Visitor {
    pub fn role(&self) -> Option<UserRole> {
        self.caller().role()
    }

    /// Who this visitor is to the use cases.
    pub fn caller(&self) -> Caller {
        self.user
            .as_ref()
            .map(Caller::for_user)
            .unwrap_or(Caller::Anonymous)
    }

    /// Checks a submitted form's CSRF token.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), AppError> {
        if !submitted.is_empty() && crypto::constant_time_eq(submitted, &self.csrf) {
            Ok(())
        } else {
            tracing::warn!("form refused: CSRF token missing or wrong");
            Err(AppError::csrf())
        }
    }
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let default_lang = crate::service::coop::get_instance(&state.ctx)
            .await
            .map(|i| i.default_language)
            .unwrap_or_else(|_| "en".into());
        let t = state.i18n.pick(
            parts
                .headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok()),
            &default_lang,
        );
        let mut visitor = Visitor {
            user: None,
            session: None,
            csrf: String::new(),
            session_expired: false,
            t,
        };
        if let Some(token) = cookie(&parts.headers, SESSION_COOKIE) {
            match accounts::check_session(&state.ctx, &token).await? {
                SessionCheck::Valid(found) => {
                    let (user, session) = *found;
                    visitor.csrf = session.csrf_token.clone();
                    visitor.user = Some(user);
                    visitor.session = Some(session);
                }
                SessionCheck::Expired => visitor.session_expired = true,
                SessionCheck::Unknown => {}
            }
        }
        if visitor.user.is_none() {
            visitor.csrf = if parts.extensions.get::<super::page_cache::Filling>().is_some() {
                // The page is for every anonymous visitor: each gets their own token in it.
                super::page_cache::CSRF_PLACEHOLDER.to_string()
            } else {
                anonymous_token(&parts.headers, &parts.extensions)
            };
        }
        Ok(visitor)
    }
}

/// A caller of the JSON API, authenticated by `Authorization: Bearer <token>`.
pub struct ApiUser(pub User);

impl ApiUser {
    /// Who the token's user is to the use cases.
    pub fn caller(&self) -> Caller {
        Caller::for_user(&self.0)
    }

    /// For reads that need a role; changes are checked by the use case.
    pub fn require(&self, role: UserRole) -> Result<(), AppError> {
        self.caller().require(role).map(|_| ()).map_err(AppError::from)
    }
}

fn unauthorized(message: &str) -> AppError {
    AppError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        use axum::response::IntoResponse;
        let with_challenge = |e: AppError| {
            let mut r = e.into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"intercoop\""),
            );
            r
        };
        let Some(value) = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return Err(with_challenge(unauthorized(
                "Send an API token as `Authorization: Bearer <token>`. Create one with `intercoop admin create-token`.",
            )));
        };
        let Some(token) = value
            .strip_prefix("Bearer ")
            .map(str::trim)
            .filter(|t| !t.is_empty())
        else {
            return Err(with_challenge(unauthorized(
                "The Authorization header must be `Bearer <token>`.",
            )));
        };
        match accounts::authenticate_token(&state.ctx, token).await {
            Ok(Some(user)) => Ok(ApiUser(user)),
            Ok(None) => {
                tracing::info!("API request refused: unknown or revoked token");
                Err(with_challenge(unauthorized(
                    "This API token is not valid (unknown or revoked). Create a new one.",
                )))
            }
            Err(e) => Err(AppError::from(e).into_response()),
        }
    }
}

/// A reader of the JSON API: anonymous without an `Authorization` header,
/// else the token's user (a bad token is refused, not read as anonymous),
/// so that members' tokens read members-only items.
pub struct ApiReader(pub Caller);

impl FromRequestParts<AppState> for ApiReader {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            return Ok(ApiReader(Caller::Anonymous));
        }
        let user = ApiUser::from_request_parts(parts, state).await?;
        Ok(ApiReader(user.caller()))
    }
}
