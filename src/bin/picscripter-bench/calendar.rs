//! The month view with a busy month: server time under concurrent clients, and what a cold
//! load of the page weighs on the wire.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::ensure;
use chrono::{Datelike as _, NaiveDate, TimeZone as _, Utc};
use chrono_tz::Europe::Berlin;
use picscripter::domain::Platform;
use reqwest::StatusCode;

use crate::stack::{Browser, Options, Stack, memory, quantile};

pub struct Settings {
    pub posts: usize,
    pub clients: usize,
    pub seconds: u64,
    pub options: Options,
}

pub struct Report {
    pub posts: usize,
    pub clients: usize,
    /// Each client pausing [`PAUSE`] between page loads.
    pub paced: Load,
    /// No pause: as many requests as the machine answers.
    pub saturated: Load,
    /// Bytes on the wire for a cold load: (url, compressed bytes, uncompressed bytes, encoding).
    pub assets: Vec<(String, usize, usize, String)>,
    pub web_rss: u64,
}

impl Report {
    pub fn page_weight(&self) -> usize {
        self.assets.iter().map(|a| a.1).sum()
    }
}

pub async fn run(settings: Settings) -> anyhow::Result<Report> {
    let stack = Stack::start(settings.options).await?;
    let result = measure(&stack, settings.posts, settings.clients, settings.seconds).await;
    stack.stop().await?;
    result
}

async fn measure(
    stack: &Stack,
    posts: usize,
    clients: usize,
    seconds: u64,
) -> anyhow::Result<Report> {
    let seller = stack.seller("Europe/Berlin").await?;
    for p in [Platform::X, Platform::Instagram, Platform::Linkedin] {
        seller.connect(p).await?;
    }
    // The seller's month, full: posts spread over every day and hour, on one to three networks,
    // those before today published and the rest scheduled.
    let today = Utc::now().with_timezone(&Berlin).date_naive();
    let first = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).expect("a month");
    let days = first
        .checked_add_months(chrono::Months::new(1))
        .expect("next month")
        .signed_duration_since(first)
        .num_days();
    let start = Berlin
        .from_local_datetime(&first.and_hms_opt(0, 0, 0).expect("midnight"))
        .earliest()
        .expect("midnight exists")
        .with_timezone(&Utc);
    let span_minutes = days * 24 * 60;
    let sql = format!(
        "WITH c AS (SELECT array_agg(id ORDER BY platform) AS ids FROM connections), \
         p AS ( \
           INSERT INTO posts (id, user_id, body, scheduled_at, status) \
           SELECT gen_random_uuid(), (SELECT id FROM users LIMIT 1), \
                  'Post ' || g || ': our speckled stoneware mug is back, glazed by hand in small batches. Link in bio!', \
                  '{start}'::timestamptz + ((g * 7919) % {span_minutes}) * interval '1 minute', 'scheduled' \
           FROM generate_series(1, {posts}) g RETURNING id, scheduled_at) \
         INSERT INTO post_targets (id, post_id, connection_id, status, next_attempt_at) \
         SELECT gen_random_uuid(), p.id, c.ids[k], 'scheduled', p.scheduled_at \
         FROM p, c, generate_series(1, 3) k \
         WHERE k <= 1 + (abs(hashtext(p.id::text)) % 3)",
        start = start.to_rfc3339()
    );
    stack.execute(&sql).await?;
    stack
        .execute(
            "UPDATE post_targets SET status = 'published', published_at = next_attempt_at, \
             remote_id = '1', remote_url = 'https://x.com/i/status/1' WHERE next_attempt_at < now()",
        )
        .await?;
    stack
        .execute("UPDATE posts SET status = 'published' WHERE scheduled_at < now()")
        .await?;
    // A database in use has statistics; a freshly filled one gets them now rather than whenever
    // autovacuum comes round.
    stack.execute("ANALYZE").await?;
    let shown = posts_shown(&seller).await?;
    ensure!(
        shown == posts,
        "the month view shows {shown} posts, not the {posts} planned"
    );

    let assets = cold_load(&seller).await?;
    // Every client a browser of the same seller, asking for the month view: first with a
    // second's pause between page loads (people), then with none (the machine's capacity).
    let seller = Arc::new(seller);
    hammer(
        &seller,
        clients,
        Instant::now() + Duration::from_secs(2),
        None,
    )
    .await; // warm-up
    let paced = Load::measure(&seller, clients, seconds, Some(PAUSE)).await;
    let saturated = Load::measure(&seller, clients, seconds, None).await;
    let web_rss = memory(stack.web_pid()).map(|m| m.0).unwrap_or_default();
    Ok(Report {
        posts,
        clients,
        paced,
        saturated,
        assets,
        web_rss,
    })
}

/// The pause between a client's page loads in the paced run.
pub const PAUSE: Duration = Duration::from_secs(1);

pub struct Load {
    pub requests: usize,
    pub errors: usize,
    pub throughput: f64,
    pub server_p50: f64,
    pub server_p99: f64,
    /// The database's share of the server time (`Server-Timing: db`), median.
    pub db_p50: f64,
    pub client_p50: f64,
    pub client_p99: f64,
}

