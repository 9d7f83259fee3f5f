//! Pieces every platform's OAuth endpoints share: request parameters from the query and from
//! urlencoded, multipart or JSON bodies; HTTP Basic and Bearer credentials; PKCE; redirects.

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};
use url::Url;

/// How a request body was encoded, for endpoints that only accept some encodings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyKind {
    Empty,
    Form,
    Multipart,
    Json,
    Other,
}

/// Name/value pairs in request order. Repeated names are kept (`page_id` on the consent form).
#[derive(Clone, Debug)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
    pub kind: BodyKind,
}

impl Params {
    pub fn from_query(query: &str) -> Self {
        Self {
            pairs: url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
            kind: BodyKind::Form,
        }
    }

    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Self {
            pairs,
            kind: BodyKind::Form,
        }
    }

    /// The first value of `name`, empty values included.
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first non-empty value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.raw(name).filter(|v| !v.is_empty())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// These parameters without the named ones.
    pub fn without(&self, names: &[&str]) -> Self {
        Self {
            pairs: self
                .pairs
                .iter()
                .filter(|(k, _)| !names.contains(&k.as_str()))
                .cloned()
                .collect(),
            kind: self.kind,
        }
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// Query parameters first, then these (Graph endpoints take either).
    pub fn with_query(mut self, query: &Params) -> Self {
        let mut pairs = query.pairs.clone();
        pairs.append(&mut self.pairs);
        self.pairs = pairs;
        self
    }

    pub fn is_form(&self) -> bool {
        matches!(self.kind, BodyKind::Form | BodyKind::Empty)
    }
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if content_type.starts_with("multipart/form-data") {
            let mut multipart = Multipart::from_request(req, state)
                .await
                .map_err(IntoResponse::into_response)?;
            let mut pairs = Vec::new();
            while let Some(field) = multipart
                .next_field()
                .await
                .map_err(IntoResponse::into_response)?
            {
                let name = field.name().unwrap_or("").to_owned();
                let value = field.text().await.map_err(IntoResponse::into_response)?;
                pairs.push((name, value));
            }
            return Ok(Self {
                pairs,
                kind: BodyKind::Multipart,
            });
        }
        let body = axum::body::to_bytes(req.into_body(), usize::MAX)
            .await
            .map_err(|_| StatusCode::BAD_REQUEST.into_response())?;
        if body.is_empty() {
            return Ok(Self {
                pairs: Vec::new(),
                kind: BodyKind::Empty,
            });
        }
        if content_type.starts_with("application/json") {
            let pairs = match serde_json::from_slice::<serde_json::Value>(&body) {
                Ok(serde_json::Value::Object(map)) => map
                    .into_iter()
                    .filter_map(|(k, v)| match v {
                        serde_json::Value::Null => None,
                        serde_json::Value::String(s) => Some((k, s)),
                        other => Some((k, other.to_string())),
                    })
                    .collect(),
                _ => Vec::new(),
            };
            return Ok(Self {
                pairs,
                kind: BodyKind::Json,
            });
        }
        let kind = if content_type.starts_with("application/x-www-form-urlencoded") {
            BodyKind::Form
        } else {
            BodyKind::Other
        };
        Ok(Self {
            pairs: url::form_urlencoded::parse(&body).into_owned().collect(),
            kind,
        })
    }
}

/// `Authorization: Basic base64(id:secret)`, decoded.
pub(crate) fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    // RFC 6749 §2.3.1 form-encodes both halves before joining them.
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((unescape(id), unescape(secret)))
}

/// `Authorization: Bearer <token>`.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PkceMethod {
    S256,
    Plain,
}

/// What a platform's authorize endpoint does with PKCE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PkceRule {
    /// A challenge must be sent; `plain` allowed or not.
    Required { plain: bool },
    /// Verified when sent; `plain` allowed or not.
    Optional { plain: bool },
}

#[derive(Clone, Debug)]
pub(crate) struct Pkce {
    pub challenge: String,
    pub method: PkceMethod,
}

impl Pkce {
    pub fn verify(&self, verifier: &str) -> bool {
        if !is_pkce_string(verifier) {
            return false;
        }
        match self.method {
            PkceMethod::Plain => verifier == self.challenge,
            PkceMethod::S256 => s256(verifier) == self.challenge,
        }
    }
}

pub(crate) fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// RFC 7636: 43–128 characters from the unreserved set.
fn is_pkce_string(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// Reads `code_challenge` and `code_challenge_method` from an authorize request.
pub(crate) fn parse_pkce(params: &Params, rule: PkceRule) -> Result<Option<Pkce>, String> {
    let (required, plain_allowed) = match rule {
        PkceRule::Required { plain } => (true, plain),
        PkceRule::Optional { plain } => (false, plain),
    };
    let Some(challenge) = params.get("code_challenge") else {
        return if required {
            Err("This app must use PKCE: the code_challenge parameter is missing.".into())
        } else {
            Ok(None)
        };
    };
    let method = match params.get("code_challenge_method") {
        Some("S256") => PkceMethod::S256,
        Some("plain") if plain_allowed => PkceMethod::Plain,
        // RFC 7636 makes `plain` the default when no method is named.
        None if plain_allowed => PkceMethod::Plain,
        None => return Err("The code_challenge_method parameter is missing.".into()),
        Some(other) => {
            return Err(format!(
                "The code_challenge_method \u{201c}{other}\u{201d} is not supported here."
            ));
        }
    };
    let well_formed = match method {
        PkceMethod::S256 => {
            challenge.len() == 43
                && challenge
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        }
        PkceMethod::Plain => is_pkce_string(challenge),
    };
    if !well_formed {
        return Err("The code_challenge is malformed.".into());
    }
    Ok(Some(Pkce {
        challenge: challenge.to_owned(),
        method,
    }))
}

/// An absolute http(s) URL without a fragment, as RFC 6749 §3.1.2 requires of redirect URIs.
pub(crate) fn parse_redirect_uri(raw: Option<&str>) -> Result<Url, String> {
    let raw = raw.ok_or("The redirect_uri parameter is missing.")?;
    let url = Url::parse(raw)
        .map_err(|_| format!("The redirect_uri \u{201c}{raw}\u{201d} is not an absolute URL."))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "The redirect_uri \u{201c}{raw}\u{201d} must be an http or https address."
        ));
    }
    if url.fragment().is_some() {
        return Err("The redirect_uri must not contain a fragment (#…).".into());
    }
    Ok(url)
}

pub(crate) fn is_loopback(url: &Url) -> bool {
    matches!(
        url.host_str(),
        Some("localhost" | "127.0.0.1" | "[::1]" | "::1")
    )
}

/// 302 to `uri` with `params` appended to its query (and an optional fragment).
pub(crate) fn redirect(
    mut uri: Url,
    params: &[(&str, String)],
    fragment: Option<&str>,
) -> Response {
    {
        let mut q = uri.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    uri.set_fragment(fragment);
    let mut res = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(uri.as_str()) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Scopes as the platform separates them (space or comma), without empties.
pub(crate) fn split_scopes(raw: &str, separator: char) -> Vec<String> {
    raw.split(separator)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_s256_challenge_is_verified_against_its_verifier() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let pkce = Pkce {
            challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
            method: PkceMethod::S256,
        };
        assert!(pkce.verify(verifier));
        assert!(!pkce.verify("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx"));
    }

    #[test]
    fn basic_credentials_are_decoded() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic aWQ6c2VjcmV0"),
        );
        assert_eq!(basic_auth(&headers), Some(("id".into(), "secret".into())));
    }
}
