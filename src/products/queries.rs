//! Read models of products: the filtered, sorted, paginated list (one statement, plus a count
//! only when a page lies past the end), one product, and the posts made from it. Every query is
//! scoped by the owner, so another user's product is simply not found.

use chrono::{DateTime, Utc};
use sea_orm::prelude::Decimal;
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement, Value as DbValue};
use uuid::Uuid;

use crate::domain::Platform;
use crate::entities::enums::ProductStatus;

pub const PAGE_SIZE: u64 = 50;

/// The statuses a product can have, as stored and as a seller reads them.
pub const STATUSES: [(&str, &str); 8] = [
    ("active", "Active"),
    ("draft", "Draft"),
    ("archived", "Archived"),
    ("hidden", "Hidden"),
    ("sold_out", "Sold out"),
    ("expired", "Expired"),
    ("other", "Other"),
    ("removed", "Removed from the shop"),
];

pub fn status_label(status: &str) -> &'static str {
    STATUSES
        .iter()
        .find(|(s, _)| *s == status)
        .map_or("Other", |(_, l)| l)
}

/// How the list is ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sort {
    /// Most recently changed in the shop first.
    #[default]
    Updated,
    Title,
    /// Cheapest first; products without a price last.
    Price,
    PriceDesc,
    /// Most recently synced first.
    Synced,
}

impl Sort {
    pub const ALL: [Sort; 5] = [
        Sort::Updated,
        Sort::Title,
        Sort::Price,
        Sort::PriceDesc,
        Sort::Synced,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Updated => "updated",
            Sort::Title => "title",
            Sort::Price => "price",
            Sort::PriceDesc => "price_desc",
            Sort::Synced => "synced",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Sort::Updated => "Recently updated",
            Sort::Title => "Title (A–Z)",
            Sort::Price => "Price (low to high)",
            Sort::PriceDesc => "Price (high to low)",
            Sort::Synced => "Recently synced",
        }
    }

    pub fn parse(raw: &str) -> Option<Sort> {
        Sort::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    fn order_by(self) -> &'static str {
        match self {
            Sort::Updated => "p.remote_updated_at DESC NULLS LAST, p.id DESC",
            Sort::Title => "lower(p.title), p.id",
            Sort::Price => "p.price ASC NULLS LAST, lower(p.title), p.id",
            Sort::PriceDesc => "p.price DESC NULLS LAST, lower(p.title), p.id",
            Sort::Synced => "p.synced_at DESC, p.id DESC",
        }
    }
}

/// What the seller asked for. `status: None` means everything still in the shop (all but
/// `removed`).
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub q: Option<String>,
    pub connection_id: Option<Uuid>,
    pub status: Option<ProductStatus>,
    pub tag: Option<String>,
    pub sort: Sort,
}

/// A product as the list shows it.
#[derive(Clone, Debug, FromQueryResult)]
pub struct ProductRow {
    pub id: Uuid,
    pub connection_id: Uuid,
    pub shop_name: String,
    pub shop_platform: String,
    pub external_id: String,
    pub title: String,
    pub url: Option<String>,
    pub price: Option<Decimal>,
    pub currency: Option<String>,
    /// The main image (the first one).
    pub image_url: Option<String>,
    pub tags: Vec<String>,
    pub status: String,
    pub remote_updated_at: Option<DateTime<Utc>>,
    pub synced_at: DateTime<Utc>,
}

/// One page of products and how many match in all.
#[derive(Clone, Debug)]
pub struct ProductPage {
    pub rows: Vec<ProductRow>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

impl ProductPage {
    pub fn pages(&self) -> u64 {
        self.total.div_ceil(self.per_page).max(1)
    }

