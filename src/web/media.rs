//! `/media`: the media library pages and the files themselves.
//!
//! - `GET /media?q=&page=`: the grid (newest first), search by file name and alt text, pages,
//!   and the upload form. The form posts `multipart/form-data` to `/media/upload` with the CSRF
//!   token in the query string, so it works without JavaScript; app.js adds drag and drop and
//!   sends each file on its own with a progress bar, asking for JSON results.
//! - `GET /media/{id}`: a larger preview, the facts, the alt text form, delete (confirmed in a
//!   `<details>`, refused while a post that hasn't gone out uses the item, naming those posts).
//! - `GET /media/{id}/file` and `/thumb`: the owner's bytes (`Cache-Control: private`, an ETag
//!   from the SHA-256, byte ranges for video).
//! - `GET /m/{id}?exp=&sig=`: signed, expiring public links (see `media::signed`).
//!
//! Upload routes live in `upload_router()` so only they get the large body limit; the public
//! link lives in `public_router()`, outside sessions and the per-address rate limit, as
//! platforms fetch from many addresses.

use std::ops::Range;

use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::{Form, Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use uuid::Uuid;

use crate::entities::enums::{MediaKind, PostStatus};
use crate::entities::media as media_row;
use crate::error::AppError;
use crate::media::{self, AltText, DeleteError, Format, Paging, PostUse, UploadError};
use crate::state::AppState;
use crate::web::connections::format_time;
use crate::web::render;
use crate::web::session::{self, CurrentUser, FlashKind, PageContext};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/media", get(index))
        .route("/media/{id}", get(show))
        .route("/media/{id}/alt", post(save_alt))
        .route("/media/{id}/delete", post(delete))
        .route("/media/{id}/file", get(file))
        .route("/media/{id}/thumb", get(thumb))
}

/// The upload route, which `web::router` gives the large body limit.
pub fn upload_router() -> Router<AppState> {
    Router::new().route("/media/upload", post(upload))
}

/// Signed public links: no session, no rate limit.
pub fn public_router() -> Router<AppState> {
    Router::new()
        .route("/m/{id}", get(public_file))
        .route("/m/{id}/jpeg", get(public_jpeg))
}

/// What the file input accepts (the server decides from the bytes anyway).
const ACCEPT: &str = "image/jpeg,image/png,image/webp,image/gif,video/mp4,video/quicktime,.jpg,.jpeg,.png,.webp,.gif,.mp4,.mov";

fn parse_id(raw: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(raw).map_err(|_| AppError::NotFound)
}

async fn owned(state: &AppState, user_id: Uuid, id: &str) -> Result<media_row::Model, AppError> {
    media::find_for_user(&state.db, user_id, parse_id(id)?)
        .await?
        .ok_or(AppError::NotFound)
}

// ---- the grid ----

/// A tile in the grid.
pub struct Card {
    pub id: Uuid,
    pub name: String,
    pub alt: String,
    pub facts: String,
    pub duration: Option<String>,
    pub is_video: bool,
    pub thumb_width: u32,
    pub thumb_height: u32,
}

/// `JPEG · 1200 × 800 · 1.2 MB` (videos add their duration).
fn facts(m: &media_row::Model) -> String {
    let mut parts = vec![
        Format::from_mime(&m.mime)
            .map(Format::label)
            .unwrap_or("?")
            .to_owned(),
    ];
    if let Some(d) = dimensions(m) {
        parts.push(d);
    }
    if let Some(d) = m.duration_ms {
        parts.push(media::human_duration(i64::from(d)));
    }
    parts.push(media::human_size(
        u64::try_from(m.size_bytes).unwrap_or_default(),
    ));
    parts.join(" · ")
}

fn dimensions(m: &media_row::Model) -> Option<String> {
    match (m.width, m.height) {
        (Some(w), Some(h)) => Some(format!("{w} × {h}")),
        _ => None,
    }
}

fn card(m: &media_row::Model) -> Card {
    let (thumb_width, thumb_height) = media::thumbs::fit(
        m.width.and_then(|w| u32::try_from(w).ok()).unwrap_or(0),
        m.height.and_then(|h| u32::try_from(h).ok()).unwrap_or(0),
    );
    Card {
        id: m.id,
        name: m.original_filename.clone(),
        alt: m.alt_text.clone(),
        facts: facts(m),
        duration: m.duration_ms.map(|d| media::human_duration(i64::from(d))),
        is_video: m.kind == MediaKind::Video,
        thumb_width,
        thumb_height,
    }
}

