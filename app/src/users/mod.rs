//! Users: who may use the environment, and with which role. Principals are users, groups and
//! applications; this module holds the types both sides share and the server functions.

mod add;
mod highlight;
mod invitation;
mod members;
mod panel;
mod query;
mod reveal;
mod role_select;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use crate::email::Email;
pub use invitation::{AcceptInvitation, InvitationRoute, accept_invitation, check_invitation};
pub use panel::UsersRoute;
pub use query::{ListQuery, PAGE_SIZE, SortKey};

use crate::{error::AppError, roles::Role};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Longest name of a user, group or application.
pub const MAX_NAME_CHARS: usize = 200;
/// How long an invitation link works.
pub const INVITATION_DAYS: i64 = 7;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrincipalKind {
    User,
    Group,
    Application,
}

impl PrincipalKind {
    pub const ALL: [PrincipalKind; 3] = [Self::User, Self::Group, Self::Application];

    /// The value stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Group => "group",
            Self::Application => "application",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }

    /// The label users see in the Type column.
    pub fn label(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Group => "Group",
            Self::Application => "Application",
        }
    }
}

/// One row of the principals list. `effective_role` is higher than `role` when a user belongs
/// to a group with a higher role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Principal {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: PrincipalKind,
    pub name: String,
    /// "Email/ID": a user's email, a group's or application's ID.
    pub email_or_id: String,
    pub role: Role,
    pub effective_role: Role,
    /// A user who has not accepted their invitation yet.
    pub pending: bool,
    /// A group's member count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<i64>,
    /// A user who may approve Customer Lockbox requests.
    #[serde(default)]
    pub lockbox_approver: bool,
    /// False for a user that provisioning (SCIM) deactivated: kept, but unable to sign in.
    #[serde(default = "yes")]
    pub active: bool,
    /// An application that may file Customer Lockbox requests and read customer data through
    /// the support endpoints (set on the Users tab's Edit pane).
    #[serde(default)]
    pub support_application: bool,
    /// A user whom an Admin made a Lockbox approver, waiting for a second approver to
    /// confirm it (the two-person rule).
    #[serde(default)]
    pub approver_waiting: bool,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrincipalPage {
    pub principals: Vec<Principal>,
    pub page_size: u32,
    /// Principals matching the search, on every page; a lower bound when `total_capped`.
    pub total: i64,
    /// A search that matches very many principals is not counted to the end: `total` is then
    /// [`COUNT_CAP`] and the list says "more than".
    #[serde(default)]
    pub total_capped: bool,
    /// The cursor of the next page (`ListQuery::after`), when there is one.
    pub next: Option<String>,
    /// The cursor of the previous page (`ListQuery::before`), when there is one.
    pub previous: Option<String>,
}

/// How many matches a search counts before it says "more than".
pub const COUNT_CAP: i64 = 5_000;

/// What Save in the Add users pane returns: the secret a new principal needs, shown once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Added {
    pub principal: Principal,
    /// A new user's invitation path (`/invitation?token=…`), valid for [`INVITATION_DAYS`].
    pub invitation_path: Option<String>,
    /// A new application's client secret.
    pub client_secret: Option<String>,
}

/// What an invitation link tells its invitee before they accept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    pub email: String,
    pub name: String,
    pub expires_at: i64,
}

/// A group member, as the Members pane lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user_id: i64,
    pub name: String,
    pub email: String,
}

#[cfg(feature = "ssr")]
async fn admin() -> Result<(crate::context::AppContext, crate::roles::UserInfo), AppError> {
    let admin = crate::auth::ssr::require(Role::Admin).await?;
    Ok((crate::context::context()?, admin))
}

/// The principals list: searched, sorted and paged by the database, with this process's copy of
/// the sort columns (`ssr::memory`).
#[server(prefix = "/rpc", endpoint = "principals_list", output = crate::wire::JsonAnswer)]
pub async fn list_principals(query: ListQuery) -> Result<PrincipalPage, AppError> {
    let (ctx, _admin) = admin().await?;
    ssr::list::page(&ctx.pool, &ctx.principals, &query.validated()?).await
}

/// Adds a user (who gets an invitation link), a group or an application (which gets a secret).
/// `principal` is the user's email, or the group's or application's name.
#[server(prefix = "/rpc", endpoint = "principals_add", output = crate::wire::JsonAnswer)]
pub async fn add_principal(
    kind: PrincipalKind,
    principal: String,
    role: Role,
) -> Result<Added, AppError> {
    let (ctx, admin) = admin().await?;
    ssr::changes::add(&ctx.pool, &admin, kind, &principal, role).await
}

