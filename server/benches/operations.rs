//! The operator's commands at size: `gatehouse backup` and `gatehouse rotate-master-key` on a
//! database of 1,000,000 principals and 10,000 audit entries (`PRINCIPALS=n`, `AUDIT=n` for
//! other sizes), seeded through the real migrations. Run by `scripts/bench-operations.sh`.

use gatehouse::{config::Config, ops};
use std::time::Instant;

fn key(byte: u8) -> [u8; 32] {
    [byte; 32]
}

fn base64(key: [u8; 32]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(key)
}

fn size(name: &str, default: i64) -> i64 {
    std::env::var(name)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    let mut config = Config::defaults();
    config.database_url = format!("sqlite://{}", db.display());
    config.master_key = Some(base64(key(1)).into());
    let (principals, audit) = (size("PRINCIPALS", 1_000_000), size("AUDIT", 10_000));

    let started = Instant::now();
    let pool = gatehouse::prepare_database(&config).await.unwrap();
    let sealer = app::api_keys::ssr::sealing::Sealer::new(&key(1));
    assert!(
        app::api_keys::ssr::store::check_master_key(&pool, &sealer)
            .await
            .unwrap()
    );
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
         INSERT INTO principals (kind, name, handle, role) \
         SELECT 'user', 'Person ' || i, 'person' || i || '@bench.test', 'viewer' FROM n",
    )
    .bind(principals)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
         INSERT INTO audit_log (at, actor_email, action, target, detail) \
         SELECT unixepoch(), 'bench@bench.test', 'principal.role', 'person' || i || '@bench.test', \
         'viewer -> contributor' FROM n",
    )
    .bind(audit)
    .execute(&pool)
    .await
    .unwrap();
    // Sealed values as a busy installation has them: 100 stored connection secrets.
    for n in 0..100 {
        let sealed = sealer.seal(b"a stored secret", b"gatehouse connection.secret");
        sqlx::query(
            "INSERT INTO connections (name, kind, settings, secret_nonce, secret_ciphertext, \
             audience, created_at, updated_at) VALUES ($1, 'webhook', '{}', $2, $3, 'admin', 0, 0)",
        )
        .bind(format!("bench-{n}"))
        .bind(sealed.nonce)
        .bind(sealed.ciphertext)
        .execute(&pool)
        .await
        .unwrap();
    }
    // Chained as a server chains entries written before the chain (the rotation checks it).
    let mut tx = app::db::begin_write(&pool).await.unwrap();
    app::audit::chain::chain_unchained_here(&mut tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    pool.close().await;
    println!(
        "seeded {principals} principals and {audit} audit entries in {:.1} s; database {:.0} MB",
        started.elapsed().as_secs_f64(),
        std::fs::metadata(&db).unwrap().len() as f64 / 1e6
    );

    let target = dir.path().join("copy.db");
    let started = Instant::now();
    let done = ops::backup(&config, &target, false).await.unwrap();
    println!(
        "backup: {:.2} s for {:.0} MB",
        started.elapsed().as_secs_f64(),
        done.bytes as f64 / 1e6
    );

    let started = Instant::now();
    let rotated = ops::rotate_master_key(&config, key(2)).await.unwrap();
    let sealed: usize = rotated.resealed.iter().map(|(_, n)| n).sum();
    println!(
        "rotate-master-key: {:.2} s ({sealed} values sealed again)",
        started.elapsed().as_secs_f64()
    );
}
