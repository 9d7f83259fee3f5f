//! YouTube through Google OAuth (PLATFORMS.md §7): the Google consent page (`access_type`,
//! `prompt`, PKCE S256 or plain), the token endpoint that only hands out a refresh token for
//! offline access on the first consent (or with `prompt=consent`), refresh, revoke, and
//! `GET /youtube/v3/channels?mine=true`. Video uploads live in [`publish`].

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
use super::errors::{google, google_unauthenticated, json_response, oauth};
use super::oauth::{Params, PkceRule, basic_auth, bearer};
use super::personas;
use super::state::{CodeError, Issue, Redemption, Shared, Token, TokenKind};
use crate::domain::Platform;

const ACCESS_TTL: i64 = 3599;
const SCOPE_PREFIX: &str = "https://www.googleapis.com/auth/";

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/accounts.google.com/o/oauth2/v2/auth",
            get(consent::show::<GoogleAuth>).post(consent::decide::<GoogleAuth>),
        )
        .route(
            "/accounts.google.com/o/oauth2/auth",
            get(consent::show::<GoogleAuth>).post(consent::decide::<GoogleAuth>),
        )
        .route("/oauth2.googleapis.com/token", post(token))
        .route("/oauth2.googleapis.com/revoke", post(revoke))
        .route("/www.googleapis.com/youtube/v3/channels", get(channels))
        .merge(publish::routes())
        .merge(metrics::routes())
}

struct GoogleAuth;

impl Provider for GoogleAuth {
    const PLATFORM: Platform = Platform::Youtube;
    const PKCE: PkceRule = PkceRule::Optional { plain: true };
    const ACCOUNT_LABEL: &'static str = "Google account";

    fn describe_scope(scope: &str) -> String {
        let short = scope.strip_prefix(SCOPE_PREFIX).unwrap_or(scope);
        match short {
            "youtube.upload" => "Upload videos to your YouTube channel".into(),
            "youtube" => "Manage your YouTube account".into(),
            "youtube.readonly" => "See your YouTube account".into(),
            "youtube.force-ssl" => {
                "See, edit and delete your YouTube videos, ratings and comments".into()
            }
            "yt-analytics.readonly" => "See YouTube Analytics reports for your channel".into(),
            "openid" => "Associate you with your personal info on Google".into(),
            "email" | "userinfo.email" => "See your primary Google Account e-mail address".into(),
            "profile" | "userinfo.profile" => "See your personal info".into(),
            other => unknown_scope(other),
        }
    }

    /// Google echoes the granted scopes on the redirect.
    fn allow_params(a: &Allowed<'_>) -> (Vec<(&'static str, String)>, Option<&'static str>) {
        let mut params = a.code_and_state();
        params.push(("scope", a.grant.scopes.join(" ")));
        (params, None)
    }

    /// Google only says `access_denied`; the description is the sandbox's.
    fn deny_params() -> Vec<(&'static str, String)> {
        vec![
            ("error", "access_denied".into()),
            ("error_description", "The user denied access.".into()),
        ]
    }
}

/// The client may authenticate in the body or with HTTP Basic.
fn client_credentials(headers: &HeaderMap, params: &Params) -> (Option<String>, Option<String>) {
    match basic_auth(headers) {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (
            params.get("client_id").map(str::to_owned),
            params.get("client_secret").map(str::to_owned),
        ),
    }
}

