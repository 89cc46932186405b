#![recursion_limit = "256"]
//! Gatehouse's Leptos app: shared types, components, routes and server functions.
//! Everything behind `ssr` runs only on the server.

pub mod account;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod connections;
#[cfg(feature = "ssr")]
pub mod context;
#[cfg(feature = "ssr")]
pub mod db;
pub mod email;
pub mod embed;
pub mod error;
pub mod key_vault;
pub mod layout;
pub mod lockbox;
#[cfg(feature = "ssr")]
pub mod outbound;
#[cfg(feature = "ssr")]
pub mod principals;
pub mod provisioning;
pub mod roles;
pub mod security;
pub mod sso;
pub mod text;
pub mod time_fmt;
#[cfg(feature = "ssr")]
pub mod tokens;
pub mod two_person;
pub mod ui;
pub mod users;
pub mod wire;

use account::LoginRoute;
use auth::{guard::provide_current_user, guard::set_response_status, return_path};
use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::{
    Lazy, SsrMode,
    components::{ParentRoute, Redirect, Route, Router, Routes},
    path,
};

/// The HTML document the server renders around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                // cargo-leptos names the stylesheet by its hash (`hash-files`), so it can be cached
                // for a year and a redeploy still fetches the new one.
                <HashedStylesheet options=options.clone() id="leptos"/>
                {hydrates().then(|| view! { <HydrationScripts options/> })}
                {embed::frame_script()}
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Whether the page loads the WASM. The sign-in page is a plain form posted to the server and
/// nothing on it runs in the browser, so it is sent without the hydration scripts: a first
/// visit downloads its HTML and CSS only. Reached by client-side navigation, it is still a
/// lazy route of the app.
#[cfg(feature = "ssr")]
fn hydrates() -> bool {
    use_context::<http::request::Parts>().is_none_or(|parts| parts.uri.path() != "/login")
}

#[cfg(not(feature = "ssr"))]
fn hydrates() -> bool {
    true
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_current_user();
    view! {
        <Title text="Gatehouse"/>
        // Every route renders in Async mode: it waits for its data before the first byte, so that
        // the status (403, a redirect) is decided before the headers are sent. The tabs, sign-in
        // and invitation are lazy routes: each is a WASM chunk of its own (`cargo leptos build
        // --split`), loaded when it is opened; the shell, router, guards and the small account
        // page stay in the main module (each lazy part multiplies the shared chunks).
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/") view=|| view! { <Redirect path=return_path::DEFAULT_LANDING/> } ssr=SsrMode::Async/>
                <Route path=path!("/login") view={Lazy::<LoginRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/logout") view=account::SignOutPage ssr=SsrMode::Async/>
                <Route path=path!("/account") view=account::AccountPage ssr=SsrMode::Async/>
                <Route path=path!("/invitation") view={Lazy::<users::InvitationRoute>::new()} ssr=SsrMode::Async/>
                <ParentRoute path=path!("/admin/security") view=security::SecurityPage ssr=SsrMode::Async>
                    <Route path=path!("") view=|| view! { <Redirect path="/admin/security/users"/> } ssr=SsrMode::Async/>
                    <Route path=path!("users") view={Lazy::<users::UsersRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("apis") view={Lazy::<api_keys::ApisRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("key-vault") view={Lazy::<key_vault::KeyVaultRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("lockbox") view={Lazy::<lockbox::LockboxRoute>::new()} ssr=SsrMode::Async/>
                </ParentRoute>
                // The same tabs, chromeless, for a portal's frame (see `embed`).
                <ParentRoute path=path!("/embed/security") view=embed::EmbedSecurityPage ssr=SsrMode::Async>
                    <Route path=path!("") view=|| view! { <Redirect path="/embed/security/users"/> } ssr=SsrMode::Async/>
                    <Route path=path!("users") view={Lazy::<users::UsersRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("apis") view={Lazy::<api_keys::ApisRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("key-vault") view={Lazy::<key_vault::KeyVaultRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("lockbox") view={Lazy::<lockbox::LockboxRoute>::new()} ssr=SsrMode::Async/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    set_response_status(404);
    view! {
        <Title text="Not found · Gatehouse"/>
        <main class="page">
            <h1 class="page-title">"Page not found"</h1>
            <p>"There is nothing at this address. "<a href=return_path::DEFAULT_LANDING>"Go to the Security page"</a></p>
        </main>
    }
}
