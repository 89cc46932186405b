//! The frame around every signed-in page.

use crate::auth::guard::use_current_user;
use leptos::prelude::*;

/// The top bar: product name, where the user is, who is signed in, and sign-out.
#[component]
pub fn AppHeader() -> impl IntoView {
    view! {
        <header class="app-header">
            <a class="brand" href="/admin/security/users">"Gatehouse"</a>
            <nav class="breadcrumb" aria-label="Breadcrumb">
                <ol>
                    <li>"Admin"</li>
                    <li aria-current="page">"Security"</li>
                </ol>
            </nav>
            {use_current_user().map(|u| view! {
                <div class="account">
                    <a class="account-name" href="/account" title=format!("Your account: {}", u.email)>{u.name.clone()}</a>
                    <span class="account-role">{u.role.label()}</span>
                    // A form, not a link: signing out changes state, so it is a POST.
                    <form method="post" action="/logout">
                        <button type="submit" class="button-quiet">"Sign out"</button>
                    </form>
                </div>
            })}
        </header>
    }
}
