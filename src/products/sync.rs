//! Catalog sync: a shop's products copied into `products`, page by page, resumably.
//!
//! A sync is a row in `catalog_syncs`. Asking for one ([`request`]) inserts it `queued`, unless
//! the shop already has one queued or running (a partial unique index makes that the rule, not
//! a hope), and the worker runs it ([`Syncer::run`]):
//!
//! 1. It claims the row with a lease (`running`, `worker`, `lease_until`). A row whose lease ran
//!    out (its worker was killed) can be claimed again; a live lease can't.
//! 2. It asks the shop for the page at the row's checkpoint, and in one transaction upserts the
//!    page's products, moves the checkpoint past the page, adds to the counters and renews the
//!    lease — only while the lease is still its own. A sync taken over after a crash starts at
//!    the page after the last one written, and a page written twice is still one row a product.
//! 3. It waits what the platform's rate limit asks between pages, and on a throttle or a
//!    transient failure waits and asks again (the wait is shown on the progress), so throttling
//!    slows a sync down but never fails it.
//! 4. At the end, a full pass marks removed the products it didn't see; a pass over changes
//!    asks the shop for deletions where it can tell (Shopify). Removed products stay, for the
//!    posts made from them.
//!
//! On shutdown a running sync stops at a page boundary and goes back to `queued`, keeping its
//! checkpoint, for the next worker.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait as _,
    FromQueryResult, QueryFilter as _, QueryOrder as _, Statement, TransactionTrait as _,
};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::Value;
use tokio::sync::watch;
use uuid::Uuid;

use super::store;
use crate::config::Config;
use crate::connections::{Connections, RefreshReason, TokenError};
use crate::domain::Platform;
use crate::entities::catalog_syncs::{self, Model};
use crate::entities::connections;
use crate::entities::enums::{ConnectionKind, ConnectionStatus, SyncMode, SyncStatus, SyncTrigger};
use crate::platforms::catalog::{CatalogAccount, CatalogError, CatalogSource, PageCursor};

/// Changes are asked for from a little before the last sync started, so an edit made while it
/// ran (or a clock a little off) isn't missed; seeing a product twice costs nothing.
const CHANGES_OVERLAP: chrono::Duration = chrono::Duration::minutes(5);

/// Transient failures (5xx, network) in a row before a sync gives up; throttling waits don't
/// count against it.
const MAX_FAILURES_IN_A_ROW: u32 = 6;

/// Throttle answers in a row before a sync gives up (a platform that never lets us through).
const MAX_THROTTLES_IN_A_ROW: u32 = 200;

/// Products written by one sync beyond which the table's statistics are refreshed.
const ANALYZE_AFTER: i32 = 1_000;

/// The longest single wait between two attempts.
const MAX_WAIT: Duration = Duration::from_secs(120);

/// Whether a platform can list only what changed and report what was deleted, so a sync can
/// skip the full pass; the others always read the whole catalog (and skip rewriting what
/// didn't change).
pub fn reads_changes(platform: Platform) -> bool {
    platform == Platform::Shopify
}

/// A requested sync, and whether it is new (`false`: the shop was already syncing).
#[derive(Debug, Clone)]
pub struct Requested {
    pub sync: Model,
    pub started: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("only shops have catalogs to sync")]
    NotAShop,
    #[error("the shop needs reconnecting before it can be synced")]
    NeedsReauth,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Queues a sync of `connection`'s catalog, or returns the one already queued or running.
