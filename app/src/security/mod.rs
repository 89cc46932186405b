//! The Security page: an ARIA tablist whose tabs are routes, so links and reloads land on a tab.

pub mod address;
mod overview;
mod tabs;

pub use address::tab_href;
pub use overview::{
    LockboxPending, PageFacts, SecurityOverview, StreamAlert, VaultAlert, VaultBanner,
    load_security_overview, provide_page_facts,
};
pub use tabs::{SecurityTab, TABS};

use crate::{auth::guard::RequireRole, layout::AppHeader, roles::Role};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Outlet;

#[component]
pub fn SecurityPage() -> impl IntoView {
    view! {
        <Title text="Security · Gatehouse"/>
        <AppHeader/>
        <main class="page">
            <h1 class="page-title">"Security"</h1>
            <SecurityTabs lede=true/>
        </main>
    }
}

/// The tabs and the selected tab's panel, for Admins only: the page's body on
/// `/admin/security` and inside a portal's frame alike.
#[component]
pub fn SecurityTabs(
    /// The introductory sentence (a portal's frame leaves it out: the portal has its own).
    lede: bool,
) -> impl IntoView {
    view! {
        <RequireRole
            role=Role::Admin
            denied="Only administrators can open the Security page."
        >
            {lede.then(|| view! {
                <p class="page-lede">
                    "Decide who may use this environment, which keys unlock its API, where the credentials of its connections are kept, and whether support may access customer data."
                </p>
            })}
            {
                provide_page_facts();
                view! {
                    <overview::VaultBannerView/>
                    <overview::StreamBannerView/>
                    <tabs::TabList/>
                }
            }
            <tabs::TabPanel>
                <Outlet/>
            </tabs::TabPanel>
        </RequireRole>
    }
}
