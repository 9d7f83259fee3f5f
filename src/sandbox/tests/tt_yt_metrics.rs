//! YouTube `videos.list` statistics and TikTok `video/query`, on posts put straight into the
//! published log.

use reqwest::StatusCode;
use serde_json::{Map, Value, json};

use super::*;
use crate::sandbox::published::PublishedRecord;
use crate::sandbox::tiktok::open_id;
use crate::sandbox::youtube::channel_id;

const YT_SEED: &str = "mapleandmoss";
const YT_READ: &[&str] = &["https://www.googleapis.com/auth/youtube.readonly"];
const TT_SEED: &str = "mapleandmoss";

fn publish(h: &Harness, platform: Platform, account_id: &str, id: &str, options: Value) {
    let Value::Object(options) = options else {
        unreachable!()
    };
    h.sandbox.shared.published().push(PublishedRecord {
        seq: 0,
        request_seq: 0,
        at: h.sandbox.now(),
        platform,
        account_id: account_id.into(),
        account: "someone".into(),
        kind: "video".into(),
        remote_id: id.into(),
        url: None,
        text: "Trimming a bowl".into(),
        media: Vec::new(),
        options: Value::Object(Map::from_iter(options)),
    });
}

async fn videos(h: &Harness, token: &str, query: &str) -> (StatusCode, Value) {
    let url = h.url(
        Platform::Youtube,
        &format!("www.googleapis.com/youtube/v3/videos?{query}"),
    );
    h.get_json(h.http.get(url).bearer_auth(token)).await
}

async fn tiktok_query(h: &Harness, token: &str, fields: &str, ids: Value) -> (StatusCode, Value) {
    let url = h.url(
        Platform::Tiktok,
        &format!("open.tiktokapis.com/v2/video/query/?fields={fields}"),
    );
    h.get_json(
        h.http
            .post(url)
            .bearer_auth(token)
            .header("content-type", "application/json; charset=UTF-8")
            .body(json!({ "filters": { "video_ids": ids } }).to_string()),
    )
    .await
}

fn count(stats: &Value, name: &str) -> u64 {
    stats[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} is a string: {stats}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn youtube_statistics_are_strings_that_grow_with_the_clock_and_unknown_ids_are_left_out() {
    let h = Harness::start().await;
    let channel = channel_id(YT_SEED);
    publish(
        &h,
        Platform::Youtube,
        &channel,
        "vidAAAAAAA1",
        json!({"privacyStatus": "public"}),
    );
    publish(
        &h,
        Platform::Youtube,
        &channel,
        "vidKIDS0001",
        json!({"privacyStatus": "public", "selfDeclaredMadeForKids": true}),
    );
    publish(
        &h,
        Platform::Youtube,
        &channel_id("someone-else"),
        "vidPRIVATE1",
        json!({"privacyStatus": "private"}),
    );
    let token = h.token(Platform::Youtube, YT_SEED, YT_READ);
    let ids = "part=statistics&id=vidAAAAAAA1,vidKIDS0001,vidPRIVATE1,nosuchvideo";

    let (status, body) = videos(&h, &token, ids).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["kind"], "youtube#videoListResponse");
    let items = body["items"].as_array().unwrap();
    let got: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(
        got,
        ["vidAAAAAAA1", "vidKIDS0001"],
        "unknown and others' private left out"
    );
    assert_eq!(
        count(&items[0]["statistics"], "viewCount"),
        0,
        "0 at upload"
    );
    assert_eq!(items[0]["statistics"]["favoriteCount"], "0");
    assert!(
        items[1]["statistics"].get("commentCount").is_none(),
        "made for kids: comments off: {}",
        items[1]
    );

    h.sandbox.advance_clock(48 * 3600);
    // A fresh token: the first one has expired by now.
    let token = h.token(Platform::Youtube, YT_SEED, YT_READ);
    let (_, later) = videos(&h, &token, ids).await;
    let stats = &later["items"][0]["statistics"];
    assert!(count(stats, "viewCount") > 0, "{stats}");
    assert!(count(stats, "likeCount") <= count(stats, "viewCount"));
    assert!(count(stats, "commentCount") <= count(stats, "likeCount"));
    let (_, again) = videos(&h, &token, ids).await;
    assert_eq!(
        again["items"], later["items"],
        "the same clock, the same numbers"
    );
}

