//! `/healthz`, `/readyz` and the worker process.

use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{base_env, empty_database, spawn_app, spawn_app_with};

#[tokio::test]
async fn healthz_answers_while_the_process_is_alive() {
    let app = spawn_app().await;
    let res = app.get("/healthz").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["status"],
        "ok"
    );
}

#[tokio::test]
async fn readyz_is_ready_when_postgres_redis_and_a_worker_are_there() {
    let app = spawn_app().await;
    app.worker_beats().await;
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"]["worker"]["ok"], true);
}

#[tokio::test]
async fn readyz_names_the_missing_worker() {
    let app = spawn_app().await;
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["failing"], serde_json::json!(["worker"]));
    assert!(
        body["checks"]["worker"]["detail"]
            .as_str()
            .unwrap()
            .contains("picscripter-worker")
    );
}

#[tokio::test]
async fn readyz_answers_503_naming_redis_when_redis_is_unreachable() {
    let app = spawn_app_with(|env| {
        env.insert("REDIS_URL".into(), "redis://127.0.0.1:1".into());
    })
    .await;
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(
        body["failing"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("redis")),
        "{body}"
    );
    assert_eq!(body["checks"]["postgres"]["ok"], true);
    assert_eq!(body["checks"]["redis"]["ok"], false);
}

#[tokio::test]
async fn the_worker_beats_so_readyz_turns_ready_and_stops_on_request() {
    let app = spawn_app().await;
    let config = picscripter::config::Config::from_env(&app.env).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(picscripter::worker::run(config, async move {
        let _ = rx.await;
    }));

    let mut ready = false;
    for _ in 0..50 {
        if app.get("/readyz").await.status() == StatusCode::OK {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "a running worker makes /readyz ready");

    tx.send(()).unwrap();
    let stopped = tokio::time::timeout(Duration::from_secs(15), worker).await;
    assert!(
        matches!(stopped, Ok(Ok(Ok(())))),
        "the worker shuts down cleanly: {stopped:?}"
    );
}

#[tokio::test]
async fn the_worker_refuses_an_unmigrated_database_with_a_clear_message() {
    let db = empty_database().await;
    let env = base_env(&db, "test:unmigrated:");
    let config = picscripter::config::Config::from_env(&env).unwrap();
    let err = picscripter::worker::run(config, std::future::pending())
        .await
        .unwrap_err();
    crate::helpers::drop_database_blocking(db);
    let text = format!("{err:#}");
    assert!(
        text.contains("not migrated") && text.contains("picscripter migrate"),
        "{text}"
    );
}
