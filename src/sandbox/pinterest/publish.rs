//! Pinterest publishing (PLATFORMS.md §5, `reference/pinterest-v5.openapi.json`): `POST /v5/pins`
//! with the `PinCreate` schema (the board must be one of the account's own boards) and every
//! `media_source` the spec documents but `pin_url` (a closed beta); images given by URL are pulled
//! for real before the pin is made. Videos are registered with `POST /v5/media`, sent as an S3
//! form upload (`upload_url` + `upload_parameters` + `file`) to the upload host the answer names,
//! which the sandbox serves too, and followed with `GET /v5/media/{id}`
//! (`registered` → `processing` → `succeeded` | `failed`) until they can become a pin.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};

use super::{authenticate, boards_of, error, user_id};
use crate::domain::Platform;
use crate::sandbox::dispatch::RouteCtx;
use crate::sandbox::errors::json_response;
use crate::sandbox::form::Form;
use crate::sandbox::media::{self, Facts, Format};
use crate::sandbox::oauth::BodyKind;
use crate::sandbox::published::{Accepted, PublishedMedia};
use crate::sandbox::state::{Shared, Token, lock};

/// Where `POST /v5/media` sends uploads (the spec's example host).
pub(crate) const UPLOAD_HOST: &str = "pinterest-media-upload.s3-accelerate.amazonaws.com";
const MAX_TITLE: usize = 100;
const MAX_DESCRIPTION: usize = 800;
const MAX_LINK: usize = 2048;
const MAX_ALT_TEXT: usize = 500;
/// The openapi's `PinCreate` security: all four scopes.
const PIN_SCOPES: &[&str] = &["boards:read", "boards:write", "pins:read", "pins:write"];

pub(in crate::sandbox) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api.pinterest.com/v5/pins", post(create_pin))
        .route("/api.pinterest.com/v5/media", post(register_media))
        .route("/api.pinterest.com/v5/media/{id}", get(media_status))
        .route(&format!("/{UPLOAD_HOST}/"), post(upload))
}

/// Registered video uploads, by media id.
#[derive(Default)]
pub(crate) struct PinState {
    media: HashMap<String, VideoUpload>,
}

struct VideoUpload {
    /// The Pinterest user id that registered it.
    owner: String,
    /// The S3 form fields the upload must carry, as handed out.
    parameters: Vec<(String, String)>,
    /// From the registration's `processing_secs` fault.
    processing_secs: u64,
    uploaded: Option<Uploaded>,
}

struct Uploaded {
    facts: Facts,
    ready_at: DateTime<Utc>,
}

impl VideoUpload {
    fn key(&self) -> &str {
        self.parameters
            .iter()
            .find(|(k, _)| k == "key")
            .map_or("", |(_, v)| v.as_str())
    }

    fn status(&self, now: DateTime<Utc>) -> &'static str {
        match &self.uploaded {
            None => "registered",
            Some(u) if now < u.ready_at => "processing",
            Some(u) if is_video(u.facts.format) => "succeeded",
            Some(_) => "failed",
        }
    }
}

/// Pinterest takes MP4 and MOV (and M4V, which is MP4).
fn is_video(format: Format) -> bool {
    matches!(format, Format::Mp4 | Format::Mov)
}

fn invalid(message: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        1,
        &format!("Invalid request: {message}"),
    )
}

/// The token, with every scope in `scopes`.
pub(super) fn authorize(
    shared: &Shared,
    headers: &HeaderMap,
    scopes: &[&str],
) -> Result<Token, Response> {
    let token = authenticate(shared, headers)?;
    let missing: Vec<&str> = scopes
        .iter()
        .copied()
        .filter(|s| !token.grant.has_scope(s))
        .collect();
    if missing.is_empty() {
        Ok(token)
    } else {
        Err(error(
            StatusCode::FORBIDDEN,
            403,
            &format!(
                "Not authorized: this request needs the {} scope{}.",
                missing.join(", "),
                if missing.len() > 1 { "s" } else { "" }
            ),
        ))
    }
}

