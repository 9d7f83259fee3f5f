//! The product catalogs behind Shopify, Etsy and Squarespace: one deterministic generator, fed
//! the seed, the platform and the shop, that every platform module renders in its own shape.
//!
//! Product `i` of a shop is a pure function of `(seed, platform, shop, i)` and of how many
//! simulated hours have passed since the sandbox started (its epoch): about a quarter of the
//! products change every few hours (price, stock, tags, `updated_at`), a few are archived
//! (removed from sale) at a fixed hour, and tests can edit or delete products by hand through
//! `POST /_sandbox/catalog/...` or [`Sandbox::edit_product`](super::Sandbox::edit_product). Only
//! those hand edits are stored (each one, with its time, so the catalog can be seen as of any
//! moment); everything else is recomputed on every request, so a shop of 100 000 products costs
//! no memory.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::personas;
use crate::domain::Platform;

/// Products per shop unless configured otherwise (`--products N`).
pub const DEFAULT_PRODUCTS: usize = 1_200;

/// Shopify may not hand out an amount of money as a number; every platform gets cents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cents(pub i64);

impl Cents {
    /// `1999` → `"19.99"`: an exact decimal string.
    pub fn decimal(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Variant {
    pub id: u64,
    pub title: String,
    pub sku: String,
    /// `None` for the products sold without a price ("price on request").
    pub price: Option<Cents>,
    pub compare_at: Option<Cents>,
    pub quantity: i64,
    /// `("Color", "Sage")`, when the product has options.
    pub option: Option<(String, String)>,
}

#[derive(Clone, Debug)]
pub(crate) struct Image {
    pub id: u64,
    pub url: String,
    pub alt: String,
    pub width: u32,
    pub height: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Active,
    Draft,
    /// Taken off sale by the passing of time; Etsy shows it as `inactive`, Squarespace hides it.
    Archived,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Physical,
    Digital,
}

#[derive(Clone, Debug)]
pub(crate) struct Product {
    pub index: usize,
    /// Monotonic in `index`, so sorting by id is sorting by creation.
    pub id: u64,
    pub title: String,
    pub handle: String,
    pub description_html: String,
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub status: Status,
    pub kind: Kind,
    pub variants: Vec<Variant>,
    pub images: Vec<Image>,
}

impl Product {
    /// The lowest and highest variant price; `None` when no variant has one.
    pub fn price_range(&self) -> Option<(Cents, Cents)> {
        let prices: Vec<i64> = self
            .variants
            .iter()
            .filter_map(|v| v.price.map(|p| p.0))
            .collect();
        Some((Cents(*prices.iter().min()?), Cents(*prices.iter().max()?)))
    }
}

/// What lists are sorted and filtered by.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Head {
    pub index: usize,
    pub id: u64,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub status: Status,
}

/// A hand edit, as posted to `POST /_sandbox/catalog/{platform}/{shop}/{index}`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProductEdit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Every variant's new price as a decimal string (`"12.50"`); `""` removes the price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description_html: Option<String>,
    /// Take the product off sale (Shopify `ARCHIVED`, Etsy `inactive`, Squarespace hidden).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub archive: bool,
    /// Delete the product: it is no longer listed anywhere.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delete: bool,
}

impl ProductEdit {
    /// The price as cents: `Ok(None)` to leave it, `Ok(Some(None))` to remove it.
    pub(crate) fn cents(&self) -> Result<Option<Option<Cents>>, String> {
        match self.price.as_deref() {
            None => Ok(None),
            Some("") => Ok(Some(None)),
            Some(text) => parse_decimal(text)
                .map(|c| Some(Some(c)))
                .ok_or_else(|| format!("price must be a decimal like \"12.50\", not {text:?}")),
        }
    }
}

fn parse_decimal(text: &str) -> Option<Cents> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || frac.len() > 2 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = format!("{frac:0<2}").parse().ok()?;
    Some(Cents(whole.checked_mul(100)?.checked_add(frac)?))
}

#[derive(Clone, Debug)]
struct Edited {
    edit: ProductEdit,
    at: DateTime<Utc>,
    /// How many hand edits so far (each bumps the product's version).
    count: u32,
    /// When the product was deleted by hand (the first edit that deleted it).
    deleted_at: Option<DateTime<Utc>>,
}

/// A hand edit and when it was made.
type TimedEdit = (ProductEdit, DateTime<Utc>);

