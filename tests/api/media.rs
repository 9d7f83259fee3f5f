//! The media library: uploads (the page's form, its script's JSON answers, the API), what is
//! refused and why, thumbnails, deduplication, alt text, search and pages, delete and the posts
//! that hold an item, the owner's file URLs, signed public links, and isolation between users.
//! Fixtures are made in code: tiny images with the `image` crate, videos with `mp4`'s writer.

use std::io::Cursor;
use std::path::Path;
use std::time::Duration;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use reqwest::multipart::{Form, Part};
use reqwest::{Response, StatusCode};
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use tempfile::TempDir;
use uuid::Uuid;

use crate::helpers::{TestApp, location, same_origin_headers, spawn_app_with, texts};

// ---- fixtures ----

fn encode(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    image.write_to(&mut Cursor::new(&mut out), format).unwrap();
    out
}

/// A colourful (so not trivially compressible) RGB picture.
fn picture(width: u32, height: u32, seed: u8) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
        Rgb([
            (x * 7 + y * 3) as u8 ^ seed,
            (x * y) as u8,
            (y * 11) as u8 ^ seed,
        ])
    }))
}

pub(crate) fn jpeg(width: u32, height: u32, seed: u8) -> Vec<u8> {
    encode(picture(width, height, seed), ImageFormat::Jpeg)
}

pub(crate) fn png(width: u32, height: u32, seed: u8) -> Vec<u8> {
    encode(picture(width, height, seed), ImageFormat::Png)
}

fn png_with_transparency(width: u32, height: u32) -> Vec<u8> {
    let img = RgbaImage::from_fn(width, height, |x, _| Rgba([200, 30, 30, (x % 256) as u8]));
    encode(DynamicImage::ImageRgba8(img), ImageFormat::Png)
}

pub(crate) fn webp(width: u32, height: u32) -> Vec<u8> {
    encode(picture(width, height, 3), ImageFormat::WebP)
}

pub(crate) fn gif(width: u32, height: u32) -> Vec<u8> {
    encode(picture(width, height, 5), ImageFormat::Gif)
}

/// An H.264-labelled MP4 (the samples are placeholders: nothing here decodes frames) of
/// `frames` frames of `frame_ms` each.
pub(crate) fn mp4_video(
    width: u16,
    height: u16,
    frames: u32,
    frame_ms: u32,
    brand: &str,
) -> Vec<u8> {
    let config = mp4::Mp4Config {
        major_brand: brand.parse().unwrap(),
        minor_version: 512,
        compatible_brands: vec!["isom".parse().unwrap(), "mp41".parse().unwrap()],
        timescale: 1000,
    };
    let mut writer = mp4::Mp4Writer::write_start(Cursor::new(Vec::new()), &config).unwrap();
    writer
        .add_track(&mp4::TrackConfig {
            track_type: mp4::TrackType::Video,
            timescale: 1000,
            language: "und".into(),
            media_conf: mp4::MediaConfig::AvcConfig(mp4::AvcConfig {
                width,
                height,
                seq_param_set: vec![0x67, 0x42, 0xC0, 0x1E, 0x95, 0xA0],
                pic_param_set: vec![0x68, 0xCE, 0x3C, 0x80],
            }),
        })
        .unwrap();
    for i in 0..frames {
        writer
            .write_sample(
                1,
                &mp4::Mp4Sample {
                    start_time: u64::from(i * frame_ms),
                    duration: frame_ms,
                    rendering_offset: 0,
                    is_sync: i == 0,
                    bytes: [0x65, 0x88, 0x84, i as u8, 0x21, 0xA0, 0x37, 0x12]
                        .repeat(64)
                        .into(),
                },
            )
            .unwrap();
    }
    writer.write_end().unwrap();
    writer.into_writer().into_inner()
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
}

/// A small, well-formed PNG whose header claims 100,000 × 100,000 pixels.
pub(crate) fn png_bomb() -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    // A zlib stream of a few zero bytes: what a bomb inflates from.
    png_chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9C, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01],
    );
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// A PNG whose compressed pixels were scrambled on the way.
fn corrupt_png() -> Vec<u8> {
    let mut data = png(64, 64, 9);
    let idat = data.windows(4).position(|w| w == b"IDAT").unwrap() + 4;
    for b in &mut data[idat + 20..idat + 60] {
        *b = !*b;
    }
    data
}

const SVG: &[u8] = br#"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script><rect width="10" height="10"/></svg>"#;

// ---- harness ----

