//! Organization share statistics: `GET /rest/organizationalEntityShareStatistics
//! ?q=organizationalEntity&organizationalEntity={org urn}&shares=List(…)` (or
//! `ugcPosts=List(…)`), LinkedIn's Community Management API for a company page's post numbers.
//! PLATFORMS.md does not cover this endpoint; the shape follows LinkedIn's "Organization Share
//! Statistics" docs as we read them (UNCONFIRMED):
//! `{"paging": {…}, "elements": [{"organizationalEntity", "share" | "ugcPost",
//! "totalShareStatistics": {"impressionCount", "uniqueImpressionsCount", "clickCount",
//! "likeCount", "commentCount", "shareCount", "engagement"}}]}`, lifetime totals.
//!
//! Checked in order: the usual `/rest` headers and a token with `rw_organization_admin` (else
//! 403 `ACCESS_DENIED`); `q=organizationalEntity`; `organizationalEntity` an organization URN
//! the member administers (else 403); at least one of `shares` / `ugcPosts`, each a Rest.li 2.0
//! `List(…)` of URL-encoded URNs of that kind (a bare `:` inside, a missing parenthesis or a URN
//! of the wrong kind is 400 `ILLEGAL_ARGUMENT`). The organization-wide aggregate (no list) and
//! `timeIntervals` are not emulated (400). Posts the organization didn't publish through the
//! sandbox are left out of `elements`, as LinkedIn leaves out what it has no numbers for.
//! Numbers start at 0 and grow with the post's age on the sandbox clock, in whole hours,
//! deterministically from the URN.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::may_act_as;
use super::publish::{access_denied, illegal, rest_with};
use crate::domain::Platform;
use crate::sandbox::dispatch::RouteCtx;
use crate::sandbox::errors::json_response;
use crate::sandbox::personas;
use crate::sandbox::published::PublishedRecord;
use crate::sandbox::state::Shared;

const SCOPE: &str = "rw_organization_admin";
const RESOURCE: &str = "organizationalEntityShareStatistics.FINDER-organizationalEntity";
/// The age at which a post has about 63% of its final numbers.
const GROWTH_SECS: f64 = 30.0 * 3600.0;

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new().route(
        "/api.linkedin.com/rest/organizationalEntityShareStatistics",
        get(statistics),
    )
}

/// The URNs of a raw `List(a,b)` value, decoded; each must have been URL-encoded and start with
/// `prefix`.
fn parse_list(raw: &str, prefix: &str) -> Result<Vec<String>, String> {
    let inner = raw
        .strip_prefix("List(")
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| format!("Invalid Rest.li 2.0 value {raw:?}: expected List(…)"))?;
    if inner.is_empty() {
        return Err("The list is empty".into());
    }
    inner
        .split(',')
        .map(|item| {
            if item.contains(':') || item.contains('(') || item.contains(')') {
                return Err(format!(
                    "Invalid Rest.li 2.0 list item {item:?}: URNs inside List() must be URL-encoded"
                ));
            }
            let urn: String = url::form_urlencoded::parse(format!("u={item}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            if !urn.starts_with(prefix) || urn.len() == prefix.len() {
                return Err(format!("{urn:?} is not a {prefix}… URN"));
            }
            Ok(urn)
        })
        .collect()
}

