//! Facebook Login for Pages (PLATFORMS.md §3): a user token, exchanged for the long-lived one,
//! gives the Pages the person granted, each with its own Page token that does not expire.
//!
//! A Page connection stores the Page token as its access token and the long-lived user token in
//! the refresh-token slot — not to refresh (Page tokens need none) but to revoke the grant on
//! disconnect, which only the user token can do.

use async_trait::async_trait;
use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use url::Url;

use crate::config::PlatformCredentials;
use crate::domain::Platform;
use crate::platforms::oauth;
use crate::platforms::{
    AuthorizeParams, ExchangeParams, Http, OAuthError, OAuthProvider, RemoteAccount, StoredGrant,
    TokenSet,
};

pub const GRAPH_VERSION: &str = "v21.0";
/// `publish_video` is what `POST /{page-id}/videos` needs on top of `pages_manage_posts`.
pub const SCOPES: &str = "pages_show_list,pages_manage_posts,pages_read_engagement,pages_manage_engagement,publish_video,read_insights,business_management";

pub struct FacebookOAuth {
    pub http: Http,
    pub creds: PlatformCredentials,
}

impl FacebookOAuth {
    fn graph(&self, path: &str, params: &[(&str, &str)]) -> Url {
        let mut real = Url::parse(&format!("https://graph.facebook.com/{GRAPH_VERSION}{path}"))
            .expect("constant URL");
        real.query_pairs_mut().extend_pairs(params);
        self.http.url(Platform::Facebook, real.as_str())
    }
}

#[async_trait]
impl OAuthProvider for FacebookOAuth {
    fn platform(&self) -> Platform {
        Platform::Facebook
    }

    fn authorize_url(&self, p: &AuthorizeParams<'_>) -> Result<Url, OAuthError> {
        Ok(oauth::authorize_url(
            &self.http,
            Platform::Facebook,
            &format!("https://www.facebook.com/{GRAPH_VERSION}/dialog/oauth"),
            &[
                ("client_id", &self.creds.client_id),
                ("redirect_uri", p.redirect_uri),
                ("state", p.state),
                ("response_type", "code"),
                ("scope", SCOPES),
            ],
        ))
    }

    async fn exchange_code(&self, p: &ExchangeParams<'_>) -> Result<TokenSet, OAuthError> {
        let secret = self.creds.client_secret.expose_secret();
        let short = oauth::send_json(self.http.client().get(self.graph(
            "/oauth/access_token",
            &[
                ("client_id", &self.creds.client_id),
                ("redirect_uri", p.redirect_uri),
                ("client_secret", secret),
                ("code", p.code),
            ],
        )))
        .await?;
        let short = oauth::str_field(&short, "/access_token")?.to_owned();
        let long = oauth::send_json(self.http.client().get(self.graph(
            "/oauth/access_token",
            &[
                ("grant_type", "fb_exchange_token"),
                ("client_id", &self.creds.client_id),
                ("client_secret", secret),
                ("fb_exchange_token", &short),
            ],
        )))
        .await?;
        oauth::standard_tokens(&long, Utc::now())
    }

    async fn accounts(
        &self,
        tokens: &TokenSet,
        _shop: Option<&str>,
    ) -> Result<Vec<RemoteAccount>, OAuthError> {
        let user_token = tokens.access_token.expose_secret();
        let me = oauth::send_json(self.http.client().get(self.graph(
            "/me",
            &[("fields", "id,name"), ("access_token", user_token)],
        )))
        .await?;
        let fb_user_id = oauth::id_field(&me, "/id")?;
        let mut pages = Vec::new();
        let mut next = Some(self.graph(
            "/me/accounts",
            &[
                (
                    "fields",
                    "id,name,access_token,picture{url},instagram_business_account{id,username}",
                ),
                ("limit", "100"),
                ("access_token", user_token),
            ],
        ));
        // Follow `paging.next` a bounded number of times: nobody manages hundreds of Pages here.
        for _ in 0..10 {
            let Some(url) = next.take() else { break };
            let json = oauth::send_json(self.http.client().get(url)).await?;
            for page in json
                .get("data")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Ok(id) = oauth::id_field(page, "/id") else {
                    continue;
                };
                let Some(token) = page.get("access_token").and_then(Value::as_str) else {
                    continue;
                };
                let name = page
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("Facebook Page")
                    .to_owned();
                let instagram = page
                    .get("instagram_business_account")
                    .cloned()
                    .unwrap_or(Value::Null);
                pages.push(RemoteAccount {
                    account_id: id.clone(),
                    display_name: name,
                    avatar_url: page.pointer("/picture/data/url").and_then(Value::as_str).map(str::to_owned),
                    access_token: Some(SecretString::from(token.to_owned())),
                    metadata: json!({ "page_id": id, "fb_user_id": fb_user_id, "instagram_business_account": instagram }),
                });
            }
            next = json
                .pointer("/paging/next")
                .and_then(Value::as_str)
                .and_then(|n| Url::parse(n).ok())
                .map(|n| {
                    if self.http.is_sandbox() {
                        n
                    } else {
                        self.http.url(Platform::Facebook, n.as_str())
                    }
                });
        }
        Ok(pages)
    }

    /// Page tokens from a long-lived user token don't expire; there is nothing to refresh.
    fn can_refresh(&self, _grant: &StoredGrant) -> bool {
        false
    }

    async fn refresh(&self, _grant: &StoredGrant) -> Result<TokenSet, OAuthError> {
        Err(OAuthError::InvalidGrant(
            "Facebook Page tokens are not refreshed; connect again".into(),
        ))
    }

    async fn revoke(&self, grant: &StoredGrant) -> Result<bool, OAuthError> {
        let Some(user_token) = &grant.refresh_token else {
            return Ok(false);
        };
        let url = self.graph(
            "/me/permissions",
            &[("access_token", user_token.expose_secret())],
        );
        oauth::send_json(self.http.client().delete(url)).await?;
        Ok(true)
    }
}
