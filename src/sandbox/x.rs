//! X (Twitter) API v2 (PLATFORMS.md §1): OAuth 2.0 authorization code with PKCE for a
//! confidential client (HTTP Basic at the token endpoint), rotating refresh tokens, revoke, and
//! `GET /2/users/me`. Posts and media live in [`publish`]. Legacy `twitter.com` hosts are
//! aliases (see `dispatch`).

pub(crate) mod metrics;
pub(crate) mod publish;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::consent::{self, Provider, unknown_scope};
use super::dispatch::RouteCtx;
use super::errors::{json_response, oauth, x_problem};
use super::oauth::{Params, PkceRule, basic_auth, bearer};
use super::personas;
use super::state::{Issue, Redemption, Shared, Token, TokenError, TokenKind};
use crate::domain::Platform;

const ACCESS_TTL: i64 = 7200;

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/x.com/i/oauth2/authorize",
            get(consent::show::<XAuth>).post(consent::decide::<XAuth>),
        )
        .route("/api.x.com/2/oauth2/token", post(token))
        .route("/api.x.com/2/oauth2/revoke", post(revoke))
        .route("/api.x.com/2/users/me", get(me))
        .merge(publish::routes())
}

struct XAuth;

impl Provider for XAuth {
    const PLATFORM: Platform = Platform::X;
    const PKCE: PkceRule = PkceRule::Required { plain: true };
    const CODE_TTL_SECS: i64 = 30;

    fn describe_scope(scope: &str) -> String {
        match scope {
            "tweet.read" => "See your posts and the posts you can see".into(),
            "tweet.write" => "Post and delete posts for you".into(),
            "users.read" => "See your profile and other people\u{2019}s".into(),
            "users.email" => "See your e-mail address".into(),
            "offline.access" => "Stay connected until you revoke access".into(),
            "media.write" => "Upload photos and videos for you".into(),
            "like.read" => "See the posts you liked".into(),
            "follows.read" => "See who you follow and who follows you".into(),
            other => unknown_scope(other),
        }
    }
}

/// X's confidential clients must authenticate with HTTP Basic; a `client_id` in the body is
/// allowed but must agree.
fn authenticate_client(
    shared: &Shared,
    headers: &HeaderMap,
    params: &Params,
) -> Result<(), Response> {
    let Some((id, secret)) = basic_auth(headers) else {
        return Err(oauth(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Missing valid authorization header",
        ));
    };
    if id != shared.client_id(Platform::X) || secret != shared.client_secret(Platform::X) {
        return Err(oauth(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed: unknown client id or wrong secret.",
        ));
    }
    if params.get("client_id").is_some_and(|body_id| body_id != id) {
        return Err(oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The client_id in the body does not match the authorization header.",
        ));
    }
    Ok(())
}

fn bad_grant(description: &str) -> Response {
    oauth(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, params: Params) -> Response {
    if !params.is_form() {
        return oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The body must be application/x-www-form-urlencoded.",
        );
    }
    if let Err(res) = authenticate_client(&shared, &headers, &params) {
        return res;
    }
    let now = shared.clock.now();
    let mut store = shared.store();
    match params.get("grant_type") {
        Some("authorization_code") => {
            let code = match store.redeem_code(
                Redemption {
                    platform: Platform::X,
                    code: params.get("code"),
                    client_id: shared.client_id(Platform::X),
                    redirect_uri: Some(params.raw("redirect_uri").unwrap_or("")),
                    verifier: params.get("code_verifier"),
                },
                now,
            ) {
                Ok(c) => c,
                Err(e) => return bad_grant(e.describe()),
            };
            let access = store.issue(Issue::access("", 91, Some(ACCESS_TTL)), &code.grant, now);
            let refresh = code
                .grant
                .has_scope("offline.access")
                .then(|| store.issue(Issue::refresh("", 91, None), &code.grant, now));
            token_response(&access, refresh.as_ref())
        }
        Some("refresh_token") => {
            let old = match store.check(
                Platform::X,
                TokenKind::Refresh,
                params.get("refresh_token"),
                now,
            ) {
                Ok(t) => t,
                Err(TokenError::Missing) => {
                    return bad_grant("The refresh_token parameter is missing.");
                }
                Err(_) => return bad_grant("Value passed for the token was invalid."),
            };
            // Rotation: the refresh token just used is dead from now on.
            store.revoke(&old.value);
            let access = store.issue(Issue::access("", 91, Some(ACCESS_TTL)), &old.grant, now);
            let refresh = store.issue(Issue::refresh("", 91, None), &old.grant, now);
            token_response(&access, Some(&refresh))
        }
        Some(other) => oauth(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("The grant_type {other:?} is not supported."),
        ),
        None => oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter [grant_type].",
        ),
    }
}

