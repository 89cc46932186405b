//! The Users tab: the principals list (searched, sorted and paged by the server, its state in
//! the URL), row actions in panes, and the audit log.

use super::{
    ListQuery, Principal, PrincipalKind, PrincipalPage, SortKey,
    add::AddPane,
    change_role, end_user_sessions,
    highlight::highlighted,
    list_principals,
    members::MembersPane,
    regenerate_secret, reinvite_user, remove_principal, reset_password,
    reveal::{INVITATION_NOTE, Reveal, SECRET_NOTE, absolute_url},
    role_select::role_select,
};
use crate::{
    audit::AuditLog,
    auth::guard::use_current_user,
    error::AppError,
    provisioning::ProvisioningCard,
    roles::Role,
    security::address::tab_href,
    ui::{Pane, form_error, submit},
};
use leptos::{lazy, prelude::*, server_fn::ServerFn};
use leptos_router::{
    LazyRoute,
    hooks::{use_navigate, use_query_map},
    lazy_route,
};

/// Where a browser's own form post of this tab returns to (`ui::plain_form`).
#[cfg(feature = "ssr")]
pub(super) const TAB_PATH: &str = "/admin/security/users";

/// "1 principal", "1,234,567 principals".
fn count(n: i64, one: &str, many: &str) -> String {
    let digits = n.to_string();
    let mut grouped = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(d);
    }
    format!("{grouped} {}", if n == 1 { one } else { many })
}

/// The list at `query` with a row's pane open: `?…&edit=ID`.
fn pane_url(query: &ListQuery, param: &str, id: i64) -> String {
    let search = query.to_search();
    let joiner = if search.is_empty() { '?' } else { '&' };
    format!("{}{search}{joiner}{param}={id}", tab_href("users"))
}

/// The list at `query`, no pane open.
fn list_url(query: &ListQuery) -> String {
    format!("{}{}", tab_href("users"), query.to_search())
}

/// A link that plays a button answers Space as a button does.
fn space_clicks(ev: leptos::ev::KeyboardEvent) {
    if ev.key() == " " {
        ev.prevent_default();
        event_target::<web_sys::HtmlElement>(&ev).click();
    }
}

/// Which pane is open over the list.
#[derive(Clone, Debug)]
enum Open {
    Add,
    Members(Principal),
    /// A new invitation link or client secret, or a password reset's link.
    Renew(Principal, Renewal),
    EndSessions(Principal),
    Reveal(Reveal),
}

/// The Users tab as a lazy route: its code, including the list's loading and decoding, is a
/// chunk of its own that arrives when the tab opens. The main bundle stays small; the price is
/// that a client-side switch to the tab fetches the chunk before the list (on a first visit the
/// list comes with the page).
pub struct UsersRoute;

#[lazy_route]
impl LazyRoute for UsersRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <UsersPanel/> }.into_any()
    }
}

#[component]
fn UsersPanel() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| ListQuery::from_params(|k| params.read().get(k)));
    let refresh = RwSignal::new(0u32);
    let list = Resource::new(
        move || (query.get(), refresh.get()),
        |(q, _)| list_principals(q),
    );
    let open = RwSignal::new(None::<Open>);
    let live = crate::ui::hydrated();
    let changed = Callback::new(move |()| refresh.update(|n| *n += 1));
    view! {
        <h2>"Users"</h2>
        <p>
            "Decide who may use this environment and with which role: Viewers read, Contributors change data, Admins also manage security. A user's role is the highest of their own and their groups'. Applications are identities for scripts and services that call the REST API."
        </p>
        <div class="toolbar">
            <SearchForm query/>
            // Adding shows an invitation link or a secret once, which needs the live page: the
            // button waits for it rather than losing a click.
            <button type="button" class="button-primary" disabled=move || !live.get() on:click=move |_| open.set(Some(Open::Add))>
                "Add users"
            </button>
        </div>
        <noscript>
            <p class="muted">"Without JavaScript you can search, sort, edit and remove. Adding users and showing invitation links or secrets need JavaScript."</p>
        </noscript>
        <Suspense fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(page) => {
                        let principals = page.principals.clone();
                        view! {
                            <PrincipalTable page query=query.get_untracked() open/>
                            <UrlPane principals query changed/>
                        }
                        .into_any()
                    }
                    Err(e) => view! { <p class="notice" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
        {move || open.get().map(|pane| loading(OnDemand::Pane(pane, open, changed)))}
        <crate::sso::SingleSignOnCard manage=ViewFn::from(|| loading(OnDemand::SingleSignOn))/>
        <ProvisioningCard manage=ViewFn::from(|| loading(OnDemand::Provisioning))/>
        <AuditLog
            refresh
            verdict=ViewFn::from(|| loading(OnDemand::AuditVerdict))
            manage_streaming=ViewFn::from(move || loading(OnDemand::AuditStreaming(changed)))
        />
    }
}

