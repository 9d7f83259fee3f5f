//! Publishing on Facebook Pages (PLATFORMS.md §3), always with the Page's own token (the one
//! `/me/accounts` hands out; a user token is refused with `(#210)`):
//!
//! - `POST /{page-id}/feed`: `message`, `link`, `published`, `scheduled_publish_time`, and
//!   `attached_media` (a JSON array, or `attached_media[n]` parameters, of `{"media_fbid": …}`)
//!   naming unpublished photos of the Page → `{"id": "{page-id}_{post-id}"}`.
//! - `POST /{page-id}/photos`: `url` (pulled for real) or a multipart `source`, `caption` (or
//!   `message`), `alt_text_custom`, `published` → `{"id", "post_id"}`, or only `{"id"}` for an
//!   unpublished photo kept for a multi-photo post.
//! - `POST /{page-id}/videos`: `file_url` (pulled) or a multipart `source`, `description`,
//!   `title`, `published`, with `publish_video` granted → `{"id"}`.
//!
//! Parameters may come in the query, a form, multipart or a JSON body alike. `GET /{id}` of a
//! post or video the token can see is answered by [`post_node`], with its engagement fields
//! from [`engagement`].

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};

use super::engagement;
use super::{Page, pages_of};
use crate::domain::Platform;
use crate::sandbox::dispatch::RouteCtx;
use crate::sandbox::errors::{Graph, graph_for_user, json_response};
use crate::sandbox::form::Form;
use crate::sandbox::graph;
use crate::sandbox::media::{self, Facts, FetchError};
use crate::sandbox::oauth::Params;
use crate::sandbox::personas;
use crate::sandbox::published::{Accepted, PublishedMedia, PublishedRecord};
use crate::sandbox::state::{Flavour, Shared, Token, lock};

/// Photos larger than this are refused (Facebook's photo guide says 10 MB).
const MAX_PHOTO_BYTES: u64 = 10 * 1024 * 1024;
/// A post's text (Postiz's `maxLength` for Facebook).
const MAX_MESSAGE: usize = 63_206;
/// `scheduled_publish_time` must be at least 10 minutes and at most 30 days ahead.
const MIN_SCHEDULE_SECS: i64 = 600;
const MAX_SCHEDULE_SECS: i64 = 30 * 86_400;
/// The permissions every Page publishing call needs, and the one videos add.
const POST_SCOPES: [&str; 2] = ["pages_manage_posts", "pages_read_engagement"];
const VIDEO_SCOPE: &str = "publish_video";

pub(in crate::sandbox) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/graph.facebook.com/{id}/feed", post(feed))
        .route("/graph.facebook.com/{id}/photos", post(photos))
        .route("/graph.facebook.com/{id}/videos", post(videos))
}

/// Photos uploaded with `published=false`, waiting to be attached to a post.
#[derive(Default)]
pub(crate) struct FbState {
    photos: HashMap<String, Photo>,
}

#[derive(Clone, Debug)]
struct Photo {
    page: String,
    facts: Facts,
    url: Option<String>,
    caption: String,
    alt_text: Option<String>,
    /// The post it went out in, once attached.
    attached_to: Option<String>,
}

/// The Page a request publishes on.
struct OnPage {
    page: Page,
}

impl OnPage {
    fn username(&self) -> String {
        personas::slug(&self.page.name).replace('-', "")
    }
}

