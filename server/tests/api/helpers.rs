//! `spawn_app` and typed helpers for talking to a running Gatehouse.

use app::db::Pool;
use app::{
    auth::ssr::hash_password,
    roles::Role,
    users::{Email, ssr as users},
};
use gatehouse::{Application, config::Config};
use leptos::config::LeptosOptions;
use reqwest::{Client, Response, StatusCode, header};
use tempfile::TempDir;
use tokio::sync::oneshot;

pub const ADMIN_EMAIL: &str = "admin@gatehouse.test";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";
pub const PASSWORD: &str = "a password of some length";

pub struct TestApp {
    pub address: String,
    pub pool: Pool,
    pub database_url: String,
    stop: Option<oneshot::Sender<()>>,
    _dir: TempDir,
    _extra: Option<TempDir>,
}

impl TestApp {
    /// Turns the API on through `admin` and returns the primary key, as Copy gives it.
    pub async fn enabled_api_key(&self, admin: &Client) -> String {
        self.rpc(admin, "/rpc/api_enable", "").await;
        self.rpc(admin, "/rpc/api_reveal", "slot=primary&purpose=copy")
            .await
            .as_str()
            .expect("the key")
            .to_owned()
    }

    /// The configuration an operator's command would get for this server's database.
    pub fn config(&self) -> Config {
        let mut config = Config::defaults();
        config.database_url = self.database_url.clone();
        config.bootstrap_admin_email = ADMIN_EMAIL.into();
        if self.database_url.starts_with("postgres") {
            config.master_key = Some(postgres_master_key(&self.database_url).into());
        }
        config
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A server on SQLite whatever the run, for what only SQLite has (its file, the key file
/// beside it, `gatehouse backup`).
pub async fn spawn_sqlite_app() -> TestApp {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("gatehouse.db").display());
    let mut app = spawn_app_with(|c| c.database_url = url).await;
    app._extra = Some(dir);
    app
}

/// Starts the server with the test defaults, adjusted by `adjust`.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut config = Config::defaults();
    config.addr = "127.0.0.1:0".into();
    config.database_url = format!("sqlite://{}", dir.path().join("gatehouse.db").display());
    if let Some(url) = postgres_database().await {
        config.database_url = url;
    }
    config.bootstrap_admin_email = ADMIN_EMAIL.into();
    config.bootstrap_admin_password = Some(ADMIN_PASSWORD.to_owned().into());
    config.login_attempts_per_minute = 1000;
    // The vaults, webhooks and mail servers of the tests listen on this machine.
    config.allow_loopback_targets = true;
    adjust(&mut config);
    if config.database_url.starts_with("postgres") && config.master_key.is_none() {
        config.master_key = Some(postgres_master_key(&config.database_url).into());
    }
    let options = LeptosOptions::builder().output_name("gatehouse").build();
    let app = Application::build(&config, options)
        .await
        .expect("the server starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    let pool = app.pool();
    let database_url = config.database_url.clone();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    TestApp {
        address,
        pool,
        database_url,
        stop: Some(stop),
        _dir: dir,
        _extra: None,
    }
}

/// With `GATEHOUSE_TEST_POSTGRES` (set by `scripts/test.sh` for its second pass, to the
/// maintenance database of its throwaway cluster), every test's server runs on a new empty
/// PostgreSQL database of its own.
pub async fn postgres_database() -> Option<String> {
    let cluster = std::env::var("GATEHOUSE_TEST_POSTGRES").ok()?;
    Some(create_database(&cluster).await)
}

async fn create_database(cluster: &str) -> String {
    use rand::RngCore;
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(cluster)
        .await
        .expect("the test cluster answers");
    let name = format!("test_{:016x}", rand::rng().next_u64());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("a test database");
    let base = cluster.rsplit_once('/').expect("a URL with a database").0;
    format!("{base}/{name}")
}

/// A new empty PostgreSQL database, for the tests of several servers and of moving to
/// PostgreSQL, which need one in every pass: in the cluster `scripts/test.sh` starts
/// (`GATEHOUSE_TEST_CLUSTER`), or else in one of its own (`scripts/postgres.sh`), stopped when
/// this is dropped.
pub struct Postgres {
    pub url: String,
    own: Option<TempDir>,
}

impl Postgres {
    pub async fn new() -> Self {
        if let Ok(cluster) = std::env::var("GATEHOUSE_TEST_CLUSTER") {
            return Self {
                url: create_database(&cluster).await,
                own: None,
            };
        }
        Self::own().await
    }

    /// On a cluster of its own, whatever the run: for a test that stops the database.
    pub async fn own() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let out = std::process::Command::new("bash")
            .arg(postgres_script())
            .arg("start")
            .arg(dir.path())
            .output()
            .expect("scripts/postgres.sh runs");
        assert!(
            out.status.success(),
            "a PostgreSQL cluster for this test: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cluster = String::from_utf8(out.stdout)
            .expect("a URL")
            .trim()
            .to_owned();
        Self {
            url: create_database(&cluster).await,
            own: Some(dir),
        }
    }

    /// Stops (`halt`) or starts again (`resume`) this test's own cluster.
    pub fn cluster(&self, command: &str) {
        let dir = self.own.as_ref().expect("a cluster of the test's own");
        let done = std::process::Command::new("bash")
            .arg(postgres_script())
            .arg(command)
            .arg(dir.path())
            .status()
            .expect("scripts/postgres.sh runs");
        assert!(done.success(), "postgres.sh {command}");
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(dir) = &self.own {
            let _ = std::process::Command::new("bash")
                .arg(postgres_script())
                .arg("stop")
                .arg(dir.path())
                .status();
        }
    }
}

/// The newest migration in a backend's folder (`sqlite` or `postgres`): what a database
/// migrated by this build is at.
pub fn newest_migration(backend: &str) -> i64 {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    std::fs::read_dir(dir)
        .expect("the migrations folder")
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .split('_')
                .next()?
                .parse()
                .ok()
        })
        .max()
        .expect("a migration")
}

