//! The analytics dashboards over a seller with a lot of history: 100,000 engagement snapshots
//! (X, Instagram and Pinterest posts of the last 90 days, half of them about Shopify products),
//! rolled up by the real rollup, then each page asked for in turn.

use std::time::Instant;

use anyhow::ensure;
use picscripter::domain::Platform;
use reqwest::StatusCode;
use uuid::Uuid;

use crate::stack::{Browser, Options, Stack, quantile};

pub struct Settings {
    pub snapshots: usize,
    pub requests: usize,
    pub options: Options,
}

pub struct Page {
    pub what: &'static str,
    pub path: String,
    pub server_p50: f64,
    pub server_p99: f64,
    pub bytes: usize,
}

pub struct Report {
    pub snapshots: i64,
    pub targets: i64,
    pub products: i64,
    pub rollup_rows: u64,
    pub rollup_secs: f64,
    pub requests: usize,
    pub pages: Vec<Page>,
}

/// Snapshots per published target (the collection schedule's length).
const PER_TARGET: usize = picscripter::jobs::collect_metrics::SCHEDULE_SECS.len();
pub const PER_TARGET_DOC: usize = PER_TARGET;

pub async fn run(settings: Settings) -> anyhow::Result<Report> {
    let stack = Stack::start(settings.options).await?;
    let result = measure(&stack, settings.snapshots, settings.requests).await;
    stack.stop().await?;
    result
}

