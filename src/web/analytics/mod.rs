//! `/analytics`: the dashboards — X engagement at `/analytics`, and with
//! `FEATURE_PER_PLATFORM_ANALYTICS` Instagram, Pinterest and the Shopify catalog at
//! `/analytics/{instagram,pinterest,shopify}` — all one template over the common model of
//! `analytics::dashboard`; `/analytics/posts/{id}`, a post's curve per network; the best-time
//! heat map; CSV downloads of the numbers shown. Server-rendered SVG charts (`web::chart`),
//! nothing in JavaScript. Present only with `METRICS_ENGAGEMENT` on.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{MethodRouter, get};
use chrono::Utc;
use serde::Deserialize;
use uuid::Uuid;

use crate::analytics::dashboard::{self, Adapter, Dashboard, Period, RANGES};
use crate::analytics::{self, metrics_of};
use crate::domain::schedule::LocalTime;
use crate::domain::{Platform, TimeZone};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::chart::LineChart;
use crate::web::csv::csv_line;
use crate::web::render;
use crate::web::session::{CurrentUser, PageContext};

mod best_time;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(best_time::router())
        .route("/analytics", dashboard_route("x"))
        .route("/analytics/instagram", dashboard_route("instagram"))
        .route("/analytics/pinterest", dashboard_route("pinterest"))
        .route("/analytics/shopify", dashboard_route("shopify"))
        .route("/analytics/export.csv", get(export))
        .route("/analytics/posts/{id}", get(post_detail))
}

/// A tab of the analytics pages.
pub struct Tab {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

/// The analytics tabs the seller has, `current` marked.
pub fn tabs(state: &AppState, current: &str) -> Vec<Tab> {
    let mut tabs: Vec<Tab> = dashboard::adapters()
        .into_iter()
        .filter(|a| !a.per_platform() || state.config.features.per_platform_analytics)
        .map(|a| Tab {
            label: a.title(),
            href: href_of(a.key()),
            current: a.key() == current,
        })
        .collect();
    tabs.push(Tab {
        label: "Best time",
        href: "/analytics/best-time".to_owned(),
        current: current == "best-time",
    });
    tabs
}

fn href_of(key: &str) -> String {
    if key == Platform::X.as_str() {
        "/analytics".to_owned()
    } else {
        format!("/analytics/{key}")
    }
}

#[derive(Template)]
#[template(path = "analytics/index.html")]
struct DashboardPage {
    ctx: PageContext,
    tabs: Vec<Tab>,
    href: String,
    range: i64,
    ranges: [i64; 3],
    dash: Dashboard,
    charts: Vec<LineChart>,
}

#[derive(Template)]
#[template(path = "analytics/post.html")]
struct PostPage {
    ctx: PageContext,
    post_id: Uuid,
    excerpt: String,
    sections: Vec<(Platform, Vec<LineChart>)>,
}

#[derive(Deserialize)]
struct RangeQuery {
    range: Option<String>,
}

/// The range asked for: 7, 30 or 90 days (30 when not given).
fn range_of(raw: Option<&str>) -> Result<i64, AppError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(30),
        Some(r) => r
            .parse::<i64>()
            .ok()
            .filter(|d| RANGES.contains(d))
            .ok_or_else(|| AppError::BadRequest("Choose a range of 7, 30 or 90 days.".into())),
    }
}

