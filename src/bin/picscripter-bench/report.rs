//! `docs/BENCHMARKS.md`: one section per benchmark between markers, so running one benchmark
//! replaces only its own figures.

use std::fmt::Write as _;
use std::path::Path;

use crate::calendar::Report as Calendar;
use crate::catalog::Report as Catalog;
use crate::dashboards::Report as Dashboards;
use crate::publish::{Burst, Single};

const HEADER: &str = "# Benchmarks

Measured by `picscripter-bench` (src/bin/picscripter-bench/) against the release binaries, a
fresh database, Redis and the platform sandbox, all on the machine named in each section. Run
them all with:

```sh
cargo build --release --bins && target/release/picscripter-bench all
```

or one with `target/release/picscripter-bench calendar` / `publish` / `catalog` / `dashboards`
(`--help` lists the sizes).
Each run replaces its own section below.
";

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_048_576.0)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or_else(
            || "?".into(),
            |kb| format!("{:.0} GiB", kb as f64 / 1_048_576.0),
        );
    format!(
        "{cores} cores ({cpu}), {mem} RAM; measured {}",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    )
}

pub fn calendar(r: &Calendar) -> String {
    let weight = r.page_weight();
    let (p, f) = (&r.paced, &r.saturated);
    let mut s = String::new();
    let _ = writeln!(s, "## Calendar: month view with {} posts\n", r.posts);
    let _ = writeln!(s, "Machine: {}.\n", machine());
    let _ = writeln!(
        s,
        "{} clients of one seller load the month view (posts on one to three networks). Server \
         time is the app's own `Server-Timing` (session, queries, view, rendering; compression \
         streams after it); client time adds the connection, compression and transfer. The \
         targets are judged on the paced run, each client pausing {} s between page loads (about \
         {:.0} page views a second, far more than a shop's staff makes). The saturated run \
         (no pause) shows the machine's capacity: there every request waits for the two cores, \
         so its times are queueing (clients ÷ throughput), not work.\n",
        r.clients,
        crate::calendar::PAUSE.as_secs_f64(),
        p.throughput
    );
    let _ = writeln!(s, "| measure | result | target | ratio | |");
    let _ = writeln!(s, "|---|---|---|---|---|");
    let _ = writeln!(
        s,
        "| server time p50 | {:.2} ms | ≤ 5 ms | {:.2} | {} |",
        p.server_p50,
        p.server_p50 / 5.0,
        verdict(p.server_p50 <= 5.0)
    );
    let _ = writeln!(
        s,
        "| server time p99 | {:.2} ms | ≤ 20 ms | {:.2} | {} |",
        p.server_p99,
        p.server_p99 / 20.0,
        verdict(p.server_p99 <= 20.0)
    );
    let _ = writeln!(
        s,
        "| page with CSS and JS, compressed, cold | {:.1} kB | ≤ 100 kB | {:.2} | {} |",
        weight as f64 / 1000.0,
        weight as f64 / 100_000.0,
        verdict(weight <= 100_000)
    );
    let _ = writeln!(s, "| of which database, p50 | {:.2} ms | | | |", p.db_p50);
    let _ = writeln!(
        s,
        "| client time p50 / p99 | {:.2} / {:.2} ms | | | |",
        p.client_p50, p.client_p99
    );
    let _ = writeln!(
        s,
        "| requests (failed) | {} ({}), {:.0}/s | | | |",
        p.requests, p.errors, p.throughput
    );
    let _ = writeln!(
        s,
        "| saturated: throughput | {:.0} pages/s ({} requests, {} failed) | | | |",
        f.throughput, f.requests, f.errors
    );
    let _ = writeln!(
        s,
        "| saturated: server time p50 / p99 | {:.2} / {:.2} ms | | | |",
        f.server_p50, f.server_p99
    );
    let _ = writeln!(
        s,
        "| saturated: client time p50 / p99 | {:.2} / {:.2} ms | | | |",
        f.client_p50, f.client_p99
    );
    let _ = writeln!(
        s,
        "| web process RSS after the runs | {} | | | |\n",
        mb(r.web_rss)
    );
    let _ = writeln!(s, "Cold load, as sent:\n");
    let _ = writeln!(s, "| resource | on the wire | uncompressed | encoding |");
    let _ = writeln!(s, "|---|---|---|---|");
    for (url, wire, plain, enc) in &r.assets {
        let _ = writeln!(
            s,
            "| `{url}` | {:.1} kB | {:.1} kB | {enc} |",
            *wire as f64 / 1000.0,
            *plain as f64 / 1000.0
        );
    }
    s
}

