//! Error bodies in each platform's own shape, and the generic ones the dispatcher needs for any
//! platform: not found, an injected status, a rate-limit window. Shapes follow PLATFORMS.md;
//! where it is silent the choice is written down in docs/SANDBOX.md.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::dispatch::RouteCtx;
use crate::domain::Platform;

pub(crate) fn json_response(status: StatusCode, body: Value) -> Response {
    let mut res = (status, axum::Json(body)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn with_header(mut res: Response, name: &'static str, value: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(value) {
        res.headers_mut().insert(HeaderName::from_static(name), v);
    }
    res
}

fn reason(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("Error")
}

/// RFC 6749 §5.2 `{"error","error_description"}`.
pub(crate) fn oauth(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(
        status,
        json!({ "error": error, "error_description": description }),
    )
}

fn oauth_error_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "invalid_client",
        503 => "temporarily_unavailable",
        s if s >= 500 => "server_error",
        _ => "invalid_request",
    }
}

/// X's RFC 7807 problem (`application/problem+json`).
pub(crate) fn x_problem(status: StatusCode, title: &str, detail: &str) -> Response {
    let res = json_response(
        status,
        json!({ "title": title, "type": "about:blank", "status": status.as_u16(), "detail": detail }),
    );
    with_header(res, "content-type", "application/problem+json")
}

/// The Graph API envelope (Facebook and Instagram).
pub(crate) struct Graph<'a> {
    pub message: &'a str,
    pub kind: &'a str,
    pub code: u32,
    pub subcode: Option<u32>,
}

pub(crate) fn graph(ctx: &RouteCtx, status: StatusCode, e: Graph<'_>) -> Response {
    json_response(status, json!({ "error": graph_error_object(ctx, e) }))
}

/// A Graph error with the `error_user_title` / `error_user_msg` pair Meta adds to errors a
/// person should read (media and publishing problems).
pub(crate) fn graph_for_user(
    ctx: &RouteCtx,
    status: StatusCode,
    e: Graph<'_>,
    user_title: &str,
    user_msg: &str,
) -> Response {
    let mut error = graph_error_object(ctx, e);
    error["error_user_title"] = json!(user_title);
    error["error_user_msg"] = json!(user_msg);
    json_response(status, json!({ "error": error }))
}

fn graph_error_object(ctx: &RouteCtx, e: Graph<'_>) -> Value {
    let mut error = json!({
        "message": e.message,
        "type": e.kind,
        "code": e.code,
        "fbtrace_id": ctx.trace_id("fbtrace", 11),
    });
    if let Some(sub) = e.subcode {
        error["error_subcode"] = json!(sub);
    }
    if e.code == 2 {
        error["is_transient"] = json!(true);
    }
    error
}

pub(crate) fn linkedin(
    status: StatusCode,
    service_code: Option<u32>,
    code: &str,
    message: &str,
) -> Response {
    let mut body = json!({ "status": status.as_u16(), "code": code, "message": message });
    if let Some(s) = service_code {
        body["serviceErrorCode"] = json!(s);
    }
    json_response(status, body)
}

pub(crate) fn pinterest(status: StatusCode, code: i64, message: &str) -> Response {
    json_response(status, json!({ "code": code, "message": message }))
}

/// TikTok's API envelope (not its OAuth endpoints, which use the RFC shape plus `log_id`).
pub(crate) fn tiktok(ctx: &RouteCtx, status: StatusCode, code: &str, message: &str) -> Response {
    json_response(
        status,
        json!({
            "data": {},
            "error": { "code": code, "message": message, "log_id": tiktok_log_id(ctx) },
        }),
    )
}

pub(crate) fn tiktok_oauth(
    ctx: &RouteCtx,
    status: StatusCode,
    error: &str,
    description: &str,
) -> Response {
    json_response(
        status,
        json!({ "error": error, "error_description": description, "log_id": tiktok_log_id(ctx) }),
    )
}

/// `202210112248442CB9319E1FB30C1073F3`: the time, then hex.
pub(crate) fn tiktok_log_id(ctx: &RouteCtx) -> String {
    format!(
        "{}{}",
        ctx.at.format("%Y%m%d%H%M%S"),
        ctx.trace_id("0123456789ABCDEF", 20)
    )
}

