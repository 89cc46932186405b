//! The Connections section of the Key Vault tab: the table, Add/Edit pane (with a searchable
//! list of the vault's secrets), Verify and Remove.

use super::{
    Audience, Connection, ConnectionForm, ConnectionKind, Credentials, DEFAULT_SIGNATURE_HEADER,
    SmtpTls, VerifyResult, load_connections, remove_connection, save_connection, verify_connection,
};
use crate::{
    error::AppError,
    key_vault::list_vault_secrets,
    time_fmt::utc_minutes,
    ui::{ConfirmDialog, Pane, field_error, form_error, submit},
};
use leptos::prelude::*;

const FIELDS: &[&str] = &[
    "name",
    "kind",
    "url",
    "header_name",
    "host",
    "port",
    "tls",
    "username",
    "use_vault",
    "vault_secret",
    "secret",
];

/// `refresh` reloads the list (and the tile above, whose Unlink depends on it); `changed`
/// asks for that after a change here.
#[component]
pub fn ConnectionsSection(
    refresh: RwSignal<u32>,
    vault_linked: Signal<bool>,
    changed: Callback<()>,
) -> impl IntoView {
    let connections = Resource::new(move || refresh.get(), |_| load_connections());
    let ready = RwSignal::new(false);
    Effect::new(move |_| ready.set(true));
    let editing = RwSignal::new(None::<ConnectionForm>);
    view! {
        <section class="connections" aria-labelledby="connections-title">
            <h3 id="connections-title">"Connections"</h3>
            <p class="muted">
                "Credentials to third-party systems that the platform's services fetch at run time with GET /api/v1/connections/{name}/credential. With Use Key Vault, a connection names a secret in the linked vault instead of holding it."
            </p>
            <div class="toolbar">
                <button type="button" class="button-primary" disabled=move || !ready.get()
                    on:click=move |_| editing.set(Some(ConnectionForm::default()))>
                    "Add connection"
                </button>
            </div>
            <Suspense fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match connections.await {
                        Ok(rows) => view! { <ConnectionTable rows editing changed ready/> }.into_any(),
                        Err(e) => view! { <p class="notice" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            {move || editing.get().map(|form| view! {
                <ConnectionPane
                    initial=form
                    vault_linked
                    on_close=Callback::new(move |()| editing.set(None))
                    saved=Callback::new(move |()| {
                        editing.set(None);
                        changed.run(());
                    })
                />
            })}
        </section>
    }
}

#[component]
fn ConnectionTable(
    rows: Vec<Connection>,
    editing: RwSignal<Option<ConnectionForm>>,
    changed: Callback<()>,
    ready: RwSignal<bool>,
) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="muted">"No connections yet."</p> }.into_any();
    }
    view! {
        <table class="connections-table" aria-labelledby="connections-title">
            <thead>
                <tr>
                    <th scope="col">"Name"</th>
                    <th scope="col">"Type"</th>
                    <th scope="col">"Credentials"</th>
                    <th scope="col">"Who can use"</th>
                    <th scope="col">"Last verified"</th>
                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr>
            </thead>
            <tbody>
                {rows.into_iter().map(|c| view! { <ConnectionRow c editing changed ready/> }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn ConnectionRow(
    c: Connection,
    editing: RwSignal<Option<ConnectionForm>>,
    changed: Callback<()>,
    ready: RwSignal<bool>,
) -> impl IntoView {
    let id = c.id;
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    let result = RwSignal::new(None::<VerifyResult>);
    let confirm = RwSignal::new(false);
    let form = c.to_form();
    let verify = move |_| {
        result.set(None);
        submit(pending, error, verify_connection(id), move |r| {
            result.set(Some(r));
        });
    };
    let remove = Callback::new(move |()| {
        submit(pending, error, remove_connection(id), move |()| {
            changed.run(())
        })
    });
    let credentials = match &c.credentials {
        Credentials::Stored => view! { "Stored" }.into_any(),
        Credentials::KeyVault(name) => {
            view! { "Key Vault: " <code>{name.clone()}</code> }.into_any()
        }
    };
    let last = match (c.last_verified_at, c.last_verify_ok) {
        (Some(at), Some(ok)) => format!("{} {}", if ok { "✓" } else { "✗" }, utc_minutes(at)),
        _ => "Never".to_owned(),
    };
    let last_title = c.last_verify_message.clone();
    let name = c.name.clone();
    view! {
        <tr>
            <td><code>{c.name.clone()}</code></td>
            <td>{c.target.kind().label()}</td>
            <td>{credentials}</td>
            <td>{c.audience.label()}</td>
            <td title=last_title>{last}</td>
            <td class="row-actions">
                <button type="button" disabled=move || !ready.get() || pending.get() on:click=verify>
                    {move || if pending.get() { "Verifying…" } else { "Verify" }}
                </button>
                <button type="button" disabled=move || !ready.get() || pending.get()
                    on:click=move |_| editing.set(Some(form.clone()))>"Edit"</button>
                <button type="button" class="button-danger" disabled=move || !ready.get() || pending.get()
                    on:click=move |_| confirm.set(true)>"Remove"</button>
                <ConfirmDialog open=confirm id="connection-remove" title=format!("Remove {name}?") confirm_label="Delete" on_confirm=remove>
                    <p>"Services that fetch this connection's credential get 404 from now on. A secret in the Key Vault stays there."</p>
                </ConfirmDialog>
            </td>
        </tr>
        {move || {
            let message = result
                .get()
                .map(|r| (r.ok, format!("{} ({} ms)", r.message, r.elapsed_ms)))
                .or_else(|| error.get().map(|e| (false, e.to_string())));
            message.map(|(ok, text)| view! {
                <tr class="verify-row">
                    <td colspan="6">
                        <p class=if ok { "notice verify-ok" } else { "notice notice-warn verify-failed" } role="status">
                            {if ok { "Verified: " } else { "Verify failed: " }} {text}
                        </p>
                    </td>
                </tr>
            })
        }}
    }
}

/// The connection being added or edited, and its form's errors: what every part of the pane
/// reads and writes.
#[derive(Clone, Copy)]
struct Editing {
    form: RwSignal<ConnectionForm>,
    error: RwSignal<Option<AppError>>,
}

#[component]
fn ConnectionPane(
    initial: ConnectionForm,
    vault_linked: Signal<bool>,
    on_close: Callback<()>,
    saved: Callback<()>,
) -> impl IntoView {
    let editing = initial.id.is_some();
    let title = if editing {
        format!("Edit {}", initial.name)
    } else {
        "Add connection".to_owned()
    };
    let state = Editing {
        form: RwSignal::new(initial),
        error: RwSignal::new(None::<AppError>),
    };
    let pending = RwSignal::new(false);
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        submit(
            pending,
            state.error,
            save_connection(state.form.get_untracked()),
            move |_| saved.run(()),
        );
    };
    view! {
        <Pane id="connection-pane" title on_close>
            <form on:submit=save novalidate>
                {form_error(state.error, FIELDS)}
                <TextField state id="connection-name" label="Name" field="name" get=|f| f.name.clone() set=|f, v| f.name = v/>
                <KindSelect state editing/>
                {move || match state.form.with(|f| f.kind) {
                    ConnectionKind::Webhook => view! { <WebhookFields state/> }.into_any(),
                    ConnectionKind::Smtp => view! { <SmtpFields state/> }.into_any(),
                }}
                <AudienceSelect state/>
                <Credential state vault_linked editing/>
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

/// One text field of the form, with its error.
#[component]
fn TextField(
    state: Editing,
    id: &'static str,
    label: &'static str,
    field: &'static str,
    get: fn(&ConnectionForm) -> String,
    set: fn(&mut ConnectionForm, String),
) -> impl IntoView {
    let Editing { form, error } = state;
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input id=id type="text" autocomplete="off" spellcheck="false" maxlength="2048"
                prop:value=move || form.with(get)
                on:input=move |ev| form.update(|f| set(f, event_target_value(&ev)))/>
            {field_error(error, field)}
        </div>
    }
}

/// **Type**: chosen when the connection is added, shown without a choice when it is edited.
#[component]
fn KindSelect(state: Editing, editing: bool) -> impl IntoView {
    let Editing { form, error } = state;
    view! {
        <div class="field">
            <label for="connection-type">"Type"</label>
            <select id="connection-type" disabled=editing
                on:change=move |ev| {
                    let v = event_target_value(&ev);
                    form.update(|f| f.kind = ConnectionKind::parse(&v).unwrap_or_default());
                }
                prop:value=move || form.with(|f| f.kind.as_str())>
                {ConnectionKind::ALL.into_iter().map(|k| view! {
                    <option value=k.as_str() selected=move || form.with(|f| f.kind == k)>{k.label()}</option>
                }).collect_view()}
            </select>
            {field_error(error, "kind")}
        </div>
    }
}

/// A webhook's URL and the header its signature goes in.
#[component]
fn WebhookFields(state: Editing) -> impl IntoView {
    let Editing { form, error } = state;
    view! {
        <TextField state id="connection-url" label="URL" field="url" get=|f| f.url.clone() set=|f, v| f.url = v/>
        <div class="field">
            <label for="connection-header">"Signature header"</label>
            <input id="connection-header" type="text" autocomplete="off" spellcheck="false" maxlength="64"
                placeholder=DEFAULT_SIGNATURE_HEADER
                prop:value=move || form.with(|f| f.header_name.clone())
                on:input=move |ev| form.update(|f| f.header_name = event_target_value(&ev))/>
            <p class="hint">"Each event carries sha256=HMAC-SHA256(secret, body) in this header."</p>
            {field_error(error, "header_name")}
        </div>
    }
}

/// A mail server's host, TLS, port and username.
#[component]
fn SmtpFields(state: Editing) -> impl IntoView {
    let Editing { form, error } = state;
    view! {
        <TextField state id="connection-host" label="Host" field="host" get=|f| f.host.clone() set=|f, v| f.host = v/>
        <div class="field">
            <label for="connection-tls">"TLS"</label>
            <select id="connection-tls"
                on:change=move |ev| {
                    let v = event_target_value(&ev);
                    form.update(|f| f.tls = SmtpTls::parse(&v).unwrap_or_default());
                }
                prop:value=move || form.with(|f| f.tls.as_str())>
                {SmtpTls::ALL.into_iter().map(|t| view! {
                    <option value=t.as_str() selected=move || form.with(|f| f.tls == t)>{t.label()}</option>
                }).collect_view()}
            </select>
            {field_error(error, "tls")}
        </div>
        <div class="field">
            <label for="connection-port">"Port"</label>
            <input id="connection-port" type="text" inputmode="numeric" autocomplete="off" maxlength="5"
                placeholder=move || form.with(|f| f.tls.default_port().to_string())
                prop:value=move || form.with(|f| f.port.clone())
                on:input=move |ev| form.update(|f| f.port = event_target_value(&ev))/>
            {field_error(error, "port")}
        </div>
        <TextField state id="connection-username" label="Username" field="username" get=|f| f.username.clone() set=|f, v| f.username = v/>
    }
}

/// **Who can use**: the applications whose role may fetch the credential.
#[component]
fn AudienceSelect(state: Editing) -> impl IntoView {
    let form = state.form;
    view! {
        <div class="field">
            <label for="connection-audience">"Who can use"</label>
            <select id="connection-audience"
                on:change=move |ev| {
                    let v = event_target_value(&ev);
                    form.update(|f| f.audience = Audience::parse(&v).unwrap_or_default());
                }
                prop:value=move || form.with(|f| f.audience.as_str())>
                {[Audience::Admins, Audience::Contributors].into_iter().map(|a| view! {
                    <option value=a.as_str() selected=move || form.with(|f| f.audience == a)>{a.label()}</option>
                }).collect_view()}
            </select>
            <p class="hint">"The applications (Users tab) whose role may fetch the credential."</p>
        </div>
    }
}

/// The credential: **Use Key Vault** and a secret's name there, or the secret itself.
#[component]
fn Credential(state: Editing, vault_linked: Signal<bool>, editing: bool) -> impl IntoView {
    let Editing { form, error } = state;
    let use_vault = move || form.with(|f| f.use_vault);
    view! {
        <div class="field field-check">
            <input id="connection-use-vault" type="checkbox"
                disabled=move || !vault_linked.get() && !use_vault()
                prop:checked=use_vault
                on:change=move |ev| form.update(|f| f.use_vault = event_target_checked(&ev))/>
            <label for="connection-use-vault">"Use Key Vault"</label>
            {move || (!vault_linked.get()).then(|| view! { <p class="hint">"Link a Key Vault above to keep this secret there."</p> })}
            {field_error(error, "use_vault")}
        </div>
        {move || if use_vault() {
            view! { <VaultSecretField state/> }.into_any()
        } else {
            view! {
                <div class="field">
                    <label for="connection-secret">{move || form.with(|f| f.kind.secret_label())}</label>
                    <input id="connection-secret" type="password" autocomplete="new-password" maxlength="4096"
                        placeholder=if editing { "Stored: leave empty to keep it" } else { "" }
                        prop:value=move || form.with(|f| f.secret.clone())
                        on:input=move |ev| form.update(|f| f.secret = event_target_value(&ev))/>
                    {field_error(error, "secret")}
                </div>
            }.into_any()
        }}
    }
}

/// A secret's name in the linked vault, searched among the names the vault lists.
#[component]
fn VaultSecretField(state: Editing) -> impl IntoView {
    let Editing { form, error } = state;
    // The vault's secret names, loaded once Use Key Vault is on.
    let names = LocalResource::new(|| async { Some(list_vault_secrets().await) });
    view! {
        <div class="field">
            <label for="connection-vault-secret">"Secret name"</label>
            <input id="connection-vault-secret" type="search" list="vault-secret-names" autocomplete="off" spellcheck="false" maxlength="512"
                prop:value=move || form.with(|f| f.vault_secret.clone())
                on:input=move |ev| form.update(|f| f.vault_secret = event_target_value(&ev))/>
            <datalist id="vault-secret-names">
                {move || match names.get() {
                    Some(Some(Ok(list))) => list.into_iter().map(|n| view! { <option value=n></option> }).collect_view().into_any(),
                    _ => ().into_any(),
                }}
            </datalist>
            <p class="hint" role="status">
                {move || match names.get() {
                    None | Some(None) => "Loading the vault's secrets…".to_owned(),
                    Some(Some(Ok(list))) => format!(
                        "{} secret{} in the vault: type to search. For OpenBao, name#key picks a key inside a secret.",
                        list.len(),
                        if list.len() == 1 { "" } else { "s" }
                    ),
                    Some(Some(Err(e))) => e.to_string(),
                }}
            </p>
            {field_error(error, "vault_secret")}
        </div>
    }
}
