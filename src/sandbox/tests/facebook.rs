use reqwest::StatusCode;
use serde_json::Value;

use super::*;
use crate::sandbox::personas;

const P: Platform = Platform::Facebook;

fn dialog_url(h: &Harness) -> String {
    let cid = id(P);
    format!(
        "{}?{}",
        h.url(P, "www.facebook.com/v21.0/dialog/oauth"),
        query(&[
            ("client_id", &cid),
            ("redirect_uri", REDIRECT),
            ("state", "fb-state"),
            (
                "scope",
                "pages_show_list,pages_manage_posts,instagram_basic,instagram_content_publish"
            ),
            ("response_type", "code"),
        ])
    )
}

async fn exchange(h: &Harness, code: &str) -> (StatusCode, Value) {
    h.get_json(h.http.get(format!(
        "{}?{}",
        h.url(P, "graph.facebook.com/v21.0/oauth/access_token"),
        query(&[
            ("client_id", &id(P)),
            ("redirect_uri", REDIRECT),
            ("client_secret", &secret(P)),
            ("code", code)
        ])
    )))
    .await
}

async fn user_token(h: &Harness) -> String {
    let code = param(&h.allow(&dialog_url(h)).await, "code").unwrap();
    let (_, body) = exchange(h, &code).await;
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_facebook_user_grants_one_page_and_only_that_page_comes_back() {
    let h = Harness::start().await;
    let form = h.consent(&dialog_url(&h)).await;
    assert_eq!(form.field("account"), Some("maya.moss"));
    let pages = form.all("page_id");
    assert_eq!(pages.len(), 2, "two Pages, both ticked");
    assert!(
        form.html.contains("Moss Ceramics") && form.html.contains("Instagram @mapleandmoss.studio")
    );

    // Untick the second Page.
    let second = pages[1].to_owned();
    let answered = ConsentForm {
        html: String::new(),
        action: form.action.clone(),
        fields: form
            .fields
            .iter()
            .filter(|(k, v)| !(k == "page_id" && *v == second))
            .cloned()
            .collect(),
    };
    let back = h.decide(&answered, "allow", None).await;
    assert_eq!(param(&back, "state").as_deref(), Some("fb-state"));

    let (status, short) = exchange(&h, &param(&back, "code").unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{short}");
    assert_eq!(short["token_type"], "bearer");
    let short = short["access_token"].as_str().unwrap();

    let (status, long) = h
        .get_json(h.http.get(format!(
            "{}?{}",
            h.url(P, "graph.facebook.com/v21.0/oauth/access_token"),
            query(&[
                ("grant_type", "fb_exchange_token"),
                ("client_id", &id(P)),
                ("client_secret", &secret(P)),
                ("fb_exchange_token", short)
            ])
        )))
        .await;
    assert_eq!(status, StatusCode::OK, "{long}");
    assert_eq!(long["expires_in"], 5_183_944);
    let long = long["access_token"].as_str().unwrap();

    let (status, me) = h
        .get_json(h.http.get(format!(
            "{}?fields=id,name,picture&access_token={long}",
            h.url(P, "graph.facebook.com/v21.0/me")
        )))
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["name"], "Maya Moss");
    assert!(me["picture"]["data"]["url"].is_string());

    let fields =
        "id,name,access_token,picture%7Burl%7D,instagram_business_account%7Bid,username%7D";
    let (status, accounts) = h
        .get_json(
            h.http
                .get(format!(
                    "{}?fields={fields}",
                    h.url(P, "graph.facebook.com/v21.0/me/accounts")
                ))
                .bearer_auth(long),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{accounts}");
    let data = accounts["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "only the ticked Page");
    assert_eq!(data[0]["id"], pages[0]);
    assert_eq!(data[0]["name"], "Maple & Moss Ceramics");
    assert_eq!(
        data[0]["instagram_business_account"]["username"],
        "mapleandmoss.studio"
    );
    assert_eq!(
        data[0]["instagram_business_account"]["id"],
        personas::instagram_user_id("mapleandmoss.studio")
    );
    assert!(accounts["paging"]["cursors"]["after"].is_string());

    // The Page token never expires and answers as the Page.
    let page_token = data[0]["access_token"].as_str().unwrap();
    h.sandbox.advance_clock(400 * 24 * 3600);
    let (status, page) = h
        .get_json(h.http.get(format!(
            "{}?access_token={page_token}",
            h.url(P, "graph.facebook.com/me")
        )))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["id"], pages[0]);
}

#[tokio::test]
async fn denying_on_facebook_returns_the_documented_error_parameters() {
    let h = Harness::start().await;
    let form = h.consent(&dialog_url(&h)).await;
    let back = h.decide(&form, "deny", None).await;
    assert_eq!(param(&back, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&back, "error_code").as_deref(), Some("200"));
    assert_eq!(
        param(&back, "error_description").as_deref(),
        Some("Permissions error")
    );
    assert_eq!(param(&back, "error_reason").as_deref(), Some("user_denied"));
    assert_eq!(param(&back, "state").as_deref(), Some("fb-state"));
}

#[tokio::test]
async fn typing_another_facebook_account_shows_that_accounts_pages_before_granting() {
    let h = Harness::start().await;
    let form = h.consent(&dialog_url(&h)).await;
    let res = h.answer(&form, "allow", Some("sam.lee")).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "the page is shown again for the new account"
    );
    let html = res.text().await.unwrap();
    assert!(html.contains("Sam Lee Studio"), "{html}");
    assert!(html.contains("sam.lee"));
}

#[tokio::test]
async fn removing_the_apps_permissions_revokes_the_users_tokens() {
    let h = Harness::start().await;
    let token = user_token(&h).await;
    let (status, body) = h
        .get_json(h.http.delete(format!(
            "{}?access_token={token}",
            h.url(P, "graph.facebook.com/v21.0/me/permissions")
        )))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["success"], true);
    let (status, body) = h
        .get_json(h.http.get(format!(
            "{}?access_token={token}",
            h.url(P, "graph.facebook.com/v21.0/me")
        )))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], 190);
    assert_eq!(body["error"]["error_subcode"], 458);
}

#[tokio::test]
async fn a_used_facebook_code_and_a_wrong_secret_get_graph_errors() {
    let h = Harness::start().await;
    let code = param(&h.allow(&dialog_url(&h)).await, "code").unwrap();
    let (status, _) = exchange(&h, &code).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = exchange(&h, &code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["error_subcode"], 36009);

    let (status, body) = h
        .get_json(
            h.http
                .post(h.url(P, "graph.facebook.com/v21.0/oauth/access_token"))
                .form(&[
                    ("client_id", id(P)),
                    ("client_secret", "wrong".into()),
                    ("redirect_uri", REDIRECT.into()),
                    ("code", code),
                ]),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["message"], "Error validating client secret.");
}
