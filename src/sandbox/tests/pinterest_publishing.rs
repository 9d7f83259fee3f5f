use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use super::*;
use crate::sandbox::pinterest::user_id;

const P: Platform = Platform::Pinterest;
const SEED: &str = "mapleandmoss";
const PINNING: &[&str] = &["boards:read", "boards:write", "pins:read", "pins:write"];

fn api(h: &Harness, path: &str) -> String {
    h.url(P, &format!("api.pinterest.com/v5{path}"))
}

async fn pin(h: &Harness, token: &str, body: Value) -> (StatusCode, Value) {
    h.get_json(h.http.post(api(h, "/pins")).bearer_auth(token).json(&body))
        .await
}

/// The ids of the account's public boards, in order.
async fn boards(h: &Harness, token: &str) -> Vec<String> {
    let (status, page) = h
        .get_json(h.http.get(api(h, "/boards")).bearer_auth(token))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_pin_is_made_from_an_image_url_on_one_of_the_users_boards_and_recorded() {
    let h = Harness::start().await;
    let media = MediaServer::start().await;
    let token = h.token(P, SEED, PINNING);
    let board = boards(&h, &token).await.remove(0);
    let url = media.url("/portrait.jpg");
    let (status, body) = pin(
        &h,
        &token,
        json!({
            "board_id": board,
            "title": "Speckled mug",
            "description": "Stoneware, glazed by hand",
            "link": "https://maple-and-moss.example/mugs",
            "alt_text": "A speckled mug on a shelf",
            "media_source": { "source_type": "image_url", "url": url },
        }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().unwrap();
    assert!(id.len() >= 15 && id.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(body["board_id"], board);
    assert_eq!(body["board_owner"]["username"], SEED);
    assert_eq!(body["creative_type"], "REGULAR");
    assert_eq!(body["media"]["media_type"], "image");
    assert_eq!(body["title"], "Speckled mug");

    let records = h.published("pinterest").await;
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r["remote_id"], id);
    assert_eq!(r["url"], format!("https://www.pinterest.com/pin/{id}/"));
    assert_eq!(r["account_id"], user_id(SEED));
    assert_eq!(r["kind"], "pin");
    assert_eq!(r["text"], "Speckled mug\n\nStoneware, glazed by hand");
    assert_eq!(r["options"]["board_id"], board);
    assert_eq!(r["options"]["link"], "https://maple-and-moss.example/mugs");
    let m = &r["media"][0];
    assert_eq!(m["url"], url);
    assert_eq!(m["mime"], "image/jpeg");
    assert_eq!(
        (m["width"].as_u64(), m["height"].as_u64()),
        (Some(320), Some(400))
    );
    assert_eq!(m["sha256"].as_str().unwrap().len(), 64);
}

#[tokio::test]
async fn base64_images_and_carousels_of_two_to_five_images_make_pins_too() {
    let h = Harness::start().await;
    let media = MediaServer::start().await;
    let token = h.token(P, SEED, PINNING);
    let board = boards(&h, &token).await.remove(1);
    let data = STANDARD.encode(jpeg(40, 60));
    let (status, body) = pin(
        &h,
        &token,
        json!({ "board_id": board, "media_source": { "source_type": "image_base64", "content_type": "image/jpeg", "data": data } }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let items = json!([
        { "url": media.url("/square.jpg"), "title": "One" },
        { "url": media.url("/square.webp"), "link": "https://maple-and-moss.example/2" },
    ]);
    let (status, body) = pin(
        &h,
        &token,
        json!({ "board_id": board, "title": "The set", "media_source": { "source_type": "multiple_image_urls", "items": items } }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["creative_type"], "CAROUSEL");
    let records = h.published("pinterest").await;
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["media"][0]["width"], 40);
    let mimes: Vec<&str> = records[1]["media"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mime"].as_str().unwrap())
        .collect();
    assert_eq!(mimes, ["image/jpeg", "image/webp"]);

    let one = json!([{ "url": media.url("/square.jpg") }]);
    let (status, body) = pin(
        &h,
        &token,
        json!({ "board_id": board, "media_source": { "source_type": "multiple_image_urls", "items": one } }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["message"].as_str().unwrap().contains("2 to 5"));
}

#[tokio::test]
async fn pinterest_checks_the_token_the_board_the_fields_and_the_media_source() {
    let h = Harness::start().await;
    let media = MediaServer::start().await;
    let token = h.token(P, SEED, PINNING);
    let board = boards(&h, &token).await.remove(0);
    let image = json!({ "source_type": "image_url", "url": media.url("/square.jpg") });

    // The token.
    let (status, body) = h
        .get_json(
            h.http
                .post(api(&h, "/pins"))
                .bearer_auth("nope")
                .json(&json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({ "code": 2, "message": "Authentication failed." })
    );
    let reader = h.token(P, SEED, &["boards:read", "pins:read"]);
    let (status, body) = pin(
        &h,
        &reader,
        json!({ "board_id": board, "media_source": image }),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["message"].as_str().unwrap().contains("pins:write"));

    let refused = |status: StatusCode, body: &Value, words: &str| {
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["code"], 1, "{body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(words), "{words:?} in {message}");
    };
    let (s, b) = pin(&h, &token, json!({ "media_source": image })).await;
    refused(s, &b, "board_id");
    let (s, b) = pin(&h, &token, json!({ "board_id": 42, "media_source": image })).await;
    refused(s, &b, "board_id");
    let (s, b) = pin(&h, &token, json!({ "board_id": board })).await;
    refused(s, &b, "media_source");
    let (s, b) = pin(
        &h,
        &token,
        json!({ "board_id": board, "title": "x".repeat(101), "media_source": image }),
    )
    .await;
    refused(s, &b, "at most 100");
    let (s, b) = pin(
        &h,
        &token,
        json!({ "board_id": board, "description": "d".repeat(801), "media_source": image }),
    )
    .await;
    refused(s, &b, "at most 800");
    let (s, b) = pin(
        &h,
        &token,
        json!({ "board_id": board, "link": 7, "media_source": image }),
    )
    .await;
    refused(s, &b, "link must be a string");
    let (s, b) = pin(
        &h,
        &token,
        json!({ "board_id": board, "media_source": { "source_type": "image_base64", "content_type": "image/jpeg", "data": format!("data:image/jpeg;base64,{}", STANDARD.encode(jpeg(8, 8))) } }),
    )
    .await;
    refused(s, &b, "without a data: prefix");
    let (s, b) = pin(
        &h,
        &token,
        json!({ "board_id": board, "media_source": { "source_type": "image_base64", "content_type": "image/webp", "data": "AAAA" } }),
    )
    .await;
    refused(s, &b, "image/jpeg or image/png");
    let (s, b) = pin(
        &h,
        &token,
        json!({ "board_id": board, "media_source": { "source_type": "image_url", "url": dead_url().await } }),
    )
    .await;
    refused(s, &b, "could not fetch the image");
    let (s, b) = pin(
        &h,
        &token,
        json!({ "board_id": board, "media_source": { "source_type": "image_url", "url": media.url("/page.html") } }),
    )
    .await;
    refused(s, &b, "not an image");
    let (s, b) = pin(
        &h,
        &token,
        json!({ "board_id": board, "media_source": { "source_type": "pin_url" } }),
    )
    .await;
    refused(s, &b, "beta");
    let (s, b) = pin(
        &h,
        &token,
        json!({ "board_id": board, "media_source": { "source_type": "image" } }),
    )
    .await;
    refused(s, &b, "source_type");

    // Another account's board, and sections the sandbox's boards do not have.
    let other = boards(&h, &h.token(P, "someone.else", PINNING))
        .await
        .remove(0);
    let (status, body) = pin(
        &h,
        &token,
        json!({ "board_id": other, "media_source": image }),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["message"], "Board not found.");
    let (status, _) = pin(
        &h,
        &token,
        json!({ "board_id": board, "board_section_id": "123", "media_source": image }),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        h.published("pinterest").await.is_empty(),
        "nothing was pinned"
    );
}

/// Registers a video upload; returns `(media_id, upload_url, upload_parameters)`.
async fn register(h: &Harness, token: &str) -> (String, String, Vec<(String, String)>) {
    let (status, body) = h
        .get_json(
            h.http
                .post(api(h, "/media"))
                .bearer_auth(token)
                .json(&json!({ "media_type": "video" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let params = body["upload_parameters"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    (
        body["media_id"].as_str().unwrap().to_owned(),
        body["upload_url"].as_str().unwrap().to_owned(),
        params,
    )
}

/// The S3 form upload, as a client sends it through the sandbox.
async fn send_file(
    h: &Harness,
    upload_url: &str,
    params: &[(String, String)],
    bytes: Vec<u8>,
) -> reqwest::Response {
    let mut form = Form::new();
    for (k, v) in params {
        form = form.text(k.clone(), v.clone());
    }
    form = form.part("file", Part::bytes(bytes).file_name("video.mp4"));
    let target = h.url(P, upload_url.strip_prefix("https://").unwrap());
    h.http.post(target).multipart(form).send().await.unwrap()
}

async fn media_status(h: &Harness, token: &str, id: &str) -> Value {
    let (status, body) = h
        .get_json(
            h.http
                .get(api(h, &format!("/media/{id}")))
                .bearer_auth(token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn a_video_is_registered_uploaded_to_the_upload_url_processed_then_pinned() {
    let h = Harness::start().await;
    let token = h.token(P, SEED, PINNING);
    let board = boards(&h, &token).await.remove(2);
    let (id, upload_url, params) = register(&h, &token).await;
    assert_eq!(
        upload_url,
        "https://pinterest-media-upload.s3-accelerate.amazonaws.com/"
    );
    for key in [
        "key",
        "policy",
        "x-amz-signature",
        "x-amz-credential",
        "Content-Type",
    ] {
        assert!(params.iter().any(|(k, _)| k == key), "{key} in {params:?}");
    }
    assert_eq!(media_status(&h, &token, &id).await["status"], "registered");
    let video =
        json!({ "source_type": "video_id", "media_id": id, "cover_image_key_frame_time": 0 });
    let (status, body) = pin(
        &h,
        &token,
        json!({ "board_id": board, "media_source": video }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "not uploaded yet: {body}");
    assert!(body["message"].as_str().unwrap().contains("registered"));

    // A form missing one of the parameters is refused by the upload host, in S3's words.
    let partial: Vec<_> = params
        .iter()
        .filter(|(k, _)| k != "policy")
        .cloned()
        .collect();
    let res = send_file(&h, &upload_url, &partial, mp4(4096)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("<Code>AccessDenied</Code>")
    );

    h.fault(json!({ "platform": "pinterest", "path": "s3-accelerate", "processing_secs": 30, "times": 1 }))
        .await;
    let res = send_file(&h, &upload_url, &params, mp4(4096)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(media_status(&h, &token, &id).await["status"], "processing");
    h.sandbox.advance_clock(31);
    assert_eq!(media_status(&h, &token, &id).await["status"], "succeeded");

    let no_cover = json!({ "source_type": "video_id", "media_id": id });
    let (status, body) = pin(
        &h,
        &token,
        json!({ "board_id": board, "media_source": no_cover }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("cover_image_url")
    );
    let (status, body) = pin(
        &h,
        &token,
        json!({ "board_id": board, "title": "Throwing", "media_source": video }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["creative_type"], "VIDEO");
    let records = h.published("pinterest").await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["media"][0]["id"], id);
    assert_eq!(records[0]["media"][0]["mime"], "video/mp4");
    assert_eq!(records[0]["media"][0]["size"], 4096);

    // Another user cannot see or use it.
    let other = h.token(P, "someone.else", PINNING);
    let (status, _) = h
        .get_json(
            h.http
                .get(api(&h, &format!("/media/{id}")))
                .bearer_auth(&other),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_upload_that_is_not_a_video_fails_processing_and_cannot_be_pinned() {
    let h = Harness::start().await;
    let token = h.token(P, SEED, PINNING);
    let board = boards(&h, &token).await.remove(0);
    let (id, upload_url, params) = register(&h, &token).await;
    let res = send_file(&h, &upload_url, &params, jpeg(16, 16)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(media_status(&h, &token, &id).await["status"], "failed");
    let video = json!({ "source_type": "video_id", "media_id": id, "cover_image_url": "https://example.com/c.jpg" });
    let (status, _) = pin(
        &h,
        &token,
        json!({ "board_id": board, "media_source": video }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, body) = h
        .get_json(
            h.http
                .post(api(&h, "/media"))
                .bearer_auth(&token)
                .json(&json!({ "media_type": "image" })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(h.published("pinterest").await.is_empty());
}