/// Google's JSON error envelope.
pub(crate) fn google(status: StatusCode, message: &str, reason: &str) -> Response {
    google_error(status, message, reason, "global")
}

/// Google's JSON error envelope with the error's `domain` (`youtube.quota`, `youtube.video`…).
pub(crate) fn google_error(
    status: StatusCode,
    message: &str,
    reason: &str,
    domain: &str,
) -> Response {
    let rpc_status = match status.as_u16() {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        405 => "METHOD_NOT_ALLOWED",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        s if s >= 500 => "INTERNAL",
        _ => "FAILED_PRECONDITION",
    };
    json_response(
        status,
        json!({ "error": {
            "code": status.as_u16(),
            "message": message,
            "errors": [{ "message": message, "domain": domain, "reason": reason }],
            "status": rpc_status,
        }}),
    )
}

pub(crate) fn google_unauthenticated() -> Response {
    let message = "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.";
    json_response(
        StatusCode::UNAUTHORIZED,
        json!({ "error": {
            "code": 401,
            "message": message,
            "errors": [{
                "message": "Invalid Credentials",
                "domain": "global",
                "reason": "authError",
                "location": "Authorization",
                "locationType": "header",
            }],
            "status": "UNAUTHENTICATED",
        }}),
    )
}

pub(crate) fn shopify(status: StatusCode, errors: Value) -> Response {
    json_response(status, json!({ "errors": errors }))
}

pub(crate) fn etsy(status: StatusCode, message: &str) -> Response {
    json_response(status, json!({ "error": message }))
}

/// Squarespace's error object; every field present even when null.
pub(crate) fn squarespace(
    ctx: &RouteCtx,
    status: StatusCode,
    kind: &str,
    subtype: Option<&str>,
    message: &str,
) -> Response {
    json_response(
        status,
        json!({
            "type": kind,
            "subtype": subtype,
            "message": message,
            "details": null,
            "contextId": ctx.trace_id("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 9),
        }),
    )
}

/// Squarespace's token endpoint, whose error shape is undocumented: the error object, plus the
/// RFC 6749 keys so a client reading either finds what it looks for.
pub(crate) fn squarespace_oauth(
    ctx: &RouteCtx,
    status: StatusCode,
    error: &str,
    description: &str,
) -> Response {
    let kind = if status == StatusCode::UNAUTHORIZED {
        "AUTHORIZATION_ERROR"
    } else {
        "INVALID_REQUEST_ERROR"
    };
    json_response(
        status,
        json!({
            "type": kind,
            "subtype": error.to_ascii_uppercase(),
            "message": description,
            "details": null,
            "contextId": ctx.trace_id("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 9),
            "error": error,
            "error_description": description,
        }),
    )
}

fn squarespace_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "INVALID_REQUEST_ERROR",
        401 | 403 => "AUTHORIZATION_ERROR",
        404 => "NOT_FOUND",
        405 => "METHOD_NOT_ALLOWED",
        409 => "CONFLICT",
        429 => "TOO_MANY_REQUESTS",
        503 => "SERVICE_UNAVAILABLE",
        s if s >= 500 => "INTERNAL_SERVER_ERROR",
        _ => "INVALID_REQUEST_ERROR",
    }
}

/// Whether a request went to one of the platform's OAuth endpoints, whose errors follow
/// RFC 6749 rather than the platform's API shape.
fn is_oauth_endpoint(ctx: &RouteCtx) -> bool {
    match ctx.platform {
        Platform::X => ctx.path.starts_with("/2/oauth2/"),
        Platform::Linkedin => ctx.host == "www.linkedin.com" && ctx.path.starts_with("/oauth/"),
        Platform::Tiktok => ctx.path.starts_with("/v2/oauth/"),
        Platform::Youtube => ctx.host == "oauth2.googleapis.com",
        Platform::Shopify => ctx.path.starts_with("/admin/oauth/"),
        Platform::Etsy => ctx.path.starts_with("/v3/public/oauth/"),
        Platform::Squarespace => ctx.host == "login.squarespace.com",
        Platform::Instagram | Platform::Facebook | Platform::Pinterest => false,
    }
}

