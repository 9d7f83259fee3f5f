//! The catalog queue: one apalis job per sync (`{REDIS_KEY_PREFIX}catalog_sync`), naming only
//! the `catalog_syncs` row; the row holds the checkpoint and the lease, so a job that is lost,
//! repeated or run by two workers at once still syncs the shop once (see
//! `crate::products::sync`). A tick queues the scheduled syncs and the stranded ones.

use std::time::Duration;

use apalis::prelude::*;
use apalis_cron::Tick;
use apalis_redis::{ConnectionManager, RedisStorage};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::Config;
use crate::products::sync::{self, Outcome, Syncer};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SyncJob {
    pub sync_id: Uuid,
}

pub type SyncQueue = RedisStorage<SyncJob, ConnectionManager>;

/// Shops synced at once by one worker.
pub const CONCURRENCY: usize = 4;

/// How often an idle worker looks for new jobs.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// A sync queued this long without a worker taking it has lost its job and is queued again.
pub const REQUEUE_AFTER: Duration = Duration::from_secs(15);

/// The queue under `prefix`, on its own connection.
pub async fn queue(redis_url: &str, prefix: &str) -> Result<SyncQueue, apalis_redis::RedisError> {
    let conn = apalis_redis::connect(redis_url).await?;
    let config = apalis_redis::Config::default()
        .queue(format!("{prefix}catalog_sync"))
        .batch_size(CONCURRENCY)
        .persist_results(false)
        .emit_events(false)
        .heartbeat_interval(Duration::from_secs(5))
        .missed_heartbeats(3);
    Ok(RedisStorage::new(conn).with_config(config))
}

/// Queues the job of each sync.
pub async fn push(queue: &SyncQueue, syncs: Vec<Uuid>) -> Result<(), BoxDynError> {
    if syncs.is_empty() {
        return Ok(());
    }
    let mut queue = queue.clone();
    queue
        .push_bulk(
            syncs
                .into_iter()
                .map(|sync_id| SyncJob { sync_id })
                .collect(),
        )
        .await
        .map_err(|e| -> BoxDynError { format!("couldn't queue catalog syncs: {e}").into() })
}

/// Queues syncs from the web process: the queue's connection is opened on first use, so the
/// web starts (and `/readyz` reports) while Redis is down.
#[derive(Clone)]
pub struct Enqueuer {
    redis_url: String,
    prefix: String,
    queue: std::sync::Arc<tokio::sync::OnceCell<SyncQueue>>,
}

impl Enqueuer {
    pub fn new(redis_url: &str, prefix: &str) -> Self {
        Self {
            redis_url: redis_url.to_owned(),
            prefix: prefix.to_owned(),
            queue: Default::default(),
        }
    }

    /// Queues the job of `sync_id`. On failure the sync stays `queued` in Postgres and the
    /// worker's tick queues it again, so callers may log and go on.
    pub async fn push(&self, sync_id: Uuid) -> Result<(), BoxDynError> {
        let queue = self
            .queue
            .get_or_try_init(|| queue(&self.redis_url, &self.prefix))
            .await?;
        push(queue, vec![sync_id]).await
    }
}

pub async fn on_job(job: SyncJob, syncer: Data<Syncer>) -> Result<(), BoxDynError> {
    match syncer.run(job.sync_id).await {
        Ok(Outcome::Skipped) => tracing::debug!(sync = %job.sync_id, "sync held elsewhere or done"),
        Ok(outcome) => tracing::debug!(sync = %job.sync_id, ?outcome, "sync job done"),
        Err(e) => {
            // The row keeps its lease; when it runs out, the tick queues the sync again.
            tracing::error!(sync = %job.sync_id, error = %e, "sync job failed on the database");
            return Err(Box::new(e));
        }
    }
    Ok(())
}

/// Every five seconds.
pub fn schedule() -> cron::Schedule {
    "*/5 * * * * *"
        .parse()
        .expect("a constant cron expression is valid")
}

#[derive(Clone)]
pub struct Scheduler {
    pub db: sea_orm::DatabaseConnection,
    pub config: std::sync::Arc<Config>,
    pub queue: SyncQueue,
}

/// Queues the syncs that are due and the stranded ones.
pub async fn run_once(s: &Scheduler) -> Result<usize, BoxDynError> {
    let mut ids: Vec<Uuid> = sync::queue_due(&s.db, &s.config)
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect();
    let stranded = sync::stranded(&s.db, REQUEUE_AFTER).await?;
    if !stranded.is_empty() {
        tracing::info!(
            count = stranded.len(),
            "queueing stranded catalog syncs again"
        );
    }
    ids.extend(stranded);
    let n = ids.len();
    push(&s.queue, ids).await?;
    Ok(n)
}

pub async fn on_tick(_tick: Tick, s: Data<Scheduler>) -> Result<(), BoxDynError> {
    if let Err(e) = run_once(&s).await {
        tracing::warn!(error = %e, "catalog sync schedule tick failed");
    }
    Ok(())
}
