#![recursion_limit = "256"]
//! The WASM entry point: it only hydrates the server-rendered app.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Tabs and pages are lazy routes whose code arrives in chunks of its own, so hydration is
    // asynchronous: it waits for the chunk of the route on screen before it walks that part.
    wasm_bindgen_futures::spawn_local(async {
        let Some(body) = leptos::prelude::document().body() else {
            return;
        };
        leptos::mount::hydrate_from_async(body.clone(), app::App)
            .await
            .forget();
        // A stable signal that client-side behaviour is live, for end-to-end tests and
        // embedders: set only once hydration has finished, never before.
        let _ = body.set_attribute("data-hydrated", "");
    });
}
