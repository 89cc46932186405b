//! The Users tab's Provisioning card: the SCIM endpoint to give the identity provider, and its
//! bearer token (shown once when made, Regenerate, Disable).

use super::{DisableProvisioning, NewProvisioningToken, ProvisioningStatus, load_provisioning};
use crate::{
    time_fmt::utc_minutes,
    ui::{ConfirmDialog, ManagedCard, copy_to_clipboard},
};
use leptos::prelude::*;

/// The SCIM base path; the card shows it as an absolute URL once the page is live.
pub const SCIM_PATH: &str = "/scim/v2";

/// The card: the tenant URL, the token's state, and **Manage provisioning**.
#[component]
pub fn ProvisioningCard(
    /// Renders the managing part ([`Manage`]) once an Admin opens it.
    manage: ViewFn,
) -> impl IntoView {
    let status = Resource::new(|| (), |()| load_provisioning());
    let base_url = RwSignal::new(SCIM_PATH.to_owned());
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if let Ok(origin) = window().location().origin() {
            base_url.set(format!("{origin}{SCIM_PATH}"));
        }
    });
    let summary = ViewFn::from(move || {
        view! {
            <Suspense fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(s) => view! { <p class="provisioning-state" role="status">{state(&s)}</p> }.into_any(),
                        Err(e) => view! { <p class="notice" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        }
    });
    view! {
        <ManagedCard id="provisioning" title="Provisioning" manage_label="Manage provisioning" summary manage>
            <p>
                "Let your identity provider (Microsoft Entra ID, Okta, Keycloak) create, update, deactivate and delete users and groups here through SCIM 2.0. Give it this tenant URL and a secret token. Provisioned users start as Viewers and sign in after an invitation."
            </p>
            <label for="scim-url" class="key-label">"Tenant URL"</label>
            <input id="scim-url" class="key-value" type="text" readonly spellcheck="false" value=SCIM_PATH prop:value=move || base_url.get()/>
        </ManagedCard>
    }
}

/// The token's state in a sentence.
fn state(s: &ProvisioningStatus) -> String {
    match (s.exists, s.enabled) {
        (false, _) => "Off: no token yet.".to_owned(),
        (true, false) => {
            "Off: the token is disabled. Regenerate to turn provisioning on again.".to_owned()
        }
        (true, true) => format!(
            "On since {}. Last used: {}.",
            s.created_at.map(utc_minutes).unwrap_or_default(),
            s.last_used_at
                .map_or_else(|| "never".to_owned(), utc_minutes)
        ),
    }
}

/// Create, Regenerate or Disable the token; a new token is shown once, with Copy.
#[component]
pub fn Manage() -> impl IntoView {
    let make = ServerAction::<NewProvisioningToken>::new();
    let disable = ServerAction::<DisableProvisioning>::new();
    let status = Resource::new(
        move || (make.version().get(), disable.version().get()),
        |_| load_provisioning(),
    );
    let confirm_new = RwSignal::new(false);
    let confirm_off = RwSignal::new(false);
    let note = RwSignal::new(None::<&'static str>);
    let busy = Signal::derive(move || make.pending().get() || disable.pending().get());
    let token = move || make.value().get().and_then(Result::ok);
    let error = move || {
        make.value()
            .get()
            .and_then(Result::err)
            .or_else(|| disable.value().get().and_then(Result::err))
            .map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })
    };
    let copy = move |_| {
        if let Some(t) = token() {
            leptos::task::spawn_local(async move { note.set(Some(copy_to_clipboard(&t).await)) });
        }
    };
    view! {
            <Suspense fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(s) => {
                            let (exists, enabled) = (s.exists, s.enabled);
                            view! {
                                <p class="provisioning-state" role="status">{state(&s)}</p>
                                <div class="dialog-actions">
                                    <button type="button" class="button-primary" disabled=busy on:click=move |_| {
                                        if exists { confirm_new.set(true) } else { make.dispatch(NewProvisioningToken {}); }
                                    }>
                                        {if exists { "Regenerate token" } else { "Create token" }}
                                    </button>
                                    {enabled.then(|| view! {
                                        <button type="button" disabled=busy on:click=move |_| confirm_off.set(true)>"Disable"</button>
                                    })}
                                </div>
                            }
                                .into_any()
                        }
                        Err(e) => view! { <p class="notice" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            {error}
            {move || token().map(|t| view! {
                <label for="scim-token" class="key-label">"Secret token"</label>
                <div class="key-value-row">
                    <input id="scim-token" class="key-value" type="text" readonly spellcheck="false" value=t/>
                    <button type="button" on:click=copy>"Copy"</button>
                </div>
                <p class="key-note" role="status" aria-live="polite">{move || note.get()}</p>
                <p>"Copy the token now: it is not shown again. The identity provider sends it as Authorization: Bearer <token>."</p>
            })}
            <ConfirmDialog
                open=confirm_new
                id="regenerate-provisioning"
                title="Regenerate the provisioning token?"
                confirm_label="Regenerate"
                on_confirm=Callback::new(move |()| { make.dispatch(NewProvisioningToken {}); })
            >
                <p>"The current token stops working at once: provisioning fails until the identity provider has the new one."</p>
            </ConfirmDialog>
            <ConfirmDialog
                open=confirm_off
                id="disable-provisioning"
                title="Disable provisioning?"
                confirm_label="Disable"
                on_confirm=Callback::new(move |()| { disable.dispatch(DisableProvisioning {}); })
            >
                <p>"The identity provider's requests are refused from now on. Users it made stay as they are."</p>
            </ConfirmDialog>
    }
}
