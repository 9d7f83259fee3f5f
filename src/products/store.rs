//! Writing a page of a shop's products: one upsert per page, keyed by `(connection_id,
//! external_id)`, so a page written twice (a sync resumed after a crash) leaves one row per
//! product. A fingerprint of the stored fields tells created, changed and unchanged apart.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, FromQueryResult, Statement};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::platforms::catalog::{ProductStatus, RemoteProduct};

/// Titles longer than this are cut (a shop's title field is far shorter; this bounds bad data).
pub const MAX_TITLE_CHARS: usize = 500;
/// Descriptions longer than this are cut at a character boundary, marked with an ellipsis.
pub const MAX_DESCRIPTION_CHARS: usize = 20_000;
/// At most this many images and tags are kept per product.
pub const MAX_IMAGES: usize = 20;
pub const MAX_TAGS: usize = 100;

/// What one page did to the stored catalog.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written {
    pub created: u32,
    pub updated: u32,
    pub unchanged: u32,
}

/// A product as stored: cleaned, capped, with its status as the database spells it.
#[derive(Clone, Debug, PartialEq)]
struct Row {
    external_id: String,
    title: String,
    description: String,
    url: Option<String>,
    price: Option<String>,
    currency: Option<String>,
    image_urls: Vec<String>,
    tags: Vec<String>,
    status: &'static str,
    remote_status: Option<String>,
    remote_updated_at: Option<DateTime<Utc>>,
}

impl Row {
    fn from_remote(p: &RemoteProduct) -> Row {
        let (status, remote_status) = match &p.status {
            ProductStatus::Active => ("active", None),
            ProductStatus::Draft => ("draft", None),
            ProductStatus::Archived => ("archived", None),
            ProductStatus::Hidden => ("hidden", None),
            ProductStatus::SoldOut => ("sold_out", None),
            ProductStatus::Expired => ("expired", None),
            ProductStatus::Other(s) => ("other", Some(clean(s, 100))),
        };
        // The column holds ISO 4217 codes; a price in a currency we can't store is dropped
        // rather than shown with the wrong unit.
        let (price, currency) = match &p.price {
            Some(m) if is_iso_currency(&m.currency) && fits_numeric(&m.amount) => {
                (Some(m.amount.clone()), Some(m.currency.clone()))
            }
            _ => (None, None),
        };
        Row {
            external_id: clean(&p.external_id, 255),
            title: clean(&p.title, MAX_TITLE_CHARS),
            description: clean(&p.description_text, MAX_DESCRIPTION_CHARS),
            url: p.url.as_deref().map(|u| clean(u, 2048)),
            price,
            currency,
            image_urls: p
                .images
                .iter()
                .take(MAX_IMAGES)
                .map(|u| clean(u, 2048))
                .collect(),
            tags: p
                .tags
                .iter()
                .take(MAX_TAGS)
                .map(|t| clean(t, 100))
                .collect(),
            status,
            remote_status,
            remote_updated_at: p.updated_at,
        }
    }

