//! Outgoing webhooks: each user's endpoints, the events they receive, and their delivery.
//!
//! Design: a Postgres outbox. Triggers (migration `m20261208_000007_webhooks`) write one
//! `webhook_deliveries` row per subscribed endpoint in the very transaction that makes a target
//! `published`, `failed` or `unknown`, or a connection `needs_reauth` — so no code path can change
//! those statuses without the event, and no event exists for a change that rolled back. The
//! worker's `deliver-webhooks` job ([`crate::jobs::deliver_webhooks`]) claims due rows with
//! `FOR UPDATE SKIP LOCKED` every few seconds, posts them through a [`WebhookTransport`], and
//! records every attempt; failures are retried after 1 min, 5 min, 30 min, 2 h and 6 h, and the
//! sixth failure gives up. Redis plays no part, so a flushed queue loses nothing.
//!
//! Each request is signed: `Picscripter-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret,
//! "<t>.<body>")>` (docs/API.md, "Webhooks").

pub mod transport;

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use hmac::{Hmac, Mac as _};
use rand::RngCore as _;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, FromQueryResult, Statement,
    TransactionTrait as _,
};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Value, json};
use url::Url;
use uuid::Uuid;

use crate::security::cipher::TokenCipher;
pub use transport::{SafeTransport, WebhookTransport};

/// The events a user can subscribe an endpoint to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    PostPublished,
    PostFailed,
    PostUnknown,
    ConnectionNeedsReauth,
}

