use reqwest::StatusCode;
use serde_json::Value;

use super::*;

const P: Platform = Platform::Linkedin;

fn authorize_url(h: &Harness) -> String {
    let cid = id(P);
    format!(
        "{}?{}",
        h.url(P, "www.linkedin.com/oauth/v2/authorization"),
        query(&[
            ("response_type", "code"),
            ("client_id", &cid),
            ("redirect_uri", REDIRECT),
            ("state", "li"),
            ("scope", "openid profile email w_member_social"),
        ])
    )
}

async fn exchange(h: &Harness, code: &str, secret_value: &str) -> (StatusCode, Value) {
    h.get_json(
        h.http
            .post(h.url(P, "www.linkedin.com/oauth/v2/accessToken"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("client_id", &id(P)),
                ("client_secret", secret_value),
            ]),
    )
    .await
}

#[tokio::test]
async fn a_linkedin_member_connects_and_the_app_reads_userinfo_without_a_refresh_token() {
    let h = Harness::start().await;
    let form = h.consent(&authorize_url(&h)).await;
    assert_eq!(form.field("account"), Some("maya-moss"));
    let back = h.decide(&form, "allow", None).await;
    let (status, token) = exchange(&h, &param(&back, "code").unwrap(), &secret(P)).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert_eq!(token["expires_in"], 5_184_000);
    assert!(
        token.get("refresh_token").is_none(),
        "most apps get no refresh token"
    );
    let (status, me) = h
        .get_json(
            h.http
                .get(h.url(P, "api.linkedin.com/v2/userinfo"))
                .bearer_auth(token["access_token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["name"], "Maya Moss");
    assert_eq!(me["given_name"], "Maya");
    assert_eq!(me["family_name"], "Moss");
    assert_eq!(me["email"], "maya@mapleandmoss.example");
    assert!(me["sub"].is_string() && me["picture"].is_string());
}

#[tokio::test]
async fn an_approved_linkedin_app_refreshes_without_resetting_the_refresh_tokens_lifetime() {
    let h = Harness::start_with(|c| c.linkedin_refresh_tokens = true).await;
    let code = param(&h.allow(&authorize_url(&h)).await, "code").unwrap();
    let (_, token) = exchange(&h, &code, &secret(P)).await;
    assert_eq!(token["refresh_token_expires_in"], 31_536_000);
    let rt = token["refresh_token"].as_str().unwrap().to_owned();
    h.sandbox.advance_clock(59 * 24 * 3600);
    let (status, refreshed) = h
        .get_json(
            h.http
                .post(h.url(P, "www.linkedin.com/oauth/v2/accessToken"))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &rt),
                    ("client_id", &id(P)),
                    ("client_secret", &secret(P)),
                ]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_eq!(refreshed["refresh_token"], rt.as_str());
    let left = refreshed["refresh_token_expires_in"].as_i64().unwrap();
    assert!(
        (306 * 24 * 3600 - 5..=306 * 24 * 3600).contains(&left),
        "{left}"
    );
    assert_ne!(refreshed["access_token"], token["access_token"]);
}

#[tokio::test]
async fn a_wrong_linkedin_secret_is_invalid_client_and_a_bad_token_is_65600() {
    let h = Harness::start().await;
    let code = param(&h.allow(&authorize_url(&h)).await, "code").unwrap();
    let (status, body) = exchange(&h, &code, "wrong").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    let (status, body) = h
        .get_json(
            h.http
                .get(h.url(P, "api.linkedin.com/v2/userinfo"))
                .bearer_auth("nope"),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        serde_json::json!({"status":401,"serviceErrorCode":65600,"code":"INVALID_ACCESS_TOKEN","message":"Invalid access token"})
    );
}

#[tokio::test]
async fn a_linkedin_code_expires_after_ten_minutes() {
    let h = Harness::start().await;
    let code = param(&h.allow(&authorize_url(&h)).await, "code").unwrap();
    h.sandbox.advance_clock(601);
    let (status, body) = exchange(&h, &code, &secret(P)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
}
