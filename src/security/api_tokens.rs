//! Personal API tokens: `psk_` followed by 256 random bits. Only their SHA-256 is stored; the
//! token itself is shown once, when it is created.

use chrono::Utc;
use sea_orm::{ActiveModelTrait as _, ConnectionTrait, Set};
use uuid::Uuid;

use crate::entities::api_tokens;

pub const PREFIX: &str = "psk_";

pub struct NewToken {
    pub model: api_tokens::Model,
    /// The token, to show once. Never logged.
    pub plaintext: secrecy::SecretString,
}

pub fn hash(token: &str) -> String {
    super::sha256_hex(token.as_bytes())
}

pub fn validate_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    match name.chars().count() {
        0 => Err("Give the token a name, such as the script that will use it.".into()),
        n if n > 100 => Err("Keep the name under 100 characters.".into()),
        _ => Ok(name.to_owned()),
    }
}

pub async fn create(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    name: &str,
) -> Result<NewToken, sea_orm::DbErr> {
    let token = format!("{PREFIX}{}", super::random_token(32));
    let model = api_tokens::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        name: Set(name.to_owned()),
        token_hash: Set(hash(&token)),
        token_prefix: Set(token.chars().take(PREFIX.len() + 6).collect()),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(NewToken {
        model,
        plaintext: token.into(),
    })
}
