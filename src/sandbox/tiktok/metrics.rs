//! `POST /v2/video/query/?fields=…` with `{"filters":{"video_ids":[…]}}` (PLATFORMS.md §6, from
//! Postiz; the body shape is UNCONFIRMED there) for videos and photo posts the sandbox's TikTok
//! published. The token needs `video.list` (else 401 `scope_not_authorized`, TikTok's code for a
//! scope the user didn't grant). `fields` must name fields of TikTok's video object, and
//! 1 to 20 ids are taken (else 400 `invalid_params`). Only the creator's own public posts are
//! answered — `video.list` reads public videos, and a private post has no public id — and ids
//! it doesn't know are left out of `data.videos`.
//!
//! Counts are a pure function of the post id and the sandbox clock: views grow like
//! `a · ln(1 + hours)` from 0 at publication, likes, comments and shares are fixed per-post
//! shares of views, so numbers repeat from run to run and never shrink.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::open_id;
use super::publish::{PUBLIC, authorize, invalid, json_body, ok};
use crate::domain::Platform;
use crate::sandbox::dispatch::RouteCtx;
use crate::sandbox::personas;
use crate::sandbox::published::PublishedRecord;
use crate::sandbox::state::Shared;

pub(crate) const MAX_IDS: usize = 20;
/// The fields of TikTok's video object. The counts, `id`, `create_time`, `share_url`, `title`,
/// `video_description`, `width` and `height` are answered; the rest are accepted and left out.
const FIELDS: &[&str] = &[
    "id",
    "create_time",
    "cover_image_url",
    "share_url",
    "video_description",
    "duration",
    "height",
    "width",
    "title",
    "embed_html",
    "embed_link",
    "like_count",
    "comment_count",
    "share_count",
    "view_count",
];

pub(in crate::sandbox) fn routes() -> Router<Arc<Shared>> {
    Router::new().route("/open.tiktokapis.com/v2/video/query/", post(query))
}

async fn query(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = match authorize(&shared, &ctx, &headers, &["video.list"]) {
        Ok(t) => t,
        Err(res) => return res,
    };
    let params = ctx.params();
    let fields: Vec<&str> = params
        .get("fields")
        .map(|f| {
            f.split(',')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if fields.is_empty() {
        return invalid(&ctx, "The fields parameter is required.");
    }
    if let Some(unknown) = fields.iter().find(|f| !FIELDS.contains(f)) {
        return invalid(&ctx, &format!("The field {unknown} is not supported."));
    }
    let obj = match json_body(&ctx, &headers, &body) {
        Ok(o) => o,
        Err(res) => return res,
    };
    let ids = obj
        .get("filters")
        .and_then(|f| f.get("video_ids"))
        .and_then(Value::as_array);
    let Some(ids) = ids else {
        return invalid(
            &ctx,
            "filters.video_ids (an array of video ids) is required.",
        );
    };
    if ids.is_empty() || ids.len() > MAX_IDS {
        return invalid(
            &ctx,
            &format!(
                "filters.video_ids has {} ids; a query takes 1 to {MAX_IDS}.",
                ids.len()
            ),
        );
    }
    let mut wanted = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        match id.as_str() {
            Some(s) => wanted.push(s.to_owned()),
            None => {
                return invalid(
                    &ctx,
                    &format!("filters.video_ids[{i}] must be a string, not {id}."),
                );
            }
        }
    }
    let now = shared.clock.now();
    let mine = open_id(&token.grant.client_id, &token.grant.account);
    let videos: Vec<Value> = {
        let published = shared.published();
        wanted
            .iter()
            .filter_map(|id| published.find(Platform::Tiktok, id))
            .filter(|r| {
                r.account_id == mine
                    && r.options.get("privacy_level").and_then(Value::as_str) == Some(PUBLIC)
            })
            .map(|r| video(r, &fields, now))
            .collect()
    };
    ok(&ctx, StatusCode::OK, json!({ "videos": videos }))
}

/// The asked-for fields of one post.
fn video(r: &PublishedRecord, fields: &[&str], now: DateTime<Utc>) -> Value {
    let n = counts(r, now);
    let media = r.media.first();
    let mut out = Map::new();
    for field in fields {
        let value = match *field {
            "id" => json!(r.remote_id),
            "create_time" => json!(r.at.timestamp()),
            "share_url" => json!(r.url),
            "title" | "video_description" => json!(r.text),
            "width" => json!(media.and_then(|m| m.width)),
            "height" => json!(media.and_then(|m| m.height)),
            "like_count" => json!(n.likes),
            "comment_count" => json!(n.comments),
            "share_count" => json!(n.shares),
            "view_count" => json!(n.views),
            _ => continue,
        };
        out.insert((*field).to_owned(), value);
    }
    Value::Object(out)
}

pub(crate) struct Counts {
    pub views: u64,
    pub likes: u64,
    pub comments: u64,
    pub shares: u64,
}

pub(crate) fn counts(r: &PublishedRecord, now: DateTime<Utc>) -> Counts {
    let d = personas::digest(&["tiktok", "metrics", &r.remote_id]);
    let scale = 80.0 + f64::from(u16::from_be_bytes([d[0], d[1]]) % 800);
    let hours = ((now - r.at).num_seconds().max(0) as f64) / 3600.0;
    let views = (scale * hours.ln_1p()).floor() as u64;
    let share = |i: usize, lo: u64, hi: u64| views * (lo + u64::from(d[i]) % (hi - lo + 1)) / 1000;
    Counts {
        views,
        likes: share(2, 40, 120),
        comments: share(3, 2, 15),
        shares: share(4, 1, 10),
    }
}
