//! Publishing end to end: the worker (in this process) publishes due posts through the platform
//! sandbox — each network and kind of post, exactly once under two workers, a killed worker, a
//! flushed queue, last-second edits, a stampede of clicks, rate limits, expiring tokens and
//! refusals — and the pages say what happened.

use std::time::Duration;

use chrono::{Timelike as _, Utc};
use picscripter::domain::Platform;
use reqwest::StatusCode;
use sea_orm::ConnectionTrait as _;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tempfile::TempDir;
use uuid::Uuid;

use crate::helpers::{TestApp, TestSandbox, eventually, texts};
use crate::media::{jpeg, mp4_video, png, stored};
use crate::oauth::{connect, connect_choosing};

/// An app with the sandbox, a media folder of its own, a signed-up seller, and publishing timings
/// short enough for tests (a 5 s lease, 1 s first retry, lost jobs re-queued after 2 s).
struct Shop {
    app: TestApp,
    sandbox: TestSandbox,
    _media: TempDir,
    user: Uuid,
    token: String,
}

const TEST_TIMINGS: [(&str, &str); 5] = [
    ("PUBLISH_LEASE_SECS", "5"),
    ("PUBLISH_RETRY_BASE_SECS", "1"),
    ("PUBLISH_REQUEUE_AFTER_SECS", "2"),
    ("WORKER_CONCURRENCY", "32"),
    ("SHUTDOWN_GRACE_SECS", "2"),
];

async fn shop() -> Shop {
    let (app, sandbox, media) = crate::helpers::spawn_app_with_sandbox_and_media(|env| {
        for (k, v) in TEST_TIMINGS {
            env.insert(k.into(), v.into());
        }
    })
    .await;
    app.signed_up_user().await;
    let user: Uuid = app
        .scalar_string("SELECT id::text FROM users LIMIT 1")
        .await
        .unwrap()
        .parse()
        .unwrap();
    let token = picscripter::security::api_tokens::create(&app.db, user, "tests")
        .await
        .unwrap()
        .plaintext
        .expose_secret()
        .to_owned();
    Shop {
        app,
        sandbox,
        _media: media,
        user,
        token,
    }
}

impl Shop {
    /// Connects `platform` through its consent page; returns the connection's id.
    async fn connect(&self, platform: Platform) -> Uuid {
        connect(&self.app, &self.sandbox, platform).await;
        self.app
            .scalar_string(&format!(
                "SELECT id::text FROM connections WHERE platform = '{platform}' ORDER BY created_at DESC LIMIT 1"
            ))
            .await
            .unwrap()
            .parse()
            .unwrap()
    }

    /// Connects `platform`, choosing the account named `name` when several are offered.
    async fn connect_choosing(&self, platform: Platform, name: &str) -> Uuid {
        connect_choosing(&self.app, &self.sandbox, platform, Some(name)).await;
        self.app
            .scalar_string(&format!(
                "SELECT id::text FROM connections WHERE platform = '{platform}' AND display_name = '{name}'"
            ))
            .await
            .unwrap()
            .parse()
            .unwrap()
    }

    /// Creates a post through the API; `when` is `None` for "publish now".
    async fn post(
        &self,
        body: &str,
        media: &[Uuid],
        targets: Value,
        when: Option<chrono::DateTime<Utc>>,
    ) -> Uuid {
        let mut req = json!({ "body": body, "media_ids": media, "targets": targets });
        match when {
            Some(at) => req["scheduled_at"] = json!(at.to_rfc3339()),
            None => req["publish_now"] = json!(true),
        }
        let res = self
            .app
            .client
            .post(self.app.url("/api/v1/posts"))
            .bearer_auth(&self.token)
            .json(&req)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let answer: Value = res.json().await.unwrap();
        assert_eq!(
            status,
            StatusCode::CREATED,
            "the post is accepted: {answer}"
        );
        answer["id"].as_str().unwrap().parse().unwrap()
    }

    /// `(platform, status, remote_id, remote_url, last_error)` of each target of a post.
    async fn targets(
        &self,
        post: Uuid,
    ) -> Vec<(
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    )> {
        use sea_orm::{ConnectionTrait as _, Statement};
        let rows = self
            .app
            .db
            .query_all_raw(Statement::from_string(
                sea_orm::DbBackend::Postgres,
                format!(
                    "SELECT c.platform, t.status, t.remote_id, t.remote_url, t.last_error FROM post_targets t \
                     JOIN connections c ON c.id = t.connection_id WHERE t.post_id = '{post}' ORDER BY c.platform"
                ),
            ))
            .await
            .unwrap();
        rows.into_iter()
            .map(|r| {
                (
                    r.try_get_by_index(0).unwrap(),
                    r.try_get_by_index(1).unwrap(),
                    r.try_get_by_index(2).unwrap(),
                    r.try_get_by_index(3).unwrap(),
                    r.try_get_by_index(4).unwrap(),
                )
            })
            .collect()
    }

    async fn count(&self, sql: &str) -> i64 {
        self.app.scalar_i64(sql).await
    }

    /// Waits until no target of the post is still on its way.
    async fn settled(&self, post: Uuid, limit: Duration) {
        eventually(&format!("post {post} settles"), limit, || async {
            self.count(&format!(
                "SELECT count(*) FROM post_targets WHERE post_id = '{post}' AND status IN ('scheduled', 'queued', 'publishing', 'retry_wait')"
            ))
            .await
                == 0
        })
        .await;
    }
}

