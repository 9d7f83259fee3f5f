//! `/admin`: for the users listed in `ADMIN_USER_IDS` only; everyone else gets a 404, so the
//! pages' existence isn't revealed.
//!
//! - `/admin` — system status: publish queue depth, dispatcher lag, targets in `unknown` and
//!   `failed`, workers and their heartbeats, connections needing re-authorization, feature flags.
//! - `/admin/audit` — the audit log, filtered by user, action and dates (in the admin's zone).
//! - `/admin/users` — accounts, with Disable / Enable (see `crate::admin`).

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, TimeZone as _, Utc};
use sea_orm::EntityTrait as _;
use serde::Deserialize;
use tower_sessions::Session;
use uuid::Uuid;

use crate::admin::{self, AuditFilter, Change};
use crate::domain::TimeZone;
use crate::entities::users;
use crate::error::AppError;
use crate::security::audit::Action;
use crate::state::AppState;
use crate::web::connections::format_time;
use crate::web::render;
use crate::web::session::{self, ClientIp, CurrentUser, FlashKind, PageContext};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(status))
        .route("/admin/audit", get(audit))
        .route("/admin/users", get(users_list))
        .route("/admin/users/{id}/disable", post(disable))
        .route("/admin/users/{id}/enable", post(enable))
}

const PER_PAGE: u64 = 50;

/// The admin, or a 404 for everyone else.
fn admin_only(state: &AppState, user: &users::Model) -> Result<(), AppError> {
    if state.config.is_admin(user.id) {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

fn ago(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - at).num_seconds().max(0);
    match secs {
        0..=119 => format!("{secs} s ago"),
        120..=7199 => format!("{} min ago", secs / 60),
        _ => format!("{} h ago", secs / 3600),
    }
}

// ---- status ----

struct TargetView {
    post_id: Uuid,
    email: String,
    platform: String,
    error: String,
    when: String,
}

struct TargetSection {
    id: &'static str,
    title: &'static str,
    count: i64,
    list: Vec<TargetView>,
}

struct WorkerView {
    id: String,
    beat: String,
    ago: String,
}

#[derive(Template)]
#[template(path = "admin/status.html")]
struct StatusPage {
    ctx: PageContext,
    tab: &'static str,
    /// `None` when Redis couldn't be read.
    queue_depth: Option<i64>,
    queued: i64,
    lag: Option<String>,
    oldest_due: Option<String>,
    unknown: i64,
    failed: i64,
    sections: Vec<TargetSection>,
    needs_reauth: i64,
    workers: Option<Vec<WorkerView>>,
    features: Vec<(&'static str, bool)>,
}

async fn status(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
) -> Result<Response, AppError> {
    admin_only(&state, &user)?;
    let tz = user.time_zone.as_str();
    let now = Utc::now();
    let counts = admin::counts(&state.db).await?;
    let view = |rows: Vec<admin::TargetRow>| -> Vec<TargetView> {
        rows.into_iter()
            .map(|r| TargetView {
                post_id: r.post_id,
                email: r.email,
                platform: r.platform,
                error: r.last_error.unwrap_or_default(),
                when: format_time(r.updated_at, tz),
            })
            .collect()
    };
    let unknown_list = view(admin::targets_in(&state.db, "unknown", 20).await?);
    let failed_list = view(admin::targets_in(&state.db, "failed", 20).await?);
    let queue_depth = admin::queue_depth(&state.redis).await.ok();
    let workers = admin::workers(&state.redis).await.ok().map(|ws| {
        ws.into_iter()
            .map(|(id, at)| WorkerView {
                id,
                beat: format_time(at, tz),
                ago: ago(at, now),
            })
            .collect()
    });
    let f = &state.config.features;
    render::page(&StatusPage {
        ctx: ctx.at("admin"),
        tab: "status",
        queue_depth,
        queued: counts.queued,
        lag: counts.oldest_due.map(|at| ago(at, now)),
        oldest_due: counts.oldest_due.map(|at| format_time(at, tz)),
        unknown: counts.unknown,
        failed: counts.failed,
        sections: vec![
            TargetSection {
                id: "unknown",
                title: "Unknown outcomes",
                count: counts.unknown,
                list: unknown_list,
            },
            TargetSection {
                id: "failed",
                title: "Failed",
                count: counts.failed,
                list: failed_list,
            },
        ],
        needs_reauth: counts.needs_reauth,
        workers,
        features: vec![
            ("FEATURE_TOKEN_REFRESH", f.token_refresh),
            ("METRICS_ENGAGEMENT", f.metrics_engagement),
            ("PER_PLATFORM_ANALYTICS", f.per_platform_analytics),
            ("UI_MODERN_CHART", f.ui_modern_chart),
        ],
    })
}

// ---- audit log ----

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    email: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    page: Option<String>,
}

struct AuditView {
    when: String,
    actor: String,
    action: String,
    ip: String,
    subject: String,
    details: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    ctx: PageContext,
    tab: &'static str,
    email: String,
    action: String,
    from: String,
    to: String,
    actions: Vec<&'static str>,
    errors: BTreeMap<&'static str, String>,
    rows: Vec<AuditView>,
    page: u64,
    prev_href: Option<String>,
    next_href: Option<String>,
    time_zone: String,
}

fn parse_date(raw: &str) -> Result<Option<NaiveDate>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| "Enter a date like 2026-12-08.".to_owned())
}

