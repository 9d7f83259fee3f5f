//! Catalogs: reading a shop's products, one page at a time, into one normalized shape.
//!
//! Each shop platform (Shopify, Etsy, Squarespace) implements [`CatalogSource`] in its own
//! `catalog.rs`. A sync asks for a page, stores its products, checkpoints the returned
//! [`PageCursor`], waits [`Page::wait`], and asks for the next: the whole catalog is never held
//! in memory, and an interrupted sync resumes from the last checkpoint.
//!
//! Bad data in one product (no price, no images, odd text) never fails a page: the product comes
//! back with empty fields. Only a product without an id is skipped, with a warning.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::platforms::publish::{self, Kind, PublishError};

/// A product as every shop platform's catalog is reduced to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteProduct {
    /// The platform's id (a Shopify GID, an Etsy listing id, a Squarespace product id).
    pub external_id: String,
    /// Plain text; empty when the platform sent none.
    pub title: String,
    /// The description as clean text: no tags, entities decoded, paragraphs kept.
    pub description_text: String,
    /// The description as the platform sent it (HTML for Shopify and Squarespace).
    pub description_html: Option<String>,
    /// The product's public page.
    pub url: Option<String>,
    pub status: ProductStatus,
    pub tags: Vec<String>,
    /// Image URLs, the main image first.
    pub images: Vec<String>,
    pub price: Option<Money>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Whether a product is for sale, mapped from each platform's own states.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductStatus {
    Active,
    Draft,
    Archived,
    /// Exists but isn't shown to buyers (Squarespace `isVisible: false`, Etsy `inactive`).
    Hidden,
    SoldOut,
    Expired,
    /// A state we don't know, as the platform spelled it.
    Other(String),
}

/// An exact price: `amount` is a decimal string (`"19.99"`), never a float.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub amount: String,
    /// ISO 4217 code as the platform sent it, upper-cased.
    pub currency: String,
}

impl Money {
    /// A price the platform gave as a decimal string. `None` unless it is one
    /// (`-?digits[.digits]`) and a currency is known.
    pub fn from_decimal(amount: &str, currency: &str) -> Option<Money> {
        let amount = amount.trim();
        let digits = amount.strip_prefix('-').unwrap_or(amount);
        let (whole, frac) = match digits.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (digits, None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(whole) || frac.is_some_and(|f| !all_digits(f)) {
            return None;
        }
        Some(Money {
            amount: amount.to_owned(),
            currency: currency_code(currency)?,
        })
    }

    /// `amount / divisor` (Etsy's integer minor units), exactly: the divisor must be a power of
    /// ten (1, 10, 100, 1000…), which keeps the decimal exact; anything else is `None`.
    pub fn from_minor_units(amount: i64, divisor: i64, currency: &str) -> Option<Money> {
        let mut scale = 0usize;
        let mut d = divisor;
        while d > 1 && d % 10 == 0 {
            d /= 10;
            scale += 1;
        }
        if d != 1 {
            return None;
        }
        let sign = if amount < 0 { "-" } else { "" };
        let digits = amount.unsigned_abs().to_string();
        let digits = format!("{digits:0>width$}", width = scale + 1);
        let (whole, frac) = digits.split_at(digits.len() - scale);
        let amount = if scale == 0 {
            format!("{sign}{whole}")
        } else {
            format!("{sign}{whole}.{frac}")
        };
        Some(Money {
            amount,
            currency: currency_code(currency)?,
        })
    }
}

fn currency_code(code: &str) -> Option<String> {
    let code = code.trim();
    (!code.is_empty() && code.len() <= 8 && code.chars().all(|c| c.is_ascii_alphabetic()))
        .then(|| code.to_ascii_uppercase())
}

/// Where the next page starts; stored as the sync's checkpoint, so it serializes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageCursor {
    /// An opaque cursor (Shopify `endCursor`, Squarespace `nextPageCursor`).
    Token(String),
    /// An offset into the listing (Etsy).
    Offset(u64),
    /// A Shopify bulk operation (`gid://shopify/BulkOperation/…`) and the byte offset in its
    /// result file of the first line not yet read: `{"bulk":{"operation":"gid://…","offset":0}}`.
    Bulk { operation: String, offset: u64 },
}

