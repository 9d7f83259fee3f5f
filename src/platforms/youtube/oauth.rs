//! Google OAuth for YouTube (PLATFORMS.md §7): PKCE, `access_type=offline` with
//! `prompt=consent` so a refresh token is always issued; refreshing keeps the same refresh token.

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

pub const SCOPES: &str = "https://www.googleapis.com/auth/youtube.upload https://www.googleapis.com/auth/youtube.readonly";
const AUTHORIZE: &str = "https://accounts.google.com/o/oauth2/v2/auth";
const TOKEN: &str = "https://oauth2.googleapis.com/token";
const REVOKE: &str = "https://oauth2.googleapis.com/revoke";
const CHANNELS: &str = "https://www.googleapis.com/youtube/v3/channels?part=snippet&mine=true";

pub struct YoutubeOAuth {
    pub http: Http,
    pub creds: PlatformCredentials,
}

#[async_trait]
impl OAuthProvider for YoutubeOAuth {
    fn platform(&self) -> Platform {
        Platform::Youtube
    }

    fn uses_pkce(&self) -> bool {
        true
    }

    fn authorize_url(&self, p: &AuthorizeParams<'_>) -> Result<Url, OAuthError> {
        let challenge = p
            .pkce_challenge
            .ok_or_else(|| OAuthError::Protocol("PKCE challenge missing".into()))?;
        Ok(oauth::authorize_url(
            &self.http,
            Platform::Youtube,
            AUTHORIZE,
            &[
                ("client_id", &self.creds.client_id),
                ("redirect_uri", p.redirect_uri),
                ("response_type", "code"),
                ("scope", SCOPES),
                ("access_type", "offline"),
                // Without a fresh consent Google sends a refresh token only the first time.
                ("prompt", "consent"),
                ("include_granted_scopes", "true"),
                ("state", p.state),
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
            ],
        ))
    }

    async fn exchange_code(&self, p: &ExchangeParams<'_>) -> Result<TokenSet, OAuthError> {
        let form = [
            ("code", p.code),
            ("client_id", self.creds.client_id.as_str()),
            ("client_secret", self.creds.client_secret.expose_secret()),
            ("redirect_uri", p.redirect_uri),
            ("grant_type", "authorization_code"),
            ("code_verifier", p.pkce_verifier.unwrap_or_default()),
        ];
        let req = self
            .http
            .client()
            .post(self.http.url(Platform::Youtube, TOKEN));
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
            .get(self.http.url(Platform::Youtube, CHANNELS))
            .bearer_auth(tokens.access_token.expose_secret());
        let json = oauth::send_json(req).await?;
        let items = json
            .get("items")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if items.is_empty() {
            return Err(OAuthError::Rejected {
                status: 200,
                message: "this Google account has no YouTube channel".into(),
            });
        }
        Ok(items
            .iter()
            .filter_map(|c| {
                let id = oauth::id_field(c, "/id").ok()?;
                Some(RemoteAccount {
                    account_id: id.clone(),
                    display_name: c.pointer("/snippet/title").and_then(Value::as_str).unwrap_or("YouTube channel").to_owned(),
                    avatar_url: c.pointer("/snippet/thumbnails/default/url").and_then(Value::as_str).map(str::to_owned),
                    access_token: None,
                    metadata: json!({ "channel_id": id, "custom_url": c.pointer("/snippet/customUrl") }),
                })
            })
            .collect())
    }

    async fn refresh(&self, grant: &StoredGrant) -> Result<TokenSet, OAuthError> {
        let refresh = grant
            .refresh_token
            .as_ref()
            .ok_or_else(|| OAuthError::InvalidGrant("no refresh token".into()))?;
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.expose_secret()),
            ("client_id", self.creds.client_id.as_str()),
            ("client_secret", self.creds.client_secret.expose_secret()),
        ];
        let req = self
            .http
            .client()
            .post(self.http.url(Platform::Youtube, TOKEN));
        let json = oauth::token_request(req, ClientAuth::InBody, Body::Form(&form)).await?;
        oauth::standard_tokens(&json, Utc::now())
    }

    async fn revoke(&self, grant: &StoredGrant) -> Result<bool, OAuthError> {
        let Some(token) = grant.refresh_token.as_ref().or(grant.access_token.as_ref()) else {
            return Ok(false);
        };
        let form = [("token", token.expose_secret())];
        let req = self
            .http
            .client()
            .post(self.http.url(Platform::Youtube, REVOKE));
        oauth::token_request(req, ClientAuth::InBody, Body::Form(&form)).await?;
        Ok(true)
    }
}
