use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;
use crate::sandbox::youtube::channel_id;

const P: Platform = Platform::Youtube;
const SEED: &str = "mapleandmoss";
const UPLOAD: &str = "https://www.googleapis.com/auth/youtube.upload";
const KIB256: usize = 256 * 1024;

fn start_url(h: &Harness, query: &str) -> String {
    format!(
        "{}?{query}",
        h.url(P, "www.googleapis.com/upload/youtube/v3/videos")
    )
}

fn metadata() -> Value {
    json!({
        "snippet": { "title": "How we glaze a mug", "description": "Dipping, pouring, firing.", "tags": ["pottery", "glaze"], "categoryId": "22" },
        "status": { "privacyStatus": "unlisted", "selfDeclaredMadeForKids": false },
    })
}

async fn start_with(
    h: &Harness,
    token: &str,
    query: &str,
    body: Value,
    len: usize,
    kind: &str,
) -> reqwest::Response {
    h.http
        .post(start_url(h, query))
        .bearer_auth(token)
        .header("content-type", "application/json; charset=UTF-8")
        .header("x-upload-content-length", len.to_string())
        .header("x-upload-content-type", kind)
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

/// Opens a session; returns its sandbox URL (from `Location`).
async fn session(h: &Harness, token: &str, len: usize) -> String {
    let res = start_with(
        h,
        token,
        "uploadType=resumable&part=snippet%2Cstatus",
        metadata(),
        len,
        "video/mp4",
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(
            "https://www.googleapis.com/upload/youtube/v3/videos?uploadType=resumable&part=snippet%2Cstatus&upload_id="
        ),
        "{location}"
    );
    assert!(res.text().await.unwrap().is_empty());
    h.url(P, location.strip_prefix("https://").unwrap())
}

async fn put(h: &Harness, url: &str, bytes: &[u8], range: Option<String>) -> reqwest::Response {
    let mut req = h.http.put(url).header("content-type", "video/mp4");
    if let Some(r) = range {
        req = req.header("content-range", r);
    }
    req.body(bytes.to_vec()).send().await.unwrap()
}

async fn probe(h: &Harness, url: &str, total: usize) -> reqwest::Response {
    put(h, url, &[], Some(format!("bytes */{total}"))).await
}

fn range(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get("range")
        .map(|v| v.to_str().unwrap().to_owned())
}

fn reason(body: &Value) -> &str {
    body["error"]["errors"][0]["reason"].as_str().unwrap_or("")
}

#[tokio::test]
async fn a_video_goes_up_in_256_kib_chunks_and_the_session_says_how_far_it_got() {
    let h = Harness::start().await;
    let token = h.token(P, SEED, &[UPLOAD]);
    let video = mp4(2 * KIB256 + 1000);
    let total = video.len();
    let url = session(&h, &token, total).await;

    let res = probe(&h, &url, total).await;
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(range(&res), None, "nothing received yet");

    let res = put(
        &h,
        &url,
        &video[..KIB256],
        Some(format!("bytes 0-{}/{total}", KIB256 - 1)),
    )
    .await;
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(range(&res).as_deref(), Some("bytes=0-262143"));
    let res = probe(&h, &url, total).await;
    assert_eq!(range(&res).as_deref(), Some("bytes=0-262143"));
    // The total may stay open until the last chunk.
    let res = put(
        &h,
        &url,
        &video[KIB256..2 * KIB256],
        Some(format!("bytes {KIB256}-{}/*", 2 * KIB256 - 1)),
    )
    .await;
    assert_eq!(range(&res).as_deref(), Some("bytes=0-524287"));
    assert!(h.published("youtube").await.is_empty());

    let res = put(
        &h,
        &url,
        &video[2 * KIB256..],
        Some(format!("bytes {}-{}/{total}", 2 * KIB256, total - 1)),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let (_, v) = json_of(res).await;
    let id = v["id"].as_str().unwrap();
    assert_eq!(id.len(), 11);
    assert_eq!(v["kind"], "youtube#video");
    assert_eq!(v["snippet"]["title"], "How we glaze a mug");
    assert_eq!(v["snippet"]["channelId"], channel_id(SEED));
    assert_eq!(v["snippet"]["tags"], json!(["pottery", "glaze"]));
    assert_eq!(v["status"]["privacyStatus"], "unlisted");
    assert_eq!(v["status"]["uploadStatus"], "uploaded");

    let records = h.published("youtube").await;
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r["remote_id"], id);
    assert_eq!(r["url"], format!("https://www.youtube.com/watch?v={id}"));
    assert_eq!(r["account_id"], channel_id(SEED));
    assert_eq!(r["text"], "How we glaze a mug\n\nDipping, pouring, firing.");
    assert_eq!(r["options"]["privacyStatus"], "unlisted");
    assert_eq!(r["media"][0]["size"], total);
    assert_eq!(r["media"][0]["id"], id);

    // Asked again, the session answers with the video.
    let res = probe(&h, &url, total).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(json_of(res).await.1["id"], id);
    assert_eq!(h.published("youtube").await.len(), 1);
}

#[tokio::test]
async fn a_whole_file_in_one_put_is_an_upload_too() {
    let h = Harness::start().await;
    let token = h.token(P, SEED, &["https://www.googleapis.com/auth/youtube"]);
    let video = mp4(5000);
    let url = session(&h, &token, video.len()).await;
    let res = put(&h, &url, &video, None).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(h.published("youtube").await.len(), 1);
}

#[tokio::test]
async fn a_lost_answer_to_the_final_chunk_is_found_by_probing_the_session() {
    let h = Harness::start().await;
    let token = h.token(P, SEED, &[UPLOAD]);
    let video = mp4(3000);
    let url = session(&h, &token, video.len()).await;
    h.fault(json!({ "platform": "youtube", "path": "/upload/youtube/v3/videos", "method": "PUT", "timeout_after_accept": true, "timeout_secs": 5, "times": 1 }))
        .await;
    let lost = h
        .http
        .put(&url)
        .timeout(Duration::from_millis(300))
        .header("content-range", "bytes 0-2999/3000")
        .body(video.clone())
        .send()
        .await;
    assert!(lost.is_err(), "the answer never came");
    let res = probe(&h, &url, 3000).await;
    assert_eq!(res.status(), StatusCode::OK);
    let (_, v) = json_of(res).await;
    let records = h.published("youtube").await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["remote_id"], v["id"]);
}

