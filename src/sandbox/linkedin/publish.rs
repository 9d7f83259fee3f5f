//! LinkedIn publishing (PLATFORMS.md §4): the versioned REST API under `api.linkedin.com/rest`.
//! Every `/rest` call needs `LinkedIn-Version: YYYYMM` (missing → 400 `VERSION_MISSING`; a
//! month that is not among the last twelve, or not a month at all → 426 `NONEXISTENT_VERSION`),
//! `X-Restli-Protocol-Version: 2.0.0` and a Bearer token with `w_member_social` (to act as the
//! member) or `w_organization_social` (to act as an organization the member administers).
//!
//! - `POST /rest/posts`: the Posts API body, checked field by field (author = the token's
//!   member or one of their organizations, commentary in "little text" with its reserved characters escaped, visibility,
//!   distribution, lifecycleState, content.media / multiImage / article). Answers 201 with an
//!   empty body and the post's URN in `x-restli-id`. `GET /rest/posts/{urn}` reads it back.
//! - `POST /rest/images?action=initializeUpload` → an upload URL on `www.linkedin.com` (served
//!   here too, under `/linkedin/www.linkedin.com/dms-uploads/…`) and the image URN; `PUT` the
//!   bytes there with the Bearer token; the image is then PROCESSING, AVAILABLE (or
//!   PROCESSING_FAILED), which `GET /rest/images/{urn}` tells.
//! - `POST /rest/videos?action=initializeUpload` → 4 MiB part instructions; `PUT` each part
//!   (each answer has an `ETag`); `POST /rest/videos?action=finalizeUpload` with the ETags in
//!   order; `GET /rest/videos/{urn}`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use chrono::{DateTime, Datelike, Duration, Utc};
use serde_json::{Map, Value, json};

use super::{may_act_as, member_id};
use crate::domain::Platform;
use crate::sandbox::dispatch::RouteCtx;
use crate::sandbox::errors::{json_response, linkedin};
use crate::sandbox::media::{self, Facts, Format, Incoming};
use crate::sandbox::oauth::{bearer, header as header_value};
use crate::sandbox::personas;
use crate::sandbox::published::{Accepted, PublishedMedia, PublishedRecord};
use crate::sandbox::state::{Shared, Token, TokenError, TokenKind, lock};

/// How many monthly versions back LinkedIn still serves (it sunsets them after about a year).
const ACTIVE_MONTHS: i32 = 12;
const MAX_COMMENTARY: usize = 3000;
const MIN_IMAGES: usize = 2;
const MAX_IMAGES: usize = 20;
/// Image limits (LinkedIn's images API): fewer than 36,152,320 pixels; JPEG, PNG or GIF.
const MAX_PIXELS: u64 = 36_152_320;
const MAX_VIDEO_BYTES: u64 = 500 * 1024 * 1024;
const VIDEO_PART_BYTES: u64 = 4 * 1024 * 1024;
/// Upload URLs stay valid for a day.
const UPLOAD_TTL_SECS: i64 = 86_400;
const UPLOADS_HOST: &str = "https://www.linkedin.com/dms-uploads/sp/v2";
const POST_FIELDS: &[&str] = &[
    "author",
    "commentary",
    "visibility",
    "distribution",
    "content",
    "lifecycleState",
    "isReshareDisabledByAuthor",
    "contentLandingPage",
    "contentCallToActionLabel",
    "container",
    "reshareContext",
    "adContext",
];

pub(in crate::sandbox) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api.linkedin.com/rest/posts", post(create_post))
        .route("/api.linkedin.com/rest/posts/{urn}", get(read_post))
        .route("/api.linkedin.com/rest/images", post(images_action))
        .route("/api.linkedin.com/rest/images/{urn}", get(read_image))
        .route("/api.linkedin.com/rest/videos", post(videos_action))
        .route("/api.linkedin.com/rest/videos/{urn}", get(read_video))
        .route(
            "/www.linkedin.com/dms-uploads/sp/v2/{asset}/feedshare-uploadedImage/0",
            put(upload_image),
        )
        .route(
            "/www.linkedin.com/dms-uploads/sp/v2/{asset}/uploadedVideo/{part}",
            put(upload_video_part),
        )
}

/// Images and videos being uploaded or ready, by asset id (the URN's last part).
#[derive(Default)]
pub(crate) struct LiState {
    assets: HashMap<String, Asset>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AssetKind {
    Image,
    Video,
}

impl AssetKind {
    fn urn_prefix(self) -> &'static str {
        match self {
            AssetKind::Image => "urn:li:image:",
            AssetKind::Video => "urn:li:video:",
        }
    }
}

struct Asset {
    kind: AssetKind,
    /// The author URN it was initialized for.
    owner: String,
    /// The `ut` query parameter that stands in for the upload URL's signature.
    signature: String,
    upload_expires_at: DateTime<Utc>,
    /// Video parts as instructed: `(first byte, last byte)`.
    parts: Vec<(u64, u64)>,
    upload_token: String,
    /// Parts received: `(etag, sha256 of the part)`; bytes wait in `pending` until every earlier
    /// part has been hashed into `incoming`.
    received: BTreeMap<usize, (String, String)>,
    pending: BTreeMap<usize, Bytes>,
    next_part: usize,
    incoming: Option<Incoming>,
    /// Set once the bytes are complete (image PUT, video finalize).
    processed: Option<Processed>,
}

struct Processed {
    facts: Facts,
    ready_at: DateTime<Utc>,
    failure: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AssetStatus {
    WaitingUpload,
    Processing,
    Available,
    ProcessingFailed,
}

impl AssetStatus {
    fn as_str(self) -> &'static str {
        match self {
            AssetStatus::WaitingUpload => "WAITING_UPLOAD",
            AssetStatus::Processing => "PROCESSING",
            AssetStatus::Available => "AVAILABLE",
            AssetStatus::ProcessingFailed => "PROCESSING_FAILED",
        }
    }
}

