//! Shopify's catalog through the GraphQL Admin API's `products` connection (PLATFORMS.md §8).
//!
//! Shopify limits by calculated query cost in a leaky bucket, reported on every answer in
//! `extensions.cost.throttleStatus`. After each page we say how long to wait for the bucket to
//! hold the next page's cost again, so a sync slows down before it is throttled; a `THROTTLED`
//! answer is retried after the time the restore rate needs.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::domain::Platform;
use crate::platforms::Http;
use crate::platforms::catalog::{
    self, CatalogAccount, CatalogError, CatalogSource, Money, Page, PageCursor, ProductStatus,
    RemoteProduct,
};

/// Products per page. A query may cost at most 1000 points; a connection costs 2 plus `first ×`
/// its node's cost, and every object counts 1. Each product here is 28 points: itself (1), its
/// featured media and image (2), a 10-media connection with each image (2 + 10 × 2) and a
/// 1-variant connection (2 + 1). So 30 a page (30 × 28 + 2 = 842) stays inside the limit.
pub const PAGE_SIZE: u32 = 30;

pub const PRODUCTS_QUERY: &str = "query Products($first: Int!, $after: String, $query: String) {
  products(first: $first, after: $after, query: $query) {
    edges { cursor node {
      id title handle descriptionHtml status updatedAt onlineStoreUrl tags
      featuredMedia { ... on MediaImage { image { url altText } } }
      media(first: 10) { nodes { ... on MediaImage { image { url altText } } } }
      variants(first: 1) { nodes { price } }
    } }
    pageInfo { hasNextPage endCursor }
  }
}";

/// When the restore rate is unknown: Standard plans restore 100 points a second, older docs say
/// 50; the lower one is never too early.
const FALLBACK_RESTORE_RATE: f64 = 50.0;

pub struct ShopifyCatalog {
    pub http: Http,
    pub api_version: String,
}

/// The bucket as one answer reported it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Throttle {
    pub requested: f64,
    pub available: f64,
    pub restore_rate: f64,
}

impl Throttle {
    pub fn from_extensions(json: &Value) -> Option<Throttle> {
        let cost = json.pointer("/extensions/cost")?;
        let status = cost.get("throttleStatus")?;
        Some(Throttle {
            requested: cost.get("requestedQueryCost")?.as_f64()?,
            available: status.get("currentlyAvailable")?.as_f64()?,
            restore_rate: status
                .get("restoreRate")
                .and_then(Value::as_f64)
                .filter(|r| *r > 0.0)
                .unwrap_or(FALLBACK_RESTORE_RATE),
        })
    }

    /// How long until the bucket holds `requested` points again (the next page costs about what
    /// this one was estimated at). Zero when it already does.
    pub fn wait(&self) -> Duration {
        let missing = self.requested - self.available;
        if missing <= 0.0 {
            return Duration::ZERO;
        }
        // Whole milliseconds, rounded up: never early.
        Duration::from_millis((missing / self.restore_rate * 1000.0).ceil() as u64)
    }
}

fn shop_domain(account: &CatalogAccount) -> &str {
    account
        .metadata
        .get("shop_domain")
        .and_then(Value::as_str)
        .unwrap_or(&account.account_id)
}

/// Shopify's search syntax for "changed after".
pub fn updated_since_query(since: DateTime<Utc>) -> String {
    format!(
        "updated_at:>'{}'",
        since.to_rfc3339_opts(SecondsFormat::Secs, true)
    )
}

/// The message of a GraphQL answer's `errors` (a string on 401, an array otherwise).
fn error_message(json: &Value) -> Option<String> {
    match json.get("errors")? {
        Value::String(s) => Some(s.clone()),
        Value::Array(errors) if !errors.is_empty() => Some(
            errors
                .iter()
                .map(|e| {
                    e.get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("unknown error")
                })
                .collect::<Vec<_>>()
                .join("; "),
        ),
        _ => None,
    }
}

fn error_codes(json: &Value) -> Vec<&str> {
    json.get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.pointer("/extensions/code").and_then(Value::as_str))
        .collect()
}

