//! `/posts`: every post in one list with filters and bulk actions, a page per post with each
//! network's status, and the quick actions (duplicate, cancel, delete, publish now, retry).

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use tower_sessions::Session;
use uuid::Uuid;

use crate::domain::calendar::start_of_day;
use crate::domain::schedule::LocalTime;
use crate::domain::{Platform, TimeZone};
use crate::entities::users;
use crate::error::AppError;
use crate::posts::queries::{self, Filter, PostSummary};
use crate::posts::{self, PostError};
use crate::state::AppState;
use crate::web::calendar::status_label;
use crate::web::compose;
use crate::web::form::FormData;
use crate::web::render;
use crate::web::session::{self, CurrentUser, FlashKind, PageContext};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/posts", get(list).post(compose::create))
        .route("/posts/bulk", post(bulk))
        .route("/posts/{id}", get(detail).post(compose::update))
        .route("/posts/{id}/duplicate", post(duplicate))
        .route("/posts/{id}/cancel", post(cancel))
        .route("/posts/{id}/delete", post(delete))
        .route("/posts/{id}/publish-now", post(publish_now))
        .route("/posts/{id}/retry", post(retry))
        .route(
            "/posts/{id}/targets/{target}/mark-published",
            post(mark_published),
        )
        .route(
            "/posts/{id}/targets/{target}/publish-again",
            post(publish_again),
        )
}

pub struct TargetRow {
    pub id: Uuid,
    pub connection_id: Uuid,
    /// `auth` when the account needs reconnecting, `unknown` when we can't tell what happened.
    pub error_class: Option<String>,
    pub platform: Platform,
    pub account: String,
    pub status: String,
    pub status_label: &'static str,
    pub last_error: Option<String>,
    pub remote_url: Option<String>,
    pub attempts: i32,
    pub published: Option<String>,
}

pub struct Row {
    pub id: Uuid,
    pub excerpt: String,
    pub when: String,
    pub status: String,
    pub status_label: &'static str,
    pub targets: Vec<TargetRow>,
    pub thumb: Option<Uuid>,
    pub editable: bool,
    pub can_cancel: bool,
    pub can_publish_now: bool,
    pub has_failed: bool,
    /// Something is about to change: pages showing this post refresh its status.
    pub live: bool,
}

pub fn target_status_label(status: &str) -> &'static str {
    match status {
        "draft" => "Draft",
        "scheduled" => "Scheduled",
        "queued" => "About to publish",
        "publishing" => "Publishing",
        "published" => "Published",
        "retry_wait" => "Will retry",
        "failed" => "Failed",
        "unknown" => "Outcome unknown",
        "cancelled" => "Cancelled",
        _ => "Unknown status",
    }
}

fn when_text(at: Option<DateTime<Utc>>, zone: TimeZone) -> String {
    match at {
        Some(t) => {
            let local = t.with_timezone(&zone.tz());
            local.format("%a %-d %b %Y, %H:%M").to_string()
        }
        None => "Not scheduled".into(),
    }
}

pub fn row(p: &PostSummary, zone: TimeZone) -> Row {
    let statuses: Vec<&str> = p.targets.iter().map(|t| t.status.as_str()).collect();
    let busy = statuses
        .iter()
        .any(|s| matches!(*s, "queued" | "publishing"));
    let out = statuses
        .iter()
        .any(|s| matches!(*s, "published" | "unknown"));
    Row {
        id: p.id,
        excerpt: p.excerpt(120),
        when: when_text(p.scheduled_at, zone),
        status_label: status_label(&p.status),
        status: p.status.clone(),
        targets: p
            .targets
            .iter()
            .map(|t| TargetRow {
                id: t.id,
                connection_id: t.connection_id,
                error_class: t.last_error_class.clone(),
                platform: t.platform,
                account: t.account.clone(),
                status_label: target_status_label(&t.status),
                status: t.status.clone(),
                last_error: t.last_error.clone(),
                remote_url: t.remote_url.clone(),
                attempts: t.attempt_count,
                published: t.published_at.map(|at| when_text(Some(at), zone)),
            })
            .collect(),
        thumb: p.first_media,
        editable: !busy && !out,
        can_cancel: statuses
            .iter()
            .any(|s| matches!(*s, "draft" | "scheduled" | "queued" | "retry_wait")),
        can_publish_now: !busy
            && statuses.iter().any(|s| {
                matches!(
                    *s,
                    "draft" | "scheduled" | "retry_wait" | "failed" | "cancelled"
                )
            }),
        has_failed: statuses.contains(&"failed"),
        live: p.in_motion(chrono::Utc::now()),
    }
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    platform: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    q: String,
    page: Option<u64>,
}

