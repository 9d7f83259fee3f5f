//! Settings: the account's time zone and password.

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use sea_orm::{ActiveModelTrait as _, Set};
use serde::Deserialize;
use serde_json::json;
use tower_sessions::Session;

use crate::domain::{Email, NewPassword, TimeZone};
use crate::entities::users;
use crate::error::AppError;
use crate::security::audit::{self, Action};
use crate::state::AppState;
use crate::web::render;
use crate::web::session::{self, ClientIp, CurrentUser, FlashKind, PageContext};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings", get(show))
        .route("/settings/time-zone", post(set_time_zone))
        .route("/settings/password", post(change_password))
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
    pw_errors: BTreeMap<String, String>,
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
            pw_errors: BTreeMap::new(),
        }
    }
}

async fn show(CurrentUser(user): CurrentUser, ctx: PageContext) -> Result<Response, AppError> {
    render::page(&SettingsPage::new(ctx, &user))
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
            let mut page = SettingsPage::new(ctx, &user);
            page.tz_error = Some(msg);
            return render::page_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    if tz.name() != user.time_zone {
        let previous = user.time_zone.clone();
        let mut active: users::ActiveModel = user.into();
        active.time_zone = Set(tz.name().to_owned());
        active.updated_at = Set(Utc::now());
        let user = active.update(&state.db).await?;
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
        let mut page = SettingsPage::new(ctx, &user);
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
    session::refresh_epoch(&session, &user).await?;
    audit::record(
        &state.db,
        audit::Event::new(Action::PasswordChanged)
            .actor(user.id)
            .ip(ip),
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
