//! X publishing (PLATFORMS.md §1): media upload v2 (one-shot `POST /2/media/upload`, the chunked
//! `initialize` / `{id}/append` / `{id}/finalize` endpoints with `GET ?command=STATUS`, and the
//! legacy `command=INIT|APPEND|FINALIZE` form of the one-shot endpoint), `POST /2/tweets` with
//! X's strict body schema and its 24-hour duplicate-content rule, and the lookups a client uses
//! to find out whether a post it lost track of exists: `GET /2/tweets?ids=`, `GET /2/tweets/{id}`
//! and `GET /2/users/{id}/tweets`. Their metrics and the lookup's rate limit are in
//! [`super::metrics`].

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};

use super::metrics::{self, Windows};
use super::{unauthorized, user_id};
use crate::domain::Platform;
use crate::sandbox::dispatch::RouteCtx;
use crate::sandbox::errors::{json_response, x_problem};
use crate::sandbox::form::Form;
use crate::sandbox::media::{Facts, Format, Incoming};
use crate::sandbox::oauth::{BodyKind, bearer};
use crate::sandbox::published::{Accepted, PublishedMedia, PublishedRecord};
use crate::sandbox::state::{Shared, Token, TokenKind, lock};

/// Uploaded media can be attached for a day.
const MEDIA_TTL_SECS: i64 = 86_400;
/// The same text from the same account is refused for this long.
const DUPLICATE_WINDOW_SECS: i64 = 86_400;
/// X weighs text (URLs count 23, CJK 2); the sandbox counts code points, which is exact for
/// plain Latin text (see docs/SANDBOX.md).
const MAX_TEXT: usize = 280;
const DUPLICATE: &str = "You are not allowed to create a Tweet with duplicate content.";
const TOO_LONG: &str = "Your Tweet text is too long. For more information on how Twitter determines text length see https://github.com/twitter/twitter-text.";
const INVALID_MEDIA: &str = "Your media IDs are invalid.";

pub(in crate::sandbox) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api.x.com/2/tweets", post(create).get(lookup))
        .route("/api.x.com/2/tweets/{id}", get(lookup_one))
        .route("/api.x.com/2/users/{id}/tweets", get(timeline))
        .route("/api.x.com/2/media/upload", post(upload).get(status))
        .route("/api.x.com/2/media/upload/initialize", post(initialize))
        .route("/api.x.com/2/media/upload/{id}/append", post(append))
        .route("/api.x.com/2/media/upload/{id}/finalize", post(finalize))
}

/// Uploads in progress or ready, and recent texts for the duplicate rule.
pub(crate) struct XState {
    media: HashMap<String, Upload>,
    /// `(user id, text)` → when it was last posted.
    recent_texts: HashMap<(String, String), DateTime<Utc>>,
    /// Sweep `recent_texts` for expired entries once it reaches this size.
    sweep_at: usize,
    /// `GET /2/tweets?ids=` requests per token in the current window.
    lookups: Windows,
}

const SWEEP_MIN: usize = 4096;

