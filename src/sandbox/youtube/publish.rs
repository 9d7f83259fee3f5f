//! YouTube `videos.insert` as a resumable upload (PLATFORMS.md §7). `POST
//! /upload/youtube/v3/videos?uploadType=resumable&part=…` checks the token (an upload scope),
//! the day's `videos.insert` quota, the `X-Upload-Content-*` headers and the video resource's
//! metadata, and answers `200` with the session URI in `Location` (same path plus `upload_id`).
//! `PUT` on the session takes the bytes, whole or in `Content-Range` chunks that are multiples of
//! 256 KiB but for the last: `308` with `Range: bytes=0-N` until the file is complete, then `201`
//! with the video resource. `PUT` with `Content-Range: bytes */TOTAL` and no body asks the
//! session where it stands (`308` + `Range`, or `200` and the video once it exists), which is
//! how a client that lost the final answer learns the video was made. Sessions last a week.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::post;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{Map, Value, json};

use super::channel_id;
use crate::domain::Platform;
use crate::sandbox::dispatch::RouteCtx;
use crate::sandbox::errors::{google, google_error, json_response};
use crate::sandbox::media::Incoming;
use crate::sandbox::oauth::header as header_value;
use crate::sandbox::personas;
use crate::sandbox::published::{Accepted, PublishedMedia};
use crate::sandbox::state::{Shared, lock};

const PATH: &str = "/upload/youtube/v3/videos";
const SESSION_TTL_DAYS: i64 = 7;
/// Chunks are multiples of this, except the last.
const CHUNK_UNIT: u64 = 256 * 1024;
const MAX_TITLE: usize = 100;
const MAX_DESCRIPTION_BYTES: usize = 5000;
const MAX_TAGS: usize = 500;
/// Any of these lets a token call `videos.insert`.
const UPLOAD_SCOPES: &[&str] = &[
    "youtube.upload",
    "youtube",
    "youtube.force-ssl",
    "youtubepartner",
];
/// The parts of a video resource.
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
    Router::new().route(
        &format!("/www.googleapis.com{PATH}"),
        post(start).put(upload),
    )
}

#[derive(Default)]
pub(crate) struct YtState {
    sessions: HashMap<String, Session>,
    /// `videos.insert` calls per client id and Pacific day.
    inserts: HashMap<(String, NaiveDate), u32>,
    /// Units of the shared 10 000-a-day bucket used per client id and Pacific day.
    pub(super) units: HashMap<(String, NaiveDate), u32>,
}

struct Session {
    account: String,
    parts: Vec<String>,
    /// The checked metadata.
    meta: Meta,
    /// From `X-Upload-Content-Length`, or the first `Content-Range` that names a total.
    total: Option<u64>,
    incoming: Option<Incoming>,
    received: u64,
    expires_at: DateTime<Utc>,
    /// The video, once the upload is complete.
    video: Option<Value>,
}

struct Meta {
    title: String,
    description: String,
    tags: Vec<String>,
    category_id: String,
    default_language: Option<String>,
    privacy: String,
    publish_at: Option<String>,
    made_for_kids: Option<bool>,
    embeddable: bool,
    license: String,
    public_stats_viewable: bool,
    notify_subscribers: bool,
}

/// Google's quota day: it resets at midnight Pacific Time.
pub(super) fn quota_day(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&chrono_tz::America::Los_Angeles)
        .date_naive()
}

fn bad(message: &str, reason: &str) -> Response {
    google(StatusCode::BAD_REQUEST, message, reason)
}

