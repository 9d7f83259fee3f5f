//! Etsy listings (PLATFORMS.md §9 "Listings"): `findAllActiveListingsByShop` (API key only, no
//! `includes`), `getListingsByShop` (OAuth `listings_r`, `state`, `includes=Images`),
//! `getListingsByListingIds` and `getListingImages`, with offset pagination
//! (`{"count","results"}`), prices as `{amount, divisor, currency_code}`, and the per-app rate
//! limits (10 per second, 10 000 per sliding day) with their headers on every answer.

use std::sync::Arc;

use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::super::catalog::{Kind, Product, ShopCatalog, Status, plain_text};
use super::super::dispatch::RouteCtx;
use super::super::errors::{etsy, json_response};
use super::super::state::Shared;
use super::{authenticate, check_api_key, shop_id, user_id};
use crate::domain::Platform;

/// What the rate limiter counted, for the headers.
pub(crate) struct Usage {
    per_second: u32,
    second_left: u32,
    per_day: u32,
    day_left: u32,
}

impl Usage {
    pub fn apply(&self, mut res: Response) -> Response {
        let pairs = [
            ("x-limit-per-second", self.per_second),
            ("x-remaining-this-second", self.second_left),
            ("x-limit-per-day", self.per_day),
            ("x-remaining-today", self.day_left),
        ];
        for (name, value) in pairs {
            res.headers_mut()
                .insert(HeaderName::from_static(name), HeaderValue::from(value));
        }
        res
    }
}

/// Counts one request against the API key's per-second and per-day allowances; 429 with
/// `retry-after` when either is used up.
pub(crate) fn count_request(shared: &Shared, headers: &HeaderMap) -> Result<Usage, Response> {
    let key = super::super::oauth::header(headers, "x-api-key")
        .unwrap_or("")
        .to_owned();
    let now = shared.clock.now();
    let per_second = shared.config.etsy_requests_per_second;
    let per_day = shared.config.etsy_requests_per_day;
    let mut limits = super::super::state::lock(&shared.commerce_limits);
    let second = now.timestamp();
    let day = limits.etsy_day.entry(key.clone()).or_default();
    while day.front().is_some_and(|t| *t <= now - Duration::hours(24)) {
        day.pop_front();
    }
    let used_today = u32::try_from(day.len()).unwrap_or(u32::MAX);
    let oldest = day.front().copied();
    let (at, used_now) = limits
        .etsy_second
        .get(&key)
        .copied()
        .filter(|(s, _)| *s == second)
        .unwrap_or((second, 0));
    let refuse = |retry: i64, second_left: u32, day_left: u32| {
        let res = etsy(
            StatusCode::TOO_MANY_REQUESTS,
            "You have exceeded your API rate limit.",
        );
        let mut res = Usage {
            per_second,
            second_left,
            per_day,
            day_left,
        }
        .apply(res);
        res.headers_mut()
            .insert("retry-after", HeaderValue::from(retry.max(1)));
        res
    };
    if used_today >= per_day {
        let retry = oldest.map_or(1, |t: DateTime<Utc>| {
            (t + Duration::hours(24) - now).num_seconds() + 1
        });
        return Err(refuse(retry, per_second.saturating_sub(used_now), 0));
    }
    if used_now >= per_second {
        return Err(refuse(1, 0, per_day - used_today));
    }
    limits.etsy_second.insert(key.clone(), (at, used_now + 1));
    limits.etsy_day.entry(key).or_default().push_back(now);
    Ok(Usage {
        per_second,
        second_left: per_second - used_now - 1,
        per_day,
        day_left: per_day - used_today - 1,
    })
}

/// The account whose shop is `id`, or the 400/404 Etsy answers.
fn shop_owner(shared: &Shared, id: &str) -> Result<String, Response> {
    let owner = shared
        .store()
        .accounts(Platform::Etsy)
        .find(|account| shop_id(account) == id)
        .map(str::to_owned);
    owner.ok_or_else(|| {
        if id.parse::<u64>().is_err() {
            etsy(StatusCode::BAD_REQUEST, "Expected int value for 'shop_id'")
        } else {
            etsy(
                StatusCode::NOT_FOUND,
                &format!("Could not find a Shop with shop_id = {id}"),
            )
        }
    })
}