/// Changes a principal's role and, for a user, whether they are a Lockbox approver, for an
/// application whether it is a support application (each left as it is when absent). An Admin
/// lowering their own role must say they mean it.
#[server(prefix = "/rpc", endpoint = "principals_change_role", output = crate::wire::JsonAnswer)]
pub async fn change_role(
    id: i64,
    role: Role,
    confirm_self: bool,
    #[server(default)] lockbox_approver: Option<bool>,
    #[server(default)] support_application: Option<bool>,
) -> Result<Principal, AppError> {
    let (ctx, admin) = admin().await?;
    // A browser's own form post leaves an unticked box out: that means "off". The pane sends
    // only the box its principal's kind has.
    let unticked = crate::ui::plain_form::is_plain_post().then_some(false);
    let change = ssr::changes::RoleChange {
        id,
        role,
        confirm_self,
        lockbox_approver: lockbox_approver.or(unticked),
        support_application: support_application.or(unticked),
    };
    let changed = ssr::changes::change_role(&ctx.pool, &admin, change).await?;
    crate::ui::plain_form::close_pane(panel::TAB_PATH);
    Ok(changed)
}

/// Removes a principal. A removed user's sessions end at their next request.
#[server(prefix = "/rpc", endpoint = "principals_remove", output = crate::wire::JsonAnswer)]
pub async fn remove_principal(id: i64) -> Result<(), AppError> {
    let (ctx, admin) = admin().await?;
    ssr::changes::remove(&ctx.pool, &admin, id).await?;
    crate::ui::plain_form::close_pane(panel::TAB_PATH);
    Ok(())
}

/// A fresh invitation link for a user who has not accepted theirs; older links stop working.
#[server(prefix = "/rpc", endpoint = "user_invite", output = crate::wire::JsonAnswer)]
pub async fn reinvite_user(id: i64) -> Result<String, AppError> {
    let (ctx, admin) = admin().await?;
    ssr::changes::reinvite(&ctx.pool, &admin, id).await
}

/// Retires a user's password, ends their sessions and returns a one-time link for a new one;
/// `None` when the two-person rule holds the reset of a Lockbox approver for a second
/// approver to confirm. Admin only.
#[server(prefix = "/rpc", endpoint = "user_reset_password", output = crate::wire::JsonAnswer)]
pub async fn reset_password(id: i64) -> Result<Option<String>, AppError> {
    let (ctx, admin) = admin().await?;
    Ok(
        match ssr::changes::reset_password(&ctx.pool, &admin, id).await? {
            ssr::changes::PasswordReset::Link(path) => Some(path),
            ssr::changes::PasswordReset::Waiting => None,
        },
    )
}

/// Ends every session of a user. Admin only.
#[server(prefix = "/rpc", endpoint = "user_end_sessions", output = crate::wire::JsonAnswer)]
pub async fn end_user_sessions(id: i64) -> Result<(), AppError> {
    let admin = crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    ssr::changes::end_user_sessions(&ctx.pool, &admin, id).await
}

/// A new client secret for an application; the old one stops working at once.
#[server(prefix = "/rpc", endpoint = "application_secret", output = crate::wire::JsonAnswer)]
pub async fn regenerate_secret(id: i64) -> Result<String, AppError> {
    let (ctx, admin) = admin().await?;
    ssr::changes::regenerate_secret(&ctx.pool, &admin, id).await
}

#[server(prefix = "/rpc", endpoint = "group_members", output = crate::wire::JsonAnswer)]
pub async fn list_members(group_id: i64) -> Result<Vec<Member>, AppError> {
    let (ctx, _admin) = admin().await?;
    ssr::groups::members(&ctx.pool, group_id).await
}

/// Adds the user with `email` to a group.
#[server(prefix = "/rpc", endpoint = "group_member_add", output = crate::wire::JsonAnswer)]
pub async fn add_member(group_id: i64, email: String) -> Result<Vec<Member>, AppError> {
    let (ctx, admin) = admin().await?;
    ssr::groups::add_member(&ctx.pool, &admin, group_id, &email).await
}

#[server(prefix = "/rpc", endpoint = "group_member_remove", output = crate::wire::JsonAnswer)]
pub async fn remove_member(group_id: i64, user_id: i64) -> Result<Vec<Member>, AppError> {
    let (ctx, admin) = admin().await?;
    ssr::groups::remove_member(&ctx.pool, &admin, group_id, user_id).await
}
