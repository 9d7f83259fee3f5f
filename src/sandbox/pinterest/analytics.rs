//! Pin analytics (PLATFORMS.md §5, `reference/pinterest-v5.openapi.json` `pins/analytics`):
//! `GET /v5/pins/{pin_id}/analytics?start_date&end_date&metric_types` for pins the sandbox
//! published. Dates are checked as the spec says (start at most 90 days back, range at most 90
//! days, end not before start; the sandbox also refuses an end after today). Each day of the
//! range is one `daily_metrics` record: days before the pin existed are `BEFORE_PIN_CREATED`,
//! finished days `READY`, today `PROCESSING` for a pin's first [`ESTIMATE_AFTER_SECS`] and then
//! `ESTIMATE` with its numbers so far. A pin's running totals grow with its age on the
//! sandbox clock, deterministically from its id, so a day's numbers never change once read and
//! sums never shrink.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Days, NaiveDate, Utc};
use serde_json::{Map, Value, json};

use super::publish::authorize;
use super::{error, user_id};
use crate::domain::Platform;
use crate::sandbox::dispatch::RouteCtx;
use crate::sandbox::errors::json_response;
use crate::sandbox::oauth::Params;
use crate::sandbox::personas;
use crate::sandbox::published::PublishedRecord;
use crate::sandbox::state::Shared;

/// "Cannot be more than 90 days back from today" / "more than 90 days past start_date".
const MAX_DAYS: u64 = 90;
/// The age at which a pin has about 63% of its final numbers.
const GROWTH_SECS: f64 = 5.0 * 86_400.0;
/// The spec's security for `pins/analytics`.
const SCOPES: &[&str] = &["boards:read", "pins:read"];
const STANDARD: &[&str] = &[
    "IMPRESSION",
    "OUTBOUND_CLICK",
    "PIN_CLICK",
    "SAVE",
    "SAVE_RATE",
    "TOTAL_COMMENTS",
    "TOTAL_REACTIONS",
    "USER_FOLLOW",
    "PROFILE_VISIT",
];
const VIDEO: &[&str] = &[
    "VIDEO_MRC_VIEW",
    "VIDEO_10S_VIEW",
    "QUARTILE_95_PERCENT_VIEW",
    "VIDEO_V50_WATCH_TIME",
    "VIDEO_START",
    "VIDEO_AVG_WATCH_TIME",
];
/// Counted once for the pin's whole life, in `lifetime_metrics`.
const LIFETIME: &[&str] = &["TOTAL_COMMENTS", "TOTAL_REACTIONS"];

pub(in crate::sandbox) fn routes() -> Router<Arc<Shared>> {
    Router::new().route(
        "/api.pinterest.com/v5/pins/{pin_id}/analytics",
        get(analytics),
    )
}

fn invalid(message: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        400,
        &format!("Invalid pins analytics parameters: {message}"),
    )
}

async fn analytics(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    Path(pin_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let params = ctx.params();
    let token = match authorize(&shared, &headers, SCOPES) {
        Ok(t) => t,
        Err(res) => return res,
    };
    let record = shared
        .published()
        .find(Platform::Pinterest, &pin_id)
        .cloned();
    let Some(record) = record else {
        return error(StatusCode::NOT_FOUND, 404, "Pin not found.");
    };
    if record.account_id != user_id(&token.grant.account) {
        return error(
            StatusCode::FORBIDDEN,
            403,
            "Not authorized to access board or Pin.",
        );
    }
    let now = shared.clock.now();
    let today = now.date_naive();
    let (start, end) = match dates(&params, today) {
        Ok(d) => d,
        Err(res) => return res,
    };
    let metrics = match metric_types(&params) {
        Ok(m) => m,
        Err(res) => return res,
    };
    for (name, allowed) in [
        ("app_types", &["ALL", "MOBILE", "TABLET", "WEB"][..]),
        ("split_field", &["NO_SPLIT"][..]),
    ] {
        if let Some(v) = params.get(name)
            && !allowed.contains(&v)
        {
            return invalid(&format!("{name} must be one of {}.", allowed.join(", ")));
        }
    }
    let video = record.options.get("source_type").and_then(Value::as_str) == Some("video_id");
    let daily_names: Vec<&str> = metrics
        .iter()
        .copied()
        .filter(|m| !LIFETIME.contains(m) && (video || !VIDEO.contains(m)))
        .collect();

    let mut days = Vec::new();
    let mut summary: Map<String, Value> = Map::new();
    let mut totals = Totals::default();
    let mut date = start;
    while date <= end {
        let (status, day) = day_metrics(&record, date, now, &daily_names);
        if status != "BEFORE_PIN_CREATED" {
            totals.add(&day);
        }
        days.push(json!({ "date": date.to_string(), "data_status": status, "metrics": day }));
        let Some(next) = date.checked_add_days(Days::new(1)) else {
            break;
        };
        date = next;
    }
    for name in &daily_names {
        let v = if *name == "SAVE_RATE" {
            json!(totals.save_rate())
        } else {
            json!(totals.get(name))
        };
        summary.insert((*name).to_owned(), v);
    }
    let age = (now - record.at).num_seconds();
    let lifetime: Map<String, Value> = LIFETIME
        .iter()
        .map(|m| ((*m).to_owned(), json!(running(&record, m, age))))
        .collect();
    json_response(
        StatusCode::OK,
        json!({ "all": {
            "daily_metrics": days,
            "summary_metrics": summary,
            "lifetime_metrics": lifetime,
        }}),
    )
}

fn dates(params: &Params, today: NaiveDate) -> Result<(NaiveDate, NaiveDate), Response> {
    let date = |name: &str| -> Result<NaiveDate, Response> {
        let raw = params
            .get(name)
            .ok_or_else(|| invalid(&format!("{name} is required (YYYY-MM-DD).")))?;
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
            invalid(&format!(
                "{name} must be a date written YYYY-MM-DD, not {raw:?}."
            ))
        })
    };
    let (start, end) = (date("start_date")?, date("end_date")?);
    if end < start {
        return Err(invalid("end_date must not be before start_date."));
    }
    let earliest = today.checked_sub_days(Days::new(MAX_DAYS)).unwrap_or(today);
    if start < earliest {
        return Err(invalid(
            "start_date cannot be more than 90 days back from today.",
        ));
    }
    if start
        .checked_add_days(Days::new(MAX_DAYS))
        .is_some_and(|last| end > last)
    {
        return Err(invalid(
            "end_date cannot be more than 90 days past start_date.",
        ));
    }
    if end > today {
        return Err(invalid("end_date cannot be in the future."));
    }
    Ok((start, end))
}

