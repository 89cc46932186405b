//! `/account`: the signed-in user's own page: change the password (the current one required;
//! other sessions end) and sign out everywhere.

use super::{change_password, sign_out_everywhere};
use crate::auth::{
    MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS, guard::use_current_user, return_path::login_url,
};
use crate::{
    error::AppError,
    layout::AppHeader,
    ui::{ConfirmDialog, field_error, form_error, submit},
};
use leptos::prelude::*;
use leptos_meta::Title;

/// The account page. Not a lazy route: it is small, and each lazy part multiplies the shared
/// chunks `--split` makes; in the main module it made a first visit of the Users tab 44 kB
/// smaller (README, "The bundle").
#[component]
pub fn AccountPage() -> impl IntoView {
    let Some(me) = use_current_user() else {
        // Anonymous: the way in is the sign-in page, which brings them back here.
        return view! {
            <main class="login-page">
                <div class="card login-card">
                    <h1>"Your account"</h1>
                    <p><a href=login_url(None, Some("/account"))>"Sign in"</a> " to see your account."</p>
                </div>
            </main>
        }
        .into_any();
    };
    let ready = RwSignal::new(false);
    Effect::new(move |_| ready.set(true));
    view! {
        <Title text="Your account · Gatehouse"/>
        <AppHeader/>
        <main class="page">
            <h1 class="page-title">"Your account"</h1>
            <dl class="facts">
                <dt>"Name"</dt><dd>{me.name.clone()}</dd>
                <dt>"Email"</dt><dd>{me.email.clone()}</dd>
                <dt>"Role"</dt><dd>{me.role.label()}</dd>
            </dl>
            <ChangePassword ready/>
            <Sessions ready/>
        </main>
    }
    .into_any()
}

/// Change password: the current one, then the new one twice. Other sessions end; this one
/// stays signed in.
#[component]
fn ChangePassword(ready: RwSignal<bool>) -> impl IntoView {
    let current = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    let done = RwSignal::new(None::<&'static str>);
    let change = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        done.set(None);
        submit(
            pending,
            error,
            change_password(
                current.get_untracked(),
                password.get_untracked(),
                confirm.get_untracked(),
            ),
            move |()| {
                current.set(String::new());
                password.set(String::new());
                confirm.set(String::new());
                done.set(Some("Password changed. Your other sessions have ended."));
            },
        );
    };
    let field = |id: &'static str,
                 label: &'static str,
                 autocomplete: &'static str,
                 value: RwSignal<String>| {
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <input id=id type="password" autocomplete=autocomplete required maxlength=MAX_PASSWORD_BYTES
                    prop:value=move || value.get()
                    on:input=move |ev| value.set(event_target_value(&ev))/>
                {field_error(error, id)}
            </div>
        }
    };
    view! {
        <section class="card" aria-labelledby="password-title">
            <h2 id="password-title">"Change password"</h2>
            <form on:submit=change novalidate>
                {form_error(error, &["current", "password", "confirm"])}
                {field("current", "Current password", "current-password", current)}
                {field("password", "New password", "new-password", password)}
                <p class="hint">{format!("At least {MIN_PASSWORD_CHARS} characters.")}</p>
                {field("confirm", "New password again", "new-password", confirm)}
                <div class="dialog-actions">
                    <button type="submit" class="button-primary" disabled=move || !ready.get() || pending.get()>
                        {move || if pending.get() { "Changing…" } else { "Change password" }}
                    </button>
                    <span role="status">{move || done.get()}</span>
                </div>
            </form>
        </section>
    }
}

/// Sign out everywhere, after a confirmation: every session ends, this one too.
#[component]
fn Sessions(ready: RwSignal<bool>) -> impl IntoView {
    let confirm_everywhere = RwSignal::new(false);
    let everywhere_error = RwSignal::new(None::<AppError>);
    let everywhere_pending = RwSignal::new(false);
    let everywhere = Callback::new(move |()| {
        submit(
            everywhere_pending,
            everywhere_error,
            sign_out_everywhere(),
            |()| {
                // This session ended too: to the sign-in page, with a full load.
                let _ = window().location().set_href("/login");
            },
        );
    });
    view! {
        <section class="card" aria-labelledby="sessions-title">
            <h2 id="sessions-title">"Sessions"</h2>
            <p>"Signed in on another computer you no longer use? Sign out everywhere ends every session of yours, this one included."</p>
            {form_error(everywhere_error, &[])}
            <button type="button" class="button-danger" disabled=move || !ready.get() || everywhere_pending.get()
                on:click=move |_| confirm_everywhere.set(true)>
                "Sign out everywhere"
            </button>
            <ConfirmDialog open=confirm_everywhere id="sign-out-everywhere" title="Sign out everywhere?"
                confirm_label="Sign out everywhere" on_confirm=everywhere>
                <p>"Every session of yours ends now, this one too. You sign in again with your password."</p>
            </ConfirmDialog>
        </section>
    }
}
