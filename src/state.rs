//! What every request handler and worker shares: the use-case context, the
//! federation side, translations and the few in-memory caches. It lives
//! outside `http` so that `federation` (whose inbox and collections are
//! HTTP handlers too) does not depend on the web layer for it.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::i18n::Catalogs;
use crate::service::Ctx;

/// The one stylesheet, served at `css_path`.
pub const CSS: &str = include_str!("../static/style.css");

#[derive(Clone)]
pub struct AppState {
    pub ctx: Ctx,
    pub federation: Arc<crate::federation::Federation>,
    pub i18n: Catalogs,
    /// `/static/style-<hash>.css`: the hash changes with the content, so the
    /// file can be cached for a year.
    pub css_path: Arc<str>,
    /// News typed by someone whose session ran out as they pressed Publish:
    /// kept for an hour under a random token, so the login can lead back to
    /// the form with the text in it.
    pub pending_news: Arc<crate::federation::limits::Recent<crate::service::news::NewsInput>>,
    /// Pages as anonymous visitors see them, for `page_cache_seconds`.
    pub page_cache: Arc<crate::http::page_cache::PageCache>,
}

impl AppState {
    pub fn new(ctx: Ctx, federation: Arc<crate::federation::Federation>, i18n: Catalogs) -> AppState {
        let hash = Sha256::digest(CSS.as_bytes());
        let short = crate::crypto::hex(&hash[..5]);
        let page_cache = Arc::new(crate::http::page_cache::PageCache::new(
            std::time::Duration::from_secs(u64::from(ctx.config.page_cache_seconds)),
        ));
        AppState {
            page_cache,
            ctx,
            federation,
            i18n,
            css_path: format!("/static/style-{short}.css").into(),
            pending_news: Arc::new(crate::federation::limits::Recent::new(
                std::time::Duration::from_secs(3600),
                200,
            )),
        }
    }
}