pub fn publish(b: &Burst, single: &Single, latency_ms: u64, concurrency: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## Publishing: {} targets due in the same second\n",
        b.targets
    );
    let _ = writeln!(s, "Machine: {}.\n", machine());
    let _ = writeln!(
        s,
        "One `picscripter-worker` (WORKER_CONCURRENCY={concurrency}, DATABASE_MAX_CONNECTIONS={}) publishes X text posts \
         through the sandbox, every platform call delayed {latency_ms} ms; Postgres, Redis, the \
         web process and the sandbox share the machine. Lateness is publication time (as \
         recorded) minus the due time.\n",
        crate::publish::WORKER_DB_POOL
    );
    let _ = writeln!(s, "| measure | result | target | ratio | |");
    let _ = writeln!(s, "|---|---|---|---|---|");
    let _ = writeln!(
        s,
        "| throughput, due second to last publication | {:.0} targets/s | ≥ 1,000/s | {:.2} | {} |",
        b.rate,
        b.rate / 1000.0,
        verdict(b.rate >= 1000.0)
    );
    let _ = writeln!(
        s,
        "| lateness p99 | {:.2} s | ≤ 12 s | {:.2} | {} |",
        b.lateness_p99,
        b.lateness_p99 / 12.0,
        verdict(b.lateness_p99 <= 12.0)
    );
    let _ = writeln!(
        s,
        "| duplicates (same account, same content, twice) | {} | 0 | | {} |",
        b.duplicates,
        verdict(b.duplicates == 0 && b.extra_publications == 0)
    );
    let _ = writeln!(
        s,
        "| worker RSS, peak during the burst | {} | ≤ 100 MB | {:.2} | {} |",
        mb(b.worker_peak_rss),
        b.worker_peak_rss as f64 / 104_857_600.0,
        verdict(b.worker_peak_rss <= 104_857_600)
    );
    let _ = writeln!(
        s,
        "| single post lateness p99 ({} posts) | {:.2} s | ≤ 1.5 s | {:.2} | {} |",
        single.samples,
        single.lateness_p99,
        single.lateness_p99 / 1.5,
        verdict(single.lateness_p99 <= 1.5)
    );
    let _ = writeln!(
        s,
        "| published / due | {} / {} ({} failed or unknown) | all | | {} |",
        b.published,
        b.targets,
        b.failed_or_unknown,
        verdict(b.published == b.targets)
    );
    let _ = writeln!(
        s,
        "| peak one-second rate | {} targets/s | | | |",
        b.peak_rate
    );
    let _ = writeln!(
        s,
        "| lateness p50 / max | {:.2} s / {:.2} s | | | |",
        b.lateness_p50, b.lateness_max
    );
    let _ = writeln!(
        s,
        "| single post lateness p50 / max | {:.2} s / {:.2} s | | | |",
        single.lateness_p50, single.lateness_max
    );
    let _ = writeln!(
        s,
        "| worker RSS at idle / web RSS | {} / {} | | | |",
        mb(b.worker_idle_rss),
        mb(b.web_rss)
    );
    s
}

pub fn dashboards(r: &Dashboards) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## Analytics dashboards: {} engagement snapshots for one seller\n",
        thousands(r.snapshots as usize)
    );
    let _ = writeln!(s, "Machine: {}.\n", machine());
    let _ = writeln!(
        s,
        "One seller (Europe/Berlin) with {} published X, Instagram and Pinterest posts of the last \
         90 days, {} snapshots each ({} in all), half of the posts about one of {} synced Shopify \
         products. The real rollup builds the daily numbers ({} rows in {:.2} s), then each page is \
         loaded {} times in a row (after two warm-ups) by the signed-in seller. Server time is the \
         app's own `Server-Timing: app` (session, queries, rendering).\n",
        thousands(r.targets as usize),
        crate::dashboards::PER_TARGET_DOC,
        thousands(r.snapshots as usize),
        thousands(r.products as usize),
        thousands(r.rollup_rows as usize),
        r.rollup_secs,
        r.requests
    );
    let _ = writeln!(
        s,
        "| page | server time p50 / p99 | target | ratio (p99) | | HTML |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|");
    for p in &r.pages {
        let _ = writeln!(
            s,
            "| {} (`{}`) | {:.1} / {:.1} ms | ≤ 50 ms | {:.2} | {} | {:.0} kB |",
            p.what,
            p.path,
            p.server_p50,
            p.server_p99,
            p.server_p99 / 50.0,
            verdict(p.server_p99 <= 50.0),
            p.bytes as f64 / 1000.0
        );
    }
    s
}

