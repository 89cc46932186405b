use super::{
    ApiOverview, ApiState, DisableApi, EnableApi, Grace, KeySlot, KeySummary, RegenerateApiKey,
    RevealPurpose, load_api_overview, reveal_api_key,
};
use crate::{
    error::AppError,
    time_fmt::utc_minutes,
    ui::{ConfirmDialog, copy_to_clipboard},
};
use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

const OPENAPI_URL: &str = "/api/v1/openapi.json";

/// The APIs tab as a lazy route: its code, including the keys' overview and its decoding, is a
/// chunk of its own that arrives when the tab opens.
pub struct ApisRoute;

#[lazy_route]
impl LazyRoute for ApisRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <ApisPanel/> }.into_any()
    }
}

#[component]
fn ApisPanel() -> impl IntoView {
    let enable = ServerAction::<EnableApi>::new();
    let disable = ServerAction::<DisableApi>::new();
    let regenerate = ServerAction::<RegenerateApiKey>::new();
    let overview = Resource::new(
        move || {
            (
                enable.version().get(),
                disable.version().get(),
                regenerate.version().get(),
            )
        },
        |_| load_api_overview(),
    );
    let failure = move || {
        [
            enable.value().get().and_then(Result::err),
            disable.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .chain(regenerate.value().get().and_then(Result::err))
        .next()
    };
    view! {
        <h2>"APIs"</h2>
        <p>
            "Services call this environment's REST API with one of two keys in the "
            <code>"Ocp-Apim-Subscription-Key"</code>
            " header. Give callers the primary key; when it is time to rotate, move them to the secondary key, regenerate the primary, and move them back: nobody is cut off. "
            <a href=OPENAPI_URL>"Explore our APIs"</a>
        </p>
        {move || failure().map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })}
        <Suspense fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(o) => view! { <ApiControls overview=o enable disable regenerate/> }.into_any(),
                    Err(e) => view! { <p class="notice" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
        <crate::embed::PortalEmbeddingCard/>
    }
}

#[component]
fn ApiControls(
    overview: ApiOverview,
    enable: ServerAction<EnableApi>,
    disable: ServerAction<DisableApi>,
    regenerate: ServerAction<RegenerateApiKey>,
) -> impl IntoView {
    let busy =
        move || enable.pending().get() || disable.pending().get() || regenerate.pending().get();
    let confirm_disable = RwSignal::new(false);
    let enable_button = move || {
        view! {
            <button type="button" class="button-primary" disabled=busy on:click=move |_| {
                enable.dispatch(EnableApi {});
            }>"Enable"</button>
        }
    };
    match overview.state {
        ApiState::NeverEnabled => view! {
            <div class="card api-intro">
                <h3>"Turn on the API"</h3>
                <p>"Enabling creates a primary and a secondary key. You can regenerate either key, or disable the API, at any time."</p>
                {enable_button()}
            </div>
        }
            .into_any(),
        state => {
            let enabled = state == ApiState::Enabled;
            view! {
                <div class="api-status">
                    <span class=if enabled { "badge badge-on" } else { "badge badge-off" }>
                        {if enabled { "API enabled" } else { "API disabled" }}
                    </span>
                    {if enabled {
                        view! {
                            <button type="button" disabled=busy on:click=move |_| confirm_disable.set(true)>
                                "Disable"
                            </button>
                        }
                            .into_any()
                    } else {
                        enable_button().into_any()
                    }}
                </div>
                {(!enabled).then(|| view! {
                    <p class="notice" role="note">"Calls with these keys are refused (403) until you enable the API again."</p>
                })}
                <div class="keys">
                    {overview
                        .keys
                        .into_iter()
                        .map(|key| view! { <KeyCard key regenerate busy=Signal::derive(busy)/> })
                        .collect_view()}
                </div>
                <ConfirmDialog
                    open=confirm_disable
                    id="disable-api"
                    title="Disable the API?"
                    confirm_label="Disable"
                    on_confirm=Callback::new(move |()| {
                        disable.dispatch(DisableApi {});
                    })
                >
                    <p>"Every call to the REST API will be refused until you enable it again. Both keys are kept."</p>
                </ConfirmDialog>
            }
                .into_any()
        }
    }
}

