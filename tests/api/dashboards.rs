//! The per-platform dashboards (Instagram, Pinterest, the Shopify catalog) over the common
//! dashboard model, the seller's days in the rollups, and the flag that hides them.

use chrono::{Duration, TimeZone as _, Utc};
use picscripter::analytics::rollup;
use picscripter::domain::Platform;
use sea_orm::ConnectionTrait as _;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app, texts};
use crate::metrics::{connection, published};

/// A snapshot of `target` at `at` with the given columns and `raw` answer.
async fn snapshot(app: &TestApp, target: Uuid, at: chrono::DateTime<Utc>, cols: Value, raw: Value) {
    let col = |name: &str| {
        cols.get(name)
            .and_then(Value::as_i64)
            .map_or("NULL".to_owned(), |v| v.to_string())
    };
    app.scalar_i64(&format!(
        "WITH i AS (INSERT INTO post_metrics (id, target_id, captured_at, likes, reposts, replies, impressions, saves, clicks, views, raw)
         VALUES ('{}', '{target}', '{}', {}, {}, {}, {}, {}, {}, {}, '{}'::jsonb) RETURNING 1) SELECT count(*) FROM i",
        Uuid::now_v7(),
        at.to_rfc3339(),
        col("likes"),
        col("reposts"),
        col("replies"),
        col("impressions"),
        col("saves"),
        col("clicks"),
        col("views"),
        raw
    ))
    .await;
}

async fn roll(app: &TestApp, user: Uuid) {
    let now = Utc::now();
    rollup::rollup(
        &app.db,
        &[user],
        (now - Duration::days(40)).date_naive(),
        now,
    )
    .await
    .unwrap();
}

fn tile<'a>(tiles: &'a [String], label: &str) -> &'a str {
    tiles
        .iter()
        .find(|t| t.starts_with(label))
        .unwrap_or_else(|| panic!("no {label} tile in {tiles:?}"))
}

#[tokio::test]
async fn the_instagram_dashboard_shows_reach_engagement_rate_and_top_posts() {
    let app = spawn_app().await;
    app.signed_up_user().await;
    let user = app.newest_user_id().await;
    let (_, html) = app.get_html("/analytics/instagram").await;
    assert!(
        texts(&html, "#analytics-empty")[0].contains("Connect Instagram"),
        "{html}"
    );

    let ig = connection(&app, user, Platform::Instagram).await;
    let now = Utc::now();
    let reel = published(&app, user, ig, now - Duration::hours(30)).await;
    let photo = published(&app, user, ig, now - Duration::hours(10)).await;
    snapshot(
        &app,
        reel,
        now - Duration::hours(2),
        json!({"likes": 30, "replies": 4, "reposts": 2, "saves": 4, "views": 900}),
        json!({"reach": 400, "likes": 30}),
    )
    .await;
    snapshot(
        &app,
        photo,
        now - Duration::hours(1),
        json!({"likes": 5, "replies": 1, "reposts": 0, "saves": 4, "views": 200}),
        json!({"reach": 100}),
    )
    .await;
    roll(&app, user).await;

    let (status, html) = app.get_html("/analytics/instagram?range=7").await;
    assert_eq!(status, reqwest::StatusCode::OK);
    let tiles = texts(&html, "#tiles .stat-tile");
    assert!(tile(&tiles, "Views").contains("1100"), "{tiles:?}");
    assert!(
        tile(&tiles, "Accounts reached").contains("500"),
        "{tiles:?}"
    );
    // (30 + 4 + 2 + 4) + (5 + 1 + 0 + 4) = 50 interactions for 500 accounts reached.
    assert!(
        tile(&tiles, "Engagement rate").contains("10.0%"),
        "{tiles:?}"
    );
    let rows = texts(&html, "#top-posts .top-post");
    assert_eq!(rows.len(), 2);
    assert!(rows[0].contains("900"), "the reel first: {rows:?}");
    assert!(
        html.contains("<title id=\"chart-instagram-reach-title\">Accounts reached per day</title>")
    );
    // The tabs name every dashboard and the current one.
    assert_eq!(
        texts(&html, "#analytics-tabs a"),
        [
            "Engagement (X)",
            "Instagram",
            "Pinterest",
            "Shopify",
            "Best time"
        ]
    );
    assert_eq!(
        texts(&html, "#analytics-tabs a[aria-current=page]"),
        ["Instagram"]
    );

    let csv = app
        .get("/analytics/export.csv?dashboard=instagram&range=7")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        csv.lines().next().unwrap(),
        "day (Europe/Berlin),Views,Likes,Comments,Shares,Saves,Accounts reached"
    );
}

