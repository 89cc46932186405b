//! Applications calling the REST API with `Authorization: Bearer <client secret>`.

use super::parse_role;
use crate::db::Flag;
use crate::db::Pool;
use crate::tokens;
use crate::{error::AppError, roles::Role};

/// An application, once its secret checked out.
#[derive(Clone, Debug)]
pub struct Application {
    pub id: i64,
    pub client_id: String,
    pub name: String,
    pub role: Role,
    /// Marked **Support application** on the Users tab: may file Lockbox requests and read
    /// customer data within an approved one.
    pub support: bool,
}

impl Application {
    /// The application as the audit log's actor: its client ID where a user's email would be.
    pub fn as_actor(&self) -> crate::roles::UserInfo {
        crate::roles::UserInfo {
            id: self.id,
            email: self.client_id.clone(),
            name: self.name.clone(),
            role: self.role,
            lockbox_approver: false,
        }
    }
}

/// The application whose secret is `secret`. The lookup is by SHA-256 digest, so the time it
/// takes says nothing about how close a guess was.
pub async fn find_by_secret(pool: &Pool, secret: &str) -> Result<Option<Application>, AppError> {
    if !secret.starts_with(tokens::SECRET_PREFIX) || secret.len() > 128 {
        return Ok(None);
    }
    let row: Option<(i64, String, String, String, Flag)> = sqlx::query_as(
        "SELECT id, handle, name, role, support_application FROM principals \
         WHERE secret_digest = $1 AND kind = 'application'",
    )
    .bind(tokens::digest(secret).to_vec())
    .fetch_optional(pool)
    .await?;
    row.map(|(id, client_id, name, role, Flag(support))| {
        Ok(Application {
            id,
            client_id,
            name,
            role: parse_role(&role)?,
            support,
        })
    })
    .transpose()
}

/// The id of the application with client ID `client_id`, if there is one.
pub async fn find_id(pool: &Pool, client_id: &str) -> Result<Option<i64>, AppError> {
    Ok(
        sqlx::query_scalar("SELECT id FROM principals WHERE handle = $1 AND kind = 'application'")
            // Client IDs are issued in lower case.
            .bind(client_id.to_ascii_lowercase())
            .fetch_optional(pool)
            .await?,
    )
}
