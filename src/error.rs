//! `AppError`: the one error type handlers return, and the middleware that renders every error
//! response — ours or the framework's — for whoever asked.
//!
//! A handler's error becomes a response carrying an `ErrorInfo` extension and no body. The
//! `render` middleware, which wraps the whole router, then turns it into an HTML page, an htmx
//! fragment (retargeted to the page's toast region) or JSON for `/api`. Errors produced below
//! our handlers (unknown routes, wrong methods, bodies over the limit, extractor rejections,
//! the rate limiter) get the same treatment, so nobody ever sees a bare framework message.
//! Internal errors are logged once, with their cause, and shown to people only as a generic
//! message and a reference id.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;

use crate::state::AppState;
use crate::web::session::PageContext;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    /// Not logged in (pages redirect to the login form; the API answers 401).
    #[error("login required")]
    Unauthorized,
    #[error("forbidden")]
    Forbidden,
    #[error("cross-site request refused")]
    CsrfRejected,
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Input that fails validation, by field (the API names the fields; forms re-render instead).
    #[error("validation failed")]
    Validation(BTreeMap<String, String>),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("rate limited for {retry_after_secs} s")]
    RateLimited {
        retry_after_secs: u64,
        message: String,
    },
    /// A service we depend on (Gemini) didn't give an answer; the message says why in plain
    /// words.
    #[error("upstream {code}: {message}")]
    Upstream {
        status: StatusCode,
        code: &'static str,
        message: String,
        retry_after_secs: Option<u64>,
    },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// What the renderer needs to know about an error response.
#[derive(Clone, Debug)]
pub struct ErrorInfo {
    pub status: StatusCode,
    pub code: &'static str,
    pub title: String,
    pub message: String,
    pub fields: Option<BTreeMap<String, String>>,
    pub retry_after_secs: Option<u64>,
    pub reference: Option<String>,
}

impl ErrorInfo {
    /// Plain words for a status nobody described more precisely.
    pub fn for_status(status: StatusCode) -> Self {
        let (code, title, message) = match status.as_u16() {
            400 => (
                "bad_request",
                "We couldn't read that request",
                "Something in what was sent doesn't make sense to us. Go back, check the form and try again.",
            ),
            401 => (
                "unauthorized",
                "Please log in",
                "You need to log in to see this.",
            ),
            403 => ("forbidden", "Not allowed", "You don't have access to this."),
            404 => (
                "not_found",
                "Page not found",
                "We couldn't find what you were looking for. It may have been moved or deleted.",
            ),
            405 => (
                "method_not_allowed",
                "That action isn't available here",
                "This address doesn't accept that kind of request. Go back and use the buttons on the page.",
            ),
            406 | 415 => (
                "unsupported_media_type",
                "We can't read that format",
                "What was sent isn't in a format this address accepts.",
            ),
            408 => (
                "timeout",
                "That took too long",
                "The request took too long. Please try again.",
            ),
            413 => (
                "payload_too_large",
                "That's too large",
                "What you sent is larger than we accept here. Try something smaller.",
            ),
            422 => (
                "unprocessable",
                "Some details need fixing",
                "Some of what was sent isn't valid. Go back, check the form and try again.",
            ),
            429 => (
                "rate_limited",
                "Slow down a little",
                "There have been too many requests. Wait a moment and try again.",
            ),
            _ if status.is_server_error() => (
                "internal",
                "Something went wrong on our side",
                "We couldn't finish that. Nothing was lost; please try again in a moment.",
            ),
            _ => ("error", "That didn't work", "Please go back and try again."),
        };
        Self {
            status,
            code,
            title: title.into(),
            message: message.into(),
            fields: None,
            retry_after_secs: None,
            reference: None,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let info = match self {
            AppError::NotFound => ErrorInfo::for_status(StatusCode::NOT_FOUND),
            AppError::Unauthorized => ErrorInfo::for_status(StatusCode::UNAUTHORIZED),
            AppError::Forbidden => ErrorInfo::for_status(StatusCode::FORBIDDEN),
            AppError::CsrfRejected => ErrorInfo {
                code: "csrf",
                title: "This form has expired".into(),
                message: "For your safety we only accept forms sent from this site's own pages. Reload the page and try again.".into(),
                ..ErrorInfo::for_status(StatusCode::FORBIDDEN)
            },
            AppError::BadRequest(message) => {
                ErrorInfo { message, ..ErrorInfo::for_status(StatusCode::BAD_REQUEST) }
            }
            AppError::Validation(fields) => ErrorInfo {
                code: "validation",
                message: "Some fields need fixing.".into(),
                fields: Some(fields),
                ..ErrorInfo::for_status(StatusCode::UNPROCESSABLE_ENTITY)
            },
            AppError::Conflict(message) => ErrorInfo {
                code: "conflict",
                title: "That can't be done right now".into(),
                message,
                ..ErrorInfo::for_status(StatusCode::CONFLICT)
            },
            AppError::PayloadTooLarge => ErrorInfo::for_status(StatusCode::PAYLOAD_TOO_LARGE),
            AppError::RateLimited { retry_after_secs, message } => ErrorInfo {
                message,
                retry_after_secs: Some(retry_after_secs),
                ..ErrorInfo::for_status(StatusCode::TOO_MANY_REQUESTS)
            },
            AppError::Upstream { status, code, message, retry_after_secs } => ErrorInfo {
                code,
                title: "That didn't work".into(),
                message,
                retry_after_secs,
                ..ErrorInfo::for_status(status)
            },
            AppError::Internal(err) => {
                let reference = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
                tracing::error!(error = ?err, reference, "request failed");
                ErrorInfo { reference: Some(reference), ..ErrorInfo::for_status(StatusCode::INTERNAL_SERVER_ERROR) }
            }
        };
        let mut res = info.status.into_response();
        res.extensions_mut().insert(info);
        res
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(e: sea_orm::DbErr) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<tower_sessions::session::Error> for AppError {
    fn from(e: tower_sessions::session::Error) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<fred::error::Error> for AppError {
    fn from(e: fred::error::Error) -> Self {
        AppError::Internal(e.into())
    }
}

/// Who is asking, which decides the error's form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Audience {
    Page,
    Htmx,
    Json,
}

#[derive(Template)]
#[template(path = "errors/page.html")]
struct ErrorPage<'a> {
    ctx: PageContext,
    info: &'a ErrorInfo,
}

#[derive(Template)]
#[template(path = "errors/fragment.html")]
struct ErrorFragment<'a> {
    info: &'a ErrorInfo,
}

#[derive(Serialize)]
struct JsonError<'a> {
    error: JsonErrorBody<'a>,
}

