//! Connecting accounts end to end: the app, the browser's redirects and the platform sandbox's
//! real consent pages, for all ten platforms.

use std::collections::HashMap;

use picscripter::domain::Platform;
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::json;

use crate::helpers::{TestApp, TestSandbox, location, spawn_app_with_sandbox, texts};

/// A consent page's form as a browser would submit it.
struct Consent {
    action: String,
    fields: Vec<(String, String)>,
}

async fn consent_page(sandbox: &TestSandbox, url: &str) -> Consent {
    let res = sandbox.client.get(url).send().await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "the consent page renders for {url}"
    );
    let html = res.text().await.unwrap();
    let doc = scraper::Html::parse_document(&html);
    let form = doc
        .select(&scraper::Selector::parse("form").unwrap())
        .next()
        .expect("the consent page has a form");
    let action = form
        .value()
        .attr("action")
        .map(str::to_owned)
        .unwrap_or_else(|| url.to_owned());
    let action = reqwest::Url::parse(url)
        .unwrap()
        .join(&action)
        .unwrap()
        .to_string();
    let mut fields = Vec::new();
    for input in form.select(&scraper::Selector::parse("input, textarea").unwrap()) {
        let v = input.value();
        let (Some(name), kind) = (v.attr("name"), v.attr("type").unwrap_or("text")) else {
            continue;
        };
        if kind == "submit" || (kind == "checkbox" && v.attr("checked").is_none()) {
            continue;
        }
        fields.push((
            name.to_owned(),
            v.attr("value").unwrap_or_default().to_owned(),
        ));
    }
    Consent { action, fields }
}

impl Consent {
    fn set(&mut self, name: &str, value: &str) {
        self.fields.retain(|(k, _)| k != name);
        self.fields.push((name.into(), value.into()));
    }

    /// Submits with `decision`; returns where the platform sends the browser.
    async fn submit(mut self, sandbox: &TestSandbox, decision: &str) -> String {
        self.set("decision", decision);
        let res = sandbox
            .client
            .post(&self.action)
            .form(&self.fields)
            .send()
            .await
            .unwrap();
        assert!(
            res.status().is_redirection(),
            "the consent answer redirects: {}",
            res.status()
        );
        location(&res)
    }
}

/// Clicks "Connect", returns the consent page the browser lands on.
async fn start(app: &TestApp, sandbox: &TestSandbox, platform: Platform, query: &str) -> Consent {
    let res = app
        .get(&format!("/connections/{platform}/connect{query}"))
        .await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{platform}: connect redirects"
    );
    let to = location(&res);
    assert!(
        to.starts_with(&format!("{}/{platform}/", sandbox.url)),
        "{platform}: goes to the sandbox: {to}"
    );
    consent_page(sandbox, &to).await
}

/// Follows the platform's redirect back to our callback; returns our redirect's target.
async fn back(app: &TestApp, callback: &str) -> String {
    let path = callback
        .strip_prefix(&app.base)
        .unwrap_or_else(|| panic!("the callback comes back to the app: {callback}"));
    let path = path.split('#').next().unwrap();
    let res = app.get(path).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    location(&res)
}

async fn flashes(app: &TestApp) -> (Vec<String>, Vec<String>) {
    let (_, html) = app.get_html("/connections").await;
    (texts(&html, ".flash-success"), texts(&html, ".flash-error"))
}

pub(crate) async fn connect(app: &TestApp, sandbox: &TestSandbox, platform: Platform) -> String {
    connect_choosing(app, sandbox, platform, None).await
}

