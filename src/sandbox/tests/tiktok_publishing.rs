use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;
use crate::sandbox::tiktok::open_id;

const P: Platform = Platform::Tiktok;
const SEED: &str = "mapleandmoss";
const POSTING: &[&str] = &["user.info.basic", "video.publish", "video.upload"];

fn api(h: &Harness, path: &str) -> String {
    h.url(P, &format!("open.tiktokapis.com/v2/post/publish/{path}"))
}

async fn call(h: &Harness, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    h.get_json(
        h.http
            .post(api(h, path))
            .bearer_auth(token)
            .header("content-type", "application/json; charset=UTF-8")
            .body(body.to_string()),
    )
    .await
}

fn file_upload(privacy: &str, size: usize, chunk: usize, count: usize) -> Value {
    json!({
        "post_info": { "title": "Trimming a bowl #pottery", "privacy_level": privacy, "disable_duet": false, "disable_comment": true, "disable_stitch": false, "video_cover_timestamp_ms": 1000 },
        "source_info": { "source": "FILE_UPLOAD", "video_size": size, "chunk_size": chunk, "total_chunk_count": count },
    })
}

/// Starts a FILE_UPLOAD post; returns `(publish_id, sandbox upload URL)`.
async fn init_upload(h: &Harness, token: &str, body: Value) -> (String, String) {
    let (status, answer) = call(h, token, "video/init/", body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["error"]["code"], "ok");
    let upload_url = answer["data"]["upload_url"].as_str().unwrap();
    assert!(
        upload_url.starts_with("https://open-upload.tiktokapis.com/video/?upload_id="),
        "{upload_url}"
    );
    (
        answer["data"]["publish_id"].as_str().unwrap().to_owned(),
        h.url(P, upload_url.strip_prefix("https://").unwrap()),
    )
}

async fn put_chunk(h: &Harness, url: &str, bytes: &[u8], first: usize, total: usize) -> StatusCode {
    h.http
        .put(url)
        .header("content-type", "video/mp4")
        .header(
            "content-range",
            format!("bytes {first}-{}/{total}", first + bytes.len() - 1),
        )
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap()
        .status()
}

async fn status(h: &Harness, token: &str, publish_id: &str) -> Value {
    let (code, body) = call(
        h,
        token,
        "status/fetch/",
        json!({ "publish_id": publish_id }),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["error"]["code"], "ok");
    body["data"].clone()
}

