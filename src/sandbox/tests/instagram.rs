use reqwest::StatusCode;
use reqwest::multipart::Form;
use serde_json::Value;

use super::*;
use crate::sandbox::personas;

const P: Platform = Platform::Instagram;

fn authorize_url(h: &Harness, host: &str) -> String {
    let cid = id(P);
    format!(
        "{}?{}",
        h.url(P, &format!("{host}/oauth/authorize")),
        query(&[
            ("enable_fb_login", "0"),
            ("client_id", &cid),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            (
                "scope",
                "instagram_business_basic,instagram_business_content_publish"
            ),
            ("state", "ig-state"),
        ])
    )
}

async fn short_token(h: &Harness) -> Value {
    let back = h.allow(&authorize_url(h, "www.instagram.com")).await;
    let code = param(&back, "code").unwrap();
    let form = Form::new()
        .text("client_id", id(P))
        .text("client_secret", secret(P))
        .text("grant_type", "authorization_code")
        .text("redirect_uri", REDIRECT)
        .text("code", code);
    let (status, body) = h
        .get_json(
            h.http
                .post(h.url(P, "api.instagram.com/oauth/access_token"))
                .multipart(form),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn long_token(h: &Harness, short: &str) -> (StatusCode, Value) {
    h.get_json(h.http.get(format!(
        "{}?{}",
        h.url(P, "graph.instagram.com/access_token"),
        query(&[
            ("grant_type", "ig_exchange_token"),
            ("client_secret", &secret(P)),
            ("access_token", short)
        ])
    )))
    .await
}

#[tokio::test]
async fn an_instagram_user_connects_and_the_app_reads_the_professional_account() {
    let h = Harness::start().await;
    let form = h.consent(&authorize_url(&h, "api.instagram.com")).await;
    assert_eq!(form.field("account"), Some("mapleandmoss.studio"));
    assert!(
        form.html
            .contains("Publish posts, reels and stories for you")
    );
    let back = h.decide(&form, "allow", None).await;
    assert_eq!(back.fragment(), Some("_"), "Meta appends #_");
    assert_eq!(param(&back, "state").as_deref(), Some("ig-state"));

    let body = short_token(&h).await;
    let entry = &body["data"][0];
    assert!(
        entry["user_id"].is_string(),
        "user_id is a string in the wrapped shape"
    );
    assert_eq!(
        entry["permissions"],
        "instagram_business_basic,instagram_business_content_publish"
    );
    let short = entry["access_token"].as_str().unwrap();

    let (status, long) = long_token(&h, short).await;
    assert_eq!(status, StatusCode::OK, "{long}");
    assert_eq!(long["token_type"], "bearer");
    assert_eq!(long["expires_in"], 5_184_000);
    let long = long["access_token"].as_str().unwrap();

    for path in ["graph.instagram.com/v21.0/me", "graph.instagram.com/me"] {
        let res = h
            .http
            .get(format!(
                "{}?fields=user_id,username,name,profile_picture_url&access_token={long}",
                h.url(P, path)
            ))
            .send()
            .await
            .unwrap();
        assert!(res.headers().contains_key("facebook-api-version"));
        let (status, me) = json_of(res).await;
        assert_eq!(status, StatusCode::OK, "{me}");
        assert_eq!(me["username"], "mapleandmoss.studio");
        assert_eq!(
            me["user_id"],
            personas::instagram_user_id("mapleandmoss.studio")
        );
        assert_ne!(
            me["id"], me["user_id"],
            "the app-scoped id is not the professional account id"
        );
        assert_eq!(me["id"], entry["user_id"]);
        assert!(me["profile_picture_url"].is_string());
    }
}

#[tokio::test]
async fn the_instagram_code_exchange_accepts_urlencoded_forms_too_but_not_json() {
    let h = Harness::start().await;
    let code = param(
        &h.allow(&authorize_url(&h, "www.instagram.com")).await,
        "code",
    )
    .unwrap();
    let fields = [
        ("client_id", id(P)),
        ("client_secret", secret(P)),
        ("grant_type", "authorization_code".into()),
        ("redirect_uri", REDIRECT.into()),
        ("code", code),
    ];
    let json: serde_json::Map<String, Value> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::from(v.as_str())))
        .collect();
    let (status, _) = h
        .get_json(
            h.http
                .post(h.url(P, "api.instagram.com/oauth/access_token"))
                .json(&json),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = h
        .get_json(
            h.http
                .post(h.url(P, "api.instagram.com/oauth/access_token"))
                .form(&fields),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_long_lived_instagram_token_can_be_refreshed_only_once_a_day_old() {
    let h = Harness::start().await;
    let short = short_token(&h).await["data"][0]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, long) = long_token(&h, &short).await;
    let long = long["access_token"].as_str().unwrap().to_owned();
    let refresh = |token: &str| {
        h.http.get(format!(
            "{}?grant_type=ig_refresh_token&access_token={token}",
            h.url(P, "graph.instagram.com/refresh_access_token")
        ))
    };
    let (status, body) = h.get_json(refresh(&long)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "too young: {body}");
    assert_eq!(body["error"]["type"], "OAuthException");

    h.sandbox.advance_clock(25 * 3600);
    let (status, body) = h.get_json(refresh(&long)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["expires_in"], 5_184_000);
    assert_ne!(body["access_token"], long.as_str());

    let (status, _) = h.get_json(refresh(&short)).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "short-lived tokens are not refreshable (and it has expired)"
    );
}

#[tokio::test]
async fn a_bad_instagram_token_or_secret_gets_the_graph_error_envelope() {
    let h = Harness::start().await;
    let (status, body) = h
        .get_json(h.http.get(format!(
            "{}?access_token=nope",
            h.url(P, "graph.instagram.com/v21.0/me")
        )))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], 190);
    assert_eq!(body["error"]["type"], "OAuthException");
    assert!(body["error"]["fbtrace_id"].is_string());

    let short = short_token(&h).await["data"][0]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = h
        .get_json(h.http.get(format!(
            "{}?grant_type=ig_exchange_token&client_secret=wrong&access_token={short}",
            h.url(P, "graph.instagram.com/access_token")
        )))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["message"], "Error validating client secret.");

    h.sandbox.advance_clock(3601);
    let (_, body) = h
        .get_json(h.http.get(format!(
            "{}?access_token={short}",
            h.url(P, "graph.instagram.com/me")
        )))
        .await;
    assert_eq!(body["error"]["code"], 190);
    assert_eq!(body["error"]["error_subcode"], 463, "expired");
}

#[tokio::test]
async fn an_instagram_code_lives_an_hour() {
    let h = Harness::start().await;
    let code = param(
        &h.allow(&authorize_url(&h, "www.instagram.com")).await,
        "code",
    )
    .unwrap();
    h.sandbox.advance_clock(3601);
    let (status, body) = h
        .get_json(
            h.http
                .post(h.url(P, "api.instagram.com/oauth/access_token"))
                .form(&[
                    ("client_id", id(P)),
                    ("client_secret", secret(P)),
                    ("grant_type", "authorization_code".into()),
                    ("redirect_uri", REDIRECT.into()),
                    ("code", code),
                ]),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["error_subcode"], 36007);
}
