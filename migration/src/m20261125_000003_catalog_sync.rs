//! Catalog sync: a row per sync of a shop (its checkpoint, lease and progress), what a product
//! needs for cheap change detection and removal marking, product search, and UTM tagging of the
//! product links in posts.
//!
//! At most one sync of a connection is queued or running at a time: a partial unique index says
//! so, and the worker holds a sync by a lease it renews page by page, so a sync whose worker died
//! is taken over (from its last checkpoint) once the lease runs out.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000003_catalog_sync"
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
CREATE TABLE catalog_syncs (
    id                  uuid PRIMARY KEY,
    user_id             uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    connection_id       uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    -- full: every product is read and those not seen are marked removed;
    -- changes: only what changed since `updated_since`, where the platform can filter.
    mode                text NOT NULL CHECK (mode IN ('full', 'changes')),
    trigger             text NOT NULL CHECK (trigger IN ('connect', 'manual', 'schedule', 'api')),
    status              text NOT NULL DEFAULT 'queued'
                            CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    updated_since       timestamptz,
    -- Where the next page starts (a serialized PageCursor); NULL: the first page.
    checkpoint          jsonb,
    pages               integer NOT NULL DEFAULT 0,
    -- How many products the shop says it has, when it says (NULL: unknown).
    total               integer,
    processed           integer NOT NULL DEFAULT 0,
    created             integer NOT NULL DEFAULT 0,
    updated             integer NOT NULL DEFAULT 0,
    unchanged           integer NOT NULL DEFAULT 0,
    removed             integer NOT NULL DEFAULT 0,
    skipped             integer NOT NULL DEFAULT 0,
    -- Why the sync is waiting (throttled) or failed, in words for the seller.
    note                text,
    error               text,
    attempts            integer NOT NULL DEFAULT 0,
    worker              text,
    lease_until         timestamptz,
    started_at          timestamptz,
    finished_at         timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX catalog_syncs_one_active_key ON catalog_syncs (connection_id)
    WHERE status IN ('queued', 'running');
CREATE INDEX catalog_syncs_connection_idx ON catalog_syncs (connection_id, created_at DESC);

ALTER TABLE products DROP CONSTRAINT products_status_check;
ALTER TABLE products ADD CONSTRAINT products_status_check
    CHECK (status IN ('active', 'draft', 'archived', 'hidden', 'sold_out', 'expired', 'other',
                      'removed'));
-- The platform's own word for a status we don't know.
ALTER TABLE products ADD COLUMN remote_status text;
-- A hash of everything stored from the shop: an unchanged product is not rewritten.
ALTER TABLE products ADD COLUMN fingerprint text NOT NULL DEFAULT '';
-- The last full sync that saw the product; one that didn't is gone from the shop.
ALTER TABLE products ADD COLUMN seen_by_sync uuid;

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX products_search_idx ON products USING gin (lower(title) gin_trgm_ops);
-- Search also matches a whole tag (any case) or the shop's own id, through their own indexes,
-- so the planner can OR the three instead of reading every product.
CREATE FUNCTION lower_tags(tags text[]) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(lower(t)), '{}') FROM unnest(tags) t
$$;
CREATE INDEX products_tags_idx ON products USING gin (lower_tags(tags));
CREATE INDEX products_external_idx ON products (external_id);
CREATE INDEX products_connection_idx ON products (connection_id, status);
CREATE INDEX posts_product_idx ON posts (product_id) WHERE product_id IS NOT NULL;

-- Product links in a post get utm_source/utm_medium/utm_campaign unless switched off.
ALTER TABLE posts ADD COLUMN utm_enabled boolean NOT NULL DEFAULT true;
ALTER TABLE users ADD COLUMN utm_campaign text NOT NULL DEFAULT 'picscripter'
    CHECK (char_length(utm_campaign) BETWEEN 1 AND 100);
"#;

const DOWN: &str = r#"
ALTER TABLE users DROP COLUMN IF EXISTS utm_campaign;
ALTER TABLE posts DROP COLUMN IF EXISTS utm_enabled;
DROP INDEX IF EXISTS posts_product_idx;
DROP INDEX IF EXISTS products_connection_idx;
DROP INDEX IF EXISTS products_search_idx;
DROP INDEX IF EXISTS products_tags_idx;
DROP INDEX IF EXISTS products_external_idx;
DROP FUNCTION IF EXISTS lower_tags(text[]);
ALTER TABLE products DROP COLUMN IF EXISTS seen_by_sync;
ALTER TABLE products DROP COLUMN IF EXISTS fingerprint;
ALTER TABLE products DROP COLUMN IF EXISTS remote_status;
UPDATE products SET status = 'archived' WHERE status IN ('hidden', 'sold_out', 'expired', 'other');
ALTER TABLE products DROP CONSTRAINT products_status_check;
ALTER TABLE products ADD CONSTRAINT products_status_check
    CHECK (status IN ('active', 'draft', 'archived', 'removed'));
DROP TABLE IF EXISTS catalog_syncs;
"#;
