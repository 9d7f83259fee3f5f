//! Instagram media insights (PLATFORMS.md §2, Insights): one
//! `GET /{ig-media-id}/insights?metric=…` per post on the host and Graph version the publisher
//! uses. Only current metrics are asked for (`impressions`, `plays` and `video_views` are
//! deprecated). Instagram answers an empty data set, or error 10 "Not enough viewers", while it
//! has no numbers yet: both are `NotYet`, never zeros.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use serde_json::{Map, Value};

use super::oauth::GRAPH_VERSION;
use crate::domain::Platform;
use crate::platforms::Http;
use crate::platforms::meta::{self, GraphError};
use crate::platforms::metrics::{
    Account, Counts, MetricsError, MetricsSource, PostCounts, RemotePost, per_post,
};
use crate::platforms::publish::{self, Answer};

/// What we ask for: everything current that maps onto [`Counts`], plus reach and total
/// interactions, kept in `raw`.
pub const METRICS: &str = "views,reach,likes,comments,shares,saved,total_interactions";

/// When a rate-limit answer says nothing about when it lifts.
const DEFAULT_BACKOFF: Duration = Duration::from_secs(5 * 60);

pub struct InstagramMetrics {
    pub http: Http,
}

fn insights_url(media_id: &str) -> String {
    format!("https://graph.instagram.com/{GRAPH_VERSION}/{media_id}/insights?metric={METRICS}")
}

/// The counts of a successful insights answer: `NotYet` for an empty data set.
pub fn read_insights(json: &Value) -> PostCounts {
    let data = json
        .get("data")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut raw = Map::new();
    for metric in data {
        let Some(name) = metric.get("name").and_then(Value::as_str) else {
            continue;
        };
        // Lifetime media metrics carry one value; newer answers may use `total_value`.
        let value = metric
            .pointer("/values/0/value")
            .or_else(|| metric.pointer("/total_value/value"))
            .and_then(number);
        if let Some(v) = value {
            raw.insert(name.to_owned(), Value::from(v));
        }
    }
    if raw.is_empty() {
        return PostCounts::NotYet;
    }
    let get = |name: &str| raw.get(name).and_then(Value::as_i64);
    PostCounts::Counts(Counts {
        likes: get("likes"),
        reposts: get("shares"),
        replies: get("comments"),
        quotes: None,
        // Reach counts accounts, not impressions: it stays in `raw`.
        impressions: None,
        saves: get("saved"),
        clicks: None,
        views: get("views"),
        raw: Value::Object(raw),
    })
}

fn number(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_f64().map(|f| f.round() as i64))
}

/// What an error answer means for this post, or for the whole batch (`Err`).
fn classify(answer: &Answer, now: DateTime<Utc>) -> Result<Option<PostCounts>, MetricsError> {
    let e = GraphError::read(&answer.json);
    if e.code == 190 || answer.status == 401 {
        return Err(MetricsError::NeedsReauth);
    }
    if meta::is_rate_limit(e.code) || answer.status == 429 {
        let reset_at = publish::reset_time(&answer.headers, now)
            .or_else(|| app_usage_reset(&answer.headers, now));
        return Err(MetricsError::RateLimited {
            reset_at,
            retry_after: reset_at.is_none().then_some(DEFAULT_BACKOFF),
        });
    }
    if e.code == 10 && e.message.to_lowercase().contains("not enough viewers") {
        return Ok(Some(PostCounts::NotYet));
    }
    if matches!(e.code, 10 | 200..=299) {
        // The insights permission is missing: only a new consent gives it.
        return Err(MetricsError::NeedsReauth);
    }
    if e.code == 100 && e.subcode == 33 {
        return Ok(Some(PostCounts::Gone));
    }
    tracing::warn!(
        status = answer.status,
        code = e.code,
        subcode = e.subcode,
        message = %e.message,
        "Instagram refused a media insights request"
    );
    Ok(None)
}

/// `X-App-Usage` may carry the same `estimated_time_to_regain_access` (minutes) as the
/// business use case header.
fn app_usage_reset(headers: &HeaderMap, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let raw = headers.get("x-app-usage")?.to_str().ok()?;
    let v: Value = serde_json::from_str(raw).ok()?;
    let minutes = v.get("estimated_time_to_regain_access")?.as_i64()?;
    (minutes > 0).then(|| now + chrono::Duration::minutes(minutes))
}

