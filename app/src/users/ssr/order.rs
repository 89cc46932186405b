//! A page's place in a sort: the order of kinds and roles, a row's sort values ([`Key`]), the
//! page wanted ([`Want`]), and in SQL the sort's columns, the condition "past the cursor" and
//! the ORDER BY. Shared by the reads along an index (`list`), the searches that sort their
//! matches (`search`) and the copy in memory that sorts them there (`memory`), so that all
//! order rows exactly alike.

use crate::users::SortKey;

/// Kinds in the Type sort's order, as the index's rowid numbers them (migration 0010).
pub(super) const KINDS: [&str; 3] = ["application", "group", "user"];
/// Roles in the Role sort's order.
pub(super) const ROLES: [&str; 3] = ["admin", "contributor", "viewer"];

/// A principal's place in every sort.
#[derive(sqlx::FromRow, Clone, Debug)]
pub(super) struct Key {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub handle: String,
    pub role: String,
}

/// The page a plan is for. A search that finds few matches hands back only this page's rows
/// of them (up to `PAGE_SIZE + 1` past the cursor), sorted by the database as it looks them up.
#[derive(Clone, Copy)]
pub(super) struct Want<'a> {
    pub sort: SortKey,
    pub ascending: bool,
    pub from: Option<&'a [String]>,
}

/// The sort's columns, each matching an index's column order exactly; the handle is unique, so
/// it settles every tie and a cursor names one place in the order.
pub(super) fn columns(key: SortKey) -> &'static [&'static str] {
    match key {
        SortKey::Name => &["p.name", "p.handle"],
        SortKey::Email => &["p.handle"],
        SortKey::Type => &["p.kind", "p.name", "p.handle"],
        SortKey::Role => &["p.role", "p.name", "p.handle"],
    }
}

/// `columns` past the values bound from `?first` on, in the page's direction.
pub(super) fn past(columns: &[&str], ascending: bool, first: usize) -> String {
    let params: Vec<String> = (first..first + columns.len())
        .map(|i| format!("?{i}"))
        .collect();
    format!(
        "({}) {} ({})",
        columns.join(", "),
        if ascending { ">" } else { "<" },
        params.join(", ")
    )
}

/// The ORDER BY terms of `columns` in the page's direction.
pub(super) fn order_by(columns: &[&str], ascending: bool) -> String {
    let dir = if ascending { "ASC" } else { "DESC" };
    let terms: Vec<String> = columns.iter().map(|c| format!("{c} {dir}")).collect();
    terms.join(", ")
}