fn json_object(headers: &HeaderMap, body: &[u8]) -> Result<Map<String, Value>, Response> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
    if !json {
        return Err(invalid("the body must be application/json."));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(obj)) => Ok(obj),
        Ok(_) => Err(invalid("the body must be a JSON object.")),
        Err(e) => Err(invalid(&format!("the body is not valid JSON ({e})."))),
    }
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// An optional (nullable) string field of at most `max` characters.
fn text(
    obj: &Map<String, Value>,
    path: &str,
    name: &str,
    max: Option<usize>,
) -> Result<Option<String>, Response> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            if let Some(max) = max
                && s.chars().count() > max
            {
                return Err(invalid(&format!(
                    "{path}{name} is {} characters long; at most {max} are allowed.",
                    s.chars().count()
                )));
            }
            Ok(Some(s.clone()))
        }
        Some(other) => Err(invalid(&format!(
            "{path}{name} must be a string, not {other}."
        ))),
    }
}

/// An optional string field matching `^\d+$`.
fn digits(obj: &Map<String, Value>, name: &str) -> Result<Option<String>, Response> {
    match text(obj, "", name, None)? {
        Some(s) if !is_digits(&s) => Err(invalid(&format!("{name} must match ^\\d+$, not {s:?}."))),
        other => Ok(other),
    }
}

// ---------------------------------------------------------------------------------------------
// Pins

/// What the media source turned out to be.
struct Source {
    creative_type: &'static str,
    media: Vec<PublishedMedia>,
    /// The Pin's `media` object.
    view: Value,
    options: Map<String, Value>,
}

/// `POST /v5/pins`.
async fn create_pin(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = match authorize(&shared, &headers, PIN_SCOPES) {
        Ok(t) => t,
        Err(res) => return res,
    };
    let obj = match json_object(&headers, &body) {
        Ok(o) => o,
        Err(res) => return res,
    };
    let fields = (|| {
        Ok::<_, Response>((
            text(&obj, "", "title", Some(MAX_TITLE))?,
            text(&obj, "", "description", Some(MAX_DESCRIPTION))?,
            text(&obj, "", "link", Some(MAX_LINK))?,
            text(&obj, "", "alt_text", Some(MAX_ALT_TEXT))?,
            text(&obj, "", "dominant_color", None)?,
            digits(&obj, "board_section_id")?,
            digits(&obj, "parent_pin_id")?,
        ))
    })();
    let (title, description, link, alt_text, dominant_color, section, parent) = match fields {
        Ok(f) => f,
        Err(res) => return res,
    };
    let board_id = match obj.get("board_id") {
        None | Some(Value::Null) => return invalid("'board_id' is a required property."),
        Some(Value::String(s)) if is_digits(s) => s.clone(),
        Some(other) => return invalid(&format!("board_id must match ^\\d+$, not {other}.")),
    };
    let account = token.grant.account.clone();
    let Some(board) = boards_of(&account).into_iter().find(|b| b.id == board_id) else {
        return error(StatusCode::NOT_FOUND, 404, "Board not found.");
    };
    if section.is_some() {
        // The sandbox's boards have no sections.
        return error(StatusCode::NOT_FOUND, 404, "Board section not found.");
    }
    let user = user_id(&account);
    let now = shared.clock.now();
    let source = match obj.get("media_source") {
        None | Some(Value::Null) => return invalid("'media_source' is a required property."),
        Some(Value::Object(ms)) => match media_source(&shared, &user, ms, now).await {
            Ok(s) => s,
            Err(res) => return res,
        },
        Some(other) => return invalid(&format!("media_source must be an object, not {other}.")),
    };

    let id = shared.new_digits(18);
    let url = format!("https://www.pinterest.com/pin/{id}/");
    let mut options = source.options;
    options.insert("board_id".into(), json!(board_id));
    options.insert("board_name".into(), json!(board.name));
    for (name, value) in [
        ("title", &title),
        ("description", &description),
        ("link", &link),
        ("alt_text", &alt_text),
        ("dominant_color", &dominant_color),
        ("parent_pin_id", &parent),
    ] {
        if let Some(v) = value {
            options.insert(name.into(), json!(v));
        }
    }
    let shown: Vec<&str> = [title.as_deref(), description.as_deref()]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect();
    shared.record_published(Accepted {
        request_seq: ctx.seq,
        at: now,
        platform: Platform::Pinterest,
        account_id: user,
        account: account.clone(),
        kind: "pin",
        remote_id: id.clone(),
        url: Some(url),
        text: shown.join("\n\n"),
        media: source.media,
        options,
    });
    json_response(
        StatusCode::CREATED,
        json!({
            "id": id,
            "created_at": now.format("%Y-%m-%dT%H:%M:%S").to_string(),
            "link": link,
            "title": title,
            "description": description,
            "dominant_color": dominant_color.unwrap_or_else(|| "#8c6e5a".into()),
            "alt_text": alt_text,
            "creative_type": source.creative_type,
            "board_id": board_id,
            "board_section_id": null,
            "board_owner": { "username": account },
            "is_owner": true,
            "media": source.view,
            "parent_pin_id": parent,
            "is_standard": true,
            "has_been_promoted": false,
            "pin_metrics": null,
            "note": "",
        }),
    )
}

