use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;

const P: Platform = Platform::Etsy;
/// The seed persona's shop (`mayamoss`).
const SHOP: &str = "21382972";

fn api_key() -> String {
    format!("{}:{}", id(P), secret(P))
}

async fn get(h: &Harness, path_and_query: &str) -> reqwest::Response {
    h.http
        .get(h.url(P, &format!("api.etsy.com/v3/application/{path_and_query}")))
        .header("x-api-key", api_key())
        .send()
        .await
        .unwrap()
}

/// Every active listing, `limit` at a time; the number of requests too.
async fn all_active(h: &Harness, limit: usize) -> (Vec<Value>, usize) {
    let mut out = Vec::new();
    let mut requests = 0;
    loop {
        let res = get(
            h,
            &format!(
                "shops/{SHOP}/listings/active?limit={limit}&offset={}",
                out.len()
            ),
        )
        .await;
        requests += 1;
        let (status, body) = json_of(res).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let results = body["results"].as_array().unwrap();
        let count = body["count"].as_u64().unwrap() as usize;
        out.extend(results.iter().cloned());
        if results.is_empty() || out.len() >= count {
            break;
        }
        // Stay under 10 requests a second.
        h.sandbox.advance_clock(1);
    }
    (out, requests)
}

#[tokio::test]
async fn active_listings_page_by_offset_to_the_last_one() {
    let h = Harness::start().await;
    let (listings, requests) = all_active(&h, 100).await;
    assert_eq!(listings.len(), 1200 - 1200 / 40);
    assert_eq!(requests, 12);
    let mut ids: Vec<u64> = listings
        .iter()
        .map(|l| l["listing_id"].as_u64().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), listings.len());
    // Newest first by default.
    assert!(listings[0]["created_timestamp"].as_i64() > listings[1]["created_timestamp"].as_i64());
    assert!(listings.iter().all(|l| l["state"] == "active"));
    // No images on this endpoint, and prices in minor units.
    assert!(listings[0].get("images").is_none());
    let priced = listings.iter().find(|l| !l["price"].is_null()).unwrap();
    assert_eq!(priced["price"]["divisor"], 100);
    assert_eq!(priced["price"]["currency_code"], "USD");
    assert!(priced["price"]["amount"].is_u64());
    assert!(listings.iter().any(|l| l["price"].is_null()));
}

#[tokio::test]
async fn a_count_that_ends_on_a_page_boundary_stops_cleanly() {
    let h = Harness::start_with(|c| c.products_per_shop = 205).await;
    // 205 products minus 5 drafts (every 40th) = exactly 200 active: two full pages, and the
    // client stops at offset ≥ count without an empty third request.
    let (listings, requests) = all_active(&h, 100).await;
    assert_eq!((listings.len(), requests), (200, 2));
    let count = listings.len();
    let res = get(
        &h,
        &format!("shops/{SHOP}/listings/active?limit=100&offset={count}"),
    )
    .await;
    let (_, body) = json_of(res).await;
    assert_eq!(body["count"], count);
    assert_eq!(body["results"].as_array().unwrap().len(), 0);
    // A shop of exactly 100 active listings in pages of 25: four full pages.
    let h = Harness::start_with(|c| c.products_per_shop = 102).await;
    let (listings, requests) = all_active(&h, 25).await;
    assert_eq!(listings.len(), 100, "102 products, 2 drafts");
    assert_eq!(requests, 4);
}

#[tokio::test]
async fn listings_with_images_come_from_the_oauth_endpoint_or_by_ids() {
    let h = Harness::start_with(|c| c.products_per_shop = 60).await;
    let token = h.token(P, "mayamoss", &["listings_r", "shops_r"]);
    let res = h
        .http
        .get(h.url(
            P,
            &format!("api.etsy.com/v3/application/shops/{SHOP}/listings?state=active&includes=Images&limit=100"),
        ))
        .header("x-api-key", api_key())
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(res).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let results = body["results"].as_array().unwrap();
    let with_images = results
        .iter()
        .find(|l| l["images"].as_array().unwrap().len() > 1)
        .unwrap();
    let image = &with_images["images"][0];
    assert!(
        image["url_fullxfull"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    assert!(image["url_570xN"].is_string());
    assert!(image["listing_image_id"].is_u64());
    assert!(
        results
            .iter()
            .any(|l| l["images"].as_array().unwrap().is_empty())
    );

    // includes is refused on findAllActiveListingsByShop.
    let res = get(&h, &format!("shops/{SHOP}/listings/active?includes=Images")).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // Without listings_r, or for someone else's shop: 403.
    h.sandbox.advance_clock(1);
    let weak = h.token(P, "mayamoss", &["shops_r"]);
    let res = h
        .http
        .get(h.url(
            P,
            &format!("api.etsy.com/v3/application/shops/{SHOP}/listings"),
        ))
        .header("x-api-key", api_key())
        .bearer_auth(&weak)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let ids: Vec<String> = results
        .iter()
        .take(3)
        .map(|l| l["listing_id"].to_string())
        .collect();
    let res = get(
        &h,
        &format!(
            "listings/batch?listing_ids={}&includes=Images",
            ids.join(",")
        ),
    )
    .await;
    let (status, body) = json_of(res).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["count"], 3);
    assert!(body["results"][0]["images"].is_array());

    let res = get(
        &h,
        &format!("listings/{}/images", with_images["listing_id"]),
    )
    .await;
    let (status, body) = json_of(res).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["count"],
        with_images["images"].as_array().unwrap().len()
    );
}

