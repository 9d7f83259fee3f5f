//! TikTok Login Kit v2 (PLATFORMS.md §6): authorize with `client_key` and comma scopes, optional
//! PKCE (S256), the token endpoint with its top-level answer and `{error, error_description,
//! log_id}` failures, a fresh refresh token on every refresh, revoke, and `GET /v2/user/info/`
//! in the `{data, error}` envelope. Trailing slashes are part of TikTok's paths. Creator info and
//! the Content Posting API live in [`publish`].

pub(crate) mod metrics;
pub(crate) mod publish;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::consent::{self, Allowed, Provider, unknown_scope};
use super::dispatch::RouteCtx;
use super::errors::{json_response, tiktok, tiktok_log_id, tiktok_oauth};
use super::oauth::{Params, PkceRule, bearer};
use super::personas;
use super::state::{CodeError, Issue, Redemption, Shared, Token, TokenKind};
use crate::domain::Platform;

const ACCESS_TTL: i64 = 86_400;
const REFRESH_TTL: i64 = 31_536_000;

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/www.tiktok.com/v2/auth/authorize/",
            get(consent::show::<TiktokAuth>).post(consent::decide::<TiktokAuth>),
        )
        .route("/open.tiktokapis.com/v2/oauth/token/", post(token))
        .route("/open.tiktokapis.com/v2/oauth/revoke/", post(revoke))
        .route("/open.tiktokapis.com/v2/user/info/", get(user_info))
        .merge(publish::routes())
        .merge(metrics::routes())
}

struct TiktokAuth;

impl Provider for TiktokAuth {
    const PLATFORM: Platform = Platform::Tiktok;
    const CLIENT_PARAM: &'static str = "client_key";
    const SCOPE_SEPARATOR: char = ',';
    const PKCE: PkceRule = PkceRule::Optional { plain: false };

    fn describe_scope(scope: &str) -> String {
        match scope {
            "user.info.basic" => "See your avatar and display name".into(),
            "user.info.profile" => "See your username and profile details".into(),
            "user.info.stats" => "See your follower and like counts".into(),
            "video.list" => "See your public videos".into(),
            "video.upload" => "Send videos to your drafts".into(),
            "video.publish" => "Post videos and photos for you".into(),
            other => unknown_scope(other),
        }
    }

    /// TikTok also tells the app which scopes were granted.
    fn allow_params(a: &Allowed<'_>) -> (Vec<(&'static str, String)>, Option<&'static str>) {
        let mut params = vec![
            ("code", a.code.to_owned()),
            ("scopes", a.grant.scopes.join(",")),
        ];
        if let Some(state) = &a.request.state {
            params.push(("state", state.clone()));
        }
        (params, None)
    }
}

fn code_failure(ctx: &RouteCtx, e: CodeError) -> Response {
    let description = match e {
        CodeError::Expired => "Authorization code is expired.",
        CodeError::Used | CodeError::Unknown | CodeError::Missing => {
            "Authorization code is invalid."
        }
        CodeError::RedirectMismatch => "Redirect URI mismatch.",
        CodeError::ClientMismatch => "Client key does not match the authorization code.",
        CodeError::VerifierMissing | CodeError::VerifierMismatch => "Code verifier is invalid.",
    };
    tiktok_oauth(ctx, StatusCode::BAD_REQUEST, "invalid_grant", description)
}

fn check_client(shared: &Shared, ctx: &RouteCtx, params: &Params) -> Result<(), Response> {
    let (key, secret) = shared.config.client(Platform::Tiktok);
    if params.get("client_key") != Some(key) || params.get("client_secret") != Some(secret) {
        return Err(tiktok_oauth(
            ctx,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client key or secret is invalid.",
        ));
    }
    Ok(())
}

async fn token(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    params: Params,
) -> Response {
    if !params.is_form() {
        return tiktok_oauth(
            &ctx,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The body must be application/x-www-form-urlencoded.",
        );
    }
    if let Err(res) = check_client(&shared, &ctx, &params) {
        return res;
    }
    let now = shared.clock.now();
    let mut store = shared.store();
    let grant = match params.get("grant_type") {
        Some("authorization_code") => {
            match store.redeem_code(
                Redemption {
                    platform: Platform::Tiktok,
                    code: params.get("code"),
                    client_id: shared.client_id(Platform::Tiktok),
                    redirect_uri: Some(params.raw("redirect_uri").unwrap_or("")),
                    verifier: params.get("code_verifier"),
                },
                now,
            ) {
                Ok(c) => c.grant,
                Err(e) => return code_failure(&ctx, e),
            }
        }
        Some("refresh_token") => {
            match store.check(
                Platform::Tiktok,
                TokenKind::Refresh,
                params.get("refresh_token"),
                now,
            ) {
                Ok(t) => t.grant,
                Err(_) => {
                    return tiktok_oauth(
                        &ctx,
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "Refresh token is invalid or expired.",
                    );
                }
            }
        }
        Some(_) => {
            return tiktok_oauth(
                &ctx,
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "The grant type is not supported.",
            );
        }
        None => {
            return tiktok_oauth(
                &ctx,
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The grant_type parameter is missing.",
            );
        }
    };
    let access = store.issue(Issue::access("act.", 72, Some(ACCESS_TTL)), &grant, now);
    let refresh = store.issue(Issue::refresh("rft.", 72, Some(REFRESH_TTL)), &grant, now);
    token_response(&access, &refresh)
}

