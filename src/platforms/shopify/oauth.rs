//! Shopify's authorization code grant for non-embedded apps (PLATFORMS.md §8): per-shop URLs,
//! an HMAC on the callback, and expiring offline tokens whose refresh token rotates.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::Utc;
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sha2::Sha256;
use url::Url;

use crate::config::PlatformCredentials;
use crate::domain::Platform;
use crate::platforms::oauth::{self, Body, ClientAuth};
use crate::platforms::{
    AuthorizeParams, ExchangeParams, Http, OAuthError, OAuthProvider, RemoteAccount, StoredGrant,
    TokenSet,
};

pub const SCOPES: &str = "read_products";

pub struct ShopifyOAuth {
    pub http: Http,
    pub creds: PlatformCredentials,
    pub api_version: String,
}

/// `name`, `name.myshopify.com` or `https://name.myshopify.com/…` → `name.myshopify.com`.
pub fn normalize_shop(input: &str) -> Result<String, String> {
    let s = input.trim().to_ascii_lowercase();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(&s);
    let s = s.split('/').next().unwrap_or_default();
    let host = if s.contains('.') {
        s.to_owned()
    } else {
        format!("{s}.myshopify.com")
    };
    let name = host.strip_suffix(".myshopify.com").unwrap_or_default();
    let valid = !name.is_empty()
        && name.len() <= 60
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if valid {
        Ok(host)
    } else {
        Err("Enter your shop's address, like your-shop.myshopify.com.".into())
    }
}

fn shop_of(shop: Option<&str>) -> Result<&str, OAuthError> {
    shop.ok_or_else(|| OAuthError::Protocol("the shop domain is missing".into()))
}

/// Verifies Shopify's `hmac`: hex HMAC-SHA256 with the app secret over the other parameters,
/// sorted by name and joined as `k=v&k2=v2`.
pub fn verify_hmac(secret: &str, query: &HashMap<String, String>) -> bool {
    let Some(sent) = query.get("hmac") else {
        return false;
    };
    let mut pairs: Vec<(&String, &String)> = query
        .iter()
        .filter(|(k, _)| k.as_str() != "hmac" && k.as_str() != "signature")
        .collect();
    pairs.sort();
    let message = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let Ok(sent) = hex_decode(sent) else {
        return false;
    };
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(message.as_bytes());
    mac.verify_slice(&sent).is_ok()
}

fn hex_decode(s: &str) -> Result<Vec<u8>, ()> {
    if !s.len().is_multiple_of(2) {
        return Err(());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|_| ()))
        .collect()
}

#[async_trait]
impl OAuthProvider for ShopifyOAuth {
    fn platform(&self) -> Platform {
        Platform::Shopify
    }

    fn authorize_url(&self, p: &AuthorizeParams<'_>) -> Result<Url, OAuthError> {
        let shop = shop_of(p.shop)?;
        Ok(oauth::authorize_url(
            &self.http,
            Platform::Shopify,
            &format!("https://{shop}/admin/oauth/authorize"),
            &[
                ("client_id", &self.creds.client_id),
                ("scope", SCOPES),
                ("redirect_uri", p.redirect_uri),
                ("state", p.state),
            ],
        ))
    }

    fn verify_callback(&self, query: &HashMap<String, String>) -> Result<(), OAuthError> {
        if verify_hmac(self.creds.client_secret.expose_secret(), query) {
            Ok(())
        } else {
            Err(OAuthError::Protocol(
                "the callback's HMAC does not match".into(),
            ))
        }
    }

    async fn exchange_code(&self, p: &ExchangeParams<'_>) -> Result<TokenSet, OAuthError> {
        let shop = shop_of(p.shop)?;
        let form = [
            ("client_id", self.creds.client_id.as_str()),
            ("client_secret", self.creds.client_secret.expose_secret()),
            ("code", p.code),
            // Expiring offline tokens: required for public apps from 2026 on.
            ("expiring", "1"),
        ];
        let req = self.http.client().post(self.http.url(
            Platform::Shopify,
            &format!("https://{shop}/admin/oauth/access_token"),
        ));
        let json = oauth::token_request(req, ClientAuth::InBody, Body::Form(&form)).await?;
        oauth::standard_tokens(&json, Utc::now())
    }

