//! `picscripter-bench`: the performance targets of the issues, measured on this machine against
//! the real binaries, and written to `docs/BENCHMARKS.md`.
//!
//! ```sh
//! cargo build --release --bins
//! target/release/picscripter-bench all          # every benchmark, then the report
//! target/release/picscripter-bench calendar     # one of them (its section of the report)
//! target/release/picscripter-bench dashboards   # the analytics pages over 100,000 snapshots
//! ```
//!
//! Needs Postgres and Redis (`BENCH_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432`;
//! `REDIS_URL`, default `redis://127.0.0.1:6379`). Each run uses a database and a Redis prefix of
//! its own and removes them afterwards.

mod calendar;
mod catalog;
mod dashboards;
mod publish;
mod report;
mod stack;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Measures Picscripter's performance targets and writes docs/BENCHMARKS.md")]
struct Cli {
    #[command(subcommand)]
    what: What,
    /// The report to update (only the sections of the benchmarks that ran are replaced).
    #[arg(long, default_value = "docs/BENCHMARKS.md")]
    report: PathBuf,
    #[arg(
        long,
        env = "BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432"
    )]
    postgres: String,
    #[arg(long, env = "REDIS_URL", default_value = "redis://127.0.0.1:6379")]
    redis: String,
}

#[derive(Subcommand)]
enum What {
    /// Month view with many posts under concurrent clients; page weight of a cold load.
    Calendar(CalendarArgs),
    /// A burst of targets due in the same second, then single posts.
    Publish(PublishArgs),
    /// A Shopify shop's catalog synced by the worker; the products page searched.
    Catalog(CatalogArgs),
    /// The analytics dashboards of a seller with many engagement snapshots.
    Dashboards(DashboardsArgs),
    /// Every benchmark with its default sizes.
    All,
}

#[derive(clap::Args)]
struct DashboardsArgs {
    #[arg(long, default_value_t = 100_000)]
    snapshots: usize,
    /// Requests per page measured.
    #[arg(long, default_value_t = 50)]
    requests: usize,
}

impl Default for DashboardsArgs {
    fn default() -> Self {
        Self {
            snapshots: 100_000,
            requests: 50,
        }
    }
}

#[derive(clap::Args)]
struct CatalogArgs {
    #[arg(long, default_value_t = 10_000)]
    products: usize,
    /// Requests per search measured.
    #[arg(long, default_value_t = 100)]
    searches: usize,
}

impl Default for CatalogArgs {
    fn default() -> Self {
        Self {
            products: 10_000,
            searches: 100,
        }
    }
}

#[derive(clap::Args)]
struct CalendarArgs {
    #[arg(long, default_value_t = 500)]
    posts: usize,
    #[arg(long, default_value_t = 32)]
    clients: usize,
    #[arg(long, default_value_t = 15)]
    seconds: u64,
}

impl Default for CalendarArgs {
    fn default() -> Self {
        Self {
            posts: 500,
            clients: 32,
            seconds: 15,
        }
    }
}

#[derive(clap::Args)]
struct PublishArgs {
    #[arg(long, default_value_t = 10_000)]
    targets: usize,
    /// Latency of every platform call, in milliseconds.
    #[arg(long, default_value_t = 100)]
    latency_ms: u64,
    /// The worker's WORKER_CONCURRENCY.
    #[arg(long, default_value_t = 256)]
    concurrency: usize,
    /// Single posts measured after the burst.
    #[arg(long, default_value_t = 40)]
    singles: usize,
}

impl Default for PublishArgs {
    fn default() -> Self {
        Self {
            targets: 10_000,
            latency_ms: 100,
            concurrency: 256,
            singles: 40,
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let options = || stack::Options {
        postgres_url: cli.postgres.clone(),
        redis_url: cli.redis.clone(),
        env: Vec::new(),
        products_per_shop: None,
    };
    let (calendar, publish, catalog, dashboards) = match cli.what {
        What::Calendar(a) => (Some(a), None, None, None),
        What::Publish(a) => (None, Some(a), None, None),
        What::Catalog(a) => (None, None, Some(a), None),
        What::Dashboards(a) => (None, None, None, Some(a)),
        What::All => (
            Some(CalendarArgs::default()),
            Some(PublishArgs::default()),
            Some(CatalogArgs::default()),
            Some(DashboardsArgs::default()),
        ),
    };
    let mut sections = Vec::new();
    if let Some(a) = calendar {
        eprintln!(
            "calendar: {} posts, {} clients, {} s…",
            a.posts, a.clients, a.seconds
        );
        let r = calendar::run(calendar::Settings {
            posts: a.posts,
            clients: a.clients,
            seconds: a.seconds,
            options: options(),
        })
        .await?;
        let section = report::calendar(&r);
        println!("{section}");
        sections.push(("calendar", section));
    }
    if let Some(a) = publish {
        eprintln!(
            "publish: {} targets, {} ms per call, concurrency {}…",
            a.targets, a.latency_ms, a.concurrency
        );
        let (burst, single) = publish::run(publish::Settings {
            targets: a.targets,
            latency_ms: a.latency_ms,
            concurrency: a.concurrency,
            singles: a.singles,
            options: options(),
        })
        .await?;
        let section = report::publish(&burst, &single, a.latency_ms, a.concurrency);
        println!("{section}");
        sections.push(("publish", section));
    }
    if let Some(a) = catalog {
        eprintln!(
            "catalog: {} products, {} searches each…",
            a.products, a.searches
        );
        let r = catalog::run(catalog::Settings {
            products: a.products,
            searches: a.searches,
            options: options(),
        })
        .await?;
        let section = report::catalog(&r);
        println!("{section}");
        sections.push(("catalog", section));
    }
    if let Some(a) = dashboards {
        eprintln!(
            "dashboards: {} snapshots, {} requests per page…",
            a.snapshots, a.requests
        );
        let r = dashboards::run(dashboards::Settings {
            snapshots: a.snapshots,
            requests: a.requests,
            options: options(),
        })
        .await?;
        let section = report::dashboards(&r);
        println!("{section}");
        sections.push(("dashboards", section));
    }
    report::write(&cli.report, &sections)?;
    eprintln!("wrote {}", cli.report.display());
    Ok(())
}
