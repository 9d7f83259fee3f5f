//! `QueryRoot.products` / `product` / `productsCount` (PLATFORMS.md §8 "Products query"): the
//! shop's catalog as a cursor connection with `first/after`, `last/before`, `query`
//! (`updated_at:>'…'`, `created_at`, `status`, `id`), `sortKey` (`ID`, `UPDATED_AT`,
//! `CREATED_AT`) and `reverse`. Cursors are what Shopify's look like: base64 of
//! `{"last_id":…,"last_value":"…"}`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

use super::super::catalog::{Head, Image, Product, ShopCatalog, Status, Variant, plain_text};
use super::super::graphql::{Exec, Field, GqlError};

/// Shopify's page size limit.
const MAX_PAGE: u64 = 250;

pub(crate) fn error(field: &Field, path: &[String], message: String, code: &str) -> GqlError {
    GqlError {
        message,
        line: field.line,
        column: field.column,
        path: path.to_vec(),
        extensions: Some(json!({ "code": code })),
    }
}

pub(crate) fn check_args(field: &Field, path: &[String], allowed: &[&str]) -> Result<(), GqlError> {
    match field
        .args
        .iter()
        .find(|(n, _)| !allowed.contains(&n.as_str()))
    {
        None => Ok(()),
        Some((name, _)) => Err(GqlError {
            message: format!("Field '{}' doesn't accept argument '{name}'", field.name),
            line: field.line,
            column: field.column,
            path: path.to_vec(),
            extensions: Some(json!({
                "code": "argumentNotAccepted",
                "name": field.name,
                "typeName": "Field",
                "argumentName": name,
            })),
        }),
    }
}

/// One page of a connection: the items with their cursors.
pub(crate) struct Page<T> {
    pub items: Vec<(String, T)>,
    pub has_next: bool,
    pub has_previous: bool,
}

/// The `first`/`last` window asked for, checked the way Shopify checks it.
fn window(exec: &Exec<'_>, field: &Field, path: &[String]) -> Result<(u64, bool), GqlError> {
    let first = exec.arg(field, "first");
    let last = exec.arg(field, "last");
    let (n, from_end) = match (first, last) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(error(
                field,
                path,
                "you must provide one of first or last".into(),
                "BAD_REQUEST",
            ));
        }
        (Some(n), None) => (n, false),
        (None, Some(n)) => (n, true),
    };
    let Some(n) = n.as_i64() else {
        return Err(error(
            field,
            path,
            format!(
                "Argument '{}' on Field '{}' has an invalid value ({n}). Expected type 'Int'.",
                if from_end { "last" } else { "first" },
                field.name
            ),
            "argumentLiteralsIncompatible",
        ));
    };
    if !(0..=MAX_PAGE as i64).contains(&n) {
        return Err(error(
            field,
            path,
            format!(
                "The '{}' argument must be between 0 and {MAX_PAGE}.",
                if from_end { "last" } else { "first" }
            ),
            "BAD_REQUEST",
        ));
    }
    Ok((n as u64, from_end))
}

/// Answers one node of a connection from its item.
pub(crate) type NodeResolver<'r, 'a, T> =
    dyn FnMut(&mut Exec<'a>, &T, &'a Field, &[String]) -> Result<Value, GqlError> + 'r;

