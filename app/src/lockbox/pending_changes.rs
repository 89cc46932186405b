//! The policy card's **Pending changes**: what the two-person rule holds for a second Lockbox
//! approver, with **Confirm** (their password) and **Cancel**.

use super::{cancel_pending_change, confirm_pending_change};
use crate::{
    error::AppError,
    time_fmt::utc_minutes,
    two_person::PendingChange,
    ui::{field_error, form_error, submit},
};
use leptos::prelude::*;

#[component]
pub fn PendingChanges(
    changes: Vec<PendingChange>,
    can_decide: bool,
    changed: Callback<()>,
    /// A confirmed password reset's one-time link for the confirming approver; it lives in
    /// the panel, as the card is drawn again from the reloaded overview.
    link: RwSignal<Option<String>>,
) -> impl IntoView {
    let shown = !changes.is_empty();
    view! {
        {move || link.get().map(|path| view! {
            <p class="notice notice-info" role="status">
                "Password reset link (shown once; hand it to the user): "
                <code>{path}</code>
            </p>
        })}
        {shown.then(|| view! {
            <h4 id="lockbox-pending-changes">"Pending changes"</h4>
            <p class="muted">
                "The two-person rule is on: these changes wait until a second Lockbox approver confirms them with their password."
            </p>
            <ul class="pending-changes" aria-labelledby="lockbox-pending-changes">
                {changes
                    .into_iter()
                    .map(|c| view! { <ChangeRow change=c can_decide link changed/> })
                    .collect_view()}
            </ul>
        })}
    }
}

#[component]
fn ChangeRow(
    change: PendingChange,
    can_decide: bool,
    link: RwSignal<Option<String>>,
    changed: Callback<()>,
) -> impl IntoView {
    let id = change.id;
    let password = RwSignal::new(String::new());
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    let field = format!("pending-change-{id}-password");
    let confirm = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        submit(
            pending,
            error,
            confirm_pending_change(id, password.get_untracked()),
            move |path| {
                password.set(String::new());
                link.set(path);
                changed.run(());
            },
        );
    };
    let cancel = move |_| {
        submit(pending, error, cancel_pending_change(id), move |()| {
            changed.run(())
        })
    };
    let may_confirm = can_decide && !change.mine;
    view! {
        <li class="pending-change">
            <p>
                <strong>{change.summary}</strong>
                " · proposed by " {change.proposed_by} " at " {utc_minutes(change.proposed_at)}
            </p>
            {form_error(error, &["password"])}
            {if may_confirm {
                view! {
                    <form class="inline-form" on:submit=confirm>
                        <label for=field.clone()>"Your password"</label>
                        <input id=field type="password" autocomplete="current-password" required
                            prop:value=move || password.get()
                            on:input=move |ev| password.set(event_target_value(&ev))/>
                        <button type="submit" class="button-primary" disabled=move || pending.get()>"Confirm"</button>
                        {field_error(error, "password")}
                    </form>
                }.into_any()
            } else if change.mine {
                view! { <p class="muted">"You proposed this change: another Lockbox approver must confirm it."</p> }.into_any()
            } else {
                view! { <p class="muted">"Only a Lockbox approver can confirm it."</p> }.into_any()
            }}
            <button type="button" disabled=move || pending.get() on:click=cancel>"Cancel change"</button>
        </li>
    }
}