/// One product node → a product; `None` (skipped) without an id.
pub fn product(node: &Value, currency: Option<&str>) -> Option<RemoteProduct> {
    let Some(id) = catalog::str_at(node, "/id") else {
        tracing::warn!("a Shopify product without an id was skipped");
        return None;
    };
    let html = catalog::str_at(node, "/descriptionHtml").map(str::to_owned);
    let mut images = Vec::new();
    catalog::push_unique(
        &mut images,
        catalog::str_at(node, "/featuredMedia/image/url"),
    );
    for media in node
        .pointer("/media/nodes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        catalog::push_unique(&mut images, catalog::str_at(media, "/image/url"));
    }
    let price = match (
        catalog::str_at(node, "/variants/nodes/0/price"),
        // A variant price is a bare decimal in the shop's currency.
        currency,
    ) {
        (Some(amount), Some(currency)) => Money::from_decimal(amount, currency),
        _ => None,
    };
    Some(RemoteProduct {
        external_id: id.to_owned(),
        title: catalog::one_line(catalog::str_at(node, "/title").unwrap_or_default()),
        description_text: html
            .as_deref()
            .map(catalog::html_to_text)
            .unwrap_or_default(),
        description_html: html,
        url: catalog::str_at(node, "/onlineStoreUrl").map(str::to_owned),
        status: match catalog::str_at(node, "/status") {
            Some("ACTIVE") => ProductStatus::Active,
            Some("DRAFT") => ProductStatus::Draft,
            Some("ARCHIVED") => ProductStatus::Archived,
            Some("UNLISTED") => ProductStatus::Hidden,
            other => ProductStatus::Other(other.unwrap_or_default().to_ascii_lowercase()),
        },
        tags: catalog::strings_at(node, "/tags"),
        images,
        price,
        updated_at: catalog::time_at(node, "/updatedAt"),
    })
}

/// What a GraphQL answer without the data asked for means.
pub(crate) fn graphql_error(json: &Value, status: u16) -> CatalogError {
    let message = error_message(json).unwrap_or_else(|| format!("HTTP {status}"));
    let codes = error_codes(json);
    if codes.contains(&"ACCESS_DENIED") || codes.contains(&"UNAUTHENTICATED") {
        CatalogError::Auth(message)
    } else if codes.contains(&"INTERNAL_SERVER_ERROR") {
        CatalogError::Retryable {
            wait: None,
            message,
        }
    } else {
        CatalogError::Permanent(message)
    }
}

/// Deletions since a moment, in the search syntax of `deletionEvents`.
pub fn occurred_since_query(since: DateTime<Utc>) -> String {
    format!(
        "occurred_at:>'{}'",
        since.to_rfc3339_opts(SecondsFormat::Secs, true)
    )
}

pub const DELETIONS_QUERY: &str = "query Deletions($query: String, $after: String) {
  deletionEvents(subjectTypes: [PRODUCT], query: $query, first: 250, after: $after) {
    nodes { subjectId subjectType occurredAt }
    pageInfo { hasNextPage endCursor }
  }
}";

/// More deletions than this many pages (250 each) and we let a full pass find them.
const MAX_DELETION_PAGES: usize = 40;

/// A deleted product's id as the catalog's products carry it (a GID).
fn product_gid(subject: &str) -> String {
    if subject.bytes().all(|b| b.is_ascii_digit()) {
        format!("gid://shopify/Product/{subject}")
    } else {
        subject.to_owned()
    }
}

impl ShopifyCatalog {
    /// Sends one GraphQL request to the shop. A throttled, refused or failed answer is an
    /// error; any other answer comes back with the bucket it reported, for the caller to find
    /// its `data` in (or to classify with [`graphql_error`]).
    pub(crate) async fn graphql(
        &self,
        account: &CatalogAccount,
        token: &SecretString,
        query: &str,
        variables: Value,
    ) -> Result<(Value, Option<Throttle>), CatalogError> {
        let shop = shop_domain(account);
        let url = self.http.url(
            Platform::Shopify,
            &format!("https://{shop}/admin/api/{}/graphql.json", self.api_version),
        );
        let request = self
            .http
            .client()
            .post(url)
            .header("X-Shopify-Access-Token", token.expose_secret())
            .json(&json!({ "query": query, "variables": variables }));
        let answer = catalog::send(request).await?;
        let throttle = Throttle::from_extensions(&answer.json);
        // Throttling comes as 200 with a THROTTLED error, or (community reports) as a 429.
        if error_codes(&answer.json).contains(&"THROTTLED") || answer.status == 429 {
            let wait = throttle
                .map(|t| t.wait().max(Duration::from_secs(1)))
                .or_else(|| catalog::header_wait(&answer.headers))
                .unwrap_or(Duration::from_secs(2));
            return Err(CatalogError::retry_in(wait, "Shopify is throttling us"));
        }
        if !(200..300).contains(&answer.status) {
            let message =
                error_message(&answer.json).unwrap_or_else(|| format!("HTTP {}", answer.status));
            return Err(catalog::classify(&answer, message, Duration::from_secs(2)));
        }
        Ok((answer.json, throttle))
    }

