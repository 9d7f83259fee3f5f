//! How a webhook leaves the building: one `POST`, answered with a status code and a short body.
//!
//! The sender only knows [`WebhookTransport`]; the app sends through the SSRF-safe fetcher
//! (`crate::net::safe_fetch`), so an endpoint can't point inside our network.

use std::time::Duration;

/// At most this much of a receiver's answer is kept.
pub const MAX_RESPONSE_BYTES: usize = 1024;
/// A receiver that hasn't answered within this long has failed this attempt.
pub const TIMEOUT: Duration = Duration::from_secs(10);

#[async_trait::async_trait]
pub trait WebhookTransport: Send + Sync {
    /// Posts `body` to `url`; the status code and at most [`MAX_RESPONSE_BYTES`] of the answer,
    /// or why nothing came back, in words fit for the delivery log.
    async fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: &str,
    ) -> Result<(u16, String), String>;
}

/// Through the SSRF-safe fetcher: the endpoint's address (and any redirect hop) must not point
/// inside our network; a 10 s limit; an answer over 64 kB counts as a failed attempt.
pub struct SafeTransport {
    fetch: crate::net::SafeFetch,
}

impl SafeTransport {
    pub fn new(fetch: crate::net::SafeFetch) -> Self {
        Self { fetch }
    }
}

/// The most of an answer read before giving up on it.
const MAX_READ_BYTES: u64 = 64 * 1024;

#[async_trait::async_trait]
impl WebhookTransport for SafeTransport {
    async fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: &str,
    ) -> Result<(u16, String), String> {
        use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, USER_AGENT};
        let mut map = HeaderMap::new();
        map.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        map.insert(
            USER_AGENT,
            HeaderValue::from_static("Picscripter-Webhooks/1"),
        );
        for (name, value) in headers {
            let value = HeaderValue::from_str(value).map_err(|e| e.to_string())?;
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?;
            map.insert(name, value);
        }
        let fetched = self
            .fetch
            .post(
                url,
                map,
                bytes::Bytes::from(body.to_owned()),
                crate::net::Limits::new(MAX_READ_BYTES, TIMEOUT),
            )
            .await
            .map_err(|e| e.to_string())?;
        Ok((
            fetched.status.as_u16(),
            truncate_utf8(&fetched.bytes, MAX_RESPONSE_BYTES),
        ))
    }
}

/// At most `max` bytes of `bytes` as text, cut at a character boundary.
pub fn truncate_utf8(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(max)]).into_owned();
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_answers_are_cut_to_one_kilobyte_on_a_character_boundary() {
        let long = "é".repeat(1000);
        let kept = truncate_utf8(long.as_bytes(), MAX_RESPONSE_BYTES);
        assert!(kept.len() <= MAX_RESPONSE_BYTES);
        assert!(kept.chars().all(|c| c == 'é'));
        assert_eq!(truncate_utf8(b"ok", MAX_RESPONSE_BYTES), "ok");
    }
}
