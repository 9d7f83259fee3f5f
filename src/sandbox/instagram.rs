//! Instagram API with Instagram Login (PLATFORMS.md §2): the authorize page on both documented
//! hosts, the code exchange at `api.instagram.com` with its wrapped answer, the short-lived →
//! long-lived exchange and the refresh of long-lived tokens at `graph.instagram.com`, and
//! `GET /me`. The Facebook Login flavour lives in `facebook`. Content publishing, on both hosts,
//! is in [`publish`]; media insights in [`insights`].

pub(crate) mod insights;
pub(crate) mod publish;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::Duration;
use serde_json::{Value, json};

use super::consent::{self, Allowed, Provider, unknown_scope};
use super::dispatch::RouteCtx;
use super::errors::json_response;
use super::graph;
use super::oauth::{BodyKind, Params};
use super::personas;
use super::state::{Flavour, Issue, Redemption, Shared, TokenError, TokenKind};
use crate::domain::Platform;

const SHORT_TTL: i64 = 3600;
const LONG_TTL: i64 = 5_184_000;
/// A long-lived token can only be refreshed once it is a day old.
const REFRESH_MIN_AGE_SECS: i64 = 24 * 3600;

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/www.instagram.com/oauth/authorize",
            get(consent::show::<InstagramAuth>).post(consent::decide::<InstagramAuth>),
        )
        .route(
            "/api.instagram.com/oauth/authorize",
            get(consent::show::<InstagramAuth>).post(consent::decide::<InstagramAuth>),
        )
        .route("/api.instagram.com/oauth/access_token", post(exchange_code))
        .route("/graph.instagram.com/access_token", get(long_lived))
        .route("/graph.instagram.com/refresh_access_token", get(refresh))
        .route("/graph.instagram.com/me", get(me))
        .merge(publish::routes())
        .merge(insights::routes())
}

struct InstagramAuth;

impl Provider for InstagramAuth {
    const PLATFORM: Platform = Platform::Instagram;
    const SCOPE_SEPARATOR: char = ',';
    const CODE_TTL_SECS: i64 = 3600;

    fn describe_scope(scope: &str) -> String {
        match scope {
            "instagram_business_basic" => "See your profile and posts".into(),
            "instagram_business_content_publish" => {
                "Publish posts, reels and stories for you".into()
            }
            "instagram_business_manage_insights" => "See how your posts perform".into(),
            "instagram_business_manage_comments" => "Read and reply to comments".into(),
            "instagram_business_manage_messages" => "Read and send direct messages".into(),
            other => unknown_scope(other),
        }
    }

    /// Meta appends `#_` to the redirect; clients must strip it.
    fn allow_params(a: &Allowed<'_>) -> (Vec<(&'static str, String)>, Option<&'static str>) {
        (a.code_and_state(), Some("_"))
    }

    fn deny_params() -> Vec<(&'static str, String)> {
        vec![
            ("error", "access_denied".into()),
            ("error_reason", "user_denied".into()),
            ("error_description", "The user denied your request.".into()),
        ]
    }
}

/// The app-scoped id Instagram Login hands back with a token; not the professional account id
/// (`user_id` of `/me`) that publishing needs.
pub(crate) fn app_scoped_id(client_id: &str, username: &str) -> String {
    personas::numeric_id(&["instagram", "app-scoped", client_id, username], 17)
}

async fn exchange_code(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    params: Params,
) -> Response {
    if !matches!(params.kind, BodyKind::Form | BodyKind::Multipart) {
        return graph::bad_request(
            &ctx,
            100,
            "The body must be form data (application/x-www-form-urlencoded or multipart/form-data).",
        );
    }
    if let Err(res) = graph::check_client(
        &ctx,
        shared.config.client(Platform::Instagram),
        params.get("client_id"),
        params.get("client_secret"),
    ) {
        return res;
    }
    if params.get("grant_type") != Some("authorization_code") {
        return graph::bad_request(
            &ctx,
            100,
            "Invalid grant_type: it must be authorization_code.",
        );
    }
    let now = shared.clock.now();
    let mut store = shared.store();
    let code = match store.redeem_code(
        Redemption {
            platform: Platform::Instagram,
            code: params.get("code"),
            client_id: shared.client_id(Platform::Instagram),
            redirect_uri: Some(params.raw("redirect_uri").unwrap_or("")),
            verifier: params.get("code_verifier"),
        },
        now,
    ) {
        Ok(c) => c,
        Err(e) => return graph::code_error(&ctx, e),
    };
    let token = store.issue(
        Issue::access("IGAA", 160, Some(SHORT_TTL)).flavour(Flavour::ShortLived),
        &code.grant,
        now,
    );
    json_response(
        StatusCode::OK,
        json!({ "data": [{
            "access_token": token.value,
            "user_id": app_scoped_id(&code.grant.client_id, &code.grant.account),
            "permissions": code.grant.scopes.join(","),
        }]}),
    )
}

