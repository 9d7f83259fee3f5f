use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;
use crate::sandbox::PublishedRecord;

/// An X access token for the seed persona.
async fn x_token(h: &Harness) -> String {
    let url = format!(
        "{}?{}",
        h.url(Platform::X, "x.com/i/oauth2/authorize"),
        query(&[
            ("response_type", "code"),
            ("client_id", &id(Platform::X)),
            ("redirect_uri", REDIRECT),
            ("scope", "tweet.read users.read"),
            ("state", "s"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ])
    );
    let code = param(&h.allow(&url).await, "code").unwrap();
    let (status, body) = h
        .get_json(
            h.http
                .post(h.url(Platform::X, "api.x.com/2/oauth2/token"))
                .header("authorization", basic(Platform::X))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", VERIFIER),
                ]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

async fn add_fault(h: &Harness, fault: Value) -> Value {
    let (status, body) = h
        .get_json(
            h.http
                .post(format!("{}/_sandbox/faults", h.base))
                .json(&fault),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

#[tokio::test]
async fn the_request_log_shows_each_platform_request_with_its_headers_body_and_status() {
    let h = Harness::start().await;
    let token = x_token(&h).await;
    let res = h
        .http
        .get(h.url(
            Platform::X,
            "api.x.com/2/users/me?user.fields=profile_image_url",
        ))
        .bearer_auth(&token)
        .header("user-agent", "picscripter-test")
        .header("x-unrelated", "dropped")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let (status, log) = h
        .get_json(
            h.http
                .get(format!("{}/_sandbox/requests?platform=x", h.base)),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let log = log.as_array().unwrap();
    assert_eq!(
        log.len(),
        4,
        "authorize page, consent answer, token, users/me: {log:?}"
    );
    let seqs: Vec<u64> = log.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));

    let token_call = &log[2];
    assert_eq!(token_call["method"], "POST");
    assert_eq!(token_call["host"], "api.x.com");
    assert_eq!(token_call["path"], "/2/oauth2/token");
    assert_eq!(token_call["status"], 200);
    assert!(
        token_call["headers"]["authorization"]
            .as_str()
            .unwrap()
            .starts_with("Basic ")
    );
    assert_eq!(
        token_call["headers"]["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert!(
        token_call["body"]
            .as_str()
            .unwrap()
            .contains("grant_type=authorization_code")
    );

    let me = &log[3];
    assert_eq!(me["query"], "user.fields=profile_image_url");
    assert_eq!(me["headers"]["user-agent"], "picscripter-test");
    assert!(me["headers"].get("x-unrelated").is_none());

    let (_, others) = h
        .get_json(
            h.http
                .get(format!("{}/_sandbox/requests?platform=etsy", h.base)),
        )
        .await;
    assert_eq!(others, json!([]));
    assert_eq!(h.sandbox.requests(Some(Platform::X)).len(), 4);

    let res = h
        .http
        .delete(format!("{}/_sandbox/requests", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(h.sandbox.requests(None).is_empty());
}

#[tokio::test]
async fn a_500_fault_with_times_one_fails_the_next_matching_request_only() {
    let h = Harness::start().await;
    let fault = add_fault(
        &h,
        json!({"platform":"x","path":"/2/oauth2/token","status":500,"times":1}),
    )
    .await;
    assert_eq!(fault["remaining"], 1);
    let (_, listed) = h
        .get_json(h.http.get(format!("{}/_sandbox/faults", h.base)))
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);

    let token_call = || {
        h.http
            .post(h.url(Platform::X, "api.x.com/2/oauth2/token"))
            .header("authorization", basic(Platform::X))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", "unknown"),
            ])
    };
    let (status, body) = h.get_json(token_call()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        body["error"], "server_error",
        "the token endpoint's own error shape"
    );
    let (status, body) = h.get_json(token_call()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "back to normal: {body}");
    let (_, listed) = h
        .get_json(h.http.get(format!("{}/_sandbox/faults", h.base)))
        .await;
    assert_eq!(listed, json!([]));
}

#[tokio::test]
async fn a_rate_limit_fault_answers_429_with_each_platforms_reset_information_until_the_window_ends()
 {
    let h = Harness::start().await;
    for platform in Platform::ALL {
        add_fault(
            &h,
            json!({"platform": platform, "rate_limit": {"reset_after_secs": 30}}),
        )
        .await;
    }
    let now = Utc::now().timestamp();

    let res = h
        .http
        .get(h.url(Platform::X, "api.x.com/2/users/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers()["x-rate-limit-remaining"], "0");
    let reset: i64 = res.headers()["x-rate-limit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((now + 28..=now + 31).contains(&reset), "{reset} vs {now}");

    let res = h
        .http
        .get(h.url(Platform::Etsy, "api.etsy.com/v3/application/users/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: i64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((28..=30).contains(&retry));
    assert_eq!(res.headers()["x-remaining-this-second"], "0");

    let res = h
        .http
        .get(h.url(Platform::Facebook, "graph.facebook.com/v21.0/me"))
        .send()
        .await
        .unwrap();
    assert!(
        res.headers().contains_key("x-app-usage")
            && res.headers().contains_key("x-business-use-case-usage")
    );
    let (status, body) = json_of(res).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"]["code"], 17);

    let (_, body) = h
        .get_json(
            h.http
                .get(h.url(Platform::Instagram, "graph.instagram.com/me")),
        )
        .await;
    assert_eq!(body["error"]["code"], 4);
    let (_, body) = h
        .get_json(
            h.http
                .get(h.url(Platform::Youtube, "www.googleapis.com/youtube/v3/channels")),
        )
        .await;
    assert_eq!(body["error"]["status"], "RESOURCE_EXHAUSTED");
    let (_, body) = h
        .get_json(
            h.http
                .get(h.url(Platform::Tiktok, "open.tiktokapis.com/v2/user/info/")),
        )
        .await;
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
    let (_, body) = h
        .get_json(h.http.post(h.url(
            Platform::Shopify,
            "demo.myshopify.com/admin/api/2026-01/graphql.json",
        )))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "THROTTLED");
    let (status, body) = h
        .get_json(h.http.get(h.url(
            Platform::Squarespace,
            "api.squarespace.com/1.0/authorization/website",
        )))
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(body["contextId"].is_string());
    let (status, body) = h
        .get_json(
            h.http
                .get(h.url(Platform::Pinterest, "api.pinterest.com/v5/boards")),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(body["code"].is_i64());
    let (status, _) = h
        .get_json(
            h.http
                .get(h.url(Platform::Linkedin, "api.linkedin.com/v2/userinfo")),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);

    h.sandbox.advance_clock(31);
    let (status, body) = h
        .get_json(h.http.get(h.url(Platform::X, "api.x.com/2/users/me")))
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the window is over: {body}"
    );
}

#[tokio::test]
async fn expiring_tokens_makes_every_token_issued_so_far_unauthorized() {
    let h = Harness::start().await;
    let token = x_token(&h).await;
    let me = || {
        h.http
            .get(h.url(Platform::X, "api.x.com/2/users/me"))
            .bearer_auth(&token)
    };
    assert_eq!(me().send().await.unwrap().status(), StatusCode::OK);
    let added = add_fault(&h, json!({"platform":"x","expire_tokens":true})).await;
    assert_eq!(added["expired_tokens"], 1);
    assert_eq!(added["active"], false);
    assert_eq!(
        me().send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let fresh = x_token(&h).await;
    let res = h
        .http
        .get(h.url(Platform::X, "api.x.com/2/users/me"))
        .bearer_auth(&fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "tokens issued afterwards work"
    );
}

#[tokio::test]
async fn latency_and_hangs_delay_the_answer_and_a_hanging_request_is_already_logged() {
    let h = Harness::start().await;
    add_fault(
        &h,
        json!({"platform":"pinterest","latency_ms":150,"times":1}),
    )
    .await;
    let started = Instant::now();
    let res = h
        .http
        .get(h.url(Platform::Pinterest, "api.pinterest.com/v5/boards"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(started.elapsed() >= Duration::from_millis(150));

    add_fault(&h, json!({"platform":"tiktok","timeout_secs":1})).await;
    let client = h.http.clone();
    let url = h.url(Platform::Tiktok, "open.tiktokapis.com/v2/user/info/");
    let pending = tokio::spawn(async move { client.get(url).send().await.unwrap().status() });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let hanging = h.sandbox.requests(Some(Platform::Tiktok));
    assert_eq!(hanging.len(), 1);
    assert_eq!(hanging[0].status, None, "received, not yet answered");
    assert_eq!(
        pending.await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "then answered normally"
    );
    assert_eq!(
        h.sandbox.requests(Some(Platform::Tiktok))[0].status,
        Some(401)
    );
}

#[tokio::test]
async fn an_error_rate_fails_the_same_requests_for_the_same_seed() {
    async fn run() -> Vec<u16> {
        let h = Harness::start_with(|c| c.seed = 99).await;
        add_fault(
            &h,
            json!({"platform":"pinterest","error_rate":0.3,"status":503}),
        )
        .await;
        let mut statuses = Vec::new();
        for _ in 0..20 {
            let res = h
                .http
                .get(h.url(Platform::Pinterest, "api.pinterest.com/v5/user_account"))
                .send()
                .await
                .unwrap();
            statuses.push(res.status().as_u16());
        }
        statuses
    }
    let first = run().await;
    assert_eq!(first, run().await);
    assert!(first.contains(&503) && first.contains(&401), "{first:?}");
}

#[tokio::test]
async fn bad_faults_are_refused_with_a_reason() {
    let h = Harness::start().await;
    for bad in [
        json!({"platform":"x"}),
        json!({"platform":"x","status":200}),
        json!({"platform":"myspace","status":500}),
        json!({"platform":"x","status":500,"colour":"red"}),
        json!({"platform":"x","error_rate":2.0}),
    ] {
        let (status, body) = h
            .get_json(
                h.http
                    .post(format!("{}/_sandbox/faults", h.base))
                    .json(&bad),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(body["error"].is_string());
    }
}

#[tokio::test]
async fn the_clock_endpoint_moves_sandbox_time_forward() {
    let h = Harness::start().await;
    let (_, before) = h
        .get_json(h.http.get(format!("{}/_sandbox/clock", h.base)))
        .await;
    let before = chrono::DateTime::parse_from_rfc3339(before["now"].as_str().unwrap()).unwrap();
    let (status, after) = h
        .get_json(
            h.http
                .post(format!("{}/_sandbox/clock", h.base))
                .json(&json!({"advance_secs": 86_400})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let after = chrono::DateTime::parse_from_rfc3339(after["now"].as_str().unwrap()).unwrap();
    assert!((after - before).num_seconds() >= 86_400);
    let (status, _) = h
        .get_json(
            h.http
                .post(format!("{}/_sandbox/clock", h.base))
                .json(&json!({"advance_secs": -5})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_published_list_is_empty_until_something_is_published_and_filters_by_platform() {
    let h = Harness::start().await;
    let (status, body) = h
        .get_json(h.http.get(format!("{}/_sandbox/published", h.base)))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!([]));
    h.sandbox.shared.published().push(PublishedRecord {
        seq: 1,
        request_seq: 1,
        at: h.sandbox.now(),
        platform: Platform::Pinterest,
        account_id: "1".into(),
        account: "mapleandmoss".into(),
        kind: "pin".into(),
        remote_id: "813".into(),
        url: None,
        text: "Mug".into(),
        media: Vec::new(),
        options: json!({"title": "Mug"}),
    });
    let (_, pins) = h
        .get_json(
            h.http
                .get(format!("{}/_sandbox/published?platform=pinterest", h.base)),
        )
        .await;
    assert_eq!(pins[0]["seq"], 1);
    assert_eq!(pins[0]["remote_id"], "813");
    let (_, tweets) = h
        .get_json(
            h.http
                .get(format!("{}/_sandbox/published?platform=x", h.base)),
        )
        .await;
    assert_eq!(tweets, json!([]));
    let (status, _) = h
        .get_json(
            h.http
                .get(format!("{}/_sandbox/published?platform=myspace", h.base)),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn paths_the_sandbox_does_not_emulate_answer_404_in_the_platforms_error_shape() {
    let h = Harness::start().await;
    let res = h
        .http
        .get(h.url(Platform::X, "api.x.com/2/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let (status, body) = json_of(res).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["status"], 404);

    let (status, body) = h
        .get_json(
            h.http
                .get(h.url(Platform::Facebook, "graph.facebook.com/v21.0/me/nothing")),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"]["fbtrace_id"].is_string());
    let (_, body) = h
        .get_json(
            h.http
                .get(h.url(Platform::Pinterest, "api.pinterest.com/v5/nothing")),
        )
        .await;
    assert_eq!(body["code"], 404);
    let (_, body) = h
        .get_json(
            h.http
                .get(h.url(Platform::Youtube, "www.googleapis.com/youtube/v3/nothing")),
        )
        .await;
    assert_eq!(body["error"]["status"], "NOT_FOUND");
    let (_, body) = h
        .get_json(
            h.http
                .get(h.url(Platform::Tiktok, "open.tiktokapis.com/v2/nothing/")),
        )
        .await;
    assert!(body["error"]["log_id"].is_string());
    let (_, body) = h
        .get_json(h.http.get(h.url(Platform::Etsy, "api.etsy.com/v3/nothing")))
        .await;
    assert!(body["error"].is_string());
    let (status, _) = h
        .get_json(h.http.delete(h.url(Platform::X, "api.x.com/2/users/me")))
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, body) = h
        .get_json(h.http.get(format!("{}/myspace/api.myspace.com/x", h.base)))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].as_str().unwrap().contains("myspace"));
}

#[tokio::test]
async fn the_index_page_and_health_answer() {
    let h = Harness::start().await;
    let _ = x_token(&h).await;
    let res = h
        .http
        .get(format!("{}/_sandbox", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("sandbox-etsy-client-id") && html.contains("/2/oauth2/token"));
    let (status, body) = h
        .get_json(h.http.get(format!("{}/_sandbox/health", h.base)))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
}
