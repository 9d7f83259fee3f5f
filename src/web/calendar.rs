//! `/calendar`: every planned post by month or week, in the user's time zone.
//!
//! The URL is the state (`/calendar?view=week&date=2026-12-07`), so a view can be shared and
//! reloaded; htmx swaps just the grid when navigating and pushes the URL. Clicking a day (or an
//! hour in the week) opens the composer in the drawer at that time; clicking a post opens it for
//! editing. Dragging a post to another day asks `POST /posts/{id}/reschedule` to move it; without
//! JavaScript the edit form does the same.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{Datelike as _, NaiveDate, Timelike as _, Utc};
use serde::Deserialize;
use tower_sessions::Session;
use uuid::Uuid;

use crate::domain::calendar::{Day, Period, View, WEEKDAYS, local_date};
use crate::domain::schedule::LocalTime;
use crate::domain::{Platform, ScheduleAt, TimeZone};
use crate::error::AppError;
use crate::posts::queries::{self, CalendarPost};
use crate::posts::{self, PostError};
use crate::state::AppState;
use crate::web::render;
use crate::web::session::{self, CurrentUser, FlashKind, PageContext};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/calendar", get(show))
        .route("/posts/{id}/reschedule", post(reschedule))
}

pub struct Card {
    pub id: Uuid,
    pub time: String,
    pub excerpt: String,
    pub status: String,
    pub status_label: &'static str,
    pub platforms: Vec<Platform>,
    pub thumb: Option<Uuid>,
    pub movable: bool,
}

pub struct DayCell {
    pub date: String,
    pub number: u32,
    pub label: String,
    pub in_period: bool,
    pub today: bool,
    pub past: bool,
    pub cards: Vec<Card>,
    /// Week view: the posts of each hour.
    pub hours: Vec<Vec<Card>>,
}

#[derive(Template)]
#[template(path = "calendar/index.html")]
struct CalendarPage {
    ctx: PageContext,
    cal: CalendarView,
}

#[derive(Template)]
#[template(path = "calendar/grid.html")]
struct CalendarGrid {
    cal: CalendarView,
}

pub struct CalendarView {
    pub view: &'static str,
    pub title: String,
    pub anchor: String,
    pub previous: String,
    pub next: String,
    pub today: String,
    pub weekdays: Vec<&'static str>,
    pub weeks: Vec<Vec<DayCell>>,
    pub time_zone: String,
    pub total: usize,
    /// A post in view is about to change: the grid refreshes itself.
    pub live: bool,
}

pub fn status_label(status: &str) -> &'static str {
    match status {
        "draft" => "Draft",
        "scheduled" => "Scheduled",
        "publishing" => "Publishing",
        "published" => "Published",
        "partial" => "Partly published",
        "failed" => "Failed",
        "unknown" => "Outcome unknown",
        "cancelled" => "Cancelled",
        _ => "Unknown status",
    }
}

fn card(p: &CalendarPost, zone: TimeZone) -> Card {
    let local = LocalTime::of(p.scheduled_at, zone).time;
    Card {
        id: p.id,
        time: local,
        excerpt: queries::excerpt(&p.head, 60),
        status_label: status_label(&p.status),
        movable: matches!(p.status.as_str(), "draft" | "scheduled"),
        status: p.status.clone(),
        platforms: p.networks(),
        thumb: p.first_media,
    }
}

async fn view_of(
    state: &AppState,
    user_id: Uuid,
    tz: &str,
    view: View,
    anchor: NaiveDate,
) -> Result<(CalendarView, f64), AppError> {
    let zone = TimeZone::parse_or_utc(tz);
    let period = Period::new(view, anchor, zone);
    let (from, to) = period.range();
    let now = Utc::now();
    let started = std::time::Instant::now();
    let posts = queries::in_range(&state.db, user_id, from, to, now).await?;
    let db_ms = started.elapsed().as_secs_f64() * 1000.0;
    let today = local_date(now, zone);
    let mut by_day: HashMap<NaiveDate, Vec<&CalendarPost>> = HashMap::new();
    for p in &posts {
        by_day
            .entry(local_date(p.scheduled_at, zone))
            .or_default()
            .push(p);
    }
    let cell = |d: &Day| {
        let day_posts = by_day.get(&d.date).map(Vec::as_slice).unwrap_or(&[]);
        let mut hours: Vec<Vec<Card>> = Vec::new();
        if view == View::Week {
            hours = (0..24).map(|_| Vec::new()).collect();
            for p in day_posts {
                let hour = p.scheduled_at.with_timezone(&zone.tz()).hour() as usize;
                hours[hour.min(23)].push(card(p, zone));
            }
        }
        DayCell {
            date: d.date.format("%Y-%m-%d").to_string(),
            number: d.date.day(),
            label: d.date.format("%A %-d %B").to_string(),
            in_period: d.in_period,
            today: d.date == today,
            past: d.end <= now,
            cards: if view == View::Month {
                day_posts.iter().map(|p| card(p, zone)).collect()
            } else {
                Vec::new()
            },
            hours,
        }
    };
    let cal = CalendarView {
        view: view.as_str(),
        title: period.title(),
        anchor: anchor.format("%Y-%m-%d").to_string(),
        previous: period.previous().format("%Y-%m-%d").to_string(),
        next: period.next().format("%Y-%m-%d").to_string(),
        today: today.format("%Y-%m-%d").to_string(),
        weekdays: WEEKDAYS
            .iter()
            .map(|w| match w.num_days_from_monday() {
                0 => "Mon",
                1 => "Tue",
                2 => "Wed",
                3 => "Thu",
                4 => "Fri",
                5 => "Sat",
                _ => "Sun",
            })
            .collect(),
        weeks: period
            .weeks
            .iter()
            .map(|w| w.iter().map(cell).collect())
            .collect(),
        time_zone: zone.name().to_owned(),
        total: posts.len(),
        live: posts.iter().any(|p| p.in_motion),
    };
    Ok((cal, db_ms))
}

