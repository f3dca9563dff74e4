//! Picture uploads over real HTTP, on both databases: the type is read
//! from the bytes, a description is required, a JPEG's EXIF (GPS included)
//! does not survive, the picture is served with long cache headers, and
//! news that uses it tells peers its type, size and blurhash.

mod common;

use std::io::Cursor;

use common::{Backend, TestApp, ADMIN, PASSWORD};
use serde_json::Value;

both_backends!(uploads_drop_metadata_and_are_described);

/// A JPEG from a phone at a known place: GPS latitude and longitude in its EXIF.
fn jpeg_with_gps() -> Vec<u8> {
    let img = image::RgbImage::from_fn(320, 200, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&img)
        .unwrap();
    use exif::{Field, In, Rational, Tag, Value};
    let deg = |d: u32| {
        Value::Rational(vec![
            Rational { num: d, denom: 1 },
            Rational { num: 30, denom: 1 },
            Rational { num: 0, denom: 1 },
        ])
    };
    let fields = [
        Field {
            tag: Tag::GPSLatitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"N".to_vec()]),
        },
        Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: deg(48),
        },
        Field {
            tag: Tag::GPSLongitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"E".to_vec()]),
        },
        Field {
            tag: Tag::GPSLongitude,
            ifd_num: In::PRIMARY,
            value: deg(2),
        },
    ];
    let mut w = exif::experimental::Writer::new();
    for f in &fields {
        w.push_field(f);
    }
    let mut tiff = Cursor::new(Vec::new());
    w.write(&mut tiff, false).unwrap();
    let tiff = tiff.into_inner();
    let len = (2 + 6 + tiff.len()) as u16;
    let mut out = jpeg[..2].to_vec(); // SOI
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(&tiff);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn gps_of(bytes: &[u8]) -> Option<String> {
    let exif = exif::Reader::new()
        .read_from_container(&mut Cursor::new(bytes))
        .ok()?;
    exif.get_field(exif::Tag::GPSLatitude, exif::In::PRIMARY)
        .map(|f| f.display_value().to_string())
}

async fn upload(
    client: &reqwest::Client,
    app: &TestApp,
    csrf: &str,
    bytes: Vec<u8>,
    name: &str,
    alt: &str,
) -> reqwest::Response {
    try_upload(client, app, csrf, bytes, name, alt).await.unwrap()
}

async fn try_upload(
    client: &reqwest::Client,
    app: &TestApp,
    csrf: &str,
    bytes: Vec<u8>,
    name: &str,
    alt: &str,
) -> reqwest::Result<reqwest::Response> {
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.to_string())
        .text("alt", alt.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes)
                .file_name(name.to_string())
                .mime_str("image/jpeg")
                .unwrap(),
        );
    client.post(app.url("/media")).multipart(form).send().await
}

async fn uploads_drop_metadata_and_are_described(backend: Backend) {
    let app = TestApp::with_coop(backend).await;
    let admin = common::login(&app, ADMIN, PASSWORD).await;
    let page = admin
        .get(app.url("/media"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("enctype=\"multipart/form-data\""), "{page}");
    let csrf = common::csrf_of(&page);
    let original = jpeg_with_gps();
    assert_eq!(
        gps_of(&original).as_deref(),
        Some("48 deg 30 min 0 sec"),
        "the test picture carries GPS"
    );

    // No description: refused, nothing stored.
    let r = upload(&admin, &app, &csrf, original.clone(), "field.jpg", " ").await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Describe the picture"));
    // Not a picture, whatever its name and type say.
    let r = upload(
        &admin,
        &app,
        &csrf,
        b"<html><script>alert(1)</script>".to_vec(),
        "x.jpg",
        "x",
    )
    .await;
    assert_eq!(r.status(), 422);
    let files = std::fs::read_dir(&app.ctx.config.media_dir)
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(files, 0, "refused uploads leave no file");
    // Over the limit: 413, with our error.
    let big = vec![0u8; intercoop::service::media::MAX_UPLOAD_BYTES + 200 * 1024];
    // The server answers 413 from the Content-Length, before the body: the
    // client may see that answer, or the connection closed under its write.
    match try_upload(&admin, &app, &csrf, big, "big.jpg", "big").await {
        Ok(r) => assert_eq!(r.status(), 413),
        Err(e) => assert!(e.is_request(), "{e}"),
    }
    let files = std::fs::read_dir(&app.ctx.config.media_dir)
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(files, 0, "an oversize upload leaves no file");

    let r = upload(
        &admin,
        &app,
        &csrf,
        original.clone(),
        "field.jpg",
        "The north field at dawn",
    )
    .await;
    assert_eq!(r.status(), 303);
    let page = admin
        .get(app.url(r.headers()["location"].to_str().unwrap()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let url = page
        .split("readonly value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    assert!(
        url.starts_with(&app.url("/media/")) && url.ends_with(".jpg"),
        "{url}"
    );
    assert!(page.contains("![The north field at dawn]("), "{page}");

    let served = reqwest::get(&url).await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/jpeg");
    assert!(served.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    let bytes = served.bytes().await.unwrap();
    assert_eq!(gps_of(&bytes), None, "no GPS position in the served picture");
    assert!(
        exif::Reader::new()
            .read_from_container(&mut Cursor::new(&bytes[..]))
            .is_err(),
        "no EXIF at all"
    );
    let decoded = image::load_from_memory(&bytes).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (320, 200));
    let thumb = reqwest::get(url.replace(".jpg", "-thumb.jpg")).await.unwrap();
    assert_eq!(thumb.status(), 200);
    // Only our own file names are served.
    for bad in ["/media/..%2Fintercoop.db", "/media/x.svg", "/media/.jpg"] {
        assert_eq!(reqwest::get(app.url(bad)).await.unwrap().status(), 404, "{bad}");
    }

    // The API takes uploads too, with the same rules.
    let token = intercoop::service::accounts::create_api_token(&app.ctx, ADMIN, "t")
        .await
        .unwrap();
    let form = reqwest::multipart::Form::new().text("description", "A cow").part(
        "file",
        reqwest::multipart::Part::bytes(original).file_name("cow.jpg"),
    );
    let r = reqwest::Client::new()
        .post(app.url("/api/v1/media"))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let m: Value = r.json().await.unwrap();
    assert_eq!(m["meta"]["original"]["width"], 320);
    assert_eq!(m["description"], "A cow");

    // News that uses the picture tells peers what it is.
    let item = intercoop::service::news::publish_news(
        &app.ctx,
        &common::admin(),
        &intercoop::service::news::NewsInput {
            title: "Dawn".into(),
            body: "The field.".into(),
            image_url: url.clone(),
            image_alt: "The north field at dawn".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let doc: Value = reqwest::Client::new()
        .get(&item.ap_id)
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let a = &doc["attachment"][0];
    assert_eq!(a["url"], url);
    assert_eq!(a["mediaType"], "image/jpeg");
    assert_eq!(a["width"], 320);
    assert_eq!(a["name"], "The north field at dawn");
    assert!(a["blurhash"].as_str().is_some_and(|b| b.len() >= 6), "{a}");
}
