//! LinkedIn post engagement, for company pages only. PLATFORMS.md §4 covers the `/rest` headers
//! but not the statistics endpoint; what follows is LinkedIn's Community Management
//! "Organization Share Statistics" API as we understand it (UNCONFIRMED against PLATFORMS.md):
//!
//! `GET https://api.linkedin.com/rest/organizationalEntityShareStatistics?q=organizationalEntity
//! &organizationalEntity={org urn}&shares=List({share urn},…)` (or `ugcPosts=List(…)` for
//! `urn:li:ugcPost:` ids), with `LinkedIn-Version` and `X-Restli-Protocol-Version: 2.0.0` as the
//! publisher sends them, each URN URL-encoded inside `List()` as Rest.li 2.0 wants. Without a
//! time range the answer is lifetime totals:
//! `{"elements":[{"share"|"ugcPost": urn, "organizationalEntity": urn, "totalShareStatistics":
//! {"impressionCount","uniqueImpressionsCount","clickCount","likeCount","commentCount",
//! "shareCount","engagement"}}]}`. `rw_organization_admin`, which we ask for, reads it.
//!
//! A member's own profile posts have per-post numbers only under `r_member_postAnalytics` /
//! `r_member_social`, which we don't ask for: such an account is `NotPermitted` without a
//! request. The account kind comes from the connection (`metadata.author_kind`, set when
//! connecting; an organization's account id is its `urn:li:organization:` URN).
//!
//! LinkedIn leaves out of `elements` what it has no numbers for. The statistics can't say why,
//! so for an id left out we read the post itself (`GET /rest/posts/{urn}`): 404 means it is
//! gone; found, it simply has no numbers yet. Any other answer leaves it for the next snapshot.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Days, Utc};
use secrecy::ExposeSecret;
use serde_json::{Map, Value};

use super::publish::API_VERSION;
use crate::domain::Platform;
use crate::platforms::Http;
use crate::platforms::metrics::{
    Account, Counts, MetricsError, MetricsSource, PostCounts, RemotePost,
};
use crate::platforms::publish::{self, Answer, Kind};

const STATISTICS: &str = "https://api.linkedin.com/rest/organizationalEntityShareStatistics";
const POSTS: &str = "https://api.linkedin.com/rest/posts";
const SHARE: &str = "urn:li:share:";
const UGC_POST: &str = "urn:li:ugcPost:";
pub const MEMBER_NOT_PERMITTED: &str =
    "LinkedIn gives per-post numbers for company pages only to our permissions";

pub struct LinkedinMetrics {
    pub http: Http,
}

/// The organization URN the account posts as, or `None` for a member's own profile.
pub fn organization_of(account: &Account<'_>) -> Option<String> {
    let meta = account.metadata;
    let kind = meta.get("author_kind").and_then(Value::as_str);
    let urn = meta
        .get("author_urn")
        .and_then(Value::as_str)
        .unwrap_or(account.account_id);
    match kind {
        Some("organization") => urn
            .starts_with("urn:li:organization:")
            .then(|| urn.to_owned())
            .or_else(|| {
                meta.get("organization_id")
                    .and_then(Value::as_str)
                    .map(|id| format!("urn:li:organization:{id}"))
            }),
        Some(_) => None,
        None => urn
            .starts_with("urn:li:organization:")
            .then(|| urn.to_owned()),
    }
}

fn encode(urn: &str) -> String {
    url::form_urlencoded::byte_serialize(urn.as_bytes()).collect()
}

/// The statistics URL for one organization and ids of one kind (`shares` or `ugcPosts`).
pub fn statistics_url(organization: &str, param: &str, urns: &[&str]) -> String {
    let list: Vec<String> = urns.iter().map(|u| encode(u)).collect();
    format!(
        "{STATISTICS}?q=organizationalEntity&organizationalEntity={}&{param}=List({})",
        encode(organization),
        list.join(",")
    )
}

/// Each element's lifetime totals, keyed by its share or ugcPost URN.
pub fn read_statistics(json: &Value) -> HashMap<String, Counts> {
    let mut out = HashMap::new();
    for element in json
        .get("elements")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(urn) = element
            .get("share")
            .or_else(|| element.get("ugcPost"))
            .and_then(Value::as_str)
        else {
            continue;
        };
        let Some(stats) = element
            .get("totalShareStatistics")
            .and_then(Value::as_object)
        else {
            continue;
        };
        let get = |name: &str| stats.get(name).and_then(Value::as_i64);
        let raw: Map<String, Value> = stats
            .iter()
            .filter(|(_, v)| v.is_number())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        out.insert(
            urn.to_owned(),
            Counts {
                likes: get("likeCount"),
                reposts: get("shareCount"),
                replies: get("commentCount"),
                quotes: None,
                impressions: get("impressionCount"),
                saves: None,
                clicks: get("clickCount"),
                views: None,
                raw: Value::Object(raw),
            },
        );
    }
    out
}