/// Connects `platform`; when the app asks which accounts to add, picks the one whose name
/// contains `choose`, or the first one offered.
pub(crate) async fn connect_choosing(
    app: &TestApp,
    sandbox: &TestSandbox,
    platform: Platform,
    choose: Option<&str>,
) -> String {
    let query = if platform == Platform::Shopify {
        "?shop=maple-thread.myshopify.com"
    } else {
        ""
    };
    let consent = start(app, sandbox, platform, query).await;
    let callback = consent.submit(sandbox, "allow").await;
    let mut landed = back(app, &callback).await;
    if landed == format!("/connections/{platform}/choose") {
        // Several accounts (Facebook Pages, LinkedIn company pages): pick one.
        let (_, html) = app.get_html(&landed).await;
        let offered = offered(&html);
        let picked = match choose {
            Some(name) => offered
                .iter()
                .find(|(_, label)| label.contains(name))
                .unwrap_or_else(|| panic!("{name} is offered: {offered:?}")),
            None => &offered[0],
        };
        let res = app.post_form(&landed, &[("account", &picked.0)]).await;
        landed = location(&res);
    }
    assert_eq!(landed, "/connections");
    let (ok, errors) = flashes(app).await;
    assert!(errors.is_empty(), "{platform}: {errors:?}");
    assert_eq!(ok.len(), 1, "{platform}: one success message: {ok:?}");
    ok[0].clone()
}

/// The choose page's accounts: `(value, label text)`, in order.
fn offered(html: &str) -> Vec<(String, String)> {
    let doc = scraper::Html::parse_document(html);
    doc.select(&scraper::Selector::parse("label").unwrap())
        .filter_map(|label| {
            let input = label
                .select(&scraper::Selector::parse("input[name=account]").unwrap())
                .next()?;
            let text = label
                .text()
                .collect::<String>()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            Some((input.value().attr("value")?.to_owned(), text))
        })
        .collect()
}

#[tokio::test]
async fn every_platform_connects_through_its_consent_page_and_stores_only_ciphertext() {
    let (app, sandbox) = spawn_app_with_sandbox().await;
    app.signed_up_user().await;

    for platform in Platform::ALL {
        let message = connect(&app, &sandbox, platform).await;
        assert!(
            message.starts_with("Connected ")
                && message.ends_with(&format!("on {}.", platform.display_name())),
            "{message}"
        );
    }

    let (_, html) = app.get_html("/connections").await;
    for platform in Platform::ALL {
        let status = texts(&html, &format!("#platform-{platform} .status"));
        assert_eq!(status, vec!["Active"], "{platform} shows healthy");
        assert_eq!(
            texts(&html, &format!("#platform-{platform} .account-name")).len(),
            1,
            "{platform} shows its account"
        );
    }
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM connections WHERE status = 'active'")
            .await,
        10
    );
    assert_eq!(
        app.scalar_i64(
            "SELECT count(*) FROM connections WHERE access_token_enc IS NULL OR key_version <> 1"
        )
        .await,
        0
    );
    // Every token the sandbox issued is absent, in the clear, from the database and the page.
    let models = app
        .state
        .connections
        .list_for_user(picscripter_user(&app).await)
        .await
        .unwrap();
    for m in &models {
        let grant = app.state.connections.grant(m).await.unwrap();
        let access = grant.access_token.unwrap();
        assert!(
            !html.contains(access.expose_secret()),
            "{}: token in the HTML",
            m.platform
        );
        let bytes = m.access_token_enc.clone().unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains(access.expose_secret()));
    }
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM audit_events WHERE action = 'connection.connected'")
            .await,
        10
    );
}

