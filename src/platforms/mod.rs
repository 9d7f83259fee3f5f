//! The ten platform clients, one module per platform, behind the traits in this file.
//!
//! Nothing outside `platforms/` knows a platform URL. Every base URL is the real one; with
//! `SANDBOX_URL` set, `Http::url` rewrites `https://HOST/PATH` to
//! `{SANDBOX_URL}/{platform}/HOST/PATH`, so a sandbox request is, but for its address, the
//! request the real API would get. Wire facts come from `PLATFORMS.md`.

pub mod catalog;
pub mod etsy;
pub mod facebook;
pub mod http;
pub mod instagram;
pub mod linkedin;
pub mod meta;
pub mod metrics;
pub mod oauth;
pub mod pinterest;
pub mod publish;
pub mod shopify;
pub mod squarespace;
pub mod tiktok;
pub mod x;
pub mod youtube;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde_json::Value;
use url::Url;

use crate::config::{Config, PlatformCredentials};
use crate::domain::Platform;
pub use http::Http;

/// What a token endpoint gave us.
#[derive(Clone, Debug)]
pub struct TokenSet {
    pub access_token: SecretString,
    /// `None` means "the platform didn't send one": a stored refresh token is then kept.
    pub refresh_token: Option<SecretString>,
    pub expires_at: Option<DateTime<Utc>>,
    pub refresh_expires_at: Option<DateTime<Utc>>,
    pub scopes: Vec<String>,
}

/// An account the consent gave access to (a profile, a Page, a shop).
#[derive(Clone, Debug)]
pub struct RemoteAccount {
    pub account_id: String,
    pub display_name: String,
    pub avatar_url: Option<String>,
    /// Facebook Pages have their own token; when set, it is the connection's access token.
    pub access_token: Option<SecretString>,
    /// Non-secret facts the publishers need (handle, author URN, shop domain, boards…).
    pub metadata: Value,
}

/// A stored connection's tokens and facts, decrypted, for refresh and revoke.
#[derive(Clone, Debug)]
pub struct StoredGrant {
    pub account_id: String,
    pub metadata: Value,
    pub access_token: Option<SecretString>,
    pub refresh_token: Option<SecretString>,
    pub expires_at: Option<DateTime<Utc>>,
    /// When the current access token was obtained (connect or last refresh).
    pub obtained_at: DateTime<Utc>,
}

/// What an authorize redirect needs.
pub struct AuthorizeParams<'a> {
    pub state: &'a str,
    pub redirect_uri: &'a str,
    /// The S256 challenge, for platforms that use PKCE.
    pub pkce_challenge: Option<&'a str>,
    /// Shopify: the shop's `NAME.myshopify.com` domain.
    pub shop: Option<&'a str>,
}

/// What a code exchange needs.
pub struct ExchangeParams<'a> {
    pub code: &'a str,
    pub redirect_uri: &'a str,
    pub pkce_verifier: Option<&'a str>,
    pub shop: Option<&'a str>,
}

/// Failures of the OAuth side of a platform, classified for what we do next.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The person declined on the consent page.
    #[error("the authorization was declined: {0}")]
    Denied(String),
    /// The grant is dead (`invalid_grant`, Graph code 190…): only a new consent helps.
    #[error("the platform says the grant is no longer valid: {0}")]
    InvalidGrant(String),
    /// Our app's credentials were refused: a configuration problem.
    #[error("the platform refused our app credentials: {0}")]
    InvalidClient(String),
    /// Any other refusal of the request.
    #[error("the platform refused the request ({status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("the platform is having trouble ({status})")]
    Server { status: u16 },
    #[error("the platform is rate limiting us")]
    RateLimited { retry_after: Option<Duration> },
    /// We couldn't talk to the platform: nothing about the grant is known.
    #[error("couldn't reach the platform: {0}")]
    Network(String),
    /// The answer didn't have the documented shape.
    #[error("unexpected answer from the platform: {0}")]
    Protocol(String),
}

