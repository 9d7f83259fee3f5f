//! The front door. `/{platform}/{host}/{path}` is taken apart here: the host is put in canonical
//! form (legacy hosts are aliases), a Graph API version prefix is set aside, the request is
//! logged, faults get their say, and what is left goes to that platform's router as
//! `/{host}/{path}` with a [`RouteCtx`] attached. Each platform module only declares routes.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Extension, Request};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::response::Response;
use axum::routing::any;
use chrono::{DateTime, Utc};
use serde_json::json;
use tower::ServiceExt as _;

use super::faults::{Injected, Target};
use super::oauth::Params;
use super::recorder::Arrival;
use super::state::Shared;
use super::{errors, gemini, inspect, personas};
use super::{
    etsy, facebook, instagram, linkedin, pinterest, shopify, squarespace, tiktok, x, youtube,
};
use crate::domain::Platform;

/// Requests larger than this are refused with 413 before anything else looks at them.
const MAX_BODY: usize = 256 * 1024 * 1024;

/// What a platform handler knows about the request beyond axum's extractors.
#[derive(Clone, Debug)]
pub(crate) struct RouteCtx {
    pub platform: Platform,
    pub method: String,
    /// The host the real client would have called, in canonical form (`api.x.com`).
    pub host: String,
    /// The path after the host, without a Graph version prefix; always starts with `/`.
    pub path: String,
    /// The Graph API version the client named (`v21.0`), when it named one.
    pub version: Option<String>,
    pub query: String,
    /// The path as the client sent it to the sandbox, for forms that post back to it.
    pub sandbox_path: String,
    pub seq: u64,
    /// Arrival on the sandbox clock.
    pub at: DateTime<Utc>,
    /// How long asynchronous processing this request starts takes, in sandbox seconds (0
    /// unless a `processing_secs` fault says otherwise).
    pub processing_secs: u64,
}

impl RouteCtx {
    pub fn params(&self) -> Params {
        Params::from_query(&self.query)
    }

    /// A trace/log id that is the same for the same request number, so runs repeat.
    pub fn trace_id(&self, alphabet: &str, len: usize) -> String {
        let alphabet = if alphabet.len() < 2 {
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        } else {
            alphabet
        };
        personas::derived_chars(&["trace", &self.seq.to_string()], alphabet, len)
    }
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let platforms: Arc<HashMap<Platform, Router>> = Arc::new(
        Platform::ALL
            .into_iter()
            .map(|p| (p, platform_router(p, shared.clone())))
            .collect(),
    );
    let front = {
        let shared = shared.clone();
        move |req: Request| {
            let shared = shared.clone();
            let platforms = platforms.clone();
            async move { entry(shared, platforms, req).await }
        }
    };
    Router::new()
        .merge(inspect::routes())
        // Gemini is not a platform: its static first segment wins over `/{platform}`.
        .merge(gemini::routes())
        .route("/{platform}/{*rest}", any(front))
        .fallback(unaddressed)
        .with_state(shared)
}

fn platform_router(platform: Platform, shared: Arc<Shared>) -> Router {
    let routes = match platform {
        Platform::X => x::routes(),
        Platform::Instagram => instagram::routes(),
        Platform::Facebook => facebook::routes(),
        Platform::Linkedin => linkedin::routes(),
        Platform::Pinterest => pinterest::routes(),
        Platform::Tiktok => tiktok::routes(),
        Platform::Youtube => youtube::routes(),
        Platform::Shopify => shopify::routes(),
        Platform::Etsy => etsy::routes(),
        Platform::Squarespace => squarespace::routes(),
    };
    routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // The front door has already bounded the body.
        .layer(DefaultBodyLimit::disable())
        .with_state(shared)
}

async fn not_found(Extension(ctx): Extension<RouteCtx>) -> Response {
    errors::not_found(&ctx)
}

async fn method_not_allowed(Extension(ctx): Extension<RouteCtx>) -> Response {
    errors::method_not_allowed(&ctx)
}

