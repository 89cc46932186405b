//! The invitation page: the invitee opens their one-time link, chooses a name and a password,
//! and is signed in.

use super::Invitation;
use crate::{
    auth::guard::set_response_status,
    error::AppError,
    ui::{field_error, form_error},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{LazyRoute, hooks::use_query_map, lazy_route};

/// Same rule as the command line's: long enough to resist guessing, short enough for argon2.
use crate::auth::{MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS};

/// Public: the token is the credential. Unknown tokens are 422, expired or used ones 410. An
/// empty token means the one this browser exchanged on opening its link (kept in its session).
#[server(prefix = "/rpc", endpoint = "invitation_check", output = crate::wire::JsonAnswer)]
pub async fn check_invitation(token: String) -> Result<Invitation, AppError> {
    let ctx = crate::context::context()?;
    let token = super::ssr::invitations::token_or_held(token).await?;
    super::ssr::invitations::check(&ctx.pool, &token).await
}

/// Public: sets the invitee's name and password, uses the token up and signs them in.
#[server(prefix = "/rpc", endpoint = "invitation_accept", output = crate::wire::JsonAnswer)]
pub async fn accept_invitation(
    token: String,
    name: String,
    password: String,
    confirm: String,
) -> Result<(), AppError> {
    use crate::auth::ssr as auth;
    let ctx = crate::context::context()?;
    let token = super::ssr::invitations::token_or_held(token).await?;
    let name = super::ssr::changes::parse_name(&name)
        .map_err(|e| AppError::invalid("name", e.to_string()))?;
    crate::auth::check_new_password(&password, &confirm)?;
    // Refuse a bad token before spending a password hash on it.
    super::ssr::invitations::check(&ctx.pool, &token).await?;
    let hash = auth::hash_password(password).await?;
    let user_id = super::ssr::invitations::accept(&ctx.pool, &token, &name, &hash).await?;
    let session = auth::request_session().await?;
    auth::sign_in(&ctx.pool, &session, user_id).await?;
    session
        .remove::<String>(super::ssr::invitations::HELD_TOKEN)
        .await?;
    Ok(())
}

/// The invitation page as a lazy route: only invitees download its code.
pub struct InvitationRoute;

#[lazy_route]
impl LazyRoute for InvitationRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <InvitationPage/> }.into_any()
    }
}

#[component]
fn InvitationPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let invitation = Resource::new(token, check_invitation);
    let accept = ServerAction::<AcceptInvitation>::new();
    // A full page load, not a client-side route change: the page must be rendered for the
    // newly signed-in user.
    Effect::new(move |_| {
        if matches!(accept.value().get(), Some(Ok(()))) {
            #[cfg(feature = "hydrate")]
            let _ = window()
                .location()
                .set_href(crate::auth::return_path::DEFAULT_LANDING);
        }
    });
    let error = Signal::derive(move || accept.value().get().and_then(Result::err));
    let field_error = move |field| field_error(error, field);
    view! {
        <Title text="Accept your invitation · Gatehouse"/>
        <main class="login-page">
            <Suspense fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match invitation.await {
                        Ok(inv) => view! {
                            <ActionForm action=accept attr:class="card login-card">
                                <h1>"Welcome to Gatehouse"</h1>
                                <p>"You were invited as " <strong>{inv.email.clone()}</strong> ". Choose your name and a password to finish."</p>
                                {form_error(error, &["name", "password", "confirm"])}
                                // Empty after the link was exchanged: the server holds the token.
                                <input type="hidden" name="token" value=token/>
                                <label for="name">"Name"</label>
                                <input id="name" name="name" type="text" autocomplete="name" required maxlength="200" value=inv.name.clone()/>
                                {field_error("name")}
                                <label for="password">"Password"</label>
                                <input id="password" name="password" type="password" autocomplete="new-password" required minlength=MIN_PASSWORD_CHARS maxlength=MAX_PASSWORD_BYTES/>
                                {field_error("password")}
                                <label for="confirm">"Confirm password"</label>
                                <input id="confirm" name="confirm" type="password" autocomplete="new-password" required minlength=MIN_PASSWORD_CHARS maxlength=MAX_PASSWORD_BYTES/>
                                {field_error("confirm")}
                                <button type="submit" class="button-primary" disabled=move || accept.pending().get()>
                                    "Set password and sign in"
                                </button>
                            </ActionForm>
                        }
                            .into_any(),
                        Err(e) => {
                            set_response_status(e.status());
                            view! {
                                <section class="card login-card" role="alert">
                                    <h1>"This invitation cannot be used"</h1>
                                    <p>{e.to_string()}</p>
                                    <p><a href="/login">"Go to sign in"</a></p>
                                </section>
                            }
                                .into_any()
                        }
                    }
                })}
            </Suspense>
        </main>
    }
}
