//! Typed configuration from environment variables, validated once at start.
//!
//! `Config::from_env` reads every variable, collects *every* problem, and returns them together so
//! an operator fixes a deployment in one pass. Secret values never appear in messages or `Debug`
//! output: they are `SecretString`s, and problems mention only their length or shape.
//! `.env.example` documents each variable; keep the two in step.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use url::Url;
use uuid::Uuid;

use crate::domain::Platform;

/// Where configuration values come from. The process environment in production; a map in tests.
pub trait Source {
    fn get(&self, key: &str) -> Option<String>;
}

/// The process environment (after an optional `.env` was loaded into it).
pub struct ProcessEnv;

impl Source for ProcessEnv {
    fn get(&self, key: &str) -> Option<String> {
        std::env::var(key).ok()
    }
}

impl Source for HashMap<String, String> {
    fn get(&self, key: &str) -> Option<String> {
        HashMap::get(self, key).cloned()
    }
}

impl Source for BTreeMap<String, String> {
    fn get(&self, key: &str) -> Option<String> {
        BTreeMap::get(self, key).cloned()
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: SecretString,
    pub database_max_connections: u32,
    pub redis_url: SecretString,
    /// Prepended to every Redis key we write, so several installs (or tests) can share a server.
    pub redis_key_prefix: String,
    pub host: IpAddr,
    pub port: u16,
    /// Where browsers and platforms reach us; also decides whether cookies are `Secure`.
    pub public_base_url: Url,
    pub oauth_callback_base_url: Url,
    pub cors_origins: Vec<String>,
    /// Signing secret for cookies and signed media links.
    pub jwt_secret: SecretString,
    pub encryption_keys: KeyRing,
    /// Session idle timeout.
    pub session_idle_timeout: Duration,
    /// Session absolute lifetime.
    pub session_absolute_lifetime: Duration,
    pub admin_user_ids: Vec<Uuid>,
    pub features: Features,
    pub platforms: BTreeMap<Platform, PlatformCredentials>,
    pub sandbox_url: Option<Url>,
    /// Origins fetched without the inward-address check (`SafeFetch`): our own services on
    /// private addresses. The sandbox is always one of them.
    pub outbound_allow_origins: Vec<Url>,
    /// How long fetching one user-supplied address (redirects and body included) may take.
    pub outbound_timeout_secs: u64,
    /// Shopify Admin API version (`YYYY-MM`).
    pub shopify_api_version: String,
    /// A local folder, or `s3://bucket/prefix` (credentials from the standard AWS variables).
    pub media_store: String,
    /// Largest photo accepted, in bytes.
    pub media_max_image_bytes: u64,
    /// Largest video accepted, in bytes.
    pub media_max_video_bytes: u64,
    pub gemini_api_key: Option<SecretString>,
    pub gemini_model: String,
    /// How long one Gemini call may take before the Studio gives up on it.
    pub gemini_timeout_secs: u64,
    /// AI Studio calls to a paid provider (Gemini) one user may make per hour.
    pub ai_rate_limit_per_hour: u32,
    pub metrics_token: Option<SecretString>,
    /// Trust `X-Forwarded-For` for the client address (only behind a proxy that sets it).
    pub trust_proxy: bool,
    /// General per-IP ceiling: requests per minute, with a burst of a tenth of that.
    pub rate_limit_per_minute: u32,
    /// Per API token: requests per fixed minute, counted in Redis so all web processes share it.
    pub api_rate_limit_per_minute: u32,
    pub log_format: LogFormat,
    /// Publish jobs a worker runs at once.
    pub worker_concurrency: usize,
    /// How long a worker holds a target it is publishing before others may treat it as lost;
    /// renewed every third of it while the platform works.
    pub publish_lease_secs: u64,
    /// Attempts at a publish that keeps failing transiently before it is marked failed.
    pub publish_max_attempts: u32,
    /// The first retry's delay; each later one doubles it (with jitter), up to an hour.
    pub publish_retry_base_secs: u64,
    /// How long the worker waits for in-flight publishes on SIGTERM before releasing them.
    pub shutdown_grace_secs: u64,
    /// A target queued this long without a worker taking it has lost its job (Redis flushed or
    /// restarted) and is queued again.
    pub publish_requeue_after_secs: u64,
    /// How often a shop's catalog is synced again after its last sync.
    pub catalog_sync_interval_mins: u64,
    /// The longest a shop goes without a full pass (which finds products removed from shops
    /// that can't report removals).
    pub catalog_full_sync_hours: u64,
    /// How long a worker holds a sync without renewing it; a sync whose worker died is taken
    /// over after this.
    pub catalog_sync_lease_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    pub token_refresh: bool,
    pub metrics_engagement: bool,
    pub per_platform_analytics: bool,
    pub ui_modern_chart: bool,
}

#[derive(Debug, Clone)]
pub struct PlatformCredentials {
    pub client_id: String,
    pub client_secret: SecretString,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// The AES-256 keys for tokens at rest, by version, and the one new ciphertexts use.
#[derive(Clone)]
pub struct KeyRing {
    pub keys: BTreeMap<u32, std::sync::Arc<SecretBox<[u8; 32]>>>,
    pub current: u32,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("versions", &self.keys.keys().collect::<Vec<_>>())
            .field("current", &self.current)
            .finish()
    }
}

/// Every configuration problem found, ready to print.
#[derive(Debug)]
pub struct ConfigErrors(pub Vec<String>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "Picscripter can't start: the configuration has {n} problem{}.",
            if n == 1 { "" } else { "s" }
        )?;
        for problem in &self.0 {
            writeln!(f, "  - {problem}")?;
        }
        write!(
            f,
            "Every setting is described in .env.example; set them in the environment or in a .env file."
        )
    }
}