fn token_response(access: &Token, refresh: Option<&Token>) -> Response {
    let mut body = json!({
        "token_type": "bearer",
        "expires_in": ACCESS_TTL,
        "access_token": access.value,
        "scope": access.grant.scopes.join(" "),
    });
    if let Some(r) = refresh {
        body["refresh_token"] = json!(r.value);
    }
    json_response(StatusCode::OK, body)
}

async fn revoke(State(shared): State<Arc<Shared>>, headers: HeaderMap, params: Params) -> Response {
    if let Err(res) = authenticate_client(&shared, &headers, &params) {
        return res;
    }
    let Some(value) = params.get("token") else {
        return oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter [token].",
        );
    };
    let mut store = shared.store();
    // RFC 7009: an unknown token is not an error, the answer is the same.
    if store.find(Platform::X, value).is_some() {
        store.revoke(value);
    }
    json_response(StatusCode::OK, json!({ "revoked": true }))
}

fn unauthorized() -> Response {
    x_problem(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized")
}

/// `user.fields` X knows; a value outside this list is a 400, as on the real API.
const USER_FIELDS: &[&str] = &[
    "affiliation",
    "confirmed_email",
    "connection_status",
    "created_at",
    "description",
    "entities",
    "id",
    "is_identity_verified",
    "location",
    "most_recent_tweet_id",
    "name",
    "parody",
    "pinned_tweet_id",
    "profile_banner_url",
    "profile_image_url",
    "protected",
    "public_metrics",
    "receives_your_dm",
    "subscription",
    "subscription_type",
    "url",
    "username",
    "verified",
    "verified_followers_count",
    "verified_type",
    "withheld",
];

async fn me(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    headers: HeaderMap,
) -> Response {
    let now = shared.clock.now();
    let token = match shared.store().check(
        Platform::X,
        TokenKind::Access,
        bearer(&headers).as_deref(),
        now,
    ) {
        Ok(t) => t,
        Err(_) => return unauthorized(),
    };
    if !(token.grant.has_scope("users.read") && token.grant.has_scope("tweet.read")) {
        return x_problem(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "This request needs the users.read and tweet.read scopes.",
        );
    }
    let query = ctx.params();
    let requested: Vec<&str> = query
        .get("user.fields")
        .map(|f| {
            f.split(',')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let unknown: Vec<&str> = requested
        .iter()
        .copied()
        .filter(|f| !USER_FIELDS.contains(f))
        .collect();
    if !unknown.is_empty() {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({
                "errors": [{
                    "parameters": { "user.fields": unknown },
                    "message": format!(
                        "The `user.fields` query parameter value [{}] is not one of [{}]",
                        unknown.join(","),
                        USER_FIELDS.join(",")
                    ),
                }],
                "title": "Invalid Request",
                "detail": "One or more parameters to your request was invalid.",
                "type": "https://api.x.com/2/problems/invalid-request",
            }),
        );
    }
    let login = &token.grant.account;
    let mut user = json!({
        "id": user_id(login),
        "name": personas::display_name(Platform::X, login),
        "username": login,
    });
    for field in requested {
        if let Some(v) = optional_field(&shared, login, field) {
            user[field] = v;
        }
    }
    json_response(StatusCode::OK, json!({ "data": user }))
}

pub(crate) fn user_id(login: &str) -> String {
    personas::numeric_id(&["x", "user", login], 19)
}

/// The optional fields the sandbox has values for; the others are left out, as X leaves out
/// fields an account has nothing for.
fn optional_field(shared: &Shared, login: &str, field: &str) -> Option<Value> {
    let seed = login == personas::seed_account(Platform::X);
    Some(match field {
        "profile_image_url" => json!(personas::avatar_url(
            &shared.config.base(),
            Platform::X,
            login
        )),
        "description" => json!(if seed {
            "Small-batch stoneware from a two-person studio. New mugs every Friday."
        } else {
            "A sandbox account."
        }),
        "created_at" => json!("2019-04-12T09:30:00.000Z"),
        "protected" => json!(false),
        "verified" => json!(false),
        "verified_type" => json!("none"),
        "url" => json!(""),
        "location" => json!(if seed { "Portland, OR" } else { "" }),
        "public_metrics" => json!({
            "followers_count": personas::derived_count(&["x", "followers", login], 120..9000),
            "following_count": personas::derived_count(&["x", "following", login], 40..900),
            "tweet_count": personas::derived_count(&["x", "tweets", login], 100..4000),
            "listed_count": personas::derived_count(&["x", "listed", login], 0..40),
            "like_count": personas::derived_count(&["x", "likes", login], 50..5000),
            "media_count": personas::derived_count(&["x", "media", login], 10..600),
        }),
        _ => return None,
    })
}
