//! Outgoing webhooks: a seller adds an endpoint under Settings → Webhooks, gets its signing secret
//! once, and receives signed events — a post published, an account needing reconnection, a test
//! — retried with backoff when the receiver fails, each attempt in the delivery log. A wiremock
//! server is the receiver.

use std::time::Duration;

use chrono::Utc;
use hmac::{Hmac, Mac as _};
use picscripter::domain::Platform;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{PASSWORD, TestApp, eventually, texts};

/// A receiver answering `status` to every POST on /hooks.
async fn receiver(status: u16) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hooks"))
        .respond_with(ResponseTemplate::new(status).set_body_string("thanks"))
        .mount(&server)
        .await;
    server
}

/// An app that may send to the receiver over plain http (it is on this machine).
async fn app_for(server: &MockServer) -> TestApp {
    let origin = server.uri();
    crate::helpers::spawn_app_with(move |env| {
        env.insert("OUTBOUND_ALLOW_ORIGINS".into(), origin);
    })
    .await
}

/// Adds an endpoint through the settings form; returns its id and the secret shown once.
async fn add_endpoint(app: &TestApp, url: &str, events: &[&str]) -> (Uuid, String) {
    let mut fields = vec![("url", url)];
    fields.extend(events.iter().map(|e| ("events", *e)));
    let res = app.post_form("/settings/webhooks", &fields).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let html = res.text().await.unwrap();
    let doc = scraper::Html::parse_document(&html);
    let secret = doc
        .select(&scraper::Selector::parse("#webhook-secret").unwrap())
        .next()
        .and_then(|e| e.value().attr("value"))
        .expect("the secret is shown once")
        .to_owned();
    let id = app
        .scalar_string("SELECT id::text FROM webhook_endpoints ORDER BY created_at DESC LIMIT 1")
        .await
        .unwrap()
        .parse()
        .unwrap();
    (id, secret)
}

/// Checks the `Picscripter-Signature` of a received request the way a receiver would; returns
/// the parsed body.
fn verified(req: &wiremock::Request, secret: &str) -> Value {
    let header = req
        .headers
        .get("picscripter-signature")
        .expect("the request is signed")
        .to_str()
        .unwrap();
    let (t, v1) = header
        .split_once(',')
        .map(|(t, v)| {
            (
                t.strip_prefix("t=").unwrap(),
                v.strip_prefix("v1=").unwrap(),
            )
        })
        .expect("t=…,v1=…");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&req.body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1, expected, "the signature matches the body and timestamp");
    let age = Utc::now().timestamp() - t.parse::<i64>().unwrap();
    assert!((0..300).contains(&age), "the timestamp is current");
    serde_json::from_slice(&req.body).unwrap()
}

