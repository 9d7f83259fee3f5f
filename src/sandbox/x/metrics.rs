//! The numbers `GET /2/tweets?ids=` answers for posts the sandbox published on X, and that
//! endpoint's per-token rate-limit window.
//!
//! Numbers are a pure function of the post and the sandbox clock, so they repeat from run to run
//! and a test moves them with `advance_clock`: impressions grow like `a · ln(1 + hours)` with `a`
//! drawn from the post id, every other count is a fixed per-post share of impressions, so each
//! is 0 at publication and never goes down.

use std::collections::HashMap;

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::sandbox::errors::json_response;
use crate::sandbox::personas;
use crate::sandbox::published::PublishedRecord;

/// X gives `non_public_metrics` only for posts created in the last 30 days.
pub(crate) const PRIVATE_DAYS: i64 = 30;
/// The lookup window: X counts `GET /2/tweets` per user token per 15 minutes.
pub(crate) const WINDOW_SECS: i64 = 15 * 60;

/// Per-post growth factors, from the post id.
struct Shape {
    /// Impressions after `h` hours are `scale · ln(1 + h)`.
    scale: f64,
    /// Shares of impressions, in per-mille.
    likes: u64,
    reposts: u64,
    replies: u64,
    quotes: u64,
    bookmarks: u64,
    link_clicks: u64,
    profile_clicks: u64,
}

impl Shape {
    fn of(remote_id: &str) -> Self {
        let d = personas::digest(&["x", "metrics", remote_id]);
        let pick = |i: usize, lo: u64, hi: u64| lo + u64::from(d[i]) % (hi - lo + 1);
        Self {
            scale: 40.0 + f64::from(u16::from_be_bytes([d[0], d[1]]) % 400),
            likes: pick(2, 20, 60),
            reposts: pick(3, 3, 15),
            replies: pick(4, 2, 10),
            quotes: pick(5, 1, 3),
            bookmarks: pick(6, 2, 10),
            link_clicks: pick(7, 5, 30),
            profile_clicks: pick(8, 3, 12),
        }
    }
}

struct Numbers {
    impressions: u64,
    likes: u64,
    reposts: u64,
    replies: u64,
    quotes: u64,
    bookmarks: u64,
    link_clicks: u64,
    profile_clicks: u64,
}

fn numbers(r: &PublishedRecord, now: DateTime<Utc>) -> Numbers {
    let shape = Shape::of(&r.remote_id);
    let hours = ((now - r.at).num_seconds().max(0) as f64) / 3600.0;
    let impressions = (shape.scale * hours.ln_1p()).floor() as u64;
    let share = |per_mille: u64| impressions * per_mille / 1000;
    Numbers {
        impressions,
        likes: share(shape.likes),
        reposts: share(shape.reposts),
        replies: share(shape.replies),
        quotes: share(shape.quotes),
        bookmarks: share(shape.bookmarks),
        link_clicks: share(shape.link_clicks),
        profile_clicks: share(shape.profile_clicks),
    }
}

/// `public_metrics`, with the repost count under the name the request's vocabulary uses.
pub(crate) fn public_metrics(r: &PublishedRecord, now: DateTime<Utc>, post_style: bool) -> Value {
    let n = numbers(r, now);
    let reposts = if post_style {
        "repost_count"
    } else {
        "retweet_count"
    };
    json!({
        reposts: n.reposts, "reply_count": n.replies, "like_count": n.likes,
        "quote_count": n.quotes, "bookmark_count": n.bookmarks,
        "impression_count": n.impressions,
    })
}

/// `non_public_metrics`, or why this token may not see them: only the author, and only for
/// posts under 30 days old.
pub(crate) fn non_public_metrics(
    r: &PublishedRecord,
    now: DateTime<Utc>,
    user_id: &str,
) -> Result<Value, Value> {
    if r.account_id != user_id || now - r.at >= Duration::days(PRIVATE_DAYS) {
        return Err(field_error(&r.remote_id, "non_public_metrics"));
    }
    let n = numbers(r, now);
    Ok(json!({
        "impression_count": n.impressions,
        "url_link_clicks": n.link_clicks,
        "user_profile_clicks": n.profile_clicks,
        "engagements": n.likes + n.reposts + n.replies + n.quotes + n.bookmarks
            + n.link_clicks + n.profile_clicks,
    }))
}

/// X's partial error for a field the token may not read on one post; the post itself is in
/// `data` without it.
fn field_error(id: &str, field: &str) -> Value {
    json!({
        "value": id,
        "detail": format!("Sorry, you are not authorized to access '{field}.impression_count' on a Tweet."),
        "title": "Field Authorization Error",
        "resource_type": "tweet",
        "parameter": format!("{field}.impression_count"),
        "resource_id": id,
        "section": "data",
        "type": "https://api.x.com/2/problems/not-authorized-for-field",
    })
}

