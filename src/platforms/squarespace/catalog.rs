//! Squarespace's catalog through the Commerce Products API 1.1 (PLATFORMS.md §10).
//!
//! Pages hold up to 50 products, ordered by `modifiedOn`. The first request names the product
//! types (and, for an incremental sync, the modified window); every later one carries the
//! cursor alone, because Squarespace refuses a cursor combined with anything else. Every request
//! carries our own User-Agent (requests without one are rejected); over 300 requests a minute
//! gets a 429 and a one-minute cooldown.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::header::USER_AGENT;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

use crate::domain::Platform;
use crate::platforms::Http;
use crate::platforms::catalog::{
    self, CatalogAccount, CatalogError, CatalogSource, Money, Page, PageCursor, ProductStatus,
    RemoteProduct,
};
use crate::platforms::http;

const PRODUCTS: &str = "https://api.squarespace.com/1.1/commerce/products";
/// 1.1 lists downloads too (1.0 only physical products); `type` is required without a cursor.
const TYPES: &str = "PHYSICAL,DIGITAL";
/// The documented cooldown after a 429.
pub const COOLDOWN: Duration = Duration::from_secs(60);

pub struct SquarespaceCatalog {
    pub http: Http,
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The address of a page: the type (and window) first, the cursor alone after.
pub fn page_url(cursor: Option<&str>, since: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    let mut url = Url::parse(PRODUCTS).expect("a valid constant URL");
    {
        let mut q = url.query_pairs_mut();
        match cursor {
            Some(cursor) => {
                q.append_pair("cursor", cursor);
            }
            None => {
                q.append_pair("type", TYPES);
                // modifiedAfter and modifiedBefore must come together.
                if let Some(since) = since {
                    q.append_pair("modifiedAfter", &timestamp(since));
                    q.append_pair("modifiedBefore", &timestamp(now));
                }
            }
        }
    }
    url.into()
}

fn price(variant: &Value) -> Option<Money> {
    let on_sale = variant
        .pointer("/pricing/onSale")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let money = if on_sale {
        variant.pointer("/pricing/salePrice")
    } else {
        variant.pointer("/pricing/basePrice")
    }?;
    Money::from_decimal(
        catalog::str_at(money, "/value")?,
        catalog::str_at(money, "/currency")?,
    )
}

/// One product → a product; `None` (skipped) without an id.
pub fn product(json: &Value) -> Option<RemoteProduct> {
    let Some(id) = catalog::str_at(json, "/id") else {
        tracing::warn!("a Squarespace product without an id was skipped");
        return None;
    };
    let html = catalog::str_at(json, "/description").map(str::to_owned);
    let mut images = Vec::new();
    for image in json
        .get("images")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        catalog::push_unique(&mut images, catalog::str_at(image, "/url"));
    }
    Some(RemoteProduct {
        external_id: id.to_owned(),
        title: catalog::one_line(catalog::str_at(json, "/name").unwrap_or_default()),
        description_text: html
            .as_deref()
            .map(catalog::html_to_text)
            .unwrap_or_default(),
        description_html: html,
        url: catalog::str_at(json, "/url").map(str::to_owned),
        status: match json.get("isVisible").and_then(Value::as_bool) {
            Some(false) => ProductStatus::Hidden,
            _ => ProductStatus::Active,
        },
        tags: catalog::strings_at(json, "/tags"),
        images,
        price: json.pointer("/variants/0").and_then(price),
        updated_at: catalog::time_at(json, "/modifiedOn"),
    })
}

