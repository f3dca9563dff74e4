//! Text rules shared by every content type: Markdown to sanitised HTML,
//! the HTML kept from other servers, summaries, slugs and line endings.

/// Markdown to HTML, then sanitised: only the tags every fediverse server
/// keeps (Mastodon strips the rest), links made safe.
pub fn render_markdown(source: &str) -> String {
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, autolinked(markdown_events(source)));
    sanitize_local_html(&html)
}

fn markdown_events(source: &str) -> pulldown_cmark::Parser<'_> {
    let mut options = pulldown_cmark::Options::empty();
    options.insert(pulldown_cmark::Options::ENABLE_STRIKETHROUGH);
    options.insert(pulldown_cmark::Options::ENABLE_TABLES);
    pulldown_cmark::Parser::new_ext(source, options)
}

/// Bare `https://...` in text becomes a link (as on Mastodon and GitHub),
/// except inside links, images and code.
fn autolinked<'a>(
    events: impl Iterator<Item = pulldown_cmark::Event<'a>>,
) -> impl Iterator<Item = pulldown_cmark::Event<'a>> {
    use pulldown_cmark::{CowStr, Event, LinkType, Tag, TagEnd};
    let mut inside = 0usize;
    events.flat_map(move |e| -> Vec<Event<'a>> {
        match &e {
            Event::Start(Tag::Link { .. })
            | Event::Start(Tag::Image { .. })
            | Event::Start(Tag::CodeBlock(_)) => {
                inside += 1;
                vec![e]
            }
            Event::End(TagEnd::Link) | Event::End(TagEnd::Image) | Event::End(TagEnd::CodeBlock) => {
                inside = inside.saturating_sub(1);
                vec![e]
            }
            Event::Text(text) if inside == 0 && (text.contains("https://") || text.contains("http://")) => {
                let mut out = Vec::new();
                let mut rest: &str = text;
                while let Some(start) = rest.find("https://").or_else(|| rest.find("http://")) {
                    let (before, from) = rest.split_at(start);
                    let end = from.find(char::is_whitespace).unwrap_or(from.len());
                    let mut url = &from[..end];
                    // Trailing punctuation belongs to the sentence.
                    while url.ends_with(['.', ',', ';', ':', '!', '?', ')', '\'', '"']) {
                        url = &url[..url.len() - 1];
                    }
                    if !before.is_empty() {
                        out.push(Event::Text(CowStr::from(before.to_string())));
                    }
                    out.push(Event::Start(Tag::Link {
                        link_type: LinkType::Autolink,
                        dest_url: CowStr::from(url.to_string()),
                        title: CowStr::from(""),
                        id: CowStr::from(""),
                    }));
                    out.push(Event::Text(CowStr::from(url.to_string())));
                    out.push(Event::End(TagEnd::Link));
                    rest = &from[url.len()..];
                }
                if !rest.is_empty() {
                    out.push(Event::Text(CowStr::from(rest.to_string())));
                }
                out
            }
            _ => vec![e],
        }
    })
}

/// The images of a Markdown text as (address, description), to check them.
pub fn markdown_images(source: &str) -> Vec<(String, String)> {
    use pulldown_cmark::{Event, Tag, TagEnd};
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    for e in markdown_events(source) {
        match e {
            Event::Start(Tag::Image { dest_url, .. }) => {
                current = Some((dest_url.to_string(), String::new()))
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, alt)) = current.as_mut() {
                    alt.push_str(&t);
                }
            }
            Event::End(TagEnd::Image) => out.extend(current.take()),
            _ => {}
        }
    }
    out
}

/// Mastodon's allowed HTML, roughly: what content from other servers keeps.
const ALLOWED_TAGS: &[&str] = &[
    "p",
    "br",
    "a",
    "strong",
    "em",
    "b",
    "i",
    "del",
    "s",
    "ul",
    "ol",
    "li",
    "blockquote",
    "code",
    "pre",
    "h2",
    "h3",
    "h4",
    "span",
];

/// The HTML our own editors may publish: what remote content may carry,
/// plus images, tables, a top heading and rules.
fn sanitize_local_html(html: &str) -> String {
    static LOCAL: std::sync::LazyLock<ammonia::Builder<'static>> = std::sync::LazyLock::new(|| {
        let mut tags = ALLOWED_TAGS.to_vec();
        tags.extend(["img", "table", "thead", "tbody", "tr", "th", "td", "h1", "hr"]);
        let mut b = ammonia::Builder::default();
        b.tags(tags.into_iter().collect())
            .add_tag_attributes("img", ["src", "alt", "title"])
            .add_tag_attributes("th", ["align"])
            .add_tag_attributes("td", ["align"])
            .link_rel(Some("nofollow noopener noreferrer"))
            .url_schemes(["http", "https", "mailto"].into_iter().collect());
        b
    });
    LOCAL.clean(html).to_string()
}