impl OAuthError {
    /// A sentence for the person connecting, naming the platform.
    pub fn user_message(&self, platform: Platform) -> String {
        let name = platform.display_name();
        match self {
            OAuthError::Denied(_) => format!(
                "You didn't allow Picscripter to use your {name} account, so nothing was connected."
            ),
            OAuthError::InvalidGrant(_) => format!(
                "{name} didn't accept the sign-in: it may have expired or been used already. Please connect again."
            ),
            OAuthError::InvalidClient(_) => format!(
                "{name} refused Picscripter's app credentials. Check {0}_CLIENT_ID and {0}_CLIENT_SECRET.",
                platform.env_prefix()
            ),
            OAuthError::Rejected { .. } => {
                format!("{name} refused the connection request. Please try again.")
            }
            OAuthError::Server { .. } => format!(
                "{name} is having trouble right now. Nothing was connected; please try again in a few minutes."
            ),
            OAuthError::RateLimited { .. } => {
                format!("{name} is asking us to slow down. Please try again in a few minutes.")
            }
            OAuthError::Network(_) => {
                format!("We couldn't reach {name}. Nothing was connected; please try again.")
            }
            OAuthError::Protocol(_) => format!(
                "{name} answered in a way we didn't expect, so nothing was connected. Please try again."
            ),
        }
    }
}

/// The OAuth side of a platform: authorize, exchange, account lookup, refresh, revoke.
#[async_trait]
pub trait OAuthProvider: Send + Sync {
    fn platform(&self) -> Platform;

    /// Whether the authorize request carries a PKCE challenge.
    fn uses_pkce(&self) -> bool {
        false
    }

