//! Shop catalogs: the catalog readers against the sandbox's shops, page by page, as the sync
//! will use them.

use picscripter::connections::RefreshReason;
use picscripter::domain::Platform;
use picscripter::entities::connections;
use picscripter::platforms::catalog::{
    CatalogAccount, CatalogError, CatalogSource, PageCursor, RemoteProduct,
};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
use secrecy::SecretString;

use crate::helpers::spawn_app_with_sandbox;
use crate::oauth::connect;

#[tokio::test]
async fn each_shop_s_whole_catalog_is_read_page_by_page_with_exact_prices() {
    let (app, sandbox) = spawn_app_with_sandbox().await;
    app.signed_up_user().await;
    for platform in [Platform::Shopify, Platform::Etsy, Platform::Squarespace] {
        connect(&app, &sandbox, platform).await;
        let connection = connections::Entity::find()
            .filter(connections::Column::Platform.eq(platform.as_str()))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        let token = app
            .state
            .connections
            .access_token_of(&connection)
            .await
            .unwrap();
        let source = app.state.connections.registry().catalog(platform).unwrap();
        let account = CatalogAccount {
            account_id: connection.account_id.clone(),
            metadata: connection.metadata.clone(),
            updated_since: None,
        };
        let (mut seen, mut pages, mut cursor): (Vec<String>, usize, Option<PageCursor>) =
            (Vec::new(), 0, None);
        let (mut priced, mut without_images) = (0, 0);
        loop {
            let page = source
                .page(&account, &token, cursor.as_ref())
                .await
                .unwrap_or_else(|e| panic!("{platform}: {e:?}"));
            pages += 1;
            for p in &page.products {
                assert!(!p.external_id.is_empty(), "{platform}: {p:?}");
                if let Some(money) = &p.price {
                    assert!(
                        money.amount.parse::<f64>().is_ok(),
                        "{platform}: a decimal price: {money:?}"
                    );
                    priced += 1;
                }
                if p.images.is_empty() {
                    without_images += 1;
                }
                // No paragraph markup left (text that merely mentions a tag, as one odd title
                // does, may stay).
                let at = p.description_text.find('<').unwrap_or(0);
                assert!(
                    !p.description_text.contains("<p>") && !p.description_text.contains("</p>"),
                    "{platform}: descriptions are clean text: {}",
                    p.description_text[at..]
                        .chars()
                        .take(120)
                        .collect::<String>()
                );
            }
            seen.extend(page.products.into_iter().map(|p| p.external_id));
            // Waiting as the platform's limits ask, on the sandbox's clock rather than the test's.
            if !page.wait.is_zero() {
                sandbox.advance_clock(page.wait.as_secs() as i64 + 1).await;
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
            assert!(pages < 200, "{platform}: the catalog ends");
        }
        let total = seen.len();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), total, "{platform}: no product twice");
        // The sandbox's shops have 1,200 products, one in 40 a draft; Etsy's active listings
        // leave drafts out.
        let expected = if platform == Platform::Etsy {
            1170
        } else {
            1200
        };
        assert_eq!(
            total, expected,
            "{platform}: every product of the shop, in {pages} pages"
        );
        assert!(
            priced > 1000 && without_images > 0,
            "{platform}: {priced} priced, {without_images} without images"
        );
    }
}

/// A connected shop's catalog reader, account (a full sync's) and token.
async fn connected(
    app: &crate::helpers::TestApp,
    sandbox: &crate::helpers::TestSandbox,
    platform: Platform,
) -> (Box<dyn CatalogSource>, CatalogAccount, SecretString) {
    connect(app, sandbox, platform).await;
    let connection = connections::Entity::find()
        .filter(connections::Column::Platform.eq(platform.as_str()))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let token = app
        .state
        .connections
        .access_token_of(&connection)
        .await
        .unwrap();
    let source = app.state.connections.registry().catalog(platform).unwrap();
    let account = CatalogAccount {
        account_id: connection.account_id.clone(),
        metadata: connection.metadata.clone(),
        updated_since: None,
    };
    (source, account, token)
}

