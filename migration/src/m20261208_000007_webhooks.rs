//! Outgoing webhooks: each user's endpoints (the signing secret sealed with the token cipher),
//! the outbox of deliveries, and every attempt at one.
//!
//! Events are written by triggers in the transaction that changes the state they describe: a
//! target becoming `published`, `failed` or `unknown`, a connection becoming `needs_reauth`.
//! Every path that changes those statuses (the publisher, lease expiry, reconciliation, token
//! refresh, a platform refusing a token) is covered, an event is never written for a change that
//! rolled back, and none is lost if the process dies after committing. The worker polls the
//! outbox (`webhook_deliveries` with `status = 'pending'`) and records each attempt.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261208_000007_webhooks"
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
CREATE TABLE webhook_endpoints (
    id                  uuid PRIMARY KEY,
    user_id             uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    url                 text NOT NULL,
    events              text[] NOT NULL CHECK (cardinality(events) > 0 AND events <@ ARRAY[
                            'post.published', 'post.failed', 'post.unknown',
                            'connection.needs_reauth']::text[]),
    -- AES-256-GCM, bound to `webhook_endpoints:{id}:secret`; the key version beside it.
    secret_enc          bytea NOT NULL,
    key_version         integer NOT NULL,
    enabled             boolean NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_user_idx ON webhook_endpoints (user_id, created_at);

-- The outbox: one row per event and endpoint. `id` is the Picscripter-Delivery header, the same
-- on every retry; `event_id` is the body's `id`, the same for every endpoint.
CREATE TABLE webhook_deliveries (
    id                  uuid PRIMARY KEY,
    endpoint_id         uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id            uuid NOT NULL,
    event_type          text NOT NULL,
    data                jsonb NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    status              text NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'delivered', 'failed', 'cancelled')),
    attempts            integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at     timestamptz,
    -- Set while a worker is sending it, so two workers never send the same attempt.
    locked_until        timestamptz
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, status);

-- The delivery log: each attempt, with at most 1 kB of what the receiver answered.
CREATE TABLE webhook_attempts (
    id                  uuid PRIMARY KEY,
    delivery_id         uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    endpoint_id         uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    attempt             integer NOT NULL CHECK (attempt > 0),
    attempted_at        timestamptz NOT NULL DEFAULT now(),
    status_code         integer,
    error               text,
    response_body       text CHECK (octet_length(response_body) <= 1024),
    duration_ms         integer NOT NULL CHECK (duration_ms >= 0),
    -- This was the last attempt: the delivery failed for good.
    gave_up             boolean NOT NULL DEFAULT false
);
CREATE INDEX webhook_attempts_endpoint_idx ON webhook_attempts (endpoint_id, attempted_at DESC);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id);

-- Queues `data` as event `kind` for each of `owner`'s enabled endpoints that asked for it.
CREATE FUNCTION webhook_emit(owner uuid, kind text, data jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    event uuid := gen_random_uuid();
BEGIN
    INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, data, next_attempt_at)
    SELECT gen_random_uuid(), e.id, event, kind, data, now()
    FROM webhook_endpoints e
    WHERE e.user_id = owner AND e.enabled AND kind = ANY (e.events);
END
$$;

CREATE FUNCTION post_targets_webhook() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    owner uuid;
    conn record;
BEGIN
    SELECT user_id INTO owner FROM posts WHERE id = NEW.post_id;
    SELECT platform, display_name INTO conn FROM connections WHERE id = NEW.connection_id;
    PERFORM webhook_emit(owner, 'post.' || NEW.status, jsonb_build_object(
        'post_id', NEW.post_id,
        'target_id', NEW.id,
        'connection_id', NEW.connection_id,
        'platform', conn.platform,
        'account', conn.display_name,
        'status', NEW.status,
        'remote_id', NEW.remote_id,
        'remote_url', NEW.remote_url,
        'published_at', NEW.published_at,
        'error', NEW.last_error,
        'error_class', NEW.last_error_class,
        'attempts', NEW.attempt_count));
    RETURN NULL;
END
$$;
CREATE TRIGGER post_targets_webhook AFTER UPDATE OF status ON post_targets
    FOR EACH ROW
    WHEN (NEW.status IN ('published', 'failed', 'unknown') AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION post_targets_webhook();

CREATE FUNCTION connections_webhook() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM webhook_emit(NEW.user_id, 'connection.needs_reauth', jsonb_build_object(
        'connection_id', NEW.id,
        'platform', NEW.platform,
        'account', NEW.display_name,
        'reason', NEW.last_error));
    RETURN NULL;
END
$$;
CREATE TRIGGER connections_webhook AFTER UPDATE OF status ON connections
    FOR EACH ROW
    WHEN (NEW.status = 'needs_reauth' AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION connections_webhook();
"#;

const DOWN: &str = r#"
DROP TRIGGER IF EXISTS connections_webhook ON connections;
DROP TRIGGER IF EXISTS post_targets_webhook ON post_targets;
DROP FUNCTION IF EXISTS connections_webhook();
DROP FUNCTION IF EXISTS post_targets_webhook();
DROP FUNCTION IF EXISTS webhook_emit(uuid, text, jsonb);
DROP TABLE IF EXISTS webhook_attempts;
DROP TABLE IF EXISTS webhook_deliveries;
DROP TABLE IF EXISTS webhook_endpoints;
"#;
