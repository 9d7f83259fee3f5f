use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;

const P: Platform = Platform::Shopify;
const SHOP: &str = "maple-and-moss.myshopify.com";

fn shop_token(h: &Harness, shop: &str) -> String {
    let now = h.sandbox.now();
    let mut store = h.sandbox.shared.store();
    let mut grant = store.new_grant(
        P,
        &default_client_id(P),
        "maya@mapleandmoss.example",
        vec!["read_products".into()],
    );
    grant.shop = Some(shop.to_owned());
    store
        .issue(Issue::access("shpat_", 32, None), &grant, now)
        .value
}

async fn gql(h: &Harness, token: &str, query: &str, variables: Value) -> (StatusCode, Value) {
    h.get_json(
        h.http
            .post(h.url(P, &format!("{SHOP}/admin/api/2026-07/graphql.json")))
            .header("x-shopify-access-token", token)
            .json(&json!({ "query": query, "variables": variables })),
    )
    .await
}

const PAGE: &str = r#"query Products($first: Int!, $after: String, $q: String) {
  products(first: $first, after: $after, query: $q) {
    edges { cursor node { id title updatedAt status } }
    pageInfo { hasNextPage endCursor }
  }
}"#;

/// Every product the query selects, page by page; the number of pages too.
async fn all(h: &Harness, token: &str, first: u64, q: Option<&str>) -> (Vec<Value>, usize) {
    let mut after: Option<String> = None;
    let mut out = Vec::new();
    let mut pages = 0;
    loop {
        let (status, body) = gql(
            h,
            token,
            PAGE,
            json!({ "first": first, "after": after, "q": q }),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.get("errors").is_none(), "{body}");
        pages += 1;
        let conn = &body["data"]["products"];
        let edges = conn["edges"].as_array().unwrap();
        out.extend(edges.iter().map(|e| e["node"].clone()));
        if !conn["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = Some(conn["pageInfo"]["endCursor"].as_str().unwrap().to_owned());
        // Let the bucket refill so long walks are not throttled.
        h.sandbox.advance_clock(3);
    }
    (out, pages)
}

#[tokio::test]
async fn every_product_is_listed_once_across_pages_by_default_1200() {
    let h = Harness::start().await;
    let token = shop_token(&h, SHOP);
    let (products, pages) = all(&h, &token, 250, None).await;
    assert_eq!(products.len(), 1200);
    assert_eq!(pages, 5);
    let mut ids: Vec<&str> = products.iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert!(ids[0].starts_with("gid://shopify/Product/"));
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 1200);
}

