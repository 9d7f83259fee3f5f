//! The publishing engine (DESIGN.md, "A post's life"): Postgres is the truth, Redis carries work.
//!
//! - `dispatch_due` moves due targets to `queued` in one `UPDATE … FOR UPDATE SKIP LOCKED …
//!   RETURNING`; the caller pushes one job per returned id. Any number of workers may dispatch.
//! - `requeue_lost` hands back ids of targets queued long ago and never claimed (their job was
//!   lost with Redis); pushing them again is harmless, because of the next rule.
//! - `run` claims its target with one conditional `UPDATE` (`queued → publishing`, lease,
//!   attempt + 1). Only the claimer calls the platform; a duplicate job finds nothing to claim.
//! - The publisher records each step in `progress` and marks the irreversible call before making
//!   it; the remote id is written the moment it comes back.
//! - `expire_leases` deals with workers that died mid-publish: without the mark the request was
//!   never sent (retry); with it, the outcome is unknown — never an automatic repost.
//!   `reconcile_unknown` asks the platform where it can tell.
//! - Failures are classified: retryable (backoff with jitter, or the platform's reset time),
//!   auth (one refresh, then the account needs reconnecting), permanent (the platform's reason).
//!   Every attempt is a row in `jobs`.
//! - Nothing of a disabled account is dispatched or claimed (`users.disabled_at`); see
//!   `crate::admin` for what disabling and enabling do to its scheduled posts.
//! - A target becoming `published`, `failed` or `unknown` queues the owner's webhooks in the same
//!   statement's transaction, by a trigger (`crate::webhooks`), whichever path changed it.

pub mod progress;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng as _;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait as _, FromQueryResult, Statement,
    Value as DbValue,
};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::config::Config;
use crate::connections::{Connections, RefreshReason, TokenError};
use crate::domain::{Platform, TargetOptions};
use crate::entities::{connections as connection_rows, media, post_targets};
use crate::media::store::MediaStore;
use crate::platforms::publish::{
    MediaInput, MediaLoader, PublishError, PublishRequest, Published, Reconciled,
};
use progress::DbProgress;

/// What happened to one job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Another job (or worker) has the target; nothing was done.
    Skipped,
    Published,
    Retry,
    Failed,
    Unknown,
}

#[derive(Clone)]
pub struct Engine {
    db: DatabaseConnection,
    config: Arc<Config>,
    connections: Connections,
    media: MediaStore,
    worker: String,
    lease: Duration,
    max_attempts: i32,
}

#[derive(FromQueryResult)]
struct IdRow {
    id: Uuid,
}

#[derive(FromQueryResult)]
struct IdPost {
    id: Uuid,
    post_id: Uuid,
}

/// A post's status from its targets' (`status`), the same rule as `posts::refresh_status`.
const DERIVE: &str = "CASE \
    WHEN bool_or(status = 'unknown') THEN 'unknown' \
    WHEN bool_or(status IN ('queued', 'publishing', 'retry_wait')) THEN 'publishing' \
    WHEN bool_or(status = 'scheduled') THEN 'scheduled' \
    WHEN bool_and(status = 'published') THEN 'published' \
    WHEN bool_and(status = 'cancelled') THEN 'cancelled' \
    WHEN bool_and(status = 'draft') THEN 'draft' \
    WHEN bool_or(status = 'published') THEN 'partial' \
    WHEN bool_and(status IN ('failed', 'cancelled')) THEN 'failed' \
    ELSE 'draft' END";

/// The tail of a statement whose CTE `t` changed one target (`$1`) to status `$7`: updates the
/// post's status, reading that target's new status from `$7` rather than the (unchanged, to
/// this statement) row.
fn post_status_tail() -> String {
    format!(
        "UPDATE posts p SET updated_at = now(), status = s.status FROM ( \
             SELECT post_id, {DERIVE} AS status FROM ( \
                 SELECT post_id, CASE WHEN id = $1 THEN $7::text ELSE status END AS status FROM post_targets \
                 WHERE post_id IN (SELECT post_id FROM t)) x GROUP BY post_id) s \
         WHERE p.id = s.post_id AND p.status <> s.status"
    )
}

