//! Gemini as a caption provider: `generateContent` with a `responseSchema`, the JSON read from
//! the text part. INTERFACE ONLY — bodies are filled in by the gemini branch.

use std::collections::BTreeMap;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::ai::builtin::{Brief, ProductFacts};
use crate::config::Config;
use crate::domain::platform::Platform;

/// Where and how to call Gemini.
#[derive(Clone)]
pub struct GeminiConfig {
    pub api_key: SecretString,
    pub model: String,
    /// `https://generativelanguage.googleapis.com`, or with `SANDBOX_URL` set
    /// `{SANDBOX_URL}/gemini/generativelanguage.googleapis.com`.
    pub base_url: Url,
    pub timeout: Duration,
}

impl GeminiConfig {
    /// `None` without `GEMINI_API_KEY`.
    pub fn from_config(_config: &Config) -> Option<Self> {
        todo!()
    }
}

/// An image sent inline (base64) with a request: `image/jpeg`, `image/png` or `image/webp`.
#[derive(Clone, Debug)]
pub struct Image {
    pub mime: String,
    pub data: Vec<u8>,
}

/// What to write captions for.
pub struct CaptionsRequest<'a> {
    pub brief: &'a Brief<'a>,
    pub platforms: &'a [Platform],
    /// A language name in English ("English", "Spanish").
    pub language: &'a str,
    pub images: &'a [Image],
    /// Asked for again: a different take from this text (one platform's current caption).
    pub avoid: Option<&'a str>,
    pub variation: u64,
}

/// One correction Gemini suggests: `before` (verbatim from the text) → `after`, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Correction {
    pub before: String,
    pub after: String,
    pub reason: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rewrite {
    Shorter,
    Longer,
}

/// Whether one image shows what the product is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageVerdict {
    pub matches: bool,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum GeminiError {
    #[error("rate limited")]
    RateLimited { retry_after: Option<Duration> },
    #[error("blocked: {reason}")]
    Blocked { reason: String },
    #[error("incomplete: {finish_reason}")]
    Incomplete { finish_reason: String },
    #[error("malformed JSON")]
    Malformed,
    #[error("timed out")]
    Timeout,
    #[error("model {model} retired")]
    ModelRetired { model: String },
    #[error("key refused")]
    BadKey,
    #[error("unavailable ({status}): {message}")]
    Unavailable { status: u16, message: String },
}

impl GeminiError {
    /// What the seller reads, in plain words.
    pub fn user_message(&self) -> String {
        todo!()
    }

    /// A configuration problem the server's operator must fix (retired model, refused key).
    pub fn is_configuration(&self) -> bool {
        matches!(self, GeminiError::ModelRetired { .. } | GeminiError::BadKey)
    }
}

#[derive(Clone)]
pub struct Gemini {
    _config: GeminiConfig,
}

impl Gemini {
    pub fn new(config: GeminiConfig) -> Self {
        Self { _config: config }
    }

    pub fn model(&self) -> &str {
        &self._config.model
    }

    /// One caption per platform, in one call.
    pub async fn captions(
        &self,
        _req: &CaptionsRequest<'_>,
    ) -> Result<BTreeMap<Platform, String>, GeminiError> {
        todo!()
    }

    pub async fn proofread(
        &self,
        _text: &str,
        _language: &str,
    ) -> Result<Vec<Correction>, GeminiError> {
        todo!()
    }

    pub async fn rewrite(
        &self,
        _text: &str,
        _platform: Platform,
        _how: Rewrite,
        _language: &str,
        _product: Option<&ProductFacts<'_>>,
    ) -> Result<String, GeminiError> {
        todo!()
    }

    /// One verdict per image, in order.
    pub async fn check_images(
        &self,
        _product: &ProductFacts<'_>,
        _images: &[Image],
    ) -> Result<Vec<ImageVerdict>, GeminiError> {
        todo!()
    }
}
