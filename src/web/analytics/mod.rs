//! `/analytics`: the X engagement dashboard (totals and trends for 7, 30 or 90 days, top posts)
//! and `/analytics/posts/{id}`, a post's curve per network. Server-rendered SVG charts
//! (`web::chart`), nothing in JavaScript. Present only with `METRICS_ENGAGEMENT` on.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use chrono::{Duration, Utc};
use serde::Deserialize;
use uuid::Uuid;

use crate::analytics::{self, metrics_of};
use crate::domain::schedule::LocalTime;
use crate::domain::{Platform, TimeZone};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::chart::LineChart;
use crate::web::render;
use crate::web::session::{CurrentUser, PageContext};

mod best_time;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(best_time::router())
        .route("/analytics", get(dashboard))
        .route("/analytics/export.csv", get(export))
        .route("/analytics/posts/{id}", get(post_detail))
}

pub const RANGES: [i64; 3] = [7, 30, 90];

pub struct Tile {
    pub label: &'static str,
    pub value: i64,
    /// "+12% on the previous 30 days", or `None` when there is nothing to compare with.
    pub change: Option<String>,
    pub up: bool,
}

pub struct TopRow {
    pub post_id: Uuid,
    pub excerpt: String,
    pub published: String,
    pub remote_url: Option<String>,
    pub values: Vec<String>,
}

