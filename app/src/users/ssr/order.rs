//! A page's place in a sort, in SQL: the sort's columns, the condition "past the cursor" and
//! the ORDER BY, shared by the reads along an index (`list`) and the searches that sort their
//! matches (`search`), so that both order rows exactly alike.

use crate::users::SortKey;

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
