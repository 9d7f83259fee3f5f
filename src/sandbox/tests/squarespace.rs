use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;

const P: Platform = Platform::Squarespace;

fn authorize_url(h: &Harness, offline: bool) -> String {
    let cid = id(P);
    let mut pairs = vec![
        ("client_id", cid.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", "website.products.read,website.inventory.read"),
        ("state", "sq"),
    ];
    if offline {
        pairs.push(("access_type", "offline"));
    }
    format!(
        "{}?{}",
        h.url(
            P,
            "login.squarespace.com/api/1/login/oauth/provider/authorize"
        ),
        query(&pairs)
    )
}

async fn tokens(h: &Harness, offline: bool) -> Value {
    let form = h.consent(&authorize_url(h, offline)).await;
    assert_eq!(form.field("account"), Some("maya@mapleandmoss.example"));
    let code = param(&h.decide(&form, "allow", None).await, "code").unwrap();
    let (status, body) = h
        .get_json(
            h.http
                .post(h.url(P, "login.squarespace.com/api/1/login/oauth/provider/tokens"))
                .json(&json!({
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": REDIRECT,
                    "client_id": id(P),
                    "client_secret": secret(P),
                })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn a_squarespace_site_connects_and_the_app_reads_the_website() {
    let h = Harness::start().await;
    let token = tokens(&h, true).await;
    assert_eq!(token["token_type"], "bearer");
    let now = h.sandbox.now().timestamp();
    let access_at = token["access_token_expires_at"].as_i64().unwrap();
    assert!((now + 1795..=now + 1800).contains(&access_at));
    let refresh_at = token["refresh_token_expires_at"].as_i64().unwrap();
    assert!((now + 604_795..=now + 604_800).contains(&refresh_at));
    let (status, site) = h
        .get_json(
            h.http
                .get(h.url(P, "api.squarespace.com/1.0/authorization/website"))
                .header("user-agent", "Picscripter tests")
                .bearer_auth(token["access_token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{site}");
    assert_eq!(site["siteTitle"], "Maple & Moss Ceramics");
    assert_eq!(site["identifier"], "maple-and-moss");
    assert_eq!(site["url"], "https://maple-and-moss.squarespace.com");
    assert!(site["id"].is_string());
}

#[tokio::test]
async fn a_squarespace_api_request_without_a_user_agent_is_rejected() {
    let h = Harness::start().await;
    let token = tokens(&h, false).await;
    let (status, body) = h
        .get_json(
            h.http
                .get(h.url(P, "api.squarespace.com/1.0/authorization/website"))
                .bearer_auth(token["access_token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["type"], "INVALID_REQUEST_ERROR");
    for key in ["subtype", "message", "details", "contextId"] {
        assert!(body.get(key).is_some(), "{key} is always present: {body}");
    }
    assert!(body["details"].is_null());
}

#[tokio::test]
async fn squarespace_takes_basic_auth_and_a_form_and_only_offline_gets_a_refresh_token() {
    let h = Harness::start().await;
    let code = param(&h.allow(&authorize_url(&h, false)).await, "code").unwrap();
    let (status, token) = h
        .get_json(
            h.http
                .post(h.url(P, "login.squarespace.com/api/1/login/oauth/provider/tokens"))
                .header("authorization", basic(P))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                ]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert!(token.get("refresh_token").is_none());
}

#[tokio::test]
async fn a_squarespace_refresh_rotates_the_refresh_token() {
    let h = Harness::start().await;
    let token = tokens(&h, true).await;
    let old = token["refresh_token"].as_str().unwrap();
    let refresh = |rt: &str| {
        h.http
            .post(h.url(P, "login.squarespace.com/api/1/login/oauth/provider/tokens"))
            .header("authorization", basic(P))
            .json(&json!({ "grant_type": "refresh_token", "refresh_token": rt }))
    };
    let (status, fresh) = h.get_json(refresh(old)).await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    assert_ne!(fresh["refresh_token"], old);
    let (status, body) = h.get_json(refresh(old)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["type"], "INVALID_REQUEST_ERROR");
}
