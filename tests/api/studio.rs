//! The AI Studio: from a synced product to a caption per network, the card tools (regenerate,
//! proofread, emoji, shorten / lengthen), "What we changed and why", scheduling through the
//! composer and posting now — with the built-in writer (no key) and with Gemini (the sandbox's),
//! including Gemini's failures — plus `POST /api/v1/captions`.
//!
//! The page is driven as a browser would drive it: the form's fields are read from the HTML
//! (what is typed, ticked and hidden) and sent back with the button pressed.

use std::time::Duration;

use picscripter::domain::Platform;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    TestApp, TestSandbox, eventually, location, same_origin_headers, spawn_app, spawn_app_with,
    spawn_app_with_sandbox, texts,
};
use crate::oauth::connect;

const SOCIAL: [Platform; 7] = [
    Platform::X,
    Platform::Instagram,
    Platform::Facebook,
    Platform::Linkedin,
    Platform::Pinterest,
    Platform::Tiktok,
    Platform::Youtube,
];

// ---- driving the form like a browser ----

/// The fields a browser would send for the form matching `selector`: hidden and text inputs,
/// ticked boxes, textareas and selects (buttons are added by [`press`]).
fn fields_of(html: &str, selector: &str) -> Vec<(String, String)> {
    let doc = scraper::Html::parse_document(html);
    let form = doc
        .select(&scraper::Selector::parse(selector).unwrap())
        .next()
        .unwrap_or_else(|| panic!("the page has {selector}"));
    let controls = scraper::Selector::parse("input, textarea, select").unwrap();
    let mut out = Vec::new();
    for el in form.select(&controls) {
        let v = el.value();
        let Some(name) = v.attr("name") else { continue };
        match v.name() {
            "textarea" => out.push((name.to_owned(), el.text().collect())),
            "select" => {
                let options = scraper::Selector::parse("option").unwrap();
                let all: Vec<_> = el.select(&options).collect();
                let chosen = all
                    .iter()
                    .find(|o| o.value().attr("selected").is_some())
                    .or(all.first());
                if let Some(o) = chosen {
                    out.push((
                        name.to_owned(),
                        o.value().attr("value").unwrap_or("").to_owned(),
                    ));
                }
            }
            _ => match v.attr("type").unwrap_or("text") {
                "checkbox" | "radio" => {
                    if v.attr("checked").is_some() {
                        out.push((name.to_owned(), v.attr("value").unwrap_or("on").to_owned()));
                    }
                }
                "file" | "submit" | "button" => {}
                _ => out.push((name.to_owned(), v.attr("value").unwrap_or("").to_owned())),
            },
        }
    }
    out
}

fn set(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    fields.retain(|(k, _)| k != name);
    fields.push((name.to_owned(), value.to_owned()));
}

fn get<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Sends `fields` to `path` with the button `action` pressed; returns status and page.
async fn press(
    app: &TestApp,
    path: &str,
    fields: &[(String, String)],
    action: &str,
) -> (StatusCode, String) {
    let mut all = fields.to_vec();
    all.push(("action".into(), action.into()));
    let res = app
        .client
        .post(app.url(path))
        .headers(same_origin_headers(&app.base))
        .form(&all)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.text().await.unwrap())
}

/// The Studio form as the page shows it.
pub(crate) async fn studio_form(app: &TestApp, path: &str) -> Vec<(String, String)> {
    let (status, html) = app.get_html(path).await;
    assert_eq!(status, StatusCode::OK, "{path}");
    fields_of(&html, "form#studio")
}

fn caption(html: &str, platform: Platform) -> String {
    let doc = scraper::Html::parse_document(html);
    doc.select(&scraper::Selector::parse(&format!("textarea#caption-{platform}")).unwrap())
        .next()
        .map(|t| t.text().collect())
        .unwrap_or_else(|| panic!("there is a {platform} card"))
}

fn card_texts(html: &str, platform: Platform, inner: &str) -> Vec<String> {
    texts(html, &format!("#card-{platform} {inner}"))
}

// ---- setting up a seller ----

