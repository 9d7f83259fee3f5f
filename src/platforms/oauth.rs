//! Shared OAuth plumbing: sending token requests in each platform's documented form, reading
//! the usual token response, and classifying failures.

use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::{OAuthError, TokenSet};
use crate::config::PlatformCredentials;

/// How a token request carries the client's credentials.
pub enum ClientAuth<'a> {
    /// `Authorization: Basic base64(id:secret)`.
    Basic(&'a PlatformCredentials),
    /// Whatever the caller put in the body (or no secret at all, as for Etsy's PKCE flow).
    InBody,
}

pub enum Body<'a> {
    Form(&'a [(&'a str, &'a str)]),
    Json(Value),
}

pub fn basic_auth(creds: &PlatformCredentials) -> String {
    let raw = format!(
        "{}:{}",
        creds.client_id,
        creds.client_secret.expose_secret()
    );
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// Sends a token-endpoint request and returns the JSON answer, or a classified error.
pub async fn token_request(
    request: reqwest::RequestBuilder,
    auth: ClientAuth<'_>,
    body: Body<'_>,
) -> Result<Value, OAuthError> {
    let mut request = request.header(reqwest::header::ACCEPT, "application/json");
    if let ClientAuth::Basic(creds) = auth {
        request = request.header(reqwest::header::AUTHORIZATION, basic_auth(creds));
    }
    request = match body {
        Body::Form(fields) => request.form(fields),
        Body::Json(v) => request.json(&v),
    };
    send_json(request).await
}

/// Sends any request and returns its JSON body, classifying HTTP failures the OAuth way.
pub async fn send_json(request: reqwest::RequestBuilder) -> Result<Value, OAuthError> {
    let res = request.send().await.map_err(network)?;
    let status = res.status();
    let retry_after = res
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_secs);
    let text = res.text().await.map_err(network)?;
    let json: Value = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    if status.is_success() {
        return Ok(json);
    }
    Err(classify(status.as_u16(), &json, retry_after))
}

pub fn network(e: reqwest::Error) -> OAuthError {
    OAuthError::Network(if e.is_timeout() {
        "timed out".into()
    } else {
        "connection failed".into()
    })
}

/// Maps an error answer to what it means for us. Understands RFC 6749 (`error`), the Graph
/// envelope (`error.code` 190), Google's envelope and plain messages.
pub fn classify(status: u16, body: &Value, retry_after: Option<Duration>) -> OAuthError {
    if status == 429 {
        return OAuthError::RateLimited { retry_after };
    }
    if status >= 500 {
        return OAuthError::Server { status };
    }
    let message = error_message(body);
    let code = body
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match code {
        "invalid_grant" => return OAuthError::InvalidGrant(message),
        "invalid_client" | "unauthorized_client" => return OAuthError::InvalidClient(message),
        "access_denied" => return OAuthError::Denied(message),
        _ => {}
    }
    // Graph API: code 190 is an invalid or expired token.
    if body.pointer("/error/code").and_then(Value::as_i64) == Some(190) {
        return OAuthError::InvalidGrant(message);
    }
    if status == 401 {
        return OAuthError::InvalidGrant(message);
    }
    OAuthError::Rejected { status, message }
}

fn error_message(body: &Value) -> String {
    let candidates = [
        "/error_description",
        "/error/message",
        "/message",
        "/detail",
        "/error/error_user_msg",
        "/errors",
    ];
    for p in candidates {
        if let Some(s) = body.pointer(p).and_then(Value::as_str) {
            return s.chars().take(300).collect();
        }
    }
    match body {
        Value::String(s) => s.chars().take(300).collect(),
        Value::Object(_) => body
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("error")
            .to_owned(),
        _ => "error".to_owned(),
    }
}

/// Reads `access_token`, `refresh_token`, `expires_in`, `refresh_token_expires_in` and `scope`
/// (space- or comma-separated) from a standard token response.
pub fn standard_tokens(json: &Value, now: DateTime<Utc>) -> Result<TokenSet, OAuthError> {
    let access = json
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| OAuthError::Protocol("no access_token in the token response".into()))?;
    let refresh = json
        .get("refresh_token")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let expires_at = seconds(json.get("expires_in")).map(|s| now + chrono::Duration::seconds(s));
    let refresh_expires_at = seconds(
        json.get("refresh_token_expires_in")
            .or_else(|| json.get("refresh_expires_in")),
    )
    .map(|s| now + chrono::Duration::seconds(s));
    Ok(TokenSet {
        access_token: SecretString::from(access.to_owned()),
        refresh_token: refresh.map(|r| SecretString::from(r.to_owned())),
        expires_at,
        refresh_expires_at,
        scopes: scopes(json.get("scope")),
    })
}

/// A number of seconds sent as a JSON number or a numeric string.
pub fn seconds(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

pub fn scopes(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => s
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

pub fn str_field<'a>(json: &'a Value, pointer: &str) -> Result<&'a str, OAuthError> {
    json.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| OAuthError::Protocol(format!("missing {pointer}")))
}

/// A string or number field as a string (ids are sometimes numbers).
pub fn id_field(json: &Value, pointer: &str) -> Result<String, OAuthError> {
    match json.pointer(pointer) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => Err(OAuthError::Protocol(format!("missing {pointer}"))),
    }
}

/// `base` with `params` appended as its query, then addressed for the sandbox if configured.
pub fn authorize_url(
    http: &super::Http,
    platform: crate::domain::Platform,
    base: &str,
    params: &[(&str, &str)],
) -> url::Url {
    let mut real = url::Url::parse(base).expect("authorize base URLs are valid");
    real.query_pairs_mut().extend_pairs(params);
    http.url(platform, real.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn failures_are_classified_by_what_they_mean() {
        assert!(matches!(
            classify(400, &json!({"error":"invalid_grant"}), None),
            OAuthError::InvalidGrant(_)
        ));
        assert!(matches!(
            classify(401, &json!({"error":"invalid_client"}), None),
            OAuthError::InvalidClient(_)
        ));
        assert!(matches!(
            classify(
                400,
                &json!({"error":{"code":190,"message":"expired"}}),
                None
            ),
            OAuthError::InvalidGrant(_)
        ));
        assert!(matches!(
            classify(503, &json!({}), None),
            OAuthError::Server { status: 503 }
        ));
        assert!(matches!(
            classify(429, &json!({}), None),
            OAuthError::RateLimited { .. }
        ));
        assert!(matches!(
            classify(400, &json!({"error":"invalid_request"}), None),
            OAuthError::Rejected { status: 400, .. }
        ));
    }

    #[test]
    fn standard_token_responses_are_read_with_either_scope_separator() {
        let now = Utc::now();
        let t = standard_tokens(&json!({"access_token":"a","refresh_token":"r","expires_in":7200,"scope":"tweet.read users.read"}), now).unwrap();
        assert_eq!(t.scopes, vec!["tweet.read", "users.read"]);
        assert_eq!(t.expires_at, Some(now + chrono::Duration::seconds(7200)));
        let t = standard_tokens(
            &json!({"access_token":"a","scope":"a,b","expires_in":"60"}),
            now,
        )
        .unwrap();
        assert_eq!(t.scopes, vec!["a", "b"]);
        assert!(t.refresh_token.is_none());
        assert!(standard_tokens(&json!({"token":"x"}), now).is_err());
    }
}
