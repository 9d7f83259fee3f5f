//! Shop catalogs: the catalog readers against the sandbox's shops, page by page, as the sync
//! will use them.

use picscripter::domain::Platform;
use picscripter::entities::connections;
use picscripter::platforms::catalog::{CatalogAccount, PageCursor};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};

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