/// Midnight starting `date` in `tz`, as an instant.
fn start_of(date: NaiveDate, tz: TimeZone) -> Option<DateTime<Utc>> {
    let midnight = date.and_hms_opt(0, 0, 0)?;
    tz.tz()
        .from_local_datetime(&midnight)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

async fn audit(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    Query(q): Query<AuditQuery>,
) -> Result<Response, AppError> {
    admin_only(&state, &user)?;
    let tz = TimeZone::parse_or_utc(&user.time_zone);
    let mut errors = BTreeMap::new();
    let email = q.email.trim().to_owned();
    let action = q.action.trim().to_owned();
    if !action.is_empty() && !Action::ALL.iter().any(|a| a.as_str() == action) {
        errors.insert("action", "Choose an action from the list.".to_owned());
    }
    let from = parse_date(&q.from).unwrap_or_else(|e| {
        errors.insert("from", e);
        None
    });
    let to = parse_date(&q.to).unwrap_or_else(|e| {
        errors.insert("to", e);
        None
    });
    if let (Some(f), Some(t)) = (from, to)
        && t < f
    {
        errors.insert("to", "The end date is before the start date.".to_owned());
    }
    let page: u64 = match q.page.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => 1,
        Some(p) => p.parse().ok().filter(|p| *p >= 1).unwrap_or_else(|| {
            errors.insert("page", "The page number must be 1 or more.".to_owned());
            1
        }),
    };
    let mut page_view = AuditPage {
        ctx: ctx.at("admin"),
        tab: "audit",
        email: email.clone(),
        action: action.clone(),
        from: q.from.trim().to_owned(),
        to: q.to.trim().to_owned(),
        actions: Action::ALL.iter().map(|a| a.as_str()).collect(),
        errors,
        rows: Vec::new(),
        page,
        prev_href: None,
        next_href: None,
        time_zone: tz.name().to_owned(),
    };
    if !page_view.errors.is_empty() {
        return render::page_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page_view);
    }
    let filter = AuditFilter {
        email: Some(email.clone()).filter(|e| !e.is_empty()),
        action: Some(action.clone()).filter(|a| !a.is_empty()),
        from: from.and_then(|d| start_of(d, tz)),
        // The whole end day counts: up to the next midnight.
        to: to.and_then(|d| start_of(d.succ_opt()?, tz)),
    };
    let (rows, more) = admin::audit_page(&state.db, &filter, page, PER_PAGE).await?;
    page_view.rows = rows
        .into_iter()
        .map(|r| AuditView {
            when: format_time(r.occurred_at, &user.time_zone),
            actor: r
                .actor_email
                .or(r.actor_user_id.map(|id| id.to_string()))
                .unwrap_or_else(|| "—".to_owned()),
            action: r.action,
            ip: r.ip.unwrap_or_default(),
            subject: r.subject.unwrap_or_default(),
            details: match &r.details {
                serde_json::Value::Object(m) if m.is_empty() => String::new(),
                d => d.to_string(),
            },
        })
        .collect();
    let href = |p: u64| {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("email", &email)
            .append_pair("action", &action)
            .append_pair("from", q.from.trim())
            .append_pair("to", q.to.trim())
            .append_pair("page", &p.to_string())
            .finish();
        format!("/admin/audit?{query}")
    };
    page_view.prev_href = (page > 1).then(|| href(page - 1));
    page_view.next_href = more.then(|| href(page + 1));
    render::page(&page_view)
}

