//! Engagement collection (behind `METRICS_ENGAGEMENT`): every minute, the published targets due
//! for a snapshot are claimed, read from their platform in batches, stored as `post_metrics`
//! rows and rolled up per day into `analytics`.
//!
//! The schedule is dense at first and sparse later: 5 min, 1 h, 6 h, 24 h, 3 d, 7 d and 30 d
//! after publishing (`post_targets.metrics_step` counts the snapshots behind a target). A claim sets
//! `metrics_retry_at` a few minutes ahead with `FOR UPDATE SKIP LOCKED`, so two workers never
//! ask about the same post; a rate limit pushes `metrics_retry_at` to the platform's documented
//! reset; "not yet available" (Instagram's and Pinterest's first minutes or hours) tries again
//! after a quarter of the post's age (between 5 minutes and an hour) without writing zeros. Each account is read on its own task: one platform's failure or wait never stalls the
//! others. A connection needing re-authorization isn't claimed at all until it's reconnected.

use std::collections::BTreeMap;

use apalis::prelude::*;
use apalis_cron::Tick;
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait as _, FromQueryResult, Statement};
use uuid::Uuid;

use secrecy::ExposeSecret as _;

use crate::connections::{Connections, RefreshReason, TokenError};
use crate::domain::Platform;
use crate::entities::connections;
use crate::platforms::metrics::{Account, Counts, MetricsError, PostCounts, RemotePost};

/// When each snapshot is due, in seconds after publishing.
pub const SCHEDULE_SECS: [i64; 7] = [
    300,
    3600,
    6 * 3600,
    24 * 3600,
    3 * 24 * 3600,
    7 * 24 * 3600,
    30 * 24 * 3600,
];
/// Targets claimed per tick.
const CLAIM_LIMIT: i64 = 2000;
/// How long a claim holds a target before another worker may take it.
const CLAIM_SECS: i64 = 300;
/// Accounts read at once.
const CONCURRENCY: usize = 4;
/// The number of snapshots a target gets.
const STEPS: i16 = SCHEDULE_SECS.len() as i16;
/// After a failure of its own.
const FAILED_RETRY_SECS: i64 = 900;

/// When to ask again about a post whose numbers aren't available yet: a quarter of its age,
/// at least 5 minutes and at most an hour.
fn not_yet_retry(age: chrono::Duration) -> chrono::Duration {
    secs((age.num_seconds() / 4).clamp(300, 3600))
}

pub fn schedule() -> cron::Schedule {
    "0 * * * * *"
        .parse()
        .expect("a constant cron expression is valid")
}

#[derive(Clone)]
pub struct Collector {
    pub db: DatabaseConnection,
    pub connections: Connections,
}

/// What one tick did, for logs and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub claimed: usize,
    pub snapshots: usize,
    pub not_yet: usize,
    pub gone: usize,
    pub failed: usize,
    pub rate_limited: usize,
    /// Targets of connections that turned out to need re-authorization.
    pub paused: usize,
    /// Requests made to platforms.
    pub requests: usize,
}

impl Report {
    fn add(&mut self, o: &Report) {
        self.claimed += o.claimed;
        self.snapshots += o.snapshots;
        self.not_yet += o.not_yet;
        self.gone += o.gone;
        self.failed += o.failed;
        self.rate_limited += o.rate_limited;
        self.paused += o.paused;
        self.requests += o.requests;
    }
}

pub async fn on_tick(_tick: Tick, c: Data<Collector>) -> Result<(), BoxDynError> {
    match c.run_once(Utc::now()).await {
        Ok(r) if r.claimed > 0 => tracing::info!(?r, "engagement collected"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "engagement collection tick failed"),
    }
    Ok(())
}

#[derive(Debug, FromQueryResult)]
struct Claimed {
    id: Uuid,
    connection_id: Uuid,
    remote_id: String,
    published_at: DateTime<Utc>,
    user_id: Uuid,
}

