//! Image uploads for news, events and the co-op's logo. The type is read
//! from the bytes (not the name or the browser's word), the size and the
//! pixel count are bounded before decoding, and the picture is re-encoded:
//! nothing of the original file but its pixels is kept, so camera metadata
//! (EXIF, with its GPS position) never reaches a reader. One display size
//! (at most 1600 px) and one thumbnail (400 px) are written to `media_dir`.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat};

use super::types::UserRole;
use super::{Caller, Ctx, ServiceError, ServiceResult};
use crate::db::models::MediaRow;
use crate::db::now;
use crate::db::queries::{accounts as accounts_q, media as media_q};

/// The largest upload taken (the HTTP limit for upload routes too).
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;
/// Larger pictures are refused before they are decoded.
const MAX_PIXELS: u64 = 40_000_000;
const MAX_SIDE: u32 = 12_000;
const DISPLAY: u32 = 1600;
const THUMB: u32 = 400;
/// Where uploads are served.
pub const MEDIA_PATH: &str = "/media";

/// An uploaded image as pages and peers use it.
#[derive(Debug, Clone)]
pub struct Media {
    pub row: MediaRow,
    pub url: String,
    pub thumbnail_url: String,
}

fn ext_of(media_type: &str) -> &'static str {
    if media_type == "image/png" {
        "png"
    } else {
        "jpg"
    }
}

pub fn media(config: &crate::config::Config, row: MediaRow) -> Media {
    let ext = ext_of(&row.media_type);
    Media {
        url: config.url(&format!("{MEDIA_PATH}/{}.{ext}", row.token)),
        thumbnail_url: config.url(&format!("{MEDIA_PATH}/{}-thumb.{ext}", row.token)),
        row,
    }
}

struct Processed {
    media_type: &'static str,
    display: Vec<u8>,
    thumb: Vec<u8>,
    size: (u32, u32),
    thumb_size: (u32, u32),
    blurhash: Option<String>,
}

fn refused(message: &str) -> ServiceError {
    ServiceError::invalid("file", message)
}

fn encode(img: &DynamicImage, jpeg: bool) -> Result<Vec<u8>, ServiceError> {
    let mut out = Vec::new();
    let result = if jpeg {
        let rgb = img.to_rgb8();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85).encode_image(&rgb)
    } else {
        img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
    };
    result.map_err(|e| ServiceError::Internal(format!("cannot encode the image: {e}")))?;
    Ok(out)
}

/// Reads, checks and re-encodes an upload (CPU work: run off the async workers).
fn process(bytes: &[u8]) -> ServiceResult<Processed> {
    let format = image::guess_format(bytes).map_err(|_| {
        refused("This file is not a picture we can read: upload a JPEG, PNG, GIF or WebP image.")
    })?;
    if !matches!(
        format,
        ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::Gif | ImageFormat::WebP
    ) {
        return Err(refused("Upload a JPEG, PNG, GIF or WebP image."));
    }
    let reader = || {
        let mut r = image::ImageReader::with_format(Cursor::new(bytes), format);
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(MAX_SIDE);
        limits.max_image_height = Some(MAX_SIDE);
        limits.max_alloc = Some(512 * 1024 * 1024);
        r.limits(limits);
        r
    };
    let unreadable = |_| refused("The picture is damaged or incomplete: export it again and upload it.");
    let (w, h) = reader().into_dimensions().map_err(|e| match e {
        image::ImageError::Limits(_) => refused("The picture is too large: at most 12,000 pixels a side."),
        other => unreadable(other),
    })?;
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(refused(
            "The picture has too many pixels (over 40 megapixels): make it smaller first.",
        ));
    }
    let mut decoder = reader().into_decoder().map_err(unreadable)?;
    // Phones rotate with an EXIF tag, which re-encoding drops: apply it.
    let orientation = decoder.orientation().ok();
    let mut img = DynamicImage::from_decoder(decoder).map_err(unreadable)?;
    if let Some(o) = orientation {
        img.apply_orientation(o);
    }
    let jpeg = format == ImageFormat::Jpeg;
    let display = if img.width() > DISPLAY || img.height() > DISPLAY {
        img.resize(DISPLAY, DISPLAY, image::imageops::FilterType::Lanczos3)
    } else {
        img.clone()
    };
    let thumb = img.thumbnail(THUMB, THUMB);
    let tiny = img.thumbnail(32, 32).to_rgba8();
    let blurhash = blurhash::encode(4, 3, tiny.width(), tiny.height(), tiny.as_raw()).ok();
    Ok(Processed {
        media_type: if jpeg { "image/jpeg" } else { "image/png" },
        size: (display.width(), display.height()),
        thumb_size: (thumb.width(), thumb.height()),
        display: encode(&display, jpeg)?,
        thumb: encode(&thumb, jpeg)?,
        blurhash,
    })
}

