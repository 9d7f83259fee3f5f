//! The test harness: each test gets its own Postgres database (cloned from a migrated template,
//! so it costs milliseconds), its own Redis key prefix, and the real app on port 0, reached over
//! HTTP with a cookie-keeping client that does not follow redirects.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use picscripter::app::Application;
use picscripter::config::Config;
use picscripter::state::AppState;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Client, Response, StatusCode};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use tokio::sync::oneshot;

pub const JWT_SECRET: &str = "test-signing-secret-that-is-long-enough-0123456789";
/// 32 zero bytes, base64: a fixed key so tests are reproducible.
pub const KEY_1: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
pub const PASSWORD: &str = "correct horse battery staple";

pub fn server_url() -> String {
    std::env::var("TEST_DATABASE_SERVER_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn db_url(name: &str) -> String {
    format!("{}/{name}", server_url())
}

/// A fingerprint of the migrations' source, so the template is rebuilt whenever they change.
fn migrations_fingerprint() -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migration/src");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("migration/src is readable")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    files.sort();
    let mut all = Vec::new();
    for f in files {
        all.extend(f.file_name().unwrap().to_string_lossy().as_bytes());
        all.extend(std::fs::read(&f).expect("migration file is readable"));
    }
    picscripter::security::sha256_hex(&all)[..16].to_owned()
}

async fn admin_db() -> DatabaseConnection {
    Database::connect(db_url("postgres"))
        .await
        .expect("Postgres is reachable for tests")
}

async fn exec(db: &DatabaseConnection, sql: &str) -> Result<(), sea_orm::DbErr> {
    db.execute_unprepared(sql).await.map(|_| ())
}

/// Ensures the migrated template database exists (one process builds it; the rest wait on an
/// advisory lock), sweeps databases left behind by crashed runs, and clones a fresh database.
pub async fn fresh_database() -> String {
    let template = format!("picscripter_tpl_{}", migrations_fingerprint());
    let admin = admin_db().await;
    exec(&admin, "SELECT pg_advisory_lock(7426001)")
        .await
        .unwrap();
    let exists = admin
        .query_one_raw(Statement::from_string(
            admin.get_database_backend(),
            format!("SELECT 1 FROM pg_database WHERE datname = '{template}'"),
        ))
        .await
        .unwrap()
        .is_some();
    if !exists {
        let rows = admin
            .query_all_raw(Statement::from_string(
                admin.get_database_backend(),
                "SELECT datname FROM pg_database WHERE datname LIKE 'picscripter_tpl_%'".to_owned(),
            ))
            .await
            .unwrap();
        for r in rows {
            let name: String = r.try_get("", "datname").unwrap();
            let _ = exec(
                &admin,
                &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            )
            .await;
        }
        exec(&admin, &format!("CREATE DATABASE \"{template}\""))
            .await
            .unwrap();
        picscripter::db::migrate(&db_url(&template))
            .await
            .expect("migrating the template works");
    }
    // Databases of runs that crashed more than two hours ago.
    let cutoff = chrono::Utc::now().timestamp() - 7200;
    let rows = admin
        .query_all_raw(Statement::from_string(
            admin.get_database_backend(),
            "SELECT datname FROM pg_database WHERE datname LIKE 'picscripter_test_%'".to_owned(),
        ))
        .await
        .unwrap();
    for r in rows {
        let name: String = r.try_get("", "datname").unwrap();
        let stamp = name
            .split('_')
            .nth(2)
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(i64::MAX);
        if stamp < cutoff {
            let _ = exec(
                &admin,
                &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            )
            .await;
        }
    }
    exec(&admin, "SELECT pg_advisory_unlock(7426001)")
        .await
        .unwrap();

    let name = format!(
        "picscripter_test_{}_{}",
        chrono::Utc::now().timestamp(),
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    let mut attempts = 0;
    loop {
        match exec(
            &admin,
            &format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""),
        )
        .await
        {
            Ok(()) => break,
            // Another process may be cloning at this very moment; try again shortly.
            Err(e) if attempts < 50 && e.to_string().contains("being accessed by other users") => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("couldn't create the test database: {e}"),
        }
    }
    admin.close().await.ok();
    name
}