/// An app whose media store is a fresh folder, with a logged-in seller.
async fn library() -> (TestApp, TempDir) {
    library_with(|_| {}).await
}

async fn library_with(
    customize: impl FnOnce(&mut std::collections::BTreeMap<String, String>),
) -> (TestApp, TempDir) {
    let store = tempfile::tempdir().unwrap();
    let path = store.path().to_string_lossy().into_owned();
    let app = spawn_app_with(move |env| {
        env.insert("MEDIA_STORE".into(), path);
        customize(env);
    })
    .await;
    app.signed_up_user().await;
    (app, store)
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_in(&path));
        } else {
            found.push(path.to_string_lossy().into_owned());
        }
    }
    found
}

fn form_of(files: &[(&str, Vec<u8>)]) -> Form {
    files.iter().fold(Form::new(), |form, (name, bytes)| {
        form.part(
            "file",
            Part::bytes(bytes.clone()).file_name(name.to_string()),
        )
    })
}

/// Posts files with the plain form, as a browser without JavaScript does.
async fn upload_form(app: &TestApp, files: &[(&str, Vec<u8>)]) -> Response {
    let token = app.csrf().await;
    app.client
        .post(app.url(&format!("/media/upload?csrf_token={token}")))
        .headers(same_origin_headers(&app.base))
        .multipart(form_of(files))
        .send()
        .await
        .unwrap()
}

