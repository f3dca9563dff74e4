//! News as RSS 2.0 (`/news.rss`) and Atom (`/news.atom`), and everything
//! the co-op publishes (news, events, polls) at `/feed.rss` and `/feed.atom`,
//! for readers and for members who follow by feed instead of by fediverse
//! account. Public, published items only, newest first; advertised on the
//! pages with `<link rel="alternate">`.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::db::models::Object;
use crate::http::error::AppError;
use crate::service::{calendar, coop, forums, news, polls, Caller, ServiceError};
use crate::state::AppState;

/// How many items a feed carries.
const FEED_SIZE: i64 = 20;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/news.rss", get(|s| rss(s, Which::News)))
        .route("/news.atom", get(|s| atom(s, Which::News)))
        .route("/feed.rss", get(|s| rss(s, Which::Everything)))
        .route("/feed.atom", get(|s| atom(s, Which::Everything)))
        .route(
            "/forums/{key}/feed.rss",
            get(|State(s): State<AppState>, Path(key): Path<String>| async move {
                forum_feed(&s, &key, false).await
            }),
        )
        .route(
            "/forums/{key}/feed.atom",
            get(|State(s): State<AppState>, Path(key): Path<String>| async move {
                forum_feed(&s, &key, true).await
            }),
        )
}

#[derive(Clone, Copy)]
enum Which {
    News,
    /// News, events and polls.
    Everything,
}

impl Which {
    fn path(self, ext: &str) -> String {
        match self {
            Which::News => format!("/news.{ext}"),
            Which::Everything => format!("/feed.{ext}"),
        }
    }
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

/// One entry, whatever its type: an event's summary leads with its time
/// and place, a poll's with its options.
struct Item {
    id: String,
    title: String,
    published: chrono::DateTime<chrono::Utc>,
    updated: chrono::DateTime<chrono::Utc>,
    summary: String,
    content_html: String,
}

struct Feed {
    title: String,
    description: String,
    home: String,
    items: Vec<Item>,
}

fn when(o: &Object) -> chrono::DateTime<chrono::Utc> {
    o.published_at.unwrap_or(o.created_at).and_utc()
}

fn item(o: &Object, lead: Option<String>) -> Item {
    let summary = match lead {
        Some(lead) if o.summary.is_empty() => lead,
        Some(lead) => format!("{lead} · {}", o.summary),
        None => o.summary.clone(),
    };
    Item {
        id: o.ap_id.clone(),
        title: o.title.clone(),
        published: when(o),
        updated: o.updated_at.map(|u| u.and_utc()).unwrap_or_else(|| when(o)),
        summary,
        content_html: o.content_html.clone(),
    }
}

async fn feed(state: &AppState, which: Which) -> Result<Feed, AppError> {
    let coop = coop::get_coop(&state.ctx)
        .await?
        .ok_or_else(|| ServiceError::NotFound("The co-op is not set up yet.".into()))?;
    let news_items = news::latest_news(&state.ctx, &Caller::Anonymous, FEED_SIZE).await?;
    let mut items: Vec<Item> = news_items.iter().map(|o| item(o, None)).collect();
    if let Which::Everything = which {
        for e in calendar::list_events(&state.ctx, &Caller::Anonymous, false, 0, FEED_SIZE).await? {
            let w = super::events::when(&e);
            let mut lead = w.local;
            if e.is_cancelled() {
                lead = format!("CANCELLED · {lead}");
            }
            if let Some(place) = e.row.location_name.as_ref().or(e.row.address.as_ref()) {
                lead = format!("{lead} · {place}");
            }
            items.push(item(&e.object, Some(lead)));
        }
        for p in polls::list_polls(&state.ctx, &Caller::Anonymous, false, 0, FEED_SIZE).await? {
            let options: Vec<&str> = p.options.iter().map(|(o, _)| o.name.as_str()).collect();
            items.push(item(&p.object, Some(options.join(" / "))));
        }
        items.sort_by_key(|i| std::cmp::Reverse(i.published));
        items.truncate(FEED_SIZE as usize);
    }
    Ok(Feed {
        title: coop.name,
        description: crate::service::text::first_paragraph(&coop.summary),
        home: state.ctx.config.url("/"),
        items,
    })
}

async fn rss(State(state): State<AppState>, which: Which) -> Result<Response, AppError> {
    let f = feed(&state, which).await?;
    let self_url = state.ctx.config.url(&which.path("rss"));
    Ok(rss_response(f, self_url))
}

fn rss_response(f: Feed, self_url: String) -> Response {
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
        out += &format!(
            "<lastBuildDate>{}</lastBuildDate>\n",
            latest.published.to_rfc2822()
        );
    }
    for o in &f.items {
        out += &format!(
            "<item>\n<title>{}</title>\n<link>{}</link>\n<guid isPermaLink=\"true\">{}</guid>\n<pubDate>{}</pubDate>\n<description>{}</description>\n<content:encoded>{}</content:encoded>\n</item>\n",
            xml(&o.title),
            xml(&o.id),
            xml(&o.id),
            o.published.to_rfc2822(),
            xml(&o.summary),
            xml(&o.content_html)
        );
    }
    out += "</channel>\n</rss>\n";
    (
        [(header::CONTENT_TYPE, "application/rss+xml; charset=utf-8")],
        out,
    )
        .into_response()
}

async fn atom(State(state): State<AppState>, which: Which) -> Result<Response, AppError> {
    let f = feed(&state, which).await?;
    let self_url = state.ctx.config.url(&which.path("atom"));
    Ok(atom_response(f, self_url))
}

fn atom_response(f: Feed, self_url: String) -> Response {
    let updated = f
        .items
        .iter()
        .map(|o| o.updated)
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
        out += &format!(
            "<entry>\n<id>{}</id>\n<title>{}</title>\n<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n<published>{}</published>\n<updated>{}</updated>\n<summary>{}</summary>\n<content type=\"html\">{}</content>\n</entry>\n",
            xml(&o.id),
            xml(&o.title),
            xml(&o.id),
            stamp(o.published),
            stamp(o.updated),
            xml(&o.summary),
            xml(&o.content_html)
        );
    }
    out += "</feed>\n";
    (
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        out,
    )
        .into_response()
}

/// A forum's threads, newest first, as RSS (`/forums/{key}/feed.rss`) or
/// Atom (`/forums/{key}/feed.atom`); public forums only.
async fn forum_feed(state: &AppState, key: &str, atom: bool) -> Result<Response, AppError> {
    let forum = forums::find_forum(&state.ctx, &crate::service::Caller::Anonymous, key).await?;
    let (threads, _) = forums::threads(&state.ctx, &forum, 1).await?;
    let mut items: Vec<Item> = threads.iter().map(|t| item(&t.object, None)).collect();
    items.sort_by_key(|i| std::cmp::Reverse(i.published));
    let home = state.ctx.config.url(&format!("/forums/{key}"));
    let f = Feed {
        title: forum.actor.name.clone(),
        description: crate::service::text::first_paragraph(&forum.actor.summary),
        home,
        items,
    };
    let ext = if atom { "atom" } else { "rss" };
    let self_url = state.ctx.config.url(&format!("/forums/{key}/feed.{ext}"));
    Ok(if atom {
        atom_response(f, self_url)
    } else {
        rss_response(f, self_url)
    })
}
