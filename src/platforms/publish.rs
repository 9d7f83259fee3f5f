//! Publishing: the `Publisher` trait every social network implements, and the plumbing they
//! share — sending a request and classifying its failure, reading rate-limit resets, and the
//! progress record that makes multi-step publishes resumable.
//!
//! The engine (`crate::publishing`) owns the life cycle; a publisher only talks to its network.
//! Two rules every publisher follows:
//! - **Record before anything else.** Each step's id goes into `Progress` (persisted at once)
//!   the moment the platform returns it, so a resumed job continues instead of starting over.
//! - **Mark before the irreversible call.** `Progress::mark_sent` is written before the request
//!   that creates the post. If no answer comes back (timeout after sending, connection reset),
//!   the outcome is `Unknown` — never a blind retry.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, TimeZone as _, Utc};
use reqwest::header::HeaderMap;
use secrecy::SecretString;
use serde_json::Value;

use crate::domain::{Format, MediaFacts, TargetOptions};

/// One medium of a post, as a publisher can use it.
#[derive(Clone)]
pub struct MediaInput {
    pub facts: MediaFacts,
    pub alt_text: String,
    /// A public, signed, expiring URL of the file, for platforms that pull media. Photos the
    /// format must have as JPEG are already converted (`facts` describe what is sent).
    pub url: String,
    pub loader: Arc<dyn MediaLoader>,
}

/// Reads a medium's bytes, whole or in ranges (uploads of large videos go in chunks).
#[async_trait]
pub trait MediaLoader: Send + Sync {
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    async fn range(&self, start: u64, end_exclusive: u64) -> Result<Bytes, String>;
    async fn all(&self) -> Result<Bytes, String> {
        self.range(0, self.len()).await
    }
}

/// What to publish, on which account.
#[derive(Clone)]
pub struct PublishRequest {
    pub account_id: String,
    /// The connection's non-secret facts (page id, IG user id, author URN, username…).
    pub metadata: Value,
    pub caption: String,
    /// The shape the post takes on the platform (feed photo, carousel, reel…).
    pub format: Format,
    pub options: TargetOptions,
    pub media: Vec<MediaInput>,
}

/// The progress of one target's publish, persisted as it changes.
#[async_trait]
pub trait Progress: Send {
    fn get(&self, key: &str) -> Option<Value>;
    /// Stores a step's result. Returns once it is durable.
    async fn set(&mut self, key: &str, value: Value) -> Result<(), PublishError>;
    /// Records that the irreversible request is about to be sent.
    async fn mark_sent(&mut self) -> Result<(), PublishError>;
    /// Forgets the mark: the platform answered that it did not take the post.
    async fn clear_sent(&mut self) -> Result<(), PublishError>;

    fn get_str(&self, key: &str) -> Option<String> {
        self.get(key).and_then(|v| v.as_str().map(str::to_owned))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    pub remote_id: String,
    pub remote_url: Option<String>,
}

/// What reconciliation found about a publish whose outcome was unknown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reconciled {
    Published(Published),
    /// The platform is certain it has no such post.
    NotPublished,
    /// The platform is still working on it (a container or upload being processed).
    Processing,
    /// This platform offers no way to tell.
    CannotTell,
}

/// Why a publish didn't succeed, classified for what happens next.
#[derive(Clone, Debug, thiserror::Error)]
pub enum PublishError {
    /// Try again later (5xx, network failure before sending, 429 until `retry_after`).
    #[error("{message}")]
    Retryable {
        status: Option<u16>,
        message: String,
        retry_after: Option<DateTime<Utc>>,
    },
    /// The token was refused: refresh once, then the account needs reconnecting.
    #[error("{message}")]
    Auth {
        status: Option<u16>,
        message: String,
    },
    /// The platform refused the content; `message` says what to change, in plain words.
    #[error("{message}")]
    Permanent {
        status: Option<u16>,
        message: String,
    },
    /// The request was sent and no answer came: it may or may not be published.
    #[error("{message}")]
    Unknown { message: String },
}

impl PublishError {
    pub fn status(&self) -> Option<u16> {
        match self {
            PublishError::Retryable { status, .. }
            | PublishError::Auth { status, .. }
            | PublishError::Permanent { status, .. } => *status,
            PublishError::Unknown { .. } => None,
        }
    }

    pub fn retryable(message: impl Into<String>) -> Self {
        PublishError::Retryable {
            status: None,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        PublishError::Permanent {
            status: None,
            message: message.into(),
        }
    }
}

#[async_trait]
pub trait Publisher: Send + Sync {
    async fn publish(
        &self,
        token: &SecretString,
        req: &PublishRequest,
        progress: &mut dyn Progress,
    ) -> Result<Published, PublishError>;

    /// Looks for a post whose outcome is unknown. Platforms without a way to look say so.
    async fn reconcile(
        &self,
        _token: &SecretString,
        _req: &PublishRequest,
        _progress: &mut dyn Progress,
    ) -> Result<Reconciled, PublishError> {
        Ok(Reconciled::CannotTell)
    }
}

/// An HTTP answer a publisher reads.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub json: Value,
}

/// Whether a request creates the post (then a lost answer means `Unknown`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Step,
    Irreversible,
}