impl PageCursor {
    /// The opaque cursor to continue from (`None` on the first page); an offset cursor is a
    /// checkpoint from another kind of catalog and can't be resumed by `platform`.
    pub fn token_of<'a>(
        cursor: Option<&'a PageCursor>,
        platform: &str,
    ) -> Result<Option<&'a str>, CatalogError> {
        match cursor {
            None => Ok(None),
            Some(PageCursor::Token(t)) => Ok(Some(t.as_str())),
            Some(other) => Err(CatalogError::Permanent(format!(
                "a {platform} catalog can't resume from {other:?}"
            ))),
        }
    }

    /// The offset to continue from (0 on the first page); see [`PageCursor::token_of`].
    pub fn offset_of(cursor: Option<&PageCursor>, platform: &str) -> Result<u64, CatalogError> {
        match cursor {
            None => Ok(0),
            Some(PageCursor::Offset(o)) => Ok(*o),
            Some(other) => Err(CatalogError::Permanent(format!(
                "an {platform} catalog can't resume from {other:?}"
            ))),
        }
    }
}

/// One page of a catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    pub products: Vec<RemoteProduct>,
    /// `None` at the end of the catalog.
    pub next: Option<PageCursor>,
    /// How long to wait before asking for the next page, so the platform's rate limit isn't hit.
    pub wait: Duration,
    /// How many products the whole catalog (or the changes asked for) holds, when the platform
    /// says; for the progress bar.
    pub total: Option<u64>,
    /// Products on this page that couldn't be read at all (no id) and were left out.
    pub skipped: usize,
}

/// Whose catalog, and what part of it.
///
/// A full sync (`updated_since: None`) may take a platform's export route: Shopify starts a bulk
/// operation, and the pages that come back while it runs are empty, with a
/// [`PageCursor::Bulk`] to ask again with after [`Page::wait`].
#[derive(Clone, Debug)]
pub struct CatalogAccount {
    /// The connection's account id (Shopify shop domain, Etsy shop id, Squarespace website id).
    pub account_id: String,
    /// The connection's non-secret facts (`shop_domain`, `currency`…).
    pub metadata: Value,
    /// Only products changed after this moment, where the platform can filter (Shopify,
    /// Squarespace); Etsy ignores it. Keep it the same for every page of one sync.
    pub updated_since: Option<DateTime<Utc>>,
}

/// Why a page couldn't be read, classified for what the sync does next.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// Try the same page again after `wait` (throttled, 429, 5xx, network); `None`: soon.
    #[error("{message}")]
    Retryable {
        wait: Option<Duration>,
        message: String,
    },
    /// The token or its scopes were refused: refresh once, then the shop needs reconnecting.
    #[error("{0}")]
    Auth(String),
    /// Asking again won't help (a malformed request, a cursor of another platform…).
    #[error("{0}")]
    Permanent(String),
}

impl CatalogError {
    pub fn retry_in(wait: Duration, message: impl Into<String>) -> Self {
        CatalogError::Retryable {
            wait: Some(wait),
            message: message.into(),
        }
    }
}

/// A shop platform's catalog, read a page at a time.
#[async_trait]
pub trait CatalogSource: Send + Sync {
    /// The page at `cursor` (`None`: the first page).
    async fn page(
        &self,
        account: &CatalogAccount,
        token: &SecretString,
        cursor: Option<&PageCursor>,
    ) -> Result<Page, CatalogError>;

    /// External ids deleted from the shop since `since`, where the platform says; `None`: it
    /// can't tell, and removals are found by a full pass (what a full sync didn't see is gone).
    async fn removed_since(
        &self,
        _account: &CatalogAccount,
        _token: &SecretString,
        _since: DateTime<Utc>,
    ) -> Result<Option<Vec<String>>, CatalogError> {
        Ok(None)
    }
}

/// Sends a catalog request (a read, so any transport failure is worth retrying).
pub async fn send(request: reqwest::RequestBuilder) -> Result<publish::Answer, CatalogError> {
    publish::send(request, Kind::Step)
        .await
        .map_err(|e| match e {
            PublishError::Retryable { message, .. } => CatalogError::Retryable {
                wait: None,
                message,
            },
            other => CatalogError::Permanent(other.to_string()),
        })
}

/// How long the rate-limit headers (`retry-after`, `x-ratelimit-reset`…) say to wait.
pub fn header_wait(headers: &HeaderMap) -> Option<Duration> {
    let now = Utc::now();
    publish::reset_time(headers, now).map(|at| (at - now).to_std().unwrap_or_default())
}