/// Checks `media_source` and gets its media (pulling URLs, decoding base64, finding videos).
async fn media_source(
    shared: &Shared,
    user: &str,
    ms: &Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<Source, Response> {
    let source_type = match ms.get("source_type") {
        Some(Value::String(s)) => s.as_str(),
        None | Some(Value::Null) => {
            return Err(invalid(
                "'source_type' is a required property of media_source.",
            ));
        }
        Some(other) => {
            return Err(invalid(&format!(
                "media_source.source_type must be a string, not {other}."
            )));
        }
    };
    if let Some(v) = ms.get("is_standard")
        && !v.is_boolean()
    {
        return Err(invalid("media_source.is_standard must be a boolean."));
    }
    let mut options = Map::new();
    options.insert("source_type".into(), json!(source_type));
    match source_type {
        "image_url" => {
            let url = required_text(ms, "media_source.", "url")?;
            let facts = pull_image(shared, &url).await?;
            Ok(Source {
                creative_type: "REGULAR",
                view: image_view(&facts),
                media: vec![PublishedMedia::new(&facts, Some(&url), None)],
                options,
            })
        }
        "image_base64" => {
            let facts = base64_image(ms, "media_source.")?;
            Ok(Source {
                creative_type: "REGULAR",
                view: image_view(&facts),
                media: vec![PublishedMedia::new(&facts, None, None)],
                options,
            })
        }
        "multiple_image_urls" | "multiple_image_base64" => {
            let items = images_items(ms)?;
            let mut media = Vec::new();
            let mut views = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let path = format!("media_source.items[{i}].");
                let Some(item) = item.as_object() else {
                    return Err(invalid(&format!("{path} must be an object.")));
                };
                for name in ["title", "description", "link"] {
                    text(item, &path, name, None)?;
                }
                let (facts, url) = if source_type == "multiple_image_urls" {
                    let url = required_text(item, &path, "url")?;
                    (pull_image(shared, &url).await?, Some(url))
                } else {
                    (base64_image(item, &path)?, None)
                };
                views.push(image_view(&facts));
                media.push(PublishedMedia::new(&facts, url.as_deref(), None));
            }
            options.insert("items".into(), json!(items.len()));
            Ok(Source {
                creative_type: "CAROUSEL",
                view: json!({ "media_type": "multiple_images", "items": views }),
                media,
                options,
            })
        }
        "video_id" => video_source(shared, user, ms, now, options),
        "pin_url" => Err(invalid(
            "pin_url media sources are only available to a list of beta users.",
        )),
        other => Err(invalid(&format!(
            "media_source.source_type {other:?} is not one of image_base64, image_url, video_id, multiple_image_base64, multiple_image_urls, pin_url."
        ))),
    }
}

fn required_text(obj: &Map<String, Value>, path: &str, name: &str) -> Result<String, Response> {
    text(obj, path, name, None)?
        .ok_or_else(|| invalid(&format!("'{name}' is a required property of {path}")))
}

/// `items` of the multiple-image sources: 2 to 5 images, and an optional `index`.
fn images_items(ms: &Map<String, Value>) -> Result<&Vec<Value>, Response> {
    if let Some(index) = ms.get("index")
        && index.as_u64().is_none()
    {
        return Err(invalid(
            "media_source.index must be a whole number of at least 0.",
        ));
    }
    match ms.get("items") {
        Some(Value::Array(items)) if (2..=5).contains(&items.len()) => Ok(items),
        Some(Value::Array(items)) => Err(invalid(&format!(
            "media_source.items must have 2 to 5 images, not {}.",
            items.len()
        ))),
        None | Some(Value::Null) => Err(invalid("'items' is a required property of media_source.")),
        Some(other) => Err(invalid(&format!(
            "media_source.items must be an array, not {other}."
        ))),
    }
}