#[derive(Template)]
#[template(path = "analytics/index.html")]
struct DashboardPage {
    ctx: PageContext,
    range: i64,
    ranges: [i64; 3],
    platform: Platform,
    tiles: Vec<Tile>,
    charts: Vec<LineChart>,
    columns: Vec<&'static str>,
    top: Vec<TopRow>,
    /// Why there is nothing to show yet, when there isn't.
    empty: Option<String>,
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

async fn dashboard(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    Query(q): Query<RangeQuery>,
) -> Result<Response, AppError> {
    enabled(&state)?;
    let range = match q.range.as_deref().map(str::trim) {
        None | Some("") => 30,
        Some(r) => r
            .parse::<i64>()
            .ok()
            .filter(|d| RANGES.contains(d))
            .ok_or_else(|| AppError::BadRequest("Choose a range of 7, 30 or 90 days.".into()))?,
    };
    let platform = Platform::X;
    let zone = TimeZone::parse_or_utc(&user.time_zone);
    let now = Utc::now();
    let to = now.date_naive();
    let from = to - Duration::days(range - 1);
    let totals = analytics::totals(&state.db, user.id, platform, from, to).await?;
    let trend = analytics::trend(&state.db, user.id, platform, from, to).await?;
    let top = analytics::top_posts(
        &state.db,
        user.id,
        platform,
        now - Duration::days(range),
        10,
    )
    .await?;
    let modern = state.config.features.ui_modern_chart;
    let metrics = metrics_of(platform);
    let tiles = metrics
        .iter()
        .map(|(metric, label)| {
            let t = totals.iter().find(|t| t.metric == *metric);
            let (current, previous) = t.map_or((0, 0), |t| (t.current, t.previous));
            let change = (previous > 0).then(|| {
                let pct = ((current - previous) as f64 / previous as f64 * 100.0).round() as i64;
                format!(
                    "{}{pct}% on the previous {range} days",
                    if pct > 0 { "+" } else { "" }
                )
            });
            Tile {
                label,
                value: current,
                change,
                up: current >= previous,
            }
        })
        .collect();
    let charts = metrics
        .iter()
        .map(|(metric, label)| {
            let points: Vec<(String, i64)> = trend
                .get(*metric)
                .map(|s| {
                    s.iter()
                        .map(|(d, v)| (d.format("%b %-d").to_string(), *v))
                        .collect()
                })
                .unwrap_or_default();
            LineChart::new(metric, &format!("{label} per day"), &points, modern)
        })
        .collect();
    let top_rows: Vec<TopRow> = top
        .iter()
        .map(|p| TopRow {
            post_id: p.post_id,
            excerpt: crate::posts::queries::excerpt(&p.body, 80),
            published: {
                let l = LocalTime::of(p.published_at, zone);
                format!("{} {}", l.date, l.time)
            },
            remote_url: p.remote_url.clone(),
            values: metrics
                .iter()
                .map(|(m, _)| {
                    p.point(platform)
                        .value(m)
                        .map_or("–".to_owned(), |v| v.to_string())
                })
                .collect(),
        })
        .collect();
    let has_numbers = !top_rows.is_empty() || totals.iter().any(|t| t.current != 0);
    let empty = if has_numbers {
        None
    } else {
        Some(empty_reason(&state, user.id, platform).await?)
    };
    render::page(&DashboardPage {
        ctx: ctx.at("analytics"),
        range,
        ranges: RANGES,
        platform,
        tiles,
        charts,
        columns: metrics.iter().map(|(_, l)| *l).collect(),
        top: top_rows,
        empty,
    })
}

/// Why a dashboard has no numbers yet, in words that say when they will come.
async fn empty_reason(
    state: &AppState,
    user_id: Uuid,
    platform: Platform,
) -> Result<String, AppError> {
    let name = platform.display_name();
    let connected = state
        .connections
        .list_for_user(user_id)
        .await?
        .iter()
        .any(|c| c.platform == platform.as_str());
    if !connected {
        return Ok(format!(
            "Connect {name} under Connections; its numbers appear here after your first post there."
        ));
    }
    Ok(format!(
        "No {name} numbers in this range yet. Numbers arrive about an hour after a post goes out, then at 6 hours, a day, 3 days, a week and 30 days."
    ))
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
    table: Option<String>,
}

/// One CSV field: quoted when it holds a comma, a quote or a line break; a leading `=`, `+`, `-`
/// or `@` is defused so a spreadsheet never runs it as a formula.
fn csv_field(raw: &str) -> String {
    let mut v = raw.to_owned();
    if v.starts_with(['=', '+', '-', '@']) {
        v.insert(0, '\'');
    }
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

/// `GET /analytics/export.csv?range=30[&table=posts]`: the numbers the dashboard shows — per day
/// (the default) or per top post — as CSV.
async fn export(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(q): Query<ExportQuery>,
) -> Result<Response, AppError> {
    use axum::response::IntoResponse as _;
    enabled(&state)?;
    let range = range_of(q.range.as_deref())?;
    let platform = Platform::X;
    let metrics = metrics_of(platform);
    let now = Utc::now();
    let to = now.date_naive();
    let from = to - Duration::days(range - 1);
    let header: Vec<&str> = metrics.iter().map(|(_, l)| *l).collect();
    let mut out = String::new();
    let table = q.table.as_deref().unwrap_or("daily");
    match table {
        "daily" => {
            let trend = analytics::trend(&state.db, user.id, platform, from, to).await?;
            out.push_str(&format!("day (UTC),{}\n", header.join(",")));
            for day in from.iter_days().take_while(|d| *d <= to) {
                let values: Vec<String> = metrics
                    .iter()
                    .map(|(m, _)| {
                        trend
                            .get(*m)
                            .and_then(|s| s.iter().find(|(d, _)| *d == day))
                            .map_or(0, |(_, v)| *v)
                            .to_string()
                    })
                    .collect();
                out.push_str(&format!("{day},{}\n", values.join(",")));
            }
        }
        "posts" => {
            let zone = TimeZone::parse_or_utc(&user.time_zone);
            let top = analytics::top_posts(
                &state.db,
                user.id,
                platform,
                now - Duration::days(range),
                100,
            )
            .await?;
            out.push_str(&format!("post,published,link,{}\n", header.join(",")));
            for p in top {
                let l = LocalTime::of(p.published_at, zone);
                let point = p.point(platform);
                let values: Vec<String> = metrics
                    .iter()
                    .map(|(m, _)| point.value(m).map_or(String::new(), |v| v.to_string()))
                    .collect();
                out.push_str(&format!(
                    "{},{},{},{}\n",
                    csv_field(&p.body),
                    csv_field(&format!("{} {}", l.date, l.time)),
                    csv_field(p.remote_url.as_deref().unwrap_or("")),
                    values.join(",")
                ));
            }
        }
        _ => {
            return Err(AppError::BadRequest(
                "Export the daily numbers (table=daily) or the posts (table=posts).".into(),
            ));
        }
    }
    let name = format!("picscripter-{}-{table}-{range}d.csv", platform.as_str());
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

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_when_needed_and_formulas_are_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }
}
