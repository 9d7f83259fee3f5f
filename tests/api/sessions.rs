//! Ending sessions: a password change logs out every other browser, "Log out other sessions"
//! keeps the current one, and both are in the audit log.

use reqwest::StatusCode;

use crate::helpers::{PASSWORD, TestApp, location, spawn_app, texts};

async fn logged_in_elsewhere(app: &TestApp, email: &str) -> crate::helpers::Browser {
    let other = app.second_browser();
    let res = other
        .post_form("/login", &[("email", email), ("password", PASSWORD)])
        .await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "the other browser logs in"
    );
    assert_eq!(other.get_html("/dashboard").await.0, StatusCode::OK);
    other
}

async fn is_sent_to_login(browser: &crate::helpers::Browser) -> bool {
    let res = browser
        .client
        .get(format!("{}/dashboard", browser.base))
        .send()
        .await
        .unwrap();
    res.status() == StatusCode::SEE_OTHER && location(&res).starts_with("/login")
}

#[tokio::test]
async fn changing_the_password_logs_out_the_other_browser_but_not_this_one() {
    let app = spawn_app().await;
    let email = app.signed_up_user().await;
    let other = logged_in_elsewhere(&app, &email).await;

    let res = app
        .post_form(
            "/settings/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a brand new passphrase 42"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    assert!(
        is_sent_to_login(&other).await,
        "the other browser is logged out"
    );
    let (status, html) = app.get_html("/settings").await;
    assert_eq!(status, StatusCode::OK, "this browser stays logged in");
    assert!(html.contains("Any other devices you were logged in on have been logged out"));
    assert_eq!(
        app.scalar_i64("SELECT (details->>'sessions_ended')::bigint FROM audit_events WHERE action = 'user.password_changed'")
            .await,
        1
    );
}

#[tokio::test]
async fn log_out_other_sessions_ends_every_other_browser_and_keeps_this_one() {
    let app = spawn_app().await;
    let email = app.signed_up_user().await;
    let phone = logged_in_elsewhere(&app, &email).await;
    let laptop = logged_in_elsewhere(&app, &email).await;

    let (_, settings) = app.get_html("/settings").await;
    assert_eq!(
        texts(
            &settings,
            "form[action='/settings/sessions/end-others'] button"
        ),
        vec!["Log out other sessions"]
    );
    let res = app.post_form("/settings/sessions/end-others", &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    assert!(is_sent_to_login(&phone).await);
    assert!(is_sent_to_login(&laptop).await);
    let (status, html) = app.get_html("/settings").await;
    assert_eq!(status, StatusCode::OK, "this browser stays logged in");
    assert!(
        html.contains("Your 2 other sessions have been logged out"),
        "{html}"
    );
    // A second time there is nobody else left.
    app.post_form("/settings/sessions/end-others", &[]).await;
    let (_, html) = app.get_html("/settings").await;
    assert!(html.contains("This is your only session"));
    assert_eq!(
        app.scalar_i64(
            "SELECT count(*) FROM audit_events WHERE action = 'user.other_sessions_ended'"
        )
        .await,
        2
    );
}

#[tokio::test]
async fn log_out_other_sessions_needs_the_form_token() {
    let app = spawn_app().await;
    app.signed_up_user().await;
    let res = app
        .client
        .post(app.url("/settings/sessions/end-others"))
        .headers(crate::helpers::same_origin_headers(&app.base))
        .form(&[("csrf_token", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn end_sessions_counts_and_keeps_the_session_asked() {
    let app = spawn_app().await;
    let email = app.signed_up_user().await;
    let user = app.newest_user_id().await;
    let other = logged_in_elsewhere(&app, &email).await;
    let ended = picscripter::web::session::end_sessions(&app.state, user, None)
        .await
        .unwrap();
    assert_eq!(ended, 2, "both browsers' sessions ended");
    assert!(is_sent_to_login(&other).await);
    let res = app.get("/dashboard").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}