/// Pulls an image the way Pinterest does when a pin is made from `image_url`.
async fn pull_image(shared: &Shared, url: &str) -> Result<Facts, Response> {
    if !media::is_http_url(url) {
        return Err(invalid(&format!("{url:?} is not an absolute http(s) URL.")));
    }
    match media::fetch(&shared.http, url, media::IMAGE_FETCH_CAP).await {
        Ok(facts) if facts.format.is_image() => Ok(facts),
        Ok(facts) => Err(invalid(&format!(
            "Sorry we could not fetch the image: {url} is {}, not an image.",
            facts.format.mime()
        ))),
        Err(e) => Err(invalid(&format!(
            "Sorry we could not fetch the image: {}.",
            e.describe(url)
        ))),
    }
}

/// `content_type` + `data` (plain base64, no `data:` prefix).
fn base64_image(obj: &Map<String, Value>, path: &str) -> Result<Facts, Response> {
    let content_type = required_text(obj, path, "content_type")?;
    if !["image/jpeg", "image/png"].contains(&content_type.as_str()) {
        return Err(invalid(&format!(
            "{path}content_type must be image/jpeg or image/png, not {content_type:?}."
        )));
    }
    let data = required_text(obj, path, "data")?;
    let pattern_ok = !data.is_empty()
        && data
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
    if !pattern_ok {
        return Err(invalid(&format!(
            "{path}data must match ^[a-zA-Z0-9+/=]+$ (plain base64, without a data: prefix)."
        )));
    }
    let Ok(bytes) = STANDARD.decode(&data) else {
        return Err(invalid(&format!("{path}data is not valid base64.")));
    };
    let facts = Facts::of(&bytes);
    if !facts.format.is_image() {
        return Err(invalid(&format!(
            "{path}data is {}, not an image.",
            facts.format.mime()
        )));
    }
    Ok(facts)
}

fn video_source(
    shared: &Shared,
    user: &str,
    ms: &Map<String, Value>,
    now: DateTime<Utc>,
    mut options: Map<String, Value>,
) -> Result<Source, Response> {
    let media_id = required_text(ms, "media_source.", "media_id")?;
    if !is_digits(&media_id) {
        return Err(invalid("media_source.media_id must match ^\\d+$."));
    }
    let cover_url = text(ms, "media_source.", "cover_image_url", None)?;
    let cover_data = text(ms, "media_source.", "cover_image_data", None)?;
    let cover_type = text(ms, "media_source.", "cover_image_content_type", None)?;
    let key_frame = match ms.get("cover_image_key_frame_time") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) => Some(n),
            None => {
                return Err(invalid(
                    "media_source.cover_image_key_frame_time must be a whole number of seconds, at least 0.",
                ));
            }
        },
    };
    if let Some(url) = &cover_url
        && !media::is_http_url(url)
    {
        return Err(invalid(
            "media_source.cover_image_url is not an absolute http(s) URL.",
        ));
    }
    if cover_data.is_some() || cover_type.is_some() {
        let mut cover = Map::new();
        cover.insert("content_type".into(), json!(cover_type));
        cover.insert("data".into(), json!(cover_data));
        base64_image(&cover, "media_source.cover_image_")?;
    }
    if cover_url.is_none() && cover_data.is_none() && key_frame.is_none() {
        return Err(invalid(
            "a video Pin needs a cover: send cover_image_url or cover_image_content_type with cover_image_data, or cover_image_key_frame_time.",
        ));
    }
    let state = lock(&shared.pinterest);
    let Some(upload) = state.media.get(&media_id).filter(|u| u.owner == user) else {
        return Err(invalid(&format!(
            "media_source.media_id {media_id} is not a media upload of this user."
        )));
    };
    let status = upload.status(now);
    let Some(uploaded) = upload.uploaded.as_ref().filter(|_| status == "succeeded") else {
        return Err(invalid(&format!(
            "the video {media_id} cannot be used yet: its status is {status} (wait for succeeded)."
        )));
    };
    let facts = uploaded.facts.clone();
    drop(state);
    options.insert("media_id".into(), json!(media_id));
    if let Some(url) = &cover_url {
        options.insert("cover_image_url".into(), json!(url));
    }
    if let Some(t) = key_frame {
        options.insert("cover_image_key_frame_time".into(), json!(t));
    }
    Ok(Source {
        creative_type: "VIDEO",
        view: json!({
            "media_type": "video",
            "cover_image_url": cover_url.unwrap_or_else(|| pinimg(&facts.sha256, "originals")),
            "duration": null,
            "height": null,
            "width": null,
            "video_url": null,
        }),
        media: vec![PublishedMedia::new(&facts, None, Some(&media_id))],
        options,
    })
}

