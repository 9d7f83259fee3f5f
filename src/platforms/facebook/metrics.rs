//! Facebook Page post engagement (PLATFORMS.md §3): one `GET /{version}/{post-id}?fields=…` per
//! post on the host and Graph version the publisher uses, with the Page token the connection
//! holds (the one the post was published with). One request reads everything through field
//! expansion:
//!
//! - `reactions.summary(total_count).limit(0)` → likes (every reaction, not only "like"),
//! - `comments.summary(total_count).limit(0)` → replies,
//! - `shares` (`{"count": n}`) → reposts. Facebook leaves `shares` out of a post nobody shared
//!   (common client knowledge, not in PLATFORMS.md: UNCONFIRMED); we keep that as unknown, not 0,
//! - `insights.metric(post_total_media_view_unique,post_clicks)`: the current post metrics
//!   PLATFORMS.md lists (`post_impressions_unique` and the other deprecated ones are never asked).
//!   `post_clicks` → clicks. `post_total_media_view_unique` counts the people who saw the post
//!   (the successor of `post_impressions_unique`, a reach), so like Instagram's reach it is kept
//!   in `raw` and is neither views nor impressions.
//!
//! Videos are stored by their video id (no `{page}_{post}` underscore); a Video node has no
//! `shares` field nor post insights, so only its reactions and comments are asked (the Video
//! node's edges are UNCONFIRMED against PLATFORMS.md).
//!
//! Why one request per post rather than the multi-id lookup (`GET /?ids=a,b,c`): Graph fails
//! the whole lookup when one id of it is deleted or of another node type (a video among posts),
//! so one deleted post would hide the numbers of the other 49; answered one by one, a deleted
//! post is simply `Gone` (error 100, subcode 33). A Page's business-use-case budget is far above
//! what a snapshot schedule of six reads per post costs.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::oauth::GRAPH_VERSION;
use crate::domain::Platform;
use crate::platforms::Http;
use crate::platforms::meta::{self, GraphError};
use crate::platforms::metrics::{
    Account, Counts, MetricsError, MetricsSource, PostCounts, RemotePost, per_post,
};
use crate::platforms::publish::{self, Answer};

/// The post insights we ask for (PLATFORMS.md §3, "Insights (Pages)").
pub const POST_METRICS: &str = "post_total_media_view_unique,post_clicks";
const SUMMARIES: &str =
    "reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0)";

/// When a rate-limit answer says nothing about when it lifts.
const DEFAULT_BACKOFF: Duration = Duration::from_secs(5 * 60);

pub struct FacebookMetrics {
    pub http: Http,
}

/// A Page post's id is `{page-id}_{post-id}`; a video is stored by its bare video id.
fn is_video(remote_id: &str) -> bool {
    !remote_id.contains('_')
}

/// The `fields` a post (or a video) is read with.
pub fn fields(remote_id: &str) -> String {
    if is_video(remote_id) {
        SUMMARIES.to_owned()
    } else {
        format!("{SUMMARIES},shares,insights.metric({POST_METRICS})")
    }
}

fn post_url(remote_id: &str) -> String {
    format!(
        "https://graph.facebook.com/{GRAPH_VERSION}/{remote_id}?fields={}",
        fields(remote_id)
    )
}

/// The counts of a successful post (or video) answer; `NotYet` when it carries no number at all.
pub fn read_post(json: &Value) -> PostCounts {
    let mut raw = Map::new();
    let mut put = |name: &str, v: Option<i64>| {
        if let Some(v) = v {
            raw.insert(name.to_owned(), Value::from(v));
        }
        v
    };
    let likes = put(
        "reactions",
        json.pointer("/reactions/summary/total_count")
            .and_then(number),
    );
    let replies = put(
        "comments",
        json.pointer("/comments/summary/total_count")
            .and_then(number),
    );
    let reposts = put("shares", json.pointer("/shares/count").and_then(number));
    let insights = json
        .pointer("/insights/data")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for metric in insights {
        let Some(name) = metric.get("name").and_then(Value::as_str) else {
            continue;
        };
        // Lifetime post metrics carry one value; only plain numbers map onto counts.
        if let Some(v) = metric.pointer("/values/0/value").and_then(number) {
            raw.insert(name.to_owned(), Value::from(v));
        }
    }
    if raw.is_empty() {
        return PostCounts::NotYet;
    }
    let clicks = raw.get("post_clicks").and_then(Value::as_i64);
    PostCounts::Counts(Counts {
        likes,
        reposts,
        replies,
        quotes: None,
        // People reached, not impressions nor views: it stays in `raw`.
        impressions: None,
        saves: None,
        clicks,
        views: None,
        raw: Value::Object(raw),
    })
}

fn number(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_f64().map(|f| f.round() as i64))
}

/// What an error answer means for this post (`Ok`), or for the whole account (`Err`). `Ok(None)`
/// leaves the post for the next snapshot.
pub fn classify(answer: &Answer, now: DateTime<Utc>) -> Result<Option<PostCounts>, MetricsError> {
    let e = GraphError::read(&answer.json);
    if e.code == 190 || answer.status == 401 {
        return Err(MetricsError::NeedsReauth);
    }
    if meta::is_rate_limit(e.code) || answer.status == 429 {
        // Page tokens are under business-use-case limits: `X-Business-Use-Case-Usage` says
        // `estimated_time_to_regain_access` in minutes.
        let reset_at = publish::reset_time(&answer.headers, now);
        return Err(MetricsError::RateLimited {
            reset_at,
            retry_after: reset_at.is_none().then_some(DEFAULT_BACKOFF),
        });
    }
    if matches!(e.code, 10 | 200..=299) {
        return Err(MetricsError::NotPermitted(format!(
            "Facebook doesn't let this Page's token read its posts' numbers ({})",
            e.words()
        )));
    }
    if e.code == 100 && e.subcode == 33 {
        return Ok(Some(PostCounts::Gone));
    }
    tracing::warn!(
        status = answer.status,
        code = e.code,
        subcode = e.subcode,
        message = %e.message,
        "Facebook refused a post engagement request"
    );
    Ok(None)
}

