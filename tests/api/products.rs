//! Products: the list (search, filters, sort, pages, empty states), a product's page with the
//! posts made from it, "Create post" opening the composer prefilled, UTM-tagged product links
//! when publishing, the campaign setting, and the API — never another seller's products.
//!
//! Products are written by the catalog sync; here they are inserted directly, under a shop
//! connection saved the way connecting one saves it.

use std::time::Duration;

use chrono::Utc;
use picscripter::domain::Platform;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait as _, Statement};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    TestApp, TestSandbox, eventually, location, spawn_app, spawn_app_with, texts,
};

async fn user_id(app: &TestApp) -> Uuid {
    app.newest_user_id().await
}

/// Saves a connection of `platform` for `user` as connecting it would; returns its id.
async fn connection(app: &TestApp, user: Uuid, platform: Platform, name: &str) -> Uuid {
    app.saved_connection(user, platform, name).await
}

/// A product as the sync would store it; fields not set get plain defaults.
#[derive(Clone)]
struct Product {
    title: &'static str,
    description: &'static str,
    price: Option<&'static str>,
    currency: &'static str,
    tags: Vec<&'static str>,
    status: &'static str,
    url: Option<String>,
    images: Vec<String>,
    external_id: Option<String>,
    /// Minutes ago it last changed in the shop.
    updated_ago: i64,
}

impl Default for Product {
    fn default() -> Self {
        Product {
            title: "A product",
            description: "",
            price: Some("10.00"),
            currency: "EUR",
            tags: vec![],
            status: "active",
            url: None,
            images: vec![],
            external_id: None,
            updated_ago: 60,
        }
    }
}

async fn insert(app: &TestApp, user: Uuid, shop: Uuid, p: Product) -> Uuid {
    let id = Uuid::now_v7();
    let external = p
        .external_id
        .clone()
        .unwrap_or_else(|| id.simple().to_string());
    app.db
        .execute_raw(Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "INSERT INTO products (id, user_id, connection_id, external_id, title, description, url, price, currency, \
                 image_urls, tags, status, remote_updated_at, synced_at, removed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8::numeric, $9, $10, $11, $12, now() - make_interval(mins => $13), now(), \
                 CASE WHEN $12 = 'removed' THEN now() END)",
            [
                id.into(),
                user.into(),
                shop.into(),
                external.into(),
                p.title.into(),
                p.description.into(),
                p.url.clone().into(),
                p.price.map(str::to_owned).into(),
                Some(p.currency.to_owned()).into(),
                p.images.clone().into(),
                p.tags.iter().map(|t| t.to_string()).collect::<Vec<_>>().into(),
                p.status.into(),
                (p.updated_ago as i32).into(),
            ],
        ))
        .await
        .unwrap();
    id
}

/// A signed-up seller with one Shopify shop; returns (user, shop).
async fn seller_with_shop(app: &TestApp) -> (Uuid, Uuid) {
    app.signed_up_user().await;
    let user = user_id(app).await;
    let shop = connection(app, user, Platform::Shopify, "Maple & Moss").await;
    (user, shop)
}

async fn titles(app: &TestApp, path: &str) -> Vec<String> {
    let (status, html) = app.get_html(path).await;
    assert_eq!(status, StatusCode::OK, "{path}");
    texts(&html, ".product-title")
}

async fn api_token(app: &TestApp, user: Uuid) -> String {
    app.api_token_of(user).await
}

