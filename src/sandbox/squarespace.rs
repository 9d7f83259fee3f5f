//! Squarespace (PLATFORMS.md §10): OAuth with comma scopes and `access_type=offline`, a token
//! endpoint that takes the client by HTTP Basic or in a JSON body and the grant as JSON or form,
//! 30-minute access tokens and rotating 7-day refresh tokens (offline access only), and
//! `GET /1.0/authorization/website`. Every API request must carry a `User-Agent`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::json;

use super::consent::{self, Provider, unknown_scope};
use super::dispatch::RouteCtx;
use super::errors::{json_response, squarespace, squarespace_oauth};
use super::oauth::{BodyKind, Params, basic_auth, bearer, header};
use super::personas;
use super::state::{CodeError, Grant, Issue, Redemption, Shared, TokenKind};
use crate::domain::Platform;

pub(crate) mod products;

const ACCESS_TTL: i64 = 1800;
const REFRESH_TTL: i64 = 604_800;

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/login.squarespace.com/api/1/login/oauth/provider/authorize",
            get(consent::show::<SquarespaceAuth>).post(consent::decide::<SquarespaceAuth>),
        )
        .route(
            "/login.squarespace.com/api/1/login/oauth/provider/tokens",
            post(tokens),
        )
        .route(
            "/api.squarespace.com/1.0/authorization/website",
            get(website),
        )
        .route(
            "/api.squarespace.com/{version}/commerce/products",
            get(products::list),
        )
}

struct SquarespaceAuth;

impl Provider for SquarespaceAuth {
    const PLATFORM: Platform = Platform::Squarespace;
    const SCOPE_SEPARATOR: char = ',';
    const RESPONSE_TYPE_REQUIRED: bool = false;
    const ACCOUNT_LABEL: &'static str = "Squarespace login (e-mail)";

    fn describe_scope(scope: &str) -> String {
        match scope {
            "website.products" => "See and change your products".into(),
            "website.products.read" => "See your products".into(),
            "website.orders" => "See and change your orders".into(),
            "website.orders.read" => "See your orders".into(),
            "website.inventory" => "See and change your stock levels".into(),
            "website.inventory.read" => "See your stock levels".into(),
            "website.transactions.read" => "See your transactions".into(),
            "website.pages.read" => "See your site\u{2019}s pages".into(),
            other => unknown_scope(other),
        }
    }
}

fn code_failure(ctx: &RouteCtx, e: CodeError) -> Response {
    squarespace_oauth(ctx, StatusCode::BAD_REQUEST, "invalid_grant", e.describe())
}

async fn tokens(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    headers: HeaderMap,
    params: Params,
) -> Response {
    if !matches!(params.kind, BodyKind::Json | BodyKind::Form) {
        return squarespace_oauth(
            &ctx,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The body must be JSON or application/x-www-form-urlencoded.",
        );
    }
    let (id, secret) = shared.config.client(Platform::Squarespace);
    let credentials = basic_auth(&headers).or_else(|| {
        Some((
            params.get("client_id")?.to_owned(),
            params.get("client_secret")?.to_owned(),
        ))
    });
    match credentials {
        Some((i, s)) if i == id && s == secret => {}
        _ => {
            return squarespace_oauth(
                &ctx,
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Client authentication failed.",
            );
        }
    }
    let now = shared.clock.now();
    let mut store = shared.store();
    let (grant, offline) = match params.get("grant_type") {
        Some("authorization_code") => {
            match store.redeem_code(
                Redemption {
                    platform: Platform::Squarespace,
                    code: params.get("code"),
                    client_id: id,
                    redirect_uri: Some(params.raw("redirect_uri").unwrap_or("")),
                    verifier: params.get("code_verifier"),
                },
                now,
            ) {
                Ok(c) => (c.grant, c.offline),
                Err(e) => return code_failure(&ctx, e),
            }
        }
        Some("refresh_token") => {
            match store.check(
                Platform::Squarespace,
                TokenKind::Refresh,
                params.get("refresh_token"),
                now,
            ) {
                Ok(old) => {
                    // Rotation: the refresh token just used is dead from now on.
                    store.revoke(&old.value);
                    (old.grant, true)
                }
                Err(_) => {
                    return squarespace_oauth(
                        &ctx,
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "The refresh token is invalid, expired or already used.",
                    );
                }
            }
        }
        _ => {
            return squarespace_oauth(
                &ctx,
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type must be authorization_code or refresh_token.",
            );
        }
    };
    let access = store.issue(Issue::access("", 48, Some(ACCESS_TTL)), &grant, now);
    let mut body = json!({
        "token_type": "bearer",
        "access_token": access.value,
        "access_token_expires_at": (now.timestamp() + ACCESS_TTL),
    });
    if offline {
        let refresh = store.issue(Issue::refresh("", 48, Some(REFRESH_TTL)), &grant, now);
        body["refresh_token"] = json!(refresh.value);
        body["refresh_token_expires_at"] = json!(now.timestamp() + REFRESH_TTL);
    }
    json_response(StatusCode::OK, body)
}

/// "All requests must include the User-Agent HTTP header. Requests without one will be rejected."
fn check_user_agent(ctx: &RouteCtx, headers: &HeaderMap) -> Result<(), Response> {
    match header(headers, "user-agent") {
        Some(_) => Ok(()),
        None => Err(squarespace(
            ctx,
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST_ERROR",
            Some("MISSING_USER_AGENT"),
            "A User-Agent header describing your application is required.",
        )),
    }
}

fn authenticate(shared: &Shared, ctx: &RouteCtx, headers: &HeaderMap) -> Result<Grant, Response> {
    let now = shared.clock.now();
    shared
        .store()
        .check(
            Platform::Squarespace,
            TokenKind::Access,
            bearer(headers).as_deref(),
            now,
        )
        .map(|t| t.grant)
        .map_err(|_| {
            squarespace(
                ctx,
                StatusCode::UNAUTHORIZED,
                "AUTHORIZATION_ERROR",
                Some("INVALID_TOKEN"),
                "The access token is missing, invalid or expired.",
            )
        })
}

/// The site behind a login: the seed persona's is Maple & Moss Ceramics.
pub(crate) fn site_identifier(account: &str) -> String {
    if account == personas::seed_account(Platform::Squarespace) {
        "maple-and-moss".to_owned()
    } else {
        personas::slug(account)
    }
}

async fn website(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    headers: HeaderMap,
) -> Response {
    if let Err(res) = check_user_agent(&ctx, &headers) {
        return res;
    }
    let grant = match authenticate(&shared, &ctx, &headers) {
        Ok(g) => g,
        Err(res) => return res,
    };
    let identifier = site_identifier(&grant.account);
    json_response(
        StatusCode::OK,
        json!({
            "id": personas::derived_chars(&["squarespace", "site", &identifier], "0123456789abcdef", 24),
            "identifier": identifier,
            "url": format!("https://{identifier}.squarespace.com"),
            "siteTitle": personas::display_name(Platform::Squarespace, &grant.account),
        }),
    )
}
