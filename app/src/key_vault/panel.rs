//! The Key Vault tab: the link's tile (Set up, or the linked vault with its status, Edit,
//! Check now and Unlink) and the set-up pane, whose Save opens only after a passing check of
//! the values as they stand.

use super::{
    Backend, CheckReport, CheckStepKind, DEFAULT_AUTHORITY_HOST, DEFAULT_MOUNT, KeyVaultOverview,
    Outcome, VaultAuth, VaultForm, VaultLink, check_key_vault, load_key_vault, recheck_key_vault,
    save_key_vault, unlink_key_vault,
};
use crate::{
    connections::ConnectionsSection,
    error::AppError,
    security::{VaultAlert, VaultBanner},
    time_fmt::utc_minutes,
    ui::{ConfirmDialog, Pane, field_error, form_error, submit},
};
use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

/// The Key Vault tab as a lazy route: its code is a chunk of its own.
pub struct KeyVaultRoute;

#[lazy_route]
impl LazyRoute for KeyVaultRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <KeyVaultPanel/> }.into_any()
    }
}

/// Every field the pane shows an error beside.
const FIELDS: &[&str] = &[
    "address",
    "mount",
    "path_prefix",
    "namespace",
    "auth",
    "principal_id",
    "tenant_id",
    "authority_host",
    "credential",
];

