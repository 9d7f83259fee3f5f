//! Full Shopify syncs through a bulk operation (shopify.dev "Perform bulk operations with the
//! GraphQL Admin API"): one `bulkOperationRunQuery` asks Shopify to write the whole catalog to
//! a JSONL file, we poll the operation until it is `COMPLETED`, then read the file a page at a
//! time with `Range: bytes=N-`, so a sync of 10 000 products costs a handful of cheap queries
//! instead of 900 seconds of query cost.
//!
//! The checkpoint is [`PageCursor::Bulk`]: the operation and the byte offset of the first line
//! not yet read (always the start of a product's line). The file lists each product on a line
//! of its own, followed by its media and variants on lines that carry `__parentId`; a page ends
//! before the line of the product that would be one too many, so every product it returns is
//! complete, and reading stops there (the rest of the file is never downloaded for that page).
//! [`Page::total`] (`productsCount`) comes with the pages while the operation runs and with the
//! file's first page; later pages leave it `None` (the sync keeps the last one it saw).
//!
//! When the operation can't be continued — Shopify no longer knows it, it was canceled or
//! expired, or its file is gone (the URL lasts 7 days) — the read **starts over** with a new
//! operation from the first product: the page that says so is empty and carries the new
//! cursor. Products already stored arrive again; storing them is idempotent. A `FAILED`
//! operation is an error: `ACCESS_DENIED` an [`CatalogError::Auth`], `TIMEOUT` (a catalog too
//! big to export) a [`CatalogError::Permanent`], anything else starts over.

use std::time::Duration;

use futures::StreamExt as _;
use reqwest::header::RANGE;
use secrecy::SecretString;
use serde_json::{Value, json};

use super::catalog::{ShopifyCatalog, graphql_error, product};
use crate::domain::Platform;
use crate::platforms::catalog::RemoteProduct;
use crate::platforms::catalog::{self, CatalogAccount, CatalogError, Page, PageCursor};

/// The products of a full sync, as the paged query reads them; nested connections are not
/// paginated in a bulk query (every medium and variant comes).
pub const BULK_PRODUCTS_QUERY: &str = "{
  products {
    edges { node {
      id title handle descriptionHtml status updatedAt onlineStoreUrl tags
      featuredMedia { ... on MediaImage { image { url altText } } }
      media { edges { node { ... on MediaImage { id image { url altText } } } } }
      variants { edges { node { id price } } }
    } }
  }
}";

const RUN_MUTATION: &str = "mutation RunBulkQuery($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message }
  }
}";

/// Asked while the export runs and for its first page: with the catalog's size, for the
/// progress bar and the polling pace (later pages don't need it again).
const POLL_QUERY: &str = "query BulkOperation($id: ID!) {
  node(id: $id) {
    ... on BulkOperation { id status errorCode objectCount rootObjectCount fileSize url }
  }
  productsCount { count }
}";

const STATUS_QUERY: &str = "query BulkOperation($id: ID!) {
  node(id: $id) {
    ... on BulkOperation { id status errorCode objectCount rootObjectCount fileSize url }
  }
}";

/// Products a page of the file holds at most.
pub const BULK_PAGE_SIZE: usize = 250;

/// A line longer than this is no product we can use (Shopify caps descriptions far below).
const MAX_LINE: usize = 16 * 1024 * 1024;

/// How long to wait before asking about a running operation again: half a second, a little
/// longer for a big catalog (Shopify exports a few thousand products a second), at most 5 s.
pub fn poll_wait(total: Option<u64>) -> Duration {
    let extra = total.unwrap_or(0) / 20; // 50 µs a product
    Duration::from_millis(500 + extra.min(4_500))
}

/// Where reading the file left off.
#[derive(Debug, PartialEq, Eq)]
enum FileRead {
    /// Products read, and the offset to continue from (`None`: the end of the file).
    Page {
        products: Vec<RemoteProduct>,
        skipped: usize,
        next: Option<u64>,
    },
    /// The file is no longer there (expired URL): start over.
    Gone,
}