/// `POST /upload/youtube/v3/videos?uploadType=resumable&part=…`: opens an upload session.
async fn start(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = shared.clock.now();
    let token = match super::authorized(&shared, &headers, UPLOAD_SCOPES) {
        Ok(t) => t,
        Err(refused) => return refused,
    };
    let query = ctx.params();
    match query.get("uploadType") {
        Some("resumable") => {}
        Some(other) => {
            return bad(
                &format!("The sandbox emulates only uploadType=resumable, not {other:?}."),
                "badRequest",
            );
        }
        None => {
            return bad(
                "Media uploads need uploadType (the sandbox emulates uploadType=resumable).",
                "badRequest",
            );
        }
    }
    let Some(part) = query.get("part").filter(|p| !p.trim().is_empty()) else {
        return bad("Required parameter: part", "required");
    };
    let parts: Vec<String> = part.split(',').map(|p| p.trim().to_owned()).collect();
    if let Some(unknown) = parts.iter().find(|p| !PARTS.contains(&p.as_str())) {
        return bad(&format!("'{unknown}'"), "unknownPart");
    }
    let notify_subscribers = match query.get("notifySubscribers") {
        None | Some("true") => true,
        Some("false") => false,
        Some(other) => {
            return bad(
                &format!("Invalid boolean value for notifySubscribers: {other:?}."),
                "invalidParameter",
            );
        }
    };
    if let Some(kind) = header_value(&headers, "x-upload-content-type") {
        let kind = kind.to_ascii_lowercase();
        if !(kind.starts_with("video/") || kind == "application/octet-stream") {
            return bad(
                &format!(
                    "Media type '{kind}' is not supported. Valid media types: [video/*, application/octet-stream]"
                ),
                "badContent",
            );
        }
    }
    let total = match header_value(&headers, "x-upload-content-length") {
        None => None,
        Some(raw) => match raw.parse::<u64>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                return bad(
                    &format!(
                        "X-Upload-Content-Length must be the file's size in bytes, not {raw:?}."
                    ),
                    "badRequest",
                );
            }
        },
    };
    let resource = if body.is_empty() {
        Map::new()
    } else {
        let json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
        if !json {
            return bad(
                "The video resource must be sent as application/json; charset=UTF-8.",
                "badRequest",
            );
        }
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(obj)) => obj,
            _ => return bad("Parse Error", "parseError"),
        }
    };
    let mut meta = match metadata(&resource, &parts, now) {
        Ok(m) => m,
        Err(res) => return res,
    };
    meta.notify_subscribers = notify_subscribers;

    let limit = shared.limits.youtube_uploads();
    let client_id = token.grant.client_id.clone();
    let upload_id = format!(
        "AUEd{}",
        shared.new_chars(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
            68
        )
    );
    {
        let mut state = lock(&shared.youtube);
        let used = state
            .inserts
            .entry((client_id, quota_day(now)))
            .or_insert(0);
        if *used >= limit {
            return google_error(
                StatusCode::FORBIDDEN,
                "The request cannot be completed because you have exceeded your <a href=\"/youtube/v3/getting-started#quota\">quota</a>.",
                "quotaExceeded",
                "youtube.quota",
            );
        }
        *used += 1;
        state.sessions.insert(
            upload_id.clone(),
            Session {
                account: token.grant.account.clone(),
                parts,
                meta,
                total,
                incoming: Some(Incoming::default()),
                received: 0,
                expires_at: now + Duration::days(SESSION_TTL_DAYS),
                video: None,
            },
        );
    }
    let part_query: String = url::form_urlencoded::byte_serialize(part.as_bytes()).collect();
    let location = format!(
        "https://www.googleapis.com{PATH}?uploadType=resumable&part={part_query}&upload_id={upload_id}"
    );
    let mut res = Response::builder()
        .status(StatusCode::OK)
        .header(header::LOCATION, location)
        .header("x-guploader-uploadid", &upload_id)
        .body(Body::empty())
        .unwrap_or_default();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn is_clean(text: &str) -> bool {
    !text.contains(['<', '>'])
}

/// The combined length YouTube counts for tags: commas between them, and quotes around a tag
/// with a space.
fn tags_length(tags: &[String]) -> usize {
    let chars: usize = tags
        .iter()
        .map(|t| t.chars().count() + if t.contains(' ') { 2 } else { 0 })
        .sum();
    chars + tags.len().saturating_sub(1)
}

