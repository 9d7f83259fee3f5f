//! `picscripter-sandbox`: the local emulator of the platform APIs. See docs/SANDBOX.md.

use std::net::IpAddr;
use std::process::ExitCode;

use clap::Parser;
use picscripter::sandbox::{Sandbox, SandboxConfig};
use url::Url;

#[derive(Parser)]
#[command(
    name = "picscripter-sandbox",
    about = "Emulates the ten platform APIs on one port, for development, demos and tests."
)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "SANDBOX_PORT", default_value_t = 9900)]
    port: u16,
    /// Where clients and browsers reach the sandbox, when not at http://HOST:PORT.
    #[arg(long)]
    public_url: Option<Url>,
    /// Seed for every generated token and id; the same seed and requests give the same answers.
    #[arg(long, env = "SANDBOX_SEED")]
    seed: Option<u64>,
    /// Behave like a LinkedIn app approved for programmatic refresh tokens.
    #[arg(long)]
    linkedin_refresh_tokens: bool,
    /// Products in every Shopify shop, Etsy shop and Squarespace site.
    #[arg(long = "products", value_name = "N", default_value_t = picscripter::sandbox::DEFAULT_PRODUCTS)]
    products: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    picscripter::telemetry::init(picscripter::config::LogFormat::Pretty);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("couldn't start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind((args.host, args.port))
        .await
        .map_err(|e| anyhow::anyhow!("couldn't listen on {}:{}: {e}", args.host, args.port))?;
    let bound = listener.local_addr()?;
    let public_url = match args.public_url {
        Some(url) => url,
        None => {
            // A wildcard address is not somewhere a browser can go; loopback is.
            let host = if bound.ip().is_unspecified() {
                "127.0.0.1".to_owned()
            } else {
                bound.ip().to_string()
            };
            let host = if host.contains(':') {
                format!("[{host}]")
            } else {
                host
            };
            Url::parse(&format!("http://{host}:{}", bound.port()))?
        }
    };
    let mut config = SandboxConfig::new(public_url.clone());
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    config.linkedin_refresh_tokens = args.linkedin_refresh_tokens;
    config.products_per_shop = args.products;
    println!(
        "picscripter-sandbox serving on {} (listening on {bound}); inspect at {}/_sandbox",
        public_url.as_str().trim_end_matches('/'),
        public_url.as_str().trim_end_matches('/')
    );
    picscripter::sandbox::serve(Sandbox::new(config), listener, shutdown_signal()).await
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