async fn picscripter_user(app: &TestApp) -> uuid::Uuid {
    uuid::Uuid::parse_str(
        &app.scalar_string("SELECT id::text FROM users LIMIT 1")
            .await
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn facebook_offers_the_pages_to_choose_from_and_connects_only_the_chosen_one() {
    let (app, sandbox) = spawn_app_with_sandbox().await;
    app.signed_up_user().await;
    let consent = start(&app, &sandbox, Platform::Facebook, "").await;
    let pages: Vec<String> = consent
        .fields
        .iter()
        .filter(|(k, _)| k == "page_id")
        .map(|(_, v)| v.clone())
        .collect();
    assert!(
        pages.len() >= 2,
        "the persona manages several Pages: {pages:?}"
    );
    let callback = consent.submit(&sandbox, "allow").await;
    assert_eq!(back(&app, &callback).await, "/connections/facebook/choose");

    let (_, html) = app.get_html("/connections/facebook/choose").await;
    let offered = texts(&html, "input[name=account]");
    assert_eq!(offered.len(), pages.len());
    assert!(
        html.contains("Instagram business account"),
        "a Page's linked Instagram account is named"
    );
    let res = app.post_form("/connections/facebook/choose", &[]).await;
    assert_eq!(
        res.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "choosing nothing is explained"
    );

    let doc = scraper::Html::parse_document(&html);
    let second = doc
        .select(&scraper::Selector::parse("input[name=account]").unwrap())
        .nth(1)
        .unwrap()
        .value()
        .attr("value")
        .unwrap()
        .to_owned();
    let res = app
        .post_form("/connections/facebook/choose", &[("account", &second)])
        .await;
    assert_eq!(location(&res), "/connections");
    assert_eq!(app.scalar_i64("SELECT count(*) FROM connections").await, 1);
    assert_eq!(
        app.scalar_string("SELECT account_id FROM connections")
            .await
            .unwrap(),
        second
    );
}

#[tokio::test]
async fn linkedin_offers_the_profile_then_the_company_pages_the_member_administers() {
    let (app, sandbox) = spawn_app_with_sandbox().await;
    app.signed_up_user().await;
    let consent = start(&app, &sandbox, Platform::Linkedin, "").await;
    let callback = consent.submit(&sandbox, "allow").await;
    assert_eq!(back(&app, &callback).await, "/connections/linkedin/choose");
    let (_, html) = app.get_html("/connections/linkedin/choose").await;
    let offered = offered(&html);
    assert_eq!(offered.len(), 2, "{offered:?}");
    assert!(
        offered[0].1.contains("Maya Moss") && offered[0].1.contains("personal profile"),
        "the person comes first: {offered:?}"
    );
    assert!(
        offered[1].1.contains("Maple & Moss Ceramics") && offered[1].1.contains("company page"),
        "{offered:?}"
    );
    assert!(offered[1].0.starts_with("urn:li:organization:"));

    let res = app
        .post_form(
            "/connections/linkedin/choose",
            &[("account", &offered[0].0), ("account", &offered[1].0)],
        )
        .await;
    assert_eq!(location(&res), "/connections");
    let (ok, errors) = flashes(&app).await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        ok,
        vec!["Connected Maya Moss, Maple & Moss Ceramics on LinkedIn."]
    );
    let authors = |name: &str| {
        format!("SELECT metadata->>'author_urn' FROM connections WHERE display_name = '{name}'")
    };
    let person = app.scalar_string(&authors("Maya Moss")).await.unwrap();
    assert_eq!(person, format!("urn:li:person:{}", offered[0].0));
    let page = app
        .scalar_string(&authors("Maple & Moss Ceramics"))
        .await
        .unwrap();
    assert_eq!(page, offered[1].0);
    let (_, html) = app.get_html("/connections").await;
    let mut names = texts(&html, "#platform-linkedin .account-name");
    names.sort();
    assert_eq!(names, ["Maple & Moss Ceramics", "Maya Moss"]);
}

#[tokio::test]
async fn a_seller_can_connect_a_second_account_of_the_same_network() {
    let (app, sandbox) = spawn_app_with_sandbox().await;
    app.signed_up_user().await;
    connect(&app, &sandbox, Platform::X).await;
    let mut consent = start(&app, &sandbox, Platform::X, "").await;
    consent.set("account", "second-shop-account");
    let callback = consent.submit(&sandbox, "allow").await;
    assert_eq!(back(&app, &callback).await, "/connections");
    assert_eq!(
        app.scalar_i64(
            "SELECT count(*) FROM connections WHERE platform = 'x' AND status = 'active'"
        )
        .await,
        2
    );
}

#[tokio::test]
async fn denied_consent_connects_nothing_and_says_so() {
    let (app, sandbox) = spawn_app_with_sandbox().await;
    app.signed_up_user().await;
    for platform in [
        Platform::X,
        Platform::Facebook,
        Platform::Tiktok,
        Platform::Youtube,
    ] {
        let consent = start(&app, &sandbox, platform, "").await;
        let callback = consent.submit(&sandbox, "deny").await;
        assert_eq!(back(&app, &callback).await, "/connections");
        let (_, errors) = flashes(&app).await;
        assert_eq!(
            errors,
            vec![format!(
                "You didn't allow Picscripter to use your {} account, so nothing was connected.",
                platform.display_name()
            )]
        );
    }
    assert_eq!(app.scalar_i64("SELECT count(*) FROM connections").await, 0);
}

#[tokio::test]
async fn a_forged_mismatched_or_replayed_state_is_refused() {
    let (app, sandbox) = spawn_app_with_sandbox().await;
    app.signed_up_user().await;
    let consent = start(&app, &sandbox, Platform::Pinterest, "").await;
    let callback = consent.submit(&sandbox, "allow").await;
    let mut url = reqwest::Url::parse(&callback).unwrap();
    let pairs: HashMap<String, String> = url.query_pairs().into_owned().collect();

    // A different state.
    url.query_pairs_mut()
        .clear()
        .append_pair("code", &pairs["code"])
        .append_pair("state", "forged");
    assert_eq!(back(&app, url.as_str()).await, "/connections");
    assert!(flashes(&app).await.1[0].contains("didn't come from this browser"));

    // The right callback, but in another browser's session.
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
    let path = callback.strip_prefix(&app.base).unwrap();
    let res = other
        .client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/connections");
    assert_eq!(app.scalar_i64("SELECT count(*) FROM connections").await, 0);

    // The right callback: works once, then is a replay.
    assert_eq!(back(&app, &callback).await, "/connections");
    assert_eq!(flashes(&app).await.1.len(), 0);
    assert_eq!(back(&app, &callback).await, "/connections");
    assert!(flashes(&app).await.1[0].contains("was already used"));
    assert_eq!(app.scalar_i64("SELECT count(*) FROM connections").await, 1);
}

#[tokio::test]
async fn a_code_exchanged_with_the_wrong_pkce_verifier_is_refused_by_the_platform() {
    let (app, sandbox) = spawn_app_with_sandbox().await;
    app.signed_up_user().await;
    // Two flows at once: consent given in the first, the callback presented with the second's
    // state, so the first flow's code is exchanged with the second flow's verifier.
    let first = start(&app, &sandbox, Platform::X, "").await;
    let second = start(&app, &sandbox, Platform::X, "").await;
    let second_state = second
        .fields
        .iter()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.clone())
        .unwrap();
    let callback = first.submit(&sandbox, "allow").await;
    let mut url = reqwest::Url::parse(&callback).unwrap();
    let code = url
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    url.query_pairs_mut()
        .clear()
        .append_pair("code", &code)
        .append_pair("state", &second_state);

    assert_eq!(back(&app, url.as_str()).await, "/connections");
    assert_eq!(
        flashes(&app).await.1,
        vec![
            "X didn't accept the sign-in: it may have expired or been used already. Please connect again."
        ]
    );
    assert_eq!(app.scalar_i64("SELECT count(*) FROM connections").await, 0);
}

