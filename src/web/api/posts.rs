//! `/api/v1/posts`: the post and schedule operations of the composer, for scripts. The same
//! checks as the forms (`posts::check`); problems come back as 422 with each field named, e.g.
//! `targets[1].options.board_id`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{ApiJson, ApiUser};
use crate::domain::calendar::start_of_day;
use crate::domain::{Platform, ScheduleAt, TargetOptions, TimeZone};
use crate::entities::post_metrics;
use crate::error::AppError;
use crate::posts::queries::{self, Filter, PostSummary};
use crate::posts::{self, Draft, PostError, Problems, TargetInput, When};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetRequest {
    /// One of your connections (`GET /api/v1/connections`).
    pub connection_id: Uuid,
    /// Text for this account only; the post's `body` when absent.
    pub body: Option<String>,
    /// Per-network options, e.g. `{"board_id": "123"}` for Pinterest, `{"privacy_level": "SELF_ONLY"}` for TikTok.
    #[schema(value_type = Object)]
    pub options: Option<Value>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePost {
    #[serde(default)]
    pub body: String,
    /// Your media, in the order they should appear.
    #[serde(default)]
    pub media_ids: Vec<Uuid>,
    #[serde(default)]
    pub targets: Vec<TargetRequest>,
    /// When to publish (RFC 3339). `null` or absent saves a draft, unless `publish_now`.
    pub scheduled_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub publish_now: bool,
    /// The product the post is about (`GET /api/v1/products`).
    pub product_id: Option<Uuid>,
    /// Add `utm_source`/`utm_medium`/`utm_campaign` to the product's links when publishing.
    #[serde(default = "yes")]
    #[schema(default = true)]
    pub utm_enabled: bool,
}

fn yes() -> bool {
    true
}

/// Fields present replace the post's; absent ones stay. `scheduled_at: null` makes it a draft.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchPost {
    pub body: Option<String>,
    pub media_ids: Option<Vec<Uuid>>,
    pub targets: Option<Vec<TargetRequest>>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub scheduled_at: Option<Option<DateTime<Utc>>>,
    #[serde(default)]
    pub publish_now: bool,
    /// `null` detaches the post from its product.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub product_id: Option<Option<Uuid>>,
    pub utm_enabled: Option<bool>,
}

/// Tells "absent" (`None`) from "null" (`Some(None)`).
mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

