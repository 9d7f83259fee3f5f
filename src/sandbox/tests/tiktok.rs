use reqwest::StatusCode;
use serde_json::Value;

use super::*;

const P: Platform = Platform::Tiktok;

fn authorize_url(h: &Harness, pkce: bool) -> String {
    let key = id(P);
    let mut pairs = vec![
        ("client_key", key.as_str()),
        ("scope", "user.info.basic,user.info.profile,video.publish"),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("state", "tt"),
    ];
    if pkce {
        pairs.push(("code_challenge", CHALLENGE));
        pairs.push(("code_challenge_method", "S256"));
    }
    format!(
        "{}?{}",
        h.url(P, "www.tiktok.com/v2/auth/authorize/"),
        query(&pairs)
    )
}

async fn exchange(h: &Harness, code: &str, verifier: Option<&str>) -> (StatusCode, Value) {
    let mut form = vec![
        ("client_key", id(P)),
        ("client_secret", secret(P)),
        ("code", code.to_owned()),
        ("grant_type", "authorization_code".into()),
        ("redirect_uri", REDIRECT.into()),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v.into()));
    }
    h.get_json(
        h.http
            .post(h.url(P, "open.tiktokapis.com/v2/oauth/token/"))
            .form(&form),
    )
    .await
}

#[tokio::test]
async fn a_tiktok_creator_connects_with_pkce_and_the_app_reads_their_info() {
    let h = Harness::start().await;
    let form = h.consent(&authorize_url(&h, true)).await;
    assert_eq!(form.field("account"), Some("mapleandmoss"));
    let back = h.decide(&form, "allow", None).await;
    assert_eq!(
        param(&back, "scopes").as_deref(),
        Some("user.info.basic,user.info.profile,video.publish")
    );
    let (status, token) = exchange(&h, &param(&back, "code").unwrap(), Some(VERIFIER)).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 86_400);
    assert_eq!(token["refresh_expires_in"], 31_536_000);
    assert!(token["open_id"].is_string());
    let (status, info) = h
        .get_json(
            h.http
                .get(h.url(P, "open.tiktokapis.com/v2/user/info/?fields=open_id,avatar_url,display_name,username"))
                .bearer_auth(token["access_token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert_eq!(info["error"]["code"], "ok");
    assert_eq!(info["data"]["user"]["username"], "mapleandmoss");
    assert_eq!(info["data"]["user"]["open_id"], token["open_id"]);
}

#[tokio::test]
async fn a_wrong_tiktok_verifier_is_invalid_grant_with_a_log_id() {
    let h = Harness::start().await;
    let code = param(&h.allow(&authorize_url(&h, true)).await, "code").unwrap();
    let (status, body) = exchange(
        &h,
        &code,
        Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert!(body["log_id"].is_string());
}

#[tokio::test]
async fn a_tiktok_refresh_gives_a_new_refresh_token_and_revoke_ends_access() {
    let h = Harness::start().await;
    let code = param(&h.allow(&authorize_url(&h, false)).await, "code").unwrap();
    let (_, token) = exchange(&h, &code, None).await;
    let old = token["refresh_token"].as_str().unwrap();
    let refresh = |rt: &str| {
        h.http
            .post(h.url(P, "open.tiktokapis.com/v2/oauth/token/"))
            .form(&[
                ("client_key", id(P)),
                ("client_secret", secret(P)),
                ("grant_type", "refresh_token".into()),
                ("refresh_token", rt.to_owned()),
            ])
    };
    let (status, fresh) = h.get_json(refresh(old)).await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    assert_ne!(fresh["refresh_token"], old);
    let (status, _) = h.get_json(refresh(old)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the old refresh token lives until its own expiry"
    );

    let access = fresh["access_token"].as_str().unwrap();
    let (status, _) = h
        .get_json(
            h.http
                .post(h.url(P, "open.tiktokapis.com/v2/oauth/revoke/"))
                .form(&[
                    ("client_key", id(P)),
                    ("client_secret", secret(P)),
                    ("token", access.to_owned()),
                ]),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = h
        .get_json(
            h.http
                .get(h.url(P, "open.tiktokapis.com/v2/user/info/?fields=open_id"))
                .bearer_auth(access),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "access_token_invalid");
}
