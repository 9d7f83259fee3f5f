//! What Facebook's and Instagram's Graph APIs share: where the token comes from (`access_token`
//! in the query or body, or a Bearer header), the `fields` selector, and the error codes for
//! bad tokens, bad codes and unknown fields.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value};

use super::dispatch::RouteCtx;
use super::errors::{Graph, graph};
use super::oauth::{Params, bearer};
use super::state::{CodeError, TokenError};

/// The token a Graph request carries.
pub(crate) fn presented_token(params: &Params, headers: &HeaderMap) -> Option<String> {
    params
        .get("access_token")
        .map(str::to_owned)
        .or_else(|| bearer(headers))
}

/// `fields=id,name,picture.type(large),instagram_business_account{id,username}` → the top-level
/// names (`id`, `name`, `picture`, `instagram_business_account`).
pub(crate) fn requested_fields(params: &Params) -> Vec<String> {
    let Some(raw) = params.get("fields") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut current = String::new();
    for c in raw.chars() {
        match c {
            '{' | '(' => depth += 1,
            '}' | ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.push(current);
    out.into_iter()
        .map(|f| {
            f.trim()
                .split(['.', '{', '('])
                .next()
                .unwrap_or("")
                .to_owned()
        })
        .filter(|f| !f.is_empty())
        .collect()
}

/// Builds a node from the requested fields (or `default` when none were named); `value`
/// answers a field, `None` meaning the node type has no such field. The `id` is always there.
pub(crate) fn select(
    ctx: &RouteCtx,
    params: &Params,
    node_type: &str,
    default: &[&str],
    value: impl Fn(&str) -> Option<Option<Value>>,
) -> Result<Map<String, Value>, Response> {
    let mut fields = requested_fields(params);
    if fields.is_empty() {
        fields = default.iter().map(|f| (*f).to_owned()).collect();
    }
    let mut out = Map::new();
    for field in fields {
        match value(&field) {
            // A known field the node has nothing for is left out, as the Graph API does.
            Some(Some(v)) => {
                out.insert(field, v);
            }
            Some(None) => {}
            None => return Err(unknown_field(ctx, &field, node_type)),
        }
    }
    if let Some(Some(id)) = value("id") {
        out.insert("id".to_owned(), id);
    }
    Ok(out)
}

pub(crate) fn unknown_field(ctx: &RouteCtx, field: &str, node_type: &str) -> Response {
    graph(
        ctx,
        StatusCode::BAD_REQUEST,
        Graph {
            message: &format!(
                "(#100) Tried accessing nonexisting field ({field}) on node type ({node_type})"
            ),
            kind: "OAuthException",
            code: 100,
            subcode: None,
        },
    )
}

/// What the Graph API says about an object the token cannot reach (someone else's Page,
/// container or media, or an id that does not exist): the same answer for all of them.
pub(crate) fn unsupported(ctx: &RouteCtx, id: &str) -> Response {
    let method = if ctx.method == "GET" { "get" } else { "post" };
    graph(
        ctx,
        StatusCode::BAD_REQUEST,
        Graph {
            message: &format!(
                "Unsupported {method} request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
            ),
            kind: "GraphMethodException",
            code: 100,
            subcode: Some(33),
        },
    )
}

/// A permission the token lacks (`(#10)` for Instagram, `(#200)` for Pages).
pub(crate) fn permission(ctx: &RouteCtx, code: u32, message: &str) -> Response {
    graph(
        ctx,
        StatusCode::FORBIDDEN,
        Graph {
            message,
            kind: "OAuthException",
            code,
            subcode: None,
        },
    )
}

/// Graph timestamps: `2026-09-01T10:00:00+0000`.
pub(crate) fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S+0000").to_string()
}

/// A Graph boolean parameter (`true`/`false`, also `1`/`0`); `None` when it is not one.
pub(crate) fn boolean(raw: &str) -> Option<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

pub(crate) fn bad_request(ctx: &RouteCtx, code: u32, message: &str) -> Response {
    graph(
        ctx,
        StatusCode::BAD_REQUEST,
        Graph {
            message,
            kind: "OAuthException",
            code,
            subcode: None,
        },
    )
}

/// Code 190 and its subcodes for a token that is not usable.
pub(crate) fn token_error(ctx: &RouteCtx, error: TokenError, client_id: &str) -> Response {
    let (message, code, subcode) = match error {
        TokenError::Missing => (
            "An active access token must be used to query information about the current user."
                .to_owned(),
            2500,
            None,
        ),
        TokenError::Unknown => (
            "Invalid OAuth access token - Cannot parse access token".to_owned(),
            190,
            None,
        ),
        TokenError::Expired => (
            format!(
                "Error validating access token: Session has expired on {}. The current time is {}.",
                ctx.at.format("%A, %d-%b-%y %H:%M:%S UTC"),
                ctx.at.format("%A, %d-%b-%y %H:%M:%S UTC"),
            ),
            190,
            Some(463),
        ),
        TokenError::Revoked => (
            format!(
                "Error validating access token: The user has not authorized application {client_id}."
            ),
            190,
            Some(458),
        ),
    };
    graph(
        ctx,
        StatusCode::BAD_REQUEST,
        Graph {
            message: &message,
            kind: "OAuthException",
            code,
            subcode,
        },
    )
}

/// The code-exchange failures of `/oauth/access_token`.
pub(crate) fn code_error(ctx: &RouteCtx, error: CodeError) -> Response {
    let (message, subcode) = match error {
        CodeError::Missing => ("Missing authorization code", None),
        CodeError::Unknown | CodeError::ClientMismatch => {
            ("Invalid verification code format.", None)
        }
        CodeError::Used => ("This authorization code has been used.", Some(36009)),
        CodeError::Expired => ("This authorization code has expired.", Some(36007)),
        CodeError::RedirectMismatch => (
            "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request",
            Some(36008),
        ),
        CodeError::VerifierMissing | CodeError::VerifierMismatch => {
            ("Invalid code verifier.", None)
        }
    };
    graph(
        ctx,
        StatusCode::BAD_REQUEST,
        Graph {
            message,
            kind: "OAuthException",
            code: 100,
            subcode,
        },
    )
}

/// Application id and secret checks shared by both token endpoints.
pub(crate) fn check_client(
    ctx: &RouteCtx,
    expected: (&str, &str),
    id: Option<&str>,
    secret: Option<&str>,
) -> Result<(), Response> {
    match id {
        None => return Err(bad_request(ctx, 101, "Missing client_id parameter.")),
        Some(id) if id != expected.0 => {
            return Err(bad_request(
                ctx,
                101,
                "Error validating application. Invalid application ID.",
            ));
        }
        Some(_) => {}
    }
    match secret {
        None => Err(bad_request(ctx, 100, "Missing client_secret parameter.")),
        Some(s) if s != expected.1 => Err(bad_request(ctx, 1, "Error validating client secret.")),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_field_selectors_name_their_top_level_fields() {
        let params = Params::from_query(
            "fields=id,name,picture.type(large),instagram_business_account%7Bid,username%7D,access_token",
        );
        assert_eq!(
            requested_fields(&params),
            [
                "id",
                "name",
                "picture",
                "instagram_business_account",
                "access_token"
            ]
        );
    }
}
