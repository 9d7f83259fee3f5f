//! Engagement of what the sandbox published on a Page, read through field expansion on
//! `GET /{post-id}` (and `GET /{video-id}`), as PLATFORMS.md §3 "Insights (Pages)" describes:
//!
//! - `reactions.summary(total_count)` and `comments.summary(total_count)` (or `summary(true)`)
//!   → `{"data": [], "summary": {"total_count": n, …}}` (the items themselves aren't emulated:
//!   `data` is always empty, as with `.limit(0)`). Both need `pages_read_engagement`.
//! - `shares` → `{"count": n}`, and left out while nobody shared the post, as Facebook does.
//! - `insights.metric(a,b)` → `{"data": [{"name", "period": "lifetime", "values": [{"value"}],
//!   "title", "description", "id"}]}`. It needs `read_insights`; `metric` is required here; a
//!   metric that is not current (`post_impressions_unique`, `post_engaged_users`…) is the
//!   Graph error `(#100) The value must be a valid insights metric`.
//!
//! A video has reactions and comments only; `shares` or `insights` on it is the Graph's
//! "nonexisting field on node type (Video)". Numbers are 0 at publishing and grow with the
//! post's age on the sandbox clock, deterministically from its id, in whole hours (so two reads
//! within the same hour agree), never shrinking.

use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::sandbox::dispatch::RouteCtx;
use crate::sandbox::graph;
use crate::sandbox::oauth::Params;
use crate::sandbox::personas;
use crate::sandbox::published::PublishedRecord;
use crate::sandbox::state::Token;

/// The age at which a post has about 63% of its final numbers.
const GROWTH_SECS: f64 = 36.0 * 3600.0;

/// The current post metrics (PLATFORMS.md §3).
pub(super) const POST_METRICS: &[&str] = &[
    "post_total_media_view_unique",
    "post_reactions_by_type_total",
    "post_clicks",
    "post_clicks_by_type",
];

/// The engagement fields a request asks for, checked: the insights metrics named, and the
/// permissions the fields need.
pub(super) struct Asked {
    metrics: Vec<String>,
}

/// The raw text of the top-level field `name` in `fields` (`insights.metric(a,b)`).
fn field_spec(params: &Params, name: &str) -> Option<String> {
    let raw = params.get("fields")?;
    let mut depth = 0i32;
    let mut current = String::new();
    let mut parts = Vec::new();
    for c in raw.chars() {
        match c {
            '{' | '(' => depth += 1,
            '}' | ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    parts.push(current);
    parts.into_iter().map(|p| p.trim().to_owned()).find(|p| {
        p.split(['.', '{', '('])
            .next()
            .is_some_and(|head| head == name)
    })
}

/// The names inside `.metric(…)` of an `insights` field.
fn metric_names(spec: &str) -> Option<Vec<String>> {
    let start = spec.find("metric(")? + "metric(".len();
    let end = spec[start..].find(')')? + start;
    Some(
        spec[start..end]
            .split(',')
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty())
            .collect(),
    )
}

/// Checks what engagement `params` asks of `record`: the permissions and the metric names.
pub(super) fn check(
    ctx: &RouteCtx,
    params: &Params,
    token: &Token,
    record: &PublishedRecord,
) -> Result<Asked, Response> {
    let wanted = graph::requested_fields(params);
    let wants = |f: &str| wanted.iter().any(|w| w == f);
    if ["reactions", "comments", "shares"].into_iter().any(wants)
        && !token.grant.has_scope("pages_read_engagement")
    {
        return Err(graph::permission(
            ctx,
            10,
            "(#10) This endpoint requires the 'pages_read_engagement' permission or the 'Page Public Content Access' feature.",
        ));
    }
    let mut metrics = Vec::new();
    if record.kind != "video"
        && let Some(spec) = field_spec(params, "insights")
    {
        if !token.grant.has_scope("read_insights") {
            return Err(graph::permission(
                ctx,
                200,
                "(#200) Requires read_insights permission",
            ));
        }
        metrics = metric_names(&spec).unwrap_or_default();
        if metrics.is_empty() {
            return Err(graph::bad_request(
                ctx,
                100,
                "(#100) The parameter metric is required: name one or more insights metrics, as in insights.metric(post_clicks).",
            ));
        }
        if metrics.iter().any(|m| !POST_METRICS.contains(&m.as_str())) {
            return Err(graph::bad_request(
                ctx,
                100,
                "(#100) The value must be a valid insights metric",
            ));
        }
    }
    Ok(Asked { metrics })
}

/// The value of an engagement field of `record` at `now`; `None` when `field` isn't one,
/// `Some(None)` when the post has nothing to show for it.
pub(super) fn field(
    record: &PublishedRecord,
    asked: &Asked,
    field: &str,
    now: DateTime<Utc>,
) -> Option<Option<Value>> {
    let video = record.kind == "video";
    let n = Numbers::of(record, now);
    Some(match field {
        "reactions" => Some(json!({
            "data": [],
            "summary": { "total_count": n.reactions, "viewer_reaction": "NONE" },
        })),
        "comments" => Some(json!({
            "data": [],
            "summary": { "order": "ranked", "total_count": n.comments, "can_comment": true },
        })),
        "shares" if video => return None,
        "shares" if n.shares == 0 => None,
        "shares" => Some(json!({ "count": n.shares })),
        "insights" if video => return None,
        "insights" => {
            let data: Vec<Value> = asked
                .metrics
                .iter()
                .map(|name| {
                    json!({
                        "name": name,
                        "period": "lifetime",
                        "values": [{ "value": n.metric(name) }],
                        "title": title(name),
                        "description": description(name),
                        "id": format!("{}/insights/{name}/lifetime", record.remote_id),
                    })
                })
                .collect();
            Some(json!({ "data": data }))
        }
        _ => return None,
    })
}

/// One post's numbers at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Numbers {
    viewers: u64,
    reactions: u64,
    comments: u64,
    shares: u64,
    clicks: u64,
}

