//! Engagement numbers from Facebook Pages and LinkedIn company pages: a seller publishes through
//! the worker and the platform sandbox, then one collection pass stores what the sandbox serves
//! for those posts. A member's own LinkedIn post isn't asked about; refusals and rate limits
//! come from sandbox faults.

use std::time::Duration;

use chrono::{DateTime, Days, NaiveTime, Utc};
use picscripter::domain::Platform;
use picscripter::jobs::collect_metrics::{Collector, SCHEDULE_SECS};
use picscripter::platforms::linkedin::metrics::statistics_url;
use picscripter::platforms::linkedin::publish::API_VERSION;
use sea_orm::EntityTrait as _;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tempfile::TempDir;
use uuid::Uuid;

use crate::helpers::{TestApp, TestSandbox, eventually};
use crate::oauth::connect_choosing;

/// Past the 1-hour snapshot: the sandbox's Facebook and LinkedIn numbers grow in whole hours
/// (two reads within the hour agree), so the first hour has none yet.
const FIRST_SNAPSHOT: i64 = SCHEDULE_SECS[1] + 120;

struct Seller {
    app: TestApp,
    sandbox: TestSandbox,
    _media: TempDir,
    api: String,
}

async fn seller() -> Seller {
    let (app, sandbox, media) = crate::helpers::spawn_app_with_sandbox_and_media(|_| {}).await;
    app.signed_up_user().await;
    let user = app.newest_user_id().await;
    let api = app.api_token_of(user).await;
    Seller {
        app,
        sandbox,
        _media: media,
        api,
    }
}

impl Seller {
    /// Connects `platform` choosing the account named `name` (the first offered when `None`).
    async fn connect(&self, platform: Platform, name: Option<&str>) -> Uuid {
        connect_choosing(&self.app, &self.sandbox, platform, name).await;
        self.app
            .scalar_string(&format!(
                "SELECT id::text FROM connections WHERE platform = '{platform}' ORDER BY created_at DESC LIMIT 1"
            ))
            .await
            .unwrap()
            .parse()
            .unwrap()
    }

    /// Publishes one text post to each connection through the worker; returns each target's id
    /// and remote id, in order.
    async fn publish(&self, connections: &[Uuid]) -> Vec<(Uuid, String)> {
        let mut posts = Vec::new();
        for (i, c) in connections.iter().enumerate() {
            let res = self
                .app
                .client
                .post(self.app.url("/api/v1/posts"))
                .bearer_auth(&self.api)
                .json(&json!({
                    "body": format!("Fresh from the kiln, batch {i}"),
                    "targets": [{ "connection_id": c }],
                    "publish_now": true,
                }))
                .send()
                .await
                .unwrap();
            let body: Value = res.json().await.unwrap();
            posts.push(
                body["id"]
                    .as_str()
                    .expect("the post is accepted")
                    .to_owned(),
            );
        }
        let worker = self.app.spawn_worker_with(|env| {
            env.insert("METRICS_ENGAGEMENT".into(), "false".into());
        });
        eventually(
            "every post is published",
            Duration::from_secs(60),
            || async {
                self.app
                    .scalar_i64("SELECT count(*) FROM post_targets WHERE status <> 'published'")
                    .await
                    == 0
            },
        )
        .await;
        worker.stop().await;
        let mut out = Vec::new();
        for post in posts {
            let row = self
                .app
                .scalar_string(&format!(
                    "SELECT id::text || ' ' || remote_id FROM post_targets WHERE post_id = '{post}'"
                ))
                .await
                .unwrap();
            let (id, remote) = row.split_once(' ').unwrap();
            out.push((id.parse().unwrap(), remote.to_owned()));
        }
        out
    }

    async fn token_of(&self, connection: Uuid) -> SecretString {
        let model = picscripter::entities::connections::Entity::find_by_id(connection)
            .one(&self.app.db)
            .await
            .unwrap()
            .unwrap();
        self.app
            .state
            .connections
            .access_token_of(&model)
            .await
            .unwrap()
    }

