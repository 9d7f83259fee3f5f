//! Etsy Open API v3 (PLATFORMS.md §9): OAuth with PKCE S256 only and no client secret at the
//! token endpoint, tokens prefixed with the user id, rotating 90-day refresh tokens, and the API's
//! double credential (`x-api-key: keystring:shared_secret` plus a Bearer token) on
//! `users/me` and `shops/{id}`. `openapi.etsy.com` is an alias of `api.etsy.com`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};
use url::Url;

use super::consent::{self, Provider, unknown_scope};
use super::errors::{etsy, json_response, oauth};
use super::oauth::{Params, PkceRule, bearer, header, is_loopback};
use super::personas;
use super::state::{CodeError, Issue, Redemption, Shared, Token, TokenKind};
use crate::domain::Platform;

pub(crate) mod listings;

const ACCESS_TTL: i64 = 3600;
const REFRESH_TTL: i64 = 7_776_000;

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/www.etsy.com/oauth/connect",
            get(consent::show::<EtsyAuth>).post(consent::decide::<EtsyAuth>),
        )
        .route("/api.etsy.com/v3/public/oauth/token", post(token))
        .route("/api.etsy.com/v3/application/users/me", get(me))
        .route("/api.etsy.com/v3/application/shops/{shop_id}", get(shop))
        .route(
            "/api.etsy.com/v3/application/shops/{shop_id}/listings/active",
            get(listings::active),
        )
        .route(
            "/api.etsy.com/v3/application/shops/{shop_id}/listings",
            get(listings::by_shop),
        )
        .route(
            "/api.etsy.com/v3/application/listings/batch",
            get(listings::batch),
        )
        .route(
            "/api.etsy.com/v3/application/listings/{listing_id}/images",
            get(listings::images),
        )
}

struct EtsyAuth;

impl Provider for EtsyAuth {
    const PLATFORM: Platform = Platform::Etsy;
    const PKCE: PkceRule = PkceRule::Required { plain: false };
    const ACCOUNT_LABEL: &'static str = "Etsy username";

    fn describe_scope(scope: &str) -> String {
        match scope {
            "listings_r" => "See your listings, including inactive ones".into(),
            "listings_w" => "Create and edit your listings".into(),
            "listings_d" => "Delete your listings".into(),
            "shops_r" => "See your shop details".into(),
            "shops_w" => "Change your shop details".into(),
            "profile_r" => "See your profile".into(),
            "email_r" => "See your e-mail address".into(),
            "transactions_r" => "See your orders and sales".into(),
            other => unknown_scope(other),
        }
    }

    /// Etsy wants https; the sandbox also lets loopback http through for local development.
    fn check_redirect(uri: &Url) -> Result<(), String> {
        if uri.scheme() == "https" || is_loopback(uri) {
            Ok(())
        } else {
            Err(format!(
                "The redirect_uri \u{201c}{uri}\u{201d} must use https (plain http is only allowed for localhost and 127.0.0.1 in the sandbox)."
            ))
        }
    }
}

pub(crate) fn user_id(account: &str) -> String {
    personas::numeric_id(&["etsy", "user", account], 9)
}

pub(crate) fn shop_id(account: &str) -> String {
    personas::numeric_id(&["etsy", "shop", account], 8)
}

fn shop_name(account: &str) -> String {
    if account == personas::seed_account(Platform::Etsy) {
        return "MapleAndMossCeramics".to_owned();
    }
    let words: String = personas::title_words(account).split_whitespace().collect();
    format!("{words}Shop")
}

fn invalid_grant(description: &str) -> Response {
    oauth(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

async fn token(State(shared): State<Arc<Shared>>, params: Params) -> Response {
    if !params.is_form() {
        return oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The body must be application/x-www-form-urlencoded.",
        );
    }
    let keystring = shared.client_id(Platform::Etsy);
    match params.get("client_id") {
        Some(id) if id == keystring => {}
        Some(_) => {
            return oauth(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "The client_id is not a known API keystring.",
            );
        }
        None => {
            return oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "client_id is required",
            );
        }
    }
    let now = shared.clock.now();
    let mut store = shared.store();
    let grant = match params.get("grant_type") {
        Some("authorization_code") => {
            match store.redeem_code(
                Redemption {
                    platform: Platform::Etsy,
                    code: params.get("code"),
                    client_id: keystring,
                    redirect_uri: Some(params.raw("redirect_uri").unwrap_or("")),
                    verifier: params.get("code_verifier"),
                },
                now,
            ) {
                Ok(c) => c.grant,
                Err(CodeError::Expired) => return invalid_grant("code has expired"),
                Err(CodeError::VerifierMissing | CodeError::VerifierMismatch) => {
                    return invalid_grant("code_verifier is invalid");
                }
                Err(CodeError::RedirectMismatch) => {
                    return invalid_grant("redirect_uri does not match");
                }
                Err(_) => return invalid_grant("code is invalid"),
            }
        }
        Some("refresh_token") => {
            match store.check(
                Platform::Etsy,
                TokenKind::Refresh,
                params.get("refresh_token"),
                now,
            ) {
                Ok(old) => {
                    // Rotation: the refresh token just used is dead from now on.
                    store.revoke(&old.value);
                    old.grant
                }
                Err(_) => return invalid_grant("refresh_token is invalid"),
            }
        }
        Some(_) => {
            return oauth(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type is not supported",
            );
        }
        None => {
            return oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            );
        }
    };
    let prefix = format!("{}.", user_id(&grant.account));
    let access = store.issue(Issue::access(&prefix, 54, Some(ACCESS_TTL)), &grant, now);
    let refresh = store.issue(Issue::refresh(&prefix, 54, Some(REFRESH_TTL)), &grant, now);
    json_response(
        StatusCode::OK,
        json!({
            "access_token": access.value,
            "token_type": "Bearer",
            "expires_in": ACCESS_TTL,
            "refresh_token": refresh.value,
        }),
    )
}

