//! The operator's commands (`gatehouse backup`, `status`, `reset-password`), run with the same
//! configuration as a server that keeps serving meanwhile.

use crate::helpers::*;
use app::roles::Role;
use gatehouse::{config::Config, ops, users};
use reqwest::StatusCode;
use secrecy::SecretString;
use std::path::Path;

/// The configuration a command would get: the running test server's database.
fn config_of(app: &TestApp) -> Config {
    let mut config = Config::defaults();
    config.database_url = app.database_url.clone();
    config.bootstrap_admin_email = ADMIN_EMAIL.into();
    config
}

async fn open_copy(path: &Path) -> sqlx::SqliteConnection {
    use sqlx::{ConnectOptions, sqlite::SqliteConnectOptions};
    SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .connect()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_during_writes_is_whole_and_holds_what_was_acknowledged() {
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let config = config_of(&app);
    // 200 concurrent writes: each adds a group, acknowledged when its answer arrives.
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let writes = (0..200).map(|n| {
        let (app, admin, acknowledged) = (&app, admin.clone(), acknowledged.clone());
        async move {
            let body = format!("kind=group&principal=Backup+group+{n}&role=viewer");
            let res = app
                .call_server_fn(&admin, "/rpc/principals_add", &body)
                .await;
            if res.status() == StatusCode::OK {
                acknowledged
                    .lock()
                    .unwrap()
                    .push(format!("Backup group {n}"));
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("copy.db");
    let take = async {
        // Twenty writes are acknowledged first; the rest run on while the copy is made.
        while acknowledged.lock().unwrap().len() < 20 {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        let before: Vec<String> = acknowledged.lock().unwrap().clone();
        let done = ops::backup(&config, &target, false).await.unwrap();
        (before, done)
    };
    let (_, (before, done)) = tokio::join!(futures::future::join_all(writes), take);
    assert!(before.len() >= 20 && before.len() < 200, "{}", before.len());
    assert_eq!(
        acknowledged.lock().unwrap().len(),
        200,
        "every write was accepted"
    );
    assert!(done.to_string().contains("principals:"), "{done}");

    let mut copy = open_copy(&target).await;
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut copy)
        .await
        .unwrap();
    assert_eq!(check, "ok");
    for name in &before {
        let found: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM principals WHERE name = ?)")
                .bind(name)
                .fetch_one(&mut copy)
                .await
                .unwrap();
        assert!(
            found,
            "{name} was acknowledged before the backup and is missing from it"
        );
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&target).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // No partial file is left beside it.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");

    // An existing file is kept unless --force; PostgreSQL is pg_dump's job.
    let refused = ops::backup(&config, &target, false).await.unwrap_err();
    assert!(refused.to_string().contains("--force"), "{refused}");
    ops::backup(&config, &target, true).await.unwrap();
    let mut postgres = config_of(&app);
    postgres.database_url = "postgres://gatehouse@127.0.0.1/gatehouse".into();
    let refused = ops::backup(&postgres, &target, true).await.unwrap_err();
    assert!(refused.to_string().contains("pg_dump"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_password_gets_an_operator_back_in_and_ends_sessions() {
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let config = config_of(&app);
    let new_password = "the operator's new password";
    users::reset_password(
        &config,
        "Admin@Gatehouse.test",
        SecretString::from(new_password.to_owned()),
    )
    .await
    .unwrap();
    // The session that was open has ended; the old password fails, the new one works.
    let me = app.call_server_fn(&admin, "/rpc/current_user", "").await;
    assert_eq!(
        me.json::<serde_json::Value>().await.unwrap(),
        serde_json::Value::Null
    );
    let res = app
        .post_login(&client(), ADMIN_EMAIL, ADMIN_PASSWORD, "")
        .await;
    assert!(location(&res).starts_with("/login"), "{}", location(&res));
    let res = app
        .post_login(&client(), ADMIN_EMAIL, new_password, "")
        .await;
    assert_eq!(location(&res), "/admin/security/users");
    let row: (Option<String>, String, String) = sqlx::query_as(
        "SELECT actor_email, target, detail FROM audit_log \
         WHERE action = 'user.password_reset' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        row,
        (
            None,
            ADMIN_EMAIL.to_owned(),
            "from the command line".to_owned()
        )
    );
    // Short passwords and unknown users are refused with a clear message.
    let short = users::reset_password(&config, ADMIN_EMAIL, SecretString::from("short".to_owned()))
        .await
        .unwrap_err();
    assert!(short.to_string().contains("12 characters"), "{short}");
    let unknown = users::reset_password(
        &config,
        "nobody@gatehouse.test",
        SecretString::from(new_password.to_owned()),
    )
    .await
    .unwrap_err();
    assert!(unknown.to_string().contains("no user"), "{unknown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_says_what_an_operator_checks_first() {
    let app = spawn_app().await;
    let admin = app.client_as(Some(Role::Admin)).await;
    app.rpc(&admin, "/rpc/api_enable", "").await;
    app.add_user(Role::Viewer).await;
    let status = ops::status(&config_of(&app)).await.unwrap();
    assert_eq!(status.database, "sqlite");
    assert!(status.schema_version >= 13);
    assert_eq!((status.users, status.admins), (2, 1));
    assert!(status.api_enabled);
    assert_eq!(status.key_vault, "not linked");
    assert_eq!(status.last_sign_in.as_ref().unwrap().1, ADMIN_EMAIL);
    let text = status.to_string();
    assert!(text.contains("API: enabled"), "{text}");
    let json = serde_json::to_value(&status).unwrap();
    assert_eq!(json["apiEnabled"], true);
}
