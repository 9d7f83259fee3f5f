//! What Instagram and Facebook share on the publishing side: the Graph error envelope and how
//! its codes map onto what we do next (PLATFORMS.md §2, §3).

use chrono::Utc;
use serde_json::Value;

use super::publish::{self, Answer, PublishError};

/// The Graph error object: `{"error":{"message","type","code","error_subcode","error_user_msg"}}`.
#[derive(Clone, Debug, Default)]
pub struct GraphError {
    pub code: i64,
    pub subcode: i64,
    pub message: String,
    pub user_message: Option<String>,
}

impl GraphError {
    pub fn read(json: &Value) -> GraphError {
        let e = json.get("error").unwrap_or(&Value::Null);
        GraphError {
            code: e.get("code").and_then(Value::as_i64).unwrap_or(0),
            subcode: e.get("error_subcode").and_then(Value::as_i64).unwrap_or(0),
            message: e
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            user_message: e
                .get("error_user_msg")
                .and_then(Value::as_str)
                .filter(|m| !m.is_empty())
                .map(str::to_owned),
        }
    }

    /// The platform's own words, for when we have nothing plainer.
    pub fn words(&self) -> &str {
        self.user_message.as_deref().unwrap_or(&self.message)
    }
}

/// Whether a Graph code means "slow down" (Mixpost's list, PLATFORMS.md §3).
pub fn is_rate_limit(code: i64) -> bool {
    matches!(code, 4 | 17 | 32 | 613 | 80000..=80009 | 80014)
}

/// Classifies a Graph error answer. `plain` turns the code and subcode into what the seller
/// should change, when it knows them.
pub fn classify(
    answer: &Answer,
    network: &str,
    plain: impl Fn(&GraphError) -> Option<String>,
) -> PublishError {
    let e = GraphError::read(&answer.json);
    let status = Some(answer.status);
    let now = Utc::now();
    if e.code == 190 || answer.status == 401 {
        return PublishError::Auth {
            status,
            message: format!(
                "{network} no longer accepts this account's sign-in ({}).",
                e.words()
            ),
        };
    }
    if matches!(e.code, 10 | 200..=299) {
        return PublishError::Permanent {
            status,
            message: format!(
                "{network} says Picscripter isn't allowed to post for this account ({}). Reconnect it and approve every permission asked.",
                e.words()
            ),
        };
    }
    if is_rate_limit(e.code) || answer.status == 429 {
        let reset =
            publish::reset_time(&answer.headers, now).or(Some(now + chrono::Duration::minutes(5)));
        return PublishError::Retryable {
            status,
            message: format!("{network} asked us to slow down; we'll try again when it allows."),
            retry_after: reset,
        };
    }
    if matches!(e.code, 1 | 2) || answer.status >= 500 {
        return PublishError::Retryable {
            status,
            message: format!(
                "{network} had a temporary problem ({}); we'll try again shortly.",
                e.words()
            ),
            retry_after: publish::reset_time(&answer.headers, now),
        };
    }
    let message = plain(&e).unwrap_or_else(|| format!("{network} refused the post: {}", e.words()));
    PublishError::Permanent { status, message }
}

/// The `id` of a Graph answer (`{"id": "…"}`), as text whatever its JSON type.
pub fn id(json: &Value, field: &str) -> Option<String> {
    json.get(field).and_then(|v| {
        v.as_str()
            .map(str::to_owned)
            .or_else(|| v.as_u64().map(|n| n.to_string()))
    })
}