#[async_trait]
impl MetricsSource for FacebookMetrics {
    fn batch_size(&self) -> usize {
        25
    }

    #[tracing::instrument(name = "facebook.engagement", skip_all, fields(posts = posts.len()))]
    async fn fetch(
        &self,
        account: &Account<'_>,
        posts: &[RemotePost],
        now: DateTime<Utc>,
    ) -> Result<HashMap<String, PostCounts>, MetricsError> {
        // The connection's token is the Page's own (`/me/accounts`), as publishing uses it.
        per_post(
            &self.http,
            Platform::Facebook,
            account,
            posts,
            |post| post_url(&post.id),
            read_post,
            |answer| classify(answer, now),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};
    use serde_json::json;

    fn answer(status: u16, json: Value) -> Answer {
        Answer {
            status,
            headers: HeaderMap::new(),
            json,
        }
    }

    fn metric(name: &str, value: i64) -> Value {
        json!({"name": name, "period": "lifetime", "values": [{"value": value}],
               "title": name, "description": "", "id": format!("1_2/insights/{name}/lifetime")})
    }

    #[test]
    fn a_post_is_read_with_current_metrics_and_a_video_without_post_only_fields() {
        let post = fields("123_456");
        assert!(post.contains("insights.metric(post_total_media_view_unique,post_clicks)"));
        assert!(post.contains("shares"));
        assert!(
            !post.contains("post_impressions"),
            "deprecated metrics are never asked"
        );
        let video = fields("789");
        assert!(video.starts_with("reactions.summary(total_count)"));
        assert!(!video.contains("shares") && !video.contains("insights"));
    }

    #[test]
    fn summaries_shares_and_insights_map_onto_counts_and_viewers_stay_raw() {
        let json = json!({
            "id": "1_2",
            "reactions": {"data": [], "summary": {"total_count": 41, "viewer_reaction": "NONE"}},
            "comments": {"data": [], "summary": {"order": "ranked", "total_count": 6, "can_comment": true}},
            "shares": {"count": 3},
            "insights": {"data": [metric("post_total_media_view_unique", 900), metric("post_clicks", 27)]},
        });
        let PostCounts::Counts(c) = read_post(&json) else {
            panic!("counts expected");
        };
        assert_eq!(
            (c.likes, c.replies, c.reposts, c.clicks),
            (Some(41), Some(6), Some(3), Some(27))
        );
        assert_eq!(
            (c.views, c.impressions),
            (None, None),
            "viewers are a reach"
        );
        assert_eq!(c.raw["post_total_media_view_unique"], 900);
        assert_eq!(c.raw["reactions"], 41);
    }

    #[test]
    fn a_missing_shares_field_or_empty_insights_stay_unknown_rather_than_zero() {
        let json = json!({
            "id": "1_2",
            "reactions": {"data": [], "summary": {"total_count": 0}},
            "comments": {"data": [], "summary": {"total_count": 2}},
            "insights": {"data": []},
        });
        let PostCounts::Counts(c) = read_post(&json) else {
            panic!("counts expected");
        };
        assert_eq!(c.likes, Some(0), "a zero Facebook sent is kept");
        assert_eq!((c.reposts, c.clicks), (None, None));
        assert_eq!(read_post(&json!({"id": "1_2"})), PostCounts::NotYet);
    }

    #[test]
    fn graph_errors_become_gone_reauth_not_permitted_or_rate_limited() {
        let now = Utc::now();
        let gone = answer(
            400,
            json!({"error": {"code": 100, "error_subcode": 33, "message": "Unsupported get request."}}),
        );
        assert_eq!(classify(&gone, now).unwrap(), Some(PostCounts::Gone));
        let expired = answer(400, json!({"error": {"code": 190, "error_subcode": 460}}));
        assert!(matches!(
            classify(&expired, now),
            Err(MetricsError::NeedsReauth)
        ));
        for code in [10, 200] {
            let refused = answer(
                403,
                json!({"error": {"code": code, "message": "(#200) Requires read_insights permission"}}),
            );
            assert!(
                matches!(classify(&refused, now), Err(MetricsError::NotPermitted(_))),
                "{code}"
            );
        }
        let mut limited = answer(
            400,
            json!({"error": {"code": 80001, "message": "(#80001) There have been too many calls to this Page account."}}),
        );
        limited.headers.insert(
            "x-business-use-case-usage",
            HeaderValue::from_static(
                r#"{"1234":[{"type":"pages","call_count":100,"total_cputime":10,"total_time":20,"estimated_time_to_regain_access":9}]}"#,
            ),
        );
        match classify(&limited, now) {
            Err(MetricsError::RateLimited { reset_at, .. }) => {
                assert_eq!(reset_at, Some(now + chrono::Duration::minutes(9)));
            }
            other => panic!("rate limited expected, got {other:?}"),
        }
        for code in [4, 17, 32, 613] {
            let limited = answer(400, json!({"error": {"code": code}}));
            match classify(&limited, now) {
                Err(MetricsError::RateLimited {
                    reset_at: None,
                    retry_after: Some(_),
                }) => {}
                other => panic!("{code}: rate limited with a default wait expected, got {other:?}"),
            }
        }
        let other = answer(
            400,
            json!({"error": {"code": 100, "message": "(#100) The value must be a valid insights metric"}}),
        );
        assert_eq!(classify(&other, now).unwrap(), None, "tried again later");
    }
}
