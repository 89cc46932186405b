//! The APIs tab.

use crate::security::PlannedPanel;
use leptos::prelude::*;

#[component]
pub fn ApisPanel() -> impl IntoView {
    view! {
        <PlannedPanel
            title="APIs"
            purpose="Issue a primary and a secondary key that unlock this environment's REST API. Callers send a key in the Ocp-Apim-Subscription-Key header; regenerating one slot while the other keeps working lets them rotate without downtime, and disabling the API blocks every key at once."
        />
    }
}