async fn unaddressed() -> Response {
    errors::json_response(
        StatusCode::NOT_FOUND,
        json!({
            "error": "not found",
            "hint": "address platform requests as /{platform}/{host}/{path}, e.g. /x/api.x.com/2/users/me; the sandbox's own endpoints are under /_sandbox",
        }),
    )
}

/// Legacy and alternative hosts answer like the canonical one.
fn canonical_host(platform: Platform, host: &str) -> String {
    let host = host.to_ascii_lowercase();
    let canonical = match (platform, host.as_str()) {
        (Platform::X, "twitter.com" | "www.twitter.com" | "www.x.com") => "x.com",
        (Platform::X, "api.twitter.com") => "api.x.com",
        (Platform::Facebook, "facebook.com" | "m.facebook.com" | "web.facebook.com") => {
            "www.facebook.com"
        }
        (Platform::Instagram, "instagram.com") => "www.instagram.com",
        (Platform::Linkedin, "linkedin.com") => "www.linkedin.com",
        (Platform::Pinterest, "pinterest.com") => "www.pinterest.com",
        (Platform::Youtube, "youtube.googleapis.com") => "www.googleapis.com",
        (Platform::Etsy, "openapi.etsy.com") => "api.etsy.com",
        _ => return host,
    };
    canonical.to_owned()
}

/// Graph hosts take an optional `/vNN.N` first segment; routes are declared without it.
fn split_version(platform: Platform, host: &str, path: &str) -> (Option<String>, String) {
    let versioned = matches!(
        (platform, host),
        (
            Platform::Facebook,
            "graph.facebook.com" | "www.facebook.com"
        ) | (
            Platform::Instagram,
            "graph.instagram.com" | "graph.facebook.com"
        )
    );
    if !versioned {
        return (None, path.to_owned());
    }
    let rest = path.trim_start_matches('/');
    let (first, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let is_version = first.len() > 1
        && first.starts_with('v')
        && first[1..].split('.').count() <= 2
        && first[1..]
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if is_version {
        (Some(first.to_owned()), format!("/{tail}"))
    } else {
        (None, path.to_owned())
    }
}

async fn entry(
    shared: Arc<Shared>,
    platforms: Arc<HashMap<Platform, Router>>,
    req: Request,
) -> Response {
    let (mut parts, body) = req.into_parts();
    let sandbox_path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or("").to_owned();
    let mut segments = sandbox_path.trim_start_matches('/').splitn(3, '/');
    let platform_name = segments.next().unwrap_or("");
    let raw_host = segments.next().unwrap_or("");
    let rest = segments.next().unwrap_or("");
    let Ok(platform) = platform_name.parse::<Platform>() else {
        return errors::json_response(
            StatusCode::NOT_FOUND,
            json!({ "error": format!("unknown platform {platform_name:?}"), "platforms": Platform::ALL }),
        );
    };
    let Some(router) = platforms.get(&platform) else {
        return unaddressed().await;
    };
    let host = canonical_host(platform, raw_host);
    let client_path = format!("/{rest}");
    let (version, path) = split_version(platform, &host, &client_path);
    let at = shared.clock.now();
    let method = parts.method.as_str().to_owned();

    let mut ctx = RouteCtx {
        platform,
        method: method.clone(),
        host: host.clone(),
        path: path.clone(),
        version,
        query: query.clone(),
        sandbox_path,
        seq: 0,
        at,
        processing_secs: 0,
    };
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return errors::generic(
                &ctx,
                StatusCode::PAYLOAD_TOO_LARGE,
                "The request body is too large.",
            );
        }
    };
    ctx.seq = shared.log().start(Arrival {
        at,
        platform,
        method: &method,
        host: &host,
        path: &client_path,
        query: &query,
        headers: &parts.headers,
        body: &bytes,
    });

    let host_path = format!("{host}{client_path}");
    let outcome = shared.faults().apply(
        &Target {
            platform,
            method: &method,
            host_path: &host_path,
        },
        at,
    );
    ctx.processing_secs = outcome.processing_secs.unwrap_or(0);
    if !outcome.delay.is_zero() {
        tokio::time::sleep(outcome.delay).await;
    }
    let response = match outcome.respond {
        Some(Injected::Status { status, message }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let message = message
                .as_deref()
                .unwrap_or("The sandbox injected this error (see /_sandbox/faults).");
            errors::generic(&ctx, status, message)
        }
        Some(Injected::RateLimited { until }) => {
            errors::rate_limited(&ctx, until, shared.clock.now())
        }
        Some(Injected::Rejected { message }) => errors::rejected(&ctx, message.as_deref()),
        None if !host_is_served(platform, &host) => errors::not_found(&ctx),
        None => {
            let inner = if query.is_empty() {
                format!("/{host}{path}")
            } else {
                format!("/{host}{path}?{query}")
            };
            match inner.parse::<Uri>() {
                Ok(uri) => {
                    parts.uri = uri;
                    // Start afresh: the front door's own path parameters must not leak into
                    // the platform router's `Path` extractors.
                    parts.extensions = axum::http::Extensions::new();
                    parts.extensions.insert(ctx.clone());
                    let req = Request::from_parts(parts, Body::from(bytes));
                    match router.clone().oneshot(req).await {
                        Ok(res) => res,
                        Err(never) => match never {},
                    }
                }
                Err(_) => errors::generic(
                    &ctx,
                    StatusCode::BAD_REQUEST,
                    "The request path is malformed.",
                ),
            }
        }
    };
    let response = with_graph_version(&ctx, response);
    // The platform has done its work (a post may be recorded as published); the client is left
    // waiting for an answer it will not get in time.
    if let Some(hang) = outcome.hang_after_accept {
        tokio::time::sleep(hang).await;
    }
    shared.log().finish(ctx.seq, response.status().as_u16());
    response
}

