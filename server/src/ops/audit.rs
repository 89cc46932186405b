//! `gatehouse audit verify`: the audit log's chain, recomputed under the key derived from the
//! server's master key; the same answer as `GET /api/v1/audit/verify` and the Users tab's
//! **Verify**.

use crate::{config::Config, db, error::StartupError, master_key};
use app::audit::chain::{self, AuditKey, Verdict};

pub async fn verify_audit(config: &Config) -> Result<Verdict, StartupError> {
    let Some((key, _)) = master_key::current(config)? else {
        return Err(StartupError::Config(
            "there is no master key yet, so there is no audit chain: start the server once first"
                .into(),
        ));
    };
    let pool = db::connect(&config.database_url, Some(AuditKey::derive(&key))).await?;
    let verdict = chain::verify_here(&mut *pool.acquire().await?).await?;
    pool.close().await;
    Ok(verdict)
}
