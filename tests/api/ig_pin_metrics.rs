//! Engagement numbers from Instagram media insights and Pinterest pin analytics: the metrics
//! sources against the platform sandbox (posts published there first), and against wiremock for
//! the refusals the sandbox has no switch for.

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use picscripter::domain::Platform;
use picscripter::platforms::metrics::{Account, MetricsError, PostCounts, RemotePost};
use picscripter::platforms::{AuthorizeParams, ExchangeParams, Registry};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{TestSandbox, base_env, location};

const REDIRECT: &str = "http://127.0.0.1:9/callback";

fn registry(platform_url: &str) -> Registry {
    let mut env = base_env("igpin_metrics_unused", "igpin-metrics");
    env.insert("SANDBOX_URL".into(), platform_url.to_owned());
    env.insert("PUBLIC_BASE_URL".into(), "http://127.0.0.1:9".into());
    let config = picscripter::config::Config::from_env(&env).expect("a complete configuration");
    Registry::new(Arc::new(config))
}

/// A connected account: its token and the facts the consent gave.
struct Connected {
    token: SecretString,
    account_id: String,
    metadata: Value,
}

impl Connected {
    fn account(&self) -> Account<'_> {
        Account {
            access_token: &self.token,
            account_id: &self.account_id,
            metadata: &self.metadata,
        }
    }
}

/// Goes through the sandbox's consent page with the app's own OAuth client.
async fn connect(sandbox: &TestSandbox, registry: &Registry, platform: Platform) -> Connected {
    let oauth = registry.oauth(platform).unwrap();
    let url = oauth
        .authorize_url(&AuthorizeParams {
            state: "state-1",
            redirect_uri: REDIRECT,
            pkce_challenge: None,
            shop: None,
        })
        .unwrap();
    let html = sandbox
        .client
        .get(url.clone())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (action, mut fields) = {
        let doc = scraper::Html::parse_document(&html);
        let form = doc
            .select(&scraper::Selector::parse("form").unwrap())
            .next()
            .expect("the consent page has a form");
        let action = url.join(form.value().attr("action").unwrap_or("")).unwrap();
        let mut fields = Vec::new();
        for input in form.select(&scraper::Selector::parse("input").unwrap()) {
            let v = input.value();
            let kind = v.attr("type").unwrap_or("text");
            if kind == "submit" || (kind == "checkbox" && v.attr("checked").is_none()) {
                continue;
            }
            if let Some(name) = v.attr("name") {
                fields.push((name.to_owned(), v.attr("value").unwrap_or("").to_owned()));
            }
        }
        (action, fields)
    };
    fields.retain(|(k, _)| k != "decision");
    fields.push(("decision".into(), "allow".into()));
    let res = sandbox
        .client
        .post(action)
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection(), "{}", res.status());
    let back = reqwest::Url::parse(&location(&res)).unwrap();
    let code = back
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("the consent gives a code");
    let tokens = oauth
        .exchange_code(&ExchangeParams {
            code: &code,
            redirect_uri: REDIRECT,
            pkce_verifier: None,
            shop: None,
        })
        .await
        .unwrap();
    let account = oauth.accounts(&tokens, None).await.unwrap().remove(0);
    Connected {
        token: account.access_token.unwrap_or(tokens.access_token),
        account_id: account.account_id,
        metadata: account.metadata,
    }
}

fn jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(640, 640, image::Rgb([180, 120, 90]));
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .unwrap();
    out.into_inner()
}