/// The Graph API version a request was served with, when none was named.
const DEFAULT_GRAPH_VERSION: &str = "v25.0";

/// Graph answers say which version served them, as `facebook-api-version`.
fn with_graph_version(ctx: &RouteCtx, mut response: Response) -> Response {
    let graph_host = matches!(
        ctx.host.as_str(),
        "graph.facebook.com" | "graph.instagram.com"
    );
    if graph_host && matches!(ctx.platform, Platform::Facebook | Platform::Instagram) {
        let version = ctx.version.as_deref().unwrap_or(DEFAULT_GRAPH_VERSION);
        if let Ok(v) = HeaderValue::from_str(version) {
            response.headers_mut().insert("facebook-api-version", v);
        }
    }
    response
}

/// Shopify answers on any shop domain and on the storage host of its bulk operations' files.
fn host_is_served(platform: Platform, host: &str) -> bool {
    platform != Platform::Shopify
        || shopify::is_shop_domain(host)
        || host == shopify::bulk::FILE_HOST
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_graph_version_prefix_is_set_aside() {
        assert_eq!(
            split_version(
                Platform::Facebook,
                "graph.facebook.com",
                "/v21.0/me/accounts"
            ),
            (Some("v21.0".into()), "/me/accounts".into())
        );
        assert_eq!(
            split_version(Platform::Instagram, "graph.instagram.com", "/me"),
            (None, "/me".into())
        );
        assert_eq!(
            split_version(Platform::X, "api.x.com", "/v2/x"),
            (None, "/v2/x".into())
        );
    }

    #[test]
    fn legacy_hosts_are_aliases_of_the_current_ones() {
        assert_eq!(canonical_host(Platform::X, "API.twitter.com"), "api.x.com");
        assert_eq!(
            canonical_host(Platform::Etsy, "openapi.etsy.com"),
            "api.etsy.com"
        );
        assert_eq!(
            canonical_host(Platform::Pinterest, "api.pinterest.com"),
            "api.pinterest.com"
        );
    }
}
