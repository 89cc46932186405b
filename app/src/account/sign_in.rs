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
        Some("sso_required") => {
            set_response_status(403);
            Some("Sign in with single sign-on: passwords are only for break-glass users here.")
        }
        Some(_) => Some("Sign-in failed. Try again."),
        None => None,
    };
    // The provider's name when single sign-on is set up: the server found it for this page
    // and it travels to the browser with it.
    let offer = SharedValue::new(|| {
        #[cfg(feature = "ssr")]
        {
            use_context::<http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<crate::sso::SsoOffer>().cloned())
                .unwrap_or_default()
        }
        #[cfg(not(feature = "ssr"))]
        crate::sso::SsoOffer::default()
    })
    .into_inner();
    // Just signed out of a single sign-on session: the provider's session may live on.
    let signed_out = query.read_untracked().get("signed_out").is_some();
    let provider_sign_out = offer
        .end_session
        .clone()
        .filter(|_| signed_out)
        .zip(offer.name.clone())
        .map(|(url, name)| {
            view! {
                <p class="notice" role="status">
                    "You are signed out of Gatehouse. "
                    <a href=url rel="external">{format!("Sign out of {name} too")}</a>
                </p>
            }
        });
    let sso = offer.name.map(|name| {
        view! {
            // A form post, so it works before (or without) the WASM bundle.
            <form class="login-form" method="post" action=crate::sso::START_PATH>
                <input type="hidden" name="next" value=next/>
                <button type="submit" class="button-primary">{format!("Sign in with {name}")}</button>
            </form>
            <p class="login-or">"or with your password"</p>
        }
    });
    view! {
        <Title text="Sign in · Gatehouse"/>
        <main class="login-page">
            <section class="card login-card">
                <h1>"Sign in to Gatehouse"</h1>
                {provider_sign_out}
                {move || error().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
                {sso}
                <form class="login-form" method="post" action="/auth/login">
                    <input type="hidden" name="next" value=next/>
                    <label for="email">"Email"</label>
                    <input id="email" name="email" type="email" autocomplete="username" required maxlength="254"/>
                    <label for="password">"Password"</label>
                    <input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024"/>
                    <button type="submit" class="button-primary">"Sign in"</button>
                </form>
            </section>
        </main>
    }
}
