//! The worker's heartbeat: every few seconds each worker records that it is alive, so `/readyz`
//! (and the admin page) can tell whether anything is processing jobs.
//!
//! Keys: `worker:heartbeat` holds the newest beat of any worker (unix milliseconds), and
//! `worker:alive:{id}` one per worker; both expire, so a dead worker disappears on its own.

use std::time::Duration;

use apalis::prelude::*;
use apalis_cron::Tick;

use crate::redis::Redis;

pub const INTERVAL: Duration = Duration::from_secs(5);
/// A heartbeat older than this means no worker is running.
pub const STALE_AFTER: Duration = Duration::from_secs(30);
const LATEST: &str = "worker:heartbeat";

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Records one beat for `worker_id`.
pub async fn beat(redis: &Redis, worker_id: &str) -> Result<(), fred::error::Error> {
    let now = now_ms().to_string();
    redis
        .set_ex(&format!("worker:alive:{worker_id}"), &now, STALE_AFTER)
        .await?;
    redis.set_ex(LATEST, &now, STALE_AFTER * 4).await
}

/// How long ago any worker last beat, if one did recently enough to be remembered.
pub async fn latest_age(redis: &Redis) -> Result<Option<Duration>, fred::error::Error> {
    let Some(raw) = redis.get(LATEST).await? else {
        return Ok(None);
    };
    let Ok(ms) = raw.parse::<i64>() else {
        return Ok(None);
    };
    Ok(Some(Duration::from_millis(
        now_ms().saturating_sub(ms).max(0) as u64,
    )))
}

#[derive(Clone)]
pub struct Heartbeat {
    pub redis: Redis,
    pub worker_id: String,
}

pub async fn on_tick(_tick: Tick, hb: Data<Heartbeat>) -> Result<(), BoxDynError> {
    if let Err(e) = beat(&hb.redis, &hb.worker_id).await {
        // Redis being away is reported by /readyz; the next tick tries again.
        tracing::warn!(error = %e, "couldn't record the worker heartbeat");
    }
    Ok(())
}

/// Every five seconds (`INTERVAL`), as a cron schedule with a seconds field.
pub fn schedule() -> cron::Schedule {
    "*/5 * * * * *"
        .parse()
        .expect("a constant cron expression is valid")
}