/// The next midnight UTC, when LinkedIn's daily limits reset.
fn next_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    let tomorrow = now.date_naive() + Days::new(1);
    tomorrow.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// What a refused statistics request means for the whole account.
pub fn classify(answer: &Answer, now: DateTime<Utc>) -> MetricsError {
    match answer.status {
        401 => MetricsError::NeedsReauth,
        429 => MetricsError::RateLimited {
            reset_at: Some(
                publish::reset_time(&answer.headers, now).unwrap_or_else(|| next_midnight(now)),
            ),
            retry_after: None,
        },
        403 => MetricsError::NotPermitted(format!(
            "LinkedIn refused this company page's statistics ({})",
            message(&answer.json)
        )),
        status => MetricsError::Failed(format!(
            "LinkedIn answered {status} to a statistics request: {}",
            message(&answer.json)
        )),
    }
}

fn message(json: &Value) -> String {
    json.get("message")
        .and_then(Value::as_str)
        .unwrap_or("no message")
        .to_owned()
}

impl LinkedinMetrics {
    async fn get(&self, url: &str, token: &str) -> Option<Answer> {
        let req = self
            .http
            .client()
            .get(self.http.url(Platform::Linkedin, url))
            .bearer_auth(token)
            .header("LinkedIn-Version", API_VERSION)
            .header("X-Restli-Protocol-Version", "2.0.0");
        match publish::send(req, Kind::Step).await {
            Ok(a) => Some(a),
            Err(e) => {
                tracing::warn!(error = %e, "no answer from LinkedIn");
                None
            }
        }
    }

    /// For a post the statistics left out: gone (404) or without numbers yet.
    async fn left_out(
        &self,
        urn: &str,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<PostCounts>, MetricsError> {
        let Some(answer) = self.get(&format!("{POSTS}/{}", encode(urn)), token).await else {
            return Ok(None);
        };
        Ok(match answer.status {
            200..=299 => Some(PostCounts::NotYet),
            404 => Some(PostCounts::Gone),
            401 | 429 => return Err(classify(&answer, now)),
            status => {
                tracing::info!(
                    post = urn,
                    status,
                    "LinkedIn didn't say whether the post exists"
                );
                None
            }
        })
    }
}

#[async_trait]
impl MetricsSource for LinkedinMetrics {
    /// How many URNs one `List()` carries (LinkedIn documents no maximum; a short URL is safe).
    fn batch_size(&self) -> usize {
        20
    }