#[tokio::test]
async fn the_pinterest_dashboard_keeps_pin_clicks_and_outbound_clicks_apart() {
    let app = spawn_app().await;
    app.signed_up_user().await;
    let user = app.newest_user_id().await;
    let pin = connection(&app, user, Platform::Pinterest).await;
    let now = Utc::now();
    let t = published(&app, user, pin, now - Duration::days(3)).await;
    snapshot(
        &app,
        t,
        now - Duration::days(2),
        json!({"impressions": 200, "saves": 4, "clicks": 9}),
        json!({"IMPRESSION": 200, "SAVE": 4, "PIN_CLICK": 6, "OUTBOUND_CLICK": 3}),
    )
    .await;
    snapshot(
        &app,
        t,
        now - Duration::hours(1),
        json!({"impressions": 500, "saves": 10, "clicks": 20}),
        json!({"IMPRESSION": 500, "SAVE": 10, "PIN_CLICK": 14, "OUTBOUND_CLICK": 6}),
    )
    .await;
    roll(&app, user).await;

    let (_, html) = app.get_html("/analytics/pinterest?range=7").await;
    let tiles = texts(&html, "#tiles .stat-tile");
    assert!(tile(&tiles, "Impressions").contains("500"), "{tiles:?}");
    assert!(tile(&tiles, "Pin clicks").contains("14"), "{tiles:?}");
    assert!(tile(&tiles, "Outbound clicks").contains("6"), "{tiles:?}");
    assert!(tile(&tiles, "Save rate").contains("2.0%"), "{tiles:?}");
    assert!(
        !tiles.iter().any(|t| t.starts_with("Clicks")),
        "clicks are shown split, not summed: {tiles:?}"
    );
    // The outbound clicks trend: 3 two days ago, 3 more today.
    let days = texts(
        &html,
        "#chart-pinterest-outbound_clicks tbody td:nth-child(2)",
    );
    assert_eq!(days.len(), 7);
    assert_eq!(
        days.iter().map(|d| d.parse::<i64>().unwrap()).sum::<i64>(),
        6
    );
}