#[derive(Template)]
#[template(path = "media/index.html")]
struct IndexPage {
    ctx: PageContext,
    cards: Vec<Card>,
    q: String,
    page: u64,
    total_pages: u64,
    total: u64,
    prev_href: Option<String>,
    next_href: Option<String>,
    accept: &'static str,
    limits: String,
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: String,
}

fn list_href(q: &str, page: u64) -> String {
    let mut href = String::from("/media?");
    if !q.is_empty() {
        href.push_str("q=");
        href.extend(url::form_urlencoded::byte_serialize(q.as_bytes()));
        href.push('&');
    }
    href.push_str(&format!("page={page}"));
    href
}

async fn index(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    let q = query.q.trim().to_owned();
    let number = query.page.trim().parse::<u64>().unwrap_or(1).max(1);
    let listed = media::list_for_user(&state.db, user.id, Paging::new(number), Some(&q)).await?;
    let limits = state.media.limits();
    render::page(&IndexPage {
        ctx: ctx.at("media"),
        cards: listed.items.iter().map(card).collect(),
        prev_href: (listed.page > 1)
            .then(|| list_href(&q, (listed.page - 1).min(listed.total_pages))),
        next_href: (listed.page < listed.total_pages).then(|| list_href(&q, listed.page + 1)),
        q,
        page: listed.page,
        total_pages: listed.total_pages,
        total: listed.total,
        accept: ACCEPT,
        limits: format!(
            "Photos: JPEG, PNG, WebP or GIF up to {}. Videos: MP4 or MOV up to {}.",
            media::human_size(limits.image_bytes),
            media::human_size(limits.video_bytes)
        ),
    })
}

// ---- uploading ----

/// One file's outcome, as the upload script reads it.
#[derive(Serialize)]
pub struct FileResult {
    pub name: String,
    /// `stored`, `duplicate` or `refused`.
    pub status: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
}

#[derive(Serialize)]
struct UploadResults {
    files: Vec<FileResult>,
}

async fn upload(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: Session,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"));
    let mut results: Vec<FileResult> = Vec::new();
    let too_large = format!(
        "This upload is larger than we accept in one go ({}). Send fewer or smaller files at a time.",
        media::human_size(state.media.limits().request_bytes() as u64)
    );
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                results.push(refused("", too_large.clone()));
                break;
            }
            Err(_) => {
                return Err(AppError::BadRequest(
                    "The upload stopped before every file arrived. Please try again.".into(),
                ));
            }
        };
        if field.name() != Some("file") {
            continue;
        }
        // A form sent with no file chosen still carries one empty, nameless part.
        let Some(name) = field.file_name().filter(|n| !n.is_empty()) else {
            continue;
        };
        let name = media::upload::clean_file_name(name);
        match media::accept_field(&state.db, &state.media, user.id, field).await {
            Ok(up) if up.duplicate => results.push(FileResult {
                message: if up.media.original_filename == name {
                    "Already in your library, so nothing new was added.".into()
                } else {
                    format!(
                        "Already in your library as “{}”, so nothing new was added.",
                        up.media.original_filename
                    )
                },
                status: "duplicate",
                id: Some(up.media.id),
                href: Some(format!("/media/{}", up.media.id)),
                name,
            }),
            Ok(up) => results.push(FileResult {
                message: "Added to your library.".into(),
                status: "stored",
                id: Some(up.media.id),
                href: Some(format!("/media/{}", up.media.id)),
                name,
            }),
            Err(UploadError::Refused(r)) => results.push(refused(&name, r.to_string())),
            Err(UploadError::RequestTooLarge) => {
                results.push(refused(&name, too_large.clone()));
                break;
            }
            Err(UploadError::Interrupted) => {
                return Err(AppError::BadRequest(
                    "The upload stopped before the whole file arrived. Please try again.".into(),
                ));
            }
            Err(UploadError::Internal(e)) => {
                tracing::error!(error = ?e, "storing an upload failed");
                results.push(refused(
                    &name,
                    "Something went wrong on our side while storing this file. Nothing was kept; please try again in a moment.".into(),
                ));
            }
        }
    }

    if wants_json {
        return Ok(axum::Json(UploadResults { files: results }).into_response());
    }
    if results.is_empty() {
        session::flash(
            &session,
            FlashKind::Error,
            "Choose at least one photo or video to upload.",
        )
        .await?;
    }
    let stored: Vec<&str> = results
        .iter()
        .filter(|r| r.status == "stored")
        .map(|r| r.name.as_str())
        .collect();
    match stored.as_slice() {
        [] => {}
        [one] => {
            session::flash(
                &session,
                FlashKind::Success,
                format!("Added {one} to your library."),
            )
            .await?
        }
        many => {
            session::flash(
                &session,
                FlashKind::Success,
                format!(
                    "Added {} files to your library: {}.",
                    many.len(),
                    many.join(", ")
                ),
            )
            .await?
        }
    }
    for r in results.iter().filter(|r| r.status != "stored") {
        let (kind, message) = if r.status == "duplicate" {
            (FlashKind::Info, format!("{}: {}", r.name, r.message))
        } else if r.name.is_empty() {
            (FlashKind::Error, r.message.clone())
        } else {
            (
                FlashKind::Error,
                format!("We couldn't add {}. {}", r.name, r.message),
            )
        };
        session::flash(&session, kind, message).await?;
    }
    Ok(Redirect::to("/media").into_response())
}

