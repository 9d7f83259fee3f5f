//! Signing up, logging in and out, settings.

use reqwest::StatusCode;

use crate::helpers::{PASSWORD, location, spawn_app, texts};

#[tokio::test]
async fn a_new_seller_signs_up_and_lands_on_the_dashboard_logged_in() {
    let app = spawn_app().await;

    let res = app.signup("Marta@Example.com", PASSWORD).await;

    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/dashboard");
    let (status, html) = app.get_html("/dashboard").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("marta@example.com"),
        "the dashboard greets the user"
    );
    assert!(
        html.contains("Your account is ready"),
        "a welcome message is flashed once"
    );
    let (_, again) = app.get_html("/dashboard").await;
    assert!(
        !again.contains("Your account is ready"),
        "the flash is shown only once"
    );

    let hash = app
        .scalar_string("SELECT password_hash FROM users")
        .await
        .unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "stored as argon2id: {hash}"
    );
    assert_eq!(
        app.scalar_string("SELECT time_zone FROM users")
            .await
            .unwrap(),
        "Europe/Berlin"
    );
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM audit_events WHERE action = 'user.signed_up'")
            .await,
        1
    );
}

#[tokio::test]
async fn signing_up_twice_with_the_same_email_is_refused_whatever_the_case() {
    let app = spawn_app().await;
    app.signup("ana@example.com", PASSWORD).await;
    let other = app.second_browser();

    let res = other
        .post_form(
            "/signup",
            &[
                ("email", "ANA@example.com"),
                ("password", PASSWORD),
                ("time_zone", "UTC"),
            ],
        )
        .await;

    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert_eq!(
        texts(&html, "#email-error"),
        vec![
            "There is already an account with this e-mail address. Log in instead, or use another address."
        ]
    );
    assert_eq!(app.user_count().await, 1);
}

#[tokio::test]
async fn weak_too_long_and_malformed_sign_ups_show_the_reason_next_to_the_field_and_store_nothing()
{
    let app = spawn_app().await;
    let long = "x1".repeat(65);
    let cases = [
        (
            "ok@example.com",
            "short",
            "#password-error",
            "Use at least 10 characters",
        ),
        (
            "ok@example.com",
            "password123",
            "#password-error",
            "too easy to guess",
        ),
        (
            "ok@example.com",
            long.as_str(),
            "#password-error",
            "too long",
        ),
        (
            "not-an-email",
            PASSWORD,
            "#email-error",
            "doesn't look like an e-mail address",
        ),
        ("", PASSWORD, "#email-error", "Enter your e-mail address"),
    ];
    for (email, password, selector, expected) in cases {
        let res = app.signup(email, password).await;
        assert_eq!(
            res.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{email} / {password}"
        );
        let html = res.text().await.unwrap();
        let errors = texts(&html, selector);
        assert!(
            errors.iter().any(|e| e.contains(expected)),
            "{selector} should say {expected:?}, got {errors:?}"
        );
        if !email.is_empty() {
            assert!(
                html.contains(&format!("value=\"{email}\"")),
                "the typed e-mail is kept"
            );
        }
        assert!(
            !html.contains(password) || password.len() < 6,
            "the password is never echoed"
        );
    }
    assert_eq!(app.user_count().await, 0);
}

