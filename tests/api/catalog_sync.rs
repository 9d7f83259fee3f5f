//! Catalog sync: a connected shop's products arrive, stay current, survive throttling, crashes
//! and bad data, and stay the seller's own.

use std::time::Duration;

use picscripter::domain::Platform;
use picscripter::platforms::{RemoteAccount, TokenSet};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{
    TestApp, TestSandbox, eventually, spawn_app_with, spawn_app_with_sandbox,
    spawn_app_with_sandbox_config, texts,
};
use crate::oauth::connect;

/// The shop's connection id.
async fn shop_id(app: &TestApp, platform: Platform) -> Uuid {
    app.scalar_string(&format!(
        "SELECT id::text FROM connections WHERE platform = '{platform}' ORDER BY created_at DESC LIMIT 1"
    ))
    .await
    .unwrap()
    .parse()
    .unwrap()
}

/// Waits for the shop's latest sync to end; returns its row as JSON.
async fn finished_sync(app: &TestApp, connection: Uuid, limit: Duration) -> Value {
    let sql = format!(
        "SELECT to_jsonb(s)::text FROM catalog_syncs s WHERE connection_id = '{connection}'
         ORDER BY created_at DESC LIMIT 1"
    );
    eventually("the sync ends", limit, || async {
        app.scalar_string(&sql).await.is_some_and(|s| {
            s.contains(r#""status": "succeeded""#) || s.contains(r#""status": "failed""#)
        })
    })
    .await;
    serde_json::from_str(&app.scalar_string(&sql).await.unwrap()).unwrap()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.scalar_i64(sql).await
}

/// The shop as the sandbox's catalog edits name it (Squarespace: the site identifier).
async fn catalog_key(app: &TestApp, connection: Uuid) -> String {
    app.scalar_string(&format!(
        "SELECT coalesce(metadata->>'identifier', account_id) FROM connections WHERE id = '{connection}'"
    ))
    .await
    .unwrap()
}

async fn edit_product(
    sandbox: &TestSandbox,
    platform: Platform,
    shop: &str,
    index: usize,
    edit: Value,
) {
    let res = sandbox
        .client
        .post(format!(
            "{}/_sandbox/catalog/{platform}/{shop}/{index}",
            sandbox.url
        ))
        .json(&edit)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
}

/// The external id of product `index` as stored (products are listed in a shop-specific
/// order, so it is found through the sandbox's own edit: its title is set to something unique).
async fn stored_title_of(app: &TestApp, connection: Uuid, title: &str) -> Option<Value> {
    app.scalar_string(&format!(
        "SELECT json_build_object('status', status, 'price', price::text, 'title', title)::text
         FROM products WHERE connection_id = '{connection}' AND title = '{title}'"
    ))
    .await
    .map(|s| serde_json::from_str(&s).unwrap())
}

#[tokio::test]
async fn connecting_each_shop_brings_in_its_whole_catalog_and_the_card_says_so() {
    let (app, sandbox) = spawn_app_with_sandbox().await;
    app.signed_up_user().await;
    let _worker = app.spawn_worker();
    for platform in [Platform::Etsy, Platform::Squarespace, Platform::Shopify] {
        connect(&app, &sandbox, platform).await;
        let shop = shop_id(&app, platform).await;
        let sync = finished_sync(&app, shop, Duration::from_secs(120)).await;
        assert_eq!(sync["status"], "succeeded", "{platform}: {sync}");
        assert_eq!(sync["trigger"], "connect");
        assert_eq!(sync["mode"], "full");
        let stored = count(
            &app,
            &format!("SELECT count(*) FROM products WHERE connection_id = '{shop}'"),
        )
        .await;
        assert_eq!(
            stored,
            sync["processed"].as_i64().unwrap(),
            "{platform}: one row a product"
        );
        assert_eq!(sync["created"].as_i64().unwrap(), stored);
        assert!(
            stored >= 1_100,
            "{platform}: the sandbox's catalog arrived ({stored})"
        );
        if let Some(total) = sync["total"].as_i64() {
            assert_eq!(stored, total, "{platform}: everything the shop counted");
        }
        // Prices are exact decimals with a currency; descriptions are clean text.
        let priced = count(
            &app,
            &format!(
                "SELECT count(*) FROM products WHERE connection_id = '{shop}'
                   AND price IS NOT NULL AND currency ~ '^[A-Z]{{3}}$'"
            ),
        )
        .await;
        assert!(
            priced > stored / 2,
            "{platform}: most products have prices ({priced})"
        );
        let markup = count(
            &app,
            &format!(
                "SELECT count(*) FROM products WHERE connection_id = '{shop}'
                   AND description ~ '</?(p|div|br|li|ul)>'"
            ),
        )
        .await;
        assert_eq!(markup, 0, "{platform}: no HTML left in descriptions");

        let (_, html) = app.get_html("/connections").await;
        let headline = texts(&html, &format!("#sync-{shop} .sync-headline"));
        assert_eq!(
            headline,
            vec![format!(
                "Synced {} products",
                picscripter::domain::words::thousands(stored as u64)
            )],
            "{platform}"
        );
    }
}

#[tokio::test]
async fn the_next_sync_picks_up_a_changed_and_a_removed_product() {
    let (app, sandbox) = spawn_app_with_sandbox().await;
    app.signed_up_user().await;
    let _worker = app.spawn_worker();
    // Etsy and Squarespace read the whole catalog again; Shopify asks only for what changed
    // since the last sync and for the products deleted since.
    for platform in [Platform::Etsy, Platform::Squarespace, Platform::Shopify] {
        connect(&app, &sandbox, platform).await;
        let shop = shop_id(&app, platform).await;
        let first = finished_sync(&app, shop, Duration::from_secs(60)).await;
        assert_eq!(first["status"], "succeeded", "{platform}: {first}");
        let account = catalog_key(&app, shop).await;
        // Find two products by giving them unique titles in the shop, then sync once more so
        // we know which rows they are.
        edit_product(
            &sandbox,
            platform,
            &account,
            3,
            json!({ "title": "Marked Three" }),
        )
        .await;
        edit_product(
            &sandbox,
            platform,
            &account,
            5,
            json!({ "title": "Marked Five" }),
        )
        .await;
        let res = app
            .post_form(
                &format!("/connections/{shop}/sync"),
                &[("back", "/connections")],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let second = finished_sync(&app, shop, Duration::from_secs(60)).await;
        assert_eq!(second["status"], "succeeded");
        assert_eq!(second["trigger"], "manual");
        assert_eq!(
            second["updated"], 2,
            "{platform}: only the two edits count as changes: {second}"
        );
        assert_eq!(second["created"], 0);
        assert!(stored_title_of(&app, shop, "Marked Five").await.is_some());

        // A post made from product 5 keeps pointing at it after it's gone from the shop.
        let five: Uuid = app
            .scalar_string(&format!(
                "SELECT id::text FROM products WHERE connection_id = '{shop}' AND title = 'Marked Five'"
            ))
            .await
            .unwrap()
            .parse()
            .unwrap();
        let user = app.newest_user_id().await;
        app.scalar_i64(&format!(
            "WITH p AS (INSERT INTO posts (id, user_id, body, product_id) VALUES
               (gen_random_uuid(), '{user}', 'Look', '{five}') RETURNING 1) SELECT count(*) FROM p"
        ))
        .await;

        edit_product(
            &sandbox,
            platform,
            &account,
            3,
            json!({ "title": "Renamed Three", "price": "42.50" }),
        )
        .await;
        edit_product(&sandbox, platform, &account, 5, json!({ "delete": true })).await;
        app.post_form(&format!("/connections/{shop}/sync"), &[])
            .await;
        let third = finished_sync(&app, shop, Duration::from_secs(60)).await;
        assert_eq!(third["status"], "succeeded");
        let mode = if platform == Platform::Shopify {
            "changes"
        } else {
            "full"
        };
        assert_eq!(third["mode"], mode, "{platform}");
        assert_eq!(third["removed"], 1, "{platform}: {third}");
        assert_eq!(third["updated"], 1, "{platform}: {third}");

        let three = stored_title_of(&app, shop, "Renamed Three").await.unwrap();
        assert_eq!(three["status"], "active");
        assert_eq!(
            three["price"].as_str().unwrap().trim_end_matches('0'),
            "42.5",
            "{platform}: the new price, exactly"
        );
        assert!(stored_title_of(&app, shop, "Marked Three").await.is_none());
        let gone = stored_title_of(&app, shop, "Marked Five").await.unwrap();
        assert_eq!(
            gone["status"], "removed",
            "{platform}: kept, marked removed"
        );
        assert_eq!(
            count(
                &app,
                &format!("SELECT count(*) FROM posts WHERE product_id = '{five}'")
            )
            .await,
            1,
            "the post still links its product"
        );
        for page in ["/connections", "/products"] {
            let (_, html) = app.get_html(page).await;
            let detail = texts(&html, &format!("#sync-{shop} .sync-detail"));
            assert_eq!(detail, vec!["1 changed, 1 removed"], "{platform} on {page}");
        }
    }
}

#[tokio::test]
async fn catalogs_that_end_exactly_on_a_page_boundary_are_counted_once() {
    // Etsy pages hold 100, Squarespace 50 and a Shopify bulk export page 250: 500 products end
    // on a page boundary on all three.
    let (app, sandbox) = spawn_app_with_sandbox_config(|c| c.products_per_shop = 500).await;
    app.signed_up_user().await;
    let _worker = app.spawn_worker();
    for platform in [Platform::Squarespace, Platform::Shopify, Platform::Etsy] {
        connect(&app, &sandbox, platform).await;
        let shop = shop_id(&app, platform).await;
        let sync = finished_sync(&app, shop, Duration::from_secs(60)).await;
        assert_eq!(sync["status"], "succeeded", "{platform}: {sync}");
        let stored = count(
            &app,
            &format!("SELECT count(*) FROM products WHERE connection_id = '{shop}'"),
        )
        .await;
        let expected = match platform {
            // Etsy's listing of active products leaves out the ones taken off sale.
            Platform::Etsy => sync["total"].as_i64().unwrap(),
            _ => 500,
        };
        assert_eq!(stored, expected, "{platform}");
        assert_eq!(
            sync["processed"].as_i64().unwrap(),
            expected,
            "{platform}: nothing read twice"
        );
    }
}

#[tokio::test]
async fn throttling_slows_a_sync_down_but_never_fails_it() {
    let (app, sandbox) = spawn_app_with_sandbox().await;
    app.signed_up_user().await;
    connect(&app, &sandbox, Platform::Etsy).await;
    // Every catalog request is refused with 429 for the next two seconds. (Squarespace's
    // documented cooldown is a whole minute, too slow for a test; its reader's handling of it
    // is covered in its unit tests.)
    sandbox
        .fault(json!({ "platform": "etsy", "rate_limit": { "reset_after_secs": 2 } }))
        .await;
    let _worker = app.spawn_worker();
    for platform in [Platform::Etsy] {
        let shop = shop_id(&app, platform).await;
        let sync = finished_sync(&app, shop, Duration::from_secs(90)).await;
        assert_eq!(sync["status"], "succeeded", "{platform}: {sync}");
        assert!(sync["processed"].as_i64().unwrap() >= 1_100);
        let throttled = sandbox
            .requests(platform.as_str())
            .await
            .iter()
            .filter(|r| r["status"] == 429)
            .count();
        assert!(
            throttled >= 1,
            "{platform}: the sync was throttled and waited"
        );
    }
}

#[tokio::test]
async fn a_sync_killed_midway_resumes_from_its_checkpoint_without_duplicates() {
    let (app, sandbox) = spawn_app_with_sandbox().await;
    app.signed_up_user().await;
    connect(&app, &sandbox, Platform::Etsy).await;
    let shop = shop_id(&app, Platform::Etsy).await;
    // Slow pages, so the worker can be killed in the middle.
    sandbox
        .fault(json!({ "platform": "etsy", "path": "/listings", "latency_ms": 400 }))
        .await;
    let short_lease = |env: &mut std::collections::BTreeMap<String, String>| {
        env.insert("CATALOG_SYNC_LEASE_SECS".into(), "2".into());
    };
    let first = app.spawn_worker_with(short_lease);
    let pages = format!("SELECT pages::bigint FROM catalog_syncs WHERE connection_id = '{shop}'");
    eventually(
        "three pages are written",
        Duration::from_secs(60),
        || async { app.scalar_i64(&pages).await >= 3 },
    )
    .await;
    first.kill();
    let written_before = app.scalar_i64(&pages).await;
    assert!(
        written_before < 12,
        "killed before the end ({written_before} pages)"
    );

    let _second = app.spawn_worker_with(short_lease);
    let sync = finished_sync(&app, shop, Duration::from_secs(90)).await;
    assert_eq!(sync["status"], "succeeded", "{sync}");
    assert!(
        sync["attempts"].as_i64().unwrap() >= 2,
        "taken over: {sync}"
    );
    let stored = count(
        &app,
        &format!("SELECT count(*) FROM products WHERE connection_id = '{shop}'"),
    )
    .await;
    assert_eq!(stored, sync["total"].as_i64().unwrap());
    assert_eq!(
        sync["processed"].as_i64().unwrap(),
        stored,
        "no page counted twice"
    );
    // The second worker started where the first stopped: the first page was asked for once
    // (a page in flight at the kill may be asked for again, never the whole catalog).
    let requests = sandbox.requests("etsy").await;
    let offsets: Vec<String> = requests
        .iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/listings")))
        .map(|r| r["query"].as_str().unwrap_or_default().to_owned())
        .collect();
    let from_start = offsets
        .iter()
        .filter(|q| q.split('&').any(|kv| kv == "offset=0"))
        .count();
    assert_eq!(from_start, 1, "{offsets:#?}");
    assert!(
        offsets.len() <= 13,
        "at most one page read twice: {offsets:#?}"
    );
}

#[tokio::test]
async fn bad_product_data_is_handled_per_product_and_the_sync_goes_on() {
    let squarespace = MockServer::start().await;
    let huge = format!("<p>{}</p>", "Very long story. ".repeat(60_000));
    let mut body = serde_json::to_vec(&json!({
        "products": [
            { "id": "ok", "name": "Linen towel", "url": "https://shop.example/linen",
              "description": "<p>Soft &amp; light.</p>", "isVisible": true,
              "images": [{ "url": "https://img.example/linen.jpg" }],
              "variants": [{ "pricing": { "basePrice": { "value": "12.00", "currency": "EUR" }, "onSale": false } }],
              "modifiedOn": "2026-11-01T10:00:00Z" },
            { "id": "no-price", "name": "Price on request", "variants": [] },
            { "id": "no-images", "name": "Imageless", "images": null },
            { "id": "huge", "name": "Chatty", "description": huge },
            { "id": "bad-utf8", "name": "TITLE_PLACEHOLDER" },
            { "name": "No id at all" },
            { "id": "nul", "name": "Null\u{0}byte" }
        ],
        "pagination": { "hasNextPage": false, "nextPageCursor": null }
    }))
    .unwrap();
    // Invalid UTF-8 in a title: raw bytes no JSON encoder would produce.
    let at = body
        .windows(17)
        .position(|w| w == b"TITLE_PLACEHOLDER")
        .unwrap();
    body.splice(at..at + 17, b"Caf\xC3 cr\xFFme".iter().copied());
    Mock::given(method("GET"))
        .and(path(
            "/squarespace/api.squarespace.com/1.1/commerce/products",
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(body, "application/json; charset=utf-8"),
        )
        .mount(&squarespace)
        .await;

    let url = squarespace.uri();
    let app = spawn_app_with(move |env| {
        env.insert("SANDBOX_URL".into(), url);
    })
    .await;
    app.signed_up_user().await;
    let user = app.newest_user_id().await;
    let (connection, _) = app
        .state
        .connections
        .save_connected(
            user,
            Platform::Squarespace,
            &RemoteAccount {
                account_id: "site-1".into(),
                display_name: "Odd Shop".into(),
                avatar_url: None,
                access_token: None,
                metadata: json!({}),
            },
            &TokenSet {
                access_token: SecretString::from("sq-token"),
                refresh_token: None,
                expires_at: None,
                refresh_expires_at: None,
                scopes: vec!["website.products.read".into()],
            },
            None,
        )
        .await
        .unwrap();
    picscripter::web::catalog_sync::start(
        &app.state,
        &connection,
        picscripter::entities::enums::SyncTrigger::Manual,
    )
    .await
    .unwrap();
    let _worker = app.spawn_worker();
    let sync = finished_sync(&app, connection.id, Duration::from_secs(30)).await;
    assert_eq!(sync["status"], "succeeded", "{sync}");
    assert_eq!(sync["processed"], 6);
    assert_eq!(sync["skipped"], 1, "the product without an id");

    let row = |id: &'static str| {
        let app = &app;
        async move {
            let json = app
                .scalar_string(&format!(
                    "SELECT json_build_object('title', title, 'price', price::text,
                        'images', cardinality(image_urls), 'len', char_length(description),
                        'description', left(description, 40))::text
                     FROM products WHERE external_id = '{id}'"
                ))
                .await
                .unwrap_or_else(|| panic!("{id} is stored"));
            serde_json::from_str::<Value>(&json).unwrap()
        }
    };
    let ok = row("ok").await;
    assert_eq!(ok["price"].as_str().unwrap().trim_end_matches('0'), "12.");
    assert_eq!(ok["description"], "Soft & light.");
    assert_eq!(row("no-price").await["price"], Value::Null);
    assert_eq!(row("no-images").await["images"], 0);
    let huge = row("huge").await;
    assert!(huge["len"].as_i64().unwrap() <= 20_000, "capped: {huge}");
    let bad = row("bad-utf8").await;
    assert_eq!(
        bad["title"], "Caf\u{FFFD} cr\u{FFFD}me",
        "unreadable bytes become �"
    );
    assert_eq!(row("nul").await["title"], "Nullbyte");
}

