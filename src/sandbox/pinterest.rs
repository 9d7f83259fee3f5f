//! Pinterest API v5 (PLATFORMS.md §5): OAuth with HTTP Basic at the token endpoint and a new
//! refresh token on every refresh (continuous refresh: the old one lives until its own expiry),
//! `GET /v5/user_account`, and `GET /v5/boards` with bookmark pagination. Pins and video uploads
//! live in [`publish`]; pin analytics in [`analytics`].

pub(crate) mod analytics;
pub(crate) mod publish;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::consent::{self, Provider, unknown_scope};
use super::dispatch::RouteCtx;
use super::errors::{json_response, pinterest};
use super::oauth::{Params, basic_auth, bearer};
use super::personas;
use super::state::{Issue, Redemption, Shared, Token, TokenKind};
use crate::domain::Platform;

const ACCESS_TTL: i64 = 2_592_000;
const REFRESH_TTL: i64 = 5_184_000;

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/www.pinterest.com/oauth/",
            get(consent::show::<PinterestAuth>).post(consent::decide::<PinterestAuth>),
        )
        .route("/api.pinterest.com/v5/oauth/token", post(token))
        .route("/api.pinterest.com/v5/user_account", get(user_account))
        .route("/api.pinterest.com/v5/boards", get(boards))
        .merge(publish::routes())
        .merge(analytics::routes())
}

struct PinterestAuth;

impl Provider for PinterestAuth {
    const PLATFORM: Platform = Platform::Pinterest;
    const SCOPE_SEPARATOR: char = ',';

    fn describe_scope(scope: &str) -> String {
        match scope {
            "boards:read" => "See your public boards".into(),
            "boards:read_secret" => "See your secret boards".into(),
            "boards:write" => "Create and change your boards".into(),
            "pins:read" => "See your public Pins".into(),
            "pins:read_secret" => "See your secret Pins".into(),
            "pins:write" => "Create and change your Pins".into(),
            "user_accounts:read" => "See your account details".into(),
            other => unknown_scope(other),
        }
    }
}

fn error(status: StatusCode, code: i64, message: &str) -> Response {
    pinterest(status, code, message)
}

async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, params: Params) -> Response {
    let (id, secret) = shared.config.client(Platform::Pinterest);
    match basic_auth(&headers) {
        Some((i, s)) if i == id && s == secret => {}
        _ => return error(StatusCode::UNAUTHORIZED, 2, "Authentication failed."),
    }
    if !params.is_form() {
        return error(
            StatusCode::BAD_REQUEST,
            1,
            "The body must be application/x-www-form-urlencoded.",
        );
    }
    let now = shared.clock.now();
    let mut store = shared.store();
    match params.get("grant_type") {
        Some("authorization_code") => {
            let code = match store.redeem_code(
                Redemption {
                    platform: Platform::Pinterest,
                    code: params.get("code"),
                    client_id: id,
                    redirect_uri: Some(params.raw("redirect_uri").unwrap_or("")),
                    verifier: params.get("code_verifier"),
                },
                now,
            ) {
                Ok(c) => c,
                Err(e) => return error(StatusCode::BAD_REQUEST, 1, e.describe()),
            };
            let access = store.issue(
                Issue::access("pina_", 100, Some(ACCESS_TTL)),
                &code.grant,
                now,
            );
            let refresh = store.issue(
                Issue::refresh("pinr_", 100, Some(REFRESH_TTL)),
                &code.grant,
                now,
            );
            token_response(&access, &refresh, "authorization_code", now)
        }
        Some("refresh_token") => {
            let old = match store.check(
                Platform::Pinterest,
                TokenKind::Refresh,
                params.get("refresh_token"),
                now,
            ) {
                Ok(t) => t,
                Err(_) => return error(StatusCode::BAD_REQUEST, 1, "Invalid refresh token."),
            };
            let access = store.issue(
                Issue::access("pina_", 100, Some(ACCESS_TTL)),
                &old.grant,
                now,
            );
            let refresh = store.issue(
                Issue::refresh("pinr_", 100, Some(REFRESH_TTL)),
                &old.grant,
                now,
            );
            token_response(&access, &refresh, "refresh_token", now)
        }
        Some(other) => error(
            StatusCode::BAD_REQUEST,
            1,
            &format!("Unsupported grant_type {other:?}."),
        ),
        None => error(StatusCode::BAD_REQUEST, 1, "Missing grant_type."),
    }
}

fn token_response(
    access: &Token,
    refresh: &Token,
    response_type: &str,
    now: DateTime<Utc>,
) -> Response {
    json_response(
        StatusCode::OK,
        json!({
            "access_token": access.value,
            "token_type": "bearer",
            "expires_in": ACCESS_TTL,
            "scope": access.grant.scopes.join(","),
            "refresh_token": refresh.value,
            "refresh_token_expires_in": REFRESH_TTL,
            "refresh_token_expires_at": refresh.expires_at.map_or(now.timestamp() + REFRESH_TTL, |at| at.timestamp()),
            "response_type": response_type,
        }),
    )
}

fn authenticate(shared: &Shared, headers: &HeaderMap) -> Result<Token, Response> {
    let now = shared.clock.now();
    shared
        .store()
        .check(
            Platform::Pinterest,
            TokenKind::Access,
            bearer(headers).as_deref(),
            now,
        )
        .map_err(|_| error(StatusCode::UNAUTHORIZED, 2, "Authentication failed."))
}

pub(crate) fn user_id(account: &str) -> String {
    personas::numeric_id(&["pinterest", "user", account], 18)
}

