//! Personal API tokens under Settings.

use reqwest::StatusCode;

use crate::helpers::{location, spawn_app, texts};

#[tokio::test]
async fn a_seller_creates_a_token_sees_it_once_uses_it_and_revokes_it() {
    let app = spawn_app().await;
    app.signed_up_user().await;

    let res = app
        .post_form("/settings/api-tokens", &[("name", "inventory script")])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    let doc = scraper::Html::parse_document(&html);
    let token = doc
        .select(&scraper::Selector::parse("#new-token-value").unwrap())
        .next()
        .and_then(|e| e.value().attr("value"))
        .unwrap()
        .to_owned();
    assert!(token.starts_with("psk_"));
    assert_eq!(
        app.scalar_i64(&format!(
            "SELECT count(*) FROM api_tokens WHERE token_hash = '{token}'"
        ))
        .await,
        0,
        "only a hash is stored"
    );

    let (_, settings) = app.get_html("/settings").await;
    assert!(!settings.contains(&token), "shown only once");
    assert!(texts(&settings, ".api-token")[0].contains("inventory script"));

    let api = app
        .client
        .get(app.url("/api/v1/connections"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::OK);
    let (_, settings) = app.get_html("/settings").await;
    assert!(
        !texts(&settings, ".api-token")[0].contains("never used"),
        "last use is shown"
    );

    let id = app
        .scalar_string("SELECT id::text FROM api_tokens")
        .await
        .unwrap();
    let res = app
        .post_form(&format!("/settings/api-tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(location(&res), "/settings#api-tokens");
    let api = app
        .client
        .get(app.url("/api/v1/connections"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.scalar_i64("SELECT count(*) FROM audit_events WHERE action IN ('api_token.created', 'api_token.revoked')").await, 2);
}

#[tokio::test]
async fn a_token_needs_a_name_and_another_user_cannot_revoke_it() {
    let app = spawn_app().await;
    app.signed_up_user().await;
    let res = app
        .post_form("/settings/api-tokens", &[("name", "  ")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        texts(&res.text().await.unwrap(), "#token-name-error"),
        vec!["Give the token a name, such as the script that will use it."]
    );
    app.post_form("/settings/api-tokens", &[("name", "mine")])
        .await;
    let id = app
        .scalar_string("SELECT id::text FROM api_tokens")
        .await
        .unwrap();

    let other = app.second_browser();
    other
        .post_form(
            "/signup",
            &[
                ("email", "other@example.com"),
                ("password", crate::helpers::PASSWORD),
                ("time_zone", "UTC"),
            ],
        )
        .await;
    let res = other
        .post_form(&format!("/settings/api-tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM api_tokens WHERE revoked_at IS NULL")
            .await,
        1
    );
}
