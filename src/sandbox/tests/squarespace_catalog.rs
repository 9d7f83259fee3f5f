use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;

const P: Platform = Platform::Squarespace;
const SITE: &str = "maple-and-moss";

fn token(h: &Harness) -> String {
    h.token(P, "maya@mapleandmoss.example", &["website.products.read"])
}

async fn get(h: &Harness, token: &str, version: &str, query: &str) -> (StatusCode, Value) {
    h.get_json(
        h.http
            .get(h.url(
                P,
                &format!("api.squarespace.com/{version}/commerce/products?{query}"),
            ))
            .header("user-agent", "picscripter-tests/1.0")
            .bearer_auth(token),
    )
    .await
}

/// Every product, following cursors alone; the number of pages too.
async fn all(h: &Harness, token: &str, version: &str, first: &str) -> (Vec<Value>, usize) {
    let mut out = Vec::new();
    let mut pages = 0;
    let mut query = first.to_owned();
    loop {
        let (status, body) = get(h, token, version, &query).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        pages += 1;
        let products = body["products"].as_array().unwrap();
        assert!(products.len() <= 50);
        out.extend(products.iter().cloned());
        let pagination = &body["pagination"];
        if pagination["hasNextPage"] == false {
            assert!(pagination["nextPageCursor"].is_null());
            assert!(pagination["nextPageUrl"].is_null());
            break;
        }
        let cursor = pagination["nextPageCursor"].as_str().unwrap();
        assert_eq!(cursor.len(), 32);
        assert!(
            pagination["nextPageUrl"]
                .as_str()
                .unwrap()
                .ends_with(&format!("?cursor={cursor}"))
        );
        query = format!("cursor={cursor}");
    }
    (out, pages)
}

#[tokio::test]
async fn every_product_is_listed_once_fifty_a_page_in_modified_order() {
    let h = Harness::start().await;
    let t = token(&h);
    let (products, pages) = all(&h, &t, "1.1", "type=PHYSICAL,DIGITAL").await;
    assert_eq!((products.len(), pages), (1200, 24));
    let mut ids: Vec<&str> = products.iter().map(|p| p["id"].as_str().unwrap()).collect();
    let modified: Vec<&str> = products
        .iter()
        .map(|p| p["modifiedOn"].as_str().unwrap())
        .collect();
    assert!(modified.windows(2).all(|w| w[0] <= w[1]));
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 1200);
    // 1.0 only knows physical products: every 20th is digital.
    let (physical, _) = all(&h, &t, "1.0", "").await;
    assert_eq!(physical.len(), 1140);
    assert!(physical.iter().all(|p| p["type"] == "PHYSICAL"));
}

#[tokio::test]
async fn a_catalog_that_ends_on_a_page_boundary_says_so_on_the_last_page() {
    let h = Harness::start_with(|c| c.products_per_shop = 100).await;
    let t = token(&h);
    let (products, pages) = all(&h, &t, "v2", "type=PHYSICAL,DIGITAL,SERVICE,GIFT_CARD").await;
    assert_eq!((products.len(), pages), (100, 2));
}

#[tokio::test]
async fn products_look_like_the_documented_example() {
    let h = Harness::start_with(|c| c.products_per_shop = 150).await;
    let t = token(&h);
    let (products, _) = all(&h, &t, "1.1", "type=PHYSICAL,DIGITAL").await;
    let p = &products[0];
    for key in [
        "id",
        "type",
        "storePageId",
        "name",
        "description",
        "url",
        "urlSlug",
        "tags",
        "isVisible",
        "seoOptions",
        "variantAttributes",
        "variants",
        "images",
        "createdOn",
        "modifiedOn",
    ] {
        assert!(p.get(key).is_some(), "{key} missing from {p}");
    }
    let priced = products
        .iter()
        .find(|p| !p["variants"][0]["pricing"]["basePrice"].is_null())
        .unwrap();
    let value = priced["variants"][0]["pricing"]["basePrice"]["value"]
        .as_str()
        .expect("money value is a decimal string");
    assert!(value.contains('.'));
    assert!(
        products
            .iter()
            .any(|p| p["variants"][0]["pricing"]["basePrice"].is_null())
    );
    assert!(products.iter().any(|p| p["images"].is_null()));
    assert!(
        products
            .iter()
            .any(|p| p["images"].as_array().is_some_and(|a| a.len() > 2))
    );
    assert!(
        products
            .iter()
            .any(|p| p["description"].as_str().unwrap().len() > 100_000)
    );
    assert!(products.iter().any(|p| {
        p["name"]
            .as_str()
            .unwrap()
            .contains("\u{201c}Sp\u{e9}cial\u{201d}")
    }));
}