/// Polls until the publish is no longer processing (pulls are real downloads).
async fn settled(h: &Harness, token: &str, publish_id: &str) -> Value {
    for _ in 0..300 {
        let data = status(h, token, publish_id).await;
        if !data["status"].as_str().unwrap().starts_with("PROCESSING") {
            return data;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{publish_id} stayed processing");
}

#[tokio::test]
async fn creator_info_offers_privacy_levels_and_a_post_must_use_one_of_them() {
    let h = Harness::start().await;
    let token = h.token(P, SEED, POSTING);
    let (code, info) = call(&h, &token, "creator_info/query/", json!({})).await;
    assert_eq!(code, StatusCode::OK, "{info}");
    assert_eq!(
        info["data"]["privacy_level_options"],
        json!(["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"])
    );
    assert_eq!(info["data"]["creator_username"], SEED);
    assert!(info["error"]["log_id"].as_str().unwrap().len() > 14);

    let private = h.token(P, "quiet.private.potter", POSTING);
    let (_, info) = call(&h, &private, "creator_info/query/", json!({})).await;
    assert_eq!(
        info["data"]["privacy_level_options"],
        json!(["FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"])
    );
    let (code, body) = call(
        &h,
        &private,
        "video/init/",
        file_upload("PUBLIC_TO_EVERYONE", 4096, 4096, 1),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "privacy_level_option_mismatch");
    assert_eq!(body["data"], json!({}));
    let (code, body) = call(
        &h,
        &token,
        "video/init/",
        file_upload("EVERYONE", 4096, 4096, 1),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "privacy_level_option_mismatch");
}

#[tokio::test]
async fn a_small_public_video_is_uploaded_whole_and_gets_a_public_post_id() {
    let h = Harness::start().await;
    let token = h.token(P, SEED, POSTING);
    let video = mp4(4096);
    let (publish_id, url) =
        init_upload(&h, &token, file_upload("PUBLIC_TO_EVERYONE", 4096, 4096, 1)).await;
    let before = status(&h, &token, &publish_id).await;
    assert_eq!(before["status"], "PROCESSING_UPLOAD");
    assert_eq!(before["uploaded_bytes"], 0);
    assert!(h.published("tiktok").await.is_empty());

    assert_eq!(
        put_chunk(&h, &url, &video, 0, 4096).await,
        StatusCode::CREATED
    );
    let done = status(&h, &token, &publish_id).await;
    assert_eq!(done["status"], "PUBLISH_COMPLETE", "{done}");
    assert_eq!(done["uploaded_bytes"], 4096);
    let post_id = done["publicaly_available_post_id"][0].as_i64().unwrap();

    let records = h.published("tiktok").await;
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r["remote_id"], post_id.to_string());
    assert_eq!(
        r["url"],
        format!("https://www.tiktok.com/@{SEED}/video/{post_id}")
    );
    assert_eq!(r["account_id"], open_id(&id(P), SEED));
    assert_eq!(r["text"], "Trimming a bowl #pottery");
    assert_eq!(r["options"]["publish_id"], publish_id);
    assert_eq!(r["options"]["disable_comment"], true);
    assert_eq!(r["media"][0]["mime"], "video/mp4");
    assert_eq!(r["media"][0]["size"], 4096);
}

#[tokio::test]
async fn a_private_post_is_complete_without_a_public_post_id() {
    let h = Harness::start().await;
    let token = h.token(P, SEED, POSTING);
    // Processing takes a while: the status stays PROCESSING_UPLOAD until it is done.
    h.fault(
        json!({ "platform": "tiktok", "path": "video/init/", "processing_secs": 20, "times": 1 }),
    )
    .await;
    let (publish_id, url) = init_upload(&h, &token, file_upload("SELF_ONLY", 2048, 2048, 1)).await;
    assert_eq!(
        put_chunk(&h, &url, &mp4(2048), 0, 2048).await,
        StatusCode::CREATED
    );
    let data = status(&h, &token, &publish_id).await;
    assert_eq!(data["status"], "PROCESSING_UPLOAD");
    assert_eq!(data["uploaded_bytes"], 2048);
    assert_eq!(
        h.published("tiktok").await.len(),
        1,
        "accepted once the bytes are in"
    );
    h.sandbox.advance_clock(21);
    let data = status(&h, &token, &publish_id).await;
    assert_eq!(data["status"], "PUBLISH_COMPLETE");
    assert_eq!(data["publicaly_available_post_id"], json!([]));
}

#[tokio::test]
async fn a_large_video_goes_up_in_ordered_chunks_the_last_one_taking_the_remainder() {
    let h = Harness::start().await;
    let token = h.token(P, SEED, POSTING);
    let size = 12_000_000;
    let chunk = 5_000_000;
    let video = mp4(size);
    let (publish_id, url) = init_upload(
        &h,
        &token,
        file_upload("MUTUAL_FOLLOW_FRIENDS", size, chunk, 2),
    )
    .await;
    // Out of order, or cut at the wrong place: refused.
    assert_eq!(
        put_chunk(&h, &url, &video[chunk..], chunk, size).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        put_chunk(&h, &url, &video[..1_000_000], 0, size).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        put_chunk(&h, &url, &video[..chunk], 0, size).await,
        StatusCode::PARTIAL_CONTENT
    );
    let data = status(&h, &token, &publish_id).await;
    assert_eq!(data["status"], "PROCESSING_UPLOAD");
    assert_eq!(data["uploaded_bytes"], chunk);
    // The same chunk again (its answer was lost) changes nothing.
    assert_eq!(
        put_chunk(&h, &url, &video[..chunk], 0, size).await,
        StatusCode::PARTIAL_CONTENT
    );
    // The total must be the declared video_size; the type must be a video.
    assert_eq!(
        put_chunk(&h, &url, &video[chunk..], chunk, size + 1).await,
        StatusCode::BAD_REQUEST
    );
    let res = h
        .http
        .put(&url)
        .header("content-type", "application/octet-stream")
        .header(
            "content-range",
            format!("bytes {chunk}-{}/{size}", size - 1),
        )
        .body(video[chunk..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        put_chunk(&h, &url, &video[chunk..], chunk, size).await,
        StatusCode::CREATED
    );
    assert_eq!(
        status(&h, &token, &publish_id).await["status"],
        "PUBLISH_COMPLETE"
    );
    let records = h.published("tiktok").await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["media"][0]["size"], size);
    assert_eq!(
        records[0]["media"][0]["sha256"],
        crate::sandbox::media::Facts::of(&video).sha256
    );
}

#[tokio::test]
async fn video_init_checks_its_body_against_the_documented_rules() {
    let h = Harness::start().await;
    let token = h.token(P, SEED, POSTING);
    let refused = |code: StatusCode, body: &Value, words: &str| {
        assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"]["code"], "invalid_params", "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(words), "{words:?} in {message}");
    };
    for (size, chunk, count, words) in [
        (3_000_000, 1_000_000, 3, "must be sent whole"),
        (
            50_000_123,
            10_000_000,
            6,
            "floor(video_size / chunk_size) = 5",
        ),
        (200_000_000, 200_000_000, 1, "must be sent in chunks"),
        (300_000_000, 100_000_000, 3, "5 MB to 64 MB"),
        (4096, 8192, 1, "chunk_size = video_size"),
    ] {
        let (code, body) = call(
            &h,
            &token,
            "video/init/",
            file_upload("SELF_ONLY", size, chunk, count),
        )
        .await;
        refused(code, &body, words);
    }
    let (code, body) = call(
        &h,
        &token,
        "video/init/",
        json!({ "post_info": { "privacy_level": "SELF_ONLY" } }),
    )
    .await;
    refused(code, &body, "source_info");
    let (code, body) = call(
        &h,
        &token,
        "video/init/",
        json!({ "post_info": { "privacy_level": "SELF_ONLY", "title": "é".repeat(2201) }, "source_info": { "source": "PULL_FROM_URL", "video_url": "https://example.com/v.mp4" } }),
    )
    .await;
    refused(code, &body, "at most 2200");
    let (code, body) = call(
        &h,
        &token,
        "video/init/",
        json!({ "post_info": { "privacy_level": "SELF_ONLY", "disable_duet": "no" }, "source_info": { "source": "PULL_FROM_URL", "video_url": "https://example.com/v.mp4" } }),
    )
    .await;
    refused(code, &body, "disable_duet must be a boolean");
    let (code, body) = call(
        &h,
        &token,
        "video/init/",
        json!({ "post_info": { "privacy_level": "SELF_ONLY" }, "source_info": { "source": "PULL_FROM_URL", "video_url": "ftp://example.com/v.mp4" } }),
    )
    .await;
    refused(code, &body, "video_url");
    let res = h
        .http
        .post(api(&h, "video/init/"))
        .bearer_auth(&token)
        .body(file_upload("SELF_ONLY", 4096, 4096, 1).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "JSON only");
}

