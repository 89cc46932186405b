//! Small widgets shared by the tabs.

mod dialog;
mod managed;
#[cfg(feature = "ssr")]
pub mod plain_form;

pub use dialog::{ConfirmDialog, Pane};
pub use managed::{ManageToggle, ManagedCard};

use crate::error::AppError;
use leptos::prelude::*;
use std::future::Future;

/// Runs a server call from an event handler: marks `pending` while it runs, puts a failure in
/// `error` (cleared when the call starts), and hands a success to `done`.
pub fn submit<T: 'static>(
    pending: RwSignal<bool>,
    error: RwSignal<Option<AppError>>,
    call: impl Future<Output = Result<T, AppError>> + 'static,
    done: impl FnOnce(T) + 'static,
) {
    if pending.get_untracked() {
        return;
    }
    pending.set(true);
    error.set(None);
    leptos::task::spawn_local(async move {
        let result = call.await;
        pending.set(false);
        match result {
            Ok(value) => done(value),
            Err(e) => error.set(Some(e)),
        }
    });
}

/// The message under form field `field`, when the last error was about it.
pub fn field_error(
    error: impl Into<Signal<Option<AppError>>>,
    field: &'static str,
) -> impl Fn() -> Option<AnyView> + Copy {
    let error = error.into();
    move || {
        error.get().and_then(|e| e.for_field(field)).map(|m| {
            view! { <p class="field-error" id=format!("{field}-error") role="alert">{m}</p> }
                .into_any()
        })
    }
}

/// The message above a form: any error that none of its `fields` shows.
pub fn form_error(
    error: impl Into<Signal<Option<AppError>>>,
    fields: &'static [&'static str],
) -> impl Fn() -> Option<AnyView> + Copy {
    let error = error.into();
    move || {
        error
            .get()
            .and_then(|e| e.for_form(fields))
            .map(|m| view! { <p class="form-error" role="alert">{m}</p> }.into_any())
    }
}

/// Writes `text` to the clipboard; returns what to tell the user.
pub async fn copy_to_clipboard(text: &str) -> &'static str {
    #[cfg(feature = "hydrate")]
    {
        let clipboard = window().navigator().clipboard();
        match wasm_bindgen_futures::JsFuture::from(clipboard.write_text(text)).await {
            Ok(_) => "Copied",
            Err(_) => "The browser refused the clipboard. Select the text and copy it by hand.",
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = text;
        "Copying needs JavaScript."
    }
}

/// False while the page is only server-rendered HTML, true once the WASM has hydrated it:
/// controls that need the live page are disabled until then, so that no click is lost.
pub fn hydrated() -> ReadSignal<bool> {
    let (live, set_live) = signal(false);
    // Effects run in the browser only, after hydration.
    Effect::new(move |_| set_live.set(true));
    live
}