fn invalid_grant(description: &str) -> Response {
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
    let (id, secret) = shared.config.client(Platform::Youtube);
    match client_credentials(&headers, &params) {
        (Some(i), Some(s)) if i == id && s == secret => {}
        (Some(i), _) if i != id => {
            return oauth(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "The OAuth client was not found.",
            );
        }
        _ => return oauth(StatusCode::UNAUTHORIZED, "invalid_client", "Unauthorized"),
    }
    let now = shared.clock.now();
    let mut store = shared.store();
    match params.get("grant_type") {
        Some("authorization_code") => {
            let code = match store.redeem_code(
                Redemption {
                    platform: Platform::Youtube,
                    code: params.get("code"),
                    client_id: id,
                    redirect_uri: Some(params.raw("redirect_uri").unwrap_or("")),
                    verifier: params.get("code_verifier"),
                },
                now,
            ) {
                Ok(c) => c,
                Err(CodeError::RedirectMismatch) => {
                    return oauth(
                        StatusCode::BAD_REQUEST,
                        "redirect_uri_mismatch",
                        "Bad Request",
                    );
                }
                Err(CodeError::VerifierMissing) => return invalid_grant("Missing code verifier."),
                Err(CodeError::VerifierMismatch) => return invalid_grant("Invalid code verifier."),
                Err(CodeError::Missing) => {
                    return oauth(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        "Missing required parameter: code",
                    );
                }
                Err(_) => return invalid_grant("Bad Request"),
            };
            // Google hands out a refresh token when offline access is first granted; later
            // offline consents only get one when the app forced the consent screen again.
            let first = code.offline
                && store.first_google_consent(&code.grant.client_id, &code.grant.account);
            let access = store.issue(
                Issue::access("ya29.", 160, Some(ACCESS_TTL)),
                &code.grant,
                now,
            );
            let mut body = json!({
                "access_token": access.value,
                "expires_in": ACCESS_TTL,
                "scope": code.grant.scopes.join(" "),
                "token_type": "Bearer",
            });
            if code.offline && (first || code.prompt_consent) {
                let refresh = store.issue(Issue::refresh("1//", 100, None), &code.grant, now);
                body["refresh_token"] = json!(refresh.value);
            }
            json_response(StatusCode::OK, body)
        }
        Some("refresh_token") => {
            let refresh = match store.check(
                Platform::Youtube,
                TokenKind::Refresh,
                params.get("refresh_token"),
                now,
            ) {
                Ok(t) if t.grant.client_id == id => t,
                _ => return invalid_grant("Token has been expired or revoked."),
            };
            let access = store.issue(
                Issue::access("ya29.", 160, Some(ACCESS_TTL)),
                &refresh.grant,
                now,
            );
            json_response(
                StatusCode::OK,
                json!({
                    "access_token": access.value,
                    "expires_in": ACCESS_TTL,
                    "scope": refresh.grant.scopes.join(" "),
                    "token_type": "Bearer",
                }),
            )
        }
        Some(_) => oauth(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Invalid grant_type",
        ),
        None => oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: grant_type",
        ),
    }
}

/// Revoking either token of a consent revokes the whole consent, as Google does.
async fn revoke(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    body: Params,
) -> Response {
    let params = body.with_query(&ctx.params());
    let mut store = shared.store();
    let found = params
        .get("token")
        .and_then(|t| store.find(Platform::Youtube, t))
        .filter(|t| !t.revoked)
        .map(|t| t.grant.clone());
    match found {
        Some(grant) => {
            store.revoke_grant(grant.id);
            store.revoke_account(Platform::Youtube, &grant.client_id, &grant.account);
            json_response(StatusCode::OK, json!({}))
        }
        None => oauth(
            StatusCode::BAD_REQUEST,
            "invalid_token",
            "Token expired or revoked",
        ),
    }
}

/// Scopes that may read one's own channel; `youtube.upload` alone may not.
pub(crate) const CHANNEL_READ_SCOPES: &[&str] = &[
    "youtube",
    "youtube.readonly",
    "youtube.force-ssl",
    "youtubepartner",
];

/// Whether `token` carries one of `scopes` (short names, or with Google's prefix).
fn has_scope(token: &Token, scopes: &[&str]) -> bool {
    token
        .grant
        .scopes
        .iter()
        .any(|s| scopes.contains(&s.strip_prefix(SCOPE_PREFIX).unwrap_or(s)))
}

fn insufficient_scopes() -> Response {
    google(
        StatusCode::FORBIDDEN,
        "Request had insufficient authentication scopes.",
        "insufficientPermissions",
    )
}