async fn api_get(app: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    let res = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn search_finds_a_product_by_part_of_its_title_by_tag_and_by_the_shop_s_id() {
    let app = spawn_app().await;
    let (user, shop) = seller_with_shop(&app).await;
    for p in [
        Product {
            title: "Speckled Stoneware Mug",
            tags: vec!["Kitchen"],
            ..Default::default()
        },
        Product {
            title: "Linen Tea Towel",
            tags: vec!["kitchen", "linen"],
            external_id: Some("gid://shopify/Product/42".into()),
            ..Default::default()
        },
        Product {
            title: "Oak Serving Board",
            tags: vec!["wood"],
            ..Default::default()
        },
    ] {
        insert(&app, user, shop, p).await;
    }
    assert_eq!(
        titles(&app, "/products?q=stoneware").await,
        ["Speckled Stoneware Mug"]
    );
    assert_eq!(
        titles(&app, "/products?q=MUG").await,
        ["Speckled Stoneware Mug"]
    );
    let mut by_tag = titles(&app, "/products?q=kitchen&sort=title").await;
    by_tag.sort();
    assert_eq!(by_tag, ["Linen Tea Towel", "Speckled Stoneware Mug"]);
    assert_eq!(
        titles(&app, "/products?q=gid%3A%2F%2Fshopify%2FProduct%2F42").await,
        ["Linen Tea Towel"]
    );
    assert_eq!(
        titles(&app, "/products?tag=WOOD").await,
        ["Oak Serving Board"]
    );
    // LIKE's wildcards are taken literally.
    assert!(titles(&app, "/products?q=%25").await.is_empty());

    // The search box updates the results as the seller types (htmx), and the URL follows.
    let (_, html) = app.get_html("/products").await;
    let doc = scraper::Html::parse_document(&html);
    let q = doc
        .select(&scraper::Selector::parse("input#q").unwrap())
        .next()
        .unwrap();
    assert_eq!(
        q.value().attr("hx-trigger"),
        Some("input changed delay:300ms, search")
    );
    assert_eq!(q.value().attr("hx-push-url"), Some("true"));
    let res = app
        .client
        .get(app.url("/products?q=towel"))
        .header("hx-request", "true")
        .header("hx-target", "product-results")
        .send()
        .await
        .unwrap();
    let fragment = res.text().await.unwrap();
    assert!(
        !fragment.contains("<html"),
        "only the results region is sent"
    );
    assert_eq!(texts(&fragment, ".product-title"), ["Linen Tea Towel"]);
}

#[tokio::test]
async fn each_row_shows_photo_exact_price_status_shop_and_local_time() {
    let app = spawn_app().await;
    let (user, shop) = seller_with_shop(&app).await;
    insert(
        &app,
        user,
        shop,
        Product {
            title: "Speckled Mug",
            price: Some("24.5"),
            currency: "EUR",
            status: "sold_out",
            images: vec![
                "https://cdn.example/mug-main.jpg".into(),
                "https://cdn.example/mug-2.jpg".into(),
            ],
            ..Default::default()
        },
    )
    .await;
    let (_, html) = app.get_html("/products").await;
    assert_eq!(texts(&html, ".product-price"), ["€24.50"]);
    assert_eq!(texts(&html, ".product-status"), ["Sold out"]);
    assert_eq!(texts(&html, ".product-shop"), ["Maple & Moss"]);
    let doc = scraper::Html::parse_document(&html);
    let img = doc
        .select(&scraper::Selector::parse(".product-row img").unwrap())
        .next()
        .unwrap();
    assert_eq!(
        img.value().attr("src"),
        Some("https://cdn.example/mug-main.jpg")
    );
    assert_eq!(img.value().attr("alt"), Some("Speckled Mug"));
    assert_eq!(img.value().attr("loading"), Some("lazy"));
    // The seller signed up in Europe/Berlin: the time is theirs, not UTC.
    let local = (Utc::now() - chrono::Duration::minutes(60))
        .with_timezone(&chrono_tz::Europe::Berlin)
        .format("%H:%M")
        .to_string();
    assert!(
        texts(&html, ".product-updated")[0].ends_with(&local),
        "{:?} in Berlin time {local}",
        texts(&html, ".product-updated")
    );
    // The spot the sync's progress banner will fill.
    assert_eq!(texts(&html, "#sync-banner").len(), 1);
}

#[tokio::test]
async fn products_are_filtered_by_shop_and_status_and_removed_ones_only_on_request() {
    let app = spawn_app().await;
    let (user, shopify) = seller_with_shop(&app).await;
    let etsy = connection(&app, user, Platform::Etsy, "Maple on Etsy").await;
    insert(
        &app,
        user,
        shopify,
        Product {
            title: "Shopify mug",
            ..Default::default()
        },
    )
    .await;
    insert(
        &app,
        user,
        etsy,
        Product {
            title: "Etsy bowl",
            ..Default::default()
        },
    )
    .await;
    insert(
        &app,
        user,
        etsy,
        Product {
            title: "Etsy draft plate",
            status: "draft",
            ..Default::default()
        },
    )
    .await;
    insert(
        &app,
        user,
        shopify,
        Product {
            title: "Gone vase",
            status: "removed",
            ..Default::default()
        },
    )
    .await;

    let mut all = titles(&app, "/products?sort=title").await;
    all.sort();
    assert_eq!(
        all,
        ["Etsy bowl", "Etsy draft plate", "Shopify mug"],
        "removed ones are left out by default"
    );
    assert_eq!(
        titles(&app, &format!("/products?shop={etsy}&sort=title")).await,
        ["Etsy bowl", "Etsy draft plate"]
    );
    assert_eq!(
        titles(&app, "/products?status=draft").await,
        ["Etsy draft plate"]
    );
    assert_eq!(
        titles(&app, "/products?status=removed").await,
        ["Gone vase"]
    );
    assert_eq!(
        titles(&app, &format!("/products?shop={etsy}&status=active")).await,
        ["Etsy bowl"]
    );
    // The shop choice lists the seller's shops.
    let (_, html) = app.get_html("/products").await;
    let shops = texts(&html, "select#shop option");
    assert_eq!(
        shops,
        [
            "All shops",
            "Maple & Moss (Shopify)",
            "Maple on Etsy (Etsy)"
        ]
    );
}

#[tokio::test]
async fn products_sort_by_price_and_come_fifty_to_a_page() {
    let app = spawn_app().await;
    let (user, shop) = seller_with_shop(&app).await;
    let prices = ["9.50", "120.00", "0.99", "35.00"];
    for (title, price) in ["Towel", "Board", "Sticker", "Mug"].into_iter().zip(prices) {
        insert(
            &app,
            user,
            shop,
            Product {
                title,
                price: Some(price),
                ..Default::default()
            },
        )
        .await;
    }
    insert(
        &app,
        user,
        shop,
        Product {
            title: "Gift card",
            price: None,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        titles(&app, "/products?sort=price").await,
        ["Sticker", "Towel", "Mug", "Board", "Gift card"],
        "cheapest first, without a price last"
    );
    assert_eq!(
        titles(&app, "/products?sort=price_desc").await,
        ["Board", "Mug", "Towel", "Sticker", "Gift card"]
    );

    // 120 more: three pages of 50, 50 and 25.
    app.db
        .execute_unprepared(&format!(
            "INSERT INTO products (id, user_id, connection_id, external_id, title, price, currency, status, synced_at) \
             SELECT gen_random_uuid(), '{user}', '{shop}', 'bulk-' || n, 'Bulk item ' || lpad(n::text, 3, '0'), n, 'USD', 'active', now() \
             FROM generate_series(1, 120) n"
        ))
        .await
        .unwrap();
    let (_, html) = app.get_html("/products?sort=title").await;
    assert_eq!(texts(&html, ".product-title").len(), 50);
    assert_eq!(
        texts(&html, "#product-count"),
        ["125 products · page 1 of 3"]
    );
    assert_eq!(texts(&html, "a[rel=next]"), ["Next"]);
    let (_, html) = app.get_html("/products?sort=title&page=3").await;
    let last = texts(&html, ".product-title");
    assert_eq!(last.len(), 25);
    assert_eq!(last.last().unwrap(), "Towel");
    assert!(texts(&html, "a[rel=next]").is_empty());
    assert_eq!(texts(&html, "a[rel=prev]"), ["Previous"]);
}

#[tokio::test]
async fn the_empty_states_say_what_to_do() {
    let app = spawn_app().await;
    app.signed_up_user().await;
    let user = user_id(&app).await;
    let (_, html) = app.get_html("/products").await;
    let empty = texts(&html, ".empty-state");
    assert!(empty[0].contains("No shop connected yet"), "{empty:?}");
    assert_eq!(texts(&html, ".empty-state a[href='/connections']").len(), 1);

    let shop = connection(&app, user, Platform::Squarespace, "Maple site").await;
    let (_, html) = app.get_html("/products").await;
    assert!(texts(&html, ".empty-state")[0].contains("Your products are on their way"));

    insert(
        &app,
        user,
        shop,
        Product {
            title: "Mug",
            ..Default::default()
        },
    )
    .await;
    let (_, html) = app.get_html("/products?q=teapot").await;
    assert!(texts(&html, ".empty-state")[0].contains("No products match “teapot”"));
}

#[tokio::test]
async fn another_user_s_products_are_invisible_on_the_pages_and_in_the_api() {
    let app = spawn_app().await;
    let (owner, shop) = seller_with_shop(&app).await;
    let mug = insert(
        &app,
        owner,
        shop,
        Product {
            title: "Owner's mug",
            ..Default::default()
        },
    )
    .await;
    app.post_form("/logout", &[]).await;

    app.signed_up_user().await;
    let other = user_id(&app).await;
    assert_ne!(owner, other);
    assert!(titles(&app, "/products?q=mug").await.is_empty());
    assert!(
        titles(&app, &format!("/products?shop={shop}"))
            .await
            .is_empty()
    );
    assert_eq!(
        app.get(&format!("/products/{mug}")).await.status(),
        StatusCode::NOT_FOUND
    );
    let res = app.post_form(&format!("/products/{mug}/post"), &[]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let (_, html) = app.get_html(&format!("/posts/new?product_id={mug}")).await;
    assert!(!html.contains("Owner&#x27;s mug") && !html.contains("Owner's mug"));

    let token = api_token(&app, other).await;
    let (status, list) = api_get(&app, &token, "/api/v1/products").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["total"], 0);
    let (status, _) = api_get(&app, &token, &format!("/api/v1/products/{mug}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = api_get(
        &app,
        &token,
        &format!("/api/v1/products?connection_id={shop}"),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"]["fields"]["connection_id"].is_string(),
        "{body}"
    );
    // Nor can a post be tied to it.
    let res = app
        .client
        .post(app.url("/api/v1/posts"))
        .bearer_auth(&token)
        .json(&json!({"body": "Mine now", "product_id": mug}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = res.json().await.unwrap();
    assert!(body["error"]["fields"]["product_id"].is_string(), "{body}");
}

#[tokio::test]
async fn the_product_page_shows_its_details_and_the_posts_made_from_it() {
    let app = spawn_app().await;
    let (user, shop) = seller_with_shop(&app).await;
    let x = connection(&app, user, Platform::X, "maple on X").await;
    let mug = insert(
        &app,
        user,
        shop,
        Product {
            title: "Speckled Mug",
            description: "Thrown by hand.\nGlazed in oatmeal.\n\n<b>Dishwasher</b> safe.",
            price: Some("24.000000"),
            currency: "USD",
            tags: vec!["mugs", "gifts"],
            url: Some("https://maple.example/products/mug".into()),
            images: vec![
                "https://cdn.example/a.jpg".into(),
                "https://cdn.example/b.jpg".into(),
            ],
            ..Default::default()
        },
    )
    .await;
    let token = api_token(&app, user).await;
    let at = (Utc::now() + chrono::Duration::days(2))
        .format("%Y-%m-%dT10:00:00Z")
        .to_string();
    let res = app
        .client
        .post(app.url("/api/v1/posts"))
        .bearer_auth(&token)
        .json(&json!({"body": "Mugs are back", "product_id": mug, "targets": [{"connection_id": x}], "scheduled_at": at}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let post: Value = res.json().await.unwrap();
    assert_eq!(post["product_id"], mug.to_string());
    assert_eq!(post["utm_enabled"], true);

    let (status, html) = app.get_html(&format!("/products/{mug}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(texts(&html, "#product-title"), ["Speckled Mug"]);
    assert_eq!(texts(&html, "#product-price"), ["$24.00"]);
    assert_eq!(texts(&html, "#product-status"), ["Active"]);
    assert_eq!(
        texts(&html, "#product-description p"),
        [
            "Thrown by hand.Glazed in oatmeal.",
            "<b>Dishwasher</b> safe."
        ],
        "paragraphs kept, text escaped"
    );
    assert_eq!(texts(&html, "#product-description br").len(), 1);
    let doc = scraper::Html::parse_document(&html);
    let images: Vec<&str> = doc
        .select(&scraper::Selector::parse("#product-images img").unwrap())
        .map(|i| i.value().attr("src").unwrap())
        .collect();
    assert_eq!(
        images,
        ["https://cdn.example/a.jpg", "https://cdn.example/b.jpg"]
    );
    let link = doc
        .select(&scraper::Selector::parse("#product-link").unwrap())
        .next()
        .unwrap();
    assert_eq!(
        link.value().attr("href"),
        Some("https://maple.example/products/mug")
    );
    assert_eq!(link.value().attr("rel"), Some("noopener noreferrer"));
    assert_eq!(link.value().attr("target"), Some("_blank"));
    assert_eq!(texts(&html, "#product-tags a"), ["mugs", "gifts"]);
    assert!(texts(&html, "#product-shop")[0].contains("Maple & Moss"));
    let posts = texts(&html, ".product-post");
    assert_eq!(posts.len(), 1);
    assert!(
        posts[0].contains("Scheduled")
            && posts[0].contains("X")
            && posts[0].contains("Mugs are back"),
        "{posts:?}"
    );
    assert_eq!(
        texts(
            &html,
            &format!(
                ".product-post a[href='/posts/{}']",
                post["id"].as_str().unwrap()
            )
        )
        .len(),
        1
    );
    assert_eq!(texts(&html, "#create-post"), ["Create post"]);
    assert!(texts(&html, "#removed-note").is_empty());

    app.db
        .execute_unprepared(&format!(
            "UPDATE products SET status = 'removed', removed_at = now() WHERE id = '{mug}'"
        ))
        .await
        .unwrap();
    let (_, html) = app.get_html(&format!("/products/{mug}")).await;
    assert!(texts(&html, "#removed-note")[0].contains("removed from the shop"));
}

/// An app with its own media folder, and a web server handing out one product photo (allowed
/// as an outbound origin, since it runs on 127.0.0.1).
async fn app_with_media() -> (TestApp, tempfile::TempDir, wiremock::MockServer) {
    let media = tempfile::tempdir().unwrap();
    let path = media.path().to_string_lossy().into_owned();
    let cdn = wiremock::MockServer::start().await;
    let origin = cdn.uri();
    let app = spawn_app_with(move |env| {
        env.insert("MEDIA_STORE".into(), path);
        env.insert("OUTBOUND_ALLOW_ORIGINS".into(), origin);
    })
    .await;
    use wiremock::matchers::{method, path as at};
    wiremock::Mock::given(method("GET"))
        .and(at("/mug.jpg"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .insert_header("content-type", "image/jpeg")
                .set_body_bytes(crate::media::jpeg(800, 800, 7)),
        )
        .mount(&cdn)
        .await;
    wiremock::Mock::given(method("GET"))
        .and(at("/page.html"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .insert_header("content-type", "text/html")
                .set_body_string("<html></html>"),
        )
        .mount(&cdn)
        .await;
    (app, media, cdn)
}

#[tokio::test]
async fn create_post_opens_the_composer_with_title_excerpt_price_link_photo_and_product() {
    let (app, _media, cdn) = app_with_media().await;
    let (user, shop) = seller_with_shop(&app).await;
    let x = connection(&app, user, Platform::X, "maple on X").await;
    let mug = insert(
        &app,
        user,
        shop,
        Product {
            title: "Speckled Mug",
            description: "A speckled stoneware mug, thrown by hand in our studio by the river, glazed in a warm oatmeal white that shows every fleck of iron in the clay, and fired twice so it lasts for years and years of slow Sunday mornings and strong coffee.\n\nDishwasher safe.",
            price: Some("24.500000"),
            currency: "EUR",
            url: Some("https://maple.example/products/mug".into()),
            images: vec![format!("{}/mug.jpg", cdn.uri()), format!("{}/other.jpg", cdn.uri())],
            ..Default::default()
        },
    )
    .await;
    let res = app.post_form(&format!("/products/{mug}/post"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = location(&res);
    assert!(
        to.starts_with(&format!("/posts/new?product_id={mug}&media=")),
        "{to}"
    );
    let media_id = app
        .scalar_string(&format!(
            "SELECT id::text FROM media WHERE user_id = '{user}'"
        ))
        .await
        .unwrap();
    assert!(to.ends_with(&media_id));

    let (status, html) = app.get_html(&to).await;
    assert_eq!(status, StatusCode::OK);
    let body = texts(&html, "textarea#body");
    let doc = scraper::Html::parse_document(&html);
    let raw_body: String = doc
        .select(&scraper::Selector::parse("textarea#body").unwrap())
        .next()
        .unwrap()
        .text()
        .collect();
    let parts: Vec<&str> = raw_body.split("\n\n").collect();
    assert_eq!(parts[0], "Speckled Mug", "{body:?}");
    assert!(
        parts[1].starts_with("A speckled stoneware mug, thrown by hand"),
        "{raw_body}"
    );
    assert!(
        parts[1].ends_with('…') && parts[1].chars().count() <= 200,
        "{raw_body}"
    );
    assert!(!raw_body.contains("Dishwasher"), "only the first paragraph");
    assert_eq!(parts[2], "€24.50");
    assert_eq!(
        parts[3], "https://maple.example/products/mug",
        "the link on its own line"
    );
    let product_field = doc
        .select(&scraper::Selector::parse("input[name=product_id]").unwrap())
        .next()
        .unwrap();
    assert_eq!(
        product_field.value().attr("value"),
        Some(mug.to_string().as_str())
    );
    let ticked = doc
        .select(
            &scraper::Selector::parse(&format!("input[name=media_id][value='{media_id}']"))
                .unwrap(),
        )
        .next()
        .unwrap();
    assert!(
        ticked.value().attr("checked").is_some(),
        "the photo is attached"
    );
    let utm = doc
        .select(&scraper::Selector::parse("input#utm_enabled").unwrap())
        .next()
        .unwrap();
    assert!(
        utm.value().attr("checked").is_some(),
        "UTM tagging is on by default"
    );
    // The preview shows the link as it will go out.
    let previews = texts(&html, ".preview-caption");
    assert!(
        previews[0].ends_with(
            "https://maple.example/products/mug?utm_source=x&utm_medium=social&utm_campaign=picscripter"
        ),
        "tagged link in the preview: {previews:?}"
    );

    // Saving it stores the product, the photo and the UTM choice.
    let res = app
        .post_form(
            "/posts",
            &[
                ("body", raw_body.as_str()),
                ("product_id", &mug.to_string()),
                ("media_id", &media_id),
                ("target", &x.to_string()),
                ("utm_shown", "1"),
                ("action", "draft"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.scalar_string("SELECT product_id::text || ' ' || utm_enabled::text FROM posts")
            .await
            .unwrap(),
        format!("{mug} false"),
        "an unticked box turns tagging off"
    );
    assert_eq!(app.scalar_i64("SELECT count(*) FROM post_media").await, 1);
}

#[tokio::test]
async fn when_the_photo_can_t_be_brought_in_the_composer_opens_without_it_and_says_why() {
    let (app, _media, cdn) = app_with_media().await;
    let (user, shop) = seller_with_shop(&app).await;
    for (images, why) in [
        (vec![format!("{}/missing.jpg", cdn.uri())], "answered 404"),
        (
            vec![format!("{}/page.html", cdn.uri())],
            "doesn't lead to a photo",
        ),
        (
            vec!["ftp://cdn.example/mug.jpg".to_owned()],
            "only http and https",
        ),
        (vec![], "has no photo"),
    ] {
        let p = insert(
            &app,
            user,
            shop,
            Product {
                title: "Mug",
                images,
                ..Default::default()
            },
        )
        .await;
        let res = app.post_form(&format!("/products/{p}/post"), &[]).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let to = location(&res);
        assert_eq!(to, format!("/posts/new?product_id={p}"), "{why}");
        let (status, html) = app.get_html(&to).await;
        assert_eq!(status, StatusCode::OK);
        let flashes = texts(&html, ".flash").join(" ");
        assert!(flashes.contains(why), "{why}: {flashes}");
        assert!(texts(&html, "textarea#body")[0].starts_with("Mug"));
    }
    assert_eq!(app.scalar_i64("SELECT count(*) FROM media").await, 0);
}

#[tokio::test]
async fn a_photo_larger_than_the_limit_is_not_imported() {
    let media = tempfile::tempdir().unwrap();
    let path = media.path().to_string_lossy().into_owned();
    let cdn = wiremock::MockServer::start().await;
    let origin = cdn.uri();
    let app = spawn_app_with(move |env| {
        env.insert("MEDIA_STORE".into(), path);
        env.insert("MEDIA_MAX_IMAGE_BYTES".into(), "20KB".into());
        env.insert("OUTBOUND_ALLOW_ORIGINS".into(), origin);
    })
    .await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .insert_header("content-type", "image/jpeg")
                .set_body_bytes(crate::media::jpeg(1600, 1600, 3)),
        )
        .mount(&cdn)
        .await;
    let (user, shop) = seller_with_shop(&app).await;
    let p = insert(
        &app,
        user,
        shop,
        Product {
            images: vec![format!("{}/big.jpg", cdn.uri())],
            ..Default::default()
        },
    )
    .await;
    let res = app.post_form(&format!("/products/{p}/post"), &[]).await;
    assert_eq!(location(&res), format!("/posts/new?product_id={p}"));
    let (_, html) = app.get_html(&location(&res)).await;
    assert!(
        texts(&html, ".flash").join(" ").contains("larger than"),
        "{:?}",
        texts(&html, ".flash")
    );
    assert_eq!(app.scalar_i64("SELECT count(*) FROM media").await, 0);
}

#[tokio::test]
async fn a_published_post_carries_utm_parameters_on_its_product_link_unless_switched_off() {
    let sandbox = TestSandbox::start().await;
    let url = sandbox.url.clone();
    let app = spawn_app_with(move |env| {
        env.insert("SANDBOX_URL".into(), url);
        env.insert("PUBLISH_LEASE_SECS".into(), "5".into());
        env.insert("PUBLISH_RETRY_BASE_SECS".into(), "1".into());
    })
    .await;
    let (user, shop) = seller_with_shop(&app).await;
    let res = app
        .post_form("/settings/utm-campaign", &[("utm_campaign", "spring-sale")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    app.get_html("/settings").await;
    crate::oauth::connect(&app, &sandbox, Platform::X).await;
    let x: Uuid = app
        .scalar_string("SELECT id::text FROM connections WHERE platform = 'x'")
        .await
        .unwrap()
        .parse()
        .unwrap();
    let mug = insert(
        &app,
        user,
        shop,
        Product {
            title: "Mug",
            url: Some("https://maple.example/products/mug?variant=2".into()),
            ..Default::default()
        },
    )
    .await;
    let token = api_token(&app, user).await;
    let _worker = app.spawn_worker();
    let post = |body: &'static str, utm: bool| {
        let (app, token) = (&app, &token);
        async move {
            let res = app
                .client
                .post(app.url("/api/v1/posts"))
                .bearer_auth(token)
                .json(&json!({"body": body, "product_id": mug, "utm_enabled": utm,
                              "targets": [{"connection_id": x}], "publish_now": true}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::CREATED);
        }
    };
    post("Back in stock: https://maple.example/products/mug?variant=2. Also https://maple.example/journal", true).await;
    post(
        "Untagged: https://maple.example/products/mug?variant=2",
        false,
    )
    .await;
    eventually(
        "both posts are published",
        Duration::from_secs(30),
        || async {
            app.scalar_i64("SELECT count(*) FROM post_targets WHERE status = 'published'")
                .await
                == 2
        },
    )
    .await;
    let mut sent: Vec<String> = sandbox
        .published("x")
        .await
        .iter()
        .map(|r| r["text"].as_str().unwrap_or_default().to_owned())
        .collect();
    sent.sort();
    assert_eq!(
        sent,
        [
            "Back in stock: https://maple.example/products/mug?variant=2&utm_source=x&utm_medium=social&utm_campaign=spring-sale. Also https://maple.example/journal",
            "Untagged: https://maple.example/products/mug?variant=2",
        ]
    );
    // What is stored is the seller's own text; tagging happens on the way out.
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM posts WHERE body LIKE '%utm_source%'")
            .await,
        0
    );
}

#[tokio::test]
async fn the_campaign_name_is_checked_and_explained_next_to_its_field() {
    let app = spawn_app().await;
    app.signed_up_user().await;
    let (_, html) = app.get_html("/settings").await;
    let doc = scraper::Html::parse_document(&html);
    let field = doc
        .select(&scraper::Selector::parse("input#utm_campaign").unwrap())
        .next()
        .unwrap();
    assert_eq!(
        field.value().attr("value"),
        Some("picscripter"),
        "the default"
    );
    assert_eq!(
        texts(&html, "label[for=utm_campaign]"),
        ["Campaign name for product links"]
    );

    for (bad, says) in [
        ("spring sale", "no spaces"),
        ("", "Enter a campaign name"),
        (&*"x".repeat(101), "100 characters"),
        ("été", "Use only letters"),
    ] {
        let res = app
            .post_form("/settings/utm-campaign", &[("utm_campaign", bad)])
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
        let html = res.text().await.unwrap();
        let error = texts(&html, "#utm_campaign-error");
        assert_eq!(error.len(), 1, "{bad:?}");
        assert!(error[0].contains(says), "{bad:?}: {error:?}");
        assert!(html.contains("aria-describedby=\"utm_campaign-error\""));
    }
    assert_eq!(
        app.scalar_string("SELECT utm_campaign FROM users")
            .await
            .unwrap(),
        "picscripter"
    );
    let res = app
        .post_form(
            "/settings/utm-campaign",
            &[("utm_campaign", " winter_2026 ")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.scalar_string("SELECT utm_campaign FROM users")
            .await
            .unwrap(),
        "winter_2026"
    );
}

#[tokio::test]
async fn the_api_lists_filters_and_shows_products_with_exact_prices_and_names_wrong_parameters() {
    let app = spawn_app().await;
    let (user, shop) = seller_with_shop(&app).await;
    let etsy = connection(&app, user, Platform::Etsy, "Maple on Etsy").await;
    let mug = insert(
        &app,
        user,
        shop,
        Product {
            title: "Speckled Mug",
            description: "Thrown by hand.\n\nSafe.",
            price: Some("24.500000"),
            currency: "EUR",
            tags: vec!["mugs"],
            url: Some("https://maple.example/mug".into()),
            images: vec![
                "https://cdn.example/a.jpg".into(),
                "https://cdn.example/b.jpg".into(),
            ],
            ..Default::default()
        },
    )
    .await;
    insert(
        &app,
        user,
        etsy,
        Product {
            title: "Bowl",
            price: Some("1200"),
            currency: "JPY",
            ..Default::default()
        },
    )
    .await;
    insert(
        &app,
        user,
        etsy,
        Product {
            title: "Old plate",
            status: "removed",
            ..Default::default()
        },
    )
    .await;
    let token = api_token(&app, user).await;

    let (status, list) = api_get(&app, &token, "/api/v1/products?sort=price").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["total"], 2);
    assert_eq!(list["next_page"], Value::Null);
    let first = &list["products"][0];
    assert_eq!(first["title"], "Speckled Mug");
    assert_eq!(first["price"], "24.50");
    assert_eq!(first["currency"], "EUR");
    assert_eq!(first["image_url"], "https://cdn.example/a.jpg");
    assert_eq!(first["shop"], "Maple & Moss");
    assert_eq!(first["platform"], "shopify");
    assert_eq!(list["products"][1]["price"], "1200");

    let (_, by_shop) = api_get(
        &app,
        &token,
        &format!("/api/v1/products?connection_id={etsy}&status=removed"),
    )
    .await;
    assert_eq!(by_shop["products"][0]["title"], "Old plate");
    let (_, found) = api_get(&app, &token, "/api/v1/products?q=speck&tag=MUGS").await;
    assert_eq!(found["total"], 1);
    let (_, paged) = api_get(&app, &token, "/api/v1/products?per_page=1&sort=title").await;
    assert_eq!(paged["products"].as_array().unwrap().len(), 1);
    assert_eq!(paged["products"][0]["title"], "Bowl");
    assert_eq!(paged["next_page"], 2);
    let (_, page2) = api_get(
        &app,
        &token,
        "/api/v1/products?per_page=1&sort=title&page=2",
    )
    .await;
    assert_eq!(page2["products"][0]["title"], "Speckled Mug");
    assert_eq!(page2["next_page"], Value::Null);

    let (status, one) = api_get(&app, &token, &format!("/api/v1/products/{mug}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["description"], "Thrown by hand.\n\nSafe.");
    assert_eq!(
        one["image_urls"],
        json!(["https://cdn.example/a.jpg", "https://cdn.example/b.jpg"])
    );
    assert_eq!(one["price"], "24.50");
    assert_eq!(one["posts"], json!([]));
    let (status, _) = api_get(
        &app,
        &token,
        &format!("/api/v1/products/{}", Uuid::now_v7()),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    for (query, field) in [
        ("status=gone", "status"),
        ("sort=cheapest", "sort"),
        ("page=0", "page"),
        ("page=abc", "page"),
        ("per_page=500", "per_page"),
        ("connection_id=not-a-uuid", "connection_id"),
    ] {
        let (status, body) = api_get(&app, &token, &format!("/api/v1/products?{query}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(body["error"]["code"], "validation", "{query}: {body}");
        assert!(
            body["error"]["fields"][field].is_string(),
            "{query}: {body}"
        );
    }
    let res = app
        .client
        .get(app.url("/api/v1/products"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let (_, doc) = api_get(&app, &token, "/api/v1/openapi.json").await;
    assert!(doc["paths"]["/api/v1/products"]["get"].is_object());
    assert!(doc["paths"]["/api/v1/products/{id}"]["get"].is_object());
}
