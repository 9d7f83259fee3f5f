//! Engagement numbers of YouTube and TikTok videos, end to end: a seller publishes through the
//! sandbox, the collector reads `videos.list` statistics and TikTok's `video/query`, and what is
//! stored is what the sandbox serves. Batching, a TikTok grant from before `video.list`, and
//! YouTube's daily quota too.

use chrono::{DateTime, Duration, Utc};
use picscripter::connections::RefreshReason;
use picscripter::domain::Platform;
use picscripter::jobs::collect_metrics::Collector;
use picscripter::platforms::youtube::metrics::next_quota_reset;
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tempfile::TempDir;
use uuid::Uuid;

use crate::helpers::{TestApp, TestSandbox, eventually, location};
use crate::media::{mp4_video, stored};

/// A seller with YouTube and TikTok connected through the sandbox.
struct Seller {
    app: TestApp,
    sandbox: TestSandbox,
    _media: TempDir,
    user: Uuid,
    token: String,
    youtube: Uuid,
    tiktok: Uuid,
}

async fn seller() -> Seller {
    let (app, sandbox, media) = crate::helpers::spawn_app_with_sandbox_and_media(|_| {}).await;
    app.signed_up_user().await;
    let user = app.newest_user_id().await;
    let token = app.api_token_of(user).await;
    crate::oauth::connect(&app, &sandbox, Platform::Youtube).await;
    crate::oauth::connect(&app, &sandbox, Platform::Tiktok).await;
    let id = |platform: &'static str| {
        let app = &app;
        async move {
            app.scalar_string(&format!(
                "SELECT id::text FROM connections WHERE platform = '{platform}'"
            ))
            .await
            .unwrap()
            .parse::<Uuid>()
            .unwrap()
        }
    };
    let (youtube, tiktok) = (id("youtube").await, id("tiktok").await);
    Seller {
        app,
        sandbox,
        _media: media,
        user,
        token,
        youtube,
        tiktok,
    }
}

impl Seller {
    /// Moves the sandbox clock `secs` ahead and does what the token-refresh job would have done
    /// meanwhile: renews the tokens that expire within that time (Google's last an hour). The
    /// app's clock is moved by passing a later `now` to the collector.
    async fn advance_clocks(&self, secs: i64) {
        self.sandbox.advance_clock(secs).await;
        let horizon = Utc::now() + Duration::seconds(secs + 600);
        for connection in [self.youtube, self.tiktok] {
            self.app
                .state
                .connections
                .refresh(connection, RefreshReason::ExpiresBefore(horizon))
                .await
                .unwrap();
        }
    }

    fn collector(&self) -> Collector {
        Collector {
            db: self.app.db.clone(),
            connections: self.app.state.connections.clone(),
        }
    }

