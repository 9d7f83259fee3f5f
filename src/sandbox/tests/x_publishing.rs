use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use super::*;
use crate::sandbox::x::user_id;

const P: Platform = Platform::X;
const POSTING: &[&str] = &["tweet.read", "tweet.write", "users.read", "media.write"];

fn api(h: &Harness, path: &str) -> String {
    h.url(P, &format!("api.x.com{path}"))
}

async fn post(h: &Harness, token: &str, body: Value) -> (StatusCode, Value) {
    h.get_json(
        h.http
            .post(api(h, "/2/tweets"))
            .bearer_auth(token)
            .json(&body),
    )
    .await
}

/// A one-shot upload of `bytes` in multipart form.
async fn upload(h: &Harness, token: &str, bytes: Vec<u8>, category: &str) -> (StatusCode, Value) {
    let form = Form::new()
        .text("media_category", category.to_owned())
        .part("media", Part::bytes(bytes).file_name("media"));
    h.get_json(
        h.http
            .post(api(h, "/2/media/upload"))
            .bearer_auth(token)
            .multipart(form),
    )
    .await
}

/// A chunked upload: initialize, append the segments, finalize.
async fn chunked(
    h: &Harness,
    token: &str,
    bytes: &[u8],
    media_type: &str,
    category: &str,
) -> Value {
    let (status, init) = h
        .get_json(
            h.http
                .post(api(h, "/2/media/upload/initialize"))
                .bearer_auth(token)
                .json(&json!({ "media_type": media_type, "total_bytes": bytes.len(), "media_category": category })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{init}");
    let id = init["data"]["id"].as_str().unwrap().to_owned();
    for (i, chunk) in bytes.chunks(bytes.len().div_ceil(2)).enumerate() {
        let form = Form::new()
            .text("segment_index", i.to_string())
            .part("media", Part::bytes(chunk.to_vec()).file_name("blob"));
        let (status, body) = h
            .get_json(
                h.http
                    .post(api(h, &format!("/2/media/upload/{id}/append")))
                    .bearer_auth(token)
                    .multipart(form),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body["data"]["expires_at"].is_i64());
    }
    let (status, done) = h
        .get_json(
            h.http
                .post(api(h, &format!("/2/media/upload/{id}/finalize")))
                .bearer_auth(token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    done
}

#[tokio::test]
async fn an_x_post_is_created_recorded_and_found_again_by_id_and_in_the_timeline() {
    let h = Harness::start().await;
    let token = h.token(P, "mapleandmoss", POSTING);
    let (status, body) = post(&h, &token, json!({ "text": "New mugs are in the shop" })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 19);
    assert!(id.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(body["data"]["text"], "New mugs are in the shop");
    assert_eq!(body["data"]["edit_history_tweet_ids"], json!([id]));

    let published = h.published("x").await;
    assert_eq!(published.len(), 1);
    assert_eq!(published[0]["remote_id"], id);
    assert_eq!(published[0]["account_id"], user_id("mapleandmoss"));
    assert_eq!(
        published[0]["url"],
        format!("https://x.com/mapleandmoss/status/{id}")
    );
    assert_eq!(published[0]["kind"], "tweet");
    assert!(published[0]["request_seq"].as_u64().unwrap() >= 1);

    let (status, found) = h
        .get_json(
            h.http
                .get(api(
                    &h,
                    &format!(
                        "/2/tweets?ids={id},1234567890123456789&tweet.fields=created_at,author_id"
                    ),
                ))
                .bearer_auth(&token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["data"][0]["id"], id);
    assert_eq!(found["data"][0]["author_id"], user_id("mapleandmoss"));
    assert!(
        found["data"][0]["created_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(found["errors"][0]["resource_id"], "1234567890123456789");
    assert_eq!(found["errors"][0]["title"], "Not Found Error");

    let (status, timeline) = h
        .get_json(
            h.http
                .get(api(
                    &h,
                    &format!(
                        "/2/users/{}/tweets?max_results=5&tweet.fields=created_at",
                        user_id("mapleandmoss")
                    ),
                ))
                .bearer_auth(&token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{timeline}");
    assert_eq!(timeline["data"][0]["id"], id);
    assert_eq!(timeline["data"][0]["text"], "New mugs are in the shop");
    assert_eq!(timeline["meta"]["result_count"], 1);
    assert_eq!(timeline["meta"]["newest_id"], id);

    let (status, _) = h
        .get_json(
            h.http
                .get(api(
                    &h,
                    &format!(
                        "/2/users/{}/tweets?max_results=101",
                        user_id("mapleandmoss")
                    ),
                ))
                .bearer_auth(&token),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_same_text_twice_within_a_day_is_refused_as_duplicate_content() {
    let h = Harness::start().await;
    let token = h.token(P, "mapleandmoss", POSTING);
    let (status, _) = post(&h, &token, json!({ "text": "Kiln day!" })).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = post(&h, &token, json!({ "text": "Kiln day!" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["detail"],
        "You are not allowed to create a Tweet with duplicate content."
    );
    assert_eq!(body["title"], "Forbidden");
    // Another account may say the same thing.
    let other = h.token(P, "sam.lee", POSTING);
    let (status, _) = post(&h, &other, json!({ "text": "Kiln day!" })).await;
    assert_eq!(status, StatusCode::CREATED);
    // A day later it is no longer a duplicate.
    h.sandbox.advance_clock(86_401);
    let token = h.token(P, "mapleandmoss", POSTING);
    let (status, body) = post(&h, &token, json!({ "text": "Kiln day!" })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(h.published("x").await.len(), 3);
}

#[tokio::test]
async fn an_x_post_carries_images_uploaded_in_one_shot_and_in_chunks() {
    let h = Harness::start().await;
    let token = h.token(P, "mapleandmoss", POSTING);
    let photo = jpeg(120, 80);
    let (status, simple) = upload(&h, &token, photo.clone(), "tweet_image").await;
    assert_eq!(status, StatusCode::OK, "{simple}");
    let first = simple["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(simple["data"]["media_key"], format!("3_{first}"));
    assert_eq!(simple["data"]["image"]["image_type"], "image/jpeg");
    assert_eq!(simple["data"]["image"]["w"], 120);
    assert!(simple["data"].get("processing_info").is_none());

    let picture = png(50, 50);
    let done = chunked(&h, &token, &picture, "image/png", "tweet_image").await;
    let second = done["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(done["data"]["size"], picture.len());

    let (status, body) = post(
        &h,
        &token,
        json!({ "text": "Two glazes", "media": { "media_ids": [first, second] } }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let record = &h.published("x").await[0];
    let media = record["media"].as_array().unwrap();
    assert_eq!(media.len(), 2);
    assert_eq!(media[0]["id"], first);
    assert_eq!(media[0]["mime"], "image/jpeg");
    assert_eq!(media[1]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(media[1]["size"], picture.len());
}

#[tokio::test]
async fn a_video_is_processed_before_a_post_may_use_it() {
    let h = Harness::start().await;
    let token = h.token(P, "mapleandmoss", POSTING);
    let done = chunked(&h, &token, &mp4(3000), "video/mp4", "tweet_video").await;
    let id = done["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(done["data"]["media_key"], format!("7_{id}"));
    assert_eq!(done["data"]["processing_info"]["state"], "pending");
    assert_eq!(done["data"]["processing_info"]["check_after_secs"], 1);

    let (status, body) = post(
        &h,
        &token,
        json!({ "text": "Throwing a mug", "media": { "media_ids": [id] } }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "still processing");
    assert_eq!(body["errors"][0]["message"], "Your media IDs are invalid.");

    h.sandbox.advance_clock(2);
    let (status, polled) = h
        .get_json(
            h.http
                .get(api(
                    &h,
                    &format!("/2/media/upload?command=STATUS&media_id={id}"),
                ))
                .bearer_auth(&token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{polled}");
    assert_eq!(polled["data"]["processing_info"]["state"], "succeeded");
    let (status, body) = post(
        &h,
        &token,
        json!({ "text": "Throwing a mug", "media": { "media_ids": [id] } }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn x_refuses_media_that_is_not_the_users_or_not_finished_or_too_many() {
    let h = Harness::start().await;
    let token = h.token(P, "mapleandmoss", POSTING);
    let other = h.token(P, "sam.lee", POSTING);
    let (_, theirs) = upload(&h, &other, jpeg(40, 40), "tweet_image").await;
    let theirs = theirs["data"]["id"].as_str().unwrap().to_owned();
    let (status, body) = post(
        &h,
        &token,
        json!({ "text": "Borrowed", "media": { "media_ids": [theirs] } }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"][0]["message"], "Your media IDs are invalid.");

    let (_, init) = h
        .get_json(
            h.http
                .post(api(&h, "/2/media/upload/initialize"))
                .bearer_auth(&token)
                .json(&json!({ "media_type": "image/jpeg", "total_bytes": 10 })),
        )
        .await;
    let unfinished = init["data"]["id"].as_str().unwrap().to_owned();
    let (status, _) = post(
        &h,
        &token,
        json!({ "text": "Half", "media": { "media_ids": [unfinished] } }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = h
        .get_json(
            h.http
                .post(api(&h, &format!("/2/media/upload/{unfinished}/finalize")))
                .bearer_auth(&token),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Segments do not add up")
    );

    let five: Vec<String> = (0..5).map(|i| format!("11111111111111111{i}")).collect();
    let (status, body) = post(
        &h,
        &token,
        json!({ "text": "Many", "media": { "media_ids": five } }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("maximum of 4 items")
    );

    let (status, body) = upload(&h, &token, b"<html></html>".to_vec(), "tweet_image").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn x_checks_the_post_body_the_token_and_its_scopes() {
    let h = Harness::start().await;
    let token = h.token(P, "mapleandmoss", POSTING);
    let (status, body) = post(&h, &token, json!({ "text": "hi", "colour": "blue" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["type"], "https://api.x.com/2/problems/invalid-request");
    let (status, body) = post(&h, &token, json!({ "text": "a".repeat(281) })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("Your Tweet text is too long")
    );
    let (status, _) = post(&h, &token, json!({ "text": "é".repeat(280) })).await;
    assert_eq!(status, StatusCode::CREATED, "280 code points are accepted");
    let (status, _) = post(&h, &token, json!({ "text": "" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = post(
        &h,
        &token,
        json!({ "text": "poll", "poll": { "options": ["a"], "duration_minutes": 60 } }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let read_only = h.token(P, "mapleandmoss", &["tweet.read", "users.read"]);
    let (status, _) = post(&h, &read_only, json!({ "text": "nope" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    h.sandbox.advance_clock(3601);
    let (status, body) = post(&h, &token, json!({ "text": "expired" })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["title"], "Unauthorized");
}
