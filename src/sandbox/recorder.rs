//! The request log behind `GET /_sandbox/requests`: every platform request in arrival order,
//! with the headers a client is most likely to get wrong and the body as text. An entry is
//! written when the request arrives (status `null`) and completed when the answer leaves, so a
//! request the sandbox is deliberately hanging on is visible too. The log is a ring of at most
//! `request_log_limit` entries, and a body is kept as at most 64 KiB of text: media bytes are
//! replaced by a one-line summary, so uploads cost the log nothing.

use std::collections::{BTreeMap, VecDeque};

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::Platform;

/// Bodies are kept up to this many bytes; beyond it they are cut (on a character boundary).
pub(crate) const BODY_LIMIT: usize = 64 * 1024;

/// Headers worth keeping: the ones the platforms check. Everything else is noise in the log.
const KEPT_HEADERS: &[&str] = &[
    "authorization",
    "content-type",
    "x-api-key",
    "user-agent",
    "x-shopify-access-token",
    "linkedin-version",
    "x-restli-protocol-version",
    "x-goog-api-key",
    "content-range",
    "x-upload-content-type",
    "x-upload-content-length",
];

#[derive(Clone, Debug, Serialize)]
pub struct RecordedRequest {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub platform: Platform,
    pub method: String,
    pub host: String,
    pub path: String,
    pub query: String,
    pub headers: BTreeMap<String, String>,
    pub body: String,
    /// `None` while the sandbox is still answering.
    pub status: Option<u16>,
}

pub(crate) struct RequestLog {
    entries: VecDeque<RecordedRequest>,
    next_seq: u64,
    limit: usize,
}

/// What the dispatcher knows about a request when it arrives.
pub(crate) struct Arrival<'a> {
    pub at: DateTime<Utc>,
    pub platform: Platform,
    pub method: &'a str,
    pub host: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

impl RequestLog {
    pub fn new(limit: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            next_seq: 1,
            limit: limit.max(1),
        }
    }

    pub fn start(&mut self, a: Arrival<'_>) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let headers = a
            .headers
            .iter()
            .filter(|(name, _)| KEPT_HEADERS.contains(&name.as_str()))
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        if self.entries.len() >= self.limit {
            self.entries.pop_front();
        }
        self.entries.push_back(RecordedRequest {
            seq,
            at: a.at,
            platform: a.platform,
            method: a.method.to_owned(),
            host: a.host.to_owned(),
            path: a.path.to_owned(),
            query: a.query.to_owned(),
            headers,
            body: truncated_text(a.body),
            status: None,
        });
        seq
    }

    pub fn finish(&mut self, seq: u64, status: u16) {
        if let Some(e) = self.entries.iter_mut().rev().find(|e| e.seq == seq) {
            e.status = Some(status);
        }
    }

    pub fn list(&self, platform: Option<Platform>) -> Vec<RecordedRequest> {
        self.entries
            .iter()
            .filter(|e| platform.is_none_or(|p| e.platform == p))
            .cloned()
            .collect()
    }

    pub fn recent(&self, n: usize) -> Vec<RecordedRequest> {
        self.entries.iter().rev().take(n).cloned().collect()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

fn truncated_text(body: &[u8]) -> String {
    let kept = &body[..body.len().min(BODY_LIMIT)];
    match std::str::from_utf8(kept) {
        Ok(text) => text.to_owned(),
        // Cut in the middle of a character: keep what comes before it.
        Err(e) if e.error_len().is_none() => {
            String::from_utf8_lossy(&kept[..e.valid_up_to()]).into_owned()
        }
        // Not text (an image, a video chunk, a multipart body with a file): a summary is all
        // a person reading the log needs.
        Err(_) => format!("[{} bytes of binary data]", body.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_bodies_are_cut_at_64_kib_on_a_character_boundary() {
        let body = "é".repeat(BODY_LIMIT);
        let kept = truncated_text(body.as_bytes());
        assert!(kept.len() <= BODY_LIMIT);
        assert!(kept.len() > BODY_LIMIT - 2);
        assert!(kept.chars().all(|c| c == 'é'));
    }

    #[test]
    fn binary_bodies_are_summarised_not_kept() {
        let body = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x80, 0x81];
        assert_eq!(truncated_text(&body), "[8 bytes of binary data]");
    }
}
