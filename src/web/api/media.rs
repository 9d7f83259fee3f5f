//! `/api/v1/media`: the media library for scripts, with the same rules as the pages.
//!
//! - `POST /media` (multipart, field `file`; one file per request, other fields ignored) → 201
//!   with the item, or 200 with `"duplicate": true` and the existing item. A refused file gets
//!   `{"error": {"code", "message", "fields": {"file": …}}}`: 413 over the size limit, 415 for
//!   a type we don't accept, 422 for a damaged, empty or oversized-in-pixels file.
//! - `GET /media?page=&per_page=&q=` → a page of items, newest first.
//! - `GET|PATCH|DELETE /media/{id}` (PATCH takes `{"alt_text"}`; DELETE answers 204, or 409
//!   naming the posts that still use the item); `GET /media/{id}/file` and `/thumb`.
//!
//! Another user's item is 404 everywhere.

use std::collections::BTreeMap;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ApiUser;
use crate::config::Config;
use crate::entities::enums::MediaKind;
use crate::entities::media as media_row;
use crate::error::{AppError, ErrorInfo};
use crate::media::{self, AltText, DeleteError, Paging, Refusal, UploadError};
use crate::state::AppState;
use crate::web::api::ApiJson;
use crate::web::media::{serve_original, serve_thumbnail};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/media", get(list))
        .route("/media/{id}", get(show).patch(update).delete(delete))
        .route("/media/{id}/file", get(file))
        .route("/media/{id}/thumb", get(thumb))
}

/// `POST /media`, which `web::router` gives the large body limit.
pub fn upload_router() -> Router<AppState> {
    Router::new().route("/media", axum::routing::post(upload))
}

/// An item as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MediaJson {
    pub id: Uuid,
    #[schema(value_type = String, example = "image")]
    pub kind: MediaKind,
    pub mime: String,
    pub size_bytes: i64,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub duration_ms: Option<i32>,
    pub sha256: String,
    pub alt_text: String,
    pub original_filename: String,
    pub created_at: DateTime<Utc>,
    /// The file, for this API's bearer token.
    pub file_url: String,
    /// The thumbnail, for this API's bearer token.
    pub thumbnail_url: String,
    /// Videos get a neutral poster instead of a frame.
    pub thumbnail_is_placeholder: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<bool>,
}

impl MediaJson {
    pub fn new(config: &Config, m: media_row::Model, duplicate: Option<bool>) -> Self {
        Self {
            file_url: config.public_url(&format!("/api/v1/media/{}/file", m.id)),
            thumbnail_url: config.public_url(&format!("/api/v1/media/{}/thumb", m.id)),
            thumbnail_is_placeholder: m.kind == MediaKind::Video,
            id: m.id,
            kind: m.kind,
            mime: m.mime,
            size_bytes: m.size_bytes,
            width: m.width,
            height: m.height,
            duration_ms: m.duration_ms,
            sha256: m.sha256,
            alt_text: m.alt_text,
            original_filename: m.original_filename,
            created_at: m.created_at,
            duplicate,
        }
    }
}

fn field_error(status: StatusCode, code: &'static str, field: &str, message: String) -> Response {
    let mut res = status.into_response();
    res.extensions_mut().insert(ErrorInfo {
        code,
        message: message.clone(),
        fields: Some(BTreeMap::from([(field.to_owned(), message)])),
        ..ErrorInfo::for_status(status)
    });
    res
}

fn refusal_response(r: &Refusal) -> Response {
    let status = StatusCode::from_u16(r.status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
    field_error(status, r.code(), "file", r.to_string())
}

/// A multipart upload: one file in the field `file`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

#[utoipa::path(post, path = "/api/v1/media", tag = "media",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = MediaJson), (status = 200, description = "The same file was already in the library", body = MediaJson),
              (status = 413), (status = 415), (status = 422, description = "The file was refused; `fields.file` says why")),
    security(("token" = [])))]
pub async fn upload(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(AppError::PayloadTooLarge);
            }
            Err(_) => {
                return Err(AppError::BadRequest(
                    "The request isn't a complete multipart form.".into(),
                ));
            }
        };
        if field.name() != Some("file") {
            continue;
        }
        let outcome = media::accept_field(&state.db, &state.media, user.id, field).await;
        // Read the rest of the request (at most the upload limit) before answering, so clients
        // still sending get the answer rather than a reset connection.
        if !matches!(
            outcome,
            Err(UploadError::RequestTooLarge | UploadError::Interrupted)
        ) {
            while let Ok(Some(_)) = multipart.next_field().await {}
        }
        return match outcome {
            Ok(up) => {
                let status = if up.duplicate {
                    StatusCode::OK
                } else {
                    StatusCode::CREATED
                };
                let body = MediaJson::new(&state.config, up.media, Some(up.duplicate));
                Ok((status, Json(body)).into_response())
            }
            Err(UploadError::Refused(r)) => Ok(refusal_response(&r)),
            Err(UploadError::RequestTooLarge) => Err(AppError::PayloadTooLarge),
            Err(UploadError::Interrupted) => Err(AppError::BadRequest(
                "The upload stopped before the whole file arrived.".into(),
            )),
            Err(UploadError::Internal(e)) => Err(AppError::Internal(e)),
        };
    }
    Ok(field_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
        "file",
        "Attach the photo or video as a multipart field named file.".into(),
    ))
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    page: Option<u64>,
    #[serde(default)]
    per_page: Option<u64>,
    #[serde(default)]
    q: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MediaList {
    media: Vec<MediaJson>,
    page: u64,
    per_page: u64,
    total: u64,
    total_pages: u64,
}