fn header(req: &wiremock::Request, name: &str) -> String {
    req.headers
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_published_post_sends_a_signed_post_published_event() {
    let server = receiver(200).await;
    let origin = server.uri();
    let (app, sandbox, _media) = crate::helpers::spawn_app_with_sandbox_and_media(move |env| {
        env.insert("OUTBOUND_ALLOW_ORIGINS".into(), origin);
    })
    .await;
    app.signed_up_user().await;
    let user = app.newest_user_id().await;
    crate::oauth::connect(&app, &sandbox, Platform::X).await;
    let x: Uuid = app
        .scalar_string("SELECT id::text FROM connections WHERE platform = 'x'")
        .await
        .unwrap()
        .parse()
        .unwrap();
    let (endpoint, secret) = add_endpoint(
        &app,
        &format!("{}/hooks", server.uri()),
        &["post.published", "post.failed"],
    )
    .await;

    let token = app.api_token_of(user).await;
    let res = app
        .client
        .post(app.url("/api/v1/posts"))
        .bearer_auth(&token)
        .json(&json!({ "body": "New mugs are in", "targets": [{ "connection_id": x }], "publish_now": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let post: Value = res.json().await.unwrap();
    let _worker = app.spawn_worker();
    eventually(
        "the receiver gets an event",
        Duration::from_secs(60),
        || async { !server.received_requests().await.unwrap().is_empty() },
    )
    .await;

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "one event for one published target");
    let req = &requests[0];
    let event = verified(req, &secret);
    assert_eq!(event["type"], "post.published");
    assert_eq!(header(req, "picscripter-event"), "post.published");
    assert!(Uuid::parse_str(event["id"].as_str().unwrap()).is_ok());
    assert!(event["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(event["data"]["post_id"], post["id"]);
    assert_eq!(event["data"]["platform"], "x");
    assert_eq!(event["data"]["status"], "published");
    let remote_url = app
        .scalar_string("SELECT remote_url FROM post_targets")
        .await
        .unwrap();
    assert_eq!(event["data"]["remote_url"], remote_url.as_str());
    let delivery = header(req, "picscripter-delivery");
    assert_eq!(
        app.scalar_string("SELECT id::text FROM webhook_deliveries")
            .await
            .unwrap(),
        delivery
    );

    // The delivery log shows it, answered 200.
    eventually("the attempt is logged", Duration::from_secs(10), || async {
        app.scalar_i64("SELECT count(*) FROM webhook_attempts")
            .await
            == 1
    })
    .await;
    let (_, html) = app
        .get_html(&format!("/settings/webhooks/{endpoint}"))
        .await;
    assert_eq!(texts(&html, ".delivery-event"), vec!["post.published"]);
    assert_eq!(texts(&html, ".delivery-outcome"), vec!["200"]);
    assert_eq!(texts(&html, ".delivery-attempt"), vec!["1"]);
}

#[tokio::test]
async fn a_failing_receiver_is_retried_with_backoff_and_the_log_shows_each_attempt() {
    let server = receiver(500).await;
    let app = app_for(&server).await;
    app.signed_up_user().await;
    let user = app.newest_user_id().await;
    let shop = app.saved_connection(user, Platform::X, "Mug Shop").await;
    let (endpoint, _) = add_endpoint(
        &app,
        &format!("{}/hooks", server.uri()),
        &["connection.needs_reauth"],
    )
    .await;
    app.state
        .connections
        .mark_rejected(shop, "X refused the token.")
        .await
        .unwrap();

    let webhooks = &app.state.webhooks;
    let mut at = Utc::now();
    assert_eq!(webhooks.deliver_due(at, 50).await.unwrap(), 1);
    // Each retry waits longer: nothing is sent a second early, then it goes.
    for wait in [1, 5, 30, 120, 360] {
        at += chrono::Duration::minutes(wait);
        assert_eq!(
            webhooks
                .deliver_due(at - chrono::Duration::seconds(1), 50)
                .await
                .unwrap(),
            0,
            "not retried before {wait} minutes"
        );
        assert_eq!(webhooks.deliver_due(at, 50).await.unwrap(), 1);
    }
    // Six attempts, then it gives up for good.
    assert_eq!(
        webhooks
            .deliver_due(at + chrono::Duration::days(7), 50)
            .await
            .unwrap(),
        0
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 6);
    let deliveries: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| header(r, "picscripter-delivery"))
        .collect();
    assert!(
        deliveries.iter().all(|d| d == &deliveries[0]),
        "every retry carries the same delivery id"
    );

    let (_, html) = app
        .get_html(&format!("/settings/webhooks/{endpoint}"))
        .await;
    assert_eq!(texts(&html, ".delivery-outcome"), vec!["500"; 6]);
    assert_eq!(
        texts(&html, ".delivery-attempt"),
        vec!["6", "5", "4", "3", "2", "1"]
    );
    assert_eq!(texts(&html, ".delivery-gave-up"), vec!["Gave up"]);
    assert_eq!(
        app.scalar_string("SELECT status FROM webhook_deliveries")
            .await
            .unwrap(),
        "failed"
    );
}

#[tokio::test]
async fn connection_needs_reauth_is_sent_once_when_a_connection_is_marked() {
    let server = receiver(204).await;
    let app = app_for(&server).await;
    app.signed_up_user().await;
    let user = app.newest_user_id().await;
    let shop = app.saved_connection(user, Platform::X, "Mug Shop").await;
    let (_, secret) = add_endpoint(
        &app,
        &format!("{}/hooks", server.uri()),
        &["connection.needs_reauth"],
    )
    .await;
    // An endpoint that didn't ask for it, and one switched off, get nothing.
    let (_, _) = add_endpoint(
        &app,
        &format!("{}/hooks?published-only", server.uri()),
        &["post.published"],
    )
    .await;
    let (off, _) = add_endpoint(
        &app,
        &format!("{}/hooks?off", server.uri()),
        &["connection.needs_reauth"],
    )
    .await;
    let res = app
        .post_form(&format!("/settings/webhooks/{off}/disable"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    app.state
        .connections
        .mark_rejected(shop, "X refused the token.")
        .await
        .unwrap();
    // Marked again while already waiting for reconnection: no second event.
    app.state
        .connections
        .mark_rejected(shop, "X refused the token.")
        .await
        .unwrap();
    assert_eq!(
        app.state
            .webhooks
            .deliver_due(Utc::now(), 50)
            .await
            .unwrap(),
        1
    );

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].url.query(), None);
    let event = verified(&requests[0], &secret);
    assert_eq!(event["type"], "connection.needs_reauth");
    assert_eq!(event["data"]["connection_id"], shop.to_string());
    assert_eq!(event["data"]["platform"], "x");
    assert_eq!(event["data"]["account"], "Mug Shop");
    assert_eq!(event["data"]["reason"], "X refused the token.");
}

#[tokio::test]
async fn send_test_delivers_at_once_and_shows_in_the_log() {
    let server = receiver(200).await;
    let app = app_for(&server).await;
    app.signed_up_user().await;
    let (endpoint, secret) =
        add_endpoint(&app, &format!("{}/hooks", server.uri()), &["post.failed"]).await;
    let (_, html) = app
        .get_html(&format!("/settings/webhooks/{endpoint}"))
        .await;
    assert!(html.contains("Nothing sent yet."));

    let res = app
        .post_form(&format!("/settings/webhooks/{endpoint}/test"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "sent before the answer came back");
    let event = verified(&requests[0], &secret);
    assert_eq!(event["type"], "webhook.test");
    assert_eq!(header(&requests[0], "picscripter-event"), "webhook.test");

    let (_, html) = app
        .get_html(&format!("/settings/webhooks/{endpoint}"))
        .await;
    assert!(
        html.contains("The test event was delivered; your endpoint answered 200."),
        "{html}"
    );
    assert_eq!(texts(&html, ".delivery-event"), vec!["webhook.test"]);
    assert_eq!(texts(&html, ".delivery-outcome"), vec!["200"]);
    // The secret is stored sealed, never in the clear.
    assert_eq!(
        app.scalar_i64(&format!(
            "SELECT count(*) FROM webhook_endpoints WHERE position('{secret}'::bytea in secret_enc) > 0"
        ))
        .await,
        0
    );
    assert!(!html.contains(&secret), "shown only once");
}

#[tokio::test]
async fn another_users_endpoints_are_neither_visible_nor_editable() {
    let server = receiver(200).await;
    let app = app_for(&server).await;
    app.signed_up_user().await;
    let url = format!("{}/hooks", server.uri());
    let (endpoint, _) = add_endpoint(&app, &url, &["post.published"]).await;

    let other = app.second_browser();
    let res = other
        .post_form(
            "/signup",
            &[
                ("email", "other-seller@example.com"),
                ("password", PASSWORD),
                ("time_zone", "Europe/Berlin"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (status, html) = other.get_html("/settings/webhooks").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains(&url));
    let (status, _) = other
        .get_html(&format!("/settings/webhooks/{endpoint}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for action in ["test", "disable", "delete"] {
        let res = other
            .post_form(&format!("/settings/webhooks/{endpoint}/{action}"), &[])
            .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{action}");
    }
    assert!(server.received_requests().await.unwrap().is_empty());
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM webhook_endpoints WHERE enabled")
            .await,
        1
    );
}

#[tokio::test]
async fn a_bad_url_or_no_event_is_explained_next_to_the_field_and_nothing_is_saved() {
    let server = receiver(200).await;
    let app = app_for(&server).await;
    app.signed_up_user().await;
    for (url, says) in [
        ("http://shop.example.com/hooks", "https://"),
        ("shop.example.com/hooks", "full URL"),
        ("", "Enter the URL"),
    ] {
        let res = app
            .post_form(
                "/settings/webhooks",
                &[("url", url), ("events", "post.published")],
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = res.text().await.unwrap();
        let error = texts(&html, "#url-error");
        assert!(
            error.len() == 1 && error[0].contains(says),
            "{url:?}: {error:?}"
        );
        assert!(
            html.contains(&format!("value=\"{url}\"")),
            "the input is kept"
        );
    }
    let res = app
        .post_form(
            "/settings/webhooks",
            &[("url", "https://shop.example.com/hooks")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert_eq!(
        texts(&html, "#events-error"),
        vec!["Choose at least one event to send."]
    );
    assert!(texts(&html, "#url-error").is_empty());
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM webhook_endpoints")
            .await,
        0
    );
}

#[tokio::test]
async fn rotate_keys_reseals_webhook_secrets_so_they_still_sign_with_only_the_new_key() {
    const KEY_2: &str = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";
    let server = receiver(200).await;
    let app = app_for(&server).await;
    app.signed_up_user().await;
    let user = app.newest_user_id().await;
    let (endpoint, secret) =
        add_endpoint(&app, &format!("{}/hooks", server.uri()), &["post.failed"]).await;
    let ring = |keys: String, current: &str| {
        let mut env = app.env.clone();
        env.insert("ENCRYPTION_KEYS_JSON".into(), keys);
        env.insert("ENCRYPTION_KEY_CURRENT".into(), current.into());
        picscripter::config::Config::from_env(&env)
            .unwrap()
            .encryption_keys
    };
    let both = picscripter::security::cipher::TokenCipher::new(ring(
        format!("{{\"1\":\"{}\",\"2\":\"{KEY_2}\"}}", crate::helpers::KEY_1),
        "2",
    ));
    let report = picscripter::webhooks::rotate_secrets(&app.db, &both)
        .await
        .unwrap();
    assert_eq!((report.rotated, report.unreadable), (1, 0));
    let again = picscripter::webhooks::rotate_secrets(&app.db, &both)
        .await
        .unwrap();
    assert_eq!(again.rotated, 0, "a second run changes nothing");

    let only_new = picscripter::webhooks::Webhooks::new(
        app.db.clone(),
        picscripter::security::cipher::TokenCipher::new(ring(
            format!("{{\"2\":\"{KEY_2}\"}}"),
            "2",
        )),
        std::sync::Arc::new(picscripter::webhooks::SafeTransport::new(
            picscripter::net::SafeFetch::new(&app.state.config),
        )),
        vec![server.uri()],
    );
    let endpoint = only_new.endpoint_of(user, endpoint).await.unwrap().unwrap();
    assert!(only_new.send_test(&endpoint).await.unwrap().delivered);
    let requests = server.received_requests().await.unwrap();
    verified(&requests[0], &secret);
}
