//! Settings → Webhooks: a user's endpoints (add, switch off and on, delete), the signing secret
//! shown once, "Send test", and each endpoint's delivery log. Sending lives in
//! [`crate::webhooks`].

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use sea_orm::TransactionTrait as _;
use secrecy::ExposeSecret as _;
use serde_json::json;
use tower_sessions::Session;
use uuid::Uuid;

use crate::entities::users;
use crate::error::AppError;
use crate::security::audit::{self, Action};
use crate::state::AppState;
use crate::web::connections::format_time;
use crate::web::form::FormData;
use crate::web::render;
use crate::web::session::{self, ClientIp, CurrentUser, FlashKind, PageContext};
use crate::webhooks::{Endpoint, EventType};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings/webhooks", get(index).post(create))
        .route("/settings/webhooks/{id}", get(show))
        .route("/settings/webhooks/{id}/test", post(send_test))
        .route("/settings/webhooks/{id}/enable", post(enable))
        .route("/settings/webhooks/{id}/disable", post(disable))
        .route("/settings/webhooks/{id}/delete", post(delete))
}

struct EndpointRow {
    id: Uuid,
    url: String,
    events: String,
    enabled: bool,
    created: String,
}

impl EndpointRow {
    fn of(e: &Endpoint, tz: &str) -> Self {
        Self {
            id: e.id,
            url: e.url.clone(),
            events: e.events.join(", "),
            enabled: e.enabled,
            created: format_time(e.created_at, tz),
        }
    }
}

struct EventChoice {
    name: &'static str,
    describe: &'static str,
    checked: bool,
}

#[derive(Template)]
#[template(path = "settings/webhooks.html")]
struct WebhooksPage {
    ctx: PageContext,
    endpoints: Vec<EndpointRow>,
    url: String,
    url_error: Option<String>,
    events: Vec<EventChoice>,
    events_error: Option<String>,
    /// The endpoint just created and its secret: shown this once, stored only encrypted.
    created: Option<(Uuid, String)>,
}

impl WebhooksPage {
    async fn load(
        state: &AppState,
        ctx: PageContext,
        user: &users::Model,
    ) -> Result<Self, AppError> {
        let endpoints = state
            .webhooks
            .endpoints_of(user.id)
            .await?
            .iter()
            .map(|e| EndpointRow::of(e, &user.time_zone))
            .collect();
        Ok(Self {
            ctx: ctx.at("settings"),
            endpoints,
            url: String::new(),
            url_error: None,
            events: choices(&EventType::ALL),
            events_error: None,
            created: None,
        })
    }
}

fn choices(checked: &[EventType]) -> Vec<EventChoice> {
    EventType::ALL
        .into_iter()
        .map(|e| EventChoice {
            name: e.as_str(),
            describe: e.describe(),
            checked: checked.contains(&e),
        })
        .collect()
}

struct LogRow {
    event: String,
    at: String,
    attempt: i32,
    outcome: String,
    ok: bool,
    duration_ms: i32,
    next: Option<String>,
    gave_up: bool,
}

#[derive(Template)]
#[template(path = "settings/webhook.html")]
struct EndpointPage {
    ctx: PageContext,
    endpoint: EndpointRow,
    log: Vec<LogRow>,
}

async fn index(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
) -> Result<Response, AppError> {
    render::page(&WebhooksPage::load(&state, ctx, &user).await?)
}