#[tokio::test]
async fn youtube_videos_list_checks_its_part_ids_scope_and_daily_units() {
    let h = Harness::start().await;
    let token = h.token(Platform::Youtube, YT_SEED, YT_READ);
    let reason = |body: &Value| {
        body["error"]["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    let (status, body) = videos(&h, &token, "id=a").await;
    assert_eq!(
        (status, reason(&body)),
        (StatusCode::BAD_REQUEST, "required".into())
    );
    let (status, body) = videos(&h, &token, "part=statz&id=a").await;
    assert_eq!(
        (status, reason(&body)),
        (StatusCode::BAD_REQUEST, "unknownPart".into())
    );
    let fifty_one: Vec<String> = (0..51).map(|i| format!("v{i}")).collect();
    let (status, body) = videos(
        &h,
        &token,
        &format!("part=statistics&id={}", fifty_one.join(",")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], 400);
    let (status, _) = videos(
        &h,
        &token,
        &format!("part=statistics&id={}", fifty_one[..50].join(",")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "50 ids are fine");

    let upload_only = h.token(
        Platform::Youtube,
        YT_SEED,
        &["https://www.googleapis.com/auth/youtube.upload"],
    );
    let (status, body) = videos(&h, &upload_only, "part=statistics&id=a").await;
    assert_eq!(
        (status, reason(&body)),
        (StatusCode::FORBIDDEN, "insufficientPermissions".into())
    );
    let (status, _) = videos(&h, "nope", "part=statistics&id=a").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Each call is a unit of the client's day; past the bucket, quotaExceeded until midnight PT.
    h.sandbox.set_limits(&crate::sandbox::LimitsSpec {
        youtube_units_per_day: Some(5),
        ..Default::default()
    });
    let (status, _) = videos(&h, &token, "part=statistics&id=a").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the fifth unit (four were used above)"
    );
    let (status, body) = videos(&h, &token, "part=statistics&id=a").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(reason(&body), "quotaExceeded");
    assert_eq!(body["error"]["errors"][0]["domain"], "youtube.quota");
    h.sandbox.advance_clock(24 * 3600);
    let token = h.token(Platform::Youtube, YT_SEED, YT_READ);
    let (status, _) = videos(&h, &token, "part=statistics&id=a").await;
    assert_eq!(status, StatusCode::OK, "a new Pacific day");
}

#[tokio::test]
async fn tiktok_video_query_answers_the_creator_s_public_posts_with_growing_counts() {
    let h = Harness::start().await;
    let client = default_client_id(Platform::Tiktok);
    let me = open_id(&client, TT_SEED);
    publish(
        &h,
        Platform::Tiktok,
        &me,
        "7100000000000000001",
        json!({"privacy_level": "PUBLIC_TO_EVERYONE"}),
    );
    publish(
        &h,
        Platform::Tiktok,
        &me,
        "7100000000000000002",
        json!({"privacy_level": "SELF_ONLY"}),
    );
    publish(
        &h,
        Platform::Tiktok,
        &open_id(&client, "someone-else"),
        "7100000000000000003",
        json!({"privacy_level": "PUBLIC_TO_EVERYONE"}),
    );
    let token = h.token(
        Platform::Tiktok,
        TT_SEED,
        &["user.info.basic", "video.list"],
    );
    let fields = "id,like_count,comment_count,share_count,view_count";
    let ids = json!([
        "7100000000000000001",
        "7100000000000000002",
        "7100000000000000003",
        "7999"
    ]);

    let (status, body) = tiktok_query(&h, &token, fields, ids.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["error"]["code"], "ok");
    let videos = body["data"]["videos"].as_array().unwrap();
    assert_eq!(videos.len(), 1, "only the creator's public post: {body}");
    assert_eq!(videos[0]["id"], "7100000000000000001");
    assert_eq!(videos[0]["view_count"], 0, "0 at publication");
    assert_eq!(
        videos[0].as_object().unwrap().len(),
        5,
        "the fields asked for"
    );

    h.sandbox.advance_clock(6 * 3600);
    let token = h.token(Platform::Tiktok, TT_SEED, &["video.list"]);
    let (_, later) = tiktok_query(&h, &token, fields, ids).await;
    let v = &later["data"]["videos"][0];
    let n = |name: &str| v[name].as_u64().unwrap();
    assert!(n("view_count") > 0, "{v}");
    assert!(n("like_count") <= n("view_count"));
    assert!(n("comment_count") + n("share_count") <= n("view_count"));
}

#[tokio::test]
async fn tiktok_video_query_needs_video_list_known_fields_and_at_most_twenty_ids() {
    let h = Harness::start().await;
    let without = h.token(
        Platform::Tiktok,
        TT_SEED,
        &["user.info.basic", "video.publish"],
    );
    let (status, body) = tiktok_query(&h, &without, "id,view_count", json!(["71"])).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "scope_not_authorized");

    let token = h.token(Platform::Tiktok, TT_SEED, &["video.list"]);
    let (status, body) = tiktok_query(&h, &token, "id,plays", json!(["71"])).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_params"))
    );
    let twenty_one: Vec<String> = (0..21).map(|i| format!("7{i}")).collect();
    let (status, body) = tiktok_query(&h, &token, "id", json!(twenty_one)).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_params"))
    );
    let (status, body) = tiktok_query(&h, &token, "id", json!(twenty_one[..20])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"]["videos"],
        json!([]),
        "unknown ids are left out"
    );
    let (status, body) = tiktok_query(&h, "act.nope", "id", json!(["71"])).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "access_token_invalid");
}
