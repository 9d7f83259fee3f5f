//! `AppState`: what every handler can reach. Cheap to clone; nothing in it is authoritative
//! (sessions live in Redis, everything else in Postgres), so any number of web processes can run.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::config::Config;
use crate::connections::Connections;
use crate::media::MediaStore;
use crate::platforms::Registry;
use crate::redis::Redis;
use crate::security::cipher::TokenCipher;
use crate::security::passwords::Passwords;
use crate::web::assets::Assets;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: DatabaseConnection,
    pub redis: Redis,
    pub passwords: Passwords,
    pub assets: Arc<Assets>,
    pub connections: Connections,
    /// Where uploaded media lives, and the upload limits.
    pub media: MediaStore,
    /// The Content-Security-Policy header value, computed once.
    pub csp: Arc<str>,
    /// Where catalog syncs are queued for the worker.
    pub sync_queue: crate::jobs::sync_catalog::Enqueuer,
    /// The AI Studio: which provider writes, and its per-user allowance.
    pub studio: crate::studio::Studio,
    /// Fetches addresses users (or their shops) chose, refusing any that point inside.
    pub outbound: crate::net::SafeFetch,
    /// Users' webhook endpoints, and sending to them ("Send test").
    pub webhooks: crate::webhooks::Webhooks,
}

impl AppState {
    pub async fn new(config: Config) -> anyhow::Result<Self> {
        let db = crate::db::connect(&config).await?;
        crate::db::ensure_migrated(&db).await?;
        let redis = Redis::connect(
            config.redis_url(),
            &config.redis_key_prefix,
            std::time::Duration::from_secs(3),
        )
        .await?;
        let passwords = Passwords::new().await?;
        let extra: Vec<String> = config
            .sandbox_url
            .iter()
            .map(crate::config::origin_of)
            .collect();
        let csp = crate::security::headers::content_security_policy(&extra).into();
        let media = MediaStore::from_config(&config)?;
        let sync_queue =
            crate::jobs::sync_catalog::Enqueuer::new(config.redis_url(), &config.redis_key_prefix);
        let studio = crate::studio::Studio::from_config(&config);
        let outbound = crate::net::SafeFetch::new(&config);
        let webhooks = crate::webhooks::Webhooks::from_config(db.clone(), &config);
        let config = Arc::new(config);
        let connections = Connections::new(
            db.clone(),
            TokenCipher::new(config.encryption_keys.clone()),
            Registry::new(config.clone()),
        );
        Ok(Self {
            config,
            db,
            redis,
            passwords,
            assets: Arc::new(Assets::load()),
            connections,
            media,
            csp,
            sync_queue,
            studio,
            outbound,
            webhooks,
        })
    }
}
