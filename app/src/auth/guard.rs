//! The one UI guard. It hides what a role may not see; the server still checks every call.

use crate::{
    auth::{current_user, return_path::login_url_returning_to},
    error::AppError,
    roles::{Role, UserInfo},
};
use leptos::prelude::*;
use leptos_router::{components::Redirect, hooks::use_location};

/// The signed-in user, fetched once per page load and shared by the header and the guards.
#[derive(Clone, Copy)]
pub struct CurrentUser(pub Resource<Result<Option<UserInfo>, AppError>>);

pub fn provide_current_user() {
    provide_context(CurrentUser(Resource::new(|| (), |_| current_user())));
}

pub fn use_current_user() -> CurrentUser {
    expect_context::<CurrentUser>()
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
pub fn RequireRole(
    role: Role,
    #[prop(into)] denied: String,
    children: ChildrenFn,
) -> impl IntoView {
    let user = use_current_user().0;
    let location = use_location();
    let here = move || {
        let search = location.search.get_untracked();
        let sep = if search.is_empty() || search.starts_with('?') {
            ""
        } else {
            "?"
        };
        format!("{}{sep}{search}", location.pathname.get_untracked())
    };
    view! {
        <Suspense fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
            {move || {
                let children = children.clone();
                let denied = denied.clone();
                Suspend::new(async move {
                    match user.await {
                        Ok(Some(u)) if u.role >= role => children().into_any(),
                        Ok(Some(_)) => {
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
                        Ok(None) => view! { <Redirect path=login_url_returning_to(&here())/> }.into_any(),
                        Err(e) => view! { <p class="notice" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}
