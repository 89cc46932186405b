//! The Key Vault tab.

use crate::security::PlannedPanel;
use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

/// The Key Vault tab as a lazy route: its code is a chunk of its own.
pub struct KeyVaultRoute;

#[lazy_route]
impl LazyRoute for KeyVaultRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <KeyVaultPanel/> }.into_any()
    }
}

#[component]
fn KeyVaultPanel() -> impl IntoView {
    view! {
        <PlannedPanel
            title="Key Vault"
            purpose="Link your organisation's own secret store (HashiCorp Vault, OpenBao or Azure Key Vault) so that the credentials of this environment's connections stay inside your compliance boundary. Gatehouse only reads secrets from it; it never writes or deletes them."
        />
    }
}
