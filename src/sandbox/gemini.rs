//! Gemini's `generateContent` (PLATFORMS.md §11), at
//! `/gemini/generativelanguage.googleapis.com/{v1beta|v1}/models/{model}:generateContent`.
//!
//! Gemini is not a [`Platform`](crate::domain::Platform), so it has its own route beside the
//! platforms' front door, its own request log and its own fault queue
//! (`/_sandbox/gemini/faults`). Requests are checked the way Google checks them (key, model,
//! the shape of `contents`, inline images, JSON mode with a schema) and answered with a JSON
//! value built from the `responseSchema`: the same body always gets the same answer.
//!
//! Written from the docs alone: nothing here imports the app's Gemini client.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{any, get};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::errors::json_response;
use super::state::Shared;

pub(crate) const HOST: &str = "generativelanguage.googleapis.com";
/// Google's documented limit for a whole request with inline data.
const MAX_REQUEST: usize = 20 * 1024 * 1024;
/// What the sandbox reads before answering that the payload is too large.
const READ_LIMIT: usize = 64 * 1024 * 1024;
/// Request bodies kept for inspection before the oldest are dropped.
const LOG_LIMIT: usize = 500;
const IMAGE_MIMES: [&str; 5] = [
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/heic",
    "image/heif",
];
const SCHEMA_TYPES: [&str; 6] = ["OBJECT", "STRING", "ARRAY", "BOOLEAN", "INTEGER", "NUMBER"];
const NETWORKS: [&str; 7] = [
    "x",
    "instagram",
    "facebook",
    "linkedin",
    "pinterest",
    "tiktok",
    "youtube",
];
/// An inline image whose bytes contain this text is judged not to show the product; every
/// other image does.
pub const MISMATCH_MARKER: &[u8] = b"mismatch";

/// What the next `generateContent` request gets instead of a normal answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GeminiFault {
    /// 200, a candidate with `finishReason: SAFETY` and no content.
    Safety,
    /// 200, no candidates, `promptFeedback.blockReason: SAFETY`.
    PromptBlocked,
    /// 429 `RESOURCE_EXHAUSTED` with a `RetryInfo` of `retry_delay_secs`.
    RateLimited,
    /// 200 `STOP` whose text is not JSON.
    Malformed,
    /// Waits `hang_secs` of real time, then answers normally.
    Timeout,
    /// 200 `MAX_TOKENS` with the answer cut in half.
    MaxTokens,
    /// 503 `UNAVAILABLE`, "The model is overloaded".
    Unavailable,
}

/// A fault as posted to `/_sandbox/gemini/faults`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GeminiFaultSpec {
    pub fault: GeminiFault,
    /// How many consecutive requests get it (default 1).
    #[serde(default = "one")]
    pub times: u32,
    /// For `rate_limited`: the `retryDelay` (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_delay_secs: Option<u64>,
    /// For `timeout`: how long to wait before answering (default 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hang_secs: Option<u64>,
}

fn one() -> u32 {
    1
}

impl GeminiFaultSpec {
    /// `fault` for the next request only, with its default delays.
    pub fn new(fault: GeminiFault) -> Self {
        Self {
            fault,
            times: 1,
            retry_delay_secs: None,
            hang_secs: None,
        }
    }

    pub fn times(mut self, times: u32) -> Self {
        self.times = times;
        self
    }
}

/// Queued faults (first in, first out, one per request) and the bodies received.
#[derive(Debug, Default)]
pub(crate) struct GeminiState {
    faults: VecDeque<GeminiFaultSpec>,
    requests: VecDeque<Value>,
}

impl GeminiState {
    pub fn add_fault(&mut self, spec: GeminiFaultSpec) -> Result<(), String> {
        if spec.times == 0 {
            return Err("times must be at least 1".to_owned());
        }
        self.faults.push_back(spec);
        Ok(())
    }

    pub fn clear_faults(&mut self) {
        self.faults.clear();
    }

    pub fn requests(&self) -> Vec<Value> {
        self.requests.iter().cloned().collect()
    }

    fn next_fault(&mut self) -> Option<GeminiFaultSpec> {
        let front = self.faults.front_mut()?;
        front.times -= 1;
        let taken = GeminiFaultSpec {
            times: 1,
            ..front.clone()
        };
        if front.times == 0 {
            self.faults.pop_front();
        }
        Some(taken)
    }

