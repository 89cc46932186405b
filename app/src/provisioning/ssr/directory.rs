//! The users and groups as SCIM sees them: read, filtered, paged, created, replaced and
//! deleted in one transaction each, under the same rules as the Users tab (the last Admin
//! stays; a deactivated user's sessions end), audited with the provisioning token as the actor.
//! The SCIM protocol itself (JSON, PATCH operations, errors) is the server crate's.
//!
//! SCIM stays in its lane: it changes, deactivates, deletes and fills only the users and groups
//! it created itself (`provisioned`, migration 0013). What an Admin added on the Users tab is
//! read-only to it, so the provisioning token cannot repoint an Admin's sign-in address nor put
//! anyone into a group the Users tab made. Roles are never SCIM's: a provisioned group is a
//! Viewer until an Admin gives it more on the Users tab.

use super::actor;
use crate::db::Flag;
use crate::db::{Conn, Pool};
use crate::{
    db::begin_write,
    error::AppError,
    roles::Role,
    tokens,
    users::ssr::{changes::parse_name, end_sessions, ensure_an_admin_remains, record},
};

/// At most this many resources a page (SCIM `count`).
pub const MAX_PAGE: i64 = 200;

/// A user as SCIM shows it.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    /// The email, which they sign in with.
    pub handle: String,
    /// `userName` when it is not the email.
    pub scim_user_name: Option<String>,
    /// What the identity provider set that is kept as sent (a JSON object).
    pub scim_attributes: Option<String>,
    pub name: String,
    pub external_id: Option<String>,
    #[sqlx(try_from = "Flag")]
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// What a SCIM request may set on a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserFields {
    /// The email they sign in with, or (for an identity provider that sends none) the
    /// `userName` as their ID.
    pub handle: String,
    /// `userName` when it is not the handle.
    pub user_name: Option<String>,
    /// Kept as sent: see `scim_attributes` in migration 0008.
    pub attributes: String,
    /// None: keep the current name (or, for a new user, the email's local part).
    pub name: Option<String>,
    pub external_id: Option<String>,
    pub active: bool,
}

/// A group as SCIM shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub id: i64,
    pub name: String,
    pub external_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// (user id, email)
    pub members: Vec<(i64, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupFields {
    pub name: String,
    pub external_id: Option<String>,
    pub members: Vec<i64>,
}

/// A filter: `attr eq "value"`.
pub type Filter = Option<(Attribute, String)>;

/// The attributes a filter may compare (`attr eq "value"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attribute {
    /// `userName` (case-insensitive) or a group's `displayName`.
    Name,
    /// A user's `displayName`.
    DisplayName,
    ExternalId,
    Id,
}

const USER_COLUMNS: &str = "SELECT id, handle, scim_user_name, scim_attributes, name, external_id, \
     active, created_at, \
     COALESCE(updated_at, created_at) AS updated_at FROM principals";

/// An ID stands where an email would: 3 to 254 characters, as the table requires, and
/// nothing a name may not hold either (control or invisible formatting characters).
fn check_handle(handle: &str) -> Result<(), AppError> {
    if (3..=254).contains(&handle.chars().count()) {
        if handle
            .chars()
            .any(|c| c.is_control() || crate::text::is_invisible_format(c))
        {
            return Err(AppError::invalid(
                "userName",
                "A userName cannot contain control or invisible formatting characters.",
            ));
        }
        Ok(())
    } else {
        Err(AppError::invalid(
            "userName",
            "A userName that is not an email has 3 to 254 characters.",
        ))
    }
}

fn check_external_id(id: Option<String>) -> Result<Option<String>, AppError> {
    match id {
        Some(id) if id.chars().count() > 254 => Err(AppError::invalid(
            "externalId",
            "An externalId has at most 254 characters.",
        )),
        other => Ok(other),
    }
}

/// The WHERE of a filter on `kind`'s rows, and its value.
fn filter_sql(kind: &str, filter: Filter) -> (String, Option<String>) {
    let column = match filter.as_ref().map(|(a, _)| *a) {
        None => return (format!("WHERE kind = '{kind}'"), None),
        // Either column's index serves it. userName and displayName are compared in ASCII
        // case folding (`lower` folds nothing else, on either database); handles are stored
        // folded.
        Some(Attribute::Name) if kind == "user" => {
            return (
                "WHERE kind = 'user' AND (lower(scim_user_name) = $3 \
                 OR (handle = $3 AND scim_user_name IS NULL))"
                    .to_owned(),
                filter.map(|(_, v)| v.to_ascii_lowercase()),
            );
        }
        Some(Attribute::Name | Attribute::DisplayName) => {
            return (
                format!("WHERE kind = '{kind}' AND lower(name) = $3"),
                filter.map(|(_, v)| v.to_ascii_lowercase()),
            );
        }
        Some(Attribute::ExternalId) => "external_id",
        Some(Attribute::Id) => "CAST(id AS TEXT)",
    };
    (
        format!("WHERE kind = '{kind}' AND {column} = $3"),
        filter.map(|(_, v)| v),
    )
}

