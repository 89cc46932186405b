//! The few pages the server writes itself, when a browser's form post or redirect cannot go on
//! (single sign-on refused, sign-in busy, the database out of reach): the sign-in page's card
//! with what happened and the way on, in the site's stylesheet.

use super::assets::stylesheet_href;
use axum::{
    http::StatusCode,
    response::{Html, IntoResponse, Response},
};

/// The way back to sign-in.
pub const TO_SIGN_IN: (&str, &str) = ("/login", "Back to sign-in");
/// The same address again.
pub const TRY_AGAIN: (&str, &str) = ("", "Try again");

/// A card titled `title` that says `message` (escaped here), with the link `(href, label)`.
pub fn page(
    status: StatusCode,
    title: &str,
    message: &str,
    (href, label): (&str, &str),
) -> Response {
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let (title, message) = (escape(title), escape(message));
    let stylesheet = stylesheet_href();
    (
        status,
        Html(format!(
            "<!DOCTYPE html><html lang=\"en\"><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\">\
             <link rel=\"stylesheet\" href=\"{stylesheet}\">\
             <title>{title} · Gatehouse</title>\
             <main class=\"login-page\"><section class=\"card login-card\" role=\"alert\">\
             <h1>{title}</h1><p>{message}</p>\
             <p><a href=\"{href}\">{label}</a></p></section></main></html>"
        )),
    )
        .into_response()
}