#[tokio::test]
async fn listings_need_the_keystring_and_shared_secret() {
    let h = Harness::start().await;
    let url = h.url(
        P,
        &format!("api.etsy.com/v3/application/shops/{SHOP}/listings/active"),
    );
    let res = h.http.get(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = h
        .http
        .get(&url)
        .header("x-api-key", id(P))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (_, body) = json_of(res).await;
    assert!(body["error"].as_str().unwrap().contains("shared secret"));
    let res = get(&h, "shops/12345/listings/active").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = get(&h, &format!("shops/{SHOP}/listings/active?limit=101")).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_per_second_allowance_then_429_with_the_documented_headers() {
    // A small allowance, so a slow, busy machine still fits it into one second (the default of
    // ten is Etsy's; the headers say whichever is configured).
    let h = Harness::start_with(|c| c.etsy_requests_per_second = 3).await;
    let mut seen_429 = None;
    let mut remaining = Vec::new();
    for _ in 0..25 {
        let res = get(&h, &format!("shops/{SHOP}/listings/active?limit=1")).await;
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            seen_429 = Some(res);
            break;
        }
        assert_eq!(res.headers()["x-limit-per-second"], "3");
        assert_eq!(res.headers()["x-limit-per-day"], "10000");
        remaining.push(
            res.headers()["x-remaining-this-second"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
    }
    let res = seen_429.expect("a 429 within 25 requests");
    assert_eq!(res.headers()["x-remaining-this-second"], "0");
    assert!(res.headers().contains_key("retry-after"));
    assert!(remaining.contains(&"0".to_owned()), "{remaining:?}");
    // The next second is a fresh allowance.
    h.sandbox.advance_clock(1);
    let res = get(&h, &format!("shops/{SHOP}/listings/active?limit=1")).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_daily_allowance_runs_out_and_comes_back_a_day_later() {
    let h = Harness::start_with(|c| c.etsy_requests_per_day = 3).await;
    for left in ["2", "1", "0"] {
        let res = get(&h, &format!("shops/{SHOP}/listings/active?limit=1")).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["x-remaining-today"], left);
        h.sandbox.advance_clock(2);
    }
    let res = get(&h, &format!("shops/{SHOP}/listings/active?limit=1")).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers()["x-remaining-today"], "0");
    let wait: i64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 3600, "{wait}");
    h.sandbox.advance_clock(24 * 3600);
    let res = get(&h, &format!("shops/{SHOP}/listings/active?limit=1")).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn sorting_by_updated_finds_the_listings_that_changed() {
    let h = Harness::start_with(|c| c.products_per_shop = 200).await;
    let before = h.sandbox.now().timestamp();
    h.sandbox.advance_clock(12 * 3600);
    h.sandbox
        .edit_product(
            P,
            SHOP,
            0,
            crate::sandbox::ProductEdit {
                title: Some("Étagère “special” & more".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let res = get(
        &h,
        &format!("shops/{SHOP}/listings/active?limit=100&sort_on=updated&sort_order=desc"),
    )
    .await;
    let (_, body) = json_of(res).await;
    let results = body["results"].as_array().unwrap();
    assert_eq!(results[0]["title"], "Étagère “special” & more");
    let changed = results
        .iter()
        .take_while(|l| l["last_modified_timestamp"].as_i64().unwrap() > before)
        .count();
    assert!(changed > 10 && changed < 100, "{changed} changed");
    // Some were taken off sale over three days and are inactive now.
    h.sandbox.advance_clock(3 * 24 * 3600);
    let (listings, _) = all_active(&h, 100).await;
    assert!(listings.len() < 200 - 5, "{}", listings.len());
    let _ = json!(null);
}

#[tokio::test]
async fn faults_apply_to_listings() {
    let h = Harness::start().await;
    h.fault(json!({ "platform": "etsy", "path": "/listings/active", "status": 503, "times": 1 }))
        .await;
    let res = get(&h, &format!("shops/{SHOP}/listings/active")).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let res = get(&h, &format!("shops/{SHOP}/listings/active")).await;
    assert_eq!(res.status(), StatusCode::OK);
}