/// Any status in the shape of the platform (and endpoint) the request was for.
pub(crate) fn generic(ctx: &RouteCtx, status: StatusCode, message: &str) -> Response {
    if is_oauth_endpoint(ctx) {
        let error = oauth_error_for(status);
        return match ctx.platform {
            Platform::Tiktok => tiktok_oauth(ctx, status, error, message),
            Platform::Squarespace => squarespace_oauth(ctx, status, error, message),
            _ => oauth(status, error, message),
        };
    }
    match ctx.platform {
        Platform::X => x_problem(status, reason(status), message),
        Platform::Instagram | Platform::Facebook => {
            let (kind, code) = match status.as_u16() {
                404 | 405 => ("GraphMethodException", 100),
                s if s >= 500 => ("OAuthException", 2),
                _ => ("OAuthException", 1),
            };
            graph(
                ctx,
                status,
                Graph {
                    message,
                    kind,
                    code,
                    subcode: None,
                },
            )
        }
        Platform::Linkedin => {
            let code = reason(status).to_ascii_uppercase().replace([' ', '-'], "_");
            linkedin(status, None, &code, message)
        }
        Platform::Pinterest => pinterest(status, i64::from(status.as_u16()), message),
        Platform::Tiktok => {
            let code = match status.as_u16() {
                401 => "access_token_invalid",
                429 => "rate_limit_exceeded",
                s if s >= 500 => "internal_error",
                _ => "invalid_params",
            };
            tiktok(ctx, status, code, message)
        }
        Platform::Youtube => {
            let reason = match status.as_u16() {
                404 => "notFound",
                405 => "methodNotAllowed",
                503 => "backendError",
                s if s >= 500 => "internalError",
                _ => "badRequest",
            };
            google(status, message, reason)
        }
        Platform::Shopify => shopify(status, json!(message)),
        Platform::Etsy => etsy(status, message),
        Platform::Squarespace => squarespace(ctx, status, squarespace_type(status), None, message),
    }
}

/// The `reject` fault: content the platform refuses for good, in its own words.
pub(crate) fn rejected(ctx: &RouteCtx, message: Option<&str>) -> Response {
    let says = |default: &'static str| message.map_or_else(|| default.to_owned(), str::to_owned);
    match ctx.platform {
        Platform::X => x_problem(
            StatusCode::FORBIDDEN,
            "Forbidden",
            &says("You are not allowed to create a Tweet with duplicate content."),
        ),
        Platform::Instagram => graph_for_user(
            ctx,
            StatusCode::BAD_REQUEST,
            Graph {
                message: &says("The image format is not supported."),
                kind: "OAuthException",
                code: 9004,
                subcode: Some(2207005),
            },
            "Unsupported format",
            "The image format is not supported. Only JPEG images can be published.",
        ),
        Platform::Facebook => graph(
            ctx,
            StatusCode::BAD_REQUEST,
            Graph {
                message: &says("(#506) Duplicate status message"),
                kind: "OAuthException",
                code: 506,
                subcode: None,
            },
        ),
        Platform::Linkedin => linkedin(
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            "DUPLICATE_POST",
            &says("Content is a duplicate of an existing post."),
        ),
        Platform::Pinterest => pinterest(
            StatusCode::BAD_REQUEST,
            1,
            &says("Invalid board_id: the board does not exist or Pins cannot be saved to it."),
        ),
        Platform::Tiktok => tiktok(
            ctx,
            StatusCode::FORBIDDEN,
            "spam_risk_text",
            &says("The post was not accepted: its text was flagged as spam."),
        ),
        Platform::Youtube => google(
            StatusCode::BAD_REQUEST,
            &says("The request metadata is invalid."),
            "invalidVideoMetadata",
        ),
        Platform::Shopify | Platform::Etsy | Platform::Squarespace => generic(
            ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            &says("The sandbox rejected this request (see /_sandbox/faults)."),
        ),
    }
}

pub(crate) fn not_found(ctx: &RouteCtx) -> Response {
    let message = format!(
        "The sandbox does not emulate {} https://{}{}.",
        ctx.method, ctx.host, ctx.path
    );
    generic(ctx, StatusCode::NOT_FOUND, &message)
}

