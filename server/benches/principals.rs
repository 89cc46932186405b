//! The principals list at 100,000 principals (Users issue: p50 ≤ 5 ms per list query), and the
//! Users tab's server render at that size. Seeds a fresh SQLite database, then times each query
//! through the same function the server function and the REST API call, and the whole page
//! through HTTP with a signed-in Admin. Run: `bash scripts/bench-principals.sh`.

use app::users::{ListQuery, SortKey, ssr::list};
use gatehouse::{Application, config::Config};
use leptos::config::LeptosOptions;
use rand::{Rng, SeedableRng, rngs::StdRng};
use sqlx::SqlitePool;
use std::time::{Duration, Instant};

const PRINCIPALS: usize = 100_000;
const RUNS: usize = 300;
const PAGE_RUNS: usize = 100;
const ADMIN: (&str, &str) = ("bench@gatehouse.test", "bench password 1");

const FIRST: [&str; 24] = [
    "Ada",
    "Alan",
    "Barbara",
    "Claude",
    "Dennis",
    "Donald",
    "Edsger",
    "Frances",
    "Grace",
    "Hedy",
    "Ivan",
    "John",
    "Ken",
    "Leslie",
    "Margaret",
    "Niklaus",
    "Radia",
    "Shafi",
    "Tim",
    "Tony",
    "Vint",
    "Whitfield",
    "Yukihiro",
    "Zhores",
];
const LAST: [&str; 20] = [
    "Lovelace",
    "Turing",
    "Liskov",
    "Shannon",
    "Ritchie",
    "Knuth",
    "Dijkstra",
    "Allen",
    "Hopper",
    "Lamarr",
    "Sutherland",
    "McCarthy",
    "Thompson",
    "Lamport",
    "Hamilton",
    "Wirth",
    "Perlman",
    "Goldwasser",
    "Berners-Lee",
    "Hoare",
];

async fn seed(pool: &SqlitePool) {
    let mut rng = StdRng::seed_from_u64(7);
    let rows: Vec<_> = (0..PRINCIPALS)
        .map(|i| {
            let (first, last) = (
                FIRST[rng.random_range(0..24)],
                LAST[rng.random_range(0..20)],
            );
            let role =
                ["viewer", "viewer", "viewer", "contributor", "admin"][rng.random_range(0..5)];
            let (kind, name, handle) = match i % 20 {
                0 => ("group", format!("{last} team {i}"), format!("group-{i:06}")),
                1 => (
                    "application",
                    format!("{first} sync {i}"),
                    format!("app-{i:06}"),
                ),
                _ => (
                    "user",
                    format!("{first} {last}"),
                    format!(
                        "{}.{}{i}@example.com",
                        first.to_lowercase(),
                        last.to_lowercase()
                    ),
                ),
            };
            (kind, name, handle, role)
        })
        .collect();
    let mut tx = pool.begin().await.unwrap();
    for chunk in rows.chunks(5_000) {
        let mut insert = sqlx::QueryBuilder::new(
            "INSERT INTO principals (kind, name, handle, role, password_hash) ",
        );
        insert.push_values(chunk, |mut b, (kind, name, handle, role)| {
            b.push_bind(*kind)
                .push_bind(name)
                .push_bind(handle)
                .push_bind(*role)
                .push_bind((*kind == "user").then_some("not-a-real-hash"));
        });
        insert.build().execute(&mut *tx).await.unwrap();
    }
    // Every group gets five members.
    sqlx::query(
        "INSERT INTO group_members (group_id, user_id) \
         SELECT g.id, u.id FROM principals g JOIN principals u \
         ON u.kind = 'user' AND u.id BETWEEN g.id + 2 AND g.id + 6 WHERE g.kind = 'group'",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    sqlx::query("ANALYZE").execute(pool).await.unwrap();
}

fn report(label: &str, mut samples: Vec<Duration>, extra: &str) {
    samples.sort();
    let pct = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
    println!(
        "{label:<44} p50 {:>8.3} ms  p95 {:>8.3} ms  max {:>8.3} ms  {extra}",
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.95).as_secs_f64() * 1e3,
        samples.last().unwrap().as_secs_f64() * 1e3,
    );
}

fn query(q: &str, sort: SortKey, descending: bool, page: u32) -> ListQuery {
    ListQuery {
        q: q.into(),
        sort,
        descending,
        page,
    }
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::defaults();
    config.addr = "127.0.0.1:0".into();
    config.database_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    config.bootstrap_admin_email = ADMIN.0.into();
    config.bootstrap_admin_password = Some(ADMIN.1.to_owned().into());
    let app = Application::build(
        &config,
        LeptosOptions::builder().output_name("gatehouse").build(),
    )
    .await
    .unwrap();
    let pool = app.pool();
    let started = Instant::now();
    seed(&pool).await;
    println!(
        "seeded {PRINCIPALS} principals in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // The cases (first page, a search, each sort), then harder ones: a deep page, and
    // searches that match thousands of principals sorted by another column.
    let mut cases: Vec<(String, ListQuery)> = [
        ("first page, by name", query("", SortKey::Name, false, 1)),
        (
            "search \"mar\" (name prefix)",
            query("mar", SortKey::Name, false, 1),
        ),
        (
            "search \"grace.hopper1\" (email prefix)",
            query("grace.hopper1", SortKey::Name, false, 1),
        ),
        (
            "page 1000 (offset 49,950), by name",
            query("", SortKey::Name, false, 1000),
        ),
        (
            "search \"a\" (13% of all), by name",
            query("a", SortKey::Name, false, 1),
        ),
    ]
    .into_iter()
    .map(|(label, q)| (label.to_owned(), q))
    .collect();
    for key in SortKey::ALL {
        for descending in [false, true] {
            let dir = if descending {
                "descending"
            } else {
                "ascending"
            };
            cases.push((
                format!("sort by {} {dir}", key.label()),
                query("", key, descending, 1),
            ));
        }
    }
    for key in SortKey::ALL {
        cases.push((
            format!("search \"mar\", sort by {}", key.label()),
            query("mar", key, false, 1),
        ));
    }
    println!("\nlist query (rows + total), {RUNS} runs each");
    for (label, q) in &cases {
        let mut samples = Vec::with_capacity(RUNS);
        let mut total = 0;
        for _ in 0..RUNS {
            let t = Instant::now();
            let page = list::page(&pool, q).await.unwrap();
            samples.push(t.elapsed());
            total = page.total;
        }
        report(label, samples, &format!("({total} match)"));
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
    for path in [
        "/admin/security/users",
        "/admin/security/users?q=mar",
        "/admin/security/users?sort=-role&page=20",
    ] {
        let mut samples = Vec::with_capacity(PAGE_RUNS);
        let mut bytes = 0;
        for _ in 0..PAGE_RUNS {
            let t = Instant::now();
            let res = client.get(format!("{base}{path}")).send().await.unwrap();
            assert_eq!(res.status(), 200, "{path}");
            bytes = res.bytes().await.unwrap().len();
            samples.push(t.elapsed());
        }
        report(path, samples, &format!("({bytes} bytes)"));
    }
    let _ = stop.send(());
}
