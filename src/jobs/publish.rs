//! The publish queue: one apalis job per due target, carried by Redis (`{REDIS_KEY_PREFIX}publish`).
//! A job only names its target; everything else is read from Postgres when it runs, so a lost,
//! repeated or late job can't publish stale content or publish twice (see `crate::publishing`).

use std::time::Duration;

use apalis::prelude::*;
use apalis_redis::{ConnectionManager, RedisStorage};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::publishing::{Engine, Outcome};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PublishJob {
    pub target_id: Uuid,
}

pub type PublishQueue = RedisStorage<PublishJob, ConnectionManager>;

/// How often an idle worker looks for new jobs.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// The queue under `prefix`, on its own connection.
pub async fn queue(
    redis_url: &str,
    prefix: &str,
    batch_size: usize,
) -> Result<PublishQueue, apalis_redis::RedisError> {
    let conn = apalis_redis::connect(redis_url).await?;
    let config = apalis_redis::Config::default()
        .queue(format!("{prefix}publish"))
        .batch_size(batch_size.max(1))
        // Results and events live in Postgres (`jobs`); Redis only carries the work.
        .persist_results(false)
        .emit_events(false)
        .heartbeat_interval(Duration::from_secs(5))
        .missed_heartbeats(3);
    Ok(RedisStorage::new(conn).with_config(config))
}

/// Pushes one job per target.
pub async fn push(queue: &mut PublishQueue, targets: Vec<Uuid>) -> Result<(), BoxDynError> {
    if targets.is_empty() {
        return Ok(());
    }
    queue
        .push_bulk(
            targets
                .into_iter()
                .map(|target_id| PublishJob { target_id })
                .collect(),
        )
        .await
        .map_err(|e| -> BoxDynError { format!("couldn't queue publish jobs: {e}").into() })
}

pub async fn on_job(job: PublishJob, engine: Data<Engine>) -> Result<(), BoxDynError> {
    match engine.run(job.target_id).await {
        Ok(Outcome::Skipped) => tracing::debug!(target = %job.target_id, "nothing to claim"),
        Ok(outcome) => tracing::debug!(target = %job.target_id, ?outcome, "publish job done"),
        // The target is still in Postgres; lease expiry or the sweeper brings it back.
        Err(e) => {
            tracing::error!(target = %job.target_id, error = %e, "publish job failed on the database");
            return Err(Box::new(e));
        }
    }
    Ok(())
}
