//! Engagement numbers on YouTube (PLATFORMS.md §7): `videos.list` with `part=statistics` reads up
//! to 50 videos per call for 1 quota unit. The counts come as strings; `likeCount` and
//! `commentCount` are left out when the channel hides likes or turned comments off, and those
//! stay `None`. A video missing from `items` is gone (deleted, or no longer ours to see).
//!
//! The quota is per project and day and resets at midnight Pacific Time (PLATFORMS.md §7
//! "Quota"), so `quotaExceeded` makes the account wait until then, not for a fixed while.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Days, TimeZone as _, Utc};
use chrono_tz::America::Los_Angeles;
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::domain::Platform;
use crate::platforms::Http;
use crate::platforms::metrics::{
    Account, Counts, MetricsError, MetricsSource, PostCounts, RemotePost,
};
use crate::platforms::publish::{self, Answer, Kind};

const VIDEOS: &str = "https://www.googleapis.com/youtube/v3/videos";
/// `id` takes at most 50 comma-separated video ids.
pub const MAX_IDS: usize = 50;

pub struct YouTubeMetrics {
    pub http: Http,
}

#[async_trait]
impl MetricsSource for YouTubeMetrics {
    fn batch_size(&self) -> usize {
        MAX_IDS
    }

    #[tracing::instrument(name = "youtube.statistics", skip_all, fields(posts = posts.len()))]
    async fn fetch(
        &self,
        account: &Account<'_>,
        posts: &[RemotePost],
        now: DateTime<Utc>,
    ) -> Result<HashMap<String, PostCounts>, MetricsError> {
        let token = account.access_token.expose_secret();
        let mut out = HashMap::with_capacity(posts.len());
        for batch in posts.chunks(MAX_IDS) {
            let ids: Vec<String> = batch.iter().map(|p| p.id.clone()).collect();
            let mut url = url::Url::parse(VIDEOS).expect("constant URL");
            url.query_pairs_mut()
                .append_pair("part", "statistics")
                .append_pair("id", &ids.join(","));
            let req = self
                .http
                .client()
                .get(self.http.url(Platform::Youtube, url.as_str()))
                .bearer_auth(token);
            let answer = publish::send(req, Kind::Step)
                .await
                .map_err(|e| MetricsError::Failed(e.to_string()))?;
            out.extend(read(&answer, &ids, now)?);
        }
        Ok(out)
    }
}

/// The counts in one `videos.list` answer, or what its status means.
pub fn read(
    answer: &Answer,
    asked: &[String],
    now: DateTime<Utc>,
) -> Result<HashMap<String, PostCounts>, MetricsError> {
    match answer.status {
        200..=299 => {}
        401 => return Err(MetricsError::NeedsReauth),
        403 | 429 => {
            return Err(match reason(&answer.json) {
                "quotaExceeded" | "dailyLimitExceeded" => MetricsError::RateLimited {
                    reset_at: Some(next_quota_reset(now)),
                    retry_after: None,
                },
                // Google's short-term limits (its general error reasons; not in PLATFORMS.md).
                "rateLimitExceeded" | "userRateLimitExceeded" => MetricsError::RateLimited {
                    reset_at: None,
                    retry_after: Some(std::time::Duration::from_secs(60)),
                },
                _ if answer.status == 429 => MetricsError::RateLimited {
                    reset_at: None,
                    retry_after: Some(std::time::Duration::from_secs(60)),
                },
                _ => MetricsError::NotPermitted(format!(
                    "YouTube refused to show video statistics: {}",
                    message(&answer.json)
                )),
            });
        }
        status => {
            return Err(MetricsError::Failed(format!(
                "YouTube refused the statistics request ({status}): {}",
                message(&answer.json)
            )));
        }
    }
    let mut out: HashMap<String, PostCounts> = asked
        .iter()
        .map(|id| (id.clone(), PostCounts::Gone))
        .collect();
    for item in answer
        .json
        .get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(id) = item.get("id").and_then(Value::as_str)
            && out.contains_key(id)
        {
            out.insert(id.to_owned(), PostCounts::Counts(counts(item)));
        }
    }
    Ok(out)
}

/// One video's numbers. The counts are strings ("123"); one left out stays `None`.
/// `favoriteCount` is always "0" (favourites are gone from YouTube) and is kept in `raw` only.
pub fn counts(item: &Value) -> Counts {
    let stat = |name: &str| {
        let v = item.pointer(&format!("/statistics/{name}"))?;
        v.as_str()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .or_else(|| v.as_i64())
    };
    Counts {
        views: stat("viewCount"),
        likes: stat("likeCount"),
        replies: stat("commentCount"),
        raw: item.get("statistics").cloned().unwrap_or(Value::Null),
        ..Counts::default()
    }
}