    fn record(&mut self, body: Value) {
        if self.requests.len() >= LOG_LIMIT {
            self.requests.pop_front();
        }
        self.requests.push_back(body);
    }
}

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(&format!("/gemini/{HOST}/{{*rest}}"), any(generate))
        .route(
            "/_sandbox/gemini/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route(
            "/_sandbox/gemini/requests",
            get(list_requests).delete(clear_requests),
        )
}

async fn list_faults(State(shared): State<Arc<Shared>>) -> Response {
    let faults: Vec<GeminiFaultSpec> = shared.gemini().faults.iter().cloned().collect();
    json_response(StatusCode::OK, json!({ "faults": faults }))
}

async fn add_fault(State(shared): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    let spec: GeminiFaultSpec = match serde_json::from_slice(&body) {
        Ok(spec) => spec,
        Err(e) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                json!({ "error": format!("not a Gemini fault: {e}") }),
            );
        }
    };
    match shared.gemini().add_fault(spec.clone()) {
        Ok(()) => json_response(StatusCode::CREATED, json!({ "added": spec })),
        Err(e) => json_response(StatusCode::BAD_REQUEST, json!({ "error": e })),
    }
}

async fn clear_faults(State(shared): State<Arc<Shared>>) -> Response {
    shared.gemini().clear_faults();
    json_response(StatusCode::OK, json!({ "cleared": true }))
}

async fn list_requests(State(shared): State<Arc<Shared>>) -> Response {
    json_response(
        StatusCode::OK,
        json!({ "requests": shared.gemini().requests() }),
    )
}

async fn clear_requests(State(shared): State<Arc<Shared>>) -> Response {
    shared.gemini().requests.clear();
    json_response(StatusCode::OK, json!({ "cleared": true }))
}

/// Google's error envelope.
fn google_error(code: u16, status: &str, message: &str, details: Value) -> Response {
    let mut error = json!({ "code": code, "message": message, "status": status });
    if details.as_array().is_some_and(|d| !d.is_empty()) {
        error["details"] = details;
    }
    json_response(
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        json!({ "error": error }),
    )
}

fn invalid_argument(message: &str) -> Response {
    google_error(400, "INVALID_ARGUMENT", message, json!([]))
}

fn not_found(message: &str) -> Response {
    google_error(404, "NOT_FOUND", message, json!([]))
}

/// A model Google no longer serves (PLATFORMS.md: 2.0 shut down June 2026, 2.5 October 2026).
fn is_retired(model: &str) -> bool {
    ["gemini-1.", "gemini-2.0", "gemini-2.5", "gemini-pro"]
        .iter()
        .any(|p| model.starts_with(p))
}

/// `v1beta/models/{model}:generateContent` → the model.
fn model_of(rest: &str) -> Option<&str> {
    let mut segments = rest.split('/');
    let version = segments.next()?;
    let models = segments.next()?;
    let call = segments.next()?;
    if segments.next().is_some() || !matches!(version, "v1beta" | "v1") || models != "models" {
        return None;
    }
    let (model, method) = call.split_once(':')?;
    (method == "generateContent" && !model.is_empty()).then_some(model)
}

fn api_key(req: &Request) -> Option<String> {
    if let Some(key) = req
        .headers()
        .get("x-goog-api-key")
        .and_then(|v| v.to_str().ok())
    {
        return Some(key.to_owned());
    }
    url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "key")
        .map(|(_, v)| v.into_owned())
}