/// The token must be the Page token of the Page the path names (`me` is the Page itself), with
/// `pages_manage_posts` and `pages_read_engagement` (and `publish_video` for videos).
fn on_page(
    shared: &Shared,
    ctx: &RouteCtx,
    params: &Params,
    headers: &HeaderMap,
    path_id: &str,
    video: bool,
) -> Result<OnPage, Response> {
    let token = super::authenticate(shared, ctx, params, headers)?;
    if token.flavour != Flavour::Page {
        return Err(graph::permission(
            ctx,
            210,
            "(#210) A page access token is required to request this resource.",
        ));
    }
    let own = token.page_id.clone().unwrap_or_default();
    if path_id != own && path_id != "me" {
        return Err(graph::unsupported(ctx, path_id));
    }
    let Some(page) = pages_of(&token.grant.account)
        .into_iter()
        .find(|p| p.id == own)
    else {
        return Err(graph::unsupported(ctx, path_id));
    };
    if POST_SCOPES.iter().any(|s| !token.grant.has_scope(s)) {
        return Err(graph::permission(
            ctx,
            200,
            "(#200) If posting to a page, requires both pages_read_engagement and pages_manage_posts as an admin with sufficient administrative permission",
        ));
    }
    if video && !token.grant.has_scope(VIDEO_SCOPE) {
        return Err(graph::permission(
            ctx,
            200,
            "(#200) Publishing videos on a Page requires the publish_video permission",
        ));
    }
    Ok(OnPage { page })
}

fn invalid(ctx: &RouteCtx, message: &str) -> Response {
    graph::bad_request(ctx, 100, message)
}

/// The body's parameters after the query's, and the bytes of a multipart `source`.
fn read(ctx: &RouteCtx, form: Form) -> Result<(Params, Option<Bytes>), Response> {
    if let Some(error) = &form.error {
        return Err(invalid(ctx, error));
    }
    let source = form.part("source").map(|p| p.bytes.clone());
    Ok((form.with_query(&ctx.params()).params, source))
}

/// `published` (default true).
fn published_flag(ctx: &RouteCtx, params: &Params) -> Result<bool, Response> {
    match params.get("published").map(graph::boolean) {
        None => Ok(true),
        Some(Some(b)) => Ok(b),
        Some(None) => Err(invalid(ctx, "(#100) Param published must be a boolean")),
    }
}