    /// A page of the `products` connection (incremental syncs, and resuming a checkpoint of a
    /// paged read).
    async fn products_page(
        &self,
        account: &CatalogAccount,
        token: &SecretString,
        cursor: Option<&PageCursor>,
    ) -> Result<Page, CatalogError> {
        let after = PageCursor::token_of(cursor, "Shopify")?;
        let variables = json!({
            "first": PAGE_SIZE,
            "after": after,
            "query": account.updated_since.map(updated_since_query),
        });
        let (json, throttle) = self
            .graphql(account, token, PRODUCTS_QUERY, variables)
            .await?;
        let Some(connection) = json.pointer("/data/products").filter(|c| c.is_object()) else {
            return Err(graphql_error(&json, 200));
        };
        let currency = account.metadata.get("currency").and_then(Value::as_str);
        let edges = connection
            .get("edges")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let products: Vec<RemoteProduct> = edges
            .iter()
            .filter_map(|edge| product(edge.get("node")?, currency))
            .collect();
        let skipped = edges.len() - products.len();
        let has_next = connection
            .pointer("/pageInfo/hasNextPage")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let next = catalog::str_at(connection, "/pageInfo/endCursor")
            .filter(|_| has_next)
            .map(|c| PageCursor::Token(c.to_owned()));
        Ok(Page {
            products,
            total: None,
            skipped,
            wait: match (&next, throttle) {
                (Some(_), Some(t)) => t.wait(),
                _ => Duration::ZERO,
            },
            next,
        })
    }
}

#[async_trait]
impl CatalogSource for ShopifyCatalog {
    /// A full sync (no `updated_since`) goes through a bulk operation (see [`super::bulk`]): a
    /// products query costs about 9 points a product, which at 100 points a second is 15
    /// minutes for 10 000 products, where the bulk file takes seconds. An incremental sync
    /// pages the `products` connection, which is cheap for the few products that changed.
    #[tracing::instrument(skip_all, fields(shop = %account.account_id))]
    async fn page(
        &self,
        account: &CatalogAccount,
        token: &SecretString,
        cursor: Option<&PageCursor>,
    ) -> Result<Page, CatalogError> {
        match (cursor, account.updated_since) {
            (Some(PageCursor::Bulk { operation, offset }), _) => {
                self.bulk_page(account, token, operation, *offset).await
            }
            (None, None) => self.start_bulk(account, token).await,
            _ => self.products_page(account, token, cursor).await,
        }
    }

