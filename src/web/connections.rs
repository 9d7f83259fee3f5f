//! `/connections`: connecting, checking and disconnecting accounts on the ten platforms.
//!
//! The OAuth dance: `GET /connections/{platform}/connect` stores a flow (state, PKCE verifier,
//! Shopify shop) in the session and redirects to the platform's consent page; the platform
//! returns to `GET /oauth/{platform}/callback`. The state is bound to the session, single use
//! and valid for ten minutes. When the consent yields several accounts (Facebook Pages; a
//! LinkedIn profile and the company pages its member administers), their tokens wait, encrypted,
//! in the session until the person picks; otherwise the account is connected straight away. Every failure ends on this page with a plain message and nothing
//! stored.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use oauth2::PkceCodeChallenge;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tower_sessions::Session;
use uuid::Uuid;

use crate::connections::TokenError;
use crate::domain::{Platform, PlatformKind, TimeZone};
use crate::entities::connections::Model;
use crate::entities::enums::ConnectionStatus;
use crate::error::AppError;
use crate::platforms::shopify::oauth::normalize_shop;
use crate::platforms::{
    AuthorizeParams, ExchangeParams, OAuthError, RemoteAccount, StoredGrant, TokenSet,
};
use crate::state::AppState;
use crate::web::render;
use crate::web::session::{self, ClientIp, CurrentUser, FlashKind, PageContext};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/connections", get(index))
        .route("/connections/{platform}/connect", get(connect))
        .route("/oauth/{platform}/callback", get(callback))
        .route(
            "/connections/{platform}/choose",
            get(choose_page).post(choose),
        )
        .route("/connections/{id}/disconnect", post(disconnect))
        .route("/connections/{id}/check", post(check))
        .route("/connections/{id}/board", post(set_board))
}

const FLOWS: &str = "oauth_flows";
const CHOICE: &str = "oauth_choice";
const FLOW_TTL_SECS: i64 = 600;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Flow {
    state: String,
    platform: Platform,
    verifier: Option<String>,
    shop: Option<String>,
    created: i64,
}

fn parse_platform(raw: &str) -> Result<Platform, AppError> {
    raw.parse().map_err(|_| AppError::NotFound)
}

// ---- the page ----

struct Section {
    platform: Platform,
    description: &'static str,
    configured: bool,
    accounts: Vec<Card>,
}

pub struct Card {
    pub id: Uuid,
    pub platform: Platform,
    pub display_name: String,
    pub avatar_url: Option<String>,
    pub health: Health,
    pub last_refreshed: Option<String>,
    pub boards: Vec<(String, String, bool)>,
    pub instagram: Option<String>,
    /// Posts that failed on this account because it needed reconnecting.
    pub auth_failures: i64,
    /// A shop's catalog sync.
    pub sync: Option<crate::web::catalog_sync::SyncView>,
    /// Engagement collection for its posts waits until it is reconnected.
    pub metrics_paused: bool,
}

impl Card {
    /// The letter shown when the account has no picture.
    pub fn initial(&self) -> String {
        self.display_name
            .trim_start_matches('@')
            .chars()
            .next()
            .map(|c| c.to_uppercase().to_string())
            .unwrap_or_default()
    }
}

/// How a connection is doing, in words and a colour.
#[derive(Clone, Debug)]
pub struct Health {
    /// `ok`, `warn` or `error`.
    pub tone: &'static str,
    pub label: String,
    pub detail: String,
    pub needs_attention: bool,
}