impl Asset {
    fn status(&self, now: DateTime<Utc>) -> AssetStatus {
        match &self.processed {
            None => AssetStatus::WaitingUpload,
            Some(p) if p.failure.is_some() => AssetStatus::ProcessingFailed,
            Some(p) if now < p.ready_at => AssetStatus::Processing,
            Some(_) => AssetStatus::Available,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// What every /rest call checks

/// A `/rest` request that passed the version, protocol and token checks.
pub(super) struct Rest {
    pub(super) token: Token,
    /// `urn:li:person:{id}` of the token's member.
    pub(super) member: String,
    /// The version as LinkedIn names it in messages (`20261001`).
    pub(super) version: String,
}

impl Rest {
    /// Whether the token's member may act as `urn`: themself, or an organization they
    /// administer.
    fn acts_for(&self, urn: &str) -> bool {
        may_act_as(&self.token.grant.account, urn)
    }
}

fn member_urn(account: &str) -> String {
    format!("urn:li:person:{}", member_id(account))
}

/// `LinkedIn-Version`: `YYYYMM` (optionally `.RR`), one of the last twelve months' releases.
fn check_version(raw: Option<&str>, now: DateTime<Utc>) -> Result<String, Response> {
    let Some(raw) = raw else {
        return Err(linkedin(
            StatusCode::BAD_REQUEST,
            None,
            "VERSION_MISSING",
            "A version must be present. Please specify a version by adding the LinkedIn-Version header.",
        ));
    };
    let inactive = || {
        linkedin(
            StatusCode::UPGRADE_REQUIRED,
            None,
            "NONEXISTENT_VERSION",
            &format!("Requested version {raw} is not active"),
        )
    };
    let (month, revision) = raw.split_once('.').unwrap_or((raw, "01"));
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(month, 6) || !digits(revision, 2) {
        return Err(inactive());
    }
    let year: i32 = month[..4].parse().unwrap_or(0);
    let m: i32 = month[4..].parse().unwrap_or(0);
    if !(1..=12).contains(&m) {
        return Err(inactive());
    }
    let current = now.year() * 12 + now.month0() as i32;
    let age = current - (year * 12 + m - 1);
    if !(0..=ACTIVE_MONTHS).contains(&age) {
        return Err(linkedin(
            StatusCode::UPGRADE_REQUIRED,
            None,
            "NONEXISTENT_VERSION",
            &format!("Requested version {month}{revision} is not active"),
        ));
    }
    Ok(format!("{month}{revision}"))
}

fn token_error(e: TokenError) -> Response {
    let (service, code, message) = match e {
        TokenError::Expired => (
            65602,
            "EXPIRED_ACCESS_TOKEN",
            "The token used in the request has expired",
        ),
        TokenError::Revoked => (
            65601,
            "REVOKED_ACCESS_TOKEN",
            "The token used in the request has been revoked by the user",
        ),
        TokenError::Missing | TokenError::Unknown => {
            (65600, "INVALID_ACCESS_TOKEN", "Invalid access token")
        }
    };
    linkedin(StatusCode::UNAUTHORIZED, Some(service), code, message)
}

fn authenticate(shared: &Shared, headers: &HeaderMap) -> Result<Token, Response> {
    let now = shared.clock.now();
    shared
        .store()
        .check(
            Platform::Linkedin,
            TokenKind::Access,
            bearer(headers).as_deref(),
            now,
        )
        .map_err(token_error)
}

pub(super) fn access_denied(resource: &str, version: &str) -> Response {
    linkedin(
        StatusCode::FORBIDDEN,
        Some(100),
        "ACCESS_DENIED",
        &format!("Not enough permissions to access: {resource}.{version}"),
    )
}

/// Version, protocol, token and a posting scope (`w_member_social` or `w_organization_social`;
/// [`check_author`] then asks for the one the author needs), in that order. `resource` names
/// the endpoint in LinkedIn's permission message (`partnerApiPostsExternal.CREATE`).
fn rest(shared: &Shared, headers: &HeaderMap, resource: &str) -> Result<Rest, Response> {
    rest_with(
        shared,
        headers,
        resource,
        &["w_member_social", "w_organization_social"],
    )
}

/// Version, protocol, token and one of `scopes`, in that order.
pub(super) fn rest_with(
    shared: &Shared,
    headers: &HeaderMap,
    resource: &str,
    scopes: &[&str],
) -> Result<Rest, Response> {
    let version = check_version(
        header_value(headers, "linkedin-version"),
        shared.clock.now(),
    )?;
    match header_value(headers, "x-restli-protocol-version") {
        Some("2.0.0") => {}
        Some(other) => {
            return Err(linkedin(
                StatusCode::BAD_REQUEST,
                None,
                "ILLEGAL_ARGUMENT",
                &format!(
                    "Unsupported Rest.li protocol version {other}; send X-Restli-Protocol-Version: 2.0.0"
                ),
            ));
        }
        None => {
            return Err(linkedin(
                StatusCode::BAD_REQUEST,
                None,
                "ILLEGAL_ARGUMENT",
                "The X-Restli-Protocol-Version header is required (2.0.0)",
            ));
        }
    }
    let token = authenticate(shared, headers)?;
    if !scopes.iter().any(|s| token.grant.has_scope(s)) {
        return Err(access_denied(resource, &version));
    }
    Ok(Rest {
        member: member_urn(&token.grant.account),
        token,
        version,
    })
}

fn unprocessable(path: &str, message: &str) -> Response {
    linkedin(
        StatusCode::UNPROCESSABLE_ENTITY,
        None,
        "UNPROCESSABLE_ENTITY",
        &format!("ERROR :: {path} :: {message}"),
    )
}

pub(super) fn illegal(message: &str) -> Response {
    linkedin(StatusCode::BAD_REQUEST, None, "ILLEGAL_ARGUMENT", message)
}

pub(super) fn not_found(message: &str) -> Response {
    linkedin(StatusCode::NOT_FOUND, None, "NOT_FOUND", message)
}

/// A JSON object body (LinkedIn's REST API takes JSON only).
fn json_object(headers: &HeaderMap, body: &Bytes) -> Result<Map<String, Value>, Response> {
    let is_json = header_value(headers, header::CONTENT_TYPE.as_str())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
    if !is_json {
        return Err(linkedin(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
            "UNSUPPORTED_MEDIA_TYPE",
            "The request body must be JSON (Content-Type: application/json)",
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(obj)) => Ok(obj),
        Ok(_) => Err(illegal("The request entity must be a JSON object")),
        Err(e) => Err(illegal(&format!("Cannot parse request entity: {e}"))),
    }
}

/// The author or owner a request names must be the token's member (with `w_member_social`) or
/// an organization the member administers (with `w_organization_social`); anything else is
/// LinkedIn's 403 `ACCESS_DENIED`.
fn check_author(
    rest: &Rest,
    path: &str,
    value: Option<&Value>,
    resource: &str,
) -> Result<String, Response> {
    let urn = match value {
        None => {
            return Err(unprocessable(
                path,
                "field is required but not found and has no default value",
            ));
        }
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(unprocessable(path, "wrong type, expected a URN string")),
    };
    if urn == rest.member {
        if rest.token.grant.has_scope("w_member_social") {
            return Ok(urn);
        }
        return Err(access_denied(resource, &rest.version));
    }
    if urn.starts_with("urn:li:organization:") && rest.acts_for(&urn) {
        if rest.token.grant.has_scope("w_organization_social") {
            return Ok(urn);
        }
        return Err(access_denied(resource, &rest.version));
    }
    let well_formed = ["urn:li:person:", "urn:li:organization:"]
        .iter()
        .any(|p| urn.strip_prefix(p).is_some_and(|id| !id.is_empty()));
    if !well_formed {
        return Err(unprocessable(
            path,
            &format!("\"{urn}\" is not a urn:li:person or urn:li:organization URN"),
        ));
    }
    Err(access_denied(resource, &rest.version))
}

fn action(ctx: &RouteCtx) -> Option<String> {
    ctx.params().get("action").map(str::to_owned)
}

// ---------------------------------------------------------------------------------------------
// Little text

const RESERVED: &[char] = &[
    '\\', '|', '{', '}', '@', '[', ']', '(', ')', '<', '>', '#', '*', '_', '~',
];

/// The text people see from LinkedIn's "little text": `\x` escapes, `{hashtag|\#|tag}` and
/// `@[Name](urn:li:…)` mentions. A reserved character anywhere else is an error (the real API
/// silently cuts or garbles the text there; the sandbox says so instead).
pub(crate) fn render_little_text(text: &str) -> Result<String, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    // Reads an escaped run up to `end`, returning it and the index after `end`.
    let read_until = |mut j: usize, end: char| -> Option<(String, usize)> {
        let mut s = String::new();
        while j < chars.len() {
            match chars[j] {
                '\\' => {
                    s.push(*chars.get(j + 1)?);
                    j += 2;
                }
                c if c == end => return Some((s, j + 1)),
                c if RESERVED.contains(&c) => return None,
                c => {
                    s.push(c);
                    j += 1;
                }
            }
        }
        None
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => match chars.get(i + 1) {
                Some(next) => {
                    out.push(*next);
                    i += 2;
                }
                None => return Err(format!("the backslash at position {i} escapes nothing")),
            },
            '{' => {
                let rest: String = chars[i..].iter().take(12).collect();
                let skip = if rest.starts_with("{hashtag|\\#|") {
                    12
                } else if rest.starts_with("{hashtag|#|") {
                    11
                } else {
                    return Err(unescaped(c, i));
                };
                match read_until(i + skip, '}') {
                    Some((tag, next)) if !tag.is_empty() => {
                        out.push('#');
                        out.push_str(&tag);
                        i = next;
                    }
                    _ => {
                        return Err(format!(
                            "the hashtag template at position {i} is not closed"
                        ));
                    }
                }
            }
            '@' if chars.get(i + 1) == Some(&'[') => {
                let Some((name, next)) = read_until(i + 2, ']') else {
                    return Err(format!("the mention at position {i} is not closed"));
                };
                if chars.get(next) != Some(&'(') {
                    return Err(format!("the mention at position {i} has no (urn)"));
                }
                let Some((urn, after)) = read_until(next + 1, ')') else {
                    return Err(format!("the mention at position {i} has no closing )"));
                };
                if !urn.starts_with("urn:li:") {
                    return Err(format!(
                        "the mention at position {i} does not name a urn:li: URN"
                    ));
                }
                out.push_str(&name);
                i = after;
            }
            c if RESERVED.contains(&c) => return Err(unescaped(c, i)),
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

fn unescaped(c: char, at: usize) -> String {
    format!(
        "the reserved character '{c}' at position {at} is not escaped (little text: escape | {{ }} @ [ ] ( ) < > # \\ * _ ~ with a backslash)"
    )
}

// ---------------------------------------------------------------------------------------------
// Posts

/// What a post's content refers to, once checked.
struct Content {
    kind: &'static str,
    media: Vec<PublishedMedia>,
}

/// `POST /rest/posts`.
async fn create_post(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let rest = match rest(&shared, &headers, "partnerApiPostsExternal.CREATE") {
        Ok(r) => r,
        Err(res) => return res,
    };
    let obj = match json_object(&headers, &body) {
        Ok(o) => o,
        Err(res) => return res,
    };
    if let Some(extra) = obj.keys().find(|k| !POST_FIELDS.contains(&k.as_str())) {
        return unprocessable(
            &format!("/{extra}"),
            "unrecognized field found but not allowed",
        );
    }
    let author = match check_author(
        &rest,
        "/author",
        obj.get("author"),
        "partnerApiPostsExternal.CREATE",
    ) {
        Ok(a) => a,
        Err(res) => return res,
    };
    let little = match obj.get("commentary") {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return unprocessable("/commentary", "wrong type, expected a string"),
    };
    let text = match render_little_text(&little) {
        Ok(t) => t,
        Err(why) => return unprocessable("/commentary", &why),
    };
    let length = text.chars().count();
    if length > MAX_COMMENTARY {
        return unprocessable(
            "/commentary",
            &format!("the text is {length} characters long; at most {MAX_COMMENTARY} are allowed"),
        );
    }
    if let Err(res) = enum_field(
        &obj,
        "/visibility",
        "visibility",
        &["PUBLIC", "CONNECTIONS", "LOGGED_IN", "CONTAINER"],
    ) {
        return res;
    }
    if let Err(res) = enum_field(
        &obj,
        "/lifecycleState",
        "lifecycleState",
        &["PUBLISHED", "DRAFT"],
    ) {
        return res;
    }
    if let Err(res) = check_distribution(obj.get("distribution")) {
        return res;
    }
    if let Some(v) = obj.get("isReshareDisabledByAuthor")
        && !v.is_boolean()
    {
        return unprocessable(
            "/isReshareDisabledByAuthor",
            "wrong type, expected a boolean",
        );
    }
    let now = shared.clock.now();
    let content = match obj.get("content") {
        None => Content {
            kind: "post",
            media: Vec::new(),
        },
        Some(c) => match check_content(&shared, &author, c, now) {
            Ok(c) => c,
            Err(res) => return res,
        },
    };
    if text.trim().is_empty() && content.media.is_empty() && content.kind == "post" {
        return unprocessable("/commentary", "a post without content needs commentary");
    }

    let kind_prefix = if content.kind == "video" {
        "urn:li:ugcPost:"
    } else {
        "urn:li:share:"
    };
    let urn = format!("{kind_prefix}7{}", shared.new_digits(18));
    if obj.get("lifecycleState").and_then(Value::as_str) == Some("PUBLISHED") {
        let mut options = Map::new();
        for key in [
            "visibility",
            "distribution",
            "lifecycleState",
            "isReshareDisabledByAuthor",
            "content",
            "contentLandingPage",
            "contentCallToActionLabel",
            "container",
            "reshareContext",
        ] {
            if let Some(v) = obj.get(key) {
                options.insert(key.into(), v.clone());
            }
        }
        options.insert("commentary".into(), json!(little));
        options.insert("linkedin_version".into(), json!(rest.version));
        shared.record_published(Accepted {
            request_seq: ctx.seq,
            at: now,
            platform: Platform::Linkedin,
            account_id: author.clone(),
            account: rest.token.grant.account.clone(),
            kind: content.kind,
            remote_id: urn.clone(),
            url: Some(format!("https://www.linkedin.com/feed/update/{urn}")),
            text,
            media: content.media,
            options,
        });
    }
    let mut res = StatusCode::CREATED.into_response();
    if let Ok(v) = HeaderValue::from_str(&urn) {
        res.headers_mut().insert("x-restli-id", v);
    }
    res
}

fn enum_field(
    obj: &Map<String, Value>,
    path: &str,
    name: &str,
    allowed: &[&str],
) -> Result<(), Response> {
    match obj.get(name) {
        None => Err(unprocessable(
            path,
            "field is required but not found and has no default value",
        )),
        Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(()),
        Some(v) => Err(unprocessable(
            path,
            &format!("{v} is not one of {}", allowed.join(", ")),
        )),
    }
}

fn check_distribution(value: Option<&Value>) -> Result<(), Response> {
    let Some(value) = value else {
        return Err(unprocessable(
            "/distribution",
            "field is required but not found and has no default value",
        ));
    };
    let Some(d) = value.as_object() else {
        return Err(unprocessable(
            "/distribution",
            "wrong type, expected an object",
        ));
    };
    const FIELDS: &[&str] = &[
        "feedDistribution",
        "targetEntities",
        "thirdPartyDistributionChannels",
    ];
    if let Some(extra) = d.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(unprocessable(
            &format!("/distribution/{extra}"),
            "unrecognized field found but not allowed",
        ));
    }
    enum_field(
        d,
        "/distribution/feedDistribution",
        "feedDistribution",
        &["MAIN_FEED", "NONE", "CONTAINER_ONLY"],
    )?;
    for list in ["targetEntities", "thirdPartyDistributionChannels"] {
        if let Some(v) = d.get(list)
            && !v.is_array()
        {
            return Err(unprocessable(
                &format!("/distribution/{list}"),
                "wrong type, expected an array",
            ));
        }
    }
    Ok(())
}

/// `content`: exactly one of `media`, `multiImage` or `article`, naming AVAILABLE images and
/// videos of the author.
fn check_content(
    shared: &Shared,
    author: &str,
    value: &Value,
    now: DateTime<Utc>,
) -> Result<Content, Response> {
    let Some(content) = value.as_object() else {
        return Err(unprocessable("/content", "wrong type, expected an object"));
    };
    const KINDS: &[&str] = &["media", "multiImage", "article"];
    if let Some(extra) = content.keys().find(|k| !KINDS.contains(&k.as_str())) {
        return Err(unprocessable(
            &format!("/content/{extra}"),
            "unrecognized field found but not allowed (the sandbox emulates media, multiImage and article)",
        ));
    }
    if content.len() != 1 {
        return Err(unprocessable(
            "/content",
            "exactly one of media, multiImage or article must be given",
        ));
    }
    let state = lock(&shared.linkedin);
    let usable = |path: &str,
                  urn: &Value,
                  kinds: &[AssetKind]|
     -> Result<PublishedMedia, Response> {
        let Some(urn) = urn.as_str() else {
            return Err(unprocessable(path, "wrong type, expected a URN string"));
        };
        let found = kinds.iter().find_map(|k| {
            let id = urn.strip_prefix(k.urn_prefix())?;
            state.assets.get(id).filter(|a| a.kind == *k)
        });
        let Some(asset) = found.filter(|a| a.owner == author) else {
            return Err(unprocessable(
                path,
                &format!("{urn} is not an image or video uploaded for {author}"),
            ));
        };
        let status = asset.status(now);
        match (&asset.processed, status) {
            (Some(p), AssetStatus::Available) => Ok(PublishedMedia::new(&p.facts, None, Some(urn))),
            _ => Err(unprocessable(
                path,
                &format!("{urn} is not AVAILABLE (its status is {})", status.as_str()),
            )),
        }
    };
    let check_alt = |path: &str, v: Option<&Value>| -> Result<(), Response> {
        match v {
            None | Some(Value::String(_)) => Ok(()),
            Some(_) => Err(unprocessable(path, "wrong type, expected a string")),
        }
    };
    if let Some(m) = content.get("media") {
        let Some(m) = m.as_object() else {
            return Err(unprocessable(
                "/content/media",
                "wrong type, expected an object",
            ));
        };
        if let Some(extra) = m
            .keys()
            .find(|k| !["id", "title", "altText"].contains(&k.as_str()))
        {
            return Err(unprocessable(
                &format!("/content/media/{extra}"),
                "unrecognized field found but not allowed",
            ));
        }
        let Some(id) = m.get("id") else {
            return Err(unprocessable(
                "/content/media/id",
                "field is required but not found and has no default value",
            ));
        };
        check_alt("/content/media/title", m.get("title"))?;
        check_alt("/content/media/altText", m.get("altText"))?;
        let media = usable(
            "/content/media/id",
            id,
            &[AssetKind::Image, AssetKind::Video],
        )?;
        let kind = if id.as_str().is_some_and(|u| u.starts_with("urn:li:video:")) {
            "video"
        } else {
            "image"
        };
        return Ok(Content {
            kind,
            media: vec![media],
        });
    }
    if let Some(m) = content.get("multiImage") {
        let images = m.get("images").and_then(Value::as_array);
        let Some(images) = images else {
            return Err(unprocessable(
                "/content/multiImage/images",
                "field is required but not found and has no default value",
            ));
        };
        if !(MIN_IMAGES..=MAX_IMAGES).contains(&images.len()) {
            return Err(unprocessable(
                "/content/multiImage/images",
                &format!(
                    "a multi-image post has {MIN_IMAGES} to {MAX_IMAGES} images; {} were given",
                    images.len()
                ),
            ));
        }
        let mut media = Vec::with_capacity(images.len());
        for (i, image) in images.iter().enumerate() {
            let path = format!("/content/multiImage/images/{i}");
            let Some(image) = image.as_object() else {
                return Err(unprocessable(&path, "wrong type, expected an object"));
            };
            if let Some(extra) = image
                .keys()
                .find(|k| !["id", "altText"].contains(&k.as_str()))
            {
                return Err(unprocessable(
                    &format!("{path}/{extra}"),
                    "unrecognized field found but not allowed",
                ));
            }
            check_alt(&format!("{path}/altText"), image.get("altText"))?;
            let id = image.get("id").unwrap_or(&Value::Null);
            media.push(usable(&format!("{path}/id"), id, &[AssetKind::Image])?);
        }
        return Ok(Content {
            kind: "images",
            media,
        });
    }
    let article = content
        .get("article")
        .and_then(Value::as_object)
        .ok_or_else(|| unprocessable("/content/article", "wrong type, expected an object"))?;
    const ARTICLE: &[&str] = &[
        "source",
        "title",
        "description",
        "thumbnail",
        "thumbnailAltText",
    ];
    if let Some(extra) = article.keys().find(|k| !ARTICLE.contains(&k.as_str())) {
        return Err(unprocessable(
            &format!("/content/article/{extra}"),
            "unrecognized field found but not allowed",
        ));
    }
    match article.get("source").and_then(Value::as_str) {
        Some(s) if media::is_http_url(s) => {}
        _ => {
            return Err(unprocessable(
                "/content/article/source",
                "an article needs its source, an absolute http(s) URL",
            ));
        }
    }
    for field in ["title", "description", "thumbnailAltText"] {
        check_alt(&format!("/content/article/{field}"), article.get(field))?;
    }
    let media = match article.get("thumbnail") {
        None => Vec::new(),
        Some(t) => vec![usable(
            "/content/article/thumbnail",
            t,
            &[AssetKind::Image],
        )?],
    };
    Ok(Content {
        kind: "article",
        media,
    })
}

/// `GET /rest/posts/{urn}`: a post of the token's member.
async fn read_post(
    State(shared): State<Arc<Shared>>,
    Path(urn): Path<String>,
    headers: HeaderMap,
) -> Response {
    let rest = match rest(&shared, &headers, "partnerApiPostsExternal.GET") {
        Ok(r) => r,
        Err(res) => return res,
    };
    let record = shared
        .published()
        .find(Platform::Linkedin, &urn)
        .filter(|r| rest.acts_for(&r.account_id))
        .cloned();
    match record {
        Some(r) => json_response(StatusCode::OK, post_json(&r)),
        None => not_found(&format!("Post {urn} does not exist")),
    }
}

fn post_json(r: &PublishedRecord) -> Value {
    let ms = r.at.timestamp_millis();
    let mut post = json!({
        "id": r.remote_id,
        "author": r.account_id,
        "commentary": r.options.get("commentary").cloned().unwrap_or(json!("")),
        "createdAt": ms,
        "publishedAt": ms,
        "lastModifiedAt": ms,
        "isReshareDisabledByAuthor": false,
        "lifecycleState": "PUBLISHED",
        "lifecycleStateInfo": { "isEditedByAuthor": false },
    });
    for key in [
        "visibility",
        "distribution",
        "content",
        "isReshareDisabledByAuthor",
        "contentLandingPage",
        "contentCallToActionLabel",
    ] {
        if let Some(v) = r.options.get(key) {
            post[key] = v.clone();
        }
    }
    post
}

// ---------------------------------------------------------------------------------------------
// Images and videos

fn new_asset(
    shared: &Shared,
    kind: AssetKind,
    owner: &str,
    parts: Vec<(u64, u64)>,
    now: DateTime<Utc>,
) -> (String, String) {
    let prefix = match kind {
        AssetKind::Image => "D4E10AQ",
        AssetKind::Video => "D4E10AA",
    };
    let id = format!("{prefix}{}", shared.new_chars("", 12));
    let signature = shared.new_chars("", 32);
    let upload_token = if parts.len() > 1 {
        shared.new_chars("", 40)
    } else {
        String::new()
    };
    lock(&shared.linkedin).assets.insert(
        id.clone(),
        Asset {
            kind,
            owner: owner.to_owned(),
            signature: signature.clone(),
            upload_expires_at: now + Duration::seconds(UPLOAD_TTL_SECS),
            parts,
            upload_token,
            received: BTreeMap::new(),
            pending: BTreeMap::new(),
            next_part: 0,
            incoming: Some(Incoming::default()),
            processed: None,
        },
    );
    (id, signature)
}

fn upload_query(signature: &str) -> String {
    format!("ca=vector_feedshare&cn=uploads&sync=0&v=beta&ut={signature}")
}

/// `POST /rest/images?action=initializeUpload`.
async fn images_action(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let rest = match rest(&shared, &headers, "images.ACTION") {
        Ok(r) => r,
        Err(res) => return res,
    };
    match action(&ctx).as_deref() {
        Some("initializeUpload") => {}
        Some(other) => return illegal(&format!("Unsupported action {other} on images")),
        None => {
            return illegal(
                "Resource method could not be resolved from request parameters: images is uploaded with ?action=initializeUpload",
            );
        }
    }
    let obj = match json_object(&headers, &body) {
        Ok(o) => o,
        Err(res) => return res,
    };
    let request = match init_request(&obj, &["owner", "mediaLibraryMetadata"]) {
        Ok(r) => r,
        Err(res) => return res,
    };
    let owner = match check_author(
        &rest,
        "/initializeUploadRequest/owner",
        request.get("owner"),
        "images.ACTION",
    ) {
        Ok(o) => o,
        Err(res) => return res,
    };
    let now = shared.clock.now();
    let (id, signature) = new_asset(&shared, AssetKind::Image, &owner, Vec::new(), now);
    json_response(
        StatusCode::OK,
        json!({ "value": {
            "uploadUrlExpiresAt": (now + Duration::seconds(UPLOAD_TTL_SECS)).timestamp_millis(),
            "uploadUrl": format!("{UPLOADS_HOST}/{id}/feedshare-uploadedImage/0?{}", upload_query(&signature)),
            "image": format!("urn:li:image:{id}"),
        }}),
    )
}

/// `{"initializeUploadRequest": {…}}` with only the named fields.
fn init_request<'a>(
    obj: &'a Map<String, Value>,
    fields: &[&str],
) -> Result<&'a Map<String, Value>, Response> {
    if let Some(extra) = obj.keys().find(|k| *k != "initializeUploadRequest") {
        return Err(unprocessable(
            &format!("/{extra}"),
            "unrecognized field found but not allowed",
        ));
    }
    let Some(request) = obj
        .get("initializeUploadRequest")
        .and_then(Value::as_object)
    else {
        return Err(unprocessable(
            "/initializeUploadRequest",
            "field is required but not found and has no default value",
        ));
    };
    if let Some(extra) = request.keys().find(|k| !fields.contains(&k.as_str())) {
        return Err(unprocessable(
            &format!("/initializeUploadRequest/{extra}"),
            "unrecognized field found but not allowed",
        ));
    }
    Ok(request)
}

/// The asset an upload URL names, if its signature is right and it has not expired.
fn upload_target<'a>(
    state: &'a mut LiState,
    ctx: &RouteCtx,
    asset: &str,
    kind: AssetKind,
    now: DateTime<Utc>,
) -> Result<&'a mut Asset, Response> {
    let signature = ctx.params().get("ut").map(str::to_owned);
    let Some(a) = state.assets.get_mut(asset).filter(|a| a.kind == kind) else {
        return Err(not_found("No upload is waiting at this URL"));
    };
    if signature.as_deref() != Some(a.signature.as_str()) {
        return Err(linkedin(
            StatusCode::FORBIDDEN,
            None,
            "ACCESS_DENIED",
            "The upload URL's signature is not valid",
        ));
    }
    if now >= a.upload_expires_at {
        return Err(linkedin(
            StatusCode::FORBIDDEN,
            None,
            "ACCESS_DENIED",
            "The upload URL has expired; initialize the upload again",
        ));
    }
    Ok(a)
}

