//! Engagement collection gains an early snapshot 5 minutes after publishing, so a seller sees
//! first numbers within minutes: the schedule becomes 5 min, 1 h, 6 h, 24 h, 3 d, 7 d, 30 d
//! (7 steps). Targets already collecting keep their place: k snapshots taken under the old
//! schedule are step k + 1 under the new one.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261208_000005_early_snapshot"
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
ALTER TABLE post_targets DROP CONSTRAINT post_targets_metrics_step_check;
UPDATE post_targets SET metrics_step = metrics_step + 1 WHERE metrics_step > 0;
ALTER TABLE post_targets ADD CONSTRAINT post_targets_metrics_step_check
    CHECK (metrics_step BETWEEN 0 AND 7);
DROP INDEX post_targets_metrics_due_idx;
CREATE INDEX post_targets_metrics_due_idx ON post_targets (published_at)
    WHERE status = 'published' AND metrics_step < 7;
"#;

const DOWN: &str = r#"
DROP INDEX post_targets_metrics_due_idx;
CREATE INDEX post_targets_metrics_due_idx ON post_targets (published_at)
    WHERE status = 'published' AND metrics_step < 6;
ALTER TABLE post_targets DROP CONSTRAINT post_targets_metrics_step_check;
UPDATE post_targets SET metrics_step = metrics_step - 1 WHERE metrics_step > 0;
ALTER TABLE post_targets ADD CONSTRAINT post_targets_metrics_step_check
    CHECK (metrics_step BETWEEN 0 AND 6);
"#;