/// The health of a connection as the connections page and the dashboard show it.
pub fn health(model: &Model, can_refresh: bool, now: DateTime<Utc>) -> Health {
    match model.status {
        ConnectionStatus::NeedsReauth => Health {
            tone: "error",
            label: "Needs reconnecting".into(),
            detail: model
                .last_error
                .clone()
                .unwrap_or_else(|| "Connect the account again to keep posting.".into()),
            needs_attention: true,
        },
        ConnectionStatus::Error => Health {
            tone: "error",
            label: "Problem".into(),
            detail: model
                .last_error
                .clone()
                .unwrap_or_else(|| "The last check failed.".into()),
            needs_attention: true,
        },
        ConnectionStatus::Revoked => Health {
            tone: "warn",
            label: "Disconnected".into(),
            detail: String::new(),
            needs_attention: false,
        },
        ConnectionStatus::Active => match model.expires_at {
            Some(at) if !can_refresh => {
                let days = (at - now).num_days();
                if at <= now {
                    Health {
                        tone: "error",
                        label: "Expired".into(),
                        detail: "Access has expired. Reconnect to keep posting.".into(),
                        needs_attention: true,
                    }
                } else if days < 7 {
                    Health {
                        tone: "warn",
                        label: format!("Expires in {}", days_in_words(days)),
                        detail: "This platform doesn't let us renew access on our own. Reconnect before then to keep posting.".into(),
                        needs_attention: true,
                    }
                } else {
                    Health {
                        tone: "ok",
                        label: "Active".into(),
                        detail: format!(
                            "Access lasts {} more; we'll remind you before it ends.",
                            days_in_words(days)
                        ),
                        needs_attention: false,
                    }
                }
            }
            Some(_) => Health {
                tone: "ok",
                label: "Active".into(),
                detail: "Access renews automatically.".into(),
                needs_attention: false,
            },
            None => Health {
                tone: "ok",
                label: "Active".into(),
                detail: "Access doesn't expire.".into(),
                needs_attention: false,
            },
        },
    }
}

fn days_in_words(days: i64) -> String {
    match days {
        ..=0 => "less than a day".into(),
        1 => "1 day".into(),
        n => format!("{n} days"),
    }
}

fn description(p: Platform) -> &'static str {
    match p {
        Platform::X => "Posts with up to four images or a video.",
        Platform::Instagram => "Photos, carousels and reels on your professional account.",
        Platform::Facebook => "Posts on the Facebook Pages you manage.",
        Platform::Linkedin => "Posts on your LinkedIn profile and the company pages you manage.",
        Platform::Pinterest => "Pins on your boards, linking back to your products.",
        Platform::Tiktok => "Videos and photo posts.",
        Platform::Youtube => "Videos on your channel.",
        Platform::Shopify => "Your products, kept in sync.",
        Platform::Etsy => "Your Etsy listings.",
        Platform::Squarespace => "Your Squarespace store's products.",
    }
}

/// Whether the platform can renew this connection's access without the person.
pub fn can_refresh(state: &AppState, model: &Model) -> bool {
    let Ok(platform) = model.platform.parse::<Platform>() else {
        return false;
    };
    let Some(provider) = state.connections.registry().oauth(platform) else {
        return false;
    };
    let grant = StoredGrant {
        account_id: model.account_id.clone(),
        metadata: model.metadata.clone(),
        access_token: model
            .access_token_enc
            .as_ref()
            .map(|_| SecretString::from(String::new())),
        refresh_token: model
            .refresh_token_enc
            .as_ref()
            .map(|_| SecretString::from(String::new())),
        expires_at: model.expires_at,
        // A self-refreshing token (Instagram) only needs to be old enough at refresh time.
        obtained_at: DateTime::<Utc>::MIN_UTC,
    };
    provider.can_refresh(&grant)
}

pub fn format_time(at: DateTime<Utc>, tz: &str) -> String {
    at.with_timezone(&TimeZone::parse_or_utc(tz).tz())
        .format("%-d %b %Y, %H:%M")
        .to_string()
}