    /// `deletionEvents` of products since `since`, every page of them.
    #[tracing::instrument(skip_all, fields(shop = %account.account_id))]
    async fn removed_since(
        &self,
        account: &CatalogAccount,
        token: &SecretString,
        since: DateTime<Utc>,
    ) -> Result<Option<Vec<String>>, CatalogError> {
        let mut removed = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_DELETION_PAGES {
            let variables = json!({ "query": occurred_since_query(since), "after": after });
            let (json, throttle) = self
                .graphql(account, token, DELETIONS_QUERY, variables)
                .await?;
            let Some(connection) = json
                .pointer("/data/deletionEvents")
                .filter(|c| c.is_object())
            else {
                return Err(graphql_error(&json, 200));
            };
            for event in connection
                .get("nodes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let is_product =
                    catalog::str_at(event, "/subjectType").is_none_or(|t| t == "PRODUCT");
                if let (true, Some(id)) = (is_product, catalog::id_at(event, "/subjectId")) {
                    removed.push(product_gid(&id));
                }
            }
            let has_next = connection
                .pointer("/pageInfo/hasNextPage")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let Some(end) = catalog::str_at(connection, "/pageInfo/endCursor").filter(|_| has_next)
            else {
                return Ok(Some(removed));
            };
            after = Some(end.to_owned());
            // Wait for the bucket between pages rather than be throttled; a long wait is the
            // caller's to make.
            let wait = throttle.map(|t| t.wait()).unwrap_or_default();
            if wait > Duration::from_secs(30) {
                return Err(CatalogError::retry_in(wait, "Shopify is throttling us"));
            }
            tokio::time::sleep(wait).await;
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;
    use wiremock::matchers::{body_partial_json, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const GRAPHQL: &str = "/shopify/demo.myshopify.com/admin/api/2026-07/graphql.json";

    fn client(server: &MockServer) -> ShopifyCatalog {
        ShopifyCatalog {
            http: Http::new(Some(Url::parse(&server.uri()).unwrap())),
            api_version: "2026-07".into(),
        }
    }

    /// An incremental sync's account: full syncs go through a bulk operation (see `bulk.rs`).
    fn account() -> CatalogAccount {
        CatalogAccount {
            account_id: "demo.myshopify.com".into(),
            metadata: json!({ "shop_domain": "demo.myshopify.com", "currency": "EUR" }),
            updated_since: Some("2026-01-01T00:00:00Z".parse().unwrap()),
        }
    }

    fn token() -> SecretString {
        SecretString::from("shpat_test")
    }

    fn cost(requested: f64, available: f64) -> Value {
        json!({ "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": 12,
            "throttleStatus": { "maximumAvailable": 1000.0, "currentlyAvailable": available, "restoreRate": 50.0 }
        }})
    }

    fn node(n: u32) -> Value {
        json!({
            "id": format!("gid://shopify/Product/{n}"),
            "title": format!("  Board  {n} "),
            "handle": format!("board-{n}"),
            "descriptionHtml": "<p>Oak &amp; walnut.</p><p>Oiled.</p>",
            "status": "ACTIVE",
            "updatedAt": "2026-08-01T10:00:00Z",
            "onlineStoreUrl": format!("https://demo.example/products/board-{n}"),
            "tags": ["kitchen", "wood"],
            "featuredMedia": { "image": { "url": "https://cdn.shopify.com/a.jpg", "altText": null } },
            "media": { "nodes": [
                { "image": { "url": "https://cdn.shopify.com/a.jpg" } },
                { "image": { "url": "https://cdn.shopify.com/b.jpg" } },
                {}
            ] },
            "variants": { "nodes": [ { "price": "19.99" } ] }
        })
    }

    fn products(nodes: Vec<Value>, next: Option<&str>, extensions: Value) -> Value {
        json!({
            "data": { "products": {
                "edges": nodes.into_iter().map(|n| json!({ "cursor": "x", "node": n })).collect::<Vec<_>>(),
                "pageInfo": { "hasNextPage": next.is_some(), "endCursor": next }
            } },
            "extensions": extensions,
        })
    }

    #[tokio::test]
    async fn two_pages_then_the_end() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(GRAPHQL))
            .and(header("X-Shopify-Access-Token", "shpat_test"))
            .and(body_partial_json(
                json!({ "variables": { "first": PAGE_SIZE, "after": null } }),
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(products(
                vec![node(1), node(2)],
                Some("c1"),
                cost(752.0, 988.0),
            )))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(GRAPHQL))
            .and(body_partial_json(json!({ "variables": { "after": "c1" } })))
            .respond_with(ResponseTemplate::new(200).set_body_json(products(
                vec![node(3)],
                None,
                cost(752.0, 300.0),
            )))
            .expect(1)
            .mount(&server)
            .await;

        let c = client(&server);
        let first = c.page(&account(), &token(), None).await.unwrap();
        assert_eq!(first.products.len(), 2);
        assert_eq!(first.next, Some(PageCursor::Token("c1".into())));
        assert_eq!(first.wait, Duration::ZERO, "the bucket still holds a page");
        let p = &first.products[0];
        assert_eq!(p.external_id, "gid://shopify/Product/1");
        assert_eq!(p.title, "Board 1");
        assert_eq!(p.description_text, "Oak & walnut.\n\nOiled.");
        assert_eq!(p.status, ProductStatus::Active);
        assert_eq!(
            p.images,
            vec![
                "https://cdn.shopify.com/a.jpg",
                "https://cdn.shopify.com/b.jpg"
            ]
        );
        assert_eq!(
            p.price,
            Some(Money {
                amount: "19.99".into(),
                currency: "EUR".into()
            })
        );
        assert_eq!(p.tags, vec!["kitchen", "wood"]);

        let last = c
            .page(&account(), &token(), first.next.as_ref())
            .await
            .unwrap();
        assert_eq!(last.products.len(), 1);
        assert_eq!(last.next, None);
        assert_eq!(last.wait, Duration::ZERO, "no next page to wait for");
    }

