use reqwest::StatusCode;
use serde_json::Value;

use super::*;

const P: Platform = Platform::X;

fn authorize_url(h: &Harness, extra: &[(&str, &str)]) -> String {
    let cid = id(P);
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", cid.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", "tweet.read tweet.write users.read offline.access"),
        ("state", "st-123"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    pairs.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
    pairs.extend_from_slice(extra);
    pairs.retain(|(_, v)| !v.is_empty());
    format!("{}?{}", h.url(P, "x.com/i/oauth2/authorize"), query(&pairs))
}

async fn exchange(h: &Harness, code: &str, verifier: &str, redirect: &str) -> (StatusCode, Value) {
    h.get_json(
        h.http
            .post(h.url(P, "api.x.com/2/oauth2/token"))
            .header("authorization", basic(P))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect),
                ("code_verifier", verifier),
                ("client_id", &id(P)),
            ]),
    )
    .await
}

async fn code(h: &Harness) -> String {
    let back = h.allow(&authorize_url(h, &[])).await;
    param(&back, "code").unwrap()
}

#[tokio::test]
async fn an_x_user_allows_access_and_the_app_reads_their_profile() {
    let h = Harness::start().await;
    let form = h.consent(&authorize_url(&h, &[])).await;
    assert_eq!(form.field("account"), Some("mapleandmoss"));
    assert!(
        form.html.contains("Post and delete posts for you"),
        "scopes in plain words"
    );
    assert!(form.html.contains("sandbox-x-client-id"));

    let back = h.decide(&form, "allow", None).await;
    assert_eq!(back.origin().ascii_serialization(), "http://127.0.0.1:8080");
    assert_eq!(back.path(), "/oauth/callback");
    assert_eq!(param(&back, "state").as_deref(), Some("st-123"));
    let code = param(&back, "code").unwrap();

    let (status, token) = exchange(&h, &code, VERIFIER, REDIRECT).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert_eq!(token["token_type"], "bearer");
    assert_eq!(token["expires_in"], 7200);
    assert_eq!(
        token["scope"],
        "tweet.read tweet.write users.read offline.access"
    );
    assert!(token["refresh_token"].is_string());

    let access = token["access_token"].as_str().unwrap();
    let (status, me) = h
        .get_json(
            h.http
                .get(h.url(
                    P,
                    "api.x.com/2/users/me?user.fields=profile_image_url,description",
                ))
                .bearer_auth(access),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["data"]["username"], "mapleandmoss");
    assert_eq!(me["data"]["name"], "Maple & Moss");
    assert_eq!(me["data"]["id"].as_str().unwrap().len(), 19);
    let avatar = me["data"]["profile_image_url"].as_str().unwrap();
    let svg = h.http.get(avatar).send().await.unwrap();
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
}

