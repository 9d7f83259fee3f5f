//! Gemini as a caption provider: `generateContent` with a `responseSchema`, the JSON read from
//! the text part.
//!
//! Every call is one request in JSON mode. An answer that isn't the JSON asked for is asked for
//! once more, then given up on ([`GeminiError::Malformed`]); everything else Google can say
//! (a safety block, a rate limit, a retired model, a refused key) becomes a [`GeminiError`]
//! whose [`user_message`](GeminiError::user_message) a seller can act on. The API key only
//! ever travels in the `x-goog-api-key` header, never in a URL or a log line.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use url::Url;

use crate::ai::builtin::{Brief, ProductFacts};
use crate::config::Config;
use crate::domain::caption::{self, CountUnit, TextField};
use crate::domain::platform::Platform;
use crate::platforms::http::USER_AGENT;

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
    pub fn from_config(config: &Config) -> Option<Self> {
        let api_key = config.gemini_api_key.clone()?;
        Some(Self {
            api_key,
            model: config.gemini_model.clone(),
            base_url: base_url(config.sandbox_url.as_ref()),
            timeout: Duration::from_secs(config.gemini_timeout_secs),
        })
    }
}

/// Google's host, or its address in the sandbox (any path prefix of `SANDBOX_URL` is kept).
fn base_url(sandbox: Option<&Url>) -> Url {
    match sandbox {
        None => Url::parse(GOOGLE_BASE).expect("the Gemini base URL is a valid URL"),
        Some(s) => {
            let mut out = s.clone();
            let prefix = s.path().trim_end_matches('/');
            out.set_path(&format!("{prefix}/gemini/{GOOGLE_HOST}"));
            out.set_query(None);
            out
        }
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
        match self {
            GeminiError::RateLimited {
                retry_after: Some(after),
            } => format!(
                "Gemini is busy right now. Try again in {}.",
                human_delay(*after)
            ),
            GeminiError::RateLimited { retry_after: None } => {
                "Gemini is busy right now. Try again in a minute.".to_owned()
            }
            GeminiError::Blocked { reason } => format!(
                "Gemini declined to write this (its safety filter: {reason}). Change the brief or \
                 the images and try again."
            ),
            GeminiError::Incomplete { finish_reason } => {
                let hint = match finish_reason.as_str() {
                    "MAX_TOKENS" => "Try again, or ask for a shorter caption.",
                    "RECITATION" => {
                        "It was repeating text it had seen elsewhere. Reword the brief and try \
                         again."
                    }
                    "LANGUAGE" => "It can't write in that language. Pick another and try again.",
                    _ => "Try again.",
                };
                format!("Gemini stopped before finishing ({finish_reason}). {hint}")
            }
            GeminiError::Malformed => {
                "Gemini sent back something we couldn't read, twice. Try again.".to_owned()
            }
            GeminiError::Timeout => {
                "Gemini took too long to answer. Try again; your text is kept.".to_owned()
            }
            GeminiError::ModelRetired { model } => format!(
                "The AI model \"{model}\" is no longer available. Ask whoever runs Picscripter \
                 to set GEMINI_MODEL to a current model."
            ),
            GeminiError::BadKey => "Gemini refused the server's API key. Ask whoever runs \
                                    Picscripter to check GEMINI_API_KEY."
                .to_owned(),
            GeminiError::Unavailable { status: 0, .. } => {
                "Gemini can't be reached right now. Try again in a few minutes.".to_owned()
            }
            GeminiError::Unavailable { status, .. } => {
                format!("Gemini isn't available right now ({status}). Try again in a few minutes.")
            }
        }
    }

    /// A configuration problem the server's operator must fix (retired model, refused key).
    pub fn is_configuration(&self) -> bool {
        matches!(self, GeminiError::ModelRetired { .. } | GeminiError::BadKey)
    }
}

/// "32 s", "1.5 s", "2 min".
fn human_delay(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs >= 120.0 {
        format!("{} min", (secs / 60.0).round())
    } else if d.subsec_millis() == 0 || secs >= 10.0 {
        format!("{} s", secs.round())
    } else {
        format!("{:.1} s", secs)
    }
}

#[derive(Clone)]
pub struct Gemini {
    config: GeminiConfig,
    http: reqwest::Client,
}

impl Gemini {
    pub fn new(config: GeminiConfig) -> Self {
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(Duration::from_secs(5))
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("the HTTP client configuration is valid");
        Self { config, http }
    }

