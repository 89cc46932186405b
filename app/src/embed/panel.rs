//! The APIs tab's **Portal embedding** card: allowed portal origins, the embed secret and the
//! snippet a portal pastes.

use super::{
    AddEmbedOrigin, EmbedOrigin, EmbedSettings, RegenerateEmbedSecret, RegenerateOriginSecret,
    RemoveEmbedOrigin, load_embed_settings, reveal_embed_secret, reveal_origin_secret,
};
use crate::{
    api_keys::RevealPurpose,
    error::AppError,
    time_fmt::utc_minutes,
    ui::{ConfirmDialog, copy_to_clipboard, field_error, hydrated},
};
use leptos::prelude::*;

#[component]
pub fn PortalEmbeddingCard() -> impl IntoView {
    let add = ServerAction::<AddEmbedOrigin>::new();
    let remove = ServerAction::<RemoveEmbedOrigin>::new();
    let regenerate = ServerAction::<RegenerateEmbedSecret>::new();
    let regenerate_own = ServerAction::<RegenerateOriginSecret>::new();
    let settings = Resource::new(
        move || {
            (
                add.version().get(),
                remove.version().get(),
                regenerate.version().get(),
                regenerate_own.version().get(),
            )
        },
        |_| load_embed_settings(),
    );
    // Outside the list, which is rendered anew after every action: a refused origin stays
    // in the field for correction.
    let origin_input = RwSignal::new(String::new());
    // A successful add empties the field; a refused one keeps what was typed.
    Effect::new(move |_| {
        if matches!(add.value().get(), Some(Ok(_))) {
            origin_input.set(String::new());
        }
    });
    view! {
        <section class="card embed-card" aria-labelledby="embed-title">
            <h3 id="embed-title">"Portal embedding"</h3>
            <p>
                "Portals listed here may show this Security page in a frame. Each portal's backend signs a short-lived embed token for the signed-in user with that portal's own secret; the user's own role applies inside the frame. No cookie is needed, so it works where browsers block third-party cookies."
            </p>
            <Suspense fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match settings.await {
                        Ok(s) => view! { <EmbedControls settings=s add remove regenerate regenerate_own origin_input/> }.into_any(),
                        Err(e) => view! { <p class="notice" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn EmbedControls(
    settings: EmbedSettings,
    add: ServerAction<AddEmbedOrigin>,
    remove: ServerAction<RemoveEmbedOrigin>,
    regenerate: ServerAction<RegenerateEmbedSecret>,
    regenerate_own: ServerAction<RegenerateOriginSecret>,
    origin_input: RwSignal<String>,
) -> impl IntoView {
    let live = hydrated();
    // The shared secret matters while a portal signs with it: one fixed by the server's
    // configuration, or one listed before portals had their own.
    let shared_in_use = settings.fixed_by_config
        || settings
            .origins
            .iter()
            .any(|o| o.secret_created_at.is_none());
    let to_remove = RwSignal::new(None::<String>);
    let confirm_remove = RwSignal::new(false);
    let fixed = settings.fixed_by_config;
    let origins = settings.origins.clone();
    let empty = origins.is_empty();
    view! {
        <h4>"Allowed portal origins"</h4>
        {fixed.then(|| view! {
            <p class="notice" role="note">
                "Set on the server by " <code>"GATEHOUSE_FRAME_ANCESTORS"</code> ": change them there."
            </p>
        })}
        {move || remove.value().get().and_then(Result::err).map(|e| view! {
            <p class="form-error" role="alert">{e.to_string()}</p>
        })}
        {if empty {
            view! { <p class="empty">"No portal may embed this page yet."</p> }.into_any()
        } else {
            view! {
                <ul class="embed-origins" aria-label="Allowed portal origins">
                    {origins
                        .into_iter()
                        .map(|o| view! {
                            <OriginItem o fixed live remove regenerate_own to_remove confirm_remove/>
                        })
                        .collect_view()}
                </ul>
            }
                .into_any()
        }}
        {(!fixed).then(|| view! { <AddOrigin add origin_input live/> })}
        <ConfirmDialog
            open=confirm_remove
            id="remove-embed-origin"
            title="Remove this portal?"
            confirm_label="Remove"
            on_confirm=Callback::new(move |()| {
                if let Some(origin) = to_remove.get_untracked() {
                    remove.dispatch(RemoveEmbedOrigin { origin });
                }
            })
        >
            <p>
                <code>{move || to_remove.get()}</code>
                " will no longer be able to embed this page; frames open there stop working at once."
            </p>
        </ConfirmDialog>
        {move || regenerate_own.value().get().and_then(Result::err).map(|e| view! {
            <p class="form-error" role="alert">{e.to_string()}</p>
        })}
        <p class="muted">
            "Embed sessions last " {settings.session_seconds / 60} " minutes and are renewed with a new token. Keep each secret on the portal's server, never in its pages."
        </p>
        {shared_in_use.then(|| view! {
            <EmbedSecret created_at=settings.secret_created_at regenerate/>
        })}
        <Snippet/>
    }
}

/// One allowed portal: its origin, when it was added, and (unless the server's configuration
/// fixes the list) its secret and Remove, which asks first (`confirm_remove`).
#[component]
fn OriginItem(
    o: EmbedOrigin,
    fixed: bool,
    live: ReadSignal<bool>,
    remove: ServerAction<RemoveEmbedOrigin>,
    regenerate_own: ServerAction<RegenerateOriginSecret>,
    to_remove: RwSignal<Option<String>>,
    confirm_remove: RwSignal<bool>,
) -> impl IntoView {
    let origin = o.origin.clone();
    view! {
        <li>
            <code>{o.origin.clone()}</code>
            {o.added_at.map(|t| view! { <span class="muted">" added " {utc_minutes(t)}</span> })}
            {(!fixed).then(|| view! {
                <OriginSecret origin=o.origin.clone() created_at=o.secret_created_at regenerate=regenerate_own/>
            })}
            {(!fixed).then(|| view! {
                <button
                    type="button"
                    aria-label=format!("Remove {origin}")
                    disabled=move || !live.get() || remove.pending().get()
                    on:click={
                        let origin = origin.clone();
                        move |_| {
                            to_remove.set(Some(origin.clone()));
                            confirm_remove.set(true);
                        }
                    }
                >"Remove"</button>
            })}
        </li>
    }
}

/// The form that allows one more portal origin.
#[component]
fn AddOrigin(
    add: ServerAction<AddEmbedOrigin>,
    origin_input: RwSignal<String>,
    live: ReadSignal<bool>,
) -> impl IntoView {
    let add_error = Signal::derive(move || add.value().get().and_then(Result::err));
    view! {
        <form
            class="embed-add"
            on:submit=move |ev| {
                ev.prevent_default();
                add.dispatch(AddEmbedOrigin { origin: origin_input.get_untracked() });
            }
        >
            <label for="embed-origin">"Portal origin"</label>
            <input
                id="embed-origin"
                name="origin"
                type="text"
                inputmode="url"
                placeholder="https://portal.example.com"
                autocomplete="off"
                spellcheck="false"
                aria-describedby="origin-error"
                prop:value=move || origin_input.get()
                on:input=move |ev| origin_input.set(event_target_value(&ev))
            />
            <button type="submit" disabled=move || !live.get() || add.pending().get()>"Add origin"</button>
            {field_error(add_error, "origin")}
        </form>
    }
}

/// One portal's own secret, with Show, Copy and Regenerate; or, for a portal that still signs
/// with the shared secret, a note and Regenerate to give it its own.
#[component]
fn OriginSecret(
    origin: String,
    created_at: Option<i64>,
    regenerate: ServerAction<RegenerateOriginSecret>,
) -> impl IntoView {
    let live = hydrated();
    let revealed = RwSignal::new(None::<String>);
    let note = RwSignal::new(None::<String>);
    let confirm = RwSignal::new(false);
    let own = created_at.is_some();
    let label = format!("Secret of {origin}");
    let field = format!("embed-secret-{}", origin.replace(['/', ':', '.'], "-"));
    let reveal = {
        let origin = origin.clone();
        move |purpose: RevealPurpose| {
            let origin = origin.clone();
            async move {
                let result: Result<String, AppError> = reveal_origin_secret(origin, purpose).await;
                result.inspect_err(|e| note.set(Some(e.to_string()))).ok()
            }
        }
    };
    let on_show = {
        let reveal = reveal.clone();
        move |_| {
            if revealed.get_untracked().is_some() {
                revealed.set(None);
                return;
            }
            let shown = reveal(RevealPurpose::Show);
            leptos::task::spawn_local(async move {
                if let Some(s) = shown.await {
                    revealed.set(Some(s));
                }
            });
        }
    };
    let on_copy = move |_| {
        let copied = reveal(RevealPurpose::Copy);
        leptos::task::spawn_local(async move {
            if let Some(s) = copied.await {
                note.set(Some(copy_to_clipboard(&s).await.to_owned()));
            }
        });
    };
    let title = format!("Regenerate the secret of {origin}?");
    view! {
        <div class="key-value-row origin-secret">
            {if own {
                view! {
                    <label for=field.clone() class="visually-hidden">{label.clone()}</label>
                    <input id=field class="key-value" type="text" readonly spellcheck="false"
                        prop:value=move || revealed.get().unwrap_or_else(|| "•".repeat(24))/>
                    <button type="button" aria-label=format!("Show {label}") disabled=move || !live.get() on:click=on_show>
                        {move || if revealed.get().is_some() { "Hide" } else { "Show" }}
                    </button>
                    <button type="button" aria-label=format!("Copy {label}") disabled=move || !live.get() on:click=on_copy>"Copy"</button>
                }.into_any()
            } else {
                view! { <span class="badge badge-warn">"Signs with the shared secret"</span> }.into_any()
            }}
            <button
                type="button"
                aria-label=format!("Regenerate {label}")
                disabled=move || !live.get() || regenerate.pending().get()
                on:click=move |_| confirm.set(true)
            >"Regenerate"</button>
        </div>
        <p class="key-note" role="status" aria-live="polite">{move || note.get()}</p>
        <ConfirmDialog
            open=confirm
            id="regenerate-origin-secret"
            title
            confirm_label="Regenerate"
            on_confirm=Callback::new({
                let origin = origin.clone();
                move |()| {
                    regenerate.dispatch(RegenerateOriginSecret { origin: origin.clone() });
                }
            })
        >
            <p>"This portal's tokens signed with its current secret (or the shared one) stop working at once, and its embedded pages open now are signed out. Other portals are not affected. Give this portal's backend the new secret."</p>
        </ConfirmDialog>
    }
}

/// The shared secret: what portals fixed by `GATEHOUSE_FRAME_ANCESTORS`, and portals listed
/// before each had its own, sign with.
#[component]
fn EmbedSecret(
    created_at: Option<i64>,
    regenerate: ServerAction<RegenerateEmbedSecret>,
) -> impl IntoView {
    let live = hydrated();
    let revealed = RwSignal::new(None::<String>);
    let note = RwSignal::new(None::<String>);
    let confirm = RwSignal::new(false);
    let exists = RwSignal::new(created_at.is_some());
    // A regenerated secret is shown hidden again.
    Effect::new(move |_| {
        if let Some(Ok(s)) = regenerate.value().get() {
            revealed.set(None);
            exists.set(s.secret_created_at.is_some());
            note.set(Some("A new embed secret is in place.".into()));
        }
    });
    let masked = move || match exists.get() {
        true => "•".repeat(24),
        false => "Created when you first show or copy it".to_owned(),
    };
    let reveal = move |purpose: RevealPurpose| async move {
        let result: Result<String, AppError> = reveal_embed_secret(purpose).await;
        result.inspect_err(|e| note.set(Some(e.to_string()))).ok()
    };
    let on_show = move |_| {
        if revealed.get_untracked().is_some() {
            revealed.set(None);
            return;
        }
        leptos::task::spawn_local(async move {
            if let Some(s) = reveal(RevealPurpose::Show).await {
                revealed.set(Some(s));
                exists.set(true);
            }
        });
    };
    let on_copy = move |_| {
        leptos::task::spawn_local(async move {
            if let Some(s) = reveal(RevealPurpose::Copy).await {
                exists.set(true);
                note.set(Some(copy_to_clipboard(&s).await.to_owned()));
            }
        });
    };
    view! {
        <h4>"Shared embed secret"</h4>
        <p>
            "Still accepted for the portals marked \"Signs with the shared secret\" and for portals set by the server's configuration, until a portal's own secret is made with Regenerate beside it. Portals sign each embed token with it (HS256)."
        </p>
        <div class="key-value-row">
            <label for="embed-secret" class="visually-hidden">"Embed secret"</label>
            <input
                id="embed-secret"
                class="key-value"
                type="text"
                readonly
                spellcheck="false"
                prop:value=move || revealed.get().unwrap_or_else(masked)
            />
            <button type="button" disabled=move || !live.get() on:click=on_show>
                {move || if revealed.get().is_some() { "Hide" } else { "Show" }}
            </button>
            <button type="button" disabled=move || !live.get() on:click=on_copy>"Copy"</button>
            <button
                type="button"
                disabled=move || !live.get() || !exists.get() || regenerate.pending().get()
                on:click=move |_| confirm.set(true)
            >"Regenerate"</button>
        </div>
        <p class="key-note" role="status" aria-live="polite">{move || note.get()}</p>
        {move || regenerate.value().get().and_then(Result::err).map(|e| view! {
            <p class="form-error" role="alert">{e.to_string()}</p>
        })}
        <ConfirmDialog
            open=confirm
            id="regenerate-embed-secret"
            title="Regenerate the embed secret?"
            confirm_label="Regenerate"
            on_confirm=Callback::new(move |()| {
                regenerate.dispatch(RegenerateEmbedSecret {});
            })
        >
            <p>"Tokens signed with the current secret stop working at once, and every embedded page open now is signed out. Give your portal's backend the new secret."</p>
        </ConfirmDialog>
    }
}

/// What a portal pastes: the script and the element, with this server's address.
#[component]
fn Snippet() -> impl IntoView {
    let origin = RwSignal::new(String::from("https://gatehouse.example.com"));
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Ok(o) = window().location().origin() {
            origin.set(o);
        }
    });
    let snippet = move || {
        let o = origin.get();
        format!(
            "<script src=\"{o}/embed.js\" defer></script>\n<gatehouse-security src=\"{o}\" token=\"EMBED_TOKEN\" tab=\"users\"></gatehouse-security>"
        )
    };
    let note = RwSignal::new(None::<&'static str>);
    view! {
        <h4>"Snippet for the portal"</h4>
        <p>"Replace EMBED_TOKEN with a token your backend signs for the signed-in user (see the README for its claims)."</p>
        <pre class="embed-snippet"><code>{snippet}</code></pre>
        <button type="button" on:click=move |_| {
            let text = snippet();
            leptos::task::spawn_local(async move { note.set(Some(copy_to_clipboard(&text).await)); });
        }>"Copy snippet"</button>
        <p class="key-note" role="status" aria-live="polite">{move || note.get()}</p>
    }
}
