//! Importing posts from a CSV file (upload, preview, all-or-nothing confirm) and exporting them.

use chrono::{DateTime, Duration, NaiveDate, TimeZone as _, Utc};
use picscripter::domain::Platform;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use uuid::Uuid;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{TestApp, location, same_origin_headers, spawn_app, texts};

const ZONE: &str = "America/New_York";

struct Seller {
    user: Uuid,
    x: Uuid,
    linkedin: Uuid,
    shop: Uuid,
}

async fn seller(app: &TestApp) -> Seller {
    app.signed_up_user().await;
    app.post_form("/settings/time-zone", &[("time_zone", ZONE)])
        .await;
    let user = app.newest_user_id().await;
    Seller {
        user,
        x: app.saved_connection(user, Platform::X, "maple").await,
        linkedin: app
            .saved_connection(user, Platform::Linkedin, "maple")
            .await,
        shop: app
            .saved_connection(user, Platform::Shopify, "maple shop")
            .await,
    }
}

/// A JPEG in `user`'s library (the row as an upload leaves it).
async fn photo(app: &TestApp, user: Uuid) -> Uuid {
    let id = Uuid::now_v7();
    let sha = picscripter::security::sha256_hex(id.as_bytes());
    app.scalar_i64(&format!(
        "WITH i AS (INSERT INTO media (id, user_id, kind, mime, size_bytes, width, height, sha256, storage_key, original_filename) \
         VALUES ('{id}', '{user}', 'image', 'image/jpeg', 120000, 1080, 1080, '{sha}', 'k/{id}', 'mug.jpg') RETURNING 1) SELECT count(*) FROM i"
    ))
    .await;
    id
}

async fn product(app: &TestApp, user: Uuid, shop: Uuid, title: &str) -> Uuid {
    let id = Uuid::now_v7();
    app.scalar_i64(&format!(
        "WITH i AS (INSERT INTO products (id, user_id, connection_id, external_id, title, status, synced_at) \
         VALUES ('{id}', '{user}', '{shop}', '{id}', '{title}', 'active', now()) RETURNING 1) SELECT count(*) FROM i"
    ))
    .await;
    id
}

/// Uploads a file through the plain form; returns the preview page.
async fn upload(app: &TestApp, csv: &str) -> (StatusCode, String) {
    let token = app.csrf().await;
    let res = app
        .client
        .post(app.url(&format!("/posts/import?csrf_token={token}")))
        .headers(same_origin_headers(&app.base))
        .multipart(Form::new().part(
            "file",
            Part::bytes(csv.as_bytes().to_vec()).file_name("posts.csv"),
        ))
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.text().await.unwrap())
}

