//! The one UI guard. It hides what a role may not see; the server still checks every call.

use crate::{
    auth::return_path::login_url_returning_to,
    roles::{Role, UserInfo},
};
use leptos::prelude::*;
use leptos_router::{components::Redirect, hooks::use_location};

/// The signed-in user of this page load. The server looks them up before rendering (see
/// `ssr::SignedInUser`) and the value travels to the browser inside the page, so guards decide
/// synchronously: no Suspense, and the status (403, redirect) is known before the first byte.
#[derive(Clone, Debug)]
pub struct CurrentUser(pub Option<UserInfo>);

pub fn provide_current_user() {
    let user = SharedValue::new(|| {
        #[cfg(feature = "ssr")]
        {
            use_context::<http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<super::ssr::SignedInUser>().cloned())
                .and_then(|signed_in| signed_in.0)
        }
        #[cfg(not(feature = "ssr"))]
        None
    });
    provide_context(CurrentUser(user.into_inner()));
}

pub fn use_current_user() -> Option<UserInfo> {
    use_context::<CurrentUser>().and_then(|c| c.0)
}

/// Sets the status of the server-rendered response (no-op in the browser).
pub fn set_response_status(status: u16) {
    #[cfg(feature = "ssr")]
    if let (Some(res), Ok(status)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::StatusCode::from_u16(status),
    ) {
        res.set_status(status);
    }
    #[cfg(not(feature = "ssr"))]
    let _ = status;
}

/// Renders `children` only for a signed-in user with at least `role`. Anonymous visitors are sent
/// to the sign-in page (and come back afterwards); others see `denied` with status 403.
#[component]
pub fn RequireRole(role: Role, #[prop(into)] denied: String, children: Children) -> impl IntoView {
    let location = use_location();
    match use_current_user() {
        Some(u) if u.role >= role => children().into_any(),
        Some(_) => {
            set_response_status(403);
            view! {
                <section class="notice notice-denied" role="alert">
                    <h2>"Access denied"</h2>
                    <p>{denied}</p>
                    <p>"Ask an administrator of this environment if you need access."</p>
                </section>
            }
            .into_any()
        }
        None => {
            let search = location.search.get_untracked();
            let sep = if search.is_empty() || search.starts_with('?') {
                ""
            } else {
                "?"
            };
            let here = format!("{}{sep}{search}", location.pathname.get_untracked());
            view! { <Redirect path=login_url_returning_to(&here)/> }.into_any()
        }
    }
}
