//! Where the Security page's tabs live: `/admin/security`, or `/embed/security` inside a
//! portal's frame. A leaf of the house (it imports no feature), so that every tab can link to
//! another without importing the page that holds them all.

use leptos::prelude::*;

/// The path prefix of the framed pages (see `crate::embed`).
pub const FRAME_PREFIX: &str = "/embed/security";

/// Where the tabs live in this document, so that links and tab changes in an embedded page stay
/// in the frame.
pub fn base() -> &'static str {
    #[cfg(feature = "ssr")]
    let path = use_context::<http::request::Parts>().map(|p| p.uri.path().to_owned());
    #[cfg(not(feature = "ssr"))]
    let path = window().location().pathname().ok();
    if path.is_some_and(|p| p.starts_with(FRAME_PREFIX)) {
        FRAME_PREFIX
    } else {
        "/admin/security"
    }
}

/// The address of the tab `slug` in this document.
pub fn tab_href(slug: &str) -> String {
    format!("{}/{slug}", base())
}