impl Edited {
    /// What a product's edits made up to `now` add up to: later edits keep what earlier ones
    /// set unless they set it again. `None` when none was made by then.
    fn as_of(history: &[TimedEdit], now: DateTime<Utc>) -> Option<Edited> {
        let mut out: Option<Edited> = None;
        for (edit, at) in history.iter().filter(|(_, at)| *at <= now) {
            let mut merged = edit.clone();
            let mut deleted_at = edit.delete.then_some(*at);
            let mut count = 1;
            if let Some(old) = out.take() {
                merged.title = merged.title.or(old.edit.title);
                merged.price = merged.price.or(old.edit.price);
                merged.description_html = merged.description_html.or(old.edit.description_html);
                merged.archive |= old.edit.archive;
                merged.delete |= old.edit.delete;
                deleted_at = old.deleted_at.or(deleted_at);
                count += old.count;
            }
            out = Some(Edited {
                edit: merged,
                at: *at,
                count,
                deleted_at,
            });
        }
        out
    }
}

/// The hand edits and the sandbox's epoch; everything else is derived.
pub(crate) struct CatalogState {
    epoch: DateTime<Utc>,
    /// Every hand edit of each product, oldest first, so the catalog can be seen as it stood
    /// at any moment (a bulk operation's file is the catalog as of its completion).
    edits: HashMap<(Platform, String, usize), Vec<TimedEdit>>,
    /// Squarespace's dynamic cursors: token → where the next page starts.
    pub cursors: HashMap<String, serde_json::Value>,
}

impl CatalogState {
    pub fn new(epoch: DateTime<Utc>) -> Self {
        Self {
            // Whole seconds, so every derived timestamp is too.
            epoch: seconds(epoch),
            edits: HashMap::new(),
            cursors: HashMap::new(),
        }
    }

    pub fn edit(
        &mut self,
        platform: Platform,
        shop: &str,
        index: usize,
        edit: ProductEdit,
        now: DateTime<Utc>,
    ) {
        self.edits
            .entry((platform, shop.to_owned(), index))
            .or_default()
            .push((edit, seconds(now)));
    }
}

/// One shop's catalog as it stands at `now`.
pub(crate) struct ShopCatalog<'a> {
    pub seed: u64,
    pub platform: Platform,
    pub shop: &'a str,
    pub count: usize,
    pub epoch: DateTime<Utc>,
    pub now: DateTime<Utc>,
    edits: HashMap<usize, Edited>,
}

impl<'a> ShopCatalog<'a> {
    /// The catalog as it stood at `now`: hand edits made later are left out (a bulk operation's
    /// file is generated as of its completion, after the edits that came since).
    pub fn new(
        shared: &super::state::Shared,
        platform: Platform,
        shop: &'a str,
        now: DateTime<Utc>,
    ) -> Self {
        let state = shared.catalog();
        let edits = state
            .edits
            .iter()
            .filter(|((p, s, _), _)| *p == platform && s == shop)
            .filter_map(|((_, _, i), history)| Some((*i, Edited::as_of(history, now)?)))
            .collect();
        Self {
            seed: shared.config.seed,
            platform,
            shop,
            count: shared.config.products_per_shop,
            epoch: state.epoch,
            now,
            edits,
        }
    }

    fn hash(&self, index: usize, what: &str) -> u64 {
        let seed = self.seed.to_string();
        let index = index.to_string();
        let d = personas::digest(&[
            "catalog",
            &seed,
            self.platform.as_str(),
            self.shop,
            &index,
            what,
        ]);
        u64::from_le_bytes(d[..8].try_into().unwrap_or([0; 8]))
    }

    /// Whole simulated hours since the epoch.
    fn hours(&self) -> i64 {
        (self.now - self.epoch).num_seconds().max(0) / 3600
    }

    /// Whether product `index` exists (is not deleted) now.
    pub fn exists(&self, index: usize) -> bool {
        index < self.count && !self.edits.get(&index).is_some_and(|e| e.edit.delete)
    }

    /// The numeric id of product `index`: monotonic, 13 digits, like Shopify's.
    pub fn id(&self, index: usize) -> u64 {
        let base = 7_000_000_000_000 + (self.hash(0, "id-base") % 500_000_000_000);
        base + index as u64 * 1_000 + self.hash(index, "id") % 1_000
    }

    /// The index whose id is `id`, when there is one.
    pub fn index_of(&self, id: u64) -> Option<usize> {
        let base = self.id(0) - self.hash(0, "id") % 1_000;
        let index = usize::try_from(id.checked_sub(base)? / 1_000).ok()?;
        (index < self.count && self.id(index) == id).then_some(index)
    }

    /// Every existing product's sort and filter keys, cheaply (no descriptions or images).
    pub fn heads(&self) -> Vec<Head> {
        (0..self.count)
            .filter(|i| self.exists(*i))
            .map(|index| self.head(index))
            .collect()
    }