/// A product row as the catalog sync stores it, under a Shopify shop saved for `user`.
async fn product(app: &TestApp, user: Uuid, title: &str, description: &str, url: &str) -> Uuid {
    let shop = app
        .saved_connection(user, Platform::Shopify, "Maple & Moss")
        .await;
    let id = Uuid::now_v7();
    app.scalar_i64(&format!(
        "WITH i AS (INSERT INTO products (id, user_id, connection_id, external_id, title, description, url, price, currency, image_urls, tags, status, synced_at)
         VALUES ('{id}', '{user}', '{shop}', '{id}', '{title}', '{description}', '{url}', 24.00, 'USD', '{{}}', '{{coffee,handmade}}', 'active', now()) RETURNING 1)
         SELECT count(*) FROM i"
    ))
    .await;
    id
}

const MUG_DESCRIPTION: &str = "A speckled stoneware mug, thrown by hand in our studio. It holds a generous cup of coffee. Every glaze is mixed in small batches.";

pub(crate) async fn seller_with_mug(app: &TestApp) -> (Uuid, Uuid) {
    app.signed_up_user().await;
    let user = app.newest_user_id().await;
    let mug = product(
        app,
        user,
        "Speckled Mug",
        MUG_DESCRIPTION,
        "https://maple.example/products/mug",
    )
    .await;
    (user, mug)
}

/// Generates captions for `platforms` from `product`; returns the page.
pub(crate) async fn generate(
    app: &TestApp,
    product: Uuid,
    platforms: &[Platform],
) -> (StatusCode, String) {
    let mut form = studio_form(app, &format!("/studio?product_id={product}")).await;
    form.retain(|(k, _)| k != "platform");
    for p in platforms {
        form.push(("platform".into(), p.as_str().into()));
    }
    press(app, "/studio", &form, "generate").await
}

// ---- the built-in writer ----

#[tokio::test]
async fn without_a_key_the_built_in_writer_writes_a_caption_per_network_and_says_so() {
    let app = spawn_app().await;
    let (_, mug) = seller_with_mug(&app).await;
    let (status, html) = generate(
        &app,
        mug,
        &[Platform::X, Platform::Instagram, Platform::Linkedin],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(texts(&html, "#provider-label"), ["Built-in writer"]);
    assert!(!html.contains(">Gemini<"), "never presented as AI");
    for p in [Platform::X, Platform::Instagram, Platform::Linkedin] {
        let text = caption(&html, p);
        assert!(text.contains("Speckled Mug"), "{p}: {text}");
        assert!(
            text.contains("$24.00"),
            "{p}: the price as the shop writes it: {text}"
        );
        assert!(
            card_texts(&html, p, ".counter")
                .iter()
                .any(|c| c.starts_with("Caption")),
            "{p} has the composer's counter"
        );
        assert!(
            card_texts(&html, p, "summary")[0].starts_with("What we changed and why"),
            "{p}"
        );
    }
    assert_eq!(texts(&html, ".studio-card").len(), 3);
    // X's caption fits X.
    let x = caption(&html, Platform::X);
    assert!(
        picscripter::domain::caption::count(
            Platform::X,
            picscripter::domain::caption::TextField::Caption,
            &x
        )
        .unwrap()
        .used
            <= 280
    );
}

#[tokio::test]
async fn problems_with_the_request_are_shown_next_to_their_fields_and_nothing_is_lost() {
    let app = spawn_app().await;
    app.signed_up_user().await;
    let mut form = studio_form(&app, "/studio").await;
    form.retain(|(k, _)| k != "platform");
    set(&mut form, "brief", "");
    set(&mut form, "call_to_action", &"Buy ".repeat(80));
    let (status, html) = press(&app, "/studio", &form, "generate").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        texts(&html, "#platforms-error"),
        ["Choose at least one network."]
    );
    assert!(texts(&html, "#product_id-error")[0].contains("write a few words"));
    assert!(texts(&html, "#call_to_action-error")[0].contains("under 200 characters"));
    let kept = fields_of(&html, "form#studio");
    assert_eq!(
        get(&kept, "call_to_action"),
        Some("Buy ".repeat(80).as_str())
    );

    // English only without a key, said plainly.
    set(&mut form, "brief", "Our winter candles are back.");
    set(&mut form, "call_to_action", "");
    form.push(("platform".into(), "x".into()));
    set(&mut form, "language", "Spanish");
    let (status, html) = press(&app, "/studio", &form, "generate").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(texts(&html, "#language-error")[0].contains("writes English only"));

    // Another seller's product isn't theirs to use.
    set(&mut form, "language", "English");
    set(&mut form, "product_id", &Uuid::now_v7().to_string());
    let (status, html) = press(&app, "/studio", &form, "generate").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        texts(&html, "#product_id-error"),
        ["That product isn't in your catalog."]
    );
}