#[tokio::test]
async fn a_second_x_account_typed_on_the_consent_page_is_a_different_user() {
    let h = Harness::start().await;
    let form = h.consent(&authorize_url(&h, &[])).await;
    let back = h.decide(&form, "allow", Some("jane.doe")).await;
    let (_, token) = exchange(&h, &param(&back, "code").unwrap(), VERIFIER, REDIRECT).await;
    let (_, me) = h
        .get_json(
            h.http
                .get(h.url(P, "api.x.com/2/users/me"))
                .bearer_auth(token["access_token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(me["data"]["username"], "jane.doe");
    assert_eq!(me["data"]["name"], "Jane Doe");
    assert_eq!(me["data"]["id"], super::super::x::user_id("jane.doe"));
    assert_ne!(me["data"]["id"], super::super::x::user_id("mapleandmoss"));
}

#[tokio::test]
async fn denying_on_x_sends_the_user_back_with_access_denied_and_the_state() {
    let h = Harness::start().await;
    let form = h.consent(&authorize_url(&h, &[])).await;
    let back = h.decide(&form, "deny", None).await;
    assert_eq!(param(&back, "error").as_deref(), Some("access_denied"));
    assert!(param(&back, "error_description").is_some());
    assert_eq!(param(&back, "state").as_deref(), Some("st-123"));
    assert_eq!(param(&back, "code"), None);
}

#[tokio::test]
async fn an_x_authorize_request_without_pkce_gets_an_error_page_not_a_redirect() {
    let h = Harness::start().await;
    let url = authorize_url(&h, &[("code_challenge", ""), ("code_challenge_method", "")]);
    let res = h.http.get(url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("code_challenge"));
}

#[tokio::test]
async fn an_unknown_client_or_a_bad_redirect_uri_gets_an_error_page() {
    let h = Harness::start().await;
    for extra in [
        [("client_id", "someone-else"), ("state", "s")],
        [("redirect_uri", "not a url"), ("state", "s")],
        [("redirect_uri", "ftp://example.com/cb"), ("state", "s")],
        [("code_challenge", "short"), ("state", "s")],
    ] {
        let res = h.http.get(authorize_url(&h, &extra)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{extra:?}");
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(!res.headers().contains_key("location"));
    }
}

#[tokio::test]
async fn an_x_code_works_only_once() {
    let h = Harness::start().await;
    let code = code(&h).await;
    let (first, _) = exchange(&h, &code, VERIFIER, REDIRECT).await;
    assert_eq!(first, StatusCode::OK);
    let (second, body) = exchange(&h, &code, VERIFIER, REDIRECT).await;
    assert_eq!(second, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn an_x_code_is_dead_after_thirty_seconds() {
    let h = Harness::start().await;
    let code = code(&h).await;
    h.sandbox.advance_clock(31);
    let (status, body) = exchange(&h, &code, VERIFIER, REDIRECT).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn the_x_token_exchange_needs_exactly_the_same_redirect_uri() {
    let h = Harness::start().await;
    let code = code(&h).await;
    let (status, body) =
        exchange(&h, &code, VERIFIER, "http://127.0.0.1:8080/oauth/callback/").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    let (status, _) = exchange(&h, &code, VERIFIER, REDIRECT).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a failed attempt does not burn the code"
    );
}

#[tokio::test]
async fn a_wrong_pkce_verifier_on_x_is_refused() {
    let h = Harness::start().await;
    let code = code(&h).await;
    let wrong = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx";
    let (status, body) = exchange(&h, &code, wrong, REDIRECT).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn a_wrong_client_secret_on_x_is_invalid_client_with_401() {
    let h = Harness::start().await;
    let code = code(&h).await;
    let wrong = format!("Basic {}", STANDARD.encode(format!("{}:nope", id(P))));
    let (status, body) = h
        .get_json(
            h.http
                .post(h.url(P, "api.x.com/2/oauth2/token"))
                .header("authorization", wrong)
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", VERIFIER),
                ]),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    let (status, _) = h
        .get_json(h.http.post(h.url(P, "api.x.com/2/oauth2/token")).form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", &id(P)),
        ]))
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a confidential client must use Basic"
    );
}

#[tokio::test]
async fn refreshing_on_x_rotates_the_refresh_token_and_the_old_one_is_dead() {
    let h = Harness::start().await;
    let code = code(&h).await;
    let (_, token) = exchange(&h, &code, VERIFIER, REDIRECT).await;
    let old = token["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |rt: String| {
        h.http
            .post(h.url(P, "api.x.com/2/oauth2/token"))
            .header("authorization", basic(P))
            .form(&[
                ("grant_type", "refresh_token".to_owned()),
                ("refresh_token", rt),
            ])
    };
    let (status, fresh) = h.get_json(refresh(old.clone())).await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    let new = fresh["refresh_token"].as_str().unwrap();
    assert_ne!(new, old);
    assert_ne!(fresh["access_token"], token["access_token"]);
    let (status, body) = h.get_json(refresh(old)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    let (status, _) = h.get_json(refresh(new.to_owned())).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn without_offline_access_x_gives_no_refresh_token() {
    let h = Harness::start().await;
    let back = h
        .allow(&authorize_url(&h, &[("scope", "tweet.read users.read")]))
        .await;
    let (_, token) = exchange(&h, &param(&back, "code").unwrap(), VERIFIER, REDIRECT).await;
    assert!(token.get("refresh_token").is_none(), "{token}");
}

#[tokio::test]
async fn a_revoked_or_unknown_x_token_gets_the_401_problem() {
    let h = Harness::start().await;
    let code = code(&h).await;
    let (_, token) = exchange(&h, &code, VERIFIER, REDIRECT).await;
    let access = token["access_token"].as_str().unwrap();
    let (status, body) = h
        .get_json(
            h.http
                .post(h.url(P, "api.x.com/2/oauth2/revoke"))
                .header("authorization", basic(P))
                .form(&[("token", access)]),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["revoked"], true);
    for bearer in [access, "made-up"] {
        let res = h
            .http
            .get(h.url(P, "api.x.com/2/users/me"))
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let (status, body) = json_of(res).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            body,
            serde_json::json!({"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"})
        );
    }
}

#[tokio::test]
async fn the_legacy_twitter_hosts_answer_like_the_x_ones() {
    let h = Harness::start().await;
    let url = authorize_url(&h, &[]).replace("/x/x.com/", "/x/twitter.com/");
    let code = param(&h.allow(&url).await, "code").unwrap();
    let (status, _) = h
        .get_json(
            h.http
                .post(h.url(P, "api.twitter.com/2/oauth2/token"))
                .header("authorization", basic(P))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", VERIFIER),
                ]),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}