impl ShopifyCatalog {
    /// Starts a bulk operation: an empty page whose cursor is the operation.
    pub(crate) async fn start_bulk(
        &self,
        account: &CatalogAccount,
        token: &SecretString,
    ) -> Result<Page, CatalogError> {
        let (json, _) = self
            .graphql(
                account,
                token,
                RUN_MUTATION,
                json!({ "query": BULK_PRODUCTS_QUERY }),
            )
            .await?;
        let Some(payload) = json
            .pointer("/data/bulkOperationRunQuery")
            .filter(|p| p.is_object())
        else {
            return Err(graphql_error(&json, 200));
        };
        let errors: Vec<&str> = payload
            .get("userErrors")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|e| e.get("message").and_then(Value::as_str))
            .collect();
        if let Some(message) = errors.first() {
            if message.contains("already in progress") {
                // Ours from an attempt whose answer was lost, or another part of the app's:
                // either way it ends on its own.
                return Err(CatalogError::retry_in(
                    Duration::from_secs(30),
                    "Shopify is already exporting this shop's catalog; trying again shortly",
                ));
            }
            return Err(CatalogError::Permanent(format!(
                "Shopify refused the catalog export: {}",
                errors.join("; ")
            )));
        }
        let Some(operation) = catalog::str_at(payload, "/bulkOperation/id") else {
            return Err(CatalogError::Permanent(
                "Shopify started no catalog export and said nothing why".into(),
            ));
        };
        tracing::info!(operation, "started a Shopify bulk operation");
        Ok(Page {
            products: Vec::new(),
            next: Some(PageCursor::Bulk {
                operation: operation.to_owned(),
                offset: 0,
            }),
            wait: poll_wait(None),
            total: None,
            skipped: 0,
        })
    }

    /// The page at `offset` of the operation's file, or an empty page while it runs.
    pub(crate) async fn bulk_page(
        &self,
        account: &CatalogAccount,
        token: &SecretString,
        operation: &str,
        offset: u64,
    ) -> Result<Page, CatalogError> {
        let query = if offset == 0 {
            POLL_QUERY
        } else {
            STATUS_QUERY
        };
        let (json, _) = self
            .graphql(account, token, query, json!({ "id": operation }))
            .await?;
        let Some(data) = json.get("data").filter(|d| d.is_object()) else {
            return Err(graphql_error(&json, 200));
        };
        let total = data.pointer("/productsCount/count").and_then(Value::as_u64);
        let node = data.get("node").filter(|n| n.is_object());
        let status = node.and_then(|n| catalog::str_at(n, "/status"));
        let waiting = Page {
            products: Vec::new(),
            next: Some(PageCursor::Bulk {
                operation: operation.to_owned(),
                offset,
            }),
            wait: poll_wait(total),
            total,
            skipped: 0,
        };
        match status {
            Some("CREATED" | "RUNNING" | "CANCELING") => Ok(waiting),
            Some("COMPLETED") => {
                let Some(url) = node.and_then(|n| catalog::str_at(n, "/url")) else {
                    // Nothing matched: Shopify writes no file.
                    return Ok(Page {
                        next: None,
                        wait: Duration::ZERO,
                        ..waiting
                    });
                };
                let currency = account.metadata.get("currency").and_then(Value::as_str);
                match self
                    .read_file(url, offset, BULK_PAGE_SIZE, currency)
                    .await?
                {
                    FileRead::Page {
                        products,
                        skipped,
                        next,
                    } => Ok(Page {
                        products,
                        skipped,
                        next: next.map(|offset| PageCursor::Bulk {
                            operation: operation.to_owned(),
                            offset,
                        }),
                        wait: Duration::ZERO,
                        total,
                    }),
                    FileRead::Gone => {
                        tracing::warn!(
                            operation,
                            "the bulk operation's file is gone; starting over"
                        );
                        self.start_bulk(account, token).await
                    }
                }
            }
            Some("FAILED") => {
                let code = node
                    .and_then(|n| catalog::str_at(n, "/errorCode"))
                    .unwrap_or("unknown");
                match code {
                    "ACCESS_DENIED" => Err(CatalogError::Auth(
                        "Shopify refused the catalog export (ACCESS_DENIED)".into(),
                    )),
                    "TIMEOUT" => Err(CatalogError::Permanent(
                        "Shopify's catalog export timed out (TIMEOUT)".into(),
                    )),
                    _ => {
                        tracing::warn!(operation, code, "the bulk operation failed; starting over");
                        self.start_bulk(account, token).await
                    }
                }
            }
            other => {
                // Unknown to Shopify (null), CANCELED or EXPIRED.
                tracing::warn!(
                    operation,
                    status = other.unwrap_or("unknown"),
                    "the bulk operation can't be continued; starting over"
                );
                self.start_bulk(account, token).await
            }
        }
    }

    /// Reads up to `limit` products from the file at `url`, from byte `offset`. The file is on
    /// a storage host, not the shop: no access token goes with it.
    async fn read_file(
        &self,
        url: &str,
        offset: u64,
        limit: usize,
        currency: Option<&str>,
    ) -> Result<FileRead, CatalogError> {
        let Some(target) = self.http.remote_url(Platform::Shopify, url) else {
            return Err(CatalogError::Permanent(
                "Shopify gave an export file URL that isn't one".into(),
            ));
        };
        let mut request = self.http.client().get(target);
        if offset > 0 {
            request = request.header(RANGE, format!("bytes={offset}-"));
        }
        let response = request.send().await.map_err(|e| CatalogError::Retryable {
            wait: None,
            message: format!("the catalog export file couldn't be fetched: {e}"),
        })?;
        let status = response.status().as_u16();
        // A server that ignores the range sends the whole file: skip what was read.
        let mut skip = match status {
            206 => 0,
            200 => offset,
            416 => {
                return Ok(FileRead::Page {
                    products: Vec::new(),
                    skipped: 0,
                    next: None,
                });
            }
            400 | 403 | 404 | 410 => return Ok(FileRead::Gone),
            408 | 429 | 500.. => {
                return Err(CatalogError::Retryable {
                    wait: catalog::header_wait(response.headers()),
                    message: format!("the catalog export file answered HTTP {status}"),
                });
            }
            _ => {
                return Err(CatalogError::Permanent(format!(
                    "the catalog export file answered HTTP {status}"
                )));
            }
        };
        let mut lines = Assembler::new(offset, limit, currency);
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| CatalogError::Retryable {
                wait: None,
                message: format!("reading the catalog export file failed: {e}"),
            })?;
            let mut bytes = &chunk[..];
            if skip > 0 {
                let n = bytes.len().min(usize::try_from(skip).unwrap_or(usize::MAX));
                bytes = &bytes[n..];
                skip -= n as u64;
            }
            if let Some(next) = lines.feed(bytes) {
                return Ok(lines.page(Some(next)));
            }
        }
        lines.end();
        Ok(lines.page(None))
    }
}