/// Renders a connection: `edges { cursor node }`, `nodes`, `pageInfo`. Adds the two points a
/// connection costs; each node adds its own point as it is resolved.
pub(crate) fn connection<'a, T>(
    exec: &mut Exec<'a>,
    type_name: &str,
    field: &'a Field,
    path: &[String],
    page: &Page<T>,
    node: &mut NodeResolver<'_, 'a, T>,
) -> Result<Value, GqlError> {
    exec.needs_selection(field, path, &format!("{type_name}Connection"))?;
    exec.cost += 2;
    let connection = format!("{type_name}Connection");
    let edge = format!("{type_name}Edge");
    exec.object(
        &connection,
        &field.selection,
        path,
        &mut |exec, f, path| match f.name.as_str() {
            "edges" => {
                exec.no_arguments(f, path)?;
                exec.needs_selection(f, path, &edge)?;
                let mut out = Vec::new();
                for (n, (cursor, item)) in page.items.iter().enumerate() {
                    let mut here = path.to_vec();
                    here.push(n.to_string());
                    out.push(
                        exec.object(&edge, &f.selection, &here, &mut |exec, g, path| match g
                            .name
                            .as_str()
                        {
                            "cursor" => exec.scalar(g, path, json!(cursor)),
                            "node" => {
                                exec.no_arguments(g, path)?;
                                exec.needs_selection(g, path, type_name)?;
                                node(exec, item, g, path).map(Some)
                            }
                            _ => Ok(None),
                        })?,
                    );
                }
                Ok(Some(Value::Array(out)))
            }
            "nodes" => {
                exec.no_arguments(f, path)?;
                exec.needs_selection(f, path, type_name)?;
                let mut out = Vec::new();
                for (n, (_, item)) in page.items.iter().enumerate() {
                    let mut here = path.to_vec();
                    here.push(n.to_string());
                    out.push(node(exec, item, f, &here)?);
                }
                Ok(Some(Value::Array(out)))
            }
            "pageInfo" => {
                exec.no_arguments(f, path)?;
                exec.needs_selection(f, path, "PageInfo")?;
                let start = page.items.first().map(|(c, _)| c.clone());
                let end = page.items.last().map(|(c, _)| c.clone());
                exec.object("PageInfo", &f.selection, path, &mut |exec, g, path| {
                    let v = match g.name.as_str() {
                        "hasNextPage" => json!(page.has_next),
                        "hasPreviousPage" => json!(page.has_previous),
                        "startCursor" => json!(start),
                        "endCursor" => json!(end),
                        _ => return Ok(None),
                    };
                    exec.scalar(g, path, v)
                })
                .map(Some)
            }
            _ => Ok(None),
        },
    )
}

