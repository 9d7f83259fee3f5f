//! Connections: storage, refresh, rotation, isolation and the page — against wiremock standing
//! in for a platform (the full OAuth round trips against the sandbox are in `oauth.rs`).

use std::sync::Arc;

use chrono::{Duration, Utc};
use picscripter::connections::rotate::rotate_keys;
use picscripter::connections::{Connections, RefreshOutcome, RefreshReason, TokenError};
use picscripter::domain::Platform;
use picscripter::platforms::{Registry, RemoteAccount, TokenSet};
use picscripter::security::cipher::TokenCipher;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use uuid::Uuid;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{TestApp, spawn_app, spawn_app_with, texts};

const KEY_2: &str = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";

fn account(id: &str, name: &str) -> RemoteAccount {
    RemoteAccount {
        account_id: id.into(),
        display_name: name.into(),
        avatar_url: None,
        access_token: None,
        metadata: json!({ "username": name }),
    }
}

fn tokens(access: &str, refresh: Option<&str>, expires_in: Option<i64>) -> TokenSet {
    TokenSet {
        access_token: SecretString::from(access.to_owned()),
        refresh_token: refresh.map(|r| SecretString::from(r.to_owned())),
        expires_at: expires_in.map(|s| Utc::now() + Duration::seconds(s)),
        refresh_expires_at: None,
        scopes: vec!["tweet.read".into()],
    }
}

async fn user_id(app: &TestApp) -> Uuid {
    app.signed_up_user().await;
    Uuid::parse_str(
        &app.scalar_string("SELECT id::text FROM users ORDER BY created_at DESC LIMIT 1")
            .await
            .unwrap(),
    )
    .unwrap()
}

async fn x_refresh_mock(server: &MockServer, expect: u64) {
    Mock::given(method("POST"))
        .and(path("/x/api.x.com/2/oauth2/token"))
        .and(header(
            "authorization",
            "Basic c2FuZGJveC14LWNsaWVudC1pZDpzYW5kYm94LXgtY2xpZW50LXNlY3JldA==",
        ))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=refresh-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "bearer", "expires_in": 7200, "access_token": "access-2",
            "scope": "tweet.read users.read offline.access", "refresh_token": "refresh-2"
        })))
        .expect(expect)
        .mount(server)
        .await;
}

async fn app_against(server: &MockServer) -> TestApp {
    let uri = server.uri();
    spawn_app_with(move |env| {
        env.insert("SANDBOX_URL".into(), uri);
    })
    .await
}

#[tokio::test]
async fn tokens_are_stored_as_ciphertext_bound_to_their_row() {
    let app = spawn_app().await;
    let user = user_id(&app).await;
    let (saved, is_new) = app
        .state
        .connections
        .save_connected(
            user,
            Platform::X,
            &account("42", "maple"),
            &tokens("plain-access", Some("plain-refresh"), Some(7200)),
            None,
        )
        .await
        .unwrap();
    assert!(is_new);
    let stored = saved.access_token_enc.clone().unwrap();
    assert!(!String::from_utf8_lossy(&stored).contains("plain-access"));
    assert_eq!(saved.key_version, Some(1));
    let grant = app.state.connections.grant(&saved).await.unwrap();
    assert_eq!(grant.access_token.unwrap().expose_secret(), "plain-access");
    assert_eq!(
        grant.refresh_token.unwrap().expose_secret(),
        "plain-refresh"
    );
    let text_dump = app
        .scalar_string("SELECT string_agg(coalesce(encode(access_token_enc, 'escape'), '') || encode(refresh_token_enc, 'escape'), '') FROM connections")
        .await
        .unwrap();
    assert!(!text_dump.contains("plain-"), "no plaintext in the table");
}

#[tokio::test]
async fn reconnecting_renews_the_same_connection_and_keeps_a_refresh_token_the_platform_did_not_resend()
 {
    let app = spawn_app().await;
    let user = user_id(&app).await;
    let c = &app.state.connections;
    let (first, _) = c
        .save_connected(
            user,
            Platform::X,
            &account("42", "maple"),
            &tokens("a1", Some("r1"), Some(7200)),
            None,
        )
        .await
        .unwrap();
    let (second, is_new) = c
        .save_connected(
            user,
            Platform::X,
            &account("42", "maple"),
            &tokens("a2", None, Some(7200)),
            None,
        )
        .await
        .unwrap();
    assert!(!is_new);
    assert_eq!(first.id, second.id);
    let grant = c.grant(&second).await.unwrap();
    assert_eq!(grant.access_token.unwrap().expose_secret(), "a2");
    assert_eq!(
        grant.refresh_token.unwrap().expose_secret(),
        "r1",
        "an empty refresh token never overwrites a stored one"
    );
    assert_eq!(app.scalar_i64("SELECT count(*) FROM connections").await, 1);
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM audit_events WHERE action = 'connection.connected'")
            .await,
        2
    );
}

