//! Request bodies of the publishing endpoints. Unlike [`Params`], which is enough for OAuth
//! forms, these may carry files: a multipart part keeps its bytes (an X media chunk, a Facebook
//! `source`), and its text too when it is text. JSON bodies are flattened into `params` for the
//! Graph API, which takes parameters in the query, a form or JSON alike (endpoints that read
//! nested JSON take the raw body instead). A body that cannot be read is not a rejection here: the
//! handler answers in its platform's error shape.

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;
use axum::response::Response;
use serde_json::Value;

use super::oauth::{BodyKind, Params};

pub(crate) struct Part {
    pub name: String,
    pub bytes: Bytes,
}

pub(crate) struct Form {
    /// Text fields (multipart parts that are UTF-8, urlencoded pairs, or top-level JSON values).
    pub params: Params,
    /// Every multipart part, with its bytes.
    pub parts: Vec<Part>,
    pub kind: BodyKind,
    /// Why the body could not be read, when it could not.
    pub error: Option<String>,
}

impl Form {
    pub fn part(&self, name: &str) -> Option<&Part> {
        self.parts.iter().find(|p| p.name == name)
    }

    /// Graph-style parameters: the query's first, then the body's.
    pub fn with_query(mut self, query: &Params) -> Self {
        self.params = self.params.with_query(query);
        self
    }
}

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if content_type.starts_with("multipart/form-data") {
            return Ok(read_multipart(req, state).await);
        }
        let body = match axum::body::to_bytes(req.into_body(), usize::MAX).await {
            Ok(b) => b,
            Err(_) => return Ok(unreadable(BodyKind::Other, "The body could not be read.")),
        };
        if body.is_empty() {
            return Ok(Form {
                params: Params::from_query(""),
                parts: Vec::new(),
                kind: BodyKind::Empty,
                error: None,
            });
        }
        if content_type.starts_with("application/json") {
            return Ok(match serde_json::from_slice::<Value>(&body) {
                Ok(json) => Form {
                    params: flatten(&json),
                    parts: Vec::new(),
                    kind: BodyKind::Json,
                    error: None,
                },
                Err(e) => unreadable(BodyKind::Json, &format!("The body is not valid JSON: {e}")),
            });
        }
        let kind = if content_type.starts_with("application/x-www-form-urlencoded") {
            BodyKind::Form
        } else {
            BodyKind::Other
        };
        let mut params = Params::from_query(&String::from_utf8_lossy(&body));
        params.kind = kind;
        Ok(Form {
            params,
            parts: Vec::new(),
            kind,
            error: None,
        })
    }
}

fn unreadable(kind: BodyKind, why: &str) -> Form {
    Form {
        params: Params::from_query(""),
        parts: Vec::new(),
        kind,
        error: Some(why.to_owned()),
    }
}

async fn read_multipart<S: Send + Sync>(req: Request, state: &S) -> Form {
    let mut multipart = match Multipart::from_request(req, state).await {
        Ok(m) => m,
        Err(e) => return unreadable(BodyKind::Multipart, &e.body_text()),
    };
    let mut parts = Vec::new();
    let mut pairs = Vec::new();
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_owned();
                let is_file = field.file_name().is_some();
                match field.bytes().await {
                    Ok(bytes) => {
                        if !is_file && let Ok(text) = std::str::from_utf8(&bytes) {
                            pairs.push((name.clone(), text.to_owned()));
                        }
                        parts.push(Part { name, bytes });
                    }
                    Err(e) => return unreadable(BodyKind::Multipart, &e.body_text()),
                }
            }
            Ok(None) => break,
            Err(e) => return unreadable(BodyKind::Multipart, &e.body_text()),
        }
    }
    let mut params = Params::from_pairs(pairs);
    params.kind = BodyKind::Multipart;
    Form {
        params,
        parts,
        kind: BodyKind::Multipart,
        error: None,
    }
}

/// Top-level JSON values as parameters: strings as they are, anything else as JSON text (so
/// `attached_media` may be an array in a JSON body or a JSON string in a form).
fn flatten(json: &Value) -> Params {
    let pairs = match json {
        Value::Object(map) => map
            .iter()
            .filter_map(|(k, v)| match v {
                Value::Null => None,
                Value::String(s) => Some((k.clone(), s.clone())),
                other => Some((k.clone(), other.to_string())),
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut params = Params::from_pairs(pairs);
    params.kind = BodyKind::Json;
    params
}
