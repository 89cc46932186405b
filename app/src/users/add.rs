//! The Add users pane: a user (by email, who gets an invitation link), a group or an
//! application (by name, which gets a client secret), each with a role.

use super::{
    Added, PrincipalKind, add_principal,
    reveal::{INVITATION_NOTE, Reveal, SECRET_NOTE, absolute_url},
    role_select::role_select,
};
use crate::{
    error::AppError,
    roles::Role,
    ui::{Pane, field_error, form_error, submit},
};
use leptos::prelude::*;

#[component]
pub fn AddPane(on_close: Callback<()>, on_added: Callback<Reveal>) -> impl IntoView {
    let kind = RwSignal::new(PrincipalKind::User);
    let principal = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Viewer);
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let call = add_principal(
            kind.get_untracked(),
            principal.get_untracked(),
            role.get_untracked(),
        );
        submit(pending, error, call, move |added| {
            on_added.run(hand_over(added))
        });
    };
    let principal_label = move || match kind.get() {
        PrincipalKind::User => "Email",
        _ => "Name",
    };
    view! {
        <Pane id="add-principal" title="Add users" on_close>
            <form class="stacked" on:submit=save novalidate>
                {form_error(error, &["principal", "role"])}
                <fieldset class="kind-choice">
                    <legend>"Type"</legend>
                    {PrincipalKind::ALL
                        .into_iter()
                        .map(|k| view! {
                            <label>
                                <input
                                    type="radio"
                                    name="kind"
                                    prop:checked=move || kind.get() == k
                                    on:change=move |_| {
                                        kind.set(k);
                                        error.set(None);
                                    }
                                />
                                {k.label()}
                            </label>
                        })
                        .collect_view()}
                </fieldset>
                <div class="field">
                    <label for="add-principal-input">{principal_label}</label>
                    <input
                        id="add-principal-input"
                        type=move || if kind.get() == PrincipalKind::User { "email" } else { "text" }
                        autocomplete="off"
                        maxlength="254"
                        data-autofocus
                        aria-describedby="principal-error"
                        prop:value=move || principal.get()
                        on:input=move |ev| principal.set(event_target_value(&ev))
                    />
                    {field_error(error, "principal")}
                </div>
                <div class="field">
                    {role_select(role, "add-role")}
                    {field_error(error, "role")}
                </div>
                <div class="dialog-actions">
                    <button type="submit" class="button-primary" disabled=move || pending.get()>
                        {move || if pending.get() { "Saving…" } else { "Save" }}
                    </button>
                    <button type="button" on:click=move |_| on_close.run(())>"Cancel"</button>
                </div>
            </form>
        </Pane>
    }
}

/// What the new principal needs handed over: a user's invitation link, an application's
/// secret, a group's ID.
fn hand_over(added: Added) -> Reveal {
    let p = added.principal;
    match (added.invitation_path, added.client_secret) {
        (Some(path), _) => Reveal {
            title: format!("Invitation for {}", p.email_or_id),
            label: "Invitation link",
            value: absolute_url(&path),
            note: INVITATION_NOTE,
        },
        (None, Some(secret)) => Reveal {
            title: format!("{} was added", p.name),
            label: "Client secret",
            value: secret,
            note: SECRET_NOTE,
        },
        (None, None) => Reveal {
            title: format!("{} was added", p.name),
            label: "ID",
            value: p.email_or_id,
            note: "Add members to the group from its row.",
        },
    }
}
