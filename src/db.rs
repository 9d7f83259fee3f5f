//! Postgres: connecting, creating the database for `dev`, and applying or checking migrations.

use std::time::Duration;

use anyhow::Context as _;
use migration::{Migrator, MigratorTrait as _};
use sea_orm::{ConnectOptions, ConnectionTrait as _, Database, DatabaseConnection, Statement};
use url::Url;

use crate::config::Config;

/// An arbitrary constant: the advisory lock that makes concurrent `migrate` runs take turns.
const MIGRATION_LOCK: i64 = 0x7069_6373_6372_6970; // "picscrip"

pub async fn connect(config: &Config) -> anyhow::Result<DatabaseConnection> {
    connect_url(config.database_url(), config.database_max_connections).await
}

pub async fn connect_url(url: &str, max_connections: u32) -> anyhow::Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .idle_timeout(Duration::from_secs(300))
        .sqlx_logging(false);
    Database::connect(opts).await.with_context(|| {
        format!(
            "couldn't connect to Postgres at {}. Is it running, and does DATABASE_URL name the right database?",
            redacted(url)
        )
    })
}

/// The URL with any password removed, for messages.
pub fn redacted(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "(unparseable URL)".into(),
    }
}

/// Creates the database named in `url` if it doesn't exist, connecting to the server's
/// `postgres` database to do it.
pub async fn create_database_if_missing(url: &str) -> anyhow::Result<bool> {
    let parsed = Url::parse(url).context("DATABASE_URL is not a URL")?;
    let name = parsed.path().trim_start_matches('/').to_owned();
    anyhow::ensure!(
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
        "DATABASE_URL must name a database made of letters, digits, '-' and '_'"
    );
    let mut admin = parsed.clone();
    admin.set_path("/postgres");
    let db = connect_url(admin.as_str(), 1).await?;
    let exists = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT 1 FROM pg_database WHERE datname = $1",
            [name.clone().into()],
        ))
        .await?
        .is_some();
    if !exists {
        db.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await?;
    }
    db.close().await?;
    Ok(!exists)
}

/// Applies pending migrations; concurrent callers (two `release` phases, `dev` and a test run)
/// take turns on a Postgres advisory lock. The lock is per connection, so this uses a dedicated
/// pool of exactly one connection.
pub async fn migrate(url: &str) -> anyhow::Result<usize> {
    let db = connect_url(url, 1).await?;
    db.execute_unprepared(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
        .await?;
    let result = async {
        let pending = Migrator::get_pending_migrations(&db).await?.len();
        if pending > 0 {
            Migrator::up(&db, None).await?;
        }
        Ok::<_, sea_orm::DbErr>(pending)
    }
    .await;
    db.execute_unprepared(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
        .await?;
    db.close().await?;
    result.context("applying migrations failed")
}

/// Refuses to run against a database that is missing migrations this build knows about.
pub async fn ensure_migrated(db: &DatabaseConnection) -> anyhow::Result<()> {
    let pending = Migrator::get_pending_migrations_read_only(db)
        .await
        .context("couldn't read the migration status of the database")?;
    if !pending.is_empty() {
        anyhow::bail!(
            "The database is not migrated: {} migration{} pending ({}). Run `picscripter migrate` first.",
            pending.len(),
            if pending.len() == 1 { " is" } else { "s are" },
            pending
                .iter()
                .map(|m| m.name().to_owned())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}
