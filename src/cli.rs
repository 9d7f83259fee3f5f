//! The `picscripter` command line: `serve` (the default), `migrate`, `dev`, `create-user` and
//! `create-api-token`. Each command loads `.env` if present, validates configuration, and
//! reports failures in one plain message with a non-zero exit code.

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use base64::Engine as _;
use chrono::Utc;
use clap::{Parser, Subcommand};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ActiveModelTrait as _, EntityTrait as _, QueryFilter as _, Set, SqlErr};
use secrecy::ExposeSecret as _;
use uuid::Uuid;

use crate::app::Application;
use crate::config::{Config, ProcessEnv, Source};
use crate::domain::{Email, NewPassword, TimeZone};
use crate::entities::users;

#[derive(Parser)]
#[command(
    name = "picscripter",
    version,
    about = "Picscripter: social posts from your shop, scheduled and published."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (the default).
    Serve,
    /// Apply database migrations (needs only DATABASE_URL).
    Migrate,
    /// Everything a laptop needs in one command: create the database, migrate, and run the web
    /// server and the worker together, filling in local defaults for missing settings.
    Dev,
    /// Create an account. The password is read from standard input.
    CreateUser {
        #[arg(long)]
        email: String,
        /// IANA time zone, e.g. Europe/Berlin.
        #[arg(long, default_value = "UTC")]
        time_zone: String,
    },
    /// Create a personal API token for an account and print it once.
    CreateApiToken {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
    },
    /// Re-encrypt every stored platform token under ENCRYPTION_KEY_CURRENT. Resumable and
    /// safe to run twice.
    RotateKeys,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let _ = dotenvy::dotenv();
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
    let result = runtime.block_on(async {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve().await,
            Command::Migrate => migrate().await,
            Command::Dev => dev().await,
            Command::CreateUser { email, time_zone } => create_user(&email, &time_zone).await,
            Command::CreateApiToken { email, name } => create_api_token(&email, &name).await,
            Command::RotateKeys => rotate_keys().await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(config_errors) = e.downcast_ref::<crate::config::ConfigErrors>() {
                eprintln!("{config_errors}");
                return ExitCode::from(2);
            }
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Loads and validates configuration, then starts logging in the configured format.
pub fn load_config(src: &dyn Source) -> anyhow::Result<Config> {
    let config = Config::from_env(src)?;
    crate::telemetry::init(config.log_format);
    Ok(config)
}

async fn serve() -> anyhow::Result<()> {
    let config = load_config(&ProcessEnv)?;
    let app = Application::build(config).await?;
    tracing::info!(address = %app.local_addr(), url = %app.state().config.public_base_url, "web server listening");
    app.run_until(crate::worker::shutdown_signal()).await
}

async fn migrate() -> anyhow::Result<()> {
    crate::telemetry::init(crate::config::LogFormat::Pretty);
    let url = std::env::var("DATABASE_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .context("DATABASE_URL is missing. Set it to the URL of your Postgres database.")?;
    let applied = crate::db::migrate(&url).await?;
    println!("Database is up to date ({applied} migration(s) applied).");
    Ok(())
}

async fn create_user(email: &str, time_zone: &str) -> anyhow::Result<()> {
    let config = load_config(&ProcessEnv)?;
    let email = Email::parse(email).map_err(anyhow::Error::msg)?;
    let tz = TimeZone::parse(time_zone).map_err(|_| {
        anyhow::anyhow!("{time_zone:?} is not an IANA time zone such as Europe/Berlin")
    })?;
    let mut raw = String::new();
    std::io::stdin()
        .read_to_string(&mut raw)
        .context("couldn't read the password from standard input")?;
    let password = raw
        .strip_suffix('\n')
        .map(|s| s.strip_suffix('\r').unwrap_or(s))
        .unwrap_or(&raw);
    let password = NewPassword::parse(password, Some(&email)).map_err(anyhow::Error::msg)?;

    let db = crate::db::connect(&config).await?;
    crate::db::ensure_migrated(&db).await?;
    let passwords = crate::security::passwords::Passwords::new().await?;
    let now = Utc::now();
    let inserted = users::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email.as_str().to_owned()),
        password_hash: Set(passwords.hash(password.expose()).await?),
        time_zone: Set(tz.name().to_owned()),
        session_epoch: Set(0),
        utm_campaign: sea_orm::ActiveValue::NotSet,
        disabled_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        last_login_at: Set(None),
    }
    .insert(&db)
    .await;
    match inserted {
        Ok(user) => {
            crate::security::audit::record(
                &db,
                crate::security::audit::Event::new(crate::security::audit::Action::SignedUp)
                    .actor(user.id)
                    .subject(&user.email)
                    .details(serde_json::json!({ "via": "cli" })),
            )
            .await?;
            println!("Created {} (user id {}).", user.email, user.id);
            Ok(())
        }
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            anyhow::bail!("there is already an account with the e-mail address {email}")
        }
        Err(e) => Err(e.into()),
    }
}