pub struct AccountOption {
    pub id: Uuid,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "posts/index.html")]
struct ListPage {
    ctx: PageContext,
    rows: Vec<Row>,
    query: ListQuery,
    accounts: Vec<AccountOption>,
    statuses: Vec<(&'static str, &'static str)>,
    platforms: Vec<Platform>,
    page: u64,
    more: bool,
    filter_query: String,
    /// Where row actions return to: this page with its filters.
    back: String,
    problems: Vec<String>,
    /// A post on this page is about to change: the list refreshes itself.
    live: bool,
}

fn day_start(raw: &str, zone: TimeZone) -> Option<DateTime<Utc>> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .ok()
        .map(|d| start_of_day(d, zone))
}

async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    let zone = TimeZone::parse_or_utc(&user.time_zone);
    let mut problems = Vec::new();
    let status = query.status.trim();
    let statuses = [
        "draft",
        "scheduled",
        "publishing",
        "published",
        "partial",
        "failed",
        "unknown",
        "cancelled",
    ];
    let filter = Filter {
        status: statuses.contains(&status).then(|| status.to_owned()),
        platform: query.platform.parse().ok(),
        connection_id: Uuid::parse_str(&query.account).ok(),
        from: day_start(&query.from, zone),
        to: day_start(&query.to, zone).map(|t| t + chrono::Duration::days(1)),
        text: Some(query.q.clone()).filter(|q| !q.trim().is_empty()),
    };
    if !query.from.is_empty() && filter.from.is_none() {
        problems.push(
            "The “from” date isn't a date. Use the date picker, or year-month-day.".to_owned(),
        );
    }
    if !query.to.is_empty() && filter.to.is_none() {
        problems
            .push("The “to” date isn't a date. Use the date picker, or year-month-day.".to_owned());
    }
    let page = query.page.unwrap_or(1).clamp(1, 10_000);
    let (posts, more) = queries::list(&state.db, user.id, &filter, page).await?;
    let accounts = posts::postable_connections(&state.db, user.id)
        .await?
        .into_iter()
        .map(|c| AccountOption {
            selected: filter.connection_id == Some(c.id),
            label: format!(
                "{} · {}",
                c.display_name,
                c.platform
                    .parse::<Platform>()
                    .map(|p| p.display_name())
                    .unwrap_or("")
            ),
            id: c.id,
        })
        .collect();
    let filter_query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("status", query.status.as_str()),
            ("platform", query.platform.as_str()),
            ("account", query.account.as_str()),
            ("from", query.from.as_str()),
            ("to", query.to.as_str()),
            ("q", query.q.as_str()),
        ])
        .finish();
    let back = format!("/posts?{filter_query}&page={page}");
    let rows: Vec<Row> = posts.iter().map(|p| row(p, zone)).collect();
    render::page(&ListPage {
        back,
        ctx: ctx.at("posts"),
        live: rows.iter().any(|r| r.live),
        rows,
        query,
        accounts,
        statuses: statuses.iter().map(|s| (*s, status_label(s))).collect(),
        platforms: Platform::ALL
            .into_iter()
            .filter(|p| p.kind() == crate::domain::PlatformKind::Social)
            .collect(),
        page,
        more,
        filter_query,
        problems,
    })
}

#[derive(Template)]
#[template(path = "posts/detail.html")]
struct DetailPage {
    ctx: PageContext,
    row: Row,
    body: String,
    media: Vec<Uuid>,
    history: Vec<HistoryRow>,
    back: String,
}

pub struct HistoryRow {
    pub when: String,
    pub account: String,
    pub attempt: i32,
    pub outcome: &'static str,
    pub outcome_class: &'static str,
    pub took: Option<String>,
    pub http_status: Option<i32>,
    pub message: Option<String>,
    pub worker: String,
}

