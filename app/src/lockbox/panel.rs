//! The Customer Lockbox tab: the policy, the approvers, and the requests with their details,
//! where approvers approve (with their password), deny or revoke.

use super::{
    LockboxEvent, LockboxOverview, LockboxRequestDetail, LockboxRequestRow, LockboxStatus,
    PolicySaved, RequestFilter, approve_lockbox_request, deny_lockbox_request, duration_label,
    load_lockbox_overview, lockbox_request, lockbox_requests, revoke_lockbox_request,
    set_lockbox_policy,
};
use crate::{
    error::AppError,
    time_fmt::utc_minutes,
    ui::{ConfirmDialog, Pane, field_error, form_error, submit},
};
use leptos::prelude::*;
use leptos_router::{LazyRoute, hooks::use_query_map, lazy_route};

/// The Customer Lockbox tab as a lazy route: its code, including loading and decoding the
/// policy and the requests, is a chunk of its own that arrives when the tab opens.
pub struct LockboxRoute;

#[lazy_route]
impl LazyRoute for LockboxRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <LockboxPanel/> }.into_any()
    }
}

#[component]
fn LockboxPanel() -> impl IntoView {
    let params = use_query_map();
    let filter = Memo::new(move |_| {
        params
            .read()
            .get("filter")
            .and_then(|f| RequestFilter::parse(&f))
            .unwrap_or_default()
    });
    let refresh = RwSignal::new(0u32);
    let overview = Resource::new(move || refresh.get(), |_| load_lockbox_overview());
    let requests = Resource::new(
        move || (filter.get(), refresh.get()),
        |(f, _)| lockbox_requests(f),
    );
    let changed = Callback::new(move |()| refresh.update(|n| *n += 1));
    // "Saved." outlives the policy card, which is drawn again from the reloaded overview.
    let saved = RwSignal::new(None::<&'static str>);
    let reset_link = RwSignal::new(None::<String>);
    // The pending count on the tab strip follows every reload of the overview.
    if let Some(count) = use_context::<crate::security::LockboxPending>() {
        Effect::new(move |_| {
            if let Some(Ok(o)) = overview.get() {
                count.0.set(o.pending);
            }
        });
    }
    let selected = RwSignal::new(None::<i64>);
    let can_decide = Signal::derive(move || {
        overview
            .get()
            .and_then(Result::ok)
            .is_some_and(|o| o.can_decide)
    });
    view! {
        <h2>"Customer Lockbox"</h2>
        <p>
            "While Customer Lockbox is on, a support engineer who needs access to customer data must ask first. A Lockbox approver approves or denies each request; approved access is read-only, lasts for the access period and then ends by itself."
        </p>
        <Suspense fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(o) => view! { <PolicyCard overview=o changed saved reset_link/> }.into_any(),
                    Err(e) => view! { <p class="notice" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
        <h3 id="lockbox-requests-title">"Requests"</h3>
        <RequestFilters filter/>
        <Suspense fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match requests.await {
                    Ok(rows) => view! { <RequestTable rows filter=filter.get_untracked() selected/> }.into_any(),
                    Err(e) => view! { <p class="notice" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
        {move || selected.get().map(|id| view! {
            <RequestPane
                id
                can_decide
                on_close=Callback::new(move |()| selected.set(None))
                changed
            />
        })}
    }
}

/// The requests' filters, as links (the filter lives in the address, so it survives a reload).
#[component]
fn RequestFilters(filter: Memo<RequestFilter>) -> impl IntoView {
    let link = move |f: RequestFilter, label: &'static str| {
        view! {
            <a
                class="filter"
                href=format!("{}?filter={}", crate::security::address::tab_href("lockbox"), f.as_str())
                aria-current=move || (filter.get() == f).then_some("page")
            >
                {label}
            </a>
        }
    };
    view! {
        <nav class="filters" aria-label="Filter requests">
            {link(RequestFilter::Pending, "Pending")}
            {link(RequestFilter::Recent, "Recent")}
        </nav>
    }
}

#[component]
fn PolicyCard(
    overview: LockboxOverview,
    changed: Callback<()>,
    saved: RwSignal<Option<&'static str>>,
    reset_link: RwSignal<Option<String>>,
) -> impl IntoView {
    let LockboxOverview {
        policy,
        approvers,
        pending: _,
        can_decide,
        pending_changes,
    } = overview;
    let enabled = RwSignal::new(policy.enabled);
    let approvals = RwSignal::new(policy.approvals_required);
    let expiry_hours = RwSignal::new(hours(policy.request_expiry_secs));
    let period_hours = RwSignal::new(hours(policy.access_period_secs));
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    let confirm_off = RwSignal::new(false);
    let fixed = policy.durations_fixed;
    let save = move |on: bool| {
        let expiry = parse_hours(&expiry_hours.get_untracked());
        let period = parse_hours(&period_hours.get_untracked());
        let (expiry, period) = if fixed {
            (None, None)
        } else {
            (expiry, period)
        };
        saved.set(None);
        submit(
            pending,
            error,
            set_lockbox_policy(on, approvals.get_untracked(), expiry, period),
            move |saved_policy: PolicySaved| {
                enabled.set(saved_policy.policy.enabled);
                saved.set(Some(if saved_policy.waiting {
                    "Waiting for a second Lockbox approver: see Pending changes."
                } else {
                    "Saved."
                }));
                changed.run(());
            },
        );
    };
    let toggle = move |()| {
        if enabled.get_untracked() {
            confirm_off.set(true);
        } else {
            save(true);
        }
    };
    view! {
        <section class="card lockbox-policy" aria-labelledby="lockbox-policy-title">
            <h3 id="lockbox-policy-title">"Policy"</h3>
            {form_error(error, &["approvals_required", "request_expiry", "access_period"])}
            <LockboxSwitch enabled pending on_click=Callback::new(toggle)/>
            <ApprovalsField approvals initial=policy.approvals_required error/>
            <Durations policy=policy.clone() expiry_hours period_hours error/>
            <div class="dialog-actions">
                <button type="button" disabled=move || pending.get() on:click=move |_| save(enabled.get_untracked())>
                    "Save settings"
                </button>
                <span role="status">{move || saved.get()}</span>
            </div>
            <Approvers approvers can_decide/>
            <super::pending_changes::PendingChanges changes=pending_changes can_decide changed link=reset_link/>
            <ConfirmDialog
                open=confirm_off
                id="lockbox-off"
                title="Turn Customer Lockbox off?"
                confirm_label="Turn off"
                on_confirm=Callback::new(move |()| save(false))
            >
                <p>"New support requests will be approved at once by policy, without an approver. Requests already waiting keep waiting."</p>
            </ConfirmDialog>
        </section>
    }
}

/// The **Customer Lockbox** switch and what its state means.
#[component]
fn LockboxSwitch(
    enabled: RwSignal<bool>,
    pending: RwSignal<bool>,
    on_click: Callback<()>,
) -> impl IntoView {
    view! {
        <div class="switch-row">
            <button
                type="button"
                role="switch"
                class="switch"
                id="lockbox-switch"
                aria-checked=move || if enabled.get() { "true" } else { "false" }
                disabled=move || pending.get()
                on:click=move |_| on_click.run(())
            >
                <span class="switch-track" aria-hidden="true"></span>
                "Customer Lockbox"
            </button>
            <span class="muted">
                {move || if enabled.get() {
                    "On: every request waits for an approver."
                } else {
                    "Off: requests are approved at once by policy, and recorded as such."
                }}
            </span>
        </div>
    }
}

/// **Approvals required**: one approver, or two (the two-person rule).
#[component]
fn ApprovalsField(
    approvals: RwSignal<u8>,
    initial: u8,
    error: RwSignal<Option<AppError>>,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for="lockbox-approvals">"Approvals required"</label>
            <select
                id="lockbox-approvals"
                on:change=move |ev| approvals.set(if event_target_value(&ev) == "2" { 2 } else { 1 })
                prop:value=move || approvals.get().to_string()
            >
                <option value="1" selected=initial == 1>"1 approver"</option>
                <option value="2" selected=initial == 2>"2 approvers (two-person rule)"</option>
            </select>
            {field_error(error, "approvals_required")}
        </div>
    }
}

/// The request expiration and the access period: fields, or the server's fixed values.
#[component]
fn Durations(
    policy: super::LockboxPolicy,
    expiry_hours: RwSignal<String>,
    period_hours: RwSignal<String>,
    error: RwSignal<Option<AppError>>,
) -> impl IntoView {
    if policy.durations_fixed {
        view! {
            <p class="muted">
                "Request expiration: " {duration_label(policy.request_expiry_secs)}
                " · Access period: " {duration_label(policy.access_period_secs)}
                " (set by the server's configuration)"
            </p>
        }
        .into_any()
    } else {
        view! {
            <HoursField id="lockbox-expiry" label="Request expiration (hours)" value=expiry_hours field="request_expiry" error/>
            <HoursField id="lockbox-period" label="Access period (hours)" value=period_hours field="access_period" error/>
        }
        .into_any()
    }
}

/// A duration in hours (the request expiration, the access period).
#[component]
fn HoursField(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    field: &'static str,
    error: RwSignal<Option<AppError>>,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input id=id type="number" min="1" max="8760" step="any"
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))/>
            {field_error(error, field)}
        </div>
    }
}

