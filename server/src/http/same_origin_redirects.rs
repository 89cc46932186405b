//! No `Location` this server sends leaves its own origin. Every redirect Gatehouse makes is to
//! one of its own paths; a path taken from the request (`//evil.example/x` is a valid request
//! path, and a browser reads it as another host) must not turn into a redirect elsewhere. So
//! the last layer checks every `Location`: a path that starts with exactly one `/` passes;
//! anything else (a scheme, `//`, `/\`, a control character) becomes `/`.

use axum::{
    extract::Request,
    http::{HeaderValue, Uri, header},
    middleware::Next,
    response::Response,
};

/// Whether a `Location` value stays on this origin: an absolute path with no authority.
pub fn is_local(location: &str) -> bool {
    let mut bytes = location.bytes();
    bytes.next() == Some(b'/')
        && !matches!(bytes.next(), Some(b'/' | b'\\'))
        // Browsers drop tabs and newlines from URLs, so `/\t/evil` is `//evil` to them.
        && !location.bytes().any(|b| b.is_ascii_control() || b == b'\\')
}

/// The path and query of an absolute `http(s)` URL on `host` (Leptos sends a no-JavaScript
/// form back to its absolute `Referer`): the same place, written as a local path.
fn same_host_path(location: &str, host: Option<&str>) -> Option<String> {
    let uri: Uri = location.parse().ok()?;
    let same = matches!(uri.scheme_str(), Some("http" | "https"))
        && host.is_some_and(|h| uri.authority().is_some_and(|a| a.as_str() == h));
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    (same && is_local(path)).then(|| path.to_owned())
}

/// Marks a response whose redirect leaves this origin on purpose: single sign-on's, to the
/// configured provider.
#[derive(Clone, Copy, Debug)]
pub struct ToProvider;

pub async fn keep_redirects_local(request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned);
    let mut response = next.run(request).await;
    let Some(location) = response.headers().get(header::LOCATION) else {
        return response;
    };
    if response.extensions().get::<ToProvider>().is_some() {
        return response;
    }
    let location = location.to_str().unwrap_or_default();
    if is_local(location) {
        return response;
    }
    let local = same_host_path(location, host.as_deref())
        .and_then(|p| HeaderValue::from_str(&p).ok())
        .unwrap_or_else(|| {
            tracing::warn!("a redirect off this origin was replaced by one to /");
            HeaderValue::from_static("/")
        });
    response.headers_mut().insert(header::LOCATION, local);
    response
}

#[cfg(test)]
mod tests {
    use super::{is_local, same_host_path};

    #[test]
    fn absolute_urls_on_this_host_become_paths() {
        let host = Some("127.0.0.1:3000");
        assert_eq!(
            same_host_path("http://127.0.0.1:3000/invitation?__err=x", host).as_deref(),
            Some("/invitation?__err=x")
        );
        assert_eq!(same_host_path("http://evil.example/x", host), None);
        assert_eq!(
            same_host_path("http://127.0.0.1:3000//evil.example/x", host),
            None
        );
        assert_eq!(same_host_path("javascript:alert(1)", host), None);
        assert_eq!(same_host_path("http://127.0.0.1:3000/x", None), None);
    }

    #[test]
    fn only_paths_of_this_origin_are_local() {
        for local in [
            "/",
            "/admin/security/users",
            "/login?next=%2Fadmin",
            "/a//b",
        ] {
            assert!(is_local(local), "{local}");
        }
        for off in [
            "//evil.example/phish",
            "/\\evil.example",
            "https://evil.example/",
            "evil.example",
            "",
            "/\t/evil.example",
            "/a\\b",
        ] {
            assert!(!is_local(off), "{off:?}");
        }
    }
}