#[component]
fn KeyVaultPanel() -> impl IntoView {
    let refresh = RwSignal::new(0u32);
    let overview = Resource::new(move || refresh.get(), |_| load_key_vault());
    let changed = Callback::new(move |()| refresh.update(|n| *n += 1));
    // Read by the connection pane only, which opens after hydration.
    let vault_linked = Signal::derive(move || {
        overview
            .get()
            .and_then(Result::ok)
            .is_some_and(|o| o.link.is_some())
    });
    // The banner on every tab follows what this tab last learnt.
    if let Some(banner) = use_context::<VaultBanner>() {
        Effect::new(move |_| {
            if let Some(Ok(o)) = overview.get() {
                banner.0.set(alert_of(&o));
            }
        });
    }
    view! {
        <h2>"Key Vault"</h2>
        <p>
            "Link your organisation's own secret store (HashiCorp Vault, OpenBao or Azure Key Vault) so that the credentials of this environment's connections stay inside your compliance boundary. Gatehouse only lists and reads secrets; it never writes or deletes them."
        </p>
        <Suspense fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(o) => view! { <VaultTile overview=o changed/> }.into_any(),
                    Err(e) => view! { <p class="notice" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
        <ConnectionsSection refresh vault_linked changed/>
    }
}

fn alert_of(o: &KeyVaultOverview) -> Option<VaultAlert> {
    let link = o.link.as_ref()?;
    (!link.healthy).then(|| VaultAlert {
        since: link.unreachable_since.unwrap_or_default(),
        connections: o.used_by.len() as i64,
    })
}

#[component]
fn VaultTile(overview: KeyVaultOverview, changed: Callback<()>) -> impl IntoView {
    // Buttons that need the WASM stay disabled until it runs, so that no click is lost.
    let ready = RwSignal::new(false);
    Effect::new(move |_| ready.set(true));
    let editing = RwSignal::new(None::<VaultForm>);
    let pane = move || {
        editing.get().map(|form| {
            view! {
                <SetupPane
                    initial=form
                    on_close=Callback::new(move |()| editing.set(None))
                    saved=Callback::new(move |()| {
                        editing.set(None);
                        changed.run(());
                    })
                />
            }
        })
    };
    let KeyVaultOverview {
        link,
        check_every_secs,
        used_by,
    } = overview;
    let Some(link) = link else {
        return view! { <NoVault ready editing>{pane}</NoVault> }.into_any();
    };
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    let confirm_unlink = RwSignal::new(false);
    let blocked = RwSignal::new(false);
    let edit_form = link.to_form();
    let check_now = move |_| {
        submit(pending, error, recheck_key_vault(), move |_| {
            changed.run(())
        })
    };
    let unlink = Callback::new(move |()| {
        submit(pending, error, unlink_key_vault(), move |_| changed.run(()))
    });
    let uses = used_by.len();
    let still_used = unlink_blocked(&used_by);
    view! {
        <section class="card vault-tile" aria-labelledby="vault-tile-title">
            <h3 id="vault-tile-title">{link.backend.label()}</h3>
            {form_error(error, &[])}
            <LinkFacts link=link.clone() check_every_secs/>
            <div class="dialog-actions">
                <button type="button" disabled=move || !ready.get() || pending.get()
                    on:click=move |_| editing.set(Some(edit_form.clone()))>
                    "Edit"
                </button>
                <button type="button" disabled=move || !ready.get() || pending.get() on:click=check_now>
                    {move || if pending.get() { "Checking…" } else { "Check now" }}
                </button>
                <button type="button" class="button-danger" disabled=move || !ready.get() || pending.get()
                    on:click=move |_| { if uses > 0 { blocked.set(true) } else { confirm_unlink.set(true) } }>
                    "Unlink"
                </button>
            </div>
            {move || blocked.get().then(|| view! {
                <p class="notice notice-warn" role="alert">{still_used.clone()}</p>
            })}
            <ConfirmDialog
                open=confirm_unlink
                id="vault-unlink"
                title="Unlink the Key Vault?"
                confirm_label="Unlink"
                on_confirm=unlink
            >
                <p>"No connection uses the vault. Gatehouse forgets its address and credentials; nothing in the vault changes."</p>
            </ConfirmDialog>
            {pane}
        </section>
    }
    .into_any()
}

/// The tile while no vault is linked: what linking one is for, and Set up.
#[component]
fn NoVault(
    ready: RwSignal<bool>,
    editing: RwSignal<Option<VaultForm>>,
    children: Children,
) -> impl IntoView {
    view! {
        <section class="card vault-tile" aria-labelledby="vault-tile-title">
            <h3 id="vault-tile-title">"No vault linked"</h3>
            <p class="muted">
                "Connections keep their credentials encrypted in Gatehouse until a vault is linked. Set one up to keep them in your own store instead."
            </p>
            <div class="dialog-actions">
                <button
                    type="button"
                    class="button-primary"
                    disabled=move || !ready.get()
                    on:click=move |_| editing.set(Some(blank_form()))
                >
                    "Set up"
                </button>
            </div>
            {children()}
        </section>
    }
}

/// Why Unlink is refused while connections take credentials from the vault, naming them.
fn unlink_blocked(used_by: &[String]) -> String {
    let one = used_by.len() == 1;
    format!(
        "The vault stays linked: {} still take{} credentials from it ({}). Switch {} to a stored credential or remove {} first.",
        if one { "a connection" } else { "connections" },
        if one { "s" } else { "" },
        used_by.join(", "),
        if one { "it" } else { "them" },
        if one { "it" } else { "them" },
    )
}

#[component]
fn LinkFacts(link: VaultLink, check_every_secs: u64) -> impl IntoView {
    let status = if link.healthy {
        view! { <span class="badge badge-ok">"Healthy"</span> }.into_any()
    } else {
        let since = link
            .unreachable_since
            .map(|s| format!(" since {}", utc_minutes(s)))
            .unwrap_or_default();
        view! { <span class="badge badge-off">{format!("Unreachable{since}")}</span> }.into_any()
    };
    let every = if check_every_secs.is_multiple_of(60) {
        format!("every {} min", check_every_secs / 60)
    } else {
        format!("every {check_every_secs} s")
    };
    let is_azure = link.backend == Backend::Azure;
    view! {
        <dl class="facts vault-facts">
            <dt>"Address"</dt><dd class="mono">{link.address.clone()}</dd>
            {(!is_azure).then(|| view! {
                <dt>"Mount"</dt><dd class="mono">{link.mount.clone()}</dd>
                <dt>"Path prefix"</dt><dd class="mono">{if link.path_prefix.is_empty() { "—".to_owned() } else { link.path_prefix.clone() }}</dd>
            })}
            {(!link.namespace.is_empty()).then(|| view! { <dt>"Namespace"</dt><dd class="mono">{link.namespace.clone()}</dd> })}
            {is_azure.then(|| view! {
                <dt>"Tenant ID"</dt><dd class="mono">{link.tenant_id.clone()}</dd>
                <dt>"Client ID"</dt><dd class="mono">{link.principal_id.clone()}</dd>
            })}
            {(link.auth == VaultAuth::AppRole).then(|| view! { <dt>"Role ID"</dt><dd class="mono">{link.principal_id.clone()}</dd> })}
            <dt>"Sign-in"</dt><dd>{link.auth.label()} " · " {link.auth.credential_label()} " stored"</dd>
            <dt>"Status"</dt><dd>{status}</dd>
            {link.last_error.clone().map(|e| view! { <dt>"Last error"</dt><dd class="vault-error">{e}</dd> })}
            <dt>"Last checked"</dt>
            <dd>{link.last_checked_at.map(utc_minutes).unwrap_or_else(|| "never".into())} " (" {every} ")"</dd>
            <dt>"Linked"</dt><dd>{utc_minutes(link.linked_at)}</dd>
        </dl>
    }
}

fn blank_form() -> VaultForm {
    VaultForm {
        mount: DEFAULT_MOUNT.into(),
        ..VaultForm::default()
    }
}

/// A text field bound to one of the form's strings.
#[component]
fn TextField(
    id: &'static str,
    label: &'static str,
    #[prop(optional)] hint: &'static str,
    #[prop(optional)] kind: &'static str,
    #[prop(optional)] placeholder: Signal<String>,
    form: RwSignal<VaultForm>,
    get: fn(&VaultForm) -> &String,
    set: fn(&mut VaultForm, String),
    error: RwSignal<Option<AppError>>,
    field: &'static str,
) -> impl IntoView {
    let input_id = format!("vault-{id}");
    view! {
        <div class="field">
            <label for=input_id.clone()>{label}</label>
            <input
                id=input_id
                type=if kind.is_empty() { "text" } else { kind }
                autocomplete="off"
                spellcheck="false"
                maxlength="4096"
                placeholder=move || placeholder.get()
                aria-describedby=format!("{field}-error")
                prop:value=move || form.with(|f| get(f).clone())
                on:input=move |ev| form.update(|f| set(f, event_target_value(&ev)))
            />
            {(!hint.is_empty()).then(|| view! { <p class="hint">{hint}</p> })}
            {field_error(error, field)}
        </div>
    }
}

#[component]
fn SetupPane(initial: VaultForm, on_close: Callback<()>, saved: Callback<()>) -> impl IntoView {
    let editing = !initial.address.is_empty();
    let form = RwSignal::new(initial);
    let error = RwSignal::new(None::<AppError>);
    let checking = RwSignal::new(false);
    let saving = RwSignal::new(false);
    // The last check and the values it checked: Save opens only while they still stand.
    let checked = RwSignal::new(None::<(VaultForm, CheckReport)>);
    let save_ready = Signal::derive(move || {
        checked.with(|c| {
            c.as_ref()
                .is_some_and(|(f, r)| r.passed() && form.with(|now| now == f))
        })
    });
    let check = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let values = form.get_untracked();
        let sent = values.clone();
        submit(checking, error, check_key_vault(values), move |report| {
            checked.set(Some((sent, report)))
        });
    };
    let save = Callback::new(move |()| {
        submit(
            saving,
            error,
            save_key_vault(form.get_untracked()),
            move |_| saved.run(()),
        );
    });
    let stored_hint = Signal::derive(move || {
        if editing {
            "Stored: leave empty to keep it".to_owned()
        } else {
            String::new()
        }
    });
    view! {
        <Pane id="vault-setup" title=if editing { "Edit Key Vault link" } else { "Set up Key Vault" } on_close>
            <form class="vault-form" on:submit=check novalidate>
                {form_error(error, FIELDS)}
                <BackendSelect form/>
                {move || match form.with(|f| f.backend) {
                    Backend::OpenBao => view! { <OpenBaoFields form error/> }.into_any(),
                    Backend::Azure => view! { <AzureFields form error/> }.into_any(),
                }}
                {move || {
                    let label = form.with(|f| f.auth.credential_label());
                    view! {
                        <TextField id="credential" label kind="password" form error field="credential" placeholder=stored_hint
                            get=|f| &f.credential set=|f, v| f.credential = v/>
                    }
                }}
                <CheckResults checked checking/>
                {move || error.get().and_then(|e| e.for_field("check")).map(|m| view! {
                    <p class="form-error" role="alert">{m}</p>
                })}
                <SetupActions checking saving save_ready save on_close/>
            </form>
        </Pane>
    }
}