/// Who may decide requests, and whether the signed-in Admin is one of them.
#[component]
fn Approvers(approvers: Vec<super::Approver>, can_decide: bool) -> impl IntoView {
    view! {
        <h4>"Lockbox approvers"</h4>
        {if approvers.is_empty() {
            view! { <p class="muted">"Nobody yet. An Admin marks users as Lockbox approvers in the Users tab (Edit)."</p> }.into_any()
        } else {
            view! {
                <ul class="approvers">
                    {approvers.into_iter().map(|a| view! { <li>{a.name} " · " <span class="muted">{a.email}</span></li> }).collect_view()}
                </ul>
            }.into_any()
        }}
        {(!can_decide).then(|| view! {
            <p class="notice notice-info" role="note">"You are not a Lockbox approver: you can see requests but not decide them."</p>
        })}
    }
}

/// Seconds as hours for the form: whole, or with two decimals. Integers only: formatting and
/// parsing an `f64` brought core's float code and tables into the tab's chunk, 12 kB of its
/// 55 kB (brotli), for these two fields.
fn hours(secs: i64) -> String {
    if secs % 3600 == 0 {
        return (secs / 3600).to_string();
    }
    let centi = (secs * 100 + 1800) / 3600;
    format!("{}.{:02}", centi / 100, centi % 100)
}

