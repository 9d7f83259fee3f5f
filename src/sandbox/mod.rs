//! `picscripter-sandbox`: a local emulator of the ten platform APIs and Gemini.
//!
//! Written from `PLATFORMS.md` on its own: it never imports `crate::platforms`, so a client's
//! misreading of an API is caught here instead of being copied. Requests are addressed as
//! `{SANDBOX_URL}/{platform}/{host}/{path}?{query}`.
//!
//! (Interface skeleton; the emulation lands with the connections work.)

use std::collections::BTreeMap;

use tokio::net::TcpListener;
use url::Url;

use crate::domain::Platform;

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
        }
    }
}

#[derive(Clone)]
pub struct Sandbox {
    config: SandboxConfig,
}

impl Sandbox {
    pub fn new(config: SandboxConfig) -> Self {
        Self { config }
    }

    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    pub fn router(&self) -> axum::Router {
        axum::Router::new()
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
