//! `picscripter-worker`: connects, refuses an unmigrated database, and runs the apalis monitor
//! until SIGTERM or Ctrl-C, then stops taking work and lets what's running finish.

use std::time::Duration;

use anyhow::Context as _;
use apalis::prelude::*;
use apalis_cron::CronScheduler;

use crate::config::Config;
use crate::connections::Connections;
use crate::jobs::dispatch::{self, Dispatcher};
use crate::jobs::heartbeat::{self, Heartbeat};
use crate::jobs::publish;
use crate::jobs::refresh_tokens;
use crate::jobs::sync_catalog;
use crate::platforms::Registry;
use crate::publishing::Engine;
use crate::redis::Redis;
use crate::security::cipher::TokenCipher;

/// A name unique to this process, shown in job history and heartbeats.
pub fn worker_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".into());
    format!(
        "{host}-{}-{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..6]
    )
}

/// Runs the worker until `shutdown` resolves.
/// The scheduled (cron) jobs this worker runs with `features`: the catalog schedule and webhook
/// delivery always,
/// engagement collection with `METRICS_ENGAGEMENT`, token refresh with `FEATURE_TOKEN_REFRESH`.
pub fn cron_jobs(features: &crate::config::Features) -> Vec<&'static str> {
    let mut jobs = vec![CATALOG_SCHEDULE, DELIVER_WEBHOOKS];
    if features.metrics_engagement {
        jobs.push(COLLECT_METRICS);
    }
    if features.token_refresh {
        jobs.push(REFRESH_TOKENS);
    }
    jobs
}

const CATALOG_SCHEDULE: &str = "catalog-schedule";
const DELIVER_WEBHOOKS: &str = "deliver-webhooks";
const COLLECT_METRICS: &str = "collect-metrics";
const REFRESH_TOKENS: &str = "refresh-tokens";

pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let db = crate::db::connect(&config).await?;
    crate::db::ensure_migrated(&db).await?;
    let redis = Redis::connect(
        config.redis_url(),
        &config.redis_key_prefix,
        Duration::from_secs(10),
    )
    .await
    .context("couldn't set up the Redis client")?;
    redis
        .ping()
        .await
        .context("couldn't reach Redis. Is it running, and does REDIS_URL point to it?")?;

    let id = worker_id();
    tracing::info!(worker = %id, "worker started");
    // Beat once right away so /readyz turns green without waiting for the first tick.
    heartbeat::beat(&redis, &id)
        .await
        .context("couldn't write the first heartbeat")?;

    let hb = Heartbeat {
        redis: redis.clone(),
        worker_id: id.clone(),
    };
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    let config = std::sync::Arc::new(config);
    let connections = Connections::new(
        db.clone(),
        TokenCipher::new(config.encryption_keys.clone()),
        Registry::new(config.clone()),
    );
    let media = crate::media::store::MediaStore::from_config(&config)
        .context("couldn't open the media store (MEDIA_STORE)")?;
    let engine = Engine::new(
        db.clone(),
        config.clone(),
        connections.clone(),
        media,
        id.clone(),
    );
    let redis_url = config.redis_url().to_owned();
    let prefix = config.redis_key_prefix.clone();
    let concurrency = config.worker_concurrency;
    let push_queue = publish::queue(&redis_url, &prefix, concurrency)
        .await
        .context("couldn't open the publish queue in Redis")?;
    let dispatcher = Dispatcher {
        engine: engine.clone(),
        queue: std::sync::Arc::new(tokio::sync::Mutex::new(push_queue)),
        requeue_after: Duration::from_secs(config.publish_requeue_after_secs),
    };

    let (stop_syncs, stop_rx) = tokio::sync::watch::channel(false);
    let syncer = crate::products::sync::Syncer::new(
        db.clone(),
        connections.clone(),
        config.clone(),
        id.clone(),
        stop_rx,
    );
    let sync_backend = sync_catalog::queue(&redis_url, &prefix)
        .await
        .context("couldn't open the catalog sync queue in Redis")?;
    let sync_scheduler = sync_catalog::Scheduler {
        db: db.clone(),
        config: config.clone(),
        queue: sync_backend.clone(),
    };
    let sync_worker_name = format!("catalog-sync-{id}");

    let mut monitor = Monitor::new()
        .shutdown_timeout(grace)
        // A worker whose backend failed (Redis restarted) starts again rather than stopping
        // the process; the restarted one reconnects.
        .should_restart(|_, _| true)
        .register(move |_restarts| {
            WorkerBuilder::new("heartbeat")
                .backend(CronScheduler::new(heartbeat::schedule()))
                .data(hb.clone())
                .build(heartbeat::on_tick)
        })
        .register(move |_restarts| {
            WorkerBuilder::new("dispatch")
                .backend(CronScheduler::new(dispatch::schedule()))
                .data(dispatcher.clone())
                .build(dispatch::on_tick)
        });
    let publish_worker_name = format!("publish-{id}");
    let publish_engine = engine.clone();
    let publish_backend = publish::queue(&redis_url, &prefix, concurrency)
        .await
        .context("couldn't open the publish queue in Redis")?;
    monitor = monitor.register(move |restarts| {
        WorkerBuilder::new(format!("{publish_worker_name}-{restarts}"))
            .backend(
                publish_backend
                    .clone()
                    .poll_with_interval(publish::POLL_INTERVAL),
            )
            .concurrency(concurrency)
            .data(publish_engine.clone())
            .build(publish::on_job)
    });
    monitor = monitor
        .register(move |restarts| {
            WorkerBuilder::new(format!("{sync_worker_name}-{restarts}"))
                .backend(
                    sync_backend
                        .clone()
                        .poll_with_interval(sync_catalog::POLL_INTERVAL),
                )
                .concurrency(sync_catalog::CONCURRENCY)
                .data(syncer.clone())
                .build(sync_catalog::on_job)
        })
        .register(move |_restarts| {
            WorkerBuilder::new(CATALOG_SCHEDULE)
                .backend(CronScheduler::new(sync_catalog::schedule()))
                .data(sync_scheduler.clone())
                .build(sync_catalog::on_tick)
        });
    let webhooks = crate::webhooks::Webhooks::from_config(db.clone(), &config);
    monitor = monitor.register(move |_restarts| {
        WorkerBuilder::new(DELIVER_WEBHOOKS)
            .backend(CronScheduler::new(crate::jobs::deliver_webhooks::schedule()))
            .data(webhooks.clone())
            .build(crate::jobs::deliver_webhooks::on_tick)
    });
    let crons = cron_jobs(&config.features);
    tracing::info!(?crons, "scheduled jobs");
    if crons.contains(&COLLECT_METRICS) {
        let collector = crate::jobs::collect_metrics::Collector {
            db: db.clone(),
            connections: connections.clone(),
        };
        monitor = monitor.register(move |_restarts| {
            WorkerBuilder::new(COLLECT_METRICS)
                .backend(CronScheduler::new(crate::jobs::collect_metrics::schedule()))
                .data(collector.clone())
                .build(crate::jobs::collect_metrics::on_tick)
        });
    }
    if crons.contains(&REFRESH_TOKENS) {
        monitor = monitor.register(move |_restarts| {
            WorkerBuilder::new(REFRESH_TOKENS)
                .backend(CronScheduler::new(refresh_tokens::schedule()))
                .data(connections.clone())
                .build(refresh_tokens::on_tick)
        });
    }
    monitor
        .run_with_signal(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing work in progress");
            // Syncs stop at their next page boundary and go back to the queue.
            let _ = stop_syncs.send(true);
            Ok(())
        })
        .await
        .context("the worker monitor stopped with an error")?;
    // Whatever didn't finish within the grace period goes back (or, if it was already sent,
    // becomes unknown) now rather than when its lease runs out.
    match engine.release_mine().await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(
            count = n,
            "handed back publishes that didn't finish in time"
        ),
        Err(e) => {
            tracing::error!(error = %e, "couldn't hand back unfinished publishes; their leases will expire")
        }
    }
    db.close().await.ok();
    tracing::info!(worker = %id, "worker stopped");
    Ok(())
}

/// Resolves on SIGTERM (how PaaS platforms stop processes) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
