//! Engagement numbers of published posts, per platform, for the analytics collection job.
//!
//! A [`MetricsSource`] reads the counts of up to [`MetricsSource::batch_size`] posts of one
//! account per call (X reads 100 ids in one request; most others one post per request, which
//! the source loops over itself). Missing numbers are `None`, never 0: Instagram answers an
//! empty data set while its insights aren't ready, and that is "not yet available".

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde_json::Value;

/// One post's numbers at one moment. Each is `None` when the platform didn't give it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub likes: Option<i64>,
    /// Reposts / retweets / shares.
    pub reposts: Option<i64>,
    /// Replies / comments.
    pub replies: Option<i64>,
    pub quotes: Option<i64>,
    pub impressions: Option<i64>,
    /// Saves / bookmarks.
    pub saves: Option<i64>,
    /// Link and pin clicks.
    pub clicks: Option<i64>,
    /// Video or media views; Instagram's reach goes in `raw`.
    pub views: Option<i64>,
    /// The platform's own answer for this post, kept for later use.
    pub raw: Value,
}

/// What a source was asked about one post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PostCounts {
    Counts(Counts),
    /// The platform has no numbers yet (Instagram's insights take up to 48 h).
    NotYet,
    /// The post is gone from the platform.
    Gone,
}

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// Wait until `reset_at` (from the documented reset headers) or for `retry_after`.
    #[error("rate limited")]
    RateLimited {
        reset_at: Option<DateTime<Utc>>,
        retry_after: Option<Duration>,
    },
    /// The token was refused: the connection needs re-authorizing.
    #[error("authorization refused")]
    NeedsReauth,
    /// Our scopes don't give per-post numbers for this account (a LinkedIn member profile, a
    /// TikTok token granted before we asked for `video.list`): its posts are not asked again.
    #[error("not permitted: {0}")]
    NotPermitted(String),
    /// Anything else; worth trying again at the next snapshot.
    #[error("{0}")]
    Failed(String),
}

/// One published post: its id on the platform and when it went out (X gives its private
/// numbers only for posts under 30 days old).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemotePost {
    pub id: String,
    pub published_at: DateTime<Utc>,
}

/// The account the posts belong to.
pub struct Account<'a> {
    pub access_token: &'a SecretString,
    pub account_id: &'a str,
    pub metadata: &'a Value,
}

#[async_trait]
pub trait MetricsSource: Send + Sync {
    /// How many remote ids one call of [`MetricsSource::fetch`] takes at most.
    fn batch_size(&self) -> usize;

    /// The counts of each of `posts` (at most `batch_size`), keyed by remote id. An id missing
    /// from the map failed on its own and is tried again at the next snapshot.
    async fn fetch(
        &self,
        account: &Account<'_>,
        posts: &[RemotePost],
        now: DateTime<Utc>,
    ) -> Result<HashMap<String, PostCounts>, MetricsError>;
}

/// The loop of sources that ask about one post per request: a `GET` of `url_of(post)` with the
/// account's token for each post; a success is read with `read`, anything else with `classify`
/// (`Ok(None)`: that post failed on its own and is tried again later; `Err`: the whole account
/// stops, as for a rate limit). A post without an answer at all is left out likewise.
pub async fn per_post(
    http: &crate::platforms::Http,
    platform: crate::domain::Platform,
    account: &Account<'_>,
    posts: &[RemotePost],
    url_of: impl Fn(&RemotePost) -> String,
    read: impl Fn(&Value) -> PostCounts,
    classify: impl Fn(&crate::platforms::publish::Answer) -> Result<Option<PostCounts>, MetricsError>,
) -> Result<HashMap<String, PostCounts>, MetricsError> {
    use secrecy::ExposeSecret as _;

    use crate::platforms::publish::{self, Kind};

    let token = account.access_token.expose_secret();
    let mut out = HashMap::with_capacity(posts.len());
    for post in posts {
        let req = http
            .client()
            .get(http.url(platform, &url_of(post)))
            .bearer_auth(token);
        let answer = match publish::send(req, Kind::Step).await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(%platform, post = %post.id, error = %e, "no answer to an engagement request");
                continue;
            }
        };
        let counts = if (200..300).contains(&answer.status) {
            Some(read(&answer.json))
        } else {
            classify(&answer)?
        };
        if let Some(c) = counts {
            out.insert(post.id.clone(), c);
        }
    }
    Ok(out)
}