fn fingerprint_of(html: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(r#"input[name="fingerprint"]"#).unwrap();
    doc.select(&sel)
        .next()
        .and_then(|e| e.value().attr("value"))
        .expect("the preview offers a confirm")
        .to_owned()
}

async fn confirm(app: &TestApp, fingerprint: &str) -> reqwest::Response {
    app.post_form("/posts/import/confirm", &[("fingerprint", fingerprint)])
        .await
}

fn error_at(html: &str, line: u64, column: &str) -> String {
    texts(
        html,
        &format!(r#".field-error[data-line="{line}"][data-column="{column}"]"#),
    )
    .into_iter()
    .next()
    .unwrap_or_default()
}

fn day_ahead(days: i64) -> NaiveDate {
    (Utc::now().with_timezone(&chrono_tz::America::New_York) + Duration::days(days)).date_naive()
}

fn new_york(date: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    chrono_tz::America::New_York
        .from_local_datetime(&date.and_hms_opt(h, m, 0).unwrap())
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

async fn post_count(app: &TestApp) -> i64 {
    app.scalar_i64("SELECT count(*) FROM posts").await
}

#[tokio::test]
async fn importing_200_rows_creates_200_scheduled_posts_at_their_local_times_on_their_networks() {
    let app = spawn_app().await;
    let s = seller(&app).await;
    let mut csv = String::from("date,time,networks,text\n");
    let mut expected = Vec::new();
    for i in 0..200i64 {
        // Days 2..=41 ahead; none of these New York dates is a DST change day's 2 a.m.
        let date = day_ahead(2 + i % 40);
        let (h, m) = (9 + (i % 10) as u32, (i % 4) as u32 * 15);
        let networks = match i % 3 {
            0 => "X",
            1 => "LinkedIn: maple",
            _ => "x;linkedin",
        };
        csv.push_str(&format!(
            "{date},{h:02}:{m:02},{networks},\"Post {i}, handmade\"\n"
        ));
        expected.push((format!("Post {i}, handmade"), new_york(date, h, m), i % 3));
    }
    let (status, html) = upload(&app, &csv).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        texts(&html, ".field-error").join(" | ")
    );
    assert_eq!(
        texts(&html, "#import-summary"),
        vec!["200 rows, 0 with errors"]
    );
    assert_eq!(post_count(&app).await, 0, "the preview creates nothing");

    let preview_page = html.clone();
    let res = confirm(&app, &fingerprint_of(&html)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/posts");
    let (_, list) = app.get_html("/posts").await;
    assert!(list.contains("Imported 200 posts."));

    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM posts WHERE status = 'scheduled'")
            .await,
        200
    );
    for (text, at, networks) in expected {
        let post = app
            .scalar_string(&format!(
                "SELECT id::text FROM posts WHERE body = '{text}' AND scheduled_at = '{}'",
                at.to_rfc3339()
            ))
            .await
            .unwrap_or_else(|| panic!("{text} at {at}"));
        let on = |c: Uuid| {
            format!(
                "SELECT count(*) FROM post_targets WHERE post_id = '{post}' AND connection_id = '{c}' AND status = 'scheduled'"
            )
        };
        let (x, li) = (
            app.scalar_i64(&on(s.x)).await,
            app.scalar_i64(&on(s.linkedin)).await,
        );
        assert_eq!(
            (x, li),
            match networks {
                0 => (1, 0),
                1 => (0, 1),
                _ => (1, 1),
            },
            "{text}"
        );
    }
    // The file is used up: the page offers a new upload, and confirming again imports nothing.
    let (_, html) = app.get_html("/posts/import").await;
    assert!(texts(&html, "#import-rows").is_empty());
    let again = confirm(&app, &fingerprint_of(&preview_page)).await;
    assert_eq!(location(&again), "/posts/import");
    assert_eq!(post_count(&app).await, 200);
}

#[tokio::test]
async fn a_file_with_errors_shows_each_next_to_its_row_and_field_and_creates_nothing() {
    let app = spawn_app().await;
    let s = seller(&app).await;
    let ok = day_ahead(3);
    let spring = {
        // The next second Sunday of March, when New York's clocks skip 2:00–3:00.
        use chrono::Datelike as _;
        let today = Utc::now().date_naive();
        let second_sunday = |year| {
            let mut d = NaiveDate::from_ymd_opt(year, 3, 8).unwrap();
            while d.weekday() != chrono::Weekday::Sun {
                d = d.succ_opt().unwrap();
            }
            d
        };
        let this_year = second_sunday(today.year());
        if this_year > today + Duration::days(2) {
            this_year
        } else {
            second_sunday(today.year() + 1)
        }
    };
    let long = "a".repeat(300);
    let csv = format!(
        "date,time,networks,text,media,product\n\
         {ok},10:00,X,fine,,\n\
         2026-13-40,10:00,X,bad date,,\n\
         {spring},02:30,X,in the gap,,\n\
         {ok},10:00,Mastodon,unknown network,,\n\
         {ok},10:00,X,{long},,\n\
         {ok},10:00,X,bad media,not-a-thing,\n\
         {ok},10:00,X,no such product,,Blue mug\n"
    );
    let (status, html) = upload(&app, &csv).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        texts(&html, "#import-summary"),
        vec!["7 rows, 6 with errors"]
    );
    assert!(
        error_at(&html, 2, "date").is_empty(),
        "the good row has no error"
    );
    assert!(error_at(&html, 3, "date").contains("year-month-day"));
    assert!(
        error_at(&html, 4, "time").contains("doesn't exist"),
        "{}",
        error_at(&html, 4, "time")
    );
    assert!(error_at(&html, 5, "networks").contains("“Mastodon” doesn't match"));
    assert!(
        error_at(&html, 6, "text").starts_with("maple (X):"),
        "{}",
        error_at(&html, 6, "text")
    );
    assert!(error_at(&html, 7, "media").contains("neither a media library id"));
    assert!(error_at(&html, 8, "product").contains("None of your products"));
    assert!(
        texts(&html, r#"input[name="fingerprint"]"#).is_empty()
            && !html.contains("Confirm: create"),
        "no confirm is offered while rows have errors"
    );
    // Even a forged confirm creates nothing.
    let res = confirm(&app, "forged").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(post_count(&app).await, 0);
    let _ = s;
}

#[tokio::test]
async fn a_whole_file_problem_is_shown_next_to_the_file_field() {
    let app = spawn_app().await;
    seller(&app).await;
    let (status, html) = upload(&app, "when,networks,text\nx,y,z\n").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(texts(&html, "#file-error")[0].contains("lacks the columns date, time"));
    let big = format!("date,time,networks,text\n{}", ",,X,hello\n".repeat(1001));
    let (_, html) = upload(&app, &big).await;
    assert!(texts(&html, "#file-error")[0].contains("more than 1000 posts"));
}

#[tokio::test]
async fn confirm_creates_every_post_or_none() {
    let app = spawn_app().await;
    let s = seller(&app).await;
    let shop_server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&shop_server)
        .await;
    let mug = photo(&app, s.user).await;
    let missing = format!("{}/gone.jpg", shop_server.uri());
    let ok = day_ahead(5);
    let csv = format!(
        "date,time,networks,text,media\n\
         {ok},10:00,X,first,{mug}\n\
         {ok},11:00,LinkedIn,second,\n\
         {ok},12:00,X,third,{missing}\n"
    );
    let (status, html) = upload(&app, &csv).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        texts(&html, ".field-error").join(" | ")
    );
    assert!(html.contains("1 from the web, fetched on confirm"));

    // The photo can't be fetched: nothing at all is created, and the row says why.
    let res = confirm(&app, &fingerprint_of(&html)).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(texts(&html, "#import-notice")[0].contains("Nothing was created"));
    assert!(
        error_at(&html, 4, "media").contains(&missing),
        "{}",
        error_at(&html, 4, "media")
    );
    assert_eq!(post_count(&app).await, 0);
    assert_eq!(app.scalar_i64("SELECT count(*) FROM media").await, 1);

    // Something changed since the preview (an account went away): the preview is shown again.
    let csv = format!("date,time,networks,text\n{ok},10:00,X,first\n{ok},11:00,LinkedIn,second\n");
    let (_, html) = upload(&app, &csv).await;
    let seen = fingerprint_of(&html);
    app.scalar_i64(&format!(
        "WITH u AS (UPDATE connections SET status = 'revoked' WHERE id = '{}' RETURNING 1) SELECT count(*) FROM u",
        s.linkedin
    ))
    .await;
    let res = confirm(&app, &seen).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(texts(&html, "#import-notice")[0].contains("Something changed since the preview"));
    assert!(error_at(&html, 3, "networks").contains("no LinkedIn account"));
    assert_eq!(post_count(&app).await, 0);
}

