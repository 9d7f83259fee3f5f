//! Cross-site request forgery protection for everything a browser can submit.
//!
//! Two independent checks on every state-changing request outside `/api` (which authenticates
//! with bearer tokens and ignores cookies):
//! 1. where the request came from: `Sec-Fetch-Site` must be `same-origin` (or `none`, typed by
//!    the user) and `Origin`, when sent, must be ours;
//! 2. a per-session token, sent as the hidden form field `csrf_token` or the `X-CSRF-Token`
//!    header (htmx, scripts). Multipart uploads without JavaScript carry it in the query string.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

use crate::error::AppError;
use crate::state::AppState;

pub const SESSION_KEY: &str = "csrf";
pub const FORM_FIELD: &str = "csrf_token";
pub const HEADER: &str = "x-csrf-token";
/// Forms are small; anything larger is refused before we read it for the token.
pub const FORM_BODY_LIMIT: usize = 1024 * 1024;

/// The session's token, created on first use.
pub async fn token_for(session: &Session) -> Result<String, tower_sessions::session::Error> {
    if let Some(token) = session.get::<String>(SESSION_KEY).await? {
        return Ok(token);
    }
    let token = super::random_token(32);
    session.insert(SESSION_KEY, &token).await?;
    Ok(token)
}

/// Replaces the token, e.g. when someone logs in.
pub async fn rotate(session: &Session) -> Result<String, tower_sessions::session::Error> {
    let token = super::random_token(32);
    session.insert(SESSION_KEY, &token).await?;
    Ok(token)
}

fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

pub async fn verify(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if is_safe(req.method()) || req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    if let Err(reason) = check_origin(&state, &req) {
        tracing::info!(reason, "cross-site request refused");
        return AppError::CsrfRejected.into_response();
    }
    let Some(session) = req.extensions().get::<Session>().cloned() else {
        return AppError::CsrfRejected.into_response();
    };
    let expected = match session.get::<String>(SESSION_KEY).await {
        Ok(Some(t)) => t,
        Ok(None) => return AppError::CsrfRejected.into_response(),
        Err(e) => return AppError::Internal(e.into()).into_response(),
    };

    if let Some(sent) = req.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        return if super::constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
            next.run(req).await
        } else {
            AppError::CsrfRejected.into_response()
        };
    }

    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();

    if content_type.starts_with("multipart/form-data") {
        let sent = req.uri().query().and_then(|q| field(q.as_bytes()));
        return match sent {
            Some(s) if super::constant_time_eq(s.as_bytes(), expected.as_bytes()) => {
                next.run(req).await
            }
            _ => AppError::CsrfRejected.into_response(),
        };
    }

    // A urlencoded form (or a body of another type, which then has no token and is refused):
    // read it, look for the field, and hand the same bytes on to the handler.
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, FORM_BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => return AppError::PayloadTooLarge.into_response(),
    };
    let ok = content_type.starts_with("application/x-www-form-urlencoded")
        && field(&bytes)
            .is_some_and(|s| super::constant_time_eq(s.as_bytes(), expected.as_bytes()));
    if !ok {
        return AppError::CsrfRejected.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn field(form: &[u8]) -> Option<String> {
    url::form_urlencoded::parse(form)
        .find(|(k, _)| k == FORM_FIELD)
        .map(|(_, v)| v.into_owned())
}

fn check_origin(state: &AppState, req: &Request) -> Result<(), &'static str> {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return Err("Sec-Fetch-Site is not same-origin");
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().map_err(|_| "unreadable Origin")?;
        let ours = state.config.public_origin();
        let scheme = state.config.public_base_url.scheme();
        let by_host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(|h| format!("{scheme}://{h}"));
        if origin != ours && by_host.as_deref() != Some(origin) {
            return Err("Origin is not ours");
        }
    }
    Ok(())
}