#[tokio::test]
async fn fifty_concurrent_callers_on_an_expired_token_cause_exactly_one_refresh() {
    let server = MockServer::start().await;
    x_refresh_mock(&server, 1).await;
    let app = app_against(&server).await;
    let user = user_id(&app).await;
    let (conn, _) = app
        .state
        .connections
        .save_connected(
            user,
            Platform::X,
            &account("42", "maple"),
            &tokens("access-1", Some("refresh-1"), Some(-10)),
            None,
        )
        .await
        .unwrap();

    let connections = Arc::new(app.state.connections.clone());
    let calls = (0..50).map(|_| {
        let c = connections.clone();
        tokio::spawn(async move { c.access_token(conn.id).await })
    });
    let results = futures::future::join_all(calls).await;

    for r in results {
        assert_eq!(r.unwrap().unwrap().expose_secret(), "access-2");
    }
    server.verify().await;
    let grant = app
        .state
        .connections
        .grant(
            &app.state
                .connections
                .find_for_user(user, conn.id)
                .await
                .unwrap()
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        grant.refresh_token.unwrap().expose_secret(),
        "refresh-2",
        "the rotated refresh token is stored"
    );
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM audit_events WHERE action = 'connection.refreshed'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_rotated_refresh_token_is_never_sent_again() {
    let server = MockServer::start().await;
    x_refresh_mock(&server, 1).await;
    Mock::given(method("POST"))
        .and(path("/x/api.x.com/2/oauth2/token"))
        .and(body_string_contains("refresh_token=refresh-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "bearer", "expires_in": 7200, "access_token": "access-3", "refresh_token": "refresh-3"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let app = app_against(&server).await;
    let user = user_id(&app).await;
    let (conn, _) = app
        .state
        .connections
        .save_connected(
            user,
            Platform::X,
            &account("42", "maple"),
            &tokens("access-1", Some("refresh-1"), Some(-10)),
            None,
        )
        .await
        .unwrap();

    assert_eq!(
        app.state
            .connections
            .access_token(conn.id)
            .await
            .unwrap()
            .expose_secret(),
        "access-2"
    );
    // The platform now says access-2 is no longer valid: the next refresh must use refresh-2.
    let seen = picscripter::security::sha256_hex(b"access-2");
    let (token, outcome) = app
        .state
        .connections
        .refresh(conn.id, RefreshReason::Rejected(seen))
        .await
        .unwrap();
    assert_eq!(
        (token.expose_secret(), outcome),
        ("access-3", RefreshOutcome::Refreshed)
    );

    server.verify().await;
    let bodies: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert_eq!(
        bodies
            .iter()
            .filter(|b| b.contains("refresh_token=refresh-1"))
            .count(),
        1
    );
    assert_eq!(
        bodies
            .iter()
            .filter(|b| b.contains("refresh_token=refresh-2"))
            .count(),
        1
    );
}

#[tokio::test]
async fn only_a_dead_grant_marks_the_connection_for_reauthorization() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/x/api.x.com/2/oauth2/token"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/x/api.x.com/2/oauth2/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant", "error_description": "Value passed for the token was invalid."})))
        .mount(&server)
        .await;
    let app = app_against(&server).await;
    let user = user_id(&app).await;
    let (conn, _) = app
        .state
        .connections
        .save_connected(
            user,
            Platform::X,
            &account("42", "maple"),
            &tokens("access-1", Some("refresh-1"), Some(-10)),
            None,
        )
        .await
        .unwrap();

    let first = app.state.connections.access_token(conn.id).await;
    assert!(matches!(first, Err(TokenError::Temporary(_))), "{first:?}");
    assert_eq!(
        app.scalar_string("SELECT status FROM connections")
            .await
            .unwrap(),
        "active",
        "a platform outage is not a dead grant"
    );

    let second = app.state.connections.access_token(conn.id).await;
    assert!(
        matches!(second, Err(TokenError::NeedsReauth(_))),
        "{second:?}"
    );
    assert_eq!(
        app.scalar_string("SELECT status FROM connections")
            .await
            .unwrap(),
        "needs_reauth"
    );
    let (_, html) = app.get_html("/connections").await;
    assert_eq!(
        texts(&html, "#platform-x .status"),
        vec!["Needs reconnecting"]
    );
    assert!(texts(&html, "#platform-x .connection a")[0].contains("Reconnect"));
    let (_, dashboard) = app.get_html("/dashboard").await;
    assert!(texts(&dashboard, "#account-health")[0].contains("Needs reconnecting"));
    assert_eq!(
        app.scalar_i64(
            "SELECT count(*) FROM audit_events WHERE action = 'connection.needs_reauth'"
        )
        .await,
        1
    );
    assert_eq!(
        app.scalar_i64(
            "SELECT count(*) FROM audit_events WHERE action = 'connection.refresh_failed'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_network_failure_during_refresh_never_marks_the_connection() {
    // Nothing listens on port 1: every refresh attempt fails to connect.
    let app = spawn_app_with(|env| {
        env.insert("SANDBOX_URL".into(), "http://127.0.0.1:1".into());
    })
    .await;
    let user = user_id(&app).await;
    let (conn, _) = app
        .state
        .connections
        .save_connected(
            user,
            Platform::X,
            &account("42", "maple"),
            &tokens("access-1", Some("refresh-1"), Some(-10)),
            None,
        )
        .await
        .unwrap();
    for _ in 0..3 {
        assert!(matches!(
            app.state.connections.access_token(conn.id).await,
            Err(TokenError::Temporary(_))
        ));
    }
    assert_eq!(
        app.scalar_string("SELECT status FROM connections")
            .await
            .unwrap(),
        "active"
    );
}

#[tokio::test]
async fn key_rotation_interrupted_halfway_resumes_and_leaves_every_token_usable() {
    let app = spawn_app().await;
    let user = user_id(&app).await;
    for i in 0..10 {
        app.state
            .connections
            .save_connected(
                user,
                Platform::X,
                &account(&i.to_string(), &format!("acct{i}")),
                &tokens(
                    &format!("access-{i}"),
                    Some(&format!("refresh-{i}")),
                    Some(3600),
                ),
                None,
            )
            .await
            .unwrap();
    }
    let mut env = app.env.clone();
    env.insert(
        "ENCRYPTION_KEYS_JSON".into(),
        format!("{{\"1\":\"{}\",\"2\":\"{KEY_2}\"}}", crate::helpers::KEY_1),
    );
    env.insert("ENCRYPTION_KEY_CURRENT".into(), "2".into());
    let config = Arc::new(picscripter::config::Config::from_env(&env).unwrap());
    let cipher = TokenCipher::new(config.encryption_keys.clone());

    // "Crash" after four rows.
    let partial = rotate_keys(&app.db, &cipher, Some(4)).await.unwrap();
    assert_eq!((partial.rotated, partial.remaining), (4, 6));
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM connections WHERE key_version = 2")
            .await,
        4
    );

    let rest = rotate_keys(&app.db, &cipher, None).await.unwrap();
    assert_eq!((rest.rotated, rest.remaining, rest.unreadable), (6, 0, 0));
    let again = rotate_keys(&app.db, &cipher, None).await.unwrap();
    assert_eq!(again.rotated, 0, "running it twice changes nothing");

    // Only key 2 is needed now.
    let mut only_2 = env.clone();
    only_2.insert(
        "ENCRYPTION_KEYS_JSON".into(),
        format!("{{\"2\":\"{KEY_2}\"}}"),
    );
    let config2 = Arc::new(picscripter::config::Config::from_env(&only_2).unwrap());
    let c2 = Connections::new(
        app.db.clone(),
        TokenCipher::new(config2.encryption_keys.clone()),
        Registry::new(config2.clone()),
    );
    for m in c2.list_for_user(user).await.unwrap() {
        let g = c2.grant(&m).await.unwrap();
        let i = m.account_id;
        assert_eq!(
            g.access_token.unwrap().expose_secret(),
            format!("access-{i}")
        );
        assert_eq!(
            g.refresh_token.unwrap().expose_secret(),
            format!("refresh-{i}")
        );
        assert_eq!(m.key_version, Some(2));
    }
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM audit_events WHERE action = 'keys.rotated'")
            .await,
        3
    );
}