impl Collector {
    /// One collection pass at `now`.
    pub async fn run_once(&self, now: DateTime<Utc>) -> anyhow::Result<Report> {
        let registry = self.connections.registry();
        let platforms: Vec<String> = Platform::ALL
            .into_iter()
            .filter(|p| registry.metrics(*p).is_some())
            .map(|p| p.as_str().to_owned())
            .collect();
        if platforms.is_empty() {
            return Ok(Report::default());
        }
        let claimed = Claimed::find_by_statement(Statement::from_sql_and_values(
            self.db.get_database_backend(),
            r#"
            UPDATE post_targets t SET metrics_retry_at = $1 + make_interval(secs => $4)
            FROM posts p
            WHERE p.id = t.post_id AND t.id IN (
                SELECT t.id FROM post_targets t
                JOIN connections c ON c.id = t.connection_id
                WHERE t.status = 'published' AND t.metrics_step < $6
                  AND t.remote_id IS NOT NULL AND t.published_at IS NOT NULL
                  AND c.status = 'active' AND c.platform = ANY($2)
                  AND t.published_at + make_interval(secs => ($5::bigint[])[t.metrics_step + 1]) <= $1
                  AND (t.metrics_retry_at IS NULL OR t.metrics_retry_at <= $1)
                ORDER BY t.published_at
                LIMIT $3
                FOR UPDATE OF t SKIP LOCKED)
            RETURNING t.id, t.connection_id, t.remote_id, t.published_at, p.user_id
            "#,
            [
                now.into(),
                platforms.into(),
                CLAIM_LIMIT.into(),
                (CLAIM_SECS as f64).into(),
                SCHEDULE_SECS.to_vec().into(),
                STEPS.into(),
            ],
        ))
        .all(&self.db)
        .await?;
        let mut report = Report {
            claimed: claimed.len(),
            ..Report::default()
        };
        if claimed.is_empty() {
            return Ok(report);
        }
        let mut users: Vec<Uuid> = claimed.iter().map(|c| c.user_id).collect();
        users.sort();
        users.dedup();
        let mut by_connection: BTreeMap<Uuid, Vec<Claimed>> = BTreeMap::new();
        for c in claimed {
            by_connection.entry(c.connection_id).or_default().push(c);
        }
        let results: Vec<anyhow::Result<Report>> = futures::stream::iter(by_connection)
            .map(|(connection, targets)| self.collect_account(connection, targets, now))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for r in results {
            match r {
                Ok(r) => report.add(&r),
                Err(e) => tracing::warn!(error = %e, "collecting one account's engagement failed"),
            }
        }
        if report.snapshots > 0 {
            let since = (now - chrono::Duration::days(1)).date_naive();
            crate::analytics::rollup::rollup(&self.db, &users, since, now).await?;
        }
        Ok(report)
    }