#[tokio::test]
async fn the_shopify_dashboard_shows_the_catalog_what_was_promoted_and_how_it_did() {
    let app = spawn_app().await;
    app.signed_up_user().await;
    let user = app.newest_user_id().await;
    let (_, html) = app.get_html("/analytics/shopify").await;
    assert!(texts(&html, "#analytics-empty")[0].contains("Connect your Shopify store"));

    let shop = connection(&app, user, Platform::Shopify).await;
    let x = connection(&app, user, Platform::X).await;
    let ig = connection(&app, user, Platform::Instagram).await;
    let mut products = Vec::new();
    for title in ["Linen apron", "Oak board", "Clay mug", "Wool throw"] {
        let id = Uuid::now_v7();
        app.scalar_i64(&format!(
            "WITH i AS (INSERT INTO products (id, user_id, connection_id, external_id, title, status, synced_at)
             VALUES ('{id}', '{user}', '{shop}', '{id}', '{title}', 'active', now()) RETURNING 1) SELECT count(*) FROM i"
        ))
        .await;
        products.push(id);
    }
    let about = |target: Uuid, product: Uuid| {
        format!(
            "UPDATE posts SET product_id = '{product}' WHERE id = (SELECT post_id FROM post_targets WHERE id = '{target}')"
        )
    };
    let now = Utc::now();
    // The apron: two posts (X and Instagram); the board: one; the mug and the throw: none.
    let a1 = published(&app, user, x, now - Duration::days(2)).await;
    let a2 = published(&app, user, ig, now - Duration::days(1)).await;
    let b1 = published(&app, user, x, now - Duration::hours(5)).await;
    for (t, p) in [(a1, products[0]), (a2, products[0]), (b1, products[1])] {
        app.db.execute_unprepared(&about(t, p)).await.unwrap();
    }
    snapshot(
        &app,
        a1,
        now - Duration::hours(20),
        json!({"likes": 7, "reposts": 1, "impressions": 300}),
        json!({}),
    )
    .await;
    snapshot(
        &app,
        a2,
        now - Duration::hours(2),
        json!({"likes": 12, "saves": 3}),
        json!({}),
    )
    .await;
    snapshot(
        &app,
        b1,
        now - Duration::hours(1),
        json!({"likes": 2, "impressions": 90}),
        json!({}),
    )
    .await;

    let (status, html) = app.get_html("/analytics/shopify?range=30").await;
    assert_eq!(status, reqwest::StatusCode::OK);
    let tiles = texts(&html, "#tiles .stat-tile");
    assert!(tile(&tiles, "Products synced").contains('4'), "{tiles:?}");
    assert!(
        tile(&tiles, "Products promoted").contains("50.0% of your synced products"),
        "{tiles:?}"
    );
    assert!(
        tile(&tiles, "Posts about products").contains("1.5 per promoted product"),
        "{tiles:?}"
    );
    // 7 + 1 + 12 + 3 + 2.
    assert!(
        tile(&tiles, "Engagement on product posts").contains("25"),
        "{tiles:?}"
    );
    let top = texts(&html, "#top-products .top-product");
    assert_eq!(top.len(), 2);
    assert!(top[0].starts_with("Linen apron"), "{top:?}");
    // Posts, networks, engagement, impressions.
    assert_eq!(
        texts(
            &html,
            "#top-products .top-product:first-child td.tabular-nums"
        ),
        ["2", "2", "23", "300"]
    );
    let idle = texts(&html, "#top-idle .top-product");
    assert_eq!(idle.len(), 2);
    assert!(
        idle.iter().any(|r| r.starts_with("Clay mug"))
            && idle.iter().any(|r| r.starts_with("Wool throw"))
    );
    let per_day = texts(&html, "#chart-shopify-posts tbody td:nth-child(2)");
    assert_eq!(
        per_day
            .iter()
            .map(|d| d.parse::<i64>().unwrap())
            .sum::<i64>(),
        3
    );

    let csv = app
        .get("/analytics/export.csv?dashboard=shopify&range=30&table=products")
        .await
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "Product,last published,link,Posts,Networks,Engagement,Impressions"
    );
    assert!(
        lines[1].starts_with("Linen apron,") && lines[1].ends_with(",2,2,23,300"),
        "{csv}"
    );

    // Another seller's catalog isn't counted.
    let other = app.second_browser();
    other
        .post_form(
            "/signup",
            &[
                ("email", "eve@example.com"),
                ("password", "correct horse battery staple"),
                ("time_zone", "UTC"),
            ],
        )
        .await;
    let (_, html) = other.get_html("/analytics/shopify").await;
    assert!(texts(&html, "#analytics-empty")[0].contains("Connect your Shopify store"));
}

#[tokio::test]
async fn rollup_days_are_the_seller_s_days_and_move_when_their_time_zone_changes() {
    let app = spawn_app().await;
    app.signed_up_user().await;
    let user = app.newest_user_id().await;
    app.db
        .execute_unprepared(&format!(
            "UPDATE users SET time_zone = 'Europe/Berlin' WHERE id = '{user}'"
        ))
        .await
        .unwrap();
    let x = connection(&app, user, Platform::X).await;
    let at = |d, h, m| Utc.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap();
    let t = published(&app, user, x, at(1, 20, 0)).await;
    // 23:30 UTC on the 1st is 00:30 on the 2nd in Berlin.
    snapshot(&app, t, at(1, 23, 30), json!({"likes": 8}), json!({})).await;
    rollup::rollup(&app.db, &[user], at(1, 0, 0).date_naive(), Utc::now())
        .await
        .unwrap();
    let sql = format!(
        "SELECT string_agg(day || '=' || value, ',') FROM analytics WHERE user_id = '{user}' AND metric = 'likes'"
    );
    let days = || app.scalar_string(&sql);
    assert_eq!(days().await.as_deref(), Some("2026-11-02=8"));

    // Moving to UTC through Settings moves the day back.
    let res = app
        .post_form("/settings/time-zone", &[("time_zone", "UTC")])
        .await;
    assert!(res.status().is_redirection(), "{}", res.status());
    assert_eq!(days().await.as_deref(), Some("2026-11-01=8"));
}