#[async_trait]
impl MetricsSource for InstagramMetrics {
    fn batch_size(&self) -> usize {
        25
    }

    #[tracing::instrument(name = "instagram.insights", skip_all, fields(posts = posts.len()))]
    async fn fetch(
        &self,
        account: &Account<'_>,
        posts: &[RemotePost],
        now: DateTime<Utc>,
    ) -> Result<HashMap<String, PostCounts>, MetricsError> {
        per_post(
            &self.http,
            Platform::Instagram,
            account,
            posts,
            |post| insights_url(&post.id),
            read_insights,
            |answer| classify(answer, now),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
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
               "title": name, "description": "", "id": format!("1/insights/{name}/lifetime")})
    }

    #[test]
    fn an_empty_data_set_is_not_yet_available_rather_than_zero() {
        assert_eq!(read_insights(&json!({"data": []})), PostCounts::NotYet);
        assert_eq!(read_insights(&json!({})), PostCounts::NotYet);
    }

    #[test]
    fn insights_map_onto_counts_and_keep_reach_and_interactions_raw() {
        let json = json!({"data": [
            metric("views", 900), metric("reach", 600), metric("likes", 40),
            metric("comments", 5), metric("shares", 3), metric("saved", 7),
            metric("total_interactions", 55),
        ]});
        let PostCounts::Counts(c) = read_insights(&json) else {
            panic!("counts expected");
        };
        assert_eq!(c.likes, Some(40));
        assert_eq!(c.replies, Some(5));
        assert_eq!(c.reposts, Some(3));
        assert_eq!(c.saves, Some(7));
        assert_eq!(c.views, Some(900));
        assert_eq!(c.impressions, None, "reach is not impressions");
        assert_eq!((c.quotes, c.clicks), (None, None));
        assert_eq!(c.raw["reach"], 600);
        assert_eq!(c.raw["total_interactions"], 55);
    }

    #[test]
    fn a_zero_the_platform_sent_is_kept_as_zero() {
        let PostCounts::Counts(c) = read_insights(&json!({"data": [metric("likes", 0)]})) else {
            panic!("counts expected");
        };
        assert_eq!(c.likes, Some(0));
        assert_eq!(c.views, None, "a metric not sent stays unknown");
    }

    #[test]
    fn graph_errors_become_not_yet_gone_reauth_or_rate_limited() {
        let now = Utc::now();
        let not_enough = answer(
            400,
            json!({"error": {"code": 10, "message": "(#10) Not enough viewers for the media to show insights"}}),
        );
        assert_eq!(
            classify(&not_enough, now).unwrap(),
            Some(PostCounts::NotYet)
        );
        let gone = answer(
            400,
            json!({"error": {"code": 100, "error_subcode": 33, "message": "Unsupported get request."}}),
        );
        assert_eq!(classify(&gone, now).unwrap(), Some(PostCounts::Gone));
        let expired = answer(400, json!({"error": {"code": 190, "error_subcode": 463}}));
        assert!(matches!(
            classify(&expired, now),
            Err(MetricsError::NeedsReauth)
        ));
        let no_permission = answer(
            403,
            json!({"error": {"code": 10, "message": "(#10) Application does not have permission for this action"}}),
        );
        assert!(matches!(
            classify(&no_permission, now),
            Err(MetricsError::NeedsReauth)
        ));
        let mut limited = answer(
            400,
            json!({"error": {"code": 4, "message": "(#4) Application request limit reached"}}),
        );
        limited.headers.insert(
            "x-app-usage",
            HeaderValue::from_static(r#"{"call_count":100,"total_cputime":20,"total_time":30,"estimated_time_to_regain_access":7}"#),
        );
        match classify(&limited, now) {
            Err(MetricsError::RateLimited { reset_at, .. }) => {
                assert_eq!(reset_at, Some(now + chrono::Duration::minutes(7)));
            }
            other => panic!("rate limited expected, got {other:?}"),
        }
        let bad_metric = answer(
            400,
            json!({"error": {"code": 100, "message": "(#100) metric[0] must be one of the following values: …"}}),
        );
        assert_eq!(
            classify(&bad_metric, now).unwrap(),
            None,
            "tried again later"
        );
    }
}