#[derive(Serialize)]
struct JsonErrorBody<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<&'a BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after_secs: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reference: Option<&'a str>,
}

/// Middleware: renders every error response for its audience.
pub async fn render(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    let audience = if path.starts_with("/api/") {
        Audience::Json
    } else if req.headers().contains_key("hx-request") {
        Audience::Htmx
    } else if req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.starts_with("application/json"))
    {
        Audience::Json
    } else {
        Audience::Page
    };

    let res = next.run(req).await;
    let status = res.status();
    if !status.is_client_error() && !status.is_server_error() {
        return res;
    }
    let info = match res.extensions().get::<ErrorInfo>() {
        Some(info) => info.clone(),
        None => {
            // Our own rendered responses (a form shown again with its errors) pass through.
            let content_type = res
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if content_type.starts_with("text/html") || content_type.starts_with("application/json")
            {
                return res;
            }
            let mut info = ErrorInfo::for_status(status);
            if status == StatusCode::TOO_MANY_REQUESTS {
                info.retry_after_secs = retry_after(&res);
                if let Some(secs) = info.retry_after_secs {
                    info.message = format!(
                        "There have been too many requests from your address. Try again in {}.",
                        crate::security::throttle::wait_in_words(secs)
                    );
                }
            }
            info
        }
    };

    if status == StatusCode::UNAUTHORIZED && audience != Audience::Json {
        return login_redirect(&path, query.as_deref(), audience);
    }
    let mut out = match audience {
        Audience::Json => {
            let body = JsonError {
                error: JsonErrorBody {
                    code: info.code,
                    message: &info.message,
                    fields: info.fields.as_ref(),
                    retry_after_secs: info.retry_after_secs,
                    reference: info.reference.as_deref(),
                },
            };
            (status, axum::Json(body)).into_response()
        }
        Audience::Htmx => match (ErrorFragment { info: &info }).render() {
            Ok(html) => {
                let mut r = (status, Html(html)).into_response();
                let h = r.headers_mut();
                h.insert("hx-retarget", HeaderValue::from_static("#toasts"));
                h.insert("hx-reswap", HeaderValue::from_static("beforeend"));
                r
            }
            Err(e) => fallback(status, e),
        },
        Audience::Page => match (ErrorPage {
            ctx: PageContext::bare(state.assets.clone()),
            info: &info,
        })
        .render()
        {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => fallback(status, e),
        },
    };
    if let Some(secs) = info.retry_after_secs {
        out.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    // Keep the headers that matter to clients from the original response.
    if let Some(allow) = res.headers().get(header::ALLOW) {
        out.headers_mut().insert(header::ALLOW, allow.clone());
    }
    out
}

fn retry_after(res: &Response) -> Option<u64> {
    ["retry-after", "x-ratelimit-after"]
        .iter()
        .find_map(|h| res.headers().get(*h)?.to_str().ok()?.parse().ok())
}

fn fallback(status: StatusCode, e: askama::Error) -> Response {
    tracing::error!(error = ?e, "rendering an error page failed");
    (status, "Something went wrong.").into_response()
}

/// Sends someone who isn't logged in to the login form, remembering where they were going.
fn login_redirect(path: &str, query: Option<&str>, audience: Audience) -> Response {
    let mut next = path.to_owned();
    if let Some(q) = query {
        next.push('?');
        next.push_str(q);
    }
    let target = format!(
        "/login?next={}",
        url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
    );
    let mut res = if audience == Audience::Htmx {
        let mut r = StatusCode::OK.into_response();
        if let Ok(v) = HeaderValue::from_str(&target) {
            r.headers_mut().insert("hx-redirect", v);
        }
        r
    } else {
        let mut r = StatusCode::SEE_OTHER.into_response();
        if let Ok(v) = HeaderValue::from_str(&target) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        r
    };
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