#[tokio::test]
async fn a_token_that_no_longer_decrypts_asks_for_reconnection_instead_of_failing() {
    let app = spawn_app().await;
    let user = user_id(&app).await;
    let (conn, _) = app
        .state
        .connections
        .save_connected(
            user,
            Platform::X,
            &account("42", "maple"),
            &tokens("a", Some("r"), Some(3600)),
            None,
        )
        .await
        .unwrap();
    // A ciphertext copied from another row is bound to that row and won't open here.
    app.db
        .execute_unprepared(&format!(
            "UPDATE connections SET access_token_enc = refresh_token_enc WHERE id = '{}'",
            conn.id
        ))
        .await
        .unwrap();
    let result = app.state.connections.access_token(conn.id).await;
    assert!(
        matches!(result, Err(TokenError::NeedsReauth(_))),
        "{result:?}"
    );
    assert_eq!(
        app.scalar_string("SELECT status FROM connections")
            .await
            .unwrap(),
        "needs_reauth"
    );
    assert_eq!(
        app.scalar_i64(
            "SELECT count(*) FROM audit_events WHERE action = 'connection.token_undecryptable'"
        )
        .await,
        1
    );
    assert_eq!(app.get("/connections").await.status(), StatusCode::OK);
}

use sea_orm::ConnectionTrait as _;