/// The `snippet` and `status` of the video resource, for the parts the request names.
fn metadata(
    resource: &Map<String, Value>,
    parts: &[String],
    now: DateTime<Utc>,
) -> Result<Meta, Response> {
    let empty = Map::new();
    let section = |name: &str| -> Result<&Map<String, Value>, Response> {
        if !parts.iter().any(|p| p == name) {
            return Ok(&empty);
        }
        match resource.get(name) {
            None | Some(Value::Null) => Ok(&empty),
            Some(Value::Object(o)) => Ok(o),
            Some(_) => Err(bad(
                &format!("The {name} of the video resource must be an object."),
                "invalidVideoMetadata",
            )),
        }
    };
    let snippet = section("snippet")?;
    let status = section("status")?;
    let string =
        |obj: &Map<String, Value>, name: &str, reason: &str, message: &str| match obj.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(bad(message, reason)),
        };
    const BAD_TITLE: &str = "The request metadata specifies an invalid or empty video title.";
    let title = string(snippet, "title", "invalidTitle", BAD_TITLE)?.unwrap_or_default();
    if title.trim().is_empty() || title.chars().count() > MAX_TITLE || !is_clean(&title) {
        return Err(bad(BAD_TITLE, "invalidTitle"));
    }
    const BAD_DESCRIPTION: &str = "The request metadata specifies an invalid video description.";
    let description = string(
        snippet,
        "description",
        "invalidDescription",
        BAD_DESCRIPTION,
    )?
    .unwrap_or_default();
    if description.len() > MAX_DESCRIPTION_BYTES || !is_clean(&description) {
        return Err(bad(BAD_DESCRIPTION, "invalidDescription"));
    }
    const BAD_TAGS: &str = "The request metadata specifies invalid video keywords.";
    let tags: Vec<String> = match snippet.get("tags") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for item in items {
                match item.as_str() {
                    Some(t) if is_clean(t) => out.push(t.to_owned()),
                    _ => return Err(bad(BAD_TAGS, "invalidTags")),
                }
            }
            out
        }
        Some(_) => return Err(bad(BAD_TAGS, "invalidTags")),
    };
    if tags_length(&tags) > MAX_TAGS {
        return Err(bad(BAD_TAGS, "invalidTags"));
    }
    const BAD_CATEGORY: &str = "The request metadata specifies an invalid video category.";
    let category_id = match snippet.get("categoryId") {
        None | Some(Value::Null) => "22".to_owned(),
        Some(Value::String(c)) if !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()) => {
            c.clone()
        }
        Some(_) => return Err(bad(BAD_CATEGORY, "invalidCategoryId")),
    };
    let default_language = string(
        snippet,
        "defaultLanguage",
        "invalidDefaultLanguage",
        "The request metadata specifies an invalid default language.",
    )?;

    const BAD_STATUS: &str = "The request metadata specifies an invalid video status.";
    let privacy = string(status, "privacyStatus", "invalidVideoMetadata", BAD_STATUS)?
        .unwrap_or_else(|| "public".to_owned());
    if !["public", "private", "unlisted"].contains(&privacy.as_str()) {
        return Err(bad(
            &format!("privacyStatus must be public, private or unlisted, not {privacy:?}."),
            "invalidVideoMetadata",
        ));
    }
    const BAD_PUBLISH_AT: &str =
        "The request metadata specifies an invalid scheduled publishing time.";
    let publish_at = string(status, "publishAt", "invalidPublishAt", BAD_PUBLISH_AT)?;
    if let Some(at) = &publish_at {
        let future = DateTime::parse_from_rfc3339(at).is_ok_and(|t| t.with_timezone(&Utc) > now);
        // A scheduled video stays private until publishAt.
        if !future || privacy != "private" {
            return Err(bad(BAD_PUBLISH_AT, "invalidPublishAt"));
        }
    }
    let flag = |name: &str| match status.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(bad(
            &format!("status.{name} must be a boolean."),
            "invalidVideoMetadata",
        )),
    };
    let made_for_kids = flag("selfDeclaredMadeForKids")?;
    let embeddable = flag("embeddable")?.unwrap_or(true);
    let public_stats_viewable = flag("publicStatsViewable")?.unwrap_or(true);
    flag("containsSyntheticMedia")?;
    let license = string(status, "license", "invalidVideoMetadata", BAD_STATUS)?
        .unwrap_or_else(|| "youtube".to_owned());
    if !["youtube", "creativeCommon"].contains(&license.as_str()) {
        return Err(bad(
            "status.license must be youtube or creativeCommon.",
            "invalidVideoMetadata",
        ));
    }
    Ok(Meta {
        title,
        description,
        tags,
        category_id,
        default_language,
        privacy,
        publish_at,
        made_for_kids,
        embeddable,
        license,
        public_stats_viewable,
        notify_subscribers: true,
    })
}

/// What a `Content-Range` header asks.
enum Range {
    /// `bytes */TOTAL` (or `bytes */*`): where does the session stand?
    Probe(Option<u64>),
    /// `bytes FIRST-LAST/TOTAL` (TOTAL may be `*` until the last chunk).
    Chunk {
        first: u64,
        last: u64,
        total: Option<u64>,
    },
}

fn parse_range(raw: &str) -> Option<Range> {
    let rest = raw
        .trim()
        .strip_prefix("bytes")?
        .trim_start_matches([' ', '=']);
    let (range, total) = rest.split_once('/')?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse::<u64>().ok()?),
    };
    if range.trim() == "*" {
        return Some(Range::Probe(total));
    }
    let (first, last) = range.split_once('-')?;
    let (first, last): (u64, u64) = (first.trim().parse().ok()?, last.trim().parse().ok()?);
    if first > last || total.is_some_and(|t| last >= t) {
        return None;
    }
    Some(Range::Chunk { first, last, total })
}