impl Default for XState {
    fn default() -> Self {
        Self {
            media: HashMap::new(),
            recent_texts: HashMap::new(),
            sweep_at: SWEEP_MIN,
            lookups: Windows::default(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Category {
    TweetImage,
    TweetGif,
    TweetVideo,
    AmplifyVideo,
    DmImage,
    DmGif,
    DmVideo,
    Subtitles,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    Image,
    Gif,
    Video,
    Subtitles,
}

impl Category {
    fn parse(raw: &str) -> Option<Self> {
        Some(match raw.to_ascii_lowercase().as_str() {
            "tweet_image" => Category::TweetImage,
            "tweet_gif" => Category::TweetGif,
            "tweet_video" => Category::TweetVideo,
            "amplify_video" => Category::AmplifyVideo,
            "dm_image" => Category::DmImage,
            "dm_gif" => Category::DmGif,
            "dm_video" => Category::DmVideo,
            "subtitles" => Category::Subtitles,
            _ => return None,
        })
    }

    fn family(self) -> Family {
        match self {
            Category::TweetImage | Category::DmImage => Family::Image,
            Category::TweetGif | Category::DmGif => Family::Gif,
            Category::TweetVideo | Category::AmplifyVideo | Category::DmVideo => Family::Video,
            Category::Subtitles => Family::Subtitles,
        }
    }

    fn for_posts(self) -> bool {
        matches!(
            self,
            Category::TweetImage
                | Category::TweetGif
                | Category::TweetVideo
                | Category::AmplifyVideo
        )
    }

    fn max_bytes(self) -> u64 {
        match self.family() {
            Family::Image => 5 * 1024 * 1024,
            Family::Gif => 15 * 1024 * 1024,
            Family::Video => 512 * 1024 * 1024,
            Family::Subtitles => 1024 * 1024,
        }
    }

    fn key_prefix(self) -> &'static str {
        match self {
            Category::AmplifyVideo => "13_",
            _ => match self.family() {
                Family::Image | Family::Subtitles => "3_",
                Family::Gif => "16_",
                Family::Video => "7_",
            },
        }
    }

    /// The category X assumes from the declared media type.
    fn from_media_type(media_type: &str) -> Self {
        if media_type == "image/gif" {
            Category::TweetGif
        } else if media_type.starts_with("video/") {
            Category::TweetVideo
        } else if media_type.starts_with("text/") {
            Category::Subtitles
        } else {
            Category::TweetImage
        }
    }

    fn accepts(self, format: Format) -> bool {
        match self.family() {
            Family::Image => format.is_image(),
            Family::Gif => format == Format::Gif,
            Family::Video => matches!(format, Format::Mp4 | Format::Mov),
            Family::Subtitles => format == Format::Unknown,
        }
    }
}

/// `media_type` values of `initialize`.
const MEDIA_TYPES: &[&str] = &[
    "video/mp4",
    "video/webm",
    "video/mp2t",
    "video/quicktime",
    "text/srt",
    "text/vtt",
    "image/jpeg",
    "image/gif",
    "image/bmp",
    "image/png",
    "image/webp",
    "image/pjpeg",
    "image/tiff",
    "model/gltf-binary",
    "model/vnd.usdz+zip",
];

struct Upload {
    owner: String,
    additional_owners: Vec<String>,
    category: Category,
    total_bytes: u64,
    /// The bytes so far, while segments are being appended.
    incoming: Option<Incoming>,
    next_segment: u32,
    last_segment_len: usize,
    /// Set once the upload is finalized.
    facts: Option<Facts>,
    expires_at: DateTime<Utc>,
    /// Videos and GIFs are processed after FINALIZE; images are ready at once.
    processed_at: Option<DateTime<Utc>>,
}

impl Upload {
    fn usable_by(&self, user: &str) -> bool {
        self.owner == user || self.additional_owners.iter().any(|o| o == user)
    }

    fn media_key(&self, id: &str) -> String {
        format!("{}{id}", self.category.key_prefix())
    }
}

fn invalid(parameter: Option<(&str, Value)>, message: &str) -> Response {
    let mut error = json!({ "message": message });
    if let Some((name, value)) = parameter {
        error["parameters"] = json!({ name: [value] });
    }
    json_response(
        StatusCode::BAD_REQUEST,
        json!({
            "errors": [error],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.x.com/2/problems/invalid-request",
        }),
    )
}

fn forbidden(detail: &str) -> Response {
    x_problem(StatusCode::FORBIDDEN, "Forbidden", detail)
}

fn authenticate(shared: &Shared, headers: &HeaderMap, scopes: &[&str]) -> Result<Token, Response> {
    let token = shared
        .store()
        .check(
            Platform::X,
            TokenKind::Access,
            bearer(headers).as_deref(),
            shared.clock.now(),
        )
        .map_err(|_| unauthorized())?;
    let missing: Vec<&str> = scopes
        .iter()
        .copied()
        .filter(|s| !token.grant.has_scope(s))
        .collect();
    if missing.is_empty() {
        Ok(token)
    } else {
        Err(forbidden(&format!(
            "This request needs the {} scope{}.",
            missing.join(", "),
            if missing.len() > 1 { "s" } else { "" }
        )))
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"))
}

fn is_id(raw: &str) -> bool {
    (1..=19).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_digit())
}

// ---------------------------------------------------------------------------------------------
// Media upload

/// `POST /2/media/upload`: the whole file at once (multipart `media`, or base64 `media` in
/// JSON), or the legacy `command=INIT|APPEND|FINALIZE` steps.
async fn upload(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    headers: HeaderMap,
    form: Form,
) -> Response {
    let token = match authenticate(&shared, &headers, &["media.write"]) {
        Ok(t) => t,
        Err(res) => return res,
    };
    if let Some(error) = &form.error {
        return invalid(None, error);
    }
    let user = user_id(&token.grant.account);
    if let Some(command) = form.params.get("command") {
        let media_id = form.params.get("media_id").unwrap_or("");
        return match command.to_ascii_uppercase().as_str() {
            "INIT" => {
                let total = match form.params.get("total_bytes").map(str::parse::<u64>) {
                    Some(Ok(n)) => Some(n),
                    Some(Err(_)) => {
                        return invalid(
                            Some(("total_bytes", json!(form.params.get("total_bytes")))),
                            "total_bytes must be a whole number.",
                        );
                    }
                    None => None,
                };
                init_upload(
                    &shared,
                    &user,
                    InitArgs {
                        media_type: form.params.get("media_type"),
                        total_bytes: total,
                        category: form.params.get("media_category"),
                        additional_owners: owners_list(form.params.get("additional_owners")),
                    },
                )
            }
            "APPEND" => {
                let chunk = match media_bytes(&form, "media")
                    .or_else(|| media_bytes(&form, "media_data"))
                {
                    Some(Ok(b)) => b,
                    Some(Err(res)) => return res,
                    None => {
                        return invalid(
                            Some(("media", json!(null))),
                            "The media field is required.",
                        );
                    }
                };
                append_segment(
                    &shared,
                    &user,
                    media_id,
                    form.params.get("segment_index"),
                    chunk,
                )
            }
            "FINALIZE" => finalize_upload(&shared, &ctx, &user, media_id),
            other => invalid(
                Some(("command", json!(other))),
                "command must be INIT, APPEND or FINALIZE (or STATUS with GET).",
            ),
        };
    }
    let Some(raw_category) = form.params.get("media_category") else {
        return invalid(
            Some(("media_category", json!(null))),
            "The media_category field is required.",
        );
    };
    let Some(category) = Category::parse(raw_category) else {
        return invalid(
            Some(("media_category", json!(raw_category))),
            "media_category must be one of tweet_image, tweet_video, tweet_gif, dm_image, dm_video, dm_gif, subtitles.",
        );
    };
    let bytes = match media_bytes(&form, "media") {
        Some(Ok(b)) => b,
        Some(Err(res)) => return res,
        None => {
            return invalid(
                Some(("media", json!(null))),
                "The media field is required (a file in multipart/form-data, or base64 in JSON).",
            );
        }
    };
    let facts = Facts::of(&bytes);
    if let Err(res) = check_media(category, &facts) {
        return res;
    }
    let now = shared.clock.now();
    let id = shared.new_digits(19);
    let upload = Upload {
        owner: user,
        additional_owners: owners_list(form.params.get("additional_owners")),
        category,
        total_bytes: facts.size,
        incoming: None,
        next_segment: 0,
        last_segment_len: 0,
        processed_at: processing(category, &ctx, now),
        facts: Some(facts),
        expires_at: now + Duration::seconds(MEDIA_TTL_SECS),
    };
    let data = media_data(&id, &upload, now, false);
    lock(&shared.x).media.insert(id, upload);
    json_response(StatusCode::OK, json!({ "data": data }))
}

/// The media bytes: a multipart part is raw bytes, a JSON (or form) value is base64. The legacy
/// `media_data` field is base64 wherever it is.
fn media_bytes(form: &Form, name: &str) -> Option<Result<Bytes, Response>> {
    let base64 = |text: &str| {
        STANDARD.decode(text.trim()).map(Bytes::from).map_err(|_| {
            invalid(
                Some((name, json!("…"))),
                &format!("The {name} field must be base64."),
            )
        })
    };
    if form.kind == BodyKind::Multipart {
        let part = form.part(name)?;
        if name == "media_data" {
            return Some(base64(&String::from_utf8_lossy(&part.bytes)));
        }
        return Some(Ok(part.bytes.clone()));
    }
    form.params.get(name).map(base64)
}

fn owners_list(raw: Option<&str>) -> Vec<String> {
    raw.map(|r| {
        r.split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

fn check_media(category: Category, facts: &Facts) -> Result<(), Response> {
    if facts.size == 0 {
        return Err(invalid(Some(("media", json!(null))), "The media is empty."));
    }
    if !category.accepts(facts.format) {
        return Err(invalid(
            Some((
                "media_category",
                json!(format!("{category:?}").to_ascii_lowercase()),
            )),
            &format!(
                "Media type unrecognized: {} is not accepted for this media_category.",
                facts.format.mime()
            ),
        ));
    }
    if facts.size > category.max_bytes() {
        return Err(invalid(
            Some(("media", json!(facts.size))),
            &format!("File size exceeds {} bytes.", category.max_bytes()),
        ));
    }
    Ok(())
}

/// When a video or GIF finishes processing: a second of sandbox time, or what a
/// `processing_secs` fault says.
fn processing(category: Category, ctx: &RouteCtx, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    matches!(category.family(), Family::Video | Family::Gif).then(|| {
        let secs = i64::try_from(ctx.processing_secs.max(1)).unwrap_or(i64::MAX / 4);
        now + Duration::seconds(secs)
    })
}

/// The `data` of an upload answer; `polled` is a STATUS request (processing is then
/// `in_progress` rather than just `pending`).
fn media_data(id: &str, u: &Upload, now: DateTime<Utc>, polled: bool) -> Value {
    let mut data = json!({
        "id": id,
        "media_key": u.media_key(id),
        "expires_after_secs": (u.expires_at - now).num_seconds().max(0),
    });
    if let Some(f) = &u.facts {
        data["size"] = json!(f.size);
        if f.format.is_image() {
            let mut image = json!({ "image_type": f.format.mime() });
            if let (Some(w), Some(h)) = (f.width, f.height) {
                image["w"] = json!(w);
                image["h"] = json!(h);
            }
            data["image"] = image;
        } else if f.format.is_video() {
            data["video"] = json!({ "video_type": f.format.mime() });
        }
    }
    if let Some(done) = u.processed_at {
        data["processing_info"] = processing_info(done, now, polled);
    }
    data
}

fn processing_info(done: DateTime<Utc>, now: DateTime<Utc>, polled: bool) -> Value {
    if now >= done {
        return json!({ "state": "succeeded", "progress_percent": 100 });
    }
    let left = (done - now).num_milliseconds();
    json!({
        "state": if polled { "in_progress" } else { "pending" },
        "check_after_secs": (left + 999) / 1000,
        "progress_percent": 0,
    })
}

struct InitArgs<'a> {
    media_type: Option<&'a str>,
    total_bytes: Option<u64>,
    category: Option<&'a str>,
    additional_owners: Vec<String>,
}

/// `POST /2/media/upload/initialize`, a JSON body.
async fn initialize(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = match authenticate(&shared, &headers, &["media.write"]) {
        Ok(t) => t,
        Err(res) => return res,
    };
    if !is_json(&headers) {
        return invalid(None, "The body must be application/json.");
    }
    let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(&body) else {
        return invalid(None, "The body is not a JSON object.");
    };
    const KNOWN: &[&str] = &[
        "additional_owners",
        "media_category",
        "media_type",
        "shared",
        "total_bytes",
    ];
    if let Some(extra) = obj.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return invalid(
            Some((extra, obj[extra].clone())),
            &format!(
                "$.{extra}: is not defined in the schema and the schema does not allow additional properties"
            ),
        );
    }
    let total = match obj.get("total_bytes") {
        None => None,
        Some(v) => match v.as_u64() {
            Some(n) => Some(n),
            None => {
                return invalid(
                    Some(("total_bytes", v.clone())),
                    "total_bytes must be a whole number from 0 to 17179869184.",
                );
            }
        },
    };
    let owners = match obj.get("additional_owners") {
        None => Vec::new(),
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for item in items {
                match item.as_str().filter(|s| is_id(s)) {
                    Some(s) => out.push(s.to_owned()),
                    None => {
                        return invalid(
                            Some(("additional_owners", item.clone())),
                            "additional_owners must be user ids.",
                        );
                    }
                }
            }
            out
        }
        Some(other) => {
            return invalid(
                Some(("additional_owners", other.clone())),
                "additional_owners must be an array of user ids.",
            );
        }
    };
    init_upload(
        &shared,
        &user_id(&token.grant.account),
        InitArgs {
            media_type: obj.get("media_type").and_then(Value::as_str),
            total_bytes: total,
            category: obj.get("media_category").and_then(Value::as_str),
            additional_owners: owners,
        },
    )
}

fn init_upload(shared: &Shared, user: &str, args: InitArgs<'_>) -> Response {
    let Some(media_type) = args.media_type else {
        return invalid(
            Some(("media_type", json!(null))),
            "The media_type field is required.",
        );
    };
    if !MEDIA_TYPES.contains(&media_type) {
        return invalid(
            Some(("media_type", json!(media_type))),
            &format!("media_type must be one of [{}]", MEDIA_TYPES.join(", ")),
        );
    }
    let Some(total) = args.total_bytes else {
        return invalid(
            Some(("total_bytes", json!(null))),
            "The total_bytes field is required.",
        );
    };
    let category = match args.category {
        None => Category::from_media_type(media_type),
        Some(raw) => match Category::parse(raw) {
            Some(c) => c,
            None => {
                return invalid(
                    Some(("media_category", json!(raw))),
                    "media_category must be one of amplify_video, tweet_gif, tweet_image, tweet_video, dm_gif, dm_image, dm_video, subtitles.",
                );
            }
        },
    };
    let family_matches = match category.family() {
        Family::Image => media_type.starts_with("image/"),
        Family::Gif => media_type == "image/gif",
        Family::Video => media_type.starts_with("video/"),
        Family::Subtitles => media_type.starts_with("text/"),
    };
    if !family_matches {
        return invalid(
            Some(("media_category", json!(args.category))),
            &format!("media_type {media_type} does not belong in this media_category."),
        );
    }
    if total == 0 || total > category.max_bytes() {
        return invalid(
            Some(("total_bytes", json!(total))),
            &format!(
                "total_bytes must be between 1 and {} for this media_category.",
                category.max_bytes()
            ),
        );
    }
    let now = shared.clock.now();
    let id = shared.new_digits(19);
    let upload = Upload {
        owner: user.to_owned(),
        additional_owners: args.additional_owners,
        category,
        total_bytes: total,
        incoming: Some(Incoming::default()),
        next_segment: 0,
        last_segment_len: 0,
        facts: None,
        expires_at: now + Duration::seconds(MEDIA_TTL_SECS),
        processed_at: None,
    };
    let data = json!({
        "id": id,
        "media_key": upload.media_key(&id),
        "expires_after_secs": MEDIA_TTL_SECS,
    });
    lock(&shared.x).media.insert(id, upload);
    json_response(StatusCode::OK, json!({ "data": data }))
}

/// `POST /2/media/upload/{id}/append`: multipart `media` + `segment_index`, or JSON with base64.
async fn append(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    form: Form,
) -> Response {
    let token = match authenticate(&shared, &headers, &["media.write"]) {
        Ok(t) => t,
        Err(res) => return res,
    };
    if let Some(error) = &form.error {
        return invalid(None, error);
    }
    let chunk = match media_bytes(&form, "media") {
        Some(Ok(b)) => b,
        Some(Err(res)) => return res,
        None => return invalid(Some(("media", json!(null))), "The media field is required."),
    };
    append_segment(
        &shared,
        &user_id(&token.grant.account),
        &id,
        form.params.get("segment_index"),
        chunk,
    )
}

fn media_not_found(id: &str) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        json!({
            "errors": [{
                "resource_id": id,
                "resource_type": "media",
                "parameter": "id",
                "title": "Not Found Error",
                "detail": format!("Could not find media with id: [{id}]."),
                "type": "https://api.x.com/2/problems/resource-not-found",
            }],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.x.com/2/problems/invalid-request",
        }),
    )
}

fn append_segment(
    shared: &Shared,
    user: &str,
    id: &str,
    segment: Option<&str>,
    chunk: Bytes,
) -> Response {
    let Some(index) = segment
        .and_then(|s| s.parse::<u32>().ok())
        .filter(|i| *i <= 999)
    else {
        return invalid(
            Some(("segment_index", json!(segment))),
            "segment_index must be a whole number from 0 to 999.",
        );
    };
    let now = shared.clock.now();
    let mut state = lock(&shared.x);
    let Some(upload) = state
        .media
        .get_mut(id)
        .filter(|u| u.owner == user && now < u.expires_at)
    else {
        return media_not_found(id);
    };
    let Some(incoming) = upload.incoming.as_mut() else {
        return invalid(Some(("id", json!(id))), "This upload is already finalized.");
    };
    // A resent segment (the client did not see the first answer) is accepted and ignored.
    let resent = upload.next_segment > 0
        && index == upload.next_segment - 1
        && chunk.len() == upload.last_segment_len;
    if !resent {
        if index != upload.next_segment {
            return invalid(
                Some(("segment_index", json!(index))),
                &format!(
                    "Segments must be appended in order: expected segment_index {}.",
                    upload.next_segment
                ),
            );
        }
        if incoming.received + chunk.len() as u64 > upload.total_bytes {
            return invalid(
                Some(("media", json!(chunk.len()))),
                "The segments add up to more than total_bytes.",
            );
        }
        incoming.push(&chunk);
        upload.next_segment += 1;
        upload.last_segment_len = chunk.len();
    }
    let expires_at = upload.expires_at.timestamp();
    drop(state);
    json_response(
        StatusCode::OK,
        json!({ "data": { "expires_at": expires_at } }),
    )
}

/// `POST /2/media/upload/{id}/finalize`.
async fn finalize(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let token = match authenticate(&shared, &headers, &["media.write"]) {
        Ok(t) => t,
        Err(res) => return res,
    };
    finalize_upload(&shared, &ctx, &user_id(&token.grant.account), &id)
}

fn finalize_upload(shared: &Shared, ctx: &RouteCtx, user: &str, id: &str) -> Response {
    let now = shared.clock.now();
    let mut state = lock(&shared.x);
    let Some(upload) = state
        .media
        .get_mut(id)
        .filter(|u| u.owner == user && now < u.expires_at)
    else {
        return media_not_found(id);
    };
    if let Some(incoming) = upload.incoming.take() {
        if incoming.received != upload.total_bytes {
            let received = incoming.received;
            upload.incoming = Some(incoming);
            return invalid(
                Some(("total_bytes", json!(upload.total_bytes))),
                &format!(
                    "Segments do not add up to provided total file size: received {received} of {} bytes.",
                    upload.total_bytes
                ),
            );
        }
        let facts = incoming.finish();
        if let Err(res) = check_media(upload.category, &facts) {
            // The bytes are spent; the client must start a new upload.
            state.media.remove(id);
            return res;
        }
        upload.processed_at = processing(upload.category, ctx, now);
        upload.facts = Some(facts);
    }
    // Finalizing twice answers the same again.
    json_response(
        StatusCode::OK,
        json!({ "data": media_data(id, upload, now, false) }),
    )
}

/// `GET /2/media/upload?command=STATUS&media_id=…`.
async fn status(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    headers: HeaderMap,
) -> Response {
    let token = match authenticate(&shared, &headers, &["media.write"]) {
        Ok(t) => t,
        Err(res) => return res,
    };
    let params = ctx.params();
    if let Some(command) = params.get("command")
        && !command.eq_ignore_ascii_case("STATUS")
    {
        return invalid(Some(("command", json!(command))), "command must be STATUS.");
    }
    let Some(id) = params.get("media_id").filter(|m| is_id(m)) else {
        return invalid(
            Some(("media_id", json!(params.get("media_id")))),
            "media_id is required and must match ^[0-9]{1,19}$.",
        );
    };
    let user = user_id(&token.grant.account);
    let now = shared.clock.now();
    let state = lock(&shared.x);
    match state
        .media
        .get(id)
        .filter(|u| u.usable_by(&user) && now < u.expires_at)
    {
        Some(upload) if upload.facts.is_some() => {
            let mut data = media_data(id, upload, now, true);
            if upload.processed_at.is_none() {
                data["processing_info"] = json!({ "state": "succeeded", "progress_percent": 100 });
            }
            json_response(StatusCode::OK, json!({ "data": data }))
        }
        Some(_) => invalid(
            Some(("media_id", json!(id))),
            "The upload has not been finalized.",
        ),
        None => media_not_found(id),
    }
}

// ---------------------------------------------------------------------------------------------
// Posts

const POST_FIELDS: &[&str] = &[
    "card_uri",
    "community_id",
    "direct_message_deep_link",
    "edit_options",
    "for_super_followers_only",
    "geo",
    "made_with_ai",
    "media",
    "nullcast",
    "paid_partnership",
    "poll",
    "quote_tweet_id",
    "reply",
    "reply_settings",
    "share_with_followers",
    "text",
];

/// `POST /2/tweets`.
async fn create(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = match authenticate(
        &shared,
        &headers,
        &["tweet.read", "tweet.write", "users.read"],
    ) {
        Ok(t) => t,
        Err(res) => return res,
    };
    if !is_json(&headers) {
        return invalid(None, "The body must be application/json.");
    }
    let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(&body) else {
        return invalid(None, "The body is not a JSON object.");
    };
    if let Some(extra) = obj.keys().find(|k| !POST_FIELDS.contains(&k.as_str())) {
        return invalid(
            Some((extra, obj[extra].clone())),
            &format!(
                "$.{extra}: is not defined in the schema and the schema does not allow additional properties"
            ),
        );
    }
    let text = match obj.get("text") {
        None => "",
        Some(Value::String(s)) => s.as_str(),
        Some(other) => return invalid(Some(("text", other.clone())), "$.text: must be a string"),
    };
    let media_ids = match parse_media(&obj) {
        Ok(ids) => ids,
        Err(res) => return res,
    };
    if let Err(res) = check_shape(&obj, !media_ids.is_empty()) {
        return res;
    }
    if text.trim().is_empty() && media_ids.is_empty() {
        return invalid(
            Some(("text", json!(text))),
            "Either text or media.media_ids must be provided.",
        );
    }
    // X weighs text as twitter-text does: every link counts as 23, wide characters as 2.
    if crate::domain::caption::x_weighted_length(text) > MAX_TEXT {
        return forbidden(TOO_LONG);
    }

    let login = token.grant.account.clone();
    let user = user_id(&login);
    let now = shared.clock.now();
    let mut media = Vec::new();
    let mut media_keys = Vec::new();
    {
        let mut state = lock(&shared.x);
        let mut families = Vec::new();
        for id in &media_ids {
            let ready = state.media.get(id).filter(|u| {
                u.usable_by(&user)
                    && now < u.expires_at
                    && u.category.for_posts()
                    && u.facts.is_some()
                    && u.processed_at.is_none_or(|done| now >= done)
            });
            let Some(upload) = ready else {
                return invalid(Some(("media.media_ids", json!(id))), INVALID_MEDIA);
            };
            families.push(upload.category.family());
            media_keys.push(upload.media_key(id));
            if let Some(facts) = &upload.facts {
                media.push(PublishedMedia::new(facts, None, Some(id)));
            }
        }
        let animated = families
            .iter()
            .filter(|f| matches!(f, Family::Video | Family::Gif))
            .count();
        if animated > 0 && families.len() > 1 {
            return invalid(
                Some(("media.media_ids", json!(media_ids))),
                "A post may have up to 4 photos, or 1 GIF, or 1 video.",
            );
        }
        if !text.is_empty() {
            let key = (user.clone(), text.to_owned());
            if state
                .recent_texts
                .get(&key)
                .is_some_and(|at| now - *at < Duration::seconds(DUPLICATE_WINDOW_SECS))
            {
                return forbidden(DUPLICATE);
            }
            // Forget texts older than the window now and then, not on every post: the next
            // sweep waits until the map has doubled.
            if state.recent_texts.len() >= state.sweep_at {
                state
                    .recent_texts
                    .retain(|_, at| now - *at < Duration::seconds(DUPLICATE_WINDOW_SECS));
                state.sweep_at = (state.recent_texts.len() * 2).max(SWEEP_MIN);
            }
            state.recent_texts.insert(key, now);
        }
    }

    let id = shared.new_digits(19);
    let mut options = Map::new();
    if !media_ids.is_empty() {
        options.insert("media_ids".into(), json!(media_ids));
        options.insert("media_keys".into(), json!(media_keys));
    }
    for key in [
        "reply",
        "quote_tweet_id",
        "poll",
        "reply_settings",
        "geo",
        "made_with_ai",
        "paid_partnership",
    ] {
        if let Some(v) = obj.get(key) {
            options.insert(key.into(), v.clone());
        }
    }
    shared.record_published(Accepted {
        request_seq: ctx.seq,
        at: now,
        platform: Platform::X,
        account_id: user,
        account: login.clone(),
        kind: "tweet",
        remote_id: id.clone(),
        url: Some(format!("https://x.com/{login}/status/{id}")),
        text: text.to_owned(),
        media,
        options,
    });
    json_response(
        StatusCode::CREATED,
        json!({ "data": { "id": id, "text": text, "edit_history_tweet_ids": [id] } }),
    )
}

fn parse_media(obj: &Map<String, Value>) -> Result<Vec<String>, Response> {
    let Some(media) = obj.get("media") else {
        return Ok(Vec::new());
    };
    let Some(media) = media.as_object() else {
        return Err(invalid(
            Some(("media", media.clone())),
            "$.media: must be an object",
        ));
    };
    if let Some(extra) = media
        .keys()
        .find(|k| !["media_ids", "tagged_user_ids"].contains(&k.as_str()))
    {
        return Err(invalid(
            Some((extra, media[extra].clone())),
            &format!(
                "$.media.{extra}: is not defined in the schema and the schema does not allow additional properties"
            ),
        ));
    }
    let Some(ids) = media.get("media_ids").and_then(Value::as_array) else {
        return Err(invalid(
            Some(("media.media_ids", json!(null))),
            "$.media.media_ids: is missing but it is required",
        ));
    };
    if ids.is_empty() || ids.len() > 4 {
        return Err(invalid(
            Some(("media.media_ids", json!(ids))),
            "$.media.media_ids: there must be between 1 and 4 items (a maximum of 4 items).",
        ));
    }
    let mut out = Vec::new();
    for v in ids {
        match v.as_str().filter(|s| is_id(s)) {
            Some(s) => out.push(s.to_owned()),
            None => {
                return Err(invalid(
                    Some(("media.media_ids", v.clone())),
                    "$.media.media_ids: each item must be a string matching ^[0-9]{1,19}$",
                ));
            }
        }
    }
    if let Some(tagged) = media.get("tagged_user_ids")
        && tagged.as_array().is_none_or(|t| t.len() > 10)
    {
        return Err(invalid(
            Some(("media.tagged_user_ids", tagged.clone())),
            "$.media.tagged_user_ids: must be an array of at most 10 user ids",
        ));
    }
    Ok(out)
}

/// The rest of the body's schema: mutually exclusive fields, polls, replies.
fn check_shape(obj: &Map<String, Value>, has_media: bool) -> Result<(), Response> {
    if has_media
        && let Some(other) = ["quote_tweet_id", "poll", "card_uri"]
            .into_iter()
            .find(|k| obj.contains_key(*k))
    {
        return Err(invalid(
            Some(("media", json!(other))),
            &format!("media is mutually exclusive with {other}."),
        ));
    }
    if let Some(q) = obj.get("quote_tweet_id")
        && q.as_str().is_none_or(|s| !is_id(s))
    {
        return Err(invalid(
            Some(("quote_tweet_id", q.clone())),
            "$.quote_tweet_id: must match ^[0-9]{1,19}$",
        ));
    }
    if let Some(reply) = obj.get("reply") {
        let ok = reply
            .get("in_reply_to_tweet_id")
            .and_then(Value::as_str)
            .is_some_and(is_id);
        if !ok {
            return Err(invalid(
                Some(("reply.in_reply_to_tweet_id", reply.clone())),
                "$.reply.in_reply_to_tweet_id: is required and must match ^[0-9]{1,19}$",
            ));
        }
    }
    if let Some(poll) = obj.get("poll") {
        let options_ok = poll
            .get("options")
            .and_then(Value::as_array)
            .is_some_and(|o| {
                (2..=4).contains(&o.len())
                    && o.iter().all(|x| {
                        x.as_str()
                            .is_some_and(|s| (1..=25).contains(&s.chars().count()))
                    })
            });
        let duration_ok = poll
            .get("duration_minutes")
            .and_then(Value::as_u64)
            .is_some_and(|d| (5..=10_080).contains(&d));
        if !(options_ok && duration_ok) {
            return Err(invalid(
                Some(("poll", poll.clone())),
                "$.poll: options must be 2 to 4 strings of 1 to 25 characters and duration_minutes from 5 to 10080.",
            ));
        }
    }
    if let Some(settings) = obj.get("reply_settings")
        && !settings.as_str().is_some_and(|s| {
            ["following", "mentionedUsers", "subscribers", "verified"].contains(&s)
        })
    {
        return Err(invalid(
            Some(("reply_settings", settings.clone())),
            "$.reply_settings: must be one of [following, mentionedUsers, subscribers, verified]",
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Lookups

/// Fields a client may ask for with `tweet.fields` (or the newer `post.fields`).
const TWEET_FIELDS: &[&str] = &[
    "article",
    "attachments",
    "author_id",
    "card_uri",
    "community_id",
    "context_annotations",
    "conversation_id",
    "created_at",
    "display_text_range",
    "edit_controls",
    "edit_history_tweet_ids",
    "edit_history_post_ids",
    "entities",
    "geo",
    "id",
    "in_reply_to_user_id",
    "lang",
    "media_metadata",
    "non_public_metrics",
    "note_tweet",
    "note_post",
    "organic_metrics",
    "paid_partnership",
    "possibly_sensitive",
    "promoted_metrics",
    "public_metrics",
    "referenced_tweets",
    "referenced_posts",
    "reply_settings",
    "scopes",
    "source",
    "text",
    "withheld",
];

struct Fields {
    names: Vec<String>,
    /// Asked for as `post.fields`: answer in the newer vocabulary.
    post_style: bool,
}

fn requested_fields(ctx: &RouteCtx) -> Result<Fields, Response> {
    let params = ctx.params();
    let (raw, name, post_style) = match (params.get("tweet.fields"), params.get("post.fields")) {
        (Some(t), _) => (t, "tweet.fields", false),
        (None, Some(p)) => (p, "post.fields", true),
        (None, None) => {
            return Ok(Fields {
                names: Vec::new(),
                post_style: false,
            });
        }
    };
    let names: Vec<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect();
    let unknown: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|f| !TWEET_FIELDS.contains(f))
        .collect();
    if !unknown.is_empty() {
        return Err(invalid(
            Some((name, json!(unknown.join(",")))),
            &format!(
                "The `{name}` query parameter value [{}] is not one of [{}]",
                unknown.join(","),
                TWEET_FIELDS.join(",")
            ),
        ));
    }
    Ok(Fields { names, post_style })
}

fn tweet_json(r: &PublishedRecord, fields: &Fields, now: DateTime<Utc>) -> Value {
    let mut t = json!({ "id": r.remote_id, "text": r.text });
    let history = if fields.post_style {
        "edit_history_post_ids"
    } else {
        "edit_history_tweet_ids"
    };
    t[history] = json!([r.remote_id]);
    for f in &fields.names {
        match f.as_str() {
            "created_at" => {
                t["created_at"] = json!(r.at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
            }
            "author_id" => t["author_id"] = json!(r.account_id),
            "attachments" => {
                if let Some(keys) = r.options.get("media_keys") {
                    t["attachments"] = json!({ "media_keys": keys });
                }
            }
            "public_metrics" => {
                t["public_metrics"] = metrics::public_metrics(r, now, fields.post_style)
            }
            "reply_settings" => {
                t["reply_settings"] = r
                    .options
                    .get("reply_settings")
                    .cloned()
                    .unwrap_or(json!("everyone"));
            }
            "lang" => t["lang"] = json!("en"),
            "possibly_sensitive" => t["possibly_sensitive"] = json!(false),
            "conversation_id" => t["conversation_id"] = json!(r.remote_id),
            _ => {}
        }
    }
    t
}

fn not_found_error(id: &str) -> Value {
    json!({
        "value": id,
        "detail": format!("Could not find tweet with id: [{id}]."),
        "title": "Not Found Error",
        "resource_type": "tweet",
        "parameter": "ids",
        "resource_id": id,
        "type": "https://api.x.com/2/problems/resource-not-found",
    })
}

/// `GET /2/tweets?ids=…`: up to 100 ids; the ones that do not exist come back in `errors`.
/// Counted against the token's 15-minute window; every answer after authentication carries the
/// `x-rate-limit-*` headers.
async fn lookup(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    headers: HeaderMap,
) -> Response {
    let token = match authenticate(&shared, &headers, &["tweet.read", "users.read"]) {
        Ok(t) => t,
        Err(res) => return res,
    };
    let now = shared.clock.now();
    let window = lock(&shared.x)
        .lookups
        .count(&token.value, shared.limits.x_post_lookups(), now);
    if window.exceeded {
        return window.refusal();
    }
    window.headers(lookup_answer(&shared, &ctx, &token, now))
}

fn lookup_answer(shared: &Shared, ctx: &RouteCtx, token: &Token, now: DateTime<Utc>) -> Response {
    let fields = match requested_fields(ctx) {
        Ok(f) => f,
        Err(res) => return res,
    };
    let params = ctx.params();
    let ids: Vec<&str> = params
        .get("ids")
        .map(|raw| {
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if ids.is_empty() || ids.len() > 100 || !ids.iter().all(|i| is_id(i)) {
        return invalid(
            Some(("ids", json!(params.get("ids")))),
            "ids must be 1 to 100 comma-separated ids matching ^[0-9]{1,19}$.",
        );
    }
    let private = fields.names.iter().any(|f| f == "non_public_metrics");
    let me = user_id(&token.grant.account);
    let log = shared.published();
    let mut data = Vec::new();
    let mut errors = Vec::new();
    for id in ids {
        match log.find(Platform::X, id) {
            Some(r) => {
                let mut t = tweet_json(r, &fields, now);
                if private {
                    match metrics::non_public_metrics(r, now, &me) {
                        Ok(m) => t["non_public_metrics"] = m,
                        Err(e) => errors.push(e),
                    }
                }
                data.push(t);
            }
            None => errors.push(not_found_error(id)),
        }
    }
    drop(log);
    let mut body = Map::new();
    if !data.is_empty() {
        body.insert("data".into(), json!(data));
    }
    if !errors.is_empty() {
        body.insert("errors".into(), json!(errors));
    }
    json_response(StatusCode::OK, Value::Object(body))
}

/// `GET /2/tweets/{id}`.
async fn lookup_one(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(res) = authenticate(&shared, &headers, &["tweet.read", "users.read"]) {
        return res;
    }
    let fields = match requested_fields(&ctx) {
        Ok(f) => f,
        Err(res) => return res,
    };
    if !is_id(&id) {
        return invalid(Some(("id", json!(id))), "id must match ^[0-9]{1,19}$.");
    }
    let now = shared.clock.now();
    let found = shared
        .published()
        .find(Platform::X, &id)
        .map(|r| tweet_json(r, &fields, now));
    match found {
        Some(t) => json_response(StatusCode::OK, json!({ "data": t })),
        None => json_response(StatusCode::OK, json!({ "errors": [not_found_error(&id)] })),
    }
}

/// `GET /2/users/{id}/tweets`: the account's posts, newest first.
async fn timeline(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(res) = authenticate(&shared, &headers, &["tweet.read", "users.read"]) {
        return res;
    }
    let fields = match requested_fields(&ctx) {
        Ok(f) => f,
        Err(res) => return res,
    };
    if !is_id(&id) {
        return invalid(Some(("id", json!(id))), "id must match ^[0-9]{1,19}$.");
    }
    let params = ctx.params();
    let max = match params.get("max_results").map(str::parse::<usize>) {
        None => 10,
        Some(Ok(n)) if (5..=100).contains(&n) => n,
        Some(_) => {
            return invalid(
                Some(("max_results", json!(params.get("max_results")))),
                "The `max_results` query parameter value is not between 5 and 100",
            );
        }
    };
    let time = |name: &str| -> Result<Option<DateTime<Utc>>, Response> {
        match params.get(name) {
            None => Ok(None),
            Some(raw) => DateTime::parse_from_rfc3339(raw)
                .map(|t| Some(t.with_timezone(&Utc)))
                .map_err(|_| {
                    invalid(
                        Some((name, json!(raw))),
                        &format!("{name} must be an RFC 3339 date-time."),
                    )
                }),
        }
    };
    let (start, end) = match (time("start_time"), time("end_time")) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(res), _) | (_, Err(res)) => return res,
    };
    for name in ["since_id", "until_id"] {
        if let Some(raw) = params.get(name)
            && !is_id(raw)
        {
            return invalid(
                Some((name, json!(raw))),
                &format!("{name} must match ^[0-9]{{1,19}}$."),
            );
        }
    }
    let offset = match params.get("pagination_token") {
        None => 0,
        Some(raw) => match read_page_token(&id, raw) {
            Some(o) => o,
            None => {
                return invalid(
                    Some(("pagination_token", json!(raw))),
                    "The pagination_token is invalid.",
                );
            }
        },
    };
    let since_id = params.get("since_id");
    let mut until_seen = params.get("until_id").is_none();
    let exclude_replies = params
        .get("exclude")
        .is_some_and(|e| e.split(',').any(|x| x.trim() == "replies"));
    let now = shared.clock.now();
    let log = shared.published();
    let mut matching = Vec::new();
    for r in log.recent(Platform::X, &id) {
        if since_id == Some(r.remote_id.as_str()) {
            break;
        }
        if !until_seen {
            until_seen = params.get("until_id") == Some(r.remote_id.as_str());
            continue;
        }
        if start.is_some_and(|s| r.at < s) || end.is_some_and(|e| r.at > e) {
            continue;
        }
        if exclude_replies && r.options.get("reply").is_some() {
            continue;
        }
        matching.push(r);
        // One more than the page shows whether there is a next page.
        if matching.len() > offset + max {
            break;
        }
    }
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(max)
        .map(|r| tweet_json(r, &fields, now))
        .collect();
    let more = matching.len() > offset + max;
    drop(log);
    let mut meta = json!({ "result_count": page.len() });
    if let (Some(first), Some(last)) = (page.first(), page.last()) {
        meta["newest_id"] = first["id"].clone();
        meta["oldest_id"] = last["id"].clone();
    }
    if more {
        meta["next_token"] = json!(page_token(&id, offset + max));
    }
    let mut body = json!({ "meta": meta });
    if !page.is_empty() {
        body["data"] = json!(page);
    }
    json_response(StatusCode::OK, body)
}

fn page_token(user: &str, offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{user}:{offset}"))
}

fn read_page_token(user: &str, raw: &str) -> Option<usize> {
    let decoded = String::from_utf8(URL_SAFE_NO_PAD.decode(raw).ok()?).ok()?;
    let (owner, offset) = decoded.split_once(':')?;
    (owner == user).then(|| offset.parse().ok()).flatten()
}