fn enabled(state: &AppState) -> Result<(), AppError> {
    if state.config.features.metrics_engagement {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// The dashboard `key` if this seller has it (per-platform ones need their flag).
fn dashboard_of(state: &AppState, key: &str) -> Result<&'static dyn Adapter, AppError> {
    enabled(state)?;
    dashboard::adapter(key)
        .filter(|a| !a.per_platform() || state.config.features.per_platform_analytics)
        .ok_or(AppError::NotFound)
}

/// The route of dashboard `key`.
fn dashboard_route(key: &'static str) -> MethodRouter<AppState> {
    get(
        move |state: State<AppState>, user: CurrentUser, ctx: PageContext, q: Query<RangeQuery>| {
            show(state, user, ctx, q, key)
        },
    )
}

async fn show(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    Query(q): Query<RangeQuery>,
    key: &str,
) -> Result<Response, AppError> {
    let adapter = dashboard_of(&state, key)?;
    let range = range_of(q.range.as_deref())?;
    let period = Period::new(range, TimeZone::parse_or_utc(&user.time_zone), Utc::now());
    let dash = adapter.load(&state.db, user.id, &period).await?;
    let modern = state.config.features.ui_modern_chart;
    let charts = dash
        .series
        .iter()
        .map(|s| {
            let points: Vec<(String, i64)> = s
                .points
                .iter()
                .map(|(d, v)| (d.format("%b %-d").to_string(), *v))
                .collect();
            LineChart::new(&s.id, &format!("{} per day", s.name), &points, modern)
        })
        .collect();
    render::page(&DashboardPage {
        ctx: ctx.at("analytics"),
        tabs: tabs(&state, key),
        href: href_of(key),
        range,
        ranges: RANGES,
        dash,
        charts,
    })
}

async fn post_detail(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    enabled(&state)?;
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    let post = crate::posts::queries::one(&state.db, user.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let zone = TimeZone::parse_or_utc(&user.time_zone);
    let points = analytics::post_curve(&state.db, user.id, id).await?;
    let modern = state.config.features.ui_modern_chart;
    let mut sections = Vec::new();
    let mut platforms: Vec<String> = points.iter().map(|p| p.platform.clone()).collect();
    platforms.dedup();
    for name in platforms {
        let Ok(platform) = name.parse::<Platform>() else {
            continue;
        };
        let mine: Vec<&analytics::Point> = points.iter().filter(|p| p.platform == name).collect();
        let charts = metrics_of(platform)
            .iter()
            .filter(|(m, _)| mine.iter().any(|p| p.value(m).is_some()))
            .map(|(m, label)| {
                let series: Vec<(String, i64)> = mine
                    .iter()
                    .filter_map(|p| {
                        let l = LocalTime::of(p.captured_at, zone);
                        p.value(m).map(|v| (format!("{} {}", l.date, l.time), v))
                    })
                    .collect();
                LineChart::new(&format!("{name}-{m}"), label, &series, modern)
            })
            .collect();
        sections.push((platform, charts));
    }
    render::page(&PostPage {
        ctx: ctx.at("analytics"),
        post_id: id,
        excerpt: crate::posts::queries::excerpt(&post.body, 120),
        sections,
    })
}

#[derive(Deserialize)]
struct ExportQuery {
    range: Option<String>,
    dashboard: Option<String>,
    table: Option<String>,
}

/// `GET /analytics/export.csv?dashboard=x&range=30[&table=posts]`: the numbers a dashboard
/// shows — per day (the default, one column per trend) or one of its tables — as CSV.
async fn export(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(q): Query<ExportQuery>,
) -> Result<Response, AppError> {
    use axum::response::IntoResponse as _;
    let key = q.dashboard.as_deref().unwrap_or("x");
    let adapter = dashboard_of(&state, key)?;
    let range = range_of(q.range.as_deref())?;
    let zone = TimeZone::parse_or_utc(&user.time_zone);
    let period = Period::new(range, zone, Utc::now());
    let dash = adapter.load(&state.db, user.id, &period).await?;
    let table = q.table.as_deref().unwrap_or("daily");
    let mut out = String::new();
    if table == "daily" {
        out.push_str(&csv_line(
            std::iter::once(format!("day ({})", zone.name()))
                .chain(dash.series.iter().map(|s| s.name.clone())),
        ));
        for (i, day) in period.days().enumerate() {
            out.push_str(&csv_line(std::iter::once(day.to_string()).chain(
                dash.series.iter().map(|s| {
                    s.points
                        .get(i)
                        .filter(|(d, _)| *d == day)
                        .map_or(0, |(_, v)| *v)
                        .to_string()
                }),
            )));
        }
    } else if let Some(t) = dash.tables.iter().find(|t| t.id == table) {
        let with_when = t.has_when();
        let mut header = vec![t.item.to_owned()];
        if with_when {
            header.push(
                if t.item == "Post" {
                    "published"
                } else {
                    "last published"
                }
                .to_owned(),
            );
        }
        header.push("link".to_owned());
        header.extend(t.columns.iter().cloned());
        out.push_str(&csv_line(header));
        for r in &t.rows {
            let mut fields = vec![r.label.clone()];
            if with_when {
                fields.push(r.when.clone().unwrap_or_default());
            }
            fields.push(r.external.clone().unwrap_or_default());
            fields.extend(
                r.values
                    .iter()
                    .map(|v| if v == "–" { String::new() } else { v.clone() }),
            );
            out.push_str(&csv_line(fields));
        }
    } else {
        let names: Vec<String> = std::iter::once("daily".to_owned())
            .chain(dash.tables.iter().map(|t| t.id.to_owned()))
            .map(|n| format!("table={n}"))
            .collect();
        return Err(AppError::BadRequest(format!(
            "This dashboard exports {}.",
            names.join(" or ")
        )));
    }
    let name = format!("picscripter-{key}-{table}-{range}d.csv");
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        out,
    )
        .into_response())
}
