//! Pinterest v5 OAuth (PLATFORMS.md §5): Basic client auth at the token endpoint, and a new
//! refresh token with every refresh. Connecting also reads the boards, so a default board can be
//! chosen for pins.

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

pub const SCOPES: &str = "boards:read,boards:write,pins:read,pins:write,user_accounts:read";
const AUTHORIZE: &str = "https://www.pinterest.com/oauth/";
const TOKEN: &str = "https://api.pinterest.com/v5/oauth/token";
const USER: &str = "https://api.pinterest.com/v5/user_account";
const BOARDS: &str = "https://api.pinterest.com/v5/boards";

pub struct PinterestOAuth {
    pub http: Http,
    pub creds: PlatformCredentials,
}

/// The boards of an account, following the bookmark cursor (a few pages at most).
pub async fn boards(http: &Http, token: &str) -> Result<Vec<Value>, OAuthError> {
    let mut out = Vec::new();
    let mut bookmark: Option<String> = None;
    for _ in 0..20 {
        let mut real = Url::parse(BOARDS).expect("constant URL");
        real.query_pairs_mut().append_pair("page_size", "250");
        if let Some(b) = &bookmark {
            real.query_pairs_mut().append_pair("bookmark", b);
        }
        let json = oauth::send_json(
            http.client()
                .get(http.url(Platform::Pinterest, real.as_str()))
                .bearer_auth(token),
        )
        .await?;
        for b in json
            .get("items")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Ok(id) = oauth::id_field(b, "/id") {
                out.push(json!({ "id": id, "name": b.get("name").and_then(Value::as_str).unwrap_or("Board") }));
            }
        }
        bookmark = json
            .get("bookmark")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        if bookmark.is_none() {
            break;
        }
    }
    Ok(out)
}

#[async_trait]
impl OAuthProvider for PinterestOAuth {
    fn platform(&self) -> Platform {
        Platform::Pinterest
    }

    fn authorize_url(&self, p: &AuthorizeParams<'_>) -> Result<Url, OAuthError> {
        Ok(oauth::authorize_url(
            &self.http,
            Platform::Pinterest,
            AUTHORIZE,
            &[
                ("client_id", &self.creds.client_id),
                ("redirect_uri", p.redirect_uri),
                ("response_type", "code"),
                ("scope", SCOPES),
                ("state", p.state),
            ],
        ))
    }

    async fn exchange_code(&self, p: &ExchangeParams<'_>) -> Result<TokenSet, OAuthError> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", p.code),
            ("redirect_uri", p.redirect_uri),
        ];
        let req = self
            .http
            .client()
            .post(self.http.url(Platform::Pinterest, TOKEN));
        let json =
            oauth::token_request(req, ClientAuth::Basic(&self.creds), Body::Form(&form)).await?;
        oauth::standard_tokens(&json, Utc::now())
    }

    async fn accounts(
        &self,
        tokens: &TokenSet,
        _shop: Option<&str>,
    ) -> Result<Vec<RemoteAccount>, OAuthError> {
        let token = tokens.access_token.expose_secret();
        let json = oauth::send_json(
            self.http
                .client()
                .get(self.http.url(Platform::Pinterest, USER))
                .bearer_auth(token),
        )
        .await?;
        let username = oauth::str_field(&json, "/username")?.to_owned();
        let id = oauth::id_field(&json, "/id").unwrap_or_else(|_| username.clone());
        let boards = boards(&self.http, token).await?;
        let default_board = boards
            .first()
            .and_then(|b| b.get("id"))
            .cloned()
            .unwrap_or(Value::Null);
        Ok(vec![RemoteAccount {
            account_id: id,
            display_name: format!("@{username}"),
            avatar_url: json
                .get("profile_image")
                .and_then(Value::as_str)
                .map(str::to_owned),
            access_token: None,
            metadata: json!({ "username": username, "boards": boards, "default_board_id": default_board }),
        }])
    }

    fn refresh_lead(&self) -> chrono::Duration {
        chrono::Duration::days(5)
    }

    async fn refresh(&self, grant: &StoredGrant) -> Result<TokenSet, OAuthError> {
        let refresh = grant
            .refresh_token
            .as_ref()
            .ok_or_else(|| OAuthError::InvalidGrant("no refresh token".into()))?;
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.expose_secret()),
        ];
        let req = self
            .http
            .client()
            .post(self.http.url(Platform::Pinterest, TOKEN));
        let json =
            oauth::token_request(req, ClientAuth::Basic(&self.creds), Body::Form(&form)).await?;
        oauth::standard_tokens(&json, Utc::now())
    }
}
