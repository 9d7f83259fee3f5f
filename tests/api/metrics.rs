//! Engagement collection: snapshots of published posts on a schedule, the daily rollups the
//! dashboards read, and who sees which numbers.

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use picscripter::analytics::rollup;
use picscripter::domain::{Platform, PlatformKind};
use picscripter::jobs::collect_metrics::Collector;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app};

pub(crate) async fn connection(app: &TestApp, user: Uuid, platform: Platform) -> Uuid {
    app.saved_connection(user, platform, &format!("{platform} account"))
        .await
}

/// A post published at `at` to `connection`; returns the target's id.
pub(crate) async fn published(
    app: &TestApp,
    user: Uuid,
    connection: Uuid,
    at: DateTime<Utc>,
) -> Uuid {
    let post = Uuid::now_v7();
    let target = Uuid::now_v7();
    app.scalar_i64(&format!(
        "WITH p AS (INSERT INTO posts (id, user_id, body, status, scheduled_at) VALUES ('{post}', '{user}', 'Hello', 'published', '{at}') RETURNING 1),
              t AS (INSERT INTO post_targets (id, post_id, connection_id, status, remote_id, published_at) VALUES ('{target}', '{post}', '{connection}', 'published', '{target}', '{at}') RETURNING 1)
         SELECT (SELECT count(*) FROM p) + (SELECT count(*) FROM t)",
        at = at.to_rfc3339()
    ))
    .await;
    target
}

async fn snapshot(
    app: &TestApp,
    target: Uuid,
    at: DateTime<Utc>,
    likes: Option<i64>,
    views: Option<i64>,
) {
    let likes = likes.map_or("NULL".to_owned(), |v| v.to_string());
    let views = views.map_or("NULL".to_owned(), |v| v.to_string());
    app.scalar_i64(&format!(
        "WITH i AS (INSERT INTO post_metrics (id, target_id, captured_at, likes, views) VALUES ('{}', '{target}', '{}', {likes}, {views}) RETURNING 1) SELECT count(*) FROM i",
        Uuid::now_v7(),
        at.to_rfc3339()
    ))
    .await;
}

async fn rolled(app: &TestApp, user: Uuid) -> Vec<String> {
    app.scalar_string(&format!(
        "SELECT string_agg(platform || ' ' || metric || ' ' || day || ' ' || value, ', ' ORDER BY platform, metric, day) FROM analytics WHERE user_id = '{user}'"
    ))
    .await
    .map(|s| s.split(", ").map(str::to_owned).collect())
    .unwrap_or_default()
}

fn day(d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap()
}

#[tokio::test]
async fn rollups_add_up_what_each_post_gained_each_day_per_network() {
    let app = spawn_app().await;
    app.signed_up_user().await;
    let user = app.newest_user_id().await;
    let x = connection(&app, user, Platform::X).await;
    let ig = connection(&app, user, Platform::Instagram).await;
    let a = published(&app, user, x, day(1, 9)).await;
    let b = published(&app, user, x, day(1, 12)).await;
    let c = published(&app, user, ig, day(2, 8)).await;
    // Post a: 5 likes on the 1st (best of two snapshots), 12 by the 2nd, 20 by the 4th.
    snapshot(&app, a, day(1, 10), Some(3), None).await;
    snapshot(&app, a, day(1, 15), Some(5), None).await;
    snapshot(&app, a, day(2, 10), Some(12), None).await;
    snapshot(&app, a, day(4, 10), Some(20), None).await;
    // Post b: 1 like on the 1st, 4 by the 2nd.
    snapshot(&app, b, day(1, 13), Some(1), None).await;
    snapshot(&app, b, day(2, 13), Some(4), None).await;
    // Post c (Instagram): views only; likes not given (never counted as zero).
    snapshot(&app, c, day(2, 9), None, Some(100)).await;
    snapshot(&app, c, day(3, 9), None, Some(250)).await;

    let since = day(1, 0).date_naive();
    rollup::rollup(&app.db, &[user], since, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        rolled(&app, user).await,
        [
            // Hand-computed: views 100 on the 2nd, +150 on the 3rd.
            "instagram views 2026-11-02 100",
            "instagram views 2026-11-03 150",
            // Likes: the 1st 5 + 1; the 2nd (12-5) + (4-1); the 4th 20-12.
            "x likes 2026-11-01 6",
            "x likes 2026-11-02 10",
            "x likes 2026-11-04 8",
        ]
    );

    // Running it again (a later tick) changes nothing; a new snapshot updates its day only.
    snapshot(&app, b, day(4, 18), Some(6), None).await;
    rollup::rollup(&app.db, &[user], day(4, 0).date_naive(), Utc::now())
        .await
        .unwrap();
    let rows = rolled(&app, user).await;
    assert!(
        rows.contains(&"x likes 2026-11-04 10".to_owned()),
        "{rows:?}"
    );
    assert!(
        rows.contains(&"x likes 2026-11-02 10".to_owned()),
        "{rows:?}"
    );
}

