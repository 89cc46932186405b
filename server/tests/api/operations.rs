//! The operator's commands (`gatehouse backup`, `status`, `reset-password`), run with the same
//! configuration as a server that keeps serving meanwhile.

use crate::helpers::*;
use app::roles::Role;
use gatehouse::{config::Config, master_key, ops, users};
use reqwest::StatusCode;
use secrecy::SecretString;
use std::path::Path;

/// The configuration a command would get: the running test server's database.
fn config_of(app: &TestApp) -> Config {
    app.config()
}

async fn open_copy(path: &Path) -> app::db::Conn {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    app::db::Conn::connect(&format!("sqlite://{}?mode=ro", path.display()))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_during_writes_is_whole_and_holds_what_was_acknowledged() {
    let app = spawn_sqlite_app().await;
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
    // 200 writers appended to the audit chain at once; it is whole.
    let chain = app.rpc(&admin, "/rpc/audit_verify", "").await;
    assert_eq!(chain["state"], "intact", "{chain}");
    assert!(chain["entries"].as_i64().unwrap() >= 201, "{chain}");
    assert!(done.to_string().contains("principals:"), "{done}");

    let mut copy = open_copy(&target).await;
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut copy)
        .await
        .unwrap();
    assert_eq!(check, "ok");
    for name in &before {
        let app::db::Flag(found) =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM principals WHERE name = $1)")
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
    // The newest migration of each backend's folder.
    match app::db::Backend::of(&app.pool) {
        app::db::Backend::Sqlite => assert_eq!(
            (status.database, status.schema_version),
            ("sqlite", newest_migration("sqlite"))
        ),
        app::db::Backend::Postgres => assert_eq!(
            (status.database, status.schema_version),
            ("postgres", newest_migration("postgres"))
        ),
    }
    assert_eq!((status.users, status.admins), (2, 1));
    assert!(status.api_enabled);
    assert_eq!(status.key_vault, "not linked");
    assert_eq!(status.last_sign_in.as_ref().unwrap().1, ADMIN_EMAIL);
    let text = status.to_string();
    assert!(text.contains("API: enabled"), "{text}");
    let json = serde_json::to_value(&status).unwrap();
    assert_eq!(json["apiEnabled"], true);
}

/// A server on a database in `dir` (its master key file beside it), started and stopped by the
/// test, as an operator's service manager would.
async fn server_in(dir: &Path, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let url = format!("sqlite://{}", dir.join("gatehouse.db").display());
    spawn_app_with(move |c| {
        c.database_url = url;
        adjust(c);
    })
    .await
}

fn config_in(dir: &Path) -> Config {
    let mut config = Config::defaults();
    config.database_url = format!("sqlite://{}", dir.join("gatehouse.db").display());
    config.bootstrap_admin_email = ADMIN_EMAIL.into();
    config
}

fn random_key() -> [u8; 32] {
    use rand::RngCore;
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    key
}

/// Rotates once the stopped servers have let go of the database (a server stops a moment
/// after its `TestApp` is dropped).
async fn rotate_when_stopped(config: &Config, new: [u8; 32]) -> ops::Rotated {
    for _ in 0..100 {
        match ops::rotate_master_key(config, new).await {
            Ok(done) => return done,
            Err(e) if e.to_string().contains("a server is running") => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(e) => panic!("rotation failed: {e}"),
        }
    }
    panic!("the stopped server never let go of the database");
}

/// Waits until no server holds the database (the last one stops a moment after it is dropped).
async fn wait_until_no_server(dir: &Path) {
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("gatehouse.servers.lock"))
        .unwrap();
    for _ in 0..200 {
        if lock.try_lock().is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the stopped server never let go of the database");
}