/// **Backend**: OpenBao (or HashiCorp Vault) or Azure Key Vault, each with its own sign-in.
#[component]
fn BackendSelect(form: RwSignal<VaultForm>) -> impl IntoView {
    let backend = move || form.with(|f| f.backend);
    view! {
        <div class="field">
            <label for="vault-backend">"Backend"</label>
            <select
                id="vault-backend"
                data-autofocus
                on:change=move |ev| {
                    let value = event_target_value(&ev);
                    form.update(|f| {
                        f.backend = Backend::parse(&value).unwrap_or_default();
                        f.auth = if f.backend == Backend::Azure { VaultAuth::ClientSecret } else { VaultAuth::Token };
                    });
                }
                prop:value=move || backend().as_str()
            >
                {[Backend::OpenBao, Backend::Azure].into_iter().map(|b| view! {
                    <option value=b.as_str() selected=move || backend() == b>{b.label()}</option>
                }).collect_view()}
            </select>
        </div>
    }
}

/// An OpenBao or Vault server: its address, KV mount, path prefix, namespace and sign-in.
#[component]
fn OpenBaoFields(form: RwSignal<VaultForm>, error: RwSignal<Option<AppError>>) -> impl IntoView {
    let no_hint = Signal::derive(String::new);
    view! {
        <TextField id="address" label="Address" hint="For example https://vault.example.com:8200" form error field="address" placeholder=no_hint
            get=|f| &f.address set=|f, v| f.address = v/>
        <TextField id="mount" label="Mount" hint="A KV version 2 secrets engine; secret by default" form error field="mount" placeholder=no_hint
            get=|f| &f.mount set=|f, v| f.mount = v/>
        <TextField id="prefix" label="Path prefix (optional)" hint="Only secrets under this path are listed and read" form error field="path_prefix" placeholder=no_hint
            get=|f| &f.path_prefix set=|f, v| f.path_prefix = v/>
        <TextField id="namespace" label="Namespace (optional)" hint="Vault Enterprise and OpenBao namespaces" form error field="namespace" placeholder=no_hint
            get=|f| &f.namespace set=|f, v| f.namespace = v/>
        <div class="field">
            <label for="vault-auth">"Sign in with"</label>
            <select
                id="vault-auth"
                on:change=move |ev| {
                    let value = event_target_value(&ev);
                    form.update(|f| f.auth = VaultAuth::parse(&value).unwrap_or_default());
                }
                prop:value=move || form.with(|f| f.auth.as_str())
            >
                <option value="token" selected=move || form.with(|f| f.auth == VaultAuth::Token)>"Token"</option>
                <option value="app_role" selected=move || form.with(|f| f.auth == VaultAuth::AppRole)>"AppRole"</option>
            </select>
            {field_error(error, "auth")}
        </div>
        {move || (form.with(|f| f.auth) == VaultAuth::AppRole).then(|| view! {
            <TextField id="role-id" label="Role ID" form error field="principal_id" placeholder=no_hint
                get=|f| &f.principal_id set=|f, v| f.principal_id = v/>
        })}
    }
}

