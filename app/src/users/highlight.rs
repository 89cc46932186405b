//! The part of a name or an email/ID that a search matched, marked in the row.

use leptos::prelude::*;

/// Where `q` occurs in `text`, case-insensitively, as a byte range of `text`: anywhere for a
/// search of three characters or more, at the start for a shorter one (the server's rules).
fn find(text: &str, q: &str) -> Option<(usize, usize)> {
    let needle: Vec<char> = q.chars().flat_map(char::to_lowercase).collect();
    if needle.is_empty() {
        return None;
    }
    let anywhere = q.chars().count() >= 3;
    for (start, _) in text.char_indices() {
        if start > 0 && !anywhere {
            break;
        }
        let mut wanted = needle.iter();
        let mut end = start;
        let mut matched = true;
        for (i, c) in text[start..].char_indices() {
            for lower in c.to_lowercase() {
                match wanted.next() {
                    Some(w) if *w == lower => {}
                    _ => matched = false,
                }
            }
            end = start + i + c.len_utf8();
            if !matched || wanted.len() == 0 {
                break;
            }
        }
        if matched && wanted.len() == 0 {
            return Some((start, end));
        }
    }
    None
}

/// `text`, with the matched part in `<mark>`.
pub fn highlighted(text: String, q: &str) -> AnyView {
    match find(&text, q) {
        Some((start, end)) => {
            let (before, rest) = text.split_at(start);
            let (hit, after) = rest.split_at(end - start);
            view! { {before.to_owned()}<mark>{hit.to_owned()}</mark>{after.to_owned()} }.into_any()
        }
        None => text.into_any(),
    }
}

#[cfg(test)]
mod tests {
    use super::find;

    #[test]
    fn finds_any_part_in_any_case() {
        assert_eq!(find("ada@Example.org", "example"), Some((4, 11)));
        assert_eq!(find("Zoë Ölberg", "ÖLB"), Some((5, 9)));
        assert_eq!(find("Ada", "ada lovelace"), None);
    }

    #[test]
    fn short_searches_match_the_start_only() {
        assert_eq!(find("Ada Lovelace", "ad"), Some((0, 2)));
        assert_eq!(find("Lovelace, Ada", "ad"), None);
        assert_eq!(find("anything", ""), None);
    }
}