fn token_response(access: &Token, refresh: &Token) -> Response {
    json_response(
        StatusCode::OK,
        json!({
            "access_token": access.value,
            "expires_in": ACCESS_TTL,
            "open_id": open_id(&access.grant.client_id, &access.grant.account),
            "refresh_expires_in": REFRESH_TTL,
            "refresh_token": refresh.value,
            "scope": access.grant.scopes.join(","),
            "token_type": "Bearer",
        }),
    )
}

/// Revoking ends the app's access to the account: every token of it stops working.
async fn revoke(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    params: Params,
) -> Response {
    if let Err(res) = check_client(&shared, &ctx, &params) {
        return res;
    }
    let Some(value) = params.get("token") else {
        return tiktok_oauth(
            &ctx,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The token parameter is missing.",
        );
    };
    let mut store = shared.store();
    let grant = store.find(Platform::Tiktok, value).map(|t| t.grant.clone());
    match grant {
        Some(g) => {
            store.revoke_account(Platform::Tiktok, &g.client_id, &g.account);
            json_response(
                StatusCode::OK,
                json!({ "data": {}, "error": { "code": "ok", "message": "", "log_id": tiktok_log_id(&ctx) } }),
            )
        }
        None => tiktok_oauth(
            &ctx,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The token is invalid.",
        ),
    }
}

/// App-specific, like TikTok's real open_id.
pub(crate) fn open_id(client_key: &str, account: &str) -> String {
    let hex = personas::derived_chars(
        &["tiktok", "open-id", client_key, account],
        "0123456789abcdef",
        32,
    );
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Which scope each user field needs.
fn field_scope(field: &str) -> Option<&'static str> {
    Some(match field {
        "open_id" | "union_id" | "avatar_url" | "avatar_url_100" | "avatar_large_url"
        | "display_name" => "user.info.basic",
        "bio_description" | "profile_deep_link" | "is_verified" | "username" => "user.info.profile",
        "follower_count" | "following_count" | "likes_count" | "video_count" => "user.info.stats",
        _ => return None,
    })
}

async fn user_info(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    headers: HeaderMap,
) -> Response {
    let now = shared.clock.now();
    let token = match shared.store().check(
        Platform::Tiktok,
        TokenKind::Access,
        bearer(&headers).as_deref(),
        now,
    ) {
        Ok(t) => t,
        Err(_) => {
            return tiktok(
                &ctx,
                StatusCode::UNAUTHORIZED,
                "access_token_invalid",
                "The access token is invalid or not found in the request.",
            );
        }
    };
    let query = ctx.params();
    let fields: Vec<&str> = query
        .get("fields")
        .map(|f| {
            f.split(',')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if fields.is_empty() {
        return tiktok(
            &ctx,
            StatusCode::BAD_REQUEST,
            "invalid_params",
            "The fields parameter is required.",
        );
    }
    let account = token.grant.account.clone();
    let avatar = personas::avatar_url(&shared.config.base(), Platform::Tiktok, &account);
    let mut user = Map::new();
    for field in fields {
        let Some(scope) = field_scope(field) else {
            return tiktok(
                &ctx,
                StatusCode::BAD_REQUEST,
                "invalid_params",
                &format!("The field {field} is not supported."),
            );
        };
        if !token.grant.has_scope(scope) {
            return tiktok(
                &ctx,
                StatusCode::UNAUTHORIZED,
                "scope_not_authorized",
                &format!(
                    "The user did not authorize the scope required for completing this request ({scope})."
                ),
            );
        }
        let value: Value = match field {
            "open_id" => json!(open_id(&token.grant.client_id, &account)),
            "union_id" => json!(personas::derived_chars(
                &["tiktok", "union", &account],
                "0123456789abcdef",
                32
            )),
            "avatar_url" | "avatar_url_100" | "avatar_large_url" => json!(avatar),
            "display_name" => json!(personas::display_name(Platform::Tiktok, &account)),
            "bio_description" => json!("Handmade in the sandbox."),
            "profile_deep_link" => json!(format!("https://www.tiktok.com/@{account}")),
            "is_verified" => json!(false),
            "username" => json!(account),
            other => json!(personas::derived_count(
                &["tiktok", other, &account],
                10..50_000
            )),
        };
        user.insert(field.to_owned(), value);
    }
    json_response(
        StatusCode::OK,
        json!({
            "data": { "user": user },
            "error": { "code": "ok", "message": "", "log_id": tiktok_log_id(&ctx) },
        }),
    )
}
