//! Best time to post: the heat map of a seller's own engagement on their clock, the page that
//! shows it, and the suggested time in the composer (usable without JavaScript).

use chrono::{DateTime, Datelike as _, Duration, TimeZone as _, Timelike as _, Utc, Weekday};
use picscripter::analytics::best_time;
use picscripter::domain::{Platform, TimeZone};
use reqwest::StatusCode;
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app, spawn_app_with, texts};

/// A signed-up seller on `zone`'s clock with an X account: (user, connection).
async fn seller(app: &TestApp, zone: &str) -> (Uuid, Uuid) {
    app.signed_up_user().await;
    app.post_form("/settings/time-zone", &[("time_zone", zone)])
        .await;
    let user = app.newest_user_id().await;
    let x = app.saved_connection(user, Platform::X, "maple on X").await;
    (user, x)
}

/// A post published at `at` to `connection` whose latest snapshot has `likes` (an earlier one
/// has fewer, so only the latest may count).
async fn published(app: &TestApp, user: Uuid, connection: Uuid, at: DateTime<Utc>, likes: i64) {
    let (post, target) = (Uuid::now_v7(), Uuid::now_v7());
    let at_s = at.to_rfc3339();
    app.scalar_i64(&format!(
        "WITH p AS (INSERT INTO posts (id, user_id, body, status, scheduled_at) VALUES ('{post}', '{user}', 'Hello', 'published', '{at_s}') RETURNING 1),
              t AS (INSERT INTO post_targets (id, post_id, connection_id, status, remote_id, published_at) VALUES ('{target}', '{post}', '{connection}', 'published', '{target}', '{at_s}') RETURNING 1),
              m AS (INSERT INTO post_metrics (id, target_id, captured_at, likes, views) VALUES ('{}', '{target}', '{}', 1, 50), ('{}', '{target}', '{}', {likes}, 500) RETURNING 1)
         SELECT (SELECT count(*) FROM p) + (SELECT count(*) FROM t) + (SELECT count(*) FROM m)",
        Uuid::now_v7(),
        (at + Duration::hours(1)).to_rfc3339(),
        Uuid::now_v7(),
        (at + Duration::hours(6)).to_rfc3339(),
    ))
    .await;
}

/// The `k`-th most recent `weekday` at `hour`:00 UTC (k = 1 is the latest), at least a day ago.
fn weeks_ago(weekday: Weekday, hour: u32, k: i64) -> DateTime<Utc> {
    let mut t = (Utc::now() - Duration::days(1))
        .with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap();
    while t.weekday() != weekday || t.hour() != hour {
        t -= Duration::hours(1);
    }
    t - Duration::weeks(k - 1)
}

/// Three posts at each of `slots` (weekday, hour UTC, likes), on the last three weeks.
async fn seed(app: &TestApp, user: Uuid, x: Uuid, slots: &[(Weekday, u32, i64)]) {
    for (day, hour, likes) in slots {
        for k in 1..=3 {
            published(app, user, x, weeks_ago(*day, *hour, k), *likes).await;
        }
    }
}

/// Twelve posts in four hours; Tuesday 18:00 UTC's get twice the seller's mean engagement.
const ENOUGH: [(Weekday, u32, i64); 4] = [
    (Weekday::Mon, 9, 10),
    (Weekday::Tue, 18, 30),
    (Weekday::Wed, 12, 10),
    (Weekday::Fri, 20, 10),
];

/// The next Tuesday 18:00 UTC at least 15 minutes from now, as the composer's date.
fn next_tuesday_evening() -> String {
    let soonest = Utc::now() + Duration::minutes(15);
    let mut day = soonest.date_naive();
    loop {
        let t = Utc.from_utc_datetime(&day.and_hms_opt(18, 0, 0).unwrap());
        if day.weekday() == Weekday::Tue && t >= soonest {
            return day.format("%Y-%m-%d").to_string();
        }
        day += Duration::days(1);
    }
}