    pub fn model(&self) -> &str {
        &self.config.model
    }

    /// One caption per platform, in one call.
    #[tracing::instrument(skip_all, fields(model = %self.config.model, platforms = req.platforms.len(), images = req.images.len()))]
    pub async fn captions(
        &self,
        req: &CaptionsRequest<'_>,
    ) -> Result<BTreeMap<Platform, String>, GeminiError> {
        if req.platforms.is_empty() {
            return Ok(BTreeMap::new());
        }
        let mut parts = vec![Part::Text(captions_prompt(req))];
        parts.extend(req.images.iter().map(Part::Image));
        let platforms = req.platforms;
        self.generate(
            CAPTIONS_SYSTEM,
            &parts,
            &captions_schema(platforms),
            0.9,
            |answer: BTreeMap<String, serde_json::Value>| {
                platforms
                    .iter()
                    .map(|&p| {
                        let text = answer.get(p.as_str())?.as_str()?.trim();
                        (!text.is_empty()).then(|| (p, text.to_owned()))
                    })
                    .collect()
            },
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(model = %self.config.model, chars = text.chars().count()))]
    pub async fn proofread(
        &self,
        text: &str,
        language: &str,
    ) -> Result<Vec<Correction>, GeminiError> {
        if text.trim().is_empty() {
            return Ok(Vec::new());
        }
        let prompt = format!(
            "Proofread this {language} social media caption. Suggest only fixes of spelling, \
             grammar, punctuation and spacing. Do not rewrite for style or tone. Never touch \
             links, prices, #hashtags or @mentions. For each fix, `before` is the exact \
             mistaken passage copied verbatim from the text (keep it short: the word or few \
             words around the mistake), `after` is that passage corrected, and `reason` says \
             why in a few plain {language} words. If nothing needs fixing, return an empty \
             list.\n\nText:\n\"\"\"\n{text}\n\"\"\""
        );
        let schema = json!({
            "type": "OBJECT",
            "properties": {
                "corrections": {
                    "type": "ARRAY",
                    "items": {
                        "type": "OBJECT",
                        "properties": {
                            "before": { "type": "STRING", "description": "Verbatim from the text." },
                            "after": { "type": "STRING" },
                            "reason": { "type": "STRING" },
                        },
                        "required": ["before", "after", "reason"],
                        "propertyOrdering": ["before", "after", "reason"],
                    },
                },
            },
            "required": ["corrections"],
        });
        let found: Vec<Correction> = self
            .generate(
                PROOFREAD_SYSTEM,
                &[Part::Text(prompt)],
                &schema,
                0.1,
                |answer: CorrectionsAnswer| Some(answer.corrections),
            )
            .await?
            .into_iter()
            .map(|c| Correction {
                before: c.before,
                after: c.after,
                reason: c.reason,
            })
            .collect();
        Ok(usable_corrections(text, found))
    }

    #[tracing::instrument(skip_all, fields(model = %self.config.model, %platform, how = ?how))]
    pub async fn rewrite(
        &self,
        text: &str,
        platform: Platform,
        how: Rewrite,
        language: &str,
        product: Option<&ProductFacts<'_>>,
    ) -> Result<String, GeminiError> {
        let mut prompt = String::new();
        let length = text.chars().count();
        match how {
            Rewrite::Shorter => {
                let target = (length * 2).div_ceil(3);
                let _ = writeln!(
                    prompt,
                    "Rewrite this {} caption shorter: about {target} characters (it is \
                     {length} now). Keep every link, every price and the call to action \
                     exactly as written.",
                    platform.display_name()
                );
            }
            Rewrite::Longer => {
                let _ = writeln!(
                    prompt,
                    "Rewrite this {} caption longer, adding only details that are true: take \
                     them from the product facts below, never invent any. Keep every link and \
                     price exactly as written.",
                    platform.display_name()
                );
            }
        }
        if let Some(limit) = limit_phrase(platform) {
            let _ = writeln!(prompt, "Stay within {limit}.");
        }
        let _ = writeln!(
            prompt,
            "Write in {language}. Never invent facts, prices or discounts."
        );
        if let Some(product) = product {
            prompt.push('\n');
            product_facts(&mut prompt, product);
        }
        let _ = write!(prompt, "\nCaption:\n\"\"\"\n{text}\n\"\"\"");
        let schema = json!({
            "type": "OBJECT",
            "properties": { "text": { "type": "STRING", "description": "The rewritten caption." } },
            "required": ["text"],
        });
        self.generate(
            CAPTIONS_SYSTEM,
            &[Part::Text(prompt)],
            &schema,
            0.7,
            |answer: TextAnswer| {
                let text = answer.text.trim();
                (!text.is_empty()).then(|| text.to_owned())
            },
        )
        .await
    }

