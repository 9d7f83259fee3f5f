//! `/notifications`: everything that needs the seller — posts that failed or whose outcome is
//! unknown, grouped so one click fixes many (reconnect an account, then retry all its posts that
//! failed for that reason). The nav shows how many, refreshed by htmx.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait as _, DbBackend, FromQueryResult, Statement};
use tower_sessions::Session;
use uuid::Uuid;

use crate::domain::{Platform, TimeZone};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::form::FormData;
use crate::web::posts::target_status_label;
use crate::web::render;
use crate::web::session::{self, CurrentUser, FlashKind, PageContext};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/notifications", get(index))
        .route("/notifications/badge", get(badge))
        .route("/connections/{id}/retry-failed", post(retry_connection))
}

#[derive(FromQueryResult)]
struct NoticeRow {
    target_id: Uuid,
    post_id: Uuid,
    body: String,
    status: String,
    last_error: Option<String>,
    last_error_class: Option<String>,
    updated_at: DateTime<Utc>,
    connection_id: Uuid,
    platform: String,
    display_name: String,
    connection_status: String,
}

pub struct Notice {
    pub target_id: Uuid,
    pub post_id: Uuid,
    pub excerpt: String,
    pub status: String,
    pub status_label: &'static str,
    pub message: String,
    pub auth: bool,
    pub when: String,
    pub platform: Platform,
    pub account: String,
}

/// Posts on one account that failed because it needed reconnecting.
pub struct AuthGroup {
    pub connection_id: Uuid,
    pub platform: Platform,
    pub account: String,
    pub count: usize,
    /// Whether the account is connected again (then retrying makes sense).
    pub reconnected: bool,
}

#[derive(Template)]
#[template(path = "notifications/index.html")]
struct NotificationsPage {
    ctx: PageContext,
    notices: Vec<Notice>,
    groups: Vec<AuthGroup>,
}

#[derive(Template)]
#[template(path = "notifications/badge.html")]
struct Badge {
    count: i64,
}

async fn rows(state: &AppState, user_id: Uuid) -> Result<Vec<NoticeRow>, sea_orm::DbErr> {
    NoticeRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT t.id AS target_id, t.post_id, p.body, t.status, t.last_error, t.last_error_class, t.updated_at, \
                c.id AS connection_id, c.platform, c.display_name, c.status AS connection_status \
         FROM post_targets t JOIN posts p ON p.id = t.post_id JOIN connections c ON c.id = t.connection_id \
         WHERE p.user_id = $1 AND t.status IN ('failed', 'unknown') \
         ORDER BY t.updated_at DESC LIMIT 200",
        [user_id.into()],
    ))
    .all(&state.db)
    .await
}

fn excerpt(body: &str) -> String {
    let line = body
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("(no text)")
        .trim();
    if line.chars().count() > 90 {
        format!("{}…", line.chars().take(89).collect::<String>())
    } else {
        line.to_owned()
    }
}

async fn index(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
) -> Result<Response, AppError> {
    let zone = TimeZone::parse_or_utc(&user.time_zone);
    let rows = rows(&state, user.id).await?;
    let mut groups: Vec<AuthGroup> = Vec::new();
    let mut notices = Vec::with_capacity(rows.len());
    for r in rows {
        let Ok(platform) = r.platform.parse::<Platform>() else {
            continue;
        };
        let auth = r.status == "failed" && r.last_error_class.as_deref() == Some("auth");
        if auth {
            match groups
                .iter_mut()
                .find(|g| g.connection_id == r.connection_id)
            {
                Some(g) => g.count += 1,
                None => groups.push(AuthGroup {
                    connection_id: r.connection_id,
                    platform,
                    account: r.display_name.clone(),
                    count: 1,
                    reconnected: r.connection_status == "active",
                }),
            }
        }
        notices.push(Notice {
            target_id: r.target_id,
            post_id: r.post_id,
            excerpt: excerpt(&r.body),
            status_label: target_status_label(&r.status),
            message: r.last_error.unwrap_or_else(|| match r.status.as_str() {
                "unknown" => "We can't tell whether this went out.".into(),
                _ => "It didn't go out.".into(),
            }),
            status: r.status,
            auth,
            when: r
                .updated_at
                .with_timezone(&zone.tz())
                .format("%a %-d %b, %H:%M")
                .to_string(),
            platform,
            account: r.display_name,
        });
    }
    render::page(&NotificationsPage {
        ctx: ctx.at("notifications"),
        notices,
        groups,
    })
}

/// How many things need attention, for the nav; it polls itself.
async fn badge(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Response, AppError> {
    let row = state
        .db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT count(*) FROM post_targets t JOIN posts p ON p.id = t.post_id \
             WHERE p.user_id = $1 AND t.status IN ('failed', 'unknown')",
            [user.id.into()],
        ))
        .await?;
    let count = row
        .and_then(|r| r.try_get_by_index::<i64>(0).ok())
        .unwrap_or(0);
    render::page(&Badge { count })
}

/// Sends out again every post that failed on this account because it needed reconnecting.
async fn retry_connection(
    State(state): State<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let form = FormData::parse(&body);
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    let connection = state
        .connections
        .find_for_user(user.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let to = crate::web::auth::safe_next(form.str("back"))
        .unwrap_or("/notifications")
        .to_owned();
    if connection.status != crate::entities::enums::ConnectionStatus::Active {
        session::flash(
            &session,
            FlashKind::Error,
            format!(
                "{} still needs reconnecting. Reconnect it first, then retry.",
                connection.display_name
            ),
        )
        .await?;
        return Ok(Redirect::to(&to).into_response());
    }
    let n = crate::posts::retry_auth_failures(&state.db, user.id, id)
        .await
        .map_err(|e| match e {
            crate::posts::PostError::Db(e) => AppError::from(e),
            _ => AppError::NotFound,
        })?;
    let message = match n {
        0 => "Nothing was waiting for this account.".to_owned(),
        1 => "Publishing the post that was waiting for this account now.".to_owned(),
        n => format!("Publishing the {n} posts that were waiting for this account now."),
    };
    session::flash(&session, FlashKind::Success, message).await?;
    Ok(Redirect::to(&to).into_response())
}
