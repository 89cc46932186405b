//! The Users tab's **Single sign-on** card: a summary on the tab, and behind **Manage single
//! sign-on** the provider's settings (Check before Save, Remove), **Require single sign-on**, and
//! the break-glass users who keep their password.
//!
//! The managing part (`Manage`) is the caller's to render (see `ui::ManagedCard`).

use super::{
    CheckStep, SsoBreakGlass, SsoRemove, SsoRequire, SsoSave, SsoView, sso_check, sso_settings,
};
use crate::ui::{ConfirmDialog, ManagedCard, copy_to_clipboard};
use leptos::prelude::*;

#[component]
pub fn SingleSignOnCard(
    /// Renders the managing part ([`Manage`]) once an Admin opens it.
    manage: ViewFn,
) -> impl IntoView {
    let summary = Resource::new(|| (), |()| sso_settings());
    let summary = ViewFn::from(move || {
        view! {
            <Suspense fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match summary.await {
                        Ok(v) => view! { <Summary v/> }.into_any(),
                        Err(e) => view! { <p class="notice" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        }
    });
    view! {
        <ManagedCard id="sso" title="Single sign-on" manage_label="Manage single sign-on" summary manage>
            <p>"Let people sign in with your organisation's identity provider (OpenID Connect). Only users on this tab get in: the provider's verified email picks the user the first time, its subject afterwards."</p>
        </ManagedCard>
    }
}

/// What is set up, in a sentence or two.
#[component]
fn Summary(v: SsoView) -> impl IntoView {
    let status = match &v.issuer {
        None => "Not set up: people sign in with a password.".to_string(),
        Some(issuer) => format!("Set up with {} ({issuer}).", v.name),
    };
    view! {
        <p role="status">
            {status} " "
            {v.issuer.is_some().then_some(if v.required {
                "Single sign-on is required: only break-glass users may sign in with a password."
            } else {
                "Passwords work alongside single sign-on."
            })}
        </p>
    }
}

/// The managing part of the card: the provider's settings, Require, and the break-glass users.
#[component]
pub fn Manage() -> impl IntoView {
    let save = ServerAction::<SsoSave>::new();
    let remove = ServerAction::<SsoRemove>::new();
    let require = ServerAction::<SsoRequire>::new();
    let glass = ServerAction::<SsoBreakGlass>::new();
    let view_of = Resource::new(
        move || {
            (
                save.version().get(),
                remove.version().get(),
                require.version().get(),
                glass.version().get(),
            )
        },
        |_| sso_settings(),
    );
    let error = move || {
        [
            save.value().get().and_then(Result::err),
            remove.value().get().and_then(Result::err),
            require.value().get().and_then(Result::err),
            glass.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })
    };
    view! {
        <Suspense fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match view_of.await {
                    Ok(v) => view! {
                        <Settings v=v.clone() save remove/>
                        <Require v=v.clone() require/>
                        <BreakGlass v glass/>
                    }
                    .into_any(),
                    Err(e) => view! { <p class="notice" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
        {error}
    }
}

/// The provider's settings: read-only when the environment sets them, else a form whose Save
/// stays off until Check passed for what is typed.
#[component]
fn Settings(
    v: SsoView,
    save: ServerAction<SsoSave>,
    remove: ServerAction<SsoRemove>,
) -> impl IntoView {
    let issuer = RwSignal::new(v.issuer.clone().unwrap_or_default());
    let client_id = RwSignal::new(v.client_id.clone().unwrap_or_default());
    let secret = RwSignal::new(String::new());
    let vault_secret = RwSignal::new(v.vault_secret.clone().unwrap_or_default());
    let name = RwSignal::new(v.name.clone());
    let checked = RwSignal::new(None::<(String, Vec<CheckStep>)>);
    let checking = RwSignal::new(false);
    let confirm_remove = RwSignal::new(false);
    let check = move |_| {
        checking.set(true);
        let typed = issuer.get_untracked();
        leptos::task::spawn_local(async move {
            let steps = sso_check(typed.clone()).await.unwrap_or_else(|e| {
                vec![CheckStep {
                    label: "Check".into(),
                    passed: false,
                    reason: e.to_string(),
                }]
            });
            checked.set(Some((typed, steps)));
            checking.set(false);
        });
    };
    let passed = move || {
        checked
            .get()
            .is_some_and(|(i, steps)| i == issuer.get() && steps.iter().all(|s| s.passed))
    };
    let stored = v.issuer.is_some();
    let locked = v.from_env;
    view! {
        {locked.then(|| view! { <p class="muted">"Set by the environment (GATEHOUSE_OIDC_*): shown read-only."</p> })}
        <RedirectUri uri=v.redirect_uri.clone()/>
        <div class="sso-form">
            <label for="sso-issuer">"Issuer"</label>
            <input id="sso-issuer" type="url" bind:value=issuer readonly=locked placeholder="https://login.example.com"/>
            <label for="sso-client-id">"Client ID"</label>
            <input id="sso-client-id" type="text" bind:value=client_id readonly=locked/>
            {(!locked).then(|| view! {
                <label for="sso-secret">"Client secret"</label>
                <input id="sso-secret" type="password" autocomplete="off" bind:value=secret placeholder=v.secret.clone().unwrap_or_default()/>
                <label for="sso-vault-secret">"Or a Key Vault secret"</label>
                <input id="sso-vault-secret" type="text" bind:value=vault_secret placeholder="the secret's name in the linked vault"/>
            })}
            <label for="sso-name">"Provider name"</label>
            <input id="sso-name" type="text" bind:value=name readonly=locked maxlength="60"/>
        </div>
        <CheckSteps checked checking/>
        <div class="dialog-actions">
            <button type="button" disabled=move || checking.get() on:click=check>"Check"</button>
            {(!locked).then(|| view! {
                <button type="button" class="button-primary" disabled=move || !passed() || save.pending().get()
                    on:click=move |_| { save.dispatch(SsoSave {
                        issuer: issuer.get_untracked(), client_id: client_id.get_untracked(),
                        client_secret: secret.get_untracked(), vault_secret: vault_secret.get_untracked(),
                        name: name.get_untracked(),
                    }); }>"Save"</button>
                {stored.then(|| view! { <button type="button" on:click=move |_| confirm_remove.set(true)>"Remove"</button> })}
            })}
        </div>
        <ConfirmDialog open=confirm_remove id="remove-sso" title="Remove single sign-on?" confirm_label="Remove"
            on_confirm=Callback::new(move |()| { remove.dispatch(SsoRemove {}); })>
            <p>"The sign-in page stops offering the provider, and passwords work for everyone again."</p>
        </ConfirmDialog>
    }
}

#[component]
fn RedirectUri(uri: String) -> impl IntoView {
    let note = RwSignal::new(None::<&'static str>);
    let copied = uri.clone();
    view! {
        <label for="sso-redirect" class="key-label">"Redirect URI (register it at the provider)"</label>
        <div class="key-value-row">
            <input id="sso-redirect" class="key-value" type="text" readonly spellcheck="false" value=uri/>
            <button type="button" on:click=move |_| {
                let uri = copied.clone();
                leptos::task::spawn_local(async move { note.set(Some(copy_to_clipboard(&uri).await)) });
            }>"Copy"</button>
        </div>
        <p class="key-note" role="status" aria-live="polite">{move || note.get()}</p>
    }
}

#[component]
fn CheckSteps(
    checked: RwSignal<Option<(String, Vec<CheckStep>)>>,
    checking: RwSignal<bool>,
) -> impl IntoView {
    view! {
        <div class="check-results" role="status" aria-live="polite">
            {move || checking.get().then(|| view! { <p class="loading">"Checking the provider…"</p> })}
            {move || checked.get().map(|(_, steps)| view! {
                <ul class="check-steps" aria-label="Check results">
                    {steps.into_iter().map(|s| view! {
                        <li class=if s.passed { "step-pass" } else { "step-fail" }>
                            <span class="step-mark" aria-hidden="true">{if s.passed { "✓" } else { "✗" }}</span>
                            <strong>{s.label}</strong>
                            <span class="visually-hidden">{if s.passed { " (Passed)" } else { " (Failed)" }}</span>
                            " — " {s.reason}
                        </li>
                    }).collect_view()}
                </ul>
            })}
        </div>
    }
}

/// **Require single sign-on**: passwords are refused except to break-glass users.
#[component]
fn Require(v: SsoView, require: ServerAction<SsoRequire>) -> impl IntoView {
    let confirm = RwSignal::new(false);
    let on = v.required;
    let ready = v.issuer.is_some();
    view! {
        <div class="sso-require">
            <p role="status">
                {if on { "Single sign-on is required: only break-glass users may sign in with a password." }
                 else { "Passwords work alongside single sign-on." }}
            </p>
            <button type="button" disabled=move || !ready || require.pending().get()
                on:click=move |_| if on { require.dispatch(SsoRequire { on: false }); } else { confirm.set(true) }>
                {if on { "Allow passwords again" } else { "Require single sign-on" }}
            </button>
            <ConfirmDialog open=confirm id="require-sso" title="Require single sign-on?" confirm_label="Require"
                on_confirm=Callback::new(move |()| { require.dispatch(SsoRequire { on: true }); })>
                <p>"Password sign-in is refused from now on, except to break-glass users. At least one Admin must be break-glass, so that someone can still sign in if the provider fails."</p>
            </ConfirmDialog>
        </div>
    }
}

/// The users who keep password sign-in when single sign-on is required.
#[component]
fn BreakGlass(v: SsoView, glass: ServerAction<SsoBreakGlass>) -> impl IntoView {
    let email = RwSignal::new(String::new());
    view! {
        <h4>"Break-glass users"</h4>
        <ul class="break-glass" aria-label="Break-glass users">
            {v.break_glass.into_iter().map(|(address, role)| {
                let unmark = address.clone();
                view! {
                    <li>
                        <span class="handle">{address}</span> " (" {role} ") "
                        <button type="button" on:click=move |_| { glass.dispatch(SsoBreakGlass { email: unmark.clone(), on: false }); }>"Unmark"</button>
                    </li>
                }
            }).collect_view()}
        </ul>
        <div class="key-value-row">
            <label for="sso-break-glass" class="visually-hidden">"Email of a user to mark break-glass"</label>
            <input id="sso-break-glass" type="email" bind:value=email placeholder="admin@example.com"/>
            <button type="button" disabled=move || glass.pending().get()
                on:click=move |_| { glass.dispatch(SsoBreakGlass { email: email.get_untracked(), on: true }); }>"Mark break-glass"</button>
        </div>
    }
}
