//! Engagement numbers on TikTok (PLATFORMS.md §6, "OAuth v2" notes): `POST /v2/video/query/`
//! with `fields=id,like_count,comment_count,share_count,view_count` and the body
//! `{"filters":{"video_ids":[…]}}`, up to 20 ids per request, scope `video.list`. The body shape
//! is UNCONFIRMED (PLATFORMS.md has it from Postiz, not from TikTok's reference), and so is the
//! 20-id ceiling. A video missing from `data.videos` is gone.
//!
//! Only a public post has a video id: the Content Posting API answers a `publish_id`, and
//! `status/fetch` gives `publicaly_available_post_id` once a public post is moderated. The
//! publisher stores that id as the target's remote id when it has it; a target whose remote id is
//! still the publish id (a private or inbox post, or a public one whose moderation outlasted the
//! publisher's polling) is looked up with `status/fetch` here first. Moderation "can take
//! hours", so a post without an id is "not yet" for [`MODERATION_WAIT_HOURS`], then given up on
//! (private posts never get one, and `video.list` reads public videos only).

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::domain::Platform;
use crate::platforms::Http;
use crate::platforms::metrics::{
    Account, Counts, MetricsError, MetricsSource, PostCounts, RemotePost,
};
use crate::platforms::publish::{self, Answer, Kind};

pub const QUERY: &str = "https://open.tiktokapis.com/v2/video/query/";
pub const FIELDS: &str = "id,like_count,comment_count,share_count,view_count";
const STATUS: &str = "https://open.tiktokapis.com/v2/post/publish/status/fetch/";
/// Ids per `video/query` request (UNCONFIRMED, see the module notes).
pub const MAX_IDS: usize = 20;
/// How long a post may wait for its public id before its numbers are given up on.
pub const MODERATION_WAIT_HOURS: i64 = 6;
/// TikTok documents no reset header for `rate_limit_exceeded`.
const RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);
pub const RECONNECT: &str = "reconnect TikTok to allow reading video statistics";

pub struct TiktokMetrics {
    pub http: Http,
}

#[async_trait]
impl MetricsSource for TiktokMetrics {
    fn batch_size(&self) -> usize {
        MAX_IDS
    }

    #[tracing::instrument(name = "tiktok.video_query", skip_all, fields(posts = posts.len()))]
    async fn fetch(
        &self,
        account: &Account<'_>,
        posts: &[RemotePost],
        now: DateTime<Utc>,
    ) -> Result<HashMap<String, PostCounts>, MetricsError> {
        let token = account.access_token.expose_secret();
        let mut out = HashMap::with_capacity(posts.len());
        // Video id → the remote id it was asked under (itself, or a publish id).
        let mut video_ids: Vec<(String, String)> = Vec::with_capacity(posts.len());
        for post in posts {
            if is_video_id(&post.id) {
                video_ids.push((post.id.clone(), post.id.clone()));
                continue;
            }
            match self.public_id(token, post, now).await? {
                Resolved::Video(id) => video_ids.push((id, post.id.clone())),
                Resolved::Counts(c) => {
                    out.insert(post.id.clone(), c);
                }
                Resolved::Unknown => {}
            }
        }
        for batch in video_ids.chunks(MAX_IDS) {
            let ids: Vec<String> = batch.iter().map(|(v, _)| v.clone()).collect();
            let req = self
                .http
                .client()
                .post(
                    self.http
                        .url(Platform::Tiktok, &format!("{QUERY}?fields={FIELDS}")),
                )
                .bearer_auth(token)
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/json; charset=UTF-8",
                )
                .json(&json!({ "filters": { "video_ids": ids } }));
            let answer = publish::send(req, Kind::Step)
                .await
                .map_err(|e| MetricsError::Failed(e.to_string()))?;
            let found = read(&answer, &ids)?;
            for (video, remote) in batch {
                if let Some(c) = found.get(video) {
                    out.insert(remote.clone(), c.clone());
                }
            }
        }
        Ok(out)
    }
}

enum Resolved {
    Video(String),
    Counts(PostCounts),
    /// No answer worth acting on: tried again at the next snapshot.
    Unknown,
}

impl TiktokMetrics {
    /// What `status/fetch` says about a target still known by its publish id.
    async fn public_id(
        &self,
        token: &str,
        post: &RemotePost,
        now: DateTime<Utc>,
    ) -> Result<Resolved, MetricsError> {
        let req = self
            .http
            .client()
            .post(self.http.url(Platform::Tiktok, STATUS))
            .bearer_auth(token)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/json; charset=UTF-8",
            )
            .json(&json!({ "publish_id": post.id }));
        let answer = match publish::send(req, Kind::Step).await {
            Ok(a) => a,
            Err(e) => {
                tracing::info!(publish_id = %post.id, error = %e, "no answer from TikTok's status");
                return Ok(Resolved::Unknown);
            }
        };
        resolve(&answer, post, now)
    }
}

