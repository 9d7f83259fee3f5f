//! `POST /api/v1/captions`: the AI Studio's "Generate" for scripts — one caption per network,
//! each with what the authenticity pass changed and why. Same validation and wording as the
//! Studio page; provider failures come back as `{"error": …}` with a status that says whose
//! problem it is (429 to wait, 422 when Gemini declined the content, 502/504 when it failed,
//! 503 when the server's Gemini settings need fixing).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ApiJson, ApiUser};
use crate::ai::gemini::GeminiError;
use crate::error::AppError;
use crate::state::AppState;
use crate::studio::{ImageCheck, Raw, StudioError};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaptionsRequest {
    /// Networks to write for: `x`, `instagram`, `facebook`, `linkedin`, `pinterest`, `tiktok`,
    /// `youtube`.
    #[schema(example = json!(["x", "instagram"]))]
    platforms: Vec<String>,
    /// A product from your synced catalog.
    product_id: Option<Uuid>,
    /// Photos from your media library (at most 6); Gemini reads them and checks they show the
    /// product.
    #[serde(default)]
    media_ids: Vec<Uuid>,
    /// Your own words about the post (needed when there's no product).
    #[serde(default)]
    brief: String,
    /// `friendly` (default), `playful`, `professional`, `luxury` or `urgent`.
    tone: Option<String>,
    /// A language name, e.g. `English` (default). The built-in writer writes English only.
    language: Option<String>,
    /// Your own call to action, used as written.
    call_to_action: Option<String>,
    /// Use hashtags (default true).
    hashtags: Option<bool>,
    /// Another take: 0 (default) is the first, each number gives a different caption.
    #[serde(default)]
    variation: u64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CaptionJson {
    text: String,
    /// What the authenticity pass changed: `{rule, before, after, reason}`.
    #[schema(value_type = Vec<Object>)]
    changes: Vec<crate::domain::authenticity::Change>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CaptionsJson {
    /// `gemini` or `builtin` (the built-in writer, not AI).
    provider: &'static str,
    captions: BTreeMap<String, CaptionJson>,
    /// Per photo: `{media_id, verdict: matches|mismatch|not_checked, reason}`.
    #[schema(value_type = Vec<Object>)]
    images: Vec<ImageCheck>,
}

#[utoipa::path(post, path = "/api/v1/captions", tag = "captions",
    request_body = CaptionsRequest,
    responses(
        (status = 200, description = "A caption per network", body = CaptionsJson),
        (status = 401),
        (status = 422, description = "A field needs fixing (named in `fields`), or Gemini declined to write it"),
        (status = 429, description = "Wait: your hourly AI allowance, or Gemini's own limit (`Retry-After`)"),
        (status = 502, description = "Gemini's answer was unusable"),
        (status = 503, description = "Gemini is unavailable, or the server's Gemini settings need fixing"),
        (status = 504, description = "Gemini took too long")),
    security(("token" = [])))]
pub async fn create(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(req): ApiJson<CaptionsRequest>,
) -> Result<Json<CaptionsJson>, AppError> {
    let raw = Raw {
        platforms: req.platforms,
        product_id: req.product_id.map(|id| id.to_string()),
        media_ids: req.media_ids.iter().map(Uuid::to_string).collect(),
        brief: req.brief,
        tone: req.tone,
        language: req.language,
        call_to_action: req.call_to_action,
        hashtags: req.hashtags,
    };
    let studio = &state.studio;
    let input = studio
        .resolve(&state.db, user.id, &raw)
        .await
        .map_err(api_error)?;
    let written = studio
        .write(
            &state.redis,
            &state.media,
            user.id,
            &input,
            &input.platforms,
            req.variation,
            None,
        )
        .await
        .map_err(api_error)?;
    let images = studio
        .check_images(&state.redis, &state.media, user.id, &input)
        .await;
    Ok(Json(CaptionsJson {
        provider: studio.provider().as_str(),
        captions: written
            .into_iter()
            .map(|w| {
                (
                    w.platform.as_str().to_owned(),
                    CaptionJson {
                        text: w.text,
                        changes: w.changes,
                    },
                )
            })
            .collect(),
        images,
    }))
}

/// A Studio failure as the API reports it.
pub fn api_error(e: StudioError) -> AppError {
    let message = e.user_message();
    match e {
        StudioError::Invalid(p) => AppError::Validation(p.fields),
        StudioError::Allowance { retry_after_secs } => AppError::RateLimited {
            retry_after_secs,
            message,
        },
        StudioError::Internal(e) => AppError::Internal(e),
        StudioError::Provider(g) => {
            let (status, code, retry_after_secs) = match &g {
                GeminiError::RateLimited { retry_after } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "ai_busy",
                    Some(retry_after.map_or(60, |d| d.as_secs().max(1))),
                ),
                GeminiError::Blocked { .. } => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "ai_declined", None)
                }
                GeminiError::Incomplete { .. } => (StatusCode::BAD_GATEWAY, "ai_incomplete", None),
                GeminiError::Malformed => (StatusCode::BAD_GATEWAY, "ai_unreadable", None),
                GeminiError::Timeout => (StatusCode::GATEWAY_TIMEOUT, "ai_timeout", None),
                GeminiError::ModelRetired { .. } | GeminiError::BadKey => {
                    (StatusCode::SERVICE_UNAVAILABLE, "ai_misconfigured", None)
                }
                GeminiError::Unavailable { .. } => {
                    (StatusCode::SERVICE_UNAVAILABLE, "ai_unavailable", None)
                }
            };
            AppError::Upstream {
                status,
                code,
                message,
                retry_after_secs,
            }
        }
    }
}