async fn detail(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    let zone = TimeZone::parse_or_utc(&user.time_zone);
    let post = queries::one(&state.db, user.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let draft = posts::load_draft(&state.db, user.id, id)
        .await
        .map_err(|e| match e {
            PostError::Db(e) => AppError::from(e),
            _ => AppError::NotFound,
        })?;
    let history = history(&state, &post, zone).await?;
    render::page(&DetailPage {
        ctx: ctx.at("posts"),
        row: row(&post, zone),
        body: post.body.clone(),
        media: draft.media_ids,
        history,
        back: format!("/posts/{id}"),
    })
}

async fn history(
    state: &AppState,
    post: &PostSummary,
    zone: TimeZone,
) -> Result<Vec<HistoryRow>, AppError> {
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _};
    let ids: Vec<Uuid> = post.targets.iter().map(|t| t.id).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let jobs = crate::entities::jobs::Entity::find()
        .filter(crate::entities::jobs::Column::TargetId.is_in(ids))
        .order_by_desc(crate::entities::jobs::Column::StartedAt)
        .all(&state.db)
        .await?;
    Ok(jobs
        .into_iter()
        .map(|j| HistoryRow {
            when: when_text(Some(j.started_at), zone),
            account: post
                .targets
                .iter()
                .find(|t| Some(t.id) == j.target_id)
                .map(|t| format!("{} · {}", t.account, t.platform.display_name()))
                .unwrap_or_default(),
            attempt: j.attempt,
            outcome: job_outcome_label(j.outcome),
            outcome_class: job_outcome_class(j.outcome),
            took: j.finished_at.map(|f| {
                let ms = (f - j.started_at).num_milliseconds().max(0);
                if ms < 1000 {
                    format!("{ms} ms")
                } else {
                    format!("{:.1} s", ms as f64 / 1000.0)
                }
            }),
            http_status: j.http_status,
            message: j.error_message,
            worker: j.worker,
        })
        .collect())
}

fn job_outcome_label(o: crate::entities::enums::JobOutcome) -> &'static str {
    use crate::entities::enums::JobOutcome as O;
    match o {
        O::Running => "In progress",
        O::Succeeded => "Published",
        O::Retry => "Failed, will retry",
        O::Failed => "Failed",
        O::Unknown => "Outcome unknown",
        O::Skipped => "Skipped",
    }
}

fn job_outcome_class(o: crate::entities::enums::JobOutcome) -> &'static str {
    use crate::entities::enums::JobOutcome as O;
    match o {
        O::Succeeded => "published",
        O::Failed => "failed",
        O::Unknown => "unknown",
        O::Retry => "retry_wait",
        O::Running => "publishing",
        O::Skipped => "cancelled",
    }
}

// ---- actions ----

fn post_id(raw: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(raw).map_err(|_| AppError::NotFound)
}

/// Where to go back to: the page the action was taken on, if it's one of ours.
fn back(form: &FormData, fallback: &str) -> String {
    crate::web::auth::safe_next(form.str("back"))
        .unwrap_or(fallback)
        .to_owned()
}

async fn finish(
    session: &Session,
    result: Result<String, PostError>,
    to: &str,
) -> Result<Response, AppError> {
    let (kind, message) = match result {
        Ok(m) => (FlashKind::Success, m),
        Err(PostError::Locked(why)) => (FlashKind::Error, why),
        Err(PostError::Invalid(p)) => (
            FlashKind::Error,
            format!(
                "This post can't go out yet: {}",
                p.fields.into_values().collect::<Vec<_>>().join(" ")
            ),
        ),
        Err(PostError::NotFound) => return Err(AppError::NotFound),
        Err(PostError::Db(e)) => return Err(e.into()),
    };
    session::flash(session, kind, message).await?;
    Ok(Redirect::to(to).into_response())
}

async fn duplicate(
    State(state): State<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let copy = match posts::duplicate(&state.db, user.id, post_id(&id)?).await {
        Ok(c) => c,
        Err(e) => return finish(&session, Err(e), "/posts").await,
    };
    session::flash(
        &session,
        FlashKind::Success,
        "Copied as a new draft. Choose a time and schedule it.",
    )
    .await?;
    Ok(Redirect::to(&format!("/posts/{}/edit", copy.id)).into_response())
}

async fn cancel(
    State(state): State<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let form = FormData::parse(&body);
    let result = posts::cancel(&state.db, user.id, post_id(&id)?)
        .await
        .map(|n| match n {
            0 => "Nothing was left to cancel.".to_owned(),
            _ => "Cancelled. It won't go out unless you publish it again.".to_owned(),
        });
    finish(&session, result, &back(&form, "/posts")).await
}

async fn delete(
    State(state): State<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let form = FormData::parse(&body);
    let id = post_id(&id)?;
    let result = posts::delete(&state.db, user.id, id)
        .await
        .map(|_| "Deleted.".to_owned());
    let mut to = back(&form, "/posts");
    if to.starts_with(&format!("/posts/{id}")) {
        to = "/posts".into();
    }
    finish(&session, result, &to).await
}

