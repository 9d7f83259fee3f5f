//! A whole Picscripter on this machine for one benchmark: a fresh database, a Redis prefix of
//! its own, the platform sandbox in this process, and the real `picscripter serve` and
//! `picscripter-worker` binaries as child processes (so their memory can be read from `/proc`).
//! Dropping it stops the processes and removes the database and the Redis keys.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use picscripter::domain::Platform;
use picscripter::sandbox::{Sandbox, SandboxConfig};
use rand::Rng as _;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};
use sea_orm::{ConnectionTrait as _, DatabaseConnection, Statement};
use tokio::process::{Child, Command};
use uuid::Uuid;

pub const PASSWORD: &str = "bench-password-1234";

pub struct Stack {
    pub db: DatabaseConnection,
    pub web_url: String,
    pub sandbox: Sandbox,
    db_url: String,
    db_name: String,
    redis_url: String,
    prefix: String,
    env: Vec<(String, String)>,
    bins: PathBuf,
    dir: tempfile::TempDir,
    web: Child,
}

/// How to start the stack.
pub struct Options {
    pub postgres_url: String,
    pub redis_url: String,
    /// Extra settings for both processes.
    pub env: Vec<(&'static str, String)>,
    /// Products in every sandbox shop (`None`: the sandbox's default).
    pub products_per_shop: Option<usize>,
}

impl Stack {
    pub async fn start(options: Options) -> anyhow::Result<Self> {
        let bins = std::env::current_exe()?
            .parent()
            .context("the benchmark binary has no folder")?
            .to_path_buf();
        for bin in ["picscripter", "picscripter-worker"] {
            ensure!(
                bins.join(bin).exists(),
                "{} is missing: build every binary first (cargo build --release --bins)",
                bins.join(bin).display()
            );
        }
        let id = Uuid::new_v4().simple().to_string()[..10].to_owned();
        let db_name = format!("picscripter_bench_{id}");
        let db_url = format!("{}/{db_name}", options.postgres_url.trim_end_matches('/'));
        picscripter::db::create_database_if_missing(&db_url).await?;
        picscripter::db::migrate(&db_url).await?;
        let db = picscripter::db::connect_url(&db_url, 8).await?;

        // The sandbox, in this process, on a free port.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let sandbox_url = format!("http://{}", listener.local_addr()?);
        let mut sandbox_config = SandboxConfig::new(sandbox_url.parse()?);
        if let Some(n) = options.products_per_shop {
            sandbox_config.products_per_shop = n;
        }
        let sandbox = Sandbox::new(sandbox_config);
        tokio::spawn(picscripter::sandbox::serve(
            sandbox.clone(),
            listener,
            std::future::pending(),
        ));

        let port = free_port()?;
        let web_url = format!("http://127.0.0.1:{port}");
        let dir = tempfile::tempdir()?;
        let mut key = [0u8; 32];
        rand::rng().fill(&mut key);
        use base64::Engine as _;
        let keys = format!(
            "{{\"1\":\"{}\"}}",
            base64::engine::general_purpose::STANDARD.encode(key)
        );
        let prefix = format!("bench-{id}:");
        let mut env: Vec<(String, String)> = vec![
            ("DATABASE_URL".into(), db_url.clone()),
            ("REDIS_URL".into(), options.redis_url.clone()),
            ("REDIS_KEY_PREFIX".into(), prefix.clone()),
            ("JWT_SECRET".into(), picscripter::security::random_token(48)),
            ("ENCRYPTION_KEYS_JSON".into(), keys),
            ("ENCRYPTION_KEY_CURRENT".into(), "1".into()),
            ("HOST".into(), "127.0.0.1".into()),
            ("PORT".into(), port.to_string()),
            ("PUBLIC_BASE_URL".into(), web_url.clone()),
            ("SANDBOX_URL".into(), sandbox_url),
            // One address plays every client here; the per-address limits would measure
            // themselves.
            ("RATE_LIMIT_PER_MINUTE".into(), "1000000".into()),
            ("API_RATE_LIMIT_PER_MINUTE".into(), "1000000".into()),
            (
                "MEDIA_STORE".into(),
                dir.path().join("media").to_string_lossy().into_owned(),
            ),
            ("LOG_FORMAT".into(), "json".into()),
            ("RUST_LOG".into(), "warn".into()),
        ];
        for (k, v) in options.env {
            env.retain(|(key, _)| key != k);
            env.push((k.into(), v));
        }
        let web = spawn(&bins, "picscripter", &["serve"], &env, dir.path(), "web")?;
        let stack = Self {
            db,
            web_url,
            sandbox,
            db_url,
            db_name,
            redis_url: options.redis_url,
            prefix,
            env,
            bins,
            dir,
            web,
        };
        if let Err(e) = stack.wait_ready().await {
            // Leave nothing behind: the database and Redis keys go with the failed start.
            stack.stop().await?;
            return Err(e);
        }
        Ok(stack)
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(res) = client.get(format!("{}/healthz", self.web_url)).send().await
                && res.status() == StatusCode::OK
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                let log =
                    std::fs::read_to_string(self.dir.path().join("web.log")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(20).collect();
                bail!(
                    "the web process did not become ready in 30 s; its last words:\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn web_pid(&self) -> u32 {
        self.web.id().unwrap_or_default()
    }

    /// Starts a worker with these settings on top of the stack's.
    pub fn spawn_worker(&self, extra: &[(&str, String)]) -> anyhow::Result<Child> {
        let mut env = self.env.clone();
        for (k, v) in extra {
            env.retain(|(key, _)| key != k);
            env.push(((*k).into(), v.clone()));
        }
        spawn(
            &self.bins,
            "picscripter-worker",
            &[],
            &env,
            self.dir.path(),
            "worker",
        )
    }

    /// A browser signed up as a new seller (time zone `time_zone`).
    pub async fn seller(&self, time_zone: &str) -> anyhow::Result<Browser> {
        let browser = Browser::new(&self.web_url)?;
        let email = format!(
            "seller-{}@example.com",
            &Uuid::new_v4().simple().to_string()[..8]
        );
        let res = browser
            .post_form(
                "/signup",
                &[
                    ("email", &email),
                    ("password", PASSWORD),
                    ("time_zone", time_zone),
                ],
            )
            .await?;
        ensure!(
            res.status() == StatusCode::SEE_OTHER,
            "sign-up failed: {}",
            res.status()
        );
        Ok(browser)
    }

    pub async fn scalar_i64(&self, sql: &str) -> anyhow::Result<i64> {
        let row = self
            .db
            .query_one_raw(Statement::from_string(sea_orm::DbBackend::Postgres, sql))
            .await?
            .context("no row")?;
        Ok(row.try_get_by_index::<i64>(0)?)
    }

    pub async fn scalar_text(&self, sql: &str) -> anyhow::Result<String> {
        let row = self
            .db
            .query_one_raw(Statement::from_string(sea_orm::DbBackend::Postgres, sql))
            .await?
            .context("no row")?;
        Ok(row.try_get_by_index::<String>(0)?)
    }

    pub async fn execute(&self, sql: &str) -> anyhow::Result<u64> {
        Ok(self
            .db
            .execute_raw(Statement::from_string(sea_orm::DbBackend::Postgres, sql))
            .await?
            .rows_affected())
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = self.web.start_kill();
        let _ = self.web.wait().await;
        self.db.clone().close().await?;
        if std::env::var_os("BENCH_KEEP_DATABASE").is_some() {
            eprintln!("kept the database {}", self.db_name);
        } else {
            drop_database(&self.db_url, &self.db_name).await?;
        }
        if let Ok(redis) = picscripter::redis::Redis::connect(
            &self.redis_url,
            &self.prefix,
            Duration::from_secs(5),
        )
        .await
        {
            let _ = redis.delete_prefixed("").await;
        }
        Ok(())
    }
}

fn spawn(
    bins: &Path,
    bin: &str,
    args: &[&str],
    env: &[(String, String)],
    dir: &Path,
    log: &str,
) -> anyhow::Result<Child> {
    let file = std::fs::File::create(dir.join(format!("{log}.log")))?;
    let mut cmd = Command::new(bins.join(bin));
    cmd.args(args)
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .kill_on_drop(true);
    cmd.spawn().with_context(|| format!("couldn't start {bin}"))
}

async fn drop_database(db_url: &str, name: &str) -> anyhow::Result<()> {
    let admin_url = match db_url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/postgres"),
        None => bail!("odd database URL"),
    };
    let admin = picscripter::db::connect_url(&admin_url, 1).await?;
    admin
        .execute_raw(Statement::from_string(
            sea_orm::DbBackend::Postgres,
            format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
        ))
        .await?;
    Ok(())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Resident memory of a process, and the most it has had, in bytes (`/proc/{pid}/status`).
pub fn memory(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// A browser: a cookie jar, no automatic redirects, no automatic decompression.
pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
}

impl Browser {
    pub fn new(base: &str) -> anyhow::Result<Self> {
        Ok(Self {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .pool_max_idle_per_host(64)
                .build()?,
            base: base.to_owned(),
        })
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<reqwest::Response> {
        Ok(self.client.get(self.url(path)).send().await?)
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    /// Posts a form as a same-origin browser does, with the session's CSRF token.
    pub async fn post_form(
        &self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> anyhow::Result<reqwest::Response> {
        let mut page = self.get("/login").await?;
        if page.status() == StatusCode::SEE_OTHER {
            page = self.get("/settings").await?;
        }
        let html = page.text().await?;
        let token = {
            let doc = scraper::Html::parse_document(&html);
            let sel = scraper::Selector::parse(r#"meta[name="csrf-token"]"#).expect("selector");
            doc.select(&sel)
                .next()
                .and_then(|m| m.value().attr("content"))
                .context("no CSRF token on the page")?
                .to_owned()
        };
        let mut all = fields.to_vec();
        all.push(("csrf_token", &token));
        let mut headers = HeaderMap::new();
        headers.insert("origin", HeaderValue::from_str(&self.base)?);
        headers.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        Ok(self
            .client
            .post(self.url(path))
            .headers(headers)
            .form(&all)
            .send()
            .await?)
    }

    /// Connects `platform` through the sandbox's consent page, as a seller clicking "Allow".
    pub async fn connect(&self, platform: Platform) -> anyhow::Result<()> {
        let shop = if platform == Platform::Shopify {
            "?shop=bench-shop.myshopify.com"
        } else {
            ""
        };
        let res = self
            .get(&format!("/connections/{platform}/connect{shop}"))
            .await?;
        ensure!(
            res.status() == StatusCode::SEE_OTHER,
            "connect did not redirect"
        );
        let consent_url = location(&res)?;
        let html = self.client.get(&consent_url).send().await?.text().await?;
        let (action, mut fields) = {
            let doc = scraper::Html::parse_document(&html);
            let form = doc
                .select(&scraper::Selector::parse("form").expect("selector"))
                .next()
                .context("the consent page has no form")?;
            let action = form
                .value()
                .attr("action")
                .unwrap_or(&consent_url)
                .to_owned();
            let action = reqwest::Url::parse(&consent_url)?
                .join(&action)?
                .to_string();
            let mut fields = Vec::new();
            for input in form.select(&scraper::Selector::parse("input").expect("selector")) {
                let v = input.value();
                let kind = v.attr("type").unwrap_or("text");
                if let Some(name) = v.attr("name")
                    && kind != "submit"
                    && (kind != "checkbox" || v.attr("checked").is_some())
                {
                    fields.push((
                        name.to_owned(),
                        v.attr("value").unwrap_or_default().to_owned(),
                    ));
                }
            }
            (action, fields)
        };
        fields.retain(|(k, _)| k != "decision");
        fields.push(("decision".into(), "allow".into()));
        let res = self.client.post(&action).form(&fields).send().await?;
        ensure!(
            res.status().is_redirection(),
            "the consent page did not redirect"
        );
        let callback = location(&res)?;
        let res = self.client.get(&callback).send().await?;
        let landed = location(&res)?;
        ensure!(
            landed == "/connections",
            "connecting {platform} ended at {landed}"
        );
        Ok(())
    }
}

pub fn location(res: &reqwest::Response) -> anyhow::Result<String> {
    Ok(res
        .headers()
        .get("location")
        .context("no Location header")?
        .to_str()?
        .to_owned())
}

/// The value at quantile `q` (0–1) of sorted samples, nearest rank.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}
