//! A settings card that shows a summary, and its managing part once an Admin asks for it with a
//! **Manage …** button. The caller renders the managing part: the Users tab loads its code on
//! demand (`users::panel::on_demand`), so that a visit that only looks does not download it.

use leptos::prelude::*;

#[component]
pub fn ManagedCard(
    /// The section's element id prefix and class (`{id}-title`, `{id}-manage`).
    id: &'static str,
    title: &'static str,
    /// The button's label, e.g. "Manage single sign-on".
    manage_label: &'static str,
    /// What the card says about itself whether it is managed or not.
    children: Children,
    /// The current state, shown until the managing part opens (which shows it itself).
    summary: ViewFn,
    manage: ViewFn,
) -> impl IntoView {
    view! {
        <section class=format!("card {id}") aria-labelledby=format!("{id}-title")>
            <h3 id=format!("{id}-title")>{title}</h3>
            {children()}
            <ManageToggle id label=manage_label summary manage/>
        </section>
    }
}

/// The **Manage …** button, which gives its place (and `summary`'s) to the managing part and
/// moves focus there. Disabled until the page is live; without JavaScript a note says why.
#[component]
pub fn ManageToggle(
    /// The managing part's element id is `{id}-manage`.
    id: &'static str,
    label: &'static str,
    #[prop(optional)] summary: Option<ViewFn>,
    manage: ViewFn,
) -> impl IntoView {
    let open = RwSignal::new(false);
    let live = super::hydrated();
    // The button goes once the managing part opens: focus moves there, not to the page's top.
    let part = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        if let Some(part) = part.get() {
            let _ = part.focus();
        }
    });
    let manage_id = format!("{id}-manage");
    view! {
        <Show
            when=move || open.get()
            fallback=move || view! {
                {summary.as_ref().map(ViewFn::run)}
                <button type="button" aria-controls=manage_id.clone() aria-expanded="false"
                    disabled=move || !live.get() on:click=move |_| open.set(true)>
                    {label}
                </button>
                <noscript><p class="muted">"Managing this needs JavaScript."</p></noscript>
            }
        >
            <div id=format!("{id}-manage") tabindex="-1" node_ref=part>{manage.run()}</div>
        </Show>
    }
}