/// One product's lines, being put back together.
struct Current {
    node: Value,
    media: Vec<Value>,
    variants: Vec<Value>,
}

/// Turns the JSONL file's lines back into products, a page at a time: a product line starts a
/// product, the lines after it that name it in `__parentId` are its media and variants.
struct Assembler<'c> {
    /// File offset of the start of the line being collected in `partial`.
    line_start: u64,
    partial: Vec<u8>,
    /// The line under way is too long to keep: it is dropped when it ends.
    overlong: bool,
    /// Bytes of the line under way already dropped (it is too long).
    dropped: u64,
    max_line: usize,
    limit: usize,
    currency: Option<&'c str>,
    current: Option<Current>,
    products: Vec<RemoteProduct>,
    skipped: usize,
}

impl<'c> Assembler<'c> {
    fn new(offset: u64, limit: usize, currency: Option<&'c str>) -> Self {
        Self {
            line_start: offset,
            partial: Vec::new(),
            overlong: false,
            dropped: 0,
            max_line: MAX_LINE,
            limit,
            currency,
            current: None,
            products: Vec::new(),
            skipped: 0,
        }
    }

    /// Takes the next bytes of the file. `Some(offset)` once the page is full: where the first
    /// line not used starts (the rest of the file is not needed for this page).
    fn feed(&mut self, mut bytes: &[u8]) -> Option<u64> {
        while let Some(nl) = bytes.iter().position(|b| *b == b'\n') {
            let (head, tail) = bytes.split_at(nl);
            bytes = &tail[1..];
            let start = self.line_start;
            let length =
                std::mem::take(&mut self.dropped) + (self.partial.len() + head.len()) as u64;
            self.line_start += length + 1;
            if std::mem::take(&mut self.overlong) {
                self.partial.clear();
                self.malformed(start, "too long");
                continue;
            }
            let stop = if self.partial.is_empty() {
                self.line(head, start)
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(head);
                self.line(&line, start)
            };
            if stop.is_some() {
                return stop;
            }
        }
        if self.overlong {
            self.dropped += bytes.len() as u64;
        } else {
            self.partial.extend_from_slice(bytes);
            if self.partial.len() > self.max_line {
                self.overlong = true;
                self.dropped += self.partial.len() as u64;
                self.partial = Vec::new();
            }
        }
        None
    }