impl EventType {
    pub const ALL: [EventType; 4] = [
        EventType::PostPublished,
        EventType::PostFailed,
        EventType::PostUnknown,
        EventType::ConnectionNeedsReauth,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::PostPublished => "post.published",
            EventType::PostFailed => "post.failed",
            EventType::PostUnknown => "post.unknown",
            EventType::ConnectionNeedsReauth => "connection.needs_reauth",
        }
    }

    /// What the event means, for the settings page.
    pub fn describe(self) -> &'static str {
        match self {
            EventType::PostPublished => "A post went out on a network",
            EventType::PostFailed => "A post couldn't go out on a network",
            EventType::PostUnknown => "We can't tell whether a post went out",
            EventType::ConnectionNeedsReauth => "An account needs reconnecting",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// The type of the event "Send test" delivers; it is tried once, never retried.
pub const TEST_EVENT: &str = "webhook.test";

/// How long to wait after the n-th failed attempt before the next; after the last, give up.
pub const BACKOFF: [Duration; 5] = [
    Duration::minutes(1),
    Duration::minutes(5),
    Duration::minutes(30),
    Duration::hours(2),
    Duration::hours(6),
];
pub const MAX_ATTEMPTS: i32 = BACKOFF.len() as i32 + 1;
/// The delivery log keeps this many attempts per endpoint.
pub const LOG_LENGTH: i64 = 50;
/// How long a claimed delivery stays with the worker sending it (well over the 10 s timeout).
const CLAIM_SECS: i64 = 120;

/// `v1` of the signature: hex HMAC-SHA256 of `"<t>.<body>"` keyed with the endpoint's secret.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// The `Picscripter-Signature` header value.
pub fn signature_header(secret: &str, timestamp: i64, body: &str) -> String {
    format!("t={timestamp},v1={}", sign(secret, timestamp, body))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new signing secret: `whsec_` and 32 random bytes in hex.
fn new_secret() -> SecretString {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    SecretString::from(format!("whsec_{}", hex(&bytes)))
}

fn secret_aad(endpoint: Uuid) -> String {
    format!("webhook_endpoints:{endpoint}:secret")
}

/// Checks an endpoint URL as typed: absolute, https (or an origin in
/// `OUTBOUND_ALLOW_ORIGINS`), no credentials in it. The message fits next to the field.
pub fn parse_url(input: &str, allowed_origins: &[String]) -> Result<Url, String> {
    let input = input.trim();
    if input.is_empty() {
        return Err("Enter the URL that should receive the events.".into());
    }
    if input.len() > 2000 {
        return Err("That URL is too long (2,000 characters at most).".into());
    }
    let url = Url::parse(input).map_err(|_| {
        "That isn't a full URL. It should look like https://example.com/hooks/picscripter."
            .to_owned()
    })?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err("The URL needs a host name, like https://example.com/hooks.".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "Leave the user name and password out of the URL; we sign every request instead."
                .into(),
        );
    }
    let allowed = allowed_origins.contains(&crate::config::origin_of(&url));
    match url.scheme() {
        "https" => Ok(url),
        "http" if allowed => Ok(url),
        "http" => Err("Use an https:// URL, so the events can't be read on the way.".into()),
        _ => Err("Only https:// URLs can receive webhooks.".into()),
    }
}

/// An endpoint as stored.
#[derive(Clone, Debug, FromQueryResult)]
pub struct Endpoint {
    pub id: Uuid,
    pub user_id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
}

/// One line of an endpoint's delivery log.
#[derive(Clone, Debug, FromQueryResult)]
pub struct LoggedAttempt {
    pub delivery_id: Uuid,
    pub event_type: String,
    pub attempt: i32,
    pub attempted_at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i32,
    pub gave_up: bool,
    /// When the next attempt is due, if this was the latest and another will follow.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// What one attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptResult {
    pub delivered: bool,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub gave_up: bool,
}

/// A claimed delivery with what sending it needs.
#[derive(FromQueryResult)]
struct Due {
    id: Uuid,
    endpoint_id: Uuid,
    event_id: Uuid,
    event_type: String,
    data: Value,
    created_at: DateTime<Utc>,
    attempts: i32,
    url: String,
    secret_enc: Vec<u8>,
}

const ENDPOINT_COLUMNS: &str = "id, user_id, url, events, enabled, created_at";

#[derive(Clone)]
pub struct Webhooks {
    db: DatabaseConnection,
    cipher: TokenCipher,
    transport: Arc<dyn WebhookTransport>,
    allowed_origins: Arc<Vec<String>>,
}

impl Webhooks {
    pub fn new(
        db: DatabaseConnection,
        cipher: TokenCipher,
        transport: Arc<dyn WebhookTransport>,
        allowed_origins: Vec<String>,
    ) -> Self {
        Self {
            db,
            cipher,
            transport,
            allowed_origins: Arc::new(allowed_origins),
        }
    }

    /// Sending through the SSRF-safe fetcher; plain http only to `OUTBOUND_ALLOW_ORIGINS`.
    pub fn from_config(db: DatabaseConnection, config: &crate::config::Config) -> Self {
        Self::new(
            db,
            TokenCipher::new(config.encryption_keys.clone()),
            Arc::new(SafeTransport::new(crate::net::SafeFetch::new(config))),
            config
                .outbound_allow_origins
                .iter()
                .map(crate::config::origin_of)
                .collect(),
        )
    }

    pub fn parse_url(&self, input: &str) -> Result<Url, String> {
        parse_url(input, &self.allowed_origins)
    }

    /// Saves a new endpoint; returns it with its signing secret, which is never shown again.
    pub async fn create(
        &self,
        db: &impl ConnectionTrait,
        user_id: Uuid,
        url: &Url,
        events: &[EventType],
    ) -> Result<(Endpoint, SecretString), sea_orm::DbErr> {
        let id = Uuid::now_v7();
        let secret = new_secret();
        let sealed = self.cipher.encrypt(&secret, &secret_aad(id));
        let names: Vec<String> = events.iter().map(|e| e.as_str().to_owned()).collect();
        let endpoint = Endpoint::find_by_statement(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!(
                "INSERT INTO webhook_endpoints (id, user_id, url, events, secret_enc, key_version) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING {ENDPOINT_COLUMNS}"
            ),
            [
                id.into(),
                user_id.into(),
                url.as_str().into(),
                names.into(),
                sealed.into(),
                (self.cipher.current_version() as i32).into(),
            ],
        ))
        .one(db)
        .await?
        .ok_or_else(|| sea_orm::DbErr::RecordNotInserted)?;
        Ok((endpoint, secret))
    }

    /// The user's endpoints, oldest first.
    pub async fn endpoints_of(&self, user_id: Uuid) -> Result<Vec<Endpoint>, sea_orm::DbErr> {
        Endpoint::find_by_statement(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!(
                "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE user_id = $1 ORDER BY created_at"
            ),
            [user_id.into()],
        ))
        .all(&self.db)
        .await
    }

    /// One of the user's endpoints; `None` for another user's.
    pub async fn endpoint_of(
        &self,
        user_id: Uuid,
        id: Uuid,
    ) -> Result<Option<Endpoint>, sea_orm::DbErr> {
        Endpoint::find_by_statement(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!(
                "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND user_id = $2"
            ),
            [id.into(), user_id.into()],
        ))
        .one(&self.db)
        .await
    }

    /// Switches an endpoint on or off. Switching off drops what was still waiting to go to it,
    /// so switching on later doesn't bring a burst of stale events.
    pub async fn set_enabled(
        &self,
        db: &impl ConnectionTrait,
        endpoint: &Endpoint,
        enabled: bool,
    ) -> Result<(), sea_orm::DbErr> {
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE webhook_endpoints SET enabled = $2, updated_at = now() WHERE id = $1",
            [endpoint.id.into(), enabled.into()],
        ))
        .await?;
        if !enabled {
            db.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "UPDATE webhook_deliveries SET status = 'cancelled', next_attempt_at = NULL \
                 WHERE endpoint_id = $1 AND status = 'pending'",
                [endpoint.id.into()],
            ))
            .await?;
        }
        Ok(())
    }

    /// Deletes an endpoint with its deliveries and log.
    pub async fn delete(
        &self,
        db: &impl ConnectionTrait,
        endpoint: &Endpoint,
    ) -> Result<(), sea_orm::DbErr> {
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "DELETE FROM webhook_endpoints WHERE id = $1",
            [endpoint.id.into()],
        ))
        .await
        .map(|_| ())
    }

    /// The endpoint's latest attempts, newest first.
    pub async fn log_of(&self, endpoint_id: Uuid) -> Result<Vec<LoggedAttempt>, sea_orm::DbErr> {
        LoggedAttempt::find_by_statement(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT a.delivery_id, d.event_type, a.attempt, a.attempted_at, a.status_code, a.error, \
                 a.duration_ms, a.gave_up, \
                 CASE WHEN d.status = 'pending' AND a.attempt = d.attempts THEN d.next_attempt_at END AS next_attempt_at \
             FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id \
             WHERE a.endpoint_id = $1 ORDER BY a.attempted_at DESC, a.attempt DESC LIMIT $2",
            [endpoint_id.into(), LOG_LENGTH.into()],
        ))
        .all(&self.db)
        .await
    }

    /// Sends a `webhook.test` event to the endpoint right now (once, whatever the answer).
    pub async fn send_test(&self, endpoint: &Endpoint) -> Result<AttemptResult, sea_orm::DbErr> {
        let due = Due::find_by_statement(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!(
                "WITH d AS ( \
                     INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, data, next_attempt_at, locked_until) \
                     VALUES ($1, $2, $3, '{TEST_EVENT}', $4, now(), now() + make_interval(secs => {CLAIM_SECS})) \
                     RETURNING *) \
                 SELECT d.id, d.endpoint_id, d.event_id, d.event_type, d.data, d.created_at, d.attempts, e.url, e.secret_enc \
                 FROM d JOIN webhook_endpoints e ON e.id = d.endpoint_id"
            ),
            [
                Uuid::now_v7().into(),
                endpoint.id.into(),
                Uuid::new_v4().into(),
                json!({
                    "message": "A test event from Picscripter: your endpoint is reachable and can check the signature.",
                    "endpoint_id": endpoint.id,
                })
                .into(),
            ],
        ))
        .one(&self.db)
        .await?
        .ok_or(sea_orm::DbErr::RecordNotInserted)?;
        self.deliver(due, Utc::now()).await
    }

    /// Sends every delivery due at `now` (up to `limit`); returns how many were attempted.
    /// Taking `now` lets tests walk the retry schedule without waiting for it.
    #[tracing::instrument(skip(self))]
    pub async fn deliver_due(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<usize, sea_orm::DbErr> {
        let due = Due::find_by_statement(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!(
                "UPDATE webhook_deliveries d SET locked_until = now() + make_interval(secs => {CLAIM_SECS}) \
                 FROM webhook_endpoints e \
                 WHERE e.id = d.endpoint_id AND d.id IN ( \
                     SELECT d2.id FROM webhook_deliveries d2 JOIN webhook_endpoints e2 ON e2.id = d2.endpoint_id \
                     WHERE d2.status = 'pending' AND d2.next_attempt_at <= $1 AND e2.enabled \
                         AND (d2.locked_until IS NULL OR d2.locked_until < now()) \
                     ORDER BY d2.next_attempt_at LIMIT $2 FOR UPDATE OF d2 SKIP LOCKED) \
                 RETURNING d.id, d.endpoint_id, d.event_id, d.event_type, d.data, d.created_at, d.attempts, e.url, e.secret_enc"
            ),
            [now.into(), (limit as i64).into()],
        ))
        .all(&self.db)
        .await?;
        let count = due.len();
        let results =
            futures::future::join_all(due.into_iter().map(|d| self.deliver(d, now))).await;
        for r in results {
            r?;
        }
        Ok(count)
    }

    /// One attempt at a claimed delivery, recorded with the delivery's next step.
    async fn deliver(&self, due: Due, now: DateTime<Utc>) -> Result<AttemptResult, sea_orm::DbErr> {
        let attempt = due.attempts + 1;
        let body = json!({
            "id": due.event_id,
            "type": due.event_type,
            "created_at": due.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            "data": due.data,
        })
        .to_string();
        let started = Instant::now();
        let answer = match self.cipher.decrypt(&due.secret_enc, &secret_aad(due.endpoint_id)) {
            Ok(secret) => {
                let timestamp = Utc::now().timestamp();
                let headers = [
                    (
                        "Picscripter-Signature",
                        signature_header(secret.expose_secret(), timestamp, &body),
                    ),
                    ("Picscripter-Event", due.event_type.clone()),
                    ("Picscripter-Delivery", due.id.to_string()),
                ];
                self.transport.post(&due.url, &headers, &body).await
            }
            Err(_) => Err(
                "The signing secret can't be read (its key is no longer configured). Delete this endpoint and add it again."
                    .to_owned(),
            ),
        };
        let duration_ms = started.elapsed().as_millis().min(i32::MAX as u128) as i32;
        let (status_code, response, error) = match answer {
            Ok((code, text)) => (Some(code), Some(text), None),
            Err(e) => (None, None, Some(e)),
        };
        let delivered = status_code.is_some_and(|c| (200..300).contains(&c));
        let error = match (&error, status_code) {
            (Some(e), _) => Some(e.clone()),
            (None, Some(c)) if !delivered => Some(format!("The endpoint answered {c}.")),
            _ => None,
        };
        let last = attempt >= MAX_ATTEMPTS || due.event_type == TEST_EVENT;
        let gave_up = !delivered && last;
        let (status, next) = if delivered {
            ("delivered", None)
        } else if gave_up {
            ("failed", None)
        } else {
            ("pending", Some(now + BACKOFF[(attempt - 1) as usize]))
        };
        let txn = self.db.begin().await?;
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO webhook_attempts (id, delivery_id, endpoint_id, attempt, status_code, error, response_body, duration_ms, gave_up) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            [
                Uuid::now_v7().into(),
                due.id.into(),
                due.endpoint_id.into(),
                attempt.into(),
                status_code.map(i32::from).into(),
                error.clone().into(),
                response.into(),
                duration_ms.into(),
                gave_up.into(),
            ],
        ))
        .await?;
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE webhook_deliveries SET attempts = $2, status = $3, next_attempt_at = $4, locked_until = NULL WHERE id = $1",
            [due.id.into(), attempt.into(), status.into(), next.into()],
        ))
        .await?;
        // The log keeps the latest attempts; finished deliveries leave with their last line.
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "DELETE FROM webhook_attempts WHERE endpoint_id = $1 AND id NOT IN ( \
                 SELECT id FROM webhook_attempts WHERE endpoint_id = $1 ORDER BY attempted_at DESC, attempt DESC LIMIT $2)",
            [due.endpoint_id.into(), LOG_LENGTH.into()],
        ))
        .await?;
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "DELETE FROM webhook_deliveries d WHERE d.endpoint_id = $1 AND d.status <> 'pending' \
                 AND NOT EXISTS (SELECT 1 FROM webhook_attempts a WHERE a.delivery_id = d.id)",
            [due.endpoint_id.into()],
        ))
        .await?;
        txn.commit().await?;
        if gave_up {
            tracing::warn!(delivery = %due.id, endpoint = %due.endpoint_id, event = %due.event_type, attempt, "webhook delivery gave up");
        } else if !delivered {
            tracing::info!(delivery = %due.id, endpoint = %due.endpoint_id, attempt, ?status_code, "webhook delivery failed; will retry");
        }
        Ok(AttemptResult {
            delivered,
            status_code,
            error,
            gave_up,
        })
    }
}

