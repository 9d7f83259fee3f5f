//! Every rate limit the app applies, one test per tier: failed logins (per account), sign-ups
//! (per address), the general per-address ceiling, AI Studio calls (per seller per hour) and the
//! API (per token, shared by every web process). Each 429 names when to retry: a `Retry-After`
//! header, and a sentence for people (forms) or a JSON error (API).

use picscripter::domain::Platform;
use reqwest::{Response, StatusCode};
use serde_json::Value;

use crate::helpers::{PASSWORD, same_origin_headers, spawn_app, spawn_app_with, texts};

fn retry_after(res: &Response) -> u64 {
    res.headers()
        .get("retry-after")
        .expect("a 429 says when to retry")
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After is a number of seconds")
}

#[tokio::test]
async fn too_many_failed_logins_pause_the_account_and_the_form_says_for_how_long() {
    let app = spawn_app().await;
    let email = app.signed_up_user().await;
    let visitor = app.second_browser();
    for _ in 0..5 {
        let res = visitor
            .post_form(
                "/login",
                &[("email", &email), ("password", "not-the-password")],
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = visitor
        .post_form("/login", &[("email", &email), ("password", PASSWORD)])
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let secs = retry_after(&res);
    assert!(secs > 0 && secs <= 15 * 60, "{secs}");
    let html = res.text().await.unwrap();
    let alert = texts(&html, "[role=alert]").join(" ");
    assert!(alert.contains("Try again in"), "{alert}");
    assert!(alert.contains("minutes"), "{alert}");
}

#[tokio::test]
async fn too_many_sign_ups_from_one_address_are_refused_with_when_to_retry() {
    let app = spawn_app().await;
    // Each attempt counts, even one with nothing filled in.
    for _ in 0..10 {
        let res = app
            .post_form("/signup", &[("email", ""), ("password", "")])
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let res = app.signup("eleventh@example.com", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let secs = retry_after(&res);
    assert!(secs > 0 && secs <= 60 * 60, "{secs}");
    let html = res.text().await.unwrap();
    let alert = texts(&html, "[role=alert]").join(" ");
    assert!(alert.contains("Try again in"), "{alert}");
    assert_eq!(app.user_count().await, 0, "nothing was created");
}

#[tokio::test]
async fn a_flood_of_pages_from_one_address_names_the_wait_in_words() {
    let app = spawn_app_with(|env| {
        env.insert("RATE_LIMIT_PER_MINUTE".into(), "10".into());
    })
    .await;
    let mut limited = None;
    for _ in 0..40 {
        let res = app.get("/login").await;
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(res);
            break;
        }
    }
    let res = limited.expect("the per-address ceiling is reached");
    let secs = retry_after(&res);
    assert!(secs > 0, "{secs}");
    let html = res.text().await.unwrap();
    let message = texts(&html, "main p").join(" ");
    assert!(
        message.contains("too many requests from your address. Try again in"),
        "{message}"
    );
}

#[tokio::test]
async fn the_api_is_under_the_per_address_ceiling_too_even_without_a_token() {
    let app = spawn_app_with(|env| {
        env.insert("RATE_LIMIT_PER_MINUTE".into(), "10".into());
    })
    .await;
    let mut limited = None;
    for _ in 0..40 {
        let res = app.get("/api/v1/connections").await;
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(res);
            break;
        }
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = limited.expect("the per-address ceiling is reached");
    let secs = retry_after(&res);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    assert_eq!(body["error"]["retry_after_secs"], secs);
}

#[tokio::test]
async fn the_ai_studio_form_names_the_wait_once_the_hourly_allowance_is_used() {
    let (app, _sandbox) = crate::studio::with_gemini(|env| {
        env.insert("AI_RATE_LIMIT_PER_HOUR".into(), "1".into());
    })
    .await;
    let (_, mug) = crate::studio::seller_with_mug(&app).await;
    let (status, _) = crate::studio::generate(&app, mug, &[Platform::X]).await;
    assert_eq!(status, StatusCode::OK);

    let mut form = crate::studio::studio_form(&app, &format!("/studio?product_id={mug}")).await;
    form.retain(|(k, _)| k != "platform");
    form.push(("platform".into(), "x".into()));
    form.push(("action".into(), "generate".into()));
    let res = app
        .client
        .post(app.url("/studio"))
        .headers(same_origin_headers(&app.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let secs = retry_after(&res);
    assert!(secs > 0 && secs <= 3600, "{secs}");
    let html = res.text().await.unwrap();
    let notice = texts(&html, "#studio-notice").join(" ");
    assert!(notice.contains("Try again in"), "{notice}");
}

async fn api_get(base: &str, token: &str) -> Response {
    reqwest::Client::new()
        .get(format!("{base}/api/v1/connections"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn each_api_token_has_its_own_allowance_shared_by_every_web_process() {
    let app = spawn_app_with(|env| {
        env.insert("API_RATE_LIMIT_PER_MINUTE".into(), "3".into());
    })
    .await;
    app.signed_up_user().await;
    let user = app.newest_user_id().await;
    let token = app.api_token_of(user).await;
    // A second web process on the same Redis: the count is one, not one per process.
    let other_process = app.sibling(|_| {}).await;

    for base in [&app.base, &other_process.base, &app.base] {
        assert_eq!(api_get(base, &token).await.status(), StatusCode::OK);
    }
    let res = api_get(&other_process.base, &token).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let secs = retry_after(&res);
    assert!(secs > 0 && secs <= 60, "{secs}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    assert_eq!(body["error"]["retry_after_secs"], secs);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("try again in {secs} s")),
        "{message}"
    );

    let fresh = app.api_token_of(user).await;
    assert_eq!(
        api_get(&app.base, &fresh).await.status(),
        StatusCode::OK,
        "another token has its own allowance"
    );

    // Counted under the token's id: Redis never holds the secret or its hash.
    let id = app
        .scalar_string(&format!(
            "SELECT id::text FROM api_tokens WHERE token_hash = '{}'",
            picscripter::security::api_tokens::hash(&token)
        ))
        .await
        .unwrap();
    let (count, _) = app
        .state
        .redis
        .peek_window(&format!("throttle:api:token:{id}"))
        .await
        .unwrap();
    assert_eq!(count, 4);
}