#[tokio::test]
async fn another_user_can_neither_see_nor_touch_a_connection() {
    let app = spawn_app().await;
    let owner = user_id(&app).await;
    let (conn, _) = app
        .state
        .connections
        .save_connected(
            owner,
            Platform::Pinterest,
            &account("p1", "maple pins"),
            &tokens("a", Some("r"), Some(3600)),
            None,
        )
        .await
        .unwrap();

    let intruder = app.second_browser();
    intruder
        .post_form(
            "/signup",
            &[
                ("email", "intruder@example.com"),
                ("password", crate::helpers::PASSWORD),
                ("time_zone", "UTC"),
            ],
        )
        .await;
    let (_, html) = intruder.get_html("/connections").await;
    assert!(!html.contains("maple pins"));
    for action in ["disconnect", "check", "board"] {
        let res = intruder
            .post_form(
                &format!("/connections/{}/{action}", conn.id),
                &[("board_id", "x")],
            )
            .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{action}");
    }
    assert_eq!(
        app.scalar_string("SELECT status FROM connections")
            .await
            .unwrap(),
        "active"
    );
}

#[tokio::test]
async fn the_connections_page_offers_every_platform_grouped_by_kind() {
    let app = spawn_app_with(|env| {
        env.insert("SANDBOX_URL".into(), "http://127.0.0.1:9".into());
    })
    .await;
    app.signed_up_user().await;
    let (_, html) = app.get_html("/connections").await;
    assert_eq!(
        texts(&html, "section[aria-labelledby=social-heading] article h3"),
        vec![
            "X",
            "Instagram",
            "Facebook",
            "LinkedIn",
            "Pinterest",
            "TikTok",
            "YouTube"
        ]
    );
    assert_eq!(
        texts(
            &html,
            "section[aria-labelledby=commerce-heading] article h3"
        ),
        vec!["Shopify", "Etsy", "Squarespace"]
    );
    assert_eq!(texts(&html, "#platform-x a.btn"), vec!["Connect X"]);
    assert_eq!(
        texts(&html, "#platform-shopify label"),
        vec!["Your shop's address"]
    );
    assert!(html.contains("Sandbox mode"));
}

