//! LinkedIn 3-legged OAuth (PLATFORMS.md §4): 60-day access tokens; a refresh token only for
//! apps approved for programmatic refresh, so most connections must be renewed by the person.

use async_trait::async_trait;
use chrono::Utc;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use url::Url;

use crate::config::PlatformCredentials;
use crate::domain::Platform;
use crate::platforms::oauth::{self, Body, ClientAuth};
use crate::platforms::{
    AuthorizeParams, ExchangeParams, Http, OAuthError, OAuthProvider, RemoteAccount, StoredGrant,
    TokenSet,
};

pub const SCOPES: &str = "openid profile w_member_social";
const AUTHORIZE: &str = "https://www.linkedin.com/oauth/v2/authorization";
const TOKEN: &str = "https://www.linkedin.com/oauth/v2/accessToken";
const USERINFO: &str = "https://api.linkedin.com/v2/userinfo";

pub struct LinkedinOAuth {
    pub http: Http,
    pub creds: PlatformCredentials,
}

#[async_trait]
impl OAuthProvider for LinkedinOAuth {
    fn platform(&self) -> Platform {
        Platform::Linkedin
    }

    fn authorize_url(&self, p: &AuthorizeParams<'_>) -> Result<Url, OAuthError> {
        Ok(oauth::authorize_url(
            &self.http,
            Platform::Linkedin,
            AUTHORIZE,
            &[
                ("response_type", "code"),
                ("client_id", &self.creds.client_id),
                ("redirect_uri", p.redirect_uri),
                ("state", p.state),
                ("scope", SCOPES),
            ],
        ))
    }

    async fn exchange_code(&self, p: &ExchangeParams<'_>) -> Result<TokenSet, OAuthError> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", p.code),
            ("redirect_uri", p.redirect_uri),
            ("client_id", self.creds.client_id.as_str()),
            ("client_secret", self.creds.client_secret.expose_secret()),
        ];
        let req = self
            .http
            .client()
            .post(self.http.url(Platform::Linkedin, TOKEN));
        let json = oauth::token_request(req, ClientAuth::InBody, Body::Form(&form)).await?;
        oauth::standard_tokens(&json, Utc::now())
    }

    async fn accounts(
        &self,
        tokens: &TokenSet,
        _shop: Option<&str>,
    ) -> Result<Vec<RemoteAccount>, OAuthError> {
        let req = self
            .http
            .client()
            .get(self.http.url(Platform::Linkedin, USERINFO))
            .bearer_auth(tokens.access_token.expose_secret());
        let json = oauth::send_json(req).await?;
        let sub = oauth::str_field(&json, "/sub")?.to_owned();
        Ok(vec![RemoteAccount {
            account_id: sub.clone(),
            display_name: json
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("LinkedIn member")
                .to_owned(),
            avatar_url: json
                .get("picture")
                .and_then(Value::as_str)
                .map(str::to_owned),
            access_token: None,
            metadata: json!({ "author_urn": format!("urn:li:person:{sub}") }),
        }])
    }

    fn refresh_lead(&self) -> chrono::Duration {
        chrono::Duration::days(7)
    }

    async fn refresh(&self, grant: &StoredGrant) -> Result<TokenSet, OAuthError> {
        let refresh = grant
            .refresh_token
            .as_ref()
            .ok_or_else(|| OAuthError::InvalidGrant("LinkedIn gave no refresh token".into()))?;
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.expose_secret()),
            ("client_id", self.creds.client_id.as_str()),
            ("client_secret", self.creds.client_secret.expose_secret()),
        ];
        let req = self
            .http
            .client()
            .post(self.http.url(Platform::Linkedin, TOKEN));
        let json = oauth::token_request(req, ClientAuth::InBody, Body::Form(&form)).await?;
        oauth::standard_tokens(&json, Utc::now())
    }
}
