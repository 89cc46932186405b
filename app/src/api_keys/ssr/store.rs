//! API key storage. Every change runs inside the caller's write transaction.

use super::{
    ApiKeys, format,
    ring::{CachedKey, Snapshot},
    sealing::{self, Aad, SealedColumn, Sealer},
};
use crate::db::Flag;
use crate::db::{Conn, Pool};
use crate::{
    api_keys::{ApiOverview, ApiState, Environment, Grace, KeySlot, KeySummary, RetiringKey},
    error::AppError,
};

use crate::time_fmt::unix_now;

#[derive(sqlx::FromRow)]
struct KeyRow {
    id: i64,
    slot: String,
    digest: Vec<u8>,
    hint: String,
    created_at: i64,
    expires_at: Option<i64>,
    last_used_at: Option<i64>,
    request_count: i64,
}

async fn live_keys(pool: &Pool, now: i64) -> Result<Vec<KeyRow>, AppError> {
    Ok(sqlx::query_as::<_, KeyRow>(
        "SELECT id, slot, digest, hint, created_at, expires_at, last_used_at, request_count \
         FROM api_keys WHERE expires_at IS NULL OR expires_at > $1 ORDER BY slot, expires_at",
    )
    .bind(now)
    .fetch_all(pool)
    .await?)
}

async fn enabled(pool: &Pool) -> Result<(bool, Option<i64>), AppError> {
    let (enabled, first): (Flag, Option<i64>) =
        sqlx::query_as("SELECT enabled, first_enabled_at FROM api_settings WHERE id = 1")
            .fetch_one(pool)
            .await?;
    Ok((enabled.0, first))
}

pub async fn environment(pool: &Pool) -> Result<Environment, AppError> {
    let (id, name, created_at): (String, String, i64) =
        sqlx::query_as("SELECT public_id, name, created_at FROM environment WHERE id = 1")
            .fetch_one(pool)
            .await?;
    Ok(Environment {
        id,
        name,
        created_at,
    })
}

/// Re-reads the ring from the database; call after every committed change.
pub async fn reload(keys: &ApiKeys, pool: &Pool) -> Result<(), AppError> {
    let _one_at_a_time = keys.ring.reload_lock.lock().await;
    let (enabled, _) = enabled(pool).await?;
    let rows = live_keys(pool, unix_now()).await?;
    let mut cached = Vec::with_capacity(rows.len());
    for row in rows {
        let (Some(slot), Ok(digest)) =
            (KeySlot::parse(&row.slot), <[u8; 32]>::try_from(row.digest))
        else {
            return Err(AppError::internal(format!(
                "api key {} is malformed",
                row.id
            )));
        };
        cached.push(CachedKey {
            id: row.id,
            slot,
            digest,
            expires_at: row.expires_at,
        });
    }
    let environment = environment(pool).await?;
    let environment_json = environment_json(&environment).into();
    keys.ring.replace(Snapshot {
        enabled,
        keys: cached,
        environment,
        environment_json,
    });
    Ok(())
}

/// The body of `GET /api/v1/environment` (its schema is in the OpenAPI document).
fn environment_json(env: &Environment) -> String {
    serde_json::json!({
        "id": env.id,
        "name": env.name,
        "apiStatus": "enabled",
        "created": crate::time_fmt::rfc3339(env.created_at),
    })
    .to_string()
}

pub async fn overview(pool: &Pool) -> Result<ApiOverview, AppError> {
    let (enabled, first_enabled_at) = enabled(pool).await?;
    let state = match (enabled, first_enabled_at) {
        (true, _) => ApiState::Enabled,
        (false, Some(_)) => ApiState::Disabled,
        (false, None) => ApiState::NeverEnabled,
    };
    let rows = live_keys(pool, unix_now()).await?;
    let mut keys = Vec::new();
    for slot in KeySlot::ALL {
        let of_slot = || rows.iter().filter(|r| r.slot == slot.as_str());
        let Some(current) = of_slot().find(|r| r.expires_at.is_none()) else {
            continue;
        };
        let previous = of_slot().find_map(|r| {
            r.expires_at.map(|expires_at| RetiringKey {
                masked: format::mask(&r.hint),
                expires_at,
            })
        });
        keys.push(KeySummary {
            slot,
            masked: format::mask(&current.hint),
            created_at: current.created_at,
            last_used_at: current.last_used_at,
            request_count: current.request_count,
            previous,
        });
    }
    Ok(ApiOverview { state, keys })
}

async fn insert_key(conn: &mut Conn, sealer: &Sealer, slot: KeySlot) -> Result<(), AppError> {
    let key = format::generate();
    let digest = sealing::digest(&key);
    let sealed = sealer.seal(key.as_bytes(), &digest);
    sqlx::query(
        "INSERT INTO api_keys (slot, digest, nonce, ciphertext, hint) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(slot.as_str())
    .bind(&digest[..])
    .bind(&sealed.nonce)
    .bind(&sealed.ciphertext)
    .bind(&key[key.len() - 4..])
    .execute(conn)
    .await?;
    Ok(())
}

async fn has_current_key(conn: &mut Conn, slot: KeySlot) -> Result<bool, AppError> {
    let has: Flag = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM api_keys WHERE slot = $1 AND expires_at IS NULL)",
    )
    .bind(slot.as_str())
    .fetch_one(conn)
    .await?;
    Ok(has.0)
}