/// `scheduled_publish_time`: a Unix timestamp or an ISO-8601 time with its offset, 10 minutes
/// to 30 days ahead, and only on something that is not published now.
fn schedule(
    ctx: &RouteCtx,
    params: &Params,
    published: bool,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, Response> {
    let Some(raw) = params.get("scheduled_publish_time") else {
        return Ok(None);
    };
    if published {
        return Err(invalid(
            ctx,
            "(#100) You cannot specify a scheduled publish time on a published post",
        ));
    }
    let at = match raw.trim().parse::<i64>() {
        Ok(ts) => DateTime::from_timestamp(ts, 0),
        Err(_) => DateTime::parse_from_rfc3339(raw.trim())
            .or_else(|_| DateTime::parse_from_str(raw.trim(), "%Y-%m-%dT%H:%M:%S%z"))
            .ok()
            .map(|t| t.with_timezone(&Utc)),
    };
    let Some(at) = at else {
        return Err(invalid(
            ctx,
            "(#100) Param scheduled_publish_time must be a UNIX timestamp or an ISO 8601 time",
        ));
    };
    if at < now + Duration::seconds(MIN_SCHEDULE_SECS) {
        return Err(invalid(
            ctx,
            "(#100) scheduled_publish_time must be at least 10 minutes in the future",
        ));
    }
    if at > now + Duration::seconds(MAX_SCHEDULE_SECS) {
        return Err(invalid(
            ctx,
            "(#100) scheduled_publish_time must be no more than 30 days in the future",
        ));
    }
    Ok(Some(at))
}

fn check_message(ctx: &RouteCtx, text: &str) -> Result<(), Response> {
    let chars = text.chars().count();
    if chars > MAX_MESSAGE {
        return Err(invalid(
            ctx,
            &format!(
                "(#100) The message is {chars} characters long; at most {MAX_MESSAGE} are allowed."
            ),
        ));
    }
    Ok(())
}

/// The post's URL on facebook.com: the composite id resolves to the post.
fn post_url(post_id: &str) -> String {
    format!("https://www.facebook.com/{post_id}")
}

/// What a publishing answer says: the ids, plus any `fields` asked for on the POST (Postiz asks
/// for `id,permalink_url`).
fn answer(
    ctx: &RouteCtx,
    params: &Params,
    base: Map<String, Value>,
    url: &str,
    created: DateTime<Utc>,
) -> Response {
    if params.get("fields").is_none() {
        return json_response(StatusCode::OK, Value::Object(base));
    }
    let node = graph::select(ctx, params, "Post", &["id"], |field| {
        Some(Some(match field {
            "permalink_url" if url.is_empty() => return Some(None),
            "permalink_url" => json!(url),
            "created_time" => json!(graph::timestamp(created)),
            other => match base.get(other) {
                Some(v) => v.clone(),
                None if other == "post_id" => return Some(None),
                None => return None,
            },
        }))
    });
    match node {
        Ok(mut n) => {
            for (k, v) in base {
                n.entry(k).or_insert(v);
            }
            json_response(StatusCode::OK, Value::Object(n))
        }
        Err(res) => res,
    }
}

// ---------------------------------------------------------------------------------------------
// Feed

/// `POST /{page-id}/feed`.
async fn feed(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    Path(path_id): Path<String>,
    headers: HeaderMap,
    form: Form,
) -> Response {
    let (params, _) = match read(&ctx, form) {
        Ok(p) => p,
        Err(res) => return res,
    };
    let on = match on_page(&shared, &ctx, &params, &headers, &path_id, false) {
        Ok(o) => o,
        Err(res) => return res,
    };
    let now = shared.clock.now();
    let message = params.raw("message").unwrap_or("").to_owned();
    if let Err(res) = check_message(&ctx, &message) {
        return res;
    }
    let link = params.get("link").map(str::to_owned);
    if let Some(l) = &link
        && !media::is_http_url(l)
    {
        return invalid(&ctx, "(#100) The link parameter is not a valid URL");
    }
    let published = match published_flag(&ctx, &params) {
        Ok(p) => p,
        Err(res) => return res,
    };
    let scheduled = match schedule(&ctx, &params, published, now) {
        Ok(s) => s,
        Err(res) => return res,
    };
    let fbids = match attached_media(&ctx, &params) {
        Ok(ids) => ids,
        Err(res) => return res,
    };
    if message.trim().is_empty() && link.is_none() && fbids.is_empty() {
        return invalid(&ctx, "(#100) Missing message or attachment.");
    }

    let post_id = format!("{}_{}", on.page.id, shared.new_digits(16));
    let mut media = Vec::new();
    let mut photos = Vec::new();
    {
        let mut state = lock(&shared.facebook);
        for (i, id) in fbids.iter().enumerate() {
            let usable = state
                .photos
                .get(id)
                .is_some_and(|p| p.page == on.page.id && p.attached_to.is_none());
            if !usable {
                return invalid(
                    &ctx,
                    &format!(
                        "(#100) attached_media[{i}]: {id} is not an unpublished photo of this Page that can still be attached"
                    ),
                );
            }
        }
        // Only a post that will be seen takes its photos; an unpublished draft leaves them free.
        let goes_out = published || scheduled.is_some();
        for id in &fbids {
            if let Some(p) = state.photos.get_mut(id) {
                if goes_out {
                    p.attached_to = Some(post_id.clone());
                }
                media.push(PublishedMedia::new(&p.facts, p.url.as_deref(), Some(id)));
                photos.push(photo_options(id, p));
            }
        }
    }

    let url = post_url(&post_id);
    if published || scheduled.is_some() {
        let kind = if !fbids.is_empty() {
            "photos"
        } else if link.is_some() {
            "link"
        } else {
            "post"
        };
        let mut options = Map::new();
        if let Some(l) = &link {
            options.insert("link".into(), json!(l));
        }
        if !photos.is_empty() {
            options.insert("attached_media".into(), json!(photos));
        }
        if let Some(at) = scheduled {
            options.insert("published".into(), json!(false));
            options.insert("scheduled_publish_time".into(), json!(at.timestamp()));
        }
        record(
            &shared, &ctx, &on, kind, &post_id, &url, &message, media, options,
        );
    }
    let mut base = Map::new();
    base.insert("id".into(), json!(post_id));
    answer(&ctx, &params, base, &url, now)
}

/// `attached_media` as a JSON array, or `attached_media[0]`, `attached_media[1]`… each a JSON
/// object; every entry needs a `media_fbid`.
fn attached_media(ctx: &RouteCtx, params: &Params) -> Result<Vec<String>, Response> {
    let mut entries: Vec<(String, Value)> = Vec::new();
    if let Some(raw) = params.get("attached_media") {
        match serde_json::from_str::<Value>(raw) {
            Ok(Value::Array(items)) => {
                entries.extend(
                    items
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| (format!("attached_media[{i}]"), v)),
                );
            }
            _ => {
                return Err(invalid(
                    ctx,
                    "(#100) Param attached_media must be an array of objects with a media_fbid",
                ));
            }
        }
    }
    let mut indexed: Vec<(usize, &str)> = Vec::new();
    for (key, value) in params.pairs() {
        let Some(index) = key
            .strip_prefix("attached_media[")
            .and_then(|rest| rest.strip_suffix(']'))
        else {
            continue;
        };
        let Ok(index) = index.parse::<usize>() else {
            return Err(invalid(ctx, &format!("(#100) Param {key} is not valid")));
        };
        indexed.push((index, value));
    }
    indexed.sort_by_key(|(i, _)| *i);
    for (index, raw) in indexed {
        let name = format!("attached_media[{index}]");
        match serde_json::from_str::<Value>(raw) {
            Ok(v) => entries.push((name, v)),
            Err(_) => {
                return Err(invalid(
                    ctx,
                    &format!("(#100) Param {name} must be a JSON object with a media_fbid"),
                ));
            }
        }
    }
    entries
        .into_iter()
        .map(|(name, v)| {
            let id = v.get("media_fbid").and_then(|id| {
                id.as_str()
                    .map(str::to_owned)
                    .or_else(|| id.as_u64().map(|n| n.to_string()))
            });
            id.filter(|id| !id.is_empty()).ok_or_else(|| {
                invalid(
                    ctx,
                    &format!("(#100) Param {name} must be a JSON object with a media_fbid"),
                )
            })
        })
        .collect()
}