/// Lookup requests per token in the current 15-minute window.
#[derive(Default)]
pub(crate) struct Windows {
    by_token: HashMap<String, (DateTime<Utc>, u32)>,
}

/// Where a token stands after one more request.
pub(crate) struct Window {
    pub limit: u32,
    pub remaining: u32,
    pub reset: DateTime<Utc>,
    pub exceeded: bool,
}

impl Windows {
    /// Counts one request of `token` at `now` against `limit` per window.
    pub fn count(&mut self, token: &str, limit: u32, now: DateTime<Utc>) -> Window {
        let window = Duration::seconds(WINDOW_SECS);
        if self.by_token.len() > 4096 {
            self.by_token.retain(|_, (start, _)| now < *start + window);
        }
        let (start, used) = self.by_token.entry(token.to_owned()).or_insert((now, 0));
        if now >= *start + window {
            *start = now;
            *used = 0;
        }
        let exceeded = *used >= limit;
        if !exceeded {
            *used += 1;
        }
        Window {
            limit,
            remaining: limit.saturating_sub(*used),
            reset: *start + window,
            exceeded,
        }
    }
}

impl Window {
    /// `x-rate-limit-limit`, `-remaining` and `-reset` (epoch seconds) on `res`.
    pub fn headers(&self, mut res: Response) -> Response {
        for (name, value) in [
            ("x-rate-limit-limit", self.limit.to_string()),
            ("x-rate-limit-remaining", self.remaining.to_string()),
            ("x-rate-limit-reset", self.reset.timestamp().to_string()),
        ] {
            if let Ok(v) = HeaderValue::from_str(&value) {
                res.headers_mut().insert(HeaderName::from_static(name), v);
            }
        }
        res
    }

    /// The 429 X answers once the window is used up.
    pub fn refusal(&self) -> Response {
        self.headers(json_response(
            StatusCode::TOO_MANY_REQUESTS,
            json!({ "errors": [{ "code": 88, "message": "Rate limit exceeded" }] }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn record(id: &str, at: DateTime<Utc>) -> PublishedRecord {
        PublishedRecord {
            seq: 1,
            request_seq: 1,
            at,
            platform: crate::domain::Platform::X,
            account_id: "42".into(),
            account: "maker".into(),
            kind: "tweet".into(),
            remote_id: id.into(),
            url: None,
            text: "hello".into(),
            media: Vec::new(),
            options: Value::Object(Map::new()),
        }
    }

    #[test]
    fn numbers_start_at_zero_and_never_go_down() {
        let at = Utc::now();
        let r = record("1880028106020515840", at);
        let zero = public_metrics(&r, at, false);
        assert!(zero.as_object().unwrap().values().all(|v| v == 0), "{zero}");
        let mut last = zero;
        for hours in [1, 2, 5, 24, 72, 24 * 40] {
            let now = public_metrics(&r, at + Duration::hours(hours), false);
            for (k, v) in now.as_object().unwrap() {
                assert!(v.as_u64() >= last[k].as_u64(), "{k} shrank at {hours} h");
            }
            last = now;
        }
        assert!(last["impression_count"].as_u64().unwrap() > 100);
        assert!(last["like_count"].as_u64().unwrap() > 0);
        assert_eq!(
            last,
            public_metrics(&r, at + Duration::hours(24 * 40), false),
            "the same moment, the same numbers"
        );
    }

    #[test]
    fn private_numbers_are_for_the_author_and_posts_under_thirty_days() {
        let at = Utc::now();
        let r = record("1", at);
        assert!(non_public_metrics(&r, at + Duration::days(29), "42").is_ok());
        assert!(non_public_metrics(&r, at + Duration::days(30), "42").is_err());
        let err = non_public_metrics(&r, at, "43").unwrap_err();
        assert_eq!(err["resource_id"], "1");
    }

    #[test]
    fn a_window_refuses_past_its_limit_until_it_resets() {
        let mut w = Windows::default();
        let now = Utc::now();
        assert_eq!(w.count("t", 2, now).remaining, 1);
        assert!(!w.count("t", 2, now).exceeded);
        assert!(w.count("t", 2, now).exceeded);
        assert!(!w.count("other", 2, now).exceeded, "per token");
        let later = now + Duration::seconds(WINDOW_SECS);
        let fresh = w.count("t", 2, later);
        assert!(!fresh.exceeded);
        assert_eq!(fresh.remaining, 1);
    }
}
