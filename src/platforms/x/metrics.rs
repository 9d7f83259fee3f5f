//! Engagement numbers on X (PLATFORMS.md §1, "GET /2/tweets (lookup by ids) and metrics"): up to
//! 100 ids per `GET /2/tweets`, `public_metrics` always and `non_public_metrics` only for posts
//! under 30 days old (X refuses the private numbers of older posts). A batch with posts of both
//! ages is therefore two requests. Both names of the repost count are read, since the newest
//! spec says `repost_count` where the prose docs say `retweet_count`.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::domain::Platform;
use crate::platforms::Http;
use crate::platforms::metrics::{
    Account, Counts, MetricsError, MetricsSource, PostCounts, RemotePost,
};
use crate::platforms::publish::{self, Answer, Kind};

const TWEETS: &str = "https://api.x.com/2/tweets";
/// "Up to 100 are allowed in a single request."
const MAX_IDS: usize = 100;
/// X gives `non_public_metrics` only for posts created in the last 30 days.
const PRIVATE_DAYS: i64 = 30;

pub struct XMetrics {
    pub http: Http,
}

#[async_trait]
impl MetricsSource for XMetrics {
    fn batch_size(&self) -> usize {
        MAX_IDS
    }

    async fn fetch(
        &self,
        account: &Account<'_>,
        posts: &[RemotePost],
        now: DateTime<Utc>,
    ) -> Result<HashMap<String, PostCounts>, MetricsError> {
        let token = account.access_token.expose_secret();
        let private_since = now - chrono::Duration::days(PRIVATE_DAYS);
        let (young, old): (Vec<&RemotePost>, Vec<&RemotePost>) =
            posts.iter().partition(|p| p.published_at > private_since);
        let mut out = HashMap::new();
        for batch in young.chunks(MAX_IDS) {
            let ids = ids_of(batch);
            let mut answer = self.lookup(token, &ids, true).await?;
            // Refused for the private field (an app-only token, a plan without it): the public
            // numbers are still worth having. A refused token is refused again right away.
            if matches!(answer.status, 401 | 403) {
                answer = self.lookup(token, &ids, false).await?;
            }
            out.extend(read(&answer, &ids, now)?);
        }
        for batch in old.chunks(MAX_IDS) {
            let ids = ids_of(batch);
            let answer = self.lookup(token, &ids, false).await?;
            out.extend(read(&answer, &ids, now)?);
        }
        Ok(out)
    }
}

impl XMetrics {
    async fn lookup(
        &self,
        token: &str,
        ids: &[String],
        private: bool,
    ) -> Result<Answer, MetricsError> {
        let mut url = url::Url::parse(TWEETS).expect("constant URL");
        let fields = if private {
            "public_metrics,non_public_metrics"
        } else {
            "public_metrics"
        };
        url.query_pairs_mut()
            .append_pair("ids", &ids.join(","))
            .append_pair("tweet.fields", fields);
        let req = self
            .http
            .client()
            .get(self.http.url(Platform::X, url.as_str()))
            .bearer_auth(token);
        publish::send(req, Kind::Step)
            .await
            .map_err(|e| MetricsError::Failed(e.to_string()))
    }
}

fn ids_of(posts: &[&RemotePost]) -> Vec<String> {
    posts.iter().map(|p| p.id.clone()).collect()
}

/// The counts in one answer, or what its status means.
fn read(
    answer: &Answer,
    asked: &[String],
    now: DateTime<Utc>,
) -> Result<HashMap<String, PostCounts>, MetricsError> {
    match answer.status {
        200..=299 => {}
        429 => {
            return Err(MetricsError::RateLimited {
                reset_at: publish::reset_time(&answer.headers, now),
                retry_after: None,
            });
        }
        401 => return Err(MetricsError::NeedsReauth),
        status => {
            return Err(MetricsError::Failed(format!(
                "X refused the metrics request ({status}): {}",
                problem(&answer.json)
            )));
        }
    }
    let mut out = HashMap::new();
    for post in answer
        .json
        .get("data")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(id) = post.get("id").and_then(Value::as_str) {
            out.insert(id.to_owned(), PostCounts::Counts(counts(post)));
        }
    }
    for error in answer
        .json
        .get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if !is_not_found(error) {
            continue;
        }
        let id = error
            .get("resource_id")
            .or_else(|| error.get("value"))
            .and_then(Value::as_str);
        if let Some(id) = id
            && asked.iter().any(|a| a == id)
            && !out.contains_key(id)
        {
            out.insert(id.to_owned(), PostCounts::Gone);
        }
    }
    Ok(out)
}

