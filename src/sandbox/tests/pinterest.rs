use reqwest::StatusCode;
use serde_json::Value;

use super::*;

const P: Platform = Platform::Pinterest;

fn authorize_url(h: &Harness) -> String {
    let cid = id(P);
    format!(
        "{}?{}",
        h.url(P, "www.pinterest.com/oauth/"),
        query(&[
            ("client_id", &cid),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            (
                "scope",
                "boards:read,pins:read,pins:write,user_accounts:read"
            ),
            ("state", "pin"),
        ])
    )
}

async fn tokens(h: &Harness) -> Value {
    let form = h.consent(&authorize_url(h)).await;
    assert_eq!(form.field("account"), Some("mapleandmoss"));
    assert!(form.html.contains("Create and change your Pins"));
    let code = param(&h.decide(&form, "allow", None).await, "code").unwrap();
    let (status, body) = h
        .get_json(
            h.http
                .post(h.url(P, "api.pinterest.com/v5/oauth/token"))
                .header("authorization", basic(P))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                ]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn a_pinterest_user_connects_and_the_app_pages_through_their_boards() {
    let h = Harness::start().await;
    let token = tokens(&h).await;
    assert_eq!(token["token_type"], "bearer");
    assert_eq!(token["expires_in"], 2_592_000);
    assert_eq!(token["refresh_token_expires_in"], 5_184_000);
    assert_eq!(token["response_type"], "authorization_code");
    assert!(token["refresh_token_expires_at"].is_i64());
    let access = token["access_token"].as_str().unwrap();

    let (status, me) = h
        .get_json(
            h.http
                .get(h.url(P, "api.pinterest.com/v5/user_account"))
                .bearer_auth(access),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["username"], "mapleandmoss");
    assert_eq!(me["account_type"], "BUSINESS");
    assert!(
        me["profile_image"].is_string() && me["website_url"].is_string() && me["id"].is_string()
    );

    let mut names = Vec::new();
    let mut bookmark: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut url = format!("{}?page_size=2", h.url(P, "api.pinterest.com/v5/boards"));
        if let Some(b) = &bookmark {
            url.push_str(&format!("&bookmark={b}"));
        }
        let (status, page) = h.get_json(h.http.get(url).bearer_auth(access)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        pages += 1;
        for item in page["items"].as_array().unwrap() {
            assert_eq!(
                item["privacy"], "PUBLIC",
                "secret boards need boards:read_secret"
            );
            names.push(item["name"].as_str().unwrap().to_owned());
        }
        match page["bookmark"].as_str() {
            Some(b) => bookmark = Some(b.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 2);
    assert_eq!(
        names,
        [
            "Handmade Mugs",
            "Glaze Inspiration",
            "Studio Life",
            "Gift Ideas"
        ]
    );

    let (status, body) = h
        .get_json(
            h.http
                .get(format!(
                    "{}?page_size=251",
                    h.url(P, "api.pinterest.com/v5/boards")
                ))
                .bearer_auth(access),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["code"].is_i64() && body["message"].is_string());
}

#[tokio::test]
async fn a_pinterest_refresh_issues_a_new_refresh_token_and_the_old_one_still_works() {
    let h = Harness::start().await;
    let token = tokens(&h).await;
    let old = token["refresh_token"].as_str().unwrap();
    let refresh = |rt: &str| {
        h.http
            .post(h.url(P, "api.pinterest.com/v5/oauth/token"))
            .header("authorization", basic(P))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", rt)])
    };
    let (status, fresh) = h.get_json(refresh(old)).await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    assert_eq!(fresh["response_type"], "refresh_token");
    assert_ne!(fresh["refresh_token"], old);
    let (status, _) = h.get_json(refresh(old)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "continuous refresh keeps the old token until it expires"
    );
}

#[tokio::test]
async fn the_pinterest_token_endpoint_requires_http_basic() {
    let h = Harness::start().await;
    let code = param(&h.allow(&authorize_url(&h)).await, "code").unwrap();
    let (status, body) = h
        .get_json(
            h.http
                .post(h.url(P, "api.pinterest.com/v5/oauth/token"))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                    ("client_id", &id(P)),
                    ("client_secret", &secret(P)),
                ]),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["code"].is_i64());
}