/// `PUT` of an image's bytes to its upload URL, with the owner's Bearer token.
async fn upload_image(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    Path(asset): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = match authenticate(&shared, &headers) {
        Ok(t) => t,
        Err(res) => return res,
    };
    let now = shared.clock.now();
    let mut state = lock(&shared.linkedin);
    let a = match upload_target(&mut state, &ctx, &asset, AssetKind::Image, now) {
        Ok(a) => a,
        Err(res) => return res,
    };
    if !may_act_as(&token.grant.account, &a.owner) {
        return linkedin(
            StatusCode::FORBIDDEN,
            None,
            "ACCESS_DENIED",
            "The image belongs to another member or organization",
        );
    }
    if a.processed.is_some() {
        return linkedin(
            StatusCode::CONFLICT,
            None,
            "CONFLICT",
            "The image has already been uploaded",
        );
    }
    if body.is_empty() {
        return illegal("The upload is empty");
    }
    let facts = Facts::of(&body);
    let pixels = u64::from(facts.width.unwrap_or(0)) * u64::from(facts.height.unwrap_or(0));
    let failure = if !matches!(facts.format, Format::Jpeg | Format::Png | Format::Gif)
        || facts.width.is_none()
    {
        Some(format!(
            "the file is {}; LinkedIn takes JPEG, PNG or GIF images",
            facts.format.mime()
        ))
    } else if pixels >= MAX_PIXELS {
        Some(format!(
            "the image has {pixels} pixels; fewer than {MAX_PIXELS} are allowed"
        ))
    } else {
        None
    };
    a.incoming = None;
    a.processed = Some(Processed {
        facts,
        ready_at: now
            + Duration::seconds(i64::try_from(ctx.processing_secs).unwrap_or(i64::MAX / 4)),
        failure,
    });
    StatusCode::CREATED.into_response()
}