/// The HTML allowed in content from other servers.
pub fn sanitize_html(html: &str) -> String {
    // Built once: a builder's default tables are a few dozen sets and maps,
    // which every received post would otherwise build again.
    static REMOTE: std::sync::LazyLock<ammonia::Builder<'static>> = std::sync::LazyLock::new(|| {
        let mut b = ammonia::Builder::default();
        b.tags(ALLOWED_TAGS.iter().copied().collect())
            .link_rel(Some("nofollow noopener noreferrer"))
            .url_schemes(["http", "https", "mailto"].into_iter().collect());
        b
    });
    REMOTE.clean(html).to_string()
}

/// Plain text of the first paragraph, for the summary Mastodon shows under
/// an Article's title.
pub fn first_paragraph(source: &str) -> String {
    let para = source
        .split("\n\n")
        .map(str::trim)
        .find(|p| !p.is_empty() && !p.starts_with('#'))
        .unwrap_or("");
    let text = ammonia::Builder::empty()
        .clean(&render_markdown(para))
        .to_string();
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let decoded = text
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"");
    if decoded.chars().count() > 280 {
        let cut: String = decoded.chars().take(277).collect();
        format!("{}...", cut.trim_end())
    } else {
        decoded
    }
}

/// A URL-friendly slug from a title: lowercase ASCII words joined by dashes.
pub fn slugify(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars() {
        let c = match c {
            'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' => 'a',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ò' | 'ó' | 'ô' | 'ö' | 'õ' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'ñ' => 'n',
            c => c.to_ascii_lowercase(),
        };
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
        if slug.len() >= 60 {
            break;
        }
    }
    let slug = slug.trim_matches('-').to_string();
    if slug.is_empty() {
        "news".into()
    } else {
        slug
    }
}

/// CRLF and lone CR (what browsers and some clients send) as LF: the
/// paragraph rule and Markdown rendering both depend on it.
/// Text for HTML attributes and content.
pub fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn normalize_newlines(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

/// Percent-encodes everything but RFC 3986's unreserved characters, for a
/// value placed in a query string or a URL template.
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A thread's title from a post that has none (a Mastodon user starting a
/// thread by mentioning a forum): the first line of its text, without the
/// mentions it starts with, at most 200 characters.
pub fn title_from_html(html: &str) -> String {
    let lines = html
        .replace("</p>", "\n")
        .replace("<br>", "\n")
        .replace("<br/>", "\n")
        .replace("<br />", "\n");
    let text = ammonia::Builder::empty().clean(&lines).to_string();
    let text = text
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ");
    let first = text
        .lines()
        .map(|l| {
            l.split_whitespace()
                .skip_while(|w| w.starts_with('@'))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    if first.chars().count() > 200 {
        let cut: String = first.chars().take(197).collect();
        format!("{}...", cut.trim_end())
    } else {
        first
    }
}

/// One CSV field (RFC 4180): quoted when it holds a comma, quote or line
/// break; a leading = + - @ (which a spreadsheet would run as a formula)
/// is defused with a quote mark.
/// Reads CSV (RFC 4180: quoted fields with `""`, CRLF or LF lines, a
/// byte-order mark at the start) into rows of fields. Err says where it
/// stops being CSV.
pub fn parse_csv(text: &str) -> Result<Vec<Vec<String>>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    let mut quoted = false;
    let mut touched = false;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push('\n');
                }
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => {
                quoted = true;
                touched = true;
            }
            ',' => {
                row.push(std::mem::take(&mut field));
                touched = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                if touched || !field.is_empty() {
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                touched = false;
                line += 1;
            }
            c => {
                field.push(c);
                touched = true;
            }
        }
    }
    if quoted {
        return Err(format!(
            "a quoted field opened before line {line} is never closed"
        ));
    }
    if touched || !field.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

/// A CSV cell as `csv_field` wrote it: the quote mark that defused a
/// formula is taken off again.
pub fn csv_value(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest,
        _ => cell,
    }
}

pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}