#[tokio::test]
async fn a_failing_token_endpoint_or_an_expired_code_stores_nothing() {
    let (app, sandbox) = spawn_app_with_sandbox().await;
    app.signed_up_user().await;

    sandbox.fault(json!({ "platform": "linkedin", "path": "/oauth/v2/accessToken", "status": 500, "times": 1 })).await;
    let callback = start(&app, &sandbox, Platform::Linkedin, "")
        .await
        .submit(&sandbox, "allow")
        .await;
    assert_eq!(back(&app, &callback).await, "/connections");
    assert_eq!(
        flashes(&app).await.1,
        vec![
            "LinkedIn is having trouble right now. Nothing was connected; please try again in a few minutes."
        ]
    );

    // X codes live 30 seconds.
    let callback = start(&app, &sandbox, Platform::X, "")
        .await
        .submit(&sandbox, "allow")
        .await;
    sandbox.advance_clock(60).await;
    assert_eq!(back(&app, &callback).await, "/connections");
    assert_eq!(
        flashes(&app).await.1,
        vec![
            "X didn't accept the sign-in: it may have expired or been used already. Please connect again."
        ]
    );
    assert_eq!(app.scalar_i64("SELECT count(*) FROM connections").await, 0);
}

#[tokio::test]
async fn shopify_connects_a_shop_after_checking_the_callback_signature() {
    let (app, sandbox) = spawn_app_with_sandbox().await;
    app.signed_up_user().await;
    let callback = start(&app, &sandbox, Platform::Shopify, "?shop=maple-thread")
        .await
        .submit(&sandbox, "allow")
        .await;

    // A tampered callback (the signature no longer matches) is refused.
    let tampered = callback.replace("timestamp=", "timestamp=1");
    assert_eq!(back(&app, &tampered).await, "/connections");
    assert!(flashes(&app).await.1[0].contains("couldn't be verified"));
    assert_eq!(app.scalar_i64("SELECT count(*) FROM connections").await, 0);

    // The flow was used by the tampered attempt; a fresh one succeeds.
    connect(&app, &sandbox, Platform::Shopify).await;
    assert_eq!(
        app.scalar_string("SELECT account_id FROM connections")
            .await
            .unwrap(),
        "maple-thread.myshopify.com"
    );
}