pub async fn request(
    db: &DatabaseConnection,
    config: &Config,
    connection: &connections::Model,
    trigger: SyncTrigger,
) -> Result<Requested, RequestError> {
    if connection.kind != ConnectionKind::Commerce {
        return Err(RequestError::NotAShop);
    }
    match connection.status {
        ConnectionStatus::Active | ConnectionStatus::Error => {}
        ConnectionStatus::NeedsReauth | ConnectionStatus::Revoked => {
            return Err(RequestError::NeedsReauth);
        }
    }
    let platform: Platform = connection
        .platform
        .parse()
        .map_err(|_| RequestError::NotAShop)?;
    let now = Utc::now();
    let (mode, updated_since) = plan(db, config, connection.id, platform, now).await?;
    let id = Uuid::now_v7();
    let inserted = Model::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO catalog_syncs (id, user_id, connection_id, mode, trigger, status,
                                    updated_since, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7, $7)
         ON CONFLICT (connection_id) WHERE status IN ('queued', 'running') DO NOTHING
         RETURNING *",
        [
            id.into(),
            connection.user_id.into(),
            connection.id.into(),
            mode_str(mode).into(),
            trigger_str(trigger).into(),
            updated_since.into(),
            now.into(),
        ],
    ))
    .one(db)
    .await?;
    if let Some(sync) = inserted {
        return Ok(Requested {
            sync,
            started: true,
        });
    }
    let active = active_of(db, connection.id).await?;
    match active {
        Some(sync) => Ok(Requested {
            sync,
            started: false,
        }),
        // It finished between the insert and the read: ask again.
        None => Box::pin(request(db, config, connection, trigger)).await,
    }
}

fn mode_str(mode: SyncMode) -> &'static str {
    match mode {
        SyncMode::Full => "full",
        SyncMode::Changes => "changes",
    }
}

fn trigger_str(trigger: SyncTrigger) -> &'static str {
    match trigger {
        SyncTrigger::Connect => "connect",
        SyncTrigger::Manual => "manual",
        SyncTrigger::Schedule => "schedule",
        SyncTrigger::Api => "api",
    }
}

/// Full pass or changes only: changes when the platform can tell them and a full pass
/// succeeded recently enough; `updated_since` from the last successful sync.
async fn plan(
    db: &DatabaseConnection,
    config: &Config,
    connection_id: Uuid,
    platform: Platform,
    now: DateTime<Utc>,
) -> Result<(SyncMode, Option<DateTime<Utc>>), DbErr> {
    if !reads_changes(platform) {
        return Ok((SyncMode::Full, None));
    }
    let succeeded = |mode: Option<SyncMode>| {
        let mut q = catalog_syncs::Entity::find()
            .filter(catalog_syncs::Column::ConnectionId.eq(connection_id))
            .filter(catalog_syncs::Column::Status.eq(SyncStatus::Succeeded));
        if let Some(mode) = mode {
            q = q.filter(catalog_syncs::Column::Mode.eq(mode));
        }
        q.order_by_desc(catalog_syncs::Column::StartedAt).one(db)
    };
    let Some(last_full) = succeeded(Some(SyncMode::Full)).await? else {
        return Ok((SyncMode::Full, None));
    };
    let full_every = chrono::Duration::hours(config.catalog_full_sync_hours as i64);
    if last_full.started_at.is_none_or(|t| t + full_every <= now) {
        return Ok((SyncMode::Full, None));
    }
    let last = succeeded(None).await?.unwrap_or(last_full);
    let since = last.started_at.unwrap_or(last.created_at) - CHANGES_OVERLAP;
    Ok((SyncMode::Changes, Some(since)))
}

/// The shop's queued or running sync.
pub async fn active_of(
    db: &impl ConnectionTrait,
    connection_id: Uuid,
) -> Result<Option<Model>, DbErr> {
    catalog_syncs::Entity::find()
        .filter(catalog_syncs::Column::ConnectionId.eq(connection_id))
        .filter(catalog_syncs::Column::Status.is_in([SyncStatus::Queued, SyncStatus::Running]))
        .one(db)
        .await
}

/// A shop's latest sync (the one going, or else the last finished) and when one last succeeded.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Latest {
    #[sea_orm(nested)]
    pub sync: Model,
    pub last_success: Option<DateTime<Utc>>,
}