/// A TikTok video id is a decimal int64; a publish id (`v_pub_file~v2.…`) is not.
pub fn is_video_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 19 && id.bytes().all(|b| b.is_ascii_digit())
}

/// What a `status/fetch` answer means for the numbers of the post behind a publish id.
fn resolve(
    answer: &Answer,
    post: &RemotePost,
    now: DateTime<Utc>,
) -> Result<Resolved, MetricsError> {
    let data = match envelope(answer) {
        Ok(d) => d,
        // The publish id is unknown to TikTok: nothing to read, ever.
        Err(Refusal::Other(code, _)) if code == "invalid_params" => {
            return Ok(Resolved::Counts(PostCounts::Gone));
        }
        Err(r) => return r.into_error().map(|()| Resolved::Unknown),
    };
    let id = data
        .get("publicaly_available_post_id")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(|v| {
            v.as_str()
                .map(str::to_owned)
                .or_else(|| v.as_u64().map(|n| n.to_string()))
        });
    if let Some(id) = id {
        return Ok(Resolved::Video(id));
    }
    let waited = now - post.published_at >= chrono::Duration::hours(MODERATION_WAIT_HOURS);
    Ok(Resolved::Counts(
        match data.get("status").and_then(Value::as_str) {
            Some("FAILED" | "SEND_TO_USER_INBOX") => PostCounts::Gone,
            _ if waited => PostCounts::Gone,
            _ => PostCounts::NotYet,
        },
    ))
}

/// The counts in one `video/query` answer, or what its error means.
pub fn read(
    answer: &Answer,
    asked: &[String],
) -> Result<HashMap<String, PostCounts>, MetricsError> {
    let data = match envelope(answer) {
        Ok(d) => d,
        Err(r) => {
            r.into_error()?;
            return Err(MetricsError::Failed(format!(
                "TikTok refused the video query ({})",
                answer.status
            )));
        }
    };
    let mut out: HashMap<String, PostCounts> = asked
        .iter()
        .map(|id| (id.clone(), PostCounts::Gone))
        .collect();
    for video in data
        .get("videos")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let id = video.get("id").and_then(|v| {
            v.as_str()
                .map(str::to_owned)
                .or_else(|| v.as_u64().map(|n| n.to_string()))
        });
        if let Some(id) = id
            && out.contains_key(&id)
        {
            out.insert(id, PostCounts::Counts(counts(video)));
        }
    }
    Ok(out)
}

/// One video's numbers; a count TikTok left out stays `None`.
pub fn counts(video: &Value) -> Counts {
    let n = |name: &str| video.get(name).and_then(Value::as_i64);
    Counts {
        likes: n("like_count"),
        replies: n("comment_count"),
        reposts: n("share_count"),
        views: n("view_count"),
        raw: video.clone(),
        ..Counts::default()
    }
}

enum Refusal {
    Reauth,
    Scope,
    RateLimited,
    Other(String, u16),
}

impl Refusal {
    /// The error that ends the whole call, or `Ok` for a refusal of this request alone.
    fn into_error(self) -> Result<(), MetricsError> {
        match self {
            Refusal::Reauth => Err(MetricsError::NeedsReauth),
            Refusal::Scope => Err(MetricsError::NotPermitted(RECONNECT.into())),
            Refusal::RateLimited => Err(MetricsError::RateLimited {
                reset_at: None,
                retry_after: Some(RATE_LIMIT_WAIT),
            }),
            Refusal::Other(code, status) if status >= 500 || code == "internal_error" => Err(
                MetricsError::Failed(format!("TikTok had a problem ({status}, {code})")),
            ),
            Refusal::Other(code, status) => {
                tracing::info!(code, status, "TikTok refused a request for one post");
                Ok(())
            }
        }
    }
}