#[tokio::test]
async fn disconnecting_revokes_at_the_platform_and_reconnecting_restores_the_account() {
    let (app, sandbox) = spawn_app_with_sandbox().await;
    app.signed_up_user().await;
    connect(&app, &sandbox, Platform::X).await;
    let id = app
        .scalar_string("SELECT id::text FROM connections")
        .await
        .unwrap();

    let res = app
        .post_form(&format!("/connections/{id}/disconnect"), &[])
        .await;
    assert_eq!(location(&res), "/connections");
    let (ok, _) = flashes(&app).await;
    assert!(ok[0].contains("access was also removed at X"), "{ok:?}");
    let revokes = sandbox
        .requests("x")
        .await
        .into_iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .unwrap_or_default()
                .ends_with("/oauth2/revoke")
        })
        .count();
    assert!(revokes >= 1, "the grant was revoked at X");
    assert_eq!(app.scalar_i64("SELECT count(*) FROM connections WHERE access_token_enc IS NOT NULL OR refresh_token_enc IS NOT NULL").await, 0);
    let (_, html) = app.get_html("/connections").await;
    assert!(texts(&html, "#platform-x .account-name").is_empty());

    connect(&app, &sandbox, Platform::X).await;
    assert_eq!(
        app.scalar_string("SELECT id::text FROM connections WHERE status = 'active'")
            .await
            .unwrap(),
        id
    );
    assert_eq!(
        app.scalar_i64(
            "SELECT count(*) FROM audit_events WHERE action = 'connection.disconnected'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn pinterest_pins_go_to_a_default_board_the_seller_can_change() {
    let (app, sandbox) = spawn_app_with_sandbox().await;
    app.signed_up_user().await;
    connect(&app, &sandbox, Platform::Pinterest).await;
    let (_, html) = app.get_html("/connections").await;
    let boards = texts(&html, "#platform-pinterest select option");
    assert!(boards.len() >= 2, "{boards:?}");
    let doc = scraper::Html::parse_document(&html);
    let second_id = doc
        .select(&scraper::Selector::parse("#platform-pinterest select option").unwrap())
        .nth(1)
        .unwrap()
        .value()
        .attr("value")
        .unwrap()
        .to_owned();
    let id = app
        .scalar_string("SELECT id::text FROM connections")
        .await
        .unwrap();

    let res = app
        .post_form(
            &format!("/connections/{id}/board"),
            &[("board_id", &second_id)],
        )
        .await;
    assert_eq!(location(&res), "/connections");
    let (_, html) = app.get_html("/connections").await;
    assert_eq!(
        texts(&html, "#platform-pinterest select option[selected]"),
        vec![boards[1].clone()]
    );
    let res = app
        .post_form(
            &format!("/connections/{id}/board"),
            &[("board_id", "not-a-board")],
        )
        .await;
    assert_eq!(location(&res), "/connections");
    assert_eq!(flashes(&app).await.1, vec!["Choose one of your boards."]);
}

#[tokio::test]
async fn a_token_the_platform_expired_early_is_refreshed_once_and_the_check_succeeds() {
    let (app, sandbox) = spawn_app_with_sandbox().await;
    app.signed_up_user().await;
    connect(&app, &sandbox, Platform::X).await;
    let id = app
        .scalar_string("SELECT id::text FROM connections")
        .await
        .unwrap();
    sandbox
        .fault(json!({ "platform": "x", "expire_tokens": true }))
        .await;

    let res = app
        .post_form(&format!("/connections/{id}/check"), &[])
        .await;
    assert_eq!(location(&res), "/connections");
    let (ok, errors) = flashes(&app).await;
    assert!(errors.is_empty(), "{errors:?}");
    assert!(ok[0].contains("is working"), "{ok:?}");
    let refreshes = sandbox
        .requests("x")
        .await
        .into_iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .unwrap_or_default()
                .ends_with("/oauth2/token")
                && r["body"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("grant_type=refresh_token")
        })
        .count();
    assert_eq!(refreshes, 1);
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM audit_events WHERE action = 'connection.refreshed'")
            .await,
        1
    );
}

