use reqwest::StatusCode;
use serde_json::Value;

use super::*;

const P: Platform = Platform::Youtube;
const SCOPES: &str = "https://www.googleapis.com/auth/youtube.upload https://www.googleapis.com/auth/youtube.readonly";

fn authorize_url(h: &Harness, extra: &[(&str, &str)]) -> String {
    let cid = id(P);
    let mut pairs = vec![
        ("client_id", cid.as_str()),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("scope", SCOPES),
        ("state", "g"),
    ];
    pairs.extend_from_slice(extra);
    format!(
        "{}?{}",
        h.url(P, "accounts.google.com/o/oauth2/v2/auth"),
        query(&pairs)
    )
}

async fn exchange(h: &Harness, code: &str, verifier: Option<&str>) -> (StatusCode, Value) {
    let mut form = vec![
        ("code", code.to_owned()),
        ("client_id", id(P)),
        ("client_secret", secret(P)),
        ("redirect_uri", REDIRECT.into()),
        ("grant_type", "authorization_code".into()),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v.into()));
    }
    h.get_json(
        h.http
            .post(h.url(P, "oauth2.googleapis.com/token"))
            .form(&form),
    )
    .await
}

async fn token_for(h: &Harness, extra: &[(&str, &str)]) -> Value {
    let code = param(&h.allow(&authorize_url(h, extra)).await, "code").unwrap();
    let (status, body) = exchange(h, &code, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn a_youtube_channel_connects_and_the_app_reads_it() {
    let h = Harness::start().await;
    let form = h
        .consent(&authorize_url(
            &h,
            &[("access_type", "offline"), ("prompt", "consent")],
        ))
        .await;
    assert_eq!(form.field("account"), Some("mapleandmoss"));
    assert!(form.html.contains("Upload videos to your YouTube channel"));
    let back = h.decide(&form, "allow", None).await;
    assert_eq!(param(&back, "scope").as_deref(), Some(SCOPES));
    let (status, token) = exchange(&h, &param(&back, "code").unwrap(), None).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert_eq!(token["expires_in"], 3599);
    assert_eq!(token["token_type"], "Bearer");
    assert!(token["refresh_token"].is_string());
    let (status, list) = h
        .get_json(
            h.http
                .get(h.url(
                    P,
                    "www.googleapis.com/youtube/v3/channels?part=snippet&mine=true",
                ))
                .bearer_auth(token["access_token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["kind"], "youtube#channelListResponse");
    let channel = &list["items"][0];
    assert_eq!(channel["kind"], "youtube#channel");
    assert!(channel["id"].as_str().unwrap().starts_with("UC"));
    assert_eq!(channel["snippet"]["title"], "Maple & Moss Ceramics");
    assert_eq!(channel["snippet"]["customUrl"], "@mapleandmoss");
    assert!(channel["snippet"]["thumbnails"]["default"]["url"].is_string());
}

#[tokio::test]
async fn google_gives_a_refresh_token_only_for_offline_access_on_first_consent_or_forced_consent() {
    let h = Harness::start().await;
    let online = token_for(&h, &[]).await;
    assert!(
        online.get("refresh_token").is_none(),
        "online access: {online}"
    );
    let first = token_for(&h, &[("access_type", "offline")]).await;
    assert!(
        first["refresh_token"].is_string(),
        "first offline consent: {first}"
    );
    let again = token_for(&h, &[("access_type", "offline")]).await;
    assert!(
        again.get("refresh_token").is_none(),
        "already consented: {again}"
    );
    let forced = token_for(&h, &[("access_type", "offline"), ("prompt", "consent")]).await;
    assert!(
        forced["refresh_token"].is_string(),
        "prompt=consent: {forced}"
    );
}

#[tokio::test]
async fn a_google_refresh_gives_no_new_refresh_token_and_revoking_kills_it() {
    let h = Harness::start().await;
    let token = token_for(&h, &[("access_type", "offline")]).await;
    let rt = token["refresh_token"].as_str().unwrap();
    let refresh = || {
        h.http.post(h.url(P, "oauth2.googleapis.com/token")).form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("client_id", &id(P)),
            ("client_secret", &secret(P)),
        ])
    };
    let (status, fresh) = h.get_json(refresh()).await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    assert!(fresh.get("refresh_token").is_none());
    let res = h
        .http
        .post(format!(
            "{}?token={rt}",
            h.url(P, "oauth2.googleapis.com/revoke")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (status, body) = h.get_json(refresh()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(
        body["error_description"],
        "Token has been expired or revoked."
    );
    let (status, body) = h
        .get_json(
            h.http
                .get(h.url(
                    P,
                    "www.googleapis.com/youtube/v3/channels?part=snippet&mine=true",
                ))
                .bearer_auth(fresh["access_token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["status"], "UNAUTHENTICATED");
}

#[tokio::test]
async fn google_verifies_a_plain_pkce_challenge_when_one_was_sent() {
    let h = Harness::start().await;
    let url = authorize_url(
        &h,
        &[
            ("code_challenge", VERIFIER),
            ("code_challenge_method", "plain"),
        ],
    );
    let code = param(&h.allow(&url).await, "code").unwrap();
    let (status, body) = exchange(&h, &code, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    let (status, _) = exchange(&h, &code, Some(VERIFIER)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn upload_scope_alone_may_not_read_the_channel() {
    let h = Harness::start().await;
    let url = authorize_url(&h, &[]).replace(
        &query(&[("scope", SCOPES)]),
        &query(&[("scope", "https://www.googleapis.com/auth/youtube.upload")]),
    );
    let code = param(&h.allow(&url).await, "code").unwrap();
    let (_, token) = exchange(&h, &code, None).await;
    let (status, body) = h
        .get_json(
            h.http
                .get(h.url(
                    P,
                    "www.googleapis.com/youtube/v3/channels?part=snippet&mine=true",
                ))
                .bearer_auth(token["access_token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["error"]["errors"][0]["reason"],
        "insufficientPermissions"
    );
}

#[tokio::test]
async fn a_google_redirect_uri_mismatch_is_refused() {
    let h = Harness::start().await;
    let code = param(&h.allow(&authorize_url(&h, &[])).await, "code").unwrap();
    let (status, body) = h
        .get_json(h.http.post(h.url(P, "oauth2.googleapis.com/token")).form(&[
            ("code", code.as_str()),
            ("client_id", &id(P)),
            ("client_secret", &secret(P)),
            ("redirect_uri", "http://localhost:8080/oauth/callback"),
            ("grant_type", "authorization_code"),
        ]))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "redirect_uri_mismatch");
}
