//! The JSON API under `/api/v1`, for scripts and integrations. Authenticated with personal API
//! tokens (`Authorization: Bearer psk_…`); cookies are ignored here, so no CSRF applies.
//! Errors are `{"error": {"code", "message", "fields"?}}` (rendered by `error::render`).
//! The OpenAPI document at `/api/v1/openapi.json` is generated from the handlers' annotations.

pub mod captions;
pub mod media;
pub mod posts;
pub mod products;
pub mod syncs;

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
        .route("/captions", axum::routing::post(captions::create))
        .route(
            "/connections/{id}/sync",
            get(syncs::latest).post(syncs::start),
        )
        .route("/posts", get(posts::list).post(posts::create))
        .route(
            "/posts/{id}",
            get(posts::get_one)
                .patch(posts::patch)
                .delete(posts::delete),
        )
        .route("/posts/{id}/metrics", get(posts::metrics))
        .route("/products", get(products::list))
        .route("/products/{id}", get(products::get_one))
        .route("/openapi.json", get(openapi))
        .merge(media::router())
}

/// The routes that take uploads; `web::router` gives them the large body limit.
pub fn upload_router() -> Router<AppState> {
    media::upload_router()
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Picscripter API", version = "1", description = "Schedule and manage posts from scripts. Authenticate with a personal API token: `Authorization: Bearer psk_…` (create one under Settings or with `picscripter create-api-token`). Errors are `{\"error\": {\"code\", \"message\", \"fields\"?}}`."),
    paths(captions::create, list_connections, syncs::start, syncs::latest, posts::create, posts::list, posts::get_one, posts::patch, posts::delete, posts::metrics, products::list, products::get_one, media::upload, media::list, media::show, media::update, media::delete),
    modifiers(&TokenAuth),
    tags((name = "captions"), (name = "connections"), (name = "media"), (name = "posts"), (name = "products"))
)]
pub struct ApiDoc;

struct TokenAuth;

impl utoipa::Modify for TokenAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("psk_…")
                    .build(),
            ),
        );
    }
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    use utoipa::OpenApi as _;
    Json(ApiDoc::openapi())
}

/// A JSON body whose problems are reported by field: `{"error": {"code": "invalid_json",
/// "fields": {"targets[0].connection_id": "…"}}}` instead of the framework's plain text.
pub struct ApiJson<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json"));
        if !is_json {
            return Err(AppError::BadRequest(
                "Send the body as JSON with `Content-Type: application/json`.".into(),
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| AppError::PayloadTooLarge)?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        match serde_path_to_error::deserialize(de) {
            Ok(v) => Ok(ApiJson(v)),
            Err(e) => {
                let path = e.path().to_string();
                let inner = e.into_inner();
                let message = match inner.classify() {
                    serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                        return Err(AppError::BadRequest(format!(
                            "The body isn't valid JSON ({inner})."
                        )));
                    }
                    _ => inner.to_string(),
                };
                // serde's messages carry " at line L column C"; the field name says where.
                let message = message
                    .split(" at line ")
                    .next()
                    .unwrap_or(&message)
                    .to_owned();
                let field = if path == "." {
                    message
                        .split('`')
                        .nth(1)
                        .filter(|_| {
                            message.starts_with("missing field")
                                || message.starts_with("unknown field")
                        })
                        .unwrap_or("body")
                        .to_owned()
                } else {
                    path
                };
                Err(AppError::Validation(std::collections::BTreeMap::from([(
                    field, message,
                )])))
            }
        }
    }
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
        use crate::security::throttle::{self, LimitOrError};
        match throttle::count_api_call(
            &state.redis,
            token_row.id,
            state.config.api_rate_limit_per_minute,
        )
        .await
        {
            Ok(()) => {}
            Err(LimitOrError::Limited(wait)) => {
                return Err(AppError::RateLimited {
                    retry_after_secs: wait.0,
                    message: format!(
                        "This token has made its {} requests for this minute; try again in {} s.",
                        state.config.api_rate_limit_per_minute, wait.0
                    ),
                });
            }
            Err(LimitOrError::Redis(e)) => return Err(e.into()),
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

#[derive(Serialize, utoipa::ToSchema)]
struct ConnectionJson {
    id: Uuid,
    platform: String,
    #[schema(value_type = String, example = "social")]
    kind: crate::entities::enums::ConnectionKind,
    account_id: String,
    display_name: String,
    avatar_url: Option<String>,
    #[schema(value_type = String, example = "active")]
    status: crate::entities::enums::ConnectionStatus,
    expires_at: Option<DateTime<Utc>>,
    last_refreshed_at: Option<DateTime<Utc>>,
    scopes: Vec<String>,
    /// Non-secret platform facts (handle, default board, shop domain…). Never tokens.
    #[schema(value_type = Object)]
    details: Value,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ConnectionsList {
    connections: Vec<ConnectionJson>,
}

#[utoipa::path(get, path = "/api/v1/connections", tag = "connections",
    responses((status = 200, body = ConnectionsList), (status = 401)), security(("token" = [])))]
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