/// A small list (variants, media) paged by position.
fn list_page<T: Clone>(
    exec: &Exec<'_>,
    field: &Field,
    path: &[String],
    all: &[T],
    prefix: &str,
) -> Result<Page<T>, GqlError> {
    check_args(
        field,
        path,
        &["first", "last", "after", "before", "reverse"],
    )?;
    let (n, from_end) = window(exec, field, path)?;
    let position = |arg: &str| -> Option<usize> {
        let raw = exec.arg(field, arg)?;
        let decoded = STANDARD.decode(raw.as_str()?).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        text.strip_prefix(prefix)?.parse().ok()
    };
    let after = position("after").map_or(0, |p| p + 1);
    let before = position("before").unwrap_or(all.len()).min(all.len());
    let range: Vec<usize> = (after..before).collect();
    let n = n as usize;
    let chosen: Vec<usize> = if from_end {
        range[range.len().saturating_sub(n)..].to_vec()
    } else {
        range.iter().take(n).copied().collect()
    };
    Ok(Page {
        has_next: chosen.last().is_some_and(|l| l + 1 < before),
        has_previous: chosen.first().is_some_and(|f| *f > after),
        items: chosen
            .into_iter()
            .map(|i| (STANDARD.encode(format!("{prefix}{i}")), all[i].clone()))
            .collect(),
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum SortKey {
    Id,
    UpdatedAt,
    CreatedAt,
}

/// One `field:value` term of the search syntax.
pub(crate) struct Term {
    pub field: String,
    pub op: &'static str,
    pub value: String,
}

pub(crate) fn terms(query: &str) -> Vec<Term> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut words = Vec::new();
    for c in query.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => current.push(c),
            (None, '\'' | '"') => quote = Some(c),
            (None, c) if c.is_whitespace() => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            (None, c) => current.push(c),
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    for w in words {
        let Some((field, rest)) = w.split_once(':') else {
            continue;
        };
        let (op, value) = [">=", "<=", ">", "<"]
            .into_iter()
            .find_map(|op| rest.strip_prefix(op).map(|v| (op, v)))
            .unwrap_or(("=", rest));
        out.push(Term {
            field: field.to_ascii_lowercase(),
            op,
            value: value.to_owned(),
        });
    }
    out
}

pub(crate) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S") {
        return Some(t.and_utc());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

pub(crate) fn compare<T: PartialOrd>(left: T, op: &str, right: T) -> bool {
    match op {
        ">" => left > right,
        ">=" => left >= right,
        "<" => left < right,
        "<=" => left <= right,
        _ => left == right,
    }
}

fn status_name(status: Status) -> &'static str {
    match status {
        Status::Active => "ACTIVE",
        Status::Draft => "DRAFT",
        Status::Archived => "ARCHIVED",
    }
}

/// Whether a product's keys satisfy every term of a `query`.
pub(crate) fn matches(terms: &[Term], h: &Head) -> bool {
    terms.iter().all(|t| match t.field.as_str() {
        "updated_at" => parse_time(&t.value).is_none_or(|at| compare(h.updated, t.op, at)),
        "created_at" => parse_time(&t.value).is_none_or(|at| compare(h.created, t.op, at)),
        "status" => t
            .value
            .split(',')
            .any(|s| s.eq_ignore_ascii_case(status_name(h.status))),
        "id" => t
            .value
            .parse::<u64>()
            .is_ok_and(|id| compare(h.id, t.op, id)),
        // Other fields and free text are not emulated: they select everything.
        _ => true,
    })
}

/// The indices of the products `query` selects, in `sort_key` order.
fn select(
    cat: &ShopCatalog<'_>,
    query: Option<&str>,
    sort_key: SortKey,
    reverse: bool,
) -> Vec<(i64, u64, usize)> {
    let terms = query.map(terms).unwrap_or_default();
    let mut rows: Vec<(i64, u64, usize)> = cat
        .heads()
        .into_iter()
        .filter(|h| matches(&terms, h))
        .map(|h| {
            let key = match sort_key {
                SortKey::Id => h.id as i64,
                SortKey::UpdatedAt => h.updated.timestamp_millis(),
                SortKey::CreatedAt => h.created.timestamp_millis(),
            };
            (key, h.id, h.index)
        })
        .collect();
    rows.sort_unstable();
    if reverse {
        rows.reverse();
    }
    rows
}

pub(crate) fn cursor_of(sort_key: SortKey, key: i64, id: u64) -> String {
    let value = match sort_key {
        SortKey::Id => id.to_string(),
        SortKey::UpdatedAt | SortKey::CreatedAt => DateTime::from_timestamp_millis(key)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default(),
    };
    STANDARD.encode(json!({ "last_id": id, "last_value": value }).to_string())
}

pub(crate) fn decode_cursor(sort_key: SortKey, cursor: &str) -> Option<(i64, u64)> {
    let bytes = STANDARD.decode(cursor).ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    let id = v.get("last_id")?.as_u64()?;
    let value = v.get("last_value")?.as_str()?;
    let key = match sort_key {
        SortKey::Id => value.parse::<u64>().ok()? as i64,
        SortKey::UpdatedAt | SortKey::CreatedAt => {
            DateTime::parse_from_rfc3339(value).ok()?.timestamp_millis()
        }
    };
    Some((key, id))
}

/// `products(first:, after:, last:, before:, query:, sortKey:, reverse:)`.
pub(crate) fn products<'a>(
    exec: &mut Exec<'a>,
    cat: &ShopCatalog<'_>,
    field: &'a Field,
    path: &[String],
) -> Result<Value, GqlError> {
    check_args(
        field,
        path,
        &[
            "first", "last", "after", "before", "query", "sortKey", "reverse",
        ],
    )?;
    let (n, from_end) = window(exec, field, path)?;
    let sort_key = match exec.arg(field, "sortKey").as_ref().and_then(Value::as_str) {
        None | Some("ID") => SortKey::Id,
        Some("UPDATED_AT") => SortKey::UpdatedAt,
        Some("CREATED_AT") => SortKey::CreatedAt,
        Some(other) => {
            return Err(error(
                field,
                path,
                format!(
                    "Argument 'sortKey' on Field 'products' has an invalid value ({other}). Expected type 'ProductSortKeys'. (The sandbox emulates ID, UPDATED_AT and CREATED_AT.)"
                ),
                "argumentLiteralsIncompatible",
            ));
        }
    };
    let reverse = exec
        .arg(field, "reverse")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let query = exec
        .arg(field, "query")
        .and_then(|v| v.as_str().map(str::to_owned));
    let rows = select(cat, query.as_deref(), sort_key, reverse);
    let bound = |arg: &str| -> Result<Option<(i64, u64)>, GqlError> {
        match exec.arg(field, arg) {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .and_then(|c| decode_cursor(sort_key, c))
                .map(Some)
                .ok_or_else(|| {
                    error(
                        field,
                        path,
                        "Invalid cursor for current pagination sort.".into(),
                        "BAD_REQUEST",
                    )
                }),
        }
    };
    let after = bound("after")?;
    let before = bound("before")?;
    let in_order = |a: (i64, u64), b: (i64, u64)| if reverse { a > b } else { a < b };
    let start = after.map_or(0, |a| {
        rows.iter()
            .position(|r| in_order(a, (r.0, r.1)))
            .unwrap_or(rows.len())
    });
    let end = before.map_or(rows.len(), |b| {
        rows.iter()
            .position(|r| !in_order((r.0, r.1), b))
            .unwrap_or(rows.len())
    });
    let end = end.max(start);
    let n = n as usize;
    let (from, to) = if from_end {
        (end.saturating_sub(n).max(start), end)
    } else {
        (start, (start + n).min(end))
    };
    let page = Page {
        items: rows[from..to]
            .iter()
            .map(|(k, id, i)| (cursor_of(sort_key, *k, *id), *i))
            .collect(),
        has_next: to < end,
        has_previous: from > start,
    };
    connection(
        exec,
        "Product",
        field,
        path,
        &page,
        &mut |exec, i, f, path| product_object(exec, cat, &cat.product(*i), f, path),
    )
}