/// The latest sync of each of `connection_ids`, in one statement (the progress fragment asks
/// every second while a sync runs).
pub async fn latest_of(
    db: &impl ConnectionTrait,
    connection_ids: &[Uuid],
) -> Result<Vec<Latest>, DbErr> {
    if connection_ids.is_empty() {
        return Ok(Vec::new());
    }
    Latest::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT DISTINCT ON (s.connection_id) s.*,
                (SELECT max(o.finished_at) FROM catalog_syncs o
                  WHERE o.connection_id = s.connection_id AND o.status = 'succeeded') AS last_success
         FROM catalog_syncs s
         WHERE s.connection_id = ANY($1)
         ORDER BY s.connection_id, (s.status IN ('queued', 'running')) DESC, s.created_at DESC",
        [connection_ids.to_vec().into()],
    ))
    .all(db)
    .await
}

/// What became of one run of a sync job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Another worker holds it, or it already finished.
    Skipped,
    Succeeded,
    Failed,
    /// Stopped at a page boundary (shutdown, or the lease was lost); it resumes from its
    /// checkpoint.
    Released,
}

/// Runs syncs; one per worker process, cheap to clone.
#[derive(Clone)]
pub struct Syncer {
    db: DatabaseConnection,
    connections: Connections,
    config: Arc<Config>,
    worker_id: String,
    stop: watch::Receiver<bool>,
}

/// Where a page's wait or failure leaves the sync.
enum Step {
    Continue,
    Stop(Outcome),
}

impl Syncer {
    pub fn new(
        db: DatabaseConnection,
        connections: Connections,
        config: Arc<Config>,
        worker_id: String,
        stop: watch::Receiver<bool>,
    ) -> Self {
        Self {
            db,
            connections,
            config,
            worker_id,
            stop,
        }
    }

    fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Claims `sync_id` unless another worker holds a live lease on it or it is finished.
    async fn claim(&self, sync_id: Uuid) -> Result<Option<Model>, DbErr> {
        Model::find_by_statement(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE catalog_syncs SET status = 'running', worker = $2,
                    lease_until = now() + make_interval(secs => $3),
                    attempts = attempts + 1, started_at = coalesce(started_at, now()),
                    updated_at = now()
             WHERE id = $1 AND (status = 'queued' OR (status = 'running' AND lease_until < now()))
             RETURNING *",
            [
                sync_id.into(),
                self.worker_id.clone().into(),
                (self.config.catalog_sync_lease_secs as f64).into(),
            ],
        ))
        .one(&self.db)
        .await
    }

    /// Renews the lease (for at least `extra` more) and sets the note; `false` when the lease
    /// is no longer ours.
    async fn renew(
        &self,
        sync_id: Uuid,
        extra: Duration,
        note: Option<String>,
    ) -> Result<bool, DbErr> {
        let secs = (self.config.catalog_sync_lease_secs as f64) + extra.as_secs_f64();
        let done = self
            .db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "UPDATE catalog_syncs SET lease_until = now() + make_interval(secs => $3),
                        note = $4, updated_at = now()
                 WHERE id = $1 AND worker = $2 AND status = 'running'",
                [
                    sync_id.into(),
                    self.worker_id.clone().into(),
                    secs.into(),
                    note.into(),
                ],
            ))
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Hands the sync back (`queued`, checkpoint kept) for the next worker.
    async fn release(&self, sync_id: Uuid) -> Result<Outcome, DbErr> {
        self.db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "UPDATE catalog_syncs SET status = 'queued', worker = NULL, lease_until = NULL,
                        updated_at = now()
                 WHERE id = $1 AND worker = $2 AND status = 'running'",
                [sync_id.into(), self.worker_id.clone().into()],
            ))
            .await?;
        Ok(Outcome::Released)
    }

    async fn fail(&self, sync_id: Uuid, error: String) -> Result<Outcome, DbErr> {
        tracing::warn!(sync = %sync_id, %error, "catalog sync failed");
        self.db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "UPDATE catalog_syncs SET status = 'failed', error = $3, note = NULL,
                        lease_until = NULL, finished_at = now(), updated_at = now()
                 WHERE id = $1 AND worker = $2 AND status = 'running'",
                [sync_id.into(), self.worker_id.clone().into(), error.into()],
            ))
            .await?;
        Ok(Outcome::Failed)
    }

    /// Sleeps `wait`, renewing the lease to cover it; `Some` when the sync must stop instead.
    async fn pause(
        &self,
        sync_id: Uuid,
        wait: Duration,
        note: Option<String>,
    ) -> Result<Option<Outcome>, DbErr> {
        if !self.renew(sync_id, wait, note).await? {
            return Ok(Some(Outcome::Released));
        }
        if wait.is_zero() {
            return Ok(None);
        }
        let mut stop = self.stop.clone();
        let stopped = tokio::select! {
            _ = tokio::time::sleep(wait) => false,
            seen = stop.wait_for(|s| *s) => seen.is_ok(),
        };
        Ok(if stopped {
            Some(self.release(sync_id).await?)
        } else {
            None
        })
    }

    /// Runs sync `sync_id` to its end (or until shutdown).
    pub async fn run(&self, sync_id: Uuid) -> Result<Outcome, DbErr> {
        let Some(sync) = self.claim(sync_id).await? else {
            return Ok(Outcome::Skipped);
        };
        let connection = connections::Entity::find_by_id(sync.connection_id)
            .one(&self.db)
            .await?;
        let Some(connection) = connection.filter(|c| c.status != ConnectionStatus::Revoked) else {
            return self
                .fail(sync_id, "The shop was disconnected.".into())
                .await;
        };
        let Ok(platform) = connection.platform.parse::<Platform>() else {
            return self.fail(sync_id, "Not a shop.".into()).await;
        };
        let Some(source) = self.connections.registry().catalog(platform) else {
            return self
                .fail(
                    sync_id,
                    format!(
                        "{} isn't configured on this server (its app credentials are missing).",
                        platform.display_name()
                    ),
                )
                .await;
        };
        tracing::info!(sync = %sync_id, connection = %connection.id, %platform, mode = ?sync.mode, "catalog sync running");
        let account = CatalogAccount {
            account_id: connection.account_id.clone(),
            metadata: connection.metadata.clone(),
            updated_since: match sync.mode {
                SyncMode::Full => None,
                SyncMode::Changes => sync.updated_since,
            },
        };
        let mut cursor: Option<PageCursor> = match &sync.checkpoint {
            None | Some(Value::Null) => None,
            Some(json) => match serde_json::from_value(json.clone()) {
                Ok(c) => Some(c),
                Err(e) => {
                    return self
                        .fail(sync_id, format!("Its checkpoint couldn't be read ({e})."))
                        .await;
                }
            },
        };
        // A resumed sync that had already read its last page just finishes.
        if sync.pages > 0 && cursor.is_none() {
            return self
                .finish(&sync, platform, source.as_ref(), &connection, &account)
                .await;
        }
        let (mut failures, mut throttles, mut refreshed) = (0u32, 0u32, false);
        loop {
            if self.stopping() {
                return self.release(sync_id).await;
            }
            let token = match self.connections.access_token_of(&connection).await {
                Ok(t) => t,
                Err(TokenError::NeedsReauth(reason)) => {
                    return self.fail(sync_id, reauth_message(platform, &reason)).await;
                }
                Err(TokenError::NotFound) => {
                    return self
                        .fail(sync_id, "The shop was disconnected.".into())
                        .await;
                }
                Err(TokenError::Temporary(e)) => {
                    failures += 1;
                    match self
                        .retry(
                            sync_id,
                            failures,
                            None,
                            &format!("couldn't renew access: {e}"),
                        )
                        .await?
                    {
                        Step::Continue => continue,
                        Step::Stop(o) => return Ok(o),
                    }
                }
                Err(TokenError::Db(e)) => return Err(e),
            };
            match source.page(&account, &token, cursor.as_ref()).await {
                Ok(page) => {
                    failures = 0;
                    throttles = 0;
                    let txn = self.db.begin().await?;
                    let written = store::write_page(
                        &txn,
                        connection.user_id,
                        connection.id,
                        sync_id,
                        &page.products,
                    )
                    .await?;
                    let checkpoint = page
                        .next
                        .as_ref()
                        .map(|c| serde_json::to_value(c).expect("a cursor serializes"));
                    let total = page.total.map(|t| t.min(i32::MAX as u64) as i32);
                    let kept = txn
                        .execute_raw(Statement::from_sql_and_values(
                            DbBackend::Postgres,
                            "UPDATE catalog_syncs SET checkpoint = $3, pages = pages + 1,
                                    processed = processed + $4, created = created + $5,
                                    updated = updated + $6, unchanged = unchanged + $7,
                                    skipped = skipped + $8, total = coalesce($9, total),
                                    note = NULL,
                                    lease_until = now() + make_interval(secs => $10),
                                    updated_at = now()
                             WHERE id = $1 AND worker = $2 AND status = 'running'",
                            [
                                sync_id.into(),
                                self.worker_id.clone().into(),
                                checkpoint.into(),
                                (page.products.len() as i32).into(),
                                (written.created as i32).into(),
                                (written.updated as i32).into(),
                                (written.unchanged as i32).into(),
                                (page.skipped as i32).into(),
                                total.into(),
                                (self.config.catalog_sync_lease_secs as f64
                                    + page.wait.as_secs_f64())
                                .into(),
                            ],
                        ))
                        .await?;
                    if kept.rows_affected() != 1 {
                        // Someone else took the sync over (our lease ran out): theirs counts.
                        txn.rollback().await?;
                        return Ok(Outcome::Released);
                    }
                    txn.commit().await?;
                    cursor = page.next;
                    if cursor.is_none() {
                        let sync = catalog_syncs::Entity::find_by_id(sync_id)
                            .one(&self.db)
                            .await?
                            .ok_or_else(|| DbErr::RecordNotFound("catalog sync".into()))?;
                        return self
                            .finish(&sync, platform, source.as_ref(), &connection, &account)
                            .await;
                    }
                    if !page.wait.is_zero() {
                        let wait = page.wait.min(MAX_WAIT);
                        if let Some(o) = self.pause(sync_id, wait, None).await? {
                            return Ok(o);
                        }
                    }
                }
                Err(CatalogError::Retryable {
                    wait: Some(wait),
                    message,
                }) => {
                    throttles += 1;
                    if throttles > MAX_THROTTLES_IN_A_ROW {
                        return self
                            .fail(
                                sync_id,
                                format!(
                                    "{} kept asking us to slow down: {message}",
                                    platform.display_name()
                                ),
                            )
                            .await;
                    }
                    let wait = wait.clamp(Duration::from_millis(50), MAX_WAIT);
                    let note = format!(
                        "{} asked us to slow down; continuing in {} s.",
                        platform.display_name(),
                        wait.as_secs_f64().ceil() as u64
                    );
                    if let Some(o) = self.pause(sync_id, wait, Some(note)).await? {
                        return Ok(o);
                    }
                }
                Err(CatalogError::Retryable {
                    wait: None,
                    message,
                }) => {
                    failures += 1;
                    match self
                        .retry(sync_id, failures, Some(platform), &message)
                        .await?
                    {
                        Step::Continue => {}
                        Step::Stop(o) => return Ok(o),
                    }
                }
                Err(CatalogError::Auth(message)) => {
                    if refreshed {
                        self.connections
                            .mark_rejected(connection.id, &message)
                            .await?;
                        return self.fail(sync_id, reauth_message(platform, &message)).await;
                    }
                    refreshed = true;
                    let seen = crate::security::sha256_hex(token.expose_secret().as_bytes());
                    match self
                        .connections
                        .refresh(connection.id, RefreshReason::Rejected(seen))
                        .await
                    {
                        Ok(_) => {}
                        Err(TokenError::Db(e)) => return Err(e),
                        Err(e) => {
                            self.connections
                                .mark_rejected(connection.id, &message)
                                .await?;
                            return self
                                .fail(
                                    sync_id,
                                    reauth_message(platform, &format!("{message} ({e})")),
                                )
                                .await;
                        }
                    }
                }
                Err(CatalogError::Permanent(message)) => {
                    return self
                        .fail(
                            sync_id,
                            format!(
                                "{} refused the catalog request: {message}",
                                platform.display_name()
                            ),
                        )
                        .await;
                }
            }
        }
    }

    /// Backs off after a transient failure, or gives up after too many in a row.
    async fn retry(
        &self,
        sync_id: Uuid,
        failures: u32,
        platform: Option<Platform>,
        message: &str,
    ) -> Result<Step, DbErr> {
        let who = platform.map(|p| p.display_name()).unwrap_or("The shop");
        if failures > MAX_FAILURES_IN_A_ROW {
            let error = format!("{who} kept failing ({failures} times in a row): {message}");
            return Ok(Step::Stop(self.fail(sync_id, error).await?));
        }
        let wait = Duration::from_secs(1 << (failures - 1).min(6)).min(MAX_WAIT);
        let note = format!(
            "{who} didn't answer properly ({message}); trying again in {} s.",
            wait.as_secs()
        );
        Ok(match self.pause(sync_id, wait, Some(note)).await? {
            None => Step::Continue,
            Some(o) => Step::Stop(o),
        })
    }

    /// The last page is written: removals, then `succeeded`.
    async fn finish(
        &self,
        sync: &Model,
        platform: Platform,
        source: &dyn CatalogSource,
        connection: &connections::Model,
        account: &CatalogAccount,
    ) -> Result<Outcome, DbErr> {
        let deleted = match (sync.mode, sync.updated_since) {
            (SyncMode::Changes, Some(since)) => {
                let token = match self.connections.access_token_of(connection).await {
                    Ok(t) => t,
                    Err(TokenError::Db(e)) => return Err(e),
                    Err(e) => {
                        return self
                            .fail(sync.id, reauth_message(platform, &e.to_string()))
                            .await;
                    }
                };
                match self
                    .removed_since(sync.id, source, account, &token, since)
                    .await?
                {
                    Ok(ids) => ids,
                    Err(outcome) => return Ok(outcome),
                }
            }
            _ => Vec::new(),
        };
        let txn = self.db.begin().await?;
        let removed = match sync.mode {
            SyncMode::Full => store::mark_unseen_removed(&txn, sync.connection_id, sync.id).await?,
            SyncMode::Changes => store::mark_removed(&txn, sync.connection_id, &deleted).await?,
        };
        let done = txn
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "UPDATE catalog_syncs SET status = 'succeeded', removed = $3, note = NULL,
                        error = NULL, checkpoint = NULL, lease_until = NULL,
                        finished_at = now(), updated_at = now()
                 WHERE id = $1 AND worker = $2 AND status = 'running'",
                [
                    sync.id.into(),
                    self.worker_id.clone().into(),
                    (removed as i32).into(),
                ],
            ))
            .await?;
        if done.rows_affected() != 1 {
            txn.rollback().await?;
            return Ok(Outcome::Released);
        }
        txn.commit().await?;
        // A first sync can add thousands of rows at once, long before autovacuum's next look:
        // fresh statistics keep search on its indexes right away.
        if sync.created + sync.updated > ANALYZE_AFTER
            && let Err(e) = self.db.execute_unprepared("ANALYZE products").await
        {
            tracing::warn!(error = %e, "couldn't refresh the products' statistics");
        }
        tracing::info!(sync = %sync.id, removed, "catalog sync succeeded");
        Ok(Outcome::Succeeded)
    }

    /// The shop's deletions since `since`, retried like pages; `Err` with the outcome when the
    /// sync stopped instead.
    async fn removed_since(
        &self,
        sync_id: Uuid,
        source: &dyn CatalogSource,
        account: &CatalogAccount,
        token: &SecretString,
        since: DateTime<Utc>,
    ) -> Result<Result<Vec<String>, Outcome>, DbErr> {
        let mut failures = 0;
        loop {
            match source.removed_since(account, token, since).await {
                Ok(ids) => return Ok(Ok(ids.unwrap_or_default())),
                Err(CatalogError::Retryable { wait, message }) => {
                    failures += 1;
                    if failures > MAX_FAILURES_IN_A_ROW {
                        let error =
                            format!("Couldn't learn which products were deleted: {message}");
                        return Ok(Err(self.fail(sync_id, error).await?));
                    }
                    let wait = wait
                        .unwrap_or(Duration::from_secs(1 << failures.min(6)))
                        .min(MAX_WAIT);
                    if let Some(o) = self.pause(sync_id, wait, Some(message)).await? {
                        return Ok(Err(o));
                    }
                }
                Err(e) => {
                    let error = format!("Couldn't learn which products were deleted: {e}");
                    return Ok(Err(self.fail(sync_id, error).await?));
                }
            }
        }
    }
}

