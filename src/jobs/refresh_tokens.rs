//! Refreshing tokens ahead of expiry (`FEATURE_TOKEN_REFRESH`): every minute, connections whose
//! access token ends within their platform's lead time are refreshed through the single-flight
//! path in `connections`, a few at a time.

use apalis::prelude::*;
use apalis_cron::Tick;
use chrono::Utc;
use futures::StreamExt as _;

use crate::connections::{Connections, RefreshOutcome, RefreshReason, TokenError};
use crate::domain::Platform;

/// Every minute, at second 7 (away from the heartbeat's beat).
pub fn schedule() -> cron::Schedule {
    "7 * * * * *"
        .parse()
        .expect("a constant cron expression is valid")
}

/// The longest lead any platform asks for; only connections expiring within it are looked at.
const HORIZON_DAYS: i64 = 8;

/// Refreshes what is due now; returns how many connections were refreshed.
pub async fn run_once(connections: &Connections) -> Result<usize, sea_orm::DbErr> {
    let now = Utc::now();
    let candidates = connections
        .expiring_before(now + chrono::Duration::days(HORIZON_DAYS))
        .await?;
    let due: Vec<_> = candidates
        .into_iter()
        .filter(|m| {
            let Ok(platform) = m.platform.parse::<Platform>() else {
                return false;
            };
            let Some(provider) = connections.registry().oauth(platform) else {
                return false;
            };
            let lead = provider.refresh_lead();
            m.expires_at.is_some_and(|e| e - lead <= now)
        })
        .collect();
    let results: Vec<bool> = futures::stream::iter(due)
        .map(|m| async move {
            // Undecryptable or un-refreshable grants are marked inside; skip those quietly.
            let Ok(grant) = connections.grant(&m).await else { return false };
            let platform: Platform = match m.platform.parse() {
                Ok(p) => p,
                Err(_) => return false,
            };
            let Some(provider) = connections.registry().oauth(platform) else {
                return false;
            };
            let refreshable = provider.can_refresh(&grant);
            // A token that can't be renewed on its own expires; the connections page warns first.
            if !refreshable && m.expires_at.is_some_and(|e| e > Utc::now()) {
                return false;
            }
            let before = Utc::now() + provider.refresh_lead();
            match connections.refresh(m.id, RefreshReason::ExpiresBefore(before)).await {
                Ok((_, RefreshOutcome::Refreshed)) => true,
                Ok((_, RefreshOutcome::AlreadyFresh)) => false,
                Err(TokenError::Temporary(e)) => {
                    tracing::warn!(connection = %m.id, error = %e, "token refresh failed; will retry next minute");
                    false
                }
                Err(e) => {
                    tracing::info!(connection = %m.id, error = %e, "token refresh not possible");
                    false
                }
            }
        })
        .buffer_unordered(4)
        .collect()
        .await;
    Ok(results.into_iter().filter(|r| *r).count())
}

pub async fn on_tick(_tick: Tick, connections: Data<Connections>) -> Result<(), BoxDynError> {
    match run_once(&connections).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(refreshed = n, "refreshed tokens ahead of expiry"),
        Err(e) => tracing::warn!(error = %e, "the token refresh pass failed"),
    }
    Ok(())
}
