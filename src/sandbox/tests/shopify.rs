use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;

use super::*;

const P: Platform = Platform::Shopify;
const SHOP: &str = "maple-and-moss.myshopify.com";

fn authorize_url(h: &Harness, shop: &str) -> String {
    let cid = id(P);
    format!(
        "{}?{}",
        h.url(P, &format!("{shop}/admin/oauth/authorize")),
        query(&[
            ("client_id", &cid),
            ("scope", "read_products,read_content"),
            ("redirect_uri", REDIRECT),
            ("state", "nonce-1")
        ])
    )
}

async fn exchange(h: &Harness, shop: &str, body: Value) -> (StatusCode, Value) {
    h.get_json(
        h.http
            .post(h.url(P, &format!("{shop}/admin/oauth/access_token")))
            .json(&body),
    )
    .await
}

async fn access_token(h: &Harness, shop: &str, expiring: bool) -> Value {
    let back = h.allow(&authorize_url(h, shop)).await;
    let mut body = json!({ "client_id": id(P), "client_secret": secret(P), "code": param(&back, "code").unwrap() });
    if expiring {
        body["expiring"] = json!(1);
    }
    let (status, token) = exchange(h, shop, body).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    token
}

async fn graphql(h: &Harness, version: &str, token: &str, query_text: &str) -> reqwest::Response {
    h.http
        .post(h.url(P, &format!("{SHOP}/admin/api/{version}/graphql.json")))
        .header("x-shopify-access-token", token)
        .json(&json!({ "query": query_text }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_shopify_store_connects_with_a_signed_callback_and_the_app_reads_the_shop() {
    let h = Harness::start().await;
    let form = h.consent(&authorize_url(&h, SHOP)).await;
    assert!(form.html.contains("See your store\u{2019}s products"));
    assert_eq!(form.field("account"), Some("maya@mapleandmoss.example"));
    let back = h.decide(&form, "allow", None).await;

    let mut pairs: Vec<(String, String)> = back.query_pairs().into_owned().collect();
    let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["code", "hmac", "host", "shop", "state", "timestamp"]);
    assert_eq!(param(&back, "shop").as_deref(), Some(SHOP));
    assert_eq!(
        param(&back, "host").unwrap(),
        STANDARD.encode(format!("{SHOP}/admin")),
    );
    let hmac_value = param(&back, "hmac").unwrap();
    pairs.retain(|(k, _)| k != "hmac");
    pairs.sort();
    let message = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret(P).as_bytes()).unwrap();
    mac.update(message.as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(hmac_value, expected);

    let (status, token) = exchange(
        &h,
        SHOP,
        json!({ "client_id": id(P), "client_secret": secret(P), "code": param(&back, "code").unwrap() }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert_eq!(token["scope"], "read_products,read_content");
    assert!(
        token.get("expires_in").is_none(),
        "offline tokens do not expire"
    );
    let access = token["access_token"].as_str().unwrap();
    assert!(access.starts_with("shpat_"));

    let res = graphql(
        &h,
        "2026-01",
        access,
        "{ shop { id name myshopifyDomain url email currencyCode } }",
    )
    .await;
    assert_eq!(res.headers()["x-shopify-api-version"], "2026-01");
    let (status, body) = json_of(res).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let shop = &body["data"]["shop"];
    assert_eq!(shop["name"], "Maple & Moss Ceramics");
    assert_eq!(shop["myshopifyDomain"], SHOP);
    assert_eq!(shop["url"], format!("https://{SHOP}"));
    assert_eq!(shop["email"], "maya@mapleandmoss.example");
    assert_eq!(shop["currencyCode"], "USD");
    assert!(
        shop["id"]
            .as_str()
            .unwrap()
            .starts_with("gid://shopify/Shop/")
    );
    assert!(body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"].is_f64());

    let res = graphql(&h, "2024-01", access, "query { shop { name } }").await;
    assert_eq!(
        res.headers()["x-shopify-api-version"],
        "2025-10",
        "falls forward"
    );
}

#[tokio::test]
async fn shopify_graphql_rejects_unknown_fields_and_bad_tokens() {
    let h = Harness::start().await;
    let token = access_token(&h, SHOP, false).await;
    let access = token["access_token"].as_str().unwrap();
    let (status, body) =
        json_of(graphql(&h, "2026-04", access, "{ shop { name colour } }").await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.get("data").is_none());
    assert_eq!(body["errors"][0]["extensions"]["code"], "undefinedField");
    assert_eq!(body["errors"][0]["path"], json!(["shop", "colour"]));

    let (status, body) =
        json_of(graphql(&h, "2026-04", "shpat_nope", "{ shop { name } }").await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"})
    );

    // A token belongs to its shop.
    let other = access_token(&h, "another-shop.myshopify.com", false).await;
    let (status, _) = json_of(
        graphql(
            &h,
            "2026-04",
            other["access_token"].as_str().unwrap(),
            "{ shop { name } }",
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_expiring_shopify_token_refreshes_and_the_refresh_token_rotates() {
    let h = Harness::start().await;
    let token = access_token(&h, SHOP, true).await;
    assert_eq!(token["expires_in"], 3600);
    assert_eq!(token["refresh_token_expires_in"], 7_776_000);
    let old = token["refresh_token"].as_str().unwrap();
    let body = |rt: &str| json!({ "client_id": id(P), "client_secret": secret(P), "grant_type": "refresh_token", "refresh_token": rt });
    let (status, fresh) = exchange(&h, SHOP, body(old)).await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    assert_ne!(fresh["refresh_token"], old);
    let (status, dead) = exchange(&h, SHOP, body(old)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{dead}");
    h.sandbox.advance_clock(3601);
    let (status, _) = json_of(
        graphql(
            &h,
            "2026-07",
            fresh["access_token"].as_str().unwrap(),
            "{ shop { name } }",
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "expired after an hour");
}

#[tokio::test]
async fn only_myshopify_hosts_are_shops() {
    let h = Harness::start().await;
    let res = h
        .http
        .get(authorize_url(&h, "example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = h
        .http
        .get(authorize_url(&h, "-bad.myshopify.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