pub fn postgres_script() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/postgres.sh")
}

/// The master key every server on a test's PostgreSQL database is given (there is no key file
/// beside it): the same for the same database, so that a restart finds its keys.
pub fn postgres_master_key(database_url: &str) -> String {
    use base64::{Engine, engine::general_purpose::STANDARD};
    STANDARD.encode(app::api_keys::ssr::sealing::digest(database_url))
}

/// A browser-like client: keeps cookies, asks for HTML, labels its requests same-origin as a
/// browser on the page would (`Sec-Fetch-Site`), does not follow redirects (tests look at them).
/// A request with no answer within [`ANSWER_WITHIN`] fails its test with the request's error,
/// instead of holding the run until CI gives up.
pub fn client() -> Client {
    let mut headers = header::HeaderMap::new();
    headers.insert(
        header::ACCEPT,
        header::HeaderValue::from_static("text/html,*/*;q=0.8"),
    );
    headers.insert(
        "sec-fetch-site",
        header::HeaderValue::from_static("same-origin"),
    );
    Client::builder()
        .default_headers(headers)
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(ANSWER_WITHIN)
        .build()
        .expect("client")
}

/// Twice the server's own whole-request limit (30 s): past it, nothing is coming.
pub const ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_secs(60);

/// A client with none of a browser's ways (no cookies, no Fetch Metadata, redirects followed):
/// a REST or SCIM caller, a script, the vault's own API. It gives up as [`client`] does.
pub fn script_client() -> Client {
    Client::builder()
        .timeout(ANSWER_WITHIN)
        .build()
        .expect("client")
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn post_login(
        &self,
        client: &Client,
        email: &str,
        password: &str,
        next: &str,
    ) -> Response {
        client
            .post(self.url("/auth/login"))
            .form(&[("email", email), ("password", password), ("next", next)])
            .send()
            .await
            .expect("sign-in request")
    }

    /// The bootstrap admin's sign-in form post, for tests that add headers before sending it.
    pub fn admin_login_request(&self, client: &Client) -> reqwest::RequestBuilder {
        client.post(self.url("/auth/login")).form(&[
            ("email", ADMIN_EMAIL),
            ("password", ADMIN_PASSWORD),
            ("next", ""),
        ])
    }

    /// Adds a user with `role` straight to the database and returns their email.
    pub async fn add_user(&self, role: Role) -> String {
        let email = format!("{}-{}@gatehouse.test", role.as_str(), rand_suffix());
        let parsed = Email::parse(&email).expect("valid email");
        let hash = hash_password(PASSWORD.to_owned()).await.expect("hash");
        let mut conn = self.pool.acquire().await.expect("connection");
        users::create(
            &mut conn,
            users::NewUser {
                email: &parsed,
                name: "Test User",
                role,
                lockbox_approver: false,
                password_hash: Some(&hash),
            },
        )
        .await
        .expect("user created");
        email
    }

    /// A client signed in as a new user with `role`, or anonymous for `None`.
    pub async fn client_as(&self, role: Option<Role>) -> Client {
        let client = client();
        if let Some(role) = role {
            let email = if role == Role::Admin {
                ADMIN_EMAIL.to_owned()
            } else {
                self.add_user(role).await
            };
            let password = if role == Role::Admin {
                ADMIN_PASSWORD
            } else {
                PASSWORD
            };
            let res = self.post_login(&client, &email, password, "").await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
            assert_eq!(
                location(&res),
                "/admin/security/users",
                "sign-in as {role} failed"
            );
        }
        client
    }

    /// Calls a server function the way the browser does (a form-encoded POST).
    pub async fn call_server_fn(&self, client: &Client, path: &str, body: &str) -> Response {
        client
            .post(self.url(path))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("server function request")
    }
}

impl TestApp {
    /// Calls a server function that must succeed and returns its JSON.
    pub async fn rpc(&self, client: &Client, path: &str, body: &str) -> serde_json::Value {
        let res = self.call_server_fn(client, path, body).await;
        assert_eq!(res.status(), StatusCode::OK, "{path} {body}");
        res.json().await.unwrap()
    }

    /// Calls a server function that must fail with `status`; returns the error's JSON.
    pub async fn rpc_fails(
        &self,
        client: &Client,
        path: &str,
        body: &str,
        status: StatusCode,
    ) -> serde_json::Value {
        let res = self.call_server_fn(client, path, body).await;
        assert_eq!(res.status(), status, "{path} {body}");
        res.json().await.unwrap()
    }
}

pub fn location(res: &Response) -> String {
    res.headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

pub fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Everything the server logs in this test process, for tests that prove a secret never
/// reaches a log line. Installed once; every test's server logs into it.
pub fn captured_logs() -> String {
    use std::sync::{Arc, Mutex, OnceLock};
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    let buffer = LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter("debug,hyper=info,h2=info,rustls=info,reqwest=debug")
            .with_ansi(false)
            .with_writer(move || LogWriter(sink.clone()))
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        buffer
    });
    String::from_utf8_lossy(&buffer.lock().unwrap()).into_owned()
}

struct LogWriter(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Waits until `done` holds, for at most `limit`; how long it took. What one server changes
/// must hold on the others within a bound: this polls for it.
pub async fn within(
    limit: std::time::Duration,
    what: &str,
    mut done: impl AsyncFnMut() -> bool,
) -> std::time::Duration {
    let start = std::time::Instant::now();
    while !done().await {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    start.elapsed()
}
