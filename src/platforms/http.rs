//! The HTTP client every platform call goes through, and the sandbox address rewrite.

use std::time::Duration;

use url::Url;

use crate::domain::Platform;

pub const USER_AGENT: &str = concat!(
    "Picscripter/",
    env!("CARGO_PKG_VERSION"),
    " (self-hosted social media manager)"
);

#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    sandbox: Option<Url>,
}

impl Http {
    pub fn new(sandbox: Option<Url>) -> Self {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            // Platforms answer OAuth calls directly; a redirect would be a surprise, not a feature.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("the HTTP client configuration is valid");
        Self { client, sandbox }
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub fn is_sandbox(&self) -> bool {
        self.sandbox.is_some()
    }

    /// Where a request meant for `real` (an absolute https URL) actually goes: the URL itself,
    /// or `{SANDBOX_URL}/{platform}/{host}/{path}?{query}`.
    pub fn url(&self, platform: Platform, real: &str) -> Url {
        let real = Url::parse(real).expect("platform URLs are written as valid absolute URLs");
        let Some(sandbox) = &self.sandbox else {
            return real;
        };
        let mut out = sandbox.clone();
        let base = sandbox.path().trim_end_matches('/');
        let host = real.host_str().unwrap_or_default();
        out.set_path(&format!("{base}/{platform}/{host}{}", real.path()));
        out.set_query(real.query());
        out
    }

    /// Like [`Http::url`], for an address a platform handed us (an upload URL): `None` when it
    /// isn't an absolute http(s) URL.
    pub fn remote_url(&self, platform: Platform, given: &str) -> Option<Url> {
        let parsed = Url::parse(given).ok()?;
        if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() {
            return None;
        }
        Some(self.url(platform, parsed.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_addresses_keep_host_path_and_query() {
        let http = Http::new(Some(Url::parse("http://127.0.0.1:9900").unwrap()));
        assert_eq!(
            http.url(Platform::X, "https://api.x.com/2/tweets?a=1&b=two")
                .as_str(),
            "http://127.0.0.1:9900/x/api.x.com/2/tweets?a=1&b=two"
        );
        assert_eq!(
            http.url(
                Platform::Shopify,
                "https://demo.myshopify.com/admin/api/2026-01/graphql.json"
            )
            .as_str(),
            "http://127.0.0.1:9900/shopify/demo.myshopify.com/admin/api/2026-01/graphql.json"
        );
        let real = Http::new(None);
        assert_eq!(
            real.url(Platform::X, "https://api.x.com/2/tweets").as_str(),
            "https://api.x.com/2/tweets"
        );
    }
}
