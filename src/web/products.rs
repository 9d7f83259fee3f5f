//! `/products`: the catalog the sync keeps — searchable, filterable, sortable and paginated —
//! each product's page with the posts made from it, and "Create post", which brings the main
//! photo into the library and opens the composer prefilled from the product.
//!
//! The list is a GET form that works without JavaScript; with htmx, the results region is
//! replaced as the seller types (the URL follows, so a reload or a shared link shows the same).

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tower_sessions::Session;
use uuid::Uuid;

use crate::domain::{Platform, price};
use crate::error::AppError;
use crate::products::queries::{self, Filter, PAGE_SIZE, ProductDetail, ProductRow, Sort};
use crate::state::AppState;
use crate::web::connections::format_time;
use crate::web::render;
use crate::web::session::{self, CurrentUser, FlashKind, PageContext};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/products", get(index))
        .route("/products/{id}", get(show))
        .route("/products/{id}/post", post(create_post))
        .route("/products/{id}/studio", post(to_studio))
}

/// The list's query string, as typed: anything unreadable is ignored (the API names it).
#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    shop: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    page: String,
}

pub struct RowView {
    pub id: Uuid,
    pub title: String,
    pub image_url: Option<String>,
    pub price: Option<String>,
    pub status: String,
    pub status_label: &'static str,
    pub shop: String,
    pub updated: String,
}

/// Which empty state, if any, the list shows.
#[derive(PartialEq, Eq)]
pub enum Empty {
    /// Products to show.
    No,
    /// No shop is connected.
    NoShop,
    /// A shop is connected, but no product has arrived yet.
    Arriving,
    /// Nothing matches the search and filters.
    NoMatch,
}

pub struct ShopChoice {
    pub id: Uuid,
    pub label: String,
    pub selected: bool,
}

pub struct ListView {
    pub q: String,
    pub status: String,
    pub tag: String,
    pub sort: String,
    pub shops: Vec<ShopChoice>,
    pub statuses: &'static [(&'static str, &'static str)],
    pub sorts: Vec<(&'static str, &'static str)>,
    pub rows: Vec<RowView>,
    pub total: u64,
    pub page: u64,
    pub pages: u64,
    /// The filters as a query string (without the page), for the page links.
    pub filter_query: String,
    pub empty: Empty,
}

impl ListView {
    pub fn filtered(&self) -> bool {
        !self.q.is_empty()
            || !self.status.is_empty()
            || !self.tag.is_empty()
            || self.shops.iter().any(|s| s.selected)
    }
}

#[derive(Template)]
#[template(path = "products/index.html")]
struct IndexPage {
    ctx: PageContext,
    v: ListView,
    /// Each shop's catalog sync, live while one is going.
    syncs: Vec<crate::web::catalog_sync::SyncView>,
}

#[derive(Template)]
#[template(path = "products/_results.html")]
struct ResultsFragment {
    v: ListView,
}

pub fn price_text(p: Option<sea_orm::prelude::Decimal>, currency: Option<&str>) -> Option<String> {
    p.map(|d| price::display(&d.to_string(), currency))
}

fn row_view(r: ProductRow, tz: &str) -> RowView {
    RowView {
        price: price_text(r.price, r.currency.as_deref()),
        status_label: queries::status_label(&r.status),
        updated: format_time(r.remote_updated_at.unwrap_or(r.synced_at), tz),
        id: r.id,
        title: r.title,
        image_url: r.image_url.filter(|u| is_web_url(u)),
        status: r.status,
        shop: r.shop_name,
    }
}

/// Only web addresses go into `src`/`href` (a shop's data is not ours to trust).
fn is_web_url(u: &str) -> bool {
    u.starts_with("https://") || u.starts_with("http://")
}