fn photo_options(id: &str, p: &Photo) -> Value {
    let mut o = json!({ "media_fbid": id });
    if !p.caption.is_empty() {
        o["caption"] = json!(p.caption);
    }
    if let Some(alt) = &p.alt_text {
        o["alt_text_custom"] = json!(alt);
    }
    o
}

#[allow(clippy::too_many_arguments)]
fn record(
    shared: &Shared,
    ctx: &RouteCtx,
    on: &OnPage,
    kind: &'static str,
    remote_id: &str,
    url: &str,
    text: &str,
    media: Vec<PublishedMedia>,
    options: Map<String, Value>,
) -> PublishedRecord {
    shared.record_published(Accepted {
        request_seq: ctx.seq,
        at: shared.clock.now(),
        platform: Platform::Facebook,
        account_id: on.page.id.clone(),
        account: on.username(),
        kind,
        remote_id: remote_id.to_owned(),
        url: Some(url.to_owned()),
        text: text.to_owned(),
        media,
        options,
    })
}

// ---------------------------------------------------------------------------------------------
// Photos

/// `POST /{page-id}/photos`.
async fn photos(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    Path(path_id): Path<String>,
    headers: HeaderMap,
    form: Form,
) -> Response {
    let (params, source) = match read(&ctx, form) {
        Ok(p) => p,
        Err(res) => return res,
    };
    let on = match on_page(&shared, &ctx, &params, &headers, &path_id, false) {
        Ok(o) => o,
        Err(res) => return res,
    };
    let now = shared.clock.now();
    let caption = params
        .raw("caption")
        .or_else(|| params.raw("message"))
        .unwrap_or("")
        .to_owned();
    if let Err(res) = check_message(&ctx, &caption) {
        return res;
    }
    let published = match published_flag(&ctx, &params) {
        Ok(p) => p,
        Err(res) => return res,
    };
    let scheduled = match schedule(&ctx, &params, published, now) {
        Ok(s) => s,
        Err(res) => return res,
    };
    let alt_text = params.get("alt_text_custom").map(str::to_owned);
    let url = params.get("url").map(str::to_owned);
    let facts = match (&source, &url) {
        (Some(bytes), _) => Facts::of(bytes),
        (None, Some(u)) => {
            if !media::is_http_url(u) {
                return invalid(&ctx, "(#100) url should represent a valid URL");
            }
            match media::fetch(&shared.http, u, media::IMAGE_FETCH_CAP).await {
                Ok(f) => f,
                Err(e) => return unusable_photo(&ctx, &why_not(&e, u)),
            }
        }
        (None, None) => {
            return graph::bad_request(&ctx, 324, "(#324) Requires upload file");
        }
    };
    if !facts.format.is_image() || facts.width.is_none() {
        return unusable_photo(
            &ctx,
            &format!(
                "The file is {}; Facebook takes JPEG, PNG, GIF or WebP photos.",
                facts.format.mime()
            ),
        );
    }
    if facts.size > MAX_PHOTO_BYTES {
        return unusable_photo(&ctx, "The photo is larger than 10 MB.");
    }
    let source_url = if source.is_some() { None } else { url };
    let photo_id = shared.new_digits(16);
    let photo = Photo {
        page: on.page.id.clone(),
        facts: facts.clone(),
        url: source_url.clone(),
        caption: caption.clone(),
        alt_text: alt_text.clone(),
        attached_to: None,
    };
    let mut base = Map::new();
    base.insert("id".into(), json!(photo_id));
    if !published && scheduled.is_none() {
        // Kept for a multi-photo post (`attached_media`); nobody sees it yet.
        lock(&shared.facebook).photos.insert(photo_id, photo);
        return answer(&ctx, &params, base, "", now);
    }
    // A photo post: the story's id ends with the photo's.
    let post_id = format!("{}_{photo_id}", on.page.id);
    let url = post_url(&post_id);
    let mut options = Map::new();
    options.insert("photo_id".into(), json!(photo_id));
    if let Some(alt) = &alt_text {
        options.insert("alt_text_custom".into(), json!(alt));
    }
    if let Some(at) = scheduled {
        options.insert("published".into(), json!(false));
        options.insert("scheduled_publish_time".into(), json!(at.timestamp()));
    }
    let media = vec![PublishedMedia::new(
        &facts,
        source_url.as_deref(),
        Some(&photo_id),
    )];
    lock(&shared.facebook).photos.insert(
        photo_id,
        Photo {
            attached_to: Some(post_id.clone()),
            ..photo
        },
    );
    record(
        &shared, &ctx, &on, "photo", &post_id, &url, &caption, media, options,
    );
    base.insert("post_id".into(), json!(post_id));
    answer(&ctx, &params, base, &url, now)
}

