//! `POST /api/v1/connections/{id}/sync` starts a catalog sync of a shop (202, or 200 with the
//! sync already going); `GET` the same path reads the latest one, for polling its progress.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::ApiUser;
use crate::entities::catalog_syncs::Model;
use crate::entities::connections::Model as Connection;
use crate::entities::enums::{ConnectionKind, SyncMode, SyncStatus, SyncTrigger};
use crate::error::AppError;
use crate::products::sync::{self, RequestError};
use crate::state::AppState;

/// A catalog sync and its progress.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SyncJson {
    id: Uuid,
    connection_id: Uuid,
    /// `full` (every product; those gone are marked removed) or `changes`.
    #[schema(value_type = String, example = "full")]
    mode: SyncMode,
    #[schema(value_type = String, example = "api")]
    trigger: SyncTrigger,
    /// `queued`, `running`, `succeeded` or `failed`.
    #[schema(value_type = String, example = "running")]
    status: SyncStatus,
    /// Products in the shop, when the platform says.
    total: Option<i32>,
    processed: i32,
    created: i32,
    updated: i32,
    unchanged: i32,
    removed: i32,
    skipped: i32,
    /// Why it is waiting (throttled, retrying), in words.
    note: Option<String>,
    /// Why it failed, in words.
    error: Option<String>,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
}

impl From<Model> for SyncJson {
    fn from(s: Model) -> Self {
        SyncJson {
            id: s.id,
            connection_id: s.connection_id,
            mode: s.mode,
            trigger: s.trigger,
            status: s.status,
            total: s.total,
            processed: s.processed,
            created: s.created,
            updated: s.updated,
            unchanged: s.unchanged,
            removed: s.removed,
            skipped: s.skipped,
            note: s.note,
            error: s.error,
            created_at: s.created_at,
            started_at: s.started_at,
            finished_at: s.finished_at,
        }
    }
}

async fn owned_connection(
    state: &AppState,
    user_id: Uuid,
    id: &str,
) -> Result<Connection, AppError> {
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    state
        .connections
        .find_for_user(user_id, id)
        .await?
        .ok_or(AppError::NotFound)
}

#[utoipa::path(post, path = "/api/v1/connections/{id}/sync", tag = "connections",
    params(("id" = Uuid, Path, description = "A shop connection (Shopify, Etsy, Squarespace)")),
    responses(
        (status = 202, description = "A sync was queued", body = SyncJson),
        (status = 200, description = "The shop was already syncing; that sync", body = SyncJson),
        (status = 401), (status = 404),
        (status = 409, description = "The shop needs reconnecting first"),
        (status = 422, description = "Not a shop: only shops have catalogs")),
    security(("token" = [])))]
pub async fn start(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let connection = owned_connection(&state, user.id, &id).await?;
    if connection.kind != ConnectionKind::Commerce {
        return Err(AppError::Validation(
            [(
                "id".to_owned(),
                format!(
                    "{} is a social account; only shops (Shopify, Etsy, Squarespace) have catalogs to sync.",
                    connection.display_name
                ),
            )]
            .into(),
        ));
    }
    match crate::web::catalog_sync::start(&state, &connection, SyncTrigger::Api).await {
        Ok(r) => {
            let status = if r.started {
                StatusCode::ACCEPTED
            } else {
                StatusCode::OK
            };
            Ok((status, Json(SyncJson::from(r.sync))).into_response())
        }
        Err(RequestError::NeedsReauth) => Err(AppError::Conflict(format!(
            "{} needs reconnecting before it can be synced.",
            connection.display_name
        ))),
        Err(RequestError::NotAShop) => Err(AppError::NotFound),
        Err(RequestError::Db(e)) => Err(e.into()),
    }
}

#[utoipa::path(get, path = "/api/v1/connections/{id}/sync", tag = "connections",
    params(("id" = Uuid, Path, description = "A shop connection")),
    responses(
        (status = 200, description = "The shop's latest sync (the running one, if any)", body = SyncJson),
        (status = 401), (status = 404, description = "No such shop, or it was never synced")),
    security(("token" = [])))]
pub async fn latest(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<SyncJson>, AppError> {
    let connection = owned_connection(&state, user.id, &id).await?;
    let latest = sync::latest_of(&state.db, &[connection.id])
        .await?
        .into_iter()
        .next()
        .ok_or(AppError::NotFound)?;
    Ok(Json(latest.sync.into()))
}
