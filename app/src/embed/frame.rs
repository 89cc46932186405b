//! The page a portal frames: `/embed/security/{tab}`, chromeless (no site header, no Sign out).
//!
//! The server renders it for nobody: inside a third-party frame there is no cookie. The frame's
//! script (`frame.js`, inlined by the shell) speaks the portal's `postMessage` protocol, holds
//! the embed session and adds its header to server-function calls; it reports its state on the
//! `<html>` element (outside what Leptos hydrates) and with a `gatehouse-embed:state` event.
//! This component then asks the server who the session is for and shows the tabs for them.

use crate::{auth::guard::CurrentUser, roles::UserInfo, security::SecurityTabs};
use leptos::prelude::*;
use leptos_meta::Title;

// Only the browser leaves `Connecting` (the server renders for nobody).
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
#[derive(Clone, Debug, PartialEq)]
enum FrameState {
    Connecting,
    Live(UserInfo),
    Failed(String),
}

/// The state `frame.js` reports, read again on each of its events.
#[cfg(feature = "hydrate")]
fn follow_frame_script(state: RwSignal<FrameState>) {
    let check = move || {
        let root = document().document_element();
        let attr = |name: &str| root.as_ref().and_then(|r| r.get_attribute(name));
        match attr("data-embed-state").as_deref() {
            Some("live") => leptos::task::spawn_local(async move {
                let next = match crate::auth::current_user().await {
                    Ok(Some(user)) => FrameState::Live(user),
                    Ok(None) => FrameState::Failed("The embedded session has ended.".into()),
                    Err(e) => FrameState::Failed(e.to_string()),
                };
                // A renewed session for the same user keeps the tab as it is.
                if state.get_untracked() != next {
                    state.set(next);
                }
            }),
            Some("error") => state.set(FrameState::Failed(
                attr("data-embed-error").unwrap_or_else(|| "The portal could not sign in.".into()),
            )),
            _ => {}
        }
    };
    // The script may have finished before the WASM arrived: look once, then follow it.
    Effect::new(move |_| check());
    let listener = window_event_listener_untyped("gatehouse-embed:state", move |_| check());
    on_cleanup(move || listener.remove());
}

#[component]
pub fn EmbedSecurityPage() -> impl IntoView {
    let state = RwSignal::new(FrameState::Connecting);
    #[cfg(feature = "hydrate")]
    follow_frame_script(state);
    view! {
        <Title text="Security · Gatehouse"/>
        <main class="page page-embed">
            {move || match state.get() {
                FrameState::Connecting => view! {
                    <p class="loading" role="status">"Connecting to the portal…"</p>
                    <noscript>
                        <p class="notice">"The embedded Security page needs JavaScript."</p>
                    </noscript>
                }
                    .into_any(),
                FrameState::Failed(message) => view! {
                    <section class="notice notice-denied" role="alert">
                        <h2>"Cannot show the Security page"</h2>
                        <p>{message}</p>
                    </section>
                }
                    .into_any(),
                FrameState::Live(user) => {
                    // The session's user, for the one UI guard and everything below it.
                    provide_context(CurrentUser(Some(user)));
                    view! { <SecurityTabs lede=false/> }.into_any()
                }
            }}
        </main>
    }
}

/// `frame.js` inline in the head of `/embed/*` pages, with the page's nonce (the shell is
/// rendered by the server only).
#[cfg(feature = "ssr")]
pub fn frame_script() -> Option<impl IntoView> {
    let framed = use_context::<http::request::Parts>()
        .is_some_and(|parts| parts.uri.path().starts_with("/embed/"));
    framed.then(|| {
        view! { <script nonce=leptos::nonce::use_nonce() inner_html=include_str!("frame.js")></script> }
    })
}

#[cfg(not(feature = "ssr"))]
pub fn frame_script() -> Option<()> {
    None
}