/// `308 Resume Incomplete` with how much the session holds (no `Range` when nothing yet).
fn incomplete(received: u64) -> Response {
    let mut builder = Response::builder().status(StatusCode::PERMANENT_REDIRECT);
    if received > 0 {
        builder = builder.header(header::RANGE, format!("bytes=0-{}", received - 1));
    }
    builder
        .header(header::CONTENT_LENGTH, "0")
        .body(Body::empty())
        .unwrap_or_default()
}

fn session_gone() -> Response {
    google(
        StatusCode::NOT_FOUND,
        "The upload session was not found or has expired; start a new one.",
        "notFound",
    )
}

/// `PUT {session URI}`: bytes, or a status probe.
async fn upload(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query = ctx.params();
    let Some(upload_id) = query.get("upload_id") else {
        return bad(
            "PUT on the upload path needs the upload_id of a resumable session (from the Location header).",
            "badRequest",
        );
    };
    let range = match headers.get(header::CONTENT_RANGE) {
        None => None,
        Some(raw) => match raw.to_str().ok().and_then(parse_range) {
            Some(r) => Some(r),
            None => {
                return bad(
                    "Content-Range must be bytes FIRST-LAST/TOTAL, bytes FIRST-LAST/* or bytes */TOTAL.",
                    "badRequest",
                );
            }
        },
    };
    let now = shared.clock.now();
    let mut state = lock(&shared.youtube);
    let Some(session) = state
        .sessions
        .get_mut(upload_id)
        .filter(|s| now < s.expires_at)
    else {
        return session_gone();
    };
    if let Some(video) = &session.video {
        // Done: a probe (or a chunk sent again) gets the video.
        return json_response(StatusCode::OK, video.clone());
    }
    let (first, last, total) = match range {
        Some(Range::Probe(total)) => {
            if !body.is_empty() {
                return bad(
                    "A status request (Content-Range: bytes */TOTAL) has an empty body.",
                    "badRequest",
                );
            }
            if let (Some(t), Some(known)) = (total, session.total)
                && t != known
            {
                return bad(
                    &format!("The upload's total size is {known} bytes, not {t}."),
                    "badRequest",
                );
            }
            return incomplete(session.received);
        }
        Some(Range::Chunk { first, last, total }) => (first, last, total),
        None if body.is_empty() => {
            return bad(
                "Send the file's bytes, or ask the session where it stands with an empty body and Content-Range: bytes */TOTAL.",
                "badRequest",
            );
        }
        None => (0, body.len() as u64 - 1, Some(body.len() as u64)),
    };
    if body.len() as u64 != last - first + 1 {
        return bad(
            &format!(
                "The body is {} bytes but Content-Range covers {}.",
                body.len(),
                last - first + 1
            ),
            "badRequest",
        );
    }
    if let Some(t) = total {
        match session.total {
            Some(known) if known != t => {
                return bad(
                    &format!("The upload's total size is {known} bytes, not {t}."),
                    "badRequest",
                );
            }
            _ => session.total = Some(t),
        }
    }
    if first > session.received {
        return bad(
            &format!(
                "The chunk starts at byte {first}, but the session has {} bytes; ask it where to resume (Content-Range: bytes */TOTAL).",
                session.received
            ),
            "badRequest",
        );
    }
    if last < session.received {
        // Already here (a resent chunk).
        return incomplete(session.received);
    }
    let fresh = &body[usize::try_from(session.received - first).unwrap_or(0)..];
    let end = last + 1;
    let finishes = session.total == Some(end);
    if !finishes && (end - first) % CHUNK_UNIT != 0 {
        return bad(
            &format!(
                "Chunks must be multiples of 256 KiB (262144 bytes), except the last; this one is {} bytes.",
                end - first
            ),
            "badRequest",
        );
    }
    let Some(incoming) = session.incoming.as_mut() else {
        return session_gone();
    };
    incoming.push(fresh);
    session.received = end;
    if !finishes {
        return incomplete(session.received);
    }
    let facts = match session.incoming.take() {
        Some(i) => i.finish(),
        None => return session_gone(),
    };
    if !facts.format.is_video() {
        state.sessions.remove(upload_id);
        return bad(
            &format!(
                "Media type '{}' is not supported. Valid media types: [video/*, application/octet-stream]",
                facts.format.mime()
            ),
            "badContent",
        );
    }
    let id = personas::derived_chars(
        &["youtube", "video", &shared.new_chars("", 16)],
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
        11,
    );
    let channel = channel_id(&session.account);
    let video = resource(&id, &channel, session, now, &ctx);
    let m = &session.meta;
    let mut options = Map::new();
    options.insert("privacyStatus".into(), json!(m.privacy));
    options.insert("categoryId".into(), json!(m.category_id));
    if !m.tags.is_empty() {
        options.insert("tags".into(), json!(m.tags));
    }
    if let Some(at) = &m.publish_at {
        options.insert("publishAt".into(), json!(at));
    }
    if let Some(kids) = m.made_for_kids {
        options.insert("selfDeclaredMadeForKids".into(), json!(kids));
    }
    options.insert("notifySubscribers".into(), json!(m.notify_subscribers));
    options.insert("upload_id".into(), json!(upload_id));
    let text = if m.description.is_empty() {
        m.title.clone()
    } else {
        format!("{}\n\n{}", m.title, m.description)
    };
    shared.record_published(Accepted {
        request_seq: ctx.seq,
        at: now,
        platform: Platform::Youtube,
        account_id: channel,
        account: session.account.clone(),
        kind: "video",
        remote_id: id.clone(),
        url: Some(format!("https://www.youtube.com/watch?v={id}")),
        text,
        media: vec![PublishedMedia::new(&facts, None, Some(&id))],
        options,
    });
    session.video = Some(video.clone());
    drop(state);
    json_response(StatusCode::CREATED, video)
}