#[async_trait]
impl CatalogSource for SquarespaceCatalog {
    #[tracing::instrument(skip_all, fields(site = %account.account_id))]
    async fn page(
        &self,
        account: &CatalogAccount,
        token: &SecretString,
        cursor: Option<&PageCursor>,
    ) -> Result<Page, CatalogError> {
        let cursor = PageCursor::token_of(cursor, "Squarespace")?;
        let url = self.http.url(
            Platform::Squarespace,
            &page_url(cursor, account.updated_since, Utc::now()),
        );
        let request = self
            .http
            .client()
            .get(url)
            .header(USER_AGENT, http::USER_AGENT)
            .bearer_auth(token.expose_secret());
        let answer = catalog::send(request).await?;
        if !(200..300).contains(&answer.status) {
            let message = catalog::str_at(&answer.json, "/message")
                .map(str::to_owned)
                .unwrap_or_else(|| format!("HTTP {}", answer.status));
            return Err(catalog::classify(&answer, message, COOLDOWN));
        }
        let Some(products) = answer.json.get("products") else {
            return Err(CatalogError::Permanent(
                "Squarespace's products answer had no products".into(),
            ));
        };
        let has_next = answer
            .json
            .pointer("/pagination/hasNextPage")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let next = catalog::str_at(&answer.json, "/pagination/nextPageCursor")
            .filter(|_| has_next)
            .map(|c| PageCursor::Token(c.to_owned()));
        // `null` when there are none, like every empty array in Squarespace's answers.
        let listed = products.as_array().map(Vec::as_slice).unwrap_or_default();
        let products: Vec<RemoteProduct> = listed.iter().filter_map(product).collect();
        Ok(Page {
            skipped: listed.len() - products.len(),
            total: None,
            products,
            next,
            // 300 a minute is one every 200 ms; a sync reads pages one after another, well below.
            wait: Duration::ZERO,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, Request, ResponseTemplate};

    const PATH: &str = "/squarespace/api.squarespace.com/1.1/commerce/products";

    fn client(server: &MockServer) -> SquarespaceCatalog {
        SquarespaceCatalog {
            http: Http::new(Some(Url::parse(&server.uri()).unwrap())),
        }
    }

    fn account() -> CatalogAccount {
        CatalogAccount {
            account_id: "site-1".into(),
            metadata: json!({}),
            updated_since: None,
        }
    }

    fn token() -> SecretString {
        SecretString::from("sq-token")
    }

    fn item(n: u32) -> Value {
        json!({
            "id": format!("5ed539b66505ca7c5f4a3a{n:02}"),
            "type": "PHYSICAL",
            "name": format!("Mug {n}"),
            "description": "<p>Stoneware&nbsp;mug.</p><p>Holds <strong>300&nbsp;ml</strong>.</p>",
            "url": format!("https://shop.example/mug-{n}"),
            "tags": ["mugs"],
            "isVisible": true,
            "variants": [{ "id": "v1", "pricing": {
                "basePrice": { "currency": "USD", "value": "24.99" },
                "salePrice": { "currency": "USD", "value": "19.50" },
                "onSale": n.is_multiple_of(2)
            } }],
            "images": [{ "id": "i1", "url": "https://images.squarespace-cdn.com/1.jpg" }],
            "modifiedOn": "2026-08-02T09:30:00.000Z"
        })
    }

    fn body(items: Vec<Value>, next: Option<&str>) -> Value {
        json!({
            "products": items,
            "pagination": { "hasNextPage": next.is_some(), "nextPageCursor": next,
                            "nextPageUrl": next.map(|c| format!("https://api.squarespace.com/1.1/commerce/products?cursor={c}")) }
        })
    }

    #[tokio::test]
    async fn two_pages_then_the_end_with_the_cursor_alone_on_the_second() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(PATH))
            .and(|r: &Request| r.url.query() == Some("type=PHYSICAL%2CDIGITAL"))
            .and(header("user-agent", http::USER_AGENT))
            .and(header("authorization", "Bearer sq-token"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(body(vec![item(1), item(2)], Some("b342"))),
            )
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(PATH))
            .and(|r: &Request| r.url.query() == Some("cursor=b342"))
            .and(header("user-agent", http::USER_AGENT))
            .respond_with(ResponseTemplate::new(200).set_body_json(body(vec![item(3)], None)))
            .expect(1)
            .mount(&server)
            .await;
        let c = client(&server);
        let first = c.page(&account(), &token(), None).await.unwrap();
        assert_eq!(first.products.len(), 2);
        assert_eq!(first.next, Some(PageCursor::Token("b342".into())));
        let p = &first.products[0];
        assert_eq!(p.title, "Mug 1");
        assert_eq!(p.description_text, "Stoneware mug.\n\nHolds 300 ml.");
        assert_eq!(p.price.as_ref().unwrap().amount, "24.99");
        assert_eq!(
            first.products[1].price.as_ref().unwrap().amount,
            "19.50",
            "the sale price while on sale"
        );
        assert_eq!(p.images, vec!["https://images.squarespace-cdn.com/1.jpg"]);
        assert_eq!(p.status, ProductStatus::Active);
        let last = c
            .page(&account(), &token(), first.next.as_ref())
            .await
            .unwrap();
        assert_eq!(last.products.len(), 1);
        assert_eq!(last.next, None);
    }

