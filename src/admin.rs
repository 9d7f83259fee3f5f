//! What the administrator can see and do (`/admin`): the installation's status, the audit log,
//! and disabling or enabling accounts.
//!
//! Disabling an account (`users.disabled_at`): it can't log in, its sessions end, its API tokens
//! are refused, and nothing of it is published — the dispatcher and the publish claim skip
//! disabled owners (`crate::publishing`), and targets already queued go back to waiting. Posts
//! already at a platform (`publishing`) finish.
//!
//! Enabling it again: scheduled posts whose time is still ahead go out at that time. A post whose
//! time passed while the account was disabled is **not** published late: its target becomes
//! `failed` with a reason saying so, which puts it in the seller's notifications, where "Try
//! again" publishes it now; or they pick a new time in the calendar.

use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait as _, DatabaseConnection, DbBackend, FromQueryResult, Statement,
    TransactionTrait as _,
};
use serde_json::json;
use uuid::Uuid;

use crate::security::audit::{self, Action};

/// The reason a missed post shows its seller.
pub const MISSED_WHILE_DISABLED: &str = "Not published: its scheduled time passed while your account was disabled. \
     Choose \u{201c}Try again\u{201d} to publish it now, or pick a new time.";

#[derive(Debug, PartialEq, Eq)]
pub enum Change {
    /// The account was already in the asked state.
    Unchanged,
    /// Disabled: how many of its targets were waiting to be published (now paused).
    Disabled { paused: u64 },
    /// Enabled: targets whose time is still ahead, and those that missed their time.
    Enabled { resumed: u64, missed: u64 },
}

#[derive(FromQueryResult)]
struct PostId {
    post_id: Uuid,
}

#[derive(FromQueryResult)]
struct Count {
    n: i64,
}

async fn count(
    db: &impl sea_orm::ConnectionTrait,
    sql: &str,
    user: Uuid,
) -> Result<u64, sea_orm::DbErr> {
    Ok(Count::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        [user.into()],
    ))
    .one(db)
    .await?
    .map_or(0, |c| c.n.max(0) as u64))
}

const WAITING: &str = "SELECT count(*) AS n FROM post_targets t JOIN posts p ON p.id = t.post_id \
     WHERE p.user_id = $1 AND t.status IN ('scheduled', 'retry_wait', 'queued')";

/// Disables `user` (not the admin themself: the caller checks). Ends no sessions: the caller
/// does that after this commits (`web::session::end_sessions`).
pub async fn disable_user(
    db: &DatabaseConnection,
    admin: Uuid,
    ip: std::net::IpAddr,
    user: Uuid,
    email: &str,
) -> Result<Change, sea_orm::DbErr> {
    let txn = db.begin().await?;
    let changed = txn
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE users SET disabled_at = now(), updated_at = now() WHERE id = $1 AND disabled_at IS NULL",
            [user.into()],
        ))
        .await?
        .rows_affected();
    if changed == 0 {
        txn.commit().await?;
        return Ok(Change::Unchanged);
    }
    // Jobs already in Redis for this account find nothing to claim; their targets wait again.
    let posts = PostId::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "WITH t AS ( \
             UPDATE post_targets SET status = CASE WHEN attempt_count > 0 THEN 'retry_wait' ELSE 'scheduled' END, \
                 queued_at = NULL, updated_at = now() \
             WHERE status = 'queued' AND post_id IN (SELECT id FROM posts WHERE user_id = $1) \
             RETURNING post_id) \
         SELECT DISTINCT post_id FROM t",
        [user.into()],
    ))
    .all(&txn)
    .await?;
    for p in posts {
        crate::posts::refresh_status(&txn, p.post_id).await?;
    }
    let paused = count(&txn, WAITING, user).await?;
    audit::record(
        &txn,
        audit::Event::new(Action::UserDisabled)
            .actor(admin)
            .ip(ip)
            .subject(email)
            .details(json!({ "user_id": user, "targets_paused": paused })),
    )
    .await?;
    txn.commit().await?;
    Ok(Change::Disabled { paused })
}

