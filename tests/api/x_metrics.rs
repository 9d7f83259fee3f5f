//! X engagement numbers: the metrics client against the sandbox's `GET /2/tweets` (posts it
//! published itself), and against wiremock for answers the sandbox doesn't give.

use std::collections::HashMap;

use chrono::{DateTime, TimeZone as _, Utc};
use picscripter::platforms::Http;
use picscripter::platforms::metrics::{
    Account, MetricsError, MetricsSource, PostCounts, RemotePost,
};
use picscripter::platforms::x::metrics::XMetrics;
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{TestSandbox, location};

/// A plain PKCE verifier (X accepts `plain`); 43 characters.
const VERIFIER: &str = "metrics-test-verifier-0123456789abcdefghijk";
const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// Connects `login` to the sandbox's X through its consent page, as a browser would.
async fn x_token(s: &TestSandbox, login: &str) -> SecretString {
    let authorize = format!(
        "{}/x/x.com/i/oauth2/authorize?response_type=code&client_id=sandbox-x-client-id&redirect_uri={REDIRECT}&scope=tweet.read%20tweet.write%20users.read&state=s&code_challenge={VERIFIER}&code_challenge_method=plain",
        s.url
    );
    let html = s
        .client
        .get(&authorize)
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
            .expect("a consent form");
        let action = reqwest::Url::parse(&authorize)
            .unwrap()
            .join(form.value().attr("action").unwrap_or(""))
            .unwrap()
            .to_string();
        let fields: Vec<(String, String)> = form
            .select(&scraper::Selector::parse("input").unwrap())
            .filter(|i| !matches!(i.value().attr("type"), Some("submit" | "checkbox")))
            .filter_map(|i| {
                let name = i.value().attr("name")?;
                Some((
                    name.to_owned(),
                    i.value().attr("value").unwrap_or("").to_owned(),
                ))
            })
            .filter(|(k, _)| k != "account" && k != "decision")
            .collect();
        (action, fields)
    };
    fields.push(("account".into(), login.into()));
    fields.push(("decision".into(), "allow".into()));
    let res = s.client.post(&action).form(&fields).send().await.unwrap();
    let back = reqwest::Url::parse(&location(&res)).unwrap();
    let code = back
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    let res = s
        .client
        .post(format!("{}/x/api.x.com/2/oauth2/token", s.url))
        .basic_auth("sandbox-x-client-id", Some("sandbox-x-client-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    SecretString::from(body["access_token"].as_str().expect("a token").to_owned())
}

/// Publishes through the sandbox's `POST /2/tweets`, returning the post as the app stores it.
async fn publish(s: &TestSandbox, token: &SecretString, text: &str) -> RemotePost {
    use secrecy::ExposeSecret as _;
    let res = s
        .client
        .post(format!("{}/x/api.x.com/2/tweets", s.url))
        .bearer_auth(token.expose_secret())
        .json(&json!({ "text": text }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    RemotePost {
        id: body["data"]["id"].as_str().unwrap().to_owned(),
        published_at: s.sandbox.now(),
    }
}

fn metrics(base: &str) -> XMetrics {
    XMetrics {
        http: Http::new(Some(base.parse().unwrap())),
    }
}

async fn fetch(
    source: &XMetrics,
    token: &SecretString,
    posts: &[RemotePost],
    now: DateTime<Utc>,
) -> Result<HashMap<String, PostCounts>, MetricsError> {
    let metadata = json!({});
    let account = Account {
        access_token: token,
        account_id: "1",
        metadata: &metadata,
    };
    source.fetch(&account, posts, now).await
}

/// Every post's numbers, batch by batch as the collection job calls the source.
async fn fetch_all(
    s: &TestSandbox,
    source: &XMetrics,
    token: &SecretString,
    posts: &[RemotePost],
) -> HashMap<String, PostCounts> {
    let mut all = HashMap::new();
    for batch in posts.chunks(source.batch_size()) {
        all.extend(fetch(source, token, batch, s.sandbox.now()).await.unwrap());
    }
    all
}

async fn lookups(s: &TestSandbox) -> Vec<Value> {
    s.requests("x")
        .await
        .into_iter()
        .filter(|r| {
            r["method"] == "GET" && r["path"].as_str().is_some_and(|p| p.ends_with("/2/tweets"))
        })
        .collect()
}

fn counts(c: &PostCounts) -> &picscripter::platforms::metrics::Counts {
    match c {
        PostCounts::Counts(c) => c,
        other => panic!("expected counts, got {other:?}"),
    }
}

#[tokio::test]
async fn two_hundred_and_fifty_x_posts_are_read_in_three_requests_and_their_numbers_only_grow() {
    let s = TestSandbox::start().await;
    let token = x_token(&s, "mapleandmoss").await;
    let mut posts = Vec::new();
    for i in 0..250 {
        posts.push(publish(&s, &token, &format!("Mug number {i}")).await);
    }
    let source = metrics(&s.url);
    assert_eq!(source.batch_size(), 100);
    s.advance_clock(3600).await;

    let first = fetch_all(&s, &source, &token, &posts).await;
    assert_eq!(lookups(&s).await.len(), 3, "100 + 100 + 50 ids");
    assert_eq!(first.len(), 250);
    for p in &posts {
        let c = counts(&first[&p.id]);
        assert!(c.impressions.is_some() && c.likes.is_some() && c.reposts.is_some());
        assert!(
            c.clicks.is_some(),
            "posts under 30 days have private numbers"
        );
        assert_eq!(c.raw["id"], p.id.as_str());
    }

    s.advance_clock(5 * 3600).await;
    let token = x_token(&s, "mapleandmoss").await;
    let later = fetch_all(&s, &source, &token, &posts).await;
    let mut grew = 0;
    for p in &posts {
        let (a, b) = (counts(&first[&p.id]), counts(&later[&p.id]));
        for (name, x, y) in [
            ("impressions", a.impressions, b.impressions),
            ("likes", a.likes, b.likes),
            ("reposts", a.reposts, b.reposts),
            ("replies", a.replies, b.replies),
            ("quotes", a.quotes, b.quotes),
            ("saves", a.saves, b.saves),
            ("clicks", a.clicks, b.clicks),
        ] {
            assert!(y >= x, "{name} of {} shrank: {x:?} then {y:?}", p.id);
        }
        if b.impressions > a.impressions {
            grew += 1;
        }
    }
    assert_eq!(grew, 250, "every post was seen more");
}

#[tokio::test]
async fn an_x_post_the_platform_cannot_find_is_gone() {
    let s = TestSandbox::start().await;
    let token = x_token(&s, "mapleandmoss").await;
    let real = publish(&s, &token, "Still here").await;
    let missing = RemotePost {
        id: "1234567890123456789".into(),
        published_at: s.sandbox.now(),
    };
    let out = fetch(
        &metrics(&s.url),
        &token,
        &[real.clone(), missing.clone()],
        s.sandbox.now(),
    )
    .await
    .unwrap();
    assert!(matches!(out[&real.id], PostCounts::Counts(_)));
    assert_eq!(out[&missing.id], PostCounts::Gone);
}

#[tokio::test]
async fn x_posts_older_than_thirty_days_get_no_private_numbers() {
    let s = TestSandbox::start().await;
    let token = x_token(&s, "mapleandmoss").await;
    let old = publish(&s, &token, "From last season").await;
    s.advance_clock(31 * 86_400).await;
    let token = x_token(&s, "mapleandmoss").await;
    let young = publish(&s, &token, "Fresh from the kiln").await;
    s.advance_clock(600).await;

    let out = fetch(
        &metrics(&s.url),
        &token,
        &[old.clone(), young.clone()],
        s.sandbox.now(),
    )
    .await
    .unwrap();
    let (o, y) = (counts(&out[&old.id]), counts(&out[&young.id]));
    assert_eq!(o.clicks, None);
    assert!(o.raw.get("non_public_metrics").is_none());
    assert!(o.impressions.unwrap() > 0, "public numbers still come");
    assert!(y.clicks.is_some());
    let asked: Vec<String> = lookups(&s)
        .await
        .iter()
        .map(|r| r["query"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(asked.len(), 2, "one request per age: {asked:?}");
    let private: Vec<&String> = asked
        .iter()
        .filter(|q| q.contains("non_public_metrics"))
        .collect();
    assert_eq!(private.len(), 1, "{asked:?}");
    assert!(
        private[0].contains(&young.id) && !private[0].contains(&old.id),
        "{asked:?}"
    );
}

#[tokio::test]
async fn the_sandbox_refuses_an_x_lookup_of_a_hundred_and_one_ids() {
    use secrecy::ExposeSecret as _;
    let s = TestSandbox::start().await;
    let token = x_token(&s, "mapleandmoss").await;
    let ids: Vec<String> = (0..101).map(|i| (1_000_000 + i).to_string()).collect();
    let res = s
        .client
        .get(format!(
            "{}/x/api.x.com/2/tweets?ids={}&tweet.fields=public_metrics",
            s.url,
            ids.join(",")
        ))
        .bearer_auth(token.expose_secret())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["errors"][0]["parameters"].get("ids").is_some(),
        "{body}"
    );
}

#[tokio::test]
async fn the_sandbox_s_lookup_window_makes_the_client_wait_until_its_reset() {
    let s = TestSandbox::start().await;
    s.sandbox.set_limits(&picscripter::sandbox::LimitsSpec {
        x_post_lookups_per_15_min: Some(1),
        ..Default::default()
    });
    let token = x_token(&s, "mapleandmoss").await;
    let post = publish(&s, &token, "Only once").await;
    let source = metrics(&s.url);
    let now = s.sandbox.now();
    fetch(&source, &token, std::slice::from_ref(&post), now)
        .await
        .unwrap();
    match fetch(&source, &token, std::slice::from_ref(&post), now).await {
        Err(MetricsError::RateLimited {
            reset_at: Some(at), ..
        }) => {
            let wait = (at - now).num_seconds();
            assert!((890..=902).contains(&wait), "about 15 minutes: {wait}s");
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

fn mock_post(fields: Value) -> Value {
    json!({ "data": [{ "id": "1", "text": "hi", "public_metrics": fields }] })
}

fn one_post() -> Vec<RemotePost> {
    vec![RemotePost {
        id: "1".into(),
        published_at: Utc::now(),
    }]
}

#[tokio::test]
async fn an_x_answer_that_says_repost_count_maps_to_reposts() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/x/api.x.com/2/tweets"))
        .respond_with(ResponseTemplate::new(200).set_body_json(mock_post(
            json!({ "repost_count": 7, "like_count": 3, "reply_count": 1 }),
        )))
        .mount(&server)
        .await;
    let token = SecretString::from("t".to_owned());
    let out = fetch(&metrics(&server.uri()), &token, &one_post(), Utc::now())
        .await
        .unwrap();
    let c = counts(&out["1"]);
    assert_eq!(c.reposts, Some(7));
    assert_eq!(c.likes, Some(3));
    assert_eq!(c.quotes, None, "a number X didn't give stays unknown");
}

#[tokio::test]
async fn a_refused_private_request_still_gives_the_public_numbers() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/x/api.x.com/2/tweets"))
        .and(query_param("tweet.fields", "public_metrics,non_public_metrics"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "title": "Unsupported Authentication", "status": 403, "type": "about:blank",
            "detail": "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint."
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/x/api.x.com/2/tweets"))
        .and(query_param("tweet.fields", "public_metrics"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(mock_post(json!({ "retweet_count": 2 }))),
        )
        .mount(&server)
        .await;
    let token = SecretString::from("t".to_owned());
    let out = fetch(&metrics(&server.uri()), &token, &one_post(), Utc::now())
        .await
        .unwrap();
    assert_eq!(counts(&out["1"]).reposts, Some(2));
}

#[tokio::test]
async fn an_x_429_is_rate_limited_until_the_reset_x_names() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/x/api.x.com/2/tweets"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("x-rate-limit-limit", "5000")
                .insert_header("x-rate-limit-remaining", "0")
                .insert_header("x-rate-limit-reset", "1900000000")
                .set_body_json(
                    json!({ "errors": [{ "code": 88, "message": "Rate limit exceeded" }] }),
                ),
        )
        .mount(&server)
        .await;
    let token = SecretString::from("t".to_owned());
    match fetch(&metrics(&server.uri()), &token, &one_post(), Utc::now()).await {
        Err(MetricsError::RateLimited { reset_at, .. }) => assert_eq!(
            reset_at,
            // `reset_time` adds a second: X rounds the reset down.
            Some(Utc.timestamp_opt(1_900_000_001, 0).unwrap())
        ),
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

#[tokio::test]
async fn an_x_401_asks_for_the_account_to_be_reconnected() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/x/api.x.com/2/tweets"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"
        })))
        .mount(&server)
        .await;
    let token = SecretString::from("t".to_owned());
    let result = fetch(&metrics(&server.uri()), &token, &one_post(), Utc::now()).await;
    assert!(
        matches!(result, Err(MetricsError::NeedsReauth)),
        "{result:?}"
    );
}