impl Load {
    async fn measure(
        seller: &Arc<Browser>,
        clients: usize,
        seconds: u64,
        pause: Option<Duration>,
    ) -> Self {
        let started = Instant::now();
        let samples = hammer(
            seller,
            clients,
            started + Duration::from_secs(seconds),
            pause,
        )
        .await;
        let elapsed = started.elapsed().as_secs_f64();
        let errors = samples.iter().filter(|s| s.is_none()).count();
        let (mut server, mut client, mut db) = (Vec::new(), Vec::new(), Vec::new());
        for (s, c, d) in samples.into_iter().flatten() {
            server.push(s);
            client.push(c);
            db.push(d);
        }
        for v in [&mut server, &mut client, &mut db] {
            v.sort_by(f64::total_cmp);
        }
        Self {
            requests: client.len(),
            errors,
            throughput: client.len() as f64 / elapsed,
            server_p50: quantile(&server, 0.5),
            server_p99: quantile(&server, 0.99),
            db_p50: quantile(&db, 0.5),
            client_p50: quantile(&client, 0.5),
            client_p99: quantile(&client, 0.99),
        }
    }
}

/// How many post cards the month view shows.
async fn posts_shown(seller: &Browser) -> anyhow::Result<usize> {
    let res = seller.get("/calendar?view=month").await?;
    ensure!(
        res.status() == StatusCode::OK,
        "the calendar answered {}",
        res.status()
    );
    let html = res.text().await?;
    let doc = scraper::Html::parse_document(&html);
    let sel = scraper::Selector::parse("[data-post-id]").expect("selector");
    let mut ids: Vec<&str> = doc
        .select(&sel)
        .filter_map(|e| e.value().attr("data-post-id"))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(ids.len())
}

/// A first visit: the page and every stylesheet and script it names, compressed as a browser
/// asks for them.
async fn cold_load(seller: &Browser) -> anyhow::Result<Vec<(String, usize, usize, String)>> {
    let fetch = |url: String| async move {
        let res = seller
            .client
            .get(seller.url(&url))
            .header("accept-encoding", "br, gzip")
            .send()
            .await?;
        ensure!(
            res.status() == StatusCode::OK,
            "{url} answered {}",
            res.status()
        );
        let encoding = res
            .headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("identity")
            .to_owned();
        let body = res.bytes().await?;
        let plain = decoded_len(&body, &encoding)?;
        anyhow::Ok((url, body.len(), plain, encoding))
    };
    let page = fetch("/calendar?view=month".into()).await?;
    let html = seller.get("/calendar?view=month").await?.text().await?;
    let mut assets = vec![page];
    let links: Vec<String> = {
        let doc = scraper::Html::parse_document(&html);
        let css = scraper::Selector::parse(r#"link[rel="stylesheet"]"#).expect("selector");
        let js = scraper::Selector::parse("script[src]").expect("selector");
        doc.select(&css)
            .filter_map(|e| e.value().attr("href"))
            .chain(doc.select(&js).filter_map(|e| e.value().attr("src")))
            .map(str::to_owned)
            .collect()
    };
    for link in links {
        assets.push(fetch(link).await?);
    }
    Ok(assets)
}

fn decoded_len(body: &[u8], encoding: &str) -> anyhow::Result<usize> {
    use std::io::Read as _;
    Ok(match encoding {
        "br" => {
            let mut out = Vec::new();
            brotli_decompressor::Decompressor::new(body, 4096).read_to_end(&mut out)?;
            out.len()
        }
        "gzip" => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(body).read_to_end(&mut out)?;
            out.len()
        }
        _ => body.len(),
    })
}

/// `clients` loops asking for the month view until `until`; each answer's (server ms, client
/// ms), or `None` for a failed request.
async fn hammer(
    seller: &Arc<Browser>,
    clients: usize,
    until: Instant,
    pause: Option<Duration>,
) -> Vec<Option<(f64, f64, f64)>> {
    let mut tasks = Vec::new();
    for i in 0..clients {
        let seller = seller.clone();
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            if let Some(pause) = pause {
                // Spread the clients' first loads over the pause, as people arrive.
                tokio::time::sleep(pause.mul_f64(i as f64 / clients as f64)).await;
            }
            while Instant::now() < until {
                let started = Instant::now();
                let res = seller
                    .client
                    .get(seller.url("/calendar?view=month"))
                    .header("accept-encoding", "br, gzip")
                    .send()
                    .await;
                let sample = match res {
                    Ok(res) if res.status() == StatusCode::OK => {
                        let server = server_time(res.headers());
                        let db = phase(res.headers(), "db").unwrap_or(f64::NAN);
                        let ok = res.bytes().await.is_ok();
                        let client = started.elapsed().as_secs_f64() * 1000.0;
                        server.filter(|_| ok).map(|s| (s, client, db))
                    }
                    _ => None,
                };
                samples.push(sample);
                if let Some(pause) = pause {
                    tokio::time::sleep(pause).await;
                }
            }
            samples
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap_or_default());
    }
    all
}

fn server_time(headers: &reqwest::header::HeaderMap) -> Option<f64> {
    phase(headers, "app")
}

/// One phase of `Server-Timing`, in milliseconds.
fn phase(headers: &reqwest::header::HeaderMap, name: &str) -> Option<f64> {
    let prefix = format!("{name};dur=");
    headers
        .get("server-timing")?
        .to_str()
        .ok()?
        .split(',')
        .find_map(|m| m.trim().strip_prefix(prefix.as_str()))?
        .parse()
        .ok()
}