async fn create_api_token(email: &str, name: &str) -> anyhow::Result<()> {
    let config = load_config(&ProcessEnv)?;
    let email = Email::parse(email).map_err(anyhow::Error::msg)?;
    let name = crate::security::api_tokens::validate_name(name).map_err(anyhow::Error::msg)?;
    let db = crate::db::connect(&config).await?;
    crate::db::ensure_migrated(&db).await?;
    let user = users::Entity::find()
        .filter(ExprTrait::eq(
            Expr::expr(Func::lower(Expr::col(users::Column::Email))),
            email.as_str(),
        ))
        .one(&db)
        .await?
        .with_context(|| format!("there is no account with the e-mail address {email}"))?;
    let token = crate::security::api_tokens::create(&db, user.id, &name).await?;
    crate::security::audit::record(
        &db,
        crate::security::audit::Event::new(crate::security::audit::Action::ApiTokenCreated)
            .actor(user.id)
            .subject(&token.model.token_prefix)
            .details(serde_json::json!({ "name": name, "via": "cli" })),
    )
    .await?;
    eprintln!(
        "API token {name:?} for {email}. It is shown only this once; keep it somewhere safe:"
    );
    println!("{}", token.plaintext.expose_secret());
    std::io::stdout().flush().ok();
    Ok(())
}

async fn rotate_keys() -> anyhow::Result<()> {
    let config = load_config(&ProcessEnv)?;
    let db = crate::db::connect(&config).await?;
    crate::db::ensure_migrated(&db).await?;
    let cipher = crate::security::cipher::TokenCipher::new(config.encryption_keys.clone());
    let report = crate::connections::rotate::rotate_keys(&db, &cipher, None).await?;
    println!(
        "Re-encrypted {} connection(s) under key {}.{}",
        report.rotated,
        cipher.current_version(),
        if report.unreadable > 0 {
            format!(
                " {} could not be read with any configured key; they now ask their owners to reconnect.",
                report.unreadable
            )
        } else {
            String::new()
        }
    );
    let hooks = crate::webhooks::rotate_secrets(&db, &cipher).await?;
    println!(
        "Re-encrypted {} webhook secret(s).{}",
        hooks.rotated,
        if hooks.unreadable > 0 {
            format!(
                " {} could not be read with any configured key; those endpoints are switched off and must be added again.",
                hooks.unreadable
            )
        } else {
            String::new()
        }
    );
    Ok(())
}

// ---- dev ----