#[tokio::test]
async fn a_catalog_that_ends_on_a_page_boundary_has_no_empty_last_page() {
    let h = Harness::start_with(|c| c.products_per_shop = 500).await;
    let token = shop_token(&h, SHOP);
    let (products, pages) = all(&h, &token, 250, None).await;
    assert_eq!((products.len(), pages), (500, 2));
    // `last` from the end works the same way.
    let (_, body) = gql(
        &h,
        &token,
        "{ products(last: 5) { nodes { id } pageInfo { hasNextPage hasPreviousPage } } }",
        json!({}),
    )
    .await;
    let conn = &body["data"]["products"];
    assert_eq!(conn["nodes"].as_array().unwrap().len(), 5, "{body}");
    assert_eq!(conn["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(conn["pageInfo"]["hasNextPage"], false);
    let (_, body) = gql(
        &h,
        &token,
        "{ productsCount { count precision } }",
        json!({}),
    )
    .await;
    assert_eq!(body["data"]["productsCount"]["count"], 500, "{body}");
}

#[tokio::test]
async fn products_carry_variants_media_prices_and_descriptions_as_documented() {
    let h = Harness::start_with(|c| c.products_per_shop = 120).await;
    let token = shop_token(&h, SHOP);
    let query = r#"query($after: String) { products(first: 25, after: $after) {
        nodes { id title handle descriptionHtml status tags onlineStoreUrl updatedAt
          featuredMedia { ... on MediaImage { image { url altText } } }
          media(first: 10) { nodes { ... on MediaImage { image { url altText width height } } } }
          variants(first: 5) { nodes { id title sku price compareAtPrice } }
          priceRangeV2 { minVariantPrice { amount currencyCode } maxVariantPrice { amount } } }
        pageInfo { hasNextPage endCursor } } }"#;
    let mut nodes = Vec::new();
    let mut after = Value::Null;
    loop {
        let (status, body) = gql(&h, &token, query, json!({ "after": after })).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.get("errors").is_none(), "{body}");
        let cost = &body["extensions"]["cost"];
        // 2 + 25 × (product 1 + featured media 1 + image 1 + media 2 + 10 × 2 + variants 2 + 5 + price range 3)
        assert_eq!(cost["requestedQueryCost"], 2 + 25 * (1 + 2 + 22 + 7 + 3));
        assert!(
            cost["actualQueryCost"].as_u64().unwrap()
                < cost["requestedQueryCost"].as_u64().unwrap()
        );
        let conn = &body["data"]["products"];
        nodes.extend(conn["nodes"].as_array().unwrap().iter().cloned());
        if conn["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
        h.sandbox.advance_clock(20);
    }
    assert_eq!(nodes.len(), 120);
    let unpriced = nodes
        .iter()
        .find(|n| n["priceRangeV2"]["maxVariantPrice"]["amount"] == "0.00")
        .expect("a product without a price");
    assert_eq!(unpriced["variants"]["nodes"][0]["price"], "0.00");
    let priced = &nodes[0]["variants"]["nodes"][0]["price"];
    let text = priced.as_str().expect("Money is a decimal string");
    assert_eq!(text.split('.').nth(1).map(str::len), Some(2), "{text}");
    assert!(nodes.iter().any(
        |n| n["media"]["nodes"].as_array().unwrap().is_empty() && n["featuredMedia"].is_null()
    ));
    assert!(
        nodes
            .iter()
            .any(|n| n["media"]["nodes"].as_array().unwrap().len() > 2)
    );
    assert!(
        nodes
            .iter()
            .any(|n| n["descriptionHtml"].as_str().unwrap().len() > 100_000)
    );
    assert!(
        nodes
            .iter()
            .any(|n| n["title"].as_str().unwrap().contains('\u{1f375}'))
    );
    assert!(
        nodes
            .iter()
            .any(|n| n["variants"]["nodes"].as_array().unwrap().len() > 1)
    );
    assert!(
        nodes[0]["descriptionHtml"]
            .as_str()
            .unwrap()
            .starts_with("<h2>")
    );
}

#[tokio::test]
async fn the_calculated_cost_drains_a_leaky_bucket_until_throttled() {
    let h = Harness::start().await;
    let token = shop_token(&h, SHOP);
    // Too expensive for one query at all.
    let (_, body) = gql(
        &h,
        &token,
        "{ products(first: 250) { nodes { id variants(first: 100) { nodes { id } } } } }",
        json!({}),
    )
    .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "MAX_COST_EXCEEDED");
    assert!(body.get("data").is_none());
    // 2 + 100 × (1 + 2 + 3) = 602 requested, 602 actual (every product has 3+ variants? no:
    // the actual cost counts what came back), so the 2000-point bucket pays three at most.
    let q = "{ products(first: 100) { nodes { id variants(first: 3) { nodes { id } } } } }";
    let mut throttled = None;
    for n in 0..10 {
        let (status, body) = gql(&h, &token, q, json!({})).await;
        assert_eq!(status, StatusCode::OK);
        if body["errors"][0]["extensions"]["code"] == "THROTTLED" {
            throttled = Some((n, body));
            break;
        }
        assert_eq!(body["extensions"]["cost"]["requestedQueryCost"], 602);
    }
    let (n, body) = throttled.expect("the bucket ran dry");
    assert!(n >= 3, "throttled after {n} queries");
    assert!(body.get("data").is_none());
    let cost = &body["extensions"]["cost"];
    assert!(cost["actualQueryCost"].is_null());
    assert_eq!(cost["throttleStatus"]["maximumAvailable"], 2000.0);
    assert_eq!(cost["throttleStatus"]["restoreRate"], 100.0);
    assert!(
        cost["throttleStatus"]["currentlyAvailable"]
            .as_f64()
            .unwrap()
            < 602.0
    );
    // Restored at 100 points a second on the sandbox clock.
    h.sandbox.advance_clock(10);
    let (_, body) = gql(&h, &token, q, json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
}