    #[tokio::test]
    async fn an_empty_last_page_with_null_products_ends_the_catalog() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(PATH))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "products": null,
                "pagination": { "hasNextPage": false, "nextPageCursor": null, "nextPageUrl": null }
            })))
            .mount(&server)
            .await;
        let page = client(&server)
            .page(&account(), &token(), Some(&PageCursor::Token("end".into())))
            .await
            .unwrap();
        assert!(page.products.is_empty());
        assert_eq!(page.next, None);
    }

    #[tokio::test]
    async fn too_many_requests_cool_down_for_a_minute() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(PATH))
            .respond_with(ResponseTemplate::new(429).set_body_json(json!({
                "type": "RATE_LIMITED", "subtype": null, "message": "Too many requests",
                "details": null, "contextId": "X1"
            })))
            .mount(&server)
            .await;
        let err = client(&server)
            .page(&account(), &token(), None)
            .await
            .unwrap_err();
        assert_eq!(err, CatalogError::retry_in(COOLDOWN, "Too many requests"));
    }

    #[tokio::test]
    async fn a_refused_token_is_an_auth_error() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(PATH))
            .respond_with(ResponseTemplate::new(401).set_body_json(json!({
                "type": "AUTHORIZATION_ERROR", "subtype": null, "message": "Unauthorized",
                "details": null, "contextId": "X2"
            })))
            .mount(&server)
            .await;
        let err = client(&server)
            .page(&account(), &token(), None)
            .await
            .unwrap_err();
        assert_eq!(err, CatalogError::Auth("Unauthorized".into()));
    }

    #[test]
    fn incremental_first_pages_name_the_window_and_later_ones_only_the_cursor() {
        let since = "2026-08-01T00:00:00Z".parse().unwrap();
        let now = "2026-08-02T12:00:00Z".parse().unwrap();
        assert_eq!(
            page_url(None, Some(since), now),
            "https://api.squarespace.com/1.1/commerce/products?type=PHYSICAL%2CDIGITAL&modifiedAfter=2026-08-01T00%3A00%3A00Z&modifiedBefore=2026-08-02T12%3A00%3A00Z"
        );
        assert_eq!(
            page_url(Some("abc"), Some(since), now),
            "https://api.squarespace.com/1.1/commerce/products?cursor=abc"
        );
    }

    #[test]
    fn products_with_bad_data_are_kept_and_products_without_an_id_skipped() {
        let sparse = product(&json!({ "id": "p9", "name": null, "description": null,
            "tags": null, "images": null, "variants": [], "isVisible": false }))
        .unwrap();
        assert_eq!(sparse.title, "");
        assert!(sparse.tags.is_empty() && sparse.images.is_empty());
        assert_eq!(sparse.price, None);
        assert_eq!(sparse.status, ProductStatus::Hidden);
        assert_eq!(product(&json!({ "id": null, "name": "x" })), None);
    }
}
