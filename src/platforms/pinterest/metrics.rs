//! Pin analytics (PLATFORMS.md §5; `reference/pinterest-v5.openapi.json`, `pins/analytics`):
//! one `GET /v5/pins/{pin_id}/analytics` per pin, from the day it was published to today. The
//! spec allows a start at most 90 days back and a range of at most 90 days, so an older pin's
//! numbers cover its last 90 days. Only days whose `data_status` is `READY` or `ESTIMATE` are
//! summed; a pin with none yet (all `PROCESSING`) is `NotYet`.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Days, NaiveDate, Utc};
use serde_json::{Value, json};

use crate::domain::Platform;
use crate::platforms::Http;
use crate::platforms::metrics::{
    Account, Counts, MetricsError, MetricsSource, PostCounts, RemotePost, per_post,
};
use crate::platforms::publish;

pub const METRIC_TYPES: &str = "IMPRESSION,SAVE,PIN_CLICK,OUTBOUND_CLICK";
/// `start_date` "cannot be more than 90 days back from today" (and the range is at most 90).
pub const MAX_DAYS_BACK: u64 = 90;

pub struct PinterestMetrics {
    pub http: Http,
}

/// The report's dates: the published day (or 90 days ago, for older pins) to today, UTC.
pub fn window(published_at: DateTime<Utc>, now: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
    let today = now.date_naive();
    let earliest = today
        .checked_sub_days(Days::new(MAX_DAYS_BACK))
        .unwrap_or(today);
    let start = published_at.date_naive().clamp(earliest, today);
    (start, today)
}

fn analytics_url(pin_id: &str, start: NaiveDate, end: NaiveDate) -> String {
    format!(
        "https://api.pinterest.com/v5/pins/{pin_id}/analytics?start_date={start}&end_date={end}&metric_types={METRIC_TYPES}"
    )
}

/// The sums of the `READY` and `ESTIMATE` days of an analytics answer (today's numbers are an
/// estimate until the day is processed; a later snapshot reads the day again, ready); `NotYet`
/// when no day has numbers.
pub fn read_analytics(json: &Value) -> PostCounts {
    let days = json
        .pointer("/all/daily_metrics")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut ready = 0;
    let mut sums: HashMap<&str, f64> = HashMap::new();
    for day in days {
        if !matches!(
            day.get("data_status").and_then(Value::as_str),
            Some("READY" | "ESTIMATE")
        ) {
            continue;
        }
        ready += 1;
        let Some(metrics) = day.get("metrics").and_then(Value::as_object) else {
            continue;
        };
        for name in ["IMPRESSION", "SAVE", "PIN_CLICK", "OUTBOUND_CLICK"] {
            if let Some(v) = metrics.get(name).and_then(Value::as_f64) {
                *sums.entry(name).or_default() += v;
            }
        }
    }
    if ready == 0 {
        return PostCounts::NotYet;
    }
    let get = |name: &str| sums.get(name).map(|v| v.round() as i64);
    let (pin, outbound) = (get("PIN_CLICK"), get("OUTBOUND_CLICK"));
    let clicks = match (pin, outbound) {
        (None, None) => None,
        (p, o) => Some(p.unwrap_or(0) + o.unwrap_or(0)),
    };
    PostCounts::Counts(Counts {
        impressions: get("IMPRESSION"),
        saves: get("SAVE"),
        clicks,
        raw: json!({
            "IMPRESSION": get("IMPRESSION"),
            "SAVE": get("SAVE"),
            "PIN_CLICK": pin,
            "OUTBOUND_CLICK": outbound,
            "ready_days": ready,
        }),
        ..Counts::default()
    })
}

#[async_trait]
impl MetricsSource for PinterestMetrics {
    fn batch_size(&self) -> usize {
        25
    }

    #[tracing::instrument(name = "pinterest.analytics", skip_all, fields(posts = posts.len()))]
    async fn fetch(
        &self,
        account: &Account<'_>,
        posts: &[RemotePost],
        now: DateTime<Utc>,
    ) -> Result<HashMap<String, PostCounts>, MetricsError> {
        per_post(
            &self.http,
            Platform::Pinterest,
            account,
            posts,
            |post| {
                let (start, end) = window(post.published_at, now);
                analytics_url(&post.id, start, end)
            },
            read_analytics,
            |answer| match answer.status {
                404 => Ok(Some(PostCounts::Gone)),
                401 => Err(MetricsError::NeedsReauth),
                429 => Err(MetricsError::RateLimited {
                    reset_at: publish::reset_time(&answer.headers, now),
                    retry_after: None,
                }),
                status => {
                    tracing::warn!(status, answer = %answer.json, "Pinterest refused a pin analytics request");
                    Ok(None)
                }
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn day(date: &str, status: &str, impressions: i64, saves: i64, pin: i64, out: i64) -> Value {
        json!({"date": date, "data_status": status, "metrics": {
            "IMPRESSION": impressions, "SAVE": saves, "PIN_CLICK": pin, "OUTBOUND_CLICK": out}})
    }

    #[test]
    fn ready_days_are_summed_and_clicks_are_pin_plus_outbound_clicks() {
        let json = json!({"all": {"daily_metrics": [
            day("2026-09-01", "READY", 100, 4, 7, 2),
            day("2026-09-02", "READY", 50, 1, 3, 1),
            day("2026-09-03", "PROCESSING", 999, 99, 99, 99),
        ], "summary_metrics": {"IMPRESSION": 1149}}});
        let with_estimate = json!({"all": {"daily_metrics": [
            day("2026-09-01", "READY", 100, 4, 7, 2),
            day("2026-09-02", "ESTIMATE", 10, 1, 0, 0),
        ]}});
        let PostCounts::Counts(e) = read_analytics(&with_estimate) else {
            panic!("counts expected");
        };
        assert_eq!(e.impressions, Some(110), "today's estimate counts");
        let PostCounts::Counts(c) = read_analytics(&json) else {
            panic!("counts expected");
        };
        assert_eq!(c.impressions, Some(150));
        assert_eq!(c.saves, Some(5));
        assert_eq!(c.clicks, Some(13));
        assert_eq!(c.raw["PIN_CLICK"], 10);
        assert_eq!(c.raw["OUTBOUND_CLICK"], 3);
        assert_eq!((c.likes, c.views, c.replies), (None, None, None));
    }

    #[test]
    fn a_pin_without_ready_days_is_not_yet_available_rather_than_zero() {
        let processing =
            json!({"all": {"daily_metrics": [day("2026-09-03", "PROCESSING", 5, 0, 0, 0)]}});
        assert_eq!(read_analytics(&processing), PostCounts::NotYet);
        assert_eq!(
            read_analytics(&json!({"all": {"daily_metrics": []}})),
            PostCounts::NotYet
        );
        assert_eq!(read_analytics(&json!({})), PostCounts::NotYet);
    }

    #[test]
    fn the_window_runs_from_the_published_day_and_never_beyond_ninety_days() {
        let now = Utc.with_ymd_and_hms(2026, 9, 10, 8, 0, 0).unwrap();
        let fresh = Utc.with_ymd_and_hms(2026, 9, 8, 23, 0, 0).unwrap();
        assert_eq!(
            window(fresh, now),
            (
                NaiveDate::from_ymd_opt(2026, 9, 8).unwrap(),
                NaiveDate::from_ymd_opt(2026, 9, 10).unwrap()
            )
        );
        let old = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        let (start, end) = window(old, now);
        assert_eq!((end - start).num_days(), 90);
        let future = now + chrono::Duration::days(2);
        assert_eq!(window(future, now), (now.date_naive(), now.date_naive()));
    }
}