    pub fn has_next(&self) -> bool {
        self.page < self.pages()
    }
}

const COLUMNS: &str = "p.id, p.connection_id, c.display_name AS shop_name, c.platform AS shop_platform, \
     p.external_id, p.title, p.url, p.price, p.currency, p.image_urls[1] AS image_url, p.tags, p.status, \
     p.remote_updated_at, p.synced_at";

/// `%text%` for LIKE, with LIKE's own characters taken literally.
fn contains_pattern(text: &str) -> String {
    format!(
        "%{}%",
        text.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

/// The WHERE clause of a filter and its values (`$1` is the user).
fn conditions(user_id: Uuid, filter: &Filter) -> (String, Vec<DbValue>) {
    let mut values: Vec<DbValue> = vec![user_id.into()];
    let mut sql = String::from("p.user_id = $1");
    let mut arg = |v: DbValue| {
        values.push(v);
        format!("${}", values.len())
    };
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        // `lower(title) LIKE lower(…)` is what the trigram index on lower(title) serves; a tag
        // or the shop's own id matches whole (tags ignoring case).
        let pattern = arg(contains_pattern(q).into());
        let exact = arg(q.to_owned().into());
        sql.push_str(&format!(
            " AND (lower(p.title) LIKE lower({pattern}) \
               OR lower_tags(p.tags) @> ARRAY[lower({exact})] \
               OR p.external_id = {exact})"
        ));
    }
    if let Some(c) = filter.connection_id {
        let a = arg(c.into());
        sql.push_str(&format!(" AND p.connection_id = {a}"));
    }
    match filter.status {
        Some(s) => {
            let a = arg(status_str(s).to_owned().into());
            sql.push_str(&format!(" AND p.status = {a}"));
        }
        None => sql.push_str(" AND p.status <> 'removed'"),
    }
    if let Some(tag) = filter
        .tag
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let a = arg(tag.to_owned().into());
        sql.push_str(&format!(" AND lower_tags(p.tags) @> ARRAY[lower({a})]"));
    }
    (sql, values)
}

pub fn status_str(s: ProductStatus) -> &'static str {
    match s {
        ProductStatus::Active => "active",
        ProductStatus::Draft => "draft",
        ProductStatus::Archived => "archived",
        ProductStatus::Hidden => "hidden",
        ProductStatus::SoldOut => "sold_out",
        ProductStatus::Expired => "expired",
        ProductStatus::Other => "other",
        ProductStatus::Removed => "removed",
    }
}

pub fn parse_status(raw: &str) -> Option<ProductStatus> {
    use sea_orm::Iterable as _;
    ProductStatus::iter().find(|s| status_str(*s) == raw)
}

/// A page (from 1) of the user's products matching `filter`, with the total count.
#[tracing::instrument(skip(db, filter))]
pub async fn list(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    filter: &Filter,
    page: u64,
    per_page: u64,
) -> Result<ProductPage, sea_orm::DbErr> {
    let page = page.max(1);
    let per_page = per_page.clamp(1, 200);
    let (cond, mut values) = conditions(user_id, filter);
    values.push((per_page as i64).into());
    let limit = values.len();
    values.push((page.saturating_sub(1).saturating_mul(per_page) as i64).into());
    let offset = values.len();
    // The page (a top-N sort of the matches) and the count, side by side on two connections:
    // a window count would sort every match with all its columns first.
    let sql = format!(
        "SELECT {COLUMNS} FROM products p \
         JOIN connections c ON c.id = p.connection_id \
         WHERE {cond} ORDER BY {} LIMIT ${limit} OFFSET ${offset}",
        filter.sort.order_by()
    );
    let rows = ProductRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        &sql,
        values,
    ))
    .all(db);
    let (rows, total) = futures::try_join!(rows, count(db, user_id, filter))?;
    Ok(ProductPage {
        rows,
        total,
        page,
        per_page,
    })
}

async fn count(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    filter: &Filter,
) -> Result<u64, sea_orm::DbErr> {
    let (cond, values) = conditions(user_id, filter);
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!("SELECT count(*) FROM products p WHERE {cond}"),
            values,
        ))
        .await?;
    Ok(row
        .and_then(|r| r.try_get_by_index::<i64>(0).ok())
        .unwrap_or(0)
        .max(0) as u64)
}

