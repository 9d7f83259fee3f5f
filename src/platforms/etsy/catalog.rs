//! Etsy's catalog: a shop's active listings with their images, paged by offset (PLATFORMS.md §9).
//!
//! `getListingsByShop` is the listings call that can include images; it needs the OAuth token
//! (`listings_r`) as well as `x-api-key: keystring:shared_secret`. Etsy limits per app (10 a
//! second, 10,000 a day by default) and reports what is left in `x-remaining-*` headers; a page
//! that used the second's last request asks the sync to wait.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone as _, Utc};
use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::config::PlatformCredentials;
use crate::domain::Platform;
use crate::platforms::Http;
use crate::platforms::catalog::{
    self, CatalogAccount, CatalogError, CatalogSource, Money, Page, PageCursor, ProductStatus,
    RemoteProduct,
};

/// Etsy's largest page.
pub const PAGE_SIZE: u64 = 100;

/// The daily limit is a sliding 24 hours without a reset time: check back in an hour.
const DAY_EXHAUSTED_WAIT: Duration = Duration::from_secs(3600);

pub struct EtsyCatalog {
    pub http: Http,
    pub creds: PlatformCredentials,
}

fn remaining(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// How long the `x-remaining-*` headers say to wait before the next request.
pub fn quota_wait(headers: &HeaderMap) -> Duration {
    if remaining(headers, "x-remaining-today") == Some(0) {
        DAY_EXHAUSTED_WAIT
    } else if remaining(headers, "x-remaining-this-second") == Some(0) {
        Duration::from_secs(1)
    } else {
        Duration::ZERO
    }
}

fn epoch(json: &Value, pointer: &str) -> Option<DateTime<Utc>> {
    let secs = json.pointer(pointer)?.as_i64()?;
    Utc.timestamp_opt(secs, 0).single()
}

/// One listing → a product; `None` (skipped) without an id.
pub fn product(listing: &Value) -> Option<RemoteProduct> {
    let Some(id) = catalog::id_at(listing, "/listing_id") else {
        tracing::warn!("an Etsy listing without an id was skipped");
        return None;
    };
    // Etsy sends titles and descriptions as plain text with HTML entities (`&#39;`, `&quot;`).
    let description = catalog::str_at(listing, "/description").unwrap_or_default();
    let mut images: Vec<&Value> = listing
        .get("images")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    images.sort_by_key(|i| i.get("rank").and_then(Value::as_i64).unwrap_or(i64::MAX));
    let mut urls = Vec::new();
    for image in images {
        catalog::push_unique(
            &mut urls,
            catalog::str_at(image, "/url_fullxfull").or(catalog::str_at(image, "/url_570xN")),
        );
    }
    let price = match (
        listing.pointer("/price/amount").and_then(Value::as_i64),
        listing.pointer("/price/divisor").and_then(Value::as_i64),
        catalog::str_at(listing, "/price/currency_code"),
    ) {
        (Some(amount), Some(divisor), Some(currency)) => {
            let money = Money::from_minor_units(amount, divisor, currency);
            if money.is_none() {
                tracing::warn!(listing = %id, divisor, "an Etsy price without an exact decimal");
            }
            money
        }
        _ => None,
    };
    Some(RemoteProduct {
        title: catalog::one_line(&catalog::plain_to_text(
            catalog::str_at(listing, "/title").unwrap_or_default(),
        )),
        description_text: catalog::plain_to_text(description),
        description_html: None,
        url: catalog::str_at(listing, "/url").map(str::to_owned),
        status: match catalog::str_at(listing, "/state") {
            Some("active") => ProductStatus::Active,
            Some("inactive") => ProductStatus::Hidden,
            Some("sold_out") => ProductStatus::SoldOut,
            Some("draft") => ProductStatus::Draft,
            Some("expired") => ProductStatus::Expired,
            other => ProductStatus::Other(other.unwrap_or_default().to_owned()),
        },
        tags: catalog::strings_at(listing, "/tags"),
        images: urls,
        price,
        updated_at: epoch(listing, "/last_modified_timestamp")
            .or_else(|| epoch(listing, "/updated_timestamp")),
        external_id: id,
    })
}

#[async_trait]
impl CatalogSource for EtsyCatalog {
    #[tracing::instrument(skip_all, fields(shop = %account.account_id))]
    async fn page(
        &self,
        account: &CatalogAccount,
        token: &SecretString,
        cursor: Option<&PageCursor>,
    ) -> Result<Page, CatalogError> {
        let offset = PageCursor::offset_of(cursor, "Etsy")?;
        let shop_id = &account.account_id;
        let url = self.http.url(
            Platform::Etsy,
            &format!(
                "https://api.etsy.com/v3/application/shops/{shop_id}/listings?state=active&includes=Images&limit={PAGE_SIZE}&offset={offset}"
            ),
        );
        let request = self
            .http
            .client()
            .get(url)
            .header("x-api-key", super::oauth::api_key(&self.creds))
            .bearer_auth(token.expose_secret());
        let answer = catalog::send(request).await?;
        if !(200..300).contains(&answer.status) {
            let message = catalog::str_at(&answer.json, "/error")
                .map(str::to_owned)
                .unwrap_or_else(|| format!("HTTP {}", answer.status));
            let mut err = catalog::classify(&answer, message, Duration::from_secs(1));
            if let CatalogError::Retryable { wait, .. } = &mut err
                && answer.status == 429
                && remaining(&answer.headers, "x-remaining-today") == Some(0)
            {
                *wait = Some(wait.unwrap_or_default().max(DAY_EXHAUSTED_WAIT));
            }
            return Err(err);
        }
        let results = answer.json.get("results").and_then(Value::as_array);
        let Some(results) = results else {
            return Err(CatalogError::Permanent(
                "Etsy's listings answer had no results".into(),
            ));
        };
        let count = answer
            .json
            .get("count")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let next_offset = offset + PAGE_SIZE;
        // An empty page ends it too, should the count be stale.
        let next =
            (next_offset < count && !results.is_empty()).then_some(PageCursor::Offset(next_offset));
        let products: Vec<RemoteProduct> = results.iter().filter_map(product).collect();
        Ok(Page {
            total: Some(count),
            skipped: results.len() - products.len(),
            products,
            wait: if next.is_some() {
                quota_wait(&answer.headers)
            } else {
                Duration::ZERO
            },
            next,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use url::Url;
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const LISTINGS: &str = "/etsy/api.etsy.com/v3/application/shops/4242/listings";

    fn client(server: &MockServer) -> EtsyCatalog {
        EtsyCatalog {
            http: Http::new(Some(Url::parse(&server.uri()).unwrap())),
            creds: PlatformCredentials {
                client_id: "keystring".into(),
                client_secret: SecretString::from("s3cret"),
            },
        }
    }

    fn account() -> CatalogAccount {
        CatalogAccount {
            account_id: "4242".into(),
            metadata: json!({}),
            updated_since: None,
        }
    }

    fn token() -> SecretString {
        SecretString::from("12345678.token")
    }

    fn listing(id: u64) -> Value {
        json!({
            "listing_id": id,
            "title": "Tom&#39;s  oak board",
            "description": "Hand-made &amp; oiled.\n\nSize: 30&quot; long",
            "state": "active",
            "url": format!("https://www.etsy.com/listing/{id}/oak-board"),
            "tags": ["oak", "kitchen"],
            "last_modified_timestamp": 1_754_000_000,
            "price": { "amount": 1999, "divisor": 100, "currency_code": "USD" },
            "images": [
                { "rank": 2, "url_fullxfull": "https://i.etsystatic.com/2.jpg" },
                { "rank": 1, "url_fullxfull": "https://i.etsystatic.com/1.jpg" }
            ]
        })
    }

    fn listings(count: u64, ids: std::ops::Range<u64>) -> Value {
        json!({ "count": count, "results": ids.map(listing).collect::<Vec<_>>() })
    }

    async fn mount_page(server: &MockServer, offset: u64, body: Value) {
        Mock::given(method("GET"))
            .and(path(LISTINGS))
            .and(query_param("offset", offset.to_string()))
            .and(query_param("limit", PAGE_SIZE.to_string()))
            .and(query_param("includes", "Images"))
            .and(header("x-api-key", "keystring:s3cret"))
            .and(header("authorization", "Bearer 12345678.token"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(body)
                    .insert_header("x-remaining-this-second", "4")
                    .insert_header("x-remaining-today", "9000"),
            )
            .expect(1)
            .mount(server)
            .await;
    }

    #[tokio::test]
    async fn two_pages_then_the_end() {
        let server = MockServer::start().await;
        mount_page(&server, 0, listings(150, 0..100)).await;
        mount_page(&server, 100, listings(150, 100..150)).await;
        let c = client(&server);
        let first = c.page(&account(), &token(), None).await.unwrap();
        assert_eq!(first.products.len(), 100);
        assert_eq!(first.next, Some(PageCursor::Offset(100)));
        assert_eq!(first.wait, Duration::ZERO);
        let p = &first.products[0];
        assert_eq!(p.external_id, "0");
        assert_eq!(p.title, "Tom's oak board");
        assert_eq!(p.description_text, "Hand-made & oiled.\n\nSize: 30\" long");
        assert_eq!(
            p.images,
            vec![
                "https://i.etsystatic.com/1.jpg",
                "https://i.etsystatic.com/2.jpg"
            ],
            "by rank"
        );
        assert_eq!(p.price.as_ref().unwrap().amount, "19.99");
        assert_eq!(p.price.as_ref().unwrap().currency, "USD");
        assert_eq!(p.updated_at.unwrap().timestamp(), 1_754_000_000);
        let last = c
            .page(&account(), &token(), first.next.as_ref())
            .await
            .unwrap();
        assert_eq!(last.products.len(), 50);
        assert_eq!(last.next, None);
    }

    #[tokio::test]
    async fn a_catalog_ending_exactly_on_a_page_boundary_asks_no_further() {
        let server = MockServer::start().await;
        mount_page(&server, 0, listings(200, 0..100)).await;
        mount_page(&server, 100, listings(200, 100..200)).await;
        let c = client(&server);
        let first = c.page(&account(), &token(), None).await.unwrap();
        assert_eq!(first.next, Some(PageCursor::Offset(100)));
        let last = c
            .page(&account(), &token(), first.next.as_ref())
            .await
            .unwrap();
        assert_eq!(last.products.len(), 100);
        assert_eq!(last.next, None, "offset 200 is not below count 200");
    }

    #[tokio::test]
    async fn the_last_request_of_the_second_makes_the_sync_wait() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(LISTINGS))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(listings(300, 0..100))
                    .insert_header("x-remaining-this-second", "0")
                    .insert_header("x-remaining-today", "9000"),
            )
            .mount(&server)
            .await;
        let page = client(&server)
            .page(&account(), &token(), None)
            .await
            .unwrap();
        assert_eq!(page.wait, Duration::from_secs(1));
    }

    #[tokio::test]
    async fn rate_limited_answers_wait_as_told_or_for_the_day() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(LISTINGS))
            .and(query_param("offset", "0"))
            .respond_with(
                ResponseTemplate::new(429)
                    .set_body_json(json!({ "error": "Too many requests" }))
                    .insert_header("retry-after", "3"),
            )
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(LISTINGS))
            .and(query_param("offset", "100"))
            .respond_with(
                ResponseTemplate::new(429)
                    .set_body_json(json!({ "error": "Too many requests" }))
                    .insert_header("x-remaining-today", "0"),
            )
            .mount(&server)
            .await;
        let c = client(&server);
        let err = c.page(&account(), &token(), None).await.unwrap_err();
        let CatalogError::Retryable {
            wait: Some(wait), ..
        } = err
        else {
            panic!("{err:?}")
        };
        assert!(
            (Duration::from_secs(3)..=Duration::from_secs(4)).contains(&wait),
            "{wait:?}"
        );
        let err = c
            .page(&account(), &token(), Some(&PageCursor::Offset(100)))
            .await
            .unwrap_err();
        assert!(
            matches!(err, CatalogError::Retryable { wait: Some(w), .. } if w == DAY_EXHAUSTED_WAIT)
        );
    }

    #[tokio::test]
    async fn a_refused_token_is_an_auth_error() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(LISTINGS))
            .respond_with(
                ResponseTemplate::new(401).set_body_json(json!({ "error": "invalid_token" })),
            )
            .mount(&server)
            .await;
        let err = client(&server)
            .page(&account(), &token(), None)
            .await
            .unwrap_err();
        assert_eq!(err, CatalogError::Auth("invalid_token".into()));
    }

    #[test]
    fn prices_are_amount_over_divisor_exactly_and_bad_listings_are_kept() {
        let mut l = listing(7);
        l["price"] = json!({ "amount": 1999, "divisor": 1000, "currency_code": "KWD" });
        assert_eq!(
            product(&l).unwrap().price,
            Some(Money {
                amount: "1.999".into(),
                currency: "KWD".into()
            })
        );
        let sparse = product(&json!({ "listing_id": "8", "price": null, "images": null,
                                      "title": null, "state": "removed" }))
        .unwrap();
        assert_eq!(sparse.external_id, "8");
        assert_eq!(sparse.price, None);
        assert!(sparse.images.is_empty());
        assert_eq!(sparse.status, ProductStatus::Other("removed".into()));
        assert_eq!(product(&json!({ "title": "no id" })), None);
    }
}