#[tokio::test]
async fn another_sellers_library_ids_and_products_are_refused() {
    let app = spawn_app().await;
    let other = seller(&app).await;
    let their_photo = photo(&app, other.user).await;
    let their_product = product(&app, other.user, other.shop, "Their mug").await;
    app.post_form("/logout", &[]).await;

    let s = seller(&app).await;
    let ok = day_ahead(4);
    let csv = format!(
        "date,time,networks,text,media,product\n\
         {ok},10:00,X,their photo,{their_photo},\n\
         {ok},10:00,X,their product,,{their_product}\n\
         {ok},10:00,X,their product by title,,Their mug\n"
    );
    let (status, html) = upload(&app, &csv).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error_at(&html, 2, "media").contains("isn't in your media library"));
    assert!(error_at(&html, 3, "product").contains("isn't one of your products"));
    assert!(error_at(&html, 4, "product").contains("None of your products"));
    assert_eq!(post_count(&app).await, 0);
    let _ = s;
}

#[tokio::test]
async fn exported_posts_import_as_the_same_posts_with_formulas_defused() {
    let app = spawn_app().await;
    let s = seller(&app).await;
    let mug = photo(&app, s.user).await;
    let apron = product(&app, s.user, s.shop, "Linen apron").await;
    let ok = day_ahead(6);
    let csv = format!(
        "date,time,networks,text,media,product\n\
         {ok},10:00,X;LinkedIn,\"=HYPERLINK(\"\"http://evil\"\")\",{mug},Linen apron\n\
         {ok},18:45,LinkedIn,\"Two\nlines, and a comma\",,\n\
         ,,X,-50% draft,,{apron}\n"
    );
    let (status, html) = upload(&app, &csv).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        texts(&html, ".field-error").join(" | ")
    );
    assert_eq!(
        confirm(&app, &fingerprint_of(&html)).await.status(),
        StatusCode::SEE_OTHER
    );

    let res = app.get("/posts/export.csv").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let exported = res.text().await.unwrap();
    assert!(exported.starts_with("id,status,date,time,fold,time_zone,networks,text,media,product,target_statuses,target_links\n"));
    assert!(
        exported.contains("\"'=HYPERLINK(\"\"http://evil\"\")\""),
        "{exported}"
    );
    assert!(exported.contains(",'-50% draft,"), "{exported}");
    assert!(!exported.contains(",=HYPERLINK"));
    assert!(exported.contains("X: maple: scheduled; LinkedIn: maple: scheduled"));

    // Importing the exported file gives the same posts again.
    let (status, html) = upload(&app, &exported).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        texts(&html, ".field-error").join(" | ")
    );
    assert_eq!(
        confirm(&app, &fingerprint_of(&html)).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(post_count(&app).await, 6);
    let shape = "SELECT string_agg(d, ' | ' ORDER BY d) FROM (SELECT concat_ws('/', p.body, p.status, p.scheduled_at, p.product_id, \
                 (SELECT string_agg(connection_id::text || t.status, ',' ORDER BY connection_id) FROM post_targets t WHERE t.post_id = p.id), \
                 (SELECT string_agg(media_id::text, ',' ORDER BY position) FROM post_media m WHERE m.post_id = p.id)) AS d \
                 FROM posts p WHERE p.created_at {} (SELECT min(created_at) + (max(created_at) - min(created_at)) / 2 FROM posts)) s";
    let first = app.scalar_string(&shape.replace("{}", "<")).await.unwrap();
    let again = app.scalar_string(&shape.replace("{}", ">")).await.unwrap();
    assert!(first.contains("=HYPERLINK(\"http://evil\")"));
    assert!(first.contains(&apron.to_string()) && first.contains(&mug.to_string()));
    assert_eq!(first, again);
}
