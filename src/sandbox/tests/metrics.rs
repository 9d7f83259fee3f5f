//! Instagram media insights and Pinterest pin analytics, on posts put straight into the
//! published log.

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Map, Value, json};

use super::*;
use crate::sandbox::personas::instagram_user_id;
use crate::sandbox::pinterest::user_id;
use crate::sandbox::published::PublishedRecord;

const IG_SEED: &str = "mapleandmoss.studio";
const IG_SCOPES: &[&str] = &[
    "instagram_business_basic",
    "instagram_business_manage_insights",
];
const PIN_SEED: &str = "mapleandmoss";
const ALL: &str = "views,reach,likes,comments,shares,saved,total_interactions";

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
        kind: "post".into(),
        remote_id: id.into(),
        url: None,
        text: String::new(),
        media: Vec::new(),
        options: Value::Object(Map::from_iter(options)),
    });
}

async fn insights(h: &Harness, token: &str, id: &str, metric: &str) -> (StatusCode, Value) {
    let url = h.url(
        Platform::Instagram,
        &format!(
            "graph.instagram.com/v21.0/{id}/insights?{}",
            query(&[("metric", metric), ("access_token", token)])
        ),
    );
    h.get_json(h.http.get(url)).await
}

fn values(body: &Value) -> HashMap<String, u64> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_owned(),
                m["values"][0]["value"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn instagram_insights_are_empty_for_three_minutes_then_grow_with_the_clock() {
    let h = Harness::start().await;
    let token = h.token(Platform::Instagram, IG_SEED, IG_SCOPES);
    publish(
        &h,
        Platform::Instagram,
        &instagram_user_id(IG_SEED),
        "17900000000000001",
        json!({"media_product_type": "FEED"}),
    );

    let (status, body) = insights(&h, &token, "17900000000000001", ALL).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"data": []}), "no numbers yet, not zeros");

    h.sandbox.advance_clock(86_400);
    // The harness's tokens last an hour.
    let token = h.token(Platform::Instagram, IG_SEED, IG_SCOPES);
    let (status, body) = insights(&h, &token, "17900000000000001", ALL).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let first = values(&body);
    assert_eq!(first.len(), 7);
    let m = &body["data"][0];
    assert_eq!(m["period"], "lifetime");
    assert_eq!(m["id"], "17900000000000001/insights/views/lifetime");
    assert!(first["reach"] > 0 && first["reach"] <= first["views"]);
    assert!(first["likes"] < first["reach"] / 10);
    assert_eq!(
        first["total_interactions"],
        first["likes"] + first["comments"] + first["shares"] + first["saved"]
    );

    h.sandbox.advance_clock(86_400);
    let token = h.token(Platform::Instagram, IG_SEED, IG_SCOPES);
    let (_, body) = insights(&h, &token, "17900000000000001", ALL).await;
    let later = values(&body);
    for (name, before) in &first {
        assert!(later[name] >= *before, "{name} never shrinks");
    }
    assert!(later["views"] > first["views"] && later["reach"] > first["reach"]);
}

#[tokio::test]
async fn instagram_insights_refuse_deprecated_metrics_unknown_media_and_bad_tokens() {
    let h = Harness::start().await;
    let token = h.token(Platform::Instagram, IG_SEED, IG_SCOPES);
    publish(
        &h,
        Platform::Instagram,
        &instagram_user_id(IG_SEED),
        "17900000000000002",
        json!({}),
    );

    for deprecated in ["impressions", "plays", "video_views"] {
        let (status, body) = insights(
            &h,
            &token,
            "17900000000000002",
            &format!("reach,{deprecated}"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"]["code"], 100);
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("(#100) metric[1] must be one of the following values:"),
            "{message}"
        );
    }
    let (status, body) = insights(&h, &token, "17900000000000999", "reach").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        (
            body["error"]["code"].as_u64(),
            body["error"]["error_subcode"].as_u64()
        ),
        (Some(100), Some(33))
    );

    let (_, body) = insights(&h, "not-a-token", "17900000000000002", "reach").await;
    assert_eq!(body["error"]["code"], 190);

    let basic = h.token(Platform::Instagram, IG_SEED, &["instagram_business_basic"]);
    let (status, body) = insights(&h, &basic, "17900000000000002", "reach").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["error"]["code"], 10,
        "the insights permission is needed"
    );

    // Someone else's media is as unknown as media that does not exist.
    let other = h.token(Platform::Instagram, "someone.else", IG_SCOPES);
    let (_, body) = insights(&h, &other, "17900000000000002", "reach").await;
    assert_eq!(body["error"]["error_subcode"], 33);
}

async fn analytics(
    h: &Harness,
    token: &str,
    pin: &str,
    params: &[(&str, &str)],
) -> (StatusCode, Value) {
    let url = h.url(
        Platform::Pinterest,
        &format!(
            "api.pinterest.com/v5/pins/{pin}/analytics?{}",
            query(params)
        ),
    );
    h.get_json(h.http.get(url).bearer_auth(token)).await
}