/// Enables `user` again; see the module's documentation for what happens to its posts.
pub async fn enable_user(
    db: &DatabaseConnection,
    admin: Uuid,
    ip: std::net::IpAddr,
    user: Uuid,
    email: &str,
) -> Result<Change, sea_orm::DbErr> {
    let txn = db.begin().await?;
    let changed = txn
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE users SET disabled_at = NULL, updated_at = now() WHERE id = $1 AND disabled_at IS NOT NULL",
            [user.into()],
        ))
        .await?
        .rows_affected();
    if changed == 0 {
        txn.commit().await?;
        return Ok(Change::Unchanged);
    }
    let missed_posts = PostId::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE post_targets SET status = 'failed', next_attempt_at = NULL, queued_at = NULL, \
             last_error = $2, last_error_class = 'permanent', updated_at = now() \
         WHERE status IN ('scheduled', 'retry_wait', 'queued') AND next_attempt_at <= now() \
           AND post_id IN (SELECT id FROM posts WHERE user_id = $1) \
         RETURNING post_id",
        [user.into(), MISSED_WHILE_DISABLED.into()],
    ))
    .all(&txn)
    .await?;
    let missed = missed_posts.len() as u64;
    let mut posts: Vec<Uuid> = missed_posts.into_iter().map(|p| p.post_id).collect();
    posts.sort();
    posts.dedup();
    for p in posts {
        crate::posts::refresh_status(&txn, p).await?;
    }
    let resumed = count(&txn, WAITING, user).await?;
    audit::record(
        &txn,
        audit::Event::new(Action::UserEnabled)
            .actor(admin)
            .ip(ip)
            .subject(email)
            .details(
                json!({ "user_id": user, "targets_resumed": resumed, "targets_missed": missed }),
            ),
    )
    .await?;
    txn.commit().await?;
    Ok(Change::Enabled { resumed, missed })
}

// ---- the audit log ----

/// What the audit viewer filters on; `from` and `to` are instants already (the admin's dates
/// converted from their zone), `to` exclusive.
#[derive(Default, Debug)]
pub struct AuditFilter {
    pub email: Option<String>,
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

#[derive(FromQueryResult, Debug)]
pub struct AuditRow {
    pub occurred_at: DateTime<Utc>,
    pub actor_email: Option<String>,
    pub actor_user_id: Option<Uuid>,
    pub action: String,
    pub ip: Option<String>,
    pub subject: Option<String>,
    pub details: serde_json::Value,
}

/// One page of events matching `filter`, newest first, and whether there is a next page.
pub async fn audit_page(
    db: &DatabaseConnection,
    filter: &AuditFilter,
    page: u64,
    per_page: u64,
) -> Result<(Vec<AuditRow>, bool), sea_orm::DbErr> {
    let mut conditions: Vec<String> = Vec::new();
    let mut values: Vec<sea_orm::Value> = Vec::new();
    if let Some(email) = &filter.email {
        values.push(email.to_lowercase().into());
        let n = values.len();
        // The actor's address, or the address typed at a login that matched no account.
        conditions.push(format!(
            "(lower(u.email) = ${n} OR (a.actor_user_id IS NULL AND lower(a.subject) = ${n}))"
        ));
    }
    if let Some(action) = &filter.action {
        values.push(action.clone().into());
        conditions.push(format!("a.action = ${}", values.len()));
    }
    if let Some(from) = filter.from {
        values.push(from.into());
        conditions.push(format!("a.occurred_at >= ${}", values.len()));
    }
    if let Some(to) = filter.to {
        values.push(to.into());
        conditions.push(format!("a.occurred_at < ${}", values.len()));
    }
    let filter_sql = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    values.push(((per_page + 1) as i64).into());
    let limit = values.len();
    values.push(((page.saturating_sub(1) * per_page) as i64).into());
    let offset = values.len();
    let mut rows = AuditRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "SELECT a.occurred_at, u.email AS actor_email, a.actor_user_id, a.action, a.ip, a.subject, a.details \
             FROM audit_events a LEFT JOIN users u ON u.id = a.actor_user_id {filter_sql} \
             ORDER BY a.occurred_at DESC, a.id DESC LIMIT ${limit} OFFSET ${offset}"
        ),
        values,
    ))
    .all(db)
    .await?;
    let more = rows.len() as u64 > per_page;
    rows.truncate(per_page as usize);
    Ok((rows, more))
}

// ---- users ----

#[derive(FromQueryResult, Debug)]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub posts: i64,
}

/// One page of accounts, newest first, and whether there is a next page.
pub async fn users_page(
    db: &DatabaseConnection,
    page: u64,
    per_page: u64,
) -> Result<(Vec<UserRow>, bool), sea_orm::DbErr> {
    let mut rows = UserRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT u.id, u.email, u.created_at, u.last_login_at, u.disabled_at, \
             (SELECT count(*) FROM posts p WHERE p.user_id = u.id) AS posts \
         FROM users u ORDER BY u.created_at DESC, u.id DESC LIMIT $1 OFFSET $2",
        [
            ((per_page + 1) as i64).into(),
            ((page.saturating_sub(1) * per_page) as i64).into(),
        ],
    ))
    .all(db)
    .await?;
    let more = rows.len() as u64 > per_page;
    rows.truncate(per_page as usize);
    Ok((rows, more))
}

