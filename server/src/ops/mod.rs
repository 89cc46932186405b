//! The operator's commands, run by the same binary with the server's configuration: a
//! consistent backup of a live database, a new master key, the move to PostgreSQL, the state
//! of an installation at a glance, and the audit log's chain checked. (`reset-password`, the way back in, is with the
//! other user commands in `users`.)

mod audit;
mod backup;
mod copy;
mod rotate;
mod status;

pub use audit::{checkpoint, verify_audit};
pub use backup::{Backup, backup};
pub use copy::{Copied, copy_data};
pub use rotate::{Rotated, new_key, rotate_master_key, sealed_columns};
pub use status::{Status, status};

use crate::{config::Config, error::StartupError};

/// Refuses a command that works on the embedded SQLite database only.
fn sqlite_only(config: &Config, command: &str, instead: &str) -> Result<(), StartupError> {
    let url = config.database_url.to_ascii_lowercase();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Err(StartupError::Config(format!(
            "`gatehouse {command}` works on the SQLite database; for PostgreSQL, {instead}"
        )));
    }
    Ok(())
}