/// Publishes a photo on Instagram through the sandbox's Graph API; returns the media id.
async fn instagram_post(sandbox: &TestSandbox, ig: &Connected) -> String {
    let media = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex("/photo.jpg$"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(jpeg(), "image/jpeg"))
        .mount(&media)
        .await;
    let user = ig.metadata["ig_user_id"].as_str().unwrap();
    let graph = |p: &str| format!("{}/instagram/graph.instagram.com/v21.0/{p}", sandbox.url);
    let token = ig.token.expose_secret();
    let send = |req: reqwest::RequestBuilder| async move {
        let res = req.bearer_auth(token).send().await.unwrap();
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    };
    let container = send(sandbox.client.post(graph(&format!("{user}/media"))).form(&[
        ("image_url", format!("{}/photo.jpg", media.uri())),
        ("caption", "Glazed mugs, fresh from the kiln".into()),
    ]))
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..100 {
        let status = send(
            sandbox
                .client
                .get(graph(&format!("{container}?fields=status_code"))),
        )
        .await;
        if status["status_code"] == "FINISHED" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    send(
        sandbox
            .client
            .post(graph(&format!("{user}/media_publish")))
            .form(&[("creation_id", container)]),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Makes a pin on the account's default board; returns the pin id.
async fn pin(sandbox: &TestSandbox, pinterest: &Connected) -> String {
    use base64::Engine as _;
    let board = pinterest.metadata["default_board_id"].as_str().unwrap();
    let res = sandbox
        .client
        .post(format!(
            "{}/pinterest/api.pinterest.com/v5/pins",
            sandbox.url
        ))
        .bearer_auth(pinterest.token.expose_secret())
        .json(&json!({
            "board_id": board,
            "title": "Speckled mug",
            "media_source": {
                "source_type": "image_base64",
                "content_type": "image/jpeg",
                "data": base64::engine::general_purpose::STANDARD.encode(jpeg()),
            },
        }))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

fn post(id: &str, at: DateTime<Utc>) -> RemotePost {
    RemotePost {
        id: id.to_owned(),
        published_at: at,
    }
}

async fn read(
    registry: &Registry,
    platform: Platform,
    who: &Connected,
    posts: &[RemotePost],
    now: DateTime<Utc>,
) -> Result<HashMap<String, PostCounts>, MetricsError> {
    let source = registry.metrics(platform).expect("a metrics source");
    assert_eq!(source.batch_size(), 25);
    source.fetch(&who.account(), posts, now).await
}

fn counts(
    answer: &HashMap<String, PostCounts>,
    id: &str,
) -> picscripter::platforms::metrics::Counts {
    match answer.get(id) {
        Some(PostCounts::Counts(c)) => c.clone(),
        other => panic!("counts for {id} expected, got {other:?}"),
    }
}

#[tokio::test]
async fn instagram_insights_are_not_yet_available_right_after_publishing_then_counts_that_grow() {
    let sandbox = TestSandbox::start().await;
    let registry = registry(&sandbox.url);
    let ig = connect(&sandbox, &registry, Platform::Instagram).await;
    let media = instagram_post(&sandbox, &ig).await;
    let published = sandbox.sandbox.now();
    let posts = [post(&media, published)];

    let fresh = read(
        &registry,
        Platform::Instagram,
        &ig,
        &posts,
        sandbox.sandbox.now(),
    )
    .await
    .unwrap();
    assert_eq!(fresh.get(&media), Some(&PostCounts::NotYet), "never zeros");

    sandbox.advance_clock(86_400).await;
    let day = read(
        &registry,
        Platform::Instagram,
        &ig,
        &posts,
        sandbox.sandbox.now(),
    )
    .await
    .unwrap();
    let first = counts(&day, &media);
    for (name, v) in [
        ("likes", first.likes),
        ("comments", first.replies),
        ("shares", first.reposts),
        ("saved", first.saves),
        ("views", first.views),
    ] {
        assert!(v.is_some(), "{name} is read");
    }
    assert_eq!(first.impressions, None, "reach is not impressions");
    let reach = first.raw["reach"].as_i64().unwrap();
    assert!(reach > 0 && Some(reach) <= first.views);
    assert!(first.raw["total_interactions"].as_i64().is_some());

    sandbox.advance_clock(86_400).await;
    let two = read(
        &registry,
        Platform::Instagram,
        &ig,
        &posts,
        sandbox.sandbox.now(),
    )
    .await
    .unwrap();
    let later = counts(&two, &media);
    assert!(
        later.views > first.views,
        "{:?} then {:?}",
        first.views,
        later.views
    );
    assert!(later.raw["reach"].as_i64().unwrap() > reach);
    assert!(later.likes >= first.likes && later.saves >= first.saves);

    // Only current metrics were asked for.
    let asked: Vec<String> = sandbox
        .requests("instagram")
        .await
        .iter()
        .filter(|r| r["path"].as_str().unwrap_or("").ends_with("/insights"))
        .map(|r| r["query"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(!asked.is_empty());
    assert!(
        asked
            .iter()
            .all(|q| q.contains("metric=") && !q.contains("impressions") && !q.contains("plays")),
        "{asked:?}"
    );
}

#[tokio::test]
async fn the_sandbox_refuses_a_deprecated_instagram_metric_with_a_400() {
    let sandbox = TestSandbox::start().await;
    let registry = registry(&sandbox.url);
    let ig = connect(&sandbox, &registry, Platform::Instagram).await;
    let media = instagram_post(&sandbox, &ig).await;
    let res = sandbox
        .client
        .get(format!(
            "{}/instagram/graph.instagram.com/v21.0/{media}/insights?metric=impressions,reach",
            sandbox.url
        ))
        .bearer_auth(ig.token.expose_secret())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], 100);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("(#100) metric[0] must be one of the following values:"),
        "{body}"
    );
}

#[tokio::test]
async fn unknown_instagram_media_and_unknown_pins_are_gone() {
    let sandbox = TestSandbox::start().await;
    let registry = registry(&sandbox.url);
    let ig = connect(&sandbox, &registry, Platform::Instagram).await;
    let now = sandbox.sandbox.now();
    let answer = read(
        &registry,
        Platform::Instagram,
        &ig,
        &[post("17999999999999999", now)],
        now,
    )
    .await
    .unwrap();
    assert_eq!(answer.get("17999999999999999"), Some(&PostCounts::Gone));

    let pinterest = connect(&sandbox, &registry, Platform::Pinterest).await;
    let answer = read(
        &registry,
        Platform::Pinterest,
        &pinterest,
        &[post("123456789012345678", now)],
        now,
    )
    .await
    .unwrap();
    assert_eq!(answer.get("123456789012345678"), Some(&PostCounts::Gone));
}

#[tokio::test]
async fn pin_analytics_sum_the_ready_days_and_today_s_estimate_and_clicks_are_pin_and_outbound_clicks()
 {
    let sandbox = TestSandbox::start().await;
    let registry = registry(&sandbox.url);
    let pinterest = connect(&sandbox, &registry, Platform::Pinterest).await;
    let id = pin(&sandbox, &pinterest).await;
    let published = sandbox.sandbox.now();
    let posts = [post(&id, published)];

    let fresh = read(
        &registry,
        Platform::Pinterest,
        &pinterest,
        &posts,
        sandbox.sandbox.now(),
    )
    .await
    .unwrap();
    assert_eq!(
        fresh.get(&id),
        Some(&PostCounts::NotYet),
        "today is still processing"
    );

    sandbox.advance_clock(3 * 86_400).await;
    let now = sandbox.sandbox.now();
    let answer = read(&registry, Platform::Pinterest, &pinterest, &posts, now)
        .await
        .unwrap();
    let c = counts(&answer, &id);

    // The same report, read by hand: the sums of the READY days and today's ESTIMATE.
    let res = sandbox
        .client
        .get(format!(
            "{}/pinterest/api.pinterest.com/v5/pins/{id}/analytics?start_date={}&end_date={}&metric_types=IMPRESSION,SAVE,PIN_CLICK,OUTBOUND_CLICK",
            sandbox.url,
            published.date_naive(),
            now.date_naive()
        ))
        .bearer_auth(pinterest.token.expose_secret())
        .send()
        .await
        .unwrap();
    let report: Value = res.json().await.unwrap();
    let ready: Vec<&Value> = report["all"]["daily_metrics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["data_status"] == "READY" || d["data_status"] == "ESTIMATE")
        .collect();
    assert_eq!(ready.len(), 4, "{report}");
    assert_eq!(ready[3]["data_status"], "ESTIMATE", "{report}");
    let sum = |m: &str| {
        ready
            .iter()
            .map(|d| d["metrics"][m].as_i64().unwrap())
            .sum::<i64>()
    };
    assert!(sum("IMPRESSION") > 0);
    assert_eq!(c.impressions, Some(sum("IMPRESSION")));
    assert_eq!(c.saves, Some(sum("SAVE")));
    assert_eq!(c.clicks, Some(sum("PIN_CLICK") + sum("OUTBOUND_CLICK")));
    assert_eq!(c.raw["PIN_CLICK"], sum("PIN_CLICK"));
    assert_eq!(c.raw["OUTBOUND_CLICK"], sum("OUTBOUND_CLICK"));
    assert_eq!((c.likes, c.views), (None, None));
}

fn fake_account() -> Connected {
    Connected {
        token: SecretString::from("IGAA-fake".to_owned()),
        account_id: "17841400000000000".into(),
        metadata: json!({ "ig_user_id": "17841400000000000" }),
    }
}

#[tokio::test]
async fn an_instagram_rate_limit_answer_says_when_to_come_back() {
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex("/insights$"))
        .respond_with(
            ResponseTemplate::new(400)
                .insert_header(
                    "x-app-usage",
                    r#"{"call_count":100,"total_cputime":12,"total_time":40,"estimated_time_to_regain_access":12}"#,
                )
                .set_body_json(json!({"error": {"message": "(#4) Application request limit reached", "type": "OAuthException", "code": 4, "fbtrace_id": "A1"}})),
        )
        .mount(&mock)
        .await;
    let registry = registry(&mock.uri());
    let now = Utc::now();
    let result = read(
        &registry,
        Platform::Instagram,
        &fake_account(),
        &[post("17900000000000001", now)],
        now,
    )
    .await;
    match result {
        Err(MetricsError::RateLimited { reset_at, .. }) => {
            assert_eq!(reset_at, Some(now + chrono::Duration::minutes(12)));
        }
        other => panic!("rate limited expected, got {other:?}"),
    }
}

#[tokio::test]
async fn a_refused_instagram_token_needs_reauthorizing() {
    for (status, body) in [
        (
            400,
            json!({"error": {"message": "Error validating access token: Session has expired", "type": "OAuthException", "code": 190, "error_subcode": 463}}),
        ),
        (
            401,
            json!({"error": {"message": "Invalid OAuth access token", "type": "OAuthException", "code": 190}}),
        ),
    ] {
        let mock = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path_regex("/insights$"))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .mount(&mock)
            .await;
        let registry = registry(&mock.uri());
        let now = Utc::now();
        let result = read(
            &registry,
            Platform::Instagram,
            &fake_account(),
            &[post("17900000000000001", now)],
            now,
        )
        .await;
        assert!(
            matches!(result, Err(MetricsError::NeedsReauth)),
            "{status}: {result:?}"
        );
    }
}