#[derive(Serialize, ToSchema)]
pub struct TargetJson {
    pub id: Uuid,
    pub connection_id: Uuid,
    pub platform: String,
    pub account: String,
    pub status: String,
    pub attempts: i32,
    pub remote_id: Option<String>,
    pub remote_url: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Warning {
    pub target: Uuid,
    pub field: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct PostJson {
    pub id: Uuid,
    pub body: String,
    pub status: String,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub media_ids: Vec<Uuid>,
    /// The product the post was made from, if any.
    pub product_id: Option<Uuid>,
    /// Whether the product's links get UTM parameters when published.
    pub utm_enabled: bool,
    pub targets: Vec<TargetJson>,
    /// Things worth knowing that don't stop the post (e.g. a photo that will be converted to JPEG).
    pub warnings: Vec<Warning>,
}

#[derive(Serialize, ToSchema)]
pub struct PostList {
    pub posts: Vec<PostJson>,
    /// The next page number, when there is one.
    pub next_page: Option<u64>,
}

fn json_of(p: PostSummary, media_ids: Vec<Uuid>, warnings: Vec<Warning>) -> PostJson {
    PostJson {
        id: p.id,
        body: p.body,
        status: p.status,
        scheduled_at: p.scheduled_at,
        created_at: p.created_at,
        media_ids,
        product_id: p.product_id,
        utm_enabled: p.utm_enabled,
        targets: p
            .targets
            .into_iter()
            .map(|t| TargetJson {
                id: t.id,
                connection_id: t.connection_id,
                platform: t.platform.as_str().to_owned(),
                account: t.account,
                status: t.status,
                attempts: t.attempt_count,
                remote_id: t.remote_id,
                remote_url: t.remote_url,
                published_at: t.published_at,
                last_error: t.last_error,
            })
            .collect(),
        warnings,
    }
}

async fn full(
    state: &AppState,
    user_id: Uuid,
    id: Uuid,
    warnings: Vec<Warning>,
) -> Result<PostJson, AppError> {
    let summary = queries::one(&state.db, user_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let draft = posts::load_draft(&state.db, user_id, id)
        .await
        .map_err(post_error)?;
    Ok(json_of(summary, draft.media_ids, warnings))
}

fn post_error(e: PostError) -> AppError {
    match e {
        PostError::Invalid(p) => AppError::Validation(p.fields),
        PostError::Locked(why) => AppError::Conflict(why),
        PostError::NotFound => AppError::NotFound,
        PostError::Db(e) => e.into(),
    }
}

/// Renames `targets.{connection}.x` to `targets[{index}].x`, as the request named them.
fn name_fields(problems: Problems, targets: &[Uuid]) -> AppError {
    let fields: BTreeMap<String, String> = problems
        .fields
        .into_iter()
        .map(|(k, v)| {
            let renamed = k
                .strip_prefix("targets.")
                .and_then(|rest| {
                    let (cid, field) = rest.split_once('.')?;
                    let index = targets.iter().position(|t| t.to_string() == cid)?;
                    Some(format!("targets[{index}].{field}"))
                })
                .unwrap_or(k);
            (renamed, v)
        })
        .collect();
    AppError::Validation(fields)
}

/// Reads the request's targets into the domain's, naming problems by position.
async fn targets_of(
    state: &AppState,
    user_id: Uuid,
    requested: &[TargetRequest],
    problems: &mut Problems,
) -> Result<Vec<TargetInput>, AppError> {
    let connections = posts::postable_connections(&state.db, user_id).await?;
    let mut out = Vec::new();
    for (i, t) in requested.iter().enumerate() {
        let Some(c) = connections.iter().find(|c| c.id == t.connection_id) else {
            problems.add(format!("targets[{i}].connection_id"), "No connected account of yours has this id. List them with GET /api/v1/connections.");
            continue;
        };
        let Ok(platform) = c.platform.parse::<Platform>() else {
            continue;
        };
        let options =
            match TargetOptions::from_json(platform, t.options.as_ref().unwrap_or(&Value::Null)) {
                Ok(o) => o,
                Err(errors) => {
                    for e in errors {
                        problems.add(format!("targets[{i}].{}", e.field), e.message);
                    }
                    continue;
                }
            };
        out.push(TargetInput {
            connection_id: c.id,
            caption: t.body.clone(),
            options,
        });
    }
    Ok(out)
}

fn when_of(
    scheduled_at: Option<DateTime<Utc>>,
    publish_now: bool,
    zone: TimeZone,
    problems: &mut Problems,
) -> When {
    if publish_now {
        if scheduled_at.is_some() {
            problems.add(
                "scheduled_at",
                "Send either scheduled_at or publish_now, not both.",
            );
        }
        return When::Now;
    }
    match scheduled_at {
        None => When::Draft(None),
        Some(at) => match ScheduleAt::at(at, zone, Utc::now()) {
            Ok(s) => When::At(s.instant()),
            Err(e) => {
                problems.add("scheduled_at", e.to_string());
                When::Draft(None)
            }
        },
    }
}

fn warnings_of(checked: &posts::Checked) -> Vec<Warning> {
    checked
        .targets
        .iter()
        .flat_map(|t| {
            t.issues.iter().filter(|i| !i.is_error()).map(|i| Warning {
                target: t.connection.id,
                field: i.field.to_owned(),
                message: i.message.clone(),
            })
        })
        .collect()
}

#[utoipa::path(post, path = "/api/v1/posts", tag = "posts", request_body = CreatePost,
    responses((status = 201, body = PostJson), (status = 422, description = "Problems, by field"), (status = 401)),
    security(("token" = [])))]
pub async fn create(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(req): ApiJson<CreatePost>,
) -> Result<Response, AppError> {
    let zone = TimeZone::parse_or_utc(&user.time_zone);
    let mut problems = Problems::default();
    let targets = targets_of(&state, user.id, &req.targets, &mut problems).await?;
    let when = when_of(req.scheduled_at, req.publish_now, zone, &mut problems);
    if !problems.is_empty() {
        return Err(AppError::Validation(problems.fields));
    }
    let ids: Vec<Uuid> = targets.iter().map(|t| t.connection_id).collect();
    let draft = Draft {
        body: req.body,
        media_ids: req.media_ids,
        targets,
        when,
        product_id: req.product_id,
        template_id: None,
        utm_enabled: req.utm_enabled,
    };
    let (post, mut checked) = match posts::create(&state.db, user.id, &draft, Utc::now()).await {
        Ok(ok) => ok,
        Err(PostError::Invalid(p)) => return Err(name_fields(p, &ids)),
        Err(e) => return Err(post_error(e)),
    };
    posts::add_environment_warnings(&state.config, &mut checked);
    let json = full(&state, user.id, post.id, warnings_of(&checked)).await?;
    Ok((StatusCode::CREATED, Json(json)).into_response())
}

#[derive(Deserialize, IntoParams)]
pub struct ListParams {
    /// draft, scheduled, publishing, published, partial, failed, unknown or cancelled.
    pub status: Option<String>,
    /// Scheduled on or after this day (YYYY-MM-DD, your time zone) or instant (RFC 3339).
    pub from: Option<String>,
    /// Scheduled before the end of this day (YYYY-MM-DD) or before this instant (RFC 3339).
    pub to: Option<String>,
    pub platform: Option<String>,
    pub q: Option<String>,
    pub page: Option<u64>,
}

fn instant(raw: &str, zone: TimeZone, end_of_day: bool) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    let d = NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()?;
    Some(start_of_day(
        if end_of_day { d.succ_opt()? } else { d },
        zone,
    ))
}