/// An Azure Key Vault: its URL, and the Entra application that reads it.
#[component]
fn AzureFields(form: RwSignal<VaultForm>, error: RwSignal<Option<AppError>>) -> impl IntoView {
    let no_hint = Signal::derive(String::new);
    let authority_placeholder = Signal::derive(|| DEFAULT_AUTHORITY_HOST.to_owned());
    view! {
        <TextField id="address" label="Vault URL" hint="https://NAME.vault.azure.net" form error field="address" placeholder=no_hint
            get=|f| &f.address set=|f, v| f.address = v/>
        <TextField id="tenant" label="Directory (tenant) ID" form error field="tenant_id" placeholder=no_hint
            get=|f| &f.tenant_id set=|f, v| f.tenant_id = v/>
        <TextField id="client-id" label="Application (client) ID" form error field="principal_id" placeholder=no_hint
            get=|f| &f.principal_id set=|f, v| f.principal_id = v/>
        <TextField id="authority" label="Authority host (optional)" hint="Another cloud's Microsoft Entra endpoint" form error field="authority_host" placeholder=authority_placeholder
            get=|f| &f.authority_host set=|f, v| f.authority_host = v/>
    }
}

/// **Check connection** (the form's submit), **Save** once a check of these values passed.
#[component]
fn SetupActions(
    checking: RwSignal<bool>,
    saving: RwSignal<bool>,
    save_ready: Signal<bool>,
    save: Callback<()>,
    on_close: Callback<()>,
) -> impl IntoView {
    view! {
        <div class="dialog-actions">
            <button type="submit" disabled=move || checking.get() || saving.get()>
                {move || if checking.get() { "Checking…" } else { "Check connection" }}
            </button>
            <button
                type="button"
                class="button-primary"
                disabled=move || !save_ready.get() || saving.get() || checking.get()
                title=move || (!save_ready.get()).then_some("Run a passing check of these values first.")
                on:click=move |_| save.run(())
            >
                {move || if saving.get() { "Saving…" } else { "Save" }}
            </button>
            <button type="button" on:click=move |_| on_close.run(())>"Cancel"</button>
        </div>
    }
}

