//! The session store: tower-sessions records in Redis under our key prefix.
//!
//! Written here rather than taken from `tower-sessions-redis-store` because that crate's
//! current release is built against an older tower-sessions, and because we want the prefix
//! (`REDIS_KEY_PREFIX`) on session keys like on every other key we write. Each record is one
//! JSON value that Redis expires at the session's expiry date, so nothing needs sweeping.

use async_trait::async_trait;
use fred::prelude::*;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use crate::redis::Redis;

#[derive(Clone)]
pub struct RedisSessionStore {
    redis: Redis,
}

impl std::fmt::Debug for RedisSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisSessionStore")
    }
}

impl RedisSessionStore {
    pub fn new(redis: Redis) -> Self {
        Self { redis }
    }

    fn key(&self, id: &Id) -> String {
        self.redis.key(&format!("session:{id}"))
    }

    async fn write(&self, record: &Record, only_if_new: bool) -> session_store::Result<bool> {
        let json = serde_json::to_string(record)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?;
        let expire = Expiration::EXAT(record.expiry_date.unix_timestamp());
        let options = only_if_new.then_some(SetOptions::NX);
        let reply: Option<String> = self
            .redis
            .pool()
            .set(self.key(&record.id), json, Some(expire), options, false)
            .await
            .map_err(backend)?;
        // SET answers OK when it wrote and nil when NX found the key taken.
        Ok(reply.is_some())
    }
}

fn backend(e: fred::error::Error) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

#[async_trait]
impl SessionStore for RedisSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // 128-bit random ids practically never collide; if one does, draw another.
        while !self.write(record, true).await? {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.write(record, false).await.map(|_| ())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let raw: Option<String> = self.redis.pool().get(self.key(id)).await.map_err(backend)?;
        raw.map(|r| {
            serde_json::from_str(&r).map_err(|e| session_store::Error::Decode(e.to_string()))
        })
        .transpose()
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.redis
            .pool()
            .del::<i64, _>(self.key(id))
            .await
            .map_err(backend)?;
        Ok(())
    }
}
