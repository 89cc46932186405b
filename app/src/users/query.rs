//! The list's search, sort and page, as the URL carries them (`?q=…&sort=-name&after=…`), so
//! that reload, links and Back all land on the same view. A page is named by a cursor (the
//! sort values of the row before or after it, from the server), not by a number: the database
//! seeks to it along the sort's index, so page 20,000 costs what page 1 does.

use crate::error::AppError;
use serde::{Deserialize, Serialize};

pub const PAGE_SIZE: u32 = 50;
/// Longer searches match nothing a person would type; they are refused rather than run.
const MAX_SEARCH_CHARS: usize = 200;
/// A cursor holds at most three values of at most 254 characters each, base64-encoded.
const MAX_CURSOR_CHARS: usize = 2_048;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortKey {
    #[default]
    Name,
    Email,
    Type,
    Role,
}

impl SortKey {
    pub const ALL: [SortKey; 4] = [Self::Name, Self::Email, Self::Type, Self::Role];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Email => "email",
            Self::Type => "type",
            Self::Role => "role",
        }
    }

    /// The column header.
    pub fn label(self) -> &'static str {
        match self {
            Self::Name => "Name",
            Self::Email => "Email/ID",
            Self::Type => "Type",
            Self::Role => "Role",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub sort: SortKey,
    #[serde(default)]
    pub descending: bool,
    /// The page after this cursor (a `PrincipalPage::next`)…
    #[serde(default)]
    pub after: Option<String>,
    /// …or the page before this one (a `PrincipalPage::previous`); neither: the first page.
    #[serde(default)]
    pub before: Option<String>,
}

impl ListQuery {
    /// Reads the URL's parameters leniently: a hand-edited or stale link shows the nearest
    /// sensible view instead of an error page.
    pub fn from_params<'a>(get: impl Fn(&str) -> Option<String> + 'a) -> Self {
        let sort = get("sort").unwrap_or_default();
        let (descending, key) = match sort.strip_prefix('-') {
            Some(key) => (true, key.to_owned()),
            None => (false, sort),
        };
        let sort = SortKey::ALL.into_iter().find(|k| k.as_str() == key);
        let after = get("after").filter(|c| is_cursor_shaped(c));
        let before = get("before").filter(|c| after.is_none() && is_cursor_shaped(c));
        Self {
            q: get("q")
                .map(|q| q.trim().chars().take(MAX_SEARCH_CHARS).collect())
                .unwrap_or_default(),
            sort: sort.unwrap_or_default(),
            descending: descending && sort.is_some(),
            after,
            before,
        }
    }

    /// The `sort` parameter: the key, with `-` in front when descending.
    pub fn sort_param(&self) -> String {
        format!(
            "{}{}",
            if self.descending { "-" } else { "" },
            self.sort.as_str()
        )
    }

    /// The query string for this view, without defaults, starting with `?` (or empty).
    pub fn to_search(&self) -> String {
        let mut pairs = Vec::new();
        if !self.q.is_empty() {
            pairs.push(format!("q={}", encode(&self.q)));
        }
        if self.sort != SortKey::default() || self.descending {
            pairs.push(format!("sort={}", self.sort_param()));
        }
        if let Some(after) = &self.after {
            pairs.push(format!("after={}", encode(after)));
        } else if let Some(before) = &self.before {
            pairs.push(format!("before={}", encode(before)));
        }
        if pairs.is_empty() {
            String::new()
        } else {
            format!("?{}", pairs.join("&"))
        }
    }

    /// The same view sorted by `key`: ascending first, descending when already ascending on it.
    pub fn sorted_by(&self, key: SortKey) -> Self {
        Self {
            q: self.q.clone(),
            sort: key,
            descending: self.sort == key && !self.descending,
            after: None,
            before: None,
        }
    }

    /// The same search and sort, on the page after (`forward`) or before a cursor.
    pub fn at(&self, cursor: &str, forward: bool) -> Self {
        let cursor = Some(cursor.to_owned());
        Self {
            q: self.q.clone(),
            sort: self.sort,
            descending: self.descending,
            after: if forward { cursor.clone() } else { None },
            before: if forward { None } else { cursor },
        }
    }

    /// The first page of a search for `q`, in the same sort.
    pub fn searched(&self, q: &str) -> Self {
        Self {
            q: q.to_owned(),
            sort: self.sort,
            descending: self.descending,
            after: None,
            before: None,
        }
    }

    /// Whether this is the first page of its search and sort.
    pub fn is_first_page(&self) -> bool {
        self.after.is_none() && self.before.is_none()
    }

    /// The server's check: the browser's lenient parsing is not a guard.
    pub fn validated(self) -> Result<Self, AppError> {
        if self.q.chars().count() > MAX_SEARCH_CHARS {
            return Err(AppError::invalid(
                "q",
                format!("Search for at most {MAX_SEARCH_CHARS} characters."),
            ));
        }
        for (field, cursor) in [("after", &self.after), ("before", &self.before)] {
            if cursor.as_deref().is_some_and(|c| !is_cursor_shaped(c)) {
                return Err(AppError::invalid(
                    field,
                    "This is not a page of this list: start again from the first page.",
                ));
            }
        }
        if self.after.is_some() && self.before.is_some() {
            return Err(AppError::invalid(
                "before",
                "Ask for the page after a cursor or before one, not both.",
            ));
        }
        Ok(Self {
            q: self.q.trim().to_owned(),
            ..self
        })
    }
}

/// Base64url without padding, of bounded length: what the server hands out. Whether it decodes
/// to the sort's values is the server's to check (`ssr::list`).
fn is_cursor_shaped(cursor: &str) -> bool {
    (1..=MAX_CURSOR_CHARS).contains(&cursor.len())
        && cursor
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> ListQuery {
        ListQuery::from_params(|k| {
            pairs
                .iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn url_round_trips() {
        let q = parse(&[
            ("q", "ada lovelace"),
            ("sort", "-role"),
            ("after", "WyJhIl0"),
        ]);
        assert_eq!(q.sort, SortKey::Role);
        assert!(q.descending);
        assert_eq!(q.to_search(), "?q=ada%20lovelace&sort=-role&after=WyJhIl0");
        assert_eq!(
            q.at("WyJiIl0", false).to_search(),
            "?q=ada%20lovelace&sort=-role&before=WyJiIl0"
        );
        assert_eq!(parse(&[]).to_search(), "");
    }

    #[test]
    fn bad_parameters_fall_back_to_defaults() {
        let q = parse(&[("sort", "-password"), ("after", "not a cursor!")]);
        assert_eq!(q, ListQuery::default());
        assert!(parse(&[("before", &"x".repeat(5000))]).is_first_page());
    }

    #[test]
    fn sorting_toggles_direction_and_resets_the_page() {
        let q = parse(&[("after", "WyJhIl0")]);
        let by_name = q.sorted_by(SortKey::Name);
        assert!(by_name.descending && by_name.is_first_page());
        assert!(!by_name.sorted_by(SortKey::Name).descending);
        assert!(!q.sorted_by(SortKey::Role).descending);
    }

    #[test]
    fn the_server_refuses_what_the_browser_would_clamp() {
        let long = ListQuery {
            q: "x".repeat(201),
            ..parse(&[])
        };
        assert!(long.validated().is_err());
        let odd = ListQuery {
            after: Some("no spaces".into()),
            ..parse(&[])
        };
        assert!(odd.validated().is_err());
        let both = ListQuery {
            after: Some("WyJhIl0".into()),
            before: Some("WyJhIl0".into()),
            ..parse(&[])
        };
        assert!(both.validated().is_err());
    }
}