fn published_texts(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| r["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn every_network_publishes_each_kind_of_post_and_records_its_id_and_link() {
    let s = shop().await;
    let mut accounts = std::collections::HashMap::new();
    for p in [
        Platform::X,
        Platform::Instagram,
        Platform::Facebook,
        Platform::Linkedin,
        Platform::Pinterest,
        Platform::Tiktok,
        Platform::Youtube,
    ] {
        accounts.insert(p, s.connect(p).await);
    }
    let photo = stored(&s.app, "mug.jpg", jpeg(1080, 1080, 1)).await;
    let second = stored(&s.app, "bowl.jpg", jpeg(1080, 1350, 2)).await;
    // A PNG: Instagram and TikTok take only JPEG, so they must be handed a converted copy.
    let png_photo = stored(&s.app, "plate.png", png(1080, 1080, 3)).await;
    let video = stored(
        &s.app,
        "glazing.mp4",
        mp4_video(720, 1280, 100, 100, "isom"),
    )
    .await;
    let _worker = s.app.spawn_worker();

    let t = |p: Platform| json!({ "connection_id": accounts[&p] });
    let with =
        |p: Platform, options: Value| json!({ "connection_id": accounts[&p], "options": options });
    let tiktok = json!({ "privacy_level": "SELF_ONLY" });
    let cases: Vec<(&str, &str, Vec<Uuid>, Value)> = vec![
        (
            "x text",
            "Fresh mugs are in the shop",
            vec![],
            json!([t(Platform::X)]),
        ),
        (
            "x photos",
            "Two new glazes",
            vec![photo, second],
            json!([t(Platform::X)]),
        ),
        (
            "x video",
            "Glazing day",
            vec![video],
            json!([t(Platform::X)]),
        ),
        (
            "instagram feed from a PNG",
            "Plates, finally",
            vec![png_photo],
            json!([t(Platform::Instagram)]),
        ),
        (
            "instagram carousel",
            "The whole set",
            vec![photo, second],
            json!([t(Platform::Instagram)]),
        ),
        (
            "instagram reel",
            "Watch the glaze run",
            vec![video],
            json!([t(Platform::Instagram)]),
        ),
        (
            "instagram story",
            "Today at the studio",
            vec![photo],
            json!([with(Platform::Instagram, json!({"kind": "story"}))]),
        ),
        (
            "facebook text",
            "Studio open on Saturday",
            vec![],
            json!([t(Platform::Facebook)]),
        ),
        (
            "facebook link",
            "New collection: https://maple-and-moss.example/mugs",
            vec![],
            json!([t(Platform::Facebook)]),
        ),
        (
            "facebook photo",
            "One mug",
            vec![photo],
            json!([t(Platform::Facebook)]),
        ),
        (
            "facebook photos",
            "Two mugs",
            vec![photo, second],
            json!([t(Platform::Facebook)]),
        ),
        (
            "linkedin text",
            "We are hiring a potter #ceramics",
            vec![],
            json!([t(Platform::Linkedin)]),
        ),
        (
            "linkedin photos",
            "Behind the scenes (kiln day)",
            vec![photo, second],
            json!([t(Platform::Linkedin)]),
        ),
        (
            "pinterest pin",
            "Speckled mug, stoneware",
            vec![photo],
            json!([with(
                Platform::Pinterest,
                json!({"title": "Speckled mug", "link": "https://maple-and-moss.example/mugs/speckled"})
            )]),
        ),
        (
            "tiktok photos from a PNG",
            "Plates in the light",
            vec![png_photo, photo],
            json!([with(Platform::Tiktok, tiktok.clone())]),
        ),
        (
            "tiktok video",
            "Trimming a bowl",
            vec![video],
            json!([with(Platform::Tiktok, tiktok.clone())]),
        ),
        (
            "youtube video",
            "How we glaze",
            vec![video],
            json!([with(
                Platform::Youtube,
                json!({"title": "How we glaze a mug", "privacy": "unlisted", "tags": ["pottery"]})
            )]),
        ),
    ];
    let mut posts = Vec::new();
    for (name, body, media, targets) in &cases {
        posts.push((*name, s.post(body, media, targets.clone(), None).await));
    }
    for (name, post) in &posts {
        s.settled(*post, Duration::from_secs(60)).await;
        for (platform, status, remote_id, remote_url, error) in s.targets(*post).await {
            assert_eq!(status, "published", "{name} on {platform}: {error:?}");
            assert!(
                remote_id.is_some_and(|id| !id.is_empty()),
                "{name}: the remote id is stored"
            );
            assert!(
                remote_url.is_some_and(|u| u.starts_with("https://")),
                "{name}: the post links to its page"
            );
        }
    }
    let records = s.sandbox.published("").await;
    assert_eq!(
        records.len(),
        cases.len(),
        "one publication per post: {:#?}",
        published_texts(&records)
    );
    assert_eq!(s.sandbox.extra_publications().await, 0);
    // The PNG reached Instagram and TikTok as JPEG.
    for r in records
        .iter()
        .filter(|r| ["instagram", "tiktok"].contains(&r["platform"].as_str().unwrap()))
    {
        for m in r["media"].as_array().unwrap() {
            if m["mime"].as_str().unwrap().starts_with("image/") {
                assert_eq!(m["mime"], "image/jpeg", "{r}");
            }
        }
    }
    // Every attempt is in the history with its worker.
    assert_eq!(
        s.count("SELECT count(*) FROM jobs WHERE kind = 'publish' AND outcome = 'succeeded'")
            .await,
        cases.len() as i64
    );
}

#[tokio::test]
async fn a_linkedin_company_page_chosen_when_connecting_is_the_author_of_its_posts() {
    let s = shop().await;
    let page = s
        .connect_choosing(Platform::Linkedin, "Maple & Moss Ceramics")
        .await;
    assert_eq!(
        s.count("SELECT count(*) FROM connections WHERE platform = 'linkedin'")
            .await,
        1,
        "only the page was added"
    );
    let author = s
        .app
        .scalar_string(&format!(
            "SELECT metadata->>'author_urn' FROM connections WHERE id = '{page}'"
        ))
        .await
        .unwrap();
    assert!(author.starts_with("urn:li:organization:"), "{author}");
    let photo = stored(&s.app, "mug.jpg", jpeg(1080, 1080, 1)).await;
    let _worker = s.app.spawn_worker();

    let text = s
        .post(
            "Studio news from the company page",
            &[],
            json!([{ "connection_id": page }]),
            Some(Utc::now() + chrono::Duration::seconds(1)),
        )
        .await;
    let with_photo = s
        .post(
            "A new mug, from the company page",
            &[photo],
            json!([{ "connection_id": page }]),
            None,
        )
        .await;
    for post in [text, with_photo] {
        s.settled(post, Duration::from_secs(30)).await;
        let (_, status, remote_id, remote_url, error) = s.targets(post).await.remove(0);
        assert_eq!(status, "published", "{error:?}");
        let remote_id = remote_id.unwrap();
        assert_eq!(
            remote_url.as_deref(),
            Some(format!("https://www.linkedin.com/feed/update/{remote_id}").as_str())
        );
    }
    let records = s.sandbox.published("linkedin").await;
    assert_eq!(records.len(), 2);
    for r in &records {
        assert_eq!(r["account_id"], author, "posted as the page: {r}");
    }
    let image = records
        .iter()
        .find(|r| r["kind"] == "image")
        .expect("the photo post");
    assert_eq!(image["text"], "A new mug, from the company page");
}

#[tokio::test]
async fn two_workers_publish_five_hundred_due_targets_each_exactly_once() {
    let s = shop().await;
    let x = s.connect(Platform::X).await;
    // 500 posts due now, written straight to the database as the composer would leave them.
    let sql = format!(
        "WITH p AS ( \
             INSERT INTO posts (id, user_id, body, status, scheduled_at) \
             SELECT gen_random_uuid(), '{user}', 'Batch post number ' || n, 'scheduled', now() FROM generate_series(1, 500) n \
             RETURNING id) \
         INSERT INTO post_targets (id, post_id, connection_id, status, next_attempt_at, options) \
         SELECT gen_random_uuid(), id, '{x}', 'scheduled', now(), '{{}}' FROM p",
        user = s.user
    );
    s.app.db.execute_unprepared(&sql).await.unwrap();
    let one = s.app.spawn_worker();
    let two = s.app.spawn_worker();
    eventually("all 500 are published", Duration::from_secs(90), || async {
        s.count("SELECT count(*) FROM post_targets WHERE status = 'published'")
            .await
            == 500
    })
    .await;
    one.stop().await;
    two.stop().await;
    assert_eq!(s.sandbox.published("x").await.len(), 500);
    assert_eq!(s.sandbox.extra_publications().await, 0);
    assert_eq!(
        s.count("SELECT count(*) FROM jobs WHERE outcome = 'succeeded'")
            .await,
        500,
        "one successful attempt each"
    );
    assert_eq!(
        s.count("SELECT count(DISTINCT worker) FROM jobs").await,
        2,
        "both workers took part"
    );
}

#[tokio::test]
async fn a_worker_killed_after_sending_leads_to_reconciliation_never_a_second_post() {
    let s = shop().await;
    let x = s.connect(Platform::X).await;
    // X takes the post, then never answers: the worker is waiting when it dies.
    s.sandbox
        .fault(json!({ "platform": "x", "path": "/2/tweets", "method": "POST", "timeout_after_accept": true, "timeout_secs": 60, "times": 1 }))
        .await;
    let worker = s.app.spawn_worker();
    let post = s
        .post(
            "Killed mid-flight",
            &[],
            json!([{ "connection_id": x }]),
            None,
        )
        .await;
    eventually("X has the post", Duration::from_secs(15), || async {
        s.sandbox.published("x").await.len() == 1
    })
    .await;
    worker.kill();
    // A new worker finds the lease expired; the post was sent, so it asks X instead of posting.
    let _next = s.app.spawn_worker();
    s.settled(post, Duration::from_secs(30)).await;
    eventually(
        "the post is reconciled as published",
        Duration::from_secs(30),
        || async { s.targets(post).await[0].1 == "published" },
    )
    .await;
    let (_, _, remote_id, url, _) = s.targets(post).await.remove(0);
    let records = s.sandbox.published("x").await;
    assert_eq!(records.len(), 1, "never posted twice");
    assert_eq!(
        remote_id.as_deref(),
        records[0]["remote_id"].as_str(),
        "the id X gave is found and stored"
    );
    assert!(
        url.unwrap()
            .contains(records[0]["remote_id"].as_str().unwrap())
    );
}

#[tokio::test]
async fn a_worker_killed_before_sending_hands_the_post_to_another_which_posts_it_once() {
    let s = shop().await;
    let x = s.connect(Platform::X).await;
    let photo = stored(&s.app, "mug.jpg", jpeg(800, 800, 4)).await;
    // The media upload hangs: the worker dies before the post itself is sent.
    s.sandbox
        .fault(json!({ "platform": "x", "path": "/2/media/upload", "method": "POST", "timeout_secs": 60, "times": 1 }))
        .await;
    let worker = s.app.spawn_worker();
    let post = s
        .post(
            "Killed while uploading",
            &[photo],
            json!([{ "connection_id": x }]),
            None,
        )
        .await;
    eventually("the upload started", Duration::from_secs(15), || async {
        s.count("SELECT count(*) FROM post_targets WHERE status = 'publishing'")
            .await
            == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    worker.kill();
    let _next = s.app.spawn_worker();
    s.settled(post, Duration::from_secs(30)).await;
    assert_eq!(s.targets(post).await[0].1, "published");
    assert_eq!(s.sandbox.published("x").await.len(), 1);
}

#[tokio::test]
async fn with_the_queue_flushed_two_hundred_queued_targets_are_still_published_once() {
    let s = shop().await;
    let x = s.connect(Platform::X).await;
    let sql = format!(
        "WITH p AS ( \
             INSERT INTO posts (id, user_id, body, status, scheduled_at) \
             SELECT gen_random_uuid(), '{user}', 'Queued post ' || n, 'publishing', now() FROM generate_series(1, 200) n \
             RETURNING id) \
         INSERT INTO post_targets (id, post_id, connection_id, status, next_attempt_at, queued_at, options) \
         SELECT gen_random_uuid(), id, '{x}', 'queued', now(), now(), '{{}}' FROM p",
        user = s.user
    );
    s.app.db.execute_unprepared(&sql).await.unwrap();
    // Their jobs were pushed…
    let ids: Vec<Uuid> = {
        use sea_orm::Statement;
        s.app
            .db
            .query_all_raw(Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT id FROM post_targets".to_owned(),
            ))
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.try_get_by_index::<Uuid>(0).unwrap())
            .collect()
    };
    let prefix = s.app.env["REDIS_KEY_PREFIX"].clone();
    let mut queue = picscripter::jobs::publish::queue(&crate::helpers::redis_url(), &prefix, 10)
        .await
        .unwrap();
    picscripter::jobs::publish::push(&mut queue, ids)
        .await
        .unwrap();
    // …and then Redis lost everything of this install.
    let deleted = s.app.state.redis.delete_prefixed("").await.unwrap();
    assert!(deleted > 0, "the queue was in Redis before the flush");
    let _worker = s.app.spawn_worker();
    eventually("all 200 are published", Duration::from_secs(60), || async {
        s.count("SELECT count(*) FROM post_targets WHERE status = 'published'")
            .await
            == 200
    })
    .await;
    assert_eq!(s.sandbox.published("x").await.len(), 200);
    assert_eq!(s.sandbox.extra_publications().await, 0);
}

#[tokio::test]
async fn a_post_edited_seconds_before_it_is_due_goes_out_with_the_new_text_and_a_deleted_one_not_at_all()
 {
    let s = shop().await;
    let x = s.connect(Platform::X).await;
    let _worker = s.app.spawn_worker();
    let due = Utc::now() + chrono::Duration::seconds(4);
    let edited = s
        .post(
            "The old text",
            &[],
            json!([{ "connection_id": x }]),
            Some(due),
        )
        .await;
    let deleted = s
        .post(
            "This must never go out",
            &[],
            json!([{ "connection_id": x }]),
            Some(due),
        )
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let res = s
        .app
        .client
        .patch(s.app.url(&format!("/api/v1/posts/{edited}")))
        .bearer_auth(&s.token)
        .json(&json!({ "body": "The new text" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    let res = s
        .app
        .client
        .delete(s.app.url(&format!("/api/v1/posts/{deleted}")))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    s.settled(edited, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        published_texts(&s.sandbox.published("x").await),
        vec!["The new text".to_owned()]
    );
}

#[tokio::test]
async fn fifty_concurrent_publish_now_clicks_publish_once() {
    let s = shop().await;
    let x = s.connect(Platform::X).await;
    let post = s
        .post(
            "Click click click",
            &[],
            json!([{ "connection_id": x }]),
            Some(Utc::now() + chrono::Duration::days(1)),
        )
        .await;
    let _worker = s.app.spawn_worker();
    let csrf = s.app.csrf().await;
    let clicks = (0..50).map(|_| {
        let app = &s.app;
        let csrf = csrf.clone();
        async move {
            app.client
                .post(app.url(&format!("/posts/{post}/publish-now")))
                .headers(crate::helpers::same_origin_headers(&app.base))
                .form(&[("csrf_token", csrf.as_str())])
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    let statuses = futures::future::join_all(clicks).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::SEE_OTHER),
        "every click is answered: {statuses:?}"
    );
    s.settled(post, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(s.sandbox.published("x").await.len(), 1);
    assert_eq!(s.targets(post).await[0].1, "published");
}

#[tokio::test]
async fn a_rate_limit_is_waited_out_until_the_reset_the_platform_names() {
    let s = shop().await;
    let x = s.connect(Platform::X).await;
    s.sandbox
        .fault(json!({ "platform": "x", "path": "/2/tweets", "method": "POST", "rate_limit": { "reset_after_secs": 4 } }))
        .await;
    let _worker = s.app.spawn_worker();
    let post = s
        .post("Patience", &[], json!([{ "connection_id": x }]), None)
        .await;
    eventually(
        "the first attempt is refused",
        Duration::from_secs(15),
        || async {
            s.count("SELECT count(*) FROM jobs WHERE outcome = 'retry' AND http_status = 429")
                .await
                == 1
        },
    )
    .await;
    let reset = s.count(&format!("SELECT extract(epoch FROM next_attempt_at)::bigint FROM post_targets WHERE post_id = '{post}'")).await;
    s.settled(post, Duration::from_secs(30)).await;
    assert_eq!(s.targets(post).await[0].1, "published");
    // Exactly two attempts at the endpoint: the refused one, then one after the reset.
    let tweets: Vec<Value> = s
        .sandbox
        .requests("x")
        .await
        .into_iter()
        .filter(|r| {
            r["method"] == "POST" && r["path"].as_str().is_some_and(|p| p.ends_with("/2/tweets"))
        })
        .collect();
    assert_eq!(
        tweets.len(),
        2,
        "no request while the limit lasted: {tweets:#?}"
    );
    let second_at = chrono::DateTime::parse_from_rfc3339(tweets[1]["at"].as_str().unwrap())
        .unwrap()
        .timestamp();
    assert!(
        second_at >= reset,
        "the retry came at or after the reset ({second_at} vs {reset})"
    );
}

#[tokio::test]
async fn an_expired_token_mid_publish_is_refreshed_once_and_the_post_goes_out() {
    let s = shop().await;
    let x = s.connect(Platform::X).await;
    // X forgets every token it issued; our copy still looks valid for hours.
    s.sandbox
        .fault(json!({ "platform": "x", "expire_tokens": true }))
        .await;
    let _worker = s.app.spawn_worker();
    let post = s
        .post(
            "After a refresh",
            &[],
            json!([{ "connection_id": x }]),
            None,
        )
        .await;
    s.settled(post, Duration::from_secs(30)).await;
    assert_eq!(s.targets(post).await[0].1, "published");
    let refreshes = s
        .sandbox
        .requests("x")
        .await
        .into_iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("/2/oauth2/token"))
                && r["body"].to_string().contains("refresh_token")
        })
        .count();
    assert_eq!(refreshes, 1, "one refresh");
    assert_eq!(s.sandbox.published("x").await.len(), 1);
}

#[tokio::test]
async fn a_refused_post_shows_the_platform_s_reason_and_the_other_networks_still_publish() {
    let s = shop().await;
    let x = s.connect(Platform::X).await;
    let linkedin = s.connect(Platform::Linkedin).await;
    s.sandbox
        .fault(json!({ "platform": "x", "path": "/2/tweets", "method": "POST", "reject": true }))
        .await;
    let _worker = s.app.spawn_worker();
    let post = s
        .post(
            "Same words as yesterday",
            &[],
            json!([{ "connection_id": x }, { "connection_id": linkedin }]),
            None,
        )
        .await;
    s.settled(post, Duration::from_secs(30)).await;
    let targets = s.targets(post).await;
    let (_, li_status, ..) = &targets.iter().find(|t| t.0 == "linkedin").unwrap();
    assert_eq!(li_status, "published");
    let (_, x_status, _, _, x_error) = targets.iter().find(|t| t.0 == "x").unwrap();
    assert_eq!(x_status, "failed");
    let error = x_error.clone().unwrap();
    assert!(
        error.contains("same text"),
        "in plain words, with what to change: {error}"
    );
    // The post page shows it by the network, and the history has the attempt.
    let (_, html) = s.app.get_html(&format!("/posts/{post}")).await;
    assert!(
        texts(&html, ".target-detail")
            .iter()
            .any(|t| t.contains(&error)),
        "{html}"
    );
    assert_eq!(texts(&html, ".status-pill"), vec!["Partly published"]);
    // And the notification area offers what to do.
    let (_, html) = s.app.get_html("/notifications").await;
    assert!(html.contains(&error));
    assert!(html.contains(&format!("/posts/{post}/retry")));
}

#[tokio::test]
async fn an_unknown_outcome_asks_the_seller_who_settles_it_with_one_click() {
    let s = shop().await;
    let linkedin = s.connect(Platform::Linkedin).await;
    // LinkedIn takes the post and the answer never comes; LinkedIn offers no way to look.
    s.sandbox
        .fault(json!({ "platform": "linkedin", "path": "/rest/posts", "method": "POST", "timeout_after_accept": true, "timeout_secs": 60, "times": 1 }))
        .await;
    let _worker = s.app.spawn_worker_with(|env| {
        env.insert("PUBLISH_LEASE_SECS".into(), "5".into());
    });
    let post = s
        .post(
            "Did it go?",
            &[],
            json!([{ "connection_id": linkedin }]),
            None,
        )
        .await;
    eventually(
        "the outcome is unknown",
        Duration::from_secs(60),
        || async { s.targets(post).await[0].1 == "unknown" },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        s.targets(post).await[0].1,
        "unknown",
        "never retried on its own"
    );
    assert_eq!(s.sandbox.published("linkedin").await.len(), 1);

    let (_, html) = s.app.get_html(&format!("/posts/{post}")).await;
    assert!(
        html.contains("mark-published") && html.contains("publish-again"),
        "the page asks: {html}"
    );
    let target: String = s
        .app
        .scalar_string(&format!(
            "SELECT id::text FROM post_targets WHERE post_id = '{post}'"
        ))
        .await
        .unwrap();
    // A link that isn't one is refused with a reason, and nothing changes.
    let res = s
        .app
        .post_form(
            &format!("/posts/{post}/targets/{target}/mark-published"),
            &[("url", "not a link")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(s.targets(post).await[0].1, "unknown");
    let res = s
        .app
        .post_form(
            &format!("/posts/{post}/targets/{target}/mark-published"),
            &[("url", "https://www.linkedin.com/feed/update/urn:li:share:1")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, status, _, url, _) = s.targets(post).await.remove(0);
    assert_eq!(status, "published");
    assert_eq!(
        url.as_deref(),
        Some("https://www.linkedin.com/feed/update/urn:li:share:1")
    );
    assert_eq!(s.sandbox.published("linkedin").await.len(), 1);
}

#[tokio::test]
async fn after_reconnecting_every_post_that_failed_for_authorization_is_retried_in_one_click() {
    let s = shop().await;
    let x = s.connect(Platform::X).await;
    // X refuses the token even after a refresh.
    s.sandbox.fault(json!({ "platform": "x", "path": "/2/tweets", "method": "POST", "status": 401, "times": 4 })).await;
    let _worker = s.app.spawn_worker();
    let first = s
        .post(
            "Waiting for a sign-in 1",
            &[],
            json!([{ "connection_id": x }]),
            None,
        )
        .await;
    let second = s
        .post(
            "Waiting for a sign-in 2",
            &[],
            json!([{ "connection_id": x }]),
            None,
        )
        .await;
    s.settled(first, Duration::from_secs(30)).await;
    s.settled(second, Duration::from_secs(30)).await;
    for post in [first, second] {
        let (_, status, _, _, error) = s.targets(post).await.remove(0);
        assert_eq!(status, "failed");
        assert!(error.unwrap().contains("Reconnect"), "it says what to do");
    }
    assert_eq!(
        s.app
            .scalar_string(&format!("SELECT status FROM connections WHERE id = '{x}'"))
            .await
            .as_deref(),
        Some("needs_reauth")
    );
    let (_, html) = s.app.get_html("/notifications").await;
    assert!(
        html.contains("2 posts") && html.contains("needed reconnecting"),
        "{html}"
    );

    s.connect(Platform::X).await;
    let (_, html) = s.app.get_html("/connections").await;
    assert!(
        html.contains(&format!("/connections/{x}/retry-failed")),
        "offered after reconnecting"
    );
    let res = s
        .app
        .post_form(
            &format!("/connections/{x}/retry-failed"),
            &[("back", "/notifications")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    s.settled(first, Duration::from_secs(30)).await;
    s.settled(second, Duration::from_secs(30)).await;
    assert_eq!(s.targets(first).await[0].1, "published");
    assert_eq!(s.targets(second).await[0].1, "published");
    assert_eq!(s.sandbox.published("x").await.len(), 2);
}

#[tokio::test]
async fn a_worker_stopped_with_sigterm_finishes_what_it_started() {
    let s = shop().await;
    let x = s.connect(Platform::X).await;
    s.sandbox.fault(json!({ "platform": "x", "path": "/2/tweets", "method": "POST", "latency_ms": 800, "times": 1 })).await;
    let worker = s.app.spawn_worker();
    let post = s
        .post("Finishing up", &[], json!([{ "connection_id": x }]), None)
        .await;
    eventually("the publish started", Duration::from_secs(15), || async {
        s.count("SELECT count(*) FROM post_targets WHERE status = 'publishing'")
            .await
            == 1
    })
    .await;
    worker.stop().await;
    assert_eq!(
        s.targets(post).await[0].1,
        "published",
        "the in-flight publish completed before the worker exited"
    );
    assert_eq!(s.sandbox.published("x").await.len(), 1);
}

#[tokio::test]
async fn the_post_page_calendar_and_list_refresh_themselves_while_a_post_is_going_out() {
    let s = shop().await;
    let x = s.connect(Platform::X).await;
    let post = s
        .post(
            "Soon",
            &[],
            json!([{ "connection_id": x }]),
            Some(Utc::now() + chrono::Duration::seconds(60)),
        )
        .await;
    let (_, html) = s.app.get_html(&format!("/posts/{post}")).await;
    assert!(
        html.contains(r#"hx-trigger="every 2s""#),
        "due within two minutes: the page polls"
    );
    let (_, html) = s.app.get_html("/posts").await;
    assert!(html.contains(r#"hx-trigger="every 3s""#));
    let (_, html) = s.app.get_html("/calendar").await;
    assert!(html.contains(r#"hx-trigger="every 5s""#));
    let later = s
        .post(
            "Later",
            &[],
            json!([{ "connection_id": x }]),
            Some(Utc::now() + chrono::Duration::days(2)),
        )
        .await;
    let (_, html) = s.app.get_html(&format!("/posts/{later}")).await;
    assert!(
        !html.contains("every 2s"),
        "nothing about to happen: no polling"
    );
}

#[tokio::test]
async fn a_private_youtube_video_can_be_set_to_go_public_later() {
    let s = shop().await;
    let youtube = s.connect(Platform::Youtube).await;
    let video = stored(
        &s.app,
        "glazing.mp4",
        mp4_video(720, 1280, 100, 100, "isom"),
    )
    .await;
    let public_at = (Utc::now() + chrono::Duration::days(2))
        .with_nanosecond(0)
        .unwrap();
    let options = |privacy: &str, at: &str| json!([{ "connection_id": youtube, "options": { "title": "How we glaze", "privacy": privacy, "publish_at": at } }]);

    // Refused, with the field named, when YouTube wouldn't honour it or it is already past.
    for (privacy, at, why) in [
        ("public", public_at.to_rfc3339(), "Private"),
        (
            "private",
            (Utc::now() - chrono::Duration::hours(1)).to_rfc3339(),
            "after it is uploaded",
        ),
        ("private", "soon".to_owned(), "date and time"),
    ] {
        let res = s
            .app
            .client
            .post(s.app.url("/api/v1/posts"))
            .bearer_auth(&s.token)
            .json(&json!({ "body": "Glaze day", "media_ids": [video], "targets": options(privacy, &at), "publish_now": true }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{privacy} {at}"
        );
        let body: Value = res.json().await.unwrap();
        let message = body["error"]["fields"]["targets[0].options.publish_at"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains(why), "{privacy} {at}: {body}");
    }
    assert_eq!(
        s.count("SELECT count(*) FROM posts").await,
        0,
        "nothing half-saved"
    );

    // Accepted and sent to YouTube as status.publishAt.
    let _worker = s.app.spawn_worker();
    let post = s
        .post(
            "Glaze day",
            &[video],
            options("private", &public_at.to_rfc3339()),
            None,
        )
        .await;
    s.settled(post, Duration::from_secs(60)).await;
    assert_eq!(s.targets(post).await[0].1, "published");
    let records = s.sandbox.published("youtube").await;
    assert_eq!(records.len(), 1);
    let sent: chrono::DateTime<Utc> = records[0]["options"]["publishAt"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(sent, public_at);

    // From the composer, the time is the seller's own (Europe/Berlin, summer time in June).
    let today = Utc::now().date_naive();
    let this_may = chrono::NaiveDate::from_ymd_opt(chrono::Datelike::year(&today), 5, 30).unwrap();
    let year = chrono::Datelike::year(&today) + i32::from(this_may <= today);
    let (in_may, in_june) = (format!("{year}-05-30"), format!("{year}-06-01"));
    let res = s
        .app
        .post_form(
            "/posts",
            &[
                ("body", "Glaze day, again"),
                ("media_id", &video.to_string()),
                ("target", &youtube.to_string()),
                (&format!("opt.{youtube}.title"), "How we glaze, part two"),
                (&format!("opt.{youtube}.privacy"), "private"),
                (
                    &format!("opt.{youtube}.publish_at"),
                    &format!("{} 10:00", in_june),
                ),
                ("date", &in_may),
                ("time", "09:00"),
                ("action", "schedule"),
            ],
        )
        .await;
    let status = res.status();
    let body = res.text().await.unwrap();
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "{:?}",
        texts(&body, ".field-error, .issue, .account-errors")
    );
    let stored_at = s
        .app
        .scalar_string("SELECT options->>'publish_at' FROM post_targets t JOIN posts p ON p.id = t.post_id WHERE p.body = 'Glaze day, again'")
        .await
        .unwrap();
    assert_eq!(stored_at, format!("{year}-06-01T08:00:00Z"));
}

#[tokio::test]
async fn a_post_scheduled_to_all_seven_networks_goes_out_once_each_and_one_refusal_is_explained() {
    let s = shop().await;
    let mut targets = Vec::new();
    for p in [
        Platform::X,
        Platform::Instagram,
        Platform::Facebook,
        Platform::Linkedin,
        Platform::Pinterest,
        Platform::Tiktok,
        Platform::Youtube,
    ] {
        let id = s.connect(p).await;
        targets.push(match p {
            Platform::Tiktok => json!({ "connection_id": id, "options": { "privacy_level": "SELF_ONLY" } }),
            Platform::Youtube => json!({ "connection_id": id, "options": { "title": "Studio tour", "privacy": "unlisted" } }),
            Platform::Pinterest => json!({ "connection_id": id, "options": { "title": "Studio tour" } }),
            _ => json!({ "connection_id": id }),
        });
    }
    let video = stored(&s.app, "tour.mp4", mp4_video(720, 1280, 100, 100, "isom")).await;
    // Pinterest takes only images: it refuses the video pin, in its own words.
    s.sandbox.fault(json!({ "platform": "pinterest", "path": "/v5/pins", "method": "POST", "reject": true })).await;
    let _worker = s.app.spawn_worker();
    let due = Utc::now() + chrono::Duration::seconds(3);
    let post = s
        .post("A tour of the studio", &[video], json!(targets), Some(due))
        .await;
    s.settled(post, Duration::from_secs(90)).await;

    let rows = s.targets(post).await;
    for (platform, status, remote_id, url, error) in &rows {
        if platform == "pinterest" {
            assert_eq!(status, "failed");
            assert!(
                error.as_deref().is_some_and(|e| !e.is_empty()),
                "the reason is kept"
            );
        } else {
            assert_eq!(status, "published", "{platform}: {error:?}");
            assert!(
                remote_id.is_some() && url.as_deref().is_some_and(|u| u.starts_with("https://")),
                "{platform}"
            );
        }
    }
    assert_eq!(
        s.sandbox.published("").await.len(),
        6,
        "once per network that accepted it"
    );
    assert_eq!(s.sandbox.extra_publications().await, 0);
    // Nothing went out before it was due.
    let first: chrono::DateTime<Utc> = s
        .app
        .scalar_string(&format!("SELECT min(published_at)::text FROM post_targets WHERE post_id = '{post}' AND status = 'published'"))
        .await
        .unwrap()
        .parse()
        .unwrap_or(due);
    assert!(
        first >= due.with_nanosecond(0).unwrap() - chrono::Duration::seconds(1),
        "published at {first}, due {due}"
    );

    // The post page links every published target and explains the refusal by Pinterest.
    let (_, html) = s.app.get_html(&format!("/posts/{post}")).await;
    assert_eq!(texts(&html, ".status-pill"), vec!["Partly published"]);
    let error = rows
        .iter()
        .find(|r| r.0 == "pinterest")
        .and_then(|r| r.4.clone())
        .unwrap();
    assert!(
        texts(&html, ".target-detail")
            .iter()
            .any(|t| t.contains(&error)),
        "{html}"
    );
    for (_, _, _, url, _) in rows.iter().filter(|r| r.1 == "published") {
        assert!(html.contains(url.as_deref().unwrap()), "links to {url:?}");
    }
    // The calendar shows where it stands.
    let local = due
        .with_timezone(&chrono_tz::Europe::Berlin)
        .format("%Y-%m-%d");
    let (_, html) = s
        .app
        .get_html(&format!("/calendar?view=month&date={local}"))
        .await;
    assert!(
        html.contains(&format!("post-partial\" data-post-id=\"{post}\"")),
        "{html}"
    );
}

#[tokio::test]
async fn preflight_warns_about_missing_permissions_reconnection_and_unreachable_media_before_the_post_is_due()
 {
    let s = shop().await;
    let instagram = s.connect(Platform::Instagram).await;
    let facebook = s.connect(Platform::Facebook).await;
    let linkedin = s.connect(Platform::Linkedin).await;
    let photo = stored(&s.app, "mug.jpg", jpeg(1080, 1080, 1)).await;
    let video = stored(
        &s.app,
        "glazing.mp4",
        mp4_video(720, 1280, 100, 100, "isom"),
    )
    .await;
    // Instagram was connected without the publishing permission, a Facebook Page before we asked
    // for video publishing, and LinkedIn has since stopped accepting the token.
    s.app
        .db
        .execute_unprepared(&format!(
            "UPDATE connections SET scopes = array['instagram_business_basic'] WHERE id = '{instagram}'; \
             UPDATE connections SET scopes = array['pages_show_list', 'pages_manage_posts', 'pages_read_engagement'] WHERE id = '{facebook}'; \
             UPDATE connections SET status = 'needs_reauth', last_error = 'The token was revoked.' WHERE id = '{linkedin}'"
        ))
        .await
        .unwrap();

    let create = |base: String, media: Vec<Uuid>| {
        let (client, token) = (s.app.client.clone(), s.token.clone());
        let targets = json!([{ "connection_id": instagram }, { "connection_id": facebook }, { "connection_id": linkedin }]);
        async move {
            let res = client
                .post(format!("{base}/api/v1/posts"))
                .bearer_auth(token)
                .json(&json!({ "body": "Glaze day", "media_ids": media, "targets": targets, "scheduled_at": (Utc::now() + chrono::Duration::days(1)).to_rfc3339() }))
                .send()
                .await
                .unwrap();
            assert_eq!(
                res.status(),
                StatusCode::CREATED,
                "warnings don't block scheduling"
            );
            let body: Value = res.json().await.unwrap();
            body["warnings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| {
                    (
                        w["target"].as_str().unwrap().to_owned(),
                        w["message"].as_str().unwrap().to_owned(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    let warnings = create(s.app.base.clone(), vec![video]).await;
    let about = |id: Uuid| {
        warnings
            .iter()
            .filter(|(t, _)| *t == id.to_string())
            .map(|(_, m)| m.clone())
            .collect::<Vec<_>>()
    };
    assert!(
        about(instagram)
            .iter()
            .any(|m| m.contains("instagram_business_content_publish") && m.contains("Reconnect")),
        "{warnings:?}"
    );
    assert!(
        about(facebook).iter().any(|m| m.contains("publish_video")),
        "{warnings:?}"
    );
    assert!(
        about(linkedin)
            .iter()
            .any(|m| m.contains("needs to be reconnected")),
        "{warnings:?}"
    );

    // Served from a local address to real platforms, the media can't be fetched: said plainly.
    let local = s
        .app
        .sibling(|env| {
            env.remove("SANDBOX_URL");
        })
        .await;
    let warnings = create(local.base.clone(), vec![photo]).await;
    assert!(
        warnings
            .iter()
            .any(|(t, m)| *t == instagram.to_string() && m.contains("PUBLIC_BASE_URL")),
        "{warnings:?}"
    );
}
