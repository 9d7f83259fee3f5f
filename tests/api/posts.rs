//! Writing, scheduling and managing posts: the composer (page and htmx), the calendar, the posts
//! list and its actions, and the JSON API — all through the same rules.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use picscripter::domain::Platform;
use picscripter::platforms::{RemoteAccount, TokenSet};
use reqwest::StatusCode;
use sea_orm::ConnectionTrait as _;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, location, same_origin_headers, spawn_app, texts};

struct Seller {
    user: Uuid,
    x: Uuid,
    pinterest: Uuid,
    linkedin: Uuid,
}

async fn seller(app: &TestApp, time_zone: &str) -> Seller {
    app.signed_up_user().await;
    app.post_form("/settings/time-zone", &[("time_zone", time_zone)])
        .await;
    let user = Uuid::parse_str(
        &app.scalar_string("SELECT id::text FROM users ORDER BY created_at DESC LIMIT 1")
            .await
            .unwrap(),
    )
    .unwrap();
    let connect = |platform, id: &str, name: &str, metadata: Value| {
        let account = RemoteAccount {
            account_id: id.into(),
            display_name: name.into(),
            avatar_url: None,
            access_token: None,
            metadata,
        };
        let tokens = TokenSet {
            access_token: SecretString::from("t".to_owned()),
            refresh_token: Some(SecretString::from("r".to_owned())),
            expires_at: Some(Utc::now() + Duration::hours(2)),
            refresh_expires_at: None,
            scopes: vec![],
        };
        (platform, account, tokens)
    };
    let mut ids = Vec::new();
    for (platform, account, tokens) in [
        connect(Platform::X, "1", "maple on X", json!({})),
        connect(
            Platform::Pinterest,
            "2",
            "maple on Pinterest",
            json!({"boards": [{"id": "111", "name": "Mugs"}, {"id": "222", "name": "Bowls"}], "default_board_id": "111"}),
        ),
        connect(Platform::Linkedin, "3", "maple on LinkedIn", json!({})),
    ] {
        let (c, _) = app
            .state
            .connections
            .save_connected(user, platform, &account, &tokens, None)
            .await
            .unwrap();
        ids.push(c.id);
    }
    Seller {
        user,
        x: ids[0],
        pinterest: ids[1],
        linkedin: ids[2],
    }
}

/// A JPEG in the library (the row as an upload leaves it; the file itself isn't needed here).
async fn photo(app: &TestApp, user: Uuid, width: i32, height: i32) -> Uuid {
    let id = Uuid::now_v7();
    let sha = picscripter::security::sha256_hex(id.as_bytes());
    app.db
        .execute_unprepared(&format!(
            "INSERT INTO media (id, user_id, kind, mime, size_bytes, width, height, sha256, storage_key, original_filename) \
             VALUES ('{id}', '{user}', 'image', 'image/jpeg', 120000, {width}, {height}, '{sha}', 'k/{id}', 'mug.jpg')"
        ))
        .await
        .unwrap();
    id
}

