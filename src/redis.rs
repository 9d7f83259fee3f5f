//! Our Redis client: a `fred` pool that reconnects on its own, with every key under the
//! configured prefix (`REDIS_KEY_PREFIX`) so installs and tests can share one server.
//!
//! Commands time out after two seconds and fail fast while disconnected: Redis being down must
//! make `/readyz` say so, not hang requests.

use std::time::Duration;

use fred::prelude::*;
use fred::types::config::UnresponsiveConfig;

#[derive(Clone)]
pub struct Redis {
    pool: Pool,
    prefix: String,
}

impl Redis {
    /// Builds the pool and starts connecting in the background. Waits up to `wait` for the first
    /// connection; if Redis is not there yet, we carry on and the pool keeps retrying.
    pub async fn connect(url: &str, prefix: &str, wait: Duration) -> anyhow::Result<Self> {
        let mut config = Config::from_url(url)?;
        config.fail_fast = false;
        let pool = Builder::from_config(config)
            .with_connection_config(|c| {
                c.connection_timeout = Duration::from_secs(2);
                c.internal_command_timeout = Duration::from_secs(2);
                c.max_command_attempts = 1;
                c.unresponsive = UnresponsiveConfig {
                    max_timeout: Some(Duration::from_secs(5)),
                    interval: Duration::from_secs(1),
                };
            })
            .with_performance_config(|p| {
                p.default_command_timeout = Duration::from_secs(2);
            })
            .set_policy(ReconnectPolicy::new_exponential(0, 100, 2_000, 2))
            .build_pool(4)?;
        let _handles = pool.connect_pool();
        if tokio::time::timeout(wait, pool.wait_for_connect())
            .await
            .is_err()
        {
            tracing::warn!("Redis is not reachable yet; continuing and retrying in the background");
        }
        Ok(Self {
            pool,
            prefix: prefix.to_owned(),
        })
    }

    /// The underlying pool, for the session store.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub fn key(&self, name: &str) -> String {
        format!("{}{}", self.prefix, name)
    }

    pub async fn ping(&self) -> Result<(), Error> {
        self.pool.next().ping::<String>(None).await.map(|_| ())
    }

    /// `SET key value EX ttl`.
    pub async fn set_ex(&self, name: &str, value: &str, ttl: Duration) -> Result<(), Error> {
        let secs = ttl.as_secs().max(1) as i64;
        self.pool
            .set::<(), _, _>(
                self.key(name),
                value,
                Some(Expiration::EX(secs)),
                None,
                false,
            )
            .await
    }

    pub async fn get(&self, name: &str) -> Result<Option<String>, Error> {
        self.pool.get::<Option<String>, _>(self.key(name)).await
    }

    /// Deletes every key of this install that starts with `name` (all of them for `""`), as a
    /// flushed or replaced Redis would lose them. Returns how many went.
    pub async fn delete_prefixed(&self, name: &str) -> Result<u64, Error> {
        use futures::TryStreamExt as _;
        let client = self.pool.next().clone();
        let pattern = format!("{}*", self.key(name).replace('*', "\\*"));
        let keys: Vec<Key> = client
            .scan_buffered(pattern, Some(500), None)
            .try_collect()
            .await?;
        let mut deleted = 0;
        for chunk in keys.chunks(500) {
            deleted += self.pool.del::<u64, _>(chunk.to_vec()).await?;
        }
        Ok(deleted)
    }

    pub async fn del(&self, name: &str) -> Result<(), Error> {
        self.pool.del::<i64, _>(self.key(name)).await.map(|_| ())
    }

    /// Increments a counter that lives for `window` from its first increment, returning the new
    /// count and the seconds left in the window. The TTL is set atomically with creation, so a
    /// crash between commands can never leave a counter that never expires.
    pub async fn count_in_window(&self, name: &str, window: Duration) -> Result<(i64, i64), Error> {
        let key = self.key(name);
        let secs = window.as_secs().max(1) as i64;
        let _: Option<String> = self
            .pool
            .set(
                &key,
                0,
                Some(Expiration::EX(secs)),
                Some(SetOptions::NX),
                false,
            )
            .await?;
        let count: i64 = self.pool.incr(&key).await?;
        let ttl: i64 = self.pool.ttl(&key).await?;
        Ok((count, ttl.max(0)))
    }

    /// The current count of a window counter and its seconds left (0, 0 when absent).
    pub async fn peek_window(&self, name: &str) -> Result<(i64, i64), Error> {
        let key = self.key(name);
        let count: Option<i64> = self.pool.get(&key).await?;
        match count {
            None => Ok((0, 0)),
            Some(c) => {
                let ttl: i64 = self.pool.ttl(&key).await?;
                Ok((c, ttl.max(0)))
            }
        }
    }
}
