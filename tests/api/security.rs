//! CSRF, security headers, limits and error pages for bad input.

use reqwest::StatusCode;

use crate::helpers::{PASSWORD, same_origin_headers, spawn_app, spawn_app_with, texts};

#[tokio::test]
async fn a_form_without_its_csrf_token_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    app.get("/login").await;

    let res = app
        .client
        .post(app.url("/signup"))
        .headers(same_origin_headers(&app.base))
        .form(&[("email", "x@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();

    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let html = res.text().await.unwrap();
    assert_eq!(texts(&html, "h1"), vec!["This form has expired"]);
    assert_eq!(app.user_count().await, 0);
}

#[tokio::test]
async fn a_form_posted_from_another_site_is_refused_even_with_a_valid_token() {
    let app = spawn_app().await;
    let token = app.csrf().await;
    let fields = [
        ("email", "x@example.com"),
        ("password", PASSWORD),
        ("csrf_token", token.as_str()),
    ];

    let foreign_origin = app
        .client
        .post(app.url("/signup"))
        .header("origin", "https://evil.example")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign_origin.status(), StatusCode::FORBIDDEN);

    let cross_site = app
        .client
        .post(app.url("/signup"))
        .header("sec-fetch-site", "cross-site")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);

    let wrong_token = app
        .client
        .post(app.url("/signup"))
        .headers(same_origin_headers(&app.base))
        .form(&[
            ("email", "x@example.com"),
            ("password", PASSWORD),
            ("csrf_token", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_token.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.user_count().await, 0);
}

#[tokio::test]
async fn htmx_requests_carry_the_token_in_a_header_and_get_errors_as_fragments() {
    let app = spawn_app().await;
    app.signed_up_user().await;
    let token = app.csrf().await;

    let ok = app
        .client
        .post(app.url("/settings/time-zone"))
        .headers(same_origin_headers(&app.base))
        .header("hx-request", "true")
        .header("x-csrf-token", &token)
        .form(&[("time_zone", "Asia/Kolkata")])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.scalar_string("SELECT time_zone FROM users")
            .await
            .unwrap(),
        "Asia/Kolkata"
    );

    let refused = app
        .client
        .post(app.url("/settings/time-zone"))
        .headers(same_origin_headers(&app.base))
        .header("hx-request", "true")
        .header("x-csrf-token", "wrong")
        .form(&[("time_zone", "UTC")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(refused.headers()["hx-retarget"], "#toasts");
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("class=\"toast\"") && !html.contains("<html"),
        "a fragment, not a page"
    );
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in ["/login", "/no-such-page", "/static/app.css", "/healthz"] {
        let res = app.get(path).await;
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'")
                && !csp.contains("unsafe-inline")
                && !csp.contains("unsafe-eval"),
            "{path}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(
            h["referrer-policy"], "strict-origin-when-cross-origin",
            "{path}"
        );
        assert!(
            !h.contains_key("strict-transport-security"),
            "no HSTS over plain http"
        );
    }
}

#[tokio::test]
async fn pages_have_no_inline_scripts_and_htmx_is_configured_without_eval() {
    let app = spawn_app().await;
    let mut pages = Vec::new();
    for path in ["/login", "/signup", "/no-such-page"] {
        pages.push((path, app.get_html(path).await.1));
    }
    app.signed_up_user().await;
    for path in ["/dashboard", "/settings", "/calendar"] {
        pages.push((path, app.get_html(path).await.1));
    }
    for (path, html) in pages {
        let doc = scraper::Html::parse_document(&html);
        let scripts = scraper::Selector::parse("script").unwrap();
        for s in doc.select(&scripts) {
            assert!(
                s.value()
                    .attr("src")
                    .is_some_and(|src| src.starts_with("/static/")),
                "{path}: inline or foreign script"
            );
            assert!(
                s.text().collect::<String>().trim().is_empty(),
                "{path}: inline script body"
            );
        }
        assert!(html.contains(r#""allowEval":false"#), "{path}");
        assert!(
            !html.contains(" onclick=") && !html.contains(" hx-on"),
            "{path}: inline handlers"
        );
    }
}

#[tokio::test]
async fn unknown_pages_and_wrong_methods_get_pages_in_the_product_look() {
    let app = spawn_app().await;
    let (status, html) = app.get_html("/definitely/not/here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(texts(&html, "h1"), vec!["Page not found"]);
    assert!(html.contains("/static/app.css"), "styled like the product");

    let token = app.csrf().await;
    let res = app
        .client
        .delete(app.url("/login"))
        .headers(same_origin_headers(&app.base))
        .header("x-csrf-token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        texts(&res.text().await.unwrap(), "h1"),
        vec!["That action isn't available here"]
    );
}

#[tokio::test]
async fn the_api_answers_unknown_routes_with_json_errors() {
    let app = spawn_app().await;
    let res = app.get("/api/v1/nothing-here").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("couldn't find")
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413_and_nothing_is_stored() {
    let app = spawn_app().await;
    let token = app.csrf().await;
    let huge = "a".repeat(2 * 1024 * 1024);
    let res = app
        .client
        .post(app.url("/signup"))
        .headers(same_origin_headers(&app.base))
        .form(&[
            ("email", "big@example.com"),
            ("password", huge.as_str()),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        texts(&res.text().await.unwrap(), "h1"),
        vec!["That's too large"]
    );
    assert_eq!(app.user_count().await, 0);
}

#[tokio::test]
async fn non_utf8_and_oversized_fields_never_cause_a_server_error() {
    let app = spawn_app().await;
    let token = app.csrf().await;
    let mut body = format!("csrf_token={token}&email=").into_bytes();
    body.extend_from_slice(&[0xff, 0xfe, 0x41]);
    body.extend_from_slice(b"&password=%C3%28%ff");
    let res = app
        .client
        .post(app.url("/signup"))
        .headers(same_origin_headers(&app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let long_email = format!("{}@example.com", "e".repeat(5000));
    let res = app.signup(&long_email, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(texts(&res.text().await.unwrap(), "#email-error")[0].contains("too long"));

    let res = app
        .client
        .post(app.url("/login"))
        .headers(same_origin_headers(&app.base))
        .body("garbage")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    assert_eq!(app.user_count().await, 0);
}

#[tokio::test]
async fn a_flood_from_one_address_is_answered_with_429_and_when_to_retry() {
    let app = spawn_app_with(|env| {
        env.insert("RATE_LIMIT_PER_MINUTE".into(), "10".into());
    })
    .await;
    let mut limited = None;
    for _ in 0..30 {
        let res = app.get("/login").await;
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(res);
            break;
        }
    }
    let res = limited.expect("the ceiling is reached within 30 requests");
    assert!(res.headers().contains_key("retry-after"));
    assert_eq!(
        texts(&res.text().await.unwrap(), "h1"),
        vec!["Slow down a little"]
    );
    assert_eq!(
        app.get("/healthz").await.status(),
        StatusCode::OK,
        "health checks are not limited"
    );
}

#[tokio::test]
async fn the_admin_page_is_hidden_from_everyone_not_listed() {
    let app = spawn_app().await;
    app.signed_up_user().await;
    let (status, html) = app.get_html("/admin").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(texts(&html, "h1"), vec!["Page not found"]);
    let (_, dashboard) = app.get_html("/dashboard").await;
    assert!(!dashboard.contains("href=\"/admin\""));
}

#[tokio::test]
async fn an_admin_sees_the_admin_page_and_its_navigation_entry() {
    let app = spawn_app().await;
    let email = app.signed_up_user().await;
    let id = app
        .scalar_string("SELECT id::text FROM users")
        .await
        .unwrap();
    // A second web process on the same stores, configured with this user as an admin.
    let admin_web = app
        .sibling(|env| {
            env.insert("ADMIN_USER_IDS".into(), id.clone());
        })
        .await;

    assert_eq!(
        admin_web
            .post_form("/login", &[("email", &email), ("password", PASSWORD)])
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let (status, html) = admin_web.get_html("/admin").await;

    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("href=\"/admin\""));
    assert_eq!(texts(&html, "main h1"), vec!["Admin"]);
}
