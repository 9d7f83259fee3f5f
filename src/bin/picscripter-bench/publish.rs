//! Publishing under load: a burst of targets due in the same second, then single posts, through
//! the real worker binary and the sandbox with a fixed latency on every platform call.

use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use chrono::{DateTime, SubsecRound as _, Utc};
use picscripter::domain::Platform;
use picscripter::sandbox::FaultSpec;
use sea_orm::{ConnectionTrait as _, Statement};

use crate::stack::{Options, Stack, memory, quantile};

/// The worker's `DATABASE_MAX_CONNECTIONS` in the benchmark (the default, 10, suits web
/// processes; a worker running hundreds of publishes at once wants more).
pub const WORKER_DB_POOL: u32 = 32;

pub struct Settings {
    pub targets: usize,
    pub latency_ms: u64,
    pub concurrency: usize,
    pub singles: usize,
    pub options: Options,
}

pub struct Burst {
    pub targets: usize,
    pub published: usize,
    pub duplicates: usize,
    pub extra_publications: usize,
    pub failed_or_unknown: i64,
    pub rate: f64,
    /// The most publications in any one second.
    pub peak_rate: usize,
    pub lateness_p50: f64,
    pub lateness_p99: f64,
    pub lateness_max: f64,
    pub worker_idle_rss: u64,
    pub worker_peak_rss: u64,
    pub web_rss: u64,
}

pub struct Single {
    pub samples: usize,
    pub lateness_p50: f64,
    pub lateness_p99: f64,
    pub lateness_max: f64,
}

pub async fn run(settings: Settings) -> anyhow::Result<(Burst, Single)> {
    let stack = Stack::start(settings.options).await?;
    let result = measure(
        &stack,
        settings.targets,
        settings.latency_ms,
        settings.concurrency,
        settings.singles,
    )
    .await;
    stack.stop().await?;
    result
}

