//! Delivering webhooks: every 5 seconds, the due rows of the Postgres outbox
//! (`webhook_deliveries`) are sent and their attempts recorded (see [`crate::webhooks`]). Any
//! number of workers may run it; claims skip what another worker holds.

use apalis::prelude::*;
use apalis_cron::Tick;
use chrono::Utc;

use crate::webhooks::Webhooks;

/// Every 5 seconds, at seconds 3, 8, 13… (away from the heartbeat's beat).
pub fn schedule() -> cron::Schedule {
    "3/5 * * * * *"
        .parse()
        .expect("a constant cron expression is valid")
}

/// At most this many deliveries per tick; the rest wait for the next.
const BATCH: u64 = 50;

pub async fn on_tick(_tick: Tick, webhooks: Data<Webhooks>) -> Result<(), BoxDynError> {
    match webhooks.deliver_due(Utc::now(), BATCH).await {
        Ok(0) => {}
        Ok(n) => tracing::debug!(attempted = n, "delivered webhooks"),
        Err(e) => tracing::warn!(error = %e, "the webhook delivery pass failed"),
    }
    Ok(())
}