/// The next midnight in Los Angeles, when the daily quota starts again.
pub fn next_quota_reset(now: DateTime<Utc>) -> DateTime<Utc> {
    let today = now.with_timezone(&Los_Angeles).date_naive();
    let tomorrow = today.checked_add_days(Days::new(1)).unwrap_or(today);
    let midnight = tomorrow.and_hms_opt(0, 0, 0).unwrap_or_default();
    // Los Angeles changes its clocks at 2 a.m., so midnight always exists; `earliest` is a
    // formality.
    Los_Angeles
        .from_local_datetime(&midnight)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now + chrono::Duration::hours(24))
}

/// The first error's `reason` in Google's envelope.
fn reason(json: &Value) -> &str {
    json.pointer("/error/errors/0/reason")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn message(json: &Value) -> String {
    json.pointer("/error/message")
        .and_then(Value::as_str)
        .unwrap_or("no reason given")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(status: u16, json: Value) -> Answer {
        Answer {
            status,
            headers: Default::default(),
            json,
        }
    }

    fn google_error(status: u16, reason: &str) -> Answer {
        answer(
            status,
            json!({"error": {"code": status, "message": "No.", "errors": [
                {"message": "No.", "domain": "youtube.quota", "reason": reason}]}}),
        )
    }

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn string_counts_map_to_views_likes_and_replies() {
        let item = json!({"id": "a", "statistics": {
            "viewCount": "123", "likeCount": "4", "favoriteCount": "0", "commentCount": "1"}});
        let c = counts(&item);
        assert_eq!(c.views, Some(123));
        assert_eq!(c.likes, Some(4));
        assert_eq!(c.replies, Some(1));
        assert_eq!((c.reposts, c.impressions, c.saves), (None, None, None));
        assert_eq!(c.raw["favoriteCount"], "0");
    }

    #[test]
    fn hidden_likes_and_comments_turned_off_are_none_not_zero() {
        let c = counts(&json!({"id": "a", "statistics": {"viewCount": "9", "favoriteCount": "0"}}));
        assert_eq!(c.views, Some(9));
        assert_eq!(c.likes, None);
        assert_eq!(c.replies, None);
    }

    #[test]
    fn a_video_missing_from_items_is_gone() {
        let asked: Vec<String> = ["a", "b"].map(String::from).to_vec();
        let out = read(
            &answer(
                200,
                json!({"kind": "youtube#videoListResponse", "items": [
                    {"id": "a", "statistics": {"viewCount": "1"}},
                    {"id": "zzz", "statistics": {"viewCount": "1"}}]}),
            ),
            &asked,
            Utc::now(),
        )
        .unwrap();
        assert!(matches!(out["a"], PostCounts::Counts(_)));
        assert_eq!(out["b"], PostCounts::Gone);
        assert_eq!(out.len(), 2, "only ids that were asked for");
    }

    #[test]
    fn refusals_map_to_reauthorization_quota_waits_and_missing_permission() {
        let now = at("2026-12-08T03:00:00Z");
        let asked = vec!["a".to_owned()];
        assert!(matches!(
            read(&google_error(401, "authError"), &asked, now),
            Err(MetricsError::NeedsReauth)
        ));
        match read(&google_error(403, "quotaExceeded"), &asked, now) {
            Err(MetricsError::RateLimited {
                reset_at: Some(t), ..
            }) => assert_eq!(t, next_quota_reset(now)),
            other => panic!("a quota wait expected: {other:?}"),
        }
        for reason in ["forbidden", "insufficientPermissions"] {
            assert!(
                matches!(
                    read(&google_error(403, reason), &asked, now),
                    Err(MetricsError::NotPermitted(_))
                ),
                "{reason}"
            );
        }
        assert!(matches!(
            read(&google_error(500, "backendError"), &asked, now),
            Err(MetricsError::Failed(_))
        ));
    }

    #[test]
    fn the_quota_resets_at_the_next_midnight_in_los_angeles_in_summer_and_winter() {
        // 03:00 UTC on 8 December is 19:00 on the 7th in Los Angeles (PST, UTC-8).
        assert_eq!(
            next_quota_reset(at("2026-12-08T03:00:00Z")),
            at("2026-12-08T08:00:00Z")
        );
        // 09:00 UTC on 8 December is 01:00 on the 8th: the reset is the next night.
        assert_eq!(
            next_quota_reset(at("2026-12-08T09:00:00Z")),
            at("2026-12-09T08:00:00Z")
        );
        // Summer time (PDT, UTC-7).
        assert_eq!(
            next_quota_reset(at("2026-07-01T12:00:00Z")),
            at("2026-07-02T07:00:00Z")
        );
        // The night the clocks go back (1 November 2026): midnight is still PDT.
        assert_eq!(
            next_quota_reset(at("2026-10-31T20:00:00Z")),
            at("2026-11-01T07:00:00Z")
        );
    }
}
