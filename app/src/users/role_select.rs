//! The Role picker of the Add and Edit panes; named `role` for a form posted without JavaScript.

use crate::roles::Role;
use leptos::prelude::*;

pub(super) fn role_select(selected: RwSignal<Role>, id: &'static str) -> impl IntoView {
    view! {
        <label for=id>"Role"</label>
        <select id=id name="role" on:change=move |ev| {
            if let Some(role) = Role::parse(&event_target_value(&ev)) {
                selected.set(role);
            }
        }>
            {Role::ALL
                .into_iter()
                .map(|r| view! { <option value=r.as_str() selected=move || selected.get() == r>{r.label()}</option> })
                .collect_view()}
        </select>
    }
}
