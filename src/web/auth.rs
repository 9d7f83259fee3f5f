//! Sign up, log in, log out.
//!
//! Logins are throttled per account and per address (`security::throttle`). A wrong password
//! and an e-mail without an account take the same time and get the same answer, so the form
//! can't be used to find out who has an account.

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ActiveModelTrait as _, EntityTrait as _, QueryFilter as _, Set, SqlErr};
use serde::Deserialize;
use serde_json::json;
use tower_sessions::Session;
use uuid::Uuid;

use crate::domain::{Email, NewPassword, TimeZone};
use crate::entities::users;
use crate::error::AppError;
use crate::security::audit::{self, Action};
use crate::security::throttle::{self, LimitOrError};
use crate::state::AppState;
use crate::web::render;
use crate::web::session::{self, ClientIp, FlashKind, PageContext};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(root))
        .route("/signup", get(signup_page).post(signup))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
}

async fn root(ctx: PageContext) -> Redirect {
    if ctx.user.is_some() {
        Redirect::to("/dashboard")
    } else {
        Redirect::to("/login")
    }
}

/// Only local paths are followed after login (no `//host`, no `https://…`): no open redirect.
pub fn safe_next(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control())
        && !next.starts_with("/login")
        && !next.starts_with("/logout")
        && next.len() <= 2048;
    ok.then_some(next)
}

// ---- sign up ----

#[derive(Template)]
#[template(path = "auth/signup.html")]
struct SignupPage {
    ctx: PageContext,
    email: String,
    errors: BTreeMap<String, String>,
    error: Option<String>,
    time_zone: String,
    time_zone_choices: &'static [&'static str],
    time_zone_from_browser: bool,
}

impl SignupPage {
    fn new(ctx: PageContext) -> Self {
        Self {
            ctx,
            email: String::new(),
            errors: BTreeMap::new(),
            error: None,
            time_zone: "UTC".into(),
            time_zone_choices: TimeZone::choices(),
            time_zone_from_browser: true,
        }
    }
}

async fn signup_page(ctx: PageContext) -> Result<Response, AppError> {
    if ctx.user.is_some() {
        return Ok(Redirect::to("/dashboard").into_response());
    }
    render::page(&SignupPage::new(ctx))
}

#[derive(Deserialize)]
pub struct SignupForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    time_zone: String,
}

async fn signup(
    State(state): State<AppState>,
    session: Session,
    ClientIp(ip): ClientIp,
    ctx: PageContext,
    Form(form): Form<SignupForm>,
) -> Result<Response, AppError> {
    let mut page = SignupPage::new(ctx);
    page.email = form
        .email
        .trim()
        .chars()
        .take(Email::MAX_LEN + 10)
        .collect();
    page.time_zone = form.time_zone.clone();
    page.time_zone_from_browser = false;

    match throttle::count_signup(&state.redis, ip).await {
        Ok(()) => {}
        Err(LimitOrError::Limited(wait)) => {
            page.error = Some(format!(
                "Too many accounts were created from your network recently. Try again in {}.",
                throttle::wait_in_words(wait.0)
            ));
            return render::page_with_retry(StatusCode::TOO_MANY_REQUESTS, &page, wait.0);
        }
        Err(LimitOrError::Redis(e)) => return Err(e.into()),
    }

    let email = Email::parse(&form.email);
    let password = NewPassword::parse(&form.password, email.as_ref().ok());
    let time_zone = if form.time_zone.trim().is_empty() {
        Ok(TimeZone::UTC)
    } else {
        TimeZone::parse(&form.time_zone)
    };
    let (email, password, time_zone) = match (email, password, time_zone) {
        (Ok(e), Ok(p), Ok(t)) => (e, p, t),
        (e, p, t) => {
            if let Err(msg) = e {
                page.errors.insert("email".into(), msg);
            }
            if let Err(msg) = p {
                page.errors.insert("password".into(), msg);
            }
            if let Err(msg) = t {
                page.errors.insert("time_zone".into(), msg);
                page.time_zone = "UTC".into();
            }
            return render::page_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    page.time_zone = time_zone.name().to_owned();

    let hash = state.passwords.hash(password.expose()).await?;
    let now = Utc::now();
    let inserted = users::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email.as_str().to_owned()),
        password_hash: Set(hash),
        time_zone: Set(time_zone.name().to_owned()),
        session_epoch: Set(0),
        utm_campaign: sea_orm::ActiveValue::NotSet,
        disabled_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        last_login_at: Set(Some(now)),
    }
    .insert(&state.db)
    .await;
    let user = match inserted {
        Ok(u) => u,
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            page.errors.insert(
                "email".into(),
                "There is already an account with this e-mail address. Log in instead, or use another address.".into(),
            );
            return render::page_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
        Err(e) => return Err(e.into()),
    };

    audit::record(
        &state.db,
        audit::Event::new(Action::SignedUp)
            .actor(user.id)
            .ip(ip)
            .subject(&user.email),
    )
    .await?;
    session::log_in(&session, &user).await?;
    session::flash(
        &session,
        FlashKind::Success,
        "Your account is ready. Welcome to Picscripter!",
    )
    .await?;
    Ok(Redirect::to("/dashboard").into_response())
}

// ---- log in ----

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    ctx: PageContext,
    email: String,
    next: String,
    error: Option<String>,
    notice: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    logged_out: Option<String>,
}

