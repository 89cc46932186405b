//! The Customer Lockbox tab.

use crate::security::PlannedPanel;
use leptos::prelude::*;

#[component]
pub fn LockboxPanel() -> impl IntoView {
    view! {
        <PlannedPanel
            title="Customer Lockbox"
            purpose="While Customer Lockbox is on, a support engineer who needs access to customer data must ask first. A Lockbox approver approves or denies each request; approved access is time-limited and revoked automatically."
        />
    }
}
