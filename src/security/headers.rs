//! Security headers on every response.
//!
//! The Content-Security-Policy allows scripts, styles and fonts from our own origin only — no
//! inline script, no eval (htmx is configured with `allowEval: false` to match) — and forbids
//! framing. HSTS is sent only when we are served over https.

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// `extra_origins` (the sandbox's, in development) may serve images and receive the redirects
/// that follow our own forms (Chrome applies `form-action` to redirects: the Shopify form
/// redirects to the shop's consent page).
pub fn content_security_policy(extra_origins: &[String]) -> String {
    let extra: String = extra_origins.iter().map(|o| format!(" {o}")).collect();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:{extra}; \
         font-src 'self'; connect-src 'self'; media-src 'self' https:{extra}; object-src 'none'; \
         base-uri 'self'; form-action 'self' https://*.myshopify.com{extra}; frame-ancestors 'none'"
    )
}

pub async fn set(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let mut put = |name: HeaderName, value: &str| {
        if !h.contains_key(&name)
            && let Ok(v) = HeaderValue::from_str(value)
        {
            h.insert(name, v);
        }
    };
    put(header::CONTENT_SECURITY_POLICY, &state.csp);
    put(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    put(header::REFERRER_POLICY, "strict-origin-when-cross-origin");
    put(header::X_FRAME_OPTIONS, "DENY");
    put(
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    put(
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=()",
    );
    if state.config.is_https() {
        put(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=63072000; includeSubDomains",
        );
    }
    res
}