async fn publish_now(
    State(state): State<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let form = FormData::parse(&body);
    let result = posts::publish_now(&state.db, user.id, post_id(&id)?)
        .await
        .map(|_| "Publishing now. Each network's result will show here.".to_owned());
    finish(&session, result, &back(&form, "/posts")).await
}

async fn retry(
    State(state): State<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let form = FormData::parse(&body);
    let result = posts::retry_failed(&state.db, user.id, post_id(&id)?)
        .await
        .map(|n| match n {
            0 => "Nothing had failed.".to_owned(),
            1 => "Trying the failed network again now.".to_owned(),
            n => format!("Trying the {n} failed networks again now."),
        });
    finish(&session, result, &back(&form, "/posts")).await
}

fn target_ids(id: &str, target: &str) -> Result<(Uuid, Uuid), AppError> {
    Ok((
        post_id(id)?,
        Uuid::parse_str(target).map_err(|_| AppError::NotFound)?,
    ))
}

async fn mark_published(
    State(state): State<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
    Path((id, target)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, AppError> {
    let form = FormData::parse(&body);
    let (id, target) = target_ids(&id, &target)?;
    let to = back(&form, &format!("/posts/{id}"));
    let url = Some(form.str("url").trim()).filter(|u| !u.is_empty());
    if let Some(u) = url
        && !url::Url::parse(u)
            .is_ok_and(|p| matches!(p.scheme(), "http" | "https") && p.host().is_some())
    {
        let message = "That isn't a web address. Paste the post's link from the network (starting with https://), or leave it empty.";
        return finish(&session, Err(PostError::Locked(message.into())), &to).await;
    }
    let result = posts::mark_published(&state.db, user.id, id, target, url.map(str::to_owned))
        .await
        .map(|_| "Marked as published.".to_owned());
    finish(&session, result, &to).await
}

async fn publish_again(
    State(state): State<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
    Path((id, target)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, AppError> {
    let form = FormData::parse(&body);
    let (id, target) = target_ids(&id, &target)?;
    let result = posts::publish_again(&state.db, user.id, id, target)
        .await
        .map(|_| "Publishing it again now.".to_owned());
    finish(&session, result, &back(&form, &format!("/posts/{id}"))).await
}

#[derive(Template)]
#[template(path = "posts/bulk_confirm.html")]
struct BulkConfirm {
    ctx: PageContext,
    action: String,
    ids: Vec<Uuid>,
    back: String,
}

async fn bulk(
    State(state): State<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    body: Bytes,
) -> Result<Response, AppError> {
    let form = FormData::parse(&body);
    let action = form.str("bulk");
    let ids: Vec<Uuid> = form
        .all("id")
        .into_iter()
        .filter_map(|i| Uuid::parse_str(i).ok())
        .collect();
    let back = back(&form, "/posts");
    if !matches!(action, "cancel" | "delete") {
        return Err(AppError::BadRequest(
            "Choose what to do with the selected posts.".into(),
        ));
    }
    if ids.is_empty() {
        session::flash(
            &session,
            FlashKind::Error,
            "Select at least one post first.",
        )
        .await?;
        return Ok(Redirect::to(&back).into_response());
    }
    if form.get("confirm") != Some("yes") {
        let page = BulkConfirm {
            ctx: ctx.at("posts"),
            action: action.to_owned(),
            ids,
            back,
        };
        return render::page_with_status(StatusCode::OK, &page);
    }
    let (done, refused) = posts::bulk(&state.db, user.id, &ids, action == "delete").await?;
    let verb = if action == "delete" {
        "Deleted"
    } else {
        "Cancelled"
    };
    session::flash(
        &session,
        FlashKind::Success,
        format!("{verb} {done} post{}.", if done == 1 { "" } else { "s" }),
    )
    .await?;
    if !refused.is_empty() {
        session::flash(
            &session,
            FlashKind::Error,
            format!("{} couldn't be changed: {}", refused.len(), refused[0]),
        )
        .await?;
    }
    Ok(Redirect::to(&back).into_response())
}

/// The user's zone as a `TimeZone`.
pub fn zone_of(user: &users::Model) -> TimeZone {
    TimeZone::parse_or_utc(&user.time_zone)
}

/// The local date and time of an instant, for forms.
pub fn local_of(at: DateTime<Utc>, user: &users::Model) -> LocalTime {
    LocalTime::of(at, zone_of(user))
}