pub fn catalog(r: &Catalog) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## Catalog: {} Shopify products synced, then searched\n",
        thousands(r.products)
    );
    let _ = writeln!(s, "Machine: {}.\n", machine());
    let _ = writeln!(
        s,
        "A new seller connects a sandbox Shopify shop of {} products (variants, several images, \
         HTML descriptions, some without a price); the real `picscripter-worker` syncs it through \
         Shopify's bulk export (the sandbox prepares the file in 0.1 ms a product plus 300 ms, then \
         serves it streamed), storing a page of products per transaction. The sync time is the \
         sync row's queued → succeeded. Search times are wall-clock on the client for the whole \
         `/products` page (HTML), sequential, after one warm-up request.\n",
        thousands(r.products)
    );
    let _ = writeln!(s, "| measure | result | target | ratio | |");
    let _ = writeln!(s, "|---|---|---|---|---|");
    let _ = writeln!(
        s,
        "| sync of {} products | {:.1} s ({} pages) | ≤ 15 s | {:.2} | {} |",
        thousands(r.products),
        r.sync_secs,
        r.pages,
        r.sync_secs / 15.0,
        verdict(r.sync_secs <= 15.0)
    );
    let _ = writeln!(
        s,
        "| products stored | {} | {} | | {} |",
        thousands(r.stored as usize),
        thousands(r.products),
        verdict(r.stored as usize == r.products)
    );
    let first = r.memory.first().map_or(r.worker_idle_rss, |m| m.rss);
    let last = r.memory.last().map_or(r.worker_idle_rss, |m| m.rss);
    let _ = writeln!(
        s,
        "| worker RSS: idle / after the first tenth / at the end / peak | {} / {} / {} / {} | flat | | {} |",
        mb(r.worker_idle_rss),
        mb(first),
        mb(last),
        mb(r.worker_peak_rss),
        // Flat: the last tenth costs no more than a few MB over the first (pages are
        // streamed, never collected).
        verdict(last <= first + 8 * 1_048_576)
    );
    for q in &r.searches {
        let _ = writeln!(
            s,
            "| search: {} (`{}`, {} shown) p50 / p99 / max | {:.1} / {:.1} / {:.1} ms | p99 ≤ 50 ms | {:.2} | {} |",
            q.what,
            q.path.replace('|', "%7C"),
            q.results,
            q.p50_ms,
            q.p99_ms,
            q.max_ms,
            q.p99_ms / 50.0,
            verdict(q.p99_ms <= 50.0)
        );
    }
    let _ = writeln!(s, "\nWorker memory as the products arrived:\n");
    let _ = writeln!(s, "| products stored | worker RSS |");
    let _ = writeln!(s, "|---|---|");
    for m in &r.memory {
        let _ = writeln!(s, "| {} | {} |", thousands(m.processed as usize), mb(m.rss));
    }
    s
}

fn thousands(n: usize) -> String {
    picscripter::domain::words::thousands(n as u64)
}

pub fn write(path: &Path, sections: &[(&str, String)]) -> anyhow::Result<()> {
    let mut doc = std::fs::read_to_string(path).unwrap_or_else(|_| HEADER.to_owned());
    for (name, body) in sections {
        let (open, close) = (
            format!("<!-- bench:{name} -->"),
            format!("<!-- /bench:{name} -->"),
        );
        let block = format!("{open}\n{body}{close}");
        match (doc.find(&open), doc.find(&close)) {
            (Some(a), Some(b)) if a < b => doc.replace_range(a..b + close.len(), &block),
            _ => {
                doc.push('\n');
                doc.push_str(&block);
                doc.push('\n');
            }
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, doc)?;
    Ok(())
}