/// A day `days` ahead (well within the one-year scheduling horizon), as YYYY-MM-DD.
fn ahead(days: i64) -> String {
    (Utc::now() + Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

/// The next last Sunday of `month` (Europe's DST change days), at least two days away.
fn next_last_sunday(month: u32) -> NaiveDate {
    use chrono::Datelike as _;
    let today = Utc::now().date_naive();
    for year in [today.year(), today.year() + 1] {
        let next_month = if month == 12 {
            NaiveDate::from_ymd_opt(year + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(year, month + 1, 1)
        }
        .unwrap();
        let mut d = next_month.pred_opt().unwrap();
        while d.weekday() != chrono::Weekday::Sun {
            d = d.pred_opt().unwrap();
        }
        if d > today + Duration::days(2) {
            return d;
        }
    }
    unreachable!("a last Sunday of {month} is always within a year")
}

fn tomorrow(app_zone: chrono_tz::Tz) -> NaiveDate {
    (Utc::now().with_timezone(&app_zone) + Duration::days(1)).date_naive()
}

async fn compose(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    app.post_form(path, fields).await
}

#[tokio::test]
async fn a_seller_schedules_a_post_to_two_networks_and_sees_it_on_the_calendar() {
    let app = spawn_app().await;
    let s = seller(&app, "Europe/Berlin").await;
    let mug = photo(&app, s.user, 1000, 1000).await;
    let day = tomorrow(chrono_tz::Europe::Berlin);
    let date = day.format("%Y-%m-%d").to_string();
    let x = s.x.to_string();
    let pin = s.pinterest.to_string();

    let res = compose(
        &app,
        "/posts",
        &[
            ("body", "Speckled mugs, fresh from the kiln."),
            ("media_id", &mug.to_string()),
            ("target", &x),
            ("target", &pin),
            (
                &format!("caption.{pin}"),
                "Speckled stoneware mugs, thrown by hand.",
            ),
            (&format!("opt.{pin}.board_id"), "222"),
            (&format!("opt.{pin}.title"), "Speckled mugs"),
            (&format!("opt.{pin}.link"), "https://maple.example/mugs"),
            ("date", &date),
            ("time", "14:30"),
            ("action", "schedule"),
        ],
    )
    .await;

    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("/calendar?view=month&date={date}"));
    let (_, html) = app.get_html(&location(&res)).await;
    assert_eq!(
        texts(&html, ".flash-success")[0],
        format!(
            "Scheduled for {} at 14:30 (Europe/Berlin).",
            day.format("%A %-d %B %Y")
        )
    );
    let cell = texts(&html, &format!("[data-drop-date='{date}'] .cal-post"));
    assert_eq!(cell.len(), 1);
    assert!(
        cell[0].contains("14:30") && cell[0].contains("Speckled mugs"),
        "{cell:?}"
    );
    let marks = |html: &str| {
        let doc = scraper::Html::parse_document(html);
        let sel = scraper::Selector::parse(".cal-post .cal-mark").unwrap();
        doc.select(&sel)
            .filter_map(|e| e.value().attr("title").map(str::to_owned))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        marks(&html),
        vec!["X", "Pinterest"],
        "its networks, in the order chosen"
    );

    let due = app.scalar_string("SELECT to_char(next_attempt_at AT TIME ZONE 'Europe/Berlin', 'HH24:MI') FROM post_targets LIMIT 1").await.unwrap();
    assert_eq!(due, "14:30");
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM post_targets WHERE status = 'scheduled'")
            .await,
        2
    );
    assert_eq!(
        app.scalar_string("SELECT status FROM posts").await.unwrap(),
        "scheduled"
    );
    assert_eq!(
        app.scalar_string(&format!(
            "SELECT caption FROM post_targets WHERE connection_id = '{pin}'"
        ))
        .await
        .unwrap(),
        "Speckled stoneware mugs, thrown by hand."
    );
    assert_eq!(
        app.scalar_string(&format!(
            "SELECT options->>'board_id' FROM post_targets WHERE connection_id = '{pin}'"
        ))
        .await
        .unwrap(),
        "222"
    );
    assert_eq!(
        app.scalar_i64(&format!(
            "SELECT count(*) FROM post_media WHERE media_id = '{mug}' AND position = 0"
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn scheduling_is_refused_while_a_network_s_rules_are_broken_and_the_reason_sits_by_the_account()
 {
    let app = spawn_app().await;
    let s = seller(&app, "UTC").await;
    let date = tomorrow(chrono_tz::UTC).format("%Y-%m-%d").to_string();
    let long = "Handmade mugs in every colour you can imagine. ".repeat(8);
    let (x, pin) = (s.x.to_string(), s.pinterest.to_string());

    let res = compose(
        &app,
        "/posts",
        &[
            ("body", &long),
            ("target", &x),
            ("target", &pin),
            ("date", &date),
            ("time", "10:00"),
            ("action", "schedule"),
        ],
    )
    .await;

    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    let x_issues = texts(&html, &format!("#account-{x} .issue-error"));
    assert!(
        x_issues.iter().any(|i| i.contains("over X's limit of 280")),
        "{x_issues:?}"
    );
    let pin_issues = texts(&html, &format!("#account-{pin} .issue-error"));
    assert!(
        pin_issues
            .iter()
            .any(|i| i.contains("Pinterest needs a photo or a video")),
        "{pin_issues:?}"
    );
    assert!(html.contains(&long[..40]), "the text typed is kept");
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM posts").await,
        0,
        "nothing is half-saved"
    );

    // The same post can be kept as a draft while it's being fixed.
    let res = compose(
        &app,
        "/posts",
        &[
            ("body", &long),
            ("target", &x),
            ("target", &pin),
            ("action", "draft"),
        ],
    )
    .await;
    assert_eq!(location(&res), "/posts");
    assert_eq!(
        app.scalar_string("SELECT status FROM posts").await.unwrap(),
        "draft"
    );
    assert_eq!(
        app.scalar_i64(
            "SELECT count(*) FROM post_targets WHERE status = 'draft' AND next_attempt_at IS NULL"
        )
        .await,
        2
    );
}

#[tokio::test]
async fn local_times_that_do_not_exist_or_happen_twice_are_explained_not_shifted() {
    let app = spawn_app().await;
    let s = seller(&app, "Europe/Berlin").await;
    let x = s.x.to_string();
    let spring = next_last_sunday(3);
    let autumn = next_last_sunday(10);
    let (spring_s, autumn_s) = (
        spring.format("%Y-%m-%d").to_string(),
        autumn.format("%Y-%m-%d").to_string(),
    );
    let post = |date: String, time: &'static str, fold: &'static str| {
        let x = x.clone();
        let app = &app;
        async move {
            let mut fields = vec![
                ("body", "Kiln day"),
                ("target", x.as_str()),
                ("date", date.as_str()),
                ("time", time),
                ("action", "schedule"),
            ];
            if !fold.is_empty() {
                fields.push(("fold", fold));
            }
            app.post_form("/posts", &fields).await
        }
    };

    let gap = post(spring_s.clone(), "02:30", "").await;
    assert_eq!(gap.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = gap.text().await.unwrap();
    assert_eq!(
        texts(&html, "#date-error"),
        vec![format!(
            "2:30 on {} doesn't exist in Europe/Berlin: clocks jump from 2:00 to 3:00. Choose 3:00 or later.",
            spring.format("%-d %B %Y")
        )]
    );

    let twice = post(autumn_s.clone(), "02:30", "").await;
    assert_eq!(twice.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = twice.text().await.unwrap();
    assert!(texts(&html, "#fold-error")[0].contains("happens twice in Europe/Berlin"));
    assert_eq!(
        texts(&html, "input[name=fold]").len(),
        2,
        "both moments are offered"
    );
    assert_eq!(app.scalar_i64("SELECT count(*) FROM posts").await, 0);

    let chosen = post(autumn_s.clone(), "02:30", "later").await;
    assert_eq!(chosen.status(), StatusCode::SEE_OTHER);
    let stored: DateTime<Utc> = app.scalar_string("SELECT to_char(scheduled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM posts").await.unwrap().parse().unwrap();
    assert_eq!(
        stored.to_rfc3339(),
        format!("{autumn_s}T01:30:00+00:00"),
        "the second 2:30 (UTC+1) was kept"
    );
}

#[tokio::test]
async fn times_are_converted_from_each_zone_to_utc() {
    // Fixed UTC offsets on dates whose offset we know from the zone's rules at that date.
    let day = ahead(40);
    let d = NaiveDate::parse_from_str(&day, "%Y-%m-%d").unwrap();
    let expected = |zone: chrono_tz::Tz, time: &str| {
        use chrono::TimeZone as _;
        let local = d.and_time(chrono::NaiveTime::parse_from_str(time, "%H:%M").unwrap());
        zone.from_local_datetime(&local)
            .single()
            .unwrap()
            .with_timezone(&Utc)
            .format("%Y-%m-%dT%H:%M:%S+00:00")
            .to_string()
    };
    for (zone, date, time, utc) in [
        (
            "Asia/Kolkata",
            day.clone(),
            "10:00",
            expected(chrono_tz::Asia::Kolkata, "10:00"),
        ),
        (
            "America/New_York",
            day.clone(),
            "09:15",
            expected(chrono_tz::America::New_York, "09:15"),
        ),
        (
            "Pacific/Chatham",
            day.clone(),
            "12:00",
            expected(chrono_tz::Pacific::Chatham, "12:00"),
        ),
    ] {
        let app = spawn_app().await;
        let s = seller(&app, zone).await;
        let x = s.x.to_string();
        let res = app
            .post_form(
                "/posts",
                &[
                    ("body", "Hello"),
                    ("target", &x),
                    ("date", &date),
                    ("time", time),
                    ("action", "schedule"),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{zone}");
        let stored = app.scalar_string("SELECT to_char(scheduled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"') FROM posts").await.unwrap();
        assert_eq!(stored, utc, "{zone}");
    }
}

#[tokio::test]
async fn an_edit_replaces_text_accounts_and_time_at_once_and_is_refused_once_publishing_started() {
    let app = spawn_app().await;
    let s = seller(&app, "UTC").await;
    let date = tomorrow(chrono_tz::UTC).format("%Y-%m-%d").to_string();
    let (x, li) = (s.x.to_string(), s.linkedin.to_string());
    app.post_form(
        "/posts",
        &[
            ("body", "First words"),
            ("target", &x),
            ("date", &date),
            ("time", "09:00"),
            ("action", "schedule"),
        ],
    )
    .await;
    let id = app
        .scalar_string("SELECT id::text FROM posts")
        .await
        .unwrap();

    let (status, html) = app.get_html(&format!("/posts/{id}/edit")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(texts(&html, "#body"), vec!["First words"]);

    let res = app
        .post_form(
            &format!("/posts/{id}"),
            &[
                ("body", "Better words"),
                ("target", &li),
                ("date", &date),
                ("time", "17:45"),
                ("action", "schedule"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.scalar_string("SELECT body FROM posts").await.unwrap(),
        "Better words"
    );
    assert_eq!(
        app.scalar_string("SELECT connection_id::text FROM post_targets")
            .await
            .unwrap(),
        li,
        "X was removed, LinkedIn added"
    );
    let (_, html) = app
        .get_html(&format!("/calendar?view=month&date={date}"))
        .await;
    assert_eq!(
        texts(&html, ".cal-post .cal-mark"),
        vec!["L"],
        "the calendar shows the networks as they are now"
    );
    assert_eq!(
        app.scalar_string("SELECT to_char(next_attempt_at, 'HH24:MI') FROM post_targets")
            .await
            .unwrap(),
        "17:45"
    );

    app.db
        .execute_unprepared("UPDATE post_targets SET status = 'publishing'")
        .await
        .unwrap();
    let res = app
        .post_form(
            &format!("/posts/{id}"),
            &[
                ("body", "Too late"),
                ("target", &li),
                ("date", &date),
                ("time", "18:00"),
                ("action", "schedule"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(
        texts(&res.text().await.unwrap(), "#composer-locked")[0]
            .contains("being published right now")
    );
    assert_eq!(
        app.scalar_string("SELECT body FROM posts").await.unwrap(),
        "Better words"
    );
    assert_eq!(
        app.post_form(&format!("/posts/{id}/delete"), &[])
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM posts").await,
        1,
        "not deleted while publishing"
    );
}

#[tokio::test]
async fn the_drawer_saves_through_htmx_and_answers_problems_with_the_form_fragment() {
    let app = spawn_app().await;
    let s = seller(&app, "UTC").await;
    let x = s.x.to_string();
    let token = app.csrf().await;
    let send = |fields: Vec<(&'static str, String)>| {
        app.client
            .post(app.url("/posts"))
            .headers(same_origin_headers(&app.base))
            .header("hx-request", "true")
            .header("hx-target", "drawer")
            .header("x-csrf-token", &token)
            .form(&fields)
    };

    let day = ahead(30);
    let (_, drawer) = {
        let r = app
            .client
            .get(app.url(&format!("/posts/new?date={day}")))
            .header("hx-request", "true")
            .header("hx-target", "drawer")
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    };
    assert!(
        !drawer.contains("<html") && drawer.contains("id=\"composer\""),
        "the drawer gets the form alone"
    );
    assert_eq!(texts(&drawer, "#date").len(), 1);
    assert!(drawer.contains(&format!("value=\"{day}\"")));

    let bad = send(vec![
        ("body", "x".into()),
        ("action", "schedule".into()),
        ("date", day.clone()),
        ("time", "09:00".into()),
    ])
    .send()
    .await
    .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text().await.unwrap();
    assert!(!html.contains("<html"));
    assert_eq!(
        texts(&html, "#targets-error"),
        vec!["Choose at least one account to post to."]
    );

    let ok = send(vec![
        ("body", "Drawer post".into()),
        ("target", x),
        ("action", "schedule".into()),
        ("date", day.clone()),
        ("time", "09:00".into()),
    ])
    .send()
    .await
    .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(
        ok.headers()["hx-redirect"],
        format!("/calendar?view=month&date={day}").as_str()
    );
    assert_eq!(app.scalar_i64("SELECT count(*) FROM posts").await, 1);
}

#[tokio::test]
async fn live_checks_count_each_network_s_way_and_update_the_preview() {
    let app = spawn_app().await;
    let s = seller(&app, "UTC").await;
    let (x, li) = (s.x.to_string(), s.linkedin.to_string());
    let text = format!(
        "{} https://maple-and-moss.example/a/very/long/path/to/the/mugs/page",
        "日本".repeat(5)
    );
    let res = app
        .post_form(
            "/compose/check",
            &[("body", &text), ("target", &x), ("target", &li)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    // X: 10 CJK characters weigh 2 each, the space 1 and any link 23.
    assert_eq!(
        texts(&html, &format!("#check-{x} .counter")),
        vec!["Caption 44 / 280"]
    );
    assert_eq!(
        texts(&html, &format!("#check-{li} .counter")),
        vec![format!("Caption {} / 3000", text.chars().count())]
    );
    assert!(html.contains(&format!(
        "id=\"check-{x}\" class=\"account-check\" hx-swap-oob=\"true\""
    )));
    assert!(texts(&html, &format!("#preview-{li} .preview-caption"))[0].starts_with("日本"));
}

#[tokio::test]
async fn the_calendar_shows_months_and_weeks_across_the_new_year_and_dst() {
    let app = spawn_app().await;
    let s = seller(&app, "Europe/Berlin").await;
    for (body, date, time) in [
        ("New year mugs", "2027-01-01", "00:30"),
        ("Spring bowls", "2027-03-28", "03:30"),
        ("Last of the year", "2026-12-31", "23:30"),
    ] {
        let draft = picscripter::posts::Draft {
            body: body.into(),
            media_ids: vec![],
            targets: vec![picscripter::posts::TargetInput {
                connection_id: s.x,
                caption: None,
                options: picscripter::domain::TargetOptions::X,
            }],
            when: picscripter::posts::When::At(
                picscripter::domain::schedule::local_to_utc(
                    date,
                    time,
                    picscripter::domain::TimeZone::parse("Europe/Berlin").unwrap(),
                    None,
                )
                .unwrap(),
            ),
            product_id: None,
            template_id: None,
            utm_enabled: true,
        };
        picscripter::posts::create(&app.db, s.user, &draft, Utc::now())
            .await
            .unwrap();
    }

    let (_, december) = app.get_html("/calendar?view=month&date=2026-12-10").await;
    assert_eq!(texts(&december, "#calendar-title"), vec!["December 2026"]);
    assert!(
        texts(&december, "[data-drop-date='2027-01-01'] .cal-post")[0].contains("00:30"),
        "a padding day shows its post"
    );
    assert!(texts(&december, "[data-drop-date='2026-12-31'] .cal-post")[0].contains("23:30"));

    let (_, week) = app.get_html("/calendar?view=week&date=2026-12-30").await;
    assert_eq!(
        texts(&week, "#calendar-title"),
        vec!["28 December 2026 – 3 January 2027"]
    );
    assert!(
        texts(
            &week,
            "[data-drop-date='2027-01-01'][data-drop-time='00:00'] .cal-post"
        )[0]
        .contains("New year mugs")
    );
    assert!(
        texts(
            &week,
            "[data-drop-date='2026-12-31'][data-drop-time='23:00'] .cal-post"
        )[0]
        .contains("Last of the year")
    );

    let (_, dst) = app.get_html("/calendar?view=week&date=2027-03-28").await;
    assert!(
        texts(
            &dst,
            "[data-drop-date='2027-03-28'][data-drop-time='03:00'] .cal-post"
        )[0]
        .contains("Spring bowls")
    );

    let htmx = app
        .client
        .get(app.url("/calendar?view=month&date=2027-01-01"))
        .header("hx-request", "true")
        .header("hx-target", "calendar")
        .send()
        .await
        .unwrap();
    let fragment = htmx.text().await.unwrap();
    assert!(!fragment.contains("<html") && fragment.starts_with("<div id=\"calendar\""));
    assert_eq!(
        app.get("/calendar?view=month&date=not-a-date")
            .await
            .status(),
        StatusCode::OK,
        "a bad date falls back to today"
    );
}

#[tokio::test]
async fn dragging_a_post_to_another_day_keeps_its_time() {
    let app = spawn_app().await;
    let s = seller(&app, "UTC").await;
    let x = s.x.to_string();
    let (first, third) = (ahead(30), ahead(32));
    app.post_form(
        "/posts",
        &[
            ("body", "Move me"),
            ("target", &x),
            ("date", &first),
            ("time", "08:15"),
            ("action", "schedule"),
        ],
    )
    .await;
    let id = app
        .scalar_string("SELECT id::text FROM posts")
        .await
        .unwrap();

    let token = app.csrf().await;
    let res = app
        .client
        .post(app.url(&format!("/posts/{id}/reschedule")))
        .headers(same_origin_headers(&app.base))
        .header("hx-request", "true")
        .header("x-csrf-token", token)
        .form(&[
            ("date", third.as_str()),
            ("time", ""),
            ("view", "month"),
            ("anchor", first.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(texts(&html, &format!("[data-drop-date='{third}'] .cal-post"))[0].contains("08:15"));
    assert_eq!(
        app.scalar_string(
            "SELECT to_char(next_attempt_at, 'YYYY-MM-DD HH24:MI') FROM post_targets"
        )
        .await
        .unwrap(),
        format!("{third} 08:15")
    );

    // Without JavaScript the same endpoint answers with a redirect; a past day is refused.
    let res = app
        .post_form(
            &format!("/posts/{id}/reschedule"),
            &[
                ("date", "2001-01-01"),
                ("view", "month"),
                ("anchor", first.as_str()),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, page) = app.get_html(&location(&res)).await;
    assert!(texts(&page, ".flash-error")[0].contains("has already passed"));
}

#[tokio::test]
async fn the_posts_list_filters_pages_and_acts_on_posts() {
    let app = spawn_app().await;
    let s = seller(&app, "UTC").await;
    let (x, li) = (s.x.to_string(), s.linkedin.to_string());
    let base = Utc::now().date_naive() + Duration::days(60);
    for i in 0..27 {
        let target = if i % 3 == 0 { &li } else { &x };
        let date = (base + Duration::days(i)).format("%Y-%m-%d").to_string();
        app.post_form(
            "/posts",
            &[
                ("body", &format!("Post number {i} about mugs")),
                ("target", target),
                ("date", &date),
                ("time", "09:00"),
                ("action", "schedule"),
            ],
        )
        .await;
    }
    app.post_form(
        "/posts",
        &[
            ("body", "A draft about bowls"),
            ("target", &x),
            ("action", "draft"),
        ],
    )
    .await;

    let (_, first) = app.get_html("/posts").await;
    assert_eq!(texts(&first, ".post-row").len(), 25);
    assert_eq!(texts(&first, "nav[aria-label=Pages] a"), vec!["Older"]);
    let (_, second) = app.get_html("/posts?page=2").await;
    assert_eq!(texts(&second, ".post-row").len(), 3);

    let (_, drafts) = app.get_html("/posts?status=draft").await;
    assert_eq!(
        texts(&drafts, ".post-row a.font-medium"),
        vec!["A draft about bowls"]
    );
    let (_, linkedin) = app.get_html("/posts?platform=linkedin").await;
    assert_eq!(texts(&linkedin, ".post-row").len(), 9);
    let (_, search) = app.get_html("/posts?q=number%2026").await;
    assert_eq!(texts(&search, ".post-row").len(), 1);
    let (from, to) = (
        base.format("%Y-%m-%d"),
        (base + Duration::days(1)).format("%Y-%m-%d"),
    );
    let (_, range) = app.get_html(&format!("/posts?from={from}&to={to}")).await;
    assert_eq!(
        texts(&range, ".post-row").len(),
        2,
        "the posts of the first two days"
    );
    let (_, bad) = app.get_html("/posts?from=yesterday").await;
    assert!(texts(&bad, ".flash-error")[0].contains("isn't a date"));

    // Duplicate, cancel, publish now, delete.
    let id = app
        .scalar_string("SELECT id::text FROM posts WHERE body = 'Post number 26 about mugs'")
        .await
        .unwrap();
    let res = app.post_form(&format!("/posts/{id}/duplicate"), &[]).await;
    assert!(location(&res).ends_with("/edit"));
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM posts WHERE body = 'Post number 26 about mugs'")
            .await,
        2
    );
    app.post_form(&format!("/posts/{id}/cancel"), &[]).await;
    assert_eq!(
        app.scalar_string(&format!("SELECT status FROM posts WHERE id = '{id}'"))
            .await
            .unwrap(),
        "cancelled"
    );
    app.post_form(&format!("/posts/{id}/publish-now"), &[])
        .await;
    assert_eq!(
        app.scalar_string(&format!(
            "SELECT status FROM post_targets WHERE post_id = '{id}'"
        ))
        .await
        .unwrap(),
        "scheduled"
    );
    assert!(
        app.scalar_i64(&format!(
            "SELECT count(*) FROM post_targets WHERE post_id = '{id}' AND next_attempt_at <= now()"
        ))
        .await
            == 1
    );
    app.post_form(&format!("/posts/{id}/delete"), &[]).await;
    assert_eq!(
        app.scalar_i64(&format!("SELECT count(*) FROM posts WHERE id = '{id}'"))
            .await,
        0
    );

    // Bulk cancel asks first, then acts.
    let ids: Vec<String> = vec![
        app.scalar_string("SELECT id::text FROM posts WHERE body = 'Post number 1 about mugs'")
            .await
            .unwrap(),
        app.scalar_string("SELECT id::text FROM posts WHERE body = 'Post number 2 about mugs'")
            .await
            .unwrap(),
    ];
    let confirm = app
        .post_form(
            "/posts/bulk",
            &[("bulk", "cancel"), ("id", &ids[0]), ("id", &ids[1])],
        )
        .await;
    assert_eq!(confirm.status(), StatusCode::OK);
    assert_eq!(
        texts(&confirm.text().await.unwrap(), "main h1"),
        vec!["Cancel 2 posts?"]
    );
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM posts WHERE status = 'cancelled'")
            .await,
        0
    );
    let done = app
        .post_form(
            "/posts/bulk",
            &[
                ("bulk", "cancel"),
                ("confirm", "yes"),
                ("id", &ids[0]),
                ("id", &ids[1]),
            ],
        )
        .await;
    assert_eq!(location(&done), "/posts");
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM posts WHERE status = 'cancelled'")
            .await,
        2
    );
}

#[tokio::test]
async fn another_user_s_posts_answer_404_everywhere_and_their_accounts_and_media_can_t_be_used() {
    let app = spawn_app().await;
    let owner = seller(&app, "UTC").await;
    let x = owner.x.to_string();
    let mug = photo(&app, owner.user, 800, 800).await;
    let day = ahead(30);
    app.post_form(
        "/posts",
        &[
            ("body", "Mine"),
            ("target", &x),
            ("date", &day),
            ("time", "09:00"),
            ("action", "schedule"),
        ],
    )
    .await;
    let id = app
        .scalar_string("SELECT id::text FROM posts")
        .await
        .unwrap();

    let other = app.second_browser();
    other
        .post_form(
            "/signup",
            &[
                ("email", "other@example.com"),
                ("password", crate::helpers::PASSWORD),
                ("time_zone", "UTC"),
            ],
        )
        .await;
    for path in [format!("/posts/{id}"), format!("/posts/{id}/edit")] {
        assert_eq!(
            other.get_html(&path).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    for action in [
        "",
        "/duplicate",
        "/cancel",
        "/delete",
        "/publish-now",
        "/retry",
        "/reschedule",
    ] {
        let res = other
            .post_form(
                &format!("/posts/{id}{action}"),
                &[
                    ("body", "hijack"),
                    ("date", day.as_str()),
                    ("time", "10:00"),
                    ("action", "schedule"),
                ],
            )
            .await;
        assert_eq!(
            res.status(),
            StatusCode::NOT_FOUND,
            "POST /posts/{{id}}{action}"
        );
    }
    let (_, list) = other.get_html("/posts").await;
    assert!(!list.contains("Mine"));
    let (_, calendar) = other.get_html(&format!("/calendar?date={day}")).await;
    assert!(!calendar.contains("Mine"));

    let res = other
        .post_form(
            "/posts",
            &[
                ("body", "Using theirs"),
                ("target", &x),
                ("media_id", &mug.to_string()),
                ("action", "draft"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(texts(&html, "#targets-error")[0].contains("isn't connected any more"));
    assert!(texts(&html, "#media-error")[0].contains("isn't in your media library"));
    assert_eq!(app.scalar_i64("SELECT count(*) FROM posts").await, 1);
    assert_eq!(
        app.scalar_string("SELECT body FROM posts").await.unwrap(),
        "Mine"
    );
}

#[tokio::test]
async fn every_form_of_the_content_area_needs_its_csrf_token() {
    let app = spawn_app().await;
    seller(&app, "UTC").await;
    let id = Uuid::now_v7();
    for path in [
        "/posts".to_owned(),
        format!("/posts/{id}"),
        "/posts/bulk".to_owned(),
        "/compose/check".to_owned(),
        format!("/posts/{id}/duplicate"),
        format!("/posts/{id}/cancel"),
        format!("/posts/{id}/delete"),
        format!("/posts/{id}/publish-now"),
        format!("/posts/{id}/retry"),
        format!("/posts/{id}/reschedule"),
    ] {
        let res = app
            .client
            .post(app.url(&path))
            .headers(same_origin_headers(&app.base))
            .form(&[("body", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
    }
}

// ---- the JSON API ----

async fn api(app: &TestApp, user: Uuid) -> String {
    picscripter::security::api_tokens::create(&app.db, user, "tests")
        .await
        .unwrap()
        .plaintext
        .expose_secret()
        .to_owned()
}

#[tokio::test]
async fn a_script_creates_lists_edits_and_deletes_posts_through_the_api() {
    let app = spawn_app().await;
    let s = seller(&app, "UTC").await;
    let token = api(&app, s.user).await;
    let mug = photo(&app, s.user, 1000, 1500).await;
    let at = (Utc::now() + Duration::days(3))
        .format("%Y-%m-%dT10:00:00Z")
        .to_string();

    let res = app
        .client
        .post(app.url("/api/v1/posts"))
        .bearer_auth(&token)
        .json(&json!({
            "body": "Mugs via the API",
            "media_ids": [mug],
            "targets": [{"connection_id": s.x}, {"connection_id": s.pinterest, "body": "Pin text", "options": {"board_id": "222", "title": "Mugs"}}],
            "scheduled_at": at,
            "publish_now": false
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let post: Value = res.json().await.unwrap();
    assert_eq!(post["status"], "scheduled");
    assert_eq!(post["targets"].as_array().unwrap().len(), 2);
    assert_eq!(post["media_ids"], json!([mug]));
    let id = post["id"].as_str().unwrap().to_owned();

    let list: Value = app
        .client
        .get(app.url("/api/v1/posts?status=scheduled"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["posts"].as_array().unwrap().len(), 1);
    let empty: Value = app
        .client
        .get(app.url("/api/v1/posts?status=draft"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(empty["posts"], json!([]));

    let res = app
        .client
        .patch(app.url(&format!("/api/v1/posts/{id}")))
        .bearer_auth(&token)
        .json(&json!({"body": "Edited by script", "scheduled_at": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let edited: Value = res.json().await.unwrap();
    assert_eq!(
        (edited["body"].as_str(), edited["status"].as_str()),
        (Some("Edited by script"), Some("draft"))
    );
    assert_eq!(
        edited["targets"].as_array().unwrap().len(),
        2,
        "absent fields are kept"
    );

    let one: Value = app
        .client
        .get(app.url(&format!("/api/v1/posts/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["targets"][0]["attempts"], 0);
    let metrics: Value = app
        .client
        .get(app.url(&format!("/api/v1/posts/{id}/metrics")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metrics["snapshots"], json!([]));

    let res = app
        .client
        .delete(app.url(&format!("/api/v1/posts/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.client
            .get(app.url(&format!("/api/v1/posts/{id}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn api_errors_name_the_field_and_store_nothing() {
    let app = spawn_app().await;
    let s = seller(&app, "UTC").await;
    let token = api(&app, s.user).await;
    let send = |body: Value| {
        app.client
            .post(app.url("/api/v1/posts"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };

    let cases = [
        (
            json!({"body": "x", "targets": [{"connection_id": Uuid::now_v7()}], "publish_now": true}),
            "targets[0].connection_id",
        ),
        (
            json!({"body": "x", "targets": [{"connection_id": s.pinterest, "options": {"board": "1"}}], "publish_now": true}),
            "targets[0].options",
        ),
        (
            json!({"body": "x", "targets": [{"connection_id": s.x}], "scheduled_at": "2001-01-01T00:00:00Z"}),
            "scheduled_at",
        ),
        (
            json!({"body": "y".repeat(400), "targets": [{"connection_id": s.x}], "publish_now": true}),
            "targets[0].caption",
        ),
        (
            json!({"body": "x", "targets": [{"connection_id": s.pinterest}], "publish_now": true}),
            "targets[0].media",
        ),
        (json!({"body": "x", "colour": "red"}), "colour"),
        (json!({"body": 5}), "body"),
    ];
    for (body, field) in cases {
        let res = send(body.clone()).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let err: Value = res.json().await.unwrap();
        assert!(
            err["error"]["fields"].get(field).is_some(),
            "{field} not named in {err}"
        );
    }
    let res = app
        .client
        .post(app.url("/api/v1/posts"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "bad_request"
    );
    assert_eq!(app.scalar_i64("SELECT count(*) FROM posts").await, 0);
}

#[tokio::test]
async fn the_openapi_document_describes_every_endpoint() {
    let app = spawn_app().await;
    let doc: Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/connections",
        "/api/v1/posts",
        "/api/v1/posts/{id}",
        "/api/v1/posts/{id}/metrics",
        "/api/v1/media",
        "/api/v1/media/{id}",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    assert!(doc["paths"]["/api/v1/posts"].get("post").is_some());
    assert!(doc["components"]["securitySchemes"].get("token").is_some());
}

// ---- templates, the dashboard, uploading in place, API limits ----

#[tokio::test]
async fn a_template_starts_a_post_with_its_text_and_networks_and_unknown_placeholders_are_refused()
{
    let app = spawn_app().await;
    let s = seller(&app, "UTC").await;

    let res = app
        .post_form(
            "/templates",
            &[
                ("name", "New mug"),
                ("body", "Meet {product.titel}!"),
                ("platform", "x"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        texts(&res.text().await.unwrap(), "#tpl-body-error")[0]
            .contains("{product.titel} isn't a placeholder we know.")
    );

    let res = app
        .post_form(
            "/templates",
            &[
                ("name", "New mug"),
                ("body", "Meet {product.title}, only {product.price}."),
                ("platform", "x"),
                ("platform", "linkedin"),
            ],
        )
        .await;
    assert_eq!(location(&res), "/templates");
    let dup = app
        .post_form("/templates", &[("name", "New mug"), ("body", "Again")])
        .await;
    assert_eq!(
        texts(&dup.text().await.unwrap(), "#tpl-name-error"),
        vec!["You already have a template with this name. Choose another."]
    );
    let id = app
        .scalar_string("SELECT id::text FROM templates")
        .await
        .unwrap();

    let (_, composer) = app.get_html(&format!("/posts/new?template={id}")).await;
    assert_eq!(
        texts(&composer, "#body"),
        vec!["Meet {product.title}, only {product.price}."]
    );
    let ticked: Vec<String> = scraper::Html::parse_document(&composer)
        .select(&scraper::Selector::parse("input[name=target][checked]").unwrap())
        .map(|e| e.value().attr("value").unwrap().to_owned())
        .collect();
    assert_eq!(ticked, vec![s.x.to_string(), s.linkedin.to_string()]);

    // Scheduling with the placeholders still in the text is refused: they'd be posted as written.
    let x = s.x.to_string();
    let date = ahead(5);
    let res = app
        .post_form(
            "/posts",
            &[
                ("body", "Meet {product.title}"),
                ("target", &x),
                ("date", &date),
                ("time", "09:00"),
                ("action", "schedule"),
                ("template_id", &id),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        texts(&res.text().await.unwrap(), "#body-error")[0].contains("Replace {product.title}")
    );

    // Editing and deleting; another user sees none of it.
    let res = app
        .post_form(
            &format!("/templates/{id}"),
            &[
                ("name", "Renamed"),
                ("body", "Plain words"),
                ("platform", "x"),
            ],
        )
        .await;
    assert_eq!(location(&res), "/templates");
    assert_eq!(
        app.scalar_string("SELECT name FROM templates")
            .await
            .unwrap(),
        "Renamed"
    );
    let other = app.second_browser();
    other
        .post_form(
            "/signup",
            &[
                ("email", "other@example.com"),
                ("password", crate::helpers::PASSWORD),
                ("time_zone", "UTC"),
            ],
        )
        .await;
    assert_eq!(
        other.get_html(&format!("/templates/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        other
            .post_form(&format!("/templates/{id}/delete"), &[])
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let (_, theirs) = other.get_html(&format!("/posts/new?template={id}")).await;
    assert_eq!(
        texts(&theirs, "#body"),
        vec![""],
        "someone else's template isn't used"
    );
    assert_eq!(
        app.post_form(&format!("/templates/{id}/delete"), &[])
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.scalar_i64("SELECT count(*) FROM templates").await, 0);
}

#[tokio::test]
async fn the_dashboard_lists_upcoming_posts_and_failures_needing_attention() {
    let app = spawn_app().await;
    let s = seller(&app, "UTC").await;
    let x = s.x.to_string();
    let date = ahead(3);
    app.post_form(
        "/posts",
        &[
            ("body", "Coming soon: glazed bowls"),
            ("target", &x),
            ("date", &date),
            ("time", "09:00"),
            ("action", "schedule"),
        ],
    )
    .await;
    app.post_form(
        "/posts",
        &[
            ("body", "This one failed"),
            ("target", &x),
            ("date", &date),
            ("time", "10:00"),
            ("action", "schedule"),
        ],
    )
    .await;
    app.db
        .execute_unprepared("UPDATE post_targets SET status = 'failed', last_error = 'X said the text is a duplicate of a recent post.' FROM posts WHERE posts.id = post_targets.post_id AND posts.body = 'This one failed'")
        .await
        .unwrap();
    let failed = app
        .scalar_string("SELECT id::text FROM posts WHERE body = 'This one failed'")
        .await
        .unwrap();
    picscripter::posts::refresh_status(&app.db, Uuid::parse_str(&failed).unwrap())
        .await
        .unwrap();

    let (_, html) = app.get_html("/dashboard").await;
    assert!(texts(&html, "#upcoming li")[0].contains("Coming soon: glazed bowls"));
    let attention = texts(&html, "#failing li");
    assert_eq!(attention.len(), 1);
    assert!(
        attention[0].contains("This one failed")
            && attention[0].contains("duplicate of a recent post")
    );

    // Retrying the failed network puts it back in line.
    app.post_form(&format!("/posts/{failed}/retry"), &[]).await;
    assert_eq!(
        app.scalar_string(&format!(
            "SELECT status FROM post_targets WHERE post_id = '{failed}'"
        ))
        .await
        .unwrap(),
        "scheduled"
    );
}

#[tokio::test]
async fn photos_uploaded_from_the_composer_are_ticked_after_those_already_chosen() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_string_lossy().into_owned();
    let app = crate::helpers::spawn_app_with(move |env| {
        env.insert("MEDIA_STORE".into(), store);
    })
    .await;
    let s = seller(&app, "UTC").await;
    let existing = photo(&app, s.user, 900, 900).await;
    let mut png = Vec::new();
    image::DynamicImage::new_rgb8(40, 30)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let token = app.csrf().await;
    let form = reqwest::multipart::Form::new()
        .text("media_id", existing.to_string())
        .text(format!("media_order.{existing}"), "1")
        .part(
            "file",
            reqwest::multipart::Part::bytes(png)
                .file_name("new.png")
                .mime_str("image/png")
                .unwrap(),
        )
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"not a picture".to_vec()).file_name("notes.jpg"),
        );
    let res = app
        .client
        .post(app.url("/compose/upload"))
        .headers(same_origin_headers(&app.base))
        .header("hx-request", "true")
        .header("x-csrf-token", token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    let new_id = app
        .scalar_string("SELECT id::text FROM media WHERE original_filename = 'new.png'")
        .await
        .unwrap();
    let doc = scraper::Html::parse_document(&html);
    let ticked: Vec<(String, String)> = doc
        .select(&scraper::Selector::parse(".media-choice").unwrap())
        .filter_map(|li| {
            let checkbox = li
                .select(&scraper::Selector::parse("input[type=checkbox]").unwrap())
                .next()?;
            checkbox.value().attr("checked")?;
            let order = li
                .select(&scraper::Selector::parse("input[type=number]").unwrap())
                .next()?
                .value()
                .attr("value")?
                .to_owned();
            Some((checkbox.value().attr("value")?.to_owned(), order))
        })
        .collect();
    assert_eq!(ticked.len(), 2);
    assert!(ticked.contains(&(existing.to_string(), "1".to_owned())));
    assert!(ticked.contains(&(new_id, "2".to_owned())));
    assert!(
        texts(&html, ".upload-error")[0].starts_with("notes.jpg:"),
        "a bad file is named with its reason"
    );
}

#[tokio::test]
async fn the_api_limits_each_token_and_says_when_to_retry() {
    let app = crate::helpers::spawn_app_with(|env| {
        env.insert("API_RATE_LIMIT_PER_MINUTE".into(), "10".into());
    })
    .await;
    let s = seller(&app, "UTC").await;
    let token = api(&app, s.user).await;
    let mut limited = None;
    for _ in 0..30 {
        let res = app
            .client
            .get(app.url("/api/v1/connections"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(res);
            break;
        }
    }
    let res = limited.expect("the per-token limit is reached");
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    let other = api(&app, s.user).await;
    assert_eq!(
        app.client
            .get(app.url("/api/v1/connections"))
            .bearer_auth(&other)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK,
        "another token has its own allowance"
    );
}