#[tokio::test]
async fn products_need_a_token_of_that_shop() {
    let h = Harness::start().await;
    let (status, body) = gql(&h, "shpat_nope", PAGE, json!({ "first": 1 })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["errors"].as_str().unwrap().contains("Invalid API key"));
    let other = shop_token(&h, "other-shop.myshopify.com");
    let (status, _) = gql(&h, &other, PAGE, json!({ "first": 1 })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Neither first nor last, or too many: a GraphQL error, not a crash.
    let token = shop_token(&h, SHOP);
    let (status, body) = gql(&h, &token, "{ products { nodes { id } } }", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("first or last")
    );
    let (_, body) = gql(&h, &token, PAGE, json!({ "first": 251 })).await;
    assert!(body.get("data").is_none(), "{body}");
}

#[tokio::test]
async fn an_incremental_sync_finds_what_changed_since_it_last_looked() {
    let h = Harness::start_with(|c| c.products_per_shop = 300).await;
    let token = shop_token(&h, SHOP);
    let (first_sync, _) = all(&h, &token, 250, None).await;
    assert_eq!(first_sync.len(), 300);
    let since = h
        .sandbox
        .now()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let q = format!("updated_at:>'{since}'");
    let (nothing, _) = all(&h, &token, 250, Some(&q)).await;
    assert!(nothing.is_empty(), "{nothing:?}");

    // A day later some products changed (and a few were archived).
    h.sandbox.advance_clock(24 * 3600);
    let (changed, _) = all(&h, &token, 250, Some(&q)).await;
    assert!(
        changed.len() > 20 && changed.len() < 200,
        "{} changed",
        changed.len()
    );
    for p in &changed {
        assert!(p["updatedAt"].as_str().unwrap() > since.as_str());
    }
    let (active, _) = all(&h, &token, 250, Some("status:active")).await;
    let (everything, _) = all(&h, &token, 250, None).await;
    assert_eq!(everything.len(), 300);
    assert!(active.len() < 300);

    // A test edits one product and deletes another by hand.
    let since = h
        .sandbox
        .now()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    h.sandbox.advance_clock(5);
    let res = h
        .http
        .post(format!("{}/_sandbox/catalog/shopify/{SHOP}/7", h.base))
        .json(&json!({ "title": "Renamed mug", "price": "12.50" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    h.sandbox
        .edit_product(
            P,
            SHOP,
            8,
            crate::sandbox::ProductEdit {
                delete: true,
                ..Default::default()
            },
        )
        .unwrap();
    let q = format!("updated_at:>'{since}'");
    let (changed, _) = all(&h, &token, 250, Some(&q)).await;
    let renamed: Vec<_> = changed
        .iter()
        .filter(|p| p["title"] == "Renamed mug")
        .collect();
    assert_eq!(renamed.len(), 1, "{changed:?}");
    let (everything, _) = all(&h, &token, 250, None).await;
    assert_eq!(everything.len(), 299);
    let (_, body) = gql(
        &h,
        &token,
        "query($id: ID!) { product(id: $id) { title variants(first: 1) { nodes { price } } } }",
        json!({ "id": renamed[0]["id"] }),
    )
    .await;
    assert_eq!(
        body["data"]["product"]["variants"]["nodes"][0]["price"],
        "12.50"
    );
    // Bad edits are refused.
    let res = h
        .http
        .post(format!("{}/_sandbox/catalog/shopify/{SHOP}/300", h.base))
        .json(&json!({ "title": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_fault_applies_to_the_products_query_too() {
    let h = Harness::start().await;
    let token = shop_token(&h, SHOP);
    h.fault(json!({ "platform": "shopify", "path": "graphql.json", "rate_limit": { "reset_after_secs": 30 } }))
        .await;
    let (status, body) = gql(&h, &token, PAGE, json!({ "first": 10 })).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["errors"][0]["extensions"]["code"], "THROTTLED");
}

#[tokio::test]
async fn sorting_by_updated_at_in_reverse_pages_newest_first_without_gaps() {
    let h = Harness::start_with(|c| c.products_per_shop = 130).await;
    let token = shop_token(&h, SHOP);
    h.sandbox.advance_clock(8 * 3600);
    let query = r#"query($after: String) {
      products(first: 50, after: $after, sortKey: UPDATED_AT, reverse: true) {
        nodes { id updatedAt } pageInfo { hasNextPage endCursor } } }"#;
    let mut seen: Vec<Value> = Vec::new();
    let mut after = Value::Null;
    loop {
        let (_, body) = gql(&h, &token, query, json!({ "after": after })).await;
        assert!(body.get("errors").is_none(), "{body}");
        let conn = &body["data"]["products"];
        seen.extend(conn["nodes"].as_array().unwrap().iter().cloned());
        if conn["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen.len(), 130);
    let times: Vec<&str> = seen
        .iter()
        .map(|n| n["updatedAt"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    let mut ids: Vec<&str> = seen.iter().map(|n| n["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 130);
    // A bad cursor is a GraphQL error.
    let (_, body) = gql(&h, &token, query, json!({ "after": "bm9wZQ==" })).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Invalid cursor")
    );
}

const BULK: &str = r#"mutation Run($q: String!) {
  bulkOperationRunQuery(query: $q) { bulkOperation { id status } userErrors { field message code } }
}"#;

const POLL: &str = r#"query Poll($id: ID!) {
  node(id: $id) { ... on BulkOperation { id status errorCode objectCount rootObjectCount fileSize url completedAt } }
}"#;

const INNER: &str = r#"{ products(query: "status:draft") { edges { node {
  id title
  media(first: 1) { edges { node { ... on MediaImage { id image { url } } } } }
  variants { nodes { id price } }
} } } }"#;

#[tokio::test]
async fn a_bulk_operation_runs_then_serves_its_jsonl_file_with_ranges() {
    let h = Harness::start_with(|c| c.products_per_shop = 400).await;
    let token = shop_token(&h, SHOP);
    let renamed = crate::sandbox::ProductEdit {
        title: Some("Renamed before the export".into()),
        ..Default::default()
    };
    h.sandbox.edit_product(P, SHOP, 39, renamed).unwrap();
    let (_, body) = gql(&h, &token, BULK, json!({ "q": INNER })).await;
    let op = &body["data"]["bulkOperationRunQuery"];
    assert_eq!(op["userErrors"], json!([]), "{body}");
    assert_eq!(op["bulkOperation"]["status"], "CREATED");
    assert!(
        body["extensions"]["cost"]["actualQueryCost"]
            .as_u64()
            .unwrap()
            >= 10,
        "a mutation costs 10 points: {body}"
    );
    let id = op["bulkOperation"]["id"].as_str().unwrap().to_owned();

    // Only one at a time.
    let (_, again) = gql(&h, &token, BULK, json!({ "q": INNER })).await;
    let errors = &again["data"]["bulkOperationRunQuery"]["userErrors"];
    assert_eq!(
        errors[0]["message"],
        format!("A bulk query operation for this app and shop is already in progress: {id}."),
        "{again}"
    );

    h.sandbox.advance_clock(2);
    let (_, polled) = gql(&h, &token, POLL, json!({ "id": id })).await;
    let node = &polled["data"]["node"];
    assert_eq!(node["status"], "COMPLETED", "{polled}");
    // 400 products, one in 40 a draft.
    assert_eq!(node["rootObjectCount"], "10");
    let url = node["url"].as_str().unwrap();
    let size: usize = node["fileSize"].as_str().unwrap().parse().unwrap();
    let path = url
        .strip_prefix("https://")
        .unwrap()
        .split('?')
        .next()
        .unwrap();

    let res = h.http.get(h.url(P, path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    assert_eq!(text.len(), size);
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let roots: Vec<&Value> = lines
        .iter()
        .filter(|l| l.get("__parentId").is_none())
        .collect();
    assert_eq!(roots.len(), 10);
    assert_eq!(
        node["objectCount"]
            .as_str()
            .unwrap()
            .parse::<usize>()
            .unwrap(),
        lines.len()
    );
    let first = roots[0]["id"].as_str().unwrap();
    assert_eq!(roots[0]["title"], "Renamed before the export");
    assert!(roots[0].get("variants").is_none() && roots[0].get("media").is_none());
    let children: Vec<&Value> = lines
        .iter()
        .skip(1)
        .take_while(|l| l.get("__parentId").is_some())
        .collect();
    assert!(children.iter().all(|c| c["__parentId"] == first));
    assert!(
        children
            .iter()
            .any(|c| c["id"].as_str().unwrap().contains("ProductVariant"))
    );
    assert!(
        children.iter().filter(|c| c.get("image").is_some()).count() > 1
            || children.iter().all(|c| c.get("image").is_none()),
        "nested connections ignore `first`"
    );

    // A range from the second product's line on.
    let offset = text
        .find(&format!(
            "{{\"id\":{}",
            serde_json::to_string(&roots[1]["id"]).unwrap()
        ))
        .unwrap();
    let res = h
        .http
        .get(h.url(P, path))
        .header("range", format!("bytes={offset}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        res.headers()["content-range"],
        format!("bytes {offset}-{}/{size}", size - 1).as_str()
    );
    assert_eq!(res.text().await.unwrap(), text[offset..]);

    // The shop's current operation is that one; deletions are events.
    h.sandbox
        .edit_product(
            P,
            SHOP,
            39,
            crate::sandbox::ProductEdit {
                delete: true,
                ..Default::default()
            },
        )
        .unwrap();
    let (_, deleted) = gql(
        &h,
        &token,
        r#"{ currentBulkOperation { id status } deletionEvents(subjectTypes: [PRODUCT], first: 10, query: "occurred_at:>'2020-01-01T00:00:00Z'") { nodes { subjectId subjectType occurredAt } pageInfo { hasNextPage } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(deleted["data"]["currentBulkOperation"]["id"], id.as_str());
    let events = deleted["data"]["deletionEvents"]["nodes"]
        .as_array()
        .unwrap();
    assert_eq!(events.len(), 1, "{deleted}");
    assert_eq!(
        events[0]["subjectId"], first,
        "product 39 was the first draft"
    );
    // The file is a snapshot: the product deleted since is still in it, as it was renamed.
    let res = h.http.get(h.url(P, path)).send().await.unwrap();
    assert_eq!(res.text().await.unwrap(), text);
}

#[tokio::test]
async fn bulk_queries_are_checked_before_they_run_and_their_files_expire() {
    let h = Harness::start_with(|c| c.products_per_shop = 100).await;
    let token = shop_token(&h, SHOP);
    for (query, says) in [
        (
            "{ products { edges { node { id nope } } } }",
            "doesn't exist",
        ),
        (
            "{ products { edges { node { title variants { nodes { price } } } } } }",
            "must select the 'id' field",
        ),
        (
            "{ shop { name } products { nodes { id } } }",
            "exactly one top-level",
        ),
        ("{ products { nodes { id }", "Invalid bulk query"),
    ] {
        let (_, body) = gql(&h, &token, BULK, json!({ "q": query })).await;
        let payload = &body["data"]["bulkOperationRunQuery"];
        assert_eq!(payload["bulkOperation"], Value::Null, "{query}: {body}");
        let message = payload["userErrors"][0]["message"].as_str().unwrap();
        assert!(message.contains(says), "{query}: {message}");
        assert_eq!(payload["userErrors"][0]["field"], json!(["query"]));
    }

    let (_, body) = gql(&h, &token, BULK, json!({ "q": INNER })).await;
    let id = body["data"]["bulkOperationRunQuery"]["bulkOperation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    h.sandbox.advance_clock(2);
    let (_, polled) = gql(&h, &token, POLL, json!({ "id": id })).await;
    let url = polled["data"]["node"]["url"].as_str().unwrap();
    let size = polled["data"]["node"]["fileSize"].as_str().unwrap();
    let path = url
        .strip_prefix("https://")
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let res = h
        .http
        .get(h.url(P, &path))
        .header("range", format!("bytes={size}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        res.headers()["content-range"],
        format!("bytes */{size}").as_str()
    );

    h.sandbox.advance_clock(7 * 86_400);
    let (_, polled) = gql(&h, &token, POLL, json!({ "id": id })).await;
    assert_eq!(polled["data"]["node"]["status"], "EXPIRED");
    assert_eq!(polled["data"]["node"]["url"], Value::Null);
    let res = h.http.get(h.url(P, &path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = h
        .http
        .get(h.url(P, "storage.googleapis.com/shopify-tiers-assets-prod-us-east1/bulk-operation-outputs/guess-final"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
