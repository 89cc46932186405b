//! The audit chain's cost on the write path and the streaming's delivery lag
//! (`scripts/bench-audit.sh`): admin changes per second with and without the chain, in the
//! same run on the same database, and how long 1,000 changes written in a burst take to reach a
//! syslog receiver (p50, p99).

use app::{
    audit::{
        chain,
        ssr::{Entry, record},
        stream::{self, SyslogTarget},
    },
    roles::{Role, UserInfo},
};
use gatehouse::config::Config;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use tokio::io::AsyncReadExt;

const CHANGES: usize = 2_000;
const BURST: i64 = 1_000;

fn admin() -> UserInfo {
    UserInfo {
        id: 1,
        email: "bench@gatehouse.test".into(),
        name: "Bench".into(),
        role: Role::Admin,
        lockbox_approver: false,
    }
}

/// One admin change as the Users tab makes it: a role update and its audit row, committed.
async fn change(pool: &app::db::Pool, chained: bool) {
    let mut tx = app::db::begin_write(pool).await.unwrap();
    sqlx::query("UPDATE principals SET role = 'admin' WHERE id = 1")
        .execute(&mut *tx)
        .await
        .unwrap();
    if chained {
        let me = admin();
        record(
            &mut tx,
            Entry {
                actor: Some(&me),
                action: "principal.role",
                target: Some("someone@bench.test"),
                detail: "viewer -> contributor",
                client_addr: Some("192.0.2.1"),
            },
        )
        .await
        .unwrap();
    } else {
        // The row as it was written before the chain: no sequence, no MAC.
        sqlx::query(
            "INSERT INTO audit_log (at, actor_id, actor_email, action, target, detail, client_addr) \
             VALUES (unixepoch(), 1, 'bench@gatehouse.test', 'principal.role', \
             'someone@bench.test', 'viewer -> contributor', '192.0.2.1')",
        )
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::defaults();
    config.database_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    config.master_key = Some(
        "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
            .to_owned()
            .into(),
    );
    let pool = gatehouse::prepare_database(&config).await.unwrap();

    // Alternating rounds, so that drift in the machine's load hits both alike.
    let (mut plain, mut chained) = (Duration::ZERO, Duration::ZERO);
    for _round in 0..4 {
        for chain_it in [false, true] {
            let started = Instant::now();
            for _ in 0..CHANGES / 4 {
                change(&pool, chain_it).await;
            }
            *if chain_it { &mut chained } else { &mut plain } += started.elapsed();
        }
    }
    let rate = |d: Duration| CHANGES as f64 / d.as_secs_f64();
    println!(
        "admin changes per second: {:.0} without the chain, {:.0} with it ({:+.1}%)",
        rate(plain),
        rate(chained),
        (rate(chained) / rate(plain) - 1.0) * 100.0
    );
    // The unchained rows are chained (as at a start after the upgrade) before streaming.
    let mut tx = app::db::begin_write(&pool).await.unwrap();
    chain::chain_unchained_here(&mut tx).await.unwrap();
    tx.commit().await.unwrap();

    // A receiver that notes when each sequence number arrives.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let arrived: Arc<Mutex<HashMap<i64, Instant>>> = Arc::default();
    let kept = arrived.clone();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let (mut buffer, mut chunk) = (Vec::new(), vec![0u8; 65536]);
        loop {
            let n = stream.read(&mut chunk).await.unwrap();
            if n == 0 {
                return;
            }
            buffer.extend_from_slice(&chunk[..n]);
            while let Some(space) = buffer.iter().position(|b| *b == b' ') {
                let len: usize = std::str::from_utf8(&buffer[..space])
                    .unwrap()
                    .parse()
                    .unwrap();
                if buffer.len() < space + 1 + len {
                    break;
                }
                let message =
                    String::from_utf8_lossy(&buffer[space + 1..space + 1 + len]).into_owned();
                buffer.drain(..space + 1 + len);
                let seq = message
                    .split("seq=\"")
                    .nth(1)
                    .and_then(|s| s.split('"').next())
                    .and_then(|s| s.parse().ok())
                    .unwrap();
                kept.lock().unwrap().insert(seq, Instant::now());
            }
        }
    });
    // Everything so far is delivered first; then the burst is timed.
    let target = SyslogTarget::parse(&format!("tcp://{address}"), None).unwrap();
    let singleton = std::sync::Arc::new(app::db::Singleton::new(&pool));
    tokio::spawn(stream::run(
        pool.clone(),
        stream::Syslog::new(target, "bench".into()),
        singleton,
    ));
    let head: i64 = sqlx::query_scalar("SELECT max(seq) FROM audit_log")
        .fetch_one(&pool)
        .await
        .unwrap();
    while !arrived.lock().unwrap().contains_key(&head) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut written = HashMap::new();
    for n in 0..BURST {
        change(&pool, true).await;
        written.insert(head + 1 + n, Instant::now());
    }
    let last = head + BURST;
    while !arrived.lock().unwrap().contains_key(&last) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let arrived = arrived.lock().unwrap();
    let mut lags: Vec<Duration> = written
        .iter()
        .map(|(seq, at)| arrived[seq].saturating_duration_since(*at))
        .collect();
    lags.sort();
    println!(
        "delivery lag of a burst of {BURST} changes: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        percentile(&lags, 0.5).as_secs_f64() * 1e3,
        percentile(&lags, 0.99).as_secs_f64() * 1e3,
        lags.last().unwrap().as_secs_f64() * 1e3
    );
}
