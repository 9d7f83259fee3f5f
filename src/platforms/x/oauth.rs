//! X OAuth 2.0: authorization code with PKCE, confidential client (Basic auth), refresh tokens
//! that rotate on every use (PLATFORMS.md §1).

use async_trait::async_trait;
use chrono::Utc;
use secrecy::ExposeSecret;
use serde_json::json;
use url::Url;

use crate::config::PlatformCredentials;
use crate::domain::Platform;
use crate::platforms::oauth::{self, Body, ClientAuth};
use crate::platforms::{
    AuthorizeParams, ExchangeParams, Http, OAuthError, OAuthProvider, RemoteAccount, StoredGrant,
    TokenSet,
};

pub const SCOPES: &str = "tweet.read tweet.write users.read media.write offline.access";
const AUTHORIZE: &str = "https://x.com/i/oauth2/authorize";
const TOKEN: &str = "https://api.x.com/2/oauth2/token";
const REVOKE: &str = "https://api.x.com/2/oauth2/revoke";
const ME: &str = "https://api.x.com/2/users/me?user.fields=profile_image_url";

pub struct XOAuth {
    pub http: Http,
    pub creds: PlatformCredentials,
}

#[async_trait]
impl OAuthProvider for XOAuth {
    fn platform(&self) -> Platform {
        Platform::X
    }

    fn uses_pkce(&self) -> bool {
        true
    }

    fn authorize_url(&self, p: &AuthorizeParams<'_>) -> Result<Url, OAuthError> {
        let challenge = p
            .pkce_challenge
            .ok_or_else(|| OAuthError::Protocol("X requires PKCE".into()))?;
        Ok(oauth::authorize_url(
            &self.http,
            Platform::X,
            AUTHORIZE,
            &[
                ("response_type", "code"),
                ("client_id", &self.creds.client_id),
                ("redirect_uri", p.redirect_uri),
                ("scope", SCOPES),
                ("state", p.state),
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
            ],
        ))
    }

    async fn exchange_code(&self, p: &ExchangeParams<'_>) -> Result<TokenSet, OAuthError> {
        let verifier = p.pkce_verifier.unwrap_or_default();
        let form = [
            ("code", p.code),
            ("grant_type", "authorization_code"),
            ("client_id", self.creds.client_id.as_str()),
            ("redirect_uri", p.redirect_uri),
            ("code_verifier", verifier),
        ];
        let req = self.http.client().post(self.http.url(Platform::X, TOKEN));
        let json =
            oauth::token_request(req, ClientAuth::Basic(&self.creds), Body::Form(&form)).await?;
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
            .get(self.http.url(Platform::X, ME))
            .bearer_auth(tokens.access_token.expose_secret());
        let json = oauth::send_json(req).await?;
        let username = oauth::str_field(&json, "/data/username")?.to_owned();
        let name = json
            .pointer("/data/name")
            .and_then(|v| v.as_str())
            .unwrap_or(&username)
            .to_owned();
        Ok(vec![RemoteAccount {
            account_id: oauth::id_field(&json, "/data/id")?,
            display_name: format!("{name} (@{username})"),
            avatar_url: json
                .pointer("/data/profile_image_url")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
            access_token: None,
            metadata: json!({ "username": username }),
        }])
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
        ];
        let req = self.http.client().post(self.http.url(Platform::X, TOKEN));
        let json =
            oauth::token_request(req, ClientAuth::Basic(&self.creds), Body::Form(&form)).await?;
        oauth::standard_tokens(&json, Utc::now())
    }

    async fn revoke(&self, grant: &StoredGrant) -> Result<bool, OAuthError> {
        // Revoking the refresh token ends the grant; the access token goes too where we have it.
        for (token, hint) in [
            (&grant.refresh_token, "refresh_token"),
            (&grant.access_token, "access_token"),
        ] {
            if let Some(t) = token {
                let form = [
                    ("token", t.expose_secret()),
                    ("token_type_hint", hint),
                    ("client_id", self.creds.client_id.as_str()),
                ];
                let req = self.http.client().post(self.http.url(Platform::X, REVOKE));
                oauth::token_request(req, ClientAuth::Basic(&self.creds), Body::Form(&form))
                    .await?;
            }
        }
        Ok(true)
    }
}