fn why_not(e: &FetchError, url: &str) -> String {
    match e {
        FetchError::TooLarge => "The photo is larger than 10 MB.".into(),
        other => other.describe(url),
    }
}

/// Graph's answer for a photo it could not download or read.
fn unusable_photo(ctx: &RouteCtx, why: &str) -> Response {
    graph_for_user(
        ctx,
        StatusCode::BAD_REQUEST,
        Graph {
            message: "(#324) Missing or invalid image file",
            kind: "OAuthException",
            code: 324,
            subcode: None,
        },
        "Invalid photo",
        why,
    )
}

// ---------------------------------------------------------------------------------------------
// Videos

/// `POST /{page-id}/videos` with `file_url` or a multipart `source` (the resumable
/// `upload_phase` flow is not emulated).
async fn videos(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    Path(path_id): Path<String>,
    headers: HeaderMap,
    form: Form,
) -> Response {
    let (params, source) = match read(&ctx, form) {
        Ok(p) => p,
        Err(res) => return res,
    };
    let on = match on_page(&shared, &ctx, &params, &headers, &path_id, true) {
        Ok(o) => o,
        Err(res) => return res,
    };
    if params.get("upload_phase").is_some() {
        return invalid(
            &ctx,
            "(#100) The sandbox does not emulate resumable video uploads (upload_phase); send file_url or a multipart source.",
        );
    }
    let now = shared.clock.now();
    let description = params.raw("description").unwrap_or("").to_owned();
    if let Err(res) = check_message(&ctx, &description) {
        return res;
    }
    let published = match published_flag(&ctx, &params) {
        Ok(p) => p,
        Err(res) => return res,
    };
    let scheduled = match schedule(&ctx, &params, published, now) {
        Ok(s) => s,
        Err(res) => return res,
    };
    let file_url = params.get("file_url").map(str::to_owned);
    let facts = match (&source, &file_url) {
        (Some(bytes), _) => Facts::of(bytes),
        (None, Some(u)) => match media::fetch(&shared.http, u, media::VIDEO_FETCH_CAP).await {
            Ok(f) => f,
            Err(_) => {
                return graph::bad_request(
                    &ctx,
                    389,
                    "(#389) Unable to fetch video file from URL.",
                );
            }
        },
        (None, None) => {
            return invalid(
                &ctx,
                "(#100) A video needs file_url or a source file (multipart).",
            );
        }
    };
    if !facts.format.is_video() {
        return graph::bad_request(
            &ctx,
            352,
            "(#352) Sorry, the video file you selected is in a format that we don't support.",
        );
    }
    let video_id = shared.new_digits(16);
    let url = format!("https://www.facebook.com/{}/videos/{video_id}", on.page.id);
    if published || scheduled.is_some() {
        let source_url = if source.is_some() { None } else { file_url };
        let mut options = Map::new();
        if let Some(title) = params.get("title") {
            options.insert("title".into(), json!(title));
        }
        if let Some(at) = scheduled {
            options.insert("published".into(), json!(false));
            options.insert("scheduled_publish_time".into(), json!(at.timestamp()));
        }
        let media = vec![PublishedMedia::new(
            &facts,
            source_url.as_deref(),
            Some(&video_id),
        )];
        record(
            &shared,
            &ctx,
            &on,
            "video",
            &video_id,
            &url,
            &description,
            media,
            options,
        );
    }
    let mut base = Map::new();
    base.insert("id".into(), json!(video_id));
    answer(&ctx, &params, base, &url, now)
}

