//! The principals list at 1,000,000 principals (one search engine on both databases: every list
//! query p50 ≤ 10 ms and p99 ≤ 30 ms). Seeds a fresh SQLite database (or the PostgreSQL one in
//! `BENCH_DATABASE_URL`, with `BENCH_MASTER_KEY`) through the real migrations and triggers,
//! reports the seeding time and the database's size, loads the search index, then
//! times each query through the same function the server function and the REST API call, and
//! the whole page through HTTP with a signed-in Admin. Run: `bash scripts/bench-principals.sh`
//! (`PRINCIPALS=100000` for a quicker look; `BENCH_DB=file` keeps the seeded database in `file` and
//! reuses it on the next run; `BENCH_CASES=text` times only the cases whose label holds `text`;
//! `RUST_LOG=sqlx::query=debug` prints every statement with its time).

use app::db::Pool;
use app::users::{
    ListQuery, SortKey,
    ssr::{index::Index, list},
};
use gatehouse::{Application, config::Config};
use leptos::config::LeptosOptions;
use rand::{Rng, SeedableRng, rngs::StdRng};
use std::time::{Duration, Instant};

const RUNS: usize = 200;
const PAGE_RUNS: usize = 100;
/// Untimed runs of each case before its timed ones.
const WARM_UP: usize = 5;
const ADMIN: (&str, &str) = ("bench@gatehouse.test", "bench password 1");
const DOMAINS: [&str; 10] = [
    "example.org",
    "example.org",
    "example.org",
    "example.org",
    "contoso.com",
    "contoso.com",
    "contoso.com",
    "fabrikam.net",
    "fabrikam.net",
    "northwind.io",
];

/// Made-up names from syllables: 500 first names and 3,000 surnames, so that a first name is
/// shared by about 2,000 principals and a surname by about 300 (a real directory's spread).
fn names(rng: &mut StdRng, count: usize, syllables: usize) -> Vec<String> {
    const SYLLABLES: [&str; 26] = [
        "an", "ber", "ca", "da", "el", "fi", "go", "ha", "is", "jo", "ka", "li", "mo", "na", "or",
        "pe", "qu", "ra", "si", "to", "ul", "vi", "wa", "xe", "yo", "za",
    ];
    const ENDINGS: [&str; 6] = ["", "n", "son", "er", "ez", "ski"];
    let mut names = std::collections::BTreeSet::new();
    while names.len() < count {
        let mut name: String = (0..syllables)
            .map(|_| SYLLABLES[rng.random_range(0..SYLLABLES.len())])
            .collect();
        name.push_str(ENDINGS[rng.random_range(0..ENDINGS.len())]);
        let mut chars = name.chars();
        let first = chars.next().unwrap().to_ascii_uppercase();
        names.insert(std::iter::once(first).chain(chars).collect::<String>());
    }
    names.into_iter().collect()
}