fn refused(name: &str, message: String) -> FileResult {
    FileResult {
        name: name.to_owned(),
        status: "refused",
        message,
        id: None,
        href: None,
    }
}

// ---- one item ----

pub struct ItemView {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub is_video: bool,
    pub size: String,
    pub dimensions: Option<String>,
    pub duration: Option<String>,
    pub uploaded: String,
    pub sha256: String,
    pub width: Option<i32>,
    pub height: Option<i32>,
}

/// A post holding the item, as the delete refusal names it.
pub struct UseView {
    pub excerpt: String,
    pub when: String,
}

fn use_view(u: &PostUse, tz: &str) -> UseView {
    let at = u.scheduled_at.map(|t| format_time(t, tz));
    let when = match (u.status, at) {
        (PostStatus::Scheduled, Some(at)) => format!("scheduled for {at}"),
        (PostStatus::Draft, Some(at)) => format!("draft, planned for {at}"),
        (PostStatus::Draft, None) => "draft, not scheduled yet".into(),
        (PostStatus::Publishing, _) => "being published right now".into(),
        (PostStatus::Partial, _) => "published on some networks, still due on others".into(),
        (PostStatus::Failed, _) => "failed, waiting for a retry".into(),
        (PostStatus::Unknown, _) => "waiting for you to check whether it went out".into(),
        (_, Some(at)) => format!("scheduled for {at}"),
        (_, None) => "not scheduled yet".into(),
    };
    UseView {
        excerpt: u.excerpt.clone(),
        when,
    }
}

#[derive(Template)]
#[template(path = "media/show.html")]
struct ShowPage {
    ctx: PageContext,
    item: ItemView,
    alt_text: String,
    alt_error: Option<String>,
    alt_max: usize,
    in_use: Vec<UseView>,
}

fn item_view(m: &media_row::Model, tz: &str) -> ItemView {
    ItemView {
        id: m.id,
        name: m.original_filename.clone(),
        kind: media::describe(m),
        is_video: m.kind == MediaKind::Video,
        size: media::human_size(u64::try_from(m.size_bytes).unwrap_or_default()),
        dimensions: dimensions(m),
        duration: m.duration_ms.map(|d| media::human_duration(i64::from(d))),
        uploaded: format_time(m.created_at, tz),
        sha256: m.sha256.clone(),
        width: m.width,
        height: m.height,
    }
}

fn show_page(
    ctx: PageContext,
    m: &media_row::Model,
    tz: &str,
    alt_text: String,
    alt_error: Option<String>,
    in_use: &[PostUse],
) -> ShowPage {
    ShowPage {
        ctx: ctx.at("media"),
        item: item_view(m, tz),
        alt_text,
        alt_error,
        alt_max: media::ALT_TEXT_MAX,
        in_use: in_use.iter().map(|u| use_view(u, tz)).collect(),
    }
}

async fn show(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let m = owned(&state, user.id, &id).await?;
    render::page(&show_page(
        ctx,
        &m,
        &user.time_zone,
        m.alt_text.clone(),
        None,
        &[],
    ))
}

#[derive(Deserialize)]
pub struct AltForm {
    #[serde(default)]
    alt_text: String,
}