/// TikTok's `{data, error}` envelope: `data` when `error.code` is `ok`.
fn envelope(answer: &Answer) -> Result<Value, Refusal> {
    let ok = (200..300).contains(&answer.status);
    let code = answer
        .json
        .pointer("/error/code")
        .and_then(Value::as_str)
        .unwrap_or(if ok { "ok" } else { "" });
    if ok && code == "ok" {
        return Ok(answer.json.get("data").cloned().unwrap_or(Value::Null));
    }
    Err(match code {
        "access_token_invalid" => Refusal::Reauth,
        "scope_not_authorized" | "scope_permission_missed" => Refusal::Scope,
        "rate_limit_exceeded" => Refusal::RateLimited,
        _ if answer.status == 429 => Refusal::RateLimited,
        _ if answer.status == 401 => Refusal::Reauth,
        other => Refusal::Other(other.to_owned(), answer.status),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, json: Value) -> Answer {
        Answer {
            status,
            headers: Default::default(),
            json,
        }
    }

    fn refusal(status: u16, code: &str) -> Answer {
        answer(
            status,
            json!({"data": {}, "error": {"code": code, "message": "No.", "log_id": "1"}}),
        )
    }

    fn post(id: &str, hours_ago: i64, now: DateTime<Utc>) -> RemotePost {
        RemotePost {
            id: id.into(),
            published_at: now - chrono::Duration::hours(hours_ago),
        }
    }

    #[test]
    fn counts_map_likes_comments_shares_and_views() {
        let video = json!({"id": "7300000000000000001", "like_count": 1, "comment_count": 2,
            "share_count": 3, "view_count": 40});
        let c = counts(&video);
        assert_eq!(
            (c.likes, c.replies, c.reposts, c.views),
            (Some(1), Some(2), Some(3), Some(40))
        );
        assert_eq!((c.impressions, c.saves, c.clicks), (None, None, None));
        let bare = counts(&json!({"id": "7"}));
        assert_eq!(
            (bare.likes, bare.views),
            (None, None),
            "absent is None, not 0"
        );
    }

    #[test]
    fn a_video_missing_from_the_answer_is_gone() {
        let asked: Vec<String> = ["71", "72"].map(String::from).to_vec();
        let out = read(
            &answer(
                200,
                json!({"data": {"videos": [{"id": "71", "view_count": 5}, {"id": "99"}]},
                       "error": {"code": "ok", "message": "", "log_id": "1"}}),
            ),
            &asked,
        )
        .unwrap();
        assert!(matches!(out["71"], PostCounts::Counts(_)));
        assert_eq!(out["72"], PostCounts::Gone);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn errors_map_to_reauthorization_missing_scope_and_rate_limits() {
        let asked = vec!["71".to_owned()];
        assert!(matches!(
            read(&refusal(401, "access_token_invalid"), &asked),
            Err(MetricsError::NeedsReauth)
        ));
        match read(&refusal(401, "scope_not_authorized"), &asked) {
            Err(MetricsError::NotPermitted(why)) => assert_eq!(why, RECONNECT),
            other => panic!("not permitted expected: {other:?}"),
        }
        match read(&refusal(429, "rate_limit_exceeded"), &asked) {
            Err(MetricsError::RateLimited {
                reset_at: None,
                retry_after: Some(d),
            }) => assert_eq!(d, Duration::from_secs(60)),
            other => panic!("a rate limit expected: {other:?}"),
        }
        assert!(matches!(
            read(&refusal(400, "invalid_params"), &asked),
            Err(MetricsError::Failed(_))
        ));
    }

    #[test]
    fn video_ids_are_decimal_and_publish_ids_are_not() {
        assert!(is_video_id("7300000000000000001"));
        assert!(!is_video_id("v_pub_file~v2.123456789"));
        assert!(!is_video_id("p_pub_url~v2.1"));
        assert!(!is_video_id(""));
    }

    #[test]
    fn a_publish_id_resolves_to_its_public_id_or_waits_for_moderation_then_gives_up() {
        let now = Utc::now();
        let status = |data: Value| {
            answer(
                200,
                json!({"data": data, "error": {"code": "ok", "message": "", "log_id": "1"}}),
            )
        };
        let public = status(
            json!({"status": "PUBLISH_COMPLETE", "publicaly_available_post_id": [7300000000000000001_u64]}),
        );
        assert!(matches!(
            resolve(&public, &post("v_pub_file~v2.1", 1, now), now),
            Ok(Resolved::Video(id)) if id == "7300000000000000001"
        ));
        let no_id =
            status(json!({"status": "PUBLISH_COMPLETE", "publicaly_available_post_id": []}));
        assert!(matches!(
            resolve(&no_id, &post("v_pub_file~v2.1", 1, now), now),
            Ok(Resolved::Counts(PostCounts::NotYet))
        ));
        assert!(matches!(
            resolve(
                &no_id,
                &post("v_pub_file~v2.1", MODERATION_WAIT_HOURS, now),
                now
            ),
            Ok(Resolved::Counts(PostCounts::Gone))
        ));
        let inbox = status(json!({"status": "SEND_TO_USER_INBOX"}));
        assert!(matches!(
            resolve(&inbox, &post("v_pub_file~v2.1", 1, now), now),
            Ok(Resolved::Counts(PostCounts::Gone))
        ));
        assert!(matches!(
            resolve(
                &refusal(400, "invalid_params"),
                &post("v_pub_file~v2.1", 1, now),
                now
            ),
            Ok(Resolved::Counts(PostCounts::Gone))
        ));
        assert!(matches!(
            resolve(
                &refusal(401, "access_token_invalid"),
                &post("v_pub_file~v2.1", 1, now),
                now
            ),
            Err(MetricsError::NeedsReauth)
        ));
    }
}