/// The video resource, with the parts the session asked for.
fn resource(id: &str, channel: &str, s: &Session, now: DateTime<Utc>, ctx: &RouteCtx) -> Value {
    let m = &s.meta;
    let mut video = json!({ "kind": "youtube#video", "etag": ctx.trace_id("", 27), "id": id });
    let has = |p: &str| s.parts.iter().any(|x| x == p);
    if has("snippet") {
        let thumb = |name: &str, w: u32, h: u32| json!({ "url": format!("https://i.ytimg.com/vi/{id}/{name}.jpg"), "width": w, "height": h });
        let mut snippet = json!({
            "publishedAt": now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "channelId": channel,
            "title": m.title,
            "description": m.description,
            "thumbnails": {
                "default": thumb("default", 120, 90),
                "medium": thumb("mqdefault", 320, 180),
                "high": thumb("hqdefault", 480, 360),
            },
            "channelTitle": personas::display_name(Platform::Youtube, &s.account),
            "categoryId": m.category_id,
            "liveBroadcastContent": "none",
            "localized": { "title": m.title, "description": m.description },
        });
        if !m.tags.is_empty() {
            snippet["tags"] = json!(m.tags);
        }
        if let Some(lang) = &m.default_language {
            snippet["defaultLanguage"] = json!(lang);
        }
        video["snippet"] = snippet;
    }
    if has("status") {
        let mut status = json!({
            "uploadStatus": "uploaded",
            "privacyStatus": m.privacy,
            "license": m.license,
            "embeddable": m.embeddable,
            "publicStatsViewable": m.public_stats_viewable,
            "madeForKids": m.made_for_kids.unwrap_or(false),
        });
        if let Some(kids) = m.made_for_kids {
            status["selfDeclaredMadeForKids"] = json!(kids);
        }
        if let Some(at) = &m.publish_at {
            status["publishAt"] = json!(at);
        }
        video["status"] = status;
    }
    if has("processingDetails") {
        video["processingDetails"] = json!({ "processingStatus": "processing" });
    }
    video
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges_are_read_in_every_documented_form() {
        assert!(matches!(
            parse_range("bytes */1000"),
            Some(Range::Probe(Some(1000)))
        ));
        assert!(matches!(parse_range("bytes */*"), Some(Range::Probe(None))));
        assert!(matches!(
            parse_range("bytes 0-262143/1000000"),
            Some(Range::Chunk {
                first: 0,
                last: 262_143,
                total: Some(1_000_000)
            })
        ));
        assert!(matches!(
            parse_range("bytes 0-9/*"),
            Some(Range::Chunk { total: None, .. })
        ));
        assert!(parse_range("bytes 10-5/100").is_none());
        assert!(parse_range("bytes 0-100/100").is_none());
        assert!(parse_range("items 0-1/2").is_none());
    }

    #[test]
    fn tags_count_commas_and_quotes() {
        let tags = vec!["a".to_owned(), "b c".to_owned()];
        assert_eq!(tags_length(&tags), 1 + 1 + 5);
    }
}
