//! `/api/v1/products`: the catalog the sync keeps, with the same search, filters and sort as the
//! Products page. Prices are exact decimal strings with their currency.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::ApiUser;
use crate::domain::price;
use crate::error::AppError;
use crate::products::queries::{self, Filter, PAGE_SIZE, Sort};
use crate::state::AppState;

/// The largest `per_page`.
pub const MAX_PER_PAGE: u64 = 200;

#[derive(Deserialize, IntoParams)]
pub struct ListParams {
    /// Part of the title, a whole tag, or the shop's own product id.
    pub q: Option<String>,
    /// One of your shop connections (`GET /api/v1/connections`, kind `commerce`).
    pub connection_id: Option<String>,
    /// active, draft, archived, hidden, sold_out, expired, other or removed. Absent: all but removed.
    pub status: Option<String>,
    /// A tag (whole, any case).
    pub tag: Option<String>,
    /// updated (default), title, price, price_desc or synced.
    pub sort: Option<String>,
    /// From 1.
    pub page: Option<String>,
    /// 1 to 200; 50 when absent.
    pub per_page: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ProductSummaryJson {
    pub id: Uuid,
    pub connection_id: Uuid,
    pub shop: String,
    /// shopify, etsy or squarespace.
    pub platform: String,
    pub external_id: String,
    pub title: String,
    pub url: Option<String>,
    /// An exact decimal, e.g. "24.50"; `null` when the shop gave no price.
    pub price: Option<String>,
    /// ISO 4217, e.g. "EUR".
    pub currency: Option<String>,
    pub image_url: Option<String>,
    pub tags: Vec<String>,
    pub status: String,
    pub remote_updated_at: Option<DateTime<Utc>>,
    pub synced_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct ProductList {
    pub products: Vec<ProductSummaryJson>,
    /// How many products match in all.
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
    /// The next page number, when there is one.
    pub next_page: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct ProductPostJson {
    pub id: Uuid,
    pub status: String,
    pub networks: Vec<String>,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct ProductJson {
    pub id: Uuid,
    pub connection_id: Uuid,
    pub shop: String,
    pub platform: String,
    pub external_id: String,
    pub title: String,
    /// Plain text; paragraphs separated by blank lines.
    pub description: String,
    pub url: Option<String>,
    pub price: Option<String>,
    pub currency: Option<String>,
    /// Main image first.
    pub image_urls: Vec<String>,
    pub tags: Vec<String>,
    pub status: String,
    pub remote_updated_at: Option<DateTime<Utc>>,
    pub synced_at: DateTime<Utc>,
    pub removed_at: Option<DateTime<Utc>>,
    /// The posts made from this product, newest first.
    pub posts: Vec<ProductPostJson>,
}

fn number(raw: Option<&str>, field: &str, fields: &mut BTreeMap<String, String>) -> Option<u64> {
    let raw = raw?.trim();
    match raw.parse::<u64>() {
        Ok(n) if n >= 1 => Some(n),
        _ => {
            fields.insert(field.into(), "Use a whole number from 1.".into());
            None
        }
    }
}

#[utoipa::path(get, path = "/api/v1/products", tag = "products", params(ListParams),
    responses((status = 200, body = ProductList), (status = 422, description = "A parameter is wrong; `fields` names it"), (status = 401)),
    security(("token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(p): Query<ListParams>,
) -> Result<Json<ProductList>, AppError> {
    let mut fields = BTreeMap::new();
    let connection_id = match p
        .connection_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(raw) => {
            let shops = queries::shops(&state.db, user.id).await?;
            match Uuid::parse_str(raw) {
                Ok(id) if shops.iter().any(|(s, _, _)| *s == id) => Some(id),
                _ => {
                    fields.insert(
                        "connection_id".into(),
                        "No shop connection of yours has this id. List them with GET /api/v1/connections.".into(),
                    );
                    None
                }
            }
        }
    };
    let status = match p.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => {
            let parsed = queries::parse_status(raw);
            if parsed.is_none() {
                let all: Vec<&str> = queries::STATUSES.iter().map(|(s, _)| *s).collect();
                fields.insert("status".into(), format!("Use one of: {}.", all.join(", ")));
            }
            parsed
        }
    };
    let sort = match p.sort.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Sort::default(),
        Some(raw) => Sort::parse(raw).unwrap_or_else(|| {
            let all: Vec<&str> = Sort::ALL.iter().map(|s| s.as_str()).collect();
            fields.insert("sort".into(), format!("Use one of: {}.", all.join(", ")));
            Sort::default()
        }),
    };
    let page = number(p.page.as_deref(), "page", &mut fields).unwrap_or(1);
    let per_page = number(p.per_page.as_deref(), "per_page", &mut fields).unwrap_or(PAGE_SIZE);
    if per_page > MAX_PER_PAGE {
        fields.insert(
            "per_page".into(),
            format!("Ask for at most {MAX_PER_PAGE} products a page."),
        );
    }
    if page > 100_000 {
        fields.insert("page".into(), "That page is too far.".into());
    }
    if !fields.is_empty() {
        return Err(AppError::Validation(fields));
    }
    let filter = Filter {
        q: p.q.map(|q| q.trim().to_owned()).filter(|q| !q.is_empty()),
        connection_id,
        status,
        tag: p.tag.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()),
        sort,
    };
    let result = queries::list(&state.db, user.id, &filter, page, per_page).await?;
    let next_page = result.has_next().then_some(result.page + 1);
    Ok(Json(ProductList {
        total: result.total,
        page: result.page,
        per_page: result.per_page,
        next_page,
        products: result
            .rows
            .into_iter()
            .map(|r| ProductSummaryJson {
                price: r
                    .price
                    .map(|d| price::amount(&d.to_string(), r.currency.as_deref())),
                id: r.id,
                connection_id: r.connection_id,
                shop: r.shop_name,
                platform: r.shop_platform,
                external_id: r.external_id,
                title: r.title,
                url: r.url,
                currency: r.currency,
                image_url: r.image_url,
                tags: r.tags,
                status: r.status,
                remote_updated_at: r.remote_updated_at,
                synced_at: r.synced_at,
            })
            .collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "products", params(("id" = Uuid, Path)),
    responses((status = 200, body = ProductJson), (status = 404), (status = 401)), security(("token" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<ProductJson>, AppError> {
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    let p = queries::detail(&state.db, user.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let posts = queries::posts_of(&state.db, user.id, id).await?;
    Ok(Json(ProductJson {
        price: p
            .price
            .map(|d| price::amount(&d.to_string(), p.currency.as_deref())),
        id: p.id,
        connection_id: p.connection_id,
        shop: p.shop_name,
        platform: p.shop_platform,
        external_id: p.external_id,
        title: p.title,
        description: p.description,
        url: p.url,
        currency: p.currency,
        image_urls: p.image_urls,
        tags: p.tags,
        status: p.status,
        remote_updated_at: p.remote_updated_at,
        synced_at: p.synced_at,
        removed_at: p.removed_at,
        posts: posts
            .into_iter()
            .map(|post| ProductPostJson {
                id: post.id,
                status: post.status,
                networks: post.networks,
                scheduled_at: post.scheduled_at,
                published_at: post.published_at,
            })
            .collect(),
    }))
}