#[tokio::test]
async fn an_unknown_time_zone_is_refused_at_sign_up() {
    let app = spawn_app().await;
    let res = app
        .post_form(
            "/signup",
            &[
                ("email", "tz@example.com"),
                ("password", PASSWORD),
                ("time_zone", "Mars/Base"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        texts(&res.text().await.unwrap(), "#time_zone-error"),
        vec!["Choose a time zone from the list."]
    );
    assert_eq!(app.user_count().await, 0);
}

#[tokio::test]
async fn a_seller_logs_out_and_back_in() {
    let app = spawn_app().await;
    let email = app.signed_up_user().await;

    let res = app.post_form("/logout", &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login?logged_out=1");
    let res = app.get("/dashboard").await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "logged out: the dashboard asks to log in"
    );
    assert_eq!(location(&res), "/login?next=%2Fdashboard");

    let res = app.login(&email.to_uppercase(), PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/dashboard");
    assert_eq!(app.get("/dashboard").await.status(), StatusCode::OK);
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM audit_events WHERE action = 'user.logged_out'")
            .await,
        1
    );
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM audit_events WHERE action = 'user.login_succeeded'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let app = spawn_app().await;
    let email = app.signed_up_user().await;
    app.post_form("/logout", &[]).await;

    let wrong = app.login(&email, "not the right password").await;
    let wrong_status = wrong.status();
    let wrong_html = wrong.text().await.unwrap();
    let unknown = app
        .login("nobody-here@example.com", "not the right password")
        .await;
    let unknown_status = unknown.status();
    let unknown_html = unknown.text().await.unwrap();

    assert_eq!(wrong_status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_status, unknown_status);
    let message = texts(&wrong_html, "#login-error");
    assert_eq!(
        message,
        vec!["That e-mail and password don't match an account. Check them and try again."]
    );
    assert_eq!(message, texts(&unknown_html, "#login-error"));
    // Apart from the echoed address and the form token, the two pages are identical.
    let normalise = |html: &str, email: &str| {
        let token = crate::helpers::csrf_of(html);
        html.replace(&token, "TOKEN").replace(email, "EMAIL")
    };
    assert_eq!(
        normalise(&wrong_html, &email),
        normalise(&unknown_html, "nobody-here@example.com")
    );
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM audit_events WHERE action = 'user.login_failed'")
            .await,
        2
    );
}

#[tokio::test]
async fn after_five_failures_an_account_is_paused_even_for_the_right_password() {
    let app = spawn_app().await;
    let email = app.signed_up_user().await;
    app.post_form("/logout", &[]).await;

    for _ in 0..5 {
        assert_eq!(
            app.login(&email, "wrong password here").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let res = app.login(&email, PASSWORD).await;

    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (800..=900).contains(&retry),
        "retry after the 15-minute window, got {retry}"
    );
    let html = res.text().await.unwrap();
    assert!(texts(&html, "#login-error")[0].contains("Try again in 15 minutes"));
    assert_eq!(
        app.get("/dashboard").await.status(),
        StatusCode::SEE_OTHER,
        "still logged out"
    );
}

#[tokio::test]
async fn one_address_guessing_many_accounts_is_paused() {
    let app = spawn_app().await;
    for i in 0..20 {
        let res = app
            .login(&format!("guess{i}@example.com"), "wrong password here")
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let res = app
        .login("guess-21@example.com", "wrong password here")
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn the_session_id_changes_at_login() {
    let app = spawn_app().await;
    let email = app.signed_up_user().await;
    app.post_form("/logout", &[]).await;
    app.get("/login").await;
    let before = app
        .cookie("picscripter_session")
        .expect("an anonymous session exists for the form token");

    let res = app.login(&email, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    let after = app
        .cookie("picscripter_session")
        .expect("logged-in session cookie");
    assert_ne!(before, after, "a planted session id must not survive login");
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain http in tests: no Secure flag"
    );
}

#[tokio::test]
async fn cookies_are_secure_when_the_public_url_is_https() {
    let app = crate::helpers::spawn_app_with(|env| {
        env.insert(
            "PUBLIC_BASE_URL".into(),
            "https://picscripter.example.com".into(),
        );
    })
    .await;
    let res = app.get("/login").await;
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("Secure"), "{cookie}");
    assert!(
        res.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
}

#[tokio::test]
async fn after_login_only_local_next_paths_are_followed() {
    let app = spawn_app().await;
    let email = app.signed_up_user().await;
    for (next, expected) in [
        ("/settings", "/settings"),
        ("https://evil.example/", "/dashboard"),
        ("//evil.example", "/dashboard"),
    ] {
        app.post_form("/logout", &[]).await;
        let res = app
            .post_form(
                "/login",
                &[("email", &email), ("password", PASSWORD), ("next", next)],
            )
            .await;
        assert_eq!(location(&res), expected, "next={next}");
    }
}

#[tokio::test]
async fn a_seller_changes_their_time_zone() {
    let app = spawn_app().await;
    app.signed_up_user().await;

    let res = app
        .post_form("/settings/time-zone", &[("time_zone", "Pacific/Chatham")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = app.get_html("/settings").await;
    assert!(html.contains("Your time zone is now Pacific/Chatham."));
    assert_eq!(
        texts(&html, "#time_zone option[selected]"),
        vec!["Pacific/Chatham"]
    );

    let res = app
        .post_form("/settings/time-zone", &[("time_zone", "Atlantis/Capital")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.scalar_string("SELECT time_zone FROM users")
            .await
            .unwrap(),
        "Pacific/Chatham"
    );
}

#[tokio::test]
async fn changing_the_password_logs_out_other_sessions_but_not_this_one() {
    let app = spawn_app().await;
    let email = app.signed_up_user().await;
    let phone = app.second_browser();
    assert_eq!(
        phone
            .post_form("/login", &[("email", &email), ("password", PASSWORD)])
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(phone.get_html("/dashboard").await.0, StatusCode::OK);

    let res = app
        .post_form(
            "/settings/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    assert_eq!(
        app.get("/dashboard").await.status(),
        StatusCode::OK,
        "this session carries on"
    );
    assert_eq!(
        phone.get_html("/dashboard").await.0,
        StatusCode::SEE_OTHER,
        "the other session has ended"
    );
    app.post_form("/logout", &[]).await;
    assert_eq!(
        app.login(&email, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login(&email, "a brand new passphrase").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM audit_events WHERE action = 'user.password_changed'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_wrong_current_password_or_a_weak_new_one_changes_nothing() {
    let app = spawn_app().await;
    app.signed_up_user().await;
    let before = app.scalar_string("SELECT password_hash FROM users").await;

    let res = app
        .post_form(
            "/settings/password",
            &[
                ("current_password", "not it at all"),
                ("new_password", "short"),
            ],
        )
        .await;

    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert_eq!(
        texts(&html, "#current_password-error"),
        vec!["That isn't your current password. Check it and try again."]
    );
    assert!(texts(&html, "#new_password-error")[0].contains("at least 10 characters"));
    assert_eq!(
        app.scalar_string("SELECT password_hash FROM users").await,
        before
    );
}

#[tokio::test]
async fn the_welcome_message_is_shown_once_after_landing_on_the_dashboard() {
    let app = spawn_app().await;
    app.signed_up_user().await;
    let (_, html) = app.get_html("/settings").await;
    assert!(
        texts(&html, ".flash-success").is_empty(),
        "{:?}",
        texts(&html, ".flash-success")
    );
}