    /// Product `index`'s sort and filter keys.
    pub fn head(&self, index: usize) -> Head {
        let (updated, status, _) = self.timeline(index);
        Head {
            index,
            id: self.id(index),
            created: self.created_at(index),
            updated,
            status,
        }
    }

    /// `(deleted at, product id)` of every product deleted by hand, oldest first.
    pub fn deletions(&self) -> Vec<(DateTime<Utc>, u64)> {
        let mut out: Vec<_> = self
            .edits
            .iter()
            .filter_map(|(i, e)| Some((e.deleted_at?, self.id(*i))))
            .collect();
        out.sort_unstable();
        out
    }

    /// `(updated_at, status, version)` of product `index` now.
    fn timeline(&self, index: usize) -> (DateTime<Utc>, Status, u32) {
        let created = self.created_at(index);
        let base_age = (self.hash(index, "updated") % (created_span(self.epoch, created))) as i64;
        let mut updated = created + Duration::seconds(base_age);
        // Every 40th product is an unpublished draft.
        let mut status = if index % 40 == 39 {
            Status::Draft
        } else {
            Status::Active
        };
        let hours = self.hours();
        let mut version = 0;
        // About a quarter of the products change every `period` hours from hour `phase`.
        if self.hash(index, "churns").is_multiple_of(4) {
            let period = 1 + (self.hash(index, "period") % 12) as i64;
            let phase = 1 + (self.hash(index, "phase") % 6) as i64;
            if hours >= phase {
                let changes = (hours - phase) / period + 1;
                let hour = phase + (changes - 1) * period;
                let minute = (self.hash(index, "minute") % 3600) as i64;
                let at = self.epoch + Duration::seconds(hour * 3600 + minute);
                if at <= self.now {
                    updated = at;
                    version = u32::try_from(changes).unwrap_or(u32::MAX);
                } else if changes > 1 {
                    updated = at - Duration::hours(period);
                    version = u32::try_from(changes - 1).unwrap_or(u32::MAX);
                }
            }
        }
        // About one in a hundred is taken off sale at some hour of the first three days.
        if self.hash(index, "archives").is_multiple_of(100) {
            let hour = 1 + (self.hash(index, "archive-hour") % 72) as i64;
            let at = self.epoch + Duration::seconds(hour * 3600);
            if at <= self.now {
                status = Status::Archived;
                updated = updated.max(at);
            }
        }
        if let Some(e) = self.edits.get(&index) {
            updated = updated.max(e.at);
            version += e.count;
            if e.edit.archive {
                status = Status::Archived;
            }
        }
        (updated, status, version)
    }

    /// Every 20th product is a digital download.
    pub fn product_kind(&self, index: usize) -> Kind {
        if index % 20 == 11 {
            Kind::Digital
        } else {
            Kind::Physical
        }
    }

    fn created_at(&self, index: usize) -> DateTime<Utc> {
        // Products were added over the last four years, oldest first.
        let span = 4 * 365 * 86_400i64;
        let step = span / (self.count.max(1) as i64);
        let jitter = (self.hash(index, "created") % (step.max(1) as u64)) as i64;
        self.epoch - Duration::seconds(span) + Duration::seconds(index as i64 * step + jitter)
    }