async fn measure(
    stack: &Stack,
    n: usize,
    latency_ms: u64,
    concurrency: usize,
    singles: usize,
) -> anyhow::Result<(Burst, Single)> {
    let seller = stack.seller("Europe/Berlin").await?;
    seller.connect(Platform::X).await?;
    let user = stack
        .scalar_text("SELECT id::text FROM users LIMIT 1")
        .await?;
    let connection = stack
        .scalar_text("SELECT id::text FROM connections LIMIT 1")
        .await?;
    // Every call to X now takes this long, as a distant platform would.
    let mut fault = FaultSpec::new(Platform::X);
    fault.latency_ms = Some(latency_ms);
    stack
        .sandbox
        .add_fault(fault)
        .map_err(|e| anyhow::anyhow!(e))?;

    let mut worker = stack.spawn_worker(&[
        ("WORKER_CONCURRENCY", concurrency.to_string()),
        ("DATABASE_MAX_CONNECTIONS", WORKER_DB_POOL.to_string()),
    ])?;
    let worker_pid = worker.id().context("the worker exited at once")?;
    // Let it connect and settle, then read its memory at rest.
    tokio::time::sleep(Duration::from_secs(3)).await;
    ensure!(
        worker.try_wait()?.is_none(),
        "the worker stopped; is Redis running?"
    );
    let worker_idle_rss = memory(worker_pid).map(|m| m.0).unwrap_or_default();

    // The burst: every target due at the same whole second, a few seconds from now.
    let due = (Utc::now() + chrono::Duration::seconds(4)).trunc_subsecs(0);
    let inserted = insert_due(stack, &user, &connection, n, due, "Burst").await?;
    ensure!(inserted == n as u64, "inserted {inserted} targets, not {n}");
    ensure!(
        Utc::now() < due,
        "inserting took too long: the targets were due before the clock started"
    );
    let mut worker_peak = worker_idle_rss;
    let deadline = Instant::now() + Duration::from_secs(60 + (n as u64) / 50);
    let published = loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if let Some((rss, _)) = memory(worker_pid) {
            worker_peak = worker_peak.max(rss);
        }
        let settled = stack
            .scalar_i64(
                "SELECT count(*) FROM post_targets WHERE status IN ('published', 'failed', 'unknown', 'cancelled')",
            )
            .await?;
        if settled as usize >= n || Instant::now() > deadline {
            break stack
                .scalar_i64("SELECT count(*) FROM post_targets WHERE status = 'published'")
                .await? as usize;
        }
    };
    let late = lateness(stack, due, "Burst").await?;
    let seconds = late.last().copied().unwrap_or(f64::NAN);
    let peak_rate = {
        let mut per_second = std::collections::HashMap::<i64, usize>::new();
        for l in &late {
            *per_second.entry(l.floor() as i64).or_default() += 1;
        }
        per_second.values().copied().max().unwrap_or(0)
    };
    let duplicates = stack.sandbox.duplicates(None);
    let records = stack.sandbox.published(Some(Platform::X)).len();
    let failed_or_unknown = stack
        .scalar_i64("SELECT count(*) FROM post_targets WHERE status IN ('failed', 'unknown')")
        .await?;
    let web_rss = memory(stack.web_pid()).map(|m| m.0).unwrap_or_default();
    let burst = Burst {
        targets: n,
        published,
        duplicates: duplicates.len(),
        extra_publications: records.saturating_sub(published),
        failed_or_unknown,

        rate: published as f64 / seconds,
        peak_rate,
        lateness_p50: quantile(&late, 0.50),
        lateness_p99: quantile(&late, 0.99),
        lateness_max: seconds,
        worker_idle_rss,
        worker_peak_rss: worker_peak,
        web_rss,
    };

    // Single posts, each due alone at its own moment (a random point within a second), the way
    // a seller's post usually is.
    let mut dues = Vec::new();
    let start = Utc::now() + chrono::Duration::seconds(3);
    for i in 0..singles {
        let jitter = rand::random_range(0..1000);
        let due = start + chrono::Duration::milliseconds(i as i64 * 700 + jitter);
        insert_due(stack, &user, &connection, 1, due, &format!("Single {i}")).await?;
        dues.push(due);
    }
    let last_due = *dues.last().unwrap_or(&start);
    let wait_until = Instant::now()
        + Duration::from_secs((last_due - Utc::now()).num_seconds().max(0) as u64 + 30);
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let left = stack
            .scalar_i64("SELECT count(*) FROM post_targets t JOIN posts p ON p.id = t.post_id WHERE p.body LIKE 'Single %' AND t.status <> 'published'")
            .await?;
        if left == 0 || Instant::now() > wait_until {
            break;
        }
    }
    let mut single = Vec::new();
    for (i, due) in dues.iter().enumerate() {
        let mut l = lateness(stack, *due, &format!("Single {i} ")).await?;
        single.append(&mut l);
    }
    single.sort_by(f64::total_cmp);
    ensure!(
        single.len() == singles,
        "only {} of {singles} single posts were published",
        single.len()
    );
    let _ = worker.start_kill();
    let _ = worker.wait().await;
    Ok((
        burst,
        Single {
            samples: single.len(),
            lateness_p50: quantile(&single, 0.50),
            lateness_p99: quantile(&single, 0.99),
            lateness_max: single.last().copied().unwrap_or(f64::NAN),
        },
    ))
}

/// Inserts `n` posts, each with one target on `connection`, all due at `due`. Bodies start with
/// `label` and are distinct (X refuses the same text twice).
async fn insert_due(
    stack: &Stack,
    user: &str,
    connection: &str,
    n: usize,
    due: DateTime<Utc>,
    label: &str,
) -> anyhow::Result<u64> {
    let due = due.to_rfc3339();
    let sql = format!(
        "WITH p AS ( \
           INSERT INTO posts (id, user_id, body, scheduled_at, status) \
           SELECT gen_random_uuid(), '{user}', '{label} ' || g || ' of {n}: a new mug in the shop', '{due}', 'scheduled' \
           FROM generate_series(1, {n}) g RETURNING id) \
         INSERT INTO post_targets (id, post_id, connection_id, status, next_attempt_at) \
         SELECT gen_random_uuid(), id, '{connection}', 'scheduled', '{due}' FROM p"
    );
    stack.execute(&sql).await
}

/// Seconds from `due` to publication of every published target whose post starts with
/// `label`, sorted.
async fn lateness(stack: &Stack, due: DateTime<Utc>, label: &str) -> anyhow::Result<Vec<f64>> {
    let rows = stack
        .db
        .query_all_raw(Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT extract(epoch FROM (t.published_at - $1))::float8 FROM post_targets t \
             JOIN posts p ON p.id = t.post_id WHERE t.status = 'published' AND p.body LIKE $2 \
             ORDER BY 1",
            [due.into(), format!("{label}%").into()],
        ))
        .await?;
    rows.iter()
        .map(|r| Ok(r.try_get_by_index::<f64>(0)?))
        .collect()
}