#[tokio::test]
async fn regenerating_gives_a_different_caption_and_leaves_the_other_cards_as_edited() {
    let app = spawn_app().await;
    let (_, mug) = seller_with_mug(&app).await;
    let (_, html) = generate(&app, mug, &[Platform::X, Platform::Facebook]).await;
    let mut form = fields_of(&html, "form#studio");
    let first_x = caption(&html, Platform::X);
    set(&mut form, "caption.facebook", "My own words for Facebook.");
    let (status, html) = press(&app, "/studio", &form, "regenerate:x").await;
    assert_eq!(status, StatusCode::OK);
    let second_x = caption(&html, Platform::X);
    assert_ne!(first_x, second_x, "a different variation");
    assert!(second_x.contains("Speckled Mug"));
    assert_eq!(
        caption(&html, Platform::Facebook),
        "My own words for Facebook."
    );
    assert_eq!(
        get(&fields_of(&html, "form#studio"), "variation.x"),
        Some("1")
    );
    assert!(card_texts(&html, Platform::X, ".studio-note")[0].contains("new take"));

    // And regenerating again moves on again, deterministically.
    let form = fields_of(&html, "form#studio");
    let (_, third) = press(&app, "/studio", &form, "regenerate:x").await;
    assert_ne!(caption(&third, Platform::X), second_x);
}

#[tokio::test]
async fn proofreading_offers_corrections_to_accept_or_reject() {
    let app = spawn_app().await;
    let (_, mug) = seller_with_mug(&app).await;
    let (_, html) = generate(&app, mug, &[Platform::Facebook]).await;
    let mut form = fields_of(&html, "form#studio");
    set(
        &mut form,
        "caption.facebook",
        "Teh mug is the the best.  We beleive you'll love it.",
    );
    let (status, html) = press(&app, "/studio", &form, "proofread:facebook").await;
    assert_eq!(status, StatusCode::OK);
    let befores = card_texts(&html, Platform::Facebook, ".fix-list .fix-before");
    assert!(befores.iter().any(|b| b == "Teh"), "{befores:?}");
    assert!(befores.iter().any(|b| b.contains("beleive")), "{befores:?}");
    // The text is untouched until the seller accepts.
    assert_eq!(
        caption(&html, Platform::Facebook),
        "Teh mug is the the best.  We beleive you'll love it."
    );

    // Accept all but "Teh"; it stays as written.
    let teh = befores.iter().position(|b| b == "Teh").unwrap().to_string();
    let mut form = fields_of(&html, "form#studio");
    let first = form
        .iter()
        .position(|(k, v)| k == "accept.facebook" && *v == teh)
        .unwrap();
    form.remove(first);
    let (_, html) = press(&app, "/studio", &form, "apply:facebook").await;
    let fixed = caption(&html, Platform::Facebook);
    assert!(fixed.starts_with("Teh mug is the best."), "{fixed}");
    assert!(fixed.contains("We believe you'll love it."), "{fixed}");
    assert!(texts(&html, "#card-facebook .fix-list").is_empty());

    // Rejecting all leaves the text alone.
    let form = fields_of(&html, "form#studio");
    let (_, html) = press(&app, "/studio", &form, "proofread:facebook").await;
    let form = fields_of(&html, "form#studio");
    let (_, html) = press(&app, "/studio", &form, "dismiss:facebook").await;
    assert_eq!(caption(&html, Platform::Facebook), fixed);
}

#[tokio::test]
async fn emoji_are_added_where_they_fit_and_never_past_the_network_s_cap() {
    let app = spawn_app().await;
    let (_, mug) = seller_with_mug(&app).await;
    let (_, html) = generate(&app, mug, &[Platform::X, Platform::Instagram]).await;
    let form = fields_of(&html, "form#studio");
    let before = caption(&html, Platform::Instagram);
    let (status, html) = press(&app, "/studio", &form, "emoji:instagram").await;
    assert_eq!(status, StatusCode::OK);
    let after = caption(&html, Platform::Instagram);
    assert_ne!(before, after);
    assert!(card_texts(&html, Platform::Instagram, ".studio-note")[0].starts_with("Added"));
    assert!(
        after.contains("https://maple.example/products/mug"),
        "links intact"
    );

    // X reads well with two at most, however often it's asked.
    let mut html = html;
    for _ in 0..3 {
        let form = fields_of(&html, "form#studio");
        html = press(&app, "/studio", &form, "emoji:x").await.1;
    }
    let x = caption(&html, Platform::X);
    let emoji = x.chars().filter(|c| (*c as u32) >= 0x2600).count();
    assert!(emoji <= 2, "{x}");
}