pub(crate) fn method_not_allowed(ctx: &RouteCtx) -> Response {
    let message = format!(
        "{} is not allowed on https://{}{}.",
        ctx.method, ctx.host, ctx.path
    );
    generic(ctx, StatusCode::METHOD_NOT_ALLOWED, &message)
}

/// 429 with the platform's documented way of saying when to come back.
pub(crate) fn rate_limited(ctx: &RouteCtx, until: DateTime<Utc>, now: DateTime<Utc>) -> Response {
    let wait = (until - now).num_seconds().max(1);
    let status = StatusCode::TOO_MANY_REQUESTS;
    match ctx.platform {
        Platform::X => {
            let res = json_response(
                status,
                json!({ "errors": [{ "code": 88, "message": "Rate limit exceeded" }] }),
            );
            let res = with_header(res, "x-rate-limit-limit", "900");
            let res = with_header(res, "x-rate-limit-remaining", "0");
            with_header(res, "x-rate-limit-reset", &until.timestamp().to_string())
        }
        Platform::Instagram | Platform::Facebook => {
            // Instagram requests count against the app; Facebook user-token requests against the user.
            let (code, message) = if ctx.platform == Platform::Instagram {
                (4, "(#4) Application request limit reached")
            } else {
                (17, "(#17) User request limit reached")
            };
            let res = graph(
                ctx,
                status,
                Graph {
                    message,
                    kind: "OAuthException",
                    code,
                    subcode: None,
                },
            );
            let minutes = (wait + 59) / 60;
            let app_usage = json!({ "call_count": 100, "total_cputime": 30, "total_time": 45 });
            let buc = json!({ "sandbox": [{
                "type": if ctx.platform == Platform::Instagram { "instagram" } else { "pages" },
                "call_count": 100, "total_cputime": 30, "total_time": 45,
                "estimated_time_to_regain_access": minutes,
            }]});
            let res = with_header(res, "x-app-usage", &app_usage.to_string());
            with_header(res, "x-business-use-case-usage", &buc.to_string())
        }
        Platform::Linkedin => linkedin(
            status,
            Some(101),
            "TOO_MANY_REQUESTS",
            "Resource level throttle limit for calls to this resource is reached.",
        ),
        Platform::Pinterest => pinterest(
            status,
            429,
            "You have exceeded your rate limit. Try again later.",
        ),
        Platform::Tiktok => tiktok(
            ctx,
            status,
            "rate_limit_exceeded",
            "The API rate limit was exceeded. Try again later.",
        ),
        Platform::Youtube => {
            let message = "Resource has been exhausted (e.g. check quota).";
            let res = json_response(
                status,
                json!({ "error": {
                    "code": 429,
                    "message": message,
                    "errors": [{ "message": message, "domain": "global", "reason": "rateLimitExceeded" }],
                    "status": "RESOURCE_EXHAUSTED",
                    "details": [{
                        "@type": "type.googleapis.com/google.rpc.RetryInfo",
                        "retryDelay": format!("{wait}s"),
                    }],
                }}),
            );
            with_header(res, "retry-after", &wait.to_string())
        }
        Platform::Shopify => {
            let res = json_response(
                status,
                json!({
                    "errors": [{ "message": "Throttled", "extensions": { "code": "THROTTLED" } }],
                    "extensions": { "cost": {
                        "requestedQueryCost": 1,
                        "actualQueryCost": null,
                        "throttleStatus": { "maximumAvailable": 2000.0, "currentlyAvailable": 0.0, "restoreRate": 100.0 },
                    }},
                }),
            );
            with_header(res, "retry-after", &wait.to_string())
        }
        Platform::Etsy => {
            let res = etsy(status, "You have exceeded your API rate limit.");
            let res = with_header(res, "retry-after", &wait.to_string());
            let res = with_header(res, "x-limit-per-second", "10");
            let res = with_header(res, "x-remaining-this-second", "0");
            let res = with_header(res, "x-limit-per-day", "10000");
            // A wait of more than a second means the daily allowance is gone, not the per-second one.
            let today = if wait > 1 { "0" } else { "9000" };
            with_header(res, "x-remaining-today", today)
        }
        Platform::Squarespace => squarespace(
            ctx,
            status,
            "TOO_MANY_REQUESTS",
            None,
            "Too many requests. Wait one minute before trying again.",
        ),
    }
}