/// How many rows a filter matches.
async fn total(conn: &mut Conn, filter: &str, value: Option<&str>) -> Result<i64, AppError> {
    let sql = format!(
        "SELECT COUNT(*) FROM principals {}",
        filter.replace("$3", "$1")
    );
    let mut count = sqlx::query_scalar::<_, i64>(&sql);
    if let Some(v) = value {
        count = count.bind(v);
    }
    Ok(count.fetch_one(conn).await?)
}

/// The ids of one page of `kind`'s rows (`start` is 1-based) and how many match in all.
async fn page_of(
    conn: &mut Conn,
    kind: &str,
    filter: Filter,
    start: i64,
    count: i64,
) -> Result<(i64, Vec<i64>), AppError> {
    let (filter, value) = filter_sql(kind, filter);
    let sql = format!("SELECT id FROM principals {filter} ORDER BY id LIMIT $1 OFFSET $2");
    let mut ids = sqlx::query_scalar::<_, i64>(&sql)
        .bind(count.clamp(0, MAX_PAGE))
        .bind(start.max(1) - 1);
    if let Some(v) = &value {
        ids = ids.bind(v);
    }
    let ids = ids.fetch_all(&mut *conn).await?;
    Ok((total(conn, &filter, value.as_deref()).await?, ids))
}

/// One page of users (`start` is 1-based) and how many match in all.
pub async fn users(
    pool: &Pool,
    filter: Filter,
    start: i64,
    count: i64,
) -> Result<(i64, Vec<User>), AppError> {
    let mut conn = pool.acquire().await?;
    let (total, ids) = page_of(&mut conn, "user", filter, start, count).await?;
    let mut users = Vec::with_capacity(ids.len());
    for id in ids {
        users.push(user_on(&mut conn, id).await?);
    }
    Ok((total, users))
}

async fn user_on(conn: &mut Conn, id: i64) -> Result<User, AppError> {
    sqlx::query_as::<_, User>(&format!("{USER_COLUMNS} WHERE id = $1 AND kind = 'user'"))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn user(pool: &Pool, id: i64) -> Result<User, AppError> {
    user_on(&mut *pool.acquire().await?, id).await
}

fn taken(e: sqlx::Error, what: &str) -> AppError {
    match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            AppError::Conflict(format!("{what} already exists."))
        }
        e => e.into(),
    }
}

/// A new user: a Viewer who has not accepted an invitation yet (an Admin sends one from the
/// Users tab, or the identity provider signs them in later).
pub async fn create_user(pool: &Pool, fields: UserFields) -> Result<User, AppError> {
    check_handle(&fields.handle)?;
    let name = match fields.name {
        Some(name) => parse_name(&name)?,
        None => fields
            .handle
            .split('@')
            .next()
            .unwrap_or_default()
            .to_owned(),
    };
    let external_id = check_external_id(fields.external_id)?;
    let mut tx = begin_write(pool).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO principals \
         (kind, handle, scim_user_name, scim_attributes, name, role, external_id, active, \
         provisioned) VALUES ('user', $1, $2, $3, $4, $5, $6, $7, TRUE) RETURNING id",
    )
    .bind(&fields.handle)
    .bind(&fields.user_name)
    .bind(&fields.attributes)
    .bind(&name)
    .bind(Role::Viewer.as_str())
    .bind(&external_id)
    .bind(fields.active)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| taken(e, "A user with this userName or email"))?;
    record(
        &mut tx,
        &actor(),
        "scim.create",
        &fields.handle,
        &format!("type=user name={name} active={}", fields.active),
    )
    .await?;
    let user = user_on(&mut tx, id).await?;
    tx.commit().await?;
    Ok(user)
}

/// Refuses a change to a principal that SCIM did not create.
async fn must_be_provisioned(conn: &mut Conn, id: i64, kind: &str) -> Result<(), AppError> {
    let Flag(provisioned) =
        sqlx::query_scalar("SELECT provisioned FROM principals WHERE id = $1 AND kind = $2")
            .bind(id)
            .bind(kind)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(AppError::NotFound)?;
    if provisioned {
        Ok(())
    } else {
        Err(AppError::NotPermitted(format!(
            "This {kind} was added on the Users tab: provisioning may read it but not change it."
        )))
    }
}