#[tokio::test]
async fn shorten_and_lengthen_keep_the_link_and_the_price() {
    let app = spawn_app().await;
    let (_, mug) = seller_with_mug(&app).await;
    let (_, html) = generate(&app, mug, &[Platform::Facebook]).await;
    let form = fields_of(&html, "form#studio");
    let original = caption(&html, Platform::Facebook);
    let (_, longer) = press(&app, "/studio", &form, "lengthen:facebook").await;
    let long_text = caption(&longer, Platform::Facebook);
    assert!(long_text.chars().count() >= original.chars().count());
    let form = fields_of(&longer, "form#studio");
    let (_, shorter) = press(&app, "/studio", &form, "shorten:facebook").await;
    let short_text = caption(&shorter, Platform::Facebook);
    assert!(short_text.chars().count() <= long_text.chars().count());
    for text in [&long_text, &short_text] {
        assert!(
            text.contains("https://maple.example/products/mug"),
            "{text}"
        );
        assert!(text.contains("$24.00"), "{text}");
    }
}

#[tokio::test]
async fn post_now_creates_the_post_with_a_target_per_connected_account_and_each_caption() {
    let (app, sandbox) = spawn_app_with_sandbox().await;
    let (user, mug) = seller_with_mug(&app).await;
    let _ = user;
    connect(&app, &sandbox, Platform::X).await;
    connect(&app, &sandbox, Platform::Linkedin).await;
    let (_, html) = generate(&app, mug, &[Platform::X, Platform::Linkedin]).await;
    let mut form = fields_of(&html, "form#studio");
    set(
        &mut form,
        "caption.x",
        "The Speckled Mug is back. $24.00 https://maple.example/products/mug",
    );
    let (status, _) = press(&app, "/studio", &form, "post_now").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let post = app
        .scalar_string("SELECT id::text FROM posts")
        .await
        .unwrap();
    let rows = app
        .scalar_string(&format!(
            "SELECT string_agg(c.platform || '=' || t.caption, '|' ORDER BY c.platform) FROM post_targets t JOIN connections c ON c.id = t.connection_id WHERE t.post_id = '{post}'"
        ))
        .await
        .unwrap();
    assert!(
        rows.contains("x=The Speckled Mug is back. $24.00 https://maple.example/products/mug"),
        "{rows}"
    );
    assert!(rows.contains("linkedin="), "{rows}");
    assert_eq!(
        app.scalar_string(&format!(
            "SELECT product_id::text FROM posts WHERE id = '{post}'"
        ))
        .await,
        Some(mug.to_string())
    );
    let _ = sandbox;
}

#[tokio::test]
async fn a_network_that_isn_t_connected_is_named_when_scheduling_and_nothing_is_created() {
    let app = spawn_app().await;
    let (_, mug) = seller_with_mug(&app).await;
    let (_, html) = generate(&app, mug, &[Platform::Pinterest]).await;
    let form = fields_of(&html, "form#studio");
    let (status, html) = press(&app, "/studio", &form, "schedule").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        card_texts(&html, Platform::Pinterest, ".card-error")[0]
            .contains("Pinterest isn't connected")
    );
    assert!(
        !caption(&html, Platform::Pinterest).is_empty(),
        "the caption is kept"
    );
    assert_eq!(app.scalar_i64("SELECT count(*) FROM posts").await, 0);
}