/// The names the cases search for, and whether the principals were seeded now.
async fn seed(pool: &Pool, count: usize) -> (Vec<String>, Vec<String>, bool) {
    let mut rng = StdRng::seed_from_u64(7);
    let first_names = names(&mut rng, 500, 2);
    let surnames = names(&mut rng, 3_000, 3);
    // A kept database seeded before: the names above are all the cases need from it.
    let seeded: i64 = sqlx::query_scalar("SELECT count(*) FROM principals")
        .fetch_one(pool)
        .await
        .unwrap();
    if seeded >= count as i64 {
        println!("BENCH_DB holds {seeded} principals (the bench's admin among them)");
        return (first_names, surnames, false);
    }
    let rows: Vec<_> = (0..count)
        .map(|i| {
            let first = &first_names[rng.random_range(0..first_names.len())];
            let last = &surnames[rng.random_range(0..surnames.len())];
            let role =
                ["viewer", "viewer", "viewer", "contributor", "admin"][rng.random_range(0..5)];
            let (kind, name, handle) = match i % 20 {
                0 => ("group", format!("{last} team {i}"), format!("group-{i:07}")),
                1 => (
                    "application",
                    format!("{first} sync {i}"),
                    format!("app-{i:07}"),
                ),
                _ => (
                    "user",
                    format!("{first} {last}"),
                    format!(
                        "{}.{}{i}@{}",
                        first.to_lowercase(),
                        last.to_lowercase(),
                        DOMAINS[rng.random_range(0..DOMAINS.len())]
                    ),
                ),
            };
            (kind, name, handle, role)
        })
        .collect();
    let mut tx = pool.begin().await.unwrap();
    for chunk in rows.chunks(5_000) {
        // `$n` parameters, which both databases take (sqlx's QueryBuilder writes `?` for Any).
        let values: Vec<String> = (0..chunk.len())
            .map(|r| {
                let p: Vec<String> = (1..=5).map(|c| format!("${}", r * 5 + c)).collect();
                format!("({})", p.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO principals (kind, name, handle, role, password_hash) VALUES {}",
            values.join(", ")
        );
        let mut insert = sqlx::query(&sql);
        for (kind, name, handle, role) in chunk {
            insert = insert
                .bind(*kind)
                .bind(name)
                .bind(handle)
                .bind(*role)
                .bind((*kind == "user").then_some("not-a-real-hash"));
        }
        insert.execute(&mut *tx).await.unwrap();
    }
    // Every group gets five members: the users with the next ids (a join on ranges would
    // make SQLite pair every group with every principal).
    sqlx::query(
        "WITH k(n) AS (VALUES (2), (3), (4), (5), (6)) \
         INSERT INTO group_members (group_id, user_id) \
         SELECT g.id, g.id + k.n FROM principals g, k \
         WHERE g.kind = 'group' \
         AND EXISTS (SELECT 1 FROM principals u WHERE u.id = g.id + k.n AND u.kind = 'user')",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    sqlx::query("ANALYZE").execute(pool).await.unwrap();
    if app::db::Backend::of(pool) == app::db::Backend::Sqlite {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(pool)
            .await
            .unwrap();
    }
    (first_names, surnames, true)
}

fn report(label: &str, mut samples: Vec<Duration>, extra: &str) {
    samples.sort();
    let pct = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
    println!(
        "{label:<48} p50 {:>7.3} ms  p99 {:>7.3} ms  max {:>7.3} ms  {extra}",
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        samples.last().unwrap().as_secs_f64() * 1e3,
    );
}

fn query(q: &str, sort: SortKey, descending: bool) -> ListQuery {
    ListQuery {
        q: q.into(),
        sort,
        descending,
        after: None,
        before: None,
    }
}

/// The cursor of the row at `offset` in `key`'s ascending order: a deep page's address.
/// The cursor of the principal with this id (ids are given in seeding order, which is no
/// sort's: a place somewhere in each).
async fn cursor_at(pool: &Pool, key: SortKey, id: i64) -> String {
    let mut conn = pool.acquire().await.unwrap();
    list::cursor(key, &list::one(&mut conn, id).await.unwrap())
}

#[tokio::main]
async fn main() {
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .init();
    }
    let dir = tempfile::tempdir().unwrap();
    let db = std::env::var_os("BENCH_DB")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().join("bench.db"));
    let mut config = Config::defaults();
    config.addr = "127.0.0.1:0".into();
    config.database_url = format!("sqlite://{}", db.display());
    // PostgreSQL instead (`scripts/bench-principals.sh` gives it a throwaway cluster).
    if let Ok(url) = std::env::var("BENCH_DATABASE_URL") {
        config.database_url = url;
        config.master_key = Some(std::env::var("BENCH_MASTER_KEY").unwrap().into());
    }
    config.bootstrap_admin_email = ADMIN.0.into();
    config.bootstrap_admin_password = Some(ADMIN.1.to_owned().into());
    let app = Application::build(
        &config,
        LeptosOptions::builder().output_name("gatehouse").build(),
    )
    .await
    .unwrap();
    let pool = app.pool();
    let count: usize = std::env::var("PRINCIPALS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let started = Instant::now();
    let (first_names, surnames, seeded) = seed(&pool, count).await;
    let how = if seeded { "seeded" } else { "reused" };
    let size: i64 = match app::db::Backend::of(&pool) {
        app::db::Backend::Sqlite => std::fs::metadata(&db).unwrap().len() as i64,
        app::db::Backend::Postgres => {
            sqlx::query_scalar("SELECT pg_database_size(current_database())")
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    println!(
        "{how} {count} principals on {:?} in {:.1} s; database {:.0} MB",
        app::db::Backend::of(&pool),
        started.elapsed().as_secs_f64(),
        size as f64 / 1e6
    );

    // The search index that each server process keeps in memory; its size as the growth of
    // the process's own (anonymous) memory, not counting the database pages mapped.
    let heap = || {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                let line = s.lines().find(|l| l.starts_with("RssAnon:"))?;
                line.split_whitespace().nth(1)?.parse::<f64>().ok()
            })
            .map_or(0.0, |kb| kb / 1e3)
    };
    let (before, started) = (heap(), Instant::now());
    let index = Index::default();
    let mut conn = pool.acquire().await.unwrap();
    index.update(&mut conn).await.unwrap();
    drop(conn);
    let (held, bytes) = index.footprint().unwrap();
    println!(
        "search index: {held} principals loaded in {:.2} s, text {:.0} MB ({:.0} bytes each); \
         the process's anonymous memory {before:.0} MB before, {:.0} MB after",
        started.elapsed().as_secs_f64(),
        bytes as f64 / 1e6,
        bytes as f64 / held.max(1) as f64,
        heap()
    );

    let first_name = first_names[250].to_lowercase();
    let surname = surnames[1_500].to_lowercase();
    let fragment: String = surname.chars().skip(1).take(4).collect();
    // The start of a first name: more than 5,000 matches, most of them together in the Name
    // order (the page is found by walking the sort's index to them).
    let name_start: String = first_name.chars().take(4).collect();
    let email: String = sqlx::query_scalar(
        "SELECT handle FROM principals WHERE kind = 'user' ORDER BY id LIMIT 1 OFFSET $1",
    )
    .bind((count / 2) as i64)
    .fetch_one(&pool)
    .await
    .unwrap();
    let mut cases: Vec<(String, ListQuery)> = Vec::new();
    for key in SortKey::ALL {
        for descending in [false, true] {
            let dir = if descending { "desc" } else { "asc" };
            cases.push((
                format!("first page, by {} {dir}", key.label()),
                query("", key, descending),
            ));
        }
    }
    for key in SortKey::ALL {
        let deep = cursor_at(&pool, key, (count / 2) as i64).await;
        cases.push((
            format!("page after row {}, by {}", count / 2, key.label()),
            ListQuery {
                after: Some(deep.clone()),
                ..query("", key, false)
            },
        ));
        cases.push((
            format!("page before row {}, by {}", count / 2, key.label()),
            ListQuery {
                before: Some(deep),
                ..query("", key, false)
            },
        ));
    }
    for (q, what) in [
        ("example.org", "a domain, many"),
        (".net", "a domain, many"),
        (first_name.as_str(), "a first name"),
        (surname.as_str(), "a surname"),
        (fragment.as_str(), "inside a surname"),
        (name_start.as_str(), "a first name's start, many"),
        (email.as_str(), "one email"),
        ("k", "1 character"),
        ("ka", "2 characters"),
        ("qqqq", "nothing"),
    ] {
        for key in SortKey::ALL {
            cases.push((
                format!("\"{q}\" ({what}), by {}", key.label()),
                query(q, key, false),
            ));
        }
    }
    // A search's second page, through the cursor its first page handed out.
    for q in ["example.org", first_name.as_str()] {
        let first = list::page(&pool, &index, &query(q, SortKey::Name, false))
            .await
            .unwrap();
        cases.push((
            format!("\"{q}\", its second page, by Name"),
            ListQuery {
                after: first.next,
                ..query(q, SortKey::Name, false)
            },
        ));
    }

    if let Ok(only) = std::env::var("BENCH_CASES") {
        cases.retain(|(label, _)| label.contains(&only));
    }
    println!("\nlist query (rows + total), {RUNS} runs each");
    for (label, q) in &cases {
        let mut samples = Vec::with_capacity(RUNS);
        let mut total = (0, false, 0);
        // A few untimed runs first: the database's and the index's caches warm up, and the
        // first case does not carry what the start left behind (autovacuum, background work).
        for _ in 0..WARM_UP {
            list::page(&pool, &index, q).await.unwrap();
        }
        for _ in 0..RUNS {
            let t = Instant::now();
            let page = list::page(&pool, &index, q).await.unwrap();
            samples.push(t.elapsed());
            total = (page.total, page.total_capped, page.principals.len());
        }
        let (n, capped, shown) = total;
        let more = if capped { ">" } else { "" };
        report(label, samples, &format!("({more}{n} match, {shown} shown)"));
    }

    let port = app.port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    client
        .post(format!("{base}/auth/login"))
        .form(&[("email", ADMIN.0), ("password", ADMIN.1), ("next", "")])
        .send()
        .await
        .unwrap();
    println!(
        "\nGET /admin/security/users, server render with a signed-in Admin, {PAGE_RUNS} runs each"
    );
    let deep = cursor_at(&pool, SortKey::Role, (count / 2) as i64).await;
    for path in [
        "/admin/security/users".to_owned(),
        "/admin/security/users?q=example.org".to_owned(),
        format!("/admin/security/users?q={surname}"),
        format!("/admin/security/users?sort=-role&before={deep}"),
    ] {
        let mut samples = Vec::with_capacity(PAGE_RUNS);
        let mut bytes = 0;
        for _ in 0..WARM_UP {
            client.get(format!("{base}{path}")).send().await.unwrap();
        }
        for _ in 0..PAGE_RUNS {
            let t = Instant::now();
            let res = client.get(format!("{base}{path}")).send().await.unwrap();
            assert_eq!(res.status(), 200, "{path}");
            bytes = res.bytes().await.unwrap().len();
            samples.push(t.elapsed());
        }
        report(&path, samples, &format!("({bytes} bytes)"));
    }
    let _ = stop.send(());
}
