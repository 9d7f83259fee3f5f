//! Catalog sync and product search: a sandbox Shopify shop of N products connected by a new
//! seller, synced by the real worker (through Shopify's bulk export), the worker's memory
//! sampled as the products arrive; then the products page searched.

use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use picscripter::domain::Platform;
use reqwest::StatusCode;

use crate::stack::{self, Stack};

pub struct Settings {
    pub products: usize,
    pub searches: usize,
    pub options: stack::Options,
}

/// The worker's resident memory when a share of the catalog had arrived.
pub struct MemoryAt {
    pub processed: i64,
    pub rss: u64,
}

pub struct Report {
    pub products: usize,
    pub stored: i64,
    /// From the sync's row: queued at connect → succeeded.
    pub sync_secs: f64,
    pub pages: i64,
    pub worker_idle_rss: u64,
    pub worker_peak_rss: u64,
    pub memory: Vec<MemoryAt>,
    pub searches: Vec<Search>,
}

pub struct Search {
    pub what: &'static str,
    pub path: String,
    pub results: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

pub async fn run(settings: Settings) -> anyhow::Result<Report> {
    let mut options = settings.options;
    options.products_per_shop = Some(settings.products);
    // Only the sync under test: no scheduled one on top.
    options
        .env
        .push(("CATALOG_SYNC_INTERVAL_MINUTES", "10080".into()));
    let stack = Stack::start(options).await?;
    let result = measure(&stack, settings.products, settings.searches).await;
    stack.stop().await?;
    result
}

async fn measure(stack: &Stack, products: usize, searches: usize) -> anyhow::Result<Report> {
    let mut worker = stack.spawn_worker(&[])?;
    let worker_pid = worker.id().context("the worker has no pid")?;
    // Let the worker settle before reading its idle memory.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let worker_idle_rss = stack::memory(worker_pid).map_or(0, |m| m.0);

    let seller = stack.seller("Europe/Berlin").await?;
    seller.connect(Platform::Shopify).await?;
    let progress = "SELECT coalesce(max(processed), 0)::bigint FROM catalog_syncs";
    let finished = "SELECT count(*) FROM catalog_syncs WHERE status IN ('succeeded', 'failed')";
    let started = Instant::now();
    let mut memory = Vec::new();
    let mut peak = worker_idle_rss;
    let mut next_mark = products as i64 / 10;
    loop {
        let processed = stack.scalar_i64(progress).await?;
        let rss = stack::memory(worker_pid).map_or(0, |m| m.0);
        peak = peak.max(rss);
        if processed >= next_mark && processed > 0 {
            memory.push(MemoryAt { processed, rss });
            next_mark = processed + products as i64 / 10;
        }
        if stack.scalar_i64(finished).await? > 0 {
            break;
        }
        ensure!(
            started.elapsed() < Duration::from_secs(600),
            "the sync didn't finish in 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = stack
        .scalar_text("SELECT status || coalesce(': ' || error, '') FROM catalog_syncs")
        .await?;
    ensure!(status == "succeeded", "the sync ended {status}");
    let sync_secs: f64 = stack
        .scalar_text("SELECT extract(epoch FROM finished_at - created_at)::text FROM catalog_syncs")
        .await?
        .parse()?;
    let pages = stack
        .scalar_i64("SELECT pages::bigint FROM catalog_syncs")
        .await?;
    let stored = stack.scalar_i64("SELECT count(*) FROM products").await?;
    let (_, hwm) = stack::memory(worker_pid).unwrap_or((0, 0));
    let worker_peak_rss = peak.max(hwm);
    let _ = worker.start_kill();
    let _ = worker.wait().await;

    // Searches a seller would type, against the whole catalog.
    let word: String = stack
        .scalar_text(
            "SELECT split_part(title, ' ', 1) FROM products ORDER BY title LIMIT 1 OFFSET 17",
        )
        .await?;
    let tag: String = stack
        .scalar_text("SELECT tags[1] FROM products WHERE cardinality(tags) > 0 LIMIT 1")
        .await?;
    let shop: String = stack
        .scalar_text("SELECT id::text FROM connections LIMIT 1")
        .await?;
    let word_q = urlencode(&word.to_lowercase());
    let cases: Vec<(&'static str, String)> = vec![
        ("every product, first page", "/products".into()),
        ("a word in many titles", format!("/products?q={word_q}")),
        (
            "part of a word, by price",
            format!(
                "/products?q={}&sort=price",
                urlencode(&word.to_lowercase()[..word.len().min(4)])
            ),
        ),
        ("no match", "/products?q=zzqxv".into()),
        (
            "a tag, in one shop, active",
            format!(
                "/products?tag={}&shop={shop}&status=active",
                urlencode(&tag)
            ),
        ),
        ("page 50", "/products?page=50".into()),
    ];
    let mut results = Vec::new();
    for (what, path) in cases {
        // Warm the connection and the plan first.
        let first = seller.get(&path).await?;
        ensure!(
            first.status() == StatusCode::OK,
            "{path} answered {}",
            first.status()
        );
        let html = first.text().await?;
        let found = html.matches("data-product-id=").count();
        let mut times = Vec::with_capacity(searches);
        for _ in 0..searches {
            let t = Instant::now();
            let res = seller.get(&path).await?;
            ensure!(res.status() == StatusCode::OK, "{path}: {}", res.status());
            let _ = res.bytes().await?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        results.push(Search {
            what,
            path,
            results: found,
            p50_ms: stack::quantile(&times, 0.5),
            p99_ms: stack::quantile(&times, 0.99),
            max_ms: times.last().copied().unwrap_or_default(),
        });
    }
    Ok(Report {
        products,
        stored,
        sync_secs,
        pages,
        worker_idle_rss,
        worker_peak_rss,
        memory,
        searches: results,
    })
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