    /// The file ended: its last line (when it has no newline) and last product are complete.
    fn end(&mut self) {
        if self.overlong {
            self.malformed(self.line_start, "too long");
        } else if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            // At the end of the file the page can't be full before the last product is in.
            let _ = self.line(&line, self.line_start);
        }
        self.finish_current();
    }

    fn page(self, next: Option<u64>) -> FileRead {
        FileRead::Page {
            products: self.products,
            skipped: self.skipped,
            next,
        }
    }

    fn malformed(&mut self, start: u64, why: &str) {
        tracing::warn!(
            offset = start,
            why,
            "a line of a Shopify export file was skipped"
        );
        self.skipped += 1;
    }

    fn line(&mut self, line: &[u8], start: u64) -> Option<u64> {
        if line.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        let value = match serde_json::from_slice::<Value>(line) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                self.malformed(start, "not a JSON object");
                return None;
            }
        };
        if let Some(parent) = value.get("__parentId").and_then(Value::as_str) {
            match &mut self.current {
                Some(current) if current.node.get("id").and_then(Value::as_str) == Some(parent) => {
                    match child_kind(&value) {
                        Some(Child::Media) => current.media.push(value),
                        Some(Child::Variant) => current.variants.push(value),
                        None => {}
                    }
                }
                // A resumed read never starts mid-product; lines whose product is not on this
                // page belong to no product we return.
                _ => tracing::warn!(offset = start, "a line of an unknown product was skipped"),
            }
            return None;
        }
        self.finish_current();
        if self.products.len() >= self.limit {
            return Some(start);
        }
        self.current = Some(Current {
            node: value,
            media: Vec::new(),
            variants: Vec::new(),
        });
        None
    }

    fn finish_current(&mut self) {
        let Some(Current {
            mut node,
            media,
            variants,
        }) = self.current.take()
        else {
            return;
        };
        // The shape the paged query returns, so one mapping serves both.
        node["media"] = json!({ "nodes": media });
        node["variants"] = json!({ "nodes": variants });
        match product(&node, self.currency) {
            Some(p) => self.products.push(p),
            None => self.skipped += 1,
        }
    }
}

enum Child {
    Media,
    Variant,
}