#[tokio::test]
async fn an_expired_x_token_is_refreshed_through_the_sandbox_and_the_old_refresh_token_is_dead() {
    let (app, sandbox) = spawn_app_with_sandbox().await;
    app.signed_up_user().await;
    connect(&app, &sandbox, Platform::X).await;
    let id = uuid::Uuid::parse_str(
        &app.scalar_string("SELECT id::text FROM connections")
            .await
            .unwrap(),
    )
    .unwrap();
    let user = picscripter_user(&app).await;
    let before = app
        .state
        .connections
        .grant(
            &app.state
                .connections
                .find_for_user(user, id)
                .await
                .unwrap()
                .unwrap(),
        )
        .await
        .unwrap();
    // Two hours pass at the platform and here.
    sandbox.advance_clock(7300).await;
    app.db
        .execute_unprepared(&format!(
            "UPDATE connections SET expires_at = now() - interval '1 minute' WHERE id = '{id}'"
        ))
        .await
        .unwrap();

    let token = app.state.connections.access_token(id).await.unwrap();
    assert_ne!(
        token.expose_secret(),
        before.access_token.unwrap().expose_secret()
    );
    // The old refresh token was rotated away: the platform refuses it now.
    let old = before.refresh_token.unwrap();
    let res = sandbox
        .client
        .post(format!("{}/x/api.x.com/2/oauth2/token", sandbox.url))
        .basic_auth("sandbox-x-client-id", Some("sandbox-x-client-secret"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", old.expose_secret()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
}

use sea_orm::ConnectionTrait as _;

#[tokio::test(flavor = "current_thread")]
async fn tokens_never_reach_the_logs_the_pages_or_the_api() {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (app, sandbox) = spawn_app_with_sandbox().await;
    let email = app.signed_up_user().await;
    for platform in Platform::ALL {
        connect(&app, &sandbox, platform).await;
    }
    let user = picscripter_user(&app).await;
    let mut secrets = Vec::new();
    for m in app.state.connections.list_for_user(user).await.unwrap() {
        let g = app.state.connections.grant(&m).await.unwrap();
        secrets.extend(g.access_token.map(|t| t.expose_secret().to_owned()));
        secrets.extend(g.refresh_token.map(|t| t.expose_secret().to_owned()));
    }
    assert!(secrets.len() >= 10);
    let api_token = picscripter::security::api_tokens::create(&app.db, user, "logs")
        .await
        .unwrap();
    let api = app
        .client
        .get(app.url("/api/v1/connections"))
        .bearer_auth(api_token.plaintext.expose_secret())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (_, page) = app.get_html("/connections").await;
    let (_, dashboard) = app.get_html("/dashboard").await;

    let logs = String::from_utf8_lossy(&buffer.0.lock().unwrap()).into_owned();
    assert!(logs.len() > 1000, "the logs were captured");
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a platform token is in the logs"
        );
        assert!(
            !api.contains(secret.as_str())
                && !page.contains(secret.as_str())
                && !dashboard.contains(secret.as_str())
        );
    }
    assert!(
        !logs.contains(crate::helpers::PASSWORD),
        "the password is in the logs"
    );
    assert!(!logs.contains(api_token.plaintext.expose_secret()));
    assert!(
        !logs.contains(&email),
        "e-mail addresses stay out of the logs too"
    );
}

