//! The sign-in page: a plain HTML form posted to the server, so it works before (or without)
//! the WASM bundle.

use crate::auth::{guard::set_response_status, return_path::safe_return_path};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{LazyRoute, hooks::use_query_map, lazy_route};

/// The sign-in page as a lazy route: signed-in users never download its code.
pub struct LoginRoute;

#[lazy_route]
impl LazyRoute for LoginRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <LoginPage/> }.into_any()
    }
}

#[component]
fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let next = move || {
        query
            .read()
            .get("next")
            .filter(|n| safe_return_path(n).is_some())
            .unwrap_or_default()
    };
    let error = move || match query.read().get("error").as_deref() {
        Some("invalid") => Some("Email or password is incorrect."),
        Some("throttled") => {
            set_response_status(429);
            Some("Too many sign-in attempts. Wait a minute and try again.")
        }
        Some(_) => Some("Sign-in failed. Try again."),
        None => None,
    };
    view! {
        <Title text="Sign in · Gatehouse"/>
        <main class="login-page">
            <form class="card login-card" method="post" action="/auth/login">
                <h1>"Sign in to Gatehouse"</h1>
                {move || error().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
                <input type="hidden" name="next" value=next/>
                <label for="email">"Email"</label>
                <input id="email" name="email" type="email" autocomplete="username" required maxlength="254"/>
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024"/>
                <button type="submit" class="button-primary">"Sign in"</button>
            </form>
        </main>
    }
}