#[tokio::test]
async fn a_seller_s_rollups_hold_only_their_own_posts() {
    let app = spawn_app().await;
    app.signed_up_user().await;
    let alice = app.newest_user_id().await;
    let other = app.second_browser();
    other
        .post_form(
            "/signup",
            &[
                ("email", "bob@example.com"),
                ("password", "correct horse battery staple"),
                ("time_zone", "Europe/Berlin"),
            ],
        )
        .await;
    let bob = app.newest_user_id().await;
    assert_ne!(alice, bob);
    let ax = connection(&app, alice, Platform::X).await;
    let bx = connection(&app, bob, Platform::X).await;
    let a = published(&app, alice, ax, day(5, 9)).await;
    let b = published(&app, bob, bx, day(5, 9)).await;
    snapshot(&app, a, day(5, 10), Some(7), None).await;
    snapshot(&app, b, day(5, 10), Some(1000), None).await;
    rollup::rollup(&app.db, &[alice], day(1, 0).date_naive(), Utc::now())
        .await
        .unwrap();
    assert_eq!(rolled(&app, alice).await, ["x likes 2026-11-05 7"]);
    assert!(
        rolled(&app, bob).await.is_empty(),
        "only the users asked about are rolled up"
    );
}

#[tokio::test]
async fn every_social_network_has_its_numbers_read_and_shops_have_none() {
    let app = spawn_app().await;
    let registry = app.state.connections.registry();
    for platform in Platform::ALL {
        assert_eq!(
            registry.metrics(platform).is_some(),
            platform.kind() == PlatformKind::Social,
            "{platform}"
        );
    }
}

