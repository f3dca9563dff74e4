//! News as RSS 2.0 (`/news.rss`) and Atom (`/news.atom`), for readers and
//! for members who follow by feed instead of by fediverse account. Public,
//! published news only, newest first; advertised on the home, archive and
//! news pages with `<link rel="alternate">`.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::db::models::Object;
use crate::http::error::AppError;
use crate::service::{coop, news, ServiceError};
use crate::state::AppState;

/// How many items a feed carries.
const FEED_SIZE: i64 = 20;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/news.rss", get(rss))
        .route("/news.atom", get(atom))
}

/// Text for XML content and attributes.
fn xml(s: &str) -> String {
    s.chars()
        // XML 1.0 cannot carry most control characters, even escaped.
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t' | '\r'))
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&apos;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

struct Feed {
    title: String,
    description: String,
    home: String,
    items: Vec<Object>,
}

async fn feed(state: &AppState) -> Result<Feed, AppError> {
    let coop = coop::get_coop(&state.ctx)
        .await?
        .ok_or_else(|| ServiceError::NotFound("The co-op is not set up yet.".into()))?;
    let (items, _) = news::list_news(&state.ctx, 0, FEED_SIZE).await?;
    Ok(Feed {
        title: coop.name,
        description: crate::service::text::first_paragraph(&coop.summary),
        home: state.ctx.config.url("/"),
        items,
    })
}

fn when(o: &Object) -> chrono::DateTime<chrono::Utc> {
    o.published_at.unwrap_or(o.created_at).and_utc()
}

async fn rss(State(state): State<AppState>) -> Result<Response, AppError> {
    let f = feed(&state).await?;
    let self_url = state.ctx.config.url("/news.rss");
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\">\n<channel>\n",
    );
    out += &format!(
        "<title>{}</title>\n<link>{}</link>\n<description>{}</description>\n<atom:link href=\"{}\" rel=\"self\" type=\"application/rss+xml\"/>\n",
        xml(&f.title),
        xml(&f.home),
        xml(&f.description),
        xml(&self_url)
    );
    if let Some(latest) = f.items.first() {
        out += &format!("<lastBuildDate>{}</lastBuildDate>\n", when(latest).to_rfc2822());
    }
    for o in &f.items {
        out += &format!(
            "<item>\n<title>{}</title>\n<link>{}</link>\n<guid isPermaLink=\"true\">{}</guid>\n<pubDate>{}</pubDate>\n<description>{}</description>\n<content:encoded>{}</content:encoded>\n</item>\n",
            xml(&o.title),
            xml(&o.ap_id),
            xml(&o.ap_id),
            when(o).to_rfc2822(),
            xml(&o.summary),
            xml(&o.content_html)
        );
    }
    out += "</channel>\n</rss>\n";
    Ok((
        [(header::CONTENT_TYPE, "application/rss+xml; charset=utf-8")],
        out,
    )
        .into_response())
}

async fn atom(State(state): State<AppState>) -> Result<Response, AppError> {
    let f = feed(&state).await?;
    let self_url = state.ctx.config.url("/news.atom");
    let updated = f
        .items
        .iter()
        .map(|o| o.updated_at.map(|u| u.and_utc()).unwrap_or_else(|| when(o)))
        .max()
        .unwrap_or_else(chrono::Utc::now);
    let stamp = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n",
    );
    out += &format!(
        "<id>{}</id>\n<title>{}</title>\n<subtitle>{}</subtitle>\n<updated>{}</updated>\n<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n<link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>\n<author><name>{}</name></author>\n",
        xml(&self_url),
        xml(&f.title),
        xml(&f.description),
        stamp(updated),
        xml(&f.home),
        xml(&self_url),
        xml(&f.title)
    );
    for o in &f.items {
        let changed = o.updated_at.map(|u| u.and_utc()).unwrap_or_else(|| when(o));
        out += &format!(
            "<entry>\n<id>{}</id>\n<title>{}</title>\n<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n<published>{}</published>\n<updated>{}</updated>\n<summary>{}</summary>\n<content type=\"html\">{}</content>\n</entry>\n",
            xml(&o.ap_id),
            xml(&o.title),
            xml(&o.ap_id),
            stamp(when(o)),
            stamp(changed),
            xml(&o.summary),
            xml(&o.content_html)
        );
    }
    out += "</feed>\n";
    Ok((
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        out,
    )
        .into_response())
}