#[tokio::test]
async fn the_api_starts_one_sync_at_a_time_and_reports_its_progress() {
    let (app, sandbox) = spawn_app_with_sandbox().await;
    app.signed_up_user().await;
    connect(&app, &sandbox, Platform::Etsy).await;
    connect(&app, &sandbox, Platform::X).await;
    let shop = shop_id(&app, Platform::Etsy).await;
    let social = shop_id(&app, Platform::X).await;
    let user = app.newest_user_id().await;
    let bearer = format!("Bearer {}", app.api_token_of(user).await);
    let api = |method: reqwest::Method, path: String| {
        app.client
            .request(method, app.url(&path))
            .header("authorization", &bearer)
    };

    // Connecting queued the first sync; asking again while it waits returns that one.
    let res = api(
        reqwest::Method::POST,
        format!("/api/v1/connections/{shop}/sync"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "already syncing");
    let queued: Value = res.json().await.unwrap();
    assert_eq!(queued["status"], "queued");
    assert_eq!(queued["trigger"], "connect");

    let _worker = app.spawn_worker();
    finished_sync(&app, shop, Duration::from_secs(60)).await;
    let res = api(
        reqwest::Method::GET,
        format!("/api/v1/connections/{shop}/sync"),
    )
    .send()
    .await
    .unwrap();
    let done: Value = res.json().await.unwrap();
    assert_eq!(done["id"], queued["id"]);
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["processed"], done["total"]);

    let res = api(
        reqwest::Method::POST,
        format!("/api/v1/connections/{shop}/sync"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let again: Value = res.json().await.unwrap();
    assert_eq!(again["trigger"], "api");
    assert_ne!(again["id"], queued["id"]);

    let res = api(
        reqwest::Method::POST,
        format!("/api/v1/connections/{social}/sync"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = res.json().await.unwrap();
    assert!(
        error["error"]["fields"]["id"]
            .as_str()
            .unwrap()
            .contains("only shops"),
        "{error}"
    );
    let res = api(
        reqwest::Method::POST,
        format!("/api/v1/connections/{}/sync", Uuid::now_v7()),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn nobody_can_sync_or_watch_another_seller_s_shop() {
    let (app, sandbox) = spawn_app_with_sandbox().await;
    app.signed_up_user().await;
    connect(&app, &sandbox, Platform::Squarespace).await;
    let shop = shop_id(&app, Platform::Squarespace).await;

    let other = app.second_browser();
    other
        .post_form(
            "/signup",
            &[
                ("email", "other@example.com"),
                ("password", "correct horse battery"),
                ("time_zone", "UTC"),
            ],
        )
        .await;
    let res = other
        .post_form(&format!("/connections/{shop}/sync"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let (status, _) = other.get_html(&format!("/connections/{shop}/sync")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM catalog_syncs WHERE trigger = 'manual'"
        )
        .await,
        0,
        "nothing was started"
    );
}

#[tokio::test]
async fn a_new_seller_syncs_two_shops_finds_a_product_and_posts_it_with_tracking() {
    let (app, sandbox) = spawn_app_with_sandbox().await;
    app.signed_up_user().await;
    connect(&app, &sandbox, Platform::X).await;
    // Etsy pages come slowly enough to watch the bar fill.
    sandbox
        .fault(json!({ "platform": "etsy", "path": "/listings", "latency_ms": 300 }))
        .await;
    let _worker = app.spawn_worker();
    connect(&app, &sandbox, Platform::Shopify).await;
    connect(&app, &sandbox, Platform::Etsy).await;
    let etsy = shop_id(&app, Platform::Etsy).await;
    let shopify = shop_id(&app, Platform::Shopify).await;

    // The card's fragment, as htmx polls it, shows the bar filling.
    let mut seen: Vec<(String, Option<u32>)> = Vec::new();
    let started = std::time::Instant::now();
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the Etsy sync ends: {seen:?}"
        );
        let html = app
            .client
            .get(app.url(&format!("/connections/{etsy}/sync")))
            .header("hx-request", "true")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let headline = texts(&html, ".sync-headline").join(" ");
        let doc = scraper::Html::parse_fragment(&html);
        let value = doc
            .select(&scraper::Selector::parse("progress").unwrap())
            .next()
            .and_then(|p| p.value().attr("value")?.parse().ok());
        let done = headline.starts_with("Synced");
        seen.push((headline, value));
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let filling: Vec<&(String, Option<u32>)> = seen
        .iter()
        .filter(|(h, v)| h.starts_with("Syncing ") && h.contains(" / ") && v.is_some())
        .collect();
    assert!(filling.len() >= 2, "the bar was seen filling: {seen:?}");
    let values: Vec<u32> = filling.iter().filter_map(|(_, v)| *v).collect();
    assert!(
        values.windows(2).all(|w| w[0] <= w[1]),
        "it only grows: {values:?}"
    );
    let shopify_sync = finished_sync(&app, shopify, Duration::from_secs(60)).await;
    assert_eq!(shopify_sync["status"], "succeeded");

    // Found by search on the products page.
    let (id, title, url): (Uuid, String, String) = {
        let row = app
            .scalar_string(&format!(
                "SELECT id::text || '|' || title || '|' || url FROM products
                 WHERE connection_id = '{shopify}' AND url IS NOT NULL AND price IS NOT NULL
                 ORDER BY title LIMIT 1 OFFSET 40"
            ))
            .await
            .unwrap();
        let mut parts = row.splitn(3, '|');
        (
            parts.next().unwrap().parse().unwrap(),
            parts.next().unwrap().to_owned(),
            parts.next().unwrap().to_owned(),
        )
    };
    let query: String = url::form_urlencoded::byte_serialize(title.as_bytes()).collect();
    let (status, html) = app.get_html(&format!("/products?q={query}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(&format!("data-product-id=\"{id}\"")),
        "{title} is found"
    );

    // "Create post" opens the composer with the product's text and link.
    let res = app.post_form(&format!("/products/{id}/post"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let composer = crate::helpers::location(&res);
    let (_, html) = app.get_html(&composer).await;
    let body: String = scraper::Html::parse_document(&html)
        .select(&scraper::Selector::parse("textarea#body").unwrap())
        .next()
        .expect("the composer has a text")
        .text()
        .collect();
    assert!(body.contains(&url), "the link is in the text: {body}");
    let x = shop_id(&app, Platform::X).await;

    // Posted (through the API, with the composer's text), it goes out tagged.
    let token = app.api_token_of(app.newest_user_id().await).await;
    let res = app
        .client
        .post(app.url("/api/v1/posts"))
        .bearer_auth(&token)
        .json(
            &json!({ "body": body, "product_id": id, "targets": [{ "connection_id": x }],
                       "publish_now": true }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "{}",
        res.text().await.unwrap()
    );
    eventually("the post goes out", Duration::from_secs(30), || async {
        app.scalar_i64(
            "SELECT count(*) FROM post_targets WHERE status IN ('published', 'failed', 'unknown')",
        )
        .await
            == 1
    })
    .await;
    let outcome = app
        .scalar_string("SELECT status || ' ' || coalesce(last_error, '') FROM post_targets")
        .await
        .unwrap();
    assert_eq!(outcome.trim(), "published");
    let sent: Vec<String> = sandbox
        .published("x")
        .await
        .iter()
        .map(|r| r["text"].as_str().unwrap_or_default().to_owned())
        .collect();
    let sep = if url.contains('?') { '&' } else { '?' };
    let tagged = format!("{url}{sep}utm_source=x&utm_medium=social&utm_campaign=picscripter");
    assert_eq!(sent, vec![body.replace(&url, &tagged)]);
    assert!(sent[0].ends_with(&tagged), "{sent:?}");
}
