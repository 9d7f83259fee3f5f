//! The dispatcher: every second, due targets move to `queued` (in Postgres, atomically) and one
//! job each is pushed to the publish queue. The same tick re-pushes targets whose job was lost,
//! expires the leases of workers that stopped, and asks platforms about unknown outcomes.
//! Several workers may all dispatch: `FOR UPDATE SKIP LOCKED` gives each target to one of them.

use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::*;
use apalis_cron::Tick;
use tokio::sync::Mutex;

use super::publish::{self, PublishQueue};
use crate::publishing::Engine;

/// Every second.
pub fn schedule() -> cron::Schedule {
    "* * * * * *"
        .parse()
        .expect("a constant cron expression is valid")
}

/// Targets moved to `queued` per statement.
const BATCH: u64 = 1000;

#[derive(Clone)]
pub struct Dispatcher {
    pub engine: Engine,
    pub queue: Arc<Mutex<PublishQueue>>,
    /// A target queued longer than this without being claimed is pushed again.
    pub requeue_after: Duration,
}

impl Dispatcher {
    /// One pass; returns how many targets were queued.
    pub async fn tick(&self) -> Result<usize, BoxDynError> {
        let mut queued = 0;
        loop {
            let ids = self.engine.dispatch_due(BATCH).await?;
            let n = ids.len();
            queued += n;
            publish::push(&mut *self.queue.lock().await, ids).await?;
            if (n as u64) < BATCH {
                break;
            }
        }
        let lost = self.engine.requeue_lost(self.requeue_after).await?;
        if !lost.is_empty() {
            tracing::warn!(count = lost.len(), "re-queued publish jobs that were lost");
            publish::push(&mut *self.queue.lock().await, lost).await?;
        }
        let expired = self.engine.expire_leases().await?;
        if expired > 0 {
            tracing::warn!(
                count = expired,
                "took back targets from workers that stopped"
            );
        }
        self.engine.reconcile_unknown(20).await?;
        Ok(queued)
    }
}

pub async fn on_tick(_tick: Tick, dispatcher: Data<Dispatcher>) -> Result<(), BoxDynError> {
    match dispatcher.tick().await {
        Ok(n) if n > 0 => tracing::debug!(count = n, "dispatched due targets"),
        Ok(_) => {}
        // Postgres or Redis away: nothing moved that can't be recovered next tick.
        Err(e) => tracing::warn!(error = %e, "dispatch tick failed"),
    }
    Ok(())
}
