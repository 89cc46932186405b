use leptos::{html, prelude::*};

/// A modal pane, as the WAI-ARIA dialog pattern asks: labelled by its title, Escape closes it,
/// and focus moves into it (to the element marked `data-autofocus`, else the first control).
#[component]
pub fn Pane(
    /// Unique within the page; labels the dialog.
    id: &'static str,
    #[prop(into)] title: String,
    on_close: Callback<()>,
    children: Children,
) -> impl IntoView {
    let dialog = NodeRef::<html::Div>::new();
    Effect::new(move |_| {
        use wasm_bindgen::JsCast;
        let target = dialog.get().and_then(|d| {
            d.query_selector("[data-autofocus]")
                .ok()
                .flatten()
                .or_else(|| d.query_selector("input, select, button").ok().flatten())
        });
        if let Some(el) = target.and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok()) {
            // A pane whose code arrived on demand is built under a `Suspense` before it is in
            // the document, where focus cannot go yet: then it moves at the next frame.
            if el.is_connected() {
                let _ = el.focus();
            } else {
                request_animation_frame(move || {
                    let _ = el.focus();
                });
            }
        }
    });
    // On the window, not the dialog: a button that disables itself while it works drops focus
    // to the page body, and Escape must still close the pane.
    let escape = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" {
            on_close.run(());
        }
    });
    on_cleanup(move || escape.remove());
    return_focus_on_close();
    let title_id = format!("{id}-title");
    view! {
        <div class="dialog-backdrop">
            <div
                class="dialog"
                role="dialog"
                aria-modal="true"
                aria-labelledby=title_id.clone()
                node_ref=dialog
            >
                <h3 id=title_id.clone()>{title}</h3>
                {children()}
            </div>
        </div>
    }
}

/// Gives focus back to what had it when the pane opened (the button that opened it), so that
/// keyboard users carry on where they were.
fn return_focus_on_close() {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        // Browser objects are not Send; cleanups must be. The browser has one thread.
        let opener = send_wrapper::SendWrapper::new(document().active_element());
        on_cleanup(move || {
            let opener = opener.take();
            if let Some(el) = opener.and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
                && el.is_connected()
            {
                let _ = el.focus();
            }
        });
    }
}

/// A confirmation for destructive actions. Focus starts on Cancel, the safe choice.
#[component]
pub fn ConfirmDialog(
    open: RwSignal<bool>,
    id: &'static str,
    #[prop(into)] title: String,
    #[prop(into)] confirm_label: String,
    on_confirm: Callback<()>,
    children: ChildrenFn,
) -> impl IntoView {
    view! {
        <Show when=move || open.get()>
            {
                let (children, title, confirm_label) =
                    (children.clone(), title.clone(), confirm_label.clone());
                view! {
            <Pane id title on_close=Callback::new(move |()| open.set(false))>
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
                        {confirm_label}
                    </button>
                    <button type="button" data-autofocus on:click=move |_| open.set(false)>
                        "Cancel"
                    </button>
                </div>
            </Pane>
                }
            }
        </Show>
    }
}