#[tokio::test]
async fn photos_are_pulled_from_their_urls_and_only_jpeg_or_webp_are_published() {
    let h = Harness::start().await;
    let media = MediaServer::start().await;
    let token = h.token(P, SEED, POSTING);
    let photos = |urls: Vec<String>| {
        json!({
            "media_type": "PHOTO",
            "post_mode": "DIRECT_POST",
            "post_info": { "title": "Plates", "description": "Plates in the light #ceramics", "privacy_level": "PUBLIC_TO_EVERYONE", "disable_comment": false, "auto_add_music": true },
            "source_info": { "source": "PULL_FROM_URL", "photo_cover_index": 1, "photo_images": urls },
        })
    };
    let (code, body) = call(
        &h,
        &token,
        "content/init/",
        photos(vec![media.url("/square.jpg"), media.url("/square.webp")]),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let publish_id = body["data"]["publish_id"].as_str().unwrap().to_owned();
    assert!(publish_id.starts_with("p_pub_url~v2."));
    let data = settled(&h, &token, &publish_id).await;
    assert_eq!(data["status"], "PUBLISH_COMPLETE", "{data}");
    let post_id = data["publicaly_available_post_id"][0].as_i64().unwrap();
    assert!(data["downloaded_bytes"].as_u64().unwrap() > 0);
    let records = h.published("tiktok").await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["kind"], "photo");
    assert_eq!(
        records[0]["url"],
        format!("https://www.tiktok.com/@{SEED}/photo/{post_id}")
    );
    assert_eq!(
        records[0]["text"],
        "Plates\n\nPlates in the light #ceramics"
    );
    assert_eq!(records[0]["media"].as_array().unwrap().len(), 2);

    for (urls, reason) in [
        (
            vec![media.url("/square.jpg"), media.url("/square.png")],
            "file_format_check_failed",
        ),
        (
            vec![media.url("/square.jpg"), dead_url().await],
            "photo_pull_failed",
        ),
        (
            vec![media.url("/private/square.jpg"), media.url("/square.jpg")],
            "photo_pull_failed",
        ),
    ] {
        let (code, body) = call(&h, &token, "content/init/", photos(urls)).await;
        assert_eq!(code, StatusCode::OK, "{body}");
        let data = settled(&h, &token, body["data"]["publish_id"].as_str().unwrap()).await;
        assert_eq!(data["status"], "FAILED");
        assert_eq!(data["fail_reason"], reason);
    }
    assert_eq!(
        h.published("tiktok").await.len(),
        1,
        "failed posts are not published"
    );

    let refused = |code: StatusCode, body: &Value| {
        assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"]["code"], "invalid_params", "{body}");
    };
    let mut file = photos(vec![media.url("/square.jpg")]);
    file["source_info"]["source"] = json!("FILE_UPLOAD");
    let (code, body) = call(&h, &token, "content/init/", file).await;
    refused(code, &body);
    let mut video = photos(vec![media.url("/square.jpg")]);
    video["media_type"] = json!("VIDEO");
    let (code, body) = call(&h, &token, "content/init/", video).await;
    refused(code, &body);
    let (code, body) = call(
        &h,
        &token,
        "content/init/",
        photos(vec![media.url("/square.jpg"); 36]),
    )
    .await;
    refused(code, &body);
    let mut long = photos(vec![media.url("/square.jpg"), media.url("/square.webp")]);
    long["post_info"]["title"] = json!("t".repeat(91));
    let (code, body) = call(&h, &token, "content/init/", long).await;
    refused(code, &body);
    let (code, body) = call(
        &h,
        &token,
        "content/init/",
        photos(vec![media.url("/square.jpg")]),
    )
    .await;
    refused(code, &body); // photo_cover_index 1 of one photo
}

