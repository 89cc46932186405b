use crate::helpers::*;
use gatehouse::{Application, config::Config, error::StartupError};
use leptos::config::LeptosOptions;

fn config_in(dir: &tempfile::TempDir) -> Config {
    let mut config = Config::defaults();
    config.addr = "127.0.0.1:0".into();
    config.database_url = format!("sqlite://{}", dir.path().join("g.db").display());
    config
}

fn options() -> LeptosOptions {
    LeptosOptions::builder().output_name("gatehouse").build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_password_the_first_admin_gets_a_generated_one_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(&dir);
    let first = Application::build(&config, options()).await.unwrap();
    let (email, hash): (String, Option<String>) =
        sqlx::query_as("SELECT handle, password_hash FROM principals WHERE role = 'admin'")
            .fetch_one(&first.pool())
            .await
            .unwrap();
    assert_eq!(email, "admin@gatehouse.local");
    assert!(hash.is_some_and(|h| h.starts_with("$argon2id$")));
    drop(first);

    // A restart on the same database keeps the one administrator.
    let second = Application::build(&config, options()).await.unwrap();
    let admins: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM principals")
        .fetch_one(&second.pool())
        .await
        .unwrap();
    assert_eq!(admins, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_bootstrap_password_stops_the_start_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config_in(&dir);
    config.bootstrap_admin_password = Some("short".to_owned().into());
    match Application::build(&config, options()).await {
        Err(StartupError::Config(message)) => {
            assert!(message.contains("at least 12 characters"), "{message}")
        }
        Err(other) => panic!("unexpected error: {other}"),
        Ok(_) => panic!("a 5-character admin password must be refused"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ends_after_its_absolute_lifetime() {
    let app = spawn_app_with(|c| c.session_absolute_hours = 0).await;
    let admin = app.client_as(Some(app::roles::Role::Admin)).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let res = app
        .call_server_fn(&admin, "/rpc/security_overview", "")
        .await;
    assert_eq!(res.status(), reqwest::StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_session_ends() {
    let app = spawn_app_with(|c| c.session_idle_minutes = 0).await;
    let admin = app.client_as(Some(app::roles::Role::Admin)).await;
    let res = app
        .call_server_fn(&admin, "/rpc/security_overview", "")
        .await;
    assert_eq!(res.status(), reqwest::StatusCode::UNAUTHORIZED);
}
