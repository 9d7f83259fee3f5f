//! TikTok Content Posting API (PLATFORMS.md §6). `creator_info/query/` says which privacy levels
//! the creator offers, and `privacy_level` must be one of them. A video is posted with
//! `video/init/`: `FILE_UPLOAD` (chunking checked against the media transfer guide, then the bytes
//! `PUT` in order to the `upload_url`, which the sandbox serves on TikTok's upload host) or
//! `PULL_FROM_URL`; photos with `content/init/` (`PULL_FROM_URL` only, JPEG or WebP). URLs are
//! pulled for real in the background. `status/fetch/` follows a publish:
//! `PROCESSING_UPLOAD` / `PROCESSING_DOWNLOAD` → `PUBLISH_COMPLETE` (`publicaly_available_post_id`
//! filled only for public posts) or `FAILED` with a `fail_reason`. A post is recorded as published
//! the moment TikTok has its media and accepts it: on the final chunk, or once a pull succeeds.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{post, put};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};

use super::open_id;
use crate::domain::Platform;
use crate::sandbox::dispatch::RouteCtx;
use crate::sandbox::errors::{json_response, tiktok, tiktok_log_id};
use crate::sandbox::media::{self, Facts, FetchError, Format, Incoming};
use crate::sandbox::oauth::bearer;
use crate::sandbox::personas;
use crate::sandbox::published::{Accepted, PublishedMedia};
use crate::sandbox::state::{Shared, Token, TokenKind, lock};

/// Where `FILE_UPLOAD` bytes go.
pub(crate) const UPLOAD_HOST: &str = "open-upload.tiktokapis.com";
/// The media transfer guide's chunk sizes, in "MB" it does not define: the smallest reading of
/// the minimum (5 000 000) and the largest of the maxima (64 MiB, 128 MiB for the final chunk),
/// so that a client following either reading passes.
const MIN_CHUNK: u64 = 5_000_000;
const MAX_CHUNK: u64 = 64 * 1024 * 1024;
const MAX_FINAL_CHUNK: u64 = 128 * 1024 * 1024;
const MAX_CHUNKS: u64 = 1000;
const MAX_VIDEO_TITLE: usize = 2200;
const MAX_PHOTO_TITLE: usize = 90;
const MAX_PHOTO_DESCRIPTION: usize = 4000;
const MAX_PHOTOS: usize = 35;
const MAX_PHOTO_BYTES: u64 = 20 * 1024 * 1024;
pub(super) const PUBLIC: &str = "PUBLIC_TO_EVERYONE";

pub(in crate::sandbox) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/open.tiktokapis.com/v2/post/publish/creator_info/query/",
            post(creator_info),
        )
        .route(
            "/open.tiktokapis.com/v2/post/publish/video/init/",
            post(video_init),
        )
        .route(
            "/open.tiktokapis.com/v2/post/publish/content/init/",
            post(content_init),
        )
        .route(
            "/open.tiktokapis.com/v2/post/publish/status/fetch/",
            post(status_fetch),
        )
        .route(&format!("/{UPLOAD_HOST}/video/"), put(upload_chunk))
}

/// Publishes in progress or done, by publish id; FILE_UPLOAD ids by upload id.
#[derive(Default)]
pub(crate) struct TiktokState {
    publishes: HashMap<String, Publish>,
    uploads: HashMap<String, String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Video,
    Photo,
}

struct Publish {
    client_id: String,
    account: String,
    kind: Kind,
    /// `DIRECT_POST`; otherwise the post goes to the creator's inbox (`MEDIA_UPLOAD`).
    direct: bool,
    privacy: Option<String>,
    title: String,
    description: String,
    options: Map<String, Value>,
    upload: Option<FileUpload>,
    /// Bytes pulled so far, for `PULL_FROM_URL`.
    downloaded: u64,
    /// From the init request's `processing_secs` fault.
    processing_secs: u64,
    request_seq: u64,
    stage: Stage,
}

struct FileUpload {
    upload_token: String,
    video_size: u64,
    chunk_size: u64,
    chunks: u64,
    incoming: Option<Incoming>,
    /// Chunks received, in order.
    next: u64,
}