/// `product(id: "gid://shopify/Product/…")`: `null` when there is no such product.
pub(crate) fn product<'a>(
    exec: &mut Exec<'a>,
    cat: &ShopCatalog<'_>,
    field: &'a Field,
    path: &[String],
) -> Result<Value, GqlError> {
    check_args(field, path, &["id"])?;
    exec.needs_selection(field, path, "Product")?;
    let id = exec.arg(field, "id");
    let index = id
        .as_ref()
        .and_then(Value::as_str)
        .and_then(|gid| gid.strip_prefix("gid://shopify/Product/"))
        .and_then(|n| n.parse::<u64>().ok())
        .and_then(|n| cat.index_of(n))
        .filter(|i| cat.exists(*i));
    match index {
        Some(i) => product_object(exec, cat, &cat.product(i), field, path),
        None => Ok(Value::Null),
    }
}

/// `productsCount(query:) { count precision }`.
pub(crate) fn products_count<'a>(
    exec: &mut Exec<'a>,
    cat: &ShopCatalog<'_>,
    field: &'a Field,
    path: &[String],
) -> Result<Value, GqlError> {
    check_args(field, path, &["query", "limit"])?;
    exec.needs_selection(field, path, "Count")?;
    let query = exec
        .arg(field, "query")
        .and_then(|v| v.as_str().map(str::to_owned));
    let count = select(cat, query.as_deref(), SortKey::Id, false).len();
    exec.object("Count", &field.selection, path, &mut |exec, f, path| {
        let v = match f.name.as_str() {
            "count" => json!(count),
            "precision" => json!("EXACT"),
            _ => return Ok(None),
        };
        exec.scalar(f, path, v)
    })
}

fn money<'a>(
    exec: &mut Exec<'a>,
    field: &'a Field,
    path: &[String],
    amount: String,
) -> Result<Value, GqlError> {
    exec.no_arguments(field, path)?;
    exec.needs_selection(field, path, "MoneyV2")?;
    exec.object("MoneyV2", &field.selection, path, &mut |exec, f, path| {
        let v = match f.name.as_str() {
            "amount" => json!(amount),
            "currencyCode" => json!("USD"),
            _ => return Ok(None),
        };
        exec.scalar(f, path, v)
    })
}