/// `GET /rest/images/{urn}`.
async fn read_image(
    State(shared): State<Arc<Shared>>,
    Path(urn): Path<String>,
    headers: HeaderMap,
) -> Response {
    read_asset(&shared, &headers, &urn, AssetKind::Image).await
}

/// `GET /rest/videos/{urn}`.
async fn read_video(
    State(shared): State<Arc<Shared>>,
    Path(urn): Path<String>,
    headers: HeaderMap,
) -> Response {
    read_asset(&shared, &headers, &urn, AssetKind::Video).await
}

async fn read_asset(shared: &Shared, headers: &HeaderMap, urn: &str, kind: AssetKind) -> Response {
    let resource = match kind {
        AssetKind::Image => "images.GET",
        AssetKind::Video => "videos.GET",
    };
    let rest = match rest(shared, headers, resource) {
        Ok(r) => r,
        Err(res) => return res,
    };
    let now = shared.clock.now();
    let state = lock(&shared.linkedin);
    let asset = urn
        .strip_prefix(kind.urn_prefix())
        .and_then(|id| state.assets.get(id).map(|a| (id, a)))
        .filter(|(_, a)| a.kind == kind && rest.acts_for(&a.owner));
    let Some((id, a)) = asset else {
        return not_found(&format!("{urn} does not exist"));
    };
    let status = a.status(now);
    let mut body = json!({ "id": urn, "owner": a.owner, "status": status.as_str() });
    if status == AssetStatus::Available {
        let path = match kind {
            AssetKind::Image => "feedshare-shrink_2048_1536",
            AssetKind::Video => "mp4-720p-30fp-crf28",
        };
        body["downloadUrl"] = json!(format!(
            "https://media.licdn.com/dms/{}/{id}/{path}/0?e={}",
            if kind == AssetKind::Image {
                "image"
            } else {
                "video"
            },
            (now + Duration::days(60)).timestamp()
        ));
        body["downloadUrlExpiresAt"] = json!((now + Duration::days(60)).timestamp_millis());
    }
    if let Some(Processed {
        failure: Some(why), ..
    }) = &a.processed
    {
        body["processingFailureReason"] = json!(why);
    }
    if kind == AssetKind::Video
        && let Some(p) = &a.processed
    {
        body["fileSizeBytes"] = json!(p.facts.size);
    }
    json_response(StatusCode::OK, body)
}