fn metric_types(params: &Params) -> Result<Vec<&'static str>, Response> {
    let raw = params
        .get("metric_types")
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| invalid("metric_types is required."))?;
    let mut out = Vec::new();
    for name in raw.split(',').map(str::trim) {
        let known = STANDARD.iter().chain(VIDEO).find(|m| **m == name);
        match known {
            Some(m) if !out.contains(m) => out.push(*m),
            Some(_) => {}
            None => {
                return Err(invalid(&format!(
                    "{name:?} is not a pin metric type; use {}.",
                    STANDARD
                        .iter()
                        .chain(VIDEO)
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
    }
    Ok(out)
}

/// The pin's running total of `metric` at `age_secs`.
fn running(r: &PublishedRecord, metric: &str, age_secs: i64) -> u64 {
    let id = r.remote_id.as_str();
    let impressions = personas::derived_count(&["pinterest", "impressions", id], 300..9000) as f64;
    let per_mille = |range: std::ops::Range<u64>| {
        personas::derived_count(&["pinterest", metric, id], range) as f64
    };
    let rate = match metric {
        "IMPRESSION" => 1000.0,
        "SAVE" => per_mille(10..40),
        "PIN_CLICK" => per_mille(20..60),
        "OUTBOUND_CLICK" => per_mille(5..20),
        "TOTAL_COMMENTS" => per_mille(1..4),
        "TOTAL_REACTIONS" => per_mille(5..15),
        "USER_FOLLOW" => per_mille(1..3),
        "PROFILE_VISIT" => per_mille(5..15),
        "VIDEO_START" => per_mille(300..600),
        "VIDEO_MRC_VIEW" => per_mille(200..400),
        "VIDEO_10S_VIEW" => per_mille(100..200),
        "QUARTILE_95_PERCENT_VIEW" => per_mille(40..100),
        // Milliseconds in total.
        "VIDEO_V50_WATCH_TIME" => per_mille(2_000_000..4_000_000),
        _ => 0.0,
    };
    personas::grown(impressions * rate / 1000.0, age_secs, GROWTH_SECS)
}

/// How long today's numbers of a new pin stay `PROCESSING` before Pinterest gives an estimate.
pub(crate) const ESTIMATE_AFTER_SECS: i64 = 180;

/// One day's record: its status and each metric's growth within the day.
fn day_metrics(
    r: &PublishedRecord,
    date: NaiveDate,
    now: DateTime<Utc>,
    names: &[&str],
) -> (&'static str, Map<String, Value>) {
    let day_start = date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let day_end = day_start + chrono::Duration::days(1);
    if day_end <= r.at {
        return ("BEFORE_PIN_CREATED", Map::new());
    }
    let status = if now >= day_end {
        "READY"
    } else if (now - r.at).num_seconds() >= ESTIMATE_AFTER_SECS {
        "ESTIMATE"
    } else {
        "PROCESSING"
    };
    let from = (day_start.max(r.at) - r.at).num_seconds();
    let to = (day_end.min(now) - r.at).num_seconds();
    let grew = |m: &str| running(r, m, to).saturating_sub(running(r, m, from));
    let mut out = Map::new();
    for name in names {
        let v = match *name {
            "SAVE_RATE" => {
                let shown = grew("IMPRESSION");
                json!(if shown == 0 {
                    0.0
                } else {
                    grew("SAVE") as f64 / shown as f64
                })
            }
            "VIDEO_AVG_WATCH_TIME" => {
                let views = grew("VIDEO_MRC_VIEW");
                json!(if views == 0 {
                    0.0
                } else {
                    grew("VIDEO_V50_WATCH_TIME") as f64 / views as f64
                })
            }
            other => json!(grew(other)),
        };
        out.insert((*name).to_owned(), v);
    }
    (status, out)
}

/// Sums of the daily counts, for `summary_metrics`.
#[derive(Default)]
struct Totals {
    sums: std::collections::HashMap<String, f64>,
    days: u32,
}

impl Totals {
    fn add(&mut self, day: &Map<String, Value>) {
        self.days += 1;
        for (k, v) in day {
            *self.sums.entry(k.clone()).or_default() += v.as_f64().unwrap_or(0.0);
        }
    }

    fn get(&self, name: &str) -> Value {
        let v = self.sums.get(name).copied().unwrap_or(0.0);
        if name == "VIDEO_AVG_WATCH_TIME" {
            // An average of the days, not a sum.
            json!(v / f64::from(self.days.max(1)))
        } else {
            json!(v as u64)
        }
    }

    fn save_rate(&self) -> f64 {
        let shown = self.sums.get("IMPRESSION").copied().unwrap_or(0.0);
        let saves = self.sums.get("SAVE").copied().unwrap_or(0.0);
        if shown == 0.0 { 0.0 } else { saves / shown }
    }
}