#[tokio::test]
async fn without_credentials_a_platform_says_what_the_administrator_must_set() {
    let app = spawn_app().await;
    app.signed_up_user().await;
    let (_, html) = app.get_html("/connections").await;
    assert!(texts(&html, "#platform-x")[0].contains("X_CLIENT_ID and X_CLIENT_SECRET"));
    let res = app.get("/connections/x/connect").await;
    assert_eq!(crate::helpers::location(&res), "/connections");
    let (_, html) = app.get_html("/connections").await;
    assert!(texts(&html, ".flash-error")[0].starts_with("X isn't set up on this Picscripter yet"));
    assert_eq!(
        app.get("/connections/myspace/connect").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_shop_address_is_checked_before_leaving_for_shopify() {
    let app = spawn_app_with(|env| {
        env.insert("SANDBOX_URL".into(), "http://127.0.0.1:9".into());
    })
    .await;
    app.signed_up_user().await;
    let res = app
        .get("/connections/shopify/connect?shop=evil.example.com")
        .await;
    assert_eq!(crate::helpers::location(&res), "/connections");
    let (_, html) = app.get_html("/connections").await;
    assert_eq!(
        texts(&html, ".flash-error"),
        vec!["Enter your shop's address, like your-shop.myshopify.com."]
    );
    let res = app
        .get("/connections/shopify/connect?shop=maple-thread")
        .await;
    assert_eq!(
        crate::helpers::location(&res).split('?').next().unwrap(),
        "http://127.0.0.1:9/shopify/maple-thread.myshopify.com/admin/oauth/authorize"
    );
}

#[tokio::test]
async fn the_api_lists_connections_without_any_token() {
    let app = spawn_app().await;
    let user = user_id(&app).await;
    app.state
        .connections
        .save_connected(
            user,
            Platform::X,
            &account("42", "maple"),
            &tokens(
                "super-secret-access",
                Some("super-secret-refresh"),
                Some(3600),
            ),
            None,
        )
        .await
        .unwrap();
    let token = picscripter::security::api_tokens::create(&app.db, user, "test")
        .await
        .unwrap();

    let res = app
        .client
        .get(app.url("/api/v1/connections"))
        .bearer_auth(token.plaintext.expose_secret())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.text().await.unwrap();
    assert!(!body.contains("super-secret"), "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["connections"][0]["platform"], "x");
    assert_eq!(json["connections"][0]["status"], "active");

    let anonymous = app
        .client
        .get(app.url("/api/v1/connections"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        anonymous.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "unauthorized"
    );
    let wrong = app
        .client
        .get(app.url("/api/v1/connections"))
        .bearer_auth("psk_nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_refresh_job_renews_tokens_before_they_expire_and_leaves_the_rest() {
    let server = MockServer::start().await;
    x_refresh_mock(&server, 1).await;
    let app = app_against(&server).await;
    let user = user_id(&app).await;
    let c = &app.state.connections;
    let (soon, _) = c
        .save_connected(
            user,
            Platform::X,
            &account("1", "soon"),
            &tokens("access-1", Some("refresh-1"), Some(300)),
            None,
        )
        .await
        .unwrap();
    let (later, _) = c
        .save_connected(
            user,
            Platform::X,
            &account("2", "later"),
            &tokens("access-9", Some("refresh-9"), Some(6000)),
            None,
        )
        .await
        .unwrap();
    // LinkedIn without a refresh token can't be renewed: the job leaves it for the person.
    let (linkedin, _) = c
        .save_connected(
            user,
            Platform::Linkedin,
            &account("li", "marta"),
            &tokens("li-access", None, Some(3 * 86400)),
            None,
        )
        .await
        .unwrap();

    let refreshed = picscripter::jobs::refresh_tokens::run_once(c)
        .await
        .unwrap();

    assert_eq!(refreshed, 1);
    server.verify().await;
    assert_eq!(
        c.grant(&c.find_for_user(user, soon.id).await.unwrap().unwrap())
            .await
            .unwrap()
            .access_token
            .unwrap()
            .expose_secret(),
        "access-2"
    );
    assert_eq!(
        c.grant(&c.find_for_user(user, later.id).await.unwrap().unwrap())
            .await
            .unwrap()
            .access_token
            .unwrap()
            .expose_secret(),
        "access-9"
    );
    let li = c.find_for_user(user, linkedin.id).await.unwrap().unwrap();
    assert_eq!(
        li.status,
        picscripter::entities::enums::ConnectionStatus::Active
    );
    let (_, html) = app.get_html("/connections").await;
    assert_eq!(
        texts(&html, "#platform-linkedin .status"),
        vec!["Expires in 2 days"]
    );
    let (_, dashboard) = app.get_html("/dashboard").await;
    assert!(texts(&dashboard, "#account-health")[0].contains("Reconnect before then"));
}
