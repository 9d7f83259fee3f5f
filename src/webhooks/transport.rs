//! How a webhook leaves the building: one `POST`, answered with a status code and a short body.
//!
//! The sender only knows [`WebhookTransport`], so the plain reqwest client here can be swapped for
//! the SSRF-safe fetcher (`crate::net::safe_fetch`) without touching delivery.

use std::time::Duration;

use futures::StreamExt as _;

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

/// Plain reqwest: no redirects followed (a receiver must answer itself), a 10 s limit.
pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl ReqwestTransport {
    pub fn new() -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .user_agent("Picscripter-Webhooks/1")
            .build()
            .expect("a client with static settings builds");
        Self { client }
    }
}

impl Default for ReqwestTransport {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait::async_trait]
impl WebhookTransport for ReqwestTransport {
    async fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: &str,
    ) -> Result<(u16, String), String> {
        let mut req = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_owned());
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        let res = req.send().await.map_err(describe)?;
        let status = res.status().as_u16();
        // Read no more than we keep, so a huge answer costs nothing.
        let mut kept = Vec::with_capacity(MAX_RESPONSE_BYTES);
        let mut stream = res.bytes_stream();
        while kept.len() < MAX_RESPONSE_BYTES {
            match stream.next().await {
                Some(Ok(chunk)) => kept.extend_from_slice(&chunk),
                Some(Err(_)) | None => break,
            }
        }
        Ok((status, truncate_utf8(&kept, MAX_RESPONSE_BYTES)))
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

fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        format!("No answer within {} seconds.", TIMEOUT.as_secs())
    } else if e.is_connect() {
        "Couldn't connect to the endpoint.".to_owned()
    } else if e.is_redirect() {
        "The endpoint answered with a redirect; webhooks don't follow redirects.".to_owned()
    } else {
        "The request failed before an answer came back.".to_owned()
    }
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
