//! Instagram media insights (PLATFORMS.md §2, Insights): `GET /{ig-media-id}/insights?metric=…`
//! on both hosts, for media the sandbox published. Only current metrics are accepted (a
//! deprecated one such as `impressions` or `plays` is the Graph API's `(#100) metric[i] must be
//! one of the following values`). Like the real API, which takes up to 48 hours, there are no
//! numbers at first: for [`DELAY_SECS`] on the sandbox clock the answer is `{"data": []}`. After
//! that the numbers grow with the post's age, deterministically from its id, and never shrink.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::publish::{Need, identities};
use crate::domain::Platform;
use crate::sandbox::dispatch::RouteCtx;
use crate::sandbox::errors::json_response;
use crate::sandbox::graph;
use crate::sandbox::personas;
use crate::sandbox::published::PublishedRecord;
use crate::sandbox::state::Shared;

/// How long after publishing insights stay empty.
pub(crate) const DELAY_SECS: i64 = 180;
/// The age at which a post has about 63% of its final numbers.
const GROWTH_SECS: f64 = 36.0 * 3600.0;

/// The current media metrics; `impressions`, `plays`, `video_views`, `clips_replays_count`,
/// `ig_reels_aggregated_all_plays_count` and `engagement` are gone.
const METRICS: &[&str] = &[
    "views",
    "reach",
    "likes",
    "comments",
    "shares",
    "saved",
    "total_interactions",
    "follows",
    "profile_visits",
    "profile_activity",
    "replies",
    "navigation",
    "ig_reels_avg_watch_time",
    "ig_reels_video_view_total_time",
];

pub(in crate::sandbox) fn routes() -> Router<Arc<Shared>> {
    let mut router = Router::new();
    for host in ["graph.instagram.com", "graph.facebook.com"] {
        router = router.route(&format!("/{host}/{{id}}/insights"), get(insights));
    }
    router
}

/// `GET /{ig-media-id}/insights?metric=a,b`.
async fn insights(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let params = ctx.params();
    let (_, accounts) = match identities(&shared, &ctx, &params, &headers, Need::Insights) {
        Ok(t) => t,
        Err(res) => return res,
    };
    let record = shared
        .published()
        .find(Platform::Instagram, &id)
        .filter(|r| accounts.iter().any(|a| a.id == r.account_id))
        .cloned();
    let Some(record) = record else {
        return graph::unsupported(&ctx, &id);
    };
    let names: Vec<String> = params
        .get("metric")
        .unwrap_or("")
        .split(',')
        .map(|m| m.trim().to_owned())
        .filter(|m| !m.is_empty())
        .collect();
    if names.is_empty() {
        return graph::bad_request(
            &ctx,
            100,
            "(#100) The parameter metric is required: name one or more insights metrics.",
        );
    }
    let product = record
        .options
        .get("media_product_type")
        .and_then(Value::as_str)
        .unwrap_or("FEED")
        .to_owned();
    for (i, name) in names.iter().enumerate() {
        if !METRICS.contains(&name.as_str()) {
            return graph::bad_request(
                &ctx,
                100,
                &format!(
                    "(#100) metric[{i}] must be one of the following values: {}",
                    METRICS.join(", ")
                ),
            );
        }
        if !applies(name, &product) {
            return graph::bad_request(
                &ctx,
                100,
                &format!(
                    "(#100) The Media Insights API does not support the {name} metric for this media product type."
                ),
            );
        }
    }
    if let Some(period) = params.get("period")
        && period != "lifetime"
    {
        return graph::bad_request(
            &ctx,
            100,
            "(#100) Media insights only have the lifetime period.",
        );
    }
    let age = (shared.clock.now() - record.at).num_seconds();
    if age < DELAY_SECS {
        return json_response(StatusCode::OK, json!({ "data": [] }));
    }
    let data: Vec<Value> = names
        .iter()
        .map(|name| {
            json!({
                "name": name,
                "period": "lifetime",
                "values": [{ "value": value(&record, name, age) }],
                "title": title(name),
                "description": description(name),
                "id": format!("{}/insights/{name}/lifetime", record.remote_id),
            })
        })
        .collect();
    json_response(StatusCode::OK, json!({ "data": data }))
}