/// A product with its shop's name, as the detail page and the API show it.
#[derive(Clone, Debug, FromQueryResult)]
pub struct ProductDetail {
    pub id: Uuid,
    pub connection_id: Uuid,
    pub shop_name: String,
    pub shop_platform: String,
    pub external_id: String,
    pub title: String,
    pub description: String,
    pub url: Option<String>,
    pub price: Option<Decimal>,
    pub currency: Option<String>,
    pub image_urls: Vec<String>,
    pub tags: Vec<String>,
    pub status: String,
    pub remote_updated_at: Option<DateTime<Utc>>,
    pub synced_at: DateTime<Utc>,
    pub removed_at: Option<DateTime<Utc>>,
}

/// One of the user's products; `None` when it isn't theirs or doesn't exist.
pub async fn detail(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    product_id: Uuid,
) -> Result<Option<ProductDetail>, sea_orm::DbErr> {
    ProductDetail::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT p.id, p.connection_id, c.display_name AS shop_name, c.platform AS shop_platform, \
                p.external_id, p.title, p.description, p.url, p.price, p.currency, p.image_urls, p.tags, \
                p.status, p.remote_updated_at, p.synced_at, p.removed_at \
         FROM products p JOIN connections c ON c.id = p.connection_id \
         WHERE p.user_id = $1 AND p.id = $2",
        [user_id.into(), product_id.into()],
    ))
    .one(db)
    .await
}

/// A post made from a product.
#[derive(Clone, Debug, FromQueryResult)]
pub struct ProductPost {
    pub id: Uuid,
    pub body: String,
    pub status: String,
    pub scheduled_at: Option<DateTime<Utc>>,
    /// When the first network published it.
    pub published_at: Option<DateTime<Utc>>,
    pub networks: Vec<String>,
    pub created_at: DateTime<Utc>,
}

impl ProductPost {
    pub fn platforms(&self) -> Vec<Platform> {
        self.networks
            .iter()
            .filter_map(|n| n.parse().ok())
            .collect()
    }
}

/// The user's posts made from `product_id`, newest first (one statement: the networks are kept
/// on the post, the first publication time comes from its targets).
pub async fn posts_of(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    product_id: Uuid,
) -> Result<Vec<ProductPost>, sea_orm::DbErr> {
    ProductPost::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT p.id, p.body, p.status, p.scheduled_at, p.networks, p.created_at, \
                (SELECT min(t.published_at) FROM post_targets t WHERE t.post_id = p.id) AS published_at \
         FROM posts p WHERE p.user_id = $1 AND p.product_id = $2 \
         ORDER BY coalesce(p.scheduled_at, p.created_at) DESC, p.id DESC LIMIT 200",
        [user_id.into(), product_id.into()],
    ))
    .all(db)
    .await
}

/// The user's commerce connections (the shops a product can come from), for the shop filter.
pub async fn shops(
    db: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<Vec<(Uuid, String, String)>, sea_orm::DbErr> {
    #[derive(FromQueryResult)]
    struct Shop {
        id: Uuid,
        display_name: String,
        platform: String,
    }
    Ok(Shop::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT id, display_name, platform FROM connections \
         WHERE user_id = $1 AND kind = 'commerce' ORDER BY display_name, id",
        [user_id.into()],
    ))
    .all(db)
    .await?
    .into_iter()
    .map(|s| (s.id, s.display_name, s.platform))
    .collect())
}

/// Whether the user has any product at all (removed ones included).
pub async fn has_any(db: &impl ConnectionTrait, user_id: Uuid) -> Result<bool, sea_orm::DbErr> {
    Ok(db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT 1 FROM products WHERE user_id = $1 LIMIT 1",
            [user_id.into()],
        ))
        .await?
        .is_some())
}