/// `POST /rest/videos?action=initializeUpload` or `?action=finalizeUpload`.
async fn videos_action(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let rest = match rest(&shared, &headers, "videos.ACTION") {
        Ok(r) => r,
        Err(res) => return res,
    };
    let which = action(&ctx);
    if !matches!(
        which.as_deref(),
        Some("initializeUpload" | "finalizeUpload")
    ) {
        return illegal(&format!(
            "Unsupported action {} on videos: use ?action=initializeUpload or ?action=finalizeUpload",
            which.as_deref().unwrap_or("(none)")
        ));
    }
    let obj = match json_object(&headers, &body) {
        Ok(o) => o,
        Err(res) => return res,
    };
    if which.as_deref() == Some("finalizeUpload") {
        return finalize_video(&shared, &ctx, &rest, &obj);
    }
    let request = match init_request(
        &obj,
        &[
            "owner",
            "fileSizeBytes",
            "uploadCaptions",
            "uploadThumbnail",
            "mediaLibraryMetadata",
        ],
    ) {
        Ok(r) => r,
        Err(res) => return res,
    };
    let owner = match check_author(
        &rest,
        "/initializeUploadRequest/owner",
        request.get("owner"),
        "videos.ACTION",
    ) {
        Ok(o) => o,
        Err(res) => return res,
    };
    let size = match request.get("fileSizeBytes") {
        Some(v) => match v.as_u64() {
            Some(n) if n > 0 => n,
            _ => {
                return unprocessable(
                    "/initializeUploadRequest/fileSizeBytes",
                    "wrong type, expected a positive integer",
                );
            }
        },
        None => {
            return unprocessable(
                "/initializeUploadRequest/fileSizeBytes",
                "field is required but not found and has no default value",
            );
        }
    };
    if size > MAX_VIDEO_BYTES {
        return unprocessable(
            "/initializeUploadRequest/fileSizeBytes",
            &format!("the video is {size} bytes; at most {MAX_VIDEO_BYTES} are allowed"),
        );
    }
    for flag in ["uploadCaptions", "uploadThumbnail"] {
        match request.get(flag) {
            None | Some(Value::Bool(false)) => {}
            Some(Value::Bool(true)) => {
                return unprocessable(
                    &format!("/initializeUploadRequest/{flag}"),
                    "caption and thumbnail uploads are not emulated by the sandbox",
                );
            }
            Some(_) => {
                return unprocessable(
                    &format!("/initializeUploadRequest/{flag}"),
                    "wrong type, expected a boolean",
                );
            }
        }
    }
    let parts: Vec<(u64, u64)> = (0..size.div_ceil(VIDEO_PART_BYTES))
        .map(|i| {
            let first = i * VIDEO_PART_BYTES;
            (first, ((i + 1) * VIDEO_PART_BYTES).min(size) - 1)
        })
        .collect();
    let now = shared.clock.now();
    let (id, signature) = new_asset(&shared, AssetKind::Video, &owner, parts.clone(), now);
    let upload_token = lock(&shared.linkedin)
        .assets
        .get(&id)
        .map(|a| a.upload_token.clone())
        .unwrap_or_default();
    let instructions: Vec<Value> = parts
        .iter()
        .enumerate()
        .map(|(i, (first, last))| {
            json!({
                "uploadUrl": format!("{UPLOADS_HOST}/{id}/uploadedVideo/{i}?{}", upload_query(&signature)),
                "firstByte": first,
                "lastByte": last,
            })
        })
        .collect();
    json_response(
        StatusCode::OK,
        json!({ "value": {
            "uploadUrlsExpireAt": (now + Duration::seconds(UPLOAD_TTL_SECS)).timestamp_millis(),
            "video": format!("urn:li:video:{id}"),
            "uploadInstructions": instructions,
            "uploadToken": upload_token,
        }}),
    )
}