fn card(state: &AppState, model: &Model, tz: &str, now: DateTime<Utc>) -> Card {
    let platform = model.platform.parse().unwrap_or(Platform::X);
    let default_board = model
        .metadata
        .get("default_board_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let boards = model
        .metadata
        .get("boards")
        .and_then(Value::as_array)
        .map(|bs| {
            bs.iter()
                .filter_map(|b| {
                    let id = b.get("id")?.as_str()?.to_owned();
                    let name = b
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("Board")
                        .to_owned();
                    let selected = id == default_board;
                    Some((id, name, selected))
                })
                .collect()
        })
        .unwrap_or_default();
    Card {
        id: model.id,
        platform,
        display_name: model.display_name.clone(),
        avatar_url: model.avatar_url.clone(),
        health: health(model, can_refresh(state, model), now),
        last_refreshed: model.last_refreshed_at.map(|t| format_time(t, tz)),
        boards,
        instagram: model
            .metadata
            .pointer("/instagram_business_account/username")
            .and_then(Value::as_str)
            .map(|u| format!("@{u}")),
        auth_failures: 0,
        sync: None,
        metrics_paused: state.config.features.metrics_engagement
            && model.status == ConnectionStatus::NeedsReauth
            && state.connections.registry().metrics(platform).is_some(),
    }
}

#[derive(Template)]
#[template(path = "connections/index.html")]
struct IndexPage {
    ctx: PageContext,
    social: Vec<Section>,
    commerce: Vec<Section>,
    sandbox: bool,
}

async fn index(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
) -> Result<Response, AppError> {
    let models = state.connections.list_for_user(user.id).await?;
    let now = Utc::now();
    let mut waiting = std::collections::HashMap::new();
    for m in &models {
        let n = crate::posts::auth_failures(&state.db, user.id, m.id).await?;
        if n > 0 {
            waiting.insert(m.id, n);
        }
    }
    let shops: Vec<&Model> = models
        .iter()
        .filter(|m| m.kind == crate::entities::enums::ConnectionKind::Commerce)
        .collect();
    let mut syncs = crate::web::catalog_sync::views_of(&state.db, &shops, &user.time_zone).await?;
    let mut social = Vec::new();
    let mut commerce = Vec::new();
    for platform in Platform::ALL {
        let section = Section {
            platform,
            description: description(platform),
            configured: state.connections.registry().credentials(platform).is_some(),
            accounts: models
                .iter()
                .filter(|m| m.platform == platform.as_str())
                .map(|m| Card {
                    auth_failures: waiting.get(&m.id).copied().unwrap_or(0),
                    sync: syncs.remove(&m.id),
                    ..card(&state, m, &user.time_zone, now)
                })
                .collect(),
        };
        match platform.kind() {
            PlatformKind::Social => social.push(section),
            PlatformKind::Commerce => commerce.push(section),
        }
    }
    render::page(&IndexPage {
        ctx: ctx.at("connections"),
        social,
        commerce,
        sandbox: state.config.sandbox_url.is_some(),
    })
}

// ---- starting a connection ----

#[derive(Deserialize)]
pub struct ConnectQuery {
    shop: Option<String>,
}

async fn connect(
    State(state): State<AppState>,
    CurrentUser(_user): CurrentUser,
    session: Session,
    Path(platform): Path<String>,
    Query(q): Query<ConnectQuery>,
) -> Result<Response, AppError> {
    let platform = parse_platform(&platform)?;
    let Some(provider) = state.connections.registry().oauth(platform) else {
        return back_with(
            &session,
            FlashKind::Error,
            format!(
                "{} isn't set up on this Picscripter yet: the administrator needs to set {}_CLIENT_ID and {}_CLIENT_SECRET.",
                platform.display_name(),
                platform.env_prefix(),
                platform.env_prefix()
            ),
        )
        .await;
    };
    let shop = if platform == Platform::Shopify {
        match normalize_shop(q.shop.as_deref().unwrap_or_default()) {
            Ok(s) => Some(s),
            Err(msg) => return back_with(&session, FlashKind::Error, msg).await,
        }
    } else {
        None
    };
    let state_token = crate::security::random_token(32);
    let (challenge, verifier) = if provider.uses_pkce() {
        let (c, v) = PkceCodeChallenge::new_random_sha256();
        (Some(c.as_str().to_owned()), Some(v.secret().to_owned()))
    } else {
        (None, None)
    };
    let redirect_uri = state.config.oauth_redirect_uri(platform);
    let url = match provider.authorize_url(&AuthorizeParams {
        state: &state_token,
        redirect_uri: &redirect_uri,
        pkce_challenge: challenge.as_deref(),
        shop: shop.as_deref(),
    }) {
        Ok(u) => u,
        Err(e) => return back_with(&session, FlashKind::Error, e.user_message(platform)).await,
    };
    let now = Utc::now().timestamp();
    let mut flows: Vec<Flow> = session.get(FLOWS).await?.unwrap_or_default();
    flows.retain(|f| now - f.created < FLOW_TTL_SECS);
    // A few tabs at once is normal; dozens of abandoned flows are not worth keeping.
    if flows.len() >= 5 {
        flows.remove(0);
    }
    flows.push(Flow {
        state: state_token,
        platform,
        verifier,
        shop,
        created: now,
    });
    session.insert(FLOWS, flows).await?;
    Ok(Redirect::to(url.as_str()).into_response())
}

async fn back_with(
    session: &Session,
    kind: FlashKind,
    message: impl Into<String>,
) -> Result<Response, AppError> {
    session::flash(session, kind, message).await?;
    Ok(Redirect::to("/connections").into_response())
}

// ---- coming back ----

async fn callback(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: Session,
    ClientIp(ip): ClientIp,
    Path(platform): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let platform = parse_platform(&platform)?;
    let name = platform.display_name();

    // Take the flow out of the session first: a state works once, whatever happens next.
    let mut flows: Vec<Flow> = session.get(FLOWS).await?.unwrap_or_default();
    let sent_state = query.get("state").map(String::as_str).unwrap_or_default();
    let position = flows.iter().position(|f| {
        f.platform == platform
            && crate::security::constant_time_eq(f.state.as_bytes(), sent_state.as_bytes())
    });
    let flow = position.map(|i| flows.remove(i));
    session.insert(FLOWS, flows).await?;
    let Some(flow) = flow.filter(|f| Utc::now().timestamp() - f.created < FLOW_TTL_SECS) else {
        return back_with(
            &session,
            FlashKind::Error,
            format!("That {name} sign-in didn't come from this browser, was already used, or took longer than 10 minutes. Nothing was connected; please try again."),
        )
        .await;
    };

    if let Some(error) = query.get("error") {
        let denied = error == "access_denied"
            || query
                .get("error_reason")
                .is_some_and(|r| r == "user_denied");
        let message = if denied {
            OAuthError::Denied(error.clone()).user_message(platform)
        } else {
            format!(
                "{name} couldn't complete the sign-in ({}). Nothing was connected; please try again.",
                short(error)
            )
        };
        return back_with(&session, FlashKind::Error, message).await;
    }

    let Some(provider) = state.connections.registry().oauth(platform) else {
        return back_with(
            &session,
            FlashKind::Error,
            format!("{name} isn't set up on this Picscripter."),
        )
        .await;
    };
    if let Err(e) = provider.verify_callback(&query) {
        tracing::warn!(%platform, error = %e, "callback integrity check failed");
        return back_with(&session, FlashKind::Error, format!("The answer from {name} couldn't be verified, so nothing was connected. Please try again.")).await;
    }
    if platform == Platform::Shopify
        && query.get("shop").map(String::as_str) != flow.shop.as_deref()
    {
        return back_with(&session, FlashKind::Error, "Shopify answered for a different shop than the one you asked for, so nothing was connected.").await;
    }
    let Some(code) = query.get("code").filter(|c| !c.is_empty()) else {
        return back_with(
            &session,
            FlashKind::Error,
            format!(
                "{name} didn't send an authorization code. Nothing was connected; please try again."
            ),
        )
        .await;
    };

    let redirect_uri = state.config.oauth_redirect_uri(platform);
    let exchange = ExchangeParams {
        code,
        redirect_uri: &redirect_uri,
        pkce_verifier: flow.verifier.as_deref(),
        shop: flow.shop.as_deref(),
    };
    let tokens = match provider.exchange_code(&exchange).await {
        Ok(t) => t,
        Err(e) => {
            tracing::info!(%platform, error = %e, "code exchange failed");
            return back_with(&session, FlashKind::Error, e.user_message(platform)).await;
        }
    };
    let accounts = match provider.accounts(&tokens, flow.shop.as_deref()).await {
        Ok(a) => a,
        Err(e) => {
            tracing::info!(%platform, error = %e, "account lookup failed");
            let message = match &e {
                OAuthError::Rejected { message, .. } if message.starts_with("this ") => {
                    format!("Connected to {name}, but {message}, so there is nothing to post to.")
                }
                _ => e.user_message(platform),
            };
            return back_with(&session, FlashKind::Error, message).await;
        }
    };
    match accounts.len() {
        0 => {
            let what = if platform == Platform::Facebook {
                "no Pages were shared"
            } else {
                "no account was shared"
            };
            back_with(&session, FlashKind::Error, format!("{name} connected, but {what}, so nothing was added. Try again and choose at least one.")).await
        }
        1 => {
            let (saved, is_new) = state
                .connections
                .save_connected(
                    user.id,
                    platform,
                    &accounts[0],
                    &tokens,
                    Some(ip.to_string()),
                )
                .await?;
            crate::web::catalog_sync::after_connect(&state, &saved).await;
            let verb = if is_new { "Connected" } else { "Reconnected" };
            back_with(
                &session,
                FlashKind::Success,
                format!("{verb} {} on {name}.", saved.display_name),
            )
            .await
        }
        _ => {
            let choice = PendingChoice::seal(&state, platform, &tokens, &accounts);
            session.insert(CHOICE, choice).await?;
            Ok(Redirect::to(&format!("/connections/{platform}/choose")).into_response())
        }
    }
}

fn short(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(60)
        .collect()
}

// ---- choosing among several accounts ----

/// Accounts waiting for the person to choose, with their tokens sealed by the token cipher.
#[derive(Serialize, Deserialize)]
struct PendingChoice {
    platform: Platform,
    nonce: String,
    created: i64,
    grant_access: Vec<u8>,
    grant_refresh: Option<Vec<u8>>,
    expires_at: Option<DateTime<Utc>>,
    refresh_expires_at: Option<DateTime<Utc>>,
    scopes: Vec<String>,
    candidates: Vec<Candidate>,
}

#[derive(Serialize, Deserialize)]
struct Candidate {
    account_id: String,
    display_name: String,
    avatar_url: Option<String>,
    metadata: Value,
    token: Option<Vec<u8>>,
}

impl PendingChoice {
    fn seal(
        state: &AppState,
        platform: Platform,
        tokens: &TokenSet,
        accounts: &[RemoteAccount],
    ) -> Self {
        let cipher = state.connections.cipher();
        let nonce = crate::security::random_token(16);
        let aad = |what: &str| format!("pending:{nonce}:{what}");
        Self {
            platform,
            created: Utc::now().timestamp(),
            grant_access: cipher.encrypt(&tokens.access_token, &aad("access")),
            grant_refresh: tokens
                .refresh_token
                .as_ref()
                .map(|r| cipher.encrypt(r, &aad("refresh"))),
            expires_at: tokens.expires_at,
            refresh_expires_at: tokens.refresh_expires_at,
            scopes: tokens.scopes.clone(),
            candidates: accounts
                .iter()
                .map(|a| Candidate {
                    account_id: a.account_id.clone(),
                    display_name: a.display_name.clone(),
                    avatar_url: a.avatar_url.clone(),
                    metadata: a.metadata.clone(),
                    token: a
                        .access_token
                        .as_ref()
                        .map(|t| cipher.encrypt(t, &aad(&format!("account:{}", a.account_id)))),
                })
                .collect(),
            nonce,
        }
    }

    fn open(&self, state: &AppState) -> Option<(TokenSet, Vec<RemoteAccount>)> {
        let cipher = state.connections.cipher();
        let aad = |what: &str| format!("pending:{}:{what}", self.nonce);
        let tokens = TokenSet {
            access_token: cipher.decrypt(&self.grant_access, &aad("access")).ok()?,
            refresh_token: match &self.grant_refresh {
                Some(r) => Some(cipher.decrypt(r, &aad("refresh")).ok()?),
                None => None,
            },
            expires_at: self.expires_at,
            refresh_expires_at: self.refresh_expires_at,
            scopes: self.scopes.clone(),
        };
        let mut accounts = Vec::new();
        for c in &self.candidates {
            let token = match &c.token {
                Some(t) => Some(
                    cipher
                        .decrypt(t, &aad(&format!("account:{}", c.account_id)))
                        .ok()?,
                ),
                None => None,
            };
            accounts.push(RemoteAccount {
                account_id: c.account_id.clone(),
                display_name: c.display_name.clone(),
                avatar_url: c.avatar_url.clone(),
                access_token: token,
                metadata: c.metadata.clone(),
            });
        }
        Some((tokens, accounts))
    }
}

struct ChoiceView {
    account_id: String,
    display_name: String,
    avatar_url: Option<String>,
    note: Option<String>,
}

#[derive(Template)]
#[template(path = "connections/choose.html")]
struct ChoosePage {
    ctx: PageContext,
    platform: Platform,
    choices: Vec<ChoiceView>,
    error: Option<String>,
}

async fn pending(session: &Session, platform: Platform) -> Result<Option<PendingChoice>, AppError> {
    let choice: Option<PendingChoice> = session.get(CHOICE).await?;
    Ok(choice
        .filter(|c| c.platform == platform && Utc::now().timestamp() - c.created < FLOW_TTL_SECS))
}

fn choice_views(choice: &PendingChoice) -> Vec<ChoiceView> {
    choice
        .candidates
        .iter()
        .map(|c| ChoiceView {
            account_id: c.account_id.clone(),
            display_name: c.display_name.clone(),
            avatar_url: c.avatar_url.clone(),
            note: match (
                choice.platform,
                c.metadata.get("author_kind").and_then(Value::as_str),
            ) {
                (Platform::Linkedin, Some("person")) => Some("Your personal profile".into()),
                (Platform::Linkedin, Some("organization")) => {
                    Some("A company page you administer".into())
                }
                _ => c
                    .metadata
                    .pointer("/instagram_business_account/username")
                    .and_then(Value::as_str)
                    .map(|u| format!("Instagram business account @{u} is linked to this Page")),
            },
        })
        .collect()
}

async fn choose_page(
    CurrentUser(_user): CurrentUser,
    ctx: PageContext,
    session: Session,
    Path(platform): Path<String>,
) -> Result<Response, AppError> {
    let platform = parse_platform(&platform)?;
    let Some(choice) = pending(&session, platform).await? else {
        return back_with(
            &session,
            FlashKind::Error,
            "That choice has expired. Please connect again.",
        )
        .await;
    };
    render::page(&ChoosePage {
        ctx: ctx.at("connections"),
        platform,
        choices: choice_views(&choice),
        error: None,
    })
}

#[derive(Deserialize)]
pub struct ChooseForm {
    #[serde(default)]
    account: Vec<String>,
}

async fn choose(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    session: Session,
    ClientIp(ip): ClientIp,
    Path(platform): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let platform = parse_platform(&platform)?;
    // Checkboxes repeat the field name, which serde_urlencoded can't gather into a Vec.
    let form = ChooseForm {
        account: url::form_urlencoded::parse(&body)
            .filter(|(k, _)| k == "account")
            .map(|(_, v)| v.into_owned())
            .collect(),
    };
    let Some(choice) = pending(&session, platform).await? else {
        return back_with(
            &session,
            FlashKind::Error,
            "That choice has expired. Please connect again.",
        )
        .await;
    };
    if form.account.is_empty() {
        let page = ChoosePage {
            ctx: ctx.at("connections"),
            platform,
            choices: choice_views(&choice),
            error: Some("Choose at least one account to connect.".into()),
        };
        return render::page_with_status(axum::http::StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let Some((tokens, accounts)) = choice.open(&state) else {
        session.remove::<PendingChoice>(CHOICE).await?;
        return back_with(
            &session,
            FlashKind::Error,
            "That choice can no longer be read. Please connect again.",
        )
        .await;
    };
    let mut names = Vec::new();
    for account in accounts
        .iter()
        .filter(|a| form.account.contains(&a.account_id))
    {
        let (saved, _) = state
            .connections
            .save_connected(user.id, platform, account, &tokens, Some(ip.to_string()))
            .await?;
        crate::web::catalog_sync::after_connect(&state, &saved).await;
        names.push(saved.display_name);
    }
    session.remove::<PendingChoice>(CHOICE).await?;
    if names.is_empty() {
        return back_with(
            &session,
            FlashKind::Error,
            "None of the chosen accounts were offered. Please connect again.",
        )
        .await;
    }
    back_with(
        &session,
        FlashKind::Success,
        format!(
            "Connected {} on {}.",
            names.join(", "),
            platform.display_name()
        ),
    )
    .await
}

// ---- managing a connection ----

async fn owned(state: &AppState, user_id: Uuid, id: &str) -> Result<Model, AppError> {
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    state
        .connections
        .find_for_user(user_id, id)
        .await?
        .ok_or(AppError::NotFound)
}

async fn disconnect(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: Session,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let model = owned(&state, user.id, &id).await?;
    let platform: Platform = model.platform.parse().map_err(|_| AppError::NotFound)?;
    let revoked = state
        .connections
        .disconnect(&model, Some(ip.to_string()))
        .await?;
    let extra = if revoked {
        format!(
            " Picscripter's access was also removed at {}.",
            platform.display_name()
        )
    } else {
        format!(
            " To remove Picscripter's access completely, also remove it in your {} account settings.",
            platform.display_name()
        )
    };
    back_with(
        &session,
        FlashKind::Success,
        format!("Disconnected {}.{extra}", model.display_name),
    )
    .await
}

async fn check(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let model = owned(&state, user.id, &id).await?;
    let name = model
        .platform
        .parse::<Platform>()
        .map(|p| p.display_name())
        .unwrap_or("the platform");
    let (kind, message) = match state.connections.check(&model).await {
        Ok(()) => (
            FlashKind::Success,
            format!(
                "{} is working: {name} accepted our access.",
                model.display_name
            ),
        ),
        Err(TokenError::NeedsReauth(reason)) => (FlashKind::Error, reason),
        Err(TokenError::Temporary(_)) => (
            FlashKind::Error,
            format!(
                "We couldn't reach {name} just now. Your connection is unchanged; try again in a moment."
            ),
        ),
        Err(TokenError::NotFound) => return Err(AppError::NotFound),
        Err(TokenError::Db(e)) => return Err(e.into()),
    };
    back_with(&session, kind, message).await
}

#[derive(Deserialize)]
pub struct BoardForm {
    #[serde(default)]
    board_id: String,
}

async fn set_board(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<BoardForm>,
) -> Result<Response, AppError> {
    let model = owned(&state, user.id, &id).await?;
    let board = model
        .metadata
        .get("boards")
        .and_then(Value::as_array)
        .and_then(|bs| {
            bs.iter()
                .find(|b| b.get("id").and_then(Value::as_str) == Some(form.board_id.as_str()))
        })
        .cloned();
    let Some(board) = board else {
        return back_with(&session, FlashKind::Error, "Choose one of your boards.").await;
    };
    state
        .connections
        .set_metadata(
            &model,
            "default_board_id",
            Value::String(form.board_id.clone()),
        )
        .await?;
    let name = board
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("that board");
    back_with(
        &session,
        FlashKind::Success,
        format!(
            "New pins from {} go to {name} unless you choose another board.",
            model.display_name
        ),
    )
    .await
}