// ---- users ----

struct UserView {
    id: Uuid,
    email: String,
    created: String,
    last_login: Option<String>,
    disabled: Option<String>,
    posts: i64,
    is_me: bool,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    ctx: PageContext,
    tab: &'static str,
    users: Vec<UserView>,
    page: u64,
    prev_href: Option<String>,
    next_href: Option<String>,
}

#[derive(Deserialize)]
pub struct PageQuery {
    page: Option<u64>,
}

async fn users_list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    Query(q): Query<PageQuery>,
) -> Result<Response, AppError> {
    admin_only(&state, &user)?;
    let page = q.page.unwrap_or(1).max(1);
    let (rows, more) = admin::users_page(&state.db, page, PER_PAGE).await?;
    let tz = user.time_zone.as_str();
    render::page(&UsersPage {
        ctx: ctx.at("admin"),
        tab: "users",
        users: rows
            .into_iter()
            .map(|r| UserView {
                is_me: r.id == user.id,
                id: r.id,
                email: r.email,
                created: format_time(r.created_at, tz),
                last_login: r.last_login_at.map(|at| format_time(at, tz)),
                disabled: r.disabled_at.map(|at| format_time(at, tz)),
                posts: r.posts,
            })
            .collect(),
        page,
        prev_href: (page > 1).then(|| format!("/admin/users?page={}", page - 1)),
        next_href: more.then(|| format!("/admin/users?page={}", page + 1)),
    })
}

async fn target_user(state: &AppState, id: &str) -> Result<users::Model, AppError> {
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    users::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)
}

async fn disable(
    State(state): State<AppState>,
    session: Session,
    ClientIp(ip): ClientIp,
    CurrentUser(admin_user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    admin_only(&state, &admin_user)?;
    let target = target_user(&state, &id).await?;
    if target.id == admin_user.id {
        session::flash(
            &session,
            FlashKind::Error,
            "You can't disable your own account: you would lock yourself out of the admin pages.",
        )
        .await?;
        return Ok(Redirect::to("/admin/users").into_response());
    }
    let change =
        admin::disable_user(&state.db, admin_user.id, ip, target.id, &target.email).await?;
    // Even when it was disabled already, make sure nothing of it is still logged in.
    let ended = session::end_sessions(&state, target.id, None).await?;
    let message = match change {
        Change::Disabled { paused } => format!(
            "{} is disabled: logged out of {ended} session{}, API tokens refused, {paused} scheduled publication{} paused.",
            target.email,
            if ended == 1 { "" } else { "s" },
            if paused == 1 { "" } else { "s" }
        ),
        _ => format!("{} was already disabled.", target.email),
    };
    session::flash(&session, FlashKind::Success, message).await?;
    Ok(Redirect::to("/admin/users").into_response())
}

async fn enable(
    State(state): State<AppState>,
    session: Session,
    ClientIp(ip): ClientIp,
    CurrentUser(admin_user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    admin_only(&state, &admin_user)?;
    let target = target_user(&state, &id).await?;
    let change = admin::enable_user(&state.db, admin_user.id, ip, target.id, &target.email).await?;
    let message = match change {
        Change::Enabled { resumed, missed } => {
            let mut m = format!(
                "{} is enabled again. {resumed} scheduled publication{} will go out at {} time.",
                target.email,
                if resumed == 1 { "" } else { "s" },
                if resumed == 1 { "its" } else { "their" }
            );
            if missed > 0 {
                m.push_str(&format!(
                    " {missed} missed {} time while disabled and {} not published; the seller sees {} in their notifications.",
                    if missed == 1 { "its" } else { "their" },
                    if missed == 1 { "was" } else { "were" },
                    if missed == 1 { "it" } else { "them" }
                ));
            }
            m
        }
        _ => format!("{} wasn't disabled.", target.email),
    };
    session::flash(&session, FlashKind::Success, message).await?;
    Ok(Redirect::to("/admin/users").into_response())
}