#[tokio::test]
async fn a_lost_answer_to_the_final_chunk_is_found_out_with_the_status_endpoint() {
    let h = Harness::start().await;
    let token = h.token(P, SEED, POSTING);
    let (publish_id, url) = init_upload(&h, &token, file_upload("SELF_ONLY", 4096, 4096, 1)).await;
    h.fault(json!({ "platform": "tiktok", "path": "open-upload.tiktokapis.com", "method": "PUT", "timeout_after_accept": true, "timeout_secs": 5, "times": 1 }))
        .await;
    let lost = h
        .http
        .put(&url)
        .timeout(Duration::from_millis(300))
        .header("content-type", "video/mp4")
        .header("content-range", "bytes 0-4095/4096")
        .body(mp4(4096))
        .send()
        .await;
    assert!(lost.is_err(), "the answer never came");
    let data = status(&h, &token, &publish_id).await;
    assert_eq!(data["status"], "PUBLISH_COMPLETE", "{data}");
    assert_eq!(h.published("tiktok").await.len(), 1);
    // Sending the final chunk again does not publish twice.
    assert_eq!(
        put_chunk(&h, &url, &mp4(4096), 0, 4096).await,
        StatusCode::CREATED
    );
    assert_eq!(h.published("tiktok").await.len(), 1);
    assert_eq!(h.duplicates().await["extra_publications"], 0);
}

#[tokio::test]
async fn tiktok_answers_token_scope_and_ownership_problems_in_its_envelope() {
    let h = Harness::start().await;
    let token = h.token(P, SEED, POSTING);
    let (code, body) = call(&h, "act.nope", "creator_info/query/", json!({})).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "access_token_invalid");
    let basic = h.token(P, SEED, &["user.info.basic"]);
    let (code, body) = call(
        &h,
        &basic,
        "video/init/",
        file_upload("SELF_ONLY", 4096, 4096, 1),
    )
    .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "scope_not_authorized");

    let (publish_id, url) = init_upload(&h, &token, file_upload("SELF_ONLY", 4096, 4096, 1)).await;
    let other = h.token(P, "someone.else", POSTING);
    let (code, body) = call(
        &h,
        &other,
        "status/fetch/",
        json!({ "publish_id": publish_id }),
    )
    .await;
    assert_eq!(
        code,
        StatusCode::BAD_REQUEST,
        "another account's publish: {body}"
    );
    let (code, _) = call(&h, &token, "status/fetch/", json!({})).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let forged = url.replace("upload_token=", "upload_token=x");
    assert_eq!(
        put_chunk(&h, &forged, &mp4(4096), 0, 4096).await,
        StatusCode::FORBIDDEN
    );
    // Bytes that are not a video: the upload completes, the publish fails.
    assert_eq!(
        put_chunk(&h, &url, &[7u8; 4096], 0, 4096).await,
        StatusCode::CREATED
    );
    let data = status(&h, &token, &publish_id).await;
    assert_eq!(data["status"], "FAILED");
    assert_eq!(data["fail_reason"], "file_format_check_failed");
    assert!(h.published("tiktok").await.is_empty());
}
