use leptos::prelude::*;

/// A tab whose controls have not shipped yet: it says what the tab is for, and that plainly.
#[component]
pub fn PlannedPanel(title: &'static str, purpose: &'static str) -> impl IntoView {
    view! {
        <h2>{title}</h2>
        <p>{purpose}</p>
        <p class="notice notice-info" role="note">"This part of the Security page is not available yet."</p>
    }
}