fn mark(outcome: Outcome) -> (&'static str, &'static str) {
    match outcome {
        Outcome::Pass => ("✓", "step-pass"),
        Outcome::Warn => ("!", "step-warn"),
        Outcome::Fail => ("✗", "step-fail"),
        Outcome::NotChecked => ("–", "step-skip"),
    }
}

#[component]
fn CheckResults(
    checked: RwSignal<Option<(VaultForm, CheckReport)>>,
    checking: RwSignal<bool>,
) -> impl IntoView {
    view! {
        <div class="check-results" role="status" aria-live="polite">
            {move || checking.get().then(|| view! { <p class="loading">"Checking the connection…"</p> })}
            {move || checked.get().map(|(_, report)| {
                let passed = report.passed();
                view! {
                    <ul class="check-steps" aria-label="Check results">
                        {report.steps.into_iter().map(|s| {
                            let (symbol, class) = mark(s.outcome);
                            view! {
                                <li class=class data-step=step_key(s.kind)>
                                    <span class="step-mark" aria-hidden="true">{symbol}</span>
                                    <strong>{s.kind.label()}</strong>
                                    <span class="visually-hidden">{format!(" ({})", s.outcome.label())}</span>
                                    " — " {s.reason}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                    <p class="muted">
                        {if passed { "The check passed" } else { "The check failed" }}
                        {format!(" in {} ms.", report.elapsed_ms)}
                        {passed.then_some(" Save links the vault with these values.")}
                    </p>
                }
            })}
        </div>
    }
}

fn step_key(kind: CheckStepKind) -> &'static str {
    match kind {
        CheckStepKind::Reachable => "reachable",
        CheckStepKind::Authenticated => "authenticated",
        CheckStepKind::MayList => "may-list",
        CheckStepKind::MayRead => "may-read",
        CheckStepKind::CannotWrite => "cannot-write",
    }
}
