//! `/healthz` (the process is alive) and `/readyz` (it can do its work: Postgres and Redis answer
//! and a worker has reported in recently). Load balancers and the fault-injection suite use them.

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sea_orm::ConnectionTrait as _;
use serde::Serialize;
use serde_json::json;

use crate::jobs::heartbeat;
use crate::state::AppState;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> Response {
    no_store((StatusCode::OK, Json(json!({ "status": "ok" }))).into_response())
}

#[derive(Serialize)]
struct Check {
    ok: bool,
    detail: String,
}

async fn readyz(State(state): State<AppState>) -> Response {
    let postgres = async {
        match tokio::time::timeout(CHECK_TIMEOUT, state.db.execute_unprepared("SELECT 1")).await {
            Ok(Ok(_)) => Check {
                ok: true,
                detail: "reachable".into(),
            },
            Ok(Err(e)) => Check {
                ok: false,
                detail: format!("query failed: {}", short(&e.to_string())),
            },
            Err(_) => Check {
                ok: false,
                detail: "no answer within 2 s".into(),
            },
        }
    };
    let redis_and_worker = async {
        match tokio::time::timeout(CHECK_TIMEOUT, state.redis.ping()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let c = Check {
                    ok: false,
                    detail: format!("unreachable: {}", short(&e.to_string())),
                };
                return (
                    c,
                    Check {
                        ok: false,
                        detail: "unknown: Redis is unreachable".into(),
                    },
                );
            }
            Err(_) => {
                let c = Check {
                    ok: false,
                    detail: "no answer within 2 s".into(),
                };
                return (
                    c,
                    Check {
                        ok: false,
                        detail: "unknown: Redis is unreachable".into(),
                    },
                );
            }
        }
        let redis = Check {
            ok: true,
            detail: "reachable".into(),
        };
        let worker = match heartbeat::latest_age(&state.redis).await {
            Ok(Some(age)) if age <= heartbeat::STALE_AFTER => Check {
                ok: true,
                detail: format!("heartbeat {} s ago", age.as_secs()),
            },
            Ok(Some(age)) => Check {
                ok: false,
                detail: format!(
                    "last heartbeat {} s ago; is picscripter-worker running?",
                    age.as_secs()
                ),
            },
            Ok(None) => Check {
                ok: false,
                detail: "no heartbeat; is picscripter-worker running?".into(),
            },
            Err(e) => Check {
                ok: false,
                detail: format!("couldn't read the heartbeat: {}", short(&e.to_string())),
            },
        };
        (redis, worker)
    };
    let (postgres, (redis, worker)) = tokio::join!(postgres, redis_and_worker);
    let ready = postgres.ok && redis.ok && worker.ok;
    let failing: Vec<&str> = [
        ("postgres", &postgres),
        ("redis", &redis),
        ("worker", &worker),
    ]
    .into_iter()
    .filter(|(_, c)| !c.ok)
    .map(|(n, _)| n)
    .collect();
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "failing": failing,
        "checks": { "postgres": postgres, "redis": redis, "worker": worker },
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    no_store((status, Json(body)).into_response())
}

/// Driver messages can be long; keep the first line, bounded.
fn short(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(160)
        .collect()
}

fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
