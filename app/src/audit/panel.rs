use super::{
    ChainVerdict, EXPORT_PATH, StreamStatus, action_label, audit_streaming, load_audit,
    verify_audit,
};
use crate::time_fmt::utc_minutes;
use leptos::prelude::*;

/// The audit log's newest entries, a page at a time, with the CSV export. `refresh` changes
/// after each change on the page, so the log shows it at once.
#[component]
pub fn AuditLog(
    #[prop(into)] refresh: Signal<u32>,
    /// Renders [`Verdict`]; the Users tab loads its code on demand, with the first **Verify**.
    verdict: ViewFn,
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
            <AuditStreaming refresh/>
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
fn AuditStreaming(refresh: Signal<u32>) -> impl IntoView {
    let destinations = Resource::new(move || refresh.get(), |_| audit_streaming());
    view! {
        <div class="card audit-streaming" aria-labelledby="audit-streaming-title">
            <h4 id="audit-streaming-title">"Audit streaming"</h4>
            <Suspense fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match destinations.await {
                        Ok(list) if list.is_empty() => view! {
                            <p class="muted">
                                "Not streaming. Set " <code>"GATEHOUSE_AUDIT_SYSLOG=tls://host:port"</code> " (or " <code>"tcp://"</code> ")"
                                " on the server to deliver every entry, in order, to your SIEM (RFC 5424 syslog)."
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
        </div>
    }
}

fn destination(d: StreamStatus) -> impl IntoView {
    let error = d.last_error.clone().map(|e| {
        let when = d.last_error_at.map(utc_minutes).unwrap_or_default();
        view! { <dt>"Last error"</dt><dd>{e} " (" {when} ")"</dd> }
    });
    view! {
        <dt>"Syslog"</dt><dd><code>{d.address}</code></dd>
        <dt>"Delivered through"</dt><dd>"entry " {d.delivered_through}</dd>
        <dt>"Behind by"</dt><dd>{d.behind_by} {if d.behind_by == 1 { " entry" } else { " entries" }}</dd>
        {error}
    }
}
