//! The `picscripter` binary's commands, run as a user would run them.

use std::io::Write as _;
use std::process::{Command, Stdio};

use crate::helpers::{PASSWORD, base_env, fresh_database, spawn_app};

fn picscripter() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_picscripter"));
    // Run from an empty directory so no developer's .env leaks in.
    cmd.current_dir(std::env::temp_dir())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd
}

#[test]
fn serve_with_no_configuration_lists_every_missing_variable_and_exits() {
    let out = picscripter().arg("serve").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("the configuration has 5 problems"),
        "{stderr}"
    );
    for var in [
        "DATABASE_URL",
        "REDIS_URL",
        "JWT_SECRET",
        "ENCRYPTION_KEYS_JSON",
        "ENCRYPTION_KEY_CURRENT",
    ] {
        assert!(
            stderr.contains(&format!("{var} is missing")),
            "{var} not listed:\n{stderr}"
        );
    }
}

#[test]
fn the_worker_with_a_bad_configuration_lists_the_problems_without_echoing_secrets() {
    let out = Command::new(env!("CARGO_BIN_EXE_picscripter-worker"))
        .current_dir(std::env::temp_dir())
        .env_clear()
        .env("DATABASE_URL", "mysql://root:hunter2pass@db/app")
        .env("REDIS_URL", "redis://127.0.0.1:6379")
        .env("JWT_SECRET", "tooshortsecret")
        .env("ENCRYPTION_KEYS_JSON", "{\"1\":\"c2hvcnQ=\"}")
        .env("ENCRYPTION_KEY_CURRENT", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("the configuration has 3 problems"),
        "{stderr}"
    );
    assert!(stderr.contains("DATABASE_URL is not a valid postgres URL"));
    assert!(stderr.contains("JWT_SECRET is too short (14 characters)"));
    assert!(stderr.contains("5 bytes long"));
    assert!(
        !stderr.contains("hunter2pass") && !stderr.contains("tooshortsecret"),
        "secrets echoed:\n{stderr}"
    );
}

#[tokio::test]
async fn migrate_creates_every_table_and_is_safe_to_run_twice() {
    let db = crate::helpers::empty_database().await;
    let url = base_env(&db, "x")["DATABASE_URL"].clone();
    for _ in 0..2 {
        let out = picscripter()
            .arg("migrate")
            .env("DATABASE_URL", &url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let conn = sea_orm::Database::connect(&url).await.unwrap();
    use sea_orm::ConnectionTrait as _;
    let rows = conn
        .query_all_raw(sea_orm::Statement::from_string(
            conn.get_database_backend(),
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1".to_owned(),
        ))
        .await
        .unwrap();
    let tables: Vec<String> = rows
        .iter()
        .map(|r| r.try_get_by_index(0).unwrap())
        .collect();
    for t in [
        "analytics",
        "api_tokens",
        "audit_events",
        "connections",
        "jobs",
        "media",
        "post_media",
        "post_metrics",
        "post_targets",
        "posts",
        "products",
        "templates",
        "users",
    ] {
        assert!(
            tables.contains(&t.to_string()),
            "{t} missing from {tables:?}"
        );
    }
    conn.close().await.ok();
    crate::helpers::drop_database_blocking(db);
}

#[tokio::test]
async fn create_user_reads_the_password_from_stdin_and_the_user_can_log_in() {
    let app = spawn_app().await;
    let mut child = picscripter()
        .args([
            "create-user",
            "--email",
            "Owner@Shop.example",
            "--time-zone",
            "America/New_York",
        ])
        .envs(&app.env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Created owner@shop.example"));

    assert_eq!(
        app.login("owner@shop.example", PASSWORD).await.status(),
        reqwest::StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.scalar_string("SELECT time_zone FROM users")
            .await
            .unwrap(),
        "America/New_York"
    );

    let mut again = picscripter()
        .args(["create-user", "--email", "owner@shop.example"])
        .envs(&app.env)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    again
        .stdin
        .take()
        .unwrap()
        .write_all(b"another good passphrase\n")
        .unwrap();
    let out = again.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already an account"));
}

#[tokio::test]
async fn create_api_token_prints_the_token_once_and_stores_only_its_hash() {
    let app = spawn_app().await;
    let email = app.signed_up_user().await;
    let out = picscripter()
        .args([
            "create-api-token",
            "--email",
            &email,
            "--name",
            "inventory script",
        ])
        .envs(&app.env)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("psk_") && token.len() > 40, "{token}");
    let stored = app
        .scalar_string("SELECT token_hash FROM api_tokens")
        .await
        .unwrap();
    assert_eq!(stored, picscripter::security::sha256_hex(token.as_bytes()));
    assert_eq!(
        app.scalar_i64(&format!(
            "SELECT count(*) FROM api_tokens WHERE token_hash = '{token}'"
        ))
        .await,
        0
    );
    assert_eq!(
        app.scalar_string("SELECT name FROM api_tokens")
            .await
            .unwrap(),
        "inventory script"
    );

    let out = picscripter()
        .args([
            "create-api-token",
            "--email",
            "nobody@example.com",
            "--name",
            "x",
        ])
        .envs(&app.env)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("no account with the e-mail address nobody@example.com")
    );
}

#[tokio::test]
async fn the_schema_refuses_states_that_do_not_exist() {
    let db = fresh_database().await;
    let url = base_env(&db, "x")["DATABASE_URL"].clone();
    let conn = sea_orm::Database::connect(&url).await.unwrap();
    use sea_orm::ConnectionTrait as _;
    let user = uuid::Uuid::now_v7();
    conn.execute_unprepared(&format!(
        "INSERT INTO users (id, email, password_hash) VALUES ('{user}', 'a@example.com', 'x')"
    ))
    .await
    .unwrap();
    let dup = conn
        .execute_unprepared(&format!(
            "INSERT INTO users (id, email, password_hash) VALUES ('{}', 'A@EXAMPLE.com', 'x')",
            uuid::Uuid::now_v7()
        ))
        .await;
    assert!(dup.is_err(), "e-mails are unique regardless of case");
    let bad_platform = conn
        .execute_unprepared(&format!(
            "INSERT INTO connections (id, user_id, platform, kind, account_id) VALUES ('{}', '{user}', 'myspace', 'social', '1')",
            uuid::Uuid::now_v7()
        ))
        .await;
    assert!(bad_platform.is_err(), "unknown platforms are refused");
    let tamper = conn
        .execute_unprepared("UPDATE audit_events SET action = 'x'")
        .await;
    assert!(tamper.is_ok(), "no rows to update is fine");
    conn.execute_unprepared(&format!(
        "INSERT INTO audit_events (id, action) VALUES ('{}', 'user.signed_up')",
        uuid::Uuid::now_v7()
    ))
    .await
    .unwrap();
    assert!(
        conn.execute_unprepared("UPDATE audit_events SET action = 'x'")
            .await
            .is_err(),
        "the audit log is append-only"
    );
    conn.close().await.ok();
    crate::helpers::drop_database_blocking(db);
}