async fn generate(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let path = req.uri().path().replace("%3A", ":").replace("%3a", ":");
    let rest = path
        .trim_start_matches('/')
        .strip_prefix("gemini/")
        .and_then(|p| p.strip_prefix(HOST))
        .unwrap_or("")
        .trim_start_matches('/')
        .to_owned();
    let Some(model) = model_of(&rest).map(str::to_owned) else {
        return not_found("Method not found.");
    };
    if req.method() != Method::POST {
        return not_found("Method not found.");
    }
    match api_key(&req).as_deref() {
        None | Some("") => {
            return google_error(
                403,
                "PERMISSION_DENIED",
                "Method doesn't allow unregistered callers (callers without established \
                 identity). Please use API Key or other form of API consumer identity to call \
                 this API.",
                json!([]),
            );
        }
        Some("invalid-key") => {
            return google_error(
                400,
                "INVALID_ARGUMENT",
                "API key not valid. Please pass a valid API key.",
                json!([{
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                    "metadata": { "service": HOST },
                }]),
            );
        }
        Some(_) => {}
    }
    let version = rest.split('/').next().unwrap_or("v1beta").to_owned();
    if is_retired(&model) {
        return not_found(&format!(
            "models/{model} is not found for API version {version}, or is not supported for \
             generateContent. Call ListModels to see the list of available models and their \
             supported methods."
        ));
    }
    let bytes = match axum::body::to_bytes(req.into_body(), READ_LIMIT).await {
        Ok(b) if b.len() <= MAX_REQUEST => b,
        _ => {
            return invalid_argument(&format!(
                "Request payload size exceeds the limit: {MAX_REQUEST} bytes."
            ));
        }
    };
    let body: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            shared
                .gemini()
                .record(Value::String(String::from_utf8_lossy(&bytes).into_owned()));
            return invalid_argument(&format!("Invalid JSON payload received. {e}"));
        }
    };
    shared.gemini().record(body.clone());
    let request = match validate(&body) {
        Ok(r) => r,
        Err(problem) => {
            return invalid_argument(&format!("* GenerateContentRequest.{problem}"));
        }
    };
    let seed = fnv1a(&bytes);
    let text = answer_text(&request, seed);
    let fault = shared.gemini().next_fault();
    let envelope = |text: Option<&str>, finish: &str| {
        let output = text.map_or(0, |t| t.len() / 4 + 1);
        let mut candidate = json!({
            "finishReason": finish,
            "index": 0,
            "safetyRatings": safety_ratings(finish == "SAFETY"),
        });
        if let Some(text) = text {
            candidate["content"] = json!({ "role": "model", "parts": [{ "text": text }] });
        }
        json!({
            "candidates": [candidate],
            "usageMetadata": usage(&request, output),
            "modelVersion": model,
            "responseId": response_id(seed),
        })
    };
    let Some(fault) = fault else {
        return json_response(StatusCode::OK, envelope(Some(&text), "STOP"));
    };
    match fault.fault {
        GeminiFault::Safety => json_response(StatusCode::OK, envelope(None, "SAFETY")),
        GeminiFault::PromptBlocked => json_response(
            StatusCode::OK,
            json!({
                "promptFeedback": { "blockReason": "SAFETY", "safetyRatings": safety_ratings(true) },
                "usageMetadata": usage(&request, 0),
                "modelVersion": model,
                "responseId": response_id(seed),
            }),
        ),
        GeminiFault::RateLimited => {
            let delay = fault.retry_delay_secs.unwrap_or(30);
            google_error(
                429,
                "RESOURCE_EXHAUSTED",
                "Resource has been exhausted (e.g. check quota).",
                json!([
                    {
                        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                        "violations": [{
                            "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                            "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                            "quotaDimensions": { "location": "global", "model": model },
                            "quotaValue": "10",
                        }],
                    },
                    {
                        "@type": "type.googleapis.com/google.rpc.RetryInfo",
                        "retryDelay": format!("{delay}s"),
                    },
                ]),
            )
        }
        GeminiFault::Malformed => json_response(
            StatusCode::OK,
            envelope(Some("Sure! Here is your caption: {"), "STOP"),
        ),
        GeminiFault::Timeout => {
            tokio::time::sleep(Duration::from_secs(fault.hang_secs.unwrap_or(60))).await;
            json_response(StatusCode::OK, envelope(Some(&text), "STOP"))
        }
        GeminiFault::MaxTokens => {
            let cut: String = text.chars().take(text.chars().count() / 2).collect();
            json_response(StatusCode::OK, envelope(Some(&cut), "MAX_TOKENS"))
        }
        GeminiFault::Unavailable => google_error(
            503,
            "UNAVAILABLE",
            "The model is overloaded. Please try again later.",
            json!([]),
        ),
    }
}

/// What a valid request asks for.
#[derive(Debug, Default)]
struct Asked {
    /// Every text part, the system instruction's first.
    texts: Vec<String>,
    /// The decoded bytes of each inline image, in order.
    images: Vec<Vec<u8>>,
    /// The schema of JSON mode (`responseSchema`, else `responseJsonSchema`).
    schema: Option<Value>,
}

/// The field `camel` or its snake_case spelling: the REST API accepts both.
fn field<'a>(obj: &'a Value, camel: &str, snake: &str) -> Option<&'a Value> {
    obj.get(camel).or_else(|| obj.get(snake))
}