fn int_param(ctx: &RouteCtx, name: &str, default: u64, max: u64) -> Result<u64, Response> {
    match ctx.params().get(name) {
        None => Ok(default),
        Some(text) => match text.parse::<u64>() {
            Ok(n) if n <= max && !(name == "limit" && n == 0) => Ok(n),
            _ => Err(etsy(
                StatusCode::BAD_REQUEST,
                &format!("Invalid value for '{name}': {text:?} (expected an integer up to {max})"),
            )),
        },
    }
}

fn state_name(status: Status) -> &'static str {
    match status {
        Status::Active => "active",
        Status::Draft => "draft",
        Status::Archived => "inactive",
    }
}

fn images_json(p: &Product) -> Vec<Value> {
    p.images
        .iter()
        .enumerate()
        .map(|(rank, img)| {
            let sized = |w: u32, h: u32| {
                img.url.replace(
                    &format!("/{}/{}", img.width, img.height),
                    &format!("/{w}/{h}"),
                )
            };
            json!({
                "listing_id": p.id,
                "listing_image_id": img.id,
                "hex_code": null,
                "rank": rank + 1,
                "full_height": img.height,
                "full_width": img.width,
                "url_75x75": sized(75, 75),
                "url_170x135": sized(170, 135),
                "url_570xN": sized(570, 570 * img.height / img.width),
                "url_fullxfull": img.url,
                "alt_text": if img.alt.is_empty() { Value::Null } else { json!(img.alt) },
                "created_timestamp": p.created_at.timestamp(),
                "creation_tsz": p.created_at.timestamp(),
            })
        })
        .collect()
}

fn listing_json(cat: &ShopCatalog<'_>, account: &str, p: &Product, images: bool) -> Value {
    let quantity: i64 = p.variants.iter().map(|v| v.quantity.max(0)).sum();
    // Etsy shows one price per listing: the lowest variant's, in minor units.
    let price = p
        .price_range()
        .map(|(min, _)| json!({ "amount": min.0, "divisor": 100, "currency_code": "USD" }));
    let mut v = json!({
        "listing_id": p.id,
        "user_id": user_id(account).parse::<u64>().unwrap_or(0),
        "shop_id": cat.shop.parse::<u64>().unwrap_or(0),
        "title": p.title,
        "description": plain_text(&p.description_html),
        "state": state_name(p.status),
        "creation_timestamp": p.created_at.timestamp(),
        "created_timestamp": p.created_at.timestamp(),
        "ending_timestamp": (p.updated_at + Duration::days(120)).timestamp(),
        "original_creation_timestamp": p.created_at.timestamp(),
        "last_modified_timestamp": p.updated_at.timestamp(),
        "updated_timestamp": p.updated_at.timestamp(),
        "state_timestamp": p.updated_at.timestamp(),
        "quantity": quantity,
        "url": format!("https://www.etsy.com/listing/{}/{}", p.id, p.handle),
        "num_favorers": p.index % 37,
        "views": (p.index * 13) % 900,
        "tags": p.tags,
        "materials": ["stoneware", "glaze"],
        "taxonomy_id": 1065,
        "is_digital": p.kind == Kind::Digital,
        "has_variations": p.variants.len() > 1,
        "skus": p.variants.iter().map(|v| v.sku.clone()).collect::<Vec<_>>(),
        "price": price,
    });
    if images {
        v["images"] = json!(images_json(p));
    }
    v
}