/// Every Open API request needs `x-api-key: keystring:shared_secret` (the shared secret became
/// mandatory on 9 February 2026).
fn check_api_key(shared: &Shared, headers: &HeaderMap) -> Result<(), Response> {
    let (keystring, secret) = shared.config.client(Platform::Etsy);
    match header(headers, "x-api-key") {
        None => Err(etsy(StatusCode::FORBIDDEN, "Missing x-api-key header.")),
        Some(key) if key == format!("{keystring}:{secret}") => Ok(()),
        Some(key) if key == keystring => Err(etsy(
            StatusCode::FORBIDDEN,
            "The x-api-key header must be your keystring and shared secret separated by a colon.",
        )),
        Some(_) => Err(etsy(StatusCode::FORBIDDEN, "Invalid API key.")),
    }
}

fn authenticate(shared: &Shared, headers: &HeaderMap) -> Result<Token, Response> {
    let now = shared.clock.now();
    shared
        .store()
        .check(
            Platform::Etsy,
            TokenKind::Access,
            bearer(headers).as_deref(),
            now,
        )
        .map_err(|_| etsy(StatusCode::UNAUTHORIZED, "invalid_token"))
}

async fn me(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Err(res) = check_api_key(&shared, &headers) {
        return res;
    }
    match listings::count_request(&shared, &headers) {
        Ok(usage) => usage.apply(me_answer(&shared, &headers)),
        Err(res) => res,
    }
}

fn me_answer(shared: &Shared, headers: &HeaderMap) -> Response {
    let token = match authenticate(shared, headers) {
        Ok(t) => t,
        Err(res) => return res,
    };
    let account = &token.grant.account;
    json_response(
        StatusCode::OK,
        json!({
            "user_id": number(&user_id(account)),
            "shop_id": number(&shop_id(account)),
        }),
    )
}

fn number(id: &str) -> Value {
    id.parse::<u64>().map(Value::from).unwrap_or(Value::Null)
}

/// `getShop` only needs the API key; a Bearer token, when sent, must still be valid.
async fn shop(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(res) = check_api_key(&shared, &headers) {
        return res;
    }
    match listings::count_request(&shared, &headers) {
        Ok(usage) => usage.apply(shop_answer(&shared, &id, &headers)),
        Err(res) => res,
    }
}

fn shop_answer(shared: &Shared, id: &str, headers: &HeaderMap) -> Response {
    let id = id.to_owned();
    if headers.contains_key("authorization")
        && let Err(res) = authenticate(shared, headers)
    {
        return res;
    }
    let owner = shared
        .store()
        .accounts(Platform::Etsy)
        .find(|account| shop_id(account) == id)
        .map(str::to_owned);
    let Some(account) = owner else {
        if id.parse::<u64>().is_err() {
            return etsy(StatusCode::BAD_REQUEST, "Expected int value for 'shop_id'");
        }
        return etsy(
            StatusCode::NOT_FOUND,
            &format!("Could not find a Shop with shop_id = {id}"),
        );
    };
    let name = shop_name(&account);
    json_response(
        StatusCode::OK,
        json!({
            "shop_id": number(&id),
            "user_id": number(&user_id(&account)),
            "shop_name": name,
            "title": personas::display_name(Platform::Etsy, &account),
            "url": format!("https://www.etsy.com/shop/{name}"),
            "icon_url_fullxfull": personas::avatar_url(&shared.config.base(), Platform::Etsy, &account),
            "currency_code": "USD",
            "listing_active_count": personas::derived_count(&["etsy", "listings", &account], 12..60),
            "is_vacation": false,
            "create_date": 1_577_880_000,
            "created_timestamp": 1_577_880_000,
        }),
    )
}