/// Checks the request as Google does; the error names the field (`contents[0].parts[1]…`).
fn validate(body: &Value) -> Result<Asked, String> {
    let mut asked = Asked::default();
    if !body.is_object() {
        return Err("request: must be a JSON object".to_owned());
    }
    if let Some(system) = field(body, "systemInstruction", "system_instruction") {
        let parts = system
            .get("parts")
            .and_then(Value::as_array)
            .ok_or("system_instruction.parts: must be an array")?;
        for (j, part) in parts.iter().enumerate() {
            let text = part.get("text").and_then(Value::as_str).ok_or(format!(
                "system_instruction.parts[{j}].text: must be a string"
            ))?;
            asked.texts.push(text.to_owned());
        }
    }
    let contents = match body.get("contents") {
        Some(Value::Array(c)) if !c.is_empty() => c,
        Some(Value::Array(_)) | None => return Err("contents: contents is not specified".into()),
        Some(_) => return Err("contents: must be an array".into()),
    };
    for (i, content) in contents.iter().enumerate() {
        if let Some(role) = content.get("role")
            && !matches!(role.as_str(), Some("user" | "model"))
        {
            return Err(format!("contents[{i}].role: must be \"user\" or \"model\""));
        }
        let parts = match content.get("parts") {
            Some(Value::Array(p)) if !p.is_empty() => p,
            _ => return Err(format!("contents[{i}].parts: must be a non-empty array")),
        };
        for (j, part) in parts.iter().enumerate() {
            let at = format!("contents[{i}].parts[{j}]");
            read_part(part, &at, &mut asked)?;
        }
    }
    if let Some(config) = field(body, "generationConfig", "generation_config") {
        if let Some(t) = config.get("temperature") {
            match t.as_f64() {
                Some(t) if (0.0..=2.0).contains(&t) => {}
                _ => {
                    return Err(
                        "generation_config.temperature: must be a number from 0.0 to 2.0".into(),
                    );
                }
            }
        }
        let mime = field(config, "responseMimeType", "response_mime_type");
        let schema = field(config, "responseSchema", "response_schema");
        let json_schema = field(config, "responseJsonSchema", "response_json_schema");
        if let Some(schema) = schema {
            check_schema(schema, "generation_config.response_schema", false)?;
        }
        if let Some(schema) = json_schema {
            check_schema(schema, "generation_config.response_json_schema", true)?;
        }
        match mime.map(|m| m.as_str()) {
            None | Some(Some("text/plain")) => {}
            Some(Some("application/json")) => {
                let Some(schema) = schema.or(json_schema) else {
                    return Err("generation_config.response_schema: response_mime_type \
                                application/json needs a response_schema or a \
                                response_json_schema (the sandbox answers JSON only to a schema)"
                        .into());
                };
                asked.schema = Some(schema.clone());
            }
            Some(Some("text/x.enum")) => {
                return Err(
                    "generation_config.response_mime_type: text/x.enum is not emulated \
                            by the sandbox"
                        .into(),
                );
            }
            Some(_) => {
                return Err(
                    "generation_config.response_mime_type: allowed mimetypes are \
                            `text/plain`, `application/json` and `text/x.enum`"
                        .into(),
                );
            }
        }
    }
    Ok(asked)
}

fn read_part(part: &Value, at: &str, asked: &mut Asked) -> Result<(), String> {
    let Some(obj) = part.as_object() else {
        return Err(format!("{at}: must be an object"));
    };
    let data_fields: Vec<&str> = ["text", "inlineData", "inline_data", "fileData", "file_data"]
        .into_iter()
        .filter(|k| obj.contains_key(*k))
        .collect();
    match data_fields.as_slice() {
        [] => Err(format!(
            "{at}.data: required oneof field 'data' must have one initialized field"
        )),
        ["text"] => {
            let text = obj["text"]
                .as_str()
                .ok_or(format!("{at}.text: must be a string"))?;
            asked.texts.push(text.to_owned());
            Ok(())
        }
        ["inlineData" | "inline_data"] => {
            let inline = field(part, "inlineData", "inline_data").unwrap_or(&Value::Null);
            let at = format!("{at}.inline_data");
            let mime = field(inline, "mimeType", "mime_type")
                .and_then(Value::as_str)
                .ok_or(format!("{at}.mime_type: required"))?;
            if !IMAGE_MIMES.contains(&mime) {
                return Err(format!(
                    "{at}.mime_type: unsupported MIME type {mime:?} (the sandbox accepts {})",
                    IMAGE_MIMES.join(", ")
                ));
            }
            let data = inline
                .get("data")
                .and_then(Value::as_str)
                .ok_or(format!("{at}.data: required"))?;
            if data.is_empty() {
                return Err(format!("{at}.data: must not be empty"));
            }
            let bytes = STANDARD
                .decode(data)
                .map_err(|e| format!("{at}.data: invalid base64 ({e})"))?;
            asked.images.push(bytes);
            Ok(())
        }
        ["fileData" | "file_data"] => Err(format!(
            "{at}.file_data: the sandbox has no Files API; send images as inline_data"
        )),
        _ => Err(format!(
            "{at}: oneof field 'data' is already set; a part holds exactly one of {}",
            data_fields.join(", ")
        )),
    }
}