fn pinimg(sha256: &str, size: &str) -> String {
    let h = &sha256[..32.min(sha256.len())];
    let part = |r: std::ops::Range<usize>| h.get(r).unwrap_or("00");
    format!(
        "https://i.pinimg.com/{size}/{}/{}/{}/{h}.jpg",
        part(0..2),
        part(2..4),
        part(4..6)
    )
}

fn image_view(facts: &Facts) -> Value {
    let (w, h) = (facts.width.unwrap_or(600), facts.height.unwrap_or(600));
    let scaled = |target: u32| {
        let height = (u64::from(h) * u64::from(target) / u64::from(w.max(1))).max(1);
        json!({ "width": target, "height": height, "url": pinimg(&facts.sha256, &format!("{target}x")) })
    };
    json!({
        "media_type": "image",
        "images": {
            "150x150": { "width": 150, "height": 150, "url": pinimg(&facts.sha256, "150x150") },
            "400x300": { "width": 400, "height": 300, "url": pinimg(&facts.sha256, "400x300") },
            "600x": scaled(600),
            "1200x": scaled(1200),
        },
    })
}

// ---------------------------------------------------------------------------------------------
// Video uploads

/// `POST /v5/media` `{"media_type":"video"}`.
async fn register_media(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = match authorize(&shared, &headers, &["pins:read", "pins:write"]) {
        Ok(t) => t,
        Err(res) => return res,
    };
    let obj = match json_object(&headers, &body) {
        Ok(o) => o,
        Err(res) => return res,
    };
    match obj.get("media_type") {
        Some(Value::String(t)) if t == "video" => {}
        None | Some(Value::Null) => return invalid("'media_type' is a required property."),
        Some(other) => {
            return invalid(&format!("media_type must be one of [video], not {other}."));
        }
    }
    let user = user_id(&token.grant.account);
    let now = shared.clock.now();
    let media_id = shared.new_digits(19);
    let prefix = shared.new_chars("0123456789abcdef", 6);
    let key = format!(
        "uploads/{}/{}/{}/{user}:video:{user}:{media_id}",
        &prefix[0..2],
        &prefix[2..4],
        &prefix[4..6]
    );
    let expiration = (now + Duration::hours(1)).format("%Y-%m-%dT%H:%M:%S.000Z");
    let policy = STANDARD.encode(
        json!({
            "expiration": expiration.to_string(),
            "conditions": [
                { "bucket": "pinterest-media-upload" },
                { "key": key },
                ["content-length-range", 0, 2_147_483_648u64],
            ],
        })
        .to_string(),
    );
    let date = now.format("%Y%m%d").to_string();
    let parameters: Vec<(String, String)> = vec![
        (
            "x-amz-date".into(),
            now.format("%Y%m%dT%H%M%SZ").to_string(),
        ),
        (
            "x-amz-signature".into(),
            shared.new_chars("0123456789abcdef", 64),
        ),
        (
            "x-amz-security-token".into(),
            format!("IQoJb3JpZ2luX2Vj{}==", shared.new_chars("", 120)),
        ),
        ("x-amz-algorithm".into(), "AWS4-HMAC-SHA256".into()),
        ("key".into(), key),
        ("policy".into(), policy),
        (
            "x-amz-credential".into(),
            format!(
                "ASIA{}/{date}/us-east-1/s3/aws4_request",
                shared.new_chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
            ),
        ),
        ("Content-Type".into(), "multipart/form-data".into()),
    ];
    let view: Map<String, Value> = parameters
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    lock(&shared.pinterest).media.insert(
        media_id.clone(),
        VideoUpload {
            owner: user,
            parameters,
            processing_secs: ctx.processing_secs,
            uploaded: None,
        },
    );
    json_response(
        StatusCode::CREATED,
        json!({
            "media_id": media_id,
            "media_type": "video",
            "upload_url": format!("https://{UPLOAD_HOST}/"),
            "upload_parameters": view,
        }),
    )
}