fn image_object<'a>(
    exec: &mut Exec<'a>,
    image: &Image,
    field: &'a Field,
    path: &[String],
) -> Result<Value, GqlError> {
    exec.needs_selection(field, path, "Image")?;
    exec.object("Image", &field.selection, path, &mut |exec, f, path| {
        let v = match f.name.as_str() {
            "id" => json!(format!("gid://shopify/ProductImage/{}", image.id)),
            "url" | "src" | "originalSrc" | "transformedSrc" => {
                // `url(transform: …)` takes arguments; the sandbox ignores them.
                if f.selection.is_empty() {
                    return Ok(Some(json!(image.url)));
                }
                json!(image.url)
            }
            "altText" => json!(if image.alt.is_empty() {
                Value::Null
            } else {
                json!(image.alt)
            }),
            "width" => json!(image.width),
            "height" => json!(image.height),
            _ => return Ok(None),
        };
        exec.scalar(f, path, v)
    })
}

/// A `MediaImage` (the only media kind the sandbox's products have).
fn media_object<'a>(
    exec: &mut Exec<'a>,
    image: &Image,
    field: &'a Field,
    path: &[String],
) -> Result<Value, GqlError> {
    exec.needs_selection(field, path, "Media")?;
    exec.object(
        "MediaImage",
        &field.selection,
        path,
        &mut |exec, f, path| {
            let v = match f.name.as_str() {
                "id" => json!(format!("gid://shopify/MediaImage/{}", image.id)),
                "alt" => json!(image.alt),
                "mediaContentType" => json!("IMAGE"),
                "status" => json!("READY"),
                "image" => {
                    exec.no_arguments(f, path)?;
                    return image_object(exec, image, f, path).map(Some);
                }
                "preview" => {
                    exec.no_arguments(f, path)?;
                    exec.needs_selection(f, path, "MediaPreviewImage")?;
                    return exec
                        .object(
                            "MediaPreviewImage",
                            &f.selection,
                            path,
                            &mut |exec, g, path| match g.name.as_str() {
                                "image" => image_object(exec, image, g, path).map(Some),
                                "status" => exec.scalar(g, path, json!("READY")),
                                _ => Ok(None),
                            },
                        )
                        .map(Some);
                }
                _ => return Ok(None),
            };
            exec.scalar(f, path, v)
        },
    )
}

fn variant_object<'a>(
    exec: &mut Exec<'a>,
    v: &Variant,
    field: &'a Field,
    path: &[String],
) -> Result<Value, GqlError> {
    exec.object(
        "ProductVariant",
        &field.selection,
        path,
        &mut |exec, f, path| {
            let value = match f.name.as_str() {
                "id" => json!(format!("gid://shopify/ProductVariant/{}", v.id)),
                "legacyResourceId" => json!(v.id.to_string()),
                "title" => json!(v.title),
                "displayName" => json!(v.title),
                "sku" => json!(v.sku),
                // Money is a decimal string; a variant without a price is "0.00" in Shopify.
                "price" => json!(v.price.map_or_else(|| "0.00".to_owned(), |p| p.decimal())),
                "compareAtPrice" => json!(v.compare_at.map(|p| p.decimal())),
                "inventoryQuantity" => json!(v.quantity),
                "availableForSale" => json!(v.price.is_some() && v.quantity > 0),
                "selectedOptions" => {
                    exec.no_arguments(f, path)?;
                    exec.needs_selection(f, path, "SelectedOption")?;
                    let options: Vec<(String, String)> = match &v.option {
                        Some(o) => vec![o.clone()],
                        None => vec![("Title".to_owned(), "Default Title".to_owned())],
                    };
                    let mut out = Vec::new();
                    for (n, (name, value)) in options.iter().enumerate() {
                        let mut here = path.to_vec();
                        here.push(n.to_string());
                        out.push(exec.object(
                            "SelectedOption",
                            &f.selection,
                            &here,
                            &mut |exec, g, path| {
                                let x = match g.name.as_str() {
                                    "name" => json!(name),
                                    "value" => json!(value),
                                    _ => return Ok(None),
                                };
                                exec.scalar(g, path, x)
                            },
                        )?);
                    }
                    return Ok(Some(Value::Array(out)));
                }
                _ => return Ok(None),
            };
            exec.scalar(f, path, value)
        },
    )
}