/// Done means: a new seller with no key picks a synced product, writes seven captions, sees
/// what the authenticity pass changed, proofreads one, adds emoji to another, regenerates a
/// third, and schedules them through the composer.
#[tokio::test]
async fn a_new_seller_goes_from_a_synced_product_to_scheduled_captions_for_every_network() {
    let (app, sandbox) = spawn_app_with_sandbox().await;
    app.signed_up_user().await;
    let _worker = app.spawn_worker();
    connect(&app, &sandbox, Platform::Shopify).await;
    for p in SOCIAL {
        connect(&app, &sandbox, p).await;
    }
    eventually("the shop is synced", Duration::from_secs(120), || async {
        app.scalar_i64("SELECT count(*) FROM catalog_syncs WHERE status = 'succeeded'")
            .await
            > 0
    })
    .await;
    let product: Uuid = app
        .scalar_string("SELECT id::text FROM products WHERE price > 0 AND url IS NOT NULL AND description <> '' ORDER BY title LIMIT 1")
        .await
        .unwrap()
        .parse()
        .unwrap();
    let title = app
        .scalar_string(&format!(
            "SELECT title FROM products WHERE id = '{product}'"
        ))
        .await
        .unwrap();

    // Found by the picker's search.
    let query: String = url::form_urlencoded::byte_serialize(title.as_bytes()).collect();
    let results = app
        .client
        .get(app.url(&format!("/studio/products?product_q={query}")))
        .header("hx-request", "true")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        results.contains(&format!("value=\"{product}\"")),
        "{title} is offered"
    );

    // "Create post" on the product leads to the Studio with it picked.
    let res = app
        .post_form(&format!("/products/{product}/studio"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let studio = location(&res);
    assert!(
        studio.starts_with(&format!("/studio?product_id={product}")),
        "{studio}"
    );
    // The shop's photo lives on a CDN this machine can't reach, so the seller picks their own.
    let photo = crate::media::stored(&app, "bowl.jpg", crate::media::jpeg(1080, 1080, 3)).await;
    let mut form = studio_form(&app, &studio).await;
    form.push(("media_id".into(), photo.to_string()));
    let ticked: Vec<&str> = form
        .iter()
        .filter(|(k, _)| k == "platform")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(
        ticked.len(),
        7,
        "every connected network is ticked: {ticked:?}"
    );

    let (status, html) = press(&app, "/studio", &form, "generate").await;
    assert_eq!(status, StatusCode::OK);
    for p in SOCIAL {
        assert!(caption(&html, p).contains(&title), "{p}");
    }
    assert!(
        !texts(&html, ".authenticity-change").is_empty()
            || html.contains("Nothing: it already read like you.")
    );

    // Proofread one, add emoji to another, regenerate a third.
    let mut form = fields_of(&html, "form#studio");
    let fb = format!("{} teh best.", caption(&html, Platform::Facebook));
    set(&mut form, "caption.facebook", &fb);
    let (_, html) = press(&app, "/studio", &form, "proofread:facebook").await;
    let form = fields_of(&html, "form#studio");
    let (_, html) = press(&app, "/studio", &form, "apply:facebook").await;
    assert!(caption(&html, Platform::Facebook).ends_with("the best."));
    let form = fields_of(&html, "form#studio");
    let (_, html) = press(&app, "/studio", &form, "emoji:instagram").await;
    assert!(card_texts(&html, Platform::Instagram, ".studio-note")[0].starts_with("Added"));
    let x_before = caption(&html, Platform::X);
    let form = fields_of(&html, "form#studio");
    let (_, html) = press(&app, "/studio", &form, "regenerate:x").await;
    assert_ne!(caption(&html, Platform::X), x_before);

    // YouTube takes videos; its card says so, and the seller leaves it out.
    assert!(
        card_texts(&html, Platform::Youtube, ".issue-error")
            .iter()
            .any(|i| i.contains("video")),
        "{:?}",
        card_texts(&html, Platform::Youtube, ".issue")
    );
    let form = fields_of(&html, "form#studio");
    let (_, html) = press(&app, "/studio", &form, "remove:youtube").await;
    assert!(texts(&html, "#card-youtube").is_empty());
    let captions: Vec<(Platform, String)> = SOCIAL[..6]
        .iter()
        .map(|&p| (p, caption(&html, p)))
        .collect();

    // "Schedule" opens the composer with every caption and the photo.
    let form = fields_of(&html, "form#studio");
    let (status, composer) = press(&app, "/studio", &form, "schedule").await;
    assert_eq!(status, StatusCode::OK);
    let mut post_form = fields_of(&composer, "form#composer");
    let targets = post_form.iter().filter(|(k, _)| k == "target").count();
    assert_eq!(targets, 6, "one account per network is ticked");
    // TikTok asks who may see the post; the seller chooses.
    let privacy: Vec<String> = post_form
        .iter()
        .filter(|(k, v)| k.ends_with(".privacy_level") && v.is_empty())
        .map(|(k, _)| k.clone())
        .collect();
    for name in privacy {
        let choice = {
            let doc = scraper::Html::parse_document(&composer);
            let sel = scraper::Selector::parse(&format!("select[name=\"{name}\"] option")).unwrap();
            doc.select(&sel)
                .filter_map(|o| o.value().attr("value").map(str::to_owned))
                .find(|v| !v.is_empty())
                .unwrap()
        };
        set(&mut post_form, &name, &choice);
    }
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    set(&mut post_form, "date", &tomorrow);
    set(&mut post_form, "time", "10:00");
    let (status, page) = press(&app, "/posts", &post_form, "schedule").await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "scheduled: {:?}",
        texts(&page, ".field-error, .issue-error")
    );

    let post = app
        .scalar_string("SELECT id::text FROM posts")
        .await
        .unwrap();
    assert_eq!(
        app.scalar_string(&format!(
            "SELECT status::text FROM posts WHERE id = '{post}'"
        ))
        .await
        .as_deref(),
        Some("scheduled")
    );
    assert_eq!(
        app.scalar_string(&format!(
            "SELECT product_id::text FROM posts WHERE id = '{post}'"
        ))
        .await,
        Some(product.to_string())
    );
    for (p, text) in captions {
        let stored = app
            .scalar_string(&format!(
                "SELECT t.caption FROM post_targets t JOIN connections c ON c.id = t.connection_id WHERE t.post_id = '{post}' AND c.platform = '{p}'"
            ))
            .await;
        assert_eq!(stored.as_deref(), Some(text.as_str()), "{p}");
    }
}