/// The claim statement of [`Engine::run`]: the connection's columns come prefixed `conn_`.
fn claim_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        use sea_orm::{IdenStatic as _, Iterable as _};
        let conn: Vec<String> = connection_rows::Column::iter()
            .map(|c| format!("conn.{0} AS conn_{0}", c.as_str()))
            .collect();
        format!(
            "WITH c AS ( \
                 UPDATE post_targets SET status = 'publishing', lease_owner = $2, \
                     lease_expires_at = now() + make_interval(secs => $3), attempt_count = attempt_count + 1, updated_at = now() \
                 WHERE id = $1 AND status = 'queued' \
                   AND NOT EXISTS (SELECT 1 FROM posts p JOIN users u ON u.id = p.user_id \
                                   WHERE p.id = post_targets.post_id AND u.disabled_at IS NOT NULL) \
                 RETURNING id, post_id, connection_id, caption, options, attempt_count, progress), \
             j AS ( \
                 INSERT INTO jobs (id, kind, user_id, target_id, connection_id, attempt, worker) \
                 SELECT $4, 'publish', p.user_id, c.id, c.connection_id, c.attempt_count, $2 FROM c JOIN posts p ON p.id = c.post_id) \
             SELECT c.*, p.body, EXISTS (SELECT 1 FROM post_media pm WHERE pm.post_id = c.post_id) AS has_media, \
                 p.utm_enabled, pr.url AS product_url, u.utm_campaign, {} \
             FROM c JOIN posts p ON p.id = c.post_id JOIN users u ON u.id = p.user_id \
             LEFT JOIN products pr ON pr.id = p.product_id LEFT JOIN connections conn ON conn.id = c.connection_id",
            conn.join(", ")
        )
    })
}

/// A claimed target with what the publish needs of its post.
#[derive(FromQueryResult)]
struct Claim {
    id: Uuid,
    post_id: Uuid,
    caption: Option<String>,
    options: Value,
    attempt_count: i32,
    progress: Value,
    body: String,
    has_media: bool,
    utm_enabled: bool,
    product_url: Option<String>,
    utm_campaign: String,
}

impl Claim {
    fn view(&self) -> TargetView<'_> {
        TargetView {
            post_id: self.post_id,
            caption: self.caption.as_deref(),
            options: &self.options,
            body: &self.body,
            has_media: self.has_media,
            utm: utm_of(
                self.utm_enabled,
                self.product_url.as_deref(),
                &self.utm_campaign,
            ),
        }
    }
}

/// The product link to tag and the campaign, when the post asks for UTM tagging.
fn utm_of<'a>(enabled: bool, product_url: Option<&'a str>, campaign: &'a str) -> Option<Utm<'a>> {
    product_url
        .filter(|u| enabled && !u.trim().is_empty())
        .map(|product_url| Utm {
            product_url,
            campaign,
        })
}

/// UTM tagging of a post's product links (see `domain::utm`).
struct Utm<'a> {
    product_url: &'a str,
    campaign: &'a str,
}

/// What building a request reads of a target and its post.
struct TargetView<'a> {
    post_id: Uuid,
    caption: Option<&'a str>,
    options: &'a Value,
    body: &'a str,
    has_media: bool,
    utm: Option<Utm<'a>>,
}

/// How long signed media links given to platforms stay valid: long enough for slow pulls.
const MEDIA_LINK_TTL: Duration = Duration::from_secs(6 * 3600);

impl Engine {
    pub fn new(
        db: DatabaseConnection,
        config: Arc<Config>,
        connections: Connections,
        media: MediaStore,
        worker: String,
    ) -> Self {
        Self {
            lease: Duration::from_secs(config.publish_lease_secs),
            max_attempts: config.publish_max_attempts as i32,
            db,
            config,
            connections,
            media,
            worker,
        }
    }

    pub fn worker(&self) -> &str {
        &self.worker
    }