fn page(
    cat: &ShopCatalog<'_>,
    account: &str,
    ctx: &RouteCtx,
    states: &[Status],
    includes_images: bool,
) -> Result<Value, Response> {
    let limit = int_param(ctx, "limit", 25, 100)?;
    let offset = int_param(ctx, "offset", 0, u64::from(u32::MAX))?;
    let params = ctx.params();
    let sort_on = params.get("sort_on").unwrap_or("created");
    let descending = match params.get("sort_order").unwrap_or("desc") {
        "desc" | "descending" | "down" => true,
        "asc" | "ascending" | "up" => false,
        other => {
            return Err(etsy(
                StatusCode::BAD_REQUEST,
                &format!(
                    "sort_order must be one of asc, ascending, desc, descending, up, down; not {other:?}"
                ),
            ));
        }
    };
    let keywords = params.get("keywords").map(str::to_lowercase);
    let mut rows: Vec<(i64, u64, usize)> = Vec::new();
    for head in cat
        .heads()
        .into_iter()
        .filter(|h| states.contains(&h.status))
    {
        let key = match sort_on {
            "created" | "score" => head.created.timestamp(),
            "updated" => head.updated.timestamp(),
            "price" => cat
                .product(head.index)
                .price_range()
                .map_or(0, |(min, _)| min.0),
            other => {
                return Err(etsy(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "sort_on must be one of created, price, updated, score; not {other:?}"
                    ),
                ));
            }
        };
        if let Some(k) = &keywords
            && !cat
                .product(head.index)
                .title
                .to_lowercase()
                .contains(k.as_str())
        {
            continue;
        }
        rows.push((key, head.id, head.index));
    }
    rows.sort_unstable();
    if descending {
        rows.reverse();
    }
    let results: Vec<Value> = rows
        .iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(limit as usize)
        .map(|(_, _, i)| listing_json(cat, account, &cat.product(*i), includes_images))
        .collect();
    Ok(json!({ "count": rows.len(), "results": results }))
}

/// `GET /v3/application/shops/{shop_id}/listings/active`: API key only; no `includes`.
pub(crate) async fn active(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(res) = check_api_key(&shared, &headers) {
        return res;
    }
    let usage = match count_request(&shared, &headers) {
        Ok(u) => u,
        Err(res) => return res,
    };
    let answer = (|| {
        if headers.contains_key("authorization") {
            authenticate(&shared, &headers)?;
        }
        if ctx.params().get("includes").is_some() {
            return Err(etsy(
                StatusCode::BAD_REQUEST,
                "Unexpected parameter 'includes': findAllActiveListingsByShop does not take includes; use getListingsByShop or getListingsByListingIds.",
            ));
        }
        let account = shop_owner(&shared, &id)?;
        let cat = ShopCatalog::new(&shared, Platform::Etsy, &id, shared.clock.now());
        page(&cat, &account, &ctx, &[Status::Active], false)
    })();
    usage.apply(match answer {
        Ok(body) => json_response(StatusCode::OK, body),
        Err(res) => res,
    })
}

fn wants_images(ctx: &RouteCtx) -> Result<bool, Response> {
    let params = ctx.params();
    let Some(includes) = params.get("includes") else {
        return Ok(false);
    };
    let mut images = false;
    for part in includes.split(',').map(str::trim) {
        match part {
            "Images" => images = true,
            "Shipping" | "Shop" | "User" | "Translations" | "Videos" | "Inventory"
            | "Personalization" => {}
            other => {
                return Err(etsy(
                    StatusCode::BAD_REQUEST,
                    &format!("Invalid value for 'includes': {other:?}"),
                ));
            }
        }
    }
    Ok(images)
}