/// The search box: a plain GET form without JavaScript; with it, a client-side navigation
/// that keeps the sort and starts again at page 1.
#[component]
fn SearchForm(query: Memo<ListQuery>) -> impl IntoView {
    let search = NodeRef::<leptos::html::Input>::new();
    let navigate = use_navigate();
    // The box follows the URL after a client-side navigation (a sort link, Back), but not at
    // hydration: a reactive `prop:value` would be applied then and wipe what someone typed
    // while the page was loading.
    Effect::new(move |previous: Option<String>| {
        let q = query.get().q;
        if previous.is_some()
            && let Some(input) = search.get()
        {
            input.set_value(&q);
        }
        q
    });
    view! {
        <form
            method="get"
            action=tab_href("users")
            role="search"
            class="search"
            on:submit=move |ev| {
                ev.prevent_default();
                let q = search.get().map(|input| input.value()).unwrap_or_default();
                let next = query.get_untracked().searched(q.trim());
                navigate(&list_url(&next), Default::default());
            }
        >
            <input
                type="search"
                name="q"
                aria-label="Search"
                placeholder="Search by name or email/ID"
                maxlength="200"
                node_ref=search
                value=query.get_untracked().q
            />
            {move || {
                let q = query.get();
                (q.sort != SortKey::default() || q.descending)
                    .then(|| view! { <input type="hidden" name="sort" value=q.sort_param()/> })
            }}
            <button type="submit">"Search"</button>
        </form>
    }
}