    /// One verdict per image, in order.
    #[tracing::instrument(skip_all, fields(model = %self.config.model, images = images.len()))]
    pub async fn check_images(
        &self,
        product: &ProductFacts<'_>,
        images: &[Image],
    ) -> Result<Vec<ImageVerdict>, GeminiError> {
        if images.is_empty() {
            return Ok(Vec::new());
        }
        let mut prompt = format!(
            "A shop wants to post the {n} attached image(s) about one product. For each image, \
             in the order attached, say whether it shows this product, or at least something \
             of its kind (judge by the title and the tags). Give a short reason in plain words. \
             Answer with exactly {n} verdict(s).\n\n",
            n = images.len()
        );
        let _ = writeln!(prompt, "Product: \"{}\"", product.title);
        if !product.tags.is_empty() {
            let _ = writeln!(prompt, "Tags: {}", product.tags.join(", "));
        }
        let mut parts = vec![Part::Text(prompt)];
        parts.extend(images.iter().map(Part::Image));
        let schema = json!({
            "type": "OBJECT",
            "properties": {
                "images": {
                    "type": "ARRAY",
                    "items": {
                        "type": "OBJECT",
                        "properties": {
                            "matches": { "type": "BOOLEAN" },
                            "reason": { "type": "STRING" },
                        },
                        "required": ["matches", "reason"],
                        "propertyOrdering": ["matches", "reason"],
                    },
                },
            },
            "required": ["images"],
        });
        let n = images.len();
        self.generate(
            IMAGES_SYSTEM,
            &parts,
            &schema,
            0.0,
            |answer: ImagesAnswer| {
                (answer.images.len() == n).then(|| {
                    answer
                        .images
                        .into_iter()
                        .map(|v| ImageVerdict {
                            matches: v.matches,
                            reason: v.reason.trim().to_owned(),
                        })
                        .collect()
                })
            },
        )
        .await
    }

