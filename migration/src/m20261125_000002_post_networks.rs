//! `posts.networks`: the networks a post goes to, kept by the database itself, so the calendar
//! reads one row per post instead of joining every target and connection of a month.
//!
//! Statement-level triggers with transition tables refresh the posts whose targets were added or
//! removed (a bulk insert of ten thousand targets is one refresh, not ten thousand). A target
//! never changes its connection, so updates need no trigger.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000002_post_networks"
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
ALTER TABLE posts ADD COLUMN networks text[] NOT NULL DEFAULT '{}';

-- Each network once, in the order its first target was added (targets added together keep
-- the order of their ids, which are UUIDv7 and so sort by creation).
CREATE FUNCTION post_networks(post uuid) RETURNS text[] LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(platform ORDER BY first_added, first_id), '{}')
    FROM (SELECT c.platform, min(t.created_at) AS first_added, min(t.id::text) AS first_id
          FROM post_targets t JOIN connections c ON c.id = t.connection_id
          WHERE t.post_id = post GROUP BY c.platform) n
$$;

CREATE FUNCTION posts_refresh_networks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE posts p SET networks = post_networks(p.id)
    WHERE p.id IN (SELECT DISTINCT post_id FROM changed_targets);
    RETURN NULL;
END
$$;

CREATE TRIGGER post_targets_added AFTER INSERT ON post_targets
    REFERENCING NEW TABLE AS changed_targets
    FOR EACH STATEMENT EXECUTE FUNCTION posts_refresh_networks();
CREATE TRIGGER post_targets_removed AFTER DELETE ON post_targets
    REFERENCING OLD TABLE AS changed_targets
    FOR EACH STATEMENT EXECUTE FUNCTION posts_refresh_networks();

UPDATE posts p SET networks = post_networks(p.id);
"#;

const DOWN: &str = r#"
DROP TRIGGER IF EXISTS post_targets_removed ON post_targets;
DROP TRIGGER IF EXISTS post_targets_added ON post_targets;
DROP FUNCTION IF EXISTS posts_refresh_networks();
DROP FUNCTION IF EXISTS post_networks(uuid);
ALTER TABLE posts DROP COLUMN IF EXISTS networks;
"#;