#[tokio::test]
async fn pin_analytics_have_one_record_a_day_ready_once_the_day_is_over() {
    let h = Harness::start().await;
    let token = h.token(Platform::Pinterest, PIN_SEED, &["boards:read", "pins:read"]);
    publish(
        &h,
        Platform::Pinterest,
        &user_id(PIN_SEED),
        "900000000000000001",
        json!({"source_type": "image_url"}),
    );
    let metrics = "IMPRESSION,SAVE,PIN_CLICK,OUTBOUND_CLICK";
    let today = h.sandbox.now().date_naive().to_string();

    let (status, body) = analytics(
        &h,
        &token,
        "900000000000000001",
        &[
            ("start_date", &today),
            ("end_date", &today),
            ("metric_types", metrics),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let days = body["all"]["daily_metrics"].as_array().unwrap();
    assert_eq!(days.len(), 1);
    assert_eq!(days[0]["data_status"], "PROCESSING");

    // A few minutes later today's numbers are an estimate.
    h.sandbox.advance_clock(240);
    let (_, body) = analytics(
        &h,
        &token,
        "900000000000000001",
        &[
            ("start_date", &today),
            ("end_date", &today),
            ("metric_types", metrics),
        ],
    )
    .await;
    assert_eq!(body["all"]["daily_metrics"][0]["data_status"], "ESTIMATE");

    h.sandbox.advance_clock(2 * 86_400);
    // The harness's tokens last an hour.
    let token = h.token(Platform::Pinterest, PIN_SEED, &["boards:read", "pins:read"]);
    let end = h.sandbox.now().date_naive().to_string();
    let (status, body) = analytics(
        &h,
        &token,
        "900000000000000001",
        &[
            ("start_date", &today),
            ("end_date", &end),
            ("metric_types", metrics),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let days = body["all"]["daily_metrics"].as_array().unwrap();
    let statuses: Vec<&str> = days
        .iter()
        .map(|d| d["data_status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["READY", "READY", "ESTIMATE"]);
    let sum: u64 = days
        .iter()
        .map(|d| d["metrics"]["IMPRESSION"].as_u64().unwrap())
        .sum();
    assert!(sum > 0);
    assert_eq!(body["all"]["summary_metrics"]["IMPRESSION"], sum);
    assert!(
        days[0]["metrics"]["SAVE"].as_u64().unwrap()
            <= days[0]["metrics"]["IMPRESSION"].as_u64().unwrap()
    );

    // A day's numbers do not change once it is over.
    h.sandbox.advance_clock(86_400);
    let token = h.token(Platform::Pinterest, PIN_SEED, &["boards:read", "pins:read"]);
    let (_, again) = analytics(
        &h,
        &token,
        "900000000000000001",
        &[
            ("start_date", &today),
            ("end_date", &today),
            ("metric_types", metrics),
        ],
    )
    .await;
    assert_eq!(again["all"]["daily_metrics"][0], days[0]);

    let yesterday = (Utc::now() - Duration::days(1)).date_naive().to_string();
    let (_, before) = analytics(
        &h,
        &token,
        "900000000000000001",
        &[
            ("start_date", &yesterday),
            ("end_date", &today),
            ("metric_types", "IMPRESSION"),
        ],
    )
    .await;
    assert_eq!(
        before["all"]["daily_metrics"][0]["data_status"],
        "BEFORE_PIN_CREATED"
    );
}

#[tokio::test]
async fn pin_analytics_check_their_parameters_and_the_pin() {
    let h = Harness::start().await;
    let token = h.token(Platform::Pinterest, PIN_SEED, &["boards:read", "pins:read"]);
    publish(
        &h,
        Platform::Pinterest,
        &user_id(PIN_SEED),
        "900000000000000002",
        json!({}),
    );
    let now = h.sandbox.now().date_naive();
    let day = |n: i64| (now + Duration::days(n)).to_string();
    let pin = "900000000000000002";
    for (params, why) in [
        (
            vec![("end_date", day(0)), ("metric_types", "SAVE".into())],
            "start_date is required",
        ),
        (
            vec![
                ("start_date", day(0)),
                ("end_date", day(-1)),
                ("metric_types", "SAVE".into()),
            ],
            "end before start",
        ),
        (
            vec![
                ("start_date", day(-91)),
                ("end_date", day(0)),
                ("metric_types", "SAVE".into()),
            ],
            "more than 90 days back",
        ),
        (
            vec![
                ("start_date", day(0)),
                ("end_date", day(1)),
                ("metric_types", "SAVE".into()),
            ],
            "in the future",
        ),
        (
            vec![("start_date", day(0)), ("end_date", day(0))],
            "metric_types is required",
        ),
        (
            vec![
                ("start_date", day(0)),
                ("end_date", day(0)),
                ("metric_types", "SAVE,LIKES".into()),
            ],
            "unknown metric",
        ),
        (
            vec![
                ("start_date", "2026/01/01".into()),
                ("end_date", day(0)),
                ("metric_types", "SAVE".into()),
            ],
            "date format",
        ),
    ] {
        let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body) = analytics(&h, &token, pin, &pairs).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}: {body}");
        assert_eq!(body["code"], 400, "{why}");
    }
    let ok = [
        ("start_date", day(0)),
        ("end_date", day(0)),
        ("metric_types", "SAVE".to_owned()),
    ];
    let pairs: Vec<(&str, &str)> = ok.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, body) = analytics(&h, &token, "123456789", &pairs).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, json!({"code": 404, "message": "Pin not found."}));
    let (status, _) = analytics(&h, "pina_nope", pin, &pairs).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let other = h.token(
        Platform::Pinterest,
        "someone.else",
        &["boards:read", "pins:read"],
    );
    let (status, _) = analytics(&h, &other, pin, &pairs).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
