#![recursion_limit = "256"]
//! The WASM entry point: it only hydrates the server-rendered app.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    // A stable signal that client-side behaviour is live, for end-to-end tests and embedders.
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "");
    }
}