    /// Publishes one video to each of `targets` through the API and a worker that doesn't
    /// collect (the test drives collection); returns once every target is published.
    async fn publish_video(&self, targets: Value) {
        let video = stored(
            &self.app,
            "trimming.mp4",
            mp4_video(720, 1280, 100, 100, "isom"),
        )
        .await;
        let n = targets.as_array().unwrap().len() as i64;
        let res = self
            .app
            .client
            .post(self.app.url("/api/v1/posts"))
            .bearer_auth(&self.token)
            .json(&json!({ "body": "Trimming a bowl", "media_ids": [video], "targets": targets, "publish_now": true }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::CREATED,
            "{}",
            res.text().await.unwrap()
        );
        let worker = self.app.spawn_worker_with(|env| {
            env.insert("METRICS_ENGAGEMENT".into(), "false".into());
        });
        eventually(
            "the video is published everywhere",
            std::time::Duration::from_secs(60),
            || async {
                self.app
                    .scalar_i64("SELECT count(*) FROM post_targets WHERE status = 'published'")
                    .await
                    == n
            },
        )
        .await;
        worker.stop().await;
    }

    fn youtube_target(&self) -> Value {
        json!({ "connection_id": self.youtube, "options": { "title": "Trimming a bowl", "privacy": "public" } })
    }

    fn tiktok_target(&self) -> Value {
        json!({ "connection_id": self.tiktok, "options": { "privacy_level": "PUBLIC_TO_EVERYONE" } })
    }

    async fn remote_id(&self, connection: Uuid) -> String {
        self.app
            .scalar_string(&format!(
                "SELECT remote_id FROM post_targets WHERE connection_id = '{connection}'"
            ))
            .await
            .unwrap()
    }

    async fn access_token(&self, connection: Uuid) -> String {
        self.app
            .state
            .connections
            .access_token(connection)
            .await
            .unwrap()
            .expose_secret()
            .to_owned()
    }

    /// `(likes, reposts, replies, views)` of the newest snapshot of `connection`'s target.
    async fn stored(&self, connection: Uuid) -> [Option<i64>; 4] {
        let mut out = [None; 4];
        for (i, column) in ["likes", "reposts", "replies", "views"].iter().enumerate() {
            out[i] = self
                .app
                .scalar_string(&format!(
                    "SELECT m.{column}::text FROM post_metrics m JOIN post_targets t ON t.id = m.target_id \
                     WHERE t.connection_id = '{connection}' ORDER BY m.captured_at DESC LIMIT 1"
                ))
                .await
                .map(|v| v.parse().unwrap());
        }
        out
    }

    /// What the sandbox's YouTube says about a video now: `(likes, reposts, replies, views)`.
    async fn youtube_says(&self, id: &str) -> [Option<i64>; 4] {
        let token = self.access_token(self.youtube).await;
        let body: Value = self
            .sandbox
            .client
            .get(format!(
                "{}/youtube/www.googleapis.com/youtube/v3/videos?part=statistics&id={id}",
                self.sandbox.url
            ))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let stats = &body["items"][0]["statistics"];
        let n = |name: &str| stats[name].as_str().map(|s| s.parse::<i64>().unwrap());
        [n("likeCount"), None, n("commentCount"), n("viewCount")]
    }

    /// What the sandbox's TikTok says about a video now: `(likes, reposts, replies, views)`.
    async fn tiktok_says(&self, id: &str) -> [Option<i64>; 4] {
        let token = self.access_token(self.tiktok).await;
        let body: Value = self
            .sandbox
            .client
            .post(format!(
                "{}/tiktok/open.tiktokapis.com/v2/video/query/?fields=id,like_count,comment_count,share_count,view_count",
                self.sandbox.url
            ))
            .bearer_auth(token)
            .json(&json!({ "filters": { "video_ids": [id] } }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let video = &body["data"]["videos"][0];
        let n = |name: &str| video[name].as_i64();
        [
            n("like_count"),
            n("share_count"),
            n("comment_count"),
            n("view_count"),
        ]
    }
}

/// The sandbox clock runs with real time, so a number read just before and just after the
/// collection brackets what the collector read (in practice all three are equal).
fn between(before: [Option<i64>; 4], stored: [Option<i64>; 4], after: [Option<i64>; 4]) -> bool {
    (0..4).all(|i| match (before[i], stored[i], after[i]) {
        (None, None, None) => true,
        (Some(b), Some(s), Some(a)) => b <= s && s <= a,
        _ => false,
    })
}

#[tokio::test]
async fn youtube_and_tiktok_videos_get_snapshots_of_what_the_sandbox_serves() {
    let s = seller().await;
    s.publish_video(json!([s.youtube_target(), s.tiktok_target()]))
        .await;
    let (yt_id, tt_id) = (s.remote_id(s.youtube).await, s.remote_id(s.tiktok).await);
    // TikTok's public video id, not the publish id: that is what `video/query` takes.
    assert!(
        tt_id.bytes().all(|b| b.is_ascii_digit()),
        "the TikTok target holds the public id: {tt_id}"
    );
    let on_tiktok = s.sandbox.published("tiktok").await;
    assert_eq!(on_tiktok[0]["remote_id"], tt_id.as_str());
    let collector = s.collector();
    assert_eq!(
        collector.run_once(Utc::now()).await.unwrap().claimed,
        0,
        "not due yet"
    );

    // An hour and a bit later on both clocks: one request per network.
    s.advance_clocks(3700).await;
    let later = Utc::now() + Duration::hours(2);
    let (yt_before, tt_before) = (s.youtube_says(&yt_id).await, s.tiktok_says(&tt_id).await);
    let report = collector.run_once(later).await.unwrap();
    let (yt_after, tt_after) = (s.youtube_says(&yt_id).await, s.tiktok_says(&tt_id).await);
    assert_eq!(
        (report.claimed, report.snapshots, report.requests),
        (2, 2, 2),
        "{report:?}"
    );
    let (yt, tt) = (s.stored(s.youtube).await, s.stored(s.tiktok).await);
    assert!(
        between(yt_before, yt, yt_after),
        "YouTube stored {yt:?}, the sandbox says {yt_before:?} / {yt_after:?}"
    );
    assert!(
        between(tt_before, tt, tt_after),
        "TikTok stored {tt:?}, the sandbox says {tt_before:?} / {tt_after:?}"
    );
    assert!(yt[3].unwrap() > 0 && tt[3].unwrap() > 0, "{yt:?} {tt:?}");
    assert_eq!(yt[1], None, "YouTube has no share count: none, not 0");
    assert_eq!(
        s.app
            .scalar_i64(&format!(
                "SELECT count(*) FROM analytics WHERE user_id = '{}' AND metric = 'views'",
                s.user
            ))
            .await,
        2,
        "views rolled up for both networks"
    );
    assert_eq!(
        collector.run_once(later).await.unwrap().claimed,
        0,
        "next at 6 h"
    );
}

/// Uploads a video straight to the sandbox's YouTube (as `videos.insert` does); returns its id.
async fn upload_to_youtube(s: &TestSandbox, token: &str, n: usize, bytes: &[u8]) -> String {
    let res = s
        .client
        .post(format!(
            "{}/youtube/www.googleapis.com/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status",
            s.url
        ))
        .bearer_auth(token)
        .header("x-upload-content-length", bytes.len().to_string())
        .header("x-upload-content-type", "video/mp4")
        .json(&json!({ "snippet": { "title": format!("Mug {n}") }, "status": { "privacyStatus": "public" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let session = location(&res);
    let session = session.strip_prefix("https://").unwrap();
    let res = s
        .client
        .put(format!("{}/youtube/{session}", s.url))
        .header("content-type", "video/mp4")
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let video: Value = res.json().await.unwrap();
    video["id"].as_str().unwrap().to_owned()
}

/// A published target of `connection` with `remote_id`, published at `at`.
async fn published_target(
    app: &TestApp,
    user: Uuid,
    connection: Uuid,
    remote_id: &str,
    at: DateTime<Utc>,
) {
    let (post, target) = (Uuid::now_v7(), Uuid::now_v7());
    app.scalar_i64(&format!(
        "WITH p AS (INSERT INTO posts (id, user_id, body, status, scheduled_at) VALUES ('{post}', '{user}', 'Mugs', 'published', '{at}') RETURNING 1),
              t AS (INSERT INTO post_targets (id, post_id, connection_id, status, remote_id, published_at) VALUES ('{target}', '{post}', '{connection}', 'published', '{remote_id}', '{at}') RETURNING 1)
         SELECT (SELECT count(*) FROM p) + (SELECT count(*) FROM t)",
        at = at.to_rfc3339()
    ))
    .await;
}

#[tokio::test]
async fn sixty_youtube_videos_are_read_in_two_requests() {
    let s = seller().await;
    let token = s.access_token(s.youtube).await;
    let bytes = mp4_video(640, 360, 10, 100, "isom");
    let published_at = Utc::now() - Duration::hours(2);
    for n in 0..60 {
        let id = upload_to_youtube(&s.sandbox, &token, n, &bytes).await;
        published_target(&s.app, s.user, s.youtube, &id, published_at).await;
    }
    s.advance_clocks(3700).await;
    let report = s.collector().run_once(Utc::now()).await.unwrap();
    assert_eq!(
        (report.claimed, report.snapshots, report.requests),
        (60, 60, 2),
        "{report:?}"
    );
    let lists: Vec<usize> = s
        .sandbox
        .requests("youtube")
        .await
        .iter()
        .filter(|r| {
            r["method"] == "GET"
                && r["path"]
                    .as_str()
                    .unwrap_or("")
                    .ends_with("/youtube/v3/videos")
        })
        .map(|r| {
            let query = r["query"].as_str().unwrap_or("");
            url::form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "id")
                .map(|(_, v)| v.split(',').count())
                .unwrap_or(0)
        })
        .collect();
    assert_eq!(lists, [50, 10], "two videos.list calls of 50 and 10 ids");
}

/// A TikTok consent for `scope`, through the app's own connect flow with the scope changed
/// (as an older Picscripter asked): the app stores whatever TikTok granted.
async fn reconnect_tiktok_with_scope(s: &Seller, scope: &str) {
    let res = s.app.get("/connections/tiktok/connect").await;
    let mut url = reqwest::Url::parse(&location(&res)).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "scope" {
                scope.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    let html = s
        .sandbox
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
        let fields: Vec<(String, String)> = form
            .select(&scraper::Selector::parse("input").unwrap())
            .filter(|i| !matches!(i.value().attr("type"), Some("submit" | "checkbox")))
            .filter_map(|i| {
                Some((
                    i.value().attr("name")?.to_owned(),
                    i.value().attr("value").unwrap_or("").to_owned(),
                ))
            })
            .filter(|(k, _)| k != "decision")
            .collect();
        (action, fields)
    };
    fields.push(("decision".into(), "allow".into()));
    let res = s
        .sandbox
        .client
        .post(action)
        .form(&fields)
        .send()
        .await
        .unwrap();
    let callback = location(&res);
    let path = callback.strip_prefix(&s.app.base).unwrap();
    let res = s.app.get(path).await;
    assert_eq!(location(&res), "/connections");
}

#[tokio::test]
async fn a_tiktok_grant_without_video_list_ends_collection_of_its_posts_but_needs_no_reconnection()
{
    let s = seller().await;
    s.publish_video(json!([s.tiktok_target()])).await;
    reconnect_tiktok_with_scope(
        &s,
        "user.info.basic,user.info.profile,video.publish,video.upload",
    )
    .await;
    assert_eq!(
        s.app
            .scalar_string(&format!(
                "SELECT array_to_string(scopes, ',') FROM connections WHERE id = '{}'",
                s.tiktok
            ))
            .await
            .as_deref(),
        Some("user.info.basic,user.info.profile,video.publish,video.upload"),
        "the same connection, now with the older grant"
    );
    s.advance_clocks(3700).await;
    let later = Utc::now() + Duration::hours(2);
    let report = s.collector().run_once(later).await.unwrap();
    assert_eq!(
        (report.snapshots, report.gone, report.paused),
        (0, 1, 0),
        "{report:?}"
    );
    assert_eq!(
        s.app
            .scalar_i64(&format!(
                "SELECT count(*) FROM post_targets WHERE metrics_step = {}",
                picscripter::jobs::collect_metrics::SCHEDULE_SECS.len()
            ))
            .await,
        1,
        "its collection ended"
    );
    assert_eq!(
        s.app
            .scalar_string(&format!(
                "SELECT status FROM connections WHERE id = '{}'",
                s.tiktok
            ))
            .await
            .as_deref(),
        Some("active"),
        "publishing still works, so the connection isn't marked for reconnection"
    );
    let asked = s.sandbox.requests("tiktok").await;
    assert!(
        asked.iter().any(|r| r["path"]
            .as_str()
            .unwrap_or("")
            .ends_with("/v2/video/query/")),
        "TikTok was asked (and refused)"
    );
}

#[tokio::test]
async fn past_youtube_s_daily_quota_the_account_waits_until_midnight_pacific_time() {
    let s = seller().await;
    s.publish_video(json!([s.youtube_target()])).await;
    s.sandbox
        .sandbox
        .set_limits(&picscripter::sandbox::LimitsSpec {
            youtube_units_per_day: Some(0),
            ..Default::default()
        });
    s.advance_clocks(3700).await;
    let later = Utc::now() + Duration::hours(2);
    let collector = s.collector();
    let report = collector.run_once(later).await.unwrap();
    assert_eq!(
        (report.rate_limited, report.snapshots),
        (1, 0),
        "{report:?}"
    );
    let midnight = next_quota_reset(later);
    assert_eq!(
        s.app
            .scalar_i64(&format!(
                "SELECT count(*) FROM post_targets WHERE metrics_retry_at = '{}'::timestamptz",
                midnight.to_rfc3339()
            ))
            .await,
        1,
        "waits until {midnight}"
    );
    assert_eq!(collector.run_once(later).await.unwrap().claimed, 0);
    assert_eq!(
        collector
            .run_once(midnight - Duration::seconds(1))
            .await
            .unwrap()
            .claimed,
        0,
        "not a second early"
    );
    assert_eq!(
        s.app
            .scalar_string(&format!(
                "SELECT status FROM connections WHERE id = '{}'",
                s.youtube
            ))
            .await
            .as_deref(),
        Some("active")
    );
}

#[tokio::test]
async fn a_private_tiktok_post_known_only_by_its_publish_id_waits_for_a_public_id_then_stops() {
    let s = seller().await;
    s.publish_video(
        json!([{ "connection_id": s.tiktok, "options": { "privacy_level": "SELF_ONLY" } }]),
    )
    .await;
    let remote_id = s.remote_id(s.tiktok).await;
    assert!(
        remote_id.starts_with("v_pub_"),
        "a private post has no public id; its publish id is kept: {remote_id}"
    );
    let published_at = DateTime::from_timestamp(
        s.app
            .scalar_i64("SELECT extract(epoch FROM published_at)::bigint FROM post_targets")
            .await,
        0,
    )
    .unwrap();
    s.advance_clocks(3700).await;
    let collector = s.collector();
    // Moderation may still hand out an id: not yet, and asked again in an hour.
    let report = collector
        .run_once(published_at + Duration::minutes(70))
        .await
        .unwrap();
    assert_eq!((report.not_yet, report.snapshots), (1, 0), "{report:?}");
    // Still none after six hours: a private post never gets one, so its collection ends.
    let report = collector
        .run_once(published_at + Duration::hours(7))
        .await
        .unwrap();
    assert_eq!((report.gone, report.snapshots), (1, 0), "{report:?}");
    assert_eq!(
        s.app
            .scalar_i64(&format!(
                "SELECT count(*) FROM post_targets WHERE metrics_step = {}",
                picscripter::jobs::collect_metrics::SCHEDULE_SECS.len()
            ))
            .await,
        1
    );
    let asked = s.sandbox.requests("tiktok").await;
    let paths = |suffix: &str| {
        asked
            .iter()
            .filter(|r| r["path"].as_str().unwrap_or("").ends_with(suffix))
            .count()
    };
    assert_eq!(
        paths("/v2/video/query/"),
        0,
        "a publish id is never sent to video/query"
    );
    assert!(
        paths("/v2/post/publish/status/fetch/") >= 2,
        "the status was asked"
    );
}