#[component]
fn PrincipalTable(
    page: PrincipalPage,
    query: ListQuery,
    open: RwSignal<Option<Open>>,
) -> impl IntoView {
    let me = use_current_user().map(|u| u.id);
    let summary = match (page.principals.is_empty(), query.q.is_empty()) {
        (true, true) => "No principals yet.".to_owned(),
        (true, false) => format!("No principals match “{}”.", query.q),
        (false, true) => count(page.total, "principal", "principals"),
        (false, false) => format!(
            "{}{} {} “{}”.",
            if page.total_capped { "More than " } else { "" },
            count(page.total, "principal", "principals"),
            if page.total == 1 { "matches" } else { "match" },
            query.q
        ),
    };
    let header = {
        let query = query.clone();
        move |key: SortKey| {
            let sorted = query.sort == key;
            let aria = match (sorted, query.descending) {
                (false, _) => "none",
                (true, false) => "ascending",
                (true, true) => "descending",
            };
            let arrow = match aria {
                "ascending" => " ▲",
                "descending" => " ▼",
                _ => "",
            };
            view! {
                <th scope="col" aria-sort=aria>
                    <a class="sort" href=list_url(&query.sorted_by(key))>
                        {key.label()}
                        <span aria-hidden="true">{arrow}</span>
                    </a>
                </th>
            }
        }
    };
    let pager_link = |to: Option<ListQuery>, label: &'static str| match to {
        Some(to) => view! { <a href=list_url(&to)>{label}</a> }.into_any(),
        None => view! { <span aria-disabled="true">{label}</span> }.into_any(),
    };
    let first_page = (!query.is_first_page()).then(|| query.searched(&query.q));
    let previous = page.previous.as_deref().map(|c| query.at(c, false));
    let next = page.next.as_deref().map(|c| query.at(c, true));
    view! {
        <p class="list-summary" role="status">{summary}</p>
        <div class="table-scroll">
            <table class="principals">
                <thead>
                    <tr>
                        {SortKey::ALL.into_iter().map(header.clone()).collect_view()}
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {page
                        .principals
                        .into_iter()
                        .map(|p| {
                            let is_me = Some(p.id) == me;
                            view! { <PrincipalRow p is_me query=query.clone() open/> }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
        <nav class="pager" aria-label="Pages">
            {pager_link(first_page, "First")}
            {pager_link(previous, "Previous")}
            {pager_link(next, "Next")}
        </nav>
    }
}

#[component]
fn PrincipalRow(
    p: Principal,
    is_me: bool,
    query: ListQuery,
    open: RwSignal<Option<Open>>,
) -> impl IntoView {
    let q = query.q.clone();
    // Edit and Remove are links to the same list with the pane open (`?edit=ID`): they work
    // before the WASM has arrived and without JavaScript, and the router keeps them in-page
    // once it has.
    let pane_link = move |label: &'static str, param: &'static str, name: &str| {
        view! {
            <a
                class="button button-small"
                role="button"
                href=pane_url(&query, param, p.id)
                aria-label=format!("{label} {name}")
                on:keydown=space_clicks
            >
                {label}
            </a>
        }
    };
    let extra = one_off_actions(&p, open);
    let via_group = (p.effective_role > p.role).then(
        || view! { <span class="muted">" · " {p.effective_role.label()} " through a group"</span> },
    );
    view! {
        <tr>
            <td>
                {highlighted(p.name.clone(), &q)}
                {is_me.then(|| view! { <span class="badge badge-info">"You"</span> })}
                {p.pending.then(|| view! { <span class="badge badge-info">"Invitation pending"</span> })}
                {(!p.active).then(|| view! { <span class="badge">"Deactivated"</span> })}
                {p.support_application.then(|| view! { <span class="badge badge-warn">"Support application"</span> })}
                {p.approver_waiting.then(|| view! { <span class="badge badge-info">"Lockbox approver: waiting for a second approver"</span> })}
                {p.members.map(|n| view! { <span class="muted">" · " {n} {if n == 1 { " member" } else { " members" }}</span> })}
            </td>
            <td class="handle">{highlighted(p.email_or_id.clone(), &q)}</td>
            <td>{p.kind.label()}</td>
            <td>{p.role.label()} {via_group}</td>
            <td class="row-actions">
                {pane_link("Edit", "edit", &p.name)}
                {extra}
                {pane_link("Remove", "remove", &p.name)}
            </td>
        </tr>
    }
}

/// The row's actions that show something once (a secret, an invitation link) or need the
/// live page: they wait for it rather than losing a click.
fn one_off_actions(p: &Principal, open: RwSignal<Option<Open>>) -> Option<AnyView> {
    let live = crate::ui::hydrated();
    let action = move |label: &'static str, pane: Open, name: &str| {
        view! {
            <button
                type="button"
                class="button-small"
                aria-label=format!("{label} {name}")
                disabled=move || !live.get()
                on:click=move |_| open.set(Some(pane.clone()))
            >
                {label}
            </button>
        }
    };
    match (p.kind, p.pending) {
        (PrincipalKind::Group, _) => {
            Some(action("Members", Open::Members(p.clone()), &p.name).into_any())
        }
        (PrincipalKind::Application, _) => Some(
            action(
                "New secret",
                Open::Renew(p.clone(), Renewal::Secret),
                &p.name,
            )
            .into_any(),
        ),
        (PrincipalKind::User, true) => Some(
            action(
                "Invitation link",
                Open::Renew(p.clone(), Renewal::Invitation),
                &p.name,
            )
            .into_any(),
        ),
        (PrincipalKind::User, false) => Some(
            view! {
                {action("Reset password", Open::Renew(p.clone(), Renewal::PasswordReset), &p.name)}
                {action("End sessions", Open::EndSessions(p.clone()), &p.name)}
            }
            .into_any(),
        ),
    }
}

/// The Edit or Remove pane that the address names (`?edit=ID`, `?remove=ID`), over the row
/// of that principal on the shown page. Closing it goes back to the list's own address.
#[component]
fn UrlPane(
    principals: Vec<Principal>,
    query: Memo<ListQuery>,
    changed: Callback<()>,
) -> impl IntoView {
    let params = use_query_map();
    let navigate = use_navigate();
    let close =
        Callback::new(move |()| navigate(&list_url(&query.get_untracked()), Default::default()));
    move || {
        let (param, id) = ["edit", "remove"]
            .into_iter()
            .find_map(|k| params.read().get(k).map(|v| (k, v)))?;
        let id: i64 = id.parse().ok()?;
        let p = principals.iter().find(|p| p.id == id)?.clone();
        let back = list_url(&query.get_untracked());
        Some(if param == "edit" {
            view! { <EditPane p back on_close=close changed/> }.into_any()
        } else {
            view! { <RemovePane p back on_close=close changed/> }.into_any()
        })
    }
}

/// Cancel in a pane that the address opened: a link back to the list, so that it works
/// without JavaScript too. `first`: focus starts on it (the safe choice of a confirmation).
fn cancel_link(back: String, first: bool, on_close: Callback<()>) -> impl IntoView {
    view! {
        <a
            class="button"
            role="button"
            href=back
            data-autofocus=first.then_some("")
            on:keydown=space_clicks
            on:click=move |ev| {
                ev.prevent_default();
                on_close.run(());
            }
        >
            "Cancel"
        </a>
    }
}

/// The parts of the tab that only a click opens: the panes over the list (Add users, Members,
/// renewals, End sessions, a value shown once), the managing parts of the Single sign-on and
/// Provisioning cards, the audit log's verdict, and the choice of where the audit log streams.
enum OnDemand {
    Pane(Open, RwSignal<Option<Open>>, Callback<()>),
    SingleSignOn,
    Provisioning,
    AuditVerdict,
    AuditStreaming(Callback<()>),
}

/// One lazy function for all of them: their code is a chunk of its own that arrives with the
/// first click, not with every visit of the tab (a first visit is what most people pay for).
/// One function, not one per part: every split point multiplies the chunks that code shared
/// between split points lands in. Never rendered while the page hydrates: a lazy view under a
/// `Suspense` at hydration did not finish hydrating.
#[lazy]
fn on_demand(part: OnDemand) -> AnyView {
    match part {
        OnDemand::Pane(pane, open, changed) => view! { <OpenPane pane open changed/> }.into_any(),
        OnDemand::SingleSignOn => view! { <crate::sso::ManageSingleSignOn/> }.into_any(),
        OnDemand::Provisioning => view! { <crate::provisioning::ManageProvisioning/> }.into_any(),
        OnDemand::AuditVerdict => view! { <crate::audit::AuditVerdict/> }.into_any(),
        OnDemand::AuditStreaming(changed) => {
            view! { <crate::audit::ManageStreaming changed/> }.into_any()
        }
    }
}

/// `part` once its code has arrived, "Loading…" until then.
fn loading(part: OnDemand) -> impl IntoView {
    view! {
        <Suspense fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
            {Suspend::new(on_demand(part))}
        </Suspense>
    }
}

#[component]
fn OpenPane(pane: Open, open: RwSignal<Option<Open>>, changed: Callback<()>) -> impl IntoView {
    let close = Callback::new(move |()| open.set(None));
    match pane {
        Open::Add => view! {
            <AddPane
                on_close=close
                on_added=Callback::new(move |reveal| {
                    changed.run(());
                    open.set(Some(Open::Reveal(reveal)));
                })
            />
        }
        .into_any(),
        Open::Members(p) => view! { <MembersPane group=p on_close=close changed/> }.into_any(),
        Open::Renew(p, kind) => {
            let reveal = Callback::new(move |value: String| {
                changed.run(());
                open.set(Some(Open::Reveal(Reveal {
                    title: kind.label().into(),
                    label: kind.label(),
                    value: match kind {
                        Renewal::Invitation | Renewal::PasswordReset => absolute_url(&value),
                        Renewal::Secret => value,
                    },
                    note: kind.note(),
                })));
            });
            view! { <RenewPane p kind on_close=close reveal/> }.into_any()
        }
        Open::EndSessions(p) => view! { <EndSessionsPane p on_close=close/> }.into_any(),
        Open::Reveal(reveal) => view! { <RevealPane reveal on_close=close/> }.into_any(),
    }
}

/// The error of a form of server function `F` that was posted without JavaScript and came
/// back (Leptos puts it in the address; the server checked it was this browser's own).
fn posted_error<F>() -> Option<AppError>
where
    F: ServerFn<Error = AppError, Output: Clone + Send + Sync> + Clone + Send + Sync + 'static,
{
    ServerAction::<F>::new()
        .value()
        .get_untracked()
        .and_then(Result::err)
}

/// Confirms, then ends every session of a user.
#[component]
fn EndSessionsPane(p: Principal, on_close: Callback<()>) -> impl IntoView {
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    let done = RwSignal::new(false);
    let id = p.id;
    let end = move |_| {
        submit(pending, error, end_user_sessions(id), move |()| {
            done.set(true)
        })
    };
    view! {
        <Pane id="end-sessions" title=format!("End every session of {}?", p.email_or_id) on_close>
            <p>"They are signed out on every device at once and sign in again with their password."</p>
            {form_error(error, &[])}
            {move || done.get().then(|| view! { <p class="notice" role="status">"Their sessions have ended."</p> })}
            <div class="dialog-actions">
                <button type="button" class="button-danger" disabled=move || pending.get() || done.get() on:click=end>
                    "End sessions"
                </button>
                <button type="button" data-autofocus on:click=move |_| on_close.run(())>
                    {move || if done.get() { "Close" } else { "Cancel" }}
                </button>
            </div>
        </Pane>
    }
}

#[component]
fn EditPane(
    p: Principal,
    back: String,
    on_close: Callback<()>,
    changed: Callback<()>,
) -> impl IntoView {
    let me = use_current_user().map(|u| u.id) == Some(p.id);
    let role = RwSignal::new(p.role);
    let is_user = p.kind == PrincipalKind::User;
    let approver = RwSignal::new(p.lockbox_approver);
    let is_application = p.kind == PrincipalKind::Application;
    let support = RwSignal::new(p.support_application);
    let pending = RwSignal::new(false);
    // A form posted without JavaScript that failed comes back with its error in the address.
    let error = RwSignal::new(posted_error::<super::ChangeRole>());
    // Lowering one's own Admin role takes a second, explicit step.
    let confirming_self = RwSignal::new(false);
    let id = p.id;
    let change_role_path = <super::ChangeRole as ServerFn>::PATH;
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let new_role = role.get_untracked();
        let self_demotion = me && new_role < Role::Admin;
        if self_demotion && !confirming_self.get_untracked() {
            confirming_self.set(true);
            return;
        }
        submit(
            pending,
            error,
            change_role(
                id,
                new_role,
                self_demotion,
                is_user.then(|| approver.get_untracked()),
                is_application.then(|| support.get_untracked()),
            ),
            move |_| {
                if self_demotion {
                    // This page is no longer theirs to see: let the server render what is.
                    #[cfg(feature = "hydrate")]
                    let _ = window().location().reload();
                }
                changed.run(());
                on_close.run(());
            },
        );
    };
    view! {
        <Pane id="edit-principal" title=format!("Edit {}", p.name) on_close>
            <form method="post" action=change_role_path on:submit=save>
            <input type="hidden" name="id" value=id/>
            // Without JavaScript there is no second step: lowering one's own role is refused.
            <input type="hidden" name="confirm_self" value="false"/>
            <p class="muted">{p.kind.label()} " · " {p.email_or_id.clone()}</p>
            {form_error(error, &["role", "lockbox_approver", "support_application"])}
            <div class="field">
                {role_select(role, "edit-role")}
                {crate::ui::field_error(error, "role")}
            </div>
            {permission_flags(p.kind, approver, support, error)}
            {move || confirming_self.get().then(|| view! {
                <p class="notice" role="alert">
                    "You are about to remove your own Admin role. You will no longer be able to open the Security page. Select Save again to confirm."
                </p>
            })}
            <div class="dialog-actions">
                <button type="submit" class="button-primary" disabled=move || pending.get()>
                    {move || if pending.get() { "Saving…" } else { "Save" }}
                </button>
                {cancel_link(back, false, on_close)}
            </div>
            </form>
        </Pane>
    }
}