    /// Moves the sandbox clock past the first snapshot and runs one collection pass at the same
    /// time on the app's side.
    async fn collect_first_snapshot(
        &self,
    ) -> (picscripter::jobs::collect_metrics::Report, DateTime<Utc>) {
        self.sandbox.advance_clock(FIRST_SNAPSHOT).await;
        let now = Utc::now() + chrono::Duration::seconds(FIRST_SNAPSHOT);
        let collector = Collector {
            db: self.app.db.clone(),
            connections: self.app.state.connections.clone(),
        };
        (collector.run_once(now).await.unwrap(), now)
    }

    /// The stored snapshot of a target: likes, replies, reposts, impressions, clicks, views.
    async fn snapshot(&self, target: Uuid) -> Option<String> {
        self.app
            .scalar_string(&format!(
                "SELECT concat_ws(' ', coalesce(likes::text, '-'), coalesce(replies::text, '-'), coalesce(reposts::text, '-'),
                        coalesce(impressions::text, '-'), coalesce(clicks::text, '-'), coalesce(views::text, '-'))
                 FROM post_metrics WHERE target_id = '{target}'"
            ))
            .await
    }

    async fn raw(&self, target: Uuid, key: &str) -> Option<i64> {
        self.app
            .scalar_string(&format!(
                "SELECT raw->>'{key}' FROM post_metrics WHERE target_id = '{target}'"
            ))
            .await
            .and_then(|v| v.parse().ok())
    }

    /// Seconds from `now` to the target's next try.
    async fn retry_in(&self, target: Uuid, now: DateTime<Utc>) -> i64 {
        self.app
            .scalar_i64(&format!(
                "SELECT extract(epoch FROM metrics_retry_at - '{}'::timestamptz)::bigint FROM post_targets WHERE id = '{target}'",
                now.to_rfc3339()
            ))
            .await
    }
}

fn text(v: Option<i64>) -> String {
    v.map_or("-".to_owned(), |n| n.to_string())
}