    /// A stable hash of everything stored from the shop.
    fn fingerprint(&self) -> String {
        let canonical = json!([
            self.title,
            self.description,
            self.url,
            self.price,
            self.currency,
            self.image_urls,
            self.tags,
            self.status,
            self.remote_status,
            self.remote_updated_at,
        ]);
        let digest = Sha256::digest(canonical.to_string().as_bytes());
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Text Postgres will take (no NUL), at most `max` characters, cut with an ellipsis.
fn clean(s: &str, max: usize) -> String {
    let s = s.replace('\0', "");
    match s.char_indices().nth(max) {
        None => s,
        Some((at, _)) => {
            let mut cut = s[..at].trim_end().to_owned();
            cut.pop();
            cut.push('…');
            cut
        }
    }
}

fn is_iso_currency(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// `numeric(20, 6)` holds it exactly: at most 14 digits before the point and 6 after.
fn fits_numeric(amount: &str) -> bool {
    let digits = amount.trim_start_matches('-');
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    whole.len() <= 14 && frac.len() <= 6
}

#[derive(FromQueryResult)]
struct Existing {
    external_id: String,
    fingerprint: String,
}

/// Upserts `products` for a connection, noting that sync `sync_id` saw them. Duplicates within
/// the page (a shop listing one product twice) are written once.
pub async fn write_page<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    connection_id: Uuid,
    sync_id: Uuid,
    products: &[RemoteProduct],
) -> Result<Written, DbErr> {
    let mut rows: Vec<Row> = Vec::with_capacity(products.len());
    let mut seen = std::collections::HashSet::new();
    for p in products {
        let row = Row::from_remote(p);
        if !row.external_id.is_empty() && seen.insert(row.external_id.clone()) {
            rows.push(row);
        }
    }
    if rows.is_empty() {
        return Ok(Written::default());
    }
    let ids: Vec<&str> = rows.iter().map(|r| r.external_id.as_str()).collect();
    let existing: HashMap<String, String> = Existing::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT external_id, fingerprint FROM products WHERE connection_id = $1 AND external_id = ANY($2)",
        [connection_id.into(), ids.iter().map(|s| s.to_string()).collect::<Vec<_>>().into()],
    ))
    .all(db)
    .await?
    .into_iter()
    .map(|e| (e.external_id, e.fingerprint))
    .collect();

    let mut written = Written::default();
    let records: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let fingerprint = r.fingerprint();
            match existing.get(&r.external_id) {
                None => written.created += 1,
                Some(old) if *old == fingerprint => written.unchanged += 1,
                Some(_) => written.updated += 1,
            }
            json!({
                "id": Uuid::now_v7(),
                "external_id": r.external_id,
                "title": r.title,
                "description": r.description,
                "url": r.url,
                "price": r.price,
                "currency": r.currency,
                "image_urls": r.image_urls,
                "tags": r.tags,
                "status": r.status,
                "remote_status": r.remote_status,
                "remote_updated_at": r.remote_updated_at,
                "fingerprint": fingerprint,
            })
        })
        .collect();
    // One statement for the page. An unchanged product only learns that this sync saw it; a
    // product that had been marked removed and is back loses the mark.
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        r#"
        INSERT INTO products (id, user_id, connection_id, external_id, title, description, url,
                              price, currency, image_urls, tags, status, remote_status,
                              remote_updated_at, fingerprint, seen_by_sync, synced_at)
        SELECT r.id, $1, $2, r.external_id, r.title, r.description, r.url, r.price, r.currency,
               r.image_urls, r.tags, r.status, r.remote_status, r.remote_updated_at,
               r.fingerprint, $3, now()
        FROM jsonb_to_recordset($4::jsonb) AS r(
            id uuid, external_id text, title text, description text, url text, price numeric,
            currency text, image_urls text[], tags text[], status text, remote_status text,
            remote_updated_at timestamptz, fingerprint text)
        ON CONFLICT (connection_id, external_id) DO UPDATE SET
            title = EXCLUDED.title,
            description = EXCLUDED.description,
            url = EXCLUDED.url,
            price = EXCLUDED.price,
            currency = EXCLUDED.currency,
            image_urls = EXCLUDED.image_urls,
            tags = EXCLUDED.tags,
            status = EXCLUDED.status,
            remote_status = EXCLUDED.remote_status,
            remote_updated_at = EXCLUDED.remote_updated_at,
            fingerprint = EXCLUDED.fingerprint,
            seen_by_sync = EXCLUDED.seen_by_sync,
            synced_at = EXCLUDED.synced_at,
            removed_at = NULL,
            updated_at = CASE
                WHEN products.fingerprint IS DISTINCT FROM EXCLUDED.fingerprint
                     OR products.status = 'removed' THEN now()
                ELSE products.updated_at END
        "#,
        [
            user_id.into(),
            connection_id.into(),
            sync_id.into(),
            serde_json::Value::Array(records).into(),
        ],
    ))
    .await?;
    Ok(written)
}