#[tokio::test]
async fn fifty_concurrent_callers_cause_exactly_one_refresh_at_the_sandbox() {
    let (app, sandbox) = spawn_app_with_sandbox().await;
    app.signed_up_user().await;
    connect(&app, &sandbox, Platform::X).await;
    let id = uuid::Uuid::parse_str(
        &app.scalar_string("SELECT id::text FROM connections")
            .await
            .unwrap(),
    )
    .unwrap();
    sandbox.advance_clock(7300).await;
    app.db
        .execute_unprepared(&format!(
            "UPDATE connections SET expires_at = now() - interval '1 minute' WHERE id = '{id}'"
        ))
        .await
        .unwrap();

    let connections = std::sync::Arc::new(app.state.connections.clone());
    let calls = (0..50).map(|_| {
        let c = connections.clone();
        tokio::spawn(async move {
            c.access_token(id)
                .await
                .map(|t| t.expose_secret().to_owned())
        })
    });
    let tokens: Vec<String> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();

    assert!(
        tokens.windows(2).all(|w| w[0] == w[1]),
        "everyone got the same fresh token"
    );
    let refreshes = sandbox
        .requests("x")
        .await
        .into_iter()
        .filter(|r| {
            r["body"]
                .as_str()
                .unwrap_or_default()
                .contains("grant_type=refresh_token")
        })
        .count();
    assert_eq!(refreshes, 1);
}

#[tokio::test]
async fn tiktok_offers_only_the_privacy_levels_the_creator_may_use() {
    let (app, sandbox) = spawn_app_with_sandbox().await;
    app.signed_up_user().await;
    connect(&app, &sandbox, Platform::Tiktok).await;
    let id = app
        .scalar_string("SELECT id::text FROM connections")
        .await
        .unwrap();
    assert_eq!(
        app.scalar_string("SELECT metadata->'creator'->>'privacy_level_options' FROM connections")
            .await
            .unwrap(),
        r#"["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]"#
    );
    let (_, composer) = app.get_html("/posts/new").await;
    let offered = texts(
        &composer,
        &format!("select[name='opt.{id}.privacy_level'] option"),
    );
    assert_eq!(
        offered,
        vec!["Choose who can watch", "Everyone", "Friends", "Only me"]
    );

    let res = app
        .post_form(
            "/compose/check",
            &[
                ("body", "A clip"),
                ("target", &id),
                (&format!("opt.{id}.privacy_level"), "FOLLOWER_OF_CREATOR"),
            ],
        )
        .await;
    let html = res.text().await.unwrap();
    let issues = texts(&html, &format!("#check-{id} .issue-error"));
    assert!(issues.iter().any(|i| i.contains("Followers")), "{issues:?}");
}