/// X's "the post doesn't exist" problem (deleted, or never was), under either host name.
fn is_not_found(error: &Value) -> bool {
    let kind = error.get("type").and_then(Value::as_str).unwrap_or("");
    let title = error.get("title").and_then(Value::as_str).unwrap_or("");
    kind.ends_with("/resource-not-found") || title == "Not Found Error"
}

fn problem(json: &Value) -> String {
    json.get("detail")
        .or_else(|| json.pointer("/errors/0/message"))
        .or_else(|| json.get("title"))
        .and_then(Value::as_str)
        .unwrap_or("no reason given")
        .to_owned()
}

/// One post's numbers; a number X left out stays `None`.
fn counts(post: &Value) -> Counts {
    let public = |name: &str| post.pointer(&format!("/public_metrics/{name}"))?.as_i64();
    let private = |name: &str| {
        post.pointer(&format!("/non_public_metrics/{name}"))?
            .as_i64()
    };
    Counts {
        likes: public("like_count"),
        reposts: public("repost_count").or_else(|| public("retweet_count")),
        replies: public("reply_count"),
        quotes: public("quote_count"),
        impressions: public("impression_count").or_else(|| private("impression_count")),
        saves: public("bookmark_count"),
        clicks: private("url_link_clicks"),
        views: None,
        raw: post.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn public_and_private_numbers_map_to_their_counts() {
        let post = json!({
            "id": "1",
            "text": "Hello",
            "public_metrics": {
                "retweet_count": 50, "reply_count": 12, "like_count": 234,
                "quote_count": 5, "bookmark_count": 8, "impression_count": 5432
            },
            "non_public_metrics": { "impression_count": 5400, "url_link_clicks": 17 }
        });
        let c = counts(&post);
        assert_eq!(c.likes, Some(234));
        assert_eq!(c.reposts, Some(50));
        assert_eq!(c.replies, Some(12));
        assert_eq!(c.quotes, Some(5));
        assert_eq!(c.saves, Some(8));
        assert_eq!(c.impressions, Some(5432), "the public number wins");
        assert_eq!(c.clicks, Some(17));
        assert_eq!(c.views, None);
        assert_eq!(c.raw, post);
    }

    #[test]
    fn the_newer_repost_count_name_is_read_like_retweet_count() {
        let c = counts(&json!({ "id": "1", "public_metrics": { "repost_count": 3 } }));
        assert_eq!(c.reposts, Some(3));
    }

    #[test]
    fn missing_numbers_stay_none_and_private_impressions_fill_in() {
        let c = counts(&json!({
            "id": "1",
            "public_metrics": { "like_count": 2 },
            "non_public_metrics": { "impression_count": 90 }
        }));
        assert_eq!(c.likes, Some(2));
        assert_eq!(c.reposts, None);
        assert_eq!(c.replies, None);
        assert_eq!(c.saves, None);
        assert_eq!(c.clicks, None);
        assert_eq!(c.impressions, Some(90));
        let bare = counts(&json!({ "id": "1", "text": "no metrics asked" }));
        assert_eq!(
            bare,
            Counts {
                raw: json!({ "id": "1", "text": "no metrics asked" }),
                ..Counts::default()
            }
        );
    }

    #[test]
    fn not_found_errors_make_gone_posts_and_other_errors_do_not() {
        let answer = Answer {
            status: 200,
            headers: Default::default(),
            json: json!({
                "data": [{ "id": "1", "public_metrics": { "like_count": 1 } }],
                "errors": [
                    { "resource_id": "2", "title": "Not Found Error",
                      "type": "https://api.twitter.com/2/problems/resource-not-found" },
                    { "value": "3", "type": "https://api.x.com/2/problems/resource-not-found" },
                    { "resource_id": "1", "title": "Field Authorization Error",
                      "type": "https://api.x.com/2/problems/not-authorized-for-field" },
                    { "resource_id": "9", "title": "Not Found Error" }
                ]
            }),
        };
        let asked: Vec<String> = ["1", "2", "3", "4"].map(String::from).to_vec();
        let out = read(&answer, &asked, Utc::now()).unwrap();
        assert!(matches!(out["1"], PostCounts::Counts(_)));
        assert_eq!(out["2"], PostCounts::Gone);
        assert_eq!(out["3"], PostCounts::Gone);
        assert!(!out.contains_key("4"), "unexplained absence is tried again");
        assert!(!out.contains_key("9"), "only ids that were asked for");
    }
}
