//! LinkedIn 3-legged OAuth (PLATFORMS.md §4): 60-day access tokens; a refresh token only for
//! apps approved for programmatic refresh, so most connections must be renewed by the person.
//!
//! One consent can yield several accounts: the member's own profile, and each organization
//! (company page) they administer, listed with the Organization Access Control API
//! (`organizationAcls?q=roleAssignee`) and named with `organizations/{id}`. Those two calls follow
//! LinkedIn's Community Management docs; PLATFORMS.md does not cover them. The profile comes
//! first; every account's `metadata.author_urn` is the URN posts are made as.

use async_trait::async_trait;
use chrono::Utc;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use url::Url;

use crate::config::PlatformCredentials;
use crate::domain::Platform;
use crate::platforms::linkedin::publish::API_VERSION;
use crate::platforms::oauth::{self, Body, ClientAuth};
use crate::platforms::{
    AuthorizeParams, ExchangeParams, Http, OAuthError, OAuthProvider, RemoteAccount, StoredGrant,
    TokenSet,
};

pub const SCOPES: &str =
    "openid profile w_member_social w_organization_social rw_organization_admin";
const AUTHORIZE: &str = "https://www.linkedin.com/oauth/v2/authorization";
const TOKEN: &str = "https://www.linkedin.com/oauth/v2/accessToken";
const USERINFO: &str = "https://api.linkedin.com/v2/userinfo";
const ORGANIZATION_ACLS: &str = "https://api.linkedin.com/rest/organizationAcls?q=roleAssignee&role=ADMINISTRATOR&state=APPROVED&count=100";
const ORGANIZATIONS: &str = "https://api.linkedin.com/rest/organizations";

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
        let person_urn = format!("urn:li:person:{sub}");
        let mut accounts = vec![RemoteAccount {
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
            metadata: json!({ "author_urn": person_urn, "author_kind": "person" }),
        }];
        accounts.extend(self.organizations(tokens, &person_urn).await?);
        Ok(accounts)
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

impl LinkedinOAuth {
    fn rest(&self, url: &str, tokens: &TokenSet) -> reqwest::RequestBuilder {
        self.http
            .client()
            .get(self.http.url(Platform::Linkedin, url))
            .bearer_auth(tokens.access_token.expose_secret())
            .header("LinkedIn-Version", API_VERSION)
            .header("X-Restli-Protocol-Version", "2.0.0")
    }

    /// The organizations the member administers (approved ADMINISTRATOR roles), in LinkedIn's
    /// order, each as an account of its own. A grant without `rw_organization_admin` (LinkedIn
    /// answers 403) simply has none.
    async fn organizations(
        &self,
        tokens: &TokenSet,
        person_urn: &str,
    ) -> Result<Vec<RemoteAccount>, OAuthError> {
        let acls = match oauth::send_json(self.rest(ORGANIZATION_ACLS, tokens)).await {
            Ok(json) => json,
            Err(OAuthError::Rejected { status: 403, .. }) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut urns: Vec<String> = Vec::new();
        for acl in acls
            .get("elements")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let approved_admin = acl.get("role").and_then(Value::as_str) == Some("ADMINISTRATOR")
                && acl.get("state").and_then(Value::as_str) == Some("APPROVED");
            // Older versions name the organization `organizationTarget`.
            let urn = acl
                .get("organization")
                .or_else(|| acl.get("organizationTarget"))
                .and_then(Value::as_str);
            let numeric = |urn: &str| {
                urn.strip_prefix("urn:li:organization:")
                    .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
            };
            if let Some(urn) = urn.filter(|_| approved_admin)
                && numeric(urn)
                && !urns.iter().any(|u| u == urn)
            {
                urns.push(urn.to_owned());
            }
        }
        let mut accounts = Vec::with_capacity(urns.len());
        for urn in urns {
            let id = urn.trim_start_matches("urn:li:organization:");
            let org = oauth::send_json(self.rest(&format!("{ORGANIZATIONS}/{id}"), tokens)).await?;
            let name = org
                .get("localizedName")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| format!("LinkedIn organization {id}"));
            accounts.push(RemoteAccount {
                account_id: urn.clone(),
                display_name: name,
                avatar_url: None,
                access_token: None,
                metadata: json!({
                    "author_urn": urn,
                    "author_kind": "organization",
                    "organization_id": id,
                    "vanity_name": org.get("vanityName").and_then(Value::as_str),
                    "administrator_urn": person_urn,
                }),
            });
        }
        Ok(accounts)
    }
}
