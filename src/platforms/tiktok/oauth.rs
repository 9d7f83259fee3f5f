//! TikTok Login Kit v2 (PLATFORMS.md §6): `client_key` instead of client_id, 24-hour access
//! tokens, refresh tokens for a year (and the newest one returned is the one to keep).

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

/// `video.list` reads the public videos' numbers for engagement collection; connections made
/// before it was asked for lack it, and their numbers are skipped until reconnected.
pub const SCOPES: &str = "user.info.basic,user.info.profile,video.list,video.publish,video.upload";
const AUTHORIZE: &str = "https://www.tiktok.com/v2/auth/authorize/";
const TOKEN: &str = "https://open.tiktokapis.com/v2/oauth/token/";
const REVOKE: &str = "https://open.tiktokapis.com/v2/oauth/revoke/";
const CREATOR_INFO: &str = "https://open.tiktokapis.com/v2/post/publish/creator_info/query/";
const USER: &str =
    "https://open.tiktokapis.com/v2/user/info/?fields=open_id,avatar_url,display_name,username";

/// `creator_info/query` (PLATFORMS.md §6): the privacy levels and interactions this creator may
/// use, and the longest video. Stored with the connection; TikTok requires the composer to offer
/// exactly these.
pub async fn creator_info(http: &Http, token: &str) -> Result<Value, OAuthError> {
    let req = http
        .client()
        .post(http.url(Platform::Tiktok, CREATOR_INFO))
        .bearer_auth(token)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/json; charset=UTF-8",
        );
    let json = oauth::send_json(req).await?;
    let data = json.get("data").cloned().unwrap_or(Value::Null);
    Ok(json!({
        "privacy_level_options": data.get("privacy_level_options").cloned().unwrap_or_else(|| json!([])),
        "comment_disabled": data.get("comment_disabled").and_then(Value::as_bool).unwrap_or(false),
        "duet_disabled": data.get("duet_disabled").and_then(Value::as_bool).unwrap_or(false),
        "stitch_disabled": data.get("stitch_disabled").and_then(Value::as_bool).unwrap_or(false),
        "max_video_post_duration_sec": data.get("max_video_post_duration_sec"),
    }))
}

pub struct TiktokOAuth {
    pub http: Http,
    pub creds: PlatformCredentials,
}

#[async_trait]
impl OAuthProvider for TiktokOAuth {
    fn platform(&self) -> Platform {
        Platform::Tiktok
    }

    fn authorize_url(&self, p: &AuthorizeParams<'_>) -> Result<Url, OAuthError> {
        Ok(oauth::authorize_url(
            &self.http,
            Platform::Tiktok,
            AUTHORIZE,
            &[
                ("client_key", &self.creds.client_id),
                ("scope", SCOPES),
                ("response_type", "code"),
                ("redirect_uri", p.redirect_uri),
                ("state", p.state),
            ],
        ))
    }

    async fn exchange_code(&self, p: &ExchangeParams<'_>) -> Result<TokenSet, OAuthError> {
        let form = [
            ("client_key", self.creds.client_id.as_str()),
            ("client_secret", self.creds.client_secret.expose_secret()),
            ("code", p.code),
            ("grant_type", "authorization_code"),
            ("redirect_uri", p.redirect_uri),
        ];
        let req = self
            .http
            .client()
            .post(self.http.url(Platform::Tiktok, TOKEN));
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
            .get(self.http.url(Platform::Tiktok, USER))
            .bearer_auth(tokens.access_token.expose_secret());
        let json = oauth::send_json(req).await?;
        let user = json.pointer("/data/user").cloned().unwrap_or(Value::Null);
        let open_id = oauth::str_field(&user, "/open_id")?.to_owned();
        let name = user
            .get("display_name")
            .and_then(Value::as_str)
            .unwrap_or("TikTok account")
            .to_owned();
        let username = user
            .get("username")
            .and_then(Value::as_str)
            .map(str::to_owned);
        // What this creator may post (privacy levels, interactions), for the composer.
        let creator = creator_info(&self.http, tokens.access_token.expose_secret()).await?;
        Ok(vec![RemoteAccount {
            account_id: open_id,
            display_name: match &username {
                Some(u) => format!("{name} (@{u})"),
                None => name,
            },
            avatar_url: user
                .get("avatar_url")
                .and_then(Value::as_str)
                .map(str::to_owned),
            access_token: None,
            metadata: json!({ "username": username, "creator": creator }),
        }])
    }

    fn refresh_lead(&self) -> chrono::Duration {
        chrono::Duration::hours(2)
    }

    async fn refresh(&self, grant: &StoredGrant) -> Result<TokenSet, OAuthError> {
        let refresh = grant
            .refresh_token
            .as_ref()
            .ok_or_else(|| OAuthError::InvalidGrant("no refresh token".into()))?;
        let form = [
            ("client_key", self.creds.client_id.as_str()),
            ("client_secret", self.creds.client_secret.expose_secret()),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.expose_secret()),
        ];
        let req = self
            .http
            .client()
            .post(self.http.url(Platform::Tiktok, TOKEN));
        let json = oauth::token_request(req, ClientAuth::InBody, Body::Form(&form)).await?;
        oauth::standard_tokens(&json, Utc::now())
    }

    async fn revoke(&self, grant: &StoredGrant) -> Result<bool, OAuthError> {
        let Some(token) = &grant.access_token else {
            return Ok(false);
        };
        let form = [
            ("client_key", self.creds.client_id.as_str()),
            ("client_secret", self.creds.client_secret.expose_secret()),
            ("token", token.expose_secret()),
        ];
        let req = self
            .http
            .client()
            .post(self.http.url(Platform::Tiktok, REVOKE));
        oauth::token_request(req, ClientAuth::InBody, Body::Form(&form)).await?;
        Ok(true)
    }
}