/// Sends a request. Transport failures are classified by whether the request can have reached
/// the platform: a failed connection never did (retry); a timeout or a broken answer after
/// sending may have (`Unknown` for the irreversible call, retry for a harmless step).
pub async fn send(request: reqwest::RequestBuilder, kind: Kind) -> Result<Answer, PublishError> {
    let res = match request.send().await {
        Ok(r) => r,
        Err(e) => return Err(transport(e, kind)),
    };
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = match res.text().await {
        Ok(t) => t,
        Err(e) => return Err(transport(e, kind)),
    };
    let json = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Ok(Answer {
        status,
        headers,
        json,
    })
}

fn transport(e: reqwest::Error, kind: Kind) -> PublishError {
    if e.is_connect() || (e.is_builder()) {
        return PublishError::retryable("We couldn't reach the network; we'll try again shortly.");
    }
    match kind {
        Kind::Step => PublishError::retryable(if e.is_timeout() {
            "The network took too long to answer; we'll try again shortly."
        } else {
            "The connection broke; we'll try again shortly."
        }),
        Kind::Irreversible => PublishError::Unknown {
            message: if e.is_timeout() {
                "The network didn't answer in time after we sent the post, so we can't tell whether it went out.".into()
            } else {
                "The connection broke after we sent the post, so we can't tell whether it went out."
                    .into()
            },
        },
    }
}

/// The moment a rate limit lifts, from the headers platforms use: `x-rate-limit-reset` (X, epoch
/// seconds), `retry-after` (seconds or an HTTP date), `x-ratelimit-reset`.
pub fn reset_time(headers: &HeaderMap, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    // Whole-second values are rounded down by the platform: a second more is never early.
    let margin = chrono::Duration::seconds(1);
    if let Some(epoch) = get("x-rate-limit-reset").and_then(|v| v.parse::<i64>().ok()) {
        return Utc.timestamp_opt(epoch, 0).single().map(|t| t + margin);
    }
    if let Some(v) = get("retry-after") {
        if let Ok(secs) = v.parse::<i64>() {
            return Some(now + chrono::Duration::seconds(secs) + margin);
        }
        if let Ok(at) = DateTime::parse_from_rfc2822(v) {
            return Some(at.with_timezone(&Utc));
        }
    }
    if let Some(secs) = get("x-ratelimit-reset").and_then(|v| v.parse::<i64>().ok()) {
        // Seconds from now when small, an epoch when large.
        return if secs > 1_000_000_000 {
            Utc.timestamp_opt(secs, 0).single().map(|t| t + margin)
        } else {
            Some(now + chrono::Duration::seconds(secs) + margin)
        };
    }
    // Meta: X-Business-Use-Case-Usage {"id":[{"estimated_time_to_regain_access": minutes}]}.
    if let Some(raw) = get("x-business-use-case-usage")
        && let Ok(v) = serde_json::from_str::<Value>(raw)
    {
        let minutes = v
            .as_object()
            .into_iter()
            .flat_map(|o| o.values())
            .flat_map(|a| a.as_array().into_iter().flatten())
            .filter_map(|e| e.get("estimated_time_to_regain_access")?.as_i64())
            .max();
        if let Some(m) = minutes.filter(|m| *m > 0) {
            return Some(now + chrono::Duration::minutes(m));
        }
    }
    None
}

/// The usual classification of an error answer; publishers refine it for their platform.
pub fn classify(answer: &Answer, now: DateTime<Utc>, message: String) -> PublishError {
    let status = Some(answer.status);
    match answer.status {
        429 => PublishError::Retryable {
            status,
            message,
            retry_after: reset_time(&answer.headers, now),
        },
        401 => PublishError::Auth { status, message },
        s if s >= 500 => PublishError::Retryable {
            status,
            message,
            retry_after: reset_time(&answer.headers, now),
        },
        _ => PublishError::Permanent { status, message },
    }
}

/// How long to wait between polls of a platform that processes asynchronously.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// How long to keep polling within one attempt before handing back (the next attempt resumes).
pub const POLL_BUDGET: Duration = Duration::from_secs(120);

/// Splits `len` bytes into chunks of `size` (the last may be shorter).
pub fn chunks(len: u64, size: u64) -> Vec<(u64, u64)> {
    let size = size.max(1);
    (0..len.div_ceil(size))
        .map(|i| (i * size, ((i + 1) * size).min(len)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn reset_times_are_read_from_each_platform_s_headers() {
        let now = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-rate-limit-reset", HeaderValue::from_static("1700000900"));
        assert_eq!(
            reset_time(&h, now),
            Some(now + chrono::Duration::seconds(901)),
            "a second's margin for rounding"
        );
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("30"));
        assert_eq!(
            reset_time(&h, now),
            Some(now + chrono::Duration::seconds(31))
        );
        let mut h = HeaderMap::new();
        h.insert("x-business-use-case-usage", HeaderValue::from_static(r#"{"123":[{"type":"pages","call_count":100,"estimated_time_to_regain_access":5}]}"#));
        assert_eq!(
            reset_time(&h, now),
            Some(now + chrono::Duration::minutes(5))
        );
        assert_eq!(reset_time(&HeaderMap::new(), now), None);
    }

    #[test]
    fn chunks_cover_the_file_exactly() {
        assert_eq!(chunks(10, 4), vec![(0, 4), (4, 8), (8, 10)]);
        assert_eq!(chunks(8, 4), vec![(0, 4), (4, 8)]);
        assert!(chunks(0, 4).is_empty());
    }
}