/// The schema's type in upper case; JSON Schema may list several (`["string", "null"]`).
fn schema_type(schema: &Value) -> Option<String> {
    match schema.get("type")? {
        Value::String(t) => Some(t.to_ascii_uppercase()),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| !t.eq_ignore_ascii_case("null"))
            .map(str::to_ascii_uppercase),
        _ => None,
    }
}

fn check_schema(schema: &Value, at: &str, json_schema: bool) -> Result<(), String> {
    if !schema.is_object() {
        return Err(format!("{at}: must be an object"));
    }
    match schema.get("type") {
        None if json_schema => {}
        None if schema.get("anyOf").is_some() => {}
        None => return Err(format!("{at}.type: must be specified")),
        Some(t) => {
            let names: Vec<&str> = match t {
                Value::String(s) => vec![s.as_str()],
                Value::Array(ts) if json_schema => ts.iter().filter_map(Value::as_str).collect(),
                _ => return Err(format!("{at}.type: must be a string")),
            };
            for name in names {
                let known = SCHEMA_TYPES.iter().any(|k| k.eq_ignore_ascii_case(name))
                    || (json_schema && name == "null");
                if !known {
                    return Err(format!(
                        "{at}.type: unknown type {name:?} (one of {})",
                        SCHEMA_TYPES.join(", ")
                    ));
                }
            }
        }
    }
    if let Some(properties) = schema.get("properties") {
        let properties = properties
            .as_object()
            .ok_or(format!("{at}.properties: must be an object"))?;
        for (name, property) in properties {
            check_schema(property, &format!("{at}.properties[{name:?}]"), json_schema)?;
        }
    }
    if let Some(items) = schema.get("items") {
        check_schema(items, &format!("{at}.items"), json_schema)?;
    }
    Ok(())
}

/// 64-bit FNV-1a: stable across runs and versions, unlike the standard hasher.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn response_id(seed: u64) -> String {
    let mut state = seed;
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..22)
        .map(|_| alphabet[(splitmix(&mut state) % alphabet.len() as u64) as usize] as char)
        .collect()
}

fn safety_ratings(blocked: bool) -> Value {
    let categories = [
        "HARM_CATEGORY_HATE_SPEECH",
        "HARM_CATEGORY_DANGEROUS_CONTENT",
        "HARM_CATEGORY_HARASSMENT",
        "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    ];
    categories
        .iter()
        .enumerate()
        .map(|(i, category)| {
            if blocked && i == 1 {
                json!({ "category": category, "probability": "HIGH", "blocked": true })
            } else {
                json!({ "category": category, "probability": "NEGLIGIBLE" })
            }
        })
        .collect()
}

fn usage(asked: &Asked, output: usize) -> Value {
    let chars: usize = asked.texts.iter().map(String::len).sum();
    // Gemini counts 258 tokens for a small image.
    let prompt = chars / 4 + 1 + 258 * asked.images.len();
    json!({
        "promptTokenCount": prompt,
        "candidatesTokenCount": output,
        "totalTokenCount": prompt + output,
        "thoughtsTokenCount": 0,
    })
}

/// The answer's text: the JSON for the schema, serialized, or a sentence without JSON mode.
fn answer_text(asked: &Asked, seed: u64) -> String {
    let mut writer = Writer::new(asked, seed);
    match &asked.schema {
        Some(schema) => writer.value(schema, None).to_string(),
        None => format!(
            "Here is a thought about {}: simple, well made and ready to share.",
            writer.subject
        ),
    }
}

/// Builds plausible values from the request's own words, deterministically.
struct Writer<'a> {
    state: u64,
    /// The product title (quoted after `Product:`), else the prompt's first words.
    subject: String,
    title: Option<String>,
    /// Words of the prompt, for proofreading-like answers.
    words: Vec<String>,
    images: &'a [Vec<u8>],
    /// Every text part of the request, to avoid repeating what it quotes.
    prompt: String,
}

