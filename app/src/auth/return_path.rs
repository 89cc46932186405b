//! Where to send a user after sign-in. Only same-site paths are accepted, so that a crafted
//! `/login?next=https://evil.example` link cannot turn the sign-in page into an open redirect.

/// Where a signed-in user lands when no (valid) return path was given.
pub const DEFAULT_LANDING: &str = "/admin/security/users";

/// Returns `next` when it is a local absolute path, `None` otherwise.
pub fn safe_return_path(next: &str) -> Option<&str> {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        // Browsers treat a backslash like a slash, so "/\evil.example" is protocol-relative.
        && !next.contains('\\')
        && !next.chars().any(char::is_control)
        && next.len() <= 2048;
    local.then_some(next)
}

/// Everything but RFC 3986's unreserved characters is escaped in a query value.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The sign-in page URL that returns to `path_and_query` afterwards.
pub fn login_url_returning_to(path_and_query: &str) -> String {
    login_url(None, Some(path_and_query))
}

/// The sign-in page URL showing `error` (a code the page knows) and returning to `next`.
pub fn login_url(error: Option<&str>, next: Option<&str>) -> String {
    let mut url = String::from("/login");
    let mut sep = '?';
    for (key, value) in [("error", error), ("next", next)] {
        if let Some(value) = value {
            let encoded = percent_encoding::utf8_percent_encode(value, QUERY_VALUE);
            url.push_str(&format!("{sep}{key}={encoded}"));
            sep = '&';
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_are_accepted() {
        assert_eq!(
            safe_return_path("/admin/security/apis"),
            Some("/admin/security/apis")
        );
        assert_eq!(safe_return_path("/a?b=c#d"), Some("/a?b=c#d"));
    }

    #[test]
    fn other_sites_are_refused() {
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "evil",
            "",
            "/a\nb",
            "javascript:alert(1)",
        ] {
            assert_eq!(safe_return_path(bad), None, "{bad:?} must be refused");
        }
    }

    #[test]
    fn login_url_encodes_the_return_path() {
        assert_eq!(
            login_url_returning_to("/admin/security/users?q=a&page=2"),
            "/login?next=%2Fadmin%2Fsecurity%2Fusers%3Fq%3Da%26page%3D2"
        );
        assert_eq!(
            login_url(Some("invalid"), Some("/x")),
            "/login?error=invalid&next=%2Fx"
        );
        assert_eq!(login_url(Some("throttled"), None), "/login?error=throttled");
    }
}
