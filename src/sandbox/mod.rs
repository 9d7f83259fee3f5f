//! `picscripter-sandbox`: a local emulator of the ten platform APIs and Gemini.
//!
//! Written from `PLATFORMS.md` on its own: it never imports `crate::platforms`, so a client's
//! misreading of an API is caught here instead of being copied. Requests are addressed as
//! `{SANDBOX_URL}/{platform}/{host}/{path}?{query}`; [`dispatch`] records each one, applies the
//! faults that match it, and hands it to that platform's own router (one module per platform).
//! Everything else — tokens, codes, the clock, the request log — lives in memory in [`state`].
//! See docs/SANDBOX.md for the behaviour a client can rely on.

// Handlers bail out early with the platform's ready-made error response; boxing every one of
// them would only add noise to code whose whole job is producing responses.
#![allow(clippy::result_large_err)]

mod catalog;
mod clock;
mod consent;
mod dispatch;
mod errors;
mod faults;
mod form;
mod gemini;
mod graph;
mod graphql;
mod inspect;
mod media;
mod oauth;
mod personas;
mod published;
mod recorder;
mod state;

mod etsy;
mod facebook;
mod instagram;
mod linkedin;
mod pinterest;
mod shopify;
mod squarespace;
mod tiktok;
mod x;
mod youtube;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use url::Url;

use crate::domain::Platform;

pub use catalog::{DEFAULT_PRODUCTS, ProductEdit};
pub use faults::{DEFAULT_HANG_SECS, FaultSpec, RateLimitSpec};
pub use gemini::{GeminiFault, GeminiFaultSpec, MISMATCH_MARKER};
pub use personas::seed_account;
pub use published::{Duplicate, DuplicateRecord, PublishedMedia, PublishedRecord};
pub use recorder::RecordedRequest;
pub use state::LimitsSpec;

/// The client id the sandbox accepts for `platform` unless configured otherwise.
pub fn default_client_id(platform: Platform) -> String {
    format!("sandbox-{platform}-client-id")
}

/// The client secret the sandbox accepts for `platform` unless configured otherwise.
pub fn default_client_secret(platform: Platform) -> String {
    format!("sandbox-{platform}-client-secret")
}

#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// Where clients reach the sandbox, e.g. `http://127.0.0.1:9900`.
    pub public_url: Url,
    /// Accepted `(client_id, client_secret)` per platform.
    pub clients: BTreeMap<Platform, (String, String)>,
    /// Seeds every generated token, id and the fault dice, so two runs with the same seed and
    /// the same requests give the same answers.
    pub seed: u64,
    /// LinkedIn only hands out refresh tokens to apps it has approved for programmatic refresh;
    /// most apps are not, so this is off unless a test wants the approved behaviour.
    pub linkedin_refresh_tokens: bool,
    /// How many requests the inspection log keeps before dropping the oldest.
    pub request_log_limit: usize,
    /// Posts an Instagram account may publish in a moving 24 hours (`content_publishing_limit`;
    /// Meta's pages say 50, 100 or 25 depending on their age). Changeable at run time through
    /// `POST /_sandbox/limits`.
    pub instagram_publish_limit: u32,
    /// `videos.insert` calls a YouTube client may make per Pacific day (Google's current default
    /// bucket is 100). Changeable at run time through `POST /_sandbox/limits`.
    pub youtube_uploads_per_day: u32,
    /// Units of the shared YouTube bucket a client may use per Pacific day (`videos.list` costs
    /// 1; Google's default is 10 000). Changeable at run time through `POST /_sandbox/limits`.
    pub youtube_units_per_day: u32,
    /// `GET /2/tweets?ids=` requests an X token may make per 15 minutes (X's own limit is 5 000;
    /// the default of 300 is lower so a test can reach it). Changeable at run time through
    /// `POST /_sandbox/limits`.
    pub x_post_lookups_per_15_min: u32,
    /// Products in every Shopify shop, Etsy shop and Squarespace site (`--products N`).
    pub products_per_shop: usize,
    /// Etsy's per-app allowances (10 per second and 10 000 per sliding 24 hours by default).
    pub etsy_requests_per_second: u32,
    pub etsy_requests_per_day: u32,
    /// Squarespace's per-site allowance per minute (300) before a one-minute cooldown.
    pub squarespace_requests_per_minute: u32,
    /// How long a Shopify bulk operation runs: this many milliseconds plus
    /// [`shopify_bulk_us_per_product`](Self::shopify_bulk_us_per_product) per product selected.
    pub shopify_bulk_base_ms: u64,
    pub shopify_bulk_us_per_product: u64,
    /// How long a finished bulk operation's file can be downloaded (Shopify: 7 days); after
    /// that the operation is `EXPIRED` and its URL answers 403.
    pub shopify_bulk_url_ttl_secs: i64,
}