async fn index(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let shops = queries::shops(&state.db, user.id).await?;
    let shop = Uuid::parse_str(q.shop.trim())
        .ok()
        .filter(|id| shops.iter().any(|(s, _, _)| s == id));
    let status = queries::parse_status(q.status.trim());
    let sort = Sort::parse(q.sort.trim()).unwrap_or_default();
    let page = q.page.trim().parse::<u64>().unwrap_or(1).clamp(1, 100_000);
    let filter = Filter {
        q: Some(q.q.trim().to_owned()).filter(|s| !s.is_empty()),
        connection_id: shop,
        status,
        tag: Some(q.tag.trim().to_owned()).filter(|s| !s.is_empty()),
        sort,
    };
    let result = queries::list(&state.db, user.id, &filter, page, PAGE_SIZE).await?;
    let empty = if !result.rows.is_empty() {
        Empty::No
    } else if shops.is_empty() {
        Empty::NoShop
    } else if !queries::has_any(&state.db, user.id).await? {
        Empty::Arriving
    } else {
        Empty::NoMatch
    };
    // htmx swaps only the results as the seller types; history restores get the whole page.
    let wants_fragment = headers.get("hx-target").and_then(|v| v.to_str().ok())
        == Some("product-results")
        && !headers.contains_key("hx-history-restore-request");
    let syncs = if wants_fragment {
        Vec::new()
    } else {
        let connections = state.connections.list_for_user(user.id).await?;
        let shops: Vec<&crate::entities::connections::Model> = connections
            .iter()
            .filter(|c| c.kind == crate::entities::enums::ConnectionKind::Commerce)
            .collect();
        let mut views =
            crate::web::catalog_sync::views_of(&state.db, &shops, &user.time_zone).await?;
        shops.iter().filter_map(|c| views.remove(&c.id)).collect()
    };
    let mut pairs = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("q", filter.q.clone().unwrap_or_default()),
        ("shop", shop.map(|s| s.to_string()).unwrap_or_default()),
        (
            "status",
            status.map(queries::status_str).unwrap_or("").to_owned(),
        ),
        ("tag", filter.tag.clone().unwrap_or_default()),
        ("sort", sort.as_str().to_owned()),
    ] {
        if !v.is_empty() {
            pairs.append_pair(k, &v);
        }
    }
    let v = ListView {
        q: filter.q.clone().unwrap_or_default(),
        status: status.map(queries::status_str).unwrap_or("").to_owned(),
        tag: filter.tag.clone().unwrap_or_default(),
        sort: sort.as_str().to_owned(),
        shops: shops
            .into_iter()
            .map(|(id, name, platform)| ShopChoice {
                id,
                label: format!(
                    "{name} ({})",
                    platform
                        .parse::<Platform>()
                        .map(|p| p.display_name())
                        .unwrap_or("shop")
                ),
                selected: Some(id) == shop,
            })
            .collect(),
        statuses: &queries::STATUSES,
        sorts: Sort::ALL.iter().map(|s| (s.as_str(), s.label())).collect(),
        total: result.total,
        page: result.page,
        pages: result.pages(),
        rows: result
            .rows
            .into_iter()
            .map(|r| row_view(r, &user.time_zone))
            .collect(),
        filter_query: pairs.finish(),
        empty,
    };
    let mut res = if wants_fragment {
        render::page(&ResultsFragment { v })?
    } else {
        render::page(&IndexPage {
            ctx: ctx.at("products"),
            v,
            syncs,
        })?
    };
    // The same URL answers with the page or the fragment, so caches must tell them apart.
    res.headers_mut().append(
        axum::http::header::VARY,
        axum::http::HeaderValue::from_static("HX-Target, HX-History-Restore-Request"),
    );
    Ok(res)
}

pub struct PostView {
    pub id: Uuid,
    pub excerpt: String,
    pub status: String,
    pub status_label: &'static str,
    pub networks: Vec<Platform>,
    pub when: String,
}

#[derive(Template)]
#[template(path = "products/show.html")]
struct ShowPage {
    ctx: PageContext,
    p: ProductDetail,
    price: Option<String>,
    status_label: &'static str,
    /// Paragraphs of the description, each a list of lines.
    paragraphs: Vec<Vec<String>>,
    images: Vec<String>,
    product_url: Option<String>,
    shop_platform: String,
    synced: String,
    updated: Option<String>,
    removed: Option<String>,
    /// Each tag with the list filtered by it.
    tags: Vec<(String, String)>,
    posts: Vec<PostView>,
}