// ---------------------------------------------------------------------------------------------
// Reading back

/// `GET /{post-id}` (or a video id) for something published on a Page the token reaches, or
/// `None` when the id is no such thing.
pub(super) fn post_node(
    shared: &Shared,
    ctx: &RouteCtx,
    params: &Params,
    token: &Token,
    id: &str,
) -> Option<Response> {
    let record = shared
        .published()
        .find(Platform::Facebook, id)
        .cloned()
        .filter(|r| match &token.page_id {
            Some(own) => own == &r.account_id,
            None => token.grant.pages.contains(&r.account_id),
        })?;
    let node_type = if record.kind == "video" {
        "Video"
    } else {
        "Post"
    };
    let asked = match engagement::check(ctx, params, token, &record) {
        Ok(a) => a,
        Err(res) => return Some(res),
    };
    let now = shared.clock.now();
    let node = graph::select(ctx, params, node_type, &["id"], |field| {
        Some(Some(match field {
            "id" => json!(record.remote_id),
            "message" | "description" if record.text.is_empty() => return Some(None),
            "message" | "description" => json!(record.text),
            "created_time" => json!(graph::timestamp(record.at)),
            "permalink_url" => json!(record.url),
            "is_published" => json!(record.options.get("scheduled_publish_time").is_none()),
            "from" => json!({ "id": record.account_id, "name": record.account }),
            other => return engagement::field(&record, &asked, other, now),
        }))
    });
    Some(match node {
        Ok(n) => json_response(StatusCode::OK, Value::Object(n)),
        Err(res) => res,
    })
}
