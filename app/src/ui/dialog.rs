use leptos::{html, prelude::*};

/// A modal confirmation for destructive actions. Focus starts on Cancel (the safe choice) and
/// Escape closes it, as the WAI-ARIA dialog pattern asks.
#[component]
pub fn ConfirmDialog(
    open: RwSignal<bool>,
    /// Unique within the page; labels the dialog.
    id: &'static str,
    #[prop(into)] title: String,
    #[prop(into)] confirm_label: String,
    on_confirm: Callback<()>,
    children: ChildrenFn,
) -> impl IntoView {
    let cancel = NodeRef::<html::Button>::new();
    Effect::new(move |_| {
        if let Some(button) = cancel.get() {
            let _ = button.focus();
        }
    });
    let title_id = format!("{id}-title");
    view! {
        <Show when=move || open.get()>
            <div class="dialog-backdrop">
                <div
                    class="dialog"
                    role="dialog"
                    aria-modal="true"
                    aria-labelledby=title_id.clone()
                    on:keydown=move |ev| {
                        if ev.key() == "Escape" {
                            open.set(false);
                        }
                    }
                >
                    <h3 id=title_id.clone()>{title.clone()}</h3>
                    {children()}
                    <div class="dialog-actions">
                        <button
                            type="button"
                            class="button-danger"
                            on:click=move |_| {
                                open.set(false);
                                on_confirm.run(());
                            }
                        >
                            {confirm_label.clone()}
                        </button>
                        <button type="button" node_ref=cancel on:click=move |_| open.set(false)>
                            "Cancel"
                        </button>
                    </div>
                </div>
            </div>
        </Show>
    }
}