/// Hours as typed (an HTML number: digits, a decimal point, an exponent), in whole seconds;
/// nonsense becomes a value the server refuses with its message.
fn parse_hours(raw: &str) -> Option<i64> {
    Some(decimal_hours_to_secs(raw.trim()).unwrap_or(-1))
}

fn decimal_hours_to_secs(text: &str) -> Option<i64> {
    let (number, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], text[at + 1..].parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    // The value is digits × 10^scale; 30 significant digits are plenty for an hour count.
    let all: String = whole.chars().chain(fraction.chars()).collect();
    let significant = all.trim_start_matches('0');
    let digits = &significant[..significant.len().min(30)];
    if digits.is_empty() {
        return Some(0);
    }
    let dropped = (significant.len() - digits.len()) as i32;
    let scale = exponent
        .checked_sub(fraction.len() as i32)?
        .checked_add(dropped)?;
    let secs = digits.parse::<i128>().ok()?.checked_mul(3600)?;
    let secs = if scale >= 0 {
        10i128
            .checked_pow(scale as u32)
            .and_then(|p| secs.checked_mul(p))
            .unwrap_or(i128::MAX)
    } else {
        match 10i128.checked_pow(scale.unsigned_abs()) {
            Some(p) => (secs + p / 2) / p,
            None => 0,
        }
    };
    Some(i64::try_from(secs).unwrap_or(i64::MAX))
}

fn status_class(status: LockboxStatus) -> &'static str {
    match status {
        LockboxStatus::ActionNeeded => "badge badge-warn",
        LockboxStatus::Approved => "badge badge-ok",
        _ => "badge",
    }
}

