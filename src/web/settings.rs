//! Settings: the account's time zone, password, API tokens and the campaign name of product
//! links.

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _,
    Set, TransactionTrait as _,
};
use secrecy::ExposeSecret as _;
use serde::Deserialize;
use serde_json::json;
use tower_sessions::Session;
use uuid::Uuid;

use crate::domain::{Email, NewPassword, TimeZone};
use crate::entities::{api_tokens, users};
use crate::error::AppError;
use crate::security::api_tokens as api_tokens_service;
use crate::security::audit::{self, Action};
use crate::state::AppState;
use crate::web::connections::format_time;
use crate::web::render;
use crate::web::session::{self, ClientIp, CurrentUser, FlashKind, PageContext};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings", get(show))
        .route("/settings/time-zone", post(set_time_zone))
        .route("/settings/password", post(change_password))
        .route("/settings/sessions/end-others", post(end_other_sessions))
        .route("/settings/utm-campaign", post(set_utm_campaign))
        .route("/settings/api-tokens", post(create_token))
        .route("/settings/api-tokens/{id}/revoke", post(revoke_token))
}

struct TokenRow {
    id: Uuid,
    name: String,
    prefix: String,
    created: String,
    last_used: Option<String>,
}

#[derive(Template)]
#[template(path = "settings/index.html")]
struct SettingsPage {
    ctx: PageContext,
    email: String,
    user_id: String,
    time_zone: String,
    time_zone_choices: &'static [&'static str],
    time_zone_from_browser: bool,
    tz_error: Option<String>,
    /// `utm_campaign` of product links, as stored or as just typed.
    utm_campaign: String,
    utm_error: Option<String>,
    pw_errors: BTreeMap<String, String>,
    tokens: Vec<TokenRow>,
    token_name: String,
    token_error: Option<String>,
    /// A token just created: shown this once, never stored in the clear.
    new_token: Option<String>,
}

impl SettingsPage {
    fn new(ctx: PageContext, user: &users::Model) -> Self {
        Self {
            ctx: ctx.at("settings"),
            email: user.email.clone(),
            user_id: user.id.to_string(),
            time_zone: user.time_zone.clone(),
            time_zone_choices: TimeZone::choices(),
            time_zone_from_browser: false,
            tz_error: None,
            utm_campaign: user.utm_campaign.clone(),
            utm_error: None,
            pw_errors: BTreeMap::new(),
            tokens: Vec::new(),
            token_name: String::new(),
            token_error: None,
            new_token: None,
        }
    }

    /// The page with the user's API tokens listed.
    async fn load(
        state: &AppState,
        ctx: PageContext,
        user: &users::Model,
    ) -> Result<Self, AppError> {
        let mut page = Self::new(ctx, user);
        let rows = api_tokens::Entity::find()
            .filter(api_tokens::Column::UserId.eq(user.id))
            .filter(api_tokens::Column::RevokedAt.is_null())
            .order_by_desc(api_tokens::Column::CreatedAt)
            .all(&state.db)
            .await?;
        page.tokens = rows
            .into_iter()
            .map(|t| TokenRow {
                id: t.id,
                name: t.name,
                prefix: t.token_prefix,
                created: format_time(t.created_at, &user.time_zone),
                last_used: t.last_used_at.map(|at| format_time(at, &user.time_zone)),
            })
            .collect();
        Ok(page)
    }
}

async fn show(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
) -> Result<Response, AppError> {
    render::page(&SettingsPage::load(&state, ctx, &user).await?)
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
}