async fn login_page(ctx: PageContext, Query(q): Query<LoginQuery>) -> Result<Response, AppError> {
    let next = q
        .next
        .as_deref()
        .and_then(safe_next)
        .unwrap_or("")
        .to_owned();
    if ctx.user.is_some() {
        return Ok(
            Redirect::to(if next.is_empty() { "/dashboard" } else { &next }).into_response(),
        );
    }
    let notice = if q.logged_out.is_some() {
        Some("You're logged out. See you soon!".to_owned())
    } else if !next.is_empty() {
        Some("Please log in to continue.".to_owned())
    } else {
        None
    };
    render::page(&LoginPage {
        ctx,
        email: String::new(),
        next,
        error: None,
        notice,
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

const DISABLED: &str = "This account has been disabled by the administrator, so you can't log in. \
     Your scheduled posts are paused. Contact the administrator of this Picscripter to have it enabled again.";

const BAD_CREDENTIALS: &str =
    "That e-mail and password don't match an account. Check them and try again.";

async fn login(
    State(state): State<AppState>,
    session: Session,
    ClientIp(ip): ClientIp,
    ctx: PageContext,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let typed_email: String = form
        .email
        .trim()
        .chars()
        .take(Email::MAX_LEN + 10)
        .collect();
    let next = safe_next(&form.next).unwrap_or("").to_owned();
    let mut page = LoginPage {
        ctx,
        email: typed_email.clone(),
        next: next.clone(),
        error: None,
        notice: None,
    };

    match throttle::check_login(&state.redis, &typed_email, ip).await {
        Ok(()) => {}
        Err(LimitOrError::Limited(wait)) => {
            audit::record(
                &state.db,
                audit::Event::new(Action::LoginThrottled)
                    .ip(ip)
                    .subject(&typed_email),
            )
            .await?;
            page.error = Some(format!(
                "Too many failed attempts. For your safety, logging in is paused. Try again in {}.",
                throttle::wait_in_words(wait.0)
            ));
            return render::page_with_retry(StatusCode::TOO_MANY_REQUESTS, &page, wait.0);
        }
        Err(LimitOrError::Redis(e)) => return Err(e.into()),
    }

    // Look the account up only for a well-formed address; either way, verify a hash, so every
    // failure costs the same.
    let user = match Email::parse(&typed_email) {
        Ok(email) => {
            users::Entity::find()
                .filter(ExprTrait::eq(
                    Expr::expr(Func::lower(Expr::col(users::Column::Email))),
                    email.as_str(),
                ))
                .one(&state.db)
                .await?
        }
        Err(_) => None,
    };
    // A password longer than we'd ever accept can't be right; don't spend time hashing a megabyte.
    let candidate: String = form
        .password
        .chars()
        .take(NewPassword::MAX_LEN + 1)
        .collect();
    let verified = state
        .passwords
        .verify(&candidate, user.as_ref().map(|u| u.password_hash.as_str()))
        .await?;
    let user = match user {
        Some(u) if verified && u.disabled_at.is_none() && form.password.chars().count() <= 1024 => {
            u
        }
        other => {
            throttle::record_login_failure(&state.redis, &typed_email, ip).await?;
            let mut event = audit::Event::new(Action::LoginFailed)
                .ip(ip)
                .subject(&typed_email);
            if let Some(u) = &other {
                event = event.actor(u.id).details(json!({ "reason": if u.disabled_at.is_some() { "disabled" } else { "wrong_password" } }));
            } else {
                event = event.details(json!({ "reason": "no_account" }));
            }
            audit::record(&state.db, event).await?;
            // Only someone who knows the password learns that the account is disabled.
            let disabled = verified && other.as_ref().is_some_and(|u| u.disabled_at.is_some());
            page.error = Some(if disabled {
                DISABLED.into()
            } else {
                BAD_CREDENTIALS.into()
            });
            if disabled {
                return render::page_with_status(StatusCode::FORBIDDEN, &page);
            }
            return render::page_with_status(StatusCode::UNAUTHORIZED, &page);
        }
    };

    if let Ok(email) = Email::parse(&typed_email) {
        throttle::clear_login_failures(&state.redis, &email).await?;
    }
    let mut active: users::ActiveModel = user.clone().into();
    active.last_login_at = Set(Some(Utc::now()));
    active.update(&state.db).await?;
    audit::record(
        &state.db,
        audit::Event::new(Action::LoginSucceeded)
            .actor(user.id)
            .ip(ip)
            .subject(&user.email),
    )
    .await?;
    session::log_in(&session, &user).await?;

    let target = if next.is_empty() {
        "/dashboard".to_owned()
    } else {
        next
    };
    let mut res = Redirect::to(&target).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

// ---- log out ----

async fn logout(
    State(state): State<AppState>,
    session: Session,
    ClientIp(ip): ClientIp,
    ctx: PageContext,
) -> Result<Redirect, AppError> {
    if let Some(user) = &ctx.user {
        audit::record(
            &state.db,
            audit::Event::new(Action::LoggedOut).actor(user.id).ip(ip),
        )
        .await?;
    }
    session::log_out(&session).await?;
    Ok(Redirect::to("/login?logged_out=1"))
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(
            safe_next("/calendar?view=week"),
            Some("/calendar?view=week")
        );
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "evil",
            "",
            "/login",
            "/ok\n",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
    }
}