/// Turns the API on, creating a key for each slot that has none (the first Enable).
pub async fn enable(conn: &mut Conn, sealer: &Sealer) -> Result<(), AppError> {
    for slot in KeySlot::ALL {
        if !has_current_key(conn, slot).await? {
            insert_key(conn, sealer, slot).await?;
        }
    }
    sqlx::query(
        "UPDATE api_settings SET enabled = TRUE, first_enabled_at = coalesce(first_enabled_at, unixepoch()) \
         WHERE id = 1",
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Blocks the API; the keys stay, so Enable restores access with the same keys.
pub async fn disable(conn: &mut Conn) -> Result<(), AppError> {
    sqlx::query("UPDATE api_settings SET enabled = FALSE WHERE id = 1")
        .execute(conn)
        .await?;
    Ok(())
}

/// Replaces the key of `slot`. With a grace period the old key keeps working until it ends
/// (one previous key per slot: an older one still in grace ends now).
pub async fn regenerate(
    conn: &mut Conn,
    sealer: &Sealer,
    slot: KeySlot,
    grace: Grace,
) -> Result<(), AppError> {
    if !has_current_key(conn, slot).await? {
        return Err(AppError::invalid(
            "slot",
            "Enable the API before regenerating its keys.",
        ));
    }
    sqlx::query("DELETE FROM api_keys WHERE slot = $1 AND expires_at IS NOT NULL")
        .bind(slot.as_str())
        .execute(&mut *conn)
        .await?;
    match grace.seconds() {
        0 => sqlx::query("DELETE FROM api_keys WHERE slot = $1 AND expires_at IS NULL")
            .bind(slot.as_str())
            .execute(&mut *conn)
            .await?,
        secs => sqlx::query(
            "UPDATE api_keys SET expires_at = unixepoch() + $1 WHERE slot = $2 AND expires_at IS NULL",
        )
        .bind(secs)
        .bind(slot.as_str())
        .execute(&mut *conn)
        .await?,
    };
    insert_key(conn, sealer, slot).await
}

/// Decrypts the current key of `slot`.
pub async fn reveal(pool: &Pool, sealer: &Sealer, slot: KeySlot) -> Result<String, AppError> {
    let row: Option<(Vec<u8>, Vec<u8>, Vec<u8>)> = sqlx::query_as(
        "SELECT digest, nonce, ciphertext FROM api_keys WHERE slot = $1 AND expires_at IS NULL",
    )
    .bind(slot.as_str())
    .fetch_optional(pool)
    .await?;
    let (digest, nonce, ciphertext) = row.ok_or(AppError::NotFound)?;
    let plain = sealer
        .open(&nonce, &ciphertext, &digest)
        .map_err(AppError::internal)?;
    String::from_utf8(plain).map_err(AppError::internal)
}

/// Writes the usage counted in memory since the last flush.
pub async fn flush_usage(keys: &ApiKeys, pool: &Pool) -> Result<(), AppError> {
    let pending = keys.ring.take_usage();
    if pending.is_empty() {
        return Ok(());
    }
    let result = async {
        let mut tx = crate::db::begin_write(pool).await?;
        for (id, usage) in &pending {
            sqlx::query(
                "UPDATE api_keys SET request_count = request_count + $1, \
                 last_used_at = CASE WHEN last_used_at > $2 THEN last_used_at ELSE $2 END WHERE id = $3",
            )
            .bind(usage.count)
            .bind(usage.last_used_at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }
    .await;
    if let Err(e) = result {
        keys.ring.restore_usage(pending);
        return Err(e.into());
    }
    Ok(())
}

/// Deletes keys whose grace period is over; true when any went.
pub async fn delete_expired(pool: &Pool) -> Result<bool, AppError> {
    let done = sqlx::query(
        "DELETE FROM api_keys WHERE expires_at IS NOT NULL AND expires_at <= unixepoch()",
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

const CHECK_PLAINTEXT: &[u8] = b"gatehouse master key check";
const CHECK_AAD: &[u8] = b"master_key_check";

/// The values this module seals under the master key (see `SealedColumn`).
pub const SEALED: [SealedColumn; 2] = [
    SealedColumn {
        table: "api_keys",
        nonce: "nonce",
        ciphertext: "ciphertext",
        aad: Aad::Column("digest"),
    },
    SealedColumn {
        table: "master_key_check",
        nonce: "nonce",
        ciphertext: "ciphertext",
        aad: Aad::Fixed(CHECK_AAD),
    },
];

/// Proves that `sealer` holds the master key this database was first used with (and records it
/// on the first start). A different key would make every stored key unreadable.
pub async fn check_master_key(pool: &Pool, sealer: &Sealer) -> Result<bool, sqlx::Error> {
    let row: Option<(Vec<u8>, Vec<u8>)> =
        sqlx::query_as("SELECT nonce, ciphertext FROM master_key_check WHERE id = 1")
            .fetch_optional(pool)
            .await?;
    match row {
        Some((nonce, ciphertext)) => Ok(sealer
            .open(&nonce, &ciphertext, CHECK_AAD)
            .is_ok_and(|plain| plain == CHECK_PLAINTEXT)),
        None => {
            let sealed = sealer.seal(CHECK_PLAINTEXT, CHECK_AAD);
            sqlx::query(
                "INSERT INTO master_key_check (id, nonce, ciphertext) VALUES (1, $1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(&sealed.nonce)
            .bind(&sealed.ciphertext)
            .execute(pool)
            .await?;
            Ok(true)
        }
    }
}
