//! LinkedIn (PLATFORMS.md §4): 3-legged OAuth with the client secret in the form body, 60-day
//! access tokens, programmatic refresh tokens only when `SandboxConfig::linkedin_refresh_tokens`
//! is on (their 365-day lifetime does not reset on refresh), and `GET /v2/userinfo`. Posts,
//! images and videos on the versioned REST API live in [`publish`]; the organizations a member
//! administers (`organizationAcls`, `organizations/{id}`) in [`organizations`]; their posts'
//! numbers (`organizationalEntityShareStatistics`) in [`statistics`].

mod organizations;
pub(crate) mod publish;
mod statistics;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::json;

use super::consent::{self, Provider, unknown_scope};
use super::errors::{json_response, linkedin, oauth};
use super::oauth::{Params, bearer};
use super::personas;
use super::state::{CodeError, Issue, Redemption, Shared, Token, TokenKind};
use crate::domain::Platform;

const ACCESS_TTL: i64 = 5_184_000;
const REFRESH_TTL: i64 = 31_536_000;

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/www.linkedin.com/oauth/v2/authorization",
            get(consent::show::<LinkedinAuth>).post(consent::decide::<LinkedinAuth>),
        )
        .route("/www.linkedin.com/oauth/v2/accessToken", post(token))
        .route("/api.linkedin.com/v2/userinfo", get(userinfo))
        .merge(publish::routes())
        .merge(organizations::routes())
        .merge(statistics::routes())
}

struct LinkedinAuth;

impl Provider for LinkedinAuth {
    const PLATFORM: Platform = Platform::Linkedin;
    const ACCOUNT_LABEL: &'static str = "LinkedIn member";

    fn describe_scope(scope: &str) -> String {
        match scope {
            "openid" => "Use your LinkedIn account to sign in".into(),
            "profile" => "See your name and photo".into(),
            "email" => "See your primary e-mail address".into(),
            "w_member_social" => "Post, comment and react for you".into(),
            "r_member_social" => "See your posts and reactions".into(),
            "w_organization_social" => "Post for the organisations you manage".into(),
            "r_organization_social" => "See your organisations\u{2019} posts".into(),
            "rw_organization_admin" => "Manage your organisations\u{2019} pages".into(),
            "r_basicprofile" => "See your basic profile".into(),
            other => unknown_scope(other),
        }
    }
}

/// LinkedIn reports every code failure with one well-known `invalid_request` message.
fn code_failure(e: CodeError) -> Response {
    let description = match e {
        CodeError::Missing => "A required parameter \"code\" is missing".to_owned(),
        CodeError::Expired => "Unable to retrieve access token: authorization code expired".to_owned(),
        CodeError::Used | CodeError::Unknown => {
            "Unable to retrieve access token: authorization code not found".to_owned()
        }
        _ => "Unable to retrieve access token: appid/redirect uri/code verifier does not match authorization code. Or authorization code expired. Or external member binding exists".to_owned(),
    };
    oauth(StatusCode::BAD_REQUEST, "invalid_request", &description)
}

async fn token(State(shared): State<Arc<Shared>>, params: Params) -> Response {
    if !params.is_form() {
        return oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The body must be application/x-www-form-urlencoded.",
        );
    }
    let (id, secret) = shared.config.client(Platform::Linkedin);
    if params.get("client_id") != Some(id) || params.get("client_secret") != Some(secret) {
        return oauth(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        );
    }
    let now = shared.clock.now();
    let mut store = shared.store();
    match params.get("grant_type") {
        Some("authorization_code") => {
            let code = match store.redeem_code(
                Redemption {
                    platform: Platform::Linkedin,
                    code: params.get("code"),
                    client_id: id,
                    redirect_uri: Some(params.raw("redirect_uri").unwrap_or("")),
                    verifier: params.get("code_verifier"),
                },
                now,
            ) {
                Ok(c) => c,
                Err(e) => return code_failure(e),
            };
            let access = store.issue(Issue::access("AQ", 250, Some(ACCESS_TTL)), &code.grant, now);
            let refresh = shared.config.linkedin_refresh_tokens.then(|| {
                store.issue(
                    Issue::refresh("AQ", 250, Some(REFRESH_TTL)),
                    &code.grant,
                    now,
                )
            });
            token_response(&access, refresh.as_ref(), now)
        }
        Some("refresh_token") => {
            let refresh = match store.check(
                Platform::Linkedin,
                TokenKind::Refresh,
                params.get("refresh_token"),
                now,
            ) {
                Ok(t) => t,
                Err(_) => {
                    return oauth(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        "The provided refresh token is invalid or expired",
                    );
                }
            };
            // The refresh token stays the same and keeps its original expiry.
            let access = store.issue(
                Issue::access("AQ", 250, Some(ACCESS_TTL)),
                &refresh.grant,
                now,
            );
            token_response(&access, Some(&refresh), now)
        }
        Some(other) => oauth(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("The grant_type {other:?} is not supported"),
        ),
        None => oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "A required parameter \"grant_type\" is missing",
        ),
    }
}