/// An empty database with no tables, for tests of what happens before `migrate`.
pub async fn empty_database() -> String {
    let admin = admin_db().await;
    let name = format!(
        "picscripter_test_{}_{}",
        chrono::Utc::now().timestamp(),
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    exec(&admin, &format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap();
    admin.close().await.ok();
    name
}

pub fn drop_database_blocking(name: String) {
    // Drop runs outside any runtime (in Drop), so use a small one of our own on a thread.
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            if let Ok(admin) = Database::connect(db_url("postgres")).await {
                let _ = exec(
                    &admin,
                    &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
                )
                .await;
                admin.close().await.ok();
            }
        });
    })
    .join();
}

/// The environment a test app starts with; tests may change it before spawning.
pub fn base_env(db_name: &str, prefix: &str) -> BTreeMap<String, String> {
    [
        ("DATABASE_URL", db_url(db_name)),
        ("DATABASE_MAX_CONNECTIONS", "5".into()),
        ("REDIS_URL", redis_url()),
        ("REDIS_KEY_PREFIX", prefix.to_owned()),
        ("JWT_SECRET", JWT_SECRET.into()),
        ("ENCRYPTION_KEYS_JSON", format!("{{\"1\":\"{KEY_1}\"}}")),
        ("ENCRYPTION_KEY_CURRENT", "1".into()),
        ("HOST", "127.0.0.1".into()),
        // Tests click fast; the per-address ceiling has its own test.
        ("RATE_LIMIT_PER_MINUTE", "600000".into()),
        ("API_RATE_LIMIT_PER_MINUTE", "600000".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The platform sandbox, running in this test process on its own port.
pub struct TestSandbox {
    pub url: String,
    pub client: Client,
    /// The emulator itself, for what has no HTTP shortcut in these helpers (Gemini's faults
    /// and requests).
    pub sandbox: picscripter::sandbox::Sandbox,
    _stop: oneshot::Sender<()>,
}

impl TestSandbox {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A sandbox with its configuration changed by `customize` (products per shop, limits…).
    pub async fn start_with(
        customize: impl FnOnce(&mut picscripter::sandbox::SandboxConfig),
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let mut config = picscripter::sandbox::SandboxConfig::new(url.parse().unwrap());
        customize(&mut config);
        let sandbox = picscripter::sandbox::Sandbox::new(config);
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(picscripter::sandbox::serve(
            sandbox.clone(),
            listener,
            async move {
                let _ = rx.await;
            },
        ));
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            url,
            client,
            sandbox,
            _stop: tx,
        }
    }

    /// Requests the sandbox recorded for a platform.
    pub async fn requests(&self, platform: &str) -> Vec<serde_json::Value> {
        let res = self
            .client
            .get(format!(
                "{}/_sandbox/requests?platform={platform}",
                self.url
            ))
            .send()
            .await
            .unwrap();
        let json: serde_json::Value = res.json().await.unwrap();
        json.as_array()
            .cloned()
            .or_else(|| json.get("requests").and_then(|r| r.as_array()).cloned())
            .unwrap_or_default()
    }

    pub async fn fault(&self, fault: serde_json::Value) {
        let res = self
            .client
            .post(format!("{}/_sandbox/faults", self.url))
            .json(&fault)
            .send()
            .await
            .unwrap();
        assert!(
            res.status().is_success(),
            "fault accepted: {}",
            res.text().await.unwrap()
        );
    }

    /// What the platform accepted for publication (all platforms when `platform` is empty).
    pub async fn published(&self, platform: &str) -> Vec<serde_json::Value> {
        let res = self
            .client
            .get(format!(
                "{}/_sandbox/published?platform={platform}",
                self.url
            ))
            .send()
            .await
            .unwrap();
        let json: serde_json::Value = res.json().await.unwrap();
        json.as_array()
            .cloned()
            .or_else(|| json.get("published").and_then(|r| r.as_array()).cloned())
            .unwrap_or_default()
    }

    /// How many publications were extra copies of another (0 means nothing went out twice).
    pub async fn extra_publications(&self) -> u64 {
        let res = self
            .client
            .get(format!("{}/_sandbox/published/duplicates", self.url))
            .send()
            .await
            .unwrap();
        let json: serde_json::Value = res.json().await.unwrap();
        json["extra_publications"].as_u64().unwrap()
    }

    pub async fn advance_clock(&self, secs: i64) {
        let res = self
            .client
            .post(format!("{}/_sandbox/clock", self.url))
            .json(&serde_json::json!({ "advance_secs": secs }))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
    }
}

/// A `picscripter-worker` running in this test process against an app's database and Redis.
pub struct TestWorker {
    stop: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

impl TestWorker {
    /// Stops it the way SIGTERM does, and waits until it has.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
    }

    /// Kills it on the spot, as a crash or `kill -9` would: nothing is handed back.
    pub fn kill(mut self) {
        if let Some(h) = self.handle.take() {
            h.abort();
        }
    }
}

impl Drop for TestWorker {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.abort();
        }
    }
}

