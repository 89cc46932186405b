use crate::security::load_security_overview;
use leptos::prelude::*;

/// The Users tab. Managing principals arrives with its own issue; today it shows who holds which
/// role, read from the server.
#[component]
pub fn UsersPanel() -> impl IntoView {
    let overview = Resource::new(|| (), |_| load_security_overview());
    view! {
        <h2>"Users"</h2>
        <p>
            "Decide who may use this environment and with which role: Viewers read, Contributors change data, Admins also manage security. Lockbox approvers answer Customer Lockbox requests."
        </p>
        <Suspense fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(o) => view! {
                        <dl class="stats" aria-label="Users by role">
                            {o.users_by_role
                                .into_iter()
                                .map(|(role, n)| view! {
                                    <div class="stat">
                                        <dt>{role.label()}</dt>
                                        <dd>{n}</dd>
                                    </div>
                                })
                                .collect_view()}
                        </dl>
                    }
                        .into_any(),
                    Err(e) => view! { <p class="notice" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