#[tokio::test]
async fn requests_are_checked_as_documented() {
    let h = Harness::start().await;
    let t = token(&h);
    let (status, body) = get(&h, &t, "1.1", "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["subtype"], "MISSING_ARGUMENT");
    let (status, body) = get(
        &h,
        &t,
        "1.1",
        "type=PHYSICAL&modifiedAfter=2026-01-01T00:00:00Z",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (_, body) = get(&h, &t, "1.1", "type=PHYSICAL").await;
    let cursor = body["pagination"]["nextPageCursor"].as_str().unwrap();
    let (status, body) = get(&h, &t, "1.1", &format!("cursor={cursor}&type=PHYSICAL")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("cursor"));
    let (status, _) = get(&h, &t, "1.1", "cursor=0123456789abcdef0123456789abcdef").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = get(&h, "nope", "1.1", "type=PHYSICAL").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["contextId"].is_string());
    let res = h
        .http
        .get(h.url(P, "api.squarespace.com/1.1/commerce/products?type=PHYSICAL"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let (_, body) = json_of(res).await;
    assert_eq!(body["subtype"], "MISSING_USER_AGENT");
}

#[tokio::test]
async fn over_the_per_minute_allowance_the_site_cools_down_for_a_minute() {
    let h = Harness::start_with(|c| c.squarespace_requests_per_minute = 5).await;
    let t = token(&h);
    for _ in 0..5 {
        let (status, _) = get(&h, &t, "1.0", "").await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, body) = get(&h, &t, "1.0", "").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["type"], "TOO_MANY_REQUESTS");
    // Still cooling down half a minute later, even though a new minute window began.
    h.sandbox.advance_clock(45);
    let (status, _) = get(&h, &t, "1.0", "").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    h.sandbox.advance_clock(16);
    let (status, _) = get(&h, &t, "1.0", "").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn modified_after_and_before_find_the_changes_for_an_incremental_sync() {
    let h = Harness::start_with(|c| c.products_per_shop = 300).await;
    let iso =
        |d: chrono::DateTime<chrono::Utc>| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let since = h.sandbox.now();
    h.sandbox.advance_clock(6 * 3600);
    // Minted after the jump: sandbox access tokens last an hour.
    let t = token(&h);
    let res = h
        .http
        .post(format!("{}/_sandbox/catalog/squarespace/{SITE}/4", h.base))
        .json(&json!({ "delete": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = h
        .http
        .post(format!("{}/_sandbox/catalog/squarespace/{SITE}/5", h.base))
        .json(&json!({ "price": "" , "title": "No price yet" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let until = h.sandbox.now() + chrono::Duration::seconds(5);
    let window = format!(
        "type=PHYSICAL,DIGITAL&modifiedAfter={}&modifiedBefore={}",
        iso(since),
        iso(until)
    );
    let (changed, _) = all(&h, &t, "1.1", &window).await;
    assert!(
        changed.len() > 10 && changed.len() < 150,
        "{} changed",
        changed.len()
    );
    let unpriced = changed
        .iter()
        .find(|p| p["name"] == "No price yet")
        .unwrap();
    assert!(unpriced["variants"][0]["pricing"]["basePrice"].is_null());
    let (everything, _) = all(&h, &t, "1.1", "type=PHYSICAL,DIGITAL").await;
    assert_eq!(everything.len(), 299);
}

#[tokio::test]
async fn faults_apply_to_products() {
    let h = Harness::start().await;
    let t = token(&h);
    h.fault(json!({ "platform": "squarespace", "path": "commerce/products", "latency_ms": 50, "status": 500, "times": 1 }))
        .await;
    let (status, body) = get(&h, &t, "1.0", "").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body["contextId"].is_string());
    let (status, _) = get(&h, &t, "1.0", "").await;
    assert_eq!(status, StatusCode::OK);
}
