//! Squarespace Commerce products (PLATFORMS.md §10): `GET /{1.0|1.1|v2}/commerce/products` with
//! `modifiedAfter`/`modifiedBefore` (together), `type` (required on 1.1 and v2 unless a cursor is
//! sent) and dynamic cursors that must be sent alone; 50 products a page ordered by
//! `modifiedOn`; 300 requests a minute per site, then a one-minute cooldown of 429s.

use std::sync::Arc;

use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::super::catalog::{Kind, Product, ShopCatalog, Status};
use super::super::dispatch::RouteCtx;
use super::super::errors::{json_response, squarespace};
use super::super::personas;
use super::super::state::{Shared, lock};
use super::{authenticate, check_user_agent, site_identifier};
use crate::domain::Platform;

const PAGE_SIZE: usize = 50;

fn bad(ctx: &RouteCtx, subtype: &str, message: &str) -> Response {
    squarespace(
        ctx,
        StatusCode::BAD_REQUEST,
        "INVALID_REQUEST_ERROR",
        Some(subtype),
        message,
    )
}

/// Counts one request against the site's per-minute allowance; over it, the site is in a
/// one-minute cooldown during which everything is 429.
pub(crate) fn count_request(shared: &Shared, ctx: &RouteCtx, site: &str) -> Result<(), Response> {
    let now = shared.clock.now();
    let per_minute = shared.config.squarespace_requests_per_minute;
    let mut limits = lock(&shared.commerce_limits);
    if let Some(until) = limits.squarespace_cooldown.get(site)
        && now < *until
    {
        return Err(too_many(ctx));
    }
    let (start, used) = limits
        .squarespace_minute
        .get(site)
        .copied()
        .filter(|(start, _)| now - *start < Duration::seconds(60))
        .unwrap_or((now, 0));
    if used >= per_minute {
        limits
            .squarespace_cooldown
            .insert(site.to_owned(), now + Duration::seconds(60));
        limits.squarespace_minute.remove(site);
        return Err(too_many(ctx));
    }
    limits
        .squarespace_minute
        .insert(site.to_owned(), (start, used + 1));
    Ok(())
}

fn too_many(ctx: &RouteCtx) -> Response {
    squarespace(
        ctx,
        StatusCode::TOO_MANY_REQUESTS,
        "TOO_MANY_REQUESTS",
        None,
        "Too many requests. Wait one minute before trying again.",
    )
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn type_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Physical => "PHYSICAL",
        Kind::Digital => "DIGITAL",
    }
}

fn product_id(site: &str, id: u64) -> String {
    personas::derived_chars(
        &["squarespace", "product", site, &id.to_string()],
        "0123456789abcdef",
        24,
    )
}

fn money(cents: Option<super::super::catalog::Cents>) -> Value {
    match cents {
        Some(c) => json!({ "currency": "USD", "value": c.decimal() }),
        None => Value::Null,
    }
}