impl std::error::Error for ConfigErrors {}

impl Config {
    pub fn from_env(src: &dyn Source) -> Result<Config, ConfigErrors> {
        let mut r = Reader {
            src,
            problems: Vec::new(),
        };

        let database_url = r.required_url(
            "DATABASE_URL",
            &["postgres", "postgresql"],
            "your Postgres database, e.g. postgres://postgres@127.0.0.1:5432/picscripter",
        );
        let database_max_connections = r.number("DATABASE_MAX_CONNECTIONS", 10u32, 1, 1000);
        let redis_url = r.required_url(
            "REDIS_URL",
            &["redis", "rediss"],
            "your Redis server, e.g. redis://127.0.0.1:6379",
        );
        let redis_key_prefix = r
            .get("REDIS_KEY_PREFIX")
            .unwrap_or_else(|| "picscripter:".into());

        let host = match r.get("HOST") {
            None => IpAddr::from([127, 0, 0, 1]),
            Some(v) => v.parse().unwrap_or_else(|_| {
                r.problem(format!(
                    "HOST is {v:?}, which is not an IP address. Use 0.0.0.0 to listen on every interface or 127.0.0.1 for this machine only."
                ));
                IpAddr::from([127, 0, 0, 1])
            }),
        };
        let port = r.number("PORT", 8080u16, 0, u16::MAX);

        let public_base_url = r
            .optional_base_url("PUBLIC_BASE_URL")
            .unwrap_or_else(|| parse_url(&format!("http://localhost:{port}")));
        let oauth_callback_base_url = r
            .optional_base_url("OAUTH_CALLBACK_BASE_URL")
            .unwrap_or_else(|| public_base_url.clone());

        let cors_origins: Vec<String> = r
            .get("CORS_ORIGIN")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .filter_map(|o| match Url::parse(o) {
                        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                            Some(origin_of(&u))
                        }
                        _ => {
                            r.problem(format!(
                                "CORS_ORIGIN contains {o:?}, which is not an origin. List origins like https://shop.example.com, separated by commas."
                            ));
                            None
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();

        let public_origin = origin_of(&public_base_url);
        let callback_origin = origin_of(&oauth_callback_base_url);
        if callback_origin != public_origin && !cors_origins.contains(&callback_origin) {
            r.problem(format!(
                "OAUTH_CALLBACK_BASE_URL ({callback_origin}) is not an allowed origin. Use the origin of PUBLIC_BASE_URL ({public_origin}) or add it to CORS_ORIGIN."
            ));
        }

        let jwt_secret = match r.get("JWT_SECRET") {
            None => {
                r.problem("JWT_SECRET is missing. Set it to at least 32 random characters, e.g. the output of `openssl rand -base64 48`.".into());
                SecretString::from(String::new())
            }
            Some(v) if v.len() < 32 => {
                r.problem(format!(
                    "JWT_SECRET is too short ({} characters). Use at least 32 random characters, e.g. the output of `openssl rand -base64 48`.",
                    v.len()
                ));
                SecretString::from(v)
            }
            Some(v) => SecretString::from(v),
        };

        let encryption_keys = r.key_ring();

        let session_idle_timeout =
            r.duration("ACCESS_TOKEN_TTL", Duration::from_secs(12 * 3600), "12h");
        let session_absolute_lifetime =
            r.duration("REFRESH_TOKEN_TTL", Duration::from_secs(30 * 86400), "30d");
        if session_idle_timeout > session_absolute_lifetime {
            r.problem("ACCESS_TOKEN_TTL (the session idle timeout) is longer than REFRESH_TOKEN_TTL (the session's absolute lifetime). Make it shorter or equal.".into());
        }

        let admin_user_ids = r
            .get("ADMIN_USER_IDS")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .filter_map(|id| {
                        Uuid::parse_str(id).ok().or_else(|| {
                            r.problem(format!(
                                "ADMIN_USER_IDS contains {id:?}, which is not a user id. Use the ids shown under Settings, separated by commas."
                            ));
                            None
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();

        let features = Features {
            token_refresh: r.flag("FEATURE_TOKEN_REFRESH", true),
            metrics_engagement: r.flag("METRICS_ENGAGEMENT", true),
            per_platform_analytics: r.flag("FEATURE_PER_PLATFORM_ANALYTICS", true),
            ui_modern_chart: r.flag("UI_MODERN_CHART", false),
        };

        let mut platforms = BTreeMap::new();
        for p in Platform::ALL {
            let id_key = format!("{}_CLIENT_ID", p.env_prefix());
            let secret_key = format!("{}_CLIENT_SECRET", p.env_prefix());
            match (r.get(&id_key), r.get(&secret_key)) {
                (None, None) => {}
                (Some(client_id), Some(secret)) => {
                    platforms.insert(
                        p,
                        PlatformCredentials { client_id, client_secret: SecretString::from(secret) },
                    );
                }
                (Some(_), None) => r.problem(format!(
                    "{id_key} is set but {secret_key} is missing. Set both from the {} developer console, or neither.",
                    p.display_name()
                )),
                (None, Some(_)) => r.problem(format!(
                    "{secret_key} is set but {id_key} is missing. Set both from the {} developer console, or neither.",
                    p.display_name()
                )),
            }
        }

        let sandbox_url = r.optional_base_url("SANDBOX_URL");
        let outbound_allow_origins: Vec<Url> = r
            .get("OUTBOUND_ALLOW_ORIGINS")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .filter_map(|o| match Url::parse(o) {
                        Ok(u)
                            if matches!(u.scheme(), "http" | "https")
                                && u.host().is_some()
                                && u.path() == "/"
                                && u.query().is_none()
                                && u.username().is_empty() =>
                        {
                            Some(u)
                        }
                        _ => {
                            r.problem(format!(
                                "OUTBOUND_ALLOW_ORIGINS contains {o:?}, which is not an origin. List origins like http://10.0.0.7:9900, separated by commas."
                            ));
                            None
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let outbound_timeout_secs = r.number("OUTBOUND_TIMEOUT_SECS", 20u64, 1, 300);
        let shopify_api_version = match r.get("SHOPIFY_API_VERSION") {
            None => "2026-07".to_owned(),
            Some(v)
                if v.len() == 7
                    && v[..4].chars().all(|c| c.is_ascii_digit())
                    && &v[4..5] == "-"
                    && ["01", "04", "07", "10"].contains(&&v[5..]) =>
            {
                v
            }
            Some(v) => {
                r.problem(format!("SHOPIFY_API_VERSION is {v:?}. Use a Shopify release such as 2026-07 (YYYY-01, -04, -07 or -10)."));
                "2026-07".to_owned()
            }
        };
        let media_store = r
            .get("MEDIA_STORE")
            .unwrap_or_else(|| "./data/media".into());
        if let Some((scheme, rest)) = media_store.split_once("://") {
            let bucket = rest.split('/').next().unwrap_or_default();
            if scheme != "s3" || bucket.is_empty() {
                r.problem(format!(
                    "MEDIA_STORE is {media_store:?}. Use a folder such as ./data/media, or s3://bucket/prefix for S3-compatible storage."
                ));
            }
        }
        let media_max_image_bytes =
            r.byte_size("MEDIA_MAX_IMAGE_BYTES", 20_000_000, 200_000_000, "20MB");
        let media_max_video_bytes = r.byte_size(
            "MEDIA_MAX_VIDEO_BYTES",
            1_000_000_000,
            20_000_000_000,
            "1GB",
        );
        let gemini_api_key = r.get("GEMINI_API_KEY").map(SecretString::from);
        let gemini_model = r
            .get("GEMINI_MODEL")
            .unwrap_or_else(|| "gemini-3.5-flash".into());
        let gemini_timeout_secs = r.number("GEMINI_TIMEOUT_SECS", 30u64, 1, 600);
        let ai_rate_limit_per_hour = r.number("AI_RATE_LIMIT_PER_HOUR", 120u32, 1, 1_000_000);
        let metrics_token = r.get("METRICS_TOKEN").map(SecretString::from);
        let trust_proxy = r.bool("TRUST_PROXY", false);
        let rate_limit_per_minute = r.number("RATE_LIMIT_PER_MINUTE", 600u32, 10, 1_000_000);
        let api_rate_limit_per_minute = r.number("API_RATE_LIMIT_PER_MINUTE", 120u32, 1, 1_000_000);
        let worker_concurrency = r.number("WORKER_CONCURRENCY", 64usize, 1, 4096);
        let publish_lease_secs = r.number("PUBLISH_LEASE_SECS", 60u64, 5, 3600);
        let publish_max_attempts = r.number("PUBLISH_MAX_ATTEMPTS", 6u32, 1, 100);
        let publish_retry_base_secs = r.number("PUBLISH_RETRY_BASE_SECS", 30u64, 1, 3600);
        let shutdown_grace_secs = r.number("SHUTDOWN_GRACE_SECS", 25u64, 0, 3600);
        let publish_requeue_after_secs = r.number("PUBLISH_REQUEUE_AFTER_SECS", 30u64, 1, 3600);
        let catalog_sync_interval_mins =
            r.number("CATALOG_SYNC_INTERVAL_MINUTES", 60u64, 1, 7 * 24 * 60);
        let catalog_full_sync_hours = r.number("CATALOG_FULL_SYNC_HOURS", 24u64, 1, 24 * 30);
        let catalog_sync_lease_secs = r.number("CATALOG_SYNC_LEASE_SECS", 60u64, 2, 3600);
        let log_format = match r.get("LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                r.problem(format!(
                    "LOG_FORMAT is {other:?}. Use \"pretty\" or \"json\"."
                ));
                LogFormat::Pretty
            }
        };

        if !r.problems.is_empty() {
            return Err(ConfigErrors(r.problems));
        }
        Ok(Config {
            database_url,
            database_max_connections,
            redis_url,
            redis_key_prefix,
            host,
            port,
            public_base_url,
            oauth_callback_base_url,
            cors_origins,
            jwt_secret,
            encryption_keys,
            session_idle_timeout,
            session_absolute_lifetime,
            admin_user_ids,
            features,
            platforms,
            sandbox_url,
            outbound_allow_origins,
            outbound_timeout_secs,
            shopify_api_version,
            media_store,
            media_max_image_bytes,
            media_max_video_bytes,
            gemini_api_key,
            gemini_model,
            gemini_timeout_secs,
            ai_rate_limit_per_hour,
            metrics_token,
            trust_proxy,
            rate_limit_per_minute,
            api_rate_limit_per_minute,
            log_format,
            worker_concurrency,
            publish_lease_secs,
            publish_max_attempts,
            publish_retry_base_secs,
            shutdown_grace_secs,
            publish_requeue_after_secs,
            catalog_sync_interval_mins,
            catalog_full_sync_hours,
            catalog_sync_lease_secs,
        })
    }

    /// Cookies get `Secure` and responses get HSTS whenever we are served over https.
    pub fn is_https(&self) -> bool {
        self.public_base_url.scheme() == "https"
    }

    /// `scheme://host[:port]` of `PUBLIC_BASE_URL`, as browsers send it in `Origin`.
    pub fn public_origin(&self) -> String {
        origin_of(&self.public_base_url)
    }

    pub fn is_admin(&self, user_id: Uuid) -> bool {
        self.admin_user_ids.contains(&user_id)
    }

    /// An absolute URL under `PUBLIC_BASE_URL` for a local path such as `/login`.
    pub fn public_url(&self, path: &str) -> String {
        let base = self.public_base_url.as_str().trim_end_matches('/');
        format!("{base}{path}")
    }

    /// The OAuth app credentials for a platform: the configured ones, or — with `SANDBOX_URL`
    /// set — the sandbox's documented defaults (`sandbox-{platform}-client-id` / `-secret`).
    pub fn platform_credentials(&self, platform: Platform) -> Option<PlatformCredentials> {
        if let Some(c) = self.platforms.get(&platform) {
            return Some(c.clone());
        }
        self.sandbox_url.as_ref().map(|_| PlatformCredentials {
            client_id: format!("sandbox-{platform}-client-id"),
            client_secret: SecretString::from(format!("sandbox-{platform}-client-secret")),
        })
    }

    /// Where OAuth sends the person back for `platform`.
    pub fn oauth_redirect_uri(&self, platform: Platform) -> String {
        let base = self.oauth_callback_base_url.as_str().trim_end_matches('/');
        format!("{base}/oauth/{platform}/callback")
    }

    pub fn database_url(&self) -> &str {
        self.database_url.expose_secret()
    }

    pub fn redis_url(&self) -> &str {
        self.redis_url.expose_secret()
    }
}

/// `scheme://host[:port]` with the default port left out, as in an `Origin` header.
pub fn origin_of(url: &Url) -> String {
    url.origin().ascii_serialization()
}

fn parse_url(s: &str) -> Url {
    Url::parse(s).expect("a URL we format ourselves is valid")
}

struct Reader<'a> {
    src: &'a dyn Source,
    problems: Vec<String>,
}

impl Reader<'_> {
    /// A value, with empty strings treated as unset (as most PaaS dashboards produce them).
    fn get(&self, key: &str) -> Option<String> {
        self.src
            .get(key)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn problem(&mut self, p: String) {
        self.problems.push(p);
    }

    fn required_url(&mut self, key: &str, schemes: &[&str], what: &str) -> SecretString {
        match self.get(key) {
            None => {
                self.problem(format!("{key} is missing. Set it to the URL of {what}."));
                SecretString::from(String::new())
            }
            Some(v) => {
                match Url::parse(&v) {
                    Ok(u) if schemes.contains(&u.scheme()) => {}
                    // The URL may hold a password: describe it, never echo it.
                    _ => self.problem(format!(
                        "{key} is not a valid {} URL. Set it to the URL of {what}.",
                        schemes[0]
                    )),
                }
                SecretString::from(v)
            }
        }
    }

    fn optional_base_url(&mut self, key: &str) -> Option<Url> {
        let v = self.get(key)?;
        match Url::parse(&v) {
            Ok(u)
                if matches!(u.scheme(), "http" | "https")
                    && u.host().is_some()
                    && u.query().is_none()
                    && u.fragment().is_none() =>
            {
                Some(u)
            }
            _ => {
                self.problem(format!(
                    "{key} is {v:?}, which is not an http(s) base URL. Use a form like https://picscripter.example.com."
                ));
                None
            }
        }
    }

    fn number<T>(&mut self, key: &str, default: T, min: T, max: T) -> T
    where
        T: std::str::FromStr + PartialOrd + fmt::Display + Copy,
    {
        let Some(v) = self.get(key) else {
            return default;
        };
        match v.parse::<T>() {
            Ok(n) if n >= min && n <= max => n,
            _ => {
                self.problem(format!(
                    "{key} is {v:?}. Use a whole number from {min} to {max}."
                ));
                default
            }
        }
    }

    /// A size in bytes: a plain number, or with a unit (KB, MB, GB in thousands; KiB, MiB, GiB).
    fn byte_size(&mut self, key: &str, default: u64, max: u64, example: &str) -> u64 {
        let Some(v) = self.get(key) else {
            return default;
        };
        match parse_byte_size(&v) {
            Some(n) if n >= 1 && n <= max => n,
            _ => {
                self.problem(format!(
                    "{key} is {v:?}. Use a size from 1 byte to {}: bytes (20000000) or with a unit ({example}, 500KB, 2GiB).",
                    crate::media::human_size(max)
                ));
                default
            }
        }
    }

    fn bool(&mut self, key: &str, default: bool) -> bool {
        let Some(v) = self.get(key) else {
            return default;
        };
        parse_bool(&v).unwrap_or_else(|| {
            self.problem(format!("{key} is {v:?}. Use true or false."));
            default
        })
    }

    /// A feature flag, also accepted under its `VITE_` name from the seed project.
    fn flag(&mut self, key: &str, default: bool) -> bool {
        let alias = format!("VITE_{key}");
        let main = self.get(key);
        let vite = self.get(&alias);
        let parsed = |r: &mut Self, k: &str, v: &str| {
            parse_bool(v).or_else(|| {
                r.problem(format!("{k} is {v:?}. Use true or false."));
                None
            })
        };
        match (main, vite) {
            (None, None) => default,
            (Some(v), None) => parsed(self, key, &v).unwrap_or(default),
            (None, Some(v)) => parsed(self, &alias, &v).unwrap_or(default),
            (Some(a), Some(b)) => {
                let (x, y) = (parsed(self, key, &a), parsed(self, &alias, &b));
                match (x, y) {
                    (Some(x), Some(y)) if x != y => {
                        self.problem(format!(
                            "{key} and {alias} disagree ({a:?} vs {b:?}). Set only {key}."
                        ));
                        default
                    }
                    (Some(x), _) => x,
                    _ => default,
                }
            }
        }
    }

    fn duration(&mut self, key: &str, default: Duration, example: &str) -> Duration {
        let Some(v) = self.get(key) else {
            return default;
        };
        match parse_duration(&v) {
            Some(d) if d >= Duration::from_secs(60) => d,
            _ => {
                self.problem(format!(
                    "{key} is {v:?}. Use a duration of at least a minute: seconds (3600) or with a unit (45m, {example}, 7d)."
                ));
                default
            }
        }
    }

    fn key_ring(&mut self) -> KeyRing {
        let fallback = KeyRing {
            keys: BTreeMap::new(),
            current: 0,
        };
        let hint = "Set it to a JSON object of key ids and base64 keys of 32 bytes, e.g. {\"1\": \"<output of `openssl rand -base64 32`>\"}.";
        let raw = match self.get("ENCRYPTION_KEYS_JSON") {
            None => {
                self.problem(format!("ENCRYPTION_KEYS_JSON is missing. {hint}"));
                None
            }
            Some(v) => Some(v),
        };
        let current_raw = self.get("ENCRYPTION_KEY_CURRENT");
        let current = match current_raw.as_deref() {
            None => {
                self.problem("ENCRYPTION_KEY_CURRENT is missing. Set it to the id of the key new tokens are encrypted with, e.g. 1.".into());
                None
            }
            Some(v) => match v.parse::<u32>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    self.problem(format!(
                        "ENCRYPTION_KEY_CURRENT is {v:?}. Use the id of a key in ENCRYPTION_KEYS_JSON, a whole number such as 1."
                    ));
                    None
                }
            },
        };
        let Some(raw) = raw else { return fallback };
        let map: BTreeMap<String, String> = match serde_json::from_str(&raw) {
            Ok(m) => m,
            Err(_) => {
                self.problem(format!(
                    "ENCRYPTION_KEYS_JSON is not a JSON object of strings. {hint}"
                ));
                return fallback;
            }
        };
        if map.is_empty() {
            self.problem(format!("ENCRYPTION_KEYS_JSON has no keys. {hint}"));
            return fallback;
        }
        let mut keys = BTreeMap::new();
        for (id, b64) in map {
            let Ok(version) = id.parse::<u32>() else {
                self.problem(format!(
                    "ENCRYPTION_KEYS_JSON has a key named {id:?}. Key ids are whole numbers such as \"1\"."
                ));
                continue;
            };
            let decoded = base64::engine::general_purpose::STANDARD.decode(b64.trim());
            match decoded {
                Ok(bytes) if bytes.len() == 32 => {
                    let mut key = [0u8; 32];
                    key.copy_from_slice(&bytes);
                    keys.insert(version, std::sync::Arc::new(SecretBox::new(Box::new(key))));
                }
                Ok(bytes) => self.problem(format!(
                    "ENCRYPTION_KEYS_JSON key {id} is {} bytes long; it must be exactly 32 bytes, base64-encoded (`openssl rand -base64 32`).",
                    bytes.len()
                )),
                Err(_) => self.problem(format!(
                    "ENCRYPTION_KEYS_JSON key {id} is not valid base64. Generate one with `openssl rand -base64 32`."
                )),
            }
        }
        match current {
            Some(c) if keys.contains_key(&c) => KeyRing { keys, current: c },
            Some(c) => {
                if !keys.is_empty() {
                    self.problem(format!(
                        "ENCRYPTION_KEY_CURRENT is {c}, but ENCRYPTION_KEYS_JSON has no key {c}. Add it or name an existing key."
                    ));
                }
                fallback
            }
            None => fallback,
        }
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// `20000000`, `500KB`, `20MB`, `1GB` (powers of 1000) or `512KiB`, `20MiB`, `1GiB` (of 1024).
pub fn parse_byte_size(v: &str) -> Option<u64> {
    let v = v.trim();
    let (digits, unit) = match v.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => v.split_at(i),
        None => (v, ""),
    };
    let n: u64 = digits.parse().ok()?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "k" => 1_000,
        "mb" | "m" => 1_000_000,
        "gb" | "g" => 1_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// `3600`, `45s`, `30m`, `12h`, `7d`.
pub fn parse_duration(v: &str) -> Option<Duration> {
    let v = v.trim();
    let (digits, unit) = match v.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => v.split_at(i),
        None => (v, "s"),
    };
    let n: u64 = digits.parse().ok()?;
    let mult = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return None,
    };
    n.checked_mul(mult).map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> BTreeMap<String, String> {
        [
            ("DATABASE_URL", "postgres://postgres@127.0.0.1/picscripter"),
            ("REDIS_URL", "redis://127.0.0.1:6379"),
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef-and-more"),
            (
                "ENCRYPTION_KEYS_JSON",
                r#"{"1":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}"#,
            ),
            ("ENCRYPTION_KEY_CURRENT", "1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn a_minimal_environment_gives_sensible_defaults() {
        let c = Config::from_env(&base()).unwrap();
        assert_eq!(c.port, 8080);
        assert_eq!(c.public_base_url.as_str(), "http://localhost:8080/");
        assert!(!c.is_https());
        assert_eq!(c.session_idle_timeout, Duration::from_secs(12 * 3600));
        assert!(c.features.token_refresh && !c.features.ui_modern_chart);
        assert!(c.platforms.is_empty());
    }

    #[test]
    fn every_missing_required_variable_is_listed_at_once() {
        let err = Config::from_env(&BTreeMap::new()).unwrap_err();
        let text = err.to_string();
        for key in [
            "DATABASE_URL",
            "REDIS_URL",
            "JWT_SECRET",
            "ENCRYPTION_KEYS_JSON",
            "ENCRYPTION_KEY_CURRENT",
        ] {
            assert!(text.contains(key), "{key} not mentioned in:\n{text}");
        }
        assert_eq!(err.0.len(), 5, "{text}");
    }

    #[test]
    fn secrets_are_never_echoed_in_problems() {
        let mut env = base();
        env.insert("JWT_SECRET".into(), "hunter2-short".into());
        env.insert("DATABASE_URL".into(), "mysql://root:s3cr3tpw@db/app".into());
        env.insert("X_CLIENT_SECRET".into(), "xsecretvalue".into());
        let text = Config::from_env(&env).unwrap_err().to_string();
        assert!(
            !text.contains("hunter2")
                && !text.contains("s3cr3tpw")
                && !text.contains("xsecretvalue")
        );
        assert!(
            text.contains("X_CLIENT_ID is missing")
                || text.contains("X_CLIENT_SECRET is set but X_CLIENT_ID is missing")
        );
    }

    #[test]
    fn bad_keys_and_flags_are_explained() {
        let mut env = base();
        env.insert("ENCRYPTION_KEYS_JSON".into(), r#"{"1":"c2hvcnQ="}"#.into());
        env.insert("ENCRYPTION_KEY_CURRENT".into(), "2".into());
        env.insert("METRICS_ENGAGEMENT".into(), "maybe".into());
        env.insert("FEATURE_TOKEN_REFRESH".into(), "true".into());
        env.insert("VITE_FEATURE_TOKEN_REFRESH".into(), "false".into());
        let problems = Config::from_env(&env).unwrap_err().0;
        assert!(problems.iter().any(|p| p.contains("5 bytes long")));
        assert!(
            problems
                .iter()
                .any(|p| p.contains("METRICS_ENGAGEMENT is \"maybe\""))
        );
        assert!(problems.iter().any(|p| p.contains("disagree")));
    }

    #[test]
    fn vite_aliases_set_feature_flags() {
        let mut env = base();
        env.insert("VITE_UI_MODERN_CHART".into(), "on".into());
        assert!(Config::from_env(&env).unwrap().features.ui_modern_chart);
    }

    #[test]
    fn the_oauth_callback_must_be_an_allowed_origin() {
        let mut env = base();
        env.insert("PUBLIC_BASE_URL".into(), "https://app.example.com".into());
        env.insert(
            "OAUTH_CALLBACK_BASE_URL".into(),
            "https://evil.example.net".into(),
        );
        assert!(
            Config::from_env(&env)
                .unwrap_err()
                .to_string()
                .contains("not an allowed origin")
        );
        env.insert("CORS_ORIGIN".into(), "https://evil.example.net".into());
        assert!(Config::from_env(&env).is_ok());
    }

    #[test]
    fn media_limits_accept_units_and_refuse_nonsense() {
        let mut env = base();
        let c = Config::from_env(&env).unwrap();
        assert_eq!(c.media_max_image_bytes, 20_000_000);
        assert_eq!(c.media_max_video_bytes, 1_000_000_000);
        env.insert("MEDIA_MAX_IMAGE_BYTES".into(), "5MiB".into());
        env.insert("MEDIA_MAX_VIDEO_BYTES".into(), "2GB".into());
        let c = Config::from_env(&env).unwrap();
        assert_eq!(c.media_max_image_bytes, 5 * 1024 * 1024);
        assert_eq!(c.media_max_video_bytes, 2_000_000_000);
        env.insert("MEDIA_MAX_IMAGE_BYTES".into(), "0".into());
        env.insert("MEDIA_MAX_VIDEO_BYTES".into(), "lots".into());
        env.insert("MEDIA_STORE".into(), "ftp://files.example.com/media".into());
        let problems = Config::from_env(&env).unwrap_err().0;
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("MEDIA_STORE"));
    }

    #[test]
    fn outbound_allow_origins_are_origins_and_anything_else_is_named() {
        let mut env = base();
        let c = Config::from_env(&env).unwrap();
        assert!(c.outbound_allow_origins.is_empty());
        assert_eq!(c.outbound_timeout_secs, 20);
        env.insert(
            "OUTBOUND_ALLOW_ORIGINS".into(),
            " http://127.0.0.1:9900, https://assets.internal ".into(),
        );
        let c = Config::from_env(&env).unwrap();
        let origins: Vec<String> = c.outbound_allow_origins.iter().map(origin_of).collect();
        assert_eq!(
            origins,
            ["http://127.0.0.1:9900", "https://assets.internal"]
        );
        env.insert(
            "OUTBOUND_ALLOW_ORIGINS".into(),
            "http://10.0.0.7:9900/hooks,ftp://files.internal".into(),
        );
        let problems = Config::from_env(&env).unwrap_err().0;
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("\"http://10.0.0.7:9900/hooks\", which is not an origin"));
    }

    #[test]
    fn durations_accept_units() {
        assert_eq!(parse_duration("3600"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("45m"), Some(Duration::from_secs(2700)));
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(604800)));
        assert_eq!(parse_duration("soon"), None);
    }
}
