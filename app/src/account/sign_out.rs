//! `GET /logout`: a page that asks, because signing out changes state and only a POST may do
//! that. A link or image on another site that points here signs nobody out.

use crate::auth::guard::use_current_user;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SignOutPage() -> impl IntoView {
    let user = use_current_user();
    view! {
        <Title text="Sign out · Gatehouse"/>
        <main class="login-page">
            {match user {
                Some(u) => view! {
                    <form class="card login-card" method="post" action="/logout">
                        <h1>"Sign out of Gatehouse?"</h1>
                        <p>"You are signed in as " <strong>{u.email.clone()}</strong> "."</p>
                        <button type="submit" class="button-primary">"Sign out"</button>
                        <p><a href="/admin/security/users">"Back to the Security page"</a></p>
                    </form>
                }.into_any(),
                None => view! {
                    <div class="card login-card">
                        <h1>"You are signed out"</h1>
                        <p><a href="/login">"Sign in"</a></p>
                    </div>
                }.into_any(),
            }}
        </main>
    }
}