/// The permissions a kind of principal has beyond its role: a user may be a Lockbox approver,
/// an application a support application.
fn permission_flags(
    kind: PrincipalKind,
    approver: RwSignal<bool>,
    support: RwSignal<bool>,
    error: RwSignal<Option<AppError>>,
) -> Option<impl IntoView + use<>> {
    match kind {
        PrincipalKind::User => Some(view! {
            <FlagField
                name="lockbox_approver"
                label=" Lockbox approver"
                hint="May approve or deny Customer Lockbox requests (with the Admin role)."
                value=approver
                error
            />
        }.into_any()),
        PrincipalKind::Application => Some(view! {
            <FlagField
                name="support_application"
                label=" Support application"
                hint="May file Customer Lockbox requests and, within an approved request, read customer data through the support endpoints."
                value=support
                error
            />
        }.into_any()),
        PrincipalKind::Group => None,
    }
}

/// A permission of the Edit pane as a checkbox, posted as `name=true` when ticked (a plain
/// form leaves an unticked one out).
#[component]
fn FlagField(
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    value: RwSignal<bool>,
    error: RwSignal<Option<AppError>>,
) -> impl IntoView {
    view! {
        <div class="field field-check">
            <label>
                <input
                    type="checkbox"
                    name=name
                    value="true"
                    checked=value.get_untracked()
                    prop:checked=move || value.get()
                    on:change=move |ev| value.set(event_target_checked(&ev))
                />
                {label}
            </label>
            <p class="muted">{hint}</p>
            {crate::ui::field_error(error, name)}
        </div>
    }
}

