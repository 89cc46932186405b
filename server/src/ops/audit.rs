//! `gatehouse audit verify [--checkpoint JSON]` and `gatehouse audit checkpoint`: the audit
//! log's chain, recomputed under the key derived from the server's master key (the same answer
//! as `GET /api/v1/audit/verify` and the Users tab's **Verify**), and held against a checkpoint.

use crate::{config::Config, db, error::StartupError, master_key};
use app::audit::chain::{self, AuditKey, Checkpoint, Verdict};
use app::db::Pool;

async fn open(config: &Config) -> Result<(Pool, AuditKey), StartupError> {
    let Some((key, _)) = master_key::current(config)? else {
        return Err(StartupError::Config(
            "there is no master key yet, so there is no audit chain: start the server once first"
                .into(),
        ));
    };
    let key = AuditKey::derive(&key);
    Ok((db::connect(&config.database_url, Some(key)).await?, key))
}

/// The chain recomputed; with `checkpoint` (JSON, from `gatehouse audit checkpoint` or the
/// SIEM's `audit.checkpoint` entry), also whether the log still reaches it.
pub async fn verify_audit(
    config: &Config,
    checkpoint: Option<&str>,
) -> Result<Verdict, StartupError> {
    let checkpoint: Option<Checkpoint> =
        checkpoint
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| {
                StartupError::Config(format!("--checkpoint is not a checkpoint's JSON: {e}"))
            })?;
    let (pool, key) = open(config).await?;
    let mut conn = pool.acquire().await?;
    let verdict = match &checkpoint {
        Some(c) => chain::verify_against(&mut conn, &key, c).await?,
        None => chain::verify(&mut conn, &key).await?,
    };
    drop(conn);
    pool.close().await;
    Ok(verdict)
}

/// `gatehouse audit checkpoint`: a signed checkpoint of the head, also recorded in the log.
pub async fn checkpoint(config: &Config) -> Result<Checkpoint, StartupError> {
    let (pool, _) = open(config).await?;
    let mut tx = app::db::begin_write(&pool).await?;
    let checkpoint = chain::checkpoint(&mut tx).await?;
    tx.commit().await?;
    pool.close().await;
    Ok(checkpoint)
}
