//! Group membership. A member's effective role is the highest of their own and their groups'.

use super::{ensure_an_admin_remains, list, record};
use crate::db::{Conn, Pool};
use crate::{
    db::begin_write,
    error::AppError,
    roles::UserInfo,
    users::{Email, Member, PrincipalKind},
};

/// Fails unless `id` is a group; returns its ID for the audit log.
async fn group_handle(conn: &mut Conn, id: i64) -> Result<String, AppError> {
    let group = list::one(conn, id).await?;
    if group.kind != PrincipalKind::Group {
        return Err(AppError::invalid("member", "Only groups have members."));
    }
    Ok(group.email_or_id)
}

async fn members_on(conn: &mut Conn, group_id: i64) -> Result<Vec<Member>, AppError> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT u.id, u.name, u.handle FROM group_members m \
         JOIN principals u ON u.id = m.user_id WHERE m.group_id = $1 ORDER BY u.name, u.id",
    )
    .bind(group_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(user_id, name, email)| Member {
            user_id,
            name,
            email,
        })
        .collect())
}

pub async fn members(pool: &Pool, group_id: i64) -> Result<Vec<Member>, AppError> {
    let mut conn = pool.acquire().await?;
    group_handle(&mut conn, group_id).await?;
    members_on(&mut conn, group_id).await
}

pub async fn add_member(
    pool: &Pool,
    admin: &UserInfo,
    group_id: i64,
    email: &str,
) -> Result<Vec<Member>, AppError> {
    let email = Email::parse(email).map_err(|m| AppError::invalid("member", m))?;
    let mut tx = begin_write(pool).await?;
    let group = group_handle(&mut tx, group_id).await?;
    let user_id: Option<i64> =
        sqlx::query_scalar("SELECT id FROM principals WHERE handle = $1 AND kind = 'user'")
            .bind(email.as_str())
            .fetch_optional(&mut *tx)
            .await?;
    let user_id = user_id.ok_or_else(|| {
        AppError::invalid(
            "member",
            "No user has this email. Add them as a user first.",
        )
    })?;
    let added = sqlx::query(
        "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(group_id)
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    if added.rows_affected() == 0 {
        return Err(AppError::invalid(
            "member",
            "This user is already a member.",
        ));
    }
    record(&mut tx, admin, "group.member_add", &group, email.as_str()).await?;
    let members = members_on(&mut tx, group_id).await?;
    tx.commit().await?;
    Ok(members)
}

pub async fn remove_member(
    pool: &Pool,
    admin: &UserInfo,
    group_id: i64,
    user_id: i64,
) -> Result<Vec<Member>, AppError> {
    let mut tx = begin_write(pool).await?;
    let group = group_handle(&mut tx, group_id).await?;
    let email: Option<String> = sqlx::query_scalar(
        "SELECT u.handle FROM group_members m JOIN principals u ON u.id = m.user_id \
         WHERE m.group_id = $1 AND m.user_id = $2",
    )
    .bind(group_id)
    .bind(user_id)
    .fetch_optional(&mut *tx)
    .await?;
    let email = email.ok_or(AppError::NotFound)?;
    sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
        .bind(group_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    ensure_an_admin_remains(&mut tx).await?;
    record(&mut tx, admin, "group.member_remove", &group, &email).await?;
    let members = members_on(&mut tx, group_id).await?;
    tx.commit().await?;
    Ok(members)
}