#[component]
fn KeyCard(
    key: KeySummary,
    regenerate: ServerAction<RegenerateApiKey>,
    busy: Signal<bool>,
) -> impl IntoView {
    let slot = key.slot;
    let revealed = RwSignal::new(None::<String>);
    let note = RwSignal::new(None::<String>);
    let confirm = RwSignal::new(false);
    let masked = key.masked.clone();
    let input_id = format!("key-{}", slot.as_str());

    let reveal = move |purpose: RevealPurpose| async move {
        let result: Result<String, AppError> = reveal_api_key(slot, purpose).await;
        result.inspect_err(|e| note.set(Some(e.to_string()))).ok()
    };
    let on_show = move |_| {
        if revealed.get_untracked().is_some() {
            revealed.set(None);
            return;
        }
        leptos::task::spawn_local(async move {
            if let Some(k) = reveal(RevealPurpose::Show).await {
                revealed.set(Some(k));
            }
        });
    };
    let on_copy = move |_| {
        leptos::task::spawn_local(async move {
            if let Some(k) = reveal(RevealPurpose::Copy).await {
                note.set(Some(copy_to_clipboard(&k).await.to_owned()));
            }
        });
    };
    view! {
        <section class="card key-card">
            <label for=input_id.clone() class="key-label">{slot.label()}</label>
            <div class="key-value-row">
                <input
                    id=input_id.clone()
                    class="key-value"
                    type="text"
                    readonly
                    spellcheck="false"
                    // The attribute serves the first paint (and no-JS); the property follows Show.
                    value=masked.clone()
                    prop:value=move || revealed.get().unwrap_or_else(|| masked.clone())
                />
                <button type="button" on:click=on_show>
                    {move || if revealed.get().is_some() { "Hide" } else { "Show" }}
                </button>
                <button type="button" on:click=on_copy>"Copy"</button>
            </div>
            <p class="key-note" role="status" aria-live="polite">{move || note.get()}</p>
            {key_facts(&key)}
            <button type="button" disabled=busy on:click=move |_| confirm.set(true)>{slot.regenerate_label()}</button>
            <RegenerateDialog key_slot=slot open=confirm regenerate/>
        </section>
    }
}

/// When the key was made and used, and until when the key it replaced still works.
fn key_facts(key: &KeySummary) -> impl IntoView + use<> {
    view! {
        <dl class="key-facts">
            <div><dt>"Created"</dt><dd>{utc_minutes(key.created_at)}</dd></div>
            <div><dt>"Last used"</dt><dd>{key.last_used_at.map_or_else(|| "Never".to_owned(), utc_minutes)}</dd></div>
            <div><dt>"Requests"</dt><dd>{key.request_count}</dd></div>
        </dl>
        {key.previous.clone().map(|p| view! {
            <p class="notice" role="note">
                "The replaced key " <code>{p.masked}</code> " keeps working until " {utc_minutes(p.expires_at)} "."
            </p>
        })}
    }
}

/// Regenerate's confirmation, with how long the old key keeps working.
#[component]
fn RegenerateDialog(
    key_slot: KeySlot,
    open: RwSignal<bool>,
    regenerate: ServerAction<RegenerateApiKey>,
) -> impl IntoView {
    let slot = key_slot;
    let grace = RwSignal::new(Grace::Now);
    view! {
        <ConfirmDialog
            open
            id=match slot { KeySlot::Primary => "regenerate-primary", KeySlot::Secondary => "regenerate-secondary" }
            title=format!("Regenerate the {}?", slot.label().to_lowercase())
            confirm_label="Regenerate"
            on_confirm=Callback::new(move |()| {
                regenerate.dispatch(RegenerateApiKey { slot, grace: grace.get_untracked() });
            })
        >
            <p>
                "Callers using the " {slot.label().to_lowercase()}
                " will fail once the old key stops working. Move them to the other key first."
            </p>
            <fieldset class="grace">
                <legend>"The old key stops working"</legend>
                {Grace::ALL
                    .into_iter()
                    .map(|g| view! {
                        <label>
                            <input
                                type="radio"
                                name=format!("grace-{}", slot.as_str())
                                prop:checked=move || grace.get() == g
                                on:change=move |_| grace.set(g)
                            />
                            {g.label()}
                        </label>
                    })
                    .collect_view()}
            </fieldset>
        </ConfirmDialog>
    }
}
