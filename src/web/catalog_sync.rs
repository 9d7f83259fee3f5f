//! A shop's catalog sync as the seller sees it: "Sync now", and the progress fragment shown on
//! the shop's connection card and atop the products page. While a sync is going, the fragment
//! asks for itself again every second (htmx); without JavaScript a reload shows the same.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use serde::Deserialize;
use tower_sessions::Session;
use uuid::Uuid;

use crate::domain::Platform;
use crate::domain::words::thousands;
use crate::entities::catalog_syncs;
use crate::entities::connections::Model as Connection;
use crate::entities::enums::{ConnectionKind, SyncMode, SyncStatus, SyncTrigger};
use crate::error::AppError;
use crate::products::sync::{self, RequestError, Requested};
use crate::state::AppState;
use crate::web::connections::format_time;
use crate::web::render;
use crate::web::session::{CurrentUser, FlashKind, PageContext};

pub fn router() -> Router<AppState> {
    Router::new().route("/connections/{id}/sync", get(show).post(sync_now))
}

/// Queues a sync of `connection` and its job; returns the sync (or the one already going).
/// A job that can't be queued now is queued by the worker's tick a few seconds later.
pub async fn start(
    state: &AppState,
    connection: &Connection,
    trigger: SyncTrigger,
) -> Result<Requested, RequestError> {
    let requested = sync::request(&state.db, &state.config, connection, trigger).await?;
    if requested.started
        && let Err(e) = state.sync_queue.push(requested.sync.id).await
    {
        tracing::warn!(sync = %requested.sync.id, error = %e, "couldn't queue the sync job; the worker's tick will");
    }
    Ok(requested)
}

/// Starts the first sync of a shop just connected (or reconnected); social accounts are left
/// alone. Never fails the connection: a sync that can't start now is started by the schedule.
pub async fn after_connect(state: &AppState, connection: &Connection) {
    if connection.kind != ConnectionKind::Commerce {
        return;
    }
    if let Err(e) = start(state, connection, SyncTrigger::Connect).await {
        tracing::warn!(connection = %connection.id, error = %e, "couldn't start the first catalog sync");
    }
}

/// How a shop's sync is going, in words, for the card and the products page.
#[derive(Clone, Debug)]
pub struct SyncView {
    pub connection_id: Uuid,
    pub shop: String,
    pub platform: Platform,
    /// Queued or running: the fragment keeps asking for itself.
    pub active: bool,
    /// `queued`, `running`, `succeeded`, `failed` or `never`.
    pub state: &'static str,
    pub headline: String,
    /// 0–100 when the total is known.
    pub percent: Option<u32>,
    /// What the last sync changed, or what the running one has done so far.
    pub detail: Option<String>,
    /// Why it is waiting (throttled, retrying).
    pub note: Option<String>,
    pub error: Option<String>,
    pub last_synced: Option<String>,
    /// Whether "Sync now" is offered (the shop is usable and nothing is going).
    pub can_sync: bool,
}

impl SyncView {
    pub fn new(
        connection: &Connection,
        latest: Option<&catalog_syncs::Model>,
        last_success: Option<DateTime<Utc>>,
        tz: &str,
    ) -> SyncView {
        let platform = connection.platform.parse().unwrap_or(Platform::Shopify);
        let usable = matches!(
            connection.status,
            crate::entities::enums::ConnectionStatus::Active
                | crate::entities::enums::ConnectionStatus::Error
        );
        let mut view = SyncView {
            connection_id: connection.id,
            shop: connection.display_name.clone(),
            platform,
            active: false,
            state: "never",
            headline: "Not synced yet".into(),
            percent: None,
            detail: None,
            note: None,
            error: None,
            last_synced: last_success.map(|t| format_time(t, tz)),
            can_sync: usable,
        };
        let Some(s) = latest else {
            return view;
        };
        let done = s.processed.max(0) as u64;
        match s.status {
            SyncStatus::Queued => {
                view.active = true;
                view.state = "queued";
                view.headline = if s.pages > 0 {
                    format!("Sync paused at {} products; resuming…", thousands(done))
                } else {
                    "Waiting for the worker to start the sync…".into()
                };
            }
            SyncStatus::Running => {
                view.active = true;
                view.state = "running";
                match s.total.filter(|t| *t > 0) {
                    Some(total) => {
                        let total = total as u64;
                        view.headline = format!(
                            "Syncing {} / {}",
                            thousands(done.min(total)),
                            thousands(total)
                        );
                        view.percent = Some(((done.min(total) * 100) / total) as u32);
                    }
                    None if s.pages == 0 => view.headline = "Starting the sync…".into(),
                    None => view.headline = format!("Syncing… {} products so far", thousands(done)),
                }
                view.note = s.note.clone();
            }
            SyncStatus::Succeeded => {
                view.state = "succeeded";
                view.headline = match s.mode {
                    SyncMode::Full => format!("Synced {} products", thousands(done)),
                    SyncMode::Changes => "Up to date".into(),
                };
                view.detail = Some(changes(s));
            }
            SyncStatus::Failed => {
                view.state = "failed";
                view.headline = "The last sync failed".into();
                view.error = s.error.clone();
                if s.processed > 0 {
                    view.detail = Some(format!(
                        "{} products were read before it stopped; they are kept.",
                        thousands(done)
                    ));
                }
            }
        }
        view.can_sync = usable && !view.active;
        view
    }
}