fn value_of(html: &str, selector: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(selector).unwrap();
    doc.select(&sel)
        .map(|e| e.value().attr("value").unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn a_post_counts_in_the_hour_it_went_out_on_the_seller_s_clock() {
    let app = spawn_app().await;
    let (user, x) = seller(&app, "UTC").await;
    // Monday 30 November 2026, 23:30 UTC: winter in Berlin and New York.
    published(
        &app,
        user,
        x,
        Utc.with_ymd_and_hms(2026, 11, 30, 23, 30, 0).unwrap(),
        7,
    )
    .await;
    let now = Utc.with_ymd_and_hms(2026, 12, 8, 12, 0, 0).unwrap();
    let map = |zone: &'static str| {
        let db = app.db.clone();
        async move {
            best_time::heat_map(&db, user, TimeZone::parse(zone).unwrap(), now)
                .await
                .unwrap()
        }
    };
    let berlin = map("Europe/Berlin").await;
    assert_eq!(berlin.cell(Weekday::Tue, 0).posts, 1);
    assert_eq!(berlin.posts(), 1);
    let utc = map("UTC").await;
    assert_eq!(utc.cell(Weekday::Mon, 23).posts, 1);
    let new_york = map("America/New_York").await;
    assert_eq!(new_york.cell(Weekday::Mon, 18).posts, 1);
    assert!((new_york.cell(Weekday::Mon, 18).score - 1.0).abs() < 1e-9);
    // Older than 90 days, it no longer counts.
    let later = best_time::heat_map(&app.db, user, TimeZone::UTC, now + Duration::days(90))
        .await
        .unwrap();
    assert_eq!(later.posts(), 0);
}

#[tokio::test]
async fn the_page_names_the_seller_s_zone_and_places_each_post_on_their_clock() {
    let app = spawn_app().await;
    let (user, x) = seller(&app, "UTC").await;
    let monday_night = weeks_ago(Weekday::Mon, 23, 1) + Duration::minutes(30);
    published(&app, user, x, monday_night, 7).await;
    let (status, html) = app.get_html("/analytics/best-time").await;
    assert_eq!(status, StatusCode::OK);
    assert!(texts(&html, "#heat-map caption")[0].contains("times in UTC"));
    assert_eq!(
        texts(&html, "#heat-map td.heat-3 .sr-only"),
        ["Monday 23:00: 1 post, 1.0× your usual engagement"]
    );
    // Tokyo is nine hours ahead all year.
    app.post_form("/settings/time-zone", &[("time_zone", "Asia/Tokyo")])
        .await;
    let (_, html) = app.get_html("/analytics/best-time").await;
    assert!(texts(&html, "#heat-map caption")[0].contains("times in Asia/Tokyo"));
    assert_eq!(
        texts(&html, "#heat-map td.heat-3 .sr-only"),
        ["Tuesday 08:00: 1 post, 1.0× your usual engagement"]
    );
}

#[tokio::test]
async fn the_best_time_page_shows_the_week_the_suggestion_and_what_the_colours_mean() {
    let app = spawn_app().await;
    let (user, x) = seller(&app, "UTC").await;
    let (_, html) = app.get_html("/analytics/best-time").await;
    assert_eq!(
        texts(&html, "#best-time-not-enough p")[0],
        "Not enough of your own engagement numbers yet to suggest a time — about 12 more published posts with numbers."
    );

    seed(&app, user, x, &ENOUGH).await;
    let (status, html) = app.get_html("/analytics/best-time").await;
    assert_eq!(status, StatusCode::OK);
    assert!(texts(&html, "#best-time-not-enough").is_empty());
    let suggestion = texts(&html, "#best-time-suggestion").join(" ");
    assert!(
        suggestion.contains("Your best time: Tuesday 18:00")
            && suggestion.contains("2.0× your usual engagement, based on 3 posts"),
        "{suggestion}"
    );
    // A row per weekday, Monday first, a header and a cell per hour.
    let days = texts(&html, "#heat-map tbody th[scope=row]");
    assert_eq!(days.len(), 7);
    assert_eq!(days[0], "Monday");
    assert_eq!(texts(&html, "#heat-map thead th[scope=col]").len(), 25);
    assert_eq!(texts(&html, "#heat-map tbody td").len(), 7 * 24);
    // Tuesday 18:00 at twice the usual is the darkest step; the other three at 0.67×.
    assert_eq!(
        texts(&html, "#heat-map td.heat-5 .sr-only"),
        ["Tuesday 18:00: 3 posts, 2.0× your usual engagement"]
    );
    assert_eq!(texts(&html, "#heat-map td.heat-2").len(), 3);
    assert!(
        texts(&html, "#heat-map tbody td .sr-only").contains(&"Monday 03:00: no posts".to_owned())
    );
    assert_eq!(texts(&html, "#heat-legend li").len(), 5);
}

#[tokio::test]
async fn a_seller_sees_only_their_own_numbers() {
    let app = spawn_app().await;
    let (alice, ax) = seller(&app, "UTC").await;
    seed(&app, alice, ax, &ENOUGH[..1]).await;

    let bob_browser = app.second_browser();
    bob_browser
        .post_form(
            "/signup",
            &[
                ("email", "bob@example.com"),
                ("password", "correct horse battery staple"),
                ("time_zone", "UTC"),
            ],
        )
        .await;
    let bob = app.newest_user_id().await;
    let bx = app.saved_connection(bob, Platform::X, "bob on X").await;
    seed(&app, bob, bx, &ENOUGH).await;

    let mine = best_time::heat_map(&app.db, alice, TimeZone::UTC, Utc::now())
        .await
        .unwrap();
    assert_eq!(mine.posts(), 3);
    assert_eq!(mine.cell(Weekday::Tue, 18).posts, 0);
    let (_, html) = app.get_html("/analytics/best-time").await;
    assert!(
        texts(&html, "#best-time-not-enough")[0].contains("about 9 more published posts"),
        "Bob's twelve posts don't count for Alice"
    );
    assert_eq!(texts(&html, "#heat-map td[title]").len(), 1);
    let (_, html) = bob_browser.get_html("/analytics/best-time").await;
    assert!(texts(&html, "#best-time-suggestion")[0].contains("Tuesday 18:00"));
}

#[tokio::test]
async fn the_composer_suggests_a_time_once_there_are_enough_numbers_and_says_how_many_until_then() {
    let app = spawn_app().await;
    let (user, x) = seller(&app, "UTC").await;
    seed(&app, user, x, &ENOUGH[..1]).await;
    let (_, html) = app.get_html("/posts/new").await;
    assert_eq!(
        texts(&html, "#best-time-hint"),
        [
            "Not enough of your own engagement numbers yet to suggest a time — about 9 more published posts with numbers. See your best times"
        ]
    );
    let doc = scraper::Html::parse_document(&html);
    let link = scraper::Selector::parse("#best-time-hint a").unwrap();
    assert_eq!(
        doc.select(&link).next().unwrap().value().attr("href"),
        Some("/analytics/best-time")
    );

    seed(&app, user, x, &ENOUGH[1..]).await;
    let (_, html) = app.get_html("/posts/new").await;
    assert_eq!(
        texts(&html, "#best-time-hint p"),
        ["Suggested time: Tuesday 18:00 (2.0× your usual engagement, based on 3 posts)"]
    );
    assert_eq!(
        value_of(&html, "#best-time-hint button[name=action]"),
        ["suggested_time"]
    );
}

#[tokio::test]
async fn using_the_suggested_time_fills_the_composer_s_date_and_time_without_javascript() {
    let app = spawn_app().await;
    let (user, x) = seller(&app, "UTC").await;
    seed(&app, user, x, &ENOUGH).await;
    let x = x.to_string();
    let day = (Utc::now() + Duration::days(3))
        .format("%Y-%m-%d")
        .to_string();
    let res = app
        .post_form(
            "/posts",
            &[
                ("body", "Mugs are back in stock"),
                ("target", &x),
                ("date", &day),
                ("time", "09:00"),
                ("action", "suggested_time"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert_eq!(value_of(&html, "#date"), [next_tuesday_evening()]);
    assert_eq!(value_of(&html, "#time"), ["18:00"]);
    // Everything else is as it was sent, and nothing is saved yet.
    assert_eq!(texts(&html, "#body"), ["Mugs are back in stock"]);
    assert_eq!(value_of(&html, "input[name=target][checked]"), [x.as_str()]);
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM posts WHERE body = 'Mugs are back in stock'")
            .await,
        0
    );
    assert!(texts(&html, "#best-time-hint")[0].contains("(chosen)"));
    // Enter in a field still means "Schedule": the form's first submit button.
    assert_eq!(
        value_of(&html, "#composer button[type=submit]")[0],
        "schedule"
    );

    // In the calendar's drawer (htmx) the same button answers with the drawer's form alone.
    let token = app.csrf().await;
    let res = app
        .client
        .post(app.url("/posts"))
        .headers(crate::helpers::same_origin_headers(&app.base))
        .header("hx-request", "true")
        .header("hx-target", "drawer")
        .header("x-csrf-token", &token)
        .form(&[
            ("body", "From the drawer"),
            ("target", x.as_str()),
            ("date", day.as_str()),
            ("time", "09:00"),
            ("action", "suggested_time"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let fragment = res.text().await.unwrap();
    assert!(!fragment.contains("<html"));
    assert_eq!(value_of(&fragment, "#date"), [next_tuesday_evening()]);
    assert_eq!(value_of(&fragment, "#time"), ["18:00"]);

    // Scheduling it then is an ordinary schedule.
    let date = next_tuesday_evening();
    let res = app
        .post_form(
            "/posts",
            &[
                ("body", "Mugs are back in stock"),
                ("target", &x),
                ("date", &date),
                ("time", "18:00"),
                ("action", "schedule"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.scalar_string(
            "SELECT to_char(scheduled_at AT TIME ZONE 'UTC', 'Dy HH24:MI') FROM posts WHERE body = 'Mugs are back in stock'"
        )
        .await
        .as_deref(),
        Some("Tue 18:00")
    );
}

#[tokio::test]
async fn with_engagement_numbers_off_there_is_no_best_time_page_and_no_suggestion() {
    let app = spawn_app_with(|env| {
        env.insert("METRICS_ENGAGEMENT".into(), "false".into());
    })
    .await;
    let (user, x) = seller(&app, "UTC").await;
    seed(&app, user, x, &ENOUGH).await;
    let (status, _) = app.get_html("/analytics/best-time").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, html) = app.get_html("/posts/new").await;
    assert_eq!(status, StatusCode::OK);
    assert!(texts(&html, "#best-time-hint").is_empty());
    assert!(!html.contains("Suggested time"));
    let x = x.to_string();
    let res = app
        .post_form(
            "/posts",
            &[
                ("body", "Hello"),
                ("target", &x),
                ("date", "2030-01-01"),
                ("time", "09:00"),
                ("action", "suggested_time"),
            ],
        )
        .await;
    let html = res.text().await.unwrap();
    assert_eq!(value_of(&html, "#time"), ["09:00"]);
}