    /// Asks twice at most: an answer that isn't JSON, or doesn't have the shape `accept` wants
    /// (it returns `None`), is asked for again once, then is [`GeminiError::Malformed`].
    async fn generate<T, R>(
        &self,
        system: &str,
        parts: &[Part<'_>],
        schema: &serde_json::Value,
        temperature: f32,
        accept: impl Fn(T) -> Option<R>,
    ) -> Result<R, GeminiError>
    where
        T: DeserializeOwned,
    {
        for attempt in 1..=2 {
            match self.generate_json(system, parts, schema, temperature).await {
                Ok(value) => {
                    if let Some(out) = serde_json::from_value(value).ok().and_then(&accept) {
                        return Ok(out);
                    }
                    tracing::warn!(attempt, "Gemini's JSON had the wrong shape");
                }
                Err(GeminiError::Malformed) => {
                    tracing::warn!(attempt, "Gemini's answer was not JSON");
                }
                Err(e) => return Err(e),
            }
        }
        Err(GeminiError::Malformed)
    }

    /// One `generateContent` call in JSON mode; the answer's text parsed as JSON.
    async fn generate_json(
        &self,
        system: &str,
        parts: &[Part<'_>],
        schema: &serde_json::Value,
        temperature: f32,
    ) -> Result<serde_json::Value, GeminiError> {
        let body = request_body(system, parts, schema, temperature);
        let res = self
            .http
            .post(self.endpoint())
            .header("x-goog-api-key", self.config.api_key.expose_secret())
            .json(&body)
            .send()
            .await
            .map_err(transport_error)?;
        let status = res.status().as_u16();
        let retry_after = res
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = res.text().await.map_err(transport_error)?;
        if status != 200 {
            let err = error_from(status, &text, retry_after.as_deref(), &self.config.model);
            tracing::warn!(status, error = %err, "Gemini refused the request");
            return Err(err);
        }
        let answer: GenerateResponse =
            serde_json::from_str(&text).map_err(|_| GeminiError::Malformed)?;
        let text = answer_text(answer)?;
        serde_json::from_str(strip_fence(&text)).map_err(|_| GeminiError::Malformed)
    }

    fn endpoint(&self) -> String {
        format!(
            "{}/v1beta/models/{}:generateContent",
            self.config.base_url.as_str().trim_end_matches('/'),
            self.config.model
        )
    }
}

const GOOGLE_HOST: &str = "generativelanguage.googleapis.com";
const GOOGLE_BASE: &str = "https://generativelanguage.googleapis.com";

const CAPTIONS_SYSTEM: &str = "You write social media captions for a small independent shop. \
    You only use facts you are given: never invent facts, materials, prices, discounts or \
    offers. Prices and links are copied exactly as written. Answer only with the JSON asked for.";
const PROOFREAD_SYSTEM: &str = "You are a careful proofreader. You fix spelling, grammar, \
    punctuation and spacing mistakes only, and you never change a caption's style, meaning, \
    links, prices, hashtags or @mentions. Answer only with the JSON asked for.";
const IMAGES_SYSTEM: &str = "You check whether product photos show the product a shop is \
    about to post. Be fair: a photo of the product in use, or a close-up, still matches. \
    Answer only with the JSON asked for.";

/// A piece of the user's turn.
enum Part<'a> {
    Text(String),
    Image(&'a Image),
}

fn request_body(
    system: &str,
    parts: &[Part<'_>],
    schema: &serde_json::Value,
    temperature: f32,
) -> serde_json::Value {
    let parts: Vec<serde_json::Value> = parts
        .iter()
        .map(|part| match part {
            Part::Text(text) => json!({ "text": text }),
            Part::Image(image) => json!({
                "inlineData": { "mimeType": image.mime, "data": STANDARD.encode(&image.data) },
            }),
        })
        .collect();
    json!({
        "systemInstruction": { "parts": [{ "text": system }] },
        "contents": [{ "role": "user", "parts": parts }],
        "generationConfig": {
            "responseMimeType": "application/json",
            "responseSchema": schema,
            "temperature": temperature,
        },
    })
}

fn transport_error(e: reqwest::Error) -> GeminiError {
    if e.is_timeout() {
        GeminiError::Timeout
    } else {
        tracing::warn!(error = %e, "Gemini could not be reached");
        GeminiError::Unavailable {
            status: e.status().map_or(0, |s| s.as_u16()),
            message: "could not reach Gemini".to_owned(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GenerateResponse {
    #[serde(default)]
    candidates: Vec<Candidate>,
    prompt_feedback: Option<PromptFeedback>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    content: Option<Content>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Content {
    #[serde(default)]
    parts: Vec<AnswerPart>,
}

#[derive(Deserialize)]
struct AnswerPart {
    text: Option<String>,
    #[serde(default)]
    thought: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback {
    block_reason: Option<String>,
}

/// Finish reasons that mean a safety or policy filter stopped the answer.
const BLOCKING_FINISH_REASONS: [&str; 6] = [
    "SAFETY",
    "PROHIBITED_CONTENT",
    "BLOCKLIST",
    "SPII",
    "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT",
];

/// The first candidate's text (thought parts left out), or why there is none to read.
fn answer_text(answer: GenerateResponse) -> Result<String, GeminiError> {
    let Some(candidate) = answer.candidates.into_iter().next() else {
        return Err(match answer.prompt_feedback.and_then(|f| f.block_reason) {
            Some(reason) => GeminiError::Blocked { reason },
            None => GeminiError::Malformed,
        });
    };
    match candidate.finish_reason.as_deref() {
        None | Some("STOP") | Some("FINISH_REASON_UNSPECIFIED") => {}
        Some(reason) if BLOCKING_FINISH_REASONS.contains(&reason) => {
            return Err(GeminiError::Blocked {
                reason: reason.to_owned(),
            });
        }
        Some(reason) => {
            return Err(GeminiError::Incomplete {
                finish_reason: reason.to_owned(),
            });
        }
    }
    Ok(candidate
        .content
        .map(|c| c.parts)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| !p.thought)
        .filter_map(|p| p.text)
        .collect())
}

/// JSON mode answers bare JSON, but a model that wraps it in a Markdown fence shouldn't cost
/// a retry.
fn strip_fence(text: &str) -> &str {
    let t = text.trim();
    match t.strip_prefix("```") {
        Some(rest) => {
            let rest = rest.strip_prefix("json").unwrap_or(rest);
            rest.strip_suffix("```").unwrap_or(rest).trim()
        }
        None => t,
    }
}

#[derive(Deserialize)]
struct Envelope {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    details: Vec<serde_json::Value>,
}

impl ErrorBody {
    fn detail(&self, type_suffix: &str) -> Option<&serde_json::Value> {
        self.details.iter().find(|d| {
            d.get("@type")
                .and_then(|t| t.as_str())
                .is_some_and(|t| t.ends_with(type_suffix))
        })
    }
}

/// A non-200 answer, read from Google's error envelope when there is one.
fn error_from(
    status: u16,
    body: &str,
    retry_after_header: Option<&str>,
    model: &str,
) -> GeminiError {
    let envelope = serde_json::from_str::<Envelope>(body).ok().map(|e| e.error);
    let google_status = envelope.as_ref().map_or("", |e| e.status.as_str());
    if status == 429 || google_status == "RESOURCE_EXHAUSTED" {
        let from_details = envelope
            .as_ref()
            .and_then(|e| e.detail("google.rpc.RetryInfo"))
            .and_then(|d| d.get("retryDelay"))
            .and_then(|d| d.as_str())
            .and_then(parse_retry_delay);
        let from_header = retry_after_header
            .and_then(|h| h.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        return GeminiError::RateLimited {
            retry_after: from_details.or(from_header),
        };
    }
    if status == 404 || google_status == "NOT_FOUND" {
        return GeminiError::ModelRetired {
            model: model.to_owned(),
        };
    }
    let key_invalid = envelope
        .as_ref()
        .and_then(|e| e.detail("google.rpc.ErrorInfo"))
        .and_then(|d| d.get("reason"))
        .and_then(|r| r.as_str())
        == Some("API_KEY_INVALID");
    if status == 401 || status == 403 || key_invalid {
        return GeminiError::BadKey;
    }
    GeminiError::Unavailable {
        status,
        message: envelope
            .map(|e| e.message)
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| format!("HTTP {status}")),
    }
}

/// A `google.protobuf.Duration` in JSON: `"32s"`, `"1.5s"`.
fn parse_retry_delay(text: &str) -> Option<Duration> {
    let secs: f64 = text.trim().strip_suffix('s')?.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

#[derive(Deserialize)]
struct CorrectionsAnswer {
    corrections: Vec<CorrectionAnswer>,
}

#[derive(Deserialize)]
struct CorrectionAnswer {
    before: String,
    after: String,
    #[serde(default)]
    reason: String,
}

#[derive(Deserialize)]
struct TextAnswer {
    text: String,
}

#[derive(Deserialize)]
struct ImagesAnswer {
    images: Vec<VerdictAnswer>,
}

#[derive(Deserialize)]
struct VerdictAnswer {
    matches: bool,
    #[serde(default)]
    reason: String,
}

/// Corrections the seller can apply: each names a passage really in the text and changes it.
fn usable_corrections(text: &str, found: Vec<Correction>) -> Vec<Correction> {
    let mut out: Vec<Correction> = Vec::new();
    for c in found {
        if c.before.is_empty() || c.before == c.after || !text.contains(&c.before) {
            continue;
        }
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// The schema for captions: one required string per platform, described with its habits.
fn captions_schema(platforms: &[Platform]) -> serde_json::Value {
    let properties: serde_json::Map<String, serde_json::Value> = platforms
        .iter()
        .map(|&p| {
            (
                p.as_str().to_owned(),
                json!({ "type": "STRING", "description": habits(p) }),
            )
        })
        .collect();
    let ids: Vec<&str> = platforms.iter().map(|p| p.as_str()).collect();
    json!({
        "type": "OBJECT",
        "properties": properties,
        "required": ids,
        "propertyOrdering": ids,
    })
}

/// How people write on each network.
fn habits(platform: Platform) -> String {
    let habits = match platform {
        Platform::X => {
            "A post for X: short and punchy, one idea, the link at the end, one or two hashtags \
             at most."
        }
        Platform::Instagram => {
            "An Instagram caption: a hook in the first line, short paragraphs, a few emoji, \
             hashtags grouped at the end; links in captions are not clickable."
        }
        Platform::Facebook => {
            "A Facebook Page post: warm and conversational, one or two short paragraphs, the \
             link on its own line, hashtags rarely."
        }
        Platform::Linkedin => {
            "A LinkedIn post: professional and useful, a clear first line, short paragraphs, \
             up to three hashtags at the end."
        }
        Platform::Pinterest => {
            "A Pin description: descriptive and searchable, what it is and who it is for, in \
             one to three sentences (under 500 characters)."
        }
        Platform::Tiktok => {
            "A TikTok caption: casual and short, a hook first, a few hashtags at the end."
        }
        Platform::Youtube => {
            "A YouTube video description: the first line says what the video shows, then the \
             details and the link."
        }
        Platform::Shopify | Platform::Etsy | Platform::Squarespace => {
            "A short product announcement for the shop's own page."
        }
    };
    match limit_phrase(platform) {
        Some(limit) => format!("{habits} Within {limit}."),
        None => habits.to_owned(),
    }
}

/// "at most 280 characters (every link counts as 23, emoji as 2)".
fn limit_phrase(platform: Platform) -> Option<String> {
    let limit = caption::limit(platform, TextField::Caption)?;
    let max = limit.max;
    Some(match limit.unit {
        CountUnit::Weighted => format!(
            "at most {max} characters, where every link counts as {} and each emoji as 2",
            caption::X_URL_LENGTH
        ),
        CountUnit::Characters => format!("at most {max} characters"),
        CountUnit::Utf16 => format!("at most {max} characters (each emoji counts as 2)"),
        CountUnit::Bytes => {
            format!("at most {max} bytes of UTF-8 (accented letters count 2, emoji 4)")
        }
    })
}

fn product_facts(out: &mut String, product: &ProductFacts<'_>) {
    let _ = writeln!(out, "Product: \"{}\"", product.title.trim());
    let description = product.description.trim();
    if !description.is_empty() {
        let _ = writeln!(out, "Description: {description}");
    }
    if let Some(price) = product.price.filter(|p| !p.trim().is_empty()) {
        let _ = writeln!(out, "Price (copy exactly as written): {price}");
    }
    if !product.tags.is_empty() {
        let _ = writeln!(out, "Tags: {}", product.tags.join(", "));
    }
    if let Some(url) = product.url.filter(|u| !u.trim().is_empty()) {
        let _ = writeln!(out, "Link (copy exactly as written): {url}");
    }
}

fn captions_prompt(req: &CaptionsRequest<'_>) -> String {
    let brief = req.brief;
    let mut p = String::new();
    let names: Vec<&str> = req.platforms.iter().map(|p| p.display_name()).collect();
    let _ = writeln!(
        p,
        "Write one caption for each of these networks: {}. This is variation {}: make it \
         read differently from other variations.\n",
        names.join(", "),
        req.variation
    );
    if let Some(product) = &brief.product {
        product_facts(&mut p, product);
    }
    let seller = brief.brief.trim();
    if !seller.is_empty() {
        let _ = writeln!(p, "The seller's brief: {seller}");
    }
    let _ = writeln!(p, "Tone: {}", brief.tone.as_str());
    let _ = writeln!(p, "Language: write in {}", req.language);
    if let Some(cta) = brief.call_to_action.filter(|c| !c.trim().is_empty()) {
        let _ = writeln!(p, "Call to action: {}", cta.trim());
    }
    if brief.hashtags {
        let _ = writeln!(
            p,
            "Hashtags: add a few relevant ones where the network uses them."
        );
    } else {
        let _ = writeln!(p, "Hashtags: do not use any.");
    }
    if !req.images.is_empty() {
        let _ = writeln!(
            p,
            "The {} attached image(s) will be posted with the caption; you may describe what \
             they plainly show.",
            req.images.len()
        );
    }
    let _ = writeln!(p, "\nLength limits:");
    for &platform in req.platforms {
        match limit_phrase(platform) {
            Some(limit) => {
                let _ = writeln!(p, "- {}: {limit}", platform.as_str());
            }
            None => {
                let _ = writeln!(p, "- {}: keep it short", platform.as_str());
            }
        }
    }
    let _ = writeln!(
        p,
        "\nNever invent facts, prices or discounts; keep the price and link verbatim."
    );
    if let Some(avoid) = req.avoid.filter(|a| !a.trim().is_empty()) {
        let _ = writeln!(
            p,
            "Write a clearly different caption from this one:\n\"\"\"\n{}\n\"\"\"",
            avoid.trim()
        );
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retry_delay_is_read_in_whole_and_fractional_seconds() {
        assert_eq!(parse_retry_delay("32s"), Some(Duration::from_secs(32)));
        assert_eq!(parse_retry_delay("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_retry_delay("32"), None);
        assert_eq!(parse_retry_delay("-1s"), None);
        assert_eq!(parse_retry_delay("soon"), None);
    }

    fn answer(json: serde_json::Value) -> Result<String, GeminiError> {
        answer_text(serde_json::from_value(json).unwrap())
    }

    #[test]
    fn thought_parts_are_left_out_of_the_answer_text() {
        let text = answer(json!({
            "candidates": [{
                "content": { "role": "model", "parts": [
                    { "text": "Let me think about captions…", "thought": true },
                    { "text": "{\"x\":" },
                    { "text": "\"Hi\"}" },
                ]},
                "finishReason": "STOP",
            }],
        }))
        .unwrap();
        assert_eq!(text, "{\"x\":\"Hi\"}");
    }

    #[test]
    fn a_blocked_prompt_without_candidates_is_blocked_with_its_reason() {
        let err = answer(json!({ "promptFeedback": { "blockReason": "SAFETY" } })).unwrap_err();
        assert!(matches!(err, GeminiError::Blocked { reason } if reason == "SAFETY"));
    }

    #[test]
    fn safety_finish_reasons_block_and_others_are_incomplete() {
        let err = answer(json!({ "candidates": [{ "finishReason": "PROHIBITED_CONTENT" }] }))
            .unwrap_err();
        assert!(matches!(err, GeminiError::Blocked { reason } if reason == "PROHIBITED_CONTENT"));
        let err = answer(json!({ "candidates": [{
            "content": { "parts": [{ "text": "{\"x\": \"Hal" }] },
            "finishReason": "MAX_TOKENS",
        }] }))
        .unwrap_err();
        assert!(
            matches!(err, GeminiError::Incomplete { finish_reason } if finish_reason == "MAX_TOKENS")
        );
    }

    #[test]
    fn a_rate_limit_takes_its_delay_from_retry_info_then_the_header() {
        let body = json!({ "error": {
            "code": 429, "message": "Resource has been exhausted (e.g. check quota).",
            "status": "RESOURCE_EXHAUSTED",
            "details": [
                { "@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [] },
                { "@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "32s" },
            ],
        }})
        .to_string();
        let err = error_from(429, &body, Some("5"), "m");
        assert!(
            matches!(err, GeminiError::RateLimited { retry_after: Some(d) } if d.as_secs() == 32)
        );
        assert!(err.user_message().contains("32 s"));
        let err = error_from(429, "{}", Some("5"), "m");
        assert!(
            matches!(err, GeminiError::RateLimited { retry_after: Some(d) } if d.as_secs() == 5)
        );
        let err = error_from(429, "", None, "m");
        assert_eq!(
            err.user_message(),
            "Gemini is busy right now. Try again in a minute."
        );
    }

    #[test]
    fn error_envelopes_map_to_what_the_operator_or_seller_can_do() {
        let invalid_key = json!({ "error": {
            "code": 400, "message": "API key not valid. Please pass a valid API key.",
            "status": "INVALID_ARGUMENT",
            "details": [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID", "domain": "googleapis.com",
                "metadata": { "service": "generativelanguage.googleapis.com" } }],
        }})
        .to_string();
        assert!(matches!(
            error_from(400, &invalid_key, None, "m"),
            GeminiError::BadKey
        ));
        assert!(matches!(
            error_from(403, "", None, "m"),
            GeminiError::BadKey
        ));
        let not_found = json!({ "error": { "code": 404, "status": "NOT_FOUND",
            "message": "models/gemini-2.0-flash is not found for API version v1beta" } })
        .to_string();
        let err = error_from(404, &not_found, None, "gemini-2.0-flash");
        assert!(err.is_configuration());
        assert!(err.user_message().contains("\"gemini-2.0-flash\""));
        let overloaded = json!({ "error": { "code": 503, "status": "UNAVAILABLE",
            "message": "The model is overloaded. Please try again later." } })
        .to_string();
        let err = error_from(503, &overloaded, None, "m");
        assert!(
            matches!(&err, GeminiError::Unavailable { status: 503, message }
            if message == "The model is overloaded. Please try again later.")
        );
        assert_eq!(
            err.user_message(),
            "Gemini isn't available right now (503). Try again in a few minutes."
        );
        let bad_request = json!({ "error": { "code": 400, "status": "INVALID_ARGUMENT",
            "message": "Invalid value at 'contents'" } })
        .to_string();
        assert!(matches!(
            error_from(400, &bad_request, None, "m"),
            GeminiError::Unavailable { status: 400, .. }
        ));
    }

    #[test]
    fn corrections_must_name_a_passage_of_the_text_and_change_it() {
        let c = |b: &str, a: &str| Correction {
            before: b.into(),
            after: a.into(),
            reason: String::new(),
        };
        let kept = usable_corrections(
            "Our mug is grate for tea.",
            vec![
                c("grate", "great"),
                c("", "x"),
                c("teh", "the"),
                c("mug", "mug"),
                c("grate", "great"),
            ],
        );
        assert_eq!(kept, vec![c("grate", "great")]);
    }

    fn config(extra: &[(&str, &str)]) -> Config {
        let env: std::collections::BTreeMap<String, String> = [
            ("DATABASE_URL", "postgres://postgres@127.0.0.1/picscripter"),
            ("REDIS_URL", "redis://127.0.0.1:6379"),
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef-and-more"),
            (
                "ENCRYPTION_KEYS_JSON",
                r#"{"1":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}"#,
            ),
            ("ENCRYPTION_KEY_CURRENT", "1"),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        Config::from_env(&env).unwrap()
    }

    #[test]
    fn gemini_is_configured_only_with_a_key_and_goes_to_the_sandbox_when_there_is_one() {
        assert!(GeminiConfig::from_config(&config(&[])).is_none());
        let real = GeminiConfig::from_config(&config(&[
            ("GEMINI_API_KEY", "k"),
            ("GEMINI_MODEL", "gemini-3.8-flash"),
            ("GEMINI_TIMEOUT_SECS", "12"),
        ]))
        .unwrap();
        assert_eq!(real.model, "gemini-3.8-flash");
        assert_eq!(real.timeout, Duration::from_secs(12));
        assert_eq!(real.base_url.host_str(), Some(GOOGLE_HOST));
        let sandboxed = GeminiConfig::from_config(&config(&[
            ("GEMINI_API_KEY", "k"),
            ("SANDBOX_URL", "http://127.0.0.1:9900"),
        ]))
        .unwrap();
        assert_eq!(
            sandboxed.base_url.as_str(),
            "http://127.0.0.1:9900/gemini/generativelanguage.googleapis.com"
        );
    }

    #[test]
    fn the_captions_prompt_states_the_facts_the_limits_and_what_to_avoid() {
        let tags = vec!["ceramics".to_owned(), "mug".to_owned()];
        let product = ProductFacts {
            title: "Clay mug",
            description: "Wheel-thrown.",
            price: Some("€24,00"),
            tags: &tags,
            url: Some("https://shop.example/mug"),
        };
        let brief = Brief {
            product: Some(product),
            brief: "Back in stock",
            tone: crate::ai::builtin::Tone::Playful,
            call_to_action: Some("Grab one"),
            hashtags: false,
        };
        let prompt = captions_prompt(&CaptionsRequest {
            brief: &brief,
            platforms: &[Platform::X, Platform::Pinterest],
            language: "German",
            images: &[],
            avoid: Some("Old caption"),
            variation: 4,
        });
        for expected in [
            "Product: \"Clay mug\"",
            "€24,00",
            "ceramics, mug",
            "https://shop.example/mug",
            "Back in stock",
            "Tone: playful",
            "German",
            "Grab one",
            "do not use any",
            "- x: at most 280",
            "- pinterest: at most 800",
            "keep the price and link verbatim",
            "clearly different caption from this one",
            "Old caption",
            "variation 4",
        ] {
            assert!(prompt.contains(expected), "{expected:?} in {prompt}");
        }
    }

    #[test]
    fn the_sandbox_address_keeps_its_path_prefix() {
        let url = Url::parse("http://127.0.0.1:9900/prefix/").unwrap();
        assert_eq!(
            base_url(Some(&url)).as_str(),
            "http://127.0.0.1:9900/prefix/gemini/generativelanguage.googleapis.com"
        );
        assert_eq!(
            base_url(None).as_str(),
            "https://generativelanguage.googleapis.com/"
        );
    }

    #[test]
    fn the_captions_schema_asks_for_every_platform() {
        let schema = captions_schema(&[Platform::X, Platform::Instagram]);
        assert_eq!(schema["required"], json!(["x", "instagram"]));
        assert_eq!(schema["properties"]["x"]["type"], "STRING");
        assert!(
            schema["properties"]["x"]["description"]
                .as_str()
                .unwrap()
                .contains("280")
        );
    }

    #[test]
    fn a_fenced_json_answer_is_read_without_its_fence() {
        assert_eq!(strip_fence("```json\n{\"a\":1}\n```"), "{\"a\":1}");
        assert_eq!(strip_fence(" {\"a\":1} "), "{\"a\":1}");
    }
}