/// The caller's YouTube access token, or Google's refusal: 401 without a valid token, 403
/// without one of `scopes`.
pub(crate) fn authorized(
    shared: &Shared,
    headers: &HeaderMap,
    scopes: &[&str],
) -> Result<Token, Response> {
    let token = shared
        .store()
        .check(
            Platform::Youtube,
            TokenKind::Access,
            bearer(headers).as_deref(),
            shared.clock.now(),
        )
        .map_err(|_| google_unauthenticated())?;
    if has_scope(&token, scopes) {
        Ok(token)
    } else {
        Err(insufficient_scopes())
    }
}

pub(crate) fn channel_id(account: &str) -> String {
    format!(
        "UC{}",
        personas::derived_chars(
            &["youtube", "channel", account],
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
            22
        )
    )
}

async fn channels(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    headers: HeaderMap,
) -> Response {
    let now = shared.clock.now();
    let token = match shared.store().check(
        Platform::Youtube,
        TokenKind::Access,
        bearer(&headers).as_deref(),
        now,
    ) {
        Ok(t) => t,
        Err(_) => return google_unauthenticated(),
    };
    let query = ctx.params();
    let Some(part) = query.get("part") else {
        return google(
            StatusCode::BAD_REQUEST,
            "No filter selected. Expected one of: mine, id, forHandle, forUsername, managedByMe, categoryId, mySubscribers",
            "missingRequiredParameter",
        );
    };
    if query.get("mine") != Some("true") {
        return google(
            StatusCode::BAD_REQUEST,
            "The sandbox only emulates channels.list with mine=true.",
            "badRequest",
        );
    }
    if !has_scope(&token, CHANNEL_READ_SCOPES) {
        return insufficient_scopes();
    }
    let account = &token.grant.account;
    let id = channel_id(account);
    let title = personas::display_name(Platform::Youtube, account);
    let avatar = personas::avatar_url(&shared.config.base(), Platform::Youtube, account);
    let mut item = Map::new();
    item.insert("kind".into(), json!("youtube#channel"));
    item.insert("etag".into(), json!(ctx.trace_id("", 27)));
    item.insert("id".into(), json!(id));
    for p in part.split(',').map(str::trim) {
        let value: Value = match p {
            "id" => continue,
            "snippet" => json!({
                "title": title,
                "description": "Handmade ceramics, filmed in the sandbox.",
                "customUrl": format!("@{}", personas::slug(account).replace('-', "")),
                "publishedAt": "2020-02-02T12:00:00Z",
                "thumbnails": {
                    "default": { "url": avatar, "width": 88, "height": 88 },
                    "medium": { "url": avatar, "width": 240, "height": 240 },
                    "high": { "url": avatar, "width": 800, "height": 800 },
                },
                "localized": { "title": title, "description": "Handmade ceramics, filmed in the sandbox." },
            }),
            "contentDetails" => {
                json!({ "relatedPlaylists": { "likes": "", "uploads": format!("UU{}", &id[2..]) } })
            }
            "statistics" => json!({
                "viewCount": personas::derived_count(&["youtube", "views", account], 1000..900_000).to_string(),
                "subscriberCount": personas::derived_count(&["youtube", "subs", account], 10..20_000).to_string(),
                "hiddenSubscriberCount": false,
                "videoCount": personas::derived_count(&["youtube", "videos", account], 3..300).to_string(),
            }),
            "status" => {
                json!({ "privacyStatus": "public", "isLinked": true, "longUploadsStatus": "allowed", "madeForKids": false })
            }
            other => {
                return google(
                    StatusCode::BAD_REQUEST,
                    &format!("'{other}'"),
                    "unknownPart",
                );
            }
        };
        item.insert(p.to_owned(), value);
    }
    json_response(
        StatusCode::OK,
        json!({
            "kind": "youtube#channelListResponse",
            "etag": ctx.trace_id("", 27),
            "pageInfo": { "totalResults": 1, "resultsPerPage": 5 },
            "items": [item],
        }),
    )
}
