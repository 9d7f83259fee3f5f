//! `/analytics/best-time`: the heat map page — the seller's engagement by weekday and hour on
//! their own clock, the hour suggested for their next post, or how much more data it needs.
//! Present only with `METRICS_ENGAGEMENT` on.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use chrono::{NaiveDate, Utc};

use crate::analytics::best_time::{
    self, HeatMap, MIN_CELLS, MIN_POSTS, NotEnough, Suggestion, WINDOW_DAYS, weekday_name,
};
use crate::domain::TimeZone;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::render;
use crate::web::session::{CurrentUser, PageContext};

pub fn router() -> Router<AppState> {
    Router::new().route("/analytics/best-time", get(page))
}

/// The five colour steps, palest first: class, what it means, and the score it goes up to.
pub const LEVELS: [(&str, &str, f64); 5] = [
    ("heat-1", "under half your usual", 0.5),
    ("heat-2", "a bit below your usual (0.5× to 0.8×)", 0.8),
    ("heat-3", "about your usual (0.8× to 1.25×)", 1.25),
    ("heat-4", "above your usual (1.25× to 2×)", 2.0),
    ("heat-5", "twice your usual or more", f64::INFINITY),
];

/// The colour step of a score.
pub fn level(score: f64) -> &'static str {
    LEVELS
        .iter()
        .find(|(_, _, upto)| score < *upto)
        .map_or(LEVELS[4].0, |(class, _, _)| class)
}

pub struct CellView {
    /// The colour step, `None` for an hour without posts.
    pub class: Option<&'static str>,
    /// "Tuesday 18:00: 3 posts, 2.1× your usual engagement".
    pub label: String,
}

pub struct RowView {
    pub day: &'static str,
    pub cells: Vec<CellView>,
}

/// The heat map as the table shows it: a row per weekday, Monday first, a cell per hour.
pub fn rows(map: &HeatMap) -> Vec<RowView> {
    best_time::WEEKDAYS
        .iter()
        .map(|d| RowView {
            day: weekday_name(*d),
            cells: (0..24u32)
                .map(|h| {
                    let c = map.cell(*d, h);
                    let when = format!("{} {h:02}:00", weekday_name(*d));
                    if c.posts == 0 {
                        CellView {
                            class: None,
                            label: format!("{when}: no posts"),
                        }
                    } else {
                        CellView {
                            class: Some(level(c.score)),
                            label: format!(
                                "{when}: {} post{}, {}",
                                c.posts,
                                if c.posts == 1 { "" } else { "s" },
                                best_time::score_label(c.score)
                            ),
                        }
                    }
                })
                .collect(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "analytics/best_time.html")]
struct BestTimePage {
    ctx: PageContext,
    tabs: Vec<super::Tab>,
    zone: &'static str,
    hours: Vec<String>,
    rows: Vec<RowView>,
    levels: [(&'static str, &'static str, f64); 5],
    suggestion: Option<Suggestion>,
    /// "Tuesday 8 December", the suggestion's date in words.
    suggestion_date: String,
    not_enough: Option<NotEnough>,
    posts: usize,
    window_days: i64,
    min_posts: usize,
    min_cells: usize,
}

async fn page(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
) -> Result<Response, AppError> {
    if !state.config.features.metrics_engagement {
        return Err(AppError::NotFound);
    }
    let zone = TimeZone::parse_or_utc(&user.time_zone);
    let now = Utc::now();
    let map = best_time::heat_map(&state.db, user.id, zone, now).await?;
    let (suggestion, not_enough) = match best_time::suggestion(&map, now, zone) {
        Ok(s) => (Some(s), None),
        Err(n) => (None, Some(n)),
    };
    let suggestion_date = suggestion
        .as_ref()
        .and_then(|s| NaiveDate::parse_from_str(&s.local.date, "%Y-%m-%d").ok())
        .map(|d| d.format("%A %-d %B").to_string())
        .unwrap_or_default();
    render::page(&BestTimePage {
        ctx: ctx.at("analytics"),
        tabs: super::tabs(&state, "best-time"),
        zone: zone.name(),
        hours: (0..24).map(|h| format!("{h:02}")).collect(),
        rows: rows(&map),
        levels: LEVELS,
        suggestion,
        suggestion_date,
        not_enough,
        posts: map.posts(),
        window_days: WINDOW_DAYS,
        min_posts: MIN_POSTS,
        min_cells: MIN_CELLS,
    })
}

#[cfg(test)]
mod tests {
    use super::level;

    #[test]
    fn scores_map_to_five_colour_steps() {
        assert_eq!(level(0.0), "heat-1");
        assert_eq!(level(0.49), "heat-1");
        assert_eq!(level(0.5), "heat-2");
        assert_eq!(level(1.0), "heat-3");
        assert_eq!(level(1.25), "heat-4");
        assert_eq!(level(2.0), "heat-5");
        assert_eq!(level(40.0), "heat-5");
    }
}