/// Posts one file as the page's script does, and returns its result.
pub(crate) async fn upload_js(app: &TestApp, name: &str, bytes: Vec<u8>) -> Value {
    let token = app.csrf().await;
    let res = app
        .client
        .post(app.url(&format!("/media/upload?csrf_token={token}")))
        .headers(same_origin_headers(&app.base))
        .header("x-csrf-token", token)
        .header("accept", "application/json")
        .multipart(form_of(&[(name, bytes)]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    body["files"][0].clone()
}

pub(crate) async fn stored(app: &TestApp, name: &str, bytes: Vec<u8>) -> Uuid {
    let result = upload_js(app, name, bytes).await;
    assert_eq!(result["status"], "stored", "{result}");
    result["id"].as_str().unwrap().parse().unwrap()
}

async fn media_count(app: &TestApp) -> i64 {
    app.scalar_i64("SELECT count(*) FROM media").await
}

async fn row(app: &TestApp, id: Uuid, column: &str) -> Option<String> {
    app.scalar_string(&format!(
        "SELECT {column}::text FROM media WHERE id = '{id}'"
    ))
    .await
}

async fn current_user(app: &TestApp) -> Uuid {
    app.scalar_string("SELECT id::text FROM users ORDER BY created_at DESC LIMIT 1")
        .await
        .unwrap()
        .parse()
        .unwrap()
}

async fn api_token(app: &TestApp) -> String {
    let user = current_user(app).await;
    picscripter::security::api_tokens::create(&app.db, user, "media tests")
        .await
        .unwrap()
        .plaintext
        .expose_secret()
        .to_owned()
}

async fn schedule_post_using(app: &TestApp, media_id: Uuid, body: &str, status: &str) -> Uuid {
    use sea_orm::ConnectionTrait as _;
    let user = current_user(app).await;
    let post = Uuid::now_v7();
    app.db
        .execute_unprepared(&format!(
            "INSERT INTO posts (id, user_id, body, scheduled_at, status) \
             VALUES ('{post}', '{user}', '{body}', '2026-12-03 09:30:00+00', '{status}');
             INSERT INTO post_media (post_id, media_id, position) VALUES ('{post}', '{media_id}', 0);"
        ))
        .await
        .unwrap();
    post
}

// ---- uploading ----

#[tokio::test]
async fn each_photo_type_is_stored_with_its_dimensions_and_a_thumbnail() {
    let (app, store) = library().await;
    let cases = [
        (
            "mug.jpg",
            jpeg(640, 480, 1),
            "image/jpeg",
            (640, 480),
            "image/jpeg",
            (400, 300),
        ),
        (
            "logo.png",
            png_with_transparency(300, 200),
            "image/png",
            (300, 200),
            "image/webp",
            (300, 200),
        ),
        (
            "banner.webp",
            webp(800, 200),
            "image/webp",
            (800, 200),
            "image/jpeg",
            (400, 100),
        ),
        (
            "spin.gif",
            gif(90, 120),
            "image/gif",
            (90, 120),
            "image/jpeg",
            (90, 120),
        ),
    ];
    for (name, bytes, mime, (w, h), thumb_mime, (tw, th)) in cases {
        let original = bytes.clone();
        let id = stored(&app, name, bytes).await;
        assert_eq!(row(&app, id, "mime").await.as_deref(), Some(mime), "{name}");
        assert_eq!(row(&app, id, "kind").await.as_deref(), Some("image"));
        assert_eq!(row(&app, id, "width").await, Some(w.to_string()), "{name}");
        assert_eq!(row(&app, id, "height").await, Some(h.to_string()), "{name}");
        assert_eq!(
            row(&app, id, "size_bytes").await,
            Some(original.len().to_string())
        );

        let thumb = app.get(&format!("/media/{id}/thumb")).await;
        assert_eq!(thumb.status(), StatusCode::OK, "{name}");
        assert_eq!(thumb.headers()["content-type"], thumb_mime, "{name}");
        let decoded = image::load_from_memory(&thumb.bytes().await.unwrap()).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (tw, th), "{name}");

        let file = app.get(&format!("/media/{id}/file")).await;
        assert_eq!(file.status(), StatusCode::OK);
        assert_eq!(file.headers()["content-type"], mime);
        assert!(
            file.headers()["cache-control"]
                .to_str()
                .unwrap()
                .starts_with("private")
        );
        let sha = row(&app, id, "sha256").await.unwrap();
        assert_eq!(
            file.headers()["etag"].to_str().unwrap(),
            format!("\"{sha}\"")
        );
        assert_eq!(file.bytes().await.unwrap().as_ref(), original.as_slice());
    }
    // Original and thumbnail for each, nothing else.
    assert_eq!(files_in(store.path()).len(), 8);

    let (_, html) = app.get_html("/media").await;
    let names = texts(&html, ".media-card .media-name");
    assert_eq!(
        names,
        vec!["spin.gif", "banner.webp", "logo.png", "mug.jpg"]
    );
    let size = picscripter::media::human_size(jpeg(640, 480, 1).len() as u64);
    assert_eq!(
        texts(&html, ".media-card .media-facts")[3],
        format!("JPEG · 640 × 480 · {size}")
    );
}

#[tokio::test]
async fn a_png_named_jpg_is_kept_as_the_png_it_is() {
    let (app, _store) = library().await;
    let id = stored(&app, "photo.jpg", png(40, 30, 2)).await;
    assert_eq!(row(&app, id, "mime").await.as_deref(), Some("image/png"));
    assert_eq!(
        row(&app, id, "original_filename").await.as_deref(),
        Some("photo.jpg")
    );
    let file = app.get(&format!("/media/{id}/file")).await;
    assert_eq!(file.headers()["content-type"], "image/png");
}

#[tokio::test]
async fn videos_report_their_size_and_duration_and_play_in_byte_ranges() {
    let (app, _store) = library().await;
    let mp4 = mp4_video(1280, 720, 25, 100, "isom");
    let id = stored(&app, "unboxing.mp4", mp4.clone()).await;
    assert_eq!(row(&app, id, "kind").await.as_deref(), Some("video"));
    assert_eq!(row(&app, id, "mime").await.as_deref(), Some("video/mp4"));
    assert_eq!(row(&app, id, "width").await.as_deref(), Some("1280"));
    assert_eq!(row(&app, id, "height").await.as_deref(), Some("720"));
    assert_eq!(row(&app, id, "duration_ms").await.as_deref(), Some("2500"));

    let mov = mp4_video(720, 1280, 10, 100, "qt  ");
    let mov_id = stored(&app, "reel.mov", mov).await;
    assert_eq!(
        row(&app, mov_id, "mime").await.as_deref(),
        Some("video/quicktime")
    );
    assert_eq!(
        row(&app, mov_id, "duration_ms").await.as_deref(),
        Some("1000")
    );

    // The grid and the item page say what it is.
    let (_, html) = app.get_html("/media").await;
    let facts = texts(&html, ".media-card .media-facts");
    assert!(
        facts[1].starts_with("MP4 · 1280 × 720 · 0:03 ·"),
        "{facts:?}"
    );
    let (_, page) = app.get_html(&format!("/media/{id}")).await;
    let details = texts(&page, ".media-details dd");
    assert!(details.contains(&"MP4 video".to_owned()), "{details:?}");
    assert!(details.contains(&"0:03".to_owned()));
    assert_eq!(texts(&page, ".media-preview video").len(), 1);

    // A neutral poster, not a frame: a PNG of the video's shape.
    let poster = app.get(&format!("/media/{id}/thumb")).await;
    assert_eq!(poster.headers()["content-type"], "image/png");
    let poster = image::load_from_memory(&poster.bytes().await.unwrap()).unwrap();
    assert_eq!((poster.width(), poster.height()), (400, 225));

    // Players ask for ranges.
    let part = app
        .client
        .get(app.url(&format!("/media/{id}/file")))
        .header("range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.headers()["content-range"].to_str().unwrap(),
        format!("bytes 100-199/{}", mp4.len())
    );
    assert_eq!(part.headers()["accept-ranges"], "bytes");
    assert!(part.headers().get("content-encoding").is_none());
    assert_eq!(part.bytes().await.unwrap().as_ref(), &mp4[100..200]);
}

#[tokio::test]
async fn uploading_the_same_file_again_returns_the_existing_item_and_says_so() {
    let (app, store) = library().await;
    let bytes = jpeg(120, 80, 4);
    let id = stored(&app, "mug.jpg", bytes.clone()).await;

    let again = upload_js(&app, "mug-copy.jpg", bytes.clone()).await;
    assert_eq!(again["status"], "duplicate");
    assert_eq!(again["id"], id.to_string());
    assert_eq!(
        again["message"],
        "Already in your library as “mug.jpg”, so nothing new was added."
    );

    let res = upload_form(&app, &[("mug.jpg", bytes)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = app.get_html("/media").await;
    assert_eq!(
        texts(&html, ".flash"),
        vec!["mug.jpg: Already in your library, so nothing new was added."]
    );
    assert_eq!(media_count(&app).await, 1);
    assert_eq!(files_in(store.path()).len(), 2);
}

#[tokio::test]
async fn bad_files_are_refused_with_a_clear_reason_and_nothing_is_stored() {
    let (app, store) = library().await;
    let mut truncated_jpeg = jpeg(200, 150, 6);
    truncated_jpeg.truncate(truncated_jpeg.len() / 2);
    let mut truncated_mp4 = mp4_video(640, 360, 10, 100, "isom");
    truncated_mp4.truncate(truncated_mp4.len() / 2);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "notes.jpg",
            b"Remember to order more mugs.\n".to_vec(),
            "Its name says JPEG, but this file isn't a JPEG photo (its contents are text). We accept JPEG, PNG, WebP and GIF photos and MP4 and MOV videos.",
        ),
        (
            "half.jpg",
            truncated_jpeg,
            "This JPEG photo is damaged or incomplete, so it can't be used.",
        ),
        (
            "scrambled.png",
            corrupt_png(),
            "This PNG photo is damaged or incomplete, so it can't be used.",
        ),
        ("nothing.png", Vec::new(), "This file is empty (0 bytes)."),
        (
            "bomb.png",
            png_bomb(),
            "This photo is 100,000 × 100,000 pixels, more than we can safely process (at most 12,000 pixels on a side and 80 megapixels).",
        ),
        (
            "logo.svg",
            SVG.to_vec(),
            "SVG drawings can't be used: the networks don't accept them, and SVG files can carry scripts.",
        ),
        (
            "menu.pdf",
            b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\n".to_vec(),
            "This isn't a photo or video we can use (its contents are a .pdf file).",
        ),
        (
            "cut.mp4",
            truncated_mp4,
            "This MP4 video is damaged or incomplete, so it can't be used.",
        ),
    ];
    for (name, bytes, message) in cases {
        let result = upload_js(&app, name, bytes).await;
        assert_eq!(result["status"], "refused", "{name}: {result}");
        assert_eq!(result["name"], name);
        let got = result["message"].as_str().unwrap();
        assert!(got.starts_with(message), "{name}: {got}");
        assert_eq!(media_count(&app).await, 0, "{name}: no row");
        assert!(files_in(store.path()).is_empty(), "{name}: no object");
    }
}

#[tokio::test]
async fn a_file_over_the_limit_is_refused_and_nothing_is_kept() {
    let (app, store) = library_with(|env| {
        env.insert("MEDIA_MAX_IMAGE_BYTES".into(), "3000".into());
        env.insert("MEDIA_MAX_VIDEO_BYTES".into(), "1MB".into());
    })
    .await;
    let big = png(64, 64, 8);
    assert!(big.len() > 3000);
    let result = upload_js(&app, "poster.png", big).await;
    assert_eq!(result["status"], "refused");
    assert_eq!(
        result["message"],
        "This file is larger than 3 KB, the most we accept for a photo. Save it at a smaller size and try again."
    );
    // The same limit doesn't apply to videos.
    stored(&app, "clip.mp4", mp4_video(320, 240, 40, 40, "isom")).await;
    assert_eq!(media_count(&app).await, 1);
    assert_eq!(files_in(store.path()).len(), 2);
    let (_, html) = app.get_html("/media").await;
    assert_eq!(
        texts(&html, ".upload-limits"),
        vec!["Photos: JPEG, PNG, WebP or GIF up to 3 KB. Videos: MP4 or MOV up to 1 MB."]
    );
}

#[tokio::test]
async fn several_files_at_once_each_get_their_own_result() {
    let (app, _store) = library().await;
    let res = upload_form(
        &app,
        &[
            ("front.jpg", jpeg(100, 100, 1)),
            ("notes.jpg", b"not a picture".to_vec()),
            ("back.png", png(50, 80, 2)),
            ("logo.svg", SVG.to_vec()),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/media");
    let (_, html) = app.get_html("/media").await;
    let flashes = texts(&html, ".flash");
    assert_eq!(flashes.len(), 3, "{flashes:?}");
    assert_eq!(
        flashes[0],
        "Added 2 files to your library: front.jpg, back.png."
    );
    assert!(
        flashes[1].starts_with("We couldn't add notes.jpg. Its name says JPEG"),
        "{flashes:?}"
    );
    assert!(flashes[2].starts_with("We couldn't add logo.svg. SVG drawings can't be used"));
    assert_eq!(
        texts(&html, ".media-card .media-name"),
        vec!["back.png", "front.jpg"]
    );
}

#[tokio::test]
async fn the_form_asks_for_a_file_when_none_was_chosen() {
    let (app, _store) = library().await;
    let token = app.csrf().await;
    let form = Form::new().part("file", Part::bytes(Vec::new()).file_name(""));
    let res = app
        .client
        .post(app.url(&format!("/media/upload?csrf_token={token}")))
        .headers(same_origin_headers(&app.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = app.get_html("/media").await;
    assert_eq!(
        texts(&html, ".flash"),
        vec!["Choose at least one photo or video to upload."]
    );
}

#[tokio::test]
async fn the_upload_form_needs_its_csrf_token() {
    let (app, store) = library().await;
    let without = app
        .client
        .post(app.url("/media/upload"))
        .headers(same_origin_headers(&app.base))
        .multipart(form_of(&[("mug.jpg", jpeg(40, 40, 1))]))
        .send()
        .await
        .unwrap();
    assert_eq!(without.status(), StatusCode::FORBIDDEN);
    let wrong = app
        .client
        .post(app.url("/media/upload?csrf_token=not-the-token"))
        .headers(same_origin_headers(&app.base))
        .multipart(form_of(&[("mug.jpg", jpeg(40, 40, 1))]))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    assert_eq!(media_count(&app).await, 0);
    assert!(files_in(store.path()).is_empty());
    // The header the script sends works as well as the query string.
    stored(&app, "mug.jpg", jpeg(40, 40, 1)).await;
}

// ---- the library ----

#[tokio::test]
async fn alt_text_can_be_written_changed_and_is_checked() {
    let (app, _store) = library().await;
    let id = stored(&app, "mug.jpg", jpeg(60, 60, 1)).await;
    let res = app
        .post_form(
            &format!("/media/{id}/alt"),
            &[("alt_text", "  A white mug with a red fox on it ")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("/media/{id}"));
    assert_eq!(
        row(&app, id, "alt_text").await.as_deref(),
        Some("A white mug with a red fox on it")
    );
    let (_, html) = app.get_html(&format!("/media/{id}")).await;
    assert_eq!(texts(&html, ".flash"), vec!["Alt text saved."]);
    assert_eq!(
        texts(&html, "textarea#alt_text"),
        vec!["A white mug with a red fox on it"]
    );
    let (_, grid) = app.get_html("/media").await;
    assert!(grid.contains(r#"alt="A white mug with a red fox on it""#));

    let long = "x".repeat(1001);
    let res = app
        .post_form(&format!("/media/{id}/alt"), &[("alt_text", &long)])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert_eq!(
        texts(&html, "#alt_text-error"),
        vec!["Alt text can be at most 1000 characters (this is 1001). Describe what matters most."]
    );
    assert_eq!(texts(&html, "textarea#alt_text"), vec![long]);
    assert_eq!(
        row(&app, id, "alt_text").await.as_deref(),
        Some("A white mug with a red fox on it")
    );
}

#[tokio::test]
async fn the_library_searches_names_and_alt_text_and_pages_through_results() {
    use sea_orm::ConnectionTrait as _;
    let (app, _store) = library().await;
    let user = current_user(&app).await;
    // Rows straight into the table: paging is about the list, not the files.
    let mut sql = String::new();
    for i in 0..30 {
        let (name, alt) = match i {
            3 => ("Blue-Vase_final.JPG".to_owned(), String::new()),
            7 => (
                "IMG_0007.jpg".to_owned(),
                "a blue vase on a shelf".to_owned(),
            ),
            9 => ("100%_cotton.png".to_owned(), String::new()),
            _ => (format!("IMG_{i:04}.jpg"), String::new()),
        };
        sql.push_str(&format!(
            "INSERT INTO media (id, user_id, kind, mime, size_bytes, width, height, sha256, storage_key, original_filename, alt_text, created_at) \
             VALUES ('{}', '{user}', 'image', 'image/jpeg', 1000, 10, 10, '{:064x}', 'k/{i}', '{name}', '{alt}', now() - interval '{i} minutes');",
            Uuid::now_v7(),
            i
        ));
    }
    app.db.execute_unprepared(&sql).await.unwrap();

    let (_, first) = app.get_html("/media").await;
    assert_eq!(texts(&first, ".media-card").len(), 24);
    assert_eq!(texts(&first, ".page-of"), vec!["Page 1 of 2"]);
    assert_eq!(texts(&first, ".media-count"), vec!["30 items"]);
    assert_eq!(texts(&first, ".media-card .media-name")[0], "IMG_0000.jpg");
    let (_, second) = app.get_html("/media?page=2").await;
    assert_eq!(texts(&second, ".media-card").len(), 6);
    assert_eq!(texts(&second, ".media-card .media-name")[5], "IMG_0029.jpg");
    assert_eq!(texts(&second, "a[rel=prev]"), vec!["Previous"]);
    assert!(texts(&second, "a[rel=next]").is_empty());

    let (_, found) = app.get_html("/media?q=BLUE").await;
    assert_eq!(
        texts(&found, ".media-card .media-name"),
        vec!["Blue-Vase_final.JPG", "IMG_0007.jpg"]
    );
    assert_eq!(
        texts(&found, ".media-count"),
        vec!["2 items matching “BLUE”"]
    );
    let (_, literal) = app.get_html("/media?q=100%25").await;
    assert_eq!(
        texts(&literal, ".media-card .media-name"),
        vec!["100%_cotton.png"]
    );
    let (_, none) = app.get_html("/media?q=zebra").await;
    assert!(texts(&none, ".empty-state")[0].starts_with("Nothing matches “zebra”"));
    let (_, nonsense) = app.get_html("/media?page=abc").await;
    assert_eq!(texts(&nonsense, ".media-card").len(), 24);
}

#[tokio::test]
async fn delete_is_refused_while_a_scheduled_post_uses_the_file_and_the_post_is_named() {
    let (app, store) = library().await;
    let id = stored(&app, "mug.jpg", jpeg(60, 60, 1)).await;
    let post = schedule_post_using(
        &app,
        id,
        "Our new fox mug is here, just in time for the holidays",
        "scheduled",
    )
    .await;

    let res = app.post_form(&format!("/media/{id}/delete"), &[]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let html = res.text().await.unwrap();
    assert_eq!(
        texts(&html, "#media-in-use li.in-use-post"),
        // 09:30 UTC is 10:30 in Berlin, the seller's time zone.
        vec!["“Our new fox mug is here, just in…” — scheduled for 3 Dec 2026, 10:30"]
    );
    assert_eq!(media_count(&app).await, 1);
    assert_eq!(files_in(store.path()).len(), 2);

    // Once the post has gone out, the file may go; the post keeps its text.
    use sea_orm::ConnectionTrait as _;
    app.db
        .execute_unprepared(&format!(
            "UPDATE posts SET status = 'published' WHERE id = '{post}'"
        ))
        .await
        .unwrap();
    let res = app.post_form(&format!("/media/{id}/delete"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(media_count(&app).await, 0);
    assert_eq!(app.scalar_i64("SELECT count(*) FROM posts").await, 1);
}

#[tokio::test]
async fn deleting_removes_the_row_and_the_stored_files() {
    let (app, store) = library().await;
    let keep = stored(&app, "keep.png", png(30, 30, 1)).await;
    let id = stored(&app, "mug.jpg", jpeg(60, 60, 1)).await;
    assert_eq!(files_in(store.path()).len(), 4);

    let (_, page) = app.get_html(&format!("/media/{id}")).await;
    assert_eq!(
        texts(&page, "section[aria-labelledby=delete-heading] summary"),
        vec!["Delete this file"]
    );
    let res = app.post_form(&format!("/media/{id}/delete"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/media");
    let (_, html) = app.get_html("/media").await;
    assert_eq!(texts(&html, ".flash"), vec!["Deleted mug.jpg."]);
    assert_eq!(media_count(&app).await, 1);
    let left = files_in(store.path());
    assert_eq!(left.len(), 2);
    assert!(left.iter().all(|f| f.contains(&keep.to_string())));
    assert_eq!(
        app.get(&format!("/media/{id}/file")).await.status(),
        StatusCode::NOT_FOUND
    );
}

// ---- links ----

#[tokio::test]
async fn a_signed_link_works_until_it_expires_and_not_when_tampered_with() {
    let (app, _store) = library().await;
    let bytes = jpeg(80, 60, 2);
    let id = stored(&app, "mug.jpg", bytes.clone()).await;
    let config = &app.state.config;
    let url = picscripter::media::signed_url(config, id, Duration::from_secs(600));
    assert!(url.starts_with(&format!("{}/m/{id}?exp=", app.base)));

    // A platform fetches it without any cookie.
    let platform = reqwest::Client::new();
    let res = platform.get(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/jpeg");
    assert_eq!(res.bytes().await.unwrap().as_ref(), bytes.as_slice());

    let fetch = |u: String| {
        let platform = platform.clone();
        async move { platform.get(u).send().await.unwrap() }
    };
    let mut tampered = url.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    let res = fetch(tampered).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body = res.text().await.unwrap();
    assert!(!body.contains("signature") && !body.contains("expired"));

    let other = Uuid::now_v7();
    assert_eq!(
        fetch(url.replace(&id.to_string(), &other.to_string()))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let longer = url.replace("exp=", "exp=9");
    assert_eq!(fetch(longer).await.status(), StatusCode::FORBIDDEN);

    let past = chrono::Utc::now().timestamp() - 5;
    let sig = picscripter::media::signed::signature(config, id, past);
    let expired = format!("{}/m/{id}?exp={past}&sig={sig}", app.base);
    assert_eq!(fetch(expired).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        fetch(format!("{}/m/{id}", app.base)).await.status(),
        StatusCode::FORBIDDEN
    );

    // A valid link to a deleted item is simply gone.
    let res = app.post_form(&format!("/media/{id}/delete"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(fetch(url).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn another_user_gets_404_for_everything() {
    let (app, store) = library().await;
    let id = stored(&app, "mug.jpg", jpeg(60, 60, 1)).await;
    app.post_form("/logout", &[]).await;
    app.signed_up_user().await;
    let token = api_token(&app).await;

    for path in ["", "/file", "/thumb"] {
        let res = app.get(&format!("/media/{id}{path}")).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "/media/{id}{path}");
    }
    let res = app
        .post_form(&format!("/media/{id}/alt"), &[("alt_text", "mine now")])
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app.post_form(&format!("/media/{id}/delete"), &[]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let (_, grid) = app.get_html("/media").await;
    assert!(texts(&grid, ".media-card").is_empty());

    let api = |method: reqwest::Method, path: String| {
        app.client
            .request(method, app.url(&path))
            .bearer_auth(&token)
    };
    for path in ["", "/file", "/thumb"] {
        let res = api(reqwest::Method::GET, format!("/api/v1/media/{id}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }
    let res = api(reqwest::Method::PATCH, format!("/api/v1/media/{id}"))
        .json(&json!({"alt_text": "mine now"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = api(reqwest::Method::DELETE, format!("/api/v1/media/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let list: Value = api(reqwest::Method::GET, "/api/v1/media".into())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 0);

    // The same bytes are a new item for this user, not the other user's.
    let mine = stored(&app, "mug.jpg", jpeg(60, 60, 1)).await;
    assert_ne!(mine, id);
    assert_eq!(row(&app, id, "alt_text").await.as_deref(), Some(""));
    assert_eq!(files_in(store.path()).len(), 4);
}

// ---- the API ----

async fn api_upload(app: &TestApp, token: &str, name: &str, bytes: Vec<u8>) -> Response {
    app.client
        .post(app.url("/api/v1/media"))
        .bearer_auth(token)
        .multipart(form_of(&[(name, bytes)]))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_api_uploads_lists_shows_edits_and_deletes_media() {
    let (app, store) = library().await;
    let token = api_token(&app).await;
    let bytes = png(64, 48, 3);

    let res = api_upload(&app, &token, "chart.png", bytes.clone()).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["kind"], "image");
    assert_eq!(created["mime"], "image/png");
    assert_eq!(created["size_bytes"], bytes.len());
    assert_eq!(created["width"], 64);
    assert_eq!(created["height"], 48);
    assert_eq!(created["duration_ms"], Value::Null);
    assert_eq!(created["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(created["alt_text"], "");
    assert_eq!(created["duplicate"], false);
    assert_eq!(
        created["thumbnail_url"],
        format!("{}/api/v1/media/{id}/thumb", app.base)
    );

    let again = api_upload(&app, &token, "chart-again.png", bytes.clone()).await;
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["id"], id.as_str());

    let video = api_upload(
        &app,
        &token,
        "clip.mp4",
        mp4_video(640, 360, 30, 100, "isom"),
    )
    .await;
    assert_eq!(video.status(), StatusCode::CREATED);
    let video: Value = video.json().await.unwrap();
    assert_eq!(video["duration_ms"], 3000);
    assert_eq!(video["thumbnail_is_placeholder"], true);

    let get = |path: String| app.client.get(app.url(&path)).bearer_auth(&token).send();
    let list: Value = get("/api/v1/media?per_page=1".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 2);
    assert_eq!(list["total_pages"], 2);
    assert_eq!(list["media"][0]["id"], video["id"]);
    let found: Value = get("/api/v1/media?q=chart".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["media"].as_array().map(Vec::len), Some(1), "{found}");

    let one: Value = get(format!("/api/v1/media/{id}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["original_filename"], "chart.png");
    assert!(one.get("duplicate").is_none());
    let file = get(format!("/api/v1/media/{id}/file")).await.unwrap();
    assert_eq!(file.bytes().await.unwrap().as_ref(), bytes.as_slice());

    let patched = app
        .client
        .patch(app.url(&format!("/api/v1/media/{id}")))
        .bearer_auth(&token)
        .json(&json!({"alt_text": "Sales by month, rising"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    let patched: Value = patched.json().await.unwrap();
    assert_eq!(patched["alt_text"], "Sales by month, rising");

    let deleted = app
        .client
        .delete(app.url(&format!("/api/v1/media/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        get(format!("/api/v1/media/{id}")).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        files_in(store.path()).len(),
        2,
        "only the video and its poster are left"
    );
}

#[tokio::test]
async fn the_api_names_the_field_in_its_errors() {
    let (app, store) = library_with(|env| {
        env.insert("MEDIA_MAX_IMAGE_BYTES".into(), "2KB".into());
    })
    .await;
    let token = api_token(&app).await;

    let res = api_upload(&app, &token, "notes.jpg", b"hello".to_vec()).await;
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unsupported_type");
    assert!(
        body["error"]["fields"]["file"]
            .as_str()
            .unwrap()
            .starts_with("Its name says JPEG")
    );

    let big = png(128, 128, 1);
    assert!(big.len() > 2000);
    let res = api_upload(&app, &token, "big.png", big).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "file_too_large");
    assert!(
        body["error"]["fields"]["file"]
            .as_str()
            .unwrap()
            .contains("larger than 2 KB")
    );

    let res = api_upload(&app, &token, "bomb.png", png_bomb()).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_pixels");

    let res = app
        .client
        .post(app.url("/api/v1/media"))
        .bearer_auth(&token)
        .multipart(Form::new().text("caption", "no file here"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["error"]["fields"]["file"],
        "Attach the photo or video as a multipart field named file."
    );

    let res = app
        .client
        .post(app.url("/api/v1/media"))
        .multipart(form_of(&[("a.png", png(8, 8, 1))]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(media_count(&app).await, 0);
    assert!(files_in(store.path()).is_empty());

    let id = {
        let res = api_upload(&app, &token, "small.png", png(8, 8, 1)).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .parse::<Uuid>()
            .unwrap()
    };
    let res = app
        .client
        .patch(app.url(&format!("/api/v1/media/{id}")))
        .bearer_auth(&token)
        .json(&json!({"alt_text": "y".repeat(1001)}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"]["fields"]["alt_text"]
            .as_str()
            .unwrap()
            .starts_with("Alt text can be at most 1000")
    );

    schedule_post_using(&app, id, "Tiny preview", "scheduled").await;
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/media/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("“Tiny preview” (3 Dec 2026, 10:30 CET)"),
        "{body}"
    );
    assert_eq!(media_count(&app).await, 1);
}