async fn measure(stack: &Stack, snapshots: usize, requests: usize) -> anyhow::Result<Report> {
    let seller = stack.seller("Europe/Berlin").await?;
    for p in [
        Platform::X,
        Platform::Instagram,
        Platform::Pinterest,
        Platform::Shopify,
    ] {
        seller.connect(p).await?;
    }
    let user = stack
        .scalar_text("SELECT id::text FROM users LIMIT 1")
        .await?;
    let targets = snapshots.div_ceil(PER_TARGET);
    // A synced catalog of 2,000 products.
    stack
        .execute(&format!(
            "INSERT INTO products (id, user_id, connection_id, external_id, title, url, price, currency, status, synced_at) \
             SELECT gen_random_uuid(), '{user}', c.id, 'p-' || g, 'Product ' || g, 'https://bench-shop.example/p/' || g, 10 + g % 90, 'EUR', 'active', now() - (g % 30) * interval '1 day' \
             FROM generate_series(1, 2000) g, (SELECT id FROM connections WHERE platform = 'shopify') c"
        ))
        .await?;
    // Posts spread over the last 90 days, each on X, Instagram or Pinterest, half of them about
    // a product; each published target with its snapshots, numbers growing with its age.
    stack
        .execute(&format!(
            "WITH c AS (SELECT array_agg(id ORDER BY platform) AS ids FROM connections WHERE platform IN ('x', 'instagram', 'pinterest')), \
             pr AS (SELECT array_agg(id) AS ids FROM products), \
             p AS ( \
               INSERT INTO posts (id, user_id, body, product_id, scheduled_at, status) \
               SELECT gen_random_uuid(), '{user}', 'Post ' || g || ': our speckled stoneware mug is back, glazed by hand in small batches.', \
                      CASE WHEN g % 2 = 0 THEN (SELECT ids[1 + g % 2000] FROM pr) END, \
                      now() - ((g * 7919) % (90 * 24 * 60)) * interval '1 minute', 'published' \
               FROM generate_series(1, {targets}) g RETURNING id, scheduled_at) \
             INSERT INTO post_targets (id, post_id, connection_id, status, remote_id, remote_url, published_at, metrics_step) \
             SELECT gen_random_uuid(), p.id, c.ids[1 + abs(hashtext(p.id::text)) % 3], 'published', p.id::text, 'https://x.com/i/status/1', p.scheduled_at, {PER_TARGET} \
             FROM p, c"
        ))
        .await?;
    stack
        .execute(&format!(
            "INSERT INTO post_metrics (id, target_id, captured_at, likes, reposts, replies, quotes, impressions, saves, clicks, views, raw) \
             SELECT gen_random_uuid(), t.id, t.published_at + (now() - t.published_at) * k / {PER_TARGET}, \
                    f.n * k / 40, f.n * k / 400, f.n * k / 300, f.n * k / 1000, f.n * k, f.n * k / 200, f.n * k / 100, f.n * k * 2, \
                    jsonb_build_object('reach', f.n * k * 3 / 4, 'PIN_CLICK', f.n * k / 150, 'OUTBOUND_CLICK', f.n * k / 300) \
             FROM post_targets t, generate_series(1, {PER_TARGET}) k, \
                  LATERAL (SELECT 50 + abs(hashtext(t.id::text)) % 500 AS n) f"
        ))
        .await?;
    let user_id: Uuid = user.parse()?;
    let started = Instant::now();
    let epoch = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).expect("a date");
    let rollup_rows =
        picscripter::analytics::rollup::rollup(&stack.db, &[user_id], epoch, chrono::Utc::now())
            .await?;
    let rollup_secs = started.elapsed().as_secs_f64();
    // A database in use has been vacuumed and analysed by autovacuum; a freshly filled one
    // is, now.
    stack.execute("VACUUM ANALYZE").await?;
    let snapshots = stack
        .scalar_i64("SELECT count(*) FROM post_metrics")
        .await?;
    let targets = stack
        .scalar_i64("SELECT count(*) FROM post_targets")
        .await?;
    let products = stack.scalar_i64("SELECT count(*) FROM products").await?;
    let busiest = stack
        .scalar_text(
            "SELECT t.post_id::text FROM post_targets t JOIN post_metrics m ON m.target_id = t.id \
             GROUP BY t.post_id ORDER BY max(m.likes) DESC LIMIT 1",
        )
        .await?;

    let pages = [
        ("Engagement (X), 90 days", "/analytics?range=90".to_owned()),
        ("Engagement (X), 30 days", "/analytics?range=30".to_owned()),
        (
            "Instagram, 90 days",
            "/analytics/instagram?range=90".to_owned(),
        ),
        (
            "Pinterest, 90 days",
            "/analytics/pinterest?range=90".to_owned(),
        ),
        (
            "Shopify catalog, 90 days",
            "/analytics/shopify?range=90".to_owned(),
        ),
        ("Best time (heat map)", "/analytics/best-time".to_owned()),
        ("A post's curve", format!("/analytics/posts/{busiest}")),
        ("Composer with the suggested time", "/posts/new".to_owned()),
    ];
    let mut out = Vec::new();
    for (what, path) in pages {
        out.push(page(&seller, what, path, requests).await?);
    }
    Ok(Report {
        snapshots,
        targets,
        products,
        rollup_rows,
        rollup_secs,
        requests,
        pages: out,
    })
}

/// `requests` sequential loads of `path` after two warm-ups.
async fn page(
    seller: &Browser,
    what: &'static str,
    path: String,
    requests: usize,
) -> anyhow::Result<Page> {
    let mut server = Vec::new();
    let mut bytes = 0;
    for i in 0..requests + 2 {
        let res = seller.get(&path).await?;
        ensure!(
            res.status() == StatusCode::OK,
            "{path} answered {}",
            res.status()
        );
        let timing = res
            .headers()
            .get("server-timing")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = res.bytes().await?;
        if i < 2 {
            continue;
        }
        bytes = body.len();
        server.push(phase(&timing, "app").unwrap_or(f64::NAN));
    }
    server.sort_by(f64::total_cmp);
    Ok(Page {
        what,
        path,
        server_p50: quantile(&server, 0.5),
        server_p99: quantile(&server, 0.99),
        bytes,
    })
}

fn phase(timing: &str, name: &str) -> Option<f64> {
    let prefix = format!("{name};dur=");
    timing
        .split(',')
        .find_map(|m| m.trim().strip_prefix(prefix.as_str()))?
        .parse()
        .ok()
}