#[tokio::test]
async fn facebook_and_linkedin_company_page_numbers_are_stored_as_the_sandbox_serves_them_and_a_member_post_is_not_asked_about()
 {
    let s = seller().await;
    let page = s.connect(Platform::Facebook, None).await;
    let member = s.connect(Platform::Linkedin, Some("Maya Moss")).await;
    let company = s
        .connect(Platform::Linkedin, Some("Maple & Moss Ceramics"))
        .await;
    assert_eq!(
        s.app
            .scalar_string(&format!(
                "SELECT string_agg(metadata->>'author_kind', ',' ORDER BY created_at) FROM connections WHERE id IN ('{member}', '{company}')"
            ))
            .await
            .as_deref(),
        Some("person,organization")
    );
    let posts = s.publish(&[page, member, company]).await;
    let [(fb, fb_id), (mine, mine_urn), (org, org_urn)] = posts.as_slice() else {
        panic!("three targets");
    };

    let (report, _) = s.collect_first_snapshot().await;
    assert_eq!(report.claimed, 3);
    assert_eq!(report.snapshots, 2, "{report:?}");
    assert_eq!(report.gone, 1, "the member's post ends its collection");

    // Facebook: what the post node answers now, read by hand with the Page token.
    let page_token = s.token_of(page).await;
    let res = s
        .sandbox
        .client
        .get(format!(
            "{}/facebook/graph.facebook.com/v21.0/{fb_id}?fields={}",
            s.sandbox.url,
            picscripter::platforms::facebook::metrics::fields(fb_id)
        ))
        .bearer_auth(page_token.expose_secret())
        .send()
        .await
        .unwrap();
    let served: Value = res.json().await.unwrap();
    let insight = |name: &str| {
        served["insights"]["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .and_then(|m| m["values"][0]["value"].as_i64())
    };
    let expected = [
        text(served["reactions"]["summary"]["total_count"].as_i64()),
        text(served["comments"]["summary"]["total_count"].as_i64()),
        text(served["shares"]["count"].as_i64()),
        "-".into(),
        text(insight("post_clicks")),
        "-".into(),
    ]
    .join(" ");
    assert_eq!(s.snapshot(*fb).await, Some(expected), "{served}");
    let viewers = insight("post_total_media_view_unique");
    assert!(viewers.is_some_and(|v| v > 0), "{served}");
    assert_eq!(s.raw(*fb, "post_total_media_view_unique").await, viewers);

    // LinkedIn company page: the statistics the sandbox serves for the page's share.
    let li_token = s.token_of(company).await;
    let org_urn_of_page = s
        .app
        .scalar_string(&format!(
            "SELECT metadata->>'author_urn' FROM connections WHERE id = '{company}'"
        ))
        .await
        .unwrap();
    let url = statistics_url(&org_urn_of_page, "shares", &[org_urn.as_str()])
        .replace("https://", &format!("{}/linkedin/", s.sandbox.url));
    let res = s
        .sandbox
        .client
        .get(url)
        .bearer_auth(li_token.expose_secret())
        .header("LinkedIn-Version", API_VERSION)
        .header("X-Restli-Protocol-Version", "2.0.0")
        .send()
        .await
        .unwrap();
    let served: Value = res.json().await.unwrap();
    let stats = &served["elements"][0]["totalShareStatistics"];
    let expected = [
        text(stats["likeCount"].as_i64()),
        text(stats["commentCount"].as_i64()),
        text(stats["shareCount"].as_i64()),
        text(stats["impressionCount"].as_i64()),
        text(stats["clickCount"].as_i64()),
        "-".into(),
    ]
    .join(" ");
    assert!(stats["impressionCount"].as_i64().unwrap() > 0, "{served}");
    assert_eq!(s.snapshot(*org).await, Some(expected), "{served}");
    assert_eq!(
        s.raw(*org, "uniqueImpressionsCount").await,
        stats["uniqueImpressionsCount"].as_i64()
    );

    // The member's post: never asked about, no snapshot, collection over.
    let asked: Vec<String> = s
        .sandbox
        .requests("linkedin")
        .await
        .iter()
        .filter(|r| {
            r["path"].as_str().is_some_and(|p| {
                p.contains("organizationalEntityShareStatistics") || p.contains("/rest/posts/")
            })
        })
        .map(|r| r["query"].as_str().unwrap_or_default().to_owned())
        .collect();
    let encoded_mine: String = url::form_urlencoded::byte_serialize(mine_urn.as_bytes()).collect();
    assert_eq!(
        asked.len(),
        2,
        "one statistics request by the collector, one by hand: {asked:?}"
    );
    assert!(
        asked.iter().all(|q| !q.contains(&encoded_mine)),
        "{asked:?}"
    );
    assert_eq!(s.snapshot(*mine).await, None);
    assert_eq!(
        s.app
            .scalar_i64(&format!(
                "SELECT metrics_step::bigint FROM post_targets WHERE id = '{mine}'"
            ))
            .await,
        picscripter::jobs::collect_metrics::SCHEDULE_SECS.len() as i64,
        "collection ended"
    );
}

#[tokio::test]
async fn a_facebook_token_refused_with_code_190_marks_the_page_as_needing_reconnection() {
    let s = seller().await;
    let page = s.connect(Platform::Facebook, None).await;
    let posts = s.publish(&[page]).await;
    s.sandbox
        .fault(json!({ "platform": "facebook", "expire_tokens": true }))
        .await;

    let (report, _) = s.collect_first_snapshot().await;
    assert_eq!(report.paused, 1, "{report:?}");
    assert_eq!(
        s.app
            .scalar_string(&format!(
                "SELECT status FROM connections WHERE id = '{page}'"
            ))
            .await
            .as_deref(),
        Some("needs_reauth")
    );
    assert_eq!(s.snapshot(posts[0].0).await, None);
}

#[tokio::test]
async fn rate_limited_facebook_and_linkedin_reads_wait_for_the_time_each_platform_gives() {
    let s = seller().await;
    let page = s.connect(Platform::Facebook, None).await;
    let company = s
        .connect(Platform::Linkedin, Some("Maple & Moss Ceramics"))
        .await;
    let posts = s.publish(&[page, company]).await;
    let (fb, fb_id) = &posts[0];
    let org = posts[1].0;
    // The windows start now on the sandbox clock; the collection pass runs after the clock
    // moves, so the windows are opened right before it.
    s.sandbox.advance_clock(FIRST_SNAPSHOT).await;
    for (platform, path) in [
        ("facebook", fb_id.as_str()),
        ("linkedin", "organizationalEntityShareStatistics"),
    ] {
        s.sandbox
            .fault(json!({ "platform": platform, "path": path, "rate_limit": { "reset_after_secs": 1800 } }))
            .await;
    }
    let now = Utc::now() + chrono::Duration::seconds(FIRST_SNAPSHOT);
    let collector = Collector {
        db: s.app.db.clone(),
        connections: s.app.state.connections.clone(),
    };
    let report = collector.run_once(now).await.unwrap();
    assert_eq!(report.rate_limited, 2, "{report:?}");
    assert_eq!((report.snapshots, report.gone), (0, 0));

    // Facebook says 30 minutes in X-Business-Use-Case-Usage.
    let wait = s.retry_in(*fb, now).await;
    assert!((1799..=1801).contains(&wait), "{wait}s");
    // LinkedIn says nothing: its daily limits reset at midnight UTC.
    let midnight = (now.date_naive() + Days::new(1))
        .and_time(NaiveTime::MIN)
        .and_utc();
    let wait = s.retry_in(org, now).await;
    assert!(
        ((midnight - now).num_seconds() - wait).abs() <= 1,
        "{wait}s, midnight in {}s",
        (midnight - now).num_seconds()
    );
}

#[tokio::test]
async fn posts_the_platforms_dont_know_are_gone_and_the_sandbox_refuses_deprecated_metrics_and_unencoded_lists()
 {
    use picscripter::platforms::metrics::{Account, PostCounts, RemotePost};
    let s = seller().await;
    let page = s.connect(Platform::Facebook, None).await;
    let company = s
        .connect(Platform::Linkedin, Some("Maple & Moss Ceramics"))
        .await;
    let now = Utc::now();
    for (connection, platform) in [(page, Platform::Facebook), (company, Platform::Linkedin)] {
        let model = picscripter::entities::connections::Entity::find_by_id(connection)
            .one(&s.app.db)
            .await
            .unwrap()
            .unwrap();
        let token = s.token_of(connection).await;
        let unknown = match platform {
            Platform::Facebook => format!("{}_1234567890123456", model.account_id),
            _ => "urn:li:share:7000000000000000001".to_owned(),
        };
        let source = s
            .app
            .state
            .connections
            .registry()
            .metrics(platform)
            .unwrap();
        let answer = source
            .fetch(
                &Account {
                    access_token: &token,
                    account_id: &model.account_id,
                    metadata: &model.metadata,
                },
                &[RemotePost {
                    id: unknown.clone(),
                    published_at: now,
                }],
                now,
            )
            .await
            .unwrap();
        assert_eq!(answer.get(&unknown), Some(&PostCounts::Gone), "{platform}");
    }

    // A post on the Page, asked for a deprecated insights metric.
    let page_token = s.token_of(page).await;
    let page_id = s
        .app
        .scalar_string(&format!(
            "SELECT account_id FROM connections WHERE id = '{page}'"
        ))
        .await
        .unwrap();
    let graph = format!("{}/facebook/graph.facebook.com/v21.0", s.sandbox.url);
    let res = s
        .sandbox
        .client
        .post(format!("{graph}/{page_id}/feed"))
        .bearer_auth(page_token.expose_secret())
        .form(&[("message", "Kiln day")])
        .send()
        .await
        .unwrap();
    let post: Value = res.json().await.unwrap();
    let post_id = post["id"].as_str().unwrap();
    let res = s
        .sandbox
        .client
        .get(format!(
            "{graph}/{post_id}?fields=shares,insights.metric(post_clicks,post_impressions_unique)"
        ))
        .bearer_auth(page_token.expose_secret())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], 100);
    assert_eq!(
        body["error"]["message"],
        "(#100) The value must be a valid insights metric"
    );

    // URNs inside List() must be URL-encoded (Rest.li 2.0).
    let li_token = s.token_of(company).await;
    let org = s
        .app
        .scalar_string(&format!(
            "SELECT metadata->>'author_urn' FROM connections WHERE id = '{company}'"
        ))
        .await
        .unwrap();
    let res = s
        .sandbox
        .client
        .get(format!(
            "{}/linkedin/api.linkedin.com/rest/organizationalEntityShareStatistics?q=organizationalEntity&organizationalEntity={}&shares=List(urn:li:share:1)",
            s.sandbox.url,
            url::form_urlencoded::byte_serialize(org.as_bytes()).collect::<String>()
        ))
        .bearer_auth(li_token.expose_secret())
        .header("LinkedIn-Version", API_VERSION)
        .header("X-Restli-Protocol-Version", "2.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "ILLEGAL_ARGUMENT", "{body}");
}