#[derive(Deserialize)]
pub struct CalendarQuery {
    view: Option<String>,
    date: Option<String>,
}

fn parse_query(q: &CalendarQuery, tz: &str) -> (View, NaiveDate) {
    let view = q
        .view
        .as_deref()
        .and_then(|v| v.parse().ok())
        .unwrap_or(View::Month);
    let zone = TimeZone::parse_or_utc(tz);
    let date = q
        .date
        .as_deref()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .filter(|d| (1970..=9999).contains(&d.year()))
        .unwrap_or_else(|| local_date(Utc::now(), zone));
    (view, date)
}

async fn show(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    headers: HeaderMap,
    Query(q): Query<CalendarQuery>,
) -> Result<Response, AppError> {
    let (view, date) = parse_query(&q, &user.time_zone);
    let started = std::time::Instant::now();
    let (cal, db_ms) = view_of(&state, user.id, &user.time_zone, view, date).await?;
    let view_ms = started.elapsed().as_secs_f64() * 1000.0 - db_ms;
    let started = std::time::Instant::now();
    let mut res = if headers.get("hx-target").and_then(|v| v.to_str().ok()) == Some("calendar") {
        render::page(&CalendarGrid { cal })
    } else {
        render::page(&CalendarPage {
            ctx: ctx.at("calendar"),
            cal,
        })
    }?;
    let render_ms = started.elapsed().as_secs_f64() * 1000.0;
    res.extensions_mut().insert(crate::web::Timings(vec![
        ("db", db_ms),
        ("view", view_ms),
        ("render", render_ms),
    ]));
    Ok(res)
}

#[derive(Deserialize)]
pub struct RescheduleForm {
    #[serde(default)]
    date: String,
    /// Empty keeps the post's time of day (a drop on a day of the month view).
    #[serde(default)]
    time: String,
    #[serde(default)]
    view: String,
    #[serde(default)]
    anchor: String,
}

async fn reschedule(
    State(state): State<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<RescheduleForm>,
) -> Result<Response, AppError> {
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    let zone = TimeZone::parse_or_utc(&user.time_zone);
    let post = queries::one(&state.db, user.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let time = if form.time.trim().is_empty() {
        post.scheduled_at
            .map(|t| LocalTime::of(t, zone).time)
            .unwrap_or_else(|| "09:00".into())
    } else {
        form.time.trim().to_owned()
    };
    let outcome = match ScheduleAt::parse(&form.date, &time, zone, None, Utc::now()) {
        Ok(at) => match posts::reschedule(&state.db, user.id, id, at.instant()).await {
            Ok(_) => Ok(format!(
                "Moved to {} at {time}.",
                NaiveDate::parse_from_str(&form.date, "%Y-%m-%d")
                    .map(|d| d.format("%A %-d %B").to_string())
                    .unwrap_or_default()
            )),
            Err(PostError::Locked(why)) => Err(why),
            Err(PostError::NotFound) => return Err(AppError::NotFound),
            Err(PostError::Db(e)) => return Err(e.into()),
            Err(PostError::Invalid(p)) => Err(p.fields.into_values().next().unwrap_or_default()),
        },
        Err(e) => Err(e.to_string()),
    };
    let htmx = headers.contains_key("hx-request");
    let (view, anchor) = parse_query(
        &CalendarQuery {
            view: Some(form.view.clone()),
            date: Some(form.anchor.clone()),
        },
        &user.time_zone,
    );
    match outcome {
        Ok(message) if htmx => {
            let (cal, _) = view_of(&state, user.id, &user.time_zone, view, anchor).await?;
            let _ = message;
            render::page(&CalendarGrid { cal })
        }
        Ok(message) => {
            session::flash(&session, FlashKind::Success, message).await?;
            Ok(Redirect::to(&format!("/calendar?view={view}&date={anchor}")).into_response())
        }
        Err(why) if htmx => Err(AppError::Conflict(why)),
        Err(why) => {
            session::flash(&session, FlashKind::Error, why).await?;
            Ok((
                StatusCode::SEE_OTHER,
                [("location", format!("/calendar?view={view}&date={anchor}"))],
            )
                .into_response())
        }
    }
}
