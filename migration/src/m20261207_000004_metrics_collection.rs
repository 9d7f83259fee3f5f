//! Engagement collection: where each published target is in its snapshot schedule (1 h, 6 h,
//! 24 h, 3 d, 7 d, 30 d after publishing) and when it may next be asked about (a claim by a
//! worker, a platform's rate-limit reset, or "not yet available").

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000004_metrics_collection"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared(UP).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared(DOWN).await?;
        Ok(())
    }
}

const UP: &str = r#"
-- How many snapshots of the schedule are behind the target (6 = done).
ALTER TABLE post_targets ADD COLUMN metrics_step smallint NOT NULL DEFAULT 0
    CHECK (metrics_step BETWEEN 0 AND 6);
-- Not to be asked about before this (claimed by a worker, rate limited, not yet available).
ALTER TABLE post_targets ADD COLUMN metrics_retry_at timestamptz;
-- The published targets still collecting, oldest first: what a collection tick scans.
CREATE INDEX post_targets_metrics_due_idx ON post_targets (published_at)
    WHERE status = 'published' AND metrics_step < 6;
-- One snapshot per target per moment; the dashboards read them by target and time.
CREATE UNIQUE INDEX post_metrics_target_captured_idx ON post_metrics (target_id, captured_at);
DROP INDEX post_metrics_target_idx;
"#;

const DOWN: &str = r#"
CREATE INDEX post_metrics_target_idx ON post_metrics (target_id, captured_at);
DROP INDEX post_metrics_target_captured_idx;
DROP INDEX post_targets_metrics_due_idx;
ALTER TABLE post_targets DROP COLUMN metrics_retry_at;
ALTER TABLE post_targets DROP COLUMN metrics_step;
"#;