/// Settings `dev` fills in when they are missing: local services, and secrets generated once
/// and saved to `.env` so sessions and encrypted tokens survive restarts.
fn dev_defaults(env_file: &Path) -> anyhow::Result<(HashMap<String, String>, bool)> {
    let mut set = HashMap::new();
    let mut to_save = Vec::new();
    let missing = |k: &str| {
        std::env::var(k)
            .map(|v| v.trim().is_empty())
            .unwrap_or(true)
    };

    if missing("DATABASE_URL") {
        set.insert(
            "DATABASE_URL".into(),
            "postgres://postgres@127.0.0.1:5432/picscripter".into(),
        );
    }
    if missing("REDIS_URL") {
        set.insert("REDIS_URL".into(), "redis://127.0.0.1:6379".into());
    }
    // Without any platform credentials, every platform is the built-in sandbox.
    let any_credentials = crate::domain::Platform::ALL
        .iter()
        .any(|p| !missing(&format!("{}_CLIENT_ID", p.env_prefix())));
    let run_sandbox = !any_credentials;
    if run_sandbox && missing("SANDBOX_URL") {
        let port = std::env::var("SANDBOX_PORT")
            .ok()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "9900".into());
        set.insert("SANDBOX_URL".into(), format!("http://127.0.0.1:{port}"));
    }
    if missing("JWT_SECRET") {
        let secret = crate::security::random_token(48);
        to_save.push(("JWT_SECRET", secret.clone()));
        set.insert("JWT_SECRET".into(), secret);
    }
    if missing("ENCRYPTION_KEYS_JSON") && missing("ENCRYPTION_KEY_CURRENT") {
        use rand::RngCore as _;
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        let json = format!(
            "{{\"1\":\"{}\"}}",
            base64::engine::general_purpose::STANDARD.encode(key)
        );
        to_save.push(("ENCRYPTION_KEYS_JSON", format!("'{json}'")));
        to_save.push(("ENCRYPTION_KEY_CURRENT", "1".into()));
        set.insert("ENCRYPTION_KEYS_JSON".into(), json);
        set.insert("ENCRYPTION_KEY_CURRENT".into(), "1".into());
    }
    if !to_save.is_empty() {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(env_file)
            .with_context(|| {
                format!("couldn't write generated secrets to {}", env_file.display())
            })?;
        writeln!(
            file,
            "\n# Generated by `picscripter dev` on {}: local secrets, never commit them.",
            Utc::now().format("%Y-%m-%d")
        )?;
        for (k, v) in &to_save {
            writeln!(file, "{k}={v}")?;
        }
        eprintln!(
            "Generated local secrets ({}) and saved them to {}.",
            to_save
                .iter()
                .map(|(k, _)| *k)
                .collect::<Vec<_>>()
                .join(", "),
            env_file.display()
        );
    }
    Ok((set, run_sandbox))
}

/// Runs the platform sandbox in this process at `url` (a local address).
async fn start_sandbox(
    url: url::Url,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<url::Url> {
    let host = url.host_str().unwrap_or("127.0.0.1");
    anyhow::ensure!(
        matches!(host, "127.0.0.1" | "localhost" | "[::1]"),
        "SANDBOX_URL points to {host}; `dev` only starts a sandbox on this machine (use 127.0.0.1)"
    );
    let port = url.port_or_known_default().unwrap_or(9900);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("couldn't start the platform sandbox on port {port}; set SANDBOX_PORT to a free port"))?;
    let sandbox = crate::sandbox::Sandbox::new(crate::sandbox::SandboxConfig::new(url.clone()));
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = crate::sandbox::serve(sandbox, listener, shutdown).await {
            tracing::error!(error = %e, "the platform sandbox stopped");
        }
    });
    Ok(url)
}

struct Layered {
    overrides: HashMap<String, String>,
}

impl Source for Layered {
    fn get(&self, key: &str) -> Option<String> {
        std::env::var(key)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .or_else(|| self.overrides.get(key).cloned())
    }
}

async fn dev() -> anyhow::Result<()> {
    let (overrides, run_sandbox) = dev_defaults(Path::new(".env"))?;
    let config = load_config(&Layered { overrides })?;

    let created = crate::db::create_database_if_missing(config.database_url()).await?;
    if created {
        tracing::info!("created the database");
    }
    let applied = crate::db::migrate(config.database_url()).await?;
    tracing::info!(applied, "database migrated");

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let sandbox = match (&config.sandbox_url, run_sandbox) {
        (Some(url), true) => Some(start_sandbox(url.clone(), stop_rx.clone()).await?),
        _ => None,
    };
    let worker_config = config.clone();
    let mut worker_stop = stop_rx.clone();
    let worker = tokio::spawn(async move {
        crate::worker::run(worker_config, async move {
            let _ = worker_stop.wait_for(|s| *s).await;
        })
        .await
    });

    let app = Application::build(config).await?;
    let url = app.state().config.public_base_url.clone();
    let addr = app.local_addr();
    println!();
    println!("  Picscripter is running. Open {url} in your browser.");
    match &sandbox {
        Some(url) => println!(
            "  (web on {addr}, worker and platform sandbox at {url} in this process; press Ctrl-C to stop)"
        ),
        None => println!("  (web on {addr}, worker in this process; press Ctrl-C to stop)"),
    }
    println!();
    let mut web_stop = stop_rx;
    let web = app.run_until(async move {
        let _ = web_stop.wait_for(|s| *s).await;
    });
    let signal = async {
        crate::worker::shutdown_signal().await;
        let _ = stop_tx.send(true);
    };
    let (web_result, ()) = tokio::join!(web, signal);
    web_result?;
    worker.await.context("the worker task panicked")??;
    Ok(())
}