impl SandboxConfig {
    pub fn new(public_url: Url) -> Self {
        let clients = Platform::ALL
            .into_iter()
            .map(|p| (p, (default_client_id(p), default_client_secret(p))))
            .collect();
        Self {
            public_url,
            clients,
            seed: 0x5eed_5a9d_b0c5,
            linkedin_refresh_tokens: false,
            request_log_limit: 10_000,
            instagram_publish_limit: 50,
            youtube_uploads_per_day: 100,
            youtube_units_per_day: 10_000,
            x_post_lookups_per_15_min: 300,
            products_per_shop: DEFAULT_PRODUCTS,
            etsy_requests_per_second: 10,
            etsy_requests_per_day: 10_000,
            squarespace_requests_per_minute: 300,
            shopify_bulk_base_ms: 300,
            shopify_bulk_us_per_product: 100,
            shopify_bulk_url_ttl_secs: 7 * 86_400,
        }
    }

    /// The `(client_id, client_secret)` accepted for `platform`.
    pub fn client(&self, platform: Platform) -> (&str, &str) {
        match self.clients.get(&platform) {
            Some((id, secret)) => (id, secret),
            None => ("", ""),
        }
    }

    /// `public_url` without a trailing slash, for building absolute links.
    pub(crate) fn base(&self) -> String {
        self.public_url.as_str().trim_end_matches('/').to_owned()
    }
}

/// The emulator. Cloning is cheap and every clone (and every router it builds) shares one state.
#[derive(Clone)]
pub struct Sandbox {
    shared: Arc<state::Shared>,
}

impl Sandbox {
    pub fn new(config: SandboxConfig) -> Self {
        Self {
            shared: Arc::new(state::Shared::new(config)),
        }
    }

    pub fn config(&self) -> &SandboxConfig {
        &self.shared.config
    }

    /// Every route: the ten platforms under `/{platform}/…`, Gemini under
    /// `/gemini/generativelanguage.googleapis.com/…` and the inspection endpoints under
    /// `/_sandbox`.
    pub fn router(&self) -> axum::Router {
        dispatch::router(self.shared.clone())
    }

    /// The sandbox clock's current time (real time plus however far it was advanced).
    pub fn now(&self) -> DateTime<Utc> {
        self.shared.clock.now()
    }

    /// Moves the sandbox clock forward, as `POST /_sandbox/clock` does.
    pub fn advance_clock(&self, secs: u64) -> DateTime<Utc> {
        self.shared.clock.advance(secs)
    }

    /// The recorded platform requests, oldest first, optionally for one platform.
    pub fn requests(&self, platform: Option<Platform>) -> Vec<RecordedRequest> {
        self.shared.log().list(platform)
    }

    /// What was accepted for publication, oldest first, optionally for one platform.
    pub fn published(&self, platform: Option<Platform>) -> Vec<PublishedRecord> {
        self.shared.published_list(&published::Filter {
            platform,
            account_id: None,
        })
    }

    /// Content the same account published more than once, as `GET /_sandbox/published/duplicates`.
    pub fn duplicates(&self, platform: Option<Platform>) -> Vec<Duplicate> {
        self.shared.duplicates(platform)
    }

    /// Adds a fault, as `POST /_sandbox/faults` does. Returns its id, or why it was refused.
    pub fn add_fault(&self, spec: FaultSpec) -> Result<u64, String> {
        inspect::add_fault(&self.shared, spec).map(|added| added.id)
    }

    /// Edits or deletes product `index` of a shop's catalog, as
    /// `POST /_sandbox/catalog/{platform}/{shop}/{index}` does. `shop` is the Shopify shop domain
    /// (`maple-and-moss.myshopify.com`), the Etsy `shop_id` or the Squarespace site identifier
    /// (`maple-and-moss`).
    pub fn edit_product(
        &self,
        platform: Platform,
        shop: &str,
        index: usize,
        edit: ProductEdit,
    ) -> Result<(), String> {
        inspect::edit_product(&self.shared, platform, shop, index, edit)
    }

    /// Changes the run-time limits, as `POST /_sandbox/limits` does; fields left `None` stay.
    pub fn set_limits(&self, spec: &LimitsSpec) {
        self.shared.limits.set(spec);
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.shared.faults().clear();
    }

    /// Queues a Gemini fault, as `POST /_sandbox/gemini/faults` does: the next `spec.times`
    /// `generateContent` requests that pass validation get it, after any queued before it.
    pub fn add_gemini_fault(&self, spec: GeminiFaultSpec) -> Result<(), String> {
        self.shared.gemini().add_fault(spec)
    }

    /// Empties the Gemini fault queue, as `DELETE /_sandbox/gemini/faults` does.
    pub fn clear_gemini_faults(&self) {
        self.shared.gemini().clear_faults();
    }

    /// The `generateContent` request bodies received, oldest first (a body that wasn't JSON is
    /// kept as a string), as `GET /_sandbox/gemini/requests` lists them.
    pub fn gemini_requests(&self) -> Vec<serde_json::Value> {
        self.shared.gemini().requests()
    }
}

/// Serves the sandbox on `listener` until `shutdown` resolves.
pub async fn serve(
    sandbox: Sandbox,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    axum::serve(listener, sandbox.router())
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
