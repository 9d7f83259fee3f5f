use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;
use crate::sandbox::LimitsSpec;

const P: Platform = Platform::X;
const SCOPES: &[&str] = &["tweet.read", "tweet.write", "users.read"];

fn api(h: &Harness, path: &str) -> String {
    h.url(P, &format!("api.x.com{path}"))
}

async fn publish(h: &Harness, token: &str, text: &str) -> String {
    let (status, body) = h
        .get_json(
            h.http
                .post(api(h, "/2/tweets"))
                .bearer_auth(token)
                .json(&json!({ "text": text })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["data"]["id"].as_str().unwrap().to_owned()
}

async fn lookup(h: &Harness, token: &str, query: &str) -> (StatusCode, Value) {
    h.get_json(
        h.http
            .get(api(h, &format!("/2/tweets?{query}")))
            .bearer_auth(token),
    )
    .await
}

#[tokio::test]
async fn x_metrics_start_at_zero_grow_with_the_clock_and_never_shrink() {
    let h = Harness::start().await;
    let token = h.token(P, "mapleandmoss", SCOPES);
    let id = publish(&h, &token, "A new mug glaze").await;
    let query = format!("ids={id}&tweet.fields=public_metrics");
    let (status, first) = lookup(&h, &token, &query).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let m = &first["data"][0]["public_metrics"];
    assert_eq!(m["impression_count"], 0, "{m}");
    assert_eq!(m["like_count"], 0);
    assert!(
        m.get("retweet_count").is_some(),
        "tweet.fields speaks of retweets: {m}"
    );

    let mut last = m.clone();
    for _ in 0..4 {
        h.sandbox.advance_clock(6 * 3600);
        // Minted tokens last an hour.
        let token = h.token(P, "mapleandmoss", SCOPES);
        let (_, now) = lookup(&h, &token, &query).await;
        let m = now["data"][0]["public_metrics"].clone();
        for (k, v) in m.as_object().unwrap() {
            assert!(
                v.as_u64() >= last[k].as_u64(),
                "{k} shrank: {last} then {m}"
            );
        }
        last = m;
    }
    assert!(last["impression_count"].as_u64().unwrap() > 100, "{last}");
    assert!(last["like_count"].as_u64().unwrap() > 0, "{last}");

    let token = h.token(P, "mapleandmoss", SCOPES);
    let (_, newer) = lookup(&h, &token, &format!("ids={id}&post.fields=public_metrics")).await;
    let m = &newer["data"][0]["public_metrics"];
    assert_eq!(
        m["repost_count"], last["retweet_count"],
        "post.fields speaks of reposts: {m}"
    );
    assert!(m.get("retweet_count").is_none());
}

#[tokio::test]
async fn x_private_metrics_are_only_for_the_author_s_posts_under_thirty_days() {
    let h = Harness::start().await;
    let token = h.token(P, "mapleandmoss", SCOPES);
    let old = publish(&h, &token, "An old post").await;
    h.sandbox.advance_clock(31 * 86_400);
    let token = h.token(P, "mapleandmoss", SCOPES);
    let young = publish(&h, &token, "A young post").await;
    h.sandbox.advance_clock(600);
    let query = format!(
        "ids={old},{young},1234567890123456789&tweet.fields=public_metrics,non_public_metrics"
    );
    let (status, body) = lookup(&h, &token, &query).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["id"], old);
    assert!(data[0].get("non_public_metrics").is_none());
    assert!(
        data[0]["public_metrics"]["impression_count"]
            .as_u64()
            .unwrap()
            > 0
    );
    let private = &data[1]["non_public_metrics"];
    assert_eq!(
        private["impression_count"],
        data[1]["public_metrics"]["impression_count"]
    );
    for k in ["url_link_clicks", "user_profile_clicks", "engagements"] {
        assert!(private[k].is_u64(), "{k} in {private}");
    }
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{body}");
    assert_eq!(errors[0]["resource_id"], old);
    assert_eq!(errors[0]["title"], "Field Authorization Error");
    assert_eq!(errors[1]["resource_id"], "1234567890123456789");
    assert_eq!(
        errors[1]["type"],
        "https://api.x.com/2/problems/resource-not-found"
    );

    let stranger = h.token(P, "somebody.else", SCOPES);
    let (_, theirs) = lookup(
        &h,
        &stranger,
        &format!("ids={young}&tweet.fields=non_public_metrics"),
    )
    .await;
    assert!(
        theirs["data"][0].get("non_public_metrics").is_none(),
        "{theirs}"
    );
    assert_eq!(theirs["errors"][0]["title"], "Field Authorization Error");
}

#[tokio::test]
async fn an_x_lookup_takes_one_to_a_hundred_ids() {
    let h = Harness::start().await;
    let token = h.token(P, "mapleandmoss", SCOPES);
    let many: Vec<String> = (0..101).map(|i| format!("{}", 1_000_000 + i)).collect();
    let (status, body) = lookup(&h, &token, &format!("ids={}", many.join(","))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["errors"][0]["parameters"].get("ids").is_some(),
        "{body}"
    );
    let (status, _) = lookup(&h, &token, &format!("ids={}", many[..100].join(","))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = lookup(&h, &token, "ids=&tweet.fields=public_metrics").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn x_lookups_are_counted_per_token_in_fifteen_minute_windows() {
    let h = Harness::start().await;
    h.sandbox.set_limits(&LimitsSpec {
        x_post_lookups_per_15_min: Some(2),
        ..LimitsSpec::default()
    });
    let token = h.token(P, "mapleandmoss", SCOPES);
    let url = api(&h, "/2/tweets?ids=1234567890123456789");
    let mut resets = Vec::new();
    for remaining in ["1", "0"] {
        let res = h.http.get(&url).bearer_auth(&token).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["x-rate-limit-limit"], "2");
        assert_eq!(res.headers()["x-rate-limit-remaining"], remaining);
        resets.push(
            res.headers()["x-rate-limit-reset"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
    }
    let res = h.http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        res.headers()["x-rate-limit-reset"].to_str().unwrap(),
        resets[0]
    );
    let reset: i64 = resets[0].parse().unwrap();
    let wait = reset - h.sandbox.now().timestamp();
    assert!(
        (890..=900).contains(&wait),
        "the window ends 15 minutes after it began: {wait}"
    );
    let (_, body) = json_of(res).await;
    assert_eq!(body["errors"][0]["code"], 88);

    let other = h.token(P, "somebody.else", SCOPES);
    let res = h.http.get(&url).bearer_auth(&other).send().await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "another token has its own window"
    );

    h.sandbox.advance_clock(15 * 60);
    let res = h.http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "a new window");
    assert_eq!(res.headers()["x-rate-limit-remaining"], "1");
}