/// Every product from `cursor` to the end, waiting as each page asks on the sandbox's clock.
async fn read_to_the_end(
    sandbox: &crate::helpers::TestSandbox,
    source: &dyn CatalogSource,
    account: &CatalogAccount,
    token: &SecretString,
    mut cursor: Option<PageCursor>,
) -> Vec<RemoteProduct> {
    let mut products = Vec::new();
    for _ in 0..500 {
        let page = source
            .page(account, token, cursor.as_ref())
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        products.extend(page.products);
        if !page.wait.is_zero() {
            sandbox.advance_clock(page.wait.as_secs() as i64 + 1).await;
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return products,
        }
    }
    panic!("the catalog ends");
}

#[tokio::test]
async fn a_full_shopify_sync_reads_a_bulk_export_with_the_same_products_as_the_paged_query() {
    let (app, sandbox) = spawn_app_with_sandbox().await;
    app.signed_up_user().await;
    let (source, account, token) = connected(&app, &sandbox, Platform::Shopify).await;

    let first = source.page(&account, &token, None).await.unwrap();
    assert!(
        first.products.is_empty(),
        "the export has only just started"
    );
    assert!(
        matches!(&first.next, Some(PageCursor::Bulk { operation, offset: 0 }) if operation.starts_with("gid://shopify/BulkOperation/")),
        "{:?}",
        first.next
    );
    let mut bulk = read_to_the_end(&sandbox, &*source, &account, &token, first.next).await;

    let incremental = CatalogAccount {
        updated_since: Some("2000-01-01T00:00:00Z".parse().unwrap()),
        ..account.clone()
    };
    let mut paged = read_to_the_end(&sandbox, &*source, &incremental, &token, None).await;

    assert_eq!(bulk.len(), 1200);
    bulk.sort_by(|a, b| a.external_id.cmp(&b.external_id));
    paged.sort_by(|a, b| a.external_id.cmp(&b.external_id));
    assert_eq!(paged.len(), bulk.len());
    for (b, p) in bulk.iter().zip(&paged) {
        assert_eq!(b, p, "the same product either way");
    }
    assert!(bulk.iter().filter(|p| p.price.is_some()).count() > 1000);
    assert!(bulk.iter().any(|p| p.images.is_empty()));
}

#[tokio::test]
async fn a_bulk_read_resumed_from_its_checkpoint_gives_the_rest_without_duplicates() {
    let (app, sandbox) = spawn_app_with_sandbox().await;
    app.signed_up_user().await;
    let (source, account, token) = connected(&app, &sandbox, Platform::Shopify).await;

    // Read until the first page of products, as a sync that then stops would.
    let mut cursor = None;
    let page = loop {
        let page = source
            .page(&account, &token, cursor.as_ref())
            .await
            .unwrap();
        if !page.products.is_empty() {
            break page;
        }
        sandbox.advance_clock(page.wait.as_secs() as i64 + 1).await;
        cursor = page.next;
    };
    let checkpoint = serde_json::to_string(&page.next).unwrap();
    assert!(
        checkpoint.starts_with(r#"{"bulk":{"operation":"gid://shopify/BulkOperation/"#),
        "{checkpoint}"
    );
    let resumed: Option<PageCursor> = serde_json::from_str(&checkpoint).unwrap();
    assert!(matches!(resumed, Some(PageCursor::Bulk { offset, .. }) if offset > 0));

    // A new reader (a restarted worker) carries on from the checkpoint.
    let again = app
        .state
        .connections
        .registry()
        .catalog(Platform::Shopify)
        .unwrap();
    let rest = read_to_the_end(&sandbox, &*again, &account, &token, resumed).await;
    let mut ids: Vec<String> = page
        .products
        .iter()
        .chain(&rest)
        .map(|p| p.external_id.clone())
        .collect();
    assert!(!rest.is_empty());
    let total = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), total, "no product twice");
    assert_eq!(total, 1200, "every product once");
}

