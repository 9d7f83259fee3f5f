//! The web process: one module per area, each with its `router()`, handlers, template structs
//! and form types; this file puts them together with the middleware every request passes.
//!
//! Request path, outermost first: tracing → panic catcher → security headers → error rendering
//! → per-address rate limit → compression → CORS (API only) → session → CSRF (which reads
//! form bodies up to the same limit) → `Vary: HX-Request` → body limit → the handler. The upload
//! routes (`media::upload_router`, `api::upload_router`) have their own, larger body limit, and
//! signed media links (`media::public_router`) sit outside sessions and the rate limit.

pub mod admin;
pub mod analytics;
pub mod api;
pub mod assets;
pub mod auth;
pub mod calendar;
pub mod caption_templates;
pub mod catalog_sync;
pub mod chart;
pub mod compose;
pub mod connections;
pub mod csv;
pub mod dashboard;
pub mod form;
pub mod health;
pub mod media;
pub mod notifications;
pub mod posts;
pub mod posts_import;
pub mod products;
pub mod render;
pub mod session;
pub mod session_store;
pub mod settings;
pub mod studio;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware;
use axum::routing::get;
use axum_htmx::AutoVaryLayer;
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate as _};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::error::AppError;
use crate::security::client_ip::ClientIpKey;
use crate::security::{csrf, headers};
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "picscripter_session";
/// Bodies larger than this are refused with 413; only the upload routes accept more (the
/// largest media file plus multipart overhead, see `media::Limits::request_bytes`).
pub const BODY_LIMIT: usize = csrf::FORM_BODY_LIMIT;

