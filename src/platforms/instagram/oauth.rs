//! Instagram API with Instagram Login (PLATFORMS.md §2): a short-lived token from the code,
//! exchanged at once for a 60-day token that refreshes itself (no refresh token).

use async_trait::async_trait;
use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use url::Url;

use crate::config::PlatformCredentials;
use crate::domain::Platform;
use crate::platforms::oauth::{self, Body, ClientAuth};
use crate::platforms::{
    AuthorizeParams, ExchangeParams, Http, OAuthError, OAuthProvider, RemoteAccount, StoredGrant,
    TokenSet,
};

pub const SCOPES: &str = "instagram_business_basic,instagram_business_content_publish,instagram_business_manage_insights";
pub const GRAPH_VERSION: &str = "v21.0";
const AUTHORIZE: &str = "https://www.instagram.com/oauth/authorize";
const TOKEN: &str = "https://api.instagram.com/oauth/access_token";
const EXCHANGE: &str = "https://graph.instagram.com/access_token";
const REFRESH: &str = "https://graph.instagram.com/refresh_access_token";

pub struct InstagramOAuth {
    pub http: Http,
    pub creds: PlatformCredentials,
}

/// The short-lived token answer comes wrapped in `data[0]` (Business Login docs) or flat
/// (older clients see it so); accept both.
fn short_lived_token(json: &Value) -> Result<String, OAuthError> {
    json.pointer("/data/0/access_token")
        .or_else(|| json.get("access_token"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| OAuthError::Protocol("no access_token in Instagram's answer".into()))
}

impl InstagramOAuth {
    async fn long_lived(&self, url: &str, params: &[(&str, &str)]) -> Result<TokenSet, OAuthError> {
        let mut real = Url::parse(url).expect("constant URL");
        real.query_pairs_mut().extend_pairs(params);
        let req = self
            .http
            .client()
            .get(self.http.url(Platform::Instagram, real.as_str()));
        let json = oauth::send_json(req).await?;
        oauth::standard_tokens(&json, Utc::now())
    }
}

#[async_trait]
impl OAuthProvider for InstagramOAuth {
    fn platform(&self) -> Platform {
        Platform::Instagram
    }

    fn authorize_url(&self, p: &AuthorizeParams<'_>) -> Result<Url, OAuthError> {
        Ok(oauth::authorize_url(
            &self.http,
            Platform::Instagram,
            AUTHORIZE,
            &[
                ("enable_fb_login", "0"),
                ("client_id", &self.creds.client_id),
                ("redirect_uri", p.redirect_uri),
                ("response_type", "code"),
                ("scope", SCOPES),
                ("state", p.state),
            ],
        ))
    }

    async fn exchange_code(&self, p: &ExchangeParams<'_>) -> Result<TokenSet, OAuthError> {
        // Meta appends `#_` to the redirect; a browser never sends it, but a pasted code may carry it.
        let code = p.code.trim_end_matches("#_");
        let form = [
            ("client_id", self.creds.client_id.as_str()),
            ("client_secret", self.creds.client_secret.expose_secret()),
            ("grant_type", "authorization_code"),
            ("redirect_uri", p.redirect_uri),
            ("code", code),
        ];
        let req = self
            .http
            .client()
            .post(self.http.url(Platform::Instagram, TOKEN));
        let json = oauth::token_request(req, ClientAuth::InBody, Body::Form(&form)).await?;
        let short = short_lived_token(&json)?;
        self.long_lived(
            EXCHANGE,
            &[
                ("grant_type", "ig_exchange_token"),
                ("client_secret", self.creds.client_secret.expose_secret()),
                ("access_token", &short),
            ],
        )
        .await
    }

    async fn accounts(
        &self,
        tokens: &TokenSet,
        _shop: Option<&str>,
    ) -> Result<Vec<RemoteAccount>, OAuthError> {
        let mut real = Url::parse(&format!("https://graph.instagram.com/{GRAPH_VERSION}/me"))
            .expect("constant URL");
        real.query_pairs_mut()
            .append_pair("fields", "user_id,username,name,profile_picture_url")
            .append_pair("access_token", tokens.access_token.expose_secret());
        let json = oauth::send_json(
            self.http
                .client()
                .get(self.http.url(Platform::Instagram, real.as_str())),
        )
        .await?;
        let username = oauth::str_field(&json, "/username")?.to_owned();
        let id = oauth::id_field(&json, "/user_id").or_else(|_| oauth::id_field(&json, "/id"))?;
        Ok(vec![RemoteAccount {
            account_id: id.clone(),
            display_name: format!("@{username}"),
            avatar_url: json
                .get("profile_picture_url")
                .and_then(Value::as_str)
                .map(str::to_owned),
            access_token: None,
            metadata: json!({ "username": username, "ig_user_id": id }),
        }])
    }

    /// The long-lived token refreshes itself, but only once it is a day old.
    fn can_refresh(&self, grant: &StoredGrant) -> bool {
        grant.access_token.is_some()
            && Utc::now() - grant.obtained_at >= chrono::Duration::hours(24)
    }

    fn refresh_lead(&self) -> chrono::Duration {
        chrono::Duration::days(7)
    }

    async fn refresh(&self, grant: &StoredGrant) -> Result<TokenSet, OAuthError> {
        let token: &SecretString = grant
            .access_token
            .as_ref()
            .ok_or_else(|| OAuthError::InvalidGrant("no token".into()))?;
        self.long_lived(
            REFRESH,
            &[
                ("grant_type", "ig_refresh_token"),
                ("access_token", token.expose_secret()),
            ],
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_documented_token_shapes_are_read() {
        assert_eq!(
            short_lived_token(&json!({"data":[{"access_token":"IGA","user_id":"1"}]})).unwrap(),
            "IGA"
        );
        assert_eq!(
            short_lived_token(&json!({"access_token":"IGQ","user_id":17841405793187218u64}))
                .unwrap(),
            "IGQ"
        );
        assert!(short_lived_token(&json!({"data":[]})).is_err());
    }
}