#[tokio::test]
async fn chunks_must_be_contiguous_aligned_and_add_up_to_the_declared_size() {
    let h = Harness::start().await;
    let token = h.token(P, SEED, &[UPLOAD]);
    let video = mp4(2 * KIB256 + 10);
    let total = video.len();
    let url = session(&h, &token, total).await;
    let bad = |res: reqwest::Response| async move {
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        json_of(res).await.1
    };
    // Not a multiple of 256 KiB, and not the last chunk.
    let body = bad(put(
        &h,
        &url,
        &video[..1000],
        Some(format!("bytes 0-999/{total}")),
    )
    .await)
    .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("256 KiB")
    );
    // A gap.
    bad(put(
        &h,
        &url,
        &video[KIB256..2 * KIB256],
        Some(format!("bytes {KIB256}-{}/{total}", 2 * KIB256 - 1)),
    )
    .await)
    .await;
    // A total that is not the declared X-Upload-Content-Length.
    bad(put(
        &h,
        &url,
        &video[..KIB256],
        Some(format!("bytes 0-{}/{}", KIB256 - 1, total + 1)),
    )
    .await)
    .await;
    // A body that is not what Content-Range says.
    bad(put(
        &h,
        &url,
        &video[..10],
        Some(format!("bytes 0-{}/{total}", KIB256 - 1)),
    )
    .await)
    .await;
    // A chunk sent twice is taken once.
    for _ in 0..2 {
        let res = put(
            &h,
            &url,
            &video[..KIB256],
            Some(format!("bytes 0-{}/{total}", KIB256 - 1)),
        )
        .await;
        assert_eq!(range(&res).as_deref(), Some("bytes=0-262143"));
    }
    // Unknown sessions are gone.
    let unknown = url.replace("upload_id=", "upload_id=zz");
    let res = probe(&h, &unknown, total).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // Sessions last a week.
    h.sandbox.advance_clock(7 * 86_400 + 1);
    assert_eq!(probe(&h, &url, total).await.status(), StatusCode::NOT_FOUND);

    // Bytes that are not a video are refused when the upload completes.
    let token = h.token(P, SEED, &[UPLOAD]);
    let url = session(&h, &token, 4096).await;
    let body = bad(put(&h, &url, &jpeg(32, 32)[..], None).await).await;
    assert_eq!(
        reason(&body),
        "badRequest",
        "a JPEG is not 4096 bytes: {body}"
    );
    let not_video = vec![1u8; 4096];
    let body = bad(put(&h, &url, &not_video, None).await).await;
    assert_eq!(reason(&body), "badContent");
    assert!(h.published("youtube").await.is_empty());
}