async fn create_token(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    Form(form): Form<TokenForm>,
) -> Result<Response, AppError> {
    let name = match api_tokens_service::validate_name(&form.name) {
        Ok(n) => n,
        Err(msg) => {
            let mut page = SettingsPage::load(&state, ctx, &user).await?;
            page.token_error = Some(msg);
            page.token_name = form.name.chars().take(120).collect();
            return render::page_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let token = api_tokens_service::create(&state.db, user.id, &name).await?;
    audit::record(
        &state.db,
        audit::Event::new(Action::ApiTokenCreated)
            .actor(user.id)
            .ip(ip)
            .subject(&token.model.token_prefix)
            .details(json!({ "name": name })),
    )
    .await?;
    // Rendered directly rather than redirected: the token is shown once and never stored.
    let mut page = SettingsPage::load(&state, ctx, &user).await?;
    page.new_token = Some(token.plaintext.expose_secret().to_owned());
    render::page(&page)
}

async fn revoke_token(
    State(state): State<AppState>,
    session: Session,
    ClientIp(ip): ClientIp,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    let token = api_tokens::Entity::find_by_id(id)
        .filter(api_tokens::Column::UserId.eq(user.id))
        .filter(api_tokens::Column::RevokedAt.is_null())
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let name = token.name.clone();
    let prefix = token.token_prefix.clone();
    let mut active: api_tokens::ActiveModel = token.into();
    active.revoked_at = Set(Some(Utc::now()));
    active.update(&state.db).await?;
    audit::record(
        &state.db,
        audit::Event::new(Action::ApiTokenRevoked)
            .actor(user.id)
            .ip(ip)
            .subject(&prefix)
            .details(json!({ "name": name })),
    )
    .await?;
    session::flash(
        &session,
        FlashKind::Success,
        format!("The API token “{name}” no longer works."),
    )
    .await?;
    Ok(Redirect::to("/settings#api-tokens").into_response())
}

#[derive(Deserialize)]
pub struct TimeZoneForm {
    #[serde(default)]
    time_zone: String,
}

async fn set_time_zone(
    State(state): State<AppState>,
    session: Session,
    ClientIp(ip): ClientIp,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    Form(form): Form<TimeZoneForm>,
) -> Result<Response, AppError> {
    let tz = match TimeZone::parse(&form.time_zone) {
        Ok(tz) => tz,
        Err(msg) => {
            let mut page = SettingsPage::load(&state, ctx, &user).await?;
            page.tz_error = Some(msg);
            return render::page_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    if tz.name() != user.time_zone {
        let previous = user.time_zone.clone();
        let mut active: users::ActiveModel = user.into();
        active.time_zone = Set(tz.name().to_owned());
        active.updated_at = Set(Utc::now());
        let txn = state.db.begin().await?;
        let user = active.update(&txn).await?;
        // The analytics days are the seller's days: they move with the zone.
        crate::analytics::rollup::rebuild(&txn, user.id, Utc::now()).await?;
        txn.commit().await?;
        audit::record(
            &state.db,
            audit::Event::new(Action::TimeZoneChanged)
                .actor(user.id)
                .ip(ip)
                .details(json!({ "from": previous, "to": user.time_zone })),
        )
        .await?;
    }
    session::flash(
        &session,
        FlashKind::Success,
        format!("Your time zone is now {}.", tz.name()),
    )
    .await?;
    Ok(Redirect::to("/settings").into_response())
}

#[derive(Deserialize)]
pub struct UtmCampaignForm {
    #[serde(default)]
    utm_campaign: String,
}

async fn set_utm_campaign(
    State(state): State<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    Form(form): Form<UtmCampaignForm>,
) -> Result<Response, AppError> {
    let campaign = match crate::domain::utm::Campaign::parse(&form.utm_campaign) {
        Ok(c) => c,
        Err(msg) => {
            let mut page = SettingsPage::load(&state, ctx, &user).await?;
            page.utm_error = Some(msg);
            page.utm_campaign = form.utm_campaign.chars().take(200).collect();
            return render::page_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    if campaign.as_str() != user.utm_campaign {
        let mut active: users::ActiveModel = user.into();
        active.utm_campaign = Set(campaign.as_str().to_owned());
        active.updated_at = Set(Utc::now());
        active.update(&state.db).await?;
    }
    session::flash(
        &session,
        FlashKind::Success,
        format!(
            "Product links in your posts will say utm_campaign={}.",
            campaign.as_str()
        ),
    )
    .await?;
    Ok(Redirect::to("/settings#product-links").into_response())
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

async fn change_password(
    State(state): State<AppState>,
    session: Session,
    ClientIp(ip): ClientIp,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    let mut errors = BTreeMap::new();
    let candidate: String = form
        .current_password
        .chars()
        .take(NewPassword::MAX_LEN + 1)
        .collect();
    if form.current_password.is_empty() {
        errors.insert(
            "current_password".to_owned(),
            "Enter your current password.".to_owned(),
        );
    } else if !state
        .passwords
        .verify(&candidate, Some(&user.password_hash))
        .await?
    {
        errors.insert(
            "current_password".to_owned(),
            "That isn't your current password. Check it and try again.".to_owned(),
        );
    }
    let email = Email::parse(&user.email).ok();
    let new_password = match NewPassword::parse(&form.new_password, email.as_ref()) {
        Ok(p) if p.expose() == form.current_password => {
            errors.insert(
                "new_password".to_owned(),
                "Choose a password different from your current one.".to_owned(),
            );
            None
        }
        Ok(p) => Some(p),
        Err(msg) => {
            errors.insert("new_password".to_owned(), msg);
            None
        }
    };
    let Some(new_password) = new_password.filter(|_| errors.is_empty()) else {
        let mut page = SettingsPage::load(&state, ctx, &user).await?;
        page.pw_errors = errors;
        return render::page_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };

    let hash = state.passwords.hash(new_password.expose()).await?;
    let epoch = user.session_epoch.wrapping_add(1);
    let mut active: users::ActiveModel = user.into();
    active.password_hash = Set(hash);
    // Every other session of this user ends; this one is carried over below.
    active.session_epoch = Set(epoch);
    active.updated_at = Set(Utc::now());
    let user = active.update(&state.db).await?;
    let kept = session::refresh_epoch(&session, &user).await?;
    let ended = session::end_sessions(&state, user.id, kept.as_ref()).await?;
    audit::record(
        &state.db,
        audit::Event::new(Action::PasswordChanged)
            .actor(user.id)
            .ip(ip)
            .details(json!({ "sessions_ended": ended })),
    )
    .await?;
    session::flash(
        &session,
        FlashKind::Success,
        "Your password is changed. Any other devices you were logged in on have been logged out.",
    )
    .await?;
    Ok(Redirect::to("/settings").into_response())
}

/// "Log out other sessions": every session of this user ends but this one.
async fn end_other_sessions(
    State(state): State<AppState>,
    session: Session,
    ClientIp(ip): ClientIp,
    CurrentUser(user): CurrentUser,
) -> Result<Response, AppError> {
    // The epoch moves on too, so a request of another session still in flight can't write
    // its session back to life.
    let epoch = user.session_epoch.wrapping_add(1);
    let mut active: users::ActiveModel = user.into();
    active.session_epoch = Set(epoch);
    active.updated_at = Set(Utc::now());
    let user = active.update(&state.db).await?;
    let kept = session::refresh_epoch(&session, &user).await?;
    let ended = session::end_sessions(&state, user.id, kept.as_ref()).await?;
    audit::record(
        &state.db,
        audit::Event::new(Action::OtherSessionsEnded)
            .actor(user.id)
            .ip(ip)
            .details(json!({ "sessions_ended": ended })),
    )
    .await?;
    let message = match ended {
        0 => "You weren't logged in anywhere else. This is your only session.".to_owned(),
        1 => "Your one other session has been logged out. You're still logged in here.".to_owned(),
        n => format!("Your {n} other sessions have been logged out. You're still logged in here."),
    };
    session::flash(&session, FlashKind::Success, message).await?;
    Ok(Redirect::to("/settings#sessions").into_response())
}