/// `PUT` of one video part (the URL is its own credential); answers with the part's `ETag`.
async fn upload_video_part(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    Path((asset, part)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let now = shared.clock.now();
    let mut state = lock(&shared.linkedin);
    let a = match upload_target(&mut state, &ctx, &asset, AssetKind::Video, now) {
        Ok(a) => a,
        Err(res) => return res,
    };
    let Some((index, (first, last))) = part
        .parse::<usize>()
        .ok()
        .and_then(|i| a.parts.get(i).map(|p| (i, *p)))
    else {
        return not_found("No such upload part");
    };
    if a.processed.is_some() {
        return linkedin(
            StatusCode::CONFLICT,
            None,
            "CONFLICT",
            "The video upload was already finalized",
        );
    }
    let expected = last - first + 1;
    if body.len() as u64 != expected {
        return illegal(&format!(
            "Part {index} must be bytes {first}-{last} ({expected} bytes); {} were sent",
            body.len()
        ));
    }
    let sha = media::hex(&<sha2::Sha256 as sha2::Digest>::digest(&body));
    if let Some((etag, old)) = a.received.get(&index) {
        if *old == sha {
            let etag = etag.clone();
            return with_etag(StatusCode::OK.into_response(), &etag);
        }
        if index < a.next_part {
            return linkedin(
                StatusCode::CONFLICT,
                None,
                "CONFLICT",
                "This part was already uploaded with other bytes",
            );
        }
    }
    let etag = format!(
        "/ambry-video/signedId/{}",
        personas::derived_chars(
            &["linkedin", "etag", &asset, &sha],
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            32,
        )
    );
    a.received.insert(index, (etag.clone(), sha));
    a.pending.insert(index, body);
    // Hash the parts that are now contiguous, so the bytes need not be kept.
    while let Some(bytes) = a.pending.remove(&a.next_part) {
        if let Some(incoming) = a.incoming.as_mut() {
            incoming.push(&bytes);
        }
        a.next_part += 1;
    }
    with_etag(StatusCode::OK.into_response(), &etag)
}

fn with_etag(mut res: Response, etag: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(etag) {
        res.headers_mut().insert(header::ETAG, v);
    }
    res
}

/// `finalizeUpload`: every part uploaded, the ETags in part order, the upload token.
fn finalize_video(
    shared: &Shared,
    ctx: &RouteCtx,
    rest: &Rest,
    obj: &Map<String, Value>,
) -> Response {
    if let Some(extra) = obj.keys().find(|k| *k != "finalizeUploadRequest") {
        return unprocessable(
            &format!("/{extra}"),
            "unrecognized field found but not allowed",
        );
    }
    let Some(request) = obj.get("finalizeUploadRequest").and_then(Value::as_object) else {
        return unprocessable(
            "/finalizeUploadRequest",
            "field is required but not found and has no default value",
        );
    };
    let Some(video) = request.get("video").and_then(Value::as_str) else {
        return unprocessable(
            "/finalizeUploadRequest/video",
            "field is required but not found and has no default value",
        );
    };
    let upload_token = request
        .get("uploadToken")
        .and_then(Value::as_str)
        .unwrap_or("");
    let Some(ids) = request.get("uploadedPartIds").and_then(Value::as_array) else {
        return unprocessable(
            "/finalizeUploadRequest/uploadedPartIds",
            "field is required but not found and has no default value",
        );
    };
    let now = shared.clock.now();
    let mut state = lock(&shared.linkedin);
    let asset = video
        .strip_prefix("urn:li:video:")
        .and_then(|id| state.assets.get_mut(id))
        .filter(|a| a.kind == AssetKind::Video && rest.acts_for(&a.owner));
    let Some(a) = asset else {
        return not_found(&format!("{video} does not exist"));
    };
    if a.processed.is_some() {
        return linkedin(
            StatusCode::CONFLICT,
            None,
            "CONFLICT",
            "The video upload was already finalized",
        );
    }
    if upload_token != a.upload_token {
        return illegal("The uploadToken does not match the one initializeUpload returned");
    }
    if a.received.len() != a.parts.len() || a.next_part != a.parts.len() {
        return illegal(&format!(
            "{} of {} parts were uploaded; upload every part before finalizing",
            a.received.len(),
            a.parts.len()
        ));
    }
    let etags: Vec<&str> = a.received.values().map(|(e, _)| e.as_str()).collect();
    let sent: Vec<&str> = ids.iter().filter_map(Value::as_str).collect();
    if sent != etags {
        return illegal("uploadedPartIds must be the ETags of the uploaded parts, in part order");
    }
    let facts = a.incoming.take().unwrap_or_default().finish();
    let failure = (facts.format != Format::Mp4).then(|| {
        format!(
            "the file is {}; LinkedIn takes MP4 videos",
            facts.format.mime()
        )
    });
    a.processed = Some(Processed {
        facts,
        ready_at: now
            + Duration::seconds(i64::try_from(ctx.processing_secs).unwrap_or(i64::MAX / 4)),
        failure,
    });
    StatusCode::OK.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn little_text_renders_escapes_hashtags_and_mentions() {
        assert_eq!(
            render_little_text(
                "Mugs \\(new\\) {hashtag|\\#|handmade} by @[Maple](urn:li:organization:1)"
            )
            .unwrap(),
            "Mugs (new) #handmade by Maple"
        );
        assert_eq!(render_little_text("a\\_b \\#1").unwrap(), "a_b #1");
        assert_eq!(
            render_little_text("{hashtag|\\#|pottery\\_life}").unwrap(),
            "#pottery_life"
        );
    }

    #[test]
    fn unescaped_reserved_characters_are_refused() {
        for text in [
            "Mugs (new)",
            "#ceramics",
            "me@shop",
            "a_b",
            "x~y",
            "{hashtag|\\#|open",
            "end\\",
        ] {
            assert!(render_little_text(text).is_err(), "{text}");
        }
    }

    #[test]
    fn versions_of_the_last_twelve_months_are_active() {
        let now = DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(check_version(Some("202610"), now).unwrap(), "20261001");
        assert!(check_version(Some("202511"), now).is_ok());
        assert!(check_version(Some("202611"), now).is_ok());
        for bad in ["202510", "202612", "2026-10", "202613", "20261001"] {
            let res = check_version(Some(bad), now).unwrap_err();
            assert_eq!(res.status(), StatusCode::UPGRADE_REQUIRED, "{bad}");
        }
        assert_eq!(
            check_version(None, now).unwrap_err().status(),
            StatusCode::BAD_REQUEST
        );
    }
}
