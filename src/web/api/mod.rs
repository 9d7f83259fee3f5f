//! The JSON API under `/api/v1`, for scripts and integrations. Authenticated with personal API
//! tokens (`Authorization: Bearer psk_…`); cookies are ignored here, so no CSRF applies.
//! Errors are `{"error": {"code", "message", "fields"?}}` (rendered by `error::render`).

pub mod media;

use axum::Json;
use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::routing::get;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::entities::{api_tokens, users};
use crate::error::AppError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/connections", get(list_connections))
        .merge(media::router())
}

/// The routes that take uploads; `web::router` gives them the large body limit.
pub fn upload_router() -> Router<AppState> {
    media::upload_router()
}

/// The user a valid personal API token belongs to.
pub struct ApiUser(pub users::Model);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let token = header
            .strip_prefix("Bearer ")
            .map(str::trim)
            .filter(|t| t.starts_with(crate::security::api_tokens::PREFIX));
        let Some(token) = token else {
            return Err(AppError::Unauthorized);
        };
        let found = api_tokens::Entity::find()
            .filter(api_tokens::Column::TokenHash.eq(crate::security::api_tokens::hash(token)))
            .filter(api_tokens::Column::RevokedAt.is_null())
            .find_also_related(users::Entity)
            .one(&state.db)
            .await?;
        let Some((token_row, Some(user))) = found else {
            return Err(AppError::Unauthorized);
        };
        if user.disabled_at.is_some() {
            return Err(AppError::Unauthorized);
        }
        // Record use at most once a minute per token: a busy script shouldn't mean a write per call.
        if token_row
            .last_used_at
            .is_none_or(|t| Utc::now() - t > chrono::Duration::minutes(1))
        {
            api_tokens::Entity::update_many()
                .col_expr(api_tokens::Column::LastUsedAt, Expr::value(Utc::now()))
                .filter(api_tokens::Column::Id.eq(token_row.id))
                .exec(&state.db)
                .await?;
        }
        Ok(ApiUser(user))
    }
}

#[derive(Serialize)]
struct ConnectionJson {
    id: Uuid,
    platform: String,
    kind: crate::entities::enums::ConnectionKind,
    account_id: String,
    display_name: String,
    avatar_url: Option<String>,
    status: crate::entities::enums::ConnectionStatus,
    expires_at: Option<DateTime<Utc>>,
    last_refreshed_at: Option<DateTime<Utc>>,
    scopes: Vec<String>,
    /// Non-secret platform facts (handle, default board, shop domain…). Never tokens.
    details: Value,
}

#[derive(Serialize)]
struct ConnectionsList {
    connections: Vec<ConnectionJson>,
}

async fn list_connections(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> Result<Json<ConnectionsList>, AppError> {
    let models = state.connections.list_for_user(user.id).await?;
    Ok(Json(ConnectionsList {
        connections: models
            .into_iter()
            .map(|m| ConnectionJson {
                id: m.id,
                platform: m.platform,
                kind: m.kind,
                account_id: m.account_id,
                display_name: m.display_name,
                avatar_url: m.avatar_url,
                status: m.status,
                expires_at: m.expires_at,
                last_refreshed_at: m.last_refreshed_at,
                scopes: m.scopes,
                details: m.metadata,
            })
            .collect(),
    }))
}