async fn create(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    body: Bytes,
) -> Result<Response, AppError> {
    let data = FormData::parse(&body);
    let typed_url = data.str("url").chars().take(2000).collect::<String>();
    let chosen: Vec<EventType> = data
        .all("events")
        .into_iter()
        .filter_map(EventType::parse)
        .collect();
    let url = match state.webhooks.parse_url(&typed_url) {
        Ok(url) if !chosen.is_empty() => url,
        checked => {
            let mut page = WebhooksPage::load(&state, ctx, &user).await?;
            page.url = typed_url;
            page.url_error = checked.err();
            page.events = choices(&chosen);
            if chosen.is_empty() {
                page.events_error = Some("Choose at least one event to send.".into());
            }
            return render::page_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let txn = state.db.begin().await?;
    let (endpoint, secret) = state.webhooks.create(&txn, user.id, &url, &chosen).await?;
    audit::record(
        &txn,
        audit::Event::new(Action::WebhookCreated)
            .actor(user.id)
            .ip(ip)
            .subject(&endpoint.id.to_string())
            .details(json!({ "url": endpoint.url, "events": endpoint.events })),
    )
    .await?;
    txn.commit().await?;
    // Rendered rather than redirected: the secret is shown once and never stored in the clear.
    let mut page = WebhooksPage::load(&state, ctx, &user).await?;
    page.created = Some((endpoint.id, secret.expose_secret().to_owned()));
    render::page_with_status(StatusCode::CREATED, &page)
}

/// The user's endpoint `id`; another user's is not found.
async fn owned(state: &AppState, user: &users::Model, id: &str) -> Result<Endpoint, AppError> {
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    state
        .webhooks
        .endpoint_of(user.id, id)
        .await?
        .ok_or(AppError::NotFound)
}

async fn show(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let endpoint = owned(&state, &user, &id).await?;
    let tz = &user.time_zone;
    let log = state
        .webhooks
        .log_of(endpoint.id)
        .await?
        .into_iter()
        .map(|a| LogRow {
            event: a.event_type,
            at: format_time(a.attempted_at, tz),
            attempt: a.attempt,
            ok: a.error.is_none(),
            outcome: match (a.status_code, a.error) {
                (Some(code), _) => code.to_string(),
                (None, Some(e)) => e,
                (None, None) => String::new(),
            },
            duration_ms: a.duration_ms,
            next: a.next_attempt_at.map(|n| format_time(n, tz)),
            gave_up: a.gave_up,
        })
        .collect();
    render::page(&EndpointPage {
        ctx: ctx.at("settings"),
        endpoint: EndpointRow::of(&endpoint, tz),
        log,
    })
}

async fn send_test(
    State(state): State<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let endpoint = owned(&state, &user, &id).await?;
    let result = state.webhooks.send_test(&endpoint).await?;
    let (kind, message) = match (result.delivered, result.status_code, result.error) {
        (true, Some(code), _) => (
            FlashKind::Success,
            format!("The test event was delivered; your endpoint answered {code}."),
        ),
        (_, _, Some(e)) => (
            FlashKind::Error,
            format!("The test event wasn't delivered: {e}"),
        ),
        _ => (
            FlashKind::Error,
            "The test event wasn't delivered.".to_owned(),
        ),
    };
    session::flash(&session, kind, message).await?;
    Ok(Redirect::to(&format!("/settings/webhooks/{}", endpoint.id)).into_response())
}

async fn set_enabled(
    state: AppState,
    session: Session,
    ip: std::net::IpAddr,
    user: users::Model,
    id: String,
    enabled: bool,
) -> Result<Response, AppError> {
    let endpoint = owned(&state, &user, &id).await?;
    let txn = state.db.begin().await?;
    state.webhooks.set_enabled(&txn, &endpoint, enabled).await?;
    let action = if enabled {
        Action::WebhookEnabled
    } else {
        Action::WebhookDisabled
    };
    audit::record(
        &txn,
        audit::Event::new(action)
            .actor(user.id)
            .ip(ip)
            .subject(&endpoint.id.to_string())
            .details(json!({ "url": endpoint.url })),
    )
    .await?;
    txn.commit().await?;
    let message = if enabled {
        format!("Events go to {} again.", endpoint.url)
    } else {
        format!(
            "No more events go to {}; what was waiting was dropped.",
            endpoint.url
        )
    };
    session::flash(&session, FlashKind::Success, message).await?;
    Ok(Redirect::to(&format!("/settings/webhooks/{}", endpoint.id)).into_response())
}

async fn enable(
    State(state): State<AppState>,
    session: Session,
    ClientIp(ip): ClientIp,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    set_enabled(state, session, ip, user, id, true).await
}

async fn disable(
    State(state): State<AppState>,
    session: Session,
    ClientIp(ip): ClientIp,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    set_enabled(state, session, ip, user, id, false).await
}

async fn delete(
    State(state): State<AppState>,
    session: Session,
    ClientIp(ip): ClientIp,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let endpoint = owned(&state, &user, &id).await?;
    let txn = state.db.begin().await?;
    state.webhooks.delete(&txn, &endpoint).await?;
    audit::record(
        &txn,
        audit::Event::new(Action::WebhookDeleted)
            .actor(user.id)
            .ip(ip)
            .subject(&endpoint.id.to_string())
            .details(json!({ "url": endpoint.url })),
    )
    .await?;
    txn.commit().await?;
    session::flash(
        &session,
        FlashKind::Success,
        format!("The webhook to {} is deleted.", endpoint.url),
    )
    .await?;
    Ok(Redirect::to("/settings/webhooks").into_response())
}