/// `GET /v3/application/shops/{shop_id}/listings?state=…&includes=Images`: OAuth `listings_r`,
/// the token's own shop only.
pub(crate) async fn by_shop(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(res) = check_api_key(&shared, &headers) {
        return res;
    }
    let usage = match count_request(&shared, &headers) {
        Ok(u) => u,
        Err(res) => return res,
    };
    let answer = (|| {
        let token = authenticate(&shared, &headers)?;
        if !token.grant.has_scope("listings_r") {
            return Err(etsy(
                StatusCode::FORBIDDEN,
                "Access token is missing the required scope: listings_r",
            ));
        }
        let account = shop_owner(&shared, &id)?;
        if account != token.grant.account {
            return Err(etsy(
                StatusCode::FORBIDDEN,
                "The access token does not belong to the owner of this shop.",
            ));
        }
        let state = match ctx.params().get("state").unwrap_or("active") {
            "active" => Status::Active,
            "inactive" => Status::Archived,
            "draft" => Status::Draft,
            "sold_out" | "expired" => {
                // Nothing in the sandbox's shops sells out or expires.
                return Ok(json!({ "count": 0, "results": [] }));
            }
            other => {
                return Err(etsy(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "state must be one of active, inactive, sold_out, draft, expired; not {other:?}"
                    ),
                ));
            }
        };
        let images = wants_images(&ctx)?;
        let cat = ShopCatalog::new(&shared, Platform::Etsy, &id, shared.clock.now());
        page(&cat, &account, &ctx, &[state], images)
    })();
    usage.apply(match answer {
        Ok(body) => json_response(StatusCode::OK, body),
        Err(res) => res,
    })
}

/// Finds a listing in any known shop.
fn find_listing(shared: &Shared, listing_id: u64) -> Option<(String, String, usize)> {
    let accounts: Vec<String> = shared
        .store()
        .accounts(Platform::Etsy)
        .map(str::to_owned)
        .collect();
    let now = shared.clock.now();
    accounts.into_iter().find_map(|account| {
        let shop = shop_id(&account);
        let cat = ShopCatalog::new(shared, Platform::Etsy, &shop, now);
        let index = cat.index_of(listing_id).filter(|i| cat.exists(*i))?;
        Some((account, shop, index))
    })
}

/// `GET /v3/application/listings/batch?listing_ids=1,2&includes=Images`: API key; up to 100 ids.
pub(crate) async fn batch(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<RouteCtx>,
    headers: HeaderMap,
) -> Response {
    if let Err(res) = check_api_key(&shared, &headers) {
        return res;
    }
    let usage = match count_request(&shared, &headers) {
        Ok(u) => u,
        Err(res) => return res,
    };
    let answer = (|| {
        let params = ctx.params();
        let ids: Vec<&str> = params
            .get("listing_ids")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if ids.is_empty() || ids.len() > 100 {
            return Err(etsy(
                StatusCode::BAD_REQUEST,
                "listing_ids must hold between 1 and 100 listing ids",
            ));
        }
        let images = wants_images(&ctx)?;
        let now = shared.clock.now();
        let mut results = Vec::new();
        for id in ids {
            let Ok(n) = id.parse::<u64>() else {
                return Err(etsy(
                    StatusCode::BAD_REQUEST,
                    &format!("Expected int value for 'listing_ids', got {id:?}"),
                ));
            };
            if let Some((account, shop, index)) = find_listing(&shared, n) {
                let cat = ShopCatalog::new(&shared, Platform::Etsy, &shop, now);
                results.push(listing_json(&cat, &account, &cat.product(index), images));
            }
        }
        Ok(json!({ "count": results.len(), "results": results }))
    })();
    usage.apply(match answer {
        Ok(body) => json_response(StatusCode::OK, body),
        Err(res) => res,
    })
}

/// `GET /v3/application/listings/{listing_id}/images`: API key.
pub(crate) async fn images(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(res) = check_api_key(&shared, &headers) {
        return res;
    }
    let usage = match count_request(&shared, &headers) {
        Ok(u) => u,
        Err(res) => return res,
    };
    let answer = match id.parse::<u64>() {
        Err(_) => etsy(
            StatusCode::BAD_REQUEST,
            "Expected int value for 'listing_id'",
        ),
        Ok(n) => match find_listing(&shared, n) {
            None => etsy(
                StatusCode::NOT_FOUND,
                &format!("Could not find a Listing with listing_id = {id}"),
            ),
            Some((_, shop, index)) => {
                let cat = ShopCatalog::new(&shared, Platform::Etsy, &shop, shared.clock.now());
                let images = images_json(&cat.product(index));
                json_response(
                    StatusCode::OK,
                    json!({ "count": images.len(), "results": images }),
                )
            }
        },
    };
    usage.apply(answer)
}
