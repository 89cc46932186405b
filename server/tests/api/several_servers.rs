//! Several servers on one PostgreSQL database: what one does, the others see at once, and the
//! database's own work happens once. Each test starts its servers on a new database (see
//! `Postgres`).

use crate::helpers::*;
use app::roles::Role;
use gatehouse::config::Config;
use reqwest::StatusCode;
use std::time::{Duration, Instant};

/// A server on `url`, with the settings every server on it shares.
async fn server_on(url: &str, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let url = url.to_owned();
    spawn_app_with(move |c| {
        c.database_url = url;
        adjust(c);
    })
    .await
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

/// Groups written without their audit entry: a change half written (there must be none).
async fn unaudited_groups(app: &TestApp) -> i64 {
    count(
        app,
        "SELECT count(*) FROM principals p WHERE kind = 'group' AND NOT EXISTS \
         (SELECT 1 FROM audit_log a WHERE a.action = 'principal.add' AND a.target = p.handle)",
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_started_together_migrate_once_and_make_one_first_admin() {
    let pg = Postgres::new().await;
    let (a, b) = tokio::join!(server_on(&pg.url, |_| {}), server_on(&pg.url, |_| {}));
    assert_eq!(
        count(&a, "SELECT count(*) FROM principals WHERE kind = 'user'").await,
        1
    );
    let applied = count(&a, "SELECT count(*) FROM _sqlx_migrations").await;
    assert_eq!(
        applied,
        count(&a, "SELECT count(DISTINCT version) FROM _sqlx_migrations").await
    );
    assert_eq!(applied, newest_migration("postgres"), "each migration once");
    for app in [&a, &b] {
        let health = reqwest::get(app.url("/healthz")).await.unwrap();
        assert_eq!(health.status(), StatusCode::OK);
    }
    // The first admin signs in on either.
    a.client_as(Some(Role::Admin)).await;
    b.client_as(Some(Role::Admin)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn what_one_server_changes_the_other_honours_within_a_second() {
    let pg = Postgres::new().await;
    let a = server_on(&pg.url, |_| {}).await;
    let b = server_on(&pg.url, |_| {}).await;
    // A session made on one server is honoured by the other (cookies are per host, not port).
    let admin = a.client_as(Some(Role::Admin)).await;
    let me = b.rpc(&admin, "/rpc/current_user", "").await;
    assert_eq!(me["email"], ADMIN_EMAIL);

    // An API key regenerated through one server stops working on the other.
    let key = a.enabled_api_key(&admin).await;
    let status_on = |app: &TestApp, key: &str| {
        let request = script_client()
            .get(app.url("/api/v1/environment"))
            .header("Ocp-Apim-Subscription-Key", key);
        async move { request.send().await.unwrap().status() }
    };
    within(Duration::from_secs(1), "the new key on B", async || {
        status_on(&b, &key).await == StatusCode::OK
    })
    .await;
    a.rpc(&admin, "/rpc/api_regenerate", "slot=primary&grace=now")
        .await;
    let took = within(
        Duration::from_secs(1),
        "the old key refused on B",
        async || status_on(&b, &key).await == StatusCode::UNAUTHORIZED,
    )
    .await;
    eprintln!("a regenerated key stopped working on the other server after {took:?}");
    // Disabled through B: refused on A.
    let secondary = b
        .rpc(&admin, "/rpc/api_reveal", "slot=secondary&purpose=copy")
        .await
        .as_str()
        .unwrap()
        .to_owned();
    b.rpc(&admin, "/rpc/api_disable", "").await;
    within(Duration::from_secs(1), "a disabled API on A", async || {
        status_on(&a, &secondary).await == StatusCode::FORBIDDEN
    })
    .await;

    // A role change and signing out everywhere through A end what the session may do on B.
    let email = a.add_user(Role::Admin).await;
    let other = client();
    let res = a.post_login(&other, &email, PASSWORD, "").await;
    assert_eq!(location(&res), "/admin/security/users");
    let id = count(
        &a,
        &format!("SELECT id FROM principals WHERE handle = '{email}'"),
    )
    .await;
    a.rpc(
        &admin,
        "/rpc/principals_change_role",
        &format!("id={id}&role=viewer&confirm_self=false"),
    )
    .await;
    within(Duration::from_secs(1), "the demotion on B", async || {
        b.call_server_fn(&other, "/rpc/api_overview", "")
            .await
            .status()
            == StatusCode::FORBIDDEN
    })
    .await;
    a.rpc(&other, "/rpc/account_sign_out_everywhere", "").await;
    within(
        Duration::from_secs(1),
        "sign-out everywhere on B",
        async || b.rpc(&other, "/rpc/current_user", "").await.is_null(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wrong_passwords_spread_over_two_servers_meet_one_limit() {
    let pg = Postgres::new().await;
    let limited = |c: &mut Config| c.login_attempts_per_minute = 10;
    let a = server_on(&pg.url, limited).await;
    let b = server_on(&pg.url, limited).await;
    let mut answers = Vec::new();
    for n in 0..12 {
        let server = if n % 2 == 0 { &a } else { &b };
        let res = server
            .post_login(&client(), ADMIN_EMAIL, "a wrong guess", "")
            .await;
        answers.push(location(&res));
    }
    assert!(
        answers[..10].iter().all(|l| l == "/login?error=invalid"),
        "{answers:?}"
    );
    assert!(
        answers[10..].iter().all(|l| l == "/login?error=throttled"),
        "{answers:?}"
    );
}

/// The advisory lock behind `app::db::Singleton`, as `pg_locks` shows it: who holds it.
async fn singleton_holders(app: &TestApp) -> Vec<i64> {
    sqlx::query_scalar(
        "SELECT CAST(pid AS BIGINT) FROM pg_locks WHERE locktype = 'advisory' AND granted \
         AND classid = CAST(x'67617465' AS BIGINT) AND objid = CAST(x'686f7574' AS BIGINT)",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_databases_background_work_runs_on_one_server_and_moves_when_it_stops() {
    let pg = Postgres::new().await;
    let a = server_on(&pg.url, |_| {}).await;
    within(
        Duration::from_secs(8),
        "a server doing the work",
        async || singleton_holders(&a).await.len() == 1,
    )
    .await;
    let b = server_on(&pg.url, |_| {}).await;
    // Both servers ask every few seconds; A still holds it, alone.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let holder = singleton_holders(&a).await;
    assert_eq!(holder.len(), 1, "{holder:?}");
    drop(a);
    within(Duration::from_secs(12), "B taking over", async || {
        let now = singleton_holders(&b).await;
        now.len() == 1 && now != holder
    })
    .await;
}

/// The database stops during a burst of writes and starts again: meanwhile requests get a 503
/// that says why (no 500, no hang past the pool's wait) and `/healthz` says 503; afterwards
/// the same server serves again without a restart, every acknowledged change is there, and
/// none is there half (a principal without its audit entry).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_database_going_away_and_coming_back_needs_no_restart() {
    let pg = Postgres::own().await;
    let app = server_on(&pg.url, |_| {}).await;
    let admin = app.client_as(Some(Role::Admin)).await;
    let add = |n: usize| {
        let body = format!("kind=group&principal=Burst%20{n}&role=viewer");
        let (app, admin) = (&app, &admin);
        async move {
            let res = app
                .call_server_fn(admin, "/rpc/principals_add", &body)
                .await;
            let status = res.status();
            let text = res.text().await.unwrap_or_default();
            (status, text)
        }
    };
    let mut answers = Vec::new();
    for n in 0..20 {
        answers.push((n, add(n).await));
    }
    pg.cluster("halt");
    let health = || async { reqwest::get(app.url("/healthz")).await.unwrap().status() };
    within(Duration::from_secs(5), "/healthz saying 503", async || {
        health().await == StatusCode::SERVICE_UNAVAILABLE
    })
    .await;
    for n in 20..22 {
        let started = Instant::now();
        let answer = add(n).await;
        assert!(started.elapsed() < Duration::from_secs(10), "a hang");
        assert_eq!(answer.0, StatusCode::SERVICE_UNAVAILABLE, "{answer:?}");
        assert!(
            answer.1.contains("database cannot be reached"),
            "{answer:?}"
        );
        answers.push((n, answer));
    }
    // A page asks for HTML: it gets a page that says so.
    let page = admin
        .get(app.url("/admin/security/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("database cannot be reached")
    );
    pg.cluster("resume");
    within(
        Duration::from_secs(15),
        "/healthz saying 200 again",
        async || health().await == StatusCode::OK,
    )
    .await;
    for n in 23..40 {
        answers.push((n, add(n).await));
    }
    for (n, (status, text)) in &answers {
        assert!(
            *status == StatusCode::OK || *status == StatusCode::SERVICE_UNAVAILABLE,
            "write {n}: {status} {text}"
        );
    }
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name FROM principals WHERE kind = 'group' ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    for (n, (status, _)) in &answers {
        if *status == StatusCode::OK {
            assert!(
                names.contains(&format!("Burst {n}")),
                "Burst {n} was acknowledged"
            );
        }
    }
    assert_eq!(
        unaudited_groups(&app).await,
        0,
        "a group without its audit entry"
    );
    // The session made before the outage still works.
    assert_eq!(
        app.rpc(&admin, "/rpc/current_user", "").await["email"],
        ADMIN_EMAIL
    );
}

/// A server process, the real binary, on `url`: killed with SIGKILL when dropped.
struct Process {
    child: std::process::Child,
    address: String,
}

impl Process {
    fn start(url: &str) -> Self {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .env("GATEHOUSE_DATABASE_URL", url)
            .env("GATEHOUSE_MASTER_KEY", postgres_master_key(url))
            .env("GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("GATEHOUSE_LOGIN_ATTEMPTS_PER_MINUTE", "1000")
            .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
            .env("RUST_LOG", "info")
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the server binary starts");
        let stderr = child.stderr.take().expect("its log");
        let mut lines = std::io::BufReader::new(stderr).lines();
        let address = loop {
            let line = lines
                .next()
                .expect("the server logs that it listens")
                .expect("a log line");
            if let Some(at) = line
                .split("addr=")
                .nth(1)
                .filter(|_| line.contains("listening"))
            {
                break format!("http://{}", at.trim());
            }
        };
        // Keep reading its log, so that the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, address }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One of two servers is killed (SIGKILL) during a burst of writes through both: the other
/// goes on serving every request, and every change either server acknowledged is there, whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_one_of_two_servers_mid_write_loses_nothing() {
    let pg = Postgres::new().await;
    let survivor = server_on(&pg.url, |_| {}).await;
    let mut doomed = Some(Process::start(&pg.url));
    let doomed_address = doomed.as_ref().map(|p| p.address.clone()).unwrap();
    let admin = survivor.client_as(Some(Role::Admin)).await;
    let mut acknowledged = Vec::new();
    for n in 0..60 {
        if n == 30 {
            // SIGKILL: no shutdown, no flush; its connections simply break.
            doomed.take();
        }
        let (base, name) = if n % 2 == 0 {
            (survivor.address.clone(), format!("Survivor {n}"))
        } else {
            (doomed_address.clone(), format!("Doomed {n}"))
        };
        let sent = admin
            .post(format!("{base}/rpc/principals_add"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(format!(
                "kind=group&principal={}&role=viewer",
                name.replace(' ', "%20")
            ))
            .send()
            .await;
        match sent {
            Ok(res) if res.status() == StatusCode::OK => acknowledged.push(name),
            Ok(res) => panic!("{name}: {}", res.status()),
            // The killed server's port refuses connections.
            Err(e) => assert!(n >= 30 && n % 2 == 1, "{name}: {e}"),
        }
    }
    assert_eq!(
        acknowledged
            .iter()
            .filter(|n| n.starts_with("Survivor"))
            .count(),
        30,
        "the surviving server answered every request"
    );
    assert!(
        acknowledged
            .iter()
            .filter(|n| n.starts_with("Doomed"))
            .count()
            >= 15
    );
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM principals WHERE kind = 'group'")
        .fetch_all(&survivor.pool)
        .await
        .unwrap();
    for name in &acknowledged {
        assert!(names.contains(name), "{name} was acknowledged");
    }
    assert_eq!(
        unaudited_groups(&survivor).await,
        0,
        "a group without its audit entry"
    );
    let verdict = survivor.rpc(&admin, "/rpc/audit_verify", "").await;
    assert_eq!(verdict["state"], "intact", "{verdict}");
}

/// Waits (at most a second) until `server` refuses the frame's calls with `session`: a change
/// made through the other server ended it.
async fn session_ends_within_a_second(server: &TestApp, session: &str, what: &str) {
    within(Duration::from_secs(1), what, async || {
        crate::embed::frame_call(server, session, "/rpc/api_overview", "")
            .await
            .status()
            == StatusCode::UNAUTHORIZED
    })
    .await;
}

/// An embed session and a single-use embed token are the database's: a frame's calls may
/// reach any server, a token used on one is refused on the other, and a portal removed through
/// one ends its sessions on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn embed_sessions_and_tokens_work_whichever_server_a_frame_reaches() {
    use crate::embed::{PORTAL, claims, exchange, frame_call, refused_with, set_up, sign};
    let pg = Postgres::new().await;
    let a = server_on(&pg.url, |_| {}).await;
    let b = server_on(&pg.url, |_| {}).await;
    let (admin, secret) = set_up(&a).await;
    let token = sign(&secret, &claims(ADMIN_EMAIL));
    let res = exchange(&a, &token, PORTAL).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = res.json().await.unwrap();
    let session = body["session"].as_str().unwrap().to_owned();
    let me = frame_call(&b, &session, "/rpc/current_user", "").await;
    assert_eq!(me.status(), StatusCode::OK);
    refused_with(&b, &token, PORTAL, "token_replayed").await;
    a.rpc(
        &admin,
        "/rpc/embed_origin_remove",
        "origin=https%3A%2F%2Fportal.example.com",
    )
    .await;
    session_ends_within_a_second(&b, &session, "the removed portal on B").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ending_a_user_s_sessions_and_access_through_one_server_holds_on_the_other() {
    let pg = Postgres::new().await;
    let a = server_on(&pg.url, |_| {}).await;
    let b = server_on(&pg.url, |_| {}).await;
    let admin = a.client_as(Some(Role::Admin)).await;
    let signed_in_on_b = async |email: &str| {
        let user = client();
        let res = b.post_login(&user, email, PASSWORD, "").await;
        assert_eq!(location(&res), "/admin/security/users");
        assert_eq!(b.rpc(&user, "/rpc/current_user", "").await["email"], email);
        user
    };
    let id_of = async |email: &str| {
        count(
            &a,
            &format!("SELECT id FROM principals WHERE handle = '{email}'"),
        )
        .await
    };
    let email = a.add_user(Role::Contributor).await;
    let id = id_of(&email).await;

    // End sessions (Users tab) through A: the session on B ends.
    let user = signed_in_on_b(&email).await;
    a.rpc(&admin, "/rpc/user_end_sessions", &format!("id={id}"))
        .await;
    within(Duration::from_secs(1), "ended sessions on B", async || {
        b.rpc(&user, "/rpc/current_user", "").await.is_null()
    })
    .await;

    // A password reset through A: the session on B ends and the old password stops working.
    let user = signed_in_on_b(&email).await;
    a.rpc(&admin, "/rpc/user_reset_password", &format!("id={id}"))
        .await;
    within(Duration::from_secs(1), "the reset on B", async || {
        b.rpc(&user, "/rpc/current_user", "").await.is_null()
    })
    .await;
    let res = b.post_login(&client(), &email, PASSWORD, "").await;
    assert_eq!(location(&res), "/login?error=invalid");

    // Removed through A: gone on B.
    let other = a.add_user(Role::Contributor).await;
    let other_id = id_of(&other).await;
    let user = signed_in_on_b(&other).await;
    a.rpc(&admin, "/rpc/principals_remove", &format!("id={other_id}"))
        .await;
    within(Duration::from_secs(1), "the removal on B", async || {
        b.rpc(&user, "/rpc/current_user", "").await.is_null()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_embed_secret_regenerated_through_one_server_is_refused_on_the_other() {
    use crate::embed::{PORTAL, claims, exchange, refused_with, set_up, sign};
    let pg = Postgres::new().await;
    let a = server_on(&pg.url, |_| {}).await;
    let b = server_on(&pg.url, |_| {}).await;
    let (admin, secret) = set_up(&a).await;
    let res = exchange(&b, &sign(&secret, &claims(ADMIN_EMAIL)), PORTAL).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = res.json().await.unwrap();
    let session = body["session"].as_str().unwrap().to_owned();
    a.rpc(
        &admin,
        "/rpc/embed_origin_secret_regenerate",
        "origin=https%3A%2F%2Fportal.example.com",
    )
    .await;
    session_ends_within_a_second(&b, &session, "the old secret's session on B").await;
    refused_with(
        &b,
        &sign(&secret, &claims(ADMIN_EMAIL)),
        PORTAL,
        "bad_signature",
    )
    .await;
}
