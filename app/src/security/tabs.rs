//! The tab strip, following the WAI-ARIA tabs pattern with automatic activation:
//! <https://www.w3.org/WAI/ARIA/apg/patterns/tabs/>. Each tab is a link, so it works without
//! JavaScript too.

use super::address::tab_href;
use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecurityTab {
    /// The route segment under `/admin/security/`.
    pub slug: &'static str,
    pub label: &'static str,
}

pub const TABS: [SecurityTab; 4] = [
    SecurityTab {
        slug: "users",
        label: "Users",
    },
    SecurityTab {
        slug: "apis",
        label: "APIs",
    },
    SecurityTab {
        slug: "key-vault",
        label: "Key Vault",
    },
    SecurityTab {
        slug: "lockbox",
        label: "Customer Lockbox",
    },
];

const PANEL_ID: &str = "security-panel";
const LOCKBOX: &str = "lockbox";

fn tab_id(tab: SecurityTab) -> String {
    format!("tab-{}", tab.slug)
}

fn href(tab: SecurityTab) -> String {
    tab_href(tab.slug)
}

/// The index of the tab the current route shows (the first tab for the bare page).
fn use_selected() -> Memo<usize> {
    let location = use_location();
    Memo::new(move |_| {
        let path = location.pathname.get();
        let segment = path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        TABS.iter().position(|t| t.slug == segment).unwrap_or(0)
    })
}

/// Where an arrow, Home or End key moves from tab `from`, or `None` for other keys.
fn target(key: &str, from: usize) -> Option<usize> {
    let n = TABS.len();
    match key {
        "ArrowRight" => Some((from + 1) % n),
        "ArrowLeft" => Some((from + n - 1) % n),
        "Home" => Some(0),
        "End" => Some(n - 1),
        _ => None,
    }
}

#[component]
pub fn TabList() -> impl IntoView {
    // The pending count on the Customer Lockbox tab. It describes the tab rather than naming it,
    // so the tab's accessible name stays "Customer Lockbox".
    let count = use_context::<super::LockboxPending>();
    let pending = move || count.map(|c| c.0.get()).filter(|n| *n > 0);
    let selected = use_selected();
    let navigate = use_navigate();
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        let Some(to) = target(&ev.key(), selected.get_untracked()) else {
            return;
        };
        ev.prevent_default();
        navigate(&href(TABS[to]), Default::default());
        focus_tab(TABS[to]);
    };
    view! {
        <div class="tablist" role="tablist" aria-label="Security settings" on:keydown=on_keydown>
            {TABS
                .iter()
                .enumerate()
                .map(|(i, tab)| {
                    let is_selected = move || selected.get() == i;
                    view! {
                        <a
                            class="tab"
                            role="tab"
                            id=tab_id(*tab)
                            href=href(*tab)
                            aria-controls=PANEL_ID
                            aria-selected=move || if is_selected() { "true" } else { "false" }
                            aria-describedby=(tab.slug == LOCKBOX).then(|| format!("{}-count", tab_id(*tab)))
                            tabindex=move || if is_selected() { "0" } else { "-1" }
                        >
                            {tab.label}
                            {(tab.slug == LOCKBOX).then(|| view! {
                                {move || pending().map(|n| view! {
                                    <span class="tab-count" aria-hidden="true">{n}</span>
                                })}
                                <span id=format!("{}-count", tab_id(*tab)) hidden>
                                    {move || pending().map(|n| format!("{n} pending"))}
                                </span>
                            })}
                        </a>
                    }
                })
                .collect_view()}
        </div>
    }
}

/// Moves keyboard focus to `tab` (browser only).
fn focus_tab(tab: SecurityTab) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        if let Some(el) = document()
            .get_element_by_id(&tab_id(tab))
            .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = el.focus();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = tab;
}

#[component]
pub fn TabPanel(children: Children) -> impl IntoView {
    let selected = use_selected();
    view! {
        <section
            class="tabpanel"
            role="tabpanel"
            id=PANEL_ID
            aria-labelledby=move || tab_id(TABS[selected.get()])
            tabindex="0"
        >
            {children()}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrows_wrap_around_and_home_end_jump() {
        assert_eq!(target("ArrowRight", 0), Some(1));
        assert_eq!(target("ArrowRight", 3), Some(0));
        assert_eq!(target("ArrowLeft", 0), Some(3));
        assert_eq!(target("Home", 2), Some(0));
        assert_eq!(target("End", 0), Some(3));
        assert_eq!(target("Enter", 0), None);
    }

    #[test]
    fn tab_routes_match_the_design() {
        let routes: Vec<String> = TABS.iter().map(|t| href(*t)).collect();
        assert_eq!(
            routes,
            [
                "/admin/security/users",
                "/admin/security/apis",
                "/admin/security/key-vault",
                "/admin/security/lockbox"
            ]
        );
    }
}