/// Stores an uploaded picture; `alt` (what it shows, for people who cannot
/// see it) is required.
pub async fn upload_image(ctx: &Ctx, caller: &Caller, bytes: Vec<u8>, alt: &str) -> ServiceResult<Media> {
    let by_user = caller.require(UserRole::Editor)?;
    let alt = alt.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut errors = super::FieldErrors::default();
    if alt.is_empty() {
        errors.add("alt", "Describe the picture for people who cannot see it.");
    } else if alt.chars().count() > 1500 || alt.contains('\0') {
        errors.add("alt", "Keep the description under 1,500 characters.");
    }
    if bytes.is_empty() {
        errors.add("file", "Choose a picture to upload.");
    } else if bytes.len() > MAX_UPLOAD_BYTES {
        errors.add("file", "The file is over 10 MB: make it smaller first.");
    }
    errors.finish()?;
    let p = tokio::task::spawn_blocking(move || process(&bytes))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))??;
    let token = crate::crypto::random_token();
    let ext = ext_of(p.media_type);
    let bytes_written = (p.display.len() + p.thumb.len()) as i64;
    // The files before the row: a row never names a file that is not there.
    let store = |e: crate::storage::StoreError| {
        tracing::error!(error = %e, "an upload cannot be stored");
        ServiceError::Unavailable("The picture could not be stored just now: try again in a minute.".into())
    };
    ctx.media
        .put(&format!("{token}.{ext}"), p.display, p.media_type)
        .await
        .map_err(store)?;
    ctx.media
        .put(&format!("{token}-thumb.{ext}"), p.thumb, p.media_type)
        .await
        .map_err(store)?;
    let row = MediaRow {
        id: 0,
        token: token.clone(),
        user_id: Some(by_user),
        media_type: p.media_type.into(),
        width: i64::from(p.size.0),
        height: i64::from(p.size.1),
        thumb_width: i64::from(p.thumb_size.0),
        thumb_height: i64::from(p.thumb_size.1),
        alt,
        blurhash: p.blurhash,
        bytes: bytes_written,
        created_at: now(),
    };
    let mut tx = ctx.db.begin().await?;
    let id = media_q::insert(&mut tx, &row).await?;
    accounts_q::audit(&mut tx, Some(by_user), "media.upload", &token).await?;
    tx.commit().await?;
    tracing::info!(%token, width = row.width, height = row.height, "image uploaded");
    Ok(media(&ctx.config, MediaRow { id, ..row }))
}

/// A served file's bytes and type, by its name (`{token}.jpg`,
/// `{token}-thumb.png`); anything else is not found.
pub async fn read_file(ctx: &Ctx, name: &str) -> ServiceResult<(Vec<u8>, &'static str)> {
    let not_found = || ServiceError::NotFound("There is no such picture.".into());
    let (stem, ext) = name.rsplit_once('.').ok_or_else(not_found)?;
    let media_type = match ext {
        "jpg" => "image/jpeg",
        "png" => "image/png",
        _ => return Err(not_found()),
    };
    let token = stem.strip_suffix("-thumb").unwrap_or(stem);
    if token.is_empty()
        || !token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(not_found());
    }
    match ctx.media.get(name).await {
        Ok(Some(bytes)) => Ok((bytes, media_type)),
        Ok(None) => Err(not_found()),
        Err(e) => {
            tracing::error!(file = name, error = %e, "an upload cannot be read");
            Err(ServiceError::Unavailable(
                "The picture cannot be fetched from storage just now: try again in a minute.".into(),
            ))
        }
    }
}

/// The upload an image URL of ours names, for its size and type in
/// ActivityPub documents.
pub async fn find_by_url(conn: &mut crate::db::PooledConn, url: &str) -> ServiceResult<Option<MediaRow>> {
    let Some(name) = url.split(&format!("{MEDIA_PATH}/")).nth(1) else {
        return Ok(None);
    };
    let token = name.split('.').next().unwrap_or("").trim_end_matches("-thumb");
    Ok(media_q::find_by_token(conn, token).await?)
}

/// The newest uploads, for editors.
pub async fn recent(ctx: &Ctx, caller: &Caller) -> ServiceResult<Vec<Media>> {
    caller.require(UserRole::Editor)?;
    let mut conn = ctx.db.conn().await?;
    Ok(media_q::recent(&mut conn, 30)
        .await?
        .into_iter()
        .map(|r| media(&ctx.config, r))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = DynamicImage::new_rgb8(w, h);
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn pictures_are_resized_and_others_refused() {
        let p = process(&png(3000, 1500)).unwrap();
        assert_eq!(p.media_type, "image/png");
        assert_eq!(p.size, (1600, 800));
        assert_eq!(p.thumb_size, (400, 200));
        assert!(p.blurhash.is_some());
        // A name or Content-Type cannot make text a picture.
        assert!(matches!(
            process(b"<svg onload=alert(1)>"),
            Err(ServiceError::Invalid { field: "file", .. })
        ));
        // A truncated file is refused, not half-stored.
        let mut cut = png(100, 100);
        cut.truncate(cut.len() / 2);
        assert!(process(&cut).is_err());
    }
}
