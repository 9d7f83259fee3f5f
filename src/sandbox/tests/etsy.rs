use reqwest::StatusCode;
use serde_json::Value;

use super::*;

const P: Platform = Platform::Etsy;

fn authorize_url(h: &Harness, redirect: &str, pkce: &[(&str, &str)]) -> String {
    let cid = id(P);
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", cid.as_str()),
        ("redirect_uri", redirect),
        ("scope", "listings_r shops_r"),
        ("state", "etsy"),
    ];
    pairs.extend_from_slice(pkce);
    format!(
        "{}?{}",
        h.url(P, "www.etsy.com/oauth/connect"),
        query(&pairs)
    )
}

const S256: &[(&str, &str)] = &[
    ("code_challenge", CHALLENGE),
    ("code_challenge_method", "S256"),
];

async fn tokens(h: &Harness) -> Value {
    let form = h.consent(&authorize_url(h, REDIRECT, S256)).await;
    assert_eq!(form.field("account"), Some("mayamoss"));
    let code = param(&h.decide(&form, "allow", None).await, "code").unwrap();
    let (status, body) = h
        .get_json(
            h.http
                .post(h.url(P, "api.etsy.com/v3/public/oauth/token"))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("client_id", &id(P)),
                    ("redirect_uri", REDIRECT),
                    ("code", &code),
                    ("code_verifier", VERIFIER),
                ]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn api_key() -> String {
    format!("{}:{}", id(P), secret(P))
}

#[tokio::test]
async fn an_etsy_seller_connects_and_the_app_reads_their_shop() {
    let h = Harness::start().await;
    let token = tokens(&h).await;
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 3600);
    let access = token["access_token"].as_str().unwrap();
    let (user_prefix, _) = access.split_once('.').unwrap();
    assert!(user_prefix.bytes().all(|b| b.is_ascii_digit()));
    assert!(
        token["refresh_token"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{user_prefix}."))
    );

    let (status, me) = h
        .get_json(
            h.http
                .get(h.url(P, "api.etsy.com/v3/application/users/me"))
                .header("x-api-key", api_key())
                .bearer_auth(access),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["user_id"].to_string(), user_prefix);
    let shop_id = me["shop_id"].as_u64().unwrap();

    let (status, shop) = h
        .get_json(
            h.http
                .get(h.url(
                    P,
                    &format!("openapi.etsy.com/v3/application/shops/{shop_id}"),
                ))
                .header("x-api-key", api_key())
                .bearer_auth(access),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{shop}");
    assert_eq!(shop["shop_id"], shop_id);
    assert_eq!(shop["shop_name"], "MapleAndMossCeramics");
    assert_eq!(shop["currency_code"], "USD");
    assert!(
        shop["url"]
            .as_str()
            .unwrap()
            .ends_with("/shop/MapleAndMossCeramics")
    );
    assert!(shop["icon_url_fullxfull"].is_string() && shop["listing_active_count"].is_u64());
}

#[tokio::test]
async fn etsy_wants_the_keystring_and_shared_secret_in_x_api_key() {
    let h = Harness::start().await;
    let token = tokens(&h).await;
    let access = token["access_token"].as_str().unwrap();
    let me = || {
        h.http
            .get(h.url(P, "api.etsy.com/v3/application/users/me"))
            .bearer_auth(access)
    };
    let (status, body) = h.get_json(me()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "missing");
    assert!(body["error"].is_string());
    let (status, _) = h.get_json(me().header("x-api-key", id(P))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "keystring alone");
    let (status, _) = h
        .get_json(me().header("x-api-key", format!("{}:wrong", id(P))))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "wrong secret");
    let (status, body) = h
        .get_json(
            h.http
                .get(h.url(P, "api.etsy.com/v3/application/users/me"))
                .header("x-api-key", api_key()),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no bearer: {body}");
}

#[tokio::test]
async fn etsy_requires_s256_pkce_and_https_except_on_loopback() {
    let h = Harness::start().await;
    for (redirect, pkce) in [
        (REDIRECT, &[][..]),
        (
            REDIRECT,
            &[
                ("code_challenge", VERIFIER),
                ("code_challenge_method", "plain"),
            ][..],
        ),
        ("http://shop.example/cb", S256),
    ] {
        let res = h
            .http
            .get(authorize_url(&h, redirect, pkce))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{redirect} {pkce:?}");
    }
    for redirect in ["https://shop.example/cb", "http://localhost:3000/cb"] {
        let res = h
            .http
            .get(authorize_url(&h, redirect, S256))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{redirect}");
    }
}

#[tokio::test]
async fn an_etsy_refresh_token_rotates_and_the_old_one_is_dead() {
    let h = Harness::start().await;
    let token = tokens(&h).await;
    let old = token["refresh_token"].as_str().unwrap();
    let refresh = |rt: &str| {
        h.http
            .post(h.url(P, "api.etsy.com/v3/public/oauth/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                ("client_id", &id(P)),
                ("refresh_token", rt),
            ])
    };
    let (status, fresh) = h.get_json(refresh(old)).await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    assert_ne!(fresh["refresh_token"], old);
    let (status, body) = h.get_json(refresh(old)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
}