/// Every sealed value opens with `key`: the database is wholly under it.
async fn all_sealed_under(pool: &app::db::Pool, key: &[u8; 32]) -> bool {
    use app::api_keys::ssr::sealing::Sealer;
    let sealer = Sealer::new(key);
    // A write transaction from the start (BEGIN IMMEDIATE): a deferred one could be refused its
    // write for a write the server made meanwhile, which would read as a value that does not open.
    let mut tx = app::db::begin_write(pool).await.unwrap();
    // Sealing again under the same key opens every value, or fails on the first that does not.
    let mut ok = true;
    for column in ops::sealed_columns() {
        ok &= column.reseal(&mut tx, &sealer, &sealer).await.is_ok();
    }
    tx.rollback().await.unwrap();
    ok
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_reseals_every_secret_and_each_works_after_it() {
    let bao = crate::openbao::OpenBao::start().await;
    bao.put_secret("crm/webhook", serde_json::json!({ "value": "vault-value" }))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let app = server_in(dir.path(), |_| {}).await;
    let admin = app.client_as(Some(Role::Admin)).await;
    // One of each sealed kind: API keys, the vault's credential, a stored connection secret,
    // a portal's own embed secret and the shared one; and the SCIM token (a digest).
    let api_key = app.enabled_api_key(&admin).await;
    let link = serde_urlencoded::to_string([
        ("form[backend]", "open_bao"),
        ("form[address]", bao.address.as_str()),
        ("form[auth]", "token"),
        ("form[credential]", bao.root_token.as_str()),
    ])
    .unwrap();
    app.rpc(&admin, "/rpc/key_vault_save", &link).await;
    // A webhook receiver that keeps the signatures it is sent.
    let signatures = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, String)>::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hook", listener.local_addr().unwrap());
    let kept = signatures.clone();
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let kept = kept.clone();
            async move {
                if let Some(sig) = headers.get("x-gatehouse-signature") {
                    kept.lock()
                        .unwrap()
                        .push((sig.to_str().unwrap().to_owned(), body));
                }
                StatusCode::NO_CONTENT
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, receiver).await });
    let hook = serde_urlencoded::to_string([
        ("form[name]", "stored-hook"),
        ("form[url]", hook_url.as_str()),
        ("form[secret]", "stored secret value"),
    ])
    .unwrap();
    app.rpc(&admin, "/rpc/connection_save", &hook).await;
    app.rpc(
        &admin,
        "/rpc/embed_origin_add",
        "origin=https%3A%2F%2Fportal.example.com",
    )
    .await;
    let portal_secret = app
        .rpc(
            &admin,
            "/rpc/embed_origin_secret_reveal",
            "origin=https%3A%2F%2Fportal.example.com&purpose=copy",
        )
        .await;
    let shared = app
        .rpc(&admin, "/rpc/embed_secret_reveal", "purpose=copy")
        .await;
    let scim = app.rpc(&admin, "/rpc/provisioning_token", "").await;
    // Refused while the server runs.
    let new = random_key();
    let refused = ops::rotate_master_key(&config_in(dir.path()), new)
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("a server is running"),
        "{refused}"
    );
    drop((admin, app));

    let old_file = std::fs::read_to_string(dir.path().join("gatehouse.key")).unwrap();
    let done = rotate_when_stopped(&config_in(dir.path()), new).await;
    let sealed: usize = done.resealed.iter().map(|(_, n)| n).sum();
    assert!(sealed >= 6, "{done}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("gatehouse.key.old")).unwrap(),
        old_file
    );

    // Started again with the new key file, everything works as before.
    let app = server_in(dir.path(), |_| {}).await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let res = script_client()
        .get(app.url("/api/v1/environment"))
        .header("Ocp-Apim-Subscription-Key", &api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "the API key");
    let names = app.rpc(&admin, "/rpc/key_vault_secrets", "").await;
    assert!(
        names.to_string().contains("crm/webhook"),
        "the vault link: {names}"
    );
    let revealed = app
        .rpc(
            &admin,
            "/rpc/embed_origin_secret_reveal",
            "origin=https%3A%2F%2Fportal.example.com&purpose=show",
        )
        .await;
    assert_eq!(revealed, portal_secret, "the portal's embed secret");
    let revealed = app
        .rpc(&admin, "/rpc/embed_secret_reveal", "purpose=show")
        .await;
    assert_eq!(revealed, shared, "the shared embed secret");
    let verify = app.rpc(&admin, "/rpc/connection_verify", "id=1").await;
    assert_eq!(verify["ok"], true, "the stored connection secret: {verify}");
    let signed = signatures.lock().unwrap().clone();
    assert_eq!(signed.len(), 1, "one test event");
    let (signature, body) = &signed[0];
    assert_eq!(
        *signature,
        app::connections::ssr::signature("stored secret value", body.as_bytes()),
        "signed with the stored secret"
    );
    // An embed token signed with the portal's secret opens a session.
    let now = app::time_fmt::unix_now();
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &serde_json::json!({
            "sub": ADMIN_EMAIL, "aud": "gatehouse-embed", "origin": "https://portal.example.com",
            "iat": now, "exp": now + 60, "jti": "after-rotation"
        }),
        &jsonwebtoken::EncodingKey::from_secret(portal_secret.as_str().unwrap().as_bytes()),
    )
    .unwrap();
    let res = client()
        .post(app.url("/embed/session"))
        .json(&serde_json::json!({ "token": token, "parent": "https://portal.example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "the embed token");
    let res = script_client()
        .get(app.url("/scim/v2/Users"))
        .bearer_auth(scim.as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "the SCIM token");
    assert!(all_sealed_under(&app.pool, &new).await);
    let chain = app.rpc(&admin, "/rpc/audit_verify", "").await;
    assert_eq!(
        chain["state"], "intact",
        "the audit chain, made again: {chain}"
    );
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'master_key.rotate'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(audited, 1);
    drop((admin, app));

    // A server given the old key refuses to start, with the message it always gave.
    use base64::Engine;
    let old_text = old_file.trim().to_owned();
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(&old_text)
            .unwrap()
            .len(),
        32
    );
    let mut config = config_in(dir.path());
    config.addr = "127.0.0.1:0".into();
    config.master_key = Some(SecretString::from(old_text));
    let options = leptos::config::LeptosOptions::builder()
        .output_name("gatehouse")
        .build();
    let refused = match gatehouse::Application::build(&config, options).await {
        Ok(_) => panic!("a server with the old key started"),
        Err(e) => e.to_string(),
    };
    assert!(
        refused.contains("not the one this database was set up with"),
        "{refused}"
    );
}

/// kill -9 at any moment of a rotation leaves the old state or the new one: the next server
/// starts, and every sealed value opens with the key it uses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_killed_midway_leaves_the_old_or_the_new_state() {
    use app::api_keys::ssr::sealing::Sealer;
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    let app = server_in(dir.path(), |_| {}).await;
    let admin = app.client_as(Some(Role::Admin)).await;
    app.rpc(&admin, "/rpc/api_enable", "").await;
    // Enough sealed values that a rotation takes a while: 3,000 stored connection secrets.
    let key_file = dir.path().join("gatehouse.key");
    let key = std::fs::read_to_string(&key_file).unwrap();
    let key: [u8; 32] = base64::engine::general_purpose::STANDARD
        .decode(key.trim())
        .unwrap()
        .try_into()
        .unwrap();
    let sealer = Sealer::new(&key);
    let mut tx = app.pool.begin().await.unwrap();
    for n in 0..3000 {
        let sealed = sealer.seal(b"a stored secret", b"gatehouse connection.secret");
        sqlx::query(
            "INSERT INTO connections (name, kind, settings, secret_nonce, secret_ciphertext, \
             audience, created_at, updated_at) VALUES ($1, 'webhook', $2, $3, $4, 'admin', 0, 0)",
        )
        .bind(format!("bulk-{n}"))
        .bind(r#"{"webhook":{"url":"https://hooks.example.com/x","header_name":"X-Sig"}}"#)
        .bind(sealed.nonce)
        .bind(sealed.ciphertext)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    drop((admin, app));

    let mut outcomes = Vec::new();
    for delay_ms in [30u64, 120, 250, 400, 700, 5000] {
        let new = random_key();
        wait_until_no_server(dir.path()).await;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .arg("rotate-master-key")
            .env(
                "GATEHOUSE_DATABASE_URL",
                format!("sqlite://{}", dir.path().join("gatehouse.db").display()),
            )
            .env(
                "GATEHOUSE_NEW_MASTER_KEY",
                base64::engine::general_purpose::STANDARD.encode(new),
            )
            .env("RUST_LOG", "error")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
        let finished = child.try_wait().unwrap().is_some();
        let _ = child.kill();
        let _ = child.wait();
        // The next server starts on whatever the rotation left, and it is whole.
        let app = server_in(dir.path(), |_| {}).await;
        let in_use: [u8; 32] = base64::engine::general_purpose::STANDARD
            .decode(std::fs::read_to_string(&key_file).unwrap().trim())
            .unwrap()
            .try_into()
            .unwrap();
        assert!(
            in_use == new || !finished,
            "a rotation that finished left the old key in use"
        );
        assert!(
            all_sealed_under(&app.pool, &in_use).await,
            "after {delay_ms} ms"
        );
        outcomes.push((delay_ms, in_use == new));
        drop(app);
    }
    eprintln!("rotation outcomes (delay ms, rotated): {outcomes:?}");
    // The runs were long enough to see both outcomes.
    assert!(outcomes.iter().any(|(_, rotated)| *rotated), "{outcomes:?}");
    assert!(outcomes.iter().any(|(_, rotated)| !rotated), "{outcomes:?}");
}

/// Every column that holds a sealed value's nonce is one that a rotation seals again: a new
/// kind of secret cannot be left under the old key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rotation_knows_every_sealed_column() {
    let app = spawn_sqlite_app().await;
    let in_schema: Vec<(String, String)> = sqlx::query_as(
        "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND p.name LIKE '%nonce' ORDER BY 1, 2",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(in_schema.len() >= 6, "{in_schema:?}");
    let rotated: Vec<(String, String)> = ops::sealed_columns()
        .iter()
        .map(|c| (c.table.to_owned(), c.nonce.to_owned()))
        .collect();
    for column in &in_schema {
        assert!(rotated.contains(column), "{column:?} is not rotated");
    }
}

/// `gatehouse copy-data` moves an installation from SQLite to an empty PostgreSQL database:
/// the row counts match, a second copy into it is refused, and a server started on it with the
/// same master key serves the same API key, principals and intact audit chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_data_moves_everything_to_postgres_under_the_same_key() {
    let dir = tempfile::tempdir().unwrap();
    let app = server_in(dir.path(), |_| {}).await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let api_key = app.enabled_api_key(&admin).await;
    for (kind, principal) in [
        ("group", "Copied analysts"),
        ("application", "Copied sync"),
        ("user", "copied@example.com"),
    ] {
        app.rpc(
            &admin,
            "/rpc/principals_add",
            &format!("kind={kind}&principal={principal}&role=viewer"),
        )
        .await;
    }
    let names = |app: &TestApp| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT name FROM principals ORDER BY id")
                .fetch_all(&pool)
                .await
                .unwrap()
        }
    };
    let before = names(&app).await;
    let sqlite_url = app.database_url.clone();
    let key_file = master_key::key_file_path(&sqlite_url).unwrap();
    let key = std::fs::read_to_string(key_file).unwrap();
    drop((admin, app));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let pg = Postgres::new().await;
    let copied = ops::copy_data(&sqlite_url, &pg.url).await.unwrap();
    let rows = |table: &str| copied.tables.iter().find(|(t, _)| *t == table).unwrap().1;
    assert_eq!(rows("principals"), before.len() as i64);
    assert_eq!(rows("api_keys"), 2);
    assert!(rows("audit_log") >= 5, "{copied}");
    let again = ops::copy_data(&sqlite_url, &pg.url).await.unwrap_err();
    assert!(again.to_string().contains("not empty"), "{again}");

    let moved = spawn_app_with(|c| {
        c.database_url = pg.url.clone();
        c.master_key = Some(key.trim().to_owned().into());
    })
    .await;
    assert_eq!(names(&moved).await, before);
    let res = script_client()
        .get(moved.url("/api/v1/environment"))
        .header("Ocp-Apim-Subscription-Key", &api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let admin = moved.client_as(Some(Role::Admin)).await;
    let verdict = moved.rpc(&admin, "/rpc/audit_verify", "").await;
    assert_eq!(verdict["state"], "intact", "{verdict}");
    // New rows continue after the copied ids.
    let added = moved
        .rpc(
            &admin,
            "/rpc/principals_add",
            "kind=group&principal=After%20the%20move&role=viewer",
        )
        .await;
    assert!(added["principal"]["id"].as_i64().unwrap() > before.len() as i64);
}
