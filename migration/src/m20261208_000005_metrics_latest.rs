//! Engagement collection gains an early snapshot 5 minutes after publishing, so a seller sees
//! first numbers within minutes: the schedule becomes 5 min, 1 h, 6 h, 24 h, 3 d, 7 d, 30 d
//! (7 steps). Targets already collecting keep their place: k snapshots taken under the old
//! schedule are step k + 1 under the new one.
//!
//! Each target also keeps its latest snapshot's engagement (likes, reposts, replies, quotes,
//! saves and clicks together; NULL when the network gave none of them) and impressions, kept by
//! a trigger on `post_metrics`, so the dashboards rank posts and products and build the heat
//! map without reading every snapshot.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261208_000005_metrics_latest"
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

ALTER TABLE post_targets
    ADD COLUMN metrics_at timestamptz,
    ADD COLUMN metrics_engagement bigint,
    ADD COLUMN metrics_impressions bigint;

CREATE FUNCTION post_metrics_latest() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE post_targets SET
        metrics_at = NEW.captured_at,
        metrics_engagement = CASE
            WHEN num_nonnulls(NEW.likes, NEW.reposts, NEW.replies, NEW.quotes, NEW.saves, NEW.clicks) = 0
                THEN NULL
            ELSE coalesce(NEW.likes, 0) + coalesce(NEW.reposts, 0) + coalesce(NEW.replies, 0)
                 + coalesce(NEW.quotes, 0) + coalesce(NEW.saves, 0) + coalesce(NEW.clicks, 0)
        END,
        metrics_impressions = NEW.impressions
    WHERE id = NEW.target_id AND (metrics_at IS NULL OR metrics_at <= NEW.captured_at);
    RETURN NULL;
END
$$;

CREATE TRIGGER post_metrics_latest AFTER INSERT ON post_metrics
    FOR EACH ROW EXECUTE FUNCTION post_metrics_latest();

-- What the dashboards and the heat map read of published targets, without the wide rows.
CREATE INDEX post_targets_published_metrics_idx ON post_targets (published_at)
    INCLUDE (post_id, connection_id, metrics_at, metrics_engagement, metrics_impressions)
    WHERE status = 'published';

UPDATE post_targets t SET
    metrics_at = m.captured_at,
    metrics_engagement = CASE
        WHEN num_nonnulls(m.likes, m.reposts, m.replies, m.quotes, m.saves, m.clicks) = 0 THEN NULL
        ELSE coalesce(m.likes, 0) + coalesce(m.reposts, 0) + coalesce(m.replies, 0)
             + coalesce(m.quotes, 0) + coalesce(m.saves, 0) + coalesce(m.clicks, 0)
    END,
    metrics_impressions = m.impressions
FROM (SELECT DISTINCT ON (target_id) * FROM post_metrics ORDER BY target_id, captured_at DESC) m
WHERE m.target_id = t.id;
"#;

const DOWN: &str = r#"
DROP INDEX post_targets_published_metrics_idx;
DROP TRIGGER post_metrics_latest ON post_metrics;
DROP FUNCTION post_metrics_latest();
ALTER TABLE post_targets
    DROP COLUMN metrics_at,
    DROP COLUMN metrics_engagement,
    DROP COLUMN metrics_impressions;
DROP INDEX post_targets_metrics_due_idx;
CREATE INDEX post_targets_metrics_due_idx ON post_targets (published_at)
    WHERE status = 'published' AND metrics_step < 6;
ALTER TABLE post_targets DROP CONSTRAINT post_targets_metrics_step_check;
UPDATE post_targets SET metrics_step = metrics_step - 1 WHERE metrics_step > 0;
ALTER TABLE post_targets ADD CONSTRAINT post_targets_metrics_step_check
    CHECK (metrics_step BETWEEN 0 AND 6);
"#;