// ---- system status ----

#[derive(FromQueryResult, Debug, Default)]
pub struct Counts {
    /// Targets in `queued` (handed to the queue, not yet claimed by a worker).
    pub queued: i64,
    pub unknown: i64,
    pub failed: i64,
    pub needs_reauth: i64,
    /// The oldest due time of a target due and not yet claimed (accounts not disabled).
    pub oldest_due: Option<DateTime<Utc>>,
}

pub async fn counts(db: &DatabaseConnection) -> Result<Counts, sea_orm::DbErr> {
    Ok(Counts::find_by_statement(Statement::from_string(
        DbBackend::Postgres,
        "SELECT \
             (SELECT count(*) FROM post_targets WHERE status = 'queued') AS queued, \
             (SELECT count(*) FROM post_targets WHERE status = 'unknown') AS unknown, \
             (SELECT count(*) FROM post_targets WHERE status = 'failed') AS failed, \
             (SELECT count(*) FROM connections WHERE status = 'needs_reauth') AS needs_reauth, \
             (SELECT min(t.next_attempt_at) FROM post_targets t JOIN posts p ON p.id = t.post_id \
                  JOIN users u ON u.id = p.user_id \
              WHERE t.status IN ('scheduled', 'retry_wait', 'queued') AND t.next_attempt_at <= now() \
                AND u.disabled_at IS NULL) AS oldest_due",
    ))
    .one(db)
    .await?
    .unwrap_or_default())
}

#[derive(FromQueryResult, Debug)]
pub struct TargetRow {
    pub target_id: Uuid,
    pub post_id: Uuid,
    pub email: String,
    pub platform: String,
    pub status: String,
    pub last_error: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// The most recently changed targets in `status` (`unknown` or `failed`).
pub async fn targets_in(
    db: &DatabaseConnection,
    status: &str,
    limit: u64,
) -> Result<Vec<TargetRow>, sea_orm::DbErr> {
    TargetRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT t.id AS target_id, t.post_id, u.email, c.platform, t.status, t.last_error, t.updated_at \
         FROM post_targets t JOIN posts p ON p.id = t.post_id JOIN users u ON u.id = p.user_id \
             JOIN connections c ON c.id = t.connection_id \
         WHERE t.status = $1 ORDER BY t.updated_at DESC LIMIT $2",
        [status.into(), (limit as i64).into()],
    ))
    .all(db)
    .await
}

/// Publish jobs waiting in Redis: the length of the apalis list `{REDIS_KEY_PREFIX}publish:active`
/// plus its delayed set `…publish:scheduled` (jobs a worker has taken are not counted).
pub async fn queue_depth(redis: &crate::redis::Redis) -> Result<i64, fred::error::Error> {
    use fred::prelude::*;
    let waiting: i64 = redis.pool().llen(redis.key("publish:active")).await?;
    let delayed: i64 = redis.pool().zcard(redis.key("publish:scheduled")).await?;
    Ok(waiting + delayed)
}

/// Workers whose heartbeat is still remembered (`worker:alive:{id}`), with their last beat.
pub async fn workers(
    redis: &crate::redis::Redis,
) -> Result<Vec<(String, DateTime<Utc>)>, fred::error::Error> {
    use fred::prelude::*;
    use futures::TryStreamExt as _;
    let prefix = redis.key("worker:alive:");
    let client = redis.pool().next().clone();
    let keys: Vec<Key> = client
        .scan_buffered(format!("{}*", prefix.replace('*', "\\*")), Some(200), None)
        .try_collect()
        .await?;
    let mut out = Vec::new();
    for key in keys {
        let Some(name) = key.as_str().map(str::to_owned) else {
            continue;
        };
        let beat: Option<String> = redis.pool().get(&key).await?;
        let Some(ms) = beat.and_then(|b| b.parse::<i64>().ok()) else {
            continue;
        };
        if let Some(at) = DateTime::from_timestamp_millis(ms) {
            out.push((name[prefix.len()..].to_owned(), at));
        }
    }
    out.sort_by_key(|w| std::cmp::Reverse(w.1));
    Ok(out)
}