impl TestApp {
    /// Saves a connection of `platform` named `name` for `user` as connecting it would (a plain
    /// token, no metadata); returns its id.
    pub async fn saved_connection(
        &self,
        user: uuid::Uuid,
        platform: picscripter::domain::Platform,
        name: &str,
    ) -> uuid::Uuid {
        self.state
            .connections
            .save_connected(
                user,
                platform,
                &picscripter::platforms::RemoteAccount {
                    account_id: format!("{name}-{}", uuid::Uuid::new_v4().simple()),
                    display_name: name.into(),
                    avatar_url: None,
                    access_token: None,
                    metadata: serde_json::json!({}),
                },
                &picscripter::platforms::TokenSet {
                    access_token: secrecy::SecretString::from("t".to_owned()),
                    refresh_token: None,
                    expires_at: None,
                    refresh_expires_at: None,
                    scopes: vec![],
                },
                None,
            )
            .await
            .unwrap()
            .0
            .id
    }

    /// Starts a worker with the app's configuration.
    pub fn spawn_worker(&self) -> TestWorker {
        self.spawn_worker_with(|_| {})
    }

    pub fn spawn_worker_with(
        &self,
        customize: impl FnOnce(&mut BTreeMap<String, String>),
    ) -> TestWorker {
        let mut env = self.env.clone();
        customize(&mut env);
        let config = Config::from_env(&env).expect("the worker configuration is valid");
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            picscripter::worker::run(config, async move {
                let _ = rx.await;
            })
            .await
            .expect("the worker runs");
        });
        TestWorker {
            stop: Some(tx),
            handle: Some(handle),
        }
    }
}