/// `GET /v5/media/{media_id}`.
async fn media_status(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let token = match authorize(&shared, &headers, &["pins:read"]) {
        Ok(t) => t,
        Err(res) => return res,
    };
    if !is_digits(&id) {
        return invalid("media_id must match ^\\d+$.");
    }
    let user = user_id(&token.grant.account);
    let now = shared.clock.now();
    let state = lock(&shared.pinterest);
    match state.media.get(&id).filter(|u| u.owner == user) {
        Some(upload) => json_response(
            StatusCode::OK,
            json!({ "media_id": id, "media_type": "video", "status": upload.status(now) }),
        ),
        None => error(StatusCode::NOT_FOUND, 404, "Media not found."),
    }
}

/// An S3 error document.
fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{}</Message><RequestId>SANDBOX</RequestId></Error>",
        message
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    );
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/xml")
        .body(Body::from(body))
        .unwrap_or_default()
}

/// `POST https://pinterest-media-upload.s3-accelerate.amazonaws.com/`: an S3 browser-form upload.
/// Every `upload_parameters` field must be sent unchanged, before the `file` (S3 ignores fields
/// after the file).
async fn upload(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    form: Form,
) -> Response {
    if form.kind != BodyKind::Multipart {
        return s3_error(
            StatusCode::PRECONDITION_FAILED,
            "PreconditionFailed",
            "Bucket POST must be of the enclosure-type multipart/form-data",
        );
    }
    if let Some(why) = &form.error {
        return s3_error(StatusCode::BAD_REQUEST, "MalformedPOSTRequest", why);
    }
    let Some(file_at) = form
        .parts
        .iter()
        .position(|p| p.name.eq_ignore_ascii_case("file"))
    else {
        return s3_error(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "POST requires exactly one file upload per request.",
        );
    };
    let fields: Vec<(&str, String)> = form.parts[..file_at]
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                String::from_utf8_lossy(&p.bytes).into_owned(),
            )
        })
        .collect();
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let now = shared.clock.now();
    let mut state = lock(&shared.pinterest);
    let Some(upload) = field("key").and_then(|key| {
        state
            .media
            .values_mut()
            .find(|u| u.key() == key && u.uploaded.is_none())
    }) else {
        return s3_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Invalid according to Policy: Policy Condition failed: [\"eq\", \"$key\", …] (no upload is waiting for this key)",
        );
    };
    for (name, expected) in &upload.parameters {
        match field(name) {
            Some(v) if v == expected => {}
            Some(_) => {
                return s3_error(
                    StatusCode::FORBIDDEN,
                    "AccessDenied",
                    &format!(
                        "Invalid according to Policy: the field {name} differs from the one issued."
                    ),
                );
            }
            None => {
                return s3_error(
                    StatusCode::FORBIDDEN,
                    "AccessDenied",
                    &format!(
                        "Invalid according to Policy: the form is missing the field {name} (every upload_parameters field must come before the file)."
                    ),
                );
            }
        }
    }
    let facts = Facts::of(&form.parts[file_at].bytes);
    if facts.size == 0 {
        return s3_error(
            StatusCode::BAD_REQUEST,
            "EntityTooSmall",
            "Your proposed upload is smaller than the minimum allowed size",
        );
    }
    let secs = upload.processing_secs.max(ctx.processing_secs);
    let etag = format!("\"{}\"", &facts.sha256[..32]);
    upload.uploaded = Some(Uploaded {
        facts,
        ready_at: now + Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX / 4)),
    });
    drop(state);
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .header(header::ETAG, etag)
        .body(Body::empty())
        .unwrap_or_default()
}