#[utoipa::path(get, path = "/api/v1/media", tag = "media",
    params(("page" = Option<u64>, Query), ("per_page" = Option<u64>, Query), ("q" = Option<String>, Query, description = "Search file names and alt text")),
    responses((status = 200, body = MediaList)), security(("token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Query<ListQuery>,
) -> Result<Json<MediaList>, AppError> {
    let paging = Paging::sized(q.page.unwrap_or(1), q.per_page.unwrap_or(media::PAGE_SIZE));
    let listed = media::list_for_user(&state.db, user.id, paging, q.q.as_deref()).await?;
    Ok(Json(MediaList {
        media: listed
            .items
            .into_iter()
            .map(|m| MediaJson::new(&state.config, m, None))
            .collect(),
        page: listed.page,
        per_page: listed.per_page,
        total: listed.total,
        total_pages: listed.total_pages,
    }))
}

async fn owned(state: &AppState, user_id: Uuid, id: &str) -> Result<media_row::Model, AppError> {
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    media::find_for_user(&state.db, user_id, id)
        .await?
        .ok_or(AppError::NotFound)
}

#[utoipa::path(get, path = "/api/v1/media/{id}", tag = "media", params(("id" = Uuid, Path)),
    responses((status = 200, body = MediaJson), (status = 404)), security(("token" = [])))]
pub async fn show(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<MediaJson>, AppError> {
    let m = owned(&state, user.id, &id).await?;
    Ok(Json(MediaJson::new(&state.config, m, None)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    alt_text: Option<String>,
}

#[utoipa::path(patch, path = "/api/v1/media/{id}", tag = "media", params(("id" = Uuid, Path)), request_body = Patch,
    responses((status = 200, body = MediaJson), (status = 404), (status = 422)), security(("token" = [])))]
pub async fn update(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<Patch>,
) -> Result<Json<MediaJson>, AppError> {
    let m = owned(&state, user.id, &id).await?;
    let Some(raw) = patch.alt_text else {
        return Err(AppError::Validation(BTreeMap::from([(
            "alt_text".to_owned(),
            "Send the new alt text as alt_text (an empty string removes it).".to_owned(),
        )])));
    };
    let alt = AltText::parse(&raw).map_err(|message| {
        AppError::Validation(BTreeMap::from([("alt_text".to_owned(), message)]))
    })?;
    let saved = media::set_alt_text(&state.db, user.id, m.id, &alt)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(MediaJson::new(&state.config, saved, None)))
}

#[utoipa::path(delete, path = "/api/v1/media/{id}", tag = "media", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404), (status = 409, description = "Used by a scheduled post, which is named")),
    security(("token" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    match media::delete_for_user(&state.db, &state.media, user.id, id).await {
        Ok(_) => Ok(StatusCode::NO_CONTENT),
        Err(DeleteError::NotFound) => Err(AppError::NotFound),
        Err(DeleteError::InUse(posts)) => {
            let tz = crate::domain::TimeZone::parse_or_utc(&user.time_zone);
            let named: Vec<String> = posts
                .iter()
                .map(|p| match p.scheduled_at {
                    Some(at) => format!(
                        "“{}” ({})",
                        p.excerpt,
                        at.with_timezone(&tz.tz()).format("%-d %b %Y, %H:%M %Z")
                    ),
                    None => format!("“{}” (not scheduled)", p.excerpt),
                })
                .collect();
            Err(AppError::Conflict(format!(
                "This file is used by posts that haven't gone out yet, so it can't be deleted: {}. Remove it from them first, or wait until they are published.",
                named.join("; ")
            )))
        }
        Err(DeleteError::Db(e)) => Err(e.into()),
    }
}

async fn file(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let m = owned(&state, user.id, &id).await?;
    serve_original(&state, &m, &headers, "private, max-age=3600").await
}

async fn thumb(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let m = owned(&state, user.id, &id).await?;
    serve_thumbnail(&state, &m, &headers, "private, max-age=86400").await
}