impl Numbers {
    /// Every number a share of the post's audience, all growing together, by whole hours.
    fn of(r: &PublishedRecord, now: DateTime<Utc>) -> Numbers {
        let id = r.remote_id.as_str();
        let hours = (now - r.at).num_seconds().max(0) / 3600;
        let age = hours * 3600;
        let audience = personas::derived_count(&["facebook", "viewers", id], 400..12_000) as f64;
        let grow = |what: &str, per_mille: std::ops::Range<u64>| {
            let rate = personas::derived_count(&["facebook", what, id], per_mille) as f64;
            personas::grown(audience * rate / 1000.0, age, GROWTH_SECS)
        };
        Numbers {
            viewers: personas::grown(audience, age, GROWTH_SECS),
            reactions: grow("reactions", 25..70),
            comments: grow("comments", 3..12),
            shares: grow("shares", 1..8),
            clicks: grow("clicks", 15..60),
        }
    }

    fn metric(&self, name: &str) -> Value {
        match name {
            "post_total_media_view_unique" => json!(self.viewers),
            "post_clicks" => json!(self.clicks),
            "post_reactions_by_type_total" => {
                let love = self.reactions / 5;
                json!({ "like": self.reactions - love, "love": love })
            }
            "post_clicks_by_type" => {
                let link = self.clicks / 3;
                json!({ "link clicks": link, "other clicks": self.clicks - link })
            }
            _ => Value::Null,
        }
    }
}

fn title(metric: &str) -> &'static str {
    match metric {
        "post_total_media_view_unique" => "Lifetime Post Total Viewers",
        "post_reactions_by_type_total" => "Lifetime Total post Reactions by Type.",
        "post_clicks" => "Lifetime Post Clicks",
        "post_clicks_by_type" => "Lifetime Post Clicks by type",
        _ => "",
    }
}

fn description(metric: &str) -> &'static str {
    match metric {
        "post_total_media_view_unique" => {
            "Lifetime: The number of people who saw your Page post at least once."
        }
        "post_reactions_by_type_total" => "Lifetime: Total post reactions by type.",
        "post_clicks" => "Lifetime: The number of times people clicked on anywhere in your posts.",
        "post_clicks_by_type" => "Lifetime: The number of clicks on your Page post, by type.",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_insights_field_s_metrics_are_read_from_its_expansion() {
        let params = Params::from_query(
            "fields=reactions.summary(total_count).limit(0),shares,insights.metric(post_clicks,post_total_media_view_unique)",
        );
        let spec = field_spec(&params, "insights").unwrap();
        assert_eq!(
            metric_names(&spec).unwrap(),
            ["post_clicks", "post_total_media_view_unique"]
        );
        assert!(field_spec(&params, "comments").is_none());
        assert_eq!(metric_names("insights"), None);
    }
}