impl<'a> Writer<'a> {
    fn new(asked: &'a Asked, seed: u64) -> Self {
        let title = asked.texts.iter().find_map(|t| product_title(t));
        let prompt = asked.texts.last().map(String::as_str).unwrap_or("");
        let words: Vec<String> = prompt
            .split_whitespace()
            .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_owned())
            .filter(|w| w.len() > 2)
            .take(40)
            .collect();
        // Without a product, what the seller wrote ("…brief: our winter candles are back") is
        // the subject, up to its first stop.
        let brief = asked.texts.iter().find_map(|t| {
            let lower = t.to_lowercase();
            let at = lower.find("brief:")? + "brief:".len();
            let line = t[at..].lines().next()?.trim();
            let first = line.split(['.', '!', '?']).next()?.trim();
            (!first.is_empty()).then(|| first.to_owned())
        });
        let subject = title.clone().or(brief).unwrap_or_else(|| {
            let first: Vec<&str> = words.iter().take(5).map(String::as_str).collect();
            if first.is_empty() {
                "this".to_owned()
            } else {
                first.join(" ")
            }
        });
        Self {
            state: seed,
            subject: truncate(&subject, 100),
            title,
            words,
            images: &asked.images,
            prompt: asked.texts.join("\n"),
        }
    }

    fn next(&mut self) -> u64 {
        splitmix(&mut self.state)
    }

    fn value(&mut self, schema: &Value, name: Option<&str>) -> Value {
        if let Some(first) = schema
            .get("enum")
            .and_then(Value::as_array)
            .and_then(|e| e.first())
        {
            return first.clone();
        }
        match schema_type(schema).as_deref() {
            Some("OBJECT") => Value::Object(self.object(schema, None)),
            Some("ARRAY") => self.array(schema),
            Some("BOOLEAN") => Value::Bool(self.next().is_multiple_of(2)),
            Some("INTEGER") => json!(self.next() % 100),
            Some("NUMBER") => json!((self.next() % 1000) as f64 / 10.0),
            _ => Value::String(self.string(name.unwrap_or(""))),
        }
    }

    /// Every property, in `propertyOrdering` first. With `image`, a verdict about that image.
    fn object(&mut self, schema: &Value, image: Option<usize>) -> Map<String, Value> {
        let properties = schema
            .get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut names: Vec<String> = schema
            .get("propertyOrdering")
            .and_then(Value::as_array)
            .map(|o| {
                o.iter()
                    .filter_map(Value::as_str)
                    .filter(|n| properties.contains_key(*n))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        for name in properties.keys() {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        let matches = image.map(|i| self.image_matches(i));
        let mut out = Map::new();
        for name in names {
            let property = &properties[&name];
            let value = match (matches, schema_type(property).as_deref()) {
                (Some(m), Some("BOOLEAN")) => Value::Bool(m),
                (Some(m), Some("STRING")) if property.get("enum").is_none() => {
                    Value::String(self.verdict_reason(m))
                }
                _ => self.value(property, Some(&name)),
            };
            out.insert(name, value);
        }
        out
    }

    fn array(&mut self, schema: &Value) -> Value {
        let items = schema
            .get("items")
            .cloned()
            .unwrap_or(json!({"type": "STRING"}));
        let verdicts = schema_type(&items).as_deref() == Some("OBJECT")
            && items
                .get("properties")
                .and_then(Value::as_object)
                .is_some_and(|p| {
                    p.values()
                        .any(|v| schema_type(v).as_deref() == Some("BOOLEAN"))
                });
        if verdicts && !self.images.is_empty() {
            return (0..self.images.len())
                .map(|i| Value::Object(self.object(&items, Some(i))))
                .collect();
        }
        let min = schema.get("minItems").and_then(as_count).unwrap_or(0);
        let max = schema
            .get("maxItems")
            .and_then(as_count)
            .unwrap_or(2)
            .max(min);
        let n = min + (self.next() % (max - min + 1) as u64) as usize;
        (0..n).map(|_| self.value(&items, None)).collect()
    }

    fn image_matches(&self, i: usize) -> bool {
        let bytes = &self.images[i];
        !bytes
            .windows(MISMATCH_MARKER.len())
            .any(|w| w == MISMATCH_MARKER)
    }

    fn verdict_reason(&self, matches: bool) -> String {
        match (matches, &self.title) {
            (true, Some(t)) => format!("The photo shows {t}."),
            (true, None) => "The photo shows the product.".to_owned(),
            (false, Some(t)) => format!("The photo shows something other than {t}."),
            (false, None) => "The photo shows something other than the product.".to_owned(),
        }
    }

    fn string(&mut self, name: &str) -> String {
        if NETWORKS.contains(&name) {
            return self.caption(name);
        }
        let word = if self.words.is_empty() {
            self.subject.clone()
        } else {
            let i = (self.next() % self.words.len() as u64) as usize;
            self.words[i].clone()
        };
        match name {
            "before" => word,
            "after" => capitalized(&word),
            "reason" => "Capitalised for consistency.".to_owned(),
            _ => format!(
                "{}: simple, well made and ready for its new home.",
                self.subject
            ),
        }
    }

    /// A caption for `network`: one of a few per network, chosen by the request's hash, and
    /// never one that already appears in the request (a model asked for "a different take from
    /// this one" gives a different one).
    fn caption(&mut self, network: &str) -> String {
        let s = &self.subject;
        let tag: String = s
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect::<String>()
            .to_lowercase();
        let candidates: Vec<String> = match network {
            "x" => vec![
                format!("{s} just landed. Small batch, made with care. #{tag}"),
                format!("Meet {s}: made to be used every day. Have a look!"),
                format!("Back in stock: {s}. Grab one while they last."),
            ],
            "instagram" => vec![
                format!(
                    "Say hello to {s} ✨\n\nMade with care, ready for its new home.\n\n#{tag} #shopsmall"
                ),
                format!("New in: {s} 🌿\n\nTap the link in bio.\n\n#{tag}"),
                format!("{s}, photographed on a slow morning.\n\nDetails in bio.\n\n#{tag}"),
            ],
            "facebook" => vec![
                format!("{s} is here! Made with care and ready to ship. Take a look."),
                format!("We've just added {s} to the shop. Tell us what you think."),
                format!("A little news from the workshop: {s} is ready for its new home."),
            ],
            "linkedin" => vec![
                format!("We're proud to introduce {s}, made in small batches by our team."),
                format!("Behind {s}: small batches, careful hands, and a lot of testing."),
            ],
            "pinterest" => vec![
                format!("{s}: a thoughtful, handmade pick for everyday use."),
                format!("{s} — small-batch, handmade, and made to last."),
            ],
            "tiktok" => vec![
                format!("POV: you found {s} 👀 #{tag} #smallbusiness"),
                format!("Packing orders of {s} today #{tag} #smallbusiness"),
            ],
            _ => vec![
                format!("{s}: what it is, how it's made, and where to get it."),
                format!("A closer look at {s}, from the workshop to your door."),
            ],
        };
        let start = (self.next() % candidates.len() as u64) as usize;
        let text = (0..candidates.len())
            .map(|i| &candidates[(start + i) % candidates.len()])
            .find(|c| !self.prompt.contains(c.as_str()))
            .unwrap_or(&candidates[start])
            .clone();
        if network == "x" {
            truncate(&text, 240)
        } else {
            text
        }
    }
}

fn as_count(v: &Value) -> Option<usize> {
    match v {
        Value::Number(n) => n.as_u64().map(|n| n as usize),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max_chars - 1).collect();
        format!("{}…", cut.trim_end())
    }
}

/// The title after `Product:`: the quoted text, or the rest of the line.
fn product_title(text: &str) -> Option<String> {
    let (_, after) = text.split_once("Product:")?;
    let line = after.lines().next().unwrap_or("").trim();
    let title = match line.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next().unwrap_or(""),
        None => line,
    };
    let title = title.trim();
    (!title.is_empty()).then(|| title.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_is_read_from_the_method_segment() {
        assert_eq!(
            model_of("v1beta/models/gemini-3.5-flash:generateContent"),
            Some("gemini-3.5-flash")
        );
        assert_eq!(
            model_of("v1/models/gemini-3.5-flash:generateContent"),
            Some("gemini-3.5-flash")
        );
        assert_eq!(model_of("v1beta/models/gemini-3.5-flash:countTokens"), None);
        assert_eq!(model_of("v2/models/m:generateContent"), None);
    }

    #[test]
    fn retired_models_are_the_ones_google_shut_down() {
        assert!(is_retired("gemini-2.5-flash"));
        assert!(is_retired("gemini-2.0-flash-lite"));
        assert!(is_retired("gemini-1.5-pro"));
        assert!(is_retired("gemini-pro"));
        assert!(!is_retired("gemini-3.5-flash"));
    }

    #[test]
    fn the_product_title_is_taken_from_the_prompt() {
        assert_eq!(
            product_title("Write…\nProduct: \"Linen apron\"\nPrice: $5").as_deref(),
            Some("Linen apron")
        );
        assert_eq!(
            product_title("Product: Clay mug\n").as_deref(),
            Some("Clay mug")
        );
        assert_eq!(product_title("no product"), None);
    }

    #[test]
    fn the_same_body_gets_the_same_answer_shaped_like_the_schema() {
        let body = json!({
            "contents": [{ "parts": [{ "text": "Captions.\nProduct: \"Clay mug\"\n" }] }],
            "generationConfig": {
                "responseMimeType": "application/json",
                "responseSchema": { "type": "OBJECT", "properties": {
                    "x": { "type": "STRING" }, "instagram": { "type": "STRING" },
                    "tone": { "type": "STRING", "enum": ["warm", "cool"] },
                }},
            },
        });
        let asked = validate(&body).unwrap();
        let a = answer_text(&asked, 7);
        assert_eq!(a, answer_text(&asked, 7));
        let v: Value = serde_json::from_str(&a).unwrap();
        assert!(v["x"].as_str().unwrap().contains("Clay mug"));
        assert!(v["x"].as_str().unwrap().chars().count() < 250);
        assert!(v["instagram"].as_str().unwrap().contains("Clay mug"));
        assert_eq!(v["tone"], "warm");
    }

    #[test]
    fn image_verdicts_come_one_per_image() {
        let body = json!({
            "contents": [{ "parts": [
                { "text": "Product: \"Clay mug\"" },
                { "inlineData": { "mimeType": "image/png", "data": STANDARD.encode(b"png") } },
                { "inline_data": { "mime_type": "image/jpeg", "data": STANDARD.encode(b"a mismatch") } },
            ]}],
            "generationConfig": {
                "responseMimeType": "application/json",
                "responseSchema": { "type": "OBJECT", "properties": { "images": {
                    "type": "ARRAY", "items": { "type": "OBJECT", "properties": {
                        "matches": { "type": "BOOLEAN" }, "reason": { "type": "STRING" },
                    }},
                }}},
            },
        });
        let asked = validate(&body).unwrap();
        let v: Value = serde_json::from_str(&answer_text(&asked, 1)).unwrap();
        assert_eq!(v["images"][0]["matches"], true);
        assert_eq!(v["images"][1]["matches"], false);
        assert_eq!(v["images"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn invalid_requests_name_the_field_at_fault() {
        let err = validate(&json!({ "contents": [] })).unwrap_err();
        assert!(err.starts_with("contents"), "{err}");
        let err = validate(&json!({ "contents": [{ "parts": [
            { "inlineData": { "mimeType": "image/gif", "data": "AAAA" } },
        ]}]}))
        .unwrap_err();
        assert!(err.contains("parts[0].inline_data.mime_type"), "{err}");
        let err =
            validate(&json!({ "contents": [{ "parts": [{ "text": "a", "inlineData": {} }] }] }))
                .unwrap_err();
        assert!(err.contains("exactly one"), "{err}");
        let err = validate(&json!({
            "contents": [{ "parts": [{ "text": "a" }] }],
            "generationConfig": { "responseMimeType": "application/json" },
        }))
        .unwrap_err();
        assert!(err.contains("response_schema"), "{err}");
        let err = validate(&json!({
            "contents": [{ "parts": [{ "text": "a" }] }],
            "generationConfig": { "responseMimeType": "application/json",
                "responseSchema": { "type": "OBJECT", "properties": { "a": { "type": "TEXT" } } } },
        }))
        .unwrap_err();
        assert!(err.contains("unknown type"), "{err}");
    }

    #[test]
    fn faults_are_used_in_order_one_request_each() {
        let mut state = GeminiState::default();
        state
            .add_fault(GeminiFaultSpec::new(GeminiFault::Malformed).times(2))
            .unwrap();
        state
            .add_fault(GeminiFaultSpec::new(GeminiFault::Safety))
            .unwrap();
        let taken: Vec<_> = std::iter::from_fn(|| state.next_fault().map(|f| f.fault)).collect();
        assert_eq!(
            taken,
            vec![
                GeminiFault::Malformed,
                GeminiFault::Malformed,
                GeminiFault::Safety
            ]
        );
        assert!(
            state
                .add_fault(GeminiFaultSpec::new(GeminiFault::Safety).times(0))
                .is_err()
        );
    }
}