async fn statistics(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    headers: HeaderMap,
) -> Response {
    let rest = match rest_with(&shared, &headers, RESOURCE, &[SCOPE]) {
        Ok(r) => r,
        Err(res) => return res,
    };
    let params = ctx.params();
    if params.get("q") != Some("organizationalEntity") {
        return illegal("The finder q=organizationalEntity is required");
    }
    let Some(organization) = params.get("organizationalEntity").map(str::to_owned) else {
        return illegal("organizationalEntity is required");
    };
    if !organization.starts_with("urn:li:organization:") {
        return illegal(&format!(
            "organizationalEntity {organization:?} is not an organization URN"
        ));
    }
    if !may_act_as(&rest.token.grant.account, &organization) {
        return access_denied(RESOURCE, &rest.version);
    }
    if params.get("timeIntervals").is_some() || params.raw("timeIntervals.timeRange").is_some() {
        return illegal("The sandbox serves lifetime statistics only; leave out timeIntervals");
    }
    let mut asked = Vec::new();
    for pair in ctx.query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let prefix = match key {
            "shares" => "urn:li:share:",
            "ugcPosts" => "urn:li:ugcPost:",
            _ => continue,
        };
        match parse_list(value, prefix) {
            Ok(urns) => asked.extend(urns),
            Err(message) => return illegal(&format!("{key}: {message}")),
        }
    }
    if asked.is_empty() {
        return illegal(
            "Name the posts with shares=List(…) or ugcPosts=List(…); the organization-wide totals are not emulated",
        );
    }
    let now = shared.clock.now();
    let elements: Vec<Value> = {
        let log = shared.published();
        asked
            .iter()
            .filter_map(|urn| log.find(Platform::Linkedin, urn))
            .filter(|r| r.account_id == organization)
            .map(|r| element(r, now))
            .collect()
    };
    json_response(
        StatusCode::OK,
        json!({
            "paging": { "count": 10, "start": 0, "links": [] },
            "elements": elements,
        }),
    )
}

fn element(r: &PublishedRecord, now: DateTime<Utc>) -> Value {
    let n = Numbers::of(r, now);
    let kind = if r.remote_id.starts_with("urn:li:ugcPost:") {
        "ugcPost"
    } else {
        "share"
    };
    let mut element = json!({
        "organizationalEntity": r.account_id,
        "totalShareStatistics": {
            "impressionCount": n.impressions,
            "uniqueImpressionsCount": n.unique_impressions,
            "clickCount": n.clicks,
            "likeCount": n.likes,
            "commentCount": n.comments,
            "shareCount": n.shares,
            "engagement": n.engagement(),
        },
    });
    element[kind] = json!(r.remote_id);
    element
}

/// One post's lifetime totals at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Numbers {
    impressions: u64,
    unique_impressions: u64,
    clicks: u64,
    likes: u64,
    comments: u64,
    shares: u64,
}

impl Numbers {
    /// Every number a share of the post's impressions, all growing together, by whole hours.
    fn of(r: &PublishedRecord, now: DateTime<Utc>) -> Numbers {
        let id = r.remote_id.as_str();
        let age = (now - r.at).num_seconds().max(0) / 3600 * 3600;
        let audience = personas::derived_count(&["linkedin", "impressions", id], 300..9_000) as f64;
        let grow = |what: &str, per_mille: std::ops::Range<u64>| {
            let rate = personas::derived_count(&["linkedin", what, id], per_mille) as f64;
            personas::grown(audience * rate / 1000.0, age, GROWTH_SECS)
        };
        Numbers {
            impressions: personas::grown(audience, age, GROWTH_SECS),
            unique_impressions: grow("unique", 600..900),
            clicks: grow("clicks", 10..50),
            likes: grow("likes", 15..60),
            comments: grow("comments", 1..8),
            shares: grow("shares", 1..6),
        }
    }

    /// (clicks + likes + comments + shares) / impressions, as LinkedIn defines engagement.
    fn engagement(&self) -> f64 {
        if self.impressions == 0 {
            return 0.0;
        }
        (self.clicks + self.likes + self.comments + self.shares) as f64 / self.impressions as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_takes_encoded_urns_of_its_kind_only() {
        assert_eq!(
            parse_list(
                "List(urn%3Ali%3Ashare%3A1,urn%3Ali%3Ashare%3A2)",
                "urn:li:share:"
            )
            .unwrap(),
            ["urn:li:share:1", "urn:li:share:2"]
        );
        for bad in [
            "List(urn:li:share:1)",
            "urn%3Ali%3Ashare%3A1",
            "List(urn%3Ali%3Ashare%3A1",
            "List()",
            "List(urn%3Ali%3AugcPost%3A1)",
        ] {
            assert!(parse_list(bad, "urn:li:share:").is_err(), "{bad}");
        }
    }
}