    #[tokio::test]
    async fn a_draining_bucket_slows_the_next_page_down() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(GRAPHQL))
            .respond_with(ResponseTemplate::new(200).set_body_json(products(
                vec![node(1)],
                Some("c1"),
                cost(752.0, 252.0),
            )))
            .mount(&server)
            .await;
        let page = client(&server)
            .page(&account(), &token(), None)
            .await
            .unwrap();
        // 500 points short at 50 a second.
        assert_eq!(page.wait, Duration::from_secs(10));
    }

    #[tokio::test]
    async fn a_throttled_answer_is_retried_when_the_bucket_has_refilled() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(GRAPHQL))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "errors": [{ "message": "Throttled", "extensions": { "code": "THROTTLED" } }],
                "extensions": cost(752.0, 2.0),
            })))
            .mount(&server)
            .await;
        let err = client(&server)
            .page(&account(), &token(), None)
            .await
            .unwrap_err();
        assert_eq!(
            err,
            CatalogError::retry_in(Duration::from_secs(15), "Shopify is throttling us")
        );
    }

    #[tokio::test]
    async fn a_full_last_page_ends_the_catalog_even_with_an_end_cursor() {
        let server = MockServer::start().await;
        let mut body = products((0..PAGE_SIZE).map(node).collect(), None, cost(752.0, 0.0));
        body["data"]["products"]["pageInfo"]["endCursor"] = json!("last");
        Mock::given(method("POST"))
            .and(path(GRAPHQL))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
        let page = client(&server)
            .page(&account(), &token(), Some(&PageCursor::Token("c9".into())))
            .await
            .unwrap();
        assert_eq!(page.products.len(), PAGE_SIZE as usize);
        assert_eq!(page.next, None);
        assert_eq!(page.wait, Duration::ZERO);
    }

    #[tokio::test]
    async fn an_http_429_or_a_server_error_is_retried() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(GRAPHQL))
            .and(body_partial_json(
                json!({ "variables": { "after": "busy" } }),
            ))
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "5"))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(GRAPHQL))
            .and(body_partial_json(
                json!({ "variables": { "after": "down" } }),
            ))
            .respond_with(ResponseTemplate::new(503))
            .mount(&server)
            .await;
        let c = client(&server);
        let busy = c
            .page(
                &account(),
                &token(),
                Some(&PageCursor::Token("busy".into())),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(busy, CatalogError::Retryable { wait: Some(w), .. } if w >= Duration::from_secs(5)),
            "{busy:?}"
        );
        let down = c
            .page(
                &account(),
                &token(),
                Some(&PageCursor::Token("down".into())),
            )
            .await
            .unwrap_err();
        assert!(matches!(down, CatalogError::Retryable { .. }), "{down:?}");
        let wrong = c
            .page(&account(), &token(), Some(&PageCursor::Offset(3)))
            .await
            .unwrap_err();
        assert!(matches!(wrong, CatalogError::Permanent(_)));
    }

    #[tokio::test]
    async fn a_refused_token_is_an_auth_error() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(GRAPHQL))
            .respond_with(ResponseTemplate::new(401).set_body_json(json!({
                "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
            })))
            .mount(&server)
            .await;
        let err = client(&server)
            .page(&account(), &token(), None)
            .await
            .unwrap_err();
        assert!(matches!(err, CatalogError::Auth(m) if m.contains("Invalid API key")));
    }

    #[tokio::test]
    async fn incremental_syncs_ask_only_for_changed_products() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(GRAPHQL))
            .and(body_partial_json(json!({ "variables": {
                "query": "updated_at:>'2026-08-01T00:00:00Z'"
            } })))
            .respond_with(ResponseTemplate::new(200).set_body_json(products(
                vec![],
                None,
                cost(752.0, 1000.0),
            )))
            .expect(1)
            .mount(&server)
            .await;
        let mut account = account();
        account.updated_since = Some("2026-08-01T00:00:00Z".parse().unwrap());
        let page = client(&server)
            .page(&account, &token(), None)
            .await
            .unwrap();
        assert!(page.products.is_empty());
        assert_eq!(page.next, None);
    }

    #[test]
    fn products_with_bad_data_are_kept_and_products_without_an_id_skipped() {
        let sparse = product(
            &json!({ "id": "gid://shopify/Product/9", "title": null, "descriptionHtml": null,
                     "status": "SOMETHING_NEW", "media": { "nodes": null },
                     "variants": { "nodes": [ { "price": "abc" } ] }, "updatedAt": "yesterday" }),
            Some("EUR"),
        )
        .unwrap();
        assert_eq!(sparse.title, "");
        assert_eq!(sparse.description_text, "");
        assert!(sparse.images.is_empty());
        assert_eq!(sparse.price, None);
        assert_eq!(sparse.updated_at, None);
        assert_eq!(sparse.status, ProductStatus::Other("something_new".into()));
        assert_eq!(product(&node(1), None).unwrap().price, None, "no currency");
        assert_eq!(product(&json!({ "title": "No id" }), Some("EUR")), None);
    }
}
