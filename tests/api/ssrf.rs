//! Fetching addresses a seller's shop supplies (a product's photo, brought into the library by
//! "Create post") never reaches inside our network: every spelling of an inward address, a name
//! that resolves inward, and a redirect hop that points inward are refused with a plain reason,
//! and nothing is stored. Size and time are capped too.
//!
//! The app looks names up through an injected resolver: `inward.test` answers 127.0.0.1 and
//! `cdn.shop.test` (an allowed origin here, like a shop's CDN) answers the local mock server;
//! other names go to the system's resolver.

use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use picscripter::domain::Platform;
use picscripter::net::{FixedAnswers, Resolver, SystemResolver};
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait as _, Statement};
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{TestApp, location, spawn_app_with_dns, texts};

/// The injected answers first, then the system's.
struct TestDns(FixedAnswers);

impl Resolver for TestDns {
    fn lookup<'a>(&'a self, host: &'a str) -> BoxFuture<'a, io::Result<Vec<IpAddr>>> {
        Box::pin(async move {
            match self.0.lookup(host).await {
                Ok(ips) => Ok(ips),
                Err(_) => SystemResolver.lookup(host).await,
            }
        })
    }
}

struct Setup {
    app: TestApp,
    cdn: MockServer,
    user: Uuid,
    shop: Uuid,
    _media: tempfile::TempDir,
}

/// A seller with a shop; a mock "CDN" serving `/mug.jpg` (any other path is whatever the test
/// mounts), allowed as `http://cdn.shop.test:<port>`; `adjust` edits the environment further.
async fn setup(adjust: impl FnOnce(&mut std::collections::BTreeMap<String, String>)) -> Setup {
    let cdn = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/mug.jpg"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "image/jpeg")
                .set_body_bytes(crate::media::jpeg(400, 400, 5)),
        )
        .mount(&cdn)
        .await;
    let port = cdn.address().port();
    let dns = FixedAnswers::new()
        .answer("inward.test", &[IpAddr::from([127, 0, 0, 1])])
        .answer("cdn.shop.test", &[IpAddr::from([127, 0, 0, 1])]);
    let media = tempfile::tempdir().unwrap();
    let media_path = media.path().to_string_lossy().into_owned();
    let app = spawn_app_with_dns(
        move |env| {
            env.insert("MEDIA_STORE".into(), media_path);
            env.insert(
                "OUTBOUND_ALLOW_ORIGINS".into(),
                format!("http://cdn.shop.test:{port}"),
            );
            adjust(env);
        },
        Some(Arc::new(TestDns(dns))),
    )
    .await;
    app.signed_up_user().await;
    let user = app.newest_user_id().await;
    let shop = app
        .saved_connection(user, Platform::Shopify, "Maple & Moss")
        .await;
    Setup {
        app,
        cdn,
        user,
        shop,
        _media: media,
    }
}

impl Setup {
    fn allowed(&self, path: &str) -> String {
        format!("http://cdn.shop.test:{}{path}", self.cdn.address().port())
    }

    /// A product whose photo is at `image`, as the catalog sync would store it.
    async fn product(&self, image: &str) -> Uuid {
        let id = Uuid::now_v7();
        self.app
            .db
            .execute_raw(Statement::from_sql_and_values(
                sea_orm::DbBackend::Postgres,
                "INSERT INTO products (id, user_id, connection_id, external_id, title, description, \
                     currency, image_urls, tags, status, remote_updated_at, synced_at) \
                 VALUES ($1, $2, $3, $4, 'Speckled Mug', '', 'EUR', $5, '{}', 'active', now(), now())",
                [
                    id.into(),
                    self.user.into(),
                    self.shop.into(),
                    id.simple().to_string().into(),
                    vec![image.to_owned()].into(),
                ],
            ))
            .await
            .unwrap();
        id
    }

    /// Presses "Create post" (or "Create in Studio") on a product with photo `image`; returns
    /// where it leads and the notes shown there.
    async fn create_post(&self, image: &str, via: &str) -> (String, String) {
        let p = self.product(image).await;
        let res = self
            .app
            .post_form(&format!("/products/{p}/{via}"), &[])
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{image}");
        let to = location(&res);
        let (status, html) = self.app.get_html(&to).await;
        assert_eq!(status, StatusCode::OK, "{to}");
        (to, texts(&html, ".flash").join(" "))
    }

    async fn media_count(&self) -> i64 {
        self.app.scalar_i64("SELECT count(*) FROM media").await
    }
}