#[tokio::test]
async fn a_product_deleted_from_the_shop_is_reported_as_removed_since() {
    let (app, sandbox) = spawn_app_with_sandbox().await;
    app.signed_up_user().await;
    let (source, account, token) = connected(&app, &sandbox, Platform::Shopify).await;
    let incremental = CatalogAccount {
        updated_since: Some("2000-01-01T00:00:00Z".parse().unwrap()),
        ..account.clone()
    };
    // Product 5 of the shop, in id order.
    let first_page = source.page(&incremental, &token, None).await.unwrap();
    let gone = first_page.products[5].external_id.clone();
    let before = chrono::Utc::now() - chrono::Duration::minutes(1);

    let res = sandbox
        .client
        .post(format!(
            "{}/_sandbox/catalog/shopify/{}/5",
            sandbox.url, account.account_id
        ))
        .json(&serde_json::json!({ "delete": true }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());

    let removed = source
        .removed_since(&account, &token, before)
        .await
        .unwrap();
    assert_eq!(removed, Some(vec![gone]));
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    let none = source.removed_since(&account, &token, later).await.unwrap();
    assert_eq!(none, Some(vec![]), "nothing deleted after then");
}

#[tokio::test]
async fn a_second_bulk_export_while_one_runs_is_refused_with_a_retry() {
    let (app, sandbox) = spawn_app_with_sandbox().await;
    app.signed_up_user().await;
    let (source, account, token) = connected(&app, &sandbox, Platform::Shopify).await;
    let started = source.page(&account, &token, None).await.unwrap();
    assert!(matches!(started.next, Some(PageCursor::Bulk { .. })));

    let refused = source.page(&account, &token, None).await.unwrap_err();
    match refused {
        CatalogError::Retryable {
            wait: Some(wait),
            message,
        } => {
            assert!(!wait.is_zero());
            assert!(message.contains("already exporting"), "{message}");
        }
        other => panic!("a retry, not {other:?}"),
    }
}

#[tokio::test]
async fn a_bulk_read_whose_file_has_expired_starts_over_with_a_new_export() {
    let (app, sandbox) = spawn_app_with_sandbox().await;
    app.signed_up_user().await;
    let (source, account, token) = connected(&app, &sandbox, Platform::Shopify).await;
    let mut cursor = None;
    let page = loop {
        let page = source
            .page(&account, &token, cursor.as_ref())
            .await
            .unwrap();
        if !page.products.is_empty() {
            break page;
        }
        sandbox.advance_clock(page.wait.as_secs() as i64 + 1).await;
        cursor = page.next;
    };
    let Some(PageCursor::Bulk { operation: old, .. }) = page.next.clone() else {
        panic!("{:?}", page.next)
    };

    // A sync that sat on its checkpoint for eight days: Shopify keeps files for seven. (The
    // hour-long access token has expired meanwhile too: refreshed as a sync would.)
    sandbox.advance_clock(8 * 86_400).await;
    let connection = connections::Entity::find()
        .filter(connections::Column::Platform.eq(Platform::Shopify.as_str()))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let far = chrono::Utc::now() + chrono::Duration::days(30);
    let (token, _) = app
        .state
        .connections
        .refresh(connection.id, RefreshReason::ExpiresBefore(far))
        .await
        .unwrap();
    let restarted = source
        .page(&account, &token, page.next.as_ref())
        .await
        .unwrap();
    assert!(restarted.products.is_empty());
    match &restarted.next {
        Some(PageCursor::Bulk { operation, offset }) => {
            assert_ne!(operation, &old, "a new export");
            assert_eq!(*offset, 0, "from the first product");
        }
        other => panic!("{other:?}"),
    }
    let all = read_to_the_end(&sandbox, &*source, &account, &token, restarted.next).await;
    assert_eq!(all.len(), 1200);
}