    fn authorize_url(&self, params: &AuthorizeParams<'_>) -> Result<Url, OAuthError>;

    /// Checks the callback's own integrity proof where the platform sends one (Shopify's HMAC).
    fn verify_callback(&self, _query: &HashMap<String, String>) -> Result<(), OAuthError> {
        Ok(())
    }

    /// Trades the code for tokens (including any long-lived exchange the platform needs).
    async fn exchange_code(&self, params: &ExchangeParams<'_>) -> Result<TokenSet, OAuthError>;

    /// The accounts these tokens give access to.
    async fn accounts(
        &self,
        tokens: &TokenSet,
        shop: Option<&str>,
    ) -> Result<Vec<RemoteAccount>, OAuthError>;

    /// Whether this grant can be refreshed at all (a refresh token, or a self-refreshing token).
    fn can_refresh(&self, grant: &StoredGrant) -> bool {
        grant.refresh_token.is_some()
    }

    /// How long before expiry the worker refreshes.
    fn refresh_lead(&self) -> chrono::Duration {
        chrono::Duration::minutes(10)
    }

    async fn refresh(&self, grant: &StoredGrant) -> Result<TokenSet, OAuthError>;

    /// Revokes the grant at the platform. `Ok(false)` when the platform offers no revocation.
    async fn revoke(&self, _grant: &StoredGrant) -> Result<bool, OAuthError> {
        Ok(false)
    }
}

/// Which platforms can be connected, with what credentials.
#[derive(Clone)]
pub struct Registry {
    http: Http,
    config: Arc<Config>,
}

impl Registry {
    pub fn new(config: Arc<Config>) -> Self {
        Self {
            http: Http::new(config.sandbox_url.clone()),
            config,
        }
    }

    pub fn http(&self) -> &Http {
        &self.http
    }

    /// The app credentials for a platform: configured ones, or the sandbox's defaults when
    /// `SANDBOX_URL` is set and none are configured.
    pub fn credentials(&self, platform: Platform) -> Option<PlatformCredentials> {
        self.config.platform_credentials(platform)
    }

    pub fn oauth(&self, platform: Platform) -> Option<Box<dyn OAuthProvider>> {
        let creds = self.credentials(platform)?;
        let http = self.http.clone();
        Some(match platform {
            Platform::X => Box::new(x::oauth::XOAuth { http, creds }),
            Platform::Instagram => Box::new(instagram::oauth::InstagramOAuth { http, creds }),
            Platform::Facebook => Box::new(facebook::oauth::FacebookOAuth { http, creds }),
            Platform::Linkedin => Box::new(linkedin::oauth::LinkedinOAuth { http, creds }),
            Platform::Pinterest => Box::new(pinterest::oauth::PinterestOAuth { http, creds }),
            Platform::Tiktok => Box::new(tiktok::oauth::TiktokOAuth { http, creds }),
            Platform::Youtube => Box::new(youtube::oauth::YoutubeOAuth { http, creds }),
            Platform::Shopify => Box::new(shopify::oauth::ShopifyOAuth {
                http,
                creds,
                api_version: self.config.shopify_api_version.clone(),
            }),
            Platform::Etsy => Box::new(etsy::oauth::EtsyOAuth { http, creds }),
            Platform::Squarespace => Box::new(squarespace::oauth::SquarespaceOAuth { http, creds }),
        })
    }

    /// The catalog reader of a shop; `None` for social networks (and for Etsy without app
    /// credentials, which every Etsy call carries).
    pub fn catalog(&self, platform: Platform) -> Option<Box<dyn catalog::CatalogSource>> {
        let http = self.http.clone();
        Some(match platform {
            Platform::Shopify => Box::new(shopify::catalog::ShopifyCatalog {
                http,
                api_version: self.config.shopify_api_version.clone(),
            }),
            Platform::Etsy => Box::new(etsy::catalog::EtsyCatalog {
                http,
                creds: self.credentials(Platform::Etsy)?,
            }),
            Platform::Squarespace => Box::new(squarespace::catalog::SquarespaceCatalog { http }),
            Platform::X
            | Platform::Instagram
            | Platform::Facebook
            | Platform::Linkedin
            | Platform::Pinterest
            | Platform::Tiktok
            | Platform::Youtube => return None,
        })
    }

    /// The publisher of a social network; `None` for shops, which we read from.
    pub fn publisher(&self, platform: Platform) -> Option<Box<dyn publish::Publisher>> {
        let http = self.http.clone();
        Some(match platform {
            Platform::X => Box::new(x::publish::XPublisher { http }),
            Platform::Instagram => Box::new(instagram::publish::InstagramPublisher { http }),
            Platform::Facebook => Box::new(facebook::publish::FacebookPublisher { http }),
            Platform::Linkedin => Box::new(linkedin::publish::LinkedinPublisher { http }),
            Platform::Pinterest => Box::new(pinterest::publish::PinterestPublisher { http }),
            Platform::Tiktok => Box::new(tiktok::publish::TiktokPublisher { http }),
            Platform::Youtube => Box::new(youtube::publish::YoutubePublisher { http }),
            Platform::Shopify | Platform::Etsy | Platform::Squarespace => return None,
        })
    }

    /// Where a social network's engagement numbers are read; `None` for shops.
    pub fn metrics(&self, platform: Platform) -> Option<Box<dyn metrics::MetricsSource>> {
        let http = self.http.clone();
        match platform {
            Platform::X => Some(Box::new(x::metrics::XMetrics { http })),
            Platform::Instagram => Some(Box::new(instagram::metrics::InstagramMetrics { http })),
            Platform::Pinterest => Some(Box::new(pinterest::metrics::PinterestMetrics { http })),
            Platform::Facebook => Some(Box::new(facebook::metrics::FacebookMetrics { http })),
            Platform::Linkedin => Some(Box::new(linkedin::metrics::LinkedinMetrics { http })),
            Platform::Tiktok => Some(Box::new(tiktok::metrics::TiktokMetrics { http })),
            Platform::Youtube => Some(Box::new(youtube::metrics::YouTubeMetrics { http })),
            Platform::Shopify | Platform::Etsy | Platform::Squarespace => None,
        }
    }
}