/// Waits until `check` holds, polling; fails the test with `what` after `limit`.
pub async fn eventually<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = std::time::Instant::now();
    loop {
        if check().await {
            return;
        }
        if start.elapsed() > limit {
            panic!("timed out after {limit:?} waiting until {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An app pointed at an in-process sandbox.
pub async fn spawn_app_with_sandbox() -> (TestApp, TestSandbox) {
    spawn_app_with_sandbox_config(|_| {}).await
}

/// An app pointed at an in-process sandbox configured by `customize`.
pub async fn spawn_app_with_sandbox_config(
    customize: impl FnOnce(&mut picscripter::sandbox::SandboxConfig),
) -> (TestApp, TestSandbox) {
    let sandbox = TestSandbox::start_with(customize).await;
    let url = sandbox.url.clone();
    let app = spawn_app_with(move |env| {
        env.insert("SANDBOX_URL".into(), url);
    })
    .await;
    (app, sandbox)
}

/// An app pointed at an in-process sandbox, with a media store of its own (removed when the
/// returned directory is dropped), its environment further adjusted by `customize`.
pub async fn spawn_app_with_sandbox_and_media(
    customize: impl FnOnce(&mut BTreeMap<String, String>),
) -> (TestApp, TestSandbox, tempfile::TempDir) {
    let sandbox = TestSandbox::start().await;
    let media = tempfile::tempdir().unwrap();
    let (url, path) = (
        sandbox.url.clone(),
        media.path().to_string_lossy().into_owned(),
    );
    let app = spawn_app_with(move |env| {
        env.insert("SANDBOX_URL".into(), url);
        env.insert("MEDIA_STORE".into(), path);
        customize(env);
    })
    .await;
    (app, sandbox, media)
}

pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub jar: Arc<reqwest::cookie::Jar>,
    pub db: DatabaseConnection,
    pub db_name: String,
    pub state: AppState,
    pub env: BTreeMap<String, String>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Spawns the app after letting the test adjust its environment.
pub async fn spawn_app_with(customize: impl FnOnce(&mut BTreeMap<String, String>)) -> TestApp {
    spawn_app_with_dns(customize, None).await
}

/// Spawns the app; with `dns`, user-supplied addresses are looked up there instead of the system.
pub async fn spawn_app_with_dns(
    customize: impl FnOnce(&mut BTreeMap<String, String>),
    dns: Option<Arc<dyn picscripter::net::Resolver>>,
) -> TestApp {
    let db_name = fresh_database().await;
    let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut env = base_env(&db_name, &prefix);
    env.insert("PORT".into(), addr.port().to_string());
    env.insert(
        "PUBLIC_BASE_URL".into(),
        format!("http://127.0.0.1:{}", addr.port()),
    );
    customize(&mut env);
    let config = Config::from_env(&env).expect("the test configuration is valid");
    let mut app = Application::with_listener(config, listener)
        .await
        .expect("the app builds");
    if let Some(dns) = dns {
        app.use_outbound_resolver(dns);
    }
    let state = app.state().clone();
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        app.run_until(async move {
            let _ = rx.await;
        })
        .await
        .expect("the server runs");
    });
    let db = Database::connect(db_url(&db_name)).await.unwrap();
    let (client, jar) = new_client();
    TestApp {
        base: format!("http://127.0.0.1:{}", addr.port()),
        client,
        jar,
        db,
        db_name,
        state,
        env,
        shutdown: Some(tx),
        server: Some(server),
    }
}

pub fn new_client() -> (Client, Arc<reqwest::cookie::Jar>) {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let client = Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    (client, jar)
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
        drop_database_blocking(self.db_name.clone());
    }
}

