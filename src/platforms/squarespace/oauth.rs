//! Squarespace OAuth (PLATFORMS.md §10): Basic client auth, JSON token requests, expiry given
//! as absolute times, refresh tokens only with offline access. Every API call must carry a
//! User-Agent (our client always sends one).

use async_trait::async_trait;
use chrono::{DateTime, TimeZone as _, Utc};
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

pub const SCOPES: &str = "website.products.read";
const AUTHORIZE: &str = "https://login.squarespace.com/api/1/login/oauth/provider/authorize";
const TOKEN: &str = "https://login.squarespace.com/api/1/login/oauth/provider/tokens";
const WEBSITE: &str = "https://api.squarespace.com/1.0/authorization/website";

pub struct SquarespaceOAuth {
    pub http: Http,
    pub creds: PlatformCredentials,
}

fn epoch(v: Option<&Value>) -> Option<DateTime<Utc>> {
    let secs = match v? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.parse().ok()?,
        _ => return None,
    };
    Utc.timestamp_opt(secs as i64, 0).single()
}

fn tokens(json: &Value) -> Result<TokenSet, OAuthError> {
    let mut set = oauth::standard_tokens(json, Utc::now())?;
    if let Some(at) = epoch(json.get("access_token_expires_at")) {
        set.expires_at = Some(at);
    }
    if let Some(at) = epoch(json.get("refresh_token_expires_at")) {
        set.refresh_expires_at = Some(at);
    }
    Ok(set)
}

#[async_trait]
impl OAuthProvider for SquarespaceOAuth {
    fn platform(&self) -> Platform {
        Platform::Squarespace
    }

    fn authorize_url(&self, p: &AuthorizeParams<'_>) -> Result<Url, OAuthError> {
        Ok(oauth::authorize_url(
            &self.http,
            Platform::Squarespace,
            AUTHORIZE,
            &[
                ("client_id", &self.creds.client_id),
                ("redirect_uri", p.redirect_uri),
                ("scope", SCOPES),
                ("state", p.state),
                ("access_type", "offline"),
            ],
        ))
    }

    async fn exchange_code(&self, p: &ExchangeParams<'_>) -> Result<TokenSet, OAuthError> {
        let body = json!({ "grant_type": "authorization_code", "code": p.code, "redirect_uri": p.redirect_uri });
        let req = self
            .http
            .client()
            .post(self.http.url(Platform::Squarespace, TOKEN));
        let json =
            oauth::token_request(req, ClientAuth::Basic(&self.creds), Body::Json(body)).await?;
        tokens(&json)
    }

    async fn accounts(
        &self,
        tokens: &TokenSet,
        _shop: Option<&str>,
    ) -> Result<Vec<RemoteAccount>, OAuthError> {
        let token: &SecretString = &tokens.access_token;
        let req = self
            .http
            .client()
            .get(self.http.url(Platform::Squarespace, WEBSITE))
            .bearer_auth(token.expose_secret());
        let json = oauth::send_json(req).await?;
        let id = oauth::id_field(&json, "/id")?;
        Ok(vec![RemoteAccount {
            account_id: id.clone(),
            display_name: json
                .get("siteTitle")
                .and_then(Value::as_str)
                .unwrap_or("Squarespace site")
                .to_owned(),
            avatar_url: None,
            access_token: None,
            metadata: json!({ "site_id": id, "site_url": json.get("url"), "identifier": json.get("identifier") }),
        }])
    }

    fn refresh_lead(&self) -> chrono::Duration {
        chrono::Duration::minutes(5)
    }

    async fn refresh(&self, grant: &StoredGrant) -> Result<TokenSet, OAuthError> {
        let refresh = grant
            .refresh_token
            .as_ref()
            .ok_or_else(|| OAuthError::InvalidGrant("no refresh token".into()))?;
        let body =
            json!({ "grant_type": "refresh_token", "refresh_token": refresh.expose_secret() });
        let req = self
            .http
            .client()
            .post(self.http.url(Platform::Squarespace, TOKEN));
        let json =
            oauth::token_request(req, ClientAuth::Basic(&self.creds), Body::Json(body)).await?;
        tokens(&json)
    }
}