impl FileUpload {
    /// Byte range `[start, end)` of chunk `i`; the last chunk takes the remainder.
    fn bounds(&self, i: u64) -> (u64, u64) {
        let start = i * self.chunk_size;
        let end = if i + 1 == self.chunks {
            self.video_size
        } else {
            start + self.chunk_size
        };
        (start, end)
    }

    fn received(&self) -> u64 {
        if self.next == 0 {
            0
        } else {
            self.bounds(self.next - 1).1
        }
    }
}

enum Stage {
    Uploading,
    Downloading,
    /// TikTok has the media; the post is done at `at`.
    Accepted {
        at: DateTime<Utc>,
        post_id: Option<String>,
    },
    Failed(&'static str),
}

pub(super) fn ok(ctx: &RouteCtx, status: StatusCode, data: Value) -> Response {
    json_response(
        status,
        json!({ "data": data, "error": { "code": "ok", "message": "", "log_id": tiktok_log_id(ctx) } }),
    )
}

pub(super) fn invalid(ctx: &RouteCtx, message: &str) -> Response {
    tiktok(ctx, StatusCode::BAD_REQUEST, "invalid_params", message)
}

/// The user's token, with at least one of `scopes`.
pub(super) fn authorize(
    shared: &Shared,
    ctx: &RouteCtx,
    headers: &HeaderMap,
    scopes: &[&str],
) -> Result<Token, Response> {
    let token = shared
        .store()
        .check(
            Platform::Tiktok,
            TokenKind::Access,
            bearer(headers).as_deref(),
            shared.clock.now(),
        )
        .map_err(|_| {
            tiktok(
                ctx,
                StatusCode::UNAUTHORIZED,
                "access_token_invalid",
                "The access token is invalid or not found in the request.",
            )
        })?;
    if scopes.iter().any(|s| token.grant.has_scope(s)) {
        Ok(token)
    } else {
        Err(tiktok(
            ctx,
            StatusCode::UNAUTHORIZED,
            "scope_not_authorized",
            &format!(
                "The user did not authorize the scope required for completing this request ({}).",
                scopes.join(" or ")
            ),
        ))
    }
}

pub(super) fn json_body(
    ctx: &RouteCtx,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Map<String, Value>, Response> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
    if !json {
        return Err(invalid(
            ctx,
            "The request body must be JSON (Content-Type: application/json; charset=UTF-8).",
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(obj)) => Ok(obj),
        _ => Err(invalid(ctx, "The request body is not a JSON object.")),
    }
}

/// Accounts whose login contains "private" are private accounts: followers, not everyone.
pub(crate) fn privacy_options(account: &str) -> [&'static str; 3] {
    if account.contains("private") {
        ["FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]
    } else {
        [PUBLIC, "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]
    }
}

/// `POST /v2/post/publish/creator_info/query/`: what the creator may post.
async fn creator_info(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    headers: HeaderMap,
) -> Response {
    let token = match authorize(&shared, &ctx, &headers, &["video.publish"]) {
        Ok(t) => t,
        Err(res) => return res,
    };
    let account = token.grant.account.clone();
    ok(
        &ctx,
        StatusCode::OK,
        json!({
            "creator_avatar_url": personas::avatar_url(&shared.config.base(), Platform::Tiktok, &account),
            "creator_username": account,
            "creator_nickname": personas::display_name(Platform::Tiktok, &account),
            "privacy_level_options": privacy_options(&account),
            "comment_disabled": false,
            "duet_disabled": false,
            "stitch_disabled": account.contains("private"),
            "max_video_post_duration_sec": 600,
        }),
    )
}

/// How a text limit is counted.
#[derive(Clone, Copy)]
enum Count {
    /// UTF-16 units, as the docs say for the video title.
    Utf16,
    /// Characters, where the docs give no unit (the photo title and description).
    Chars,
}

/// An optional string of at most `max` units.
fn text(
    ctx: &RouteCtx,
    obj: &Map<String, Value>,
    path: &str,
    max: usize,
    count: Count,
) -> Result<String, Response> {
    let name = path.rsplit('.').next().unwrap_or(path);
    match obj.get(name) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => {
            let (n, unit) = match count {
                Count::Utf16 => (s.encode_utf16().count(), "UTF-16 units"),
                Count::Chars => (s.chars().count(), "characters"),
            };
            if n > max {
                Err(invalid(
                    ctx,
                    &format!("{path} is {n} {unit} long; at most {max} are allowed."),
                ))
            } else {
                Ok(s.clone())
            }
        }
        Some(other) => Err(invalid(
            ctx,
            &format!("{path} must be a string, not {other}."),
        )),
    }
}

fn object<'a>(
    ctx: &RouteCtx,
    obj: &'a Map<String, Value>,
    name: &str,
) -> Result<&'a Map<String, Value>, Response> {
    match obj.get(name) {
        Some(Value::Object(o)) => Ok(o),
        None | Some(Value::Null) => Err(invalid(ctx, &format!("{name} is required."))),
        Some(other) => Err(invalid(
            ctx,
            &format!("{name} must be an object, not {other}."),
        )),
    }
}

/// `post_info`'s booleans and numbers, checked and kept for the record.
fn post_options(
    ctx: &RouteCtx,
    info: &Map<String, Value>,
    booleans: &[&str],
) -> Result<Map<String, Value>, Response> {
    let mut options = Map::new();
    for name in booleans {
        match info.get(*name) {
            None | Some(Value::Null) => {}
            Some(v @ Value::Bool(_)) => {
                options.insert((*name).into(), v.clone());
            }
            Some(other) => {
                return Err(invalid(
                    ctx,
                    &format!("post_info.{name} must be a boolean, not {other}."),
                ));
            }
        }
    }
    Ok(options)
}

/// `post_info.privacy_level`: required, and one of the creator's options.
fn privacy(ctx: &RouteCtx, info: &Map<String, Value>, account: &str) -> Result<String, Response> {
    let level = match info.get("privacy_level") {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => {
            return Err(invalid(ctx, "post_info.privacy_level is required."));
        }
        Some(other) => {
            return Err(invalid(
                ctx,
                &format!("post_info.privacy_level must be a string, not {other}."),
            ));
        }
    };
    if privacy_options(account).contains(&level.as_str()) {
        Ok(level)
    } else {
        Err(tiktok(
            ctx,
            StatusCode::BAD_REQUEST,
            "privacy_level_option_mismatch",
            &format!(
                "The privacy_level {level} is not one of the creator's privacy_level_options ({}).",
                privacy_options(account).join(", ")
            ),
        ))
    }
}

fn whole_number(ctx: &RouteCtx, obj: &Map<String, Value>, name: &str) -> Result<u64, Response> {
    match obj.get(name) {
        Some(v) => v.as_u64().filter(|n| *n > 0).ok_or_else(|| {
            invalid(
                ctx,
                &format!("source_info.{name} must be a positive whole number, not {v}."),
            )
        }),
        None => Err(invalid(
            ctx,
            &format!("source_info.{name} is required for FILE_UPLOAD."),
        )),
    }
}

/// The media transfer guide's rules for `video_size`, `chunk_size` and `total_chunk_count`.
fn check_chunking(size: u64, chunk: u64, count: u64) -> Result<(), String> {
    if count > MAX_CHUNKS {
        return Err(format!(
            "total_chunk_count is {count}; a video is sent in 1 to {MAX_CHUNKS} chunks."
        ));
    }
    if chunk >= size {
        if chunk != size || count != 1 {
            return Err(format!(
                "A video sent whole has chunk_size = video_size ({size}) and total_chunk_count = 1."
            ));
        }
        if size > MAX_CHUNK {
            return Err(format!(
                "A video of {size} bytes must be sent in chunks (files over 64 MB are chunked)."
            ));
        }
        return Ok(());
    }
    if size < MIN_CHUNK {
        return Err(format!(
            "A video under 5 MB ({size} bytes) must be sent whole: chunk_size = video_size and total_chunk_count = 1."
        ));
    }
    if !(MIN_CHUNK..=MAX_CHUNK).contains(&chunk) {
        return Err(format!(
            "chunk_size is {chunk}; chunks are 5 MB to 64 MB (only the final chunk may be larger)."
        ));
    }
    let expected = size / chunk;
    if count != expected {
        return Err(format!(
            "total_chunk_count must be floor(video_size / chunk_size) = {expected}, not {count}."
        ));
    }
    let last = size - (count - 1) * chunk;
    if last > MAX_FINAL_CHUNK {
        return Err(format!(
            "The final chunk would be {last} bytes; it may be at most 128 MB."
        ));
    }
    Ok(())
}

fn http_url(ctx: &RouteCtx, raw: Option<&Value>, path: &str) -> Result<String, Response> {
    match raw {
        Some(Value::String(u)) if media::is_http_url(u) => Ok(u.clone()),
        Some(Value::String(u)) => Err(invalid(
            ctx,
            &format!("{path} {u:?} is not an absolute http(s) URL."),
        )),
        None | Some(Value::Null) => Err(invalid(ctx, &format!("{path} is required."))),
        Some(other) => Err(invalid(
            ctx,
            &format!("{path} must be a string, not {other}."),
        )),
    }
}

/// `POST /v2/post/publish/video/init/` (Direct Post).
async fn video_init(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match init_video(&shared, &ctx, &headers, &body) {
        Ok(res) | Err(res) => res,
    }
}

fn init_video(
    shared: &Arc<Shared>,
    ctx: &RouteCtx,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, Response> {
    let token = authorize(shared, ctx, headers, &["video.publish"])?;
    let obj = json_body(ctx, headers, body)?;
    let account = token.grant.account.clone();
    let info = object(ctx, &obj, "post_info")?;
    let privacy = privacy(ctx, info, &account)?;
    let title = text(ctx, info, "post_info.title", MAX_VIDEO_TITLE, Count::Utf16)?;
    let mut options = post_options(
        ctx,
        info,
        &[
            "disable_duet",
            "disable_comment",
            "disable_stitch",
            "brand_content_toggle",
            "brand_organic_toggle",
            "is_aigc",
        ],
    )?;
    if let Some(v) = info
        .get("video_cover_timestamp_ms")
        .filter(|v| !v.is_null())
    {
        if v.as_u64().is_none() {
            return Err(invalid(
                ctx,
                "post_info.video_cover_timestamp_ms must be a whole number of milliseconds.",
            ));
        }
        options.insert("video_cover_timestamp_ms".into(), v.clone());
    }
    let source = object(ctx, &obj, "source_info")?;
    let kind = match source.get("source") {
        Some(Value::String(s)) => s.as_str(),
        _ => {
            return Err(invalid(
                ctx,
                "source_info.source must be FILE_UPLOAD or PULL_FROM_URL.",
            ));
        }
    };
    let mut publish = Publish {
        client_id: token.grant.client_id.clone(),
        account,
        kind: Kind::Video,
        direct: true,
        privacy: Some(privacy),
        title,
        description: String::new(),
        options,
        upload: None,
        downloaded: 0,
        processing_secs: ctx.processing_secs,
        request_seq: ctx.seq,
        stage: Stage::Uploading,
    };
    publish.options.insert("source".into(), json!(kind));
    match kind {
        "FILE_UPLOAD" => {
            let size = whole_number(ctx, source, "video_size")?;
            let chunk = whole_number(ctx, source, "chunk_size")?;
            let count = whole_number(ctx, source, "total_chunk_count")?;
            check_chunking(size, chunk, count).map_err(|why| invalid(ctx, &why))?;
            let publish_id = format!("v_pub_file~v2.{}", shared.new_digits(18));
            let upload_id = shared.new_digits(19);
            let upload_token = shared.new_chars("", 32);
            let upload_url = format!(
                "https://{UPLOAD_HOST}/video/?upload_id={upload_id}&upload_token={upload_token}"
            );
            publish.options.insert("upload_id".into(), json!(upload_id));
            publish.upload = Some(FileUpload {
                upload_token,
                video_size: size,
                chunk_size: chunk,
                chunks: count,
                incoming: Some(Incoming::default()),
                next: 0,
            });
            let mut state = lock(&shared.tiktok);
            state.uploads.insert(upload_id, publish_id.clone());
            state.publishes.insert(publish_id.clone(), publish);
            drop(state);
            Ok(ok(
                ctx,
                StatusCode::OK,
                json!({ "publish_id": publish_id, "upload_url": upload_url }),
            ))
        }
        "PULL_FROM_URL" => {
            let url = http_url(ctx, source.get("video_url"), "source_info.video_url")?;
            publish.options.insert("video_url".into(), json!(url));
            publish.stage = Stage::Downloading;
            let publish_id = format!("v_pub_url~v2.{}", shared.new_digits(18));
            lock(&shared.tiktok)
                .publishes
                .insert(publish_id.clone(), publish);
            spawn_pull(Arc::clone(shared), publish_id.clone(), vec![url]);
            Ok(ok(ctx, StatusCode::OK, json!({ "publish_id": publish_id })))
        }
        other => Err(invalid(
            ctx,
            &format!("source_info.source must be FILE_UPLOAD or PULL_FROM_URL, not {other}."),
        )),
    }
}

/// `POST /v2/post/publish/content/init/`: photo posts.
async fn content_init(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match init_photos(&shared, &ctx, &headers, &body) {
        Ok(res) | Err(res) => res,
    }
}

fn init_photos(
    shared: &Arc<Shared>,
    ctx: &RouteCtx,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, Response> {
    let token = authorize(shared, ctx, headers, &["video.publish", "video.upload"])?;
    let obj = json_body(ctx, headers, body)?;
    match obj.get("media_type").and_then(Value::as_str) {
        Some("PHOTO") => {}
        _ => return Err(invalid(ctx, "media_type must be PHOTO.")),
    }
    let direct = match obj.get("post_mode").and_then(Value::as_str) {
        Some("DIRECT_POST") => true,
        Some("MEDIA_UPLOAD") => false,
        _ => {
            return Err(invalid(
                ctx,
                "post_mode must be DIRECT_POST or MEDIA_UPLOAD.",
            ));
        }
    };
    let needed = if direct {
        "video.publish"
    } else {
        "video.upload"
    };
    if !token.grant.has_scope(needed) {
        return Err(tiktok(
            ctx,
            StatusCode::UNAUTHORIZED,
            "scope_not_authorized",
            &format!(
                "The user did not authorize the scope required for completing this request ({needed})."
            ),
        ));
    }
    let account = token.grant.account.clone();
    let info = object(ctx, &obj, "post_info")?;
    let privacy = if direct {
        Some(privacy(ctx, info, &account)?)
    } else {
        None
    };
    let title = text(ctx, info, "post_info.title", MAX_PHOTO_TITLE, Count::Chars)?;
    let description = text(
        ctx,
        info,
        "post_info.description",
        MAX_PHOTO_DESCRIPTION,
        Count::Chars,
    )?;
    let mut options = post_options(
        ctx,
        info,
        &[
            "disable_comment",
            "auto_add_music",
            "brand_content_toggle",
            "brand_organic_toggle",
        ],
    )?;
    let source = object(ctx, &obj, "source_info")?;
    match source.get("source").and_then(Value::as_str) {
        Some("PULL_FROM_URL") => {}
        Some("FILE_UPLOAD") => {
            return Err(invalid(
                ctx,
                "Photo posts only support source PULL_FROM_URL (photo_images).",
            ));
        }
        _ => return Err(invalid(ctx, "source_info.source must be PULL_FROM_URL.")),
    }
    let images = match source.get("photo_images") {
        Some(Value::Array(items)) if (1..=MAX_PHOTOS).contains(&items.len()) => items,
        Some(Value::Array(items)) => {
            return Err(invalid(
                ctx,
                &format!(
                    "source_info.photo_images has {} URLs; a photo post has 1 to {MAX_PHOTOS}.",
                    items.len()
                ),
            ));
        }
        _ => {
            return Err(invalid(
                ctx,
                "source_info.photo_images (an array of URLs) is required.",
            ));
        }
    };
    let mut urls = Vec::new();
    for (i, item) in images.iter().enumerate() {
        urls.push(http_url(
            ctx,
            Some(item),
            &format!("source_info.photo_images[{i}]"),
        )?);
    }
    let cover = match source.get("photo_cover_index") {
        None | Some(Value::Null) => 0,
        Some(v) => match v.as_u64() {
            Some(i) if (i as usize) < urls.len() => i,
            _ => {
                return Err(invalid(
                    ctx,
                    &format!(
                        "source_info.photo_cover_index must be an index into photo_images (0 to {}), not {v}.",
                        urls.len() - 1
                    ),
                ));
            }
        },
    };
    options.insert("source".into(), json!("PULL_FROM_URL"));
    options.insert(
        "post_mode".into(),
        json!(if direct {
            "DIRECT_POST"
        } else {
            "MEDIA_UPLOAD"
        }),
    );
    options.insert("photo_cover_index".into(), json!(cover));
    options.insert("photo_images".into(), json!(urls));
    let publish_id = format!("p_pub_url~v2.{}", shared.new_digits(18));
    lock(&shared.tiktok).publishes.insert(
        publish_id.clone(),
        Publish {
            client_id: token.grant.client_id.clone(),
            account,
            kind: Kind::Photo,
            direct,
            privacy,
            title,
            description,
            options,
            upload: None,
            downloaded: 0,
            processing_secs: ctx.processing_secs,
            request_seq: ctx.seq,
            stage: Stage::Downloading,
        },
    );
    spawn_pull(Arc::clone(shared), publish_id.clone(), urls);
    Ok(ok(ctx, StatusCode::OK, json!({ "publish_id": publish_id })))
}

/// Records a publish TikTok has accepted; returns the post id it gets.
fn accept(
    shared: &Shared,
    publish_id: &str,
    p: &Publish,
    media: Vec<PublishedMedia>,
    now: DateTime<Utc>,
) -> Option<String> {
    if !p.direct {
        // Sent to the creator's inbox: nothing is published until they finish it in the app.
        return None;
    }
    let post_id = format!("7{}", shared.new_digits(18));
    let path = if p.kind == Kind::Photo {
        "photo"
    } else {
        "video"
    };
    let mut options = p.options.clone();
    options.insert("publish_id".into(), json!(publish_id));
    if let Some(level) = &p.privacy {
        options.insert("privacy_level".into(), json!(level));
    }
    let text: Vec<&str> = [p.title.as_str(), p.description.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    shared.record_published(Accepted {
        request_seq: p.request_seq,
        at: now,
        platform: Platform::Tiktok,
        account_id: open_id(&p.client_id, &p.account),
        account: p.account.clone(),
        kind: if p.kind == Kind::Photo {
            "photo"
        } else {
            "video"
        },
        remote_id: post_id.clone(),
        url: Some(format!(
            "https://www.tiktok.com/@{}/{path}/{post_id}",
            p.account
        )),
        text: text.join("\n\n"),
        media,
        options,
    });
    Some(post_id)
}

fn done_at(now: DateTime<Utc>, secs: u64) -> DateTime<Utc> {
    now + Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX / 4))
}

fn is_video(format: Format) -> bool {
    matches!(format, Format::Mp4 | Format::Mov | Format::Webm)
}

/// What TikTok makes of a pulled file: `Err` is the `fail_reason`.
fn judge(kind: Kind, fetched: Result<Facts, FetchError>) -> Result<Facts, &'static str> {
    let facts = fetched.map_err(|_| {
        if kind == Kind::Photo {
            "photo_pull_failed"
        } else {
            "video_pull_failed"
        }
    })?;
    match kind {
        Kind::Video if is_video(facts.format) => Ok(facts),
        Kind::Video => Err("file_format_check_failed"),
        Kind::Photo => {
            if !matches!(facts.format, Format::Jpeg | Format::Webp) {
                return Err("file_format_check_failed");
            }
            // At most 1080p: 1920 on the long side, 1080 on the short one.
            let too_big = match (facts.width, facts.height) {
                (Some(w), Some(h)) => w.max(h) > 1920 || w.min(h) > 1080,
                _ => false,
            };
            if facts.size > MAX_PHOTO_BYTES || too_big {
                return Err("picture_size_check_failed");
            }
            Ok(facts)
        }
    }
}

/// TikTok downloads `PULL_FROM_URL` media while the publish is `PROCESSING_DOWNLOAD`.
fn spawn_pull(shared: Arc<Shared>, publish_id: String, urls: Vec<String>) {
    tokio::spawn(async move {
        let kind = match lock(&shared.tiktok).publishes.get(&publish_id) {
            Some(p) => p.kind,
            None => return,
        };
        let cap = if kind == Kind::Photo {
            media::IMAGE_FETCH_CAP
        } else {
            media::VIDEO_FETCH_CAP
        };
        let mut media = Vec::new();
        let mut downloaded = 0;
        let mut failure = None;
        for url in &urls {
            match judge(kind, media::fetch(&shared.http, url, cap).await) {
                Ok(facts) => {
                    downloaded += facts.size;
                    media.push(PublishedMedia::new(&facts, Some(url), None));
                }
                Err(reason) => {
                    failure = Some(reason);
                    break;
                }
            }
        }
        let now = shared.clock.now();
        let mut state = lock(&shared.tiktok);
        let Some(p) = state.publishes.get(&publish_id) else {
            return;
        };
        let stage = match failure {
            Some(reason) => Stage::Failed(reason),
            None => Stage::Accepted {
                at: done_at(now, p.processing_secs),
                post_id: accept(&shared, &publish_id, p, media, now),
            },
        };
        if let Some(p) = state.publishes.get_mut(&publish_id) {
            p.downloaded = downloaded;
            p.stage = stage;
        }
    });
}

/// `Content-Range: bytes {first}-{last}/{total}`.
fn content_range(headers: &HeaderMap) -> Option<(u64, u64, u64)> {
    let raw = headers.get(header::CONTENT_RANGE)?.to_str().ok()?.trim();
    let rest = raw.strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    let (first, last, total) = (
        first.trim().parse().ok()?,
        last.trim().parse().ok()?,
        total.trim().parse().ok()?,
    );
    (first <= last && last < total).then_some((first, last, total))
}

fn upload_error(ctx: &RouteCtx, message: &str) -> Response {
    invalid(ctx, message)
}

fn empty(status: StatusCode) -> Response {
    Response::builder()
        .status(status)
        .body(Body::empty())
        .unwrap_or_default()
}

/// `PUT {upload_url}`: one chunk, in order, with `Content-Range` and a video `Content-Type`.
/// 206 until the last chunk, then 201. The upload URL is the credential; no token is needed.
async fn upload_chunk(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = ctx.params();
    let (Some(upload_id), Some(upload_token)) =
        (params.get("upload_id"), params.get("upload_token"))
    else {
        return upload_error(&ctx, "The upload URL needs upload_id and upload_token.");
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    if !["video/mp4", "video/quicktime", "video/webm"].contains(&content_type.as_str()) {
        return upload_error(
            &ctx,
            &format!(
                "Content-Type must be video/mp4, video/quicktime or video/webm, not {content_type:?}."
            ),
        );
    }
    let Some((first, last, total)) = content_range(&headers) else {
        return upload_error(
            &ctx,
            "Content-Range must be bytes {first_byte}-{last_byte}/{total_byte_length}.",
        );
    };
    if body.len() as u64 != last - first + 1 {
        return upload_error(
            &ctx,
            &format!(
                "The body is {} bytes but Content-Range says {}.",
                body.len(),
                last - first + 1
            ),
        );
    }
    let now = shared.clock.now();
    let mut state = lock(&shared.tiktok);
    let Some(publish_id) = state.uploads.get(upload_id).cloned() else {
        return upload_error(&ctx, "The upload_id is unknown.");
    };
    let Some(p) = state.publishes.get_mut(&publish_id) else {
        return upload_error(&ctx, "The upload_id is unknown.");
    };
    let Some(up) = p.upload.as_mut() else {
        return upload_error(&ctx, "The upload_id is unknown.");
    };
    if up.upload_token != upload_token {
        return tiktok(
            &ctx,
            StatusCode::FORBIDDEN,
            "invalid_params",
            "The upload_token does not match this upload.",
        );
    }
    if total != up.video_size {
        return upload_error(
            &ctx,
            &format!(
                "Content-Range's total is {total}, but video_size was {}.",
                up.video_size
            ),
        );
    }
    // A chunk sent again (its answer was lost) is taken as already received.
    if up.next > 0 && (first, last + 1) == up.bounds(up.next - 1) {
        let status = if up.next == up.chunks {
            StatusCode::CREATED
        } else {
            StatusCode::PARTIAL_CONTENT
        };
        return empty(status);
    }
    if up.next == up.chunks {
        return upload_error(&ctx, "This upload is already complete.");
    }
    let (start, end) = up.bounds(up.next);
    if (first, last + 1) != (start, end) {
        return upload_error(
            &ctx,
            &format!(
                "Chunks go in order with chunk_size {}: expected bytes {start}-{}/{total} (chunk {} of {}).",
                up.chunk_size,
                end - 1,
                up.next + 1,
                up.chunks
            ),
        );
    }
    let Some(incoming) = up.incoming.as_mut() else {
        return upload_error(&ctx, "This upload is already complete.");
    };
    incoming.push(&body);
    up.next += 1;
    if up.next < up.chunks {
        return empty(StatusCode::PARTIAL_CONTENT);
    }
    let facts = up
        .incoming
        .take()
        .map(Incoming::finish)
        .unwrap_or_else(|| Facts::of(&[]));
    let secs = p.processing_secs.max(ctx.processing_secs);
    p.stage = if is_video(facts.format) {
        let media = vec![PublishedMedia::new(&facts, None, None)];
        Stage::Accepted {
            at: done_at(now, secs),
            post_id: accept(&shared, &publish_id, p, media, now),
        }
    } else {
        Stage::Failed("file_format_check_failed")
    };
    drop(state);
    empty(StatusCode::CREATED)
}

/// `POST /v2/post/publish/status/fetch/` `{"publish_id": …}`.
async fn status_fetch(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = match authorize(&shared, &ctx, &headers, &["video.publish", "video.upload"]) {
        Ok(t) => t,
        Err(res) => return res,
    };
    let obj = match json_body(&ctx, &headers, &body) {
        Ok(o) => o,
        Err(res) => return res,
    };
    let Some(publish_id) = obj.get("publish_id").and_then(Value::as_str) else {
        return invalid(&ctx, "publish_id (a string) is required.");
    };
    let now = shared.clock.now();
    let state = lock(&shared.tiktok);
    let Some(p) = state
        .publishes
        .get(publish_id)
        .filter(|p| p.client_id == token.grant.client_id && p.account == token.grant.account)
    else {
        return invalid(&ctx, &format!("The publish_id {publish_id} was not found."));
    };
    let pulling = p.upload.is_none();
    let processing = if pulling {
        "PROCESSING_DOWNLOAD"
    } else {
        "PROCESSING_UPLOAD"
    };
    let mut data = json!({ "publicaly_available_post_id": [] });
    match &p.stage {
        Stage::Uploading | Stage::Downloading => data["status"] = json!(processing),
        Stage::Accepted { at, .. } if now < *at => data["status"] = json!(processing),
        Stage::Accepted { post_id, .. } => {
            if !p.direct {
                data["status"] = json!("SEND_TO_USER_INBOX");
            } else {
                data["status"] = json!("PUBLISH_COMPLETE");
                // Post ids are given for public posts only (once moderated).
                if p.privacy.as_deref() == Some(PUBLIC)
                    && let Some(id) = post_id.as_deref().and_then(|i| i.parse::<i64>().ok())
                {
                    data["publicaly_available_post_id"] = json!([id]);
                }
            }
        }
        Stage::Failed(reason) => {
            data["status"] = json!("FAILED");
            data["fail_reason"] = json!(reason);
        }
    }
    match &p.upload {
        Some(up) => data["uploaded_bytes"] = json!(up.received()),
        None => data["downloaded_bytes"] = json!(p.downloaded),
    }
    drop(state);
    ok(&ctx, StatusCode::OK, data)
}

#[cfg(test)]
mod tests {
    use super::check_chunking;

    #[test]
    fn chunking_follows_the_media_transfer_guide() {
        assert!(check_chunking(3_000_000, 3_000_000, 1).is_ok());
        assert!(
            check_chunking(3_000_000, 1_000_000, 3).is_err(),
            "small files go whole"
        );
        assert!(check_chunking(50_000_123, 10_000_000, 5).is_ok());
        assert!(
            check_chunking(50_000_123, 10_000_000, 6).is_err(),
            "floor, not ceil"
        );
        assert!(check_chunking(95_000_000, 10_000_000, 9).is_ok());
        assert!(
            check_chunking(200_000_000, 200_000_000, 1).is_err(),
            "over 64 MB is chunked"
        );
        assert!(check_chunking(64_000_000, 64_000_000, 1).is_ok());
        assert!(
            check_chunking(300_000_000, 100_000_000, 3).is_err(),
            "chunks are at most 64 MB"
        );
        assert!(check_chunking(20_000_000, 10_000_000, 2).is_ok());
        assert!(check_chunking(20_000_000, 30_000_000, 1).is_err());
    }
}