pub(crate) fn product_object<'a>(
    exec: &mut Exec<'a>,
    cat: &ShopCatalog<'_>,
    p: &Product,
    field: &'a Field,
    path: &[String],
) -> Result<Value, GqlError> {
    let rfc = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    exec.object("Product", &field.selection, path, &mut |exec, f, path| {
        let v = match f.name.as_str() {
            "id" => json!(format!("gid://shopify/Product/{}", p.id)),
            "legacyResourceId" => json!(p.id.to_string()),
            "title" => json!(p.title),
            "handle" => json!(p.handle),
            "descriptionHtml" => json!(p.description_html),
            "description" => {
                check_args(f, path, &["truncateAt"])?;
                let text = plain_text(&p.description_html);
                let text = match exec.arg(f, "truncateAt").and_then(|v| v.as_u64()) {
                    Some(n) => text.chars().take(n as usize).collect(),
                    None => text,
                };
                return Ok(Some(json!(text)));
            }
            "status" => json!(status_name(p.status)),
            "tags" => json!(p.tags),
            "vendor" => json!("Maple & Moss"),
            "productType" => json!("Ceramics"),
            "createdAt" => json!(rfc(p.created_at)),
            "updatedAt" => json!(rfc(p.updated_at)),
            "publishedAt" => json!((p.status == Status::Active).then(|| rfc(p.created_at))),
            "onlineStoreUrl" => json!(
                (p.status == Status::Active)
                    .then(|| format!("https://{}/products/{}", cat.shop, p.handle))
            ),
            "totalInventory" => json!(p.variants.iter().map(|v| v.quantity).sum::<i64>()),
            "hasOnlyDefaultVariant" => json!(p.variants.len() == 1),
            "featuredMedia" => {
                exec.no_arguments(f, path)?;
                return match p.images.first() {
                    Some(img) => media_object(exec, img, f, path).map(Some),
                    None => {
                        exec.needs_selection(f, path, "Media")?;
                        Ok(Some(Value::Null))
                    }
                };
            }
            "featuredImage" => {
                exec.no_arguments(f, path)?;
                return match p.images.first() {
                    Some(img) => image_object(exec, img, f, path).map(Some),
                    None => {
                        exec.needs_selection(f, path, "Image")?;
                        Ok(Some(Value::Null))
                    }
                };
            }
            "media" => {
                let page = list_page(exec, f, path, &p.images, "media:")?;
                return connection(exec, "Media", f, path, &page, &mut |exec, img, g, path| {
                    media_object(exec, img, g, path)
                })
                .map(Some);
            }
            "images" => {
                let page = list_page(exec, f, path, &p.images, "image:")?;
                return connection(exec, "Image", f, path, &page, &mut |exec, img, g, path| {
                    image_object(exec, img, g, path)
                })
                .map(Some);
            }
            "variants" => {
                let page = list_page(exec, f, path, &p.variants, "variant:")?;
                return connection(
                    exec,
                    "ProductVariant",
                    f,
                    path,
                    &page,
                    &mut |exec, v, g, path| variant_object(exec, v, g, path),
                )
                .map(Some);
            }
            "priceRangeV2" | "priceRange" => {
                exec.no_arguments(f, path)?;
                exec.needs_selection(f, path, "ProductPriceRangeV2")?;
                let (min, max) = p
                    .price_range()
                    .map_or(("0.00".to_owned(), "0.00".to_owned()), |(a, b)| {
                        (a.decimal(), b.decimal())
                    });
                return exec
                    .object(
                        "ProductPriceRangeV2",
                        &f.selection,
                        path,
                        &mut |exec, g, path| match g.name.as_str() {
                            "minVariantPrice" => money(exec, g, path, min.clone()).map(Some),
                            "maxVariantPrice" => money(exec, g, path, max.clone()).map(Some),
                            _ => Ok(None),
                        },
                    )
                    .map(Some);
            }
            _ => return Ok(None),
        };
        exec.scalar(f, path, v)
    })
}
