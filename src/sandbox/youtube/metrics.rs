//! `videos.list` by id (PLATFORMS.md §7): `GET /youtube/v3/videos?part=…&id=a,b,c` for videos
//! the sandbox published, the `statistics` part with its counts as strings, at most 50 ids, and
//! 1 unit of the client's daily bucket per call (`youtube_units_per_day`, resetting at midnight
//! Pacific Time like `videos.insert`'s bucket) — past it, Google's 403 `quotaExceeded`.
//!
//! Counts are a pure function of the video id and the sandbox clock: views grow like
//! `a · ln(1 + hours)` from 0 at upload, likes and comments are fixed per-video shares of views,
//! so numbers repeat from run to run and never shrink. A video declared made for kids has
//! comments turned off (YouTube's rule for such videos), so its `commentCount` is absent.
//! Unknown ids, and other channels' private videos, are left out of `items` as Google does.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::publish::quota_day;
use super::{CHANNEL_READ_SCOPES, channel_id};
use crate::domain::Platform;
use crate::sandbox::dispatch::RouteCtx;
use crate::sandbox::errors::{google, google_error, json_response};
use crate::sandbox::personas;
use crate::sandbox::published::PublishedRecord;
use crate::sandbox::state::{Shared, lock};

/// "The id parameter … You can specify up to 50 ids."
pub(crate) const MAX_IDS: usize = 50;
/// The parts of a video resource; only `id` and `statistics` are emulated here.
const PARTS: &[&str] = &[
    "contentDetails",
    "fileDetails",
    "id",
    "liveStreamingDetails",
    "localizations",
    "paidProductPlacementDetails",
    "player",
    "processingDetails",
    "recordingDetails",
    "snippet",
    "statistics",
    "status",
    "suggestions",
    "topicDetails",
];

pub(in crate::sandbox) fn routes() -> Router<Arc<Shared>> {
    Router::new().route("/www.googleapis.com/youtube/v3/videos", get(list))
}

async fn list(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    headers: HeaderMap,
) -> Response {
    let now = shared.clock.now();
    let token = match super::authorized(&shared, &headers, CHANNEL_READ_SCOPES) {
        Ok(t) => t,
        Err(refused) => return refused,
    };
    {
        let mut state = lock(&shared.youtube);
        let used = state
            .units
            .entry((token.grant.client_id.clone(), quota_day(now)))
            .or_insert(0);
        if *used >= shared.limits.youtube_units() {
            return google_error(
                StatusCode::FORBIDDEN,
                "The request cannot be completed because you have exceeded your <a href=\"/youtube/v3/getting-started#quota\">quota</a>.",
                "quotaExceeded",
                "youtube.quota",
            );
        }
        *used += 1;
    }
    let query = ctx.params();
    let Some(part) = query.get("part").filter(|p| !p.trim().is_empty()) else {
        return google(
            StatusCode::BAD_REQUEST,
            "Required parameter: part",
            "required",
        );
    };
    let parts: Vec<&str> = part.split(',').map(str::trim).collect();
    for p in &parts {
        if !PARTS.contains(p) {
            return google(StatusCode::BAD_REQUEST, &format!("'{p}'"), "unknownPart");
        }
        if !matches!(*p, "id" | "statistics") {
            return google(
                StatusCode::BAD_REQUEST,
                &format!("The sandbox emulates videos.list with part=id,statistics only, not {p}."),
                "badRequest",
            );
        }
    }
    let Some(ids) = query.get("id") else {
        return google(
            StatusCode::BAD_REQUEST,
            "The sandbox emulates videos.list with the id filter only.",
            "badRequest",
        );
    };
    let ids: Vec<&str> = ids
        .split(',')
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .collect();
    if ids.len() > MAX_IDS {
        return google(
            StatusCode::BAD_REQUEST,
            &format!(
                "The request specifies {} video ids; the id parameter takes at most {MAX_IDS}.",
                ids.len()
            ),
            "invalidParameter",
        );
    }
    let own_channel = channel_id(&token.grant.account);
    let published = shared.published();
    let mut items = Vec::new();
    for id in ids {
        let Some(record) = published.find(Platform::Youtube, id) else {
            continue;
        };
        let privacy = record
            .options
            .get("privacyStatus")
            .and_then(Value::as_str)
            .unwrap_or("private");
        if record.account_id != own_channel && privacy == "private" {
            continue;
        }
        let mut item = Map::new();
        item.insert("kind".into(), json!("youtube#video"));
        item.insert(
            "etag".into(),
            json!(personas::derived_chars(
                &["youtube", "video-etag", id],
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                27
            )),
        );
        item.insert("id".into(), json!(id));
        if parts.contains(&"statistics") {
            item.insert("statistics".into(), statistics(record, now));
        }
        items.push(Value::Object(item));
    }
    drop(published);
    json_response(
        StatusCode::OK,
        json!({
            "kind": "youtube#videoListResponse",
            "etag": ctx.trace_id("", 27),
            "items": items,
            "pageInfo": { "totalResults": items.len(), "resultsPerPage": items.len() },
        }),
    )
}

/// The `statistics` part: counts as strings, `commentCount` absent when comments are off.
pub(crate) fn statistics(r: &PublishedRecord, now: DateTime<Utc>) -> Value {
    let d = personas::digest(&["youtube", "statistics", &r.remote_id]);
    let scale = 30.0 + f64::from(u16::from_be_bytes([d[0], d[1]]) % 300);
    let hours = ((now - r.at).num_seconds().max(0) as f64) / 3600.0;
    let views = (scale * hours.ln_1p()).floor() as u64;
    // Per mille of views.
    let likes = views * (20 + u64::from(d[2]) % 41) / 1000;
    let comments = views * (2 + u64::from(d[3]) % 9) / 1000;
    let mut stats = json!({
        "viewCount": views.to_string(),
        "likeCount": likes.to_string(),
        "favoriteCount": "0",
    });
    let for_kids = r
        .options
        .get("selfDeclaredMadeForKids")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if !for_kids {
        stats["commentCount"] = json!(comments.to_string());
    }
    stats
}