/// Sets every field of a user (PUT, and PATCH once its operations are applied).
pub async fn replace_user(pool: &Pool, id: i64, fields: UserFields) -> Result<User, AppError> {
    check_handle(&fields.handle)?;
    let external_id = check_external_id(fields.external_id)?;
    let mut tx = begin_write(pool).await?;
    must_be_provisioned(&mut tx, id, "user").await?;
    let before = user_on(&mut tx, id).await?;
    let name = match fields.name {
        Some(name) => parse_name(&name)?,
        None => before.name.clone(),
    };
    sqlx::query(
        "UPDATE principals SET handle = $1, scim_user_name = $2, scim_attributes = $3, name = $4, \
         external_id = $5, active = $6 WHERE id = $7",
    )
    .bind(&fields.handle)
    .bind(&fields.user_name)
    .bind(&fields.attributes)
    .bind(&name)
    .bind(&external_id)
    .bind(fields.active)
    .bind(id)
    .execute(&mut *tx)
    .await
    .map_err(|e| taken(e, "A user with this userName or email"))?;
    let mut changes = Vec::new();
    if before.handle != fields.handle {
        changes.push(format!("email={}", fields.handle));
    }
    if before.scim_user_name != fields.user_name {
        changes.push(format!(
            "userName={}",
            fields.user_name.as_deref().unwrap_or(&fields.handle)
        ));
    }
    if before.name != name {
        changes.push(format!("name={name}"));
    }
    if before.external_id != external_id {
        changes.push(format!(
            "externalId={}",
            external_id.as_deref().unwrap_or("")
        ));
    }
    let action = match (before.active, fields.active) {
        (true, false) => {
            // Deactivated: signed out everywhere now, and never the last way in as Admin.
            end_sessions(&mut tx, id).await?;
            ensure_an_admin_remains(&mut tx).await?;
            Some("scim.deactivate")
        }
        (false, true) => {
            changes.push("active=true".into());
            Some("scim.update")
        }
        _ => (!changes.is_empty()).then_some("scim.update"),
    };
    ensure_an_admin_remains(&mut tx).await?;
    if let Some(action) = action {
        record(
            &mut tx,
            &actor(),
            action,
            &before.handle,
            &changes.join(" "),
        )
        .await?;
    }
    let user = user_on(&mut tx, id).await?;
    tx.commit().await?;
    Ok(user)
}