#[tokio::test]
async fn youtube_checks_the_token_the_scope_the_headers_and_the_metadata() {
    let h = Harness::start().await;
    let token = h.token(P, SEED, &[UPLOAD]);
    let q = "uploadType=resumable&part=snippet,status";
    let res = start_with(&h, "ya29.nope", q, metadata(), 100, "video/mp4").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_of(res).await.1["error"]["status"], "UNAUTHENTICATED");
    let reader = h.token(
        P,
        SEED,
        &["https://www.googleapis.com/auth/youtube.readonly"],
    );
    let res = start_with(&h, &reader, q, metadata(), 100, "video/mp4").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(reason(&json_of(res).await.1), "insufficientPermissions");

    let refused = |res: reqwest::Response, expected: &'static str| async move {
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let (_, body) = json_of(res).await;
        assert_eq!(reason(&body), expected, "{body}");
        assert_eq!(body["error"]["code"], 400);
    };
    refused(
        start_with(&h, &token, q, metadata(), 100, "image/jpeg").await,
        "badContent",
    )
    .await;
    refused(
        start_with(
            &h,
            &token,
            "uploadType=multipart&part=snippet",
            metadata(),
            100,
            "video/mp4",
        )
        .await,
        "badRequest",
    )
    .await;
    refused(
        start_with(
            &h,
            &token,
            "uploadType=resumable",
            metadata(),
            100,
            "video/mp4",
        )
        .await,
        "required",
    )
    .await;
    refused(
        start_with(
            &h,
            &token,
            "uploadType=resumable&part=snippet,banana",
            metadata(),
            100,
            "video/mp4",
        )
        .await,
        "unknownPart",
    )
    .await;

    let with = |path: &str, value: Value| {
        let mut m = metadata();
        let (section, field) = path.split_once('.').unwrap();
        m[section][field] = value;
        m
    };
    for (body, expected) in [
        (with("snippet.title", json!("")), "invalidTitle"),
        (
            with("snippet.title", json!("t".repeat(101))),
            "invalidTitle",
        ),
        (with("snippet.title", json!("<b>Mugs</b>")), "invalidTitle"),
        (
            with("snippet.description", json!("I <3 pots")),
            "invalidDescription",
        ),
        (
            with("snippet.description", json!("é".repeat(2501))),
            "invalidDescription",
        ),
        (
            with("snippet.tags", json!(["x".repeat(300), "y".repeat(200)])),
            "invalidTags",
        ),
        (with("snippet.categoryId", json!(22)), "invalidCategoryId"),
        (
            with("status.privacyStatus", json!("secret")),
            "invalidVideoMetadata",
        ),
        (
            with("status.publishAt", json!("2099-01-01T00:00:00Z")),
            "invalidPublishAt",
        ),
        (
            json!({ "status": { "privacyStatus": "private" } }),
            "invalidTitle",
        ),
    ] {
        refused(
            start_with(&h, &token, q, body, 100, "video/mp4").await,
            expected,
        )
        .await;
    }
    // A scheduled private video is fine; the snippet only counts when `part` names it.
    let scheduled = with("status.publishAt", json!("2099-01-01T00:00:00Z"));
    let mut scheduled = scheduled;
    scheduled["status"]["privacyStatus"] = json!("private");
    let res = start_with(&h, &token, q, scheduled, 100, "video/mp4").await;
    assert_eq!(res.status(), StatusCode::OK);
    refused(
        start_with(
            &h,
            &token,
            "uploadType=resumable&part=status",
            metadata(),
            100,
            "video/mp4",
        )
        .await,
        "invalidTitle",
    )
    .await;
}

#[tokio::test]
async fn uploads_past_the_days_quota_are_refused_until_midnight_pacific() {
    let h = Harness::start_with(|c| c.youtube_uploads_per_day = 1).await;
    let token = h.token(P, SEED, &[UPLOAD]);
    session(&h, &token, 100).await;
    let q = "uploadType=resumable&part=snippet,status";
    let res = start_with(&h, &token, q, metadata(), 100, "video/mp4").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (_, body) = json_of(res).await;
    assert_eq!(reason(&body), "quotaExceeded");
    assert_eq!(body["error"]["errors"][0]["domain"], "youtube.quota");
    h.sandbox.advance_clock(86_400);
    session(&h, &h.token(P, SEED, &[UPLOAD]), 100).await;
}