#[tokio::test]
async fn a_photo_address_pointing_inside_our_network_is_refused_in_every_spelling() {
    let s = setup(|_| {}).await;
    let port = s.cdn.address().port();
    // The mock CDN listens on 127.0.0.1, so these would reach it if they were fetched.
    let inward = [
        format!("http://127.0.0.1:{port}/mug.jpg"),
        format!("http://localhost:{port}/mug.jpg"),
        format!("http://[::1]:{port}/mug.jpg"),
        format!("http://[::ffff:127.0.0.1]:{port}/mug.jpg"),
        format!("http://2130706433:{port}/mug.jpg"),
        format!("http://0177.0.0.1:{port}/mug.jpg"),
        format!("http://0x7f000001:{port}/mug.jpg"),
        format!("http://0x7f.1:{port}/mug.jpg"),
        format!("http://127.1:{port}/mug.jpg"),
        format!("http://inward.test:{port}/mug.jpg"),
        "http://10.0.0.5/mug.jpg".to_owned(),
        "http://172.16.0.1/mug.jpg".to_owned(),
        "http://192.168.1.1/mug.jpg".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://[fe80::1]/mug.jpg".to_owned(),
        "http://[fc00::1]/mug.jpg".to_owned(),
        "http://100.64.0.1/mug.jpg".to_owned(),
        "http://0.0.0.0/mug.jpg".to_owned(),
    ];
    for url in &inward {
        let (to, flashes) = s.create_post(url, "post").await;
        assert!(
            to.starts_with("/posts/new?product_id=") && !to.contains("media="),
            "{url}: the composer opens without a photo ({to})"
        );
        assert!(
            flashes.contains(
                "The product's photo couldn't be attached: that address points inside our network."
            ),
            "{url}: {flashes}"
        );
    }
    // The Studio's "Create post" fetches the same way.
    let (to, flashes) = s
        .create_post("http://169.254.169.254/latest/meta-data/", "studio")
        .await;
    assert!(to.starts_with("/studio?product_id=") && !to.contains("media="));
    assert!(flashes.contains("points inside our network"), "{flashes}");

    assert_eq!(s.media_count().await, 0, "nothing is stored");
    assert!(
        s.cdn.received_requests().await.unwrap().is_empty(),
        "nothing inward was even asked"
    );
    assert_eq!(
        s.app
            .scalar_i64(&format!(
                "SELECT count(*) FROM audit_events WHERE action = 'outbound.refused' \
                 AND actor_user_id = '{}' AND details->>'purpose' = 'media_import'",
                s.user
            ))
            .await,
        inward.len() as i64 + 1,
        "each refusal is in the audit log"
    );
}

#[tokio::test]
async fn an_allowed_shop_address_is_fetched_but_its_redirect_inside_is_refused_at_the_hop() {
    let s = setup(|_| {}).await;
    let port = s.cdn.address().port();
    for (from, to) in [
        (
            "/moved.jpg",
            "http://169.254.169.254/latest/meta-data/".to_owned(),
        ),
        ("/rebound.jpg", format!("http://inward.test:{port}/mug.jpg")),
        ("/decimal.jpg", format!("http://2130706433:{port}/mug.jpg")),
        ("/renamed.jpg", "/mug.jpg".to_owned()),
    ] {
        Mock::given(method("GET"))
            .and(path(from))
            .respond_with(ResponseTemplate::new(302).insert_header("location", to.as_str()))
            .mount(&s.cdn)
            .await;
    }
    for from in ["/moved.jpg", "/rebound.jpg", "/decimal.jpg"] {
        let (to, flashes) = s.create_post(&s.allowed(from), "post").await;
        assert!(!to.contains("media="), "{from}");
        assert!(
            flashes.contains("that address points inside our network"),
            "{from}: {flashes}"
        );
    }
    assert_eq!(s.media_count().await, 0);
    let asked: Vec<String> = s
        .cdn
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(
        asked,
        ["/moved.jpg", "/rebound.jpg", "/decimal.jpg"],
        "the inward hops were never followed"
    );

    // The allowed origin itself, and a redirect within it, bring the photo in.
    let (to, flashes) = s.create_post(&s.allowed("/renamed.jpg"), "post").await;
    assert!(to.contains("&media="), "{to} {flashes}");
    assert_eq!(s.media_count().await, 1);
}

#[tokio::test]
async fn a_photo_over_the_size_limit_or_slower_than_the_time_limit_is_not_stored() {
    let s = setup(|env| {
        env.insert("MEDIA_MAX_IMAGE_BYTES".into(), "20KB".into());
        env.insert("OUTBOUND_TIMEOUT_SECS".into(), "1".into());
    })
    .await;
    Mock::given(method("GET"))
        .and(path("/big.jpg"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "image/jpeg")
                .set_body_bytes(vec![0xffu8; 50_000]),
        )
        .mount(&s.cdn)
        .await;
    Mock::given(method("GET"))
        .and(path("/slow.jpg"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "image/jpeg")
                .set_body_bytes(crate::media::jpeg(100, 100, 1))
                .set_delay(Duration::from_secs(30)),
        )
        .mount(&s.cdn)
        .await;
    let (to, flashes) = s.create_post(&s.allowed("/big.jpg"), "post").await;
    assert!(!to.contains("media="));
    assert!(
        flashes.contains("the photo is larger than the 20 KB we accept"),
        "{flashes}"
    );
    let (to, flashes) = s.create_post(&s.allowed("/slow.jpg"), "post").await;
    assert!(!to.contains("media="));
    assert!(
        flashes.contains("The product's photo couldn't be attached: it took too long."),
        "{flashes}"
    );
    assert_eq!(s.media_count().await, 0);
}
