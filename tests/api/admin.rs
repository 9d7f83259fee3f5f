//! The admin pages: hidden from everyone not in `ADMIN_USER_IDS`, the audit log's filters, the
//! system status against seeded data, and disabling an account end to end.

use std::time::Duration;

use picscripter::domain::Platform;
use reqwest::StatusCode;
use sea_orm::ConnectionTrait as _;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{Browser, PASSWORD, TestApp, eventually, spawn_app, texts};

/// Signs up an admin (on `app.client`) and returns a browser logged in as them on a web process
/// configured with them in `ADMIN_USER_IDS`.
async fn admin_of(app: &TestApp) -> (Browser, Uuid) {
    let email = app.signed_up_user().await;
    let id = app.newest_user_id().await;
    let web = app
        .sibling(|env| {
            env.insert("ADMIN_USER_IDS".into(), id.to_string());
        })
        .await;
    let res = web
        .post_form("/login", &[("email", &email), ("password", PASSWORD)])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "the admin logs in");
    (web, id)
}

async fn sql(app: &TestApp, statement: &str) {
    app.db.execute_unprepared(statement).await.unwrap();
}

#[tokio::test]
async fn every_admin_route_is_a_404_for_someone_not_listed() {
    let app = spawn_app().await;
    app.signed_up_user().await;
    let me = app.newest_user_id().await.to_string();
    for path in [
        "/admin",
        "/admin/audit",
        "/admin/users",
        "/admin/audit?action=user.signed_up",
    ] {
        let (status, html) = app.get_html(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(texts(&html, "h1"), vec!["Page not found"], "{path}");
    }
    for path in [
        format!("/admin/users/{me}/disable"),
        format!("/admin/users/{me}/enable"),
    ] {
        assert_eq!(
            app.post_form(&path, &[]).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM users WHERE disabled_at IS NOT NULL")
            .await,
        0
    );
}

#[tokio::test]
async fn the_audit_log_filters_by_user_action_and_dates_newest_first() {
    let app = spawn_app().await;
    let seller = app.signed_up_user().await;
    app.post_form(
        "/settings/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", "another long passphrase 7"),
        ],
    )
    .await;
    app.post_form("/logout", &[]).await;
    let (admin, _) = admin_of(&app).await;

    // By user: the seller's own events only, newest first.
    let (status, html) = admin
        .get_html(&format!("/admin/audit?email={}", seller.to_uppercase()))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        texts(&html, "#events .event-action"),
        vec!["user.logged_out", "user.password_changed", "user.signed_up"]
    );
    assert!(
        texts(&html, "#events .event-actor")
            .iter()
            .all(|a| a == &seller)
    );
    assert!(
        texts(&html, "#events .event-ip")
            .iter()
            .all(|ip| ip == "127.0.0.1")
    );

    // A password change's entry holds neither the password nor its hash.
    let (_, html) = admin
        .get_html("/admin/audit?action=user.password_changed")
        .await;
    let details = texts(&html, "#events .event-details");
    assert_eq!(details, vec![r#"{"sessions_ended":0}"#]);
    let stored = app
        .scalar_string("SELECT details::text || coalesce(subject, '') FROM audit_events WHERE action = 'user.password_changed'")
        .await
        .unwrap();
    let hash = app
        .scalar_string(&format!(
            "SELECT password_hash FROM users WHERE email = '{seller}'"
        ))
        .await
        .unwrap();
    for secret in [
        PASSWORD,
        "another long passphrase 7",
        hash.as_str(),
        "argon2",
    ] {
        assert!(
            !stored.contains(secret),
            "the entry holds {secret:?}: {stored}"
        );
    }

    // By dates in the admin's zone (Europe/Berlin): today has events, tomorrow none.
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive();
    let tomorrow = today.succ_opt().unwrap();
    let (_, html) = admin
        .get_html(&format!("/admin/audit?from={today}&to={today}"))
        .await;
    assert!(texts(&html, "#events .event").len() >= 5);
    let (_, html) = admin
        .get_html(&format!("/admin/audit?from={tomorrow}"))
        .await;
    assert_eq!(texts(&html, "#no-events"), vec!["No event matches."]);

    // Bad input is named next to its field.
    let (status, html) = admin
        .get_html("/admin/audit?from=yesterday&action=nope")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        texts(&html, "#from-error"),
        vec!["Enter a date like 2026-12-08."]
    );
    assert_eq!(
        texts(&html, "#action-error"),
        vec!["Choose an action from the list."]
    );
    let (status, html) = admin
        .get_html(&format!("/admin/audit?from={tomorrow}&to={today}"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        texts(&html, "#to-error"),
        vec!["The end date is before the start date."]
    );
}

#[tokio::test]
async fn the_audit_log_is_paginated() {
    let app = spawn_app().await;
    let (admin, _) = admin_of(&app).await;
    for i in 0..55 {
        picscripter::security::audit::record(
            &app.db,
            picscripter::security::audit::Event::new(
                picscripter::security::audit::Action::LoginFailed,
            )
            .subject("nobody@example.com")
            .details(json!({ "n": i })),
        )
        .await
        .unwrap();
    }
    let (_, html) = admin
        .get_html("/admin/audit?email=nobody@example.com")
        .await;
    let first = texts(&html, "#events .event-details");
    assert_eq!(first.len(), 50);
    assert_eq!(first[0], r#"{"n":54}"#, "newest first");
    let next = crate::helpers::texts(&html, "#next-page");
    assert_eq!(next, vec!["Older"]);
    let (_, html) = admin
        .get_html("/admin/audit?email=nobody%40example.com&action=&from=&to=&page=2")
        .await;
    let second = texts(&html, "#events .event-details");
    assert_eq!(second.len(), 5);
    assert_eq!(second[4], r#"{"n":0}"#);
    assert!(texts(&html, "#next-page").is_empty());
}

#[tokio::test]
async fn the_status_page_shows_the_seeded_numbers() {
    let app = spawn_app().await;
    let (admin, _) = admin_of(&app).await;
    let seller = app.newest_user_id().await;
    let conn = app.saved_connection(seller, Platform::X, "shop").await;
    let other = app
        .saved_connection(seller, Platform::Linkedin, "brand")
        .await;
    sql(
        &app,
        &format!("UPDATE connections SET status = 'needs_reauth' WHERE id = '{other}'"),
    )
    .await;
    // Two unknown, one failed, one due ten minutes ago and unclaimed, one scheduled ahead.
    let rows = [
        (
            "unknown",
            "NULL",
            Some("The network timed out after we sent it."),
        ),
        ("unknown", "NULL", None),
        ("failed", "NULL", Some("Rejected: duplicate text.")),
        ("scheduled", "now() - interval '10 minutes'", None),
        ("scheduled", "now() + interval '1 hour'", None),
    ];
    for (status, due, error) in rows {
        let post = Uuid::now_v7();
        sql(&app, &format!("INSERT INTO posts (id, user_id, body, status) VALUES ('{post}', '{seller}', 'hello', 'scheduled')")).await;
        sql(&app, &format!(
            "INSERT INTO post_targets (id, post_id, connection_id, status, next_attempt_at, last_error) VALUES ('{}', '{post}', '{conn}', '{status}', {due}, {})",
            Uuid::now_v7(),
            error.map_or("NULL".to_owned(), |e| format!("'{e}'"))
        ))
        .await;
    }
    let mut queue = picscripter::jobs::publish::queue(
        &crate::helpers::redis_url(),
        &app.env["REDIS_KEY_PREFIX"],
        1,
    )
    .await
    .unwrap();
    picscripter::jobs::publish::push(
        &mut queue,
        vec![Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7()],
    )
    .await
    .unwrap();
    app.worker_beats().await;

    let (status, html) = admin.get_html("/admin").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(texts(&html, "#queue-depth"), vec!["3"]);
    assert_eq!(texts(&html, "#unknown-count"), vec!["2"]);
    assert_eq!(texts(&html, "#failed-count"), vec!["1"]);
    assert_eq!(texts(&html, "#needs-reauth"), vec!["1"]);
    assert_eq!(texts(&html, ".unknown-target").len(), 2);
    assert!(texts(&html, ".failed-target td").contains(&"Rejected: duplicate text.".to_owned()));
    let lag = texts(&html, "#dispatcher-lag");
    assert!(
        lag == vec!["10 min ago"] || lag == vec!["11 min ago"],
        "{lag:?}"
    );
    let workers = texts(&html, "#workers .worker");
    assert_eq!(workers.len(), 1);
    assert!(workers[0].contains("test-worker"));
    let flags = texts(&html, "#feature-flags li");
    assert_eq!(flags.len(), 4);
    assert!(flags.iter().any(|f| f.contains("FEATURE_TOKEN_REFRESH")));
}

#[tokio::test]
async fn the_users_list_shows_each_account_and_an_admin_cannot_disable_themself() {
    let app = spawn_app().await;
    let seller = app.signed_up_user().await;
    let seller_id = app.newest_user_id().await;
    sql(&app, &format!("INSERT INTO posts (id, user_id, body) VALUES ('{}', '{seller_id}', 'a'), ('{}', '{seller_id}', 'b')", Uuid::now_v7(), Uuid::now_v7())).await;
    app.post_form("/logout", &[]).await;
    let (admin, admin_id) = admin_of(&app).await;

    let (status, html) = admin.get_html("/admin/users").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(texts(&html, "#users .user").len(), 2);
    assert_eq!(
        texts(&html, &format!("#user-{seller_id} .user-posts")),
        vec!["2"]
    );
    assert_eq!(
        texts(&html, &format!("#user-{seller_id} .user-status")),
        vec!["Active"]
    );
    assert!(texts(&html, &format!("#user-{seller_id} .user-email"))[0].contains(&seller));
    assert!(
        texts(&html, &format!("#user-{admin_id} form button")).is_empty(),
        "no Disable for oneself"
    );

    let res = admin
        .post_form(&format!("/admin/users/{admin_id}/disable"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = admin.get_html("/admin/users").await;
    assert!(html.contains("disable your own account"));
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM users WHERE disabled_at IS NOT NULL")
            .await,
        0
    );
}

/// The whole story of disabling: logged out, refused at login and on the API, its scheduled post
/// not published by a running worker while another seller's is; enabled again, the missed post
/// is failed with a reason instead of going out late.
#[tokio::test]
async fn a_disabled_account_is_logged_out_refused_and_its_posts_pause() {
    let (app, sandbox, _media) = crate::helpers::spawn_app_with_sandbox_and_media(|env| {
        env.insert("PUBLISH_LEASE_SECS".into(), "5".into());
    })
    .await;

    // Two sellers, each with an X account and a post scheduled an hour from now.
    let mut sellers = Vec::new();
    for text in ["disabled seller's post", "active seller's post"] {
        let email = app.signed_up_user().await;
        let id = app.newest_user_id().await;
        crate::oauth::connect(&app, &sandbox, Platform::X).await;
        let conn = app
            .scalar_string(&format!(
                "SELECT id::text FROM connections WHERE user_id = '{id}'"
            ))
            .await
            .unwrap();
        let token = app.api_token_of(id).await;
        let at = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
        let res = app
            .client
            .post(app.url("/api/v1/posts"))
            .bearer_auth(&token)
            .json(&json!({ "body": text, "targets": [{ "connection_id": conn }], "scheduled_at": at }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::CREATED,
            "{}",
            res.text().await.unwrap()
        );
        app.post_form("/logout", &[]).await;
        sellers.push((email, id, token));
    }
    let (email, id, token) = sellers[0].clone();
    let browser = app.second_browser();
    browser
        .post_form("/login", &[("email", &email), ("password", PASSWORD)])
        .await;
    assert_eq!(browser.get_html("/dashboard").await.0, StatusCode::OK);

    let (admin, _) = admin_of(&app).await;
    let res = admin
        .post_form(&format!("/admin/users/{id}/disable"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = admin.get_html("/admin/users").await;
    assert!(html.contains(&format!("{email} is disabled: logged out of 1 session, API tokens refused, 1 scheduled publication paused.")), "{html}");
    assert_eq!(
        texts(&html, &format!("#user-{id} form button")),
        vec!["Enable"]
    );

    // Logged out in the other browser.
    let res = browser
        .client
        .get(format!("{}/dashboard", browser.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // Login refused, with a clear message once the password is right.
    let again = app.second_browser();
    let res = again
        .post_form("/login", &[("email", &email), ("password", PASSWORD)])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let html = res.text().await.unwrap();
    assert!(html.contains("This account has been disabled by the administrator"));
    // The API token is refused with a JSON error.
    let res = app
        .client
        .get(app.url("/api/v1/posts"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(body["error"]["code"].is_string(), "{body}");

    // Both posts fall due; a worker publishes the active seller's only.
    sql(
        &app,
        "UPDATE post_targets SET next_attempt_at = now() - interval '1 minute'",
    )
    .await;
    let worker = app.spawn_worker();
    eventually(
        "the active seller's post is published",
        Duration::from_secs(30),
        || async {
            app.scalar_i64("SELECT count(*) FROM post_targets WHERE status = 'published'")
                .await
                == 1
        },
    )
    .await;
    worker.stop().await;
    let texts_out: Vec<String> = sandbox
        .published("x")
        .await
        .iter()
        .map(|r| r["text"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(texts_out, vec!["active seller's post"]);
    assert_eq!(
        app.scalar_string(&format!("SELECT t.status FROM post_targets t JOIN posts p ON p.id = t.post_id WHERE p.user_id = '{id}'")).await.unwrap(),
        "scheduled"
    );

    // Enabled again: the post that missed its time is not published late; the seller sees why.
    admin
        .post_form(&format!("/admin/users/{id}/enable"), &[])
        .await;
    let (_, html) = admin.get_html("/admin/users").await;
    assert!(
        html.contains("1 missed its time while disabled and was not published"),
        "{html}"
    );
    assert_eq!(
        app.scalar_string(&format!("SELECT t.status || ': ' || t.last_error FROM post_targets t JOIN posts p ON p.id = t.post_id WHERE p.user_id = '{id}'")).await.unwrap(),
        format!("failed: {}", picscripter::admin::MISSED_WHILE_DISABLED)
    );
    let res = app
        .client
        .get(app.url("/api/v1/posts"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "the token works again");
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM audit_events WHERE action IN ('admin.user_disabled', 'admin.user_enabled')").await,
        2
    );
}