async fn save_alt(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<AltForm>,
) -> Result<Response, AppError> {
    let m = owned(&state, user.id, &id).await?;
    let alt = match AltText::parse(&form.alt_text) {
        Ok(a) => a,
        Err(message) => {
            let page = show_page(ctx, &m, &user.time_zone, form.alt_text, Some(message), &[]);
            return render::page_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    media::set_alt_text(&state.db, user.id, m.id, &alt)
        .await?
        .ok_or(AppError::NotFound)?;
    let message = if alt.as_str().is_empty() {
        "Alt text removed."
    } else {
        "Alt text saved."
    };
    session::flash(&session, FlashKind::Success, message).await?;
    Ok(Redirect::to(&format!("/media/{}", m.id)).into_response())
}

async fn delete(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    match media::delete_for_user(&state.db, &state.media, user.id, id).await {
        Ok(m) => {
            session::flash(
                &session,
                FlashKind::Success,
                format!("Deleted {}.", m.original_filename),
            )
            .await?;
            Ok(Redirect::to("/media").into_response())
        }
        Err(DeleteError::NotFound) => Err(AppError::NotFound),
        Err(DeleteError::InUse(posts)) => {
            let m = owned(&state, user.id, &id.to_string()).await?;
            let page = show_page(ctx, &m, &user.time_zone, m.alt_text.clone(), None, &posts);
            render::page_with_status(StatusCode::CONFLICT, &page)
        }
        Err(DeleteError::Db(e)) => Err(e.into()),
    }
}

// ---- the bytes ----

async fn file(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let m = owned(&state, user.id, &id).await?;
    serve_original(&state, &m, &headers, "private, max-age=3600").await
}

async fn thumb(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let m = owned(&state, user.id, &id).await?;
    serve_thumbnail(&state, &m, &headers, "private, max-age=86400").await
}

#[derive(Deserialize)]
pub struct SignedQuery {
    #[serde(default)]
    exp: String,
    #[serde(default)]
    sig: String,
}

async fn public_file(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<SignedQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    // The signature is checked before the database is asked, so a bad link can't even learn
    // whether the item exists.
    let exp: i64 = q.exp.parse().map_err(|_| AppError::Forbidden)?;
    if !media::signed::verify(&state.config, id, exp, &q.sig, Utc::now().timestamp()) {
        return Err(AppError::Forbidden);
    }
    let m = media::find_by_id(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let remaining = (exp - Utc::now().timestamp()).clamp(0, 3600);
    serve_original(
        &state,
        &m,
        &headers,
        &format!("private, max-age={remaining}"),
    )
    .await
}

/// The JPEG rendition of a photo behind a signed link (made on first request if needed).
async fn public_jpeg(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<SignedQuery>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    let exp: i64 = q.exp.parse().map_err(|_| AppError::Forbidden)?;
    if !media::signed::verify_jpeg(&state.config, id, exp, &q.sig, Utc::now().timestamp()) {
        return Err(AppError::Forbidden);
    }
    let m = media::find_by_id(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let key = media::rendition::ensure_jpeg(&state.media, &m)
        .await
        .map_err(AppError::Internal)?;
    let bytes = state
        .media
        .read(&key)
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let remaining = (exp - Utc::now().timestamp()).clamp(0, 3600);
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg".to_owned()),
            (
                header::CACHE_CONTROL,
                format!("private, max-age={remaining}"),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// An item's original file.
pub async fn serve_original(
    state: &AppState,
    m: &media_row::Model,
    headers: &HeaderMap,
    cache_control: &str,
) -> Result<Response, AppError> {
    serve(
        state,
        Object {
            key: &m.storage_key,
            mime: &m.mime,
            etag: format!("\"{}\"", m.sha256),
            size: u64::try_from(m.size_bytes).ok(),
            file_name: Some(&m.original_filename),
        },
        headers,
        cache_control,
    )
    .await
}

/// An item's thumbnail (the neutral poster for a video).
pub async fn serve_thumbnail(
    state: &AppState,
    m: &media_row::Model,
    headers: &HeaderMap,
    cache_control: &str,
) -> Result<Response, AppError> {
    let key = m.thumbnail_key.as_deref().ok_or(AppError::NotFound)?;
    let mime = match key.rsplit_once('.').map(|(_, ext)| ext) {
        Some("webp") => "image/webp",
        Some("png") => "image/png",
        _ => "image/jpeg",
    };
    serve(
        state,
        Object {
            key,
            mime,
            etag: format!("\"{}-thumb\"", m.sha256),
            size: None,
            file_name: None,
        },
        headers,
        cache_control,
    )
    .await
}

struct Object<'a> {
    key: &'a str,
    mime: &'a str,
    etag: String,
    /// Known for originals, which then serve byte ranges.
    size: Option<u64>,
    file_name: Option<&'a str>,
}

async fn serve(
    state: &AppState,
    object: Object<'_>,
    headers: &HeaderMap,
    cache_control: &str,
) -> Result<Response, AppError> {
    let cache = HeaderValue::from_str(cache_control)
        .unwrap_or(HeaderValue::from_static("private, no-cache"));
    let etag = HeaderValue::from_str(&object.etag).map_err(|e| AppError::Internal(e.into()))?;
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == object.etag || t.trim() == "*")
        });
    if not_modified {
        let mut res = StatusCode::NOT_MODIFIED.into_response();
        res.headers_mut().insert(header::ETAG, etag);
        res.headers_mut().insert(header::CACHE_CONTROL, cache);
        return Ok(res);
    }
    let range = object
        .size
        .and_then(|size| requested_range(headers, size, &object.etag));
    let got = match state.media.get(object.key, range.clone()).await {
        Ok(g) => g,
        Err(object_store::Error::NotFound { .. }) => {
            tracing::error!(key = object.key, "a media row points at a missing object");
            return Err(AppError::NotFound);
        }
        Err(e) => return Err(AppError::Internal(e.into())),
    };
    let total = got.meta.size;
    let served = got.range.clone();
    let mut res = Response::new(Body::from_stream(got.into_stream()));
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(object.mime)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(served.end - served.start),
    );
    h.insert(header::ETAG, etag);
    h.insert(header::CACHE_CONTROL, cache);
    if object.size.is_some() {
        h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    }
    if let Some(name) = object.file_name
        && let Ok(v) = HeaderValue::from_str(&format!(
            "inline; filename*=UTF-8''{}",
            percent_encode(name)
        ))
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if range.is_some() {
        *res.status_mut() = StatusCode::PARTIAL_CONTENT;
        if let Ok(v) = HeaderValue::from_str(&format!(
            "bytes {}-{}/{total}",
            served.start,
            served.end.saturating_sub(1)
        )) {
            res.headers_mut().insert(header::CONTENT_RANGE, v);
        }
    }
    Ok(res)
}

/// The one byte range asked for (`bytes=a-b`, `bytes=a-`, `bytes=-n`), when it can be served.
/// Anything else — several ranges, nonsense, a range past the end, an `If-Range` for another
/// version — gets the whole file, as HTTP allows.
fn requested_range(headers: &HeaderMap, size: u64, etag: &str) -> Option<Range<u64>> {
    if let Some(if_range) = headers.get(header::IF_RANGE)
        && if_range.to_str().ok() != Some(etag)
    {
        return None;
    }
    let spec = headers
        .get(header::RANGE)?
        .to_str()
        .ok()?
        .trim()
        .strip_prefix("bytes=")?;
    if spec.contains(',') || size == 0 {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let (start, end) = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().ok()?;
            if n == 0 {
                return None;
            }
            (size.saturating_sub(n), size - 1)
        }
        (start, "") => (start.parse().ok()?, size - 1),
        (start, end) => (start.parse().ok()?, end.parse::<u64>().ok()?.min(size - 1)),
    };
    (start <= end && start < size).then_some(start..end + 1)
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_range(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::RANGE, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn byte_ranges_are_read_like_browsers_send_them() {
        assert_eq!(
            requested_range(&with_range("bytes=0-99"), 1000, "e"),
            Some(0..100)
        );
        assert_eq!(
            requested_range(&with_range("bytes=900-"), 1000, "e"),
            Some(900..1000)
        );
        assert_eq!(
            requested_range(&with_range("bytes=-100"), 1000, "e"),
            Some(900..1000)
        );
        assert_eq!(
            requested_range(&with_range("bytes=990-2000"), 1000, "e"),
            Some(990..1000)
        );
        assert_eq!(requested_range(&with_range("bytes=1000-"), 1000, "e"), None);
        assert_eq!(
            requested_range(&with_range("bytes=0-1,5-9"), 1000, "e"),
            None
        );
        assert_eq!(requested_range(&with_range("items=0-1"), 1000, "e"), None);
        let mut h = with_range("bytes=0-9");
        h.insert(header::IF_RANGE, HeaderValue::from_static("\"other\""));
        assert_eq!(requested_range(&h, 1000, "\"e\""), None);
    }

    #[test]
    fn file_names_in_headers_are_percent_encoded() {
        assert_eq!(percent_encode("mug ☕.jpg"), "mug%20%E2%98%95.jpg");
    }
}