fn reauth_message(platform: Platform, reason: &str) -> String {
    format!(
        "{} no longer accepts our access ({reason}). Reconnect the shop on the Connections page.",
        platform.display_name()
    )
}

/// Commerce connections due a scheduled sync: active, none queued or running, and the last one
/// started longer ago than the interval. Queues one for each; returns them.
pub async fn queue_due(db: &DatabaseConnection, config: &Config) -> Result<Vec<Model>, DbErr> {
    let interval = config.catalog_sync_interval_mins as f64 * 60.0;
    let due = connections::Model::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT c.* FROM connections c
         WHERE c.kind = 'commerce' AND c.status = 'active'
           AND NOT EXISTS (
               SELECT 1 FROM catalog_syncs s WHERE s.connection_id = c.id
                 AND (s.status IN ('queued', 'running')
                      OR s.created_at > now() - make_interval(secs => $1)))
         LIMIT 100",
        [interval.into()],
    ))
    .all(db)
    .await?;
    let mut queued = Vec::new();
    for connection in due {
        match request(db, config, &connection, SyncTrigger::Schedule).await {
            Ok(r) if r.started => queued.push(r.sync),
            Ok(_) => {}
            Err(RequestError::Db(e)) => return Err(e),
            Err(e) => tracing::debug!(connection = %connection.id, error = %e, "not syncing"),
        }
    }
    Ok(queued)
}

/// Syncs whose job was lost (queued a while without a worker taking it, e.g. Redis was
/// flushed) or whose worker died (lease expired): their ids, to queue their jobs again.
pub async fn stranded(db: &DatabaseConnection, queued_for: Duration) -> Result<Vec<Uuid>, DbErr> {
    #[derive(FromQueryResult)]
    struct Id {
        id: Uuid,
    }
    let ids = Id::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE catalog_syncs SET updated_at = now()
         WHERE (status = 'queued' AND updated_at < now() - make_interval(secs => $1))
            OR (status = 'running' AND lease_until < now())
         RETURNING id",
        [queued_for.as_secs_f64().into()],
    ))
    .all(db)
    .await?;
    Ok(ids.into_iter().map(|i| i.id).collect())
}

/// Whether a sync is still going (queued or running).
pub fn is_active(sync: &Model) -> bool {
    matches!(sync.status, SyncStatus::Queued | SyncStatus::Running)
}