#[utoipa::path(get, path = "/api/v1/posts", tag = "posts", params(ListParams),
    responses((status = 200, body = PostList), (status = 422)), security(("token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(p): Query<ListParams>,
) -> Result<Json<PostList>, AppError> {
    let zone = TimeZone::parse_or_utc(&user.time_zone);
    let mut fields = BTreeMap::new();
    const STATUSES: [&str; 8] = [
        "draft",
        "scheduled",
        "publishing",
        "published",
        "partial",
        "failed",
        "unknown",
        "cancelled",
    ];
    if let Some(s) = &p.status
        && !STATUSES.contains(&s.as_str())
    {
        fields.insert(
            "status".into(),
            format!("Use one of: {}.", STATUSES.join(", ")),
        );
    }
    let from = p.from.as_deref().map(|f| instant(f, zone, false));
    let to = p.to.as_deref().map(|t| instant(t, zone, true));
    if from == Some(None) {
        fields.insert(
            "from".into(),
            "Use a date (2026-12-01) or an RFC 3339 time.".into(),
        );
    }
    if to == Some(None) {
        fields.insert(
            "to".into(),
            "Use a date (2026-12-31) or an RFC 3339 time.".into(),
        );
    }
    let platform = match p.platform.as_deref() {
        None => None,
        Some(raw) => match raw.parse::<Platform>() {
            Ok(pl) => Some(pl),
            Err(_) => {
                fields.insert(
                    "platform".into(),
                    "Use a network name such as x, instagram or pinterest.".into(),
                );
                None
            }
        },
    };
    if !fields.is_empty() {
        return Err(AppError::Validation(fields));
    }
    let filter = Filter {
        status: p.status,
        platform,
        connection_id: None,
        from: from.flatten(),
        to: to.flatten(),
        text: p.q,
    };
    let page = p.page.unwrap_or(1).clamp(1, 100_000);
    let (rows, more) = queries::list(&state.db, user.id, &filter, page).await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let media = crate::entities::post_media::Entity::find()
        .filter(crate::entities::post_media::Column::PostId.is_in(ids))
        .order_by_asc(crate::entities::post_media::Column::Position)
        .all(&state.db)
        .await?;
    let posts = rows
        .into_iter()
        .map(|r| {
            let media_ids = media
                .iter()
                .filter(|m| m.post_id == r.id)
                .map(|m| m.media_id)
                .collect();
            json_of(r, media_ids, Vec::new())
        })
        .collect();
    Ok(Json(PostList {
        posts,
        next_page: more.then_some(page + 1),
    }))
}

fn parse_id(raw: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(raw).map_err(|_| AppError::NotFound)
}

#[utoipa::path(get, path = "/api/v1/posts/{id}", tag = "posts", params(("id" = Uuid, Path)),
    responses((status = 200, body = PostJson), (status = 404)), security(("token" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<PostJson>, AppError> {
    Ok(Json(
        full(&state, user.id, parse_id(&id)?, Vec::new()).await?,
    ))
}

#[utoipa::path(patch, path = "/api/v1/posts/{id}", tag = "posts", params(("id" = Uuid, Path)), request_body = PatchPost,
    responses((status = 200, body = PostJson), (status = 409, description = "Already publishing or published"), (status = 422)),
    security(("token" = [])))]
pub async fn patch(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<PatchPost>,
) -> Result<Json<PostJson>, AppError> {
    let id = parse_id(&id)?;
    let zone = TimeZone::parse_or_utc(&user.time_zone);
    let mut draft = posts::load_draft(&state.db, user.id, id)
        .await
        .map_err(post_error)?;
    let mut problems = Problems::default();
    if let Some(body) = req.body {
        draft.body = body;
    }
    if let Some(media) = req.media_ids {
        draft.media_ids = media;
    }
    if let Some(product) = req.product_id {
        draft.product_id = product;
    }
    if let Some(utm) = req.utm_enabled {
        draft.utm_enabled = utm;
    }
    if let Some(targets) = &req.targets {
        draft.targets = targets_of(&state, user.id, targets, &mut problems).await?;
    }
    draft.when = match (req.scheduled_at, req.publish_now) {
        (None, false) => match draft.when {
            // An unchanged time that has passed meanwhile is checked like a new one.
            When::At(t) => when_of(Some(t), false, zone, &mut problems),
            other => other,
        },
        (at, now) => when_of(at.flatten(), now, zone, &mut problems),
    };
    if !problems.is_empty() {
        return Err(AppError::Validation(problems.fields));
    }
    let ids: Vec<Uuid> = draft.targets.iter().map(|t| t.connection_id).collect();
    let mut checked = match posts::update(&state.db, user.id, id, &draft, Utc::now()).await {
        Ok((_, checked)) => checked,
        Err(PostError::Invalid(p)) => return Err(name_fields(p, &ids)),
        Err(e) => return Err(post_error(e)),
    };
    posts::add_environment_warnings(&state.config, &mut checked);
    Ok(Json(
        full(&state, user.id, id, warnings_of(&checked)).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/posts/{id}", tag = "posts", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404), (status = 409)), security(("token" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    posts::delete(&state.db, user.id, parse_id(&id)?)
        .await
        .map_err(post_error)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct MetricSnapshot {
    pub target_id: Uuid,
    pub platform: String,
    pub captured_at: DateTime<Utc>,
    pub likes: Option<i64>,
    pub reposts: Option<i64>,
    pub replies: Option<i64>,
    pub quotes: Option<i64>,
    pub impressions: Option<i64>,
    pub saves: Option<i64>,
    pub clicks: Option<i64>,
    pub views: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct MetricsJson {
    pub post_id: Uuid,
    /// Snapshots per network, oldest first. Empty until engagement has been collected.
    pub snapshots: Vec<MetricSnapshot>,
}

#[utoipa::path(get, path = "/api/v1/posts/{id}/metrics", tag = "posts", params(("id" = Uuid, Path)),
    responses((status = 200, body = MetricsJson), (status = 404)), security(("token" = [])))]
pub async fn metrics(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<MetricsJson>, AppError> {
    let id = parse_id(&id)?;
    let post = queries::one(&state.db, user.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let target_ids: Vec<Uuid> = post.targets.iter().map(|t| t.id).collect();
    let rows = post_metrics::Entity::find()
        .filter(post_metrics::Column::TargetId.is_in(target_ids))
        .order_by_asc(post_metrics::Column::CapturedAt)
        .all(&state.db)
        .await?;
    let platform_of = |t: Uuid| {
        post.targets
            .iter()
            .find(|x| x.id == t)
            .map(|x| x.platform.as_str().to_owned())
            .unwrap_or_default()
    };
    Ok(Json(MetricsJson {
        post_id: id,
        snapshots: rows
            .into_iter()
            .map(|m| MetricSnapshot {
                platform: platform_of(m.target_id),
                target_id: m.target_id,
                captured_at: m.captured_at,
                likes: m.likes,
                reposts: m.reposts,
                replies: m.replies,
                quotes: m.quotes,
                impressions: m.impressions,
                saves: m.saves,
                clicks: m.clicks,
                views: m.views,
            })
            .collect(),
    }))
}