fn product_json(site: &str, p: &Product) -> Value {
    let store_page =
        personas::derived_chars(&["squarespace", "store-page", site], "0123456789abcdef", 24);
    let variants: Vec<Value> = p
        .variants
        .iter()
        .map(|v| {
            let on_sale = v.compare_at.is_some();
            let (base, sale) = match v.compare_at {
                Some(full) => (Some(full), v.price),
                None => (v.price, v.price.map(|_| super::super::catalog::Cents(0))),
            };
            json!({
                "id": product_id(site, v.id),
                "sku": v.sku,
                "pricing": {
                    "basePrice": money(base),
                    "salePrice": money(sale),
                    "onSale": on_sale,
                },
                "stock": { "quantity": v.quantity.max(0), "unlimited": p.kind == Kind::Digital },
                "attributes": v.option.as_ref().map_or_else(|| json!({}), |(k, val)| json!({ k: val })),
                "shippingMeasurements": {
                    "weight": { "unit": "POUND", "value": 1.5 },
                    "dimensions": { "unit": "INCH", "length": 6.0, "width": 6.0, "height": 4.0 },
                },
            })
        })
        .collect();
    let images: Vec<Value> = p
        .images
        .iter()
        .map(|img| {
            json!({
                "id": product_id(site, img.id),
                "altText": if img.alt.is_empty() { Value::Null } else { json!(img.alt) },
                "url": img.url,
                "originalSize": { "width": img.width, "height": img.height },
                "availableFormats": ["100w", "300w", "500w", "750w", "1000w", "1500w", "2500w"],
            })
        })
        .collect();
    // "Array fields that contain no data can either be represented as a null value or an
    // empty array": both happen.
    let images = if images.is_empty() && p.index % 2 == 1 {
        Value::Null
    } else {
        json!(images)
    };
    let has_options = p.variants.iter().any(|v| v.option.is_some());
    json!({
        "id": product_id(site, p.id),
        "type": type_name(p.kind),
        "storePageId": store_page,
        "name": p.title,
        "description": p.description_html,
        "url": format!("https://{site}.squarespace.com/shop/p/{}", p.handle),
        "urlSlug": p.handle,
        "tags": p.tags,
        "isVisible": p.status == Status::Active,
        "seoOptions": { "title": p.title, "description": null },
        "variantAttributes": if has_options { json!(["Color"]) } else { json!([]) },
        "variants": variants,
        "images": images,
        "createdOn": iso(p.created_at),
        "modifiedOn": iso(p.updated_at),
    })
}

/// What a cursor remembers: the filters of the first request and where the next page starts.
#[derive(Clone, Debug)]
struct Query {
    types: Vec<Kind>,
    after: Option<DateTime<Utc>>,
    before: Option<DateTime<Utc>>,
    /// `(modifiedOn in ms, id)` of the last product handed out.
    last: Option<(i64, u64)>,
}

impl Query {
    fn to_json(&self) -> Value {
        json!({
            "types": self.types.iter().map(|k| type_name(*k)).collect::<Vec<_>>(),
            "after": self.after.map(iso),
            "before": self.before.map(iso),
            "last": self.last.map(|(t, id)| [t as u64, id]),
        })
    }

    fn from_json(v: &Value) -> Option<Self> {
        let time = |k: &str| -> Option<Option<DateTime<Utc>>> {
            match v.get(k)? {
                Value::Null => Some(None),
                Value::String(s) => Some(Some(
                    DateTime::parse_from_rfc3339(s).ok()?.with_timezone(&Utc),
                )),
                _ => None,
            }
        };
        let types = v
            .get("types")?
            .as_array()?
            .iter()
            .filter_map(|t| match t.as_str()? {
                "PHYSICAL" => Some(Kind::Physical),
                "DIGITAL" => Some(Kind::Digital),
                _ => None,
            })
            .collect();
        let last = match v.get("last")? {
            Value::Array(a) => Some((a.first()?.as_u64()? as i64, a.get(1)?.as_u64()?)),
            _ => None,
        };
        Some(Self {
            types,
            after: time("after")?,
            before: time("before")?,
            last,
        })
    }
}