    /// Moves up to `limit` due targets to `queued` and returns their ids.
    pub async fn dispatch_due(&self, limit: u64) -> Result<Vec<Uuid>, sea_orm::DbErr> {
        let rows = IdPost::find_by_statement(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "WITH due AS ( \
                 SELECT id FROM post_targets \
                 WHERE status IN ('scheduled', 'retry_wait') AND next_attempt_at <= now() \
                   AND NOT EXISTS (SELECT 1 FROM posts p JOIN users u ON u.id = p.user_id \
                                   WHERE p.id = post_targets.post_id AND u.disabled_at IS NOT NULL) \
                 ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) \
             UPDATE post_targets t SET status = 'queued', queued_at = now(), updated_at = now() \
             FROM due WHERE t.id = due.id RETURNING t.id, t.post_id",
            [(limit as i64).into()],
        ))
        .all(&self.db)
        .await?;
        if !rows.is_empty() {
            let posts: Vec<Uuid> = rows.iter().map(|r| r.post_id).collect();
            self.refresh_posts(&posts).await?;
        }
        Ok(rows.into_iter().map(|r| r.id).collect())
    }

    /// Targets queued more than `after` ago and never claimed: their job was probably lost.
    /// Their `queued_at` moves on, so each is handed back once per period.
    pub async fn requeue_lost(&self, after: Duration) -> Result<Vec<Uuid>, sea_orm::DbErr> {
        let rows = IdRow::find_by_statement(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE post_targets SET queued_at = now() \
             WHERE id IN (SELECT id FROM post_targets WHERE status = 'queued' AND queued_at < now() - make_interval(secs => $1) \
                          ORDER BY queued_at LIMIT 1000 FOR UPDATE SKIP LOCKED) \
             RETURNING id",
            [(after.as_secs_f64()).into()],
        ))
        .all(&self.db)
        .await?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }

    /// Targets whose worker stopped renewing its lease. Without the sent mark nothing reached
    /// the platform: they go back in line. With it, the outcome is unknown.
    pub async fn expire_leases(&self) -> Result<u64, sea_orm::DbErr> {
        self.take_back("lease_expires_at < now()", None).await
    }

    /// This worker's own unfinished publishes, handed back at shutdown.
    pub async fn release_mine(&self) -> Result<u64, sea_orm::DbErr> {
        self.take_back("lease_owner = $1", Some(self.worker.clone()))
            .await
    }

    async fn take_back(
        &self,
        condition: &str,
        owner: Option<String>,
    ) -> Result<u64, sea_orm::DbErr> {
        let values: Vec<DbValue> = owner.into_iter().map(Into::into).collect();
        let rows = IdPost::find_by_statement(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!("UPDATE post_targets SET \
                 status = CASE WHEN progress ? 'sent_at' THEN 'unknown' ELSE 'retry_wait' END, \
                 next_attempt_at = CASE WHEN progress ? 'sent_at' THEN NULL ELSE now() END, \
                 last_error = CASE WHEN progress ? 'sent_at' \
                     THEN 'The worker stopped after sending the post, so we can''t tell whether it went out.' \
                     ELSE last_error END, \
                 last_error_class = CASE WHEN progress ? 'sent_at' THEN 'unknown' ELSE last_error_class END, \
                 lease_owner = NULL, lease_expires_at = NULL, updated_at = now() \
             WHERE id IN (SELECT id FROM post_targets WHERE status = 'publishing' AND {condition} \
                          FOR UPDATE SKIP LOCKED) \
             RETURNING id, post_id"),
            values,
        ))
        .all(&self.db)
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        self.db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "UPDATE jobs SET outcome = 'unknown', finished_at = now(), error_class = 'unknown', \
                     error_message = 'The worker stopped before finishing.' \
                 WHERE target_id = ANY($1) AND outcome = 'running'",
                [uuid_array(&ids)],
            ))
            .await?;
        let posts: Vec<Uuid> = rows.iter().map(|r| r.post_id).collect();
        self.refresh_posts(&posts).await?;
        Ok(rows.len() as u64)
    }

    async fn refresh_posts(&self, posts: &[Uuid]) -> Result<(), sea_orm::DbErr> {
        let mut unique = posts.to_vec();
        unique.sort();
        unique.dedup();
        self.db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                format!(
                    "UPDATE posts p SET updated_at = now(), status = s.status FROM ( \
                         SELECT post_id, {DERIVE} AS status FROM post_targets WHERE post_id = ANY($1) GROUP BY post_id) s \
                     WHERE p.id = s.post_id AND p.status <> s.status"
                ),
                [uuid_array(&unique)],
            ))
            .await?;
        Ok(())
    }

    /// Claims and publishes one target. Safe to call twice for the same target: the second
    /// finds nothing to claim.
    #[tracing::instrument(skip(self), fields(worker = %self.worker))]
    pub async fn run(&self, target_id: Uuid) -> Result<Outcome, sea_orm::DbErr> {
        let job_id = Uuid::now_v7();
        // One statement: the claim, the attempt's row, what the publish needs of the post, and
        // the connection it goes out through.
        let Some(row) = self
            .db
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                claim_sql(),
                [
                    target_id.into(),
                    self.worker.clone().into(),
                    (self.lease.as_secs_f64()).into(),
                    job_id.into(),
                ],
            ))
            .await?
        else {
            return Ok(Outcome::Skipped);
        };
        let claim = Claim::from_query_result(&row, "")?;
        // A connection deleted in the meantime takes its targets with it, so it is there.
        let connection = connection_rows::Model::from_query_result(&row, "conn_").ok();

        // Keep the lease while the platform works (video uploads can take minutes). The renewal
        // stops with this future, however it ends — including being dropped at shutdown.
        let renewal = AbortOnDrop(self.renew_lease_while_running(claim.id));
        let result = match &connection {
            Some(connection) => self.publish(&claim, connection).await,
            None => Err(Failure::Gone),
        };
        drop(renewal);

        match result {
            Ok(published) => self.record_published(&claim, job_id, published).await,
            Err(e) => self.record_failure(&claim, job_id, e).await,
        }
    }

    fn renew_lease_while_running(&self, target_id: Uuid) -> tokio::task::JoinHandle<()> {
        let db = self.db.clone();
        let worker = self.worker.clone();
        let lease = self.lease;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(lease / 3);
            tick.tick().await;
            loop {
                tick.tick().await;
                let renewed = db
                    .execute_raw(Statement::from_sql_and_values(
                        DbBackend::Postgres,
                        "UPDATE post_targets SET lease_expires_at = now() + make_interval(secs => $3) \
                         WHERE id = $1 AND lease_owner = $2 AND status = 'publishing'",
                        [target_id.into(), worker.clone().into(), lease.as_secs_f64().into()],
                    ))
                    .await;
                if let Err(e) = renewed {
                    tracing::warn!(target = %target_id, error = %e, "couldn't renew the lease");
                }
            }
        })
    }

    /// Everything a publisher needs, loaded fresh at claim time: what goes out is the post as it
    /// is now, not as it was when it was queued.
    async fn publish(
        &self,
        claim: &Claim,
        connection: &connection_rows::Model,
    ) -> Result<Published, Failure> {
        let platform: Platform = connection.platform.parse().map_err(|_| Failure::Gone)?;
        let Some(publisher) = self.connections.registry().publisher(platform) else {
            return Err(Failure::Publish(PublishError::permanent(format!(
                "Publishing to {} isn't available on this Picscripter.",
                platform.display_name()
            ))));
        };
        let request = self.request(&claim.view(), connection, platform).await?;
        let token = match self.connections.access_token_of(connection).await {
            Ok(t) => t,
            Err(e) => return Err(Failure::Token(e)),
        };
        let mut progress = DbProgress::load(
            self.db.clone(),
            claim.id,
            self.worker.clone(),
            claim.progress.clone(),
        );
        match publisher.publish(&token, &request, &mut progress).await {
            Err(PublishError::Auth { .. }) => {
                // One refresh (single-flight across callers), then one more try.
                let seen = crate::security::sha256_hex(token.expose_secret().as_bytes());
                let fresh: SecretString = match self
                    .connections
                    .refresh(connection.id, RefreshReason::Rejected(seen))
                    .await
                {
                    Ok((t, _)) => t,
                    Err(e) => return Err(Failure::Token(e)),
                };
                match publisher.publish(&fresh, &request, &mut progress).await {
                    Err(PublishError::Auth { message, .. }) => {
                        self.connections
                            .mark_rejected(connection.id, &message)
                            .await
                            .map_err(Failure::db)?;
                        Err(Failure::Token(TokenError::NeedsReauth(message)))
                    }
                    other => other.map_err(Failure::Publish),
                }
            }
            other => other.map_err(Failure::Publish),
        }
    }

    async fn request(
        &self,
        target: &TargetView<'_>,
        connection: &connection_rows::Model,
        platform: Platform,
    ) -> Result<PublishRequest, Failure> {
        let options = TargetOptions::from_json(platform, target.options)
            .ok()
            .or_else(|| TargetOptions::default_for(platform))
            .ok_or(Failure::Gone)?;
        let mut options = crate::posts::with_account_defaults(options, connection);
        // The product's links say which network sent the visitor: in the text, and in the
        // link a pin leads to.
        if let (Some(utm), TargetOptions::Pinterest(o)) = (&target.utm, &mut options)
            && let Some(link) = o.link.as_mut()
        {
            *link = crate::domain::utm::tag_links(
                link,
                utm.product_url,
                platform.as_str(),
                utm.campaign,
            );
        }
        let rows = if target.has_media {
            media::Model::find_by_statement(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT m.* FROM post_media pm JOIN media m ON m.id = pm.media_id WHERE pm.post_id = $1 ORDER BY pm.position",
                [target.post_id.into()],
            ))
            .all(&self.db)
            .await
            .map_err(Failure::db)?
        } else {
            Vec::new()
        };
        let mut facts = Vec::with_capacity(rows.len());
        for m in &rows {
            match crate::posts::media_facts(m) {
                Some(f) => facts.push(f),
                None => {
                    return Err(Failure::Publish(PublishError::permanent(format!(
                        "We couldn't read \"{}\" from the library. Upload it again.",
                        m.original_filename
                    ))));
                }
            }
        }
        let caption = target
            .caption
            .filter(|c| !c.trim().is_empty())
            .unwrap_or(target.body);
        let caption = match &target.utm {
            Some(utm) => crate::domain::utm::tag_links(
                caption,
                utm.product_url,
                platform.as_str(),
                utm.campaign,
            ),
            None => caption.to_owned(),
        };
        let context = crate::domain::TargetContext::default();
        let draft = crate::domain::TargetDraft {
            platform,
            caption: &caption,
            media: &facts,
            options: &options,
            context: &context,
        };
        let Some(format) = crate::domain::preflight::format_for(&draft) else {
            return Err(Failure::Publish(PublishError::permanent(
                "We couldn't tell what kind of post this is. Open it, check its media and options, and schedule it again.",
            )));
        };
        let rules = format.rules();
        let mut media_inputs = Vec::with_capacity(rows.len());
        for (m, f) in rows.into_iter().zip(facts) {
            let (key, url, facts) = if rules.needs_jpeg(f.mime()) {
                // The format takes only JPEG: hand over the JPEG rendition, made now so that a
                // platform pulling it gets it at once.
                let key = crate::media::rendition::ensure_jpeg(&self.media, &m).await.map_err(|e| {
                    tracing::warn!(media = %m.id, error = %e, "couldn't make the JPEG rendition");
                    Failure::Publish(PublishError::retryable("We couldn't prepare a JPEG copy of a photo; we'll try again shortly."))
                })?;
                let size = self.media.size(&key).await.map_err(|e| {
                    Failure::Publish(PublishError::retryable(format!(
                        "reading the JPEG copy: {e}"
                    )))
                })?;
                let jpeg = crate::domain::MediaFacts::image(
                    crate::domain::Mime::Jpeg,
                    size,
                    f.width(),
                    f.height(),
                )
                .expect("a JPEG is a photo");
                (
                    key,
                    crate::media::signed::signed_jpeg_url(&self.config, m.id, MEDIA_LINK_TTL),
                    jpeg,
                )
            } else {
                (
                    m.storage_key.clone(),
                    crate::media::signed_url(&self.config, m.id, MEDIA_LINK_TTL),
                    f,
                )
            };
            media_inputs.push(MediaInput {
                loader: Arc::new(StoreLoader {
                    store: self.media.clone(),
                    key,
                    len: facts.size_bytes(),
                }),
                facts,
                alt_text: m.alt_text.clone(),
                url,
            });
        }
        Ok(PublishRequest {
            account_id: connection.account_id.clone(),
            metadata: connection.metadata.clone(),
            caption,
            format,
            options,
            media: media_inputs,
        })
    }

    async fn record_published(
        &self,
        claim: &Claim,
        job_id: Uuid,
        published: Published,
    ) -> Result<Outcome, sea_orm::DbErr> {
        // One statement: the target, the attempt, and the post's status (derived with this
        // target's new status, since a statement doesn't see its own changes).
        self.db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                format!(
                    "WITH t AS ( \
                         UPDATE post_targets SET status = 'published', remote_id = $3, remote_url = $4, published_at = now(), \
                             lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = NULL, last_error = NULL, \
                             last_error_class = NULL, updated_at = now() \
                         WHERE id = $1 AND lease_owner = $2 RETURNING post_id), \
                     j AS (UPDATE jobs SET outcome = 'succeeded', finished_at = now(), details = $6 WHERE id = $5) \
                     {}",
                    post_status_tail()
                ),
                [
                    claim.id.into(),
                    self.worker.clone().into(),
                    published.remote_id.clone().into(),
                    published.remote_url.clone().into(),
                    job_id.into(),
                    json!({ "remote_id": published.remote_id }).into(),
                    "published".into(),
                ],
            ))
            .await?;
        tracing::info!(target = %claim.id, remote_id = %published.remote_id, "published");
        Ok(Outcome::Published)
    }

    async fn record_failure(
        &self,
        claim: &Claim,
        job_id: Uuid,
        failure: Failure,
    ) -> Result<Outcome, sea_orm::DbErr> {
        let (status, class, message, next, http, outcome) = match failure {
            Failure::Db(e) => {
                // Our own database failed mid-way: the lease will expire and the target returns
                // (or becomes unknown if the post was already sent).
                tracing::error!(target = %claim.id, error = %e, "database error while publishing");
                return Err(e);
            }
            Failure::Gone => (
                "cancelled",
                "permanent",
                "The post or its account was removed before it went out.".to_owned(),
                None,
                None,
                Outcome::Failed,
            ),
            Failure::Token(TokenError::NeedsReauth(reason)) => (
                "failed",
                "auth",
                format!(
                    "The account needs reconnecting: {}. Reconnect it under Connections, then retry this post.",
                    reason.trim_end_matches('.')
                ),
                None,
                None,
                Outcome::Failed,
            ),
            Failure::Token(TokenError::NotFound) => (
                "cancelled",
                "permanent",
                "The account was disconnected before the post went out.".to_owned(),
                None,
                None,
                Outcome::Failed,
            ),
            Failure::Token(TokenError::Temporary(m)) => self.retry_or_give_up(claim, m, None, None),
            Failure::Token(TokenError::Db(e)) => return Err(e),
            Failure::Publish(PublishError::Retryable {
                status,
                message,
                retry_after,
            }) => self.retry_or_give_up(claim, message, retry_after, status),
            Failure::Publish(PublishError::Auth { status, message }) => {
                ("failed", "auth", message, None, status, Outcome::Failed)
            }
            Failure::Publish(PublishError::Permanent { status, message }) => (
                "failed",
                "permanent",
                message,
                None,
                status,
                Outcome::Failed,
            ),
            Failure::Publish(PublishError::Unknown { message }) => {
                ("unknown", "unknown", message, None, None, Outcome::Unknown)
            }
        };
        let job_outcome = match outcome {
            Outcome::Retry => "retry",
            Outcome::Unknown => "unknown",
            _ => "failed",
        };
        self.db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                format!(
                    "WITH t AS ( \
                         UPDATE post_targets SET status = $7, last_error_class = $3, last_error = $4, next_attempt_at = $5, \
                             lease_owner = NULL, lease_expires_at = NULL, updated_at = now() \
                         WHERE id = $1 AND lease_owner = $2 RETURNING post_id), \
                     j AS (UPDATE jobs SET outcome = $8, finished_at = now(), http_status = $9, error_class = $3, error_message = $4 \
                           WHERE id = $6) \
                     {}",
                    post_status_tail()
                ),
                [
                    claim.id.into(),
                    self.worker.clone().into(),
                    class.into(),
                    message.clone().into(),
                    next.into(),
                    job_id.into(),
                    status.into(),
                    job_outcome.into(),
                    http.map(i32::from).into(),
                ],
            ))
            .await?;
        tracing::info!(target = %claim.id, status, class, %message, "not published");
        Ok(outcome)
    }

    /// Retries with exponential backoff and jitter (or at the platform's reset time), until
    /// `PUBLISH_MAX_ATTEMPTS`.
    fn retry_or_give_up(
        &self,
        claim: &Claim,
        message: String,
        reset: Option<DateTime<Utc>>,
        status: Option<u16>,
    ) -> (
        &'static str,
        &'static str,
        String,
        Option<DateTime<Utc>>,
        Option<u16>,
        Outcome,
    ) {
        if claim.attempt_count >= self.max_attempts {
            let m = format!(
                "We tried {} times and it kept failing: {message} Retry it when the network is back.",
                claim.attempt_count
            );
            return ("failed", "retryable", m, None, status, Outcome::Failed);
        }
        let exp = 2f64.powi((claim.attempt_count - 1).clamp(0, 10));
        let base = (self.config.publish_retry_base_secs as f64 * exp).min(3600.0);
        let jitter = rand::rng().random_range(0.8..1.2);
        let backoff = Utc::now() + chrono::Duration::milliseconds((base * jitter * 1000.0) as i64);
        // Never before the platform says the limit lifts.
        let next = match reset {
            Some(r) if r > backoff => r,
            _ => backoff,
        };
        (
            "retry_wait",
            "retryable",
            message,
            Some(next),
            status,
            Outcome::Retry,
        )
    }

    /// Asks the platform about targets whose outcome is unknown, where it can tell.
    pub async fn reconcile_unknown(&self, limit: u64) -> Result<u64, sea_orm::DbErr> {
        let candidates = post_targets::Model::find_by_statement(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE post_targets SET progress = progress || jsonb_build_object('reconcile_at', now()::text, \
                 'reconcile_tries', coalesce((progress->>'reconcile_tries')::int, 0) + 1) \
             WHERE id IN (SELECT id FROM post_targets WHERE status = 'unknown' AND progress ? 'sent_at' \
                     AND NOT (progress ? 'reconcile_manual') \
                     AND coalesce((progress->>'reconcile_tries')::int, 0) < 30 \
                     AND (NOT (progress ? 'reconcile_at') OR (progress->>'reconcile_at')::timestamptz < now() - interval '20 seconds') \
                 ORDER BY updated_at LIMIT $1 FOR UPDATE SKIP LOCKED) \
             RETURNING *",
            [(limit as i64).into()],
        ))
        .all(&self.db)
        .await?;
        let mut settled = 0;
        for target in candidates {
            match self.reconcile_one(&target).await {
                Ok(true) => settled += 1,
                Ok(false) => {}
                Err(e) => tracing::warn!(target = %target.id, error = %e, "reconciliation failed"),
            }
        }
        Ok(settled)
    }

    /// The product link and the owner's campaign of a post, for UTM tagging.
    async fn utm_facts(
        &self,
        post: &crate::entities::posts::Model,
    ) -> Result<(Option<String>, String), sea_orm::DbErr> {
        let row = self
            .db
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pr.url, u.utm_campaign FROM users u \
                 LEFT JOIN products pr ON pr.id = $2 AND pr.user_id = u.id WHERE u.id = $1",
                [post.user_id.into(), post.product_id.into()],
            ))
            .await?;
        Ok(match row {
            Some(r) => (
                r.try_get_by_index::<Option<String>>(0).ok().flatten(),
                r.try_get_by_index::<String>(1).unwrap_or_default(),
            ),
            None => (None, String::new()),
        })
    }

    async fn reconcile_one(&self, target: &post_targets::Model) -> Result<bool, sea_orm::DbErr> {
        let Some(connection) = connection_rows::Entity::find_by_id(target.connection_id)
            .one(&self.db)
            .await?
        else {
            return Ok(false);
        };
        let Ok(platform) = connection.platform.parse::<Platform>() else {
            return Ok(false);
        };
        let Some(publisher) = self.connections.registry().publisher(platform) else {
            return Ok(false);
        };
        let Some(post) = crate::entities::posts::Entity::find_by_id(target.post_id)
            .one(&self.db)
            .await?
        else {
            return Ok(false);
        };
        // Reconciliation compares what went out, so it needs the text exactly as it was sent.
        let (product_url, campaign) = self.utm_facts(&post).await?;
        let view = TargetView {
            post_id: target.post_id,
            caption: target.caption.as_deref(),
            options: &target.options,
            body: &post.body,
            has_media: true,
            utm: utm_of(post.utm_enabled, product_url.as_deref(), &campaign),
        };
        let request = match self.request(&view, &connection, platform).await {
            Ok(r) => r,
            Err(Failure::Db(e)) => return Err(e),
            Err(_) => return Ok(false),
        };
        let Ok(token) = self.connections.access_token(connection.id).await else {
            return Ok(false);
        };
        let mut progress = DbProgress::unowned(self.db.clone(), target.id, target.progress.clone());
        let sent_at = target
            .progress
            .get("sent_at")
            .and_then(Value::as_str)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc));
        match publisher.reconcile(&token, &request, &mut progress).await {
            Ok(Reconciled::Published(p)) => {
                self.db
                    .execute_raw(Statement::from_sql_and_values(
                        DbBackend::Postgres,
                        "UPDATE post_targets SET status = 'published', remote_id = $2, remote_url = $3, published_at = now(), \
                             last_error = NULL, last_error_class = NULL, updated_at = now() WHERE id = $1 AND status = 'unknown'",
                        [target.id.into(), p.remote_id.into(), p.remote_url.into()],
                    ))
                    .await?;
                self.refresh_posts(&[target.post_id]).await?;
                Ok(true)
            }
            // Confirmed absent a while after sending: safe to send again.
            Ok(Reconciled::NotPublished)
                if sent_at.is_some_and(|s| Utc::now() - s > chrono::Duration::minutes(2)) =>
            {
                self.db
                    .execute_raw(Statement::from_sql_and_values(
                        DbBackend::Postgres,
                        "UPDATE post_targets SET status = 'retry_wait', next_attempt_at = now(), progress = progress - 'sent_at', \
                             last_error = 'It didn''t go out; sending it again.', last_error_class = 'retryable', updated_at = now() \
                         WHERE id = $1 AND status = 'unknown'",
                        [target.id.into()],
                    ))
                    .await?;
                self.refresh_posts(&[target.post_id]).await?;
                Ok(true)
            }
            Ok(Reconciled::CannotTell) => {
                self.db
                    .execute_raw(Statement::from_sql_and_values(
                        DbBackend::Postgres,
                        "UPDATE post_targets SET progress = progress || '{\"reconcile_manual\": true}'::jsonb WHERE id = $1",
                        [target.id.into()],
                    ))
                    .await?;
                Ok(false)
            }
            Ok(_) => Ok(false),
            Err(e) => {
                tracing::info!(target = %target.id, error = %e, "couldn't reconcile yet");
                Ok(false)
            }
        }
    }
}

fn uuid_array(ids: &[Uuid]) -> DbValue {
    DbValue::Array(
        sea_orm::sea_query::ArrayType::Uuid,
        Some(Box::new(
            ids.iter().map(|i| DbValue::Uuid(Some(*i))).collect(),
        )),
    )
}

/// Stops a background task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Why a publish stopped.
enum Failure {
    Db(sea_orm::DbErr),
    /// The post, target or account disappeared under us.
    Gone,
    Token(TokenError),
    Publish(PublishError),
}

impl Failure {
    fn db(e: sea_orm::DbErr) -> Self {
        Failure::Db(e)
    }
}

/// Reads a medium from the media store.
struct StoreLoader {
    store: MediaStore,
    key: String,
    len: u64,
}

#[async_trait::async_trait]
impl MediaLoader for StoreLoader {
    fn len(&self) -> u64 {
        self.len
    }

    async fn range(&self, start: u64, end_exclusive: u64) -> Result<bytes::Bytes, String> {
        let got = self
            .store
            .get(&self.key, Some(start..end_exclusive))
            .await
            .map_err(|e| format!("reading the file: {e}"))?;
        got.bytes()
            .await
            .map_err(|e| format!("reading the file: {e}"))
    }
}