    async fn accounts(
        &self,
        tokens: &TokenSet,
        shop: Option<&str>,
    ) -> Result<Vec<RemoteAccount>, OAuthError> {
        let shop = shop_of(shop)?;
        let url = self.http.url(
            Platform::Shopify,
            &format!("https://{shop}/admin/api/{}/graphql.json", self.api_version),
        );
        let req = self
            .http
            .client()
            .post(url)
            .header(
                "X-Shopify-Access-Token",
                tokens.access_token.expose_secret(),
            )
            .json(&json!({ "query": "{ shop { id name myshopifyDomain url currencyCode } }" }));
        let json = oauth::send_json(req).await?;
        let s = json.pointer("/data/shop").cloned().unwrap_or(Value::Null);
        let domain = s
            .get("myshopifyDomain")
            .and_then(Value::as_str)
            .unwrap_or(shop)
            .to_owned();
        Ok(vec![RemoteAccount {
            account_id: domain.clone(),
            display_name: s
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or(&domain)
                .to_owned(),
            avatar_url: None,
            access_token: None,
            metadata: json!({
                "shop_domain": domain,
                "shop_gid": s.get("id"),
                "shop_url": s.get("url"),
                "currency": s.get("currencyCode"),
            }),
        }])
    }

    async fn refresh(&self, grant: &StoredGrant) -> Result<TokenSet, OAuthError> {
        let refresh = grant
            .refresh_token
            .as_ref()
            .ok_or_else(|| OAuthError::InvalidGrant("no refresh token".into()))?;
        let shop = grant
            .metadata
            .get("shop_domain")
            .and_then(Value::as_str)
            .unwrap_or(&grant.account_id)
            .to_owned();
        let form = [
            ("client_id", self.creds.client_id.as_str()),
            ("client_secret", self.creds.client_secret.expose_secret()),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.expose_secret()),
        ];
        let req = self.http.client().post(self.http.url(
            Platform::Shopify,
            &format!("https://{shop}/admin/oauth/access_token"),
        ));
        let json = oauth::token_request(req, ClientAuth::InBody, Body::Form(&form)).await?;
        oauth::standard_tokens(&json, Utc::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shop_addresses_are_normalised_and_others_refused() {
        assert_eq!(
            normalize_shop("Maple-Thread").unwrap(),
            "maple-thread.myshopify.com"
        );
        assert_eq!(
            normalize_shop("https://maple.myshopify.com/admin").unwrap(),
            "maple.myshopify.com"
        );
        for bad in [
            "",
            "evil.com",
            "-x.myshopify.com",
            "a b",
            "x.myshopify.com.evil.com",
        ] {
            assert!(normalize_shop(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_callback_hmac_is_checked_over_sorted_parameters() {
        // From Shopify's documentation of the verification algorithm.
        let q: HashMap<String, String> = [
            ("code", "0907a61c0c8d55e99db179b68161bc00"),
            ("shop", "some-shop.myshopify.com"),
            ("state", "0.6784241404160823"),
            ("timestamp", "1337178173"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let mut mac = Hmac::<Sha256>::new_from_slice(b"hush").unwrap();
        mac.update(b"code=0907a61c0c8d55e99db179b68161bc00&shop=some-shop.myshopify.com&state=0.6784241404160823&timestamp=1337178173");
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let mut signed = q.clone();
        signed.insert("hmac".into(), hex);
        assert!(verify_hmac("hush", &signed));
        signed.insert("state".into(), "tampered".into());
        assert!(!verify_hmac("hush", &signed));
        assert!(!verify_hmac("hush", &q));
    }
}