fn applies(metric: &str, product: &str) -> bool {
    match metric {
        "replies" | "navigation" => product == "STORY",
        "ig_reels_avg_watch_time" | "ig_reels_video_view_total_time" => product == "REELS",
        _ => true,
    }
}

/// A metric of one post at `age_secs`: a share of the post's reach, all growing together.
fn value(r: &PublishedRecord, metric: &str, age_secs: i64) -> u64 {
    let id = r.remote_id.as_str();
    let per_mille = |what: &str, range: std::ops::Range<u64>| {
        personas::derived_count(&["instagram", what, id], range) as f64
    };
    let reach = personas::derived_count(&["instagram", "reach", id], 500..20_000) as f64;
    let rate = |metric: &str| match metric {
        "reach" => 1000.0,
        "views" => per_mille("views", 1300..2200),
        "likes" => per_mille("likes", 30..80),
        "comments" => per_mille("comments", 3..10),
        "shares" => per_mille("shares", 2..10),
        "saved" => per_mille("saved", 5..20),
        "follows" => per_mille("follows", 1..4),
        "profile_visits" | "profile_activity" => per_mille("profile", 8..25),
        "replies" => per_mille("replies", 1..5),
        "navigation" => per_mille("navigation", 300..900),
        // Milliseconds, per view and in total.
        "ig_reels_avg_watch_time" => per_mille("watch", 4000..12_000),
        "ig_reels_video_view_total_time" => per_mille("watch", 4000..12_000) * 1.6,
        _ => 0.0,
    };
    let count =
        |metric: &str| personas::grown(reach * rate(metric) / 1000.0, age_secs, GROWTH_SECS);
    match metric {
        "total_interactions" => ["likes", "comments", "shares", "saved"]
            .into_iter()
            .map(count)
            .sum(),
        // An average does not grow with the audience.
        "ig_reels_avg_watch_time" => rate(metric) as u64,
        other => count(other),
    }
}

fn title(metric: &str) -> &'static str {
    match metric {
        "views" => "Views",
        "reach" => "Accounts reached",
        "likes" => "Likes",
        "comments" => "Comments",
        "shares" => "Shares",
        "saved" => "Saved",
        "total_interactions" => "Interactions",
        "follows" => "Follows",
        "profile_visits" => "Profile visits",
        "profile_activity" => "Profile activity",
        "replies" => "Replies",
        "navigation" => "Navigation",
        "ig_reels_avg_watch_time" => "Average watch time",
        "ig_reels_video_view_total_time" => "Watch time",
        _ => "",
    }
}

fn description(metric: &str) -> &'static str {
    match metric {
        "views" => "The number of times your content was played or displayed.",
        "reach" => "The number of unique accounts that have seen the media object.",
        "likes" => "The number of likes on your post.",
        "comments" => "The number of comments on your post.",
        "shares" => "The number of shares of your post.",
        "saved" => "The number of saves of your post.",
        "total_interactions" => {
            "The number of likes, saves, comments and shares on your post, minus the number of unlikes, unsaves and deleted comments."
        }
        "follows" => "The number of accounts that started following you from this post.",
        "profile_visits" => "The number of times your profile was visited from this post.",
        "profile_activity" => {
            "The number of actions people took on your profile after engaging with this post."
        }
        "replies" => "The number of replies to your story.",
        "navigation" => "The number of actions taken from your story.",
        "ig_reels_avg_watch_time" => "The average time spent playing your reel.",
        "ig_reels_video_view_total_time" => "The total time your reel was played.",
        _ => "",
    }
}