fn token_response(
    access: &Token,
    refresh: Option<&Token>,
    now: chrono::DateTime<chrono::Utc>,
) -> Response {
    let mut body = json!({
        "access_token": access.value,
        "expires_in": ACCESS_TTL,
        "scope": access.grant.scopes.join(","),
    });
    if let Some(r) = refresh {
        body["refresh_token"] = json!(r.value);
        body["refresh_token_expires_in"] = json!(r.expires_in(now).unwrap_or(REFRESH_TTL));
    }
    json_response(StatusCode::OK, body)
}

pub(crate) fn member_id(account: &str) -> String {
    personas::derived_chars(
        &["linkedin", "member", account],
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
        10,
    )
}

async fn userinfo(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let now = shared.clock.now();
    let token = match shared.store().check(
        Platform::Linkedin,
        TokenKind::Access,
        bearer(&headers).as_deref(),
        now,
    ) {
        Ok(t) => t,
        Err(_) => {
            return linkedin(
                StatusCode::UNAUTHORIZED,
                Some(65600),
                "INVALID_ACCESS_TOKEN",
                "Invalid access token",
            );
        }
    };
    if !token.grant.has_scope("openid") {
        return linkedin(
            StatusCode::FORBIDDEN,
            Some(100),
            "ACCESS_DENIED",
            "Not enough permissions to access: userinfo.GET.NO_VERSION",
        );
    }
    let account = &token.grant.account;
    let mut body = json!({ "sub": member_id(account) });
    if token.grant.has_scope("profile") {
        let name = personas::display_name(Platform::Linkedin, account);
        let (given, family) = name.split_once(' ').unwrap_or((&name, ""));
        body["name"] = json!(name);
        body["given_name"] = json!(given);
        body["family_name"] = json!(family);
        body["picture"] = json!(personas::avatar_url(
            &shared.config.base(),
            Platform::Linkedin,
            account
        ));
        body["locale"] = json!({ "country": "US", "language": "en" });
    }
    if token.grant.has_scope("email") {
        let email = if account == personas::seed_account(Platform::Linkedin) {
            "maya@mapleandmoss.example".to_owned()
        } else {
            format!("{}@sandbox.example", personas::slug(account))
        };
        body["email"] = json!(email);
        body["email_verified"] = json!(true);
    }
    json_response(StatusCode::OK, body)
}

/// A LinkedIn organization (company page) a sandbox member administers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Organization {
    /// The numeric id of `urn:li:organization:{id}`.
    pub id: String,
    pub name: String,
    pub vanity_name: String,
}

impl Organization {
    pub fn urn(&self) -> String {
        format!("urn:li:organization:{}", self.id)
    }
}

/// The organizations a member administers (role ADMINISTRATOR, state APPROVED): the seed persona
/// runs the shop's company page; a login containing `admin` runs two; everyone else none.
pub(crate) fn organizations_of(account: &str) -> Vec<Organization> {
    let org = |n: u8, name: String| Organization {
        id: personas::numeric_id(&["linkedin", "organization", account, &n.to_string()], 8),
        vanity_name: personas::slug(&name.replace('&', "and")),
        name,
    };
    if account == personas::seed_account(Platform::Linkedin) {
        vec![org(1, "Maple & Moss Ceramics".into())]
    } else if account.to_ascii_lowercase().contains("admin") {
        let title = personas::title_words(account);
        vec![
            org(1, format!("{title} Studio")),
            org(2, format!("{title} Supply Co")),
        ]
    } else {
        Vec::new()
    }
}

/// Whether `account`'s member may act as `urn`: their own person URN, or an organization they
/// administer.
pub(crate) fn may_act_as(account: &str, urn: &str) -> bool {
    if urn == format!("urn:li:person:{}", member_id(account)) {
        return true;
    }
    urn.strip_prefix("urn:li:organization:")
        .is_some_and(|id| organizations_of(account).iter().any(|o| o.id == id))
}