#[component]
fn RequestTable(
    rows: Vec<LockboxRequestRow>,
    filter: RequestFilter,
    selected: RwSignal<Option<i64>>,
) -> impl IntoView {
    if rows.is_empty() {
        let empty = match filter {
            RequestFilter::Pending => "No requests are waiting for a decision.",
            RequestFilter::Recent => "No requests in the past 28 days.",
        };
        return view! { <p class="muted">{empty}</p> }.into_any();
    }
    view! {
        <table class="lockbox-requests" aria-labelledby="lockbox-requests-title">
            <thead>
                <tr>
                    <th scope="col">"Support request ID"</th>
                    <th scope="col">"Status"</th>
                    <th scope="col">"Requested"</th>
                    <th scope="col">"Request expiration"</th>
                    <th scope="col">"Access period"</th>
                    <th scope="col">"Access expiration"</th>
                </tr>
            </thead>
            <tbody>
                {rows.into_iter().map(|r| {
                    let id = r.id;
                    view! {
                        <tr>
                            <td>
                                <button type="button" class="link-button" on:click=move |_| selected.set(Some(id))>
                                    {r.ticket.clone()}
                                </button>
                            </td>
                            <td><span class=status_class(r.status)>{r.status.label()}</span></td>
                            <td>{utc_minutes(r.requested_at)}</td>
                            <td>{utc_minutes(r.request_expires_at)}</td>
                            <td>{duration_label(r.access_period_secs)}</td>
                            <td>{r.access_ends_at.map(utc_minutes).unwrap_or_else(|| "—".into())}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn RequestPane(
    id: i64,
    can_decide: Signal<bool>,
    on_close: Callback<()>,
    changed: Callback<()>,
) -> impl IntoView {
    let reload = RwSignal::new(0u32);
    let detail = Resource::new(move || reload.get(), move |_| lockbox_request(id));
    view! {
        <Pane id="lockbox-request" title="Support request" on_close>
            <Suspense fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match detail.await {
                        Ok(d) => view! {
                            <RequestDetail
                                d
                                can_decide
                                decided=Callback::new(move |()| {
                                    reload.update(|n| *n += 1);
                                    changed.run(());
                                })
                            />
                        }.into_any(),
                        Err(e) => view! { <p class="notice" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            <div class="dialog-actions">
                <button type="button" on:click=move |_| on_close.run(())>"Close"</button>
            </div>
        </Pane>
    }
}

#[component]
fn RequestDetail(
    d: LockboxRequestDetail,
    can_decide: Signal<bool>,
    decided: Callback<()>,
) -> impl IntoView {
    let id = d.row.id;
    let status = d.row.status;
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    let confirm_deny = RwSignal::new(false);
    let confirm_revoke = RwSignal::new(false);
    let deny = Callback::new(move |()| {
        submit(pending, error, deny_lockbox_request(id), move |_| {
            decided.run(())
        })
    });
    let revoke = Callback::new(move |()| {
        submit(pending, error, revoke_lockbox_request(id), move |_| {
            decided.run(())
        })
    });
    let progress = (d.approvals_required == 2 && status == LockboxStatus::ActionNeeded)
        .then(|| format!("{} of 2 approvals", d.approved_by.len()));
    view! {
        {request_facts(&d)}
        {progress.map(|p| view! { <p class="notice notice-info" role="status">{p}</p> })}
        {form_error(error, &["password"])}
        {(status == LockboxStatus::ActionNeeded).then(|| view! {
            <DecisionForm id can_decide pending error confirm_deny decided/>
        })}
        {(status == LockboxStatus::Approved).then(|| view! {
            <div class="dialog-actions">
                <button type="button" class="button-danger"
                    disabled=move || pending.get() || !can_decide.get()
                    on:click=move |_| confirm_revoke.set(true)>
                    "Revoke"
                </button>
            </div>
        })}
        {history(d.history)}
        <ConfirmDialog open=confirm_deny id="lockbox-deny" title="Deny this request?" confirm_label="Deny" on_confirm=deny>
            <p>"The support engineer will not get access for this request."</p>
        </ConfirmDialog>
        <ConfirmDialog open=confirm_revoke id="lockbox-revoke" title="Revoke access now?" confirm_label="Revoke" on_confirm=revoke>
            <p>"The support engineer's access ends at once, before the access period is over."</p>
        </ConfirmDialog>
    }
}

/// What the request says: who asks, why, for what and until when.
fn request_facts(d: &LockboxRequestDetail) -> impl IntoView + use<> {
    let status = d.row.status;
    view! {
        <dl class="facts">
            <dt>"Support request ID"</dt><dd>{d.row.ticket.clone()}</dd>
            <dt>"Lockbox request"</dt><dd>{d.row.id}</dd>
            <dt>"Status"</dt><dd><span class=status_class(status)>{status.label()}</span>{d.by_policy.then_some(" (by policy)")}</dd>
            <dt>"Engineer"</dt><dd>{d.engineer_name.clone()} " · " {d.engineer_email.clone()}</dd>
            <dt>"Support application"</dt><dd>{d.application.clone()}</dd>
            <dt>"Justification"</dt><dd class="justification">{d.justification.clone()}</dd>
            <dt>"Requested access"</dt><dd>{if d.access == "read" { "Read customer data" } else { "Other" }}</dd>
            <dt>"Requested"</dt><dd>{utc_minutes(d.row.requested_at)}</dd>
            <dt>"Request expiration"</dt><dd>{utc_minutes(d.row.request_expires_at)}</dd>
            <dt>"Access period"</dt><dd>{duration_label(d.row.access_period_secs)}</dd>
            <dt>"Access expiration"</dt><dd>{d.row.access_ends_at.map(utc_minutes).unwrap_or_else(|| "—".into())}</dd>
        </dl>
    }
}

/// A pending request's decision: Approve takes the approver's password again; Deny asks first
/// (`confirm_deny` opens its dialog).
#[component]
fn DecisionForm(
    id: i64,
    can_decide: Signal<bool>,
    pending: RwSignal<bool>,
    error: RwSignal<Option<AppError>>,
    confirm_deny: RwSignal<bool>,
    decided: Callback<()>,
) -> impl IntoView {
    let password = RwSignal::new(String::new());
    let approve = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        submit(
            pending,
            error,
            approve_lockbox_request(id, password.get_untracked()),
            move |_| {
                password.set(String::new());
                decided.run(());
            },
        );
    };
    let not_approver =
        "Only Lockbox approvers can approve or deny. An Admin can make you one in the Users tab.";
    view! {
        <form class="decision" on:submit=approve>
            <div class="field">
                <label for="lockbox-password">"Your password"</label>
                <input
                    id="lockbox-password"
                    type="password"
                    autocomplete="current-password"
                    maxlength="1024"
                    prop:value=move || password.get()
                    on:input=move |ev| password.set(event_target_value(&ev))
                    disabled=move || !can_decide.get()
                />
                {field_error(error, "password")}
            </div>
            <div class="dialog-actions">
                <button type="submit" class="button-primary"
                    disabled=move || pending.get() || !can_decide.get()
                    title=move || (!can_decide.get()).then_some(not_approver)>
                    "Approve"
                </button>
                <button type="button" class="button-danger"
                    disabled=move || pending.get() || !can_decide.get()
                    title=move || (!can_decide.get()).then_some(not_approver)
                    on:click=move |_| confirm_deny.set(true)>
                    "Deny"
                </button>
            </div>
            {move || (!can_decide.get()).then(|| view! { <p class="muted">{not_approver}</p> })}
        </form>
    }
}

/// The request's history, oldest first.
fn history(events: Vec<LockboxEvent>) -> impl IntoView {
    view! {
        <h4>"History"</h4>
        <ol class="history">
            {events.into_iter().map(|e| view! {
                <li>
                    <span class="muted">{utc_minutes(e.at)}</span> " " <strong>{e.event}</strong>
                    {e.actor.map(|a| format!(" by {a}"))}
                    {(!e.detail.is_empty()).then(|| format!(" — {}", e.detail))}
                </li>
            }).collect_view()}
        </ol>
    }
}

#[cfg(test)]
mod tests {
    use super::{hours, parse_hours};

    #[test]
    fn hours_show_whole_or_two_decimals() {
        assert_eq!(hours(7_200), "2");
        assert_eq!(hours(5_400), "1.50");
        assert_eq!(hours(900), "0.25");
        assert_eq!(hours(3_601), "1.00");
        assert_eq!(hours(3_618), "1.01");
    }

    #[test]
    fn typed_hours_become_seconds_and_nonsense_is_refused_by_the_server() {
        assert_eq!(parse_hours("2"), Some(7_200));
        assert_eq!(parse_hours(" 1.5 "), Some(5_400));
        assert_eq!(parse_hours(".25"), Some(900));
        assert_eq!(parse_hours("3."), Some(10_800));
        assert_eq!(parse_hours("1e2"), Some(360_000));
        assert_eq!(parse_hours("15E-1"), Some(5_400));
        assert_eq!(parse_hours("0.0001"), Some(0));
        assert_eq!(parse_hours("0.0002"), Some(1));
        assert_eq!(parse_hours("99999999999999999999999999"), Some(i64::MAX));
        assert_eq!(parse_hours("1e400"), Some(i64::MAX));
        assert_eq!(parse_hours("1e-400"), Some(0));
        assert_eq!(parse_hours("0"), Some(0));
        assert_eq!(parse_hours(&format!("{}1.5", "0".repeat(40))), Some(5_400));
        assert_eq!(
            parse_hours(&format!("1{}e-40", "0".repeat(40))),
            Some(3_600)
        );
        for nonsense in ["", ".", "-1", "+1", "1.2.3", "abc", "1e", "1e+", "１"] {
            assert_eq!(parse_hours(nonsense), Some(-1), "{nonsense:?}");
        }
    }
}