pub fn router(state: AppState) -> Router {
    let config = state.config.clone();

    let session_layer =
        SessionManagerLayer::new(session_store::RedisSessionStore::new(state.redis.clone()))
            .with_name(SESSION_COOKIE)
            .with_http_only(true)
            .with_same_site(SameSite::Lax)
            .with_secure(config.is_https())
            .with_path("/")
            .with_expiry(Expiry::OnInactivity(
                time::Duration::try_from(config.session_idle_timeout)
                    .unwrap_or(time::Duration::hours(12)),
            ))
            .with_signed(session_key(&config.jwt_secret));

    let governor = GovernorConfigBuilder::default()
        .key_extractor(ClientIpKey {
            trust_proxy: config.trust_proxy,
        })
        .period(Duration::from_millis(
            (60_000 / config.rate_limit_per_minute.max(1) as u64).max(1),
        ))
        .burst_size((config.rate_limit_per_minute / 10).max(10))
        .use_headers()
        .finish()
        .expect("rate-limit settings are validated in Config");
    let governor = Arc::new(governor);
    let limiter = governor.limiter().clone();
    // Forget addresses that have been quiet, so the limiter's memory stays bounded.
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            limiter.retain_recent();
        }
    });

    let cors = if config.cors_origins.is_empty() {
        None
    } else {
        let origins: Vec<HeaderValue> = config
            .cors_origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        Some(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
                .allow_headers([
                    axum::http::header::AUTHORIZATION,
                    axum::http::header::CONTENT_TYPE,
                ])
                .max_age(Duration::from_secs(3600)),
        )
    };

    // Uploads get their own router so that only they accept large bodies. Multipart bodies
    // never pass through the CSRF middleware's body read: it takes their token from the
    // query string or the header.
    let upload_limit = state.media.limits().request_bytes();
    let uploads = |router: Router<AppState>| {
        router
            .layer(RequestBodyLimitLayer::new(upload_limit))
            .layer(DefaultBodyLimit::disable())
    };

    let pages = Router::new()
        .merge(auth::router())
        .merge(dashboard::router())
        .merge(settings::router())
        .merge(webhooks::router())
        .merge(connections::router())
        .merge(catalog_sync::router())
        .merge(compose::router())
        .merge(calendar::router())
        .merge(posts::router())
        .merge(posts_import::router())
        .merge(products::router())
        .merge(studio::router())
        .merge(analytics::router())
        .merge(notifications::router())
        .merge(caption_templates::router())
        .merge(media::router())
        .merge(admin::router())
        .route("/static/{*path}", get(assets::serve))
        // Router layers wrap outward: the last added runs first.
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .merge(uploads(media::upload_router()))
        .merge(uploads(compose::upload_router()))
        .merge(
            posts_import::upload_router()
                .layer(RequestBodyLimitLayer::new(posts_import::UPLOAD_BODY_LIMIT))
                .layer(DefaultBodyLimit::disable()),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(AutoVaryLayer)
        .layer(middleware::from_fn_with_state(state.clone(), csrf::verify))
        .layer(session_layer);

    let api = api::router()
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .merge(uploads(api::upload_router()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // The per-address limit guards the API too (requests without a valid token included);
        // each token's own allowance is counted in Redis by `api::ApiUser`.
        .layer(GovernorLayer::new(governor.clone()))
        .layer(tower::util::option_layer(cors));

    // Health checks stay outside the rate limit and the session: load balancers poll them.
    // So do signed media links: platforms fetch them from many addresses, without cookies.
    let outer = Router::new()
        .merge(health::router())
        .merge(media::public_router())
        .nest("/api/v1", api)
        .merge(pages.layer(GovernorLayer::new(governor.clone())))
        .with_state(state.clone());

    let x_request_id = HeaderName::from_static("x-request-id");
    outer
        // Videos are compressed already, and byte ranges must reach the player untouched.
        .layer(CompressionLayer::new().compress_when(
            DefaultPredicate::new().and(NotForContentType::const_new("video/")),
        ))
        .layer(middleware::from_fn_with_state(state.clone(), crate::error::render))
        .layer(middleware::from_fn_with_state(state, headers::set))
        .layer(CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| {
            use axum::response::IntoResponse as _;
            AppError::Internal(anyhow::anyhow!("a request handler panicked")).into_response()
        }))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            // The path only: query strings can carry OAuth codes and tokens.
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
            tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
        .layer(middleware::from_fn(server_timing))
}

/// Phases of a request a handler timed (`db`, `render`…), added to `Server-Timing` after `app`.
#[derive(Clone, Debug, Default)]
pub struct Timings(pub Vec<(&'static str, f64)>);

/// `Server-Timing: app;dur=…`: how long the server took to produce the response head (session,
/// handler, rendering; not the body's transfer). Browsers' dev tools show it, and the benchmark
/// reads it to tell server time from client and network time.
async fn server_timing(req: Request, next: middleware::Next) -> axum::response::Response {
    let started = std::time::Instant::now();
    let mut res = next.run(req).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut value = format!("app;dur={ms:.2}");
    if let Some(Timings(parts)) = res.extensions().get::<Timings>() {
        for (name, ms) in parts {
            value.push_str(&format!(", {name};dur={ms:.2}"));
        }
    }
    if let Ok(v) = HeaderValue::from_str(&value) {
        res.headers_mut()
            .insert(HeaderName::from_static("server-timing"), v);
    }
    res
}

/// The cookie-signing key, derived from `JWT_SECRET` (at least 32 bytes, checked in Config).
fn session_key(secret: &secrecy::SecretString) -> tower_sessions::cookie::Key {
    use secrecy::ExposeSecret as _;
    use sha2::Digest as _;
    // A signing key is 64 bytes; SHA-512 of the secret (with a purpose label) gives exactly that.
    let material =
        sha2::Sha512::digest(["picscripter session cookie:", secret.expose_secret()].concat());
    tower_sessions::cookie::Key::from(&material)
}

async fn not_found() -> AppError {
    AppError::NotFound
}

async fn method_not_allowed() -> axum::response::Response {
    use axum::response::IntoResponse as _;
    axum::http::StatusCode::METHOD_NOT_ALLOWED.into_response()
}
