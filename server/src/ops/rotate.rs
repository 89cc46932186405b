//! `gatehouse rotate-master-key`: every value sealed under the master key is opened with the
//! current key and sealed again under a new one, and the audit chain (whose key derives from
//! the master key) is checked and made again, in one transaction with its audit row, so the
//! database holds either everything under the old key or everything under the new one.
//!
//! Where the key comes from a file, the new key is first written beside it as
//! `gatehouse.key.new`; once the transaction has committed, `gatehouse.key` becomes
//! `gatehouse.key.old` and the new file takes its name. A server that starts after a rotation
//! was stopped between those steps finishes them (`master_key::finish_rotation`).
//!
//! It runs only while no server runs on the database: servers hold the lock file beside it
//! shared, the rotation takes it exclusively. (`--online` is not offered: a running server
//! holds the key in memory and caches by sealed value, and would go on sealing new values
//! under the old key.)

use crate::{
    config::Config,
    db,
    error::StartupError,
    master_key::{self, Source},
};
use app::{
    api_keys::ssr::{
        sealing::{MASTER_KEY_BYTES, SealedColumn, Sealer},
        store as key_store,
    },
    audit::chain::AuditKey,
};
use secrecy::SecretString;
use std::{fs::TryLockError, path::Path};

/// Every kind of value sealed under the master key, by the feature that seals it.
pub fn sealed_columns() -> Vec<&'static SealedColumn> {
    key_store::SEALED
        .iter()
        .chain(&app::connections::ssr::SEALED)
        .chain(&app::key_vault::ssr::SEALED)
        .chain(&app::embed::ssr::SEALED)
        .chain(&app::sso::settings::SEALED)
        .collect()
}

/// What a rotation did.
#[derive(Debug)]
pub struct Rotated {
    /// Values sealed again, by table.
    pub resealed: Vec<(&'static str, usize)>,
    /// The new key file, where the key came from a file (the old one is kept beside it).
    pub key_file: Option<std::path::PathBuf>,
}

impl std::fmt::Display for Rotated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "master key rotated:")?;
        for (table, n) in &self.resealed {
            writeln!(f, "  {table}: {n} values sealed again")?;
        }
        match &self.key_file {
            Some(path) => write!(
                f,
                "The new key is in {}; the old one is in {} until you remove it.",
                path.display(),
                master_key::old_path(path).display()
            ),
            None => write!(
                f,
                "Start every server with GATEHOUSE_MASTER_KEY set to the new key: the old one no longer opens this database."
            ),
        }
    }
}

/// The new key: `GATEHOUSE_NEW_MASTER_KEY`, or the file named by `--new-key-file`.
pub fn new_key(
    from_env: Option<&SecretString>,
    from_file: Option<&Path>,
) -> Result<[u8; MASTER_KEY_BYTES], StartupError> {
    match (from_env, from_file) {
        (Some(key), None) => master_key::decode_text(key, "GATEHOUSE_NEW_MASTER_KEY"),
        (None, Some(path)) => master_key::read_file(path),
        _ => Err(StartupError::Config(
            "give the new key in GATEHOUSE_NEW_MASTER_KEY or with --new-key-file (one of them)"
                .into(),
        )),
    }
}

pub async fn rotate_master_key(
    config: &Config,
    new: [u8; MASTER_KEY_BYTES],
) -> Result<Rotated, StartupError> {
    let Some((old, source)) = master_key::current(config)? else {
        return Err(StartupError::Config(
            "there is no master key to rotate yet: start the server once first".into(),
        ));
    };
    if old == new {
        return Err(StartupError::Config(
            "the new master key is the current one".into(),
        ));
    }
    // No server may run meanwhile, and none starts until the rotation is done.
    let _alone = match master_key::lock_path(&config.database_url) {
        Some(path) => {
            let lock = master_key::open_lock(&path)?;
            match lock.try_lock() {
                Ok(()) => Some(lock),
                Err(TryLockError::WouldBlock) => {
                    return Err(StartupError::Config(
                        "a server is running on this database: stop every server, then rotate"
                            .into(),
                    ));
                }
                Err(TryLockError::Error(e)) => return Err(e.into()),
            }
        }
        None => None,
    };
    let _alone_on_postgres = master_key::alone_on_postgres(&config.database_url).await?;
    let (old_audit, new_audit) = (AuditKey::derive(&old), AuditKey::derive(&new));
    let pool = db::connect(&config.database_url, Some(old_audit)).await?;
    let (old_sealer, new_sealer) = (Sealer::new(&old), Sealer::new(&new));
    if !key_store::check_master_key(&pool, &old_sealer).await? {
        return Err(StartupError::Config(
            "the current master key does not open this database: nothing was changed".into(),
        ));
    }
    // The new key is on disk before any value depends on it.
    let key_file = match &source {
        Source::File(path) => {
            let pending = master_key::pending_path(path);
            // Left by a rotation that never committed (the check above passed with the old key).
            if pending.exists() {
                std::fs::remove_file(&pending)?;
            }
            master_key::write_file(&pending, &new)?;
            Some(path.clone())
        }
        Source::Environment => None,
    };
    let mut tx = app::db::begin_write(&pool).await?;
    let mut resealed = Vec::new();
    for column in sealed_columns() {
        let n = column.reseal(&mut tx, &old_sealer, &new_sealer).await?;
        resealed.push((column.table, n));
    }
    let detail = resealed
        .iter()
        .map(|(t, n)| format!("{t}={n}"))
        .collect::<Vec<_>>()
        .join(" ");
    app::audit::ssr::record(
        &mut tx,
        app::audit::ssr::Entry {
            actor: None,
            action: "master_key.rotate",
            target: Some("master key"),
            detail: &format!("from the command line; sealed again: {detail}"),
            client_addr: None,
        },
    )
    .await?;
    // The audit chain's key is derived from the master key: the chain, checked under the old
    // key, is made again under the new one (its rotation entry included).
    let rechained = app::audit::chain::rechain(&mut tx, &old_audit, &new_audit).await?;
    resealed.push(("audit_log", rechained as usize));
    tx.commit().await?;
    pool.close().await;
    if let Some(path) = &key_file {
        master_key::swap_in(path, &master_key::pending_path(path))?;
    }
    tracing::info!("master key rotated");
    Ok(Rotated { resealed, key_file })
}