/// `GET /{version}/commerce/products`.
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    Path(version): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !matches!(version.as_str(), "1.0" | "1.1" | "v2") {
        return super::super::errors::not_found(&ctx);
    }
    if let Err(res) = check_user_agent(&ctx, &headers) {
        return res;
    }
    let grant = match authenticate(&shared, &ctx, &headers) {
        Ok(g) => g,
        Err(res) => return res,
    };
    let site = site_identifier(&grant.account);
    if let Err(res) = count_request(&shared, &ctx, &site) {
        return res;
    }
    if !(grant.has_scope("website.products") || grant.has_scope("website.products.read")) {
        return squarespace(
            &ctx,
            StatusCode::FORBIDDEN,
            "AUTHORIZATION_ERROR",
            Some("INSUFFICIENT_SCOPE"),
            "The access token does not grant website.products.read.",
        );
    }
    let params = ctx.params();
    let query = if let Some(cursor) = params.get("cursor") {
        if url::form_urlencoded::parse(ctx.query.as_bytes()).any(|(k, _)| k != "cursor") {
            return bad(
                &ctx,
                "INVALID_ARGUMENT",
                "cursor: cannot be used with other parameters",
            );
        }
        let stored = shared.catalog().cursors.get(cursor).cloned();
        match stored.as_ref().and_then(Query::from_json) {
            Some(q) => q,
            None => return bad(&ctx, "INVALID_ARGUMENT", "cursor: invalid cursor"),
        }
    } else {
        let time = |name: &str| -> Result<Option<DateTime<Utc>>, Response> {
            match params.get(name) {
                None => Ok(None),
                Some(text) => DateTime::parse_from_rfc3339(text)
                    .map(|t| Some(t.with_timezone(&Utc)))
                    .map_err(|_| {
                        bad(
                            &ctx,
                            "INVALID_ARGUMENT",
                            &format!("{name}: must be an ISO 8601 UTC date-time"),
                        )
                    }),
            }
        };
        let (after, before) = match (time("modifiedAfter"), time("modifiedBefore")) {
            (Err(res), _) | (_, Err(res)) => return res,
            (Ok(a), Ok(b)) => (a, b),
        };
        if after.is_some() != before.is_some() {
            return bad(
                &ctx,
                "MISSING_ARGUMENT",
                "modifiedAfter and modifiedBefore must be passed together",
            );
        }
        let types = match (version.as_str(), params.get("type")) {
            ("1.0", _) => vec![Kind::Physical],
            (_, None) => {
                return bad(
                    &ctx,
                    "MISSING_ARGUMENT",
                    "type: required unless a cursor is given",
                );
            }
            (v, Some(list)) => {
                let mut kinds = Vec::new();
                for t in list.split(',').map(str::trim) {
                    match t {
                        "PHYSICAL" => kinds.push(Kind::Physical),
                        "DIGITAL" => kinds.push(Kind::Digital),
                        // The sandbox's shops sell no services or gift cards.
                        "SERVICE" | "GIFT_CARD" if v == "v2" => {}
                        other => {
                            return bad(
                                &ctx,
                                "INVALID_ARGUMENT",
                                &format!("type: unsupported product type {other:?}"),
                            );
                        }
                    }
                }
                kinds
            }
        };
        Query {
            types,
            after,
            before,
            last: None,
        }
    };
    let now = shared.clock.now();
    let cat = ShopCatalog::new(&shared, Platform::Squarespace, &site, now);
    let mut rows: Vec<(i64, u64, usize)> = cat
        .heads()
        .into_iter()
        .filter(|h| query.after.is_none_or(|a| h.updated > a))
        .filter(|h| query.before.is_none_or(|b| h.updated < b))
        .map(|h| (h.updated.timestamp_millis(), h.id, h.index))
        .filter(|(t, id, _)| query.last.is_none_or(|last| (*t, *id) > last))
        .collect();
    rows.sort_unstable();
    let mut products = Vec::new();
    let mut last = None;
    let mut rest = rows.into_iter();
    for (t, id, index) in rest.by_ref() {
        let p = cat.product(index);
        if !query.types.contains(&p.kind) {
            continue;
        }
        products.push(product_json(&site, &p));
        last = Some((t, id));
        if products.len() == PAGE_SIZE {
            break;
        }
    }
    // Is there anything of the right type after this page?
    let has_next = products.len() == PAGE_SIZE
        && rest.any(|(_, _, index)| query.types.contains(&cat.product_kind(index)));
    let pagination = if has_next {
        let next = Query {
            last,
            ..query.clone()
        };
        let state = next.to_json();
        let cursor = personas::derived_chars(
            &["squarespace", "cursor", &site, &state.to_string()],
            "0123456789abcdef",
            32,
        );
        shared.catalog().cursors.insert(cursor.clone(), state);
        json!({
            "hasNextPage": true,
            "nextPageCursor": cursor,
            "nextPageUrl": format!(
                "{}/squarespace/api.squarespace.com/{version}/commerce/products?cursor={cursor}",
                shared.config.base()
            ),
        })
    } else {
        json!({ "hasNextPage": false, "nextPageCursor": null, "nextPageUrl": null })
    };
    json_response(
        StatusCode::OK,
        json!({ "products": products, "pagination": pagination }),
    )
}
