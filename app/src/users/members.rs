//! A group's Members pane: who is in it, add by email, remove.

use super::{Member, Principal, add_member, list_members, remove_member};
use crate::{
    error::AppError,
    ui::{Pane, field_error, form_error, submit},
};
use leptos::prelude::*;

#[component]
pub fn MembersPane(
    group: Principal,
    on_close: Callback<()>,
    changed: Callback<()>,
) -> impl IntoView {
    let group_id = group.id;
    let members = RwSignal::new(None::<Vec<Member>>);
    let email = RwSignal::new(String::new());
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    // Loaded when the pane opens (panes only open in the browser).
    submit(pending, error, list_members(group_id), move |m| {
        members.set(Some(m))
    });
    let updated = move |m: Vec<Member>| {
        members.set(Some(m));
        changed.run(());
    };
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        submit(
            pending,
            error,
            add_member(group_id, email.get_untracked()),
            move |m| {
                email.set(String::new());
                updated(m);
            },
        );
    };
    view! {
        <Pane id="group-members" title=format!("Members of {}", group.name) on_close>
            <p class="muted">"Members get the group's role (" {group.role.label()} ") when it is higher than their own."</p>
            {form_error(error, &["member"])}
            {move || match members.get() {
                None => view! { <p class="loading" role="status">"Loading…"</p> }.into_any(),
                Some(list) if list.is_empty() => view! { <p>"No members yet."</p> }.into_any(),
                Some(list) => view! {
                    <ul class="members">
                        {list
                            .into_iter()
                            .map(|m| {
                                let user_id = m.user_id;
                                view! {
                                    <li>
                                        <span>{m.name.clone()} " " <span class="muted">{m.email.clone()}</span></span>
                                        <button
                                            type="button"
                                            class="button-small"
                                            aria-label=format!("Remove {} from the group", m.email)
                                            disabled=move || pending.get()
                                            on:click=move |_| submit(pending, error, remove_member(group_id, user_id), updated)
                                        >
                                            "Remove"
                                        </button>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
                    .into_any(),
            }}
            <form class="inline-form" on:submit=add novalidate>
                <div class="field">
                    <label for="member-email">"Member email"</label>
                    <input
                        id="member-email"
                        type="email"
                        maxlength="254"
                        data-autofocus
                        prop:value=move || email.get()
                        on:input=move |ev| email.set(event_target_value(&ev))
                    />
                    {field_error(error, "member")}
                </div>
                <button type="submit" disabled=move || pending.get()>"Add member"</button>
            </form>
            <div class="dialog-actions">
                <button type="button" on:click=move |_| on_close.run(())>"Close"</button>
            </div>
        </Pane>
    }
}