    async fn collect_account(
        &self,
        connection_id: Uuid,
        targets: Vec<Claimed>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Report> {
        let mut report = Report::default();
        let Some(model) = connections::Entity::find_by_id(connection_id)
            .one(&self.db)
            .await?
        else {
            return Ok(report);
        };
        let Ok(platform) = model.platform.parse::<Platform>() else {
            return Ok(report);
        };
        let Some(source) = self.connections.registry().metrics(platform) else {
            return Ok(report);
        };
        let token = match self.connections.access_token_of(&model).await {
            Ok(t) => t,
            Err(TokenError::NeedsReauth(_)) => {
                // Paused: the connection isn't claimed again until it is reconnected.
                report.paused += targets.len();
                self.release(&targets, None).await?;
                return Ok(report);
            }
            Err(e) => {
                report.failed += targets.len();
                tracing::info!(connection = %connection_id, error = %e, "no token for engagement collection");
                self.release(&targets, Some(now + secs(FAILED_RETRY_SECS)))
                    .await?;
                return Ok(report);
            }
        };
        let mut token = token;
        let mut refreshed = false;
        let batch = source.batch_size().max(1);
        let mut chunks = targets.chunks(batch);
        while let Some(chunk) = chunks.next() {
            let posts: Vec<RemotePost> = chunk
                .iter()
                .map(|t| RemotePost {
                    id: t.remote_id.clone(),
                    published_at: t.published_at,
                })
                .collect();
            report.requests += 1;
            let mut answer = source.fetch(&account_of(&model, &token), &posts, now).await;
            if matches!(answer, Err(MetricsError::NeedsReauth)) && !refreshed {
                // A token refused before its time: refresh once (unless another caller just
                // did) and ask again before calling the connection broken.
                refreshed = true;
                let seen = crate::security::sha256_hex(token.expose_secret().as_bytes());
                match self
                    .connections
                    .refresh(connection_id, RefreshReason::Rejected(seen))
                    .await
                {
                    Ok((fresh, _)) => {
                        token = fresh;
                        report.requests += 1;
                        answer = source.fetch(&account_of(&model, &token), &posts, now).await;
                    }
                    Err(TokenError::NeedsReauth(_)) => {}
                    Err(e) => {
                        answer = Err(MetricsError::Failed(format!("refreshing the token: {e}")))
                    }
                }
            }
            match answer {
                Ok(answers) => {
                    for t in chunk {
                        match answers.get(&t.remote_id) {
                            Some(PostCounts::Counts(c)) => {
                                self.store(t, c, now).await?;
                                report.snapshots += 1;
                            }
                            Some(PostCounts::NotYet) => {
                                self.release(
                                    std::slice::from_ref(t),
                                    Some(now + not_yet_retry(now - t.published_at)),
                                )
                                .await?;
                                report.not_yet += 1;
                            }
                            Some(PostCounts::Gone) => {
                                self.finish(t).await?;
                                report.gone += 1;
                            }
                            None => {
                                self.release(
                                    std::slice::from_ref(t),
                                    Some(now + secs(FAILED_RETRY_SECS)),
                                )
                                .await?;
                                report.failed += 1;
                            }
                        }
                    }
                }
                Err(MetricsError::RateLimited {
                    reset_at,
                    retry_after,
                }) => {
                    // This account waits for the documented reset; the rest of its posts too.
                    let until = reset_at
                        .or_else(|| {
                            retry_after
                                .map(|d| now + chrono::Duration::from_std(d).unwrap_or_default())
                        })
                        .unwrap_or(now + secs(FAILED_RETRY_SECS));
                    let rest: Vec<&Claimed> =
                        chunk.iter().chain(chunks.by_ref().flatten()).collect();
                    report.rate_limited += rest.len();
                    for t in rest {
                        self.release(std::slice::from_ref(t), Some(until)).await?;
                    }
                    break;
                }
                Err(MetricsError::NeedsReauth) => {
                    let rest: Vec<&Claimed> =
                        chunk.iter().chain(chunks.by_ref().flatten()).collect();
                    report.paused += rest.len();
                    self.connections
                        .mark_rejected(
                            connection_id,
                            "the platform refused our access while reading engagement numbers",
                        )
                        .await?;
                    for t in rest {
                        self.release(std::slice::from_ref(t), None).await?;
                    }
                    break;
                }
                Err(MetricsError::NotPermitted(why)) => {
                    tracing::info!(connection = %connection_id, %platform, why, "engagement numbers aren't available to our scopes");
                    let rest: Vec<&Claimed> =
                        chunk.iter().chain(chunks.by_ref().flatten()).collect();
                    report.gone += rest.len();
                    for t in rest {
                        self.finish(t).await?;
                    }
                    break;
                }
                Err(MetricsError::Failed(message)) => {
                    tracing::info!(connection = %connection_id, %platform, message, "engagement numbers couldn't be read");
                    report.failed += chunk.len();
                    self.release(chunk, Some(now + secs(FAILED_RETRY_SECS)))
                        .await?;
                }
            }
        }
        Ok(report)
    }

    /// Stores a snapshot and moves the target to its next due snapshot (skipping any that
    /// passed while nobody collected).
    async fn store(&self, t: &Claimed, c: &Counts, now: DateTime<Utc>) -> anyhow::Result<()> {
        let age = (now - t.published_at).num_seconds();
        let step = SCHEDULE_SECS.iter().filter(|s| **s <= age).count().max(1) as i16;
        let txn_sql = r#"
            WITH snap AS (
                INSERT INTO post_metrics (id, target_id, captured_at, likes, reposts, replies,
                    quotes, impressions, saves, clicks, views, raw)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                ON CONFLICT (target_id, captured_at) DO NOTHING
            )
            UPDATE post_targets SET metrics_step = GREATEST(metrics_step, $13), metrics_retry_at = NULL
            WHERE id = $2
        "#;
        self.db
            .execute_raw(Statement::from_sql_and_values(
                self.db.get_database_backend(),
                txn_sql,
                [
                    Uuid::now_v7().into(),
                    t.id.into(),
                    now.into(),
                    c.likes.into(),
                    c.reposts.into(),
                    c.replies.into(),
                    c.quotes.into(),
                    c.impressions.into(),
                    c.saves.into(),
                    c.clicks.into(),
                    c.views.into(),
                    c.raw.clone().into(),
                    step.into(),
                ],
            ))
            .await?;
        Ok(())
    }

    /// The post is gone from the platform: nothing more to collect.
    async fn finish(&self, t: &Claimed) -> anyhow::Result<()> {
        self.db
            .execute_raw(Statement::from_sql_and_values(
                self.db.get_database_backend(),
                "UPDATE post_targets SET metrics_step = $2, metrics_retry_at = NULL WHERE id = $1",
                [t.id.into(), STEPS.into()],
            ))
            .await?;
        Ok(())
    }

    /// Lets go of targets until `until` (or at once).
    async fn release(
        &self,
        targets: &[Claimed],
        until: Option<DateTime<Utc>>,
    ) -> anyhow::Result<()> {
        let ids: Vec<Uuid> = targets.iter().map(|t| t.id).collect();
        self.db
            .execute_raw(Statement::from_sql_and_values(
                self.db.get_database_backend(),
                "UPDATE post_targets SET metrics_retry_at = $2 WHERE id = ANY($1)",
                [ids.into(), until.into()],
            ))
            .await?;
        Ok(())
    }
}

fn account_of<'a>(model: &'a connections::Model, token: &'a secrecy::SecretString) -> Account<'a> {
    Account {
        access_token: token,
        account_id: &model.account_id,
        metadata: &model.metadata,
    }
}

fn secs(s: i64) -> chrono::Duration {
    chrono::Duration::seconds(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_is_dense_at_first_and_sparse_later() {
        assert_eq!(SCHEDULE_SECS[0], 300);
        assert!(SCHEDULE_SECS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(SCHEDULE_SECS[STEPS as usize - 1], 30 * 24 * 3600);
    }

    #[test]
    fn numbers_not_yet_available_are_asked_again_sooner_for_young_posts() {
        let min = |m| chrono::Duration::minutes(m);
        assert_eq!(not_yet_retry(min(6)), min(5));
        assert_eq!(not_yet_retry(min(120)), min(30));
        assert_eq!(not_yet_retry(min(60 * 24)), min(60));
    }

    #[test]
    fn the_collection_tick_runs_every_minute() {
        let schedule = schedule();
        let mut next = schedule.upcoming(Utc);
        let a = next.next().unwrap();
        let b = next.next().unwrap();
        assert_eq!((b - a).num_seconds(), 60);
    }
}
