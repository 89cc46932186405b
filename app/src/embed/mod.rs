//! Embedding the Security page in a portal (APIs tab, **Portal embedding**).
//!
//! A portal's backend signs a short-lived, single-use embed token (JWT, HS256 with that
//! portal's own embed secret); the portal page frames `/embed/security/{tab}` (through `/embed.js`) and hands the
//! token to the frame by `postMessage`; the frame exchanges it at `POST /embed/session` for an
//! embed session that lives in the frame's memory and travels as a header on its server-function
//! calls. No cookie is set or needed inside the frame, so browsers that block third-party
//! cookies embed it too.

mod frame;
mod origin;
mod panel;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use frame::{EmbedSecurityPage, frame_script};
pub use origin::parse_origin;
pub use panel::PortalEmbeddingCard;

use crate::{api_keys::RevealPurpose, error::AppError};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The request header that carries an embed session.
#[cfg(feature = "ssr")]
pub use crate::auth::embed_session::SESSION_HEADER;
/// The path prefix of the framed pages.
pub use crate::security::address::FRAME_PREFIX;
/// The token's audience: a token for anything else is refused.
pub const AUDIENCE: &str = "gatehouse-embed";
/// The longest an embed token may live (`exp` − `iat`), in seconds.
pub const MAX_TOKEN_SECONDS: i64 = 300;

/// An allowed portal origin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbedOrigin {
    pub origin: String,
    /// Unix seconds; none for origins fixed by `GATEHOUSE_FRAME_ANCESTORS`.
    pub added_at: Option<i64>,
    /// When the portal's own secret was made; none while it signs with the shared secret
    /// (listed before portals had their own, or fixed by `GATEHOUSE_FRAME_ANCESTORS`).
    #[serde(default)]
    pub secret_created_at: Option<i64>,
}

/// The Portal embedding card's state. Never carries the secret itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbedSettings {
    pub origins: Vec<EmbedOrigin>,
    /// The origins come from `GATEHOUSE_FRAME_ANCESTORS` and cannot be changed here.
    pub fixed_by_config: bool,
    /// When the embed secret was made; none before its first use.
    pub secret_created_at: Option<i64>,
    /// How long an embed session lasts, in seconds.
    pub session_seconds: i64,
}

#[server(prefix = "/rpc", endpoint = "embed_settings", output = crate::wire::JsonAnswer)]
pub async fn load_embed_settings() -> Result<EmbedSettings, AppError> {
    crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    ssr::settings(&ctx).await
}

#[server(prefix = "/rpc", endpoint = "embed_origin_add", output = crate::wire::JsonAnswer)]
pub async fn add_embed_origin(origin: String) -> Result<EmbedSettings, AppError> {
    let admin = crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    ssr::add_origin(&ctx, &admin, &origin).await?;
    ssr::settings(&ctx).await
}

#[server(prefix = "/rpc", endpoint = "embed_origin_remove", output = crate::wire::JsonAnswer)]
pub async fn remove_embed_origin(origin: String) -> Result<EmbedSettings, AppError> {
    let admin = crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    ssr::remove_origin(&ctx, &admin, &origin).await?;
    ssr::settings(&ctx).await
}

/// The shared embed secret's plaintext, for Show and Copy (made on first use). Both are
/// audited. Portals listed on the card have their own secret instead; the shared one serves
/// those fixed by `GATEHOUSE_FRAME_ANCESTORS` and those listed before portals had their own.
#[server(prefix = "/rpc", endpoint = "embed_secret_reveal", output = crate::wire::JsonAnswer)]
pub async fn reveal_embed_secret(purpose: RevealPurpose) -> Result<String, AppError> {
    let admin = crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    ssr::reveal_secret(&ctx, &admin, purpose).await
}

/// A portal's own secret, for Show and Copy. Both are audited.
#[server(prefix = "/rpc", endpoint = "embed_origin_secret_reveal", output = crate::wire::JsonAnswer)]
pub async fn reveal_origin_secret(
    origin: String,
    purpose: RevealPurpose,
) -> Result<String, AppError> {
    let admin = crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    ssr::reveal_origin_secret(&ctx, &admin, &origin, purpose).await
}

/// A new secret for one portal (its first own one, for a portal that signed with the shared
/// secret): its tokens signed with anything else stop working and its embed sessions end;
/// other portals are untouched.
#[server(prefix = "/rpc", endpoint = "embed_origin_secret_regenerate", output = crate::wire::JsonAnswer)]
pub async fn regenerate_origin_secret(origin: String) -> Result<EmbedSettings, AppError> {
    let admin = crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    ssr::regenerate_origin_secret(&ctx, &admin, &origin).await?;
    ssr::settings(&ctx).await
}

/// A new shared embed secret: tokens signed with the old one stop working, and the embed
/// sessions of the portals that sign with it end.
#[server(prefix = "/rpc", endpoint = "embed_secret_regenerate", output = crate::wire::JsonAnswer)]
pub async fn regenerate_embed_secret() -> Result<EmbedSettings, AppError> {
    let admin = crate::auth::ssr::require(crate::roles::Role::Admin).await?;
    let ctx = crate::context::context()?;
    ssr::regenerate_secret(&ctx, &admin).await?;
    ssr::settings(&ctx).await
}
