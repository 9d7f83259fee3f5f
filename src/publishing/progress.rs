//! `Progress` kept in `post_targets.progress`: every step a publisher records is written at once,
//! and only while this worker still holds the lease (a worker whose lease was taken over must not
//! scribble over its successor's record).

use async_trait::async_trait;
use sea_orm::{ConnectionTrait as _, DatabaseConnection, DbBackend, Statement};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::platforms::publish::{Progress, PublishError};

pub struct DbProgress {
    db: DatabaseConnection,
    target: Uuid,
    /// The lease owner the writes are conditional on; `None` for reconciliation, which works
    /// on targets no worker holds.
    owner: Option<String>,
    state: Map<String, Value>,
}

impl DbProgress {
    pub fn load(db: DatabaseConnection, target: Uuid, owner: String, current: Value) -> Self {
        Self {
            db,
            target,
            owner: Some(owner),
            state: as_map(current),
        }
    }

    pub fn unowned(db: DatabaseConnection, target: Uuid, current: Value) -> Self {
        Self {
            db,
            target,
            owner: None,
            state: as_map(current),
        }
    }

    async fn write(
        &self,
        sql_change: &str,
        extra: Vec<sea_orm::Value>,
    ) -> Result<(), PublishError> {
        let (guard, mut values): (&str, Vec<sea_orm::Value>) = match &self.owner {
            Some(owner) => (
                "AND lease_owner = $2 AND status = 'publishing'",
                vec![self.target.into(), owner.clone().into()],
            ),
            None => (
                "AND $2::text IS NULL",
                vec![self.target.into(), Option::<String>::None.into()],
            ),
        };
        values.extend(extra);
        let sql = format!(
            "UPDATE post_targets SET progress = {sql_change}, updated_at = now() WHERE id = $1 {guard}"
        );
        let done = self.db.execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, values)).await.map_err(|e| {
            tracing::error!(target = %self.target, error = %e, "couldn't record publishing progress");
            PublishError::retryable("We couldn't save our progress; we'll try again shortly.")
        })?;
        if done.rows_affected() == 0 {
            // The lease was lost (this worker was too slow and another took over): stop here.
            return Err(PublishError::retryable(
                "Another worker took over this post.",
            ));
        }
        Ok(())
    }
}

fn as_map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

#[async_trait]
impl Progress for DbProgress {
    fn get(&self, key: &str) -> Option<Value> {
        self.state.get(key).cloned()
    }

    async fn set(&mut self, key: &str, value: Value) -> Result<(), PublishError> {
        self.write(
            "progress || jsonb_build_object($3::text, $4::jsonb)",
            vec![key.to_owned().into(), value.clone().into()],
        )
        .await?;
        self.state.insert(key.to_owned(), value);
        Ok(())
    }

    async fn mark_sent(&mut self) -> Result<(), PublishError> {
        let now = chrono::Utc::now().to_rfc3339();
        self.write(
            "progress || jsonb_build_object('sent_at', $3::text)",
            vec![now.clone().into()],
        )
        .await?;
        self.state.insert("sent_at".into(), Value::String(now));
        Ok(())
    }

    async fn clear_sent(&mut self) -> Result<(), PublishError> {
        self.write("progress - 'sent_at'", vec![]).await?;
        self.state.remove("sent_at");
        Ok(())
    }
}
