//! The list's search, sort and page, as the URL carries them (`?q=…&sort=-name&page=2`), so
//! that reload, links and Back all land on the same view.

use crate::error::AppError;
use serde::{Deserialize, Serialize};

pub const PAGE_SIZE: u32 = 50;
/// Longer searches match nothing a person would type; they are refused rather than run.
const MAX_SEARCH_CHARS: usize = 200;
/// 5 million principals at 50 a page; beyond it a page number is a typo or a probe.
const MAX_PAGE: u32 = 100_000;

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
    /// 1-based.
    #[serde(default = "first_page")]
    pub page: u32,
}

fn first_page() -> u32 {
    1
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
        Self {
            q: get("q")
                .map(|q| q.trim().chars().take(MAX_SEARCH_CHARS).collect())
                .unwrap_or_default(),
            sort: sort.unwrap_or_default(),
            descending: descending && sort.is_some(),
            page: get("page")
                .and_then(|p| p.parse().ok())
                .map_or(1, |p: u32| p.clamp(1, MAX_PAGE)),
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
        if self.page > 1 {
            pairs.push(format!("page={}", self.page));
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
            page: 1,
        }
    }

    pub fn at_page(&self, page: u32) -> Self {
        Self {
            page,
            ..self.clone()
        }
    }

    /// The server's check: the browser's lenient parsing is not a guard.
    pub fn validated(self) -> Result<Self, AppError> {
        if self.q.chars().count() > MAX_SEARCH_CHARS {
            return Err(AppError::invalid(
                "q",
                format!("Search for at most {MAX_SEARCH_CHARS} characters."),
            ));
        }
        if !(1..=MAX_PAGE).contains(&self.page) {
            return Err(AppError::invalid(
                "page",
                format!("Pages are numbered from 1 to {MAX_PAGE}."),
            ));
        }
        Ok(Self {
            q: self.q.trim().to_owned(),
            ..self
        })
    }
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
        let q = parse(&[("q", "ada lovelace"), ("sort", "-role"), ("page", "3")]);
        assert_eq!(q.sort, SortKey::Role);
        assert!(q.descending);
        assert_eq!(q.to_search(), "?q=ada%20lovelace&sort=-role&page=3");
        assert_eq!(parse(&[]).to_search(), "");
    }

    #[test]
    fn bad_parameters_fall_back_to_defaults() {
        let q = parse(&[("sort", "-password"), ("page", "-4")]);
        assert_eq!(
            q,
            ListQuery {
                page: 1,
                ..ListQuery::default()
            }
        );
        assert_eq!(parse(&[("page", "9999999")]).page, MAX_PAGE);
    }

    #[test]
    fn sorting_toggles_direction_and_resets_the_page() {
        let q = parse(&[("page", "4")]);
        let by_name = q.sorted_by(SortKey::Name);
        assert!(by_name.descending && by_name.page == 1);
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
        let zero = ListQuery {
            page: 0,
            ..parse(&[])
        };
        assert!(zero.validated().is_err());
    }
}
