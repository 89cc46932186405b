use super::{
    AuditStreamWebhook, ChainVerdict, EXPORT_PATH, StreamStatus, WebhookChoices, action_label,
    audit_streaming, audit_webhook_choices, load_audit, verify_audit,
};
use crate::{
    time_fmt::utc_minutes,
    ui::{ConfirmDialog, ManageToggle},
};
use leptos::prelude::*;

/// The audit log's newest entries, a page at a time, with the CSV export. `refresh` changes
/// after each change on the page, so the log shows it at once.
#[component]
pub fn AuditLog(
    #[prop(into)] refresh: Signal<u32>,
    /// Renders [`Verdict`]; the Users tab loads its code on demand, with the first **Verify**.
    verdict: ViewFn,
    /// Renders [`ManageStreaming`], on demand too.
    manage_streaming: ViewFn,
) -> impl IntoView {
    let page = RwSignal::new(1u32);
    let log = Resource::new(move || (page.get(), refresh.get()), |(p, _)| load_audit(p));
    // Each Verify draws the verdict anew, which verifies the whole chain again on the server.
    let asked = RwSignal::new(0u32);
    let live = crate::ui::hydrated();
    view! {
        <section class="audit" aria-labelledby="audit-title">
            <div class="section-head">
                <h3 id="audit-title">"Audit log"</h3>
                // rel=external: a download, not a route for the client-side router.
                <a href=EXPORT_PATH rel="external" download="gatehouse-audit.csv">"Export CSV"</a>
                <button type="button" disabled=move || !live.get() on:click=move |_| asked.update(|n| *n += 1)>"Verify"</button>
            </div>
            <div class="audit-verdict" role="status" aria-live="polite">
                {move || (asked.get() > 0).then(|| verdict.run())}
            </div>
            <AuditStreaming refresh manage=manage_streaming/>
            <Suspense fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match log.await {
                        Ok(log) => {
                            let has_next = log.has_next;
                            view! {
                                <div class="table-scroll">
                                    <table class="audit-table">
                                        <thead>
                                            <tr>
                                                <th scope="col">"When (UTC)"</th>
                                                <th scope="col">"Who"</th>
                                                <th scope="col">"What"</th>
                                                <th scope="col">"Whom"</th>
                                                <th scope="col">"Details"</th>
                                                <th scope="col">"From"</th>
                                            </tr>
                                        </thead>
                                        <tbody>
                                            {log.entries
                                                .into_iter()
                                                .map(|e| view! {
                                                    <tr>
                                                        <td>{utc_minutes(e.at)}</td>
                                                        <td>{e.actor.unwrap_or_else(|| "—".into())}</td>
                                                        <td>{action_label(&e.action).to_owned()}</td>
                                                        <td class="handle">{e.target.unwrap_or_default()}</td>
                                                        <td>{e.detail}</td>
                                                        <td>{e.client_addr.unwrap_or_default()}</td>
                                                    </tr>
                                                })
                                                .collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                                <nav class="pager" aria-label="Audit log pages">
                                    <button type="button" disabled=move || page.get() <= 1 on:click=move |_| page.update(|p| *p -= 1)>
                                        "Newer"
                                    </button>
                                    <span>"Page " {move || page.get()}</span>
                                    <button type="button" disabled=!has_next on:click=move |_| page.update(|p| *p += 1)>
                                        "Older"
                                    </button>
                                </nav>
                            }
                                .into_any()
                        }
                        Err(e) => view! { <p class="notice" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// **Verify**'s answer: the server recomputes the chain of every entry (tamper evidence).
#[component]
pub fn Verdict() -> impl IntoView {
    let verdict = LocalResource::new(verify_audit);
    view! {
        <Suspense fallback=|| view! { <span class="loading">"Verifying…"</span> }>
            {move || Suspend::new(async move {
                match verdict.await {
                    Ok(ChainVerdict::Intact { entries, .. }) => view! {
                        <span class="badge badge-ok">"Intact"</span>
                        " The audit log is unaltered: " {entries} " entries verified."
                    }.into_any(),
                    Ok(broken @ ChainVerdict::Broken { .. }) => view! {
                        <span class="badge badge-warn">"Altered"</span> " " {broken.to_string()}
                    }.into_any(),
                    Err(e) => view! { <span>{e.to_string()}</span> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The **Audit streaming** card: each destination with **Delivered through**, **Behind by** and
/// its **Last error**.
#[component]
fn AuditStreaming(refresh: Signal<u32>, manage: ViewFn) -> impl IntoView {
    let destinations = Resource::new(move || refresh.get(), |_| audit_streaming());
    view! {
        <div class="card audit-streaming" aria-labelledby="audit-streaming-title">
            <h4 id="audit-streaming-title">"Audit streaming"</h4>
            <Suspense fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match destinations.await {
                        Ok(list) if list.is_empty() => view! {
                            <p class="muted">
                                "Not streaming. Choose a Webhook connection below, or set " <code>"GATEHOUSE_AUDIT_SYSLOG=tls://host:port"</code> " (or " <code>"tcp://"</code> ")"
                                " on the server, to deliver every entry, in order, to your SIEM."
                            </p>
                        }.into_any(),
                        Ok(list) => view! {
                            <dl class="facts">
                                {list.into_iter().map(destination).collect_view()}
                            </dl>
                        }.into_any(),
                        Err(e) => view! { <p class="notice" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            <ManageToggle id="audit-streaming" label="Manage streaming" manage/>
        </div>
    }
}

fn destination(d: StreamStatus) -> impl IntoView {
    let error = d.last_error.clone().map(|e| {
        let when = d.last_error_at.map(utc_minutes).unwrap_or_default();
        view! { <dt>"Last error"</dt><dd>{e} " (" {when} ")"</dd> }
    });
    view! {
        <dt>{if d.name == "webhook" { "Webhook" } else { "Syslog" }}</dt><dd><code>{d.address}</code></dd>
        <dt>"Delivered through"</dt><dd>"entry " {d.delivered_through}</dd>
        <dt>"Behind by"</dt><dd>{d.behind_by} {if d.behind_by == 1 { " entry" } else { " entries" }}</dd>
        {error}
    }
}

/// The webhook the audit log streams to: one of the Webhook connections, or none. `changed`
/// runs after a change, so that the card and the log show it.
#[component]
pub fn ManageStreaming(changed: Callback<()>) -> impl IntoView {
    let choose = ServerAction::<AuditStreamWebhook>::new();
    let choices = Resource::new(move || choose.version().get(), |_| audit_webhook_choices());
    Effect::new(move |_| {
        if let Some(Ok(())) = choose.value().get() {
            changed.run(());
        }
    });
    let error = move || {
        choose
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })
    };
    view! {
        <Suspense fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match choices.await {
                    Ok(c) => view! { <WebhookPicker c choose/> }.into_any(),
                    Err(e) => view! { <p class="notice" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
        {error}
    }
}

#[component]
fn WebhookPicker(c: WebhookChoices, choose: ServerAction<AuditStreamWebhook>) -> impl IntoView {
    if c.webhooks.is_empty() {
        return view! {
            <p class="muted">"No Webhook connection yet: add one under Connections on the Key Vault tab, then choose it here."</p>
        }
        .into_any();
    }
    let current = c.current.map(|id| id.to_string()).unwrap_or_default();
    let selected = RwSignal::new(current.clone());
    let confirm_stop = RwSignal::new(false);
    let save = move || {
        choose.dispatch(AuditStreamWebhook {
            connection: selected.get_untracked(),
        });
    };
    view! {
        <label for="stream-webhook">"Stream to a webhook"</label>
        <select id="stream-webhook" on:change=move |ev| selected.set(event_target_value(&ev))>
            <option value="" selected=current.is_empty()>"None"</option>
            {c.webhooks.into_iter().map(|w| {
                let value = w.id.to_string();
                let chosen = value == current;
                view! { <option value=value selected=chosen>{format!("{} ({})", w.name, w.url)}</option> }
            }).collect_view()}
        </select>
        <p class="muted">"Each entry goes as a CloudEvent in signed JSON batches, in order; a newly chosen endpoint first receives the whole log."</p>
        <div class="dialog-actions">
            <button type="button" class="button-primary" disabled=move || choose.pending().get()
                on:click=move |_| {
                    if selected.get_untracked().is_empty() && !current.is_empty() {
                        confirm_stop.set(true)
                    } else {
                        save()
                    }
                }>"Save"</button>
        </div>
        <ConfirmDialog open=confirm_stop id="stop-streaming" title="Stop streaming to the webhook?" confirm_label="Stop"
            on_confirm=Callback::new(move |()| save())>
            <p>"New audit entries no longer reach it. Choosing it again later sends the whole log again."</p>
        </ConfirmDialog>
    }
    .into_any()
}