/// Which connection a child line came from: by its GID's type, else by its fields.
fn child_kind(line: &Value) -> Option<Child> {
    let id = line.get("id").and_then(Value::as_str).unwrap_or_default();
    let kind = id
        .strip_prefix("gid://shopify/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default();
    match kind {
        "ProductVariant" => Some(Child::Variant),
        "MediaImage" | "Video" | "ExternalVideo" | "Model3d" => Some(Child::Media),
        _ if line.get("price").is_some() => Some(Child::Variant),
        _ if line.get("image").is_some() => Some(Child::Media),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product_line(n: u32) -> String {
        json!({
            "id": format!("gid://shopify/Product/{n}"),
            "title": format!("Mug {n}"),
            "descriptionHtml": "<p>Stoneware.</p>",
            "status": "ACTIVE",
            "featuredMedia": { "image": { "url": format!("https://cdn.example/{n}-a.jpg") } },
        })
        .to_string()
    }

    fn media_line(n: u32, image: &str) -> String {
        json!({
            "id": format!("gid://shopify/MediaImage/{n}{image}"),
            "image": { "url": format!("https://cdn.example/{n}-{image}.jpg") },
            "__parentId": format!("gid://shopify/Product/{n}"),
        })
        .to_string()
    }

    fn variant_line(n: u32, price: &str) -> String {
        json!({
            "id": format!("gid://shopify/ProductVariant/{n}0"),
            "price": price,
            "__parentId": format!("gid://shopify/Product/{n}"),
        })
        .to_string()
    }

    /// Products 1..=count, each with two media and two variants; the byte offset of each
    /// product's line.
    fn file(count: u32) -> (String, Vec<u64>) {
        let mut out = String::new();
        let mut offsets = Vec::new();
        for n in 1..=count {
            offsets.push(out.len() as u64);
            for line in [
                product_line(n),
                media_line(n, "a"),
                media_line(n, "b"),
                variant_line(n, &format!("{n}.50")),
                variant_line(n, "99.00"),
            ] {
                out.push_str(&line);
                out.push('\n');
            }
        }
        (out, offsets)
    }

    /// Reads `text` from `offset` in chunks of `chunk` bytes, as a body stream would.
    fn read(text: &str, offset: u64, limit: usize, chunk: usize) -> FileRead {
        let mut lines = Assembler::new(offset, limit, Some("EUR"));
        for piece in text.as_bytes()[offset as usize..].chunks(chunk) {
            if let Some(next) = lines.feed(piece) {
                return lines.page(Some(next));
            }
        }
        lines.end();
        lines.page(None)
    }

    fn ids(read: &FileRead) -> Vec<String> {
        match read {
            FileRead::Page { products, .. } => {
                products.iter().map(|p| p.external_id.clone()).collect()
            }
            FileRead::Gone => Vec::new(),
        }
    }

    #[test]
    fn child_lines_are_put_back_into_their_product() {
        let (text, _) = file(2);
        let FileRead::Page {
            products,
            skipped,
            next,
        } = read(&text, 0, 10, 7)
        else {
            panic!()
        };
        assert_eq!((products.len(), skipped, next), (2, 0, None));
        let p = &products[0];
        assert_eq!(p.external_id, "gid://shopify/Product/1");
        assert_eq!(p.description_text, "Stoneware.");
        assert_eq!(
            p.images,
            vec!["https://cdn.example/1-a.jpg", "https://cdn.example/1-b.jpg"],
            "the featured image once, then the other media"
        );
        let price = p.price.as_ref().unwrap();
        assert_eq!(
            (price.amount.as_str(), price.currency.as_str()),
            ("1.50", "EUR")
        );
    }

    #[test]
    fn a_full_page_stops_at_the_next_product_s_line_and_resumes_there() {
        let (text, offsets) = file(7);
        for chunk in [1, 13, 4096] {
            let first = read(&text, 0, 3, chunk);
            assert_eq!(ids(&first).len(), 3);
            let FileRead::Page { next, .. } = first else {
                panic!()
            };
            assert_eq!(next, Some(offsets[3]), "chunks of {chunk}");
            let second = read(&text, offsets[3], 3, chunk);
            let third = read(&text, offsets[6], 3, chunk);
            assert_eq!(
                ids(&second),
                ["4", "5", "6"].map(|n| format!("gid://shopify/Product/{n}"))
            );
            let FileRead::Page { next, .. } = &third else {
                panic!()
            };
            assert_eq!((ids(&third).len(), *next), (1, None));
        }
    }

    #[test]
    fn a_page_that_ends_exactly_with_the_file_has_no_next_page() {
        let (text, _) = file(3);
        let page = read(&text, 0, 3, 64);
        assert_eq!(ids(&page).len(), 3);
        assert!(matches!(page, FileRead::Page { next: None, .. }));
        // Without a final newline too.
        let page = read(text.trim_end(), 0, 3, 64);
        assert_eq!(ids(&page).len(), 3);
        assert!(matches!(page, FileRead::Page { next: None, .. }));
    }

    #[test]
    fn malformed_lines_and_products_without_an_id_are_skipped_and_counted() {
        let text = format!(
            "{}\n{{not json\n[1,2]\n{}\n{}\n{}\n\n{}\n",
            product_line(1),
            json!({ "title": "no id" }),
            variant_line(9, "1.00"),
            product_line(2),
            variant_line(2, "abc"),
        );
        let FileRead::Page {
            products, skipped, ..
        } = read(&text, 0, 10, 5)
        else {
            panic!()
        };
        let ids: Vec<_> = products.iter().map(|p| p.external_id.as_str()).collect();
        assert_eq!(ids, ["gid://shopify/Product/1", "gid://shopify/Product/2"]);
        assert_eq!(
            skipped, 3,
            "two malformed lines and a product without an id"
        );
        assert_eq!(products[1].price, None, "a price that isn't one");
        assert!(products[0].images.len() == 1);
    }

    mod against_a_server {
        use super::*;
        use url::Url;
        use wiremock::matchers::{body_string_contains, header, method, path};
        use wiremock::{Mock, MockServer, ResponseTemplate};

        use crate::platforms::Http;
        use crate::platforms::catalog::CatalogSource as _;

        const GRAPHQL: &str = "/shopify/demo.myshopify.com/admin/api/2026-07/graphql.json";
        const FILE: &str = "/shopify/storage.googleapis.com/bucket/op-1-final";
        const OP: &str = "gid://shopify/BulkOperation/1";

        fn client(server: &MockServer) -> ShopifyCatalog {
            ShopifyCatalog {
                http: Http::new(Some(Url::parse(&server.uri()).unwrap())),
                api_version: "2026-07".into(),
            }
        }

        fn account() -> CatalogAccount {
            CatalogAccount {
                account_id: "demo.myshopify.com".into(),
                metadata: json!({ "shop_domain": "demo.myshopify.com", "currency": "EUR" }),
                updated_since: None,
            }
        }

        fn token() -> SecretString {
            SecretString::from("shpat_test")
        }

        fn cursor(offset: u64) -> PageCursor {
            PageCursor::Bulk {
                operation: OP.into(),
                offset,
            }
        }

        async fn operation(server: &MockServer, node: Value) {
            Mock::given(method("POST"))
                .and(path(GRAPHQL))
                .and(body_string_contains("query BulkOperation"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "data": { "node": node, "productsCount": { "count": 7 } }
                })))
                .mount(server)
                .await;
        }

        async fn started(server: &MockServer, id: &str) {
            Mock::given(method("POST"))
                .and(path(GRAPHQL))
                .and(body_string_contains("bulkOperationRunQuery"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "data": { "bulkOperationRunQuery": {
                        "bulkOperation": { "id": id, "status": "CREATED" }, "userErrors": []
                    } }
                })))
                .expect(1)
                .mount(server)
                .await;
        }

        fn completed() -> Value {
            json!({ "id": OP, "status": "COMPLETED", "errorCode": null,
                    "url": "https://storage.googleapis.com/bucket/op-1-final?X-Goog-Signature=abc" })
        }

        #[tokio::test]
        async fn a_running_export_is_polled_with_the_same_cursor() {
            let server = MockServer::start().await;
            operation(
                &server,
                json!({ "id": OP, "status": "RUNNING", "objectCount": "3" }),
            )
            .await;
            let page = client(&server)
                .page(&account(), &token(), Some(&cursor(0)))
                .await
                .unwrap();
            assert!(page.products.is_empty());
            assert_eq!(page.next, Some(cursor(0)));
            assert_eq!(page.total, Some(7));
            assert!(page.wait >= Duration::from_millis(500));
        }

        #[tokio::test]
        async fn the_file_is_read_from_the_offset_without_the_access_token() {
            let server = MockServer::start().await;
            operation(&server, completed()).await;
            let (text, offsets) = file(3);
            let rest = text[offsets[1] as usize..].to_owned();
            Mock::given(method("GET"))
                .and(path(FILE))
                .and(header("range", format!("bytes={}-", offsets[1]).as_str()))
                .respond_with(ResponseTemplate::new(206).set_body_string(rest))
                .expect(1)
                .mount(&server)
                .await;
            let page = client(&server)
                .page(&account(), &token(), Some(&cursor(offsets[1])))
                .await
                .unwrap();
            let ids: Vec<_> = page
                .products
                .iter()
                .map(|p| p.external_id.as_str())
                .collect();
            assert_eq!(ids, ["gid://shopify/Product/2", "gid://shopify/Product/3"]);
            assert_eq!(page.next, None);
            let requests = server.received_requests().await.unwrap();
            let download = requests
                .iter()
                .find(|r| r.method.as_str() == "GET")
                .unwrap();
            assert!(
                !download.headers.contains_key("x-shopify-access-token"),
                "the shop's token stays with the shop"
            );
        }

        #[tokio::test]
        async fn a_host_that_ignores_the_range_is_read_past_the_offset() {
            let server = MockServer::start().await;
            operation(&server, completed()).await;
            let (text, offsets) = file(3);
            Mock::given(method("GET"))
                .and(path(FILE))
                .respond_with(ResponseTemplate::new(200).set_body_string(text))
                .mount(&server)
                .await;
            let page = client(&server)
                .page(&account(), &token(), Some(&cursor(offsets[2])))
                .await
                .unwrap();
            let ids: Vec<_> = page
                .products
                .iter()
                .map(|p| p.external_id.as_str())
                .collect();
            assert_eq!(ids, ["gid://shopify/Product/3"]);
        }

        #[tokio::test]
        async fn an_expired_file_or_a_forgotten_export_starts_over() {
            let server = MockServer::start().await;
            operation(&server, completed()).await;
            Mock::given(method("GET"))
                .and(path(FILE))
                .respond_with(ResponseTemplate::new(403).set_body_string("<Error/>"))
                .mount(&server)
                .await;
            started(&server, "gid://shopify/BulkOperation/2").await;
            let page = client(&server)
                .page(&account(), &token(), Some(&cursor(4096)))
                .await
                .unwrap();
            assert!(page.products.is_empty());
            assert_eq!(
                page.next,
                Some(PageCursor::Bulk {
                    operation: "gid://shopify/BulkOperation/2".into(),
                    offset: 0
                })
            );

            let server = MockServer::start().await;
            operation(&server, Value::Null).await;
            started(&server, "gid://shopify/BulkOperation/3").await;
            let page = client(&server)
                .page(&account(), &token(), Some(&cursor(0)))
                .await
                .unwrap();
            assert!(
                matches!(page.next, Some(PageCursor::Bulk { operation, offset: 0 }) if operation.ends_with("/3"))
            );
        }

        #[tokio::test]
        async fn a_failed_export_says_why() {
            let server = MockServer::start().await;
            operation(
                &server,
                json!({ "id": OP, "status": "FAILED", "errorCode": "ACCESS_DENIED" }),
            )
            .await;
            let err = client(&server)
                .page(&account(), &token(), Some(&cursor(0)))
                .await
                .unwrap_err();
            assert!(matches!(err, CatalogError::Auth(_)), "{err:?}");
        }

        #[tokio::test]
        async fn an_export_that_selected_nothing_is_an_empty_catalog() {
            let server = MockServer::start().await;
            operation(
                &server,
                json!({ "id": OP, "status": "COMPLETED", "url": null }),
            )
            .await;
            let page = client(&server)
                .page(&account(), &token(), Some(&cursor(0)))
                .await
                .unwrap();
            assert!(page.products.is_empty());
            assert_eq!(page.next, None);
        }
    }

    #[test]
    fn an_overlong_line_is_skipped_and_the_offsets_after_it_stay_right() {
        let (text, offsets) = file(4);
        // Product 2's line is far longer than this assembler keeps.
        let mut lines = Assembler::new(0, 2, Some("EUR"));
        lines.max_line = 300;
        let mut next = None;
        for piece in text.as_bytes().chunks(100) {
            if let Some(n) = lines.feed(piece) {
                next = Some(n);
                break;
            }
        }
        let FileRead::Page {
            products, skipped, ..
        } = lines.page(next)
        else {
            panic!()
        };
        // Lines of this file are under 300 bytes: nothing is skipped, the page stops at 3.
        assert_eq!((products.len(), skipped, next), (2, 0, Some(offsets[2])));

        let long = format!(
            "{}\n{}\n{}\n",
            product_line(1),
            json!({ "id": "gid://shopify/Product/2", "descriptionHtml": "x".repeat(1000) }),
            product_line(3)
        );
        let third = long.find(&product_line(3)).unwrap() as u64;
        let mut lines = Assembler::new(0, 1, Some("EUR"));
        lines.max_line = 300;
        let mut next = None;
        for piece in long.as_bytes().chunks(64) {
            if let Some(n) = lines.feed(piece) {
                next = Some(n);
                break;
            }
        }
        let FileRead::Page {
            products, skipped, ..
        } = lines.page(next)
        else {
            panic!()
        };
        assert_eq!(products.len(), 1);
        assert_eq!(skipped, 1, "the overlong line");
        assert_eq!(
            next,
            Some(third),
            "the next page starts at product 3's line"
        );
    }

    #[test]
    fn poll_waits_grow_with_the_catalog_but_stay_short() {
        assert_eq!(poll_wait(None), Duration::from_millis(500));
        assert_eq!(poll_wait(Some(10_000)), Duration::from_millis(1000));
        assert_eq!(poll_wait(Some(10_000_000)), Duration::from_secs(5));
    }
}