// ---- the API ----

async fn api(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value, Option<String>) {
    let res = app
        .client
        .post(app.url("/api/v1/captions"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let retry = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, res.json().await.unwrap_or(Value::Null), retry)
}

#[tokio::test]
async fn the_captions_api_writes_one_caption_per_network_with_what_changed_and_names_bad_fields() {
    let app = spawn_app().await;
    let (user, mug) = seller_with_mug(&app).await;
    let token = app.api_token_of(user).await;
    let (status, body, _) = api(
        &app,
        &token,
        json!({"platforms": ["x", "pinterest"], "product_id": mug, "tone": "playful"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["provider"], "builtin");
    for p in ["x", "pinterest"] {
        assert!(
            body["captions"][p]["text"]
                .as_str()
                .unwrap()
                .contains("Speckled Mug"),
            "{body}"
        );
        assert!(body["captions"][p]["changes"].is_array());
    }
    // The same request gives the same text; another variation a different one.
    let (_, again, _) = api(
        &app,
        &token,
        json!({"platforms": ["x"], "product_id": mug, "tone": "playful"}),
    )
    .await;
    assert_eq!(again["captions"]["x"], body["captions"]["x"]);
    let (_, other, _) = api(
        &app,
        &token,
        json!({"platforms": ["x"], "product_id": mug, "tone": "playful", "variation": 1}),
    )
    .await;
    assert_ne!(
        other["captions"]["x"]["text"],
        body["captions"]["x"]["text"]
    );

    for (request, field) in [
        (
            json!({"platforms": [], "brief": "New candles"}),
            "platforms",
        ),
        (
            json!({"platforms": ["shopify"], "brief": "New candles"}),
            "platforms",
        ),
        (
            json!({"platforms": ["myspace"], "brief": "New candles"}),
            "platforms",
        ),
        (json!({"platforms": ["x"]}), "product_id"),
        (
            json!({"platforms": ["x"], "product_id": Uuid::now_v7()}),
            "product_id",
        ),
        (
            json!({"platforms": ["x"], "brief": "Hi", "tone": "sarcastic"}),
            "tone",
        ),
        (
            json!({"platforms": ["x"], "brief": "Hi", "language": "French"}),
            "language",
        ),
        (
            json!({"platforms": ["x"], "brief": "Hi", "media_ids": [Uuid::now_v7()]}),
            "media_ids",
        ),
    ] {
        let (status, body, _) = api(&app, &token, request.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{request}: {body}"
        );
        assert!(
            body["error"]["fields"][field].is_string(),
            "{request}: {body}"
        );
    }
    let (status, body, _) = api(
        &app,
        &token,
        json!({"platforms": ["x"], "brief": "Hi", "colour": "red"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

// ---- Gemini (the sandbox's) ----

pub(crate) async fn with_gemini(
    extra: impl FnOnce(&mut std::collections::BTreeMap<String, String>),
) -> (TestApp, TestSandbox) {
    let sandbox = TestSandbox::start().await;
    let url = sandbox.url.clone();
    let app = spawn_app_with(move |env| {
        env.insert("SANDBOX_URL".into(), url);
        env.insert("GEMINI_API_KEY".into(), "sandbox-gemini-key".into());
        env.insert("GEMINI_TIMEOUT_SECS".into(), "2".into());
        extra(env);
    })
    .await;
    (app, sandbox)
}

async fn gemini_fault(sandbox: &TestSandbox, fault: Value) {
    let res = reqwest::Client::new()
        .post(format!("{}/_sandbox/gemini/faults", sandbox.url))
        .json(&fault)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "the fault is accepted");
}

#[tokio::test]
async fn with_a_key_gemini_writes_the_captions_and_checks_the_photos() {
    let (app, sandbox) = with_gemini(|_| {}).await;
    let (_, mug) = seller_with_mug(&app).await;
    let photo = crate::media::stored(&app, "mug.jpg", crate::media::jpeg(64, 64, 7)).await;
    let mut form = studio_form(&app, &format!("/studio?product_id={mug}&media={photo}")).await;
    assert_eq!(
        get(&form, "media_id"),
        Some(photo.to_string().as_str()),
        "the photo is picked"
    );
    form.retain(|(k, _)| k != "platform");
    form.push(("platform".into(), "x".into()));
    form.push(("platform".into(), "instagram".into()));
    let (status, html) = press(&app, "/studio", &form, "generate").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        texts(&html, "#studio-notice").join("")
    );
    assert_eq!(texts(&html, "#provider-label"), ["Gemini"]);
    assert!(!caption(&html, Platform::X).is_empty());
    assert!(!caption(&html, Platform::Instagram).is_empty());
    let checks = texts(&html, "#image-checks .image-check");
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert!(!checks[0].contains("not checked"), "{checks:?}");

    // Gemini saw the photo, inline.
    let requests = sandbox.sandbox.gemini_requests();
    let bodies: Vec<String> = requests.iter().map(|r| r.to_string()).collect();
    assert!(
        bodies.iter().any(|b| b.contains("image/jpeg")),
        "{bodies:?}"
    );
}

#[tokio::test]
async fn gemini_failures_are_explained_and_the_seller_s_text_is_kept() {
    let (app, sandbox) = with_gemini(|_| {}).await;
    let (_, mug) = seller_with_mug(&app).await;
    let (_, html) = generate(&app, mug, &[Platform::X]).await;
    let mut form = fields_of(&html, "form#studio");
    set(
        &mut form,
        "caption.x",
        "My edited caption, kept whatever happens.",
    );

    gemini_fault(
        &sandbox,
        json!({"fault": "rate_limited", "retry_delay_secs": 30}),
    )
    .await;
    let (_, html) = press(&app, "/studio", &form, "regenerate:x").await;
    assert!(card_texts(&html, Platform::X, ".studio-error")[0].contains("30 s"));
    assert_eq!(
        caption(&html, Platform::X),
        "My edited caption, kept whatever happens."
    );

    gemini_fault(&sandbox, json!({"fault": "safety"})).await;
    let (_, html) = press(&app, "/studio", &form, "regenerate:x").await;
    assert!(card_texts(&html, Platform::X, ".studio-error")[0].contains("declined"));
    assert_eq!(
        caption(&html, Platform::X),
        "My edited caption, kept whatever happens."
    );

    gemini_fault(&sandbox, json!({"fault": "timeout", "hang_secs": 5})).await;
    let (_, html) = press(&app, "/studio", &form, "regenerate:x").await;
    assert!(card_texts(&html, Platform::X, ".studio-error")[0].contains("too long"));
    assert_eq!(
        caption(&html, Platform::X),
        "My edited caption, kept whatever happens."
    );

    // Generating again when Gemini fails keeps every card.
    gemini_fault(&sandbox, json!({"fault": "unavailable"})).await;
    let (_, html) = press(&app, "/studio", &form, "generate").await;
    assert!(!texts(&html, "#studio-notice").is_empty());
    assert_eq!(
        caption(&html, Platform::X),
        "My edited caption, kept whatever happens."
    );
}

#[tokio::test]
async fn a_retired_model_is_reported_as_a_configuration_problem() {
    let (app, _sandbox) = with_gemini(|env| {
        env.insert("GEMINI_MODEL".into(), "gemini-2.5-flash".into());
    })
    .await;
    let (user, mug) = seller_with_mug(&app).await;
    let token = app.api_token_of(user).await;
    let (status, body, _) = api(&app, &token, json!({"platforms": ["x"], "product_id": mug})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "ai_misconfigured");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("GEMINI_MODEL"),
        "{body}"
    );
}

#[tokio::test]
async fn gemini_calls_are_limited_per_seller_per_hour_and_the_wait_is_named() {
    let (app, sandbox) = with_gemini(|env| {
        env.insert("AI_RATE_LIMIT_PER_HOUR".into(), "2".into());
    })
    .await;
    let (user, mug) = seller_with_mug(&app).await;
    let token = app.api_token_of(user).await;
    for _ in 0..2 {
        let (status, body, _) =
            api(&app, &token, json!({"platforms": ["x"], "product_id": mug})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["provider"], "gemini");
    }
    let (status, body, retry) =
        api(&app, &token, json!({"platforms": ["x"], "product_id": mug})).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let secs: u64 = retry.expect("Retry-After is set").parse().unwrap();
    assert!(secs > 0 && secs <= 3600);
    assert_eq!(
        sandbox.sandbox.gemini_requests().len(),
        2,
        "the third call never reached Gemini"
    );

    // Gemini's own 429 says when to come back, too.
    let (app2, sandbox2) = with_gemini(|_| {}).await;
    let (user2, mug2) = seller_with_mug(&app2).await;
    let token2 = app2.api_token_of(user2).await;
    gemini_fault(
        &sandbox2,
        json!({"fault": "rate_limited", "retry_delay_secs": 32}),
    )
    .await;
    let (status, body, retry) = api(
        &app2,
        &token2,
        json!({"platforms": ["x"], "product_id": mug2}),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(retry.as_deref(), Some("32"));
    assert!(body["error"]["message"].as_str().unwrap().contains("32 s"));
}

#[tokio::test]
async fn with_gemini_the_card_tools_use_it_and_a_photo_that_does_not_match_is_only_a_warning() {
    let (app, sandbox) = with_gemini(|_| {}).await;
    let (_, mug) = seller_with_mug(&app).await;
    let good = crate::media::stored(&app, "mug.jpg", crate::media::jpeg(64, 64, 1)).await;
    let odd = crate::media::stored(
        &app,
        "teapot.jpg",
        [
            crate::media::jpeg(64, 64, 2),
            picscripter::sandbox::MISMATCH_MARKER.to_vec(),
        ]
        .concat(),
    )
    .await;
    let mut form = studio_form(
        &app,
        &format!("/studio?product_id={mug}&media={good},{odd}"),
    )
    .await;
    form.retain(|(k, _)| k != "platform");
    form.push(("platform".into(), "facebook".into()));
    let (status, html) = press(&app, "/studio", &form, "generate").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(texts(&html, "#image-checks .image-matches").len(), 1);
    let warning = texts(&html, "#image-checks .image-mismatch");
    assert_eq!(warning.len(), 1, "{warning:?}");
    assert!(warning[0].contains("teapot.jpg") && warning[0].contains("you can still post it"));

    let calls = sandbox.sandbox.gemini_requests().len();
    let first = caption(&html, Platform::Facebook);
    let form = fields_of(&html, "form#studio");
    let (_, html) = press(&app, "/studio", &form, "regenerate:facebook").await;
    assert_ne!(
        caption(&html, Platform::Facebook),
        first,
        "Gemini's new take"
    );
    let form = fields_of(&html, "form#studio");
    let (_, html) = press(&app, "/studio", &form, "shorten:facebook").await;
    assert!(card_texts(&html, Platform::Facebook, ".studio-error").is_empty());
    let form = fields_of(&html, "form#studio");
    let (_, html) = press(&app, "/studio", &form, "proofread:facebook").await;
    assert!(card_texts(&html, Platform::Facebook, ".studio-error").is_empty());
    assert_eq!(
        sandbox.sandbox.gemini_requests().len(),
        calls + 3,
        "regenerate, shorten and proofread each asked Gemini once"
    );
}
