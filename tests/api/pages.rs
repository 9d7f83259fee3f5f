//! The shell a user sees: navigation, empty states, assets.

use reqwest::StatusCode;

use crate::helpers::{location, spawn_app, texts};

const AREAS: [(&str, &str); 10] = [
    ("/dashboard", "Dashboard"),
    ("/notifications", "Notifications"),
    ("/studio", "AI Studio"),
    ("/calendar", "Calendar"),
    ("/posts", "Posts"),
    ("/media", "Media"),
    ("/products", "Products"),
    ("/connections", "Connections"),
    ("/analytics", "Analytics"),
    ("/settings", "Settings"),
];

#[tokio::test]
async fn a_logged_in_seller_sees_the_whole_navigation_on_every_page() {
    let app = spawn_app().await;
    app.signed_up_user().await;
    for (path, label) in AREAS {
        let (status, html) = app.get_html(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let nav = texts(&html, "aside nav a");
        let labels: Vec<&str> = AREAS.iter().map(|(_, l)| *l).collect();
        assert_eq!(nav, labels, "{path}: sidebar entries");
        assert_eq!(
            texts(&html, "aside nav a[aria-current=page]"),
            vec![label],
            "{path}: current entry"
        );
        assert_eq!(
            texts(&html, ".mobile-menu nav a").len(),
            AREAS.len(),
            "{path}: the phone menu has the same entries"
        );
    }
}

#[tokio::test]
async fn every_area_sends_a_visitor_to_the_login_form_and_back() {
    let app = spawn_app().await;
    for (path, _) in AREAS {
        let res = app.get(path).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(
            location(&res),
            format!("/login?next={}", path.replace('/', "%2F"))
        );
    }
    let (_, html) = app.get_html("/login?next=%2Fcalendar").await;
    assert_eq!(texts(&html, "input[name=next]").len(), 1);
    assert!(html.contains("value=\"/calendar\""));
}

#[tokio::test]
async fn the_root_sends_visitors_to_log_in_and_sellers_to_their_dashboard() {
    let app = spawn_app().await;
    assert_eq!(location(&app.get("/").await), "/login");
    app.signed_up_user().await;
    assert_eq!(location(&app.get("/").await), "/dashboard");
}

#[tokio::test]
async fn pages_are_not_cached_and_versioned_assets_are_cached_forever() {
    let app = spawn_app().await;
    let page = app.get("/login").await;
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    let doc = scraper::Html::parse_document(&html);
    let css = doc
        .select(&scraper::Selector::parse("link[rel=stylesheet]").unwrap())
        .next()
        .unwrap()
        .value()
        .attr("href")
        .unwrap()
        .to_owned();
    assert!(css.starts_with("/static/app.css?v="));
    let res = app.get(&css).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(res.headers()["content-type"], "text/css; charset=utf-8");
    for asset in [
        "/static/htmx.min.js",
        "/static/app.js",
        "/static/fonts/inter-latin-wght-normal.woff2",
    ] {
        assert_eq!(app.get(asset).await.status(), StatusCode::OK, "{asset}");
    }
    assert_eq!(
        app.get("/static/../Cargo.toml").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn sign_up_offers_every_time_zone_and_marks_the_browser_default() {
    let app = spawn_app().await;
    let (_, html) = app.get_html("/signup").await;
    let options = texts(&html, "#time_zone option");
    assert!(options.len() > 300, "{} zones", options.len());
    assert!(options.contains(&"Asia/Kolkata".to_string()));
    assert_eq!(
        texts(&html, "#time_zone option[selected]"),
        vec!["UTC"],
        "UTC until the browser offers one"
    );
    assert!(html.contains("data-browser-default"));
}