/// Deletes a user or a group, unless it is the last way in as Admin.
pub async fn delete(pool: &Pool, kind: &str, id: i64) -> Result<(), AppError> {
    let mut tx = begin_write(pool).await?;
    must_be_provisioned(&mut tx, id, kind).await?;
    let handle: String =
        sqlx::query_scalar("DELETE FROM principals WHERE id = $1 AND kind = $2 RETURNING handle")
            .bind(id)
            .bind(kind)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(AppError::NotFound)?;
    ensure_an_admin_remains(&mut tx).await?;
    record(
        &mut tx,
        &actor(),
        "scim.delete",
        &handle,
        &format!("type={kind}"),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn group_on(conn: &mut Conn, id: i64) -> Result<Group, AppError> {
    let row: Option<(i64, String, Option<String>, String, String)> = sqlx::query_as(
        "SELECT id, name, external_id, created_at, COALESCE(updated_at, created_at) \
         FROM principals WHERE id = $1 AND kind = 'group'",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let (id, name, external_id, created_at, updated_at) = row.ok_or(AppError::NotFound)?;
    let members = sqlx::query_as(
        "SELECT u.id, u.handle FROM group_members m JOIN principals u ON u.id = m.user_id \
         WHERE m.group_id = $1 ORDER BY u.id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Group {
        id,
        name,
        external_id,
        created_at,
        updated_at,
        members,
    })
}

pub async fn group(pool: &Pool, id: i64) -> Result<Group, AppError> {
    group_on(&mut *pool.acquire().await?, id).await
}

/// One page of groups (`start` is 1-based), with their members.
pub async fn groups(
    pool: &Pool,
    filter: Filter,
    start: i64,
    count: i64,
) -> Result<(i64, Vec<Group>), AppError> {
    let mut conn = pool.acquire().await?;
    let (total, ids) = page_of(&mut conn, "group", filter, start, count).await?;
    let mut groups = Vec::with_capacity(ids.len());
    for id in ids {
        groups.push(group_on(&mut conn, id).await?);
    }
    Ok((total, groups))
}

/// Makes a group's members exactly `members`; returns the emails added and removed.
async fn set_members(
    conn: &mut Conn,
    group_id: i64,
    members: &[i64],
) -> Result<(Vec<String>, Vec<String>), AppError> {
    let current: Vec<(i64, String)> = sqlx::query_as(
        "SELECT u.id, u.handle FROM group_members m JOIN principals u ON u.id = m.user_id \
         WHERE m.group_id = $1",
    )
    .bind(group_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut added = Vec::new();
    for &user_id in members {
        if current.iter().any(|(id, _)| *id == user_id)
            || added.iter().any(|(id, _)| *id == user_id)
        {
            continue;
        }
        let user: Option<(String, Flag)> = sqlx::query_as(
            "SELECT handle, provisioned FROM principals WHERE id = $1 AND kind = 'user'",
        )
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
        let (email, Flag(provisioned)) = user.ok_or_else(|| {
            AppError::invalid("members", format!("No user has the id {user_id}."))
        })?;
        if !provisioned {
            return Err(AppError::NotPermitted(format!(
                "The user {user_id} was added on the Users tab: provisioning may not put them into groups."
            )));
        }
        sqlx::query("INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)")
            .bind(group_id)
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
        added.push((user_id, email));
    }
    let mut removed = Vec::new();
    for (user_id, email) in current {
        if !members.contains(&user_id) {
            sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
                .bind(group_id)
                .bind(user_id)
                .execute(&mut *conn)
                .await?;
            removed.push(email);
        }
    }
    Ok((added.into_iter().map(|(_, e)| e).collect(), removed))
}

/// A new group, a Viewer like a provisioned user; its members as given.
pub async fn create_group(pool: &Pool, fields: GroupFields) -> Result<Group, AppError> {
    let name = parse_name(&fields.name)?;
    let external_id = check_external_id(fields.external_id)?;
    let mut tx = begin_write(pool).await?;
    let handle = tokens::new_id();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO principals (kind, handle, name, role, external_id, provisioned) \
         VALUES ('group', $1, $2, $3, $4, TRUE) RETURNING id",
    )
    .bind(&handle)
    .bind(&name)
    .bind(Role::Viewer.as_str())
    .bind(&external_id)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| taken(e, "A group with this displayName"))?;
    let (added, _) = set_members(&mut tx, id, &fields.members).await?;
    record(
        &mut tx,
        &actor(),
        "scim.create",
        &handle,
        &format!("type=group name={name} members={}", added.join(",")),
    )
    .await?;
    let group = group_on(&mut tx, id).await?;
    tx.commit().await?;
    Ok(group)
}

/// Sets a group's name, externalId and members (PUT, and PATCH once applied).
pub async fn replace_group(pool: &Pool, id: i64, fields: GroupFields) -> Result<Group, AppError> {
    let name = parse_name(&fields.name)?;
    let external_id = check_external_id(fields.external_id)?;
    let mut tx = begin_write(pool).await?;
    must_be_provisioned(&mut tx, id, "group").await?;
    let before = group_on(&mut tx, id).await?;
    sqlx::query("UPDATE principals SET name = $1, external_id = $2 WHERE id = $3")
        .bind(&name)
        .bind(&external_id)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| taken(e, "A group with this displayName"))?;
    let (added, removed) = set_members(&mut tx, id, &fields.members).await?;
    ensure_an_admin_remains(&mut tx).await?;
    let mut changes = Vec::new();
    if before.name != name {
        changes.push(format!("name={name}"));
    }
    if before.external_id != external_id {
        changes.push(format!(
            "externalId={}",
            external_id.as_deref().unwrap_or("")
        ));
    }
    if !added.is_empty() {
        changes.push(format!("members+={}", added.join(",")));
    }
    if !removed.is_empty() {
        changes.push(format!("members-={}", removed.join(",")));
    }
    if !changes.is_empty() {
        // A change of membership is a change of the group: SCIM's lastModified says so.
        sqlx::query("UPDATE principals SET updated_at = $1 WHERE id = $2")
            .bind(crate::time_fmt::rfc3339(crate::time_fmt::unix_now()))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let handle = sqlx::query_scalar::<_, String>("SELECT handle FROM principals WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        record(
            &mut tx,
            &actor(),
            "scim.update",
            &handle,
            &changes.join(" "),
        )
        .await?;
    }
    let group = group_on(&mut tx, id).await?;
    tx.commit().await?;
    Ok(group)
}