/// What [`rotate_secrets`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SecretRotation {
    pub rotated: u64,
    /// Secrets no configured key opens: their endpoints are switched off (add them again).
    pub unreadable: u64,
}

/// `picscripter rotate-keys` for webhook secrets: re-seals every secret on an old key under the
/// current one, each row in its own transaction with the row locked, so it can be interrupted
/// and run again.
pub async fn rotate_secrets(
    db: &DatabaseConnection,
    cipher: &TokenCipher,
) -> Result<SecretRotation, sea_orm::DbErr> {
    #[derive(FromQueryResult)]
    struct Sealed {
        id: Uuid,
        secret_enc: Vec<u8>,
    }
    let current = cipher.current_version() as i32;
    let ids: Vec<Uuid> = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT id FROM webhook_endpoints WHERE key_version <> $1 ORDER BY id",
            [current.into()],
        ))
        .await?
        .iter()
        .filter_map(|r| r.try_get_by_index::<Uuid>(0).ok())
        .collect();
    let mut report = SecretRotation::default();
    for id in ids {
        let txn = db.begin().await?;
        let Some(row) = Sealed::find_by_statement(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT id, secret_enc FROM webhook_endpoints WHERE id = $1 AND key_version <> $2 FOR UPDATE",
            [id.into(), current.into()],
        ))
        .one(&txn)
        .await?
        else {
            txn.commit().await?;
            continue;
        };
        match cipher.decrypt(&row.secret_enc, &secret_aad(row.id)) {
            Ok(secret) => {
                txn.execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "UPDATE webhook_endpoints SET secret_enc = $2, key_version = $3, updated_at = now() WHERE id = $1",
                    [
                        row.id.into(),
                        cipher.encrypt(&secret, &secret_aad(row.id)).into(),
                        current.into(),
                    ],
                ))
                .await?;
                report.rotated += 1;
            }
            Err(_) => {
                // Unsignable for good; stop sending rather than fail every delivery.
                txn.execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "UPDATE webhook_endpoints SET enabled = false, updated_at = now() WHERE id = $1",
                    [row.id.into()],
                ))
                .await?;
                report.unreadable += 1;
            }
        }
        txn.commit().await?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body_in_hex() {
        // Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
        assert_eq!(
            signature_header("whsec_test", 1700000000, "{\"a\":1}"),
            "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
        assert_ne!(
            sign("whsec_test", 1700000000, "{\"a\":1}"),
            sign("whsec_test", 1700000001, "{\"a\":1}")
        );
    }

    #[test]
    fn endpoint_urls_must_be_https_unless_their_origin_is_allowed() {
        let allowed = vec!["http://127.0.0.1:9000".to_owned()];
        assert!(parse_url("https://example.com/hooks", &[]).is_ok());
        assert!(parse_url("http://127.0.0.1:9000/hooks", &allowed).is_ok());
        assert!(
            parse_url("http://example.com/hooks", &allowed)
                .unwrap_err()
                .contains("https")
        );
        assert!(
            parse_url("example.com/hooks", &[])
                .unwrap_err()
                .contains("full URL")
        );
        assert!(parse_url("ftp://example.com/", &[]).is_err());
        assert!(
            parse_url("https://user:pw@example.com/", &[])
                .unwrap_err()
                .contains("password")
        );
        assert!(parse_url("   ", &[]).unwrap_err().contains("Enter"));
    }

    #[test]
    fn six_attempts_in_all_with_growing_waits() {
        assert_eq!(MAX_ATTEMPTS, 6);
        assert!(BACKOFF.windows(2).all(|w| w[0] < w[1]));
    }
}