    /// Product `index` in full, as it stands now.
    pub fn product(&self, index: usize) -> Product {
        let (updated_at, status, version) = self.timeline(index);
        let id = self.id(index);
        let h = |what: &str| self.hash(index, what);
        let shape = SHAPES[(h("shape") % SHAPES.len() as u64) as usize];
        let glaze = GLAZES[(h("glaze") % GLAZES.len() as u64) as usize];
        let mut title = if index % 97 == 13 {
            // Odd characters a client must carry through untouched.
            format!(
                "{glaze} {shape} \u{2014} \u{201c}Sp\u{e9}cial\u{201d} 50% off! <b>&amp;</b> \u{1f375} #{index}"
            )
        } else {
            format!("{glaze} {shape} No. {}", index + 1)
        };
        let no_price = index % 50 == 7;
        let base_cents = 1_200 + (h("price") % 18_000) as i64;
        // A change in price every second version, by a whole number of cents.
        let drift = i64::from(version / 2) * 25;
        let mut price = (!no_price).then_some(Cents(base_cents + drift));
        let mut description_html = self.description(index, &title, glaze, shape);
        if let Some(e) = self.edits.get(&index) {
            if let Some(t) = &e.edit.title {
                title.clone_from(t);
            }
            if let Ok(Some(p)) = e.edit.cents() {
                price = p;
            }
            if let Some(d) = &e.edit.description_html {
                description_html.clone_from(d);
            }
        }
        let handle = personas::slug(&title.replace('\'', ""));
        let handle = format!("{handle}-{index}");
        let variant_count = match h("variants") % 10 {
            0..=4 => 1,
            5..=7 => 3,
            _ => 5,
        };
        let variants = (0..variant_count)
            .map(|v| {
                let option = (variant_count > 1).then(|| {
                    (
                        "Color".to_owned(),
                        GLAZES[(h("glaze") as usize + v) % GLAZES.len()].to_owned(),
                    )
                });
                let step = Cents(v as i64 * 150);
                let vprice = price.map(|p| Cents(p.0 + step.0));
                let on_sale = h("sale") % 7 == 0;
                Variant {
                    id: id * 10 + v as u64 + 40_000_000_000_000,
                    title: option
                        .as_ref()
                        .map_or_else(|| "Default Title".to_owned(), |(_, o)| o.clone()),
                    sku: format!("MM-{index:05}-{v}"),
                    price: vprice,
                    compare_at: vprice.filter(|_| on_sale).map(|p| Cents(p.0 + p.0 / 5)),
                    quantity: ((h("stock") + u64::from(version) * 3 + v as u64) % 40) as i64 - 2,
                    option,
                }
            })
            .collect();
        let image_count = if index % 23 == 5 {
            0
        } else {
            1 + (h("images") % 6) as usize
        };
        let images = (0..image_count)
            .map(|n| {
                let (width, height) =
                    [(2048, 2048), (1600, 2000), (2400, 1600)][(h("image-shape") as usize + n) % 3];
                Image {
                    id: id * 10 + n as u64 + 20_000_000_000_000,
                    url: format!(
                        "https://picsum.photos/seed/{}-{}-{index}-{n}/{width}/{height}",
                        self.platform.as_str(),
                        personas::slug(self.shop)
                    ),
                    alt: if n == 0 {
                        format!("{glaze} {shape}")
                    } else {
                        String::new()
                    },
                    width,
                    height,
                }
            })
            .collect();
        let mut tags = vec![
            shape.to_lowercase(),
            glaze.to_lowercase(),
            "handmade".to_owned(),
        ];
        if version > 0 && version % 3 == 0 {
            tags.push("restocked".to_owned());
        }
        Product {
            index,
            id,
            title,
            handle,
            description_html,
            tags,
            created_at: self.created_at(index),
            updated_at,
            status,
            kind: self.product_kind(index),
            variants,
            images,
        }
    }

    fn description(&self, index: usize, title: &str, glaze: &str, shape: &str) -> String {
        let escaped = title
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        let mut html = format!(
            "<h2>{escaped}</h2><p>A wheel-thrown {} finished in our <strong>{glaze}</strong> glaze. \
             Every piece is unique; colours vary from kiln to kiln.</p>\
             <ul><li>Stoneware, fired to cone 6</li><li>Dishwasher &amp; microwave safe</li></ul>",
            shape.to_lowercase()
        );
        if index % 61 == 3 {
            // A description far bigger than anything a caption can hold (~120 KB).
            for n in 0..800 {
                html.push_str(&format!(
                    "<p>Care note {n}: hand-wash with warm water, avoid sudden temperature changes, \
                     and let the piece dry upside down on a soft towel before storing it.</p>"
                ));
            }
        }
        html
    }
}

/// The text of an HTML description, tags dropped and the three basic entities decoded.
pub(crate) fn plain_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

fn seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

/// Seconds between creation and the epoch (at least one), for a first `updated_at`.
fn created_span(epoch: DateTime<Utc>, created: DateTime<Utc>) -> u64 {
    u64::try_from((epoch - created).num_seconds())
        .unwrap_or(0)
        .max(1)
}

const SHAPES: &[&str] = &[
    "Mug",
    "Bowl",
    "Vase",
    "Plate",
    "Teapot",
    "Planter",
    "Pitcher",
    "Espresso Cup",
    "Serving Platter",
    "Candle Holder",
];

const GLAZES: &[&str] = &[
    "Sage",
    "Oatmeal",
    "Midnight",
    "Celadon",
    "Speckled",
    "Tenmoku",
    "Rust",
    "Sea Glass",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_an_exact_decimal_both_ways() {
        assert_eq!(Cents(1999).decimal(), "19.99");
        assert_eq!(Cents(5).decimal(), "0.05");
        assert_eq!(parse_decimal("12.5"), Some(Cents(1250)));
        assert_eq!(parse_decimal("12"), Some(Cents(1200)));
        assert_eq!(parse_decimal("1.234"), None);
        assert_eq!(parse_decimal("abc"), None);
    }
}
