//! The session store: tower-sessions records in Redis under our key prefix.
//!
//! Written here rather than taken from `tower-sessions-redis-store` because that crate's
//! current release is built against an older tower-sessions, and because we want the prefix
//! (`REDIS_KEY_PREFIX`) on session keys like on every other key we write. Each record is one
//! JSON value that Redis expires at the session's expiry date, so nothing needs sweeping.
//!
//! A logged-in session's id is also listed in its user's set, `sessions:user:{user id}`, so all
//! of a user's sessions can be ended at once ([`RedisSessionStore::end_user_sessions`]). The set
//! lives as long as the newest session written into it; ids of sessions that expired on their
//! own are dropped from it when it is next read.

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

    fn user_key(&self, user_id: &str) -> String {
        self.redis.key(&format!("sessions:user:{user_id}"))
    }

    /// Ends every session of `user_id` except `keep`: their records go, so their next request
    /// is anonymous. Returns how many sessions were ended.
    pub async fn end_user_sessions(
        &self,
        user_id: uuid::Uuid,
        keep: Option<&Id>,
    ) -> Result<usize, fred::error::Error> {
        let set = self.user_key(&user_id.to_string());
        let members: Vec<String> = self.redis.pool().smembers(&set).await?;
        let keep = keep.map(ToString::to_string);
        let mut ended = 0;
        for member in members {
            if keep.as_deref() == Some(member.as_str()) {
                continue;
            }
            let deleted: i64 = self
                .redis
                .pool()
                .del(self.redis.key(&format!("session:{member}")))
                .await?;
            // A member whose record is gone had expired already: only tidied up, not counted.
            ended += deleted as usize;
            self.redis.pool().srem::<i64, _, _>(&set, member).await?;
        }
        Ok(ended)
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
        if reply.is_some()
            && let Some(user) = user_of(record)
        {
            let set = self.user_key(&user);
            let pool = self.redis.pool();
            pool.sadd::<i64, _, _>(&set, record.id.to_string())
                .await
                .map_err(backend)?;
            // The set outlives every session in it: its expiry only ever moves later.
            pool.expire_at::<i64, _>(
                &set,
                record.expiry_date.unix_timestamp(),
                Some(fred::types::ExpireOptions::GT),
            )
            .await
            .map_err(backend)?;
            pool.expire_at::<i64, _>(
                &set,
                record.expiry_date.unix_timestamp(),
                Some(fred::types::ExpireOptions::NX),
            )
            .await
            .map_err(backend)?;
        }
        Ok(reply.is_some())
    }
}

/// The logged-in user of a session record (`auth.user_id`, see `web::session`), if any.
fn user_of(record: &Record) -> Option<String> {
    record
        .data
        .get("auth")?
        .get("user_id")?
        .as_str()
        .map(str::to_owned)
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
        // Read whose it was, so the id also leaves its user's set.
        let user = self.load(id).await.ok().flatten().and_then(|r| user_of(&r));
        self.redis
            .pool()
            .del::<i64, _>(self.key(id))
            .await
            .map_err(backend)?;
        if let Some(user) = user {
            self.redis
                .pool()
                .srem::<i64, _, _>(self.user_key(&user), id.to_string())
                .await
                .map_err(backend)?;
        }
        Ok(())
    }
}