    #[tracing::instrument(name = "linkedin.statistics", skip_all, fields(posts = posts.len()))]
    async fn fetch(
        &self,
        account: &Account<'_>,
        posts: &[RemotePost],
        now: DateTime<Utc>,
    ) -> Result<HashMap<String, PostCounts>, MetricsError> {
        let Some(organization) = organization_of(account) else {
            return Err(MetricsError::NotPermitted(MEMBER_NOT_PERMITTED.into()));
        };
        let token = account.access_token.expose_secret();
        let mut out = HashMap::with_capacity(posts.len());
        for (param, prefix) in [("shares", SHARE), ("ugcPosts", UGC_POST)] {
            let urns: Vec<&str> = posts
                .iter()
                .map(|p| p.id.as_str())
                .filter(|id| id.starts_with(prefix))
                .collect();
            if urns.is_empty() {
                continue;
            }
            let Some(answer) = self
                .get(&statistics_url(&organization, param, &urns), token)
                .await
            else {
                continue;
            };
            if !(200..300).contains(&answer.status) {
                return Err(classify(&answer, now));
            }
            let mut counted = read_statistics(&answer.json);
            for urn in urns {
                if let Some(c) = counted.remove(urn) {
                    out.insert(urn.to_owned(), PostCounts::Counts(c));
                } else if let Some(c) = self.left_out(urn, token, now).await? {
                    out.insert(urn.to_owned(), c);
                }
            }
        }
        for p in posts {
            if !p.id.starts_with(SHARE) && !p.id.starts_with(UGC_POST) {
                tracing::warn!(post = %p.id, "not a LinkedIn share or ugcPost URN");
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};
    use secrecy::SecretString;
    use serde_json::json;

    fn answer(status: u16, json: Value) -> Answer {
        Answer {
            status,
            headers: HeaderMap::new(),
            json,
        }
    }

    #[test]
    fn urns_are_encoded_inside_the_list_as_restli_2_wants() {
        assert_eq!(
            statistics_url(
                "urn:li:organization:2414183",
                "shares",
                &["urn:li:share:1", "urn:li:share:2"]
            ),
            "https://api.linkedin.com/rest/organizationalEntityShareStatistics?q=organizationalEntity&organizationalEntity=urn%3Ali%3Aorganization%3A2414183&shares=List(urn%3Ali%3Ashare%3A1,urn%3Ali%3Ashare%3A2)"
        );
    }

    #[test]
    fn total_share_statistics_map_onto_counts_keyed_by_share_or_ugc_post() {
        let json = json!({"paging": {"count": 10, "start": 0, "links": []}, "elements": [
            {"organizationalEntity": "urn:li:organization:1", "share": "urn:li:share:1",
             "totalShareStatistics": {"uniqueImpressionsCount": 80, "shareCount": 2, "engagement": 0.125,
                                      "clickCount": 7, "likeCount": 9, "impressionCount": 120, "commentCount": 1}},
            {"organizationalEntity": "urn:li:organization:1", "ugcPost": "urn:li:ugcPost:5",
             "totalShareStatistics": {"likeCount": 0}},
            {"organizationalEntity": "urn:li:organization:1", "share": "urn:li:share:9"},
        ]});
        let out = read_statistics(&json);
        assert_eq!(out.len(), 2, "an element without statistics is not counted");
        let c = &out["urn:li:share:1"];
        assert_eq!(
            (c.likes, c.replies, c.reposts, c.impressions, c.clicks),
            (Some(9), Some(1), Some(2), Some(120), Some(7))
        );
        assert_eq!((c.views, c.saves, c.quotes), (None, None, None));
        assert_eq!(c.raw["uniqueImpressionsCount"], 80);
        assert_eq!(c.raw["engagement"], 0.125);
        let u = &out["urn:li:ugcPost:5"];
        assert_eq!((u.likes, u.impressions), (Some(0), None));
    }

    #[test]
    fn only_company_pages_are_organizations() {
        let token = SecretString::from("t".to_owned());
        let org = json!({"author_urn": "urn:li:organization:42", "author_kind": "organization", "organization_id": "42"});
        let member = json!({"author_urn": "urn:li:person:abc", "author_kind": "person"});
        let bare = json!({});
        let of = |id: &str, metadata: &Value| {
            organization_of(&Account {
                access_token: &token,
                account_id: id,
                metadata,
            })
        };
        assert_eq!(
            of("urn:li:organization:42", &org).as_deref(),
            Some("urn:li:organization:42")
        );
        assert_eq!(of("abc", &member), None);
        assert_eq!(
            of("urn:li:organization:7", &bare).as_deref(),
            Some("urn:li:organization:7")
        );
        assert_eq!(of("abc", &bare), None);
    }

    #[test]
    fn refusals_become_reauth_not_permitted_or_a_wait_until_midnight_utc() {
        let now = DateTime::parse_from_rfc3339("2026-12-08T15:30:00Z")
            .unwrap()
            .to_utc();
        assert!(matches!(
            classify(
                &answer(401, json!({"status": 401, "code": "EXPIRED_ACCESS_TOKEN"})),
                now
            ),
            MetricsError::NeedsReauth
        ));
        assert!(matches!(
            classify(
                &answer(403, json!({"status": 403, "code": "ACCESS_DENIED"})),
                now
            ),
            MetricsError::NotPermitted(_)
        ));
        match classify(&answer(429, json!({"status": 429})), now) {
            MetricsError::RateLimited { reset_at, .. } => assert_eq!(
                reset_at,
                Some(
                    DateTime::parse_from_rfc3339("2026-12-09T00:00:00Z")
                        .unwrap()
                        .to_utc()
                )
            ),
            other => panic!("rate limited expected, got {other:?}"),
        }
        let mut told = answer(429, json!({"status": 429}));
        told.headers
            .insert("retry-after", HeaderValue::from_static("120"));
        match classify(&told, now) {
            MetricsError::RateLimited {
                reset_at: Some(at), ..
            } => assert_eq!((at - now).num_seconds(), 121),
            other => panic!("rate limited expected, got {other:?}"),
        }
        assert!(matches!(
            classify(&answer(500, json!({})), now),
            MetricsError::Failed(_)
        ));
    }
}