#[tokio::test]
async fn the_engagement_dashboard_shows_totals_trends_top_posts_and_each_post_s_curve() {
    let app = spawn_app().await;
    app.signed_up_user().await;
    let user = app.newest_user_id().await;
    let (_, html) = app.get_html("/analytics").await;
    assert!(
        crate::helpers::texts(&html, "#analytics-empty")[0].contains("Connect X"),
        "the empty state says what to do"
    );

    let x = connection(&app, user, Platform::X).await;
    let now = Utc::now();
    let hot = published(&app, user, x, now - Duration::hours(30)).await;
    let cold = published(&app, user, x, now - Duration::hours(20)).await;
    snapshot(&app, hot, now - Duration::hours(29), Some(4), None).await;
    snapshot(&app, hot, now - Duration::hours(1), Some(40), None).await;
    snapshot(&app, cold, now - Duration::hours(2), Some(3), None).await;
    rollup::rollup(
        &app.db,
        &[user],
        (now - Duration::days(3)).date_naive(),
        now,
    )
    .await
    .unwrap();

    let (status, html) = app.get_html("/analytics?range=7").await;
    assert_eq!(status, reqwest::StatusCode::OK);
    let tiles = crate::helpers::texts(&html, "#tiles .stat-tile");
    let likes = tiles.iter().find(|t| t.starts_with("Likes")).unwrap();
    assert!(likes.contains("43"), "40 + 3 likes gained: {likes}");
    let rows = crate::helpers::texts(&html, "#top-posts .top-post");
    assert_eq!(rows.len(), 2);
    assert!(rows[0].contains("40"), "the most liked first: {rows:?}");
    // Charts are SVG with a title, a description and their numbers in a table.
    assert!(html.contains("<title id=\"chart-x-likes-title\">Likes per day</title>"));
    assert_eq!(
        crate::helpers::texts(&html, "#chart-x-likes tbody tr").len(),
        7
    );

    let hot_post = app
        .scalar_string(&format!(
            "SELECT post_id::text FROM post_targets WHERE id = '{hot}'"
        ))
        .await
        .unwrap();
    let (status, html) = app.get_html(&format!("/analytics/posts/{hot_post}")).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(
        crate::helpers::texts(&html, "#chart-x-likes tbody td:nth-child(2)"),
        ["4", "40"]
    );

    // The numbers shown, as CSV: per day and per post.
    let res = app.get("/analytics/export.csv?range=7").await;
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "day (Europe/Berlin),Impressions,Likes,Reposts,Replies,Quotes,Bookmarks"
    );
    assert_eq!(lines.len(), 8, "a header and seven days: {csv}");
    let likes: i64 = lines[1..]
        .iter()
        .map(|l| l.split(',').nth(2).unwrap().parse::<i64>().unwrap())
        .sum();
    assert_eq!(likes, 43);
    let posts = app
        .get("/analytics/export.csv?range=7&table=posts")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(posts.lines().count(), 3, "{posts}");
    assert!(
        posts.lines().nth(1).unwrap().starts_with("Hello,"),
        "{posts}"
    );
    let (status, _) = app.get_html("/analytics/export.csv?table=everything").await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST);

    // Ranges are 7, 30 or 90 days; someone else's post isn't there.
    let (status, _) = app.get_html("/analytics?range=12").await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST);
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
    let (status, _) = other
        .get_html(&format!("/analytics/posts/{hot_post}"))
        .await;
    assert_eq!(status, reqwest::StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn with_engagement_collection_switched_off_the_analytics_pages_are_absent() {
    let app = crate::helpers::spawn_app_with(|env| {
        env.insert("METRICS_ENGAGEMENT".into(), "false".into());
    })
    .await;
    app.signed_up_user().await;
    let (status, _) = app.get_html("/analytics").await;
    assert_eq!(status, reqwest::StatusCode::NOT_FOUND);
    let (_, dashboard) = app.get_html("/dashboard").await;
    let nav = crate::helpers::texts(&dashboard, "aside nav a");
    assert!(!nav.iter().any(|n| n == "Analytics"), "{nav:?}");
    for path in [
        "/analytics/instagram",
        "/analytics/best-time",
        "/analytics/export.csv",
    ] {
        let (status, _) = app.get_html(path).await;
        assert_eq!(status, reqwest::StatusCode::NOT_FOUND, "{path}");
    }
    // And the worker schedules no collection.
    let features = app.state.config.features;
    assert!(!features.metrics_engagement);
    assert!(!picscripter::worker::cron_jobs(&features).contains(&"collect-metrics"));
    let on = picscripter::config::Features {
        metrics_engagement: true,
        ..features
    };
    assert!(picscripter::worker::cron_jobs(&on).contains(&"collect-metrics"));
}

/// Publishes `n` posts to the seller's X account through the API and the worker; returns the
/// post ids once every one is published.
async fn published_to_x(app: &TestApp, token: &str, x: Uuid, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let res = app
            .client
            .post(app.url("/api/v1/posts"))
            .bearer_auth(token)
            .json(&json!({"body": format!("Fresh mugs, batch {i}"), "targets": [{"connection_id": x}], "publish_now": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), reqwest::StatusCode::CREATED);
        let body: serde_json::Value = res.json().await.unwrap();
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    crate::helpers::eventually(
        "every post is published",
        std::time::Duration::from_secs(60),
        || async {
            app.scalar_i64("SELECT count(*) FROM post_targets WHERE status = 'published'")
                .await
                == n as i64
        },
    )
    .await;
    ids
}

/// A seller with X connected through the sandbox and `n` posts published there (by a worker
/// that doesn't collect, so the test drives collection itself): app, sandbox, user, API token,
/// post ids.
async fn x_seller_with_posts(
    n: usize,
) -> (
    TestApp,
    crate::helpers::TestSandbox,
    Uuid,
    String,
    Vec<String>,
) {
    let (app, sandbox) = crate::helpers::spawn_app_with_sandbox().await;
    app.signed_up_user().await;
    let user = app.newest_user_id().await;
    crate::oauth::connect(&app, &sandbox, Platform::X).await;
    let x: Uuid = app
        .scalar_string("SELECT id::text FROM connections WHERE platform = 'x'")
        .await
        .unwrap()
        .parse()
        .unwrap();
    let token = app.api_token_of(user).await;
    let worker = app.spawn_worker_with(|env| {
        env.insert("METRICS_ENGAGEMENT".into(), "false".into());
    });
    let posts = published_to_x(&app, &token, x, n).await;
    worker.stop().await;
    (app, sandbox, user, token, posts)
}

#[tokio::test]
async fn published_x_posts_get_snapshots_on_schedule_and_the_dashboard_and_api_show_them() {
    let (app, sandbox, user, token, posts) = x_seller_with_posts(3).await;
    let collector = Collector {
        db: app.db.clone(),
        connections: app.state.connections.clone(),
    };

    // Not due in the first five minutes.
    assert_eq!(collector.run_once(Utc::now()).await.unwrap().claimed, 0);

    // An hour and a bit later (on both clocks), one request reads all three; one snapshot
    // stands for both the 5-minute and the 1-hour one that passed meanwhile.
    sandbox.advance_clock(3700).await;
    let later = Utc::now() + Duration::hours(2);
    let report = collector.run_once(later).await.unwrap();
    assert_eq!(
        (report.claimed, report.snapshots, report.requests),
        (3, 3, 1),
        "{report:?}"
    );
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM post_targets WHERE metrics_step = 2")
            .await,
        3
    );
    // The next one isn't due until 6 h.
    assert_eq!(collector.run_once(later).await.unwrap().claimed, 0);

    let res = app
        .client
        .get(app.url(&format!("/api/v1/posts/{}/metrics", posts[0])))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    let snap = &body["snapshots"][0];
    assert_eq!(snap["platform"], "x", "{body}");
    assert!(snap["impressions"].as_i64().unwrap() > 0, "{body}");
    assert!(
        app.scalar_i64(&format!(
            "SELECT count(*) FROM analytics WHERE user_id = '{user}' AND metric = 'impressions'"
        ))
        .await
            > 0,
        "rolled up"
    );
    let (_, html) = app.get_html("/analytics").await;
    assert_eq!(
        crate::helpers::texts(&html, "#top-posts .top-post").len(),
        3
    );
}

#[tokio::test]
async fn a_rate_limited_account_waits_for_the_reset_and_one_needing_reauthorization_is_paused() {
    let (app, sandbox, _user, _token, _posts) = x_seller_with_posts(2).await;
    let x: Uuid = app
        .scalar_string("SELECT id::text FROM connections WHERE platform = 'x'")
        .await
        .unwrap()
        .parse()
        .unwrap();
    let collector = Collector {
        db: app.db.clone(),
        connections: app.state.connections.clone(),
    };
    sandbox.advance_clock(3700).await;
    sandbox
        .sandbox
        .set_limits(&picscripter::sandbox::LimitsSpec {
            x_post_lookups_per_15_min: Some(0),
            ..Default::default()
        });
    // Due (over an hour after publishing) but before X's window resets on its clock.
    let later = Utc::now() + Duration::seconds(3900);
    let report = collector.run_once(later).await.unwrap();
    assert_eq!(
        (report.rate_limited, report.snapshots),
        (2, 0),
        "{report:?}"
    );
    // Both wait for X's reset: nothing is claimed again right away.
    assert_eq!(collector.run_once(later).await.unwrap().claimed, 0);
    assert_eq!(
        app.scalar_i64(
            "SELECT count(*) FROM post_targets WHERE metrics_retry_at > now() + interval '1 hour'"
        )
        .await,
        2
    );

    // A connection needing re-authorization isn't asked at all.
    app.scalar_i64(&format!("WITH u AS (UPDATE connections SET status = 'needs_reauth' WHERE id = '{x}' RETURNING 1) SELECT count(*) FROM u")).await;
    app.scalar_i64("WITH u AS (UPDATE post_targets SET metrics_retry_at = NULL RETURNING 1) SELECT count(*) FROM u").await;
    assert_eq!(collector.run_once(later).await.unwrap().claimed, 0);
    // And the seller is told why on the connection's card.
    let (_, html) = app.get_html("/connections").await;
    assert_eq!(
        crate::helpers::texts(&html, ".metrics-paused"),
        ["Engagement numbers for its posts are paused until you reconnect it."]
    );
}

#[tokio::test]
async fn a_token_refused_before_its_time_is_refreshed_once_and_the_numbers_still_come() {
    let (app, sandbox, _user, _token, _posts) = x_seller_with_posts(2).await;
    let collector = Collector {
        db: app.db.clone(),
        connections: app.state.connections.clone(),
    };
    // Past X's two-hour token life on the sandbox's clock, while ours still thinks it's fresh.
    sandbox.advance_clock(3 * 3600).await;
    let later = Utc::now() + Duration::seconds(400);
    let report = collector.run_once(later).await.unwrap();
    assert_eq!((report.snapshots, report.paused), (2, 0), "{report:?}");
    assert_eq!(
        app.scalar_string("SELECT status::text FROM connections WHERE platform = 'x'")
            .await
            .as_deref(),
        Some("active")
    );
    let refreshes = sandbox
        .requests("x")
        .await
        .iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("/oauth2/token"))
        })
        .count();
    assert_eq!(
        refreshes, 2,
        "one code exchange when connecting, one refresh now"
    );
}