/// Marks removed the connection's products a full sync didn't see; returns how many.
pub async fn mark_unseen_removed<C: ConnectionTrait>(
    db: &C,
    connection_id: Uuid,
    sync_id: Uuid,
) -> Result<u64, DbErr> {
    let done = db
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE products SET status = 'removed', removed_at = now(), updated_at = now()
             WHERE connection_id = $1 AND status <> 'removed'
               AND seen_by_sync IS DISTINCT FROM $2",
            [connection_id.into(), sync_id.into()],
        ))
        .await?;
    Ok(done.rows_affected())
}

/// Marks removed the connection's products the shop reported deleted; returns how many.
pub async fn mark_removed<C: ConnectionTrait>(
    db: &C,
    connection_id: Uuid,
    external_ids: &[String],
) -> Result<u64, DbErr> {
    if external_ids.is_empty() {
        return Ok(0);
    }
    let done = db
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE products SET status = 'removed', removed_at = now(), updated_at = now()
             WHERE connection_id = $1 AND status <> 'removed' AND external_id = ANY($2)",
            [connection_id.into(), external_ids.to_vec().into()],
        ))
        .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platforms::catalog::Money;

    fn product() -> RemoteProduct {
        RemoteProduct {
            external_id: "gid://shopify/Product/1".into(),
            title: "Oak board".into(),
            description_text: "Hand-made.".into(),
            description_html: None,
            url: Some("https://shop.example/products/oak".into()),
            status: ProductStatus::Active,
            tags: vec!["kitchen".into()],
            images: vec!["https://cdn.example/1.jpg".into()],
            price: Money::from_decimal("19.99", "usd"),
            updated_at: None,
        }
    }

    #[test]
    fn text_is_capped_at_a_character_boundary_without_nul() {
        assert_eq!(clean("a\0b", 10), "ab");
        assert_eq!(clean("ééééé", 3), "éé…");
        assert_eq!(clean("short", 5), "short");
        let huge = "word ".repeat(100_000);
        let cut = clean(&huge, MAX_DESCRIPTION_CHARS);
        assert!(cut.chars().count() <= MAX_DESCRIPTION_CHARS);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn the_fingerprint_changes_with_what_is_stored_and_only_then() {
        let a = Row::from_remote(&product());
        assert_eq!(a.fingerprint(), Row::from_remote(&product()).fingerprint());
        let mut changed = product();
        changed.price = Money::from_decimal("21.00", "USD");
        assert_ne!(a.fingerprint(), Row::from_remote(&changed).fingerprint());
        let mut html_only = product();
        html_only.description_html = Some("<p>Hand-made.</p>".into());
        assert_eq!(
            a.fingerprint(),
            Row::from_remote(&html_only).fingerprint(),
            "the HTML isn't stored, so it doesn't count"
        );
    }

    #[test]
    fn prices_in_currencies_the_column_cannot_hold_are_dropped() {
        let mut p = product();
        p.price = Money::from_decimal("5", "BTCX");
        let row = Row::from_remote(&p);
        assert_eq!((row.price, row.currency), (None, None));
        p.price = Money::from_decimal("123456789012345.00", "USD");
        assert_eq!(
            Row::from_remote(&p).price,
            None,
            "too large for numeric(20, 6)"
        );
        assert_eq!(Row::from_remote(&product()).price.as_deref(), Some("19.99"));
    }

    #[test]
    fn unknown_statuses_keep_the_platform_s_word() {
        let mut p = product();
        p.status = ProductStatus::Other("UNLISTED".into());
        let row = Row::from_remote(&p);
        assert_eq!(
            (row.status, row.remote_status.as_deref()),
            ("other", Some("UNLISTED"))
        );
    }
}