async fn user_account(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let token = match authenticate(&shared, &headers) {
        Ok(t) => t,
        Err(res) => return res,
    };
    if !token.grant.has_scope("user_accounts:read") {
        return error(
            StatusCode::FORBIDDEN,
            403,
            "Not authorized to access the user account.",
        );
    }
    let account = &token.grant.account;
    let name = personas::display_name(Platform::Pinterest, account);
    let boards = boards_of(account);
    json_response(
        StatusCode::OK,
        json!({
            "account_type": "BUSINESS",
            "id": user_id(account),
            "profile_image": personas::avatar_url(&shared.config.base(), Platform::Pinterest, account),
            "website_url": format!("https://{}.example", personas::slug(account)),
            "username": account,
            "about": "",
            "business_name": name,
            "board_count": boards.len(),
            "pin_count": boards.iter().map(|b| b.pin_count).sum::<u64>(),
            "follower_count": personas::derived_count(&["pinterest", "followers", account], 50..5000),
            "following_count": personas::derived_count(&["pinterest", "following", account], 10..500),
            "monthly_views": personas::derived_count(&["pinterest", "views", account], 1000..90_000),
        }),
    )
}

struct Board {
    id: String,
    name: String,
    description: String,
    privacy: &'static str,
    pin_count: u64,
}

/// The seed persona has five boards (one secret); any other account has three.
fn boards_of(account: &str) -> Vec<Board> {
    let names: Vec<(String, &str, &'static str)> =
        if account == personas::seed_account(Platform::Pinterest) {
            vec![
                (
                    "Handmade Mugs".into(),
                    "Every mug we have thrown, glazed and loved.",
                    "PUBLIC",
                ),
                (
                    "Glaze Inspiration".into(),
                    "Colours and textures we want to try.",
                    "PUBLIC",
                ),
                (
                    "Studio Life".into(),
                    "Behind the scenes at the studio.",
                    "PUBLIC",
                ),
                (
                    "Gift Ideas".into(),
                    "Ceramics that make good presents.",
                    "PUBLIC",
                ),
                (
                    "New Collection (draft)".into(),
                    "Not ready to share yet.",
                    "SECRET",
                ),
            ]
        } else {
            let name = personas::display_name(Platform::Pinterest, account);
            vec![
                (
                    format!("{name} Favourites"),
                    "Things worth saving.",
                    "PUBLIC",
                ),
                ("Ideas".into(), "", "PUBLIC"),
                ("Inspiration".into(), "", "PUBLIC"),
            ]
        };
    names
        .into_iter()
        .map(|(name, description, privacy)| Board {
            id: personas::numeric_id(&["pinterest", "board", account, &name], 18),
            pin_count: personas::derived_count(&["pinterest", "pins", account, &name], 3..120),
            name,
            description: description.to_owned(),
            privacy,
        })
        .collect()
}

/// Opaque to clients; bound to the account so one user's bookmark is refused for another.
fn bookmark(account: &str, offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{offset}", user_id(account)))
}

fn read_bookmark(account: &str, raw: &str) -> Option<usize> {
    let decoded = String::from_utf8(URL_SAFE_NO_PAD.decode(raw).ok()?).ok()?;
    let (owner, offset) = decoded.split_once(':')?;
    (owner == user_id(account))
        .then(|| offset.parse().ok())
        .flatten()
}

async fn boards(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    headers: HeaderMap,
) -> Response {
    let token = match authenticate(&shared, &headers) {
        Ok(t) => t,
        Err(res) => return res,
    };
    if !token.grant.has_scope("boards:read") {
        return error(
            StatusCode::FORBIDDEN,
            403,
            "Not authorized to access boards.",
        );
    }
    let query = ctx.params();
    let page_size = match query.get("page_size").map(str::parse::<usize>) {
        None => 25,
        Some(Ok(n)) if (1..=250).contains(&n) => n,
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                1,
                "Invalid page_size: it must be a whole number from 1 to 250.",
            );
        }
    };
    let account = &token.grant.account;
    let offset = match query.get("bookmark") {
        None => 0,
        Some(raw) => match read_bookmark(account, raw) {
            Some(o) => o,
            None => return error(StatusCode::BAD_REQUEST, 1, "Invalid bookmark."),
        },
    };
    let see_secret = token.grant.has_scope("boards:read_secret");
    let privacy = query.get("privacy");
    let base = shared.config.base();
    let all: Vec<Board> = boards_of(account)
        .into_iter()
        .filter(|b| b.privacy != "SECRET" || see_secret)
        .filter(|b| privacy.is_none_or(|p| p == b.privacy))
        .collect();
    let items: Vec<Value> = all
        .iter()
        .skip(offset)
        .take(page_size)
        .map(|b| {
            json!({
                "id": b.id,
                "name": b.name,
                "description": b.description,
                "privacy": b.privacy,
                "pin_count": b.pin_count,
                "follower_count": personas::derived_count(&["pinterest", "board-followers", &b.id], 0..400),
                "collaborator_count": 0,
                "created_at": "2023-03-14T10:00:00",
                "board_pins_modified_at": "2026-07-01T09:00:00.000000",
                "owner": { "username": account },
                "media": {
                    "image_cover_url": personas::avatar_url(&base, Platform::Pinterest, &b.name),
                    "pin_thumbnail_urls": [],
                },
                "is_ads_only": false,
            })
        })
        .collect();
    let next = offset + page_size;
    let bookmark = (next < all.len()).then(|| bookmark(account, next));
    json_response(
        StatusCode::OK,
        json!({ "items": items, "bookmark": bookmark }),
    )
}