async fn long_lived(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
) -> Response {
    let params = ctx.params();
    if params.get("grant_type") != Some("ig_exchange_token") {
        return graph::bad_request(
            &ctx,
            100,
            "Unsupported grant_type: it must be ig_exchange_token.",
        );
    }
    let (_, secret) = shared.config.client(Platform::Instagram);
    match params.get("client_secret") {
        None => return graph::bad_request(&ctx, 100, "Missing client_secret parameter."),
        Some(s) if s != secret => {
            return graph::bad_request(&ctx, 1, "Error validating client secret.");
        }
        Some(_) => {}
    }
    let now = shared.clock.now();
    let mut store = shared.store();
    let short = match store.check(
        Platform::Instagram,
        TokenKind::Access,
        params.get("access_token"),
        now,
    ) {
        Ok(t) => t,
        Err(e) => return graph::token_error(&ctx, e, shared.client_id(Platform::Instagram)),
    };
    if short.flavour != Flavour::ShortLived {
        return graph::bad_request(
            &ctx,
            100,
            "Only short-lived tokens can be exchanged; refresh a long-lived token with ig_refresh_token.",
        );
    }
    let long = store.issue(
        Issue::access("IGAA", 160, Some(LONG_TTL)).flavour(Flavour::LongLived),
        &short.grant,
        now,
    );
    json_response(
        StatusCode::OK,
        json!({ "access_token": long.value, "token_type": "bearer", "expires_in": LONG_TTL }),
    )
}

async fn refresh(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
) -> Response {
    let params = ctx.params();
    if params.get("grant_type") != Some("ig_refresh_token") {
        return graph::bad_request(
            &ctx,
            100,
            "Unsupported grant_type: it must be ig_refresh_token.",
        );
    }
    let now = shared.clock.now();
    let mut store = shared.store();
    let current = match store.check(
        Platform::Instagram,
        TokenKind::Access,
        params.get("access_token"),
        now,
    ) {
        Ok(t) => t,
        Err(e) => return graph::token_error(&ctx, e, shared.client_id(Platform::Instagram)),
    };
    if current.flavour != Flavour::LongLived {
        return graph::bad_request(&ctx, 100, "Only long-lived access tokens can be refreshed.");
    }
    if now - current.issued_at < Duration::seconds(REFRESH_MIN_AGE_SECS) {
        return graph::bad_request(
            &ctx,
            100,
            "The access token is less than 24 hours old and cannot be refreshed yet.",
        );
    }
    let fresh = store.issue(
        Issue::access("IGAA", 160, Some(LONG_TTL)).flavour(Flavour::LongLived),
        &current.grant,
        now,
    );
    json_response(
        StatusCode::OK,
        json!({ "access_token": fresh.value, "token_type": "bearer", "expires_in": LONG_TTL }),
    )
}

async fn me(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    headers: HeaderMap,
) -> Response {
    let params = ctx.params();
    let now = shared.clock.now();
    let presented = graph::presented_token(&params, &headers);
    let token = match shared.store().check(
        Platform::Instagram,
        TokenKind::Access,
        presented.as_deref(),
        now,
    ) {
        Ok(t) => t,
        Err(TokenError::Missing) => return graph::token_error(&ctx, TokenError::Missing, ""),
        Err(e) => return graph::token_error(&ctx, e, shared.client_id(Platform::Instagram)),
    };
    let username = token.grant.account.clone();
    let base = shared.config.base();
    let client_id = token.grant.client_id.clone();
    let node = graph::select(&ctx, &params, "User", &["id"], |field| {
        Some(Some(match field {
            "id" => json!(app_scoped_id(&client_id, &username)),
            "user_id" => json!(personas::instagram_user_id(&username)),
            "username" => json!(username),
            "name" => json!(personas::display_name(Platform::Instagram, &username)),
            "account_type" => json!("BUSINESS"),
            "profile_picture_url" => {
                json!(personas::avatar_url(&base, Platform::Instagram, &username))
            }
            "followers_count" => count(&username, "followers", 300..25_000),
            "follows_count" => count(&username, "follows", 50..900),
            "media_count" => count(&username, "media", 20..800),
            "biography" => json!("Handmade things, photographed in the sandbox."),
            "website" => return Some(None),
            _ => return None,
        }))
    });
    match node {
        Ok(node) => json_response(StatusCode::OK, Value::Object(node)),
        Err(res) => res,
    }
}

fn count(username: &str, what: &str, range: std::ops::Range<u64>) -> Value {
    json!(personas::derived_count(
        &["instagram", what, username],
        range
    ))
}
