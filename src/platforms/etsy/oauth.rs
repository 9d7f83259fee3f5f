//! Etsy Open API v3 OAuth (PLATFORMS.md §9): PKCE S256 without a client secret at the token
//! endpoint, refresh tokens that rotate, and `x-api-key: keystring:shared_secret` on API calls.

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

pub const SCOPES: &str = "listings_r shops_r profile_r";
const AUTHORIZE: &str = "https://www.etsy.com/oauth/connect";
const TOKEN: &str = "https://api.etsy.com/v3/public/oauth/token";
const ME: &str = "https://api.etsy.com/v3/application/users/me";

pub struct EtsyOAuth {
    pub http: Http,
    pub creds: PlatformCredentials,
}

/// The `x-api-key` header every Etsy API call needs (since February 2026, with the secret).
pub fn api_key(creds: &PlatformCredentials) -> String {
    format!(
        "{}:{}",
        creds.client_id,
        creds.client_secret.expose_secret()
    )
}

impl EtsyOAuth {
    async fn get(&self, url: &str, token: &str) -> Result<Value, OAuthError> {
        let req = self
            .http
            .client()
            .get(self.http.url(Platform::Etsy, url))
            .header("x-api-key", api_key(&self.creds))
            .bearer_auth(token);
        oauth::send_json(req).await
    }
}

#[async_trait]
impl OAuthProvider for EtsyOAuth {
    fn platform(&self) -> Platform {
        Platform::Etsy
    }

    fn uses_pkce(&self) -> bool {
        true
    }

    fn authorize_url(&self, p: &AuthorizeParams<'_>) -> Result<Url, OAuthError> {
        let challenge = p
            .pkce_challenge
            .ok_or_else(|| OAuthError::Protocol("Etsy requires PKCE".into()))?;
        Ok(oauth::authorize_url(
            &self.http,
            Platform::Etsy,
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
        let form = [
            ("grant_type", "authorization_code"),
            ("client_id", self.creds.client_id.as_str()),
            ("redirect_uri", p.redirect_uri),
            ("code", p.code),
            ("code_verifier", p.pkce_verifier.unwrap_or_default()),
        ];
        let req = self
            .http
            .client()
            .post(self.http.url(Platform::Etsy, TOKEN));
        let json = oauth::token_request(req, ClientAuth::InBody, Body::Form(&form)).await?;
        oauth::standard_tokens(&json, Utc::now())
    }

    async fn accounts(
        &self,
        tokens: &TokenSet,
        _shop: Option<&str>,
    ) -> Result<Vec<RemoteAccount>, OAuthError> {
        let token = tokens.access_token.expose_secret();
        let me = self.get(ME, token).await?;
        let user_id = oauth::id_field(&me, "/user_id")?;
        let shop_id = oauth::id_field(&me, "/shop_id").map_err(|_| OAuthError::Rejected {
            status: 200,
            message: "this Etsy account has no shop".into(),
        })?;
        let shop = self
            .get(
                &format!("https://api.etsy.com/v3/application/shops/{shop_id}"),
                token,
            )
            .await?;
        let name = shop
            .get("shop_name")
            .and_then(Value::as_str)
            .unwrap_or("Etsy shop")
            .to_owned();
        Ok(vec![RemoteAccount {
            account_id: shop_id.clone(),
            display_name: name.clone(),
            avatar_url: shop
                .get("icon_url_fullxfull")
                .and_then(Value::as_str)
                .map(str::to_owned),
            access_token: None,
            metadata: json!({ "shop_id": shop_id, "user_id": user_id, "shop_name": name, "shop_url": shop.get("url") }),
        }])
    }

    async fn refresh(&self, grant: &StoredGrant) -> Result<TokenSet, OAuthError> {
        let refresh = grant
            .refresh_token
            .as_ref()
            .ok_or_else(|| OAuthError::InvalidGrant("no refresh token".into()))?;
        let form = [
            ("grant_type", "refresh_token"),
            ("client_id", self.creds.client_id.as_str()),
            ("refresh_token", refresh.expose_secret()),
        ];
        let req = self
            .http
            .client()
            .post(self.http.url(Platform::Etsy, TOKEN));
        let json = oauth::token_request(req, ClientAuth::InBody, Body::Form(&form)).await?;
        oauth::standard_tokens(&json, Utc::now())
    }
}