/// "12 new, 3 changed, 1 removed" (or "No changes").
fn changes(s: &catalog_syncs::Model) -> String {
    let mut parts = Vec::new();
    for (n, what) in [
        (s.created, "new"),
        (s.updated, "changed"),
        (s.removed, "removed"),
        (s.skipped, "unreadable, skipped"),
    ] {
        if n > 0 {
            parts.push(format!("{} {what}", thousands(n as u64)));
        }
    }
    if parts.is_empty() {
        "No changes".into()
    } else {
        parts.join(", ")
    }
}

/// The sync views of the given shops, by connection id.
pub async fn views_of(
    db: &impl ConnectionTrait,
    shops: &[&Connection],
    tz: &str,
) -> Result<HashMap<Uuid, SyncView>, sea_orm::DbErr> {
    let ids: Vec<Uuid> = shops.iter().map(|c| c.id).collect();
    let latest: HashMap<Uuid, sync::Latest> = sync::latest_of(db, &ids)
        .await?
        .into_iter()
        .map(|l| (l.sync.connection_id, l))
        .collect();
    Ok(shops
        .iter()
        .map(|c| {
            let l = latest.get(&c.id);
            let view = SyncView::new(c, l.map(|l| &l.sync), l.and_then(|l| l.last_success), tz);
            (c.id, view)
        })
        .collect())
}

#[derive(Template)]
#[template(path = "catalog/_sync.html")]
pub struct SyncFragment {
    pub sync: SyncView,
    pub csrf_token: String,
    /// Where "Sync now" returns without JavaScript.
    pub back: &'static str,
}

async fn owned_shop(state: &AppState, user_id: Uuid, id: &str) -> Result<Connection, AppError> {
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    state
        .connections
        .find_for_user(user_id, id)
        .await?
        .filter(|c| c.kind == ConnectionKind::Commerce)
        .ok_or(AppError::NotFound)
}

async fn fragment(
    state: &AppState,
    connection: &Connection,
    tz: &str,
    csrf_token: String,
    back: &'static str,
) -> Result<Response, AppError> {
    let mut views = views_of(&state.db, &[connection], tz).await?;
    let sync = views
        .remove(&connection.id)
        .expect("a view for every shop asked for");
    render::page(&SyncFragment {
        sync,
        csrf_token,
        back,
    })
}

/// `GET /connections/{id}/sync`: the progress fragment (htmx polls it); a browser without
/// JavaScript lands on the connections page instead.
async fn show(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let connection = owned_shop(&state, user.id, &id).await?;
    if !headers.contains_key("hx-request") {
        return Ok(Redirect::to("/connections").into_response());
    }
    let back = back_of(&headers);
    fragment(
        &state,
        &connection,
        &user.time_zone,
        ctx.csrf_token.clone(),
        back,
    )
    .await
}

#[derive(Deserialize)]
pub struct SyncForm {
    #[serde(default)]
    back: String,
}

/// Where to return: the products page or the connections page, never anywhere else.
fn back_to(raw: &str) -> &'static str {
    if raw == "/products" {
        "/products"
    } else {
        "/connections"
    }
}

fn back_of(headers: &HeaderMap) -> &'static str {
    let from_products = headers
        .get("hx-current-url")
        .and_then(|v| v.to_str().ok())
        .and_then(|u| url::Url::parse(u).ok())
        .is_some_and(|u| u.path() == "/products");
    if from_products {
        "/products"
    } else {
        "/connections"
    }
}

/// `POST /connections/{id}/sync`: "Sync now".
async fn sync_now(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    session: Session,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<SyncForm>,
) -> Result<Response, AppError> {
    let connection = owned_shop(&state, user.id, &id).await?;
    let back = back_to(&form.back);
    let result = start(&state, &connection, SyncTrigger::Manual).await;
    let htmx = headers.contains_key("hx-request");
    let (kind, message) = match result {
        Ok(r) if r.started => (
            FlashKind::Success,
            format!("Syncing {} now.", connection.display_name),
        ),
        Ok(_) => (
            FlashKind::Info,
            format!("{} is already syncing.", connection.display_name),
        ),
        Err(RequestError::NeedsReauth) => (
            FlashKind::Error,
            format!(
                "{} needs reconnecting before it can be synced.",
                connection.display_name
            ),
        ),
        Err(RequestError::NotAShop) => return Err(AppError::NotFound),
        Err(RequestError::Db(e)) => return Err(e.into()),
    };
    if htmx {
        return fragment(
            &state,
            &connection,
            &user.time_zone,
            ctx.csrf_token.clone(),
            back,
        )
        .await;
    }
    crate::web::session::flash(&session, kind, message).await?;
    Ok(Redirect::to(back).into_response())
}