/// The CSRF token in a page's `<meta name="csrf-token">`.
pub fn csrf_of(html: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(r#"meta[name="csrf-token"]"#).unwrap();
    doc.select(&sel)
        .next()
        .and_then(|m| m.value().attr("content"))
        .expect("the page carries a CSRF token")
        .to_owned()
}

/// The texts of the elements matching a CSS selector.
pub fn texts(html: &str, selector: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(selector).unwrap();
    doc.select(&sel)
        .map(|e| {
            e.text()
                .collect::<String>()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

pub fn location(res: &Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn get_html(&self, path: &str) -> (StatusCode, String) {
        let res = self.get(path).await;
        let status = res.status();
        (status, res.text().await.unwrap())
    }

    /// A CSRF token for this client's session, from a page it can see.
    pub async fn csrf(&self) -> String {
        let (status, mut html) = self.get_html("/login").await;
        if status == StatusCode::SEE_OTHER {
            // Logged in: the login form redirects, so read the token from a page of the app.
            html = self.get_html("/settings").await.1;
        }
        csrf_of(&html)
    }

    /// Posts a form the way a browser does: same-origin, with the session's CSRF token added.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.csrf().await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        self.client
            .post(self.url(path))
            .headers(same_origin_headers(&self.base))
            .form(&all)
            .send()
            .await
            .unwrap()
    }

    pub async fn signup(&self, email: &str, password: &str) -> Response {
        self.post_form(
            "/signup",
            &[
                ("email", email),
                ("password", password),
                ("time_zone", "Europe/Berlin"),
            ],
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post_form("/login", &[("email", email), ("password", password)])
            .await
    }

    /// Signs up a fresh user and stays logged in; returns the e-mail used.
    pub async fn signed_up_user(&self) -> String {
        let email = format!(
            "seller-{}@example.com",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let res = self.signup(&email, PASSWORD).await;
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "sign-up should succeed"
        );
        // Land on the dashboard as a browser would, seeing the welcome message there.
        self.get_html("/dashboard").await;
        email
    }

    /// The value of a cookie this client holds for the app, if any.
    pub fn cookie(&self, name: &str) -> Option<String> {
        use reqwest::cookie::CookieStore as _;
        let url: reqwest::Url = self.base.parse().unwrap();
        let header: HeaderValue = self.jar.cookies(&url)?;
        header
            .to_str()
            .ok()?
            .split("; ")
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")).map(str::to_owned))
    }

    /// Another web process on the same database and Redis prefix, with a changed environment,
    /// and a browser pointed at it. It stops when the returned value is dropped.
    pub async fn sibling(&self, customize: impl FnOnce(&mut BTreeMap<String, String>)) -> Browser {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut env = self.env.clone();
        env.insert("PORT".into(), port.to_string());
        env.insert("PUBLIC_BASE_URL".into(), format!("http://127.0.0.1:{port}"));
        customize(&mut env);
        let config = Config::from_env(&env).expect("the sibling configuration is valid");
        let app = Application::with_listener(config, listener)
            .await
            .expect("the sibling app builds");
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(app.run_until(async move {
            let _ = rx.await;
        }));
        let (client, jar) = new_client();
        Browser {
            base: format!("http://127.0.0.1:{port}"),
            client,
            _jar: jar,
            _stop: Some(tx),
        }
    }

    /// Another browser: a new cookie jar against the same app.
    pub fn second_browser(&self) -> Browser {
        let (client, jar) = new_client();
        Browser {
            base: self.base.clone(),
            client,
            _jar: jar,
            _stop: None,
        }
    }

    /// The newest user's id.
    pub async fn newest_user_id(&self) -> uuid::Uuid {
        self.scalar_string("SELECT id::text FROM users ORDER BY created_at DESC LIMIT 1")
            .await
            .expect("a user exists")
            .parse()
            .unwrap()
    }

    /// A fresh personal API token of `user`, in plain text.
    pub async fn api_token_of(&self, user: uuid::Uuid) -> String {
        use secrecy::ExposeSecret as _;
        picscripter::security::api_tokens::create(&self.db, user, "tests")
            .await
            .unwrap()
            .plaintext
            .expose_secret()
            .to_owned()
    }

    pub async fn user_count(&self) -> i64 {
        self.scalar_i64("SELECT count(*) FROM users").await
    }

    pub async fn scalar_i64(&self, sql: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                self.db.get_database_backend(),
                sql.to_owned(),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    }

    pub async fn scalar_string(&self, sql: &str) -> Option<String> {
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                self.db.get_database_backend(),
                sql.to_owned(),
            ))
            .await
            .unwrap()?;
        row.try_get_by_index::<Option<String>>(0).unwrap()
    }

    /// Records a worker heartbeat, as a running worker would.
    pub async fn worker_beats(&self) {
        picscripter::jobs::heartbeat::beat(&self.state.redis, "test-worker")
            .await
            .unwrap();
    }
}

/// A second browser session against a running app.
pub struct Browser {
    pub base: String,
    pub client: Client,
    _jar: Arc<reqwest::cookie::Jar>,
    _stop: Option<oneshot::Sender<()>>,
}

impl Browser {
    pub async fn get_html(&self, path: &str) -> (StatusCode, String) {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = res.status();
        (status, res.text().await.unwrap())
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let (status, mut html) = self.get_html("/login").await;
        if status == StatusCode::SEE_OTHER {
            html = self.get_html("/settings").await.1;
        }
        let token = csrf_of(&html);
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        self.client
            .post(format!("{}{path}", self.base))
            .headers(same_origin_headers(&self.base))
            .form(&all)
            .send()
            .await
            .unwrap()
    }
}

pub fn same_origin_headers(base: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("origin", HeaderValue::from_str(base).unwrap());
    h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
    h
}