/// The usual classification of an error answer; `default_wait` is for a 429 without headers.
pub fn classify(answer: &publish::Answer, message: String, default_wait: Duration) -> CatalogError {
    match answer.status {
        401 | 403 => CatalogError::Auth(message),
        429 => CatalogError::Retryable {
            wait: Some(header_wait(&answer.headers).unwrap_or(default_wait)),
            message,
        },
        408 | 500.. => CatalogError::Retryable {
            wait: header_wait(&answer.headers),
            message,
        },
        _ => CatalogError::Permanent(message),
    }
}

/// A string field, trimmed, `None` when absent or blank.
pub fn str_at<'a>(json: &'a Value, pointer: &str) -> Option<&'a str> {
    json.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// An RFC 3339 time at `pointer`, in UTC.
pub fn time_at(json: &Value, pointer: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    str_at(json, pointer)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// An id that may come as a string or a number.
pub fn id_at(json: &Value, pointer: &str) -> Option<String> {
    match json.pointer(pointer)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The strings of an array field (a `null` or missing array is empty; non-strings are dropped).
pub fn strings_at(json: &Value, pointer: &str) -> Vec<String> {
    json.pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Collapses runs of whitespace to one space (for titles and other one-line text).
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Adds `url` unless it's already there (a featured image is often also the first media).
pub fn push_unique(images: &mut Vec<String>, url: Option<&str>) {
    if let Some(url) = url.map(str::trim).filter(|u| !u.is_empty())
        && !images.iter().any(|i| i == url)
    {
        images.push(url.to_owned());
    }
}

const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "dd",
    "div",
    "dl",
    "dt",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "tr",
    "ul",
];

/// Paragraph break marker while walking the tree; whitespace never contains it.
const PARAGRAPH: char = '\u{1}';

/// HTML → clean text: tags stripped, entities decoded, whitespace collapsed, paragraphs (block
/// elements, `<br><br>`) kept as blank lines and `<br>` as a line break. Scripts and styles are
/// dropped. Never fails: whatever the markup, some text comes out.
pub fn html_to_text(html: &str) -> String {
    enum Step<N> {
        Open(N),
        Close(bool),
    }
    let doc = scraper::Html::parse_fragment(html);
    let mut raw = String::with_capacity(html.len());
    // An explicit stack rather than recursion: a description nested ten thousand deep must not
    // overflow ours.
    let mut stack = vec![Step::Open(*doc.root_element())];
    while let Some(step) = stack.pop() {
        let node = match step {
            Step::Close(block) => {
                if block {
                    raw.push(PARAGRAPH);
                }
                continue;
            }
            Step::Open(node) => node,
        };
        let mut block = false;
        match node.value() {
            scraper::Node::Text(t) => {
                raw.extend(t.chars().map(|c| {
                    if c.is_whitespace() || c == PARAGRAPH {
                        ' '
                    } else {
                        c
                    }
                }));
                continue;
            }
            scraper::Node::Element(e) => match e.name() {
                "script" | "style" | "template" | "head" | "noscript" => continue,
                "br" => {
                    raw.push('\n');
                    continue;
                }
                name => block = BLOCKS.contains(&name),
            },
            _ => {}
        }
        if block {
            raw.push(PARAGRAPH);
        }
        stack.push(Step::Close(block));
        let children: Vec<_> = node.children().collect();
        stack.extend(children.into_iter().rev().map(Step::Open));
    }
    // Lines are collapsed on their own; a block boundary or a blank line (`<br><br>`) between
    // two lines of text is one paragraph break, a single `<br>` one line break.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Gap {
        None,
        Line,
        Paragraph,
    }
    let mut out = String::new();
    let mut gap = Gap::None;
    for (i, paragraph) in raw.split(PARAGRAPH).enumerate() {
        if i > 0 {
            gap = Gap::Paragraph;
        }
        for (j, line) in paragraph.split('\n').enumerate() {
            if j > 0 {
                gap = if gap == Gap::None {
                    Gap::Line
                } else {
                    Gap::Paragraph
                };
            }
            let line = one_line(line);
            if line.is_empty() {
                continue;
            }
            if !out.is_empty() {
                out.push_str(if gap == Gap::Paragraph { "\n\n" } else { "\n" });
            }
            gap = Gap::None;
            out.push_str(&line);
        }
    }
    out
}

/// Plain text that may carry HTML entities and newlines (Etsy titles and descriptions): entities
/// decoded, newlines kept, whitespace collapsed like [`html_to_text`].
pub fn plain_to_text(text: &str) -> String {
    let escaped = text.replace('<', "&lt;").replace('\n', "<br>");
    html_to_text(&escaped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_descriptions_become_clean_text_with_paragraphs() {
        let html = "<p>Hand-made <b>oak</b>&nbsp;board &amp; spoon.</p>\n\n<p>  Size:\n 30&#215;20 cm<br>Weight: 1&nbsp;kg</p><ul><li>Oiled</li><li>Gift&#8209;wrapped</li></ul><script>alert(1)</script>";
        assert_eq!(
            html_to_text(html),
            "Hand-made oak board & spoon.\n\nSize: 30×20 cm\nWeight: 1 kg\n\nOiled\n\nGift\u{2011}wrapped"
        );
    }

    #[test]
    fn odd_html_still_gives_text() {
        assert_eq!(html_to_text(""), "");
        assert_eq!(html_to_text("   \n "), "");
        assert_eq!(
            html_to_text("<div><p>unclosed <i>tags"),
            "unclosed tags",
            "unclosed tags are closed by the parser"
        );
        assert_eq!(html_to_text("a<br><br><br>b"), "a\n\nb");
        assert_eq!(html_to_text("<br>a<br>"), "a");
        assert_eq!(html_to_text("5 < 6 &amp;&amp; 7 > 3"), "5 < 6 && 7 > 3");
        assert_eq!(html_to_text("&bogus; &lt;b&gt;"), "&bogus; <b>");
        let deep = "<div>".repeat(3_000) + "deep" + &"</div>".repeat(3_000);
        assert_eq!(html_to_text(&deep), "deep");
    }

    #[test]
    fn plain_text_keeps_its_lines_and_decodes_entities() {
        assert_eq!(
            plain_to_text("Tom&#39;s  mug\n\n\nHolds 300 ml &amp; <more>\nDishwasher safe"),
            "Tom's mug\n\nHolds 300 ml & <more>\nDishwasher safe"
        );
    }

    #[test]
    fn minor_units_divide_exactly() {
        let m = |a, d| Money::from_minor_units(a, d, "usd").map(|m| m.amount);
        assert_eq!(m(1999, 100).as_deref(), Some("19.99"));
        assert_eq!(m(1999, 1000).as_deref(), Some("1.999"));
        assert_eq!(m(5, 1000).as_deref(), Some("0.005"));
        assert_eq!(m(2000, 100).as_deref(), Some("20.00"));
        assert_eq!(m(1999, 1).as_deref(), Some("1999"));
        assert_eq!(m(-150, 100).as_deref(), Some("-1.50"));
        assert_eq!(m(1, 3), None, "a third has no exact decimal");
        assert_eq!(m(1, 0), None);
        assert_eq!(
            Money::from_minor_units(1999, 100, "usd").unwrap().currency,
            "USD"
        );
        assert_eq!(Money::from_minor_units(1999, 100, ""), None);
    }

    #[test]
    fn decimal_strings_are_kept_exactly_or_refused() {
        let m = |a: &str| Money::from_decimal(a, "EUR").map(|m| m.amount);
        assert_eq!(m("19.99").as_deref(), Some("19.99"));
        assert_eq!(m(" 0.10 ").as_deref(), Some("0.10"));
        assert_eq!(m("12").as_deref(), Some("12"));
        for bad in ["", "1e3", "19.", ".5", "NaN", "1,99", "--1"] {
            assert_eq!(m(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn cursors_serialize_for_checkpoints() {
        let bulk = PageCursor::Bulk {
            operation: "gid://shopify/BulkOperation/1".into(),
            offset: 4096,
        };
        for c in [
            PageCursor::Token("abc".into()),
            PageCursor::Offset(200),
            bulk.clone(),
        ] {
            let s = serde_json::to_string(&c).unwrap();
            assert_eq!(serde_json::from_str::<PageCursor>(&s).unwrap(), c);
        }
        assert_eq!(
            serde_json::to_string(&PageCursor::Offset(200)).unwrap(),
            r#"{"offset":200}"#
        );
        assert_eq!(
            serde_json::to_string(&bulk).unwrap(),
            r#"{"bulk":{"operation":"gid://shopify/BulkOperation/1","offset":4096}}"#
        );
    }
}
