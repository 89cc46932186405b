//! The Key Vault tab.

use crate::security::PlannedPanel;
use leptos::prelude::*;

#[component]
pub fn KeyVaultPanel() -> impl IntoView {
    view! {
        <PlannedPanel
            title="Key Vault"
            purpose="Link your organisation's own secret store (HashiCorp Vault, OpenBao or Azure Key Vault) so that the credentials of this environment's connections stay inside your compliance boundary. Gatehouse only reads secrets from it; it never writes or deletes them."
        />
    }
}