#[tokio::test]
async fn without_the_per_platform_flag_only_the_x_dashboard_is_there() {
    let app = crate::helpers::spawn_app_with(|env| {
        env.insert("FEATURE_PER_PLATFORM_ANALYTICS".into(), "false".into());
    })
    .await;
    app.signed_up_user().await;
    for path in [
        "/analytics/instagram",
        "/analytics/pinterest",
        "/analytics/shopify",
        "/analytics/export.csv?dashboard=shopify",
    ] {
        let (status, _) = app.get_html(path).await;
        assert_eq!(status, reqwest::StatusCode::NOT_FOUND, "{path}");
    }
    let (status, html) = app.get_html("/analytics").await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(
        texts(&html, "#analytics-tabs a"),
        ["Engagement (X)", "Best time"]
    );
}

/// Done means: a new seller publishes a product post to X, Instagram and Pinterest through the
/// sandbox; minutes later every dashboard has the sandbox's numbers, the post shows its curve,
/// and with one post the best time is a plain statement of how much more is needed.
#[tokio::test]
async fn minutes_after_a_new_seller_publishes_every_dashboard_shows_the_sandbox_s_numbers() {
    use std::time::Duration as StdDuration;

    use crate::helpers::eventually;
    use picscripter::jobs::collect_metrics::{Collector, SCHEDULE_SECS};

    let (app, sandbox) = crate::helpers::spawn_app_with_sandbox().await;
    app.signed_up_user().await;
    let user = app.newest_user_id().await;
    let _worker = app.spawn_worker();
    for p in [
        Platform::Shopify,
        Platform::X,
        Platform::Instagram,
        Platform::Pinterest,
    ] {
        crate::oauth::connect(&app, &sandbox, p).await;
    }
    eventually(
        "the shop is synced",
        StdDuration::from_secs(120),
        || async {
            app.scalar_i64("SELECT count(*) FROM catalog_syncs WHERE status = 'succeeded'")
                .await
                > 0
        },
    )
    .await;
    let product = app
        .scalar_string("SELECT id::text FROM products WHERE url IS NOT NULL ORDER BY title LIMIT 1")
        .await
        .unwrap();
    let title = app
        .scalar_string(&format!(
            "SELECT title FROM products WHERE id = '{product}'"
        ))
        .await
        .unwrap();
    let photo = crate::media::stored(&app, "mug.jpg", crate::media::jpeg(1080, 1080, 7)).await;
    let ids: Vec<String> = ["x", "instagram", "pinterest"]
        .iter()
        .map(|p| format!("SELECT id::text FROM connections WHERE platform = '{p}'"))
        .collect();
    let mut targets = Vec::new();
    for sql in &ids {
        targets.push(json!({"connection_id": app.scalar_string(sql).await.unwrap()}));
    }
    let token = app.api_token_of(user).await;
    let res = app
        .client
        .post(app.url("/api/v1/posts"))
        .bearer_auth(&token)
        .json(&json!({
            "body": "Speckled mugs, fresh from the kiln.",
            "media_ids": [photo],
            "product_id": product,
            "targets": targets,
            "publish_now": true
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        reqwest::StatusCode::CREATED,
        "{}",
        res.text().await.unwrap()
    );
    let post: Value = res.json().await.unwrap();
    let post_id = post["id"].as_str().unwrap().to_owned();
    eventually(
        "all three are published",
        StdDuration::from_secs(90),
        || async {
            app.scalar_i64("SELECT count(*) FROM post_targets WHERE status = 'published'")
                .await
                == 3
        },
    )
    .await;

    // Not a number before the first snapshot is due; then, a few minutes on (on both clocks),
    // the collection reads all three networks.
    let collector = Collector {
        db: app.db.clone(),
        connections: app.state.connections.clone(),
    };
    assert_eq!(collector.run_once(Utc::now()).await.unwrap().claimed, 0);
    let minutes = SCHEDULE_SECS[0] + 60;
    sandbox.advance_clock(minutes).await;
    let report = collector
        .run_once(Utc::now() + Duration::seconds(minutes))
        .await
        .unwrap();
    assert_eq!(report.snapshots, 3, "{report:?}");

    let first_number = |html: &str| -> i64 {
        texts(html, "#top-posts .top-post td.tabular-nums")
            .iter()
            .filter_map(|v| v.parse::<i64>().ok())
            .next()
            .unwrap_or_else(|| panic!("no numbers in {html}"))
    };
    // Each dashboard shows what the sandbox answered (the first column: X and Pinterest
    // impressions, Instagram views), and X's are already above zero.
    for (page, platform, column) in [
        ("/analytics", "x", "impressions"),
        ("/analytics/instagram", "instagram", "views"),
        ("/analytics/pinterest", "pinterest", "impressions"),
    ] {
        let (status, html) = app.get_html(page).await;
        assert_eq!(status, reqwest::StatusCode::OK);
        assert!(
            texts(&html, "#analytics-empty").is_empty(),
            "{page} has numbers"
        );
        let stored = app
            .scalar_i64(&format!(
                "SELECT m.{column} FROM post_metrics m JOIN post_targets t ON t.id = m.target_id JOIN connections c ON c.id = t.connection_id WHERE c.platform = '{platform}'"
            ))
            .await;
        assert_eq!(first_number(&html), stored, "{page}: the sandbox's number");
        if platform == "x" {
            assert!(stored > 0, "X counts impressions from the start");
        }
    }
    let (_, html) = app.get_html("/analytics/shopify").await;
    let top = texts(&html, "#top-products .top-product");
    assert_eq!(top.len(), 1, "{top:?}");
    assert!(top[0].starts_with(&title), "{top:?}");
    assert_eq!(
        texts(&html, "#top-products .top-product td.tabular-nums")[..2],
        ["1", "3"],
        "one post on three networks"
    );

    let (_, html) = app.get_html(&format!("/analytics/posts/{post_id}")).await;
    for id in [
        "chart-x-impressions",
        "chart-instagram-views",
        "chart-pinterest-impressions",
    ] {
        assert_eq!(texts(&html, &format!("#{id} tbody tr")).len(), 1, "{id}");
    }
    let (_, html) = app.get_html("/posts/new").await;
    assert!(
        html.contains("Not enough of your own engagement numbers yet to suggest a time"),
        "one post isn't enough to suggest a time"
    );
}

#[tokio::test]
async fn each_target_keeps_its_latest_engagement_with_missing_numbers_counted_as_zero() {
    let app = spawn_app().await;
    app.signed_up_user().await;
    let user = app.newest_user_id().await;
    let pin = connection(&app, user, Platform::Pinterest).await;
    let now = Utc::now();
    let t = published(&app, user, pin, now - Duration::days(2)).await;
    let sql = format!(
        "SELECT coalesce(metrics_engagement::text, 'none') || ' ' || coalesce(metrics_impressions::text, 'none') FROM post_targets WHERE id = '{t}'"
    );
    let kept = || app.scalar_string(&sql);
    // No numbers among likes, reposts, replies, quotes, saves and clicks: nothing to rank by.
    snapshot(
        &app,
        t,
        now - Duration::days(1),
        json!({"impressions": 40}),
        json!({}),
    )
    .await;
    assert_eq!(kept().await.as_deref(), Some("none 40"));
    // Saves and clicks only: the rest count as zero.
    snapshot(
        &app,
        t,
        now - Duration::hours(1),
        json!({"saves": 3, "clicks": 2, "impressions": 90}),
        json!({}),
    )
    .await;
    assert_eq!(kept().await.as_deref(), Some("5 90"));
    // A snapshot older than the kept one doesn't replace it.
    snapshot(
        &app,
        t,
        now - Duration::hours(30),
        json!({"saves": 1}),
        json!({}),
    )
    .await;
    assert_eq!(kept().await.as_deref(), Some("5 90"));
}
