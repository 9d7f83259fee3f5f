//! `Application`: the web process, built once with its listener bound, so callers (the CLI,
//! `dev`, the tests) know the port before serving starts.

use std::net::SocketAddr;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::state::AppState;

pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Connects to Postgres and Redis and binds `HOST:PORT`.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let addr = SocketAddr::new(config.host, config.port);
        let listener = TcpListener::bind(addr).await.with_context(|| {
            format!(
                "couldn't listen on {addr}. Is another program using port {}?",
                config.port
            )
        })?;
        Self::with_listener(config, listener).await
    }

    /// Uses an already-bound listener (tests bind port 0 and pass it in; never bind twice).
    pub async fn with_listener(config: Config, listener: TcpListener) -> anyhow::Result<Self> {
        let state = AppState::new(config).await?;
        Ok(Self { listener, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Looks up the hosts of user-supplied addresses with `resolver` instead of the system's
    /// (tests answer `inward.test` with 127.0.0.1 this way).
    pub fn use_outbound_resolver(&mut self, resolver: std::sync::Arc<dyn crate::net::Resolver>) {
        self.state.outbound = crate::net::SafeFetch::with_resolver(&self.state.config, resolver);
    }

    /// Serves until `shutdown` resolves, then finishes the requests in flight.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let router = crate::web::router(self.state);
        axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
        .context("the web server stopped with an error")
    }
}