#[component]
fn RemovePane(
    p: Principal,
    back: String,
    on_close: Callback<()>,
    changed: Callback<()>,
) -> impl IntoView {
    let pending = RwSignal::new(false);
    let error = RwSignal::new(posted_error::<super::RemovePrincipal>());
    let id = p.id;
    let consequence = match p.kind {
        PrincipalKind::User => "They lose access at once: their next request is signed out.",
        PrincipalKind::Group => "Its members keep their own roles but lose the group's.",
        PrincipalKind::Application => "Calls with its client secret are refused at once.",
    };
    let remove_path = <super::RemovePrincipal as ServerFn>::PATH;
    let delete = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        submit(pending, error, remove_principal(id), move |()| {
            changed.run(());
            on_close.run(());
        });
    };
    view! {
        <Pane id="remove-principal" title=format!("Remove {}?", p.name) on_close>
            <form method="post" action=remove_path on:submit=delete>
            <input type="hidden" name="id" value=id/>
            <p>{p.kind.label()} " " <strong>{p.email_or_id.clone()}</strong> ". " {consequence}</p>
            {form_error(error, &[])}
            <div class="dialog-actions">
                <button type="submit" class="button-danger" disabled=move || pending.get()>
                    "Delete"
                </button>
                {cancel_link(back, true, on_close)}
            </div>
            </form>
        </Pane>
    }
}

