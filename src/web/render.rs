//! Rendering askama templates into responses. Pages are never cached by browsers or proxies:
//! they carry the CSRF token and the user's data.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::error::AppError;

pub fn page<T: Template>(t: &T) -> Result<Response, AppError> {
    page_with_status(StatusCode::OK, t)
}

pub fn page_with_status<T: Template>(status: StatusCode, t: &T) -> Result<Response, AppError> {
    let mut res = (status, Html(t.render()?)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// A page with `Retry-After`, for throttled forms that show their own message.
pub fn page_with_retry<T: Template>(
    status: StatusCode,
    t: &T,
    retry_after_secs: u64,
) -> Result<Response, AppError> {
    let mut res = page_with_status(status, t)?;
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    Ok(res)
}
