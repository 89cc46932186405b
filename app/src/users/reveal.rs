//! What a pane hands over once: a new user's invitation link or an application's client secret.

/// A secret or link to hand over, shown once.
#[derive(Clone, Debug)]
pub(super) struct Reveal {
    pub title: String,
    pub label: &'static str,
    pub value: String,
    pub note: &'static str,
}

pub(super) const INVITATION_NOTE: &str =
    "Send this link to the invitee. It works once, for 7 days; they choose their password there.";
pub(super) const SECRET_NOTE: &str = "Copy the secret now: it is not shown again. Callers send it as Authorization: Bearer <secret>.";

/// `path` on this site, as a link to hand over.
pub(super) fn absolute_url(path: &str) -> String {
    #[cfg(feature = "hydrate")]
    if let Ok(origin) = leptos::prelude::window().location().origin() {
        return format!("{origin}{path}");
    }
    path.to_owned()
}