/// What a renewal replaces: a pending user's invitation link, or an application's secret.
#[derive(Clone, Copy, Debug)]
enum Renewal {
    Invitation,
    Secret,
    /// An active user's password retired, with a one-time link to choose a new one.
    PasswordReset,
}

impl Renewal {
    fn label(self) -> &'static str {
        match self {
            Self::Invitation => "Invitation link",
            Self::Secret => "Client secret",
            Self::PasswordReset => "Password reset link",
        }
    }

    fn note(self) -> &'static str {
        match self {
            Self::Invitation | Self::PasswordReset => INVITATION_NOTE,
            Self::Secret => SECRET_NOTE,
        }
    }
}

/// Confirms, then asks the server for a new invitation link or client secret.
#[component]
fn RenewPane(
    p: Principal,
    kind: Renewal,
    on_close: Callback<()>,
    reveal: Callback<String>,
) -> impl IntoView {
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    let id = p.id;
    let (title, text, confirm) = match kind {
        Renewal::Invitation => (
            format!("New invitation link for {}?", p.email_or_id),
            "The previous link stops working. Send the new one to the user.",
            "Create link",
        ),
        Renewal::Secret => (
            format!("New client secret for {}?", p.name),
            "The current secret stops working at once. Scripts using it fail until they get the new one.",
            "Create secret",
        ),
        Renewal::PasswordReset => (
            format!("Reset the password of {}?", p.email_or_id),
            "Their password stops working and every session of theirs ends now. Send them the one-time link to choose a new one.",
            "Reset password",
        ),
    };
    // A Lockbox approver's reset waits for a second approver under the two-person rule.
    let waiting = RwSignal::new(false);
    let go = move |_| {
        let done = move |value: String| reveal.run(value);
        match kind {
            Renewal::Invitation => submit(pending, error, reinvite_user(id), done),
            Renewal::Secret => submit(pending, error, regenerate_secret(id), done),
            Renewal::PasswordReset => {
                submit(pending, error, reset_password(id), move |link| match link {
                    Some(link) => done(link),
                    None => waiting.set(true),
                })
            }
        }
    };
    view! {
        <Pane id="renew" title on_close>
            <p>{text}</p>
            {form_error(error, &[])}
            {move || waiting.get().then(|| view! {
                <p class="notice notice-info" role="status">
                    "This user is a Lockbox approver and the two-person rule is on: the reset waits until a second Lockbox approver confirms it on the Customer Lockbox tab."
                </p>
            })}
            <div class="dialog-actions">
                <button type="button" class="button-danger" disabled=move || pending.get() || waiting.get() on:click=go>{confirm}</button>
                <button type="button" data-autofocus on:click=move |_| on_close.run(())>
                    {move || if waiting.get() { "Close" } else { "Cancel" }}
                </button>
            </div>
        </Pane>
    }
}

/// Shows a secret or link once, with Copy.
#[component]
fn RevealPane(reveal: Reveal, on_close: Callback<()>) -> impl IntoView {
    let Reveal {
        title,
        label,
        value,
        note,
    } = reveal;
    let copied = RwSignal::new(None::<&'static str>);
    let text = value.clone();
    let copy = move |_| {
        let text = text.clone();
        leptos::task::spawn_local(async move {
            copied.set(Some(crate::ui::copy_to_clipboard(&text).await));
        });
    };
    view! {
        <Pane id="reveal" title on_close>
            <label for="revealed" class="key-label">{label}</label>
            <div class="key-value-row">
                <input id="revealed" class="key-value" type="text" readonly spellcheck="false" value=value data-autofocus/>
                <button type="button" on:click=copy>"Copy"</button>
            </div>
            <p class="key-note" role="status" aria-live="polite">{move || copied.get()}</p>
            <p>{note}</p>
            <div class="dialog-actions">
                <button type="button" class="button-primary" on:click=move |_| on_close.run(())>"Done"</button>
            </div>
        </Pane>
    }
}