/// Plain text as paragraphs (blank lines between them) of lines.
fn paragraphs(text: &str) -> Vec<Vec<String>> {
    text.replace("\r\n", "\n")
        .split("\n\n")
        .map(|p| {
            p.lines()
                .map(|l| l.trim().to_owned())
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
        })
        .filter(|p| !p.is_empty())
        .collect()
}

fn post_status_label(status: &str) -> &'static str {
    match status {
        "partial" => "Partly published",
        other => crate::web::posts::target_status_label(other),
    }
}

async fn show(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    let p = queries::detail(&state.db, user.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let posts = queries::posts_of(&state.db, user.id, id).await?;
    let tz = user.time_zone.as_str();
    let posts = posts
        .into_iter()
        .map(|post| PostView {
            id: post.id,
            excerpt: crate::posts::queries::excerpt(&post.body, 90),
            status_label: post_status_label(&post.status),
            networks: post.platforms(),
            when: match (post.published_at, post.scheduled_at) {
                (Some(at), _) => format!("Published {}", format_time(at, tz)),
                (None, Some(at)) => format!("For {}", format_time(at, tz)),
                (None, None) => format!("Drafted {}", format_time(post.created_at, tz)),
            },
            status: post.status,
        })
        .collect();
    render::page(&ShowPage {
        ctx: ctx.at("products"),
        price: price_text(p.price, p.currency.as_deref()),
        status_label: queries::status_label(&p.status),
        paragraphs: paragraphs(&p.description),
        images: p
            .image_urls
            .iter()
            .filter(|u| is_web_url(u))
            .cloned()
            .collect(),
        product_url: p.url.clone().filter(|u| is_web_url(u)),
        shop_platform: p
            .shop_platform
            .parse::<Platform>()
            .map(|pl| pl.display_name().to_owned())
            .unwrap_or_default(),
        synced: format_time(p.synced_at, tz),
        updated: p.remote_updated_at.map(|t| format_time(t, tz)),
        removed: p.removed_at.map(|t| format_time(t, tz)),
        tags: p
            .tags
            .iter()
            .map(|t| {
                let query: String = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("tag", t)
                    .finish();
                (t.clone(), format!("/products?{query}"))
            })
            .collect(),
        posts,
        p,
    })
}

/// "Write it yourself": brings the product's main photo into the library (when it can) and opens
/// the composer on `/posts/new?product_id=…&media=…`, which fills the text in from the product.
async fn create_post(
    State(state): State<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    start_from(state, session, user, id, "/posts/new").await
}

/// "Create post": the same, into the AI Studio (`/studio?product_id=…&media=…`), which writes a
/// caption per network from the product.
async fn to_studio(
    State(state): State<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    start_from(state, session, user, id, "/studio").await
}

async fn start_from(
    state: AppState,
    session: Session,
    user: crate::entities::users::Model,
    id: String,
    page: &str,
) -> Result<Response, AppError> {
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    let p = queries::detail(&state.db, user.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut target = format!("{page}?product_id={}", p.id);
    let note = match p.image_urls.first() {
        None => Some("This product has no photo, so the post starts without one. Add one from your media library if you like.".to_owned()),
        Some(url) => {
            let timeout = std::time::Duration::from_secs(state.config.outbound_timeout_secs);
            match crate::media::import::image_from_url(
                &state.db,
                &state.media,
                &state.outbound,
                timeout,
                user.id,
                url,
            )
            .await
            {
                Ok(up) => {
                    target.push_str(&format!("&media={}", up.media.id));
                    None
                }
                Err(crate::media::import::ImportError::Internal(e)) => {
                    tracing::error!(product = %p.id, error = ?e, "importing a product photo failed");
                    Some("We couldn't bring the product's photo into your library just now, so the post starts without it. Try again, or attach a photo yourself.".to_owned())
                }
                Err(e) => {
                    tracing::info!(product = %p.id, reason = %e, "product photo not imported");
                    Some(format!(
                        "The product's photo couldn't be attached: {e}. The post starts without it; attach a photo from your library if you like."
                    ))
                }
            }
        }
    };
    if let Some(note) = note {
        session::flash(&session, FlashKind::Info, note).await?;
    }
    Ok(Redirect::to(&target).into_response())
}
